/*
 * sim/system/campaign.c - the campaign database (see campaign.h).
 */
#include "sim/system/campaign.h"

#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "sim/json.h"
#include "sim/outfile.h"
#include "sim/system/figures.h"

G_DEFINE_QUARK(odpsim-campaign-error-quark, campaign_error)

#define I CAMPAIGN_INT
#define R CAMPAIGN_REAL
#define T CAMPAIGN_TEXT

const struct campaign_column campaign_run_columns[] = {
	{ "key", T, CSRC_ROW, NULL, "",
	  "hash of the run's effective configuration, overrides, odpsim "
	  "version and source commit (SHA-256, 32 hex digits)" },
	{ "point", I, CSRC_ROW, NULL, "", "index of the point in the grid" },
	{ "status", T, CSRC_ROW, NULL, "", "ok or failed" },
	{ "message", T, CSRC_ROW, NULL, "", "why a failed run failed" },
	{ "exit_status", I, CSRC_ROW, NULL, "",
	  "exit status of the run's process (128 + N: killed by signal N)" },
	{ "scenario", T, CSRC_ROW, NULL, "", "scenario file" },
	{ "overrides", T, CSRC_ROW, NULL, "",
	  "the point's --set assignments, '; '-separated" },
	{ "policy", T, CSRC_PATH, "policy", "", "registration policy" },
	{ "migration_policy", T, CSRC_PATH, "migration.policy", "",
	  "live-migration policy (NULL: no migration)" },
	{ "seed", I, CSRC_PATH, "seed", "", "run seed" },
	{ "fingerprint", T, CSRC_PATH, "fingerprint", "",
	  "hash of every event (16 hex digits): equal runs, equal value" },
	{ "events", I, CSRC_PATH, "events", "events", "events fired" },
	{ "sim_time_ps", I, CSRC_PATH, "sim_time_ps", "ps",
	  "simulated time reached" },
	{ "odpsim_version", T, CSRC_ROW, NULL, "", "odpsim version" },
	{ "source_commit", T, CSRC_ROW, NULL, "",
	  "git describe of the source the binary was built from (-dirty: "
	  "with uncommitted changes; empty: not built from git)" },
	{ "host", T, CSRC_ROW, NULL, "", "machine the run ran on" },
	{ "finished_at", T, CSRC_ROW, NULL, "", "UTC time the run ended" },
	{ "wall_s", R, CSRC_ROW, NULL, "s",
	  "wall-clock time of the run's process, build included" },
	{ "run_wall_s", R, CSRC_PATH, "wall_s", "s",
	  "wall-clock time of the event loop" },
	{ "reg_time_max_ps", I, CSRC_HIST_MAX, "nic.reg_time", "ps",
	  "longest MR registration, any host" },
	{ "nic_page_faults", I, CSRC_COUNTER, "nic.page_faults", "faults",
	  "NIC page faults, all hosts" },
	{ "nic_rnr_naks_sent", I, CSRC_COUNTER, "nic.rnr_naks_sent", "NAKs",
	  "RNR NAKs sent, all hosts" },
	{ "nic_qp_stalls", I, CSRC_COUNTER, "nic.qp_stalls", "stalls",
	  "requester QP stalls on a fault or suspension, all hosts" },
	{ "nic_page_invalidations", I, CSRC_COUNTER, "nic.page_invalidations",
	  "pages", "NIC page invalidations, all hosts" },
	{ "nic_retransmitted_packets", I, CSRC_COUNTER,
	  "nic.retransmitted_packets", "packets",
	  "packets retransmitted, all hosts" },
	{ "nic_mtt_cache_hits", I, CSRC_COUNTER, "nic.mtt_cache.hits",
	  "lookups", "MTT cache hits, all hosts" },
	{ "nic_mtt_cache_misses", I, CSRC_COUNTER, "nic.mtt_cache.misses",
	  "lookups", "MTT cache misses, all hosts" },
	{ "nic_tx_bytes", I, CSRC_COUNTER, "nic.tx_bytes", "B",
	  "bytes the NICs sent, all hosts" },
	{ "suspend_time_total_ps", I, CSRC_HIST_TOTAL, "nic.suspend", "ps",
	  "time ranges of suspend MRs spent suspended, summed" },
	{ "suspend_time_max_ps", I, CSRC_HIST_MAX, "nic.suspend", "ps",
	  "longest suspension" },
	{ "vmm_pinned_pages", I, CSRC_COUNTER, "vmm.pinned_pages", "pages",
	  "pinned pages at the end, all hosts" },
	{ "vmm_committed_pages", I, CSRC_COUNTER, "vmm.committed_pages",
	  "pages", "committed pages at the end, all hosts" },
	{ "vmm_resident_pages", I, CSRC_COUNTER, "vmm.resident_pages", "pages",
	  "resident pages at the end, all hosts" },
	{ "vmm_faults_minor", I, CSRC_COUNTER, "vmm.faults.minor", "faults",
	  "minor page faults, all hosts" },
	{ "vmm_faults_major", I, CSRC_COUNTER, "vmm.faults.major", "faults",
	  "major page faults, all hosts" },
	{ "vmm_moves", I, CSRC_COUNTER, "vmm.moves", "pages",
	  "page moves, all hosts" },
	{ "vmm_move_failed", I, CSRC_COUNTER, "vmm.move_failed", "pages",
	  "page moves that failed" },
	{ "vmm_move_failed_pinned", I, CSRC_COUNTER, "vmm.move_failed_pinned",
	  "pages", "page moves that failed on a pinned page" },
	{ "vmm_reclaim_pages", I, CSRC_COUNTER, "vmm.reclaim.pages", "pages",
	  "pages reclaimed" },
	{ "vmm_reclaim_skipped_pinned", I, CSRC_COUNTER,
	  "vmm.reclaim.skipped_pinned", "pages",
	  "pinned pages reclaim had to skip" },
	{ "oracle_lost_writes", I, CSRC_PATH, "oracle.lost_writes", "DMAs",
	  "oracle: writes that landed in a frame the page no longer owns" },
	{ "oracle_stale_reads", I, CSRC_PATH, "oracle.stale_reads", "DMAs",
	  "oracle: reads from such a frame" },
	{ "oracle_final_mismatches", I, CSRC_PATH, "oracle.final_mismatches",
	  "pages", "oracle: pages not holding their last write at the end" },
	{ "migration_state", T, CSRC_PATH, "migration.state", "",
	  "the migration's state at the end (DONE when finished)" },
	{ "migration_total_ps", I, CSRC_PATH, "migration.total_ps", "ps",
	  "migration: start to done" },
	{ "migration_downtime_ps", I, CSRC_PATH, "migration.downtime_ps", "ps",
	  "migration: from the freeze until the host served again" },
	{ "migration_bytes", I, CSRC_PATH, "migration.bytes", "B",
	  "migration: bytes sent" },
	{ "migration_rounds", I, CSRC_PATH, "migration.rounds", "rounds",
	  "migration: pre-copy rounds" },
	{ "migration_pages_resent", I, CSRC_PATH, "migration.pages_resent",
	  "pages", "migration: pages sent again (dirtied)" },
	{ "migration_remote_faults", I, CSRC_PATH, "migration.remote_faults",
	  "faults", "migration: post-copy remote faults" },
	{ "summary", T, CSRC_ROW, NULL, "",
	  "the run's whole summary (odpsim run --json); not exported to CSV" },
	{ NULL, 0, 0, NULL, NULL, NULL },
};

