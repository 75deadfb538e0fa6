/*
 * nic/resp.c - the responder: incoming requests of an RC QP.
 *
 * Packets of a QP are processed in order: each one starts when the
 * receive pipeline has parsed it (rx_cycles) and the previous packet of
 * the QP is done (qp->resp_busy), then pays its key and page translations
 * (MPT/MTT caches, PCIe reads on a miss) and issues its DMA write.  The
 * translation state is read at arrival and the DMA counts as in flight
 * from then until it lands.
 *
 * PSN checks (IBA 9.7.5.1): the expected PSN is processed; an older one is
 * a duplicate (re-ACKed, or a READ re-executed); a newer one means loss:
 * one PSN-sequence-error NAK, then silence until the expected PSN returns.
 * A SEND with no receive WQE posted, or a page the MTT says is not
 * present, gets an RNR NAK carrying the QP's min_rnr_timer (IBA
 * 9.7.5.2.8): the requester retries from that PSN after the timer.  A bad
 * rkey, missing access right or out-of-range address gets a remote access
 * error NAK (IBA 9.7.5.2.4); an rkey is an MR's or a memory window's
 * (nic_rkey_grant, nic/mr.c), and a message that started through a
 * window that is invalidated or rebound before its last packet is cut
 * off with one too (o10-37.2.26: no access through the old key after an
 * invalidation).  ACKs are coalesced: one at each message end, when the
 * requester asks (AckReq) or every ack_coalesce packets.
 *
 * Atomics (IBA 9.4.5): CmpSwap and FetchAdd name 8 bytes, which must be
 * 8-byte aligned (else an invalid request NAK, as rxe's
 * RESPST_ERR_MISALIGNED_ATOMIC) and opened with REMOTE_ATOMIC; the NIC
 * reads the word over PCIe, writes the result back, and answers with an
 * ATOMIC ACKNOWLEDGE carrying the original value in an AtomicAckETH.  The
 * last NIC_ATOMIC_RES results are kept by PSN: a duplicate request is
 * answered with the saved value, never executed again.
 *
 * SEND WITH INVALIDATE (9.3.9, 10.6.7.2): at the end of the message the
 * IETH's rkey is invalidated as a LOCAL_INV of this QP would (a type 2
 * window bound through it); the receive CQE says which key, and is
 * written once the DMA through that window has landed.  A key that
 * cannot be invalidated is an invalid request (class J, rxe's
 * RESPST_ERR_INVALIDATE_RKEY).
 */
#include "nic/nic_int.h"

#include "nic/host.h"
#include "nic/pcie.h"

const char *const resp_state_names[] = { "READY", "NAK_SEQ", "RNR",
					  "PAGE_FAULT", "PF_ERROR" };

static const struct trace_kind tk_nak = { "nak_sent", TRACE_INSTANT, NULL };
static const struct trace_kind tk_rnr = { "rnr_nak_sent", TRACE_INSTANT,
					  NULL };
static const struct trace_kind tk_dma_write = { "dma_write", TRACE_INSTANT,
						NULL };

static void send_aeth(struct nic_qp *qp, uint32_t psn, uint8_t syndrome,
		      sim_time_t t)
{
	struct pkt *a = nic_pkt_new(qp, IB_ACK);
	a->psn = psn & PSN_MASK;
	a->syndrome = syndrome;
	a->msn = qp->msn & PSN_MASK;
	nic_queue_response(qp->nic, a, t);
}

static void send_ack(struct nic_qp *qp, uint32_t psn, sim_time_t t)
{
	/* credit field 0x1f: no end-to-end credits (IBA 9.7.7.2.5) */
	send_aeth(qp, psn, AETH_SYNDROME(AETH_ACK, 0x1f), t);
	(*qp->nic->c_acks_sent)++;
	qp->unacked = 0;
}

