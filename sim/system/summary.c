/*
 * sim/system/summary.c - the summaries of a run: the text on stdout, the
 * JSON object (README.md: The summary) and perftest's report blocks
 * (--format perftest; summary.h).
 *
 * Representation: each workload's figures are computed once, into a
 * struct wl_figures, from its struct workload_result; the text and the
 * JSON print the same figures.  A figure a run does not have is absent,
 * never 0: no completion gives no bandwidth or message rate, no latency
 * sample no percentile, a workload whose operations do not complete in
 * order (or a ping-pong) no peak bandwidth.  Absent prints as "-" in the
 * text and null in the JSON.
 *
 * Percentiles are those of sim/stats.h: exact (nearest rank) up to
 * HIST_EXACT_MAX samples, interpolated in the log-linear bucket beyond;
 * "exact" says which, and the text marks an interpolated one with "~".
 *
 * perftest's figures (linux-rdma/perftest, src/perftest_parameters.c), for
 * the workloads that name a verb (workloads/workload.h):
 *   BW average = bytes / (last completion - first post), print_report_bw();
 *     Gb/s are 10^9 bit/s (its format_factor 125000000 bytes per Gb);
 *   MsgRate = completions / the same interval / 10^6;
 *   BW peak = the best (bytes of ops i..j) / (completion of j - post of
 *     i) over all runs i..j, print_report_bw() with cq_mod = 1 (every WR
 *     is signalled here): sim/stats.h's rate_peak, never above the link;
 *   latency (print_report_lat()): the samples sorted, the
 *     LAT_MEASURE_TAIL = 2 largest dropped (m = n - 2 kept), t_min = s[0],
 *     t_max = s[m] (the smallest dropped, as perftest prints it),
 *     t_typical = get_median() of the m kept (the mean of the middle two
 *     when m is even), t_avg and t_stdev over the m kept, the 99% and
 *     99.9% percentiles s[ceil(m * 0.99)] and s[ceil(m * 0.999)].
 *     perftest truncates each deviation to a whole microsecond before
 *     squaring it (an int), which makes t_stdev 0 for sub-microsecond
 *     spreads; ours is the real population standard deviation.  Past
 *     HIST_EXACT_MAX samples these come from the histogram (exact false).
 *   A ping-pong's sample is half the round trip (perftest's rtt_factor 2
 *   for WRITE and SEND, 1 for READ); a stream's latency is each
 *   operation's completion - post, perftest's LAT_BY_BW measure.
 */
#include <inttypes.h>
#include <signal.h>
#include <math.h>
#include <string.h>

#include "nic/host.h"
#include "sim/json.h"
#include "sim/stats.h"
#include "sim/system/migrate.h"
#include "sim/units.h"
#include "vmm/vmm.h"
#include "sim/system/summary.h"
#include "sim/system/system_int.h"
#include "sim/version.h"
#include "workloads/workload.h"

/* perftest src/perftest_parameters.c: LAT_MEASURE_TAIL */
#define PERFTEST_LAT_TAIL 2

/* perftest's latency figures, in picoseconds (see the header comment) */
struct pt_lat {
	bool have;
	bool exact;
	uint64_t n;     /* samples */
	double t_min, t_max, t_typical, t_avg, t_stdev, p99, p999;
};

struct wl_figures {
	bool have_rate;      /* completions over an interval */
	double secs, bw_gbps, mpps;
	sim_time_t from, until; /* the interval the rates are over */
	bool have_peak;
	double peak_gbps;
	bool have_lat;       /* latency samples */
	bool lat_exact;
	double min, avg, stdev, p50, p99, p999, max; /* ns */
	struct pt_lat pt;
};

static void pt_lat_figures(const struct hist *h, struct pt_lat *o)
{
	memset(o, 0, sizeof(*o));
	if (!h || !h->count)
		return;
	o->have = true;
	o->n = h->count;
	o->exact = hist_exact(h);
	if (!o->exact) {
		o->t_min = (double)h->min;
		o->t_max = (double)h->max;
		o->t_typical = (double)hist_quantile(h, 0.5);
		o->t_avg = hist_mean(h);
		o->t_stdev = hist_stdev(h);
		o->p99 = (double)hist_quantile(h, 0.99);
		o->p999 = (double)hist_quantile(h, 0.999);
		return;
	}
	uint64_t n;
	const uint64_t *s = hist_sorted_samples(h, &n);
	/* too few to drop the tail: keep them all */
	uint64_t m = n > PERFTEST_LAT_TAIL ? n - PERFTEST_LAT_TAIL : n;
	double sum = 0, dev = 0;
	for (uint64_t i = 0; i < m; i++)
		sum += (double)s[i];
	o->t_avg = sum / (double)m;
	for (uint64_t i = 0; i < m; i++)
		dev += ((double)s[i] - o->t_avg) * ((double)s[i] - o->t_avg);
	o->t_stdev = sqrt(dev / (double)m);
	o->t_min = (double)s[0];
	o->t_max = (double)s[MIN(m, n - 1)];
	o->t_typical = m % 2 ? (double)s[m / 2]
			     : ((double)s[m / 2] + (double)s[m / 2 - 1]) / 2;
	uint64_t i99 = (uint64_t)ceil((double)m * 0.99);
	uint64_t i999 = (uint64_t)ceil((double)m * 0.999);
	o->p99 = (double)s[MIN(i99, n - 1)];
	o->p999 = (double)s[MIN(i999, n - 1)];
}

