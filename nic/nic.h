/*
 * nic/nic.h - the HCA and its verbs-like API.
 *
 * One struct nic per host: a PCIe attachment (nic/pcie.h), an MTT cache
 * and a small MPT (key) cache (nic/mtt_cache.h), one port on a link
 * (nic/wire.h), protection domains, memory regions, completion queues and
 * RC queue pairs.  The NIC never reads a page table: it translates through
 * the MTT the driver wrote (nic/driver.c is the one caller of vmm/).
 *
 * The transport engines follow soft-RoCE's split, one file per engine:
 * nic/req.c (requester: SQ -> packets), nic/resp.c (responder: incoming
 * requests -> DMA, ACK/NAK, read responses), nic/comp.c (completer: ACKs,
 * NAKs, read responses, retransmission, completions).  Each has an explicit
 * state enum with a name table printed in traces.
 *
 * Application models (workloads/) use only this API: alloc_pd, reg_mr,
 * create_cq/qp, connect, post_send, post_recv, poll_cq, with completion
 * notification standing for a busy-polling thread that sees a CQE the
 * moment its DMA write lands in host memory.
 */
#ifndef NIC_NIC_H
#define NIC_NIC_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "sim/config.h"
#include "sim/sim.h"

struct host;
struct vmm_as;
struct link;
struct pkt_pool;

/* [nic] / [nic NAME] parameters */
struct nic_config {
	uint64_t clock_hz;         /* NIC core clock */
	uint64_t rx_cycles;        /* receive pipeline, per packet */
	uint64_t tx_cycles;        /* transmit pipeline, per packet */
	uint64_t cache_hit_cycles; /* MTT/MPT cache hit */
	uint64_t mtt_cache_entries, mtt_cache_ways;
	int mtt_cache_policy;
	/* the second MTT cache level (0 entries: none) */
	uint64_t mtt_l1_entries, mtt_l1_ways, mtt_l1_hit_cycles;
	uint64_t mpt_cache_entries;
	uint64_t mtt_fetch_entries; /* entries per MTT miss fetch (one line) */
	uint64_t tx_window;        /* packets a QP may have prepared ahead */
	uint64_t max_outstanding;  /* unacknowledged packets per QP */
	uint64_t ack_coalesce;     /* ACK at least every N packets */
	uint64_t wqe_bytes, cqe_bytes;
	uint64_t mtt_max_page;     /* bytes: largest MTT entry page */
	int fault_mode;            /* enum nic_fault_mode */
	int rdma_fault_length;     /* enum nic_pf_length */
	uint64_t pf_prefetch_before; /* memory scheme: pages before demand */
	uint64_t pf_prefetch_after;  /* ... and after */
	int rnr_timer;             /* enum nic_rnr_timer */
	sim_time_t rnr_timer_floor;  /* hw: the shortest RNR wait */
	sim_time_t rnr_timer_granularity; /* hw: waits round up to it */
	uint64_t inline_size;      /* sends up to this size go inline with
				    * the WQE, written by the CPU (BlueFlame) */
	uint64_t hold_packets;     /* on-NIC buffer for packets to suspended
				    * pages (suspend/resume policy) */
	uint64_t resp_weight;      /* port share of the responder engine */
	uint64_t req_weight;       /* ... and of the requester engine */
	int key_variant;           /* enum nic_id_alloc: memory key variants */
	int qpn_alloc;             /* enum nic_id_alloc: QP numbers */
};

/* How the NIC hands out key variants and QP numbers. */
enum nic_id_alloc {
	NIC_ID_SEQUENTIAL, /* predictable, as hardware does */
	NIC_ID_RANDOM,     /* from the NIC's own RNG stream */
};

/* What the NIC does on a page fault (IOMMU-style page requests or not). */
enum nic_fault_mode {
	NIC_FAULT_REPORT, /* report to the driver, resolve, resume */
	NIC_FAULT_FATAL,  /* a NIC without fault support: tear down the QP */
};

