/*
 * sim/system/system_int.h - what the files of sim/system/ share and no one
 * else sees: struct system itself.  system.c builds and runs it;
 * snapshot.c (snapshots and restore by verified replay) and migrate.c (live
 * migration) read its hosts, switches, scenario and run parameters.
 */
#ifndef SIM_SYSTEM_SYSTEM_INT_H
#define SIM_SYSTEM_SYSTEM_INT_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "nic/packet.h"
#include "sim/config.h"
#include "sim/series.h"
#include "sim/sim.h"
#include "sim/system/progress.h"
#include "sim/system/system.h"

struct snapshot_state;
struct migration;

struct system {
	struct sim *sim;
	struct scenario *sc;
	struct sim_params p;
	const char *policy_name;
	GPtrArray *hosts;     /* struct host * */
	GPtrArray *workloads; /* struct workload * */
	GPtrArray *links;     /* struct link * */
	GPtrArray *switches;  /* struct netswitch * */
	GPtrArray *pcaps;     /* struct pcap_writer *, one per link with --pcap */
	GArray *pcap_snaplen; /* uint32_t per link: its pcap_snaplen */
	/* every output file of the run (sim/outfile.h), renamed into place
	 * together by system_finish_outputs(); the --out DIR members */
	struct outfile_set *outputs;
	struct outfile *series_out, *summary_out, *latency_out;
	struct pkt_pool pool;
	struct series *series;
	GPtrArray *mtt_occ;   /* uint64_t * per host, set before each sample */
	char *out_dir;
	bool timeline;        /* counters go to the timeline too */
	double wall_s;
	gint64 wall_start;
	struct progress prog; /* the progress line (progress.h) */
	volatile uint64_t *progress_cell;
	int interrupted;      /* the signal that stopped the run, or 0 */
	uint64_t *oracle_lost, *oracle_stale, *oracle_final;
	struct snapshot_state *snap; /* --snapshot or --restore, else NULL */
	struct migration *mig;   /* [migration] migrate = ..., else NULL */
};

#endif