const struct campaign_column campaign_workload_columns[] = {
	{ "key", T, CSRC_ROW, NULL, "", "the run (runs.key)" },
	{ "workload", T, CSRC_ROW, NULL, "", "workload name" },
	{ "type", T, CSRC_PATH, "type", "", "workload type" },
	{ "completed", I, CSRC_PATH, "completed", "operations",
	  "operations completed (inside the window)" },
	{ "errors", I, CSRC_PATH, "errors", "operations",
	  "operations completed in error (whole run)" },
	{ "bytes", I, CSRC_PATH, "bytes", "B",
	  "payload bytes completed (inside the window)" },
	{ "bw_gbps", R, CSRC_PATH, "bw_gbps", "Gb/s", "bandwidth" },
	{ "bw_peak_gbps", R, CSRC_PATH, "bw_peak_gbps", "Gb/s",
	  "best bandwidth over tx_depth completions" },
	{ "msg_rate_mpps", R, CSRC_PATH, "msg_rate_mpps", "Mpps",
	  "message rate" },
	{ "lat_min_ns", R, CSRC_PATH, "lat_ns.min", "ns", "latency, least" },
	{ "lat_avg_ns", R, CSRC_PATH, "lat_ns.avg", "ns", "latency, mean" },
	{ "lat_stdev_ns", R, CSRC_PATH, "lat_ns.stdev", "ns",
	  "latency, standard deviation" },
	{ "lat_p50_ns", R, CSRC_PATH, "lat_ns.p50", "ns", "latency, median" },
	{ "lat_p99_ns", R, CSRC_PATH, "lat_ns.p99", "ns",
	  "latency, 99th percentile" },
	{ "lat_p999_ns", R, CSRC_PATH, "lat_ns.p999", "ns",
	  "latency, 99.9th percentile" },
	{ "lat_max_ns", R, CSRC_PATH, "lat_ns.max", "ns", "latency, most" },
	{ "longest_stall_ps", I, CSRC_PATH, "longest_stall_ps", "ps",
	  "longest time without a completion after the first" },
	{ "window_set", I, CSRC_PATH, "window.set", "",
	  "1: a measurement window was set; 0: first operation to last "
	  "completion" },
	{ "window_from_ps", I, CSRC_PATH, "window.from_ps", "ps",
	  "start of the interval the rates are over" },
	{ "window_until_ps", I, CSRC_PATH, "window.until_ps", "ps",
	  "end of that interval" },
	{ "window_completed_outside", I, CSRC_PATH,
	  "window.completed_outside", "operations",
	  "completions outside the window" },
	{ NULL, 0, 0, NULL, NULL, NULL },
};

#undef I
#undef R
#undef T

struct campaign {
	sqlite3 *db;
	char *path;
};

static const char *campaign_sql_type(enum campaign_type t)
{
	return t == CAMPAIGN_INT ? "INTEGER" : t == CAMPAIGN_REAL ? "REAL"
								 : "TEXT";
}

static const char *campaign_pandas_type(enum campaign_type t)
{
	return t == CAMPAIGN_INT ? "Int64" : t == CAMPAIGN_REAL ? "float64"
								: "string";
}

/* An identifier in double quotes (nic.mtt_cache_entries has a dot). */
static void campaign_ident(GString *s, const char *name)
{
	g_string_append_c(s, '"');
	for (const char *p = name; *p; p++) {
		if (*p == '"')
			g_string_append_c(s, '"');
		g_string_append_c(s, *p);
	}
	g_string_append_c(s, '"');
}

