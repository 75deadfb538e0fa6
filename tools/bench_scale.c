/*
 * tools/bench_scale.c - the scaling table of `make bench` (issue 16).
 *
 * Each row is a scenario generated here (or a shipped one), built and run
 * in a child process of its own (a fork of this small process, doing what
 * `odpsim run` does), so that its peak RSS (VmHWM) is that run's
 * and its set-up and teardown are in the whole-process time; the child
 * also reads the server host's page tables and MTTs, for the translation
 * state per resident page.  The hold rows time the event queue alone.
 * Rows:
 *
 *   qps=N        N write_bw QP pairs between two hosts on one 100 Gb/s
 *                link, 128 operations in flight in all (128/N per pair,
 *                at least 1), 100 ms: the same traffic, N times the QPs
 *                (registering 4096 pinned MRs per host takes the first
 *                milliseconds)
 *   hosts=N      N hosts behind one switch, N-1 of them writing into the
 *                last (incast): the same traffic into one port
 *   implicit     one implicit ODP MR over the server's address space, kv
 *                puts of 4 KiB at uniformly random pages of a 1 TiB
 *                region until 1% of its pages were written
 *   xlate=pin    a 256 MiB write_bw buffer, pinned; xlate=odp: the same
 *                under odp-prefetch (an ODP MR mapped whole)
 *   idle         two idle 40 GiB hosts; host64t: one idle 64 TiB host
 *   demo=D       workloads/demo.ini under odp for D
 *   trace=MODE   workloads/write_bw.ini for 20 ms without --trace (off),
 *                with a kind filter that matches nothing (filter), with
 *                every record (full); median of 3 runs
 *   write_bw     workloads/write_bw.ini for 200 ms (median of 3)
 *   hold=P       the hold model with P events pending (tools/bench_hold's
 *                loop), median of 3 runs of 10 M events
 *
 * Columns: events fired, packets (every NIC's tx_packets), loop_s (the
 * event loop's wall time), proc_s (the whole process), ns per packet and
 * per event (of the loop), sim/wall, peak RSS in MB, then the figure the
 * row is about and, where the issue sets a target, whether it is met.
 *
 * usage: bench_scale [ROW ...]   (none: every row)
 */
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nic/host.h"
#include "nic/nic_int.h"
#include "sim/sim.h"
#include "sim/stats.h"
#include "sim/system/system.h"
#include "sim/system/system_int.h"
#include "tools/hold_model.h"
#include "vmm/vmm.h"

static char *tmpdir;

enum row_kind { R_SYS, R_XLATE, R_HOLD };

struct row {
	const char *name;
	enum row_kind kind;
	char *(*scenario)(const char *arg); /* NULL: a shipped file */
	const char *arg;
	const char *file;                   /* shipped scenario */
	const char *extra[8];               /* more odpsim run options */
	unsigned reps;                      /* runs; the median is shown */
};

/* ---- scenarios ---- */

static char *sc_qps(const char *arg)
{
	unsigned n = (unsigned)atoi(arg);
	unsigned depth = n >= 128 ? 1 : 128 / n;
	GString *s = g_string_new(NULL);
	g_string_append_printf(s,
		"[sim]\nduration = 100ms\nseed = 1\n\n"
		"[host a]\nmemory = 2GiB\n\n[host b]\nmemory = 2GiB\n\n"
		"[link ab]\nends = a b\nrate = 100Gbps\n\n");
	for (unsigned i = 0; i < n; i++)
		g_string_append_printf(s,
			"[workload w%u]\ntype = write_bw\nclient = a\n"
			"server = b\nmsg_size = 64KiB\ntx_depth = %u\n\n",
			i, depth);
	return g_string_free(s, FALSE);
}

static char *sc_hosts(const char *arg)
{
	unsigned n = (unsigned)atoi(arg);
	GString *s = g_string_new(NULL);
	g_string_append_printf(s, "[sim]\nduration = 20ms\nseed = 1\n\n"
			       "[switch sw]\n\n");
	for (unsigned i = 0; i < n; i++)
		g_string_append_printf(s,
			"[host h%u]\nmemory = 256MiB\n\n[link l%u]\n"
			"ends = h%u sw\n\n", i, i, i);
	unsigned clients = n - 1;
	unsigned depth = clients >= 64 ? 1 : 64 / clients;
	for (unsigned i = 0; i + 1 < n; i++)
		g_string_append_printf(s,
			"[workload w%u]\ntype = write_bw\nclient = h%u\n"
			"server = h%u\nmsg_size = 64KiB\ntx_depth = %u\n\n",
			i, i, n - 1, depth);
	return g_string_free(s, FALSE);
}

