/*
 * workloads/workload.h - application models.
 *
 * A workload type is a const ops table (name, parameter table, create,
 * start, finish); sim/system/system.c instantiates one per [workload NAME] section
 * from the registry workload_types[].  Workloads reach hosts only through
 * struct host and the APIs of vmm/ and nic/ (the verbs-like API), never
 * through the system builder.  Each fills a struct workload_result, from
 * which the summary derives perftest-shaped figures.
 */
#ifndef WORKLOADS_WORKLOAD_H
#define WORKLOADS_WORKLOAD_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "nic/host.h"
#include "sim/config.h"
#include "sim/sim.h"
#include "sim/stats.h"

struct workload;

struct workload_env {
	struct sim *sim;
	struct scenario *sc;
	struct host *const *hosts;
	unsigned nhosts;
	int policy; /* registration policy chosen for the run (index) */
};

struct workload_ops {
	const char *type;
	const char *summary;
	const struct param_table *params; /* keys of this type */
	size_t cfg_size;
	/* Build state; errors name the scenario key (config errors). */
	bool (*create)(struct workload *w, const struct workload_env *env,
		       GError **error);
	void (*start)(struct workload *w);
	/* End of run: settle figures in w->res. */
	void (*finish)(struct workload *w);
	void (*destroy)(struct workload *w);
};

/* Keys every [workload NAME] section has. */
struct workload_common {
	char *type;
	sim_time_t start;
	sim_time_t measure_from;  /* given, or [sim] warmup (system.c) */
	sim_time_t measure_until; /* 0: to the end of the run */
};

/* A memory registration a workload made (client and server MR of an
 * RDMA workload), as the summary reports it: when it started and ended,
 * or that it never ended or failed, and why. */
struct vmm_fp;

enum workload_reg_state {
	WL_REG_NOT_STARTED, /* the workload had not begun by the end */
	WL_REG_RUNNING,     /* unfinished at the end of the run */
	WL_REG_DONE,
	WL_REG_FAILED,
	WL_REG_NSTATES
};
extern const char *const workload_reg_state_names[]; /* "not started"... */

struct workload_reg {
	const char *side;    /* "client", "server" */
	const char *host;    /* its host's name */
	const char *policy;  /* registration policy's name */
	uint64_t addr, length;
	bool implicit;       /* an implicit ODP MR (the whole space) */
	enum workload_reg_state state;
	sim_time_t start, end; /* end: when it finished or failed */
	int status;          /* 0, or the driver's -errno */
	char *reason;        /* why it failed (g_free), or NULL */
	/* pages the MR's range holds, now and at the peak (vmm.h): watched
	 * from its registration on; an implicit MR's is its address
	 * space's */
	const struct vmm_fp *fp;
	/* populate: its buffer was written first (MAP_POPULATE / memset),
	 * from populate_start to populate_end (0: still going), before
	 * start */
	bool populate, populating;
	sim_time_t populate_start, populate_end;
	/* deregistered (ibv_dereg_mr called at dereg_start; dereg_end:
	 * when the device let go, 0 while it has not) */
	bool dereg;
	sim_time_t dereg_start, dereg_end;
};
/* client, server, an attacker's victim; a register workload's MRs */
#define WORKLOAD_MAX_REGS 32

struct workload_result {
	uint64_t completed;  /* operations completed successfully */
	uint64_t errors;     /* operations completed in error */
	uint64_t bytes;      /* payload bytes of completed operations */
	sim_time_t first, last; /* first start and last completion */
	sim_time_t longest_gap; /* longest time without a completion, from
				 * the first completion on (a stall) */
	sim_time_t gap_start;   /* ... and when it began */
	struct hist *lat;    /* per-operation latency in ps, or NULL */
	bool track_peak;     /* perftest's BW peak: the workload calls
			      * workload_result_post() at each post, and
			      * rdma_app_done() at the completion */
	struct rate_peak peak; /* ... (sim/stats.h) */
	uint64_t msg_size;   /* bytes per operation (perftest's #bytes),
			      * 0: sizes vary */
	/* perftest's name of the verb ("RDMA_Write", "RDMA_Read", "Send"),
	 * NULL for a workload that is not perftest-shaped; a latency test
	 * (ib_*_lat) reports latency, a stream bandwidth and latency under
	 * load (--format perftest) */
	const char *verb;
	bool latency_test;
	/* errors are what the workload is after (an attacker: the target
	 * refusing it), not a sign that it could not run */
	bool refusals_expected;
	struct workload_reg regs[WORKLOAD_MAX_REGS];
	unsigned nregs;
	/* the first completion at or after @mark (0: none yet); a migration
	 * sets the mark when its host serves again */
	sim_time_t mark, after_mark;
	/* every operation completed and its bytes, inside the measurement
	 * window or not (series.csv's wl.NAME.completed[_bytes]) */
	uint64_t done, bytes_done;
	/* The measurement window (from, until]: completed, bytes and the
	 * latency histogram count only operations that complete inside it;
	 * from = until = 0 is no window (everything counts, and the rates
	 * are over first..last).  until = 0: to the end of the run. */
	sim_time_t from, until;
	uint64_t outside;    /* completions outside the window */
};

/* Is there a measurement window? */
static inline bool workload_result_windowed(const struct workload_result *r)
{
	return r->from || r->until;
}

/* A successful operation of @bytes completed at @now: counted (and true,
 * so the caller adds its latency) when it is inside the window. */
static inline bool workload_result_complete(struct workload_result *r,
					    sim_time_t now, uint64_t bytes)
{
	r->last = now;
	r->done++;
	r->bytes_done += bytes;
	if (r->mark && !r->after_mark && now >= r->mark)
		r->after_mark = now;
	if ((r->from && now <= r->from) || (r->until && now > r->until)) {
		r->outside++;
		return false;
	}
	r->completed++;
	r->bytes += bytes;
	return true;
}

/* An operation of @bytes posted at @now, for the BW peak: a window's peak
 * counts operations posted and completed inside it. */
static inline void workload_result_post(struct workload_result *r,
					sim_time_t now, uint64_t bytes)
{
	if (r->track_peak && now >= r->from && (!r->until || now <= r->until))
		rate_peak_post(&r->peak, now, bytes);
}

/* No completion from r->last until @now: the longest such gap so far? */
static inline void workload_result_gap(struct workload_result *r,
				       sim_time_t now)
{
	if (r->completed && now - r->last > r->longest_gap) {
		r->longest_gap = now - r->last;
		r->gap_start = r->last;
	}
}

struct workload {
	char *name;
	const struct workload_ops *ops;
	struct workload_common common;
	void *cfg;   /* ops->cfg_size bytes filled from ops->params */
	void *priv;  /* the type's state */
	uint16_t comp;
	struct sim *sim;
	struct workload_result res;
};

extern const struct workload_ops *const workload_types[]; /* NULL-ended */
extern const struct param_table workload_common_params;

const struct workload_ops *workload_find(const char *type);
/* Host named by key @key of workload @w, or a config error naming it. */
struct host *workload_host(struct workload *w, const struct workload_env *env,
			   const char *key, const char *name, GError **error);

#endif
