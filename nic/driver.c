/*
 * nic/driver.c - the driver: MR registration through the registration
 * policies, and on-demand paging: the NIC's page faults, their resolution
 * through the VMM, invalidations from the VMM's notifier, prefetch.
 *
 * Fault path (Linux mlx5 ODP shape, costs in simulated time):
 *   NIC detects an invalid MTT entry -> writes an event to the EQ in host
 *   memory (PCIe write) -> interrupt (irq_latency after the EQE lands, at
 *   most one per irq_moderation) -> the handler queues the fault for one of
 *   fault_threads kernel threads -> fault_service of CPU -> the VMM faults
 *   in the fault_around window (minor/major costs are the VMM's) -> the
 *   driver writes the MTT entries (mtt_update_time per page) -> a command
 *   resumes the QP (resume_time) when the requester had stalled.  The
 *   responder side has nothing to resume: the peer retries after its RNR
 *   timer.  Faults on a page already being resolved join that resolution.
 *
 * The race with invalidations follows mmu_interval_read_begin/retry: the
 * thread samples the subscription's sequence count before faulting and,
 * when the pages are in, writes the MTT only if no invalidation ran in
 * between; otherwise it starts over (nic.fault_retries).  Checking and
 * writing happen in one event, so nothing can slip between them.
 *
 * Invalidation: invalidate_start zaps the MTT entries of the range, drops
 * them from the NIC's MTT cache and acknowledges when every DMA the NIC
 * already issued to the MR has landed (the per-MR in-flight horizon) and
 * the driver's invalidate_time has passed.
 *
 * Representation: faults are small heap records (one per fault event,
 * never per packet), queued in GQueues; in-progress pages in a hash set
 * for de-duplication.
 */
#include "nic/driver.h"

#include <errno.h>
#include <stddef.h>

#include "nic/host.h"
#include "nic/nic_int.h"
#include "nic/pcie.h"
#include "vmm/vmm.h"

const char *const reg_policy_names[] = { "pin", "odp", "odp-prefetch",
					 "suspend", "odp-unsafe", NULL };

static const struct param driver_tab[] = {
	{ "fault_threads", PT_COUNT, "2",
	  offsetof(struct driver_config, fault_threads),
	  "kernel threads resolving NIC page faults",
	  "estimate: mlx5 resolves faults from a workqueue", NULL, 1, 1024 },
	{ "irq_latency", PT_TIME, "3us",
	  offsetof(struct driver_config, irq_latency),
	  "from the fault event landing in the EQ to its handler running",
	  "estimate: MSI-X delivery and a thread wake-up are a few us", NULL,
	  0, 1e12 },
	{ "irq_moderation", PT_TIME, "8us",
	  offsetof(struct driver_config, irq_moderation),
	  "minimum time between two EQ interrupts (events wait for the next)",
	  "estimate: typical EQ interrupt moderation period", NULL, 0, 1e12 },
	{ "fault_service", PT_TIME, "10us",
	  offsetof(struct driver_config, fault_service),
	  "CPU per fault before the VMM is asked: EQE parsing, MR lookup, "
	  "range set-up",
	  "estimate; Lesokhin et al. (ASPLOS'17) measure end-to-end NIC page "
	  "faults in the tens to hundreds of us", NULL, 0, 1e12 },
	{ "fault_around", PT_COUNT, "16",
	  offsetof(struct driver_config, fault_around),
	  "pages resolved per fault (the faulting page and those after it "
	  "in the MR)", "estimate: 64 KiB, a typical message", NULL, 1,
	  1 << 20 },
	{ "mtt_update_time", PT_TIME, "100ns",
	  offsetof(struct driver_config, mtt_update_time),
	  "per page: write the MTT entry (UMR)", "estimate", NULL, 0, 1e12 },
	{ "resume_time", PT_TIME, "1us",
	  offsetof(struct driver_config, resume_time),
	  "command resuming a QP stalled on a requester fault",
	  "estimate: a firmware command", NULL, 0, 1e12 },
	{ "invalidate_time", PT_TIME, "2us",
	  offsetof(struct driver_config, invalidate_time),
	  "CPU per invalidation: zap the MTT entries and sync the NIC",
	  "estimate", NULL, 0, 1e12 },
	{ "reg_base_time", PT_TIME, "5us",
	  offsetof(struct driver_config, reg_base_time),
	  "fixed cost of any registration (system call, MPT entry)",
	  "estimate: ibv_reg_mr of one page costs a few us", NULL, 0, 1e12 },
	{ "umr_time", PT_TIME, "5us", offsetof(struct driver_config, umr_time),
	  "one UMR work request that rewrites an mkey's translation table, "
	  "besides the NIC's DMA read of its table (priced by [pcie]): "
	  "post, WQE fetch, completion, waking the waiting thread",
	  "estimate: mlx5r_umr_post_send_wait() (umr.c) posts on the "
	  "driver's UMR QP and sleeps until the CQE", NULL, 0, 1e12 },
	{ "implicit_va_bits", PT_COUNT, "47",
	  offsetof(struct driver_config, implicit_va_bits),
	  "user virtual address bits an implicit ODP MR covers: 2^(bits-30) "
	  "KSM entries of 1 GiB",
	  "mlx5_ib_odp_init(): mlx5_imr_ksm_entries = 2^(get_order(TASK_SIZE)"
	  " - MLX5_IMR_MTT_BITS); TASK_SIZE is 2^47 - 4 KiB on x86-64 "
	  "(131072 entries, 128 TiB)", NULL, 31, 48 },
};
PARAM_TABLE(driver_params, "driver",
	    "the kernel driver: registration and page-fault handling",
	    driver_tab);

enum fault_kind { FAULT_RESPONDER, FAULT_REQUESTER, FAULT_PREFETCH };

struct fault {
	struct driver *drv;
	struct nic_mr *mr;
	enum fault_kind kind;
	GPtrArray *qps;         /* requester QPs to resume */
	bool write;
	bool no_fault;          /* prefetch of present pages only */
	uint64_t first, npages; /* MR page indices */
	uint64_t seg, seg_end;  /* the part being faulted: the window, or
				 * (implicit ODP) one child's share of it */
	struct imr_child *child; /* implicit ODP: the segment's child, held */
	uint64_t next;
	uint64_t seq;
	sim_time_t cost;        /* MTT writes of the segments done so far */
	uint64_t *pfns;
	sim_time_t detected, eq_at;
	int status;
	uint64_t mapped;
	uint64_t trace_qp, trace_va; /* the BEGIN's keys, for its END */
	nic_advise_done_fn done;
	void *done_ctx;
};

