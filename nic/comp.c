/*
 * nic/comp.c - the completer: what comes back to a requester.
 *
 * ACKs retire WQEs in order (IBA 9.7.5.1.2: an ACK for PSN n acknowledges
 * every request up to n); a signaled WQE then gets a CQE.  A READ
 * completes when its last response packet has been placed.  NAKs:
 *   RNR NAK        wait the timer it carries, then go back to its PSN;
 *                  rnr_retry bounds the attempts (7 = infinite)
 *   PSN seq error  go back to the PSN it carries at once
 *   remote access / invalid request / remote operational error
 *                  the WQE completes in error and the QP goes to ERR
 * The local ACK timer (4.096 us * 2^timeout) restarts at each transmission
 * and each ACK that makes progress; when it expires with packets
 * outstanding the requester goes back to the oldest unacknowledged PSN,
 * retry_cnt bounding the attempts (IBA 9.7.6.1.3).
 *
 * READ responses must arrive in PSN order; a gap means a response was
 * lost: the READ is re-requested from the first missing PSN, once per gap.
 * An ATOMIC ACKNOWLEDGE is handled as a one-packet READ response whose 8
 * bytes of data are its AtomicAckETH (the original value), placed through
 * the WQE's lkey (IBA 9.4.5).  Local operations (BIND_MW, LOCAL_INV) retire
 * in order when the WQEs before them have; their CQE is written no
 * earlier than their done_at (an invalidation's DMA fence).
 */
#include "nic/nic_int.h"

#include "nic/host.h"
#include "nic/pcie.h"

static const struct trace_kind tk_rnr_recv = { "rnr_nak_received",
					       TRACE_INSTANT, NULL };
static const struct trace_kind tk_timeout = { "ack_timeout", TRACE_INSTANT,
					      NULL };
static const struct trace_kind tk_complete = { "wqe_complete",
					       TRACE_INSTANT, NULL };
/* the requester's wait for the RNR timer: a span on the QP's track */
static const struct trace_kind tk_rnr_wait = { "rnr_wait_start", TRACE_BEGIN,
					       "rnr_wait" };
static const struct trace_kind tk_rnr_wait_end = { "rnr_wait_end",
						   TRACE_END, "rnr_wait" };

/* A READ or an atomic: completed by its response, not by an ACK. */
static bool wqe_answers(const struct nic_wqe *w)
{
	return w->wr.opcode == NIC_WR_RDMA_READ ||
	       w->wr.opcode == NIC_WR_ATOMIC_CMP_AND_SWP ||
	       w->wr.opcode == NIC_WR_ATOMIC_FETCH_AND_ADD;
}

static bool wqe_local(const struct nic_wqe *w)
{
	return w->wr.opcode == NIC_WR_BIND_MW ||
	       w->wr.opcode == NIC_WR_LOCAL_INV;
}

static bool wqe_done(const struct nic_qp *qp, const struct nic_wqe *w)
{
	if (!w->started)
		return false;
	if (wqe_answers(w))
		return w->resp_got == w->npkts;
	if (wqe_local(w))
		return w->executed && w->local_status == NIC_WC_SUCCESS &&
		       psn_diff(qp->una_psn, w->first_psn) >= 0;
	return psn_diff(qp->una_psn, w->first_psn + w->npkts) >= 0;
}

/* Complete finished WQEs from the head of the SQ, CQEs visible at @at. */
static void retire(struct nic_qp *qp, sim_time_t at)
{
	struct nic *nic = qp->nic;
	while (qp->sq_count) {
		struct nic_wqe *w = nic_sq_at(qp, 0);
		if (wqe_local(w) && w->executed &&
		    w->local_status != NIC_WC_SUCCESS) {
			/* a failed bind or invalidation, now the oldest */
			nic_qp_error(qp, w->local_status);
			return;
		}
		if (!wqe_done(qp, w))
			break;
		sim_trace(nic->sim, qp->nic->tc_comp, &tk_complete, qp->qpn,
			  w->first_psn, TRACE_NONE, TRACE_NONE,
			  w->wr.sge.length, nic_wr_opcode_names[w->wr.opcode]);
		if (w->wr.signaled) {
			struct nic_wc wc = {
				.wr_id = w->wr.wr_id, .status = NIC_WC_SUCCESS,
				.opcode = nic_wc_opcode_of(w->wr.opcode),
				.byte_len = wqe_local(w) ? 0 : w->wr.sge.length,
				.qpn = qp->qpn,
			};
			nic_cq_push(qp->scq, &wc,
				    wqe_local(w) ? MAX(at, w->done_at) : at);
		}
		qp->sq_head = (qp->sq_head + 1) & (qp->sq_cap - 1);
		qp->sq_count--;
		g_assert(qp->req_idx > 0 && qp->fetch_idx > 0);
		qp->req_idx--;
		qp->fetch_idx--;
	}
}

