/*
 * tests/test_protect.c - the NIC as a protection boundary: MR
 * deregistration fenced against DMA in flight (issue 17, row 1).
 */
#include <check.h>
#include <errno.h>
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

/* ---- memory windows, invalidation, atomics ---- */

/* An MR over b's whole buffer with @access (besides the harness's). */
static struct nic_mr *reg_b(struct pair *p, unsigned access)
{
	struct nic_mr *mr = NULL;
	nic_reg_mr(p->pd[1], p->as[1], p->buf[1], 64 << 10, access, REG_PIN,
		   harness_reg_cb, &mr);
	sim_run_until(p->sim, sim_now(p->sim) + SIM_MS);
	ck_assert_ptr_nonnull(mr);
	return mr;
}

/* A fresh connected pair on the same PDs and CQs (an access error ends
 * the QPs it happens on). */
static void reconnect(struct pair *p)
{
	for (int i = 0; i < 2; i++)
		p->qp[i] = nic_create_qp(p->pd[i], p->cq[i], p->cq[i], 64, 64);
	GError *e = NULL;
	ck_assert(nic_connect(p->qp[0], p->qp[1], &harness_attr, &e));
}

/* The status of a's next completion, after running @ms. */
static enum nic_wc_status next_wc(struct pair *p, int side, guint *seen,
				  int ms)
{
	sim_run_until(p->sim, sim_now(p->sim) + (sim_time_t)ms * SIM_MS);
	ck_assert_uint_gt(p->wc[side]->len, *seen);
	return g_array_index(p->wc[side], struct nic_wc, (*seen)++).status;
}

static enum nic_wc_status write_with(struct pair *p, guint *seen,
				     uint32_t rkey, uint64_t off, uint32_t len)
{
	struct nic_send_wr wr = wr_of(p, 0, 100 + *seen, NIC_WR_RDMA_WRITE,
				      off, len);
	wr.rkey = rkey;
	ck_assert_int_eq(nic_post_send(p->qp[0], &wr), 0);
	return next_wc(p, 0, seen, 5);
}

/*
 * A type 2 window: bound by a BIND_MW on the QP the peer's requests come
 * in on, it opens its range and rights only, through that QP only;
 * LOCAL_INV refuses the key from then on.  Binding it needs MW_BIND on
 * the MR (C10-73) and may not reach past it (C10-75).
 */
