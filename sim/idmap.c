/*
 * sim/idmap.c - the 32-bit identifier map (see idmap.h).
 */
#include "sim/idmap.h"

#include <glib.h>

#define IDMAP_LEVELS (32 / IDMAP_BITS)

void idmap_init(struct idmap *m)
{
	m->root = NULL;
	m->count = 0;
}

/* @n is at @depth (0: the root); the leaves are at IDMAP_LEVELS - 1. */
static void node_free(struct idmap_node *n, int depth)
{
	if (!n)
		return;
	if (depth < IDMAP_LEVELS - 1)
		for (unsigned i = 0; i < IDMAP_FANOUT; i++)
			node_free(n->slot[i], depth + 1);
	g_free(n);
}

void idmap_destroy(struct idmap *m)
{
	node_free(m->root, 0);
	m->root = NULL;
	m->count = 0;
}

/* The slot index of @id at @depth (0: the most significant digit). */
static inline unsigned digit(uint32_t id, int depth)
{
	return (id >> ((IDMAP_LEVELS - 1 - depth) * IDMAP_BITS)) &
	       (IDMAP_FANOUT - 1);
}

void idmap_set(struct idmap *m, uint32_t id, void *v)
{
	g_assert(v != NULL);
	void **pp = (void **)&m->root;
	for (int depth = 0; depth < IDMAP_LEVELS; depth++) {
		if (!*pp)
			*pp = g_new0(struct idmap_node, 1);
		struct idmap_node *n = *pp;
		pp = &n->slot[digit(id, depth)];
		if (!*pp) {
			n->used++;
			if (depth == IDMAP_LEVELS - 1)
				m->count++;
		}
	}
	*pp = v;
}

void idmap_remove(struct idmap *m, uint32_t id)
{
	struct idmap_node *path[IDMAP_LEVELS];
	struct idmap_node *n = m->root;
	for (int depth = 0; depth < IDMAP_LEVELS; depth++) {
		if (!n)
			return;
		path[depth] = n;
		n = n->slot[digit(id, depth)];
	}
	if (!n)
		return;
	m->count--;
	/* clear the slot, then free the nodes left empty, bottom up */
	for (int depth = IDMAP_LEVELS - 1; depth >= 0; depth--) {
		struct idmap_node *p = path[depth];
		p->slot[digit(id, depth)] = NULL;
		if (--p->used)
			return;
		g_free(p);
	}
	m->root = NULL;
}
