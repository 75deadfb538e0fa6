/*
 * tools/bench_system.c - the full-system benchmark: a scenario (default
 * workloads/write_bw.ini: 64 KiB RDMA WRITEs over 100 Gb/s, 4 KiB MTU,
 * pinned memory) run for a simulated duration, timed on the wall clock.
 * Prints: system scenario=NAME sim_s=S wall_s=W sim_per_wall=R
 * events_per_sec=E
 */
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "sim/json.h"
#include "sim/system/system.h"

int main(int argc, char **argv)
{
	const char *scenario = argc > 1 ? argv[1] : "workloads/write_bw.ini";
	const char *duration = argc > 2 ? argv[2] : "200ms";
	struct run_options opt = { .duration = duration };
	bool io;
	GError *e = NULL;
	struct system *sys = system_build(scenario, &opt, &io, &e);
	if (!sys) {
		fprintf(stderr, "bench_system: %s\n", e->message);
		return 2;
	}
	if (!system_run(sys, &e)) {
		fprintf(stderr, "bench_system: %s\n", e->message);
		return 1;
	}
	char *j = system_summary_json(sys, false);
	struct json_value *v = json_parse(j, NULL);
	double wall = json_get(v, "wall_s")->num;
	double sim_s = (double)json_get(v, "sim_time_ps")->i / 1e12;
	double events = (double)json_get(v, "events")->i;
	char *base = g_path_get_basename(scenario);
	char *dot = strrchr(base, '.');
	if (dot)
		*dot = 0;
	printf("system scenario=%s sim_s=%.3f wall_s=%.3f sim_per_wall=%.3f "
	       "events_per_sec=%.0f\n",
	       base, sim_s, wall, sim_s / wall, events / wall);
	g_free(base);
	json_value_free(v);
	g_free(j);
	system_free(sys);
	return 0;
}
