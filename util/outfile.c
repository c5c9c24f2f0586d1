/* Whole-or-nothing private files. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/outfile.h"
#include "util/xmalloc.h"

static void outfile_close(struct outfile *o)
{
    if (o->f != NULL)
        fclose(o->f);
    o->f = NULL;
    free(o->tmp);
    free(o->path);
    o->tmp = o->path = NULL;
}

enum status outfile_open(struct outfile *o, const char *path, struct error *err)
{
    char *copy = xstrdup(path);
    int fd = open(dirname(copy), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    free(copy);
    memset(o, 0, sizeof(*o));
    o->path = xstrdup(path);
    if (fd < 0) {
        /* No unnamed files here (an old kernel, some file systems): a
         * temporary name, removed on abort. */
        o->tmp = xasprintf("%s.XXXXXX", path);
        fd = mkstemp(o->tmp);
    }
    if (fd < 0 || (o->f = fdopen(fd, "w")) == NULL) {
        enum status rc = error_set(err, STATUS_USAGE, "%s: %s", path, strerror(errno));
        if (fd >= 0) {
            close(fd);
            if (o->tmp != NULL)
                unlink(o->tmp);
        }
        outfile_close(o);
        return rc;
    }
    return STATUS_OK;
}

enum status outfile_commit(struct outfile *o, struct error *err)
{
    enum status rc = STATUS_OK;
    int fd = fileno(o->f);
    bool ok = fflush(o->f) == 0 && fsync(fd) == 0;
    if (ok && o->tmp == NULL) {
        /* Named at last: through /proc, under a unique name beside it,
         * then moved over whatever path holds (linkat never replaces). */
        char proc[64];
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
        for (int i = 0; i < 100 && o->tmp == NULL; i++) {
            char *name = xasprintf("%s.%ld.%d", o->path, (long)getpid(), rand());
            int e = linkat(AT_FDCWD, proc, AT_FDCWD, name, AT_SYMLINK_FOLLOW) == 0 ? 0 : errno;
            if (e == 0)
                o->tmp = name;
            else
                free(name);
            if (e != 0 && e != EEXIST) {
                errno = e;
                break;
            }
        }
        ok = o->tmp != NULL;
    }
    ok = fclose(o->f) == 0 && ok;
    o->f = NULL;
    if (ok && rename(o->tmp, o->path) != 0)
        ok = false;
    if (!ok) {
        rc = error_set(err, STATUS_USAGE, "%s: %s", o->path, strerror(errno));
        if (o->tmp != NULL)
            unlink(o->tmp);
    }
    outfile_close(o);
    return rc;
}

void outfile_abort(struct outfile *o)
{
    if (o->f != NULL && o->tmp != NULL)
        unlink(o->tmp);
    outfile_close(o);
}
