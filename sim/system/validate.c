/*
 * sim/system/validate.c - `odpsim validate` (see validate.h): load the
 * cases, run each file (and its baselines) in a pool of forked runs, read
 * each figure from the summaries, print the table.
 */
#include "sim/system/validate.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "sim/json.h"
#include "sim/system/figures.h"
#include "sim/system/runpool.h"
#include "sim/system/system.h"
#include "sim/units.h"

enum { EXIT_IO = 1, EXIT_CONFIG = 2, EXIT_FAILED = 5 };

/* What a [validate NAME] section holds (validate_tab). */
struct validate_config {
	char *quantity;
	char *published;
	char *source;
	char *read;
	char *unit;
	double tolerance;
	char *baseline;
	int combine; /* enum vcombine */
	bool fast;
};

/* How a figure's read of its run and of its baseline's run combine. */
enum vcombine { VCOMBINE_DIFFERENCE, VCOMBINE_RATIO, VCOMBINE_LOSS };
static const char *const vcombine_names[] = { "difference", "ratio", "loss",
					      NULL };

static const struct param validate_tab[] = {
	{ "quantity", PT_STRING, NULL,
	  offsetof(struct validate_config, quantity),
	  "what the figure is, in words (the table's first column)", "", NULL,
	  0, 0 },
	{ "published", PT_STRING, NULL,
	  offsetof(struct validate_config, published),
	  "the published value, or LOW..HIGH a range; with a time unit when "
	  "the read is a time (1.5ms, 1.75ms..2.85ms), a plain number when "
	  "it is a count (512)", "", NULL, 0, 0 },
	{ "source", PT_STRING, NULL, offsetof(struct validate_config, source),
	  "where the published figure comes from (paper, spec section, "
	  "source file and constant, thread), and how it was derived", "",
	  NULL, 0, 0 },
	{ "read", PT_STRING, NULL, offsetof(struct validate_config, read),
	  "what of the run to read: counter NAME (b.nic.page_faults), hist "
	  "NAME FIELD (a.nic.rnr_wait_ns max; FIELD one of count, min, mean, "
	  "stdev, p50, p99, p999, max) or workload NAME PATH (lat lat_ns.max, "
	  "w completed): the names of `odpsim run --json`", "", NULL, 0, 0 },
	{ "unit", PT_STRING, "", offsetof(struct validate_config, unit),
	  "display unit: for a time one of ps, ns, us, ms, s (empty: the unit "
	  "published is written in); for a count a label (pages)", "", NULL, 0,
	  0 },
	{ "tolerance", PT_FLOAT, "0.1",
	  offsetof(struct validate_config, tolerance),
	  "a published value is met within this relative difference (a range "
	  "is met inside its bounds)", "the issue's criterion: 10%", NULL, 0,
	  1 },
	{ "baseline", PT_STRING, "",
	  offsetof(struct validate_config, baseline),
	  "run the file once more with these overrides (--set assignments, "
	  "separated by spaces: sim.policy=pin workload.w.server_policy=pin) "
	  "and subtract the same read of that run: what a mechanism adds "
	  "(empty: no baseline)", "", NULL, 0, 0 },
	{ "combine", PT_ENUM, "difference",
	  offsetof(struct validate_config, combine),
	  "with a baseline: difference (the run's read minus the baseline's), "
	  "ratio (the run's over the baseline's: a plain number, whatever "
	  "the read's unit) or loss (100 x (1 - run / baseline): the percent "
	  "a mechanism takes away, e.g. of a bandwidth)",
	  "", vcombine_names, 0, 0 },
	{ "fast", PT_BOOL, "true", offsetof(struct validate_config, fast),
	  "part of `odpsim validate --fast` (make check); false for a case "
	  "that takes seconds", "", NULL, 0, 0 },
};
PARAM_TABLE(validate_params, "validate",
	    "a figure of a validation case: [validate NAME] in "
	    "workloads/validation/*.ini (odpsim validate)",
	    validate_tab);

enum vread_kind { VREAD_COUNTER, VREAD_HIST, VREAD_WORKLOAD };

/* A figure while its file runs: the row, what to read, where it was
 * written (for messages), which runs it reads. */
