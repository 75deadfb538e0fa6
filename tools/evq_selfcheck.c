/*
 * tools/evq_selfcheck.c - differential check of the event queue against a
 * sorted-array reference.
 *
 * Runs random programs of schedule / schedule_cancellable / cancel / pending
 * / run_until / stop (callbacks schedule and cancel too, delays include 0 and
 * huge values) and checks every fired event is the reference's least live
 * (time, scheduling order) entry.  Prints the run fingerprint, which must
 * not change when only the queue's representation does.
 *
 *   gcc -std=gnu11 -O2 -Wall -Wextra -Werror -I. $(pkg-config --cflags
 *   glib-2.0) tools/evq_selfcheck.c sim/sim.c sim/rng.c sim/stats.c
 *   $(pkg-config --libs glib-2.0) -lm && ./a.out [SEEDS] [OPS]
 */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>

#include "sim/rng.h"
#include "sim/sim.h"

struct ref_ev {
	sim_time_t time;
	uint64_t seq;     /* scheduling order */
	uint64_t id;
	sim_handle_t h;   /* 0 unless cancellable */
	bool live;
};

struct chk {
	struct rng rng;
	GArray *ref;      /* struct ref_ev, all ever scheduled, by seq */
	uint64_t head;    /* ref entries below are fired or cancelled */
	uint64_t nlive;
	uint16_t comps[3];
	uint64_t fired, failures;
};

static struct chk C;

static void chk_fire(struct sim *sim, void *obj, uint64_t arg);
SIM_EVKIND(ev_a, "chk.a", chk_fire);
SIM_EVKIND(ev_b, "chk.b", chk_fire);

static sim_time_t chk_delay(void)
{
	uint64_t r = rng_u64(&C.rng);
	switch (r % 8) {
	case 0:
		return 0;
	case 1:
		return (r >> 8) % 4;
	case 2:
		return (r >> 8) % 1000;
	case 3:
		return (r >> 8) % (1ULL << 40);
	case 4:
		return (r >> 8) >> (r >> 3) % 56;
	default:
		return (r >> 8) % 100000;
	}
}

static void chk_schedule(struct sim *sim, bool cancellable)
{
	sim_time_t d = chk_delay();
	if (sim->now + d < sim->now)
		d = 0;
	struct ref_ev e = {
		.time = sim->now + d, .seq = C.ref->len, .id = C.ref->len,
		.live = true,
	};
	uint16_t comp = C.comps[rng_below(&C.rng, 3)];
	struct sim_evkind *k = rng_below(&C.rng, 2) ? &ev_a : &ev_b;
	if (cancellable)
		e.h = sim_schedule_cancellable(sim, e.time, k, comp, NULL, e.id);
	else
		sim_schedule(sim, e.time, k, comp, NULL, e.id);
	g_array_append_val(C.ref, e);
	C.nlive++;
	if (getenv("CHK_TRACE"))
		fprintf(stderr, "sched id=%lu t=%lu now=%lu h=%lx\n", (unsigned long)e.id, (unsigned long)e.time, (unsigned long)sim->now, (unsigned long)e.h);
}

static void chk_fail(const char *what, uint64_t a, uint64_t b)
{
	if (C.failures++ < 10)
		fprintf(stderr, "FAIL %s: %" G_GUINT64_FORMAT " vs %"
			G_GUINT64_FORMAT "\n", what, a, b);
}

static void chk_cancel_some(struct sim *sim)
{
	if (C.ref->len == 0)
		return;
	uint64_t lo = C.head, n = C.ref->len - lo;
	if (!n)
		return;
	struct ref_ev *e = &g_array_index(C.ref, struct ref_ev,
					  lo + rng_below(&C.rng, n));
	if (!e->h)
		return;
	if (sim_pending(sim, e->h) != e->live)
		chk_fail("pending", sim_pending(sim, e->h), e->live);
	bool ok = sim_cancel(sim, e->h);
	if (getenv("CHK_TRACE"))
		fprintf(stderr, "cancel id=%lu ok=%d\n", (unsigned long)e->id, ok);
	if (ok != e->live)
		chk_fail("cancel", ok, e->live);
	if (e->live) {
		e->live = false;
		C.nlive--;
	}
	if (sim_pending(sim, e->h))
		chk_fail("pending after cancel", 1, 0);
}