/* The rates are over the measurement window, from its start (or the
 * workload's first operation, if later) to its end (or the end of the
 * run); without a window, from the first operation to the last
 * completion, as perftest does. */
static void wl_figures(const struct workload *w, sim_time_t now,
		       struct wl_figures *f)
{
	memset(f, 0, sizeof(*f));
	const struct workload_result *r = &w->res;
	f->from = r->first;
	f->until = r->last;
	if (workload_result_windowed(r)) {
		f->from = MAX(r->from, r->first);
		f->until = r->until ? MIN(r->until, now) : now;
	}
	if (r->completed && f->until > f->from) {
		f->have_rate = true;
		f->secs = sim_time_to_s(f->until - f->from);
		f->bw_gbps = (double)r->bytes * 8 / f->secs / 1e9;
		f->mpps = (double)r->completed / f->secs / 1e6;
	}
	double bps;
	if (r->track_peak && rate_peak_get(&r->peak, &bps)) {
		f->have_peak = true;
		f->peak_gbps = bps * 8 / 1e9;
	}
	const struct hist *h = r->lat;
	if (h && h->count) {
		f->have_lat = true;
		f->lat_exact = hist_exact(h);
		f->p50 = (double)hist_quantile(h, 0.5) / 1e3;
		f->p99 = (double)hist_quantile(h, 0.99) / 1e3;
		f->p999 = (double)hist_quantile(h, 0.999) / 1e3;
		f->max = (double)h->max / 1e3;
		f->min = (double)h->min / 1e3;
		f->avg = hist_mean(h) / 1e3;
		f->stdev = hist_stdev(h) / 1e3;
	}
	pt_lat_figures(h, &f->pt);
}

/* "%.3f" of @v, or "-" when absent */
static const char *fig(char *buf, size_t n, bool have, const char *fmt,
		       double v)
{
	if (!have)
		return "-";
	g_snprintf(buf, n, fmt, v);
	return buf;
}

/* "4GiB", or "the whole address space" for an implicit MR */
static char *reg_size(const struct workload_reg *g)
{
	return g->implicit ? g_strdup("implicit") :
			     units_format(g->length, UNIT_SIZE);
}

/* One line per registration of every workload. */
static void summary_regs_text(struct system *sys, FILE *out)
{
	bool any = false;
	for (guint i = 0; i < sys->workloads->len; i++) {
		struct workload *w = sys->workloads->pdata[i];
		for (unsigned k = 0; k < w->res.nregs; k++) {
			const struct workload_reg *g = &w->res.regs[k];
			if (!any)
				fprintf(out, "\nregistrations (per MR: workload, "
					     "side, host, policy, size, start)\n");
			any = true;
			char *size = reg_size(g);
			fprintf(out, "  %-12s %-6s %-8s %-12s %9s  ", w->name,
				g->side, g->host, g->policy, size);
			g_free(size);
			if (g->populating) {
				fprintf(out, "%.6f s  populating at the end "
					     "(%.3f ms so far)\n",
					sim_time_to_s(g->populate_start),
					(double)(sys->sim->now -
						 g->populate_start) / 1e9);
				continue;
			}
			char *popd = g->populate_end ? g_strdup_printf(
					" (populated first, in %.3f ms)",
					(double)(g->populate_end -
						 g->populate_start) / 1e9)
						     : g_strdup("");
			switch (g->state) {
			case WL_REG_NOT_STARTED:
				fprintf(out, "not started (the workload starts "
					     "at %.6f s)\n",
					sim_time_to_s(w->common.start));
				break;
			case WL_REG_RUNNING:
				fprintf(out, "%.6f s  unfinished at the end "
					     "(%.3f ms so far)%s\n",
					sim_time_to_s(g->start),
					(double)(sys->sim->now - g->start) /
						1e9, popd);
				break;
			case WL_REG_DONE:
				fprintf(out, "%.6f s  done in %.3f ms",
					sim_time_to_s(g->start),
					(double)(g->end - g->start) / 1e9);
				if (g->dereg && g->dereg_end)
					fprintf(out, ", deregistered in %.3f "
						     "ms",
						(double)(g->dereg_end -
							 g->dereg_start) / 1e9);
				else if (g->dereg)
					fprintf(out, ", deregistering at the "
						     "end (%.3f ms so far)",
						(double)(sys->sim->now -
							 g->dereg_start) / 1e9);
				fprintf(out, "%s\n", popd);
				break;
			case WL_REG_FAILED:
				fprintf(out, "%.6f s  failed after %.3f ms: "
					     "%s%s\n",
					sim_time_to_s(g->start),
					(double)(g->end - g->start) / 1e9,
					g->reason, popd);
				break;
			case WL_REG_NSTATES:
				g_assert_not_reached();
			}
			g_free(popd);
		}
	}
}

