/*
 * nic/odp.c - on-demand paging in the driver, as mlx5 does it
 * (drivers/infiniband/hw/mlx5/odp.c, drivers/infiniband/core/umem_odp.c,
 * mm/hmm.c): the NIC's page faults, their resolution through the VMM, the
 * invalidations the VMM's notifier sends, implicit ODP children, and
 * ibv_advise_mr prefetch.
 *
 * The fault path, step by step (each step a [driver] cost; see README,
 * "On-demand paging: what a fault costs"):
 *
 *   1. The NIC writes an EQE into the page-fault EQ in host memory (a
 *      64 B PCIe write).  The EQ has pf_eq_entries slots (create_map_eq:
 *      order_base_2(MLX5_IB_NUM_PF_EQE + MLX5_NUM_SPARE_EQE) = 8192);
 *      when all are taken the NIC holds the report until one frees
 *      (nic.pf_eq_full_waits, nic.pf_eq_wait_ns).
 *   2. irq_latency after the EQE lands (at most one interrupt per
 *      irq_moderation) the handler (mlx5_ib_eq_pf_process) takes each
 *      EQE, eqe_time apiece: a descriptor from the pool (mempool of
 *      MLX5_IB_NUM_PF_DRAIN = 64; when it is dry the EQEs wait in the EQ,
 *      nic.pf_descriptor_waits), the EQ slot freed, a work item queued.
 *   3. The work item runs on the "mlx5_ib_page_fault" workqueue, at most
 *      fault_threads at once (max_active MLX5_NUM_CMD_EQE = 32, and no
 *      more than the host's CPUs); an idle kworker first pays wq_latency.
 *   4. By event subtype (fault_scheme):
 *      RDMA (a responder READ/WRITE target, mlx5_ib_mr_rdma_pfault_handler):
 *        the operation's range from the fault on (rdma_op_len minus
 *        bytes_committed); when the NIC reports no length, the packet,
 *        then after the resume a prefetch of min(MAX_PREFETCH_LEN = 4 MiB,
 *        bytes_committed) from the same address;
 *      WQE (a requester gather or READ scatter, a SEND's receive buffer,
 *        mlx5_ib_mr_wqe_pfault_handler): wqe_read_time to copy the WQE,
 *        then each data segment from bytes_committed on; mapped short:
 *        resume with error;
 *      MEMORY (fault_scheme = memory, mlx5_ib_mr_memory_pfault_handler):
 *        the prefetch window [va - pre, va + demand + post), else the
 *        demand pages; resume only on the event flagged LAST.
 *      Each range costs mr_lookup_time (find_odp_mkey), then per child
 *      of an implicit MR (pagefault_implicit_mr) ib_umem_odp_map_dma_and_
 *      lock: hmm_range_fault page by page (the VMM's minor/major fault
 *      costs), dma_map_time per page, then under umem_mutex a UMR writing
 *      the MTT entries (umr_time plus the NIC's read of 8 B per entry over
 *      PCIe, in 64 B blocks).
 *   5. PAGE_FAULT_RESUME (resume_time, a firmware command): the stalled
 *      requester goes on, or the responder QP (which answered every
 *      request with an RNR NAK meanwhile) serves the peer's next retry.
 *
 * The race with invalidations follows mmu_interval_read_begin/retry: the
 * thread sleeps while an invalidation of its range is in progress, walks
 * the pages, takes umem_mutex and writes the MTT only if no invalidation
 * ran in between; otherwise it starts over (nic.fault_retries), and gives
 * up with -EBUSY once hmm_timeout (HMM_RANGE_DEFAULT_TIMEOUT = 1000 ms)
 * has passed since its first attempt (nic.page_faults_busy_timeout): the
 * QP is resumed with error.  An invalidation that comes while a fault's
 * UMR holds umem_mutex waits for it.
 *
 * Invalidation (mlx5_ib_invalidate_range): zaps the mapped MTT entries by
 * UMR in runs aligned to MLX5_UMR_MTT_NUM_ENTRIES_ALIGNMENT = 8 entries
 * (one 64 B block each), unmaps the pages (dma_unmap_time each), and is
 * acknowledged once every DMA the NIC issued to the MR has landed.  The
 * device's translation changes only when the UMRs have executed: until
 * then the NIC still translates through the old entries (in its cache
 * and in the MTT), and DMA it issues meanwhile is DMA in flight too, so
 * the acknowledgement waits for the last UMR and, after it, for every DMA
 * issued until then (mlx5r_umr_post_send_wait blocks for the UMR's CQE).
 * odp-unsafe acknowledges at once: the VMM copies, reclaims or frees the
 * page while the NIC still writes to and reads from its old frame for
 * the rest of the UMRs' time, which the oracle sees as lost writes and
 * stale reads (issue 17: "DMA in flight while the page moves").
 *
 * Counters as mlx5 reports them, per NIC and per MR (rdma stat mr):
 * page_faults in pages, page_faults_handled in operations,
 * page_invalidations in pages, page_invalidations_handled in operations,
 * page_prefetch in pages (advise_mr only); odp_local_triggered_page_fault
 * and odp_remote_triggered_page_fault (devlink vnic) count EQEs.
 *
 * Representation: a fault is a heap record (one per EQE or advise_mr
 * call, never per packet) with an explicit state (enum pf_state, named in
 * traces), queued in GQueues; a fault range is walked segment by segment
 * (one per implicit child).
 */
#include <errno.h>
#include <stddef.h>

#include "nic/driver_int.h"
#include "nic/host.h"
#include "nic/mtt_cache.h"
#include "nic/pcie.h"
#include "vmm/vmm.h"

/* mlx5_ib_mr_rdma_pfault_handler(): the prefetch after a fault whose
 * length the NIC could not tell */
#define MAX_PREFETCH_LEN (4ULL << 20)
/* MEMORY_SCHEME_PAGE_FAULT_GRANULARITY */
#define MEM_PF_GRANULARITY 4096
/* MLX5_UMR_FLEX_ALIGNMENT: UMR tables go in 64 B blocks, 8 MTT entries
 * (MLX5_UMR_MTT_NUM_ENTRIES_ALIGNMENT) or 4 KSM entries each */
#define UMR_FLEX_ALIGNMENT 64
#define UMR_MTT_ALIGN (UMR_FLEX_ALIGNMENT / 8)
/* MLX5_MAX_UMR_CHUNK = (1 << (MLX5_MAX_UMR_SHIFT + 4)) -
 * MLX5_UMR_FLEX_ALIGNMENT: the most one UMR WQE carries */
#define UMR_MAX_CHUNK ((1ULL << (16 + 4)) - UMR_FLEX_ALIGNMENT)

enum pf_subtype { PF_WQE, PF_RDMA, PF_MEMORY, PF_PREFETCH, PF_PRI };
static const char *const pf_subtype_names[] = { "wqe", "rdma", "memory",
						"prefetch", "pri" };

/* A fault's state (traced by name). */
enum pf_state {
	PFS_HELD,     /* the EQ is full: the NIC holds the report */
	PFS_EQ,       /* its EQE is in the EQ */
	PFS_QUEUED,   /* a work item waiting for a thread */
	PFS_SETUP,    /* the handler reads the WQE, finds the mkey */
	PFS_MAPPING,  /* hmm_range_fault: the VMM faults pages in */
	PFS_PARKED,   /* asleep in mmu_interval_read_begin */
	PFS_DMA_MAP,  /* mapping the pages for DMA */
	PFS_UMR,      /* umem_mutex held, the MTT update in flight */
	PFS_RESUME,   /* PAGE_FAULT_RESUME in flight */
	PFS_NSTATES
};
static const char *const pf_state_names[] = {
	"HELD", "EQ", "QUEUED", "SETUP", "MAPPING", "PARKED", "DMA_MAP",
	"UMR", "RESUME",
};

/* Which range of its handler a fault maps now. */
enum pf_phase {
	PH_MAIN,      /* the demand range (MEMORY: the prefetch window) */
	PH_FALLBACK,  /* MEMORY: the demand pages, the window having failed */
	PH_PREFETCH,  /* RDMA: the prefetch after the resume */
};

