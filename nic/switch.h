/*
 * nic/switch.h - an output-queued Ethernet switch joining several hosts'
 * links, so that a host can talk to more than one peer and a migrated
 * host can be reached at its new port.
 *
 * Representation: a switch is a set of ports, each the switch's end of a
 * [link]; a forwarding table maps a host index (the address a packet is
 * sent to: its RoCE GID and MAC) to a port.  A packet is received whole
 * (store and forward), waits the forwarding latency, then joins its
 * output port's FIFO, linked through pkt->next; each port drains its FIFO
 * onto its link one serialization at a time with a single armed event.
 *
 * Workload assumed: a rack of a few hosts.  The buffer is unbounded: RoCE
 * fabrics are lossless (PFC), and the senders' windows (max_outstanding
 * per QP) bound what can queue; the deepest queue seen is a counter.
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
/* Does the switch of port @port (a link end's context, switch_attach)
 * lead to host @host? */
bool switch_port_reaches(const void *port, uint16_t host);
/* Does a port of @sw lead to host @host? */
bool switch_reaches(const struct netswitch *sw, uint16_t host);
/* Packets for host @a now leave through the port that led to host @b, and
 * the reverse: a migrated host's address answers at the spare's port (the
 * spare announces it, as a gratuitous ARP makes an Ethernet switch
 * relearn a moved MAC). */
void switch_swap_hosts(struct netswitch *sw, uint16_t a, uint16_t b);

#endif