static void fp_cell(FILE *out, const struct vmm_fp *fp, unsigned k)
{
	char b[48];
	g_snprintf(b, sizeof(b), "%" G_GUINT64_FORMAT " / %" G_GUINT64_FORMAT,
		   fp->now[k], fp->peak[k]);
	fprintf(out, " %21s", b);
}

/* Per MR and per address space: pages held now and at the peak. */
static void summary_memory_text(struct system *sys, FILE *out)
{
	fprintf(out, "\nmemory (pages, now / peak)          ");
	for (unsigned k = 0; k < VMM_FP_NKINDS; k++)
		fprintf(out, " %21s", vmm_fp_names[k]);
	fputc('\n', out);
	for (guint i = 0; i < sys->workloads->len; i++) {
		struct workload *w = sys->workloads->pdata[i];
		for (unsigned r = 0; r < w->res.nregs; r++) {
			const struct workload_reg *g = &w->res.regs[r];
			if (!g->fp)
				continue;
			char *label = g_strdup_printf("MR %s %s on %s", w->name,
						      g->side, g->host);
			fprintf(out, "  %-34s", label);
			g_free(label);
			for (unsigned k = 0; k < VMM_FP_NKINDS; k++)
				fp_cell(out, g->fp, k);
			fputc('\n', out);
		}
	}
	for (guint i = 0; i < sys->hosts->len; i++) {
		struct host *h = sys->hosts->pdata[i];
		for (uint32_t id = 1; id <= vmm_as_count(h->vmm); id++) {
			struct vmm_as *as = vmm_as_by_id(h->vmm, id);
			char *label = g_strdup_printf("space %s %s", h->name,
						      vmm_as_name(as));
			fprintf(out, "  %-34s", label);
			g_free(label);
			for (unsigned k = 0; k < VMM_FP_NKINDS; k++)
				fp_cell(out, vmm_as_footprint(as), k);
			fputc('\n', out);
		}
	}
}

static void fp_json(struct json_writer *w, const char *key,
		    const struct vmm_fp *fp)
{
	json_obj_begin(w, key);
	for (unsigned k = 0; k < VMM_FP_NKINDS; k++) {
		char *peak = g_strdup_printf("%s_peak", vmm_fp_names[k]);
		json_u64(w, vmm_fp_names[k], fp->now[k]);
		json_u64(w, peak, fp->peak[k]);
		g_free(peak);
	}
	json_obj_end(w);
}

static void summary_spaces_json(struct json_writer *w, struct system *sys)
{
	json_arr_begin(w, "address_spaces");
	for (guint i = 0; i < sys->hosts->len; i++) {
		struct host *h = sys->hosts->pdata[i];
		for (uint32_t id = 1; id <= vmm_as_count(h->vmm); id++) {
			struct vmm_as *as = vmm_as_by_id(h->vmm, id);
			json_obj_begin(w, NULL);
			json_str(w, "host", h->name);
			json_str(w, "name", vmm_as_name(as));
			fp_json(w, "footprint", vmm_as_footprint(as));
			json_obj_end(w);
		}
	}
	json_arr_end(w);
}

GPtrArray *system_warnings(struct system *sys)
{
	GPtrArray *v = g_ptr_array_new_with_free_func(g_free);
	sim_time_t now = sys->sim->now;
	char *mw = sys->mig ? migration_warning(sys->mig) : NULL;
	if (mw)
		g_ptr_array_add(v, mw);
	for (guint i = 0; i < sys->workloads->len; i++) {
		struct workload *w = sys->workloads->pdata[i];
		const struct workload_result *r = &w->res;
		bool none = r->completed == 0;
		bool said = false;
		for (unsigned k = 0; k < r->nregs; k++) {
			const struct workload_reg *g = &r->regs[k];
			if (g->state != WL_REG_FAILED)
				continue;
			char *size = reg_size(g);
			g_ptr_array_add(v, g_strdup_printf(
				"workload %s (%s): registration of its %s MR on "
				"host %s (%s, %s) failed at %.6f s: %s%s",
				w->name, w->ops->type, g->side, g->host,
				g->policy, size, sim_time_to_s(g->end),
				g->reason,
				none ? "; the workload never started" : ""));
			g_free(size);
			said = true;
		}
		if (!none || said || (r->refusals_expected && r->errors))
			continue;
		const struct workload_reg *run = NULL, *idle = NULL;
		const struct workload_reg *pop = NULL;
		for (unsigned k = 0; k < r->nregs; k++) {
			const struct workload_reg *g = &r->regs[k];
			if (g->state == WL_REG_RUNNING && !run)
				run = g;
			if (g->populating && !pop)
				pop = g;
			else if (g->state == WL_REG_NOT_STARTED)
				idle = g;
		}
		if (pop && !run) {
			char *size = reg_size(pop);
			g_ptr_array_add(v, g_strdup_printf(
				"workload %s (%s) never started: its %s buffer "
				"on host %s (%s) was still being written "
				"(populate) at the end of the run, after %.3f "
				"ms",
				w->name, w->ops->type, pop->side, pop->host,
				size,
				(double)(now - pop->populate_start) / 1e9));
			g_free(size);
		} else if (run) {
			char *size = reg_size(run);
			g_ptr_array_add(v, g_strdup_printf(
				"workload %s (%s) never started: its %s MR on "
				"host %s (%s, %s) was still registering at the "
				"end of the run, after %.3f ms",
				w->name, w->ops->type, run->side, run->host,
				run->policy, size,
				(double)(now - run->start) / 1e9));
			g_free(size);
		} else if (idle || w->common.start >= now) {
			g_ptr_array_add(v, g_strdup_printf(
				"workload %s (%s) never started: it starts at "
				"%.6f s, the run ended at %.6f s",
				w->name, w->ops->type,
				sim_time_to_s(w->common.start),
				sim_time_to_s(now)));
		} else if (r->outside) {
			g_ptr_array_add(v, g_strdup_printf(
				"workload %s (%s) completed no operation in "
				"its measurement window (%" G_GUINT64_FORMAT
				" outside it)", w->name, w->ops->type,
				r->outside));
		} else {
			g_ptr_array_add(v, g_strdup_printf(
				"workload %s (%s) completed no operation (%"
				G_GUINT64_FORMAT " errors)", w->name,
				w->ops->type, r->errors));
		}
	}
	return v;
}

