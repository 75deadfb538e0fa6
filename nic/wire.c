/*
 * nic/wire.c - point-to-point links (see wire.h for the representation and
 * the workload it assumes).
 */
#include "nic/wire.h"

#include <stddef.h>
#include <string.h>

#include "nic/packet.h"
#include "nic/pcap.h"
#include "sim/rng.h"
#include "sim/sim.h"
#include "sim/stats.h"
#include "sim/trace.h"

static const struct param link_tab[] = {
	{ "ends", PT_STRING, NULL, offsetof(struct link_config, ends),
	  "the two ends the link connects, by name: two hosts (ends = a b), or a "
	  "host and a [switch] (ends = a sw)", "required",
	  NULL, 0, 0 },
	{ "rate", PT_RATE, "100Gbps", offsetof(struct link_config, rate_bps),
	  "line rate of each direction",
	  "100GbE (IEEE 802.3 100GBASE-SR4/CR4), the port speed of "
	  "ConnectX-5/6 class RoCE NICs",
	  NULL, 1e6, 1e13 },
	{ "delay", PT_TIME, "500ns", offsetof(struct link_config, delay),
	  "propagation delay, one way",
	  "~100m of fibre at ~5ns/m (refractive index ~1.47): a cross-row "
	  "datacenter cable; no switch is modelled",
	  NULL, 0, 1e12 },
	{ "loss", PT_FLOAT, "0", offsetof(struct link_config, loss),
	  "probability that a packet is lost", "a lossless (PFC) RoCE fabric; "
	  "set it to exercise retransmission",
	  NULL, 0, 1 },
	{ "corrupt", PT_FLOAT, "0", offsetof(struct link_config, corrupt),
	  "probability that a packet arrives corrupted (dropped by the "
	  "receiver's ICRC/FCS check)",
	  "post-FEC bit error rates of 100GbE are ~1e-12 or below: negligible "
	  "unless set",
	  NULL, 0, 1 },
	{ "pcap_snaplen", PT_SIZE, "65535B",
	  offsetof(struct link_config, pcap_snaplen),
	  "bytes of each frame kept in this link's pcap (--pcap-snaplen "
	  "sets every link's); 65535B keeps whole frames; 0B: every header "
	  "(Ethernet, IPv4, UDP, BTH, RETH/AETH/ImmDt) and no payload byte, "
	  "which Wireshark's InfiniBand dissector flags as malformed",
	  "whole frames, as tcpdump and dumpcap capture by default "
	  "(snaplen 262144): tshark dissects them without a complaint",
	  NULL, 0, 65535 },
};
PARAM_TABLE(link_params, "link",
	    "point-to-point link between two hosts, or a host and a switch",
	    link_tab);

struct link_end {
	struct link *link;
	unsigned idx;
	bool attached;
	uint16_t host;
	wire_rx_fn rx;
	void *ctx;
	sim_time_t free_at;
};

struct link {
	struct sim *sim;
	char *name;
	uint64_t rate_bps;
	struct sim_rate rate; /* rate_bps, prepared for sim_rate_xfer_ps */
	sim_time_t delay;
	double loss, corrupt;
	struct pkt_pool *pool;
	uint16_t comp;
	struct rng rng;
	struct link_end end[2];
	struct pcap_writer *pcap;
	uint64_t *packets, *bytes, *lost, *corrupted, *busy_ps;
};

static const struct trace_kind tk_wire_tx = { "wire_tx", TRACE_INSTANT,
					       NULL };
static const struct trace_kind tk_wire_lost = { "wire_lost", TRACE_INSTANT,
						NULL };
static const struct trace_kind tk_wire_corrupt = { "wire_corrupt",
						   TRACE_INSTANT, NULL };

static void link_deliver(struct sim *sim, void *obj, uint64_t arg);
SIM_EVKIND(ev_link_deliver, "link.deliver", link_deliver);

bool link_parse_ends(const char *ends, char **a, char **b, GError **error)
{
	gchar **v = g_strsplit_set(ends ? ends : "", " \t", -1);
	char *names[2] = { NULL, NULL };
	unsigned n = 0;
	bool ok = true;
	for (gchar **s = v; *s; s++) {
		if (!**s)
			continue;
		if (n == 2) {
			ok = false;
			break;
		}
		names[n++] = *s;
	}
	if (!ok || n != 2) {
		g_set_error(error, CONFIG_ERROR, 0,
			    "ends = '%s': expected two names (hosts or a "
			    "switch), as in 'ends = a b'",
			    ends ? ends : "");
		ok = false;
	} else if (!strcmp(names[0], names[1])) {
		g_set_error(error, CONFIG_ERROR, 0,
			    "ends = '%s': a link joins two different ends",
			    ends);
		ok = false;
	}
	if (ok) {
		*a = g_strdup(names[0]);
		*b = g_strdup(names[1]);
	}
	g_strfreev(v);
	return ok;
}

