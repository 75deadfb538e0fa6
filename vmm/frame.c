/*
 * vmm/frame.c - the frame allocator (see frame.h for the representation).
 */
#include "vmm/frame.h"

#include <glib.h>
#include <string.h>

#include "vmm/vmm.h"

const struct frame frame_unused = { .owner = FRAME_NO_OWNER,
				    .flags = FR_FREE };

void frame_alloc_init(struct frame_alloc *fa, uint64_t nframes,
		      unsigned nodes, enum frame_order order)
{
	g_assert(nframes > 0 && nframes <= FRAME_MAX_FRAMES);
	g_assert(nodes >= 1 && nodes <= nframes);
	memset(fa, 0, sizeof(*fa));
	fa->n = nframes;
	fa->nodes = nodes;
	fa->per_node = nframes / nodes;
	fa->nchunks = (nframes + FRAME_CHUNK - 1) >> FRAME_CHUNK_SHIFT;
	fa->chunk = g_new0(struct frame_chunk *, fa->nchunks);
	fa->pool = g_new0(struct frame_pool, nodes);
	fa->node_free = g_new0(uint64_t, nodes);
	fa->nblocks = (nframes + FRAME_BLOCK - 1) >> FRAME_BLOCK_SHIFT;
	fa->order = order;
	for (unsigned i = 0; i < nodes; i++) {
		fa->pool[i].start = fa->pool[i].mark = i * fa->per_node;
		fa->pool[i].end = i + 1 == nodes ? nframes
						 : (i + 1) * fa->per_node;
		fa->node_free[i] = fa->pool[i].end - fa->pool[i].mark;
	}
	fa->nfree = nframes;
}

void frame_alloc_destroy(struct frame_alloc *fa)
{
	for (uint64_t c = 0; c < fa->nchunks; c++)
		g_free(fa->chunk[c]);
	g_free(fa->chunk);
	for (unsigned i = 0; i < fa->nodes; i++)
		g_free(fa->pool[i].stack);
	g_free(fa->pool);
	g_free(fa->node_free);
	memset(fa, 0, sizeof(*fa));
}

struct frame_chunk *frame_chunk_make(struct frame_alloc *fa, uint64_t pfn)
{
	g_assert(pfn < fa->n);
	uint64_t ci = pfn >> FRAME_CHUNK_SHIFT;
	g_assert(!fa->chunk[ci]);
	struct frame_chunk *c = g_new(struct frame_chunk, 1);
	for (unsigned i = 0; i < FRAME_CHUNK; i++)
		c->f[i] = frame_unused;
	uint64_t base = ci << FRAME_CHUNK_SHIFT;
	for (unsigned b = 0; b < FRAME_CHUNK_BLOCKS; b++) {
		uint64_t bi = (base >> FRAME_BLOCK_SHIFT) + b;
		c->block_free[b] = bi << FRAME_BLOCK_SHIFT >= fa->n ? 0 :
				   (uint16_t)frame_block_size(fa, bi);
	}
	fa->chunk[ci] = c;
	fa->chunks_made++;
	return c;
}

static inline uint16_t *block_free_of(struct frame_alloc *fa, uint64_t pfn)
{
	struct frame_chunk *c = fa->chunk[pfn >> FRAME_CHUNK_SHIFT];
	return &c->block_free[(pfn >> FRAME_BLOCK_SHIFT) &
			      (FRAME_CHUNK_BLOCKS - 1)];
}

unsigned frame_node(const struct frame_alloc *fa, uint64_t pfn)
{
	if (fa->nodes == 1)
		return 0;
	uint64_t n = pfn / fa->per_node;
	return n >= fa->nodes ? fa->nodes - 1 : (unsigned)n;
}

static void frame_taken(struct frame_alloc *fa, uint64_t pfn)
{
	struct frame *f = frame_at(fa, pfn);
	g_assert(f->flags & FR_FREE);
	f->flags &= (uint8_t)~FR_FREE;
	fa->nfree--;
	fa->node_free[frame_node(fa, pfn)]--;
	(*block_free_of(fa, pfn))--;
	f->version = 0;
	f->owner = FRAME_NO_OWNER;
	f->pin = 0;
	f->map = 0;
	/* keep ONLIST: a stale stack entry may still name this frame */
	f->flags &= FR_ONLIST;
}

/* 9-bit bit reversal: the scattered order inside a 2 MiB block (its own
 * inverse). */
static inline uint64_t bitrev9(uint64_t k)
{
	uint64_t r = 0;
	for (unsigned i = 0; i < FRAME_BLOCK_SHIFT; i++)
		r |= ((k >> i) & 1) << (FRAME_BLOCK_SHIFT - 1 - i);
	return r;
}

/* Is the block of @pfn handed out in scattered order (a whole block of
 * the pool, order scattered)? */
static inline bool block_scattered(const struct frame_alloc *fa,
				   const struct frame_pool *pl, uint64_t pfn)
{
	uint64_t base = pfn & ~(uint64_t)(FRAME_BLOCK - 1);
	return fa->order == FRAME_ORDER_SCATTERED && base >= pl->start &&
	       base + FRAME_BLOCK <= pl->end;
}