static void summary_workloads_text(struct system *sys, FILE *out)
{
	fprintf(out, "\n%-12s %-10s %10s %7s %14s %9s %9s %8s  %s\n",
		"workload", "type", "completed", "errors", "bytes", "BW Gb/s",
		"peak", "Mpps",
		"latency ns min / avg +- stdev / p50 / p99 / p99.9 / max");
	for (guint i = 0; i < sys->workloads->len; i++) {
		struct workload *w = sys->workloads->pdata[i];
		struct wl_figures f;
		char b1[32], b2[32], b3[32];
		wl_figures(w, sys->sim->now, &f);
		fprintf(out,
			"%-12s %-10s %10" G_GUINT64_FORMAT " %7" G_GUINT64_FORMAT
			" %14" G_GUINT64_FORMAT " %9s %9s %8s",
			w->name, w->ops->type, w->res.completed, w->res.errors,
			w->res.bytes,
			fig(b1, sizeof(b1), f.have_rate, "%.3f", f.bw_gbps),
			fig(b2, sizeof(b2), f.have_peak, "%.3f", f.peak_gbps),
			fig(b3, sizeof(b3), f.have_rate, "%.4f", f.mpps));
		if (f.have_lat)
			fprintf(out,
				"  %.1f / %.1f +- %.1f / %s%.1f / %s%.1f / "
				"%s%.1f / %.1f",
				f.min, f.avg, f.stdev, f.lat_exact ? "" : "~",
				f.p50, f.lat_exact ? "" : "~", f.p99,
				f.lat_exact ? "" : "~", f.p999, f.max);
		else if (w->res.lat)
			fputs("  -", out);
		fputc('\n', out);
		if (workload_result_windowed(&w->res))
			fprintf(out,
				"%-12s measured from %.6f s to %.6f s (%"
				G_GUINT64_FORMAT " completions outside)\n", "",
				sim_time_to_s(f.from), sim_time_to_s(f.until),
				w->res.outside);
	}
	bool approx = false;
	for (guint i = 0; i < sys->workloads->len; i++) {
		struct workload *w = sys->workloads->pdata[i];
		approx = approx || (w->res.lat && !hist_exact(w->res.lat));
	}
	if (approx)
		fprintf(out, "  ~: interpolated in a 1/64-wide histogram bucket "
			     "(more than %u samples)\n", HIST_EXACT_MAX);
}

