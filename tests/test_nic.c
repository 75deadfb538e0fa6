/*
 * tests/test_nic.c - the HCA: RC transport under loss and corruption,
 * QP errors, goodput against the framing overhead, the latency of one
 * write ping-pong against the sum of its modelled parts.
 */
#include <check.h>
#include <math.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nic/host.h"
#include "nic/nic.h"
#include "nic/nic_int.h"
#include "nic/packet.h"
#include "nic/pcie.h"
#include "nic/wire.h"
#include "sim/json.h"
#include "sim/stats.h"
#include "sim/system/system.h"
#include "vmm/vmm.h"
#include "tests/nic_harness.h"

/* Every message exactly once and in order over a lossy, corrupting link;
 * the requester's transmit count = new packets + retransmissions. */
START_TEST(rc_under_loss)
{
	struct pair p;
	pair_setup(&p, "loss = 1e-3\ncorrupt = 1e-3", NULL, 1 << 20);
	const unsigned n = 2000;
	const uint32_t len = 8192; /* two packets each */
	for (unsigned i = 0; i < n; i++) {
		struct nic_recv_wr r = { i, { p.buf[1], len, p.mi[1].lkey } };
		ck_assert_int_eq(nic_post_recv(p.qp[1], &r), 0);
	}
	for (unsigned i = 0; i < n; i++) {
		struct nic_send_wr wr = wr_of(&p, 0, i, NIC_WR_SEND_WITH_IMM,
					      (i % 64) * len, len);
		ck_assert_int_eq(nic_post_send(p.qp[0], &wr), 0);
	}
	sim_run_until(p.sim, sim_now(p.sim) + 500 * SIM_MS);
	/* requester: every send completed successfully, in order */
	ck_assert_uint_eq(p.wc[0]->len, n);
	for (unsigned i = 0; i < n; i++) {
		struct nic_wc *wc = &g_array_index(p.wc[0], struct nic_wc, i);
		ck_assert_int_eq(wc->status, NIC_WC_SUCCESS);
		ck_assert_uint_eq(wc->wr_id, i);
	}
	/* responder: each message delivered once, in order */
	ck_assert_uint_eq(p.wc[1]->len, n);
	for (unsigned i = 0; i < n; i++) {
		struct nic_wc *wc = &g_array_index(p.wc[1], struct nic_wc, i);
		ck_assert_int_eq(wc->status, NIC_WC_SUCCESS);
		ck_assert(wc->with_imm);
		ck_assert_uint_eq(wc->imm, i);
		ck_assert_uint_eq(wc->byte_len, len);
	}
	uint64_t lost = counter(&p, "ab.wire.lost");
	uint64_t corrupt = counter(&p, "ab.wire.corrupted");
	uint64_t retx = counter(&p, "a.nic.retransmitted_packets");
	ck_assert_uint_gt(lost + corrupt, 0);
	ck_assert_uint_gt(retx, 0);
	ck_assert_uint_eq(counter(&p, "a.nic.tx_packets"), 2 * n + retx);
	ck_assert_uint_eq(counter(&p, "b.nic.rx_dropped_corrupt"),
			  corrupt - counter(&p, "a.nic.rx_dropped_corrupt"));
	pair_free(&p);
}
END_TEST

/* RDMA READs under loss: data comes back once per READ, all complete. */
START_TEST(reads_under_loss)
{
	struct pair p;
	pair_setup(&p, "loss = 2e-3", NULL, 1 << 20);
	const unsigned n = 500;
	for (unsigned i = 0; i < n; i++) {
		struct nic_send_wr wr = wr_of(&p, 0, i, NIC_WR_RDMA_READ,
					      (i % 16) * 65536, 65536);
		ck_assert_int_eq(nic_post_send(p.qp[0], &wr), 0);
	}
	sim_run_until(p.sim, sim_now(p.sim) + 500 * SIM_MS);
	ck_assert_uint_eq(p.wc[0]->len, n);
	for (unsigned i = 0; i < n; i++) {
		struct nic_wc *wc = &g_array_index(p.wc[0], struct nic_wc, i);
		ck_assert_int_eq(wc->status, NIC_WC_SUCCESS);
		ck_assert_uint_eq(wc->wr_id, i);
		ck_assert_int_eq(wc->opcode, NIC_WC_RDMA_READ);
	}
	ck_assert_uint_gt(counter(&p, "ab.wire.lost"), 0);
	pair_free(&p);
}
END_TEST

