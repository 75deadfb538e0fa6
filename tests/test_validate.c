/*
 * tests/test_validate.c - `odpsim validate`: every shipped figure equals
 * the value this test computes on its own from the specification tables
 * and the parameter tables' defaults (never from the simulator's code
 * paths) - except a throughput under contention, which has no closed
 * form and is held to its published range alone (NAN below); a
 * published value passes within its tolerance and a range
 * inside its bounds; bad cases are configuration errors naming the file,
 * line and key.
 */
#include <math.h>
#include <stdlib.h>

#include "nic/nic_int.h"
#include "nic/wire.h"
#include "sim/system/validate.h"
#include "tests/nic_harness.h"

/* IBA Vol 1 Table 45, in microseconds: the RNR NAK timer codes */
static const double iba_rnr_us[32] = {
	655360, 10,   20,   30,   40,    60,    80,    120,
	160,    240,  320,  480,  640,   960,   1280,  1920,
	2560,   3840, 5120, 7680, 10240, 15360, 20480, 30720,
	40960,  61440, 81920, 122880, 163840, 245760, 327680, 491520,
};

/* What the ConnectX realisation of an RNR wait is with the defaults
 * ([nic] rnr_timer = hw, rnr_timer_floor), in seconds. */
static double hw_rnr_s(unsigned code)
{
	struct nic_config nc;
	config_defaults(&nic_params, &nc);
	ck_assert_int_eq(nc.rnr_timer, NIC_RNR_HW);
	double floor_s = (double)nc.rnr_timer_floor * 1e-12;
	double iba = iba_rnr_us[code] * 1e-6;
	config_free(&nic_params, &nc);
	return iba > floor_s ? iba : floor_s;
}

/* What a cold on-demand server MR adds to one 64 B WRITE from a pinned
 * client, in seconds: the RNR NAK's flight back, the requester's RNR wait
 * (code 12, perftest's default, realised by the NIC), the retransmission's
 * pipeline and flight, the responder's pipeline with a warm key and the
 * MTT line the fault refilled to fetch (tests/test_odp.c
 * single_responder_fault derives the same parts with an exact timer). */
static double first_touch_s(void)
{
	struct nic_config nc;
	struct link_config lc = { 0 };
	config_defaults(&nic_params, &nc);
	config_defaults(&link_params, &lc);
	sim_time_t cyc = sim_cycle_ps(nc.clock_hz);
	sim_time_t ack = sim_xfer_ps(wire_bytes_of(IB_ACK, 0), lc.rate_bps);
	sim_time_t data = sim_xfer_ps(wire_bytes_of(IB_WRITE_ONLY, 64),
				      lc.rate_bps);
	sim_time_t parts = ack + lc.delay + nc.tx_cycles * cyc + data +
			   lc.delay + nc.rx_cycles * cyc +
			   nc.cache_hit_cycles * cyc +
			   harness_fresh_pcie(0, 64);
	config_free(&link_params, &lc);
	config_free(&nic_params, &nc);
	return (double)parts * 1e-12 + hw_rnr_s(12);
}

static double umr_chain_ps(const struct driver_config *dc, uint64_t entries)
{
	return (double)harness_umr_chain(dc->umr_time, entries);
}

/*
 * A pinned registration and deregistration of the first @pages pages a
 * fresh host hands out, in ps (reg_mooncake.ini).  Scattered frames: the
 * 512 of each 2 MiB block bit-reversed, so a page is adjacent to the one
 * before it only where a block's last frame (offset 511) meets the next
 * block's first: pages - (pages - 1) / 512 sg entries.  The mkey: from
 * the cache entry of 4 << i entries that fits, empty above 131072
 * entries (mlx5 profile 2), so CREATE_MKEY; a deregistration revokes it
 * by UMR.
 */
static void pinned_4k_ps(uint64_t pages, double *reg, double *dereg)
{
	struct driver_config dc = { 0 };
	struct vmm_config vc = { 0 };
	config_defaults(&driver_params, &dc);
	config_defaults(&vmm_params, &vc);
	uint64_t sg = pages - (pages - 1) / 512;
	uint64_t calls = (pages + dc.pin_batch - 1) / dc.pin_batch;
	*reg = (double)dc.reg_syscall_time + (double)calls * dc.pin_call_time +
	       (double)pages * (vc.pin_time + dc.sg_page_time) +
	       (double)sg * dc.dma_map_sg_time +
	       (pages > 131072 ? (double)dc.create_mkey_time : 0) +
	       umr_chain_ps(&dc, pages);
	*dereg = (double)dc.reg_syscall_time + (double)dc.umr_time +
		 (double)sg * dc.unmap_sg_time + (double)pages * vc.unpin_time;
	config_free(&vmm_params, &vc);
	config_free(&driver_params, &dc);
}

