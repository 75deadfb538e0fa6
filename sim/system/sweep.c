/*
 * sim/system/sweep.c - `odpsim sweep` (see sweep.h).
 *
 * Representation: a campaign is a list of axes (a --grid key and its
 * values, the policies, the migration policies, the seeds) grouped into
 * dimensions (one axis each, or every --grid axis in one dimension under
 * --zip); point K is K written in the mixed radix of the dimensions'
 * lengths, the last dimension fastest.  Each point carries its overrides
 * (the --set assignments plus one per --grid axis), its key, and, when it
 * does not build, the configuration error.
 *
 * Where rows go: a local campaign (the default) has one writer, this
 * process, which records each run in DIR/campaign.sqlite as its child
 * ends; a point run alone (--point K, a GNU parallel job or a Slurm array
 * task) writes DIR/points/KEY.sqlite through a temporary file and a
 * rename, so jobs on many machines never write one file at once, and
 * --merge gathers the files into one database.
 */
#include "sim/system/sweep.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "odpsim_commit.h"
#include "sim/config.h"
#include "sim/json.h"
#include "sim/outfile.h"
#include "sim/system/campaign.h"
#include "sim/system/compare.h"
#include "sim/system/progress.h"
#include "sim/system/runpool.h"
#include "sim/system/system.h"
#include "sim/system/system_int.h"
#include "sim/units.h"
#include "sim/version.h"

enum { EXIT_OK = 0, EXIT_IO = 1, EXIT_CONFIG = 2 };

#define SWEEP_MAX_VALUES 100000
#define SWEEP_MAX_POINTS 10000000

G_DEFINE_QUARK(odpsim-sweep-error-quark, sweep_error)
#define SWEEP_ERROR (sweep_error_quark())

/* ---- value lists ---- */

/* A number and what follows it ("4KiB" -> 4, "KiB"); false when @s does
 * not start with one. */
static bool sweep_parse_num(const char *s, double *v, char **suffix)
{
	while (g_ascii_isspace(*s))
		s++;
	if (!g_ascii_isdigit(*s) && *s != '.' && *s != '-' && *s != '+')
		return false;
	char *end;
	*v = g_ascii_strtod(s, &end);
	if (end == s || !isfinite(*v))
		return false;
	*suffix = g_strstrip(g_strdup(end));
	return true;
}

/* A generated value as text: an integer without a fraction, else 12
 * significant digits (0.1 steps print as 0.3, not 0.30000000000000004). */
static char *sweep_format(double v, const char *suffix)
{
	double r = round(v);
	if (fabs(v - r) <= 1e-9 * MAX(1.0, fabs(v)) && fabs(r) < 9e15)
		return g_strdup_printf("%.0f%s", r, suffix);
	char buf[G_ASCII_DTOSTR_BUF_SIZE];
	return g_strdup_printf("%s%s",
			       g_ascii_formatd(buf, sizeof(buf), "%.12g", v),
			       suffix);
}

/* "LO..HI*F" or "LO..HI:STEP" (or "LO..HI", step 1) into @out. */
static bool sweep_expand_range(const char *item, const char *dots,
			       GPtrArray *out, GError **error)
{
	char *lo_s = g_strndup(item, (gsize)(dots - item));
	const char *rest = dots + 2;
	const char *op = strpbrk(rest, "*:");
	char *hi_s = op ? g_strndup(rest, (gsize)(op - rest)) : g_strdup(rest);
	double lo, hi, by = 1;
	char *lo_u = NULL, *hi_u = NULL, *by_u = NULL;
	bool ok = true;
	const char *why = NULL;
	if (!sweep_parse_num(lo_s, &lo, &lo_u) ||
	    !sweep_parse_num(hi_s, &hi, &hi_u))
		why = "expected LO..HI*FACTOR or LO..HI:STEP with numbers";
	else if (strcmp(lo_u, hi_u))
		why = "give both ends in the same unit";
	else if (op && (!sweep_parse_num(op + 1, &by, &by_u) ||
			(*by_u && strcmp(by_u, lo_u))))
		why = *op == '*' ? "the factor is a plain number"
				 : "the step is a number in the unit of the ends";
	else if (op && *op == '*' && *by_u)
		why = "the factor is a plain number";
	else if (lo > hi)
		why = "LO is above HI";
	else if (op && *op == '*' && !(by > 1))
		why = "the factor must be above 1";
	else if (op && *op == '*' && !(lo > 0))
		why = "a range of powers starts above 0";
	else if (!(by > 0))
		why = "the step must be above 0";
	if (why) {
		g_set_error(error, SWEEP_ERROR, 0, "'%s': %s", item, why);
		ok = false;
	}
	for (unsigned n = 0; ok; n++) {
		double v = op && *op == '*' ? lo * pow(by, n) : lo + n * by;
		if (v > hi * (1 + 1e-12) + (hi == 0 ? 1e-12 * by : 0))
			break;
		if (out->len >= SWEEP_MAX_VALUES) {
			g_set_error(error, SWEEP_ERROR, 0,
				    "'%s': more than %d values", item,
				    SWEEP_MAX_VALUES);
			ok = false;
			break;
		}
		g_ptr_array_add(out, sweep_format(v, lo_u));
	}
	g_free(lo_s);
	g_free(hi_s);
	g_free(lo_u);
	g_free(hi_u);
	g_free(by_u);
	return ok;
}

char **sweep_expand_values(const char *spec, GError **error)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	char **items = g_strsplit(spec, ",", -1);
	GError *e = NULL;
	bool ok = true;
	for (char **it = items; ok && *it; it++) {
		char *item = g_strstrip(*it);
		const char *dots = strstr(item, "..");
		if (!*item) {
			g_set_error(&e, SWEEP_ERROR, 0, "an empty value");
			ok = false;
		} else if (dots) {
			ok = sweep_expand_range(item, dots, out, &e);
		} else if (out->len >= SWEEP_MAX_VALUES) {
			g_set_error(&e, SWEEP_ERROR, 0, "more than %d values",
				    SWEEP_MAX_VALUES);
			ok = false;
		} else {
			g_ptr_array_add(out, g_strdup(item));
		}
	}
	if (ok && !out->len) {
		g_set_error(&e, SWEEP_ERROR, 0, "no value");
		ok = false;
	}
	/* a value twice would be the same point twice */
	GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
	for (guint i = 0; ok && i < out->len; i++) {
		if (!g_hash_table_add(seen, out->pdata[i])) {
			g_set_error(&e, SWEEP_ERROR, 0, "the value '%s' is given twice",
				    (char *)out->pdata[i]);
			ok = false;
		}
	}
	g_hash_table_destroy(seen);
	g_strfreev(items);
	if (!ok) {
		/* a range's error names the range; the others, the list */
		if (e->message[0] == '\'')
			g_propagate_error(error, e);
		else {
			g_set_error(error, SWEEP_ERROR, 0, "'%s': %s", spec,
				    e->message);
			g_error_free(e);
		}
		g_ptr_array_free(out, TRUE);
		return NULL;
	}
	g_ptr_array_add(out, NULL);
	return (char **)g_ptr_array_free(out, FALSE);
}

/* ---- the campaign ---- */

enum sweep_axis_kind { AXIS_SET, AXIS_POLICY, AXIS_MIGRATION, AXIS_SEED };

struct sweep_axis {
	enum sweep_axis_kind kind;
	char *name;      /* the --set key, or policy, migration_policy, seed */
	char **values;
	unsigned n;
	struct campaign_param param;      /* AXIS_SET: its column */
	struct campaign_value *typed;     /* per value */
};

struct sweep_point {
	char **sets;      /* every --set assignment of the run */
	const char *policy, *migration;
	bool have_seed;
	uint64_t seed;
	char *overrides;  /* canonical: KEY=VALUE sorted, "; " */
	char *key;
	char *error;      /* the point does not build: why */
	bool io_error;
	char *label;      /* "point K" */
	char *brief;      /* "nic.mtt_cache_entries=1024 policy=odp" */
	struct campaign_value *values; /* per AXIS_SET axis */
};