START_TEST(mw_type2_bind_use_invalidate)
{
	struct pair p;
	pair_setup(&p, NULL, NULL, 64 << 10);
	struct nic_mr *mr = reg_b(&p, NIC_ACCESS_LOCAL_WRITE |
					      NIC_ACCESS_REMOTE_WRITE |
					      NIC_ACCESS_MW_BIND);
	struct nic_mw *mw = nic_alloc_mw(p.pd[1], NIC_MW_TYPE_2);
	uint32_t k = nic_inc_rkey(nic_mw_rkey(mw));
	struct nic_send_wr b = {
		.wr_id = 7, .opcode = NIC_WR_BIND_MW, .signaled = true,
		.bind = { .mw = mw, .rkey = k, .mr = mr,
			  .addr = p.buf[1] + 8192, .length = 8192,
			  .access = NIC_ACCESS_REMOTE_WRITE },
	};
	guint sa = 0, sb = 0;
	ck_assert_int_eq(nic_post_send(p.qp[1], &b), 0);
	ck_assert_int_eq(next_wc(&p, 1, &sb, 1), NIC_WC_SUCCESS);
	ck_assert_int_eq(g_array_index(p.wc[1], struct nic_wc, 0).opcode,
			 NIC_WC_BIND_MW);
	ck_assert_uint_eq(counter(&p, "b.nic.mw_binds"), 1);
	/* inside the window: fine; the MR would allow more, the key not */
	ck_assert_int_eq(write_with(&p, &sa, k, 8192, 8192), NIC_WC_SUCCESS);
	ck_assert_int_eq(write_with(&p, &sa, k, 4096, 8192),
			 NIC_WC_REM_ACCESS_ERR);
	reconnect(&p);
	/* a type 2 window belongs to the QP it was bound through */
	ck_assert_int_eq(write_with(&p, &sa, k, 8192, 4096),
			 NIC_WC_REM_ACCESS_ERR);
	pair_free(&p);

	/* bind it through the new QP, invalidate it, use it */
	pair_setup(&p, NULL, NULL, 64 << 10);
	mr = reg_b(&p, NIC_ACCESS_LOCAL_WRITE | NIC_ACCESS_REMOTE_WRITE |
			       NIC_ACCESS_MW_BIND);
	mw = nic_alloc_mw(p.pd[1], NIC_MW_TYPE_2);
	k = nic_inc_rkey(nic_mw_rkey(mw));
	b.bind.mw = mw;
	b.bind.mr = mr;
	b.bind.rkey = k;
	b.bind.addr = p.buf[1];
	sa = sb = 0;
	ck_assert_int_eq(nic_post_send(p.qp[1], &b), 0);
	ck_assert_int_eq(next_wc(&p, 1, &sb, 1), NIC_WC_SUCCESS);
	ck_assert_int_eq(write_with(&p, &sa, k, 0, 4096), NIC_WC_SUCCESS);
	struct nic_send_wr inv = { .wr_id = 8, .opcode = NIC_WR_LOCAL_INV,
				   .signaled = true, .invalidate_rkey = k };
	ck_assert_int_eq(nic_post_send(p.qp[1], &inv), 0);
	ck_assert_int_eq(next_wc(&p, 1, &sb, 1), NIC_WC_SUCCESS);
	ck_assert_uint_eq(counter(&p, "b.nic.mw_invalidations"), 1);
	ck_assert_int_eq(write_with(&p, &sa, k, 0, 4096),
			 NIC_WC_REM_ACCESS_ERR);
	/* an MR with a window bound cannot be deregistered; once the
	 * window is gone it can */
	ck_assert_int_eq(mr->mw_bound, 0);
	pair_free(&p);
}
END_TEST

START_TEST(mw_bind_errors)
{
	struct pair p;
	pair_setup(&p, NULL, NULL, 64 << 10);
	static const struct {
		unsigned mr_access, mw_access;
		uint64_t off, len;
	} bad[] = {
		/* C10-73: no MW_BIND on the MR */
		{ NIC_ACCESS_LOCAL_WRITE | NIC_ACCESS_REMOTE_WRITE,
		  NIC_ACCESS_REMOTE_WRITE, 0, 4096 },
		/* C10-74: a writable window over an MR without local write */
		{ NIC_ACCESS_REMOTE_READ | NIC_ACCESS_MW_BIND,
		  NIC_ACCESS_REMOTE_WRITE, 0, 4096 },
		/* C10-75: past the MR */
		{ NIC_ACCESS_LOCAL_WRITE | NIC_ACCESS_MW_BIND,
		  NIC_ACCESS_REMOTE_WRITE, 60 << 10, 8192 },
	};
	for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
		reconnect(&p);
		struct nic_mr *mr = reg_b(&p, bad[i].mr_access);
		struct nic_mw *mw = nic_alloc_mw(p.pd[1], NIC_MW_TYPE_2);
		struct nic_send_wr b = {
			.wr_id = i, .opcode = NIC_WR_BIND_MW, .signaled = true,
			.bind = { .mw = mw, .rkey = nic_inc_rkey(nic_mw_rkey(mw)),
				  .mr = mr, .addr = p.buf[1] + bad[i].off,
				  .length = bad[i].len,
				  .access = bad[i].mw_access },
		};
		guint before = p.wc[1]->len;
		ck_assert_int_eq(nic_post_send(p.qp[1], &b), 0);
		ck_assert_int_eq(next_wc(&p, 1, &before, 1),
				 NIC_WC_MW_BIND_ERR);
		ck_assert_int_eq(nic_qp_state(p.qp[1]), QPS_ERR);
	}
	ck_assert_uint_eq(counter(&p, "b.nic.mw_bind_errors"), 3);
	ck_assert_uint_eq(counter(&p, "b.nic.mw_binds"), 0);
	pair_free(&p);
}
END_TEST