struct driver {
	struct sim *sim;
	struct host *host;
	struct nic *nic;
	struct driver_config cfg;
	uint16_t comp;
	GQueue pending;   /* EQ events waiting for an interrupt */
	GQueue work;      /* waiting for a thread */
	GQueue parked;    /* threads asleep until an invalidation ends */
	GQueue ack_spare; /* struct inval_ack free list */
	GPtrArray *ack_all; /* every struct inval_ack (owned) */
	unsigned busy;
	bool irq_armed;
	sim_time_t last_irq;
	GHashTable *inflight; /* (mr index << 36 | page) -> struct fault */
	GHashTable *live;     /* every struct fault not yet freed */
	uint64_t *c_faults, *c_handled, *c_overdraft, *c_retries;
	uint64_t *c_inval, *c_inval_handled, *c_prefetch, *c_fail;
	uint64_t *c_children, *c_child_new, *c_child_gone;
	struct hist *h_fault_ns, *h_inval_ns;
};

static const struct trace_kind tk_fault = { "page_fault", TRACE_BEGIN,
					    "fault" };
static const struct trace_kind tk_fault_done = { "page_fault_done",
						 TRACE_END, "fault" };
static const struct trace_kind tk_inval = { "invalidate", TRACE_INSTANT,
					    NULL };

void driver_set_nic(struct driver *drv, struct nic *nic)
{
	drv->nic = nic;
}

const char *driver_busy(const struct driver *drv)
{
	if (drv->busy || drv->work.length || drv->pending.length)
		return "page faults being resolved";
	if (drv->parked.length)
		return "fault threads waiting for an invalidation";
	if (g_hash_table_size(drv->inflight))
		return "page faults in flight";
	return NULL;
}

struct driver *driver_new(struct sim *sim, struct host *host,
			  const struct driver_config *cfg)
{
	struct driver *drv = g_new0(struct driver, 1);
	drv->sim = sim;
	drv->host = host;
	drv->nic = host->nic;
	drv->cfg = *cfg;
	char *name = g_strdup_printf("%s.driver", host->name);
	drv->comp = sim_component_add(sim, name);
	g_free(name);
	g_queue_init(&drv->pending);
	g_queue_init(&drv->work);
	g_queue_init(&drv->parked);
	g_queue_init(&drv->ack_spare);
	drv->ack_all = g_ptr_array_new_with_free_func(g_free);
	drv->inflight = g_hash_table_new(g_int64_hash, g_int64_equal);
	drv->live = g_hash_table_new(NULL, NULL);
	struct stats *st = sim->stats;
	const char *h = host->name;
	drv->c_faults = stats_counter(st, "%s.nic.page_faults", h);
	drv->c_handled = stats_counter(st, "%s.nic.page_faults_handled", h);
	drv->c_overdraft = stats_counter(st, "%s.nic.overdraft_faults", h);
	drv->c_retries = stats_counter(st, "%s.nic.fault_retries", h);
	drv->c_fail = stats_counter(st, "%s.nic.page_faults_failed", h);
	drv->c_inval = stats_counter(st, "%s.nic.page_invalidations", h);
	drv->c_inval_handled =
		stats_counter(st, "%s.nic.page_invalidations_handled", h);
	drv->c_prefetch = stats_counter(st, "%s.nic.page_prefetch", h);
	drv->c_children = stats_counter(st, "%s.nic.implicit_children", h);
	drv->c_child_new =
		stats_counter(st, "%s.nic.implicit_children_created", h);
	drv->c_child_gone =
		stats_counter(st, "%s.nic.implicit_children_destroyed", h);
	drv->h_fault_ns = stats_hist(st, "%s.nic.fault_latency_ns", h);
	drv->h_inval_ns = stats_hist(st, "%s.nic.invalidation_latency_ns", h);
	host->nic->drv = drv;
	return drv;
}

static void child_release(struct fault *f);

static void fault_free(struct fault *f)
{
	child_release(f);
	g_hash_table_remove(f->drv->live, f);
	nic_mr_release(f->mr);
	if (f->qps)
		g_ptr_array_free(f->qps, TRUE);
	g_free(f->pfns);
	g_free(f);
}

void driver_free(struct driver *drv)
{
	if (!drv)
		return;
	/* a fault can be queued and in the in-flight table at once, and
	 * faults in progress (a prefetch waiting for the VMM, say) are
	 * referenced only by events that will not fire: every fault not yet
	 * freed is in `live`; free each once */
	GHashTableIter it;
	gpointer k;
	g_hash_table_iter_init(&it, drv->inflight);
	while (g_hash_table_iter_next(&it, &k, NULL))
		g_free(k);
	GHashTable *all = drv->live;
	drv->live = g_hash_table_new(NULL, NULL);
	g_hash_table_iter_init(&it, all);
	while (g_hash_table_iter_next(&it, &k, NULL))
		fault_free(k);
	g_hash_table_destroy(all);
	g_hash_table_destroy(drv->live);
	g_queue_clear(&drv->pending);
	g_queue_clear(&drv->work);
	g_queue_clear(&drv->parked);
	g_hash_table_destroy(drv->inflight);
	g_queue_clear(&drv->ack_spare);
	g_ptr_array_free(drv->ack_all, TRUE);
	g_free(drv);
}

static uint64_t page_key(const struct nic_mr *mr, uint64_t pg)
{
	return ((uint64_t)mr->index << 36) | pg;
}

static bool mr_writable(const struct nic_mr *mr)
{
	return mr->access & (NIC_ACCESS_LOCAL_WRITE | NIC_ACCESS_REMOTE_WRITE);
}

/* ---- the fault path ---- */

static void fault_dispatch(struct driver *drv);
static void fault_next(struct fault *f);

static void fault_inflight(struct fault *f, bool add)
{
	for (uint64_t pg = f->first; pg < f->first + f->npages; pg++) {
		uint64_t key = page_key(f->mr, pg);
		if (add) {
			if (g_hash_table_contains(f->drv->inflight, &key))
				continue; /* owned by another resolution */
			uint64_t *k = g_new(uint64_t, 1);
			*k = key;
			g_hash_table_insert(f->drv->inflight, k, f);
		} else {
			gpointer ok, ov;
			if (g_hash_table_lookup_extended(f->drv->inflight, &key,
							 &ok, &ov) &&
			    ov == f) {
				g_hash_table_remove(f->drv->inflight, &key);
				g_free(ok);
			}
		}
	}
}

