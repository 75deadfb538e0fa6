/*
 * sim/trace.h - the one trace mechanism every model emits through.
 *
 * A model calls sim_trace() with a static trace kind descriptor and the
 * fields that apply (QP, PSN, virtual address, frame, length, detail);
 * fields that do not apply are TRACE_NONE.  With tracing off, sim->trace is
 * NULL and the call is one predictable branch.  With tracing on, a record
 * passes the filters (host, component, kind, time window) and goes to the
 * sinks; a size cap stops tracing with a warning on stderr, never silently.
 *
 * The CSV schema is documented in traces/README.md (schema version
 * TRACE_SCHEMA_VERSION); keep the two in step.
 */
#ifndef SIM_TRACE_H
#define SIM_TRACE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sim/sim.h"

#define TRACE_SCHEMA_VERSION 2
#define TRACE_NONE UINT64_MAX

/* How a kind shows on a timeline: a point, or the start/end of an
 * interval on a track (paired by track and QP/frame key). */
enum trace_phase { TRACE_INSTANT, TRACE_BEGIN, TRACE_END, TRACE_COUNTER };

struct trace_kind {
	const char *name;       /* "page_fault" */
	enum trace_phase phase;
	const char *span;       /* BEGIN/END: the interval's name ("fault") */
};

struct trace_rec {
	sim_time_t t;
	uint16_t comp;
	const char *host; /* the component's host, NULL outside any host */
	const char *part; /* "nic" for "a.nic"; the whole name outside hosts */
	const struct trace_kind *kind;
	const char *as;   /* the address space @va is in (its name), or NULL */
	uint64_t qp, psn, va, frame, len;
	const char *detail;
};

/* A sampled value (a series of sim/series.h) for sinks that draw counter
 * tracks; @unit names the value ("Gbps", "per_s", "value"). */
struct trace_counter_rec {
	sim_time_t t;
	const char *host; /* NULL outside any host */
	const char *name; /* the series name ("a.nic.tx_bytes") */
	const char *unit;
	double value;
};

struct trace_sink {
	/* returns the bytes written, counted against the size cap */
	uint64_t (*emit)(struct trace_sink *s, const struct sim *sim,
			 const struct trace_rec *r);
	/* NULL: the sink ignores counters */
	uint64_t (*counter)(struct trace_sink *s,
			    const struct trace_counter_rec *c);
	/* @tr says whether (and when) the size cap stopped tracing; writes
	 * what the file still needs (a trailer) and frees the sink, never
	 * the file under it (sim/outfile.h: its owner commits it) */
	void (*close)(struct trace_sink *s, const struct sim *sim,
		      const struct trace *tr);
	struct trace_sink *next;
};

/* Where a component belongs: "a.nic" is host "a", part "nic" when "a" is a
 * known host; anything else ("ab.wire", "wl.bw") has no host. */
struct trace_comp_split {
	char *host; /* NULL: outside any host */
	const char *part;
};

/* Per-trace memo of the kind filter's verdicts, by descriptor address
 * (kinds are static descriptors: their addresses are stable). */
#define TRACE_KCACHE 256
struct trace_kmemo {
	const struct trace_kind *kind;
	bool pass;
};

struct trace {
	struct trace_sink *sinks;
	GHashTable *hosts;  /* NULL: all */
	GHashTable *comps;  /* component suffixes ("nic"), NULL: all */
	GHashTable *kinds;  /* kind names, NULL: all */
	GHashTable *known_hosts; /* NULL: "X.Y" is host X, part Y */
	struct trace_comp_split *split; /* per component id, filled lazily */
	uint32_t nsplit;
	/* verdicts of the host and component filters per component id
	 * (0: not decided yet, 1: passes, 2: filtered out), and of the kind
	 * filter per kind: decided once, then a record that a filter drops
	 * costs an array read before any of its fields is computed */
	uint8_t *comp_pass;
	uint32_t ncomp_pass;
	struct trace_kmemo kmemo[TRACE_KCACHE];
	sim_time_t from, to;
	uint64_t cap_bytes; /* 0: none */
	uint64_t bytes;     /* written so far (sinks add) */
	uint64_t records, dropped;
	bool capped;
	sim_time_t capped_at;
};

/* Filters are comma-separated lists; NULL or "" means all. */
struct trace *trace_new(const char *hosts, const char *comps,
			const char *kinds, sim_time_t from, sim_time_t to,
			uint64_t cap_bytes);
