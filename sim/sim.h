/*
 * sim/sim.h - the simulation kernel: clock, event queue, components,
 * fingerprint.
 *
 * Representation: pending events live in a radix heap keyed on their time
 * (Ahuja, Mehlhorn, Orlin & Tarjan, 1990) with 8-bit digits, in front of
 * which sits a sorted run, the bottom.  Discrete-event keys are monotone
 * (nothing is scheduled before "now"), which is the one precondition of a
 * radix heap.  The bottom holds every key <= bot_max, in (time, order of
 * scheduling) order, popped from its head; a key above bot_max whose time
 * first differs from the heap's base key (last <= bot_max) in digit L
 * (bits 8L..8L+7) goes to bucket 256 L + (its digit L), and bucket order
 * is key order.  Insert is an append (to a bucket, or to the bottom's
 * tail; a key inside the bottom's range that is not its latest is placed
 * by a binary search).  When the bottom runs dry, the lowest non-empty
 * bucket (two-level bitmap; each bucket knows its least key) becomes the
 * next bottom: copied when it holds one key or a few (then sorted by
 * insertion), sorted by a counting sort on its next digit when it spans
 * at most 64 ns (levels 1 and 2) and is not too large, and otherwise
 * redistributed stably into lower buckets, so an event moves at most
 * once per digit.  Equal times always land in the same bucket, every move
 * is stable, and the bottom places a new key after the equal ones, so
 * equal-time events fire in the order they were scheduled without storing
 * a sequence number.  Entries carry their callback and arguments inline
 * (40 bytes), so firing an event touches no other memory; buckets are
 * lists of 2 KiB chunks from a pool (below), the bottom one array, and
 * all traffic on the queue is sequential.
 *
 * Workload assumed: most events are scheduled and fired, a few (timers) are
 * cancelled.  Only events scheduled with sim_schedule_cancellable() get a
 * cancellation slot (generation-tagged, O(1) cancel, lazy removal: the entry
 * is skipped when it reaches the front).
 *
 * No model may read wall-clock time or call rand(): same scenario and seed
 * give the same fingerprint, a hash over every fired event's (time,
 * component, kind).
 */
#ifndef SIM_SIM_H
#define SIM_SIM_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/time.h"

struct sim;
struct stats;
struct trace;

typedef void (*sim_event_fn)(struct sim *sim, void *obj, uint64_t arg);

/*
 * An event kind: a static descriptor per kind of event a model schedules.
 * Its name identifies it in traces and in the run fingerprint (function
 * addresses change from build to build; names do not).
 */
struct sim_evkind {
	const char *name;
	sim_event_fn fn;
	uint64_t hash; /* FNV-1a of name, filled on first use */
};

#define SIM_EVKIND(var, kname, kfn) \
	static struct sim_evkind var = { .name = (kname), .fn = (kfn), .hash = 0 }

/* A queue entry. */
struct sim_event {
	sim_time_t time;
	struct sim_evkind *kind;
	void *obj;
	uint64_t arg;
	uint32_t slot; /* cancellation slot, or SIM_NOSLOT */
	uint16_t comp;
};

#define SIM_NOSLOT UINT32_MAX

/* Handle of a cancellable event; 0 never names an event. */
typedef uint64_t sim_handle_t;

/*
 * A bucket is a list of chunks of EVQ_CHUNK entries (2 KiB) from the
 * queue's pool: appends fill the last, a refill walks them and gives them
 * back, and the pool reuses the chunk freed last first (it is in cache).
 * Nothing is reallocated or copied as a bucket grows, and an emptied
 * bucket keeps its first chunk, so the common append never allocates.
 */
#define EVQ_CHUNK 51

struct evq_chunk {
	struct evq_chunk *next;
	struct sim_event v[EVQ_CHUNK];
};

struct evq_bucket {
	struct evq_chunk *first, *last;
	sim_time_t min;          /* least key in it; SIM_TIME_MAX when empty */
	uint32_t len;            /* entries */
	uint32_t fill;           /* entries in last; EVQ_CHUNK: no room */
};

/* The sorted run in front of the buckets, popped from head. */
struct evq_bottom {
	struct sim_event *v;
	uint32_t len, cap, head;
};

/*
 * Digit width.  Instructions per event of the hold model (callgrind,
 * tools/bench_hold, 1k / 10k / 1M pending) for 6, 7, 8, 9 bits: 281/300/
 * 385, 279/274/353, 262/298/329, 294/278/321; 8 bits also makes level 2
 * (the counting sort's largest) a 64 ns span.
 */
#define EVQ_DIGIT_BITS 8
#define EVQ_RADIX (1u << EVQ_DIGIT_BITS)
#define EVQ_LEVELS ((64 + EVQ_DIGIT_BITS - 1) / EVQ_DIGIT_BITS)
#define EVQ_NBUCKETS (EVQ_LEVELS * EVQ_RADIX)
#define EVQ_MASKW ((EVQ_NBUCKETS + 63) / 64)

struct evq {
	sim_time_t last;         /* the radix base: <= bot_max */
	sim_time_t bot_max;      /* bottom keys <= bot_max < bucket keys */
	uint64_t n;              /* entries, cancelled ones included */
	uint64_t summary;        /* bit w set: mask[w] != 0 */
	uint64_t mask[EVQ_MASKW]; /* bit j set: bucket j non-empty */
	struct evq_bottom bot;
	struct evq_bucket b[EVQ_NBUCKETS];
	struct evq_chunk *free_chunks;
	void **slabs;            /* the pool's allocations */
	uint32_t nslabs, capslabs;
	/*
	 * Per cancellation slot: odd while its event is pending (the handle
	 * carries it), even once cancelled; a slot stays taken until its
	 * entry leaves the queue, so entries need not carry the generation.
	 */
	uint32_t *gen;
	uint32_t *free_slots;
	uint32_t nslots, nfree;
	uint32_t cnt[EVQ_RADIX]; /* the counting sort's histogram */
};

