/*
 * sim/system/snapshot.c - snapshots of hosts and restore by verified
 * replay (see snapshot.h).
 *
 * Representation: struct snapshot_state is what a run remembers for a
 * snapshot: the time to stop at, where to write (or, on restore, the
 * snapshot to verify against), the scenario text and the overrides the
 * run was built with.  The RUN record (NT_ODPSIM_RUN) carries them, with
 * the simulated time, the events fired and the fingerprint at that time.
 *
 * Restore is deterministic replay verified against the snapshot: the
 * system is rebuilt from the recorded scenario text and overrides, run to
 * the snapshot's time, and its re-derived state (every note, every
 * segment's resident pages and versions) must equal the file's record by
 * record before the run continues.  A true in-place restore would need
 * every pending event serialized, and events in flight hold callbacks and
 * pointers into model objects (a fault completion, a DMA landing, a
 * workload's timer); replay reproduces them exactly instead.
 */
#include "sim/system/snapshot.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "nic/host.h"
#include "nic/snapshot.h"
#include "sim/outfile.h"
#include "sim/snapfile.h"
#include "sim/system/system_int.h"
#include "sim/units.h"
#include "sim/version.h"
#include "sim/vmstate.h"
#include "vmm/snapshot.h"
#include "vmm/vmm.h"

struct snapshot_state {
	sim_time_t at;
	bool done;
	char *path;       /* --snapshot FILE */
	char *host;       /* --snapshot-host NAME, or NULL: every host */
	/* per host index: its snapshot file, a member of sys->outputs
	 * (created at setup so a bad path fails before the run), or NULL */
	struct outfile **files;
	char *scenario;   /* the scenario text the run was built from */
	char *overrides;  /* "TYPE.KEY=VALUE" lines, in the order applied */
	/* restore */
	struct snapfile *verify;
	char *verify_path;
};

/* The RUN record. */
struct run_rec {
	char *version, *host, *scenario_path, *scenario, *overrides;
	uint32_t host_index, nhosts;
	uint64_t seed, duration, time, events, fingerprint, scenario_hash;
};

static const struct vmstate_field run_fields[] = {
	VMS_FIELD_STR(struct run_rec, version, "odpsim_version"),
	VMS_FIELD_STR(struct run_rec, host, "host"),
	VMS_FIELD(struct run_rec, host_index, "host_index"),
	VMS_FIELD(struct run_rec, nhosts, "hosts"),
	VMS_FIELD(struct run_rec, seed, "seed"),
	VMS_FIELD(struct run_rec, duration, "duration_ps"),
	VMS_FIELD(struct run_rec, time, "time_ps"),
	VMS_FIELD(struct run_rec, events, "events"),
	VMS_FIELD(struct run_rec, fingerprint, "fingerprint"),
	VMS_FIELD_STR(struct run_rec, scenario_path, "scenario_path"),
	VMS_FIELD(struct run_rec, scenario_hash, "scenario_hash"),
	VMS_FIELD_STR(struct run_rec, scenario, "scenario"),
	VMS_FIELD_STR(struct run_rec, overrides, "overrides"),
};
static VMSTATE_DESC(run_vmstate, "RUN", NT_ODPSIM_RUN, 1, run_fields);

/* The schema note is text; a one-field record keeps it versioned. */
struct schema_rec {
	char *text;
};
static const struct vmstate_field schema_fields[] = {
	VMS_FIELD_STR(struct schema_rec, text, "tables"),
};
static VMSTATE_DESC(schema_vmstate, "SCHEMA", NT_ODPSIM_SCHEMA, 1,
		    schema_fields);

static const struct vmstate_desc *const snap_descs[] = {
	&nic_mr_vmstate, &nic_qp_vmstate, &nic_mtt_vmstate, &vmm_vma_vmstate,
	&run_vmstate, &schema_vmstate, NULL,
};

const struct vmstate_desc *const *system_snapshot_descs(void)
{
	return snap_descs;
}

void snapshot_state_free(struct snapshot_state *s)
{
	if (!s)
		return;
	g_free(s->path);
	g_free(s->files);
	g_free(s->host);
	g_free(s->scenario);
	g_free(s->overrides);
	snapfile_free(s->verify);
	g_free(s->verify_path);
	g_free(s);
}