struct vfigure {
	struct validate_row row;
	enum vread_kind kind;
	char *what;       /* counter or histogram name; workload name */
	char *field;      /* histogram field; path in the workload */
	double unit_s;    /* seconds per unit of the value read; 0: a count */
	double disp_s;    /* seconds per display unit; 0: a count */
	char *where_read; /* "FILE:LINE" of read */
	unsigned run, baseline_run; /* job indexes; baseline: UINT_MAX none */
	int combine;                /* enum vcombine */
};

struct vjob {
	const char *path;
	char **sets;        /* the baseline's overrides; NULL: the file */
	char *label;
	struct json_value *summary;
	char *failure;
};

static const struct {
	const char *name;
	double s;
} time_units[] = { { "ps", 1e-12 }, { "ns", 1e-9 }, { "us", 1e-6 },
		   { "ms", 1e-3 }, { "s", 1 } };

static double time_unit_s(const char *u)
{
	for (unsigned i = 0; i < G_N_ELEMENTS(time_units); i++)
		if (!strcmp(u, time_units[i].name))
			return time_units[i].s;
	return 0;
}

static const char *const hist_fields[] = { "count", "min",  "mean", "stdev",
					   "p50",   "p99",  "p999", "max",
					   NULL };

static bool vfail(GError **error, const char *where, const char *name,
		  const char *key, const char *fmt, ...) G_GNUC_PRINTF(5, 6);

static bool vfail(GError **error, const char *where, const char *name,
		  const char *key, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *m = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(error, CONFIG_ERROR, 0, "%s: [validate %s] %s: %s", where,
		    name, key, m);
	g_free(m);
	return false;
}

/* "counter NAME", "hist NAME FIELD", "workload NAME PATH" */
static bool parse_read(struct vfigure *f, const char *text,
		       const char *where, GError **error)
{
	char **w = g_strsplit_set(text, " \t", -1);
	GPtrArray *v = g_ptr_array_new();
	for (char **p = w; *p; p++)
		if (**p)
			g_ptr_array_add(v, *p);
	bool ok = true;
	const char *k = v->len ? v->pdata[0] : "";
	if (!strcmp(k, "counter") && v->len == 2) {
		f->kind = VREAD_COUNTER;
		f->what = g_strdup(v->pdata[1]);
		f->unit_s = figures_time_unit(f->what);
	} else if (!strcmp(k, "hist") && v->len == 3) {
		f->kind = VREAD_HIST;
		f->what = g_strdup(v->pdata[1]);
		f->field = g_strdup(v->pdata[2]);
		if (!g_strv_contains(hist_fields, f->field)) {
			const char *near =
				config_nearest(f->field, hist_fields);
			ok = vfail(error, where, f->row.name, "read",
				   "'%s' is no histogram field (count, min, "
				   "mean, stdev, p50, p99, p999, max)%s%s%s",
				   f->field, near ? "; did you mean '" : "",
				   near ? near : "", near ? "'?" : "");
		}
		f->unit_s = strcmp(f->field, "count")
				    ? figures_time_unit(f->what)
				    : 0;
	} else if (!strcmp(k, "workload") && v->len == 3) {
		f->kind = VREAD_WORKLOAD;
		f->what = g_strdup(v->pdata[1]);
		f->field = g_strdup(v->pdata[2]);
		/* lat_ns.max: the unit is named by the component */
		char **parts = g_strsplit(f->field, ".", -1);
		for (char **p = parts; *p; p++)
			if (figures_time_unit(*p) != 0)
				f->unit_s = figures_time_unit(*p);
		g_strfreev(parts);
	} else {
		ok = vfail(error, where, f->row.name, "read",
			   "'%s' is not 'counter NAME', 'hist NAME FIELD' or "
			   "'workload NAME PATH'",
			   text);
	}
	g_ptr_array_free(v, TRUE);
	g_strfreev(w);
	return ok;
}

