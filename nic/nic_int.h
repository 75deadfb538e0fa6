/*
 * nic/nic_int.h - state shared by the HCA's engines (not for workloads).
 *
 * Representation: QPs, MRs and CQs are heap objects found by number/key
 * through radix maps (sim/idmap.h) filled at setup: a packet's QP and
 * memory key are a few array indexings away, never a hash probe.  Send
 * and receive queues and CQs are rings grown on demand up to their
 * depth.  Each QP has a ring of packets its requester prepared
 * ahead of transmission (tx_window deep) with the time each one's payload
 * DMA read completes; the NIC's responder packets (ACK/NAK, read
 * responses) wait in one queue ordered by ready time.  The port
 * transmitter is one event chain: it picks the ready packet (responses
 * first, then QPs round-robin), hands it to the link and re-arms at the
 * end of serialization.
 */
#ifndef NIC_NIC_INT_H
#define NIC_NIC_INT_H

#include "nic/driver.h"
#include "nic/iommu.h"
#include "nic/mtt.h"
#include "nic/nic.h"
#include "nic/oracle.h"
#include "nic/packet.h"
#include "nic/pcie.h"
#include "nic/txsched.h"
#include "sim/idmap.h"
#include "sim/rng.h"
#include "sim/stats.h"
#include "sim/trace.h"

struct pcie;
struct mtt_cache;
struct vmm_sub;
struct driver;
struct resize_req;
struct reg_policy_ops;

#define NIC_PAGE_SHIFT 12
#define NIC_PAGE_SIZE (1ULL << NIC_PAGE_SHIFT)

/*
 * Implicit ODP, as mlx5 builds it (drivers/infiniband/hw/mlx5/odp.c): the
 * MR over the whole user address space is a KSM mkey whose entries each
 * cover MLX5_IMR_MTT_SIZE = 1 GiB (MLX5_IMR_MTT_BITS = 30 - PAGE_SHIFT),
 * mlx5_imr_ksm_entries = 2^(get_order(TASK_SIZE) - 18) of them (131072,
 * 128 TiB, for x86-64's 47-bit user VA).  An entry points at the null
 * mkey (every access faults) until the first fault in its slot creates a
 * child: an MTT mkey of MLX5_IMR_MTT_ENTRIES = 2^18 entries with its own
 * interval notifier (implicit_get_child_mr); an invalidation that leaves
 * a child with no page mapped destroys it
 * (destroy_unused_implicit_child_mr).
 *
 * Representation: the KSM is a two-level sparse array, slot -> child:
 * KSM_LEAF_SLOTS child pointers per leaf, leaves allocated when a slot of
 * theirs first gets a child, found by index (no hashing on the packet
 * path).  A child owns pages [slot << IMR_CHILD_PAGE_BITS, +2^18) of the
 * parent; its MTT entries are kept in the parent's radix table (nic/mtt.h)
 * at those indices, which is exactly the child's table shifted, so
 * memory stays proportional to the pages touched.  Workload assumed: few
 * children (one per touched GiB), looked up on every MTT cache miss.
 */
#define IMR_CHILD_SHIFT 30 /* MLX5_IMR_MTT_SHIFT */
#define IMR_CHILD_PAGE_BITS (IMR_CHILD_SHIFT - NIC_PAGE_SHIFT)
#define IMR_CHILD_PAGES (1ULL << IMR_CHILD_PAGE_BITS) /* MLX5_IMR_MTT_ENTRIES */
#define KSM_LEAF_BITS 9
#define KSM_LEAF_SLOTS (1u << KSM_LEAF_BITS)

struct imr_child {
	struct nic_mr *parent;
	uint64_t slot;          /* KSM index */
	uint64_t mapped;        /* pages with a valid entry (umem_odp->npages) */
	uint32_t key;           /* its MTT mkey: the KSM entry names it */
	struct vmm_sub *sub;    /* its interval notifier over its 1 GiB */
	sim_time_t mutex_until; /* its umem_mutex is held by a fault's UMR */
	unsigned notif_active;  /* invalidations of it in progress */
	unsigned users;         /* faults holding it (mmkey.usecount) */
	bool dead;              /* out of the KSM, freed when unused */
};