struct sweep {
	char *scenario;
	GPtrArray *axes;   /* struct sweep_axis * */
	bool zip;
	unsigned ndims;
	unsigned dim_len[64];
	unsigned dim_first[64], dim_count[64]; /* axes of each dimension */
	unsigned npoints;
	struct sweep_point *pts;
	char **sets;       /* the fixed --set */
	char *duration;
	char *out_dir;
	unsigned jobs;
	bool force, quiet;
	char **argv_campaign; /* the options that define it, for jobs */
	struct campaign_param *params; /* the --grid axes' columns */
	unsigned nparams;
	/* a local run */
	struct campaign *db;
	unsigned *todo;    /* point indices to run */
	unsigned ntodo, ran, failed, recorded;
	struct progress prog; /* the progress line (sim/system/progress.h) */
	bool progress, tty;
	GError *db_error;  /* the first error writing the database */
};

static void sweep_axis_free(struct sweep_axis *a)
{
	g_free(a->name);
	g_strfreev(a->values);
	g_free(a->typed);
	g_free(a);
}

static void sweep_free(struct sweep *sw)
{
	if (!sw)
		return;
	for (unsigned k = 0; sw->pts && k < sw->npoints; k++) {
		struct sweep_point *p = &sw->pts[k];
		g_strfreev(p->sets);
		g_free(p->overrides);
		g_free(p->key);
		g_free(p->error);
		g_free(p->label);
		g_free(p->brief);
		g_free(p->values);
	}
	g_free(sw->pts);
	g_ptr_array_free(sw->axes, TRUE);
	g_free(sw->scenario);
	g_strfreev(sw->sets);
	g_free(sw->duration);
	g_free(sw->out_dir);
	g_strfreev(sw->argv_campaign);
	g_free(sw->params);
	g_free(sw->todo);
	g_clear_error(&sw->db_error);
	campaign_close(sw->db);
	g_free(sw);
}

/* The column type of a --grid axis: integers in the canonical unit when
 * every value is a quantity of one kind (or a plain integer), reals when
 * they are plain numbers, else text. */
static void sweep_type_axis(struct sweep_axis *a)
{
	static const struct {
		enum unit_kind kind;
		const char *unit;
	} kinds[] = { { UNIT_COUNT, "" }, { UNIT_TIME, "ps" },
		      { UNIT_SIZE, "B" }, { UNIT_RATE, "bit/s" },
		      { UNIT_FREQ, "Hz" } };
	a->typed = g_new0(struct campaign_value, a->n);
	for (unsigned i = 0; i < a->n; i++)
		a->typed[i].text = a->values[i];
	a->param.name = a->name;
	for (unsigned k = 0; k < G_N_ELEMENTS(kinds); k++) {
		bool all = true;
		for (unsigned i = 0; all && i < a->n; i++) {
			uint64_t v;
			all = units_parse(a->values[i], kinds[k].kind, &v,
					  NULL) && v <= INT64_MAX;
			a->typed[i].i = (int64_t)v;
		}
		if (all) {
			a->param.type = CAMPAIGN_INT;
			a->param.unit = kinds[k].unit;
			return;
		}
	}
	bool all = true;
	for (unsigned i = 0; all && i < a->n; i++) {
		char *end;
		a->typed[i].r = g_ascii_strtod(a->values[i], &end);
		all = end != a->values[i] && !*end && isfinite(a->typed[i].r);
	}
	a->param.type = all ? CAMPAIGN_REAL : CAMPAIGN_TEXT;
	a->param.unit = "";
}

static struct sweep_axis *sweep_add_axis(struct sweep *sw,
					 enum sweep_axis_kind kind,
					 const char *name, char **values)
{
	struct sweep_axis *a = g_new0(struct sweep_axis, 1);
	a->kind = kind;
	a->name = g_strdup(name);
	a->values = values;
	a->n = g_strv_length(values);
	if (kind == AXIS_SET)
		sweep_type_axis(a);
	g_ptr_array_add(sw->axes, a);
	return a;
}

/* --grid KEY=VALUES */
static bool sweep_parse_grid(struct sweep *sw, const char *arg,
			     GError **error)
{
	const char *eq = strchr(arg, '=');
	if (!eq || eq == arg) {
		g_set_error(error, SWEEP_ERROR, 0,
			    "--grid %s: expected KEY=V1,V2,... with KEY as "
			    "--set spells it (e.g. nic.mtt_cache_entries="
			    "256,1024)", arg);
		return false;
	}
	char *key = g_strndup(arg, (gsize)(eq - arg));
	g_strstrip(key);
	static const struct {
		const char *key, *use;
	} axes[] = { { "sim.seed", "--seeds N or --seed-list S1,S2,..." },
		     { "sim.policy", "--policy P1,P2,..." },
		     { "migration.policy", "--migration M1,M2,..." } };
	for (unsigned i = 0; i < G_N_ELEMENTS(axes); i++)
		if (!strcmp(key, axes[i].key)) {
			g_set_error(error, SWEEP_ERROR, 0,
				    "--grid %s: %s is an axis of its own: "
				    "use %s", arg, key, axes[i].use);
			g_free(key);
			return false;
		}
	for (guint i = 0; i < sw->axes->len; i++) {
		struct sweep_axis *a = sw->axes->pdata[i];
		if (a->kind == AXIS_SET && !strcmp(a->name, key)) {
			g_set_error(error, SWEEP_ERROR, 0,
				    "--grid %s: %s is already an axis", arg,
				    key);
			g_free(key);
			return false;
		}
	}
	GError *e = NULL;
	char **values = sweep_expand_values(eq + 1, &e);
	if (!values) {
		g_set_error(error, SWEEP_ERROR, 0, "--grid %s: %s", arg,
			    e->message);
		g_error_free(e);
		g_free(key);
		return false;
	}
	sweep_add_axis(sw, AXIS_SET, key, values);
	g_free(key);
	return true;
}

/* The dimensions (zip: the --grid axes together) and the point count. */
static bool sweep_dimensions(struct sweep *sw, GError **error)
{
	sw->ndims = 0;
	uint64_t total = 1;
	for (guint i = 0; i < sw->axes->len; i++) {
		struct sweep_axis *a = sw->axes->pdata[i];
		bool joins = sw->zip && a->kind == AXIS_SET && i > 0 &&
			     ((struct sweep_axis *)sw->axes->pdata[i - 1])
					     ->kind == AXIS_SET;
		if (joins) {
			unsigned d = sw->ndims - 1;
			if (a->n != sw->dim_len[d]) {
				struct sweep_axis *f =
					sw->axes->pdata[sw->dim_first[d]];
				g_set_error(error, SWEEP_ERROR, 0,
					    "--zip: --grid %s has %u values, "
					    "--grid %s %u: zipped lists are "
					    "as long as each other",
					    a->name, a->n, f->name, f->n);
				return false;
			}
			sw->dim_count[d]++;
			continue;
		}
		if (sw->ndims == G_N_ELEMENTS(sw->dim_len)) {
			g_set_error(error, SWEEP_ERROR, 0,
				    "more than %u axes",
				    (unsigned)G_N_ELEMENTS(sw->dim_len));
			return false;
		}
		sw->dim_first[sw->ndims] = i;
		sw->dim_count[sw->ndims] = 1;
		sw->dim_len[sw->ndims++] = a->n;
		total *= a->n;
		if (total > SWEEP_MAX_POINTS) {
			g_set_error(error, SWEEP_ERROR, 0,
				    "more than %d points", SWEEP_MAX_POINTS);
			return false;
		}
	}
	sw->npoints = (unsigned)total;
	return true;
}

static int sweep_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* KEY=VALUE of every override, the last one of a key winning, sorted. */
static char *sweep_canonical_overrides(char **sets)
{
	GHashTable *last = g_hash_table_new_full(g_str_hash, g_str_equal,
						 g_free, NULL);
	GPtrArray *keep = g_ptr_array_new();
	for (int i = (int)g_strv_length(sets) - 1; i >= 0; i--) {
		const char *eq = strchr(sets[i], '=');
		char *k = eq ? g_strndup(sets[i], (gsize)(eq - sets[i]))
			     : g_strdup(sets[i]);
		if (g_hash_table_add(last, k))
			g_ptr_array_add(keep, sets[i]);
	}
	qsort(keep->pdata, keep->len, sizeof(char *), sweep_cmp_str);
	g_ptr_array_add(keep, NULL);
	char *s = g_strjoinv("; ", (char **)keep->pdata);
	g_ptr_array_free(keep, TRUE);
	g_hash_table_destroy(last);
	return s;
}

