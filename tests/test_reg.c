/*
 * tests/test_reg.c - registration and deregistration as the kernel does
 * them (nic/driver.c: ib_umem_get, the page size, the mkey cache, UMRs;
 * mlx5_ib_dereg_mr), with each expected time computed here from the
 * parameter tables' defaults, and the MTT entry size huge pages give.
 */
#include <check.h>

#include "nic/driver.h"
#include "nic/driver_int.h"
#include "tests/nic_harness.h"
#include "vmm/vmm.h"

struct one {
	struct system *sys;
	struct sim *sim;
	struct host *h;
	struct vmm_as *as;
	struct nic_pd *pd;
	uint64_t buf, len;
	struct nic_mr *mr;
	int status;
	bool done, dereg_done;
	struct driver_config dc;
	struct vmm_config vc;
	struct nic_config nc;
};

static void one_reg_cb(void *ctx, struct nic_mr *mr, int status)
{
	struct one *o = ctx;
	o->mr = mr;
	o->status = status;
	o->done = true;
}

static void one_populated(void *ctx, int status, uint64_t npages)
{
	(void)npages;
	ck_assert(vmm_fault_ok(status));
	*(bool *)ctx = true;
}

/* One host with @extra scenario text; a buffer of @len mapped (and
 * written first when @populate). */
static void one_setup(struct one *o, const char *extra, uint64_t len,
		      bool populate)
{
	memset(o, 0, sizeof(*o));
	char *text = g_strdup_printf("[sim]\nduration = 10s\n[host a]\nmemory "
				     "= 4GiB\n[vmm]\nfault_jitter = 0\n%s\n",
				     extra ? extra : "");
	o->sys = harness_build(text);
	g_free(text);
	o->sim = system_sim(o->sys);
	o->h = system_host(o->sys, "a");
	o->as = vmm_as_new(o->h->vmm, "t");
	o->len = len;
	o->buf = vmm_mmap_anywhere(o->as, len, VMM_PROT_READ | VMM_PROT_WRITE,
				   VMM_VMA_ANON, NULL);
	o->pd = nic_alloc_pd(o->h->nic);
	o->dc = o->h->drv->cfg;
	o->vc = *vmm_config(o->h->vmm);
	o->nc = o->h->nic->cfg;
	if (populate) {
		bool pop = false;
		vmm_populate(o->as, o->buf, len, true, one_populated, &pop);
		while (!pop)
			sim_run_until(o->sim, sim_now(o->sim) + SIM_MS);
	}
}

/* Register the buffer under @policy; returns the registration's time. */
static sim_time_t one_reg(struct one *o, int policy)
{
	o->done = false;
	nic_reg_mr(o->pd, o->as, o->buf, o->len,
		   NIC_ACCESS_LOCAL_WRITE | NIC_ACCESS_REMOTE_WRITE, policy,
		   one_reg_cb, o);
	while (!o->done)
		sim_run_until(o->sim, sim_now(o->sim) + SIM_MS);
	ck_assert_int_eq(o->status, 0);
	struct nic_mr_info mi;
	nic_mr_info(o->mr, &mi);
	return mi.reg_time;
}

static void one_dereg_cb(void *ctx)
{
	((struct one *)ctx)->dereg_done = true;
}

/* Deregister; returns the time until the device let go. */
static sim_time_t one_dereg(struct one *o)
{
	o->dereg_done = false;
	sim_time_t t0 = sim_now(o->sim);
	ck_assert_int_eq(nic_dereg_mr(o->mr, one_dereg_cb, o), 0);
	while (!o->dereg_done)
		sim_run_until(o->sim, sim_now(o->sim) + 1000);
	/* sim_run_until stepped past it: read the histogram instead */
	struct stats *st = o->sim->stats;
	const struct hist *h = stats_hist(st, "a.nic.dereg_time_ps");
	(void)t0;
	o->mr = NULL;
	return (sim_time_t)h->max;
}

/* The runs of physically contiguous pages of the buffer: the sg entries
 * ib_umem_get makes (none reaches 2 GiB here). */
