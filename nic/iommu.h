/*
 * nic/iommu.h - the IOMMU on the PCIe path between an HCA and host memory
 * (Intel VT-d / AMD-Vi / Arm SMMUv3 class): DMA remapping with an IOTLB
 * and a page-walk cache, the invalidation queue with strict or deferred
 * (flush-queue) invalidation, and for the device ATS with its address
 * translation cache (ATC) and PRI page requests.
 *
 * Representation: one IOMMU per host, one DMA domain per NIC.  The
 * domain's page table is not stored: the translation of an MR's DMA
 * address is the MR's own MTT (the IOMMU maps the same frames), and what
 * the IOMMU adds is time.  A DMA address is named by (space, address):
 * the space is the MR's index, the address its virtual address - so each
 * MR has an IOVA range of its own, laid out as its pages are (the page
 * offsets within a superpage match, as iommu_dma_map_sg's aligned IOVA
 * gives), without an allocator.  An SVA MR (on-demand memory reached by
 * ATS and PRI, odp_faults = pri) is translated through the process's
 * page table: the space stands for its PASID.  The IOTLB, the page-walk
 * cache (PWC) and the ATC are set-associative caches (nic/mtt_cache.h)
 * keyed by page size, space and page number.  Every
 * time is a busy-until: the translation unit (walks are served one at a
 * time, in arrival order: a posted write that misses holds the writes
 * behind it, PCIe ordering), and the invalidation queue (descriptors
 * executed one after another, each CPU waiting for its wait descriptor).
 * No events are scheduled except the flush-queue timer.
 *
 * Workload assumed: a translation per page a DMA touches (per packet),
 * maps and unmaps per registration or per ODP fault/invalidation, and in
 * validation workloads a map and unmap per I/O.
 *
 * Numbers: see the parameter table in iommu.c; each default names its
 * source or says "estimate".
 */
#ifndef NIC_IOMMU_H
#define NIC_IOMMU_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "sim/config.h"
#include "sim/time.h"

struct sim;
struct pcie;

enum iommu_mode { IOMMU_OFF, IOMMU_PASSTHROUGH, IOMMU_TRANSLATE };
extern const char *const iommu_mode_names[]; /* "off", "passthrough", "translate" */
enum iommu_inval { IOMMU_STRICT, IOMMU_LAZY };
extern const char *const iommu_inval_names[]; /* "strict", "lazy" */
enum iommu_odp { IOMMU_ODP_MTT, IOMMU_ODP_PRI };
extern const char *const iommu_odp_names[]; /* "mtt", "pri" */

struct iommu_config {
	int mode;               /* enum iommu_mode */
	int invalidation;       /* enum iommu_inval */
	bool ats;               /* the NIC caches translations (ATS + ATC) */
	int odp_faults;         /* enum iommu_odp: how ODP MRs fault */
	uint64_t iotlb_entries, iotlb_ways;
	int iotlb_policy;       /* enum cache_policy */
	uint64_t pwc_entries;   /* page-walk cache (0: none) */
	uint64_t levels;        /* page-table levels of a 4 KiB walk */
	uint64_t max_page;      /* bytes: largest IOMMU page (4KiB..1GiB) */
	sim_time_t iotlb_hit_time, walk_read_time;
	uint64_t rc_buffer;     /* bytes the root port holds ahead of it */
	uint64_t atc_entries, atc_ways;
	sim_time_t iova_time, map_pte_time, unmap_pte_time;
	sim_time_t inv_desc_time, inv_wait_time;
	uint64_t fq_size;
	sim_time_t fq_timeout;
	sim_time_t prq_time, iopf_time;
	uint64_t pri_outstanding; /* page requests the NIC may have out */
};

/* Component "iommu": section [iommu] (all hosts) or [iommu HOST]. */
extern const struct param_table iommu_params;

/* Cross-field checks (cache geometries, max_page a power of two, PRI
 * needs ATS and translate); the message names the key in *@key. */
const char *iommu_config_check(const struct iommu_config *cfg,
			       const char **key);

/* The IOMMU of @host in front of @pcie (cfg->mode == IOMMU_TRANSLATE:
 * asserted; off and passthrough have no IOMMU on the DMA path).
 * Counters HOST.iommu.*. */
