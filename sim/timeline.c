/*
 * sim/timeline.c - Chrome trace-event JSON timeline sink (see timeline.h).
 */
#include "sim/timeline.h"

#include <string.h>

#include "sim/json.h"
#include "sim/outfile.h"
#include "sim/version.h"

/* A BEGIN waiting for its END. */
struct tl_span {
	sim_time_t start;
	const struct trace_kind *kind;
	uint64_t qp, psn, va, frame, len;
	char *detail;
};

/* One tid: a stack of open spans that nest, and the end of the last span
 * written on it (a span moved here must start after it). */
struct tl_lane {
	unsigned tid;
	GArray *open; /* struct tl_span, outermost first */
	sim_time_t last_end;
};

struct tl_track {
	unsigned pid;
	char *name;
	const char *part; /* the component ("nic"), the events' category */
	GPtrArray *lanes; /* struct tl_lane *; lane 0 gets every BEGIN */
};

struct timeline {
	struct trace_sink base;
	FILE *f;          /* the outfile's stream (its owner commits it) */
	const char *path; /* the outfile's target, for warnings */
	unsigned nhosts;
	GHashTable *host_pid;     /* host name -> pid */
	GHashTable *tracks;       /* "pid/name" -> struct tl_track * */
	GPtrArray *track_list;    /* creation order: close walks it */
	unsigned *next_tid;       /* per pid, 1-based pids */
	GHashTable *last_counter; /* "pid/name" -> double *, last written */
	GString *buf;
	bool first;
	uint64_t unmatched, unfinished;
	bool capped; /* closing after the size cap stopped tracing */
	sim_time_t unmatched_t;
	const char *unmatched_kind;
};

/* ---- writing ---- */

static void tl_begin_event(struct timeline *tl)
{
	g_string_truncate(tl->buf, 0);
	if (!tl->first)
		g_string_append(tl->buf, ",\n");
	tl->first = false;
}

static uint64_t tl_flush(struct timeline *tl)
{
	fwrite(tl->buf->str, 1, tl->buf->len, tl->f);
	return tl->buf->len;
}

/* Microseconds with six decimals: exact to the picosecond. */
static void tl_us(GString *s, const char *key, sim_time_t ps)
{
	g_string_append_printf(s, ",\"%s\":%" G_GUINT64_FORMAT ".%06u", key,
			       ps / 1000000u, (unsigned)(ps % 1000000u));
}

static void tl_key_str(GString *s, const char *key, const char *v)
{
	g_string_append_printf(s, ",\"%s\":", key);
	json_escape(s, v);
}

static void tl_key_u64(GString *s, const char *key, uint64_t v)
{
	if (v != TRACE_NONE)
		g_string_append_printf(s, ",\"%s\":%" G_GUINT64_FORMAT, key, v);
}

/* The record's fields as args members (each preceded by a comma). */
static void tl_fields(GString *s, uint64_t qp, uint64_t psn, uint64_t va,
		      uint64_t frame, uint64_t len, const char *detail)
{
	tl_key_u64(s, "qp", qp);
	tl_key_u64(s, "psn", psn);
	if (va != TRACE_NONE)
		g_string_append_printf(s, ",\"va\":\"0x%" G_GINT64_MODIFIER
					  "x\"", va);
	tl_key_u64(s, "frame", frame);
	tl_key_u64(s, "len", len);
	if (detail)
		tl_key_str(s, "detail", detail);
}

static uint64_t tl_meta(struct timeline *tl, const char *what, unsigned pid,
			unsigned tid, const char *name)
{
	tl_begin_event(tl);
	g_string_append_printf(tl->buf, "{\"ph\":\"M\",\"name\":\"%s\","
					"\"pid\":%u", what, pid);
	if (tid)
		g_string_append_printf(tl->buf, ",\"tid\":%u", tid);
	g_string_append(tl->buf, ",\"args\":{");
	if (name) {
		g_string_append(tl->buf, "\"name\":");
		json_escape(tl->buf, name);
	} else {
		g_string_append_printf(tl->buf, "\"sort_index\":%u",
				       tid ? tid : pid);
	}
	g_string_append(tl->buf, "}}");
	return tl_flush(tl);
}

/* ---- tracks and lanes ---- */

