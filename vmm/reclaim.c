/*
 * vmm/reclaim.c - the reclaimer (a kswapd) and swap space.
 *
 * Representation: a clock over the frame array (second chance): the hand
 * skips free, busy, shared, orphaned, committed and pinned frames (the last
 * two counted), clears the accessed bit of a referenced page (frame and
 * PTE), and evicts a page found unreferenced.  An eviction is an
 * invalidation of the page (reason "reclaim") and, once every subscriber
 * has acknowledged, a write-back through the swap device queue when the
 * page is dirty; a clean anonymous page is dropped (it refaults as zeroes),
 * a clean file page is dropped and refaults from the device.  Swap is an
 * array of content versions (the page's "data") and a stack of free slots.
 *
 * The reclaimer wakes when free frames fall below the low watermark or a
 * fault waits for a frame, keeps up to reclaim_batch evictions in flight,
 * charges reclaim_scan_time per frame its hand passes, and sleeps at the
 * high watermark.  A full turn of the hand with nothing evictable nor
 * referenced and nothing in flight is out of memory: waiting faults fail
 * (vmm.oom).
 *
 * Workload assumed: memory pressure from a few processes; the clock costs
 * O(1) per frame looked at and allocates nothing.
 */
#include "sim/stats.h"
#include "vmm/vmm_int.h"

static const struct trace_kind tk_evict = { "vmm_evict", TRACE_INSTANT,
					    NULL };

#define SCAN_PER_STEP 256

static void kswapd_ev(struct sim *sim, void *obj, uint64_t arg);
SIM_EVKIND(ev_kswapd, "vmm_kswapd", kswapd_ev);

static void kswapd_sched(struct vmm *vmm, sim_time_t delay)
{
	if (vmm->kswapd_on)
		return;
	vmm->kswapd_on = true;
	sim_schedule_in(vmm->sim, delay, &ev_kswapd, vmm->comp, vmm, 0);
}

static bool reclaim_wanted(const struct vmm *vmm)
{
	return vmm->wait_frame ||
	       vmm->fa.nfree + vmm->evicting < vmm->wm_high + vmm->reserved;
}

void vmm_kswapd_maybe(struct vmm *vmm)
{
	if (vmm->wait_frame || vmm->fa.nfree < vmm->wm_low + vmm->reserved)
		kswapd_sched(vmm, 0);
}

void vmm_reclaim_kick(struct vmm *vmm)
{
	kswapd_sched(vmm, 0);
}

uint64_t vmm_swap_alloc(struct vmm *vmm)
{
	uint64_t s;
	if (vmm->swap_nfree) {
		s = vmm->swap_free[--vmm->swap_nfree];
	} else {
		if (vmm->swap_top >= vmm->swap_slots)
			return UINT64_MAX;
		s = vmm->swap_top++;
		if (s >= vmm->swap_cap) {
			vmm->swap_cap = vmm->swap_cap ? vmm->swap_cap * 2 : 64;
			vmm->swap_ver = g_renew(uint64_t, vmm->swap_ver,
						vmm->swap_cap);
			vmm->swap_free = g_renew(uint32_t, vmm->swap_free,
						 vmm->swap_cap);
		}
	}
	(*vmm->c.swap_pages)++;
	return s;
}

void vmm_swap_free(struct vmm *vmm, uint64_t slot)
{
	if (slot & VMM_REMOTE_SLOT) {
		vmm_remote_free(vmm, slot);
		return;
	}
	g_assert(slot < vmm->swap_top);
	vmm->swap_free[vmm->swap_nfree++] = (uint32_t)slot;
	(*vmm->c.swap_pages)--;
}

static bool swap_full(const struct vmm *vmm)
{
	return !vmm->swap_nfree && vmm->swap_top >= vmm->swap_slots;
}

/* A huge page under the hand: ask for a split (the clock comes back). */
static void evict_huge(struct vmm *vmm, uint64_t p)
{
	if (p % VMM_HUGE_PAGES)
		return;
	uint64_t va;
	struct vmm_as *as = vmm_as_of_owner(vmm, frame_at(&vmm->fa, p)->owner, &va);
	if (as)
		vmm_huge_split(as, va);
}

/* Look at one frame; true when that was progress (eviction started or a
 * reference bit cleared). */
