// build: -Wl,-z,notext
/* An absolute address in code: a text relocation (DT_TEXTREL), which dynplug refuses. A word in
 * .text holding a symbol's address (written in data directives, so the same on every machine). */
int textrel_var = 1;
__asm__(".text\n.globl textrel_word\n.p2align 3\ntextrel_word:\n .quad textrel_var\n");
