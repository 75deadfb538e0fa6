/*
 * nic/driver_int.h - the driver's state, shared by its two halves:
 * nic/driver.c (registration policies, suspend/resume, resizing) and
 * nic/odp.c (on-demand paging: the page-fault EQ, the fault work items,
 * invalidations, implicit ODP children, prefetch).  Not for workloads.
 */
#ifndef NIC_DRIVER_INT_H
#define NIC_DRIVER_INT_H

#include "nic/driver.h"
#include "nic/nic_int.h"
#include "sim/stats.h"
#include "vmm/vmm.h"

/* mkey cache entries: 4 << i translation entries, i = 0 ..
 * MKEY_CACHE_LAST_STD_ENTRY (20) */
#define MKEY_CACHE_ORDERS 21

struct driver {
	struct sim *sim;
	struct host *host;
	struct nic *nic;
	struct driver_config cfg;
	uint16_t comp;
	unsigned threads;  /* the page-fault workqueue's concurrency */
	unsigned cpus;     /* system_unbound_wq's (advise_mr work) */

	/* the page-fault EQ and its interrupt handler (nic/odp.c) */
	uint64_t eq_used;  /* EQEs written and not yet consumed */
	GQueue eq;         /* faults whose EQE is in the EQ, landing order */
	GQueue held;       /* reports the NIC holds while the EQ is full */
	uint64_t desc_used; /* fault descriptors held by work items */
	bool pool_dry;     /* the handler stopped: no descriptor */
	bool irq_armed;
	sim_time_t last_irq;
	sim_time_t handler_free; /* the handler's CPU is busy until then */

	/* work items */
	GQueue work;       /* page-fault work waiting for a thread */
	GQueue pwork;      /* advise_mr work (system_unbound_wq) */
	GQueue parked;     /* threads asleep in mmu_interval_read_begin */
	unsigned busy, pbusy;
	GHashTable *live;  /* every struct fault not yet freed */

	/* invalidations */
	GQueue ack_spare;  /* struct inval_ack free list */
	GPtrArray *ack_all; /* every struct inval_ack (owned) */

	/* the mkey cache (driver.c): ready mkeys per entry of 4 << i
	 * translation entries, refills in flight, and until when the
	 * device's slow_path_mutex is held by a reg_create() */
	uint32_t mkey_avail[MKEY_CACHE_ORDERS];
	uint32_t mkey_pending[MKEY_CACHE_ORDERS];
	unsigned mkey_inflight;
	sim_time_t slow_path_until;
	uint64_t *c_mkey_hits, *c_mkey_misses, *c_mkey_create;
	uint64_t *c_mkey_destroy;

	/* counters and histograms, as mlx5 reports them (odp.c) */
	uint64_t *c_faults, *c_handled, *c_inval, *c_inval_handled;
	uint64_t *c_prefetch, *c_local, *c_remote;
	uint64_t *c_overdraft, *c_retries, *c_fail, *c_busy;
	uint64_t *c_eq_full, *c_pool_dry, *c_umr, *c_umr_blocks;
	uint64_t *c_children, *c_child_new, *c_child_gone;
	uint64_t *c_ksm_entries; /* of the implicit parents registered */
	struct hist *h_fault_ns, *h_inval_ns, *h_eq_wait_ns, *h_desc_wait_ns;
	struct hist *h_range_pages;
};

/* nic/odp.c */
void odp_init(struct driver *drv);
void odp_free(struct driver *drv);
const char *odp_busy(const struct driver *drv);
/* The notifier of an explicit on-demand MR (ctx: the MR); the suspend
 * policy's invalidations go through it too. */
extern const struct vmm_notifier_ops odp_notifier;
void odp_invalidate_start(struct vmm_sub *sub, uint64_t start, uint64_t end,
			  enum vmm_reason reason, uint64_t token, void *ctx);
void odp_invalidate_end(struct vmm_sub *sub, uint64_t start, uint64_t end,
			void *ctx);
/* A notification (invalidation or suspension) of @mr ended. */
void odp_notif_end(struct nic_mr *mr);
/* A UMR rewriting @bytes of translation table, posted at @t: when it is
 * done. */
sim_time_t driver_umr_at(struct driver *drv, sim_time_t t, uint64_t bytes);
/* Per-MR ODP counters (rdma stat mr) of a new on-demand MR. */
void odp_mr_counters(struct nic_mr *mr);

/* nic/driver.c: a resize that waited for the MR's notifications to end */
void driver_mr_resize_go(struct nic_mr *mr);
/* The mkey cache primed (driver_new). */
void driver_mkey_init(struct driver *drv);
/* odp.c: mlx5_ib_init_odp_mr(): map the pages of @mr already present
 * (no fault), in the registering thread, from @at; @done as advise's. */
void odp_snapshot(struct nic_mr *mr, sim_time_t at, nic_advise_done_fn done,
		  void *ctx);
/* odp.c: pages the children of implicit @mr map. */
uint64_t driver_imr_mapped(const struct nic_mr *mr);

#endif
