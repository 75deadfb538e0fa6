/*
 * tests/test_mtt_cache.c - the MTT cache, differentially against trivially
 * correct reference models driven by random programs of lookup, insert,
 * invalidate and invalidate_range; the first mismatch is reported with its
 * seed and operation index.
 *
 * LRU reference: per set, an array of (key, value) ordered by recency
 * (index 0 = most recent); eviction drops the last element.  The reference
 * uses the cache's own set function (mtt_cache_set_of), which is the
 * specification of the index, not of the behaviour under test.
 *
 * RANDOM reference: per set, the keys that may be present with the value
 * last inserted.  Evictions cannot be predicted, so the test probes: a hit
 * must return the last inserted value; a key the reference holds but the
 * cache misses was evicted and leaves the reference; an insert into a set
 * with a free slot evicts nothing, into a full set exactly one key; the
 * occupancy equals the number of reference keys still present.
 */
#include <check.h>
#include <glib.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "nic/mtt_cache.h"
#include "sim/rng.h"

struct ref_ent {
	uint64_t key, value;
};

struct ref {
	uint32_t sets, ways;
	GArray **set; /* per set: struct ref_ent, most recent first */
};

static struct ref *ref_new(uint32_t sets, uint32_t ways)
{
	struct ref *r = g_new0(struct ref, 1);
	r->sets = sets;
	r->ways = ways;
	r->set = g_new0(GArray *, sets);
	for (uint32_t i = 0; i < sets; i++)
		r->set[i] = g_array_new(FALSE, FALSE, sizeof(struct ref_ent));
	return r;
}

static void ref_free(struct ref *r)
{
	for (uint32_t i = 0; i < r->sets; i++)
		g_array_free(r->set[i], TRUE);
	g_free(r->set);
	g_free(r);
}

static int ref_find(GArray *a, uint64_t key)
{
	for (guint i = 0; i < a->len; i++)
		if (g_array_index(a, struct ref_ent, i).key == key)
			return (int)i;
	return -1;
}

static void ref_to_front(GArray *a, int i)
{
	struct ref_ent e = g_array_index(a, struct ref_ent, i);
	g_array_remove_index(a, (guint)i);
	g_array_prepend_val(a, e);
}

static uint32_t ref_occupancy(const struct ref *r)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < r->sets; i++)
		n += r->set[i]->len;
	return n;
}

/* ---- the random program ---- */

enum op_kind { OP_LOOKUP, OP_INSERT, OP_INVALIDATE, OP_RANGE };
static const char *const op_names[] = { "lookup", "insert", "invalidate",
					"invalidate_range" };

struct op {
	enum op_kind kind;
	uint64_t key, hi, value;
};

/* Keys as the NIC packs them: (MR id << 32) | page index, plus the extreme
 * keys 0 and UINT64_MAX now and then. */
static uint64_t gen_key(struct rng *r, uint64_t pages)
{
	uint64_t x = rng_below(r, 1000);
	if (x == 0)
		return 0;
	if (x == 1)
		return UINT64_MAX - rng_below(r, 3);
	return (rng_below(r, 4) << 32) | rng_below(r, pages);
}

static struct op gen_op(struct rng *r, uint64_t pages, uint32_t sets,
			uint64_t *next_value)
{
	struct op o = { 0 };
	uint64_t x = rng_below(r, 100);
	o.key = gen_key(r, pages);
	o.value = (*next_value)++;
	if (x < 45) {
		o.kind = OP_LOOKUP;
	} else if (x < 82) {
		o.kind = OP_INSERT;
	} else if (x < 94) {
		o.kind = OP_INVALIDATE;
	} else {
		o.kind = OP_RANGE;
		uint64_t w = rng_below(r, 10);
		if (w < 5) /* narrow: the probing path */
			o.hi = o.key + rng_below(r, sets);
		else if (w < 9) /* wide: the scanning path */
			o.hi = o.key + rng_below(r, 4 * pages);
		else { /* everything */
			o.key = 0;
			o.hi = UINT64_MAX;
		}
		if (o.hi < o.key) /* wrapped near UINT64_MAX */
			o.hi = UINT64_MAX;
	}
	return o;
}