static void send_nak(struct nic_qp *qp, uint32_t psn, unsigned code,
		     sim_time_t t)
{
	struct nic *nic = qp->nic;
	send_aeth(qp, psn, AETH_SYNDROME(AETH_NAK, code), t);
	if (code == NAK_PSN_SEQ_ERROR)
		(*nic->c_nak_seq_sent)++;
	else if (code == NAK_REMOTE_ACCESS_ERROR)
		(*nic->c_nak_access_sent)++;
	static const char *const names[] = { "PSN_SEQ_ERROR", "INVALID_REQUEST",
					     "REMOTE_ACCESS_ERROR",
					     "REMOTE_OP_ERROR",
					     "INVALID_RD_REQUEST" };
	sim_trace(nic->sim, qp->nic->tc_resp, &tk_nak, qp->qpn, psn, TRACE_NONE,
		  TRACE_NONE, TRACE_NONE, code < 5 ? names[code] : "?");
	/* IBA Vol 1, 9.9.3 (responder error classes): a sequence error (class
	 * B) only asks for a resend; an invalid request, a remote access
	 * error or a remote operational error (classes C and A) also move
	 * the responder's QP to the error state, as soft-RoCE does
	 * (do_class_ac_error in rxe_resp.c): the requester must reconnect
	 * before it can try again */
	if (code != NAK_PSN_SEQ_ERROR)
		nic_qp_error(qp, NIC_WC_WR_FLUSH_ERR);
}

static void send_rnr(struct nic_qp *qp, uint32_t psn, sim_time_t t,
		     const char *why)
{
	struct nic *nic = qp->nic;
	send_aeth(qp, psn, AETH_SYNDROME(AETH_RNR_NAK, qp->attr.min_rnr_timer),
		  t);
	(*nic->c_rnr_sent)++;
	qp->resp = RESP_RNR;
	sim_trace(nic->sim, qp->nic->tc_resp, &tk_rnr, qp->qpn, psn, TRACE_NONE,
		  TRACE_NONE, TRACE_NONE, why);
}

/*
 * A responder page fault (IBA has no word for it; this is ODP's): with
 * fault reporting the packet is dropped and answered with an RNR NAK, the
 * driver is told (@r: what the NIC's page-fault EQE carries), and the QP
 * answers every request of the expected PSN with an RNR NAK until the
 * driver resumes it (RESP_PAGE_FAULT); the requester comes back after
 * each RNR timer.  A NIC without fault support (fault_mode = fatal) tears
 * the connection down: the peer's WQE completes with a remote
 * operational error.
 */
static G_GNUC_NO_INLINE void resp_fault(struct nic_qp *qp,
					struct pf_report *r,
					const struct pkt *p, sim_time_t t)
{
	struct nic *nic = qp->nic;
	if (nic->cfg.fault_mode == NIC_FAULT_FATAL || !nic->drv ||
	    !r->mr->policy->on_demand) {
		(*nic->c_fatal_faults)++;
		send_nak(qp, p->psn, NAK_REMOTE_OP_ERROR, t);
		nic_qp_error(qp, NIC_WC_WR_FLUSH_ERR);
		return;
	}
	send_rnr(qp, p->psn, t, "page not present");
	qp->resp = RESP_PAGE_FAULT;
	r->qp = qp;
	r->t = t;
	if (r->rdma && nic->cfg.rdma_fault_length == NIC_PF_LENGTH_UNKNOWN)
		r->len = 0; /* "the hardware cannot tell ... reports zero" */
	driver_page_fault(nic->drv, r);
}

/* A WRITE's page not present: an RDMA event for the rest of the
 * message. */
static G_GNUC_NO_INLINE void resp_fault_write(struct nic_qp *qp,
					      const struct pkt *p,
					      uint64_t fva, sim_time_t t)
{
	struct pf_report r = {
		.mr = qp->cur_mr, .rdma = true, .va = qp->cur_va,
		.len = qp->cur_left, .committed = qp->cur_len - qp->cur_left,
		.packet = p->payload_len, .fault_va = fva,
		.access_end = qp->cur_va + p->payload_len, .write = true,
	};
	resp_fault(qp, &r, p, t);
}

