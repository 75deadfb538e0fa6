/*
 * nic/driver.c - the driver: MR registration through the registration
 * policies (pin, odp, odp-prefetch, suspend, odp-unsafe), suspend/resume
 * of committed MRs, resizing MRs under their keys, and the [driver]
 * parameter table.  On-demand paging - page faults, invalidations,
 * implicit ODP, prefetch - is nic/odp.c; both share struct driver
 * (nic/driver_int.h).
 *
 * Representation: registrations and resizes are small heap requests
 * completed by an event; the driver's own state is in struct driver.
 */
#include "nic/driver.h"

#include <errno.h>
#include <stddef.h>

#include "nic/driver_int.h"
#include "nic/host.h"
#include "nic/pcie.h"
#include "vmm/vmm.h"

const char *const reg_policy_names[] = { "pin", "odp", "odp-prefetch",
					 "suspend", "odp-unsafe", NULL };

static const char *const fault_schemes[] = { "wqe", "memory", NULL };

/*
 * Every cost of the fault path is a parameter; its default names the
 * kernel code it stands for, and is an estimate unless a source is
 * given.  README ("On-demand paging: what a fault costs") adds them up.
 */
static const struct param driver_tab[] = {
	{ "fault_threads", PT_COUNT, "32",
	  offsetof(struct driver_config, fault_threads),
	  "page faults handled at once: the page-fault workqueue's "
	  "max_active (the host's cpus bound it too)",
	  "mlx5r_odp_create_eq(): alloc_workqueue(\"mlx5_ib_page_fault\", "
	  "WQ_HIGHPRI | WQ_UNBOUND | WQ_MEM_RECLAIM, MLX5_NUM_CMD_EQE = 32)",
	  NULL, 1, 1024 },
	{ "irq_latency", PT_TIME, "3us",
	  offsetof(struct driver_config, irq_latency),
	  "from an EQE landing in the page-fault EQ to its interrupt handler "
	  "running (mlx5_ib_eq_pf_int)",
	  "estimate: MSI-X delivery and interrupt entry are a few us", NULL,
	  0, 1e12 },
	{ "irq_moderation", PT_TIME, "0ns",
	  offsetof(struct driver_config, irq_moderation),
	  "minimum time between two page-fault EQ interrupts (a study knob)",
	  "create_map_eq() (mlx5 core eq.c) sets no moderation in the EQ "
	  "context: the EQ interrupts once armed", NULL, 0, 1e12 },
	{ "eqe_time", PT_TIME, "300ns", offsetof(struct driver_config, eqe_time),
	  "interrupt handler CPU per EQE: decode, mempool_alloc, queue_work",
	  "estimate (mlx5_ib_eq_pf_process)", NULL, 0, 1e12 },
	{ "wq_latency", PT_TIME, "4us", offsetof(struct driver_config, wq_latency),
	  "an idle kworker waking to run a fault work item (one that just "
	  "finished another goes on at once)",
	  "estimate: a scheduler wake-up and context switch", NULL, 0, 1e12 },
	{ "mr_lookup_time", PT_TIME, "200ns",
	  offsetof(struct driver_config, mr_lookup_time),
	  "finding the faulting mkey (find_odp_mkey: xa_load, refcount)",
	  "estimate", NULL, 0, 1e12 },
	{ "wqe_read_time", PT_TIME, "1us",
	  offsetof(struct driver_config, wqe_read_time),
	  "a WQE fault: copying the WQE out of its queue "
	  "(mlx5_ib_read_wqe_sq/rq) and parsing its data segments",
	  "estimate", NULL, 0, 1e12 },
	{ "dma_map_time", PT_TIME, "100ns",
	  offsetof(struct driver_config, dma_map_time),
	  "per page mapped for the NIC's DMA (ib_umem_odp_map_dma_and_lock: "
	  "ib_dma_map_page, no IOMMU)",
	  "estimate: dma-direct returns the physical address", NULL, 0,
	  1e12 },
	{ "dma_unmap_time", PT_TIME, "100ns",
	  offsetof(struct driver_config, dma_unmap_time),
	  "per page an invalidation unmaps (ib_umem_odp_unmap_dma_pages: "
	  "unmap, set_page_dirty)", "estimate", NULL, 0, 1e12 },
	{ "umr_time", PT_TIME, "5us", offsetof(struct driver_config, umr_time),
	  "one UMR work request that rewrites an mkey's translation table, "
	  "besides the NIC's DMA read of its table (priced by [pcie]): "
	  "post, WQE fetch, completion, waking the waiting thread",
	  "estimate: mlx5r_umr_post_send_wait() (umr.c) posts on the "
	  "driver's UMR QP and sleeps until the CQE", NULL, 0, 1e12 },
	{ "resume_time", PT_TIME, "10us",
	  offsetof(struct driver_config, resume_time),
	  "the PAGE_FAULT_RESUME firmware command that lets the faulting QP "
	  "go on (mlx5_ib_page_fault_resume: mlx5_cmd_exec)",
	  "estimate: a firmware command round trip on the command queue",
	  NULL, 0, 1e12 },
	{ "invalidate_time", PT_TIME, "1us",
	  offsetof(struct driver_config, invalidate_time),
	  "CPU per invalidation callback besides its UMRs and unmaps: "
	  "umem_mutex, mmu_interval_set_seq", "estimate", NULL, 0, 1e12 },
	{ "hmm_timeout", PT_TIME, "1s",
	  offsetof(struct driver_config, hmm_timeout),
	  "a fault colliding with invalidations retries this long, then "
	  "fails with -EBUSY and the QP is resumed with error",
	  "include/linux/hmm.h HMM_RANGE_DEFAULT_TIMEOUT = 1000 ms, used by "
	  "ib_umem_odp_map_dma_and_lock()", NULL, 1, 1e15 },
	{ "pf_eq_entries", PT_COUNT, "8192",
	  offsetof(struct driver_config, pf_eq_entries),
	  "slots of the page-fault EQ; when all hold unconsumed EQEs the NIC "
	  "holds further reports",
	  "mlx5r_odp_create_eq(): nent = MLX5_IB_NUM_PF_EQE = 0x1000, which "
	  "create_map_eq() rounds to 2^order_base_2(nent + "
	  "MLX5_NUM_SPARE_EQE 0x80) = 8192", NULL, 1, 1 << 24 },
	{ "pf_descriptors", PT_COUNT, "64",
	  offsetof(struct driver_config, pf_descriptors),
	  "fault descriptors the EQ handler can draw (one per work item "
	  "queued or running; 0: unbounded); without one, EQEs wait in the EQ",
	  "MLX5_IB_NUM_PF_DRAIN = 64: the mempool mlx5_ib_eq_pf_process() "
	  "allocates from; mempool_alloc(GFP_ATOMIC) tries kmalloc first, so "
	  "64 is what the handler can count on under memory pressure (0 "
	  "models kmalloc always succeeding)", NULL, 0, 1 << 24 },
	{ "fault_around", PT_COUNT, "0",
	  offsetof(struct driver_config, fault_around),
	  "a study knob: map at least this many pages from the faulting one "
	  "per fault (0: what the fault event names, as mlx5)",
	  "mlx5 odp.c maps the range the event names (a WQE's data segments, "
	  "rdma_op_len, the memory scheme's counts) and no more: 0", NULL, 0,
	  1 << 20 },
	{ "fault_scheme", PT_ENUM, "wqe",
	  offsetof(struct driver_config, fault_scheme),
	  "how the NIC reports faults: wqe (WQE and RDMA events, the "
	  "transport scheme) or memory (MEMORY events with demand / pre / "
	  "post page counts at 4 KiB, resumed on the LAST one)",
	  "mlx5 odp.c: MLX5_PFAULT_SUBTYPE_WQE / _RDMA / _MEMORY; the memory "
	  "scheme needs firmware with the mem_page_fault capability",
	  fault_schemes, 0, 0 },
	{ "reg_syscall_time", PT_TIME, "5us",
	  offsetof(struct driver_config, reg_syscall_time),
	  "fixed CPU cost of ibv_reg_mr, ibv_dereg_mr and a rereg: the "
	  "uverbs system call, the umem, RLIMIT_MEMLOCK accounting "
	  "(mm->pinned_vm)",
	  "estimate: a few us (UCX models a registration's fixed cost as "
	  "16 us, UCX_IB_MEM_REG_OVERHEAD, itself an estimate)", NULL, 0,
	  1e12 },
	{ "pin_batch", PT_COUNT, "512",
	  offsetof(struct driver_config, pin_batch),
	  "pages ib_umem_get() pins per pin_user_pages_fast() call",
	  "drivers/infiniband/core/umem.c __ib_umem_get(): min(npages, "
	  "PAGE_SIZE / sizeof(struct page *)) = 512", NULL, 1, 1 << 20 },
	{ "pin_call_time", PT_TIME, "500ns",
	  offsetof(struct driver_config, pin_call_time),
	  "per pin_user_pages_fast() call of ib_umem_get(): the call, its "
	  "lockless walk down to the PMD, cond_resched(), appending the "
	  "batch to the sg table",
	  "estimate", NULL, 0, 1e12 },
	{ "sg_page_time", PT_TIME, "5ns",
	  offsetof(struct driver_config, sg_page_time),
	  "per 4 KiB page sg_alloc_append_table_from_pages() looks at "
	  "(merging physically contiguous pages into one entry), huge "
	  "pages' subpages included",
	  "estimate: a compare and a store per page; with pin_huge_time it "
	  "puts a 1 GiB THP registration and deregistration at ~1.8 ms, "
	  "J. Martins' 1.85 ms per GiB on rxe (\"RDMA/umem: batch page "
	  "unpin\", 2021; odpsim validate: reg_thp.ini)", NULL, 0, 1e12 },
	{ "dma_max_seg", PT_SIZE, "2GiB",
	  offsetof(struct driver_config, dma_max_seg),
	  "largest DMA segment (sg entry) of the device: ib_umem_get merges "
	  "contiguous pages up to it",
	  "mlx5 core set_dma_caps(): dma_set_max_seg_size(&pdev->dev, 2u * "
	  "1024 * 1024 * 1024)", NULL, 4096, 1ULL << 40 },
	{ "dma_map_sg_time", PT_TIME, "10ns",
	  offsetof(struct driver_config, dma_map_sg_time),
	  "per sg entry ib_dma_map_sgtable_attrs() maps (dma-direct: the "
	  "physical address; IOMMU costs are [iommu]'s)",
	  "estimate", NULL, 0, 1e12 },
	{ "unmap_sg_time", PT_TIME, "2ns",
	  offsetof(struct driver_config, unmap_sg_time),
	  "per sg entry at deregistration: ib_dma_unmap_sgtable_attrs() "
	  "(dma-direct) and sg_free_append_table()",
	  "estimate", NULL, 0, 1e12 },
	{ "create_mkey_time", PT_TIME, "20us",
	  offsetof(struct driver_config, create_mkey_time),
	  "the CREATE_MKEY firmware command: a registration whose mkey the "
	  "cache cannot give pays it (one larger than the cache's largest "
	  "entry under the device's slow_path_mutex), and each background "
	  "refill of the cache",
	  "estimate: no published ConnectX figure was found; a firmware "
	  "command round trip of tens of us", NULL, 0, 1e12 },
	{ "destroy_mkey_time", PT_TIME, "10us",
	  offsetof(struct driver_config, destroy_mkey_time),
	  "the DESTROY_MKEY firmware command a deregistration pays when its "
	  "mkey does not go back to the cache",
	  "estimate: as create_mkey_time", NULL, 0, 1e12 },
	{ "mkey_cache", PT_BOOL, "true",
	  offsetof(struct driver_config, mkey_cache),
	  "mlx5's mkey cache: entries of 4 << i MTTs (i = 0..20), primed "
	  "with profile 2's limits (250 mkeys up to 8192 MTTs, then 32, "
	  "16, 8, 4 up to 131072 MTTs, none above) and refilled in the "
	  "background by up to 8 CREATE_MKEY at once; a registration takes "
	  "one (no firmware command on its path, then a UMR loads its MTT), "
	  "a deregistration revokes it by UMR and gives it back; false: "
	  "every registration creates its mkey and every deregistration "
	  "destroys it",
	  "drivers/infiniband/hw/mlx5/mr.c alloc_cacheable_mr(), "
	  "mlx5r_umr_revoke_mr(), MAX_PENDING_REG_MR = 8; "
	  "MKEY_CACHE_LAST_STD_ENTRY = 20; mlx5 core main.c profile[2] "
	  ".mr_cache (removed in 2025 kernels, whose cache starts empty)",
	  NULL, 0, 0 },
	{ "implicit_va_bits", PT_COUNT, "47",
	  offsetof(struct driver_config, implicit_va_bits),
	  "user virtual address bits an implicit ODP MR covers: 2^(bits-30) "
	  "KSM entries of 1 GiB",
	  "mlx5_ib_odp_init(): mlx5_imr_ksm_entries = 2^(get_order(TASK_SIZE)"
	  " - MLX5_IMR_MTT_BITS); TASK_SIZE is 2^47 - 4 KiB on x86-64 "
	  "(131072 entries, 128 TiB)", NULL, 31, 48 },
};
/* The ODP statistics (nic/odp.c), as mlx5 reports them where it does. */
static const struct stat_doc driver_stats[] = {
	{ "nic.page_faults", "pages",
	  "pages mapped by page-fault handling (each range's pages)",
	  "mlx5 rdma stat mr page_faults (odp_stats.faults)" },
	{ "nic.page_faults_handled", "operations",
	  "ranges mapped by page-fault handling (one per data segment, "
	  "memory event, or RDMA prefetch)",
	  "mlx5 rdma stat mr page_faults_handled" },
	{ "nic.page_invalidations", "pages",
	  "pages zapped by invalidations, as mlx5 counts them (a run's "
	  "length plus the page that ended it)",
	  "mlx5 rdma stat mr page_invalidations" },
	{ "nic.page_invalidations_handled", "operations",
	  "invalidation callbacks on an MR with pages mapped",
	  "mlx5 rdma stat mr page_invalidations_handled" },
	{ "nic.page_prefetch", "pages", "pages mapped by ibv_advise_mr",
	  "mlx5 rdma stat mr page_prefetch" },
	{ "nic.mrN.*", "as above",
	  "the same five counters per on-demand MR (N: its index)",
	  "rdma stat mr" },
	{ "nic.odp_local_triggered_page_fault", "events",
	  "fault events the NIC raised for its own WQEs (requester)",
	  "devlink health diagnose ... reporter vnic" },
	{ "nic.odp_remote_triggered_page_fault", "events",
	  "fault events the NIC raised for a peer's requests (responder)",
	  "devlink health diagnose ... reporter vnic" },
	{ "nic.page_faults_failed", "events",
	  "faults resumed with error (not mappable, or busy past hmm_timeout)",
	  "" },
	{ "nic.page_faults_busy_timeout", "events",
	  "faults that collided with invalidations past hmm_timeout (-EBUSY)",
	  "" },
	{ "nic.fault_retries", "events",
	  "fills started over because an invalidation ran meanwhile "
	  "(mmu_interval_read_retry)", "" },
	{ "nic.overdraft_faults", "events",
	  "fault events on pages the application never committed", "" },
	{ "nic.pf_eq_full_waits", "events",
	  "fault reports the NIC held because the page-fault EQ was full",
	  "" },
	{ "nic.pf_descriptor_waits", "events",
	  "times the EQ handler stopped for want of a fault descriptor", "" },
	{ "nic.umr_posts", "UMRs", "UMR work requests posted", "" },
	{ "nic.umr_blocks", "blocks", "64 B blocks of translation table UMRs "
	  "carried", "" },
	{ "nic.implicit_children", "children",
	  "implicit ODP child MRs (1 GiB each) in the KSM now", "" },
	{ "nic.implicit_children_created", "children",
	  "children created by a first fault or prefetch in their GiB", "" },
	{ "nic.implicit_children_destroyed", "children",
	  "children destroyed when an invalidation left them empty", "" },
	{ "nic.implicit_ksm_entries", "entries",
	  "KSM entries (1 GiB each) of the implicit ODP parents registered "
	  "now: 2^(implicit_va_bits - 30) each", "mlx5_imr_ksm_entries" },
	{ "nic.mkey_cache_hits", "registrations",
	  "registrations whose mkey came ready from the mkey cache", "" },
	{ "nic.mkey_cache_misses", "registrations",
	  "registrations that created their mkey (cache entry empty, or "
	  "the MR larger than its largest entry)", "" },
	{ "nic.create_mkey", "commands",
	  "CREATE_MKEY firmware commands: registrations' and the cache's "
	  "background refills", "" },
	{ "nic.destroy_mkey", "commands",
	  "DESTROY_MKEY firmware commands of deregistrations whose mkey did "
	  "not go back to the cache", "" },
	{ "nic.fault_latency_ns", "ns (hist)",
	  "fault detection to PAGE_FAULT_RESUME done", "" },
	{ "nic.fault_range_pages", "pages (hist)",
	  "pages of each range mapped by fault handling", "" },
	{ "nic.invalidation_latency_ns", "ns (hist)",
	  "invalidate_start to its acknowledgement", "" },
	{ "nic.pf_eq_wait_ns", "ns (hist)",
	  "how long the NIC held a report for an EQ slot", "" },
	{ "nic.pf_descriptor_wait_ns", "ns (hist)",
	  "an EQE's landing to its consumption by the handler", "" },
};
PARAM_TABLE_STATS(driver_params, "driver",
		  "the kernel driver: registration and page-fault handling "
		  "(mlx5 odp.c; the steps below add up to ~25 us for a "
		  "one-page fault; the peer sees ~1.5 ms, [nic] "
		  "rnr_timer_floor: README, On-demand paging: what a fault "
		  "costs)",
		  driver_tab, driver_stats);