static void run_lru(uint64_t seed, uint32_t entries, uint32_t ways,
		    unsigned nops)
{
	struct mtt_cache *c = mtt_cache_new(entries, ways, CACHE_LRU, NULL);
	uint32_t sets = mtt_cache_sets(c);
	ck_assert_uint_eq(sets, entries / ways);
	struct ref *ref = ref_new(sets, ways);
	struct rng r;
	rng_init(&r, seed, "mtt_cache.program");
	uint64_t pages = entries > 4 ? entries : 4, next_value = 1;
	for (unsigned i = 0; i < nops; i++) {
		struct op o = gen_op(&r, pages, sets, &next_value);
		GArray *a = ref->set[mtt_cache_set_of(c, o.key)];
		int at = ref_find(a, o.key);
		switch (o.kind) {
		case OP_LOOKUP: {
			uint64_t v = 0;
			bool hit = mtt_cache_lookup(c, o.key, &v);
			if (hit != (at >= 0))
				ck_abort_msg("seed %" G_GUINT64_FORMAT
					     " op %u lookup(%#" G_GINT64_MODIFIER
					     "x): cache %s, reference %s",
					     seed, i, o.key,
					     hit ? "hit" : "miss",
					     at >= 0 ? "hit" : "miss");
			if (hit) {
				uint64_t rv =
					g_array_index(a, struct ref_ent, at)
						.value;
				if (v != rv)
					ck_abort_msg("seed %" G_GUINT64_FORMAT
						     " op %u lookup: value %"
						     G_GUINT64_FORMAT
						     ", reference %"
						     G_GUINT64_FORMAT,
						     seed, i, v, rv);
				ref_to_front(a, at);
			}
			break;
		}
		case OP_INSERT:
			mtt_cache_insert(c, o.key, o.value);
			if (at >= 0) {
				g_array_index(a, struct ref_ent, at).value =
					o.value;
				ref_to_front(a, at);
			} else {
				if (a->len == ways)
					g_array_remove_index(a, a->len - 1);
				struct ref_ent e = { o.key, o.value };
				g_array_prepend_val(a, e);
			}
			break;
		case OP_INVALIDATE: {
			bool was = mtt_cache_invalidate(c, o.key);
			if (was != (at >= 0))
				ck_abort_msg("seed %" G_GUINT64_FORMAT
					     " op %u invalidate: cache %d, "
					     "reference %d",
					     seed, i, was, at >= 0);
			if (at >= 0)
				g_array_remove_index(a, (guint)at);
			break;
		}
		case OP_RANGE: {
			uint32_t n = mtt_cache_invalidate_range(c, o.key, o.hi);
			uint32_t rn = 0;
			for (uint32_t s = 0; s < sets; s++) {
				GArray *b = ref->set[s];
				for (guint j = b->len; j-- > 0;) {
					uint64_t k = g_array_index(
						b, struct ref_ent, j).key;
					if (k >= o.key && k <= o.hi) {
						g_array_remove_index(b, j);
						rn++;
					}
				}
			}
			if (n != rn)
				ck_abort_msg("seed %" G_GUINT64_FORMAT
					     " op %u invalidate_range: cache "
					     "removed %u, reference %u",
					     seed, i, n, rn);
			break;
		}
		}
		if (mtt_cache_occupancy(c) != ref_occupancy(ref))
			ck_abort_msg("seed %" G_GUINT64_FORMAT
				     " op %u (%s): occupancy %u, reference %u",
				     seed, i, op_names[o.kind],
				     mtt_cache_occupancy(c),
				     ref_occupancy(ref));
	}
	ref_free(ref);
	mtt_cache_free(c);
}

/* RANDOM: probe whether a reference key is still cached; drop it if not.
 * Returns true when present (and checks its value). */
static bool rnd_probe(struct mtt_cache *c, GArray *a, guint j, uint64_t seed,
		      unsigned i)
{
	struct ref_ent e = g_array_index(a, struct ref_ent, j);
	uint64_t v;
	if (!mtt_cache_lookup(c, e.key, &v)) {
		g_array_remove_index(a, j);
		return false;
	}
	if (v != e.value)
		ck_abort_msg("seed %" G_GUINT64_FORMAT
			     " op %u: key %#" G_GINT64_MODIFIER
			     "x holds %" G_GUINT64_FORMAT
			     ", last inserted %" G_GUINT64_FORMAT,
			     seed, i, e.key, v, e.value);
	return true;
}

