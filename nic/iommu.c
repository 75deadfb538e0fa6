/*
 * nic/iommu.c - the IOMMU on the PCIe path (see iommu.h for the
 * representation and the workload it assumes).
 *
 * What each step costs and why:
 *  - Translation at the root complex (no ATS): the IOTLB is looked up per
 *    IOMMU page a DMA touches (iotlb_hit_time); a miss walks the page
 *    table, one memory read per level (walk_read_time): 4 levels for a
 *    4 KiB page of a 48-bit domain (VT-d second-level / x86-64 4-level
 *    paging), one less per superpage size (2 MiB: 3, 1 GiB: 2).  The
 *    page-walk cache keeps the pointer to a leaf table (one per 2 MiB of
 *    IOVA at 4 KiB pages): a hit leaves one read.  Walks are served one at
 *    a time in arrival order (an estimate: the number of concurrent walks
 *    of Intel's or AMD's IOMMUs is not published; one in-order walker is
 *    the pessimistic end and keeps posted writes ordered).
 *  - ATS (ats = true): the NIC's ATC is looked up first; a miss sends a
 *    Translation Request (a memory read TLP with AT = 01b, 4DW header)
 *    and waits for its completion (a CplD carrying one 8-byte translation)
 *    - PCIe Base Spec 3.0 sec. 10.2.2-10.2.3; the IOMMU serves it like a
 *    DMA's translation.  The DMA then goes out translated (AT = 10b) and
 *    the root complex does not translate it again.
 *  - PRI: a not-present ATS answer (R = W = 0) makes the NIC send a Page
 *    Request per page, the last flagged Last (a page request group; sec.
 *    10.4.1), the IOMMU writes them into its page request queue and
 *    interrupts (prq_time); the host's iopf handler (iopf_time, then the
 *    faults themselves through the driver) answers with a PRG Response
 *    message (sec. 10.4.2), after which the device retries through ATS:
 *    "Agents must retry non-present ATS answers until you get a present
 *    or a ATS failure" (J. Gunthorpe, iommu list, Dec 2023).
 *  - Invalidation: one queue per IOMMU (VT-d's invalidation queue, SMMUv3's
 *    command queue) executes descriptors one after another: an IOTLB
 *    invalidation (inv_desc_time), with ATS an ATS Invalidate Request to
 *    the NIC and its Invalidate Completion back over PCIe (sec. 10.3),
 *    then the wait descriptor (inv_wait_time) whose status write the CPU
 *    spins on.  strict: every unmap does this and waits; lazy: the unmap
 *    queues its IOVA in the flush queue (Linux drivers/iommu/dma-iommu.c:
 *    IOVA_DEFAULT_FQ_SIZE 256 entries, IOVA_DEFAULT_FQ_TIMEOUT 10 ms, the
 *    same figures as include/linux/iova.h's IOVA_FQ_SIZE/IOVA_FQ_TIMEOUT
 *    before 5.17; Mark Gross's 2008 VT-d deferred flush: 250 entries or
 *    10 ms), and a full queue or the timer flushes the whole domain at
 *    once.  Until then the IOTLB keeps translations of unmapped IOVAs
 *    (the protection lazy mode gives up).
 */
#include "nic/iommu.h"

#include <stddef.h>

#include "nic/mtt_cache.h"
#include "nic/pcie.h"
#include "sim/rng.h"
#include "sim/sim.h"
#include "sim/stats.h"

const char *const iommu_mode_names[] = { "off", "passthrough", "translate",
					 NULL };
const char *const iommu_inval_names[] = { "strict", "lazy", NULL };
const char *const iommu_odp_names[] = { "mtt", "pri", NULL };

