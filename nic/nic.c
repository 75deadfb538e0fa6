/*
 * nic/nic.c - the HCA: parameters, construction, the port transmitter and
 * receive dispatch (see nic_int.h for the representation).
 *
 * Transmitter: one armed event per port (generation-tagged: re-arming
 * earlier bumps the generation and stale events do nothing).  At each
 * firing it sends at most one packet and re-arms at the end of
 * serialization.  Two engines compete for the port: the responder (its
 * ACKs/NAKs and READ responses, oldest ready first) and the requester
 * (the QPs' prepared packets, round robin among the QPs whose packet is
 * ready: nic/txsched.h).  When both have a packet ready they are served
 * by deficit round robin in wire bytes (Shreedhar & Varghese, SIGCOMM'95)
 * with quanta resp_weight and req_weight x 4 KiB, so neither starves the
 * other and a host serving READs keeps its share for its own requests;
 * an engine with nothing ready takes no turn (work conserving).  A
 * packet becomes ready when its payload DMA read completes.
 */
#include "nic/nic_int.h"

#include <stddef.h>

#include "nic/host.h"

#include "nic/mtt_cache.h"
#include "nic/pcie.h"
#include "nic/switch.h"
#include "nic/wire.h"

static const char *const fault_modes[] = { "report", "fatal", NULL };
static const char *const pf_lengths[] = { "message", "unknown", NULL };
static const char *const rnr_timers[] = { "hw", "iba", NULL };
static const char *const id_allocs[] = { "sequential", "random", NULL };

