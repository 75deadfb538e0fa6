/*
 * tests/test_perftest.c - the perftest workloads' slot order, QPs and
 * message sizes (workloads/perftest.c), seen from outside: each run writes
 * its trace (the workload's wr_post records: QP, remote address, size; the
 * NICs' qp_state records; the MRs' mr_registered records) and the test
 * reads it back.
 *
 *  - qps = 16 creates 16 connected QP pairs, and every one carries traffic;
 *  - offsets = random draws exactly the slots of the stream
 *    "wl.NAME.offsets" of sim/rng.h (replayed here from the seed), and the
 *    slots cover the buffer uniformly (a chi-square test);
 *  - offsets = stride:S steps by S and wraps; sequential is slot after slot;
 *  - msg_sizes: a weighted list follows its weights (chi-square), ranges
 *    stay inside their bounds, log-uniform is uniform in log(size), and the
 *    bytes the summary counts are the sizes posted;
 *  - bad values are one-line errors naming the key.
 */
#include <check.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/json.h"
#include "sim/rng.h"
#include "sim/system/system.h"

struct post {
	char host[8];
	char kind[24];
	uint64_t qp, va, len;
	char detail[24];
};

/* A two-host write_bw scenario of @duration; @extra goes into [workload
 * bw]. */
static char *scenario_for(const char *duration, const char *extra)
{
	return g_strdup_printf("[sim]\nduration = %s\nseed = 5\n"
			       "[host a]\nmemory = 256MiB\n"
			       "[host b]\nmemory = 256MiB\n"
			       "[link ab]\nends = a b\n"
			       "[workload bw]\ntype = write_bw\nclient = a\n"
			       "server = b\ntx_depth = 16\n%s\n",
			       duration, extra);
}

static char *scenario(const char *extra)
{
	return scenario_for("400us", extra);
}

/* Build and run @text, tracing @kinds; the trace records and the summary
 * (free both).  NULL and *err set when the scenario does not build. */
static GArray *run_traced(const char *text, const char *kinds,
			  struct json_value **summary, char **err)
{
	char *dir = g_dir_make_tmp("odpsim-perftest-XXXXXX", NULL);
	char *path = g_build_filename(dir, "t.csv", NULL);
	struct run_options opt = { .scenario_text = text, .trace_path = path,
				   .trace_kinds = kinds };
	bool io;
	GError *e = NULL;
	struct system *sys = system_build("test.ini", &opt, &io, &e);
	if (!sys) {
		*err = g_strdup(e->message);
		g_error_free(e);
		g_rmdir(dir);
		g_free(path);
		g_free(dir);
		return NULL;
	}
	ck_assert_msg(system_run(sys, &e), "%s", e ? e->message : "");
	char *j = system_summary_json(sys, false);
	*summary = json_parse(j, NULL);
	g_free(j);
	system_free(sys);
	char *csv = NULL;
	ck_assert(g_file_get_contents(path, &csv, NULL, NULL));
	GArray *v = g_array_new(FALSE, TRUE, sizeof(struct post));
	char **lines = g_strsplit(csv, "\n", -1);
	for (char **l = lines; *l; l++) {
		if (!**l || **l == '#' || g_str_has_prefix(*l, "time_ps"))
			continue;
		/* time_ps,nic_cycle,host,component,kind,qp,psn,as,va,frame,
		 * len,detail (schema 2) */
		char **f = g_strsplit(*l, ",", 12);
		ck_assert_uint_eq(g_strv_length(f), 12);
		struct post p = { 0 };
		g_strlcpy(p.host, f[2], sizeof(p.host));
		g_strlcpy(p.kind, f[4], sizeof(p.kind));
		p.qp = *f[5] ? g_ascii_strtoull(f[5], NULL, 10) : 0;
		p.va = *f[8] ? g_ascii_strtoull(f[8], NULL, 16) : 0;
		p.len = *f[10] ? g_ascii_strtoull(f[10], NULL, 10) : 0;
		/* RFC 4180 quoted */
		g_strlcpy(p.detail, f[11] + (*f[11] == '"'), sizeof(p.detail));
		char *q = strchr(p.detail, '"');
		if (q)
			*q = 0;
		g_array_append_val(v, p);
		g_strfreev(f);
	}
	g_strfreev(lines);
	g_free(csv);
	g_unlink(path);
	g_rmdir(dir);
	g_free(path);
	g_free(dir);
	return v;
}

/* The address of host @host's MR (its first mr_registered record). */
static uint64_t mr_base(GArray *v, const char *host)
{
	for (guint i = 0; i < v->len; i++) {
		struct post *p = &g_array_index(v, struct post, i);
		if (!strcmp(p->kind, "mr_registered") &&
		    !strcmp(p->detail, host))
			return p->va;
	}
	ck_abort_msg("no mr_registered record of host %s", host);
	return 0;
}

