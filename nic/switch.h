/*
 * nic/switch.h - output-queued Ethernet switches, alone (a rack) or joined
 * by switch-to-switch links into a fabric (a two-tier leaf-spine), so that
 * a host can talk to many peers and a migrated host can be reached at its
 * new port.
 *
 * Representation: a switch is a set of ports, each the switch's end of a
 * [link] whose other end is a host's NIC or another switch.  Forwarding is
 * static shortest-path routing computed once the topology is built
 * (switch_route_all: a breadth-first search per destination host over the
 * switches): for each destination host index a switch holds the ports
 * that lie on a shortest path to it, contiguous in one array.  With one
 * candidate there is no choice; with several (a leaf's uplinks to the
 * spines, parallel links) the switch picks by destination (host index
 * modulo the candidates, fixed at routing time, as D-mod-k routing in fat
 * trees does) or, with ecmp = true, by a hash of the packet's flow (source
 * and destination host and QP: what RoCEv2 puts in its UDP source port),
 * so one QP's packets keep one path and stay in order (RFC 2992's
 * hash-threshold ECMP).  A packet is received whole (store and forward),
 * waits the forwarding latency, then joins its output port's FIFO, linked
 * through pkt->next; each port drains its FIFO onto its link one
 * serialization at a time with a single armed event.  No hash table, no
 * division on the per-packet path.
 *
 * Workload assumed: up to a few hundred hosts and tens of switches.  The
 * buffer is unbounded: RoCE fabrics are lossless (PFC), and the senders'
 * windows (max_outstanding per QP) bound what can queue; the deepest queue
 * seen is a counter.
 *
 * Counters (SW = the switch's name): SW.switch.forwarded,
 * SW.switch.dropped_no_route, SW.switch.queue_max_packets,
 * SW.switch.moves (forwarding entries moved by a migration).
 */
#ifndef NIC_SWITCH_H
#define NIC_SWITCH_H

#include <stdbool.h>
#include <stdint.h>

#include "sim/config.h"
#include "sim/time.h"

struct sim;
struct link;
struct pkt_pool;
struct netswitch;

struct switch_config {
	sim_time_t latency; /* forwarding latency, port to port */
	bool ecmp;          /* equal-cost paths chosen per flow */
};

/* Component "switch": section [switch NAME]. */
extern const struct param_table switch_params;

struct netswitch *switch_new(struct sim *sim, const char *name,
			     const struct switch_config *cfg,
			     struct pkt_pool *pool);
void switch_free(struct netswitch *sw);
const char *switch_name(const struct netswitch *sw);
/* Make end @end of @link a port of @sw; host @host is at its other end. */
void switch_attach(struct netswitch *sw, struct link *link, unsigned end,
		   uint16_t host);
/* Make end @end of @link a port of @sw; switch @peer is at its other end
 * (call it for both switches of a switch-to-switch link). */
void switch_attach_switch(struct netswitch *sw, struct link *link,
			  unsigned end, struct netswitch *peer);
/* Compute every switch's forwarding table for hosts 0..nhosts-1 (once
 * every link is attached). */
void switch_route_all(struct netswitch *const *sw, unsigned n,
		      uint16_t nhosts);
/* Does the switch of port @port (a link end's context, switch_attach)
 * lead to host @host? */
bool switch_port_reaches(const void *port, uint16_t host);
/* Does a port of @sw lead to host @host? */
bool switch_reaches(const struct netswitch *sw, uint16_t host);
/* Switches between @sw and host @host on a shortest path, @sw included
 * (0: no route). */
unsigned switch_hops(const struct netswitch *sw, uint16_t host);
/* Packets for host @a now leave through the ports that led to host @b,
 * and the reverse: a migrated host's address answers at the spare's port
 * (the spare announces it, as a gratuitous ARP makes Ethernet switches
 * relearn a moved MAC).  Call it for every switch of the fabric. */
void switch_swap_hosts(struct netswitch *sw, uint16_t a, uint16_t b);

#endif
