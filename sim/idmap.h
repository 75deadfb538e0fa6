/*
 * sim/idmap.h - a map from 32-bit identifiers (QP numbers, memory keys,
 * host indices) to pointers, for lookups on per-packet paths.
 *
 * Representation: a radix tree of four levels of 256 slots, indexed by
 * the identifier's bytes from the most significant down, as an MMU walks a
 * page table (no hash, no division: shifts and masks).  Nodes are
 * allocated when an identifier below them is first stored and freed when
 * their last one is removed, so a NIC's sequential QPNs and keys cost one
 * 2 KiB node per level (8 KiB) plus a leaf per 256 identifiers in use, and
 * scattered (random) identifiers cost at most four nodes each.
 *
 * Workload assumed: lookups dominate (one per packet); stores and removals
 * happen when QPs and MRs are created and destroyed.
 */
#ifndef SIM_IDMAP_H
#define SIM_IDMAP_H

#include <stdbool.h>
#include <stdint.h>

#define IDMAP_BITS 8
#define IDMAP_FANOUT (1u << IDMAP_BITS)

struct idmap_node {
	void *slot[IDMAP_FANOUT];
	uint32_t used;
};

struct idmap {
	struct idmap_node *root;
	uint32_t count;
};

void idmap_init(struct idmap *m);
void idmap_destroy(struct idmap *m);
/* Store @v (not NULL) under @id, replacing what was there. */
void idmap_set(struct idmap *m, uint32_t id, void *v);
/* Remove @id (nothing when absent). */
void idmap_remove(struct idmap *m, uint32_t id);
/* The number of identifiers stored. */
static inline uint32_t idmap_count(const struct idmap *m)
{
	return m->count;
}
/* The value of @id, or NULL. */
static inline void *idmap_get(const struct idmap *m, uint32_t id)
{
	const struct idmap_node *n = m->root;
	for (int sh = 32 - IDMAP_BITS; n && sh > 0; sh -= IDMAP_BITS)
		n = n->slot[(id >> sh) & (IDMAP_FANOUT - 1)];
	return n ? n->slot[id & (IDMAP_FANOUT - 1)] : 0;
}

#endif