void comp_retire(struct nic_qp *qp)
{
	retire(qp, sim_now(qp->nic->sim));
}

/* The oldest READ or atomic still waiting for responses, or NULL. */
static struct nic_wqe *pending_read(struct nic_qp *qp)
{
	for (uint32_t i = 0; i < qp->sq_count; i++) {
		struct nic_wqe *w = nic_sq_at(qp, i);
		if (!w->started)
			return NULL;
		if (wqe_answers(w) && w->resp_got < w->npkts)
			return w;
	}
	return NULL;
}

/* Everything up to and including @psn is acknowledged. */
static void ack_upto(struct nic_qp *qp, uint32_t psn)
{
	if (psn_diff(psn, qp->acked_psn) > 0)
		qp->acked_psn = psn & PSN_MASK;
	uint32_t una = (psn + 1) & PSN_MASK;
	/* an ACK does not carry READ data: stop at a READ still answering */
	struct nic_wqe *r = pending_read(qp);
	if (r && psn_diff(una, r->first_psn + r->resp_got) > 0)
		una = (r->first_psn + r->resp_got) & PSN_MASK;
	if (psn_diff(una, qp->una_psn) <= 0)
		return;
	qp->una_psn = una;
	qp->retry_left = qp->attr.retry_cnt;
	qp->rnr_left = qp->attr.rnr_retry;
	/* after a rewind, a late ACK for packets sent before it may cover
	 * more than has been prepared again (a migrated requester resumes
	 * from its oldest unacknowledged PSN while ACKs of what the old NIC
	 * sent are still coming): go on from there, not resend it */
	if (psn_diff(una, qp->next_psn) > 0)
		req_rewind(qp, una);
	retire(qp, sim_now(qp->nic->sim));
	comp_arm_timer(qp);
	if (qp->req == REQ_WAIT_WINDOW || qp->req == REQ_IDLE)
		req_fill(qp);
}

static void rnr_expire(struct sim *sim, void *obj, uint64_t arg)
{
	(void)sim;
	struct nic_qp *qp = obj;
	uint32_t psn = (uint32_t)arg & PSN_MASK;
	/* a wait that ended some other way leaves a stale expiry behind */
	if (qp->state != QPS_RTS || qp->req != REQ_RNR_WAIT ||
	    (uint32_t)(arg >> 32) != qp->rnr_gen)
		return;
	sim_trace(qp->nic->sim, qp->nic->tc_comp, &tk_rnr_wait_end, qp->qpn, psn,
		  TRACE_NONE, TRACE_NONE, TRACE_NONE, NULL);
	qp->req = REQ_SENDING;
	req_rewind(qp, (uint32_t)psn);
	req_fill(qp);
}
SIM_EVKIND(ev_rnr_expire, "nic.rnr_expire", rnr_expire);

static void on_rnr_nak(struct nic_qp *qp, struct pkt *p)
{
	struct nic *nic = qp->nic;
	(*nic->c_rnr_recv)++;
	if (psn_diff(p->psn, qp->una_psn) < 0)
		return; /* stale: that PSN is acknowledged already */
	sim_trace(nic->sim, qp->nic->tc_comp, &tk_rnr_recv, qp->qpn, p->psn,
		  TRACE_NONE, TRACE_NONE, TRACE_NONE, NULL);
	ack_upto(qp, p->psn - 1);
	if (qp->req == REQ_RNR_WAIT)
		return; /* already waiting (a NAK for a packet sent before) */
	if (qp->attr.rnr_retry != 7) {
		if (qp->rnr_left == 0) {
			nic_qp_error(qp, NIC_WC_RNR_RETRY_EXC_ERR);
			return;
		}
		qp->rnr_left--;
	}
	/* drop what was prepared: it is resent after the wait */
	nic_tx_drop(qp);
	/* IBA 9.7.5.2.8: wait at least the timer the NAK carries; the
	 * hardware's realisation of it ([nic] rnr_timer) */
	sim_time_t wait = nic_rnr_wait_ps(nic, AETH_LOW(p->syndrome));
	hist_add(nic->h_rnr_wait_ns, wait / SIM_NS);
	sim_time_t until = sim_now(nic->sim) + wait;
	if (qp->req == REQ_STALLED) {
		/* stalled on a local fault too: once the driver resumes the
		 * QP, what is left of the RNR wait is waited out */
		qp->rewind_pending = true;
		qp->rewind_psn = p->psn;
		qp->rnr_until = until;
		return;
	}
	comp_rnr_wait(qp, until, p->psn);
}

