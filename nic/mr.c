/*
 * nic/mr.c - memory keys, memory regions and address translation as the
 * NIC does it: key -> MPT entry (MPT cache, else a PCIe read of the entry)
 * -> per page, MTT entry (MTT cache, else a PCIe read of one line of
 * entries) -> frame.  The MTT itself is an array the driver writes (it
 * lives in host memory); the NIC reads it only on a cache miss.
 *
 * Cache keys: MPT cache by memory key; MTT cache by (MR index << 36 |
 * page index), so invalidating an MR's range is a range of keys.
 */
#include "nic/nic_int.h"

#include <errno.h>
#include <string.h>

#include "nic/mtt_cache.h"
#include "nic/pcie.h"

#define MTT_KEY(mr, page) (((uint64_t)(mr)->index << 36) | (page))

/* ---- the KSM parent of an implicit ODP MR (nic_int.h) ---- */

struct imr_child *nic_imr_child_add(struct nic_mr *mr, uint64_t slot)
{
	struct nic_ksm *k = mr->ksm;
	g_assert(slot < k->nslots);
	struct imr_child ***leaf = &k->leaves[slot >> KSM_LEAF_BITS];
	if (!*leaf)
		*leaf = g_new0(struct imr_child *, KSM_LEAF_SLOTS);
	struct imr_child **e = &(*leaf)[slot & (KSM_LEAF_SLOTS - 1)];
	g_assert(!*e);
	struct imr_child *c = g_new0(struct imr_child, 1);
	c->parent = mr;
	c->slot = slot;
	c->key = nic_mkey_alloc(mr->nic);
	*e = c;
	k->nchildren++;
	return c;
}

void nic_imr_child_remove(struct imr_child *c)
{
	struct nic_ksm *k = c->parent->ksm;
	struct imr_child **leaf = k->leaves[c->slot >> KSM_LEAF_BITS];
	g_assert(leaf && leaf[c->slot & (KSM_LEAF_SLOTS - 1)] == c);
	leaf[c->slot & (KSM_LEAF_SLOTS - 1)] = NULL;
	k->nchildren--;
	c->dead = true;
	nic_mkey_free(c->parent->nic, c->key);
	/* the KSM entry goes back to the null mkey: drop the child's key
	 * and its translations from the NIC's caches */
	mtt_cache_invalidate_range(c->parent->nic->mpt_cache, c->key, c->key);
	nic_mr_flush(c->parent, c->slot << IMR_CHILD_PAGE_BITS,
		     ((c->slot + 1) << IMR_CHILD_PAGE_BITS) - 1);
}

void nic_imr_free(struct nic_mr *mr)
{
	struct nic_ksm *k = mr->ksm;
	if (!k)
		return;
	uint64_t nleaves = (k->nslots + KSM_LEAF_SLOTS - 1) >> KSM_LEAF_BITS;
	for (uint64_t l = 0; l < nleaves; l++) {
		if (!k->leaves[l])
			continue;
		for (unsigned i = 0; i < KSM_LEAF_SLOTS; i++)
			g_free(k->leaves[l][i]);
		g_free(k->leaves[l]);
	}
	g_free(k->leaves);
	g_free(k);
	mr->ksm = NULL;
}

/* ---- memory keys ---- */

uint32_t nic_mkey_alloc(struct nic *nic)
{
	GArray *u = nic->mkey_used;
	/* index 0 is never handed out (key 0 would look unset) */
	uint64_t idx = 1;
	for (;; idx++) {
		guint w = (guint)(idx >> 6);
		if (w >= u->len)
			g_array_set_size(u, w + 1);
		uint64_t *word = &g_array_index(u, uint64_t, w);
		if (*word == UINT64_MAX) {
			idx |= 63; /* the loop's ++ goes to the next word */
			continue;
		}
		if (!(*word & (1ULL << (idx & 63)))) {
			*word |= 1ULL << (idx & 63);
			break;
		}
	}
	g_assert(idx < (1u << 24)); /* 24 bits of MPT index */
	uint8_t var = nic->cfg.key_variant == NIC_ID_RANDOM
			      ? (uint8_t)rng_below(&nic->keys_rng, 256)
			      : ++nic->mkey_var;
	return (uint32_t)idx << 8 | var;
}

void nic_mkey_free(struct nic *nic, uint32_t key)
{
	uint32_t idx = NIC_MKEY_INDEX(key);
	uint64_t *word = &g_array_index(nic->mkey_used, uint64_t, idx >> 6);
	g_assert(*word & (1ULL << (idx & 63)));
	*word &= ~(1ULL << (idx & 63));
}