static void expect_error(struct pair *p, enum nic_wc_status status)
{
	sim_run_until(p->sim, sim_now(p->sim) + 900 * SIM_MS);
	ck_assert_uint_ge(p->wc[0]->len, 2);
	struct nic_wc *first = &g_array_index(p->wc[0], struct nic_wc, 0);
	ck_assert_msg(first->status == status, "status %s, expected %s",
		      nic_wc_status_names[first->status],
		      nic_wc_status_names[status]);
	for (guint i = 1; i < p->wc[0]->len; i++)
		ck_assert_int_eq(g_array_index(p->wc[0], struct nic_wc, i).status,
				 NIC_WC_WR_FLUSH_ERR);
	ck_assert_int_eq(nic_qp_state(p->qp[0]), QPS_ERR);
	ck_assert_uint_eq(counter(p, "a.nic.qp_errors"), 1);
}

START_TEST(bad_rkey)
{
	struct pair p;
	pair_setup(&p, NULL, NULL, 1 << 16);
	struct nic_send_wr wr = wr_of(&p, 0, 1, NIC_WR_RDMA_WRITE, 0, 4096);
	wr.rkey += 1000;
	ck_assert_int_eq(nic_post_send(p.qp[0], &wr), 0);
	wr = wr_of(&p, 0, 2, NIC_WR_RDMA_WRITE, 0, 4096);
	ck_assert_int_eq(nic_post_send(p.qp[0], &wr), 0);
	expect_error(&p, NIC_WC_REM_ACCESS_ERR);
	ck_assert_uint_eq(counter(&p, "b.nic.remote_access_naks_sent"), 1);
	ck_assert_uint_eq(counter(&p, "a.nic.remote_access_naks_received"), 1);
	/* the simulation goes on: a new QP pair still works */
	struct nic_qp *q0 = nic_create_qp(p.pd[0], p.cq[0], p.cq[0], 16, 16);
	struct nic_qp *q1 = nic_create_qp(p.pd[1], p.cq[1], p.cq[1], 16, 16);
	ck_assert(nic_connect(q0, q1, &harness_attr, NULL));
	p.qp[0] = q0;
	g_array_set_size(p.wc[0], 0);
	wr = wr_of(&p, 0, 3, NIC_WR_RDMA_WRITE, 0, 4096);
	ck_assert_int_eq(nic_post_send(q0, &wr), 0);
	sim_run_until(p.sim, sim_now(p.sim) + SIM_MS);
	ck_assert_uint_eq(p.wc[0]->len, 1);
	ck_assert_int_eq(g_array_index(p.wc[0], struct nic_wc, 0).status,
			 NIC_WC_SUCCESS);
	pair_free(&p);
}
END_TEST

START_TEST(out_of_range)
{
	struct pair p;
	pair_setup(&p, NULL, NULL, 1 << 16);
	/* the local buffer is fine, the remote range runs past the MR */
	struct nic_send_wr wr = wr_of(&p, 0, 1, NIC_WR_RDMA_WRITE, 0, 4096);
	wr.remote_addr = p.buf[1] + (1 << 16) - 100;
	ck_assert_int_eq(nic_post_send(p.qp[0], &wr), 0);
	wr = wr_of(&p, 0, 2, NIC_WR_RDMA_READ, 0, 4096);
	ck_assert_int_eq(nic_post_send(p.qp[0], &wr), 0);
	expect_error(&p, NIC_WC_REM_ACCESS_ERR);
	/* a local range outside the MR: local protection error */
	struct pair q;
	pair_setup(&q, NULL, NULL, 1 << 16);
	wr = wr_of(&q, 0, 1, NIC_WR_RDMA_WRITE, (1 << 16) - 100, 4096);
	ck_assert_int_eq(nic_post_send(q.qp[0], &wr), 0);
	wr = wr_of(&q, 0, 2, NIC_WR_RDMA_WRITE, 0, 64);
	ck_assert_int_eq(nic_post_send(q.qp[0], &wr), 0);
	expect_error(&q, NIC_WC_LOC_PROT_ERR);
	pair_free(&q);
	pair_free(&p);
}
END_TEST