/* One bound of published: a time with its unit (seconds), or a count. */
static bool parse_bound(const struct vfigure *f, const char *s, double *out,
			const char *where, GError **error)
{
	GError *e = NULL;
	if (f->unit_s != 0) {
		uint64_t ps;
		if (!units_parse(s, UNIT_TIME, &ps, &e)) {
			vfail(error, where, f->row.name, "published",
			      "'%s': the read is a time, so is the figure: %s",
			      s, e->message);
			g_error_free(e);
			return false;
		}
		*out = (double)ps * 1e-12;
		return true;
	}
	if (!units_parse_double(s, out, &e) || *out < 0) {
		vfail(error, where, f->row.name, "published",
		      "'%s': the read is a count, so the figure is a "
		      "non-negative number%s%s",
		      s, e ? ": " : "", e ? e->message : "");
		g_clear_error(&e);
		return false;
	}
	return true;
}

static bool parse_published(struct vfigure *f, const char *text,
			    const char *where, GError **error)
{
	char *t = g_strstrip(g_strdup(text));
	char *dots = strstr(t, "..");
	double lo, hi;
	bool ok;
	if (dots) {
		*dots = 0;
		char *a = g_strstrip(t), *b = g_strstrip(dots + 2);
		ok = parse_bound(f, a, &lo, where, error) &&
		     parse_bound(f, b, &hi, where, error);
		if (ok && lo > hi)
			ok = vfail(error, where, f->row.name, "published",
				   "'%s': the range's low end is above its "
				   "high end",
				   text);
		f->row.range = true;
	} else {
		ok = parse_bound(f, t, &lo, where, error);
		hi = lo;
	}
	/* the display unit: as given, or the one published is written in */
	if (ok && f->unit_s != 0) {
		const char *u = f->row.unit;
		char *mine = NULL;
		if (!*u) {
			const char *p = t;
			while (*p && (g_ascii_isdigit(*p) || *p == '.'))
				p++;
			u = mine = g_strdup(p);
		}
		f->disp_s = time_unit_s(u);
		if (f->disp_s == 0)
			ok = vfail(error, where, f->row.name, "unit",
				   "'%s' is no time unit (ps, ns, us, ms, s)",
				   u);
		else if (mine) {
			g_free(f->row.unit);
			f->row.unit = mine;
			mine = NULL;
		}
		g_free(mine);
	}
	if (ok) {
		double d = f->disp_s != 0 ? f->disp_s : 1;
		f->row.lo = lo / d;
		f->row.hi = hi / d;
	}
	g_free(t);
	return ok;
}

struct vload {
	GPtrArray *figs; /* struct vfigure * */
	GPtrArray *jobs; /* struct vjob * */
};

/* The job running @path with @sets (NULL: as it is), added once; takes
 * @sets. */
static unsigned job_for(struct vload *L, const char *path, char **sets)
{
	char *key = sets ? g_strjoinv(" ", sets) : NULL;
	for (guint i = 0; i < L->jobs->len; i++) {
		struct vjob *j = L->jobs->pdata[i];
		char *k = j->sets ? g_strjoinv(" ", j->sets) : NULL;
		bool same = j->path == path && !g_strcmp0(k, key);
		g_free(k);
		if (same) {
			g_free(key);
			g_strfreev(sets);
			return i;
		}
	}
	struct vjob *j = g_new0(struct vjob, 1);
	j->path = path;
	j->sets = sets;
	j->label = key ? g_strdup_printf("%s (baseline %s)", path, key)
		       : g_strdup(path);
	g_free(key);
	g_ptr_array_add(L->jobs, j);
	return L->jobs->len - 1;
}

/* The overrides of a baseline, each checked as --set would be. */
static char **parse_baseline(const char *path, const char *text,
			     const char *where, const char *name,
			     GError **error)
{
	char **w = g_strsplit_set(text, " \t", -1);
	GPtrArray *v = g_ptr_array_new();
	for (char **p = w; *p; p++)
		if (**p)
			g_ptr_array_add(v, g_strdup(*p));
	g_strfreev(w);
	g_ptr_array_add(v, NULL);
	char **sets = (char **)g_ptr_array_free(v, FALSE);
	/* built as the baseline's run will be, and dropped */
	struct run_options opt = { .sets = sets };
	bool io;
	GError *e = NULL;
	struct system *sys = system_build(path, &opt, &io, &e);
	bool ok = sys != NULL;
	if (!ok) {
		vfail(error, where, name, "baseline", "%s", e->message);
		g_error_free(e);
	}
	system_free(sys);
	if (!ok) {
		g_strfreev(sets);
		return NULL;
	}
	return sets;
}

