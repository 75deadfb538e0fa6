/*
 * sim/series.h - time series sampled at a fixed simulated interval into
 * series.csv (one row per interval, one column per registered series).
 *
 * Models register a pointer to a counter with its mode: LEVEL prints the
 * value at the sample instant (resident pages), DELTA prints the increase
 * over the interval (bytes, faults).  Sampling is driven by the run loop
 * between sim_run_until() calls, not by events, so asking for a series
 * never changes a run's fingerprint.
 */
#ifndef SIM_SERIES_H
#define SIM_SERIES_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sim/time.h"

enum series_mode { SERIES_LEVEL, SERIES_DELTA };

struct series;

struct series *series_new(void);
void series_free(struct series *s);
void series_add(struct series *s, const char *name, const uint64_t *value,
		enum series_mode mode);
unsigned series_count(const struct series *s);
/* Write the header and then a row per sample to @f (an outfile's stream,
 * sim/outfile.h, which reports write errors when its owner commits it). */
void series_open(struct series *s, FILE *f);
/* Also hand every sampled value to @fn (the timeline's counter tracks):
 * @value is the level or the increase over @dt, as the mode says.
 * Sampling then runs even with no file open. */
typedef void (*series_observer_fn)(void *ctx, const char *name,
				   enum series_mode mode, uint64_t value,
				   sim_time_t dt);
void series_set_observer(struct series *s, series_observer_fn fn, void *ctx);
/* Write one row for the interval ending at @t. */
void series_sample(struct series *s, sim_time_t t);
/* Stop writing (the stream is its owner's to commit). */
void series_close(struct series *s);

#endif
