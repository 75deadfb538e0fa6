/*
 * sim/system/sweep.h - `odpsim sweep`: a campaign of runs over a grid of
 * parameters, on all cores, or as jobs for GNU parallel or a Slurm job
 * array, recorded in one campaign database (sim/system/campaign.h).
 *
 * A campaign is defined by its command line: the scenario, the axes
 * (--grid KEY=VALUES, --policy, --migration, --seeds / --seed-list), the
 * fixed overrides (--set, --duration).  The points are the cartesian
 * product of the axes (--zip pairs the --grid lists instead), numbered
 * from 0 with the last axis fastest; the same command line gives the same
 * points everywhere, which is how `--point K` on a cluster node finds its
 * run.  Each point is keyed by a hash of its effective configuration, its
 * overrides, the odpsim version and the source commit, so a point already
 * recorded as ok is skipped (a killed campaign resumes where it stopped)
 * unless --force.
 *
 * Each point runs in its own forked process (sim/system/runpool.c): its
 * results are those `odpsim run` gives with the same options.  Every
 * point is validated (built) before anything runs; a point that does not
 * build is recorded as failed with its message, and the others go on
 * (none builds: a configuration error, nothing is written).
 */
#ifndef SIM_SYSTEM_SWEEP_H
#define SIM_SYSTEM_SWEEP_H

#include <glib.h>

/* Expand one --grid value list: "1,2,4", "1024..524288*2" (powers: from,
 * to, factor), "0..1:0.1" (steps), "4KiB..64KiB*2" (with a unit, the same
 * on both ends), mixed with commas.  NULL-terminated; NULL and @error set
 * (naming @spec) on a malformed list, an empty one, a duplicate value or
 * more than 100000 values. */
char **sweep_expand_values(const char *spec, GError **error);

/* `odpsim sweep ...` (argv[0] is "sweep"); returns the exit status. */
int sweep_command(int argc, char **argv);

#endif