static bool load_file(struct vload *L, const char *path, bool fast,
		      GError **error)
{
	if (!system_check_scenario(path, error))
		return false;
	struct scenario *sc = scenario_load(path, error);
	if (!sc)
		return false;
	const char *const *names = scenario_names(sc, "validate");
	bool ok = true;
	if (!names[0]) {
		g_set_error(error, CONFIG_ERROR, 0,
			    "%s: no [validate NAME] section: a validation "
			    "case names at least one figure (odpsim params "
			    "validate)",
			    path);
		ok = false;
	}
	for (unsigned i = 0; ok && names[i]; i++) {
		struct validate_config c = { 0 };
		if (!config_fill(sc, &validate_params, &c, "validate",
				 names[i], error)) {
			config_free(&validate_params, &c);
			ok = false;
			break;
		}
		if (fast && !c.fast) {
			config_free(&validate_params, &c);
			continue;
		}
		struct vfigure *f = g_new0(struct vfigure, 1);
		f->row.file = g_strdup(path);
		f->row.name = g_strdup(names[i]);
		f->row.quantity = g_strdup(c.quantity);
		f->row.published = g_strdup(c.published);
		f->row.source = g_strdup(c.source);
		f->row.unit = g_strdup(c.unit);
		f->row.tolerance = c.tolerance;
		f->row.ratio = NAN;
		f->baseline_run = G_MAXUINT;
		g_ptr_array_add(L->figs, f);
		char *w_read = scenario_where(sc, "validate", names[i], "read");
		char *w_pub =
			scenario_where(sc, "validate", names[i], "published");
		char *w_base = scenario_where(sc, "validate", names[i],
					      "baseline");
		f->where_read = w_read;
		f->combine = c.combine;
		ok = parse_read(f, c.read, w_read, error);
		/* a ratio or a loss has no unit: read the raw values */
		if (ok && c.combine != VCOMBINE_DIFFERENCE)
			f->unit_s = 0;
		ok = ok && parse_published(f, c.published, w_pub, error);
		if (ok && f->unit_s == 0 && time_unit_s(f->row.unit) != 0) {
			char *w_unit =
				scenario_where(sc, "validate", names[i], "unit");
			ok = vfail(error, w_unit, names[i], "unit",
				   "'%s' is a time unit, but the read is a "
				   "count",
				   f->row.unit);
			g_free(w_unit);
		}
		char **sets = NULL;
		if (ok && c.combine != VCOMBINE_DIFFERENCE &&
		    !*g_strstrip(c.baseline)) {
			char *w_comb = scenario_where(sc, "validate", names[i],
						      "combine");
			ok = vfail(error, w_comb, names[i], "combine",
				   "'%s' compares the run with a baseline: "
				   "give one (baseline = KEY=VALUE ...)",
				   vcombine_names[c.combine]);
			g_free(w_comb);
		}
		if (ok && *g_strstrip(c.baseline)) {
			sets = parse_baseline(path, c.baseline, w_base,
					      names[i], error);
			ok = sets != NULL;
		}
		if (ok) {
			/* @path lives as long as the jobs */
			f->run = job_for(L, path, NULL);
			if (sets)
				f->baseline_run = job_for(L, path, sets);
		}
		g_free(w_pub);
		g_free(w_base);
		config_free(&validate_params, &c);
	}
	scenario_free(sc);
	return ok;
}

/* The *.ini files of @dir, sorted. */
static bool list_dir(const char *dir, GPtrArray *out, GError **error)
{
	GDir *d = g_dir_open(dir, 0, error);
	if (!d)
		return false;
	GPtrArray *v = g_ptr_array_new();
	const char *n;
	while ((n = g_dir_read_name(d)))
		if (g_str_has_suffix(n, ".ini"))
			g_ptr_array_add(v, g_build_filename(dir, n, NULL));
	g_dir_close(d);
	for (guint i = 0; i < v->len; i++)
		g_ptr_array_add(out, v->pdata[i]);
	g_ptr_array_free(v, TRUE);
	return true;
}