static void irq_event(struct sim *sim, void *obj, uint64_t arg);
SIM_EVKIND(ev_irq, "driver.irq", irq_event);

static void irq_arm(struct driver *drv)
{
	if (drv->irq_armed || g_queue_is_empty(&drv->pending))
		return;
	struct fault *f = g_queue_peek_head(&drv->pending);
	sim_time_t at = f->eq_at + drv->cfg.irq_latency;
	if (drv->last_irq && at < drv->last_irq + drv->cfg.irq_moderation)
		at = drv->last_irq + drv->cfg.irq_moderation;
	if (at < sim_now(drv->sim))
		at = sim_now(drv->sim);
	drv->irq_armed = true;
	sim_schedule(drv->sim, at, &ev_irq, drv->comp, drv, 0);
}

static void irq_event(struct sim *sim, void *obj, uint64_t arg)
{
	(void)arg;
	struct driver *drv = obj;
	drv->irq_armed = false;
	drv->last_irq = sim_now(sim);
	/* the handler drains every event already in the EQ */
	while (!g_queue_is_empty(&drv->pending)) {
		struct fault *f = g_queue_peek_head(&drv->pending);
		if (f->eq_at > sim_now(sim))
			break;
		g_queue_push_tail(&drv->work, g_queue_pop_head(&drv->pending));
	}
	fault_dispatch(drv);
	irq_arm(drv);
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
 * A UMR that rewrites @bytes of translation table (MTTs of 8 B, KSM
 * entries of 16 B), posted at @t: done when the last of its WQEs has
 * completed.  mlx5r_umr_update_xlt() (umr.c) sends the table in pieces
 * of at most MLX5_MAX_UMR_CHUNK = (1 << (MLX5_MAX_UMR_SHIFT + 4)) -
 * MLX5_UMR_FLEX_ALIGNMENT bytes, one WQE each, in 64 B blocks
 * (MLX5_UMR_FLEX_ALIGNMENT), and the NIC reads each piece over PCIe.
 */
#define UMR_FLEX_ALIGNMENT 64
#define UMR_MAX_CHUNK ((1ULL << (16 + 4)) - UMR_FLEX_ALIGNMENT)
static sim_time_t driver_umr_at(struct driver *drv, sim_time_t t,
				uint64_t bytes)
{
	bytes = (bytes + UMR_FLEX_ALIGNMENT - 1) & ~(uint64_t)(UMR_FLEX_ALIGNMENT - 1);
	do {
		uint64_t n = bytes < UMR_MAX_CHUNK ? bytes : UMR_MAX_CHUNK;
		t = pcie_dma_read_at(drv->nic->pcie, t + drv->cfg.umr_time, n);
		bytes -= n;
	} while (bytes);
	return t;
}

/*
 * implicit_get_child_mr(): an MTT mkey of MLX5_IMR_MTT_ENTRIES from the
 * mkey cache, its table zapped by a UMR (2^18 entries of 8 B), its own
 * interval notifier over its GiB, then a UMR writes its key into the
 * parent's KSM entry (16 B).  Returns when the child can be used.
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
 * now; freed once no fault holds it. */
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

/* The notifier the segment's fill is checked against. */
static struct vmm_sub *fault_sub(const struct fault *f)
{
	return f->child ? f->child->sub : f->mr->sub;
}

static void fault_begin(struct sim *sim, void *obj, uint64_t arg);
SIM_EVKIND(ev_fault_begin, "driver.fault_begin", fault_begin);

/*
 * Start (or restart) the current segment.  Implicit ODP: the segment's
 * child first (created if its slot has none).  Then
 * mmu_interval_read_begin(): it sleeps while an invalidation of the range
 * is in progress (the count is odd).  Here the thread parks until the
 * invalidation's end wakes it; retrying at once would spin forever at one
 * instant, re-faulting a page that the invalidation is still removing.
 */
static void fault_start(struct fault *f)
{
	struct driver *drv = f->drv;
	if (f->mr->ksm && !f->child) {
		struct imr_child *c = nic_imr_child(f->mr, f->seg);
		if (!c) {
			sim_time_t at = imr_child_create(
				drv, f->mr, f->seg >> IMR_CHILD_PAGE_BITS, &c);
			f->child = c;
			c->users++;
			sim_schedule(drv->sim, at, &ev_fault_begin, drv->comp,
				     f, 0);
			return;
		}
		f->child = c;
		c->users++;
	}
	uint64_t seq = vmm_notifier_read_begin(fault_sub(f));
	if (seq & 1) {
		g_queue_push_tail(&drv->parked, f);
		return;
	}
	f->seq = seq;
	f->next = f->seg;
	f->status = 0;
	fault_next(f);
}

static void fault_begin(struct sim *sim, void *obj, uint64_t arg)
{
	(void)sim;
	(void)arg;
	fault_start(obj);
}

static void fault_dispatch(struct driver *drv)
{
	while (drv->busy < drv->cfg.fault_threads &&
	       !g_queue_is_empty(&drv->work)) {
		struct fault *f = g_queue_pop_head(&drv->work);
		drv->busy++;
		sim_time_t cpu = f->kind == FAULT_PREFETCH ?
					 0 :
					 drv->cfg.fault_service;
		sim_schedule_in(drv->sim, cpu, &ev_fault_begin, drv->comp, f,
				0);
	}
}

static void fault_finish(struct sim *sim, void *obj, uint64_t arg);
SIM_EVKIND(ev_fault_finish, "driver.fault_finish", fault_finish);

/* The end of the segment that starts at MR page @seg within window @f. */
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

/* Every page of the segment is in (or the segment was cut short). */
static void fault_pages_done(struct fault *f)
{
	struct driver *drv = f->drv;
	struct nic_mr *mr = f->mr;
	uint64_t got = f->next - f->seg;
	if (f->child && f->child->dead) {
		/* the child was emptied and destroyed meanwhile: fault the
		 * segment into the slot's new child */
		child_release(f);
		fault_start(f);
		return;
	}
	if (got && vmm_notifier_read_retry(fault_sub(f), f->seq)) {
		/* an invalidation ran meanwhile: our frames may be stale */
		(*drv->c_retries)++;
		fault_start(f);
		return;
	}
	uint64_t flags = MTT_VALID |
			 (mr_writable(mr) && f->write ? MTT_WRITE : 0);
	uint64_t mapped = 0, fresh = 0;
	for (uint64_t pg = f->seg; pg < f->seg + got; pg++) {
		uint64_t pfn = f->pfns[pg - f->first];
		if (pfn == VMM_NO_PFN)
			continue;
		fresh += !(mtt_get(&mr->mtt, pg) & MTT_VALID);
		mtt_set(&mr->mtt, pg, MTT_ENTRY(pfn, flags));
		mapped++;
	}
	if (got)
		nic_mr_flush(mr, f->seg, f->seg + got - 1);
	if (f->child) {
		/* implicit ODP: what the MR maps is what is registered */
		f->child->mapped += fresh;
		*mr->nic->c_reg_pages += fresh;
	}
	f->mapped += mapped;
	f->cost += mapped * drv->cfg.mtt_update_time;
	if (got == f->seg_end - f->seg && f->seg_end < f->first + f->npages) {
		/* the next child's share of the window */
		child_release(f);
		f->seg = f->seg_end;
		f->seg_end = seg_end_of(f, f->seg);
		fault_start(f);
		return;
	}
	if (f->next == f->first && f->kind != FAULT_PREFETCH) {
		/* the faulting page itself cannot be mapped (outside every
		 * VMA, or no memory): accesses to it are errors from now on */
		mtt_set(&mr->mtt, f->first, MTT_FAIL);
		(*drv->c_fail)++;
	}
	if (f->kind == FAULT_PREFETCH)
		*drv->c_prefetch += f->mapped;
	sim_time_t cost = f->cost;
	if (f->qps && f->qps->len)
		cost += drv->cfg.resume_time;
	sim_schedule_in(drv->sim, cost, &ev_fault_finish, drv->comp, f, 0);
}

static void fault_page_done(void *ctx, int status, uint64_t pfn)
{
	struct fault *f = ctx;
	if (!vmm_fault_ok(status)) {
		f->status = status;
		fault_pages_done(f); /* the window ends before this page */
		return;
	}
	f->pfns[f->next - f->first] = pfn;
	f->next++;
	fault_next(f);
}

static void fault_next(struct fault *f)
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
		vmm_fault_in(mr->as, va, f->write, fault_page_done, f);
		return;
	}
	fault_pages_done(f);
}