static const struct param iommu_tab[] = {
	{ "mode", PT_ENUM, "off", offsetof(struct iommu_config, mode),
	  "off: no IOMMU (dma-direct, DMA addresses are physical); "
	  "passthrough: an identity domain (iommu=pt) - DMA addresses are "
	  "physical and nothing is translated, so it costs what off costs; "
	  "translate: a DMA domain - every DMA is translated (IOTLB, page "
	  "walks, ATS) and every map and unmap pays the DMA API and the "
	  "invalidations",
	  "default off so that every result obtained before the IOMMU model "
	  "holds: the shipped scenarios, their golden fingerprints and the "
	  "validation cases were built against dma-direct (the driver's "
	  "dma_map costs say 'no IOMMU'), and RDMA hosts tuned for "
	  "throughput commonly boot with the IOMMU off or in passthrough",
	  iommu_mode_names, 0, 0 },
	{ "invalidation", PT_ENUM, "lazy",
	  offsetof(struct iommu_config, invalidation),
	  "translate mode: strict (each unmap invalidates the IOTLB and waits "
	  "for the completion) or lazy (unmapped IOVAs wait in a flush queue "
	  "that a full queue or a timer flushes at once)",
	  "Linux drivers/iommu/Kconfig: the default domain type is "
	  "IOMMU_DEFAULT_DMA_LAZY on x86 (iommu.strict=1 selects strict)",
	  iommu_inval_names, 0, 0 },
	{ "ats", PT_BOOL, "false", offsetof(struct iommu_config, ats),
	  "translate mode: the NIC caches translations in its ATC and asks "
	  "the IOMMU by ATS Translation Requests (PCIe Base Spec 10.2); "
	  "false: the root complex translates every DMA",
	  "estimate: ConnectX firmware enables ATS only on request "
	  "(mlxconfig ATS_ENABLED), so hosts run without it unless set up "
	  "for it", NULL, 0, 0 },
	{ "odp_faults", PT_ENUM, "mtt",
	  offsetof(struct iommu_config, odp_faults),
	  "how on-demand MRs fault: mtt (the NIC's MTT and its page-fault EQ, "
	  "nic/odp.c, as mlx5) or pri (the MR shares the process page table "
	  "through the IOMMU, SVA: the NIC translates by ATS and faults by "
	  "PRI page requests; needs mode = translate and ats = true)",
	  "mlx5 ODP resolves faults through its own EQ (drivers/infiniband/"
	  "hw/mlx5/odp.c); pri is the PCIe alternative, for comparison",
	  iommu_odp_names, 0, 0 },
	{ "iotlb_entries", PT_COUNT, "64",
	  offsetof(struct iommu_config, iotlb_entries),
	  "IOTLB entries (one per IOMMU page: 4 KiB, 2 MiB or 1 GiB)",
	  "estimate: Intel and AMD do not publish IOTLB sizes; Farshin et al. "
	  "(PeerJ CS 2023) see the IOTLB wall at 200 Gb/s with 4 KiB "
	  "buffers, which a few dozen entries give", NULL, 1, 1 << 20 },
	{ "iotlb_ways", PT_COUNT, "4", offsetof(struct iommu_config, iotlb_ways),
	  "IOTLB associativity (entries must be a multiple)",
	  "estimate", NULL, 1, 1 << 20 },
	{ "iotlb_policy", PT_ENUM, "lru",
	  offsetof(struct iommu_config, iotlb_policy),
	  "IOTLB replacement: lru or random", "estimate",
	  cache_policy_names, 0, 0 },
	{ "pwc_entries", PT_COUNT, "16",
	  offsetof(struct iommu_config, pwc_entries),
	  "page-walk cache: pointers to leaf page tables (each covers 512 "
	  "IOMMU pages); a hit leaves one memory read of the walk; 0: none",
	  "estimate: VT-d caches paging-structure entries (VT-d spec 6.2.4, "
	  "'paging-structure caches'); their size is not published", NULL,
	  0, 1 << 20 },
	{ "levels", PT_COUNT, "4", offsetof(struct iommu_config, levels),
	  "page-table levels a 4 KiB translation walks (one less per "
	  "superpage size)",
	  "VT-d second-level tables for a 48-bit address width (SAGAW "
	  "4-level, as Linux's intel-iommu uses by default); x86-64 4-level "
	  "paging for SVA", NULL, 2, 5 },
	{ "max_page", PT_SIZE, "2MiB", offsetof(struct iommu_config, max_page),
	  "largest IOMMU page the DMA API maps (iommu_pgsize: the largest "
	  "page both the IOVA and the frames are aligned to, up to this)",
	  "VT-d CAP.SLLPS: 2 MiB second-level superpages on current Xeons, "
	  "1 GiB is optional (estimate of what hosts report)", NULL, 4096,
	  1ULL << 30 },
	{ "iotlb_hit_time", PT_TIME, "5ns",
	  offsetof(struct iommu_config, iotlb_hit_time),
	  "an IOTLB hit's added latency at the root complex",
	  "estimate", NULL, 0, 1e9 },
	{ "walk_read_time", PT_TIME, "100ns",
	  offsetof(struct iommu_config, walk_read_time),
	  "one memory read of a page walk (per level)",
	  "estimate: a DRAM access, as [pcie] mem_latency (idle load "
	  "latency of current Xeons ~80-100ns); walks that hit the LLC "
	  "are faster", NULL, 0, 1e9 },
	{ "rc_buffer", PT_SIZE, "16KiB", offsetof(struct iommu_config, rc_buffer),
	  "bytes of posted writes the root port holds while a translation "
	  "stalls them; beyond, flow-control credits stop the link",
	  "estimate: root ports advertise posted-data credits of a few to "
	  "tens of KiB", NULL, 0, 1 << 30 },
	{ "atc_entries", PT_COUNT, "64", offsetof(struct iommu_config, atc_entries),
	  "the NIC's ATC (device translation cache) entries", "estimate: no "
	  "ConnectX ATC size is published", NULL, 1, 1 << 20 },
	{ "atc_ways", PT_COUNT, "4", offsetof(struct iommu_config, atc_ways),
	  "ATC associativity", "estimate", NULL, 1, 1 << 20 },
	{ "iova_time", PT_TIME, "100ns", offsetof(struct iommu_config, iova_time),
	  "CPU per DMA-API map call besides its PTEs: IOVA allocation "
	  "(alloc_iova_fast, per-CPU rcache) and iommu_map's setup",
	  "estimate", NULL, 0, 1e12 },
	{ "map_pte_time", PT_TIME, "20ns",
	  offsetof(struct iommu_config, map_pte_time),
	  "CPU per IOMMU PTE written by a map", "estimate", NULL, 0, 1e12 },
	{ "unmap_pte_time", PT_TIME, "20ns",
	  offsetof(struct iommu_config, unmap_pte_time),
	  "CPU per IOMMU PTE cleared by an unmap", "estimate", NULL, 0, 1e12 },
	{ "inv_desc_time", PT_TIME, "500ns",
	  offsetof(struct iommu_config, inv_desc_time),
	  "the invalidation queue executing one IOTLB invalidation "
	  "descriptor (page-selective for a strict unmap, domain-selective "
	  "for a flush-queue flush)",
	  "calibrated, not measured: with inv_wait_time it makes one strict "
	  "unmap occupy the queue 700 ns, so one IOMMU's serialized strict "
	  "unmaps top out at 1.43 M/s - NV-Kernels#184's strict 2.8 M IOPS "
	  "over two Grace sockets, each socket's 4 SSDs behind one root "
	  "port (odpsim validate: iommu_strict.ini); no published time for "
	  "one invalidation was found", NULL, 0, 1e12 },
	{ "inv_wait_time", PT_TIME, "200ns",
	  offsetof(struct iommu_config, inv_wait_time),
	  "the wait descriptor (VT-d) or CMD_SYNC (SMMUv3): the IOMMU's "
	  "status write and the spinning CPU seeing it",
	  "calibrated with inv_desc_time (the split between the two is an "
	  "estimate)", NULL, 0, 1e12 },
	{ "fq_size", PT_COUNT, "256", offsetof(struct iommu_config, fq_size),
	  "lazy: unmapped IOVAs the flush queue holds; the unmap that finds "
	  "it full flushes the domain and waits",
	  "Linux drivers/iommu/dma-iommu.c IOVA_DEFAULT_FQ_SIZE = 256 "
	  "(include/linux/iova.h IOVA_FQ_SIZE before 5.17; one queue per CPU "
	  "there, one per NIC here)", NULL, 1, 1 << 24 },
	{ "fq_timeout", PT_TIME, "10ms", offsetof(struct iommu_config, fq_timeout),
	  "lazy: the flush queue's timer, armed by its first entry",
	  "Linux drivers/iommu/dma-iommu.c IOVA_DEFAULT_FQ_TIMEOUT = 10 ms",
	  NULL, 1, 1e15 },
	{ "prq_time", PT_TIME, "1us", offsetof(struct iommu_config, prq_time),
	  "PRI: the IOMMU queuing a page request group in its page request "
	  "queue and the interrupt reaching a CPU", "estimate", NULL, 0,
	  1e12 },
	{ "iopf_time", PT_TIME, "3us", offsetof(struct iommu_config, iopf_time),
	  "PRI: the host's handler per group besides the faults "
	  "(iommu_report_device_fault, the iopf workqueue wake-up, "
	  "iommu_sva_handle_iopf, iommu_page_response)", "estimate", NULL, 0,
	  1e12 },
	{ "pri_outstanding", PT_COUNT, "2048",
	  offsetof(struct iommu_config, pri_outstanding),
	  "PRI: the Outstanding Page Request Allocation - the most pages "
	  "one fault's page request group asks for (the NIC asks for what "
	  "is left of the operation, as mlx5's WQE and RDMA fault handlers "
	  "map it, up to this)",
	  "Linux intel-iommu: pci_enable_pri(pdev, PRQ_DEPTH), PRQ_DEPTH = "
	  "(4096 << PRQ_ORDER 4) >> 5 = 2048", NULL, 1, 1 << 20 },
};

