/*
 * nic/pcie.c - analytic PCIe DMA timing (see pcie.h for the representation
 * and the workload it assumes).
 *
 * Where the numbers come from:
 *  - Per-TLP overhead (pcie.h): 2 bytes of physical-layer framing, a 2-byte
 *    sequence number and a 4-byte LCRC from the data link layer, then the
 *    TLP header: 4 DW for a memory write or read with a 64-bit address,
 *    3 DW for a completion; no ECRC.  So MWr and MRd cost 24 bytes, CplD
 *    20 bytes (PCIe Base Spec 3.0 sec. 2.2 headers, ch. 3 sequence number and
 *    LCRC, sec. 4.2.2 framing; the same figures as
 *    Neugebauer et al. SIGCOMM'18 and pcie-model/model/pcie.py).
 *  - DLLPs: an ACK and a flow-control update (8 bytes each on the link)
 *    every N bytes of TLPs, with N from the spec's recommended ACK and
 *    UpdateFC intervals for a x16 link (PCIe Base Spec 5.0 Tables 3-7..3-9
 *    and 2-46..2-48, as tabulated for Gen3 and Gen4 in pcie-model), plus a
 *    4-byte SKIP ordered set every 1538 bytes (ibid.).  They travel in the
 *    opposite direction to the TLPs they acknowledge; like pcie-model we
 *    deduct them from both directions, which is exact for the symmetric
 *    load of a NIC moving data both ways and slightly pessimistic
 *    otherwise.
 *  - Line rate: 8 GT/s (Gen3) or 16 GT/s (Gen4) per lane with 128b/130b
 *    encoding (PCIe Base Spec 3.0 sec. 4.2.2, 4.0 sec. 4.2.2).
 *  - Latency: see the param table below.
 */
#include "nic/pcie.h"

#include <stddef.h>

#include "sim/sim.h"
#include "sim/stats.h"

const char *const pcie_profile_names[] = { "gen3x16", "gen4x16", NULL };

struct pcie_profile_desc {
	uint64_t gts;   /* transfers/s per lane */
	unsigned lanes;
};

static const struct pcie_profile_desc pcie_profiles[] = {
	[PCIE_GEN3X16] = { 8000000000ULL, 16 },
	[PCIE_GEN4X16] = { 16000000000ULL, 16 },
};

/* Recommended ACK and UpdateFC intervals in TLP bytes for a x16 link,
 * indexed by log2(MPS) - 7 (MPS 128..4096); identical for Gen3 and Gen4
 * (pcie-model/model/pcie.py, Ack_Limits and FC_Guide). */
static const unsigned pcie_dllp_interval_x16[] = { 144, 168, 182,
						   246, 374, 630 };
#define PCIE_DLLP_BYTES 8      /* 2 framing + 4 DLLP + 2 CRC */
#define PCIE_SKIP_BYTES 4      /* SKIP ordered set */
#define PCIE_SKIP_INTERVAL 1538

static const struct param pcie_tab[] = {
	{ "profile", PT_ENUM, "gen3x16", offsetof(struct pcie_config, profile),
	  "link generation and width: gen3x16 (8 GT/s) or gen4x16 (16 GT/s "
	  "per lane); sets the line rate when link_rate is 0",
	  "ConnectX-5 class NICs are Gen3 x16, ConnectX-6 Gen4 x16",
	  pcie_profile_names, 0, 0 },
	{ "link_rate", PT_RATE, "0bps", offsetof(struct pcie_config, link_rate),
	  "link data rate after 128b/130b encoding, before ACK/flow-control "
	  "DLLPs; 0bps: the profile's (gen3x16: 126.03Gbps, gen4x16: "
	  "252.06Gbps)",
	  "PCIe Base Spec 3.0/4.0 sec. 4.2.2: 8 or 16 GT/s x 16 lanes x "
	  "128/130",
	  NULL, 0, 1e13 },
	{ "mps", PT_SIZE, "256B", offsetof(struct pcie_config, mps),
	  "Max_Payload_Size: largest payload of a write or read completion "
	  "TLP (power of two)",
	  "what server firmware configures on the root ports of current Xeon "
	  "hosts (Neugebauer et al. SIGCOMM'18 model 256B); the spec's "
	  "reset value is 128B",
	  NULL, 128, 4096 },
	{ "mrrs", PT_SIZE, "512B", offsetof(struct pcie_config, mrrs),
	  "Max_Read_Request_Size: largest read request TLP (power of two)",
	  "PCIe Base Spec 3.0 sec. 7.8.4, Device Control register: reset "
	  "value 010b = 512 bytes, which Linux leaves in place by default",
	  NULL, 128, 4096 },
	{ "latency", PT_TIME, "200ns", offsetof(struct pcie_config, latency),
	  "one-way latency NIC to root complex (or back): PHY, data link "
	  "layer, root port and IIO, excluding serialization",
	  "calibrated with mem_latency so an unloaded 64B DMA read takes "
	  "~0.5us (2 x 200ns + 100ns + serialization): pcie-bench "
	  "measurements of small DMA reads on Xeon E5 hosts are ~0.5us, other "
	  "hosts up to ~1us (Neugebauer et al. SIGCOMM'18)",
	  NULL, 0, 1e9 },
	{ "mem_latency", PT_TIME, "100ns",
	  offsetof(struct pcie_config, mem_latency),
	  "host memory access at the root complex for a DMA read, between the "
	  "request's arrival and its first completion",
	  "estimate: idle DRAM load latency of current Xeon servers is "
	  "~80-100ns (what Intel's Memory Latency Checker reports idle); "
	  "part of the 0.5us calibration of latency",
	  NULL, 0, 1e9 },
};
PARAM_TABLE(pcie_params, "pcie", "PCIe link between an HCA and its host",
	    pcie_tab);