void system_summary_text(struct system *sys, FILE *out)
{
	struct sim *sim = sys->sim;
	fprintf(out, "odpsim %s  scenario %s  policy %s  seed %" G_GUINT64_FORMAT
		     "\n",
		ODPSIM_VERSION, scenario_path(sys->sc), sys->policy_name,
		sys->p.seed);
	if (sys->p.description && *sys->p.description)
		fprintf(out, "  %s\n", sys->p.description);
	fprintf(out,
		"simulated %.6f s in %.3f s wall, %" G_GUINT64_FORMAT
		" events, fingerprint %016" G_GINT64_MODIFIER "x\n",
		sim_time_to_s(sim->now), sys->wall_s, sim->events,
		sim->fingerprint);
	if (sys->interrupted)
		fprintf(out, "INTERRUPTED by %s at %.6f s of %.6f s: every "
			     "figure is up to that time\n",
			sys->interrupted == SIGTERM ? "SIGTERM" : "SIGINT",
			sim_time_to_s(sim->now), sim_time_to_s(sys->p.duration));
	if (sys->workloads->len)
		summary_workloads_text(sys, out);
	summary_regs_text(sys, out);
	summary_memory_text(sys, out);
	unsigned n;
	const struct stat_entry **v = stats_sorted(sim->stats, &n);
	fprintf(out, "\ncounters\n");
	for (unsigned i = 0; i < n; i++)
		if (v[i]->kind == STAT_COUNTER)
			fprintf(out, "  %-40s %" G_GUINT64_FORMAT "\n",
				v[i]->name, v[i]->counter);
	bool any = false;
	for (unsigned i = 0; i < n; i++) {
		const struct hist *h = &v[i]->hist;
		if (v[i]->kind != STAT_HIST || !h->count)
			continue;
		if (!any)
			fprintf(out, "\nhistograms %30s %10s %10s %10s %10s %10s\n",
				"count", "p50", "p99", "p99.9", "max", "");
		any = true;
		fprintf(out,
			"  %-36s %10" G_GUINT64_FORMAT " %10" G_GUINT64_FORMAT
			" %10" G_GUINT64_FORMAT " %10" G_GUINT64_FORMAT
			" %10" G_GUINT64_FORMAT "%s\n",
			v[i]->name, h->count, hist_quantile(h, 0.5),
			hist_quantile(h, 0.99), hist_quantile(h, 0.999),
			h->max, hist_exact(h) ? "" : "  (~ interpolated)");
	}
	g_free(v);
	if (sys->mig) {
		migration_summary_text(sys->mig, out);
		for (guint i = 0; i < sys->workloads->len; i++) {
			struct workload *w = sys->workloads->pdata[i];
			if (w->res.completed > 1)
				fprintf(out,
					"  %s: longest stall of the run %.3f "
					"ms from %.6f s\n",
					w->name,
					(double)w->res.longest_gap / 1e9,
					sim_time_to_s(w->res.gap_start));
		}
	}
	fprintf(out, "\noracle: %" G_GUINT64_FORMAT " lost writes, %"
		     G_GUINT64_FORMAT " stale reads, %" G_GUINT64_FORMAT
		     " pages not holding their last write at the end\n",
		*sys->oracle_lost, *sys->oracle_stale, *sys->oracle_final);
}

/* @v, or null when absent */
static void json_fig(struct json_writer *w, const char *key, bool have,
		     double v)
{
	if (have)
		json_dbl(w, key, v);
	else
		json_null(w, key);
}

static void summary_hist_json(struct json_writer *w, const char *name,
			      const struct hist *h)
{
	bool have = h->count > 0;
	json_obj_begin(w, name);
	json_u64(w, "count", h->count);
	if (have) {
		json_u64(w, "min", h->min);
		json_dbl(w, "mean", hist_mean(h));
		json_dbl(w, "stdev", hist_stdev(h));
		json_u64(w, "p50", hist_quantile(h, 0.5));
		json_u64(w, "p99", hist_quantile(h, 0.99));
		json_u64(w, "p999", hist_quantile(h, 0.999));
		json_u64(w, "max", h->max);
	} else {
		static const char *const k[] = { "min", "mean", "stdev", "p50",
						 "p99", "p999", "max" };
		for (unsigned i = 0; i < G_N_ELEMENTS(k); i++)
			json_null(w, k[i]);
	}
	json_bool(w, "exact", hist_exact(h));
	json_obj_end(w);
}

/* perftest's test name: "RDMA_Write BW Test", "Send Latency Test" */
static char *pt_test_name(const char *verb, bool lat)
{
	return g_strdup_printf("%s %s Test", verb, lat ? "Latency" : "BW");
}

/* perftest's #bytes: the message size, or the mean when sizes vary */
static void pt_bytes_json(struct json_writer *w, const struct workload_result *r)
{
	if (r->msg_size || !r->completed)
		json_u64(w, "bytes", r->msg_size);
	else
		json_u64(w, "bytes", (r->bytes + r->completed / 2) / r->completed);
	json_bool(w, "sizes_vary", !r->msg_size);
}

static void summary_perftest_json(struct json_writer *w,
				  const struct workload *wl,
				  const struct wl_figures *f)
{
	const struct workload_result *r = &wl->res;
	if (!r->verb)
		return;
	json_obj_begin(w, "perftest");
	if (!r->latency_test) {
		char *t = pt_test_name(r->verb, false);
		json_obj_begin(w, "bw");
		json_str(w, "test", t);
		pt_bytes_json(w, r);
		json_u64(w, "iterations", r->completed);
		json_fig(w, "bw_peak_gbps", f->have_peak, f->peak_gbps);
		json_fig(w, "bw_avg_gbps", f->have_rate, f->bw_gbps);
		json_fig(w, "msg_rate_mpps", f->have_rate, f->mpps);
		json_obj_end(w);
		g_free(t);
	}
	if (r->lat) {
		const struct pt_lat *p = &f->pt;
		char *t = r->latency_test ? pt_test_name(r->verb, true)
					  : g_strdup_printf("%s latency under "
							    "load", r->verb);
		json_obj_begin(w, "lat");
		json_str(w, "test", t);
		pt_bytes_json(w, r);
		json_u64(w, "iterations", p->n);
		json_fig(w, "t_min_us", p->have, p->t_min / 1e6);
		json_fig(w, "t_max_us", p->have, p->t_max / 1e6);
		json_fig(w, "t_typical_us", p->have, p->t_typical / 1e6);
		json_fig(w, "t_avg_us", p->have, p->t_avg / 1e6);
		json_fig(w, "t_stdev_us", p->have, p->t_stdev / 1e6);
		json_fig(w, "p99_us", p->have, p->p99 / 1e6);
		json_fig(w, "p999_us", p->have, p->p999 / 1e6);
		json_bool(w, "exact", !p->have || p->exact);
		json_obj_end(w);
		g_free(t);
	}
	json_obj_end(w);
}

