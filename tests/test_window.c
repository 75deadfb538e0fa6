/*
 * tests/test_window.c - measurement windows ([sim] warmup, a workload's
 * measure_from and measure_until): the figures count exactly what
 * completes inside the window.
 *
 * The expected figures come from other runs: a run is deterministic and a
 * shorter run is the prefix of a longer one, so what completes in (W, U]
 * is what a run to U completed minus what a run to W did.  Bandwidth and
 * message rate are then those bytes and operations over U - W, the
 * latency histogram holds exactly those operations, and the fingerprint
 * does not move (a window changes figures, not events).
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim/json.h"
#include "sim/system/system.h"

struct figs {
	uint64_t completed, bytes, lat_count, outside;
	double bw_gbps, mpps;
	char fingerprint[17];
	bool set;
	uint64_t from_ps, until_ps;
};

/* workloads/write_bw.ini with @sets, its workload bw's figures. */
static void run(const char *duration, const char *const *sets,
		struct figs *f)
{
	struct run_options opt = { .duration = duration,
				   .sets = (char **)sets };
	bool io;
	GError *e = NULL;
	struct system *sys = system_build("workloads/write_bw.ini", &opt, &io,
					  &e);
	ck_assert_msg(sys, "%s", e ? e->message : "");
	ck_assert(system_run(sys, &e));
	char *j = system_summary_json(sys, false);
	struct json_value *v = json_parse(j, NULL);
	const struct json_value *w = json_get(json_get(v, "workloads"), "bw");
	f->completed = (uint64_t)json_get(w, "completed")->i;
	f->bytes = (uint64_t)json_get(w, "bytes")->i;
	f->bw_gbps = json_get(w, "bw_gbps")->num;
	f->mpps = json_get(w, "msg_rate_mpps")->num;
	f->set = json_path(w, "window.set")->b;
	f->from_ps = (uint64_t)json_path(w, "window.from_ps")->i;
	f->until_ps = (uint64_t)json_path(w, "window.until_ps")->i;
	f->outside = (uint64_t)json_path(w, "window.completed_outside")->i;
	f->lat_count = (uint64_t)json_path(json_get(json_get(v, "histograms"),
						    "wl.bw.lat_ps"),
					   "count")->i;
	g_strlcpy(f->fingerprint, json_get(v, "fingerprint")->str,
		  sizeof(f->fingerprint));
	json_value_free(v);
	g_free(j);
	system_free(sys);
}

static void expect_window(const struct figs *win, const struct figs *to_w,
			  const struct figs *to_u, double secs)
{
	uint64_t n = to_u->completed - to_w->completed;
	uint64_t b = to_u->bytes - to_w->bytes;
	ck_assert_uint_gt(n, 10);
	ck_assert_uint_eq(win->completed, n);
	ck_assert_uint_eq(win->bytes, b);
	ck_assert_uint_eq(win->lat_count, n);
	/* the summary prints 6 significant digits */
	double bw = (double)b * 8 / secs / 1e9;
	ck_assert_msg(fabs(win->bw_gbps - bw) < 1e-5 * bw,
		      "bandwidth %.6f, expected %.6f", win->bw_gbps, bw);
	double mpps = (double)n / secs / 1e6;
	ck_assert_msg(fabs(win->mpps - mpps) < 1e-5 * mpps,
		      "message rate %.6f, expected %.6f", win->mpps, mpps);
	ck_assert(win->set);
}

START_TEST(warmup_excludes_the_start)
{
	struct figs all, to_w, win;
	run("1ms", NULL, &all);
	run("300us", NULL, &to_w);
	static const char *const warm[] = { "sim.warmup=300us", NULL };
	run("1ms", warm, &win);
	expect_window(&win, &to_w, &all, 700e-6);
	ck_assert_uint_eq(win.from_ps, 300000000);
	ck_assert_uint_eq(win.until_ps, 1000000000);
	ck_assert_uint_eq(win.outside, to_w.completed);
	/* the same events: only the figures move */
	ck_assert_str_eq(win.fingerprint, all.fingerprint);
	/* no window: every completion, over first..last */
	ck_assert(!all.set);
	ck_assert_uint_eq(all.outside, 0);
	ck_assert_uint_eq(all.lat_count, all.completed);
	/* the registration and the cold start are out: steadier and
	 * faster than the whole run's average */
	ck_assert(win.bw_gbps > all.bw_gbps);
}
END_TEST

START_TEST(window_from_until)
{
	struct figs to_w, to_u, win;
	run("400us", NULL, &to_w);
	run("900us", NULL, &to_u);
	/* the workload's own measure_from overrides [sim] warmup */
	static const char *const w[] = { "sim.warmup=100us",
					 "workload.bw.measure_from=400us",
					 "workload.bw.measure_until=900us",
					 NULL };
	run("1500us", w, &win);
	expect_window(&win, &to_w, &to_u, 500e-6);
	ck_assert_uint_eq(win.from_ps, 400000000);
	ck_assert_uint_eq(win.until_ps, 900000000);
}
END_TEST

START_TEST(window_errors)
{
	static const struct {
		const char *set, *msg;
	} c[] = {
		{ "sim.warmup=2ms",
		  "[sim] warmup: the window starts at or after the end of the "
		  "run (workload bw would measure from 2ms to 2ms)" },
		{ "workload.bw.measure_until=0.5us",
		  "[workload bw] measure_until: the window ends before it "
		  "starts" },
		{ "workload.bw.measure_from=3ms",
		  "[workload bw] measure_from: the window starts at or after" },
	};
	for (unsigned k = 0; k < G_N_ELEMENTS(c); k++) {
		char *sets[3] = { (char *)c[k].set, NULL, NULL };
		if (k == 1)
			sets[1] = "workload.bw.measure_from=1us";
		struct run_options opt = { .sets = sets };
		bool io;
		GError *e = NULL;
		struct system *sys = system_build("workloads/write_bw.ini",
						  &opt, &io, &e);
		ck_assert_msg(!sys, "%s accepted", c[k].set);
		ck_assert_msg(strstr(e->message, c[k].msg), "%s: %s", c[k].set,
			      e->message);
		ck_assert_msg(g_str_has_prefix(e->message, "--set "), "%s",
			      e->message);
		g_error_free(e);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("window");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, warmup_excludes_the_start);
	tcase_add_test(tc, window_from_until);
	tcase_add_test(tc, window_errors);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
