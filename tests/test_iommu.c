/*
 * tests/test_iommu.c - the IOMMU on the PCIe path: one walk per IOTLB
 * miss (and its exact cost), the page-walk cache, an ATS translation as a
 * TLP pair on the PCIe model, strict invalidation per unmap and lazy
 * batching (full queue and timer), the IOTLB and the ATC against a
 * trivially correct reference (an LRU list) by random programs, PRI
 * faults resolved and retried through ATS, and the configuration checks.
 */
#include <check.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "nic/iommu.h"
#include "nic/pcie.h"
#include "sim/config.h"
#include "sim/rng.h"
#include "sim/sim.h"
#include "sim/stats.h"
#include "tests/nic_harness.h"

struct rig {
	struct sim *sim;
	struct pcie *pcie;
	struct iommu *io;
	struct iommu_config ic;
};

static void rig_new(struct rig *r, const char *const *sets)
{
	config_defaults(&iommu_params, &r->ic);
	r->ic.mode = IOMMU_TRANSLATE;
	for (unsigned i = 0; sets && sets[i]; i += 2) {
		const char *k = sets[i], *v = sets[i + 1];
		uint64_t n = strtoull(v, NULL, 0);
		if (!strcmp(k, "ats"))
			r->ic.ats = n;
		else if (!strcmp(k, "strict"))
			r->ic.invalidation = n ? IOMMU_STRICT : IOMMU_LAZY;
		else if (!strcmp(k, "iotlb_entries"))
			r->ic.iotlb_entries = n;
		else if (!strcmp(k, "iotlb_ways"))
			r->ic.iotlb_ways = n;
		else if (!strcmp(k, "atc_entries"))
			r->ic.atc_entries = n;
		else if (!strcmp(k, "atc_ways"))
			r->ic.atc_ways = n;
		else if (!strcmp(k, "pwc_entries"))
			r->ic.pwc_entries = n;
		else
			ck_abort_msg("rig: key %s", k);
	}
	const char *key;
	ck_assert_ptr_null(iommu_config_check(&r->ic, &key));
	struct pcie_config pc;
	config_defaults(&pcie_params, &pc);
	r->sim = sim_new(1);
	r->pcie = pcie_new(r->sim, "t", &pc);
	r->io = iommu_new(r->sim, "t", &r->ic, r->pcie);
}

static void rig_free(struct rig *r)
{
	iommu_free(r->io);
	pcie_free(r->pcie);
	sim_free(r->sim);
}

static uint64_t ctr(struct rig *r, const char *name)
{
	return stats_get(r->sim->stats, name);
}

/* Far enough apart that every transaction finds the link idle. */
#define GAP (1000 * SIM_US)

/* A read of 64 B on an idle link: the PCIe read plus the walk (levels
 * reads, or one after a PWC hit) plus the hit latency. */
START_TEST(test_walk_per_miss_exact)
{
	struct rig r;
	rig_new(&r, NULL);
	const struct iommu_config *c = &r.ic;
	sim_time_t base = pcie_read_latency(r.pcie, 64);
	sim_time_t t = GAP;
	/* a first page: IOTLB miss, PWC miss, a full 4-level walk */
	sim_time_t got = iommu_dma_read(r.io, t, 64, 7, 0x10000, 0);
	ck_assert_uint_eq(got - t, base + c->levels * c->walk_read_time +
					   c->iotlb_hit_time);
	/* the same page again: a hit */
	t += GAP;
	got = iommu_dma_read(r.io, t, 64, 7, 0x10040, 0);
	ck_assert_uint_eq(got - t, base + c->iotlb_hit_time);
	/* the next page: the leaf table's pointer is in the PWC */
	t += GAP;
	got = iommu_dma_read(r.io, t, 64, 7, 0x11000, 0);
	ck_assert_uint_eq(got - t, base + c->walk_read_time +
					   c->iotlb_hit_time);
	/* a 2 MiB page walks one level less */
	t += GAP;
	got = iommu_dma_read(r.io, t, 64, 8, 0x40000000, 9);
	ck_assert_uint_eq(got - t, base + (c->levels - 1) * c->walk_read_time +
					   c->iotlb_hit_time);
	ck_assert_uint_eq(ctr(&r, "t.iommu.walks"), 3);
	ck_assert_uint_eq(ctr(&r, "t.iommu.iotlb_misses"), 3);
	ck_assert_uint_eq(ctr(&r, "t.iommu.iotlb_hits"), 1);
	ck_assert_uint_eq(ctr(&r, "t.iommu.pwc_hits"), 1);
	ck_assert_uint_eq(ctr(&r, "t.iommu.walk_reads"),
			  c->levels + 1 + c->levels - 1);
	/* a write crossing two pages: two lookups, two walks */
	t += GAP;
	iommu_dma_write(r.io, t, 4096, 9, 0x800, 0);
	ck_assert_uint_eq(ctr(&r, "t.iommu.walks"), 5);
	ck_assert_uint_eq(ctr(&r, "t.iommu.iotlb_misses"), 5);
	rig_free(&r);
}
END_TEST