START_TEST(retry_exceeded)
{
	struct pair p;
	struct nic_qp_attr attr = harness_attr;
	attr.timeout = 1; /* 8.192 us */
	attr.retry_cnt = 3;
	pair_setup(&p, "loss = 1", &attr, 1 << 16);
	for (int i = 0; i < 3; i++) {
		struct nic_send_wr wr = wr_of(&p, 0, (uint64_t)i,
					      NIC_WR_RDMA_WRITE, 0, 4096);
		ck_assert_int_eq(nic_post_send(p.qp[0], &wr), 0);
	}
	expect_error(&p, NIC_WC_RETRY_EXC_ERR);
	/* retry_cnt retries after the first timeout, then the error */
	ck_assert_uint_eq(counter(&p, "a.nic.local_ack_timeouts"), 4);
	pair_free(&p);
}
END_TEST

/* A PSN-sequence NAK is a transport retry (IBA 9.7.5.2.6): with
 * retry_cnt = 0 the first one ends the QP, before any ACK timeout. */
START_TEST(seq_nak_consumes_retry_cnt)
{
	struct pair p;
	struct nic_qp_attr attr = harness_attr;
	attr.retry_cnt = 0;
	pair_setup(&p, "loss = 1e-2", &attr, 1 << 20);
	for (int i = 0; i < 64; i++) {
		struct nic_send_wr wr = wr_of(&p, 0, (uint64_t)i,
					      NIC_WR_RDMA_WRITE, 0, 64 << 10);
		ck_assert_int_eq(nic_post_send(p.qp[0], &wr), 0);
	}
	sim_run_until(p.sim, sim_now(p.sim) + 900 * SIM_MS);
	ck_assert_uint_ge(counter(&p, "a.nic.psn_seq_naks_received"), 1);
	ck_assert_uint_eq(counter(&p, "a.nic.local_ack_timeouts"), 0);
	guint n = p.wc[0]->len, errs = 0;
	for (guint i = 0; i < n; i++) {
		enum nic_wc_status st =
			g_array_index(p.wc[0], struct nic_wc, i).status;
		if (st != NIC_WC_SUCCESS) {
			ck_assert_int_eq(st, errs ? NIC_WC_WR_FLUSH_ERR
						  : NIC_WC_RETRY_EXC_ERR);
			errs++;
		}
	}
	ck_assert_uint_gt(errs, 0);
	ck_assert_int_eq(nic_qp_state(p.qp[0]), QPS_ERR);
	pair_free(&p);
}
END_TEST

START_TEST(rnr_retry_exceeded)
{
	struct pair p;
	struct nic_qp_attr attr = harness_attr;
	attr.rnr_retry = 2;
	pair_setup(&p, NULL, &attr, 1 << 16);
	/* a SEND with no receive posted: RNR NAK, twice retried */
	for (int i = 0; i < 2; i++) {
		struct nic_send_wr wr = wr_of(&p, 0, (uint64_t)i, NIC_WR_SEND,
					      0, 64);
		ck_assert_int_eq(nic_post_send(p.qp[0], &wr), 0);
	}
	expect_error(&p, NIC_WC_RNR_RETRY_EXC_ERR);
	ck_assert_uint_eq(counter(&p, "b.nic.rnr_naks_sent"), 3);
	pair_free(&p);
}
END_TEST