static const struct stat_doc iommu_stats[] = {
	{ "iommu.iotlb_hits", "lookups", "IOTLB hits (root complex)", "" },
	{ "iommu.iotlb_misses", "lookups", "IOTLB misses: one walk each", "" },
	{ "iommu.walks", "walks", "page walks", "" },
	{ "iommu.walk_reads", "reads", "memory reads of page walks", "" },
	{ "iommu.pwc_hits", "walks", "walks the page-walk cache shortened",
	  "" },
	{ "iommu.atc_hits", "lookups", "ATC hits (NIC)", "" },
	{ "iommu.atc_misses", "lookups", "ATC misses", "" },
	{ "iommu.ats_requests", "TLPs", "ATS Translation Requests", "" },
	{ "iommu.ats_not_present", "TLPs", "translation completions with "
	  "R = W = 0 (the page is not present)", "" },
	{ "iommu.page_requests", "requests", "PRI page requests", "" },
	{ "iommu.prg_responses", "messages", "PRG Responses", "" },
	{ "iommu.mapped_pages", "PTEs", "IOMMU PTEs written by maps", "" },
	{ "iommu.unmapped_pages", "PTEs", "IOMMU PTEs cleared by unmaps", "" },
	{ "iommu.invalidations", "descriptors", "IOTLB invalidations the "
	  "queue executed", "" },
	{ "iommu.ats_invalidations", "messages", "ATS Invalidate Requests "
	  "to the NIC", "" },
	{ "iommu.fq_queued", "entries", "unmaps queued in the flush queue",
	  "" },
	{ "iommu.fq_full_flushes", "flushes", "flushes by a full queue", "" },
	{ "iommu.fq_timer_flushes", "flushes", "flushes by the timer", "" },
	{ "iommu.inv_wait_ps", "ps", "CPU time unmaps spent waiting for "
	  "invalidations (queueing included)", "" },
};

