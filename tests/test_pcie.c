/*
 * tests/test_pcie.c - the PCIe DMA model: TLP-layer rate from the spec
 * figures (recomputed here), exact write/read/MMIO timings, queueing per
 * direction, the 0.5us unloaded 64B read calibration, counters, the
 * parameter table and configuration errors.
 */
#include <check.h>
#include <glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nic/pcie.h"
#include "sim/config.h"
#include "sim/sim.h"
#include "sim/stats.h"

static struct pcie_config defaults(void)
{
	struct pcie_config c;
	config_defaults(&pcie_params, &c);
	return c;
}

/* 8 GT/s x 16 x 128/130, less an ACK and an UpdateFC DLLP (8 bytes each)
 * per 168 TLP bytes at MPS 256 and a 4-byte SKIP per 1538 bytes. */
static double gen3x16_mps256_rate(void)
{
	return 8e9 * 16 * 128.0 / 130.0 *
	       (1.0 - 8.0 / 168 - 8.0 / 168 - 4.0 / 1538);
}

START_TEST(test_defaults_and_rate)
{
	struct pcie_config c = defaults();
	ck_assert_int_eq(c.profile, PCIE_GEN3X16);
	ck_assert_uint_eq(c.mps, 256);
	ck_assert_uint_eq(c.mrrs, 512);
	ck_assert_uint_eq(c.latency, 200 * SIM_NS);
	ck_assert_uint_eq(c.mem_latency, 100 * SIM_NS);
	struct sim *sim = sim_new(1);
	struct pcie *p = pcie_new(sim, "a", &c);
	double want = gen3x16_mps256_rate();
	ck_assert_msg(fabs((double)pcie_tlp_rate(p) - want) < 2.0,
		      "rate %" G_GUINT64_FORMAT " want %.0f",
		      pcie_tlp_rate(p), want);
	pcie_free(p);
	c.profile = PCIE_GEN4X16;
	p = pcie_new(sim, "b", &c);
	ck_assert(fabs((double)pcie_tlp_rate(p) - 2 * want) < 4.0);
	pcie_free(p);
	c.profile = PCIE_GEN3X16;
	c.link_rate = 100000000000ULL; /* override */
	p = pcie_new(sim, "c", &c);
	ck_assert(fabs((double)pcie_tlp_rate(p) -
		       1e11 * (1.0 - 16.0 / 168 - 4.0 / 1538)) < 2.0);
	pcie_free(p);
	sim_free(sim);
}
END_TEST

START_TEST(test_write_exact)
{
	struct pcie_config c = defaults();
	struct sim *sim = sim_new(1);
	struct pcie *p = pcie_new(sim, "a", &c);
	uint64_t r = pcie_tlp_rate(p);
	/* 4 KiB = 16 MWr TLPs of 256 B, each 24 bytes of overhead */
	sim_time_t t = pcie_dma_write(p, 4096);
	sim_time_t ser = sim_xfer_ps(4096 + 16 * 24, r);
	ck_assert_uint_eq(t, ser + c.latency);
	ck_assert_uint_eq(pcie_up_free_at(p), ser);
	/* issued at the same time: queues behind the first */
	sim_time_t t2 = pcie_dma_write(p, 100);
	ck_assert_uint_eq(t2, ser + sim_xfer_ps(100 + 24, r) + c.latency);
	/* the downstream direction is independent */
	sim_time_t m = pcie_mmio_write(p, 8);
	ck_assert_uint_eq(m, sim_xfer_ps(8 + 24, r) + c.latency);
	ck_assert_uint_eq(stats_get(sim->stats, "a.pcie.tlps_up"), 17);
	ck_assert_uint_eq(stats_get(sim->stats, "a.pcie.bytes_up"),
			  4096 + 16 * 24 + 124);
	ck_assert_uint_eq(stats_get(sim->stats, "a.pcie.tlps_down"), 1);
	ck_assert_uint_eq(stats_get(sim->stats, "a.pcie.bytes_down"), 32);
	ck_assert_uint_eq(pcie_dma_write(p, 0), 0);
	pcie_free(p);
	sim_free(sim);
}
END_TEST

