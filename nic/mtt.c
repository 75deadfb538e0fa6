/*
 * nic/mtt.c - the MTT radix tree (see mtt.h for the representation).
 */
#include "nic/mtt.h"

#include <glib.h>

void mtt_init(struct mtt *m)
{
	m->root = NULL;
	m->height = 0;
	m->nchunks = m->ndirs = 0;
}

static void node_free(void *n, unsigned h)
{
	if (!n)
		return;
	if (h)
		for (unsigned i = 0; i < MTT_CHUNK; i++)
			node_free(((struct mtt_dir *)n)->slot[i], h - 1);
	g_free(n);
}

void mtt_destroy(struct mtt *m)
{
	node_free(m->root, m->height);
	mtt_init(m);
}

void mtt_set(struct mtt *m, uint64_t pg, uint64_t entry)
{
	if (!m->root) {
		if (!entry)
			return;
		m->height = 0;
	}
	/* grow: the old root becomes child 0 of a new one */
	while (pg >> (MTT_CHUNK_SHIFT * (m->height + 1))) {
		if (!entry)
			return; /* nothing stored that far up */
		if (m->root) {
			struct mtt_dir *d = g_new0(struct mtt_dir, 1);
			d->slot[0] = m->root;
			m->root = d;
			m->ndirs++;
		}
		m->height++;
	}
	void **pp = &m->root;
	for (unsigned h = m->height; h; h--) {
		if (!*pp) {
			if (!entry)
				return;
			*pp = g_new0(struct mtt_dir, 1);
			m->ndirs++;
		}
		pp = &((struct mtt_dir *)*pp)
			      ->slot[(pg >> (MTT_CHUNK_SHIFT * h)) &
				     (MTT_CHUNK - 1)];
	}
	if (!*pp) {
		if (!entry)
			return;
		*pp = g_new0(uint64_t, MTT_CHUNK);
		m->nchunks++;
	}
	((uint64_t *)*pp)[pg & (MTT_CHUNK - 1)] = entry;
}

/* The leaf of chunk @ci, or NULL. */
static uint64_t *chunk_of(const struct mtt *m, uint64_t ci)
{
	unsigned h = m->height;
	if (ci >> (MTT_CHUNK_SHIFT * h))
		return NULL;
	void *n = m->root;
	for (; n && h; h--)
		n = ((struct mtt_dir *)n)
			    ->slot[(ci >> (MTT_CHUNK_SHIFT * (h - 1))) &
				   (MTT_CHUNK - 1)];
	return n;
}

/* The first chunk index >= @ci with a leaf below @n (a node at height
 * @h whose first chunk is @base), or UINT64_MAX. */
static uint64_t next_in(const void *n, unsigned h, uint64_t base, uint64_t ci)
{
	if (!n)
		return UINT64_MAX;
	if (!h)
		return ci <= base ? base : UINT64_MAX;
	uint64_t span = 1ULL << (MTT_CHUNK_SHIFT * (h - 1)); /* chunks */
	unsigned i = ci > base ? (unsigned)((ci - base) >> (MTT_CHUNK_SHIFT *
							    (h - 1))) : 0;
	for (; i < MTT_CHUNK; i++) {
		uint64_t b = base + i * span;
		uint64_t r = next_in(((const struct mtt_dir *)n)->slot[i],
				     h - 1, b, ci > b ? ci : b);
		if (r != UINT64_MAX)
			return r;
	}
	return UINT64_MAX;
}

const uint64_t *mtt_chunk_next(const struct mtt *m, uint64_t *ci)
{
	if (*ci >> (MTT_CHUNK_SHIFT * m->height))
		return NULL;
	uint64_t c = next_in(m->root, m->height, 0, *ci);
	if (c == UINT64_MAX)
		return NULL;
	*ci = c;
	return chunk_of(m, c);
}

uint64_t mtt_zap(struct mtt *m, uint64_t first, uint64_t last)
{
	uint64_t ci = first >> MTT_CHUNK_SHIFT, lc = last >> MTT_CHUNK_SHIFT;
	uint64_t n = 0;
	const uint64_t *cc;
	while (ci <= lc && (cc = mtt_chunk_next(m, &ci)) && ci <= lc) {
		uint64_t *c = (uint64_t *)cc;
		uint64_t lo = ci == first >> MTT_CHUNK_SHIFT ?
				      first & (MTT_CHUNK - 1) : 0;
		uint64_t hi = ci == lc ? last & (MTT_CHUNK - 1) :
					 MTT_CHUNK - 1;
		for (uint64_t i = lo; i <= hi; i++) {
			n += (c[i] & MTT_VALID) != 0;
			c[i] &= ~(uint64_t)(MTT_VALID | MTT_WRITE | MTT_SUSP);
		}
		ci++;
	}
	return n;
}

uint64_t mtt_bytes(const struct mtt *m)
{
	return m->nchunks * MTT_CHUNK * sizeof(uint64_t) +
	       m->ndirs * sizeof(struct mtt_dir);
}
