/*
 * sim/system/summary.h - perftest's report blocks from a run's summary
 * (sim/system/summary.c; the text and JSON summaries are declared in
 * system.h).
 */
#ifndef SIM_SYSTEM_SUMMARY_H
#define SIM_SYSTEM_SUMMARY_H

#include <glib.h>
#include <stdbool.h>
#include <stdio.h>

#include "sim/json.h"

/* --format of run (text, json, perftest) and compare (table, json,
 * perftest). */
enum summary_format { SUMMARY_TEXT, SUMMARY_JSON, SUMMARY_PERFTEST };
/* @name (NULL: the default) with --json given or not; @compare names
 * the text format "table".  False, with a usage message, for an unknown
 * name or --json with another format. */
bool summary_format_parse(const char *name, bool json, bool compare,
			  enum summary_format *fmt, GError **error);

/* The blocks ib_write_bw, ib_read_bw, ib_send_bw and ib_*_lat print, one
 * per figure set of each workload of @summary (the object `odpsim run
 * --json` prints), from its workloads.NAME.perftest objects. */
void summary_perftest_print(const struct json_value *summary, FILE *out);

#endif
