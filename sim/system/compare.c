/*
 * sim/system/compare.c - `odpsim compare` (see compare.h).
 *
 * Each run is a forked child (sim/system/runpool.c, which says why fork):
 * its results are those of `odpsim run --policy P`, and a crash of one
 * policy ends one child, which is reported by the policy's name.
 *
 * The table is computed from the parsed summaries only, never from a live
 * system, so it reads the same whether the runs were parallel or not, and
 * figures are found by suffix: "nic.page_faults" sums every counter named
 * HOST.nic.page_faults, so new hosts and new counters need no code here.
 * A figure a run lacks prints as "-".
 */
#include "sim/system/compare.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sim/config.h"
#include "sim/json.h"
#include "sim/outfile.h"
#include "sim/system/figures.h"
#include "sim/system/migrate.h"
#include "sim/system/progress.h"
#include "sim/system/summary.h"
#include "sim/system/runpool.h"
#include "sim/system/system.h"

enum { EXIT_OK = 0, EXIT_IO = 1, EXIT_CONFIG = 2, EXIT_ORACLE = 3,
       EXIT_WARNING = 4 };

G_DEFINE_QUARK(odpsim-compare-error-quark, compare_error)

/* ---- options and validation ---- */

/* A comma-separated list of distinct names from @known, given to
 * --@option (naming each a @what). */
static char **compare_parse_list(const char *list,
				 const char *const *known, const char *option,
				 const char *what, GError **error)
{
	char **v = g_strsplit(list, ",", -1);
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	for (char **p = v; *p; p++) {
		char *name = g_strstrip(*p);
		bool ok = false;
		for (const char *const *k = known; *k; k++)
			ok = ok || !strcmp(*k, name);
		if (!ok) {
			char *all = g_strjoinv(", ", (char **)known);
			const char *near = *name ? config_nearest(name, known)
						 : NULL;
			if (near)
				g_set_error(error, CONFIG_ERROR, 0,
					    "--%s %s: unknown %s '%s' "
					    "(did you mean '%s'?); known: %s",
					    option, list, what, name, near,
					    all);
			else
				g_set_error(error, CONFIG_ERROR, 0,
					    "--%s %s: unknown %s '%s'; "
					    "known: %s", option, list, what,
					    name, all);
			g_free(all);
			goto fail;
		}
		for (guint i = 0; i < out->len; i++)
			if (!strcmp(out->pdata[i], name)) {
				g_set_error(error, CONFIG_ERROR, 0,
					    "--%s %s: %s '%s' given twice",
					    option, list, what, name);
				goto fail;
			}
		g_ptr_array_add(out, g_strdup(name));
	}
	if (!out->len) {
		g_set_error(error, CONFIG_ERROR, 0,
			    "--%s '%s': no %s given", option, list, what);
		goto fail;
	}
	g_strfreev(v);
	g_ptr_array_add(out, NULL);
	return (char **)g_ptr_array_free(out, FALSE);
fail:
	g_strfreev(v);
	g_ptr_array_free(out, TRUE);
	return NULL;
}

char **compare_parse_policies(const char *list, GError **error)
{
	return compare_parse_list(list, system_policy_names(), "policy",
				  "policy", error);
}

char **compare_parse_migrations(const char *list, GError **error)
{
	return compare_parse_list(list, migration_policy_names, "migration",
				  "migration policy", error);
}

static void compare_run_options(const struct compare_options *o,
				const char *policy, const char *out_dir,
				struct run_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	if (o->migration)
		opt->migration = policy;
	else
		opt->policy = policy;
	opt->have_seed = o->have_seed;
	opt->seed = o->seed;
	opt->duration = o->duration;
	opt->sets = o->sets;
	opt->out_dir = out_dir;
}

bool compare_validate(const struct compare_options *o, bool *io_error,
		      GError **error)
{
	*io_error = false;
	for (unsigned i = 0; o->policies[i]; i++) {
		struct run_options opt;
		compare_run_options(o, o->policies[i], NULL, &opt);
		GError *e = NULL;
		struct system *sys = system_build(o->scenario, &opt, io_error,
						  &e);
		if (!sys) {
			/* a scenario that builds under an earlier policy and
			 * not under this one: say which */
			if (i > 0 && !*io_error) {
				g_set_error(error, e->domain, e->code,
					    "%s (under --%s %s)", e->message,
					    o->migration ? "migration"
							 : "policy",
					    o->policies[i]);
				g_error_free(e);
			} else {
				g_propagate_error(error, e);
			}
			return false;
		}
		system_free(sys);
	}
	/* the directory and compare.json, before any run */
	if (o->out_dir) {
		char *path = g_build_filename(o->out_dir, "compare.json", NULL);
		bool ok = true;
		if (g_file_test(o->out_dir, G_FILE_TEST_EXISTS) &&
		    !g_file_test(o->out_dir, G_FILE_TEST_IS_DIR)) {
			g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOTDIR,
				    "%s: cannot create output directory: it "
				    "exists and is not a directory", o->out_dir);
			ok = false;
		} else {
			ok = outfile_check_target(path, error);
		}
		g_free(path);
		if (!ok) {
			*io_error = true;
			return false;
		}
	}
	return true;
}

void compare_warn_fixed_policies(const struct compare_options *o, FILE *out)
{
	if (o->migration)
		return; /* the registration policy is the scenario's */
	struct scenario *sc = scenario_load(o->scenario, NULL);
	for (char **a = o->sets; sc && a && *a; a++)
		scenario_set(sc, *a, NULL, NULL);
	const char *const *names = sc ? scenario_names(sc, "workload") : NULL;
	static const char *const keys[] = { "policy", "server_policy" };
	for (unsigned i = 0; names && names[i]; i++)
		for (unsigned k = 0; k < G_N_ELEMENTS(keys); k++) {
			const char *p = scenario_get(sc, "workload", names[i],
						     keys[k]);
			if (p && *p)
				fprintf(out,
					"odpsim: compare: warning: [workload "
					"%s] %s = %s is not overridden: %s "
					"use %s in every run\n",
					names[i], keys[k], p,
					k ? "its server's MR" : "its MRs", p);
		}
	scenario_free(sc);
}

/* ---- running: one forked child per policy (sim/system/runpool.c) ---- */

