/*
 * sim/system/campaign.h - the campaign database of `odpsim sweep`: one
 * SQLite file (DIR/campaign.sqlite, or DIR/points/KEY.sqlite for a point
 * run on its own) that holds every run of a campaign.
 *
 * Representation (tables):
 *   runs       one row per run, keyed by `key` (a hash of the run's
 *              effective configuration, its overrides and the odpsim
 *              version and source commit): the point's grid parameters
 *              (one column each, named as --set spells the key), status,
 *              seed, policy, fingerprint, version, wall time, the key
 *              figures (NIC and VMM counters summed over hosts,
 *              registration time, oracle, migration) and the whole
 *              summary JSON;
 *   workloads  one row per run and workload: bandwidth, message rate,
 *              latency percentiles, errors, the measurement window;
 *   counters   one row per run and counter: every counter of the summary
 *              (HOST.nic.page_faults ...), for figures no column has;
 *   params     the grid parameters: name, type, unit, axis order;
 *   columns    the declaration below, so tools read each column's type,
 *              unit and meaning from the file itself;
 *   meta       the campaign's scenario, command line, schema version.
 * Every figure is read from the summary JSON by name (sim/system/figures.c),
 * never from a live system, so a figure a run lacks is NULL and new hosts
 * or counters need no change here.
 *
 * The fixed columns are declared once, in campaign_run_columns[] and
 * campaign_workload_columns[] (name, type, unit, meaning, where in the
 * summary): the schema, the rows, the CSV export, its dtypes file, `odpsim
 * sweep --columns` and tools/plot_sweep.py's labels all come from them.
 *
 * Workload: a few rows per run, written by one process (the sweep's
 * parent, or the one point job); each run is one transaction, so a
 * campaign killed at any moment keeps every run it recorded whole.
 */
#ifndef SIM_SYSTEM_CAMPAIGN_H
#define SIM_SYSTEM_CAMPAIGN_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define CAMPAIGN_SCHEMA_VERSION 1

enum campaign_type { CAMPAIGN_INT, CAMPAIGN_REAL, CAMPAIGN_TEXT };

/* Where a fixed column's value comes from. */
enum campaign_src {
	CSRC_ROW,       /* the run itself (key, status, wall time...) */
	CSRC_PATH,      /* the summary at a json_path ("fingerprint") */
	CSRC_COUNTER,   /* sum of the counters HOST.@path */
	CSRC_HIST_MAX,  /* largest max of the histograms HOST.@path_UNIT, ps */
	CSRC_HIST_TOTAL /* sum of count x mean of the same, ps */
};

struct campaign_column {
	const char *name;
	enum campaign_type type;
	enum campaign_src src;
	const char *path;    /* CSRC_PATH: a json_path; counters, histograms:
			      * the name suffix */
	const char *unit;    /* "Gb/s", "ps", "pages", "" */
	const char *meaning;
};

/* NULL-name-terminated declarations. */
extern const struct campaign_column campaign_run_columns[];
extern const struct campaign_column campaign_workload_columns[];

/* A grid parameter as a column: its values are numbers in the canonical
 * unit (ps, bytes, bit/s, Hz) when every value of the axis is one. */
struct campaign_param {
	const char *name;         /* "nic.mtt_cache_entries" */
	enum campaign_type type;
	const char *unit;         /* "B", "ps", "bit/s", "Hz", "" */
};

struct campaign_value {
	const char *text;         /* as given on the command line */
	int64_t i;                /* CAMPAIGN_INT */
	double r;                 /* CAMPAIGN_REAL */
};

/* One run to record. */
struct campaign_row {
	const char *key;
	unsigned point;           /* its index in the grid */
	const char *scenario;
	bool ok;
	const char *message;      /* a failure's reason, or NULL */
	int exit_status;
	const char *policy;       /* as asked; the summary's wins when ok */
	const char *migration;    /* NULL: none asked */
	uint64_t seed;
	const char *overrides;    /* the point's --set assignments, "; " */
	const char *version, *commit;
	double wall_s;            /* the run's process, fork to exit */
	unsigned nparams;
	const struct campaign_param *params;
	const struct campaign_value *values;
	const char *summary;      /* the run's summary JSON, or NULL */
};

struct campaign;

#define CAMPAIGN_ERROR (campaign_error_quark())
GQuark campaign_error_quark(void);

/* Open the database at @path: with @create for writing, created with
 * its schema when new; else read-only (nothing is written to it). */
struct campaign *campaign_open(const char *path, bool create,
			       GError **error);
void campaign_close(struct campaign *c);

/* Add the grid parameters as columns (those missing); record them in
 * `params` in this order. */
bool campaign_add_params(struct campaign *c,
			 const struct campaign_param *params, unsigned n,
			 GError **error);
bool campaign_set_meta(struct campaign *c, const char *key,
		       const char *value, GError **error);
/* The value of a meta key, or NULL (newly allocated). */
char *campaign_get_meta(struct campaign *c, const char *key);

/* Record one run (replacing a row of the same key), in one transaction. */
bool campaign_put(struct campaign *c, const struct campaign_row *row,
		  GError **error);

/* The keys of the runs recorded as ok (a set of strings). */
GHashTable *campaign_done_keys(struct campaign *c, GError **error);
/* Rows in `runs` (all, or only ok ones). */
int64_t campaign_count(struct campaign *c, bool ok_only);

/* Gather the rows of the database at @path into @c: a key not there yet,
 * or there only as failed, is taken.  Runs of another odpsim version or
 * source commit than those already in @c are refused unless
 * @allow_mixed.  *added counts the rows taken. */
bool campaign_merge(struct campaign *c, const char *path, bool allow_mixed,
		    unsigned *added, GError **error);

/* DIR/results.csv (one row per run and workload; a failed run has one row
 * with empty workload columns) and DIR/results.dtypes.json (the pandas
 * dtype of every column). */
bool campaign_export_csv(struct campaign *c, const char *dir,
			 GError **error);

/* `odpsim sweep --columns`: the fixed columns, their types and units. */
void campaign_print_columns(FILE *out);

#endif
