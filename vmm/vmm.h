/*
 * vmm/vmm.h - the host virtual memory manager: physical frames, page
 * tables, address spaces and VMAs, page faults, reclaim, page moves, pin
 * counts, reservations, the notifier (suspend/resume) interface and ELF
 * process images.
 *
 * One struct vmm per host.  Everything that takes simulated time (faults,
 * pinning that faults, reclaim, moves) completes through an event at the
 * simulated instant it is done; everything else is immediate.  Simulated
 * errors (segmentation faults, out of memory, moves of pinned pages) are
 * statuses, counters and trace records, never aborts.  Configuration and
 * I/O errors (ELF images) are GErrors naming the file.
 *
 * Counters, each prefixed by the host name ("a.vmm.faults.minor"):
 * vmm.faults.minor, vmm.faults.major, vmm.segv, vmm.reclaim.pages,
 * vmm.reclaim.skipped_pinned, vmm.reclaim.writebacks, vmm.moves,
 * vmm.move_failed_pinned, vmm.invalidations, vmm.oom, vmm.resident_pages,
 * vmm.pinned_pages, vmm.committed_pages, vmm.commit_failed, vmm.cow_copies,
 * vmm.huge.collapses, vmm.huge.splits, vmm.huge.split_failed_pinned,
 * vmm.swap.pages.
 */
#ifndef VMM_VMM_H
#define VMM_VMM_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "sim/config.h"
#include "sim/sim.h"

#define VMM_PAGE_SHIFT 12
#define VMM_PAGE_SIZE (1ULL << VMM_PAGE_SHIFT)
#define VMM_HUGE_SHIFT 21
#define VMM_HUGE_SIZE (1ULL << VMM_HUGE_SHIFT)
#define VMM_HUGE_PAGES (VMM_HUGE_SIZE / VMM_PAGE_SIZE) /* 512 */
#define VMM_VA_BITS 48
#define VMM_NO_PFN UINT64_MAX

/* [vmm] / [vmm NAME] parameters. */
struct vmm_config {
	sim_time_t dram_latency;      /* one memory access of a page walk */
	uint64_t walk_levels;         /* memory accesses of a 4 KiB walk */
	sim_time_t minor_fault_time;  /* mean CPU service of a minor fault */
	sim_time_t major_fault_time;  /* mean CPU service of a major fault */
	double fault_jitter;          /* share of the service time that is
				       * exponentially distributed */
	sim_time_t swap_latency;      /* device access latency */
	uint64_t swap_bandwidth;      /* bits/s */
	uint64_t swap_size;           /* bytes of swap space */
	double watermark_low;         /* free share that wakes the reclaimer */
	double watermark_high;        /* free share at which it sleeps */
	sim_time_t reclaim_scan_time; /* CPU per frame the clock looks at */
	uint64_t reclaim_batch;       /* evictions in flight at once */
	sim_time_t pin_time;          /* CPU per small page pinned */
	sim_time_t pin_huge_time;     /* CPU per PMD-mapped huge page pinned */
	sim_time_t unpin_time;        /* CPU per small page unpinned */
	sim_time_t unpin_huge_time;   /* CPU per huge page unpinned */
	uint64_t copy_bandwidth;      /* bits/s of a page copy */
	bool huge_pages;              /* transparent huge pages on faults */
	int frame_order;              /* enum frame_order (vmm/frame.h) */
	uint64_t numa_nodes;
	char *image;                  /* ELF image of the host's process */
};

extern const struct param_table vmm_params;

#define VMM_ERROR (vmm_error_quark())
GQuark vmm_error_quark(void);

struct vmm;
struct vmm_as;
struct vmm_sub;

/* ---- host ---- */

/* Values that are valid one by one but not together: NULL when fine, else
 * a message (static) and *key the parameter to blame. */
const char *vmm_config_check(const struct vmm_config *cfg, const char **key);

struct vmm *vmm_new(struct sim *sim, const char *host_name,
		    uint64_t memory_bytes, const struct vmm_config *cfg);
/* Frees everything, subscriptions included, without calling anyone back;
 * operations still in flight are dropped (the run is over). */