void comp_rnr_wait(struct nic_qp *qp, sim_time_t until, uint32_t psn)
{
	struct nic *nic = qp->nic;
	qp->req = REQ_RNR_WAIT;
	qp->rnr_until = 0;
	qp->rnr_gen++;
	sim_trace(nic->sim, qp->nic->tc_comp, &tk_rnr_wait, qp->qpn, psn, TRACE_NONE,
		  TRACE_NONE, TRACE_NONE, NULL);
	sim_schedule(nic->sim, until, &ev_rnr_expire, qp->comp, qp,
		     ((uint64_t)qp->rnr_gen << 32) | psn);
}

static void on_ack(struct nic_qp *qp, struct pkt *p)
{
	struct nic *nic = qp->nic;
	(*nic->c_acks_recv)++;
	switch (AETH_KIND(p->syndrome)) {
	case AETH_ACK:
		ack_upto(qp, p->psn);
		return;
	case AETH_RNR_NAK:
		on_rnr_nak(qp, p);
		return;
	case AETH_NAK:
		break;
	default:
		return; /* reserved syndromes are ignored */
	}
	if (psn_diff(p->psn, qp->una_psn) < 0)
		return; /* a stale NAK: that PSN is acknowledged already */
	ack_upto(qp, p->psn - 1);
	switch (AETH_LOW(p->syndrome)) {
	case NAK_PSN_SEQ_ERROR:
		(*nic->c_nak_seq_recv)++;
		if (qp->req == REQ_RNR_WAIT)
			return;
		/* a sequence error is a transport retry, like a timeout
		 * (IBA 9.7.5.2.6; soft-RoCE counts it against retry_cnt) */
		if (qp->retry_left == 0) {
			nic_qp_error(qp, NIC_WC_RETRY_EXC_ERR);
			return;
		}
		qp->retry_left--;
		if (qp->req == REQ_STALLED) {
			qp->rewind_pending = true;
			qp->rewind_psn = p->psn;
			return;
		}
		req_rewind(qp, p->psn);
		qp->req = REQ_SENDING;
		req_fill(qp);
		return;
	case NAK_REMOTE_ACCESS_ERROR:
		(*nic->c_nak_access_recv)++;
		nic_qp_error(qp, NIC_WC_REM_ACCESS_ERR);
		return;
	case NAK_REMOTE_OP_ERROR:
		nic_qp_error(qp, NIC_WC_REM_OP_ERR);
		return;
	default:
		nic_qp_error(qp, NIC_WC_REM_INV_REQ_ERR);
		return;
	}
}

static void on_read_response(struct nic_qp *qp, struct pkt *p)
{
	struct nic *nic = qp->nic;
	struct nic_wqe *w = pending_read(qp);
	if (!w)
		return; /* stale duplicate */
	bool atomic = p->opcode == IB_ATOMIC_ACK;
	if (atomic != (w->wr.opcode != NIC_WR_RDMA_READ))
		return; /* not an answer to this WQE's kind: a stale one */
	/* an atomic's data is its AtomicAckETH's 8 bytes */
	uint32_t plen = atomic ? 8 : p->payload_len;
	uint32_t expected = (w->first_psn + w->resp_got) & PSN_MASK;
	int32_t d = psn_diff(p->psn, expected);
	if (d < 0)
		return; /* duplicate of a response already placed */
	if (qp->req == REQ_STALLED && qp->stall_scatter)
		return; /* placing is stopped: re-requested on resume */
	/* a response implicitly acknowledges the requests before its READ */
	ack_upto(qp, w->first_psn - 1);
	if (d > 0) {
		/* a response was lost: ask again from the gap, once (the
		 * rest of the burst lands here too) */
		(*nic->c_out_of_seq)++;
		if (!w->rereq && qp->req != REQ_RNR_WAIT &&
		    qp->req != REQ_STALLED) {
			w->rereq = true;
			req_rewind(qp, expected);
			qp->req = REQ_SENDING;
			req_fill(qp);
		}
		return;
	}
	sim_time_t t = sim_now(nic->sim) + nic_cycles(nic, nic->cfg.rx_cycles);
	sim_time_t land = t;
	if (plen) {
		struct nic_mr *mr = nic_mr_by_key(nic, w->wr.sge.lkey);
		uint64_t va = w->wr.sge.addr +
			      (uint64_t)w->resp_got * qp->attr.path_mtu;
		uint64_t fva = 0;
		enum xlate_status xs =
			mr ? nic_mr_translate(mr, va, plen,
					      NIC_ACCESS_LOCAL_WRITE, &t, &fva) :
			     XLATE_ACCESS;
		if (xs == XLATE_SUSPENDED) {
			qp->rewind_pending = true;
			qp->rewind_psn = p->psn;
			nic_qp_wait_suspended(qp);
			qp->stall_scatter = true;
			return;
		}
		if (xs == XLATE_FAULT) {
			/*
			 * Scattering a READ response into a page that is not
			 * present: this response is dropped, and so are the
			 * ones of the same READ still arriving (the QP is
			 * stalled); once the driver resumes the QP, the
			 * READ is asked again from this PSN (IBA allows a
			 * requester to re-request any part of a READ).
			 */
			qp->rewind_pending = true;
			qp->rewind_psn = p->psn;
			uint64_t done = (uint64_t)w->resp_got *
					qp->attr.path_mtu;
			struct pf_report r = {
				.mr = mr, .qp = qp, .requester = true,
				.read_scatter = true, .va = va,
				.len = w->wr.sge.length - done,
				.committed = done, .packet = p->payload_len,
				.fault_va = fva, .access_end = va + p->payload_len,
				.write = true, .t = t,
			};
			nic_qp_stall(&r);
			qp->stall_scatter = true;
			return;
		}
		if (xs != XLATE_OK) {
			nic_qp_error(qp, NIC_WC_LOC_PROT_ERR);
			return;
		}
		land = nic_dma_write(nic, t, plen, mr, va);
		if (land > mr->dma_busy)
			mr->dma_busy = land;
		/* the content of READ data is not tracked: a fresh version */
		oracle_dma(nic->oracle, true, mr, va, plen,
			   ((uint64_t)nic->host->index << 56) | (1ULL << 55) |
				   ++qp->data_version_seq,
			   land, qp->qpn, p->psn, w->wr.sge.lkey,
			   NIC_ACCESS_LOCAL_WRITE);
		if (atomic) /* the original value, for the application */
			oracle_word_store(nic->oracle, mr->as, va,
					  p->atomic_orig);
	}
	w->resp_got++;
	w->rereq = false;
	if (w->resp_got == w->npkts) {
		qp->reads_out--;
		uint32_t end = (w->first_psn + w->npkts) & PSN_MASK;
		if (psn_diff(end, qp->una_psn) > 0)
			qp->una_psn = end;
		qp->retry_left = qp->attr.retry_cnt;
		retire(qp, land);
		/* ACKs that came for PSNs past the READ were held back at it */
		if (psn_diff(qp->acked_psn, qp->una_psn) >= 0)
			ack_upto(qp, qp->acked_psn);
		comp_arm_timer(qp);
		req_fill(qp);
	}
}

