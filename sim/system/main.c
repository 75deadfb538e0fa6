/*
 * sim/system/main.c - the odpsim command.
 *
 *   odpsim run SCENARIO [options]     run one scenario
 *   odpsim compare SCENARIO [options] one run per policy, side by side
 *                                     (sim/system/compare.c)
 *   odpsim sweep SCENARIO --grid ...  a campaign over a grid of parameters
 *                                     (sim/system/sweep.c)
 *   odpsim run --restore SNAPSHOT     continue a run from a snapshot
 *   odpsim snapshot-info SNAPSHOT     what a snapshot holds
 *   odpsim validate [CASE...]         published figures vs the simulator
 *                                     (sim/system/validate.c)
 *   odpsim params [COMPONENT]         parameter tables
 *   odpsim --version | --help
 *
 * Exit status: 0 success, 1 I/O or runtime error, 2 configuration error
 * (nothing was run), 3 an oracle violation under --strict, 4 a warning
 * under --strict (a registration failed, a workload never started or
 * completed nothing), 5 a figure of `odpsim validate` failed.
 */
#include <glib.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/system/compare.h"
#include "sim/system/sweep.h"
#include "sim/system/validate.h"
#include "sim/outfile.h"
#include "sim/system/progress.h"
#include "sim/system/summary.h"
#include "sim/stats.h"
#include "sim/system/system.h"
#include "sim/version.h"

enum { EXIT_IO = 1, EXIT_CONFIG = 2, EXIT_ORACLE = 3, EXIT_WARNING = 4 };

static const char commands_help[] =
	"Commands:\n"
	"  run SCENARIO       run a scenario file and print its summary\n"
	"  compare SCENARIO   run it once per registration policy and print "
	"the figures side by side\n"
	"  sweep SCENARIO     run it over a grid of parameters (all cores, "
	"GNU parallel, Slurm)\n"
	"                     into one campaign database\n"
	"  validate [CASE]... run the validation cases (workloads/validation) "
	"and print,\n"
	"                     for every published figure, what the simulator "
	"says\n"
	"  params [COMPONENT] print parameter tables (defaults, units, "
	"sources)\n"
	"  snapshot-info FILE validate a snapshot (ELF core) and print what "
	"it holds\n"
	"\n"
	"'odpsim COMMAND --help' shows the options of a command.\n"
	"Exit status: 0 ok, 1 I/O error, 2 configuration error, 3 oracle "
	"violation (--strict), 4 a warning (--strict: a registration failed, "
	"a workload never started or completed nothing), 5 a validation "
	"figure failed (validate).";

static int usage_error(const char *msg)
{
	fprintf(stderr, "odpsim: %s (try 'odpsim --help')\n", msg);
	return EXIT_CONFIG;
}

