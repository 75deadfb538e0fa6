/*
 * tests/test_mtt.c - the MTT radix tree (nic/mtt.h) differentially
 * against a trivially correct reference, a hash table of page -> entry,
 * driven by random programs of set, get, zap and chunk walks over a dense
 * range, a sparse 2^36-page space (an implicit ODP MR) and both at once;
 * the first mismatch reports the seed and the operation.
 */
#include <check.h>
#include <glib.h>
#include <stdlib.h>

#include "nic/mtt.h"
#include "sim/rng.h"

struct ref {
	GHashTable *e; /* page -> entry (non-zero) */
};

static uint64_t ref_get(const struct ref *r, uint64_t pg)
{
	gpointer v;
	if (!g_hash_table_lookup_extended(r->e, &pg, NULL, &v))
		return 0;
	return *(uint64_t *)v;
}

static void ref_set(struct ref *r, uint64_t pg, uint64_t e)
{
	uint64_t *k = g_new(uint64_t, 1), *v = g_new(uint64_t, 1);
	*k = pg;
	*v = e;
	g_hash_table_replace(r->e, k, v);
}

static uint64_t draw_page(struct rng *r, unsigned mode)
{
	switch (mode == 2 ? (unsigned)rng_below(r, 2) : mode) {
	case 0: return rng_below(r, 5000);
	default: return rng_below(r, 1ULL << 36);
	}
}

static void program(uint64_t seed, unsigned mode, unsigned ops)
{
	struct rng r;
	rng_init(&r, seed, "test.mtt");
	struct mtt m;
	mtt_init(&m);
	struct ref ref = { g_hash_table_new_full(g_int64_hash, g_int64_equal,
						 g_free, g_free) };
	GArray *pages = g_array_new(FALSE, FALSE, sizeof(uint64_t));
	for (unsigned i = 0; i < ops; i++) {
		unsigned op = (unsigned)rng_below(&r, 10);
		uint64_t pg = pages->len && rng_below(&r, 2) ?
				      g_array_index(pages, uint64_t,
						    rng_below(&r, pages->len)) :
				      draw_page(&r, mode);
		if (op < 5) {
			uint64_t e = MTT_ENTRY(rng_below(&r, 1ULL << 30),
					       MTT_VALID | MTT_WRITE);
			mtt_set(&m, pg, e);
			ref_set(&ref, pg, e);
			g_array_append_val(pages, pg);
		} else if (op < 7) {
			uint64_t last = pg + rng_below(&r, 2000);
			mtt_zap(&m, pg, last);
			GHashTableIter it;
			gpointer k, v;
			g_hash_table_iter_init(&it, ref.e);
			while (g_hash_table_iter_next(&it, &k, &v))
				if (*(uint64_t *)k >= pg &&
				    *(uint64_t *)k <= last)
					*(uint64_t *)v &= ~(uint64_t)(
						MTT_VALID | MTT_WRITE |
						MTT_SUSP);
		}
		ck_assert_msg(mtt_get(&m, pg) == ref_get(&ref, pg),
			      "seed %" G_GUINT64_FORMAT " op %u: page %"
			      G_GUINT64_FORMAT ": mtt %" G_GINT64_MODIFIER
			      "x, reference %" G_GINT64_MODIFIER "x",
			      seed, i, pg, mtt_get(&m, pg), ref_get(&ref, pg));
	}
	/* the walk visits exactly the non-zero entries, in ascending order;
	 * the leaves are those of the pages that were set */
	GHashTable *chunks = g_hash_table_new(g_int64_hash, g_int64_equal);
	for (guint i = 0; i < pages->len; i++) {
		uint64_t *pg = &g_array_index(pages, uint64_t, i);
		*pg >>= MTT_CHUNK_SHIFT;
		g_hash_table_add(chunks, pg);
	}
	uint64_t seen = 0, prev = 0, *e, want = 0;
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, ref.e);
	while (g_hash_table_iter_next(&it, &k, &v))
		want += *(uint64_t *)v != 0;
	for (uint64_t pg = mtt_next(&m, 0, &e); pg != UINT64_MAX;
	     pg = mtt_next(&m, pg + 1, &e)) {
		ck_assert_msg(*e && *e == ref_get(&ref, pg),
			      "seed %" G_GUINT64_FORMAT ": page %"
			      G_GUINT64_FORMAT " walked with %" G_GINT64_MODIFIER
			      "x", seed, pg, *e);
		ck_assert(!seen || pg > prev);
		prev = pg;
		seen++;
	}
	ck_assert_uint_eq(seen, want);
	ck_assert_uint_le(m.nchunks, g_hash_table_size(chunks));
	ck_assert_uint_ge(mtt_bytes(&m), seen * 8);
	g_hash_table_destroy(chunks);
	g_array_free(pages, TRUE);
	g_hash_table_destroy(ref.e);
	mtt_destroy(&m);
}

START_TEST(mtt_differential)
{
	for (uint64_t seed = 1; seed <= 6; seed++)
		for (unsigned mode = 0; mode < 3; mode++)
			program(seed, mode, 3000);
}
END_TEST