static const struct param nic_tab[] = {
	{ "clock", PT_FREQ, "1GHz", offsetof(struct nic_config, clock_hz),
	  "HCA core clock (pipeline costs below are in its cycles)",
	  "order of magnitude of RDMA NIC ASIC clocks; vendors do not publish "
	  "it", NULL, 1e6, 1e11 },
	{ "rx_cycles", PT_COUNT, "150", offsetof(struct nic_config, rx_cycles),
	  "receive pipeline latency per packet (parse, QP lookup, checks)",
	  "~150 ns of the ~600 ns a ConnectX-5 adds per side to a one-way "
	  "write (Kalia et al., ATC'16 'Design guidelines')", NULL, 0, 1e6 },
	{ "tx_cycles", PT_COUNT, "150", offsetof(struct nic_config, tx_cycles),
	  "transmit pipeline latency per packet (build headers, schedule)",
	  "as rx_cycles", NULL, 0, 1e6 },
	{ "cache_hit_cycles", PT_COUNT, "4",
	  offsetof(struct nic_config, cache_hit_cycles),
	  "MTT or MPT cache hit", "a few cycles of on-chip SRAM", NULL, 0,
	  1e6 },
	{ "mtt_cache_entries", PT_COUNT, "1024",
	  offsetof(struct nic_config, mtt_cache_entries),
	  "translations the NIC caches (entries of the MR's page size: "
	  "4 KiB, or larger for huge pages); the first level when "
	  "mtt_l1_entries > 0",
	  "FaRM (NSDI'14) and LITE (SOSP'17) see RNIC translation misses once "
	  "a few MiB of 4 KiB pages are touched", NULL, 1, 1 << 24 },
	{ "mtt_cache_ways", PT_COUNT, "8",
	  offsetof(struct nic_config, mtt_cache_ways),
	  "associativity of the MTT cache", "typical set-associative SRAM "
	  "cache", NULL, 1, 1 << 24 },
	{ "mtt_cache_policy", PT_ENUM, "lru",
	  offsetof(struct nic_config, mtt_cache_policy),
	  "replacement policy of the MTT cache",
	  "estimate: ConnectX's policy is not published; LRU", cache_policy_names,
	  0, 0 },
	{ "mtt_l1_entries", PT_COUNT, "0",
	  offsetof(struct nic_config, mtt_l1_entries),
	  "entries of a second MTT cache level behind the first (the one "
	  "mtt_cache_entries sizes): a miss there looks here before it "
	  "fetches over PCIe, and a fetched line fills both; 0: one level",
	  "ConnectX has two: NVIDIA NEO-Host's device counters "
	  "(get_device_performance_counters.py) report Level 0 and Level 1 "
	  "MTT Cache Hit and Miss, and Level 0 and Level 1 MPT Cache Hit and "
	  "Miss; their sizes are not published, so the default keeps one "
	  "level (estimate: README's translation-miss curve uses 16384, 64 "
	  "MiB of 4 KiB entries)", NULL, 0, 1 << 24 },
	{ "mtt_l1_ways", PT_COUNT, "16",
	  offsetof(struct nic_config, mtt_l1_ways),
	  "associativity of the second MTT cache level (LRU)",
	  "estimate: not published; a larger set-associative SRAM", NULL, 1,
	  1 << 24 },
	{ "mtt_l1_hit_cycles", PT_COUNT, "20",
	  offsetof(struct nic_config, mtt_l1_hit_cycles),
	  "a hit in the second MTT cache level (after the first level's "
	  "miss)", "estimate: a larger on-chip SRAM a few pipeline stages "
	  "away, ~5x a first-level hit; no published figure", NULL, 0, 1e6 },
	{ "mpt_cache_entries", PT_COUNT, "64",
	  offsetof(struct nic_config, mpt_cache_entries),
	  "memory keys (MPT entries) the NIC caches, fully associative",
	  "small key cache, enough for the MRs of a few applications", NULL,
	  1, 1 << 16 },
	{ "mtt_fetch_entries", PT_COUNT, "8",
	  offsetof(struct nic_config, mtt_fetch_entries),
	  "MTT entries one miss fetches (8 x 8 B = one 64 B read)",
	  "one cache-line-sized PCIe read", NULL, 1, 512 },
	{ "tx_window", PT_COUNT, "16", offsetof(struct nic_config, tx_window),
	  "packets a QP prepares ahead (payload DMA reads in flight)",
	  "enough outstanding reads to cover PCIe latency at 100 Gb/s",
	  NULL, 1, 4096 },
	{ "max_outstanding", PT_COUNT, "256",
	  offsetof(struct nic_config, max_outstanding),
	  "unacknowledged packets a QP may have on the wire",
	  "well above the bandwidth-delay product of a 100 Gb/s rack link",
	  NULL, 1, 1 << 22 },
	{ "ack_coalesce", PT_COUNT, "16",
	  offsetof(struct nic_config, ack_coalesce),
	  "responder acknowledges at least every N packets (and at each "
	  "message end)", "ACK coalescing of RC responders", NULL, 1, 1 << 20 },
	{ "wqe_bytes", PT_SIZE, "64B", offsetof(struct nic_config, wqe_bytes),
	  "size of a send WQE the NIC fetches", "one mlx5 WQE basic block",
	  NULL, 16, 4096 },
	{ "cqe_bytes", PT_SIZE, "64B", offsetof(struct nic_config, cqe_bytes),
	  "size of a CQE the NIC writes", "mlx5 CQE size", NULL, 16, 4096 },
	{ "fault_mode", PT_ENUM, "report",
	  offsetof(struct nic_config, fault_mode),
	  "report: page faults are resolved and traffic resumes; fatal: a "
	  "NIC without fault support, the QP goes to error",
	  "ConnectX-4 and later support ODP page faults", fault_modes, 0, 0 },
	{ "rdma_fault_length", PT_ENUM, "message",
	  offsetof(struct nic_config, rdma_fault_length),
	  "what a responder RDMA READ/WRITE fault event reports as "
	  "rdma_op_len: message (what is left of the operation: the driver "
	  "maps it all) or unknown (0: the driver maps the packet, resumes, "
	  "then prefetches min(4 MiB, bytes committed))",
	  "mlx5 odp.c mlx5_ib_mr_rdma_pfault_handler(): \"for some "
	  "operations, the hardware cannot tell the exact message length\" "
	  "(which ones is not said)", pf_lengths, 0, 0 },
	{ "rnr_timer", PT_ENUM, "hw", offsetof(struct nic_config, rnr_timer),
	  "how the requester waits out an RNR NAK's timer: hw (as a "
	  "ConnectX: max(rnr_timer_floor, the IBA value rounded up to "
	  "rnr_timer_granularity)) or iba (exactly the IBA table value, a "
	  "minimum the spec allows to exceed)",
	  "NVIDIA forum thread 207566: a ConnectX-4 (FW 12.16.1020) resent "
	  "1.5 ms after an RNR NAK advertising 0.12 ms", rnr_timers, 0, 0 },
	{ "rnr_timer_floor", PT_TIME, "1.5ms",
	  offsetof(struct nic_config, rnr_timer_floor),
	  "rnr_timer = hw: the shortest RNR wait the requester realises",
	  "NVIDIA forum thread 207566 (ConnectX-4, FW 12.16.1020): 1.5 ms "
	  "for an advertised 0.12 ms; one observation, which cannot tell a "
	  "floor from an added delay: read as a floor.  The ODP fault "
	  "default follows it: a first-touch fault costs the peer ~1.5 ms, "
	  "in the published range up to NP-RDMA's (arXiv 2310.11062) 2.85 "
	  "ms (odpsim validate; README: On-demand paging: what a fault "
	  "costs)", NULL, 0, 1e13 },
	{ "rnr_timer_granularity", PT_TIME, "0ns",
	  offsetof(struct nic_config, rnr_timer_granularity),
	  "rnr_timer = hw: longer waits round up to a multiple of this (0: "
	  "the IBA value)", "estimate: no published figure (0: none)", NULL,
	  0, 1e13 },
	{ "pf_prefetch_before", PT_COUNT, "0",
	  offsetof(struct nic_config, pf_prefetch_before),
	  "fault_scheme = memory: pages before the demand pages a MEMORY "
	  "fault event asks to prefetch (pre_demand_fault_pages)",
	  "estimate: firmware-chosen; no published figure", NULL, 0, 65535 },
	{ "pf_prefetch_after", PT_COUNT, "15",
	  offsetof(struct nic_config, pf_prefetch_after),
	  "fault_scheme = memory: pages after the demand pages a MEMORY "
	  "fault event asks to prefetch (post_demand_fault_pages)",
	  "estimate: firmware-chosen; no published figure (15: a 64 KiB "
	  "window with the demand page)", NULL, 0, 65535 },
	{ "inline_size", PT_SIZE, "220B",
	  offsetof(struct nic_config, inline_size),
	  "SEND/WRITE payloads up to this size are copied into the WQE by "
	  "the CPU and pushed with the doorbell (BlueFlame), as are READ "
	  "WQEs: no WQE fetch, no payload DMA read; 0B: never (every WQE "
	  "and payload is read over PCIe)",
	  "mlx5 max_inline_data, which perftest uses for small messages",
	  NULL, 0, 4096 },
	{ "hold_packets", PT_COUNT, "64",
	  offsetof(struct nic_config, hold_packets),
	  "packets the NIC can hold while the pages they target are "
	  "suspended; past it they get RNR NAKs",
	  "estimate: 256 KiB of on-chip buffer at 4 KiB MTU", NULL, 0,
	  1 << 20 },
	{ "resp_weight", PT_COUNT, "1", offsetof(struct nic_config, resp_weight),
	  "share of the port the responder engine (ACKs, NAKs, READ "
	  "responses) gets when the requester has packets ready too: the "
	  "two are served by deficit round robin in wire bytes, weight x "
	  "4 KiB per turn",
	  "estimate: no vendor documents the arbitration; equal shares, as "
	  "soft-RoCE's requester and responder tasks share the port with no "
	  "priority", NULL, 1, 1000 },
	{ "req_weight", PT_COUNT, "1", offsetof(struct nic_config, req_weight),
	  "share of the port the requester engine (the QPs' requests and "
	  "data) gets when the responder has packets ready too",
	  "estimate: as resp_weight", NULL, 1, 1000 },
	{ "key_variant", PT_ENUM, "sequential",
	  offsetof(struct nic_config, key_variant),
	  "the 8-bit variant in the low byte of every memory key (the MPT "
	  "index is the other 24 bits): sequential, one more per key the "
	  "NIC makes, so a key that has been seen predicts the next ones; "
	  "random, drawn for each key, so a guess or a stale key of a "
	  "reused index succeeds once in 256",
	  "mlx5: assign_mkey_variant() (drivers/infiniband/hw/mlx5/mr.c) "
	  "sets mkey_7_0 = atomic_inc_return(&dev->mkey_var); "
	  "key = mkey_index << 8 | variant",
	  id_allocs, 0, 0 },
	{ "qpn", PT_ENUM, "sequential", offsetof(struct nic_config, qpn_alloc),
	  "QP numbers: sequential from 0x100, or random 24-bit numbers "
	  "(never 0 or 1, never one in use)",
	  "estimate: RNICs hand out QPNs in sequence, which ReDMArk (USENIX "
	  "Security'21) exploits; random is its proposed mitigation",
	  id_allocs, 0, 0 },
	{ "mtt_max_page", PT_SIZE, "2GiB",
	  offsetof(struct nic_config, mtt_max_page),
	  "largest page an MTT entry may map (a power of two): a pinned "
	  "MR's entries are the largest power of two from 4 KiB to this that "
	  "its DMA layout allows (ib_umem_find_best_pgsz)",
	  "mlx5_umem_mkc_find_best_pgsz(): GENMASK(max_log_entity_size, "
	  "12), the maximum 31 (2 GiB) when the device reports no "
	  "max_mkey_log_entity_size_mtt", NULL, 4096, 1ULL << 31 },
};
PARAM_TABLE(nic_params, "nic", "the RDMA NIC (HCA) of a host", nic_tab);

