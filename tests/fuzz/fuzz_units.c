/*
 * tests/fuzz/fuzz_units.c - libFuzzer target: the quantity parser
 * (sim/units.c) on arbitrary text, for every kind of unit.  Beyond the
 * error contract: a value that parses formats to text that parses back
 * to the same value.
 */
#include "tests/fuzz/fuzz_common.h"

#include "sim/units.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 256)
		return 0; /* values are short; long ones add nothing */
	char *s = g_strndup((const char *)data, size);
	static const enum unit_kind kinds[] = { UNIT_TIME, UNIT_SIZE, UNIT_RATE,
						UNIT_FREQ, UNIT_COUNT };
	for (unsigned k = 0; k < G_N_ELEMENTS(kinds); k++) {
		uint64_t v = 0;
		GError *e = NULL;
		bool ok = units_parse(s, kinds[k], &v, &e);
		fuzz_contract(ok, e, "units_parse");
		g_clear_error(&e);
		if (!ok)
			continue;
		char *f = units_format(v, kinds[k]);
		uint64_t back = 0;
		if (!units_parse(f, kinds[k], &back, &e) || back != v) {
			fprintf(stderr, "'%s' (%s) = %llu formats as '%s', "
					"which parses as %llu\n",
				s, units_kind_name(kinds[k]),
				(unsigned long long)v, f,
				(unsigned long long)back);
			abort();
		}
		g_free(f);
	}
	double d;
	GError *e = NULL;
	fuzz_contract(units_parse_double(s, &d, &e), e, "units_parse_double");
	g_clear_error(&e);
	g_free(s);
	return 0;
}
