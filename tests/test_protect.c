/*
 * tests/test_protect.c - the NIC as a protection boundary: MR
 * deregistration fenced against DMA in flight (issue 17, row 1).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "nic/nic_int.h"
#include "tests/nic_harness.h"

struct dereg_seen {
	bool done;
	sim_time_t at;
	uint64_t pinned_at_done;
	struct pair *p;
};

static void dereg_done(void *ctx)
{
	struct dereg_seen *d = ctx;
	d->done = true;
	d->at = sim_now(d->p->sim);
	d->pinned_at_done = counter(d->p, "b.vmm.pinned_pages");
}

static void no_watch(void *ctx, struct nic_mr *mr, uint64_t end)
{
	(void)mr;
	(void)end;
	(*(unsigned *)ctx)++;
}

/* Run until b has received @n more packets. */
static void run_until_rx(struct pair *p, uint64_t n)
{
	uint64_t want = counter(p, "b.nic.rx_packets") + n;
	for (int i = 0; i < 100000 && counter(p, "b.nic.rx_packets") < want;
	     i++)
		sim_run_until(p->sim, sim_now(p->sim) + 100 * SIM_NS);
	ck_assert_uint_ge(counter(p, "b.nic.rx_packets"), want);
}

/*
 * Row 1: the server deregisters its MR while a 1 MiB RDMA WRITE into it
 * is arriving.  The rest of the message is refused (remote access error
 * at the requester), the DMA already issued still lands, the pages stay
 * pinned until it has, and only then does the deregistration complete.
 * Before the fence the QP kept the freed MR as its current one and the
 * next packet translated through freed memory (ASan: heap use after
 * free in nic_mr_translate).
 */
START_TEST(dereg_fenced_against_dma)
{
	struct pair p;
	pair_setup(&p, NULL, NULL, 1 << 20);
	uint64_t pinned = counter(&p, "b.vmm.pinned_pages");
	ck_assert_uint_eq(pinned, 256);
	unsigned watched = 0;
	nic_mr_watch(p.mr[1], no_watch, &watched);
	struct nic_send_wr wr = wr_of(&p, 0, 1, NIC_WR_RDMA_WRITE, 0, 1 << 20);
	ck_assert_int_eq(nic_post_send(p.qp[0], &wr), 0);
	run_until_rx(&p, 64);
	struct nic_mr *mr = p.mr[1];
	sim_time_t busy = mr->dma_busy;
	ck_assert_msg(busy > sim_now(p.sim), "no DMA in flight at the dereg");
	ck_assert_ptr_eq(p.qp[1]->cur_mr, mr);
	struct dereg_seen d = { .p = &p };
	sim_time_t t0 = sim_now(p.sim);
	unsigned watched_before = watched;
	ck_assert_uint_gt(mr->holds, 0); /* watch events of DMA in flight */
	nic_dereg_mr(mr, dereg_done, &d);
	ck_assert(!d.done);
	ck_assert_ptr_null(p.qp[1]->cur_mr);
	ck_assert_uint_eq(counter(&p, "b.nic.dereg_cut_messages"), 1);
	sim_run_until(p.sim, sim_now(p.sim) + 10 * SIM_MS);
	ck_assert(d.done);
	/* done only after the last DMA issued before the dereg landed, and
	 * the pages were pinned until then */
	ck_assert_uint_ge(d.at, busy);
	ck_assert_uint_gt(d.at, t0);
	ck_assert_uint_eq(d.pinned_at_done, 0);
	ck_assert_uint_eq(counter(&p, "b.vmm.pinned_pages"), 0);
	/* no callback for a deregistered MR, though its DMA landed */
	ck_assert_uint_eq(watched, watched_before);
	ck_assert_uint_ge(counter(&p, "b.nic.remote_access_naks_sent"), 1);
	ck_assert_uint_eq(p.wc[0]->len, 1);
	ck_assert_int_eq(g_array_index(p.wc[0], struct nic_wc, 0).status,
			 NIC_WC_REM_ACCESS_ERR);
	ck_assert_uint_eq(counter(&p, "b.nic.deregistrations"), 1);
	ck_assert_uint_eq(stats_get(p.sim->stats, "oracle.lost_writes"), 0);
	/* a new connection naming the old rkey: a remote access error */
	struct nic_qp *qa = nic_create_qp(p.pd[0], p.cq[0], p.cq[0], 16, 16);
	struct nic_qp *qb = nic_create_qp(p.pd[1], p.cq[1], p.cq[1], 16, 16);
	GError *e = NULL;
	ck_assert(nic_connect(qa, qb, &harness_attr, &e));
	struct nic_send_wr w2 = wr_of(&p, 0, 2, NIC_WR_RDMA_WRITE, 0, 4096);
	ck_assert_int_eq(nic_post_send(qa, &w2), 0);
	sim_run_until(p.sim, sim_now(p.sim) + 10 * SIM_MS);
	ck_assert_uint_eq(p.wc[0]->len, 2);
	ck_assert_int_eq(g_array_index(p.wc[0], struct nic_wc, 1).status,
			 NIC_WC_REM_ACCESS_ERR);
	pair_free(&p);
}
END_TEST