static gint cmp_path(gconstpointer a, gconstpointer b, gpointer unused)
{
	(void)unused;
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The case files of @paths (files, or directories of *.ini sorted by
 * name); @dflt: the directory used when none was given, for messages. */
static bool collect_paths(char **paths, const char *dflt, GPtrArray *files,
			  bool *io_error, GError **error)
{
	for (char **p = paths; *p; p++) {
		struct stat st;
		if (stat(*p, &st) != 0) {
			*io_error = true;
			g_set_error(error, G_FILE_ERROR,
				    g_file_error_from_errno(errno), "%s: %s%s",
				    *p, strerror(errno),
				    dflt ? " (odpsim validate runs the "
					   "cases of workloads/validation, in "
					   "the source tree or installed: give "
					   "their directory or files)"
					 : "");
			return false;
		}
		if (S_ISDIR(st.st_mode)) {
			guint before = files->len;
			if (!list_dir(*p, files, error)) {
				*io_error = true;
				return false;
			}
			g_qsort_with_data(files->pdata + before,
					  (gint)(files->len - before),
					  sizeof(gpointer), cmp_path, NULL);
			if (files->len == before) {
				g_set_error(error, CONFIG_ERROR, 0,
					    "%s: no validation case (*.ini) in "
					    "this directory",
					    *p);
				return false;
			}
		} else if (S_ISREG(st.st_mode)) {
			g_ptr_array_add(files, g_strdup(*p));
		} else {
			*io_error = true;
			g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
				    "%s: not a regular file or a directory",
				    *p);
			return false;
		}
	}
	return true;
}

/* The cases when none is given: workloads/validation here, else beside
 * the scenarios a bare name is looked for in (the installed ones:
 * PREFIX/share/odpsim/workloads/validation). */
static char *default_dir(void)
{
	if (g_file_test("workloads/validation", G_FILE_TEST_IS_DIR))
		return g_strdup("workloads/validation");
	GPtrArray *dirs = system_scenario_dirs();
	char *found = NULL;
	for (guint i = 0; !found && i < dirs->len; i++) {
		char *d = g_build_filename(dirs->pdata[i], "validation", NULL);
		if (g_file_test(d, G_FILE_TEST_IS_DIR))
			found = g_canonicalize_filename(d, NULL);
		g_free(d);
	}
	g_ptr_array_free(dirs, TRUE);
	return found ? found : g_strdup("workloads/validation");
}

static bool collect(const struct validate_options *o, GPtrArray *files,
		    bool *io_error, GError **error)
{
	char *dflt = default_dir();
	char *deflt[] = { dflt, NULL };
	bool ok = collect_paths(o->paths && o->paths[0] ? o->paths : deflt,
				o->paths && o->paths[0] ? NULL : dflt, files,
				io_error, error);
	g_free(dflt);
	return ok;
}

static void vjob_fill(void *ctx, unsigned idx, struct runpool_job *job)
{
	struct vload *L = ctx;
	struct vjob *j = L->jobs->pdata[idx];
	job->scenario = j->path;
	job->opt.sets = j->sets;
	job->label = j->label;
}

static void vjob_done(void *ctx, unsigned idx, const struct runpool_result *r)
{
	struct vload *L = ctx;
	struct vjob *j = L->jobs->pdata[idx];
	if (r->failure) {
		j->failure = g_strdup(r->failure);
		return;
	}
	GError *e = NULL;
	j->summary = json_parse(r->summary, &e);
	if (!j->summary) {
		j->failure = g_strdup_printf("summary is not JSON: %s",
					     e->message);
		g_error_free(e);
	}
}

/* Names in @obj (an object) nearest to @name, for a message. */
static const char *nearest_key(const struct json_value *obj, const char *name)
{
	if (!obj || obj->type != JSON_OBJ)
		return NULL;
	GPtrArray *k = g_ptr_array_new();
	for (guint i = 0; i < obj->keys->len; i++)
		g_ptr_array_add(k, obj->keys->pdata[i]);
	g_ptr_array_add(k, NULL);
	const char *n = config_nearest(name, (const char *const *)k->pdata);
	g_ptr_array_free(k, TRUE);
	return n;
}

/* The figure's read of one run's summary: *have false when the value is
 * null (an empty histogram); false (a configuration error) when the name
 * is not in the run at all. */
