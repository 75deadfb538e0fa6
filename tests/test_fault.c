/*
 * tests/test_fault.c - the mlx5 fault path (nic/odp.c): fault granularity
 * by fault kind, the counters as mlx5 reports them, the page-fault EQ and
 * descriptor pool, invalidation through UMR blocks (against a page-by-page
 * reference of mlx5_ib_invalidate_range), the hmm busy-retry bound, the
 * memory scheme.  Expected figures are computed here from the parameter
 * tables and the kernel's rules, not read back from the model.
 */
#include <stdlib.h>

#include "nic/nic_int.h"
#include "nic/packet.h"
#include "sim/rng.h"
#include "tests/nic_harness.h"

static const int pin_odp[2] = { REG_PIN, REG_ODP };
static const int odp_pin[2] = { REG_ODP, REG_PIN };

static uint64_t hist_max(struct pair *p, const char *name)
{
	const struct stat_entry *e = stats_find(p->sim->stats, name);
	ck_assert_ptr_nonnull(e);
	return e->hist.count ? e->hist.max : 0;
}

static uint64_t hist_count(struct pair *p, const char *name)
{
	const struct stat_entry *e = stats_find(p->sim->stats, name);
	ck_assert_ptr_nonnull(e);
	return e->hist.count;
}

/* One WRITE of @len from a to b, run to completion; its status. */
static enum nic_wc_status write_one(struct pair *p, uint64_t len,
				    sim_time_t limit)
{
	struct nic_send_wr wr = wr_of(p, 0, 1, NIC_WR_RDMA_WRITE, 0,
				      (uint32_t)len);
	g_array_set_size(p->wc[0], 0);
	ck_assert_int_eq(nic_post_send(p->qp[0], &wr), 0);
	sim_time_t t0 = sim_now(p->sim);
	while (!p->wc[0]->len && sim_now(p->sim) - t0 < limit)
		sim_run_until(p->sim, sim_now(p->sim) + SIM_MS);
	ck_assert_uint_eq(p->wc[0]->len, 1);
	return g_array_index(p->wc[0], struct nic_wc, 0).status;
}

static char *mr_counter(struct pair *p, int side, const char *what)
{
	return g_strdup_printf("%s.nic.mr%u.%s", side ? "b" : "a",
			       p->mr[side]->index, what);
}

/*
 * A responder RDMA fault maps the operation's range (rdma_op_len minus
 * bytes_committed) in one operation: a cold 2 MiB WRITE is one fault of
 * 512 pages, an 8 MiB WRITE one of 2048.  (The issue asked for two faults
 * of 4 MiB for 8 MiB: mlx5 caps only the prefetch that follows a fault of
 * unknown length at MAX_PREFETCH_LEN, see rdma_fault_unknown_length.)
 */
static void cold_write(uint64_t len)
{
	struct pair p;
	pair_setup2(&p, ODP_SCENARIO, NULL, len, pin_odp);
	/* registration's UMR enabled the mkey over the whole MR, mapping
	 * the pages already present (none) */
	uint64_t reg_blocks = counter(&p, "b.nic.umr_blocks");
	ck_assert_uint_eq(reg_blocks, len / 4096 / 8);
	ck_assert_int_eq(write_one(&p, len, SIM_S), NIC_WC_SUCCESS);
	uint64_t pages = len / 4096;
	ck_assert_uint_eq(counter(&p, "b.nic.page_faults"), pages);
	ck_assert_uint_eq(counter(&p, "b.nic.page_faults_handled"), 1);
	ck_assert_uint_eq(counter(&p, "b.nic.odp_remote_triggered_page_fault"),
			  1);
	ck_assert_uint_eq(hist_max(&p, "b.nic.fault_range_pages"), pages);
	/* the MR's own counters (rdma stat mr) say the same */
	char *c = mr_counter(&p, 1, "page_faults");
	ck_assert_uint_eq(counter(&p, c), pages);
	g_free(c);
	c = mr_counter(&p, 1, "page_faults_handled");
	ck_assert_uint_eq(counter(&p, c), 1);
	g_free(c);
	/* one UMR writes the 2^n entries: pages / 8 blocks of 64 B */
	ck_assert_uint_eq(counter(&p, "b.nic.umr_blocks") - reg_blocks,
			  pages / 8);
	pair_free(&p);
}