/*
 * reg_thp.ini: 1 GiB of THP on a fresh 2 GiB host, mapped at 1 GiB: its
 * 512 huge frames are the host's first 512 blocks, one physically
 * contiguous GiB aligned like its address, so one sg entry and one MTT
 * entry of 1 GiB (a cache hit); 512 pin_user_pages_fast calls.
 */
static double thp_cycle_ps(void)
{
	struct driver_config dc = { 0 };
	struct vmm_config vc = { 0 };
	config_defaults(&driver_params, &dc);
	config_defaults(&vmm_params, &vc);
	double reg = (double)dc.reg_syscall_time + 512.0 * dc.pin_call_time +
		     512.0 * vc.pin_huge_time + 262144.0 * dc.sg_page_time +
		     (double)dc.dma_map_sg_time + umr_chain_ps(&dc, 1);
	double dereg = (double)dc.reg_syscall_time + (double)dc.umr_time +
		       (double)dc.unmap_sg_time + 512.0 * vc.unpin_huge_time;
	config_free(&vmm_params, &vc);
	config_free(&driver_params, &dc);
	return reg + dereg;
}

/* The expectation of each shipped figure, in its display unit. */
struct expect {
	const char *file, *name;
	double value; /* NAN: no closed form (the published range holds it) */
};

/* A figure the model reaches up to a start-up transient: within @tol. */
struct expect_near {
	const char *file, *name;
	double value, tol;
};

static struct validate_result *run_dir(const char *dir, bool fast)
{
	char *paths[] = { (char *)dir, NULL };
	struct validate_options o = { .paths = paths, .fast = fast, .jobs = 2 };
	bool io;
	GError *e = NULL;
	struct validate_result *r = validate_run(&o, &io, &e);
	ck_assert_msg(r, "%s", e ? e->message : "");
	return r;
}

