/*
 * vmm/move.c - page moves: compaction, NUMA migration, huge-page collapse
 * and split.
 *
 * Representation: a move is an invalidation operation (notifier.c) that
 * carries its source and destination frames.  Protocol, after Linux
 * migrate_pages(): refuse a pinned page up front (vmm.move_failed_pinned);
 * take a destination frame; notify the page's subscribers (suspend for
 * SUSPEND-mode ones, invalidate_start for the others) and wait for every
 * acknowledgement; check the pin count again (a pin taken meanwhile fails
 * the move); make the entry busy (accesses wait), copy for
 * pages * 4 KiB / copy_bandwidth; then point the entry at the new frame,
 * copy the content version and the dirty/accessed/committed state, free
 * the old frame (the frame hook sees VMM_FRAME_MOVED first) and end the
 * invalidation (resume with the new frames, or invalidate_end).
 *
 * Compaction runs two scanners like Linux's: the migrate scanner walks up
 * from the bottom of the range looking for movable pages, the free scanner
 * walks down from the top looking for free frames; when they meet, a new
 * round starts.  Each looks at up to SCAN_LIMIT frames per step; the
 * per-block free counts let the free scanner pass a 2 MiB block with no
 * free frame, and the migrate scanner a wholly free one, in one step
 * (as Linux's isolate_freepages skips blocks unsuitable as a target),
 * each passed frame still charged to the step's limit, so what a step
 * finds is what a frame-by-frame scan finds.
 *
 * Workload assumed: a daemon moving thousands of pages per second; the
 * scanners are bounded per step and nothing is allocated per move.
 */
#include "sim/stats.h"
#include "vmm/vmm_int.h"

static const struct trace_kind tk_move = { "vmm_move", TRACE_INSTANT, NULL };
static const struct trace_kind tk_move_fail = { "vmm_move_failed",
						TRACE_INSTANT, NULL };

#define SCAN_LIMIT 4096

static bool movable(const struct frame *f)
{
	return !(f->flags & (FR_FREE | FR_BUSY | FR_ORPHAN | FR_HUGE)) &&
	       f->map == 1 && f->owner != FRAME_NO_OWNER;
}

static void move_copy_ev(struct sim *sim, void *obj, uint64_t arg);
SIM_EVKIND(ev_move_copy, "vmm_move_copy", move_copy_ev);

static void move_end(struct vmm *vmm, struct vmm_inval *iv, bool ok,
		     uint64_t pfn)
{
	vmm_move_done_fn done = iv->mdone;
	void *ctx = iv->mctx;
	vmm_inval_end(vmm, iv);
	if (done)
		done(ctx, ok, pfn);
	vmm_wake(vmm);
}

/* Undo a move before its copy: the page stays in its frame. */
static void move_abort(struct vmm *vmm, struct vmm_inval *iv, uint64_t *e)
{
	struct frame *src = frame_at(&vmm->fa, iv->pfn);
	frame_release(&vmm->fa, iv->dst);
	src->flags &= (uint8_t)~FR_BUSY;
	uint64_t *np = vmm_inval_pfns(iv);
	if (*e & PTE_ZAP) {
		*e &= ~(uint64_t)(PTE_ZAP | PTE_BUSY);
		vmm_unmap_page_now(iv->as, iv->start, e, VMM_FRAME_FREED);
		np[0] = VMM_NO_PFN;
	} else {
		*e &= ~(uint64_t)PTE_BUSY;
		np[0] = iv->pfn;
	}
	(*vmm->c.move_failed)++;
	vmm_trace(vmm, iv->as, &tk_move_fail, iv->start, iv->pfn, VMM_PAGE_SIZE,
		  src->pin ? "pinned" : "unmapped");
	move_end(vmm, iv, false, iv->pfn);
}