/* Type 1: bound by the verb, any QP of the PD may use it; a rebind takes
 * the next variant and the old key is refused; an MR with a window bound
 * is not deregistered. */
START_TEST(mw_type1)
{
	struct pair p;
	pair_setup(&p, NULL, NULL, 64 << 10);
	struct nic_mr *mr = reg_b(&p, NIC_ACCESS_LOCAL_WRITE |
					      NIC_ACCESS_REMOTE_WRITE |
					      NIC_ACCESS_REMOTE_READ |
					      NIC_ACCESS_MW_BIND);
	struct nic_mw *mw = nic_alloc_mw(p.pd[1], NIC_MW_TYPE_1);
	uint32_t k0 = nic_mw_rkey(mw);
	struct nic_mw_bind b = { .mw = mw, .mr = mr, .addr = p.buf[1],
				 .length = 4096,
				 .access = NIC_ACCESS_REMOTE_WRITE };
	guint sa = 0, sb = 0;
	ck_assert_int_eq(nic_bind_mw(p.qp[1], 1, true, &b), 0);
	uint32_t k1 = nic_mw_rkey(mw);
	ck_assert_uint_eq(k1, nic_inc_rkey(k0));
	ck_assert_int_eq(next_wc(&p, 1, &sb, 1), NIC_WC_SUCCESS);
	ck_assert_int_eq(nic_dereg_mr(mr, NULL, NULL), -EBUSY);
	reconnect(&p); /* another QP of the PD */
	ck_assert_int_eq(write_with(&p, &sa, k1, 0, 4096), NIC_WC_SUCCESS);
	/* no READ right through this window */
	struct nic_send_wr rd = wr_of(&p, 0, 9, NIC_WR_RDMA_READ, 0, 4096);
	rd.rkey = k1;
	ck_assert_int_eq(nic_post_send(p.qp[0], &rd), 0);
	ck_assert_int_eq(next_wc(&p, 0, &sa, 5), NIC_WC_REM_ACCESS_ERR);
	reconnect(&p);
	b.addr = p.buf[1] + 4096;
	ck_assert_int_eq(nic_bind_mw(p.qp[1], 2, true, &b), 0);
	uint32_t k2 = nic_mw_rkey(mw);
	ck_assert_int_eq(next_wc(&p, 1, &sb, 1), NIC_WC_SUCCESS);
	ck_assert_int_eq(write_with(&p, &sa, k1, 0, 4096),
			 NIC_WC_REM_ACCESS_ERR);
	reconnect(&p);
	ck_assert_int_eq(write_with(&p, &sa, k2, 4096, 4096), NIC_WC_SUCCESS);
	/* LOCAL_INV is for type 2 windows (o10-37.2.26) */
	struct nic_send_wr inv = { .opcode = NIC_WR_LOCAL_INV,
				   .signaled = true, .invalidate_rkey = k2 };
	ck_assert_int_eq(nic_post_send(p.qp[1], &inv), 0);
	ck_assert_int_eq(next_wc(&p, 1, &sb, 1), NIC_WC_LOC_QP_OP_ERR);
	nic_dealloc_mw(mw);
	ck_assert_int_eq(nic_dereg_mr(mr, NULL, NULL), 0);
	ck_assert_uint_eq(stats_get(p.sim->stats,
				    "oracle.protection_violations"), 0);
	pair_free(&p);
}
END_TEST

/*
 * A window's rights stand for the MR's remote ones: over an MR
 * registered for local access and MW_BIND only, READs, WRITEs and
 * atomics through the window are carried out (the MR's own key is
 * refused for them); a writable window needs the MR's local write
 * (C10-74), which the bind checks.  Before, the translation checked the
 * MR's rights too and refused every such access.
 */
