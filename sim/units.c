/*
 * sim/units.c - quantity parsing and formatting (see units.h).
 */
#include "sim/units.h"

#include <ctype.h>
#include <math.h>
#include <string.h>

G_DEFINE_QUARK(odpsim-units-error, units_error)

struct unit {
	const char *sym;
	uint64_t mul; /* canonical units per one of this unit */
};

static const struct unit time_units[] = {
	{ "ps", 1ULL },
	{ "ns", 1000ULL },
	{ "us", 1000000ULL },
	{ "ms", 1000000000ULL },
	{ "s", 1000000000000ULL },
	{ NULL, 0 },
};

static const struct unit size_units[] = {
	{ "B", 1ULL },
	{ "KiB", 1ULL << 10 },
	{ "MiB", 1ULL << 20 },
	{ "GiB", 1ULL << 30 },
	{ "TiB", 1ULL << 40 },
	{ "KB", 1000ULL },
	{ "MB", 1000000ULL },
	{ "GB", 1000000000ULL },
	{ "TB", 1000000000000ULL },
	{ NULL, 0 },
};

static const struct unit rate_units[] = {
	{ "bps", 1ULL },
	{ "Kbps", 1000ULL },
	{ "Mbps", 1000000ULL },
	{ "Gbps", 1000000000ULL },
	{ "Tbps", 1000000000000ULL },
	{ "B/s", 8ULL },
	{ "KB/s", 8000ULL },
	{ "MB/s", 8000000ULL },
	{ "GB/s", 8000000000ULL },
	{ "KiB/s", 8ULL << 10 },
	{ "MiB/s", 8ULL << 20 },
	{ "GiB/s", 8ULL << 30 },
	{ NULL, 0 },
};

static const struct unit freq_units[] = {
	{ "Hz", 1ULL },
	{ "KHz", 1000ULL },
	{ "kHz", 1000ULL },
	{ "MHz", 1000000ULL },
	{ "GHz", 1000000000ULL },
	{ NULL, 0 },
};

static const struct unit count_units[] = {
	{ "", 1ULL },
	{ NULL, 0 },
};

static const struct unit *units_table(enum unit_kind kind)
{
	switch (kind) {
	case UNIT_TIME: return time_units;
	case UNIT_SIZE: return size_units;
	case UNIT_RATE: return rate_units;
	case UNIT_FREQ: return freq_units;
	case UNIT_COUNT: return count_units;
	}
	g_assert_not_reached();
}

const char *units_kind_name(enum unit_kind kind)
{
	switch (kind) {
	case UNIT_TIME: return "time";
	case UNIT_SIZE: return "size";
	case UNIT_RATE: return "rate";
	case UNIT_FREQ: return "frequency";
	case UNIT_COUNT: return "count";
	}
	g_assert_not_reached();
}

static const char *units_examples(enum unit_kind kind)
{
	switch (kind) {
	case UNIT_TIME: return "a time such as 500ns or 1.5us (ps ns us ms s)";
	case UNIT_SIZE:
		return "a size such as 4KiB or 1GB (B KiB MiB GiB TiB KB MB GB TB)";
	case UNIT_RATE:
		return "a rate such as 100Gbps or 12.5GB/s (bps Kbps Mbps Gbps "
		       "Tbps B/s KB/s MB/s GB/s KiB/s MiB/s GiB/s)";
	case UNIT_FREQ: return "a frequency such as 1GHz (Hz KHz MHz GHz)";
	case UNIT_COUNT: return "a whole number without a unit";
	}
	g_assert_not_reached();
}

/* Which kind a unit symbol belongs to, for "wrong kind of unit" errors. */
static bool units_symbol_kind(const char *sym, enum unit_kind *kind)
{
	static const enum unit_kind kinds[] = { UNIT_TIME, UNIT_SIZE, UNIT_RATE,
						UNIT_FREQ };
	for (unsigned k = 0; k < G_N_ELEMENTS(kinds); k++)
		for (const struct unit *u = units_table(kinds[k]); u->sym; u++)
			if (!strcmp(u->sym, sym)) {
				*kind = kinds[k];
				return true;
			}
	return false;
}

/* Values are one line of UTF-8 text: anything else (a newline or another
 * control character, bytes that are not UTF-8, as --set can pass) is
 * refused here, named with its bytes escaped, so that every message
 * below quotes printable text and stays one line (found by
 * tests/fuzz/fuzz_units.c). */
static bool units_text_ok(const char *s, GError **error)
{
	bool ok = g_utf8_validate(s, -1, NULL);
	for (const char *p = s; ok && *p; p++)
		ok = !((unsigned char)*p < 0x20 && *p != ' ' && *p != '\t') &&
		     *p != 0x7f;
	if (!ok) {
		char *q = g_strescape(s, NULL);
		g_set_error(error, UNITS_ERROR, 0,
			    "'%s' holds a control character or bytes that are "
			    "not UTF-8 text", q);
		g_free(q);
	}
	return ok;
}

