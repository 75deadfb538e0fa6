/*
 * nic/switch.c - output-queued store-and-forward switches and their
 * shortest-path routing (see switch.h for the representation and the
 * workload it assumes).
 */
#include "nic/switch.h"

#include <glib.h>
#include <limits.h>
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
	{ "ecmp", PT_BOOL, "false", offsetof(struct switch_config, ecmp),
	  "among equal-cost shortest paths (a leaf's uplinks), pick by a hash "
	  "of the packet's flow (source and destination host and QP); false: "
	  "by destination host (index modulo the paths)",
	  "hash-threshold ECMP, RFC 2992, as leaf-spine fabrics use; the "
	  "static default keeps runs comparable path by path", NULL, 0, 0 },
};
PARAM_TABLE(switch_params, "switch",
	    "output-queued switch; [link] ends may name it, and links may "
	    "join two switches", switch_tab);

struct sw_port {
	struct netswitch *sw;
	struct link *link;
	unsigned end;
	uint16_t host;            /* the host at the other end, or
				   * LINK_SWITCH_END */
	struct netswitch *peer;   /* the switch at the other end, or NULL */
	struct pkt *head, *tail;
	uint64_t len;
	bool armed;
};

/* The ports on a shortest path to one host: cand[first .. first + n). */
struct sw_route {
	uint32_t first;
	uint16_t n;
	uint16_t fixed; /* the candidate static routing takes */
	uint16_t hops;  /* switches to the host, this one included */
};

struct netswitch {
	struct sim *sim;
	char *name;
	sim_time_t latency;
	bool ecmp;
	struct pkt_pool *pool;
	uint16_t comp;
	unsigned idx;      /* position in switch_route_all's array */
	GPtrArray *ports;  /* struct sw_port * */
	struct sw_route *route; /* by host index */
	uint32_t nroute;
	struct sw_port **cand;
	uint32_t ncand;
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
	sw->ecmp = cfg->ecmp;
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
	g_free(sw->cand);
	g_free(sw->name);
	g_free(sw);
}

const char *switch_name(const struct netswitch *sw)
{
	return sw->name;
}

static const struct sw_route *route_get(const struct netswitch *sw,
					uint16_t host)
{
	return host < sw->nroute && sw->route[host].n ? &sw->route[host]
						       : NULL;
}

/* The flow of a packet: murmur3's fmix64 over its source and destination
 * host and QP; the top 32 bits scaled onto [0, n) (no division). */
static unsigned flow_pick(const struct pkt *p, unsigned n)
{
	uint64_t k = ((uint64_t)p->src_host << 48) ^
		     ((uint64_t)p->dst_host << 32) ^
		     ((uint64_t)p->sqpn << 24) ^ p->dqpn;
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	k ^= k >> 33;
	return (unsigned)(((k >> 32) * n) >> 32);
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
	const struct sw_route *r = route_get(sw, p->dst_host);
	if (!r) {
		(*sw->no_route)++;
		sim_trace(sw->sim, sw->comp, &tk_no_route, p->dqpn, p->psn,
			  TRACE_NONE, TRACE_NONE, p->payload_len, NULL);
		pkt_free(sw->pool, p);
		return;
	}
	unsigned k = r->n == 1 ? 0 :
		     sw->ecmp ? flow_pick(p, r->n) : r->fixed;
	struct sw_port *o = sw->cand[r->first + k];
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

static struct sw_port *port_add(struct netswitch *sw, struct link *link,
				unsigned end, uint16_t host,
				struct netswitch *peer)
{
	struct sw_port *o = g_new0(struct sw_port, 1);
	o->sw = sw;
	o->link = link;
	o->end = end;
	o->host = host;
	o->peer = peer;
	g_ptr_array_add(sw->ports, o);
	link_attach(link, end, LINK_SWITCH_END, sw_rx, o);
	return o;
}

void switch_attach(struct netswitch *sw, struct link *link, unsigned end,
		   uint16_t host)
{
	port_add(sw, link, end, host, NULL);
}

void switch_attach_switch(struct netswitch *sw, struct link *link,
			  unsigned end, struct netswitch *peer)
{
	g_assert(peer != sw);
	port_add(sw, link, end, LINK_SWITCH_END, peer);
}

void switch_route_all(struct netswitch *const *sws, unsigned n,
		      uint16_t nhosts)
{
	unsigned *dist = g_new(unsigned, n), *queue = g_new(unsigned, n);
	for (unsigned i = 0; i < n; i++) {
		struct netswitch *sw = sws[i];
		sw->idx = i;
		g_free(sw->route);
		g_free(sw->cand);
		sw->route = g_new0(struct sw_route, nhosts);
		sw->nroute = nhosts;
		sw->cand = NULL;
		sw->ncand = 0;
	}
	GPtrArray **cand = g_new(GPtrArray *, n);
	for (unsigned i = 0; i < n; i++)
		cand[i] = g_ptr_array_new();
	for (uint16_t h = 0; h < nhosts; h++) {
		/* breadth first from the host: dist = switches to it */
		unsigned qh = 0, qt = 0;
		for (unsigned i = 0; i < n; i++) {
			dist[i] = UINT_MAX;
			for (guint j = 0; j < sws[i]->ports->len; j++) {
				const struct sw_port *o = sws[i]->ports->pdata[j];
				if (o->host == h && dist[i] == UINT_MAX) {
					dist[i] = 1;
					queue[qt++] = i;
				}
			}
		}
		while (qh < qt) {
			struct netswitch *x = sws[queue[qh++]];
			for (guint j = 0; j < x->ports->len; j++) {
				const struct sw_port *o = x->ports->pdata[j];
				if (o->peer && dist[o->peer->idx] == UINT_MAX) {
					dist[o->peer->idx] = dist[x->idx] + 1;
					queue[qt++] = o->peer->idx;
				}
			}
		}
		/* next hops: the ports one step nearer, in port order */
		for (unsigned i = 0; i < n; i++) {
			struct netswitch *x = sws[i];
			if (dist[i] == UINT_MAX)
				continue;
			struct sw_route *r = &x->route[h];
			r->first = cand[i]->len;
			r->hops = (uint16_t)dist[i];
			for (guint j = 0; j < x->ports->len; j++) {
				struct sw_port *o = x->ports->pdata[j];
				if (dist[i] == 1 ? o->host == h :
				    o->peer && dist[o->peer->idx] + 1 == dist[i])
					g_ptr_array_add(cand[i], o);
			}
			r->n = (uint16_t)(cand[i]->len - r->first);
			r->fixed = r->n ? (uint16_t)(h % r->n) : 0;
		}
	}
	for (unsigned i = 0; i < n; i++) {
		sws[i]->ncand = cand[i]->len;
		sws[i]->cand = (struct sw_port **)g_ptr_array_free(cand[i],
								   FALSE);
	}
	g_free(cand);
	g_free(dist);
	g_free(queue);
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

unsigned switch_hops(const struct netswitch *sw, uint16_t host)
{
	const struct sw_route *r = route_get(sw, host);
	return r ? r->hops : 0;
}

void switch_swap_hosts(struct netswitch *sw, uint16_t a, uint16_t b)
{
	g_assert(a < sw->nroute && b < sw->nroute);
	struct sw_route t = sw->route[a];
	sw->route[a] = sw->route[b];
	sw->route[b] = t;
	(*sw->moves)++;
}