void nic_set_iommu(struct nic *nic, struct iommu *io)
{
	g_assert(!nic->iommu && nic->all_mrs->len == 0);
	nic->iommu = io;
}

struct iommu *nic_iommu(const struct nic *nic)
{
	return nic->iommu;
}

sim_time_t nic_cycles(const struct nic *nic, uint64_t n)
{
	return n * nic->cycle;
}

struct nic *nic_new(struct sim *sim, struct host *host,
		    const struct nic_config *cfg, struct pcie *pcie,
		    struct pkt_pool *pool)
{
	struct nic *nic = g_new0(struct nic, 1);
	nic->pcie = pcie;
	nic->sim = sim;
	nic->host = host;
	nic->cfg = *cfg;
	nic->pool = pool;
	nic->cycle = sim_cycle_ps(cfg->clock_hz);
	const char *h = host->name;
	char *name = g_strdup_printf("%s.nic", h);
	nic->comp = sim_component_add(sim, name);
	static const char *const eng[] = { "requester", "responder",
					   "completer", "tx" };
	uint16_t *tc[] = { &nic->tc_req, &nic->tc_resp, &nic->tc_comp,
			   &nic->tc_tx };
	for (int i = 0; i < 4; i++) {
		char *en = g_strdup_printf("%s.%s", name, eng[i]);
		*tc[i] = sim_component_add(sim, en);
		g_free(en);
	}
	rng_init(&nic->rng, sim->seed, name);
	g_free(name);
	nic->mtt_cache = mtt_cache_new((uint32_t)cfg->mtt_cache_entries,
				       (uint32_t)cfg->mtt_cache_ways,
				       (enum cache_policy)cfg->mtt_cache_policy,
				       &nic->rng);
	if (cfg->mtt_l1_entries)
		nic->mtt_l1 = mtt_cache_new((uint32_t)cfg->mtt_l1_entries,
					    (uint32_t)cfg->mtt_l1_ways,
					    CACHE_LRU, &nic->rng);
	nic->mpt_cache = mtt_cache_new((uint32_t)cfg->mpt_cache_entries,
				       (uint32_t)cfg->mpt_cache_entries,
				       CACHE_LRU, &nic->rng);
	idmap_init(&nic->qps);
	idmap_init(&nic->mrs);
	idmap_init(&nic->mws);
	nic->all_mws = g_ptr_array_new_with_free_func(g_free);
	nic->all_qps = g_ptr_array_new();
	nic->all_mrs = g_ptr_array_new();
	nic->reg_mrs = g_ptr_array_new();
	nic->dying_mrs = g_ptr_array_new();
	nic->all_cqs = g_ptr_array_new();
	nic->all_pds = g_ptr_array_new();
	nic->resp_q = g_array_new(FALSE, FALSE, sizeof(struct resp_pkt));
	txs_init(&nic->txs);
	/* deficit round robin quanta: weight x 4 KiB of wire bytes */
	nic->arb_quantum[ARB_RESP] = (uint32_t)cfg->resp_weight * 4096;
	nic->arb_quantum[ARB_REQ] = (uint32_t)cfg->req_weight * 4096;
	nic->next_qpn = 0x100; /* QPNs below are reserved (IBA QP0/QP1) */
	nic->mkey_used = g_array_new(FALSE, TRUE, sizeof(uint64_t));
	char *kname = g_strdup_printf("%s.nic.keys", h);
	rng_init(&nic->keys_rng, sim->seed, kname);
	g_free(kname);
	nic->tx_at = SIM_TIME_MAX;
	struct stats *st = sim->stats;
#define C(field, nm) nic->field = stats_counter(st, "%s.nic." nm, h)
	C(c_tx_pkts, "tx_packets");
	C(c_tx_bytes, "tx_bytes");
	C(c_rx_pkts, "rx_packets");
	C(c_rx_drop_corrupt, "rx_dropped_corrupt");
	C(c_rx_drop_noqp, "rx_dropped_no_qp");
	C(c_mtt_hits, "mtt_cache.hits");
	C(c_mtt_misses, "mtt_cache.misses");
	if (nic->mtt_l1) { /* NEO-Host's Level 1 MTT Cache Hit / Miss */
		C(c_l1_hits, "mtt_cache.l1_hits");
		C(c_l1_misses, "mtt_cache.l1_misses");
	}
	C(c_mpt_hits, "mpt_cache.hits");
	C(c_mpt_misses, "mpt_cache.misses");
	C(c_rnr_sent, "rnr_naks_sent");
	C(c_rnr_recv, "rnr_naks_received");
	C(c_nak_seq_sent, "psn_seq_naks_sent");
	C(c_nak_seq_recv, "psn_seq_naks_received");
	C(c_nak_access_sent, "remote_access_naks_sent");
	C(c_nak_access_recv, "remote_access_naks_received");
	C(c_retransmits, "retransmitted_packets");
	C(c_timeouts, "local_ack_timeouts");
	C(c_dup_pkts, "duplicate_requests");
	C(c_acks_sent, "acks_sent");
	C(c_acks_recv, "acks_received");
	C(c_cqes, "cqes");
	C(c_qp_errors, "qp_errors");
	C(c_reg_pages, "registered_pages");
	C(c_read_resp_sent, "read_responses_sent");
	C(c_wqe_fetch, "wqe_fetches");
	C(c_out_of_seq, "out_of_sequence");
	C(c_qp_stalls, "qp_stalls");
	C(c_fatal_faults, "fatal_faults");
	C(c_suspensions, "suspensions");
	C(c_held, "packets_held");
	C(c_held_nak, "packets_held_overflow_rnr");
	C(c_susp_waits, "suspend_waits");
	C(c_migr_rnr, "migration_rnr_naks_sent");
	C(c_migr_drop, "migration_dropped");
	C(c_deregs, "deregistrations");
	C(c_dereg_cut, "dereg_cut_messages");
	C(c_mw_binds, "mw_binds");
	C(c_mw_bind_errors, "mw_bind_errors");
	C(c_mw_invalidations, "mw_invalidations");
	C(c_atomics, "atomics_executed");
	C(c_nak_inv_sent, "invalidate_naks_sent");
	C(c_misaligned, "misaligned_atomics");
#undef C
	nic->h_reg_time = stats_hist(st, "%s.nic.reg_time_ps", h);
	nic->h_stall_ns = stats_hist(st, "%s.nic.qp_stall_ns", h);
	/* the requester's realised RNR waits, and the local ACK timeouts
	 * that expired (the interval since the last transmission or
	 * progress, IBA 9.7.6.1.3) */
	nic->h_rnr_wait_ns = stats_hist(st, "%s.nic.rnr_wait_ns", h);
	nic->h_ack_timeout_ns = stats_hist(st, "%s.nic.ack_timeout_ns", h);
	nic->h_suspend_ns = stats_hist(st, "%s.nic.suspend_ns", h);
	nic->h_dereg_time = stats_hist(st, "%s.nic.dereg_time_ps", h);
	nic->oracle = oracle_new(nic);
	return nic;
}