/* Over a random program, translate mode walks exactly once per IOTLB
 * miss, and the DMA's time grows by exactly the walks' reads. */
START_TEST(test_walk_per_miss_random)
{
	struct rig r;
	rig_new(&r, (const char *const[]){ "pwc_entries", "0", NULL });
	struct rng g;
	rng_init(&g, 42, "walks");
	sim_time_t base = pcie_read_latency(r.pcie, 64);
	sim_time_t t = 0;
	for (int i = 0; i < 5000; i++) {
		uint64_t m0 = ctr(&r, "t.iommu.iotlb_misses");
		uint64_t w0 = ctr(&r, "t.iommu.walks");
		uint64_t pg = rng_below(&g, 200);
		t += GAP;
		sim_time_t got = iommu_dma_read(r.io, t, 64, 1, pg << 12, 0);
		uint64_t dm = ctr(&r, "t.iommu.iotlb_misses") - m0;
		uint64_t dw = ctr(&r, "t.iommu.walks") - w0;
		ck_assert_uint_eq(dm, dw);
		ck_assert_uint_eq(got - t, base + r.ic.iotlb_hit_time +
						   dm * r.ic.levels *
							   r.ic.walk_read_time);
	}
	ck_assert_uint_gt(ctr(&r, "t.iommu.iotlb_hits"), 0);
	ck_assert_uint_gt(ctr(&r, "t.iommu.iotlb_misses"), 0);
	rig_free(&r);
}
END_TEST

/* With ATS an ATC miss is one Translation Request upstream and one
 * completion downstream, then the DMA goes out translated. */
START_TEST(test_ats_tlp_pair)
{
	struct rig r;
	rig_new(&r, (const char *const[]){ "ats", "1", NULL });
	const struct iommu_config *c = &r.ic;
	struct stats *st = r.sim->stats;
	uint64_t up0 = stats_get(st, "t.pcie.tlps_up");
	uint64_t dn0 = stats_get(st, "t.pcie.tlps_down");
	uint64_t bu0 = stats_get(st, "t.pcie.bytes_up");
	uint64_t bd0 = stats_get(st, "t.pcie.bytes_down");
	sim_time_t t = GAP;
	sim_time_t got = iommu_dma_read(r.io, t, 64, 3, 0x5000, 0);
	/* the pair, then a one-request one-completion read */
	ck_assert_uint_eq(stats_get(st, "t.pcie.tlps_up") - up0, 2);
	ck_assert_uint_eq(stats_get(st, "t.pcie.tlps_down") - dn0, 2);
	ck_assert_uint_eq(stats_get(st, "t.pcie.bytes_up") - bu0,
			  PCIE_MRD_OVERHEAD + PCIE_MRD_OVERHEAD);
	ck_assert_uint_eq(stats_get(st, "t.pcie.bytes_down") - bd0,
			  PCIE_CPLD_OVERHEAD + 8 + 64 + PCIE_CPLD_OVERHEAD);
	struct pcie_config pc;
	config_defaults(&pcie_params, &pc);
	struct sim *s2 = sim_new(1);
	struct pcie *x = pcie_new(s2, "u", &pc);
	/* the same pair on a fresh link, by the PCIe model's own calls */
	sim_time_t req = pcie_tlp_up_at(x, 0, PCIE_MRD_OVERHEAD);
	sim_time_t cpl = pcie_tlp_down_at(
		x, req + c->levels * c->walk_read_time + c->iotlb_hit_time,
		PCIE_CPLD_OVERHEAD + 8);
	ck_assert_uint_eq(got - t, cpl + pcie_read_latency(x, 64));
	pcie_free(x);
	sim_free(s2);
	ck_assert_uint_eq(ctr(&r, "t.iommu.ats_requests"), 1);
	ck_assert_uint_eq(ctr(&r, "t.iommu.atc_misses"), 1);
	/* now cached in the ATC: no TLP besides the DMA's own, no walk */
	t += GAP;
	got = iommu_dma_read(r.io, t, 64, 3, 0x5100, 0);
	ck_assert_uint_eq(got - t, pcie_read_latency(r.pcie, 64));
	ck_assert_uint_eq(stats_get(st, "t.pcie.tlps_up") - up0, 3);
	ck_assert_uint_eq(ctr(&r, "t.iommu.atc_hits"), 1);
	ck_assert_uint_eq(ctr(&r, "t.iommu.walks"), 1);
	/* a not-present answer is cached nowhere */
	t += GAP;
	iommu_ats_request(r.io, t, 4, 0x9000, 0, false);
	ck_assert(!iommu_atc_lookup(r.io, 4, 0x9000, 0));
	ck_assert_uint_eq(ctr(&r, "t.iommu.ats_not_present"), 1);
	rig_free(&r);
}
END_TEST