struct compare_pool {
	const struct compare_options *o;
	struct compare_result *r;
	char **dirs;     /* per policy: DIR/POLICY, or NULL */
	GString *failed;
	/* the progress line: each child writes its simulated time and its
	 * duration into its two cells of a shared mapping */
	struct progress prog;
	volatile uint64_t *cells;
	bool *finished, *not_run;
};

static void compare_job(void *ctx, unsigned idx, struct runpool_job *job)
{
	struct compare_pool *cp = ctx;
	const char *policy = cp->o->policies[idx];
	compare_run_options(cp->o, policy, cp->dirs[idx], &job->opt);
	job->scenario = cp->o->scenario;
	job->label = policy;
	if (cp->cells)
		job->opt.progress_cell = &cp->cells[2 * idx];
}

/* The share of simulated time done over all runs. */
static void compare_tick(void *ctx)
{
	struct compare_pool *cp = ctx;
	if (!progress_due(&cp->prog))
		return;
	unsigned n = cp->r->n, done = 0, running = 0;
	double f = 0;
	for (unsigned i = 0; i < n; i++) {
		uint64_t now = cp->cells[2 * i], dur = cp->cells[2 * i + 1];
		if (cp->finished[i]) {
			f += 1;
			done++;
		} else if (dur) {
			f += (double)MIN(now, dur) / (double)dur;
			running++;
		}
	}
	char detail[96];
	g_snprintf(detail, sizeof(detail), "%u of %u runs done, %u running",
		   done, n, running);
	progress_show(&cp->prog, n ? f / n : 1, detail);
}

static void compare_done(void *ctx, unsigned idx,
			 const struct runpool_result *res)
{
	struct compare_pool *cp = ctx;
	struct compare_result *r = cp->r;
	cp->finished[idx] = true;
	if (res->status == -1 && !g_strcmp0(res->failure, RUNPOOL_NOT_RUN)) {
		cp->not_run[idx] = true; /* interrupted before it started */
		return;
	}
	char *why = res->failure ? g_strdup(res->failure) : NULL;
	if (!why) {
		GError *e = NULL;
		r->summary[idx] = json_parse(res->summary, &e);
		if (r->summary[idx])
			r->json[idx] = g_strdup(res->summary);
		else {
			why = g_strdup_printf("summary is not JSON: %s",
					      e->message);
			g_error_free(e);
		}
	}
	if (why)
		g_string_append_printf(cp->failed, "%spolicy %s: run %s",
				       cp->failed->len ? "; " : "",
				       cp->o->policies[idx], why);
	g_free(why);
}

/* An interrupted comparison keeps the runs that sent a summary (stopped
 * early, marked interrupted, or finished), in their order; the policies
 * never started are listed apart. */
static void compare_keep_summaries(struct compare_result *r,
				   const bool *not_run)
{
	GPtrArray *gone = g_ptr_array_new();
	unsigned k = 0;
	for (unsigned i = 0; i < r->n; i++) {
		if (!r->summary[i]) {
			if (not_run[i])
				g_ptr_array_add(gone, g_strdup(r->policies[i]));
			g_free(r->policies[i]);
			continue;
		}
		r->policies[k] = r->policies[i];
		r->summary[k] = r->summary[i];
		r->json[k] = r->json[i];
		k++;
	}
	for (unsigned i = k; i < r->n; i++)
		r->policies[i] = r->json[i] = NULL, r->summary[i] = NULL;
	r->n = k;
	g_ptr_array_add(gone, NULL);
	r->not_run = (char **)g_ptr_array_free(gone, FALSE);
}

void compare_result_free(struct compare_result *r)
{
	if (!r)
		return;
	g_strfreev(r->not_run);
	for (unsigned i = 0; i < r->n; i++) {
		g_free(r->json[i]);
		json_value_free(r->summary[i]);
	}
	g_free(r->json);
	g_free(r->summary);
	g_strfreev(r->policies);
	g_free(r);
}

struct compare_result *compare_run(const struct compare_options *o,
				   GError **error)
{
	struct compare_result *r = g_new0(struct compare_result, 1);
	r->n = g_strv_length(o->policies);
	r->policies = g_strdupv(o->policies);
	r->json = g_new0(char *, r->n + 1);
	r->summary = g_new0(struct json_value *, r->n + 1);
	if (o->out_dir && g_mkdir_with_parents(o->out_dir, 0755) != 0) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "%s: cannot create output directory: %s",
			    o->out_dir, strerror(errno));
		compare_result_free(r);
		return NULL;
	}
	struct compare_pool cp = { .o = o, .r = r,
				   .dirs = g_new0(char *, r->n + 1),
				   .failed = g_string_new(NULL) };
	for (unsigned i = 0; o->out_dir && i < r->n; i++)
		cp.dirs[i] = g_build_filename(o->out_dir, o->policies[i], NULL);
	cp.finished = g_new0(bool, r->n);
	cp.not_run = g_new0(bool, r->n);
	progress_init(&cp.prog, o->progress, o->progress_tty);
	size_t map_len = 2 * sizeof(uint64_t) * MAX(r->n, 1u);
	if (o->progress) {
		void *m = mmap(NULL, map_len, PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		cp.cells = m == MAP_FAILED ? NULL : m; /* no line, then */
	}
	struct runpool_spec spec = {
		.n = r->n, .jobs = o->jobs, .prefix = "compare",
		.job = compare_job, .done = compare_done, .ctx = &cp,
		.tick = cp.cells ? compare_tick : NULL,
		.stop_on_signal = true,
	};
	GError *e = NULL;
	if (!runpool_run(&spec, &e)) {
		/* the runs already going were collected: start no more */
		g_string_append_printf(cp.failed, "%s%s",
				       cp.failed->len ? "; " : "", e->message);
		g_error_free(e);
	}
	progress_clear(&cp.prog);
	if (cp.cells)
		munmap((void *)cp.cells, map_len);
	g_strfreev(cp.dirs);
	r->interrupted = progress_signal();
	if (r->interrupted && !cp.failed->len)
		compare_keep_summaries(r, cp.not_run);
	g_free(cp.finished);
	g_free(cp.not_run);
	if (cp.failed->len) {
		g_set_error(error, COMPARE_ERROR, 0, "compare: %s",
			    cp.failed->str);
		g_string_free(cp.failed, TRUE);
		compare_result_free(r);
		return NULL;
	}
	g_string_free(cp.failed, TRUE);
	if (o->out_dir) {
		char *path = g_build_filename(o->out_dir, "compare.json", NULL);
		char *text = compare_json(r);
		bool ok = outfile_write_file(path, text, strlen(text), error);
		g_free(text);
		g_free(path);
		if (!ok) {
			compare_result_free(r);
			return NULL;
		}
	}
	return r;
}

