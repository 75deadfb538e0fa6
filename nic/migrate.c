/*
 * nic/migrate.c - live migration of the HCA function that serves a host:
 * freeze, quiesce, transplant to another NIC, resume.
 *
 * Representation: what migrates is the function's state, the objects the
 * verbs created (PDs, MRs with their MTTs, CQs, QPs with their rings,
 * PSNs and outstanding WQEs), together with the driver instance and the
 * correctness oracle that watch them.  The NIC's hardware (PCIe link,
 * MTT/MPT caches, port, transmitter, counters) stays.  A transplant swaps
 * the function state of two NICs and repoints the objects: QPNs, lkeys
 * and rkeys are the same numbers on the new NIC, which is what mlx5's
 * VF live migration (vfio/mlx5 save and load of the function state)
 * provides.  The serialized records of nic/snapshot.c are the migration
 * stream: what the destination receives is exactly that state.
 *
 * Workload assumed: one migration per run, of a NIC with tens of QPs and
 * MRs; nothing here is on a per-packet path except one flag test.
 */
#include "nic/nic_int.h"

#include "nic/driver.h"
#include "nic/host.h"
#include "nic/mtt_cache.h"
#include "nic/snapshot.h"

static const struct trace_kind tk_pause = { "nic_frozen", TRACE_INSTANT,
					    NULL };
static const struct trace_kind tk_resume = { "nic_resumed", TRACE_INSTANT,
					     NULL };

void nic_migrate_pause(struct nic *nic)
{
	nic->paused = true;
	for (guint i = 0; i < nic->all_qps->len; i++)
		resp_flush_held(nic->all_qps->pdata[i]);
	sim_trace(nic->sim, nic->comp, &tk_pause, TRACE_NONE, TRACE_NONE,
		  TRACE_NONE, TRACE_NONE, TRACE_NONE, NULL);
}

const char *nic_migrate_busy(const struct nic *nic)
{
	sim_time_t now = sim_now(nic->sim);
	if (nic->reg_mrs->len)
		return "a registration in progress";
	if (nic->dying_mrs->len)
		return "a deregistration waiting for DMA in flight";
	for (guint i = 0; i < nic->all_mrs->len; i++) {
		const struct nic_mr *mr = nic->all_mrs->pdata[i];
		if (mr->dma_busy > now)
			return "DMA in flight";
		if (mr->notif_active)
			return "an invalidation or suspension in progress";
		if (mr->resize_pending)
			return "a resize in progress";
	}
	for (guint i = 0; i < nic->all_qps->len; i++) {
		const struct nic_qp *qp = nic->all_qps->pdata[i];
		if (qp->held.length)
			return "packets held";
		if (qp->resp_busy > now)
			return "the responder busy";
	}
	return nic->drv ? driver_busy(nic->drv) : NULL;
}

struct snapfile *nic_migrate_state(const struct nic *nic)
{
	struct snapfile *sf = snapfile_new();
	nic_snapshot(nic, sf);
	return sf;
}

uint64_t nic_migrate_state_bytes(const struct snapfile *sf)
{
	uint64_t n = 0;
	for (guint i = 0; i < sf->notes->len; i++) {
		const struct snap_note *no = sf->notes->pdata[i];
		n += 8 + no->desc->len; /* type and length words, record */
	}
	return n;
}

char *nic_migrate_state_diff(const struct snapfile *a,
			     const struct snapfile *b)
{
	if (a->notes->len != b->notes->len)
		return g_strdup_printf("%u records sent, %u on the destination",
				       a->notes->len, b->notes->len);
	static const struct vmstate_desc *const descs[] = {
		&nic_mr_vmstate, &nic_qp_vmstate, &nic_mtt_vmstate, NULL
	};
	for (guint i = 0; i < a->notes->len; i++) {
		const struct snap_note *x = a->notes->pdata[i];
		const struct snap_note *y = b->notes->pdata[i];
		const struct vmstate_desc *d = snapfile_desc(descs, x->type);
		if (x->type != y->type || !d)
			return g_strdup_printf("record %u: type %u vs %u", i,
					       x->type, y->type);
		char *m = vmstate_diff(d, x->desc->data, x->desc->len,
				       y->desc->data, y->desc->len);
		if (m) {
			char *r = g_strdup_printf("%s record %u: %s", d->name,
						  i, m);
			g_free(m);
			return r;
		}
	}
	return NULL;
}