static char *sc_implicit(const char *arg)
{
	(void)arg;
	/* 1 TiB = 2^28 pages; 1% of them: 2684355 puts of one page each
	 * (uniform keys with replacement touch 0.995%), done by about 76
	 * simulated seconds.  The requester waits the IBA RNR timer (10 us)
	 * rather than ConnectX-4's 1.5 ms floor, which would make it an hour
	 * of simulated time; what the translation state costs does not
	 * depend on it. */
	return g_strdup(
		"[sim]\nduration = 80s\nseed = 1\npolicy = odp\n"
		"series_interval = 10ms\n\n"
		"[nic]\nrnr_timer = iba\n\n"
		"[host a]\nmemory = 1GiB\n\n[host b]\nmemory = 16GiB\n\n"
		"[link ab]\nends = a b\n\n"
		"[workload puts]\ntype = kv\nclient = a\nserver = b\n"
		"op = write\nvalue_size = 4KiB\nregion = 1TiB\n"
		"distribution = uniform\ndepth = 16\nimplicit_odp = true\n"
		"min_rnr_timer = 1\niterations = 2684355\n");
}

static char *sc_dense(const char *arg)
{
	return g_strdup_printf(
		"[sim]\nduration = 150ms\nseed = 1\npolicy = %s\n\n"
		"[host a]\nmemory = 1GiB\n\n[host b]\nmemory = 1GiB\n\n"
		"[link ab]\nends = a b\n\n"
		"[workload bw]\ntype = write_bw\nclient = a\nserver = b\n"
		"msg_size = 64KiB\nbuffer = 256MiB\n", arg);
}

static char *sc_idle(const char *arg)
{
	(void)arg;
	return g_strdup("[sim]\nduration = 1ms\n\n"
			"[host a]\nmemory = 40GiB\n\n[host b]\nmemory = 40GiB\n\n"
			"[link ab]\nends = a b\n");
}

static char *sc_host64t(const char *arg)
{
	(void)arg;
	return g_strdup("[sim]\nduration = 1ms\n\n[host a]\nmemory = 64TiB\n");
}

#define DEMO(d) { "demo=" d, R_SYS, NULL, NULL, "workloads/demo.ini", \
		  { "--policy", "odp", "--duration", d, NULL }, 1 }

static const struct row rows[] = {
	{ "qps=1", R_SYS, sc_qps, "1", NULL, { NULL }, 1 },
	{ "qps=16", R_SYS, sc_qps, "16", NULL, { NULL }, 1 },
	{ "qps=256", R_SYS, sc_qps, "256", NULL, { NULL }, 1 },
	{ "qps=4096", R_SYS, sc_qps, "4096", NULL, { NULL }, 1 },
	{ "hosts=2", R_SYS, sc_hosts, "2", NULL, { NULL }, 1 },
	{ "hosts=8", R_SYS, sc_hosts, "8", NULL, { NULL }, 1 },
	{ "hosts=32", R_SYS, sc_hosts, "32", NULL, { NULL }, 1 },
	{ "hosts=128", R_SYS, sc_hosts, "128", NULL, { NULL }, 1 },
	{ "implicit", R_XLATE, sc_implicit, NULL, NULL, { NULL }, 1 },
	{ "xlate=pin", R_XLATE, sc_dense, "pin", NULL, { NULL }, 1 },
	{ "xlate=odp", R_XLATE, sc_dense, "odp-prefetch", NULL, { NULL }, 1 },
	{ "idle", R_SYS, sc_idle, NULL, NULL, { NULL }, 1 },
	{ "host64t", R_SYS, sc_host64t, NULL, NULL, { NULL }, 1 },
	DEMO("10ms"), DEMO("60ms"), DEMO("100ms"), DEMO("600ms"), DEMO("1s"),
	{ "trace=off", R_SYS, NULL, NULL, "workloads/write_bw.ini",
	  { "--duration", "20ms", NULL }, 3 },
	{ "trace=filter", R_SYS, NULL, NULL, "workloads/write_bw.ini",
	  { "--duration", "20ms", "--trace", "@trace.csv", "--trace-kinds",
	    "oracle_lost_write", NULL }, 3 },
	{ "trace=full", R_SYS, NULL, NULL, "workloads/write_bw.ini",
	  { "--duration", "20ms", "--trace", "@trace.csv", NULL }, 3 },
	{ "write_bw", R_SYS, NULL, NULL, "workloads/write_bw.ini",
	  { "--duration", "200ms", NULL }, 3 },
	{ "hold=1e2", R_HOLD, NULL, "100", NULL, { NULL }, 3 },
	{ "hold=1e3", R_HOLD, NULL, "1000", NULL, { NULL }, 3 },
	{ "hold=1e4", R_HOLD, NULL, "10000", NULL, { NULL }, 3 },
	{ "hold=1e5", R_HOLD, NULL, "100000", NULL, { NULL }, 3 },
	{ "hold=1e6", R_HOLD, NULL, "1000000", NULL, { NULL }, 3 },
};

