/*
 * sim/config.h - parameter tables and scenario files.
 *
 * Every component declares its parameters in one const table (name, type,
 * default, offset of the field in the component's config struct, meaning,
 * source of the default).  A scenario is an INI file read with GKeyFile,
 * with an index of where each section and key stands in the file, so that
 * every error names the file, the line and the key.  Sections are
 * "[TYPE]" or "[TYPE NAME]": [sim], [host a], [link ab], [workload w1],
 * and per-component sections such as [nic] (all hosts) or [nic a] (host a).
 * The schema (which section types exist and which tables apply) is given by
 * the caller (sim/system/system.c), so this file knows no model.
 *
 * Values: text after " #" or " ;" is a comment.  Command-line overrides
 * (--set TYPE[.NAME].KEY=VALUE) are folded in with line 0 and reported as
 * "--set".  Every value a component reads is recorded, defaults included,
 * so the effective configuration can be written next to a run's outputs.
 */
#ifndef SIM_CONFIG_H
#define SIM_CONFIG_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "sim/units.h"

enum param_type {
	PT_TIME,   /* uint64_t ps */
	PT_SIZE,   /* uint64_t bytes */
	PT_RATE,   /* uint64_t bits/s */
	PT_FREQ,   /* uint64_t Hz */
	PT_COUNT,  /* uint64_t */
	PT_FLOAT,  /* double */
	PT_BOOL,   /* bool */
	PT_STRING, /* char * (g_strdup'ed; config_free() frees it) */
	PT_ENUM,   /* int: index in choices */
};

struct param {
	const char *name;
	enum param_type type;
	const char *def;  /* default as a scenario would write it; NULL: required */
	size_t off;       /* offsetof(struct X_config, field) */
	const char *meaning;
	const char *source; /* where the default comes from */
	const char *const *choices; /* PT_ENUM, NULL-terminated */
	double min, max;  /* inclusive bounds; min == max == 0: unbounded */
};

/*
 * A statistic a component keeps, declared once beside its parameters
 * (SST's SST_ELI_DOCUMENT_STATISTICS): `odpsim params` prints it.
 */
struct stat_doc {
	const char *name;    /* after "HOST.": "nic.page_faults" */
	const char *unit;    /* "pages", "operations", "ns" */
	const char *meaning;
	const char *mirrors; /* the real counter it mirrors, or "" */
};

struct param_table {
	const char *component; /* "nic", "link", "write_bw" */
	const char *summary;
	const struct param *params;
	unsigned n;
	const struct stat_doc *stats; /* NULL: none documented */
	unsigned nstats;
};

#define PARAM_TABLE(var, comp, summ, arr) \
	const struct param_table var = { comp, summ, arr, G_N_ELEMENTS(arr), \
					 NULL, 0 }
#define PARAM_TABLE_STATS(var, comp, summ, arr, st)                          \
	const struct param_table var = { comp, summ, arr, G_N_ELEMENTS(arr), \
					 st, G_N_ELEMENTS(st) }

enum section_naming { SEC_UNNAMED, SEC_NAMED, SEC_EITHER };

struct section_schema {
	const char *type;           /* "host" */
	enum section_naming naming;
	const char *owner;          /* named sections must name a section of
				     * this type ("host" for [nic a]), or NULL */
	const struct param_table *table;
	/* keys that depend on a subtype key (workloads: type = write_bw) */
	const char *subtype_key;
	const struct param_table *const *subtables; /* NULL-terminated */
};

struct scenario;

#define CONFIG_ERROR (config_error_quark())
GQuark config_error_quark(void);

struct scenario *scenario_load(const char *path, GError **error);
/* @name stands for the file name in messages (tests, built-ins). */
struct scenario *scenario_load_data(const char *data, const char *name,
				    GError **error);
void scenario_free(struct scenario *sc);
const char *scenario_path(const struct scenario *sc);

/* Apply a command-line override "TYPE[.NAME].KEY=VALUE".  Messages about
 * it name @origin ("--duration 5ms"), or "--set ASSIGNMENT" when NULL. */
bool scenario_set(struct scenario *sc, const char *assignment,
		  const char *origin, GError **error);

/* Check every section and key against @schema (NULL-terminated by type). */
bool scenario_validate(struct scenario *sc,
		       const struct section_schema *schema, GError **error);

/* "FILE:LINE" of a key (or of its section when the key is absent, or
 * "--set ..." for an override), for messages of models that check values
 * against each other.  Newly allocated. */
char *scenario_where(const struct scenario *sc, const char *type,
		     const char *name, const char *key);

/* Names of the sections "[TYPE NAME]" in file order (NULL-terminated,
 * owned by the scenario). */
const char *const *scenario_names(struct scenario *sc, const char *type);
bool scenario_has(const struct scenario *sc, const char *type,
		  const char *name);
/* Raw value of a key in "[TYPE NAME]" (NULL name: "[TYPE]"), comment
 * stripped, or NULL; owned by the scenario. */
const char *scenario_get(struct scenario *sc, const char *type,
			 const char *name, const char *key);

/*
 * Fill @cfg from @table: defaults, then "[TYPE]", then "[TYPE NAME]" (when
 * @name is set), each value parsed and range-checked.  Errors name the
 * file, line, section and key.  Every value is recorded for
 * scenario_write_effective().
 */
bool config_fill(struct scenario *sc, const struct param_table *table,
		 void *cfg, const char *type, const char *name,
		 GError **error);
/* Defaults only (no scenario): for tests and built-in objects. */
void config_defaults(const struct param_table *table, void *cfg);
void config_free(const struct param_table *table, void *cfg);

/* The effective configuration as INI text, every value that was read. */
char *scenario_effective(const struct scenario *sc);
/* The same values without their origins, sections and keys sorted: equal
 * for two runs exactly when they read the same configuration (the key of
 * a sweep's point). */
char *scenario_effective_values(const struct scenario *sc);

/* Print @table as the `odpsim params` command does. */
void config_print_table(const struct param_table *table, FILE *out);
/* The same table as the members of a JSON object (component, summary,
 * params [{name, type, default, required, unit, meaning, source, choices,
 * min, max}], statistics) for `odpsim params --json`. */
struct json_writer;
void config_json_table(const struct param_table *table, struct json_writer *w);

/* Nearest of @cands (NULL-terminated) to @word by edit distance, or NULL
 * when none is close. */
const char *config_nearest(const char *word, const char *const *cands);

/* The value of a parameter as text (for tables and the effective config). */
char *config_value_string(const struct param *p, const void *cfg);

#endif