void nic_free(struct nic *nic)
{
	if (!nic)
		return;
	for (guint i = 0; i < nic->all_qps->len; i++) {
		struct nic_qp *qp = nic->all_qps->pdata[i];
		nic_tx_drop(qp);
		g_queue_clear(&qp->held); /* packets belong to the pool */
		g_free(qp->txring);
		g_free(qp->sq);
		g_free(qp->rq);
		g_free(qp);
	}
	for (guint i = 0; i < nic->all_mrs->len; i++) {
		struct nic_mr *mr = nic->all_mrs->pdata[i];
		mtt_destroy(&mr->mtt);
		nic_imr_free(mr);
		g_free(mr);
	}
	for (guint i = 0; i < nic->dying_mrs->len; i++) {
		/* the run ended before the deregistration's fence */
		struct nic_mr *mr = nic->dying_mrs->pdata[i];
		mtt_destroy(&mr->mtt);
		nic_imr_free(mr);
		g_free(mr);
	}
	for (guint i = 0; i < nic->reg_mrs->len; i++) {
		/* the run ended before the registration did */
		struct nic_mr *mr = nic->reg_mrs->pdata[i];
		g_free(mr->policy_priv);
		mtt_destroy(&mr->mtt);
		nic_imr_free(mr);
		g_free(mr);
	}
	for (guint i = 0; i < nic->all_cqs->len; i++) {
		struct nic_cq *cq = nic->all_cqs->pdata[i];
		g_free(cq->ring);
		g_free(cq);
	}
	g_ptr_array_free(nic->all_pds, TRUE);
	for (guint i = 0; i < nic->resp_q->len; i++)
		pkt_free(nic->pool,
			 g_array_index(nic->resp_q, struct resp_pkt, i).p);
	g_array_free(nic->resp_q, TRUE);
	txs_destroy(&nic->txs);
	if (nic->tombs)
		g_hash_table_destroy(nic->tombs);
	idmap_destroy(&nic->qps);
	idmap_destroy(&nic->mrs);
	idmap_destroy(&nic->mws);
	g_ptr_array_free(nic->all_mws, TRUE);
	g_ptr_array_free(nic->all_qps, TRUE);
	g_ptr_array_free(nic->all_mrs, TRUE);
	g_ptr_array_free(nic->reg_mrs, TRUE);
	g_ptr_array_free(nic->dying_mrs, TRUE);
	g_array_free(nic->mkey_used, TRUE);
	g_ptr_array_free(nic->all_cqs, TRUE);
	oracle_free(nic->oracle);
	mtt_cache_free(nic->mtt_cache);
	mtt_cache_free(nic->mtt_l1);
	mtt_cache_free(nic->mpt_cache);
	iommu_free(nic->iommu);
	pcie_free(nic->pcie);
	g_free(nic);
}

