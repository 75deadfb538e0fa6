/*
 * tests/test_compare.c - `odpsim compare`: the policy list, validation
 * before anything runs, parallel runs identical to sequential ones and to
 * `odpsim run`, the table's suffix matching and "-" cells, and the command
 * as a user meets it ($ODPSIM, set by `make check`): exit statuses,
 * --json, --out, a crashed run, and tools/plot_compare.py on a --out
 * directory (skipped with a visible SKIP line without matplotlib).
 *
 * Scenarios are short (workloads/write_bw.ini for 1 ms, odp_pressure.ini
 * for 12 ms): every policy moves data in them, so the runs differ.
 */
#include <check.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim/system/compare.h"
#include "sim/json.h"
#include "sim/system/system.h"

static const char *odpsim(void)
{
	const char *b = g_getenv("ODPSIM");
	return b && *b ? b : "build/odpsim";
}

/* Run argv (argv[0] replaced by $ODPSIM when NULL); the exit status. */
static int run_cmd(const char *const *argv, const char *crash_policy,
		   char **out, char **err)
{
	GPtrArray *v = g_ptr_array_new();
	g_ptr_array_add(v, (gpointer)(argv[0] ? argv[0] : odpsim()));
	for (const char *const *a = argv + 1; *a; a++)
		g_ptr_array_add(v, (gpointer)*a);
	g_ptr_array_add(v, NULL);
	char **env = g_get_environ();
	env = g_environ_unsetenv(env, "ODPSIM_RUNPOOL_TEST_CRASH");
	/* no tools/__pycache__ left in the tree by the plot test */
	env = g_environ_setenv(env, "PYTHONDONTWRITEBYTECODE", "1", TRUE);
	if (crash_policy)
		env = g_environ_setenv(env, "ODPSIM_RUNPOOL_TEST_CRASH",
				       crash_policy, TRUE);
	int status = -1;
	GError *e = NULL;
	gboolean ok = g_spawn_sync(NULL, (char **)v->pdata, env,
				   G_SPAWN_DEFAULT, NULL, NULL, out, err,
				   &status, &e);
	ck_assert_msg(ok, "cannot run %s: %s", (char *)v->pdata[0],
		      e ? e->message : "");
	g_strfreev(env);
	g_ptr_array_free(v, TRUE);
	ck_assert_msg(WIFEXITED(status), "%s did not exit", argv[1]);
	return WEXITSTATUS(status);
}

/* Every known policy, comma-separated. */
static char *all_policies(void)
{
	return g_strjoinv(",", (char **)system_policy_names());
}

/* A summary's text without its wall-clock seconds, the one figure that
 * may differ between identical runs. */
static char *strip_wall(const char *json)
{
	GRegex *re = g_regex_new("\"wall_s\": ?[-0-9.eE+]+,?", 0, 0, NULL);
	char *s = g_regex_replace_literal(re, json, -1, 0, "", 0, NULL);
	g_regex_unref(re);
	return s;
}

static char *strip_wall_line(const char *table)
{
	GRegex *re = g_regex_new("^  wall s .*$", G_REGEX_MULTILINE, 0, NULL);
	char *s = g_regex_replace_literal(re, table, -1, 0, "", 0, NULL);
	g_regex_unref(re);
	return s;
}

static char *table_text(const struct compare_result *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	compare_table(r, f);
	fclose(f);
	return buf;
}

START_TEST(policy_list)
{
	GError *e = NULL;
	char *all = all_policies();
	char **v = compare_parse_policies(all, &e);
	ck_assert_msg(v, "%s", e ? e->message : "");
	ck_assert_int_eq(g_strv_length(v),
			 g_strv_length((char **)system_policy_names()));
	g_strfreev(v);
	g_free(all);
	v = compare_parse_policies("odp, pin", &e);
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(v[0], "odp");
	ck_assert_str_eq(v[1], "pin");
	g_strfreev(v);

	ck_assert_ptr_null(compare_parse_policies("pin,pinn", &e));
	ck_assert_msg(strstr(e->message, "'pinn'") &&
			      strstr(e->message, "did you mean 'pin'?"),
		      "%s", e->message);
	g_clear_error(&e);
	ck_assert_ptr_null(compare_parse_policies("pin,frobnicate", &e));
	ck_assert_msg(strstr(e->message, "'frobnicate'") &&
			      strstr(e->message, "known: pin"),
		      "%s", e->message);
	g_clear_error(&e);
	ck_assert_ptr_null(compare_parse_policies("odp,odp", &e));
	ck_assert(strstr(e->message, "twice"));
	g_clear_error(&e);
	ck_assert_ptr_null(compare_parse_policies("", &e));
	g_clear_error(&e);
}
END_TEST