struct fault {
	struct driver *drv;
	enum pf_subtype sub;
	enum pf_state state;
	enum pf_phase phase;
	struct pf_report r;     /* what the NIC reported */
	struct nic_mr *mr;
	bool write;
	bool no_fault;          /* prefetch of present pages only */
	bool snapshot;          /* registration's mapping of present pages
				 * (mlx5_ib_init_odp_mr), in the caller's
				 * thread, not a prefetch */
	bool last;              /* MEMORY: flagged LAST */
	bool failed;            /* resume with error */
	/* MEMORY: the demand pages and the window, MR page indices */
	uint64_t d_first, d_npages, w_first, w_npages;
	/* RDMA: the prefetch after the resume, MR page indices */
	uint64_t p_first, p_npages;
	/* the range being mapped (pagefault_mr), MR page indices */
	uint64_t first, npages;
	uint64_t seg, seg_end;  /* the part of it being mapped: all of it, or
				 * (implicit ODP) one child's share */
	struct imr_child *child; /* implicit ODP: the segment's child, held */
	uint64_t next;          /* next page to walk */
	uint64_t seq;           /* mmu_interval_read_begin */
	sim_time_t map_start;   /* first attempt of this map call */
	uint64_t *pfns;         /* per page of the range */
	uint64_t cap_pfns;
	int status;             /* VMM status that cut the walk short */
	bool busy;              /* -EBUSY: collided past hmm_timeout */
	uint64_t np;            /* pages of the range mapped so far */
	uint64_t mapped;        /* pages mapped over the whole fault */
	sim_time_t detected, held_at, eq_at;
	uint64_t trace_qp, trace_va; /* the BEGIN's keys, for its END */
	nic_advise_done_fn done;
	void *done_ctx;
};

static const struct trace_kind tk_fault = { "page_fault", TRACE_BEGIN,
					    "fault" };
static const struct trace_kind tk_fault_done = { "page_fault_done",
						 TRACE_END, "fault" };
static const struct trace_kind tk_pf_state = { "page_fault_state",
					       TRACE_INSTANT, NULL };
static const struct trace_kind tk_inval = { "invalidate", TRACE_INSTANT,
					    NULL };

static void pf_set(struct fault *f, enum pf_state s)
{
	f->state = s;
	struct sim *sim = f->drv->sim;
	if (G_UNLIKELY(sim->trace))
		sim_trace_as(sim, f->drv->comp, &tk_pf_state, f->mr->as_name,
			     f->trace_qp,
			  TRACE_NONE, f->trace_va, TRACE_NONE, f->sub,
			  pf_state_names[s]);
}

static bool mr_writable(const struct nic_mr *mr)
{
	return mr->access & (NIC_ACCESS_LOCAL_WRITE | NIC_ACCESS_REMOTE_WRITE);
}

/* ---- set-up ---- */

void odp_init(struct driver *drv)
{
	g_queue_init(&drv->eq);
	g_queue_init(&drv->held);
	g_queue_init(&drv->work);
	g_queue_init(&drv->pwork);
	g_queue_init(&drv->parked);
	g_queue_init(&drv->ack_spare);
	drv->ack_all = g_ptr_array_new_with_free_func(g_free);
	drv->live = g_hash_table_new(NULL, NULL);
	struct stats *st = drv->sim->stats;
	const char *h = drv->host->name;
	drv->c_faults = stats_counter(st, "%s.nic.page_faults", h);
	drv->c_handled = stats_counter(st, "%s.nic.page_faults_handled", h);
	drv->c_inval = stats_counter(st, "%s.nic.page_invalidations", h);
	drv->c_inval_handled =
		stats_counter(st, "%s.nic.page_invalidations_handled", h);
	drv->c_prefetch = stats_counter(st, "%s.nic.page_prefetch", h);
	drv->c_local =
		stats_counter(st, "%s.nic.odp_local_triggered_page_fault", h);
	drv->c_remote =
		stats_counter(st, "%s.nic.odp_remote_triggered_page_fault", h);
	drv->c_overdraft = stats_counter(st, "%s.nic.overdraft_faults", h);
	drv->c_retries = stats_counter(st, "%s.nic.fault_retries", h);
	drv->c_fail = stats_counter(st, "%s.nic.page_faults_failed", h);
	drv->c_busy = stats_counter(st, "%s.nic.page_faults_busy_timeout", h);
	drv->c_eq_full = stats_counter(st, "%s.nic.pf_eq_full_waits", h);
	drv->c_pool_dry = stats_counter(st, "%s.nic.pf_descriptor_waits", h);
	drv->c_umr = stats_counter(st, "%s.nic.umr_posts", h);
	drv->c_umr_blocks = stats_counter(st, "%s.nic.umr_blocks", h);
	drv->c_children = stats_counter(st, "%s.nic.implicit_children", h);
	drv->c_child_new =
		stats_counter(st, "%s.nic.implicit_children_created", h);
	drv->c_child_gone =
		stats_counter(st, "%s.nic.implicit_children_destroyed", h);
	drv->c_ksm_entries =
		stats_counter(st, "%s.nic.implicit_ksm_entries", h);
	drv->h_fault_ns = stats_hist(st, "%s.nic.fault_latency_ns", h);
	drv->h_inval_ns = stats_hist(st, "%s.nic.invalidation_latency_ns", h);
	drv->h_eq_wait_ns = stats_hist(st, "%s.nic.pf_eq_wait_ns", h);
	drv->h_desc_wait_ns = stats_hist(st, "%s.nic.pf_descriptor_wait_ns", h);
	drv->h_range_pages = stats_hist(st, "%s.nic.fault_range_pages", h);
}

void odp_mr_counters(struct nic_mr *mr)
{
	struct stats *st = mr->nic->sim->stats;
	const char *h = mr->nic->host->name;
	mr->c_faults = stats_counter(st, "%s.nic.mr%u.page_faults", h,
				     mr->index);
	mr->c_handled = stats_counter(st, "%s.nic.mr%u.page_faults_handled",
				      h, mr->index);
	mr->c_inval = stats_counter(st, "%s.nic.mr%u.page_invalidations", h,
				    mr->index);
	mr->c_inval_handled = stats_counter(
		st, "%s.nic.mr%u.page_invalidations_handled", h, mr->index);
	mr->c_prefetch = stats_counter(st, "%s.nic.mr%u.page_prefetch", h,
				       mr->index);
}

static void child_release(struct fault *f);

static void fault_free(struct fault *f)
{
	child_release(f);
	g_hash_table_remove(f->drv->live, f);
	nic_mr_release(f->mr);
	g_free(f->pfns);
	g_free(f);
}

void odp_free(struct driver *drv)
{
	/* faults in progress are referenced by events that will not fire
	 * and by the queues: every fault not yet freed is in `live` */
	GHashTable *all = drv->live;
	drv->live = g_hash_table_new(NULL, NULL);
	GHashTableIter it;
	gpointer k;
	g_hash_table_iter_init(&it, all);
	while (g_hash_table_iter_next(&it, &k, NULL))
		fault_free(k);
	g_hash_table_destroy(all);
	g_hash_table_destroy(drv->live);
	g_queue_clear(&drv->eq);
	g_queue_clear(&drv->held);
	g_queue_clear(&drv->work);
	g_queue_clear(&drv->pwork);
	g_queue_clear(&drv->parked);
	g_queue_clear(&drv->ack_spare);
	g_ptr_array_free(drv->ack_all, TRUE);
}

const char *odp_busy(const struct driver *drv)
{
	if (drv->busy || drv->pbusy || drv->work.length || drv->pwork.length ||
	    drv->eq.length || drv->held.length)
		return "page faults being resolved";
	if (drv->parked.length)
		return "fault threads waiting for an invalidation";
	return NULL;
}

/* ---- UMR ---- */

