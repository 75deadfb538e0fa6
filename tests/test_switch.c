/*
 * tests/test_switch.c - switches joined into fabrics (nic/switch.c):
 * every packet travels a shortest path (the switches it crosses, summed
 * over the fabric, are exactly the shortest hop counts times the packets
 * delivered, once the traffic has drained), a detour is never taken,
 * static routing spreads destinations over a leaf's uplinks and ECMP
 * spreads flows while keeping each QP's packets in order, and a
 * migration moves the host's address in every switch of the fabric.
 */
#include <check.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "nic/host.h"
#include "nic/switch.h"
#include "sim/stats.h"
#include "sim/system/system.h"
#include "sim/system/system_int.h"

static struct system *build(const char *text)
{
	struct run_options opt = { .scenario_text = text };
	bool io;
	GError *e = NULL;
	struct system *sys = system_build("fabric.ini", &opt, &io, &e);
	ck_assert_msg(sys, "%s", e ? e->message : "");
	return sys;
}

static uint64_t sum_suffix(struct system *sys, const char *suffix)
{
	uint64_t s = 0;
	unsigned n;
	const struct stat_entry **v = stats_sorted(system_sim(sys)->stats, &n);
	for (unsigned i = 0; i < n; i++)
		if (v[i]->kind == STAT_COUNTER &&
		    g_str_has_suffix(v[i]->name, suffix))
			s += v[i]->counter;
	g_free(v);
	return s;
}

static uint64_t ctr(struct system *sys, const char *name)
{
	return stats_get(system_sim(sys)->stats, name);
}

/* A leaf-spine: @leaves leaves of @hpl hosts (h0, h1, ... leaf by leaf),
 * @spines spines, @ecmp; plus @extra (workloads). */
static char *fabric(unsigned leaves, unsigned hpl, unsigned spines,
		    bool ecmp, const char *extra)
{
	GString *s = g_string_new("[sim]\nduration = 50ms\n");
	for (unsigned i = 0; i < spines; i++)
		g_string_append_printf(s, "[switch spine%u]\necmp = %s\n", i,
				       ecmp ? "true" : "false");
	for (unsigned l = 0; l < leaves; l++) {
		g_string_append_printf(s, "[switch leaf%u]\necmp = %s\n", l,
				       ecmp ? "true" : "false");
		for (unsigned i = 0; i < spines; i++)
			g_string_append_printf(s, "[link l%us%u]\n"
					       "ends = leaf%u spine%u\n", l, i,
					       l, i);
	}
	for (unsigned h = 0; h < leaves * hpl; h++)
		g_string_append_printf(s, "[host h%u]\nmemory = 64MiB\n"
				       "[link h%u]\nends = h%u leaf%u\n", h, h,
				       h, h / hpl);
	g_string_append(s, extra);
	return g_string_free(s, FALSE);
}

/* The fabric of fabric() with the workloads in @w (freed), run to its
 * end. */
static struct system *run_fabric(unsigned leaves, unsigned hpl,
				 unsigned spines, bool ecmp, GString *w)
{
	char *text = fabric(leaves, hpl, spines, ecmp, w->str);
	g_string_free(w, TRUE);
	struct system *sys = build(text);
	g_free(text);
	GError *e = NULL;
	ck_assert_msg(system_run(sys, &e), "%s", e ? e->message : "");
	return sys;
}

static void wr(GString *s, unsigned c, unsigned v, unsigned iters)
{
	g_string_append_printf(s, "[workload w%u_%u]\ntype = write_bw\n"
			       "client = h%u\nserver = h%u\nmsg_size = 16KiB\n"
			       "tx_depth = 4\niterations = %u\n", c, v, c, v,
			       iters);
}

/*
 * Between leaves every packet (data and ACKs alike) crosses three
 * switches on a shortest path, within a leaf one: with all traffic
 * finished and drained, the forwarding counters of all switches sum to
 * exactly that times the packets the NICs received.
 */
START_TEST(every_packet_on_a_shortest_path)
{
	for (int ecmp = 0; ecmp < 2; ecmp++) {
		GString *w = g_string_new(NULL);
		/* h0,h1 on leaf0, h2,h3 on leaf1, h4,h5 on leaf2 */
		wr(w, 0, 2, 40);
		wr(w, 1, 5, 40);
		wr(w, 3, 0, 40);
		wr(w, 4, 1, 40);
		struct system *sys = run_fabric(3, 2, 2, ecmp, w);
		uint64_t rx = sum_suffix(sys, ".nic.rx_packets");
		uint64_t tx = sum_suffix(sys, ".nic.tx_packets");
		ck_assert_uint_gt(rx, 4 * 40 * 4);
		ck_assert_uint_eq(rx, tx); /* drained, nothing lost */
		ck_assert_uint_eq(sum_suffix(sys, ".switch.forwarded"), 3 * rx);
		ck_assert_uint_eq(sum_suffix(sys, ".switch.dropped_no_route"),
				  0);
		ck_assert_uint_eq(sum_suffix(sys, ".nic.out_of_sequence"), 0);
		/* both spines were used: by destination, or by flow */
		ck_assert_uint_gt(ctr(sys, "spine0.switch.forwarded"), 0);
		ck_assert_uint_gt(ctr(sys, "spine1.switch.forwarded"), 0);
		system_free(sys);
	}
	/* within a leaf: one switch */
	GString *w = g_string_new(NULL);
	wr(w, 0, 1, 40);
	wr(w, 3, 2, 40);
	struct system *sys = run_fabric(2, 2, 2, true, w);
	uint64_t rx = sum_suffix(sys, ".nic.rx_packets");
	ck_assert_uint_gt(rx, 0);
	ck_assert_uint_eq(sum_suffix(sys, ".switch.forwarded"), rx);
	ck_assert_uint_eq(ctr(sys, "spine0.switch.forwarded") +
				  ctr(sys, "spine1.switch.forwarded"),
			  0);
	system_free(sys);
}
END_TEST

