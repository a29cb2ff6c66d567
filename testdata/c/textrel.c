// build: -Wl,-z,notext
// arch: x86_64
/* An absolute address in code: a text relocation (DT_TEXTREL), which dynplug refuses.
 * x86_64 only: the code is x86_64 assembly. */
int textrel_var = 1;
__asm__(".text\n.globl textrel_fn\n.type textrel_fn,@function\ntextrel_fn:\n movabs $textrel_var, %rax\n ret\n");
