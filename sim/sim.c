/*
 * sim/sim.c - event queue (radix heap and bottom, see sim.h), components, run loop and
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
	for (unsigned i = 0; i < EVQ_NBUCKETS; i++)
		sim->q.b[i].min = SIM_TIME_MAX;
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
	for (unsigned i = 0; i < sim->q.nspare; i++)
		g_free(sim->q.spare[i]);
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

/* ---- radix heap and bottom ---- */

/* Entries a bucket keeps room for once emptied. */
#define EVQ_KEEP 256
/* A bucket of levels 1-2 becomes the bottom by insertion sort up to
 * EVQ_ISORT entries, by a counting sort on its next digit up to
 * EVQ_CSORT1 entries at level 1 (one 256 ps span: few keys land in it
 * later) and EVQ_CSORT2 at level 2 (64 ns), when no digit value holds
 * more than EVQ_GROUP of them; larger ones are redistributed. */
#define EVQ_ISORT 12
#define EVQ_CSORT1 4096
#define EVQ_CSORT2 1024
#define EVQ_GROUP 24

/* Make room in @b: double it, into a spare array when one is big enough
 * (a bucket that grows past EVQ_KEEP usually grows as big as the last one
 * did, and reusing that memory spares a realloc's copies and the page
 * faults of fresh memory). */
void evq_grow(struct evq *q, struct evq_bucket *b)
{
	uint32_t cap = b->cap ? 2 * b->cap : 64;
	if (cap > EVQ_KEEP && q->nspare &&
	    q->spare_cap[q->nspare - 1] >= cap) {
		q->nspare--;
		struct sim_event *v = q->spare[q->nspare];
		memcpy(v, b->v, b->len * sizeof(*v));
		g_free(b->v);
		b->v = v;
		b->cap = q->spare_cap[q->nspare];
		return;
	}
	b->cap = cap;
	b->v = g_renew(struct sim_event, b->v, b->cap);
}

/* Bucket @b was emptied: an array a burst made big goes to the spares (at
 * most EVQ_SPARES, none bigger than half the events pending, so all the
 * arrays together stay near the events pending) or back to malloc. */
static void evq_shrink(struct evq *q, struct evq_bucket *b)
{
	if (b->cap <= EVQ_KEEP)
		return;
	if (q->nspare < EVQ_SPARES && b->cap <= q->n / 2) {
		/* sorted by capacity, the largest last */
		unsigned i = q->nspare++;
		while (i && q->spare_cap[i - 1] > b->cap) {
			q->spare[i] = q->spare[i - 1];
			q->spare_cap[i] = q->spare_cap[i - 1];
			i--;
		}
		q->spare[i] = b->v;
		q->spare_cap[i] = b->cap;
	} else {
		g_free(b->v);
	}
	b->v = NULL;
	b->cap = 0;
}

/* Room at the bottom's tail: slide it to the front when popped entries
 * free at least half of it, grow it otherwise. */
void evq_bottom_room(struct evq *q)
{
	struct evq_bucket *b0 = &q->b[0];
	if (b0->head && b0->head >= b0->len / 2) {
		memmove(b0->v, b0->v + b0->head,
			(b0->len - b0->head) * sizeof(*b0->v));
		b0->len -= b0->head;
		b0->head = 0;
	} else {
		evq_grow(q, b0);
	}
}

/* @e goes into the bottom before its tail (its time is below the
 * tail's): after every entry of the same or an earlier time. */
void evq_insert_bottom(struct evq *q, const struct sim_event *e)
{
	struct evq_bucket *b0 = &q->b[0];
	if (b0->len == b0->cap)
		evq_bottom_room(q);
	uint32_t lo = b0->head, hi = b0->len - 1; /* v[hi].time > e->time */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (b0->v[mid].time > e->time)
			hi = mid;
		else
			lo = mid + 1;
	}
	memmove(b0->v + lo + 1, b0->v + lo, (b0->len - lo) * sizeof(*b0->v));
	b0->v[lo] = *e;
	b0->len++;
}

/* Stable insertion sort by time. */
static void evq_isort(struct sim_event *v, uint32_t n)
{
	for (uint32_t i = 1; i < n; i++) {
		if (v[i].time >= v[i - 1].time)
			continue;
		struct sim_event t = v[i];
		uint32_t k = i;
		do {
			v[k] = v[k - 1];
			k--;
		} while (k && v[k - 1].time > t.time);
		v[k] = t;
	}
}

/* Bucket @b (level @lvl, 1 or 2) into the empty bottom, sorted: a
 * counting sort on digit lvl - 1, then, at level 2, an insertion pass
 * for digit 0 (a digit value's run is short, so it seldom moves
 * anything).  false (nothing moved) when one digit value holds more than
 * EVQ_GROUP entries. */