/* strict: every unmap invalidates and waits; the IOTLB entry is gone. */
START_TEST(test_strict_per_unmap)
{
	struct rig r;
	rig_new(&r, (const char *const[]){ "strict", "1", NULL });
	const struct iommu_config *c = &r.ic;
	sim_time_t t = GAP;
	iommu_dma_read(r.io, t, 64, 2, 0x3000, 0);
	for (int i = 0; i < 10; i++) {
		t += GAP;
		sim_time_t back = iommu_unmap(r.io, t, 2, 0x3000, 4096, 0, 1);
		ck_assert_uint_eq(back - t, c->unmap_pte_time +
						    c->inv_desc_time +
						    c->inv_wait_time);
	}
	ck_assert_uint_eq(ctr(&r, "t.iommu.invalidations"), 10);
	ck_assert_uint_eq(ctr(&r, "t.iommu.fq_queued"), 0);
	/* the translation was dropped: the next DMA walks again */
	t += GAP;
	iommu_dma_read(r.io, t, 64, 2, 0x3000, 0);
	ck_assert_uint_eq(ctr(&r, "t.iommu.walks"), 2);
	/* two CPUs at once: the second waits for the queue */
	t += GAP;
	sim_time_t a = iommu_unmap(r.io, t, 2, 0x3000, 4096, 0, 1);
	sim_time_t b = iommu_unmap(r.io, t, 2, 0x4000, 4096, 0, 1);
	ck_assert_uint_eq(b - a, c->inv_desc_time + c->inv_wait_time);
	/* ODP's per-page unmaps: one invalidation each */
	t += GAP;
	iommu_unmap(r.io, t, 2, 0, 8 << 12, 0, 8);
	ck_assert_uint_eq(ctr(&r, "t.iommu.invalidations"), 20);
	rig_free(&r);
}
END_TEST

/* lazy: unmaps queue; the one that fills the queue flushes the domain
 * (one invalidation for fq_size unmaps); the timer flushes the rest. */
