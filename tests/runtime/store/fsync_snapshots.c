/* Power-loss recorder for tests/runtime/store/test_power_loss.py (LD_PRELOAD).
 *
 * Wraps fsync and fdatasync: before the real call, when the file synced is
 * one of those whose path starts with $FSYNC_SNAP_WATCH, its whole content
 * is copied to $FSYNC_SNAP_DIR/NNNNNN-BASENAME. A file's content at its
 * latest snapshot is what the disk is guaranteed to hold after a power loss
 * at any later instant: writes after it may all be lost. (The content is
 * read before the sync, which is what the sync makes durable.) */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int counter = 0;

static void snapshot(int fd) {
    const char *watch = getenv("FSYNC_SNAP_WATCH");
    const char *dir = getenv("FSYNC_SNAP_DIR");
    char link[64], path[PATH_MAX], out[PATH_MAX + 32], buf[65536];
    ssize_t n;
    if (!watch || !dir) return;
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    n = readlink(link, path, sizeof path - 1);
    if (n <= 0) return;
    path[n] = 0;
    if (strncmp(path, watch, strlen(watch)) != 0) return;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    snprintf(out, sizeof out, "%s/%06d-%s", dir, counter++, base);
    int in = open(path, O_RDONLY), to = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in >= 0 && to >= 0) {
        off_t at = 0;
        while ((n = pread(in, buf, sizeof buf, at)) > 0) {
            if (write(to, buf, (size_t)n) != n) break;
            at += n;
        }
    }
    if (in >= 0) close(in);
    if (to >= 0) close(to);
}

int fsync(int fd) {
    static int (*real)(int) = NULL;
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    snapshot(fd);
    return real(fd);
}

int fdatasync(int fd) {
    static int (*real)(int) = NULL;
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    snapshot(fd);
    return real(fd);
}