void nic_attach(struct nic *nic, struct link *link, unsigned end)
{
	nic->link = link;
	nic->link_end = end;
	link_attach(link, end, (uint16_t)nic->host->index, nic_rx,
		    nic);
}

bool nic_reaches(const struct nic *nic, uint16_t host)
{
	if (!nic->link)
		return false;
	unsigned other = nic->link_end ^ 1;
	uint16_t h = link_end_host(nic->link, other);
	if (h != LINK_SWITCH_END)
		return h == host;
	return switch_port_reaches(link_end_ctx(nic->link, other), host);
}

struct link *nic_port(const struct nic *nic, unsigned *end)
{
	*end = nic->link_end;
	return nic->link;
}

struct host *nic_host(const struct nic *nic)
{
	return nic->host;
}

struct oracle *nic_oracle(const struct nic *nic)
{
	return nic->oracle;
}

bool nic_attached(const struct nic *nic)
{
	return nic->link != NULL;
}

uint32_t nic_mtt_cache_occupancy(const struct nic *nic)
{
	return mtt_cache_occupancy(nic->mtt_cache);
}

/* ---- responder packet queue: a min-heap on (ready, insertion) ---- */

static bool resp_before(const struct resp_pkt *a, const struct resp_pkt *b)
{
	return a->ready < b->ready ||
	       (a->ready == b->ready && a->p->id < b->p->id);
}