START_TEST(test_lazy_batches)
{
	struct rig r;
	rig_new(&r, NULL);
	const struct iommu_config *c = &r.ic;
	ck_assert_uint_eq(c->fq_size, 256);
	ck_assert_uint_eq(c->fq_timeout, 10 * SIM_MS);
	sim_time_t t = SIM_US;
	iommu_dma_read(r.io, t, 64, 2, 0x3000, 0);
	for (uint64_t i = 0; i + 1 < c->fq_size; i++) {
		sim_time_t back = iommu_unmap(r.io, t, 2, i << 12, 4096, 0, 1);
		ck_assert_uint_eq(back - t, c->unmap_pte_time);
		t = back;
	}
	ck_assert_uint_eq(ctr(&r, "t.iommu.invalidations"), 0);
	/* not flushed yet: the stale translation still hits */
	iommu_dma_read(r.io, t, 64, 2, 0x3000, 0);
	ck_assert_uint_eq(ctr(&r, "t.iommu.walks"), 1);
	sim_time_t back = iommu_unmap(r.io, t, 2, 0x100000, 4096, 0, 1);
	ck_assert_uint_eq(back - t, c->unmap_pte_time + c->inv_desc_time +
					    c->inv_wait_time);
	ck_assert_uint_eq(ctr(&r, "t.iommu.invalidations"), 1);
	ck_assert_uint_eq(ctr(&r, "t.iommu.fq_full_flushes"), 1);
	ck_assert_uint_eq(ctr(&r, "t.iommu.fq_queued"), c->fq_size);
	/* the flush dropped everything */
	iommu_dma_read(r.io, back, 64, 2, 0x3000, 0);
	ck_assert_uint_eq(ctr(&r, "t.iommu.walks"), 2);
	/* a few more: the timer (armed by the first) flushes them */
	sim_time_t t0 = back;
	for (int i = 0; i < 5; i++)
		iommu_unmap(r.io, t0, 2, 0x200000, 4096, 0, 1);
	sim_run_until(r.sim, t0 + c->fq_timeout - 1);
	ck_assert_uint_eq(ctr(&r, "t.iommu.fq_timer_flushes"), 0);
	sim_run_until(r.sim, t0 + c->fq_timeout + SIM_US);
	ck_assert_uint_eq(ctr(&r, "t.iommu.fq_timer_flushes"), 1);
	ck_assert_uint_eq(ctr(&r, "t.iommu.invalidations"), 2);
	/* the timer of an already flushed queue does nothing */
	sim_run_until(r.sim, t0 + 3 * c->fq_timeout);
	ck_assert_uint_eq(ctr(&r, "t.iommu.invalidations"), 2);
	rig_free(&r);
}
END_TEST

/*
 * The reference: a fully associative LRU cache as a list, most recent
 * first - trivially correct.  The IOTLB (or the ATC) is made fully
 * associative and driven by a random program of DMAs, strict unmaps and
 * flushes (lazy mode, fq_size 1: every unmap flushes); each operation's
 * hits and misses are compared with the reference's.
 */
struct lru_ref {
	GArray *keys; /* uint64_t, most recent first */
	unsigned cap;
};

static bool ref_access(struct lru_ref *r, uint64_t k)
{
	for (guint i = 0; i < r->keys->len; i++)
		if (g_array_index(r->keys, uint64_t, i) == k) {
			g_array_remove_index(r->keys, i);
			g_array_prepend_val(r->keys, k);
			return true;
		}
	if (r->keys->len == r->cap)
		g_array_remove_index(r->keys, r->keys->len - 1);
	g_array_prepend_val(r->keys, k);
	return false;
}

static void ref_drop(struct lru_ref *r, uint64_t lo, uint64_t hi)
{
	for (guint i = r->keys->len; i-- > 0;) {
		uint64_t k = g_array_index(r->keys, uint64_t, i);
		if (k >= lo && k <= hi)
			g_array_remove_index(r->keys, i);
	}
}

static void differential(bool atc, bool strict, unsigned seed)
{
	struct rig r;
	const unsigned cap = 16;
	char cs[16];
	g_snprintf(cs, sizeof(cs), "%u", cap);
	rig_new(&r, atc ? (const char *const[]){ "ats", "1", "atc_entries", cs,
						  "atc_ways", cs, "strict",
						  strict ? "1" : "0", NULL }
			: (const char *const[]){ "iotlb_entries", cs,
						  "iotlb_ways", cs, "strict",
						  strict ? "1" : "0", NULL });
	if (!strict)
		r.io = (iommu_free(r.io),
			r.ic.fq_size = 3,
			iommu_new(r.sim, "t", &r.ic, r.pcie));
	struct lru_ref ref = { g_array_new(FALSE, FALSE, sizeof(uint64_t)),
			       cap };
	struct rng g;
	rng_init(&g, seed, "differential");
	const char *hits = atc ? "t.iommu.atc_hits" : "t.iommu.iotlb_hits";
	sim_time_t t = SIM_US;
	unsigned queued = 0;
	for (int op = 0; op < 20000; op++) {
		uint32_t space = (uint32_t)rng_below(&g, 3);
		uint64_t pg = rng_below(&g, 40);
		uint64_t k = ((uint64_t)space << 32) | pg;
		uint64_t h0 = ctr(&r, hits);
		if (rng_below(&g, 10) < 8) {
			bool want = ref_access(&ref, k);
			t = iommu_dma_read(r.io, t, 64, space, pg << 12, 0);
			bool got = ctr(&r, hits) - h0 == 1;
			ck_assert_msg(got == want,
				      "seed %u op %d: %s of space %u page %" G_GUINT64_FORMAT
				      ": got %s, reference %s", seed, op,
				      atc ? "ATC" : "IOTLB", space, pg,
				      got ? "hit" : "miss",
				      want ? "hit" : "miss");
		} else {
			uint64_t n = 1 + rng_below(&g, 4);
			t = iommu_unmap(r.io, t, space, pg << 12, n << 12, 0, 1);
			if (strict) {
				ref_drop(&ref, k, k + n - 1);
			} else if (++queued == r.ic.fq_size) {
				queued = 0;
				g_array_set_size(ref.keys, 0);
			}
		}
	}
	g_array_free(ref.keys, TRUE);
	rig_free(&r);
}