START_TEST(mw_rights_stand_for_the_mr)
{
	struct pair p;
	pair_setup(&p, NULL, NULL, 64 << 10);
	struct nic_mr *mr = reg_b(&p, NIC_ACCESS_LOCAL_WRITE |
					      NIC_ACCESS_MW_BIND);
	struct nic_mr_info mi;
	nic_mr_info(mr, &mi);
	struct nic_mw *mw = nic_alloc_mw(p.pd[1], NIC_MW_TYPE_1);
	struct nic_mw_bind b = { .mw = mw, .mr = mr, .addr = p.buf[1],
				 .length = 8192,
				 .access = NIC_ACCESS_REMOTE_WRITE |
					   NIC_ACCESS_REMOTE_READ |
					   NIC_ACCESS_REMOTE_ATOMIC };
	guint sa = 0, sb = 0;
	ck_assert_int_eq(nic_bind_mw(p.qp[1], 1, true, &b), 0);
	ck_assert_int_eq(next_wc(&p, 1, &sb, 1), NIC_WC_SUCCESS);
	uint32_t k = nic_mw_rkey(mw);
	ck_assert_int_eq(write_with(&p, &sa, k, 0, 8192), NIC_WC_SUCCESS);
	struct nic_send_wr rd = wr_of(&p, 0, 9, NIC_WR_RDMA_READ, 0, 4096);
	rd.rkey = k;
	ck_assert_int_eq(nic_post_send(p.qp[0], &rd), 0);
	ck_assert_int_eq(next_wc(&p, 0, &sa, 5), NIC_WC_SUCCESS);
	struct nic_send_wr fa = wr_of(&p, 0, 10, NIC_WR_ATOMIC_FETCH_AND_ADD,
				      0, 8);
	fa.rkey = k;
	fa.compare_add = 1;
	ck_assert_int_eq(nic_post_send(p.qp[0], &fa), 0);
	ck_assert_int_eq(next_wc(&p, 0, &sa, 5), NIC_WC_SUCCESS);
	ck_assert_uint_eq(counter(&p, "b.nic.atomics_executed"), 1);
	/* the MR's own key opens nothing remotely */
	ck_assert_int_eq(write_with(&p, &sa, mi.rkey, 0, 4096),
			 NIC_WC_REM_ACCESS_ERR);
	reconnect(&p);
	/* an MR without local write takes read-only windows only */
	struct nic_mr *ro = reg_b(&p, NIC_ACCESS_MW_BIND);
	struct nic_mw *mw2 = nic_alloc_mw(p.pd[1], NIC_MW_TYPE_1);
	struct nic_mw_bind b2 = { .mw = mw2, .mr = ro, .addr = p.buf[1],
				  .length = 4096,
				  .access = NIC_ACCESS_REMOTE_WRITE };
	ck_assert_int_eq(nic_bind_mw(p.qp[1], 2, true, &b2), 0);
	ck_assert_int_eq(next_wc(&p, 1, &sb, 1), NIC_WC_MW_BIND_ERR);
	ck_assert_uint_eq(stats_get(p.sim->stats,
				    "oracle.protection_violations"), 0);
	pair_free(&p);
}
END_TEST

/*
 * SEND WITH INVALIDATE: the receiver's window is invalidated at the end
 * of the message, the receive CQE names the key; a key that cannot be
 * invalidated is an invalid request.
 */