static uint64_t wl_u64(const struct json_value *s, const char *key)
{
	const struct json_value *v = json_path(json_get(json_get(s,
								 "workloads"),
							"bw"),
					       key);
	ck_assert_msg(v && v->type == JSON_NUM, "no workload figure %s", key);
	return (uint64_t)v->i;
}

START_TEST(qps_16_pairs)
{
	char *text = scenario("qps = 16\nmsg_size = 4KiB\n");
	struct json_value *s = NULL;
	char *err = NULL;
	GArray *v = run_traced(text, "qp_state,wr_post", &s, &err);
	ck_assert_msg(v, "%s", err);
	GHashTable *rts[2] = { g_hash_table_new(NULL, NULL),
			       g_hash_table_new(NULL, NULL) };
	GHashTable *used = g_hash_table_new(NULL, NULL);
	for (guint i = 0; i < v->len; i++) {
		struct post *p = &g_array_index(v, struct post, i);
		if (!strcmp(p->kind, "qp_state") && !strcmp(p->detail, "RTS"))
			g_hash_table_add(rts[p->host[0] == 'b'],
					 GSIZE_TO_POINTER(p->qp));
		if (!strcmp(p->kind, "wr_post"))
			g_hash_table_add(used, GSIZE_TO_POINTER(p->qp));
	}
	ck_assert_uint_eq(g_hash_table_size(rts[0]), 16);
	ck_assert_uint_eq(g_hash_table_size(rts[1]), 16);
	ck_assert_uint_eq(g_hash_table_size(used), 16);
	/* 16 x 16 in flight keep the link busy: the stream still runs */
	ck_assert_uint_gt(wl_u64(s, "completed"), 16 * 16);
	ck_assert_uint_eq(wl_u64(s, "errors"), 0);
	for (int i = 0; i < 2; i++)
		g_hash_table_destroy(rts[i]);
	g_hash_table_destroy(used);
	g_array_free(v, TRUE);
	json_value_free(s);
	g_free(text);
}
END_TEST

/* Each QP stays in its own slice of the buffer. */
START_TEST(qps_slices)
{
	char *text = scenario("qps = 4\nmsg_size = 4KiB\nbuffer = 64KiB\n"
			      "offsets = random\n");
	struct json_value *s = NULL;
	char *err = NULL;
	GArray *v = run_traced(text, "wr_post,mr_registered", &s, &err);
	ck_assert_msg(v, "%s", err);
	uint64_t base = mr_base(v, "b");
	GHashTable *slice_of = g_hash_table_new(NULL, NULL);
	unsigned n = 0;
	for (guint i = 0; i < v->len; i++) {
		struct post *p = &g_array_index(v, struct post, i);
		if (strcmp(p->kind, "wr_post"))
			continue;
		uint64_t off = p->va - base;
		ck_assert_uint_lt(off, 64 * 1024);
		ck_assert_uint_eq(off % 4096, 0);
		gpointer slice = GSIZE_TO_POINTER(off / (16 * 1024) + 1);
		gpointer had = g_hash_table_lookup(slice_of,
						   GSIZE_TO_POINTER(p->qp));
		ck_assert_msg(!had || had == slice,
			      "QP %" G_GUINT64_FORMAT " left its slice", p->qp);
		g_hash_table_insert(slice_of, GSIZE_TO_POINTER(p->qp), slice);
		n++;
	}
	ck_assert_uint_gt(n, 100);
	ck_assert_uint_eq(g_hash_table_size(slice_of), 4);
	g_hash_table_destroy(slice_of);
	g_array_free(v, TRUE);
	json_value_free(s);
	g_free(text);
}
END_TEST