struct iommu *iommu_new(struct sim *sim, const char *host,
			const struct iommu_config *cfg, struct pcie *pcie);
void iommu_free(struct iommu *io);
const struct iommu_config *iommu_cfg(const struct iommu *io);

/* ---- the DMA path (the NIC) ---- */

/* The NIC's DMA read/write of @bytes at @iova (an MR of IOMMU page size
 * 2^shift x 4 KiB, space @space) issued at @t: with ATS the ATC, and on a
 * miss a Translation Request before the (translated) DMA; without, the
 * root complex translates the DMA's TLPs (IOTLB, walk) before memory.
 * Returns what pcie_dma_{read,write}_at would: the last byte's time. */
sim_time_t iommu_dma_read(struct iommu *io, sim_time_t t, uint64_t bytes,
			  uint32_t space, uint64_t iova, unsigned shift);
sim_time_t iommu_dma_write(struct iommu *io, sim_time_t t, uint64_t bytes,
			   uint32_t space, uint64_t iova, unsigned shift);

/* ATS for the device: is the translation of @iova in the ATC (a hit
 * makes it most recent)?  A miss is a Translation Request sent at @t:
 * the time its completion is at the NIC.  @present: what the walk finds
 * (SVA: the process page table); a present answer is cached in the ATC
 * and the IOTLB, a non-present one nowhere (the device retries after a
 * page request: PCIe Base Spec 10.4). */
bool iommu_atc_lookup(struct iommu *io, uint32_t space, uint64_t iova,
		      unsigned shift);
sim_time_t iommu_ats_request(struct iommu *io, sim_time_t t, uint32_t space,
			     uint64_t iova, unsigned shift, bool present);

/* ---- PRI (the NIC's page request, the host's response) ---- */

/* A page request group of @pages requests (the last flagged) sent at
 * @t: the time the IOMMU's page-request interrupt reaches a CPU. */
sim_time_t iommu_page_request(struct iommu *io, sim_time_t t, uint64_t pages);
/* The iopf handler's own time per group (besides the faults). */
sim_time_t iommu_iopf_time(const struct iommu *io);
/* The most pages one group may request (the PRI Outstanding Page
 * Request Allocation). */
uint64_t iommu_pri_max(const struct iommu *io);
/* The PRG Response the host sends at @t: when it is at the NIC. */
sim_time_t iommu_prg_response(struct iommu *io, sim_time_t t);

/* ---- the DMA API (the driver) ---- */

/* DMA-API maps of @calls ranges (an IOVA each) and @ptes IOMMU PTEs in
 * total: the CPU time they take. */
sim_time_t iommu_map(struct iommu *io, uint64_t calls, uint64_t ptes);
/* The IOMMU page shift (log2 of 4 KiB pages) for an MR whose MTT entries
 * are 2^@mtt_shift pages: the smaller of it and max_page. */
unsigned iommu_page_shift(const struct iommu *io, unsigned mtt_shift);
/*
 * Unmap [iova, iova + bytes) (pages of 2^shift) by a CPU at @t: the PTEs
 * cleared, then strict: an IOTLB (and, with ATS, device ATC)
 * invalidation and a wait descriptor through the invalidation queue, the
 * CPU spinning until it completes; lazy: the range into the flush queue
 * (drained when fq_size entries wait, by the unmapping CPU, or fq_timeout
 * after the first, by the timer).  @calls: how many DMA-API unmaps the
 * range is (a pinned MR's sg table: 1; ODP's pages: one each), each its
 * own invalidation or queue entry.  Returns when the CPU goes on.
 */
sim_time_t iommu_unmap(struct iommu *io, sim_time_t t, uint32_t space,
		       uint64_t iova, uint64_t bytes, unsigned shift,
		       uint64_t calls);
/* An SVA invalidation (the mmu notifier of a process the NIC shares):
 * always synchronous, as the kernel's SVA notifier is.  Returns when the
 * IOTLB and ATC invalidations have completed. */
sim_time_t iommu_sva_invalidate(struct iommu *io, sim_time_t t,
				uint32_t space, uint64_t va, uint64_t bytes);

#endif
