/*
 * tests/test_odp.c - on-demand paging: one responder fault costs exactly
 * the RNR wait and the modelled parts; a requester fault stalls only its
 * QP; an invalidation waits for DMA in flight; a fill that races an
 * invalidation retries; fault_mode = fatal tears the QP down; rnr_retry
 * runs out while a fault is slower than the RNR timer; implicit ODP over
 * 1 TiB costs MTT memory in proportion to the pages touched.
 */
#include <errno.h>
#include <stdlib.h>

#include "nic/nic_int.h"
#include "nic/packet.h"
#include "nic/pcie.h"
#include "nic/wire.h"
#include "tests/nic_harness.h"

/* deterministic fault service: no jitter, no transparent huge pages */

static const int pin_odp[2] = { REG_PIN, REG_ODP };



/* one 64-byte WRITE; returns the time from post to its CQE */
static sim_time_t one_write(struct pair *p)
{
	struct nic_send_wr wr = wr_of(p, 0, 7, NIC_WR_RDMA_WRITE, 0, 64);
	sim_time_t t0 = sim_now(p->sim);
	ck_assert_int_eq(nic_post_send(p->qp[0], &wr), 0);
	sim_run_until(p->sim, t0 + 50 * SIM_MS);
	ck_assert_uint_eq(p->wc[0]->len, 1);
	ck_assert_int_eq(g_array_index(p->wc[0], struct nic_wc, 0).status,
			 NIC_WC_SUCCESS);
	return g_array_index(p->wc_time[0], sim_time_t, 0) - t0;
}

START_TEST(single_responder_fault)
{
	struct nic_qp_attr attr = harness_attr;
	attr.min_rnr_timer = 6; /* 80 us: longer than the fault's service */
	struct pair pin, odp;
	pair_setup2(&pin, ODP_SCENARIO, &attr, 64 << 10, NULL);
	pair_setup2(&odp, ODP_SCENARIO, &attr, 64 << 10, pin_odp);
	sim_time_t l_pin = one_write(&pin);
	sim_time_t l_odp = one_write(&odp);
	ck_assert_uint_eq(counter(&odp, "b.nic.rnr_naks_sent"), 1);
	ck_assert_uint_eq(counter(&odp, "a.nic.rnr_naks_received"), 1);
	ck_assert_uint_eq(counter(&odp, "b.nic.page_faults"), 1);
	ck_assert_uint_eq(counter(&pin, "b.nic.rnr_naks_sent"), 0);

	struct nic_config nc;
	struct link_config lc = { 0 };
	struct driver_config dc;
	struct vmm_config vc = { 0 };
	config_defaults(&nic_params, &nc);
	config_defaults(&link_params, &lc);
	config_defaults(&driver_params, &dc);
	config_defaults(&vmm_params, &vc);
	sim_time_t cyc = sim_cycle_ps(nc.clock_hz);
	sim_time_t hit = nc.cache_hit_cycles * cyc;
	sim_time_t r64 = harness_fresh_pcie(0, 64);
	sim_time_t ack = sim_xfer_ps(wire_bytes_of(IB_ACK, 0), lc.rate_bps);
	sim_time_t data = sim_xfer_ps(wire_bytes_of(IB_WRITE_ONLY, 64),
				      lc.rate_bps);
	/*
	 * What the fault adds over the pinned run: the RNR NAK's flight,
	 * the RNR timer, the retry (the inline WQE is still in the NIC: the
	 * tx pipeline only), its flight, the responder's pipeline with a warm
	 * key and a refilled MTT line to fetch.  Everything before the fault
	 * and after the ACK is the same in both runs.
	 */
	sim_time_t extra = ack + lc.delay + ib_rnr_timer_ps(6) +
			   nc.tx_cycles * cyc + data + lc.delay +
			   nc.rx_cycles * cyc + hit + r64;
	ck_assert_msg(l_odp == l_pin + extra,
		      "odp %" G_GUINT64_FORMAT " ps, pin %" G_GUINT64_FORMAT
		      " + fault parts %" G_GUINT64_FORMAT " = %"
		      G_GUINT64_FORMAT, l_odp, l_pin, extra, l_pin + extra);
	/*
	 * The fault's own service, step by step (nic/odp.c): the EQE's PCIe
	 * write, the interrupt, the handler's EQE, a kworker waking, the
	 * mkey lookup, the one page of the 64-byte WRITE faulted in and
	 * mapped for DMA, one UMR of one 64 B block, PAGE_FAULT_RESUME.
	 */
	const struct stat_entry *h =
		stats_find(odp.sim->stats, "b.nic.fault_latency_ns");
	ck_assert_uint_eq(h->hist.count, 1);
	sim_time_t svc = harness_fresh_pcie(1, 64) + dc.irq_latency + dc.eqe_time +
			 dc.wq_latency + dc.mr_lookup_time +
			 vc.minor_fault_time + dc.dma_map_time + dc.umr_time +
			 harness_fresh_pcie(0, 64) + dc.resume_time;
	ck_assert_uint_eq(h->hist.min, svc / SIM_NS);
	/* one operation of one page, by the peer's request */
	ck_assert_uint_eq(counter(&odp, "b.nic.page_faults_handled"), 1);
	ck_assert_uint_eq(counter(&odp, "b.nic.odp_remote_triggered_page_fault"),
			  1);
	ck_assert_uint_eq(counter(&odp, "b.nic.odp_local_triggered_page_fault"),
			  0);
	config_free(&link_params, &lc);
	config_free(&vmm_params, &vc);
	pair_free(&pin);
	pair_free(&odp);
}
END_TEST