/* A SEND's receive buffer not present: a WQE event for the receive
 * WQE's data segment from what is placed on. */
static G_GNUC_NO_INLINE void resp_fault_send(struct nic_qp *qp,
					     struct nic_mr *mr,
					     const struct nic_rwqe *w,
					     const struct pkt *p, uint64_t fva,
					     sim_time_t t)
{
	uint64_t va = w->wr.sge.addr + qp->cur_rq_off;
	struct pf_report r = {
		.mr = mr, .va = va, .len = w->wr.sge.length - qp->cur_rq_off,
		.committed = qp->cur_rq_off, .packet = p->payload_len,
		.fault_va = fva, .access_end = va + p->payload_len,
		.write = true,
	};
	resp_fault(qp, &r, p, t);
}

void resp_pf_resume(struct nic_qp *qp, bool error)
{
	if (qp->resp != RESP_PAGE_FAULT)
		return;
	/* the next request of epsn is served (or NAKed: error) */
	qp->resp = error ? RESP_PF_ERROR : RESP_RNR;
}

/* DMA-write @len bytes at @va of @mr (translated) starting at @t.  Inline:
 * once per packet, and GCC stops inlining it for the sim_trace() call
 * inside (traces/README.md, "Cost"). */
static inline sim_time_t dma_write(struct nic_qp *qp, struct nic_mr *mr,
				   uint64_t va, uint32_t len, sim_time_t t,
				   const struct pkt *p, uint32_t key,
				   unsigned access)
{
	struct nic *nic = qp->nic;
	sim_time_t land = nic_dma_write(nic, t, len, mr, va);
	nic_note_served(nic);
	if (land > mr->dma_busy)
		mr->dma_busy = land;
	oracle_dma(nic->oracle, true, mr, va, len, p->data_version, land,
		   qp->qpn, p->psn, key, access);
	if (G_UNLIKELY(nic->sim->trace)) /* the frame costs a lookup */
		sim_trace_as(nic->sim, qp->nic->tc_resp, &tk_dma_write,
			     mr->as_name, qp->qpn, p->psn, va,
			     nic_mr_pfn(mr, va), len, NULL);
	if (mr->watch)
		nic_mr_watch_schedule(mr, va + len, land);
	return land;
}

static bool resp_hold(struct nic_qp *qp, struct pkt *p, sim_time_t t);

static void send_atomic_ack(struct nic_qp *qp, uint32_t psn, uint64_t orig,
			    sim_time_t t)
{
	struct pkt *a = nic_pkt_new(qp, IB_ATOMIC_ACK);
	a->psn = psn & PSN_MASK;
	a->syndrome = AETH_SYNDROME(AETH_ACK, 0x1f);
	a->msn = qp->msn & PSN_MASK;
	a->atomic_orig = orig;
	nic_queue_response(qp->nic, a, t);
}

/* The saved result of the atomic at @psn, or NULL. */
static struct atomic_res *atomic_saved(struct nic_qp *qp, uint32_t psn)
{
	for (unsigned i = 0; i < NIC_ATOMIC_RES; i++)
		if (qp->ares[i].used && qp->ares[i].psn == psn)
			return &qp->ares[i];
	return NULL;
}

/*
 * An atomic at the expected PSN (the header comment: alignment, the
 * REMOTE_ATOMIC grant, a page fault or a suspended page as for a write).
 * The word is read, then written, over PCIe; the original value goes
 * back in the ATOMIC ACKNOWLEDGE once the write has landed.
 */
