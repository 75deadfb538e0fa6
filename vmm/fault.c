/*
 * vmm/fault.c - page faults in simulated time.
 *
 * Representation: a fault is a pooled request (struct vmm_fault) that
 * attaches a frame to the page table entry at once (PTE_P | PTE_BUSY) and
 * completes in an event at the simulated time the page is present: minor
 * faults after a CPU service time, major faults after a CPU service time
 * plus a read through the swap device queue.  A fault that finds its entry
 * busy (another fault, a move, an eviction in progress) waits on a list
 * that is retried whenever an operation ends; a fault that finds no frame
 * waits, in order, for the reclaimer, and fails with VMM_FAULT_OOM when the
 * reclaimer finds nothing it may take.
 *
 * CPU service time = mean * (1 - jitter) + Exp(mean * jitter), drawn from
 * the host's "NAME.vmm" stream.  Faults do not contend for CPUs.
 *
 * Workload assumed: millions of faults per run; the request pool grows to
 * the largest number in flight and the fault path allocates nothing else
 * (page-table nodes aside, once per 2 MiB region).
 */
#include "sim/stats.h"
#include "vmm/vmm_int.h"

static const struct trace_kind tk_fault = { "vmm_fault", TRACE_INSTANT,
					    NULL };
static const struct trace_kind tk_segv = { "vmm_segv", TRACE_INSTANT, NULL };
static const struct trace_kind tk_oom = { "vmm_oom", TRACE_INSTANT, NULL };

#define FAULT_CHUNK 64

static struct vmm_fault *fault_get(struct vmm *vmm)
{
	if (!vmm->fault_free) {
		struct vmm_fault *c = g_new0(struct vmm_fault, FAULT_CHUNK);
		g_ptr_array_add(vmm->fault_chunks, c);
		for (unsigned i = 0; i < FAULT_CHUNK; i++) {
			c[i].next = vmm->fault_free;
			vmm->fault_free = &c[i];
		}
	}
	struct vmm_fault *f = vmm->fault_free;
	vmm->fault_free = f->next;
	f->next = NULL;
	return f;
}

static void fault_put(struct vmm *vmm, struct vmm_fault *f)
{
	f->next = vmm->fault_free;
	vmm->fault_free = f;
}

static sim_time_t service(struct vmm *vmm, sim_time_t mean)
{
	double j = vmm->cfg.fault_jitter;
	double fixed = (double)mean * (1.0 - j);
	double var = j > 0 ? rng_exp(&vmm->rng, (double)mean * j) : 0;
	return (sim_time_t)(fixed + var);
}

/* Call the requester back and recycle the request. */
static void fault_finish(struct vmm *vmm, struct vmm_fault *f)
{
	vmm_fault_done_fn done = f->done;
	void *ctx = f->ctx;
	int st = f->status;
	uint64_t pfn = f->pfn;
	fault_put(vmm, f);
	done(ctx, st, pfn);
}

static void fault_ret_ev(struct sim *sim, void *obj, uint64_t arg)
{
	(void)sim;
	(void)arg;
	struct vmm_fault *f = obj;
	if (vmm_fault_ok(f->status)) {
		/* the translation was found earlier in this instant: an event
		 * in between may have moved or evicted the page, so look
		 * again and fault for real if it is gone */
		uint64_t pfn;
		if (!vmm_lookup(f->as, f->va, f->write, &pfn)) {
			vmm_fault_start(f);
			return;
		}
		f->pfn = pfn;
	}
	fault_finish(f->as->vmm, f);
}
SIM_EVKIND(ev_fault_ret, "vmm_fault_ret", fault_ret_ev);

/* Complete without a fault (present, segv, oom) in an event at now. */
static void fault_ret(struct vmm_fault *f, int status, uint64_t pfn)
{
	struct vmm *vmm = f->as->vmm;
	f->status = status;
	f->pfn = pfn;
	if (status == VMM_FAULT_SEGV) {
		(*vmm->c.segv)++;
		vmm_trace(vmm, f->as, &tk_segv, f->va, TRACE_NONE, 0,
			  f->write ? "write" : "read");
	} else if (status == VMM_FAULT_OOM) {
		(*vmm->c.oom)++;
		vmm_trace(vmm, f->as, &tk_oom, f->va, TRACE_NONE, 0, f->as->name);
	}
	sim_schedule_in(vmm->sim, 0, &ev_fault_ret, vmm->comp, f, 0);
}

