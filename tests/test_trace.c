/*
 * tests/test_trace.c - the trace mechanism and its sinks: the CSV header is
 * the one traces/README.md documents; same seed, same bytes (CSV and
 * timeline); the timeline parses and its complete events nest per track;
 * filters keep exactly the rows they should (checked against an unfiltered
 * run, row by row) and apply to the timeline; the size cap stops at the
 * cap with a warning and leaves a valid timeline; crossing spans, ENDs
 * without BEGIN and spans open at the end are handled as documented; a
 * model's spans (the RNR wait) land on their QP's track.
 *
 * Runs from the top of the tree (make check), where workloads/ and
 * traces/ are.
 */
#include <check.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nic/host.h"
#include "nic/nic.h"
#include "sim/json.h"
#include "sim/outfile.h"
#include "sim/sim.h"
#include "sim/stats.h"
#include "sim/system/system.h"
#include "sim/timeline.h"
#include "sim/trace.h"
#include "vmm/vmm.h"

#define SCENARIO "workloads/write_bw.ini"
#define SHORT "300us"
#define N_ARG TRACE_NONE

static char *tmp_path(const char *name)
{
	static char *dir;
	if (!dir) {
		dir = g_dir_make_tmp("odpsim-trace-XXXXXX", NULL);
		ck_assert_ptr_nonnull(dir);
	}
	return g_build_filename(dir, name, NULL);
}

static char *slurp(const char *path, gsize *len)
{
	char *text = NULL;
	GError *e = NULL;
	ck_assert_msg(g_file_get_contents(path, &text, len, &e), "%s",
		      e ? e->message : "");
	return text;
}

/* Run SCENARIO for SHORT with the given trace options; stderr of the run
 * goes to @err_path when not NULL. */
static void run(struct run_options *opt, const char *err_path)
{
	int saved = -1;
	if (err_path) {
		fflush(stderr);
		saved = dup(2);
		int fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		ck_assert_int_ge(fd, 0);
		dup2(fd, 2);
		close(fd);
	}
	opt->duration = SHORT;
	bool io;
	GError *e = NULL;
	struct system *sys = system_build(SCENARIO, opt, &io, &e);
	ck_assert_msg(sys, "%s", e ? e->message : "");
	ck_assert_msg(system_run(sys, &e), "%s", e ? e->message : "");
	system_free(sys);
	if (err_path) {
		fflush(stderr);
		dup2(saved, 2);
		close(saved);
	}
}

/* The rows of a trace CSV (without the two header lines). */
static char **csv_rows(const char *path, unsigned *n)
{
	char *text = slurp(path, NULL);
	char **lines = g_strsplit(text, "\n", -1);
	g_free(text);
	ck_assert_str_eq(lines[0], "# odpsim trace schema 2");
	ck_assert_str_eq(lines[1], trace_csv_header);
	unsigned len = g_strv_length(lines);
	ck_assert(len >= 3 && !*lines[len - 1]); /* ends with a newline */
	GPtrArray *v = g_ptr_array_new();
	for (unsigned i = 2; i + 1 < len; i++)
		g_ptr_array_add(v, g_strdup(lines[i]));
	g_strfreev(lines);
	*n = v->len;
	g_ptr_array_add(v, NULL);
	return (char **)g_ptr_array_free(v, FALSE);
}

START_TEST(csv_header_matches_readme)
{
	char *readme = slurp("traces/README.md", NULL);
	/* the first code block after the CSV schema heading */
	const char *sec = strstr(readme, "## CSV schema");
	ck_assert_ptr_nonnull(sec);
	const char *code = strstr(sec, "```\n");
	ck_assert_ptr_nonnull(code);
	code += 4;
	const char *end = strchr(code, '\n');
	char *doc = g_strndup(code, (gsize)(end - code));
	ck_assert_str_eq(doc, trace_csv_header);
	g_free(doc);
	/* and every column is explained in the table */
	char **cols = g_strsplit(trace_csv_header, ",", -1);
	for (char **c = cols; *c; c++) {
		char *cell = g_strdup_printf("| `%s` |", *c);
		ck_assert_msg(strstr(readme, cell), "%s not documented", *c);
		g_free(cell);
	}
	g_strfreev(cols);
	g_free(readme);

	char *path = tmp_path("hdr.csv");
	struct run_options opt = { .trace_path = path };
	run(&opt, NULL);
	unsigned n;
	char **rows = csv_rows(path, &n);
	ck_assert_uint_gt(n, 0);
	g_strfreev(rows);
	g_free(path);
}
END_TEST

