/*
 * vmm/frame.c - the frame allocator (see frame.h for the representation).
 */
#include "vmm/frame.h"

#include <glib.h>
#include <string.h>

#include "vmm/vmm.h"

void frame_alloc_init(struct frame_alloc *fa, uint64_t nframes,
		      unsigned nodes)
{
	g_assert(nframes > 0 && nframes < FRAME_NIL);
	g_assert(nodes >= 1 && nodes <= nframes);
	memset(fa, 0, sizeof(*fa));
	fa->n = nframes;
	fa->nodes = nodes;
	fa->per_node = nframes / nodes;
	fa->f = g_new0(struct frame, nframes);
	fa->head = g_new(uint32_t, nodes);
	fa->node_free = g_new0(uint64_t, nodes);
	fa->nblocks = (nframes + VMM_HUGE_PAGES - 1) / VMM_HUGE_PAGES;
	fa->block_free = g_new0(uint16_t, fa->nblocks);
	for (unsigned i = 0; i < nodes; i++)
		fa->head[i] = FRAME_NIL;
	/* push in reverse so that low frames are handed out first */
	for (uint64_t p = nframes; p-- > 0;) {
		fa->f[p].owner = FRAME_NO_OWNER;
		frame_release(fa, p);
	}
}

void frame_alloc_destroy(struct frame_alloc *fa)
{
	g_free(fa->f);
	g_free(fa->head);
	g_free(fa->node_free);
	g_free(fa->block_free);
	memset(fa, 0, sizeof(*fa));
}

unsigned frame_node(const struct frame_alloc *fa, uint64_t pfn)
{
	uint64_t n = pfn / fa->per_node;
	return n >= fa->nodes ? fa->nodes - 1 : (unsigned)n;
}

static void frame_taken(struct frame_alloc *fa, uint64_t pfn)
{
	struct frame *f = &fa->f[pfn];
	g_assert(f->flags & FR_FREE);
	f->flags &= (uint8_t)~FR_FREE;
	fa->nfree--;
	fa->node_free[frame_node(fa, pfn)]--;
	fa->block_free[pfn / VMM_HUGE_PAGES]--;
	f->version = 0;
	f->owner = FRAME_NO_OWNER;
	f->pin = 0;
	f->map = 0;
	/* keep ONLIST: a stale list entry may still name this frame */
	f->flags &= FR_ONLIST;
}

static uint64_t pop_node(struct frame_alloc *fa, unsigned node)
{
	while (fa->head[node] != FRAME_NIL) {
		uint32_t p = fa->head[node];
		struct frame *f = &fa->f[p];
		fa->head[node] = f->next;
		f->flags &= (uint8_t)~FR_ONLIST;
		if (f->flags & FR_FREE) {
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
	g_assert_not_reached(); /* nfree > 0 but every list was empty */
	return FRAME_NIL;
}

bool frame_take(struct frame_alloc *fa, uint64_t pfn)
{
	if (pfn >= fa->n || !(fa->f[pfn].flags & FR_FREE))
		return false;
	frame_taken(fa, pfn);
	return true;
}

uint64_t frame_alloc_huge(struct frame_alloc *fa, int node)
{
	uint64_t full = fa->n / VMM_HUGE_PAGES; /* blocks wholly inside DRAM */
	for (int pass = 0; pass < 2; pass++) {
		for (uint64_t i = 0; i < full; i++) {
			uint64_t b = (fa->huge_cursor + i) % full;
			if (fa->block_free[b] != VMM_HUGE_PAGES)
				continue;
			uint64_t p = b * VMM_HUGE_PAGES;
			if (pass == 0 && node >= 0 &&
			    (frame_node(fa, p) != (unsigned)node ||
			     frame_node(fa, p + VMM_HUGE_PAGES - 1) !=
				     (unsigned)node))
				continue;
			for (uint64_t j = 0; j < VMM_HUGE_PAGES; j++)
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
	struct frame *f = &fa->f[pfn];
	g_assert(!(f->flags & FR_FREE));
	f->flags = (uint8_t)(FR_FREE | (f->flags & FR_ONLIST));
	f->owner = FRAME_NO_OWNER;
	f->pin = 0;
	f->map = 0;
	unsigned nd = frame_node(fa, pfn);
	fa->nfree++;
	fa->node_free[nd]++;
	fa->block_free[pfn / VMM_HUGE_PAGES]++;
	if (!(f->flags & FR_ONLIST)) {
		f->flags |= FR_ONLIST;
		f->next = fa->head[nd];
		fa->head[nd] = (uint32_t)pfn;
	}
}