/* Fill point @k's overrides from the axes. */
static void sweep_make_point(struct sweep *sw, unsigned k)
{
	struct sweep_point *p = &sw->pts[k];
	GPtrArray *sets = g_ptr_array_new();
	for (char **s = sw->sets; s && *s; s++)
		g_ptr_array_add(sets, g_strdup(*s));
	GString *brief = g_string_new(NULL);
	unsigned nset = 0;
	for (guint i = 0; i < sw->axes->len; i++)
		nset += ((struct sweep_axis *)sw->axes->pdata[i])->kind ==
			AXIS_SET;
	p->values = g_new0(struct campaign_value, MAX(nset, 1));
	unsigned rest = k, vi[64];
	for (int d = (int)sw->ndims - 1; d >= 0; d--) {
		vi[d] = rest % sw->dim_len[d];
		rest /= sw->dim_len[d];
	}
	unsigned sv = 0;
	for (unsigned d = 0; d < sw->ndims; d++)
		for (unsigned j = 0; j < sw->dim_count[d]; j++) {
			struct sweep_axis *a =
				sw->axes->pdata[sw->dim_first[d] + j];
			const char *v = a->values[vi[d]];
			g_string_append_printf(brief, "%s%s=%s",
					       brief->len ? " " : "", a->name,
					       v);
			switch (a->kind) {
			case AXIS_SET:
				g_ptr_array_add(sets, g_strdup_printf(
							      "%s=%s", a->name,
							      v));
				p->values[sv++] = a->typed[vi[d]];
				break;
			case AXIS_POLICY:
				p->policy = v;
				break;
			case AXIS_MIGRATION:
				p->migration = v;
				break;
			case AXIS_SEED:
				p->have_seed = true;
				p->seed = g_ascii_strtoull(v, NULL, 10);
				break;
			}
		}
	g_ptr_array_add(sets, NULL);
	p->sets = (char **)g_ptr_array_free(sets, FALSE);
	/* the policy, migration and seed are overrides too */
	GPtrArray *all = g_ptr_array_new_with_free_func(g_free);
	for (char **s = p->sets; *s; s++)
		g_ptr_array_add(all, g_strdup(*s));
	if (sw->duration)
		g_ptr_array_add(all, g_strdup_printf("sim.duration=%s",
						     sw->duration));
	if (p->policy)
		g_ptr_array_add(all, g_strdup_printf("sim.policy=%s",
						     p->policy));
	if (p->migration)
		g_ptr_array_add(all, g_strdup_printf("migration.policy=%s",
						     p->migration));
	if (p->have_seed)
		g_ptr_array_add(all, g_strdup_printf("sim.seed=%" G_GUINT64_FORMAT,
						     p->seed));
	g_ptr_array_add(all, NULL);
	p->overrides = sweep_canonical_overrides((char **)all->pdata);
	g_ptr_array_free(all, TRUE);
	p->label = g_strdup_printf("point %u", k);
	p->brief = g_string_free(brief, FALSE);
}

static void sweep_run_options(const struct sweep *sw, unsigned k,
			      struct run_options *opt)
{
	const struct sweep_point *p = &sw->pts[k];
	memset(opt, 0, sizeof(*opt));
	opt->sets = p->sets;
	opt->policy = p->policy;
	opt->migration = p->migration;
	opt->have_seed = p->have_seed;
	opt->seed = p->seed;
	opt->duration = sw->duration;
}

static const char *sweep_commit(void)
{
	return ODPSIM_COMMIT;
}

/* The key: what the run reads, what was overridden, which build. */
static char *sweep_key_of(const char *effective, const char *overrides)
{
	char *text = g_strdup_printf("odpsim %s\ncommit %s\noverrides %s\n%s",
				     ODPSIM_VERSION, sweep_commit(), overrides,
				     effective ? effective : "(not built)\n");
	char *sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256, text,
						  -1);
	sum[32] = 0;
	g_free(text);
	return sum;
}

/* Build point @k: its key, or its configuration error. */
static void sweep_validate_point(struct sweep *sw, unsigned k)
{
	struct sweep_point *p = &sw->pts[k];
	struct run_options opt;
	sweep_run_options(sw, k, &opt);
	GError *e = NULL;
	struct system *sys = system_build(sw->scenario, &opt, &p->io_error,
					  &e);
	if (!sys) {
		p->error = g_strdup(e->message);
		g_error_free(e);
		p->key = sweep_key_of(NULL, p->overrides);
		return;
	}
	char *eff = scenario_effective_values(sys->sc);
	p->key = sweep_key_of(eff, p->overrides);
	g_free(eff);
	system_free(sys);
}

/* ---- recording ---- */

static void sweep_row(const struct sweep *sw, unsigned k,
		      struct campaign_row *row)
{
	const struct sweep_point *p = &sw->pts[k];
	memset(row, 0, sizeof(*row));
	row->key = p->key;
	row->point = k;
	row->scenario = sw->scenario;
	row->policy = p->policy;
	row->migration = p->migration;
	row->seed = p->seed;
	row->overrides = p->overrides;
	row->version = ODPSIM_VERSION;
	row->commit = sweep_commit();
	row->nparams = sw->nparams;
	row->params = sw->params;
	row->values = p->values;
}

/* The grid parameters' columns, in axis order (free the array). */
static struct campaign_param *sweep_params(const struct sweep *sw,
					   unsigned *n)
{
	struct campaign_param *v = g_new0(struct campaign_param,
					  sw->axes->len + 1);
	*n = 0;
	for (guint i = 0; i < sw->axes->len; i++) {
		struct sweep_axis *a = sw->axes->pdata[i];
		if (a->kind == AXIS_SET)
			v[(*n)++] = a->param;
	}
	return v;
}

static bool sweep_prepare_db(struct sweep *sw, struct campaign *db,
			     GError **error)
{
	char *cmd = g_strjoinv(" ", sw->argv_campaign);
	GString *axes = g_string_new(NULL);
	for (guint i = 0; i < sw->axes->len; i++)
		g_string_append_printf(
			axes, "%s%s", axes->len ? "," : "",
			((struct sweep_axis *)sw->axes->pdata[i])->name);
	char *points = g_strdup_printf("%u", sw->npoints);
	bool ok = campaign_add_params(db, sw->params, sw->nparams, error) &&
		  campaign_set_meta(db, "scenario", sw->scenario, error) &&
		  campaign_set_meta(db, "campaign", cmd, error) &&
		  campaign_set_meta(db, "axes", axes->str, error) &&
		  campaign_set_meta(db, "points", points, error);
	g_free(points);
	g_string_free(axes, TRUE);
	g_free(cmd);
	return ok;
}

/* ---- running locally ---- */

static void sweep_tick(void *ctx)
{
	struct sweep *sw = ctx;
	if (!progress_due(&sw->prog))
		return;
	char detail[96];
	g_snprintf(detail, sizeof(detail), "%u of %u points done, %u failed",
		   sw->ran, sw->ntodo, sw->failed);
	progress_show(&sw->prog, sw->ntodo ? (double)sw->ran / sw->ntodo : 1,
		      detail);
}

/* Was the run stopped by SIGINT or SIGTERM (its summary says so)? */
static bool sweep_interrupted(const char *summary)
{
	struct json_value *v = json_parse(summary, NULL);
	const struct json_value *i = json_get(v, "interrupted");
	bool yes = i && i->type == JSON_BOOL && i->b;
	json_value_free(v);
	return yes;
}

static void sweep_job(void *ctx, unsigned idx, struct runpool_job *job)
{
	struct sweep *sw = ctx;
	unsigned k = sw->todo[idx];
	sweep_run_options(sw, k, &job->opt);
	job->scenario = sw->scenario;
	job->label = sw->pts[k].label;
}