void driver_set_nic(struct driver *drv, struct nic *nic)
{
	drv->nic = nic;
}

const char *driver_busy(const struct driver *drv)
{
	return odp_busy(drv);
}

struct driver *driver_new(struct sim *sim, struct host *host,
			  const struct driver_config *cfg)
{
	struct driver *drv = g_new0(struct driver, 1);
	drv->sim = sim;
	drv->host = host;
	drv->nic = host->nic;
	drv->cfg = *cfg;
	drv->cpus = host->cfg.cpus ? (unsigned)host->cfg.cpus : 1;
	drv->threads = (unsigned)cfg->fault_threads < drv->cpus ?
			       (unsigned)cfg->fault_threads :
			       drv->cpus;
	char *name = g_strdup_printf("%s.driver", host->name);
	drv->comp = sim_component_add(sim, name);
	g_free(name);
	odp_init(drv);
	struct stats *st = sim->stats;
	drv->c_mkey_hits = stats_counter(st, "%s.nic.mkey_cache_hits",
					 host->name);
	drv->c_mkey_misses = stats_counter(st, "%s.nic.mkey_cache_misses",
					   host->name);
	drv->c_mkey_create = stats_counter(st, "%s.nic.create_mkey",
					   host->name);
	drv->c_mkey_destroy = stats_counter(st, "%s.nic.destroy_mkey",
					    host->name);
	driver_mkey_init(drv);
	host->nic->drv = drv;
	return drv;
}