/* How the requester waits out an RNR NAK's timer. */
enum nic_rnr_timer {
	NIC_RNR_HW,  /* as ConnectX hardware: a floor and a granularity */
	NIC_RNR_IBA, /* exactly the IBA table value */
};

/* What a responder RDMA fault event says of the operation's length. */
enum nic_pf_length {
	NIC_PF_LENGTH_MESSAGE, /* rdma_op_len: what is left of the message */
	NIC_PF_LENGTH_UNKNOWN, /* 0: the driver faults the packet, prefetches */
};

extern const struct param_table nic_params;

/* IBV_ACCESS_* */
enum nic_access {
	NIC_ACCESS_LOCAL_WRITE = 1,
	NIC_ACCESS_REMOTE_WRITE = 2,
	NIC_ACCESS_REMOTE_READ = 4,
	NIC_ACCESS_REMOTE_ATOMIC = 8,
	NIC_ACCESS_ON_DEMAND = 16,
	NIC_ACCESS_MW_BIND = 32,   /* memory windows may be bound to it */
};

/* IBV_WR_* */
enum nic_wr_opcode {
	NIC_WR_SEND,
	NIC_WR_SEND_WITH_IMM,
	NIC_WR_RDMA_WRITE,
	NIC_WR_RDMA_WRITE_WITH_IMM,
	NIC_WR_RDMA_READ,
	NIC_WR_ATOMIC_CMP_AND_SWP,   /* 8 bytes at remote_addr (aligned) */
	NIC_WR_ATOMIC_FETCH_AND_ADD,
	NIC_WR_LOCAL_INV,            /* invalidate_rkey, a type 2 window */
	NIC_WR_BIND_MW,              /* bind (nic_mw_bind) */
	NIC_WR_SEND_WITH_INV,        /* SEND, and the peer invalidates
				      * invalidate_rkey */
};
extern const char *const nic_wr_opcode_names[];

/* IBV_WC_* status */
enum nic_wc_status {
	NIC_WC_SUCCESS,
	NIC_WC_LOC_LEN_ERR,
	NIC_WC_LOC_QP_OP_ERR,
	NIC_WC_LOC_PROT_ERR,
	NIC_WC_WR_FLUSH_ERR,
	NIC_WC_REM_INV_REQ_ERR,
	NIC_WC_REM_ACCESS_ERR,
	NIC_WC_REM_OP_ERR,
	NIC_WC_RETRY_EXC_ERR,
	NIC_WC_RNR_RETRY_EXC_ERR,
	NIC_WC_MW_BIND_ERR,
	NIC_WC_NSTATUS
};
extern const char *const nic_wc_status_names[]; /* "IBV_WC_SUCCESS"... */

enum nic_wc_opcode {
	NIC_WC_SEND,
	NIC_WC_RDMA_WRITE,
	NIC_WC_RDMA_READ,
	NIC_WC_RECV,
	NIC_WC_RECV_RDMA_WITH_IMM,
	NIC_WC_COMP_SWAP,
	NIC_WC_FETCH_ADD,
	NIC_WC_BIND_MW,
	NIC_WC_LOCAL_INV,
};

struct nic_sge {
	uint64_t addr;
	uint32_t length;
	uint32_t lkey;
};

struct nic_mw;
struct nic_mr;

/* What a bind gives a window (ibv_mw_bind_info). */
struct nic_mw_bind {
	struct nic_mw *mw;
	uint32_t rkey;      /* type 2: the window's key after the bind (its
			     * index, a variant the caller picks:
			     * nic_inc_rkey); type 1: set by nic_bind_mw */
	struct nic_mr *mr;  /* NULL with length 0: unbind (type 1) */
	uint64_t addr, length;
	unsigned access;    /* NIC_ACCESS_REMOTE_{READ,WRITE,ATOMIC} */
};

