/* JSON rows from Redis hashes that other tools wrote: strings kept valid,
 * replies compared, foreign fields kept without hiding the row's own. */
#include <config.h>

#include <string.h>

#include "backends/redis_rows.h"
#include "util/buf.h"
#include "util/sanitize.h"
#include "util/xmalloc.h"

json_t *redis_rows_str(const char *s, size_t len, bool *bad)
{
    json_t *j = json_stringn(s, len);
    if (j != NULL)
        return j;
    struct buf b;
    buf_init(&b);
    sanitize_append(&b, s, len, 0, 0);
    j = json_string(buf_get(&b));
    buf_done(&b);
    *bad = true;
    if (j == NULL)
        xfatal("out of memory building JSON");
    return j;
}

bool redis_rows_reply_is(const redisReply *r, const char *s)
{
    size_t n = strlen(s);
    return r->type == REDIS_REPLY_STRING && r->len == n && memcmp(r->str, s, n) == 0;
}

void redis_rows_merge_others(json_t *row, json_t *others)
{
    const char *name;
    json_t *v;
    json_object_foreach(others, name, v) {
        if (json_object_get(row, name) == NULL) {
            json_object_set(row, name, v);
            continue;
        }
        json_t *clash = json_object_get(row, "other_fields");
        if (clash == NULL) {
            clash = json_object();
            json_object_set_new(row, "other_fields", clash);
        }
        json_object_set(clash, name, v);
    }
    json_decref(others);
}