START_TEST(same_seed_same_bytes)
{
	char *c[2], *j[2];
	for (int i = 0; i < 2; i++) {
		c[i] = tmp_path(i ? "s1.csv" : "s0.csv");
		j[i] = tmp_path(i ? "s1.json" : "s0.json");
		struct run_options opt = { .trace_path = c[i],
					   .timeline_path = j[i],
					   .have_seed = true, .seed = 7 };
		run(&opt, NULL);
	}
	gsize l0, l1;
	char *a = slurp(c[0], &l0), *b = slurp(c[1], &l1);
	ck_assert_uint_gt(l0, 1000);
	ck_assert(l0 == l1 && !memcmp(a, b, l0));
	g_free(a);
	g_free(b);
	a = slurp(j[0], &l0);
	b = slurp(j[1], &l1);
	ck_assert_uint_gt(l0, 1000);
	ck_assert(l0 == l1 && !memcmp(a, b, l0));
	g_free(a);
	g_free(b);
	for (int i = 0; i < 2; i++) {
		g_free(c[i]);
		g_free(j[i]);
	}
}
END_TEST

static int64_t num(const struct json_value *o, const char *key)
{
	const struct json_value *v = json_get(o, key);
	ck_assert_msg(v && v->type == JSON_NUM && v->is_int, "no integer %s",
		      key);
	return v->i;
}

struct span_ref {
	int64_t pid, tid, t, dur;
};

static gint span_cmp(gconstpointer pa, gconstpointer pb)
{
	const struct span_ref *a = pa, *b = pb;
	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	if (a->tid != b->tid)
		return a->tid < b->tid ? -1 : 1;
	if (a->t != b->t)
		return a->t < b->t ? -1 : 1;
	/* at equal starts the longer one encloses */
	return a->dur > b->dur ? -1 : a->dur < b->dur;
}

/* Parse a timeline and check its structure: every event has the fields
 * of its phase, every tid used is named, and complete events nest per
 * (pid, tid).  Returns the parsed tree. */
static struct json_value *timeline_check(const char *path)
{
	char *text = slurp(path, NULL);
	GError *e = NULL;
	struct json_value *v = json_parse(text, &e);
	ck_assert_msg(v, "%s: %s", path, e ? e->message : "");
	g_free(text);
	const struct json_value *ev = json_get(v, "traceEvents");
	ck_assert(ev && ev->type == JSON_ARR);
	GHashTable *named = g_hash_table_new_full(g_str_hash, g_str_equal,
						  g_free, NULL);
	GArray *spans = g_array_new(FALSE, FALSE, sizeof(struct span_ref));
	for (guint i = 0; i < ev->items->len; i++) {
		const struct json_value *o = ev->items->pdata[i];
		const char *ph = json_get(o, "ph")->str;
		ck_assert(json_get(o, "name")->type == JSON_STR);
		num(o, "pid");
		if (!strcmp(ph, "M")) {
			if (!strcmp(json_get(o, "name")->str, "thread_name"))
				g_hash_table_add(
					named,
					g_strdup_printf(
						"%" G_GINT64_FORMAT
						"/%" G_GINT64_FORMAT,
						num(o, "pid"), num(o, "tid")));
			continue;
		}
		ck_assert(json_get(o, "ts")->type == JSON_NUM);
		if (!strcmp(ph, "C"))
			continue;
		char *k = g_strdup_printf("%" G_GINT64_FORMAT
					  "/%" G_GINT64_FORMAT,
					  num(o, "pid"), num(o, "tid"));
		/* metadata names a track before its first event */
		ck_assert_msg(g_hash_table_contains(named, k),
			      "%s used before thread_name", k);
		g_free(k);
		const struct json_value *args = json_get(o, "args");
		/* ts (us, 6 decimals) is the exact t_ps */
		ck_assert_int_eq((int64_t)(json_get(o, "ts")->num * 1e6 + 0.5),
				 num(args, "t_ps"));
		if (!strcmp(ph, "X")) {
			struct span_ref s = { num(o, "pid"), num(o, "tid"),
					      num(args, "t_ps"),
					      num(args, "dur_ps") };
			g_array_append_val(spans, s);
		} else {
			ck_assert_str_eq(ph, "i");
		}
	}
	g_array_sort(spans, span_cmp);
	/* a stack of open ends per track */
	GArray *stack = g_array_new(FALSE, FALSE, sizeof(int64_t));
	for (guint i = 0; i < spans->len; i++) {
		struct span_ref *s = &g_array_index(spans, struct span_ref, i);
		if (i == 0 || s->pid != s[-1].pid || s->tid != s[-1].tid)
			g_array_set_size(stack, 0);
		while (stack->len &&
		       g_array_index(stack, int64_t, stack->len - 1) <= s->t)
			g_array_set_size(stack, stack->len - 1);
		int64_t end = s->t + s->dur;
		if (stack->len)
			ck_assert_msg(end <= g_array_index(stack, int64_t,
							   stack->len - 1),
				      "span at %" G_GINT64_FORMAT
				      " ps on %" G_GINT64_FORMAT
				      "/%" G_GINT64_FORMAT
				      " crosses its parent",
				      s->t, s->pid, s->tid);
		g_array_append_val(stack, end);
	}
	g_array_free(stack, TRUE);
	g_array_free(spans, TRUE);
	g_hash_table_destroy(named);
	return v;
}