void driver_free(struct driver *drv)
{
	if (!drv)
		return;
	odp_free(drv);
	g_free(drv);
}

static bool mr_writable(const struct nic_mr *mr)
{
	return mr->access & (NIC_ACCESS_LOCAL_WRITE | NIC_ACCESS_REMOTE_WRITE);
}

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
	sim_trace_as(nic->sim, nic->comp, &tk_susp, mr->as_name, TRACE_NONE,
		     TRACE_NONE, start,
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
			mr->mapped -= pfn == VMM_NO_PFN;
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
	sim_trace_as(nic->sim, nic->comp, &tk_resume, mr->as_name, TRACE_NONE,
		     TRACE_NONE,
		  start, TRACE_NONE, end - start, NULL);
	nic_mr_resumed(mr);
	odp_notif_end(mr);
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
		else
			*nic->drv->c_ksm_entries += mr->ksm->nslots;
		idmap_set(&nic->mrs, mr->lkey, mr); /* == rkey */
		nic_mr_regrant(mr);
		g_ptr_array_add(nic->all_mrs, mr);
		r->done(r->ctx, mr, 0);
	} else {
		if (mr->sub)
			vmm_notifier_unregister(mr->sub);
		if (mr->committed)
			vmm_uncommit(mr->as,
				     mr->first_page << NIC_PAGE_SHIFT,
				     mr->npages << NIC_PAGE_SHIFT);
		nic_mkey_free(nic, mr->lkey);
		mtt_destroy(&mr->mtt);
		nic_imr_free(mr);
		g_free(mr);
		r->done(r->ctx, NULL, r->status);
	}
	g_free(r);
}
SIM_EVKIND(ev_reg_complete, "driver.reg_complete", reg_complete);