static void sweep_done(void *ctx, unsigned idx, const struct runpool_result *r)
{
	struct sweep *sw = ctx;
	unsigned k = sw->todo[idx];
	const struct sweep_point *p = &sw->pts[k];
	/* interrupted: a run the signal cut short, or never started, is not
	 * a result */
	if (!g_strcmp0(r->failure, RUNPOOL_NOT_RUN) ||
	    (progress_signal() &&
	     (!r->summary || sweep_interrupted(r->summary))))
		return;
	sw->ran++;
	if (!r->summary)
		sw->failed++;
	struct campaign_row row;
	sweep_row(sw, k, &row);
	row.ok = r->summary != NULL;
	row.message = r->failure;
	row.exit_status = r->status;
	row.wall_s = r->wall_s;
	row.summary = r->summary;
	GError *e = NULL;
	if (!sw->db_error && !campaign_put(sw->db, &row, &e))
		sw->db_error = e;
	else
		sw->recorded++;
	if (!sw->quiet && (!sw->tty || !r->summary)) {
		progress_clear(&sw->prog);
		if (r->summary)
			fprintf(stderr, "odpsim: sweep: %s [%s] ok, %.2f s "
					"(%u/%u, %u failed)\n",
				p->label, p->brief, r->wall_s, sw->ran,
				sw->ntodo, sw->failed);
		else
			fprintf(stderr, "odpsim: sweep: %s [%s] failed: %s\n",
				p->label, p->brief, r->failure);
	}
	sweep_tick(sw);
}

/* Record the points that do not build as failed. */
static bool sweep_record_unbuilt(struct sweep *sw, const unsigned *which,
				 unsigned n, GError **error)
{
	for (unsigned i = 0; i < n; i++) {
		unsigned k = which[i];
		struct campaign_row row;
		sweep_row(sw, k, &row);
		row.ok = false;
		row.message = sw->pts[k].error;
		row.exit_status = sw->pts[k].io_error ? EXIT_IO : EXIT_CONFIG;
		if (!campaign_put(sw->db, &row, error))
			return false;
	}
	return true;
}

static bool sweep_mkdir(const char *dir, GError **error)
{
	if (g_mkdir_with_parents(dir, 0755) != 0) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "%s: cannot create directory: %s", dir,
			    strerror(errno));
		return false;
	}
	return true;
}

/* Points that do not build, one warning line each; @bad gets their
 * indices.  True when at least one point builds. */
static bool sweep_report_unbuilt(struct sweep *sw, const unsigned *cand,
				 unsigned n, GArray *bad)
{
	unsigned good = 0;
	for (unsigned i = 0; i < n; i++) {
		struct sweep_point *p = &sw->pts[cand[i]];
		if (!p->error) {
			good++;
			continue;
		}
		g_array_append_val(bad, cand[i]);
	}
	if (!good)
		return false;
	for (guint i = 0; i < bad->len; i++) {
		struct sweep_point *p = &sw->pts[g_array_index(bad, unsigned,
							       i)];
		fprintf(stderr, "odpsim: sweep: %s [%s] does not build, "
				"recorded as failed: %s\n",
			p->label, p->brief, p->error);
	}
	return true;
}

static int sweep_local(struct sweep *sw)
{
	GError *e = NULL;
	for (unsigned k = 0; k < sw->npoints; k++)
		sweep_validate_point(sw, k);
	unsigned *all = g_new(unsigned, sw->npoints);
	for (unsigned k = 0; k < sw->npoints; k++)
		all[k] = k;
	GArray *bad = g_array_new(FALSE, FALSE, sizeof(unsigned));
	if (!sweep_report_unbuilt(sw, all, sw->npoints, bad)) {
		/* nothing builds: a configuration error, nothing written */
		fprintf(stderr, "odpsim: %s\n", sw->pts[0].error);
		int rc = sw->pts[0].io_error ? EXIT_IO : EXIT_CONFIG;
		g_free(all);
		g_array_free(bad, TRUE);
		return rc;
	}
	g_free(all);
	char *path = g_build_filename(sw->out_dir, "campaign.sqlite", NULL);
	int rc = EXIT_OK;
	GHashTable *done = NULL;
	if (!sweep_mkdir(sw->out_dir, &e) ||
	    !(sw->db = campaign_open(path, true, &e)) ||
	    !sweep_prepare_db(sw, sw->db, &e) ||
	    !sweep_record_unbuilt(sw, (unsigned *)(void *)bad->data, bad->len,
				  &e) ||
	    !(done = campaign_done_keys(sw->db, &e))) {
		fprintf(stderr, "odpsim: %s\n", e->message);
		g_error_free(e);
		g_free(path);
		g_array_free(bad, TRUE);
		return EXIT_IO;
	}
	sw->todo = g_new(unsigned, sw->npoints);
	unsigned skipped = 0;
	GHashTable *queued = g_hash_table_new(g_str_hash, g_str_equal);
	for (unsigned k = 0; k < sw->npoints; k++) {
		struct sweep_point *p = &sw->pts[k];
		if (p->error)
			continue;
		if (!sw->force && g_hash_table_contains(done, p->key)) {
			skipped++;
			continue;
		}
		/* two points of one configuration run once */
		if (g_hash_table_add(queued, p->key))
			sw->todo[sw->ntodo++] = k;
	}
	g_hash_table_destroy(queued);
	g_hash_table_destroy(done);
	if (!sw->quiet)
		fprintf(stderr, "odpsim: sweep: %u points: %u to run, %u done "
				"already, %u do not build; -j %u; %s\n",
			sw->npoints, sw->ntodo, skipped, bad->len,
			MIN(sw->jobs, MAX(sw->ntodo, 1u)), path);
	progress_init(&sw->prog, sw->progress, sw->tty);
	struct runpool_spec spec = {
		.n = sw->ntodo, .jobs = sw->jobs, .capture_stderr = true,
		.prefix = "sweep", .job = sweep_job, .done = sweep_done,
		.ctx = sw, .tick = sweep_tick, .stop_on_signal = true,
	};
	progress_catch_signals();
	bool pool_ok = runpool_run(&spec, &e);
	progress_clear(&sw->prog);
	if (!pool_ok) {
		fprintf(stderr, "odpsim: sweep: %s\n", e->message);
		g_clear_error(&e);
		rc = EXIT_IO;
	}
	if (sw->db_error) {
		fprintf(stderr, "odpsim: %s\n", sw->db_error->message);
		rc = EXIT_IO;
	}
	int64_t ok_rows = campaign_count(sw->db, true);
	if (progress_signal()) {
		fprintf(stderr, "odpsim: sweep: interrupted: %u of %u runs "
				"recorded; the same command resumes\n",
			sw->recorded, sw->ntodo);
		rc = 128 + progress_signal();
	} else if (!sw->quiet) {
		fprintf(stderr, "odpsim: sweep: %u ran, %u failed; %s holds %"
				G_GINT64_FORMAT " ok runs\n",
			sw->ran, sw->failed + bad->len, path, ok_rows);
	}
	if (rc == EXIT_OK && (sw->failed || bad->len))
		rc = EXIT_IO;
	g_array_free(bad, TRUE);
	g_free(path);
	return rc;
}

/* ---- one point on its own (--point K) ---- */

struct sweep_one {
	struct sweep *sw;
	unsigned k;
	struct runpool_result r;
	char *summary, *failure;
};

static void sweep_one_job(void *ctx, unsigned idx, struct runpool_job *job)
{
	(void)idx;
	struct sweep_one *o = ctx;
	sweep_run_options(o->sw, o->k, &job->opt);
	job->scenario = o->sw->scenario;
	job->label = o->sw->pts[o->k].label;
}

static void sweep_one_done(void *ctx, unsigned idx,
			   const struct runpool_result *r)
{
	(void)idx;
	struct sweep_one *o = ctx;
	o->r = *r;
	o->summary = g_strdup(r->summary);
	o->failure = g_strdup(r->failure);
}

/* Is @path a point database holding @key as ok? */
static bool sweep_point_done(const char *path, const char *key)
{
	if (!g_file_test(path, G_FILE_TEST_IS_REGULAR))
		return false;
	struct campaign *c = campaign_open(path, false, NULL);
	if (!c)
		return false;
	GHashTable *h = campaign_done_keys(c, NULL);
	bool done = h && g_hash_table_contains(h, key);
	if (h)
		g_hash_table_destroy(h);
	campaign_close(c);
	return done;
}