START_TEST(timeline_of_a_run)
{
	char *path = tmp_path("run.json");
	struct run_options opt = { .timeline_path = path };
	run(&opt, NULL);
	struct json_value *v = timeline_check(path);
	const struct json_value *ev = json_get(v, "traceEvents");
	bool host_a = false, wire = false, counter = false, qp = false;
	for (guint i = 0; i < ev->items->len; i++) {
		const struct json_value *o = ev->items->pdata[i];
		const char *ph = json_get(o, "ph")->str;
		const char *name = json_get(o, "name")->str;
		const struct json_value *args = json_get(o, "args");
		if (!strcmp(ph, "M") && !strcmp(name, "process_name") &&
		    !strcmp(json_get(args, "name")->str, "host a"))
			host_a = num(o, "pid") == 1;
		if (!strcmp(ph, "M") && !strcmp(name, "thread_name")) {
			const char *t = json_get(args, "name")->str;
			wire |= !strcmp(t, "wire ab") && num(o, "pid") == 3;
			qp |= g_str_has_prefix(t, "nic qp ");
		}
		if (!strcmp(ph, "C") && !strcmp(name, "a.nic.tx_bytes"))
			counter = json_get(args, "Gbps") != NULL;
	}
	ck_assert(host_a);
	ck_assert(wire);
	ck_assert(qp);
	ck_assert(counter);
	json_value_free(v);
	g_free(path);
}
END_TEST

/* The filters apply to the timeline too, counters included. */
START_TEST(timeline_filtered)
{
	char *path = tmp_path("hostb.json");
	struct run_options opt = { .timeline_path = path,
				   .trace_hosts = "b" };
	run(&opt, NULL);
	struct json_value *v = timeline_check(path);
	const struct json_value *ev = json_get(v, "traceEvents");
	unsigned n = 0, counters = 0;
	for (guint i = 0; i < ev->items->len; i++) {
		const struct json_value *o = ev->items->pdata[i];
		const char *ph = json_get(o, "ph")->str;
		if (!strcmp(ph, "M"))
			continue;
		ck_assert_int_eq(num(o, "pid"), 2);
		if (!strcmp(ph, "C")) {
			ck_assert(g_str_has_prefix(json_get(o, "name")->str,
						   "b."));
			counters++;
		}
		n++;
	}
	ck_assert_uint_gt(n, counters);
	ck_assert_uint_gt(counters, 0);
	json_value_free(v);
	g_free(path);
}
END_TEST

static const struct trace_kind k_inval_b = { "t_inval_start", TRACE_BEGIN,
					     "invalidate" };
static const struct trace_kind k_inval_e = { "t_inval_end", TRACE_END,
					     "invalidate" };
static const struct trace_kind k_point = { "t_point", TRACE_INSTANT, NULL };

static const struct json_value *find_x(const struct json_value *ev,
				       int64_t t_ps)
{
	for (guint i = 0; i < ev->items->len; i++) {
		const struct json_value *o = ev->items->pdata[i];
		if (!strcmp(json_get(o, "ph")->str, "X") &&
		    num(json_get(o, "args"), "t_ps") == t_ps)
			return o;
	}
	ck_abort_msg("no span at %" G_GINT64_FORMAT, t_ps);
	return NULL;
}

static const char *thread_name(const struct json_value *ev, int64_t pid,
			       int64_t tid)
{
	for (guint i = 0; i < ev->items->len; i++) {
		const struct json_value *o = ev->items->pdata[i];
		if (!strcmp(json_get(o, "ph")->str, "M") &&
		    !strcmp(json_get(o, "name")->str, "thread_name") &&
		    num(o, "pid") == pid && num(o, "tid") == tid)
			return json_get(json_get(o, "args"), "name")->str;
	}
	return NULL;
}

