/*
 * vmm/vmm.c - one host's memory manager: parameters, construction,
 * address spaces and VMAs, translation, unmapping, fork, pinning,
 * reservations and the oracle's view of frames.
 *
 * Representation: a host is a frame array (vmm/frame.h, 24 bytes per 4 KiB
 * frame) and a set of address spaces, each a sorted array of VMAs and a
 * sparse 4-level page table (vmm/pt.h, 8 bytes per mapped page plus
 * 1/512th of a node per level above).  VMM state per resident page is thus
 * 24 + 8 (+ about 0.02) bytes.  Shared (copy-on-write) frames keep the list
 * of address spaces mapping them in a side table, since fork is rare.
 * Faults are in fault.c, reclaim in reclaim.c, moves in move.c, the
 * notifier in notifier.c, ELF images in elf.c.
 *
 * Workload assumed: lookups and faults dominate; VMA changes, fork and
 * reservations happen at set-up time; a few address spaces per host.
 */
#include <string.h>

#include "sim/stats.h"
#include "vmm/vmm_int.h"

G_DEFINE_QUARK(odpsim-vmm-error-quark, vmm_error)

static const char *const frame_orders[] = { "scattered", "ascending", NULL };

static const struct param vmm_tab[] = {
	{ "dram_latency", PT_TIME, "90ns",
	  offsetof(struct vmm_config, dram_latency),
	  "latency of one memory access of a page-table walk",
	  "idle DRAM load latency of current x86 servers, 80-100 ns (Intel "
	  "Memory Latency Checker figures)", NULL, 0, 1e9 },
	{ "walk_levels", PT_COUNT, "4",
	  offsetof(struct vmm_config, walk_levels),
	  "memory accesses of a 4 KiB page-table walk (one fewer under a "
	  "huge leaf)",
	  "x86-64 4-level paging (Intel SDM vol. 3A, 4.5), no paging-"
	  "structure caches", NULL, 1, 5 },
	{ "minor_fault_time", PT_TIME, "1us",
	  offsetof(struct vmm_config, minor_fault_time),
	  "mean CPU service time of a minor fault (zero-fill, page-cache "
	  "hit, COW break), page clearing included",
	  "zero-fill anonymous fault on Linux 6.6, Core i7-11th gen: median "
	  "1.0 us, min 0.58 us (rdtsc around a first touch); 1-10 us is the "
	  "usual quoted range", NULL, 0, 1e12 },
	{ "major_fault_time", PT_TIME, "5us",
	  offsetof(struct vmm_config, major_fault_time),
	  "mean CPU service time of a major fault, device time excluded",
	  "swap-in CPU path (entry, swap cache, block I/O submit and "
	  "completion) of a few us", NULL, 0, 1e12 },
	{ "fault_jitter", PT_FLOAT, "0.2",
	  offsetof(struct vmm_config, fault_jitter),
	  "share of a fault's CPU time drawn from an exponential (the rest "
	  "is fixed); 0 gives fixed service times",
	  "modelling choice: a short tail", NULL, 0, 1 },
	{ "swap_latency", PT_TIME, "80us",
	  offsetof(struct vmm_config, swap_latency),
	  "access latency of the swap device",
	  "NVMe SSD 4 KiB random read, 80-200 us as quoted for major faults "
	  "on NVMe; the low end", NULL, 0, 1e12 },
	{ "swap_bandwidth", PT_RATE, "24Gbps",
	  offsetof(struct vmm_config, swap_bandwidth),
	  "transfer rate of the swap device (transfers are serialised)",
	  "about 3 GB/s, a PCIe 3.0 x4 NVMe SSD", NULL, 1e6, 1e13 },
	{ "swap_size", PT_SIZE, "16GiB", offsetof(struct vmm_config, swap_size),
	  "swap space; dirty pages are not reclaimed when it is full",
	  "a typical swap partition", NULL, 0, 1ULL << 50 },
	{ "watermark_low", PT_FLOAT, "0.02",
	  offsetof(struct vmm_config, watermark_low),
	  "share of DRAM free below which the reclaimer wakes",
	  "Linux low watermark shape (mm/page_alloc.c), scaled up so small "
	  "simulated hosts reclaim in visible bursts", NULL, 0, 0.9 },
	{ "watermark_high", PT_FLOAT, "0.04",
	  offsetof(struct vmm_config, watermark_high),
	  "share of DRAM free at which the reclaimer sleeps",
	  "as watermark_low", NULL, 0, 0.95 },
	{ "reclaim_scan_time", PT_TIME, "100ns",
	  offsetof(struct vmm_config, reclaim_scan_time),
	  "CPU time of the reclaimer per frame its clock looks at",
	  "order of the per-page cost of Linux shrink_page_list", NULL, 0,
	  1e12 },
	{ "reclaim_batch", PT_COUNT, "32",
	  offsetof(struct vmm_config, reclaim_batch),
	  "evictions the reclaimer keeps in flight",
	  "SWAP_CLUSTER_MAX = 32 in Linux", NULL, 1, 1e6 },
	{ "pin_time", PT_TIME, "34ns", offsetof(struct vmm_config, pin_time),
	  "CPU time to pin one present small (4 KiB) page: pin_user_pages_"
	  "fast's gup_fast walk and try_grab_folio(FOLL_PIN), an atomic on "
	  "the page's struct page",
	  "calibrated: with [driver] pin_call_time, sg_page_time and "
	  "dma_map_sg_time a pre-touched 4 KiB registration costs 12.3 ms/GB, "
	  "Mooncake PR #855's 49.198 s for 500 GB registered sequentially on "
	  "(an inference) 8 NICs, read as 4 KiB pages (odpsim validate: "
	  "reg_mooncake.ini)", NULL, 0, 1e12 },
	{ "pin_huge_time", PT_TIME, "300ns",
	  offsetof(struct vmm_config, pin_huge_time),
	  "CPU time to pin a PMD-mapped huge page (its 512 subpages)",
	  "estimate: gup_fast_pmd_leaf() takes the folio with one grab and "
	  "record_subpages() writes 512 page pointers (mm/gup.c)", NULL, 0,
	  1e12 },
	{ "unpin_time", PT_TIME, "10ns",
	  offsetof(struct vmm_config, unpin_time),
	  "CPU time to unpin one small page at deregistration "
	  "(unpin_user_page_range_dirty_lock: folio_mark_dirty_lock, "
	  "gup_put_folio)",
	  "calibrated: with [driver] unmap_sg_time a 4 KiB deregistration "
	  "costs 2.9 ms/GB, Mooncake PR #855's 11.754 s for 500 GB "
	  "sequentially on (an inference) 8 NICs (odpsim validate: "
	  "reg_mooncake.ini)", NULL, 0, 1e12 },
	{ "unpin_huge_time", PT_TIME, "100ns",
	  offsetof(struct vmm_config, unpin_huge_time),
	  "CPU time to unpin a huge page at deregistration",
	  "estimate: one dirty mark and one atomic per folio since J. "
	  "Martins' \"mm/gup: decrement head page once for group of "
	  "subpages\" (Linux 5.12), which took 16 GiB of THP from 87.6 to "
	  "23.2 ms (page by page to folio by folio)", NULL, 0, 1e12 },
	{ "copy_bandwidth", PT_RATE, "80Gbps",
	  offsetof(struct vmm_config, copy_bandwidth),
	  "memory copy rate of a page move or COW copy",
	  "single-core memcpy about 10 GB/s", NULL, 1e6, 1e14 },
	{ "huge_pages", PT_BOOL, "false",
	  offsetof(struct vmm_config, huge_pages),
	  "transparent huge pages: anonymous faults in a free, wholly "
	  "mapped 2 MiB region get a 2 MiB frame",
	  "off: THP 'madvise' default of many distributions", NULL, 0, 0 },
	{ "frame_order", PT_ENUM, "scattered",
	  offsetof(struct vmm_config, frame_order),
	  "order in which never-used frames are handed out: scattered (the "
	  "frames of each 2 MiB block bit-reversed, so consecutive "
	  "allocations are never physically adjacent, while wholly free "
	  "blocks stay whole for huge pages) or ascending (a freshly booted "
	  "buddy allocator: consecutive faults get adjacent frames, and "
	  "pinned MRs large MTT entries)",
	  "estimate: Linux serves order-0 pages from per-CPU lists that every "
	  "free refills, so on a host that has been running an application's "
	  "pages are rarely physically adjacent and ib_umem_find_best_pgsz() "
	  "finds 4 KiB for ordinary memory; ascending is the order of a "
	  "fresh boot", frame_orders, 0, 0 },
	{ "numa_nodes", PT_COUNT, "1", offsetof(struct vmm_config, numa_nodes),
	  "NUMA nodes DRAM is split into (evenly)", "a single-socket host",
	  NULL, 1, 64 },
	{ "image", PT_STRING, "", offsetof(struct vmm_config, image),
	  "ELF file whose PT_LOAD segments form the host's process (address "
	  "space 'main'); empty: none", "", NULL, 0, 0 },
};
PARAM_TABLE(vmm_params, "vmm",
	    "host memory manager ([vmm] for every host, [vmm NAME] for one)",
	    vmm_tab);