struct nic_send_wr {
	uint64_t wr_id;
	enum nic_wr_opcode opcode;
	struct nic_sge sge; /* one scatter/gather element; atomics: the
			     * 8 bytes that get the original value */
	bool signaled;
	uint32_t imm;
	uint64_t remote_addr;
	uint32_t rkey;
	uint32_t invalidate_rkey;   /* LOCAL_INV, SEND_WITH_INV */
	uint64_t compare_add, swap; /* CMP_AND_SWP: compare, swap;
				     * FETCH_AND_ADD: compare_add is the add */
	struct nic_mw_bind bind;    /* BIND_MW */
};

struct nic_recv_wr {
	uint64_t wr_id;
	struct nic_sge sge;
};

struct nic_wc {
	uint64_t wr_id;
	enum nic_wc_status status;
	enum nic_wc_opcode opcode;
	uint32_t byte_len;
	uint32_t imm;
	bool with_imm;
	bool with_inv;          /* a SEND_WITH_INV invalidated ... */
	uint32_t invalidated_rkey; /* ... this key (IBV_WC_WITH_INV) */
	uint32_t qpn;
};

/* QP states, IBA 10.3.1 */
enum nic_qp_state {
	QPS_RESET,
	QPS_INIT,
	QPS_RTR,
	QPS_RTS,
	QPS_ERR,
};
extern const char *const nic_qp_state_names[];

struct nic_qp_attr {
	uint32_t path_mtu;    /* bytes: 256, 512, 1024, 2048 or 4096 */
	uint8_t timeout;      /* local ACK timeout 4.096us * 2^timeout, 0: none */
	uint8_t retry_cnt;    /* 0..7 */
	uint8_t rnr_retry;    /* 0..7, 7 = infinite */
	uint8_t min_rnr_timer;/* 5-bit IBA code (ib_rnr_timer_ps) */
	uint8_t max_rd_atomic;/* outstanding RDMA READs as requester */
	uint32_t sq_psn, rq_psn;
};

/* IBA 9.7.5.2.8 Table 45: RNR NAK timer code -> time. */
sim_time_t ib_rnr_timer_ps(unsigned code);
/* IBA 9.7.6.1.3: local ACK timeout 4.096us * 2^timeout (0 = infinite). */
sim_time_t ib_timeout_ps(unsigned timeout);

struct nic;
/* The RNR wait @nic's requester realises for timer code @code ([nic]
 * rnr_timer, rnr_timer_floor, rnr_timer_granularity). */
sim_time_t nic_rnr_wait_ps(const struct nic *nic, unsigned code);
struct nic_pd;
struct nic_mr;
typedef void (*nic_serve_fn)(void *ctx, struct nic *nic);
struct nic_cq;
struct nic_qp;

struct pcie;
/* The NIC owns @pcie from here on. */
struct nic *nic_new(struct sim *sim, struct host *host,
		    const struct nic_config *cfg, struct pcie *pcie,
		    struct pkt_pool *pool);
void nic_free(struct nic *nic);
struct iommu;
/* The NIC's DMA goes through @io (owned by the NIC from here on; [iommu]
 * mode = translate), before any MR is registered. */
void nic_set_iommu(struct nic *nic, struct iommu *io);
/* The NIC's IOMMU, or NULL (off, passthrough). */
struct iommu *nic_iommu(const struct nic *nic);
/* Attach the port to end @end of @link. */
void nic_attach(struct nic *nic, struct link *link, unsigned end);
struct host *nic_host(const struct nic *nic);
bool nic_attached(const struct nic *nic);
/* Can the NIC's port reach host @host (a cable to it, or a switch with a
 * port to it)? */
bool nic_reaches(const struct nic *nic, uint16_t host);
/* The link of the NIC's port and its end (NULL when not attached). */
struct link *nic_port(const struct nic *nic, unsigned *end);
struct oracle *nic_oracle(const struct nic *nic);
/* Valid entries in the MTT cache now (sampled for series and timelines). */
uint32_t nic_mtt_cache_occupancy(const struct nic *nic);