static uint64_t one_runs(struct one *o)
{
	uint64_t runs = 0, prev = UINT64_MAX;
	for (uint64_t va = o->buf; va < o->buf + o->len; va += 4096) {
		uint64_t pfn;
		ck_assert(vmm_page_frame(o->as, va, &pfn));
		runs += va == o->buf || pfn != prev + 1;
		prev = pfn;
	}
	return runs;
}

static void one_free(struct one *o)
{
	system_free(o->sys);
}

static uint64_t ctr(struct one *o, const char *name)
{
	return stats_get(o->sim->stats, name);
}

static sim_time_t umr_chain(const struct driver_config *dc, uint64_t entries)
{
	return harness_umr_chain(dc->umr_time, entries);
}

/*
 * N pre-touched 4 KiB pages, scattered frames (one sg entry and one MTT
 * entry per page): the system call, ceil(N / 512) pin_user_pages_fast
 * calls, pin_time and sg_page_time per page, dma_map_sg_time per entry,
 * the mkey (a cache hit for <= 131072 entries; a CREATE_MKEY above, its
 * cache entry being empty), then the UMR chain.  Deregistration: the
 * system call, a revoking UMR, then unmap_sg_time per entry and
 * unpin_time per page.
 */
static void reg_exact(uint64_t pages, bool hit)
{
	struct one o;
	one_setup(&o, NULL, pages * 4096, true);
	sim_time_t got = one_reg(&o, REG_PIN);
	const struct driver_config *dc = &o.dc;
	uint64_t calls = (pages + dc->pin_batch - 1) / dc->pin_batch;
	/* scattered frames: adjacent only where one 2 MiB block's last
	 * frame meets the next block's first */
	uint64_t sg = one_runs(&o);
	ck_assert_uint_ge(sg, pages - pages / 512 - 1);
	sim_time_t want = dc->reg_syscall_time + calls * dc->pin_call_time +
			  pages * (o.vc.pin_time + dc->sg_page_time) +
			  sg * dc->dma_map_sg_time +
			  (hit ? 0 : dc->create_mkey_time) +
			  umr_chain(dc, pages);
	ck_assert_uint_eq(o.mr->mtt_shift, 0);
	ck_assert_uint_eq(o.mr->nents, pages);
	ck_assert_uint_eq(o.mr->sg_ents, sg);
	ck_assert_msg(got == want, "%" G_GUINT64_FORMAT " pages: %"
		      G_GUINT64_FORMAT " ps, the tables say %" G_GUINT64_FORMAT,
		      pages, got, want);
	ck_assert_uint_eq(ctr(&o, "a.nic.mkey_cache_hits"), hit);
	ck_assert_uint_eq(ctr(&o, "a.nic.mkey_cache_misses"), !hit);
	ck_assert_uint_eq(ctr(&o, "a.vmm.faults.minor"), pages);
	sim_time_t dgot = one_dereg(&o);
	sim_time_t dwant = dc->reg_syscall_time + dc->umr_time +
			   sg * dc->unmap_sg_time + pages * o.vc.unpin_time;
	ck_assert_msg(dgot == dwant, "dereg of %" G_GUINT64_FORMAT " pages: %"
		      G_GUINT64_FORMAT " ps, the tables say %" G_GUINT64_FORMAT,
		      pages, dgot, dwant);
	ck_assert_uint_eq(ctr(&o, "a.vmm.pinned_pages"), 0);
	one_free(&o);
}

START_TEST(reg_costs_the_table_sum)
{
	reg_exact(1, true);
	reg_exact(100000, true);  /* mkey cache entry of 131072 MTTs */
	reg_exact(300000, false); /* 3 UMRs; an empty cache entry */
}
END_TEST

/* Fresh memory: each page also pays its first-touch fault inside the
 * registration (pin_user_pages faults it in). */
START_TEST(reg_of_fresh_memory_pays_the_faults)
{
	struct one o;
	one_setup(&o, NULL, 512 * 4096, false);
	sim_time_t got = one_reg(&o, REG_PIN);
	const struct driver_config *dc = &o.dc;
	sim_time_t want = dc->reg_syscall_time + dc->pin_call_time +
			  512 * (o.vc.minor_fault_time + o.vc.pin_time +
				 dc->sg_page_time + dc->dma_map_sg_time) +
			  umr_chain(dc, 512);
	ck_assert_uint_eq(got, want);
	one_free(&o);
}
END_TEST