START_TEST(rdma_fault_maps_the_operation)
{
	cold_write(2 << 20);
	cold_write(8 << 20);
}
END_TEST

/*
 * When the NIC reports no length (rdma_op_len = 0), mlx5 maps the packet,
 * resumes, and prefetches min(MAX_PREFETCH_LEN, bytes_committed) from the
 * same address.  The faults of a cold 16 MiB WRITE follow, computed here
 * by that rule; the largest range mapped is 4 MiB.
 */
START_TEST(rdma_fault_unknown_length)
{
	struct nic_qp_attr attr = harness_attr;
	attr.min_rnr_timer = 20; /* 10.24 ms: each prefetch ends before the
				  * retry comes */
	struct pair p;
	uint64_t len = 16 << 20;
	pair_setup2(&p, ODP_SCENARIO "[nic b]\nrdma_fault_length = unknown\n",
		    &attr, len, pin_odp);
	ck_assert_int_eq(write_one(&p, len, 2 * SIM_S), NIC_WC_SUCCESS);
	/* the kernel's rule, page by page */
	const uint64_t cap = 4 << 20, pkt = 4096;
	uint64_t mapped_to = 0, events = 0, ops = 0, pages = 0, big = 0;
	while (mapped_to < len) {
		uint64_t committed = mapped_to; /* the fault is here */
		events++;
		ops++;
		pages += pkt / 4096;
		uint64_t end = committed + pkt;
		uint64_t pl = committed < cap ? committed : cap;
		if (pl) {
			ops++;
			pages += pl / 4096;
			if (committed + pl > end)
				end = committed + pl;
		}
		if (pl / 4096 > big)
			big = pl / 4096;
		mapped_to = end;
	}
	ck_assert_uint_eq(counter(&p, "b.nic.odp_remote_triggered_page_fault"),
			  events);
	ck_assert_uint_eq(counter(&p, "b.nic.page_faults_handled"), ops);
	ck_assert_uint_eq(counter(&p, "b.nic.page_faults"), pages);
	ck_assert_uint_eq(big, cap / 4096);
	ck_assert_uint_eq(hist_max(&p, "b.nic.fault_range_pages"), big);
	pair_free(&p);
}
END_TEST

/*
 * A requester WQE fault maps the WQE's data segment from bytes_committed
 * on, exactly: the pages the SGE covers, none around.  A READ's scatter
 * fault likewise maps the READ's local SGE.
 */
START_TEST(wqe_fault_maps_its_sges)
{
	struct pair p;
	pair_setup2(&p, ODP_SCENARIO, NULL, 64 << 10, odp_pin);
	/* 3 pages from page 1 + 100 B: pages 1..4 */
	struct nic_send_wr wr = wr_of(&p, 0, 1, NIC_WR_RDMA_WRITE, 4096 + 100,
				      3 * 4096);
	ck_assert_int_eq(nic_post_send(p.qp[0], &wr), 0);
	sim_run_until(p.sim, sim_now(p.sim) + 10 * SIM_MS);
	ck_assert_uint_eq(p.wc[0]->len, 1);
	ck_assert_int_eq(g_array_index(p.wc[0], struct nic_wc, 0).status,
			 NIC_WC_SUCCESS);
	ck_assert_uint_eq(counter(&p, "a.nic.odp_local_triggered_page_fault"),
			  1);
	ck_assert_uint_eq(counter(&p, "a.nic.page_faults"), 4);
	ck_assert_uint_eq(counter(&p, "a.nic.page_faults_handled"), 1);
	struct nic_mr *mr = p.mr[0];
	for (uint64_t pg = 0; pg < 16; pg++)
		ck_assert_int_eq((mtt_get(&mr->mtt, pg) & MTT_VALID) != 0,
				 pg >= 1 && pg <= 4);
	/* a READ into pages 8..9 of a's cold buffer: its scatter faults */
	struct nic_send_wr rd = wr_of(&p, 0, 2, NIC_WR_RDMA_READ, 8 * 4096,
				      2 * 4096);
	ck_assert_int_eq(nic_post_send(p.qp[0], &rd), 0);
	sim_run_until(p.sim, sim_now(p.sim) + 10 * SIM_MS);
	ck_assert_uint_eq(p.wc[0]->len, 2);
	ck_assert_int_eq(g_array_index(p.wc[0], struct nic_wc, 1).status,
			 NIC_WC_SUCCESS);
	ck_assert_uint_eq(counter(&p, "a.nic.odp_local_triggered_page_fault"),
			  2);
	ck_assert_uint_eq(counter(&p, "a.nic.page_faults"), 4 + 2);
	for (uint64_t pg = 5; pg < 16; pg++)
		ck_assert_int_eq((mtt_get(&mr->mtt, pg) & MTT_VALID) != 0,
				 pg == 8 || pg == 9);
	pair_free(&p);
}
END_TEST

