/* Sessions: configuration plus lazily created store handles. */
#include <config.h>

#include <stdlib.h>

#include "core/session.h"
#include "util/sanitize.h"
#include "util/xmalloc.h"

struct session *session_new(struct config *cfg)
{
    struct session *s = xcalloc(1, sizeof(*s));
    s->cfg = cfg;
    s->json = config_bool(cfg, OPTION_JSON);
    s->text_flags = sanitize_terminal_flags();
    s->out = stdout;
    size_t n;
    const char *const *words = config_list(cfg, OPTION_REDACT, &n);
    redact_init(&s->redact, words, n);
    return s;
}

void session_free(struct session *s)
{
    if (s == NULL)
        return;
    pg_conn_free(s->pg);
    redis_conn_free(s->redis);
    redact_done(&s->redact);
    config_free(s->cfg);
    free(s->console_note);
    free(s);
}

struct pg_conn *session_pg(struct session *s)
{
    if (s->pg == NULL) {
        struct pg_conn_options o = {
            .conninfo = config_str(s->cfg, OPTION_POSTGRES),
            .connect_timeout_ms = config_ms(s->cfg, OPTION_CONNECT_TIMEOUT),
            .command_timeout_ms = config_ms(s->cfg, OPTION_COMMAND_TIMEOUT),
            .lock_timeout_ms = config_ms(s->cfg, OPTION_LOCK_TIMEOUT),
        };
        s->pg = pg_conn_new(&o);
    }
    return s->pg;
}

enum status session_redis(struct session *s, struct redis_conn **out, struct error *err)
{
    if (s->redis == NULL) {
        struct redis_conn_options o = {
            .url = config_str(s->cfg, OPTION_REDIS),
            .password_file = config_str(s->cfg, OPTION_REDIS_PASSWORD_FILE),
            .connect_timeout_ms = config_ms(s->cfg, OPTION_CONNECT_TIMEOUT),
            .command_timeout_ms = config_ms(s->cfg, OPTION_COMMAND_TIMEOUT),
        };
        enum status rc = redis_conn_new(&o, &s->redis, err);
        if (rc != STATUS_OK)
            return rc;
    }
    *out = s->redis;
    return STATUS_OK;
}

const char *session_schema(const struct session *s)
{
    return config_str(s->cfg, OPTION_SCHEMA);
}