struct nic_ksm {
	uint64_t nslots;        /* mlx5_imr_ksm_entries */
	struct imr_child ***leaves; /* nslots / KSM_LEAF_SLOTS, lazily filled */
	uint64_t nchildren;     /* in the KSM now */
};

/* The MTT entry of MR page @pg (0 .. npages-1). */
static inline uint64_t nic_mr_ent(const struct nic_mr *mr, uint64_t pg);
/* Set the MR's entry size (log2 of 4 KiB pages per entry), ent0 and
 * nents for its current first_page and npages. */
void nic_mr_set_shift(struct nic_mr *mr, unsigned shift);

/* The child owning MR page @pg of implicit @mr, or NULL (null mkey). */
static inline struct imr_child *nic_imr_child(const struct nic_mr *mr,
					      uint64_t pg);
/* Put a new child in slot @slot (empty) / take @c out of the KSM. */
struct imr_child *nic_imr_child_add(struct nic_mr *mr, uint64_t slot);
void nic_imr_child_remove(struct imr_child *c);
/* Free the KSM and every child (the MR is going). */
void nic_imr_free(struct nic_mr *mr);

struct nic_pd {
	struct nic *nic;
	uint32_t handle;
};

struct nic_mr {
	struct nic *nic;
	struct nic_pd *pd;
	struct vmm_as *as;
	const char *as_name; /* its name, for trace records (the driver
			      * reads it at registration) */
	uint32_t index; /* MTT cache key space */
	uint32_t lkey, rkey;
	uint64_t addr, length;
	unsigned access;
	uint64_t first_page, npages;
	/*
	 * The MTT in host memory: one entry per 2^mtt_shift pages, the page
	 * size mlx5 chose for the mkey (ib_umem_find_best_pgsz: 4 KiB for
	 * on-demand MRs; for a pinned one the largest power of two its DMA
	 * layout allows).  Entry e covers the pages from
	 * ((ent0 + e) << mtt_shift): ent0 = first_page >> mtt_shift, so the
	 * first entry may start before the MR does, as mlx5's does; its
	 * frame is the one that block starts at.  nents entries.
	 */
	struct mtt mtt;
	unsigned mtt_shift;
	uint64_t ent0, nents;
	/* a pinned MR's DMA mapping (ib_umem): its scatter/gather entries,
	 * and whether its mkey came from (and goes back to) the mkey
	 * cache; iova: the DMA address of addr (an IOMMU domain's, or the
	 * physical address of the page under passthrough and off) */
	uint64_t sg_ents;
	/* [iommu] mode = translate: the IOMMU page size (log2 of 4 KiB
	 * pages) the DMA API mapped it with, and whether it is an SVA MR
	 * (odp_faults = pri: ATS and PRI instead of the MTT's faults) */
	unsigned io_shift;
	bool sva;
	struct iommu *dma_io; /* the IOMMU its DMA goes through at the root
			       * complex or by ATS: nic->iommu unless sva
			       * (NULL with no IOMMU) */
	int mkey_order;       /* mkey cache entry, or -1: created for it */
	sim_time_t reg_time;
	const struct reg_policy_ops *policy;
	struct vmm_sub *sub;  /* on-demand MRs: the VMM notifier */
	sim_time_t dma_busy;  /* last landing of a DMA issued to this MR */
	sim_time_t suspend_start;
	bool committed;       /* the suspend policy committed its range */
	unsigned notif_active; /* invalidations/suspensions in progress */
	struct resize_req *resize_pending;
	struct nic_ksm *ksm;  /* implicit ODP: the KSM parent, else NULL */
	/* explicit on-demand MRs (ib_umem_odp): pages mapped, and until when
	 * a fault's UMR holds umem_mutex (an invalidation waits for it) */
	uint64_t mapped;
	sim_time_t mutex_until;
	/* on-demand MRs: the rdma stat mr counters (odp_mr_counters) */
	uint64_t *c_faults, *c_handled, *c_inval, *c_inval_handled;
	uint64_t *c_prefetch;
	nic_watch_fn watch;
	void *watch_ctx;
	void *policy_priv; /* the driver's per-MR state */
	/*
	 * Deregistration (mr.c): its keys leave the MPT at once, QPs in
	 * the middle of a message into it are cut off, and the MR is torn
	 * down (pins and notifier released, memory freed) only when no
	 * DMA to it is in flight and nothing holds it: faults being
	 * resolved, watch events, a resize, invalidations in progress.
	 */
	unsigned holds;       /* faults, watch events and resizes in flight */
	unsigned mw_bound;    /* memory windows bound to it */
	bool dying;           /* nic_dereg_mr() called, not yet torn down */
	bool dereg_armed;     /* the tear-down event is scheduled */
	sim_time_t dereg_start;
	sim_time_t dereg_revoked; /* its mkey revoked: no DMA after this */
	nic_dereg_done_fn dereg_done;
	void *dereg_ctx;
};