struct pcie {
	struct sim *sim;
	struct pcie_config cfg;
	uint64_t tlp_rate;            /* bits/s */
	struct sim_rate rate;         /* tlp_rate, for sim_rate_xfer_ps */
	unsigned mps_shift, mrrs_shift; /* log2 of MPS and MRRS */
	sim_time_t up_free, down_free;
	pcie_xlat_fn xlat;            /* the IOMMU, or NULL */
	void *xlat_ctx;
	sim_time_t rc_buffer_time;    /* the root port's buffer at link rate */
	uint64_t *tlps_up, *tlps_down, *bytes_up, *bytes_down;
};

static bool pcie_pow2_in(uint64_t v)
{
	return v >= 128 && v <= 4096 && (v & (v - 1)) == 0;
}

bool pcie_config_validate(const struct pcie_config *cfg, GError **error)
{
	if (cfg->profile < 0 ||
	    cfg->profile >= (int)G_N_ELEMENTS(pcie_profiles)) {
		g_set_error(error, CONFIG_ERROR, 0, "pcie: unknown profile %d",
			    cfg->profile);
		return false;
	}
	if (!pcie_pow2_in(cfg->mps)) {
		g_set_error(error, CONFIG_ERROR, 0,
			    "pcie: mps = %" G_GUINT64_FORMAT
			    "B is not a power of two from 128B to 4KiB",
			    cfg->mps);
		return false;
	}
	if (!pcie_pow2_in(cfg->mrrs)) {
		g_set_error(error, CONFIG_ERROR, 0,
			    "pcie: mrrs = %" G_GUINT64_FORMAT
			    "B is not a power of two from 128B to 4KiB",
			    cfg->mrrs);
		return false;
	}
	return true;
}

static unsigned pcie_log2(uint64_t v)
{
	return 63u - (unsigned)__builtin_clzll(v);
}

/* TLP-layer rate: the raw rate less ACK, UpdateFC and SKIP overheads. */
static uint64_t pcie_compute_tlp_rate(const struct pcie_config *cfg)
{
	const struct pcie_profile_desc *pr = &pcie_profiles[cfg->profile];
	double raw = cfg->link_rate ?
			     (double)cfg->link_rate :
			     (double)pr->gts * pr->lanes * 128.0 / 130.0;
	double interval = pcie_dllp_interval_x16[pcie_log2(cfg->mps) - 7];
	double overhead = 2.0 * PCIE_DLLP_BYTES / interval +
			  (double)PCIE_SKIP_BYTES / PCIE_SKIP_INTERVAL;
	return (uint64_t)(raw * (1.0 - overhead));
}

struct pcie *pcie_new(struct sim *sim, const char *host,
		      const struct pcie_config *cfg)
{
	g_assert(pcie_config_validate(cfg, NULL));
	struct pcie *p = g_new0(struct pcie, 1);
	p->sim = sim;
	p->cfg = *cfg;
	p->tlp_rate = pcie_compute_tlp_rate(cfg);
	sim_rate_init(&p->rate, p->tlp_rate);
	p->mps_shift = pcie_log2(cfg->mps);
	p->mrrs_shift = pcie_log2(cfg->mrrs);
	p->tlps_up = stats_counter(sim->stats, "%s.pcie.tlps_up", host);
	p->tlps_down = stats_counter(sim->stats, "%s.pcie.tlps_down", host);
	p->bytes_up = stats_counter(sim->stats, "%s.pcie.bytes_up", host);
	p->bytes_down = stats_counter(sim->stats, "%s.pcie.bytes_down", host);
	return p;
}

