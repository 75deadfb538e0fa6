/*
 * sim/stats.c - the counter/histogram registry (see stats.h).
 */
#include "sim/stats.h"

#include <glib.h>
#include <math.h>
#include <string.h>

struct stats {
	GHashTable *by_name; /* char* -> struct stat_entry* (owned) */
};

static void stat_free(gpointer p)
{
	struct stat_entry *s = p;
	if (s->kind == STAT_HIST) {
		g_free(s->hist.buckets);
		g_free(s->hist.samples);
	}
	g_free(s->name);
	g_free(s);
}

struct stats *stats_new(void)
{
	struct stats *st = g_new0(struct stats, 1);
	st->by_name = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
					    stat_free);
	return st;
}

void stats_free(struct stats *st)
{
	if (!st)
		return;
	g_hash_table_destroy(st->by_name);
	g_free(st);
}

static struct stat_entry *stats_get_or_add(struct stats *st, char *name,
				     enum stat_kind kind)
{
	struct stat_entry *s = g_hash_table_lookup(st->by_name, name);
	if (s) {
		g_free(name);
		g_assert(s->kind == kind);
		return s;
	}
	s = g_new0(struct stat_entry, 1);
	s->name = name;
	s->kind = kind;
	if (kind == STAT_HIST)
		s->hist.min = UINT64_MAX;
	g_hash_table_insert(st->by_name, s->name, s);
	return s;
}

uint64_t *stats_counter(struct stats *st, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *name = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	return &stats_get_or_add(st, name, STAT_COUNTER)->counter;
}

struct hist *stats_hist(struct stats *st, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *name = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	return &stats_get_or_add(st, name, STAT_HIST)->hist;
}

const struct stat_entry *stats_find(const struct stats *st, const char *name)
{
	return g_hash_table_lookup(st->by_name, name);
}

uint64_t stats_get(const struct stats *st, const char *name)
{
	const struct stat_entry *s = stats_find(st, name);
	return s && s->kind == STAT_COUNTER ? s->counter : 0;
}

static int stat_cmp(const void *a, const void *b)
{
	const struct stat_entry *const *x = a, *const *y = b;
	return strcmp((*x)->name, (*y)->name);
}

const struct stat_entry **stats_sorted(const struct stats *st, unsigned *n)
{
	*n = g_hash_table_size(st->by_name);
	const struct stat_entry **v = g_new(const struct stat_entry *, *n + 1);
	GHashTableIter it;
	gpointer val;
	unsigned i = 0;
	g_hash_table_iter_init(&it, st->by_name);
	while (g_hash_table_iter_next(&it, NULL, &val))
		v[i++] = val;
	qsort(v, *n, sizeof(*v), stat_cmp);
	return v;
}

unsigned hist_bucket(uint64_t v)
{
	if (v < (1u << HIST_SUB_BITS))
		return (unsigned)v;
	unsigned msb = 63u - (unsigned)__builtin_clzll(v);
	unsigned shift = msb - HIST_SUB_BITS;
	unsigned sub = (unsigned)(v >> shift) - (1u << HIST_SUB_BITS);
	return ((shift + 1) << HIST_SUB_BITS) + sub;
}

uint64_t hist_bucket_low(unsigned b)
{
	if (b < (1u << HIST_SUB_BITS))
		return b;
	unsigned shift = (b >> HIST_SUB_BITS) - 1;
	uint64_t sub = b & ((1u << HIST_SUB_BITS) - 1);
	return ((1ULL << HIST_SUB_BITS) + sub) << shift;
}

uint64_t hist_bucket_high(unsigned b)
{
	if (b < (1u << HIST_SUB_BITS))
		return b;
	unsigned shift = (b >> HIST_SUB_BITS) - 1;
	return hist_bucket_low(b) + ((1ULL << shift) - 1);
}

void hist_set_exact_limit(struct hist *h, uint64_t limit)
{
	g_assert(h->count == 0 && limit > 0);
	h->exact_limit = limit;
}

static uint64_t hist_limit(const struct hist *h)
{
	return h->exact_limit ? h->exact_limit : HIST_EXACT_MAX;
}

void hist_add(struct hist *h, uint64_t v)
{
	if (G_UNLIKELY(!h->buckets))
		h->buckets = g_new0(uint64_t, HIST_NBUCKETS);
	h->buckets[hist_bucket(v)]++;
	h->count++;
	h->sum += (double)v;
	/* Welford (Knuth, TAOCP vol. 2, 4.2.2): no cancellation between
	 * large sums of squares */
	double d = (double)v - h->w_mean;
	h->w_mean += d / (double)h->count;
	h->w_m2 += d * ((double)v - h->w_mean);
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	if (h->nsamples < hist_limit(h)) {
		if (G_UNLIKELY(h->nsamples == h->samples_cap)) {
			uint64_t cap = h->samples_cap ? 2 * h->samples_cap : 64;
			if (cap > hist_limit(h))
				cap = hist_limit(h);
			h->samples = g_renew(uint64_t, h->samples, cap);
			h->samples_cap = cap;
		}
		h->samples[h->nsamples++] = v;
		h->sorted = false;
	}
}