static void reg_finish_at(struct nic_mr *mr, sim_time_t at)
{
	struct reg_req *r = mr->policy_priv;
	sim_schedule(mr->nic->sim, at, &ev_reg_complete, mr->nic->comp, r, 0);
}

/* A registration failed before it took an mkey: it ends now, after its
 * system call. */
static void reg_fail(struct nic_mr *mr, int status)
{
	struct reg_req *r = mr->policy_priv;
	r->status = status;
	reg_finish_at(mr, sim_now(mr->nic->sim) + mr->nic->drv->cfg.reg_syscall_time);
}

/* ---- the mkey cache (mlx5 mr.c: alloc_cacheable_mr, cache_ent_*) ---- */

/*
 * mlx5 keeps mkeys ready in cache entries of 4 << i translation entries
 * (i = 0 .. MKEY_CACHE_LAST_STD_ENTRY = 20); a registration takes one
 * from the smallest entry that fits (no firmware command), and the cache
 * refills in the background, at most MAX_PENDING_REG_MR = 8 CREATE_MKEY
 * at once, up to each entry's limit.  An empty entry makes the
 * registration create the mkey itself (create_cache_mkey); an MR larger
 * than the largest entry gets an mkey of its own from reg_create() under
 * the device's slow_path_mutex.  Limits: mlx5 core's profile 2 (the
 * default), .mr_cache[0..11] = 250, [12] = 32, [13] = 16, [14] = 8,
 * [15] = 4, the rest 0.
 */