/* Probe every reference key of a set; returns how many are present. */
static uint32_t rnd_sync_set(struct mtt_cache *c, GArray *a, uint64_t seed,
			     unsigned i)
{
	uint32_t n = 0;
	for (guint j = a->len; j-- > 0;)
		n += rnd_probe(c, a, j, seed, i);
	return n;
}

static void run_random(uint64_t seed, uint32_t entries, uint32_t ways,
		       unsigned nops)
{
	struct rng victims;
	rng_init(&victims, seed, "mtt_cache.victims");
	struct mtt_cache *c =
		mtt_cache_new(entries, ways, CACHE_RANDOM, &victims);
	uint32_t sets = mtt_cache_sets(c);
	struct ref *ref = ref_new(sets, ways);
	struct rng r;
	rng_init(&r, seed, "mtt_cache.program");
	uint64_t pages = entries > 4 ? entries : 4, next_value = 1;
	for (unsigned i = 0; i < nops; i++) {
		struct op o = gen_op(&r, pages, sets, &next_value);
		GArray *a = ref->set[mtt_cache_set_of(c, o.key)];
		switch (o.kind) {
		case OP_LOOKUP: {
			int at = ref_find(a, o.key);
			uint64_t v;
			bool hit = mtt_cache_lookup(c, o.key, &v);
			if (hit && at < 0)
				ck_abort_msg("seed %" G_GUINT64_FORMAT
					     " op %u lookup: hit on a key "
					     "never inserted or invalidated",
					     seed, i);
			if (at >= 0) {
				if (!hit)
					g_array_remove_index(a, (guint)at);
				else if (v != g_array_index(a, struct ref_ent,
							    at).value)
					ck_abort_msg("seed %" G_GUINT64_FORMAT
						     " op %u lookup: stale "
						     "value",
						     seed, i);
			}
			break;
		}
		case OP_INSERT: {
			uint32_t before = rnd_sync_set(c, a, seed, i);
			int at = ref_find(a, o.key);
			mtt_cache_insert(c, o.key, o.value);
			if (at >= 0) {
				g_array_index(a, struct ref_ent, at).value =
					o.value;
			} else {
				struct ref_ent e = { o.key, o.value };
				g_array_prepend_val(a, e);
			}
			uint32_t after = rnd_sync_set(c, a, seed, i);
			uint32_t want = at >= 0 ? before :
				       before < ways ? before + 1 : ways;
			if (after != want || ref_find(a, o.key) < 0)
				ck_abort_msg("seed %" G_GUINT64_FORMAT
					     " op %u insert: set held %u, "
					     "now %u, expected %u%s",
					     seed, i, before, after, want,
					     ref_find(a, o.key) < 0 ?
						     " (new key missing)" :
						     "");
			break;
		}
		case OP_INVALIDATE: {
			int at = ref_find(a, o.key);
			bool present = at >= 0 && rnd_probe(c, a, (guint)at,
							    seed, i);
			bool was = mtt_cache_invalidate(c, o.key);
			if (was != present)
				ck_abort_msg("seed %" G_GUINT64_FORMAT
					     " op %u invalidate: cache %d, "
					     "reference %d",
					     seed, i, was, present);
			at = ref_find(a, o.key);
			if (at >= 0)
				g_array_remove_index(a, (guint)at);
			break;
		}
		case OP_RANGE: {
			uint32_t rn = 0;
			for (uint32_t s = 0; s < sets; s++) {
				GArray *b = ref->set[s];
				for (guint j = b->len; j-- > 0;) {
					uint64_t k = g_array_index(
						b, struct ref_ent, j).key;
					if (k < o.key || k > o.hi)
						continue;
					if (rnd_probe(c, b, j, seed, i)) {
						rn++;
						g_array_remove_index(b, j);
					}
				}
			}
			uint32_t n = mtt_cache_invalidate_range(c, o.key, o.hi);
			if (n != rn)
				ck_abort_msg("seed %" G_GUINT64_FORMAT
					     " op %u invalidate_range: cache "
					     "removed %u, reference %u",
					     seed, i, n, rn);
			break;
		}
		}
		if (mtt_cache_occupancy(c) > entries)
			ck_abort_msg("op %u: occupancy above capacity", i);
		if (i % 97 == 0) {
			uint32_t n = 0;
			for (uint32_t s = 0; s < sets; s++) {
				uint32_t k = rnd_sync_set(c, ref->set[s], seed,
							  i);
				if (k > ways)
					ck_abort_msg("op %u: set %u holds %u "
						     "keys in %u ways",
						     i, s, k, ways);
				n += k;
			}
			if (n != mtt_cache_occupancy(c))
				ck_abort_msg("seed %" G_GUINT64_FORMAT
					     " op %u: occupancy %u, keys "
					     "present %u",
					     seed, i, mtt_cache_occupancy(c), n);
		}
	}
	ref_free(ref);
	mtt_cache_free(c);
}