static bool atomic_execute(struct nic_qp *qp, struct pkt *p, sim_time_t t)
{
	struct nic *nic = qp->nic;
	if (p->va & 7) {
		(*nic->c_misaligned)++;
		send_nak(qp, p->psn, NAK_INVALID_REQUEST, t);
		return false;
	}
	struct nic_grant g;
	if (!nic_rkey_grant(qp, p->rkey, p->va, 8, NIC_ACCESS_REMOTE_ATOMIC,
			    &t, &g)) {
		send_nak(qp, p->psn, NAK_REMOTE_ACCESS_ERROR, t);
		return false;
	}
	uint64_t fva = 0;
	enum xlate_status xs = nic_mr_translate(
		g.mr, p->va, 8,
		nic_mr_access_via(g.mw, NIC_ACCESS_REMOTE_ATOMIC), &t, &fva);
	if (xs == XLATE_FAULT) {
		/* an RDMA-subtype fault of 8 bytes (mlx5 reports atomics
		 * as it does READ and WRITE targets) */
		struct pf_report r = {
			.mr = g.mr, .rdma = true, .va = p->va, .len = 8,
			.packet = 8, .fault_va = fva, .access_end = p->va + 8,
			.write = true,
		};
		resp_fault(qp, &r, p, t);
		return false;
	}
	if (xs == XLATE_SUSPENDED)
		return resp_hold(qp, p, t);
	if (xs == XLATE_ACCESS) {
		send_nak(qp, p->psn, NAK_REMOTE_ACCESS_ERROR, t);
		return false;
	}
	sim_time_t read = nic_dma_read(nic, t, 8, g.mr, p->va);
	sim_time_t land = nic_dma_write(nic, read, 8, g.mr, p->va);
	nic_note_served(nic);
	if (land > g.mr->dma_busy)
		g.mr->dma_busy = land;
	oracle_dma(nic->oracle, false, g.mr, p->va, 8, 0, read, qp->qpn,
		   p->psn, p->rkey, NIC_ACCESS_REMOTE_ATOMIC);
	oracle_dma(nic->oracle, true, g.mr, p->va, 8,
		   ((uint64_t)nic->host->index << 56) | (1ULL << 54) |
			   ++qp->data_version_seq,
		   land, qp->qpn, p->psn, p->rkey, NIC_ACCESS_REMOTE_ATOMIC);
	uint64_t orig = oracle_atomic(nic->oracle, g.mr->as, p->va,
				      p->opcode == IB_COMPARE_SWAP, p->compare,
				      p->swap_add);
	struct atomic_res *r = &qp->ares[qp->ares_next++ % NIC_ATOMIC_RES];
	r->used = true;
	r->psn = p->psn;
	r->orig = orig;
	(*nic->c_atomics)++;
	qp->epsn = (p->psn + 1) & PSN_MASK;
	qp->msn++;
	qp->unacked = 0;
	send_atomic_ack(qp, p->psn, orig, land);
	return false;
}