/* A requester fault stops its own QP, not another QP of the same NIC. */
START_TEST(requester_fault_stalls_only_its_qp)
{
	struct pair p;
	const int odp_pin[2] = { REG_ODP, REG_PIN };
	pair_setup2(&p, ODP_SCENARIO, NULL, 64 << 10, odp_pin);
	/* a second QP pair whose buffers are pinned */
	struct vmm_as *as = p.as[0];
	uint64_t buf2 = vmm_mmap_anywhere(as, 64 << 10,
					  VMM_PROT_READ | VMM_PROT_WRITE,
					  VMM_VMA_ANON, NULL);
	struct nic_mr *mr2 = NULL;
	nic_reg_mr(p.pd[0], as, buf2, 64 << 10,
		   NIC_ACCESS_LOCAL_WRITE | NIC_ACCESS_REMOTE_WRITE, REG_PIN,
		   harness_reg_cb, &mr2);
	sim_run_until(p.sim, sim_now(p.sim) + 10 * SIM_MS);
	ck_assert_ptr_nonnull(mr2);
	struct nic_mr_info m2;
	nic_mr_info(mr2, &m2);
	struct nic_qp *q2 = nic_create_qp(p.pd[0], p.cq[0], p.cq[0], 16, 16);
	struct nic_qp *q2b = nic_create_qp(p.pd[1], p.cq[1], p.cq[1], 16, 16);
	ck_assert(nic_connect(q2, q2b, &harness_attr, NULL));
	/* QP 1 gathers from its cold ODP buffer, QP 2 from pinned memory */
	struct nic_send_wr w1 = wr_of(&p, 0, 1, NIC_WR_RDMA_WRITE, 0, 4096);
	struct nic_send_wr w2 = wr_of(&p, 0, 2, NIC_WR_RDMA_WRITE, 0, 4096);
	w2.sge.addr = buf2;
	w2.sge.lkey = m2.lkey;
	sim_time_t t0 = sim_now(p.sim);
	ck_assert_int_eq(nic_post_send(p.qp[0], &w1), 0);
	ck_assert_int_eq(nic_post_send(q2, &w2), 0);
	sim_run_until(p.sim, t0 + 10 * SIM_MS);
	ck_assert_uint_eq(p.wc[0]->len, 2);
	/* QP 2 finished first, in the time of an unfaulted write */
	ck_assert_uint_eq(g_array_index(p.wc[0], struct nic_wc, 0).wr_id, 2);
	ck_assert_uint_eq(g_array_index(p.wc[0], struct nic_wc, 1).wr_id, 1);
	sim_time_t d2 = g_array_index(p.wc_time[0], sim_time_t, 0) - t0;
	sim_time_t d1 = g_array_index(p.wc_time[0], sim_time_t, 1) - t0;
	ck_assert_uint_lt(d2, 10 * SIM_US);
	const struct stat_entry *stall =
		stats_find(p.sim->stats, "a.nic.qp_stall_ns");
	ck_assert_uint_eq(counter(&p, "a.nic.qp_stalls"), 1);
	ck_assert_uint_eq(stall->hist.count, 1);
	ck_assert_uint_gt(d1, stall->hist.min * SIM_NS);
	ck_assert_uint_eq(counter(&p, "b.nic.rnr_naks_sent"), 0);
	pair_free(&p);
}
END_TEST

static sim_time_t moved_at;
static void move_done(void *ctx, bool ok, uint64_t new_pfn)
{
	(void)new_pfn;
	ck_assert(ok);
	moved_at = sim_now(ctx);
}

/* Step until the NIC has issued a DMA to @mr; returns when it lands. */
static sim_time_t step_until_dma_issued(struct pair *p, struct nic_mr *mr)
{
	sim_time_t before = mr->dma_busy, t0 = sim_now(p->sim);
	while (mr->dma_busy == before) {
		ck_assert_uint_lt(sim_now(p->sim) - t0, SIM_S);
		sim_run_until(p->sim, sim_now(p->sim) + SIM_NS);
	}
	return mr->dma_busy;
}

static void fault_cb_ignore(void *ctx, int status, uint64_t pfn)
{
	(void)ctx;
	(void)pfn;
	ck_assert(vmm_fault_ok(status));
}

/* An invalidation waits for a DMA write to its MR that is still in
 * flight. */
START_TEST(invalidation_waits_for_dma)
{
	struct pair p;
	/* the driver's own work shorter than a DMA in flight */
	pair_setup2(&p, ODP_SCENARIO "[driver]\ninvalidate_time = 100ns\n",
		    NULL, 64 << 10, pin_odp);
	/* map page 0 of the server's buffer first so no fault gets in the
	 * way; page 1 is resident but not mapped in the NIC, so its
	 * invalidation has no UMR to post (nothing to zap) */
	nic_advise_mr(p.mr[1], NIC_ADVISE_PREFETCH_WRITE, p.buf[1], 4096,
		      NULL, NULL);
	vmm_fault_in(p.as[1], p.buf[1] + 4096, true, fault_cb_ignore, NULL);
	sim_run_until(p.sim, sim_now(p.sim) + SIM_MS);
	struct nic_send_wr wr = wr_of(&p, 0, 1, NIC_WR_RDMA_WRITE, 0, 4096);
	ck_assert_int_eq(nic_post_send(p.qp[0], &wr), 0);
	/* step until the responder has issued the DMA, not yet landed */
	sim_time_t land = step_until_dma_issued(&p, p.mr[1]);
	sim_time_t now = sim_now(p.sim);
	ck_assert_uint_gt(land, now);
	uint64_t pfn;
	ck_assert(vmm_lookup(p.as[1], p.buf[1] + 4096, false, &pfn));
	ck_assert_uint_gt(land - now, 100 * SIM_NS);
	moved_at = 0;
	ck_assert(vmm_move_frame(p.h[1]->vmm, pfn, -1,
				 VMM_REASON_MOVE_COMPACTION, move_done, p.sim));
	sim_run_until(p.sim, now + SIM_MS);
	const struct stat_entry *h =
		stats_find(p.sim->stats, "b.nic.invalidation_latency_ns");
	ck_assert_uint_eq(h->hist.count, 1);
	/* acknowledged exactly when the DMA landed, not at invalidate_time */
	ck_assert_uint_eq(h->hist.min, (land - now) / SIM_NS);
	ck_assert_uint_ge(moved_at, land);
	ck_assert_uint_eq(p.wc[0]->len, 1);
	ck_assert_int_eq(g_array_index(p.wc[0], struct nic_wc, 0).status,
			 NIC_WC_SUCCESS);
	pair_free(&p);
}
END_TEST