bool units_parse(const char *s, enum unit_kind kind, uint64_t *out,
		 GError **error)
{
	if (!units_text_ok(s, error))
		return false;
	const char *p = s;
	while (isspace((unsigned char)*p))
		p++;
	if (!isdigit((unsigned char)*p)) {
		g_set_error(error, UNITS_ERROR, 0,
			    "'%s' is not %s", s, units_examples(kind));
		return false;
	}
	/* mantissa as an exact integer with a count of fraction digits */
	unsigned __int128 mant = 0;
	unsigned frac = 0;
	bool dot = false;
	for (; isdigit((unsigned char)*p) || (*p == '.' && !dot); p++) {
		if (*p == '.') {
			dot = true;
			continue;
		}
		if (mant > ((unsigned __int128)UINT64_MAX) * 1000) {
			g_set_error(error, UNITS_ERROR, 0, "'%s' is too large",
				    s);
			return false;
		}
		mant = mant * 10 + (unsigned)(*p - '0');
		if (dot)
			frac++;
	}
	if (frac > 18) {
		g_set_error(error, UNITS_ERROR, 0,
			    "'%s' has too many decimal places", s);
		return false;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	size_t symlen = strlen(p);
	while (symlen && isspace((unsigned char)p[symlen - 1]))
		symlen--;
	char *sym = g_strndup(p, symlen);
	const struct unit *unit = NULL;
	for (const struct unit *u = units_table(kind); u->sym; u++)
		if (!strcmp(u->sym, sym)) {
			unit = u;
			break;
		}
	if (!unit) {
		enum unit_kind other;
		if (!*sym)
			g_set_error(error, UNITS_ERROR, 0,
				    "'%s' has no unit: expected %s", s,
				    units_examples(kind));
		else if (kind != UNIT_COUNT && units_symbol_kind(sym, &other) &&
			 other != kind)
			g_set_error(error, UNITS_ERROR, 0,
				    "'%s' is a %s, expected %s", s,
				    units_kind_name(other),
				    units_examples(kind));
		else
			g_set_error(error, UNITS_ERROR, 0,
				    "'%s': unknown unit '%s', expected %s", s,
				    sym, units_examples(kind));
		g_free(sym);
		return false;
	}
	g_free(sym);
	unsigned __int128 v = mant * unit->mul;
	if (mant && v / mant != unit->mul)
		goto too_large;
	unsigned __int128 div = 1;
	for (unsigned i = 0; i < frac; i++)
		div *= 10;
	if (v % div) {
		g_set_error(error, UNITS_ERROR, 0,
			    "'%s' is not a whole number of %s", s,
			    units_table(kind)[0].sym[0] ?
				    units_table(kind)[0].sym :
				    "units");
		return false;
	}
	v /= div;
	if (v > UINT64_MAX)
		goto too_large;
	*out = (uint64_t)v;
	return true;
too_large:
	g_set_error(error, UNITS_ERROR, 0, "'%s' is too large (over 2^64 %s)",
		    s, units_table(kind)[0].sym[0] ? units_table(kind)[0].sym :
						     "");
	return false;
}

bool units_parse_double(const char *s, double *out, GError **error)
{
	if (!units_text_ok(s, error))
		return false;
	char *end;
	while (isspace((unsigned char)*s))
		s++;
	double v = g_ascii_strtod(s, &end);
	while (isspace((unsigned char)*end))
		end++;
	if (end == s || *end || !isfinite(v)) {
		g_set_error(error, UNITS_ERROR, 0,
			    "'%s' is not a number (expected e.g. 0.99 or 1e-3)",
			    s);
		return false;
	}
	*out = v;
	return true;
}

char *units_format(uint64_t v, enum unit_kind kind)
{
	const struct unit *tab = units_table(kind);
	if (kind == UNIT_COUNT)
		return g_strdup_printf("%" G_GUINT64_FORMAT, v);
	/* largest unit of the same family (1000s or 1024s) that divides v
	 * into a value with at most 3 decimals, preferring exact integers */
	const struct unit *best = &tab[0];
	for (const struct unit *u = tab; u->sym; u++) {
		if (kind == UNIT_SIZE && u->mul % 1024 && u->mul != 1)
			continue; /* print sizes in binary units */
		if (kind == UNIT_RATE && strchr(u->sym, '/'))
			continue; /* print rates in bit/s */
		if (!strcmp(u->sym, "kHz"))
			continue;
		if (v && v % u->mul == 0 && u->mul > best->mul)
			best = u;
	}
	if (v && kind != UNIT_SIZE) {
		/* allow up to 3 decimals in a larger decimal unit */
		for (const struct unit *u = tab; u->sym; u++) {
			if (strchr(u->sym, '/') || !strcmp(u->sym, "kHz"))
				continue;
			if (u->mul > best->mul && u->mul % 1000 == 0 &&
			    v % (u->mul / 1000) == 0 && v >= u->mul)
				best = u;
		}
	}
	if (v % best->mul == 0)
		return g_strdup_printf("%" G_GUINT64_FORMAT "%s", v / best->mul,
				       best->sym);
	/* exactly, in integers: a double has 53 bits and would print a
	 * large value as another one (18446744073709551615ps is not
	 * 18446744073709552ns); the decimals loop above chose a unit of
	 * which v is a whole number of thousandths */
	uint64_t milli = best->mul / 1000;
	g_assert(milli && v % milli == 0);
	char *num = g_strdup_printf("%" G_GUINT64_FORMAT ".%03" G_GUINT64_FORMAT,
				    v / best->mul, (v % best->mul) / milli);
	/* strip trailing zeros */
	char *e = num + strlen(num) - 1;
	while (*e == '0')
		*e-- = 0;
	if (*e == '.')
		*e = 0;
	char *r = g_strdup_printf("%s%s", num, best->sym);
	g_free(num);
	return r;
}