START_TEST(shipped_figures_equal_the_tables)
{
	struct driver_config dc;
	config_defaults(&driver_params, &dc);
	struct iommu_config ic;
	config_defaults(&iommu_params, &ic);
	double mc_reg, mc_dereg; /* 1 GB: 244141 pages */
	pinned_4k_ps((1000000000 + 4095) / 4096, &mc_reg, &mc_dereg);
	const struct expect ex[] = {
		/* IBA Table 45, waited exactly (rnr_timer = iba), in ms */
		{ "iba_rnr_timer.ini", "code1", iba_rnr_us[1] / 1e3 },
		{ "iba_rnr_timer.ini", "code7", iba_rnr_us[7] / 1e3 },
		{ "iba_rnr_timer.ini", "code14", iba_rnr_us[14] / 1e3 },
		{ "iba_rnr_timer.ini", "code0", iba_rnr_us[0] / 1e3 },
		/* ConnectX-4: the floor over code 7's 0.12 ms */
		{ "cx4_rnr_delay.ini", "delay", hw_rnr_s(7) * 1e3 },
		/* 4.096 us x 2^timeout; retry_cnt + 1 timeouts, one error */
		{ "ack_timeout.ini", "timeout14", 4.096e-3 * (1 << 14) },
		{ "ack_timeout.ini", "timeout10", 4.096e-3 * (1 << 10) },
		{ "ack_timeout.ini", "retries14", 7 + 1 },
		{ "ack_timeout.ini", "retries10", 2 + 1 },
		{ "ack_timeout.ini", "failed", 1 },
		/* rnr_retry + 1 NAKs, then one error; 7: none */
		{ "rnr_retry.ini", "naks3", 3 + 1 },
		{ "rnr_retry.ini", "failed3", 1 },
		{ "rnr_retry.ini", "naks0", 0 + 1 },
		{ "rnr_retry.ini", "failed7", 0 },
		{ "odp_first_touch.ini", "first_touch", first_touch_s() * 1e3 },
		/* one fault for the whole operation, its pages counted */
		{ "odp_fault_counters.ini", "faults2", (2 << 20) / 4096 },
		{ "odp_fault_counters.ini", "handled2", 1 },
		{ "odp_fault_counters.ini", "events2", 1 },
		{ "odp_fault_counters.ini", "faults8", (8 << 20) / 4096 },
		{ "odp_fault_counters.ini", "handled8", 1 },
		/* MAX_PREFETCH_LEN = 4 MiB of 4 KiB pages */
		{ "odp_prefetch_cap.ini", "cap", (4 << 20) / 4096 },
		/* 2^(implicit_va_bits - 30) entries; a child per GiB */
		{ "implicit_odp.ini", "ksm",
		  (double)(1ULL << (dc.implicit_va_bits - 30)) },
		{ "implicit_odp.ini", "children", 4 },
		{ "implicit_odp.ini", "registered", 4 },
		/* registration and deregistration steps, in ms */
		{ "reg_mooncake.ini", "reg_per_mr", mc_reg / 1e9 },
		{ "reg_mooncake.ini", "reg_all", 8 * mc_reg / 1e9 },
		{ "reg_mooncake.ini", "dereg_per_mr", mc_dereg / 1e9 },
		{ "reg_mooncake.ini", "dereg_all", 8 * mc_dereg / 1e9 },
		/* 8 at once share nothing that costs time */
		{ "reg_mooncake_parallel.ini", "dereg_parallel",
		  mc_dereg / 1e9 },
		{ "reg_thp.ini", "reg_dereg_thp", thp_cycle_ps() / 1e9 },
		/* 16 MiB of 2 MiB entries: 8 entries, fewer than the 1024 of
		 * the cache, so after the first touch neither run misses and
		 * the two are the same run: nothing lost */
		{ "translation_mtt.ini", "hugepage_recovery", 0 },
		/* the IOTLB's share of a stream the MTT already slows: the
		 * walker, the page-walk cache and the responder's waits
		 * together, no closed form */
		{ "translation_iommu.ini", "iotlb_loss_4k", NAN },
		/* 8 IOMMU pages of 2 MiB in a 64-entry IOTLB and 8 MTT
		 * entries: after the first touch a hit costs latency that the
		 * pipelined DMAs hide, nothing of the rate */
		{ "translation_iommu_thp.ini", "iotlb_recovery_2m", 0 },
	};
	/* per-I/O map/unmap over 2 ms: the devices' rate (passthrough,
	 * and lazy, whose one flush per fq_size unmaps costs nothing
	 * visible), or one strict unmap per inv_desc_time + inv_wait_time
	 * of the queue; within 3%: the first ~37 us submit the CPUs'
	 * first I/Os */
	const struct expect_near near[] = {
		{ "iommu_passthrough.ini", "iops_passthrough",
		  4 * 2e6 * 2e-3, 0.03 },
		{ "iommu_lazy.ini", "iops_lazy", 4 * 2e6 * 2e-3, 0.03 },
		{ "iommu_strict.ini", "iops_strict",
		  2e-3 / ((double)(ic.inv_desc_time + ic.inv_wait_time) *
			  1e-12),
		  0.03 },
		/* ... and the same over passthrough's */
		{ "iommu_lazy.ini", "ratio_lazy", 1, 0.03 },
		{ "iommu_strict.ini", "ratio_strict",
		  2e-3 / ((double)(ic.inv_desc_time + ic.inv_wait_time) *
			  1e-12) / (4 * 2e6 * 2e-3),
		  0.03 },
	};
	struct validate_result *r = run_dir("workloads/validation", false);
	ck_assert_uint_eq(r->n, G_N_ELEMENTS(ex) + G_N_ELEMENTS(near));
	for (unsigned i = 0; i < r->n; i++) {
		const struct validate_row *w = &r->rows[i];
		struct expect_near xv = { NULL, NULL, 0, 1e-9 };
		const struct expect_near *x = NULL;
		char *base = g_path_get_basename(w->file);
		for (unsigned k = 0; k < G_N_ELEMENTS(ex); k++)
			if (!strcmp(ex[k].file, base) &&
			    !strcmp(ex[k].name, w->name)) {
				xv.value = ex[k].value;
				x = &xv;
			}
		for (unsigned k = 0; k < G_N_ELEMENTS(near); k++)
			if (!strcmp(near[k].file, base) &&
			    !strcmp(near[k].name, w->name))
				x = &near[k];
		ck_assert_msg(x, "%s [validate %s]: no expectation: add one "
				 "to tests/test_validate.c",
			      base, w->name);
		ck_assert_msg(isnan(x->value) ||
				      fabs(w->simulated - x->value) <=
					      x->tol * fabs(x->value),
			      "%s [validate %s]: simulated %.9g %s, expected "
			      "%.9g",
			      base, w->name, w->simulated, w->unit, x->value);
		ck_assert_msg(w->pass, "%s [validate %s] fails", base,
			      w->name);
		g_free(base);
	}
	ck_assert_uint_eq(r->failed, 0);
	validate_result_free(r);
}
END_TEST