/* ---- one run ---- */

struct result {
	bool ok;
	uint64_t events, packets, resident;
	double loop_s, proc_s, sim_s, rss_mb;
	double xlate_bytes; /* page tables + MTTs of the server host */
	double hold_rate;
};

static char *read_all(int fd)
{
	GString *s = g_string_new(NULL);
	char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		if (n > 0)
			g_string_append_len(s, buf, n);
	return g_string_free(s, FALSE);
}

static void child_hold(int fd, uint64_t pending)
{
	double s;
	uint64_t fired = hold_run(pending, 10000000, &s);
	char *line = g_strdup_printf("HOLD %" G_GUINT64_FORMAT " %.6f\n",
				     fired, s);
	(void)!write(fd, line, strlen(line));
	g_free(line);
}

/* Peak resident set of this process (VmHWM), in kB. */
static uint64_t peak_kb(void)
{
	char *st = NULL;
	uint64_t kb = 0;
	if (g_file_get_contents("/proc/self/status", &st, NULL, NULL)) {
		const char *h = strstr(st, "VmHWM:");
		if (h)
			kb = g_ascii_strtoull(h + 6, NULL, 10);
	}
	g_free(st);
	return kb;
}

/* Build and run @path here with the row's options; print the summary,
 * the server host's translation state (page tables of every address
 * space, MTTs of every MR; host b, when there is one) and the peak RSS.
 * A fork of this small process, so the peak is the run's own. */
static void child_sys(int fd, const struct row *r, const char *path)
{
	struct run_options opt = { 0 };
	char *trace = NULL;
	for (unsigned i = 0; r->extra[i]; i += 2) {
		const char *k = r->extra[i], *v = r->extra[i + 1];
		if (!strcmp(k, "--policy"))
			opt.policy = v;
		else if (!strcmp(k, "--duration"))
			opt.duration = v;
		else if (!strcmp(k, "--trace"))
			opt.trace_path = trace =
				g_strdup_printf("%s/%s", tmpdir, v + 1);
		else if (!strcmp(k, "--trace-kinds"))
			opt.trace_kinds = v;
	}
	bool io;
	GError *e = NULL;
	struct system *sys = system_build(path, &opt, &io, &e);
	if (!sys || !system_run(sys, &e)) {
		fprintf(stderr, "bench_scale: %s\n", e ? e->message : "?");
		_exit(1);
	}
	uint64_t xl = 0;
	struct host *h = system_host(sys, "b");
	if (h) {
		for (uint32_t id = 1; vmm_as_by_id(h->vmm, id); id++)
			xl += vmm_pt_bytes(vmm_as_by_id(h->vmm, id));
		for (guint i = 0; i < h->nic->all_mrs->len; i++)
			xl += mtt_bytes(&((struct nic_mr *)
						  h->nic->all_mrs->pdata[i])->mtt);
	}
	struct sim *sim = system_sim(sys);
	uint64_t packets = 0;
	unsigned n;
	const struct stat_entry **st = stats_sorted(sim->stats, &n);
	for (unsigned i = 0; i < n; i++)
		if (st[i]->kind == STAT_COUNTER &&
		    g_str_has_suffix(st[i]->name, ".nic.tx_packets"))
			packets += st[i]->counter;
	g_free(st);
	char *line = g_strdup_printf(
		"SYS %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %"
		G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %.9f %.9f %"
		G_GUINT64_FORMAT "\n", xl, peak_kb(), sim->events, packets,
		sys->wall_s, sim_time_to_s(sim_now(sim)),
		stats_get(sim->stats, "b.vmm.resident_pages"));
	system_free(sys);
	if (trace) {
		g_unlink(trace);
		g_free(trace);
	}
	(void)!write(fd, line, strlen(line));
	g_free(line);
}

