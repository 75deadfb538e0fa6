/*
 * nic/qp.c - queue pairs and completion queues: creation, the QP state
 * machine (RESET -> INIT -> RTR -> RTS, any -> ERR, IBA 10.3.1), posting
 * work requests, completions and flushing on error.
 *
 * A CQE becomes visible to the application when its DMA write lands in
 * host memory; the notify callback stands for a thread busy-polling the
 * CQ, which sees it at that instant.
 */
#include "nic/nic_int.h"

#include <errno.h>
#include <string.h>

#include "nic/host.h"
#include "nic/pcie.h"

const char *const nic_qp_state_names[] = { "RESET", "INIT", "RTR", "RTS",
					   "ERR" };

const char *const nic_wr_opcode_names[] = {
	"IBV_WR_SEND", "IBV_WR_SEND_WITH_IMM", "IBV_WR_RDMA_WRITE",
	"IBV_WR_RDMA_WRITE_WITH_IMM", "IBV_WR_RDMA_READ",
	"IBV_WR_ATOMIC_CMP_AND_SWP", "IBV_WR_ATOMIC_FETCH_AND_ADD",
	"IBV_WR_LOCAL_INV", "IBV_WR_BIND_MW", "IBV_WR_SEND_WITH_INV",
};

const char *const nic_wc_status_names[] = {
	"IBV_WC_SUCCESS",       "IBV_WC_LOC_LEN_ERR",
	"IBV_WC_LOC_QP_OP_ERR", "IBV_WC_LOC_PROT_ERR",
	"IBV_WC_WR_FLUSH_ERR",  "IBV_WC_REM_INV_REQ_ERR",
	"IBV_WC_REM_ACCESS_ERR", "IBV_WC_REM_OP_ERR",
	"IBV_WC_RETRY_EXC_ERR", "IBV_WC_RNR_RETRY_EXC_ERR",
	"IBV_WC_MW_BIND_ERR",
};

/* IBA Vol 1, 9.7.5.2.8, Table 45: RNR NAK timer field -> delay in us. */
static const uint32_t rnr_timer_us100[32] = {
	/* in units of 0.01 ms */
	65536, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192,
	256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096, 6144, 8192, 12288,
	16384, 24576, 32768, 49152,
};

sim_time_t ib_rnr_timer_ps(unsigned code)
{
	return (sim_time_t)rnr_timer_us100[code & 31] * 10 * SIM_US;
}

sim_time_t nic_rnr_wait_ps(const struct nic *nic, unsigned code)
{
	sim_time_t t = ib_rnr_timer_ps(code);
	if (nic->cfg.rnr_timer == NIC_RNR_IBA)
		return t;
	sim_time_t g = nic->cfg.rnr_timer_granularity;
	if (g)
		t = (t + g - 1) / g * g;
	return t < nic->cfg.rnr_timer_floor ? nic->cfg.rnr_timer_floor : t;
}

sim_time_t ib_timeout_ps(unsigned timeout)
{
	/* IBA 9.7.6.1.3: 4.096 us * 2^timeout; 0 disables the timer */
	if (!timeout)
		return SIM_TIME_MAX;
	return (sim_time_t)4096 * SIM_NS << (timeout > 31 ? 31 : timeout);
}

void nic_ring_grow(void **ring, uint32_t *cap, uint32_t *head, uint32_t count,
		   size_t elem)
{
	uint32_t ncap = *cap ? 2 * *cap : NIC_RING_MIN;
	char *n = g_malloc0((gsize)ncap * elem);
	const char *o = *ring;
	for (uint32_t i = 0; i < count; i++)
		memcpy(n + (gsize)i * elem,
		       o + (gsize)((*head + i) & (*cap - 1)) * elem, elem);
	g_free(*ring);
	*ring = n;
	*cap = ncap;
	*head = 0;
}

void nic_tx_drop(struct nic_qp *qp)
{
	struct nic *nic = qp->nic;
	for (uint32_t k = 0; k < qp->tx_count; k++)
		pkt_free(nic->pool, nic_tx_at(qp, k)->p);
	qp->tx_count = 0;
	txs_head(&nic->txs, qp->txs_id, SIM_TIME_MAX);
}