void nic_queue_response(struct nic *nic, struct pkt *p, sim_time_t ready)
{
	struct resp_pkt r = { p, ready };
	GArray *h = nic->resp_q;
	g_array_append_val(h, r);
	guint i = h->len - 1;
	struct resp_pkt *v = (struct resp_pkt *)h->data;
	while (i > 0) {
		guint parent = (i - 1) / 2;
		if (!resp_before(&v[i], &v[parent]))
			break;
		struct resp_pkt t = v[i];
		v[i] = v[parent];
		v[parent] = t;
		i = parent;
	}
	nic_tx_kick(nic);
}

static struct pkt *resp_pop(struct nic *nic)
{
	GArray *h = nic->resp_q;
	struct resp_pkt *v = (struct resp_pkt *)h->data;
	struct pkt *p = v[0].p;
	v[0] = v[h->len - 1];
	g_array_set_size(h, h->len - 1);
	guint i = 0, n = h->len;
	for (;;) {
		guint l = 2 * i + 1, r = l + 1, m = i;
		if (l < n && resp_before(&v[l], &v[m]))
			m = l;
		if (r < n && resp_before(&v[r], &v[m]))
			m = r;
		if (m == i)
			break;
		struct resp_pkt t = v[i];
		v[i] = v[m];
		v[m] = t;
		i = m;
	}
	return p;
}