static struct result run_once(const struct row *r, const char *path)
{
	struct result res = { 0 };
	int pfd[2];
	if (pipe(pfd)) {
		perror("bench_scale: pipe");
		return res;
	}
	char *errpath = g_strdup_printf("%s/stderr", tmpdir);
	gint64 t0 = g_get_monotonic_time();
	pid_t pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		/* the peak from here on: what the fork copied is not the
		 * run's (Linux: 5 > clear_refs resets VmHWM) */
		g_file_set_contents("/proc/self/clear_refs", "5", 1, NULL);
		FILE *ef = fopen(errpath, "w");
		if (ef)
			dup2(fileno(ef), 2);
		if (r->kind == R_HOLD) {
			child_hold(pfd[1], g_ascii_strtoull(r->arg, NULL, 10));
			char *k = g_strdup_printf("KB %" G_GUINT64_FORMAT "\n",
						  peak_kb());
			(void)!write(pfd[1], k, strlen(k));
		} else {
			child_sys(pfd[1], r, path);
		}
		_exit(0);
	}
	close(pfd[1]);
	char *out = read_all(pfd[0]);
	close(pfd[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	res.proc_s = (double)(g_get_monotonic_time() - t0) / 1e6;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char *err = NULL;
		g_file_get_contents(errpath, &err, NULL, NULL);
		fprintf(stderr, "bench_scale: %s failed (exit %d): %.300s\n",
			r->name, WIFEXITED(status) ? WEXITSTATUS(status) : -1,
			err ? err : "");
		g_free(err);
		goto done;
	}
	if (r->kind == R_HOLD) {
		uint64_t fired, kb = 0;
		double s;
		const char *k = strstr(out, "KB ");
		if (k)
			kb = g_ascii_strtoull(k + 3, NULL, 10);
		if (sscanf(out, "HOLD %" G_GUINT64_FORMAT " %lf", &fired, &s) == 2) {
			res.ok = true;
			res.events = fired;
			res.loop_s = s;
			res.hold_rate = (double)fired / s;
			res.rss_mb = (double)kb / 1024.0;
		}
		goto done;
	}
	uint64_t xl = 0, kb = 0;
	if (sscanf(out, "SYS %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %"
		   G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %lf %lf %"
		   G_GUINT64_FORMAT, &xl, &kb, &res.events, &res.packets,
		   &res.loop_s, &res.sim_s, &res.resident) == 7) {
		res.xlate_bytes = (double)xl;
		res.rss_mb = (double)kb / 1024.0;
		res.ok = true;
	}
done:
	g_free(out);
	g_unlink(errpath);
	g_free(errpath);
	return res;
}

static int cmp_loop(const void *a, const void *b)
{
	double x = ((const struct result *)a)->loop_s;
	double y = ((const struct result *)b)->loop_s;
	return x < y ? -1 : x > y;
}

/* The median run of off, for the trace rows' ratios. */
static double trace_off_s;