sim_time_t driver_umr_at(struct driver *drv, sim_time_t t, uint64_t bytes)
{
	bytes = (bytes + UMR_FLEX_ALIGNMENT - 1) &
		~(uint64_t)(UMR_FLEX_ALIGNMENT - 1);
	do {
		uint64_t n = bytes < UMR_MAX_CHUNK ? bytes : UMR_MAX_CHUNK;
		t = pcie_dma_read_at(drv->nic->pcie, t + drv->cfg.umr_time, n);
		(*drv->c_umr)++;
		*drv->c_umr_blocks += n / UMR_FLEX_ALIGNMENT;
		bytes -= n;
	} while (bytes);
	return t;
}

/* The table bytes a UMR of @n MTT entries from entry @idx carries:
 * mlx5r_umr_update_xlt() aligns the start down and the count up to 8. */
static uint64_t umr_mtt_bytes(uint64_t idx, uint64_t n)
{
	n += idx & (UMR_MTT_ALIGN - 1);
	return ((n + UMR_MTT_ALIGN - 1) & ~(uint64_t)(UMR_MTT_ALIGN - 1)) * 8;
}

/* ---- implicit ODP children (nic_int.h: struct nic_ksm) ---- */

static void imr_invalidate_start(struct vmm_sub *sub, uint64_t start,
				 uint64_t end, enum vmm_reason reason,
				 uint64_t token, void *ctx);
static void imr_invalidate_end(struct vmm_sub *sub, uint64_t start,
			       uint64_t end, void *ctx);
static const struct vmm_notifier_ops imr_notifier = {
	.invalidate_start = imr_invalidate_start,
	.invalidate_end = imr_invalidate_end,
};

/*
 * implicit_get_child_mr(): an MTT mkey of MLX5_IMR_MTT_ENTRIES from the
 * mkey cache, its table zapped by a UMR (2^18 entries of 8 B), its own
 * interval notifier over its GiB; then (pagefault_implicit_mr) a UMR
 * writes its key into the parent's KSM entry (16 B).  Returns when the
 * child can be used.
 */
static sim_time_t imr_child_create(struct driver *drv, struct nic_mr *mr,
				   uint64_t slot, struct imr_child **out)
{
	struct imr_child *c = nic_imr_child_add(mr, slot);
	c->sub = vmm_notifier_register(mr->as, slot << IMR_CHILD_SHIFT,
				       1ULL << IMR_CHILD_SHIFT,
				       VMM_SUB_INVALIDATE, &imr_notifier, c);
	(*drv->c_children)++;
	(*drv->c_child_new)++;
	*out = c;
	sim_time_t t = driver_umr_at(drv, sim_now(drv->sim),
				     IMR_CHILD_PAGES * 8);
	return driver_umr_at(drv, t, 16);
}

/* destroy_unused_implicit_child_mr(): out of the KSM and unsubscribed
 * now (the KSM update and the mkey's release run on a workqueue nobody
 * waits for); freed once no fault holds it. */
static void imr_child_destroy(struct driver *drv, struct imr_child *c)
{
	nic_imr_child_remove(c);
	vmm_notifier_unregister(c->sub);
	c->sub = NULL;
	(*drv->c_children)--;
	(*drv->c_child_gone)++;
	if (!c->users)
		g_free(c);
}

static void child_release(struct fault *f)
{
	struct imr_child *c = f->child;
	if (!c)
		return;
	f->child = NULL;
	g_assert(c->users > 0);
	if (--c->users == 0 && c->dead)
		g_free(c);
}

void driver_imr_reset(struct nic_mr *mr)
{
	struct driver *drv = mr->nic->drv;
	struct nic_ksm *k = mr->ksm;
	uint64_t nleaves = (k->nslots + KSM_LEAF_SLOTS - 1) >> KSM_LEAF_BITS;
	for (uint64_t l = 0; l < nleaves; l++)
		for (unsigned i = 0; k->leaves[l] && i < KSM_LEAF_SLOTS; i++) {
			struct imr_child *c = k->leaves[l][i];
			if (!c)
				continue;
			uint64_t pg = c->slot << IMR_CHILD_PAGE_BITS;
			uint64_t n = mtt_zap(&mr->mtt, pg,
					     pg + IMR_CHILD_PAGES - 1);
			*mr->nic->c_reg_pages -= n;
			imr_child_destroy(drv, c);
		}
}

uint64_t driver_imr_mapped(const struct nic_mr *mr)
{
	const struct nic_ksm *k = mr->ksm;
	uint64_t n = 0;
	uint64_t nleaves = (k->nslots + KSM_LEAF_SLOTS - 1) >> KSM_LEAF_BITS;
	for (uint64_t l = 0; l < nleaves; l++)
		for (unsigned i = 0; k->leaves[l] && i < KSM_LEAF_SLOTS; i++)
			if (k->leaves[l][i])
				n += k->leaves[l][i]->mapped;
	return n;
}

/* ---- the EQ, the interrupt and the work queue ---- */

static void fault_dispatch(struct driver *drv, bool warm);
static void eq_process(struct driver *drv);

static void irq_event(struct sim *sim, void *obj, uint64_t arg);
SIM_EVKIND(ev_irq, "driver.irq", irq_event);

static void irq_arm(struct driver *drv)
{
	if (drv->irq_armed || g_queue_is_empty(&drv->eq) || drv->pool_dry)
		return;
	struct fault *f = g_queue_peek_head(&drv->eq);
	sim_time_t at = f->eq_at + drv->cfg.irq_latency;
	if (drv->last_irq && at < drv->last_irq + drv->cfg.irq_moderation)
		at = drv->last_irq + drv->cfg.irq_moderation;
	if (at < sim_now(drv->sim))
		at = sim_now(drv->sim);
	drv->irq_armed = true;
	sim_schedule(drv->sim, at, &ev_irq, drv->comp, drv, 0);
}

/* The NIC writes the EQE of @f (a slot is free). */
static void eq_write(struct driver *drv, struct fault *f, sim_time_t t)
{
	drv->eq_used++;
	f->eq_at = pcie_dma_write_at(drv->nic->pcie, t, 64);
	pf_set(f, PFS_EQ);
	g_queue_push_tail(&drv->eq, f);
	irq_arm(drv);
}

/* An EQ slot was freed: the NIC writes the oldest report it held. */
static void eq_unhold(struct driver *drv)
{
	while (drv->eq_used < drv->cfg.pf_eq_entries &&
	       !g_queue_is_empty(&drv->held)) {
		struct fault *f = g_queue_pop_head(&drv->held);
		sim_time_t now = sim_now(drv->sim);
		hist_add(drv->h_eq_wait_ns, (now - f->held_at) / SIM_NS);
		eq_write(drv, f, now);
	}
}

/*
 * mlx5_ib_eq_pf_process(): every EQE already in the EQ, one after the
 * other on the handler's CPU: a descriptor from the pool
 * (mempool_alloc), the slot consumed, the work item queued.  Without a
 * descriptor the handler stops and the EQEs stay in the EQ until a work
 * item gives one back (mlx5_ib_eq_pf_action refills and goes on).
 */
static void eq_process(struct driver *drv)
{
	sim_time_t now = sim_now(drv->sim);
	sim_time_t t = drv->handler_free > now ? drv->handler_free : now;
	drv->pool_dry = false;
	while (!g_queue_is_empty(&drv->eq)) {
		struct fault *f = g_queue_peek_head(&drv->eq);
		if (f->eq_at > now)
			break;
		if (drv->cfg.pf_descriptors &&
		    drv->desc_used >= drv->cfg.pf_descriptors) {
			drv->pool_dry = true;
			(*drv->c_pool_dry)++;
			break;
		}
		g_queue_pop_head(&drv->eq);
		drv->desc_used++;
		drv->eq_used--;
		hist_add(drv->h_desc_wait_ns, (now - f->eq_at) / SIM_NS);
		t += drv->cfg.eqe_time;
		f->held_at = t; /* ready to run from then */
		pf_set(f, PFS_QUEUED);
		g_queue_push_tail(&drv->work, f);
	}
	drv->handler_free = t;
	eq_unhold(drv);
	fault_dispatch(drv, false);
}