struct nic_pd *nic_alloc_pd(struct nic *nic)
{
	struct nic_pd *pd = g_new0(struct nic_pd, 1);
	pd->nic = nic;
	pd->handle = ++nic->next_pd;
	g_ptr_array_add(nic->all_pds, pd);
	g_ptr_array_set_free_func(nic->all_pds, g_free);
	return pd;
}

/* ---- completion queues ---- */

struct nic_cq *nic_create_cq(struct nic *nic, uint32_t depth,
			     nic_cq_notify_fn notify, void *ctx)
{
	g_assert(depth > 0);
	struct nic_cq *cq = g_new0(struct nic_cq, 1);
	cq->nic = nic;
	cq->depth = depth;
	cq->notify = notify;
	cq->ctx = ctx;
	g_ptr_array_add(nic->all_cqs, cq);
	return cq;
}

static void cq_notify_event(struct sim *sim, void *obj, uint64_t arg)
{
	(void)sim;
	(void)arg;
	struct nic_cq *cq = obj;
	cq->notify_pending = false;
	if (cq->notify)
		cq->notify(cq->ctx, cq);
}
SIM_EVKIND(ev_cq_notify, "nic.cq_notify", cq_notify_event);

void nic_cq_push(struct nic_cq *cq, const struct nic_wc *wc, sim_time_t at)
{
	struct nic *nic = cq->nic;
	if (cq->count == cq->depth) {
		/* CQ overrun: the application sized it too small; IBA makes
		 * this an async error, we count it and drop the CQE */
		cq->overflows++;
		return;
	}
	if (cq->count == cq->cap)
		nic_ring_grow((void **)&cq->ring, &cq->cap, &cq->head,
			      cq->count, sizeof(*cq->ring));
	sim_time_t land = pcie_dma_write(nic->pcie, nic->cfg.cqe_bytes);
	if (land < at)
		land = at;
	if (land < cq->last_visible)
		land = cq->last_visible;
	cq->last_visible = land;
	struct cqe_slot *s = &cq->ring[(cq->head + cq->count) & (cq->cap - 1)];
	s->wc = *wc;
	s->visible = land;
	cq->count++;
	(*nic->c_cqes)++;
	nic_note_served(nic);
	if (cq->notify && !cq->notify_pending) {
		cq->notify_pending = true;
		sim_schedule(nic->sim, land, &ev_cq_notify, nic->comp, cq, 0);
	}
}

int nic_poll_cq(struct nic_cq *cq, struct nic_wc *wc, int n)
{
	sim_time_t now = sim_now(cq->nic->sim);
	int got = 0;
	while (got < n && cq->count &&
	       cq->ring[cq->head].visible <= now) {
		wc[got++] = cq->ring[cq->head].wc;
		cq->head = (cq->head + 1) & (cq->cap - 1);
		cq->count--;
	}
	if (cq->count && cq->notify && !cq->notify_pending) {
		/* more CQEs still in flight: wake the poller when they land */
		cq->notify_pending = true;
		sim_schedule(cq->nic->sim, cq->ring[cq->head].visible,
			     &ev_cq_notify, cq->nic->comp, cq, 0);
	}
	return got;
}

/* ---- queue pairs ---- */

/* The next QP number: in sequence from 0x100, or (qpn = random) a random
 * 24-bit number not in use here, never 0 or 1 (IBA's QP0 and QP1) nor a
 * QP that migrated away and still answers (a tomb). */
static uint32_t qpn_alloc(struct nic *nic)
{
	if (nic->cfg.qpn_alloc != NIC_ID_RANDOM)
		return nic->next_qpn++;
	for (;;) {
		uint32_t q = 2 + (uint32_t)rng_below(&nic->keys_rng,
						     (1u << 24) - 2);
		if (!idmap_get(&nic->qps, q) &&
		    !(nic->tombs && g_hash_table_contains(
					    nic->tombs, GUINT_TO_POINTER(q))))
			return q;
	}
}

