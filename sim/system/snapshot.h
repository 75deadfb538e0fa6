/*
 * sim/system/snapshot.h - snapshots of hosts as ELF core files and restore
 * by verified replay (snapshot.c); the run loop of system.c calls these.
 * system_restore(), system_snapshot_info() and system_snapshot_descs() are
 * declared in system.h: they are the public side.
 */
#ifndef SIM_SYSTEM_SNAPSHOT_H
#define SIM_SYSTEM_SNAPSHOT_H

#include <glib.h>
#include <stdbool.h>

#include "sim/system/system.h"
#include "sim/time.h"

struct snapshot_state;

/* system_build: remember what a RUN record needs (nothing without
 * --snapshot or --restore). */
bool snapshot_setup(struct system *sys, const char *scenario_path,
		    const struct run_options *opt, bool *io_error,
		    GError **error);
/* Create the snapshot files (members of the run's outputs), after the
 * --out directory exists; false is an I/O error. */
bool snapshot_open_outputs(struct system *sys, GError **error);
/* Run up to @t; when the snapshot time falls in the slice, stop there
 * first and take (or verify) it. */
bool snapshot_run_until(struct system *sys, sim_time_t t, GError **error);
/* After the run loop: a restore that never reached the snapshot's time
 * verified nothing (an error); a snapshot never taken is a warning. */
bool snapshot_finish(struct system *sys, GError **error);
void snapshot_state_free(struct snapshot_state *s);

#endif