START_TEST(random_offsets_uniform)
{
	enum { SLOTS = 64 };
	char *text = scenario_for("2ms", "msg_size = 4KiB\nbuffer = 256KiB\n"
				  "offsets = random\n");
	struct json_value *s = NULL;
	char *err = NULL;
	GArray *v = run_traced(text, "wr_post,mr_registered", &s, &err);
	ck_assert_msg(v, "%s", err);
	uint64_t base = mr_base(v, "b");
	/* the same draws, replayed from the seed and the stream's name */
	struct rng r;
	rng_init(&r, 5, "wl.bw.offsets");
	unsigned count[SLOTS] = { 0 }, n = 0;
	for (guint i = 0; i < v->len; i++) {
		struct post *p = &g_array_index(v, struct post, i);
		if (strcmp(p->kind, "wr_post"))
			continue;
		uint64_t slot = (p->va - base) / 4096;
		ck_assert_uint_eq((p->va - base) % 4096, 0);
		ck_assert_uint_eq(slot, rng_below(&r, SLOTS));
		count[slot]++;
		n++;
	}
	ck_assert_uint_gt(n, 3000); /* ~47 per slot */
	double e = (double)n / SLOTS, chi2 = 0;
	for (unsigned k = 0; k < SLOTS; k++)
		chi2 += (count[k] - e) * (count[k] - e) / e;
	/* 63 degrees of freedom: P(chi2 > 103.4) = 0.001 */
	ck_assert_msg(chi2 < 103.4, "chi2 = %.1f over %u draws", chi2, n);
	g_array_free(v, TRUE);
	json_value_free(s);
	g_free(text);
}
END_TEST

START_TEST(stride_and_sequential)
{
	static const struct {
		const char *keys;
		uint64_t step, len;
	} c[] = {
		{ "msg_size = 4KiB\nbuffer = 40KiB\noffsets = stride:12KiB\n",
		  12288, 40960 },
		{ "msg_size = 4KiB\nbuffer = 40KiB\n", 4096, 40960 },
	};
	for (unsigned k = 0; k < G_N_ELEMENTS(c); k++) {
		char *text = scenario(c[k].keys);
		struct json_value *s = NULL;
		char *err = NULL;
		GArray *v = run_traced(text, "wr_post,mr_registered", &s, &err);
		ck_assert_msg(v, "%s", err);
		uint64_t base = mr_base(v, "b");
		uint64_t nth = 0;
		for (guint i = 0; i < v->len; i++) {
			struct post *p = &g_array_index(v, struct post, i);
			if (strcmp(p->kind, "wr_post"))
				continue;
			uint64_t want = nth++ * c[k].step % c[k].len;
			if (want + 4096 > c[k].len)
				want = 0;
			ck_assert_uint_eq(p->va - base, want);
		}
		ck_assert_uint_gt(nth, 20);
		g_array_free(v, TRUE);
		json_value_free(s);
		g_free(text);
	}
}
END_TEST

START_TEST(size_list_weights)
{
	char *text = scenario_for("5ms", "msg_sizes = 1KiB:1, 4KiB:2, 16KiB:5\n"
				  "buffer = 1MiB\niterations = 4000\n");
	struct json_value *s = NULL;
	char *err = NULL;
	GArray *v = run_traced(text, "wr_post,mr_registered", &s, &err);
	ck_assert_msg(v, "%s", err);
	uint64_t base = mr_base(v, "b");
	unsigned count[3] = { 0 }, n = 0;
	uint64_t bytes = 0;
	for (guint i = 0; i < v->len; i++) {
		struct post *p = &g_array_index(v, struct post, i);
		if (strcmp(p->kind, "wr_post"))
			continue;
		/* slots are the largest size: 16 KiB apart */
		ck_assert_uint_eq((p->va - base) % 16384, 0);
		count[p->len == 1024 ? 0 : p->len == 4096 ? 1 : 2]++;
		ck_assert(p->len == 1024 || p->len == 4096 || p->len == 16384);
		bytes += p->len;
		n++;
	}
	ck_assert_uint_eq(n, 4000);
	/* every message completed: the summary's bytes are the sizes */
	ck_assert_uint_eq(wl_u64(s, "completed"), 4000);
	ck_assert_uint_eq(wl_u64(s, "bytes"), bytes);
	static const double w[3] = { 1.0 / 8, 2.0 / 8, 5.0 / 8 };
	double chi2 = 0;
	for (unsigned k = 0; k < 3; k++)
		chi2 += (count[k] - n * w[k]) * (count[k] - n * w[k]) /
			(n * w[k]);
	/* 2 degrees of freedom: P(chi2 > 13.8) = 0.001 */
	ck_assert_msg(chi2 < 13.8, "chi2 = %.1f (%u %u %u)", chi2, count[0],
		      count[1], count[2]);
	g_array_free(v, TRUE);
	json_value_free(s);
	g_free(text);
}
END_TEST