static const uint32_t mkey_cache_limit[MKEY_CACHE_ORDERS] = {
	250, 250, 250, 250, 250, 250, 250, 250, 250, 250, 250, 250,
	32, 16, 8, 4, 0, 0, 0, 0, 0,
};
#define MKEY_MAX_PENDING 8 /* MAX_PENDING_REG_MR */

/* The cache entry for an mkey of @n translation entries, or -1. */
static int mkey_order(uint64_t n)
{
	for (int i = 0; i < MKEY_CACHE_ORDERS; i++)
		if ((4ULL << i) >= n)
			return i;
	return -1;
}

static void mkey_refill(struct driver *drv);

static void mkey_refilled(struct sim *sim, void *obj, uint64_t order)
{
	(void)sim;
	struct driver *drv = obj;
	drv->mkey_pending[order]--;
	drv->mkey_inflight--;
	drv->mkey_avail[order]++;
	mkey_refill(drv);
}
SIM_EVKIND(ev_mkey_refilled, "driver.mkey_cache_refill", mkey_refilled);

/* queue_adjust_cache_locked(): CREATE_MKEY commands in the background
 * for the entries below their limit */
static void mkey_refill(struct driver *drv)
{
	for (int i = 0; i < MKEY_CACHE_ORDERS &&
			drv->mkey_inflight < MKEY_MAX_PENDING;
	     i++) {
		while (drv->mkey_inflight < MKEY_MAX_PENDING &&
		       drv->mkey_avail[i] + drv->mkey_pending[i] <
			       mkey_cache_limit[i]) {
			drv->mkey_pending[i]++;
			drv->mkey_inflight++;
			(*drv->c_mkey_create)++;
			sim_schedule_in(drv->sim, drv->cfg.create_mkey_time,
					&ev_mkey_refilled, drv->comp, drv,
					(uint64_t)i);
		}
	}
}

/* An mkey for @mr (mr->nents entries) at @t; returns when it is there,
 * and sets mr->mkey_order (-1: the MR's own, destroyed at dereg). */
static sim_time_t mkey_get(struct driver *drv, struct nic_mr *mr,
			   sim_time_t t)
{
	int o = drv->cfg.mkey_cache ? mkey_order(mr->nents) : -1;
	mr->mkey_order = o;
	if (o >= 0 && drv->mkey_avail[o]) {
		drv->mkey_avail[o]--;
		(*drv->c_mkey_hits)++;
		mkey_refill(drv);
		return t;
	}
	(*drv->c_mkey_misses)++;
	(*drv->c_mkey_create)++;
	if (o >= 0) /* create_cache_mkey(): an entry's mkey, made now */
		return t + drv->cfg.create_mkey_time;
	/* reg_create() under slow_path_mutex */
	sim_time_t start = t > drv->slow_path_until ? t : drv->slow_path_until;
	drv->slow_path_until = start + drv->cfg.create_mkey_time;
	return drv->slow_path_until;
}