/*
 * THP: 2 MiB frames give 2 MiB entries (512 times fewer) when the device
 * caps the page size there; a pinned huge page is not split (the kernel
 * refuses a pinned folio), so its entries stay; a rereg that adds pages
 * the huge frames do not hold rewrites every entry at 4 KiB, and the
 * NIC's cache drops the old ones.
 */
START_TEST(thp_mr_has_huge_entries)
{
	struct one o;
	uint64_t len = 8ULL << 20;
	one_setup(&o, "[vmm a]\nhuge_pages = true\n[nic]\nmtt_max_page = 2MiB\n",
		  len + 8192, true);
	o.len = len;
	sim_time_t got = one_reg(&o, REG_PIN);
	ck_assert_uint_eq(o.mr->mtt_shift, 9);
	ck_assert_uint_eq(o.mr->nents, len / 4096 / 512);
	/* each 4 KiB page translates to its own frame */
	for (uint64_t pg = 0; pg < len / 4096; pg++) {
		uint64_t pfn;
		ck_assert(vmm_page_frame(o.as, o.buf + pg * 4096, &pfn));
		ck_assert_uint_eq(nic_mr_pfn(o.mr, o.buf + pg * 4096), pfn);
	}
	/* 4 huge pages pinned, 2048 subpages through the sg loop, one UMR
	 * of 4 entries (a 64 B block); adjacent huge frames merge into
	 * sg entries */
	const struct driver_config *dc = &o.dc;
	sim_time_t want = dc->reg_syscall_time + 4 * dc->pin_call_time +
			  4 * o.vc.pin_huge_time + 2048 * dc->sg_page_time +
			  o.mr->sg_ents * dc->dma_map_sg_time +
			  umr_chain(dc, 4);
	ck_assert_uint_eq(got, want);
	ck_assert_uint_le(o.mr->sg_ents, 4);
	/* khugepaged or an mprotect would split it: not while pinned */
	ck_assert(!vmm_huge_split(o.as, o.buf));
	ck_assert_uint_eq(ctr(&o, "a.vmm.huge.split_failed_pinned"), 1);
	ck_assert_uint_eq(o.mr->mtt_shift, 9);
	/* warm the NIC's cache on the first entry, then grow the MR over
	 * two small pages that are not adjacent (scattered frames) */
	sim_time_t t = sim_now(o.sim);
	uint64_t fva;
	ck_assert_int_eq(nic_mr_translate(o.mr, o.buf, 64,
					  NIC_ACCESS_LOCAL_WRITE, &t, &fva),
			 XLATE_OK);
	ck_assert_uint_eq(nic_mtt_cache_occupancy(o.h->nic), 4);
	bool grown = false;
	nic_mr_resize(o.mr, len + 8192, (nic_reg_done_fn)one_reg_cb, &o);
	(void)grown;
	o.done = false;
	while (!o.done)
		sim_run_until(o.sim, sim_now(o.sim) + SIM_MS);
	ck_assert_int_eq(o.status, 0);
	ck_assert_uint_eq(o.mr->mtt_shift, 0);
	ck_assert_uint_eq(o.mr->nents, len / 4096 + 2);
	ck_assert_uint_eq(nic_mtt_cache_occupancy(o.h->nic), 0);
	for (uint64_t pg = 0; pg < len / 4096 + 2; pg++) {
		uint64_t pfn;
		ck_assert(vmm_page_frame(o.as, o.buf + pg * 4096, &pfn));
		ck_assert_uint_eq(nic_mr_pfn(o.mr, o.buf + pg * 4096), pfn);
	}
	/* unpinned, the huge page splits */
	one_dereg(&o);
	ck_assert(vmm_huge_split(o.as, o.buf));
	one_free(&o);
}
END_TEST

/* Without the cap, entries follow the physical layout further: the huge
 * frames of a lightly used host are adjacent, and mlx5 maps them with
 * pages as large as the layout and the alignment allow. */