const char *const vmm_fault_status_names[] = {
	[VMM_FAULT_PRESENT] = "present", [VMM_FAULT_MINOR] = "minor",
	[VMM_FAULT_MAJOR] = "major",     [VMM_FAULT_SEGV] = "segv",
	[VMM_FAULT_OOM] = "oom",         [VMM_FAULT_NSTATUS] = NULL,
};

/* ---- host ---- */

const char *vmm_config_check(const struct vmm_config *cfg, const char **key)
{
	if (cfg->watermark_high < cfg->watermark_low) {
		*key = "watermark_high";
		return "must not be below watermark_low";
	}
	return NULL;
}

struct vmm *vmm_new(struct sim *sim, const char *host_name,
		    uint64_t memory_bytes, const struct vmm_config *cfg)
{
	struct vmm *vmm = g_new0(struct vmm, 1);
	vmm->sim = sim;
	vmm->name = g_strdup(host_name);
	vmm->cfg = *cfg;
	vmm->cfg.image = g_strdup(cfg->image ? cfg->image : "");
	char *comp = g_strdup_printf("%s.vmm", host_name);
	vmm->comp = sim_component_add(sim, comp);
	rng_init(&vmm->rng, sim->seed, comp);
	g_free(comp);
	uint64_t n = memory_bytes >> VMM_PAGE_SHIFT;
	g_assert(n >= 1);
	unsigned nodes = cfg->numa_nodes ? (unsigned)cfg->numa_nodes : 1;
	if (nodes > n)
		nodes = (unsigned)n;
	frame_alloc_init(&vmm->fa, n, nodes, (enum frame_order)cfg->frame_order);
	vmm->as_by_id = g_ptr_array_new();
	vmm->as_by_name = g_hash_table_new(g_str_hash, g_str_equal);
	vmm->swap_slots = cfg->swap_size >> VMM_PAGE_SHIFT;
	vmm->wm_low = (uint64_t)(cfg->watermark_low * (double)n);
	vmm->wm_high = (uint64_t)(cfg->watermark_high * (double)n);
	if (vmm->wm_high < vmm->wm_low)
		vmm->wm_high = vmm->wm_low;
	vmm->free_scan = UINT64_MAX;
	vmm->sharers = g_hash_table_new_full(g_int64_hash, g_int64_equal,
					     g_free,
					     (GDestroyNotify)g_array_unref);
	vmm->fault_chunks = g_ptr_array_new_with_free_func(g_free);
	vmm->pin_reqs = g_hash_table_new_full(NULL, NULL, g_free, NULL);
	struct stats *st = sim->stats;
	const char *h = host_name;
	struct vmm_counters *c = &vmm->c;
	c->minor = stats_counter(st, "%s.vmm.faults.minor", h);
	c->remote_faults = stats_counter(st, "%s.vmm.faults.remote", h);
	c->major = stats_counter(st, "%s.vmm.faults.major", h);
	c->segv = stats_counter(st, "%s.vmm.segv", h);
	c->reclaim = stats_counter(st, "%s.vmm.reclaim.pages", h);
	c->skipped_pinned = stats_counter(st, "%s.vmm.reclaim.skipped_pinned", h);
	c->skipped_committed =
		stats_counter(st, "%s.vmm.reclaim.skipped_committed", h);
	c->writebacks = stats_counter(st, "%s.vmm.reclaim.writebacks", h);
	c->moves = stats_counter(st, "%s.vmm.moves", h);
	c->move_failed_pinned =
		stats_counter(st, "%s.vmm.move_failed_pinned", h);
	c->move_failed = stats_counter(st, "%s.vmm.move_failed", h);
	c->invalidations = stats_counter(st, "%s.vmm.invalidations", h);
	c->oom = stats_counter(st, "%s.vmm.oom", h);
	c->resident = stats_counter(st, "%s.vmm.resident_pages", h);
	c->pinned = stats_counter(st, "%s.vmm.pinned_pages", h);
	c->committed = stats_counter(st, "%s.vmm.committed_pages", h);
	c->commit_failed = stats_counter(st, "%s.vmm.commit_failed", h);
	c->cow = stats_counter(st, "%s.vmm.cow_copies", h);
	c->collapses = stats_counter(st, "%s.vmm.huge.collapses", h);
	c->splits = stats_counter(st, "%s.vmm.huge.splits", h);
	c->split_failed_pinned =
		stats_counter(st, "%s.vmm.huge.split_failed_pinned", h);
	c->swap_pages = stats_counter(st, "%s.vmm.swap.pages", h);
	c->fault_lat = stats_hist(st, "%s.vmm.fault_latency_ps", h);
	return vmm;
}

void vmm_free(struct vmm *vmm)
{
	if (!vmm)
		return;
	for (guint i = 0; i < vmm->as_by_id->len; i++) {
		struct vmm_as *as = vmm->as_by_id->pdata[i];
		if (!as)
			continue;
		/* no callbacks at teardown: subscribers may be gone already,
		 * and operations in flight are simply dropped */
		for (guint j = 0; j < as->subs->len; j++)
			g_free(as->subs->pdata[j]);
		pt_destroy(&as->pt);
		for (guint j = 0; j < as->vmas->len; j++)
			g_free(g_array_index(as->vmas, struct vmm_vma, j).name);
		g_array_free(as->vmas, TRUE);
		if (as->words)
			g_hash_table_destroy(as->words);
		g_ptr_array_free(as->subs, TRUE);
		if (as->fp_ranges)
			g_ptr_array_free(as->fp_ranges, TRUE);
		g_free(as->name);
		g_free(as);
	}
	g_ptr_array_free(vmm->as_by_id, TRUE);
	g_hash_table_destroy(vmm->as_by_name);
	vmm_inval_pool_free(vmm);
	g_hash_table_destroy(vmm->pin_reqs);
	g_ptr_array_free(vmm->fault_chunks, TRUE);
	g_hash_table_destroy(vmm->sharers);
	frame_alloc_destroy(&vmm->fa);
	g_free(vmm->swap_ver);
	g_free(vmm->remote_ver);
	if (vmm->dlog)
		g_hash_table_destroy(vmm->dlog);
	g_free(vmm->swap_free);
	g_free(vmm->cfg.image);
	g_free(vmm->name);
	g_free(vmm);
}

