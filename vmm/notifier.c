/*
 * vmm/notifier.c - the notifier: subscriptions on address ranges and the
 * invalidation operations that wait for their acknowledgements.
 *
 * Representation: each address space keeps its subscriptions in an array
 * (an address space has few: one per registered MR or ODP range), and an
 * invalidation visits them all to find the overlapping ones.  An
 * invalidation operation (struct vmm_inval) comes from a pool indexed by a
 * small id; the token handed to a subscriber packs (generation, id, entry)
 * so that a late or repeated acknowledgement is recognised and ignored.
 * The operation's continuation runs when the last acknowledgement arrives,
 * never from inside the notification loop itself.
 *
 * Sequence counts follow mmu_interval_notifier (include/linux/
 * mmu_notifier.h): a subscription's count is odd from the first
 * invalidate_start/suspend until the last matching end/resume, and changes
 * across every invalidation, so read_begin/read_retry around a fill tell a
 * fault-filler that its translation may be stale.
 *
 * Workload assumed: a handful of subscriptions per address space and a
 * handful of invalidations in flight; the pool grows to the largest
 * concurrency seen and then never allocates.
 */
#include <string.h>

#include "vmm/vmm_int.h"

const char *const vmm_reason_names[] = {
	[VMM_REASON_MOVE_COMPACTION] = "move_compaction",
	[VMM_REASON_MOVE_NUMA] = "move_numa",
	[VMM_REASON_HUGE_COLLAPSE] = "huge_collapse",
	[VMM_REASON_HUGE_SPLIT] = "huge_split",
	[VMM_REASON_RECLAIM] = "reclaim",
	[VMM_REASON_MUNMAP] = "munmap",
	[VMM_REASON_DONTNEED] = "dontneed",
	[VMM_REASON_COW] = "cow",
	[VMM_REASON_MIGRATION] = "migration",
	[VMM_REASON_N] = NULL,
};

static const struct trace_kind tk_inval_start = { "vmm_invalidate_start",
						  TRACE_BEGIN, "invalidate" };
static const struct trace_kind tk_inval_end = { "vmm_invalidate_end",
						TRACE_END, "invalidate" };

#define TOKEN_ENT_BITS 16
#define TOKEN_ID_BITS 24

static uint64_t token_make(const struct vmm_inval *iv, unsigned ent)
{
	return ((uint64_t)(iv->gen & 0xffffff) << (TOKEN_ENT_BITS +
						    TOKEN_ID_BITS)) |
	       ((uint64_t)iv->id << TOKEN_ENT_BITS) | ent;
}

struct vmm_sub *vmm_notifier_register(struct vmm_as *as, uint64_t va,
				      uint64_t len,
				      enum vmm_sub_mode mode,
				      const struct vmm_notifier_ops *ops,
				      void *ctx)
{
	g_assert(len > 0 && ops);
	struct vmm_sub *s = g_new0(struct vmm_sub, 1);
	s->as = as;
	s->start = va & ~(VMM_PAGE_SIZE - 1);
	s->end = (va + len + VMM_PAGE_SIZE - 1) & ~(VMM_PAGE_SIZE - 1);
	s->mode = mode;
	s->ops = ops;
	s->ctx = ctx;
	s->refs = 1;
	g_ptr_array_add(as->subs, s);
	return s;
}

static void sub_unref(struct vmm_sub *s)
{
	g_assert(s->refs > 0);
	if (--s->refs == 0)
		g_free(s);
}

static void iv_ack(struct vmm *vmm, struct vmm_inval *iv, unsigned ent)
{
	g_assert(ent < iv->nents);
	if (iv->ents[ent].acked)
		return;
	iv->ents[ent].acked = true;
	g_assert(iv->pending > 0);
	if (--iv->pending == 0 && !iv->notifying)
		iv->cont(vmm, iv);
}

void vmm_notifier_unregister(struct vmm_sub *sub)
{
	if (!sub)
		return;
	struct vmm *vmm = sub->as->vmm;
	g_assert(!sub->dead);
	sub->dead = true;
	g_ptr_array_remove(sub->as->subs, sub);
	/* acknowledge whatever it still owes */
	for (uint32_t i = 0; i < vmm->niv; i++) {
		struct vmm_inval *iv = vmm->ivs[i];
		if (!iv->in_use)
			continue;
		for (unsigned e = 0; e < iv->nents; e++)
			if (iv->ents[e].sub == sub && !iv->ents[e].acked) {
				iv_ack(vmm, iv, e);
				break;
			}
	}
	sub_unref(sub);
}

void vmm_notifier_ack(struct vmm_sub *sub, uint64_t token)
{
	struct vmm *vmm = sub->as->vmm;
	uint32_t id = (uint32_t)(token >> TOKEN_ENT_BITS) &
		      ((1u << TOKEN_ID_BITS) - 1);
	unsigned ent = (unsigned)(token & ((1u << TOKEN_ENT_BITS) - 1));
	uint32_t gen = (uint32_t)(token >> (TOKEN_ENT_BITS + TOKEN_ID_BITS));
	if (id >= vmm->niv)
		return;
	struct vmm_inval *iv = vmm->ivs[id];
	if (!iv->in_use || (iv->gen & 0xffffff) != gen || ent >= iv->nents ||
	    iv->ents[ent].sub != sub)
		return; /* stale or repeated: ignored */
	iv_ack(vmm, iv, ent);
}

uint64_t vmm_notifier_read_begin(const struct vmm_sub *sub)
{
	return sub->seq;
}

bool vmm_notifier_read_retry(const struct vmm_sub *sub, uint64_t seq)
{
	return (seq & 1) || sub->seq != seq;
}

