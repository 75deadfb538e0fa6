/*
 * tests/test_regress.c - defects a review found in the HCA and the driver,
 * each reproduced here and fixed: a fault parked forever behind a
 * suspension, a lost READ response re-requested once per later response,
 * an overflow RNR NAK that acknowledged unexecuted packets, READ responses
 * dropped during an unrelated stall, an ACK past a READ forgotten, a
 * resize or a DONTNEED during a suspension leaving pages suspended forever.
 */
#include <errno.h>
#include <stdlib.h>
#include "nic/nic_int.h"
#include "tests/nic_harness.h"
static void move_done(void *ctx, bool ok, uint64_t new_pfn)
{ (void)ctx; (void)ok; (void)new_pfn; }

/* A fault on a suspend-policy MR that starts while another page of the
 * MR is suspended parks, and nothing wakes it (resume != invalidate_end). */
START_TEST(suspend_parks_fault_forever)
{
	struct pair p;
	suspend_pair_setup(&p, NULL);
	/* page 1 goes (DONTNEED invalidates: MTT entry zapped) */
	vmm_madvise_dontneed(p.as[1], p.buf[1] + 4096, 4096);
	sim_run_until(p.sim, sim_now(p.sim) + 1 * SIM_MS);
	/* a slow move of page 5 keeps the subscription's count odd */
	suspend_pair_move(&p, 5, move_done, p.sim);
	/* a write to page 1 faults at the responder meanwhile */
	struct nic_send_wr wr = wr_of(&p, 0, 1, NIC_WR_RDMA_WRITE, 4096, 64);
	ck_assert_int_eq(nic_post_send(p.qp[0], &wr), 0);
	sim_run_until(p.sim, sim_now(p.sim) + 100 * SIM_MS);
	ck_assert_uint_eq(p.wc[0]->len, 1);
	pair_free(&p);
}
END_TEST


/* One lost READ response: how many re-requests and responses follow? */
START_TEST(read_gap_rerequests)
{
	struct pair p;
	pair_setup(&p, NULL, NULL, 1 << 20);
	struct nic_send_wr wr = wr_of(&p, 0, 1, NIC_WR_RDMA_READ, 0, 64 * 4096);
	ck_assert_int_eq(nic_post_send(p.qp[0], &wr), 0);
	struct nic *nb = p.h[1]->nic;
	while (counter(&p, "b.nic.read_responses_sent") < 64)
		sim_run_until(p.sim, sim_now(p.sim) + 10 * SIM_NS);
	uint32_t first = nic_sq_at(p.qp[0], 0)->first_psn;
	int marked = 0;
	for (guint i = 0; i < nb->resp_q->len; i++) {
		struct pkt *r = g_array_index(nb->resp_q, struct resp_pkt, i).p;
		if (r->psn == ((first + 1) & PSN_MASK)) { r->corrupted = true; marked++; }
	}
	ck_assert_int_eq(marked, 1);
	sim_run_until(p.sim, sim_now(p.sim) + 50 * SIM_MS);
	ck_assert_uint_le(counter(&p, "b.nic.read_responses_sent"), 64 + 63);
	pair_free(&p);
}
END_TEST


/* The hold-buffer overflow RNR NAK acknowledges held packets that have
 * not been executed; one whose replay fails is then lost for good. */
START_TEST(hold_overflow_acks_unexecuted)
{
	struct pair p;
	suspend_pair_setup(&p, "[nic b]\nhold_packets = 2\n");
	struct nic_recv_wr rw = { 100, { p.buf[1] + 8192, 4096, p.mi[1].lkey } };
	ck_assert_int_eq(nic_post_recv(p.qp[1], &rw), 0); /* one WQE only */
	suspend_pair_move(&p, 0, move_done, p.sim);
	for (int i = 0; i < 3; i++) {
		struct nic_send_wr wr = wr_of(&p, 0, (uint64_t)i,
					      NIC_WR_RDMA_WRITE_WITH_IMM, 0, 64);
		ck_assert_int_eq(nic_post_send(p.qp[0], &wr), 0);
	}
	sim_run_until(p.sim, sim_now(p.sim) + 2000 * SIM_MS);
	/* whatever succeeded at the requester was executed at the
	 * responder: one receive WQE, so one WRITE_WITH_IMM gets through;
	 * none is reported done but lost */
	unsigned ok_a = 0, ok_b = 0;
	for (guint i = 0; i < p.wc[0]->len; i++)
		ok_a += g_array_index(p.wc[0], struct nic_wc, i).status ==
			NIC_WC_SUCCESS;
	for (guint i = 0; i < p.wc[1]->len; i++)
		ok_b += g_array_index(p.wc[1], struct nic_wc, i).status ==
			NIC_WC_SUCCESS;
	ck_assert_uint_eq(ok_a, ok_b);
	ck_assert_uint_eq(ok_b, 1);
	ck_assert_uint_ge(counter(&p, "b.nic.packets_held_overflow_rnr"), 1);
	pair_free(&p);
}
END_TEST


/* READ responses arriving while the requester is stalled on a gather
 * fault of a later WQE are dropped and nothing re-requests them. */