static bool read_one(const struct vfigure *f, const struct json_value *s,
		     double *v, bool *have, GError **error)
{
	const char *sect = f->kind == VREAD_COUNTER ? "counters"
			   : f->kind == VREAD_HIST  ? "histograms"
						    : "workloads";
	const char *what = f->kind == VREAD_COUNTER ? "counter"
			   : f->kind == VREAD_HIST  ? "histogram"
						    : "workload";
	const struct json_value *obj = json_get(s, sect);
	const struct json_value *x = json_get(obj, f->what);
	if (!x) {
		const char *near = nearest_key(obj, f->what);
		return vfail(error, f->where_read, f->row.name, "read",
			     "the run has no %s '%s'%s%s%s", what, f->what,
			     near ? "; did you mean '" : "", near ? near : "",
			     near ? "'?" : "");
	}
	if (f->kind != VREAD_COUNTER) {
		x = f->kind == VREAD_HIST ? json_get(x, f->field)
					  : json_path(x, f->field);
		if (!x)
			return vfail(error, f->where_read, f->row.name,
				     "read", "%s '%s' has no '%s'", what,
				     f->what, f->field);
	}
	*have = x->type == JSON_NUM;
	if (!*have && x->type != JSON_NULL)
		return vfail(error, f->where_read, f->row.name, "read",
			     "%s '%s': '%s' is not a number", what, f->what,
			     f->field);
	*v = figures_num(x) * (f->unit_s != 0 ? f->unit_s : 1);
	return true;
}

static bool figure_eval(struct vfigure *f, struct vload *L, GError **error)
{
	struct validate_row *r = &f->row;
	struct vjob *runs[2] = { L->jobs->pdata[f->run],
				 f->baseline_run != G_MAXUINT
					 ? L->jobs->pdata[f->baseline_run]
					 : NULL };
	double v[2] = { 0, 0 };
	bool have = true;
	for (unsigned k = 0; k < 2 && runs[k]; k++) {
		if (runs[k]->failure) {
			g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
				    "%s: the run failed: %s", runs[k]->label,
				    runs[k]->failure);
			return false;
		}
		bool h = false;
		if (!read_one(f, runs[k]->summary, &v[k], &h, error))
			return false;
		have = have && h;
	}
	double d = f->disp_s != 0 ? f->disp_s : 1;
	if (have && runs[1] && f->combine != VCOMBINE_DIFFERENCE) {
		have = v[1] != 0;
		double q = have ? v[0] / v[1] : NAN;
		r->simulated = f->combine == VCOMBINE_RATIO ? q
							    : 100 * (1 - q);
	} else {
		r->simulated = have ? (v[0] - v[1]) / d : NAN;
	}
	if (!have) {
		r->pass = false;
		return true;
	}
	if (r->range) {
		r->pass = r->simulated >= r->lo && r->simulated <= r->hi;
		double mid = r->lo > 0 ? sqrt(r->lo * r->hi) : r->hi;
		r->ratio = mid > 0 ? r->simulated / mid : NAN;
	} else if (r->lo == 0) {
		r->pass = r->simulated == 0;
	} else {
		r->ratio = r->simulated / r->lo;
		r->pass = fabs(r->ratio - 1) <= r->tolerance + 1e-12;
	}
	return true;
}

static void vload_free(struct vload *L)
{
	for (guint i = 0; i < L->jobs->len; i++) {
		struct vjob *j = L->jobs->pdata[i];
		json_value_free(j->summary);
		g_free(j->failure);
		g_free(j->label);
		g_strfreev(j->sets);
		g_free(j);
	}
	g_ptr_array_free(L->jobs, TRUE);
	for (guint i = 0; i < L->figs->len; i++) {
		struct vfigure *f = L->figs->pdata[i];
		struct validate_row *r = &f->row;
		if (r->file) { /* not moved to a result */
			g_free(r->file);
			g_free(r->name);
			g_free(r->quantity);
			g_free(r->published);
			g_free(r->source);
			g_free(r->unit);
		}
		g_free(f->what);
		g_free(f->field);
		g_free(f->where_read);
		g_free(f);
	}
	g_ptr_array_free(L->figs, TRUE);
}