static inline uint64_t nic_mr_ent(const struct nic_mr *mr, uint64_t pg)
{
	return ((mr->first_page + pg) >> mr->mtt_shift) - mr->ent0;
}

static inline struct imr_child *nic_imr_child(const struct nic_mr *mr,
					      uint64_t pg)
{
	uint64_t slot = pg >> IMR_CHILD_PAGE_BITS;
	const struct nic_ksm *k = mr->ksm;
	if (slot >= k->nslots)
		return NULL;
	struct imr_child **leaf = k->leaves[slot >> KSM_LEAF_BITS];
	return leaf ? leaf[slot & (KSM_LEAF_SLOTS - 1)] : NULL;
}

/* Memory window states (after soft-RoCE's rxe_mw states). */
enum nic_mw_state {
	MW_FREE,    /* type 2, not bound */
	MW_VALID,   /* bound (type 1: also when just allocated, length 0) */
	MW_INVALID, /* deallocated */
	MW_NSTATES
};
extern const char *const nic_mw_state_names[];

struct nic_mw {
	struct nic *nic;
	struct nic_pd *pd;
	enum nic_mw_type type;
	enum nic_mw_state state;
	uint32_t key;       /* the NIC's: in the MPT (nic->mws) */
	uint32_t user_key;  /* the application's (ibv_mw.rkey) */
	struct nic_mr *mr;  /* bound to; NULL: length 0 */
	struct nic_qp *qp;  /* type 2: the QP it was bound through */
	uint64_t addr, length;
	unsigned access;
	uint32_t gen;       /* bumped by each bind and invalidation: a
			     * message started through an older one is cut */
};

/* The MR and window an rkey names, and what it opens: [lo, hi) with
 * @access rights.  @mw NULL: the key is the MR's own. */
struct nic_grant {
	struct nic_mr *mr;
	struct nic_mw *mw;
	uint32_t key, mw_gen;
	uint64_t lo, hi;
	unsigned access;
};

/* What a responder keeps of an atomic it executed, to answer a duplicate
 * with the same original value (IBA 9.4.5: an atomic is not executed
 * twice). */
struct atomic_res {
	uint32_t psn;
	bool used;
	uint64_t orig;
};
#define NIC_ATOMIC_RES 16

struct cqe_slot {
	struct nic_wc wc;
	sim_time_t visible; /* when its DMA write lands in host memory */
};

struct nic_cq {
	struct nic *nic;
	struct cqe_slot *ring; /* cap slots (a power of two), grown on demand
				* up to depth */
	sim_time_t last_visible;
	uint64_t overflows;
	uint32_t depth, cap, head, count;
	nic_cq_notify_fn notify;
	void *ctx;
	bool notify_pending;
};

struct nic_wqe {
	struct nic_send_wr wr;
	uint32_t first_psn, npkts; /* assigned when the requester starts it */
	uint32_t resp_got;         /* READ: response packets placed */
	bool rereq;                /* READ: re-requested from resp_got */
	uint64_t data_version;
	sim_time_t fetched_at; /* WQE read into the NIC; 0: not yet asked */
	bool started;
	bool pushed;           /* the WQE came with the doorbell (BlueFlame) */
	bool inlined;          /* ... and its payload too */
	/* a local operation (BIND_MW, LOCAL_INV): executed when the
	 * requester reaches it, completed in order, its CQE not before
	 * done_at (DMA through an invalidated key has landed) */
	bool executed;
	sim_time_t done_at;
	enum nic_wc_status local_status;
};