START_TEST(send_with_invalidate)
{
	struct pair p;
	pair_setup(&p, NULL, NULL, 64 << 10);
	struct nic_mr *mr = reg_b(&p, NIC_ACCESS_LOCAL_WRITE |
					      NIC_ACCESS_REMOTE_WRITE |
					      NIC_ACCESS_MW_BIND);
	struct nic_mw *mw = nic_alloc_mw(p.pd[1], NIC_MW_TYPE_2);
	uint32_t k = nic_inc_rkey(nic_mw_rkey(mw));
	struct nic_send_wr b = {
		.opcode = NIC_WR_BIND_MW, .signaled = true,
		.bind = { .mw = mw, .rkey = k, .mr = mr, .addr = p.buf[1],
			  .length = 16384, .access = NIC_ACCESS_REMOTE_WRITE },
	};
	guint sa = 0, sb = 0;
	ck_assert_int_eq(nic_post_send(p.qp[1], &b), 0);
	ck_assert_int_eq(next_wc(&p, 1, &sb, 1), NIC_WC_SUCCESS);
	for (int i = 0; i < 2; i++) {
		struct nic_recv_wr rw = { .wr_id = 50 + i,
					  .sge = { p.buf[1] + 32768, 8192,
						   p.mi[1].lkey } };
		ck_assert_int_eq(nic_post_recv(p.qp[1], &rw), 0);
	}
	ck_assert_int_eq(write_with(&p, &sa, k, 0, 4096), NIC_WC_SUCCESS);
	struct nic_send_wr s = wr_of(&p, 0, 60, NIC_WR_SEND_WITH_INV, 0, 6000);
	s.invalidate_rkey = k;
	ck_assert_int_eq(nic_post_send(p.qp[0], &s), 0);
	ck_assert_int_eq(next_wc(&p, 0, &sa, 5), NIC_WC_SUCCESS);
	const struct nic_wc *rw = &g_array_index(p.wc[1], struct nic_wc, sb);
	ck_assert_int_eq(rw->status, NIC_WC_SUCCESS);
	ck_assert_int_eq(rw->opcode, NIC_WC_RECV);
	ck_assert(rw->with_inv);
	ck_assert_uint_eq(rw->invalidated_rkey, k);
	ck_assert_uint_eq(rw->byte_len, 6000);
	sb++;
	ck_assert_int_eq(write_with(&p, &sa, k, 0, 4096),
			 NIC_WC_REM_ACCESS_ERR);
	/* invalidating it again: nothing to invalidate */
	reconnect(&p);
	struct nic_recv_wr rw2 = { .wr_id = 70,
				   .sge = { p.buf[1] + 32768, 8192,
					    p.mi[1].lkey } };
	ck_assert_int_eq(nic_post_recv(p.qp[1], &rw2), 0);
	s.wr_id = 61;
	ck_assert_int_eq(nic_post_send(p.qp[0], &s), 0);
	ck_assert_int_eq(next_wc(&p, 0, &sa, 5), NIC_WC_REM_INV_REQ_ERR);
	ck_assert_uint_eq(counter(&p, "b.nic.invalidate_naks_sent"), 1);
	pair_free(&p);
}
END_TEST

static enum nic_wc_status atomic(struct pair *p, guint *seen,
				 enum nic_wr_opcode op, uint32_t rkey,
				 uint64_t off, uint64_t cmp_add,
				 uint64_t swap, uint64_t *orig)
{
	struct nic_send_wr wr = {
		.wr_id = 200 + *seen, .opcode = op, .signaled = true,
		.sge = { p->buf[0] + 40960, 8, p->mi[0].lkey },
		.remote_addr = p->buf[1] + off, .rkey = rkey,
		.compare_add = cmp_add, .swap = swap,
	};
	ck_assert_int_eq(nic_post_send(p->qp[0], &wr), 0);
	enum nic_wc_status st = next_wc(p, 0, seen, 5);
	if (orig)
		*orig = vmm_word_get(p->as[0], p->buf[0] + 40960);
	return st;
}

/*
 * Atomics: FetchAdd and CmpSwap on one word of b, the original value in
 * a's buffer; 8-byte alignment (else an invalid request); REMOTE_ATOMIC
 * on the key (else a remote access error); a duplicate (a retransmission
 * after a lost ACK) is answered, not executed again.
 */