static void fault_finish(struct sim *sim, void *obj, uint64_t arg)
{
	(void)arg;
	struct fault *f = obj;
	struct driver *drv = f->drv;
	fault_inflight(f, false);
	if (f->kind != FAULT_PREFETCH) {
		(*drv->c_handled)++;
		hist_add(drv->h_fault_ns, (sim_now(sim) - f->detected) / SIM_NS);
		sim_trace(sim, drv->comp, &tk_fault_done, f->trace_qp,
			  TRACE_NONE, f->trace_va, TRACE_NONE, f->mapped,
			  vmm_fault_status_names[f->status ? f->status :
							     VMM_FAULT_MINOR]);
	}
	bool failed = f->next == f->first && f->kind != FAULT_PREFETCH;
	for (guint i = 0; f->qps && i < f->qps->len; i++) {
		struct nic_qp *qp = f->qps->pdata[i];
		if (failed)
			nic_qp_error(qp, NIC_WC_LOC_PROT_ERR);
		else
			nic_qp_resume(qp);
	}
	if (f->done)
		f->done(f->done_ctx, f->mr, failed ? -EFAULT : 0, f->mapped);
	drv->busy--;
	fault_free(f);
	fault_dispatch(drv);
}

static struct fault *fault_new(struct driver *drv, struct nic_mr *mr,
			       enum fault_kind kind, uint64_t first,
			       uint64_t npages, bool write)
{
	struct fault *f = g_new0(struct fault, 1);
	f->drv = drv;
	f->mr = mr;
	nic_mr_hold(mr); /* a deregistration waits for the fault */
	f->kind = kind;
	f->first = first;
	f->npages = npages;
	f->seg = first;
	f->seg_end = seg_end_of(f, first);
	f->write = write;
	f->pfns = g_new(uint64_t, npages);
	f->detected = sim_now(drv->sim);
	g_hash_table_add(drv->live, f);
	return f;
}

void driver_page_fault(struct driver *drv, struct nic_mr *mr,
		       struct nic_qp *qp, uint64_t va, bool write,
		       sim_time_t t)
{
	struct nic *nic = drv->nic;
	uint64_t pg = (va >> NIC_PAGE_SHIFT) - mr->first_page;
	(*drv->c_faults)++;
	if (!vmm_page_committed(mr->as, va))
		(*drv->c_overdraft)++; /* the application's fault */
	uint64_t key = page_key(mr, pg);
	struct fault *f = g_hash_table_lookup(drv->inflight, &key);
	if (f) { /* already being resolved: wait for that resolution */
		if (qp) {
			if (!f->qps)
				f->qps = g_ptr_array_new();
			if (!g_ptr_array_find(f->qps, qp, NULL))
				g_ptr_array_add(f->qps, qp);
		}
		return;
	}
	uint64_t n = drv->cfg.fault_around;
	if (pg + n > mr->npages)
		n = mr->npages - pg;
	/* an on-demand MR maps for writing whenever it may be written */
	f = fault_new(drv, mr, qp ? FAULT_REQUESTER : FAULT_RESPONDER, pg, n,
		      write || mr_writable(mr));
	f->detected = t;
	if (qp) {
		f->qps = g_ptr_array_new();
		g_ptr_array_add(f->qps, qp);
	}
	fault_inflight(f, true);
	f->trace_qp = qp ? qp->qpn : TRACE_NONE;
	f->trace_va = va;
	sim_trace(drv->sim, drv->comp, &tk_fault, f->trace_qp, TRACE_NONE, va,
		  TRACE_NONE, n, qp ? "requester" : "responder");
	/* the NIC writes the event into the EQ, then interrupts */
	f->eq_at = pcie_dma_write_at(nic->pcie, t, 64);
	g_queue_push_tail(&drv->pending, f);
	irq_arm(drv);
}