static void reg_cb(void *ctx, struct nic_mr *mr, int status)
{
	ck_assert_int_eq(status, 0);
	*(struct nic_mr **)ctx = mr;
}

static void cq_drain(void *ctx, struct nic_cq *cq)
{
	(void)ctx;
	struct nic_wc wc[16];
	while (nic_poll_cq(cq, wc, 16) > 0)
		;
}

/* A model's spans end to end: a SEND with no receive posted is answered
 * with RNR NAKs; each wait for the RNR timer is one complete event
 * "rnr_wait" on the requester QP's track, as long as the wait the NIC
 * realises (the default [nic] rnr_timer = hw: ConnectX-4's 1.5 ms floor
 * over code 1's 10 us). */
START_TEST(timeline_rnr_wait_spans)
{
	char *path = tmp_path("rnr.json");
	char *ini = tmp_path("rnr.ini");
	ck_assert(g_file_set_contents(
		ini, "[sim]\nduration = 1s\n[host a]\nmemory = 64MiB\n"
		     "[host b]\nmemory = 64MiB\n[link ab]\nends = a b\n",
		-1, NULL));
	struct run_options opt = { .timeline_path = path };
	bool io;
	GError *e = NULL;
	struct system *sys = system_build(ini, &opt, &io, &e);
	ck_assert_msg(sys, "%s", e ? e->message : "");
	struct sim *sim = system_sim(sys);
	struct nic_pd *pd[2];
	struct nic_qp *qp[2];
	struct nic_mr *mr[2] = { NULL, NULL };
	uint64_t buf[2];
	const char *names[2] = { "a", "b" };
	for (int i = 0; i < 2; i++) {
		struct host *h = system_host(sys, names[i]);
		struct vmm_as *as = vmm_as_new(h->vmm, "test");
		buf[i] = vmm_mmap_anywhere(as, 1 << 16,
					   VMM_PROT_READ | VMM_PROT_WRITE,
					   VMM_VMA_ANON, NULL);
		pd[i] = nic_alloc_pd(h->nic);
		struct nic_cq *cq = nic_create_cq(h->nic, 256, cq_drain, NULL);
		qp[i] = nic_create_qp(pd[i], cq, cq, 64, 64);
		nic_reg_mr(pd[i], as, buf[i], 1 << 16,
			   NIC_ACCESS_LOCAL_WRITE | NIC_ACCESS_REMOTE_WRITE, 0,
			   reg_cb, &mr[i]);
	}
	sim_run_until(sim, sim_now(sim) + 10 * SIM_MS);
	ck_assert(mr[0] && mr[1]);
	struct nic_mr_info mi;
	nic_mr_info(mr[0], &mi);
	/* RNR timer code 1: 10 us (IBA Table 45) */
	struct nic_qp_attr attr = {
		.path_mtu = 4096, .timeout = 10, .retry_cnt = 7,
		.rnr_retry = 2, .min_rnr_timer = 1, .max_rd_atomic = 16,
	};
	ck_assert(nic_connect(qp[0], qp[1], &attr, &e));
	struct nic_send_wr wr = {
		.wr_id = 1, .opcode = NIC_WR_SEND,
		.sge = { buf[0], 64, mi.lkey }, .signaled = true,
	};
	ck_assert_int_eq(nic_post_send(qp[0], &wr), 0);
	sim_run_until(sim, sim_now(sim) + 10 * SIM_MS);
	ck_assert_uint_eq(stats_get(sim->stats, "b.nic.rnr_naks_sent"), 3);
	/* the requester's RNR waits are the completer's doing */
	char *track = g_strdup_printf("nic.completer qp %u",
				      nic_qp_num(qp[0]));
	ck_assert_msg(system_finish_outputs(sys, &e), "%s", e->message);
	system_free(sys);

	struct json_value *v = timeline_check(path);
	const struct json_value *ev = json_get(v, "traceEvents");
	unsigned spans = 0;
	for (guint i = 0; i < ev->items->len; i++) {
		const struct json_value *o = ev->items->pdata[i];
		if (strcmp(json_get(o, "ph")->str, "X"))
			continue;
		ck_assert_str_eq(json_get(o, "name")->str, "rnr_wait");
		ck_assert_int_eq(num(o, "pid"), 1);
		ck_assert_str_eq(thread_name(ev, 1, num(o, "tid")), track);
		const struct json_value *args = json_get(o, "args");
		ck_assert_int_eq(num(args, "dur_ps"), 1500 * SIM_US);
		ck_assert_ptr_null(json_get(args, "unfinished"));
		spans++;
	}
	/* two waits; the third NAK exceeds rnr_retry and errors the QP */
	ck_assert_uint_eq(spans, 2);
	ck_assert_int_eq(num(json_get(v, "otherData"), "unmatched_ends"), 0);
	g_free(track);
	json_value_free(v);
	g_free(path);
	g_free(ini);
}
END_TEST