char *compare_json(const struct compare_result *r)
{
	GString *s = g_string_new("[\n");
	for (unsigned i = 0; i < r->n; i++)
		g_string_append_printf(s, "%s%s", r->json[i],
				       i + 1 < r->n ? ",\n" : "\n");
	g_string_append(s, "]\n");
	return g_string_free(s, FALSE);
}

/* ---- the table ---- */

enum compare_fig {
	FIG_GROUP,      /* a heading */
	FIG_COUNTER,    /* sum over hosts of the counters HOST.suffix */
	FIG_FIGURES_HIST_MAX,   /* largest max of the histograms HOST.suffix_UNIT */
	FIG_FIGURES_HIST_TOTAL, /* sum of count x mean of the same */
};

struct compare_row {
	enum compare_fig fig;
	const char *label;
	const char *suffix;
	double unit_s;  /* histogram rows: seconds per printed unit */
	bool optional;  /* histogram rows: omit when no run has one */
};

/* The fixed part of the table, after the per-workload groups. */
static const struct compare_row compare_rows[] = {
	{ FIG_GROUP, "memory at end (pages, all hosts)", NULL, 0, false },
	{ FIG_COUNTER, "pinned", "vmm.pinned_pages", 0, false },
	{ FIG_COUNTER, "committed", "vmm.committed_pages", 0, false },
	{ FIG_COUNTER, "resident", "vmm.resident_pages", 0, false },
	{ FIG_GROUP, "NIC (all hosts)", NULL, 0, false },
	{ FIG_COUNTER, "page faults", "nic.page_faults", 0, false },
	{ FIG_COUNTER, "RNR NAKs sent", "nic.rnr_naks_sent", 0, false },
	{ FIG_COUNTER, "QP stalls", "nic.qp_stalls", 0, false },
	/* no QP stall time: nic.qp_stall_ns records only the stalls that end
	 * in nic_qp_resume() from REQ_STALLED, far fewer than qp_stalls */
	{ FIG_COUNTER, "page invalidations", "nic.page_invalidations", 0,
	  false },
	{ FIG_FIGURES_HIST_TOTAL, "suspend time ms (total)", "nic.suspend", 1e-3,
	  true },
	{ FIG_FIGURES_HIST_MAX, "suspend time us (max)", "nic.suspend", 1e-6, true },
	{ FIG_COUNTER, "retransmitted packets", "nic.retransmitted_packets",
	  0, false },
	{ FIG_GROUP, "VMM (all hosts)", NULL, 0, false },
	{ FIG_COUNTER, "page moves", "vmm.moves", 0, false },
	{ FIG_COUNTER, "moves failed", "vmm.move_failed", 0, false },
	{ FIG_COUNTER, "moves failed (pinned)", "vmm.move_failed_pinned", 0,
	  false },
	{ FIG_COUNTER, "reclaimed pages", "vmm.reclaim.pages", 0, false },
	{ FIG_COUNTER, "reclaim skipped (pinned)", "vmm.reclaim.skipped_pinned",
	  0, false },
	{ FIG_COUNTER, "reclaim skipped (committed)",
	  "vmm.reclaim.skipped_committed", 0, false },
	{ FIG_COUNTER, "major faults", "vmm.faults.major", 0, false },
};

/* One printed line: a heading (no cells) or a label and one cell per run. */
struct compare_line {
	char *label;
	char **cells; /* NULL for a heading */
};

static void compare_line_free(struct compare_line *l)
{
	g_free(l->label);
	g_strfreev(l->cells);
	g_free(l);
}

static void compare_heading(GPtrArray *lines, char *label)
{
	struct compare_line *l = g_new0(struct compare_line, 1);
	l->label = label;
	g_ptr_array_add(lines, l);
}

static char **compare_cells_new(unsigned n)
{
	return g_new0(char *, n + 1);
}

static void compare_add(GPtrArray *lines, const char *label, char **cells)
{
	struct compare_line *l = g_new0(struct compare_line, 1);
	l->label = g_strdup_printf("  %s", label);
	l->cells = cells;
	g_ptr_array_add(lines, l);
}

/* Workload names in the order they first appear across the runs. */
static GPtrArray *compare_workload_names(const struct compare_result *r)
{
	GPtrArray *names = g_ptr_array_new();
	for (unsigned i = 0; i < r->n; i++) {
		const struct json_value *w = json_get(r->summary[i],
						      "workloads");
		for (guint k = 0; w && w->type == JSON_OBJ && k < w->keys->len;
		     k++) {
			bool seen = false;
			for (guint j = 0; j < names->len; j++)
				seen = seen || !strcmp(names->pdata[j],
						       w->keys->pdata[k]);
			if (!seen)
				g_ptr_array_add(names, w->keys->pdata[k]);
		}
	}
	return names;
}

