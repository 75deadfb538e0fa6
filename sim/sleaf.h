/*
 * sim/sleaf.h - the leaf of a radix table (a page table's last level, an
 * MTT's 4 KiB table page): 512 slots of 64-bit values, 0 an empty slot.
 *
 * Representation: sparse while it holds at most SLEAF_SPARSE_MAX values:
 * one block with the values in slot order, then their slot numbers as
 * 16-bit integers, sized to what it holds (capacities 2, 4, 6, 8, 12, 16,
 * ..., 64); dense beyond that: the 512 values, as a plain table page.  A
 * table whose pages are scattered (1% of a 1 TiB implicit ODP region,
 * about five pages per 2 MiB) costs about 10 bytes per value instead of
 * 4 KiB per 2 MiB touched; a dense one costs 8 bytes per value (plus 8 per
 * leaf) as before.  A sparse lookup is a binary search over at most 64
 * slot numbers; a dense one an index.  No hashing.
 *
 * Workload assumed: lookups dominate (a page walk, an MTT read per page a
 * DMA touches); values are set as pages are mapped and cleared as they go.
 * A pointer sleaf_ref() returns stays valid until the next sleaf_set() of
 * an empty slot or sleaf_clear() on the same leaf.
 */
#ifndef SIM_SLEAF_H
#define SIM_SLEAF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SLEAF_SHIFT 9
#define SLEAF_SLOTS (1u << SLEAF_SHIFT)
#define SLEAF_SPARSE_MAX 64
#define SLEAF_DENSE 0xffffu

struct sleaf {
	uint16_t n;   /* slots holding a value */
	uint16_t cap; /* sparse: values the block has room for; dense:
		       * SLEAF_DENSE */
	uint32_t pad;
	uint64_t v[]; /* sparse: cap values, then cap uint16 slot numbers;
		       * dense: SLEAF_SLOTS values */
};

static inline const uint16_t *sleaf_slots(const struct sleaf *l)
{
	return (const uint16_t *)(l->v + l->cap);
}

/* The position of the first of a sparse leaf's slots that is >= @i. */
static inline int sleaf_lower(const struct sleaf *l, unsigned i)
{
	const uint16_t *s = sleaf_slots(l);
	int lo = 0, hi = (int)l->n;
	while (lo < hi) {
		int mid = (lo + hi) >> 1;
		if (s[mid] < i)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Position of slot @i among a sparse leaf's values, or -1. */
static inline int sleaf_find(const struct sleaf *l, unsigned i)
{
	const uint16_t *s = sleaf_slots(l);
	/* a leaf filled from its first slot up (a small MR's table): the
	 * slot is its position */
	if (i < l->n && s[i] == i)
		return (int)i;
	int k = sleaf_lower(l, i);
	return k < (int)l->n && s[k] == i ? k : -1;
}

/* The value of slot @i (0: empty). */
static inline uint64_t sleaf_get(const struct sleaf *l, unsigned i)
{
	if (l->cap == SLEAF_DENSE)
		return l->v[i];
	int k = sleaf_find(l, i);
	return k >= 0 ? l->v[k] : 0;
}

/* The value of slot @i in place, or NULL when the slot is empty: a caller
 * may change it to another non-zero value through the pointer. */
static inline uint64_t *sleaf_ref(struct sleaf *l, unsigned i)
{
	if (l->cap == SLEAF_DENSE)
		return l->v[i] ? &l->v[i] : NULL;
	int k = sleaf_find(l, i);
	return k >= 0 ? &l->v[k] : NULL;
}

/* A new, empty (sparse) leaf; *bytes grows by its size. */
struct sleaf *sleaf_new(uint64_t *bytes);
void sleaf_free(struct sleaf *l, uint64_t *bytes);
/* Store @v (non-zero) in slot @i of *@lp, which may move (a sparse leaf
 * grows, or turns dense past SLEAF_SPARSE_MAX); *bytes follows its size.
 * True when the slot was empty. */
bool sleaf_set(struct sleaf **lp, unsigned i, uint64_t v, uint64_t *bytes);
/* Empty slot @i; true when it held a value.  The leaf does not move (and
 * stays allocated at n == 0: its owner frees it). */
bool sleaf_clear(struct sleaf *l, unsigned i);
/* The first slot >= @i holding a value, or SLEAF_SLOTS. */
unsigned sleaf_next(const struct sleaf *l, unsigned i);
/* Bytes the leaf occupies. */
size_t sleaf_bytes(const struct sleaf *l);

#endif
