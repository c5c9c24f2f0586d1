/* What `opsdeck demo` shares with `opsdeck sim`: the engine's options
 * from the configuration and the sim flags. */
#ifndef OPSDECK_CORE_CMD_SIM_H
#define OPSDECK_CORE_CMD_SIM_H

#include <stddef.h>

#include "backends/sim.h"
#include "core/command.h"
#include "core/session.h"

/* Fills o (and routes, one per simulated queue, at most nroutes_max) from
 * the session's settings and cmd's --rate, --seed and --duration. Strings
 * stay owned by the session and the arguments. STATUS_USAGE on a bad
 * flag. o->log is stdout and o->instance NULL; the caller sets both. */
enum status cmd_sim_options(struct session *s, const struct command *cmd,
                            const struct command_args *a, struct sim_options *o,
                            struct sim_route routes[], size_t nroutes_max, struct error *err);

#endif
