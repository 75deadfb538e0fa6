/*
 * nic/mtt.h - an MR's translation table in host memory, as the driver
 * writes it and the NIC reads it on an MTT cache miss.
 *
 * Representation: a radix tree like a page table.  Leaves ("chunks") hold
 * MTT_CHUNK = 512 entries of 8 bytes, one 4 KiB page of table in the
 * hardware; here a radix leaf (sim/sleaf.h): sparse, about 10 bytes per
 * entry, while it holds at most 64 entries, the plain 4 KiB page beyond.
 * Above them, directory nodes of 512 pointers, as many levels as the
 * highest page index stored needs (a 256 TiB implicit ODP MR: three).
 * Leaves and directories are allocated when a page below them first gets
 * an entry, so an MR costs table memory for the pages it translates: a
 * dense MR 8 bytes per page, pages scattered over an implicit ODP MR
 * ~10-16.  A lookup is one array indexing per level, then an index (or a
 * binary search over at most 64 slots in a sparse leaf): no hash, no
 * division.  Bits 0-8 of the page index select the entry, 9-17 the leaf
 * in the lowest directory, and so on.
 *
 * Workload assumed: a lookup per page a DMA touches (the oracle, the
 * NIC's miss path); entries are written when the driver maps pages, zaps
 * walk only the entries that exist.
 */
#ifndef NIC_MTT_H
#define NIC_MTT_H

#include <stdbool.h>
#include <stdint.h>

#include "sim/sleaf.h"

/* An MTT entry as the driver writes it: frame << 12 | flags. */
enum mtt_bits {
	MTT_VALID = 1,
	MTT_WRITE = 2,
	MTT_FAIL = 4, /* the driver could not map the page: access error */
	MTT_SUSP = 8, /* suspended: the VMM is moving the page */
};
#define MTT_PFN(e) ((e) >> 12)
#define MTT_ENTRY(pfn, flags) (((uint64_t)(pfn) << 12) | (flags))

#define MTT_CHUNK_SHIFT SLEAF_SHIFT
#define MTT_CHUNK SLEAF_SLOTS

struct mtt {
	void *root;         /* a leaf when height == 0, else a directory */
	unsigned height;    /* directory levels above the leaves */
	uint64_t nchunks;   /* leaves allocated */
	uint64_t ndirs;     /* directory nodes allocated */
	uint64_t bytes;     /* of both */
};

void mtt_init(struct mtt *m);
void mtt_destroy(struct mtt *m);

/* The directory node: 512 children (leaves or directories). */
struct mtt_dir {
	void *slot[MTT_CHUNK];
};

/* Entry of page @pg (0 when never written). */
static inline uint64_t mtt_get(const struct mtt *m, uint64_t pg)
{
	unsigned h = m->height;
	if (pg >> (MTT_CHUNK_SHIFT * (h + 1)))
		return 0;
	const void *n = m->root;
	for (; n && h; h--)
		n = ((const struct mtt_dir *)n)
			    ->slot[(pg >> (MTT_CHUNK_SHIFT * h)) &
				   (MTT_CHUNK - 1)];
	return n ? sleaf_get(n, (unsigned)(pg & (MTT_CHUNK - 1))) : 0;
}

/* Set the entry of page @pg; 0 clears it (and frees what it leaves
 * empty). */
void mtt_set(struct mtt *m, uint64_t pg, uint64_t entry);
/* Invalidate pages [first, last]: clear VALID, WRITE and SUSP of the
 * entries there (the frame stays in the entry); only entries that exist
 * are visited.  Returns how many entries were valid. */
uint64_t mtt_zap(struct mtt *m, uint64_t first, uint64_t last);
/* The first page >= @pg with a non-zero entry, or UINT64_MAX; *entry
 * points at it, in place (valid until the next mtt_set of that leaf). */
uint64_t mtt_next(struct mtt *m, uint64_t pg, uint64_t **entry);
/* Bytes of table allocated (leaves and directories). */
uint64_t mtt_bytes(const struct mtt *m);

/*
 * The page size of an MR's entries, as ib_umem_find_best_pgsz()
 * (drivers/infiniband/core/umem.c) picks it from the MR's DMA segments:
 * feed the segments in address order (virtual address, DMA address,
 * length; each starting on a page boundary), then ask for the size.
 * The mask collects the bits in which a segment's DMA address differs
 * from its virtual address, and every segment end but the last (the
 * next segment must start an entry); the result is the largest power of
 * two from 4 KiB to @max_page at or below the mask's lowest set bit, and
 * no larger than the smallest aligned block that holds [va, va+len).
 */
struct mtt_pgsz {
	uint64_t mask;
	uint64_t pend_end; /* the last segment's end, OR'ed once another
			    * follows */
	bool have_pend;
	uint64_t segs;
};
void mtt_pgsz_init(struct mtt_pgsz *p);
void mtt_pgsz_seg(struct mtt_pgsz *p, uint64_t va, uint64_t dma,
		  uint64_t len);
/* log2 of the page size (12 .. log2(@max_page), a power of two). */
unsigned mtt_pgsz_bits(const struct mtt_pgsz *p, uint64_t va, uint64_t len,
		       uint64_t max_page);

#endif
