/*
 * vmm/frame.h - physical frames and their allocator (internal to vmm/).
 *
 * Representation: one 24-byte struct frame per 4 KiB frame of DRAM, kept
 * in chunks of FRAME_CHUNK frames (64 MiB of DRAM, 384 KiB of frames)
 * reached through a directory indexed by pfn >> FRAME_CHUNK_SHIFT.  A
 * chunk is created, its frames free, the first time one of its frames is
 * handed out or taken; until then every frame in it is free and nothing
 * is stored for it, so a host costs memory for the DRAM it has used, not
 * for the DRAM it is configured with (a directory pointer per 64 MiB:
 * 8 MiB for the largest host, 64 TiB).  Frame numbers are 64-bit.
 *
 * The owner (address space id, virtual page) is packed in 64 bits; pin
 * count, flags and map count share the last word.  Free frames are handed
 * out per NUMA node from a LIFO stack of frames freed since (newest
 * first), then from the node's high-water mark upward: frames at or above
 * the mark have never been handed out, and count as on the free list
 * behind the stack.  In `ascending` order (a freshly booted buddy
 * allocator) that is exactly one free list per node initialised with
 * every frame ascending and pushed onto at its head on release, without
 * touching a frame at start.  In `scattered` order (the default: a host
 * whose order-0 free lists have been churned) the mark still walks the
 * 2 MiB blocks in ascending order, but hands out the 512 frames of a
 * block in bit-reversed order (0, 256, 128, 384, ...), so no two
 * consecutive allocations are physically adjacent while wholly free
 * blocks stay whole for huge frames; a frame of the mark's block is
 * then "behind the mark" when its bit-reversed offset is.  The
 * stack has lazy deletion: taking a specific free frame (the compaction
 * free scanner, a huge allocation of 512 aligned frames) only clears its
 * FREE flag, and its stale stack entry is skipped when popped (ONLIST
 * keeps a frame on the stack at most once).  A count of free frames per
 * 2 MiB block, kept with its chunk, finds wholly free blocks for huge
 * frames and lets scanners skip full or empty blocks.
 *
 * Workload assumed: single-frame allocations and frees dominate (faults,
 * reclaim, moves); huge allocations are rare and may scan the block
 * counts.
 */
#ifndef VMM_FRAME_H
#define VMM_FRAME_H

#include <stdbool.h>
#include <stdint.h>

#define FRAME_NIL UINT64_MAX
#define FRAME_NO_OWNER UINT64_MAX
#define FRAME_VPN_BITS 36
#define FRAME_BLOCK_SHIFT 9 /* 512 frames: a 2 MiB block */
#define FRAME_BLOCK (1u << FRAME_BLOCK_SHIFT)
#define FRAME_CHUNK_SHIFT 14
#define FRAME_CHUNK (1u << FRAME_CHUNK_SHIFT)
#define FRAME_CHUNK_BLOCKS (FRAME_CHUNK >> FRAME_BLOCK_SHIFT)
/* The largest host: 2^34 frames (64 TiB). */
#define FRAME_MAX_FRAMES (1ULL << 34)

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
	uint16_t pin;
	uint8_t flags;
	uint8_t map;      /* address spaces mapping it (> 1 after fork) */
};

struct frame_chunk {
	struct frame f[FRAME_CHUNK];
	uint16_t block_free[FRAME_CHUNK_BLOCKS];
};

/* A node's free frames: the stack of frames freed, then [mark, end). */
struct frame_pool {
	uint64_t *stack;
	uint64_t len, cap;
	uint64_t start, mark, end;
};

/* The order in which never-used frames are handed out (vmm [frame_order]). */
enum frame_order { FRAME_ORDER_SCATTERED, FRAME_ORDER_ASCENDING };

struct frame_alloc {
	struct frame_chunk **chunk; /* by pfn >> FRAME_CHUNK_SHIFT, or NULL */
	uint64_t nchunks, chunks_made;
	uint64_t n;          /* frames */
	unsigned nodes;
	uint64_t per_node;   /* frames per node (the last takes the rest) */
	struct frame_pool *pool; /* per node */
	uint64_t *node_free; /* per node */
	uint64_t nblocks;
	uint64_t nfree;
	uint64_t huge_cursor;
	enum frame_order order;
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
		      unsigned nodes, enum frame_order order);
void frame_alloc_destroy(struct frame_alloc *fa);
unsigned frame_node(const struct frame_alloc *fa, uint64_t pfn);
/* Create the chunk of frame @pfn (its frames free); internal. */
struct frame_chunk *frame_chunk_make(struct frame_alloc *fa, uint64_t pfn);

/* The frame @pfn (< n), its chunk created if it was not: for frames being
 * handed out or in use. */
static inline struct frame *frame_at(struct frame_alloc *fa, uint64_t pfn)
{
	struct frame_chunk *c = fa->chunk[pfn >> FRAME_CHUNK_SHIFT];
	if (__builtin_expect(!c, 0))
		c = frame_chunk_make(fa, pfn);
	return &c->f[pfn & (FRAME_CHUNK - 1)];
}

/* A look at frame @pfn (< n) that creates nothing: a never-used frame
 * reads as a free one. */
extern const struct frame frame_unused;
static inline const struct frame *frame_peek(const struct frame_alloc *fa,
					     uint64_t pfn)
{
	const struct frame_chunk *c = fa->chunk[pfn >> FRAME_CHUNK_SHIFT];
	return c ? &c->f[pfn & (FRAME_CHUNK - 1)] : &frame_unused;
}

/* Frames of the 2 MiB block @b (the last block may be partial). */
static inline uint32_t frame_block_size(const struct frame_alloc *fa,
					uint64_t b)
{
	uint64_t lo = b << FRAME_BLOCK_SHIFT, hi = lo + FRAME_BLOCK;
	return (uint32_t)((hi > fa->n ? fa->n : hi) - lo);
}

/* Free frames of the 2 MiB block @b (all of them in a chunk not made
 * yet). */
static inline uint32_t frame_block_free(const struct frame_alloc *fa,
					uint64_t b)
{
	const struct frame_chunk *c =
		fa->chunk[b >> (FRAME_CHUNK_SHIFT - FRAME_BLOCK_SHIFT)];
	return c ? c->block_free[b & (FRAME_CHUNK_BLOCKS - 1)]
		 : frame_block_size(fa, b);
}

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
	return frame_peek(fa, pfn)->flags & FR_FREE;
}

/* Bytes of frame state allocated (chunks, directory, free stacks). */
uint64_t frame_alloc_bytes(const struct frame_alloc *fa);

#endif
