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

/* How the NIC reports a page fault ([driver] fault_scheme). */
enum driver_fault_scheme {
	FAULT_SCHEME_WQE,    /* WQE and RDMA events (transport scheme) */
	FAULT_SCHEME_MEMORY, /* MEMORY events: demand/pre/post page counts */
};

/* [driver] / [driver NAME] parameters (nic/driver.c: sources) */
struct driver_config {
	uint64_t fault_threads;     /* page-fault workqueue max_active */
	sim_time_t irq_latency;     /* EQE landed -> interrupt handler runs */
	sim_time_t irq_moderation;  /* at most one interrupt per period */
	sim_time_t eqe_time;        /* handler CPU per EQE consumed */
	sim_time_t wq_latency;      /* an idle kworker picking up work */
	sim_time_t mr_lookup_time;  /* find_odp_mkey */
	sim_time_t wqe_read_time;   /* copying a WQE out of its queue */
	sim_time_t dma_map_time;    /* per page mapped for DMA */
	sim_time_t dma_unmap_time;  /* per page unmapped by an invalidation */
	sim_time_t umr_time;        /* per UMR, besides its table's DMA */
	sim_time_t resume_time;     /* PAGE_FAULT_RESUME firmware command */
	sim_time_t invalidate_time; /* per invalidation callback */
	sim_time_t hmm_timeout;     /* HMM_RANGE_DEFAULT_TIMEOUT */
	uint64_t pf_eq_entries;     /* page-fault EQ slots */
	uint64_t pf_descriptors;    /* fault descriptors (0: unbounded) */
	uint64_t fault_around;      /* pages at least per fault (0: mlx5) */
	int fault_scheme;           /* enum driver_fault_scheme */
	sim_time_t reg_syscall_time; /* ibv_reg_mr/dereg_mr system call */
	uint64_t pin_batch;         /* pages per pin_user_pages_fast call */
	sim_time_t pin_call_time;   /* per such call */
	sim_time_t sg_page_time;    /* per page added to the sg table */
	uint64_t dma_max_seg;       /* bytes: the device's max DMA segment */
	sim_time_t dma_map_sg_time; /* per sg entry mapped (dma-direct) */
	sim_time_t unmap_sg_time;   /* per sg entry unmapped and freed */
	sim_time_t create_mkey_time;  /* CREATE_MKEY firmware command */
	sim_time_t destroy_mkey_time; /* DESTROY_MKEY firmware command */
	bool mkey_cache;            /* mlx5's mkey cache (profile 2) */
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