/* (entries, ways): set-associative, direct-mapped, fully associative, a
 * non-power-of-two number of sets, a single slot. */
static const uint32_t geoms[][2] = {
	{ 256, 4 }, { 64, 1 }, { 16, 16 }, { 48, 3 }, { 1, 1 }, { 1024, 8 },
};

START_TEST(test_lru_differential)
{
	for (unsigned g = 0; g < G_N_ELEMENTS(geoms); g++)
		for (uint64_t seed = 1; seed <= 4; seed++)
			run_lru(seed * 7919 + g, geoms[g][0], geoms[g][1],
				20000);
}
END_TEST

START_TEST(test_random_differential)
{
	for (unsigned g = 0; g < G_N_ELEMENTS(geoms); g++)
		for (uint64_t seed = 1; seed <= 4; seed++)
			run_random(seed * 104729 + g, geoms[g][0], geoms[g][1],
				   10000);
}
END_TEST

/* LRU order worked out by hand, independent of the reference model. */
/* The differential accepts any victim; this checks the victim is random:
 * in one 4-way set, the evicted key's age rank (0 oldest .. 3 newest)
 * must be uniform.  Always one way, or LRU, puts every eviction on one
 * rank.  4000 evictions: each rank expects 1000 (sd 27); > 800 holds. */
START_TEST(test_random_victims_uniform)
{
	struct rng victims;
	rng_init(&victims, 5, "mtt_cache.victims");
	struct mtt_cache *c = mtt_cache_new(4, 4, CACHE_RANDOM, &victims);
	ck_assert_uint_eq(mtt_cache_sets(c), 1);
	uint64_t age[4]; /* resident keys, oldest first */
	for (uint64_t k = 0; k < 4; k++) {
		mtt_cache_insert(c, k, k + 100);
		age[k] = k;
	}
	unsigned rank_count[4] = { 0 };
	for (uint64_t k = 4; k < 4004; k++) {
		mtt_cache_insert(c, k, k + 100);
		int gone = -1;
		for (int i = 0; i < 4; i++) {
			uint64_t v;
			if (!mtt_cache_lookup(c, age[i], &v)) {
				ck_assert_int_eq(gone, -1); /* one victim */
				gone = i;
			} else {
				ck_assert_uint_eq(v, age[i] + 100);
			}
		}
		ck_assert_int_ge(gone, 0);
		rank_count[gone]++;
		for (int i = gone; i < 3; i++)
			age[i] = age[i + 1];
		age[3] = k;
	}
	for (int i = 0; i < 4; i++)
		ck_assert_msg(rank_count[i] > 800, "rank %d evicted %u times "
			      "of 4000", i, rank_count[i]);
	mtt_cache_free(c);
}
END_TEST

START_TEST(test_lru_order_exact)
{
	/* fully associative, 4 slots: LRU order by hand */
	struct mtt_cache *c = mtt_cache_new(4, 4, CACHE_LRU, NULL);
	for (uint64_t k = 1; k <= 4; k++)
		mtt_cache_insert(c, k, k * 10);
	uint64_t v;
	ck_assert(mtt_cache_lookup(c, 1, &v) && v == 10); /* 1 is now MRU */
	mtt_cache_insert(c, 5, 50);                       /* evicts 2 */
	ck_assert(!mtt_cache_lookup(c, 2, NULL));
	ck_assert(mtt_cache_lookup(c, 1, NULL));
	mtt_cache_insert(c, 3, 33); /* replace: no eviction, 3 MRU */
	ck_assert_uint_eq(mtt_cache_occupancy(c), 4);
	mtt_cache_insert(c, 6, 60); /* evicts 4 (LRU: 4, 5, 1, 3) */
	ck_assert(!mtt_cache_lookup(c, 4, NULL));
	ck_assert(mtt_cache_lookup(c, 3, &v) && v == 33);
	ck_assert_uint_eq(mtt_cache_invalidate_range(c, 0, UINT64_MAX), 4);
	ck_assert_uint_eq(mtt_cache_occupancy(c), 0);
	ck_assert_uint_eq(mtt_cache_invalidate_range(c, 5, 4), 0);
	mtt_cache_free(c);
}
END_TEST