static int cmd_run(int argc, char **argv)
{
	struct run_options opt = { 0 };
	char *policy = NULL, *duration = NULL, *out = NULL, *trace = NULL;
	char *pcap = NULL, *timeline = NULL, *migration = NULL;
	char *snap = NULL, *snap_at = NULL, *snap_host = NULL, *restore = NULL;
	char *format = NULL, *snaplen = NULL;
	char *t_hosts = NULL, *t_comps = NULL, *t_kinds = NULL;
	char *t_from = NULL, *t_to = NULL, *t_cap = NULL;
	gint64 seed = G_MININT64; /* not given */
	gboolean json = FALSE, quiet = FALSE, no_progress = FALSE;
	gboolean progress = FALSE;
	gboolean strict = FALSE;
	char **sets = NULL;
	GOptionEntry entries[] = {
		{ "policy", 'p', 0, G_OPTION_ARG_STRING, &policy,
		  "registration policy of every MR (overrides [sim] policy)",
		  "P" },
		{ "migration", 0, 0, G_OPTION_ARG_STRING, &migration,
		  "live-migration policy: stop-copy, pre-copy or post-copy "
		  "(overrides [migration] policy)", "M" },
		{ "seed", 's', 0, G_OPTION_ARG_INT64, &seed, "run seed", "N" },
		{ "duration", 'd', 0, G_OPTION_ARG_STRING, &duration,
		  "simulated time to run, with a unit (e.g. 5ms)", "T" },
		{ "set", 0, 0, G_OPTION_ARG_STRING_ARRAY, &sets,
		  "override a scenario key, e.g. host.a.cpus=4 or "
		  "sim.duration=1ms (repeatable)", "TYPE[.NAME].KEY=VALUE" },
		{ "json", 0, 0, G_OPTION_ARG_NONE, &json,
		  "print the summary as one JSON object (--format json)",
		  NULL },
		{ "format", 'f', 0, G_OPTION_ARG_STRING, &format,
		  "summary format: text (default), json, or perftest (the "
		  "report blocks of ib_write_bw, ib_read_lat... per "
		  "workload)", "FMT" },
		{ "out", 'o', 0, G_OPTION_ARG_FILENAME, &out,
		  "write summary.json, config.ini (effective configuration) "
		  "and series.csv into DIR", "DIR" },
		{ "pcap", 0, 0, G_OPTION_ARG_FILENAME, &pcap,
		  "write one pcap per link (LINK.pcap, RoCEv2, ns timestamps) "
		  "into DIR", "DIR" },
		{ "pcap-snaplen", 0, 0, G_OPTION_ARG_STRING, &snaplen,
		  "bytes kept of each frame in every link's pcap (default "
		  "65535B: whole frames; 0B: headers only)", "SIZE" },
		{ "trace", 't', 0, G_OPTION_ARG_FILENAME, &trace,
		  "write the event trace as CSV (traces/README.md)", "FILE" },
		{ "timeline", 0, 0, G_OPTION_ARG_FILENAME, &timeline,
		  "write a Chrome trace-event JSON timeline (opens in "
		  "Perfetto; traces/README.md)", "FILE" },
		{ "trace-hosts", 0, 0, G_OPTION_ARG_STRING, &t_hosts,
		  "trace only these hosts", "H1,H2" },
		{ "trace-components", 0, 0, G_OPTION_ARG_STRING, &t_comps,
		  "trace only these components (nic, vmm, driver...)", "C1,C2" },
		{ "trace-kinds", 0, 0, G_OPTION_ARG_STRING, &t_kinds,
		  "trace only these event kinds", "K1,K2" },
		{ "trace-from", 0, 0, G_OPTION_ARG_STRING, &t_from,
		  "trace from this simulated time", "T" },
		{ "trace-to", 0, 0, G_OPTION_ARG_STRING, &t_to,
		  "trace up to this simulated time", "T" },
		{ "trace-cap", 0, 0, G_OPTION_ARG_STRING, &t_cap,
		  "stop tracing (with a warning) past this size, e.g. 100MiB",
		  "SIZE" },
		{ "strict", 0, 0, G_OPTION_ARG_NONE, &strict,
		  "the first correctness-oracle violation (lost write, stale "
		  "read) stops the run: exit status 3; a warning (a failed "
		  "registration, a workload that never started or completed "
		  "nothing) is exit status 4", NULL },
		{ "snapshot-at", 0, 0, G_OPTION_ARG_STRING, &snap_at,
		  "stop at this simulated time, write the snapshot, go on "
		  "(the run is unchanged)", "T" },
		{ "snapshot", 0, 0, G_OPTION_ARG_FILENAME, &snap,
		  "write each host's state at --snapshot-at as an ELF core "
		  "file FILE.HOST (README.md: Snapshots)", "FILE" },
		{ "snapshot-host", 0, 0, G_OPTION_ARG_STRING, &snap_host,
		  "snapshot only this host, to FILE itself", "NAME" },
		{ "restore", 0, 0, G_OPTION_ARG_FILENAME, &restore,
		  "continue the run a snapshot was taken from: replay it, "
		  "verify the state at the snapshot time, run to the end "
		  "(no SCENARIO)", "SNAPSHOT" },
		{ "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet,
		  "print no summary (files are still written)", NULL },
		{ "progress", 0, 0, G_OPTION_ARG_NONE, &progress,
		  "show the progress line (with ETA) on stderr even when it "
		  "is not a terminal: a line a second", NULL },
		{ "no-progress", 0, 0, G_OPTION_ARG_NONE, &no_progress,
		  "never show the progress line", NULL },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	GOptionContext *ctx = g_option_context_new(
		"SCENARIO - run a scenario and print its summary");
	g_option_context_add_main_entries(ctx, entries, NULL);
	g_option_context_set_description(
		ctx, "A run longer than a second shows a progress line on "
		     "stderr when stderr is a terminal.\n"
		     "A registration that failed and a workload that never "
		     "started or completed nothing are\none warning line each "
		     "on stderr.\n"
		     "Exit status: 0 ok, 1 I/O error, 2 configuration error, 3 "
		     "oracle violation (--strict: also pages\nfound stale at "
		     "the end), 4 a warning under --strict, 130/143 stopped "
		     "by SIGINT/SIGTERM\n(at the next event: the summary and "
		     "every output file are up to the time reached).");
	GError *err = NULL;
	int rc = 0;
	if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
		rc = usage_error(err->message);
		goto out;
	}
	if (restore && (argc != 1 || policy || migration || seed != G_MININT64 || duration ||
			sets || snap || snap_at || snap_host)) {
		rc = usage_error("run --restore takes no SCENARIO, --policy, --migration, "
				 "--seed, --duration, --set or --snapshot "
				 "options (the snapshot records them)");
		goto out;
	}
	if (!restore && argc != 2) {
		rc = usage_error(argc < 2 ? "run: missing SCENARIO" :
					    "run: more than one SCENARIO");
		goto out;
	}
	if (!snap != !snap_at || (snap_host && !snap)) {
		rc = usage_error("--snapshot FILE and --snapshot-at T go "
				 "together (--snapshot-host needs both)");
		goto out;
	}
	if (seed < 0 && seed != G_MININT64) {
		rc = usage_error("--seed must be >= 0");
		goto out;
	}
	enum summary_format fmt;
	if (!summary_format_parse(format, json, false, &fmt, &err)) {
		rc = usage_error(err->message);
		goto out;
	}
	if (!trace && !timeline &&
	    (t_hosts || t_comps || t_kinds || t_from || t_to || t_cap)) {
		rc = usage_error("--trace-hosts, -components, -kinds, -from, "
				 "-to and -cap filter a --trace or --timeline: "
				 "give one");
		goto out;
	}
	opt.policy = policy;
	opt.migration = migration;
	opt.have_seed = seed >= 0;
	opt.seed = (uint64_t)seed;
	opt.duration = duration;
	opt.sets = sets;
	opt.out_dir = out;
	opt.trace_path = trace;
	opt.timeline_path = timeline;
	opt.pcap_dir = pcap;
	opt.pcap_snaplen = snaplen;
	opt.trace_hosts = t_hosts;
	opt.trace_comps = t_comps;
	opt.trace_kinds = t_kinds;
	opt.trace_from = t_from;
	opt.trace_to = t_to;
	opt.trace_cap = t_cap;
	if (progress && no_progress) {
		rc = usage_error("--progress and --no-progress: give one");
		goto out;
	}
	opt.progress_tty = isatty(STDERR_FILENO);
	opt.progress = progress || (!no_progress && opt.progress_tty);
	opt.strict = strict;
	opt.snapshot_path = snap;
	opt.snapshot_at = snap_at;
	opt.snapshot_host = snap_host;
	bool io_error;
	char *scenario = NULL;
	if (!restore && !(scenario = system_find_scenario(argv[1], &err))) {
		fprintf(stderr, "odpsim: %s\n", err->message);
		rc = EXIT_IO;
		goto out;
	}
	struct system *sys =
		restore ? system_restore(restore, &opt, &io_error, &err)
			: system_build(scenario, &opt, &io_error, &err);
	g_free(scenario);
	if (!sys) {
		fprintf(stderr, "odpsim: %s\n", err->message);
		rc = io_error ? EXIT_IO : EXIT_CONFIG;
		goto out;
	}
	progress_catch_signals();
	if (!system_run(sys, &err)) {
		fprintf(stderr, "odpsim: %s\n", err->message);
		rc = EXIT_IO;
	} else if (system_violation(sys)) {
		fprintf(stderr, "odpsim: --strict: %s\n",
			system_violation(sys));
		rc = EXIT_ORACLE;
	} else if (!quiet) {
		if (fmt == SUMMARY_JSON) {
			char *j = system_summary_json(sys, false);
			fputs(j, stdout);
			g_free(j);
		} else if (fmt == SUMMARY_PERFTEST) {
			if (!system_summary_perftest(sys, stdout, &err)) {
				fprintf(stderr, "odpsim: %s\n", err->message);
				rc = EXIT_IO;
			}
		} else {
			system_summary_text(sys, stdout);
		}
	}
	/* found only at the end, so the run went on: still a violation */
	uint64_t final = stats_get(system_sim(sys)->stats,
				   "oracle.final_mismatches");
	if (rc == 0 && strict && final) {
		fprintf(stderr, "odpsim: --strict: oracle: %" G_GUINT64_FORMAT
				" pages not holding their last write at the "
				"end\n", final);
		rc = EXIT_ORACLE;
	}
	if (rc != EXIT_IO && system_interrupted(sys)) {
		/* the summary and the outputs are up to the time reached */
		int sig = system_interrupted(sys);
		fprintf(stderr, "odpsim: interrupted by %s at %.6f s simulated: "
				"summary and output files are up to that time\n",
			sig == SIGTERM ? "SIGTERM" : "SIGINT",
			sim_time_to_s(system_sim(sys)->now));
		rc = 128 + sig;
	} else if (rc != EXIT_IO) {
		GPtrArray *warn = system_warnings(sys);
		for (guint i = 0; i < warn->len; i++)
			fprintf(stderr, "odpsim: %swarning: %s\n",
				strict ? "--strict: " : "",
				(char *)warn->pdata[i]);
		if (rc == 0 && strict && warn->len)
			rc = EXIT_WARNING;
		g_ptr_array_free(warn, TRUE);
	}
	system_free(sys);
out:
	g_clear_error(&err);
	g_option_context_free(ctx);
	g_free(policy);
	g_free(migration);
	g_free(duration);
	g_free(out);
	g_free(trace);
	g_free(timeline);
	g_free(pcap);
	g_free(t_hosts);
	g_free(t_comps);
	g_free(t_kinds);
	g_free(t_from);
	g_free(t_to);
	g_free(t_cap);
	g_free(snap);
	g_free(snap_at);
	g_free(snap_host);
	g_free(restore);
	g_free(format);
	g_free(snaplen);
	g_strfreev(sets);
	return rc;
}