/* The suspend twin: suspend() is acknowledged only once the DMA in
 * flight to the range has landed, so the copy carries the write. */
START_TEST(suspend_waits_for_dma)
{
	struct pair p;
	const int pol[2] = { REG_PIN, REG_SUSPEND };
	pair_setup2(&p, ODP_SCENARIO, NULL, 64 << 10, pol);
	struct nic_send_wr wr = wr_of(&p, 0, 1, NIC_WR_RDMA_WRITE, 0, 4096);
	ck_assert_int_eq(nic_post_send(p.qp[0], &wr), 0);
	sim_time_t land = step_until_dma_issued(&p, p.mr[1]);
	sim_time_t now = sim_now(p.sim);
	ck_assert_uint_gt(land, now);
	uint64_t pfn;
	ck_assert(vmm_lookup(p.as[1], p.buf[1], false, &pfn));
	moved_at = 0;
	ck_assert(vmm_move_frame(p.h[1]->vmm, pfn, -1,
				 VMM_REASON_MOVE_COMPACTION, move_done, p.sim));
	sim_run_until(p.sim, now + SIM_MS);
	ck_assert_uint_ge(moved_at, land);
	ck_assert_uint_eq(counter(&p, "b.nic.suspensions"), 1);
	ck_assert_uint_eq(counter(&p, "oracle.lost_writes"), 0);
	/* the write's data is in the page's new frame */
	uint64_t now_pfn;
	ck_assert(vmm_lookup(p.as[1], p.buf[1], false, &now_pfn));
	ck_assert_uint_ne(now_pfn, pfn);
	ck_assert_uint_ne(vmm_frame_version(p.h[1]->vmm, now_pfn), 0);
	ck_assert_uint_eq(p.wc[0]->len, 1);
	ck_assert_int_eq(g_array_index(p.wc[0], struct nic_wc, 0).status,
			 NIC_WC_SUCCESS);
	pair_free(&p);
}
END_TEST

/* A fill that races an invalidation starts over, and maps what the VMM
 * maps now. */
START_TEST(fill_races_invalidation)
{
	struct pair p;
	struct nic_qp_attr attr = harness_attr;
	attr.min_rnr_timer = 8; /* 160 us: one RNR round covers the race */
	pair_setup2(&p, ODP_SCENARIO, &attr, 64 << 10, pin_odp);
	/* a 64 KiB WRITE: its fault maps the 16 pages of the operation */
	struct nic_send_wr wr = wr_of(&p, 0, 1, NIC_WR_RDMA_WRITE, 0, 64 << 10);
	ck_assert_int_eq(nic_post_send(p.qp[0], &wr), 0);
	/* run until the driver thread is faulting the range in */
	while (counter(&p, "b.vmm.faults.minor") < 4)
		sim_run_until(p.sim, sim_now(p.sim) + 100 * SIM_NS);
	ck_assert_uint_eq(counter(&p, "b.nic.fault_retries"), 0);
	/* the VMM drops page 1 of the window meanwhile */
	vmm_madvise_dontneed(p.as[1], p.buf[1] + 4096, 4096);
	sim_run_until(p.sim, sim_now(p.sim) + 5 * SIM_MS);
	ck_assert_uint_eq(counter(&p, "b.nic.fault_retries"), 1);
	ck_assert_uint_eq(p.wc[0]->len, 1);
	ck_assert_int_eq(g_array_index(p.wc[0], struct nic_wc, 0).status,
			 NIC_WC_SUCCESS);
	/* every MTT entry the driver wrote is the VMM's translation */
	struct nic_mr *mr = p.mr[1];
	for (uint64_t pg = 0; pg < 16; pg++) {
		uint64_t e = mtt_get(&mr->mtt, pg), pfn;
		if (!(e & MTT_VALID))
			continue;
		ck_assert(vmm_lookup(p.as[1], p.buf[1] + pg * 4096, false,
				     &pfn));
		ck_assert_uint_eq(MTT_PFN(e), pfn);
	}
	pair_free(&p);
}
END_TEST

START_TEST(fatal_fault_mode)
{
	struct pair p;
	pair_setup2(&p, ODP_SCENARIO "[nic b]\nfault_mode = fatal\n", NULL,
		    64 << 10, pin_odp);
	for (int i = 0; i < 3; i++) {
		struct nic_send_wr wr = wr_of(&p, 0, (uint64_t)i,
					      NIC_WR_RDMA_WRITE, 0, 4096);
		ck_assert_int_eq(nic_post_send(p.qp[0], &wr), 0);
	}
	sim_run_until(p.sim, sim_now(p.sim) + 10 * SIM_MS);
	ck_assert_uint_eq(p.wc[0]->len, 3);
	ck_assert_int_eq(g_array_index(p.wc[0], struct nic_wc, 0).status,
			 NIC_WC_REM_OP_ERR);
	for (int i = 1; i < 3; i++)
		ck_assert_int_eq(g_array_index(p.wc[0], struct nic_wc, i).status,
				 NIC_WC_WR_FLUSH_ERR);
	ck_assert_int_eq(nic_qp_state(p.qp[0]), QPS_ERR);
	ck_assert_int_eq(nic_qp_state(p.qp[1]), QPS_ERR);
	ck_assert_uint_eq(counter(&p, "b.nic.fatal_faults"), 1);
	ck_assert_uint_eq(counter(&p, "b.nic.page_faults"), 0);
	pair_free(&p);
}
END_TEST