/* Four more QP pairs, each WRITE faulting on its own page of b's cold
 * buffer at once; run until they are done. */
static void four_faults(struct pair *p)
{
	struct nic_qp *qa[4], *qb[4];
	for (int i = 0; i < 4; i++) {
		qa[i] = nic_create_qp(p->pd[0], p->cq[0], p->cq[0], 16, 16);
		qb[i] = nic_create_qp(p->pd[1], p->cq[1], p->cq[1], 16, 16);
		ck_assert(nic_connect(qa[i], qb[i], &harness_attr, NULL));
	}
	for (int i = 0; i < 4; i++) {
		struct nic_send_wr wr = wr_of(p, 0, (uint64_t)i,
					      NIC_WR_RDMA_WRITE,
					      (uint64_t)i * 4 * 4096, 4096);
		ck_assert_int_eq(nic_post_send(qa[i], &wr), 0);
	}
	sim_run_until(p->sim, sim_now(p->sim) + 20 * SIM_MS);
}

/*
 * A full page-fault EQ: with one slot and one descriptor, four responder
 * faults at once.  The first takes the slot; the NIC holds the other three
 * (hardware back-pressure) and writes each when a slot frees; the handler
 * waits for the one descriptor.  Every WRITE still completes.
 */
START_TEST(pf_eq_full_backpressure)
{
	struct pair p;
	pair_setup2(&p,
		    ODP_SCENARIO "[driver b]\npf_eq_entries = 1\n"
				 "pf_descriptors = 1\n",
		    NULL, 64 << 10, pin_odp);
	four_faults(&p);
	ck_assert_uint_eq(p.wc[0]->len, 4);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(g_array_index(p.wc[0], struct nic_wc, i).status,
				 NIC_WC_SUCCESS);
	ck_assert_uint_eq(counter(&p, "b.nic.odp_remote_triggered_page_fault"),
			  4);
	ck_assert_uint_eq(counter(&p, "b.nic.pf_eq_full_waits"), 3);
	ck_assert_uint_eq(hist_count(&p, "b.nic.pf_eq_wait_ns"), 3);
	ck_assert_uint_gt(hist_max(&p, "b.nic.pf_eq_wait_ns"), 0);
	ck_assert_uint_ge(counter(&p, "b.nic.pf_descriptor_waits"), 1);
	/* served one after the other: the last waited for three faults */
	struct driver_config dc;
	config_defaults(&driver_params, &dc);
	ck_assert_uint_gt(hist_max(&p, "b.nic.fault_latency_ns"),
			  3 * dc.resume_time / SIM_NS);
	pair_free(&p);
}
END_TEST

/* The same four faults with the default EQ and pool: nothing waits. */
START_TEST(pf_eq_default_no_wait)
{
	struct pair p;
	pair_setup2(&p, ODP_SCENARIO, NULL, 64 << 10, pin_odp);
	four_faults(&p);
	ck_assert_uint_eq(p.wc[0]->len, 4);
	ck_assert_uint_eq(counter(&p, "b.nic.pf_eq_full_waits"), 0);
	ck_assert_uint_eq(counter(&p, "b.nic.pf_descriptor_waits"), 0);
	pair_free(&p);
}
END_TEST

/*
 * mlx5_ib_invalidate_range()'s loop, page by page, as a reference: runs
 * of mapped pages, ended by an unmapped page at an 8-aligned index (or
 * the range's end); each run one UMR of its entries aligned to 8.
 */
static void ref_invalidate(const bool *mapped, uint64_t lo, uint64_t hi,
			   uint64_t *pages, uint64_t *umrs, uint64_t *blocks)
{
	uint64_t blk = 0, idx = lo;
	bool in_block = false;
	*pages = *umrs = *blocks = 0;
	for (idx = lo; idx <= hi; idx++) {
		if (mapped[idx]) {
			if (!in_block) {
				blk = idx;
				in_block = true;
			}
		} else if (in_block && (idx & 7) == 0) {
			uint64_t n = idx - blk + (blk & 7);
			(*umrs)++;
			*blocks += (n + 7) / 8;
			*pages += idx - blk + 1;
			in_block = false;
		}
	}
	if (in_block) {
		idx = hi;
		uint64_t n = idx - blk + 1 + (blk & 7);
		(*umrs)++;
		*blocks += (n + 7) / 8;
		*pages += idx - blk + 1;
	}
}