static void summary_regs_json(struct json_writer *w, const struct workload *wl,
			      sim_time_t now)
{
	json_arr_begin(w, "registrations");
	for (unsigned k = 0; k < wl->res.nregs; k++) {
		const struct workload_reg *g = &wl->res.regs[k];
		bool started = g->state != WL_REG_NOT_STARTED;
		bool ended = g->state == WL_REG_DONE ||
			     g->state == WL_REG_FAILED;
		json_obj_begin(w, NULL);
		json_str(w, "side", g->side);
		json_str(w, "host", g->host);
		json_str(w, "policy", g->policy);
		json_bool(w, "implicit", g->implicit);
		json_u64(w, "addr", g->addr);
		if (g->implicit)
			json_null(w, "length");
		else
			json_u64(w, "length", g->length);
		json_str(w, "state", workload_reg_state_names[g->state]);
		if (started)
			json_u64(w, "start_ps", g->start);
		else
			json_null(w, "start_ps");
		if (ended) {
			json_u64(w, "end_ps", g->end);
			json_u64(w, "time_ps", g->end - g->start);
		} else {
			json_null(w, "end_ps");
			json_null(w, "time_ps");
		}
		if (g->state == WL_REG_RUNNING)
			json_u64(w, "elapsed_ps", now - g->start);
		else
			json_null(w, "elapsed_ps");
		if (g->reason)
			json_str(w, "error", g->reason);
		else
			json_null(w, "error");
		json_bool(w, "populate", g->populate);
		if (g->populating || g->populate_end)
			json_u64(w, "populate_start_ps", g->populate_start);
		else
			json_null(w, "populate_start_ps");
		if (g->populate_end)
			json_u64(w, "populate_ps",
				 g->populate_end - g->populate_start);
		else
			json_null(w, "populate_ps");
		if (g->dereg)
			json_u64(w, "dereg_start_ps", g->dereg_start);
		else
			json_null(w, "dereg_start_ps");
		if (g->dereg && g->dereg_end)
			json_u64(w, "dereg_ps", g->dereg_end - g->dereg_start);
		else
			json_null(w, "dereg_ps");
		if (g->fp)
			fp_json(w, "footprint", g->fp);
		else
			json_null(w, "footprint");
		json_obj_end(w);
	}
	json_arr_end(w);
}

char *system_summary_json(struct system *sys, bool pretty)
{
	struct sim *sim = sys->sim;
	struct json_writer w;
	json_init(&w, pretty);
	json_obj_begin(&w, NULL);
	json_str(&w, "odpsim_version", ODPSIM_VERSION);
	json_str(&w, "scenario", scenario_path(sys->sc));
	json_str(&w, "description", sys->p.description);
	json_str(&w, "policy", sys->policy_name);
	json_u64(&w, "seed", sys->p.seed);
	json_u64(&w, "sim_time_ps", sim->now);
	/* stopped by a signal before the end (sim_time_ps is where) */
	json_bool(&w, "interrupted", sys->interrupted != 0);
	if (sys->interrupted)
		json_str(&w, "signal", sys->interrupted == SIGTERM ? "SIGTERM"
								  : "SIGINT");
	else
		json_null(&w, "signal");
	json_u64(&w, "events", sim->events);
	json_dbl(&w, "wall_s", sys->wall_s);
	char fp[17];
	g_snprintf(fp, sizeof(fp), "%016" G_GINT64_MODIFIER "x",
		   sim->fingerprint);
	json_str(&w, "fingerprint", fp);
	unsigned n;
	const struct stat_entry **v = stats_sorted(sim->stats, &n);
	json_obj_begin(&w, "counters");
	for (unsigned i = 0; i < n; i++)
		if (v[i]->kind == STAT_COUNTER)
			json_u64(&w, v[i]->name, v[i]->counter);
	json_obj_end(&w);
	json_obj_begin(&w, "histograms");
	for (unsigned i = 0; i < n; i++)
		if (v[i]->kind == STAT_HIST)
			summary_hist_json(&w, v[i]->name, &v[i]->hist);
	json_obj_end(&w);
	g_free(v);
	json_obj_begin(&w, "workloads");
	for (guint i = 0; i < sys->workloads->len; i++) {
		struct workload *wl = sys->workloads->pdata[i];
		struct wl_figures f;
		wl_figures(wl, sim->now, &f);
		json_obj_begin(&w, wl->name);
		json_str(&w, "type", wl->ops->type);
		json_u64(&w, "completed", wl->res.completed);
		json_u64(&w, "errors", wl->res.errors);
		json_u64(&w, "bytes", wl->res.bytes);
		json_fig(&w, "bw_gbps", f.have_rate, f.bw_gbps);
		json_fig(&w, "bw_peak_gbps", f.have_peak, f.peak_gbps);
		/* a stall is measured from the first completion on */
		bool any = wl->res.completed || wl->res.outside;
		if (any) {
			json_u64(&w, "longest_stall_ps", wl->res.longest_gap);
			json_u64(&w, "longest_stall_at_ps", wl->res.gap_start);
		} else {
			json_null(&w, "longest_stall_ps");
			json_null(&w, "longest_stall_at_ps");
		}
		json_fig(&w, "msg_rate_mpps", f.have_rate, f.mpps);
		json_obj_begin(&w, "lat_ns");
		json_fig(&w, "min", f.have_lat, f.min);
		json_fig(&w, "avg", f.have_lat, f.avg);
		json_fig(&w, "stdev", f.have_lat, f.stdev);
		json_fig(&w, "p50", f.have_lat, f.p50);
		json_fig(&w, "p99", f.have_lat, f.p99);
		json_fig(&w, "p999", f.have_lat, f.p999);
		json_fig(&w, "max", f.have_lat, f.max);
		json_bool(&w, "exact", !f.have_lat || f.lat_exact);
		json_obj_end(&w);
		summary_regs_json(&w, wl, sim->now);
		json_obj_begin(&w, "window");
		json_bool(&w, "set", workload_result_windowed(&wl->res));
		json_u64(&w, "from_ps", f.from);
		json_u64(&w, "until_ps", f.until);
		json_u64(&w, "completed_outside", wl->res.outside);
		json_obj_end(&w);
		summary_perftest_json(&w, wl, &f);
		json_obj_end(&w);
	}
	json_obj_end(&w);
	if (sys->mig)
		migration_summary_json(sys->mig, &w);
	summary_spaces_json(&w, sys);
	GPtrArray *warn = system_warnings(sys);
	json_arr_begin(&w, "warnings");
	for (guint i = 0; i < warn->len; i++)
		json_str(&w, NULL, warn->pdata[i]);
	json_arr_end(&w);
	g_ptr_array_free(warn, TRUE);
	json_obj_begin(&w, "oracle");
	json_u64(&w, "lost_writes", *sys->oracle_lost);
	json_u64(&w, "stale_reads", *sys->oracle_stale);
	json_u64(&w, "final_mismatches", *sys->oracle_final);
	json_obj_end(&w);
	json_obj_end(&w);
	return json_finish(&w);
}

