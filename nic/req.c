/*
 * nic/req.c - the requester: turns send WQEs into packets.
 *
 * For each WQE the NIC first fetches it from host memory (one PCIe read
 * of wqe_bytes after the doorbell), then segments it into path-MTU packets
 * with consecutive PSNs (IBA 9.5: FIRST/MIDDLE/LAST/ONLY, RETH on the
 * first packet of a WRITE, ImmDt on the last).  A READ request is one
 * packet but consumes one PSN per expected response packet (IBA 9.7.1).
 * Each packet's payload is gathered through the lkey (MTT cache) by a
 * PCIe DMA read; the packet is ready to transmit when the read completes.
 * Up to tx_window packets are prepared ahead, and at most max_outstanding
 * are unacknowledged (and max_rd_atomic READs outstanding).
 *
 * An atomic (IBA 9.4.5) is one request packet with an AtomicETH and one
 * PSN; it counts against max_rd_atomic with the READs and completes when
 * its ATOMIC ACKNOWLEDGE brings the original value (nic/comp.c).  A SEND
 * WITH INVALIDATE carries the rkey in an IETH on its last packet (9.3.9).
 * Local operations (BIND_MW, LOCAL_INV: nic/mw.c) send nothing and take no
 * PSN: each is executed when the requester reaches it, in order, and
 * completes in order behind the WQEs before it; one that fails moves the
 * QP to ERR when it reaches the head of the SQ (IBA 10.8.3).
 *
 * Go-back-N: req_rewind(psn) drops what was prepared and restarts
 * segmentation at the WQE holding @psn (after a NAK, an RNR wait or a
 * timeout); a READ restarted in its middle asks only for the rest, and a
 * local operation is never executed twice.
 */
#include "nic/nic_int.h"

#include "nic/pcie.h"

const char *const req_state_names[] = { "IDLE", "SENDING", "WAIT_WINDOW",
					"RNR_WAIT", "STALLED", "ERROR" };

static const struct trace_kind tk_req = { "req_state", TRACE_INSTANT, NULL };

static void req_set(struct nic_qp *qp, enum req_state s)
{
	if (qp->req == s)
		return;
	qp->req = s;
	sim_trace(qp->nic->sim, qp->nic->tc_req, &tk_req, qp->qpn, qp->next_psn,
		  TRACE_NONE, TRACE_NONE, TRACE_NONE, req_state_names[s]);
}

uint32_t req_wqe_npkts(const struct nic_qp *qp, const struct nic_wqe *w)
{
	/* path MTUs are powers of two (nic_connect checks) */
	unsigned sh = (unsigned)__builtin_ctz(qp->attr.path_mtu);
	uint32_t len = w->wr.sge.length;
	return len ? (uint32_t)(((uint64_t)len + qp->attr.path_mtu - 1) >> sh) :
		     1;
}

/* A READ or an atomic: its response carries data back. */
static bool wqe_is_read(const struct nic_wqe *w)
{
	return w->wr.opcode == NIC_WR_RDMA_READ ||
	       w->wr.opcode == NIC_WR_ATOMIC_CMP_AND_SWP ||
	       w->wr.opcode == NIC_WR_ATOMIC_FETCH_AND_ADD;
}

static bool wqe_is_local(const struct nic_wqe *w)
{
	return w->wr.opcode == NIC_WR_BIND_MW ||
	       w->wr.opcode == NIC_WR_LOCAL_INV;
}

/* Execute local operation @w (at the requester's turn): its status and
 * the time its CQE may be written. */
static void req_local(struct nic_qp *qp, struct nic_wqe *w, sim_time_t now)
{
	w->executed = true;
	w->done_at = now;
	if (w->wr.opcode == NIC_WR_BIND_MW) {
		w->local_status = nic_mw_bind_exec(qp, &w->wr.bind);
	} else {
		w->local_status =
			nic_mw_invalidate(qp, w->wr.invalidate_rkey,
					  &w->done_at) ?
				NIC_WC_SUCCESS :
				NIC_WC_LOC_QP_OP_ERR;
	}
}

static uint8_t data_opcode(const struct nic_wqe *w, uint32_t k, uint32_t n)
{
	bool first = k == 0, last = k + 1 == n;
	bool imm = w->wr.opcode == NIC_WR_SEND_WITH_IMM ||
		   w->wr.opcode == NIC_WR_RDMA_WRITE_WITH_IMM;
	bool inv = w->wr.opcode == NIC_WR_SEND_WITH_INV;
	bool send = w->wr.opcode == NIC_WR_SEND ||
		    w->wr.opcode == NIC_WR_SEND_WITH_IMM || inv;
	if (send) {
		if (first && last)
			return inv ? IB_SEND_ONLY_INV :
			       imm ? IB_SEND_ONLY_IMM : IB_SEND_ONLY;
		if (first)
			return IB_SEND_FIRST;
		if (last)
			return inv ? IB_SEND_LAST_INV :
			       imm ? IB_SEND_LAST_IMM : IB_SEND_LAST;
		return IB_SEND_MIDDLE;
	}
	if (first && last)
		return imm ? IB_WRITE_ONLY_IMM : IB_WRITE_ONLY;
	if (first)
		return IB_WRITE_FIRST;
	if (last)
		return imm ? IB_WRITE_LAST_IMM : IB_WRITE_LAST;
	return IB_WRITE_MIDDLE;
}