static void over_cb(void *ctx, struct nic_mr *mr, int status)
{
	ck_assert_int_eq(status, -ENOMEM);
	ck_assert_ptr_null(mr);
	*(struct nic_mr **)ctx = mr;
}

/* The RNR timer (10 us) is shorter than the fault (~31 us): every retry
 * is NAKed again until rnr_retry runs out. */
START_TEST(rnr_retry_exhausted_by_fault)
{
	struct pair p;
	struct nic_qp_attr attr = harness_attr;
	attr.min_rnr_timer = 1;
	attr.rnr_retry = 1;
	pair_setup2(&p, ODP_SCENARIO, &attr, 64 << 10, pin_odp);
	for (int i = 0; i < 2; i++) {
		struct nic_send_wr wr = wr_of(&p, 0, (uint64_t)i,
					      NIC_WR_RDMA_WRITE, 0, 4096);
		ck_assert_int_eq(nic_post_send(p.qp[0], &wr), 0);
	}
	sim_run_until(p.sim, sim_now(p.sim) + 10 * SIM_MS);
	ck_assert_uint_eq(p.wc[0]->len, 2);
	ck_assert_int_eq(g_array_index(p.wc[0], struct nic_wc, 0).status,
			 NIC_WC_RNR_RETRY_EXC_ERR);
	ck_assert_int_eq(g_array_index(p.wc[0], struct nic_wc, 1).status,
			 NIC_WC_WR_FLUSH_ERR);
	ck_assert_uint_eq(counter(&p, "b.nic.rnr_naks_sent"), 2);
	/* the fault itself was resolved: a fault is the application's,
	 * not the connection's, and it counts as an overdraft (the ODP
	 * buffer was never committed) */
	ck_assert_uint_eq(counter(&p, "b.nic.page_faults_handled"), 1);
	ck_assert_uint_ge(counter(&p, "b.nic.overdraft_faults"), 1);
	pair_free(&p);
}
END_TEST

/*
 * The race the oracle exists for: a page is moved while a DMA write to it
 * is in flight.  odp acknowledges the invalidation when the DMA has
 * landed; odp-unsafe acknowledges at once, the VMM copies the page before
 * the write lands, and the write is lost.
 */
static uint64_t race_move_with_dma(int server_policy, uint64_t *final)
{
	struct pair p;
	const int pol[2] = { REG_PIN, server_policy };
	pair_setup2(&p, ODP_SCENARIO "[driver]\ninvalidate_time = 100ns\n",
		    NULL, 64 << 10, pol);
	nic_advise_mr(p.mr[1], NIC_ADVISE_PREFETCH_WRITE, p.buf[1], 64 << 10,
		      NULL, NULL);
	sim_run_until(p.sim, sim_now(p.sim) + SIM_MS);
	struct nic_send_wr wr = wr_of(&p, 0, 1, NIC_WR_RDMA_WRITE, 0, 4096);
	ck_assert_int_eq(nic_post_send(p.qp[0], &wr), 0);
	step_until_dma_issued(&p, p.mr[1]);
	uint64_t pfn;
	ck_assert(vmm_page_frame(p.as[1], p.buf[1], &pfn));
	ck_assert(vmm_move_frame(p.h[1]->vmm, pfn, -1,
				 VMM_REASON_MOVE_COMPACTION, move_done, p.sim));
	sim_run_until(p.sim, sim_now(p.sim) + 10 * SIM_MS);
	/* the write itself completed: the peer cannot tell */
	ck_assert_uint_eq(p.wc[0]->len, 1);
	ck_assert_int_eq(g_array_index(p.wc[0], struct nic_wc, 0).status,
			 NIC_WC_SUCCESS);
	struct oracle *o = nic_oracle(p.h[1]->nic);
	oracle_finish(o);
	uint64_t lost = counter(&p, "oracle.lost_writes");
	*final = counter(&p, "oracle.final_mismatches");
	pair_free(&p);
	return lost;
}

START_TEST(oracle_catches_unsafe)
{
	uint64_t final;
	ck_assert_uint_eq(race_move_with_dma(REG_ODP, &final), 0);
	ck_assert_uint_eq(final, 0);
	ck_assert_uint_eq(race_move_with_dma(REG_ODP_UNSAFE, &final), 1);
	ck_assert_uint_eq(final, 1);
}
END_TEST

/* An RDMA READ request for a suspended page is held too, not NAKed: the
 * peer sees a slower response, never an RNR round. */
START_TEST(suspend_holds_read_requests)
{
	struct pair p;
	suspend_pair_setup(&p, NULL);
	suspend_pair_move(&p, 0, move_done, p.sim);
	ck_assert(mtt_get(&p.mr[1]->mtt, 0) & MTT_SUSP);
	struct nic_send_wr wr = wr_of(&p, 0, 9, NIC_WR_RDMA_READ, 0, 1024);
	ck_assert_int_eq(nic_post_send(p.qp[0], &wr), 0);
	sim_run_until(p.sim, sim_now(p.sim) + 10 * SIM_MS);
	ck_assert_uint_eq(p.wc[0]->len, 1);
	ck_assert_int_eq(g_array_index(p.wc[0], struct nic_wc, 0).status,
			 NIC_WC_SUCCESS);
	ck_assert_uint_ge(counter(&p, "b.nic.packets_held"), 1);
	ck_assert_uint_eq(counter(&p, "b.nic.rnr_naks_sent"), 0);
	ck_assert_uint_eq(counter(&p, "oracle.stale_reads"), 0);
	pair_free(&p);
}
END_TEST