/*
 * An on-demand MR deregistered while the driver resolves a fault on it:
 * the deregistration waits for the fault (it holds the MR), and nothing
 * touches freed memory.
 */
START_TEST(dereg_waits_for_a_fault)
{
	static const int pol[2] = { REG_PIN, REG_ODP };
	struct pair p;
	pair_setup2(&p, ODP_SCENARIO, NULL, 64 << 10, pol);
	unsigned watched = 0;
	nic_mr_watch(p.mr[1], no_watch, &watched);
	/* a first WRITE to a page not present: a responder fault */
	struct nic_send_wr wr = wr_of(&p, 0, 1, NIC_WR_RDMA_WRITE, 0, 8192);
	ck_assert_int_eq(nic_post_send(p.qp[0], &wr), 0);
	/* page_faults counts pages once mapped (mlx5); the fault event is
	 * counted when the NIC raises it */
	for (int i = 0; i < 10000 &&
			!counter(&p, "b.nic.odp_remote_triggered_page_fault");
	     i++)
		sim_run_until(p.sim, sim_now(p.sim) + 100 * SIM_NS);
	ck_assert_uint_eq(counter(&p, "b.nic.odp_remote_triggered_page_fault"),
			  1);
	ck_assert_uint_eq(counter(&p, "b.nic.page_faults_handled"), 0);
	struct nic_mr *mr = p.mr[1];
	ck_assert_uint_gt(mr->holds, 0); /* the fault holds it */
	struct dereg_seen d = { .p = &p };
	nic_dereg_mr(mr, dereg_done, &d);
	sim_run_until(p.sim, sim_now(p.sim) + 50 * SIM_MS);
	ck_assert(d.done);
	ck_assert_uint_eq(counter(&p, "b.nic.page_faults_handled"), 1);
	ck_assert_uint_eq(watched, 0);
	/* the requester retried after the RNR wait and met the dead key */
	ck_assert_uint_eq(p.wc[0]->len, 1);
	ck_assert_int_eq(g_array_index(p.wc[0], struct nic_wc, 0).status,
			 NIC_WC_REM_ACCESS_ERR);
	pair_free(&p);
}
END_TEST

/* A requester whose lkey is deregistered between posts: the next WQE
 * completes with a local protection error, nothing goes on the wire. */
START_TEST(dereg_of_a_local_key)
{
	struct pair p;
	pair_setup(&p, NULL, NULL, 64 << 10);
	struct dereg_seen d = { .p = &p };
	nic_dereg_mr(p.mr[0], dereg_done, &d);
	uint64_t tx = counter(&p, "a.nic.tx_packets");
	struct nic_send_wr wr = wr_of(&p, 0, 1, NIC_WR_RDMA_WRITE, 0, 8192);
	ck_assert_int_eq(nic_post_send(p.qp[0], &wr), 0);
	sim_run_until(p.sim, sim_now(p.sim) + 10 * SIM_MS);
	ck_assert(d.done);
	ck_assert_uint_eq(p.wc[0]->len, 1);
	ck_assert_int_eq(g_array_index(p.wc[0], struct nic_wc, 0).status,
			 NIC_WC_LOC_PROT_ERR);
	ck_assert_uint_eq(counter(&p, "a.nic.tx_packets"), tx);
	pair_free(&p);
}
END_TEST

/* ---- keys and QP numbers ---- */

