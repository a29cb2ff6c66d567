// build: -Wl,-init=io_dt_init
/* Initialiser order and arguments: DT_INIT (io_dt_init, -Wl,-init), then DT_INIT_ARRAY entry by
 * entry: constructors with priorities 101 and 200, an entry placed by hand in .init_array.00150,
 * a constructor without priority and an entry placed by hand in .init_array. Each initialiser
 * records its own address and the (argc, argv, envp) it was called with; tests/init_order.rs
 * compares the addresses with DT_INIT and with the array read from the loaded image, and the
 * arguments with the process's own. */
typedef void (*init_fn)(int, char **, char **);

#define MAX 16
void *io_called[MAX];
int io_argc[MAX];
char **io_argv[MAX];
char **io_envp[MAX];
int io_count;

static void note(void *self, int argc, char **argv, char **envp) {
    if (io_count < MAX) {
        io_called[io_count] = self;
        io_argc[io_count] = argc;
        io_argv[io_count] = argv;
        io_envp[io_count] = envp;
    }
    io_count++;
}

void io_dt_init(int argc, char **argv, char **envp) { note((void *)io_dt_init, argc, argv, envp); }

__attribute__((constructor(101))) void io_ctor_101(int argc, char **argv, char **envp) {
    note((void *)io_ctor_101, argc, argv, envp);
}
__attribute__((constructor(200))) void io_ctor_200(int argc, char **argv, char **envp) {
    note((void *)io_ctor_200, argc, argv, envp);
}
__attribute__((constructor)) void io_ctor_plain(int argc, char **argv, char **envp) {
    note((void *)io_ctor_plain, argc, argv, envp);
}

void io_arr_150(int argc, char **argv, char **envp) { note((void *)io_arr_150, argc, argv, envp); }
__attribute__((used, section(".init_array.00150"))) static init_fn io_arr_150_entry = io_arr_150;

void io_arr_plain(int argc, char **argv, char **envp) { note((void *)io_arr_plain, argc, argv, envp); }
__attribute__((used, section(".init_array"))) static init_fn io_arr_plain_entry = io_arr_plain;