void nic_advise_mr(struct nic_mr *mr, enum nic_advice advice, uint64_t va,
		   uint64_t len, nic_advise_done_fn done, void *ctx)
{
	struct driver *drv = mr->nic->drv;
	g_assert(mr->policy->on_demand && nic_mr_contains(mr, va, len) &&
		 !mr->dying);
	uint64_t first = (va >> NIC_PAGE_SHIFT) - mr->first_page;
	uint64_t last = ((va + (len ? len : 1) - 1) >> NIC_PAGE_SHIFT) -
			mr->first_page;
	struct fault *f = fault_new(drv, mr, FAULT_PREFETCH, first,
				    last - first + 1,
				    advice == NIC_ADVISE_PREFETCH_WRITE ||
					    mr_writable(mr));
	f->no_fault = advice == NIC_ADVISE_PREFETCH_NO_FAULT;
	f->done = done;
	f->done_ctx = ctx;
	/* ibv_advise_mr runs in the caller's context, then a work item */
	g_queue_push_tail(&drv->work, f);
	fault_dispatch(drv);
}

/* ---- invalidations from the VMM ---- */

struct inval_ack {
	struct nic_mr *mr;
	struct vmm_sub *sub; /* the subscription to acknowledge */
	uint64_t token;
	sim_time_t start;
	uint64_t pages;
};

static void inval_ack_event(struct sim *sim, void *obj, uint64_t arg)
{
	(void)arg;
	struct inval_ack *a = obj;
	struct driver *drv = a->mr->nic->drv;
	*drv->c_inval_handled += a->pages;
	hist_add(drv->h_inval_ns, (sim_now(sim) - a->start) / SIM_NS);
	vmm_notifier_ack(a->sub, a->token);
	g_queue_push_tail(&drv->ack_spare, a);
}
SIM_EVKIND(ev_inval_ack, "driver.invalidate_ack", inval_ack_event);

static void nic_mr_resize_go(struct nic_mr *mr);

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
			sim_schedule_in(drv->sim, 0, &ev_fault_begin, drv->comp,
					f, 0);
		}
		l = next;
	}
}

/* A notification (invalidation or suspension) of @mr ended. */
static void notif_end(struct nic_mr *mr)
{
	g_assert(mr->notif_active > 0);
	mr->notif_active--;
	driver_wake_parked(mr);
	if (!mr->notif_active && mr->resize_pending)
		nic_mr_resize_go(mr);
	nic_mr_dereg_check(mr);
}

/* Invalidate [start, end) of @mr, notified through @sub (the MR's, or an
 * implicit child's: @child). */
static void odp_zap(struct nic_mr *mr, struct imr_child *child,
		    struct vmm_sub *sub, uint64_t start, uint64_t end,
		    enum vmm_reason reason, uint64_t token)
{
	struct driver *drv = mr->nic->drv;
	mr->notif_active++;
	uint64_t lo = start >> NIC_PAGE_SHIFT, hi = (end - 1) >> NIC_PAGE_SHIFT;
	if (lo < mr->first_page)
		lo = mr->first_page;
	if (hi > mr->first_page + mr->npages - 1)
		hi = mr->first_page + mr->npages - 1;
	/* from the driver's pool: an ack still pending when the run ends
	 * is freed with the driver */
	struct inval_ack *a = g_queue_pop_head(&drv->ack_spare);
	if (!a) {
		a = g_new0(struct inval_ack, 1);
		g_ptr_array_add(drv->ack_all, a);
	}
	a->mr = mr;
	a->sub = sub;
	a->pages = 0;
	a->token = token;
	a->start = sim_now(drv->sim);
	if (lo <= hi) {
		a->pages = hi - lo + 1;
		uint64_t n = mtt_zap(&mr->mtt, lo - mr->first_page,
				     hi - mr->first_page);
		nic_mr_flush(mr, lo - mr->first_page, hi - mr->first_page);
		if (child) {
			child->mapped -= n;
			*mr->nic->c_reg_pages -= n;
		}
	}
	*drv->c_inval += a->pages;
	sim_trace(drv->sim, drv->comp, &tk_inval, TRACE_NONE, TRACE_NONE,
		  start, TRACE_NONE, a->pages, vmm_reason_names[reason]);
	/* DMA the NIC issued before the zap may still be in flight */
	sim_time_t at = sim_now(drv->sim) + drv->cfg.invalidate_time;
	if (mr->dma_busy > at)
		at = mr->dma_busy;
	if (mr->policy->no_drain) /* odp-unsafe: the bug, on purpose */
		at = sim_now(drv->sim);
	sim_schedule(drv->sim, at, &ev_inval_ack, drv->comp, a, 0);
}

static void odp_invalidate_start(struct vmm_sub *sub, uint64_t start,
				 uint64_t end, enum vmm_reason reason,
				 uint64_t token, void *ctx)
{
	odp_zap(ctx, NULL, sub, start, end, reason, token);
}

static void odp_invalidate_end(struct vmm_sub *sub, uint64_t start,
			       uint64_t end, void *ctx)
{
	(void)sub;
	(void)start;
	(void)end;
	/* the next access faults the pages back */
	notif_end(ctx);
}

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
	notif_end(mr);
}

static const struct vmm_notifier_ops odp_notifier = {
	.invalidate_start = odp_invalidate_start,
	.invalidate_end = odp_invalidate_end,
};

/* ---- suspend/resume: the VMM moves pages of a committed MR ---- */

static void susp_ack_event(struct sim *sim, void *obj, uint64_t token)
{
	(void)sim;
	struct nic_mr *mr = obj;
	vmm_notifier_ack(mr->sub, token);
}
SIM_EVKIND(ev_susp_ack, "driver.suspend_ack", susp_ack_event);

static const struct trace_kind tk_susp = { "suspend", TRACE_BEGIN,
					   "suspend" };
static const struct trace_kind tk_resume = { "resume", TRACE_END,
					     "suspend" };

/* the pages of [start, end) that are @mr's, as MR page indices */
static bool mr_pages(const struct nic_mr *mr, uint64_t start, uint64_t end,
		     uint64_t *lo, uint64_t *hi)
{
	uint64_t a = start >> NIC_PAGE_SHIFT, b = (end - 1) >> NIC_PAGE_SHIFT;
	if (a < mr->first_page)
		a = mr->first_page;
	if (b > mr->first_page + mr->npages - 1)
		b = mr->first_page + mr->npages - 1;
	if (a > b)
		return false;
	*lo = a - mr->first_page;
	*hi = b - mr->first_page;
	return true;
}

/*
 * suspend(range): the NIC stops issuing DMA to those pages (their MTT
 * entries are marked suspended and dropped from the cache: packets for
 * them are held, WQEs needing them wait) and acknowledges once the DMA it
 * already issued has landed.  In hardware this is a command to the NIC;
 * the driver is not on the path.
 */