struct nic_qp *nic_create_qp(struct nic_pd *pd, struct nic_cq *send_cq,
			     struct nic_cq *recv_cq, uint32_t sq_depth,
			     uint32_t rq_depth)
{
	struct nic *nic = pd->nic;
	g_assert(sq_depth > 0 && rq_depth > 0);
	struct nic_qp *qp = g_new0(struct nic_qp, 1);
	qp->nic = nic;
	qp->pd = pd;
	qp->scq = send_cq;
	qp->rcq = recv_cq;
	qp->qpn = qpn_alloc(nic);
	qp->state = QPS_RESET;
	qp->sq_depth = sq_depth;
	qp->rq_depth = rq_depth;
	qp->comp = nic->comp;
	idmap_set(&nic->qps, qp->qpn, qp);
	qp->txs_id = txs_add(&nic->txs);
	g_ptr_array_add(nic->all_qps, qp);
	g_assert(qp->txs_id == nic->all_qps->len - 1);
	return qp;
}

uint32_t nic_qp_num(const struct nic_qp *qp)
{
	return qp->qpn;
}

enum nic_qp_state nic_qp_state(const struct nic_qp *qp)
{
	return qp->state;
}

static const struct trace_kind tk_qp_state = { "qp_state", TRACE_INSTANT,
					       NULL };

static void qp_set_state(struct nic_qp *qp, enum nic_qp_state s)
{
	qp->state = s;
	sim_trace(qp->nic->sim, qp->comp, &tk_qp_state, qp->qpn, TRACE_NONE,
		  TRACE_NONE, TRACE_NONE, TRACE_NONE, nic_qp_state_names[s]);
}

bool nic_path_mtu_valid(uint64_t bytes)
{
	/* IBA Vol 1, 7.7.2 / Table 22 (PMTU): 256, 512, 1024, 2048, 4096 */
	return bytes >= 256 && bytes <= 4096 && !(bytes & (bytes - 1));
}

static bool attr_valid(const struct nic_qp_attr *a, GError **error)
{
	if (!nic_path_mtu_valid(a->path_mtu)) {
		g_set_error(error, CONFIG_ERROR, 0,
			    "path MTU %u is not an IBA MTU (256, 512, 1024, "
			    "2048 or 4096 bytes)", a->path_mtu);
		return false;
	}
	if (a->retry_cnt > 7 || a->rnr_retry > 7 || a->min_rnr_timer > 31 ||
	    a->timeout > 31 || a->max_rd_atomic == 0) {
		g_set_error(error, CONFIG_ERROR, 0,
			    "QP attributes out of IBA range (retry_cnt and "
			    "rnr_retry 0..7, min_rnr_timer and timeout 0..31, "
			    "max_rd_atomic >= 1)");
		return false;
	}
	return true;
}

static void qp_to_rts(struct nic_qp *qp, const struct nic_qp_attr *attr,
		      struct nic_qp *peer)
{
	qp->attr = *attr;
	qp_set_state(qp, QPS_INIT);
	/* RTR: the responder side knows its peer and expected PSN */
	qp->dest_host = (uint16_t)peer->nic->host->index;
	qp->dest_qpn = peer->qpn;
	qp->epsn = attr->rq_psn & PSN_MASK;
	qp->resp = RESP_READY;
	qp_set_state(qp, QPS_RTR);
	/* RTS: the requester side */
	qp->next_psn = qp->una_psn = qp->sent_psn = attr->sq_psn & PSN_MASK;
	qp->acked_psn = (attr->sq_psn - 1) & PSN_MASK;
	qp->retry_left = attr->retry_cnt;
	qp->rnr_left = attr->rnr_retry;
	qp->req = REQ_IDLE;
	qp_set_state(qp, QPS_RTS);
}

