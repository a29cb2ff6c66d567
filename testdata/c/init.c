// build: -Wl,-init=dt_init
/* Initialiser order and arguments: DT_INIT, then DT_INIT_ARRAY in order (constructors with
 * priorities first, then the rest), each called with (argc, argv, envp). */
char order[16];
static int n;
int init_count;
int seen_argc = -1;
char **seen_argv;
char **seen_envp;

static void note(char c) {
    if (n < 15) order[n++] = c;
}
void dt_init(void) { note('I'); }
__attribute__((constructor(101))) static void first(int argc, char **argv, char **envp) {
    note('a');
    seen_argc = argc;
    seen_argv = argv;
    seen_envp = envp;
}
__attribute__((constructor(200))) static void second(void) { note('b'); }
/* Counts the runs of the initialisers: in the array, as DT_INIT does not run on every machine. */
__attribute__((constructor)) static void third(void) {
    note('c');
    init_count++;
}