static void prefetched(void *ctx, struct nic_mr *mr, int status,
		       uint64_t pages)
{
	(void)mr;
	ck_assert_int_eq(status, 0);
	*(uint64_t *)ctx += pages;
}

/* Invalidating 9 mapped pages from an aligned index: one UMR of 16
 * entries, 2 blocks of 64 B; counted 9 pages in 1 operation. */
START_TEST(invalidation_zaps_blocks)
{
	struct pair p;
	pair_setup2(&p, ODP_SCENARIO, NULL, 64 << 10, pin_odp);
	uint64_t got = 0;
	nic_advise_mr(p.mr[1], NIC_ADVISE_PREFETCH_WRITE, p.buf[1], 9 * 4096,
		      prefetched, &got);
	sim_run_until(p.sim, sim_now(p.sim) + SIM_MS);
	ck_assert_uint_eq(got, 9);
	ck_assert_uint_eq(counter(&p, "b.nic.page_prefetch"), 9);
	uint64_t posts = counter(&p, "b.nic.umr_posts");
	uint64_t blocks = counter(&p, "b.nic.umr_blocks");
	vmm_madvise_dontneed(p.as[1], p.buf[1], 9 * 4096);
	sim_run_until(p.sim, sim_now(p.sim) + SIM_MS);
	ck_assert_uint_eq(counter(&p, "b.nic.page_invalidations"), 9);
	ck_assert_uint_eq(counter(&p, "b.nic.page_invalidations_handled"), 1);
	ck_assert_uint_eq(counter(&p, "b.nic.umr_posts") - posts, 1);
	ck_assert_uint_eq(counter(&p, "b.nic.umr_blocks") - blocks, 2);
	char *c = mr_counter(&p, 1, "page_invalidations_handled");
	ck_assert_uint_eq(counter(&p, c), 1);
	g_free(c);
	/* its cost: the callback, one UMR reading 128 B, 9 unmaps */
	struct driver_config dc;
	config_defaults(&driver_params, &dc);
	const struct stat_entry *h =
		stats_find(p.sim->stats, "b.nic.invalidation_latency_ns");
	ck_assert_uint_eq(h->hist.count, 1);
	ck_assert_uint_gt(h->hist.min * SIM_NS,
			  dc.invalidate_time + dc.umr_time +
				  9 * dc.dma_unmap_time);
	pair_free(&p);
}
END_TEST

/* Random mapped sets and invalidation ranges against the reference. */
START_TEST(invalidation_matches_mlx5_loop)
{
	struct rng r;
	rng_init(&r, 7, "inval");
	for (int round = 0; round < 40; round++) {
		struct pair p;
		pair_setup2(&p, ODP_SCENARIO, NULL, 2 << 20, pin_odp);
		bool mapped[512] = { false };
		uint64_t got = 0, want = 0;
		/* runs of random length at random places */
		for (int k = 0; k < 12; k++) {
			uint64_t a = rng_below(&r, 512);
			uint64_t n = 1 + rng_below(&r, 20);
			if (a + n > 512)
				n = 512 - a;
			nic_advise_mr(p.mr[1], NIC_ADVISE_PREFETCH_WRITE,
				      p.buf[1] + a * 4096, n * 4096,
				      prefetched, &got);
			for (uint64_t i = a; i < a + n; i++)
				mapped[i] = true;
		}
		sim_run_until(p.sim, sim_now(p.sim) + 20 * SIM_MS);
		for (int i = 0; i < 512; i++)
			want += mapped[i];
		ck_assert_uint_eq(p.mr[1]->mapped, want);
		uint64_t lo = rng_below(&r, 512);
		uint64_t hi = lo + rng_below(&r, 512 - lo);
		uint64_t posts = counter(&p, "b.nic.umr_posts");
		uint64_t blocks = counter(&p, "b.nic.umr_blocks");
		vmm_madvise_dontneed(p.as[1], p.buf[1] + lo * 4096,
				     (hi - lo + 1) * 4096);
		sim_run_until(p.sim, sim_now(p.sim) + 5 * SIM_MS);
		uint64_t rp, ru, rb;
		ref_invalidate(mapped, lo, hi, &rp, &ru, &rb);
		ck_assert_msg(counter(&p, "b.nic.page_invalidations") == rp &&
				      counter(&p, "b.nic.umr_posts") - posts ==
					      ru &&
				      counter(&p, "b.nic.umr_blocks") - blocks ==
					      rb,
			      "round %d [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
			      "]: pages %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT
			      " umrs %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT
			      " blocks %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT,
			      round, lo, hi,
			      counter(&p, "b.nic.page_invalidations"), rp,
			      counter(&p, "b.nic.umr_posts") - posts, ru,
			      counter(&p, "b.nic.umr_blocks") - blocks, rb);
		uint64_t left = 0;
		for (uint64_t i = 0; i < 512; i++)
			left += mapped[i] && (i < lo || i > hi);
		ck_assert_uint_eq(p.mr[1]->mapped, left);
		pair_free(&p);
	}
}
END_TEST