struct nic_rwqe {
	struct nic_recv_wr wr;
};

/* Requester states (nic/req.c). */
enum req_state {
	REQ_IDLE,        /* nothing to send */
	REQ_SENDING,     /* preparing packets */
	REQ_WAIT_WINDOW, /* outstanding or read limits reached */
	REQ_RNR_WAIT,    /* RNR NAK received: waiting out the RNR timer */
	REQ_STALLED,     /* a local page fault: waiting for the driver */
	REQ_ERROR,       /* QP in error: flushed */
	REQ_NSTATES
};
extern const char *const req_state_names[];

/* Responder states (nic/resp.c). */
enum resp_state {
	RESP_READY,      /* expecting epsn */
	RESP_NAK_SEQ,    /* PSN sequence NAK sent: dropping until epsn */
	RESP_RNR,        /* RNR NAK sent: dropping until epsn returns */
	RESP_PAGE_FAULT, /* a page fault reported: every request of epsn
			  * gets an RNR NAK, the rest are dropped, until the
			  * driver's PAGE_FAULT_RESUME */
	RESP_PF_ERROR,   /* resumed with error: the request of epsn gets a
			  * remote access error NAK */
	RESP_NSTATES
};
extern const char *const resp_state_names[];

struct txslot {
	struct pkt *p;
	sim_time_t ready;
};

struct nic_qp {
	struct nic *nic;
	struct nic_pd *pd;
	struct nic_cq *scq, *rcq;
	uint32_t qpn;
	enum nic_qp_state state;
	struct nic_qp_attr attr;
	uint16_t dest_host;
	uint32_t dest_qpn;

	/* send queue: ring of WQEs from sq_head (oldest not completed);
	 * sq_cap slots (a power of two), grown on demand up to sq_depth */
	struct nic_wqe *sq;
	uint32_t sq_depth, sq_cap, sq_head, sq_count;

	/* requester */
	enum req_state req;
	uint32_t req_idx;   /* offset from sq_head of the WQE being sent */
	uint32_t fetch_idx; /* offset from sq_head of the first WQE the
			     * NIC has not asked for yet */
	uint32_t req_pkt;   /* next packet of that WQE */
	uint32_t next_psn;  /* PSN of the next packet to prepare */
	uint32_t una_psn;   /* oldest unacknowledged PSN */
	uint32_t sent_psn;  /* one past the highest PSN ever transmitted */
	uint32_t reads_out; /* READ requests outstanding */
	struct txslot *txring;   /* tx_cap slots (a power of two), grown on
				  * demand up to tx_window */
	uint32_t tx_cap, tx_head, tx_count;
	uint8_t retry_left, rnr_left;
	sim_time_t stall_start;
	bool stall_suspend;      /* stalled on a suspended page, not a fault */
	bool stall_scatter;      /* stalled placing a READ response */
	bool pf_out;             /* a requester fault reported, not resumed */
	uint32_t acked_psn;      /* the highest PSN an ACK covered */
	GQueue held;             /* responder: packets waiting for a resume */
	uint32_t hold_next;      /* PSN expected after the held packets */
	bool rewind_pending;     /* go back to rewind_psn when resumed */
	sim_time_t rnr_until;    /* an RNR wait that came while stalled */
	uint32_t rnr_gen;        /* tags the armed RNR expiry */
	uint32_t rewind_psn;
	sim_time_t timer_deadline;
	bool timer_pending;
	uint64_t data_version_seq;

