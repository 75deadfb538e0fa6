/*
 * sim/system/figures.h - figures read from a run's summary, the JSON object
 * `odpsim run --json` prints, by name suffix: "nic.page_faults" is the sum
 * of every counter HOST.nic.page_faults, "nic.reg_time" folds every
 * histogram HOST.nic.reg_time_UNIT.  `odpsim compare`'s table and `odpsim
 * sweep`'s campaign database read runs only through these (never a live
 * system), so they read the same whether the runs were local, parallel or
 * on a cluster, and new hosts and counters need no code.
 */
#ifndef SIM_SYSTEM_FIGURES_H
#define SIM_SYSTEM_FIGURES_H

#include <stdbool.h>
#include <stdint.h>

#include "sim/json.h"

/* Seconds per unit of a name ending in _ps, _ns, _us, _ms or _s; 0 when
 * it ends in none. */
double figures_time_unit(const char *name);

/* Does @name (HOST.nic.page_faults) end with the figure @suffix at a dot?
 * With @time_unit, the name may carry a unit after the suffix
 * (HOST.nic.reg_time_ps for "nic.reg_time"). */
bool figures_name_matches(const char *name, const char *suffix,
			  bool time_unit);

/* A JSON number as a double (exact for integers below 2^53); 0 for
 * anything else (absent, null, a string). */
double figures_num(const struct json_value *v);

/* Sum of the counters HOST.@suffix; false when the run has none. */
bool figures_counter_sum(const struct json_value *run, const char *suffix,
			 uint64_t *sum);

enum figures_hist_fold { FIGURES_HIST_MAX, FIGURES_HIST_TOTAL };

/* Over the histograms HOST.@suffix_UNIT, in seconds: the largest max
 * (FIGURES_HIST_MAX; empty histograms have none) or the sum of count x
 * mean (FIGURES_HIST_TOTAL); false when the run has none. */
bool figures_hist_fold(const struct json_value *run, const char *suffix,
		       enum figures_hist_fold fold, double *secs);

#endif