/* The frame the mark at @m names. */
static inline uint64_t fresh_at(const struct frame_alloc *fa,
				const struct frame_pool *pl, uint64_t m)
{
	if (!block_scattered(fa, pl, m))
		return m;
	uint64_t base = m & ~(uint64_t)(FRAME_BLOCK - 1);
	return base + bitrev9(m - base);
}

/* Has the mark passed @pfn (handed it out, or skipped it taken)? */
static inline bool fresh_passed(const struct frame_alloc *fa,
				const struct frame_pool *pl, uint64_t pfn)
{
	if (!block_scattered(fa, pl, pfn))
		return pfn < pl->mark;
	uint64_t base = pfn & ~(uint64_t)(FRAME_BLOCK - 1);
	if (pl->mark <= base)
		return false;
	if (pl->mark >= base + FRAME_BLOCK)
		return true;
	return bitrev9(pfn - base) < pl->mark - base;
}

static uint64_t pop_node(struct frame_alloc *fa, unsigned node)
{
	struct frame_pool *pl = &fa->pool[node];
	while (pl->len) {
		uint64_t p = pl->stack[--pl->len];
		struct frame *f = frame_at(fa, p);
		f->flags &= (uint8_t)~FR_ONLIST;
		if (f->flags & FR_FREE) {
			frame_taken(fa, p);
			return p;
		}
	}
	/* then the frames never handed out, in the pool's order (some may
	 * have been taken directly meanwhile: skipped, as stale list
	 * entries were) */
	while (pl->mark < pl->end) {
		uint64_t p = fresh_at(fa, pl, pl->mark++);
		if (frame_peek(fa, p)->flags & FR_FREE) {
			frame_taken(fa, p);
			return p;
		}
	}
	return FRAME_NIL;
}

uint64_t frame_alloc_one(struct frame_alloc *fa, int node)
{
	if (!fa->nfree)
		return FRAME_NIL;
	unsigned first = node < 0 ? 0 : (unsigned)node % fa->nodes;
	for (unsigned i = 0; i < fa->nodes; i++) {
		unsigned nd = (first + i) % fa->nodes;
		if (!fa->node_free[nd])
			continue;
		uint64_t p = pop_node(fa, nd);
		if (p != FRAME_NIL)
			return p;
	}
	g_assert_not_reached(); /* nfree > 0 but every pool was empty */
	return FRAME_NIL;
}

bool frame_take(struct frame_alloc *fa, uint64_t pfn)
{
	if (pfn >= fa->n || !frame_is_free(fa, pfn))
		return false;
	frame_taken(fa, pfn);
	return true;
}

uint64_t frame_alloc_huge(struct frame_alloc *fa, int node)
{
	uint64_t full = fa->n >> FRAME_BLOCK_SHIFT; /* blocks wholly inside */
	for (int pass = 0; pass < 2; pass++) {
		for (uint64_t i = 0; i < full; i++) {
			uint64_t b = (fa->huge_cursor + i) % full;
			if (frame_block_free(fa, b) != FRAME_BLOCK)
				continue;
			uint64_t p = b << FRAME_BLOCK_SHIFT;
			if (pass == 0 && node >= 0 &&
			    (frame_node(fa, p) != (unsigned)node ||
			     frame_node(fa, p + FRAME_BLOCK - 1) !=
				     (unsigned)node))
				continue;
			for (uint64_t j = 0; j < FRAME_BLOCK; j++)
				frame_taken(fa, p + j);
			fa->huge_cursor = b + 1;
			return p;
		}
		if (node < 0)
			break;
	}
	return FRAME_NIL;
}

void frame_release(struct frame_alloc *fa, uint64_t pfn)
{
	g_assert(pfn < fa->n);
	struct frame *f = frame_at(fa, pfn);
	g_assert(!(f->flags & FR_FREE));
	f->flags = (uint8_t)(FR_FREE | (f->flags & FR_ONLIST));
	f->owner = FRAME_NO_OWNER;
	f->pin = 0;
	f->map = 0;
	unsigned nd = frame_node(fa, pfn);
	fa->nfree++;
	fa->node_free[nd]++;
	(*block_free_of(fa, pfn))++;
	struct frame_pool *pl = &fa->pool[nd];
	/* frames the mark has not passed count as on the list already */
	if (!fresh_passed(fa, pl, pfn))
		return;
	if (!(f->flags & FR_ONLIST)) {
		f->flags |= FR_ONLIST;
		if (pl->len == pl->cap) {
			pl->cap = pl->cap ? 2 * pl->cap : 64;
			pl->stack = g_renew(uint64_t, pl->stack, pl->cap);
		}
		pl->stack[pl->len++] = pfn;
	}
}

uint64_t frame_alloc_bytes(const struct frame_alloc *fa)
{
	uint64_t b = fa->chunks_made * sizeof(struct frame_chunk) +
		     fa->nchunks * sizeof(struct frame_chunk *);
	for (unsigned i = 0; i < fa->nodes; i++)
		b += fa->pool[i].cap * sizeof(uint64_t);
	return b;
}
