/*
 * vmm/frame.h - physical frames and their allocator (internal to vmm/).
 *
 * Representation: one 24-byte struct frame per 4 KiB frame of DRAM, in one
 * array indexed by frame number (pfn).  The owner (address space id, virtual
 * page) is packed in 64 bits; pin count, flags and map count share the last
 * word with the free-list link.  Free frames sit on one LIFO list per NUMA
 * node, linked through the frames themselves, with lazy deletion: taking a
 * specific free frame (the compaction free scanner, a huge allocation of 512
 * aligned frames) only clears its FREE flag, and the stale list entry is
 * skipped when it is popped (ONLIST keeps a frame on a list at most once).
 * A count of free frames per 2 MiB block finds wholly free blocks for huge
 * frames.
 *
 * Workload assumed: single-frame allocations and frees dominate (faults,
 * reclaim, moves); huge allocations are rare and may scan the block counts.
 */
#ifndef VMM_FRAME_H
#define VMM_FRAME_H

#include <stdbool.h>
#include <stdint.h>

#define FRAME_NIL UINT32_MAX
#define FRAME_NO_OWNER UINT64_MAX
#define FRAME_VPN_BITS 36

enum frame_flag {
	FR_FREE = 1u << 0,
	FR_ONLIST = 1u << 1,
	FR_COMMIT = 1u << 2,  /* committed (reserved): never reclaimed */
	FR_DIRTY = 1u << 3,
	FR_ACC = 1u << 4,     /* referenced since the clock last looked */
	FR_HUGE = 1u << 5,    /* part of a 2 MiB huge frame */
	FR_BUSY = 1u << 6,    /* an operation (fault, move, evict) owns it */
	FR_ORPHAN = 1u << 7,  /* unmapped while pinned: freed on last unpin */
};

struct frame {
	uint64_t version; /* content version, for the oracle */
	uint64_t owner;   /* as_id << 36 | vpn, or FRAME_NO_OWNER */
	uint32_t next;    /* free-list link */
	uint16_t pin;
	uint8_t flags;
	uint8_t map;      /* address spaces mapping it (> 1 after fork) */
};

struct frame_alloc {
	struct frame *f;
	uint64_t n;          /* frames */
	unsigned nodes;
	uint64_t per_node;   /* frames per node (the last takes the rest) */
	uint32_t *head;      /* per node */
	uint64_t *node_free; /* per node */
	uint16_t *block_free;/* per 2 MiB block */
	uint64_t nblocks;
	uint64_t nfree;
	uint64_t huge_cursor;
};

static inline uint64_t frame_owner_pack(uint32_t as_id, uint64_t vpn)
{
	return ((uint64_t)as_id << FRAME_VPN_BITS) | vpn;
}

static inline uint32_t frame_owner_as(uint64_t owner)
{
	return (uint32_t)(owner >> FRAME_VPN_BITS);
}

static inline uint64_t frame_owner_vpn(uint64_t owner)
{
	return owner & ((1ULL << FRAME_VPN_BITS) - 1);
}

void frame_alloc_init(struct frame_alloc *fa, uint64_t nframes,
		      unsigned nodes);
void frame_alloc_destroy(struct frame_alloc *fa);
unsigned frame_node(const struct frame_alloc *fa, uint64_t pfn);
/* A free frame, preferably on @node (any node when node < 0), or
 * FRAME_NIL.  The frame comes back zeroed but for flags == 0. */
uint64_t frame_alloc_one(struct frame_alloc *fa, int node);
/* Take the free frame @pfn; false when it is not free. */
bool frame_take(struct frame_alloc *fa, uint64_t pfn);
/* 512 aligned free frames (first pfn), preferably on @node, or FRAME_NIL. */
uint64_t frame_alloc_huge(struct frame_alloc *fa, int node);
void frame_release(struct frame_alloc *fa, uint64_t pfn);

static inline bool frame_is_free(const struct frame_alloc *fa, uint64_t pfn)
{
	return fa->f[pfn].flags & FR_FREE;
}

#endif
