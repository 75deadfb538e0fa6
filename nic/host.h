/*
 * nic/host.h - one simulated host: its memory manager, its HCA and the
 * driver between them.  Built by sim/system/system.c from a [host NAME] section;
 * workloads reach the models through it.  Members are NULL until the model
 * that owns them exists in the build (vmm/ for memory, nic/ for the HCA).
 */
#ifndef NIC_HOST_H
#define NIC_HOST_H

#include <stdint.h>

struct vmm;
struct nic;
struct driver;

struct host_config {
	uint64_t memory; /* DRAM bytes */
	uint64_t cpu_hz;
	uint64_t cpus;
};

struct host {
	char *name;
	unsigned index;
	struct host_config cfg;
	struct vmm *vmm;
	struct nic *nic;
	struct driver *drv;
};

#endif
