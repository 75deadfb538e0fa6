/*
 * tests/test_oracle.c - the correctness oracle (nic/oracle.c)
 * differentially against a trivially correct reference: a hash table of
 * the last version each page was sent, and the VMM's own ownership of
 * frames at the instant each DMA lands.  Random programs issue DMA writes
 * and reads through an MR whose MTT the program sets (to the page's frame,
 * or to a stale one: a lost write), move pages (compaction), drop and
 * refault them, and overwrite a page's content the way a migration copy
 * does; then the oracle's lost writes, stale reads and final mismatches
 * must be the reference's.  The first difference names the seed.
 */
#include <check.h>
#include <glib.h>
#include <stdlib.h>

#include "nic/nic_int.h"
#include "nic/oracle.h"
#include "sim/rng.h"
#include "tests/nic_harness.h"

#define NPAGES 64

struct prog {
	struct system *sys;
	struct sim *sim;
	struct host *h;
	struct vmm_as *as;
	struct nic_mr *mr;
	uint64_t buf;
	GHashTable *last; /* page index -> last version written */
	uint64_t lost, stale;
};

static void fault_done(void *ctx, int status, uint64_t pfn)
{
	(void)pfn;
	ck_assert(vmm_fault_ok(status));
	(*(unsigned *)ctx)--;
}

static void touch(struct prog *p, unsigned pg)
{
	unsigned left = 1;
	vmm_fault_in(p->as, p->buf + (uint64_t)pg * 4096, true, fault_done,
		     &left);
	sim_run_until(p->sim, sim_now(p->sim) + SIM_MS);
	ck_assert_uint_eq(left, 0);
}

static void move_done(void *ctx, bool ok, uint64_t pfn)
{
	(void)ok;
	(void)pfn;
	(*(unsigned *)ctx)--;
}

/* One DMA of page @pg through the MTT entry the program chose; it lands
 * now, and vmm_sync() settles it at once. */
static void dma(struct prog *p, unsigned pg, bool write, uint64_t version)
{
	uint64_t pfn = MTT_PFN(mtt_get(&p->mr->mtt, pg));
	uint32_t as_id;
	uint64_t vpn;
	bool mine = vmm_frame_owner(p->h->vmm, pfn, &as_id, &vpn) &&
		    as_id == vmm_as_id(p->as) &&
		    vpn == (p->buf >> 12) + pg;
	oracle_dma(nic_oracle(p->h->nic), write, p->mr,
		   p->buf + (uint64_t)pg * 4096, 4096, version,
		   sim_now(p->sim), 1, 0, p->mr->lkey, 0);
	vmm_sync(p->h->vmm);
	if (write) {
		g_hash_table_insert(p->last, GUINT_TO_POINTER(pg + 1),
				    GSIZE_TO_POINTER((gsize)version));
		p->lost += !mine;
	} else {
		p->stale += !mine;
	}
}