struct nic_mr *nic_mr_by_key(struct nic *nic, uint32_t key)
{
	return idmap_get(&nic->mrs, key);
}

bool nic_mr_contains(const struct nic_mr *mr, uint64_t va, uint64_t len)
{
	return va >= mr->addr && len <= mr->length &&
	       va - mr->addr <= mr->length - len;
}

/* The MPT entry of @key: a cache hit, or a PCIe read of the 64 B entry
 * (paid whether or not the key turns out valid: a guessed key costs the
 * responder this read; only valid keys are cached). */
static void mpt_fetch(struct nic *nic, uint32_t key, bool valid,
		      sim_time_t *t)
{
	uint64_t v;
	if (mtt_cache_lookup(nic->mpt_cache, key, &v)) {
		(*nic->c_mpt_hits)++;
		*t += nic_cycles(nic, nic->cfg.cache_hit_cycles);
		return;
	}
	(*nic->c_mpt_misses)++;
	*t = pcie_dma_read_at(nic->pcie, *t, 64);
	if (valid)
		mtt_cache_insert(nic->mpt_cache, key, key);
}

bool nic_rkey_grant(struct nic_qp *qp, uint32_t rkey, uint64_t va,
		    uint64_t len, unsigned access, sim_time_t *t,
		    struct nic_grant *g)
{
	struct nic *nic = qp->nic;
	struct nic_mr *mr = nic_mr_by_key(nic, rkey);
	struct nic_mw *mw = mr ? NULL : idmap_get(&nic->mws, rkey);
	mpt_fetch(nic, rkey, mr || mw, t);
	memset(g, 0, sizeof(*g));
	g->key = rkey;
	if (mr) {
		/* the MR's own key: its PD, its rights, its range */
		if (mr->pd != qp->pd || (access & ~mr->access) ||
		    !nic_mr_contains(mr, va, len))
			return false;
		g->mr = mr;
		g->lo = mr->addr;
		g->hi = mr->addr + mr->length;
		g->access = mr->access;
		return true;
	}
	/* a window (rxe_lookup_mw): valid, this key (not an older variant
	 * of its index), the PD's (type 1) or bound through this QP (type
	 * 2), the rights and the range it was bound with */
	if (!mw || mw->state != MW_VALID || mw->key != rkey || !mw->length ||
	    mw->pd != qp->pd || (mw->type == NIC_MW_TYPE_2 && mw->qp != qp) ||
	    (access & ~mw->access) || va < mw->addr || len > mw->length ||
	    va - mw->addr > mw->length - len || mw->mr->dying)
		return false;
	g->mr = mw->mr;
	g->mw = mw;
	g->mw_gen = mw->gen;
	g->lo = mw->addr;
	g->hi = mw->addr + mw->length;
	g->access = mw->access;
	return true;
}

unsigned nic_mr_access_via(const struct nic_mw *mw, unsigned access)
{
	if (!mw)
		return access;
	return access & (NIC_ACCESS_REMOTE_WRITE | NIC_ACCESS_REMOTE_ATOMIC) ?
		       NIC_ACCESS_LOCAL_WRITE :
		       0;
}

bool nic_grant_live(const struct nic_grant *g)
{
	if (g->mw)
		return g->mw->gen == g->mw_gen && g->mw->state == MW_VALID;
	return g->mr && !g->mr->dying;
}


void nic_mr_set_shift(struct nic_mr *mr, unsigned shift)
{
	mr->mtt_shift = shift;
	mr->ent0 = mr->first_page >> shift;
	mr->nents = mr->npages ? ((mr->first_page + mr->npages - 1) >> shift) -
					 mr->ent0 + 1
			       : 0;
}

/* Fetch the line of mtt_fetch_entries entries holding entry @pg of @mr
 * over PCIe, issued at @at, into both cache levels (valid, unsuspended
 * entries only); returns when it has arrived. */
static sim_time_t mtt_fetch_line(struct nic_mr *mr, uint64_t pg,
				 sim_time_t at)
{
	struct nic *nic = mr->nic;
	uint64_t line = nic->cfg.mtt_fetch_entries;
	uint64_t base = (line & (line - 1)) ? pg - pg % line :
					      pg & ~(line - 1);
	at = pcie_dma_read_at(nic->pcie, at, line * 8);
	for (uint64_t k = base; k < base + line && k < mr->nents; k++) {
		uint64_t ek = mtt_get(&mr->mtt, k);
		if (!(ek & MTT_VALID) || (ek & MTT_SUSP))
			continue;
		mtt_cache_insert(nic->mtt_cache, MTT_KEY(mr, k), ek);
		if (nic->mtt_l1)
			mtt_cache_insert(nic->mtt_l1, MTT_KEY(mr, k), ek);
	}
	return at;
}

