/*
 * sim/system/compare.h - `odpsim compare`: one scenario, one run per registration
 * policy, the same seed, one side-by-side table.
 *
 * Each run is a forked child of the command that builds and runs the system
 * in-process and sends its summary (the JSON object `odpsim run --json`
 * prints) back through a pipe; the parent keeps those texts and their
 * parsed trees, indexed by the policy's position in the list, so the order
 * in which children finish never shows.  Everything is validated in the
 * parent before the first child starts.
 */
#ifndef SIM_SYSTEM_COMPARE_H
#define SIM_SYSTEM_COMPARE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct json_value;

struct compare_options {
	const char *scenario;
	char **policies;      /* NULL-terminated, validated names: of
			       * registration policies, or of migration
			       * policies when @migration */
	bool migration;
	bool have_seed;
	uint64_t seed;
	const char *duration; /* NULL: the scenario's */
	char **sets;          /* "TYPE[.NAME].KEY=VALUE", NULL-terminated */
	const char *out_dir;  /* NULL: no files; else DIR/POLICY/ and
			       * DIR/compare.json */
	unsigned jobs;        /* children at once, >= 1 */
	bool progress;        /* the progress line on stderr */
	bool progress_tty;    /* ... rewritten in place */
};

struct compare_result {
	int interrupted;             /* SIGINT/SIGTERM stopped it, or 0:
				      * then the policies here are the runs
				      * that sent a summary */
	char **not_run;              /* ... and these never started */
	unsigned n;
	char **policies;             /* n names, NULL-terminated */
	char **json;                 /* n summaries as `run --json` prints */
	struct json_value **summary; /* n parsed summaries */
};

#define COMPARE_ERROR (compare_error_quark())
GQuark compare_error_quark(void);

/* Split "pin,odp" into a NULL-terminated list of known, distinct policy
 * names, or fail naming the bad one and the nearest valid one. */
char **compare_parse_policies(const char *list, GError **error);
/* The same for --migration (stop-copy, pre-copy, post-copy). */
char **compare_parse_migrations(const char *list, GError **error);

/* Load and validate the scenario under every policy; nothing runs and no
 * file is written.  *io_error tells an unreadable file (exit 1) from a
 * configuration error (exit 2). */
bool compare_validate(const struct compare_options *o, bool *io_error,
		      GError **error);

/* A workload with its own `policy` key keeps it under every policy
 * compared: say so on @out, one line per such workload. */
void compare_warn_fixed_policies(const struct compare_options *o, FILE *out);

/* Run every policy (at most o->jobs at once) and collect the summaries;
 * with o->out_dir, also write DIR/compare.json.  NULL when a run failed:
 * the message names each failed policy. */
struct compare_result *compare_run(const struct compare_options *o,
				   GError **error);
void compare_result_free(struct compare_result *r);

/* The summaries as one JSON array, one element per line. */
char *compare_json(const struct compare_result *r);
/* The side-by-side table: rows are figures, columns are policies. */
void compare_table(const struct compare_result *r, FILE *out);

/* The runs whose oracle counted a violation (any non-zero figure of the
 * summary's "oracle" object); one line each on @out (when not NULL). */
unsigned compare_violations(const struct compare_result *r, FILE *out);

/* The summaries' warnings (failed registrations, workloads that never
 * started or completed nothing), one line each on @out (when not NULL)
 * naming the run's policy; returns how many. */
unsigned compare_warnings(const struct compare_result *r, bool strict,
			  FILE *out);

/* `odpsim compare ...` (argv[0] is "compare"); returns the exit status. */
int compare_command(int argc, char **argv);

#endif