START_TEST(atomics)
{
	struct pair p;
	pair_setup(&p, NULL, NULL, 64 << 10);
	struct nic_mr *mr = reg_b(&p, NIC_ACCESS_LOCAL_WRITE |
					      NIC_ACCESS_REMOTE_ATOMIC);
	struct nic_mr_info info;
	nic_mr_info(mr, &info);
	uint32_t k = info.rkey;
	guint sa = 0;
	uint64_t orig;
	for (int i = 0; i < 20; i++) {
		ck_assert_int_eq(atomic(&p, &sa, NIC_WR_ATOMIC_FETCH_AND_ADD, k,
					64, 5, 0, &orig),
				 NIC_WC_SUCCESS);
		ck_assert_uint_eq(orig, 5 * (uint64_t)i);
	}
	ck_assert_uint_eq(vmm_word_get(p.as[1], p.buf[1] + 64), 100);
	ck_assert_int_eq(atomic(&p, &sa, NIC_WR_ATOMIC_CMP_AND_SWP, k, 64, 7,
				99, &orig),
			 NIC_WC_SUCCESS);
	ck_assert_uint_eq(orig, 100); /* no swap: 100 != 7 */
	ck_assert_int_eq(atomic(&p, &sa, NIC_WR_ATOMIC_CMP_AND_SWP, k, 64,
				100, 99, &orig),
			 NIC_WC_SUCCESS);
	ck_assert_uint_eq(orig, 100);
	ck_assert_uint_eq(vmm_word_get(p.as[1], p.buf[1] + 64), 99);
	ck_assert_uint_eq(counter(&p, "b.nic.atomics_executed"), 22);
	/* a duplicate of the last one (as after a lost ATOMIC ACK) is
	 * answered with the saved original value, not executed again */
	struct nic *nb = p.h[1]->nic;
	struct pkt *d = pkt_alloc(nb->pool);
	d->opcode = IB_COMPARE_SWAP;
	d->dqpn = nic_qp_num(p.qp[1]);
	d->psn = (p.qp[1]->epsn - 1) & PSN_MASK;
	d->va = p.buf[1] + 64;
	d->rkey = k;
	d->compare = 99;
	d->swap_add = 1234;
	uint64_t acks = counter(&p, "b.nic.tx_packets");
	nic_rx(nb, d);
	sim_run_until(p.sim, sim_now(p.sim) + SIM_MS);
	ck_assert_uint_eq(counter(&p, "b.nic.atomics_executed"), 22);
	ck_assert_uint_eq(counter(&p, "b.nic.duplicate_requests"), 1);
	ck_assert_uint_eq(counter(&p, "b.nic.tx_packets"), acks + 1);
	ck_assert_uint_eq(vmm_word_get(p.as[1], p.buf[1] + 64), 99);
	ck_assert_int_eq(atomic(&p, &sa, NIC_WR_ATOMIC_FETCH_AND_ADD, k, 68, 1,
				0, NULL),
			 NIC_WC_REM_INV_REQ_ERR);
	ck_assert_uint_eq(counter(&p, "b.nic.misaligned_atomics"), 1);
	reconnect(&p);
	/* the harness's MR has no REMOTE_ATOMIC */
	ck_assert_int_eq(atomic(&p, &sa, NIC_WR_ATOMIC_FETCH_AND_ADD,
				p.mi[1].rkey, 64, 1, 0, NULL),
			 NIC_WC_REM_ACCESS_ERR);
	ck_assert_uint_eq(vmm_word_get(p.as[1], p.buf[1] + 64), 99);
	/* a result buffer of the wrong size is refused at post */
	struct nic_send_wr bad = {
		.opcode = NIC_WR_ATOMIC_FETCH_AND_ADD,
		.sge = { p.buf[0], 4, p.mi[0].lkey },
		.remote_addr = p.buf[1], .rkey = k,
	};
	reconnect(&p);
	ck_assert_int_eq(nic_post_send(p.qp[0], &bad), -EINVAL);
	ck_assert_uint_eq(stats_get(p.sim->stats,
				    "oracle.protection_violations"), 0);
	pair_free(&p);
}
END_TEST

/*
 * A 1 MiB WRITE through a type 2 window invalidated while it arrives:
 * the rest of the message is refused, the invalidation completes only
 * once the DMA issued through the window has landed, and the oracle's
 * own record of what keys open sees no byte land outside.
 */
