/*
 * nic/oracle.c - the correctness oracle (see oracle.h).
 *
 * Representation: one FIFO of in-flight DMA records per NIC and
 * direction, in the order the DMAs land (PCIe is FIFO per direction, so
 * landing times only grow); a record names the frame the NIC's
 * translation gave and the (address space, virtual page) the DMA meant.
 * Records are settled lazily, in landing order, whenever the NIC issues
 * another DMA, whenever the VMM is about to give a frame to someone else
 * (the VMM's frame hook, called before a move copies or reclaim saves the
 * content), and at the end of the run.  Settling a write checks that the
 * frame still belongs to the page: if so the frame's content version
 * becomes the write's; if not, the write is lost.  Settling a read that
 * finds the frame gone is a stale read.
 *
 * The last version written to each page is remembered for the end-of-run
 * check, in two places.  While the page stays in the frame the write
 * landed in, the record is in an array indexed by frame number (chunks of
 * ORACLE_CHUNK frames, allocated when a frame of the chunk is first
 * written).  When the frame leaves the page (the VMM's frame hook: a move,
 * reclaim, unmap) or a write is lost, the record goes to a side table
 * keyed by the page ((address space, page) number, VMM_PAGE_KEY), which
 * only those rarer events touch.  A frame record is always the newer of
 * the two for its page: a record only reaches the side table when the
 * page's frame record is cleared.
 *
 * Grants: a radix map (sim/idmap.h) from memory key to what the verbs
 * said it opens (address space, range, rights), written at registration,
 * resize, bind, invalidation and deregistration, read once per DMA: the
 * NIC's own key checks are what it verifies, so it never asks the NIC.
 *
 * Workload assumed: a DMA per packet; the FIFOs stay as short as the
 * DMAs in flight (a few dozen).  They are ring buffers of records with a
 * power-of-two capacity (indices are masked): nothing is allocated, no
 * hash table is probed and nothing is divided per DMA once the rings and
 * the chunks have grown.
 */
#include "nic/oracle.h"

#include <glib.h>
#include <stdio.h>

#include "nic/host.h"
#include "nic/nic_int.h"
#include "vmm/vmm.h"

struct dma_rec {
	sim_time_t at;
	uint64_t pfn;
	uint64_t vpn;
	uint64_t version;
	uint32_t as_id;
	uint32_t qpn, psn;
	struct vmm_as *as;
};

/* A FIFO of records in landing order, as a growable ring. */
struct dma_ring {
	struct dma_rec *v;
	uint32_t cap, head, len;
};

#define ORACLE_CHUNK_SHIFT 12
#define ORACLE_CHUNK (1u << ORACLE_CHUNK_SHIFT)

struct ogrant {
	struct vmm_as *as;
	uint64_t lo, hi;
	unsigned access;
};

struct oracle {
	struct nic *nic;
	struct vmm *vmm;
	struct idmap grants; /* key -> struct ogrant * */
	GPtrArray *grant_all;  /* every struct ogrant (owned) */
	GPtrArray *grant_free; /* revoked ones, for reuse */
	uint64_t *prot;
	struct dma_ring fifo[2]; /* [0] reads, [1] writes */
	/* last version landed on the page a frame holds, by frame number
	 * (0: none); chunks of ORACLE_CHUNK, NULL until written */
	uint64_t **frame_last;
	uint64_t nchunks;
	/* frames whose content a copy or write-back is reading (the VMM's
	 * VMM_FRAME_COPYING): a write landing there is lost; chunks like
	 * frame_last's, NULL until used; nsealed: how many now */
	uint8_t **sealed;
	uint64_t nseal_chunks, nsealed;
	/* VMM_PAGE_KEY -> last version landed, for pages whose record left
	 * its frame */
	GHashTable *page_last;
	uint64_t *lost, *stale, *final;
	bool strict;
	char *tripped;
};