PARAM_TABLE_STATS(iommu_params, "iommu",
		  "IOMMU on the PCIe path (IOTLB, walks, ATS, PRI, "
		  "invalidation)", iommu_tab, iommu_stats);

struct iommu {
	struct sim *sim;
	struct iommu_config cfg;
	struct pcie *pcie;
	uint16_t comp;
	struct rng rng;
	struct mtt_cache *iotlb, *pwc, *atc;
	sim_time_t xlat_free; /* the walker */
	sim_time_t invq_free; /* the invalidation queue */
	uint64_t fq_count;    /* entries in the flush queue */
	uint64_t fq_gen;      /* tags the armed timer */
	uint64_t *c_hits, *c_misses, *c_walks, *c_walk_reads, *c_pwc_hits;
	uint64_t *c_atc_hits, *c_atc_misses, *c_ats_req, *c_ats_np;
	uint64_t *c_pri, *c_prg, *c_map, *c_unmap, *c_inv, *c_ats_inv;
	uint64_t *c_fq, *c_fq_full, *c_fq_timer, *c_inv_wait;
};

const char *iommu_config_check(const struct iommu_config *c, const char **key)
{
	if (c->iotlb_entries % c->iotlb_ways || c->iotlb_ways > c->iotlb_entries) {
		*key = "iotlb_ways";
		return "iotlb_entries must be a multiple of iotlb_ways";
	}
	if (c->atc_entries % c->atc_ways || c->atc_ways > c->atc_entries) {
		*key = "atc_ways";
		return "atc_entries must be a multiple of atc_ways";
	}
	if (c->max_page != 4096 && c->max_page != (2ULL << 20) &&
	    c->max_page != (1ULL << 30)) {
		*key = "max_page";
		return "max_page must be 4KiB, 2MiB or 1GiB";
	}
	if (c->odp_faults == IOMMU_ODP_PRI &&
	    (c->mode != IOMMU_TRANSLATE || !c->ats)) {
		*key = "odp_faults";
		return "odp_faults = pri needs mode = translate and ats = true "
		       "(page requests are answered through ATS)";
	}
	return NULL;
}