void vmm_free(struct vmm *vmm);
const struct vmm_config *vmm_config(const struct vmm *vmm);
uint64_t vmm_total_frames(const struct vmm *vmm);
uint64_t vmm_free_frames(const struct vmm *vmm);
/* NUMA node of a frame (frames are split evenly between nodes). */
unsigned vmm_frame_node(const struct vmm *vmm, uint64_t pfn);

/* ---- address spaces and VMAs ---- */

enum vmm_prot {
	VMM_PROT_READ = 1,
	VMM_PROT_WRITE = 2,
	VMM_PROT_EXEC = 4,
};

enum vmm_vma_kind {
	VMM_VMA_ANON,      /* zero-fill on first touch, swap-backed */
	VMM_VMA_FILE,      /* file-backed: page-cache hit on first touch,
			    * dropped clean on reclaim, major fault after */
	VMM_VMA_FILE_PRIV, /* private file mapping (ELF data): page-cache
			    * hit on first touch, then anonymous */
};

struct vmm_vma_info {
	uint64_t start, end; /* [start, end), page-aligned */
	unsigned prot;
	enum vmm_vma_kind kind;
	const char *name;    /* "anon", ".text" ... owned by the VMA */
};

struct vmm_as *vmm_as_new(struct vmm *vmm, const char *name);
/* Tear down: unmaps everything (with invalidations), then frees. */
void vmm_as_free(struct vmm_as *as);
uint32_t vmm_as_id(const struct vmm_as *as);
struct vmm_as *vmm_as_by_id(struct vmm *vmm, uint32_t id);
/* Address spaces made so far: ids 1 .. vmm_as_count(). */
uint32_t vmm_as_count(const struct vmm *vmm);
struct vmm_as *vmm_as_find(struct vmm *vmm, const char *name);
struct vmm *vmm_as_vmm(const struct vmm_as *as);
const char *vmm_as_name(const struct vmm_as *as);
void vmm_as_set_node(struct vmm_as *as, unsigned node);

/* Map [va, va+len) (page-aligned, inside 48-bit space, not overlapping). */
bool vmm_mmap(struct vmm_as *as, uint64_t va, uint64_t len, unsigned prot,
	      enum vmm_vma_kind kind, GError **error);
/* A free page-aligned range of @len, for callers that do not care where. */
uint64_t vmm_mmap_anywhere(struct vmm_as *as, uint64_t len, unsigned prot,
			   enum vmm_vma_kind kind, GError **error);
/* Unmap (the range may split VMAs).  Invalidates, then frees frames
 * (a pinned frame stays allocated, without owner, until its last unpin). */
void vmm_munmap(struct vmm_as *as, uint64_t va, uint64_t len);
/* Drop the pages (the VMA stays; next touch zero-fills). */
void vmm_madvise_dontneed(struct vmm_as *as, uint64_t va, uint64_t len);
/* Copy-on-write fork: the child shares every present page read-only;
 * the parent's writable pages are write-protected (invalidation "cow"). */
struct vmm_as *vmm_fork(struct vmm_as *parent, const char *child_name);
/* Map the PT_LOAD segments of an ELF file; returns the number of VMAs
 * created (>= 1) or 0 with @error naming the file. */
unsigned vmm_load_elf(struct vmm_as *as, const char *path, GError **error);

unsigned vmm_vma_count(const struct vmm_as *as);
bool vmm_vma_get(const struct vmm_as *as, unsigned i,
		 struct vmm_vma_info *out);
/* The VMA holding @va, or false. */
bool vmm_vma_find(const struct vmm_as *as, uint64_t va,
		  struct vmm_vma_info *out);

/* ---- translation ---- */

/*
 * Translate without faulting: true and *pfn (the 4 KiB frame) when the
 * page is present and (for @write) writable; sets the accessed (and dirty)
 * bits like a CPU access.
 */
bool vmm_lookup(struct vmm_as *as, uint64_t va, bool write, uint64_t *pfn);
/* Modelled cost of the page-table walk of @va: the levels the walk reads
 * times the DRAM latency (one level fewer under a huge leaf). */
sim_time_t vmm_walk_cost(const struct vmm_as *as, uint64_t va);

/* ---- faults ---- */

