#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "err.h"

static _Thread_local int g_rm_rc;

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)ftw;
    int rc = (flag == FTW_DP || flag == FTW_D) ? rmdir(path) : unlink(path);
    if (rc && errno != ENOENT && !g_rm_rc)
        g_rm_rc = ad_error("%s: cannot remove (%s)", path, strerror(errno));
    return 0;  // keep going: remove as much as possible
}

int fs_rm_tree(const char *path) {
    g_rm_rc = 0;
    if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) && errno != ENOENT && !g_rm_rc)
        g_rm_rc = ad_error("%s: cannot remove (%s)", path, strerror(errno));
    return g_rm_rc;
}

static uint64_t rnd64(void) {
    uint64_t r = 0;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        r = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^ (uint64_t)(uintptr_t)&r;
    }
    return r;
}

char *fs_tmp_name(const char *base) {
    return ad_sprintf("%s.tmp.%d.%08llx", base, (int)getpid(), (unsigned long long)(rnd64() & 0xffffffffULL));
}

char *fs_mkdtemp(const char *base) {
    char *t = ad_sprintf("%s.tmp.%d.XXXXXX", base, (int)getpid());
    if (!mkdtemp(t)) {
        ad_error("%s: cannot create a temporary folder next to it (%s)", base, strerror(errno));
        free(t);
        return NULL;
    }
    return t;
}

int fs_mkdirs(const char *path) {
    char *p = ad_strdup(path);
    int rc = 0;
    for (char *s = p + 1;; s++) {
        if (*s && *s != '/') continue;
        char c = *s;
        *s = 0;
        if (mkdir(p, 0777) && errno != EEXIST) {
            rc = ad_error("%s: cannot create folder (%s). Fix: check the path and permissions", p, strerror(errno));
            break;
        }
        *s = c;
        if (!c) break;
    }
    free(p);
    return rc;
}

int fs_write_text_atomic(const char *path, const char *text) {
    char *tmp = fs_tmp_name(path);
    FILE *f = fopen(tmp, "wb");
    int rc = 0;
    if (!f) {
        rc = ad_error("%s: cannot write (%s). Fix: check that the folder exists and is writable", path, strerror(errno));
    } else {
        size_t n = strlen(text);
        int bad = fwrite(text, 1, n, f) != n;
        bad |= fflush(f) != 0;
        bad |= fsync(fileno(f)) != 0 && errno != EINVAL;
        bad |= fclose(f) != 0;
        if (bad || rename(tmp, path)) {
            unlink(tmp);
            rc = ad_error("%s: cannot write (%s). Fix: check that the folder is writable and the disk has free space",
                          path, strerror(errno));
        }
    }
    free(tmp);
    return rc;
}