struct nic_pd *nic_alloc_pd(struct nic *nic);

/* ---- memory regions: registration goes through the driver ---- */

struct nic_mr_info {
	uint32_t lkey, rkey;
	uint64_t addr, length;
	unsigned access;
	sim_time_t reg_time; /* simulated time registration took */
};

typedef void (*nic_reg_done_fn)(void *ctx, struct nic_mr *mr, int status);
typedef void (*nic_dereg_done_fn)(void *ctx);
/* Register [addr, addr+len) of @as under registration policy @policy
 * (enum reg_policy_id, nic/driver.h); @done runs when the driver finished
 * (status 0, or -errno-style negative on failure: the MR is then NULL). */
void nic_reg_mr(struct nic_pd *pd, struct vmm_as *as, uint64_t addr,
		uint64_t len, unsigned access, int policy,
		nic_reg_done_fn done, void *ctx);
/*
 * Deregister @mr, as ibv_dereg_mr promises: from this call its keys name
 * nothing (a request naming them, or continuing a message into the MR,
 * gets a remote access error; a local WQE gets a protection error), and
 * @done (may be NULL) runs once the device can never touch the memory
 * again: every DMA to it issued before has landed and no fault, event or
 * resize holds it.  Only then are its pages unpinned (or uncommitted, or
 * its notifier released) and @mr freed: the application may reuse the
 * memory from @done on.  @mr must not be used after this call.
 * Returns 0, or -EBUSY (nothing done) while memory windows are bound to
 * @mr (a region with bound windows is not deregistered: rxe_dereg_mr).
 */
int nic_dereg_mr(struct nic_mr *mr, nic_dereg_done_fn done, void *ctx);
/* Call @fn(ctx, mr, end) when a DMA write into @mr ending at address @end
 * lands in host memory: an application polling its buffer (perftest's
 * write_lat polls the last byte of the message). */
typedef void (*nic_watch_fn)(void *ctx, struct nic_mr *mr, uint64_t end);
void nic_mr_watch(struct nic_mr *mr, nic_watch_fn fn, void *ctx);
void nic_mr_info(const struct nic_mr *mr, struct nic_mr_info *out);
/*
 * rereg_mr-style resize to @new_len bytes, keeping lkey and rkey.  Growth
 * pins, commits or prefetches the new tail as the MR's policy does at
 * registration; a trim drops the tail's translations once DMA in flight
 * to the MR has landed, then unpins or uncommits it.  Accesses past the
 * new end get a remote access error.  @done(ctx, mr, status) runs when
 * it is done (-ENOMEM: the policy could not commit or pin the growth; the
 * MR keeps its old length).
 */
void nic_mr_resize(struct nic_mr *mr, uint64_t new_len, nic_reg_done_fn done,
		   void *ctx);

/* ---- memory windows (IBA 10.6.7; verbs ibv_alloc_mw/ibv_bind_mw) ----
 *
 * A window opens part of an MR (registered with NIC_ACCESS_MW_BIND) to
 * remote access under its own rkey, with rights no wider than the MR's.
 * Type 1 is bound through nic_bind_mw() (ibv_bind_mw: the library bumps
 * the key's variant and posts the bind) and belongs to the PD; type 2 is
 * bound by a BIND_MW work request on a QP of its PD, to which it then
 * belongs (type 2B, as mlx5 and rxe have it), and is invalidated by that
 * QP's LOCAL_INV or by the peer's SEND_WITH_INV.  Once an invalidation or
 * rebind completes, the old key is refused (a remote access error) and
 * no DMA issued through it is still in flight.
 */
