/*
 * sim/trace.c - trace filters, size cap and the CSV sink (see trace.h).
 */
#include "sim/trace.h"

#include <string.h>

#include "sim/outfile.h"

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
		s->close(s, sim, tr);
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
	if (tr->known_hosts)
		g_hash_table_destroy(tr->known_hosts);
	for (uint32_t i = 0; i < tr->nsplit; i++)
		g_free(tr->split[i].host);
	g_free(tr->split);
	g_free(tr->comp_pass);
	g_free(tr);
}

void trace_set_hosts(struct trace *tr, const char *const *names, unsigned n)
{
	if (!tr->known_hosts)
		tr->known_hosts = g_hash_table_new_full(g_str_hash, g_str_equal,
							g_free, NULL);
	for (unsigned i = 0; i < n; i++)
		g_hash_table_add(tr->known_hosts, g_strdup(names[i]));
}

/* Component names are "HOST.PART" ("a.nic") or a name outside any host
 * ("ab.wire", "wl.bw").  Split once per component, on first use. */
const struct trace_comp_split *trace_comp(struct trace *tr,
					  const struct sim *sim, uint16_t comp)
{
	if (comp >= tr->nsplit) {
		uint32_t n = sim->ncomps > comp ? sim->ncomps : comp + 1u;
		tr->split = g_renew(struct trace_comp_split, tr->split, n);
		memset(tr->split + tr->nsplit, 0,
		       (n - tr->nsplit) * sizeof(*tr->split));
		tr->nsplit = n;
	}
	struct trace_comp_split *sp = &tr->split[comp];
	if (!sp->part) {
		const char *name = sim_component_name(sim, comp);
		const char *dot = strchr(name, '.');
		char *host = dot ? g_strndup(name, (gsize)(dot - name)) : NULL;
		if (host && tr->known_hosts &&
		    !g_hash_table_contains(tr->known_hosts, host)) {
			g_free(host);
			host = NULL;
		}
		sp->host = host;
		sp->part = host ? dot + 1 : name;
	}
	return sp;
}

/* A component filter entry matches the component column ("nic",
 * "ab.wire") or, outside hosts, any dotted part of it ("wire"). */
static bool part_passes(const struct trace *tr, const char *host,
			const char *part)
{
	if (g_hash_table_contains(tr->comps, part))
		return true;
	if (host) {
		/* "nic" also keeps the NIC's engines ("nic.responder") */
		const char *dot = strchr(part, '.');
		if (!dot)
			return false;
		char *first = g_strndup(part, (gsize)(dot - part));
		bool ok = g_hash_table_contains(tr->comps, first);
		g_free(first);
		return ok;
	}
	bool ok = false;
	char **v = g_strsplit(part, ".", -1);
	for (char **p = v; *p && !ok; p++)
		ok = g_hash_table_contains(tr->comps, *p);
	g_strfreev(v);
	return ok;
}

static bool comp_passes(const struct trace *tr, const char *host,
			const char *part)
{
	if (tr->hosts && (!host || !g_hash_table_contains(tr->hosts, host)))
		return false;
	if (tr->comps && !part_passes(tr, host, part))
		return false;
	return true;
}

static void trace_check_cap(struct trace *tr, sim_time_t now)
{
	if (tr->cap_bytes && tr->bytes >= tr->cap_bytes) {
		tr->capped = true;
		tr->capped_at = now;
		fprintf(stderr,
			"odpsim: warning: trace size cap of %" G_GUINT64_FORMAT
			" bytes reached at t=%" G_GUINT64_FORMAT
			" ps after %" G_GUINT64_FORMAT
			" records; tracing stopped (raise --trace-cap or "
			"narrow the filters)\n",
			tr->cap_bytes, now, tr->records);
	}
}