START_TEST(validate_first)
{
	char *pols[] = { "pin", "odp", NULL };
	char *sets[] = { "host.a.memroy=1GiB", NULL };
	char *dir = g_dir_make_tmp("odpsim-cmp-XXXXXX", NULL);
	char *out = g_build_filename(dir, "out", NULL);
	struct compare_options o = {
		.scenario = "workloads/write_bw.ini", .policies = pols,
		.duration = "1ms", .sets = sets, .out_dir = out, .jobs = 2,
	};
	bool io;
	GError *e = NULL;
	ck_assert(!compare_validate(&o, &io, &e));
	ck_assert(!io);
	ck_assert_msg(strstr(e->message, "did you mean 'memory'?"), "%s",
		      e->message);
	g_clear_error(&e);
	ck_assert_msg(!g_file_test(out, G_FILE_TEST_EXISTS),
		      "validation wrote files");
	o.sets = NULL;
	o.scenario = "/nonexistent/x.ini";
	ck_assert(!compare_validate(&o, &io, &e));
	ck_assert(io);
	g_clear_error(&e);
	g_rmdir(dir);
	g_free(out);
	g_free(dir);
}
END_TEST

/* -j 1, -j 2 and -j 8 give the same summaries (but wall_s) and tables,
 * and each equals an in-process `odpsim run` of that policy. */
START_TEST(parallel_equals_sequential)
{
	char *all = all_policies();
	GError *e = NULL;
	char **pols = compare_parse_policies(all, &e);
	g_free(all);
	struct compare_options o = {
		.scenario = "workloads/write_bw.ini", .policies = pols,
		.duration = "2ms", .have_seed = true, .seed = 7,
	};
	static const unsigned jobs[] = { 1, 2, 8 };
	struct compare_result *r[G_N_ELEMENTS(jobs)];
	for (unsigned k = 0; k < G_N_ELEMENTS(jobs); k++) {
		o.jobs = jobs[k];
		r[k] = compare_run(&o, &e);
		ck_assert_msg(r[k], "%s", e ? e->message : "");
		ck_assert_uint_eq(r[k]->n, g_strv_length(pols));
	}
	char *t0 = table_text(r[0]);
	char *s0 = strip_wall_line(t0);
	for (unsigned k = 1; k < G_N_ELEMENTS(jobs); k++) {
		for (unsigned i = 0; i < r[0]->n; i++) {
			ck_assert_str_eq(
				json_get(r[0]->summary[i], "fingerprint")->str,
				json_get(r[k]->summary[i], "fingerprint")->str);
			char *a = strip_wall(r[0]->json[i]);
			char *b = strip_wall(r[k]->json[i]);
			ck_assert_msg(!strcmp(a, b), "-j %u differs for %s",
				      jobs[k], pols[i]);
			g_free(a);
			g_free(b);
		}
		char *t = table_text(r[k]);
		char *s = strip_wall_line(t);
		ck_assert_str_eq(s0, s);
		g_free(s);
		g_free(t);
	}
	/* each column is the run `odpsim run --policy P` does */
	for (unsigned i = 0; i < r[0]->n; i++) {
		struct run_options opt = { .policy = pols[i], .have_seed = true,
					   .seed = 7, .duration = "2ms" };
		bool io;
		struct system *sys = system_build(o.scenario, &opt, &io, &e);
		ck_assert_msg(sys, "%s", e ? e->message : "");
		ck_assert(system_run(sys, &e));
		char *j = system_summary_json(sys, false);
		g_strchomp(j);
		char *a = strip_wall(j), *b = strip_wall(r[0]->json[i]);
		ck_assert_msg(!strcmp(a, b), "compare and run differ for %s",
			      pols[i]);
		/* every policy moved data: the comparison compares something */
		const struct json_value *bytes = json_path(
			json_get(json_get(r[0]->summary[i], "workloads"), "bw"),
			"bytes");
		ck_assert_msg(bytes && bytes->i > 0, "%s moved no data",
			      pols[i]);
		g_free(a);
		g_free(b);
		g_free(j);
		system_free(sys);
	}
	/* different policies, different runs */
	if (r[0]->n > 1)
		ck_assert_str_ne(json_get(r[0]->summary[0], "fingerprint")->str,
				 json_get(r[0]->summary[1], "fingerprint")->str);
	g_free(s0);
	g_free(t0);
	for (unsigned k = 0; k < G_N_ELEMENTS(jobs); k++)
		compare_result_free(r[k]);
	g_strfreev(pols);
}
END_TEST

