/*
 * sim/migrate.h - live migration of a host to a spare (the [migration]
 * section; see system_migrate.inc for the model).
 */
#ifndef SIM_MIGRATE_H
#define SIM_MIGRATE_H

#include <glib.h>
#include <stdbool.h>
#include <stdio.h>

#include "sim/config.h"
#include "sim/json.h"
#include "sim/sim.h"

struct host;
struct netswitch;
struct migration;

extern const struct param_table migration_params;
extern const char *const migration_policy_names[]; /* NULL-terminated */

/* From the [migration] section: NULL with no error when it names no
 * migration.  @switches: struct netswitch *; the migration must start
 * before @duration. */
struct migration *migration_build(struct sim *sim, struct scenario *sc,
				  struct host *const *hosts, unsigned nhosts,
				  GPtrArray *switches, sim_time_t duration,
				  bool *none, GError **error);
/* The run ended: a downtime still going lasts to the end. */
void migration_finish(struct migration *m);
void migration_free(struct migration *m);
void migration_summary_text(const struct migration *m, FILE *out);
void migration_summary_json(const struct migration *m, struct json_writer *w);

#endif
