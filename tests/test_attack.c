/*
 * tests/test_attack.c - the attacker workload (workloads/attacker.c)
 * against the NIC's protection, run as scenarios: each attack's
 * attempts, refusals and successes, what the target's NIC counted, and
 * the oracle's word that nothing reached bytes the key in use does not
 * open.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "sim/stats.h"
#include "sim/system/system.h"

/* An attacker on host x against host t, beside nothing else; @extra goes
 * into [workload atk], @nic into [nic]. */
static char *scenario(const char *nic, const char *extra)
{
	return g_strdup_printf("[sim]\nduration = 400ms\nseed = 3\n"
			       "[nic]\n%s\n"
			       "[host x]\nmemory = 256MiB\n"
			       "[host t]\nmemory = 256MiB\n"
			       "[link xt]\nends = x t\n"
			       "[workload atk]\ntype = attacker\nclient = x\n"
			       "server = t\n%s\n",
			       nic, extra);
}

struct run {
	struct system *sys;
	struct stats *st;
};

static void run(struct run *r, const char *nic, const char *extra)
{
	char *text = scenario(nic, extra);
	struct run_options opt = { .scenario_text = text };
	bool io;
	GError *e = NULL;
	r->sys = system_build("attack.ini", &opt, &io, &e);
	ck_assert_msg(r->sys, "%s", e ? e->message : "");
	ck_assert_msg(system_run(r->sys, &e), "%s", e ? e->message : "");
	r->st = system_sim(r->sys)->stats;
	g_free(text);
}

static uint64_t get(const struct run *r, const char *name)
{
	return stats_get(r->st, name);
}

/* No warning: an attacker refused every time is what a sound target
 * does, not a workload that could not run. */
static void no_warnings(struct run *r)
{
	GPtrArray *w = system_warnings(r->sys);
	ck_assert_msg(w->len == 0, "%s", w->len ? (char *)w->pdata[0] : "");
	g_ptr_array_free(w, TRUE);
}

static void done(struct run *r)
{
	ck_assert_uint_eq(get(r, "oracle.protection_violations"), 0);
	ck_assert_uint_eq(get(r, "oracle.lost_writes"), 0);
	no_warnings(r);
	system_free(r->sys);
}

/* Every one of @n attempts on @lanes connections refused: a NAK, the QPs
 * in the error state, a new connection for each but the lanes' last. */
static void all_refused(struct run *r, uint64_t n, uint64_t lanes)
{
	ck_assert_uint_eq(get(r, "wl.atk.attempts"), n);
	ck_assert_uint_eq(get(r, "wl.atk.refusals"), n);
	ck_assert_uint_eq(get(r, "wl.atk.successes"), 0);
	ck_assert_uint_le(get(r, "wl.atk.reconnects"), n - 1);
	ck_assert_uint_ge(get(r, "wl.atk.reconnects"), n - lanes);
	ck_assert_uint_eq(get(r, "wl.atk.first_success_attempt"), 0);
}

/*
 * Sequential key variants (mlx5's counter): the victim registered just
 * before the attacker, whose own key K predicts the victim's, K - 0x101:
 * the first guess reads the victim's buffer, and so does every later
 * one.  Random variants: the same guess is right once in 256, and the
 * keys further back name nothing.
 */
START_TEST(guess_sequential)
{
	struct run r;
	run(&r, "key_variant = sequential", "attack = guess\nattempts = 64");
	ck_assert_uint_eq(get(&r, "wl.atk.first_success_attempt"), 1);
	ck_assert_uint_eq(get(&r, "wl.atk.successes"), 64);
	ck_assert_uint_eq(get(&r, "wl.atk.refusals"), 0);
	ck_assert_uint_eq(get(&r, "t.nic.remote_access_naks_sent"), 0);
	done(&r);

	run(&r, "key_variant = random", "attack = guess\nattempts = 64");
	all_refused(&r, 64, 1);
	ck_assert_uint_eq(get(&r, "t.nic.remote_access_naks_sent"), 64);
	done(&r);
}
END_TEST