static void wqe_fetched(struct sim *sim, void *obj, uint64_t arg)
{
	(void)sim;
	(void)arg;
	req_fill(obj);
}
SIM_EVKIND(ev_wqe_fetched, "nic.wqe_fetched", wqe_fetched);

/*
 * A doorbell reached the NIC: read the WQEs it announces from the SQ in
 * host memory (one PCIe read of wqe_bytes each), ahead of the requester,
 * as a NIC's WQE prefetcher does.
 */
void req_doorbell(struct nic_qp *qp)
{
	struct nic *nic = qp->nic;
	sim_time_t last = 0;
	for (; qp->fetch_idx < qp->sq_count; qp->fetch_idx++) {
		struct nic_wqe *w = nic_sq_at(qp, qp->fetch_idx);
		if (w->pushed) {
			/* it came with its doorbell */
			if (w->fetched_at > last)
				last = w->fetched_at;
			continue;
		}
		(*nic->c_wqe_fetch)++;
		w->fetched_at = last = pcie_dma_read(nic->pcie,
						     nic->cfg.wqe_bytes);
	}
	if (last)
		sim_schedule(nic->sim, last, &ev_wqe_fetched, qp->comp, qp, 0);
}
static void push_tx(struct nic_qp *qp, struct pkt *p, sim_time_t ready)
{
	if (qp->tx_count == qp->tx_cap)
		nic_ring_grow((void **)&qp->txring, &qp->tx_cap, &qp->tx_head,
			      qp->tx_count, sizeof(*qp->txring));
	struct txslot *s = nic_tx_at(qp, qp->tx_count);
	s->p = p;
	s->ready = ready;
	if (!qp->tx_count++) /* a new first packet */
		txs_head(&qp->nic->txs, qp->txs_id, ready);
}