/* An irregular fabric: a three-switch chain s0-s1-s2 and a four-switch
 * detour s0-s3-s4-s2.  a on s0 and b on s2 talk through s1 only. */
START_TEST(detours_are_never_taken)
{
	const char *text =
		"[sim]\nduration = 20ms\n[host a]\nmemory = 64MiB\n"
		"[host b]\nmemory = 64MiB\n[host c]\nmemory = 64MiB\n"
		"[switch s0]\n[switch s1]\n[switch s2]\n[switch s3]\n"
		"[switch s4]\n[link la]\nends = a s0\n[link lb]\nends = b s2\n"
		"[link lc]\nends = c s4\n"
		"[link x01]\nends = s0 s1\n[link x12]\nends = s1 s2\n"
		"[link x03]\nends = s0 s3\n[link x34]\nends = s3 s4\n"
		"[link x42]\nends = s4 s2\n"
		"[workload ab]\ntype = write_bw\nclient = a\nserver = b\n"
		"msg_size = 16KiB\niterations = 50\n"
		"[workload cb]\ntype = write_bw\nclient = c\nserver = b\n"
		"msg_size = 16KiB\niterations = 50\n";
	struct system *sys = build(text);
	struct netswitch *s0 = sys->switches->pdata[0];
	struct netswitch *s3 = sys->switches->pdata[3];
	struct host *b = system_host(sys, "b"), *c = system_host(sys, "c");
	ck_assert_uint_eq(switch_hops(s0, (uint16_t)b->index), 3);
	ck_assert_uint_eq(switch_hops(s3, (uint16_t)b->index), 3);
	ck_assert_uint_eq(switch_hops(s0, (uint16_t)c->index), 3);
	GError *e = NULL;
	ck_assert(system_run(sys, &e));
	/* a <-> b via s0 s1 s2; c <-> b via s4 s2; nothing crosses s3 */
	ck_assert_uint_gt(ctr(sys, "s1.switch.forwarded"), 0);
	ck_assert_uint_eq(ctr(sys, "s3.switch.forwarded"), 0);
	ck_assert_uint_eq(ctr(sys, "s1.switch.forwarded"),
			  ctr(sys, "s0.switch.forwarded"));
	ck_assert_uint_eq(ctr(sys, "s2.switch.forwarded"),
			  ctr(sys, "s0.switch.forwarded") +
				  ctr(sys, "s4.switch.forwarded"));
	system_free(sys);
}
END_TEST

/*
 * Uplinks: a leaf's traffic to the 8 hosts of another leaf goes, under
 * static routing, to spine (destination index mod 4), two destinations
 * per spine; under ECMP each QP's flow hashes to one spine, and many
 * flows cover every spine.
 */
START_TEST(uplinks_by_destination_or_flow)
{
	for (int ecmp = 0; ecmp < 2; ecmp++) {
		GString *w = g_string_new(NULL);
		for (unsigned c = 0; c < 8; c++)
			for (unsigned v = 8; v < 16; v++)
				if (ecmp || c == 0)
					wr(w, c, v, 4);
		struct system *sys = run_fabric(2, 8, 4, ecmp, w);
		uint64_t f[4], all = 0;
		for (int s = 0; s < 4; s++) {
			char *n = g_strdup_printf("spine%d.switch.forwarded", s);
			f[s] = ctr(sys, n);
			g_free(n);
			all += f[s];
		}
		ck_assert_uint_gt(all, 0);
		for (int s = 0; s < 4; s++)
			ck_assert_msg(f[s] * 8 > all && f[s] * 2 < all,
				      "ecmp %d: spine%d carried %" G_GUINT64_FORMAT
				      " of %" G_GUINT64_FORMAT, ecmp, s, f[s],
				      all);
		ck_assert_uint_eq(sum_suffix(sys, ".nic.out_of_sequence"), 0);
		system_free(sys);
	}
}
END_TEST

/* Switch-to-switch links are scenario items like any: a link from a
 * switch to itself is refused with the file, line and key. */
START_TEST(fabric_errors)
{
	struct run_options opt = {
		.scenario_text = "[sim]\nduration = 1ms\n[host a]\n[switch s]\n"
				 "[link la]\nends = a s\n[link ss]\nends = s s\n"
	};
	bool io;
	GError *e = NULL;
	struct system *sys = system_build("f.ini", &opt, &io, &e);
	ck_assert_ptr_null(sys);
	ck_assert_msg(e && strstr(e->message, "[link ss] ends:"), "%s",
		      e ? e->message : "");
	g_error_free(e);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("switch");
	TCase *tc = tcase_create("fabric");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, every_packet_on_a_shortest_path);
	tcase_add_test(tc, detours_are_never_taken);
	tcase_add_test(tc, uplinks_by_destination_or_flow);
	tcase_add_test(tc, fabric_errors);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