static sim_time_t io_max(sim_time_t a, sim_time_t b)
{
	return a > b ? a : b;
}

/* Cache key of the page of 2^shift 4 KiB pages holding @iova of space
 * @space: the page size's code in bits 63..62, the space in 61..40 (22
 * bits), the page number below (IOVAs under 2^52); one size's keys of a
 * space form one range. */
static inline uint64_t io_key(uint32_t space, uint64_t iova, unsigned shift)
{
	return ((uint64_t)(shift / 9) << 62) |
	       ((uint64_t)(space & 0x3fffff) << 40) |
	       ((iova & ((1ULL << 52) - 1)) >> (12 + shift));
}

static void fq_timer(struct sim *sim, void *obj, uint64_t arg);
SIM_EVKIND(ev_fq_timer, "iommu.fq_timer", fq_timer);

static sim_time_t io_xlate_cb(void *ctx, sim_time_t arrive, uint32_t space,
			      uint64_t iova, uint64_t bytes, unsigned shift);

struct iommu *iommu_new(struct sim *sim, const char *host,
			const struct iommu_config *cfg, struct pcie *pcie)
{
	const char *key;
	g_assert(cfg->mode == IOMMU_TRANSLATE && !iommu_config_check(cfg, &key));
	struct iommu *io = g_new0(struct iommu, 1);
	io->sim = sim;
	io->cfg = *cfg;
	io->pcie = pcie;
	char *name = g_strdup_printf("%s.iommu", host);
	io->comp = sim_component_add(sim, name);
	rng_init(&io->rng, sim->seed, name);
	g_free(name);
	io->iotlb = mtt_cache_new((uint32_t)cfg->iotlb_entries,
				  (uint32_t)cfg->iotlb_ways,
				  (enum cache_policy)cfg->iotlb_policy, &io->rng);
	if (cfg->pwc_entries)
		io->pwc = mtt_cache_new((uint32_t)cfg->pwc_entries,
					(uint32_t)cfg->pwc_entries, CACHE_LRU,
					NULL);
	if (cfg->ats)
		io->atc = mtt_cache_new((uint32_t)cfg->atc_entries,
					(uint32_t)cfg->atc_ways, CACHE_LRU, NULL);
	pcie_set_xlat(pcie, io_xlate_cb, io, cfg->rc_buffer);
	struct stats *st = sim->stats;
#define C(field, nm) io->field = stats_counter(st, "%s.iommu." nm, host)
	C(c_hits, "iotlb_hits");
	C(c_misses, "iotlb_misses");
	C(c_walks, "walks");
	C(c_walk_reads, "walk_reads");
	C(c_pwc_hits, "pwc_hits");
	C(c_atc_hits, "atc_hits");
	C(c_atc_misses, "atc_misses");
	C(c_ats_req, "ats_requests");
	C(c_ats_np, "ats_not_present");
	C(c_pri, "page_requests");
	C(c_prg, "prg_responses");
	C(c_map, "mapped_pages");
	C(c_unmap, "unmapped_pages");
	C(c_inv, "invalidations");
	C(c_ats_inv, "ats_invalidations");
	C(c_fq, "fq_queued");
	C(c_fq_full, "fq_full_flushes");
	C(c_fq_timer, "fq_timer_flushes");
	C(c_inv_wait, "inv_wait_ps");
#undef C
	return io;
}