static bool clock_look(struct vmm *vmm, uint64_t p)
{
	const struct frame *pf = frame_peek(&vmm->fa, p);
	if (pf->flags & (FR_FREE | FR_BUSY | FR_ORPHAN) || pf->map != 1 ||
	    pf->owner == FRAME_NO_OWNER)
		return false;
	struct frame *f = frame_at(&vmm->fa, p);
	if (f->flags & FR_COMMIT) {
		(*vmm->c.skipped_committed)++;
		return false;
	}
	if (f->pin) {
		(*vmm->c.skipped_pinned)++;
		return false;
	}
	uint64_t va;
	struct vmm_as *as = vmm_as_of_owner(vmm, f->owner, &va);
	int level;
	uint64_t *e = pt_leaf(&as->pt, va, &level);
	g_assert(e && (*e & PTE_P));
	if ((f->flags & FR_ACC) || (*e & PTE_A)) {
		f->flags &= (uint8_t)~FR_ACC;
		*e &= ~(uint64_t)PTE_A;
		return true;
	}
	if (level == 2) {
		evict_huge(vmm, p);
		return false;
	}
	if ((f->flags & FR_DIRTY) && swap_full(vmm))
		return false;
	return vmm_evict_start(vmm, p);
}

static void kswapd_ev(struct sim *sim, void *obj, uint64_t arg)
{
	(void)sim;
	(void)arg;
	struct vmm *vmm = obj;
	vmm->kswapd_on = false;
	if (!reclaim_wanted(vmm)) {
		vmm->clock_idle = 0;
		return;
	}
	unsigned scanned = 0;
	while (scanned < SCAN_PER_STEP &&
	       vmm->evicting < vmm->cfg.reclaim_batch && reclaim_wanted(vmm) &&
	       vmm->clock_idle < vmm->fa.n) {
		uint64_t p = vmm->clock_hand;
		vmm->clock_hand = p + 1 == vmm->fa.n ? 0 : p + 1;
		scanned++;
		vmm->clock_idle++;
		if (clock_look(vmm, p))
			vmm->clock_idle = 0;
	}
	if (vmm->clock_idle >= vmm->fa.n) {
		vmm->clock_idle = 0;
		if (vmm->evicting == 0) {
			/* a full turn found nothing it may take */
			vmm_fail_frame_waiters(vmm);
			return;
		}
	}
	if (vmm->evicting >= vmm->cfg.reclaim_batch)
		return; /* an eviction's end wakes us */
	if (reclaim_wanted(vmm)) {
		sim_time_t t = scanned * vmm->cfg.reclaim_scan_time;
		kswapd_sched(vmm, t ? t : SIM_NS);
	}
}

static void evict_done(struct vmm *vmm, struct vmm_inval *iv);

static void evict_done_ev(struct sim *sim, void *obj, uint64_t arg)
{
	(void)sim;
	(void)arg;
	struct vmm_inval *iv = obj;
	evict_done(iv->as->vmm, iv);
}
SIM_EVKIND(ev_evict_done, "vmm_evict_done", evict_done_ev);

static void evict_finish(struct vmm *vmm, struct vmm_inval *iv)
{
	g_assert(vmm->evicting > 0);
	vmm->evicting--;
	vmm_inval_end(vmm, iv);
	vmm_wake(vmm);
	if (reclaim_wanted(vmm))
		kswapd_sched(vmm, 0);
}

/* Put the page back as it was (the eviction is abandoned). */
static void evict_abort(struct vmm *vmm, struct vmm_inval *iv, uint64_t *e)
{
	if (iv->arg != UINT64_MAX) /* a write-back had started */
		vmm_frame_gone(vmm, iv->pfn, VMM_FRAME_KEPT);
	*e &= ~(uint64_t)PTE_BUSY;
	frame_at(&vmm->fa, iv->pfn)->flags &= (uint8_t)~FR_BUSY;
	if (iv->arg != UINT64_MAX)
		vmm_swap_free(vmm, iv->arg);
	evict_finish(vmm, iv);
}

static void evict_acked(struct vmm *vmm, struct vmm_inval *iv)
{
	struct vmm_as *as = iv->as;
	int level;
	uint64_t *e = pt_leaf(&as->pt, iv->start, &level);
	g_assert(e && level == 1 && (*e & PTE_P) && pte_pfn(*e) == iv->pfn);
	struct frame *f = frame_at(&vmm->fa, iv->pfn);
	iv->arg = UINT64_MAX;
	if (*e & PTE_ZAP) { /* unmapped meanwhile: we free it */
		*e &= ~(uint64_t)(PTE_ZAP | PTE_BUSY);
		f->flags &= (uint8_t)~FR_BUSY;
		vmm_unmap_page_now(as, iv->start, e, VMM_FRAME_FREED);
		evict_finish(vmm, iv);
		return;
	}
	if (f->pin || (f->flags & FR_COMMIT) || f->map != 1) {
		if (f->pin)
			(*vmm->c.skipped_pinned)++;
		evict_abort(vmm, iv, e);
		return;
	}
	*e |= PTE_BUSY;
	if (f->flags & FR_DIRTY) {
		iv->arg = vmm_swap_alloc(vmm);
		if (iv->arg == UINT64_MAX) {
			evict_abort(vmm, iv, e);
			return;
		}
		(*vmm->c.writebacks)++;
		/* the write-back I/O reads the page from here on: DMA that
		 * lands later is not in the saved copy */
		vmm_frame_gone(vmm, iv->pfn, VMM_FRAME_COPYING);
		sim_schedule_in(vmm->sim, vmm_dev_xfer(vmm, VMM_PAGE_SIZE),
				&ev_evict_done, vmm->comp, iv, 0);
		return;
	}
	evict_done(vmm, iv);
}

