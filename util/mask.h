/* Finding and masking passwords in connection strings, so that no secret
 * reaches output, logs or audit records. */
#ifndef OPSDECK_UTIL_MASK_H
#define OPSDECK_UTIL_MASK_H

#include <stdbool.h>

/* True when s carries a password: a libpq key=value conninfo with
 * password=..., a URI (postgresql://, postgres://, redis://, rediss://,
 * unix://) with user:password@ or a password= query parameter. NULL is
 * false. */
bool mask_has_password(const char *s);

/* Returns a heap copy of s (caller frees) with every password replaced by
 * "****" and the rest unchanged; NULL gives NULL. */
char *mask_secret(const char *s);

#endif
