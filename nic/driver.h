/*
 * nic/driver.h - the kernel driver between the HCA and the VMM, and the
 * registration policies it implements.
 *
 * A registration policy is a const ops table (STYLE.md: policies plug in
 * through ops tables, never through the data path): how an MR's pages get
 * into the MTT at registration, and what happens when the VMM wants to
 * move or reclaim them.  This file is the one place in nic/ that calls
 * into vmm/.
 *
 *   pin           pin every page, fill the MTT; the VMM cannot move them
 *   odp           nothing up front; the NIC faults, the driver resolves;
 *                 invalidations zap the MTT after in-flight DMA drains
 *   odp-prefetch  odp, plus every page faulted in and mapped (not pinned)
 *                 before registration returns (advise_mr PREFETCH, flush)
 *   suspend       the pages are committed (real frames reserved, never
 *                 reclaimed) and mapped up front without pinning; when
 *                 the VMM moves one, it suspends the range (the NIC holds
 *                 traffic to it), copies, and resumes it with the new
 *                 frames: no fault, no driver round trip, same rkey.
 *                 Registration fails cleanly (-ENOMEM) when the host
 *                 cannot commit the pages.
 *   odp-unsafe    odp with a bug on purpose: invalidate_start is
 *                 acknowledged at once, without waiting for DMA in
 *                 flight.  A teaching and validation policy: the oracle
 *                 must catch it (lost writes, stale reads).  Never a
 *                 choice for a real comparison.
 */
#ifndef NIC_DRIVER_H
#define NIC_DRIVER_H

#include "nic/nic.h"

struct host;

enum reg_policy_id {
	REG_PIN,
	REG_ODP,
	REG_ODP_PREFETCH,
	REG_SUSPEND,
	REG_ODP_UNSAFE,
	REG_NPOLICIES
};
extern const char *const reg_policy_names[]; /* NULL-terminated */

struct reg_policy_ops {
	const char *name;
	bool on_demand; /* translations appear on faults, not up front */
	bool no_drain;  /* acks invalidations before DMA drains (a bug) */
	/* Fill the MTT of a new MR; the driver completes it afterwards. */
	void (*reg)(struct nic_mr *mr);
	void (*dereg)(struct nic_mr *mr);
};

const struct reg_policy_ops *reg_policy_get(enum reg_policy_id id);

/* [driver] / [driver NAME] parameters */
struct driver_config {
	uint64_t fault_threads;     /* kernel threads resolving faults */
	sim_time_t irq_latency;     /* EQ write landed -> handler runs */
	sim_time_t irq_moderation;  /* at most one interrupt per period */
	sim_time_t fault_service;   /* CPU per fault: EQE, MR lookup, setup */
	uint64_t fault_around;      /* pages resolved per fault */
	sim_time_t mtt_update_time; /* per page: write the MTT entry (UMR) */
	sim_time_t resume_time;     /* command that resumes a stalled QP */
	sim_time_t invalidate_time; /* CPU per invalidation: zap + sync */
	sim_time_t reg_base_time;   /* per registration: syscall, MPT */
	sim_time_t umr_time;        /* per UMR, besides its table's DMA */
	uint64_t implicit_va_bits;  /* an implicit MR covers 2^bits bytes */
};
extern const struct param_table driver_params;

struct driver;
struct driver *driver_new(struct sim *sim, struct host *host,
			  const struct driver_config *cfg);
void driver_free(struct driver *drv);
/* Live migration: the driver now drives @nic; what it still waits for
 * (NULL when idle). */
void driver_set_nic(struct driver *drv, struct nic *nic);
const char *driver_busy(const struct driver *drv);

/* Post-copy migration: every implicit MR of @nic loses its children
 * (their translations are dropped; faults rebuild them). */
void driver_imr_reset(struct nic_mr *mr);

/* advise_mr flags (IBV_ADVISE_MR_ADVICE_*) */
enum nic_advice {
	NIC_ADVISE_PREFETCH,        /* fault in for reading */
	NIC_ADVISE_PREFETCH_WRITE,  /* fault in for writing */
	NIC_ADVISE_PREFETCH_NO_FAULT, /* map only pages already present */
};
typedef void (*nic_advise_done_fn)(void *ctx, struct nic_mr *mr, int status,
				   uint64_t pages_mapped);
/* Fault in and map [va, va+len) of an on-demand MR, asynchronously, without
 * pinning; @done (may be NULL) runs when every page is mapped. */
void nic_advise_mr(struct nic_mr *mr, enum nic_advice advice, uint64_t va,
		   uint64_t len, nic_advise_done_fn done, void *ctx);

#endif