START_TEST(test_iotlb_differential)
{
	differential(false, true, (unsigned)_i + 1);
	differential(false, false, (unsigned)_i + 101);
}
END_TEST

START_TEST(test_atc_differential)
{
	differential(true, true, (unsigned)_i + 201);
	differential(true, false, (unsigned)_i + 301);
}
END_TEST

/* Parameters: every key has a meaning and a source; cross-key checks. */
START_TEST(test_params)
{
	for (unsigned i = 0; i < iommu_params.n; i++) {
		ck_assert(iommu_params.params[i].meaning[0]);
		ck_assert(iommu_params.params[i].source[0]);
	}
	struct iommu_config c;
	config_defaults(&iommu_params, &c);
	ck_assert_int_eq(c.mode, IOMMU_OFF);
	const char *key = NULL;
	ck_assert_ptr_null(iommu_config_check(&c, &key));
	c.odp_faults = IOMMU_ODP_PRI;
	ck_assert_ptr_nonnull(iommu_config_check(&c, &key));
	ck_assert_str_eq(key, "odp_faults");
	c.mode = IOMMU_TRANSLATE;
	c.ats = true;
	ck_assert_ptr_null(iommu_config_check(&c, &key));
	c.iotlb_ways = 3;
	ck_assert_ptr_nonnull(iommu_config_check(&c, &key));
	ck_assert_str_eq(key, "iotlb_ways");
}
END_TEST

/* A shipped scenario keeps its fingerprint with the IOMMU off or in
 * passthrough; translate changes the timing and counts walks. */
static const char *run_fp(const char *extra, uint64_t *walks)
{
	static char fp[64];
	char *text = g_strdup_printf(
		"[sim]\nduration = 200us\n[host a]\nmemory = 64MiB\n"
		"[host b]\nmemory = 64MiB\n[link ab]\nends = a b\n"
		"[workload w]\ntype = write_bw\nclient = a\nserver = b\n"
		"msg_size = 64KiB\ntx_depth = 16\n%s\n", extra);
	struct system *sys = harness_build(text);
	g_free(text);
	GError *e = NULL;
	ck_assert_msg(system_run(sys, &e), "%s", e ? e->message : "");
	g_snprintf(fp, sizeof(fp), "%016" G_GINT64_MODIFIER "x",
		   system_sim(sys)->fingerprint);
	*walks = stats_get(system_sim(sys)->stats, "b.iommu.walks");
	system_free(sys);
	return fp;
}

START_TEST(test_off_passthrough_same)
{
	uint64_t w0, w1, w2;
	char off[64], pt[64];
	g_strlcpy(off, run_fp("", &w0), sizeof(off));
	g_strlcpy(pt, run_fp("[iommu]\nmode = passthrough\n", &w1), sizeof(pt));
	const char *tr = run_fp("[iommu]\nmode = translate\n", &w2);
	ck_assert_str_eq(off, pt);
	ck_assert_str_ne(off, tr);
	ck_assert_uint_eq(w0 + w1, 0);
	ck_assert_uint_gt(w2, 0);
}
END_TEST

/* ---- PRI: faults of SVA MRs ---- */

