/*
 * sim/system/runpool.h - many runs of the simulator, each in its own forked
 * child process, at most N at once: what `odpsim compare` and `odpsim
 * sweep` share.
 *
 * A job is a scenario and the run_options `odpsim run` would take.  The
 * child builds the system, runs it and writes its summary (the JSON object
 * `odpsim run --json` prints) into a pipe; the parent drains every pipe
 * with poll(), so no child blocks on a full pipe and no temporary file is
 * left behind, and calls back once per job, in the order the jobs finish,
 * with the summary or the reason there is none.  Why fork: the simulator is
 * written for one run per process (tables filled at first use, no locks),
 * a forked child starts from exactly the parent's state, so its run is the
 * one `odpsim run` does with the same options, and a crash of one run (an
 * assertion in a model) ends one child, which the parent reports.
 *
 * Representation: an array of at most `jobs` running children (pid, pipe
 * ends, buffers), filled from the next job index; nothing grows with the
 * number of jobs.  The parent runs no model.
 */
#ifndef SIM_SYSTEM_RUNPOOL_H
#define SIM_SYSTEM_RUNPOOL_H

#include <glib.h>
#include <stdbool.h>

#include "sim/system/system.h"

/* What a job runs; filled by the caller's runpool_job_fn. */
struct runpool_job {
	const char *scenario;
	struct run_options opt;
	/* Names the job in messages ("policy pin", "point 3"); also the
	 * value of $ODPSIM_RUNPOOL_TEST_CRASH that makes this job's child
	 * abort (the tests' way to crash one run). */
	const char *label;
};

/* How a job ended. */
struct runpool_result {
	const char *summary; /* the run's summary JSON (no trailing newline),
			      * or NULL when it failed */
	const char *failure; /* why there is no summary ("killed by signal 6
			      * (Aborted)", the child's error line), or NULL */
	int status;          /* exit status, 128 + signal when killed */
	double wall_s;       /* fork to exit, wall-clock seconds */
};

typedef void (*runpool_job_fn)(void *ctx, unsigned idx,
			       struct runpool_job *job);
typedef void (*runpool_done_fn)(void *ctx, unsigned idx,
				const struct runpool_result *r);

struct runpool_spec {
	unsigned n;          /* jobs 0 .. n-1 */
	unsigned jobs;       /* children at once, >= 1 */
	/* The child's stderr goes to the parent, which keeps it: a failure's
	 * message is its last line, and nothing a child prints interleaves
	 * with the parent's own lines (the sweep's progress line).  Without
	 * it the children share the parent's stderr (compare). */
	bool capture_stderr;
	const char *prefix;  /* "compare": child messages "odpsim: compare:
			      * LABEL: ..." */
	runpool_job_fn job;
	runpool_done_fn done;
	void *ctx;
	/* Called while children run, at most every quarter second (and
	 * after each job ends), or NULL. */
	void (*tick)(void *ctx);
	/* SIGINT or SIGTERM caught (sim/system/progress.h): start no more
	 * jobs, pass the signal on to the running children once (each stops
	 * at its next event and sends its summary marked interrupted), and
	 * report every job not started through done() with status -1 and
	 * failure RUNPOOL_NOT_RUN. */
	bool stop_on_signal;
};

#define RUNPOOL_NOT_RUN "not run: interrupted"

/* Run every job (at most spec->jobs at once) and call spec->done for each.
 * A job that fails is reported through done() and the others go on; false
 * only when a child could not be started (pipe, fork), with @error set,
 * after the children already running have been collected. */
bool runpool_run(const struct runpool_spec *spec, GError **error);

/* The commands that run pools take -j N; GOption takes "-j 4" but not
 * make's "-j4": a copy of argv with such an argument split in two. */
char **runpool_split_jobs(int argc, char **argv);

#endif