bool nic_connect(struct nic_qp *a, struct nic_qp *b,
		 const struct nic_qp_attr *attr, GError **error)
{
	if (!attr_valid(attr, error))
		return false;
	if (a->state != QPS_RESET || b->state != QPS_RESET) {
		g_set_error(error, CONFIG_ERROR, 0,
			    "QPs must be in RESET to be connected");
		return false;
	}
	/* both ends start their send PSN where the other expects it */
	struct nic_qp_attr aa = *attr, ba = *attr;
	ba.rq_psn = aa.sq_psn;
	aa.rq_psn = ba.sq_psn;
	qp_to_rts(a, &aa, b);
	qp_to_rts(b, &ba, a);
	return true;
}

struct nic_wqe *nic_sq_at(struct nic_qp *qp, uint32_t off)
{
	return &qp->sq[(qp->sq_head + off) & (qp->sq_cap - 1)];
}

static void doorbell_event(struct sim *sim, void *obj, uint64_t arg)
{
	(void)sim;
	(void)arg;
	req_doorbell(obj);
}
SIM_EVKIND(ev_doorbell, "nic.doorbell", doorbell_event);

static const enum nic_wc_opcode wc_of_wr[] = {
	[NIC_WR_SEND] = NIC_WC_SEND,
	[NIC_WR_SEND_WITH_IMM] = NIC_WC_SEND,
	[NIC_WR_RDMA_WRITE] = NIC_WC_RDMA_WRITE,
	[NIC_WR_RDMA_WRITE_WITH_IMM] = NIC_WC_RDMA_WRITE,
	[NIC_WR_RDMA_READ] = NIC_WC_RDMA_READ,
	[NIC_WR_ATOMIC_CMP_AND_SWP] = NIC_WC_COMP_SWAP,
	[NIC_WR_ATOMIC_FETCH_AND_ADD] = NIC_WC_FETCH_ADD,
	[NIC_WR_LOCAL_INV] = NIC_WC_LOCAL_INV,
	[NIC_WR_BIND_MW] = NIC_WC_BIND_MW,
	[NIC_WR_SEND_WITH_INV] = NIC_WC_SEND,
};

int nic_post_send(struct nic_qp *qp, const struct nic_send_wr *wr)
{
	if (qp->state != QPS_RTS ||
	    (unsigned)wr->opcode >= G_N_ELEMENTS(wc_of_wr))
		return -EINVAL;
	/* an atomic's result goes to 8 bytes (ibv_post_send: EINVAL) */
	if ((wr->opcode == NIC_WR_ATOMIC_CMP_AND_SWP ||
	     wr->opcode == NIC_WR_ATOMIC_FETCH_AND_ADD) && wr->sge.length != 8)
		return -EINVAL;
	if (wr->opcode == NIC_WR_BIND_MW &&
	    (!wr->bind.mw || wr->bind.mw->nic != qp->nic))
		return -EINVAL;
	if (qp->sq_count == qp->sq_depth)
		return -ENOMEM;
	if (qp->sq_count == qp->sq_cap)
		nic_ring_grow((void **)&qp->sq, &qp->sq_cap, &qp->sq_head,
			      qp->sq_count, sizeof(*qp->sq));
	struct nic_wqe *w = nic_sq_at(qp, qp->sq_count);
	memset(w, 0, sizeof(*w));
	w->wr = *wr;
	/* unique over the run: host, QP, sequence */
	w->data_version = ((uint64_t)qp->nic->host->index << 56) |
			  ((uint64_t)qp->qpn << 32) |
			  (uint32_t)++qp->data_version_seq;
	qp->sq_count++;
	struct nic *nic = qp->nic;
	bool read = wr->opcode == NIC_WR_RDMA_READ;
	if (nic->cfg.inline_size &&
	    (read || wr->sge.length <= nic->cfg.inline_size)) {
		/* BlueFlame: the CPU writes the WQE (with a small SEND/WRITE
		 * payload inline) straight into the NIC with the doorbell */
		sim_time_t at = pcie_mmio_write(nic->pcie,
						nic->cfg.wqe_bytes +
							(read ? 0 :
								wr->sge.length));
		w->inlined = !read;
		w->fetched_at = at;
		w->pushed = true;
		sim_schedule(nic->sim, at, &ev_doorbell, qp->comp, qp, 0);
		return 0;
	}
	/* the doorbell is a posted MMIO write from the CPU to the NIC */
	sim_time_t at = pcie_mmio_write(qp->nic->pcie, 8);
	sim_schedule(qp->nic->sim, at, &ev_doorbell, qp->comp, qp, 0);
	return 0;
}