static void compare_workload_rows(const struct compare_result *r,
				  const char *name, GPtrArray *lines)
{
	static const struct {
		const char *label, *path, *fmt;
		bool latency;
	} f[] = {
		{ "completed", "completed", "%.0f", false },
		{ "bandwidth Gb/s", "bw_gbps", "%.3f", false },
		{ "peak Gb/s (perftest)", "bw_peak_gbps", "%.3f", false },
		{ "message rate Mpps", "msg_rate_mpps", "%.4f", false },
		{ "latency avg us", "lat_ns.avg", "%.2f", true },
		{ "latency stdev us", "lat_ns.stdev", "%.2f", true },
		{ "latency p50 us", "lat_ns.p50", "%.2f", true },
		{ "latency p99 us", "lat_ns.p99", "%.2f", true },
		{ "latency p99.9 us", "lat_ns.p999", "%.2f", true },
		{ "latency max us", "lat_ns.max", "%.2f", true },
		{ "longest stall ms", "longest_stall_ps", "%.3f", false },
	};
	const char *type = NULL;
	for (unsigned i = 0; i < r->n && !type; i++) {
		const struct json_value *t = json_path(
			json_get(json_get(r->summary[i], "workloads"), name),
			"type");
		type = t && t->type == JSON_STR ? t->str : NULL;
	}
	compare_heading(lines, g_strdup_printf("workload %s%s%s%s", name,
					       type ? " (" : "",
					       type ? type : "",
					       type ? ")" : ""));
	for (unsigned k = 0; k < G_N_ELEMENTS(f); k++) {
		char **cells = compare_cells_new(r->n);
		for (unsigned i = 0; i < r->n; i++) {
			const struct json_value *w = json_get(
				json_get(r->summary[i], "workloads"), name);
			const struct json_value *v = json_path(w, f[k].path);
			/* an absent figure (no sample, no completion) is
			 * null */
			double x = figures_num(v) /
				   (f[k].latency ? 1e3
				    : g_str_has_suffix(f[k].path, "_ps") ? 1e9
									 : 1);
			if (!v || v->type != JSON_NUM)
				cells[i] = g_strdup("-");
			else if (g_str_has_prefix(f[k].path, "bw_") && x > 0 &&
				 x < 0.1)
				/* a small rate keeps its digits (perftest
				 * prints 6 decimals below 0.1 Gb/s) */
				cells[i] = g_strdup_printf("%.6f", x);
			else
				cells[i] = g_strdup_printf(f[k].fmt, x);
		}
		compare_add(lines, f[k].label, cells);
	}
}

/* The cells of one fixed row, or NULL when an optional row has no data. */
static char **compare_fixed_cells(const struct compare_result *r,
				  const struct compare_row *row)
{
	char **cells = compare_cells_new(r->n);
	bool any = false;
	for (unsigned i = 0; i < r->n; i++) {
		const struct json_value *run = r->summary[i];
		uint64_t u;
		double s;
		switch (row->fig) {
		case FIG_COUNTER:
			if (figures_counter_sum(run, row->suffix, &u))
				cells[i] = g_strdup_printf(
					"%" G_GUINT64_FORMAT, u);
			break;
		case FIG_FIGURES_HIST_MAX:
		case FIG_FIGURES_HIST_TOTAL:
			if (figures_hist_fold(run, row->suffix,
					      row->fig == FIG_FIGURES_HIST_MAX
						      ? FIGURES_HIST_MAX
						      : FIGURES_HIST_TOTAL,
					      &s))
				cells[i] = g_strdup_printf("%.3f",
							   s / row->unit_s);
			break;
		case FIG_GROUP:
			g_assert_not_reached();
		}
		any = any || cells[i];
		if (!cells[i])
			cells[i] = g_strdup("-");
	}
	if (!any && row->optional) {
		g_strfreev(cells);
		return NULL;
	}
	return cells;
}

/* One row per kind of violation the oracle counts (lost_writes, ...), in
 * the order the summaries list them. */
static void compare_oracle_rows(const struct compare_result *r,
				GPtrArray *lines)
{
	GPtrArray *keys = g_ptr_array_new();
	for (unsigned i = 0; i < r->n; i++) {
		const struct json_value *o = json_get(r->summary[i], "oracle");
		for (guint k = 0; o && o->type == JSON_OBJ && k < o->keys->len;
		     k++) {
			bool seen = false;
			for (guint j = 0; j < keys->len; j++)
				seen = seen || !strcmp(keys->pdata[j],
						       o->keys->pdata[k]);
			if (!seen)
				g_ptr_array_add(keys, o->keys->pdata[k]);
		}
	}
	for (guint k = 0; k < keys->len; k++) {
		char **cells = compare_cells_new(r->n);
		for (unsigned i = 0; i < r->n; i++) {
			const struct json_value *v = json_get(
				json_get(r->summary[i], "oracle"),
				keys->pdata[k]);
			cells[i] = v && v->type == JSON_NUM
					   ? g_strdup_printf(
						     "%" G_GUINT64_FORMAT,
						     (uint64_t)figures_num(v))
					   : g_strdup("-");
		}
		char *label = g_strdup(keys->pdata[k]);
		g_strdelimit(label, "_", ' ');
		compare_add(lines, label, cells);
		g_free(label);
	}
	g_ptr_array_free(keys, TRUE);
}

/* One cell per run: the value at @key (a json_path, "migration.rounds"),
 * a string as it is, a number through @fmt times @scale, else "-". */
static char **compare_string_cells(const struct compare_result *r,
				   const char *key, const char *fmt,
				   double scale)
{
	char **cells = compare_cells_new(r->n);
	for (unsigned i = 0; i < r->n; i++) {
		const struct json_value *v = json_path(r->summary[i], key);
		if (v && v->type == JSON_STR)
			cells[i] = g_strdup(v->str);
		else if (v && v->type == JSON_BOOL)
			cells[i] = g_strdup(v->b ? "yes" : "no");
		else if (v && v->type == JSON_NUM && fmt)
			cells[i] = g_strdup_printf(fmt,
						   figures_num(v) * scale);
		else
			cells[i] = g_strdup("-");
	}
	return cells;
}

/* Every MR a run registered, in the order they first appear: workload
 * name and index in its registrations array, and a label. */
struct compare_mr {
	char *workload;
	guint idx;
	char *label; /* "bw server MR on b" */
};

static void compare_mr_free(struct compare_mr *m)
{
	g_free(m->workload);
	g_free(m->label);
	g_free(m);
}

static GPtrArray *compare_mrs(const struct compare_result *r)
{
	GPtrArray *v = g_ptr_array_new_with_free_func(
		(GDestroyNotify)compare_mr_free);
	for (unsigned i = 0; i < r->n; i++) {
		const struct json_value *wls = json_get(r->summary[i],
							"workloads");
		for (guint k = 0; wls && wls->type == JSON_OBJ &&
				  k < wls->keys->len; k++) {
			const char *wname = wls->keys->pdata[k];
			const struct json_value *regs =
				json_get(wls->items->pdata[k], "registrations");
			for (guint j = 0; regs && regs->type == JSON_ARR &&
					  j < regs->items->len; j++) {
				bool seen = false;
				for (guint x = 0; x < v->len && !seen; x++) {
					const struct compare_mr *m = v->pdata[x];
					seen = !strcmp(m->workload, wname) &&
					       m->idx == j;
				}
				if (seen)
					continue;
				const struct json_value *g = regs->items->pdata[j];
				const struct json_value *side = json_get(g, "side");
				const struct json_value *host = json_get(g, "host");
				struct compare_mr *m = g_new0(struct compare_mr, 1);
				m->workload = g_strdup(wname);
				m->idx = j;
				m->label = g_strdup_printf(
					"%s %s MR on %s", wname,
					side && side->type == JSON_STR ? side->str : "?",
					host && host->type == JSON_STR ? host->str : "?");
				g_ptr_array_add(v, m);
			}
		}
	}
	return v;
}

