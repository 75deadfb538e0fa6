/*
 * tools/bench_mtt_cache.c - MTT cache lookup cost.
 *
 * Fills a cache of ENTRIES slots in WAYS-way sets, then looks up keys drawn
 * uniformly from a key space KEYSPACE_X times the capacity (so the hit rate
 * is about 1/KEYSPACE_X), inserting on a miss as the NIC does.  Keys are
 * drawn beforehand so the RNG is not in the measured time.
 * Prints: mtt_cache entries=E ways=W lookups=N hit_rate=H ns_per_lookup=T
 */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>

#include "nic/mtt_cache.h"
#include "sim/rng.h"

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr,
			"usage: bench_mtt_cache ENTRIES WAYS LOOKUPS KEYSPACE_X\n");
		return 2;
	}
	uint32_t entries = (uint32_t)strtoul(argv[1], NULL, 0);
	uint32_t ways = (uint32_t)strtoul(argv[2], NULL, 0);
	uint64_t n = strtoull(argv[3], NULL, 0);
	uint64_t space = (uint64_t)entries * strtoull(argv[4], NULL, 0);
	struct rng r;
	rng_init(&r, 1, "bench.mtt_cache");
	struct mtt_cache *c = mtt_cache_new(entries, ways, CACHE_LRU, NULL);
	enum { BATCH = 1 << 16 };
	uint64_t *keys = g_new(uint64_t, BATCH);
	for (uint64_t i = 0; i < BATCH; i++)
		keys[i] = (rng_below(&r, 16) << 32) | rng_below(&r, space / 16 + 1);
	uint64_t hits = 0, sink = 0;
	gint64 t0 = g_get_monotonic_time();
	for (uint64_t i = 0; i < n; i++) {
		uint64_t k = keys[i & (BATCH - 1)], v;
		if (mtt_cache_lookup(c, k, &v)) {
			hits++;
			sink += v;
		} else {
			mtt_cache_insert(c, k, k);
		}
	}
	double s = (double)(g_get_monotonic_time() - t0) / 1e6;
	printf("mtt_cache entries=%u ways=%u lookups=%" G_GUINT64_FORMAT
	       " hit_rate=%.3f ns_per_lookup=%.2f (sink %" G_GUINT64_FORMAT ")\n",
	       entries, ways, n, (double)hits / (double)n, s * 1e9 / (double)n,
	       sink & 1);
	g_free(keys);
	mtt_cache_free(c);
	return 0;
}