/*
 * A fault that keeps colliding with invalidations gives up after
 * hmm_timeout (HMM_RANGE_DEFAULT_TIMEOUT) with -EBUSY: the QP is resumed
 * with error and the peer's WRITE completes with a remote access error.
 */
START_TEST(fault_starved_by_invalidations)
{
	struct nic_qp_attr attr = harness_attr;
	attr.min_rnr_timer = 1;
	struct pair p;
	pair_setup2(&p, ODP_SCENARIO "[driver b]\nhmm_timeout = 2ms\n", &attr,
		    64 << 10, pin_odp);
	struct nic_send_wr wr = wr_of(&p, 0, 1, NIC_WR_RDMA_WRITE, 0, 64 << 10);
	ck_assert_int_eq(nic_post_send(p.qp[0], &wr), 0);
	sim_time_t t0 = sim_now(p.sim);
	/* the 16 pages go every 5 us: every walk of them (16 minor faults
	 * of 1 us) sees an invalidation */
	while (!p.wc[0]->len && sim_now(p.sim) - t0 < 20 * SIM_MS) {
		sim_run_until(p.sim, sim_now(p.sim) + 5 * SIM_US);
		vmm_madvise_dontneed(p.as[1], p.buf[1], 64 << 10);
	}
	ck_assert_uint_eq(p.wc[0]->len, 1);
	ck_assert_int_eq(g_array_index(p.wc[0], struct nic_wc, 0).status,
			 NIC_WC_REM_ACCESS_ERR);
	ck_assert_uint_eq(counter(&p, "b.nic.page_faults_busy_timeout"), 1);
	ck_assert_uint_eq(counter(&p, "b.nic.page_faults_failed"), 1);
	ck_assert_uint_gt(counter(&p, "b.nic.fault_retries"), 10);
	/* it gave up after the bound, not before */
	ck_assert_uint_ge(g_array_index(p.wc_time[0], sim_time_t, 0) - t0,
			  2 * SIM_MS);
	pair_free(&p);
}
END_TEST

/* Without the invalidations the same WRITE succeeds. */
START_TEST(fault_not_starved)
{
	struct pair p;
	pair_setup2(&p, ODP_SCENARIO "[driver b]\nhmm_timeout = 2ms\n", NULL,
		    64 << 10, pin_odp);
	ck_assert_int_eq(write_one(&p, 64 << 10, 50 * SIM_MS), NIC_WC_SUCCESS);
	ck_assert_uint_eq(counter(&p, "b.nic.page_faults_busy_timeout"), 0);
	pair_free(&p);
}
END_TEST

/*
 * fault_scheme = memory: a MEMORY event names the demand pages and the
 * NIC's prefetch hints; the driver maps the window.  A 4 KiB WRITE at
 * page 2 with pf_prefetch_before = 1, pf_prefetch_after = 3: pages 1..5.
 */