/* Progress restores the RNR retry budget: with rnr_retry = 1, two SENDs
 * that each meet one RNR NAK (the receive is posted after it) succeed. */
START_TEST(rnr_retry_resets_on_progress)
{
	struct pair p;
	struct nic_qp_attr attr = harness_attr;
	attr.rnr_retry = 1;
	pair_setup(&p, NULL, &attr, 1 << 16);
	for (uint64_t i = 0; i < 2; i++) {
		struct nic_send_wr wr = wr_of(&p, 0, i, NIC_WR_SEND, 0, 64);
		ck_assert_int_eq(nic_post_send(p.qp[0], &wr), 0);
		sim_time_t t0 = sim_now(p.sim);
		while (counter(&p, "b.nic.rnr_naks_sent") == i &&
		       sim_now(p.sim) < t0 + SIM_S)
			sim_run_until(p.sim, sim_now(p.sim) + SIM_US);
		ck_assert_uint_eq(counter(&p, "b.nic.rnr_naks_sent"), i + 1);
		struct nic_recv_wr rw = { 100 + i,
					  { p.buf[1], 64, p.mi[1].lkey } };
		ck_assert_int_eq(nic_post_recv(p.qp[1], &rw), 0);
		sim_run_until(p.sim, sim_now(p.sim) + 900 * SIM_MS);
		ck_assert_uint_eq(p.wc[0]->len, i + 1);
		ck_assert_int_eq(g_array_index(p.wc[0], struct nic_wc, i).status,
				 NIC_WC_SUCCESS);
	}
	pair_free(&p);
}
END_TEST

/* An RNR wait is not an ACK timeout: with the ACK timer (8 us) far
 * shorter than the RNR timer (1.28 ms), waiting charges no retry. */
START_TEST(rnr_wait_is_no_ack_timeout)
{
	struct pair p;
	struct nic_qp_attr attr = harness_attr;
	attr.timeout = 1;
	attr.retry_cnt = 0;
	attr.min_rnr_timer = 14;
	pair_setup(&p, NULL, &attr, 1 << 16);
	struct nic_send_wr wr = wr_of(&p, 0, 1, NIC_WR_SEND, 0, 64);
	ck_assert_int_eq(nic_post_send(p.qp[0], &wr), 0);
	sim_run_until(p.sim, sim_now(p.sim) + 100 * SIM_US);
	ck_assert_uint_eq(counter(&p, "b.nic.rnr_naks_sent"), 1);
	struct nic_recv_wr rw = { 100, { p.buf[1], 64, p.mi[1].lkey } };
	ck_assert_int_eq(nic_post_recv(p.qp[1], &rw), 0);
	sim_run_until(p.sim, sim_now(p.sim) + 100 * SIM_MS);
	ck_assert_uint_eq(counter(&p, "a.nic.local_ack_timeouts"), 0);
	ck_assert_uint_eq(p.wc[0]->len, 1);
	ck_assert_int_eq(g_array_index(p.wc[0], struct nic_wc, 0).status,
			 NIC_WC_SUCCESS);
	ck_assert_uint_eq(counter(&p, "b.nic.rnr_naks_sent"), 1);
	pair_free(&p);
}
END_TEST

/* IBA Table 45 and the local ACK timeout formula. */
START_TEST(iba_timer_tables)
{
	ck_assert_uint_eq(ib_rnr_timer_ps(0), 655360 * SIM_US); /* 655.36 ms */
	ck_assert_uint_eq(ib_rnr_timer_ps(1), 10 * SIM_US);
	ck_assert_uint_eq(ib_rnr_timer_ps(14), 1280 * SIM_US);
	ck_assert_uint_eq(ib_rnr_timer_ps(31), 491520 * SIM_US);
	ck_assert_uint_eq(ib_timeout_ps(14), 4096 * SIM_NS * 16384);
	ck_assert_uint_eq(ib_timeout_ps(0), SIM_TIME_MAX);
}
END_TEST

