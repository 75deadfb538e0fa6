/*
 * nic/switch.c - an output-queued store-and-forward switch (see switch.h
 * for the representation and the workload it assumes).
 */
#include "nic/switch.h"

#include <glib.h>
#include <stddef.h>

#include "nic/packet.h"
#include "nic/wire.h"
#include "sim/sim.h"
#include "sim/stats.h"
#include "sim/trace.h"

static const struct param switch_tab[] = {
	{ "latency", PT_TIME, "300ns", offsetof(struct switch_config, latency),
	  "forwarding latency from the last bit in to the output queue",
	  "port-to-port latency of 100GbE datacenter switch ASICs is "
	  "~300-600 ns (e.g. NVIDIA Spectrum datasheets: ~300 ns)",
	  NULL, 0, 1e12 },
};
PARAM_TABLE(switch_params, "switch",
	    "output-queued switch; [link] ends may name it", switch_tab);

struct sw_port {
	struct netswitch *sw;
	struct link *link;
	unsigned end;
	uint16_t host;         /* the host at the other end */
	struct pkt *head, *tail;
	uint64_t len;
	bool armed;
};

struct netswitch {
	struct sim *sim;
	char *name;
	sim_time_t latency;
	struct pkt_pool *pool;
	uint16_t comp;
	GPtrArray *ports;  /* struct sw_port * */
	struct sw_port **route; /* by host index: the port to it, or NULL */
	uint32_t nroute;
	uint64_t *forwarded, *no_route, *qmax, *moves;
};

static const struct trace_kind tk_no_route = { "switch_no_route",
					       TRACE_INSTANT, NULL };

static void port_drain(struct sim *sim, void *obj, uint64_t arg);
SIM_EVKIND(ev_port_drain, "switch.drain", port_drain);
static void sw_forward(struct sim *sim, void *obj, uint64_t arg);
SIM_EVKIND(ev_sw_forward, "switch.forward", sw_forward);

struct netswitch *switch_new(struct sim *sim, const char *name,
			     const struct switch_config *cfg,
			     struct pkt_pool *pool)
{
	struct netswitch *sw = g_new0(struct netswitch, 1);
	sw->sim = sim;
	sw->name = g_strdup(name);
	sw->latency = cfg->latency;
	sw->pool = pool;
	char *comp = g_strdup_printf("%s.switch", name);
	sw->comp = sim_component_add(sim, comp);
	g_free(comp);
	sw->ports = g_ptr_array_new_with_free_func(g_free);
	struct stats *st = sim->stats;
	sw->forwarded = stats_counter(st, "%s.switch.forwarded", name);
	sw->no_route = stats_counter(st, "%s.switch.dropped_no_route", name);
	sw->qmax = stats_counter(st, "%s.switch.queue_max_packets", name);
	sw->moves = stats_counter(st, "%s.switch.moves", name);
	return sw;
}

void switch_free(struct netswitch *sw)
{
	if (!sw)
		return;
	/* queued packets belong to the pool */
	g_ptr_array_free(sw->ports, TRUE);
	g_free(sw->route);
	g_free(sw->name);
	g_free(sw);
}

const char *switch_name(const struct netswitch *sw)
{
	return sw->name;
}

static struct sw_port *route_get(const struct netswitch *sw, uint16_t host)
{
	return host < sw->nroute ? sw->route[host] : NULL;
}

static void route_set(struct netswitch *sw, uint16_t host, struct sw_port *o)
{
	if (host >= sw->nroute) {
		uint32_t n = sw->nroute ? sw->nroute : 8;
		while (n <= host)
			n *= 2;
		sw->route = g_renew(struct sw_port *, sw->route, n);
		for (uint32_t i = sw->nroute; i < n; i++)
			sw->route[i] = NULL;
		sw->nroute = n;
	}
	sw->route[host] = o;
}

/* The last bit of @p arrived on @port's link. */
static void sw_rx(void *ctx, struct pkt *p)
{
	struct sw_port *in = ctx;
	struct netswitch *sw = in->sw;
	sim_schedule_in(sw->sim, sw->latency, &ev_sw_forward, sw->comp, sw,
			(uint64_t)(uintptr_t)p);
}

static void port_kick(struct sw_port *o)
{
	if (o->armed || !o->head)
		return;
	struct sim *sim = o->sw->sim;
	sim_time_t t = link_free_at(o->link, o->end);
	if (t < sim_now(sim))
		t = sim_now(sim);
	o->armed = true;
	sim_schedule(sim, t, &ev_port_drain, o->sw->comp, o, 0);
}

static void sw_forward(struct sim *sim, void *obj, uint64_t arg)
{
	(void)sim;
	struct netswitch *sw = obj;
	struct pkt *p = (struct pkt *)(uintptr_t)arg;
	struct sw_port *o = route_get(sw, p->dst_host);
	if (!o) {
		(*sw->no_route)++;
		sim_trace(sw->sim, sw->comp, &tk_no_route, p->dqpn, p->psn,
			  TRACE_NONE, TRACE_NONE, p->payload_len, NULL);
		pkt_free(sw->pool, p);
		return;
	}
	p->next = NULL;
	if (o->tail)
		o->tail->next = p;
	else
		o->head = p;
	o->tail = p;
	if (++o->len > *sw->qmax)
		*sw->qmax = o->len;
	(*sw->forwarded)++;
	port_kick(o);
}

static void port_drain(struct sim *sim, void *obj, uint64_t arg)
{
	(void)arg;
	struct sw_port *o = obj;
	o->armed = false;
	if (link_free_at(o->link, o->end) > sim_now(sim)) {
		port_kick(o); /* the link was taken meanwhile */
		return;
	}
	struct pkt *p = o->head;
	o->head = p->next;
	if (!o->head)
		o->tail = NULL;
	o->len--;
	p->next = NULL;
	link_transmit(o->link, o->end, p);
	port_kick(o);
}

void switch_attach(struct netswitch *sw, struct link *link, unsigned end,
		   uint16_t host)
{
	struct sw_port *o = g_new0(struct sw_port, 1);
	o->sw = sw;
	o->link = link;
	o->end = end;
	o->host = host;
	g_ptr_array_add(sw->ports, o);
	route_set(sw, host, o);
	link_attach(link, end, LINK_SWITCH_END, sw_rx, o);
}

bool switch_port_reaches(const void *port, uint16_t host)
{
	const struct sw_port *o = port;
	return switch_reaches(o->sw, host);
}

bool switch_reaches(const struct netswitch *sw, uint16_t host)
{
	return route_get(sw, host) != NULL;
}

void switch_swap_hosts(struct netswitch *sw, uint16_t a, uint16_t b)
{
	struct sw_port *pa = route_get(sw, a), *pb = route_get(sw, b);
	g_assert(pa && pb);
	route_set(sw, a, pb);
	route_set(sw, b, pa);
	(*sw->moves)++;
}