START_TEST(memory_scheme_window)
{
	struct pair p;
	pair_setup2(&p,
		    ODP_SCENARIO "[driver b]\nfault_scheme = memory\n"
				 "[nic b]\npf_prefetch_before = 1\n"
				 "pf_prefetch_after = 3\n",
		    NULL, 64 << 10, pin_odp);
	struct nic_send_wr wr = wr_of(&p, 0, 1, NIC_WR_RDMA_WRITE, 2 * 4096,
				      4096);
	ck_assert_int_eq(nic_post_send(p.qp[0], &wr), 0);
	sim_run_until(p.sim, sim_now(p.sim) + 50 * SIM_MS);
	ck_assert_uint_eq(p.wc[0]->len, 1);
	ck_assert_int_eq(g_array_index(p.wc[0], struct nic_wc, 0).status,
			 NIC_WC_SUCCESS);
	ck_assert_uint_eq(counter(&p, "b.nic.page_faults"), 5);
	ck_assert_uint_eq(counter(&p, "b.nic.page_faults_handled"), 1);
	for (uint64_t pg = 0; pg < 16; pg++)
		ck_assert_int_eq((mtt_get(&p.mr[1]->mtt, pg) & MTT_VALID) != 0,
				 pg >= 1 && pg <= 5);
	pair_free(&p);
}
END_TEST

/*
 * The memory scheme on an implicit MR: a packet straddling a 1 GiB
 * boundary needs pages of two children, two mkeys: two MEMORY events, the
 * second flagged LAST; one PAGE_FAULT_RESUME.
 */
START_TEST(memory_scheme_last_flag)
{
	struct pair p;
	pair_setup2(&p,
		    ODP_SCENARIO "[driver b]\nfault_scheme = memory\n"
				 "[nic b]\npf_prefetch_after = 0\n",
		    NULL, 64 << 10, pin_odp);
	struct vmm_as *as = p.as[1];
	uint64_t va = vmm_mmap_anywhere(as, 3ULL << 30,
					VMM_PROT_READ | VMM_PROT_WRITE,
					VMM_VMA_ANON, NULL);
	uint64_t gib = (va + (1ULL << 30) - 1) & ~((1ULL << 30) - 1);
	struct nic_mr *mr = NULL;
	nic_reg_mr(p.pd[1], as, 0, UINT64_MAX,
		   NIC_ACCESS_LOCAL_WRITE | NIC_ACCESS_REMOTE_WRITE |
			   NIC_ACCESS_ON_DEMAND,
		   REG_ODP, harness_reg_cb, &mr);
	sim_run_until(p.sim, sim_now(p.sim) + SIM_MS);
	ck_assert_ptr_nonnull(mr);
	struct nic_mr_info mi;
	nic_mr_info(mr, &mi);
	struct nic_send_wr wr = wr_of(&p, 0, 1, NIC_WR_RDMA_WRITE, 0, 4096);
	wr.remote_addr = gib + (1ULL << 30) - 2048; /* 2 KiB each side */
	wr.rkey = mi.rkey;
	ck_assert_int_eq(nic_post_send(p.qp[0], &wr), 0);
	sim_run_until(p.sim, sim_now(p.sim) + 50 * SIM_MS);
	ck_assert_uint_eq(p.wc[0]->len, 1);
	ck_assert_int_eq(g_array_index(p.wc[0], struct nic_wc, 0).status,
			 NIC_WC_SUCCESS);
	ck_assert_uint_eq(counter(&p, "b.nic.odp_remote_triggered_page_fault"),
			  2);
	ck_assert_uint_eq(counter(&p, "b.nic.page_faults_handled"), 2);
	ck_assert_uint_eq(counter(&p, "b.nic.page_faults"), 2);
	ck_assert_uint_eq(counter(&p, "b.nic.implicit_children_created"), 2);
	/* resumed once: on the LAST event */
	ck_assert_uint_eq(hist_count(&p, "b.nic.fault_latency_ns"), 1);
	pair_free(&p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fault");
	TCase *tc = tcase_create("fault");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, rdma_fault_maps_the_operation);
	tcase_add_test(tc, rdma_fault_unknown_length);
	tcase_add_test(tc, wqe_fault_maps_its_sges);
	tcase_add_test(tc, pf_eq_full_backpressure);
	tcase_add_test(tc, pf_eq_default_no_wait);
	tcase_add_test(tc, invalidation_zaps_blocks);
	tcase_add_test(tc, invalidation_matches_mlx5_loop);
	tcase_add_test(tc, fault_starved_by_invalidations);
	tcase_add_test(tc, fault_not_starved);
	tcase_add_test(tc, memory_scheme_window);
	tcase_add_test(tc, memory_scheme_last_flag);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