static void irq_event(struct sim *sim, void *obj, uint64_t arg)
{
	(void)arg;
	struct driver *drv = obj;
	drv->irq_armed = false;
	drv->last_irq = sim_now(sim);
	eq_process(drv);
	irq_arm(drv); /* EQEs still landing */
}

static void work_begin(struct sim *sim, void *obj, uint64_t arg);
SIM_EVKIND(ev_work_begin, "driver.fault_work", work_begin);

/*
 * Start queued work on free threads: page faults on the page-fault
 * workqueue (fault_threads), advise_mr on system_unbound_wq (the host's
 * CPUs).  A thread that just finished an item takes the next at once
 * (@warm); an idle one is woken first (wq_latency).
 */
static void fault_dispatch(struct driver *drv, bool warm)
{
	sim_time_t now = sim_now(drv->sim);
	sim_time_t wake = warm ? 0 : drv->cfg.wq_latency;
	while (drv->busy < drv->threads && !g_queue_is_empty(&drv->work)) {
		struct fault *f = g_queue_pop_head(&drv->work);
		drv->busy++;
		sim_time_t at = (f->held_at > now ? f->held_at : now) + wake;
		sim_schedule(drv->sim, at, &ev_work_begin, drv->comp, f, 0);
	}
	while (drv->pbusy < drv->cpus && !g_queue_is_empty(&drv->pwork)) {
		struct fault *f = g_queue_pop_head(&drv->pwork);
		drv->pbusy++;
		sim_schedule_in(drv->sim, wake, &ev_work_begin, drv->comp, f,
				0);
	}
}

/* ---- the report: what the NIC writes into the EQ ---- */

static struct fault *fault_new(struct driver *drv, struct nic_mr *mr,
			       enum pf_subtype sub)
{
	struct fault *f = g_new0(struct fault, 1);
	f->drv = drv;
	f->mr = mr;
	nic_mr_hold(mr); /* a deregistration waits for the fault */
	f->sub = sub;
	f->detected = sim_now(drv->sim);
	g_hash_table_add(drv->live, f);
	return f;
}

/* MR page index of @va, clamped into the MR. */
static uint64_t mr_page(const struct nic_mr *mr, uint64_t va)
{
	uint64_t pg = va >> NIC_PAGE_SHIFT;
	if (pg < mr->first_page)
		return 0;
	pg -= mr->first_page;
	return pg < mr->npages ? pg : mr->npages - 1;
}

/* MR pages [*first, *first + *n) of [va, va + len), clipped to the MR
 * (the memory scheme's permissive fault); false when nothing is left. */
static bool mr_range(const struct nic_mr *mr, uint64_t va, uint64_t len,
		     uint64_t *first, uint64_t *n)
{
	uint64_t lo = va, hi = va + (len ? len : 1);
	if (hi < lo) /* wrapped */
		hi = UINT64_MAX;
	if (lo < mr->addr)
		lo = mr->addr;
	if (hi > mr->addr + mr->length)
		hi = mr->addr + mr->length;
	if (lo >= hi)
		return false;
	*first = (lo >> NIC_PAGE_SHIFT) - mr->first_page;
	*n = ((hi - 1) >> NIC_PAGE_SHIFT) - mr->first_page - *first + 1;
	return true;
}

static void fault_report(struct driver *drv, struct fault *f,
			 const struct pf_report *r)
{
	f->r = *r;
	f->detected = r->t;
	/* an on-demand MR maps for writing whenever it may be written */
	f->write = r->write || mr_writable(f->mr);
	f->trace_qp = r->qp ? r->qp->qpn : TRACE_NONE;
	f->trace_va = r->fault_va;
	(*(r->requester ? drv->c_local : drv->c_remote))++;
	sim_trace_as(drv->sim, drv->comp, &tk_fault, f->mr->as_name,
		     f->trace_qp, TRACE_NONE,
		  r->fault_va, TRACE_NONE, r->len, pf_subtype_names[f->sub]);
	if (drv->eq_used < drv->cfg.pf_eq_entries) {
		eq_write(drv, f, r->t);
		return;
	}
	/* hardware back-pressure: the EQ is full */
	(*drv->c_eq_full)++;
	f->held_at = sim_now(drv->sim);
	pf_set(f, PFS_HELD);
	g_queue_push_tail(&drv->held, f);
}

/*
 * An SVA MR's fault (odp_faults = pri): the NIC got a not-present ATS
 * answer and sends a page request group for the pages the access needs
 * (no EQE); the IOMMU queues it and interrupts; the host's iopf handler
 * (iommu_report_device_fault -> the iopf workqueue, here the fault
 * threads) faults the pages in through the VMM - handle_mm_fault: no
 * DMA mapping, no UMR, the IOMMU walks the process page table itself -
 * and answers with a PRG Response, after which the NIC retries through
 * ATS (fault_resume).
 */
static void pri_report(struct driver *drv, const struct pf_report *r)
{
	struct nic_mr *mr = r->mr;
	struct iommu *io = drv->nic->iommu;
	struct fault *f = fault_new(drv, mr, PF_PRI);
	f->r = *r;
	f->detected = r->t;
	f->write = r->write || mr_writable(mr);
	f->trace_qp = r->qp ? r->qp->qpn : TRACE_NONE;
	f->trace_va = r->fault_va;
	sim_trace_as(drv->sim, drv->comp, &tk_fault, mr->as_name, f->trace_qp,
		     TRACE_NONE, r->fault_va, TRACE_NONE, r->len,
		     pf_subtype_names[f->sub]);
	/* the group: from the faulting page to the end of what is left
	 * of the operation (an RDMA target with no length: the packet), as
	 * the MTT path's handlers map, up to the outstanding allocation */
	uint64_t end = r->len ? r->va + r->len : r->access_end;
	if (end <= r->fault_va)
		end = r->access_end > r->fault_va ? r->access_end
						  : r->fault_va + 1;
	if (!mr_range(mr, r->fault_va, end - r->fault_va, &f->d_first,
		      &f->d_npages)) {
		f->d_first = mr_page(mr, r->fault_va);
		f->d_npages = 1;
	}
	if (f->d_npages > iommu_pri_max(io))
		f->d_npages = iommu_pri_max(io);
	sim_time_t t = r->t > sim_now(drv->sim) ? r->t : sim_now(drv->sim);
	f->held_at = iommu_page_request(io, t, f->d_npages) +
		     iommu_iopf_time(io);
	drv->desc_used++; /* released by fault_finish, as a work item's */
	pf_set(f, PFS_QUEUED);
	g_queue_push_tail(&drv->work, f);
	fault_dispatch(drv, false);
}

void driver_page_fault(struct driver *drv, const struct pf_report *r)
{
	struct nic_mr *mr = r->mr;
	if (!vmm_page_committed(mr->as, r->fault_va))
		(*drv->c_overdraft)++; /* the application's fault */
	if (mr->sva) {
		pri_report(drv, r);
		return;
	}
	if (drv->cfg.fault_scheme == FAULT_SCHEME_WQE) {
		struct fault *f = fault_new(drv, mr, r->rdma ? PF_RDMA : PF_WQE);
		fault_report(drv, f, r);
		return;
	}
	/*
	 * The memory scheme: one MEMORY event per mkey the access needs
	 * pages of (an implicit MR's children are mkeys of their own), each
	 * with its demand pages at 4 KiB granularity and the NIC's prefetch
	 * hints before and after them; the last is flagged LAST.
	 */
	const struct nic_config *nc = &drv->nic->cfg;
	uint64_t lo = r->fault_va & ~(uint64_t)(MEM_PF_GRANULARITY - 1);
	uint64_t end = r->access_end > lo ? r->access_end : lo + 1;
	while (lo < end) {
		uint64_t hi = end;
		if (mr->ksm) {
			uint64_t slot_end = ((lo >> IMR_CHILD_SHIFT) + 1)
					    << IMR_CHILD_SHIFT;
			if (slot_end < hi)
				hi = slot_end;
		}
		struct fault *f = fault_new(drv, mr, PF_MEMORY);
		struct pf_report m = *r;
		m.fault_va = lo;
		m.va = lo;
		m.len = ((hi - lo + MEM_PF_GRANULARITY - 1) /
			 MEM_PF_GRANULARITY) * MEM_PF_GRANULARITY;
		f->last = hi == end;
		uint64_t before = nc->pf_prefetch_before * MEM_PF_GRANULARITY;
		uint64_t wlo = lo > before ? lo - before : 0;
		uint64_t wlen = lo - wlo + m.len +
				nc->pf_prefetch_after * MEM_PF_GRANULARITY;
		if (!mr_range(mr, m.va, m.len, &f->d_first, &f->d_npages) ||
		    !mr_range(mr, wlo, wlen, &f->w_first, &f->w_npages)) {
			f->d_first = mr_page(mr, lo);
			f->d_npages = 1;
			f->w_first = f->d_first;
			f->w_npages = 1;
		}
		fault_report(drv, f, &m);
		lo = hi;
	}
}