	/* responder */
	enum resp_state resp;
	struct nic_rwqe *rq;     /* rq_cap slots, as the SQ */
	uint32_t rq_depth, rq_cap, rq_head, rq_count;
	uint32_t epsn, msn;
	uint32_t unacked;        /* packets since the last ACK */
	sim_time_t resp_busy;    /* in-order processing of this QP */
	/* request being received across packets */
	struct nic_mr *cur_mr;   /* NULL between messages */
	bool cur_cut;            /* its key was made invalid mid-message */
	struct nic_mw *cur_mw;   /* the window the message came through */
	uint32_t cur_mw_gen;
	uint32_t cur_key;        /* the rkey it named */
	struct atomic_res ares[NIC_ATOMIC_RES]; /* ring, by PSN */
	uint32_t ares_next;
	uint64_t cur_va;
	uint64_t cur_left;
	uint64_t cur_len;        /* the WRITE's RETH DMA length */
	bool cur_is_send;
	uint32_t cur_rq_off;     /* SEND: bytes placed into the RQ WQE */

	uint32_t txs_id;         /* member of the NIC's round robin
				  * (nic/txsched.h): its index in all_qps */
	uint16_t comp;           /* trace component of the QP's NIC */
};

enum { ARB_RESP, ARB_REQ };

struct resp_pkt {
	struct pkt *p;
	sim_time_t ready;
};

struct nic {
	struct sim *sim;
	struct host *host;
	struct nic_config cfg;
	uint16_t comp;
	/* trace components of the engines (timeline tracks); events keep
	 * comp, so the fingerprint does not depend on them */
	uint16_t tc_req, tc_resp, tc_comp, tc_tx;
	struct pkt_pool *pool;
	struct pcie *pcie;
	struct iommu *iommu; /* [iommu] mode = translate, else NULL */
	/* the MTT cache's two levels (mtt_l1 NULL: one level) and the
	 * MPT cache */
	struct mtt_cache *mtt_cache, *mtt_l1, *mpt_cache;
	struct rng rng;
	sim_time_t cycle;

	struct link *link;
	unsigned link_end;

	struct idmap qps; /* qpn -> qp */
	struct idmap mrs; /* key -> mr (lkey and rkey) */
	struct idmap mws; /* key -> memory window (bound or not) */
	GPtrArray *all_mws;
	GPtrArray *all_qps, *all_mrs, *all_cqs, *all_pds;
	GPtrArray *reg_mrs; /* registrations in progress (freed if a run ends first) */
	GPtrArray *dying_mrs; /* deregistrations waiting for their fence */
	uint32_t next_qpn, next_mr_index, next_pd;
	/*
	 * Memory keys, laid out as mlx5 makes them (mlx5_idx_to_mkey(),
	 * assign_mkey_variant() in drivers/infiniband/hw/mlx5/mr.c): the MPT
	 * entry's index in bits 31..8, an 8-bit variant in bits 7..0, one
	 * key per MR (lkey == rkey) or window.  Indices are taken lowest
	 * free first (an estimate of the firmware's allocator: a freed
	 * index comes back at the next registration), so only the variant
	 * tells a stale key from its index's new owner.  Variants are a
	 * per-NIC counter (mlx5's mkey_var) or, with key_variant = random,
	 * drawn from keys_rng, which random QPNs use too (a stream of its
	 * own: the MTT cache's random replacement is not perturbed).
	 */
	GArray *mkey_used;   /* uint64_t words: bitmap of indices in use */
	uint8_t mkey_var;    /* the last sequential variant handed out */
	struct rng keys_rng;

	/* transmitter */
	struct txsched txs; /* round robin of the QPs with packets to send */
	/* responder/requester arbitration (deficit round robin, bytes) */
	uint32_t arb_quantum[2], arb_deficit[2];
	int arb_cur;
	GArray *resp_q;    /* struct resp_pkt, min-heap on ready */
	uint64_t tx_gen;   /* generation of the armed transmit event */
	sim_time_t tx_at;  /* time it is armed for, or SIM_TIME_MAX */
	sim_time_t rx_busy; /* receive pipeline */
	struct driver *drv;
	struct oracle *oracle;

