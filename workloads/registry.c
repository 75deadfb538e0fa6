/*
 * workloads/registry.c - every workload type a scenario may name.
 */
#include "workloads/workload.h"

extern const struct workload_ops pressure_ops;
extern const struct workload_ops compaction_ops;
extern const struct workload_ops write_bw_ops, read_bw_ops, send_bw_ops;
extern const struct workload_ops write_lat_ops, read_lat_ops, send_lat_ops;
extern const struct workload_ops kv_ops_table;
extern const struct workload_ops attacker_ops;
extern const struct workload_ops register_ops;
extern const struct workload_ops dma_io_ops;

const struct workload_ops *const workload_types[] = {
	&pressure_ops,
	&compaction_ops,
	&write_bw_ops,
	&read_bw_ops,
	&send_bw_ops,
	&write_lat_ops,
	&read_lat_ops,
	&send_lat_ops,
	&kv_ops_table,
	&attacker_ops,
	&register_ops,
	&dma_io_ops,
	NULL,
};
