/*
 * tests/test_summary.c - the JSON writer/reader, and the run summary: it
 * parses and carries every key README.md documents.
 */
#include <check.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "sim/json.h"
#include "sim/system/system.h"

START_TEST(json_roundtrip)
{
	struct json_writer w;
	json_init(&w, true);
	json_obj_begin(&w, NULL);
	json_str(&w, "s", "quote \" backslash \\ nl \n tab \t ctl \x01 é");
	json_u64(&w, "big", UINT64_MAX);
	json_i64(&w, "neg", -5);
	json_dbl(&w, "d", 0.25);
	json_dbl(&w, "inf", 1.0 / 0.0);
	json_bool(&w, "t", true);
	json_null(&w, "n");
	json_arr_begin(&w, "a");
	json_u64(&w, NULL, 1);
	json_obj_begin(&w, NULL);
	json_obj_end(&w);
	json_arr_begin(&w, NULL);
	json_arr_end(&w);
	json_arr_end(&w);
	json_obj_end(&w);
	char *text = json_finish(&w);
	GError *e = NULL;
	struct json_value *v = json_parse(text, &e);
	ck_assert_msg(v, "%s\n%s", e ? e->message : "", text);
	ck_assert_str_eq(json_get(v, "s")->str,
			 "quote \" backslash \\ nl \n tab \t ctl \x01 é");
	ck_assert_uint_eq((uint64_t)json_get(v, "big")->i, UINT64_MAX);
	ck_assert_int_eq(json_get(v, "neg")->i, -5);
	ck_assert_double_eq(json_get(v, "d")->num, 0.25);
	ck_assert_int_eq(json_get(v, "inf")->type, JSON_NULL);
	ck_assert(json_get(v, "t")->b);
	ck_assert_int_eq(json_get(v, "n")->type, JSON_NULL);
	const struct json_value *a = json_get(v, "a");
	ck_assert_int_eq(a->type, JSON_ARR);
	ck_assert_int_eq(a->items->len, 3);
	const struct json_value *a0 = a->items->pdata[0];
	const struct json_value *a1 = a->items->pdata[1];
	const struct json_value *a2 = a->items->pdata[2];
	ck_assert(a0->type == JSON_NUM && a0->i == 1);
	ck_assert_int_eq(a1->type, JSON_OBJ);
	ck_assert_int_eq(a2->type, JSON_ARR);
	ck_assert_int_eq(a2->items->len, 0);
	json_value_free(v);
	g_free(text);
	static const char *const bad[] = { "{", "{\"a\" 1}", "[1,]", "\"x",
					   "{} x", "[1 2]", "tru", NULL };
	for (const char *const *b = bad; *b; b++) {
		e = NULL;
		ck_assert_msg(!json_parse(*b, &e), "'%s' parsed", *b);
		ck_assert_ptr_nonnull(e);
		g_error_free(e);
	}
}
END_TEST

static char *write_tmp(const char *text)
{
	char *path = NULL;
	int fd = g_file_open_tmp("odpsim-XXXXXX.ini", &path, NULL);
	ck_assert_int_ge(fd, 0);
	ck_assert(g_file_set_contents(path, text, -1, NULL));
	close(fd);
	return path;
}

START_TEST(summary_keys)
{
	char *path = write_tmp("[sim]\nduration = 100us\nseed = 5\n"
			       "description = a \"quoted\" line\n"
			       "[host a]\nmemory = 64MiB\n");
	struct run_options opt = { 0 };
	bool io;
	GError *e = NULL;
	struct system *sys = system_build(path, &opt, &io, &e);
	ck_assert_msg(sys, "%s", e ? e->message : "");
	ck_assert(system_run(sys, &e));
	char *j = system_summary_json(sys, false);
	struct json_value *v = json_parse(j, &e);
	ck_assert_msg(v, "%s", e ? e->message : "");
	static const char *const keys[] = {
		"scenario", "policy", "seed", "sim_time_ps", "events", "wall_s",
		"fingerprint", "counters", "workloads", "oracle", NULL
	};
	for (const char *const *k = keys; *k; k++)
		ck_assert_msg(json_get(v, *k), "summary lacks '%s'", *k);
	ck_assert_str_eq(json_get(v, "policy")->str, "pin");
	ck_assert_int_eq(json_get(v, "seed")->i, 5);
	ck_assert_int_eq(json_get(v, "sim_time_ps")->i, 100000000);
	ck_assert_int_eq(strlen(json_get(v, "fingerprint")->str), 16);
	ck_assert_str_eq(json_get(v, "description")->str, "a \"quoted\" line");
	ck_assert(json_path(v, "oracle.lost_writes"));
	ck_assert(json_path(v, "oracle.stale_reads"));
	ck_assert_int_eq(json_get(v, "counters")->type, JSON_OBJ);
	json_value_free(v);
	g_free(j);
	system_free(sys);
	g_unlink(path);
	g_free(path);
}
END_TEST