static bool run_row(const struct row *r)
{
	char *path = NULL;
	if (r->scenario) {
		char *text = r->scenario(r->arg);
		path = g_strdup_printf("%s/row.ini", tmpdir);
		if (!g_file_set_contents(path, text, -1, NULL)) {
			fprintf(stderr, "bench_scale: cannot write %s\n", path);
			return false;
		}
		g_free(text);
	} else if (r->file) {
		path = g_strdup(r->file);
	}
	struct result runs[5];
	unsigned reps = r->reps ? r->reps : 1;
	for (unsigned i = 0; i < reps; i++) {
		runs[i] = run_once(r, path);
		if (!runs[i].ok) {
			printf("%-12s  failed\n", r->name);
			fflush(stdout);
			if (r->scenario)
				g_unlink(path);
			g_free(path);
			return false;
		}
	}
	qsort(runs, reps, sizeof(runs[0]), cmp_loop);
	struct result *m = &runs[reps / 2];
	char pp[32] = "-", pe[32] = "-", sw[32] = "-";
	if (m->packets)
		snprintf(pp, sizeof(pp), "%.0f", m->loop_s * 1e9 / (double)m->packets);
	if (m->events && m->loop_s > 0)
		snprintf(pe, sizeof(pe), "%.1f", m->loop_s * 1e9 / (double)m->events);
	if (m->sim_s > 0 && m->loop_s > 0)
		snprintf(sw, sizeof(sw), "%.3f", m->sim_s / m->loop_s);
	char what[128] = "";
	const char *name = r->name;
	if (r->kind == R_HOLD) {
		double rate = m->hold_rate / 1e6;
		double want = !strcmp(name, "hold=1e3") ? 30 :
			      !strcmp(name, "hold=1e4") ? 20 :
			      !strcmp(name, "hold=1e6") ? 12 : 0;
		snprintf(what, sizeof(what), "%.1f M ev/s%s", rate,
			 !want ? "" : rate >= want ? "  met (>= target)"
						   : "  NOT MET");
		if (want)
			snprintf(what + strlen(what), sizeof(what) - strlen(what),
				 " target %.0f", want);
	} else if (r->kind == R_XLATE) {
		double per = m->resident ? m->xlate_bytes / (double)m->resident : 0;
		snprintf(what, sizeof(what),
			 "%.1f B/page translation (<= 48: %s), %" G_GUINT64_FORMAT
			 " pages", per, per <= 48 ? "met" : "NOT MET",
			 m->resident);
		if (!strcmp(name, "implicit"))
			snprintf(what + strlen(what), sizeof(what) - strlen(what),
				 ", RSS < 256 MB: %s",
				 m->rss_mb < 256 ? "met" : "NOT MET");
	} else if (!strcmp(name, "idle")) {
		snprintf(what, sizeof(what), "RSS < 32 MB: %s",
			 m->rss_mb < 32 ? "met" : "NOT MET");
	} else if (!strcmp(name, "host64t")) {
		snprintf(what, sizeof(what), "a 64 TiB host runs: met");
	} else if (!strcmp(name, "trace=off")) {
		trace_off_s = m->loop_s;
	} else if (g_str_has_prefix(name, "trace=") && trace_off_s > 0) {
		double x = m->loop_s / trace_off_s;
		double want = !strcmp(name, "trace=filter") ? 1.05 : 4;
		snprintf(what, sizeof(what), "%.2fx of off (<= %.2fx: %s)", x,
			 want, x <= want ? "met" : "NOT MET");
	} else if (!strcmp(name, "write_bw")) {
		double x = m->sim_s / m->loop_s;
		snprintf(what, sizeof(what), "sim/wall >= 3: %s",
			 x >= 3 ? "met" : "NOT MET");
	}
	printf("%-12s %11" G_GUINT64_FORMAT " %10" G_GUINT64_FORMAT
	       " %8.3f %8.3f %8s %7s %8s %8.1f  %s\n",
	       name, m->events, m->packets, m->loop_s, m->proc_s, pp, pe, sw,
	       m->rss_mb, what);
	fflush(stdout);
	if (r->scenario)
		g_unlink(path);
	g_free(path);
	return true;
}

int main(int argc, char **argv)
{
	tmpdir = g_dir_make_tmp("bench_scale.XXXXXX", NULL);
	if (!tmpdir) {
		fprintf(stderr, "bench_scale: cannot make a temporary directory\n");
		return 1;
	}
	printf("%-12s %11s %10s %8s %8s %8s %7s %8s %8s\n", "scale", "events",
	       "packets", "loop_s", "proc_s", "ns/pkt", "ns/ev", "sim/wall",
	       "peak_MB");
	bool ok = true;
	for (unsigned i = 0; i < G_N_ELEMENTS(rows); i++) {
		bool want = argc == 1;
		for (int a = 1; a < argc; a++)
			if (!strcmp(argv[a], rows[i].name))
				want = true;
		if (want && !run_row(&rows[i]))
			ok = false;
	}
	g_rmdir(tmpdir);
	g_free(tmpdir);
	return ok ? 0 : 1;
}