struct validate_result *validate_run(const struct validate_options *o,
				     bool *io_error, GError **error)
{
	*io_error = false;
	GPtrArray *files = g_ptr_array_new_with_free_func(g_free);
	struct vload L = { g_ptr_array_new(), g_ptr_array_new() };
	struct validate_result *res = NULL;
	bool ok = collect(o, files, io_error, error);
	for (guint i = 0; ok && i < files->len; i++)
		ok = load_file(&L, files->pdata[i], o->fast, error);
	/* the figures' rows point at their file names: keep them */
	if (ok) {
		struct runpool_spec spec = {
			.n = L.jobs->len, .jobs = MAX(o->jobs, 1u),
			.capture_stderr = true, .prefix = "validate",
			.job = vjob_fill, .done = vjob_done, .ctx = &L,
		};
		ok = runpool_run(&spec, error);
		if (!ok)
			*io_error = true;
	}
	for (guint i = 0; ok && i < L.figs->len; i++) {
		GError *e = NULL;
		ok = figure_eval(L.figs->pdata[i], &L, &e);
		if (!ok) {
			*io_error = e->domain == G_FILE_ERROR;
			g_propagate_error(error, e);
		}
	}
	if (ok) {
		res = g_new0(struct validate_result, 1);
		res->n = L.figs->len;
		res->rows = g_new0(struct validate_row, MAX(res->n, 1u));
		res->files = files->len;
		res->runs = L.jobs->len;
		for (unsigned i = 0; i < res->n; i++) {
			struct vfigure *f = L.figs->pdata[i];
			res->rows[i] = f->row;
			memset(&f->row, 0, sizeof(f->row));
			res->failed += !res->rows[i].pass;
		}
	}
	vload_free(&L);
	g_ptr_array_free(files, TRUE);
	return res;
}

void validate_result_free(struct validate_result *r)
{
	if (!r)
		return;
	for (unsigned i = 0; i < r->n; i++) {
		struct validate_row *w = &r->rows[i];
		g_free(w->file);
		g_free(w->name);
		g_free(w->quantity);
		g_free(w->published);
		g_free(w->source);
		g_free(w->unit);
	}
	g_free(r->rows);
	g_free(r);
}

/* A markdown cell: '|' escaped, so the table survives any text. */
static void cell(FILE *out, const char *s)
{
	fputs("| ", out);
	for (; *s; s++) {
		if (*s == '|')
			fputc('\\', out);
		fputc(*s, out);
	}
	fputc(' ', out);
}

static char *fmt_num(double v)
{
	if (isnan(v))
		return g_strdup("-");
	return g_strdup_printf("%.6g", v);
}

void validate_print_text(const struct validate_result *r, FILE *out)
{
	fprintf(out, "| quantity | published | source | simulated | ratio | "
		     "pass |\n|---|---|---|---|---|---|\n");
	for (unsigned i = 0; i < r->n; i++) {
		const struct validate_row *w = &r->rows[i];
		const char *u = *w->unit ? " " : "";
		char *pub = w->range ? g_strdup(w->published)
			    : w->lo == 0 || w->tolerance == 0
				    ? g_strdup_printf("%s (exactly)",
						      w->published)
				    : g_strdup_printf("%s (+-%g%%)",
						      w->published,
						      w->tolerance * 100);
		char *sim = fmt_num(w->simulated);
		char *simu = g_strdup_printf("%s%s%s", sim, u, w->unit);
		char *ratio = isnan(w->ratio)
				      ? g_strdup("-")
				      : g_strdup_printf("%.3f", w->ratio);
		cell(out, w->quantity);
		cell(out, pub);
		cell(out, w->source);
		cell(out, simu);
		cell(out, ratio);
		cell(out, w->pass ? "yes" : "NO");
		fputs("|\n", out);
		g_free(pub);
		g_free(sim);
		g_free(simu);
		g_free(ratio);
	}
	fprintf(out, "\n%u of %u figures pass (%u case files, %u runs)\n",
		r->n - r->failed, r->n, r->files, r->runs);
}

static void json_num_or_null(struct json_writer *j, const char *k, double v)
{
	if (isnan(v))
		json_null(j, k);
	else
		json_dbl(j, k, v);
}