START_TEST(build_errors)
{
	struct run_options opt = { 0 };
	bool io;
	GError *e = NULL;
	ck_assert_ptr_null(system_build("/nonexistent/x.ini", &opt, &io, &e));
	ck_assert(io);
	ck_assert(strstr(e->message, "/nonexistent/x.ini"));
	g_clear_error(&e);
	char *path = write_tmp("[sim]\nduration = 1ms\n[host a]\nmemroy = 1GiB\n");
	ck_assert_ptr_null(system_build(path, &opt, &io, &e));
	ck_assert(!io);
	ck_assert(strstr(e->message, ":4:"));
	ck_assert(strstr(e->message, "did you mean 'memory'?"));
	g_clear_error(&e);
	opt.duration = "1 fortnight";
	g_file_set_contents(path, "[sim]\n", -1, NULL);
	ck_assert_ptr_null(system_build(path, &opt, &io, &e));
	ck_assert(strstr(e->message, "--duration 1 fortnight") &&
		  strstr(e->message, "unknown unit 'fortnight'"));
	g_clear_error(&e);
	g_unlink(path);
	g_free(path);
}
END_TEST

/* The summary of a shipped scenario run for @duration. */
static struct json_value *run_summary(const char *scenario,
				      const char *duration)
{
	struct run_options opt = { .duration = duration };
	bool io;
	GError *e = NULL;
	struct system *sys = system_build(scenario, &opt, &io, &e);
	ck_assert_msg(sys, "%s", e ? e->message : "");
	ck_assert(system_run(sys, &e));
	char *j = system_summary_json(sys, false);
	struct json_value *v = json_parse(j, &e);
	ck_assert_msg(v, "%s", e ? e->message : "");
	g_free(j);
	system_free(sys);
	return v;
}

static double num(const struct json_value *v, const char *path)
{
	const struct json_value *x = json_path(v, path);
	ck_assert_msg(x && x->type == JSON_NUM, "%s is not a number", path);
	return x->num;
}

static bool is_null(const struct json_value *v, const char *path)
{
	const struct json_value *x = json_path(v, path);
	ck_assert_msg(x, "%s is missing", path);
	return x->type == JSON_NULL;
}

/* Exact percentiles inside [min, max]; a nearly constant READ latency has
 * p50 = min, not above the mean; the peak bandwidth of a stream is at
 * least its average and never above the 100 Gb/s link; a workload that
 * completed nothing has null figures, not 0. */
START_TEST(summary_figures_truthful)
{
	struct json_value *v = run_summary("workloads/read_lat.ini", "1ms");
	const struct json_value *w = json_path(v, "workloads.lat");
	ck_assert(json_path(w, "lat_ns.exact")->b);
	double mn = num(w, "lat_ns.min"), avg = num(w, "lat_ns.avg");
	double p50 = num(w, "lat_ns.p50"), p99 = num(w, "lat_ns.p99");
	double mx = num(w, "lat_ns.max");
	ck_assert(mn <= p50 && p50 <= p99 && p99 <= mx);
	ck_assert_msg(p50 <= avg, "p50 %g above the mean %g", p50, avg);
	ck_assert_double_eq(p50, mn);
	ck_assert(num(w, "lat_ns.stdev") > 0);
	ck_assert(is_null(w, "bw_peak_gbps")); /* a ping-pong has none */
	ck_assert_str_eq(json_path(w, "perftest.lat.test")->str,
			 "RDMA_Read Latency Test");
	ck_assert(!json_path(w, "perftest.bw"));
	json_value_free(v);

	v = run_summary("workloads/write_bw.ini", "1ms");
	w = json_path(v, "workloads.bw");
	double bw = num(w, "bw_gbps"), peak = num(w, "bw_peak_gbps");
	ck_assert_msg(peak >= bw * (1 - 1e-9) && peak <= 100,
		      "peak %g, average %g", peak, bw);
	ck_assert_double_eq(num(w, "perftest.bw.bw_peak_gbps"), peak);
	ck_assert_double_eq(num(w, "perftest.bw.bw_avg_gbps"), bw);
	ck_assert_uint_eq((uint64_t)num(w, "perftest.bw.bytes"), 65536);
	json_value_free(v);

	/* 100 us: the 1 GiB server region is still being pinned */
	v = run_summary("workloads/kv.ini", "100us");
	w = json_path(v, "workloads.gets");
	ck_assert_uint_eq((uint64_t)num(w, "completed"), 0);
	static const char *const absent[] = {
		"bw_gbps", "bw_peak_gbps", "msg_rate_mpps", "lat_ns.min",
		"lat_ns.avg", "lat_ns.stdev", "lat_ns.p50", "lat_ns.p99",
		"lat_ns.p999", "lat_ns.max", "perftest.bw.bw_avg_gbps",
		"perftest.bw.bw_peak_gbps", "perftest.lat.t_typical_us", NULL
	};
	for (const char *const *k = absent; *k; k++)
		ck_assert_msg(is_null(w, *k), "%s is not null", *k);
	json_value_free(v);
}
END_TEST

