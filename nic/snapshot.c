/*
 * nic/snapshot.c - the HCA's state descriptions (sim/vmstate.h).
 *
 * Representation: the MR and QP tables describe the live struct nic_mr and
 * struct nic_qp (nic_int.h) field by field: what a migrated MR or QP
 * carries is exactly these fields.  Pointers are not state: the policy ops
 * table is saved as its policy index, the protection domain as its handle.
 * An MR's MTT (a sparse table of chunks) is saved as runs of consecutive
 * non-zero entries, in page order, each its own record { lkey, page (from
 * the MR's first page), count, entries }: the chunks are visited in index
 * order so the file does not depend on hash-table order.
 *
 * Versions: bump a table's version whenever a field is added, removed or
 * changes meaning; readers reject other versions.  MR version 2 added the
 * implicit ODP KSM (ksm_entries, implicit_children).
 */
#include "nic/snapshot.h"

#include "nic/nic_int.h"
#include "sim/config.h"

static uint64_t mr_policy(const void *obj)
{
	const struct nic_mr *mr = obj;
	for (unsigned i = 0; i < REG_NPOLICIES; i++)
		if (reg_policy_get(i) == mr->policy)
			return i;
	return REG_NPOLICIES;
}

static uint64_t mr_pd(const void *obj)
{
	const struct nic_mr *mr = obj;
	return mr->pd ? mr->pd->handle : 0;
}

static uint64_t mr_mtt_valid(const void *obj)
{
	const struct nic_mr *mr = obj;
	uint64_t n = 0, *e;
	struct mtt *m = (struct mtt *)&mr->mtt; /* the walk changes nothing */
	for (uint64_t pg = mtt_next(m, 0, &e); pg != UINT64_MAX;
	     pg = mtt_next(m, pg + 1, &e))
		n += (*e & MTT_VALID) != 0;
	return n;
}

/* Implicit ODP: the KSM entries that name a child (0: not implicit). */
static uint64_t mr_children(const void *obj)
{
	const struct nic_mr *mr = obj;
	return mr->ksm ? mr->ksm->nchildren : 0;
}

static uint64_t mr_ksm_entries(const void *obj)
{
	const struct nic_mr *mr = obj;
	return mr->ksm ? mr->ksm->nslots : 0;
}

static const struct vmstate_field mr_fields[] = {
	VMS_FIELD(struct nic_mr, lkey, "lkey"),
	VMS_FIELD(struct nic_mr, rkey, "rkey"),
	VMS_FIELD(struct nic_mr, index, "index"),
	VMS_FIELD_GET("pd", 4, mr_pd, NULL, 0),
	VMS_FIELD(struct nic_mr, addr, "addr"),
	VMS_FIELD(struct nic_mr, length, "length"),
	VMS_FIELD(struct nic_mr, access, "access"),
	VMS_FIELD_GET("policy", 4, mr_policy, reg_policy_names,
		      REG_NPOLICIES),
	VMS_FIELD(struct nic_mr, first_page, "first_page"),
	VMS_FIELD(struct nic_mr, npages, "npages"),
	VMS_FIELD(struct nic_mr, mtt_shift, "mtt_shift"),
	VMS_FIELD(struct nic_mr, nents, "mtt_entries"),
	VMS_FIELD(struct nic_mr, reg_time, "reg_time_ps"),
	VMS_FIELD_BOOL(struct nic_mr, committed, "committed"),
	VMS_FIELD(struct nic_mr, dma_busy, "dma_busy_ps"),
	VMS_FIELD_GET("mtt_valid", 8, mr_mtt_valid, NULL, 0),
	VMS_FIELD_GET("ksm_entries", 8, mr_ksm_entries, NULL, 0),
	VMS_FIELD_GET("implicit_children", 8, mr_children, NULL, 0),
};
VMSTATE_DESC(nic_mr_vmstate, "MR", NT_ODPSIM_MR, 3, mr_fields);

