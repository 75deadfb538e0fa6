/*
 * nic/mtt_cache.c - set-associative translation cache (see mtt_cache.h for
 * the representation and the workload it assumes).
 */
#include "nic/mtt_cache.h"

#include <glib.h>
#include <stdint.h>

#include "sim/config.h"
#include "sim/rng.h"

const char *const cache_policy_names[] = { "lru", "random", NULL };

/* Structure of arrays, each sets * ways long, set by set: a lookup reads
 * only the set's keys (one or two cache lines for up to 16 ways). */
struct mtt_cache {
	uint32_t entries, ways, sets;
	uint32_t occupancy;
	enum cache_policy policy;
	struct rng *rng;
	uint64_t clock;
	uint64_t *keys;
	uint64_t *stamps; /* 0: empty; else the clock at last use */
	uint64_t *values;
};

/* murmur3 fmix64: every input bit affects every output bit. */
static inline uint64_t mtt_cache_hash(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	k ^= k >> 33;
	return k;
}

uint32_t mtt_cache_set_of(const struct mtt_cache *c, uint64_t key)
{
	/* multiply-shift onto [0, sets) (Lemire's fastrange) */
	return (uint32_t)(((unsigned __int128)mtt_cache_hash(key) * c->sets) >>
			  64);
}

bool mtt_cache_check_geometry(uint32_t entries, uint32_t ways,
			      const char *what, GError **error)
{
	if (ways >= 1 && entries >= ways && entries % ways == 0)
		return true;
	g_set_error(error, CONFIG_ERROR, 0,
		    "%s: %u entries cannot be split into sets of %u ways "
		    "(need 1 <= ways <= entries and entries a multiple of ways)",
		    what, entries, ways);
	return false;
}

struct mtt_cache *mtt_cache_new(uint32_t entries, uint32_t ways,
				enum cache_policy policy, struct rng *rng)
{
	g_assert(ways >= 1 && entries >= ways);
	g_assert(entries % ways == 0);
	g_assert(policy == CACHE_LRU || policy == CACHE_RANDOM);
	g_assert(policy != CACHE_RANDOM || rng != NULL);
	struct mtt_cache *c = g_new0(struct mtt_cache, 1);
	c->entries = entries;
	c->ways = ways;
	c->sets = entries / ways;
	c->policy = policy;
	c->rng = rng;
	c->keys = g_new0(uint64_t, entries);
	c->stamps = g_new0(uint64_t, entries);
	c->values = g_new0(uint64_t, entries);
	return c;
}

void mtt_cache_free(struct mtt_cache *c)
{
	if (!c)
		return;
	g_free(c->keys);
	g_free(c->stamps);
	g_free(c->values);
	g_free(c);
}

bool mtt_cache_lookup(struct mtt_cache *c, uint64_t key, uint64_t *value)
{
	size_t base = (size_t)mtt_cache_set_of(c, key) * c->ways;
	const uint64_t *k = c->keys + base;
	for (uint32_t w = 0; w < c->ways; w++) {
		if (k[w] == key && c->stamps[base + w] != 0) {
			c->stamps[base + w] = ++c->clock;
			if (value)
				*value = c->values[base + w];
			return true;
		}
	}
	return false;
}

void mtt_cache_insert(struct mtt_cache *c, uint64_t key, uint64_t value)
{
	size_t base = (size_t)mtt_cache_set_of(c, key) * c->ways;
	size_t free_slot = SIZE_MAX, lru = SIZE_MAX;
	for (size_t i = base; i < base + c->ways; i++) {
		if (c->stamps[i] == 0) {
			if (free_slot == SIZE_MAX)
				free_slot = i;
			continue;
		}
		if (c->keys[i] == key) { /* replace in place */
			c->values[i] = value;
			c->stamps[i] = ++c->clock;
			return;
		}
		if (lru == SIZE_MAX || c->stamps[i] < c->stamps[lru])
			lru = i;
	}
	size_t victim = free_slot;
	if (victim != SIZE_MAX)
		c->occupancy++;
	else if (c->policy == CACHE_LRU)
		victim = lru;
	else
		victim = base + rng_below(c->rng, c->ways);
	c->keys[victim] = key;
	c->values[victim] = value;
	c->stamps[victim] = ++c->clock;
}

static inline void mtt_cache_drop(struct mtt_cache *c, size_t i)
{
	c->stamps[i] = 0;
	g_assert(c->occupancy > 0);
	c->occupancy--;
}

bool mtt_cache_invalidate(struct mtt_cache *c, uint64_t key)
{
	size_t base = (size_t)mtt_cache_set_of(c, key) * c->ways;
	for (size_t i = base; i < base + c->ways; i++) {
		if (c->keys[i] == key && c->stamps[i] != 0) {
			mtt_cache_drop(c, i);
			return true;
		}
	}
	return false;
}

uint32_t mtt_cache_invalidate_range(struct mtt_cache *c, uint64_t lo,
				    uint64_t hi)
{
	if (hi < lo || c->occupancy == 0)
		return 0;
	uint32_t removed = 0;
	/* Probing costs (hi - lo + 1) * ways slot reads, a scan costs
	 * entries: probe when the range has fewer keys than there are sets. */
	if (hi - lo < c->sets) {
		uint64_t k = lo;
		for (;;) {
			removed += mtt_cache_invalidate(c, k);
			if (k == hi)
				break;
			k++;
		}
		return removed;
	}
	for (size_t i = 0; i < c->entries; i++) {
		if (c->stamps[i] != 0 && c->keys[i] >= lo && c->keys[i] <= hi) {
			mtt_cache_drop(c, i);
			removed++;
		}
	}
	return removed;
}

uint32_t mtt_cache_occupancy(const struct mtt_cache *c)
{
	return c->occupancy;
}

uint32_t mtt_cache_sets(const struct mtt_cache *c)
{
	return c->sets;
}

uint32_t mtt_cache_ways(const struct mtt_cache *c)
{
	return c->ways;
}