int nic_post_recv(struct nic_qp *qp, const struct nic_recv_wr *wr)
{
	if (qp->state == QPS_RESET || qp->state == QPS_ERR)
		return -EINVAL;
	if (qp->rq_count == qp->rq_depth)
		return -ENOMEM;
	if (qp->rq_count == qp->rq_cap)
		nic_ring_grow((void **)&qp->rq, &qp->rq_cap, &qp->rq_head,
			      qp->rq_count, sizeof(*qp->rq));
	qp->rq[(qp->rq_head + qp->rq_count) & (qp->rq_cap - 1)].wr = *wr;
	qp->rq_count++;
	return 0;
}


enum nic_wc_opcode nic_wc_opcode_of(enum nic_wr_opcode op)
{
	return wc_of_wr[op];
}

static const struct trace_kind tk_stall = { "qp_stall", TRACE_BEGIN,
					    "stall" };
static const struct trace_kind tk_resume = { "qp_resume", TRACE_END,
					     "stall" };

/*
 * A requester-side page fault: the QP stops preparing packets at this WQE
 * (what is already prepared still goes out), the driver resolves the
 * fault and resumes it.  Other QPs are not affected.  Without fault
 * support the QP goes to error instead.
 */
void nic_qp_stall(const struct pf_report *r)
{
	struct nic_qp *qp = r->qp;
	struct nic *nic = qp->nic;
	if (nic->cfg.fault_mode == NIC_FAULT_FATAL || !nic->drv ||
	    !r->mr->policy->on_demand) {
		(*nic->c_fatal_faults)++;
		nic_qp_error(qp, NIC_WC_LOC_PROT_ERR);
		return;
	}
	if (qp->req != REQ_STALLED) {
		(*nic->c_qp_stalls)++;
		qp->req = REQ_STALLED;
		qp->stall_start = sim_now(nic->sim);
		/* keyed by QP alone, as its END (the page_fault event
		 * has the address) */
		sim_trace(nic->sim, nic->tc_req, &tk_stall, qp->qpn, qp->next_psn,
			  TRACE_NONE, TRACE_NONE, TRACE_NONE, "page fault");
	}
	/* one fault of the QP's send queue at a time: a second access that
	 * faults meanwhile (a READ response to scatter) is dropped and asked
	 * again after the resume */
	if (qp->pf_out)
		return;
	qp->pf_out = true;
	driver_page_fault(nic->drv, r);
}

/* PAGE_FAULT_RESUME of the QP a fault named (error: the driver could not
 * resolve it: the WQE completes in error, IBV_WC_LOC_PROT_ERR; the
 * responder NAKs the retried request with a remote access error). */
void nic_pf_resume(const struct pf_report *r, bool error)
{
	struct nic_qp *qp = r->qp;
	if (!qp)
		return;
	if (!r->requester) {
		resp_pf_resume(qp, error);
		return;
	}
	qp->pf_out = false;
	if (qp->state != QPS_RTS)
		return;
	if (error)
		nic_qp_error(qp, NIC_WC_LOC_PROT_ERR);
	else
		nic_qp_resume(qp);
}

/* The requester needs a page the VMM is moving: wait for the resume. */
void nic_qp_wait_suspended(struct nic_qp *qp)
{
	struct nic *nic = qp->nic;
	if (qp->req == REQ_STALLED)
		return;
	(*nic->c_susp_waits)++;
	qp->req = REQ_STALLED;
	qp->stall_suspend = true;
	qp->stall_start = sim_now(nic->sim);
	sim_trace(nic->sim, nic->tc_req, &tk_stall, qp->qpn, qp->next_psn,
		  TRACE_NONE, TRACE_NONE, TRACE_NONE, "suspended");
}