	/* counters */
	uint64_t *c_tx_pkts, *c_tx_bytes, *c_rx_pkts, *c_rx_drop_corrupt;
	uint64_t *c_rx_drop_noqp, *c_mtt_hits, *c_mtt_misses, *c_mpt_hits;
	uint64_t *c_l1_hits, *c_l1_misses; /* NULL without a second level */
	uint64_t *c_mpt_misses, *c_rnr_sent, *c_rnr_recv, *c_nak_seq_sent;
	uint64_t *c_nak_seq_recv, *c_nak_access_sent, *c_nak_access_recv;
	uint64_t *c_retransmits, *c_timeouts, *c_dup_pkts, *c_acks_sent;
	uint64_t *c_acks_recv, *c_cqes, *c_qp_errors, *c_reg_pages;
	uint64_t *c_read_resp_sent, *c_wqe_fetch, *c_out_of_seq;
	uint64_t *c_qp_stalls, *c_fatal_faults;
	uint64_t *c_suspensions, *c_held, *c_held_nak, *c_susp_waits;
	uint64_t held_now;  /* packets in the hold buffer */
	bool paused;        /* frozen for a live migration (migrate.c) */
	GHashTable *tombs;  /* qpn -> struct nic_tomb: QPs migrated away
			     * whose frozen responder still answers */
	nic_serve_fn serve_fn; /* called once at the next request executed or
				* completion written (migrate.c) */
	void *serve_ctx;
	uint64_t *c_migr_rnr, *c_migr_drop;
	uint64_t *c_deregs, *c_dereg_cut;
	uint64_t *c_mw_binds, *c_mw_bind_errors, *c_mw_invalidations;
	uint64_t *c_atomics, *c_nak_inv_sent, *c_misaligned;
	struct hist *h_suspend_ns;
	struct hist *h_reg_time, *h_stall_ns, *h_dereg_time;
	struct hist *h_rnr_wait_ns, *h_ack_timeout_ns;
};

/*
 * A payload DMA of @mr at @va (translated by nic_mr_translate): over PCIe,
 * through the IOMMU when there is one (an SVA MR's translation was got by
 * ATS in nic_mr_translate: its DMA goes out translated).  With no IOMMU
 * this is one predictable branch.
 */
/* mr.c: @mr now belongs to @nic (a migration swapped the NICs' functions):
 * its DMA goes through that NIC's IOMMU */
void nic_mr_move(struct nic_mr *mr, struct nic *nic);
/* mr.c: the same through the IOMMU (out of line: off the hot path) */
sim_time_t nic_dma_read_io(const struct nic_mr *mr, sim_time_t t,
			   uint64_t bytes, uint64_t va);
sim_time_t nic_dma_write_io(const struct nic_mr *mr, sim_time_t t,
			    uint64_t bytes, uint64_t va);

static inline sim_time_t nic_dma_read(struct nic *nic, sim_time_t t,
				      uint64_t bytes, const struct nic_mr *mr,
				      uint64_t va)
{
	if (G_UNLIKELY(mr->dma_io != NULL))
		return nic_dma_read_io(mr, t, bytes, va);
	return pcie_dma_read_at(nic->pcie, t, bytes);
}

static inline sim_time_t nic_dma_write(struct nic *nic, sim_time_t t,
				       uint64_t bytes, const struct nic_mr *mr,
				       uint64_t va)
{
	if (G_UNLIKELY(mr->dma_io != NULL))
		return nic_dma_write_io(mr, t, bytes, va);
	return pcie_dma_write_at(nic->pcie, t, bytes);
}

/* The NIC did work: a request executed or a completion written (the first
 * after a migration's resume ends its downtime: nic_on_serve). */
static inline void nic_note_served(struct nic *nic)
{
	if (G_UNLIKELY(nic->serve_fn != NULL)) {
		nic_serve_fn fn = nic->serve_fn;
		nic->serve_fn = NULL;
		fn(nic->serve_ctx, nic);
	}
}

/* nic.c */
void nic_tx_kick(struct nic *nic);
void nic_qp_activate(struct nic_qp *qp);
void nic_queue_response(struct nic *nic, struct pkt *p, sim_time_t ready);
struct pkt *nic_pkt_new(struct nic_qp *qp, uint8_t opcode);
void nic_rx(void *ctx, struct pkt *p);
sim_time_t nic_cycles(const struct nic *nic, uint64_t n);

/* mr.c: memory keys (see struct nic), then translation through the MPT
 * and MTT caches */
