/*
 * vmm/vmm_int.h - state shared by the files of vmm/ (not a public API).
 *
 * struct vmm is one host's memory: the frame array and allocator, swap
 * slots, the reclaimer's clock, the compaction scanners, pools of fault
 * requests and invalidation operations, and the counters.  struct vmm_as is
 * one address space: a sorted array of VMAs, a page table, its notifier
 * subscriptions.
 */
#ifndef VMM_VMM_INT_H
#define VMM_VMM_INT_H

#include <glib.h>

#include "sim/rng.h"
#include "sim/sim.h"
#include "sim/trace.h"
#include "vmm/frame.h"
#include "vmm/pt.h"
#include "vmm/vmm.h"

struct vmm_vma {
	uint64_t start, end;
	unsigned prot;
	enum vmm_vma_kind kind;
	char *name;
};

struct vmm_as {
	struct vmm *vmm;
	uint32_t id;
	char *name;
	int node;          /* preferred NUMA node */
	GArray *vmas;      /* struct vmm_vma, sorted by start */
	struct pt pt;
	GPtrArray *subs;   /* struct vmm_sub * */
	struct vmm_fp fp;  /* its footprint (vmm/footprint.c) */
	GPtrArray *fp_ranges; /* struct vmm_fp_range *, watched, or NULL */
	GHashTable *words; /* va -> 8-byte value written by NIC atomics, or
			    * NULL (vmm_word_get) */
};

/* Footprint accounting (vmm/footprint.c): page @va of @as changed @k by
 * @d; a frame's change goes to its owner; a frame that passes to
 * another owner takes its pinned and committed state along. */
void vmm_fp_count(struct vmm_as *as, uint64_t va, enum vmm_fp_kind k,
		  int64_t d);
void vmm_fp_count_frame(struct vmm *vmm, uint64_t pfn, enum vmm_fp_kind k,
			int64_t d);
void vmm_fp_owner_change(struct vmm *vmm, uint64_t pfn, uint64_t new_owner);
/* vmm_check(): every watched range of @as holds what a scan counts. */
void vmm_fp_check_ranges(struct vmm_as *as);

struct vmm_sub {
	struct vmm_as *as;
	uint64_t start, end;
	enum vmm_sub_mode mode;
	const struct vmm_notifier_ops *ops;
	void *ctx;
	uint64_t seq;      /* odd while an invalidation is active */
	unsigned active;   /* invalidations in progress on it */
	unsigned refs;     /* 1 while registered + 1 per invalidation */
	bool dead;
};

struct vmm_inval;

/* What to do when every subscriber has acknowledged. */
typedef void (*inval_cont_fn)(struct vmm *vmm, struct vmm_inval *iv);

struct inval_ent {
	struct vmm_sub *sub;
	bool acked;
	bool suspended; /* got suspend (resume at end) */
};

struct vmm_inval {
	uint32_t id, gen;
	struct vmm_as *as;
	uint64_t start, end;
	enum vmm_reason reason;
	unsigned pending;
	struct inval_ent *ents;
	unsigned nents, capents;
	inval_cont_fn cont;
	/* the operation's own state */
	uint64_t pfn, dst, arg;
	void *obj;
	vmm_move_done_fn mdone;
	void *mctx;
	uint64_t *new_pfns; /* resume list (moves), npages entries */
	unsigned npages, cap_pfns;
	bool in_use, notifying;
	struct vmm_inval *next_free;
};

enum fault_kind { FK_NONE, FK_ZERO, FK_CACHE, FK_SWAP, FK_FILE, FK_COW,
		  FK_HUGE };

struct vmm_fault {
	struct vmm_as *as;
	uint64_t va;
	bool write;
	uint8_t kind;
	int status;
	uint64_t pfn;
	uint64_t slot;     /* swap slot being read */
	vmm_fault_done_fn done;
	void *ctx;
	sim_time_t start;
	struct vmm_fault *next;
};

struct hist; /* sim/stats.h (not included: its struct stat meets
	      * <sys/stat.h> in elf.c) */

struct vmm_counters {
	uint64_t *remote_faults;
	uint64_t *minor, *major, *segv, *reclaim, *skipped_pinned,
		*skipped_committed, *writebacks, *moves, *move_failed_pinned,
		*invalidations, *oom, *resident, *pinned, *committed,
		*commit_failed, *cow, *collapses, *splits, *swap_pages,
		*split_failed_pinned,
		*move_failed;
	struct hist *fault_lat; /* ps from vmm_fault_in to the page present */
};