static void move_acked(struct vmm *vmm, struct vmm_inval *iv)
{
	int level;
	uint64_t *e = pt_leaf(&iv->as->pt, iv->start, &level);
	g_assert(e && level == 1 && pte_pfn(*e) == iv->pfn);
	struct frame *src = frame_at(&vmm->fa, iv->pfn);
	if (src->pin || (*e & PTE_ZAP)) {
		if (src->pin)
			(*vmm->c.move_failed_pinned)++;
		move_abort(vmm, iv, e);
		return;
	}
	*e |= PTE_BUSY;
	/* the copy reads the page from now until its end: DMA that lands
	 * meanwhile may or may not be in it, and the frame is discarded
	 * after it: such a write is lost (the oracle's view) */
	vmm_frame_gone(vmm, iv->pfn, VMM_FRAME_COPYING);
	sim_schedule_in(vmm->sim, vmm_copy_time(vmm, 1), &ev_move_copy,
			vmm->comp, iv, 0);
}

static void move_copy_ev(struct sim *sim, void *obj, uint64_t arg)
{
	(void)sim;
	(void)arg;
	struct vmm_inval *iv = obj;
	struct vmm *vmm = iv->as->vmm;
	int level;
	uint64_t *e = pt_leaf(&iv->as->pt, iv->start, &level);
	g_assert(e && level == 1 && pte_pfn(*e) == iv->pfn);
	struct frame *src = frame_at(&vmm->fa, iv->pfn);
	struct frame *dst = frame_at(&vmm->fa, iv->dst);
	if (*e & PTE_ZAP) {
		move_abort(vmm, iv, e);
		return;
	}
	/* the hook first: DMA that landed before this instant is part of
	 * the content the copy takes */
	vmm_frame_gone(vmm, iv->pfn, VMM_FRAME_MOVED);
	dst->version = src->version;
	dst->owner = src->owner;
	dst->map = 1;
	dst->flags = (uint8_t)((dst->flags & FR_ONLIST) |
			       (src->flags & (FR_DIRTY | FR_ACC | FR_COMMIT)));
	src->flags &= (uint8_t)~FR_BUSY;
	frame_release(&vmm->fa, iv->pfn);
	*e = pte_make(iv->dst, *e & PTE_FLAGS & ~(uint64_t)PTE_BUSY);
	(*vmm->c.moves)++;
	vmm_inval_pfns(iv)[0] = iv->dst;
	vmm_trace(vmm, iv->as, &tk_move, iv->start, iv->dst, VMM_PAGE_SIZE,
		  vmm_reason_names[iv->reason]);
	move_end(vmm, iv, true, iv->dst);
}

/* Start moving frame @src to the frame @dst already taken. */
static void move_start(struct vmm *vmm, uint64_t src, uint64_t dst,
		       enum vmm_reason reason, vmm_move_done_fn done,
		       void *ctx)
{
	struct frame *s = frame_at(&vmm->fa, src);
	uint64_t va;
	struct vmm_as *as = vmm_as_of_owner(vmm, s->owner, &va);
	g_assert(as);
	s->flags |= FR_BUSY;
	frame_at(&vmm->fa, dst)->flags |= FR_BUSY;
	struct vmm_inval *iv = vmm_inval_new(as, va, va + VMM_PAGE_SIZE, reason,
					     move_acked);
	iv->pfn = src;
	iv->dst = dst;
	iv->mdone = done;
	iv->mctx = ctx;
	vmm_inval_pfns(iv)[0] = src;
	vmm_inval_go(vmm, iv);
}

static bool check_pinned(struct vmm *vmm, uint64_t pfn)
{
	struct frame *f = frame_at(&vmm->fa, pfn);
	if (!f->pin)
		return false;
	(*vmm->c.move_failed_pinned)++;
	uint64_t va = 0;
	struct vmm_as *owner = vmm_as_of_owner(vmm, f->owner, &va);
	vmm_trace(vmm, owner, &tk_move_fail, va, pfn, VMM_PAGE_SIZE, "pinned");
	return true;
}

