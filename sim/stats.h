/*
 * sim/stats.h - counters and histograms in one registry keyed by dotted
 * names ("b.nic.page_faults").
 *
 * Representation: a GHashTable from name to a heap-allocated record whose
 * address never changes, so a model looks its counters up once at build time
 * and increments a plain uint64_t on the hot path.
 *
 * A histogram keeps three things.  (1) Exact count, sum, min, max, and the
 * running mean and sum of squared deviations (Welford's update), for the
 * mean and the standard deviation.  (2) Every sample itself, in an array
 * that grows by doubling up to HIST_EXACT_MAX samples (8 MiB): up to that
 * many, every percentile is exact (nearest rank: the smallest sample with
 * at least q x count samples at or below it), so it is one of the samples
 * and never outside [min, max], and a constant distribution has every
 * percentile equal to its mean.  (3) Log-linear buckets (HdrHistogram-
 * style): values below 2^HIST_SUB_BITS are exact; above, each power of two
 * is split into 2^HIST_SUB_BITS linear sub-buckets, a relative width of
 * 1/64 (1.6%).  Past HIST_EXACT_MAX samples the percentile comes from the
 * buckets: the bucket holding the rank, then linear interpolation by rank
 * inside it, between the bucket's bounds clamped to [min, max]; its error
 * is below the bucket's width (1.6% of the value), and it is flagged as
 * not exact (hist_exact()).  The workload assumed: tens of millions of
 * samples at most per run, added one at a time (an amortised append and a
 * bucket increment, no other allocation), read once at the end.
 */
#ifndef SIM_STATS_H
#define SIM_STATS_H

#include <stdbool.h>
#include <stdint.h>

#define HIST_SUB_BITS 6
#define HIST_NBUCKETS ((65 - HIST_SUB_BITS) << HIST_SUB_BITS)
/* Samples kept for exact percentiles (2^20: 8 MiB per histogram at most). */
#define HIST_EXACT_MAX (1u << 20)

struct hist {
	uint64_t count;
	uint64_t min, max;
	double sum;
	double w_mean, w_m2; /* Welford: running mean, sum of squared
			      * deviations from it */
	uint64_t *buckets; /* HIST_NBUCKETS, allocated on first add */
	uint64_t *samples; /* the first min(count, limit) samples */
	uint64_t nsamples, samples_cap;
	uint64_t exact_limit; /* samples kept; 0: HIST_EXACT_MAX */
	bool sorted;          /* samples[] is in ascending order */
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
/* Value at quantile @q in [0,1], nearest rank: the sample of rank
 * max(1, ceil(q * count)) in ascending order, exact while every sample is
 * kept (hist_exact), else interpolated in its bucket (see above); always
 * in [min, max]; 0 when empty (callers print an empty histogram's
 * figures as absent). */
uint64_t hist_quantile(const struct hist *h, double q);
/* Are the percentiles exact (every sample kept)? */
bool hist_exact(const struct hist *h);
/* The kept samples in ascending order (sorted on first call after an
 * add), hist_exact() samples when exact; *n gets their number. */
const uint64_t *hist_sorted_samples(const struct hist *h, uint64_t *n);
/* Keep at most @limit samples (tests; default HIST_EXACT_MAX).  Only
 * before the first add. */
void hist_set_exact_limit(struct hist *h, uint64_t limit);
double hist_mean(const struct hist *h);
/* Population standard deviation (as perftest's t_stdev divides by the
 * number of samples); 0 when empty. */
double hist_stdev(const struct hist *h);
/*
 * Peak rate of a stream of operations, as perftest defines "BW peak": the
 * best average over any window from the i-th post to the j-th completion,
 * (bytes completed up to j - bytes posted before i) / (completion j - post
 * i) (perftest src/perftest_parameters.c, print_report_bw(): the smallest
 * (tcompleted[j] - tposted[i]) / (j - i + 1) over its global post and
 * completion orders, with every completion signalled, cq_mod = 1).  The
 * operations completed by j and not posted before i are at least that many
 * bytes, all posted and completed inside the window, so the peak never
 * exceeds what the link carries, whatever the order of completions across
 * QPs and whatever the message sizes.
 *
 * Exact and online: at each completion j, the best i is where the line
 * from (bytes completed, now) touches the upper convex hull of the points
 * (bytes posted before i, post time of i) of the posts that can start a
 * window ending at j (fewer bytes before them than completed, earlier than
 * now), a tangent found by binary search.  Posts wait in a FIFO until they
 * qualify (both coordinates only grow, so they qualify in order, and stay
 * qualified), then join the hull.  O(log h) per completion; the memory is
 * the hull's h points and the posts in flight, amortised appends (a
 * handful of hull points in a steady stream, at most one per post when the
 * post rate only ever slows down).
 */
struct rate_peak_pt {
	uint64_t x; /* bytes posted before this post */
	uint64_t y; /* its time, ps */
};
struct rate_peak {
	uint64_t posted, done; /* bytes */
	uint64_t best_bytes, best_ps; /* the best window; 0 bytes: none */
	struct rate_peak_pt *hull;
	uint32_t nhull, cap;
	struct rate_peak_pt *wait; /* posts not on the hull yet: a ring */
	uint32_t whead, wcount, wcap;
};
/* An operation of @bytes posted at @t (ps); posts in time order. */
void rate_peak_post(struct rate_peak *p, uint64_t t, uint64_t bytes);
/* An operation of @bytes completed at @t, after every post so far. */
void rate_peak_done(struct rate_peak *p, uint64_t t, uint64_t bytes);
/* The peak in bytes per second; false when no window moved a byte. */
bool rate_peak_get(const struct rate_peak *p, double *bytes_per_s);
void rate_peak_free(struct rate_peak *p);

/* bucket index and bounds, exposed for tests */
unsigned hist_bucket(uint64_t v);
uint64_t hist_bucket_low(unsigned b);
uint64_t hist_bucket_high(unsigned b);

#endif