void nic_mr_resumed(struct nic_mr *mr)
{
	struct nic *nic = mr->nic;
	for (guint i = 0; i < nic->all_qps->len; i++) {
		struct nic_qp *qp = nic->all_qps->pdata[i];
		if (!g_queue_is_empty(&qp->held)) {
			/* replay in order; one held again keeps the rest */
			GQueue q = qp->held;
			g_queue_init(&qp->held);
			nic->held_now -= q.length;
			struct pkt *p;
			while ((p = g_queue_pop_head(&q))) {
				if (!g_queue_is_empty(&qp->held)) {
					g_queue_push_tail(&qp->held, p);
					nic->held_now++;
					continue;
				}
				if (!resp_rx(qp, p, true))
					pkt_free(nic->pool, p);
			}
		}
		if (qp->req == REQ_STALLED && qp->stall_suspend)
			nic_qp_resume(qp);
	}
}

void nic_qp_resume(struct nic_qp *qp)
{
	struct nic *nic = qp->nic;
	if (qp->state != QPS_RTS || qp->req != REQ_STALLED)
		return;
	hist_add(nic->h_stall_ns, (sim_now(nic->sim) - qp->stall_start) /
					  SIM_NS);
	sim_trace(nic->sim, nic->tc_req, &tk_resume, qp->qpn, qp->next_psn,
		  TRACE_NONE, TRACE_NONE, TRACE_NONE, NULL);
	qp->req = REQ_SENDING;
	qp->stall_suspend = false;
	qp->stall_scatter = false;
	if (qp->rnr_until > sim_now(nic->sim)) {
		qp->rewind_pending = false;
		comp_rnr_wait(qp, qp->rnr_until, qp->rewind_psn);
		return;
	}
	qp->rnr_until = 0;
	if (qp->rewind_pending) {
		qp->rewind_pending = false;
		req_rewind(qp, qp->rewind_psn);
	}
	req_fill(qp);
}

static const struct trace_kind tk_qp_error = { "qp_error", TRACE_INSTANT,
					       NULL };

/*
 * Move @qp to ERR: the oldest outstanding WQE completes with
 * @first_status, every later one and every posted receive with
 * IBV_WC_WR_FLUSH_ERR (IBA 10.3.1, 11.4.2.4).
 */
void nic_qp_error(struct nic_qp *qp, enum nic_wc_status first_status)
{
	struct nic *nic = qp->nic;
	if (qp->state == QPS_ERR)
		return;
	(*nic->c_qp_errors)++;
	sim_trace(nic->sim, qp->comp, &tk_qp_error, qp->qpn, qp->una_psn,
		  TRACE_NONE, TRACE_NONE, TRACE_NONE,
		  nic_wc_status_names[first_status]);
	qp_set_state(qp, QPS_ERR);
	qp->req = REQ_ERROR;
	qp->cur_mr = NULL;
	sim_time_t now = sim_now(nic->sim);
	nic_tx_drop(qp);
	bool first = true;
	while (qp->sq_count) {
		struct nic_wqe *w = nic_sq_at(qp, 0);
		struct nic_wc wc = {
			.wr_id = w->wr.wr_id,
			.status = first ? first_status : NIC_WC_WR_FLUSH_ERR,
			.opcode = wc_of_wr[w->wr.opcode],
			.qpn = qp->qpn,
		};
		/* errors complete even unsignaled WRs (IBA 10.8.3) */
		nic_cq_push(qp->scq, &wc, now);
		first = false;
		qp->sq_head = (qp->sq_head + 1) & (qp->sq_cap - 1);
		qp->sq_count--;
	}
	while (qp->rq_count) {
		struct nic_rwqe *r = &qp->rq[qp->rq_head];
		struct nic_wc wc = { .wr_id = r->wr.wr_id,
				     .status = NIC_WC_WR_FLUSH_ERR,
				     .opcode = NIC_WC_RECV, .qpn = qp->qpn };
		nic_cq_push(qp->rcq, &wc, now);
		qp->rq_head = (qp->rq_head + 1) & (qp->rq_cap - 1);
		qp->rq_count--;
	}
	qp->req_idx = qp->req_pkt = qp->fetch_idx = 0;
}