static const struct trace_kind tk_lost = { "oracle_lost_write",
					   TRACE_INSTANT, NULL };
static const struct trace_kind tk_stale = { "oracle_stale_read",
					    TRACE_INSTANT, NULL };

static void oracle_violation(struct oracle *o, const struct dma_rec *r,
			     bool write)
{
	struct nic *nic = o->nic;
	uint64_t now_pfn = UINT64_MAX;
	vmm_page_frame(r->as, r->vpn << NIC_PAGE_SHIFT, &now_pfn);
	char *d = g_strdup_printf(
		"%s: qp %u psn %u page 0x%" G_GINT64_MODIFIER "x of as %u hit "
		"frame %" G_GUINT64_FORMAT ", the page is now in %s%"
		G_GUINT64_FORMAT,
		write ? "lost write" : "stale read", r->qpn, r->psn,
		r->vpn << NIC_PAGE_SHIFT, r->as_id, r->pfn,
		now_pfn == UINT64_MAX ? "no frame" : "frame ",
		now_pfn == UINT64_MAX ? 0 : now_pfn);
	sim_trace_as(nic->sim, nic->comp, write ? &tk_lost : &tk_stale,
		     vmm_as_name(r->as), r->qpn, r->psn, r->vpn << NIC_PAGE_SHIFT,
		     r->pfn, NIC_PAGE_SIZE, d);
	if (o->strict && !o->tripped) {
		o->tripped = g_strdup_printf(
			"oracle: t=%" G_GUINT64_FORMAT " ps host %s: %s",
			r->at, nic->host->name, d);
		sim_stop(nic->sim);
	}
	g_free(d);
}

static struct dma_rec *ring_at(struct dma_ring *q, uint32_t i)
{
	return &q->v[(q->head + i) & (q->cap - 1)];
}

static struct dma_rec *ring_push(struct dma_ring *q)
{
	if (q->len == q->cap) {
		uint32_t cap = q->cap ? 2 * q->cap : 64;
		struct dma_rec *v = g_new(struct dma_rec, cap);
		for (uint32_t i = 0; i < q->len; i++)
			v[i] = *ring_at(q, i);
		g_free(q->v);
		q->v = v;
		q->cap = cap;
		q->head = 0;
	}
	q->len++;
	return ring_at(q, q->len - 1);
}

/* The frame record slot of @pfn (allocating its chunk), or, without
 * @create, NULL when the chunk was never written. */
static uint64_t *frame_slot(struct oracle *o, uint64_t pfn, bool create)
{
	uint64_t c = pfn >> ORACLE_CHUNK_SHIFT;
	if (c >= o->nchunks) {
		if (!create)
			return NULL;
		uint64_t n = o->nchunks ? o->nchunks : 16;
		while (n <= c)
			n *= 2;
		o->frame_last = g_renew(uint64_t *, o->frame_last, n);
		for (uint64_t i = o->nchunks; i < n; i++)
			o->frame_last[i] = NULL;
		o->nchunks = n;
	}
	if (!o->frame_last[c]) {
		if (!create)
			return NULL;
		o->frame_last[c] = g_new0(uint64_t, ORACLE_CHUNK);
	}
	return &o->frame_last[c][pfn & (ORACLE_CHUNK - 1)];
}

static uint8_t *seal_slot(struct oracle *o, uint64_t pfn, bool create)
{
	uint64_t c = pfn >> ORACLE_CHUNK_SHIFT;
	if (c >= o->nseal_chunks) {
		if (!create)
			return NULL;
		uint64_t n = o->nseal_chunks ? o->nseal_chunks : 16;
		while (n <= c)
			n *= 2;
		o->sealed = g_renew(uint8_t *, o->sealed, n);
		for (uint64_t i = o->nseal_chunks; i < n; i++)
			o->sealed[i] = NULL;
		o->nseal_chunks = n;
	}
	if (!o->sealed[c]) {
		if (!create)
			return NULL;
		o->sealed[c] = g_new0(uint8_t, ORACLE_CHUNK);
	}
	return &o->sealed[c][pfn & (ORACLE_CHUNK - 1)];
}