static bool campaign_fail(struct campaign *c, const char *what,
			  GError **error)
{
	g_set_error(error, CAMPAIGN_ERROR, 0, "%s: %s: %s", c->path, what,
		    sqlite3_errmsg(c->db));
	return false;
}

static bool campaign_exec(struct campaign *c, const char *sql,
			  GError **error)
{
	char *msg = NULL;
	if (sqlite3_exec(c->db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return true;
	g_set_error(error, CAMPAIGN_ERROR, 0, "%s: %s", c->path,
		    msg ? msg : sqlite3_errmsg(c->db));
	sqlite3_free(msg);
	return false;
}

static void campaign_table_sql(GString *s, const char *table,
			       const struct campaign_column *cols,
			       const char *key)
{
	g_string_append_printf(s, "CREATE TABLE IF NOT EXISTS %s (", table);
	for (const struct campaign_column *k = cols; k->name; k++) {
		campaign_ident(s, k->name);
		g_string_append_printf(s, " %s, ", campaign_sql_type(k->type));
	}
	g_string_append_printf(s, "PRIMARY KEY (%s));\n", key);
}

static bool campaign_create(struct campaign *c, GError **error)
{
	GString *s = g_string_new("BEGIN;\n");
	campaign_table_sql(s, "runs", campaign_run_columns, "key");
	campaign_table_sql(s, "workloads", campaign_workload_columns,
			   "key, workload");
	g_string_append(s,
		"CREATE TABLE IF NOT EXISTS counters (key TEXT, name TEXT, "
		"value INTEGER, PRIMARY KEY (key, name));\n"
		"CREATE TABLE IF NOT EXISTS params (name TEXT PRIMARY KEY, "
		"type TEXT, unit TEXT, ord INTEGER);\n"
		"CREATE TABLE IF NOT EXISTS columns (tbl TEXT, name TEXT, "
		"type TEXT, pandas TEXT, unit TEXT, meaning TEXT, "
		"PRIMARY KEY (tbl, name));\n"
		"CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, "
		"value TEXT);\n");
	g_string_append_printf(s, "INSERT OR IGNORE INTO meta VALUES "
				  "('schema_version', '%d');\n",
			       CAMPAIGN_SCHEMA_VERSION);
	const struct {
		const char *tbl;
		const struct campaign_column *cols;
	} t[] = { { "runs", campaign_run_columns },
		  { "workloads", campaign_workload_columns } };
	for (unsigned i = 0; i < G_N_ELEMENTS(t); i++)
		for (const struct campaign_column *k = t[i].cols; k->name;
		     k++) {
			char *q = sqlite3_mprintf(
				"INSERT OR REPLACE INTO columns VALUES "
				"(%Q, %Q, %Q, %Q, %Q, %Q);\n", t[i].tbl,
				k->name, campaign_sql_type(k->type),
				campaign_pandas_type(k->type), k->unit,
				k->meaning);
			g_string_append(s, q);
			sqlite3_free(q);
		}
	g_string_append(s, "COMMIT;\n");
	bool ok = campaign_exec(c, s->str, error);
	g_string_free(s, TRUE);
	return ok;
}

struct campaign *campaign_open(const char *path, bool create, GError **error)
{
	if (!create && !g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
			    "%s: no campaign database there", path);
		return NULL;
	}
	if (create && !outfile_check_target(path, error))
		return NULL;
	struct campaign *c = g_new0(struct campaign, 1);
	c->path = g_strdup(path);
	int flags = create ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
			   : SQLITE_OPEN_READONLY;
	if (sqlite3_open_v2(path, &c->db, flags, NULL) != SQLITE_OK) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
			    "%s: cannot open the campaign database: %s", path,
			    c->db ? sqlite3_errmsg(c->db) : "out of memory");
		campaign_close(c);
		return NULL;
	}
	sqlite3_busy_timeout(c->db, 10000);
	/* not a database, or another schema: say so, touch nothing */
	char *v = NULL;
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(c->db,
				    "SELECT value FROM meta WHERE key = "
				    "'schema_version'", -1, &st, NULL);
	if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = g_strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	if (rc == SQLITE_NOTADB ||
	    (rc != SQLITE_OK && sqlite3_errcode(c->db) == SQLITE_NOTADB)) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
			    "%s: not a campaign database (%s)", path,
			    sqlite3_errmsg(c->db));
		campaign_close(c);
		return NULL;
	}
	if (v && atoi(v) != CAMPAIGN_SCHEMA_VERSION) {
		g_set_error(error, CAMPAIGN_ERROR, 0,
			    "%s: campaign schema %s, this odpsim writes %d",
			    path, v, CAMPAIGN_SCHEMA_VERSION);
		g_free(v);
		campaign_close(c);
		return NULL;
	}
	if (!v && create) {
		/* another SQLite database: not ours to add tables to */
		int n = 0;
		if (sqlite3_prepare_v2(c->db, "SELECT COUNT(*) FROM "
				       "sqlite_master", -1, &st, NULL) ==
			    SQLITE_OK &&
		    sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
		if (n) {
			g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
				    "%s: not a campaign database (another "
				    "SQLite database)", path);
			campaign_close(c);
			return NULL;
		}
	}
	if (!v && !create) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
			    "%s: not a campaign database (no schema "
			    "version)", path);
		campaign_close(c);
		return NULL;
	}
	/* a new file gets the schema; an existing one is not written to */
	if (!v && !campaign_create(c, error)) {
		g_free(v);
		campaign_close(c);
		return NULL;
	}
	g_free(v);
	return c;
}

