/*
 * sim/sim.c - event queue (radix heap, see sim.h), components, run loop and
 * fingerprint.
 */
#include "sim/sim.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "sim/stats.h"

uint64_t sim_hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

struct sim *sim_new(uint64_t seed)
{
	struct sim *sim = g_new0(struct sim, 1);
	sim->seed = seed;
	sim->fingerprint = 0x6f647073696d0001ULL; /* "odpsim" v1 */
	sim->stats = stats_new();
	return sim;
}

void sim_free(struct sim *sim)
{
	if (!sim)
		return;
	for (unsigned i = 0; i < EVQ_NBUCKETS; i++)
		g_free(sim->q.b[i].v);
	g_free(sim->q.gen);
	g_free(sim->q.free_slots);
	for (uint32_t i = 0; i < sim->ncomps; i++)
		g_free(sim->comps[i].name);
	g_free(sim->comps);
	stats_free(sim->stats);
	g_free(sim);
}

uint16_t sim_component_add(struct sim *sim, const char *name)
{
	g_assert(sim->ncomps < UINT16_MAX);
	if (sim->ncomps == sim->capcomps) {
		sim->capcomps = sim->capcomps ? 2 * sim->capcomps : 16;
		sim->comps = g_renew(struct sim_component, sim->comps,
				     sim->capcomps);
	}
	sim->comps[sim->ncomps].name = g_strdup(name);
	sim->comps[sim->ncomps].hash = sim_hash_str(name);
	return (uint16_t)sim->ncomps++;
}

const char *sim_component_name(const struct sim *sim, uint16_t comp)
{
	return comp < sim->ncomps ? sim->comps[comp].name : "?";
}

/* ---- radix heap ---- */

/* Entries a bucket keeps room for once emptied. */
#define EVQ_KEEP 256

void evq_grow(struct evq_bucket *b)
{
	b->cap = b->cap ? 2 * b->cap : 64;
	b->v = g_renew(struct sim_event, b->v, b->cap);
}

/*
 * Make bucket 0 non-empty (q->n > 0 required) if the least key is <= @until;
 * otherwise leave the queue untouched and return false.  Peeking must not
 * move q->last past the least key: once sim_run_until() returns with now =
 * until, events may still be scheduled anywhere in [until, least key), and
 * each must find q->last <= its key.
 */
static bool evq_refill(struct evq *q, sim_time_t until)
{
	g_assert(q->summary && q->b[0].len == 0);
	unsigned w = (unsigned)__builtin_ctzll(q->summary);
	unsigned j = w * 64 + (unsigned)__builtin_ctzll(q->mask[w]);
	struct evq_bucket *b = &q->b[j + 1];
	sim_time_t min = b->v[0].time;
	for (uint32_t k = 1; k < b->len; k++)
		if (b->v[k].time < min)
			min = b->v[k].time;
	if (min > until)
		return false;
	q->last = min;
	q->mask[w] &= ~(1ULL << (j % 64));
	if (!q->mask[w])
		q->summary &= ~(1ULL << w);
	if (j < EVQ_RADIX || b->len == 1) {
		/* a level-0 bucket holds one key, and so does a bucket of one
		 * entry: it becomes bucket 0 whole (bucket 0 is empty), order
		 * kept, nothing copied */
		struct evq_bucket *b0 = &q->b[0], t = *b0;
		*b0 = *b;
		*b = t;
		b->len = b->head = 0;
		return true;
	}
	uint32_t len = b->len;
	b->len = 0;
	/* every entry goes to a bucket below j + 1, so b->v is not appended to */
	for (uint32_t k = 0; k < len; k++)
		evq_append(q, evq_bucket_of(q, b->v[k].time), &b->v[k]);
	if (b->cap > EVQ_KEEP) {
		/* a burst made it big: give the memory back, so the arrays
		 * of all buckets together stay near the events pending */
		g_free(b->v);
		b->v = NULL;
		b->cap = 0;
	}
	return true;
}

static inline void evq_drop_front(struct evq *q)
{
	struct evq_bucket *b0 = &q->b[0];
	if (++b0->head == b0->len)
		b0->head = b0->len = 0;
	q->n--;
}