/* A scratch directory holding one case: cx4_rnr_delay.ini's scenario with
 * @figures as its [validate] sections. */
static char *case_dir(const char *figures)
{
	char *dir = g_dir_make_tmp("odpsim-val-XXXXXX", NULL);
	char *text = g_strdup_printf(
		"[sim]\nduration = 5ms\n[host a]\nmemory = 64MiB\n"
		"[host b]\nmemory = 64MiB\n[link ab]\nends = a b\n"
		"[workload s]\ntype = send_bw\nclient = a\nserver = b\n"
		"msg_size = 64B\ntx_depth = 1\nrx_depth = 0\n"
		"min_rnr_timer = 7\n%s",
		figures);
	char *path = g_build_filename(dir, "case.ini", NULL);
	ck_assert(g_file_set_contents(path, text, -1, NULL));
	g_free(path);
	g_free(text);
	return dir;
}

static void rm_case(char *dir)
{
	char *path = g_build_filename(dir, "case.ini", NULL);
	g_unlink(path);
	g_rmdir(dir);
	g_free(path);
	g_free(dir);
}

#define FIG(name, pub, extra)                                              \
	"[validate " name "]\nquantity = q\nsource = s\npublished = " pub \
	"\nread = hist a.nic.rnr_wait_ns min\n" extra

/* Values pass within their tolerance, ranges inside their bounds; the
 * ratio is to the value, or to the geometric mean of the range; a
 * baseline is subtracted; --fast leaves out what is not fast. */
START_TEST(verdicts)
{
	char *dir = case_dir(
		FIG("near", "1.4ms", "")             /* 1.5 / 1.4 = 1.071 */
		FIG("far", "1.3ms", "")              /* 1.154 */
		FIG("loose", "1.3ms", "tolerance = 0.2\n")
		FIG("inside", "1ms..2ms", "")
		FIG("below", "1.6ms..2ms", "")
		FIG("us", "1500us", "unit = us\n")
		FIG("slow", "1.5ms", "fast = false\n")
		FIG("base", "0ms", "baseline = nic.rnr_timer_floor=1.5ms\n")
		FIG("ratio", "1.5", "baseline = nic.rnr_timer_floor=1ms\n"
				     "combine = ratio\n")
		FIG("loss", "50", "baseline = nic.rnr_timer_floor=3ms\n"
				   "combine = loss\n"));
	struct validate_result *r = run_dir(dir, false);
	ck_assert_uint_eq(r->n, 10);
	const struct {
		const char *name;
		bool pass;
		double ratio, sim;
	} want[] = {
		{ "near", true, 1.5 / 1.4, 1.5 },
		{ "far", false, 1.5 / 1.3, 1.5 },
		{ "loose", true, 1.5 / 1.3, 1.5 },
		{ "inside", true, 1.5 / sqrt(2), 1.5 },
		{ "below", false, 1.5 / sqrt(1.6 * 2), 1.5 },
		{ "us", true, 1, 1500 },
		{ "slow", true, 1, 1.5 },
		{ "base", true, NAN, 0 },
		/* 1.5 ms over 1 ms; 1 - 1.5 ms / 3 ms, in percent */
		{ "ratio", true, 1, 1.5 },
		{ "loss", true, 1, 50 },
	};
	for (unsigned i = 0; i < r->n; i++) {
		const struct validate_row *w = &r->rows[i];
		ck_assert_str_eq(w->name, want[i].name);
		ck_assert_msg(w->pass == want[i].pass, "%s", w->name);
		ck_assert_msg(fabs(w->simulated - want[i].sim) < 1e-9, "%s: %g",
			      w->name, w->simulated);
		if (isnan(want[i].ratio))
			ck_assert(isnan(w->ratio));
		else
			ck_assert_msg(fabs(w->ratio - want[i].ratio) < 1e-9,
				      "%s: ratio %g", w->name, w->ratio);
	}
	ck_assert_uint_eq(r->failed, 2);
	ck_assert_uint_eq(r->runs, 4); /* the file, and its baselines */
	validate_result_free(r);
	r = run_dir(dir, true);
	ck_assert_uint_eq(r->n, 9);
	for (unsigned i = 0; i < r->n; i++)
		ck_assert_str_ne(r->rows[i].name, "slow");
	validate_result_free(r);
	rm_case(dir);
}
END_TEST