static bool read_respond(struct nic_qp *qp, struct pkt *p, sim_time_t t,
			 bool duplicate)
{
	struct nic *nic = qp->nic;
	struct nic_grant g;
	if (!nic_rkey_grant(qp, p->rkey, p->va, p->dma_len,
			    NIC_ACCESS_REMOTE_READ, &t, &g)) {
		send_nak(qp, p->psn, NAK_REMOTE_ACCESS_ERROR, t);
		return false;
	}
	struct nic_mr *mr = g.mr;
	uint64_t fva = 0;
	enum xlate_status xs = nic_mr_translate(
		mr, p->va, p->dma_len,
		nic_mr_access_via(g.mw, NIC_ACCESS_REMOTE_READ), &t, &fva);
	if (xs == XLATE_FAULT) {
		uint32_t mtu = qp->attr.path_mtu;
		struct pf_report r = {
			.mr = mr, .rdma = true, .va = p->va, .len = p->dma_len,
			.packet = p->dma_len < mtu ? p->dma_len : mtu,
			.fault_va = fva, .access_end = p->va + p->dma_len,
		};
		resp_fault(qp, &r, p, t);
		return false;
	}
	if (xs == XLATE_SUSPENDED)
		return resp_hold(qp, p, t);
	if (xs == XLATE_ACCESS) {
		send_nak(qp, p->psn, NAK_REMOTE_ACCESS_ERROR, t);
		return false;
	}
	uint32_t mtu = qp->attr.path_mtu; /* a power of two */
	uint32_t n = p->dma_len ?
			     (uint32_t)(((uint64_t)p->dma_len + mtu - 1) >>
					__builtin_ctz(mtu)) :
			     1;
	if (!duplicate) {
		qp->epsn = (p->psn + n) & PSN_MASK;
		qp->msn++;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t len = p->dma_len - i * mtu;
		if (len > mtu)
			len = mtu;
		uint8_t op = n == 1 ? IB_READ_RESP_ONLY :
			     i == 0 ? IB_READ_RESP_FIRST :
			     i + 1 == n ? IB_READ_RESP_LAST :
					  IB_READ_RESP_MIDDLE;
		struct pkt *r = nic_pkt_new(qp, op);
		r->psn = (p->psn + i) & PSN_MASK;
		r->payload_len = len;
		r->pad = (uint8_t)((4 - (len & 3)) & 3);
		if (ib_opcode_has_aeth(op)) {
			r->syndrome = AETH_SYNDROME(AETH_ACK, 0x1f);
			r->msn = qp->msn & PSN_MASK;
		}
		sim_time_t ready =
			len ? nic_dma_read(nic, t, len, mr,
					   p->va + (uint64_t)i * mtu) :
			      t;
		if (ready > mr->dma_busy)
			mr->dma_busy = ready;
		if (len)
			oracle_dma(nic->oracle, false, mr,
				   p->va + (uint64_t)i * mtu, len, 0, ready,
				   qp->qpn, r->psn, p->rkey,
				   NIC_ACCESS_REMOTE_READ);
		(*nic->c_read_resp_sent)++;
		nic_note_served(nic);
		nic_queue_response(nic, r, ready);
	}
	return false;
}

/*
 * A packet for a suspended page (suspend/resume policy): the NIC keeps it
 * in its hold buffer until the range is resumed; packets of the same QP
 * behind it wait too, to stay in order.  Past the buffer the packet gets
 * an RNR NAK and the requester retries after its RNR timer.
 */
static bool resp_hold(struct nic_qp *qp, struct pkt *p, sim_time_t t)
{
	struct nic *nic = qp->nic;
	/* the PSN the responder expects next: after the held ones */
	uint32_t next = g_queue_is_empty(&qp->held) ? qp->epsn :
						      qp->hold_next;
	int32_t d = psn_diff(p->psn, next);
	if (d < 0)
		return false; /* a duplicate of a held packet */
	if (d > 0) {
		/* out of sequence behind the held ones (IBA 9.7.5.1.2) */
		(*nic->c_out_of_seq)++;
		if (qp->resp == RESP_READY) {
			send_nak(qp, next, NAK_PSN_SEQ_ERROR, t);
			qp->resp = RESP_NAK_SEQ;
		}
		return false;
	}
	if (nic->held_now < nic->cfg.hold_packets) {
		g_queue_push_tail(&qp->held, p);
		qp->hold_next = (p->psn + 1) & PSN_MASK;
		qp->resp = RESP_READY;
		nic->held_now++;
		(*nic->c_held)++;
		return true;
	}
	/* no room: an RNR NAK acknowledges every PSN before the one it
	 * names, so it names the first one not executed (epsn) and this
	 * QP's held packets are dropped; the requester resends them all */
	(*nic->c_held_nak)++;
	struct pkt *h;
	while ((h = g_queue_pop_head(&qp->held))) {
		pkt_free(nic->pool, h);
		nic->held_now--;
	}
	if (qp->resp != RESP_RNR)
		send_rnr(qp, qp->epsn, t, "page suspended, hold buffer full");
	return false;
}