static int sweep_point(struct sweep *sw, unsigned k)
{
	if (k >= sw->npoints) {
		fprintf(stderr, "odpsim: sweep --point %u: the campaign has "
				"points 0 to %u\n", k, sw->npoints - 1);
		return EXIT_CONFIG;
	}
	sweep_validate_point(sw, k);
	struct sweep_point *p = &sw->pts[k];
	char *dir = g_build_filename(sw->out_dir, "points", NULL);
	char *name = g_strdup_printf("%s.sqlite", p->key);
	char *path = g_build_filename(dir, name, NULL);
	g_free(name);
	int rc = EXIT_OK;
	GError *e = NULL;
	if (!sw->force && sweep_point_done(path, p->key)) {
		if (!sw->quiet)
			fprintf(stderr, "odpsim: sweep: %s [%s] done already: "
					"%s\n", p->label, p->brief, path);
		goto out;
	}
	struct sweep_one o = { .sw = sw, .k = k };
	if (!p->error) {
		struct runpool_spec spec = {
			.n = 1, .jobs = 1, .capture_stderr = true,
			.prefix = "sweep", .job = sweep_one_job,
			.done = sweep_one_done, .ctx = &o,
			.stop_on_signal = true,
		};
		progress_catch_signals();
		if (!runpool_run(&spec, &e)) {
			fprintf(stderr, "odpsim: sweep: %s\n", e->message);
			g_clear_error(&e);
			rc = EXIT_IO;
			goto out;
		}
		if (progress_signal()) {
			/* cut short: no row, the point runs again next time */
			fprintf(stderr, "odpsim: sweep: %s interrupted, not "
					"recorded\n", p->label);
			rc = 128 + progress_signal();
			g_free(o.summary);
			g_free(o.failure);
			goto out;
		}
	}
	/* the row goes to a temporary beside its file, renamed when whole */
	char *tmp = g_strdup_printf("%s/.%s.XXXXXX", dir, p->key);
	struct campaign_row row;
	sweep_row(sw, k, &row);
	row.ok = o.summary != NULL;
	row.message = p->error ? p->error : o.failure;
	row.exit_status = p->error ? (p->io_error ? EXIT_IO : EXIT_CONFIG)
				   : o.r.status;
	row.wall_s = o.r.wall_s;
	row.summary = o.summary;
	struct campaign *db = NULL;
	int fd = -1;
	bool ok = sweep_mkdir(dir, &e) && (fd = g_mkstemp(tmp)) >= 0;
	if (fd >= 0)
		close(fd);
	else if (!e)
		g_set_error(&e, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "%s: cannot create: %s", tmp, strerror(errno));
	ok = ok && (db = campaign_open(tmp, true, &e)) &&
	     sweep_prepare_db(sw, db, &e) && campaign_put(db, &row, &e);
	campaign_close(db);
	if (ok && rename(tmp, path) != 0) {
		g_set_error(&e, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "%s: cannot rename into place: %s", path,
			    strerror(errno));
		ok = false;
	}
	if (!ok) {
		if (fd >= 0)
			unlink(tmp);
		fprintf(stderr, "odpsim: %s\n", e->message);
		g_clear_error(&e);
		rc = EXIT_IO;
	} else if (!row.ok) {
		fprintf(stderr, "odpsim: sweep: %s [%s] failed: %s\n",
			p->label, p->brief, row.message);
		rc = EXIT_IO;
	} else if (!sw->quiet) {
		fprintf(stderr, "odpsim: sweep: %s [%s] ok, %.2f s: %s\n",
			p->label, p->brief, o.r.wall_s, path);
	}
	g_free(tmp);
	g_free(o.summary);
	g_free(o.failure);
out:
	g_free(dir);
	g_free(path);
	return rc;
}

/* ---- jobs for other engines ---- */

/* This binary, as an absolute path (what the jobs run). */
static char *sweep_self(const char *given)
{
	if (given)
		return g_canonicalize_filename(given, NULL);
	char *self = g_file_read_link("/proc/self/exe", NULL);
	return self ? self : g_find_program_in_path("odpsim");
}

/* One job's command line for point @k ("$SLURM_ARRAY_TASK_ID" unquoted
 * when @k is NULL-like: @var). */
static char *sweep_job_line(const struct sweep *sw, const char *self,
			    const char *point)
{
	GString *s = g_string_new(NULL);
	char *q = g_shell_quote(self);
	g_string_append(s, q);
	g_free(q);
	g_string_append(s, " sweep");
	for (char **a = sw->argv_campaign; *a; a++) {
		q = g_shell_quote(*a);
		g_string_append_printf(s, " %s", q);
		g_free(q);
	}
	g_string_append_printf(s, " --point %s --quiet", point);
	return g_string_free(s, FALSE);
}

static int sweep_emit(struct sweep *sw, const char *engine, const char *odp,
		      unsigned throttle, char **sbatch_opts)
{
	char *self = sweep_self(odp);
	GError *e = NULL;
	int rc = EXIT_OK;
	if (!self) {
		fprintf(stderr, "odpsim: sweep --emit: cannot find this "
				"binary's path; give --odpsim PATH\n");
		return EXIT_IO;
	}
	/* the points must build before a cluster spends time on them */
	for (unsigned k = 0; k < sw->npoints; k++)
		sweep_validate_point(sw, k);
	unsigned *all = g_new(unsigned, sw->npoints);
	for (unsigned k = 0; k < sw->npoints; k++)
		all[k] = k;
	GArray *bad = g_array_new(FALSE, FALSE, sizeof(unsigned));
	bool any = sweep_report_unbuilt(sw, all, sw->npoints, bad);
	g_free(all);
	g_array_free(bad, TRUE);
	if (!any) {
		fprintf(stderr, "odpsim: %s\n", sw->pts[0].error);
		g_free(self);
		return sw->pts[0].io_error ? EXIT_IO : EXIT_CONFIG;
	}
	char *path = NULL;
	GString *s = g_string_new(NULL);
	bool ok = sweep_mkdir(sw->out_dir, &e);
	if (!strcmp(engine, "parallel")) {
		path = g_build_filename(sw->out_dir, "jobs.txt", NULL);
		for (unsigned k = 0; k < sw->npoints; k++) {
			char *n = g_strdup_printf("%u", k);
			char *l = sweep_job_line(sw, self, n);
			g_string_append_printf(s, "%s\n", l);
			g_free(l);
			g_free(n);
		}
	} else {
		path = g_build_filename(sw->out_dir, "sweep.sbatch", NULL);
		char *logs = g_build_filename(sw->out_dir, "logs", NULL);
		ok = ok && sweep_mkdir(logs, &e);
		char *l = sweep_job_line(sw, self, "\"$SLURM_ARRAY_TASK_ID\"");
		char *lq = g_shell_quote(logs);
		g_string_append_printf(
			s, "#!/bin/bash\n"
			   "# odpsim sweep: one array task per point (%u).  "
			   "Submit with: sbatch %s\n"
			   "# then gather the rows: odpsim sweep --merge %s\n"
			   "#SBATCH --job-name=odpsim-sweep\n"
			   "#SBATCH --array=0-%u",
			sw->npoints, path, sw->out_dir, sw->npoints - 1);
		if (throttle)
			g_string_append_printf(s, "%%%u", throttle);
		g_string_append_printf(s,
				       "\n#SBATCH --ntasks=1\n"
				       "#SBATCH --cpus-per-task=1\n"
				       "#SBATCH --output=%s/point-%%a.out\n",
				       logs);
		for (char **o = sbatch_opts; o && *o; o++)
			g_string_append_printf(s, "#SBATCH %s\n", *o);
		g_string_append_printf(s, "set -eu\nmkdir -p %s\nexec %s\n", lq,
				       l);
		g_free(lq);
		g_free(l);
		g_free(logs);
	}
	ok = ok && outfile_write_file(path, s->str, s->len, &e);
	if (ok && !strcmp(engine, "slurm") && chmod(path, 0755) != 0) {
		g_set_error(&e, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "%s: chmod: %s", path, strerror(errno));
		ok = false;
	}
	if (!ok) {
		fprintf(stderr, "odpsim: %s\n", e->message);
		g_error_free(e);
		rc = EXIT_IO;
	} else if (!strcmp(engine, "parallel")) {
		printf("wrote %s: %u jobs, one per point; run them with\n"
		       "  parallel --jobs N < %s    (this machine)\n"
		       "  parallel --sshloginfile NODES --jobs N < %s    "
		       "(over ssh: %s and %s on a file system every node "
		       "shares)\n"
		       "then gather the rows: %s sweep --merge %s\n",
		       path, sw->npoints, path, path, self, sw->out_dir, self,
		       sw->out_dir);
	} else {
		printf("wrote %s: a job array of %u tasks, one per point%s; "
		       "submit it with\n  sbatch %s\n"
		       "then gather the rows: %s sweep --merge %s\n",
		       path, sw->npoints, throttle ? " (throttled)" : "", path,
		       self, sw->out_dir);
	}
	g_string_free(s, TRUE);
	g_free(path);
	g_free(self);
	return rc;
}