void vmm_fail_frame_waiters(struct vmm *vmm)
{
	struct vmm_fault *f = vmm->wait_frame;
	vmm->wait_frame = vmm->wait_frame_tail = NULL;
	while (f) {
		struct vmm_fault *n = f->next;
		fault_ret(f, VMM_FAULT_OOM, VMM_NO_PFN);
		f = n;
	}
}

static void fault_done_ev(struct sim *sim, void *obj, uint64_t arg);
SIM_EVKIND(ev_fault_done, "vmm_fault_done", fault_done_ev);

static void wait_frame(struct vmm *vmm, struct vmm_fault *f)
{
	f->next = NULL;
	if (vmm->wait_frame_tail)
		vmm->wait_frame_tail->next = f;
	else
		vmm->wait_frame = f;
	vmm->wait_frame_tail = f;
	vmm_kswapd_maybe(vmm);
}

static void own_frame(struct vmm *vmm, struct vmm_as *as, uint64_t p,
		      uint64_t va, bool commit)
{
	struct frame *f = frame_at(&vmm->fa, p);
	f->owner = frame_owner_pack(as->id, va >> VMM_PAGE_SHIFT);
	f->map = 1;
	f->flags |= FR_BUSY;
	if (commit) {
		f->flags |= FR_COMMIT;
		(*vmm->c.committed)++;
		vmm_fp_count(as, va, VMM_FP_COMMITTED, 1);
	}
	(*vmm->c.resident)++;
	vmm_fp_count(as, va, VMM_FP_RESIDENT, 1);
}

static bool try_huge(struct vmm_fault *f, const struct vmm_vma *v)
{
	struct vmm_as *as = f->as;
	struct vmm *vmm = as->vmm;
	uint64_t base = f->va & ~(VMM_HUGE_SIZE - 1);
	if (!vmm->cfg.huge_pages || v->kind != VMM_VMA_ANON ||
	    base < v->start || base + VMM_HUGE_SIZE > v->end)
		return false;
	/* the region must be wholly empty: no level-1 node below it */
	if (pt_region_used(&as->pt, base))
		return false;
	if (vmm->fa.nfree < vmm->reserved + VMM_HUGE_PAGES + vmm->wm_low)
		return false;
	uint64_t p = frame_alloc_huge(&vmm->fa, as->node);
	if (p == FRAME_NIL)
		return false;
	for (uint64_t i = 0; i < VMM_HUGE_PAGES; i++) {
		own_frame(vmm, as, p + i, base + (i << VMM_PAGE_SHIFT), false);
		frame_at(&vmm->fa, p + i)->flags |= FR_HUGE;
	}
	pt_set_huge(&as->pt, base, pte_make(p, PTE_P | PTE_BUSY));
	f->kind = FK_HUGE;
	f->pfn = p;
	/* clearing 2 MiB is the bulk of a huge fault */
	sim_time_t t = service(vmm, vmm->cfg.minor_fault_time) +
		       vmm_copy_time(vmm, VMM_HUGE_PAGES);
	sim_schedule_in(vmm->sim, t, &ev_fault_done, vmm->comp, f, 0);
	return true;
}

static void cow_acked(struct vmm *vmm, struct vmm_inval *iv);