static inline void sim_kind_hash(struct sim_evkind *k)
{
	if (G_UNLIKELY(!k->hash))
		k->hash = sim_hash_str(k->name) | 1;
}

void sim_schedule_past(const struct sim *sim, sim_time_t when)
{
	g_error("an event scheduled at %" G_GUINT64_FORMAT " ps, before now "
		"(%" G_GUINT64_FORMAT " ps)", when, sim->now);
}

sim_handle_t sim_schedule_cancellable(struct sim *sim, sim_time_t when,
				      struct sim_evkind *kind, uint16_t comp,
				      void *obj, uint64_t arg)
{
	struct evq *q = &sim->q;
	g_assert(when >= sim->now);
	if (!q->nfree) {
		uint32_t old = q->nslots;
		q->nslots = old ? 2 * old : 64;
		q->gen = g_renew(uint32_t, q->gen, q->nslots);
		q->free_slots = g_renew(uint32_t, q->free_slots, q->nslots);
		for (uint32_t s = old; s < q->nslots; s++) {
			q->gen[s] = 1;
			q->free_slots[q->nfree++] = q->nslots - 1 - (s - old);
		}
	}
	uint32_t slot = q->free_slots[--q->nfree];
	struct sim_event e = {
		.time = when, .kind = kind, .obj = obj, .arg = arg,
		.slot = slot, .comp = comp,
	};
	evq_push(q, &e);
	return ((uint64_t)q->gen[slot] << 32) | slot;
}

/* The slot's entry left the queue: next odd generation, slot reusable. */
static inline void evq_release_slot(struct evq *q, uint32_t slot)
{
	q->gen[slot] = (q->gen[slot] + 1) | 1;
	q->free_slots[q->nfree++] = slot;
}

bool sim_pending(const struct sim *sim, sim_handle_t h)
{
	uint32_t slot = (uint32_t)h, gen = (uint32_t)(h >> 32);
	return h && slot < sim->q.nslots && sim->q.gen[slot] == gen;
}

bool sim_cancel(struct sim *sim, sim_handle_t h)
{
	if (!sim_pending(sim, h))
		return false;
	/* the entry stays in the queue and is skipped: its gen is even */
	sim->q.gen[(uint32_t)h]++;
	return true;
}

void sim_stop(struct sim *sim)
{
	sim->stopped = true;
}

static inline uint64_t fp_mix(uint64_t h, uint64_t x)
{
	h ^= x;
	h *= 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 29);
}

uint64_t sim_run_until(struct sim *sim, sim_time_t until)
{
	struct evq *q = &sim->q;
	uint64_t fired = 0;
	sim->stopped = false;
	while (q->n && !sim->stopped && !sim->interrupted) {
		/* bucket 0 holds the keys == q->last */
		if (q->b[0].len ? q->last > until : !evq_refill(q, until))
			break;
		struct sim_event e = q->b[0].v[q->b[0].head];
		evq_drop_front(q);
		if (e.slot != SIM_NOSLOT) {
			bool cancelled = !(q->gen[e.slot] & 1);
			evq_release_slot(q, e.slot);
			if (cancelled)
				continue;
		}
		sim->now = e.time;
		sim_kind_hash(e.kind);
		sim->fingerprint = fp_mix(fp_mix(sim->fingerprint, e.time),
					  e.kind->hash ^ sim->comps[e.comp].hash);
		e.kind->fn(sim, e.obj, e.arg);
		fired++;
		if (G_UNLIKELY((++sim->events & (SIM_TICK_EVENTS - 1)) == 0) &&
		    sim->tick)
			sim->tick(sim, sim->tick_ctx);
	}
	if (!sim->stopped && !sim->interrupted && until != SIM_TIME_MAX &&
	    sim->now < until)
		sim->now = until;
	/*
	 * Skipped cancelled entries may have left q->last above now; with the
	 * queue empty any key is a valid q->last, and the next event may be
	 * scheduled as early as now.
	 */
	if (!q->n)
		q->last = sim->now;
	return fired;
}
