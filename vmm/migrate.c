/*
 * vmm/migrate.c - what live migration needs of the memory manager: a
 * dirty log, and remote pages for post-copy.
 *
 * Representation: the dirty log is a GHashTable set of page keys
 * (VMM_PAGE_KEY: address-space id << 40 | page number), filled from the
 * owner of each frame written; keys rather than frame numbers, because a
 * page logged and then moved or swapped before the harvest must still be
 * resent.  A remote page is a not-present PTE_SWAP entry whose slot
 * number carries VMM_REMOTE_SLOT: its version lives in remote_ver, and a
 * fault on it waits for the migration channel (vmm_set_remote) instead of
 * the swap device.  Remote slots are handed out once, in order, and never
 * reused: a migration makes each page remote at most once.
 *
 * Workload assumed: a migration logs a few hundred thousand pages per
 * round at most; a hash insert per logged write is cheap next to the DMA
 * that caused it, and nothing is logged when no migration runs (one
 * predictable branch per write).
 */
#include "vmm/vmm_int.h"

#include "sim/stats.h"

void vmm_dlog_pfn(struct vmm *vmm, uint64_t pfn)
{
	const struct frame *f = frame_peek(&vmm->fa, pfn);
	if (f->owner == FRAME_NO_OWNER)
		return;
	uint64_t key = VMM_PAGE_KEY(frame_owner_as(f->owner),
				    frame_owner_vpn(f->owner));
	g_hash_table_add(vmm->dlog, GSIZE_TO_POINTER((gsize)key));
}

void vmm_dirty_log_start(struct vmm *vmm, bool dma)
{
	if (!vmm->dlog)
		vmm->dlog = g_hash_table_new(g_direct_hash, g_direct_equal);
	vmm->dlog_dma = dma;
}

void vmm_dirty_log_stop(struct vmm *vmm)
{
	if (vmm->dlog)
		g_hash_table_destroy(vmm->dlog);
	vmm->dlog = NULL;
	vmm->dlog_dma = false;
}