void driver_mkey_init(struct driver *drv)
{
	if (!drv->cfg.mkey_cache)
		return;
	/* the cache is primed when the device comes up, before any run */
	for (int i = 0; i < MKEY_CACHE_ORDERS; i++)
		drv->mkey_avail[i] = mkey_cache_limit[i];
}

/* ---- pinned MRs: ib_umem_get, the DMA layout, the MTT ---- */

/* The DMA segments of a pinned MR (nic/mtt.h: the page size mlx5 picks
 * from them). */
struct umem_scan {
	struct mtt_pgsz pg;
	uint64_t max_seg;   /* pages */
};

static void umem_run(void *ctx, uint64_t va, uint64_t pfn, uint64_t pages)
{
	struct umem_scan *u = ctx;
	/* sg_alloc_append_table_from_pages() merges up to max_seg */
	while (pages) {
		uint64_t n = pages < u->max_seg ? pages : u->max_seg;
		mtt_pgsz_seg(&u->pg, va, pfn << NIC_PAGE_SHIFT,
			     n << NIC_PAGE_SHIFT);
		va += n << NIC_PAGE_SHIFT;
		pfn += n;
		pages -= n;
	}
}

/* Build @mr's DMA layout and MTT from the VMM's frames (the pages are
 * pinned): sets sg_ents, the entry size and the entries. */
static void pin_umem_build(struct driver *drv, struct nic_mr *mr)
{
	struct nic *nic = mr->nic;
	uint64_t va = mr->first_page << NIC_PAGE_SHIFT;
	uint64_t len = mr->npages << NIC_PAGE_SHIFT;
	struct umem_scan u = { .max_seg = drv->cfg.dma_max_seg >> NIC_PAGE_SHIFT };
	if (!u.max_seg)
		u.max_seg = 1;
	mtt_pgsz_init(&u.pg);
	uint64_t missing = vmm_frame_runs(mr->as, va, len, umem_run, &u);
	g_assert(!missing); /* pinned pages are present */
	mr->sg_ents = u.pg.segs;
	unsigned pg_bits = mtt_pgsz_bits(&u.pg, va, len,
					 nic->cfg.mtt_max_page);
	mtt_destroy(&mr->mtt);
	mtt_init(&mr->mtt);
	nic_mr_set_shift(mr, pg_bits - NIC_PAGE_SHIFT);
	/* the IOMMU maps the same frames with the largest page both they
	 * and the IOVA are aligned to (iommu_pgsize), up to its max_page.
	 * (The MTT keeps the frames' page size: mlx5 over an IOMMU sees one
	 * contiguous IOVA segment and could choose larger MTT pages - not
	 * modelled.) */
	if (nic->iommu)
		mr->io_shift = iommu_page_shift(nic->iommu, mr->mtt_shift);
	bool writable = mr_writable(mr);
	uint64_t flags = MTT_VALID | (writable ? MTT_WRITE : 0);
	uint64_t ppe = 1ULL << mr->mtt_shift; /* pages per entry */
	for (uint64_t e = 0; e < mr->nents; e++) {
		uint64_t pg0 = (mr->ent0 + e) << mr->mtt_shift; /* its page */
		uint64_t pg = pg0 < mr->first_page ? mr->first_page : pg0;
		uint64_t pfn;
		bool ok = vmm_page_frame(mr->as, pg << NIC_PAGE_SHIFT, &pfn);
		g_assert(ok);
		mtt_set(&mr->mtt, e, MTT_ENTRY(pfn - (pg & (ppe - 1)), flags));
	}
	nic_mr_flush(mr, 0, mr->npages - 1);
}

/* What building the umem of @pages pages (sg_ents entries) costs the CPU
 * besides pinning: the pin_user_pages_fast calls, the sg table, the DMA
 * mapping. */
static sim_time_t umem_cpu(const struct driver *drv, uint64_t pages,
			   uint64_t sg_ents)
{
	uint64_t calls = (pages + drv->cfg.pin_batch - 1) / drv->cfg.pin_batch;
	return calls * drv->cfg.pin_call_time + pages * drv->cfg.sg_page_time +
	       sg_ents * drv->cfg.dma_map_sg_time;
}

/* With an IOMMU, what ib_dma_map_sgtable_attrs() adds for @pages of a
 * pinned MR: one IOVA range (iommu_dma_map_sg) and its PTEs at the MR's
 * IOMMU page size. */
static sim_time_t umem_iommu_map(struct nic_mr *mr, uint64_t pages)
{
	struct iommu *io = mr->nic->iommu;
	if (!io || !pages)
		return 0;
	uint64_t ptes = (pages + (1ULL << mr->io_shift) - 1) >> mr->io_shift;
	return iommu_map(io, 1, ptes);
}