/* Crossing spans go to a sub-track; an END without BEGIN is an instant,
 * counted and reported; a span open at close is "unfinished". */
START_TEST(timeline_spans)
{
	char *path = tmp_path("spans.json"), *err = tmp_path("spans.err");
	struct sim *sim = sim_new(1);
	uint16_t vmm = sim_component_add(sim, "a.vmm");
	uint16_t wire = sim_component_add(sim, "ab.wire");
	static const char *const hosts[] = { "a", "b" };
	sim->trace = trace_new(NULL, NULL, NULL, 0, 0, 0);
	trace_set_hosts(sim->trace, hosts, 2);
	GError *e = NULL;
	struct outfile *of = outfile_open(path, &e);
	ck_assert_msg(of, "%s", e ? e->message : "");
	struct trace_sink *tl = timeline_open(of, hosts, 2);
	trace_add_sink(sim->trace, tl);
	const uint64_t N = TRACE_NONE;
	struct { sim_time_t t; uint16_t c; const struct trace_kind *k;
		 uint64_t va; } prog[] = {
		{ 1000, vmm, &k_inval_b, 0x1000 },  /* A */
		{ 2000, vmm, &k_inval_b, 0x2000 },  /* B, crosses A */
		{ 2500, vmm, &k_inval_b, 0x3000 },  /* C inside B */
		{ 3000, vmm, &k_inval_e, 0x1000 },  /* A ends: B, C move */
		{ 3500, vmm, &k_inval_e, 0x3000 },
		{ 4000, vmm, &k_inval_e, 0x2000 },
		{ 4500, wire, &k_point, N },
		{ 5000, vmm, &k_inval_e, 0x9000 },  /* no BEGIN */
		{ 6000, vmm, &k_inval_b, 0x4000 },  /* never ends */
		{ 6500, vmm, &k_inval_b, 0x5000 },  /* new A-lane span */
		{ 7000, vmm, &k_inval_e, 0x5000 },
	};
	for (unsigned i = 0; i < G_N_ELEMENTS(prog); i++) {
		sim->now = prog[i].t;
		sim_trace(sim, prog[i].c, prog[i].k, N, N, prog[i].va, N, 4096,
			  "a \"quoted\" detail\n");
	}
	sim->now = 10000;
	fflush(stderr);
	int saved = dup(2);
	int fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	dup2(fd, 2);
	close(fd);
	trace_close(sim->trace, sim);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	trace_free(sim->trace);
	sim->trace = NULL;
	sim_free(sim);
	ck_assert_msg(outfile_commit(of, &e), "%s", e ? e->message : "");

	char *msg = slurp(err, NULL);
	ck_assert_msg(strstr(msg, "1 span END event(s) without a BEGIN"), "%s",
		      msg);
	g_free(msg);
	struct json_value *v = timeline_check(path);
	const struct json_value *ev = json_get(v, "traceEvents");
	const struct json_value *a = find_x(ev, 1000), *b = find_x(ev, 2000),
				*c = find_x(ev, 2500), *d = find_x(ev, 6000),
				*f = find_x(ev, 6500);
	ck_assert_int_eq(num(a, "pid"), 1);
	ck_assert_str_eq(json_get(a, "name")->str, "invalidate");
	ck_assert_str_eq(thread_name(ev, 1, num(a, "tid")), "vmm");
	ck_assert_int_ne(num(b, "tid"), num(a, "tid"));
	ck_assert_int_eq(num(c, "tid"), num(b, "tid"));
	ck_assert_str_eq(thread_name(ev, 1, num(b, "tid")), "vmm #2");
	ck_assert_int_eq(num(json_get(b, "args"), "dur_ps"), 2000);
	ck_assert_int_eq(num(json_get(c, "args"), "dur_ps"), 1000);
	ck_assert_str_eq(json_get(json_get(a, "args"), "detail")->str,
			 "a \"quoted\" detail\n");
	ck_assert_str_eq(json_get(json_get(a, "args"), "va")->str, "0x1000");
	/* open at close: ends at close time, flagged */
	ck_assert_int_eq(num(json_get(d, "args"), "dur_ps"), 4000);
	ck_assert(json_get(json_get(d, "args"), "unfinished")->b);
	ck_assert_ptr_null(json_get(json_get(f, "args"), "unfinished"));
	ck_assert_int_eq(num(f, "tid"), num(d, "tid"));
	bool unmatched = false, wire_ok = false;
	for (guint i = 0; i < ev->items->len; i++) {
		const struct json_value *o = ev->items->pdata[i];
		if (strcmp(json_get(o, "ph")->str, "i"))
			continue;
		const struct json_value *u =
			json_get(json_get(o, "args"), "unmatched_end");
		unmatched |= u && u->b;
		if (!strcmp(json_get(o, "name")->str, "t_point"))
			wire_ok = num(o, "pid") == 3 &&
				  !strcmp(thread_name(ev, 3, num(o, "tid")),
					  "wire ab");
	}
	ck_assert(unmatched);
	ck_assert(wire_ok);
	ck_assert_int_eq(num(json_get(v, "otherData"), "unmatched_ends"), 1);
	ck_assert_int_eq(num(json_get(v, "otherData"), "unfinished_spans"), 1);
	json_value_free(v);
	g_free(path);
	g_free(err);
}
END_TEST