START_TEST(entries_follow_the_layout)
{
	struct one o;
	one_setup(&o, "[vmm a]\nhuge_pages = true\n", 8ULL << 20, true);
	one_reg(&o, REG_PIN);
	ck_assert_uint_ge(o.mr->mtt_shift, 9);
	ck_assert_uint_le(o.mr->nents, 4);
	for (uint64_t pg = 0; pg < 2048; pg += 97) {
		uint64_t pfn;
		ck_assert(vmm_page_frame(o.as, o.buf + pg * 4096, &pfn));
		ck_assert_uint_eq(nic_mr_pfn(o.mr, o.buf + pg * 4096), pfn);
	}
	one_free(&o);
	/* ascending 4 KiB frames: contiguous, large entries too */
	one_setup(&o, "[vmm a]\nframe_order = ascending\n", 8ULL << 20, true);
	one_reg(&o, REG_PIN);
	ck_assert_uint_gt(o.mr->mtt_shift, 0);
	ck_assert_uint_lt(o.mr->sg_ents, 8);
	one_free(&o);
	/* on-demand MRs keep 4 KiB entries (ib_umem_odp_get: PAGE_SHIFT) */
	one_setup(&o, "[vmm a]\nhuge_pages = true\n", 8ULL << 20, true);
	one_reg(&o, REG_ODP);
	ck_assert_uint_eq(o.mr->mtt_shift, 0);
	ck_assert_uint_eq(o.mr->nents, 2048);
	one_free(&o);
}
END_TEST

/*
 * An on-demand MR over written pages maps them at registration
 * (mlx5_ib_init_odp_mr: MLX5_PF_FLAGS_SNAPSHOT), so its first accesses
 * do not fault; over fresh memory it maps nothing.
 */
START_TEST(odp_reg_maps_present_pages)
{
	struct one o;
	one_setup(&o, NULL, 64 * 4096, true);
	sim_time_t got = one_reg(&o, REG_ODP);
	ck_assert_uint_eq(o.mr->mapped, 64);
	const struct driver_config *dc = &o.dc;
	sim_time_t want = dc->reg_syscall_time + 64 * dc->dma_map_time +
			  umr_chain(dc, 64);
	ck_assert_uint_eq(got, want);
	sim_time_t t = sim_now(o.sim);
	uint64_t fva;
	ck_assert_int_eq(nic_mr_translate(o.mr, o.buf + 5 * 4096, 4096,
					  NIC_ACCESS_LOCAL_WRITE, &t, &fva),
			 XLATE_OK);
	ck_assert_uint_eq(ctr(&o, "a.nic.page_prefetch"), 0);
	one_free(&o);
	one_setup(&o, NULL, 64 * 4096, false);
	one_reg(&o, REG_ODP);
	ck_assert_uint_eq(o.mr->mapped, 0);
	one_free(&o);
}
END_TEST

/* Without the mkey cache every registration creates its mkey and every
 * deregistration destroys it. */
START_TEST(no_mkey_cache)
{
	struct one o;
	one_setup(&o, "[driver]\nmkey_cache = false\n", 16 * 4096, true);
	sim_time_t got = one_reg(&o, REG_PIN);
	const struct driver_config *dc = &o.dc;
	sim_time_t want = dc->reg_syscall_time + dc->pin_call_time +
			  16 * (o.vc.pin_time + dc->sg_page_time +
				dc->dma_map_sg_time) +
			  dc->create_mkey_time + umr_chain(dc, 16);
	ck_assert_uint_eq(got, want);
	sim_time_t dgot = one_dereg(&o);
	ck_assert_uint_eq(dgot, dc->reg_syscall_time + dc->destroy_mkey_time +
					16 * (dc->unmap_sg_time +
					      o.vc.unpin_time));
	ck_assert_uint_eq(ctr(&o, "a.nic.destroy_mkey"), 1);
	one_free(&o);
}
END_TEST

/*
 * The second MTT cache level (NEO-Host's Level 1 MTT cache): a first-
 * level miss that the second level holds costs mtt_l1_hit_cycles and no
 * PCIe read; a line fetched over PCIe fills both levels; a flush drops
 * both.  Both levels fully associative here (one set each), so the
 * evictions are LRU's.
 */