START_TEST(test_read_exact)
{
	struct pcie_config c = defaults();
	struct sim *sim = sim_new(1);
	struct pcie *p = pcie_new(sim, "a", &c);
	uint64_t r = pcie_tlp_rate(p);
	/* 64 B: one MRd, one CplD */
	sim_time_t want64 = sim_xfer_ps(24, r) + c.latency + c.mem_latency +
			    sim_xfer_ps(64 + 20, r) + c.latency;
	ck_assert_uint_eq(pcie_read_latency(p, 64), want64);
	/* the calibration target: ~0.5us (Neugebauer et al. SIGCOMM'18) */
	ck_assert_uint_ge(want64, 450 * SIM_NS);
	ck_assert_uint_le(want64, 600 * SIM_NS);
	/* 4 KiB: 8 requests of 512 B, 16 completions of 256 B; the
	 * completion stream dominates */
	sim_time_t want4k = sim_xfer_ps(24, r) + c.latency + c.mem_latency +
			    sim_xfer_ps(4096 + 16 * 20, r) + c.latency;
	ck_assert_uint_eq(pcie_read_latency(p, 4096), want4k);
	ck_assert_uint_eq(pcie_dma_read(p, 4096), want4k);
	ck_assert_uint_eq(stats_get(sim->stats, "a.pcie.tlps_up"), 8);
	ck_assert_uint_eq(stats_get(sim->stats, "a.pcie.bytes_up"), 8 * 24);
	ck_assert_uint_eq(stats_get(sim->stats, "a.pcie.tlps_down"), 16);
	ck_assert_uint_eq(stats_get(sim->stats, "a.pcie.bytes_down"),
			  4096 + 16 * 20);
	/* a second read queues its completions behind the first */
	sim_time_t t2 = pcie_dma_read(p, 64);
	ck_assert_uint_eq(t2, want4k + sim_xfer_ps(84, r));
	/* partial last request: 600 B = 512 + 88 -> 2 + 1 completions */
	ck_assert_uint_eq(pcie_read_latency(p, 600),
			  sim_xfer_ps(24, r) + c.latency + c.mem_latency +
				  sim_xfer_ps(600 + 3 * 20, r) + c.latency);
	pcie_free(p);
	sim_free(sim);
}
END_TEST

/* Sustained DMA writes of 4 KiB: goodput = 4096/(4096 + 16*24) of the TLP
 * rate; Gen3 x16 then carries ~104 Gb/s of payload, enough for a 100 Gb/s
 * port (as Neugebauer et al. note, with little headroom). */
START_TEST(test_write_goodput)
{
	struct pcie_config c = defaults();
	struct sim *sim = sim_new(1);
	struct pcie *p = pcie_new(sim, "a", &c);
	sim_time_t last = 0;
	const unsigned n = 10000;
	for (unsigned i = 0; i < n; i++)
		last = pcie_dma_write(p, 4096);
	double secs = sim_time_to_s(last - c.latency);
	double goodput = (double)n * 4096 * 8 / secs;
	double want = gen3x16_mps256_rate() * 4096.0 / (4096 + 16 * 24);
	ck_assert_msg(fabs(goodput / want - 1) < 1e-4, "goodput %.4g want %.4g",
		      goodput, want);
	ck_assert(goodput > 100e9);
	pcie_free(p);
	sim_free(sim);
}
END_TEST

START_TEST(test_mrrs_mps_split)
{
	struct pcie_config c = defaults();
	c.mps = 512;
	c.mrrs = 128; /* completions never exceed the request */
	struct sim *sim = sim_new(1);
	struct pcie *p = pcie_new(sim, "a", &c);
	pcie_dma_read(p, 1024);
	ck_assert_uint_eq(stats_get(sim->stats, "a.pcie.tlps_up"), 8);
	ck_assert_uint_eq(stats_get(sim->stats, "a.pcie.tlps_down"), 8);
	pcie_free(p);
	sim_free(sim);
}
END_TEST

START_TEST(test_config_errors)
{
	const char *ini = "[pcie]\nprofile = gen4x16\nmps = 512B\n"
			  "[pcie a]\nlatency = 300ns\n";
	GError *err = NULL;
	struct scenario *sc = scenario_load_data(ini, "t.ini", &err);
	ck_assert_ptr_nonnull(sc);
	struct pcie_config c;
	memset(&c, 0, sizeof(c));
	config_defaults(&pcie_params, &c);
	ck_assert(config_fill(sc, &pcie_params, &c, "pcie", "a", &err));
	ck_assert_int_eq(c.profile, PCIE_GEN4X16);
	ck_assert_uint_eq(c.mps, 512);
	ck_assert_uint_eq(c.latency, 300 * SIM_NS);
	ck_assert(pcie_config_validate(&c, &err));
	scenario_free(sc);
	c.mps = 384;
	ck_assert(!pcie_config_validate(&c, &err));
	ck_assert_ptr_nonnull(strstr(err->message, "mps"));
	g_clear_error(&err);
	/* a range error comes from the table */
	sc = scenario_load_data("[pcie]\nmrrs = 8KiB\n", "t.ini", &err);
	ck_assert_ptr_nonnull(sc);
	ck_assert(!config_fill(sc, &pcie_params, &c, "pcie", NULL, &err));
	ck_assert_ptr_nonnull(strstr(err->message, "mrrs"));
	g_clear_error(&err);
	scenario_free(sc);
	/* every key has a meaning and a source */
	for (unsigned i = 0; i < pcie_params.n; i++) {
		ck_assert(pcie_params.params[i].meaning[0]);
		ck_assert(pcie_params.params[i].source[0]);
	}
}
END_TEST

static Suite *pcie_suite(void)
{
	Suite *s = suite_create("pcie");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_defaults_and_rate);
	tcase_add_test(tc, test_write_exact);
	tcase_add_test(tc, test_read_exact);
	tcase_add_test(tc, test_write_goodput);
	tcase_add_test(tc, test_mrrs_mps_split);
	tcase_add_test(tc, test_config_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(pcie_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