/* ---- merge, export, list, plot ---- */

static int sweep_merge(char **dirs, const char *out, bool allow_mixed)
{
	const char *target = out ? out : dirs[0];
	GError *e = NULL;
	char *path = g_build_filename(target, "campaign.sqlite", NULL);
	struct campaign *db = NULL;
	int rc = EXIT_OK;
	unsigned files = 0, rows = 0;
	/* every input first: a typo creates nothing */
	for (char **d = dirs; *d; d++)
		if (!g_file_test(*d, G_FILE_TEST_EXISTS)) {
			fprintf(stderr, "odpsim: sweep --merge %s: no such "
					"directory or file\n", *d);
			g_free(path);
			return EXIT_IO;
		}
	if (!sweep_mkdir(target, &e) ||
	    !(db = campaign_open(path, true, &e))) {
		fprintf(stderr, "odpsim: %s\n", e->message);
		g_error_free(e);
		g_free(path);
		return EXIT_IO;
	}
	for (char **d = dirs; *d && rc == EXIT_OK; d++) {
		GPtrArray *src = g_ptr_array_new_with_free_func(g_free);
		if (g_file_test(*d, G_FILE_TEST_IS_REGULAR)) {
			g_ptr_array_add(src, g_strdup(*d));
		} else if (g_file_test(*d, G_FILE_TEST_IS_DIR)) {
			char *c = g_build_filename(*d, "campaign.sqlite", NULL);
			char *rc1 = g_canonicalize_filename(c, NULL);
			char *rc2 = g_canonicalize_filename(path, NULL);
			if (g_file_test(c, G_FILE_TEST_IS_REGULAR) &&
			    strcmp(rc1, rc2))
				g_ptr_array_add(src, g_strdup(c));
			g_free(rc1);
			g_free(rc2);
			g_free(c);
			char *pd = g_build_filename(*d, "points", NULL);
			GDir *gd = g_dir_open(pd, 0, NULL);
			GPtrArray *names = g_ptr_array_new_with_free_func(
				g_free);
			const char *n;
			while (gd && (n = g_dir_read_name(gd)))
				if (g_str_has_suffix(n, ".sqlite") && *n != '.')
					g_ptr_array_add(names, g_build_filename(
								       pd, n,
								       NULL));
			if (gd)
				g_dir_close(gd);
			g_ptr_array_sort(names, (GCompareFunc)sweep_cmp_str);
			for (guint i = 0; i < names->len; i++)
				g_ptr_array_add(src,
						g_strdup(names->pdata[i]));
			g_ptr_array_free(names, TRUE);
			g_free(pd);
			if (!src->len) {
				fprintf(stderr, "odpsim: sweep --merge %s: no "
						"campaign.sqlite and no "
						"points/*.sqlite there\n", *d);
				rc = EXIT_IO;
			}
		} else {
			fprintf(stderr, "odpsim: sweep --merge %s: no such "
					"directory or file\n", *d);
			rc = EXIT_IO;
		}
		for (guint i = 0; rc == EXIT_OK && i < src->len; i++) {
			unsigned added;
			if (!campaign_merge(db, src->pdata[i], allow_mixed,
					    &added, &e)) {
				fprintf(stderr, "odpsim: sweep --merge: %s\n",
					e->message);
				g_clear_error(&e);
				rc = EXIT_IO;
			}
			files++;
			rows += added;
		}
		g_ptr_array_free(src, TRUE);
	}
	if (rc == EXIT_OK)
		fprintf(stderr, "odpsim: sweep: merged %u rows from %u files "
				"into %s (%" G_GINT64_FORMAT " runs, %"
				G_GINT64_FORMAT " ok)\n",
			rows, files, path, campaign_count(db, false),
			campaign_count(db, true));
	campaign_close(db);
	g_free(path);
	return rc;
}

static int sweep_export(const char *format, const char *dir)
{
	if (strcmp(format, "csv")) {
		fprintf(stderr, "odpsim: sweep --export %s: the format is csv\n",
			format);
		return EXIT_CONFIG;
	}
	GError *e = NULL;
	char *path = g_build_filename(dir, "campaign.sqlite", NULL);
	struct campaign *db = campaign_open(path, false, &e);
	bool ok = db && campaign_export_csv(db, dir, &e);
	if (!ok)
		fprintf(stderr, "odpsim: %s\n", e->message);
	else
		fprintf(stderr, "odpsim: sweep: wrote %s/results.csv and "
				"%s/results.dtypes.json\n", dir, dir);
	g_clear_error(&e);
	campaign_close(db);
	g_free(path);
	return ok ? EXIT_OK : EXIT_IO;
}

static int sweep_list(struct sweep *sw)
{
	char *path = g_build_filename(sw->out_dir, "campaign.sqlite", NULL);
	struct campaign *db = g_file_test(path, G_FILE_TEST_EXISTS)
				      ? campaign_open(path, false, NULL)
				      : NULL;
	GHashTable *done = db ? campaign_done_keys(db, NULL) : NULL;
	for (unsigned k = 0; k < sw->npoints; k++) {
		sweep_validate_point(sw, k);
		struct sweep_point *p = &sw->pts[k];
		printf("%u\t%s\t%s\t%s\n", k, p->key,
		       p->error ? "does not build"
		       : done && g_hash_table_contains(done, p->key) ? "done"
								      : "to run",
		       p->brief);
	}
	if (done)
		g_hash_table_destroy(done);
	campaign_close(db);
	g_free(path);
	return EXIT_OK;
}

/* tools/plot_sweep.py beside this binary's tree (build/odpsim ->
 * tools/), or installed (PREFIX/bin/odpsim -> PREFIX/share/odpsim/tools),
 * or $ODPSIM_TOOLS_DIR. */
static char *sweep_find_plotter(void)
{
	const char *env = g_getenv("ODPSIM_TOOLS_DIR");
	if (env && *env)
		return g_build_filename(env, "plot_sweep.py", NULL);
	char *self = sweep_self(NULL);
	if (!self)
		return NULL;
	char *bin = g_path_get_dirname(self);
	const char *const tries[] = { "../tools", "../../tools",
				      "../share/odpsim/tools" };
	char *found = NULL;
	for (unsigned i = 0; i < G_N_ELEMENTS(tries) && !found; i++) {
		char *p = g_build_filename(bin, tries[i], "plot_sweep.py",
					   NULL);
		if (g_file_test(p, G_FILE_TEST_IS_REGULAR))
			found = p;
		else
			g_free(p);
	}
	g_free(bin);
	g_free(self);
	return found;
}