void resp_flush_held(struct nic_qp *qp)
{
	struct nic *nic = qp->nic;
	if (g_queue_is_empty(&qp->held))
		return;
	struct pkt *h;
	while ((h = g_queue_pop_head(&qp->held))) {
		pkt_free(nic->pool, h);
		nic->held_now--;
	}
	/* as on overflow: the NAK names the first PSN not executed */
	send_rnr(qp, qp->epsn, sim_now(nic->sim), "migrating");
	(*nic->c_migr_rnr)++;
}

/*
 * A request while the NIC is frozen for a migration.  The expected PSN
 * gets an RNR NAK every time it comes (the requester retries after each
 * RNR timer: a pause, not an error, with rnr_retry = 7); anything else is
 * dropped, and go-back-N brings it again.  Duplicates are dropped too:
 * the frozen responder answers nothing it would have to read memory for.
 */
void resp_paused(struct nic_qp *qp, struct pkt *p)
{
	struct nic *nic = qp->nic;
	if (qp->state != QPS_ERR && p->psn == qp->epsn) {
		sim_time_t t = sim_now(nic->sim) +
			       nic_cycles(nic, nic->cfg.rx_cycles);
		send_rnr(qp, qp->epsn, t, "migrating");
		(*nic->c_migr_rnr)++;
	} else {
		(*nic->c_migr_drop)++;
	}
	pkt_free(nic->pool, p);
}