void iommu_free(struct iommu *io)
{
	if (!io)
		return;
	mtt_cache_free(io->iotlb);
	if (io->pwc)
		mtt_cache_free(io->pwc);
	if (io->atc)
		mtt_cache_free(io->atc);
	g_free(io);
}

const struct iommu_config *iommu_cfg(const struct iommu *io)
{
	return &io->cfg;
}

/* ---- translation ---- */

/* One page walk for @iova: its memory reads (the PWC may leave one). */
static sim_time_t io_walk(struct iommu *io, uint32_t space, uint64_t iova,
			  unsigned shift)
{
	uint64_t reads = io->cfg.levels - shift / 9;
	if (io->pwc && reads > 1) {
		uint64_t k = io_key(space, iova, shift + 9);
		if (mtt_cache_lookup(io->pwc, k, NULL)) {
			(*io->c_pwc_hits)++;
			reads = 1;
		} else {
			mtt_cache_insert(io->pwc, k, 0);
		}
	}
	(*io->c_walks)++;
	*io->c_walk_reads += reads;
	return reads * io->cfg.walk_read_time;
}

/*
 * The IOMMU translates [iova, iova + bytes) for a request that reached it
 * at @arrive: an IOTLB lookup per page, a walk per miss (on the one
 * walker, in order).  @fill: cache what the walk found (false: the page
 * is not present).  Returns when the translation is known.
 */
static sim_time_t io_xlate(struct iommu *io, sim_time_t arrive,
			   uint32_t space, uint64_t iova, uint64_t bytes,
			   unsigned shift, bool fill)
{
	const unsigned ps = 12 + shift;
	uint64_t first = iova >> ps, last = (iova + (bytes ? bytes : 1) - 1) >> ps;
	sim_time_t walk = 0;
	for (uint64_t pg = first; pg <= last; pg++) {
		uint64_t k = io_key(space, pg << ps, shift);
		if (fill && mtt_cache_lookup(io->iotlb, k, NULL)) {
			(*io->c_hits)++;
			continue;
		}
		(*io->c_misses)++;
		walk += io_walk(io, space, pg << ps, shift);
		if (fill)
			mtt_cache_insert(io->iotlb, k, 0);
	}
	sim_time_t t = io_max(arrive, io->xlat_free) + walk;
	if (walk)
		io->xlat_free = t;
	return t + io->cfg.iotlb_hit_time;
}

static sim_time_t io_xlate_cb(void *ctx, sim_time_t arrive, uint32_t space,
			      uint64_t iova, uint64_t bytes, unsigned shift)
{
	return io_xlate(ctx, arrive, space, iova, bytes, shift, true);
}

bool iommu_atc_lookup(struct iommu *io, uint32_t space, uint64_t iova,
		      unsigned shift)
{
	g_assert(io->atc);
	if (mtt_cache_lookup(io->atc, io_key(space, iova, shift), NULL)) {
		(*io->c_atc_hits)++;
		return true;
	}
	(*io->c_atc_misses)++;
	return false;
}