/* Figures by suffix over any hosts; "-" where a run lacks one; an
 * optional histogram row appears when one run has it. */
START_TEST(table_by_suffix)
{
	static const char *const runs[] = {
		"{\"scenario\":\"x.ini\",\"seed\":1,\"sim_time_ps\":1000,"
		"\"description\":\"\",\"fingerprint\":\"00000000000000aa\","
		"\"counters\":{\"a.nic.page_faults\":3,\"zz.nic.page_faults\":4,"
		"\"a.nic.page_faults_handled\":100,\"a.vnic.page_faults\":50,"
		"\"a.vmm.pinned_pages\":9},"
		"\"histograms\":{\"a.nic.reg_time_ps\":{\"count\":1,"
		"\"mean\":2e9,\"max\":2000000000},"
		/* a second host: a (max) row is the max over hosts */
		"\"zz.nic.reg_time_ps\":{\"count\":1,"
		"\"mean\":1e9,\"max\":1000000000}},"
		"\"workloads\":{\"w\":{\"type\":\"write_bw\",\"bw_gbps\":1.5,"
		"\"msg_rate_mpps\":0.25,\"lat_ns\":{\"p50\":2000,\"p99\":3000,"
		"\"p999\":4000,\"max\":5000},"
		/* every MR's registration: a time, or why there is none */
		"\"registrations\":[{\"side\":\"client\",\"host\":\"a\","
		"\"state\":\"done\",\"time_ps\":2000000000},"
		"{\"side\":\"server\",\"host\":\"zz\","
		"\"state\":\"unfinished\",\"time_ps\":null}]}},"
		"\"oracle\":{\"lost_writes\":0,\"stale_reads\":0}}",
		"{\"scenario\":\"x.ini\",\"seed\":1,\"sim_time_ps\":1000,"
		"\"fingerprint\":\"00000000000000bb\",\"counters\":{},"
		"\"histograms\":{\"b.nic.suspend_ns\":{\"count\":4,"
		"\"mean\":500000,\"max\":900000}},\"workloads\":{},"
		"\"oracle\":{\"lost_writes\":2,\"stale_reads\":1}}",
	};
	struct compare_result r = { .n = 2 };
	char *pols[] = { "pin", "suspend", NULL };
	char *json[] = { (char *)runs[0], (char *)runs[1], NULL };
	struct json_value *sum[2];
	GError *e = NULL;
	for (unsigned i = 0; i < 2; i++) {
		sum[i] = json_parse(runs[i], &e);
		ck_assert_msg(sum[i], "%s", e ? e->message : "");
	}
	r.policies = pols;
	r.json = json;
	r.summary = sum;
	char *t = table_text(&r);
	static const char *const want[] = {
		"workload w (write_bw)\n",
		"  bandwidth Gb/s ", "1.500", "latency p99.9 us ", "4.00",
		"registration\n", "  pinned ",
		"suspend time ms (total) ", "2.000", "suspend time us (max) ",
		"900.000", "lost writes ", "00000000000000bb", NULL
	};
	for (const char *const *w = want; *w; w++)
		ck_assert_msg(strstr(t, *w), "'%s' not in\n%s", *w, t);
	GRegex *rmax = g_regex_new("w client MR on a ms +2\\.000 +-\n", 0, 0,
				   NULL);
	ck_assert_msg(g_regex_match(rmax, t, 0, NULL), "%s", t);
	g_regex_unref(rmax);
	rmax = g_regex_new("w server MR on zz ms +unfinished +-\n", 0, 0, NULL);
	ck_assert_msg(g_regex_match(rmax, t, 0, NULL), "%s", t);
	g_regex_unref(rmax);
	/* 3 + 4, and neither _handled nor vnic. */
	GRegex *re = g_regex_new("page faults +7 +-\n", 0, 0, NULL);
	ck_assert_msg(g_regex_match(re, t, 0, NULL), "%s", t);
	g_regex_unref(re);
	re = g_regex_new("stale reads +0 +1\n", 0, 0, NULL);
	ck_assert_msg(g_regex_match(re, t, 0, NULL), "%s", t);
	g_regex_unref(re);
	/* --strict: the second run's oracle counted violations */
	ck_assert_uint_eq(compare_violations(&r, NULL), 1);
	char *a = compare_json(&r);
	struct json_value *v = json_parse(a, &e);
	ck_assert_msg(v && v->type == JSON_ARR && v->items->len == 2, "%s", a);
	json_value_free(v);
	g_free(a);
	free(t);
	for (unsigned i = 0; i < 2; i++)
		json_value_free(sum[i]);
}
END_TEST