#define PRI_SCENARIO                                                        \
	ODP_SCENARIO "[iommu]\nmode = translate\nats = true\n"           \
		     "odp_faults = pri\n"

/* One RDMA WRITE of @len at offset @off from a to b; runs until its CQE
 * (the @n-th) and checks it succeeded. */
static void pri_write(struct pair *p, uint64_t off, uint32_t len, guint n)
{
	struct nic_send_wr wr = wr_of(p, 0, n, NIC_WR_RDMA_WRITE, off, len);
	ck_assert_int_eq(nic_post_send(p->qp[0], &wr), 0);
	sim_run_until(p->sim, sim_now(p->sim) + 50 * SIM_MS);
	ck_assert_uint_eq(p->wc[0]->len, n);
	ck_assert_int_eq(g_array_index(p->wc[0], struct nic_wc, n - 1).status,
			 NIC_WC_SUCCESS);
}

static void move_cb(void *ctx, bool ok, uint64_t new_pfn)
{
	(void)new_pfn;
	*(bool *)ctx = ok;
}

/*
 * A responder fault of an SVA MR: the ATS answer is not present, the NIC
 * sends one page request (one page: a group of one), the host answers
 * with one PRG Response, and the retried access asks ATS again and gets
 * the page: two translation requests, one not present.  No EQE, no UMR,
 * no PAGE_FAULT_RESUME.  After the page moves (an SVA invalidation: the
 * IOTLB and the ATC, an ATS Invalidate to the NIC), the next WRITE
 * faults again the same way.  The oracle sees every write land.
 */
START_TEST(test_pri_responder_fault)
{
	static const int pol[2] = { REG_PIN, REG_ODP };
	struct nic_qp_attr attr = harness_attr;
	attr.min_rnr_timer = 6;
	struct pair p;
	pair_setup2(&p, PRI_SCENARIO, &attr, 64 << 10, pol);
	pri_write(&p, 0, 64, 1);
	ck_assert_uint_eq(counter(&p, "b.iommu.page_requests"), 1);
	ck_assert_uint_eq(counter(&p, "b.iommu.prg_responses"), 1);
	ck_assert_uint_eq(counter(&p, "b.iommu.ats_not_present"), 1);
	ck_assert_uint_eq(counter(&p, "b.iommu.ats_requests"), 2);
	ck_assert_uint_eq(counter(&p, "b.nic.page_faults"), 1);
	ck_assert_uint_eq(counter(&p, "b.nic.rnr_naks_sent"), 1);
	ck_assert_uint_eq(counter(&p, "b.nic.odp_remote_triggered_page_fault"),
			  0);
	ck_assert_uint_eq(counter(&p, "b.nic.mtt_cache.misses"), 0);
	/* the page moves: the SVA notifier invalidates, then a new fault */
	uint64_t pfn;
	ck_assert(vmm_lookup(p.as[1], p.buf[1], false, &pfn));
	bool ok = false;
	ck_assert(vmm_move_frame(p.h[1]->vmm, pfn, -1,
				 VMM_REASON_MOVE_COMPACTION, move_cb, &ok));
	sim_run_until(p.sim, sim_now(p.sim) + SIM_MS);
	ck_assert(ok);
	ck_assert_uint_ge(counter(&p, "b.iommu.invalidations"), 1);
	ck_assert_uint_ge(counter(&p, "b.iommu.ats_invalidations"), 1);
	pri_write(&p, 0, 64, 2);
	ck_assert_uint_eq(counter(&p, "b.iommu.page_requests"), 2);
	ck_assert_uint_eq(counter(&p, "b.iommu.prg_responses"), 2);
	ck_assert_uint_eq(counter(&p, "oracle.lost_writes"), 0);
	ck_assert_uint_eq(counter(&p, "oracle.stale_reads"), 0);
	pair_free(&p);
}
END_TEST

/* A requester fault (gathering from a fresh SVA buffer) stalls the QP
 * until the PRG Response; a WRITE of 3 pages into a fresh SVA buffer
 * sends its pages as requests of one group per fault; the same run with
 * odp_faults = mtt sends no page request and pays the EQ path. */
