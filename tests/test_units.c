/*
 * tests/test_units.c - the quantity parser: good and bad inputs, wrong
 * kinds of unit, missing units, overflow, fractions; and formatting; and
 * the division-free transfer time (sim/time.h) against the 128-bit one.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nic/pcie.h"
#include "sim/rng.h"
#include "sim/sim.h"
#include "sim/time.h"
#include "sim/units.h"

static uint64_t ok(const char *s, enum unit_kind k)
{
	uint64_t v = 0;
	GError *e = NULL;
	bool r = units_parse(s, k, &v, &e);
	ck_assert_msg(r, "'%s' failed: %s", s, e ? e->message : "");
	return v;
}

/* Parse must fail and the message must contain @frag. */
static void bad(const char *s, enum unit_kind k, const char *frag)
{
	uint64_t v = 0;
	GError *e = NULL;
	ck_assert_msg(!units_parse(s, k, &v, &e), "'%s' parsed as %lu", s,
		      (unsigned long)v);
	ck_assert_ptr_nonnull(e);
	ck_assert_msg(strstr(e->message, frag), "'%s': message '%s' lacks '%s'",
		      s, e->message, frag);
	g_error_free(e);
}

START_TEST(times)
{
	ck_assert_uint_eq(ok("1ps", UNIT_TIME), 1);
	ck_assert_uint_eq(ok("1ns", UNIT_TIME), 1000);
	ck_assert_uint_eq(ok("1.5us", UNIT_TIME), 1500000);
	ck_assert_uint_eq(ok("2 ms", UNIT_TIME), 2000000000ULL);
	ck_assert_uint_eq(ok("0.01ms", UNIT_TIME), 10000000ULL);
	ck_assert_uint_eq(ok("3s", UNIT_TIME), 3000000000000ULL);
	ck_assert_uint_eq(ok("0s", UNIT_TIME), 0);
	ck_assert_uint_eq(ok("18446744073709551615ps", UNIT_TIME), UINT64_MAX);
	bad("18446744073709551616ps", UNIT_TIME, "too large");
	/* 2^128 + 1: would wrap to 1 ps without the mantissa's guard */
	bad("340282366920938463463374607431768211457ps", UNIT_TIME,
	    "too large");
	bad("20000000s", UNIT_TIME, "too large");
	bad("0.5ps", UNIT_TIME, "whole number");
	bad("10", UNIT_TIME, "no unit");
	bad("10KiB", UNIT_TIME, "is a size");
	bad("10Gbps", UNIT_TIME, "is a rate");
	bad("10 parsecs", UNIT_TIME, "unknown unit");
	bad("-1us", UNIT_TIME, "is not a time");
	bad("", UNIT_TIME, "is not a time");
	bad("1.2.3us", UNIT_TIME, "unknown unit");
	/* one line of text, whatever --set passes (tests/fuzz found these
	 * quoted raw in a two-line message) */
	bad("1\nms", UNIT_TIME, "'1\\nms' holds a control character");
	bad("1\xff\xfems", UNIT_TIME, "not UTF-8");
}
END_TEST

START_TEST(sizes)
{
	ck_assert_uint_eq(ok("4KiB", UNIT_SIZE), 4096);
	ck_assert_uint_eq(ok("4KB", UNIT_SIZE), 4000);
	ck_assert_uint_eq(ok("1MiB", UNIT_SIZE), 1048576);
	ck_assert_uint_eq(ok("1MB", UNIT_SIZE), 1000000);
	ck_assert_uint_eq(ok("1.5GiB", UNIT_SIZE), 1610612736ULL);
	ck_assert_uint_eq(ok("1GB", UNIT_SIZE), 1000000000ULL);
	ck_assert_uint_eq(ok("1TiB", UNIT_SIZE), 1ULL << 40);
	ck_assert_uint_eq(ok("64B", UNIT_SIZE), 64);
	bad("4K", UNIT_SIZE, "unknown unit");
	bad("4kib", UNIT_SIZE, "unknown unit");
	bad("1.5B", UNIT_SIZE, "whole number");
	bad("4096", UNIT_SIZE, "no unit");
	bad("4GHz", UNIT_SIZE, "is a frequency");
	bad("20000000TiB", UNIT_SIZE, "too large");
}
END_TEST

START_TEST(rates_freqs_counts)
{
	ck_assert_uint_eq(ok("100Gbps", UNIT_RATE), 100000000000ULL);
	ck_assert_uint_eq(ok("12.5GB/s", UNIT_RATE), 100000000000ULL);
	ck_assert_uint_eq(ok("1B/s", UNIT_RATE), 8);
	ck_assert_uint_eq(ok("25Mbps", UNIT_RATE), 25000000ULL);
	ck_assert_uint_eq(ok("1KiB/s", UNIT_RATE), 8192);
	bad("100Gb", UNIT_RATE, "unknown unit");
	bad("100GiB", UNIT_RATE, "is a size");
	ck_assert_uint_eq(ok("2GHz", UNIT_FREQ), 2000000000ULL);
	ck_assert_uint_eq(ok("1.5MHz", UNIT_FREQ), 1500000ULL);
	bad("2Gbps", UNIT_FREQ, "is a rate");
	ck_assert_uint_eq(ok("42", UNIT_COUNT), 42);
	ck_assert_uint_eq(ok(" 7 ", UNIT_COUNT), 7);
	bad("42KiB", UNIT_COUNT, "unknown unit");
	bad("4.5", UNIT_COUNT, "whole number");
	double d;
	GError *e = NULL;
	ck_assert(units_parse_double("0.99", &d, NULL));
	ck_assert_double_eq(d, 0.99);
	ck_assert(units_parse_double("1e-3", &d, NULL));
	ck_assert_double_eq(d, 1e-3);
	ck_assert(!units_parse_double("0.9x", &d, &e));
	ck_assert(strstr(e->message, "not a number"));
	g_error_free(e);
}
END_TEST

