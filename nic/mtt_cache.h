/*
 * nic/mtt_cache.h - the HCA's set-associative translation cache (MTT cache,
 * both its levels when [nic] mtt_l1_entries gives it a second,
 * and, fully associative, the small MPT/key cache).
 *
 * Representation: `entries` slots split into entries/ways sets of `ways`
 * slots each, stored set by set in three arrays (keys, stamps, values).
 * stamp == 0 marks an empty slot, otherwise it is the value of a per-cache
 * clock at the slot's last use (LRU picks the smallest).  A key's set is a
 * 64-bit mixing hash of the key (the murmur3 finalizer) mapped onto
 * [0, sets) by a multiply-shift, so any number of sets works and packed keys
 * (MR id << k | page index) spread evenly.  entries must be a multiple of
 * ways (asserted: a cache that silently rounds its size would misreport
 * what was simulated).
 *
 * Workload assumed: lookups (one per page a packet touches, on the per-packet
 * path) outnumber inserts (one per miss) by 10-1000x, and invalidations come
 * in bursts from the driver (one key, or a range of pages of one MR).
 * Lookup scans one set linearly, which is fastest for the 2..16 ways of a
 * real MTT cache; a fully associative cache (ways == entries) is meant for a
 * few dozen entries at most.  Nothing is allocated after mtt_cache_new().
 */
#ifndef NIC_MTT_CACHE_H
#define NIC_MTT_CACHE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

struct rng;

enum cache_policy { CACHE_LRU, CACHE_RANDOM };
/* {"lru", "random", NULL}, for PT_ENUM keys */
extern const char *const cache_policy_names[];

struct mtt_cache;

/* For configuration code: false (with a message naming @what, e.g.
 * "nic.mtt_cache") unless 1 <= ways <= entries and entries % ways == 0,
 * the geometry mtt_cache_new() asserts. */
bool mtt_cache_check_geometry(uint32_t entries, uint32_t ways,
			      const char *what, GError **error);

/*
 * A cache of @entries slots in sets of @ways (1 <= ways <= entries,
 * entries % ways == 0: asserted).  CACHE_RANDOM draws its victims from @rng
 * (required then, kept by reference; NULL is fine for CACHE_LRU).
 */
struct mtt_cache *mtt_cache_new(uint32_t entries, uint32_t ways,
				enum cache_policy policy, struct rng *rng);
void mtt_cache_free(struct mtt_cache *c);

/* Hit: store the value in *@value (when non-NULL), make it most recent. */
bool mtt_cache_lookup(struct mtt_cache *c, uint64_t key, uint64_t *value);
/* Present: replace the value (and make it most recent).  Absent: take a
 * free slot of the set, else evict one per policy. */
void mtt_cache_insert(struct mtt_cache *c, uint64_t key, uint64_t value);
/* true when @key was present */
bool mtt_cache_invalidate(struct mtt_cache *c, uint64_t key);
/* Remove every key in [@lo, @hi] (inclusive); probes each key of the range
 * when that is cheaper than scanning the whole cache.  Returns how many
 * entries were removed. */
uint32_t mtt_cache_invalidate_range(struct mtt_cache *c, uint64_t lo,
				    uint64_t hi);
uint32_t mtt_cache_occupancy(const struct mtt_cache *c);

/* Geometry, for tests and statistics. */
uint32_t mtt_cache_sets(const struct mtt_cache *c);
uint32_t mtt_cache_ways(const struct mtt_cache *c);
/* The set @key maps to, in [0, sets). */
uint32_t mtt_cache_set_of(const struct mtt_cache *c, uint64_t key);

#endif