static int sweep_plot(const char *dir, const char *metric, const char *x,
		      const char *lines, const char *workload)
{
	char *tool = sweep_find_plotter();
	if (!tool) {
		fprintf(stderr, "odpsim: sweep --plot: tools/plot_sweep.py not "
				"found beside this binary; set "
				"ODPSIM_TOOLS_DIR\n");
		return EXIT_IO;
	}
	const char *py = g_getenv("PYTHON");
	GPtrArray *v = g_ptr_array_new();
	g_ptr_array_add(v, (char *)(py && *py ? py : "/usr/bin/python3"));
	g_ptr_array_add(v, tool);
	g_ptr_array_add(v, (char *)dir);
	g_ptr_array_add(v, (char *)metric);
	if (x) {
		g_ptr_array_add(v, "--x");
		g_ptr_array_add(v, (char *)x);
	}
	if (lines) {
		g_ptr_array_add(v, "--lines");
		g_ptr_array_add(v, (char *)lines);
	}
	if (workload) {
		g_ptr_array_add(v, "--workload");
		g_ptr_array_add(v, (char *)workload);
	}
	g_ptr_array_add(v, NULL);
	fflush(NULL);
	int status = -1;
	GError *e = NULL;
	bool ok = g_spawn_sync(NULL, (char **)v->pdata, NULL,
			       G_SPAWN_CHILD_INHERITS_STDIN, NULL, NULL, NULL,
			       NULL, &status, &e);
	int rc = EXIT_OK;
	if (!ok) {
		fprintf(stderr, "odpsim: sweep --plot: %s\n", e->message);
		g_error_free(e);
		rc = EXIT_IO;
	} else if (!g_spawn_check_wait_status(status, NULL)) {
		rc = EXIT_IO;
	}
	g_ptr_array_free(v, TRUE);
	g_free(tool);
	return rc;
}

/* ---- the command ---- */

static int sweep_usage_error(const char *msg)
{
	fprintf(stderr, "odpsim: %s\n(try 'odpsim sweep --help')\n", msg);
	return EXIT_CONFIG;
}

/* "--OPT VALUE" onto @v (nothing when @value is NULL). */
static void sweep_argv_add(GPtrArray *v, const char *opt, const char *value)
{
	if (!value)
		return;
	g_ptr_array_add(v, g_strdup(opt));
	g_ptr_array_add(v, g_strdup(value));
}

/* The options that define the campaign, as a job passes them on. */
static char **sweep_campaign_argv(const char *scenario, char **grids,
				  bool zip, const char *policy,
				  const char *migration, gint seeds,
				  const char *seed_list, char **sets,
				  const char *duration, const char *out,
				  bool force)
{
	GPtrArray *v = g_ptr_array_new();
	g_ptr_array_add(v, g_canonicalize_filename(scenario, NULL));
	for (char **g = grids; g && *g; g++)
		sweep_argv_add(v, "--grid", *g);
	if (zip)
		g_ptr_array_add(v, g_strdup("--zip"));
	sweep_argv_add(v, "--policy", policy);
	sweep_argv_add(v, "--migration", migration);
	if (seeds > 0) {
		char *n = g_strdup_printf("%d", seeds);
		sweep_argv_add(v, "--seeds", n);
		g_free(n);
	}
	sweep_argv_add(v, "--seed-list", seed_list);
	for (char **s = sets; s && *s; s++)
		sweep_argv_add(v, "--set", *s);
	sweep_argv_add(v, "--duration", duration);
	if (force)
		g_ptr_array_add(v, g_strdup("--force"));
	char *o = g_canonicalize_filename(out, NULL);
	sweep_argv_add(v, "--out", o);
	g_free(o);
	g_ptr_array_add(v, NULL);
	return (char **)g_ptr_array_free(v, FALSE);
}

/* --seeds N, --seed-list: the seed axis's values. */
static char **sweep_seed_values(gint seeds, const char *list, GError **error)
{
	if (seeds > 0) {
		char **v = g_new0(char *, (gsize)seeds + 1);
		for (gint i = 0; i < seeds; i++)
			v[i] = g_strdup_printf("%d", i + 1);
		return v;
	}
	char **v = sweep_expand_values(list, error);
	for (char **s = v; s && *s; s++) {
		uint64_t x;
		if (!units_parse(*s, UNIT_COUNT, &x, NULL) || x > INT64_MAX) {
			g_set_error(error, SWEEP_ERROR, 0,
				    "--seed-list %s: '%s' is not a seed (an "
				    "integer >= 0)", list, *s);
			g_strfreev(v);
			return NULL;
		}
	}
	return v;
}