static void keys_of(struct pair *p, int host, unsigned n, uint32_t *keys)
{
	for (unsigned i = 0; i < n; i++) {
		struct nic_mr *mr = NULL;
		nic_reg_mr(p->pd[host], p->as[host], p->buf[host], 4096,
			   NIC_ACCESS_LOCAL_WRITE | NIC_ACCESS_REMOTE_WRITE,
			   REG_PIN, harness_reg_cb, &mr);
		sim_run_until(p->sim, sim_now(p->sim) + SIM_MS);
		ck_assert_ptr_nonnull(mr);
		struct nic_mr_info mi;
		nic_mr_info(mr, &mi);
		ck_assert_uint_eq(mi.lkey, mi.rkey); /* one mkey, as mlx5 */
		keys[i] = mi.rkey;
	}
}

/*
 * Keys are mlx5's: MPT index << 8 | an 8-bit variant.  Sequential
 * variants count up per NIC (the next key is predictable from any seen);
 * random ones differ per NIC and per seed; a freed index comes back with
 * a new variant, so a stale key is refused.
 */
START_TEST(key_layout_and_variants)
{
	struct pair p;
	pair_setup(&p, NULL, NULL, 64 << 10);
	uint32_t k[4];
	keys_of(&p, 1, 4, k);
	for (int i = 1; i < 4; i++) {
		ck_assert_uint_eq(NIC_MKEY_INDEX(k[i]), NIC_MKEY_INDEX(k[0]) + i);
		ck_assert_uint_eq(NIC_MKEY_VARIANT(k[i]),
				  (NIC_MKEY_VARIANT(k[0]) + i) & 0xff);
	}
	/* the harness's MR came first: its variant is the first one (1) */
	ck_assert_uint_eq(p.mi[1].rkey, (NIC_MKEY_INDEX(k[0]) - 1) << 8 | 1);
	/* deregister the second; the next registration reuses its index
	 * with the next variant, and the old key names nothing */
	struct nic_mr *old = nic_mr_by_key(p.h[1]->nic, k[1]);
	ck_assert_ptr_nonnull(old);
	nic_dereg_mr(old, NULL, NULL);
	sim_run_until(p.sim, sim_now(p.sim) + SIM_MS);
	uint32_t again;
	keys_of(&p, 1, 1, &again);
	ck_assert_uint_eq(NIC_MKEY_INDEX(again), NIC_MKEY_INDEX(k[1]));
	ck_assert_uint_ne(again, k[1]);
	ck_assert_ptr_null(nic_mr_by_key(p.h[1]->nic, k[1]));
	/* both NICs count the same way: sequential keys repeat across them */
	uint32_t ka[1];
	keys_of(&p, 0, 1, ka);
	ck_assert_uint_eq(NIC_MKEY_VARIANT(ka[0]), 2);
	pair_free(&p);

	/* random variants: reproducible, and different on each NIC; random
	 * QPNs: 24 bits, never 0 or 1, not the sequence */
	uint32_t r[2][2][8], qpn[2][2];
	for (int run = 0; run < 2; run++) {
		struct pair q;
		pair_setup(&q, "[nic]\nkey_variant = random\nqpn = random\n",
			   NULL, 64 << 10);
		keys_of(&q, 0, 8, r[run][0]);
		keys_of(&q, 1, 8, r[run][1]);
		for (int h = 0; h < 2; h++) {
			qpn[run][h] = nic_qp_num(q.qp[h]);
			ck_assert_uint_lt(qpn[run][h], 1u << 24);
			ck_assert_uint_gt(qpn[run][h], 1);
			ck_assert_uint_ne(qpn[run][h], 0x100);
		}
		pair_free(&q);
	}
	ck_assert_mem_eq(r[0], r[1], sizeof(r[0]));
	ck_assert_mem_eq(qpn[0], qpn[1], sizeof(qpn[0]));
	unsigned same = 0, seq = 0;
	for (int i = 0; i < 8; i++) {
		same += NIC_MKEY_VARIANT(r[0][0][i]) ==
			NIC_MKEY_VARIANT(r[0][1][i]);
		seq += i && NIC_MKEY_VARIANT(r[0][1][i]) ==
				    ((NIC_MKEY_VARIANT(r[0][1][i - 1]) + 1) &
				     0xff);
	}
	ck_assert_uint_lt(same, 3);
	ck_assert_uint_lt(seq, 3);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("protect");
	TCase *tc = tcase_create("dereg");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, dereg_fenced_against_dma);
	tcase_add_test(tc, dereg_waits_for_a_fault);
	tcase_add_test(tc, dereg_of_a_local_key);
	tcase_add_test(tc, key_layout_and_variants);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