bool trace_comp_decide(struct trace *tr, const struct sim *sim,
		       uint16_t comp)
{
	if (comp >= tr->ncomp_pass) {
		uint32_t n = sim->ncomps > comp ? sim->ncomps : comp + 1u;
		tr->comp_pass = g_renew(uint8_t, tr->comp_pass, n);
		memset(tr->comp_pass + tr->ncomp_pass, 0, n - tr->ncomp_pass);
		tr->ncomp_pass = n;
	}
	const struct trace_comp_split *sp = trace_comp(tr, sim, comp);
	bool ok = comp_passes(tr, sp->host, sp->part);
	tr->comp_pass[comp] = ok ? 1 : 2;
	return ok;
}

bool trace_kind_decide(struct trace *tr, const struct trace_kind *k)
{
	struct trace_kmemo *m =
		&tr->kmemo[((uintptr_t)k >> 3) & (TRACE_KCACHE - 1)];
	m->kind = k;
	m->pass = g_hash_table_contains(tr->kinds, k->name);
	return m->pass;
}

void trace_emit(struct sim *sim, uint16_t comp, const struct trace_kind *k,
		const char *as, uint64_t qp, uint64_t psn, uint64_t va,
		uint64_t frame, uint64_t len, const char *detail)
{
	struct trace *tr = sim->trace;
	const struct trace_comp_split *sp = trace_comp(tr, sim, comp);
	struct trace_rec r = {
		.t = sim->now, .comp = comp, .host = sp->host,
		.part = sp->part, .kind = k, .as = as, .qp = qp, .psn = psn,
		.va = va,
		.frame = frame, .len = len, .detail = detail,
	};
	for (struct trace_sink *s = tr->sinks; s; s = s->next)
		tr->bytes += s->emit(s, sim, &r);
	tr->records++;
	trace_check_cap(tr, sim->now);
}

void trace_counter(struct sim *sim, sim_time_t t, const char *name,
		   const char *unit, double value)
{
	struct trace *tr = sim->trace;
	if (!tr || tr->capped || t < tr->from || t > tr->to)
		return;
	/* "a.nic.tx_bytes": host "a", component "nic" */
	const char *dot = strchr(name, '.');
	char *host = dot ? g_strndup(name, (gsize)(dot - name)) : NULL;
	if (host && tr->known_hosts &&
	    !g_hash_table_contains(tr->known_hosts, host)) {
		g_free(host);
		host = NULL;
	}
	bool ok = true;
	if (tr->hosts || tr->comps) {
		const char *p = host ? dot + 1 : name;
		const char *d2 = strchr(p, '.');
		char *part = d2 ? g_strndup(p, (gsize)(d2 - p)) : g_strdup(p);
		ok = comp_passes(tr, host, host ? part : name);
		g_free(part);
	}
	if (ok) {
		struct trace_counter_rec c = { t, host, name, unit, value };
		for (struct trace_sink *s = tr->sinks; s; s = s->next)
			if (s->counter)
				tr->bytes += s->counter(s, &c);
		trace_check_cap(tr, sim->now);
	}
	g_free(host);
}

/* ---- CSV sink ---- */

const char trace_csv_header[] =
	"time_ps,nic_cycle,host,component,kind,qp,psn,as,va,frame,len,detail";

struct csv_sink {
	struct trace_sink base;
	FILE *f; /* the outfile's stream: errors are reported at its commit */
};

/* NIC cycle column: time at the 1 GHz reference clock of the trace schema
 * (traces/README.md); -1 never happens since time is unsigned. */
#define TRACE_REF_CYCLE_PS 1000

/*
 * A record is formatted into one buffer by hand (decimal and hex digits,
 * strings copied) and written with one fwrite: printf-family calls were
 * most of what a full trace cost.  The line is what "%llu", "0x%llx" and
 * RFC 4180 quoting of the detail give (tests/test_trace.c reads it back).
 */
struct csv_line {
	char *p, *end;
};

static void csv_put(struct csv_line *l, const char *s, size_t n)
{
	g_assert((size_t)(l->end - l->p) >= n);
	memcpy(l->p, s, n);
	l->p += n;
}

