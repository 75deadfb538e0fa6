/*
 * sim/system/system.h - the top of the tree: builds hosts, links and
 * workloads from a scenario, runs it and reports.  sim/system/ is the only
 * part of sim/ that may include nic/ and vmm/ headers.
 */
#ifndef SIM_SYSTEM_SYSTEM_H
#define SIM_SYSTEM_SYSTEM_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sim/config.h"
#include "sim/sim.h"

/* [sim] section */
struct sim_params {
	uint64_t seed;
	sim_time_t duration;
	int policy;
	sim_time_t series_interval;
	sim_time_t warmup;   /* every workload's measure_from by default */
	char *description;
};

/* What the command line may override or add. */
struct run_options {
	const char *policy;   /* NULL: the scenario's */
	const char *migration; /* NULL: the scenario's [migration] policy */
	bool have_seed;
	uint64_t seed;
	const char *duration; /* NULL: the scenario's */
	char **sets;          /* "TYPE[.NAME].KEY=VALUE", NULL-terminated */
	const char *out_dir;  /* NULL: no files */
	const char *pcap_dir; /* NULL: no pcap; else one LINK.pcap per link */
	const char *pcap_snaplen; /* NULL: each link's pcap_snaplen */
	const char *trace_path;
	const char *timeline_path; /* Chrome trace-event JSON, or NULL */
	const char *trace_hosts, *trace_comps, *trace_kinds;
	const char *trace_from, *trace_to, *trace_cap;
	bool progress;        /* progress line on stderr */
	bool progress_tty;    /* ... rewritten in place: stderr is a tty */
	/* compare's children: the run writes its simulated time and
	 * duration here (shared memory the parent reads), or NULL */
	volatile uint64_t *progress_cell;
	bool strict;          /* the first oracle violation stops the run */
	/* snapshots (sim/system/snapshot.c) */
	const char *snapshot_path; /* --snapshot FILE, or NULL */
	const char *snapshot_at;   /* --snapshot-at T */
	const char *snapshot_host; /* NULL: every host, to FILE.HOST */
	const char *scenario_text; /* NULL: read the scenario file */
	const char *verify_path;   /* restore: the snapshot to verify */
	sim_time_t verify_at;      /* restore: its time */
};

struct system;

/* The schema of scenario files (all section types and tables). */
extern const struct section_schema system_schema[];

/* Load, validate and build; errors are configuration errors (exit 2)
 * unless *io_error is set (exit 1). */
struct system *system_build(const char *scenario_path,
			    const struct run_options *opt, bool *io_error,
			    GError **error);
void system_free(struct system *sys);
/* Load @path and check it as system_build would before building any model
 * (sections, keys, values and ranges of every table, the cross-field
 * checks of the VMM, PCIe and links), without allocating hosts' memory:
 * the scenario fuzzer's target (tests/fuzz/fuzz_scenario.c). */
bool system_check_scenario(const char *path, GError **error);
/* `run --restore FILE`: rebuild the run a snapshot was taken from (its
 * scenario text and overrides); system_run then replays it, checks the
 * state at the snapshot's time against the file, and goes on to the end.
 * Only the output options of @opt apply. */
struct system *system_restore(const char *snapshot,
			      const struct run_options *opt, bool *io_error,
			      GError **error);
/* The record descriptions a snapshot may hold (NULL-terminated), for
 * snapfile_read(). */
struct vmstate_desc;
const struct vmstate_desc *const *system_snapshot_descs(void);
/* `odpsim snapshot-info FILE`: validate and print what a snapshot holds. */
bool system_snapshot_info(const char *path, FILE *out, GError **error);
/* Run to the configured duration; false on an output error.  Ends with
 * system_finish_outputs(). */
bool system_run(struct system *sys, GError **error);
/* Close the trace, timeline, series and pcaps (their trailers), write
 * summary.json and latency.csv of --out, and rename every output of the
 * run into place together (sim/outfile.h); false (a G_FILE_ERROR naming
 * the file) when any write failed, and then no output is left.  A run
 * stopped early (an interruption) calls it to keep what it has; outputs
 * never finished are removed by system_free(). */
bool system_finish_outputs(struct system *sys, GError **error);

struct sim *system_sim(struct system *sys);
/* The signal that interrupted the run (SIGINT, SIGTERM), or 0: the run
 * stopped at the next event, its outputs and summary are complete up to
 * the time reached, and the summary says "interrupted". */
int system_interrupted(const struct system *sys);
/* Under --strict: the first oracle violation, or NULL. */
const char *system_violation(const struct system *sys);
struct host;
/* The host called @name, or NULL (tests drive hosts through it). */
struct host *system_host(struct system *sys, const char *name);
const struct sim_params *system_params(const struct system *sys);

/* Summaries of a finished run. */
void system_summary_text(struct system *sys, FILE *out);
char *system_summary_json(struct system *sys, bool pretty);
/* What a user must not miss (one line each, no "odpsim:" prefix): every
 * registration that failed, every workload that never started or never
 * completed an operation, with the host and the reason.  Also the
 * summary's "warnings" array; `odpsim run` prints them on stderr. */
GPtrArray *system_warnings(struct system *sys);
/* --format perftest: perftest's report blocks (sim/system/summary.c). */
bool system_summary_perftest(struct system *sys, FILE *out, GError **error);

/* The registration policies a scenario or --policy may name
 * (NULL-terminated, nic/driver.h's list), for `odpsim compare`. */
const char *const *system_policy_names(void);

/* A scenario named on the command line: a path as it is; a bare NAME
 * that is no file here is looked for as NAME(.ini) in
 * system_scenario_dirs() (the installed scenarios: `odpsim run demo`).
 * NULL, with a G_FILE_ERROR naming where it looked, when it is nowhere. */
char *system_find_scenario(const char *name, GError **error);
GPtrArray *system_scenario_dirs(void);

/* `odpsim params [COMPONENT]`; false if COMPONENT is unknown. */
bool system_print_params(const char *component, bool json, FILE *out,
			 GError **error);

#endif
