/*
 * nic/mw.c - memory windows: allocation, bind, invalidation (IBA Vol 1,
 * 10.6.7; the verbs of libibverbs; soft-RoCE's rxe_mw.c is the model of
 * the checks, cited by their IBA compliance numbers as it cites them).
 *
 * Representation: a window is a heap object in the NIC's key space (its
 * own radix map nic->mws, beside the MRs': a key is looked up in one,
 * then the other), kept until the NIC is freed so that a QP's pointer to
 * the window its current message came through stays valid; a bind or an
 * invalidation bumps its generation, which cuts such a message off.
 *
 * States (nic_mw_state_names): a type 1 window is VALID from allocation
 * (with length 0 until bound: its key opens nothing) and is rebound by
 * nic_bind_mw(), never invalidated; a type 2 window starts FREE, a
 * BIND_MW work request on a QP of its PD makes it VALID and bound
 * through that QP, LOCAL_INV on that QP or a SEND_WITH_INV from its peer
 * makes it FREE again; deallocation makes either INVALID.
 *
 * Fencing: an invalidation refuses the key at once, and completes (its
 * CQE, the receive CQE of a SEND_WITH_INV) only when the DMA issued
 * through the window has landed: the window's MR's in-flight horizon, a
 * conservative bound (the MR's other keys' DMA counts too).
 *
 * Workload assumed: binds and invalidations per message or per
 * connection, never per packet; the packet path only reads a window
 * (nic_rkey_grant, mr.c).
 */
#include "nic/nic_int.h"

#include <errno.h>

#include "nic/mtt_cache.h"

const char *const nic_mw_state_names[] = { "FREE", "VALID", "INVALID" };

static const struct trace_kind tk_mw = { "mw", TRACE_INSTANT, NULL };

static void mw_trace(struct nic_mw *mw, const char *what)
{
	struct nic *nic = mw->nic;
	sim_trace(nic->sim, nic->comp, &tk_mw, mw->qp ? mw->qp->qpn : TRACE_NONE,
		  TRACE_NONE, mw->length ? mw->addr : TRACE_NONE, TRACE_NONE,
		  mw->length, what);
}

uint32_t nic_inc_rkey(uint32_t rkey)
{
	/* ibv_inc_rkey (libibverbs/verbs.h): the next 8-bit variant */
	return (rkey & ~0xffu) | ((rkey + 1) & 0xffu);
}

/* Take @mw's key out of the MPT (and the MPT cache), and the oracle's
 * grant with it. */
static void mw_key_remove(struct nic_mw *mw)
{
	struct nic *nic = mw->nic;
	if (idmap_get(&nic->mws, mw->key) == mw)
		idmap_remove(&nic->mws, mw->key);
	mtt_cache_invalidate_range(nic->mpt_cache, mw->key, mw->key);
	oracle_revoke(nic->oracle, mw->key);
}

static void mw_unbind(struct nic_mw *mw)
{
	if (mw->mr) {
		g_assert(mw->mr->mw_bound > 0);
		mw->mr->mw_bound--;
	}
	mw->mr = NULL;
	mw->qp = NULL;
	mw->addr = mw->length = 0;
	mw->access = 0;
	mw->gen++;
}

struct nic_mw *nic_alloc_mw(struct nic_pd *pd, enum nic_mw_type type)
{
	struct nic *nic = pd->nic;
	g_assert(type == NIC_MW_TYPE_1 || type == NIC_MW_TYPE_2);
	struct nic_mw *mw = g_new0(struct nic_mw, 1);
	mw->nic = nic;
	mw->pd = pd;
	mw->type = type;
	mw->key = mw->user_key = nic_mkey_alloc(nic);
	mw->state = type == NIC_MW_TYPE_2 ? MW_FREE : MW_VALID;
	idmap_set(&nic->mws, mw->key, mw);
	g_ptr_array_add(nic->all_mws, mw);
	mw_trace(mw, "allocated");
	return mw;
}

void nic_dealloc_mw(struct nic_mw *mw)
{
	g_assert(mw->state != MW_INVALID);
	mw_key_remove(mw);
	mw_unbind(mw);
	mw->state = MW_INVALID;
	nic_mkey_free(mw->nic, mw->key);
	mw_trace(mw, "deallocated");
}

uint32_t nic_mw_rkey(const struct nic_mw *mw)
{
	return mw->user_key;
}