/* The reference's next event: least (time, seq) among live entries. */
static struct ref_ev *chk_ref_min(void)
{
	struct ref_ev *best = NULL;
	while (C.head < C.ref->len &&
	       !g_array_index(C.ref, struct ref_ev, C.head).live)
		C.head++;
	for (uint64_t i = C.head; i < C.ref->len; i++) {
		struct ref_ev *e = &g_array_index(C.ref, struct ref_ev, i);
		if (e->live && (!best || e->time < best->time))
			best = e; /* strict <: the earlier seq wins ties */
	}
	return best;
}

static void chk_fire(struct sim *sim, void *obj, uint64_t arg)
{
	(void)obj;
	struct ref_ev *m = chk_ref_min();
	if (!m) {
		chk_fail("fired with empty reference", arg, 0);
		return;
	}
	if (getenv("CHK_TRACE"))
		fprintf(stderr, "fire id=%lu now=%lu ref=%lu\n", (unsigned long)arg, (unsigned long)sim->now, (unsigned long)m->id);
	if (m->id != arg || m->time != sim->now)
		chk_fail("order (id)", arg, m->id);
	if (m->h && sim_pending(sim, m->h))
		chk_fail("pending while firing", 1, 0);
	m->live = false;
	C.nlive--;
	C.fired++;
	uint64_t r = rng_below(&C.rng, 16);
	if (r < 5)
		chk_schedule(sim, r < 2);
	if (r == 6)
		chk_cancel_some(sim);
	if (r == 7 && rng_below(&C.rng, 8) == 0)
		sim_stop(sim);
}

static uint64_t chk_run(uint64_t seed, uint64_t ops)
{
	struct sim *sim = sim_new(seed);
	rng_init(&C.rng, seed, "evq_selfcheck");
	C.ref = g_array_new(FALSE, FALSE, sizeof(struct ref_ev));
	C.head = C.nlive = 0;
	C.comps[0] = sim_component_add(sim, "x");
	C.comps[1] = sim_component_add(sim, "y");
	C.comps[2] = sim_component_add(sim, "z");
	for (uint64_t op = 0; op < ops; op++) {
		uint64_t r = rng_below(&C.rng, 100);
		if (r < 45) {
			chk_schedule(sim, r < 15);
		} else if (r < 60) {
			chk_cancel_some(sim);
		} else if (r < 90) {
			sim_time_t until = sim->now + chk_delay();
			if (until < sim->now)
				until = SIM_TIME_MAX;
			sim_run_until(sim, until);
			struct ref_ev *m = chk_ref_min();
			if (!sim->stopped && m && m->time <= until)
				chk_fail("run_until stopped early", m->time, until);
		} else if (r < 91) {
			sim_run(sim);
		} else {
			/* nothing pending yet fired earlier than now */
			struct ref_ev *m = chk_ref_min();
			if (m && m->time < sim->now)
				chk_fail("overdue", m->time, sim->now);
		}
		if (sim_queue_len(sim) < C.nlive)
			chk_fail("queue_len", sim_queue_len(sim), C.nlive);
	}
	for (int i = 0; C.nlive && i < 100; i++)
		sim_run(sim); /* sim_stop() may end a run early */
	if (chk_ref_min())
		chk_fail("left over", 1, 0);
	uint64_t fp = sim->fingerprint;
	g_array_free(C.ref, TRUE);
	sim_free(sim);
	return fp;
}

int main(int argc, char **argv)
{
	uint64_t seeds = argc > 1 ? g_ascii_strtoull(argv[1], NULL, 10) : 200;
	uint64_t ops = argc > 2 ? g_ascii_strtoull(argv[2], NULL, 10) : 5000;
	uint64_t fp = 0;
	for (uint64_t s = 1; s <= seeds; s++)
		fp ^= chk_run(s, ops) * (2 * s + 1);
	printf("evq_selfcheck seeds=%" G_GUINT64_FORMAT " ops=%"
	       G_GUINT64_FORMAT " fired=%" G_GUINT64_FORMAT
	       " failures=%" G_GUINT64_FORMAT " fingerprint=%016" G_GINT64_MODIFIER
	       "x\n", seeds, ops, C.fired, C.failures, fp);
	return C.failures ? 1 : 0;
}