START_TEST(invalidation_mid_message)
{
	struct pair p;
	pair_setup(&p, NULL, NULL, 1 << 20);
	struct nic_mr *mr = NULL;
	nic_reg_mr(p.pd[1], p.as[1], p.buf[1], 1 << 20,
		   NIC_ACCESS_LOCAL_WRITE | NIC_ACCESS_REMOTE_WRITE |
			   NIC_ACCESS_MW_BIND,
		   REG_PIN, harness_reg_cb, &mr);
	sim_run_until(p.sim, sim_now(p.sim) + 5 * SIM_MS);
	struct nic_mw *mw = nic_alloc_mw(p.pd[1], NIC_MW_TYPE_2);
	uint32_t k = nic_inc_rkey(nic_mw_rkey(mw));
	struct nic_send_wr b = {
		.opcode = NIC_WR_BIND_MW, .signaled = true,
		.bind = { .mw = mw, .rkey = k, .mr = mr, .addr = p.buf[1],
			  .length = 1 << 20, .access = NIC_ACCESS_REMOTE_WRITE },
	};
	guint sa = 0, sb = 0;
	ck_assert_int_eq(nic_post_send(p.qp[1], &b), 0);
	ck_assert_int_eq(next_wc(&p, 1, &sb, 1), NIC_WC_SUCCESS);
	struct nic_send_wr wr = wr_of(&p, 0, 1, NIC_WR_RDMA_WRITE, 0, 1 << 20);
	wr.rkey = k;
	ck_assert_int_eq(nic_post_send(p.qp[0], &wr), 0);
	run_until_rx(&p, 64);
	sim_time_t busy = mr->dma_busy;
	ck_assert_uint_gt(busy, sim_now(p.sim));
	struct nic_send_wr inv = { .wr_id = 2, .opcode = NIC_WR_LOCAL_INV,
				   .signaled = true, .invalidate_rkey = k };
	ck_assert_int_eq(nic_post_send(p.qp[1], &inv), 0);
	sim_run_until(p.sim, sim_now(p.sim) + 10 * SIM_MS);
	ck_assert_uint_eq(p.wc[1]->len, 2);
	ck_assert_int_eq(g_array_index(p.wc[1], struct nic_wc, 1).status,
			 NIC_WC_SUCCESS);
	ck_assert_uint_ge(g_array_index(p.wc_time[1], sim_time_t, 1), busy);
	ck_assert_int_eq(next_wc(&p, 0, &sa, 1), NIC_WC_REM_ACCESS_ERR);
	ck_assert_uint_ge(counter(&p, "b.nic.remote_access_naks_sent"), 1);
	ck_assert_uint_eq(stats_get(p.sim->stats,
				    "oracle.protection_violations"), 0);
	pair_free(&p);
}
END_TEST

/* The oracle's protection check is its own: a DMA under a key it never
 * saw granted, or past what a key opens, is counted, whatever the NIC
 * decided. */
START_TEST(oracle_protection_check)
{
	struct pair p;
	pair_setup(&p, NULL, NULL, 64 << 10);
	struct oracle *o = nic_oracle(p.h[1]->nic);
	struct nic_mr *mr = p.mr[1];
	sim_time_t now = sim_now(p.sim);
	oracle_dma(o, true, mr, p.buf[1], 4096, 1, now, 1, 1, mr->rkey,
		   NIC_ACCESS_REMOTE_WRITE);
	ck_assert_uint_eq(counter(&p, "oracle.protection_violations"), 0);
	oracle_dma(o, true, mr, p.buf[1] + (60 << 10), 8192, 2, now, 1, 2,
		   mr->rkey, NIC_ACCESS_REMOTE_WRITE);
	oracle_dma(o, true, mr, p.buf[1], 4096, 3, now, 1, 3,
		   mr->rkey ^ 0x55, NIC_ACCESS_REMOTE_WRITE);
	oracle_dma(o, true, mr, p.buf[1], 8, 4, now, 1, 4, mr->rkey,
		   NIC_ACCESS_REMOTE_ATOMIC);
	ck_assert_uint_eq(counter(&p, "oracle.protection_violations"), 3);
	pair_free(&p);
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
	tcase_add_test(tc, mw_type2_bind_use_invalidate);
	tcase_add_test(tc, mw_bind_errors);
	tcase_add_test(tc, mw_type1);
	tcase_add_test(tc, mw_rights_stand_for_the_mr);
	tcase_add_test(tc, send_with_invalidate);
	tcase_add_test(tc, atomics);
	tcase_add_test(tc, invalidation_mid_message);
	tcase_add_test(tc, oracle_protection_check);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