bool vmm_move_frame(struct vmm *vmm, uint64_t pfn, int node,
		    enum vmm_reason reason, vmm_move_done_fn done, void *ctx)
{
	g_assert(vmm_reason_is_move(reason));
	if (pfn >= vmm->fa.n || !movable(frame_peek(&vmm->fa, pfn)))
		return false;
	if (check_pinned(vmm, pfn))
		return false;
	if (vmm->fa.nfree <= vmm->reserved)
		return false;
	uint64_t dst = frame_alloc_one(&vmm->fa, node);
	if (dst == FRAME_NIL)
		return false;
	if (node >= 0 && frame_node(&vmm->fa, dst) != (unsigned)node) {
		frame_release(&vmm->fa, dst);
		return false;
	}
	move_start(vmm, pfn, dst, reason, done, ctx);
	return true;
}

bool vmm_compact_step(struct vmm *vmm, uint64_t lo, uint64_t hi,
		      vmm_move_done_fn done, void *ctx)
{
	if (hi > vmm->fa.n)
		hi = vmm->fa.n;
	if (lo >= hi)
		return false;
	if (vmm->mig_scan < lo || vmm->mig_scan >= hi)
		vmm->mig_scan = lo;
	if (vmm->free_scan < lo || vmm->free_scan >= hi)
		vmm->free_scan = hi - 1;
	if (vmm->fa.nfree <= vmm->reserved)
		return false;
	uint64_t budget = SCAN_LIMIT;
	/* migrate scanner: the next movable page from the bottom; a wholly
	 * free 2 MiB block holds none, and is passed in one step (charged
	 * frame by frame to the budget, as if looked at) */
	uint64_t src = UINT64_MAX;
	bool fresh = true; /* the block under the scanner is not checked */
	while (budget && vmm->mig_scan < vmm->free_scan) {
		uint64_t p = vmm->mig_scan;
		uint64_t b = p >> FRAME_BLOCK_SHIFT;
		if ((fresh || !(p & (FRAME_BLOCK - 1))) &&
		    frame_block_free(&vmm->fa, b) ==
			    frame_block_size(&vmm->fa, b)) {
			uint64_t k = ((b + 1) << FRAME_BLOCK_SHIFT) - p;
			if (k > budget)
				k = budget;
			if (k > vmm->free_scan - p)
				k = vmm->free_scan - p;
			vmm->mig_scan += k;
			budget -= k;
			continue;
		}
		fresh = false;
		budget--;
		vmm->mig_scan++;
		if (!movable(frame_peek(&vmm->fa, p)))
			continue;
		if (check_pinned(vmm, p))
			return false; /* this step's attempt failed */
		src = p;
		break;
	}
	if (src == UINT64_MAX) {
		if (vmm->mig_scan >= vmm->free_scan) { /* a new round */
			vmm->mig_scan = lo;
			vmm->free_scan = hi - 1;
		}
		return false;
	}
	/* free scanner: a free frame from the top, above the page; a 2 MiB
	 * block with no free frame is passed in one step (charged frame by
	 * frame to the budget, as if looked at) */
	budget = SCAN_LIMIT;
	fresh = true;
	while (budget && vmm->free_scan > src) {
		uint64_t p = vmm->free_scan;
		uint64_t b = p >> FRAME_BLOCK_SHIFT;
		if ((fresh || (p & (FRAME_BLOCK - 1)) == FRAME_BLOCK - 1) &&
		    !frame_block_free(&vmm->fa, b)) {
			uint64_t k = p - (b << FRAME_BLOCK_SHIFT) + 1;
			if (k > budget)
				k = budget;
			if (k > vmm->free_scan - src)
				k = vmm->free_scan - src;
			vmm->free_scan -= k;
			budget -= k;
			continue;
		}
		fresh = false;
		budget--;
		vmm->free_scan--;
		if (frame_take(&vmm->fa, p)) {
			move_start(vmm, src, p, VMM_REASON_MOVE_COMPACTION,
				   done, ctx);
			return true;
		}
	}
	if (vmm->free_scan <= src) {
		vmm->mig_scan = lo;
		vmm->free_scan = hi - 1;
	} else {
		vmm->mig_scan = src; /* look at it again next step */
	}
	return false;
}