START_TEST(cli_help_and_errors)
{
	char *out, *err;
	const char *help[] = { NULL, "--help", NULL };
	ck_assert_int_eq(run_cmd(help, NULL, &out, &err), 0);
	ck_assert_msg(strstr(out, "compare SCENARIO"), "%s", out);
	g_free(out);
	g_free(err);
	const char *chelp[] = { NULL, "compare", "--help", NULL };
	ck_assert_int_eq(run_cmd(chelp, NULL, &out, &err), 0);
	static const char *const opts[] = { "--policy", "--seed", "--json",
					    "--out", "--set", "--duration",
					    "--jobs", "--strict", NULL };
	for (const char *const *o = opts; *o; o++)
		ck_assert_msg(strstr(out, *o), "compare --help lacks %s", *o);
	/* the whole line: "pin" alone would match "pinned" elsewhere */
	char *names = g_strjoinv(", ", (char **)system_policy_names());
	char *line = g_strdup_printf("Policies: %s.", names);
	ck_assert_msg(strstr(out, line), "compare --help lacks '%s'", line);
	g_free(line);
	g_free(names);
	g_free(out);
	g_free(err);

	const char *bad[] = { NULL, "compare", "workloads/write_bw.ini",
			      "--policy", "pin,pinn", NULL };
	ck_assert_int_eq(run_cmd(bad, NULL, &out, &err), 2);
	ck_assert_msg(strstr(err, "'pinn'") && strstr(err, "'pin'"), "%s",
		      err);
	ck_assert_str_eq(out, "");
	ck_assert_ptr_eq(strchr(err, '\n'), err + strlen(err) - 1);
	g_free(out);
	g_free(err);

	const char *typo[] = { NULL, "compare", "workloads/write_bw.ini",
			       "--set", "link.ab.rat=1Gbps", NULL };
	ck_assert_int_eq(run_cmd(typo, NULL, &out, &err), 2);
	ck_assert_msg(strstr(err, "did you mean 'rate'?"), "%s", err);
	ck_assert_str_eq(out, "");
	g_free(out);
	g_free(err);

	const char *nofile[] = { NULL, "compare", "/nonexistent/x.ini", NULL };
	ck_assert_int_eq(run_cmd(nofile, NULL, &out, &err), 1);
	g_free(out);
	g_free(err);

	const char *jobs0[] = { NULL, "compare", "workloads/write_bw.ini",
				"-j", "0", NULL };
	ck_assert_int_eq(run_cmd(jobs0, NULL, &out, &err), 2);
	g_free(out);
	g_free(err);

	/* a workload's own policy is kept under every policy: a warning */
	const char *fixed[] = { NULL, "compare", "workloads/write_bw.ini",
				"--duration", "200us", "--policy", "pin,odp",
				"--set", "workload.bw.policy=odp", NULL };
	ck_assert_int_eq(run_cmd(fixed, NULL, &out, &err), 0);
	ck_assert_msg(strstr(err, "[workload bw] policy = odp"), "%s", err);
	g_free(out);
	g_free(err);

	/* --strict: exit 3 naming the policy whose oracle counted lost
	 * writes (odp-unsafe loses some in compaction.ini within 20 ms) */
	bool unsafe = false;
	for (const char *const *p = system_policy_names(); *p; p++)
		unsafe = unsafe || !strcmp(*p, "odp-unsafe");
	if (unsafe) {
		const char *strict[] = { NULL, "compare",
					 "workloads/compaction.ini",
					 "--duration", "20ms", "--policy",
					 "odp,odp-unsafe", "--strict", NULL };
		ck_assert_int_eq(run_cmd(strict, NULL, &out, &err), 3);
		ck_assert_msg(strstr(err, "odp-unsafe: lost_writes") &&
				      !strstr(err, " odp:"),
			      "%s", err);
		ck_assert_msg(strstr(out, "lost writes"), "%s", out);
		g_free(out);
		g_free(err);
	}

	/* a run that crashes is named; the others still finish */
	const char *crash[] = { NULL, "compare", "workloads/write_bw.ini",
				"--duration", "200us", "--policy", "pin,odp",
				"-j2", NULL };
	ck_assert_int_eq(run_cmd(crash, "odp", &out, &err), 1);
	ck_assert_msg(strstr(err, "policy odp") && strstr(err, "signal"),
		      "%s", err);
	ck_assert_msg(!strstr(err, "policy pin"), "%s", err);
	ck_assert_str_eq(out, "");
	g_free(out);
	g_free(err);
}
END_TEST