START_TEST(mtt_sparse_costs_per_chunk)
{
	/* 1000 pages spread over 2^36: one small (sparse) leaf each and the
	 * directories above them, never a table for the whole space */
	struct mtt m;
	mtt_init(&m);
	for (uint64_t i = 0; i < 1000; i++)
		mtt_set(&m, i << 26, MTT_ENTRY(i, MTT_VALID));
	ck_assert_uint_eq(m.nchunks, 1000);
	ck_assert_uint_le(m.ndirs, 1 + 2 * 1000);
	ck_assert_uint_le(mtt_bytes(&m),
			  m.ndirs * sizeof(struct mtt_dir) + 1000 * 64);
	ck_assert_uint_eq(mtt_get(&m, 999ULL << 26), MTT_ENTRY(999, MTT_VALID));
	ck_assert_uint_eq(mtt_get(&m, (999ULL << 26) + 1), 0);
	/* clearing a page of a chunk never allocated allocates nothing */
	mtt_set(&m, 12345, 0);
	ck_assert_uint_eq(m.nchunks, 1000);
	/* a leaf holding 200 pages is a plain table page */
	for (uint64_t i = 0; i < 200; i++)
		mtt_set(&m, (5ULL << 26) + i, MTT_ENTRY(i + 1, MTT_VALID));
	ck_assert_uint_eq(mtt_get(&m, (5ULL << 26) + 199),
			  MTT_ENTRY(200, MTT_VALID));
	mtt_destroy(&m);
}
END_TEST

/*
 * The entry page size against its definition: the largest power of two
 * P from 4 KiB to the cap, and no larger than the smallest power of two
 * whose aligned block holds the whole MR, with which every page's DMA
 * address is congruent to its virtual address modulo P and each P-block
 * of the MR is one physically contiguous run (ib_umem_find_best_pgsz;
 * its comment's "smallest page size that results in the minimum number
 * of required pages" holds up to that one-block bound, which it does not
 * lower further).  Random MRs: a start, a length, runs of frames that
 * are contiguous or jump, some aligned to large powers of two.
 */
static bool ref_fits(const uint64_t *pa, uint64_t first, uint64_t n,
		     unsigned bits)
{
	uint64_t mask = (1ULL << bits) - 1;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t va = (first + i) << 12;
		if ((pa[i] ^ va) & mask)
			return false; /* the block would not map it */
		/* within one block, pages are contiguous */
		if (i && ((va - 4096) >> bits) == (va >> bits) &&
		    pa[i] != pa[i - 1] + 4096)
			return false;
	}
	return true;
}

/* log2 of the smallest aligned block holding pages [first, first+n) */
static unsigned ref_cover(uint64_t first, uint64_t n)
{
	unsigned b = 12;
	while (((first << 12) >> b) != (((first + n) << 12) - 1) >> b)
		b++;
	return b;
}

START_TEST(mtt_page_size_vs_definition)
{
	struct rng r;
	rng_init(&r, 5, "test.mtt_pgsz");
	for (unsigned t = 0; t < 4000; t++) {
		uint64_t n = 1 + rng_below(&r, t % 3 ? 64 : 4096);
		uint64_t first = rng_below(&r, 1u << 20);
		if (rng_below(&r, 2))
			first &= ~((1ULL << rng_below(&r, 20)) - 1);
		unsigned capb = 12 + (unsigned)rng_below(&r, 20);
		uint64_t *pa = g_new(uint64_t, n);
		uint64_t base = rng_below(&r, 1ULL << 28) << 12;
		if (rng_below(&r, 2)) /* aligned like the VA, to some size */
			base = (base & ~((1ULL << (12 + rng_below(&r, 18))) - 1)) |
			       ((first << 12) &
				((1ULL << (12 + rng_below(&r, 18))) - 1));
		for (uint64_t i = 0; i < n; i++) {
			if (i && rng_below(&r, 100) < (t % 4 ? 2 : 30))
				base = rng_below(&r, 1ULL << 28) << 12;
			pa[i] = base;
			base += 4096;
		}
		/* the DMA segments: maximal contiguous runs */
		struct mtt_pgsz p;
		mtt_pgsz_init(&p);
		uint64_t s0 = 0;
		for (uint64_t i = 1; i <= n; i++)
			if (i == n || pa[i] != pa[i - 1] + 4096) {
				mtt_pgsz_seg(&p, (first + s0) << 12, pa[s0],
					     (i - s0) << 12);
				s0 = i;
			}
		unsigned got = mtt_pgsz_bits(&p, first << 12, n << 12,
					     1ULL << capb);
		unsigned want = 12, top = ref_cover(first, n);
		for (unsigned b = 13; b <= capb && b <= top; b++)
			if (ref_fits(pa, first, n, b))
				want = b;
		ck_assert_msg(got == want,
			      "case %u: %" G_GUINT64_FORMAT " pages from page "
			      "%" G_GUINT64_FORMAT ", cap 2^%u: page size 2^%u, "
			      "the definition 2^%u", t, n, first, capb, got,
			      want);
		g_free(pa);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mtt");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, mtt_differential);
	tcase_add_test(tc, mtt_sparse_costs_per_chunk);
	tcase_add_test(tc, mtt_page_size_vs_definition);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
