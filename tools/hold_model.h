/*
 * tools/hold_model.h - the classic hold model on the event queue, shared
 * by tools/bench_hold.c and tools/bench_scale.c: @pending events are
 * queued, and each fired event schedules one more at now + Exp(mean
 * 1000 ns), the draw included in the time measured.
 */
#ifndef TOOLS_HOLD_MODEL_H
#define TOOLS_HOLD_MODEL_H

#include <glib.h>

#include "sim/rng.h"
#include "sim/sim.h"

struct hold {
	struct rng rng;
	uint64_t left;
	uint16_t comp;
};

static void hold_fire(struct sim *sim, void *obj, uint64_t arg);
SIM_EVKIND(ev_hold, "bench.hold", hold_fire);

static void hold_fire(struct sim *sim, void *obj, uint64_t arg)
{
	struct hold *h = obj;
	if (h->left == 0) {
		sim_stop(sim);
		return;
	}
	h->left--;
	sim_time_t d = (sim_time_t)rng_exp(&h->rng, 1000.0 * SIM_NS);
	sim_schedule(sim, sim_now(sim) + d, &ev_hold, h->comp, h, arg);
}

/* Queue @pending events, warm up with one pass over the queue (buffers
 * reach their steady state), then fire @events more: *seconds gets the
 * time those took.  Returns the events fired. */
static inline uint64_t hold_run(uint64_t pending, uint64_t events,
				double *seconds)
{
	struct sim *sim = sim_new(1);
	struct hold h = { .left = pending };
	h.comp = sim_component_add(sim, "bench");
	rng_init(&h.rng, 1, "bench.hold");
	for (uint64_t i = 0; i < pending; i++)
		sim_schedule(sim, (sim_time_t)rng_exp(&h.rng, 1000.0 * SIM_NS),
			     &ev_hold, h.comp, &h, 0);
	sim_run(sim);
	h.left = events;
	gint64 t0 = g_get_monotonic_time();
	uint64_t fired = sim_run(sim);
	*seconds = (double)(g_get_monotonic_time() - t0) / 1e6;
	sim_free(sim);
	return fired;
}

#endif
