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
	GHashTable *route; /* host index -> struct sw_port * */
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
	sw->route = g_hash_table_new(g_direct_hash, g_direct_equal);
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
	g_hash_table_destroy(sw->route);
	g_free(sw->name);
	g_free(sw);
}

const char *switch_name(const struct netswitch *sw)
{
	return sw->name;
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
	struct sw_port *o = g_hash_table_lookup(
		sw->route, GUINT_TO_POINTER((guint)p->dst_host + 1));
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
	g_hash_table_insert(sw->route, GUINT_TO_POINTER((guint)host + 1), o);
	link_attach(link, end, LINK_SWITCH_END, sw_rx, o);
}

bool switch_port_reaches(const void *port, uint16_t host)
{
	const struct sw_port *o = port;
	return switch_reaches(o->sw, host);
}

bool switch_reaches(const struct netswitch *sw, uint16_t host)
{
	return g_hash_table_contains(sw->route,
				     GUINT_TO_POINTER((guint)host + 1));
}

void switch_swap_hosts(struct netswitch *sw, uint16_t a, uint16_t b)
{
	gpointer ka = GUINT_TO_POINTER((guint)a + 1);
	gpointer kb = GUINT_TO_POINTER((guint)b + 1);
	struct sw_port *pa = g_hash_table_lookup(sw->route, ka);
	struct sw_port *pb = g_hash_table_lookup(sw->route, kb);
	g_assert(pa && pb);
	g_hash_table_insert(sw->route, ka, pb);
	g_hash_table_insert(sw->route, kb, pa);
	(*sw->moves)++;
}