/*
 * pin: mlx5_ib_reg_user_mr() -> ib_umem_get() (pin_user_pages_fast in
 * batches, the sg table, DMA mapping) -> the page size -> an mkey
 * (alloc_cacheable_mr) -> mlx5r_umr_update_mr_pas(): the MTT written by
 * UMRs of up to 1 MiB each, posted and waited for one after the other.
 */
static void pin_done(void *ctx, int status, uint64_t npages)
{
	struct nic_mr *mr = ctx;
	struct driver *drv = mr->nic->drv;
	if (!vmm_fault_ok(status)) {
		reg_fail(mr, status == VMM_FAULT_OOM ? -ENOMEM : -EFAULT);
		return;
	}
	g_assert(npages == mr->npages);
	pin_umem_build(drv, mr);
	sim_time_t t = sim_now(drv->sim) + drv->cfg.reg_syscall_time +
		       umem_cpu(drv, mr->npages, mr->sg_ents) +
		       umem_iommu_map(mr, mr->npages);
	t = mkey_get(drv, mr, t);
	t = driver_umr_at(drv, t, mr->nents * 8);
	reg_finish_at(mr, t);
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
static void odp_snapshot_done(void *ctx, struct nic_mr *mr, int status,
			      uint64_t mapped)
{
	(void)ctx;
	(void)mapped;
	struct reg_req *r = mr->policy_priv;
	r->status = status;
	reg_finish_at(mr, sim_now(mr->nic->sim));
}

static void odp_reg(struct nic_mr *mr)
{
	struct driver *drv = mr->nic->drv;
	sim_time_t t = sim_now(drv->sim) + drv->cfg.reg_syscall_time;
	if (mr->ksm) {
		reg_finish_at(mr, driver_umr_at(drv, t, mr->ksm->nslots * 16));
		return;
	}
	/* create_user_odp_mr(): an mkey of npages 4 KiB entries, then
	 * mlx5_ib_init_odp_mr() maps the pages already present
	 * (MLX5_PF_FLAGS_SNAPSHOT: no fault) */
	mr_subscribe(mr);
	t = mkey_get(drv, mr, t);
	odp_snapshot(mr, t, odp_snapshot_done, NULL);
}
static void odp_dereg(struct nic_mr *mr)
{
	if (mr->ksm) {
		driver_imr_reset(mr);
		*mr->nic->drv->c_ksm_entries -= mr->ksm->nslots;
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
	/* the mkey, as odp's (the cache is not touched before: a failed
	 * prefetch takes none) */
	struct driver *drv = mr->nic->drv;
	sim_time_t t = sim_now(drv->sim) + drv->cfg.reg_syscall_time;
	if (!status)
		t = mkey_get(drv, mr, t);
	reg_finish_at(mr, t);
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
		reg_fail(mr, -ENOMEM);
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
	mr->as_name = vmm_as_name(as);
	mr->addr = addr;
	mr->length = len;
	mr->index = ++nic->next_mr_index;
	/* one mkey: lkey and rkey are the same key, as mlx5's */
	mr->lkey = mr->rkey = nic_mkey_alloc(nic);
	mr->mkey_order = -1;
	mtt_init(&mr->mtt);
	mr->policy = reg_policy_get((enum reg_policy_id)policy);
	/* odp_faults = pri: an explicit on-demand MR shares the process
	 * page table through the IOMMU (SVA) and faults by PRI */
	mr->sva = nic->iommu &&
		  iommu_cfg(nic->iommu)->odp_faults == IOMMU_ODP_PRI &&
		  (policy == REG_ODP || policy == REG_ODP_PREFETCH) &&
		  !(addr == 0 && len == UINT64_MAX);
	mr->dma_io = mr->sva ? NULL : nic->iommu;
	mr->access = access | (mr->policy->on_demand ? NIC_ACCESS_ON_DEMAND :
						       0);
	struct reg_req *r = g_new0(struct reg_req, 1);
	r->mr = mr;
	r->done = done;
	r->ctx = ctx;
	r->start = sim_now(nic->sim);
	mr->policy_priv = r;
	g_ptr_array_add(nic->reg_mrs, mr);
	if (mr->policy->on_demand)
		odp_mr_counters(mr);
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
		nic_mr_set_shift(mr, 0);
		if (!(access & NIC_ACCESS_ON_DEMAND) ||
		    (policy != REG_ODP && policy != REG_ODP_UNSAFE)) {
			/* an implicit MR maps on demand only: pinning,
			 * committing or prefetching the address space is
			 * not a registration (mlx5: -EINVAL) */
			reg_fail(mr, -EINVAL);
			return;
		}
		mr->policy->reg(mr);
		return;
	}
	mr->first_page = addr >> NIC_PAGE_SHIFT;
	uint64_t last = (addr + (len ? len : 1) - 1) >> NIC_PAGE_SHIFT;
	mr->npages = last - mr->first_page + 1;
	nic_mr_set_shift(mr, 0);
	mr->policy->reg(mr);
}

/*
 * mlx5_ib_dereg_mr(): the system call, then mlx5_revoke_mr() - an mkey
 * from the cache is revoked by a UMR (and goes back to the cache), an MR's
 * own is destroyed (DESTROY_MKEY) - after which "the NIC will not be
 * doing any DMA to the pages"; then ib_umem_release() unmaps the sg
 * table and unpins its pages (a pinned MR), or the ODP umem unmaps the
 * pages it mapped.
 */
sim_time_t driver_dereg_revoke(struct driver *drv, struct nic_mr *mr)
{
	if (!drv)
		return 0;
	sim_time_t t = drv->cfg.reg_syscall_time;
	if (mr->mkey_order >= 0 && !mr->ksm) {
		sim_time_t now = sim_now(drv->sim);
		t = driver_umr_at(drv, now + t, 0) - now;
	} else {
		(*drv->c_mkey_destroy)++;
		t += drv->cfg.destroy_mkey_time;
	}
	return t;
}

sim_time_t driver_dereg_teardown(struct driver *drv, struct nic_mr *mr,
				 sim_time_t t)
{
	if (!drv)
		return t;
	struct iommu *io = mr->sva ? NULL : mr->nic->iommu;
	if (mr->policy == &policies[REG_PIN]) {
		/* ib_dma_unmap_sgtable_attrs(): with an IOMMU one
		 * iommu_unmap of the MR's IOVA range and one sync (strict)
		 * or flush-queue entry (lazy), then the unpin */
		t += mr->sg_ents * drv->cfg.unmap_sg_time;
		if (io)
			t = iommu_unmap(io, t, mr->index,
					mr->first_page << NIC_PAGE_SHIFT,
					mr->npages << NIC_PAGE_SHIFT,
					mr->io_shift, 1);
		return t + vmm_unpin_cost(mr->as,
					  mr->first_page << NIC_PAGE_SHIFT,
					  mr->npages << NIC_PAGE_SHIFT);
	}
	uint64_t mapped = mr->mapped;
	if (mr->ksm)
		mapped = driver_imr_mapped(mr);
	t += mapped * drv->cfg.dma_unmap_time;
	if (io && mapped)
		t = iommu_unmap(io, t, mr->index, mr->addr, mr->length, 0,
				mapped);
	return t;
}

/* The mkey of a torn-down MR goes back to its cache entry. */
void driver_dereg_mkey(struct driver *drv, struct nic_mr *mr)
{
	if (drv && mr->mkey_order >= 0 && !mr->ksm)
		drv->mkey_avail[mr->mkey_order]++;
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
	/* rereg_mr: the new pages' umem, then the MTT rewritten at the page
	 * size the whole layout allows now */
	struct driver *drv = mr->nic->drv;
	mr->npages = q->new_npages;
	mr->length = q->new_len;
	pin_umem_build(drv, mr);
	nic_mr_regrant(mr);
	sim_time_t t = sim_now(drv->sim) + drv->cfg.reg_syscall_time +
		       umem_cpu(drv, q->new_npages - q->old_npages,
				mr->sg_ents) +
		       umem_iommu_map(mr, q->new_npages - q->old_npages);
	t = driver_umr_at(drv, t, mr->nents * 8);
	sim_schedule(mr->nic->sim, t, &ev_resize_finish, mr->nic->comp, q, 0);
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
		driver_mr_resize_go(mr);
}

void driver_mr_resize_go(struct nic_mr *mr)
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
	sim_time_t cost = nic->drv->cfg.reg_syscall_time;
	if (q->new_npages <= q->old_npages) {
		/* trim: no new access can reach the tail from now on */
		uint64_t lo = q->new_npages, hi = q->old_npages - 1;
		mr->length = new_len;
		nic_mr_regrant(mr);
		if (lo <= hi && mr->policy == &policies[REG_PIN]) {
			/* the MTT of what is left, rewritten (its page size
			 * may change); the tail stays pinned until DMA to it
			 * has landed */
			q->unpin_va = (mr->first_page + lo) << NIC_PAGE_SHIFT;
			q->unpin_len = (hi - lo + 1) << NIC_PAGE_SHIFT;
			mr->npages = q->new_npages;
			pin_umem_build(nic->drv, mr);
			sim_time_t now = sim_now(nic->sim);
			cost = driver_umr_at(nic->drv, now + cost,
					     mr->nents * 8) - now;
		} else if (lo <= hi) {
			uint64_t n = mtt_zap(&mr->mtt, lo, hi);
			if (mr->policy->on_demand)
				mr->mapped -= n;
			nic_mr_flush(mr, lo, hi);
			q->unpin_va = (mr->first_page + lo) << NIC_PAGE_SHIFT;
			q->unpin_len = (hi - lo + 1) << NIC_PAGE_SHIFT;
			mr->npages = q->new_npages;
			nic_mr_set_shift(mr, mr->mtt_shift);
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
	nic_mr_set_shift(mr, mr->mtt_shift);
	mr->length = new_len;
	nic_mr_regrant(mr);
	resubscribe(mr);
	if (mr->policy == &policies[REG_ODP_PREFETCH] || mr->committed)
		nic_advise_mr(mr, NIC_ADVISE_PREFETCH_WRITE, old_end,
			      mr->addr + new_len - old_end, resize_prefetched,
			      q);
	else
		sim_schedule_in(nic->sim, cost, &ev_resize_finish, nic->comp,
				q, 0);
}