/* ---- perftest's report blocks, from a summary ---- */

/* perftest src/perftest_parameters.h: RESULT_LINE, RESULT_FMT_G (the Gb/s
 * bandwidth header) and RESULT_FMT_LAT: the column names a reader of
 * perftest's output looks for. */
static const char pt_line[] =
	"-----------------------------------------------------------------"
	"----------------------\n";
static const char pt_bw_head[] =
	" #bytes     #iterations    BW peak[Gb/sec]    BW average[Gb/sec]"
	"   MsgRate[Mpps]";
static const char *const pt_bw_cols[] = { "#bytes", "#iterations",
					  "BW peak", "BW average", "MsgRate",
					  NULL };
static const char pt_lat_head[] =
	" #bytes #iterations    t_min[usec]    t_max[usec]  t_typical[usec]"
	"    t_avg[usec]    t_stdev[usec]   99% percentile[usec]   99.9% "
	"percentile[usec] ";
static const char *const pt_lat_cols[] = { "#bytes", "#iterations",
					   "t_min", "t_max", "t_typical",
					   "t_avg", "t_stdev", "99%", "99.9%",
					   NULL };

/* One row of values, each starting at its column's first character in
 * @head (at least one space after the previous value). */
static void pt_row(FILE *out, const char *head, const char *const *cols,
		   char *const *vals)
{
	GString *s = g_string_new(NULL);
	for (unsigned i = 0; cols[i]; i++) {
		const char *at = strstr(head, cols[i]);
		g_assert(at);
		size_t col = (size_t)(at - head);
		if (s->len && s->len + 1 > col)
			g_string_append_c(s, ' ');
		while (s->len < col)
			g_string_append_c(s, ' ');
		g_string_append(s, vals[i]);
	}
	fprintf(out, "%s\n", s->str);
	g_string_free(s, TRUE);
}

/* a number of a perftest object with @decimals, "-" when null */
static char *pt_num(const struct json_value *o, const char *key, int decimals)
{
	const struct json_value *v = json_get(o, key);
	if (!v || v->type != JSON_NUM)
		return g_strdup("-");
	return g_strdup_printf("%.*f", decimals, v->num);
}

static char *pt_int(const struct json_value *o, const char *key)
{
	const struct json_value *v = json_get(o, key);
	if (!v || v->type != JSON_NUM)
		return g_strdup("-");
	return g_strdup_printf("%" PRIu64, (uint64_t)v->i);
}

static void pt_banner(FILE *out, const char *test, const char *name,
		      const char *type, const char *policy, const char *sc)
{
	fputs(pt_line, out);
	fprintf(out, "                    %s\n", test);
	fprintf(out, " Workload        : %s (%s)\n", name, type);
	fprintf(out, " Policy          : %s\n", policy);
	fprintf(out, " Scenario        : %s\n", sc);
	fputs(pt_line, out);
}

static void pt_sizes_note(FILE *out, const struct json_value *o)
{
	const struct json_value *v = json_get(o, "sizes_vary");
	if (v && v->type == JSON_BOOL && v->b)
		fprintf(out, "# message sizes vary: #bytes is their mean\n");
}

