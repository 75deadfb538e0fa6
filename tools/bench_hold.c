/*
 * tools/bench_hold.c - the classic hold model on the event queue.
 *
 * PENDING events are queued; each fired event schedules one more at
 * now + Exp(mean 1000 ns), the draw included in the measured time.
 * Prints: hold pending=P events=E seconds=S events_per_sec=R
 */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>

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

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: bench_hold PENDING EVENTS\n");
		return 2;
	}
	char *end;
	uint64_t pending = g_ascii_strtoull(argv[1], &end, 10);
	uint64_t events = g_ascii_strtoull(argv[2], &end, 10);
	if (!pending || !events) {
		fprintf(stderr, "bench_hold: PENDING and EVENTS must be > 0\n");
		return 2;
	}
	struct sim *sim = sim_new(1);
	struct hold h = { .left = events };
	h.comp = sim_component_add(sim, "bench");
	rng_init(&h.rng, 1, "bench.hold");
	for (uint64_t i = 0; i < pending; i++)
		sim_schedule(sim, (sim_time_t)rng_exp(&h.rng, 1000.0 * SIM_NS),
			     &ev_hold, h.comp, &h, 0);
	/* warm up: one pass over the queue so buffers reach steady state */
	h.left = pending;
	sim_run(sim);
	h.left = events;
	gint64 t0 = g_get_monotonic_time();
	uint64_t fired = sim_run(sim);
	double s = (double)(g_get_monotonic_time() - t0) / 1e6;
	printf("hold pending=%" G_GUINT64_FORMAT " events=%" G_GUINT64_FORMAT
	       " seconds=%.3f events_per_sec=%.0f\n",
	       pending, fired, s, (double)fired / s);
	sim_free(sim);
	return 0;
}