static const struct vmstate_field qp_fields[] = {
	VMS_FIELD(struct nic_qp, qpn, "qpn"),
	VMS_FIELD_ENUM(struct nic_qp, state, "state", nic_qp_state_names,
		       QPS_ERR + 1),
	VMS_FIELD(struct nic_qp, dest_host, "dest_host"),
	VMS_FIELD(struct nic_qp, dest_qpn, "dest_qpn"),
	VMS_FIELD(struct nic_qp, attr.path_mtu, "path_mtu"),
	VMS_FIELD(struct nic_qp, attr.timeout, "timeout"),
	VMS_FIELD(struct nic_qp, attr.retry_cnt, "retry_cnt"),
	VMS_FIELD(struct nic_qp, attr.rnr_retry, "rnr_retry"),
	VMS_FIELD(struct nic_qp, attr.min_rnr_timer, "min_rnr_timer"),
	VMS_FIELD(struct nic_qp, attr.max_rd_atomic, "max_rd_atomic"),
	VMS_FIELD(struct nic_qp, attr.sq_psn, "sq_psn"),
	VMS_FIELD(struct nic_qp, attr.rq_psn, "rq_psn"),
	/* requester */
	VMS_FIELD(struct nic_qp, sq_depth, "sq_depth"),
	VMS_FIELD(struct nic_qp, sq_head, "sq_head"),
	VMS_FIELD(struct nic_qp, sq_count, "sq_count"),
	VMS_FIELD_ENUM(struct nic_qp, req, "req", req_state_names,
		       REQ_NSTATES),
	VMS_FIELD(struct nic_qp, req_idx, "req_idx"),
	VMS_FIELD(struct nic_qp, fetch_idx, "fetch_idx"),
	VMS_FIELD(struct nic_qp, req_pkt, "req_pkt"),
	VMS_FIELD(struct nic_qp, next_psn, "next_psn"),
	VMS_FIELD(struct nic_qp, una_psn, "una_psn"),
	VMS_FIELD(struct nic_qp, sent_psn, "sent_psn"),
	VMS_FIELD(struct nic_qp, reads_out, "reads_out"),
	VMS_FIELD(struct nic_qp, tx_count, "tx_count"),
	VMS_FIELD(struct nic_qp, retry_left, "retry_left"),
	VMS_FIELD(struct nic_qp, rnr_left, "rnr_left"),
	VMS_FIELD_BOOL(struct nic_qp, rewind_pending, "rewind_pending"),
	VMS_FIELD(struct nic_qp, rewind_psn, "rewind_psn"),
	VMS_FIELD_BOOL(struct nic_qp, timer_pending, "timer_pending"),
	VMS_FIELD(struct nic_qp, timer_deadline, "timer_deadline_ps"),
	VMS_FIELD(struct nic_qp, data_version_seq, "data_version_seq"),
	/* responder */
	VMS_FIELD_ENUM(struct nic_qp, resp, "resp", resp_state_names,
		       RESP_NSTATES),
	VMS_FIELD(struct nic_qp, rq_depth, "rq_depth"),
	VMS_FIELD(struct nic_qp, rq_head, "rq_head"),
	VMS_FIELD(struct nic_qp, rq_count, "rq_count"),
	VMS_FIELD(struct nic_qp, epsn, "epsn"),
	VMS_FIELD(struct nic_qp, msn, "msn"),
	VMS_FIELD(struct nic_qp, unacked, "unacked"),
	VMS_FIELD(struct nic_qp, hold_next, "hold_next"),
	VMS_FIELD(struct nic_qp, resp_busy, "resp_busy_ps"),
};
VMSTATE_DESC(nic_qp_vmstate, "QP", NT_ODPSIM_QP, 1, qp_fields);

/* One run of consecutive non-zero MTT entries of an MR. */
struct mtt_run {
	uint32_t lkey;
	uint64_t page;  /* from the MR's first page */
	uint64_t count;
	uint64_t *entries;
};

static const struct vmstate_field mtt_fields[] = {
	VMS_FIELD(struct mtt_run, lkey, "lkey"),
	VMS_FIELD(struct mtt_run, page, "page"),
	VMS_FIELD_U64_ARRAY(struct mtt_run, entries, count, "entries"),
};
VMSTATE_DESC(nic_mtt_vmstate, "MTT", NT_ODPSIM_MTT, 1, mtt_fields);