/* Moves of a suspend MR: writes arriving meanwhile are held, then
 * released in order; the MTT names the new frame; nothing faults. */
START_TEST(suspend_holds_and_resumes)
{
	struct pair p;
	/* a 4 KiB copy at 100 Mb/s: 328 us suspended, while writes arrive */
	suspend_pair_setup(&p, NULL);
	ck_assert_uint_eq(counter(&p, "b.vmm.committed_pages"), 16);
	sim_time_t t0 = sim_now(p.sim);
	struct nic_mr *mr = p.mr[1];
	uint64_t old;
	ck_assert(vmm_page_frame(p.as[1], p.buf[1], &old));
	ck_assert_uint_eq(MTT_PFN(mtt_get(&mr->mtt, 0)), old);
	/* a slow copy keeps the range suspended while the writes arrive */
	ck_assert(vmm_move_frame(p.h[1]->vmm, old, -1,
				 VMM_REASON_MOVE_COMPACTION, move_done, p.sim));
	ck_assert(mtt_get(&mr->mtt, 0) & MTT_SUSP);
	for (int i = 0; i < 4; i++) {
		struct nic_send_wr wr = wr_of(&p, 0, (uint64_t)i,
					      NIC_WR_RDMA_WRITE, 0, 1024);
		wr.sge.addr += (uint64_t)i * 1024;
		wr.remote_addr += (uint64_t)i * 1024;
		ck_assert_int_eq(nic_post_send(p.qp[0], &wr), 0);
	}
	sim_run_until(p.sim, sim_now(p.sim) + 10 * SIM_MS);
	ck_assert_uint_eq(p.wc[0]->len, 4);
	for (int i = 0; i < 4; i++) {
		struct nic_wc *wc = &g_array_index(p.wc[0], struct nic_wc, i);
		ck_assert_int_eq(wc->status, NIC_WC_SUCCESS);
		ck_assert_uint_eq(wc->wr_id, (uint64_t)i); /* in order */
	}
	uint64_t now_pfn;
	ck_assert(vmm_page_frame(p.as[1], p.buf[1], &now_pfn));
	ck_assert_uint_ne(now_pfn, old);
	ck_assert_uint_eq(MTT_PFN(mtt_get(&mr->mtt, 0)), now_pfn);
	ck_assert(!(mtt_get(&mr->mtt, 0) & MTT_SUSP));
	ck_assert_uint_eq(counter(&p, "b.nic.suspensions"), 1);
	ck_assert_uint_eq(counter(&p, "b.nic.packets_held"), 4);
	ck_assert_uint_eq(counter(&p, "b.nic.page_faults"), 0);
	/* they completed only after the resume */
	ck_assert_uint_gt(g_array_index(p.wc_time[0], sim_time_t, 0) - t0,
			  300 * SIM_US);
	ck_assert_uint_eq(counter(&p, "b.vmm.moves"), 1);
	const struct stat_entry *h =
		stats_find(p.sim->stats, "b.nic.suspend_ns");
	ck_assert_uint_eq(h->hist.count, 1);
	oracle_finish(nic_oracle(p.h[1]->nic));
	ck_assert_uint_eq(counter(&p, "oracle.lost_writes"), 0);
	ck_assert_uint_eq(counter(&p, "oracle.final_mismatches"), 0);
	/* the last write's version is in the page's new frame */
	uint64_t v;
	ck_assert(vmm_page_version(p.as[1], p.buf[1], &v));
	ck_assert_uint_ne(v, 0);
	pair_free(&p);
}
END_TEST

/* Committing more than the host can give fails registration cleanly. */
START_TEST(suspend_overcommit_fails)
{
	struct system *sys = harness_build(
		"[sim]\nduration = 1s\n[host b]\nmemory = 64MiB\n" ODP_SCENARIO);
	struct sim *sim = system_sim(sys);
	struct host *h = system_host(sys, "b");
	struct vmm_as *as = vmm_as_new(h->vmm, "big");
	uint64_t va = vmm_mmap_anywhere(as, 256 << 20,
					VMM_PROT_READ | VMM_PROT_WRITE,
					VMM_VMA_ANON, NULL);
	struct nic_pd *pd = nic_alloc_pd(h->nic);
	int status = 1;
	struct nic_mr *mr = (struct nic_mr *)&status;
	nic_reg_mr(pd, as, va, 256 << 20, NIC_ACCESS_REMOTE_WRITE, REG_SUSPEND,
		   over_cb, &mr);
	sim_run_until(sim, sim_now(sim) + 10 * SIM_MS);
	ck_assert_ptr_null(mr);
	ck_assert_uint_eq(stats_get(sim->stats, "b.vmm.commit_failed"), 1);
	ck_assert_uint_eq(stats_get(sim->stats, "b.vmm.committed_pages"), 0);
	/* what fits still registers */
	mr = NULL;
	nic_reg_mr(pd, as, va, 16 << 20, NIC_ACCESS_REMOTE_WRITE, REG_SUSPEND,
		   harness_reg_cb, &mr);
	sim_run_until(sim, sim_now(sim) + 100 * SIM_MS);
	ck_assert_ptr_nonnull(mr);
	ck_assert_uint_eq(stats_get(sim->stats, "b.vmm.committed_pages"),
			  4096);
	system_free(sys);
}
END_TEST

