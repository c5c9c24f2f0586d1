/* What the connection's role may do, asked of the store itself. */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "backends/pg_internal.h"
#include "backends/redis_internal.h"
#include "backends/rights.h"
#include "util/xmalloc.h"

enum status rights_pg(struct pg_conn *c, const char *schema, enum rights *out, char *who,
                      size_t size, struct error *err)
{
    /* to_regprocedure is NULL (not an error) when the function is not
     * there, and so is has_function_privilege of a NULL oid. */
    static const char sql[] =
        "SELECT current_user, has_function_privilege("
        "to_regprocedure(format('%I.act_approve(text, text, jsonb)', $1::text)), 'EXECUTE')";
    const char *params[] = {schema};
    PGresult *res = pg_conn_query(c, sql, 1, params, NULL, err);

    *out = RIGHTS_UNKNOWN;
    if (res == NULL)
        return err->status;
    if (who != NULL)
        snprintf(who, size, "%s", PQgetisnull(res, 0, 0) ? "" : PQgetvalue(res, 0, 0));
    if (!PQgetisnull(res, 0, 1))
        *out = strcmp(PQgetvalue(res, 0, 1), "t") == 0 ? RIGHTS_ACT : RIGHTS_READ;
    PQclear(res);
    return STATUS_OK;
}

enum status rights_redis(struct redis_conn *c, const char *prefix, enum rights *out,
                         struct error *err)
{
    /* 1 may, 0 may not, -1 cannot tell (no redis.acl_check_cmd). */
    static const char script[] =
        "if not redis.acl_check_cmd then return -1 end\n"
        "local p = ARGV[1]\n"
        "for _, c in ipairs({{'HSET', p .. ':x', 'f', 'v'}, {'ZREM', p .. ':index', 'x'},\n"
        "                    {'XADD', p .. ':audit', '*', 'f', 'v'}}) do\n"
        "  local ok, allowed = pcall(redis.acl_check_cmd, unpack(c))\n"
        "  if not ok or not allowed then return 0 end\n"
        "end\n"
        "return 1\n";
    const char *argv[] = {"EVAL", script, "0", prefix};
    redisReply *r = redis_conn_command(c, 4, argv, NULL, err);

    *out = RIGHTS_UNKNOWN;
    if (r == NULL) {
        if (err->status != STATUS_DENIED)
            return err->status;
        *out = RIGHTS_READ; /* no scripts at all: no action runs */
        return STATUS_OK;
    }
    if (r->type == REDIS_REPLY_INTEGER && r->integer >= 0)
        *out = r->integer == 1 ? RIGHTS_ACT : RIGHTS_READ;
    freeReplyObject(r);
    return STATUS_OK;
}