static bool is_sealed(struct oracle *o, uint64_t pfn)
{
	if (!o->nsealed) /* the common case: no copy in progress */
		return false;
	uint8_t *s = seal_slot(o, pfn, false);
	return s && *s;
}

static void seal(struct oracle *o, uint64_t pfn, bool on)
{
	uint8_t *s = seal_slot(o, pfn, on);
	if (!s || *s == on)
		return;
	*s = on;
	if (on)
		o->nsealed++;
	else
		o->nsealed--;
}

static void page_record(struct oracle *o, uint64_t key, uint64_t version)
{
	g_hash_table_insert(o->page_last, GSIZE_TO_POINTER((gsize)key),
			    GSIZE_TO_POINTER((gsize)version));
}

static void settle(struct oracle *o, struct dma_rec *r, bool write)
{
	bool mine = vmm_frame_settle(o->vmm, r->pfn, r->as_id, r->vpn, write,
				     r->version);
	if (write) {
		/* a frame being copied away still belongs to its page, but
		 * what lands in it now misses the copy */
		if (mine && !is_sealed(o, r->pfn)) {
			*frame_slot(o, r->pfn, true) = r->version;
		} else {
			/* the page's record is this one now, not the one
			 * of the frame it is in (if any) */
			uint64_t cur;
			if (vmm_page_frame(r->as, r->vpn << NIC_PAGE_SHIFT,
					   &cur)) {
				uint64_t *s = frame_slot(o, cur, false);
				if (s)
					*s = 0;
			}
			page_record(o, VMM_PAGE_KEY(r->as_id, r->vpn),
				    r->version);
			(*o->lost)++;
			oracle_violation(o, r, true);
		}
	} else if (!mine) {
		(*o->stale)++;
		oracle_violation(o, r, false);
	}
}

/* Settle every DMA that has landed by @upto. */
static void settle_upto(struct oracle *o, sim_time_t upto)
{
	for (int w = 0; w < 2; w++) {
		struct dma_ring *q = &o->fifo[w];
		while (q->len && q->v[q->head].at <= upto) {
			struct dma_rec r = q->v[q->head];
			q->head = (q->head + 1) & (q->cap - 1);
			q->len--;
			settle(o, &r, w);
		}
	}
}

static void frame_hook(void *ctx, uint64_t pfn, enum vmm_frame_event ev)
{
	struct oracle *o = ctx;
	/* what landed before this instant is part of the frame's content;
	 * what lands later finds the frame gone */
	settle_upto(o, sim_now(o->nic->sim));
	if (ev == VMM_FRAME_SYNC)
		return;
	if (ev == VMM_FRAME_COPYING || ev == VMM_FRAME_KEPT) {
		seal(o, pfn, ev == VMM_FRAME_COPYING);
		return;
	}
	seal(o, pfn, false); /* the frame goes */
	/* the frame leaves its page: the page's record goes with the page */
	uint64_t *s = frame_slot(o, pfn, false);
	uint32_t as_id;
	uint64_t vpn;
	if (s && *s) {
		if (vmm_frame_owner(o->vmm, pfn, &as_id, &vpn))
			page_record(o, VMM_PAGE_KEY(as_id, vpn), *s);
		*s = 0;
	}
}

struct oracle *oracle_new(struct nic *nic)
{
	struct oracle *o = g_new0(struct oracle, 1);
	o->nic = nic;
	o->vmm = nic->host->vmm;
	o->page_last = g_hash_table_new(g_direct_hash, g_direct_equal);
	struct stats *st = nic->sim->stats;
	o->lost = stats_counter(st, "oracle.lost_writes");
	o->stale = stats_counter(st, "oracle.stale_reads");
	o->final = stats_counter(st, "oracle.final_mismatches");
	o->prot = stats_counter(st, "oracle.protection_violations");
	idmap_init(&o->grants);
	o->grant_all = g_ptr_array_new_with_free_func(g_free);
	o->grant_free = g_ptr_array_new();
	vmm_set_frame_hook(o->vmm, frame_hook, o);
	return o;
}

