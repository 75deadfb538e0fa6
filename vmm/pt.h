/*
 * vmm/pt.h - 4-level radix page tables (internal to vmm/).
 *
 * Representation: x86-64 shaped: four levels of 512 entries indexed by va
 * bits 47-39, 38-30, 29-21 and 20-12.  A level-1 entry is a 4 KiB PTE; a
 * level-2 entry is either a pointer to a level-1 leaf or a 2 MiB huge leaf
 * (PTE_P and PTE_HUGE set: heap pointers are 16-byte aligned, so bit 0
 * tells them apart).  Levels 2-4 are plain 512-entry nodes; level-1 leaves
 * are radix leaves (sim/sleaf.h): sparse, about 10 bytes per PTE, while
 * they map at most 64 pages, a plain 4 KiB table page beyond.  Nodes and
 * leaves are allocated on first use and freed when their last entry is
 * cleared (a count of non-zero entries each), so a 1 TiB mapping costs
 * memory only for the pages it maps: pages scattered one or a few per
 * 2 MiB cost ~10-16 bytes each plus the upper levels, dense ones 8.
 *
 * PTE layout: bits 12-51 hold the frame number of a page with a frame
 * attached (PTE_P) or the swap slot (PTE_SWAP); bits 0-11 are flags.
 * PTE_P without PTE_BUSY is a usable translation.  PTE_BUSY (with PTE_P)
 * means a frame is attached but an operation (fault, move, eviction,
 * unmap) is between states: accesses wait for it.
 *
 * Workload assumed: lookups and single-entry updates dominate; range walks
 * (munmap, fork, commit) skip empty subtrees.
 */
#ifndef VMM_PT_H
#define VMM_PT_H

#include <stdbool.h>
#include <stdint.h>

enum pte_bits {
	PTE_P = 1u << 0,       /* a frame is attached */
	PTE_W = 1u << 1,
	PTE_D = 1u << 2,
	PTE_A = 1u << 3,
	PTE_HUGE = 1u << 4,
	PTE_COW = 1u << 5,     /* shared after fork: copy on write */
	PTE_COMMIT = 1u << 6,  /* committed (reserved) page */
	PTE_SWAP = 1u << 7,    /* not present: content in swap slot */
	PTE_EVICTED = 1u << 8, /* not present: clean file page dropped */
	PTE_BUSY = 1u << 9,    /* between states: wait */
	PTE_ZAP = 1u << 10,    /* unmapped while busy: the owner frees it */
	PTE_UNMAP = 1u << 11,  /* being unmapped (munmap/DONTNEED owns it) */
};
#define PTE_FLAGS 0xfffULL
#define PTE_ADDR_MASK 0x000ffffffffff000ULL

static inline uint64_t pte_pfn(uint64_t pte)
{
	return (pte & PTE_ADDR_MASK) >> 12;
}

static inline uint64_t pte_make(uint64_t pfn, uint64_t flags)
{
	return (pfn << 12) | flags;
}

static inline bool pte_usable(uint64_t pte)
{
	return (pte & (PTE_P | PTE_BUSY)) == PTE_P;
}

struct pt_node {
	uint64_t e[512];
	uint32_t used;
};

struct pt {
	struct pt_node *root;
	uint64_t nodes;  /* level 2-4 nodes */
	uint64_t leaves; /* level-1 leaves */
	uint64_t bytes;  /* of both */
};

void pt_init(struct pt *pt);
void pt_destroy(struct pt *pt);
uint64_t pt_bytes(const struct pt *pt);

/*
 * The leaf entry of @va: *level = 1 for a 4 KiB entry, 2 for a huge leaf;
 * NULL when the entry is 0 (a node on the way missing, or the slot empty).
 * The pointer stays valid until an entry of the same 2 MiB region is
 * added or cleared (pt_set).
 */
uint64_t *pt_leaf(struct pt *pt, uint64_t va, int *level);
/* The entry value (0 when absent) and its level. */
uint64_t pt_get(const struct pt *pt, uint64_t va, int *level);
/* Is anything mapped (a 4 KiB entry, a huge leaf) in the 2 MiB region
 * of @va? */
bool pt_region_used(const struct pt *pt, uint64_t va);
/* Levels a walk of @va reads (4 for a 4 KiB leaf or a miss at the last
 * level, 3 for a huge leaf, fewer when an upper node is missing). */
int pt_walk_levels(const struct pt *pt, uint64_t va);
/* Store a 4 KiB entry (allocating the path); 0 clears it and frees nodes
 * that become empty. */
void pt_set(struct pt *pt, uint64_t va, uint64_t pte);
/* Store a huge leaf at the 2 MiB region of @va (its level-1 node, if any,
 * must be empty and is freed), or clear it (pte == 0). */
void pt_set_huge(struct pt *pt, uint64_t va, uint64_t pte);
/* The first va in [va, end) with a non-zero leaf entry, or end; *level as
 * for pt_leaf (the va returned is never below @va, even in a huge leaf). */
uint64_t pt_next(const struct pt *pt, uint64_t va, uint64_t end, int *level);

#endif
