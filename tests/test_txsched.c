/*
 * tests/test_txsched.c - the transmitter's QP round robin (nic/txsched.h)
 * differentially against the scan it replaced: a list of active QPs in
 * round-robin order, walked at each decision for the first whose oldest
 * prepared packet is ready, which then goes to the tail; QPs with nothing
 * left are unlinked after each decision.  Random QP programs prepare
 * packets (ready now or later), activate QPs, drop what a QP prepared
 * (go-back-N) and make decisions as time advances; the chosen QP, the
 * earliest ready time and ring membership must agree at every step, and
 * the first difference names the seed and the step.  (Checks in the
 * loops abort without ck_assert, which reports each passing assertion to
 * the runner: thousands of system calls per program.)
 */
#include <check.h>
#include <glib.h>
#include <stdlib.h>

#include "nic/txsched.h"
#include "sim/rng.h"

struct ref_qp {
	GArray *q; /* sim_time_t ready times of prepared packets, FIFO */
	bool active;
};

struct ref {
	struct ref_qp *qp;
	GArray *list; /* uint32_t ids in round-robin order */
};

static sim_time_t ref_head(const struct ref *r, uint32_t id)
{
	GArray *q = r->qp[id].q;
	return q->len ? g_array_index(q, sim_time_t, 0) : SIM_TIME_MAX;
}

static uint32_t ref_decide(struct ref *r, sim_time_t now)
{
	uint32_t chosen = TXS_NONE;
	for (guint i = 0; i < r->list->len; i++) {
		uint32_t id = g_array_index(r->list, uint32_t, i);
		if (ref_head(r, id) > now)
			continue;
		g_array_remove_index(r->qp[id].q, 0);
		g_array_remove_index(r->list, i);
		g_array_append_val(r->list, id);
		chosen = id;
		break;
	}
	for (guint i = 0; i < r->list->len;) {
		uint32_t id = g_array_index(r->list, uint32_t, i);
		if (!r->qp[id].q->len) {
			r->qp[id].active = false;
			g_array_remove_index(r->list, i);
		} else {
			i++;
		}
	}
	return chosen;
}

static sim_time_t ref_earliest(const struct ref *r)
{
	sim_time_t t = SIM_TIME_MAX;
	for (guint i = 0; i < r->list->len; i++) {
		sim_time_t h = ref_head(r, g_array_index(r->list, uint32_t, i));
		if (h < t)
			t = h;
	}
	return t;
}

static void program(uint64_t seed, uint32_t nqp, unsigned steps)
{
	struct rng rng;
	rng_init(&rng, seed, "test.txsched");
	struct txsched s;
	txs_init(&s);
	struct ref r = { g_new0(struct ref_qp, nqp),
			 g_array_new(FALSE, FALSE, sizeof(uint32_t)) };
	for (uint32_t i = 0; i < nqp; i++) {
		ck_assert_uint_eq(txs_add(&s), i);
		r.qp[i].q = g_array_new(FALSE, FALSE, sizeof(sim_time_t));
	}
	sim_time_t now = 0;
	unsigned chosen = 0;
	for (unsigned step = 0; step < steps; step++) {
		uint32_t id = (uint32_t)rng_below(&rng, nqp);
		unsigned op = (unsigned)rng_below(&rng, 10);
		if (op < 4) { /* prepare a packet, then activate (req_fill) */
			sim_time_t t = now + rng_below(&rng, 3) * 1000 *
						     rng_below(&rng, 4);
			GArray *q = r.qp[id].q;
			g_array_append_val(q, t);
			if (q->len == 1)
				txs_head(&s, id, t);
			if (!r.qp[id].active) {
				r.qp[id].active = true;
				g_array_append_val(r.list, id);
			}
			txs_activate(&s, id);
		} else if (op == 4) { /* go-back-N drops what it prepared */
			g_array_set_size(r.qp[id].q, 0);
			txs_head(&s, id, SIM_TIME_MAX);
		} else if (op < 9) { /* a transmission decision */
			uint32_t want = ref_decide(&r, now);
			uint32_t got = txs_pick(&s, now);
			if (got != TXS_NONE) {
				txs_sent(&s, got);
				txs_head(&s, got, ref_head(&r, got));
			}
			txs_unlink_empty(&s);
			if (got != want)
				ck_abort_msg("seed %" G_GUINT64_FORMAT " step %u: "
				      "picked %u, the scan %u", seed, step,
				      got, want);
			chosen += got != TXS_NONE;
		} else { /* time goes on */
			now += rng_below(&rng, 1500);
		}
		sim_time_t e = txs_earliest(&s), re = ref_earliest(&r);
		if ((e < now ? now : e) != (re < now ? now : re))
			ck_abort_msg("seed %" G_GUINT64_FORMAT " step %u: earliest %"
			      G_GUINT64_FORMAT ", the scan %" G_GUINT64_FORMAT,
			      seed, step, e, re);
		for (uint32_t i = 0; i < nqp && (nqp < 64 || step % 64 == 0);
		     i++)
			if (txs_active(&s, i) != r.qp[i].active)
				ck_abort_msg("seed %" G_GUINT64_FORMAT " step %u: qp "
				      "%u active %d, the scan %d", seed, step,
				      i, txs_active(&s, i), r.qp[i].active);
	}
	ck_assert_uint_gt(chosen, steps / 10);
	for (uint32_t i = 0; i < nqp; i++)
		g_array_free(r.qp[i].q, TRUE);
	g_free(r.qp);
	g_array_free(r.list, TRUE);
	txs_destroy(&s);
}

START_TEST(txsched_matches_scan)
{
	for (uint64_t seed = 1; seed <= 20; seed++)
		program(seed, seed % 2 ? 5 : 40, 20000);
	program(99, 500, 50000);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("txsched");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, txsched_matches_scan);
	suite_add_tcase(su, tc);
	SRunner *sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