/* Footprints: every address space's pages add up to the VMM's host
 * counters (no fork in the scenario, so no page is shared), and an MR
 * holds no more than its address space, at the end and at the peak. */
START_TEST(summary_footprints)
{
	struct json_value *v = run_summary("workloads/odp_pressure.ini", NULL);
	static const struct {
		const char *kind, *counter;
	} k[] = { { "resident", "vmm.resident_pages" },
		  { "pinned", "vmm.pinned_pages" },
		  { "committed", "vmm.committed_pages" },
		  { "swapped", "vmm.swap.pages" } };
	const struct json_value *sp = json_get(v, "address_spaces");
	ck_assert(sp && sp->type == JSON_ARR && sp->items->len >= 2);
	const char *hosts[] = { "a", "b" };
	uint64_t swapped = 0;
	for (unsigned h = 0; h < 2; h++)
		for (unsigned i = 0; i < G_N_ELEMENTS(k); i++) {
			uint64_t sum = 0;
			for (guint j = 0; j < sp->items->len; j++) {
				const struct json_value *a = sp->items->pdata[j];
				if (strcmp(json_get(a, "host")->str, hosts[h]))
					continue;
				char *p = g_strdup_printf("footprint.%s",
							  k[i].kind);
				sum += (uint64_t)num(a, p);
				g_free(p);
			}
			char *c = g_strdup_printf("counters.%s.%s", hosts[h],
						  k[i].counter);
			/* json_path splits at dots: look the counter up */
			const struct json_value *ctrs = json_get(v, "counters");
			const struct json_value *cv = json_get(ctrs, c + 9);
			ck_assert_msg(cv, "no %s", c);
			/* vmm.swap.pages counts slots in use, also those of
			 * a writeback or a swap-in still in flight at the
			 * end (the page is resident meanwhile); a footprint
			 * counts entries that hold a slot.  test_vmm checks
			 * them equal at rest. */
			uint64_t slack = i == 3 ? 64 : 0;
			ck_assert_msg(sum <= (uint64_t)cv->i &&
					      sum + slack >= (uint64_t)cv->i,
				      "host %s %s: spaces %" G_GUINT64_FORMAT
				      ", VMM %" G_GINT64_FORMAT, hosts[h],
				      k[i].kind, sum, cv->i);
			if (i == 3)
				swapped += sum;
			g_free(c);
		}
	ck_assert_uint_gt(swapped, 0); /* the hog pushed pages to swap */
	const struct json_value *regs = json_path(v, "workloads.bw.registrations");
	ck_assert_uint_eq(regs->items->len, 2);
	const struct json_value *srv = regs->items->pdata[1];
	ck_assert_str_eq(json_get(srv, "side")->str, "server");
	double res = num(srv, "footprint.resident");
	double peak = num(srv, "footprint.resident_peak");
	ck_assert(res > 0 && peak >= res);
	ck_assert(peak <= (double)num(srv, "length") / 4096);
	json_value_free(v);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("summary");
	TCase *tc = tcase_create("json");
	tcase_add_test(tc, json_roundtrip);
	tcase_add_test(tc, summary_keys);
	tcase_add_test(tc, build_errors);
	tcase_add_test(tc, summary_figures_truthful);
	tcase_add_test(tc, summary_footprints);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