START_TEST(read_dropped_during_gather_stall)
{
	struct pair p;
	const int pol[2] = { REG_ODP, REG_PIN };
	pair_setup2(&p, ODP_SCENARIO, NULL, 1 << 20, pol);
	nic_advise_mr(p.mr[0], NIC_ADVISE_PREFETCH_WRITE, p.buf[0], 64 << 10, NULL, NULL);
	sim_run_until(p.sim, sim_now(p.sim) + SIM_MS);
	sim_time_t t0 = sim_now(p.sim);
	struct nic_send_wr r = wr_of(&p, 0, 1, NIC_WR_RDMA_READ, 0, 16 * 4096);
	struct nic_send_wr w = wr_of(&p, 0, 2, NIC_WR_RDMA_WRITE, 512 << 10, 4096);
	ck_assert_int_eq(nic_post_send(p.qp[0], &r), 0);
	ck_assert_int_eq(nic_post_send(p.qp[0], &w), 0);
	while (p.wc[0]->len == 0)
		sim_run_until(p.sim, sim_now(p.sim) + SIM_US);
	sim_run_until(p.sim, sim_now(p.sim) + 200 * SIM_MS);
	ck_assert_uint_eq(counter(&p, "a.nic.local_ack_timeouts"), 0);
	ck_assert_uint_eq(p.wc[0]->len, 2);
	/* the READ does not wait for the WRITE's fault */
	ck_assert_uint_lt(g_array_index(p.wc_time[0], sim_time_t, 0) - t0,
			  100 * SIM_US);
	pair_free(&p);
}
END_TEST


/* An ACK that overtakes the responses of an earlier READ is cut at the
 * READ and forgotten: the WRITE after the READ waits for the ACK timer. */
START_TEST(ack_overtaking_read_is_forgotten)
{
	struct pair p;
	pair_setup(&p, NULL, NULL, 1 << 20);
	sim_time_t t0 = sim_now(p.sim);
	struct nic_send_wr r = wr_of(&p, 0, 1, NIC_WR_RDMA_READ, 0, 16 * 4096);
	/* at offset 0 the WRITE's translation is cached by the READ's, so
	 * its ACK does overtake the READ responses (at 512 KiB it waited
	 * behind the READ's MTT fetches and the case never arose) */
	struct nic_send_wr w = wr_of(&p, 0, 2, NIC_WR_RDMA_WRITE, 0, 64);
	ck_assert_int_eq(nic_post_send(p.qp[0], &r), 0);
	ck_assert_int_eq(nic_post_send(p.qp[0], &w), 0);
	sim_run_until(p.sim, sim_now(p.sim) + 200 * SIM_MS);
	ck_assert_uint_eq(counter(&p, "a.nic.local_ack_timeouts"), 0);
	ck_assert_uint_eq(p.wc[0]->len, 2);
	ck_assert_uint_lt(g_array_index(p.wc_time[0], sim_time_t, 1) - t0,
			  100 * SIM_US);
	pair_free(&p);
}
END_TEST


static void rs_done(void *ctx, struct nic_mr *mr, int status)
{ (void)mr; *(int *)ctx = status + 1; }
/* Resizing (resubscribe) while a page is suspended: the old subscription
 * is acked and dead, its resume never comes, MTT_SUSP stays forever. */
START_TEST(resize_during_suspend_sticks)
{
	struct pair p;
	suspend_pair_setup(&p, NULL);
	suspend_pair_move(&p, 0, move_done, p.sim);
	int got = 0;
	nic_mr_resize(p.mr[1], 32 << 10, rs_done, &got);
	struct nic_send_wr wr = wr_of(&p, 0, 1, NIC_WR_RDMA_WRITE, 0, 64);
	ck_assert_int_eq(nic_post_send(p.qp[0], &wr), 0);
	sim_run_until(p.sim, sim_now(p.sim) + 100 * SIM_MS);
	ck_assert_uint_eq(p.wc[0]->len, 1);
	ck_assert_int_eq(g_array_index(p.wc[0], struct nic_wc, 0).status,
			 NIC_WC_SUCCESS);
	ck_assert_int_eq(got, 1); /* the resize completed, status 0 */
	ck_assert(!(mtt_get(&p.mr[1]->mtt, 0) & MTT_SUSP));
	ck_assert_uint_eq(p.h[1]->nic->held_now, 0);
	pair_free(&p);
}
END_TEST


/* munmap/DONTNEED of a page while it is suspended: zap keeps MTT_SUSP,
 * resume skips non-VALID entries, the page is "suspended" forever. */
START_TEST(dontneed_during_suspend_sticks)
{
	struct pair p;
	suspend_pair_setup(&p, NULL);
	suspend_pair_move(&p, 0, NULL, NULL);
	sim_run_until(p.sim, sim_now(p.sim) + 10 * SIM_US);
	vmm_madvise_dontneed(p.as[1], p.buf[1], 4096);
	sim_run_until(p.sim, sim_now(p.sim) + 5 * SIM_MS);
	struct nic_send_wr wr = wr_of(&p, 0, 1, NIC_WR_RDMA_WRITE, 0, 64);
	ck_assert_int_eq(nic_post_send(p.qp[0], &wr), 0);
	sim_run_until(p.sim, sim_now(p.sim) + 100 * SIM_MS);
	ck_assert(p.wc[0]->len == 1 && g_array_index(p.wc[0], struct nic_wc, 0).status == NIC_WC_SUCCESS);
	pair_free(&p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("regress");
	TCase *tc = tcase_create("review");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, suspend_parks_fault_forever);
	tcase_add_test(tc, read_gap_rerequests);
	tcase_add_test(tc, hold_overflow_acks_unexecuted);
	tcase_add_test(tc, read_dropped_during_gather_stall);
	tcase_add_test(tc, ack_overtaking_read_is_forgotten);
	tcase_add_test(tc, resize_during_suspend_sticks);
	tcase_add_test(tc, dontneed_during_suspend_sticks);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