void pcie_free(struct pcie *pcie)
{
	g_free(pcie);
}

/* ceil(a / 2^shift): MPS and MRRS are powers of two (validated) */
static inline uint64_t pcie_div_up(uint64_t a, unsigned shift)
{
	return (a + (1ULL << shift) - 1) >> shift;
}

static inline sim_time_t pcie_ser(const struct pcie *p, uint64_t bytes)
{
	return sim_rate_xfer_ps(&p->rate, bytes);
}

static inline sim_time_t pcie_max(sim_time_t a, sim_time_t b)
{
	return a > b ? a : b;
}

/* Completion TLPs for a read of @bytes: each request of up to MRRS is
 * answered by completions of up to MPS. */
static uint64_t pcie_cpl_tlps(const struct pcie *p, uint64_t bytes)
{
	uint64_t per_req = pcie_div_up(p->cfg.mrrs, p->mps_shift);
	uint64_t full = bytes >> p->mrrs_shift;
	uint64_t rem = bytes & (p->cfg.mrrs - 1);
	return full * per_req + (rem ? pcie_div_up(rem, p->mps_shift) : 0);
}

sim_time_t pcie_dma_write(struct pcie *p, uint64_t bytes)
{
	return pcie_dma_write_at(p, sim_now(p->sim), bytes);
}

sim_time_t pcie_dma_write_at(struct pcie *p, sim_time_t now, uint64_t bytes)
{
	g_assert(now >= sim_now(p->sim));
	if (bytes == 0)
		return now;
	uint64_t n = pcie_div_up(bytes, p->mps_shift);
	uint64_t link = bytes + n * PCIE_MWR_OVERHEAD;
	sim_time_t start = pcie_max(now, p->up_free);
	p->up_free = start + pcie_ser(p, link);
	*p->tlps_up += n;
	*p->bytes_up += link;
	return p->up_free + p->cfg.latency;
}

/*
 * A read: the requests go upstream back to back; the first completion can
 * leave the root complex one latency plus a memory access after the first
 * request has arrived, and the completions stream downstream from then on,
 * but the last request's completions cannot leave before that request has
 * arrived and been served.  Returns the time the last completion byte is
 * at the NIC, and the new busy-until times through @up/@down.
 */
static sim_time_t pcie_read_at(const struct pcie *p, sim_time_t now,
			       uint64_t bytes, sim_time_t *up,
			       sim_time_t *down, sim_time_t xlat)
{
	const sim_time_t lat = p->cfg.latency, mem = p->cfg.mem_latency;
	uint64_t nreq = pcie_div_up(bytes, p->mrrs_shift);
	uint64_t ncpl = pcie_cpl_tlps(p, bytes);
	uint64_t last_req = bytes - (nreq - 1) * p->cfg.mrrs;
	uint64_t last_cpl = pcie_div_up(last_req, p->mps_shift);
	sim_time_t start = pcie_max(now, *up);
	sim_time_t first_req_end = start + pcie_ser(p, PCIE_MRD_OVERHEAD);
	*up = start + pcie_ser(p, nreq * PCIE_MRD_OVERHEAD);
	sim_time_t cpl_start = pcie_max(*down, first_req_end + lat + xlat + mem);
	sim_time_t end = cpl_start +
			 pcie_ser(p, bytes + ncpl * PCIE_CPLD_OVERHEAD);
	sim_time_t last_end = *up + lat + xlat + mem +
			      pcie_ser(p, last_req + last_cpl *
							     PCIE_CPLD_OVERHEAD);
	*down = pcie_max(end, last_end);
	return *down + lat;
}

sim_time_t pcie_dma_read(struct pcie *p, uint64_t bytes)
{
	return pcie_dma_read_at(p, sim_now(p->sim), bytes);
}

/* A read of @bytes (> 0) on the link, its completions @xlat later than
 * the memory access alone allows; counted. */
static inline sim_time_t pcie_read_link(struct pcie *p, sim_time_t now,
					uint64_t bytes, sim_time_t xlat)
{
	sim_time_t t = pcie_read_at(p, now, bytes, &p->up_free, &p->down_free,
				    xlat);
	uint64_t nreq = pcie_div_up(bytes, p->mrrs_shift);
	uint64_t ncpl = pcie_cpl_tlps(p, bytes);
	*p->tlps_up += nreq;
	*p->bytes_up += nreq * PCIE_MRD_OVERHEAD;
	*p->tlps_down += ncpl;
	*p->bytes_down += bytes + ncpl * PCIE_CPLD_OVERHEAD;
	return t;
}