sim_time_t iommu_ats_request(struct iommu *io, sim_time_t t, uint32_t space,
			     uint64_t iova, unsigned shift, bool present)
{
	g_assert(io->atc);
	(*io->c_ats_req)++;
	/* Translation Request: a memory read header, no data */
	sim_time_t at = pcie_tlp_up_at(io->pcie, t, PCIE_MRD_OVERHEAD);
	at = io_xlate(io, at, space, iova, 1, shift, present);
	/* Translation Completion: one 8-byte translation */
	at = pcie_tlp_down_at(io->pcie, at, PCIE_CPLD_OVERHEAD + 8);
	if (present)
		mtt_cache_insert(io->atc, io_key(space, iova, shift), 0);
	else
		(*io->c_ats_np)++;
	return at;
}

/* The NIC side of a DMA with ATS: the ATC for each page, a Translation
 * Request per miss, one after the other; when the DMA may go out. */
static sim_time_t io_ats(struct iommu *io, sim_time_t t, uint64_t bytes,
			 uint32_t space, uint64_t iova, unsigned shift)
{
	const unsigned ps = 12 + shift;
	uint64_t first = iova >> ps, last = (iova + (bytes ? bytes : 1) - 1) >> ps;
	for (uint64_t pg = first; pg <= last; pg++)
		if (!iommu_atc_lookup(io, space, pg << ps, shift))
			t = iommu_ats_request(io, t, space, pg << ps, shift,
					      true);
	return t;
}

sim_time_t iommu_dma_read(struct iommu *io, sim_time_t t, uint64_t bytes,
			  uint32_t space, uint64_t iova, unsigned shift)
{
	if (io->atc)
		return pcie_dma_read_at(io->pcie, io_ats(io, t, bytes, space,
							 iova, shift),
					bytes);
	return pcie_dma_read_xlat_at(io->pcie, t, bytes, space, iova, shift);
}

sim_time_t iommu_dma_write(struct iommu *io, sim_time_t t, uint64_t bytes,
			   uint32_t space, uint64_t iova, unsigned shift)
{
	if (io->atc)
		return pcie_dma_write_at(io->pcie, io_ats(io, t, bytes, space,
							  iova, shift),
					 bytes);
	return pcie_dma_write_xlat_at(io->pcie, t, bytes, space, iova, shift);
}

/* ---- PRI ---- */

sim_time_t iommu_page_request(struct iommu *io, sim_time_t t, uint64_t pages)
{
	g_assert(pages > 0);
	sim_time_t at = t;
	for (uint64_t i = 0; i < pages; i++)
		at = pcie_tlp_up_at(io->pcie, t, PCIE_MSG_OVERHEAD);
	*io->c_pri += pages;
	return at + io->cfg.prq_time;
}

sim_time_t iommu_iopf_time(const struct iommu *io)
{
	return io->cfg.iopf_time;
}

uint64_t iommu_pri_max(const struct iommu *io)
{
	return io->cfg.pri_outstanding;
}

sim_time_t iommu_prg_response(struct iommu *io, sim_time_t t)
{
	(*io->c_prg)++;
	return pcie_tlp_down_at(io->pcie, t, PCIE_MSG_OVERHEAD);
}

/* ---- the DMA API ---- */

sim_time_t iommu_map(struct iommu *io, uint64_t calls, uint64_t ptes)
{
	*io->c_map += ptes;
	return calls * io->cfg.iova_time + ptes * io->cfg.map_pte_time;
}

unsigned iommu_page_shift(const struct iommu *io, unsigned mtt_shift)
{
	unsigned max = (unsigned)__builtin_ctzll(io->cfg.max_page) - 12;
	unsigned s = mtt_shift < max ? mtt_shift : max;
	/* IOMMU pages are 4 KiB, 2 MiB or 1 GiB */
	return s >= 18 ? 18 : s >= 9 ? 9 : 0;
}

/* Drop keys [lo, hi] from the IOTLB and the ATC, [plo, phi] from the
 * PWC. */