static uint64_t tl_lane_new(struct timeline *tl, struct tl_track *tr,
			    struct tl_lane **out)
{
	struct tl_lane *l = g_new0(struct tl_lane, 1);
	l->tid = tl->next_tid[tr->pid]++;
	l->open = g_array_new(FALSE, FALSE, sizeof(struct tl_span));
	g_ptr_array_add(tr->lanes, l);
	*out = l;
	char *name = tr->lanes->len == 1 ?
			     g_strdup(tr->name) :
			     g_strdup_printf("%s #%u", tr->name, tr->lanes->len);
	uint64_t n = tl_meta(tl, "thread_name", tr->pid, l->tid, name);
	n += tl_meta(tl, "thread_sort_index", tr->pid, l->tid, NULL);
	g_free(name);
	return n;
}

static unsigned tl_pid(const struct timeline *tl, const char *host)
{
	gpointer v;
	if (host && g_hash_table_lookup_extended(tl->host_pid, host, NULL, &v))
		return GPOINTER_TO_UINT(v);
	return tl->nhosts + 1;
}

/* The track's display name: "nic.responder qp 256" (a NIC engine's work
 * for one QP), "nic", "vmm", "driver", "wire ab", "workload bw". */
static char *tl_track_name(const struct trace_rec *r)
{
	const char *p = r->part;
	if (r->host)
		return r->qp != TRACE_NONE && !strncmp(p, "nic", 3) ?
			       g_strdup_printf("%s qp %" G_GUINT64_FORMAT, p,
					       r->qp) :
			       g_strdup(p);
	size_t n = strlen(p);
	if (n > 5 && !strcmp(p + n - 5, ".wire"))
		return g_strdup_printf("wire %.*s", (int)(n - 5), p);
	if (!strncmp(p, "wl.", 3))
		return g_strdup_printf("workload %s", p + 3);
	return g_strdup(p);
}

static struct tl_track *tl_track(struct timeline *tl,
				 const struct trace_rec *r, uint64_t *bytes)
{
	unsigned pid = tl_pid(tl, r->host);
	char *name = tl_track_name(r);
	char *key = g_strdup_printf("%u/%s", pid, name);
	struct tl_track *tr = g_hash_table_lookup(tl->tracks, key);
	if (tr) {
		g_free(key);
		g_free(name);
		return tr;
	}
	tr = g_new0(struct tl_track, 1);
	tr->pid = pid;
	tr->name = name;
	tr->part = r->part;
	tr->lanes = g_ptr_array_new();
	g_hash_table_insert(tl->tracks, key, tr);
	g_ptr_array_add(tl->track_list, tr);
	struct tl_lane *l;
	*bytes += tl_lane_new(tl, tr, &l);
	return tr;
}

/* ---- events ---- */

static uint64_t tl_instant(struct timeline *tl, const struct trace_rec *r,
			   unsigned pid, unsigned tid, bool unmatched)
{
	tl_begin_event(tl);
	GString *s = tl->buf;
	g_string_append(s, "{\"ph\":\"i\",\"s\":\"t\"");
	tl_key_str(s, "name", r->kind->name);
	tl_key_str(s, "cat", r->part);
	tl_us(s, "ts", r->t);
	g_string_append_printf(s, ",\"pid\":%u,\"tid\":%u,\"args\":{\"t_ps\":%"
				  G_GUINT64_FORMAT, pid, tid, r->t);
	tl_fields(s, r->qp, r->psn, r->va, r->frame, r->len, r->detail);
	if (unmatched)
		g_string_append(s, ",\"unmatched_end\":true");
	g_string_append(s, "}}");
	return tl_flush(tl);
}

static uint64_t tl_complete(struct timeline *tl, const struct tl_track *tr,
			    struct tl_lane *l, const struct tl_span *sp,
			    sim_time_t end, const struct trace_kind *end_kind)
{
	tl_begin_event(tl);
	GString *s = tl->buf;
	g_string_append(s, "{\"ph\":\"X\"");
	tl_key_str(s, "name", sp->kind->span ? sp->kind->span :
					       sp->kind->name);
	tl_key_str(s, "cat", tr->part);
	tl_us(s, "ts", sp->start);
	tl_us(s, "dur", end - sp->start);
	g_string_append_printf(s, ",\"pid\":%u,\"tid\":%u,\"args\":{", tr->pid,
			       l->tid);
	g_string_append(s, "\"begin\":");
	json_escape(s, sp->kind->name);
	if (end_kind)
		tl_key_str(s, "end", end_kind->name);
	g_string_append_printf(s, ",\"t_ps\":%" G_GUINT64_FORMAT
				  ",\"dur_ps\":%" G_GUINT64_FORMAT,
			       sp->start, end - sp->start);
	tl_fields(s, sp->qp, sp->psn, sp->va, sp->frame, sp->len, sp->detail);
	if (!end_kind)
		g_string_append(s, tl->capped ? ",\"unfinished\":true,"
						"\"capped\":true" :
						",\"unfinished\":true");
	g_string_append(s, "}}");
	if (end > l->last_end)
		l->last_end = end;
	return tl_flush(tl);
}