static void resized(void *ctx, struct nic_mr *mr, int status)
{
	ck_assert_int_eq(status, 0);
	*(struct nic_mr **)ctx = mr;
}

/* Trim then grow an MR under each policy: keys stay, accesses past the
 * trimmed end are remote access errors, the regrown tail works again. */
static void resize_policy(int policy)
{
	struct pair p;
	const int pol[2] = { REG_PIN, policy };
	pair_setup2(&p, ODP_SCENARIO, NULL, 64 << 10, pol);
	struct nic_mr *mr = p.mr[1], *got = NULL;
	nic_mr_resize(mr, 16 << 10, resized, &got);
	sim_run_until(p.sim, sim_now(p.sim) + SIM_MS);
	ck_assert_ptr_eq(got, mr);
	struct nic_mr_info mi;
	nic_mr_info(mr, &mi);
	ck_assert_uint_eq(mi.rkey, p.mi[1].rkey);
	ck_assert_uint_eq(mi.lkey, p.mi[1].lkey);
	ck_assert_uint_eq(mi.length, 16 << 10);
	if (policy == REG_PIN)
		ck_assert_uint_eq(counter(&p, "b.vmm.pinned_pages"), 4);
	/* a write below the end is fine, one past it is refused */
	struct nic_send_wr ok = wr_of(&p, 0, 1, NIC_WR_RDMA_WRITE, 0, 4096);
	struct nic_send_wr bad = wr_of(&p, 0, 2, NIC_WR_RDMA_WRITE, 32 << 10,
				       4096);
	ck_assert_int_eq(nic_post_send(p.qp[0], &ok), 0);
	ck_assert_int_eq(nic_post_send(p.qp[0], &bad), 0);
	sim_run_until(p.sim, sim_now(p.sim) + 5 * SIM_MS);
	ck_assert_uint_eq(p.wc[0]->len, 2);
	ck_assert_int_eq(g_array_index(p.wc[0], struct nic_wc, 0).status,
			 NIC_WC_SUCCESS);
	ck_assert_int_eq(g_array_index(p.wc[0], struct nic_wc, 1).status,
			 NIC_WC_REM_ACCESS_ERR);
	ck_assert_int_eq(nic_qp_state(p.qp[0]), QPS_ERR);
	/* grow back: same keys, the tail is writable again (new QPs) */
	got = NULL;
	nic_mr_resize(mr, 64 << 10, resized, &got);
	sim_run_until(p.sim, sim_now(p.sim) + 5 * SIM_MS);
	ck_assert_ptr_eq(got, mr);
	nic_mr_info(mr, &mi);
	ck_assert_uint_eq(mi.rkey, p.mi[1].rkey);
	ck_assert_uint_eq(mi.length, 64 << 10);
	if (policy == REG_PIN)
		ck_assert_uint_eq(counter(&p, "b.vmm.pinned_pages"), 16);
	if (policy == REG_SUSPEND)
		ck_assert_uint_eq(counter(&p, "b.vmm.committed_pages"), 16);
	struct nic_qp *q0 = nic_create_qp(p.pd[0], p.cq[0], p.cq[0], 16, 16);
	struct nic_qp *q1 = nic_create_qp(p.pd[1], p.cq[1], p.cq[1], 16, 16);
	ck_assert(nic_connect(q0, q1, &harness_attr, NULL));
	g_array_set_size(p.wc[0], 0);
	ck_assert_int_eq(nic_post_send(q0, &bad), 0);
	sim_run_until(p.sim, sim_now(p.sim) + 5 * SIM_MS);
	ck_assert_uint_eq(p.wc[0]->len, 1);
	ck_assert_int_eq(g_array_index(p.wc[0], struct nic_wc, 0).status,
			 NIC_WC_SUCCESS);
	pair_free(&p);
}

START_TEST(resize_keeps_keys)
{
	resize_policy(REG_PIN);
	resize_policy(REG_ODP);
	resize_policy(REG_SUSPEND);
}
END_TEST

static void count_mapped(void *ctx, struct nic_mr *mr, int status,
			 uint64_t pages)
{
	(void)mr;
	ck_assert_int_eq(status, 0);
	*(uint64_t *)ctx += pages;
}

/* Implicit ODP over a 1 TiB mapping: MTT memory follows the pages. */
static uint64_t implicit_chunks(bool scattered)
{
	struct system *sys = harness_build(
		"[sim]\nduration = 10s\n[host b]\nmemory = 1GiB\n" ODP_SCENARIO);
	struct sim *sim = system_sim(sys);
	struct host *h = system_host(sys, "b");
	struct vmm_as *as = vmm_as_new(h->vmm, "big");
	uint64_t base = vmm_mmap_anywhere(as, 1ULL << 40,
					  VMM_PROT_READ | VMM_PROT_WRITE,
					  VMM_VMA_ANON, NULL);
	ck_assert_uint_ne(base, 0);
	struct nic_pd *pd = nic_alloc_pd(h->nic);
	struct nic_mr *mr = NULL;
	nic_reg_mr(pd, as, 0, UINT64_MAX,
		   NIC_ACCESS_LOCAL_WRITE | NIC_ACCESS_REMOTE_WRITE |
			   NIC_ACCESS_ON_DEMAND,
		   REG_ODP, harness_reg_cb, &mr);
	sim_run_until(sim, sim_now(sim) + SIM_MS);
	ck_assert_ptr_nonnull(mr);
	ck_assert_uint_eq(mr->mtt.nchunks, 0);
	struct rng r;
	rng_init(&r, 1, "pages");
	uint64_t mapped = 0;
	for (int i = 0; i < 10000; i++) {
		uint64_t pg = scattered ? rng_below(&r, (1ULL << 40) >> 12) :
					  (uint64_t)i;
		nic_advise_mr(mr, NIC_ADVISE_PREFETCH_WRITE, base + pg * 4096,
			      4096, count_mapped, &mapped);
	}
	sim_run_until(sim, sim_now(sim) + 5 * SIM_S);
	ck_assert_uint_eq(mapped, 10000);
	ck_assert_uint_eq(counter(&(struct pair){ .sim = sim },
				  "b.nic.page_prefetch"),
			  10000);
	uint64_t chunks = mr->mtt.nchunks;
	system_free(sys);
	return chunks;
}