void vmm_fault_start(struct vmm_fault *f)
{
	struct vmm_as *as = f->as;
	struct vmm *vmm = as->vmm;
	const struct vmm_vma *v = vmm_vma_at(as, f->va);
	if (!v || !(v->prot & VMM_PROT_READ) ||
	    (f->write && !(v->prot & VMM_PROT_WRITE))) {
		fault_ret(f, VMM_FAULT_SEGV, VMM_NO_PFN);
		return;
	}
	int level;
	uint64_t *e = pt_leaf(&as->pt, f->va, &level);
	uint64_t pte = e ? *e : 0;
	if (pte & PTE_BUSY) {
		f->next = vmm->wait_busy;
		vmm->wait_busy = f;
		return;
	}
	if (pte & PTE_P) {
		uint64_t p = pte_pfn(pte);
		if (level == 2)
			p += (f->va >> VMM_PAGE_SHIFT) & (VMM_HUGE_PAGES - 1);
		if (f->write && !(pte & PTE_W)) {
			g_assert(level == 1);
			if (frame_at(&vmm->fa, p)->map > 1) {
				/* copy on write: a new frame, then notify */
				uint64_t d = vmm_alloc_frame(vmm, as->node,
							     false);
				if (d == FRAME_NIL) {
					wait_frame(vmm, f);
					return;
				}
				own_frame(vmm, as, d, f->va, false);
				/* counted when it replaces */
				vmm_fp_count(as, f->va, VMM_FP_RESIDENT, -1);
				f->kind = FK_COW;
				f->pfn = d;
				frame_at(&vmm->fa, p)->flags |= FR_BUSY;
				struct vmm_inval *iv = vmm_inval_new(
					as, f->va & ~(VMM_PAGE_SIZE - 1),
					(f->va & ~(VMM_PAGE_SIZE - 1)) +
						VMM_PAGE_SIZE,
					VMM_REASON_COW, cow_acked);
				iv->obj = f;
				iv->pfn = p;
				iv->dst = d;
				vmm_inval_go(vmm, iv);
				return;
			}
			/* the last sharer: reuse the frame */
			*e = (pte | PTE_W | PTE_D | PTE_A) & ~(uint64_t)PTE_COW;
			frame_at(&vmm->fa, p)->flags |= FR_DIRTY | FR_ACC;
			vmm_dlog_write(vmm, p);
			(*vmm->c.minor)++;
			fault_ret(f, VMM_FAULT_MINOR, p);
			return;
		}
		*e |= PTE_A | (f->write ? PTE_D : 0);
		frame_at(&vmm->fa, p)->flags |= FR_ACC | (f->write ? FR_DIRTY : 0);
		if (f->write)
			vmm_dlog_write(vmm, p);
		fault_ret(f, VMM_FAULT_PRESENT, p);
		return;
	}
	/* not present: needs a frame */
	if (!(pte & (PTE_SWAP | PTE_EVICTED | PTE_COMMIT)) && try_huge(f, v))
		return;
	bool commit = pte & PTE_COMMIT;
	uint64_t p = vmm_alloc_frame(vmm, as->node, commit);
	if (p == FRAME_NIL) {
		wait_frame(vmm, f);
		return;
	}
	own_frame(vmm, as, p, f->va, commit);
	f->pfn = p;
	f->slot = UINT64_MAX;
	sim_time_t t;
	if (pte & PTE_SWAP) {
		f->kind = FK_SWAP;
		f->slot = pte_pfn(pte);
		frame_at(&vmm->fa, p)->version = vmm_slot_version(vmm, f->slot);
		if (f->slot & VMM_REMOTE_SLOT) {
			/* post-copy: the page comes over the migration link */
			sim_time_t now = sim_now(vmm->sim);
			sim_time_t ask = now + service(vmm,
					     vmm->cfg.major_fault_time);
			g_assert(vmm->remote_fn);
			t = vmm->remote_fn(vmm->remote_ctx, ask) - now;
			(*vmm->c.remote_faults)++;
		} else {
			t = service(vmm, vmm->cfg.major_fault_time) +
			    vmm_dev_xfer(vmm, VMM_PAGE_SIZE);
		}
	} else if (pte & PTE_EVICTED) {
		f->kind = FK_FILE;
		t = service(vmm, vmm->cfg.major_fault_time) +
		    vmm_dev_xfer(vmm, VMM_PAGE_SIZE);
	} else {
		f->kind = v->kind == VMM_VMA_ANON ? FK_ZERO : FK_CACHE;
		t = service(vmm, vmm->cfg.minor_fault_time);
	}
	if ((pte & PTE_SWAP) && !(pte_pfn(pte) & VMM_REMOTE_SLOT))
		/* the entry no longer holds the slot (freed as it lands) */
		vmm_fp_count(as, f->va, VMM_FP_SWAPPED, -1);
	pt_set(&as->pt, f->va & ~(VMM_PAGE_SIZE - 1),
	       pte_make(p, PTE_P | PTE_BUSY | (pte & PTE_COMMIT)));
	sim_schedule_in(vmm->sim, t, &ev_fault_done, vmm->comp, f, 0);
}

static void cow_copy_ev(struct sim *sim, void *obj, uint64_t arg);
SIM_EVKIND(ev_cow_copy, "vmm_cow_copy", cow_copy_ev);