void campaign_close(struct campaign *c)
{
	if (!c)
		return;
	sqlite3_close(c->db);
	g_free(c->path);
	g_free(c);
}

/* The columns of @table (NULL-terminated, newly allocated). */
static char **campaign_table_columns(struct campaign *c, const char *schema,
				     const char *table)
{
	char *q = sqlite3_mprintf("PRAGMA %s.table_info(%s)", schema, table);
	sqlite3_stmt *st = NULL;
	GPtrArray *v = g_ptr_array_new();
	if (sqlite3_prepare_v2(c->db, q, -1, &st, NULL) == SQLITE_OK)
		while (sqlite3_step(st) == SQLITE_ROW)
			g_ptr_array_add(v, g_strdup((const char *)
						    sqlite3_column_text(st,
									1)));
	sqlite3_finalize(st);
	sqlite3_free(q);
	g_ptr_array_add(v, NULL);
	return (char **)g_ptr_array_free(v, FALSE);
}

static bool campaign_has(char **cols, const char *name)
{
	for (char **p = cols; *p; p++)
		if (!strcmp(*p, name))
			return true;
	return false;
}

static bool campaign_add_param_row(struct campaign *c, const char *name,
				   const char *type, const char *unit,
				   char **have, GError **error)
{
	GString *s = g_string_new(NULL);
	if (!campaign_has(have, name)) {
		g_string_append(s, "ALTER TABLE runs ADD COLUMN ");
		campaign_ident(s, name);
		g_string_append_printf(s, " %s;\n", type);
	}
	char *q = sqlite3_mprintf(
		"INSERT OR IGNORE INTO params VALUES (%Q, %Q, %Q, "
		"(SELECT COUNT(*) FROM params));\n"
		"INSERT OR IGNORE INTO columns VALUES ('runs', %Q, %Q, %Q, %Q, "
		"'grid parameter');\n", name, type, unit, name, type,
		!strcmp(type, "INTEGER") ? "Int64"
		: !strcmp(type, "REAL")  ? "float64"
					 : "string", unit);
	g_string_append(s, q);
	sqlite3_free(q);
	bool ok = campaign_exec(c, s->str, error);
	g_string_free(s, TRUE);
	return ok;
}

bool campaign_add_params(struct campaign *c,
			 const struct campaign_param *params, unsigned n,
			 GError **error)
{
	char **have = campaign_table_columns(c, "main", "runs");
	bool ok = campaign_exec(c, "BEGIN", error);
	for (unsigned i = 0; ok && i < n; i++)
		ok = campaign_add_param_row(c, params[i].name,
					    campaign_sql_type(params[i].type),
					    params[i].unit, have, error);
	ok = ok && campaign_exec(c, "COMMIT", error);
	if (!ok)
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	g_strfreev(have);
	return ok;
}

bool campaign_set_meta(struct campaign *c, const char *key,
		       const char *value, GError **error)
{
	char *q = sqlite3_mprintf("INSERT OR REPLACE INTO meta VALUES (%Q, "
				  "%Q)", key, value);
	bool ok = campaign_exec(c, q, error);
	sqlite3_free(q);
	return ok;
}