sim_time_t pcie_dma_read_at(struct pcie *p, sim_time_t now, uint64_t bytes)
{
	g_assert(now >= sim_now(p->sim));
	if (bytes == 0)
		return now;
	return pcie_read_link(p, now, bytes, 0);
}

sim_time_t pcie_read_latency(const struct pcie *p, uint64_t bytes)
{
	if (bytes == 0)
		return 0;
	sim_time_t up = 0, down = 0;
	return pcie_read_at(p, 0, bytes, &up, &down, 0);
}

void pcie_set_xlat(struct pcie *p, pcie_xlat_fn fn, void *ctx,
		   uint64_t rc_buffer)
{
	p->xlat = fn;
	p->xlat_ctx = ctx;
	p->rc_buffer_time = pcie_ser(p, rc_buffer);
}

/* A read translated at the root complex: its first request arrives one
 * serialization and one latency after it leaves; the completions wait
 * for the translation on top of the memory access. */
sim_time_t pcie_dma_read_xlat_at(struct pcie *p, sim_time_t now,
				 uint64_t bytes, uint32_t pasid,
				 uint64_t iova, unsigned shift)
{
	g_assert(p->xlat && now >= sim_now(p->sim));
	if (bytes == 0)
		return now;
	sim_time_t arrive = pcie_max(now, p->up_free) +
			    pcie_ser(p, PCIE_MRD_OVERHEAD) + p->cfg.latency;
	sim_time_t x = p->xlat(p->xlat_ctx, arrive, pasid, iova, bytes, shift);
	g_assert(x >= arrive);
	return pcie_read_link(p, now, bytes, x - arrive);
}

/* A posted write translated at the root complex: it lands as late as its
 * translation makes it, and the link cannot run further ahead of the
 * translation than the root port's buffer holds. */
sim_time_t pcie_dma_write_xlat_at(struct pcie *p, sim_time_t now,
				  uint64_t bytes, uint32_t pasid,
				  uint64_t iova, unsigned shift)
{
	g_assert(p->xlat && now >= sim_now(p->sim));
	if (bytes == 0)
		return now;
	uint64_t n = pcie_div_up(bytes, p->mps_shift);
	uint64_t link = bytes + n * PCIE_MWR_OVERHEAD;
	uint64_t first = (bytes < p->cfg.mps ? bytes : p->cfg.mps) +
			 PCIE_MWR_OVERHEAD;
	sim_time_t start = pcie_max(now, p->up_free);
	sim_time_t arrive = start + pcie_ser(p, first) + p->cfg.latency;
	sim_time_t x = p->xlat(p->xlat_ctx, arrive, pasid, iova, bytes, shift);
	g_assert(x >= arrive);
	p->up_free = start + pcie_ser(p, link);
	sim_time_t land = p->up_free + p->cfg.latency + (x - arrive);
	/* credits: the next TLP cannot reach the root port before the
	 * buffer ahead of the stalled translation has room */
	sim_time_t hold = p->cfg.latency + p->rc_buffer_time;
	if (x > hold && x - hold > p->up_free)
		p->up_free = x - hold;
	*p->tlps_up += n;
	*p->bytes_up += link;
	return land;
}

sim_time_t pcie_tlp_up_at(struct pcie *p, sim_time_t t, uint64_t link_bytes)
{
	g_assert(t >= sim_now(p->sim));
	*p->tlps_up += 1;
	*p->bytes_up += link_bytes;
	return t + pcie_ser(p, link_bytes) + p->cfg.latency;
}

sim_time_t pcie_tlp_down_at(struct pcie *p, sim_time_t t, uint64_t link_bytes)
{
	g_assert(t >= sim_now(p->sim));
	*p->tlps_down += 1;
	*p->bytes_down += link_bytes;
	return t + pcie_ser(p, link_bytes) + p->cfg.latency;
}

sim_time_t pcie_mmio_write(struct pcie *p, uint64_t bytes)
{
	g_assert(bytes > 0);
	sim_time_t now = sim_now(p->sim);
	uint64_t n = pcie_div_up(bytes, p->mps_shift);
	uint64_t link = bytes + n * PCIE_MWR_OVERHEAD;
	sim_time_t start = pcie_max(now, p->down_free);
	p->down_free = start + pcie_ser(p, link);
	*p->tlps_down += n;
	*p->bytes_down += link;
	return p->down_free + p->cfg.latency;
}

uint64_t pcie_tlp_rate(const struct pcie *p)
{
	return p->tlp_rate;
}

sim_time_t pcie_up_free_at(const struct pcie *p)
{
	return p->up_free;
}

sim_time_t pcie_down_free_at(const struct pcie *p)
{
	return p->down_free;
}