int sweep_command(int argc_in, char **argv_in)
{
	char **args = runpool_split_jobs(argc_in, argv_in);
	int argc = (int)g_strv_length(args);
	char **argv = g_memdup2(args, sizeof(char *) * ((size_t)argc + 1));
	char **grids = NULL, **sets = NULL, **sbatch = NULL;
	char *policy = NULL, *migration = NULL, *seed_list = NULL;
	char *duration = NULL, *out = NULL, *emit = NULL, *odp = NULL;
	char *export = NULL, *plot = NULL, *px = NULL, *plines = NULL;
	char *pwl = NULL;
	gint seeds = 0, jobs = -1, throttle = 0;
	gint64 point = -1;
	gboolean zip = FALSE, force = FALSE, quiet = FALSE, columns = FALSE;
	gboolean allow_mixed = FALSE, list = FALSE, merge = FALSE;
	gboolean progress = FALSE, no_progress = FALSE;
	GOptionEntry entries[] = {
		{ "grid", 'g', 0, G_OPTION_ARG_STRING_ARRAY, &grids,
		  "an axis: a scenario key as --set spells it and its values "
		  "(V1,V2; LO..HI*F powers; LO..HI:STEP; with units), "
		  "repeatable", "KEY=VALUES" },
		{ "zip", 0, 0, G_OPTION_ARG_NONE, &zip,
		  "pair the --grid lists (the i-th values together) instead "
		  "of their product", NULL },
		{ "policy", 'p', 0, G_OPTION_ARG_STRING, &policy,
		  "an axis of registration policies", "P1,P2,..." },
		{ "migration", 0, 0, G_OPTION_ARG_STRING, &migration,
		  "an axis of live-migration policies", "M1,M2,..." },
		{ "seeds", 0, 0, G_OPTION_ARG_INT, &seeds,
		  "an axis of seeds 1..N", "N" },
		{ "seed-list", 0, 0, G_OPTION_ARG_STRING, &seed_list,
		  "an axis of these seeds", "S1,S2,..." },
		{ "set", 0, 0, G_OPTION_ARG_STRING_ARRAY, &sets,
		  "override a scenario key in every run (repeatable)",
		  "TYPE[.NAME].KEY=VALUE" },
		{ "duration", 'd', 0, G_OPTION_ARG_STRING, &duration,
		  "simulated time of every run, with a unit", "T" },
		{ "out", 'o', 0, G_OPTION_ARG_FILENAME, &out,
		  "the campaign's directory: DIR/campaign.sqlite (required)",
		  "DIR" },
		{ "jobs", 'j', 0, G_OPTION_ARG_INT, &jobs,
		  "runs at once (default: the online CPUs)", "N" },
		{ "force", 0, 0, G_OPTION_ARG_NONE, &force,
		  "run points already recorded as ok again", NULL },
		{ "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet,
		  "no progress or per-point lines on stderr", NULL },
		{ "progress", 0, 0, G_OPTION_ARG_NONE, &progress,
		  "show the progress line (points done, failures, ETA) even "
		  "when stderr is not a terminal", NULL },
		{ "no-progress", 0, 0, G_OPTION_ARG_NONE, &no_progress,
		  "never show the progress line", NULL },
		{ "list", 0, 0, G_OPTION_ARG_NONE, &list,
		  "print the points (index, key, state, values) and run "
		  "nothing", NULL },
		{ "point", 0, 0, G_OPTION_ARG_INT64, &point,
		  "run point K alone, into DIR/points/KEY.sqlite (what "
		  "emitted jobs do)", "K" },
		{ "emit", 0, 0, G_OPTION_ARG_STRING, &emit,
		  "write jobs instead of running: parallel (DIR/jobs.txt for "
		  "GNU parallel) or slurm (DIR/sweep.sbatch, a job array)",
		  "ENGINE" },
		{ "odpsim", 0, 0, G_OPTION_ARG_FILENAME, &odp,
		  "the binary the emitted jobs run (default: this one)",
		  "PATH" },
		{ "throttle", 0, 0, G_OPTION_ARG_INT, &throttle,
		  "--emit slurm: at most N array tasks at once (--array=...%N)",
		  "N" },
		{ "sbatch-option", 0, 0, G_OPTION_ARG_STRING_ARRAY, &sbatch,
		  "--emit slurm: one more #SBATCH line (repeatable), e.g. "
		  "--sbatch-option=--partition=short", "OPT" },
		{ "merge", 0, 0, G_OPTION_ARG_NONE, &merge,
		  "odpsim sweep --merge DIR...: gather DIR/campaign.sqlite and "
		  "DIR/points/*.sqlite of each DIR into --out (default: the "
		  "first DIR)", NULL },
		{ "allow-mixed", 0, 0, G_OPTION_ARG_NONE, &allow_mixed,
		  "--merge: accept runs of other odpsim versions or commits",
		  NULL },
		{ "export", 0, 0, G_OPTION_ARG_STRING, &export,
		  "write DIR/results.csv and DIR/results.dtypes.json from "
		  "DIR/campaign.sqlite (DIR after the options)", "csv" },
		{ "columns", 0, 0, G_OPTION_ARG_NONE, &columns,
		  "print the database's columns, types and units", NULL },
		{ "plot", 0, 0, G_OPTION_ARG_STRING, &plot,
		  "after the runs, draw METRIC against a grid axis "
		  "(tools/plot_sweep.py): DIR/sweep-METRIC.png and .svg",
		  "METRIC" },
		{ "x", 0, 0, G_OPTION_ARG_STRING, &px,
		  "--plot: the axis on the x axis (default: the first --grid)",
		  "AXIS" },
		{ "lines", 0, 0, G_OPTION_ARG_STRING, &plines,
		  "--plot: one line per value of this axis (default: policy)",
		  "AXIS" },
		{ "workload", 0, 0, G_OPTION_ARG_STRING, &pwl,
		  "--plot: the workload of a per-workload metric", "NAME" },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	GOptionContext *ctx = g_option_context_new(
		"SCENARIO - run a scenario over a grid of parameters into one "
		"campaign database");
	g_option_context_add_main_entries(ctx, entries, NULL);
	g_option_context_set_description(
		ctx,
		"  odpsim sweep S.ini --grid nic.mtt_cache_entries=256..8192*2 "
		"--policy pin,odp --seeds 3 -o DIR\n"
		"  odpsim sweep ... -o DIR --emit parallel|slurm   then  "
		"odpsim sweep --merge DIR\n"
		"  odpsim sweep --export csv DIR;  odpsim sweep --columns\n"
		"Points are the product of the axes, numbered from 0, the last "
		"axis fastest.  Each\nis one run in its own process; its row "
		"is keyed by a hash of its effective\nconfiguration and the "
		"odpsim build, so a point recorded as ok is skipped (a\n"
		"killed campaign resumes; --force reruns).  A point that "
		"fails is recorded with\nits message and the others go on.\n"
		"Exit status: 0 every point ok, 1 a point failed or an I/O "
		"error, 2 configuration\nerror (nothing was run), 128+N "
		"interrupted by signal N.");
	GError *err = NULL;
	int rc = EXIT_OK;
	struct sweep *sw = NULL;
	if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
		rc = sweep_usage_error(err->message);
		goto out;
	}
	if (columns) {
		campaign_print_columns(stdout);
		goto out;
	}
	if (merge) {
		if (argc < 2)
			rc = sweep_usage_error("sweep --merge DIR...: no DIR");
		else
			rc = sweep_merge(argv + 1, out, allow_mixed);
		goto out;
	}
	if (allow_mixed) {
		rc = sweep_usage_error("--allow-mixed goes with --merge");
		goto out;
	}
	if (export) {
		if (argc != 2)
			rc = sweep_usage_error("sweep --export csv DIR: one "
					       "DIR");
		else
			rc = sweep_export(export, argv[1]);
		goto out;
	}
	if (argc != 2) {
		rc = sweep_usage_error(argc < 2 ? "sweep: missing SCENARIO"
						: "sweep: more than one "
						  "SCENARIO");
		goto out;
	}
	if (!out) {
		rc = sweep_usage_error("sweep: --out DIR is required (the "
				       "campaign's directory)");
		goto out;
	}
	if (jobs != -1 && jobs < 1) {
		rc = sweep_usage_error("--jobs must be >= 1");
		goto out;
	}
	if (seeds < 0 || (seeds > 0 && seed_list)) {
		rc = sweep_usage_error(seeds < 0 ? "--seeds must be >= 1"
					       : "--seeds and --seed-list are "
						 "one axis: give one");
		goto out;
	}
	if (emit && strcmp(emit, "parallel") && strcmp(emit, "slurm")) {
		rc = sweep_usage_error("--emit: parallel or slurm");
		goto out;
	}
	if (emit && point >= 0) {
		rc = sweep_usage_error("--emit writes jobs, --point runs one: "
				       "give one");
		goto out;
	}
	if (throttle < 0 || ((throttle || sbatch) &&
			     g_strcmp0(emit, "slurm"))) {
		rc = sweep_usage_error("--throttle N (N >= 1) and "
				       "--sbatch-option go with --emit slurm");
		goto out;
	}
	if (progress && no_progress) {
		rc = sweep_usage_error("--progress and --no-progress: give "
				       "one");
		goto out;
	}
	if (point < -1 || point > G_MAXUINT) {
		rc = sweep_usage_error("--point K: K >= 0");
		goto out;
	}
	/* a bare NAME is an installed scenario too (`sweep demo`) */
	char *scn = system_find_scenario(argv[1], &err);
	if (!scn) {
		fprintf(stderr, "odpsim: %s\n", err->message);
		rc = EXIT_IO;
		goto out;
	}
	sw = g_new0(struct sweep, 1);
	sw->axes = g_ptr_array_new_with_free_func(
		(GDestroyNotify)sweep_axis_free);
	sw->scenario = scn;
	sw->zip = zip;
	sw->sets = g_strdupv(sets);
	sw->duration = g_strdup(duration);
	sw->out_dir = g_strdup(out);
	sw->force = force;
	sw->quiet = quiet;
	sw->tty = isatty(STDERR_FILENO);
	sw->progress = !quiet && (progress || (!no_progress && sw->tty));
	sw->jobs = jobs != -1 ? (unsigned)jobs : g_get_num_processors();
	for (char **g = grids; g && *g; g++)
		if (!sweep_parse_grid(sw, *g, &err))
			break;
	if (!err && policy) {
		char **v = compare_parse_policies(policy, &err);
		if (v)
			sweep_add_axis(sw, AXIS_POLICY, "policy", v);
	}
	if (!err && migration) {
		char **v = compare_parse_migrations(migration, &err);
		if (v)
			sweep_add_axis(sw, AXIS_MIGRATION, "migration_policy",
				       v);
	}
	if (!err && (seeds > 0 || seed_list)) {
		char **v = sweep_seed_values(seeds, seed_list, &err);
		if (v)
			sweep_add_axis(sw, AXIS_SEED, "seed", v);
	}
	if (!err)
		sweep_dimensions(sw, &err);
	if (err) {
		fprintf(stderr, "odpsim: sweep: %s\n", err->message);
		rc = EXIT_CONFIG;
		goto out;
	}
	sw->argv_campaign = sweep_campaign_argv(sw->scenario, grids, zip, policy,
						migration, seeds, seed_list,
						sets, duration, out, force);
	sw->params = sweep_params(sw, &sw->nparams);
	sw->pts = g_new0(struct sweep_point, sw->npoints);
	for (unsigned k = 0; k < sw->npoints; k++)
		sweep_make_point(sw, k);
	if (list)
		rc = sweep_list(sw);
	else if (emit)
		rc = sweep_emit(sw, emit, odp, (unsigned)throttle, sbatch);
	else if (point >= 0)
		rc = sweep_point(sw, (unsigned)point);
	else
		rc = sweep_local(sw);
	if (plot && !list && !emit && point < 0 && (rc == EXIT_OK ||
						    rc == EXIT_IO)) {
		int prc = sweep_plot(out, plot, px, plines, pwl);
		if (rc == EXIT_OK)
			rc = prc;
	}
out:
	sweep_free(sw);
	g_clear_error(&err);
	g_option_context_free(ctx);
	g_strfreev(grids);
	g_strfreev(sets);
	g_strfreev(sbatch);
	g_free(policy);
	g_free(migration);
	g_free(seed_list);
	g_free(duration);
	g_free(out);
	g_free(emit);
	g_free(odp);
	g_free(export);
	g_free(plot);
	g_free(px);
	g_free(plines);
	g_free(pwl);
	g_free(argv);
	g_strfreev(args);
	return rc;
}