/* The whole state of host @h now. */
static struct snapfile *snap_host(struct system *sys, struct host *h)
{
	struct snapfile *sf = snapfile_new();
	struct run_rec r = {
		.version = (char *)ODPSIM_VERSION, .host = h->name,
		.host_index = h->index, .nhosts = sys->hosts->len,
		.seed = sys->p.seed, .duration = sys->p.duration,
		.time = sys->sim->now, .events = sys->sim->events,
		.fingerprint = sys->sim->fingerprint,
		.scenario_path = (char *)scenario_path(sys->sc),
		.scenario_hash = sim_hash_str(sys->snap->scenario),
		.scenario = sys->snap->scenario,
		.overrides = sys->snap->overrides,
	};
	snapfile_add_record(sf, &run_vmstate, &r);
	GString *tabs = g_string_new(NULL);
	vmstate_schema(snap_descs, tabs);
	struct schema_rec sr = { tabs->str };
	snapfile_add_record(sf, &schema_vmstate, &sr);
	g_string_free(tabs, TRUE);
	if (h->vmm)
		vmm_snapshot(h->vmm, sf);
	if (h->nic)
		nic_snapshot(h->nic, sf);
	return sf;
}

static const char *note_name(uint32_t type)
{
	const struct vmstate_desc *d = snapfile_desc(snap_descs, type);
	return d ? d->name : "?";
}

/* NULL when @now equals @want note by note and page by page. */
static char *snap_compare(const struct snapfile *want,
			  const struct snapfile *now)
{
	if (want->notes->len != now->notes->len) {
		static const uint32_t types[] = { NT_ODPSIM_VMA, NT_ODPSIM_MR,
						  NT_ODPSIM_QP, NT_ODPSIM_MTT };
		for (unsigned i = 0; i < G_N_ELEMENTS(types); i++) {
			unsigned a = snapfile_count(want, types[i]);
			unsigned b = snapfile_count(now, types[i]);
			if (a != b)
				return g_strdup_printf(
					"%u %s records in the snapshot, %u "
					"re-derived", a, note_name(types[i]),
					b);
		}
		return g_strdup_printf("%u notes in the snapshot, %u "
				       "re-derived", want->notes->len,
				       now->notes->len);
	}
	for (guint i = 0; i < want->notes->len; i++) {
		const struct snap_note *a = want->notes->pdata[i];
		const struct snap_note *b = now->notes->pdata[i];
		if (a->type != b->type)
			return g_strdup_printf("note %u is %s in the snapshot, "
					       "%s re-derived", i,
					       note_name(a->type),
					       note_name(b->type));
		char *d = vmstate_diff(snapfile_desc(snap_descs, a->type),
				       a->desc->data, a->desc->len,
				       b->desc->data, b->desc->len);
		if (d) {
			char *m = g_strdup_printf("note %u: %s (snapshot vs "
						  "re-derived)", i, d);
			g_free(d);
			return m;
		}
	}
	if (want->segs->len != now->segs->len)
		return g_strdup_printf("%u segments in the snapshot, %u "
				       "re-derived", want->segs->len,
				       now->segs->len);
	for (guint i = 0; i < want->segs->len; i++) {
		const struct snap_seg *a = want->segs->pdata[i];
		const struct snap_seg *b = now->segs->pdata[i];
		if (a->vaddr != b->vaddr || a->memsz != b->memsz ||
		    a->prot != b->prot || a->pages->len != b->pages->len ||
		    memcmp(a->pages->data, b->pages->data,
			   a->pages->len * sizeof(struct snap_page)))
			return g_strdup_printf(
				"segment %u at %#" G_GINT64_MODIFIER "x: "
				"resident pages or their versions differ", i,
				a->vaddr);
	}
	return NULL;
}