/* ---- transmitter ---- */

void nic_qp_activate(struct nic_qp *qp)
{
	struct nic *nic = qp->nic;
	txs_activate(&nic->txs, qp->txs_id);
	nic_tx_kick(nic);
}

static sim_time_t earliest_ready(struct nic *nic)
{
	sim_time_t t = txs_earliest(&nic->txs);
	if (nic->resp_q->len &&
	    g_array_index(nic->resp_q, struct resp_pkt, 0).ready < t)
		t = g_array_index(nic->resp_q, struct resp_pkt, 0).ready;
	return t;
}

static void nic_tx_event(struct sim *sim, void *obj, uint64_t gen);
SIM_EVKIND(ev_tx, "nic.tx", nic_tx_event);

void nic_tx_kick(struct nic *nic)
{
	if (!nic->link)
		return;
	sim_time_t t = earliest_ready(nic);
	if (t == SIM_TIME_MAX)
		return;
	sim_time_t now = sim_now(nic->sim);
	sim_time_t free_at = link_free_at(nic->link, nic->link_end);
	if (t < free_at)
		t = free_at;
	if (t < now)
		t = now;
	if (nic->tx_at <= t)
		return; /* armed no later than needed */
	nic->tx_at = t;
	sim_schedule(nic->sim, t, &ev_tx, nic->comp, nic, ++nic->tx_gen);
}

static const struct trace_kind tk_tx = { "pkt_tx", TRACE_INSTANT, NULL };

/* Inline: once per packet, and GCC stops inlining it for the sim_trace()
 * call inside (traces/README.md, "Cost"). */
static inline void nic_transmit(struct nic *nic, struct pkt *p)
{
	(*nic->c_tx_pkts)++;
	*nic->c_tx_bytes += p->payload_len;
	sim_trace(nic->sim, nic->tc_tx, &tk_tx, p->sqpn, p->psn,
		  ib_opcode_has_reth(p->opcode) ? p->va : TRACE_NONE,
		  TRACE_NONE, p->payload_len, ib_opcode_name(p->opcode));
	link_transmit(nic->link, nic->link_end, p);
}

/*
 * Which engine sends (ARB_RESP or ARB_REQ): deficit round robin over the
 * engines with a packet ready (@ready), @bytes the wire size of each
 * one's packet.  The engine whose turn it is sends while its deficit
 * covers its packet; then the turn passes and the next engine's deficit
 * grows by its quantum.  An engine alone keeps the turn, taking new
 * quanta as its rounds follow one another, and the idle one's deficit is
 * reset (DRR: an empty queue keeps no credit).
 */
static int arb_pick(struct nic *nic, const bool ready[2],
		    const uint32_t bytes[2])
{
	uint32_t *d = nic->arb_deficit;
	const uint32_t *q = nic->arb_quantum;
	if (!ready[ARB_RESP] || !ready[ARB_REQ]) {
		int c = ready[ARB_RESP] ? ARB_RESP : ARB_REQ;
		d[c ^ 1] = 0;
		nic->arb_cur = c;
		while (d[c] < bytes[c])
			d[c] += q[c];
		d[c] -= bytes[c];
		return c;
	}
	for (;;) {
		int c = nic->arb_cur;
		if (d[c] >= bytes[c]) {
			d[c] -= bytes[c];
			return c;
		}
		nic->arb_cur = c ^ 1;
		d[c ^ 1] += q[c ^ 1];
	}
}