START_TEST(test_pri_requester_and_mtt)
{
	static const int pol[2] = { REG_ODP, REG_ODP };
	struct nic_qp_attr attr = harness_attr;
	attr.min_rnr_timer = 6;
	struct pair p, m;
	pair_setup2(&p, PRI_SCENARIO, &attr, 64 << 10, pol);
	pri_write(&p, 0, 3 * 4096, 1);
	ck_assert_uint_ge(counter(&p, "a.iommu.page_requests"), 1);
	ck_assert_uint_eq(counter(&p, "a.iommu.page_requests"),
			  counter(&p, "a.nic.page_faults"));
	ck_assert_uint_eq(counter(&p, "a.nic.qp_stalls"),
			  counter(&p, "a.iommu.prg_responses"));
	ck_assert_uint_ge(counter(&p, "b.iommu.page_requests"), 1);
	ck_assert_uint_eq(counter(&p, "a.nic.odp_local_triggered_page_fault"),
			  0);
	/* a request per ATC miss (not-present answers are not cached, so
	 * each retry misses again), and the WRITE completed: every
	 * not-present answer was retried until present */
	for (int h = 0; h < 2; h++) {
		char rq[32], ms[32], np[32];
		g_snprintf(rq, sizeof(rq), "%c.iommu.ats_requests", "ab"[h]);
		g_snprintf(ms, sizeof(ms), "%c.iommu.atc_misses", "ab"[h]);
		g_snprintf(np, sizeof(np), "%c.iommu.ats_not_present", "ab"[h]);
		ck_assert_uint_eq(counter(&p, rq), counter(&p, ms));
		ck_assert_uint_ge(counter(&p, np), 1);
		ck_assert_uint_gt(counter(&p, rq), counter(&p, np));
	}
	pair_setup2(&m, ODP_SCENARIO "[iommu]\nmode = translate\nats = true\n",
		    &attr, 64 << 10, pol);
	pri_write(&m, 0, 3 * 4096, 1);
	ck_assert_uint_eq(counter(&m, "a.iommu.page_requests"), 0);
	ck_assert_uint_eq(counter(&m, "b.iommu.page_requests"), 0);
	ck_assert_uint_ge(counter(&m, "a.nic.odp_local_triggered_page_fault"),
			  1);
	ck_assert_uint_eq(counter(&m, "a.nic.page_faults"),
			  counter(&p, "a.nic.page_faults"));
	pair_free(&p);
	pair_free(&m);
}
END_TEST

/* A live migration moves the MRs to the spare's NIC: their DMA goes
 * through the spare's IOMMU from then on, and no write is lost. */
START_TEST(test_migration_moves_to_the_spare_iommu)
{
	GError *e = NULL;
	char *text = NULL;
	ck_assert(g_file_get_contents("workloads/migrate_precopy.ini", &text,
				      NULL, NULL));
	char *all = g_strconcat(text, "\n[iommu]\nmode = translate\n", NULL);
	struct system *sys = harness_build(all);
	g_free(text);
	g_free(all);
	ck_assert_msg(system_run(sys, &e), "%s", e ? e->message : "");
	const struct stats *st = system_sim(sys)->stats;
	ck_assert_uint_gt(stats_get(st, "srv.iommu.walks"), 0);
	ck_assert_uint_gt(stats_get(st, "spare.iommu.walks"), 0);
	ck_assert_uint_eq(stats_get(st, "oracle.lost_writes"), 0);
	ck_assert_uint_eq(stats_get(st, "oracle.stale_reads"), 0);
	system_free(sys);
}
END_TEST

static Suite *iommu_suite(void)
{
	Suite *s = suite_create("iommu");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_walk_per_miss_exact);
	tcase_add_test(tc, test_walk_per_miss_random);
	tcase_add_test(tc, test_ats_tlp_pair);
	tcase_add_test(tc, test_strict_per_unmap);
	tcase_add_test(tc, test_lazy_batches);
	tcase_add_loop_test(tc, test_iotlb_differential, 0, 4);
	tcase_add_loop_test(tc, test_atc_differential, 0, 4);
	tcase_add_test(tc, test_params);
	tcase_add_test(tc, test_off_passthrough_same);
	tcase_add_test(tc, test_pri_responder_fault);
	tcase_add_test(tc, test_pri_requester_and_mtt);
	tcase_add_test(tc, test_migration_moves_to_the_spare_iommu);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(iommu_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