/* The requester's realisation of the RNR timer: by default ConnectX-4's
 * (a 1.5 ms floor, forum thread 207566: 0.12 ms advertised, 1.5 ms
 * observed), longer values as IBA tabulates them; a granularity rounds
 * them up; rnr_timer = iba waits the table value exactly. */
START_TEST(rnr_timer_realised)
{
	struct pair p;
	pair_setup(&p, NULL, NULL, 1 << 16);
	struct nic *n = p.h[0]->nic;
	ck_assert_uint_eq(nic_rnr_wait_ps(n, 7), 1500 * SIM_US);  /* 0.12 ms */
	ck_assert_uint_eq(nic_rnr_wait_ps(n, 1), 1500 * SIM_US);  /* 0.01 ms */
	ck_assert_uint_eq(nic_rnr_wait_ps(n, 16), 2560 * SIM_US); /* above */
	ck_assert_uint_eq(nic_rnr_wait_ps(n, 0), 655360 * SIM_US);
	pair_free(&p);
	pair_setup(&p, "[nic]\nrnr_timer_floor = 0ns\n"
		       "rnr_timer_granularity = 1ms\n", NULL, 1 << 16);
	n = p.h[0]->nic;
	ck_assert_uint_eq(nic_rnr_wait_ps(n, 7), 1 * SIM_MS);
	ck_assert_uint_eq(nic_rnr_wait_ps(n, 16), 3 * SIM_MS); /* 2.56 ms */
	ck_assert_uint_eq(nic_rnr_wait_ps(n, 14), 2 * SIM_MS); /* 1.28 ms */
	pair_free(&p);
	pair_setup(&p, "[nic]\nrnr_timer = iba\n", NULL, 1 << 16);
	n = p.h[0]->nic;
	for (unsigned c = 0; c < 32; c++)
		ck_assert_uint_eq(nic_rnr_wait_ps(n, c), ib_rnr_timer_ps(c));
	pair_free(&p);
}
END_TEST

/* Run a one-workload scenario; return its parsed summary. */
static struct json_value *run_summary(const char *text)
{
	char *path = harness_write_tmp(text);
	struct run_options opt = { 0 };
	bool io;
	GError *e = NULL;
	struct system *sys = system_build(path, &opt, &io, &e);
	ck_assert_msg(sys, "%s", e ? e->message : "");
	ck_assert(system_run(sys, &e));
	char *j = system_summary_json(sys, false);
	struct json_value *v = json_parse(j, &e);
	ck_assert(v);
	g_free(j);
	system_free(sys);
	g_unlink(path);
	g_free(path);
	return v;
}


/* write_bw's goodput is what the link rate leaves after RoCEv2 framing */
START_TEST(write_bw_goodput)
{
	struct json_value *v = run_summary(
		"[sim]\nduration = 3ms\n[host a]\nmemory = 1GiB\n"
		"[host b]\nmemory = 1GiB\n[link ab]\nends = a b\n"
		"rate = 100Gbps\n[workload w]\ntype = write_bw\nclient = a\n"
		"server = b\nmsg_size = 64KiB\nmtu = 4KiB\n");
	double got = json_path(v, "workloads")->type == JSON_OBJ ?
			     json_get(json_get(json_get(v, "workloads"), "w"),
				      "bw_gbps")->num :
			     0;
	/* one message: FIRST (with RETH), 14 MIDDLE, LAST */
	double wire = wire_bytes_of(IB_WRITE_FIRST, 4096) +
		      14.0 * wire_bytes_of(IB_WRITE_MIDDLE, 4096) +
		      wire_bytes_of(IB_WRITE_LAST, 4096);
	double want = 100.0 * 65536 / wire;
	ck_assert_msg(got <= want && got > want * 0.99,
		      "goodput %.3f Gb/s, framing allows %.3f", got, want);
	json_value_free(v);
}
END_TEST

/*
 * Rings are sized on demand: a connected QP pair with a 64 Ki-entry CQ and
 * 4 Ki-entry SQ and RQ on each side holds no ring slot until it is used,
 * and 100 sends grow the SQ to 128 slots, not 4096.  What an idle pair
 * costs is its structs (at most 64 KiB, issue 16).
 */