/* At the snapshot time: write the files, or verify the replay. */
static bool snap_take(struct system *sys, GError **error)
{
	struct snapshot_state *s = sys->snap;
	for (guint i = 0; i < sys->hosts->len; i++) {
		struct host *h = sys->hosts->pdata[i];
		if (s->host && strcmp(s->host, h->name))
			continue;
		struct snapfile *sf = snap_host(sys, h);
		bool ok = true;
		if (s->verify) {
			char *d = snap_compare(s->verify, sf);
			if (d) {
				g_set_error(error, CONFIG_ERROR, 0,
					    "%s: restore diverged from the "
					    "snapshot at %.6f s: %s",
					    s->verify_path,
					    sim_time_to_s(sys->sim->now), d);
				g_free(d);
				ok = false;
			}
		} else {
			ok = snapfile_write(sf, s->files[i], error);
		}
		snapfile_free(sf);
		if (!ok)
			return false;
	}
	return true;
}

/* Slicing does not change which events
 * fire, so the run's fingerprint is the same with or without it. */
bool snapshot_run_until(struct system *sys, sim_time_t t, GError **error)
{
	struct snapshot_state *s = sys->snap;
	if (s && !s->done && s->at <= t) {
		sim_run_until(sys->sim, s->at);
		if (system_violation(sys) || sys->sim->interrupted)
			return true; /* --strict or a signal stopped the run
				      * before its time: no snapshot */
		s->done = true;
		if (!snap_take(sys, error))
			return false;
	}
	sim_run_until(sys->sim, t);
	return true;
}

/* A restore can stop short when an oracle violation under --strict ends
 * the run. */
bool snapshot_finish(struct system *sys, GError **error)
{
	struct snapshot_state *s = sys->snap;
	if (s && !s->done && s->verify && !sys->sim->interrupted) {
		g_set_error(error, CONFIG_ERROR, 0,
			    "%s: the replay ended at %.6f s, before the "
			    "snapshot's time %.6f s", s->verify_path,
			    sim_time_to_s(sys->sim->now), sim_time_to_s(s->at));
		return false;
	}
	if (s && !s->done) {
		fprintf(stderr, "odpsim: warning: the run ended at %.6f s, "
				"before --snapshot-at; no snapshot written\n",
			sim_time_to_s(sys->sim->now));
		/* the files never written are not outputs */
		for (guint i = 0; s->files && i < sys->hosts->len; i++)
			if (s->files[i])
				outfile_set_drop(sys->outputs, s->files[i]);
	}
	return true;
}

bool snapshot_setup(struct system *sys, const char *scenario_path_arg,
		    const struct run_options *opt, bool *io_error,
		    GError **error)
{
	if (!opt->snapshot_path && !opt->verify_path)
		return true;
	struct snapshot_state *s = sys->snap = g_new0(struct snapshot_state, 1);
	if (opt->snapshot_host && !system_host(sys, opt->snapshot_host)) {
		g_set_error(error, CONFIG_ERROR, 0,
			    "--snapshot-host: no host named '%s'",
			    opt->snapshot_host);
		return false;
	}
	s->host = g_strdup(opt->snapshot_host);
	if (opt->verify_path) {
		s->at = opt->verify_at;
		s->verify_path = g_strdup(opt->verify_path);
	} else {
		GError *e = NULL;
		uint64_t at;
		if (!opt->snapshot_at) {
			g_set_error(error, CONFIG_ERROR, 0,
				    "--snapshot needs --snapshot-at TIME");
			return false;
		}
		if (!units_parse(opt->snapshot_at, UNIT_TIME, &at, &e)) {
			g_set_error(error, CONFIG_ERROR, 0,
				    "--snapshot-at: %s", e->message);
			g_error_free(e);
			return false;
		}
		s->at = at;
		s->path = g_strdup(opt->snapshot_path);
	}
	if (s->at >= sys->p.duration) {
		g_set_error(error, CONFIG_ERROR, 0,
			    "--snapshot-at %.6f s is not before the end of the "
			    "run (%.6f s)", sim_time_to_s(s->at),
			    sim_time_to_s(sys->p.duration));
		return false;
	}
	if (opt->scenario_text) {
		s->scenario = g_strdup(opt->scenario_text);
	} else if (!g_file_get_contents(scenario_path_arg, &s->scenario, NULL,
					error)) {
		*io_error = true;
		return false;
	}
	GString *o = g_string_new(NULL);
	for (char **x = opt->sets; x && *x; x++)
		g_string_append_printf(o, "%s\n", *x);
	if (opt->policy)
		g_string_append_printf(o, "sim.policy=%s\n", opt->policy);
	if (opt->migration)
		g_string_append_printf(o, "migration.policy=%s\n",
				       opt->migration);
	if (opt->have_seed)
		g_string_append_printf(o, "sim.seed=%" G_GUINT64_FORMAT "\n",
				       opt->seed);
	if (opt->duration)
		g_string_append_printf(o, "sim.duration=%s\n", opt->duration);
	s->overrides = g_string_free(o, FALSE);
	return true;
}

