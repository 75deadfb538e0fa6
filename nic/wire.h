/*
 * nic/wire.h - point-to-point full-duplex links between two hosts' NICs.
 *
 * Representation: a link has two ends; each end's transmitter has a
 * busy-until time.  link_transmit() serializes pkt_wire_bytes() (frame,
 * preamble/SFD and the minimum inter-frame gap) at the link rate starting
 * now, and schedules one event that hands the packet to the other end's
 * receive callback when its last bit arrives: end of serialization plus the
 * propagation delay.  Loss and corruption are independent Bernoulli draws
 * per packet from the link's own RNG stream (named "LINK.wire"); a lost
 * packet is freed at once, a corrupted one is delivered with
 * p->corrupted set and the receiver drops it as an ICRC/FCS failure.
 *
 * Workload assumed: the NIC owns the transmit queue and arbitration: it
 * calls link_transmit() only when link_free_at() <= now and schedules its
 * own next attempt at the returned time.  Nothing is queued or allocated
 * here per packet; the only event is the delivery.  More than two hosts
 * meet at a switch (nic/switch.h): one end of each of its links is a
 * switch port.
 *
 * Counters (LINK = the link's name): LINK.wire.packets and .bytes (every
 * transmitted packet, lost ones included; bytes are wire bytes), .lost,
 * .corrupted, .busy_ps (time the transmitters were busy, both ends summed:
 * a saturated full-duplex link accrues 2 ps per ps).
 */
#ifndef NIC_WIRE_H
#define NIC_WIRE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "sim/config.h"
#include "sim/time.h"

struct sim;
struct pkt;
struct pkt_pool;
struct pcap_writer;

struct link_config {
	char *ends;            /* "a b": the two host names */
	uint64_t rate_bps;     /* bits/s */
	sim_time_t delay;      /* ps, propagation */
	double loss;           /* probability per packet */
	double corrupt;        /* probability per packet */
	uint64_t pcap_snaplen; /* bytes kept per frame in a pcap; 0: headers */
};

/* Component "link": section [link NAME]. */
extern const struct param_table link_params;

/* Split @ends ("a b") into two distinct host names (newly allocated). */
bool link_parse_ends(const char *ends, char **a, char **b, GError **error);

/* Called when the last bit of @p arrives; the callee owns @p. */
typedef void (*wire_rx_fn)(void *ctx, struct pkt *p);

struct link *link_new(struct sim *sim, const char *name,
		      const struct link_config *cfg, struct pkt_pool *pool);
void link_free(struct link *l);
/* The host index of an end attached to a switch port (switch_attach). */
#define LINK_SWITCH_END 0xffffu

/* Attach end @end (0 or 1) to host @host_index's NIC (or to a switch port,
 * @host_index LINK_SWITCH_END). */
void link_attach(struct link *l, unsigned end, uint16_t host_index,
		 wire_rx_fn rx, void *ctx);
/* Write every transmitted packet, both directions, to @w at its transmit
 * start time (NULL: stop).  The link does not own @w. */
void link_set_pcap(struct link *l, struct pcap_writer *w);

/* When end @end's transmitter is idle. */
sim_time_t link_free_at(const struct link *l, unsigned end);
/*
 * Transmit @p from @end: requires now >= link_free_at(l, end) (asserted)
 * and both ends attached.  A cable between two hosts sets
 * p->src_host/dst_host from the ends; through a switch the sender's
 * addresses stand.
 * Returns the end of serialization; delivery follows @delay later.
 */
sim_time_t link_transmit(struct link *l, unsigned end, struct pkt *p);

/* Occupy @end's transmitter for @bytes (wire bytes) from now, without a
 * packet: traffic that is not modelled packet by packet (a live-migration
 * stream sharing the data link).  Returns the end of serialization. */
sim_time_t link_reserve(struct link *l, unsigned end, uint64_t bytes);

/* The host index at end @end (LINK_SWITCH_END for a switch port), and
 * the receive context attached there (a switch port's). */
uint16_t link_end_host(const struct link *l, unsigned end);
void *link_end_ctx(const struct link *l, unsigned end);

const char *link_name(const struct link *l);
uint64_t link_rate(const struct link *l);
sim_time_t link_delay(const struct link *l);

#endif
