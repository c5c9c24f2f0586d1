/* `opsdeck config`: the effective settings, where each came from, with
 * passwords masked. */
#include <config.h>

#include <stdlib.h>

#include "core/command.h"
#include "core/out.h"

static enum status cmd_config_run(struct session *s, const struct command *cmd,
                                  const struct command_args *a, struct error *err)
{
    (void)cmd;
    (void)a;
    (void)err;
    json_t *obj = json_object();

    if (!s->json)
        out_printf(s, "%-20s %-44s %s\n", "KEY", "VALUE", "FROM");
    for (int id = 0; id < OPTION_COUNT; id++) {
        const struct option_def *d = options_get((enum option_id)id);
        if (d->type == OPTION_TYPE_ROUTE)
            continue; /* listed per queue below */
        char *value = config_display(s->cfg, d->id);
        const char *origin = config_origin(s->cfg, d->id);
        if (s->json) {
            json_object_set_new(obj, d->key, json_pack("{s:o, s:s}", "value", out_jstr(value),
                                                       "from", origin));
        } else {
            char *safe = out_safe(s, value, 0);
            out_printf(s, "%-20s %-44s %s\n", d->key, safe, origin);
            free(safe);
        }
        free(value);
    }
    size_t n;
    const struct config_route *routes = config_routes(s->cfg, &n);
    json_t *jr = json_array();
    for (size_t i = 0; i < n; i++) {
        if (s->json) {
            json_array_append_new(jr, json_pack("{s:o, s:o, s:s}", "queue",
                                                routes[i].queue ? out_jstr(routes[i].queue) : json_null(),
                                                "route", out_jstr(routes[i].route), "from",
                                                routes[i].origin));
        } else {
            char *key = routes[i].queue ? out_safe(s, routes[i].queue, 0) : NULL;
            char *route = out_safe(s, routes[i].route, 0);
            char label[256];
            snprintf(label, sizeof(label), "route%s%s", key ? "." : "", key ? key : "");
            out_printf(s, "%-20s %-44s %s\n", label, route, routes[i].origin);
            free(route);
            free(key);
        }
    }
    if (s->json) {
        json_object_set_new(obj, "routes", jr);
        out_json(s, obj);
    } else {
        json_decref(jr);
        json_decref(obj);
    }
    return STATUS_OK;
}

const struct command cmd_config_entry = {
    .name = "config",
    .usage = "",
    .summary = "print the effective settings and where each came from",
    .help = "Prints every setting after applying defaults, the config file's profile, "
            "OPSDECK_* variables and flags (flag > env > file > default), and where each value "
            "came from. Passwords are masked.",
    .max_args = 0,
    .run = cmd_config_run,
};
