/*
 * sim/timeline.h - a trace sink writing a Chrome trace-event JSON timeline
 * (the {"traceEvents": [...]} format that Perfetto and chrome://tracing
 * open).  The format is documented in traces/README.md, "Timeline".
 *
 * Representation: one process (pid) per host, in the order the hosts are
 * given, plus one last pseudo-process "global" for components outside any
 * host (wires, workloads).  Within a process, one thread (tid) per track,
 * numbered in order of first use; a track is the component, split by QP
 * for NIC events ("nic qp 256").  INSTANT kinds become "i" events written
 * at once; a BEGIN is held open on its track until the END with the same
 * span name, QP and virtual address, then written as one "X" complete
 * event.  Spans on a track always nest: when an END closes a span that
 * has later spans still open above it, those move to a sub-track
 * ("vmm #2") where they nest.  Spans still open at close end at the close
 * time with "unfinished": true; ENDs without a BEGIN become instants with
 * "unmatched_end": true and are counted on stderr.  Counters (sampled
 * series) become "C" events, written only when the value changes.
 *
 * Workload: a few kinds of spans (invalidations, faults, suspensions) and
 * many instants; lookups are one hash per record with tracing on, nothing
 * with tracing off.  Same records in, same bytes out.
 */
#ifndef SIM_TIMELINE_H
#define SIM_TIMELINE_H

#include <glib.h>

#include "sim/trace.h"

/* A sink writing through @of (sim/outfile.h; the caller commits it after
 * trace_close); @hosts (@nhosts names) become processes 1..n, the global
 * pseudo-process is n+1.  The sink writes the trailer and frees itself on
 * close. */
struct outfile;
struct trace_sink *timeline_open(struct outfile *of, const char *const *hosts,
				 unsigned nhosts);

#endif