START_TEST(cli_json_array)
{
	char *all = all_policies();
	const char *argv[] = { NULL, "compare", "workloads/write_bw.ini",
			       "--duration", "1ms", "--policy", all, "--json",
			       "-j", "2", NULL };
	char *out, *err;
	ck_assert_int_eq(run_cmd(argv, NULL, &out, &err), 0);
	GError *e = NULL;
	struct json_value *v = json_parse(out, &e);
	ck_assert_msg(v, "%s\n%s", e ? e->message : "", out);
	ck_assert_int_eq(v->type, JSON_ARR);
	unsigned n = g_strv_length((char **)system_policy_names());
	ck_assert_uint_eq(v->items->len, n);
	for (unsigned i = 0; i < n; i++) {
		const struct json_value *s = v->items->pdata[i];
		ck_assert_str_eq(json_get(s, "policy")->str,
				 system_policy_names()[i]);
		/* the element is what `odpsim run --json` prints */
		const char *run[] = { NULL, "run", "workloads/write_bw.ini",
				      "--duration", "1ms", "--policy",
				      system_policy_names()[i], "--json",
				      NULL };
		char *rout, *rerr;
		ck_assert_int_eq(run_cmd(run, NULL, &rout, &rerr), 0);
		struct json_value *rv = json_parse(rout, &e);
		ck_assert_ptr_nonnull(rv);
		ck_assert_str_eq(json_get(rv, "fingerprint")->str,
				 json_get(s, "fingerprint")->str);
		ck_assert_uint_eq(json_get(rv, "counters")->keys->len,
				  json_get(s, "counters")->keys->len);
		json_value_free(rv);
		g_free(rout);
		g_free(rerr);
	}
	json_value_free(v);
	g_free(out);
	g_free(err);
	g_free(all);
}
END_TEST

static char *compare_out_dir(const char *policies)
{
	char *dir = g_dir_make_tmp("odpsim-cmp-XXXXXX", NULL);
	ck_assert_ptr_nonnull(dir);
	char *out_dir = g_build_filename(dir, "out", NULL);
	const char *argv[] = { NULL, "compare", "workloads/odp_pressure.ini",
			       "--duration", "12ms", "--policy", policies,
			       "--out", out_dir, NULL };
	char *out, *err;
	ck_assert_int_eq(run_cmd(argv, NULL, &out, &err), 0);
	ck_assert_msg(strstr(out, "fingerprint"), "%s", out);
	g_free(out);
	g_free(err);
	g_free(dir);
	return out_dir;
}

static void rm_rf(const char *path)
{
	char *cmd = g_strdup_printf("rm -rf '%s'", path);
	ck_assert_int_eq(system(cmd), 0);
	g_free(cmd);
}

