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
