/*
 * nic/txsched.h - the port transmitter's choice among the QPs that have
 * packets prepared (the requester side of nic/nic.c's transmitter).
 *
 * Policy: round robin.  The QPs with packets form a ring in the order
 * they joined it; at each transmission the first QP of the ring whose
 * oldest prepared packet is ready (its payload DMA read has landed) sends
 * one packet and goes to the back of the ring.  A QP left with nothing
 * leaves the ring at the next transmission decision (txs_unlink_empty):
 * one refilled before that keeps its place.
 *
 * Representation: every member (a QP, by a small integer id) carries a
 * position stamp; the ring's order is stamp order, and going to the back
 * is taking a new, largest stamp.  A member whose first packet is not
 * ready yet waits in a binary heap on its ready time; at a decision the
 * members that became ready move to a second heap ordered by stamp, whose
 * top is the answer.  Both heaps are indexed (each member knows its
 * position), so a member's first packet can change anywhere (go-back-N
 * drops, refills) in O(log n).  A decision, a transmission and the
 * earliest ready time cost O(log n) or less: nothing walks the members.
 * This is exactly the scan it replaces (walk the ring, take the first
 * ready), which tests/test_txsched.c checks on random QP programs.
 *
 * Workload assumed: from one QP to thousands per NIC, each sending
 * packets one at a time; membership changes at most once per packet.
 */
#ifndef NIC_TXSCHED_H
#define NIC_TXSCHED_H

#include <stdbool.h>
#include <stdint.h>

#include "sim/time.h"

#define TXS_NONE UINT32_MAX

struct txs_member {
	sim_time_t ready; /* first packet's ready time; SIM_TIME_MAX: none */
	uint64_t stamp;   /* position in the ring (smaller: nearer the front) */
	uint32_t pos;     /* index in its heap */
	uint8_t heap;     /* TXS_IN_NONE, TXS_IN_WAIT or TXS_IN_READY */
	bool active;      /* in the ring */
	bool zombie;      /* in the ring with nothing to send */
};

struct txs_heap {
	uint32_t *v;
	uint32_t len, cap;
};

struct txsched {
	struct txs_member *m;
	uint32_t nm, capm;
	struct txs_heap wait;  /* by ready time */
	struct txs_heap ready; /* by stamp: ready members */
	uint32_t *zombies;
	uint32_t nzombies, capzombies;
	uint64_t clock;        /* last stamp handed out */
	sim_time_t last_pick;  /* time of the last decision */
};

void txs_init(struct txsched *s);
void txs_destroy(struct txsched *s);
/* A new member (inactive, nothing to send); returns its id. */
uint32_t txs_add(struct txsched *s);
/* Member @id's first prepared packet is now ready at @ready, or it has
 * none (@ready == SIM_TIME_MAX). */
void txs_head(struct txsched *s, uint32_t id, sim_time_t ready);
/* Member @id has packets: it joins the back of the ring unless it is in
 * it already. */
void txs_activate(struct txsched *s, uint32_t id);
/* The member that sends at @now: the first of the ring whose first packet
 * is ready by @now, or TXS_NONE.  It stays where it is until txs_sent. */
uint32_t txs_pick(struct txsched *s, sim_time_t now);
/* @id (the last pick) sent its first packet: it goes to the back of the
 * ring; the caller then tells its new first packet with txs_head. */
void txs_sent(struct txsched *s, uint32_t id);
/* Members of the ring left with nothing to send leave it. */
void txs_unlink_empty(struct txsched *s);
/* The earliest time a member's first packet is ready: 0 when one is ready
 * at the last pick's time already, SIM_TIME_MAX when none has packets. */
sim_time_t txs_earliest(struct txsched *s);
static inline bool txs_active(const struct txsched *s, uint32_t id)
{
	return s->m[id].active;
}

#endif