struct vmm_inval *vmm_inval_new(struct vmm_as *as, uint64_t start,
				uint64_t end, enum vmm_reason reason,
				inval_cont_fn cont)
{
	struct vmm *vmm = as->vmm;
	struct vmm_inval *iv = vmm->iv_free;
	if (iv) {
		vmm->iv_free = iv->next_free;
	} else {
		if (vmm->niv == vmm->capiv) {
			vmm->capiv = vmm->capiv ? vmm->capiv * 2 : 16;
			g_assert(vmm->capiv < (1u << TOKEN_ID_BITS));
			vmm->ivs = g_renew(struct vmm_inval *, vmm->ivs,
					   vmm->capiv);
		}
		iv = g_new0(struct vmm_inval, 1);
		iv->id = vmm->niv;
		vmm->ivs[vmm->niv++] = iv;
	}
	g_assert(!iv->in_use);
	iv->in_use = true;
	iv->as = as;
	iv->start = start;
	iv->end = end;
	iv->reason = reason;
	iv->cont = cont;
	iv->pending = 0;
	iv->nents = 0;
	iv->pfn = iv->dst = iv->arg = 0;
	iv->obj = NULL;
	iv->mdone = NULL;
	iv->mctx = NULL;
	iv->npages = (unsigned)((end - start) >> VMM_PAGE_SHIFT);
	iv->notifying = false;
	return iv;
}

uint64_t *vmm_inval_pfns(struct vmm_inval *iv)
{
	if (iv->cap_pfns < iv->npages) {
		iv->cap_pfns = iv->npages;
		iv->new_pfns = g_renew(uint64_t, iv->new_pfns, iv->cap_pfns);
	}
	return iv->new_pfns;
}

void vmm_inval_go(struct vmm *vmm, struct vmm_inval *iv)
{
	struct vmm_as *as = iv->as;
	bool move = vmm_reason_is_move(iv->reason);
	for (guint i = 0; i < as->subs->len; i++) {
		struct vmm_sub *s = as->subs->pdata[i];
		if (s->dead || s->end <= iv->start || s->start >= iv->end)
			continue;
		if (iv->nents == iv->capents) {
			iv->capents = iv->capents ? iv->capents * 2 : 4;
			g_assert(iv->capents <= (1u << TOKEN_ENT_BITS));
			iv->ents = g_renew(struct inval_ent, iv->ents,
					   iv->capents);
		}
		struct inval_ent *e = &iv->ents[iv->nents++];
		e->sub = s;
		e->acked = false;
		e->suspended = move && s->mode == VMM_SUB_SUSPEND &&
			       s->ops->suspend && s->ops->resume;
		s->refs++;
		if (s->active++ == 0)
			s->seq++; /* odd: invalidation in progress */
	}
	iv->pending = iv->nents;
	if (iv->nents)
		vmm_trace(vmm, iv->as, &tk_inval_start, iv->start, TRACE_NONE,
			  iv->end - iv->start, vmm_reason_names[iv->reason]);
	iv->notifying = true;
	for (unsigned i = 0; i < iv->nents; i++) {
		struct inval_ent *e = &iv->ents[i];
		struct vmm_sub *s = e->sub;
		uint64_t a = iv->start > s->start ? iv->start : s->start;
		uint64_t b = iv->end < s->end ? iv->end : s->end;
		(*vmm->c.invalidations)++;
		if (e->suspended)
			s->ops->suspend(s, a, b, iv->reason, token_make(iv, i),
					s->ctx);
		else if (s->ops->invalidate_start)
			s->ops->invalidate_start(s, a, b, iv->reason,
						 token_make(iv, i), s->ctx);
		else
			iv_ack(vmm, iv, i);
	}
	iv->notifying = false;
	if (iv->pending == 0)
		iv->cont(vmm, iv);
}

void vmm_inval_end(struct vmm *vmm, struct vmm_inval *iv)
{
	g_assert(iv->in_use && iv->pending == 0);
	if (iv->nents)
		vmm_trace(vmm, iv->as, &tk_inval_end, iv->start, TRACE_NONE,
			  iv->end - iv->start, vmm_reason_names[iv->reason]);
	/* the count goes even before the end callbacks, so a subscriber
	 * that refills from invalidate_end/resume sees a stable count */
	for (unsigned i = 0; i < iv->nents; i++) {
		struct vmm_sub *s = iv->ents[i].sub;
		g_assert(s->active > 0);
		if (--s->active == 0)
			s->seq++;
	}
	for (unsigned i = 0; i < iv->nents; i++) {
		struct inval_ent *e = &iv->ents[i];
		struct vmm_sub *s = e->sub;
		if (!s->dead) {
			uint64_t a = iv->start > s->start ? iv->start : s->start;
			uint64_t b = iv->end < s->end ? iv->end : s->end;
			if (e->suspended) {
				g_assert(iv->cap_pfns >= iv->npages);
				s->ops->resume(s, a, b,
					       iv->new_pfns +
						       ((a - iv->start) >>
							VMM_PAGE_SHIFT),
					       s->ctx);
			} else if (s->ops->invalidate_end) {
				s->ops->invalidate_end(s, a, b, s->ctx);
			}
		}
		sub_unref(s);
	}
	iv->nents = 0;
	iv->in_use = false;
	iv->gen++;
	iv->next_free = vmm->iv_free;
	vmm->iv_free = iv;
}

void vmm_inval_pool_free(struct vmm *vmm)
{
	for (uint32_t i = 0; i < vmm->niv; i++) {
		g_free(vmm->ivs[i]->ents);
		g_free(vmm->ivs[i]->new_pfns);
		g_free(vmm->ivs[i]);
	}
	g_free(vmm->ivs);
	vmm->ivs = NULL;
	vmm->niv = vmm->capiv = 0;
	vmm->iv_free = NULL;
}