/* CSV fields: time_ps,nic_cycle,host,component,kind,... */
static char *field(const char *row, unsigned i)
{
	char **f = g_strsplit(row, ",", (gint)i + 2);
	ck_assert_uint_gt(g_strv_length(f), i);
	char *s = g_strdup(f[i]);
	g_strfreev(f);
	return s;
}

static bool keep_host_a(const char *row)
{
	char *h = field(row, 2);
	bool ok = !strcmp(h, "a");
	g_free(h);
	return ok;
}

static bool keep_nic(const char *row)
{
	char *c = field(row, 3);
	/* "nic" keeps the NIC and its engines (nic.responder...) */
	bool ok = !strcmp(c, "nic") || g_str_has_prefix(c, "nic.");
	g_free(c);
	return ok;
}

static bool keep_wire(const char *row)
{
	char *c = field(row, 3);
	bool ok = !strcmp(c, "ab.wire");
	g_free(c);
	return ok;
}

static bool keep_kinds(const char *row)
{
	char *k = field(row, 4);
	bool ok = !strcmp(k, "pkt_tx") || !strcmp(k, "vmm_fault");
	g_free(k);
	return ok;
}

static bool keep_window(const char *row)
{
	char *t = field(row, 0);
	uint64_t ps = g_ascii_strtoull(t, NULL, 10);
	g_free(t);
	return ps >= 100000000 && ps <= 200000000;
}

/* Every filter keeps exactly the rows of the unfiltered trace that pass
 * it, in the same order. */
/*
 * A record a filter drops is decided before any of its fields is
 * computed: the arguments of sim_trace() are not evaluated at all.  Many
 * kinds (so that several share a slot of the per-trace verdict memo) and
 * components under kind, component and host filters: each record either
 * is written, with its arguments evaluated once, or costs nothing.
 */
static bool in_list(const char *list, const char *name)
{
	char **v = g_strsplit(list, ",", -1);
	bool in = g_strv_contains((const char *const *)v, name);
	g_strfreev(v);
	return in;
}

static unsigned evaluated;
static uint64_t arg(uint64_t v)
{
	evaluated++;
	return v;
}

