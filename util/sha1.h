/* SHA-1 in hex: the name EVALSHA gives a Redis script. Not for security. */
#ifndef OPSDECK_UTIL_SHA1_H
#define OPSDECK_UTIL_SHA1_H

#include <stddef.h>

/* Writes the 40 hex digits and a NUL of the SHA-1 of len bytes of s. */
void sha1_hex(const char *s, size_t len, char out[41]);

#endif