static bool tl_span_matches(const struct tl_span *sp,
			    const struct trace_rec *r)
{
	const char *a = sp->kind->span ? sp->kind->span : sp->kind->name;
	const char *b = r->kind->span ? r->kind->span : r->kind->name;
	return sp->qp == r->qp && sp->va == r->va && !strcmp(a, b);
}

static uint64_t tl_end(struct timeline *tl, struct tl_track *tr,
		       const struct trace_rec *r)
{
	for (guint li = 0; li < tr->lanes->len; li++) {
		struct tl_lane *l = tr->lanes->pdata[li];
		for (guint i = l->open->len; i-- > 0;) {
			struct tl_span *sp =
				&g_array_index(l->open, struct tl_span, i);
			if (!tl_span_matches(sp, r))
				continue;
			uint64_t n = tl_complete(tl, tr, l, sp, r->t, r->kind);
			g_free(sp->detail);
			guint above = l->open->len - i - 1;
			if (above) {
				/* later spans still open would cross this
				 * one: move them to a lane they nest in */
				struct tl_span *first = sp + 1;
				struct tl_lane *m = NULL;
				for (guint k = 0; k < tr->lanes->len && !m;
				     k++) {
					struct tl_lane *c = tr->lanes->pdata[k];
					if (c != l && c->open->len == 0 &&
					    c->last_end <= first->start)
						m = c;
				}
				if (!m)
					n += tl_lane_new(tl, tr, &m);
				g_array_append_vals(m->open, first, above);
			}
			g_array_set_size(l->open, i);
			return n;
		}
	}
	/* an END without a BEGIN: shown, counted, reported at close */
	if (!tl->unmatched++) {
		tl->unmatched_t = r->t;
		tl->unmatched_kind = r->kind->name;
	}
	struct tl_lane *l0 = tr->lanes->pdata[0];
	return tl_instant(tl, r, tr->pid, l0->tid, true);
}

static uint64_t tl_emit(struct trace_sink *base, const struct sim *sim,
			const struct trace_rec *r)
{
	(void)sim;
	struct timeline *tl = (struct timeline *)base;
	uint64_t n = 0;
	struct tl_track *tr = tl_track(tl, r, &n);
	struct tl_lane *l0 = tr->lanes->pdata[0];
	switch (r->kind->phase) {
	case TRACE_BEGIN: {
		struct tl_span sp = {
			r->t, r->kind, r->qp, r->psn, r->va, r->frame, r->len,
			g_strdup(r->detail),
		};
		g_array_append_val(l0->open, sp);
		break;
	}
	case TRACE_END:
		n += tl_end(tl, tr, r);
		break;
	case TRACE_COUNTER: {
		/* a counter kind: its value is the len field */
		tl_begin_event(tl);
		GString *s = tl->buf;
		g_string_append(s, "{\"ph\":\"C\"");
		tl_key_str(s, "name", r->kind->name);
		tl_us(s, "ts", r->t);
		g_string_append_printf(s, ",\"pid\":%u,\"args\":{\"value\":%"
					  G_GUINT64_FORMAT "}}", tr->pid,
				       r->len == TRACE_NONE ? 0 : r->len);
		n += tl_flush(tl);
		break;
	}
	case TRACE_INSTANT:
	default:
		n += tl_instant(tl, r, tr->pid, l0->tid, false);
		break;
	}
	return n;
}

static uint64_t tl_counter(struct trace_sink *base,
			   const struct trace_counter_rec *c)
{
	struct timeline *tl = (struct timeline *)base;
	unsigned pid = tl_pid(tl, c->host);
	char *key = g_strdup_printf("%u/%s", pid, c->name);
	double *last = g_hash_table_lookup(tl->last_counter, key);
	if (last && *last == c->value) {
		g_free(key);
		return 0;
	}
	if (!last) {
		last = g_new(double, 1);
		g_hash_table_insert(tl->last_counter, key, last);
	} else {
		g_free(key);
	}
	*last = c->value;
	char num[G_ASCII_DTOSTR_BUF_SIZE];
	/* locale-independent, so a comma-decimal locale cannot break JSON */
	g_ascii_formatd(num, sizeof(num), "%.9g", c->value);
	tl_begin_event(tl);
	GString *s = tl->buf;
	g_string_append(s, "{\"ph\":\"C\"");
	tl_key_str(s, "name", c->name);
	tl_us(s, "ts", c->t);
	g_string_append_printf(s, ",\"pid\":%u,\"args\":{", pid);
	json_escape(s, c->unit);
	g_string_append_printf(s, ":%s}}", num);
	return tl_flush(tl);
}