struct sim_component {
	char *name;
	uint64_t hash;
};

struct sim {
	sim_time_t now;
	uint64_t events;         /* events fired */
	uint64_t fingerprint;
	bool stopped;
	struct evq q;
	struct sim_component *comps;
	uint32_t ncomps, capcomps;
	uint64_t seed;
	struct stats *stats;
	struct trace *trace;     /* NULL or a trace with no sink: tracing off */
	/* set (by a signal handler: SIGINT, SIGTERM) to stop the run before
	 * the next event; unlike stopped, it stays set */
	volatile sig_atomic_t interrupted;
	/* called every SIM_TICK_EVENTS fired events when set (progress line) */
	void (*tick)(struct sim *sim, void *ctx);
	void *tick_ctx;
};

#define SIM_TICK_EVENTS (1u << 16)

struct sim *sim_new(uint64_t seed);
void sim_free(struct sim *sim);

static inline sim_time_t sim_now(const struct sim *sim)
{
	return sim->now;
}

/* Register a component ("a.nic", "ab.wire"); returns its id. */
uint16_t sim_component_add(struct sim *sim, const char *name);
const char *sim_component_name(const struct sim *sim, uint16_t comp);

/* ---- the queue's insert, inline: every event goes through it ---- */

/* The bucket of key @t > q->bot_max (so t != q->last). */
static inline unsigned evq_bucket_of(const struct evq *q, sim_time_t t)
{
	uint64_t x = t ^ q->last;
	unsigned lvl = (63u - (unsigned)__builtin_clzll(x)) / EVQ_DIGIT_BITS;
	unsigned d = (unsigned)(t >> (lvl * EVQ_DIGIT_BITS)) & (EVQ_RADIX - 1);
	return lvl * EVQ_RADIX + d;
}

void evq_new_chunk(struct evq *q, struct evq_bucket *b);
void evq_bottom_room(struct evq *q);
void evq_insert_bottom(struct evq *q, const struct sim_event *e);

static inline void evq_append(struct evq *q, unsigned j,
			      const struct sim_event *e)
{
	struct evq_bucket *b = &q->b[j];
	if (__builtin_expect(b->fill == EVQ_CHUNK, 0))
		evq_new_chunk(q, b);
	b->last->v[b->fill++] = *e;
	b->len++;
	b->min = e->time < b->min ? e->time : b->min;
	q->mask[j / 64] |= 1ULL << (j % 64);
	q->summary |= 1ULL << (j / 64);
}

static inline void evq_push(struct evq *q, const struct sim_event *e)
{
	q->n++;
	if (__builtin_expect(e->time > q->bot_max, 1)) {
		evq_append(q, evq_bucket_of(q, e->time), e);
		return;
	}
	struct evq_bottom *bt = &q->bot;
	if (bt->len == bt->head || bt->v[bt->len - 1].time <= e->time) {
		if (__builtin_expect(bt->len == bt->cap, 0))
			evq_bottom_room(q);
		bt->v[bt->len++] = *e;
		return;
	}
	evq_insert_bottom(q, e);
}

void sim_schedule_past(const struct sim *sim, sim_time_t when);

/* Schedule @kind at absolute time @when (>= now). */
static inline void sim_schedule(struct sim *sim, sim_time_t when,
				struct sim_evkind *kind, uint16_t comp,
				void *obj, uint64_t arg)
{
	if (__builtin_expect(when < sim->now, 0))
		sim_schedule_past(sim, when); /* aborts */
	struct sim_event e = {
		.time = when, .kind = kind, .obj = obj, .arg = arg,
		.slot = SIM_NOSLOT, .comp = comp,
	};
	evq_push(&sim->q, &e);
}

static inline void sim_schedule_in(struct sim *sim, sim_time_t delay,
				   struct sim_evkind *kind, uint16_t comp,
				   void *obj, uint64_t arg)
{
	sim_schedule(sim, sim->now + delay, kind, comp, obj, arg);
}

sim_handle_t sim_schedule_cancellable(struct sim *sim, sim_time_t when,
				      struct sim_evkind *kind, uint16_t comp,
				      void *obj, uint64_t arg);
/* Cancel; false when the event already fired or was cancelled. O(1). */
bool sim_cancel(struct sim *sim, sim_handle_t h);
/* true while @h names an event that is still pending */
bool sim_pending(const struct sim *sim, sim_handle_t h);

/* Entries in the queue (cancelled ones not yet skipped included). */
static inline uint64_t sim_queue_len(const struct sim *sim)
{
	return sim->q.n;
}

/*
 * Run until the queue is empty, sim_stop() is called, or the next event is
 * later than @until (then now = @until).  Returns the number of events fired.
 */
uint64_t sim_run_until(struct sim *sim, sim_time_t until);
static inline uint64_t sim_run(struct sim *sim)
{
	return sim_run_until(sim, SIM_TIME_MAX);
}
void sim_stop(struct sim *sim);

/* 64-bit FNV-1a; used for names in fingerprints and RNG stream seeds. */
uint64_t sim_hash_str(const char *s);

#endif