START_TEST(cli_out_files)
{
	char *d = compare_out_dir("pin,odp");
	static const char *const pols[] = { "pin", "odp", NULL };
	static const char *const files[] = { "summary.json", "config.ini",
					     "series.csv", NULL };
	char *path = g_build_filename(d, "compare.json", NULL);
	char *text;
	ck_assert_msg(g_file_get_contents(path, &text, NULL, NULL), "%s", path);
	GError *e = NULL;
	struct json_value *v = json_parse(text, &e);
	ck_assert_msg(v && v->type == JSON_ARR && v->items->len == 2, "%s",
		      text);
	for (unsigned i = 0; pols[i]; i++) {
		for (const char *const *f = files; *f; f++) {
			char *p = g_build_filename(d, pols[i], *f, NULL);
			GStatBuf st;
			ck_assert_msg(g_stat(p, &st) == 0 && st.st_size > 0,
				      "%s missing or empty", p);
			g_free(p);
		}
		char *p = g_build_filename(d, pols[i], "summary.json", NULL);
		char *s;
		ck_assert(g_file_get_contents(p, &s, NULL, NULL));
		struct json_value *sv = json_parse(s, &e);
		ck_assert_ptr_nonnull(sv);
		ck_assert_str_eq(json_get(sv, "policy")->str, pols[i]);
		ck_assert_str_eq(json_get(sv, "fingerprint")->str,
				 json_get(v->items->pdata[i],
					  "fingerprint")->str);
		json_value_free(sv);
		g_free(s);
		g_free(p);
		p = g_build_filename(d, pols[i], "config.ini", NULL);
		ck_assert(g_file_get_contents(p, &s, NULL, NULL));
		/* the override's mark: odp_pressure.ini says odp itself */
		char *want = g_strdup_printf("policy = %s  # --policy %s",
					     pols[i], pols[i]);
		ck_assert_msg(strstr(s, want), "%s lacks '%s'", p, want);
		g_free(want);
		g_free(s);
		g_free(p);
	}
	json_value_free(v);
	g_free(text);
	g_free(path);
	char *parent = g_path_get_dirname(d);
	rm_rf(parent);
	g_free(parent);
	g_free(d);
}
END_TEST

START_TEST(plot_compare)
{
	char *out, *err;
	const char *probe[] = { "/usr/bin/python3", "-c", "import matplotlib",
				NULL };
	if (!g_file_test(probe[0], G_FILE_TEST_IS_EXECUTABLE) ||
	    run_cmd(probe, NULL, &out, &err) != 0) {
		printf("SKIP plot_compare: matplotlib missing "
		       "(/usr/bin/python3 cannot import it)\n");
		fflush(stdout);
		return;
	}
	g_free(out);
	g_free(err);
	char *d = compare_out_dir("pin,odp,odp-prefetch");
	const char *plot[] = { "/usr/bin/python3", "tools/plot_compare.py", d,
			       NULL };
	int rc = run_cmd(plot, NULL, &out, &err);
	ck_assert_msg(rc == 0, "plot_compare.py: exit %d\n%s", rc, err);
	static const char *const exts[] = { "compare.png", "compare.svg",
					    NULL };
	for (const char *const *x = exts; *x; x++) {
		char *p = g_build_filename(d, *x, NULL);
		char *data;
		gsize len;
		ck_assert_msg(g_file_get_contents(p, &data, &len, NULL),
			      "%s not written", p);
		ck_assert_msg(len > 1000, "%s: %zu bytes", p, (size_t)len);
		if (g_str_has_suffix(p, ".png"))
			ck_assert(!memcmp(data, "\x89PNG", 4));
		g_free(data);
		g_free(p);
	}
	g_free(out);
	g_free(err);
	/* a directory without compare.json: a one-line error, not a trace */
	char *parent = g_path_get_dirname(d);
	const char *bad[] = { "/usr/bin/python3", "tools/plot_compare.py",
			      parent, NULL };
	ck_assert_int_ne(run_cmd(bad, NULL, &out, &err), 0);
	ck_assert_msg(strstr(err, "compare.json") && !strstr(err, "Traceback"),
		      "%s", err);
	g_free(out);
	g_free(err);
	rm_rf(parent);
	g_free(parent);
	g_free(d);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("compare");
	TCase *tc = tcase_create("compare");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, policy_list);
	tcase_add_test(tc, validate_first);
	tcase_add_test(tc, parallel_equals_sequential);
	tcase_add_test(tc, table_by_suffix);
	tcase_add_test(tc, cli_help_and_errors);
	tcase_add_test(tc, cli_json_array);
	tcase_add_test(tc, cli_out_files);
	tcase_add_test(tc, plot_compare);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