/* That MR's registration object in run @i, or NULL. */
static const struct json_value *compare_mr_get(const struct compare_result *r,
					       unsigned i,
					       const struct compare_mr *m)
{
	const struct json_value *regs = json_get(
		json_get(json_get(r->summary[i], "workloads"), m->workload),
		"registrations");
	return regs && regs->type == JSON_ARR && m->idx < regs->items->len
		       ? regs->items->pdata[m->idx]
		       : NULL;
}

/* One row per MR a workload registered: the time it took in ms,
 * "unfinished" when it had not ended by the end of the run, "failed",
 * "not started". */
static void compare_registration_rows(const struct compare_result *r,
				      GPtrArray *lines)
{
	GPtrArray *mrs = compare_mrs(r);
	if (mrs->len)
		compare_heading(lines, g_strdup("registration"));
	for (guint x = 0; x < mrs->len; x++) {
		const struct compare_mr *m = mrs->pdata[x];
		char **cells = compare_cells_new(r->n);
		for (unsigned i = 0; i < r->n; i++) {
			const struct json_value *g = compare_mr_get(r, i, m);
			const struct json_value *st = json_get(g, "state");
			const struct json_value *t = json_get(g, "time_ps");
			if (st && st->type == JSON_STR &&
			    !strcmp(st->str, "done") && t && t->type == JSON_NUM)
				cells[i] = g_strdup_printf(
					"%.3f", figures_num(t) / 1e9);
			else if (st && st->type == JSON_STR)
				cells[i] = g_strdup(st->str);
			else
				cells[i] = g_strdup("-");
		}
		char *label = g_strdup_printf("%s ms", m->label);
		compare_add(lines, label, cells);
		g_free(label);
	}
	g_ptr_array_free(mrs, TRUE);
}

/* Rows "LABEL KIND" with cells "now / peak" from each run's footprint
 * object (get() finds it in run i), for the kinds some run has. */
static void compare_fp_rows(const struct compare_result *r, GPtrArray *lines,
			    const char *label,
			    const struct json_value *(*get)(
				    const struct compare_result *, unsigned,
				    const void *),
			    const void *key)
{
	static const char *const kinds[] = { "resident", "pinned",
					     "committed", "swapped" };
	for (unsigned k = 0; k < G_N_ELEMENTS(kinds); k++) {
		char *peak = g_strdup_printf("%s_peak", kinds[k]);
		char **cells = compare_cells_new(r->n);
		bool any = false;
		for (unsigned i = 0; i < r->n; i++) {
			const struct json_value *fp = get(r, i, key);
			const struct json_value *now = json_get(fp, kinds[k]);
			const struct json_value *pk = json_get(fp, peak);
			if (now && now->type == JSON_NUM && pk &&
			    pk->type == JSON_NUM) {
				cells[i] = g_strdup_printf(
					"%.0f / %.0f", figures_num(now),
					figures_num(pk));
				any = any || figures_num(pk) > 0;
			} else {
				cells[i] = g_strdup("-");
			}
		}
		if (any) {
			char *l = g_strdup_printf("%s %s", label, kinds[k]);
			compare_add(lines, l, cells);
			g_free(l);
		} else {
			g_strfreev(cells);
		}
		g_free(peak);
	}
}

static const struct json_value *compare_mr_fp(const struct compare_result *r,
					      unsigned i, const void *key)
{
	return json_get(compare_mr_get(r, i, key), "footprint");
}

/* address_spaces element of run @i named @key ("HOST NAME") */
static const struct json_value *compare_space_fp(const struct compare_result *r,
						 unsigned i, const void *key)
{
	const struct json_value *v = json_get(r->summary[i], "address_spaces");
	for (guint k = 0; v && v->type == JSON_ARR && k < v->items->len; k++) {
		const struct json_value *s = v->items->pdata[k];
		const struct json_value *h = json_get(s, "host");
		const struct json_value *n = json_get(s, "name");
		if (!h || h->type != JSON_STR || !n || n->type != JSON_STR)
			continue;
		char *name = g_strdup_printf("%s %s", h->str, n->str);
		bool match = !strcmp(name, key);
		g_free(name);
		if (match)
			return json_get(s, "footprint");
	}
	return NULL;
}

/* Pages each MR and each address space held at the end and at the peak. */
static void compare_footprint_rows(const struct compare_result *r,
				   GPtrArray *lines)
{
	compare_heading(lines, g_strdup("memory per MR and address space "
					"(pages, end / peak)"));
	GPtrArray *mrs = compare_mrs(r);
	for (guint x = 0; x < mrs->len; x++) {
		const struct compare_mr *m = mrs->pdata[x];
		compare_fp_rows(r, lines, m->label, compare_mr_fp, m);
	}
	g_ptr_array_free(mrs, TRUE);
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	for (unsigned i = 0; i < r->n; i++) {
		const struct json_value *v = json_get(r->summary[i],
						      "address_spaces");
		for (guint k = 0; v && v->type == JSON_ARR && k < v->items->len;
		     k++) {
			const struct json_value *h = json_get(v->items->pdata[k],
							      "host");
			const struct json_value *n = json_get(v->items->pdata[k],
							      "name");
			if (!h || h->type != JSON_STR || !n || n->type != JSON_STR)
				continue;
			char *name = g_strdup_printf("%s %s", h->str, n->str);
			bool seen = false;
			for (guint j = 0; j < names->len && !seen; j++)
				seen = !strcmp(names->pdata[j], name);
			if (seen)
				g_free(name);
			else
				g_ptr_array_add(names, name);
		}
	}
	for (guint j = 0; j < names->len; j++) {
		char *label = g_strdup_printf("space %s",
					      (char *)names->pdata[j]);
		compare_fp_rows(r, lines, label, compare_space_fp,
				names->pdata[j]);
		g_free(label);
	}
	g_ptr_array_free(names, TRUE);
}