uint32_t nic_mkey_alloc(struct nic *nic);
void nic_mkey_free(struct nic *nic, uint32_t key);
#define NIC_MKEY_INDEX(key) ((key) >> 8)
#define NIC_MKEY_VARIANT(key) ((key) & 0xffu)
struct nic_mr *nic_mr_by_key(struct nic *nic, uint32_t key);
enum xlate_status { XLATE_OK, XLATE_FAULT, XLATE_ACCESS, XLATE_SUSPENDED };
/* Translate [va, va+len) of @mr for an access needing @access; adds the
 * cost of cache hits/misses to *t (the time the lookup starts, advanced
 * to when the translations are known). */
enum xlate_status nic_mr_translate(struct nic_mr *mr, uint64_t va,
				   uint64_t len, unsigned access,
				   sim_time_t *t, uint64_t *fault_va);
/* What a remote @access through window @mw (NULL: the MR's own key)
 * needs of the MR under it: a window's rights stand for the MR's remote
 * ones, and a writable window needs the MR's local write (C10-74). */
unsigned nic_mr_access_via(const struct nic_mw *mw, unsigned access);
/* The grant @rkey gives @qp for [va, va+len) with @access (the MPT
 * cache cost into *t): the key is an MR's of the QP's PD or a valid
 * window's (type 1: of the PD; type 2: bound through this QP), its
 * rights include @access and the range lies inside what it opens.
 * false: a remote access error. */
bool nic_rkey_grant(struct nic_qp *qp, uint32_t rkey, uint64_t va,
		    uint64_t len, unsigned access, sim_time_t *t,
		    struct nic_grant *g);
/* Is the grant a message started with still valid (its window not
 * rebound or invalidated, its MR not deregistered)? */
bool nic_grant_live(const struct nic_grant *g);
/* Invalidate window @rkey for @qp (LOCAL_INV, or a peer's
 * SEND_WITH_INV received on @qp): a valid type 2 window bound through
 * @qp; @done_at gets when the DMA issued through it has landed.  false:
 * nothing done (wrong key, type or QP). */
bool nic_mw_invalidate(struct nic_qp *qp, uint32_t rkey, sim_time_t *done_at);
/* Execute a bind WQE of @qp (type 1 or 2); the WC status. */
enum nic_wc_status nic_mw_bind_exec(struct nic_qp *qp,
				    const struct nic_mw_bind *b);
bool nic_mr_contains(const struct nic_mr *mr, uint64_t va, uint64_t len);

/* qp.c */
/* Rings (CQ, SQ, RQ, prepared packets) start small and double, up to
 * their configured depth, when full: an idle QP costs its few slots, not
 * its depth.  Capacities are powers of two, so indices are masked. */
#define NIC_RING_MIN 16u
void nic_ring_grow(void **ring, uint32_t *cap, uint32_t *head, uint32_t count,
		   size_t elem);
/* The prepared packet at offset @k from the head of @qp's tx ring. */
static inline struct txslot *nic_tx_at(const struct nic_qp *qp, uint32_t k)
{
	return &qp->txring[(qp->tx_head + k) & (qp->tx_cap - 1)];
}
/* Drop what @qp has prepared to send (go-back-N, errors, migration). */
void nic_tx_drop(struct nic_qp *qp);
void nic_cq_push(struct nic_cq *cq, const struct nic_wc *wc, sim_time_t at);
void nic_qp_error(struct nic_qp *qp, enum nic_wc_status first_status);
void nic_qp_resume(struct nic_qp *qp);
/*
 * A page fault as the NIC reports it to the driver: what an mlx5 page-fault
 * EQE carries (drivers/infiniband/hw/mlx5/odp.c, mlx5_ib_eq_pf_process).
 * The driver turns it into a WQE, RDMA or MEMORY event by its
 * fault_scheme.
 */
struct pf_report {
	struct nic_mr *mr;
	struct nic_qp *qp;     /* the QP the fault stops */
	bool requester;        /* locally triggered (a WQE's own buffer) */
	bool rdma;             /* a responder RDMA READ/WRITE target */
	bool read_scatter;     /* requester: placing a READ response */
	uint64_t va;           /* where the operation goes on from: RDMA:
				* rdma_va + bytes_committed; WQE: the data
				* segment's address + bytes_committed */
	uint64_t len;          /* what is left of it: RDMA: rdma_op_len -
				* bytes_committed (0: unknown); WQE: the data
				* segment's bytes left */
	uint64_t committed;    /* bytes_committed */
	uint32_t packet;       /* packet_size */
	uint64_t fault_va;     /* the page the NIC found not present */
	uint64_t access_end;   /* end of the access that faulted */
	bool write;
	sim_time_t t;          /* detected */
};