static void tl_track_free(gpointer p)
{
	struct tl_track *tr = p;
	for (guint i = 0; i < tr->lanes->len; i++) {
		struct tl_lane *l = tr->lanes->pdata[i];
		g_array_free(l->open, TRUE);
		g_free(l);
	}
	g_ptr_array_free(tr->lanes, TRUE);
	g_free(tr->name);
	g_free(tr);
}

static void tl_close(struct trace_sink *base, const struct sim *sim,
		     const struct trace *trace)
{
	struct timeline *tl = (struct timeline *)base;
	/* spans still open end now, or when the size cap stopped tracing
	 * (nothing after it was seen), innermost first, so they nest */
	bool capped = trace && trace->capped;
	sim_time_t end = capped ? trace->capped_at : sim->now;
	tl->capped = capped;
	for (guint t = 0; t < tl->track_list->len; t++) {
		struct tl_track *tr = tl->track_list->pdata[t];
		for (guint li = 0; li < tr->lanes->len; li++) {
			struct tl_lane *l = tr->lanes->pdata[li];
			for (guint i = l->open->len; i-- > 0;) {
				struct tl_span *sp = &g_array_index(
					l->open, struct tl_span, i);
				tl_complete(tl, tr, l, sp, end, NULL);
				g_free(sp->detail);
				tl->unfinished++;
			}
			g_array_set_size(l->open, 0);
		}
	}
	fprintf(tl->f,
		"\n],\n\"otherData\":{\"generator\":\"odpsim %s\","
		"\"schema\":%d,\"end_ps\":%" G_GUINT64_FORMAT
		",\"unmatched_ends\":%" G_GUINT64_FORMAT
		",\"unfinished_spans\":%" G_GUINT64_FORMAT,
		ODPSIM_VERSION, TRACE_SCHEMA_VERSION, sim->now, tl->unmatched,
		tl->unfinished);
	if (capped)
		fprintf(tl->f, ",\"capped_at_ps\":%" G_GUINT64_FORMAT, end);
	fputs("}}\n", tl->f);
	if (tl->unmatched)
		fprintf(stderr,
			"odpsim: warning: %s: %" G_GUINT64_FORMAT
			" span END event(s) without a BEGIN (first: %s at t=%"
			G_GUINT64_FORMAT " ps), shown as instants with "
			"\"unmatched_end\"\n",
			tl->path, tl->unmatched, tl->unmatched_kind,
			tl->unmatched_t);
	g_hash_table_destroy(tl->tracks);
	g_ptr_array_free(tl->track_list, TRUE);
	g_hash_table_destroy(tl->host_pid);
	g_hash_table_destroy(tl->last_counter);
	g_string_free(tl->buf, TRUE);
	g_free(tl->next_tid);
	g_free(tl);
}

struct trace_sink *timeline_open(struct outfile *of, const char *const *hosts,
				 unsigned nhosts)
{
	FILE *f = outfile_stream(of);
	struct timeline *tl = g_new0(struct timeline, 1);
	tl->base.emit = tl_emit;
	tl->base.counter = tl_counter;
	tl->base.close = tl_close;
	tl->f = f;
	tl->path = outfile_path(of);
	tl->nhosts = nhosts;
	tl->host_pid = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					     NULL);
	tl->tracks = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					   NULL);
	tl->track_list = g_ptr_array_new_with_free_func(tl_track_free);
	tl->last_counter = g_hash_table_new_full(g_str_hash, g_str_equal,
						 g_free, g_free);
	tl->next_tid = g_new(unsigned, nhosts + 2);
	for (unsigned i = 0; i < nhosts + 2; i++)
		tl->next_tid[i] = 1;
	tl->buf = g_string_sized_new(256);
	tl->first = true;
	fputs("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n", f);
	for (unsigned i = 0; i <= nhosts; i++) {
		char *name = i < nhosts ? g_strdup_printf("host %s", hosts[i]) :
					  g_strdup("global (wires, workloads)");
		if (i < nhosts)
			g_hash_table_insert(tl->host_pid, g_strdup(hosts[i]),
					    GUINT_TO_POINTER(i + 1));
		tl_meta(tl, "process_name", i + 1, 0, name);
		tl_meta(tl, "process_sort_index", i + 1, 0, NULL);
		g_free(name);
	}
	return &tl->base;
}