/* The "migration" object of the summaries, when a run has one. */
static void compare_migration_rows(const struct compare_result *r,
				   GPtrArray *lines)
{
	static const struct {
		const char *label, *key, *fmt;
		double scale;
	} f[] = {
		{ "total ms", "total_ps", "%.3f", 1e-9 },
		{ "downtime ms", "downtime_ps", "%.3f", 1e-9 },
		{ "stopped until resume ms", "stopped_to_resume_ps", "%.3f",
		  1e-9 },
		{ "quiesce ms", "quiesce_ps", "%.3f", 1e-9 },
		{ "sent MiB", "bytes", "%.2f", 1.0 / 1048576 },
		{ "rounds", "rounds", "%.0f", 1 },
		{ "pages sent", "pages_sent", "%.0f", 1 },
		{ "pages resent", "pages_resent", "%.0f", 1 },
		{ "pages while stopped", "pages_while_stopped", "%.0f", 1 },
		{ "pages pushed", "pages_pushed", "%.0f", 1 },
		{ "remote faults", "remote_faults", "%.0f", 1 },
		{ "NIC state bytes", "nic_state_bytes", "%.0f", 1 },
		{ "fell back to stop-copy", "fell_back_to_stop_copy", NULL, 0 },
		{ "downtime target missed", "downtime_target_missed", NULL, 0 },
		{ "state at end", "state", NULL, 0 },
	};
	bool any = false;
	for (unsigned i = 0; i < r->n; i++)
		any = any || json_get(r->summary[i], "migration");
	if (!any)
		return;
	compare_heading(lines, g_strdup("migration"));
	for (unsigned k = 0; k < G_N_ELEMENTS(f); k++) {
		char *path = g_strdup_printf("migration.%s", f[k].key);
		compare_add(lines, f[k].label,
			    compare_string_cells(r, path, f[k].fmt,
						 f[k].scale));
		g_free(path);
	}
	/* each peer in the freeze-to-served-again window */
	GPtrArray *names = g_ptr_array_new();
	for (unsigned i = 0; i < r->n; i++) {
		const struct json_value *p = json_path(r->summary[i],
						       "migration.peers");
		for (guint k = 0; p && p->type == JSON_ARR && k < p->items->len;
		     k++) {
			const struct json_value *n = json_get(p->items->pdata[k],
							      "workload");
			bool seen = !n || n->type != JSON_STR;
			for (guint j = 0; j < names->len && !seen; j++)
				seen = !strcmp(names->pdata[j], n->str);
			if (!seen)
				g_ptr_array_add(names, n->str);
		}
	}
	static const struct {
		const char *label, *key, *fmt;
		double scale;
	} pf[] = {
		{ "stall in window ms", "stall_ps", "%.3f", 1e-9 },
		{ "RNR NAKs in window", "rnr_naks_received_in_window", "%.0f",
		  1 },
	};
	for (guint j = 0; j < names->len; j++)
		for (unsigned k = 0; k < G_N_ELEMENTS(pf); k++) {
			char **cells = compare_cells_new(r->n);
			for (unsigned i = 0; i < r->n; i++) {
				const struct json_value *p = json_path(
					r->summary[i], "migration.peers");
				const struct json_value *v = NULL;
				for (guint x = 0; p && p->type == JSON_ARR &&
						  x < p->items->len; x++) {
					const struct json_value *e =
						p->items->pdata[x];
					const struct json_value *n =
						json_get(e, "workload");
					if (n && n->type == JSON_STR &&
					    !strcmp(n->str, names->pdata[j]))
						v = json_get(e, pf[k].key);
				}
				cells[i] = v && v->type == JSON_NUM
						   ? g_strdup_printf(
							     pf[k].fmt,
							     figures_num(v) *
								     pf[k].scale)
						   : g_strdup("-");
			}
			char *label = g_strdup_printf(
				"%s %s", (char *)names->pdata[j], pf[k].label);
			compare_add(lines, label, cells);
			g_free(label);
		}
	g_ptr_array_free(names, TRUE);
}

void compare_table(const struct compare_result *r, FILE *out)
{
	const struct json_value *first = r->summary[0];
	const struct json_value *sc = json_get(first, "scenario");
	const struct json_value *seed = json_get(first, "seed");
	const struct json_value *desc = json_get(first, "description");
	fprintf(out, "odpsim compare  scenario %s  seed %" G_GUINT64_FORMAT
		     "  simulated %.6f s\n",
		sc && sc->type == JSON_STR ? sc->str : "?",
		(uint64_t)figures_num(seed),
		figures_num(json_get(first, "sim_time_ps")) / 1e12);
	if (desc && desc->type == JSON_STR && *desc->str)
		fprintf(out, "  %s\n", desc->str);
	fputc('\n', out);

	GPtrArray *lines = g_ptr_array_new_with_free_func(
		(GDestroyNotify)compare_line_free);
	GPtrArray *wl = compare_workload_names(r);
	for (guint k = 0; k < wl->len; k++)
		compare_workload_rows(r, wl->pdata[k], lines);
	g_ptr_array_free(wl, TRUE);
	compare_registration_rows(r, lines);
	for (unsigned k = 0; k < G_N_ELEMENTS(compare_rows); k++) {
		const struct compare_row *row = &compare_rows[k];
		if (row->fig == FIG_GROUP) {
			compare_heading(lines, g_strdup(row->label));
			continue;
		}
		char **cells = compare_fixed_cells(r, row);
		if (cells)
			compare_add(lines, row->label, cells);
	}
	compare_footprint_rows(r, lines);
	compare_migration_rows(r, lines);
	compare_heading(lines, g_strdup("oracle"));
	compare_oracle_rows(r, lines);
	compare_heading(lines, g_strdup("run"));
	compare_add(lines, "fingerprint",
		    compare_string_cells(r, "fingerprint", NULL, 0));
	compare_add(lines, "events",
		    compare_string_cells(r, "events", "%.0f", 1));
	compare_add(lines, "wall s",
		    compare_string_cells(r, "wall_s", "%.3f", 1));
	if (r->interrupted) {
		char **cells = compare_cells_new(r->n);
		for (unsigned i = 0; i < r->n; i++) {
			const struct json_value *sg = json_get(r->summary[i],
							       "signal");
			cells[i] = sg && sg->type == JSON_STR
					   ? g_strdup_printf(
						     "%s at %.6f s", sg->str,
						     figures_num(json_get(
							     r->summary[i],
							     "sim_time_ps")) /
							     1e12)
					   : g_strdup("finished");
		}
		compare_add(lines, "interrupted", cells);
	}

	/* widths: the label column, then each policy's column */
	size_t lw = 0;
	size_t *cw = g_new0(size_t, r->n);
	for (unsigned i = 0; i < r->n; i++)
		cw[i] = strlen(r->policies[i]);
	for (guint k = 0; k < lines->len; k++) {
		const struct compare_line *l = lines->pdata[k];
		if (!l->cells)
			continue;
		lw = MAX(lw, strlen(l->label));
		for (unsigned i = 0; i < r->n; i++)
			cw[i] = MAX(cw[i], strlen(l->cells[i]));
	}
	fprintf(out, "%-*s", (int)lw, "");
	for (unsigned i = 0; i < r->n; i++)
		fprintf(out, "  %*s", (int)cw[i], r->policies[i]);
	fputc('\n', out);
	for (guint k = 0; k < lines->len; k++) {
		const struct compare_line *l = lines->pdata[k];
		if (!l->cells) {
			fprintf(out, "%s\n", l->label);
			continue;
		}
		fprintf(out, "%-*s", (int)lw, l->label);
		for (unsigned i = 0; i < r->n; i++)
			fprintf(out, "  %*s", (int)cw[i], l->cells[i]);
		fputc('\n', out);
	}
	g_free(cw);
	g_ptr_array_free(lines, TRUE);
}

