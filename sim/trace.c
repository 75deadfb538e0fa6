/*
 * sim/trace.c - trace filters, size cap and the CSV sink (see trace.h).
 */
#include "sim/trace.h"

#include <errno.h>
#include <string.h>

static GHashTable *name_set(const char *list)
{
	if (!list || !*list)
		return NULL;
	GHashTable *h = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					      NULL);
	char **v = g_strsplit(list, ",", -1);
	for (char **p = v; *p; p++)
		if (**p)
			g_hash_table_add(h, g_strdup(g_strstrip(*p)));
	g_strfreev(v);
	return h;
}

struct trace *trace_new(const char *hosts, const char *comps,
			const char *kinds, sim_time_t from, sim_time_t to,
			uint64_t cap_bytes)
{
	struct trace *tr = g_new0(struct trace, 1);
	tr->hosts = name_set(hosts);
	tr->comps = name_set(comps);
	tr->kinds = name_set(kinds);
	tr->from = from;
	tr->to = to ? to : SIM_TIME_MAX;
	tr->cap_bytes = cap_bytes;
	return tr;
}

void trace_add_sink(struct trace *tr, struct trace_sink *s)
{
	struct trace_sink **p = &tr->sinks;
	while (*p)
		p = &(*p)->next;
	*p = s;
}

void trace_close(struct trace *tr, const struct sim *sim)
{
	if (!tr)
		return;
	struct trace_sink *s = tr->sinks;
	while (s) {
		struct trace_sink *n = s->next;
		s->close(s, sim);
		s = n;
	}
	tr->sinks = NULL;
}

void trace_free(struct trace *tr)
{
	if (!tr)
		return;
	g_assert(!tr->sinks);
	if (tr->hosts)
		g_hash_table_destroy(tr->hosts);
	if (tr->comps)
		g_hash_table_destroy(tr->comps);
	if (tr->kinds)
		g_hash_table_destroy(tr->kinds);
	g_free(tr);
}

/* Component names are "HOST.PART" ("a.nic") or a bare name ("ab" wire). */
static bool comp_passes(const struct trace *tr, const char *comp)
{
	const char *dot = strchr(comp, '.');
	if (tr->hosts) {
		char *host = dot ? g_strndup(comp, (gsize)(dot - comp)) :
				   g_strdup(comp);
		bool ok = g_hash_table_contains(tr->hosts, host);
		g_free(host);
		if (!ok)
			return false;
	}
	if (tr->comps && !g_hash_table_contains(tr->comps, dot ? dot + 1 : comp))
		return false;
	return true;
}

void trace_emit(struct sim *sim, uint16_t comp, const struct trace_kind *k,
		uint64_t qp, uint64_t psn, uint64_t va, uint64_t frame,
		uint64_t len, const char *detail)
{
	struct trace *tr = sim->trace;
	if (tr->capped || sim->now < tr->from || sim->now > tr->to)
		return;
	if (tr->kinds && !g_hash_table_contains(tr->kinds, k->name))
		return;
	if ((tr->hosts || tr->comps) &&
	    !comp_passes(tr, sim_component_name(sim, comp)))
		return;
	struct trace_rec r = {
		.t = sim->now, .comp = comp, .kind = k, .qp = qp, .psn = psn,
		.va = va, .frame = frame, .len = len, .detail = detail,
	};
	for (struct trace_sink *s = tr->sinks; s; s = s->next)
		tr->bytes += s->emit(s, sim, &r);
	tr->records++;
	if (tr->cap_bytes && tr->bytes >= tr->cap_bytes) {
		tr->capped = true;
		fprintf(stderr,
			"odpsim: warning: trace size cap of %" G_GUINT64_FORMAT
			" bytes reached at t=%" G_GUINT64_FORMAT
			" ps after %" G_GUINT64_FORMAT
			" records; tracing stopped (raise --trace-cap or "
			"narrow the filters)\n",
			tr->cap_bytes, sim->now, tr->records);
	}
}

/* ---- CSV sink ---- */

const char trace_csv_header[] =
	"time_ps,nic_cycle,host,component,kind,qp,psn,va,frame,len,detail";

struct csv_sink {
	struct trace_sink base;
	FILE *f;
	char *path;
};

/* NIC cycle column: time at the 1 GHz reference clock of the trace schema
 * (traces/README.md); -1 never happens since time is unsigned. */
#define TRACE_REF_CYCLE_PS 1000

static void csv_field_u64(GString *s, uint64_t v, bool hex)
{
	g_string_append_c(s, ',');
	if (v == TRACE_NONE)
		return;
	if (hex)
		g_string_append_printf(s, "0x%" G_GINT64_MODIFIER "x", v);
	else
		g_string_append_printf(s, "%" G_GUINT64_FORMAT, v);
}

static uint64_t csv_emit(struct trace_sink *base, const struct sim *sim,
			 const struct trace_rec *r)
{
	struct csv_sink *s = (struct csv_sink *)base;
	const char *comp = sim_component_name(sim, r->comp);
	const char *dot = strchr(comp, '.');
	GString *line = g_string_sized_new(128);
	g_string_append_printf(line, "%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT,
			       r->t, r->t / TRACE_REF_CYCLE_PS);
	if (dot)
		g_string_append_printf(line, ",%.*s,%s", (int)(dot - comp),
				       comp, dot + 1);
	else
		g_string_append_printf(line, ",,%s", comp);
	g_string_append_printf(line, ",%s", r->kind->name);
	csv_field_u64(line, r->qp, false);
	csv_field_u64(line, r->psn, false);
	csv_field_u64(line, r->va, true);
	csv_field_u64(line, r->frame, false);
	csv_field_u64(line, r->len, false);
	g_string_append_c(line, ',');
	if (r->detail) {
		/* RFC 4180 quoting */
		g_string_append_c(line, '"');
		for (const char *p = r->detail; *p; p++) {
			if (*p == '"')
				g_string_append_c(line, '"');
			g_string_append_c(line, *p);
		}
		g_string_append_c(line, '"');
	}
	g_string_append_c(line, '\n');
	fwrite(line->str, 1, line->len, s->f);
	uint64_t n = line->len;
	g_string_free(line, TRUE);
	return n;
}

static void csv_close(struct trace_sink *base, const struct sim *sim)
{
	(void)sim;
	struct csv_sink *s = (struct csv_sink *)base;
	if (fclose(s->f) != 0)
		fprintf(stderr, "odpsim: warning: %s: %s\n", s->path,
			strerror(errno));
	g_free(s->path);
	g_free(s);
}

struct trace_sink *trace_csv_open(const char *path, GError **error)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "%s: cannot write trace: %s", path,
			    strerror(errno));
		return NULL;
	}
	struct csv_sink *s = g_new0(struct csv_sink, 1);
	s->base.emit = csv_emit;
	s->base.close = csv_close;
	s->f = f;
	s->path = g_strdup(path);
	fprintf(f, "# odpsim trace schema %d\n%s\n", TRACE_SCHEMA_VERSION,
		trace_csv_header);
	return &s->base;
}
