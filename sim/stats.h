/*
 * sim/stats.h - counters and histograms in one registry keyed by dotted
 * names ("b.nic.page_faults").
 *
 * Representation: a GHashTable from name to a heap-allocated record whose
 * address never changes, so a model looks its counters up once at build time
 * and increments a plain uint64_t on the hot path.  Histograms are
 * log-linear (HdrHistogram-style): values below 2^HIST_SUB_BITS are exact;
 * above, each power of two is split into 2^HIST_SUB_BITS linear sub-buckets,
 * a relative precision of 1/64 (1.6%).  Exact count, sum, min and max are
 * kept beside the buckets.
 */
#ifndef SIM_STATS_H
#define SIM_STATS_H

#include <stdbool.h>
#include <stdint.h>

#define HIST_SUB_BITS 6
#define HIST_NBUCKETS ((65 - HIST_SUB_BITS) << HIST_SUB_BITS)

struct hist {
	uint64_t count;
	uint64_t min, max;
	double sum;
	uint64_t *buckets; /* HIST_NBUCKETS, allocated on first add */
};

enum stat_kind { STAT_COUNTER, STAT_HIST };

struct stat_entry {
	char *name;
	enum stat_kind kind;
	union {
		uint64_t counter;
		struct hist hist;
	};
};

struct stats;

struct stats *stats_new(void);
void stats_free(struct stats *st);

/* The counter called @name (printf format), created at 0 if absent. */
uint64_t *stats_counter(struct stats *st, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
struct hist *stats_hist(struct stats *st, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Existing stat or NULL. */
const struct stat_entry *stats_find(const struct stats *st, const char *name);
/* Value of a counter, 0 when absent. */
uint64_t stats_get(const struct stats *st, const char *name);

/* All stats sorted by name; free the array (not the elements) with g_free. */
const struct stat_entry **stats_sorted(const struct stats *st, unsigned *n);

void hist_add(struct hist *h, uint64_t v);
/* Value at quantile @q in [0,1]: the highest value of the bucket holding
 * rank ceil(q * count), clamped to [min, max]; 0 when empty. */
uint64_t hist_quantile(const struct hist *h, double q);
double hist_mean(const struct hist *h);
/* bucket index and bounds, exposed for tests */
unsigned hist_bucket(uint64_t v);
uint64_t hist_bucket_low(unsigned b);
uint64_t hist_bucket_high(unsigned b);

#endif