const struct vmm_config *vmm_config(const struct vmm *vmm)
{
	return &vmm->cfg;
}

uint64_t vmm_total_frames(const struct vmm *vmm)
{
	return vmm->fa.n;
}

uint64_t vmm_free_frames(const struct vmm *vmm)
{
	return vmm->fa.nfree;
}

unsigned vmm_frame_node(const struct vmm *vmm, uint64_t pfn)
{
	return frame_node(&vmm->fa, pfn);
}

void vmm_trace(struct vmm *vmm, const struct vmm_as *as,
	       const struct trace_kind *k, uint64_t va, uint64_t pfn,
	       uint64_t len, const char *detail)
{
	sim_trace_as(vmm->sim, vmm->comp, k, as ? as->name : NULL, TRACE_NONE,
		     TRACE_NONE, va, pfn, len, detail);
}

sim_time_t vmm_dev_xfer(struct vmm *vmm, uint64_t bytes)
{
	sim_time_t now = sim_now(vmm->sim);
	sim_time_t start = vmm->dev_busy_until > now ? vmm->dev_busy_until
						     : now;
	sim_time_t x = sim_xfer_ps(bytes, vmm->cfg.swap_bandwidth);
	vmm->dev_busy_until = start + x;
	return start + x + vmm->cfg.swap_latency - now;
}

sim_time_t vmm_copy_time(const struct vmm *vmm, uint64_t pages)
{
	return sim_xfer_ps(pages << VMM_PAGE_SHIFT, vmm->cfg.copy_bandwidth);
}

uint64_t vmm_alloc_frame(struct vmm *vmm, int node, bool from_reserve)
{
	uint64_t p;
	if (from_reserve) {
		g_assert(vmm->reserved > 0 && vmm->fa.nfree >= vmm->reserved);
		vmm->reserved--;
		p = frame_alloc_one(&vmm->fa, node);
		g_assert(p != FRAME_NIL);
	} else {
		if (vmm->fa.nfree <= vmm->reserved)
			return FRAME_NIL;
		p = frame_alloc_one(&vmm->fa, node);
	}
	if (p != FRAME_NIL)
		vmm_frame_gone(vmm, p, VMM_FRAME_TAKEN);
	if (vmm->fa.nfree < vmm->wm_low)
		vmm_kswapd_maybe(vmm);
	return p;
}

void vmm_frame_gone(struct vmm *vmm, uint64_t pfn, enum vmm_frame_event ev)
{
	if (vmm->hook)
		vmm->hook(vmm->hook_ctx, pfn, ev);
}

void vmm_set_frame_hook(struct vmm *vmm, vmm_frame_hook_fn fn, void *ctx)
{
	vmm->hook = fn;
	vmm->hook_ctx = ctx;
}

/* ---- address spaces and VMAs ---- */

struct vmm_as *vmm_as_new(struct vmm *vmm, const char *name)
{
	struct vmm_as *as = g_new0(struct vmm_as, 1);
	as->vmm = vmm;
	as->name = g_strdup(name);
	as->node = -1;
	as->vmas = g_array_new(FALSE, FALSE, sizeof(struct vmm_vma));
	as->subs = g_ptr_array_new();
	pt_init(&as->pt);
	g_ptr_array_add(vmm->as_by_id, as);
	as->id = vmm->as_by_id->len;
	if (!g_hash_table_contains(vmm->as_by_name, as->name))
		g_hash_table_insert(vmm->as_by_name, as->name, as);
	g_assert(as->id < (1u << (64 - FRAME_VPN_BITS)));
	return as;
}

uint32_t vmm_as_id(const struct vmm_as *as)
{
	return as->id;
}

uint32_t vmm_as_count(const struct vmm *vmm)
{
	return vmm->as_by_id->len;
}

struct vmm_as *vmm_as_by_id(struct vmm *vmm, uint32_t id)
{
	if (id == 0 || id > vmm->as_by_id->len)
		return NULL;
	return vmm->as_by_id->pdata[id - 1];
}

struct vmm_as *vmm_as_find(struct vmm *vmm, const char *name)
{
	/* the first created of that name, as a search by id would find */
	return g_hash_table_lookup(vmm->as_by_name, name);
}

struct vmm *vmm_as_vmm(const struct vmm_as *as)
{
	return as->vmm;
}

const char *vmm_as_name(const struct vmm_as *as)
{
	return as->name;
}

void vmm_as_set_node(struct vmm_as *as, unsigned node)
{
	as->node = (int)(node % as->vmm->fa.nodes);
}

struct vmm_as *vmm_as_of_owner(struct vmm *vmm, uint64_t owner, uint64_t *va)
{
	if (owner == FRAME_NO_OWNER)
		return NULL;
	*va = frame_owner_vpn(owner) << VMM_PAGE_SHIFT;
	return vmm_as_by_id(vmm, frame_owner_as(owner));
}