static int cmd_snapshot_info(int argc, char **argv)
{
	GOptionContext *ctx = g_option_context_new(
		"SNAPSHOT - validate a snapshot and print its run, VMAs, MRs, "
		"QPs and MTT runs");
	GError *err = NULL;
	int rc = 0;
	if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
		rc = usage_error(err->message);
	} else if (argc != 2) {
		rc = usage_error("snapshot-info: one SNAPSHOT file");
	} else if (!system_snapshot_info(argv[1], stdout, &err)) {
		fprintf(stderr, "odpsim: %s\n", err->message);
		rc = err->domain == G_FILE_ERROR ? EXIT_IO : EXIT_CONFIG;
	}
	g_clear_error(&err);
	g_option_context_free(ctx);
	return rc;
}

static int cmd_params(int argc, char **argv)
{
	gboolean json = FALSE;
	GOptionEntry entries[] = {
		{ "json", 0, 0, G_OPTION_ARG_NONE, &json,
		  "print the tables as one JSON array (section, component, "
		  "params with type, default, unit, meaning, source, range, "
		  "statistics)", NULL },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	GOptionContext *ctx = g_option_context_new(
		"[COMPONENT] - print parameter tables: name, type, default "
		"with unit, meaning, source");
	g_option_context_add_main_entries(ctx, entries, NULL);
	GError *err = NULL;
	int rc = 0;
	if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
		rc = usage_error(err->message);
	} else if (argc > 2) {
		rc = usage_error("params: at most one COMPONENT");
	} else if (!system_print_params(argc == 2 ? argv[1] : NULL, json,
					stdout, &err)) {
		fprintf(stderr, "odpsim: params: %s\n", err->message);
		rc = EXIT_CONFIG;
	}
	g_clear_error(&err);
	g_option_context_free(ctx);
	return rc;
}