START_TEST(second_level_mtt_cache)
{
	struct one o;
	one_setup(&o,
		  "[nic]\nmtt_cache_entries = 8\nmtt_cache_ways = 8\n"
		  "mtt_l1_entries = 64\nmtt_l1_ways = 64\n"
		  "mtt_fetch_entries = 8\n",
		  32 * 4096, true);
	one_reg(&o, REG_PIN);
	ck_assert_uint_eq(o.mr->mtt_shift, 0);
	struct nic *nic = o.h->nic;
	uint64_t fva;
	/* lines 0..3 (entries 0-7, 8-15, ...): each a miss in both levels
	 * and one PCIe read; the first level keeps only the last line */
	for (uint64_t pg = 0; pg < 32; pg += 8) {
		uint64_t reads = ctr(&o, "a.pcie.tlps_up");
		sim_time_t t = sim_now(o.sim);
		ck_assert_int_eq(nic_mr_translate(o.mr, o.buf + pg * 4096,
						  4096, NIC_ACCESS_LOCAL_WRITE,
						  &t, &fva),
				 XLATE_OK);
		ck_assert_uint_eq(ctr(&o, "a.pcie.tlps_up"), reads + 1);
	}
	ck_assert_uint_eq(ctr(&o, "a.nic.mtt_cache.l1_misses"), 4);
	ck_assert_uint_eq(ctr(&o, "a.nic.mtt_cache.l1_hits"), 0);
	ck_assert_uint_eq(nic_mtt_cache_occupancy(nic), 8);
	/* entry 0 left the first level: the second has it */
	uint64_t reads = ctr(&o, "a.pcie.tlps_up");
	sim_time_t t0 = sim_now(o.sim), t = t0;
	ck_assert_int_eq(nic_mr_translate(o.mr, o.buf, 4096,
					  NIC_ACCESS_LOCAL_WRITE, &t, &fva),
			 XLATE_OK);
	ck_assert_uint_eq(t - t0, nic_cycles(nic, o.nc.mtt_l1_hit_cycles));
	ck_assert_uint_eq(ctr(&o, "a.pcie.tlps_up"), reads);
	ck_assert_uint_eq(ctr(&o, "a.nic.mtt_cache.l1_hits"), 1);
	/* ... and now the first level too: a hit there */
	t0 = t = sim_now(o.sim);
	ck_assert_int_eq(nic_mr_translate(o.mr, o.buf, 4096,
					  NIC_ACCESS_LOCAL_WRITE, &t, &fva),
			 XLATE_OK);
	ck_assert_uint_eq(t - t0, nic_cycles(nic, o.nc.cache_hit_cycles));
	ck_assert_uint_eq(ctr(&o, "a.nic.mtt_cache.l1_hits"), 1);
	/* a flush (an invalidation, a zap) drops the entry in both */
	nic_mr_flush(o.mr, 0, 0);
	t = sim_now(o.sim);
	ck_assert_int_eq(nic_mr_translate(o.mr, o.buf, 4096,
					  NIC_ACCESS_LOCAL_WRITE, &t, &fva),
			 XLATE_OK);
	ck_assert_uint_eq(ctr(&o, "a.nic.mtt_cache.l1_misses"), 5);
	ck_assert_uint_eq(ctr(&o, "a.pcie.tlps_up"), reads + 1);
	one_free(&o);
	/* without a second level there are no such counters */
	one_setup(&o, NULL, 4096, true);
	ck_assert_ptr_null(o.h->nic->mtt_l1);
	ck_assert_ptr_null(o.h->nic->c_l1_hits);
	one_free(&o);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("reg");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, reg_costs_the_table_sum);
	tcase_add_test(tc, reg_of_fresh_memory_pays_the_faults);
	tcase_add_test(tc, thp_mr_has_huge_entries);
	tcase_add_test(tc, entries_follow_the_layout);
	tcase_add_test(tc, odp_reg_maps_present_pages);
	tcase_add_test(tc, no_mkey_cache);
	tcase_add_test(tc, second_level_mtt_cache);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
