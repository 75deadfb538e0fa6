/*
 * vmm/query.c - read-only questions the driver asks the VMM about a page,
 * with no side effect on accessed/dirty bits.
 */
#include "vmm/vmm_int.h"

bool vmm_page_committed(struct vmm_as *as, uint64_t va)
{
	int level;
	uint64_t pte = pt_get(&as->pt, va & ~(VMM_PAGE_SIZE - 1), &level);
	return (pte & PTE_COMMIT) != 0;
}

bool vmm_page_frame(const struct vmm_as *as, uint64_t va, uint64_t *pfn)
{
	int level;
	uint64_t pte = pt_get(&as->pt, va & ~(VMM_PAGE_SIZE - 1), &level);
	if (!(pte & PTE_P))
		return false;
	*pfn = pte_pfn(pte);
	if (level == 2) /* inside a huge leaf */
		*pfn += (va & (VMM_HUGE_SIZE - 1)) >> VMM_PAGE_SHIFT;
	return true;
}

bool vmm_page_version(const struct vmm_as *as, uint64_t va,
		      uint64_t *version)
{
	int level;
	uint64_t pte = pt_get(&as->pt, va & ~(VMM_PAGE_SIZE - 1), &level);
	uint64_t pfn;
	if (vmm_page_frame(as, va, &pfn)) {
		*version = frame_peek(&as->vmm->fa, pfn)->version;
		return true;
	}
	if (pte & PTE_SWAP) {
		*version = vmm_slot_version(as->vmm, pte_pfn(pte));
		return true;
	}
	return false; /* never touched, or dropped */
}