START_TEST(test_range_extremes)
{
	struct mtt_cache *c = mtt_cache_new(64, 4, CACHE_LRU, NULL);
	mtt_cache_insert(c, UINT64_MAX, 1);
	mtt_cache_insert(c, UINT64_MAX - 1, 2);
	mtt_cache_insert(c, 0, 3);
	/* probing path ends exactly at UINT64_MAX without wrapping */
	ck_assert_uint_eq(mtt_cache_invalidate_range(c, UINT64_MAX - 1,
						     UINT64_MAX),
			  2);
	ck_assert_uint_eq(mtt_cache_invalidate_range(c, 0, 0), 1);
	ck_assert_uint_eq(mtt_cache_occupancy(c), 0);
	mtt_cache_free(c);
}
END_TEST

/* Packed keys of one MR spread evenly: no set gets more than 3x its share. */
START_TEST(test_index_spread)
{
	struct mtt_cache *c = mtt_cache_new(4096, 4, CACHE_LRU, NULL);
	uint32_t sets = mtt_cache_sets(c);
	uint32_t *load = g_new0(uint32_t, sets);
	const uint32_t per = 32;
	for (uint64_t p = 0; p < (uint64_t)sets * per; p++) {
		uint32_t s = mtt_cache_set_of(c, (7ULL << 32) | p);
		ck_assert_uint_lt(s, sets);
		load[s]++;
	}
	uint32_t max = 0;
	for (uint32_t s = 0; s < sets; s++)
		max = load[s] > max ? load[s] : max;
	ck_assert_uint_le(max, 3 * per);
	g_free(load);
	mtt_cache_free(c);
}
END_TEST

/* entries not a multiple of ways is rejected (assertion), not rounded. */
START_TEST(test_reject_bad_geometry)
{
	mtt_cache_new(10, 4, CACHE_LRU, NULL);
}
END_TEST

START_TEST(test_reject_random_without_rng)
{
	mtt_cache_new(8, 2, CACHE_RANDOM, NULL);
}
END_TEST

START_TEST(test_check_geometry)
{
	GError *err = NULL;
	ck_assert(mtt_cache_check_geometry(48, 3, "x", &err));
	ck_assert(mtt_cache_check_geometry(16, 16, "x", &err));
	ck_assert(!mtt_cache_check_geometry(10, 4, "nic.mtt_cache", &err));
	ck_assert_ptr_nonnull(strstr(err->message, "nic.mtt_cache"));
	g_clear_error(&err);
	ck_assert(!mtt_cache_check_geometry(4, 8, "x", &err));
	g_clear_error(&err);
	ck_assert(!mtt_cache_check_geometry(4, 0, "x", &err));
	g_clear_error(&err);
}
END_TEST

START_TEST(test_policy_names)
{
	ck_assert_str_eq(cache_policy_names[CACHE_LRU], "lru");
	ck_assert_str_eq(cache_policy_names[CACHE_RANDOM], "random");
	ck_assert_ptr_null(cache_policy_names[2]);
}
END_TEST

static Suite *mtt_cache_suite(void)
{
	Suite *s = suite_create("mtt_cache");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_lru_differential);
	tcase_add_test(tc, test_random_differential);
	tcase_add_test(tc, test_random_victims_uniform);
	tcase_add_test(tc, test_lru_order_exact);
	tcase_add_test(tc, test_range_extremes);
	tcase_add_test(tc, test_index_spread);
	tcase_add_test(tc, test_policy_names);
	tcase_add_test(tc, test_check_geometry);
	tcase_add_test_raise_signal(tc, test_reject_bad_geometry, SIGABRT);
	tcase_add_test_raise_signal(tc, test_reject_random_without_rng,
				    SIGABRT);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(mtt_cache_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