/* ---- huge pages ---- */

static void collapse_copy_ev(struct sim *sim, void *obj, uint64_t arg);
SIM_EVKIND(ev_collapse_copy, "vmm_collapse_copy", collapse_copy_ev);

static void collapse_abort(struct vmm *vmm, struct vmm_inval *iv)
{
	struct vmm_as *as = iv->as;
	uint64_t *np = vmm_inval_pfns(iv);
	for (uint64_t i = 0; i < VMM_HUGE_PAGES; i++) {
		uint64_t va = iv->start + (i << VMM_PAGE_SHIFT);
		int level;
		uint64_t *e = pt_leaf(&as->pt, va, &level);
		g_assert(e && level == 1 && (*e & PTE_P));
		uint64_t p = pte_pfn(*e);
		frame_at(&vmm->fa, p)->flags &= (uint8_t)~FR_BUSY;
		frame_release(&vmm->fa, iv->dst + i);
		if (*e & PTE_ZAP) {
			*e &= ~(uint64_t)(PTE_ZAP | PTE_BUSY);
			vmm_unmap_page_now(as, va, e, VMM_FRAME_FREED);
			np[i] = VMM_NO_PFN;
		} else {
			*e &= ~(uint64_t)PTE_BUSY;
			np[i] = p;
		}
	}
	(*vmm->c.move_failed)++;
	move_end(vmm, iv, false, VMM_NO_PFN);
}

static bool collapse_blocked(struct vmm *vmm, struct vmm_inval *iv)
{
	bool blocked = false;
	for (uint64_t i = 0; i < VMM_HUGE_PAGES; i++) {
		int level;
		uint64_t e = pt_get(&iv->as->pt,
				    iv->start + (i << VMM_PAGE_SHIFT), &level);
		if (e & PTE_ZAP)
			blocked = true;
		if (frame_at(&vmm->fa, pte_pfn(e))->pin) {
			(*vmm->c.move_failed_pinned)++;
			blocked = true;
		}
	}
	return blocked;
}

static void collapse_acked(struct vmm *vmm, struct vmm_inval *iv)
{
	if (collapse_blocked(vmm, iv)) {
		collapse_abort(vmm, iv);
		return;
	}
	for (uint64_t i = 0; i < VMM_HUGE_PAGES; i++) {
		int level;
		uint64_t *e = pt_leaf(&iv->as->pt,
				      iv->start + (i << VMM_PAGE_SHIFT), &level);
		*e |= PTE_BUSY;
	}
	sim_schedule_in(vmm->sim, vmm_copy_time(vmm, VMM_HUGE_PAGES),
			&ev_collapse_copy, vmm->comp, iv, 0);
}