START_TEST(format_roundtrip)
{
	static const struct {
		const char *in;
		enum unit_kind k;
		const char *out;
	} cases[] = {
		{ "1500ns", UNIT_TIME, "1.5us" },
		{ "10us", UNIT_TIME, "10us" },
		{ "655.36ms", UNIT_TIME, "655.36ms" },
		{ "4096B", UNIT_SIZE, "4KiB" },
		{ "1000B", UNIT_SIZE, "1000B" },
		{ "100Gbps", UNIT_RATE, "100Gbps" },
		{ "12.5GB/s", UNIT_RATE, "100Gbps" },
		{ "2500MHz", UNIT_FREQ, "2.5GHz" },
		{ "17", UNIT_COUNT, "17" },
		/* found by tests/fuzz/fuzz_units.c: printed through a double,
		 * this was 18446744073709552ns, which does not parse */
		{ "18446744073709551615ps", UNIT_TIME,
		  "18446744073709551.615ns" },
		{ "9007199254740993ns", UNIT_TIME, "9007199254740.993us" },
	};
	for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
		uint64_t v = ok(cases[i].in, cases[i].k);
		char *f = units_format(v, cases[i].k);
		ck_assert_str_eq(f, cases[i].out);
		ck_assert_uint_eq(ok(f, cases[i].k), v);
		g_free(f);
	}
}
END_TEST

static void xfer_check(uint64_t bps, uint64_t bytes)
{
	struct sim_rate rt;
	sim_rate_init(&rt, bps);
	sim_time_t fast = sim_rate_xfer_ps(&rt, bytes);
	sim_time_t ref = sim_xfer_ps(bytes, bps);
	ck_assert_msg(fast == ref,
		      "%" G_GUINT64_FORMAT " B at %" G_GUINT64_FORMAT
		      " bps: %" G_GUINT64_FORMAT " ps, 128-bit %"
		      G_GUINT64_FORMAT " ps", bytes, bps, fast, ref);
}

/*
 * The range in use: link, PCIe, swap and migration rates from 1 Mb/s to
 * 10 Tb/s (the parameter tables' bounds; PCIe's TLP rates are what
 * nic/pcie.c derives from its profiles), packet and TLP sizes.  Every
 * size up to 10,000 bytes (past the largest frame) at the rates the
 * shipped scenarios and profiles use and at powers of two and their
 * neighbours; random sizes below and above the fast path's bound at
 * random rates; and the bounds themselves.
 */
START_TEST(xfer_64bit_matches_128bit)
{
	struct sim *sim = sim_new(1);
	uint64_t rates[64];
	unsigned n = 0;
	static const uint64_t fixed[] = {
		1000000ULL, 25000000000ULL, 40000000000ULL, 100000000000ULL,
		200000000000ULL, 400000000000ULL, 24000000000ULL,
		80000000000ULL, 100000000ULL, 10000000000000ULL, 9999999999999ULL,
		3ULL * 1000000007ULL, 126030769230ULL,
	};
	for (unsigned i = 0; i < G_N_ELEMENTS(fixed); i++)
		rates[n++] = fixed[i];
	for (int p = 0; p < 2; p++) {
		struct pcie_config pc = { 0 };
		config_defaults(&pcie_params, &pc);
		pc.profile = p;
		struct pcie *pcie = pcie_new(sim, "x", &pc);
		rates[n++] = pcie_tlp_rate(pcie);
		pcie_free(pcie);
	}
	for (unsigned k = 20; k < 44; k += 3) {
		rates[n++] = 1ULL << k;
		rates[n++] = (1ULL << k) + 1;
		rates[n++] = (1ULL << k) - 1;
	}
	for (unsigned i = 0; i < n; i++)
		for (uint64_t b = 0; b <= 10000; b++)
			xfer_check(rates[i], b);
	struct rng r;
	rng_init(&r, 7, "test.xfer");
	for (unsigned i = 0; i < 20000; i++) {
		/* log-uniform rate in [1e6, 1e13] */
		double e = 6.0 + 7.0 * rng_double(&r);
		uint64_t bps = (uint64_t)pow(10.0, e);
		if (bps < 1000000)
			bps = 1000000;
		xfer_check(bps, rng_below(&r, SIM_RATE_FAST_BYTES));
		xfer_check(bps, SIM_RATE_FAST_BYTES - 1);
		xfer_check(bps, SIM_RATE_FAST_BYTES + rng_below(&r, 1u << 30));
	}
	xfer_check(SIM_RATE_FAST_BPS - 1, SIM_RATE_FAST_BYTES - 1);
	xfer_check(SIM_RATE_FAST_BPS, 4096);
	xfer_check(100000000000000ULL, 4096); /* copy_bandwidth's bound */
	sim_free(sim);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("units");
	TCase *tc = tcase_create("parse");
	tcase_add_test(tc, times);
	tcase_add_test(tc, sizes);
	tcase_add_test(tc, rates_freqs_counts);
	tcase_add_test(tc, format_roundtrip);
	tcase_add_test(tc, xfer_64bit_matches_128bit);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