int nic_bind_mw(struct nic_qp *qp, uint64_t wr_id, bool signaled,
		const struct nic_mw_bind *b)
{
	struct nic_mw *mw = b->mw;
	if (mw->type != NIC_MW_TYPE_1 || mw->pd != qp->pd)
		return -EINVAL;
	/* libibverbs' ibv_bind_mw: the key after the bind is the next
	 * variant, returned to the caller at once (the CQE says whether
	 * the bind took) */
	struct nic_send_wr wr = {
		.wr_id = wr_id, .opcode = NIC_WR_BIND_MW, .signaled = signaled,
		.bind = *b,
	};
	wr.bind.rkey = nic_inc_rkey(mw->user_key);
	int rc = nic_post_send(qp, &wr);
	if (rc == 0)
		mw->user_key = wr.bind.rkey;
	return rc;
}

/* The checks of a bind (rxe_check_bind_mw), by IBA compliance number;
 * NULL when it may go ahead, else why not. */
static const char *bind_refusal(const struct nic_qp *qp,
				const struct nic_mw_bind *b)
{
	const struct nic_mw *mw = b->mw;
	const struct nic_mr *mr = b->mr;
	if (!mw || mw->state == MW_INVALID || mw->nic != qp->nic)
		return "no such window";
	if (NIC_MKEY_INDEX(b->rkey) != NIC_MKEY_INDEX(mw->key))
		return "the new key is not the window's index";
	if (mw->type == NIC_MW_TYPE_1 && mw->state != MW_VALID)
		return "type 1 window not valid";
	if (mw->type == NIC_MW_TYPE_2) {
		if (mw->state != MW_FREE) /* o10-37.2.30 */
			return "type 2 window already bound";
		if (qp->pd != mw->pd) /* C10-72 */
			return "QP of another PD";
		if (!mr || !b->length) /* o10-37.2.40 */
			return "type 2 bind without an MR or length";
	}
	if (!mr)
		return b->length ? "a length without an MR" : NULL;
	if (mr->dying || mr->pd != mw->pd)
		return "MR deregistered or of another PD";
	if (!(mr->access & NIC_ACCESS_MW_BIND)) /* C10-73 */
		return "MR without MW_BIND access";
	if ((b->access & (NIC_ACCESS_REMOTE_WRITE | NIC_ACCESS_REMOTE_ATOMIC)) &&
	    !(mr->access & NIC_ACCESS_LOCAL_WRITE)) /* C10-74 */
		return "writable window on an MR without local write";
	if (b->access & ~(NIC_ACCESS_REMOTE_READ | NIC_ACCESS_REMOTE_WRITE |
			  NIC_ACCESS_REMOTE_ATOMIC))
		return "access a window cannot have";
	if (!nic_mr_contains(mr, b->addr, b->length)) /* C10-75 */
		return "window outside its MR";
	return NULL;
}

enum nic_wc_status nic_mw_bind_exec(struct nic_qp *qp,
				    const struct nic_mw_bind *b)
{
	struct nic *nic = qp->nic;
	const char *why = bind_refusal(qp, b);
	if (why) {
		(*nic->c_mw_bind_errors)++;
		sim_trace(nic->sim, nic->comp, &tk_mw, qp->qpn, TRACE_NONE,
			  b->addr, TRACE_NONE, b->length, why);
		return NIC_WC_MW_BIND_ERR;
	}
	struct nic_mw *mw = b->mw;
	/* the old key names nothing from here on (a rebind of type 1 too) */
	mw_key_remove(mw);
	mw_unbind(mw);
	mw->key = b->rkey;
	mw->state = MW_VALID;
	if (b->length) {
		mw->mr = b->mr;
		b->mr->mw_bound++;
		mw->addr = b->addr;
		mw->length = b->length;
		mw->access = b->access;
		if (mw->type == NIC_MW_TYPE_2)
			mw->qp = qp;
		oracle_grant(nic->oracle, mw->key, mw->mr->as, mw->addr,
			     mw->addr + mw->length, mw->access);
	}
	idmap_set(&nic->mws, mw->key, mw);
	(*nic->c_mw_binds)++;
	mw_trace(mw, "bound");
	return NIC_WC_SUCCESS;
}

bool nic_mw_invalidate(struct nic_qp *qp, uint32_t rkey, sim_time_t *done_at)
{
	struct nic *nic = qp->nic;
	struct nic_mw *mw = idmap_get(&nic->mws, rkey);
	*done_at = sim_now(nic->sim);
	/* o10-37.2.26: a type 1 window is not invalidated; only the QP a
	 * type 2 window was bound through invalidates it (rxe) */
	if (!mw || mw->key != rkey || mw->type != NIC_MW_TYPE_2 ||
	    mw->state != MW_VALID || mw->qp != qp)
		return false;
	if (mw->mr && mw->mr->dma_busy > *done_at)
		*done_at = mw->mr->dma_busy;
	mw_key_remove(mw);
	mw_unbind(mw);
	mw->state = MW_FREE;
	(*nic->c_mw_invalidations)++;
	mw_trace(mw, "invalidated");
	return true;
}