static void susp_suspend(struct vmm_sub *sub, uint64_t start, uint64_t end,
			 enum vmm_reason reason, uint64_t token, void *ctx)
{
	(void)sub;
	struct nic_mr *mr = ctx;
	struct nic *nic = mr->nic;
	mr->notif_active++;
	uint64_t lo, hi;
	if (mr_pages(mr, start, end, &lo, &hi)) {
		for (uint64_t pg = lo; pg <= hi; pg++) {
			uint64_t e = mtt_get(&mr->mtt, pg);
			if (e & MTT_VALID)
				mtt_set(&mr->mtt, pg, e | MTT_SUSP);
		}
		nic_mr_flush(mr, lo, hi);
	}
	(*nic->c_suspensions)++;
	mr->suspend_start = sim_now(nic->sim);
	sim_trace(nic->sim, nic->comp, &tk_susp, TRACE_NONE, TRACE_NONE, start,
		  TRACE_NONE, end - start, vmm_reason_names[reason]);
	sim_time_t at = sim_now(nic->sim);
	if (mr->dma_busy > at)
		at = mr->dma_busy;
	sim_schedule(nic->sim, at, &ev_susp_ack, nic->comp, mr, token);
}

/* resume(range, new frames): the MTT entries are rewritten in place and
 * what waited for them goes on. */
static void susp_resume(struct vmm_sub *sub, uint64_t start, uint64_t end,
			const uint64_t *new_pfns, void *ctx)
{
	(void)sub;
	struct nic_mr *mr = ctx;
	struct nic *nic = mr->nic;
	uint64_t lo, hi;
	if (mr_pages(mr, start, end, &lo, &hi)) {
		uint64_t skip = lo + mr->first_page - (start >> NIC_PAGE_SHIFT);
		for (uint64_t pg = lo; pg <= hi; pg++) {
			uint64_t e = mtt_get(&mr->mtt, pg);
			uint64_t pfn = new_pfns[skip + pg - lo];
			if (!(e & MTT_VALID))
				continue;
			mtt_set(&mr->mtt, pg,
				pfn == VMM_NO_PFN ?
					0 : /* the page went: fault it back */
					MTT_ENTRY(pfn, e & (MTT_VALID |
							    MTT_WRITE)));
		}
		nic_mr_flush(mr, lo, hi);
	}
	hist_add(nic->h_suspend_ns,
		 (sim_now(nic->sim) - mr->suspend_start) / SIM_NS);
	sim_trace(nic->sim, nic->comp, &tk_resume, TRACE_NONE, TRACE_NONE,
		  start, TRACE_NONE, end - start, NULL);
	nic_mr_resumed(mr);
	notif_end(mr);
}

static const struct vmm_notifier_ops susp_notifier = {
	/* munmap, DONTNEED, COW still invalidate; moves suspend */
	.invalidate_start = odp_invalidate_start,
	.invalidate_end = odp_invalidate_end,
	.suspend = susp_suspend,
	.resume = susp_resume,
};

/* ---- registration ---- */

struct reg_req {
	struct nic_mr *mr;
	nic_reg_done_fn done;
	void *ctx;
	sim_time_t start;
	int status;
};

static void reg_complete(struct sim *sim, void *obj, uint64_t arg)
{
	(void)arg;
	struct reg_req *r = obj;
	struct nic_mr *mr = r->mr;
	struct nic *nic = mr->nic;
	mr->policy_priv = NULL;
	g_ptr_array_remove_fast(nic->reg_mrs, mr);
	if (r->status == 0) {
		mr->reg_time = sim_now(sim) - r->start;
		hist_add(nic->h_reg_time, mr->reg_time);
		if (!mr->ksm) /* implicit: what is mapped, as it is */
			*nic->c_reg_pages += mr->npages;
		idmap_set(&nic->mrs, mr->lkey, mr);
		idmap_set(&nic->mrs, mr->rkey, mr);
		g_ptr_array_add(nic->all_mrs, mr);
		r->done(r->ctx, mr, 0);
	} else {
		if (mr->sub)
			vmm_notifier_unregister(mr->sub);
		if (mr->committed)
			vmm_uncommit(mr->as,
				     mr->first_page << NIC_PAGE_SHIFT,
				     mr->npages << NIC_PAGE_SHIFT);
		mtt_destroy(&mr->mtt);
		nic_imr_free(mr);
		g_free(mr);
		r->done(r->ctx, NULL, r->status);
	}
	g_free(r);
}
SIM_EVKIND(ev_reg_complete, "driver.reg_complete", reg_complete);

static void reg_finish_in(struct nic_mr *mr, sim_time_t delay)
{
	struct reg_req *r = mr->policy_priv;
	sim_schedule_in(mr->nic->sim, delay + mr->nic->drv->cfg.reg_base_time,
			&ev_reg_complete, mr->nic->comp, r, 0);
}

/* pin: get_user_pages then one MTT entry per page */
static void pin_done(void *ctx, int status, uint64_t npages)
{
	struct nic_mr *mr = ctx;
	struct reg_req *r = mr->policy_priv;
	if (!vmm_fault_ok(status)) {
		r->status = status == VMM_FAULT_OOM ? -ENOMEM : -EFAULT;
		reg_finish_in(mr, 0);
		return;
	}
	g_assert(npages == mr->npages);
	bool writable = mr_writable(mr);
	for (uint64_t i = 0; i < mr->npages; i++) {
		uint64_t pfn;
		bool ok = vmm_lookup(mr->as, (mr->first_page + i)
						     << NIC_PAGE_SHIFT,
				     writable, &pfn);
		g_assert(ok); /* pinned pages are present */
		mtt_set(&mr->mtt, i,
			MTT_ENTRY(pfn, MTT_VALID | (writable ? MTT_WRITE : 0)));
	}
	reg_finish_in(mr, mr->npages * mr->nic->cfg.reg_page_time);
}

static void pin_reg(struct nic_mr *mr)
{
	vmm_pin(mr->as, mr->first_page << NIC_PAGE_SHIFT,
		mr->npages << NIC_PAGE_SHIFT, mr_writable(mr), pin_done, mr);
}

static void pin_dereg(struct nic_mr *mr)
{
	vmm_unpin(mr->as, mr->first_page << NIC_PAGE_SHIFT,
		  mr->npages << NIC_PAGE_SHIFT);
}

static const struct reg_policy_ops policies[REG_NPOLICIES];