char *validate_json(const struct validate_result *r)
{
	struct json_writer j;
	json_init(&j, false);
	json_obj_begin(&j, NULL);
	json_u64(&j, "figures", r->n);
	json_u64(&j, "failed", r->failed);
	json_u64(&j, "files", r->files);
	json_u64(&j, "runs", r->runs);
	json_arr_begin(&j, "rows");
	for (unsigned i = 0; i < r->n; i++) {
		const struct validate_row *w = &r->rows[i];
		json_obj_begin(&j, NULL);
		json_str(&j, "file", w->file);
		json_str(&j, "name", w->name);
		json_str(&j, "quantity", w->quantity);
		json_str(&j, "published", w->published);
		json_dbl(&j, "low", w->lo);
		json_dbl(&j, "high", w->hi);
		json_bool(&j, "range", w->range);
		json_dbl(&j, "tolerance", w->tolerance);
		json_str(&j, "unit", w->unit);
		json_str(&j, "source", w->source);
		json_num_or_null(&j, "simulated", w->simulated);
		json_num_or_null(&j, "ratio", w->ratio);
		json_bool(&j, "pass", w->pass);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_obj_end(&j);
	return json_finish(&j);
}

int validate_command(int argc_in, char **argv_in)
{
	char **args = runpool_split_jobs(argc_in, argv_in);
	/* g_option_context_parse() removes what it parses from argv, not
	 * from args, which keeps every string to free */
	int argc = (int)g_strv_length(args);
	char **argv = g_memdup2(args, sizeof(char *) * ((size_t)argc + 1));
	gboolean fast = FALSE, json = FALSE;
	gint jobs = -1;
	GOptionEntry entries[] = {
		{ "fast", 0, 0, G_OPTION_ARG_NONE, &fast,
		  "only the figures marked fast (what make check runs)",
		  NULL },
		{ "jobs", 'j', 0, G_OPTION_ARG_INT, &jobs,
		  "runs at once (default: the number of CPUs)", "N" },
		{ "json", 0, 0, G_OPTION_ARG_NONE, &json,
		  "print the rows as one JSON object", NULL },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	GOptionContext *ctx = g_option_context_new(
		"[CASE.ini | DIR]... - run the validation cases (default "
		"workloads/validation) and print, for every published figure, "
		"what the simulator says");
	g_option_context_add_main_entries(ctx, entries, NULL);
	g_option_context_set_description(
		ctx,
		"Each case is a scenario with [validate NAME] sections "
		"(odpsim params validate; README.md: Validation).\n"
		"A figure passes within its tolerance (default 10%) of a "
		"published value, or inside a published range.\n"
		"Exit status: 0 every figure passes, 1 I/O error or a run "
		"that failed, 2 configuration error, 5 a figure failed.");
	GError *err = NULL;
	int rc = 0;
	struct validate_result *r = NULL;
	if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
		fprintf(stderr, "odpsim: %s (try 'odpsim validate --help')\n",
			err->message);
		rc = EXIT_CONFIG;
		goto out;
	}
	if (jobs != -1 && jobs < 1) {
		fprintf(stderr, "odpsim: validate: -j must be at least 1\n");
		rc = EXIT_CONFIG;
		goto out;
	}
	struct validate_options o = {
		.paths = argc > 1 ? argv + 1 : NULL,
		.fast = fast,
		.jobs = jobs != -1 ? (unsigned)jobs : g_get_num_processors(),
	};
	bool io;
	r = validate_run(&o, &io, &err);
	if (!r) {
		fprintf(stderr, "odpsim: validate: %s\n", err->message);
		rc = io ? EXIT_IO : EXIT_CONFIG;
		goto out;
	}
	if (json) {
		char *s = validate_json(r);
		puts(s);
		g_free(s);
	} else {
		validate_print_text(r, stdout);
	}
	if (r->failed) {
		for (unsigned i = 0; i < r->n; i++)
			if (!r->rows[i].pass)
				fprintf(stderr,
					"odpsim: validate: %s [validate %s] "
					"failed: %s\n",
					r->rows[i].file, r->rows[i].name,
					r->rows[i].quantity);
		rc = EXIT_FAILED;
	}
out:
	validate_result_free(r);
	g_clear_error(&err);
	g_option_context_free(ctx);
	g_free(argv);
	g_strfreev(args);
	return rc;
}
