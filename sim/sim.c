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
	for (unsigned i = 0; i < EVQ_NBUCKETS; i++) {
		sim->q.b[i].min = SIM_TIME_MAX;
		sim->q.b[i].fill = EVQ_CHUNK; /* no chunk yet */
	}
	sim->fingerprint = 0x6f647073696d0001ULL; /* "odpsim" v1 */
	sim->stats = stats_new();
	return sim;
}

void sim_free(struct sim *sim)
{
	if (!sim)
		return;
	for (uint32_t i = 0; i < sim->q.nslabs; i++)
		g_free(sim->q.slabs[i]);
	g_free(sim->q.slabs);
	g_free(sim->q.bot.v);
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

/* A bucket of levels 1-2 becomes the bottom by insertion sort up to
 * EVQ_ISORT entries, by a counting sort on its next digit up to
 * EVQ_CSORT1 entries at level 1 (one 256 ps span: few keys land in it
 * later) and EVQ_CSORT2 at level 2 (64 ns), when no digit value holds
 * more than EVQ_GROUP of them; larger ones are redistributed. */
#define EVQ_ISORT 12
#define EVQ_CSORT1 4096
#define EVQ_CSORT2 1024
#define EVQ_GROUP 24
/* Chunks the pool allocates at a time. */
#define EVQ_SLAB 32
/* A bottom array bigger than this (a burst of equal times) is given back
 * once it empties. */
#define EVQ_BOTTOM_KEEP 65536

/* A chunk from the pool (the one freed last), linked at @b's end. */
void evq_new_chunk(struct evq *q, struct evq_bucket *b)
{
	if (!q->free_chunks) {
		struct evq_chunk *s = g_new(struct evq_chunk, EVQ_SLAB);
		if (q->nslabs == q->capslabs) {
			q->capslabs = q->capslabs ? 2 * q->capslabs : 16;
			q->slabs = g_renew(void *, q->slabs, q->capslabs);
		}
		q->slabs[q->nslabs++] = s;
		for (unsigned i = 0; i < EVQ_SLAB; i++) {
			s[i].next = q->free_chunks;
			q->free_chunks = &s[i];
		}
	}
	struct evq_chunk *c = q->free_chunks;
	q->free_chunks = c->next;
	c->next = NULL;
	if (b->last)
		b->last->next = c;
	else
		b->first = c;
	b->last = c;
	b->fill = 0;
}

static inline void evq_free_chunk(struct evq *q, struct evq_chunk *c)
{
	c->next = q->free_chunks;
	q->free_chunks = c;
}

/* Entries in chunk @c of bucket @b. */
static inline uint32_t evq_chunk_len(const struct evq_bucket *b,
				     const struct evq_chunk *c)
{
	return c == b->last ? b->fill : EVQ_CHUNK;
}

/* @b holds nothing but its first chunk, empty (the others were freed). */
static void evq_bucket_reset(struct evq_bucket *b)
{
	b->first->next = NULL;
	b->last = b->first;
	b->fill = 0;
	b->len = 0;
	b->min = SIM_TIME_MAX;
}

/* @b was emptied (its entries read): it keeps its first chunk. */
static void evq_bucket_clear(struct evq *q, struct evq_bucket *b)
{
	struct evq_chunk *c = b->first->next;
	while (c) {
		struct evq_chunk *n = c->next;
		evq_free_chunk(q, c);
		c = n;
	}
	evq_bucket_reset(b);
}

/* Room at the bottom's tail: slide it to the front when popped entries
 * free at least half of it, grow it otherwise. */
void evq_bottom_room(struct evq *q)
{
	struct evq_bottom *bt = &q->bot;
	if (bt->head && bt->head >= bt->len / 2) {
		memmove(bt->v, bt->v + bt->head,
			(bt->len - bt->head) * sizeof(*bt->v));
		bt->len -= bt->head;
		bt->head = 0;
	} else {
		bt->cap = bt->cap ? 2 * bt->cap : 256;
		bt->v = g_renew(struct sim_event, bt->v, bt->cap);
	}
}

/* The empty bottom holds at least @n entries. */
static void evq_bottom_reserve(struct evq *q, uint32_t n)
{
	struct evq_bottom *bt = &q->bot;
	if (bt->cap > EVQ_BOTTOM_KEEP && n <= EVQ_BOTTOM_KEEP) {
		g_free(bt->v);
		bt->v = NULL;
		bt->cap = 0;
	}
	while (bt->cap < n)
		evq_bottom_room(q);
}

/* @e goes into the bottom before its tail (its time is below the
 * tail's): after every entry of the same or an earlier time. */
void evq_insert_bottom(struct evq *q, const struct sim_event *e)
{
	struct evq_bottom *bt = &q->bot;
	if (bt->len == bt->cap)
		evq_bottom_room(q);
	uint32_t lo = bt->head, hi = bt->len - 1; /* v[hi].time > e->time */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (bt->v[mid].time > e->time)
			hi = mid;
		else
			lo = mid + 1;
	}
	memmove(bt->v + lo + 1, bt->v + lo, (bt->len - lo) * sizeof(*bt->v));
	bt->v[lo] = *e;
	bt->len++;
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
	for (const struct evq_chunk *c = b->first; c; c = c->next) {
		uint32_t n = evq_chunk_len(b, c);
		for (uint32_t k = 0; k < n; k++) {
			sim_time_t t = c->v[k].time;
			uint32_t m = ++cnt[(t >> sh) & (EVQ_RADIX - 1)];
			big = m > big ? m : big;
			max = t > max ? t : max;
		}
	}
	if (big > EVQ_GROUP)
		return false;
	q->bot_max = max;
	uint32_t at = 0;
	for (unsigned d = 0; d < EVQ_RADIX; d++) {
		uint32_t m = cnt[d];
		cnt[d] = at;
		at += m;
	}
	struct evq_bottom *bt = &q->bot;
	evq_bottom_reserve(q, len);
	for (const struct evq_chunk *c = b->first; c; c = c->next) {
		uint32_t n = evq_chunk_len(b, c);
		for (uint32_t k = 0; k < n; k++)
			bt->v[cnt[(c->v[k].time >> sh) & (EVQ_RADIX - 1)]++] =
				c->v[k];
	}
	bt->head = 0;
	bt->len = len;
	if (sh)
		evq_isort(bt->v, len);
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
	struct evq_bottom *bt = &q->bot; /* empty, head = len = 0 */
	unsigned w = (unsigned)__builtin_ctzll(q->summary);
	unsigned j = w * 64 + (unsigned)__builtin_ctzll(q->mask[w]);
	unsigned lvl = j / EVQ_RADIX;
	struct evq_bucket *b = &q->b[j];
	uint32_t len = b->len;
	sim_time_t min = b->min;
	if (min > until)
		return false;
	q->mask[w] &= ~(1ULL << (j % 64));
	if (!q->mask[w])
		q->summary &= ~(1ULL << w);
	/* buckets above keep their places: min shares their digits */
	q->last = min;
	if (len == 1) {
		/* the common case in a model's traffic */
		if (__builtin_expect(!bt->cap, 0))
			evq_bottom_room(q);
		bt->v[0] = b->first->v[0];
		bt->len = 1;
		b->len = 0;
		b->fill = 0;
		b->min = SIM_TIME_MAX;
		q->bot_max = min;
		return true;
	}
	if (lvl == 0 || (lvl <= 2 && len <= EVQ_ISORT)) {
		/* one key (a level-0 bucket holds one), or a few: copied,
		 * then sorted */
		evq_bottom_reserve(q, len);
		sim_time_t max = min;
		for (const struct evq_chunk *c = b->first; c; c = c->next) {
			uint32_t n = evq_chunk_len(b, c);
			for (uint32_t k = 0; k < n; k++) {
				bt->v[bt->len++] = c->v[k];
				max = c->v[k].time > max ? c->v[k].time : max;
			}
		}
		q->bot_max = max;
		if (min != max)
			evq_isort(bt->v, bt->len);
		evq_bucket_clear(q, b);
		return true;
	}
	if (lvl <= 2 && len <= (lvl == 1 ? EVQ_CSORT1 : EVQ_CSORT2) &&
	    evq_csort(q, b, lvl)) {
		evq_bucket_clear(q, b);
		return true;
	}
	/* into lower buckets relative to min; min's own entries to the
	 * bottom, in order.  Every entry goes below j, so b is not appended
	 * to; each chunk but the first goes back to the pool once read, for
	 * the appends to reuse while it is in cache. */
	q->bot_max = min;
	struct evq_chunk *c = b->first;
	while (c) {
		uint32_t n = evq_chunk_len(b, c);
		for (uint32_t k = 0; k < n; k++) {
			const struct sim_event *e = &c->v[k];
			if (e->time == min) {
				if (bt->len == bt->cap)
					evq_bottom_room(q);
				bt->v[bt->len++] = *e;
			} else {
				evq_append(q, evq_bucket_of(q, e->time), e);
			}
		}
		struct evq_chunk *next = c->next;
		if (c != b->first)
			evq_free_chunk(q, c);
		c = next;
	}
	evq_bucket_reset(b);
	return true;
}

static inline void evq_drop_front(struct evq *q)
{
	struct evq_bottom *bt = &q->bot;
	if (++bt->head == bt->len)
		bt->head = bt->len = 0;
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
		struct evq_bottom *bt = &q->bot;
		if (bt->head == bt->len) {
			if (!q->n || !evq_refill(q, until))
				break;
		} else if (bt->v[bt->head].time > until) {
			break;
		}
		struct sim_event e = bt->v[bt->head];
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