/*
 * A leaked key of a region since re-registered: the same index, another
 * variant.  Sequential: the next variant, the first guess.  Random: a
 * walk over the other 255 variants finds it, after as many refusals.
 */
START_TEST(guess_leaked)
{
	struct run r;
	run(&r, "key_variant = sequential", "attack = guess\nkeys = leaked");
	ck_assert_uint_eq(get(&r, "wl.atk.first_success_attempt"), 1);
	ck_assert_uint_eq(get(&r, "wl.atk.refusals"), 0);
	done(&r);

	run(&r, "key_variant = random", "attack = guess\nkeys = leaked");
	uint64_t first = get(&r, "wl.atk.first_success_attempt");
	ck_assert_uint_gt(first, 1);
	ck_assert_uint_le(first, 255);
	ck_assert_uint_eq(get(&r, "wl.atk.refusals"), first - 1);
	ck_assert_uint_eq(get(&r, "wl.atk.successes"), 256 - (first - 1));
	ck_assert_uint_eq(get(&r, "wl.atk.reconnects"), first - 1);
	/* it took a reconnect per refusal to get there */
	ck_assert_uint_ge(get(&r, "wl.atk.first_success_ps"),
			  (first - 1) * 500 * SIM_US);
	done(&r);
}
END_TEST

/* Uniform 32-bit guesses: hopeless. */
START_TEST(guess_random)
{
	struct run r;
	run(&r, "", "attack = guess\nkeys = random\nattempts = 100");
	all_refused(&r, 100, 1);
	done(&r);
}
END_TEST

/*
 * Stale keys: a key the attacker was given works until the victim
 * deregisters the MR (or the service invalidates the window), and never
 * after; the attacker's replays are all refused, whatever the variants.
 */
START_TEST(stale_keys)
{
	static const char *const nics[] = { "key_variant = sequential",
					    "key_variant = random" };
	for (int i = 0; i < 2; i++) {
		struct run r;
		run(&r, nics[i], "attack = stale_dereg\nattempts = 40\n"
				 "revoke_after = 5");
		ck_assert_uint_eq(get(&r, "wl.atk.successes"), 5);
		ck_assert_uint_eq(get(&r, "wl.atk.refusals"), 35);
		ck_assert_uint_eq(get(&r, "t.nic.deregistrations"), 1);
		ck_assert_uint_eq(get(&r, "t.nic.remote_access_naks_sent"),
				  35);
		done(&r);

		run(&r, nics[i], "attack = stale_window\nattempts = 40\n"
				 "revoke_after = 5");
		ck_assert_uint_eq(get(&r, "wl.atk.successes"), 5);
		ck_assert_uint_eq(get(&r, "wl.atk.refusals"), 35);
		ck_assert_uint_eq(get(&r, "t.nic.mw_binds"), 1);
		ck_assert_uint_eq(get(&r, "t.nic.mw_invalidations"), 1);
		done(&r);
	}
	/* a type 2 window is usable only through the QP it was bound on:
	 * the attacker's other connections are refused from the start */
	struct run r;
	run(&r, "", "attack = stale_window\nattempts = 40\nconnections = 4\n"
		    "revoke_after = 3");
	ck_assert_uint_eq(get(&r, "wl.atk.successes"), 3);
	ck_assert_uint_eq(get(&r, "wl.atk.refusals"), 37);
	done(&r);
}
END_TEST

/* Bounds, another PD, missing rights: refused every time, nothing
 * written, no atomic executed. */
START_TEST(bounds_pd_rights)
{
	static const char *const attacks[] = { "out_of_bounds", "other_pd",
					       "no_access" };
	for (int i = 0; i < 3; i++) {
		char *extra = g_strdup_printf("attack = %s\nattempts = 50",
					      attacks[i]);
		struct run r;
		run(&r, "", extra);
		g_free(extra);
		all_refused(&r, 50, 1);
		ck_assert_uint_eq(get(&r, "t.nic.remote_access_naks_sent"),
				  50);
		ck_assert_uint_eq(get(&r, "t.nic.atomics_executed"), 0);
		done(&r);
	}
}
END_TEST