void comp_rx(struct nic_qp *qp, struct pkt *p)
{
	if (qp->state != QPS_RTS)
		return;
	if (p->opcode == IB_ACK)
		on_ack(qp, p);
	else
		on_read_response(qp, p); /* and ATOMIC ACKNOWLEDGE */
}

/* ---- the local ACK timer ---- */

static bool outstanding(const struct nic_qp *qp)
{
	return psn_diff(qp->sent_psn, qp->una_psn) > 0 || qp->reads_out;
}

static void ack_timer(struct sim *sim, void *obj, uint64_t arg);
SIM_EVKIND(ev_ack_timer, "nic.ack_timer", ack_timer);

void comp_arm_timer(struct nic_qp *qp)
{
	sim_time_t to = ib_timeout_ps(qp->attr.timeout);
	if (to == SIM_TIME_MAX || !outstanding(qp))
		return;
	qp->timer_deadline = sim_now(qp->nic->sim) + to;
	if (!qp->timer_pending) {
		qp->timer_pending = true;
		sim_schedule(qp->nic->sim, qp->timer_deadline, &ev_ack_timer,
			     qp->comp, qp, 0);
	}
}

static void ack_timer(struct sim *sim, void *obj, uint64_t arg)
{
	(void)arg;
	struct nic_qp *qp = obj;
	struct nic *nic = qp->nic;
	qp->timer_pending = false;
	if (qp->state != QPS_RTS || !outstanding(qp))
		return;
	if (sim_now(sim) < qp->timer_deadline) {
		qp->timer_pending = true;
		sim_schedule(sim, qp->timer_deadline, &ev_ack_timer,
			     qp->comp, qp, 0);
		return;
	}
	if (qp->req == REQ_RNR_WAIT)
		return; /* the RNR wait restarts the requester */
	if (qp->req == REQ_STALLED) {
		comp_arm_timer(qp); /* nothing can progress before resume */
		return;
	}
	(*nic->c_timeouts)++;
	hist_add(nic->h_ack_timeout_ns,
		 ib_timeout_ps(qp->attr.timeout) / SIM_NS);
	sim_trace(sim, qp->nic->tc_comp, &tk_timeout, qp->qpn, qp->una_psn, TRACE_NONE,
		  TRACE_NONE, TRACE_NONE, NULL);
	if (qp->retry_left == 0) {
		nic_qp_error(qp, NIC_WC_RETRY_EXC_ERR);
		return;
	}
	qp->retry_left--;
	req_rewind(qp, qp->una_psn);
	qp->req = REQ_SENDING;
	req_fill(qp);
	comp_arm_timer(qp);
}