void oracle_free(struct oracle *o)
{
	if (!o)
		return;
	for (int w = 0; w < 2; w++)
		g_free(o->fifo[w].v);
	for (uint64_t i = 0; i < o->nchunks; i++)
		g_free(o->frame_last[i]);
	g_free(o->frame_last);
	for (uint64_t i = 0; i < o->nseal_chunks; i++)
		g_free(o->sealed[i]);
	g_free(o->sealed);
	g_hash_table_destroy(o->page_last);
	idmap_destroy(&o->grants);
	g_ptr_array_free(o->grant_all, TRUE);
	g_ptr_array_free(o->grant_free, TRUE);
	g_free(o->tripped);
	g_free(o);
}

void oracle_set_nic(struct oracle *o, struct nic *nic)
{
	o->nic = nic;
}

void oracle_set_strict(struct oracle *o, bool strict)
{
	o->strict = strict;
}

const char *oracle_tripped(const struct oracle *o)
{
	return o->tripped;
}

void oracle_grant(struct oracle *o, uint32_t key, struct vmm_as *as,
		  uint64_t lo, uint64_t hi, unsigned access)
{
	struct ogrant *g = idmap_get(&o->grants, key);
	if (!g) {
		if (o->grant_free->len) {
			g = g_ptr_array_steal_index_fast(o->grant_free,
							 o->grant_free->len - 1);
		} else {
			g = g_new(struct ogrant, 1);
			g_ptr_array_add(o->grant_all, g);
		}
		idmap_set(&o->grants, key, g);
	}
	g->as = as;
	g->lo = lo;
	g->hi = hi;
	g->access = access;
}

void oracle_revoke(struct oracle *o, uint32_t key)
{
	struct ogrant *g = idmap_get(&o->grants, key);
	if (g) {
		idmap_remove(&o->grants, key);
		g_ptr_array_add(o->grant_free, g);
	}
}

uint64_t oracle_atomic(struct oracle *o, struct vmm_as *as, uint64_t va,
		       bool cmp_swap, uint64_t compare, uint64_t swap_add)
{
	(void)o;
	uint64_t orig = vmm_word_get(as, va);
	uint64_t v = cmp_swap ? (orig == compare ? swap_add : orig)
			      : orig + swap_add;
	vmm_word_set(as, va, v);
	return orig;
}

void oracle_word_store(struct oracle *o, struct vmm_as *as, uint64_t va,
		       uint64_t v)
{
	(void)o;
	vmm_word_set(as, va, v);
}

static const struct trace_kind tk_prot = { "oracle_protection",
					   TRACE_INSTANT, NULL };

/* The protection check of one DMA. */
static void grant_check(struct oracle *o, const struct nic_mr *mr,
			uint64_t va, uint32_t len, uint32_t qpn, uint32_t psn,
			uint32_t key, unsigned access)
{
	const struct ogrant *g = idmap_get(&o->grants, key);
	if (g && g->as == mr->as && va >= g->lo && len <= g->hi - g->lo &&
	    va - g->lo <= g->hi - g->lo - len && !(access & ~g->access))
		return;
	(*o->prot)++;
	struct nic *nic = o->nic;
	char *d = g_strdup_printf(
		"protection: qp %u psn %u: %u bytes at 0x%" G_GINT64_MODIFIER
		"x under key 0x%x, which %s", qpn, psn, len, va, key,
		!g ? "opens nothing" :
		g->as != mr->as ? "opens another address space" :
		(access & ~g->access) ? "lacks the access" :
					"does not open those bytes");
	sim_trace(nic->sim, nic->comp, &tk_prot, qpn, psn, va, TRACE_NONE, len,
		  d);
	if (o->strict && !o->tripped) {
		o->tripped = g_strdup_printf("oracle: t=%" G_GUINT64_FORMAT
					     " ps host %s: %s",
					     sim_now(nic->sim), nic->host->name,
					     d);
		sim_stop(nic->sim);
	}
	g_free(d);
}