enum vmm_fault_status {
	VMM_FAULT_PRESENT, /* already present: no fault was taken */
	VMM_FAULT_MINOR,   /* zero-fill, page-cache hit or COW copy */
	VMM_FAULT_MAJOR,   /* swap-in or file read from the device */
	VMM_FAULT_SEGV,    /* outside every VMA or not permitted */
	VMM_FAULT_OOM,     /* no frame and nothing reclaimable */
	VMM_FAULT_NSTATUS
};
extern const char *const vmm_fault_status_names[];

static inline bool vmm_fault_ok(int status)
{
	return status <= VMM_FAULT_MAJOR;
}

typedef void (*vmm_fault_done_fn)(void *ctx, int status, uint64_t pfn);

/* Resolve @va; @done runs in an event at the simulated time the page is
 * present (or the fault failed).  Never calls @done before returning. */
void vmm_fault_in(struct vmm_as *as, uint64_t va, bool write,
		  vmm_fault_done_fn done, void *ctx);

/* ---- memory content of words (NIC atomics) ----
 *
 * The simulator keeps no page bytes (a version tag per page is what the
 * oracle checks), so the 8-byte words an RDMA atomic reads and writes
 * have a store of their own: a hash per address space, by virtual
 * address, so a word follows its page through moves, reclaim and swap;
 * unmapping drops it; 0 until written.  Touched by atomics only (a few
 * Mops at most: Husky measures ~5 Mrps), never on the data path of
 * WRITE, READ or SEND.
 */
uint64_t vmm_word_get(struct vmm_as *as, uint64_t va);
void vmm_word_set(struct vmm_as *as, uint64_t va, uint64_t v);

/* ---- pinning and reservations ---- */

/* Fault in (if needed) and pin every page of [va, va+len), as
 * pin_user_pages(FOLL_LONGTERM) does; @done gets the first failing status
 * or VMM_FAULT_PRESENT/MINOR/MAJOR (the worst fault taken) and the number
 * of 4 KiB pages pinned, at now + faults + pin_time per small page +
 * pin_huge_time per huge page met (gup's fast path takes a PMD-mapped THP
 * in one grab).  On failure, the pages already pinned are unpinned. */
typedef void (*vmm_pin_done_fn)(void *ctx, int status, uint64_t npages);
void vmm_pin(struct vmm_as *as, uint64_t va, uint64_t len, bool write,
	     vmm_pin_done_fn done, void *ctx);
/* Fault in every page of [va, va+len) without pinning (MAP_POPULATE, or
 * the first touch of a memset): @done as vmm_pin's, at the end of the
 * last fault; pages already present cost nothing. */
void vmm_populate(struct vmm_as *as, uint64_t va, uint64_t len, bool write,
		  vmm_pin_done_fn done, void *ctx);
/* Drop one pin of each present page of the range. */
void vmm_unpin(struct vmm_as *as, uint64_t va, uint64_t len);
/* What unpinning [va, va+len) costs the CPU (unpin_time per small page,
 * unpin_huge_time per huge page mapped there), without doing it. */
sim_time_t vmm_unpin_cost(const struct vmm_as *as, uint64_t va,
			  uint64_t len);
/* Drop one pin of each frame (for callers that kept the frame list). */
void vmm_unpin_frames(struct vmm *vmm, const uint64_t *pfns, uint64_t n);
uint32_t vmm_frame_pins(const struct vmm *vmm, uint64_t pfn);

/*
 * Commit [va, va+len) (inside VMAs): frames are reserved for every page
 * not yet resident, and resident pages become unreclaimable (compaction
 * may still move them).  False, counted (vmm.commit_failed), when that is
 * more than free memory can give.  Faults draw from the reservation.
 */
bool vmm_commit(struct vmm_as *as, uint64_t va, uint64_t len);
void vmm_uncommit(struct vmm_as *as, uint64_t va, uint64_t len);
/* ---- footprints (vmm/footprint.c) ---- */

/* Pages an address space, or a watched range of one, holds, now and at
 * the peak: resident (a frame attached), pinned and committed (its own
 * frames that are), swapped (its entry holds a local swap slot; the
 * host's vmm.swap.pages also counts the slots of writebacks and swap-ins
 * in flight, whose pages are resident meanwhile). */