START_TEST(implicit_odp_memory)
{
	/* 10,000 pages scattered over 1 TiB: at most one 4 KiB MTT chunk
	 * each (a dense MTT for the whole address space: 512 GiB) */
	uint64_t scattered = implicit_chunks(true);
	ck_assert_uint_le(scattered, 10000);
	ck_assert_uint_gt(scattered, 9000);
	/* the same count of consecutive pages: 20 chunks */
	ck_assert_uint_eq(implicit_chunks(false), (10000 + 511) / 512);
}
END_TEST

/*
 * Translation state per resident page (the VMM's page tables plus the
 * NIC's MTT in host memory) stays at most 48 bytes whatever the layout:
 * an implicit ODP MR with 1% of a 4 GiB region's pages touched at random
 * (about five per 2 MiB: sparse leaves, not a 4 KiB table page per 2 MiB
 * in both tables), an explicit ODP MR prefetched whole, and a pinned MR.
 */
static double xlate_per_page(int policy, bool implicit, bool scattered)
{
	struct system *sys = harness_build(
		"[sim]\nduration = 10s\n[host b]\nmemory = 1GiB\n" ODP_SCENARIO);
	struct sim *sim = system_sim(sys);
	struct host *h = system_host(sys, "b");
	struct vmm_as *as = vmm_as_new(h->vmm, "x");
	const uint64_t len = scattered ? 4ULL << 30 : 64ULL << 20;
	uint64_t base = vmm_mmap_anywhere(as, len,
					  VMM_PROT_READ | VMM_PROT_WRITE,
					  VMM_VMA_ANON, NULL);
	struct nic_pd *pd = nic_alloc_pd(h->nic);
	struct nic_mr *mr = NULL;
	unsigned acc = NIC_ACCESS_LOCAL_WRITE | NIC_ACCESS_REMOTE_WRITE |
		       (policy == REG_PIN ? 0 : NIC_ACCESS_ON_DEMAND);
	nic_reg_mr(pd, as, implicit ? 0 : base, implicit ? UINT64_MAX : len,
		   acc, policy, harness_reg_cb, &mr);
	sim_run_until(sim, sim_now(sim) + SIM_S);
	ck_assert_ptr_nonnull(mr);
	uint64_t mapped = 0, want = 0;
	if (policy != REG_PIN) {
		struct rng r;
		rng_init(&r, 3, "pages");
		uint64_t n = scattered ? (len >> 12) / 100 : len >> 12;
		for (uint64_t i = 0; i < n; i++) {
			uint64_t pg = scattered ? rng_below(&r, len >> 12) : i;
			nic_advise_mr(mr, NIC_ADVISE_PREFETCH_WRITE,
				      base + pg * 4096, 4096, count_mapped,
				      &mapped);
		}
		want = n;
		sim_run_until(sim, sim_now(sim) + 20 * SIM_S);
		ck_assert_uint_eq(mapped, want);
	}
	uint64_t resident = vmm_as_footprint(as)->now[VMM_FP_RESIDENT];
	ck_assert_uint_ge(resident, scattered ? want * 99 / 100 : len >> 12);
	double per = (double)(vmm_pt_bytes(as) + mtt_bytes(&mr->mtt)) /
		     (double)resident;
	system_free(sys);
	return per;
}

START_TEST(translation_state_per_page)
{
	double sparse = xlate_per_page(REG_ODP, true, true);
	double dense = xlate_per_page(REG_ODP, false, false);
	double pin = xlate_per_page(REG_PIN, false, false);
	printf("translation state per resident page: sparse implicit ODP "
	       "%.1f B, dense ODP %.1f B, pinned %.1f B\n", sparse, dense,
	       pin);
	fflush(stdout);
	ck_assert_msg(sparse <= 48, "sparse implicit ODP: %.1f B", sparse);
	ck_assert_msg(dense <= 48, "dense ODP: %.1f B", dense);
	ck_assert_msg(pin <= 48, "pinned: %.1f B", pin);
}
END_TEST

/*
 * Implicit ODP as mlx5 builds it: a KSM parent of 1 GiB entries over the
 * 47-bit user address space; the first fault in a GiB creates its child,
 * an invalidation that leaves a child empty destroys it.
 */