bool hist_exact(const struct hist *h)
{
	return h->nsamples == h->count;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

const uint64_t *hist_sorted_samples(const struct hist *h, uint64_t *n)
{
	if (!h->sorted && h->nsamples) {
		/* the order of the kept samples is no part of the histogram's
		 * value: sorting them is a cache of the percentiles */
		struct hist *m = (struct hist *)h;
		qsort(m->samples, m->nsamples, sizeof(uint64_t), u64_cmp);
		m->sorted = true;
	}
	*n = h->nsamples;
	return h->samples;
}

uint64_t hist_quantile(const struct hist *h, double q)
{
	if (!h->count)
		return 0;
	if (q <= 0)
		return h->min;
	if (q >= 1)
		return h->max;
	uint64_t rank = (uint64_t)ceil(q * (double)h->count);
	if (rank < 1)
		rank = 1;
	if (rank >= h->count)
		return h->max;
	if (hist_exact(h)) {
		uint64_t n;
		const uint64_t *s = hist_sorted_samples(h, &n);
		return s[rank - 1];
	}
	/* beyond the kept samples: the bucket holding the rank, then linear
	 * interpolation by rank inside it (its samples taken as evenly
	 * spread over its bounds, clamped to the observed min and max) */
	uint64_t seen = 0;
	for (unsigned b = 0; b < HIST_NBUCKETS; b++) {
		uint64_t c = h->buckets[b];
		if (seen + c < rank) {
			seen += c;
			continue;
		}
		uint64_t lo = MAX(hist_bucket_low(b), h->min);
		uint64_t hi = MIN(hist_bucket_high(b), h->max);
		double frac = ((double)(rank - seen) - 0.5) / (double)c;
		uint64_t v = lo + (uint64_t)llround(frac * (double)(hi - lo));
		return MIN(MAX(v, h->min), h->max);
	}
	return h->max;
}

double hist_mean(const struct hist *h)
{
	return h->count ? h->sum / (double)h->count : 0.0;
}

double hist_stdev(const struct hist *h)
{
	return h->count ? sqrt(h->w_m2 / (double)h->count) : 0.0;
}

/* ---- peak rate (see stats.h) ---- */

/* (a - o) x (b - o): > 0 when b is counterclockwise of a, seen from o */
static __int128 rate_peak_cross(struct rate_peak_pt o, struct rate_peak_pt a,
				struct rate_peak_pt b)
{
	return (__int128)(a.x - o.x) * ((__int128)b.y - (__int128)o.y) -
	       ((__int128)a.y - (__int128)o.y) * (__int128)(b.x - o.x);
}

/* Put post @c on the upper hull (left to right, dropping points on or
 * under a chord). */
static void rate_peak_hull_add(struct rate_peak *p, struct rate_peak_pt c)
{
	/* same bytes before, later post: it dominates */
	if (p->nhull && p->hull[p->nhull - 1].x == c.x)
		p->nhull--;
	while (p->nhull >= 2 && rate_peak_cross(p->hull[p->nhull - 2],
						p->hull[p->nhull - 1], c) >= 0)
		p->nhull--;
	if (p->nhull == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 16;
		p->hull = g_renew(struct rate_peak_pt, p->hull, p->cap);
	}
	p->hull[p->nhull++] = c;
}

void rate_peak_post(struct rate_peak *p, uint64_t t, uint64_t bytes)
{
	if (p->wcount == p->wcap) {
		/* grow the ring, unwrapping it */
		uint32_t cap = p->wcap ? 2 * p->wcap : 64;
		struct rate_peak_pt *w = g_new(struct rate_peak_pt, cap);
		for (uint32_t i = 0; i < p->wcount; i++)
			w[i] = p->wait[(p->whead + i) % p->wcap];
		g_free(p->wait);
		p->wait = w;
		p->wcap = cap;
		p->whead = 0;
	}
	p->wait[(p->whead + p->wcount++) % p->wcap] =
		(struct rate_peak_pt){ p->posted, t };
	p->posted += bytes;
}

void rate_peak_done(struct rate_peak *p, uint64_t t, uint64_t bytes)
{
	p->done += bytes;
	struct rate_peak_pt q = { p->done, t };
	/* the posts that may now start a window: fewer bytes before them
	 * than completed, and earlier than now */
	while (p->wcount) {
		struct rate_peak_pt c = p->wait[p->whead];
		/* (a post at this instant comes after the op completing now,
		 * so it has at least q.x bytes before it: the time test
		 * only guards a caller that breaks causality) */
		if (c.x >= q.x || c.y >= q.y)
			break;
		g_assert(!p->nhull || c.y >= p->hull[p->nhull - 1].y);
		rate_peak_hull_add(p, c);
		p->whead = (p->whead + 1) % p->wcap;
		p->wcount--;
	}
	if (!p->nhull)
		return;
	/* the tangent from q: the first k whose successor is not above the
	 * line from hull[k] to q (true, then false, along a concave chain) */
	uint32_t lo = 0, hi = p->nhull - 1;
	while (lo < hi) {
		uint32_t k = lo + (hi - lo) / 2;
		if (rate_peak_cross(p->hull[k], q, p->hull[k + 1]) > 0)
			lo = k + 1;
		else
			hi = k;
	}
	uint64_t b = q.x - p->hull[lo].x, dt = q.y - p->hull[lo].y;
	if (!p->best_bytes ||
	    (__int128)b * p->best_ps > (__int128)p->best_bytes * dt) {
		p->best_bytes = b;
		p->best_ps = dt;
	}
}

bool rate_peak_get(const struct rate_peak *p, double *bytes_per_s)
{
	if (!p->best_bytes)
		return false;
	*bytes_per_s = (double)p->best_bytes / ((double)p->best_ps * 1e-12);
	return true;
}

void rate_peak_free(struct rate_peak *p)
{
	g_free(p->hull);
	g_free(p->wait);
	memset(p, 0, sizeof(*p));
}