/* ---- mapping a range: pagefault_mr ---- */

static void range_done(struct fault *f);
static void seg_start(struct fault *f);
static void seg_walk(struct fault *f);

static void seg_begin_ev(struct sim *sim, void *obj, uint64_t arg)
{
	(void)sim;
	(void)arg;
	seg_start(obj);
}
SIM_EVKIND(ev_seg_begin, "driver.fault_segment", seg_begin_ev);

/* The end of the segment that starts at MR page @seg: the range's end or
 * (implicit ODP) the end of @seg's child. */
static uint64_t seg_end_of(const struct fault *f, uint64_t seg)
{
	uint64_t end = f->first + f->npages;
	if (f->mr->ksm) {
		uint64_t slot_end = ((seg >> IMR_CHILD_PAGE_BITS) + 1)
				    << IMR_CHILD_PAGE_BITS;
		if (slot_end < end)
			end = slot_end;
	}
	return end;
}

/* The notifier the segment's fill is checked against. */
static struct vmm_sub *fault_sub(const struct fault *f)
{
	return f->child ? f->child->sub : f->mr->sub;
}

/* The umem_mutex of the segment's umem (the MR, or its child). */
static sim_time_t *fault_mutex(struct fault *f)
{
	return f->child ? &f->child->mutex_until : &f->mr->mutex_until;
}

/* Map MR pages [first, first + n) of @f's MR (pagefault_mr). */
static void range_map(struct fault *f, uint64_t first, uint64_t n)
{
	f->first = first;
	f->npages = n;
	f->seg = first;
	f->seg_end = seg_end_of(f, first);
	f->np = 0;
	f->status = 0;
	f->busy = false;
	if (n > f->cap_pfns) {
		g_free(f->pfns);
		f->pfns = g_new(uint64_t, n);
		f->cap_pfns = n;
	}
	f->map_start = sim_now(f->drv->sim);
	seg_start(f);
}

/*
 * Start (or restart) the current segment: implicit ODP, its child first
 * (created if its slot has none); then mmu_interval_read_begin(), which
 * sleeps while an invalidation of the range is in progress (the count is
 * odd): the thread parks until the invalidation's end wakes it.
 */
static void seg_start(struct fault *f)
{
	struct driver *drv = f->drv;
	if (f->mr->ksm && !f->child) {
		struct imr_child *c = nic_imr_child(f->mr, f->seg);
		if (!c) {
			sim_time_t at = imr_child_create(
				drv, f->mr, f->seg >> IMR_CHILD_PAGE_BITS, &c);
			f->child = c;
			c->users++;
			sim_schedule(drv->sim, at, &ev_seg_begin, drv->comp, f,
				     0);
			return;
		}
		f->child = c;
		c->users++;
	}
	uint64_t seq = vmm_notifier_read_begin(fault_sub(f));
	if (seq & 1) {
		pf_set(f, PFS_PARKED);
		g_queue_push_tail(&drv->parked, f);
		return;
	}
	f->seq = seq;
	f->next = f->seg;
	pf_set(f, PFS_MAPPING);
	seg_walk(f);
}

static void seg_walked(struct fault *f);

static void page_done(void *ctx, int status, uint64_t pfn)
{
	struct fault *f = ctx;
	if (!vmm_fault_ok(status)) {
		f->status = status;
		seg_walked(f); /* hmm_range_fault fails */
		return;
	}
	f->pfns[f->next - f->first] = pfn;
	f->next++;
	seg_walk(f);
}

/* hmm_range_fault(): the segment's pages, one after the other. */
static void seg_walk(struct fault *f)
{
	struct nic_mr *mr = f->mr;
	while (f->next < f->seg_end) {
		uint64_t va = (mr->first_page + f->next) << NIC_PAGE_SHIFT;
		if (f->no_fault) {
			uint64_t pfn;
			f->pfns[f->next - f->first] =
				vmm_lookup(mr->as, va, false, &pfn) ?
					pfn :
					VMM_NO_PFN;
			f->next++;
			continue;
		}
		vmm_fault_in(mr->as, va, f->write, page_done, f);
		return;
	}
	seg_walked(f);
}

static void seg_mapped(struct sim *sim, void *obj, uint64_t arg);
SIM_EVKIND(ev_seg_mapped, "driver.fault_dma_map", seg_mapped);

/* The walk ended: the pages are mapped for DMA, then checked. */
static void seg_walked(struct fault *f)
{
	struct driver *drv = f->drv;
	if (f->status) { /* a page could not be faulted in: -EFAULT */
		range_done(f);
		return;
	}
	pf_set(f, PFS_DMA_MAP);
	uint64_t n = f->seg_end - f->seg;
	if (f->no_fault) /* only the pages present are mapped */
		for (uint64_t pg = f->seg; pg < f->seg_end; pg++)
			n -= f->pfns[pg - f->first] == VMM_NO_PFN;
	/* with an IOMMU each page is its own dma_map_page: an IOVA and a
	 * PTE (ib_umem_odp_map_dma_single_page) */
	sim_time_t d = f->mr->sva ? 0 : n * drv->cfg.dma_map_time;
	if (drv->nic->iommu && !f->mr->sva)
		d += iommu_map(drv->nic->iommu, n, n);
	sim_schedule_in(drv->sim, d, &ev_seg_mapped, drv->comp, f, 0);
}

static void seg_umr_done(struct sim *sim, void *obj, uint64_t arg);
SIM_EVKIND(ev_seg_umr, "driver.fault_umr", seg_umr_done);

/*
 * umem_mutex taken: mmu_interval_read_retry().  An invalidation that ran
 * since read_begin makes the frames suspect: start over, or give up with
 * -EBUSY past hmm_timeout.  Otherwise the UMR writes the entries, with
 * the mutex held until it completes.
 */
static void seg_mapped(struct sim *sim, void *obj, uint64_t arg)
{
	(void)arg;
	struct fault *f = obj;
	struct driver *drv = f->drv;
	sim_time_t now = sim_now(sim);
	if (f->child && f->child->dead) {
		/* the child was emptied and destroyed meanwhile: map the
		 * segment into the slot's new child */
		child_release(f);
		seg_start(f);
		return;
	}
	if (vmm_notifier_read_retry(fault_sub(f), f->seq) ||
	    *fault_mutex(f) > now) {
		(*drv->c_retries)++;
		if (now - f->map_start > drv->cfg.hmm_timeout) {
			(*drv->c_busy)++;
			f->busy = true;
			range_done(f);
			return;
		}
		seg_start(f);
		return;
	}
	uint64_t n = f->seg_end - f->seg;
	pf_set(f, PFS_UMR);
	/* an SVA MR's entries stand for the process page table the IOMMU
	 * walks: the fault itself made them present, no UMR */
	sim_time_t at = f->mr->sva ? now :
		driver_umr_at(drv, now, umr_mtt_bytes(f->seg, n));
	*fault_mutex(f) = at;
	sim_schedule(sim, at, &ev_seg_umr, drv->comp, f, 0);
}

