/* A file that appears whole or not at all: written unnamed (O_TMPFILE)
 * where the file system allows, so that nothing is left behind if the
 * process dies, else under a temporary name next to it; fsynced and moved
 * into place on commit. Private (0600): what goes in may be personal data. */
#ifndef OPSDECK_UTIL_OUTFILE_H
#define OPSDECK_UTIL_OUTFILE_H

#include <stdbool.h>
#include <stdio.h>

#include "util/status.h"

struct outfile {
    FILE *f;    /* write here */
    char *path; /* where it goes */
    char *tmp;  /* its temporary name, or NULL while unnamed */
};

/* Opens a new file for path. STATUS_USAGE naming path when it cannot. */
enum status outfile_open(struct outfile *o, const char *path, struct error *err);

/* Flushes, syncs and puts it at path (replacing a file there). On failure
 * nothing is left. Either way o is closed. */
enum status outfile_commit(struct outfile *o, struct error *err);

/* Drops it: nothing is left. NULL-safe on a closed o. */
void outfile_abort(struct outfile *o);

#endif