/* index of the first VMA with end > va */
static guint vma_search(const struct vmm_as *as, uint64_t va)
{
	guint lo = 0, hi = as->vmas->len;
	while (lo < hi) {
		guint mid = (lo + hi) / 2;
		if (g_array_index(as->vmas, struct vmm_vma, mid).end <= va)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct vmm_vma *vmm_vma_at(const struct vmm_as *as, uint64_t va)
{
	guint i = vma_search(as, va);
	if (i == as->vmas->len)
		return NULL;
	const struct vmm_vma *v = &g_array_index(as->vmas, struct vmm_vma, i);
	return v->start <= va ? v : NULL;
}

static void vma_info(const struct vmm_vma *v, struct vmm_vma_info *out)
{
	out->start = v->start;
	out->end = v->end;
	out->prot = v->prot;
	out->kind = v->kind;
	out->name = v->name;
}

unsigned vmm_vma_count(const struct vmm_as *as)
{
	return as->vmas->len;
}

bool vmm_vma_get(const struct vmm_as *as, unsigned i,
		 struct vmm_vma_info *out)
{
	if (i >= as->vmas->len)
		return false;
	vma_info(&g_array_index(as->vmas, struct vmm_vma, i), out);
	return true;
}

bool vmm_vma_find(const struct vmm_as *as, uint64_t va,
		  struct vmm_vma_info *out)
{
	const struct vmm_vma *v = vmm_vma_at(as, va);
	if (v && out)
		vma_info(v, out);
	return v != NULL;
}

static bool vma_insert(struct vmm_as *as, uint64_t va, uint64_t len,
		       unsigned prot, enum vmm_vma_kind kind, const char *name,
		       GError **error)
{
	if (len == 0 || (va | len) & (VMM_PAGE_SIZE - 1) ||
	    va + len > (1ULL << VMM_VA_BITS) || va + len < va) {
		g_set_error(error, VMM_ERROR, 0,
			    "%s: mmap [0x%" G_GINT64_MODIFIER "x, +0x%"
			    G_GINT64_MODIFIER "x): not page-aligned or outside "
			    "the %d-bit address space",
			    as->name, va, len, VMM_VA_BITS);
		return false;
	}
	guint i = vma_search(as, va);
	if (i < as->vmas->len &&
	    g_array_index(as->vmas, struct vmm_vma, i).start < va + len) {
		g_set_error(error, VMM_ERROR, 0,
			    "%s: mmap [0x%" G_GINT64_MODIFIER "x, +0x%"
			    G_GINT64_MODIFIER "x) overlaps a mapping",
			    as->name, va, len);
		return false;
	}
	struct vmm_vma v = { va, va + len, prot, kind, g_strdup(name) };
	g_array_insert_val(as->vmas, i, v);
	return true;
}

static const char *kind_name(enum vmm_vma_kind k)
{
	return k == VMM_VMA_ANON ? "anon" : k == VMM_VMA_FILE ? "file"
							       : "file-private";
}

bool vmm_mmap(struct vmm_as *as, uint64_t va, uint64_t len, unsigned prot,
	      enum vmm_vma_kind kind, GError **error)
{
	return vma_insert(as, va, len, prot, kind, kind_name(kind), error);
}

bool vmm_mmap_named(struct vmm_as *as, uint64_t va, uint64_t len,
		    unsigned prot, enum vmm_vma_kind kind, const char *name,
		    GError **error)
{
	return vma_insert(as, va, len, prot, kind, name, error);
}

uint64_t vmm_mmap_anywhere(struct vmm_as *as, uint64_t len, unsigned prot,
			   enum vmm_vma_kind kind, GError **error)
{
	/* above everything mapped, 2 MiB aligned, from 1 GiB up */
	uint64_t va = 1ULL << 30;
	if (as->vmas->len) {
		uint64_t top = g_array_index(as->vmas, struct vmm_vma,
					     as->vmas->len - 1).end;
		if (top > va)
			va = top;
	}
	va = (va + VMM_HUGE_SIZE - 1) & ~(VMM_HUGE_SIZE - 1);
	len = (len + VMM_PAGE_SIZE - 1) & ~(VMM_PAGE_SIZE - 1);
	if (!vmm_mmap(as, va, len, prot, kind, error))
		return 0;
	return va;
}

/* ---- translation ---- */

bool vmm_lookup(struct vmm_as *as, uint64_t va, bool write, uint64_t *pfn)
{
	int level;
	uint64_t *e = pt_leaf(&as->pt, va, &level);
	if (!e || !pte_usable(*e) || (write && !(*e & PTE_W)))
		return false;
	uint64_t p = pte_pfn(*e);
	if (level == 2)
		p += (va >> VMM_PAGE_SHIFT) & (VMM_HUGE_PAGES - 1);
	*e |= PTE_A | (write ? PTE_D : 0);
	struct frame *f = frame_at(&as->vmm->fa, p);
	f->flags |= FR_ACC | (write ? FR_DIRTY : 0);
	if (write)
		vmm_dlog_write(as->vmm, p);
	*pfn = p;
	return true;
}

sim_time_t vmm_walk_cost(const struct vmm_as *as, uint64_t va)
{
	int reads = pt_walk_levels(&as->pt, va);
	/* a configured shorter walk (paging-structure caches) caps it */
	if ((uint64_t)reads > as->vmm->cfg.walk_levels)
		reads = (int)as->vmm->cfg.walk_levels;
	return (sim_time_t)reads * as->vmm->cfg.dram_latency;
}

/* ---- frames for the oracle ---- */

bool vmm_frame_owner(const struct vmm *vmm, uint64_t pfn, uint32_t *as_id,
		     uint64_t *vpn)
{
	if (pfn >= vmm->fa.n)
		return false;
	const struct frame *f = frame_peek(&vmm->fa, pfn);
	if (f->owner == FRAME_NO_OWNER)
		return false;
	*as_id = frame_owner_as(f->owner);
	*vpn = frame_owner_vpn(f->owner);
	return true;
}

uint64_t vmm_frame_version(const struct vmm *vmm, uint64_t pfn)
{
	g_assert(pfn < vmm->fa.n);
	return frame_peek(&vmm->fa, pfn)->version;
}

void vmm_frame_set_version(struct vmm *vmm, uint64_t pfn, uint64_t version)
{
	g_assert(pfn < vmm->fa.n);
	struct frame *f = frame_at(&vmm->fa, pfn);
	f->version = version;
	f->flags |= FR_DIRTY;
	if (G_UNLIKELY(vmm->dlog != NULL) && vmm->dlog_dma)
		vmm_dlog_pfn(vmm, pfn);
}

bool vmm_frame_settle(struct vmm *vmm, uint64_t pfn, uint32_t as_id,
		      uint64_t vpn, bool write, uint64_t version)
{
	if (pfn >= vmm->fa.n)
		return false;
	const struct frame *pf = frame_peek(&vmm->fa, pfn);
	if (pf->owner != frame_owner_pack(as_id, vpn))
		return false;
	if (write) {
		struct frame *f = frame_at(&vmm->fa, pfn);
		f->version = version;
		f->flags |= FR_DIRTY;
		if (G_UNLIKELY(vmm->dlog != NULL) && vmm->dlog_dma)
			vmm_dlog_pfn(vmm, pfn);
	}
	return true;
}

void vmm_mark_dirty(struct vmm *vmm, uint64_t pfn)
{
	g_assert(pfn < vmm->fa.n);
	frame_at(&vmm->fa, pfn)->flags |= FR_DIRTY | FR_ACC;
	vmm_dlog_write(vmm, pfn);
}

bool vmm_frame_dirty(const struct vmm *vmm, uint64_t pfn)
{
	g_assert(pfn < vmm->fa.n);
	return frame_peek(&vmm->fa, pfn)->flags & FR_DIRTY;
}

uint32_t vmm_frame_pins(const struct vmm *vmm, uint64_t pfn)
{
	g_assert(pfn < vmm->fa.n);
	return frame_peek(&vmm->fa, pfn)->pin;
}

uint64_t vmm_reserved_frames(const struct vmm *vmm)
{
	return vmm->reserved;
}

uint64_t vmm_pt_bytes(const struct vmm_as *as)
{
	return pt_bytes(&as->pt);
}

size_t vmm_frame_state_bytes(void)
{
	return sizeof(struct frame);
}

/* ---- shared (COW) frames ---- */

static void sharer_add(struct vmm *vmm, uint64_t pfn, uint32_t id)
{
	GArray *a = g_hash_table_lookup(vmm->sharers, &pfn);
	struct frame *f = frame_at(&vmm->fa, pfn);
	if (!a) {
		a = g_array_new(FALSE, FALSE, sizeof(uint32_t));
		uint32_t o = frame_owner_as(f->owner);
		g_array_append_val(a, o);
		uint64_t *k = g_new(uint64_t, 1);
		*k = pfn;
		g_hash_table_insert(vmm->sharers, k, a);
	}
	g_array_append_val(a, id);
	g_assert(f->map < UINT8_MAX);
	f->map++;
}

void vmm_sharer_remove(struct vmm *vmm, uint64_t pfn, uint32_t id,
		       enum vmm_frame_event ev)
{
	GArray *a = g_hash_table_lookup(vmm->sharers, &pfn);
	struct frame *f = frame_at(&vmm->fa, pfn);
	g_assert(a && f->map > 1);
	for (guint i = 0; i < a->len; i++)
		if (g_array_index(a, uint32_t, i) == id) {
			g_array_remove_index(a, i);
			break;
		}
	f->map--;
	if (frame_owner_as(f->owner) == id) {
		/* the frame passes to another sharer: for the oracle, the
		 * page it named is gone from it */
		vmm_frame_gone(vmm, pfn, ev);
		vmm_fp_owner_change(vmm, pfn,
				    frame_owner_pack(g_array_index(a, uint32_t,
								   0),
						     frame_owner_vpn(f->owner)));
	}
	if (f->map == 1)
		g_hash_table_remove(vmm->sharers, &pfn);
}

/* ---- unmapping ---- */

/* Drop the 4 KiB page at @va whose entry is *pte (frame attached): the
 * frame is freed, orphaned (pinned) or unshared. */
void vmm_unmap_page_now(struct vmm_as *as, uint64_t va, uint64_t *pte,
			enum vmm_frame_event ev)
{
	struct vmm *vmm = as->vmm;
	g_assert(*pte & PTE_P);
	uint64_t p = pte_pfn(*pte);
	struct frame *f = frame_at(&vmm->fa, p);
	vmm_fp_count(as, va, VMM_FP_RESIDENT, -1);
	if (f->map > 1) {
		vmm_sharer_remove(vmm, p, as->id, ev);
		f->flags &= (uint8_t)~FR_BUSY;
	} else {
		vmm_frame_gone(vmm, p, ev);
		if (f->flags & FR_COMMIT) {
			(*vmm->c.committed)--;
			vmm_fp_count_frame(vmm, p, VMM_FP_COMMITTED, -1);
		}
		(*vmm->c.resident)--;
		if (f->pin) {
			/* an orphan: pinned still, but no one's page */
			vmm_fp_count_frame(vmm, p, VMM_FP_PINNED, -1);
			f->owner = FRAME_NO_OWNER;
			f->flags = (uint8_t)((f->flags & (FR_ONLIST | FR_DIRTY)) |
					     FR_ORPHAN);
			f->map = 0;
		} else {
			frame_release(&vmm->fa, p);
		}
	}
	pt_set(&as->pt, va, 0);
}

/* Drop a not-present entry (swap slot, reservation). */
static void drop_nonpresent(struct vmm_as *as, uint64_t va, uint64_t pte)
{
	struct vmm *vmm = as->vmm;
	g_assert(!(pte & PTE_P));
	if (pte & PTE_SWAP) {
		if (!(pte_pfn(pte) & VMM_REMOTE_SLOT))
			vmm_fp_count(as, va, VMM_FP_SWAPPED, -1);
		vmm_swap_free(vmm, pte_pfn(pte));
	}
	if (pte & PTE_COMMIT) {
		g_assert(vmm->reserved > 0);
		vmm->reserved--;
	}
	pt_set(&as->pt, va, 0);
}

/* Replace the huge leaf at @va by 512 small entries (same frames). */
void vmm_split_now(struct vmm_as *as, uint64_t va)
{
	struct vmm *vmm = as->vmm;
	int level;
	uint64_t base = va & ~(VMM_HUGE_SIZE - 1);
	uint64_t pte = pt_get(&as->pt, base, &level);
	g_assert(level == 2 && (pte & PTE_P) && !(pte & PTE_BUSY));
	uint64_t p0 = pte_pfn(pte);
	uint64_t flags = pte & (PTE_P | PTE_W | PTE_D | PTE_A | PTE_COMMIT |
				PTE_COW);
	pt_set_huge(&as->pt, base, 0);
	for (uint64_t i = 0; i < VMM_HUGE_PAGES; i++) {
		frame_at(&vmm->fa, p0 + i)->flags &= (uint8_t)~FR_HUGE;
		pt_set(&as->pt, base + (i << VMM_PAGE_SHIFT),
		       pte_make(p0 + i, flags));
	}
	(*vmm->c.splits)++;
}

static void zap_acked(struct vmm *vmm, struct vmm_inval *iv)
{
	struct vmm_as *as = iv->as;
	int level;
	for (uint64_t va = pt_next(&as->pt, iv->start, iv->end, &level);
	     va < iv->end; va = pt_next(&as->pt, va + VMM_PAGE_SIZE, iv->end,
					&level)) {
		uint64_t *e = pt_leaf(&as->pt, va, &level);
		if (level != 1 || !(*e & PTE_UNMAP))
			continue;
		*e &= ~(uint64_t)(PTE_UNMAP | PTE_BUSY);
		frame_at(&vmm->fa, pte_pfn(*e))->flags &= (uint8_t)~FR_BUSY;
		vmm_unmap_page_now(as, va, e, VMM_FRAME_FREED);
	}
	vmm_inval_end(vmm, iv);
	vmm_wake(vmm);
}

/* Take [start, end) out of the page table (VMAs are the caller's). */
static void zap_range(struct vmm_as *as, uint64_t start, uint64_t end,
		      enum vmm_reason reason)
{
	struct vmm *vmm = as->vmm;
	int level;
	for (uint64_t va = pt_next(&as->pt, start, end, &level); va < end;
	     va = pt_next(&as->pt, va + VMM_PAGE_SIZE, end, &level)) {
		uint64_t *e = pt_leaf(&as->pt, va, &level);
		if (level == 2) {
			if (*e & PTE_BUSY) {
				/* a huge fault in flight: it frees it all */
				*e |= PTE_ZAP;
				va = (va | (VMM_HUGE_SIZE - 1)) + 1 -
				     VMM_PAGE_SIZE;
				continue;
			}
			vmm_split_now(as, va);
			e = pt_leaf(&as->pt, va, &level);
		}
		if (!(*e & PTE_P)) {
			drop_nonpresent(as, va, *e);
			continue;
		}
		if (*e & (PTE_UNMAP | PTE_ZAP))
			continue; /* someone is already taking it out */
		struct frame *f = frame_at(&vmm->fa, pte_pfn(*e));
		if ((*e & PTE_BUSY) || (f->flags & FR_BUSY)) {
			*e |= PTE_ZAP | PTE_BUSY; /* its operation frees it */
		} else {
			*e |= PTE_UNMAP | PTE_BUSY;
			f->flags |= FR_BUSY;
		}
	}
	struct vmm_inval *iv = vmm_inval_new(as, start, end, reason, zap_acked);
	vmm_inval_go(vmm, iv);
}

static bool range_ok(uint64_t *va, uint64_t *len)
{
	uint64_t s = *va & ~(VMM_PAGE_SIZE - 1);
	uint64_t e = (*va + *len + VMM_PAGE_SIZE - 1) & ~(VMM_PAGE_SIZE - 1);
	if (e > (1ULL << VMM_VA_BITS))
		e = 1ULL << VMM_VA_BITS;
	*va = s;
	*len = e > s ? e - s : 0;
	return *len > 0;
}

uint64_t vmm_word_get(struct vmm_as *as, uint64_t va)
{
	return as->words ? (uint64_t)GPOINTER_TO_SIZE(g_hash_table_lookup(
				   as->words, GSIZE_TO_POINTER((gsize)va)))
			 : 0;
}

void vmm_word_set(struct vmm_as *as, uint64_t va, uint64_t v)
{
	if (!as->words)
		as->words = g_hash_table_new(g_direct_hash, g_direct_equal);
	if (v)
		g_hash_table_insert(as->words, GSIZE_TO_POINTER((gsize)va),
				    GSIZE_TO_POINTER((gsize)v));
	else
		g_hash_table_remove(as->words, GSIZE_TO_POINTER((gsize)va));
}

static gboolean word_in(gpointer k, gpointer v, gpointer range)
{
	(void)v;
	const uint64_t *r = range;
	uint64_t va = (uint64_t)GPOINTER_TO_SIZE(k);
	return va >= r[0] && va < r[1];
}

void vmm_munmap(struct vmm_as *as, uint64_t va, uint64_t len)
{
	if (!range_ok(&va, &len))
		return;
	uint64_t end = va + len;
	if (as->words) { /* the words go with their pages */
		uint64_t r[2] = { va, end };
		g_hash_table_foreach_remove(as->words, word_in, r);
	}
	/* cut the VMAs */
	for (guint i = vma_search(as, va); i < as->vmas->len;) {
		struct vmm_vma *v = &g_array_index(as->vmas, struct vmm_vma, i);
		if (v->start >= end)
			break;
		if (v->start < va && v->end > end) { /* hole in the middle */
			struct vmm_vma tail = *v;
			tail.start = end;
			tail.name = g_strdup(v->name);
			v->end = va;
			g_array_insert_val(as->vmas, i + 1, tail);
			break;
		}
		if (v->start < va) {
			v->end = va;
			i++;
		} else if (v->end > end) {
			v->start = end;
			break;
		} else {
			g_free(v->name);
			g_array_remove_index(as->vmas, i);
		}
	}
	zap_range(as, va, end, VMM_REASON_MUNMAP);
}

void vmm_madvise_dontneed(struct vmm_as *as, uint64_t va, uint64_t len)
{
	if (range_ok(&va, &len))
		zap_range(as, va, va + len, VMM_REASON_DONTNEED);
}

void vmm_as_free(struct vmm_as *as)
{
	struct vmm *vmm = as->vmm;
	vmm_munmap(as, 0, 1ULL << VMM_VA_BITS);
	/* operations still in flight keep the address space: it stays in
	 * the id table, empty, until vmm_free() */
	(void)vmm;
}

/* ---- fork ---- */

static void end_only(struct vmm *vmm, struct vmm_inval *iv)
{
	vmm_inval_end(vmm, iv);
}

struct vmm_as *vmm_fork(struct vmm_as *parent, const char *child_name)
{
	struct vmm *vmm = parent->vmm;
	struct vmm_as *child = vmm_as_new(vmm, child_name);
	child->node = parent->node;
	for (guint i = 0; i < parent->vmas->len; i++) {
		struct vmm_vma *v = &g_array_index(parent->vmas,
						   struct vmm_vma, i);
		g_assert(vma_insert(child, v->start, v->end - v->start,
				    v->prot, v->kind, v->name, NULL));
		if (v->prot & VMM_PROT_WRITE) {
			/* write-protecting the parent's pages invalidates */
			struct vmm_inval *iv = vmm_inval_new(
				parent, v->start, v->end, VMM_REASON_COW,
				end_only);
			vmm_inval_go(vmm, iv);
		}
		int level;
		for (uint64_t va = pt_next(&parent->pt, v->start, v->end,
					   &level);
		     va < v->end; va = pt_next(&parent->pt, va + VMM_PAGE_SIZE,
					       v->end, &level)) {
			uint64_t *e = pt_leaf(&parent->pt, va, &level);
			if (level == 2) {
				if (*e & PTE_BUSY)
					continue; /* huge fault in flight */
				vmm_split_now(parent, va);
				e = pt_leaf(&parent->pt, va, &level);
			}
			uint64_t pte = *e;
			if (pte & PTE_SWAP) {
				uint64_t s = vmm_swap_alloc(vmm);
				if (s != UINT64_MAX) {
					vmm->swap_ver[s] = vmm_slot_version(
						vmm, pte_pfn(pte));
					pt_set(&child->pt, va,
					       pte_make(s, PTE_SWAP));
					vmm_fp_count(child, va, VMM_FP_SWAPPED,
						     1);
				}
				continue;
			}
			if (pte & PTE_EVICTED) {
				pt_set(&child->pt, va, PTE_EVICTED);
				continue;
			}
			/* pages in transit are not inherited (simplification) */
			if (!pte_usable(pte) ||
			    (frame_at(&vmm->fa, pte_pfn(pte))->flags & (FR_BUSY)))
				continue;
			uint64_t p = pte_pfn(pte);
			struct frame *pf = frame_at(&vmm->fa, p);
			if (pf->pin && pf->map == 1 &&
			    (v->prot & VMM_PROT_WRITE)) {
				/* a pinned page is copied for the child now, so
				 * the parent's DMA target stays its own and
				 * writable (Linux >= 5.8: page_needs_cow_for_dma,
				 * copy_present_page); the copy takes no time */
				uint64_t d = vmm_alloc_frame(vmm, child->node,
							     false);
				if (d != FRAME_NIL) {
					struct frame *df = frame_at(&vmm->fa, d);
					df->owner = frame_owner_pack(
						child->id, va >> VMM_PAGE_SHIFT);
					df->map = 1;
					df->version = pf->version;
					df->flags |= FR_DIRTY;
					(*vmm->c.resident)++;
					vmm_fp_count(child, va,
						     VMM_FP_RESIDENT, 1);
					pt_set(&child->pt, va,
					       pte_make(d, PTE_P | PTE_W | PTE_D));
					continue;
				}
			}
			if (v->prot & VMM_PROT_WRITE) {
				pte = (pte & ~(uint64_t)PTE_W) | PTE_COW;
				*e = pte;
			}
			sharer_add(vmm, p, child->id);
			vmm_fp_count(child, va, VMM_FP_RESIDENT, 1);
			pt_set(&child->pt, va,
			       pte & ~(uint64_t)(PTE_COMMIT | PTE_A));
		}
	}
	return child;
}

/* ---- pinning ---- */

struct pin_req {
	struct vmm_as *as;
	uint64_t va, cur, end;
	bool write;
	bool pin;          /* false: populate only */
	int worst;
	uint64_t npinned;  /* pages pinned (populate: present) */
	uint64_t nsmall, nhuge; /* small pages, huge pages met */
	uint64_t huge_base; /* the last huge page counted */
	vmm_pin_done_fn done;
	void *ctx;
};

static void pin_frame(struct vmm *vmm, uint64_t p)
{
	struct frame *f = frame_at(&vmm->fa, p);
	g_assert(f->pin < UINT16_MAX);
	if (f->pin++ == 0) {
		(*vmm->c.pinned)++;
		vmm_fp_count_frame(vmm, p, VMM_FP_PINNED, 1);
	}
}

static void unpin_frame(struct vmm *vmm, uint64_t p)
{
	struct frame *f = frame_at(&vmm->fa, p);
	g_assert(f->pin > 0);
	if (--f->pin)
		return;
	(*vmm->c.pinned)--;
	vmm_fp_count_frame(vmm, p, VMM_FP_PINNED, -1);
	if (f->flags & FR_ORPHAN) {
		f->flags &= (uint8_t)~FR_ORPHAN;
		vmm_frame_gone(vmm, p, VMM_FRAME_FREED);
		frame_release(&vmm->fa, p);
		vmm_wake(vmm);
	}
}

static void pin_done_ev(struct sim *sim, void *obj, uint64_t arg)
{
	(void)sim;
	(void)arg;
	struct pin_req *r = obj;
	struct vmm *vmm = r->as->vmm;
	vmm_pin_done_fn done = r->done;
	void *ctx = r->ctx;
	int worst = r->worst;
	uint64_t n = r->npinned;
	g_hash_table_remove(vmm->pin_reqs, r); /* frees it */
	done(ctx, worst, n);
}
SIM_EVKIND(ev_pin_done, "vmm_pin_done", pin_done_ev);

static void pin_step(struct pin_req *r);

static void pin_fault_done(void *ctx, int status, uint64_t pfn)
{
	(void)pfn;
	struct pin_req *r = ctx;
	if (!vmm_fault_ok(status)) {
		if (r->pin)
			vmm_unpin(r->as, r->va, r->cur - r->va);
		r->worst = status;
		r->npinned = 0;
		sim_schedule_in(r->as->vmm->sim, 0, &ev_pin_done,
				r->as->vmm->comp, r, 0);
		return;
	}
	if (status > r->worst)
		r->worst = status;
	pin_step(r);
}

static void pin_step(struct pin_req *r)
{
	struct vmm *vmm = r->as->vmm;
	while (r->cur < r->end) {
		uint64_t p;
		if (!vmm_lookup(r->as, r->cur, r->write, &p)) {
			vmm_fault_in(r->as, r->cur, r->write, pin_fault_done, r);
			return;
		}
		int level;
		pt_get(&r->as->pt, r->cur, &level);
		if (level == 2) {
			uint64_t base = r->cur & ~(VMM_HUGE_SIZE - 1);
			if (!r->nhuge || base != r->huge_base) {
				r->nhuge++;
				r->huge_base = base;
			}
		} else {
			r->nsmall++;
		}
		if (r->pin)
			pin_frame(vmm, p);
		r->npinned++;
		r->cur += VMM_PAGE_SIZE;
	}
	sim_time_t cost = r->pin ? r->nsmall * vmm->cfg.pin_time +
					   r->nhuge * vmm->cfg.pin_huge_time
				 : 0;
	sim_schedule_in(vmm->sim, cost, &ev_pin_done, vmm->comp, r, 0);
}

static void pin_start(struct vmm_as *as, uint64_t va, uint64_t len,
		      bool write, bool pin, vmm_pin_done_fn done, void *ctx)
{
	struct pin_req *r = g_new0(struct pin_req, 1);
	g_hash_table_add(as->vmm->pin_reqs, r);
	range_ok(&va, &len);
	r->as = as;
	r->va = r->cur = va;
	r->end = va + len;
	r->write = write;
	r->pin = pin;
	r->worst = VMM_FAULT_PRESENT;
	r->done = done;
	r->ctx = ctx;
	pin_step(r);
}

void vmm_pin(struct vmm_as *as, uint64_t va, uint64_t len, bool write,
	     vmm_pin_done_fn done, void *ctx)
{
	pin_start(as, va, len, write, true, done, ctx);
}

void vmm_populate(struct vmm_as *as, uint64_t va, uint64_t len, bool write,
		  vmm_pin_done_fn done, void *ctx)
{
	pin_start(as, va, len, write, false, done, ctx);
}

sim_time_t vmm_unpin_cost(const struct vmm_as *as, uint64_t va,
			  uint64_t len)
{
	if (!range_ok(&va, &len))
		return 0;
	const struct vmm *vmm = as->vmm;
	uint64_t small = 0, huge = 0, last_huge = UINT64_MAX;
	int level;
	for (uint64_t a = pt_next(&as->pt, va, va + len, &level); a < va + len;
	     a = pt_next(&as->pt, a + VMM_PAGE_SIZE, va + len, &level)) {
		uint64_t pte = pt_get(&as->pt, a, &level);
		if (!(pte & PTE_P))
			continue;
		if (level == 2) {
			uint64_t base = a & ~(VMM_HUGE_SIZE - 1);
			if (base != last_huge) {
				huge++;
				last_huge = base;
			}
		} else {
			small++;
		}
	}
	return small * vmm->cfg.unpin_time + huge * vmm->cfg.unpin_huge_time;
}

uint64_t vmm_frame_runs(const struct vmm_as *as, uint64_t va, uint64_t len,
			vmm_run_fn fn, void *ctx)
{
	if (!range_ok(&va, &len))
		return 0;
	uint64_t missing = 0, run_va = 0, run_pfn = 0, run_n = 0;
	for (uint64_t a = va; a < va + len; a += VMM_PAGE_SIZE) {
		uint64_t pfn;
		if (!vmm_page_frame(as, a, &pfn)) {
			missing++;
			continue;
		}
		if (run_n && a == run_va + (run_n << VMM_PAGE_SHIFT) &&
		    pfn == run_pfn + run_n) {
			run_n++;
			continue;
		}
		if (run_n)
			fn(ctx, run_va, run_pfn, run_n);
		run_va = a;
		run_pfn = pfn;
		run_n = 1;
	}
	if (run_n)
		fn(ctx, run_va, run_pfn, run_n);
	return missing;
}

void vmm_unpin(struct vmm_as *as, uint64_t va, uint64_t len)
{
	if (!range_ok(&va, &len))
		return;
	int level;
	for (uint64_t a = pt_next(&as->pt, va, va + len, &level); a < va + len;
	     a = pt_next(&as->pt, a + VMM_PAGE_SIZE, va + len, &level)) {
		uint64_t pte = pt_get(&as->pt, a, &level);
		if (!(pte & PTE_P))
			continue;
		uint64_t p = pte_pfn(pte);
		if (level == 2)
			p += (a >> VMM_PAGE_SHIFT) & (VMM_HUGE_PAGES - 1);
		if (frame_at(&as->vmm->fa, p)->pin)
			unpin_frame(as->vmm, p);
	}
}

void vmm_unpin_frames(struct vmm *vmm, const uint64_t *pfns, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		unpin_frame(vmm, pfns[i]);
}

/* ---- reservations ---- */

static const struct trace_kind tk_commit_failed = { "vmm_commit_failed",
						    TRACE_INSTANT, NULL };

static bool commit_fail(struct vmm_as *as, uint64_t va, uint64_t len,
			const char *why)
{
	struct vmm *vmm = as->vmm;
	(*vmm->c.commit_failed)++;
	vmm_trace(vmm, as, &tk_commit_failed, va, TRACE_NONE, len, why);
	return false;
}

static uint64_t frame_of_leaf(uint64_t pte, int level, uint64_t va)
{
	uint64_t p = pte_pfn(pte);
	if (level == 2)
		p += (va >> VMM_PAGE_SHIFT) & (VMM_HUGE_PAGES - 1);
	return p;
}

bool vmm_commit(struct vmm_as *as, uint64_t va, uint64_t len)
{
	struct vmm *vmm = as->vmm;
	if (!range_ok(&va, &len))
		return commit_fail(as, va, len, "empty range");
	uint64_t end = va + len, need = 0;
	int level;
	/* pass 1: inside VMAs, and how many frames to reserve */
	for (uint64_t a = va; a < end;) {
		const struct vmm_vma *v = vmm_vma_at(as, a);
		if (!v)
			return commit_fail(as, va, len, "outside every VMA");
		uint64_t stop = v->end < end ? v->end : end;
		for (; a < stop; a += VMM_PAGE_SIZE) {
			uint64_t pte = pt_get(&as->pt, a, &level);
			if (!(pte & (PTE_P | PTE_COMMIT)))
				need++;
		}
		if (need > vmm->fa.nfree - vmm->reserved)
			break;
	}
	if (need > vmm->fa.nfree - vmm->reserved)
		return commit_fail(as, va, len, "more than free memory");
	vmm->reserved += need;
	for (uint64_t a = va; a < end; a += VMM_PAGE_SIZE) {
		uint64_t *e = pt_leaf(&as->pt, a, &level);
		if (e && level == 2) {
			if (*e & PTE_BUSY) {
				/* commit the frames as the fault lands */
				*e |= PTE_COMMIT;
			} else {
				vmm_split_now(as, a);
				e = pt_leaf(&as->pt, a, &level);
			}
		}
		if (e && level == 2) {
			uint64_t p = frame_of_leaf(*e, 2, a);
			struct frame *f = frame_at(&vmm->fa, p);
			if (!(f->flags & FR_COMMIT)) {
				f->flags |= FR_COMMIT;
				(*vmm->c.committed)++;
				vmm_fp_count_frame(vmm, p, VMM_FP_COMMITTED, 1);
			}
			continue;
		}
		uint64_t pte = e ? *e : 0;
		if (pte & PTE_COMMIT)
			continue;
		if (pte & PTE_P) {
			struct frame *f = frame_at(&vmm->fa, pte_pfn(pte));
			if (!(f->flags & FR_COMMIT)) {
				f->flags |= FR_COMMIT;
				(*vmm->c.committed)++;
				vmm_fp_count_frame(vmm, pte_pfn(pte),
						   VMM_FP_COMMITTED, 1);
			}
		}
		pt_set(&as->pt, a, pte | PTE_COMMIT);
	}
	return true;
}

void vmm_uncommit(struct vmm_as *as, uint64_t va, uint64_t len)
{
	struct vmm *vmm = as->vmm;
	if (!range_ok(&va, &len))
		return;
	int level;
	uint64_t end = va + len;
	for (uint64_t a = pt_next(&as->pt, va, end, &level); a < end;
	     a = pt_next(&as->pt, a + VMM_PAGE_SIZE, end, &level)) {
		uint64_t *e = pt_leaf(&as->pt, a, &level);
		if (level == 2) {
			uint64_t p = frame_of_leaf(*e, 2, a);
			struct frame *f = frame_at(&vmm->fa, p);
			if (f->flags & FR_COMMIT) {
				f->flags &= (uint8_t)~FR_COMMIT;
				(*vmm->c.committed)--;
				vmm_fp_count_frame(vmm, p, VMM_FP_COMMITTED,
						   -1);
			}
			continue;
		}
		if (!(*e & PTE_COMMIT))
			continue;
		if (*e & PTE_P) {
			struct frame *f = frame_at(&vmm->fa, pte_pfn(*e));
			if (f->flags & FR_COMMIT) {
				f->flags &= (uint8_t)~FR_COMMIT;
				(*vmm->c.committed)--;
				vmm_fp_count_frame(vmm, pte_pfn(*e),
						   VMM_FP_COMMITTED, -1);
			}
			*e &= ~(uint64_t)PTE_COMMIT;
		} else {
			g_assert(vmm->reserved > 0);
			vmm->reserved--;
			pt_set(&as->pt, a, *e & ~(uint64_t)PTE_COMMIT);
		}
	}
	vmm_wake(vmm);
}

/* ---- invariants ---- */

void vmm_check(struct vmm *vmm)
{
	struct frame_alloc *fa = &vmm->fa;
	uint64_t nfree = 0, owned = 0, pinned = 0, committed = 0, mapped = 0;
	for (uint64_t p = 0; p < fa->n; p++) {
		if (!fa->chunk[p >> FRAME_CHUNK_SHIFT]) {
			/* a chunk never used: every frame in it free */
			uint64_t end = ((p >> FRAME_CHUNK_SHIFT) + 1)
				       << FRAME_CHUNK_SHIFT;
			nfree += (end < fa->n ? end : fa->n) - p;
			p = end - 1;
			continue;
		}
		const struct frame *f = frame_peek(fa, p);
		if (f->flags & FR_FREE) {
			nfree++;
			g_assert(f->owner == FRAME_NO_OWNER && !f->pin);
			continue;
		}
		if (f->owner != FRAME_NO_OWNER)
			owned++;
		if (f->pin)
			pinned++;
		if (f->flags & FR_COMMIT)
			committed++;
		mapped += f->map;
	}
	g_assert_cmpuint(nfree, ==, fa->nfree);
	g_assert_cmpuint(pinned, ==, *vmm->c.pinned);
	g_assert_cmpuint(committed, ==, *vmm->c.committed);
	g_assert_cmpuint(owned, ==, *vmm->c.resident);
	uint64_t reserved = 0, ptes = 0;
	for (guint i = 0; i < vmm->as_by_id->len; i++) {
		struct vmm_as *as = vmm->as_by_id->pdata[i];
		if (!as)
			continue;
		int level;
		uint64_t end = 1ULL << VMM_VA_BITS, n = 0;
		for (uint64_t va = pt_next(&as->pt, 0, end, &level); va < end;
		     va = pt_next(&as->pt, va + VMM_PAGE_SIZE, end, &level)) {
			uint64_t pte = pt_get(&as->pt, va, &level);
			if (!(pte & PTE_P)) {
				g_assert(level == 1);
				if (pte & PTE_COMMIT)
					reserved++;
				continue;
			}
			uint64_t p = frame_of_leaf(pte, level, va);
			g_assert(p < fa->n);
			const struct frame *f = frame_peek(fa, p);
			g_assert(!(f->flags & FR_FREE));
			if (f->map == 1)
				g_assert(f->owner == frame_owner_pack(
					as->id, va >> VMM_PAGE_SHIFT));
			else
				g_assert(frame_owner_vpn(f->owner) ==
					 va >> VMM_PAGE_SHIFT);
			n++;
			ptes++;
		}
		g_assert_cmpuint(n, ==, as->fp.now[VMM_FP_RESIDENT]);
		/* the footprints kept as things change are what the page
		 * table says, for the space and each watched range */
		uint64_t fp[VMM_FP_NKINDS];
		vmm_fp_scan(as, 0, 1ULL << VMM_VA_BITS, fp);
		for (unsigned k = 0; k < VMM_FP_NKINDS; k++) {
			g_assert_cmpuint(fp[k], ==, as->fp.now[k]);
			g_assert_cmpuint(as->fp.peak[k], >=, as->fp.now[k]);
		}
		vmm_fp_check_ranges(as);
	}
	g_assert_cmpuint(reserved, ==, vmm->reserved);
	g_assert_cmpuint(ptes, ==, mapped);
	g_assert(fa->nfree >= vmm->reserved);
}