/* The UMR is done: the NIC sees the entries; the mutex is free. */
static void seg_umr_done(struct sim *sim, void *obj, uint64_t arg)
{
	(void)sim;
	(void)arg;
	struct fault *f = obj;
	struct nic_mr *mr = f->mr;
	uint64_t flags = MTT_VALID |
			 (mr_writable(mr) && f->write ? MTT_WRITE : 0);
	uint64_t mapped = 0, fresh = 0;
	for (uint64_t pg = f->seg; pg < f->seg_end; pg++) {
		uint64_t pfn = f->pfns[pg - f->first];
		if (pfn == VMM_NO_PFN)
			continue;
		fresh += !(mtt_get(&mr->mtt, pg) & MTT_VALID);
		mtt_set(&mr->mtt, pg, MTT_ENTRY(pfn, flags));
		mapped++;
	}
	nic_mr_flush(mr, f->seg, f->seg_end - 1);
	if (f->child) {
		/* implicit ODP: what the MR maps is what is registered */
		f->child->mapped += fresh;
		*mr->nic->c_reg_pages += fresh;
	} else {
		mr->mapped += fresh;
	}
	f->np += mapped;
	f->mapped += mapped;
	if (f->seg_end < f->first + f->npages) {
		/* the next child's share of the range */
		child_release(f);
		f->seg = f->seg_end;
		f->seg_end = seg_end_of(f, f->seg);
		f->map_start = sim_now(f->drv->sim);
		seg_start(f);
		return;
	}
	child_release(f);
	range_done(f);
}

/* ---- the handlers ---- */

static void fault_resume(struct fault *f, bool error);
static void fault_finish(struct fault *f);

/* Extend a demand range to the study knob fault_around (0: as mlx5). */
static void around(const struct fault *f, uint64_t *first, uint64_t *n)
{
	uint64_t a = f->drv->cfg.fault_around;
	if (a <= *n)
		return;
	uint64_t pg = mr_page(f->mr, f->r.fault_va);
	if (pg < *first || pg >= *first + *n)
		pg = *first;
	*first = pg;
	*n = pg + a > f->mr->npages ? f->mr->npages - pg : a;
}

/* pagefault_single_data_segment() counts a mapped range: pages, and one
 * operation. */
static void count_fault(struct fault *f)
{
	struct driver *drv = f->drv;
	*drv->c_faults += f->np;
	(*drv->c_handled)++;
	hist_add(drv->h_range_pages, f->np);
	*f->mr->c_faults += f->np;
	(*f->mr->c_handled)++;
}

/*
 * A range was mapped (or failed).  The handler goes on as its subtype
 * says: resume, prefetch, fall back, or end.
 */
static void range_done(struct fault *f)
{
	bool ok = !f->status && !f->busy;
	switch (f->sub) {
	case PF_PREFETCH:
		if (ok && !f->snapshot) {
			*f->drv->c_prefetch += f->np;
			*f->mr->c_prefetch += f->np;
		}
		f->failed = !ok;
		fault_finish(f);
		return;
	case PF_RDMA:
		if (f->phase == PH_PREFETCH) {
			/* after the resume: a failed prefetch is only
			 * logged (mlx5_ib_dbg) */
			if (ok)
				count_fault(f);
			fault_finish(f);
			return;
		}
		if (ok)
			count_fault(f);
		fault_resume(f, !ok);
		return;
	case PF_WQE:
	case PF_PRI:
		if (ok)
			count_fault(f);
		/* mapped short: resume with error (PRI: a PRG Response of
		 * Invalid Request) */
		fault_resume(f, !ok);
		return;
	case PF_MEMORY:
		if (!ok && f->phase == PH_MAIN) {
			/* the prefetch window failed: the demand pages */
			f->phase = PH_FALLBACK;
			range_map(f, f->d_first, f->d_npages);
			return;
		}
		if (ok)
			count_fault(f);
		if (!ok || f->last)
			fault_resume(f, !ok);
		else
			fault_finish(f); /* no resume before the LAST event */
		return;
	}
}

static void setup_done(struct sim *sim, void *obj, uint64_t arg);
SIM_EVKIND(ev_setup_done, "driver.fault_setup", setup_done);

/* A work item starts (mlx5_ib_eqe_pf_action, mlx5_ib_prefetch_mr_work):
 * the WQE is read, the mkey looked up. */
static void work_begin(struct sim *sim, void *obj, uint64_t arg)
{
	(void)arg;
	struct fault *f = obj;
	struct driver *drv = f->drv;
	pf_set(f, PFS_SETUP);
	/* PRI: the iopf handler's time was paid before it was queued */
	sim_time_t cost = f->sub == PF_PRI ? 0 : drv->cfg.mr_lookup_time;
	if (f->sub == PF_WQE)
		cost += drv->cfg.wqe_read_time;
	sim_schedule_in(sim, cost, &ev_setup_done, drv->comp, f, 0);
}

static void setup_done(struct sim *sim, void *obj, uint64_t arg)
{
	(void)sim;
	(void)arg;
	struct fault *f = obj;
	struct nic_mr *mr = f->mr;
	const struct pf_report *r = &f->r;
	uint64_t first, n;
	switch (f->sub) {
	case PF_PREFETCH:
		range_map(f, f->p_first, f->p_npages);
		return;
	case PF_PRI:
		f->phase = PH_MAIN;
		range_map(f, f->d_first, f->d_npages);
		return;
	case PF_MEMORY:
		f->phase = PH_MAIN;
		first = f->w_first;
		n = f->w_npages;
		around(f, &first, &n);
		range_map(f, first, n);
		return;
	case PF_RDMA: {
		/* mlx5_ib_mr_rdma_pfault_handler(): the operation from what
		 * is committed on; no length reported: the packet now, a
		 * prefetch of up to MAX_PREFETCH_LEN after the resume */
		uint64_t len = r->len;
		f->p_npages = 0;
		if (len == 0) {
			len = r->packet;
			uint64_t pl = r->committed < MAX_PREFETCH_LEN ?
					      r->committed :
					      MAX_PREFETCH_LEN;
			if (pl && !mr_range(mr, r->va, pl, &f->p_first,
					    &f->p_npages))
				f->p_npages = 0;
		}
		if (!mr_range(mr, r->va, len, &first, &n)) {
			f->status = VMM_FAULT_SEGV;
			range_done(f);
			return;
		}
		around(f, &first, &n);
		f->phase = PH_MAIN;
		range_map(f, first, n);
		return;
	}
	case PF_WQE:
		/* pagefault_data_segments(): the WQE's data segment from
		 * bytes_committed on */
		if (!mr_range(mr, r->va, r->len, &first, &n)) {
			f->status = VMM_FAULT_SEGV;
			range_done(f);
			return;
		}
		around(f, &first, &n);
		f->phase = PH_MAIN;
		range_map(f, first, n);
		return;
	}
}

static void resume_done(struct sim *sim, void *obj, uint64_t arg);
SIM_EVKIND(ev_resume_done, "driver.page_fault_resume", resume_done);

/* mlx5_ib_page_fault_resume(): the PAGE_FAULT_RESUME command. */
static void fault_resume(struct fault *f, bool error)
{
	f->failed = error;
	pf_set(f, PFS_RESUME);
	if (f->sub == PF_PRI) {
		/* iommu_page_response(): the PRG Response message; the NIC
		 * retries the access through ATS when it arrives */
		sim_schedule(f->drv->sim,
			     iommu_prg_response(f->drv->nic->iommu,
						sim_now(f->drv->sim)),
			     &ev_resume_done, f->drv->comp, f, 0);
		return;
	}
	sim_schedule_in(f->drv->sim, f->drv->cfg.resume_time, &ev_resume_done,
			f->drv->comp, f, 0);
}

