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
	if (s->kind == STAT_HIST)
		g_free(s->hist.buckets);
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

void hist_add(struct hist *h, uint64_t v)
{
	if (G_UNLIKELY(!h->buckets))
		h->buckets = g_new0(uint64_t, HIST_NBUCKETS);
	h->buckets[hist_bucket(v)]++;
	h->count++;
	h->sum += (double)v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

uint64_t hist_quantile(const struct hist *h, double q)
{
	if (!h->count)
		return 0;
	if (q <= 0)
		return h->min;
	uint64_t rank = (uint64_t)ceil(q * (double)h->count);
	if (rank < 1)
		rank = 1;
	if (rank >= h->count)
		return h->max;
	uint64_t seen = 0;
	for (unsigned b = 0; b < HIST_NBUCKETS; b++) {
		seen += h->buckets[b];
		if (seen >= rank) {
			uint64_t v = hist_bucket_high(b);
			if (v > h->max)
				v = h->max;
			if (v < h->min)
				v = h->min;
			return v;
		}
	}
	return h->max;
}

double hist_mean(const struct hist *h)
{
	return h->count ? h->sum / (double)h->count : 0.0;
}