struct link *link_new(struct sim *sim, const char *name,
		      const struct link_config *cfg, struct pkt_pool *pool)
{
	g_assert(cfg->rate_bps > 0);
	g_assert(cfg->loss >= 0 && cfg->loss <= 1);
	g_assert(cfg->corrupt >= 0 && cfg->corrupt <= 1);
	struct link *l = g_new0(struct link, 1);
	l->sim = sim;
	l->name = g_strdup(name);
	l->rate_bps = cfg->rate_bps;
	sim_rate_init(&l->rate, cfg->rate_bps);
	l->delay = cfg->delay;
	l->loss = cfg->loss;
	l->corrupt = cfg->corrupt;
	l->pool = pool;
	char *comp = g_strdup_printf("%s.wire", name);
	l->comp = sim_component_add(sim, comp);
	rng_init(&l->rng, sim->seed, comp);
	g_free(comp);
	for (unsigned i = 0; i < 2; i++) {
		l->end[i].link = l;
		l->end[i].idx = i;
	}
	l->packets = stats_counter(sim->stats, "%s.wire.packets", name);
	l->bytes = stats_counter(sim->stats, "%s.wire.bytes", name);
	l->lost = stats_counter(sim->stats, "%s.wire.lost", name);
	l->corrupted = stats_counter(sim->stats, "%s.wire.corrupted", name);
	l->busy_ps = stats_counter(sim->stats, "%s.wire.busy_ps", name);
	return l;
}

void link_free(struct link *l)
{
	if (!l)
		return;
	g_free(l->name);
	g_free(l);
}

void link_attach(struct link *l, unsigned end, uint16_t host_index,
		 wire_rx_fn rx, void *ctx)
{
	g_assert(end < 2);
	g_assert(rx != NULL);
	l->end[end].attached = true;
	l->end[end].host = host_index;
	l->end[end].rx = rx;
	l->end[end].ctx = ctx;
}

void link_set_pcap(struct link *l, struct pcap_writer *w)
{
	l->pcap = w;
}

sim_time_t link_free_at(const struct link *l, unsigned end)
{
	g_assert(end < 2);
	return l->end[end].free_at;
}

sim_time_t link_transmit(struct link *l, unsigned end, struct pkt *p)
{
	g_assert(end < 2);
	struct link_end *tx = &l->end[end], *rx = &l->end[end ^ 1];
	sim_time_t now = sim_now(l->sim);
	g_assert(now >= tx->free_at);
	g_assert(tx->attached && rx->attached);
	g_assert(p->payload_len == 0 || ib_opcode_has_payload(p->opcode));
	if (tx->host != LINK_SWITCH_END && rx->host != LINK_SWITCH_END) {
		p->src_host = tx->host;
		p->dst_host = rx->host;
	}

	uint32_t bytes = pkt_wire_bytes(p);
	sim_time_t ser = sim_rate_xfer_ps(&l->rate, bytes);
	tx->free_at = now + ser;
	(*l->packets)++;
	*l->bytes += bytes;
	*l->busy_ps += ser;
	if (l->pcap)
		pcap_write(l->pcap, now, p);
	sim_trace(l->sim, l->comp, &tk_wire_tx, p->dqpn, p->psn, TRACE_NONE,
		  TRACE_NONE, bytes, ib_opcode_name(p->opcode));

	if (l->loss > 0 && rng_bernoulli(&l->rng, l->loss)) {
		(*l->lost)++;
		sim_trace(l->sim, l->comp, &tk_wire_lost, p->dqpn, p->psn,
			  TRACE_NONE, TRACE_NONE, bytes,
			  ib_opcode_name(p->opcode));
		pkt_free(l->pool, p);
		return tx->free_at;
	}
	if (l->corrupt > 0 && rng_bernoulli(&l->rng, l->corrupt)) {
		(*l->corrupted)++;
		p->corrupted = true;
		sim_trace(l->sim, l->comp, &tk_wire_corrupt, p->dqpn, p->psn,
			  TRACE_NONE, TRACE_NONE, bytes,
			  ib_opcode_name(p->opcode));
	}
	sim_schedule(l->sim, tx->free_at + l->delay, &ev_link_deliver, l->comp,
		     rx, (uint64_t)(uintptr_t)p);
	return tx->free_at;
}

sim_time_t link_reserve(struct link *l, unsigned end, uint64_t bytes)
{
	g_assert(end < 2);
	struct link_end *tx = &l->end[end];
	sim_time_t now = sim_now(l->sim);
	sim_time_t start = tx->free_at > now ? tx->free_at : now;
	sim_time_t ser = sim_rate_xfer_ps(&l->rate, bytes);
	tx->free_at = start + ser;
	*l->bytes += bytes;
	*l->busy_ps += ser;
	return tx->free_at;
}

static void link_deliver(struct sim *sim, void *obj, uint64_t arg)
{
	(void)sim;
	struct link_end *rx = obj;
	rx->rx(rx->ctx, (struct pkt *)(uintptr_t)arg);
}

uint16_t link_end_host(const struct link *l, unsigned end)
{
	g_assert(end < 2);
	return l->end[end].host;
}

void *link_end_ctx(const struct link *l, unsigned end)
{
	g_assert(end < 2);
	return l->end[end].ctx;
}

const char *link_name(const struct link *l)
{
	return l->name;
}

uint64_t link_rate(const struct link *l)
{
	return l->rate_bps;
}

sim_time_t link_delay(const struct link *l)
{
	return l->delay;
}