/* SENDs into an empty receive queue: an RNR NAK each, and the
 * attacker's QPs (rnr_retry 0) give up at once. */
START_TEST(rnr_flood)
{
	struct run r;
	run(&r, "", "attack = rnr_flood\nattempts = 300\nconnections = 8\n"
		    "interval = 0ns");
	all_refused(&r, 300, 8);
	ck_assert_uint_eq(get(&r, "t.nic.rnr_naks_sent"), 300);
	ck_assert_uint_eq(get(&r, "x.nic.rnr_naks_received"), 300);
	done(&r);
}
END_TEST

/* Register, touch every page, deregister: each cycle's pages go through
 * the target's MTT cache under a new key, and each MR is deregistered. */
START_TEST(mr_churn)
{
	struct run r;
	run(&r, "", "attack = mr_churn\nattempts = 20\nsize = 256KiB");
	ck_assert_uint_eq(get(&r, "wl.atk.attempts"), 20);
	ck_assert_uint_eq(get(&r, "wl.atk.successes"), 20);
	ck_assert_uint_eq(get(&r, "wl.atk.refusals"), 0);
	ck_assert_uint_eq(get(&r, "t.nic.deregistrations"), 20);
	ck_assert_uint_ge(get(&r, "t.nic.mtt_cache.hits") +
				  get(&r, "t.nic.mtt_cache.misses"),
			  20 * 64);
	/* a fresh key per cycle: an MPT miss each (the 64 B entry read) */
	ck_assert_uint_ge(get(&r, "t.nic.mpt_cache.misses"), 20);
	/* every region unpinned again: only the attacker's own 256 KiB */
	ck_assert_uint_eq(get(&r, "t.vmm.pinned_pages"), 64);
	done(&r);
}
END_TEST

static char *build_error(const char *extra)
{
	char *text = scenario("", extra);
	struct run_options opt = { .scenario_text = text };
	bool io;
	GError *e = NULL;
	struct system *sys = system_build("attack.ini", &opt, &io, &e);
	ck_assert_ptr_null(sys);
	ck_assert_ptr_nonnull(e);
	char *msg = g_strdup(e->message);
	g_error_free(e);
	g_free(text);
	return msg;
}

START_TEST(bad_values)
{
	char *m = build_error("attack = guess\nmsg_size = 1MiB");
	ck_assert_msg(strstr(m, "attack.ini:") && strstr(m, "msg_size: "
							    "larger than size"),
		      "%s", m);
	g_free(m);
	m = build_error("attack = mr_churn\nmsg_size = 8KiB");
	ck_assert_msg(strstr(m, "msg_size: larger than a page"), "%s", m);
	g_free(m);
	m = build_error("attack = mr_churn\nsize = 6000B");
	ck_assert_msg(strstr(m, "size: not a multiple of 4KiB"), "%s", m);
	g_free(m);
	m = build_error("iterations = 5");
	ck_assert_msg(strstr(m, "iterations: not an attacker's key"), "%s", m);
	g_free(m);
	m = build_error("attack = steal");
	ck_assert_msg(strstr(m, "attack"), "%s", m);
	g_free(m);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("attack");
	TCase *t = tcase_create("attack");
	tcase_set_timeout(t, 120);
	tcase_add_test(t, guess_sequential);
	tcase_add_test(t, guess_leaked);
	tcase_add_test(t, guess_random);
	tcase_add_test(t, stale_keys);
	tcase_add_test(t, bounds_pd_rights);
	tcase_add_test(t, rnr_flood);
	tcase_add_test(t, mr_churn);
	tcase_add_test(t, bad_values);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