void summary_perftest_print(const struct json_value *run, FILE *out)
{
	const struct json_value *pol = json_get(run, "policy");
	const struct json_value *sc = json_get(run, "scenario");
	const struct json_value *mig = json_path(run, "migration.policy");
	char *policy = g_strdup_printf(
		"%s%s%s", pol && pol->type == JSON_STR ? pol->str : "?",
		mig && mig->type == JSON_STR ? ", migration " : "",
		mig && mig->type == JSON_STR ? mig->str : "");
	const char *scn = sc && sc->type == JSON_STR ? sc->str : "?";
	const struct json_value *wls = json_get(run, "workloads");
	unsigned printed = 0;
	for (guint k = 0; wls && wls->type == JSON_OBJ && k < wls->keys->len;
	     k++) {
		const char *name = wls->keys->pdata[k];
		const struct json_value *wl = wls->items->pdata[k];
		const struct json_value *ty = json_get(wl, "type");
		const char *type = ty && ty->type == JSON_STR ? ty->str : "?";
		const struct json_value *pt = json_get(wl, "perftest");
		if (!pt) {
			fprintf(out, "# workload %s (%s) is not a perftest "
				     "test: see the summary\n", name, type);
			continue;
		}
		const struct json_value *bw = json_get(pt, "bw");
		if (bw) {
			const struct json_value *t = json_get(bw, "test");
			pt_banner(out, t && t->type == JSON_STR ? t->str : "?",
				  name, type, policy, scn);
			fprintf(out, "%s\n", pt_bw_head);
			/* perftest prints 6 decimals when BW average is
			 * below 0.1 Gb/s (print_full_bw_report's
			 * inc_accuracy) */
			const struct json_value *avg = json_get(bw,
								"bw_avg_gbps");
			int d = avg && avg->type == JSON_NUM && avg->num < 0.1
					? 6 : 2;
			char *vals[] = { pt_int(bw, "bytes"),
					 pt_int(bw, "iterations"),
					 pt_num(bw, "bw_peak_gbps", d),
					 pt_num(bw, "bw_avg_gbps", d),
					 pt_num(bw, "msg_rate_mpps", 6), NULL };
			pt_row(out, pt_bw_head, pt_bw_cols, vals);
			for (unsigned i = 0; vals[i]; i++)
				g_free(vals[i]);
			pt_sizes_note(out, bw);
			fputs(pt_line, out);
			printed++;
		}
		const struct json_value *lat = json_get(pt, "lat");
		if (lat) {
			const struct json_value *t = json_get(lat, "test");
			pt_banner(out, t && t->type == JSON_STR ? t->str : "?",
				  name, type, policy, scn);
			fprintf(out, "%s\n", pt_lat_head);
			char *vals[] = { pt_int(lat, "bytes"),
					 pt_int(lat, "iterations"),
					 pt_num(lat, "t_min_us", 2),
					 pt_num(lat, "t_max_us", 2),
					 pt_num(lat, "t_typical_us", 2),
					 pt_num(lat, "t_avg_us", 2),
					 pt_num(lat, "t_stdev_us", 2),
					 pt_num(lat, "p99_us", 2),
					 pt_num(lat, "p999_us", 2), NULL };
			pt_row(out, pt_lat_head, pt_lat_cols, vals);
			for (unsigned i = 0; vals[i]; i++)
				g_free(vals[i]);
			pt_sizes_note(out, lat);
			const struct json_value *ex = json_get(lat, "exact");
			if (ex && ex->type == JSON_BOOL && !ex->b)
				fprintf(out, "# more than %u samples: "
					     "percentiles interpolated in "
					     "1/64-wide buckets\n",
					HIST_EXACT_MAX);
			fputs(pt_line, out);
			printed++;
		}
	}
	if (!printed && !(wls && wls->type == JSON_OBJ && wls->keys->len))
		fprintf(out, "# no workload\n");
	g_free(policy);
}

bool system_summary_perftest(struct system *sys, FILE *out, GError **error)
{
	char *j = system_summary_json(sys, false);
	struct json_value *v = json_parse(j, error);
	g_free(j);
	if (!v)
		return false;
	summary_perftest_print(v, out);
	json_value_free(v);
	return true;
}

bool summary_format_parse(const char *name, bool json, bool compare,
			  enum summary_format *fmt, GError **error)
{
	const char *text = compare ? "table" : "text";
	*fmt = json ? SUMMARY_JSON : SUMMARY_TEXT;
	if (!name)
		return true;
	enum summary_format f;
	if (!strcmp(name, text))
		f = SUMMARY_TEXT;
	else if (!strcmp(name, "json"))
		f = SUMMARY_JSON;
	else if (!strcmp(name, "perftest"))
		f = SUMMARY_PERFTEST;
	else {
		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			    "--format %s: unknown format (known: %s, json, "
			    "perftest)", name, text);
		return false;
	}
	if (json && f != SUMMARY_JSON) {
		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			    "--json and --format %s: give one", name);
		return false;
	}
	*fmt = f;
	return true;
}