/* Subscribe an on-demand MR to the VMM's notifier over its pages: the
 * suspend policy in suspend/resume mode, the others in invalidate mode. */
static void mr_subscribe(struct nic_mr *mr)
{
	bool susp = mr->policy == &policies[REG_SUSPEND];
	mr->sub = vmm_notifier_register(
		mr->as, mr->first_page << NIC_PAGE_SHIFT,
		mr->npages << NIC_PAGE_SHIFT,
		susp ? VMM_SUB_SUSPEND : VMM_SUB_INVALIDATE,
		susp ? &susp_notifier : &odp_notifier, mr);
}

/* odp: subscribe to the notifier, map nothing.  Implicit ODP
 * (mlx5_ib_alloc_implicit_mr): no notifier of its own (its children will
 * have theirs), a KSM mkey whose every entry a UMR points at the null
 * mkey. */
static void odp_reg(struct nic_mr *mr)
{
	if (mr->ksm) {
		struct driver *drv = mr->nic->drv;
		sim_time_t now = sim_now(drv->sim);
		reg_finish_in(mr, driver_umr_at(drv, now,
						mr->ksm->nslots * 16) - now);
		return;
	}
	mr_subscribe(mr);
	reg_finish_in(mr, 0);
}

static void odp_dereg(struct nic_mr *mr)
{
	if (mr->ksm) {
		driver_imr_reset(mr);
		return;
	}
	vmm_notifier_unregister(mr->sub);
	mr->sub = NULL;
}

static void prefetch_done(void *ctx, struct nic_mr *mr, int status,
			  uint64_t mapped)
{
	(void)ctx;
	(void)mapped;
	struct reg_req *r = mr->policy_priv;
	r->status = status;
	reg_finish_in(mr, 0);
}

/* odp-prefetch: odp, and every page mapped before registration returns */
static void odp_prefetch_reg(struct nic_mr *mr)
{
	mr_subscribe(mr);
	nic_advise_mr(mr, NIC_ADVISE_PREFETCH_WRITE, mr->addr, mr->length,
		      prefetch_done, NULL);
}

/* suspend: commit, map every page (no pin), then suspend/resume moves */
static void susp_reg(struct nic_mr *mr)
{
	uint64_t va = mr->first_page << NIC_PAGE_SHIFT;
	uint64_t len = mr->npages << NIC_PAGE_SHIFT;
	if (!vmm_commit(mr->as, va, len)) {
		/* over-commit: "twenty real pages" cannot be promised */
		struct reg_req *r = mr->policy_priv;
		r->status = -ENOMEM;
		reg_finish_in(mr, 0);
		return;
	}
	mr->committed = true;
	mr_subscribe(mr);
	nic_advise_mr(mr, NIC_ADVISE_PREFETCH_WRITE, mr->addr, mr->length,
		      prefetch_done, NULL);
}

static void susp_dereg(struct nic_mr *mr)
{
	odp_dereg(mr);
	if (mr->committed)
		vmm_uncommit(mr->as, mr->first_page << NIC_PAGE_SHIFT,
			     mr->npages << NIC_PAGE_SHIFT);
}

static const struct reg_policy_ops policies[REG_NPOLICIES] = {
	[REG_PIN] = { "pin", false, false, pin_reg, pin_dereg },
	[REG_ODP] = { "odp", true, false, odp_reg, odp_dereg },
	[REG_ODP_PREFETCH] = { "odp-prefetch", true, false, odp_prefetch_reg,
			       odp_dereg },
	[REG_SUSPEND] = { "suspend", true, false, susp_reg, susp_dereg },
	[REG_ODP_UNSAFE] = { "odp-unsafe", true, true, odp_reg, odp_dereg },
};

const struct reg_policy_ops *reg_policy_get(enum reg_policy_id id)
{
	g_assert(id < REG_NPOLICIES);
	return &policies[id];
}

void nic_reg_mr(struct nic_pd *pd, struct vmm_as *as, uint64_t addr,
		uint64_t len, unsigned access, int policy,
		nic_reg_done_fn done, void *ctx)
{
	struct nic *nic = pd->nic;
	struct nic_mr *mr = g_new0(struct nic_mr, 1);
	mr->nic = nic;
	mr->pd = pd;
	mr->as = as;
	mr->addr = addr;
	mr->length = len;
	mr->index = ++nic->next_mr_index;
	mr->lkey = nic->next_key++;
	mr->rkey = nic->next_key++;
	mtt_init(&mr->mtt);
	mr->policy = reg_policy_get((enum reg_policy_id)policy);
	mr->access = access | (mr->policy->on_demand ? NIC_ACCESS_ON_DEMAND :
						       0);
	struct reg_req *r = g_new0(struct reg_req, 1);
	r->mr = mr;
	r->done = done;
	r->ctx = ctx;
	r->start = sim_now(nic->sim);
	mr->policy_priv = r;
	g_ptr_array_add(nic->reg_mrs, mr);
	if (addr == 0 && len == UINT64_MAX) {
		/* ibv_reg_mr(pd, NULL, SIZE_MAX, IBV_ACCESS_ON_DEMAND):
		 * implicit ODP, the whole user address space (mlx5: one
		 * KSM entry of 1 GiB per slot of TASK_SIZE) */
		struct nic_ksm *k = g_new0(struct nic_ksm, 1);
		k->nslots = 1ULL << (nic->drv->cfg.implicit_va_bits -
				     IMR_CHILD_SHIFT);
		k->leaves = g_new0(struct imr_child **,
				   (k->nslots + KSM_LEAF_SLOTS - 1) >>
					   KSM_LEAF_BITS);
		mr->ksm = k;
		mr->length = k->nslots << IMR_CHILD_SHIFT;
		mr->first_page = 0;
		mr->npages = mr->length >> NIC_PAGE_SHIFT;
		if (!(access & NIC_ACCESS_ON_DEMAND) ||
		    (policy != REG_ODP && policy != REG_ODP_UNSAFE)) {
			/* an implicit MR maps on demand only: pinning,
			 * committing or prefetching the address space is
			 * not a registration (mlx5: -EINVAL) */
			r->status = -EINVAL;
			reg_finish_in(mr, 0);
			return;
		}
		mr->policy->reg(mr);
		return;
	}
	mr->first_page = addr >> NIC_PAGE_SHIFT;
	uint64_t last = (addr + (len ? len : 1) - 1) >> NIC_PAGE_SHIFT;
	mr->npages = last - mr->first_page + 1;
	mr->policy->reg(mr);
}