static void io_drop_keys(struct iommu *io, uint64_t lo, uint64_t hi,
			 uint64_t plo, uint64_t phi)
{
	mtt_cache_invalidate_range(io->iotlb, lo, hi);
	if (io->pwc)
		mtt_cache_invalidate_range(io->pwc, plo, phi);
	if (io->atc)
		mtt_cache_invalidate_range(io->atc, lo, hi);
}

/* Drop the cached translations of [iova, iova + bytes) (pages of
 * 2^shift) from the IOTLB, the PWC and the ATC. */
static void io_drop(struct iommu *io, uint32_t space, uint64_t iova,
		    uint64_t bytes, unsigned shift)
{
	uint64_t last = iova + (bytes ? bytes : 1) - 1;
	io_drop_keys(io, io_key(space, iova, shift), io_key(space, last, shift),
		     io_key(space, iova, shift + 9),
		     io_key(space, last, shift + 9));
}

/* Submit an invalidation (and, with ATS, a device invalidation) and a
 * wait descriptor at @t: when the wait completes. */
static sim_time_t invq_run(struct iommu *io, sim_time_t t)
{
	sim_time_t at = io_max(t, io->invq_free) + io->cfg.inv_desc_time;
	(*io->c_inv)++;
	if (io->atc) {
		/* ATS Invalidate Request (a message with 8 bytes of data)
		 * and the NIC's Invalidate Completion */
		(*io->c_ats_inv)++;
		at = pcie_tlp_down_at(io->pcie, at, PCIE_MSG_OVERHEAD + 8);
		at = pcie_tlp_up_at(io->pcie, at, PCIE_MSG_OVERHEAD);
	}
	at += io->cfg.inv_wait_time;
	io->invq_free = at;
	return at;
}

/* A domain-selective flush of everything the flush queue holds. */
static sim_time_t fq_flush(struct iommu *io, sim_time_t t)
{
	io_drop_keys(io, 0, UINT64_MAX, 0, UINT64_MAX);
	io->fq_count = 0;
	io->fq_gen++;
	return invq_run(io, t);
}

static void fq_timer(struct sim *sim, void *obj, uint64_t arg)
{
	struct iommu *io = obj;
	if (arg != io->fq_gen || !io->fq_count)
		return;
	(*io->c_fq_timer)++;
	fq_flush(io, sim_now(sim));
}

sim_time_t iommu_unmap(struct iommu *io, sim_time_t t, uint32_t space,
		       uint64_t iova, uint64_t bytes, unsigned shift,
		       uint64_t calls)
{
	g_assert(calls > 0);
	uint64_t ptes = ((iova + (bytes ? bytes : 1) - 1) >> (12 + shift)) -
			(iova >> (12 + shift)) + 1;
	if (calls > 1 && ptes > calls)
		ptes = calls; /* one page per call (ODP's dma_unmap_page) */
	*io->c_unmap += ptes;
	t += ptes * io->cfg.unmap_pte_time;
	sim_time_t cpu = t;
	if (io->cfg.invalidation == IOMMU_STRICT) {
		io_drop(io, space, iova, bytes, shift);
		for (uint64_t i = 0; i < calls; i++)
			t = invq_run(io, t);
	} else {
		for (uint64_t i = 0; i < calls; i++) {
			(*io->c_fq)++;
			if (io->fq_count++ == 0) {
				g_assert(t >= sim_now(io->sim));
				sim_schedule(io->sim, t + io->cfg.fq_timeout,
					     &ev_fq_timer, io->comp, io,
					     io->fq_gen);
			}
			if (io->fq_count >= io->cfg.fq_size) {
				(*io->c_fq_full)++;
				t = fq_flush(io, t);
			}
		}
	}
	*io->c_inv_wait += t - cpu;
	return t;
}

sim_time_t iommu_sva_invalidate(struct iommu *io, sim_time_t t,
				uint32_t space, uint64_t va, uint64_t bytes)
{
	io_drop(io, space, va, bytes, 0);
	sim_time_t done = invq_run(io, t);
	*io->c_inv_wait += done - t;
	return done;
}
