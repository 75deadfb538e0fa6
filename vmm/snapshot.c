/*
 * vmm/snapshot.c - VMAs and resident pages in snapshots.
 *
 * Representation: a VMA record gathers the VMA (struct vmm_vma) with its
 * address space (id, name) and the pages counted while its segment was
 * built: resident (a frame attached, vmm_page_frame) and swapped (content
 * but no frame, vmm_page_version).  The segment holds the resident pages
 * with their content version tags; swapped-out pages are counted only.
 * Pages are found with the side-effect-free lookups the oracle uses, so a
 * snapshot is not a CPU access and does not change the run.
 */
#include "vmm/snapshot.h"

#include <elf.h>

#include "vmm/vmm_int.h"

struct vma_rec {
	uint32_t as_id;
	char *as_name;
	uint64_t start, end;
	uint32_t prot;
	int kind;
	char *name;
	uint64_t resident, swapped;
};

static const char *const kind_names[] = { "anon", "file", "file-private" };

static const struct vmstate_field vma_fields[] = {
	VMS_FIELD(struct vma_rec, as_id, "as"),
	VMS_FIELD_STR(struct vma_rec, as_name, "as_name"),
	VMS_FIELD(struct vma_rec, start, "start"),
	VMS_FIELD(struct vma_rec, end, "end"),
	VMS_FIELD(struct vma_rec, prot, "prot"),
	VMS_FIELD_ENUM(struct vma_rec, kind, "kind", kind_names,
		       G_N_ELEMENTS(kind_names)),
	VMS_FIELD_STR(struct vma_rec, name, "name"),
	VMS_FIELD(struct vma_rec, resident, "resident_pages"),
	VMS_FIELD(struct vma_rec, swapped, "swapped_pages"),
};
VMSTATE_DESC(vmm_vma_vmstate, "VMA", NT_ODPSIM_VMA, 1, vma_fields);

static unsigned pf_of(unsigned prot)
{
	return ((prot & VMM_PROT_READ) ? PF_R : 0) |
	       ((prot & VMM_PROT_WRITE) ? PF_W : 0) |
	       ((prot & VMM_PROT_EXEC) ? PF_X : 0);
}

void vmm_snapshot(const struct vmm *vmm, struct snapfile *sf)
{
	for (guint a = 0; a < vmm->as_by_id->len; a++) {
		const struct vmm_as *as = vmm->as_by_id->pdata[a];
		if (!as)
			continue;
		for (guint i = 0; i < as->vmas->len; i++) {
			const struct vmm_vma *v =
				&g_array_index(as->vmas, struct vmm_vma, i);
			struct vma_rec r = {
				.as_id = as->id, .as_name = as->name,
				.start = v->start, .end = v->end,
				.prot = v->prot, .kind = (int)v->kind,
				.name = v->name,
			};
			struct snap_seg *seg = snapfile_add_seg(
				sf, v->start, v->end - v->start, pf_of(v->prot));
			for (uint64_t va = v->start; va < v->end;
			     va += VMM_PAGE_SIZE) {
				uint64_t pfn, ver = 0;
				bool has = vmm_page_version(as, va, &ver);
				if (vmm_page_frame(as, va, &pfn)) {
					r.resident++;
					snap_seg_add_page(
						seg,
						(va - v->start) >> VMM_PAGE_SHIFT,
						has ? ver : 0);
				} else if (has) {
					r.swapped++;
				}
			}
			snapfile_add_record(sf, &vmm_vma_vmstate, &r);
		}
	}
}