START_TEST(filtered_records_evaluate_nothing)
{
	enum { NK = 600 };
	struct trace_kind *kinds = g_new0(struct trace_kind, NK);
	char **names = g_new0(char *, NK);
	for (int i = 0; i < NK; i++) {
		names[i] = g_strdup_printf("kind%d", i);
		kinds[i] = (struct trace_kind){ names[i], TRACE_INSTANT, NULL };
	}
	static const char *const filters[][3] = {
		{ NULL, NULL, "kind7,kind300,kind599" },
		{ NULL, "nic", NULL },
		{ "b", NULL, "kind1" },
	};
	for (unsigned f = 0; f < G_N_ELEMENTS(filters); f++) {
		char *path = tmp_path("evaluated.csv");
		struct sim *sim = sim_new(1);
		uint16_t comp[3] = { sim_component_add(sim, "a.nic"),
				     sim_component_add(sim, "b.vmm"),
				     sim_component_add(sim, "ab.wire") };
		static const char *const hosts[] = { "a", "b" };
		sim->trace = trace_new(filters[f][0], filters[f][1],
				       filters[f][2], 0, 0, 0);
		trace_set_hosts(sim->trace, hosts, 2);
		GError *e = NULL;
		struct outfile *of = outfile_open(path, &e);
		ck_assert_msg(of, "%s", e ? e->message : "");
		trace_add_sink(sim->trace, trace_csv_open(of));
		unsigned want = 0;
		evaluated = 0;
		for (int round = 0; round < 3; round++)
			for (int i = 0; i < NK; i++) {
				uint16_t c = comp[i % 3];
				bool k_ok = !filters[f][2] ||
					    in_list(filters[f][2], names[i]);
				bool c_ok = (!filters[f][1] || c == comp[0]) &&
					    (!filters[f][0] || c == comp[1]);
				sim->now++;
				sim_trace(sim, c, &kinds[i], arg(1), N_ARG,
					  N_ARG, N_ARG, N_ARG, NULL);
				want += k_ok && c_ok;
			}
		ck_assert_msg(evaluated == want,
			      "filter %u: %u records' arguments evaluated, %u "
			      "kept", f, evaluated, want);
		ck_assert_uint_eq(sim->trace->records, want);
		ck_assert_uint_gt(want, 0);
		trace_close(sim->trace, sim);
		trace_free(sim->trace);
		sim->trace = NULL;
		sim_free(sim);
		ck_assert_msg(outfile_commit(of, &e), "%s", e ? e->message : "");
		g_free(path);
	}
	for (int i = 0; i < NK; i++)
		g_free(names[i]);
	g_free(names);
	g_free(kinds);
}
END_TEST

START_TEST(filters_keep_exactly)
{
	char *all = tmp_path("all.csv");
	struct run_options o0 = { .trace_path = all };
	run(&o0, NULL);
	unsigned nall;
	char **rows = csv_rows(all, &nall);
	struct {
		struct run_options opt;
		bool (*keep)(const char *row);
		const char *what;
	} cases[] = {
		{ { .trace_hosts = "a" }, keep_host_a, "hosts" },
		{ { .trace_comps = "nic" }, keep_nic, "components" },
		{ { .trace_comps = "wire" }, keep_wire, "components wire" },
		{ { .trace_kinds = "pkt_tx,vmm_fault" }, keep_kinds, "kinds" },
		{ { .trace_from = "100us", .trace_to = "200us" }, keep_window,
		  "window" },
	};
	for (unsigned c = 0; c < G_N_ELEMENTS(cases); c++) {
		char *path = tmp_path("filtered.csv");
		cases[c].opt.trace_path = path;
		run(&cases[c].opt, NULL);
		unsigned n;
		char **got = csv_rows(path, &n);
		unsigned j = 0, kept = 0;
		for (unsigned i = 0; i < nall; i++) {
			if (!cases[c].keep(rows[i]))
				continue;
			kept++;
			ck_assert_msg(j < n, "%s: row missing: %s",
				      cases[c].what, rows[i]);
			ck_assert_msg(!strcmp(got[j], rows[i]),
				      "%s: row %u is\n%s\nexpected\n%s",
				      cases[c].what, j, got[j], rows[i]);
			j++;
		}
		ck_assert_msg(j == n, "%s: %u extra rows", cases[c].what,
			      n - j);
		ck_assert_msg(kept > 0 && kept < nall,
			      "%s: filter test is vacuous (%u of %u)",
			      cases[c].what, kept, nall);
		g_strfreev(got);
		g_free(path);
	}
	g_strfreev(rows);
	g_free(all);
}
END_TEST

START_TEST(size_cap_stops_with_warning)
{
	char *path = tmp_path("cap.csv"), *err = tmp_path("cap.err");
	struct run_options opt = { .trace_path = path, .trace_cap = "64KiB" };
	run(&opt, err);
	char *msg = slurp(err, NULL);
	ck_assert_msg(strstr(msg, "warning: trace size cap of 65536 bytes "
				  "reached"),
		      "%s", msg);
	ck_assert_msg(strstr(msg, "tracing stopped"), "%s", msg);
	g_free(msg);
	GStatBuf st;
	ck_assert_int_eq(g_stat(path, &st), 0);
	/* at the cap, past it by at most one record (plus the header) */
	ck_assert_int_ge(st.st_size, 65536);
	ck_assert_int_le(st.st_size, 65536 + 512);
	/* no cap, no warning; and the capped file is a prefix of it */
	char *full = tmp_path("full.csv");
	struct run_options o2 = { .trace_path = full };
	run(&o2, err);
	msg = slurp(err, NULL);
	ck_assert_str_eq(msg, "");
	g_free(msg);
	gsize lc, lf;
	char *a = slurp(path, &lc), *b = slurp(full, &lf);
	ck_assert(lf > lc && !memcmp(a, b, lc));
	g_free(a);
	g_free(b);
	g_free(full);
	g_free(path);
	g_free(err);
}
END_TEST