static void resume_done(struct sim *sim, void *obj, uint64_t arg)
{
	(void)arg;
	struct fault *f = obj;
	struct driver *drv = f->drv;
	if (f->failed)
		(*drv->c_fail)++;
	hist_add(drv->h_fault_ns, (sim_now(sim) - f->detected) / SIM_NS);
	sim_trace_as(sim, drv->comp, &tk_fault_done, f->mr->as_name,
		     f->trace_qp, TRACE_NONE,
		  f->trace_va, TRACE_NONE, f->mapped,
		  f->failed ? (f->busy ? "busy" : "error") : "resumed");
	nic_pf_resume(&f->r, f->failed);
	if (f->sub == PF_RDMA && !f->failed && f->p_npages) {
		/* the QP goes on; the thread prefetches what follows */
		f->phase = PH_PREFETCH;
		range_map(f, f->p_first, f->p_npages);
		return;
	}
	fault_finish(f);
}

/* The work item ends: its descriptor goes back to the pool, its thread
 * takes the next item. */
static void fault_finish(struct fault *f)
{
	struct driver *drv = f->drv;
	if (f->sub == PF_PREFETCH) {
		if (f->done)
			f->done(f->done_ctx, f->mr, f->failed ? -EFAULT : 0,
				f->mapped);
		if (!f->snapshot)
			drv->pbusy--;
	} else {
		drv->busy--;
		g_assert(drv->desc_used > 0);
		drv->desc_used--;
	}
	fault_free(f);
	if (drv->pool_dry)
		eq_process(drv); /* EQEs waited for a descriptor */
	fault_dispatch(drv, true);
}

/* ---- ibv_advise_mr ---- */

void nic_advise_mr(struct nic_mr *mr, enum nic_advice advice, uint64_t va,
		   uint64_t len, nic_advise_done_fn done, void *ctx)
{
	struct driver *drv = mr->nic->drv;
	g_assert(mr->policy->on_demand && nic_mr_contains(mr, va, len) &&
		 !mr->dying);
	struct fault *f = fault_new(drv, mr, PF_PREFETCH);
	mr_range(mr, va, len, &f->p_first, &f->p_npages);
	/* PREFETCH maps read-only (MLX5_PF_FLAGS_DOWNGRADE), NO_FAULT maps
	 * present pages only (MLX5_PF_FLAGS_SNAPSHOT) */
	f->write = advice == NIC_ADVISE_PREFETCH_WRITE ||
		   (advice != NIC_ADVISE_PREFETCH && mr_writable(mr));
	f->no_fault = advice == NIC_ADVISE_PREFETCH_NO_FAULT;
	f->done = done;
	f->done_ctx = ctx;
	f->trace_qp = TRACE_NONE;
	f->trace_va = va;
	/* ibv_advise_mr queues work on system_unbound_wq */
	pf_set(f, PFS_QUEUED);
	g_queue_push_tail(&drv->pwork, f);
	fault_dispatch(drv, false);
}

static void snapshot_go(struct sim *sim, void *obj, uint64_t arg)
{
	(void)sim;
	(void)arg;
	struct fault *f = obj;
	range_map(f, f->p_first, f->p_npages);
}
SIM_EVKIND(ev_snapshot, "driver.odp_snapshot", snapshot_go);

void odp_snapshot(struct nic_mr *mr, sim_time_t at, nic_advise_done_fn done,
		  void *ctx)
{
	struct driver *drv = mr->nic->drv;
	struct fault *f = fault_new(drv, mr, PF_PREFETCH);
	f->p_first = 0;
	f->p_npages = mr->npages;
	f->write = mr_writable(mr);
	f->no_fault = true;
	f->snapshot = true;
	f->done = done;
	f->done_ctx = ctx;
	f->trace_qp = TRACE_NONE;
	f->trace_va = mr->addr;
	pf_set(f, PFS_SETUP);
	sim_schedule(drv->sim, at, &ev_snapshot, drv->comp, f, 0);
}

/* ---- invalidations from the VMM ---- */

struct inval_ack {
	struct nic_mr *mr;
	struct imr_child *child; /* implicit ODP: the child notified */
	struct vmm_sub *sub;     /* the subscription to acknowledge */
	uint64_t start, end;
	uint64_t lo, hi;         /* MR pages the UMRs clear, when they land */
	enum vmm_reason reason;
	uint64_t token;
	sim_time_t begun;
	unsigned events;         /* the ack and the landing still to come */
};

static void inval_ack_put(struct driver *drv, struct inval_ack *a)
{
	if (--a->events == 0)
		g_queue_push_tail(&drv->ack_spare, a);
}

static void inval_ack_event(struct sim *sim, void *obj, uint64_t arg);
SIM_EVKIND(ev_inval_ack, "driver.invalidate_ack", inval_ack_event);

static void inval_ack_event(struct sim *sim, void *obj, uint64_t arg)
{
	(void)arg;
	struct inval_ack *a = obj;
	struct nic_mr *mr = a->mr;
	struct driver *drv = mr->nic->drv;
	if (mr->dma_busy > sim_now(sim) && !mr->policy->no_drain) {
		/* DMA issued through the old entries while the UMRs ran:
		 * that is in flight too */
		sim_schedule(sim, mr->dma_busy, &ev_inval_ack, drv->comp, a,
			     0);
		return;
	}
	hist_add(drv->h_inval_ns, (sim_now(sim) - a->begun) / SIM_NS);
	vmm_notifier_ack(a->sub, a->token);
	inval_ack_put(drv, a);
}

/* The zap's UMRs have executed: from now the NIC's translation of the
 * range is gone (the MTT entries rewritten, its cache invalidated). */
static void zap_land_event(struct sim *sim, void *obj, uint64_t arg)
{
	(void)sim;
	(void)arg;
	struct inval_ack *a = obj;
	struct nic_mr *mr = a->mr;
	uint64_t *e;
	for (uint64_t idx = mtt_next(&mr->mtt, a->lo, &e); idx <= a->hi;
	     idx = mtt_next(&mr->mtt, idx + 1, &e))
		*e &= ~(uint64_t)(MTT_VALID | MTT_WRITE | MTT_SUSP);
	nic_mr_flush(mr, a->lo, a->hi);
	nic_mr_release(mr);
	inval_ack_put(mr->nic->drv, a);
}
SIM_EVKIND(ev_zap_land, "driver.invalidate_umr_done", zap_land_event);

/* Wake the fault threads that slept until the notifications in progress
 * on @mr were over (invalidate_end and resume both end one). */
static void driver_wake_parked(struct nic_mr *mr)
{
	struct driver *drv = mr->nic->drv;
	for (GList *l = drv->parked.head; l;) {
		GList *next = l->next;
		struct fault *f = l->data;
		if (f->mr == mr) {
			g_queue_delete_link(&drv->parked, l);
			sim_schedule_in(drv->sim, 0, &ev_seg_begin, drv->comp,
					f, 0);
		}
		l = next;
	}
}

void odp_notif_end(struct nic_mr *mr)
{
	g_assert(mr->notif_active > 0);
	mr->notif_active--;
	driver_wake_parked(mr);
	if (!mr->notif_active && mr->resize_pending)
		driver_mr_resize_go(mr);
	nic_mr_dereg_check(mr);
}

/*
 * mlx5_ib_invalidate_range()'s zap loop over MR pages [lo, hi]: runs of
 * mapped entries, a run going on across unmapped ones until one of them
 * starts a block of 8 (MLX5_UMR_MTT_NUM_ENTRIES_ALIGNMENT), each run one
 * UMR; the entries are cleared when the UMRs have executed
 * (zap_land_event).  Returns when the last UMR is done, posted from @t;
 * *pages gets what mlx5 adds to page_invalidations (it counts the page
 * that ended a run too), *zapped the entries that were mapped.
 */