/*
 * An SVA MR (odp_faults = pri): no MTT lookup; per page the NIC's ATC,
 * else an ATS Translation Request, answered from the process page table
 * the IOMMU walks (the MR's entries are that table's view of the range,
 * kept by the IOMMU's SVA notifier).  A not-present answer is a fault:
 * the caller reports it and the driver sends it as a PRI page request.
 */
static enum xlate_status sva_translate(struct nic_mr *mr, uint64_t va,
				       uint64_t len, bool write,
				       sim_time_t *t, uint64_t *fault_va)
{
	struct iommu *io = mr->nic->iommu;
	uint64_t first = (va >> NIC_PAGE_SHIFT) - mr->first_page;
	uint64_t last = ((va + (len ? len : 1) - 1) >> NIC_PAGE_SHIFT) -
			mr->first_page;
	sim_time_t at = *t;
	for (uint64_t pg = first; pg <= last; pg++) {
		uint64_t pva = (mr->first_page + pg) << NIC_PAGE_SHIFT;
		uint64_t e = mtt_get(&mr->mtt, pg);
		bool present = (e & MTT_VALID) && (!write || (e & MTT_WRITE));
		/* a cached translation that no longer allows the access
		 * (read-only, or its invalidation not landed yet) is asked
		 * again */
		if (!iommu_atc_lookup(io, mr->index, pva, 0) || !present)
			at = iommu_ats_request(io, at, mr->index, pva, 0,
					       present);
		if (!present) {
			*t = at;
			if (fault_va)
				*fault_va = pva > va ? pva :
					    va & ~(NIC_PAGE_SIZE - 1);
			return XLATE_FAULT;
		}
	}
	*t = at;
	return XLATE_OK;
}

/*
 * The MTT entries of [va, va+len) one after the other (an entry covers
 * 2^mtt_shift pages: 1 for on-demand MRs, whose entries are 4 KiB): the
 * MTT cache by (MR, entry), then its second level when there is one,
 * else the line of mtt_fetch_entries entries holding it over PCIe.  A
 * fault names the first page of the entry met, or @va's when that is
 * later.
 */
enum xlate_status nic_mr_translate(struct nic_mr *mr, uint64_t va,
				   uint64_t len, unsigned access,
				   sim_time_t *t, uint64_t *fault_va)
{
	struct nic *nic = mr->nic;
	if ((access & ~mr->access) || !nic_mr_contains(mr, va, len))
		return XLATE_ACCESS;
	bool write = access & (NIC_ACCESS_LOCAL_WRITE |
			       NIC_ACCESS_REMOTE_WRITE |
			       NIC_ACCESS_REMOTE_ATOMIC);
	const unsigned sh = mr->mtt_shift;
	uint64_t first = ((va >> NIC_PAGE_SHIFT) >> sh) - mr->ent0;
	uint64_t last = (((va + (len ? len : 1) - 1) >> NIC_PAGE_SHIFT) >> sh) -
			mr->ent0;
	sim_time_t at = *t;
	for (uint64_t pg = first; pg <= last; pg++) {
		uint64_t e;
		if (mtt_cache_lookup(nic->mtt_cache, MTT_KEY(mr, pg), &e)) {
			(*nic->c_mtt_hits)++;
			at += nic_cycles(nic, nic->cfg.cache_hit_cycles);
		} else {
			/* an SVA MR has nothing in the MTT cache (its
			 * translations are the ATC's): its first page
			 * always gets here, off the hit path */
			if (G_UNLIKELY(mr->sva))
				return sva_translate(mr, va, len, write, t,
						     fault_va);
			(*nic->c_mtt_misses)++;
			if (mr->ksm) {
				/* implicit ODP: the KSM entry of the page's
				 * GiB names a child mkey, or the null mkey
				 * (not mapped: a fault) */
				struct imr_child *c = nic_imr_child(mr, pg);
				if (!c) {
					*t = at;
					if (fault_va)
						*fault_va = (mr->first_page + pg)
							    << NIC_PAGE_SHIFT;
					return XLATE_FAULT;
				}
				/* (an implicit MR's entries are 4 KiB:
				 * entry == page) */
				uint64_t v;
				if (mtt_cache_lookup(nic->mpt_cache, c->key,
						     &v)) {
					(*nic->c_mpt_hits)++;
					at += nic_cycles(
						nic, nic->cfg.cache_hit_cycles);
				} else {
					(*nic->c_mpt_misses)++;
					at = pcie_dma_read_at(nic->pcie, at, 64);
					mtt_cache_insert(nic->mpt_cache, c->key,
							 c->key);
				}
			}
			if (nic->mtt_l1 &&
			    mtt_cache_lookup(nic->mtt_l1, MTT_KEY(mr, pg),
					     &e)) {
				/* the second level has it: no PCIe read */
				(*nic->c_l1_hits)++;
				at += nic_cycles(nic,
						 nic->cfg.mtt_l1_hit_cycles);
				mtt_cache_insert(nic->mtt_cache,
						 MTT_KEY(mr, pg), e);
			} else {
				if (nic->mtt_l1)
					(*nic->c_l1_misses)++;
				at = mtt_fetch_line(mr, pg, at);
				e = mtt_get(&mr->mtt, pg);
			}
		}
		if (e & MTT_FAIL) {
			*t = at;
			return XLATE_ACCESS;
		}
		if (e & MTT_SUSP) {
			*t = at;
			return XLATE_SUSPENDED;
		}
		if (!(e & MTT_VALID) || (write && !(e & MTT_WRITE))) {
			*t = at;
			if (fault_va) {
				uint64_t fv = ((mr->ent0 + pg) << sh)
					      << NIC_PAGE_SHIFT;
				*fault_va = fv > va ? fv : va & ~(NIC_PAGE_SIZE - 1);
			}
			return XLATE_FAULT;
		}
	}
	*t = at;
	return XLATE_OK;
}