void oracle_dma(struct oracle *o, bool write, struct nic_mr *mr, uint64_t va,
		uint32_t len, uint64_t version, sim_time_t at, uint32_t qpn,
		uint32_t psn, uint32_t key, unsigned access)
{
	settle_upto(o, sim_now(o->nic->sim));
	grant_check(o, mr, va, len, qpn, psn, key, access);
	uint32_t as_id = vmm_as_id(mr->as);
	uint64_t first = va >> NIC_PAGE_SHIFT;
	uint64_t last = (va + (len ? len : 1) - 1) >> NIC_PAGE_SHIFT;
	struct dma_ring *q = &o->fifo[write];
	for (uint64_t vpn = first; vpn <= last; vpn++) {
		struct dma_rec *r = ring_push(q);
		r->at = at;
		r->pfn = nic_mr_pfn(mr, vpn << NIC_PAGE_SHIFT);
		r->vpn = vpn;
		r->version = version;
		r->as_id = as_id;
		r->as = mr->as;
		r->qpn = qpn;
		r->psn = psn;
		/* writes land in issue order (PCIe posts them FIFO); a read
		 * may complete before an earlier one: keep landing order */
		for (uint32_t i = q->len - 1;
		     i > 0 && ring_at(q, i - 1)->at > ring_at(q, i)->at; i--) {
			struct dma_rec t = *ring_at(q, i);
			*ring_at(q, i) = *ring_at(q, i - 1);
			*ring_at(q, i - 1) = t;
		}
	}
}

/* Does page @key hold @version (or no content at all)? */
static bool page_holds(struct oracle *o, uint64_t key, uint64_t version)
{
	struct vmm_as *as = vmm_as_by_id(o->vmm, VMM_KEY_AS(key));
	uint64_t have;
	if (!as || !vmm_page_version(as, VMM_KEY_VPN(key) << NIC_PAGE_SHIFT,
				     &have))
		return true; /* the page was unmapped or dropped since */
	return have == version;
}

void oracle_finish(struct oracle *o)
{
	settle_upto(o, SIM_TIME_MAX);
	/* pages whose last write is recorded with their frame */
	for (uint64_t c = 0; c < o->nchunks; c++) {
		const uint64_t *chunk = o->frame_last[c];
		for (unsigned i = 0; chunk && i < ORACLE_CHUNK; i++) {
			uint32_t as_id;
			uint64_t vpn, pfn = (c << ORACLE_CHUNK_SHIFT) | i;
			if (chunk[i] &&
			    vmm_frame_owner(o->vmm, pfn, &as_id, &vpn) &&
			    !page_holds(o, VMM_PAGE_KEY(as_id, vpn), chunk[i]))
				(*o->final)++;
		}
	}
	/* the others, unless a newer record sits with the page's frame */
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, o->page_last);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		uint64_t key = (uint64_t)GPOINTER_TO_SIZE(k), pfn;
		struct vmm_as *as = vmm_as_by_id(o->vmm, VMM_KEY_AS(key));
		const uint64_t *s;
		if (as && vmm_page_frame(as, VMM_KEY_VPN(key) << NIC_PAGE_SHIFT,
					 &pfn) &&
		    (s = frame_slot(o, pfn, false)) && *s)
			continue;
		if (!page_holds(o, key, (uint64_t)GPOINTER_TO_SIZE(v)))
			(*o->final)++;
	}
}