bool resp_rx(struct nic_qp *qp, struct pkt *p, bool replay)
{
	struct nic *nic = qp->nic;
	if (qp->state == QPS_ERR)
		return false;
	if (!replay && qp->held.length)
		return resp_hold(qp, p, sim_now(nic->sim)); /* stay in order */
	sim_time_t now = sim_now(nic->sim);
	sim_time_t t = now + nic_cycles(nic, nic->cfg.rx_cycles);
	if (t < qp->resp_busy)
		t = qp->resp_busy;
	int32_t d = psn_diff(p->psn, qp->epsn);
	if (d < 0) {
		(*nic->c_dup_pkts)++;
		if (p->opcode == IB_READ_REQUEST) {
			return read_respond(qp, p, t, true);
		} else if (ib_opcode_is_atomic(p->opcode)) {
			/* answered from the saved result, not executed again;
			 * one no longer kept is dropped (class D) */
			struct atomic_res *r = atomic_saved(qp, p->psn);
			if (r)
				send_atomic_ack(qp, p->psn, r->orig, t);
		} else {
			send_ack(qp, qp->epsn - 1, t);
		}
		qp->resp_busy = t;
		return false;
	}
	if (d > 0) {
		(*nic->c_out_of_seq)++;
		if (qp->resp == RESP_READY) {
			send_nak(qp, qp->epsn, NAK_PSN_SEQ_ERROR, t);
			qp->resp = RESP_NAK_SEQ;
		}
		return false;
	}
	if (G_UNLIKELY(qp->resp >= RESP_PAGE_FAULT)) {
		if (qp->resp == RESP_PAGE_FAULT) {
			/* waiting for PAGE_FAULT_RESUME: the request it is
			 * for gets another RNR NAK (later ones were dropped
			 * as out of sequence) */
			send_rnr(qp, p->psn, t, "page fault not resolved yet");
			qp->resp = RESP_PAGE_FAULT;
			return false;
		}
		/* the driver could not resolve the fault (resumed with
		 * error): the request is refused */
		send_nak(qp, p->psn, NAK_REMOTE_ACCESS_ERROR, t);
		qp->resp = RESP_NAK_SEQ;
		qp->resp_busy = t;
		return false;
	}
	qp->resp = RESP_READY;
	unsigned op = p->opcode;
	bool msg_end = false;
	switch (op) {
	case IB_READ_REQUEST: {
		bool kept = read_respond(qp, p, t, false);
		qp->resp_busy = t;
		return kept;
	}
	case IB_WRITE_FIRST:
	case IB_WRITE_ONLY:
	case IB_WRITE_ONLY_IMM: {
		struct nic_grant g;
		if (!nic_rkey_grant(qp, p->rkey, p->va, p->dma_len,
				    NIC_ACCESS_REMOTE_WRITE, &t, &g)) {
			send_nak(qp, p->psn, NAK_REMOTE_ACCESS_ERROR, t);
			qp->resp_busy = t;
			return false;
		}
		struct nic_mr *mr = g.mr;
		if (op == IB_WRITE_ONLY_IMM && !qp->rq_count) {
			send_rnr(qp, p->psn, t, "no receive WQE");
			return false;
		}
		qp->cur_mr = mr;
		qp->cur_cut = false;
		qp->cur_mw = g.mw;
		qp->cur_mw_gen = g.mw_gen;
		qp->cur_key = p->rkey;
		qp->cur_va = p->va;
		qp->cur_left = p->dma_len;
		qp->cur_len = p->dma_len;
		qp->cur_is_send = false;
	} /* fall through */
	case IB_WRITE_MIDDLE:
	case IB_WRITE_LAST:
	case IB_WRITE_LAST_IMM: {
		if (qp->cur_mr && qp->cur_mw &&
		    (qp->cur_mw->gen != qp->cur_mw_gen ||
		     qp->cur_mw->state != MW_VALID)) {
			/* the window was invalidated or rebound */
			qp->cur_mr = NULL;
			qp->cur_cut = true;
		}
		if (!qp->cur_mr && qp->cur_cut) {
			/* the MR was deregistered or the window invalidated
			 * in the middle of this message: its key no longer
			 * opens the memory */
			send_nak(qp, p->psn, NAK_REMOTE_ACCESS_ERROR, t);
			qp->cur_cut = false;
			return false;
		}
		if (qp->cur_is_send || !qp->cur_mr ||
		    p->payload_len > qp->cur_left) {
			send_nak(qp, p->psn, NAK_INVALID_REQUEST, t);
			return false;
		}
		if (op == IB_WRITE_LAST_IMM && !qp->rq_count) {
			send_rnr(qp, p->psn, t, "no receive WQE");
			return false;
		}
		sim_time_t land = t;
		if (p->payload_len) {
			uint64_t fva = 0;
			enum xlate_status xs = nic_mr_translate(
				qp->cur_mr, qp->cur_va, p->payload_len,
				nic_mr_access_via(qp->cur_mw,
						  NIC_ACCESS_REMOTE_WRITE),
				&t, &fva);
			if (xs == XLATE_FAULT) {
				resp_fault_write(qp, p, fva, t);
				return false;
			}
			if (xs == XLATE_SUSPENDED)
				return resp_hold(qp, p, t);
			if (xs == XLATE_ACCESS) {
				send_nak(qp, p->psn, NAK_REMOTE_ACCESS_ERROR, t);
				return false;
			}
			land = dma_write(qp, qp->cur_mr, qp->cur_va,
					 p->payload_len, t, p, qp->cur_key,
					 NIC_ACCESS_REMOTE_WRITE);
		}
		qp->cur_va += p->payload_len;
		qp->cur_left -= p->payload_len;
		msg_end = op == IB_WRITE_LAST || op == IB_WRITE_LAST_IMM ||
			  op == IB_WRITE_ONLY || op == IB_WRITE_ONLY_IMM;
		if (msg_end)
			qp->cur_mr = NULL; /* held only within a message */
		if (op == IB_WRITE_LAST_IMM || op == IB_WRITE_ONLY_IMM) {
			struct nic_rwqe *r = &qp->rq[qp->rq_head];
			struct nic_wc wc = {
				.wr_id = r->wr.wr_id,
				.status = NIC_WC_SUCCESS,
				.opcode = NIC_WC_RECV_RDMA_WITH_IMM,
				.byte_len = 0, .imm = p->imm, .with_imm = true,
				.qpn = qp->qpn,
			};
			qp->rq_head = (qp->rq_head + 1) & (qp->rq_cap - 1);
			qp->rq_count--;
			nic_cq_push(qp->rcq, &wc, land);
		}
		break;
	}
	case IB_COMPARE_SWAP:
	case IB_FETCH_ADD: {
		bool kept = atomic_execute(qp, p, t);
		qp->resp_busy = t;
		return kept;
	}
	case IB_SEND_FIRST:
	case IB_SEND_ONLY:
	case IB_SEND_ONLY_IMM:
	case IB_SEND_ONLY_INV:
		if (!qp->rq_count) {
			send_rnr(qp, p->psn, t, "no receive WQE");
			return false;
		}
		qp->cur_is_send = true;
		qp->cur_rq_off = 0;
		/* fall through */
	case IB_SEND_MIDDLE:
	case IB_SEND_LAST:
	case IB_SEND_LAST_IMM:
	case IB_SEND_LAST_INV: {
		struct nic_rwqe *r = &qp->rq[qp->rq_head];
		if (!qp->cur_is_send || !qp->rq_count ||
		    qp->cur_rq_off + p->payload_len > r->wr.sge.length) {
			send_nak(qp, p->psn, NAK_INVALID_REQUEST, t);
			return false;
		}
		sim_time_t land = t;
		if (p->payload_len) {
			struct nic_mr *mr = nic_mr_by_key(nic, r->wr.sge.lkey);
			uint64_t va = r->wr.sge.addr + qp->cur_rq_off;
			uint64_t fva = 0;
			enum xlate_status xs =
				mr ? nic_mr_translate(mr, va, p->payload_len,
						      NIC_ACCESS_LOCAL_WRITE,
						      &t, &fva) :
				     XLATE_ACCESS;
			if (xs == XLATE_FAULT) {
				resp_fault_send(qp, mr, r, p, fva, t);
				return false;
			}
			if (xs == XLATE_SUSPENDED)
				return resp_hold(qp, p, t);
			if (xs == XLATE_ACCESS) {
				send_nak(qp, p->psn, NAK_REMOTE_OP_ERROR, t);
				return false;
			}
			land = dma_write(qp, mr, va, p->payload_len, t, p,
					 r->wr.sge.lkey, NIC_ACCESS_LOCAL_WRITE);
		}
		qp->cur_rq_off += p->payload_len;
		msg_end = op == IB_SEND_LAST || op == IB_SEND_LAST_IMM ||
			  op == IB_SEND_ONLY || op == IB_SEND_ONLY_IMM ||
			  ib_opcode_has_ieth(op);
		if (msg_end) {
			struct nic_wc wc = {
				.wr_id = r->wr.wr_id, .status = NIC_WC_SUCCESS,
				.opcode = NIC_WC_RECV,
				.byte_len = qp->cur_rq_off, .imm = p->imm,
				.with_imm = ib_opcode_has_imm(op),
				.qpn = qp->qpn,
			};
			if (ib_opcode_has_ieth(op)) {
				/* the peer asks this side to invalidate a
				 * window it gave out (10.6.7.2) */
				sim_time_t done;
				if (!nic_mw_invalidate(qp, p->inv_rkey,
						       &done)) {
					(*nic->c_nak_inv_sent)++;
					send_nak(qp, p->psn,
						 NAK_INVALID_REQUEST, t);
					return false;
				}
				wc.with_inv = true;
				wc.invalidated_rkey = p->inv_rkey;
				if (done > land)
					land = done;
			}
			qp->rq_head = (qp->rq_head + 1) & (qp->rq_cap - 1);
			qp->rq_count--;
			nic_cq_push(qp->rcq, &wc, land);
		}
		break;
	}
	default:
		send_nak(qp, p->psn, NAK_INVALID_REQUEST, t);
		return false;
	}
	qp->epsn = (p->psn + 1) & PSN_MASK;
	qp->resp_busy = t;
	qp->unacked++;
	if (msg_end)
		qp->msn++;
	if (msg_end || p->ackreq || qp->unacked >= nic->cfg.ack_coalesce)
		send_ack(qp, p->psn, t);
	return false;
}