sim_time_t driver_dereg_cost(const struct driver *drv)
{
	/* the system call and the MPT command, as for a registration */
	return drv ? drv->cfg.reg_base_time : 0;
}

/* ---- resizing an MR without changing its keys ---- */

struct resize_req {
	struct nic_mr *mr;
	uint64_t new_len, new_npages, old_npages;
	uint64_t unpin_va, unpin_len; /* a trimmed tail, released at the end */
	nic_reg_done_fn done;
	void *ctx;
	int status;
};

static void resize_finish(struct sim *sim, void *obj, uint64_t arg)
{
	(void)sim;
	(void)arg;
	struct resize_req *q = obj;
	struct nic_mr *mr = q->mr;
	if (q->unpin_len) {
		/* the DMA issued to the tail has landed: release it */
		if (mr->policy == &policies[REG_PIN])
			vmm_unpin(mr->as, q->unpin_va, q->unpin_len);
		if (mr->committed)
			vmm_uncommit(mr->as, q->unpin_va, q->unpin_len);
	}
	q->done(q->ctx, mr, q->status);
	g_free(q);
	nic_mr_release(mr);
}
SIM_EVKIND(ev_resize_finish, "driver.resize_finish", resize_finish);

static void resubscribe(struct nic_mr *mr)
{
	if (!mr->sub)
		return;
	vmm_notifier_unregister(mr->sub);
	mr_subscribe(mr);
}

static void resize_grown(void *ctx, int status, uint64_t npages)
{
	(void)npages;
	struct resize_req *q = ctx;
	struct nic_mr *mr = q->mr;
	if (!vmm_fault_ok(status)) {
		q->status = -ENOMEM;
		sim_schedule_in(mr->nic->sim, 0, &ev_resize_finish,
				mr->nic->comp, q, 0);
		return;
	}
	bool writable = mr_writable(mr);
	for (uint64_t i = q->old_npages; i < q->new_npages; i++) {
		uint64_t pfn;
		if (vmm_lookup(mr->as, (mr->first_page + i) << NIC_PAGE_SHIFT,
			       writable, &pfn))
			mtt_set(&mr->mtt, i,
				MTT_ENTRY(pfn, MTT_VALID |
						       (writable ? MTT_WRITE :
								   0)));
	}
	mr->npages = q->new_npages;
	mr->length = q->new_len;
	sim_schedule_in(mr->nic->sim,
			(q->new_npages - q->old_npages) *
				mr->nic->cfg.reg_page_time,
			&ev_resize_finish, mr->nic->comp, q, 0);
}

static void resize_prefetched(void *ctx, struct nic_mr *mr, int status,
			      uint64_t mapped)
{
	(void)mapped;
	struct resize_req *q = ctx;
	q->status = status;
	sim_schedule_in(mr->nic->sim, 0, &ev_resize_finish, mr->nic->comp, q,
			0);
}

void nic_mr_resize(struct nic_mr *mr, uint64_t new_len, nic_reg_done_fn done,
		   void *ctx)
{
	g_assert(!mr->dying);
	struct resize_req *q = g_new0(struct resize_req, 1);
	q->mr = mr;
	nic_mr_hold(mr); /* until resize_finish */
	q->done = done;
	q->ctx = ctx;
	q->new_len = new_len;
	if (mr->ksm) {
		/* an implicit MR covers the address space: nothing to
		 * resize (mlx5 refuses rereg of an implicit MR) */
		q->status = -EINVAL;
		sim_schedule_in(mr->nic->sim, 0, &ev_resize_finish,
				mr->nic->comp, q, 0);
		return;
	}
	g_assert(!mr->resize_pending);
	mr->resize_pending = q;
	/* a resize re-subscribes to the notifier: not while an invalidation
	 * or a suspension of the MR is in progress (their ends would go to
	 * a subscription that no longer exists) */
	if (!mr->notif_active)
		nic_mr_resize_go(mr);
}

static void nic_mr_resize_go(struct nic_mr *mr)
{
	struct nic *nic = mr->nic;
	struct resize_req *q = mr->resize_pending;
	mr->resize_pending = NULL;
	uint64_t new_len = q->new_len;
	q->old_npages = mr->npages;
	uint64_t last = (mr->addr + (new_len ? new_len : 1) - 1) >>
			NIC_PAGE_SHIFT;
	q->new_npages = last - mr->first_page + 1;
	uint64_t old_end = (mr->first_page + q->old_npages) << NIC_PAGE_SHIFT;
	sim_time_t cost = nic->drv->cfg.reg_base_time;
	if (q->new_npages <= q->old_npages) {
		/* trim: no new access can reach the tail from now on */
		uint64_t lo = q->new_npages, hi = q->old_npages - 1;
		mr->length = new_len;
		if (lo <= hi) {
			mtt_zap(&mr->mtt, lo, hi);
			nic_mr_flush(mr, lo, hi);
			q->unpin_va = (mr->first_page + lo) << NIC_PAGE_SHIFT;
			q->unpin_len = (hi - lo + 1) << NIC_PAGE_SHIFT;
			mr->npages = q->new_npages;
			resubscribe(mr);
		}
		/* DMA already issued to the tail lands first */
		sim_time_t at = sim_now(nic->sim) + cost;
		if (mr->dma_busy > at)
			at = mr->dma_busy;
		sim_schedule(nic->sim, at, &ev_resize_finish, nic->comp, q, 0);
		return;
	}
	uint64_t grow = (q->new_npages - q->old_npages) << NIC_PAGE_SHIFT;
	if (mr->policy == &policies[REG_PIN]) {
		vmm_pin(mr->as, old_end, grow, mr_writable(mr), resize_grown, q);
		return;
	}
	if (mr->committed && !vmm_commit(mr->as, old_end, grow)) {
		q->status = -ENOMEM;
		sim_schedule_in(nic->sim, cost, &ev_resize_finish, nic->comp,
				q, 0);
		return;
	}
	mr->npages = q->new_npages;
	mr->length = new_len;
	resubscribe(mr);
	if (mr->policy == &policies[REG_ODP_PREFETCH] || mr->committed)
		nic_advise_mr(mr, NIC_ADVISE_PREFETCH_WRITE, old_end,
			      mr->addr + new_len - old_end, resize_prefetched,
			      q);
	else
		sim_schedule_in(nic->sim, cost, &ev_resize_finish, nic->comp,
				q, 0);
}