bool snapshot_open_outputs(struct system *sys, GError **error)
{
	struct snapshot_state *s = sys->snap;
	if (s && s->path) {
		/* fail now, not after simulating up to the snapshot */
		s->files = g_new0(struct outfile *, sys->hosts->len);
		for (guint i = 0; i < sys->hosts->len; i++) {
			struct host *h = sys->hosts->pdata[i];
			if (s->host && strcmp(s->host, h->name))
				continue;
			char *path = s->host ? g_strdup(s->path)
					     : g_strdup_printf("%s.%s", s->path,
							       h->name);
			s->files[i] = outfile_set_open(sys->outputs, path,
						       error);
			g_free(path);
			if (!s->files[i])
				return false;
		}
	}
	return true;
}

struct seg_span {
	uint64_t as, start, end;
	guint seg;
};

static gint span_cmp(gconstpointer a, gconstpointer b)
{
	const struct seg_span *x = a, *y = b;
	if (x->as != y->as)
		return x->as < y->as ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* The i-th VMA note describes the i-th PT_LOAD (snapfile.h): its range
 * and resident pages are the segment's, it lies in the 48-bit user
 * address space (VMM_VA_BITS), and the VMAs of one address space do not
 * overlap.  snapfile_read checked that no segment wraps. */
static bool check_segments(const struct snapfile *sf, const char *path,
			   GError **error)
{
	GArray *spans = g_array_new(FALSE, FALSE, sizeof(struct seg_span));
	guint seg = 0;
	bool ok = true;
	for (guint i = 0; ok && i < sf->notes->len; i++) {
		const struct snap_note *n = sf->notes->pdata[i];
		if (n->type != NT_ODPSIM_VMA)
			continue;
		const struct snap_seg *sg = sf->segs->pdata[seg];
		const uint8_t *b = n->desc->data;
		size_t len = n->desc->len;
		struct seg_span x = {
			vmstate_get_u64(&vmm_vma_vmstate, b, len, "as"),
			vmstate_get_u64(&vmm_vma_vmstate, b, len, "start"),
			vmstate_get_u64(&vmm_vma_vmstate, b, len, "end"), seg,
		};
		uint64_t resident = vmstate_get_u64(&vmm_vma_vmstate, b, len,
						    "resident_pages");
		ok = false;
		if (x.start != sg->vaddr || x.end - x.start != sg->memsz ||
		    x.end < x.start)
			g_set_error(error, CONFIG_ERROR, 0,
				    "%s: note %u: VMA %#" G_GINT64_MODIFIER
				    "x-%#" G_GINT64_MODIFIER "x, but its "
				    "segment %u is %#" G_GINT64_MODIFIER "x, %#"
				    G_GINT64_MODIFIER "x bytes", path, i,
				    x.start, x.end, seg, sg->vaddr, sg->memsz);
		else if (x.end > 1ULL << VMM_VA_BITS)
			g_set_error(error, CONFIG_ERROR, 0,
				    "%s: segment %u (%#" G_GINT64_MODIFIER
				    "x-%#" G_GINT64_MODIFIER "x) ends past the "
				    "%u-bit address space", path, seg, x.start,
				    x.end, VMM_VA_BITS);
		else if (resident != sg->pages->len)
			g_set_error(error, CONFIG_ERROR, 0,
				    "%s: note %u: a VMA of %" G_GUINT64_FORMAT
				    " resident pages, but its segment %u holds "
				    "%u page blocks", path, i, resident, seg,
				    sg->pages->len);
		else
			ok = true;
		g_array_append_val(spans, x);
		seg++;
	}
	g_array_sort(spans, span_cmp);
	for (guint i = 1; ok && i < spans->len; i++) {
		const struct seg_span *a = &g_array_index(spans,
							  struct seg_span,
							  i - 1);
		const struct seg_span *b = &g_array_index(spans,
							  struct seg_span, i);
		if (a->as != b->as || b->start >= a->end)
			continue;
		g_set_error(error, CONFIG_ERROR, 0,
			    "%s: segments %u and %u overlap in address space "
			    "%" G_GUINT64_FORMAT " (%#" G_GINT64_MODIFIER
			    "x-%#" G_GINT64_MODIFIER "x and %#"
			    G_GINT64_MODIFIER "x-%#" G_GINT64_MODIFIER "x)",
			    path, MIN(a->seg, b->seg), MAX(a->seg, b->seg),
			    a->as, a->start, a->end, b->start, b->end);
		ok = false;
	}
	g_array_unref(spans);
	return ok;
}

/* Read and check a snapshot; its RUN record through *run (owned by the
 * returned file). */
static struct snapfile *snap_open(const char *path,
				  const struct snap_note **run,
				  GError **error)
{
	struct snapfile *sf = snapfile_read(path, snap_descs, error);
	if (!sf)
		return NULL;
	unsigned nvma = snapfile_count(sf, NT_ODPSIM_VMA);
	if (snapfile_count(sf, NT_ODPSIM_RUN) != 1) {
		g_set_error(error, CONFIG_ERROR, 0,
			    "%s: %u RUN notes (a snapshot has exactly one)",
			    path, snapfile_count(sf, NT_ODPSIM_RUN));
	} else if (nvma != sf->segs->len) {
		g_set_error(error, CONFIG_ERROR, 0,
			    "%s: %u VMA notes but %u PT_LOAD segments", path,
			    nvma, sf->segs->len);
	} else if (check_segments(sf, path, error) &&
		   nic_snapshot_check(sf, path, error)) {
		for (guint i = 0; i < sf->notes->len; i++)
			if (((struct snap_note *)sf->notes->pdata[i])->type ==
			    NT_ODPSIM_RUN)
				*run = sf->notes->pdata[i];
		return sf;
	}
	snapfile_free(sf);
	return NULL;
}

/* The file's resident pages fit in the memory of the host it names, as
 * the scenario rebuilt from it gives that host: checked before replaying
 * up to the snapshot's time, not found as a divergence after it. */
static bool check_memory(struct system *sys, const struct snapfile *sf,
			 const char *host, const char *path, GError **error)
{
	struct host *h = system_host(sys, host);
	if (!h || !h->vmm) {
		g_set_error(error, CONFIG_ERROR, 0,
			    "%s: the snapshot is of host '%s', which the "
			    "recorded scenario does not have", path, host);
		return false;
	}
	uint64_t pages = 0;
	for (guint i = 0; i < sf->segs->len; i++)
		pages += ((const struct snap_seg *)sf->segs->pdata[i])
				 ->pages->len;
	uint64_t frames = vmm_total_frames(h->vmm);
	if (pages <= frames)
		return true;
	g_set_error(error, CONFIG_ERROR, 0,
		    "%s: %" G_GUINT64_FORMAT " resident pages in the "
		    "segments, more than host %s's memory holds (%"
		    G_GUINT64_FORMAT " pages of %u bytes)", path, pages, host,
		    frames, SNAP_PAGE_SIZE);
	return false;
}

struct system *system_restore(const char *snapshot,
			      const struct run_options *opt, bool *io_error,
			      GError **error)
{
	*io_error = false;
	const struct snap_note *rn = NULL;
	struct snapfile *sf = snap_open(snapshot, &rn, error);
	if (!sf) {
		*io_error = error && *error && (*error)->domain == G_FILE_ERROR;
		return NULL;
	}
	const uint8_t *b = rn->desc->data;
	size_t n = rn->desc->len;
	char *path = vmstate_get_str(&run_vmstate, b, n, "scenario_path");
	char *text = vmstate_get_str(&run_vmstate, b, n, "scenario");
	char *ovr = vmstate_get_str(&run_vmstate, b, n, "overrides");
	char *host = vmstate_get_str(&run_vmstate, b, n, "host");
	char **sets = g_strsplit(ovr, "\n", -1);
	/* drop the empty string after the last newline */
	for (char **x = sets; *x; x++)
		if (!**x) {
			g_free(*x);
			*x = NULL;
			break;
		}
	struct run_options o = *opt;
	o.policy = NULL;
	o.migration = NULL;
	o.have_seed = false;
	o.duration = NULL;
	o.sets = sets;
	o.scenario_text = text;
	o.snapshot_path = NULL;
	o.snapshot_at = NULL;
	o.snapshot_host = host;
	o.verify_path = snapshot;
	o.verify_at = vmstate_get_u64(&run_vmstate, b, n, "time_ps");
	struct system *sys = NULL;
	GError *e = NULL;
	if (sim_hash_str(text) !=
	    vmstate_get_u64(&run_vmstate, b, n, "scenario_hash")) {
		g_set_error(error, CONFIG_ERROR, 0,
			    "%s: the recorded scenario does not match its "
			    "hash", snapshot);
	} else if (!(sys = system_build(path, &o, io_error, &e))) {
		g_set_error(error, e->domain, e->code,
			    "%s: rebuilding the run: %s", snapshot,
			    e->message);
		g_error_free(e);
	} else if (!check_memory(sys, sf, host, snapshot, error)) {
		system_free(sys);
		sys = NULL;
	} else {
		sys->snap->verify = sf;
		sf = NULL;
	}
	snapfile_free(sf);
	g_strfreev(sets);
	g_free(path);
	g_free(text);
	g_free(ovr);
	g_free(host);
	return sys;
}

bool system_snapshot_info(const char *path, FILE *out, GError **error)
{
	const struct snap_note *rn = NULL;
	struct snapfile *sf = snap_open(path, &rn, error);
	if (!sf)
		return false;
	GString *s = g_string_new(NULL);
	g_string_append_printf(s, "%s: odpsim snapshot (ELF64 core), %u "
				  "notes, %u PT_LOAD segments\n",
			       path, sf->notes->len, sf->segs->len);
	unsigned vma = 0;
	for (guint i = 0; i < sf->notes->len; i++) {
		const struct snap_note *nt = sf->notes->pdata[i];
		const struct vmstate_desc *d =
			snapfile_desc(snap_descs, nt->type);
		if (nt->type == NT_ODPSIM_SCHEMA)
			continue;
		if (nt->type == NT_ODPSIM_RUN) {
			const uint8_t *b = nt->desc->data;
			size_t n = nt->desc->len;
			char *h = vmstate_get_str(d, b, n, "host");
			char *sp = vmstate_get_str(d, b, n, "scenario_path");
			char *ov = vmstate_get_str(d, b, n, "overrides");
			g_strdelimit(ov, "\n", ' ');
			g_string_append_printf(
				s, "RUN host=%s scenario=%s seed=%"
				   G_GUINT64_FORMAT " time=%.6f s events=%"
				   G_GUINT64_FORMAT " fingerprint=%016"
				   G_GINT64_MODIFIER "x overrides=[%s]\n",
				h, sp, vmstate_get_u64(d, b, n, "seed"),
				sim_time_to_s(vmstate_get_u64(d, b, n,
							      "time_ps")),
				vmstate_get_u64(d, b, n, "events"),
				vmstate_get_u64(d, b, n, "fingerprint"),
				g_strstrip(ov));
			g_free(h);
			g_free(sp);
			g_free(ov);
			continue;
		}
		g_string_append_printf(s, "%s ", d->name);
		vmstate_format(d, nt->desc->data, nt->desc->len, s);
		if (nt->type == NT_ODPSIM_VMA && vma < sf->segs->len) {
			const struct snap_seg *sg = sf->segs->pdata[vma++];
			g_string_append_printf(s, " (segment: %u page blocks)",
					       sg->pages->len);
		}
		g_string_append_c(s, '\n');
	}
	fputs(s->str, out);
	g_string_free(s, TRUE);
	snapfile_free(sf);
	return true;
}