enum vmm_fp_kind { VMM_FP_RESIDENT, VMM_FP_PINNED, VMM_FP_COMMITTED,
		   VMM_FP_SWAPPED, VMM_FP_NKINDS };
extern const char *const vmm_fp_names[]; /* "resident", ... */
struct vmm_fp {
	uint64_t now[VMM_FP_NKINDS];
	uint64_t peak[VMM_FP_NKINDS];
};
const struct vmm_fp *vmm_as_footprint(const struct vmm_as *as);
/* Keep the footprint of [va, va+len) of @as from now on (an MR's; the
 * peak starts at what it holds now).  The address space owns it. */
struct vmm_fp_range;
struct vmm_fp_range *vmm_fp_watch(struct vmm_as *as, uint64_t va,
				  uint64_t len);
const struct vmm_fp *vmm_fp_range_get(const struct vmm_fp_range *r);
/* The same figures counted from the page table now (no peak). */
void vmm_fp_scan(struct vmm_as *as, uint64_t va, uint64_t len,
		 uint64_t out[VMM_FP_NKINDS]);

/* The frames of [va, va+len) as the DMA API sees them: @fn(ctx, va,
 * pfn, pages) once per run of present pages that are both virtually and
 * physically contiguous (a huge page is one run or part of one), in
 * address order; no accessed bit is touched.  Returns the pages not
 * present. */
typedef void (*vmm_run_fn)(void *ctx, uint64_t va, uint64_t pfn,
			   uint64_t pages);
uint64_t vmm_frame_runs(const struct vmm_as *as, uint64_t va, uint64_t len,
			vmm_run_fn fn, void *ctx);

/* Is the page of @va committed (a frame reserved or held for it)? */
bool vmm_page_committed(struct vmm_as *as, uint64_t va);
/* The frame of @va if present, without touching accessed/dirty bits
 * (vmm_lookup is a CPU access; the oracle must not be one). */
bool vmm_page_frame(const struct vmm_as *as, uint64_t va, uint64_t *pfn);
/* The content version of the page of @va, resident or swapped out;
 * false when the page has no content (never touched, dropped). */
bool vmm_page_version(const struct vmm_as *as, uint64_t va,
		      uint64_t *version);
uint64_t vmm_reserved_frames(const struct vmm *vmm);

/* ---- the notifier ---- */

enum vmm_sub_mode { VMM_SUB_INVALIDATE, VMM_SUB_SUSPEND };

enum vmm_reason {
	VMM_REASON_MOVE_COMPACTION,
	VMM_REASON_MOVE_NUMA,
	VMM_REASON_HUGE_COLLAPSE,
	VMM_REASON_HUGE_SPLIT,
	VMM_REASON_RECLAIM,
	VMM_REASON_MUNMAP,
	VMM_REASON_DONTNEED,
	VMM_REASON_COW,
	VMM_REASON_MIGRATION,
	VMM_REASON_N
};
extern const char *const vmm_reason_names[];

/* A move reason (suspend/resume applies) or not (always invalidate). */
static inline bool vmm_reason_is_move(enum vmm_reason r)
{
	return r <= VMM_REASON_HUGE_SPLIT || r == VMM_REASON_MIGRATION;
}

struct vmm_notifier_ops {
	/* The VMM touches none of [start, end) until vmm_notifier_ack(sub,
	 * token) (now, or later in simulated time). */
	void (*invalidate_start)(struct vmm_sub *sub, uint64_t start,
				 uint64_t end, enum vmm_reason reason,
				 uint64_t token, void *ctx);
	void (*invalidate_end)(struct vmm_sub *sub, uint64_t start,
			       uint64_t end, void *ctx);
	/* SUSPEND mode, moves only: hold access, ack like invalidate_start */
	void (*suspend)(struct vmm_sub *sub, uint64_t start, uint64_t end,
			enum vmm_reason reason, uint64_t token, void *ctx);
	/* new_pfns[i] is the frame of page start + i*4KiB (VMM_NO_PFN if the
	 * move of that page failed and it is gone; normally the old frame
	 * when the move failed and the page stayed). */
	void (*resume)(struct vmm_sub *sub, uint64_t start, uint64_t end,
		       const uint64_t *new_pfns, void *ctx);
};