struct vmm {
	struct sim *sim;
	char *name;
	uint16_t comp;
	struct vmm_config cfg;
	struct rng rng;
	struct frame_alloc fa;
	uint64_t reserved; /* frames promised to committed pages w/o frame */
	GPtrArray *as_by_id; /* index id - 1 */
	GHashTable *as_by_name; /* name -> the first address space of it */
	/* swap: version per slot, stack of free slots */
	uint64_t swap_slots, swap_top, swap_cap;
	uint64_t *swap_ver;
	uint32_t *swap_free;
	uint64_t swap_nfree;
	sim_time_t dev_busy_until;
	/* reclaim */
	uint64_t wm_low, wm_high;
	uint64_t clock_hand, clock_idle; /* frames looked at w/o progress */
	bool kswapd_on;
	unsigned evicting;
	/* compaction scanners */
	uint64_t mig_scan, free_scan;
	uint32_t khp_as;   /* khugepaged cursor: address space, va */
	uint64_t khp_va;
	/* shared (COW) frames: pfn -> GArray of as ids */
	GHashTable *sharers;
	/* pools */
	struct vmm_fault *fault_free;
	GPtrArray *fault_chunks;
	GHashTable *pin_reqs;    /* pins in progress (freed at teardown) */
	struct vmm_inval **ivs;  /* by id */
	uint32_t niv, capiv;
	struct vmm_inval *iv_free;
	/* waiting faults */
	struct vmm_fault *wait_frame, *wait_frame_tail;
	struct vmm_fault *wait_busy;
	bool waking;
	vmm_frame_hook_fn hook;
	void *hook_ctx;
	/* live migration (migrate.c): the dirty log, as a set of page keys,
	 * and pages whose content is still on the migration source */
	GHashTable *dlog;
	bool dlog_dma;     /* NIC DMA writes reach the log */
	uint64_t *remote_ver;
	uint64_t remote_top, remote_cap, remote_left;
	vmm_remote_fn remote_fn;
	void *remote_ctx;
	struct vmm_counters c;
};

/* A swap-slot number with this bit names a remote slot (post-copy): the
 * page's content is on the migration source, not in the swap device. */
#define VMM_REMOTE_SLOT (1ULL << 39)

static inline uint64_t vmm_slot_version(const struct vmm *vmm, uint64_t slot)
{
	return slot & VMM_REMOTE_SLOT
		       ? vmm->remote_ver[slot & ~VMM_REMOTE_SLOT]
		       : vmm->swap_ver[slot];
}

void vmm_remote_free(struct vmm *vmm, uint64_t slot);

/* A CPU (or the VMM) wrote frame @pfn: log its page (migrate.c). */
void vmm_dlog_pfn(struct vmm *vmm, uint64_t pfn);
static inline void vmm_dlog_write(struct vmm *vmm, uint64_t pfn)
{
	if (G_UNLIKELY(vmm->dlog != NULL))
		vmm_dlog_pfn(vmm, pfn);
}

/* vmm.c */
bool vmm_mmap_named(struct vmm_as *as, uint64_t va, uint64_t len,
		    unsigned prot, enum vmm_vma_kind kind, const char *name,
		    GError **error);
struct vmm_as *vmm_as_of_owner(struct vmm *vmm, uint64_t owner,
			       uint64_t *va);
const struct vmm_vma *vmm_vma_at(const struct vmm_as *as, uint64_t va);
uint64_t vmm_alloc_frame(struct vmm *vmm, int node, bool from_reserve);
void vmm_frame_gone(struct vmm *vmm, uint64_t pfn, enum vmm_frame_event ev);
void vmm_wake(struct vmm *vmm);
/* A trace record of page @va of @as (NULL: no address space). */
void vmm_trace(struct vmm *vmm, const struct vmm_as *as,
	       const struct trace_kind *k, uint64_t va, uint64_t pfn,
	       uint64_t len, const char *detail);
sim_time_t vmm_dev_xfer(struct vmm *vmm, uint64_t bytes);
sim_time_t vmm_copy_time(const struct vmm *vmm, uint64_t pages);
/* @as_id stops mapping shared frame @pfn; when it was the owner, the hook
 * sees @ev and another sharer becomes the owner. */
void vmm_sharer_remove(struct vmm *vmm, uint64_t pfn, uint32_t as_id,
		       enum vmm_frame_event ev);
void vmm_unmap_page_now(struct vmm_as *as, uint64_t va, uint64_t *pte,
			enum vmm_frame_event ev);
void vmm_split_now(struct vmm_as *as, uint64_t va);

/* notifier.c */
/* Take an invalidation operation from the pool; fill its op fields, then
 * vmm_inval_go() notifies the subscribers of the range; @cont runs when all
 * have acknowledged (at once, inside go, when none need to). */
struct vmm_inval *vmm_inval_new(struct vmm_as *as, uint64_t start,
				uint64_t end, enum vmm_reason reason,
				inval_cont_fn cont);
void vmm_inval_go(struct vmm *vmm, struct vmm_inval *iv);
/* new_pfns of the resume calls, sized to the range (pages) */
uint64_t *vmm_inval_pfns(struct vmm_inval *iv);
void vmm_inval_end(struct vmm *vmm, struct vmm_inval *iv);
void vmm_inval_pool_free(struct vmm *vmm);

/* reclaim.c */
void vmm_kswapd_maybe(struct vmm *vmm);
uint64_t vmm_swap_alloc(struct vmm *vmm);
void vmm_swap_free(struct vmm *vmm, uint64_t slot);
bool vmm_evict_start(struct vmm *vmm, uint64_t pfn);

/* fault.c */
void vmm_fail_frame_waiters(struct vmm *vmm);
void vmm_fault_start(struct vmm_fault *f);

#endif
