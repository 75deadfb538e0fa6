/*
 * nic/mtt.c - the MTT radix tree (see mtt.h for the representation).
 */
#include "nic/mtt.h"

#include <glib.h>

void mtt_init(struct mtt *m)
{
	m->root = NULL;
	m->height = 0;
	m->nchunks = m->ndirs = m->bytes = 0;
}

static void node_free(struct mtt *m, void *n, unsigned h)
{
	if (!n)
		return;
	if (h) {
		for (unsigned i = 0; i < MTT_CHUNK; i++)
			node_free(m, ((struct mtt_dir *)n)->slot[i], h - 1);
		g_free(n);
	} else {
		sleaf_free(n, &m->bytes);
	}
}

void mtt_destroy(struct mtt *m)
{
	node_free(m, m->root, m->height);
	mtt_init(m);
}

static struct mtt_dir *dir_new(struct mtt *m)
{
	m->ndirs++;
	m->bytes += sizeof(struct mtt_dir);
	return g_new0(struct mtt_dir, 1);
}

void mtt_set(struct mtt *m, uint64_t pg, uint64_t entry)
{
	if (!entry) {
		/* clear: find the leaf, if any */
		unsigned h = m->height;
		if (!m->root || pg >> (MTT_CHUNK_SHIFT * (h + 1)))
			return;
		void *n = m->root;
		for (; n && h; h--)
			n = ((struct mtt_dir *)n)
				    ->slot[(pg >> (MTT_CHUNK_SHIFT * h)) &
					   (MTT_CHUNK - 1)];
		if (n)
			sleaf_clear(n, (unsigned)(pg & (MTT_CHUNK - 1)));
		return;
	}
	if (!m->root)
		m->height = 0;
	/* grow: the old root becomes child 0 of a new one */
	while (pg >> (MTT_CHUNK_SHIFT * (m->height + 1))) {
		if (m->root) {
			struct mtt_dir *d = dir_new(m);
			d->slot[0] = m->root;
			m->root = d;
		}
		m->height++;
	}
	void **pp = &m->root;
	for (unsigned h = m->height; h; h--) {
		if (!*pp)
			*pp = dir_new(m);
		pp = &((struct mtt_dir *)*pp)
			      ->slot[(pg >> (MTT_CHUNK_SHIFT * h)) &
				     (MTT_CHUNK - 1)];
	}
	if (!*pp) {
		*pp = sleaf_new(&m->bytes);
		m->nchunks++;
	}
	struct sleaf *l = *pp;
	sleaf_set(&l, (unsigned)(pg & (MTT_CHUNK - 1)), entry, &m->bytes);
	*pp = l;
}

/* The first page >= @pg with a non-zero entry below @n (a node at
 * height @h covering pages from @base), or UINT64_MAX. */
static uint64_t next_in(void *n, unsigned h, uint64_t base, uint64_t pg,
			uint64_t **entry)
{
	if (!n)
		return UINT64_MAX;
	if (!h) {
		struct sleaf *l = n;
		unsigned k = sleaf_next(l, pg > base ? (unsigned)(pg - base) : 0);
		if (k >= MTT_CHUNK)
			return UINT64_MAX;
		*entry = sleaf_ref(l, k);
		return base + k;
	}
	unsigned sh = MTT_CHUNK_SHIFT * h; /* pages per child: 1 << sh */
	unsigned i = pg > base ? (unsigned)((pg - base) >> sh) : 0;
	for (; i < MTT_CHUNK; i++) {
		uint64_t b = base + ((uint64_t)i << sh);
		uint64_t r = next_in(((struct mtt_dir *)n)->slot[i], h - 1, b,
				     pg > b ? pg : b, entry);
		if (r != UINT64_MAX)
			return r;
	}
	return UINT64_MAX;
}

uint64_t mtt_next(struct mtt *m, uint64_t pg, uint64_t **entry)
{
	for (;;) {
		if (!m->root || pg >> (MTT_CHUNK_SHIFT * (m->height + 1)))
			return UINT64_MAX;
		uint64_t r = next_in(m->root, m->height, 0, pg, entry);
		if (r == UINT64_MAX || **entry)
			return r;
		pg = r + 1; /* a stored 0 (frame 0 zapped) is no entry */
	}
}

uint64_t mtt_zap(struct mtt *m, uint64_t first, uint64_t last)
{
	uint64_t n = 0, *e;
	for (uint64_t pg = mtt_next(m, first, &e); pg <= last;
	     pg = mtt_next(m, pg + 1, &e)) {
		n += (*e & MTT_VALID) != 0;
		*e &= ~(uint64_t)(MTT_VALID | MTT_WRITE | MTT_SUSP);
		if (!*e) /* frame 0 with no flag left: no entry */
			mtt_set(m, pg, 0);
	}
	return n;
}

uint64_t mtt_bytes(const struct mtt *m)
{
	return m->bytes;
}

/* ---- the entry page size (mtt.h) ---- */

void mtt_pgsz_init(struct mtt_pgsz *p)
{
	p->mask = p->pend_end = p->segs = 0;
	p->have_pend = false;
}

void mtt_pgsz_seg(struct mtt_pgsz *p, uint64_t va, uint64_t dma,
		  uint64_t len)
{
	if (p->have_pend)
		p->mask |= p->pend_end;
	p->mask |= dma ^ va;
	p->pend_end = va + len;
	p->have_pend = true;
	p->segs++;
}

static unsigned fls64_(uint64_t x)
{
	return x ? 64u - (unsigned)__builtin_clzll(x) : 0;
}

unsigned mtt_pgsz_bits(const struct mtt_pgsz *p, uint64_t va, uint64_t len,
		       uint64_t max_page)
{
	g_assert(max_page >= 4096 && !(max_page & (max_page - 1)) && len);
	unsigned maxb = fls64_(max_page) - 1;
	/* the supported sizes: 4 KiB .. max_page */
	uint64_t bitmap = (maxb >= 63 ? ~0ULL : (2ULL << maxb) - 1) &
			  ~(uint64_t)4095;
	/* sizes above what covers the range in one page are no better */
	unsigned cover = fls64_((len - 1 + va) ^ va);
	uint64_t mask = cover >= 64 ? 0 : bitmap & ~((1ULL << cover) - 1);
	mask |= p->mask;
	if (mask) {
		unsigned tz = (unsigned)__builtin_ctzll(mask);
		bitmap &= tz >= 63 ? ~0ULL : (2ULL << tz) - 1;
	}
	g_assert(bitmap); /* page-aligned segments always fit 4 KiB */
	return fls64_(bitmap) - 1;
}