static void cow_acked(struct vmm *vmm, struct vmm_inval *iv)
{
	struct vmm_fault *f = iv->obj;
	int level;
	uint64_t *e = pt_leaf(&f->as->pt, iv->start, &level);
	g_assert(e && level == 1 && pte_pfn(*e) == iv->pfn);
	*e |= PTE_BUSY;
	sim_time_t t = service(vmm, vmm->cfg.minor_fault_time) +
		       vmm_copy_time(vmm, 1);
	sim_schedule_in(vmm->sim, t, &ev_cow_copy, vmm->comp, iv, 0);
}

static void cow_copy_ev(struct sim *sim, void *obj, uint64_t arg)
{
	(void)sim;
	(void)arg;
	struct vmm_inval *iv = obj;
	struct vmm_fault *f = iv->obj;
	struct vmm_as *as = f->as;
	struct vmm *vmm = as->vmm;
	int level;
	uint64_t *e = pt_leaf(&as->pt, iv->start, &level);
	g_assert(e && level == 1 && pte_pfn(*e) == iv->pfn);
	struct frame *src = frame_at(&vmm->fa, iv->pfn), *dst = frame_at(&vmm->fa, iv->dst);
	src->flags &= (uint8_t)~FR_BUSY;
	if (*e & PTE_ZAP) {
		/* unmapped meanwhile: drop the copy, then our mapping */
		dst->flags &= (uint8_t)~FR_BUSY;
		(*vmm->c.resident)--;
		vmm_frame_gone(vmm, iv->dst, VMM_FRAME_FREED);
		frame_release(&vmm->fa, iv->dst);
		*e &= ~(uint64_t)(PTE_ZAP | PTE_BUSY);
		vmm_unmap_page_now(as, iv->start, e, VMM_FRAME_FREED);
		f->status = VMM_FAULT_SEGV;
		f->pfn = VMM_NO_PFN;
	} else {
		dst->version = src->version;
		dst->flags = (uint8_t)((dst->flags & ~FR_BUSY) | FR_DIRTY |
				       FR_ACC);
		vmm_dlog_write(vmm, iv->dst);
		if (*e & PTE_COMMIT) {
			dst->flags |= FR_COMMIT;
			(*vmm->c.committed)++;
			vmm_fp_count(as, iv->start, VMM_FP_COMMITTED, 1);
		}
		if (src->map > 1)
			vmm_sharer_remove(vmm, iv->pfn, as->id,
					  VMM_FRAME_MOVED);
		*e = pte_make(iv->dst, PTE_P | PTE_W | PTE_D | PTE_A |
					       (*e & PTE_COMMIT));
		(*vmm->c.cow)++;
		(*vmm->c.minor)++;
		f->status = VMM_FAULT_MINOR;
		f->pfn = iv->dst;
		hist_add(vmm->c.fault_lat, sim_now(vmm->sim) - f->start);
		vmm_trace(vmm, f->as, &tk_fault, f->va, iv->dst, VMM_PAGE_SIZE, "cow");
	}
	vmm_inval_end(vmm, iv);
	fault_finish(vmm, f);
	vmm_wake(vmm);
}