static sim_time_t zap_runs(struct driver *drv, struct nic_mr *mr,
			   uint64_t lo, uint64_t hi, sim_time_t t,
			   uint64_t *pages, uint64_t *zapped)
{
	uint64_t blk = 0, last = 0, *e;
	bool in_block = false;
	*pages = *zapped = 0;
	/* the mapped entries in order; every page between two of them is
	 * unmapped, so a run goes on to the next mapped one unless the
	 * first block start after its last mapped page comes before */
	for (uint64_t idx = mtt_next(&mr->mtt, lo, &e); idx <= hi;
	     idx = mtt_next(&mr->mtt, idx + 1, &e)) {
		if (!(*e & MTT_VALID))
			continue;
		if (in_block) {
			uint64_t u = (last | (UMR_MTT_ALIGN - 1)) + 1;
			if (u < idx) {
				t = driver_umr_at(drv, t,
						  umr_mtt_bytes(blk, u - blk));
				*pages += u - blk + 1;
				in_block = false;
			}
		}
		if (!in_block) {
			blk = idx;
			in_block = true;
		}
		(*zapped)++;
		last = idx;
	}
	if (in_block) {
		uint64_t u = (last | (UMR_MTT_ALIGN - 1)) + 1;
		if (u <= hi) {
			/* an unmapped page starting a block ends it */
			t = driver_umr_at(drv, t, umr_mtt_bytes(blk, u - blk));
			*pages += u - blk + 1;
		} else {
			/* the range's last page ends the run */
			t = driver_umr_at(drv, t,
					  umr_mtt_bytes(blk, hi - blk + 1));
			*pages += hi - blk + 1;
		}
	}
	return t;
}

static void zap_event(struct sim *sim, void *obj, uint64_t arg);
SIM_EVKIND(ev_inval_zap, "driver.invalidate_zap", zap_event);

/* The zap of @a, once the umem_mutex is free. */
static void zap_go(struct inval_ack *a)
{
	struct nic_mr *mr = a->mr;
	struct driver *drv = mr->nic->drv;
	struct imr_child *child = a->child;
	sim_time_t now = sim_now(drv->sim);
	uint64_t mapped = child ? child->mapped : mr->mapped;
	uint64_t lo = a->start >> NIC_PAGE_SHIFT, hi = (a->end - 1) >> NIC_PAGE_SHIFT;
	if (lo < mr->first_page)
		lo = mr->first_page;
	if (hi > mr->first_page + mr->npages - 1)
		hi = mr->first_page + mr->npages - 1;
	sim_time_t t = now + drv->cfg.invalidate_time;
	uint64_t pages = 0, zapped = 0;
	if (mapped && lo <= hi) {
		/* "if (!umem_odp->npages) goto out": nothing mapped,
		 * nothing zapped, nothing counted */
		lo -= mr->first_page;
		hi -= mr->first_page;
		if (mr->sva) {
			/* the IOMMU's SVA notifier: the process PTEs are
			 * going; the IOTLB and the NIC's ATC are invalidated
			 * (ATS Invalidate) and waited for - no UMR */
			uint64_t *e;
			for (uint64_t idx = mtt_next(&mr->mtt, lo, &e);
			     idx <= hi; idx = mtt_next(&mr->mtt, idx + 1, &e))
				zapped += (*e & MTT_VALID) != 0;
			pages = zapped;
			t = iommu_sva_invalidate(
				mr->nic->iommu, t, mr->index,
				(mr->first_page + lo) << NIC_PAGE_SHIFT,
				(hi - lo + 1) << NIC_PAGE_SHIFT);
		} else {
			t = zap_runs(drv, mr, lo, hi, t, &pages, &zapped);
		}
		/* the NIC keeps the old translation until the UMRs land */
		a->lo = lo;
		a->hi = hi;
		a->events++;
		nic_mr_hold(mr);
		sim_schedule(drv->sim, t, &ev_zap_land, drv->comp, a, 0);
		/* ib_umem_odp_unmap_dma_pages(): dma_unmap_page per page,
		 * each an IOMMU unmap (strict: its own invalidation) */
		if (!mr->sva)
			t += zapped * drv->cfg.dma_unmap_time;
		if (drv->nic->iommu && zapped && !mr->sva)
			t = iommu_unmap(drv->nic->iommu, t, mr->index,
					(mr->first_page + lo) << NIC_PAGE_SHIFT,
					(hi - lo + 1) << NIC_PAGE_SHIFT, 0,
					zapped);
		*drv->c_inval += pages;
		(*drv->c_inval_handled)++;
		*mr->c_inval += pages;
		(*mr->c_inval_handled)++;
		if (child) {
			child->mapped -= zapped;
			*mr->nic->c_reg_pages -= zapped;
		} else {
			mr->mapped -= zapped;
		}
	}
	sim_trace_as(drv->sim, drv->comp, &tk_inval, mr->as_name, TRACE_NONE,
		     TRACE_NONE,
		  a->start, TRACE_NONE, zapped, vmm_reason_names[a->reason]);
	/* DMA the NIC issued before the UMRs landed may still be in
	 * flight (rechecked when the ack fires) */
	sim_time_t at = t;
	if (mr->dma_busy > at)
		at = mr->dma_busy;
	if (mr->policy->no_drain) /* odp-unsafe: the bug, on purpose */
		at = now;
	a->events++;
	sim_schedule(drv->sim, at, &ev_inval_ack, drv->comp, a, 0);
}

static void zap_event(struct sim *sim, void *obj, uint64_t arg)
{
	(void)sim;
	(void)arg;
	zap_go(obj);
}

/* Invalidate [start, end) of @mr, notified through @sub (the MR's, or an
 * implicit child's: @child). */
static void odp_zap(struct nic_mr *mr, struct imr_child *child,
		    struct vmm_sub *sub, uint64_t start, uint64_t end,
		    enum vmm_reason reason, uint64_t token)
{
	struct driver *drv = mr->nic->drv;
	mr->notif_active++;
	/* from the driver's pool: an ack still pending when the run ends
	 * is freed with the driver */
	struct inval_ack *a = g_queue_pop_head(&drv->ack_spare);
	if (!a) {
		a = g_new0(struct inval_ack, 1);
		g_ptr_array_add(drv->ack_all, a);
	}
	a->mr = mr;
	a->child = child;
	a->sub = sub;
	a->start = start;
	a->end = end;
	a->reason = reason;
	a->token = token;
	a->begun = sim_now(drv->sim);
	a->events = 0;
	/* umem_mutex: a fault's UMR in flight finishes first */
	sim_time_t busy = child ? child->mutex_until : mr->mutex_until;
	if (busy > a->begun)
		sim_schedule(drv->sim, busy, &ev_inval_zap, drv->comp, a, 0);
	else
		zap_go(a);
}

void odp_invalidate_start(struct vmm_sub *sub, uint64_t start, uint64_t end,
			  enum vmm_reason reason, uint64_t token, void *ctx)
{
	odp_zap(ctx, NULL, sub, start, end, reason, token);
}

void odp_invalidate_end(struct vmm_sub *sub, uint64_t start, uint64_t end,
			void *ctx)
{
	(void)sub;
	(void)start;
	(void)end;
	/* the next access faults the pages back */
	odp_notif_end(ctx);
}

const struct vmm_notifier_ops odp_notifier = {
	.invalidate_start = odp_invalidate_start,
	.invalidate_end = odp_invalidate_end,
};

static void imr_invalidate_start(struct vmm_sub *sub, uint64_t start,
				 uint64_t end, enum vmm_reason reason,
				 uint64_t token, void *ctx)
{
	struct imr_child *c = ctx;
	c->notif_active++;
	odp_zap(c->parent, c, sub, start, end, reason, token);
}

/* mlx5_ib_invalidate_range(): a child the invalidation left with no
 * page mapped is destroyed (destroy_unused_implicit_child_mr) */
static void imr_invalidate_end(struct vmm_sub *sub, uint64_t start,
			       uint64_t end, void *ctx)
{
	(void)sub;
	(void)start;
	(void)end;
	struct imr_child *c = ctx;
	struct nic_mr *mr = c->parent;
	g_assert(c->notif_active > 0);
	if (--c->notif_active == 0 && c->mapped == 0 && !c->dead)
		imr_child_destroy(mr->nic->drv, c);
	odp_notif_end(mr);
}
