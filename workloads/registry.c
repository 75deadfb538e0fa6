/*
 * workloads/registry.c - every workload type a scenario may name.
 */
#include "workloads/workload.h"

const struct workload_ops *const workload_types[] = {
	NULL,
};