void nic_mr_move(struct nic_mr *mr, struct nic *nic)
{
	mr->nic = nic;
	/* the new NIC's IOMMU, if it has one; an SVA MR on a NIC without
	 * one goes on through its MTT, which holds the same present pages */
	if (!nic->iommu)
		mr->sva = false;
	mr->dma_io = mr->sva ? NULL : nic->iommu;
}

sim_time_t nic_dma_read_io(const struct nic_mr *mr, sim_time_t t,
			   uint64_t bytes, uint64_t va)
{
	return iommu_dma_read(mr->dma_io, t, bytes, mr->index, va,
			      mr->io_shift);
}

sim_time_t nic_dma_write_io(const struct nic_mr *mr, sim_time_t t,
			    uint64_t bytes, uint64_t va)
{
	return iommu_dma_write(mr->dma_io, t, bytes, mr->index, va,
			       mr->io_shift);
}

/* The frame of @va (translation known valid), for DMA and the oracle. */
uint64_t nic_mr_pfn(const struct nic_mr *mr, uint64_t va)
{
	uint64_t pg = va >> NIC_PAGE_SHIFT;
	const unsigned sh = mr->mtt_shift;
	return MTT_PFN(mtt_get(&mr->mtt, (pg >> sh) - mr->ent0)) +
	       (pg & ((1ULL << sh) - 1));
}

/* Drop cached translations of pages [first, last] of @mr (the entries
 * holding them). */
void nic_mr_flush(struct nic_mr *mr, uint64_t first, uint64_t last)
{
	uint64_t lo = MTT_KEY(mr, nic_mr_ent(mr, first));
	uint64_t hi = MTT_KEY(mr, nic_mr_ent(mr, last));
	mtt_cache_invalidate_range(mr->nic->mtt_cache, lo, hi);
	if (mr->nic->mtt_l1)
		mtt_cache_invalidate_range(mr->nic->mtt_l1, lo, hi);
}

/* ---- deregistration, fenced against DMA ---- */

void nic_mr_hold(struct nic_mr *mr)
{
	mr->holds++;
}

void nic_mr_release(struct nic_mr *mr)
{
	g_assert(mr->holds > 0);
	mr->holds--;
	nic_mr_dereg_check(mr);
}

static void dereg_finish(struct sim *sim, void *obj, uint64_t arg);
SIM_EVKIND(ev_dereg_finish, "nic.dereg_finish", dereg_finish);

void nic_mr_dereg_check(struct nic_mr *mr)
{
	if (!mr->dying || mr->dereg_armed || mr->holds || mr->notif_active ||
	    mr->resize_pending)
		return;
	/* the tear-down command, and no earlier than the last DMA issued
	 * to the MR lands */
	struct nic *nic = mr->nic;
	sim_time_t at = MAX(mr->dereg_revoked, mr->dma_busy);
	at = driver_dereg_teardown(nic->drv, mr, MAX(at, sim_now(nic->sim)));
	mr->dereg_armed = true;
	sim_schedule(nic->sim, at, &ev_dereg_finish, nic->comp, mr, 0);
}