static void fault_done_ev(struct sim *sim, void *obj, uint64_t arg)
{
	(void)sim;
	(void)arg;
	struct vmm_fault *f = obj;
	struct vmm_as *as = f->as;
	struct vmm *vmm = as->vmm;
	const struct vmm_vma *v = vmm_vma_at(as, f->va);
	int level;
	uint64_t *e = pt_leaf(&as->pt, f->va, &level);
	g_assert(e && (*e & (PTE_P | PTE_BUSY)) == (PTE_P | PTE_BUSY) &&
		 pte_pfn(*e) == f->pfn);
	bool huge = f->kind == FK_HUGE;
	g_assert(huge == (level == 2));
	uint64_t n = huge ? VMM_HUGE_PAGES : 1;
	if (f->slot != UINT64_MAX && f->kind == FK_SWAP) {
		vmm_swap_free(vmm, f->slot);
		f->slot = UINT64_MAX;
	}
	if (*e & PTE_ZAP) {
		/* unmapped (munmap, DONTNEED) while in flight */
		uint64_t base = f->va & ~((n << VMM_PAGE_SHIFT) - 1);
		for (uint64_t i = 0; i < n; i++) {
			struct frame *fr = frame_at(&vmm->fa, f->pfn + i);
			vmm_frame_gone(vmm, f->pfn + i, VMM_FRAME_FREED);
			uint64_t pva = base + (i << VMM_PAGE_SHIFT);
			if (fr->flags & FR_COMMIT) {
				(*vmm->c.committed)--;
				vmm_fp_count(as, pva, VMM_FP_COMMITTED, -1);
			}
			(*vmm->c.resident)--;
			vmm_fp_count(as, pva, VMM_FP_RESIDENT, -1);
			frame_release(&vmm->fa, f->pfn + i);
		}
		if (huge)
			pt_set_huge(&as->pt, base, 0);
		else
			pt_set(&as->pt, base, 0);
		if (v) { /* DONTNEED: the mapping stays; fault again */
			vmm_fault_start(f);
		} else {
			f->status = VMM_FAULT_SEGV;
			f->pfn = VMM_NO_PFN;
			(*vmm->c.segv)++;
			fault_finish(vmm, f);
		}
		vmm_wake(vmm);
		return;
	}
	g_assert(v);
	uint64_t flags = PTE_P | PTE_A | (f->write ? PTE_D : 0) |
			 ((v->prot & VMM_PROT_WRITE) ? PTE_W : 0) |
			 (*e & PTE_COMMIT);
	bool dirty = f->write || f->kind == FK_SWAP;
	for (uint64_t i = 0; i < n; i++) {
		struct frame *fr = frame_at(&vmm->fa, f->pfn + i);
		fr->flags = (uint8_t)((fr->flags & ~FR_BUSY) | FR_ACC |
				      (dirty ? FR_DIRTY : 0));
		if ((*e & PTE_COMMIT) && !(fr->flags & FR_COMMIT)) {
			fr->flags |= FR_COMMIT;
			(*vmm->c.committed)++;
			vmm_fp_count_frame(vmm, f->pfn + i, VMM_FP_COMMITTED,
					   1);
		}
	}
	if (huge)
		*e = pte_make(f->pfn, flags | PTE_HUGE);
	else
		*e = pte_make(f->pfn, flags);
	if (f->write)
		for (uint64_t i = 0; i < n; i++)
			vmm_dlog_write(vmm, f->pfn + i);
	bool major = f->kind == FK_SWAP || f->kind == FK_FILE;
	(*(major ? vmm->c.major : vmm->c.minor))++;
	f->status = major ? VMM_FAULT_MAJOR : VMM_FAULT_MINOR;
	hist_add(vmm->c.fault_lat, sim_now(vmm->sim) - f->start);
	if (huge)
		f->pfn += (f->va >> VMM_PAGE_SHIFT) & (VMM_HUGE_PAGES - 1);
	static const char *const kn[] = { "", "zero", "cache", "swap",
					   "file", "cow", "huge" };
	vmm_trace(vmm, f->as, &tk_fault, f->va, f->pfn, n << VMM_PAGE_SHIFT,
		  kn[f->kind]);
	fault_finish(vmm, f);
	vmm_wake(vmm);
}

void vmm_fault_in(struct vmm_as *as, uint64_t va, bool write,
		  vmm_fault_done_fn done, void *ctx)
{
	struct vmm *vmm = as->vmm;
	struct vmm_fault *f = fault_get(vmm);
	f->as = as;
	f->va = va;
	f->write = write;
	f->done = done;
	f->ctx = ctx;
	f->kind = FK_NONE;
	f->slot = UINT64_MAX;
	f->pfn = VMM_NO_PFN;
	f->start = sim_now(vmm->sim);
	if (va >= (1ULL << VMM_VA_BITS)) {
		fault_ret(f, VMM_FAULT_SEGV, VMM_NO_PFN);
		return;
	}
	vmm_fault_start(f);
}

void vmm_wake(struct vmm *vmm)
{
	if (vmm->waking)
		return;
	vmm->waking = true;
	struct vmm_fault *f = vmm->wait_busy;
	vmm->wait_busy = NULL;
	while (f) {
		struct vmm_fault *n = f->next;
		vmm_fault_start(f);
		f = n;
	}
	while (vmm->wait_frame && vmm->fa.nfree > vmm->reserved) {
		f = vmm->wait_frame;
		vmm->wait_frame = f->next;
		if (!vmm->wait_frame)
			vmm->wait_frame_tail = NULL;
		vmm_fault_start(f);
	}
	vmm->waking = false;
}
