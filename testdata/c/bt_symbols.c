/* backtrace_symbols and backtrace_symbols_fd called by a plugin (tests/backtraces.rs): frame 0
   of each backtrace is in this file, in an exported function or in a local one. */
#include <execinfo.h>
#include <stdio.h>
#include <stdlib.h>

static __attribute__((noinline)) int local_line(char *out, size_t n) {
    void *frames[2];
    int got = backtrace(frames, 2);
    char **lines = backtrace_symbols(frames, got);
    if (!lines) return -1;
    snprintf(out, n, "%s", lines[0]);
    free(lines);
    return got;
}

/* Frame 0's line from backtrace_symbols: of this function, or of a local one (`local`). */
__attribute__((noinline)) int bt_symbols_line(int local, char *out, size_t n) {
    if (local) return local_line(out, n) + 0;
    void *frames[2];
    int got = backtrace(frames, 2);
    char **lines = backtrace_symbols(frames, got);
    if (!lines) return -1;
    snprintf(out, n, "%s", lines[0]);
    free(lines);
    return got;
}

/* Frame 0 and its caller written to `fd` by backtrace_symbols_fd. */
__attribute__((noinline)) int bt_symbols_fd(int fd) {
    void *frames[2];
    int got = backtrace(frames, 2);
    backtrace_symbols_fd(frames, got, fd);
    return got;
}