static void collapse_copy_ev(struct sim *sim, void *obj, uint64_t arg)
{
	(void)sim;
	(void)arg;
	struct vmm_inval *iv = obj;
	struct vmm_as *as = iv->as;
	struct vmm *vmm = as->vmm;
	bool zap = false;
	for (uint64_t i = 0; i < VMM_HUGE_PAGES; i++) {
		int level;
		if (pt_get(&as->pt, iv->start + (i << VMM_PAGE_SHIFT), &level) &
		    PTE_ZAP)
			zap = true;
	}
	if (zap) {
		collapse_abort(vmm, iv);
		return;
	}
	uint64_t flags = PTE_P | PTE_W | PTE_COMMIT;
	uint64_t any = 0;
	uint64_t *np = vmm_inval_pfns(iv);
	for (uint64_t i = 0; i < VMM_HUGE_PAGES; i++) {
		uint64_t va = iv->start + (i << VMM_PAGE_SHIFT);
		int level;
		uint64_t pte = pt_get(&as->pt, va, &level);
		uint64_t p = pte_pfn(pte);
		struct frame *s = frame_at(&vmm->fa, p);
		struct frame *d = frame_at(&vmm->fa, iv->dst + i);
		flags &= pte;
		any |= pte & (PTE_D | PTE_A);
		vmm_frame_gone(vmm, p, VMM_FRAME_MOVED); /* before the copy */
		d->version = s->version;
		d->owner = s->owner;
		d->map = 1;
		d->flags = (uint8_t)((d->flags & FR_ONLIST) | FR_HUGE |
				     (s->flags &
				      (FR_DIRTY | FR_ACC | FR_COMMIT)));
		s->flags &= (uint8_t)~FR_BUSY;
		frame_release(&vmm->fa, p);
		pt_set(&as->pt, va, 0);
		np[i] = iv->dst + i;
	}
	pt_set_huge(&as->pt, iv->start, pte_make(iv->dst, flags | any));
	(*vmm->c.moves) += VMM_HUGE_PAGES;
	(*vmm->c.collapses)++;
	vmm_trace(vmm, iv->as, &tk_move, iv->start, iv->dst, VMM_HUGE_SIZE,
		  "huge_collapse");
	move_end(vmm, iv, true, iv->dst);
}

bool vmm_huge_collapse(struct vmm_as *as, uint64_t va, vmm_move_done_fn done,
		       void *ctx)
{
	struct vmm *vmm = as->vmm;
	uint64_t base = va & ~(VMM_HUGE_SIZE - 1);
	const struct vmm_vma *v = vmm_vma_at(as, base);
	if (!v || v->kind != VMM_VMA_ANON || !(v->prot & VMM_PROT_WRITE) ||
	    v->end < base + VMM_HUGE_SIZE)
		return false;
	uint64_t commit = 0;
	for (uint64_t i = 0; i < VMM_HUGE_PAGES; i++) {
		int level;
		uint64_t pte = pt_get(&as->pt, base + (i << VMM_PAGE_SHIFT),
				      &level);
		if (level != 1 || !pte_usable(pte) || (pte & PTE_COW))
			return false;
		struct frame *f = frame_at(&vmm->fa, pte_pfn(pte));
		if (!movable(f))
			return false;
		if (check_pinned(vmm, pte_pfn(pte)))
			return false;
		commit += (pte & PTE_COMMIT) != 0;
	}
	if (commit != 0 && commit != VMM_HUGE_PAGES)
		return false;
	if (vmm->fa.nfree < vmm->reserved + VMM_HUGE_PAGES)
		return false;
	uint64_t dst = frame_alloc_huge(&vmm->fa, as->node);
	if (dst == FRAME_NIL)
		return false;
	struct vmm_inval *iv = vmm_inval_new(as, base, base + VMM_HUGE_SIZE,
					     VMM_REASON_HUGE_COLLAPSE,
					     collapse_acked);
	uint64_t *np = vmm_inval_pfns(iv);
	for (uint64_t i = 0; i < VMM_HUGE_PAGES; i++) {
		int level;
		uint64_t p = pte_pfn(pt_get(&as->pt,
					    base + (i << VMM_PAGE_SHIFT),
					    &level));
		frame_at(&vmm->fa, p)->flags |= FR_BUSY;
		frame_at(&vmm->fa, dst + i)->flags |= FR_BUSY;
		np[i] = p;
	}
	iv->dst = dst;
	iv->mdone = done;
	iv->mctx = ctx;
	vmm_inval_go(vmm, iv);
	return true;
}