/*
 * The source keeps the frozen function until the run ends (a migration
 * releases the source only once the destination runs, and the fabric may
 * still deliver packets sent to the old port): a request for a migrated
 * QP at its frozen expected PSN still gets an RNR NAK, and the requester
 * retries, now at the new port.  Without it a retry that crossed the
 * switchover would be lost and the peer would wait out its ACK timeout
 * (4.096 us x 2^timeout: 67 ms at perftest's 14).
 */
struct nic_tomb {
	uint32_t qpn, dest_qpn, epsn, msn;
	uint16_t host, dest_host;
	uint8_t min_rnr_timer;
};

static void tomb_add(struct nic *nic, const struct nic_qp *qp)
{
	if (!nic->tombs)
		nic->tombs = g_hash_table_new_full(g_direct_hash,
						   g_direct_equal, NULL,
						   g_free);
	struct nic_tomb *t = g_new0(struct nic_tomb, 1);
	t->qpn = qp->qpn;
	t->dest_qpn = qp->dest_qpn;
	t->epsn = qp->epsn;
	t->msn = qp->msn;
	t->host = (uint16_t)nic->host->index;
	t->dest_host = qp->dest_host;
	t->min_rnr_timer = qp->attr.min_rnr_timer;
	g_hash_table_insert(nic->tombs, GUINT_TO_POINTER(qp->qpn), t);
}

bool nic_tomb_rx(struct nic *nic, const struct pkt *p)
{
	const struct nic_tomb *t = g_hash_table_lookup(
		nic->tombs, GUINT_TO_POINTER(p->dqpn));
	if (!t || p->opcode == IB_ACK ||
	    (p->opcode >= IB_READ_RESP_FIRST &&
	     p->opcode <= IB_READ_RESP_ONLY))
		return false;
	if (p->psn != t->epsn) {
		(*nic->c_migr_drop)++;
		return true;
	}
	struct pkt *a = pkt_alloc(nic->pool);
	a->opcode = IB_ACK;
	a->pkey = 0xffff;
	a->dqpn = t->dest_qpn;
	a->sqpn = t->qpn;
	a->src_host = t->host;
	a->dst_host = t->dest_host;
	a->psn = t->epsn & PSN_MASK;
	a->syndrome = AETH_SYNDROME(AETH_RNR_NAK, t->min_rnr_timer);
	a->msn = t->msn & PSN_MASK;
	nic_queue_response(nic, a, sim_now(nic->sim) +
				   nic_cycles(nic, nic->cfg.rx_cycles));
	(*nic->c_rnr_sent)++;
	(*nic->c_migr_rnr)++;
	return true;
}

#define SWAP(a, b)                                                           \
	do {                                                                 \
		__typeof__(a) t_ = (a);                                      \
		(a) = (b);                                                   \
		(b) = t_;                                                    \
	} while (0)

void nic_migrate_drop_tx(struct nic *nic)
{
	g_assert(nic->paused);
	/* what the QPs had prepared is dropped (the destination resends
	 * from the oldest unacknowledged PSN), and they leave the
	 * transmitter's round robin */
	for (guint i = 0; i < nic->all_qps->len; i++)
		nic_tx_drop(nic->all_qps->pdata[i]);
	txs_unlink_empty(&nic->txs);
}

