/*
 * nic/txsched.c - round robin over QPs with prepared packets (see
 * txsched.h for the policy and the representation).
 */
#include "nic/txsched.h"

#include <glib.h>

enum { TXS_IN_NONE, TXS_IN_WAIT, TXS_IN_READY };

void txs_init(struct txsched *s)
{
	*s = (struct txsched){ 0 };
}

void txs_destroy(struct txsched *s)
{
	g_free(s->m);
	g_free(s->wait.v);
	g_free(s->ready.v);
	g_free(s->zombies);
	txs_init(s);
}

uint32_t txs_add(struct txsched *s)
{
	if (s->nm == s->capm) {
		s->capm = s->capm ? 2 * s->capm : 16;
		s->m = g_renew(struct txs_member, s->m, s->capm);
	}
	s->m[s->nm] = (struct txs_member){ .ready = SIM_TIME_MAX };
	return s->nm++;
}

/* ---- indexed binary heaps: the wait heap by (ready, id), the ready heap
 * by stamp ---- */

static inline bool before(const struct txsched *s, const struct txs_heap *h,
			  uint32_t a, uint32_t b)
{
	const struct txs_member *x = &s->m[a], *y = &s->m[b];
	if (h == &s->ready)
		return x->stamp < y->stamp;
	return x->ready < y->ready || (x->ready == y->ready && a < b);
}

static inline void heap_put(struct txsched *s, struct txs_heap *h,
			    uint32_t i, uint32_t id)
{
	h->v[i] = id;
	s->m[id].pos = i;
}

static void sift_up(struct txsched *s, struct txs_heap *h, uint32_t i)
{
	uint32_t id = h->v[i];
	while (i > 0) {
		uint32_t parent = (i - 1) / 2;
		if (!before(s, h, id, h->v[parent]))
			break;
		heap_put(s, h, i, h->v[parent]);
		i = parent;
	}
	heap_put(s, h, i, id);
}

static void sift_down(struct txsched *s, struct txs_heap *h, uint32_t i)
{
	uint32_t id = h->v[i];
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;
		uint32_t best = id;
		if (l < h->len && before(s, h, h->v[l], best)) {
			m = l;
			best = h->v[l];
		}
		if (r < h->len && before(s, h, h->v[r], best))
			m = r;
		if (m == i)
			break;
		heap_put(s, h, i, h->v[m]);
		i = m;
	}
	heap_put(s, h, i, id);
}

static void heap_insert(struct txsched *s, struct txs_heap *h, uint32_t id)
{
	if (h->len == h->cap) {
		h->cap = h->cap ? 2 * h->cap : 16;
		h->v = g_renew(uint32_t, h->v, h->cap);
	}
	h->v[h->len] = id;
	s->m[id].pos = h->len++;
	sift_up(s, h, h->len - 1);
	s->m[id].heap = h == &s->ready ? TXS_IN_READY : TXS_IN_WAIT;
}

static void heap_remove(struct txsched *s, struct txs_heap *h, uint32_t id)
{
	uint32_t i = s->m[id].pos;
	g_assert(i < h->len && h->v[i] == id);
	s->m[id].heap = TXS_IN_NONE;
	uint32_t last = h->v[--h->len];
	if (i == h->len)
		return;
	heap_put(s, h, i, last);
	if (i > 0 && before(s, h, last, h->v[(i - 1) / 2]))
		sift_up(s, h, i);
	else
		sift_down(s, h, i);
}

static void leave_heaps(struct txsched *s, uint32_t id)
{
	struct txs_member *m = &s->m[id];
	if (m->heap == TXS_IN_WAIT)
		heap_remove(s, &s->wait, id);
	else if (m->heap == TXS_IN_READY)
		heap_remove(s, &s->ready, id);
}

/* ---- membership ---- */

/* @id is in the ring with nothing to send: it leaves at the next
 * decision unless it gets packets first. */
static void zombie_add(struct txsched *s, uint32_t id)
{
	struct txs_member *m = &s->m[id];
	if (m->zombie)
		return;
	if (s->nzombies == s->capzombies) {
		s->capzombies = s->capzombies ? 2 * s->capzombies : 16;
		s->zombies = g_renew(uint32_t, s->zombies, s->capzombies);
	}
	s->zombies[s->nzombies++] = id;
	m->zombie = true;
}

/* Only members of the ring are in a heap: a QP's packets count from
 * its activation, as they did on the scanned list. */
void txs_head(struct txsched *s, uint32_t id, sim_time_t ready)
{
	g_assert(id < s->nm);
	struct txs_member *m = &s->m[id];
	if (ready != SIM_TIME_MAX) {
		/* the common cases without leaving a heap: a ready member
		 * whose next packet was ready by the last decision (that
		 * decision would have found it ready), and a waiting one
		 * whose time changes */
		if (m->heap == TXS_IN_READY && ready <= s->last_pick) {
			m->ready = ready;
			return;
		}
		if (m->heap == TXS_IN_WAIT) {
			sim_time_t old = m->ready;
			m->ready = ready;
			if (ready < old)
				sift_up(s, &s->wait, m->pos);
			else
				sift_down(s, &s->wait, m->pos);
			return;
		}
	}
	leave_heaps(s, id);
	m->ready = ready;
	if (!m->active)
		return;
	if (ready != SIM_TIME_MAX)
		heap_insert(s, &s->wait, id);
	else
		zombie_add(s, id);
}

void txs_activate(struct txsched *s, uint32_t id)
{
	struct txs_member *m = &s->m[id];
	if (m->active)
		return;
	m->active = true;
	m->stamp = ++s->clock;
	if (m->ready != SIM_TIME_MAX)
		heap_insert(s, &s->wait, id);
	else
		zombie_add(s, id);
}

uint32_t txs_pick(struct txsched *s, sim_time_t now)
{
	s->last_pick = now;
	/* the members whose first packet became ready join the ready heap */
	while (s->wait.len && s->m[s->wait.v[0]].ready <= now) {
		uint32_t id = s->wait.v[0];
		heap_remove(s, &s->wait, id);
		heap_insert(s, &s->ready, id);
	}
	return s->ready.len ? s->ready.v[0] : TXS_NONE;
}

void txs_sent(struct txsched *s, uint32_t id)
{
	struct txs_member *m = &s->m[id];
	g_assert(m->active);
	m->stamp = ++s->clock;
	if (m->heap == TXS_IN_READY && s->ready.len > 1)
		sift_down(s, &s->ready, m->pos);
}

void txs_unlink_empty(struct txsched *s)
{
	for (uint32_t i = 0; i < s->nzombies; i++) {
		struct txs_member *m = &s->m[s->zombies[i]];
		m->zombie = false;
		if (m->ready == SIM_TIME_MAX)
			m->active = false;
	}
	s->nzombies = 0;
}

sim_time_t txs_earliest(struct txsched *s)
{
	if (s->ready.len)
		return 0;
	return s->wait.len ? s->m[s->wait.v[0]].ready : SIM_TIME_MAX;
}
