/*
 * sim/system/migrate.h - live migration of a host to a spare (the
 * [migration] section; see migrate.c for the model).
 */
#ifndef SIM_SYSTEM_MIGRATE_H
#define SIM_SYSTEM_MIGRATE_H

#include <glib.h>
#include <stdbool.h>
#include <stdio.h>

#include "sim/config.h"
#include "sim/json.h"
#include "sim/sim.h"

struct system;
struct migration;

extern const struct param_table migration_params;
extern const char *const migration_policy_names[]; /* NULL-terminated */

/* From @sys's [migration] section (its hosts, switches and duration are
 * built): NULL with no error, and *none, when it names no migration. */
struct migration *migration_build(struct system *sys, bool *none,
				  GError **error);
/* The run ended: a downtime still going lasts to the end. */
void migration_finish(struct migration *m);
void migration_free(struct migration *m);
void migration_summary_text(const struct migration *m, FILE *out);
void migration_summary_json(const struct migration *m, struct json_writer *w);
/* A warning line when pre-copy's max_downtime is below the quiesce the run
 * needed (it cannot be met), else NULL (g_free). */
char *migration_warning(const struct migration *m);

#endif
