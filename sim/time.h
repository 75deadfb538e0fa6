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

static inline double sim_time_to_s(sim_time_t t)
{
	return (double)t / (double)SIM_S;
}

#endif
