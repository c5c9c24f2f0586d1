/* Effective configuration: defaults, the config file's profile, OPSDECK_*
 * variables and flags, with flag > env > file > default, and where each
 * value came from. */
#ifndef OPSDECK_CORE_CONFIG_H
#define OPSDECK_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/options.h"
#include "util/status.h"

/* Ordered by precedence: a value is replaced only by one of the same or a
 * higher source. */
enum config_source {
    CONFIG_DEFAULT,
    CONFIG_COMPUTED, /* derived at load time, e.g. operator from SUDO_USER */
    CONFIG_FILE,
    CONFIG_ENV,
    CONFIG_FLAG,
};

/* One replay route: queue NULL is the default route. */
struct config_route {
    const char *queue;
    const char *route;           /* "publish", "list:KEY" or "stream:KEY" */
    enum config_source source;
    const char *origin;          /* see config_origin */
};

struct config;

/* Returns a configuration holding every default; the caller frees it with
 * config_free. */
struct config *config_new(void);
void config_free(struct config *cfg);

/* A deep copy of cfg with every value's source and origin, for a thread
 * that needs a session of its own. Free with config_free. */
struct config *config_copy(const struct config *cfg);

/* Validates text for option id and stores it if source is at least the
 * source of the current value. origin names where text came from and is
 * copied: "FILE:LINE", "OPSDECK_X" or "--x". For OPTION_ROUTE, text is
 * "[QUEUE=]ROUTE" (the file parser passes "QUEUE=ROUTE" for route.QUEUE
 * keys); for OPTION_SECRET options a password in a flag is refused.
 * On bad text fills err with "ORIGIN: reason" and returns STATUS_USAGE,
 * leaving cfg unchanged. */
enum status config_apply(struct config *cfg, enum option_id id, const char *text,
                         enum config_source source, const char *origin, struct error *err);

/* Reads path and applies the keys of the [default] section (and keys before
 * any section), then those of [profile]. A missing file is fine unless
 * required; a missing profile section is an error when profile_required.
 * Errors read "PATH:LINE: reason" (STATUS_USAGE); nothing is applied from a
 * file with any error. */
enum status config_load_file(struct config *cfg, const char *path, const char *profile,
                             bool required, bool profile_required, struct error *err);

/* Applies every OPSDECK_* variable of an OPTION_IN_ENV option, read with
 * getenv. OPSDECK_ROUTE holds comma-separated [QUEUE=]ROUTE items. */
enum status config_load_env(struct config *cfg, struct error *err);

/* Fills values derived from the environment when nothing set them:
 * operator from SUDO_USER, then USER, then the passwd entry. */
void config_finish(struct config *cfg);

/* The default config path: $XDG_CONFIG_HOME/opsdeck/config, or
 * ~/.config/opsdeck/config. Heap string, caller frees. */
char *config_default_path(void);

/* Accessors; the strings are borrowed from cfg. Calling one for an option
 * of another type is a programming error (aborts). */
const char *config_str(const struct config *cfg, enum option_id id);
bool config_bool(const struct config *cfg, enum option_id id);
int64_t config_ms(const struct config *cfg, enum option_id id);
/* The words of an OPTION_LIST option; *count set to their number. */
const char *const *config_list(const struct config *cfg, enum option_id id, size_t *count);

/* The route for a queue: its own, else the default route. Never NULL. */
const char *config_route_for(const struct config *cfg, const char *queue);
/* Every route, default first; *count set. Borrowed from cfg. */
const struct config_route *config_routes(const struct config *cfg, size_t *count);

/* Where the value came from: "default", "computed", "file PATH:LINE",
 * "env OPSDECK_X" or "flag --x". Borrowed from cfg. */
const char *config_origin(const struct config *cfg, enum option_id id);
enum config_source config_source_of(const struct config *cfg, enum option_id id);

/* The value as text for display, passwords replaced by "****". Heap
 * string, caller frees. */
char *config_display(const struct config *cfg, enum option_id id);

#endif