static void nic_tx_event(struct sim *sim, void *obj, uint64_t gen)
{
	struct nic *nic = obj;
	if (gen != nic->tx_gen)
		return; /* re-armed since */
	nic->tx_at = SIM_TIME_MAX;
	sim_time_t now = sim_now(sim);
	if (link_free_at(nic->link, nic->link_end) > now) {
		nic_tx_kick(nic);
		return;
	}
	bool ready[2];
	uint32_t bytes[2] = { 0, 0 };
	ready[ARB_RESP] = nic->resp_q->len &&
		g_array_index(nic->resp_q, struct resp_pkt, 0).ready <= now;
	if (ready[ARB_RESP])
		bytes[ARB_RESP] = pkt_wire_bytes(
			g_array_index(nic->resp_q, struct resp_pkt, 0).p);
	/* round robin among the QPs: the first ready one */
	uint32_t id = txs_pick(&nic->txs, now);
	struct nic_qp *q = id != TXS_NONE ? nic->all_qps->pdata[id] : NULL;
	ready[ARB_REQ] = q != NULL;
	if (q)
		bytes[ARB_REQ] = pkt_wire_bytes(nic_tx_at(q, 0)->p);
	if (ready[ARB_RESP] || ready[ARB_REQ]) {
		if (arb_pick(nic, ready, bytes) == ARB_RESP) {
			nic_transmit(nic, resp_pop(nic));
			nic_tx_kick(nic);
			return;
		}
		/* the QP sends, then goes to the back */
		struct pkt *p = nic_tx_at(q, 0)->p;
		q->tx_head = (q->tx_head + 1) & (q->tx_cap - 1);
		q->tx_count--;
		txs_sent(&nic->txs, id);
		txs_head(&nic->txs, id,
			 q->tx_count ? nic_tx_at(q, 0)->ready : SIM_TIME_MAX);
		if (psn_diff(p->psn, q->sent_psn) < 0)
			(*nic->c_retransmits)++;
		else
			q->sent_psn = (p->psn + 1) & PSN_MASK;
		nic_transmit(nic, p);
		comp_arm_timer(q);
		req_fill(q);
	}
	txs_unlink_empty(&nic->txs);
	nic_tx_kick(nic);
}

struct pkt *nic_pkt_new(struct nic_qp *qp, uint8_t opcode)
{
	struct pkt *p = pkt_alloc(qp->nic->pool);
	p->opcode = opcode;
	p->pkey = 0xffff;
	p->dqpn = qp->dest_qpn;
	p->sqpn = qp->qpn;
	p->src_host = (uint16_t)qp->nic->host->index;
	p->dst_host = qp->dest_host;
	return p;
}

/* ---- receive ---- */

static const struct trace_kind tk_rx_drop = { "pkt_drop", TRACE_INSTANT,
					      NULL };

void nic_rx(void *ctx, struct pkt *p)
{
	struct nic *nic = ctx;
	(*nic->c_rx_pkts)++;
	if (p->corrupted) { /* ICRC/FCS check fails: silently dropped */
		(*nic->c_rx_drop_corrupt)++;
		sim_trace(nic->sim, nic->tc_resp, &tk_rx_drop, p->dqpn, p->psn,
			  TRACE_NONE, TRACE_NONE, p->payload_len, "corrupt");
		pkt_free(nic->pool, p);
		return;
	}
	struct nic_qp *qp = idmap_get(&nic->qps, p->dqpn);
	if (!qp && nic->tombs && nic_tomb_rx(nic, p)) {
		pkt_free(nic->pool, p);
		return;
	}
	if (!qp || qp->state < QPS_RTR) {
		(*nic->c_rx_drop_noqp)++;
		sim_trace(nic->sim, nic->tc_resp, &tk_rx_drop, p->dqpn, p->psn,
			  TRACE_NONE, TRACE_NONE, p->payload_len, "no QP");
		pkt_free(nic->pool, p);
		return;
	}
	bool resp = (p->opcode >= IB_READ_RESP_FIRST &&
		     p->opcode <= IB_READ_RESP_ONLY) ||
		    p->opcode == IB_ATOMIC_ACK;
	if (nic->paused && !(p->opcode == IB_ACK)) {
		/* frozen for a migration: no DMA into memory being copied;
		 * READ responses come again when the QP re-requests */
		if (resp) {
			(*nic->c_migr_drop)++;
			pkt_free(nic->pool, p);
		} else {
			resp_paused(qp, p);
		}
		return;
	}
	if (p->opcode == IB_ACK || resp)
		comp_rx(qp, p);
	else if (resp_rx(qp, p, false))
		return; /* held for a suspended page */
	pkt_free(nic->pool, p);
}
