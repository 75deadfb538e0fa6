/*
 * sim/units.h - the one parser for every quantity in scenario files and on
 * the command line.
 *
 * Canonical units: time in picoseconds, size in bytes, rate in bits per
 * second, frequency in hertz.  A number may have a decimal fraction
 * ("1.5us"); the product must be a whole number of the canonical unit and
 * fit in 64 bits, else it is an error.  KiB/MiB/GiB/TiB are powers of two,
 * KB/MB/GB/TB powers of ten (as the issue and IEC 80000-13 say).
 */
#ifndef SIM_UNITS_H
#define SIM_UNITS_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

enum unit_kind {
	UNIT_TIME,  /* ps */
	UNIT_SIZE,  /* bytes */
	UNIT_RATE,  /* bits/s */
	UNIT_FREQ,  /* Hz */
	UNIT_COUNT, /* plain non-negative integer, no unit */
};

/* Parse @s as a quantity of @kind; on error set @error (domain
 * UNITS_ERROR) with a message that says what was expected. */
bool units_parse(const char *s, enum unit_kind kind, uint64_t *out,
		 GError **error);
/* Parse a plain real number (probabilities, Zipf theta...). */
bool units_parse_double(const char *s, double *out, GError **error);

/* Format @v of @kind with the largest unit that keeps it exact
 * ("100Gbps", "4KiB", "1.5us"); returns a newly allocated string. */
char *units_format(uint64_t v, enum unit_kind kind);

const char *units_kind_name(enum unit_kind kind);

#define UNITS_ERROR (units_error_quark())
GQuark units_error_quark(void);

#endif