START_TEST(rings_grow_on_demand)
{
	struct pair p;
	pair_setup(&p, NULL, NULL, 1 << 20);
	for (int i = 0; i < 2; i++) {
		ck_assert_uint_eq(p.qp[i]->sq_cap + p.qp[i]->rq_cap +
					  p.qp[i]->tx_cap + p.cq[i]->cap,
				  0);
		ck_assert_uint_eq(p.qp[i]->sq_depth, 4096);
		ck_assert_uint_eq(p.cq[i]->depth, 1 << 16);
	}
	ck_assert_uint_le(2 * (sizeof(struct nic_qp) + sizeof(struct nic_cq)),
			  64 << 10);
	for (uint64_t i = 0; i < 100; i++) {
		struct nic_send_wr wr = wr_of(&p, 0, i, NIC_WR_RDMA_WRITE,
					      i * 4096, 4096);
		ck_assert_int_eq(nic_post_send(p.qp[0], &wr), 0);
	}
	ck_assert_uint_eq(p.qp[0]->sq_cap, 128);
	sim_run_until(p.sim, sim_now(p.sim) + 10 * SIM_MS);
	ck_assert_uint_eq(p.wc[0]->len, 100);
	for (guint i = 0; i < p.wc[0]->len; i++)
		ck_assert_uint_eq(g_array_index(p.wc[0], struct nic_wc, i).wr_id,
				  i);
	/* the CQ grew to what was outstanding at once, not its depth */
	ck_assert_uint_le(p.cq[0]->cap, 128);
	ck_assert_uint_gt(p.cq[0]->cap, 0);
	pair_free(&p);
}
END_TEST

/* Host a streams WRITEs to b and serves b's READs: a's port carries its
 * requester's data and its responder's READ responses at once. */
static void read_write_shares(const char *extra, double *wr, double *rd)
{
	char *text = g_strdup_printf(
		"[sim]\nduration = 10ms\n[host a]\nmemory = 1GiB\n"
		"[host b]\nmemory = 1GiB\n[link ab]\nends = a b\n"
		"rate = 100Gbps\n[workload wr]\ntype = write_bw\nclient = a\n"
		"server = b\nmsg_size = 64KiB\n[workload rd]\ntype = read_bw\n"
		"client = b\nserver = a\nmsg_size = 64KiB\n%s", extra);
	struct json_value *v = run_summary(text);
	g_free(text);
	*wr = json_path(v, "workloads.wr.bw_gbps")->num;
	*rd = json_path(v, "workloads.rd.bw_gbps")->num;
	json_value_free(v);
}

/*
 * The port's two engines share it by deficit round robin in bytes: with
 * a PCIe link fast enough that the requester's payload is always ready,
 * the shares are the configured weights; at the default PCIe link the
 * requester's payload reads queue behind the READ responses' and it gets
 * a little less, but neither engine starves the other (before the
 * arbitration the WRITEs got nothing at all while READs were served).
 */
START_TEST(responder_requester_shares)
{
	double wr, rd;
	read_write_shares("[pcie]\nlink_rate = 1Tbps\n", &wr, &rd);
	ck_assert_msg(fabs(wr / (wr + rd) - 0.5) < 0.01, "1:1: %.2f / %.2f",
		      wr, rd);
	read_write_shares("[pcie]\nlink_rate = 1Tbps\n[nic a]\n"
			  "resp_weight = 3\n", &wr, &rd);
	ck_assert_msg(fabs(rd / (wr + rd) - 0.75) < 0.01, "3:1: %.2f / %.2f",
		      wr, rd);
	read_write_shares("[pcie]\nlink_rate = 1Tbps\n[nic a]\n"
			  "req_weight = 3\n", &wr, &rd);
	ck_assert_msg(fabs(wr / (wr + rd) - 0.75) < 0.01, "1:3: %.2f / %.2f",
		      wr, rd);
	read_write_shares("", &wr, &rd);
	ck_assert_msg(wr > 40 && rd > 40 && wr + rd > 96,
		      "default PCIe: %.2f / %.2f", wr, rd);
}
END_TEST