START_TEST(size_ranges)
{
	for (int log_mode = 0; log_mode < 2; log_mode++) {
		char *text = scenario_for("2ms",
					  log_mode
						  ? "msg_sizes = 64B..64KiB log\n"
						    "buffer = 4MiB\n"
						  : "msg_sizes = 1000B..3000B\n"
						    "buffer = 1MiB\n");
		struct json_value *s = NULL;
		char *err = NULL;
		GArray *v = run_traced(text, "wr_post", &s, &err);
		ck_assert_msg(v, "%s", err);
		uint64_t lo = log_mode ? 64 : 1000, hi = log_mode ? 65536 : 3000;
		double sum = 0, sumlog = 0, below_mid = 0;
		unsigned n = 0;
		for (guint i = 0; i < v->len; i++) {
			struct post *p = &g_array_index(v, struct post, i);
			ck_assert_uint_ge(p->len, lo);
			ck_assert_uint_le(p->len, hi);
			sum += (double)p->len;
			sumlog += log((double)p->len);
			/* log-uniform: half the sizes under sqrt(lo x hi) */
			below_mid += log_mode && p->len < 2048;
			n++;
		}
		ck_assert_uint_gt(n, 500);
		if (log_mode) {
			/* mean of log(size) is the midpoint of the logs; the
			 * standard error is (ln hi - ln lo) / sqrt(12 n) */
			double mid = (log(64.0) + log(65536.0)) / 2;
			double se = (log(65536.0) - log(64.0)) / sqrt(12.0 * n);
			ck_assert_msg(fabs(sumlog / n - mid) < 4 * se,
				      "mean log size %.3f, expected %.3f",
				      sumlog / n, mid);
			ck_assert_msg(fabs(below_mid / n - 0.5) <
					      4 * 0.5 / sqrt(n),
				      "%.3f of the sizes below 2 KiB",
				      below_mid / n);
		} else {
			double se = 2000 / sqrt(12.0 * n);
			ck_assert_msg(fabs(sum / n - 2000) < 4 * se,
				      "mean size %.1f", sum / n);
		}
		g_array_free(v, TRUE);
		json_value_free(s);
		g_free(text);
	}
}
END_TEST

START_TEST(bad_values)
{
	static const struct {
		const char *keys, *msg;
	} c[] = {
		{ "msg_size = 4KiB\nmsg_sizes = 4KiB,8KiB\n",
		  "[workload bw] msg_sizes: msg_size is given too" },
		{ "offsets = randmo\n",
		  "[workload bw] offsets: 'randmo' is not sequential, random or "
		  "stride:SIZE (did you mean 'random'?)" },
		{ "offsets = stride:0B\n", "the stride is a size above 0B" },
		{ "offsets = stride:4Gbps\n", "offsets: 'stride:4Gbps'" },
		{ "msg_sizes = 8KiB..4KiB\n", "'8KiB..4KiB': LO is above HI" },
		{ "msg_sizes = 0B..4KiB log\n", "starts above 0B" },
		{ "msg_sizes = 1KiB..4KiB zipf\n", "'zipf' is not a distribution" },
		{ "msg_sizes = 4KiB:-1\n", "weight '-1' is not a number >= 0" },
		{ "msg_sizes = 4KiB:0\n", "the weights add up to 0" },
		{ "msg_sizes = 4GiB\n", "above the largest message" },
		{ "qps = 4\nmsg_size = 4KiB\nbuffer = 8KiB\n",
		  "buffer: smaller than qps x the largest message (16384 B)" },
		{ "qps = 0\n", "qps: 0 is out of range" },
	};
	for (unsigned k = 0; k < G_N_ELEMENTS(c); k++) {
		char *text = scenario(c[k].keys);
		struct json_value *s = NULL;
		char *err = NULL;
		GArray *v = run_traced(text, "wr_post", &s, &err);
		ck_assert_msg(!v, "'%s' was accepted", c[k].keys);
		ck_assert_msg(strstr(err, c[k].msg), "'%s': got '%s'",
			      c[k].keys, err);
		ck_assert_msg(!strchr(err, '\n'), "two lines: %s", err);
		ck_assert_msg(g_str_has_prefix(err, "test.ini:"),
			      "no file:line: %s", err);
		g_free(err);
		g_free(text);
	}
	/* the latency tests have one QP and one slot: no such keys */
	char *text = g_strdup_printf(
		"[host a]\n[host b]\n[link ab]\nends = a b\n"
		"[workload l]\ntype = write_lat\nclient = a\nserver = b\n"
		"qps = 2\n");
	struct json_value *s = NULL;
	char *err = NULL;
	ck_assert(!run_traced(text, "wr_post", &s, &err));
	ck_assert_msg(strstr(err, "qps"), "%s", err);
	g_free(err);
	g_free(text);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("perftest");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, qps_16_pairs);
	tcase_add_test(tc, qps_slices);
	tcase_add_test(tc, random_offsets_uniform);
	tcase_add_test(tc, stride_and_sequential);
	tcase_add_test(tc, size_list_weights);
	tcase_add_test(tc, size_ranges);
	tcase_add_test(tc, bad_values);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