static void evict_done(struct vmm *vmm, struct vmm_inval *iv)
{
	struct vmm_as *as = iv->as;
	int level;
	uint64_t *e = pt_leaf(&as->pt, iv->start, &level);
	g_assert(e && level == 1 && (*e & PTE_P) && pte_pfn(*e) == iv->pfn);
	struct frame *f = frame_at(&vmm->fa, iv->pfn);
	if (*e & PTE_ZAP) {
		*e &= ~(uint64_t)(PTE_ZAP | PTE_BUSY);
		f->flags &= (uint8_t)~FR_BUSY;
		if (iv->arg != UINT64_MAX)
			vmm_swap_free(vmm, iv->arg);
		vmm_unmap_page_now(as, iv->start, e, VMM_FRAME_FREED);
		evict_finish(vmm, iv);
		return;
	}
	if ((f->flags & FR_COMMIT) || f->pin) {
		/* committed or pinned during the write-back: keep it */
		evict_abort(vmm, iv, e);
		return;
	}
	const struct vmm_vma *v = vmm_vma_at(as, iv->start);
	g_assert(v);
	uint64_t npte;
	/* the hook first: DMA that landed before now is in what is saved */
	vmm_frame_gone(vmm, iv->pfn, VMM_FRAME_RECLAIMED);
	if (iv->arg != UINT64_MAX) {
		vmm->swap_ver[iv->arg] = f->version;
		npte = pte_make(iv->arg, PTE_SWAP);
	} else {
		npte = v->kind == VMM_VMA_ANON ? 0 : PTE_EVICTED;
	}
	vmm_trace(vmm, as, &tk_evict, iv->start, iv->pfn, VMM_PAGE_SIZE,
		  iv->arg != UINT64_MAX ? "writeback" : "clean");
	(*vmm->c.resident)--;
	vmm_fp_count(as, iv->start, VMM_FP_RESIDENT, -1);
	if (npte & PTE_SWAP)
		vmm_fp_count(as, iv->start, VMM_FP_SWAPPED, 1);
	frame_release(&vmm->fa, iv->pfn);
	pt_set(&as->pt, iv->start, npte);
	(*vmm->c.reclaim)++;
	evict_finish(vmm, iv);
}

bool vmm_evict_start(struct vmm *vmm, uint64_t p)
{
	struct frame *f = frame_at(&vmm->fa, p);
	if (f->flags & (FR_FREE | FR_BUSY | FR_ORPHAN | FR_COMMIT | FR_HUGE) ||
	    f->map != 1 || f->pin || f->owner == FRAME_NO_OWNER)
		return false;
	uint64_t va;
	struct vmm_as *as = vmm_as_of_owner(vmm, f->owner, &va);
	f->flags |= FR_BUSY;
	vmm->evicting++;
	struct vmm_inval *iv = vmm_inval_new(as, va, va + VMM_PAGE_SIZE,
					     VMM_REASON_RECLAIM, evict_acked);
	iv->pfn = p;
	vmm_inval_go(vmm, iv);
	return true;
}

uint64_t vmm_reclaim_force(struct vmm *vmm, uint64_t n)
{
	uint64_t started = 0;
	for (uint64_t looked = 0; started < n && looked < 2 * vmm->fa.n;
	     looked++) {
		uint64_t p = vmm->clock_hand;
		vmm->clock_hand = p + 1 == vmm->fa.n ? 0 : p + 1;
		struct frame *f = frame_at(&vmm->fa, p);
		if (f->flags & FR_HUGE)
			continue;
		if (f->pin && !(f->flags & (FR_FREE | FR_ORPHAN))) {
			(*vmm->c.skipped_pinned)++;
			continue;
		}
		f->flags &= (uint8_t)~FR_ACC;
		if (vmm_evict_start(vmm, p))
			started++;
	}
	return started;
}