static int cmd_top(int argc, char **argv);

/* Whether main() has checked stdout itself; the atexit hook covers the
 * exits inside GLib (--help prints and calls exit(0)). */
static bool stdout_checked;

static int check_stdout(int rc)
{
	GError *err = NULL;
	stdout_checked = true;
	if (!outfile_close_stdout(&err)) {
		fprintf(stderr, "odpsim: %s\n", err->message);
		g_error_free(err);
		return rc ? rc : EXIT_IO;
	}
	return rc;
}

static void check_stdout_at_exit(void)
{
	if (!stdout_checked && check_stdout(0))
		_exit(EXIT_IO);
}

/* The commands, for dispatch and `odpsim help CMD`. */
static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{ "run", cmd_run },
	{ "compare", compare_command },
	{ "sweep", sweep_command },
	{ "validate", validate_command },
	{ "params", cmd_params },
	{ "snapshot-info", cmd_snapshot_info },
};

/* `odpsim CMD --version` (and -V), before the command's own options:
 * every command answers it as the top level does. */
static bool wants_version(int argc, char **argv)
{
	for (int i = 2; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-V"))
			return true;
	return false;
}

/* `odpsim help [CMD]`: the command's --help (or the top level's) on
 * stdout, exit 0. */
static int cmd_help(int argc, char **argv)
{
	if (argc > 3)
		return usage_error("help: at most one COMMAND");
	if (argc == 2) {
		char *args[] = { argv[0], "--help", NULL };
		return cmd_top(2, args);
	}
	for (unsigned i = 0; i < G_N_ELEMENTS(commands); i++)
		if (!strcmp(argv[2], commands[i].name)) {
			char *args[] = { argv[2], "--help", NULL };
			char *prg = g_strdup_printf("odpsim %s", argv[2]);
			g_set_prgname(prg);
			g_free(prg);
			return commands[i].fn(2, args);
		}
	char *m = g_strdup_printf("help: unknown command '%s'", argv[2]);
	int rc = usage_error(m);
	g_free(m);
	return rc;
}

int main(int argc, char **argv)
{
	setlocale(LC_ALL, "");
	outfile_wrap_stdout();
	atexit(check_stdout_at_exit);
	int rc = -1;
	if (argc >= 2 && !strcmp(argv[1], "help"))
		rc = cmd_help(argc, argv);
	for (unsigned i = 0; rc < 0 && argc >= 2 && i < G_N_ELEMENTS(commands);
	     i++)
		if (!strcmp(argv[1], commands[i].name)) {
			if (wants_version(argc, argv)) {
				printf("odpsim %s\n", ODPSIM_VERSION);
				rc = 0;
			} else {
				/* "Usage: odpsim run [OPTION...]" */
				char *prg = g_strdup_printf("odpsim %s",
							    argv[1]);
				g_set_prgname(prg);
				g_free(prg);
				rc = commands[i].fn(argc - 1, argv + 1);
			}
		}
	if (rc < 0)
		rc = cmd_top(argc, argv);
	/* a summary that did not get out is an I/O error (exit 1) */
	return check_stdout(rc);
}

/* odpsim [--version | --help] */
static int cmd_top(int argc, char **argv)
{
	gboolean version = FALSE;
	GOptionEntry entries[] = {
		{ "version", 'V', 0, G_OPTION_ARG_NONE, &version,
		  "print the version and exit", NULL },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	GOptionContext *ctx = g_option_context_new(
		"COMMAND [ARGS] - discrete-event simulator of RDMA hosts with "
		"on-demand paging");
	g_option_context_add_main_entries(ctx, entries, NULL);
	g_option_context_set_description(ctx, commands_help);
	g_option_context_set_strict_posix(ctx, TRUE);
	GError *err = NULL;
	int rc = 0;
	if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
		rc = usage_error(err->message);
	} else if (version) {
		printf("odpsim %s\n", ODPSIM_VERSION);
	} else if (argc < 2) {
		char *help = g_option_context_get_help(ctx, TRUE, NULL);
		fputs(help, stderr);
		g_free(help);
		rc = EXIT_CONFIG;
	} else {
		char *m = g_strdup_printf("unknown command '%s'", argv[1]);
		rc = usage_error(m);
		g_free(m);
	}
	g_clear_error(&err);
	g_option_context_free(ctx);
	return rc;
}