static const struct trace_kind tk_dereg = { "mr_dereg", TRACE_INSTANT, NULL };

static void dereg_finish(struct sim *sim, void *obj, uint64_t arg)
{
	(void)arg;
	struct nic_mr *mr = obj;
	struct nic *nic = mr->nic;
	mr->dereg_armed = false;
	if (mr->holds || mr->notif_active || mr->resize_pending ||
	    mr->dma_busy > sim_now(sim)) {
		/* held again meanwhile (an invalidation began) */
		nic_mr_dereg_check(mr);
		return;
	}
	/* nothing can reach the memory through this MR any more: release
	 * it (unpin, uncommit, unsubscribe) */
	mr->policy->dereg(mr);
	driver_dereg_mkey(nic->drv, mr);
	nic_mr_flush(mr, 0, mr->npages - 1);
	g_ptr_array_remove_fast(nic->dying_mrs, mr);
	hist_add(nic->h_dereg_time, sim_now(sim) - mr->dereg_start);
	sim_trace_as(sim, nic->comp, &tk_dereg, mr->as_name, TRACE_NONE,
		     TRACE_NONE, mr->addr,
		  TRACE_NONE, mr->length, "torn down");
	nic_dereg_done_fn done = mr->dereg_done;
	void *ctx = mr->dereg_ctx;
	/* the MPT index is free for the next key (with another variant) */
	nic_mkey_free(nic, mr->lkey);
	mtt_destroy(&mr->mtt);
	nic_imr_free(mr);
	g_free(mr);
	if (done)
		done(ctx);
}

int nic_dereg_mr(struct nic_mr *mr, nic_dereg_done_fn done, void *ctx)
{
	struct nic *nic = mr->nic;
	g_assert(!mr->dying);
	if (mr->mw_bound)
		return -EBUSY;
	mr->dying = true;
	mr->dereg_start = sim_now(nic->sim);
	mr->dereg_revoked = mr->dereg_start + driver_dereg_revoke(nic->drv, mr);
	mr->dereg_done = done;
	mr->dereg_ctx = ctx;
	(*nic->c_deregs)++;
	/* the keys name nothing from now on (DESTROY_MKEY), and no cached
	 * key or translation of the MR is used again */
	idmap_remove(&nic->mrs, mr->lkey); /* lkey == rkey */
	oracle_revoke(nic->oracle, mr->lkey);
	mtt_cache_invalidate_range(nic->mpt_cache, mr->lkey, mr->lkey);
	nic_mr_flush(mr, 0, mr->npages - 1);
	g_ptr_array_remove(nic->all_mrs, mr);
	g_ptr_array_add(nic->dying_mrs, mr);
	/* a message in progress into the MR is cut off: its next packet
	 * gets a remote access error */
	for (guint i = 0; i < nic->all_qps->len; i++) {
		struct nic_qp *qp = nic->all_qps->pdata[i];
		if (qp->cur_mr == mr) {
			qp->cur_mr = NULL;
			qp->cur_cut = true;
			(*nic->c_dereg_cut)++;
		}
	}
	sim_trace_as(nic->sim, nic->comp, &tk_dereg, mr->as_name, TRACE_NONE,
		     TRACE_NONE, mr->addr, TRACE_NONE, mr->length,
		     "keys invalid");
	nic_mr_dereg_check(mr);
	return 0;
}

void nic_mr_regrant(struct nic_mr *mr)
{
	oracle_grant(mr->nic->oracle, mr->lkey, mr->as, mr->addr,
		     mr->addr + mr->length, mr->access);
}

void nic_mr_info(const struct nic_mr *mr, struct nic_mr_info *out)
{
	out->lkey = mr->lkey;
	out->rkey = mr->rkey;
	out->addr = mr->addr;
	out->length = mr->length;
	out->access = mr->access;
	out->reg_time = mr->reg_time;
}

void nic_mr_watch(struct nic_mr *mr, nic_watch_fn fn, void *ctx)
{
	mr->watch = fn;
	mr->watch_ctx = ctx;
}

static void watch_event(struct sim *sim, void *obj, uint64_t end)
{
	(void)sim;
	struct nic_mr *mr = obj;
	if (mr->watch && !mr->dying)
		mr->watch(mr->watch_ctx, mr, end);
	nic_mr_release(mr);
}
SIM_EVKIND(ev_watch, "nic.mr_watch", watch_event);

void nic_mr_watch_schedule(struct nic_mr *mr, uint64_t end, sim_time_t at)
{
	nic_mr_hold(mr);
	sim_schedule(mr->nic->sim, at, &ev_watch, mr->nic->comp, mr, end);
}