unsigned compare_violations(const struct compare_result *r, FILE *out)
{
	unsigned n = 0;
	for (unsigned i = 0; i < r->n; i++) {
		const struct json_value *o = json_get(r->summary[i], "oracle");
		GString *what = g_string_new(NULL);
		for (guint k = 0; o && o->type == JSON_OBJ && k < o->keys->len;
		     k++) {
			uint64_t x = (uint64_t)figures_num(o->items->pdata[k]);
			if (x)
				g_string_append_printf(
					what, "%s%s %" G_GUINT64_FORMAT,
					what->len ? ", " : "",
					(char *)o->keys->pdata[k], x);
		}
		if (what->len) {
			n++;
			if (out)
				fprintf(out, "odpsim: compare --strict: %s: "
					     "%s\n", r->policies[i], what->str);
		}
		g_string_free(what, TRUE);
	}
	return n;
}

unsigned compare_warnings(const struct compare_result *r, bool strict,
			  FILE *out)
{
	unsigned n = 0;
	for (unsigned i = 0; i < r->n; i++) {
		const struct json_value *w = json_get(r->summary[i], "warnings");
		for (guint k = 0; w && w->type == JSON_ARR && k < w->items->len;
		     k++) {
			const struct json_value *m = w->items->pdata[k];
			if (m->type != JSON_STR)
				continue;
			n++;
			if (out)
				fprintf(out, "odpsim: compare%s: %s: warning: "
					     "%s\n", strict ? " --strict" : "",
					r->policies[i], m->str);
		}
	}
	return n;
}

/* ---- the command ---- */

static int compare_usage_error(const char *msg)
{
	fprintf(stderr, "odpsim: %s (try 'odpsim compare --help')\n", msg);
	return EXIT_CONFIG;
}