/* Capped, the timeline is still valid JSON, near the cap, and a span open
 * when the cap hit ends at the cap time, flagged. */
START_TEST(timeline_capped)
{
	char *path = tmp_path("capped.json"), *err = tmp_path("capped.err");
	struct run_options opt = { .timeline_path = path,
				   .trace_cap = "64KiB" };
	run(&opt, err);
	char *msg = slurp(err, NULL);
	ck_assert_msg(strstr(msg, "trace size cap of 65536 bytes reached"),
		      "%s", msg);
	g_free(msg);
	struct json_value *v = timeline_check(path);
	ck_assert_ptr_nonnull(json_path(v, "otherData.capped_at_ps"));
	json_value_free(v);
	GStatBuf st;
	ck_assert_int_eq(g_stat(path, &st), 0);
	ck_assert_int_ge(st.st_size, 65536);
	ck_assert_int_le(st.st_size, 65536 + 4096);

	/* synthetic: a span open across the cap */
	struct sim *sim = sim_new(1);
	uint16_t vmm = sim_component_add(sim, "a.vmm");
	static const char *const hosts[] = { "a" };
	sim->trace = trace_new(NULL, NULL, NULL, 0, 0, 4096);
	trace_set_hosts(sim->trace, hosts, 1);
	GError *e = NULL;
	struct outfile *of = outfile_open(path, &e);
	ck_assert_msg(of, "%s", e ? e->message : "");
	struct trace_sink *tl = timeline_open(of, hosts, 1);
	trace_add_sink(sim->trace, tl);
	const uint64_t N = TRACE_NONE;
	fflush(stderr);
	int saved = dup(2);
	int fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	dup2(fd, 2);
	close(fd);
	sim->now = 1000;
	sim_trace(sim, vmm, &k_inval_b, N, N, 0x1000, N, 4096, NULL);
	for (int i = 0; !sim->trace->capped; i++) {
		ck_assert_int_lt(i, 1000);
		sim->now += 1000;
		sim_trace(sim, vmm, &k_point, N, N, N, N, N, NULL);
	}
	sim_time_t cap_t = sim->now;
	sim->now += 1000000;
	sim_trace(sim, vmm, &k_inval_e, N, N, 0x1000, N, 4096, NULL);
	trace_close(sim->trace, sim);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	trace_free(sim->trace);
	sim->trace = NULL;
	sim_free(sim);
	ck_assert_msg(outfile_commit(of, &e), "%s", e ? e->message : "");
	msg = slurp(err, NULL);
	ck_assert_msg(strstr(msg, "trace size cap of 4096 bytes reached"), "%s",
		      msg);
	g_free(msg);
	v = timeline_check(path);
	const struct json_value *x = find_x(json_get(v, "traceEvents"), 1000);
	const struct json_value *args = json_get(x, "args");
	ck_assert_int_eq(num(args, "dur_ps"), (int64_t)(cap_t - 1000));
	ck_assert(json_get(args, "unfinished")->b);
	ck_assert(json_get(args, "capped")->b);
	ck_assert_int_eq(num(json_get(v, "otherData"), "capped_at_ps"),
			 (int64_t)cap_t);
	json_value_free(v);
	g_free(path);
	g_free(err);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("trace");
	TCase *tc = tcase_create("trace");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, csv_header_matches_readme);
	tcase_add_test(tc, same_seed_same_bytes);
	tcase_add_test(tc, timeline_of_a_run);
	tcase_add_test(tc, timeline_spans);
	tcase_add_test(tc, timeline_filtered);
	tcase_add_test(tc, timeline_rnr_wait_spans);
	tcase_add_test(tc, filters_keep_exactly);
	tcase_add_test(tc, filtered_records_evaluate_nothing);
	tcase_add_test(tc, size_cap_stops_with_warning);
	tcase_add_test(tc, timeline_capped);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