void req_fill(struct nic_qp *qp)
{
	struct nic *nic = qp->nic;
	if (nic->paused || qp->state != QPS_RTS || qp->req == REQ_RNR_WAIT ||
	    qp->req == REQ_STALLED || qp->req == REQ_ERROR)
		return;
	sim_time_t now = sim_now(nic->sim);
	bool prepared = false;
	while (qp->tx_count < nic->cfg.tx_window) {
		if (qp->req_idx >= qp->sq_count) {
			req_set(qp, REQ_IDLE);
			break;
		}
		struct nic_wqe *w = nic_sq_at(qp, qp->req_idx);
		if (!w->fetched_at || w->fetched_at > now)
			break; /* its fetch completing resumes us */
		if (!w->started) {
			w->started = true;
			w->first_psn = qp->next_psn;
			w->npkts = wqe_is_local(w) ? 0 : req_wqe_npkts(qp, w);
		}
		if (wqe_is_local(w)) {
			if (!w->executed)
				req_local(qp, w,
					  now + nic_cycles(nic, nic->cfg.tx_cycles));
			if (w->local_status != NIC_WC_SUCCESS) {
				/* nothing after it goes out; the QP errs
				 * when it is the oldest WQE (comp.c) */
				req_set(qp, REQ_IDLE);
				if (qp->req_idx == 0)
					nic_qp_error(qp, w->local_status);
				return;
			}
			qp->req_idx++;
			qp->req_pkt = 0;
			comp_retire(qp); /* it may be the oldest already */
			if (qp->state != QPS_RTS)
				return;
			continue;
		}
		if (psn_diff(qp->next_psn, qp->una_psn) >=
		    (int32_t)nic->cfg.max_outstanding) {
			req_set(qp, REQ_WAIT_WINDOW);
			break;
		}
		uint32_t n = w->npkts, k = qp->req_pkt;
		struct pkt *p;
		sim_time_t ready = now + nic_cycles(nic, nic->cfg.tx_cycles);
		if (wqe_is_read(w)) {
			if (qp->reads_out >= qp->attr.max_rd_atomic) {
				req_set(qp, REQ_WAIT_WINDOW);
				break;
			}
			/* restarted READs ask only for what is missing */
			uint32_t skip = k;
			bool atomic = w->wr.opcode != NIC_WR_RDMA_READ;
			p = nic_pkt_new(qp, !atomic ? IB_READ_REQUEST :
					    w->wr.opcode ==
							    NIC_WR_ATOMIC_CMP_AND_SWP
						    ? IB_COMPARE_SWAP
						    : IB_FETCH_ADD);
			p->va = w->wr.remote_addr +
				(uint64_t)skip * qp->attr.path_mtu;
			p->rkey = w->wr.rkey;
			p->dma_len = w->wr.sge.length -
				     skip * qp->attr.path_mtu;
			if (atomic) {
				/* CmpSwap: swap, compare; FetchAdd: add */
				p->swap_add = w->wr.opcode ==
							      NIC_WR_ATOMIC_CMP_AND_SWP
						      ? w->wr.swap
						      : w->wr.compare_add;
				p->compare = w->wr.compare_add;
			}
			p->psn = (w->first_psn + skip) & PSN_MASK;
			p->ackreq = true;
			qp->reads_out++;
			qp->next_psn = (w->first_psn + n) & PSN_MASK;
			qp->req_idx++;
			qp->req_pkt = 0;
		} else {
			uint32_t mtu = qp->attr.path_mtu;
			uint64_t off = (uint64_t)k * mtu;
			uint32_t len = w->wr.sge.length - (uint32_t)off;
			if (len > mtu)
				len = mtu;
			if (len && !w->inlined) {
				struct nic_mr *mr = nic_mr_by_key(
					nic, w->wr.sge.lkey);
				sim_time_t t = ready;
				uint64_t fva = 0;
				enum xlate_status xs =
					mr ? nic_mr_translate(
						     mr, w->wr.sge.addr + off,
						     len, 0, &t, &fva) :
					     XLATE_ACCESS;
				if (xs == XLATE_SUSPENDED) {
					/* the VMM is moving that page: wait
					 * for its resume, no fault */
					nic_qp_wait_suspended(qp);
					break;
				}
				if (xs == XLATE_FAULT) {
					/* gathering the payload faulted:
					 * this QP stops here, nothing bad
					 * goes on the wire */
					struct pf_report r = {
						.mr = mr, .qp = qp,
						.requester = true,
						.va = w->wr.sge.addr + off,
						.len = w->wr.sge.length - off,
						.committed = off,
						.packet = len, .fault_va = fva,
						.access_end = w->wr.sge.addr +
							      off + len,
						.t = t,
					};
					nic_qp_stall(&r);
					break;
				}
				if (xs != XLATE_OK) {
					/* a bad lkey or range: local
					 * protection error (IBA 10.8.3) */
					nic_qp_error(qp, NIC_WC_LOC_PROT_ERR);
					return;
				}
				ready = nic_dma_read(nic, t, len, mr,
						     w->wr.sge.addr + off);
				if (ready > mr->dma_busy)
					mr->dma_busy = ready;
				oracle_dma(nic->oracle, false, mr,
					   w->wr.sge.addr + off, len, 0, ready,
					   qp->qpn,
					   (w->first_psn + k) & PSN_MASK,
					   w->wr.sge.lkey, 0);
			}
			p = nic_pkt_new(qp, data_opcode(w, k, n));
			p->psn = (w->first_psn + k) & PSN_MASK;
			p->payload_len = len;
			p->data_version = w->data_version;
			if (ib_opcode_has_reth(p->opcode)) {
				p->va = w->wr.remote_addr;
				p->rkey = w->wr.rkey;
				p->dma_len = w->wr.sge.length;
			}
			if (ib_opcode_has_imm(p->opcode))
				p->imm = w->wr.imm;
			if (ib_opcode_has_ieth(p->opcode))
				p->inv_rkey = w->wr.invalidate_rkey;
			p->ackreq = k + 1 == n;
			qp->next_psn = (p->psn + 1) & PSN_MASK;
			if (++qp->req_pkt == n) {
				qp->req_idx++;
				qp->req_pkt = 0;
			}
		}
		p->pad = (uint8_t)((4 - (p->payload_len & 3)) & 3);
		push_tx(qp, p, ready);
		prepared = true;
		req_set(qp, REQ_SENDING);
	}
	if (prepared)
		nic_qp_activate(qp);
}

void req_rewind(struct nic_qp *qp, uint32_t psn)
{
	/* nothing before the oldest unacknowledged PSN is resent: a wait
	 * (RNR, fault) can end after the PSN it was for was acknowledged,
	 * e.g. when packets held during a suspension were replayed */
	if (psn_diff(psn, qp->una_psn) < 0)
		psn = qp->una_psn;
	nic_tx_drop(qp);
	qp->reads_out = 0;
	for (uint32_t i = 0; i < qp->sq_count; i++) {
		struct nic_wqe *w = nic_sq_at(qp, i);
		if (!w->started) {
			qp->req_idx = i;
			qp->req_pkt = 0;
			qp->next_psn = psn;
			return;
		}
		int32_t d = psn_diff(psn, w->first_psn);
		if (d >= 0 && d < (int32_t)w->npkts) {
			qp->req_idx = i;
			qp->req_pkt = (uint32_t)d;
			qp->next_psn = psn;
			return;
		}
		if (wqe_is_read(w) && w->resp_got < w->npkts)
			qp->reads_out++; /* an earlier READ still answering */
	}
	qp->req_idx = qp->sq_count;
	qp->req_pkt = 0;
	qp->next_psn = psn;
}