/* A requester-side fault (@r->qp stalls until the driver resumes it). */
void nic_qp_stall(const struct pf_report *r);
void nic_qp_wait_suspended(struct nic_qp *qp);

/* odp.c: the NIC reports a page fault (the EQE it writes) */
void driver_page_fault(struct driver *drv, const struct pf_report *r);
/* odp.c -> the NIC: PAGE_FAULT_RESUME of the QP @r named (error: the
 * fault could not be resolved) */
void nic_pf_resume(const struct pf_report *r, bool error);
/* driver.c: a deregistration's revoke (system call and mkey revoke or
 * destroy: after it the NIC does no DMA through the MR), then when its
 * tear-down (unmapping - with an IOMMU, its invalidations - and
 * unpinning) started at @t ends, and the mkey handed back */
sim_time_t driver_dereg_revoke(struct driver *drv, struct nic_mr *mr);
sim_time_t driver_dereg_teardown(struct driver *drv, struct nic_mr *mr,
				 sim_time_t t);
void driver_dereg_mkey(struct driver *drv, struct nic_mr *mr);
struct nic_wqe *nic_sq_at(struct nic_qp *qp, uint32_t off);
enum nic_wc_opcode nic_wc_opcode_of(enum nic_wr_opcode op);

/* req.c */
void req_fill(struct nic_qp *qp);
void req_doorbell(struct nic_qp *qp);
void req_rewind(struct nic_qp *qp, uint32_t psn);
uint32_t req_wqe_npkts(const struct nic_qp *qp, const struct nic_wqe *w);

/* resp.c */
/* true when the responder kept @p (held for a suspended page) */
bool resp_rx(struct nic_qp *qp, struct pkt *p, bool replay);
/* PAGE_FAULT_RESUME of a responder page fault (error: the retried
 * request gets a remote access error NAK). */
void resp_pf_resume(struct nic_qp *qp, bool error);
/* A suspended range of @mr was resumed: release what waited for it. */
void nic_mr_resumed(struct nic_mr *mr);

/* The NIC is frozen for a migration: @qp's responder answers the next
 * expected request with an RNR NAK and drops the rest (its held packets
 * too). */
void resp_paused(struct nic_qp *qp, struct pkt *p);
void resp_flush_held(struct nic_qp *qp);

/* migrate.c: a request for a QP that migrated away from this NIC; true
 * when it was answered (an RNR NAK), false: drop it */
bool nic_tomb_rx(struct nic *nic, const struct pkt *p);

/* comp.c */
void comp_rx(struct nic_qp *qp, struct pkt *p);
void comp_arm_timer(struct nic_qp *qp);
void comp_rnr_wait(struct nic_qp *qp, sim_time_t until, uint32_t psn);
/* Complete what is done at the head of @qp's SQ (a local operation
 * executed with nothing outstanding before it). */
void comp_retire(struct nic_qp *qp);


/* mr.c (continued) */
/* Something that will use @mr later (a fault being resolved, a scheduled
 * event) holds it: a deregistration waits for the release. */
void nic_mr_hold(struct nic_mr *mr);
void nic_mr_release(struct nic_mr *mr);
/* A notification or a resize of @mr ended: a deregistration waiting for
 * it may finish. */
void nic_mr_dereg_check(struct nic_mr *mr);
/* Tell the oracle what @mr's key opens now (registration, resize). */
void nic_mr_regrant(struct nic_mr *mr);
uint64_t nic_mr_pfn(const struct nic_mr *mr, uint64_t va);
void nic_mr_flush(struct nic_mr *mr, uint64_t first, uint64_t last);
void nic_mr_watch_schedule(struct nic_mr *mr, uint64_t end, sim_time_t at);

#endif