static void program(uint64_t seed, uint64_t verdicts[3])
{
	struct prog p = { 0 };
	p.sys = harness_build("[sim]\nduration = 10s\n[host b]\n"
			      "memory = 64MiB\n[vmm]\nfault_jitter = 0\n"
			      "huge_pages = false\n");
	p.sim = system_sim(p.sys);
	p.h = system_host(p.sys, "b");
	p.as = vmm_as_new(p.h->vmm, "test");
	p.buf = vmm_mmap_anywhere(p.as, NPAGES * 4096,
				  VMM_PROT_READ | VMM_PROT_WRITE, VMM_VMA_ANON,
				  NULL);
	nic_reg_mr(nic_alloc_pd(p.h->nic), p.as, p.buf, NPAGES * 4096,
		   NIC_ACCESS_LOCAL_WRITE | NIC_ACCESS_REMOTE_WRITE |
			   NIC_ACCESS_ON_DEMAND, REG_ODP, harness_reg_cb, &p.mr);
	sim_run_until(p.sim, sim_now(p.sim) + SIM_MS);
	ck_assert_ptr_nonnull(p.mr);
	p.last = g_hash_table_new(g_direct_hash, g_direct_equal);
	struct rng r;
	rng_init(&r, seed, "test.oracle");
	for (unsigned pg = 0; pg < NPAGES; pg++)
		touch(&p, pg);
	uint64_t version = 1;
	for (unsigned i = 0; i < 1500; i++) {
		unsigned pg = (unsigned)rng_below(&r, NPAGES);
		uint64_t va = p.buf + (uint64_t)pg * 4096, pfn;
		bool present = vmm_page_frame(p.as, va, &pfn);
		switch (rng_below(&r, 8)) {
		case 0: case 1: case 2: { /* a write, mostly through a fresh
					   * translation, else a stale one
					   * or another page's frame */
			uint64_t other;
			unsigned t = (unsigned)rng_below(&r, 8);
			if (present && t < 6)
				mtt_set(&p.mr->mtt, pg,
					MTT_ENTRY(pfn, MTT_VALID | MTT_WRITE));
			else if (t == 6 &&
				 vmm_page_frame(p.as,
						p.buf + rng_below(&r, NPAGES) *
								4096,
						&other))
				mtt_set(&p.mr->mtt, pg,
					MTT_ENTRY(other, MTT_VALID | MTT_WRITE));
			if (mtt_get(&p.mr->mtt, pg))
				dma(&p, pg, true, version++);
			break;
		}
		case 3: /* a read */
			if (present && rng_below(&r, 5))
				mtt_set(&p.mr->mtt, pg,
					MTT_ENTRY(pfn, MTT_VALID | MTT_WRITE));
			if (mtt_get(&p.mr->mtt, pg))
				dma(&p, pg, false, 0);
			break;
		case 4: { /* compaction moves the page */
			unsigned left = 1;
			if (present &&
			    vmm_move_frame(p.h->vmm, pfn, -1,
					   VMM_REASON_MOVE_COMPACTION,
					   move_done, &left)) {
				sim_run_until(p.sim, sim_now(p.sim) + SIM_MS);
				ck_assert_uint_eq(left, 0);
			}
			break;
		}
		case 5: /* dropped, and touched again later */
			vmm_madvise_dontneed(p.as, va, 4096);
			sim_run_until(p.sim, sim_now(p.sim) + SIM_MS);
			break;
		case 6:
			if (!present)
				touch(&p, pg);
			break;
		case 7: /* a copy overwrites the content (migration) */
			if (present && rng_below(&r, 4) == 0)
				vmm_key_set_version(
					p.h->vmm,
					VMM_PAGE_KEY(vmm_as_id(p.as), va >> 12),
					1000000 + i);
			break;
		}
	}
	/* the reference's final check: pages with content whose version is
	 * not the last one written */
	uint64_t final = 0;
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, p.last);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		uint64_t have;
		uint64_t va = p.buf + (uint64_t)(GPOINTER_TO_UINT(k) - 1) * 4096;
		if (vmm_page_version(p.as, va, &have) &&
		    have != (uint64_t)GPOINTER_TO_SIZE(v))
			final++;
	}
	oracle_finish(nic_oracle(p.h->nic));
	struct stats *st = p.sim->stats;
	ck_assert_msg(stats_get(st, "oracle.lost_writes") == p.lost,
		      "seed %" G_GUINT64_FORMAT ": lost %" G_GUINT64_FORMAT
		      ", reference %" G_GUINT64_FORMAT, seed,
		      stats_get(st, "oracle.lost_writes"), p.lost);
	ck_assert_msg(stats_get(st, "oracle.stale_reads") == p.stale,
		      "seed %" G_GUINT64_FORMAT ": stale %" G_GUINT64_FORMAT
		      ", reference %" G_GUINT64_FORMAT, seed,
		      stats_get(st, "oracle.stale_reads"), p.stale);
	ck_assert_msg(stats_get(st, "oracle.final_mismatches") == final,
		      "seed %" G_GUINT64_FORMAT ": final %" G_GUINT64_FORMAT
		      ", reference %" G_GUINT64_FORMAT, seed,
		      stats_get(st, "oracle.final_mismatches"), final);
	verdicts[0] += p.lost;
	verdicts[1] += p.stale;
	verdicts[2] += final;
	g_hash_table_destroy(p.last);
	system_free(p.sys);
}

START_TEST(oracle_differential)
{
	uint64_t verdicts[3] = { 0 };
	for (uint64_t seed = 1; seed <= 12; seed++)
		program(seed, verdicts);
	/* the programs reached every verdict: lost, stale, final */
	for (int i = 0; i < 3; i++)
		ck_assert_uint_gt(verdicts[i], 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("oracle");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, oracle_differential);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