static void split_acked(struct vmm *vmm, struct vmm_inval *iv)
{
	int level;
	uint64_t pte = pt_get(&iv->as->pt, iv->start, &level);
	uint64_t *np = vmm_inval_pfns(iv);
	if (level == 2 && pte_usable(pte)) {
		vmm_split_now(iv->as, iv->start);
		vmm_trace(vmm, iv->as, &tk_move, iv->start, pte_pfn(pte),
			  VMM_HUGE_SIZE, "huge_split");
	}
	for (uint64_t i = 0; i < VMM_HUGE_PAGES; i++) {
		uint64_t e = pt_get(&iv->as->pt,
				    iv->start + (i << VMM_PAGE_SHIFT), &level);
		np[i] = (e & PTE_P) ? pte_pfn(e) +
					      (level == 2 ? i : 0)
				    : VMM_NO_PFN;
	}
	move_end(vmm, iv, true, VMM_NO_PFN);
}

bool vmm_huge_split(struct vmm_as *as, uint64_t va)
{
	int level;
	uint64_t base = va & ~(VMM_HUGE_SIZE - 1);
	uint64_t pte = pt_get(&as->pt, base, &level);
	if (level != 2 || !pte_usable(pte))
		return false;
	/* a pinned huge page is not split: can_split_folio() wants no
	 * reference beyond the mappings' (mm/huge_memory.c), and a
	 * FOLL_LONGTERM pin is one; the frames stay one folio, so an MR's
	 * translations of it stay valid */
	for (uint64_t i = 0; i < VMM_HUGE_PAGES; i++)
		if (frame_at(&as->vmm->fa, pte_pfn(pte) + i)->pin) {
			(*as->vmm->c.split_failed_pinned)++;
			return false;
		}
	struct vmm_inval *iv = vmm_inval_new(as, base, base + VMM_HUGE_SIZE,
					     VMM_REASON_HUGE_SPLIT, split_acked);
	uint64_t *np = vmm_inval_pfns(iv);
	for (uint64_t i = 0; i < VMM_HUGE_PAGES; i++)
		np[i] = pte_pfn(pte) + i;
	vmm_inval_go(as->vmm, iv);
	return true;
}

bool vmm_khugepaged_step(struct vmm *vmm, vmm_move_done_fn done, void *ctx)
{
	uint32_t nas = vmm->as_by_id->len;
	if (!nas)
		return false;
	unsigned budget = 64; /* regions looked at per step */
	bool want_block = false;
	for (uint32_t turns = 0; turns <= nas && budget; turns++) {
		if (vmm->khp_as == 0 || vmm->khp_as > nas) {
			vmm->khp_as = 1;
			vmm->khp_va = 0;
		}
		struct vmm_as *as = vmm_as_by_id(vmm, vmm->khp_as);
		for (guint i = 0; as && i < as->vmas->len && budget; i++) {
			const struct vmm_vma *v = &g_array_index(
				as->vmas, struct vmm_vma, i);
			if (v->end <= vmm->khp_va || v->kind != VMM_VMA_ANON ||
			    !(v->prot & VMM_PROT_WRITE))
				continue;
			uint64_t a = v->start > vmm->khp_va ? v->start
							     : vmm->khp_va;
			a = (a + VMM_HUGE_SIZE - 1) & ~(VMM_HUGE_SIZE - 1);
			for (; a + VMM_HUGE_SIZE <= v->end && budget;
			     a += VMM_HUGE_SIZE) {
				budget--;
				vmm->khp_va = a + VMM_HUGE_SIZE;
				int level;
				uint64_t pte = pt_get(&as->pt, a, &level);
				if (level == 2 || !pte_usable(pte))
					continue;
				if (vmm_huge_collapse(as, a, done, ctx))
					return true;
				want_block = true;
			}
		}
		if (budget) { /* this address space is done: the next */
			vmm->khp_as++;
			vmm->khp_va = 0;
		}
	}
	if (!want_block)
		return false;
	/* build free 2 MiB blocks for the next try */
	bool moved = false;
	for (unsigned i = 0; i < 16; i++)
		moved |= vmm_compact_step(vmm, 0, vmm->fa.n, done, ctx);
	return moved;
}
