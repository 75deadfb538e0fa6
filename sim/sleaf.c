/*
 * sim/sleaf.c - sparse-then-dense radix table leaves (see sleaf.h).
 */
#include "sim/sleaf.h"

#include <glib.h>
#include <string.h>

static size_t sparse_bytes(unsigned cap)
{
	return sizeof(struct sleaf) + cap * (sizeof(uint64_t) + sizeof(uint16_t));
}

size_t sleaf_bytes(const struct sleaf *l)
{
	return l->cap == SLEAF_DENSE
		       ? sizeof(struct sleaf) + SLEAF_SLOTS * sizeof(uint64_t)
		       : sparse_bytes(l->cap);
}

struct sleaf *sleaf_new(uint64_t *bytes)
{
	struct sleaf *l = g_malloc(sparse_bytes(2));
	l->n = 0;
	l->cap = 2;
	l->pad = 0;
	*bytes += sparse_bytes(2);
	return l;
}

void sleaf_free(struct sleaf *l, uint64_t *bytes)
{
	if (!l)
		return;
	*bytes -= sleaf_bytes(l);
	g_free(l);
}

/* The next capacity: 2, 4, 6, 8, then +50%, rounded to even, to 64. */
static unsigned grow(unsigned cap)
{
	unsigned c = cap < 8 ? cap + 2 : cap + (cap >> 1);
	c = (c + 1) & ~1u;
	return c > SLEAF_SPARSE_MAX ? SLEAF_SPARSE_MAX : c;
}

bool sleaf_set(struct sleaf **lp, unsigned i, uint64_t v, uint64_t *bytes)
{
	g_assert(v != 0 && i < SLEAF_SLOTS);
	struct sleaf *l = *lp;
	if (l->cap == SLEAF_DENSE) {
		bool was = l->v[i] == 0;
		l->n += was;
		l->v[i] = v;
		return was;
	}
	const uint16_t *s = sleaf_slots(l);
	int lo = sleaf_lower(l, i);
	if (lo < (int)l->n && s[lo] == i) {
		l->v[lo] = v;
		return false;
	}
	if (l->n == SLEAF_SPARSE_MAX) {
		/* past the sparse limit: a plain table page */
		struct sleaf *d = g_malloc0(sizeof(struct sleaf) +
					    SLEAF_SLOTS * sizeof(uint64_t));
		d->cap = SLEAF_DENSE;
		d->n = l->n;
		for (unsigned k = 0; k < l->n; k++)
			d->v[s[k]] = l->v[k];
		d->v[i] = v;
		d->n++;
		*bytes += sleaf_bytes(d);
		*bytes -= sleaf_bytes(l);
		g_free(l);
		*lp = d;
		return true;
	}
	if (l->n == l->cap) {
		unsigned cap = grow(l->cap);
		struct sleaf *g = g_malloc(sparse_bytes(cap));
		g->n = l->n;
		g->cap = (uint16_t)cap;
		g->pad = 0;
		memcpy(g->v, l->v, l->n * sizeof(uint64_t));
		memcpy((uint16_t *)(g->v + cap), s, l->n * sizeof(uint16_t));
		*bytes += sparse_bytes(cap);
		*bytes -= sparse_bytes(l->cap);
		g_free(l);
		*lp = l = g;
	}
	uint16_t *sl = (uint16_t *)(l->v + l->cap);
	memmove(l->v + lo + 1, l->v + lo, (l->n - (unsigned)lo) * sizeof(uint64_t));
	memmove(sl + lo + 1, sl + lo, (l->n - (unsigned)lo) * sizeof(uint16_t));
	l->v[lo] = v;
	sl[lo] = (uint16_t)i;
	l->n++;
	return true;
}

bool sleaf_clear(struct sleaf *l, unsigned i)
{
	if (l->cap == SLEAF_DENSE) {
		if (!l->v[i])
			return false;
		l->v[i] = 0;
		l->n--;
		return true;
	}
	int k = sleaf_find(l, i);
	if (k < 0)
		return false;
	uint16_t *sl = (uint16_t *)(l->v + l->cap);
	unsigned after = l->n - (unsigned)k - 1;
	memmove(l->v + k, l->v + k + 1, after * sizeof(uint64_t));
	memmove(sl + k, sl + k + 1, after * sizeof(uint16_t));
	l->n--;
	return true;
}

unsigned sleaf_next(const struct sleaf *l, unsigned i)
{
	if (l->cap == SLEAF_DENSE) {
		for (; i < SLEAF_SLOTS; i++)
			if (l->v[i])
				return i;
		return SLEAF_SLOTS;
	}
	const uint16_t *s = sleaf_slots(l);
	for (unsigned k = 0; k < l->n; k++)
		if (s[k] >= i)
			return s[k];
	return SLEAF_SLOTS;
}