void trace_add_sink(struct trace *tr, struct trace_sink *s);
/* The hosts of the system, so that components outside any host ("ab.wire",
 * "wl.bw") are told apart from host components ("a.nic"). */
void trace_set_hosts(struct trace *tr, const char *const *names, unsigned n);
/* The host and part of component @comp (valid until trace_free). */
const struct trace_comp_split *trace_comp(struct trace *tr,
					  const struct sim *sim,
					  uint16_t comp);
/* Feed a sampled value to the sinks that draw counters; it holds from @t
 * (<= now) to the next value of the same counter.  It passes the host,
 * component and time filters and counts against the size cap (the kind
 * filter does not apply).  @name is "HOST.COMPONENT.KEY" or any name
 * outside the hosts. */
void trace_counter(struct sim *sim, sim_time_t t, const char *name,
		   const char *unit, double value);
void trace_close(struct trace *tr, const struct sim *sim);
void trace_free(struct trace *tr);

/* CSV sink (schema in traces/README.md), writing through @of (opened by
 * the caller, who commits or aborts it after trace_close). */
struct outfile;
struct trace_sink *trace_csv_open(struct outfile *of);
extern const char trace_csv_header[];

/* The slow halves of trace_wants (first sight of a component or kind). */
bool trace_comp_decide(struct trace *tr, const struct sim *sim,
		       uint16_t comp);
bool trace_kind_decide(struct trace *tr, const struct trace_kind *k);

/* Would a record of kind @k from component @comp at now be kept (time
 * window, size cap, host, component and kind filters)? */
static inline bool trace_wants(struct trace *tr, const struct sim *sim,
			       uint16_t comp, const struct trace_kind *k)
{
	if (tr->capped || sim->now < tr->from || sim->now > tr->to)
		return false;
	if (tr->hosts || tr->comps) {
		uint8_t v = comp < tr->ncomp_pass ? tr->comp_pass[comp] : 0;
		if (v ? v != 1 : !trace_comp_decide(tr, sim, comp))
			return false;
	}
	if (tr->kinds) {
		const struct trace_kmemo *m =
			&tr->kmemo[((uintptr_t)k >> 3) & (TRACE_KCACHE - 1)];
		if (m->kind == k ? !m->pass : !trace_kind_decide(tr, k))
			return false;
	}
	return true;
}

/* Build and write a record trace_wants() kept. */
void trace_emit(struct sim *sim, uint16_t comp, const struct trace_kind *k,
		const char *as, uint64_t qp, uint64_t psn, uint64_t va,
		uint64_t frame, uint64_t len, const char *detail);

/*
 * sim_trace(sim, comp, kind, qp, psn, va, frame, len, detail)
 * sim_trace_as(sim, comp, kind, as, qp, psn, va, frame, len, detail)
 *
 * The second names the address space @va belongs to (its name, "wl.bw":
 * two processes' pages at one address are told apart); the first leaves
 * it empty (an event with no address, or a remote one the NIC cannot
 * name: a packet's RETH address is in the peer's space).
 *
 * A macro, not an inline function, so that with tracing off the arguments
 * are not evaluated at all: a call site may pass nic_mr_pfn(mr, va) or
 * ib_opcode_name(op), and a function would compute them on every packet
 * (measured: 2% of the instructions of write_bw) only to throw them away.
 * What is left is the one predictable branch.  With tracing on, the
 * filters (time window, hosts, components, kinds) are tested before any
 * argument is evaluated, from verdicts memoised per component and kind:
 * a record a filter drops costs a few array reads.  @sim, @comp and @kind
 * are evaluated twice and must have no side effects.
 *
 * Building with -DODPSIM_NO_TRACE compiles every call out (the arguments
 * are still type-checked); it exists to measure what the branch costs
 * (traces/README.md, "Cost"), not for use.
 */
#ifdef ODPSIM_NO_TRACE
#define sim_trace_as(sim, comp, kind, ...)                                     \
	do {                                                                   \
		if (0)                                                         \
			trace_emit((sim), (comp), (kind), __VA_ARGS__);        \
	} while (0)
#else
#define sim_trace_as(sim, comp, kind, ...)                                     \
	do {                                                                   \
		if (__builtin_expect((sim)->trace != NULL, 0) &&               \
		    trace_wants((sim)->trace, (sim), (comp), (kind)))          \
			trace_emit((sim), (comp), (kind), __VA_ARGS__);        \
	} while (0)
#endif
#define sim_trace(sim, comp, kind, ...)                                        \
	sim_trace_as(sim, comp, kind, NULL, __VA_ARGS__)

#endif