struct vmm_sub *vmm_notifier_register(struct vmm_as *as, uint64_t va,
				      uint64_t len, enum vmm_sub_mode mode,
				      const struct vmm_notifier_ops *ops,
				      void *ctx);
/* Unregistering with acknowledgements outstanding acknowledges them. */
void vmm_notifier_unregister(struct vmm_sub *sub);
void vmm_notifier_ack(struct vmm_sub *sub, uint64_t token);
/* mmu_interval_read_begin / mmu_interval_read_retry: the count is odd
 * while an invalidation of the subscription's range is in progress. */
uint64_t vmm_notifier_read_begin(const struct vmm_sub *sub);
bool vmm_notifier_read_retry(const struct vmm_sub *sub, uint64_t seq);

/* ---- page moves ---- */

/* Move the page in frame @pfn to a free frame (on @node, or any node when
 * node < 0) through the notifier; @done(ctx, ok, new_pfn) runs at the
 * simulated end of the move.  False (and no callback) when the move
 * cannot start: free/unowned/busy frame, shared COW page, no free frame,
 * or a pinned page (counted in vmm.move_failed_pinned). */
typedef void (*vmm_move_done_fn)(void *ctx, bool ok, uint64_t new_pfn);
bool vmm_move_frame(struct vmm *vmm, uint64_t pfn, int node,
		    enum vmm_reason reason, vmm_move_done_fn done, void *ctx);
/* One step of compaction over frames [lo, hi): the migrate scanner takes
 * the next movable page from the bottom, the free scanner a free frame
 * from the top.  False when no pair was found this round. */
bool vmm_compact_step(struct vmm *vmm, uint64_t lo, uint64_t hi,
		      vmm_move_done_fn done, void *ctx);
/* Collapse the 2 MiB-aligned region holding @va (512 resident small pages)
 * into one huge frame; split a huge page back into small PTEs (false,
 * counted in vmm.huge.split_failed_pinned, when a page of it is pinned:
 * the kernel does not split a pinned folio). */
bool vmm_huge_collapse(struct vmm_as *as, uint64_t va,
		       vmm_move_done_fn done, void *ctx);
bool vmm_huge_split(struct vmm_as *as, uint64_t va);
/* One step of a khugepaged: collapse the next 2 MiB region (of every
 * address space's anonymous writable VMAs, round robin) that can be
 * collapsed; when none of the regions looked at can, for want of a free
 * 2 MiB block, run compaction steps over the host instead.  True when a
 * collapse or a move started. */
bool vmm_khugepaged_step(struct vmm *vmm, vmm_move_done_fn done, void *ctx);

/* ---- reclaim ---- */

/* Wake the reclaimer (it also wakes on the low watermark by itself). */
void vmm_reclaim_kick(struct vmm *vmm);
/* Tests: evict up to @n pages now through the clock, asynchronously. */
uint64_t vmm_reclaim_force(struct vmm *vmm, uint64_t n);

/* ---- for the correctness oracle ---- */

#define VMM_AS_NONE 0u
/* Owner of a frame: false when free or orphaned (pinned after munmap). */
bool vmm_frame_owner(const struct vmm *vmm, uint64_t pfn, uint32_t *as_id,
		     uint64_t *vpn);
uint64_t vmm_frame_version(const struct vmm *vmm, uint64_t pfn);
/* Setting a version is a write: the frame becomes dirty. */
void vmm_frame_set_version(struct vmm *vmm, uint64_t pfn, uint64_t version);
/* The oracle's settle in one call: does frame @pfn still hold page @vpn
 * of address space @as_id?  If so and @write, it now holds @version (as
 * vmm_frame_set_version). */
bool vmm_frame_settle(struct vmm *vmm, uint64_t pfn, uint32_t as_id,
		      uint64_t vpn, bool write, uint64_t version);
void vmm_mark_dirty(struct vmm *vmm, uint64_t pfn);
bool vmm_frame_dirty(const struct vmm *vmm, uint64_t pfn);

