/*
 * sim/time.h - simulated time.
 *
 * Representation: sim_time_t is an unsigned 64-bit count of picoseconds from
 * the start of the run, which covers 2^64 ps ~= 213 days.  Every model works
 * in picoseconds so that a 2 GHz NIC cycle (500 ps) and a 100 Gb/s bit time
 * (10 ps) are both exact integers.
 */
#ifndef SIM_TIME_H
#define SIM_TIME_H

#include <stdint.h>

typedef uint64_t sim_time_t;

#define SIM_PS ((sim_time_t)1)
#define SIM_NS ((sim_time_t)1000)
#define SIM_US ((sim_time_t)1000000)
#define SIM_MS ((sim_time_t)1000000000)
#define SIM_S ((sim_time_t)1000000000000)
#define SIM_TIME_MAX UINT64_MAX

/* Duration of one cycle of a clock at @hz, in ps (rounded to nearest). */
static inline sim_time_t sim_cycle_ps(uint64_t hz)
{
	return (SIM_S + hz / 2) / hz;
}

/* Time to move @bytes at @bits_per_s, rounded up to whole picoseconds. */
static inline sim_time_t sim_xfer_ps(uint64_t bytes, uint64_t bits_per_s)
{
	unsigned __int128 num = (unsigned __int128)bytes * 8u * SIM_S;
	return (sim_time_t)((num + bits_per_s - 1) / bits_per_s);
}

/*
 * A rate prepared once (a link's, a PCIe link's) so that the per-packet
 * transfer time is exact without a division, in 64-bit arithmetic:
 *
 *   ceil(bytes * 8e12 / bps) = bytes * q + ceil(bytes * r / bps)
 *
 * with 8e12 = q * bps + r.  The second term is a division by the constant
 * bps, done as a multiply by a reciprocal (Granlund & Montgomery, PLDI'94,
 * "Division by invariant integers using multiplication"): with
 * s = floor(log2 bps) and bps not a power of two, m = ceil(2^(64+s) / bps)
 * fits in 64 bits and floor(n / bps) = (n * m) >> (64 + s) exactly for
 * every n <= 2^63 (the error n * (m * bps - 2^(64+s)) / (bps * 2^(64+s))
 * stays below 1/bps), taking the high half of one 64x64-bit multiply (the
 * x86-64 MUL instruction; no 128-bit division, no library call).  A power
 * of two is a shift.  The fast path takes bytes < 2^18 (every packet and
 * TLP) and bps < 2^44 (above every rate a parameter table accepts, 1e13),
 * so n = bytes * r + bps - 1 < 2^63; anything larger goes the 128-bit way.
 * tests/test_units.c holds it against sim_xfer_ps over that range.
 */
struct sim_rate {
	uint64_t bps;
	uint64_t q, r; /* 8e12 = q * bps + r */
	uint64_t m;    /* reciprocal; 0 when bps is a power of two */
	unsigned s;
};

#define SIM_RATE_FAST_BYTES (1ULL << 18)
#define SIM_RATE_FAST_BPS (1ULL << 44)

static inline void sim_rate_init(struct sim_rate *rt, uint64_t bps)
{
	rt->bps = bps;
	rt->q = 8 * SIM_S / bps;
	rt->r = 8 * SIM_S % bps;
	rt->s = 63u - (unsigned)__builtin_clzll(bps);
	rt->m = (bps & (bps - 1)) ?
			(uint64_t)(((unsigned __int128)1 << (64 + rt->s)) / bps) +
				1 :
			0;
}

static inline sim_time_t sim_rate_xfer_ps(const struct sim_rate *rt,
					  uint64_t bytes)
{
	if (__builtin_expect(bytes >= SIM_RATE_FAST_BYTES ||
				     rt->bps >= SIM_RATE_FAST_BPS, 0))
		return sim_xfer_ps(bytes, rt->bps);
	sim_time_t t = bytes * rt->q;
	if (!rt->r)
		return t;
	uint64_t n = bytes * rt->r + rt->bps - 1;
	if (!rt->m)
		return t + (n >> rt->s);
	uint64_t hi = (uint64_t)(((unsigned __int128)n * rt->m) >> 64);
	return t + (hi >> rt->s);
}

static inline double sim_time_to_s(sim_time_t t)
{
	return (double)t / (double)SIM_S;
}

#endif
