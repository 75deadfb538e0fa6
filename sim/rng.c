/*
 * sim/rng.c - seeding of per-component streams (see rng.h).
 */
#include "sim/rng.h"

#include "sim/sim.h"

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void rng_init(struct rng *r, uint64_t seed, const char *name)
{
	uint64_t x = seed ^ sim_hash_str(name);
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}