/* Each bad case is one error naming the file, the line and the key. */
START_TEST(bad_cases)
{
	const struct {
		const char *figures, *msg;
	} bad[] = {
		{ "[validate x]\nquantity = q\nsource = s\npublished = 1ms\n",
		  "[validate x]: missing required key 'read'" },
		{ FIG("x", "1.5", ""), "case.ini:20: [validate x] published: "
				       "'1.5': the read is a time" },
		{ FIG("x", "2ms..1ms", ""), "low end is above" },
		{ "[validate x]\nquantity = q\nsource = s\npublished = 1\n"
		  "read = gauge a.nic.x\n",
		  "case.ini:21: [validate x] read: 'gauge a.nic.x' is not" },
		{ "[validate x]\nquantity = q\nsource = s\npublished = 1\n"
		  "read = hist a.nic.rnr_wait_ns maxx\n",
		  "'maxx' is no histogram field" },
		{ "[validate x]\nquantity = q\nsource = s\npublished = 1\n"
		  "read = counter a.nic.rnr_naks_recieved\n",
		  "the run has no counter 'a.nic.rnr_naks_recieved'; did you "
		  "mean 'a.nic.rnr_naks_received'?" },
		{ FIG("x", "1ms", "unit = furlong\n"), "'furlong' is no time" },
		{ FIG("x", "1ms", "baseline = nic.rnr_timer=fast\n"),
		  "[validate x] baseline:" },
		{ FIG("x", "1ms", "tolerance = 2\n"), "tolerance" },
		{ FIG("x", "1", "combine = ratio\n"),
		  "[validate x] combine: 'ratio' compares the run with a "
		  "baseline" },
		{ FIG("x", "1", "combine = sum\n"), "[validate x] combine" },
		{ FIG("x", "1ms", "colour = red\n"), "colour" },
		{ "", "no [validate NAME] section" },
	};
	for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
		char *dir = case_dir(bad[i].figures);
		char *paths[] = { dir, NULL };
		struct validate_options o = { .paths = paths, .jobs = 1 };
		bool io = true;
		GError *e = NULL;
		struct validate_result *r = validate_run(&o, &io, &e);
		ck_assert_msg(!r, "case %u ran", i);
		ck_assert(!io);
		ck_assert_msg(strstr(e->message, bad[i].msg), "case %u: %s", i,
			      e->message);
		ck_assert(!strchr(e->message, '\n'));
		g_error_free(e);
		rm_case(dir);
	}
	/* a path that is not there, and a directory without a case */
	char *paths[] = { "no/such/dir", NULL };
	struct validate_options o = { .paths = paths, .jobs = 1 };
	bool io = false;
	GError *e = NULL;
	ck_assert_ptr_null(validate_run(&o, &io, &e));
	ck_assert(io);
	ck_assert_msg(strstr(e->message, "no/such/dir"), "%s", e->message);
	g_clear_error(&e);
	char *empty = g_dir_make_tmp("odpsim-val-XXXXXX", NULL);
	paths[0] = empty;
	ck_assert_ptr_null(validate_run(&o, &io, &e));
	ck_assert(!io);
	ck_assert_msg(strstr(e->message, "no validation case"), "%s",
		      e->message);
	g_clear_error(&e);
	g_rmdir(empty);
	g_free(empty);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("validate");
	TCase *tc = tcase_create("validate");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, shipped_figures_equal_the_tables);
	tcase_add_test(tc, verdicts);
	tcase_add_test(tc, bad_cases);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