int compare_command(int argc_in, char **argv_in)
{
	char **args = runpool_split_jobs(argc_in, argv_in);
	/* g_option_context_parse() removes what it parses from argv, not
	 * from args, which keeps every string to free */
	int argc = (int)g_strv_length(args);
	char **argv = g_memdup2(args, sizeof(char *) * ((size_t)argc + 1));
	char *policy = NULL, *duration = NULL, *out = NULL, *migration = NULL;
	gint64 seed = G_MININT64; /* not given */
	gint jobs = -1; /* -1: not given */
	gboolean json = FALSE, strict = FALSE, quiet = FALSE;
	gboolean progress = FALSE, no_progress = FALSE;
	char **sets = NULL, **policies = NULL;
	char *format = NULL, *scenario = NULL;
	GOptionEntry entries[] = {
		{ "policy", 'p', 0, G_OPTION_ARG_STRING, &policy,
		  "registration policies to compare, comma-separated "
		  "(default: every known policy)", "P1,P2,..." },
		{ "migration", 0, 0, G_OPTION_ARG_STRING, &migration,
		  "compare live-migration policies instead (stop-copy, "
		  "pre-copy, post-copy), comma-separated; the scenario needs "
		  "a [migration] migrate = ...", "M1,M2,..." },
		{ "seed", 's', 0, G_OPTION_ARG_INT64, &seed,
		  "run seed, the same for every policy", "N" },
		{ "duration", 'd', 0, G_OPTION_ARG_STRING, &duration,
		  "simulated time to run, with a unit (e.g. 5ms)", "T" },
		{ "set", 0, 0, G_OPTION_ARG_STRING_ARRAY, &sets,
		  "override a scenario key in every run (repeatable)",
		  "TYPE[.NAME].KEY=VALUE" },
		{ "json", 0, 0, G_OPTION_ARG_NONE, &json,
		  "print the runs' summaries as one JSON array (--format "
		  "json)", NULL },
		{ "format", 'f', 0, G_OPTION_ARG_STRING, &format,
		  "table (default), json, or perftest (each run's perftest "
		  "report blocks, run by run)", "FMT" },
		{ "out", 'o', 0, G_OPTION_ARG_FILENAME, &out,
		  "write DIR/POLICY/ (summary.json, config.ini, series.csv) "
		  "and DIR/compare.json", "DIR" },
		{ "strict", 0, 0, G_OPTION_ARG_NONE, &strict,
		  "exit with status 3 when a run's oracle counted a violation, "
		  "else 4 when a run has a warning (every run still goes to "
		  "its end)", NULL },
		{ "jobs", 'j', 0, G_OPTION_ARG_INT, &jobs,
		  "runs at once (default: the number of online CPUs; 1: one "
		  "after the other)", "N" },
		{ "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet,
		  "print no table (files and warnings are still written)",
		  NULL },
		{ "progress", 0, 0, G_OPTION_ARG_NONE, &progress,
		  "show the progress line (runs done, ETA) on stderr even "
		  "when it is not a terminal", NULL },
		{ "no-progress", 0, 0, G_OPTION_ARG_NONE, &no_progress,
		  "never show the progress line", NULL },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	GOptionContext *ctx = g_option_context_new(
		"SCENARIO - run a scenario once per registration policy and "
		"print the figures side by side");
	g_option_context_add_main_entries(ctx, entries, NULL);
	char *known = g_strjoinv(", ", (char **)system_policy_names());
	char *descr = g_strdup_printf(
		"Every run uses the same scenario, seed and overrides.  Runs "
		"are separate\nprocesses and give the same results in "
		"parallel as one after the other.\n"
		"The table has one column per policy: per-workload bandwidth, "
		"message rate\nand latency; registration time; pinned, "
		"committed and resident pages; NIC\nfaults, RNR NAKs, QP "
		"stalls, invalidations; VMM moves and reclaim; the oracle;\n"
		"the fingerprint.  Figures are summed over hosts; \"-\" marks "
		"one a run lacks.\n"
		"Policies: %s.\n"
		"With --migration the columns are live-migration policies "
		"instead, and a\nmigration group shows total time, downtime, "
		"bytes, rounds, pages resent,\nremote faults.\n"
		"Exit status: 0 ok, 1 I/O error or a failed run, "
		"2 configuration error (nothing was run),\n"
		"3 an oracle violation under --strict, 4 a warning under "
		"--strict,\n130/143 interrupted by SIGINT/SIGTERM (the runs "
		"going stop and are shown).", known);
	g_option_context_set_description(ctx, descr);
	GError *err = NULL;
	int rc = EXIT_OK;
	struct compare_result *res = NULL;
	if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
		rc = compare_usage_error(err->message);
		goto out;
	}
	if (argc != 2) {
		rc = compare_usage_error(argc < 2
						 ? "compare: missing SCENARIO"
						 : "compare: more than one "
						   "SCENARIO");
		goto out;
	}
	if (seed < 0 && seed != G_MININT64) {
		rc = compare_usage_error("--seed must be >= 0");
		goto out;
	}
	if (jobs != -1 && jobs < 1) {
		rc = compare_usage_error("--jobs must be >= 1");
		goto out;
	}
	enum summary_format fmt;
	if (!summary_format_parse(format, json, true, &fmt, &err)) {
		rc = compare_usage_error(err->message);
		goto out;
	}
	if (progress && no_progress) {
		rc = compare_usage_error("--progress and --no-progress: give "
					 "one");
		goto out;
	}
	if (policy && migration) {
		rc = compare_usage_error("compare: --policy and --migration "
					 "are two axes; compare one (fix the "
					 "other with --set sim.policy=P or "
					 "--set migration.policy=M)");
		goto out;
	}
	policies = migration ? compare_parse_migrations(migration, &err)
		   : policy  ? compare_parse_policies(policy, &err)
			     : g_strdupv((char **)system_policy_names());
	if (!policies) {
		fprintf(stderr, "odpsim: %s\n", err->message);
		rc = EXIT_CONFIG;
		goto out;
	}
	scenario = system_find_scenario(argv[1], &err);
	if (!scenario) {
		fprintf(stderr, "odpsim: %s\n", err->message);
		rc = EXIT_IO;
		goto out;
	}
	struct compare_options o = {
		.scenario = scenario,
		.policies = policies,
		.migration = migration != NULL,
		.have_seed = seed >= 0,
		.seed = (uint64_t)seed,
		.duration = duration,
		.sets = sets,
		.out_dir = out,
		.jobs = jobs != -1 ? (unsigned)jobs : g_get_num_processors(),
		.progress_tty = isatty(STDERR_FILENO),
	};
	o.progress = progress || (!no_progress && o.progress_tty);
	bool io_error;
	if (!compare_validate(&o, &io_error, &err)) {
		fprintf(stderr, "odpsim: %s\n", err->message);
		rc = io_error ? EXIT_IO : EXIT_CONFIG;
		goto out;
	}
	compare_warn_fixed_policies(&o, stderr);
	progress_catch_signals();
	res = compare_run(&o, &err);
	if (!res) {
		fprintf(stderr, "odpsim: %s\n", err->message);
		rc = EXIT_IO;
		goto out;
	}
	if (quiet || !res->n) {
		/* nothing to print */
	} else if (fmt == SUMMARY_JSON) {
		char *j = compare_json(res);
		fputs(j, stdout);
		g_free(j);
	} else if (fmt == SUMMARY_PERFTEST) {
		for (unsigned i = 0; i < res->n; i++) {
			printf("%s# odpsim compare: %s %s\n", i ? "\n" : "",
			       o.migration ? "migration policy" : "policy",
			       res->policies[i]);
			summary_perftest_print(res->summary[i], stdout);
		}
	} else {
		compare_table(res, stdout);
	}
	if (res->interrupted) {
		int sig = res->interrupted;
		char *nr = g_strjoinv(", ", res->not_run);
		fprintf(stderr, "odpsim: compare: interrupted by %s: %u run%s "
				"stopped or finished (each summary says "
				"which)%s%s\n",
			sig == SIGTERM ? "SIGTERM" : "SIGINT", res->n,
			res->n == 1 ? "" : "s", *nr ? "; not run: " : "", nr);
		g_free(nr);
		rc = 128 + sig;
		goto out;
	}
	unsigned nwarn = compare_warnings(res, strict, stderr);
	if (strict && compare_violations(res, stderr))
		rc = EXIT_ORACLE;
	else if (strict && nwarn)
		rc = EXIT_WARNING;
out:
	compare_result_free(res);
	g_free(scenario);
	g_clear_error(&err);
	g_option_context_free(ctx);
	g_free(known);
	g_free(descr);
	g_free(policy);
	g_free(migration);
	g_free(duration);
	g_free(out);
	g_free(format);
	g_strfreev(sets);
	g_strfreev(policies);
	g_free(argv);
	g_strfreev(args);
	return rc;
}
