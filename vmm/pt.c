/*
 * vmm/pt.c - radix page tables (see pt.h for the representation).
 */
#include "vmm/pt.h"

#include <glib.h>

#include "sim/sleaf.h"
#include "vmm/vmm.h"

static inline unsigned pt_idx(uint64_t va, int level)
{
	return (unsigned)(va >> (12 + 9 * (level - 1))) & 511;
}

static inline bool is_leaf(uint64_t e, int level)
{
	return level == 1 || (e & PTE_P);
}

static struct pt_node *node_new(struct pt *pt)
{
	struct pt_node *c = g_new0(struct pt_node, 1);
	g_assert(((uintptr_t)c & PTE_P) == 0);
	pt->nodes++;
	pt->bytes += sizeof(struct pt_node);
	return c;
}

static void node_free(struct pt *pt, struct pt_node *n)
{
	g_free(n);
	pt->nodes--;
	pt->bytes -= sizeof(struct pt_node);
}

static void leaf_free(struct pt *pt, struct sleaf *l)
{
	sleaf_free(l, &pt->bytes);
	pt->leaves--;
}

void pt_init(struct pt *pt)
{
	pt->nodes = pt->leaves = pt->bytes = 0;
	pt->root = node_new(pt);
}

static void free_rec(struct pt *pt, struct pt_node *n, int level)
{
	for (unsigned i = 0; i < 512; i++) {
		uint64_t e = n->e[i];
		if (!e || is_leaf(e, level))
			continue;
		if (level == 2)
			leaf_free(pt, (struct sleaf *)(uintptr_t)e);
		else
			free_rec(pt, (struct pt_node *)(uintptr_t)e, level - 1);
	}
	node_free(pt, n);
}

void pt_destroy(struct pt *pt)
{
	if (pt->root)
		free_rec(pt, pt->root, 4);
	pt->root = NULL;
	g_assert(pt->nodes == 0 && pt->leaves == 0 && pt->bytes == 0);
}

uint64_t pt_bytes(const struct pt *pt)
{
	return pt->bytes;
}

/* The level-2 node over @va and its entry for @va's region, or NULL. */
static uint64_t *l2_entry(const struct pt *pt, uint64_t va)
{
	struct pt_node *n = pt->root;
	for (int l = 4; l > 2; l--) {
		uint64_t e = n->e[pt_idx(va, l)];
		if (!e)
			return NULL;
		n = (struct pt_node *)(uintptr_t)e;
	}
	return &n->e[pt_idx(va, 2)];
}

uint64_t *pt_leaf(struct pt *pt, uint64_t va, int *level)
{
	struct pt_node *n = pt->root;
	for (int l = 4; l > 2; l--) {
		uint64_t e = n->e[pt_idx(va, l)];
		if (!e)
			return NULL;
		n = (struct pt_node *)(uintptr_t)e;
	}
	uint64_t *e = &n->e[pt_idx(va, 2)];
	if (!*e)
		return NULL;
	if (is_leaf(*e, 2)) {
		*level = 2;
		return e;
	}
	*level = 1;
	return sleaf_ref((struct sleaf *)(uintptr_t)*e, pt_idx(va, 1));
}

uint64_t pt_get(const struct pt *pt, uint64_t va, int *level)
{
	uint64_t *e = pt_leaf((struct pt *)pt, va, level);
	return e ? *e : 0;
}

bool pt_region_used(const struct pt *pt, uint64_t va)
{
	const uint64_t *e = l2_entry(pt, va);
	return e && *e;
}

int pt_walk_levels(const struct pt *pt, uint64_t va)
{
	struct pt_node *n = pt->root;
	int reads = 0;
	for (int l = 4; l >= 2; l--) {
		uint64_t e = n->e[pt_idx(va, l)];
		reads++;
		if (!e || is_leaf(e, l))
			return reads;
		if (l == 2)
			return reads + 1; /* the level-1 leaf */
		n = (struct pt_node *)(uintptr_t)e;
	}
	return reads;
}

/* Clear entry @va at @level (1: a PTE, 2: a huge leaf) and free what
 * becomes empty. */
static void clear_rec(struct pt *pt, struct pt_node *n, int l, uint64_t va,
		      int target)
{
	uint64_t *e = &n->e[pt_idx(va, l)];
	if (!*e)
		return;
	if (l == target) {
		*e = 0;
		n->used--;
		return;
	}
	g_assert(!is_leaf(*e, l));
	if (l == 2) {
		struct sleaf *lf = (struct sleaf *)(uintptr_t)*e;
		if (sleaf_clear(lf, pt_idx(va, 1)) && lf->n == 0) {
			leaf_free(pt, lf);
			*e = 0;
			n->used--;
		}
		return;
	}
	struct pt_node *c = (struct pt_node *)(uintptr_t)*e;
	clear_rec(pt, c, l - 1, va, target);
	if (c->used == 0) {
		node_free(pt, c);
		*e = 0;
		n->used--;
	}
}

/* The level-2 entry of @va's region, creating the nodes above it. */
static uint64_t *l2_make(struct pt *pt, uint64_t va)
{
	struct pt_node *n = pt->root;
	for (int l = 4; l > 2; l--) {
		uint64_t *e = &n->e[pt_idx(va, l)];
		if (!*e) {
			*e = (uint64_t)(uintptr_t)node_new(pt);
			n->used++;
		}
		n = (struct pt_node *)(uintptr_t)*e;
	}
	return &n->e[pt_idx(va, 2)];
}

/* The level-2 node holding @va's region entry (which must exist). */
static struct pt_node *l2_node(struct pt *pt, uint64_t va)
{
	struct pt_node *n = pt->root;
	for (int l = 4; l > 2; l--)
		n = (struct pt_node *)(uintptr_t)n->e[pt_idx(va, l)];
	return n;
}

void pt_set(struct pt *pt, uint64_t va, uint64_t pte)
{
	if (!pte) {
		clear_rec(pt, pt->root, 4, va, 1);
		return;
	}
	uint64_t *e = l2_make(pt, va);
	g_assert(!(*e && is_leaf(*e, 2))); /* never under a huge leaf */
	if (!*e) {
		*e = (uint64_t)(uintptr_t)sleaf_new(&pt->bytes);
		pt->leaves++;
		l2_node(pt, va)->used++;
	}
	struct sleaf *lf = (struct sleaf *)(uintptr_t)*e;
	sleaf_set(&lf, pt_idx(va, 1), pte, &pt->bytes);
	*e = (uint64_t)(uintptr_t)lf;
}

void pt_set_huge(struct pt *pt, uint64_t va, uint64_t pte)
{
	if (!pte) {
		clear_rec(pt, pt->root, 4, va, 2);
		return;
	}
	g_assert(pte & PTE_P);
	uint64_t *e = l2_make(pt, va);
	struct pt_node *n = l2_node(pt, va);
	if (*e && !is_leaf(*e, 2)) {
		struct sleaf *lf = (struct sleaf *)(uintptr_t)*e;
		g_assert(lf->n == 0);
		leaf_free(pt, lf);
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
		if (l == 2) {
			const struct sleaf *lf = (const struct sleaf *)(uintptr_t)e;
			unsigned k = sleaf_next(lf, pt_idx(from, 1));
			if (k < SLEAF_SLOTS) {
				*level = 1;
				return eva + ((uint64_t)k << 12);
			}
			continue;
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