void nic_migrate_transplant(struct nic *src, struct nic *dst)
{
	g_assert(src->paused && !dst->all_qps->len && !dst->all_mrs->len &&
		 !dst->all_pds->len && !dst->reg_mrs->len);
	nic_migrate_drop_tx(src);
	for (guint i = 0; i < src->all_qps->len; i++)
		tomb_add(src, src->all_qps->pdata[i]);
	SWAP(src->qps, dst->qps);
	SWAP(src->mrs, dst->mrs);
	SWAP(src->mws, dst->mws);
	SWAP(src->all_mws, dst->all_mws);
	SWAP(src->dying_mrs, dst->dying_mrs);
	SWAP(src->all_qps, dst->all_qps);
	/* the round robin's members are the QPs, by index in all_qps (none
	 * in it now: the drop above emptied it) */
	SWAP(src->txs, dst->txs);
	SWAP(src->all_mrs, dst->all_mrs);
	SWAP(src->all_cqs, dst->all_cqs);
	SWAP(src->all_pds, dst->all_pds);
	SWAP(src->reg_mrs, dst->reg_mrs);
	SWAP(src->next_qpn, dst->next_qpn);
	SWAP(src->mkey_used, dst->mkey_used);
	SWAP(src->mkey_var, dst->mkey_var);
	SWAP(src->keys_rng, dst->keys_rng);
	SWAP(src->next_mr_index, dst->next_mr_index);
	SWAP(src->next_pd, dst->next_pd);
	SWAP(src->host, dst->host);
	SWAP(src->drv, dst->drv);
	SWAP(src->oracle, dst->oracle);
	SWAP(src->paused, dst->paused);
	SWAP(src->host->nic, dst->host->nic);
	if (src->drv)
		driver_set_nic(src->drv, src);
	if (dst->drv)
		driver_set_nic(dst->drv, dst);
	oracle_set_nic(src->oracle, src);
	oracle_set_nic(dst->oracle, dst);
	for (guint i = 0; i < dst->all_pds->len; i++)
		((struct nic_pd *)dst->all_pds->pdata[i])->nic = dst;
	for (guint i = 0; i < dst->all_cqs->len; i++)
		((struct nic_cq *)dst->all_cqs->pdata[i])->nic = dst;
	for (guint i = 0; i < dst->all_mrs->len; i++)
		nic_mr_move(dst->all_mrs->pdata[i], dst);
	for (guint i = 0; i < dst->all_mws->len; i++)
		((struct nic_mw *)dst->all_mws->pdata[i])->nic = dst;
	/* registrations the application began while frozen go on there */
	for (guint i = 0; i < dst->reg_mrs->len; i++)
		nic_mr_move(dst->reg_mrs->pdata[i], dst);
	for (guint i = 0; i < dst->all_qps->len; i++) {
		struct nic_qp *qp = dst->all_qps->pdata[i];
		qp->nic = dst;
		qp->comp = dst->comp;
	}
	/* the old NIC's caches hold translations of a function it no
	 * longer runs; the new NIC's are cold */
	mtt_cache_invalidate_range(src->mtt_cache, 0, UINT64_MAX);
	if (src->mtt_l1)
		mtt_cache_invalidate_range(src->mtt_l1, 0, UINT64_MAX);
	mtt_cache_invalidate_range(src->mpt_cache, 0, UINT64_MAX);
}

void nic_migrate_zap(struct nic *nic)
{
	for (guint i = 0; i < nic->all_mrs->len; i++) {
		struct nic_mr *mr = nic->all_mrs->pdata[i];
		if (mr->ksm)
			driver_imr_reset(mr); /* its children go too */
		else if (mr->policy && mr->policy->on_demand && mr->npages)
			mr->mapped -= mtt_zap(&mr->mtt, 0, mr->npages - 1);
	}
}

void nic_on_serve(struct nic *nic, nic_serve_fn fn, void *ctx)
{
	nic->serve_fn = fn;
	nic->serve_ctx = ctx;
}

void nic_migrate_resume(struct nic *nic)
{
	nic->paused = false;
	sim_trace(nic->sim, nic->comp, &tk_resume, TRACE_NONE, TRACE_NONE,
		  TRACE_NONE, TRACE_NONE, TRACE_NONE, NULL);
	for (guint i = 0; i < nic->all_qps->len; i++) {
		struct nic_qp *qp = nic->all_qps->pdata[i];
		if (qp->state != QPS_RTS)
			continue;
		/* acknowledgements sent to the old port at the switchover
		 * were lost: go back to the oldest unacknowledged PSN */
		if (qp->req == REQ_IDLE || qp->req == REQ_SENDING ||
		    qp->req == REQ_WAIT_WINDOW) {
			if (qp->una_psn != qp->next_psn)
				req_rewind(qp, qp->una_psn);
		}
		req_fill(qp);
	}
}
