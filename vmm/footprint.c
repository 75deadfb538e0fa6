/*
 * vmm/footprint.c - how much memory an address space, or a range of one
 * (an MR), holds: resident, pinned, committed and swapped pages, now and
 * at their peak (see vmm.h).
 *
 * Representation: a struct vmm_fp (a count and a peak per kind) in every
 * address space, and in every watched range, kept exactly by the VMM at
 * each change of state (vmm_fp_count(), called beside the host-wide
 * counters): a page gains or loses a frame (resident: a frame attached,
 * shared copy-on-write frames counted in every sharer, as as->resident
 * always was), its frame is pinned or unpinned, committed or uncommitted
 * (pinned and committed go to the frame's owner, as vmm.pinned_pages and
 * vmm.committed_pages count frames), or it goes to swap or comes back
 * (swapped: a local swap slot in its entry; a post-copy remote page is
 * not swapped).  Assumed workload: a handful of watched ranges per
 * address space (an MR or two), so a change costs a short loop.
 * vmm_fp_scan() counts the same figures from the page table, for a
 * range's starting point and for tests.
 */
#include "vmm/vmm_int.h"

const char *const vmm_fp_names[] = {
	[VMM_FP_RESIDENT] = "resident",
	[VMM_FP_PINNED] = "pinned",
	[VMM_FP_COMMITTED] = "committed",
	[VMM_FP_SWAPPED] = "swapped",
	[VMM_FP_NKINDS] = NULL,
};

struct vmm_fp_range {
	uint64_t start, end;
	struct vmm_fp fp;
};

static void fp_add(struct vmm_fp *fp, enum vmm_fp_kind k, int64_t d)
{
	g_assert(d >= 0 || fp->now[k] >= (uint64_t)-d);
	fp->now[k] += (uint64_t)d;
	if (fp->now[k] > fp->peak[k])
		fp->peak[k] = fp->now[k];
}

void vmm_fp_count(struct vmm_as *as, uint64_t va, enum vmm_fp_kind k,
		  int64_t d)
{
	fp_add(&as->fp, k, d);
	for (guint i = 0; as->fp_ranges && i < as->fp_ranges->len; i++) {
		struct vmm_fp_range *r = as->fp_ranges->pdata[i];
		if (va >= r->start && va < r->end)
			fp_add(&r->fp, k, d);
	}
}

void vmm_fp_count_frame(struct vmm *vmm, uint64_t pfn, enum vmm_fp_kind k,
			int64_t d)
{
	uint64_t owner = frame_peek(&vmm->fa, pfn)->owner;
	if (owner == FRAME_NO_OWNER)
		return; /* an orphan (unmapped while pinned) is no one's */
	struct vmm_as *as = vmm_as_by_id(vmm, frame_owner_as(owner));
	g_assert(as);
	vmm_fp_count(as, frame_owner_vpn(owner) << VMM_PAGE_SHIFT, k, d);
}

void vmm_fp_owner_change(struct vmm *vmm, uint64_t pfn, uint64_t new_owner)
{
	const struct frame *f = frame_at(&vmm->fa, pfn);
	int pinned = f->pin > 0, committed = (f->flags & FR_COMMIT) != 0;
	if (pinned)
		vmm_fp_count_frame(vmm, pfn, VMM_FP_PINNED, -1);
	if (committed)
		vmm_fp_count_frame(vmm, pfn, VMM_FP_COMMITTED, -1);
	frame_at(&vmm->fa, pfn)->owner = new_owner;
	if (pinned)
		vmm_fp_count_frame(vmm, pfn, VMM_FP_PINNED, 1);
	if (committed)
		vmm_fp_count_frame(vmm, pfn, VMM_FP_COMMITTED, 1);
}

const struct vmm_fp *vmm_as_footprint(const struct vmm_as *as)
{
	return &as->fp;
}

void vmm_fp_scan(struct vmm_as *as, uint64_t va, uint64_t len,
		 uint64_t out[VMM_FP_NKINDS])
{
	struct vmm *vmm = as->vmm;
	memset(out, 0, sizeof(uint64_t) * VMM_FP_NKINDS);
	uint64_t end = len > (1ULL << VMM_VA_BITS) - va ? 1ULL << VMM_VA_BITS
							: va + len;
	int level;
	for (uint64_t a = pt_next(&as->pt, va, end, &level); a < end;
	     a = pt_next(&as->pt, a + VMM_PAGE_SIZE, end, &level)) {
		uint64_t pte = pt_get(&as->pt, a, &level);
		if (pte & PTE_P) {
			out[VMM_FP_RESIDENT]++;
			uint64_t p = pte_pfn(pte);
			if (level == 2)
				p += (a >> VMM_PAGE_SHIFT) & (VMM_HUGE_PAGES - 1);
			const struct frame *f = frame_peek(&vmm->fa, p);
			if (f->owner != frame_owner_pack(as->id,
							 a >> VMM_PAGE_SHIFT))
				continue; /* another sharer's frame */
			if (f->pin)
				out[VMM_FP_PINNED]++;
			if (f->flags & FR_COMMIT)
				out[VMM_FP_COMMITTED]++;
		} else if ((pte & PTE_SWAP) &&
			   !(pte_pfn(pte) & VMM_REMOTE_SLOT)) {
			out[VMM_FP_SWAPPED]++;
		}
	}
}

struct vmm_fp_range *vmm_fp_watch(struct vmm_as *as, uint64_t va,
				  uint64_t len)
{
	struct vmm_fp_range *r = g_new0(struct vmm_fp_range, 1);
	r->start = va;
	r->end = len > UINT64_MAX - va ? UINT64_MAX : va + len;
	/* what the range holds already */
	vmm_fp_scan(as, va, len, r->fp.now);
	memcpy(r->fp.peak, r->fp.now, sizeof(r->fp.peak));
	if (!as->fp_ranges)
		as->fp_ranges = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(as->fp_ranges, r);
	return r;
}

const struct vmm_fp *vmm_fp_range_get(const struct vmm_fp_range *r)
{
	return &r->fp;
}

void vmm_fp_check_ranges(struct vmm_as *as)
{
	for (guint i = 0; as->fp_ranges && i < as->fp_ranges->len; i++) {
		const struct vmm_fp_range *r = as->fp_ranges->pdata[i];
		uint64_t fp[VMM_FP_NKINDS];
		vmm_fp_scan(as, r->start, r->end - r->start, fp);
		for (unsigned k = 0; k < VMM_FP_NKINDS; k++) {
			g_assert_cmpuint(fp[k], ==, r->fp.now[k]);
			g_assert_cmpuint(r->fp.peak[k], >=, r->fp.now[k]);
		}
	}
}
