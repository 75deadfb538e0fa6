/*
 * vmm/pt.c - radix page tables (see pt.h for the representation).
 */
#include "vmm/pt.h"

#include <glib.h>

#include "vmm/vmm.h"

static inline unsigned pt_idx(uint64_t va, int level)
{
	return (unsigned)(va >> (12 + 9 * (level - 1))) & 511;
}

static inline bool is_leaf(uint64_t e, int level)
{
	return level == 1 || (e & PTE_P);
}

void pt_init(struct pt *pt)
{
	pt->root = g_new0(struct pt_node, 1);
	pt->nodes = 1;
}

static void free_rec(struct pt *pt, struct pt_node *n, int level)
{
	if (level > 1)
		for (unsigned i = 0; i < 512; i++)
			if (n->e[i] && !is_leaf(n->e[i], level))
				free_rec(pt, (struct pt_node *)(uintptr_t)n->e[i],
					 level - 1);
	g_free(n);
	pt->nodes--;
}

void pt_destroy(struct pt *pt)
{
	if (pt->root)
		free_rec(pt, pt->root, 4);
	pt->root = NULL;
	g_assert(pt->nodes == 0);
}

uint64_t pt_bytes(const struct pt *pt)
{
	return pt->nodes * sizeof(struct pt_node);
}

uint64_t *pt_leaf(struct pt *pt, uint64_t va, bool create, int *level)
{
	struct pt_node *n = pt->root;
	for (int l = 4; l > 1; l--) {
		uint64_t *e = &n->e[pt_idx(va, l)];
		if (*e && is_leaf(*e, l)) {
			*level = l;
			return e;
		}
		if (!*e) {
			if (!create)
				return NULL;
			struct pt_node *c = g_new0(struct pt_node, 1);
			g_assert(((uintptr_t)c & PTE_P) == 0);
			pt->nodes++;
			*e = (uint64_t)(uintptr_t)c;
			n->used++;
		}
		n = (struct pt_node *)(uintptr_t)*e;
	}
	*level = 1;
	return &n->e[pt_idx(va, 1)];
}

uint64_t pt_get(const struct pt *pt, uint64_t va, int *level)
{
	uint64_t *e = pt_leaf((struct pt *)pt, va, false, level);
	return e ? *e : 0;
}

int pt_walk_levels(const struct pt *pt, uint64_t va)
{
	struct pt_node *n = pt->root;
	int reads = 0;
	for (int l = 4; l >= 1; l--) {
		uint64_t e = n->e[pt_idx(va, l)];
		reads++;
		if (l == 1 || !e || is_leaf(e, l))
			return reads;
		n = (struct pt_node *)(uintptr_t)e;
	}
	return reads;
}

/* Clear entry @va at @level and free nodes that become empty. */
static void clear_rec(struct pt *pt, struct pt_node *n, int l, uint64_t va,
		      int target)
{
	uint64_t *e = &n->e[pt_idx(va, l)];
	if (l == target) {
		if (*e) {
			*e = 0;
			n->used--;
		}
		return;
	}
	if (!*e)
		return;
	g_assert(!is_leaf(*e, l));
	struct pt_node *c = (struct pt_node *)(uintptr_t)*e;
	clear_rec(pt, c, l - 1, va, target);
	if (c->used == 0) {
		g_free(c);
		pt->nodes--;
		*e = 0;
		n->used--;
	}
}

void pt_set(struct pt *pt, uint64_t va, uint64_t pte)
{
	if (!pte) {
		clear_rec(pt, pt->root, 4, va, 1);
		return;
	}
	int level;
	uint64_t *e = pt_leaf(pt, va, true, &level);
	g_assert(level == 1);
	if (!*e) {
		/* count it in its level-1 node: walk again (rare: new entry) */
		struct pt_node *n = pt->root;
		for (int l = 4; l > 1; l--)
			n = (struct pt_node *)(uintptr_t)n->e[pt_idx(va, l)];
		n->used++;
	}
	*e = pte;
}

void pt_set_huge(struct pt *pt, uint64_t va, uint64_t pte)
{
	if (!pte) {
		clear_rec(pt, pt->root, 4, va, 2);
		return;
	}
	g_assert(pte & PTE_P);
	struct pt_node *n = pt->root;
	for (int l = 4; l > 2; l--) {
		uint64_t *e = &n->e[pt_idx(va, l)];
		if (!*e) {
			struct pt_node *c = g_new0(struct pt_node, 1);
			pt->nodes++;
			*e = (uint64_t)(uintptr_t)c;
			n->used++;
		}
		n = (struct pt_node *)(uintptr_t)*e;
	}
	uint64_t *e = &n->e[pt_idx(va, 2)];
	if (*e && !is_leaf(*e, 2)) {
		struct pt_node *c = (struct pt_node *)(uintptr_t)*e;
		g_assert(c->used == 0);
		g_free(c);
		pt->nodes--;
		*e = 0;
		n->used--;
	}
	if (!*e)
		n->used++;
	*e = pte | PTE_HUGE;
}

static uint64_t next_rec(const struct pt_node *n, int l, uint64_t base,
			 uint64_t va, uint64_t end, int *level)
{
	int shift = 12 + 9 * (l - 1);
	for (unsigned i = pt_idx(va, l); i < 512; i++) {
		uint64_t eva = base + ((uint64_t)i << shift);
		if (eva >= end)
			return UINT64_MAX;
		uint64_t e = n->e[i];
		if (!e)
			continue;
		uint64_t from = eva > va ? eva : va;
		if (is_leaf(e, l)) {
			*level = l;
			return from;
		}
		uint64_t r = next_rec((const struct pt_node *)(uintptr_t)e,
				      l - 1, eva, from, end, level);
		if (r != UINT64_MAX)
			return r;
	}
	return UINT64_MAX;
}

uint64_t pt_next(const struct pt *pt, uint64_t va, uint64_t end, int *level)
{
	if (va >= end)
		return end;
	uint64_t r = next_rec(pt->root, 4, 0, va, end, level);
	return r == UINT64_MAX || r >= end ? end : r;
}