START_TEST(implicit_odp_children)
{
	struct pair p;
	pair_setup2(&p, ODP_SCENARIO, NULL, 64 << 10, pin_odp);
	struct vmm_as *as = p.as[1];
	/* 8 GiB mapped from the next 1 GiB boundary: GiBs base>>30 .. +7 */
	uint64_t va = vmm_mmap_anywhere(as, 9ULL << 30,
					VMM_PROT_READ | VMM_PROT_WRITE,
					VMM_VMA_ANON, NULL);
	ck_assert_uint_ne(va, 0);
	uint64_t base = (va + (1ULL << 30) - 1) & ~((1ULL << 30) - 1);
	struct nic_mr *mr = NULL;
	nic_reg_mr(p.pd[1], as, 0, UINT64_MAX,
		   NIC_ACCESS_LOCAL_WRITE | NIC_ACCESS_REMOTE_WRITE |
			   NIC_ACCESS_ON_DEMAND,
		   REG_ODP, harness_reg_cb, &mr);
	sim_run_until(p.sim, sim_now(p.sim) + SIM_MS);
	ck_assert_ptr_nonnull(mr);
	/* TASK_SIZE 2^47: 2^(47 - 30) = 131072 KSM entries, 128 TiB */
	struct driver_config dc;
	config_defaults(&driver_params, &dc);
	ck_assert_uint_eq(dc.implicit_va_bits, 47);
	struct nic_mr_info mi;
	nic_mr_info(mr, &mi);
	ck_assert_uint_eq(mi.length, 1ULL << 47);
	ck_assert_uint_eq(mr->ksm->nslots, 131072);
	ck_assert_uint_eq(mr->ksm->nchildren, 0);
	ck_assert_uint_eq(counter(&p, "b.nic.implicit_ksm_entries"), 131072);
	uint64_t reg0 = counter(&p, "b.nic.registered_pages");
	/* one page in each of GiBs 0, 1 and 3 of the region, two in GiB 0 */
	static const uint64_t offs[] = { 0, 4096 * 7, (1ULL << 30) + 4096,
					 (3ULL << 30) + (5ULL << 20) };
	uint64_t mapped = 0;
	for (unsigned i = 0; i < G_N_ELEMENTS(offs); i++)
		nic_advise_mr(mr, NIC_ADVISE_PREFETCH_WRITE, base + offs[i],
			      4096, count_mapped, &mapped);
	sim_run_until(p.sim, sim_now(p.sim) + 10 * SIM_MS);
	ck_assert_uint_eq(mapped, 4);
	ck_assert_uint_eq(mr->ksm->nchildren, 3);
	ck_assert_uint_eq(counter(&p, "b.nic.implicit_children_created"), 3);
	ck_assert_uint_eq(counter(&p, "b.nic.implicit_children"), 3);
	/* what an implicit MR registers is what it maps */
	ck_assert_uint_eq(counter(&p, "b.nic.registered_pages") - reg0, 4);
	ck_assert_ptr_nonnull(nic_imr_child(mr, (base >> 12)));
	ck_assert_ptr_null(nic_imr_child(mr, (base >> 12) + (2 << 18)));
	/* emptying GiB 1 destroys its child; GiB 0 keeps one page: stays */
	vmm_madvise_dontneed(as, base + (1ULL << 30) + 4096, 4096);
	vmm_madvise_dontneed(as, base, 4096);
	sim_run_until(p.sim, sim_now(p.sim) + SIM_MS);
	ck_assert_uint_eq(counter(&p, "b.nic.implicit_children_destroyed"),
			  1);
	ck_assert_uint_eq(mr->ksm->nchildren, 2);
	ck_assert_ptr_null(nic_imr_child(mr, (base >> 12) + (1 << 18)));
	ck_assert_uint_eq(counter(&p, "b.nic.registered_pages") - reg0, 2);
	/* a peer's WRITE into GiB 1 faults a new child in */
	struct nic_send_wr wr = wr_of(&p, 0, 1, NIC_WR_RDMA_WRITE, 0, 4096);
	wr.remote_addr = base + (1ULL << 30);
	wr.rkey = mi.rkey;
	ck_assert_int_eq(nic_post_send(p.qp[0], &wr), 0);
	sim_run_until(p.sim, sim_now(p.sim) + 50 * SIM_MS);
	ck_assert_uint_eq(p.wc[0]->len, 1);
	ck_assert_int_eq(g_array_index(p.wc[0], struct nic_wc, 0).status,
			 NIC_WC_SUCCESS);
	ck_assert_uint_eq(counter(&p, "b.nic.implicit_children_created"), 4);
	ck_assert_uint_eq(mr->ksm->nchildren, 3);
	/* unmapping the whole region empties and destroys every child */
	vmm_munmap(as, va, 9ULL << 30);
	sim_run_until(p.sim, sim_now(p.sim) + SIM_MS);
	ck_assert_uint_eq(mr->ksm->nchildren, 0);
	ck_assert_uint_eq(counter(&p, "b.nic.implicit_children"), 0);
	ck_assert_uint_eq(counter(&p, "b.nic.implicit_children_destroyed"),
			  4);
	ck_assert_uint_eq(counter(&p, "b.nic.registered_pages"), reg0);
	nic_dereg_mr(mr, NULL, NULL);
	sim_run_until(p.sim, sim_now(p.sim) + SIM_MS);
	ck_assert_uint_eq(counter(&p, "b.nic.implicit_ksm_entries"), 0);
	pair_free(&p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("odp");
	TCase *tc = tcase_create("odp");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, single_responder_fault);
	tcase_add_test(tc, requester_fault_stalls_only_its_qp);
	tcase_add_test(tc, invalidation_waits_for_dma);
	tcase_add_test(tc, suspend_waits_for_dma);
	tcase_add_test(tc, fill_races_invalidation);
	tcase_add_test(tc, fatal_fault_mode);
	tcase_add_test(tc, rnr_retry_exhausted_by_fault);
	tcase_add_test(tc, implicit_odp_memory);
	tcase_add_test(tc, translation_state_per_page);
	tcase_add_test(tc, implicit_odp_children);
	tcase_add_test(tc, oracle_catches_unsafe);
	tcase_add_test(tc, suspend_holds_and_resumes);
	tcase_add_test(tc, suspend_holds_read_requests);
	tcase_add_test(tc, suspend_overcommit_fails);
	tcase_add_test(tc, resize_keeps_keys);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
