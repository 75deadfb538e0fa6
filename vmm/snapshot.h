/*
 * vmm/snapshot.h - a host's memory in a snapshot (sim/snapfile.h): one
 * NT_ODPSIM_VMA record and one PT_LOAD segment per VMA of every address
 * space, in address-space id then address order.
 */
#ifndef VMM_SNAPSHOT_H
#define VMM_SNAPSHOT_H

#include "sim/snapfile.h"
#include "sim/vmstate.h"

struct vmm;

extern const struct vmstate_desc vmm_vma_vmstate; /* NT_ODPSIM_VMA */

/* Append the VMA records and segments (resident pages with their content
 * versions).  Side-effect free: no accessed bit, no event, no counter. */
void vmm_snapshot(const struct vmm *vmm, struct snapfile *sf);

#endif