char *campaign_get_meta(struct campaign *c, const char *key)
{
	sqlite3_stmt *st = NULL;
	char *v = NULL;
	if (sqlite3_prepare_v2(c->db, "SELECT value FROM meta WHERE key = ?",
			       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
			v = g_strdup((const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	return v;
}

/* ---- one run ---- */

/* Bind the figure of column @k of @obj (a summary, or a workload's object
 * in it) to parameter @i of @st; NULL when the summary lacks it. */
static void campaign_bind_figure(sqlite3_stmt *st, int i,
				 const struct campaign_column *k,
				 const struct json_value *obj)
{
	uint64_t u;
	double secs;
	const struct json_value *v;
	switch (k->src) {
	case CSRC_ROW:
		g_assert_not_reached();
	case CSRC_COUNTER:
		if (figures_counter_sum(obj, k->path, &u))
			sqlite3_bind_int64(st, i, (sqlite3_int64)u);
		else
			sqlite3_bind_null(st, i);
		return;
	case CSRC_HIST_MAX:
	case CSRC_HIST_TOTAL:
		if (figures_hist_fold(obj, k->path,
				      k->src == CSRC_HIST_MAX
					      ? FIGURES_HIST_MAX
					      : FIGURES_HIST_TOTAL,
				      &secs))
			sqlite3_bind_int64(st, i, llround(secs * 1e12));
		else
			sqlite3_bind_null(st, i);
		return;
	case CSRC_PATH:
		break;
	}
	v = json_path(obj, k->path);
	if (!v || v->type == JSON_NULL) {
		sqlite3_bind_null(st, i);
	} else if (k->type == CAMPAIGN_TEXT) {
		if (v->type == JSON_STR)
			sqlite3_bind_text(st, i, v->str, -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_null(st, i);
	} else if (v->type == JSON_BOOL) {
		sqlite3_bind_int(st, i, v->b);
	} else if (v->type != JSON_NUM) {
		sqlite3_bind_null(st, i);
	} else if (k->type == CAMPAIGN_INT) {
		sqlite3_bind_int64(st, i, v->is_int ? v->i : llround(v->num));
	} else {
		sqlite3_bind_double(st, i, figures_num(v));
	}
}

static void campaign_bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

/* The value of a CSRC_ROW column of runs. */
static void campaign_bind_row(sqlite3_stmt *st, int i, const char *name,
			      const struct campaign_row *row)
{
	if (!strcmp(name, "key"))
		campaign_bind_text(st, i, row->key);
	else if (!strcmp(name, "point"))
		sqlite3_bind_int64(st, i, row->point);
	else if (!strcmp(name, "status"))
		campaign_bind_text(st, i, row->ok ? "ok" : "failed");
	else if (!strcmp(name, "message"))
		campaign_bind_text(st, i, row->message);
	else if (!strcmp(name, "exit_status"))
		sqlite3_bind_int(st, i, row->exit_status);
	else if (!strcmp(name, "scenario"))
		campaign_bind_text(st, i, row->scenario);
	else if (!strcmp(name, "overrides"))
		campaign_bind_text(st, i, row->overrides);
	else if (!strcmp(name, "odpsim_version"))
		campaign_bind_text(st, i, row->version);
	else if (!strcmp(name, "source_commit"))
		campaign_bind_text(st, i, row->commit);
	else if (!strcmp(name, "host"))
		campaign_bind_text(st, i, g_get_host_name());
	else if (!strcmp(name, "finished_at")) {
		GDateTime *now = g_date_time_new_now_utc();
		char *t = g_date_time_format(now, "%Y-%m-%dT%H:%M:%SZ");
		campaign_bind_text(st, i, t);
		g_free(t);
		g_date_time_unref(now);
	} else if (!strcmp(name, "wall_s"))
		sqlite3_bind_double(st, i, row->wall_s);
	else if (!strcmp(name, "summary"))
		campaign_bind_text(st, i, row->summary);
	else
		g_assert_not_reached();
}

/* A failed run has no summary: what the point asked for stands in. */
static void campaign_bind_asked(sqlite3_stmt *st, int i, const char *name,
				const struct campaign_row *row)
{
	if (!strcmp(name, "policy"))
		campaign_bind_text(st, i, row->policy);
	else if (!strcmp(name, "migration_policy"))
		campaign_bind_text(st, i, row->migration);
	else if (!strcmp(name, "seed"))
		sqlite3_bind_int64(st, i, (sqlite3_int64)row->seed);
	else
		sqlite3_bind_null(st, i);
}

static bool campaign_put_run(struct campaign *c,
			     const struct campaign_row *row,
			     const struct json_value *sum, GError **error)
{
	GString *q = g_string_new("INSERT OR REPLACE INTO runs (");
	unsigned n = 0;
	for (const struct campaign_column *k = campaign_run_columns; k->name;
	     k++, n++) {
		campaign_ident(q, k->name);
		g_string_append(q, ", ");
	}
	for (unsigned p = 0; p < row->nparams; p++) {
		campaign_ident(q, row->params[p].name);
		g_string_append(q, ", ");
	}
	g_string_truncate(q, q->len - 2);
	g_string_append(q, ") VALUES (");
	for (unsigned i = 0; i < n + row->nparams; i++)
		g_string_append(q, i ? ", ?" : "?");
	g_string_append(q, ")");
	sqlite3_stmt *st = NULL;
	bool ok = sqlite3_prepare_v2(c->db, q->str, -1, &st, NULL) ==
		  SQLITE_OK;
	g_string_free(q, TRUE);
	if (!ok)
		return campaign_fail(c, "cannot record the run", error);
	int i = 1;
	for (const struct campaign_column *k = campaign_run_columns; k->name;
	     k++, i++) {
		if (k->src == CSRC_ROW)
			campaign_bind_row(st, i, k->name, row);
		else if (sum)
			campaign_bind_figure(st, i, k, sum);
		else
			campaign_bind_asked(st, i, k->name, row);
	}
	for (unsigned p = 0; p < row->nparams; p++, i++) {
		const struct campaign_value *v = &row->values[p];
		switch (row->params[p].type) {
		case CAMPAIGN_INT:
			sqlite3_bind_int64(st, i, v->i);
			break;
		case CAMPAIGN_REAL:
			sqlite3_bind_double(st, i, v->r);
			break;
		case CAMPAIGN_TEXT:
			campaign_bind_text(st, i, v->text);
			break;
		}
	}
	ok = sqlite3_step(st) == SQLITE_DONE;
	sqlite3_finalize(st);
	return ok || campaign_fail(c, "cannot record the run", error);
}

static bool campaign_put_workloads(struct campaign *c, const char *key,
				   const struct json_value *sum,
				   GError **error)
{
	const struct json_value *wl = json_get(sum, "workloads");
	if (!wl || wl->type != JSON_OBJ)
		return true;
	GString *q = g_string_new("INSERT INTO workloads VALUES (");
	unsigned n = 0;
	for (const struct campaign_column *k = campaign_workload_columns;
	     k->name; k++)
		g_string_append(q, n++ ? ", ?" : "?");
	g_string_append(q, ")");
	sqlite3_stmt *st = NULL;
	bool ok = sqlite3_prepare_v2(c->db, q->str, -1, &st, NULL) ==
		  SQLITE_OK;
	g_string_free(q, TRUE);
	for (guint w = 0; ok && w < wl->keys->len; w++) {
		const struct json_value *obj = wl->items->pdata[w];
		int i = 1;
		for (const struct campaign_column *k =
			     campaign_workload_columns;
		     k->name; k++, i++) {
			if (!strcmp(k->name, "key"))
				campaign_bind_text(st, i, key);
			else if (!strcmp(k->name, "workload"))
				campaign_bind_text(st, i, wl->keys->pdata[w]);
			else
				campaign_bind_figure(st, i, k, obj);
		}
		ok = sqlite3_step(st) == SQLITE_DONE;
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return ok || campaign_fail(c, "cannot record the workloads", error);
}

static bool campaign_put_counters(struct campaign *c, const char *key,
				  const struct json_value *sum,
				  GError **error)
{
	const struct json_value *cn = json_get(sum, "counters");
	if (!cn || cn->type != JSON_OBJ)
		return true;
	sqlite3_stmt *st = NULL;
	bool ok = sqlite3_prepare_v2(c->db,
				     "INSERT INTO counters VALUES (?, ?, ?)",
				     -1, &st, NULL) == SQLITE_OK;
	for (guint k = 0; ok && k < cn->keys->len; k++) {
		const struct json_value *v = cn->items->pdata[k];
		if (v->type != JSON_NUM)
			continue;
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, cn->keys->pdata[k], -1,
				  SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, v->is_int ? v->i : llround(v->num));
		ok = sqlite3_step(st) == SQLITE_DONE;
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return ok || campaign_fail(c, "cannot record the counters", error);
}

bool campaign_put(struct campaign *c, const struct campaign_row *row,
		  GError **error)
{
	struct json_value *sum = NULL;
	if (row->summary) {
		sum = json_parse(row->summary, error);
		if (!sum)
			return false;
	}
	char *del = sqlite3_mprintf("DELETE FROM workloads WHERE key = %Q; "
				    "DELETE FROM counters WHERE key = %Q;",
				    row->key, row->key);
	bool ok = campaign_exec(c, "BEGIN IMMEDIATE", error) &&
		  campaign_exec(c, del, error) &&
		  campaign_put_run(c, row, sum, error) &&
		  (!sum || campaign_put_workloads(c, row->key, sum, error)) &&
		  (!sum || campaign_put_counters(c, row->key, sum, error)) &&
		  campaign_exec(c, "COMMIT", error);
	if (!ok)
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_free(del);
	json_value_free(sum);
	return ok;
}

GHashTable *campaign_done_keys(struct campaign *c, GError **error)
{
	GHashTable *h = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					      NULL);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(c->db,
			       "SELECT key FROM runs WHERE status = 'ok'", -1,
			       &st, NULL) != SQLITE_OK) {
		campaign_fail(c, "cannot read the runs", error);
		g_hash_table_destroy(h);
		return NULL;
	}
	while (sqlite3_step(st) == SQLITE_ROW)
		g_hash_table_add(h, g_strdup((const char *)
					     sqlite3_column_text(st, 0)));
	sqlite3_finalize(st);
	return h;
}

int64_t campaign_count(struct campaign *c, bool ok_only)
{
	sqlite3_stmt *st = NULL;
	int64_t n = -1;
	if (sqlite3_prepare_v2(c->db,
			       ok_only ? "SELECT COUNT(*) FROM runs WHERE "
					 "status = 'ok'"
				       : "SELECT COUNT(*) FROM runs",
			       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* ---- merge ---- */

/* "VERSION COMMIT" of every distinct build in main and src. */
static GPtrArray *campaign_builds(struct campaign *c)
{
	GPtrArray *v = g_ptr_array_new_with_free_func(g_free);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(
		    c->db,
		    "SELECT DISTINCT odpsim_version, source_commit FROM "
		    "(SELECT odpsim_version, source_commit FROM main.runs "
		    "UNION SELECT odpsim_version, source_commit FROM "
		    "src.runs) ORDER BY 1, 2",
		    -1, &st, NULL) == SQLITE_OK)
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *a = (const char *)sqlite3_column_text(st, 0);
			const char *b = (const char *)sqlite3_column_text(st, 1);
			g_ptr_array_add(v, g_strdup_printf(
						   "%s (%s)", a ? a : "?",
						   b && *b ? b : "no commit"));
		}
	sqlite3_finalize(st);
	return v;
}

static bool campaign_merge_params(struct campaign *c, GError **error)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(c->db,
			       "SELECT name, type, unit FROM src.params "
			       "ORDER BY ord", -1, &st, NULL) != SQLITE_OK)
		return campaign_fail(c, "cannot read the parameters", error);
	char **have = campaign_table_columns(c, "main", "runs");
	bool ok = true;
	while (ok && sqlite3_step(st) == SQLITE_ROW)
		ok = campaign_add_param_row(
			c, (const char *)sqlite3_column_text(st, 0),
			(const char *)sqlite3_column_text(st, 1),
			(const char *)sqlite3_column_text(st, 2), have, error);
	sqlite3_finalize(st);
	g_strfreev(have);
	return ok;
}

bool campaign_merge(struct campaign *c, const char *path, bool allow_mixed,
		    unsigned *added, GError **error)
{
	*added = 0;
	/* opening it checks that it is a campaign of this schema */
	struct campaign *src = campaign_open(path, false, error);
	if (!src)
		return false;
	campaign_close(src);
	char *q = sqlite3_mprintf("ATTACH DATABASE %Q AS src", path);
	bool ok = campaign_exec(c, q, error);
	sqlite3_free(q);
	if (!ok)
		return false;
	GPtrArray *builds = campaign_builds(c);
	if (builds->len > 1 && !allow_mixed) {
		g_ptr_array_add(builds, NULL);
		char *all = g_strjoinv(", ", (char **)builds->pdata);
		g_set_error(error, CAMPAIGN_ERROR, 0,
			    "%s: runs of more than one odpsim build would mix: "
			    "%s (--allow-mixed merges them anyway)", path, all);
		g_free(all);
		ok = false;
	}
	g_ptr_array_free(builds, TRUE);
	ok = ok && campaign_exec(c, "BEGIN IMMEDIATE", error) &&
	     campaign_merge_params(c, error);
	char **cols = ok ? campaign_table_columns(c, "src", "runs") : NULL;
	if (ok) {
		GString *s = g_string_new(
			"CREATE TEMP TABLE take AS SELECT s.key FROM src.runs "
			"s LEFT JOIN main.runs m ON m.key = s.key WHERE "
			"m.key IS NULL OR (m.status != 'ok' AND "
			"(s.status = 'ok' OR s.finished_at > m.finished_at));\n"
			"DELETE FROM main.workloads WHERE key IN (SELECT key "
			"FROM take);\n"
			"DELETE FROM main.counters WHERE key IN (SELECT key "
			"FROM take);\n"
			"INSERT OR REPLACE INTO main.runs (");
		GString *list = g_string_new(NULL);
		for (char **p = cols; *p; p++) {
			if (list->len)
				g_string_append(list, ", ");
			campaign_ident(list, *p);
		}
		g_string_append_printf(
			s, "%s) SELECT %s FROM src.runs WHERE key IN (SELECT "
			   "key FROM take);\n"
			   "INSERT INTO main.workloads SELECT * FROM "
			   "src.workloads WHERE key IN (SELECT key FROM "
			   "take);\n"
			   "INSERT INTO main.counters SELECT * FROM "
			   "src.counters WHERE key IN (SELECT key FROM "
			   "take);\n"
			   "INSERT OR IGNORE INTO main.meta SELECT * FROM "
			   "src.meta;\n",
			list->str, list->str);
		ok = campaign_exec(c, s->str, error);
		g_string_free(s, TRUE);
		g_string_free(list, TRUE);
	}
	if (ok) {
		sqlite3_stmt *st = NULL;
		if (sqlite3_prepare_v2(c->db, "SELECT COUNT(*) FROM take", -1,
				       &st, NULL) == SQLITE_OK &&
		    sqlite3_step(st) == SQLITE_ROW)
			*added = (unsigned)sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		ok = campaign_exec(c, "DROP TABLE take; COMMIT", error);
	}
	if (!ok)
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	g_strfreev(cols);
	sqlite3_exec(c->db, "DETACH DATABASE src", NULL, NULL, NULL);
	return ok;
}

/* ---- export ---- */

static void campaign_csv_cell(GString *s, sqlite3_stmt *st, int i)
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_NULL:
		return;
	case SQLITE_INTEGER:
		g_string_append_printf(s, "%lld",
				       (long long)sqlite3_column_int64(st, i));
		return;
	case SQLITE_FLOAT: {
		/* the shortest text that reads back as the same double */
		double v = sqlite3_column_double(st, i);
		char buf[G_ASCII_DTOSTR_BUF_SIZE];
		for (int p = 15; p <= 17; p++) {
			char fmt[8];
			g_snprintf(fmt, sizeof(fmt), "%%.%dg", p);
			g_ascii_formatd(buf, sizeof(buf), fmt, v);
			if (g_ascii_strtod(buf, NULL) == v)
				break;
		}
		g_string_append(s, buf);
		return;
	}
	default: {
		const char *t = (const char *)sqlite3_column_text(st, i);
		/* RFC 4180: quote a field with a comma, quote or newline */
		if (!strpbrk(t, ",\"\r\n")) {
			g_string_append(s, t);
			return;
		}
		g_string_append_c(s, '"');
		for (const char *p = t; *p; p++) {
			if (*p == '"')
				g_string_append_c(s, '"');
			g_string_append_c(s, *p);
		}
		g_string_append_c(s, '"');
	}
	}
}

bool campaign_export_csv(struct campaign *c, const char *dir,
			 GError **error)
{
	/* key, point, status, the grid parameters, then the rest */
	char **cols = campaign_table_columns(c, "main", "runs");
	GPtrArray *order = g_ptr_array_new();
	for (unsigned i = 0; i < 3; i++)
		g_ptr_array_add(order, (char *)campaign_run_columns[i].name);
	sqlite3_stmt *pst = NULL;
	GPtrArray *pnames = g_ptr_array_new_with_free_func(g_free);
	if (sqlite3_prepare_v2(c->db, "SELECT name FROM params ORDER BY ord",
			       -1, &pst, NULL) == SQLITE_OK)
		while (sqlite3_step(pst) == SQLITE_ROW)
			g_ptr_array_add(pnames,
					g_strdup((const char *)
						 sqlite3_column_text(pst, 0)));
	sqlite3_finalize(pst);
	for (guint i = 0; i < pnames->len; i++)
		if (campaign_has(cols, pnames->pdata[i]))
			g_ptr_array_add(order, pnames->pdata[i]);
	for (char **p = cols; *p; p++) {
		bool seen = false;
		for (guint i = 0; i < order->len && !seen; i++)
			seen = !strcmp(order->pdata[i], *p);
		if (!seen)
			g_ptr_array_add(order, *p);
	}
	g_ptr_array_add(order, NULL);
	char **rc = (char **)order->pdata;
	GString *sel = g_string_new("SELECT ");
	GString *head = g_string_new(NULL);
	GPtrArray *names = g_ptr_array_new();
	GPtrArray *tables = g_ptr_array_new(); /* each name's table */
	for (char **p = rc; *p; p++) {
		if (!strcmp(*p, "summary"))
			continue;
		g_string_append(sel, "r.");
		campaign_ident(sel, *p);
		g_string_append(sel, ", ");
		g_ptr_array_add(names, *p);
		g_ptr_array_add(tables, "runs");
	}
	for (const struct campaign_column *k = campaign_workload_columns;
	     k->name; k++) {
		if (!strcmp(k->name, "key"))
			continue;
		g_string_append(sel, "w.");
		campaign_ident(sel, k->name);
		g_string_append(sel, ", ");
		g_ptr_array_add(names, (char *)k->name);
		g_ptr_array_add(tables, "workloads");
	}
	g_string_truncate(sel, sel->len - 2);
	g_string_append(sel, " FROM runs r LEFT JOIN workloads w ON w.key = "
			     "r.key ORDER BY r.point, r.key, w.workload");
	/* the dtypes, from the columns table (one declaration) */
	GString *dt = g_string_new("{\n");
	for (guint i = 0; i < names->len; i++) {
		const char *n = names->pdata[i];
		sqlite3_stmt *st = NULL;
		const char *pd = "string";
		char *pd_own = NULL;
		if (sqlite3_prepare_v2(c->db,
				       "SELECT pandas FROM columns WHERE tbl = "
				       "? AND name = ?",
				       -1, &st, NULL) == SQLITE_OK) {
			sqlite3_bind_text(st, 1, tables->pdata[i], -1,
					  SQLITE_STATIC);
			sqlite3_bind_text(st, 2, n, -1, SQLITE_STATIC);
			if (sqlite3_step(st) == SQLITE_ROW)
				pd = pd_own = g_strdup((const char *)
						       sqlite3_column_text(st,
									   0));
		}
		sqlite3_finalize(st);
		GString *j = g_string_new(NULL);
		json_escape(j, n);
		g_string_append_printf(dt, "  %s: \"%s\"%s\n", j->str, pd,
				       i + 1 < names->len ? "," : "");
		g_string_free(j, TRUE);
		g_free(pd_own);
		if (i)
			g_string_append_c(head, ',');
		g_string_append(head, n);
	}
	g_string_append(dt, "}\n");
	g_string_append_c(head, '\n');
	sqlite3_stmt *st = NULL;
	bool ok = sqlite3_prepare_v2(c->db, sel->str, -1, &st, NULL) ==
		  SQLITE_OK;
	if (!ok)
		campaign_fail(c, "cannot read the runs", error);
	while (ok) {
		int r = sqlite3_step(st);
		if (r == SQLITE_DONE)
			break;
		if (r != SQLITE_ROW) {
			ok = campaign_fail(c, "cannot read the runs", error);
			break;
		}
		for (int i = 0; i < sqlite3_column_count(st); i++) {
			if (i)
				g_string_append_c(head, ',');
			campaign_csv_cell(head, st, i);
		}
		g_string_append_c(head, '\n');
	}
	sqlite3_finalize(st);
	char *csv = g_build_filename(dir, "results.csv", NULL);
	char *dts = g_build_filename(dir, "results.dtypes.json", NULL);
	ok = ok && outfile_write_file(csv, head->str, head->len, error) &&
	     outfile_write_file(dts, dt->str, dt->len, error);
	g_free(csv);
	g_free(dts);
	g_string_free(sel, TRUE);
	g_string_free(head, TRUE);
	g_string_free(dt, TRUE);
	g_ptr_array_free(names, TRUE);
	g_ptr_array_free(tables, TRUE);
	g_ptr_array_free(order, TRUE);
	g_ptr_array_free(pnames, TRUE);
	g_strfreev(cols);
	return ok;
}

void campaign_print_columns(FILE *out)
{
	const struct {
		const char *tbl;
		const struct campaign_column *cols;
	} t[] = { { "runs", campaign_run_columns },
		  { "workloads", campaign_workload_columns } };
	for (unsigned i = 0; i < G_N_ELEMENTS(t); i++) {
		fprintf(out, "table %s%s\n", t[i].tbl,
			i == 0 ? " (and one column per grid parameter, named "
				 "as --set spells the key: INTEGER in ps, B, "
				 "bit/s or Hz when every value has such a "
				 "unit, REAL for plain numbers, else TEXT)"
			       : " (one row per run and workload)");
		for (const struct campaign_column *k = t[i].cols; k->name;
		     k++)
			fprintf(out, "  %-26s %-7s %-7s %-10s %s\n", k->name,
				campaign_sql_type(k->type),
				campaign_pandas_type(k->type),
				*k->unit ? k->unit : "-", k->meaning);
		fputc('\n', out);
	}
	fprintf(out, "table counters: key, name, value (every counter of "
		     "every run)\n"
		     "results.csv (odpsim sweep --export csv DIR): the runs "
		     "columns but summary, then\nthe workloads columns but "
		     "key; pandas: pd.read_csv(\"DIR/results.csv\", "
		     "dtype=json.load(\nopen(\"DIR/results.dtypes.json\"))) "
		     "reads integers as Int64.\n");
}
