/*
 * workloads/registry.c - every workload type a scenario may name.
 */
#include "workloads/workload.h"

extern const struct workload_ops pressure_ops;
extern const struct workload_ops compaction_ops;

const struct workload_ops *const workload_types[] = {
	&pressure_ops,
	&compaction_ops,
	NULL,
};
