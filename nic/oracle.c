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
 * finds the frame gone is a stale read.  The last version written to each
 * page is remembered (a hash map) for the end-of-run check.
 *
 * Workload assumed: a DMA per packet; the FIFOs stay as short as the
 * DMAs in flight (a few dozen).  They are ring buffers of records, and the
 * map keys on the (address space, page) number itself: nothing is
 * allocated per DMA once the rings have grown.
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

struct oracle {
	struct nic *nic;
	struct vmm *vmm;
	struct dma_ring fifo[2]; /* [0] reads, [1] writes */
	GHashTable *last;   /* (as_id << 40 | vpn) -> last version landed */
	GHashTable *as_of;  /* as_id -> struct vmm_as * */
	struct vmm_as *last_as;
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
	sim_trace(nic->sim, nic->comp, write ? &tk_lost : &tk_stale, r->qpn,
		  r->psn, r->vpn << NIC_PAGE_SHIFT, r->pfn, NIC_PAGE_SIZE, d);
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
	return &q->v[(q->head + i) % q->cap];
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

static void settle(struct oracle *o, struct dma_rec *r, bool write)
{
	uint32_t as_id;
	uint64_t vpn;
	bool mine = vmm_frame_owner(o->vmm, r->pfn, &as_id, &vpn) &&
		    as_id == r->as_id && vpn == r->vpn;
	if (write) {
		g_hash_table_insert(
			o->last,
			GSIZE_TO_POINTER((gsize)(((uint64_t)r->as_id << 40) |
						 r->vpn)),
			GSIZE_TO_POINTER((gsize)r->version));
		if (mine) {
			vmm_frame_set_version(o->vmm, r->pfn, r->version);
		} else {
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
			q->head = (q->head + 1) % q->cap;
			q->len--;
			settle(o, &r, w);
		}
	}
}

static void frame_hook(void *ctx, uint64_t pfn, enum vmm_frame_event ev)
{
	(void)pfn;
	(void)ev;
	struct oracle *o = ctx;
	/* what landed before this instant is part of the frame's content;
	 * what lands later finds the frame gone */
	settle_upto(o, sim_now(o->nic->sim));
}

struct oracle *oracle_new(struct nic *nic)
{
	struct oracle *o = g_new0(struct oracle, 1);
	o->nic = nic;
	o->vmm = nic->host->vmm;
	o->last = g_hash_table_new(g_direct_hash, g_direct_equal);
	o->as_of = g_hash_table_new(NULL, NULL);
	struct stats *st = nic->sim->stats;
	o->lost = stats_counter(st, "oracle.lost_writes");
	o->stale = stats_counter(st, "oracle.stale_reads");
	o->final = stats_counter(st, "oracle.final_mismatches");
	vmm_set_frame_hook(o->vmm, frame_hook, o);
	return o;
}

void oracle_free(struct oracle *o)
{
	if (!o)
		return;
	for (int w = 0; w < 2; w++)
		g_free(o->fifo[w].v);
	g_hash_table_destroy(o->last);
	g_hash_table_destroy(o->as_of);
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

void oracle_dma(struct oracle *o, bool write, struct nic_mr *mr, uint64_t va,
		uint32_t len, uint64_t version, sim_time_t at, uint32_t qpn,
		uint32_t psn)
{
	settle_upto(o, sim_now(o->nic->sim));
	uint32_t as_id = vmm_as_id(mr->as);
	if (mr->as != o->last_as) {
		g_hash_table_insert(o->as_of, GUINT_TO_POINTER(as_id), mr->as);
		o->last_as = mr->as;
	}
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

void oracle_finish(struct oracle *o)
{
	settle_upto(o, SIM_TIME_MAX);
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, o->last);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		uint64_t key = (uint64_t)GPOINTER_TO_SIZE(k);
		struct vmm_as *as = g_hash_table_lookup(
			o->as_of, GUINT_TO_POINTER((guint)(key >> 40)));
		uint64_t vpn = key & ((1ULL << 40) - 1), have;
		if (!as || !vmm_page_version(as, vpn << NIC_PAGE_SHIFT, &have))
			continue; /* the page was unmapped or dropped since */
		if (have != (uint64_t)GPOINTER_TO_SIZE(v))
			(*o->final)++;
	}
}