static bool evq_csort(struct evq *q, struct evq_bucket *b, unsigned lvl)
{
	uint32_t len = b->len;
	unsigned sh = (lvl - 1) * EVQ_DIGIT_BITS;
	uint32_t *cnt = q->cnt, big = 0;
	sim_time_t max = 0;
	memset(cnt, 0, sizeof(q->cnt));
	for (uint32_t k = 0; k < len; k++) {
		sim_time_t t = b->v[k].time;
		uint32_t c = ++cnt[(t >> sh) & (EVQ_RADIX - 1)];
		big = c > big ? c : big;
		max = t > max ? t : max;
	}
	if (big > EVQ_GROUP)
		return false;
	q->bot_max = max;
	uint32_t at = 0;
	for (unsigned d = 0; d < EVQ_RADIX; d++) {
		uint32_t c = cnt[d];
		cnt[d] = at;
		at += c;
	}
	struct evq_bucket *b0 = &q->b[0];
	while (b0->cap < len)
		evq_grow(q, b0);
	for (uint32_t k = 0; k < len; k++)
		b0->v[cnt[(b->v[k].time >> sh) & (EVQ_RADIX - 1)]++] = b->v[k];
	b0->head = 0;
	b0->len = len;
	if (sh)
		evq_isort(b0->v, len);
	return true;
}

/*
 * Make the bottom non-empty (q->n > 0 required) if the least key is
 * <= @until; otherwise leave the queue untouched and return false.
 * Peeking must not move q->last past the least key: once sim_run_until()
 * returns with now = until, events may still be scheduled anywhere in
 * [until, least key), and each must find its place.
 */
static bool evq_refill(struct evq *q, sim_time_t until)
{
	struct evq_bucket *b0 = &q->b[0]; /* empty, head = len = 0 */
	unsigned w = (unsigned)__builtin_ctzll(q->summary);
	unsigned j = w * 64 + (unsigned)__builtin_ctzll(q->mask[w]);
	unsigned lvl = j / EVQ_RADIX;
	struct evq_bucket *b = &q->b[j + 1];
	uint32_t len = b->len;
	sim_time_t min = b->min, max = min;
	if (min > until)
		return false;
	q->mask[w] &= ~(1ULL << (j % 64));
	if (!q->mask[w])
		q->summary &= ~(1ULL << w);
	/* buckets above keep their places: min shares their digits */
	q->last = min;
	b->min = SIM_TIME_MAX;
	if (len == 1) {
		/* the common case in a model's traffic: copied, so the
		 * bottom's array stays the one in cache */
		if (__builtin_expect(!b0->cap, 0))
			evq_grow(q, b0);
		b0->v[0] = b->v[0];
		b0->len = 1;
		b->len = 0;
		q->bot_max = min;
		return true;
	}
	if (lvl == 0 || (lvl <= 2 && len <= EVQ_ISORT)) {
		/* one key (a level-0 bucket holds one), or a few: the bucket
		 * becomes the bottom whole (the bottom is empty), sorted */
		for (uint32_t k = 0; lvl && k < len; k++)
			max = b->v[k].time > max ? b->v[k].time : max;
		q->bot_max = max;
		struct evq_bucket t = *b0;
		*b0 = *b;
		*b = t;
		b->len = b->head = 0;
		b->min = SIM_TIME_MAX;
		evq_shrink(q, b);
		if (min != max)
			evq_isort(b0->v, b0->len);
		return true;
	}
	if (lvl <= 2 && len <= (lvl == 1 ? EVQ_CSORT1 : EVQ_CSORT2) &&
	    evq_csort(q, b, lvl)) {
		b->len = 0;
	} else {
		/* into lower buckets relative to min; min's own entries to
		 * the bottom, in order */
		q->bot_max = min;
		b->len = 0;
		b0->len = b0->head = 0;
		/* every entry goes below j + 1, so b->v is not appended to */
		for (uint32_t k = 0; k < len; k++) {
			struct sim_event *e = &b->v[k];
			if (e->time == min) {
				if (b0->len == b0->cap)
					evq_grow(q, b0);
				b0->v[b0->len++] = *e;
			} else {
				evq_append(q, evq_bucket_of(q, e->time), e);
			}
		}
	}
	evq_shrink(q, b);
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
	while (!sim->stopped && !sim->interrupted) {
		struct evq_bucket *b0 = &q->b[0];
		if (b0->head == b0->len) {
			if (!q->n || !evq_refill(q, until))
				break;
		} else if (b0->v[b0->head].time > until) {
			break;
		}
		struct sim_event e = b0->v[b0->head];
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
		q->last = q->bot_max = sim->now;
	return fired;
}