enum vmm_frame_event {
	VMM_FRAME_MOVED,     /* content copied away, frame about to be freed */
	VMM_FRAME_RECLAIMED, /* evicted */
	VMM_FRAME_FREED,     /* munmap, DONTNEED, COW break, unpin of orphan */
	VMM_FRAME_TAKEN,     /* a free frame is about to get an owner */
	VMM_FRAME_SYNC,      /* no frame (FRAME_NIL): content is read now
			      * (a migration copies pages) */
	VMM_FRAME_COPYING,   /* a move's copy or a reclaim's write-back
			      * starts reading the frame: what lands in it
			      * from now on is not in the copy (the frame
			      * is then only ever discarded) */
	VMM_FRAME_KEPT,      /* that copy was abandoned: the page stays */
};
/* Called just before a frame changes owner: when it goes, and when a
 * free frame is taken (a frame freed and taken again at once must not
 * look, to a late DMA, as if it had never changed hands). */
typedef void (*vmm_frame_hook_fn)(void *ctx, uint64_t pfn,
				  enum vmm_frame_event ev);
void vmm_set_frame_hook(struct vmm *vmm, vmm_frame_hook_fn fn, void *ctx);

/* ---- live migration (vmm/migrate.c) ---- */

/* A page named across address spaces: address-space id and page number
 * (the oracle's key too). */
#define VMM_PAGE_KEY(as_id, vpn) (((uint64_t)(as_id) << 40) | (vpn))
#define VMM_KEY_AS(key) ((uint32_t)((key) >> 40))
#define VMM_KEY_VPN(key) ((key) & ((1ULL << 40) - 1))

/*
 * The dirty log (KVM's dirty bitmap, as a set): from start, every page a
 * CPU writes is logged, and every page a NIC DMA write lands in when @dma
 * (the device reports its writes: IOMMU dirty bits or a device dirty
 * tracker).  Without it, a NIC write to a page already copied is missed.
 */
void vmm_dirty_log_start(struct vmm *vmm, bool dma);
void vmm_dirty_log_stop(struct vmm *vmm);
/* The keys logged since the start or the last harvest, ascending; the
 * log starts afresh.  The caller frees the array. */
GArray *vmm_dirty_log_harvest(struct vmm *vmm);
/* Sort page keys and drop repeats. */
void vmm_keys_sort_unique(GArray *keys);
/* Keys of every page with a frame (each 4 KiB of a huge page), ascending. */
GArray *vmm_resident_keys(struct vmm *vmm);
/* Content version of page @key (in a frame, swap or remote slot). */
bool vmm_key_version(struct vmm *vmm, uint64_t key, uint64_t *version);
/* The page @key, if it has a frame, holds @version from now on (what the
 * migration destination received); no dirty logging. */
void vmm_key_set_version(struct vmm *vmm, uint64_t key, uint64_t version);
/* Everything that has landed by now is part of the frames' content (the
 * frame hook runs: the oracle settles its records). */
void vmm_sync(struct vmm *vmm);
/* The VMM's address space of @key and the page's address. */
struct vmm_as *vmm_key_as(struct vmm *vmm, uint64_t key, uint64_t *va);

/* Post-copy.  A fault on a remote page asks @fn for the page: @fn returns
 * when it arrives, given when the fault handler is ready to ask. */
typedef sim_time_t (*vmm_remote_fn)(void *ctx, sim_time_t ask);
void vmm_set_remote(struct vmm *vmm, vmm_remote_fn fn, void *ctx);
/* Every page with a frame that is not pinned, shared or busy gives up its
 * frame: its content stays on the source (a remote slot).  Keys made
 * remote go to @remote, the others (copied before resuming) to @kept. */
void vmm_make_remote(struct vmm *vmm, GArray *remote, GArray *kept);
/* Is page @va of @as still remote? */
bool vmm_page_remote(const struct vmm_as *as, uint64_t va);
/* Remote pages not yet fetched. */
uint64_t vmm_remote_left(const struct vmm *vmm);

/* ---- measurements ---- */

/* Bytes of page-table nodes of an address space. */
uint64_t vmm_pt_bytes(const struct vmm_as *as);
/* Bytes of VMM state per frame (struct frame). */
size_t vmm_frame_state_bytes(void);
/* Check internal invariants (frame counts, owners, PTEs); g_assert. */
void vmm_check(struct vmm *vmm);

#endif
