/*
 * nic/pcie.h - the PCIe link between an HCA and its host's root complex,
 * as an analytic DMA timing model.
 *
 * Representation: two busy-until times, one per direction (upstream = NIC to
 * root complex, downstream = root complex to NIC).  A transfer is split into
 * TLPs (writes and read completions carry at most Max_Payload_Size bytes,
 * read requests ask for at most Max_Read_Request_Size), each TLP pays its
 * header and link-layer framing, and the bytes are serialized at the link's
 * TLP-layer bandwidth: lanes x GT/s x 128/130 less the share ACK and
 * flow-control DLLPs and SKIP ordered sets take.  A transfer starts when its
 * direction is free, so concurrent DMAs queue behind each other; it then
 * pays a one-way latency (PHY, data link layer, root port), and a read also
 * pays the host memory access at the root complex.  No events are scheduled:
 * each call returns the time its last byte arrives and the caller schedules
 * what follows.
 *
 * Workload assumed: the NIC's DMAs (payload gathers and scatters of
 * 64 B..MTU, WQE and MTT fetches, CQE writes) and the host's doorbells.
 * Buffers are assumed aligned to Max_Payload_Size (no extra TLP for a
 * misaligned head), reads are never limited by the number of outstanding
 * tags (256 tags x 512 B per 0.5 us is ~2 Tb/s, far above the link), and
 * read completions are split at Max_Payload_Size, not at the 64 B Read
 * Completion Boundary some root complexes use.
 *
 * Numbers: TLP overheads and DLLP rates follow the model of Neugebauer et
 * al., "Understanding PCIe performance for end host networking", SIGCOMM
 * 2018, and its code (github.com/pcie-bench/pcie-model, model/pcie.py),
 * which takes them from the PCIe Base Specification; see pcie.c.
 */
#ifndef NIC_PCIE_H
#define NIC_PCIE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "sim/config.h"
#include "sim/time.h"

struct sim;

enum pcie_profile { PCIE_GEN3X16, PCIE_GEN4X16 };
extern const char *const pcie_profile_names[]; /* "gen3x16", "gen4x16" */

struct pcie_config {
	int profile;          /* enum pcie_profile */
	uint64_t link_rate;   /* bits/s after 128b/130b, before DLLPs; 0: profile */
	uint64_t mps;         /* bytes: Max_Payload_Size, 128..4096, power of 2 */
	uint64_t mrrs;        /* bytes: Max_Read_Request_Size, 128..4096, power of 2 */
	sim_time_t latency;   /* ps: one-way, NIC to root complex or back */
	sim_time_t mem_latency; /* ps: host memory access for a DMA read */
};

/* Component "pcie": section [pcie] (all hosts) or [pcie HOST]. */
extern const struct param_table pcie_params;

/* Checks what the table's ranges cannot (sizes powers of two); the
 * message names the key. */
bool pcie_config_validate(const struct pcie_config *cfg, GError **error);

/* @cfg must pass pcie_config_validate() (asserted).  Counters
 * HOST.pcie.{tlps_up,tlps_down,bytes_up,bytes_down}; bytes are link bytes,
 * TLP headers and framing included. */
struct pcie *pcie_new(struct sim *sim, const char *host,
		      const struct pcie_config *cfg);
void pcie_free(struct pcie *pcie);

/* Posted write of @bytes issued now: time the last byte is visible in host
 * memory. */
sim_time_t pcie_dma_write(struct pcie *pcie, uint64_t bytes);
/* Read of @bytes issued now: time the last completion byte is at the NIC. */
sim_time_t pcie_dma_read(struct pcie *pcie, uint64_t bytes);
/* CPU-to-NIC posted write (doorbell, BlueFlame WQE): arrival at the NIC. */
sim_time_t pcie_mmio_write(struct pcie *pcie, uint64_t bytes);
/* The same, issued at @t >= now (after a pipeline stage of the NIC that
 * has not happened yet in simulated time). */
sim_time_t pcie_dma_write_at(struct pcie *pcie, sim_time_t t, uint64_t bytes);
sim_time_t pcie_dma_read_at(struct pcie *pcie, sim_time_t t, uint64_t bytes);
/*
 * The root complex's address translation (the IOMMU, nic/iommu.c): called
 * with the time a DMA's first TLP arrives at the root complex, it returns
 * when that DMA's translation is known (>= @arrive).  A read's memory
 * access starts then; a write lands that much later, and when the
 * translation lags the link by more than the root port's @rc_buffer bytes
 * the link stalls (flow-control credits run out).
 */
typedef sim_time_t (*pcie_xlat_fn)(void *ctx, sim_time_t arrive,
				   uint32_t pasid, uint64_t iova,
				   uint64_t bytes, unsigned shift);
void pcie_set_xlat(struct pcie *pcie, pcie_xlat_fn fn, void *ctx,
		   uint64_t rc_buffer);
/* A DMA read/write at @iova (PASID @pasid, IOMMU pages of 2^shift x
 * 4 KiB) that the root complex translates (pcie_set_xlat: asserted). */
sim_time_t pcie_dma_read_xlat_at(struct pcie *pcie, sim_time_t t,
				 uint64_t bytes, uint32_t pasid,
				 uint64_t iova, unsigned shift);
sim_time_t pcie_dma_write_xlat_at(struct pcie *pcie, sim_time_t t,
				  uint64_t bytes, uint32_t pasid,
				  uint64_t iova, unsigned shift);
/* One small TLP of @link_bytes (header and framing included) sent
 * upstream or downstream at @t (ATS translation requests and completions,
 * PRI page requests and responses, ATS invalidations): its arrival after
 * its serialization and the latency.  It is counted on the link but
 * neither waits for nor holds the transmitter: the busy-until times stand
 * for bulk transfers the NIC reserves ahead of the present, and a TLP of
 * a few dozen bytes goes out between them (left in that queue, an ATS
 * request would wait behind the DMA its own answer is to start). */
sim_time_t pcie_tlp_up_at(struct pcie *pcie, sim_time_t t,
			  uint64_t link_bytes);
sim_time_t pcie_tlp_down_at(struct pcie *pcie, sim_time_t t,
			    uint64_t link_bytes);

/* Unloaded read time (no queueing), for tests and latency breakdowns. */
sim_time_t pcie_read_latency(const struct pcie *pcie, uint64_t bytes);

/* TLP-layer bandwidth in bits/s (line encoding and DLLPs deducted). */
uint64_t pcie_tlp_rate(const struct pcie *pcie);
/* When each direction's transmitter is next idle. */
sim_time_t pcie_up_free_at(const struct pcie *pcie);
sim_time_t pcie_down_free_at(const struct pcie *pcie);

/* Per-TLP bytes on the link besides the payload (see pcie.c). */
enum {
	PCIE_LINK_OVERHEAD = 8, /* framing 2 + sequence number 2 + LCRC 4 */
	PCIE_MWR_OVERHEAD = PCIE_LINK_OVERHEAD + 16, /* 4DW header, 64-bit address */
	PCIE_MRD_OVERHEAD = PCIE_LINK_OVERHEAD + 16, /* 4DW header, 64-bit address */
	PCIE_CPLD_OVERHEAD = PCIE_LINK_OVERHEAD + 12, /* 3DW header */
	/* messages (PRI Page Request, PRG Response, ATS Invalidate Request
	 * and Completion): 4DW header (PCIe Base Spec 3.0 sec. 2.2.8) */
	PCIE_MSG_OVERHEAD = PCIE_LINK_OVERHEAD + 16,
};

#endif