static gint cmp_u64(gconstpointer a, gconstpointer b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

void vmm_keys_sort_unique(GArray *keys)
{
	g_array_sort(keys, cmp_u64);
	guint w = 0;
	for (guint i = 0; i < keys->len; i++) {
		uint64_t k = g_array_index(keys, uint64_t, i);
		if (!w || g_array_index(keys, uint64_t, w - 1) != k)
			g_array_index(keys, uint64_t, w++) = k;
	}
	g_array_set_size(keys, w);
}

GArray *vmm_dirty_log_harvest(struct vmm *vmm)
{
	GArray *v = g_array_new(FALSE, FALSE, sizeof(uint64_t));
	if (!vmm->dlog)
		return v;
	GHashTableIter it;
	gpointer k;
	g_hash_table_iter_init(&it, vmm->dlog);
	while (g_hash_table_iter_next(&it, &k, NULL)) {
		uint64_t key = (uint64_t)GPOINTER_TO_SIZE(k);
		g_array_append_val(v, key);
	}
	g_hash_table_remove_all(vmm->dlog);
	g_array_sort(v, cmp_u64); /* a set: already unique */
	return v;
}

GArray *vmm_resident_keys(struct vmm *vmm)
{
	GArray *v = g_array_new(FALSE, FALSE, sizeof(uint64_t));
	for (guint i = 0; i < vmm->as_by_id->len; i++) {
		struct vmm_as *as = vmm->as_by_id->pdata[i];
		if (!as)
			continue;
		int level;
		uint64_t end = 1ULL << VMM_VA_BITS;
		for (uint64_t va = pt_next(&as->pt, 0, end, &level); va < end;
		     va = pt_next(&as->pt, va + VMM_PAGE_SIZE, end, &level)) {
			uint64_t pte = pt_get(&as->pt, va, &level);
			if (!(pte & PTE_P))
				continue;
			uint64_t key = VMM_PAGE_KEY(as->id,
						    va >> VMM_PAGE_SHIFT);
			g_array_append_val(v, key);
		}
	}
	return v; /* ids ascend with the array, addresses with the walk */
}

struct vmm_as *vmm_key_as(struct vmm *vmm, uint64_t key, uint64_t *va)
{
	uint32_t id = VMM_KEY_AS(key);
	if (id == VMM_AS_NONE || id > vmm->as_by_id->len)
		return NULL;
	*va = VMM_KEY_VPN(key) << VMM_PAGE_SHIFT;
	return vmm->as_by_id->pdata[id - 1];
}

bool vmm_key_version(struct vmm *vmm, uint64_t key, uint64_t *version)
{
	uint64_t va;
	struct vmm_as *as = vmm_key_as(vmm, key, &va);
	return as && vmm_page_version(as, va, version);
}

void vmm_key_set_version(struct vmm *vmm, uint64_t key, uint64_t version)
{
	uint64_t va, pfn;
	struct vmm_as *as = vmm_key_as(vmm, key, &va);
	if (as && vmm_page_frame(as, va, &pfn))
		frame_at(&vmm->fa, pfn)->version = version;
}

void vmm_sync(struct vmm *vmm)
{
	if (vmm->hook)
		vmm->hook(vmm->hook_ctx, FRAME_NIL, VMM_FRAME_SYNC);
}

void vmm_set_remote(struct vmm *vmm, vmm_remote_fn fn, void *ctx)
{
	vmm->remote_fn = fn;
	vmm->remote_ctx = ctx;
}

static uint64_t remote_slot(struct vmm *vmm, uint64_t version)
{
	if (vmm->remote_top == vmm->remote_cap) {
		vmm->remote_cap = vmm->remote_cap ? 2 * vmm->remote_cap : 1024;
		vmm->remote_ver = g_renew(uint64_t, vmm->remote_ver,
					  vmm->remote_cap);
	}
	vmm->remote_ver[vmm->remote_top] = version;
	vmm->remote_left++;
	return vmm->remote_top++ | VMM_REMOTE_SLOT;
}

void vmm_remote_free(struct vmm *vmm, uint64_t slot)
{
	g_assert(slot & VMM_REMOTE_SLOT);
	g_assert((slot & ~VMM_REMOTE_SLOT) < vmm->remote_top);
	g_assert(vmm->remote_left > 0);
	vmm->remote_left--;
}

/* Page @va of @as (4 KiB leaf on frame @p) leaves for a remote slot. */
static void page_to_remote(struct vmm_as *as, uint64_t va, uint64_t *e)
{
	struct vmm *vmm = as->vmm;
	uint64_t p = pte_pfn(*e);
	struct frame *f = frame_at(&vmm->fa, p);
	uint64_t commit = *e & PTE_COMMIT;
	uint64_t slot = remote_slot(vmm, f->version);
	vmm_unmap_page_now(as, va, e, VMM_FRAME_MOVED);
	if (commit)
		vmm->reserved++; /* the page stays committed: its frame
				  * comes from the reserve when it returns */
	pt_set(&as->pt, va, pte_make(slot, PTE_SWAP | commit));
}

void vmm_make_remote(struct vmm *vmm, GArray *remote, GArray *kept)
{
	for (guint i = 0; i < vmm->as_by_id->len; i++) {
		struct vmm_as *as = vmm->as_by_id->pdata[i];
		if (!as)
			continue;
		int level;
		uint64_t end = 1ULL << VMM_VA_BITS;
		for (uint64_t va = pt_next(&as->pt, 0, end, &level); va < end;
		     va = pt_next(&as->pt, va + VMM_PAGE_SIZE, end, &level)) {
			uint64_t *e = pt_leaf(&as->pt, va, &level);
			if (!(*e & PTE_P))
				continue;
			if (level == 2 && !(*e & PTE_BUSY)) {
				vmm_split_now(as, va);
				e = pt_leaf(&as->pt, va, &level);
			}
			uint64_t key = VMM_PAGE_KEY(as->id,
						    va >> VMM_PAGE_SHIFT);
			const struct frame *f =
				level == 1 ? frame_at(&vmm->fa, pte_pfn(*e)) : NULL;
			if (!f || (*e & PTE_BUSY) || f->pin || f->map > 1 ||
			    (f->flags & FR_BUSY)) {
				g_array_append_val(kept, key);
				continue;
			}
			page_to_remote(as, va, e);
			g_array_append_val(remote, key);
		}
	}
}

bool vmm_page_remote(const struct vmm_as *as, uint64_t va)
{
	int level;
	uint64_t pte = pt_get(&as->pt, va & ~(VMM_PAGE_SIZE - 1), &level);
	return (pte & PTE_SWAP) && (pte_pfn(pte) & VMM_REMOTE_SLOT);
}

uint64_t vmm_remote_left(const struct vmm *vmm)
{
	return vmm->remote_left;
}