enum nic_mw_type { NIC_MW_TYPE_1 = 1, NIC_MW_TYPE_2 = 2 };
struct nic_mw *nic_alloc_mw(struct nic_pd *pd, enum nic_mw_type type);
/* Destroy @mw (its key is refused from now on). */
void nic_dealloc_mw(struct nic_mw *mw);
/* The key the application holds (after a bind: the new one). */
uint32_t nic_mw_rkey(const struct nic_mw *mw);
/* ibv_inc_rkey: the next variant of @rkey's index. */
uint32_t nic_inc_rkey(uint32_t rkey);
/* Type 1: post a bind of @b on @qp (signaled: a NIC_WC_BIND_MW CQE),
 * the key of the window becoming nic_inc_rkey() of its old one; 0 or
 * -EINVAL (not a type 1 window, @qp not in its PD). */
int nic_bind_mw(struct nic_qp *qp, uint64_t wr_id, bool signaled,
		const struct nic_mw_bind *b);

/* ---- completion queues and queue pairs ---- */

typedef void (*nic_cq_notify_fn)(void *ctx, struct nic_cq *cq);
struct nic_cq *nic_create_cq(struct nic *nic, uint32_t depth,
			     nic_cq_notify_fn notify, void *ctx);
/* Poll up to @n completions; returns how many. */
int nic_poll_cq(struct nic_cq *cq, struct nic_wc *wc, int n);

struct nic_qp *nic_create_qp(struct nic_pd *pd, struct nic_cq *send_cq,
			     struct nic_cq *recv_cq, uint32_t sq_depth,
			     uint32_t rq_depth);
uint32_t nic_qp_num(const struct nic_qp *qp);
enum nic_qp_state nic_qp_state(const struct nic_qp *qp);
/* Whether @bytes is an IBA path MTU (256, 512, 1024, 2048, 4096). */
bool nic_path_mtu_valid(uint64_t bytes);
/* RESET->INIT->RTR->RTS as a connection manager would: both ends. */
bool nic_connect(struct nic_qp *a, struct nic_qp *b,
		 const struct nic_qp_attr *attr, GError **error);

/* 0, or a negative errno-style value (-ENOMEM: queue full, -EINVAL). */
int nic_post_send(struct nic_qp *qp, const struct nic_send_wr *wr);
int nic_post_recv(struct nic_qp *qp, const struct nic_recv_wr *wr);

/* ---- live migration of the function state (nic/migrate.c) ---- */

struct snapfile;
/* Freeze: the requester sends nothing new, the responder RNR-NAKs the
 * expected PSN and drops the rest, READ responses are dropped; ACKs are
 * still taken. */
void nic_migrate_pause(struct nic *nic);
/* What the frozen NIC still waits for (DMA in flight, driver work...), or
 * NULL once quiesced. */
const char *nic_migrate_busy(const struct nic *nic);
/* The function state as the records of nic/snapshot.h (the migration
 * stream), its size on the wire, and the first difference between two. */
struct snapfile *nic_migrate_state(const struct nic *nic);
uint64_t nic_migrate_state_bytes(const struct snapfile *sf);
char *nic_migrate_state_diff(const struct snapfile *a,
			     const struct snapfile *b);
/* Drop what the frozen function had prepared to send (the destination
 * goes back to the oldest unacknowledged PSN). */
void nic_migrate_drop_tx(struct nic *nic);
/* Move the function state of frozen @src to unused @dst (same QPNs and
 * keys); the hosts swap NICs: the migrated host's struct now names @dst.
 * @dst stays frozen until nic_migrate_resume. */
void nic_migrate_transplant(struct nic *src, struct nic *dst);
/* Post-copy: drop every on-demand MR's translations (the destination maps
 * pages as they arrive; pinned MRs keep theirs). */
void nic_migrate_zap(struct nic *nic);
void nic_migrate_resume(struct nic *nic);
/* @fn(ctx, nic) runs once, at the next request the NIC executes or
 * completion it writes (the function serves again after a migration);
 * NULL cancels. */
void nic_on_serve(struct nic *nic, nic_serve_fn fn, void *ctx);

#endif