static void csv_str(struct csv_line *l, const char *s)
{
	csv_put(l, s, strlen(s));
}

static void csv_dec(struct csv_line *l, uint64_t v)
{
	char d[20];
	int n = 0;
	do {
		d[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	g_assert(l->end - l->p >= n);
	while (n)
		*l->p++ = d[--n];
}

static void csv_hex(struct csv_line *l, uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	char d[16];
	int n = 0;
	do {
		d[n++] = digits[v & 15];
		v >>= 4;
	} while (v);
	g_assert(l->end - l->p >= n + 2);
	*l->p++ = '0';
	*l->p++ = 'x';
	while (n)
		*l->p++ = d[--n];
}

/* @s, in RFC 4180 quotes (each quote doubled) when @quote */
static void csv_quoted(struct csv_line *l, const char *s, bool quote)
{
	if (!quote) {
		csv_str(l, s);
		return;
	}
	*l->p++ = '"';
	for (const char *p = s; *p; p++) {
		if (*p == '"')
			*l->p++ = '"';
		*l->p++ = *p;
	}
	*l->p++ = '"';
}

static void csv_field_u64(struct csv_line *l, uint64_t v, bool hex)
{
	csv_put(l, ",", 1);
	if (v == TRACE_NONE)
		return;
	if (hex)
		csv_hex(l, v);
	else
		csv_dec(l, v);
}

static uint64_t csv_emit(struct trace_sink *base, const struct sim *sim,
			 const struct trace_rec *r)
{
	struct csv_sink *s = (struct csv_sink *)base;
	(void)sim;
	size_t dlen = r->detail ? strlen(r->detail) : 0;
	/* fixed fields: 7 numbers of up to 20 digits (hex: 18), commas, a
	 * newline; names; the detail, each quote doubled, in quotes */
	size_t need = 7 * 21 + 17 + (r->host ? strlen(r->host) : 0) +
		      strlen(r->part) + strlen(r->kind->name) +
		      (r->as ? 2 * strlen(r->as) + 2 : 0) + 2 * dlen + 2;
	char stack[512];
	char *buf = need <= sizeof(stack) ? stack : g_malloc(need);
	struct csv_line l = { buf, buf + need };
	csv_dec(&l, r->t);
	csv_put(&l, ",", 1);
	csv_dec(&l, r->t / TRACE_REF_CYCLE_PS);
	csv_put(&l, ",", 1);
	if (r->host)
		csv_str(&l, r->host);
	csv_put(&l, ",", 1);
	csv_str(&l, r->part);
	csv_put(&l, ",", 1);
	csv_str(&l, r->kind->name);
	csv_field_u64(&l, r->qp, false);
	csv_field_u64(&l, r->psn, false);
	csv_put(&l, ",", 1);
	if (r->as)
		csv_quoted(&l, r->as, strpbrk(r->as, ",\"\n") != NULL);
	csv_field_u64(&l, r->va, true);
	csv_field_u64(&l, r->frame, false);
	csv_field_u64(&l, r->len, false);
	csv_put(&l, ",", 1);
	if (r->detail)
		csv_quoted(&l, r->detail, true);
	*l.p++ = '\n';
	g_assert(l.p <= l.end);
	size_t n = (size_t)(l.p - buf);
	fwrite(buf, 1, n, s->f);
	if (buf != stack)
		g_free(buf);
	return n;
}

static void csv_close(struct trace_sink *base, const struct sim *sim,
		      const struct trace *tr)
{
	(void)sim;
	(void)tr;
	g_free(base);
}

struct trace_sink *trace_csv_open(struct outfile *of)
{
	FILE *f = outfile_stream(of);
	struct csv_sink *s = g_new0(struct csv_sink, 1);
	s->base.emit = csv_emit;
	s->base.close = csv_close;
	s->f = f;
	fprintf(f, "# odpsim trace schema %d\n%s\n", TRACE_SCHEMA_VERSION,
		trace_csv_header);
	return &s->base;
}