/*
 * One write ping-pong: the first sample equals the sum of its parts.
 * A 64-byte WRITE goes inline (BlueFlame): one way = the MMIO push of the
 * WQE with its payload + tx pipeline + serialization + propagation + rx
 * pipeline + the receiver's MPT and MTT lookups + DMA write.  Caches start
 * cold: each direction misses the receiver's key and MTT line once.
 */
START_TEST(write_lat_sum_of_parts)
{
	const uint32_t len = 64;
	struct json_value *v = run_summary(
		"[sim]\nduration = 1ms\n[host a]\nmemory = 1GiB\n"
		"[host b]\nmemory = 1GiB\n[link ab]\nends = a b\n"
		"[workload w]\ntype = write_lat\nclient = a\nserver = b\n"
		"msg_size = 64B\niterations = 1\n");
	const struct json_value *h =
		json_get(json_get(v, "histograms"), "wl.w.lat_ps");
	ck_assert_ptr_nonnull(h);
	ck_assert_int_eq(json_get(h, "count")->i, 1);
	uint64_t sample = (uint64_t)json_get(h, "min")->i;

	/* the parts, from the parameter tables' defaults */
	struct nic_config nc;
	struct pcie_config pc;
	struct link_config lc = { 0 };
	config_defaults(&nic_params, &nc);
	config_defaults(&pcie_params, &pc);
	config_defaults(&link_params, &lc);
	struct sim *sim = sim_new(1);
	/* each PCIe part on an idle link, as in the run (never overlapping) */
#define FRESH(expr)                                                     	({                                                              		struct pcie *x = pcie_new(sim, "t", &pc);               		sim_time_t r = (expr);                                  		pcie_free(x);                                           		r;                                                      	})
	sim_time_t push = FRESH(pcie_mmio_write(x, nc.wqe_bytes + len));
	sim_time_t r64 = FRESH(pcie_dma_read(x, 64));
	sim_time_t wlen = FRESH(pcie_dma_write(x, len));
	sim_time_t cyc = sim_cycle_ps(nc.clock_hz);
	sim_time_t tx = nc.tx_cycles * cyc, rx = nc.rx_cycles * cyc;
	sim_time_t wire = sim_xfer_ps(wire_bytes_of(IB_WRITE_ONLY, len),
				      lc.rate_bps) + lc.delay;
	/* each way: the receiver's key and MTT line miss (inline sends
	 * never translate at the sender) */
	sim_time_t ab = push + tx + wire + rx + r64 + r64 + wlen;
	sim_time_t ba = ab;
	ck_assert_msg(sample == (ab + ba) / 2,
		      "sample %" G_GUINT64_FORMAT " ps, parts sum to %"
		      G_GUINT64_FORMAT " ps", sample, (ab + ba) / 2);
	config_free(&link_params, &lc);
	sim_free(sim);
	json_value_free(v);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("nic");
	TCase *tc = tcase_create("transport");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, rc_under_loss);
	tcase_add_test(tc, reads_under_loss);
	tcase_add_test(tc, bad_rkey);
	tcase_add_test(tc, out_of_range);
	tcase_add_test(tc, retry_exceeded);
	tcase_add_test(tc, seq_nak_consumes_retry_cnt);
	tcase_add_test(tc, rnr_retry_exceeded);
	tcase_add_test(tc, rnr_retry_resets_on_progress);
	tcase_add_test(tc, rnr_wait_is_no_ack_timeout);
	tcase_add_test(tc, iba_timer_tables);
	tcase_add_test(tc, rnr_timer_realised);
	tcase_add_test(tc, write_bw_goodput);
	tcase_add_test(tc, responder_requester_shares);
	tcase_add_test(tc, rings_grow_on_demand);
	tcase_add_test(tc, write_lat_sum_of_parts);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
