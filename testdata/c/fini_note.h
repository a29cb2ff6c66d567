/* For the finaliser fixtures: appends a line to the file $DYNPLUG_FINI_OUT names. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void note(const char *s) {
    const char *path = getenv("DYNPLUG_FINI_OUT");
    if (!path) return;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd < 0) return;
    if (write(fd, s, strlen(s)) < 0 || write(fd, "\n", 1) < 0) {}
    close(fd);
}