static void mtt_snapshot(const struct nic_mr *mr, struct snapfile *sf)
{
	GArray *run = g_array_new(FALSE, FALSE, sizeof(uint64_t));
	struct mtt_run r = { .lkey = mr->lkey };
	uint64_t next = UINT64_MAX; /* page after the current run */
	uint64_t *e;
	struct mtt *m = (struct mtt *)&mr->mtt; /* the walk changes nothing */
	for (uint64_t pg = mtt_next(m, 0, &e); pg != UINT64_MAX;
	     pg = mtt_next(m, pg + 1, &e)) {
		if (pg != next && run->len) {
			r.count = run->len;
			r.entries = (uint64_t *)run->data;
			snapfile_add_record(sf, &nic_mtt_vmstate, &r);
			g_array_set_size(run, 0);
		}
		if (!run->len)
			r.page = pg;
		g_array_append_val(run, *e);
		next = pg + 1;
	}
	if (run->len) {
		r.count = run->len;
		r.entries = (uint64_t *)run->data;
		snapfile_add_record(sf, &nic_mtt_vmstate, &r);
	}
	g_array_unref(run);
}

void nic_snapshot(const struct nic *nic, struct snapfile *sf)
{
	for (guint i = 0; i < nic->all_mrs->len; i++)
		snapfile_add_record(sf, &nic_mr_vmstate,
				    nic->all_mrs->pdata[i]);
	for (guint i = 0; i < nic->all_qps->len; i++)
		snapfile_add_record(sf, &nic_qp_vmstate,
				    nic->all_qps->pdata[i]);
	for (guint i = 0; i < nic->all_mrs->len; i++)
		mtt_snapshot(nic->all_mrs->pdata[i], sf);
}

/* MR records by lkey: their MTT entry counts (a key in two records is
 * an error). */
static bool mr_pages(const struct snapfile *sf, GHashTable *h,
		     const char *path, GError **error)
{
	for (guint i = 0; i < sf->notes->len; i++) {
		const struct snap_note *n = sf->notes->pdata[i];
		if (n->type != NT_ODPSIM_MR)
			continue;
		uint64_t *k = g_new(uint64_t, 2);
		k[0] = vmstate_get_u64(&nic_mr_vmstate, n->desc->data,
				       n->desc->len, "lkey");
		k[1] = vmstate_get_u64(&nic_mr_vmstate, n->desc->data,
				       n->desc->len, "mtt_entries");
		if (g_hash_table_contains(h, k)) {
			g_set_error(error, CONFIG_ERROR, 0,
				    "%s: note %u: a second MR record of lkey "
				    "%#" G_GINT64_MODIFIER "x", path, i, k[0]);
			g_free(k);
			return false;
		}
		g_hash_table_add(h, k);
	}
	return true;
}

bool nic_snapshot_check(const struct snapfile *sf, const char *path,
			GError **error)
{
	GHashTable *mrs = g_hash_table_new_full(g_int64_hash, g_int64_equal,
						g_free, NULL);
	bool ok = mr_pages(sf, mrs, path, error);
	for (guint i = 0; ok && i < sf->notes->len; i++) {
		const struct snap_note *n = sf->notes->pdata[i];
		if (n->type != NT_ODPSIM_MTT)
			continue;
		const uint8_t *b = n->desc->data;
		size_t len = n->desc->len;
		uint64_t lkey = vmstate_get_u64(&nic_mtt_vmstate, b, len,
						"lkey");
		uint64_t page = vmstate_get_u64(&nic_mtt_vmstate, b, len,
						"page");
		uint64_t count = vmstate_get_u64(&nic_mtt_vmstate, b, len,
						 "entries");
		const uint64_t *mr = g_hash_table_lookup(mrs, &lkey);
		if (!mr) {
			g_set_error(error, CONFIG_ERROR, 0,
				    "%s: note %u: an MTT run of lkey %#"
				    G_GINT64_MODIFIER "x, which no MR record "
				    "has", path, i, lkey);
			ok = false;
		} else if (page > mr[1] || count > mr[1] - page) {
			g_set_error(error, CONFIG_ERROR, 0,
				    "%s: note %u: an MTT run of %"
				    G_GUINT64_FORMAT " entries from entry %"
				    G_GUINT64_FORMAT " of lkey %#"
				    G_GINT64_MODIFIER "x, whose MR has %"
				    G_GUINT64_FORMAT " entries",
				    path, i, count, page, lkey, mr[1]);
			ok = false;
		}
	}
	g_hash_table_destroy(mrs);
	return ok;
}
