/*
 * sim/system/migrate.c - live migration of a host, with its address
 * spaces, MRs and QPs, to a spare host: the orchestration of vmm/migrate.c
 * (dirty log, remote pages) and nic/migrate.c (freeze, transplant,
 * resume).  Like the rest of sim/system/, it may call into vmm/ and nic/
 * (ARCHITECTURE.md).
 *
 * What migrates is the host's guest state: its memory manager with every
 * address space (page contents travel over the migration channel), its
 * driver instance, and the NIC function state (QPs, MRs, CQs, PDs, the
 * oracle watching them).  What stays is the hardware: the old NIC and
 * port become the spare's, the spare's NIC and port serve the migrated
 * host.  The host keeps its address (host index: RoCE GID and MAC), so
 * peers' QPs need no change: when the destination resumes it announces
 * the address and the switch moves it to the new port (a RoCE address
 * update by the fabric, as a gratuitous ARP moves a VM's MAC; IB APM would
 * need a preloaded alternate path per QP, which a RoCE fabric does not
 * have).  Packets still on their way to the old port are dropped there
 * and go-back-N resends them.
 *
 * Memory model: frames keep their numbers (the spare's DRAM is modelled by
 * the same frame table, which is why the spare must be at least as large).
 * Each copied page's content version is recorded when it is read for
 * sending; at the switchover every page with a frame takes the version the
 * destination received.  A page written after its last copy and not
 * resent therefore reverts, and the oracle reports it: a final mismatch,
 * or a stale read.  Swapped-out pages are on shared storage and are not
 * copied.
 *
 * State machine (enum mig_state, names in traces):
 *   IDLE -> PRECOPY (pre-copy: rounds of pages dirtied since the last)
 *        -> QUIESCE (NIC frozen: waiting for DMA, driver work to end)
 *        -> STOPCOPY (the last pages and the NIC state go over)
 *        -> POSTCOPY (post-copy only: resumed, pages pushed or pulled)
 *        -> DONE.
 * Downtime is QUIESCE + STOPCOPY: the host's QPs serve nothing.
 *
 * The channel: a separate link (rate, delay) or the host's data port
 * (link = shared: pages paced at `rate` are booked behind the port's
 * current packet; RDMA packets get what is left).
 * A page costs 4 KiB plus page_header bytes and is read when it starts to
 * go.
 */
#include "sim/system/migrate.h"

#include <string.h>

#include "nic/host.h"
#include "nic/nic.h"
#include "nic/switch.h"
#include "nic/wire.h"
#include "sim/snapfile.h"
#include "sim/stats.h"
#include "sim/system/system_int.h"
#include "sim/trace.h"
#include "sim/units.h"
#include "vmm/vmm.h"
#include "workloads/workload.h"

const char *const migration_policy_names[] = { "stop-copy", "pre-copy",
					       "post-copy", NULL };
enum mig_policy { MP_STOP_COPY, MP_PRE_COPY, MP_POST_COPY };
static const char *const link_modes[] = { "separate", "shared", NULL };

struct migration_config {
	char *migrate;
	int policy;
	int link;
	uint64_t rate_bps;
	sim_time_t delay;
	uint64_t max_rounds;
	sim_time_t max_downtime;
	bool nic_dirty_report;
	uint64_t page_header;
	uint64_t push_window;
	sim_time_t poll;
};

static const struct param migration_tab[] = {
	{ "migrate", PT_STRING, "", offsetof(struct migration_config, migrate),
	  "the migration: 'HOST -> SPARE at TIME' (empty: none)",
	  "the spare must be an unused host on the same switch", NULL, 0, 0 },
	{ "policy", PT_ENUM, "pre-copy",
	  offsetof(struct migration_config, policy),
	  "how memory moves: stop-copy, pre-copy (rounds while running), "
	  "post-copy (resume first, pages on demand); --migration overrides",
	  "pre-copy is QEMU's and Xen's default", migration_policy_names, 0,
	  0 },
	{ "link", PT_ENUM, "separate", offsetof(struct migration_config, link),
	  "the migration channel: a separate link (rate, delay), or the "
	  "host's data port, shared with RDMA traffic (the copy paced at "
	  "rate, RDMA gets the rest)",
	  "a dedicated migration network is common practice",
	  link_modes, 0, 0 },
	{ "rate", PT_RATE, "100Gbps",
	  offsetof(struct migration_config, rate_bps),
	  "rate of the separate migration link; with link = shared, the cap "
	  "the copy is paced at on the data port (QEMU's max-bandwidth)",
	  "a 100GbE port", NULL, 1e6, 1e13 },
	{ "delay", PT_TIME, "2us", offsetof(struct migration_config, delay),
	  "one-way latency of the migration channel (link, switch, the "
	  "receiving migration thread)", "a rack-scale TCP stream", NULL, 0,
	  1e12 },
	{ "max_rounds", PT_COUNT, "29",
	  offsetof(struct migration_config, max_rounds),
	  "pre-copy rounds before falling back to stop-copy",
	  "Xen's save loop stops after 29 iterations (DEF_MAX_ITERS)", NULL, 1,
	  1e6 },
	{ "max_downtime", PT_TIME, "1ms",
	  offsetof(struct migration_config, max_downtime),
	  "pre-copy stops when the dirty pages left would take no longer "
	  "than this to send",
	  "QEMU's downtime-limit defaults to 300 ms; simulated runs last "
	  "tens of ms, so the default here is 1 ms", NULL, 0, 1e15 },
	{ "nic_dirty_report", PT_BOOL, "true",
	  offsetof(struct migration_config, nic_dirty_report),
	  "NIC DMA writes reach the dirty log (IOMMU dirty bits or a device "
	  "dirty tracker); false: they are missed and the oracle shows it",
	  "mlx5 VF migration tracks device writes", NULL, 0, 0 },
	{ "page_header", PT_SIZE, "8B",
	  offsetof(struct migration_config, page_header),
	  "bytes the stream adds per page", "QEMU's RAM page header: a "
	  "64-bit address and flags word", NULL, 0, 1 << 20 },
	{ "push_window", PT_COUNT, "64",
	  offsetof(struct migration_config, push_window),
	  "post-copy: pages the source's background stream keeps in flight "
	  "(each is installed by a fault on arrival)",
	  "enough to keep a 100 Gb/s channel busy through the install "
	  "latency; a demand fault waits behind at most this many pages",
	  NULL, 1, 4096 },
	{ "poll", PT_TIME, "1us", offsetof(struct migration_config, poll),
	  "how often the frozen NIC is checked for quiescence", "", NULL, 1,
	  1e12 },
};
PARAM_TABLE(migration_params, "migration",
	    "live migration of a host to a spare", migration_tab);

enum mig_state { MIG_IDLE, MIG_PRECOPY, MIG_QUIESCE, MIG_STOPCOPY,
		 MIG_POSTCOPY, MIG_DONE, MIG_NSTATES };
static const char *const mig_state_names[] = { "IDLE", "PRECOPY", "QUIESCE",
					       "STOPCOPY", "POSTCOPY",
					       "DONE" };

/* A workload with a side on the migrated host, and what it saw of the
 * window from the freeze until the host served again. */
struct mig_peer {
	struct workload *w;
	const char *host;         /* its other side's host */
	uint64_t *rnr_rx;         /* that host's nic.rnr_naks_received */
	sim_time_t last_before;   /* its last completion before the window
				   * ended (the freeze, then the end) */
	bool any_before;
	uint64_t done_freeze, done_served; /* completions so far, at each end */
	uint64_t rnr_freeze, rnr_served;
	bool closed;              /* the window's end was recorded */
};

struct migration {
	struct sim *sim;
	GPtrArray *workloads;   /* the system's, to find the peers */
	struct mig_peer *peers;
	unsigned npeers;
	sim_time_t fallback_left; /* what the dirty pages would have taken */
	struct migration_config cfg;
	struct host *src, *dst; /* the migrated host's struct, the spare's */
	struct nic *src_nic;    /* the hardware each had at the start */
	struct nic *dst_nic;
	struct netswitch *sw;
	GPtrArray *switches;    /* the system's: all relearn the host */
	struct link *port;      /* link = shared: the source's data port */
	unsigned port_end;
	sim_time_t at;
	uint16_t comp;
	enum mig_state state;
	/* the channel */
	sim_time_t chan_free;
	sim_time_t pace_next;   /* link = shared: the next page's turn */
	/* copying */
	GHashTable *staged;     /* page key -> version the destination has */
	GArray *batch;          /* keys of the current round or final set */
	guint next;             /* next index in batch */
	GArray *carry;          /* dirty keys harvested when pre-copy stops:
				 * sent with the last pages */
	GArray *remote;         /* post-copy: keys pushed in the background */
	guint push_next;
	uint64_t push_inflight;
	bool pushing;           /* inside the pusher's vmm_fault_in */
	uint64_t state_wire_bytes;
	sim_time_t t_start, t_freeze, t_resume, t_done;
	bool started, frozen, resumed; /* the times above are set */
	bool served;            /* the function served again after resuming */
	/* counters */
	uint64_t *c_total, *c_downtime, *c_bytes, *c_rounds, *c_pages,
		*c_resent, *c_remote, *c_pushed, *c_state, *c_quiesce,
		*c_fallback, *c_final, *c_blackout;
};

static const struct trace_kind tk_state = { "migration_state",
					    TRACE_INSTANT, NULL };
static const struct trace_kind tk_down = { "migration_downtime",
					   TRACE_BEGIN, "downtime" };
static const struct trace_kind tk_down_end = { "migration_downtime_end",
					       TRACE_END, "downtime" };
static const struct trace_kind tk_round = { "migration_round", TRACE_BEGIN,
					    "round" };
static const struct trace_kind tk_round_end = { "migration_round_end",
						TRACE_END, "round" };

static void mig_set(struct migration *m, enum mig_state s)
{
	m->state = s;
	sim_trace(m->sim, m->comp, &tk_state, TRACE_NONE, TRACE_NONE,
		  TRACE_NONE, TRACE_NONE, TRACE_NONE, mig_state_names[s]);
}

static struct vmm *mig_vmm(const struct migration *m)
{
	return m->src->vmm;
}

/* ---- the channel ---- */

/* Send @bytes from the source; returns when they have arrived. */
static sim_time_t chan_send(struct migration *m, uint64_t bytes,
			    sim_time_t from)
{
	sim_time_t start = from > m->chan_free ? from : m->chan_free;
	sim_time_t end;
	if (m->port) {
		/* the data port: behind whatever it is sending now (a demand
		 * fetch asked for later is booked now: the port is held a
		 * channel delay early) */
		sim_time_t ser = sim_xfer_ps(bytes, link_rate(m->port));
		end = link_reserve(m->port, m->port_end, bytes);
		if (end < start + ser)
			end = start + ser;
	} else {
		end = start + sim_xfer_ps(bytes, m->cfg.rate_bps);
	}
	m->chan_free = end;
	*m->c_bytes += bytes;
	return end + m->cfg.delay;
}

static uint64_t page_bytes(const struct migration *m)
{
	return VMM_PAGE_SIZE + m->cfg.page_header;
}

/* ---- copying pages ---- */

static void copy_batch(struct sim *sim, void *obj, uint64_t arg);
SIM_EVKIND(ev_copy_batch, "migration.copy", copy_batch);
static void switchover(struct sim *sim, void *obj, uint64_t arg);
SIM_EVKIND(ev_switchover, "migration.switchover", switchover);
static void quiesce_poll(struct sim *sim, void *obj, uint64_t arg);
SIM_EVKIND(ev_quiesce, "migration.quiesce", quiesce_poll);

static void start_round(struct migration *m, GArray *keys)
{
	if (m->batch)
		g_array_unref(m->batch);
	m->batch = keys;
	m->next = 0;
	if (m->state == MIG_PRECOPY) {
		(*m->c_rounds)++;
		sim_trace(m->sim, m->comp, &tk_round, TRACE_NONE, TRACE_NONE,
			  TRACE_NONE, TRACE_NONE,
			  (uint64_t)keys->len * VMM_PAGE_SIZE, NULL);
	}
	sim_schedule(m->sim, sim_now(m->sim), &ev_copy_batch, m->comp, m, 0);
}

static void freeze(struct migration *m);
static void round_done(struct migration *m);
static void send_state(struct migration *m);

/*
 * Read the next page as it is now and send it, when the channel is free
 * (a page is read when it starts to go, and counted as sent then).  On a
 * shared data port the copy is paced at `rate` (QEMU's max-bandwidth):
 * each page is booked right behind whatever the port is sending, and the
 * next one waits until this one is out and a page time at that rate has
 * passed, so RDMA packets get the rest of the port, and at least every
 * other turn when both want it.
 */
static void copy_batch(struct sim *sim, void *obj, uint64_t arg)
{
	(void)arg;
	struct migration *m = obj;
	struct vmm *vmm = mig_vmm(m);
	sim_time_t free_at = m->port ? m->pace_next : m->chan_free;
	if (free_at > sim_now(sim)) {
		sim_schedule(sim, free_at, &ev_copy_batch, m->comp, m, 0);
		return;
	}
	vmm_sync(vmm); /* DMA that has landed is part of what is read */
	while (m->next < m->batch->len) {
		uint64_t key = g_array_index(m->batch, uint64_t, m->next++);
		uint64_t va, pfn, ver;
		gpointer k = GSIZE_TO_POINTER((gsize)key);
		struct vmm_as *as = vmm_key_as(vmm, key, &va);
		if (!as || !vmm_page_frame(as, va, &pfn)) {
			/* gone, or swapped out: its content is on shared
			 * storage, whatever was sent of it before */
			g_hash_table_remove(m->staged, k);
			continue;
		}
		vmm_key_version(vmm, key, &ver);
		if (g_hash_table_contains(m->staged, k))
			(*m->c_resent)++;
		g_hash_table_insert(m->staged, k, GSIZE_TO_POINTER((gsize)ver));
		(*m->c_pages)++;
		sim_time_t end = chan_send(m, page_bytes(m), sim_now(sim)) -
				 m->cfg.delay;
		/* shared: the next page no sooner than `rate` allows, and
		 * only once this one is out, one picosecond after it so
		 * that a packet the port has waiting goes first */
		sim_time_t pace = sim_now(sim) +
				  sim_xfer_ps(page_bytes(m), m->cfg.rate_bps);
		m->pace_next = (pace > end ? pace : end) + 1;
		break;
	}
	if (m->next < m->batch->len) {
		copy_batch(sim, m, 0); /* schedules itself for the next */
		return;
	}
	/* the round's last page is on its way */
	if (m->state == MIG_PRECOPY)
		round_done(m);
	else
		send_state(m);
}

static void round_done(struct migration *m)
{
	sim_trace(m->sim, m->comp, &tk_round_end, TRACE_NONE, TRACE_NONE,
		  TRACE_NONE, TRACE_NONE, TRACE_NONE, NULL);
	struct vmm *vmm = mig_vmm(m);
	vmm_sync(vmm);
	GArray *dirty = vmm_dirty_log_harvest(vmm);
	/* on a shared port the copy goes at rate, at most the port's */
	uint64_t rate = m->cfg.rate_bps;
	if (m->port && link_rate(m->port) < rate)
		rate = link_rate(m->port);
	sim_time_t left = sim_xfer_ps((uint64_t)dirty->len * page_bytes(m),
				      rate);
	if (left <= m->cfg.max_downtime || *m->c_rounds >= m->cfg.max_rounds) {
		/* converged, or dirtied faster than sent (fall back to
		 * stop-copy): the rest goes while stopped */
		if (left > m->cfg.max_downtime) {
			*m->c_fallback = 1;
			m->fallback_left = left;
		}
		m->carry = dirty;
		freeze(m);
		return;
	}
	start_round(m, dirty);
}

/* ---- stop: freeze, quiesce, the last pages and the NIC state ---- */

static uint64_t peer_done(const struct workload *w)
{
	return w->res.completed + w->res.outside;
}

/* The workloads with a side on the migrated host, as the freeze starts. */
static void peers_freeze(struct migration *m)
{
	m->peers = g_new0(struct mig_peer, m->workloads->len);
	for (guint i = 0; i < m->workloads->len; i++) {
		struct workload *w = m->workloads->pdata[i];
		const char *other = NULL;
		bool ours = false;
		for (unsigned k = 0; k < w->res.nregs; k++) {
			if (!strcmp(w->res.regs[k].host, m->src->name))
				ours = true;
			else
				other = w->res.regs[k].host;
		}
		if (!ours)
			continue;
		struct mig_peer *p = &m->peers[m->npeers++];
		p->w = w;
		p->host = other;
		if (other)
			p->rnr_rx = stats_counter(m->sim->stats,
						  "%s.nic.rnr_naks_received",
						  other);
		p->any_before = peer_done(w) > 0;
		p->last_before = w->res.last;
		p->done_freeze = peer_done(w);
		p->rnr_freeze = p->rnr_rx ? *p->rnr_rx : 0;
	}
}

/* The window ends (the host serves again, or the run ends first). */
static void peers_close(struct migration *m, bool served)
{
	for (unsigned i = 0; i < m->npeers; i++) {
		struct mig_peer *p = &m->peers[i];
		if (p->closed)
			continue;
		p->closed = true;
		p->done_served = peer_done(p->w);
		p->any_before = peer_done(p->w) > 0;
		p->last_before = p->w->res.last;
		p->rnr_served = p->rnr_rx ? *p->rnr_rx : 0;
		if (served)
			p->w->res.mark = sim_now(m->sim);
	}
}

static void freeze(struct migration *m)
{
	mig_set(m, MIG_QUIESCE);
	m->t_freeze = sim_now(m->sim);
	m->frozen = true;
	peers_freeze(m);
	sim_trace(m->sim, m->comp, &tk_down, TRACE_NONE, TRACE_NONE,
		  TRACE_NONE, TRACE_NONE, TRACE_NONE, NULL);
	nic_migrate_pause(m->src_nic);
	quiesce_poll(m->sim, m, 0);
}

static sim_time_t remote_fetch(void *ctx, sim_time_t ask);

static void quiesce_poll(struct sim *sim, void *obj, uint64_t arg)
{
	(void)arg;
	struct migration *m = obj;
	if (nic_migrate_busy(m->src_nic)) {
		sim_schedule_in(sim, m->cfg.poll, &ev_quiesce, m->comp, m, 0);
		return;
	}
	*m->c_quiesce = sim_now(sim) - m->t_freeze;
	mig_set(m, MIG_STOPCOPY);
	struct vmm *vmm = mig_vmm(m);
	vmm_sync(vmm);
	GArray *final;
	if (m->cfg.policy == MP_POST_COPY) {
		/* everything that can wait for a fault waits for one: the
		 * destination gets pinned (and busy) pages before resuming */
		m->remote = g_array_new(FALSE, FALSE, sizeof(uint64_t));
		final = g_array_new(FALSE, FALSE, sizeof(uint64_t));
		vmm_set_remote(vmm, remote_fetch, m);
		vmm_make_remote(vmm, m->remote, final);
		nic_migrate_zap(m->src_nic);
	} else {
		/* dirty since the last round, and never sent */
		final = vmm_dirty_log_harvest(vmm);
		if (m->carry) {
			g_array_append_vals(final, m->carry->data,
					    m->carry->len);
			g_array_unref(m->carry);
			m->carry = NULL;
		}
		GArray *res = vmm_resident_keys(vmm);
		for (guint i = 0; i < res->len; i++) {
			uint64_t key = g_array_index(res, uint64_t, i);
			if (!g_hash_table_contains(m->staged,
						   GSIZE_TO_POINTER((gsize)key)))
				g_array_append_val(final, key);
		}
		g_array_unref(res);
		/* a page both dirty and never sent is sent once */
		vmm_keys_sort_unique(final);
	}
	*m->c_final = final->len;
	start_round(m, final);
}

static void send_state(struct migration *m)
{
	struct snapfile *sf = nic_migrate_state(m->src_nic);
	m->state_wire_bytes = nic_migrate_state_bytes(sf);
	snapfile_free(sf);
	*m->c_state = m->state_wire_bytes;
	sim_time_t arrive = chan_send(m, m->state_wire_bytes, sim_now(m->sim));
	sim_schedule(m->sim, arrive, &ev_switchover, m->comp, m, 0);
}

/* ---- switchover and resume ---- */

static void push_more(struct migration *m);

/* Downtime ends when the host's function does work again on the new NIC:
 * a request executed or a completion, not merely a resume that leaves
 * every peer waiting out an RNR timer or a fault. */
static void served_again(void *ctx, struct nic *nic)
{
	(void)nic;
	struct migration *m = ctx;
	m->served = true;
	*m->c_downtime = sim_now(m->sim) - m->t_freeze;
	peers_close(m, true);
	sim_trace(m->sim, m->comp, &tk_down_end, TRACE_NONE, TRACE_NONE,
		  TRACE_NONE, TRACE_NONE, TRACE_NONE, NULL);
}

static void switchover(struct sim *sim, void *obj, uint64_t arg)
{
	(void)arg;
	struct migration *m = obj;
	struct vmm *vmm = mig_vmm(m);
	vmm_sync(vmm);
	if (m->cfg.policy != MP_POST_COPY) {
		/* the destination's memory is what it received */
		GArray *res = vmm_resident_keys(vmm);
		for (guint i = 0; i < res->len; i++) {
			uint64_t key = g_array_index(res, uint64_t, i), have;
			gpointer v;
			/* not sent: back from shared storage since, or new */
			if (!g_hash_table_lookup_extended(
				    m->staged, GSIZE_TO_POINTER((gsize)key),
				    NULL, &v))
				continue;
			uint64_t got = (uint64_t)GPOINTER_TO_SIZE(v);
			if (vmm_key_version(vmm, key, &have) && have != got)
				vmm_key_set_version(vmm, key, got);
		}
		g_array_unref(res);
		vmm_dirty_log_stop(vmm);
	}
	/* what the frozen function had prepared to send is dropped (go-back-N
	 * resends it from the destination), then its state is read */
	nic_migrate_drop_tx(m->src_nic);
	struct snapfile *sent = nic_migrate_state(m->src_nic);
	nic_migrate_transplant(m->src_nic, m->dst_nic);
	struct snapfile *got = nic_migrate_state(m->dst_nic);
	char *diff = nic_migrate_state_diff(sent, got);
	if (diff)
		g_error("migration: the NIC state changed in transit: %s",
			diff);
	snapfile_free(sent);
	snapfile_free(got);
	/* every switch of the fabric relearns where the host is */
	for (guint i = 0; i < m->switches->len; i++)
		switch_swap_hosts(m->switches->pdata[i],
				  (uint16_t)m->src->index,
				  (uint16_t)m->dst->index);
	nic_migrate_resume(m->dst_nic);
	m->t_resume = sim_now(sim);
	m->resumed = true;
	*m->c_blackout = m->t_resume - m->t_freeze;
	nic_on_serve(m->dst_nic, served_again, m);
	if (m->cfg.policy == MP_POST_COPY) {
		mig_set(m, MIG_POSTCOPY);
		push_more(m);
		return;
	}
	mig_set(m, MIG_DONE);
	m->t_done = sim_now(sim);
	*m->c_total = m->t_done - m->t_start;
}

/* A fault on a remote page, ready to ask at @ask: a request goes to the
 * source, the page comes back behind what the channel is sending.  A
 * pushed page needs no request: the source streams them. */
static sim_time_t remote_fetch(void *ctx, sim_time_t ask)
{
	struct migration *m = ctx;
	if (m->pushing)
		return chan_send(m, page_bytes(m), sim_now(m->sim));
	(*m->c_remote)++;
	return chan_send(m, page_bytes(m), ask + m->cfg.delay);
}

static void push_done(void *ctx, int status, uint64_t pfn)
{
	(void)status;
	(void)pfn;
	struct migration *m = ctx;
	m->push_inflight--;
	push_more(m);
}

static void push_more(struct migration *m)
{
	struct vmm *vmm = mig_vmm(m);
	while (m->push_inflight < m->cfg.push_window &&
	       m->push_next < m->remote->len) {
		uint64_t key = g_array_index(m->remote, uint64_t,
					     m->push_next++);
		uint64_t va;
		struct vmm_as *as = vmm_key_as(vmm, key, &va);
		if (!as || !vmm_page_remote(as, va))
			continue; /* pulled by a fault already, or unmapped */
		m->push_inflight++;
		(*m->c_pushed)++;
		m->pushing = true;
		vmm_fault_in(as, va, false, push_done, m);
		m->pushing = false;
	}
	if (!m->push_inflight && m->push_next >= m->remote->len &&
	    m->state == MIG_POSTCOPY && !vmm_remote_left(vmm)) {
		mig_set(m, MIG_DONE);
		m->t_done = sim_now(m->sim);
		*m->c_total = m->t_done - m->t_start;
	}
}

/* ---- start ---- */

static void mig_start(struct sim *sim, void *obj, uint64_t arg)
{
	(void)arg;
	struct migration *m = obj;
	m->t_start = sim_now(sim);
	m->started = true;
	struct vmm *vmm = mig_vmm(m);
	if (m->cfg.policy == MP_PRE_COPY) {
		mig_set(m, MIG_PRECOPY);
		vmm_dirty_log_start(vmm, m->cfg.nic_dirty_report);
		start_round(m, vmm_resident_keys(vmm));
	} else {
		if (m->cfg.policy == MP_STOP_COPY)
			vmm_dirty_log_start(vmm, m->cfg.nic_dirty_report);
		freeze(m);
	}
}
SIM_EVKIND(ev_mig_start, "migration.start", mig_start);

/* ---- construction ---- */

static bool mig_error(struct scenario *sc, const char *key, GError **error,
		      const char *fmt, ...) G_GNUC_PRINTF(4, 5);
static bool mig_error(struct scenario *sc, const char *key, GError **error,
		      const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	char *where = scenario_where(sc, "migration", NULL, key);
	g_set_error(error, CONFIG_ERROR, 0, "%s: [migration] %s: %s", where,
		    key, msg);
	g_free(where);
	g_free(msg);
	return false;
}

/* "HOST -> SPARE at TIME" */
static bool parse_migrate(struct migration *m, struct system *sys,
			  GError **error)
{
	struct scenario *sc = sys->sc;
	const char *s = m->cfg.migrate;
	gchar **v = g_regex_split_simple("^\\s*(\\S+)\\s*->\\s*(\\S+)\\s+at\\s+"
					 "(\\S+)\\s*$", s, 0, 0);
	bool ok = g_strv_length(v) == 5;
	if (!ok) {
		g_strfreev(v);
		return mig_error(sc, "migrate", error,
				 "'%s': expected 'HOST -> SPARE at TIME', as "
				 "in 'migrate = a -> spare at 20ms'", s);
	}
	m->src = system_host(sys, v[1]);
	m->dst = system_host(sys, v[2]);
	GError *e = NULL;
	if (!m->src || !m->dst)
		ok = mig_error(sc, "migrate", error,
			       "no host named '%s' (no [host %s] section)",
			       m->src ? v[2] : v[1], m->src ? v[2] : v[1]);
	else if (m->src == m->dst)
		ok = mig_error(sc, "migrate", error,
			       "'%s': a host migrates to another host", s);
	else if (!units_parse(v[3], UNIT_TIME, &m->at, &e)) {
		ok = mig_error(sc, "migrate", error, "%s", e->message);
		g_error_free(e);
	}
	g_strfreev(v);
	return ok;
}

struct migration *migration_build(struct system *sys, bool *none,
				  GError **error)
{
	struct sim *sim = sys->sim;
	struct scenario *sc = sys->sc;
	sim_time_t duration = sys->p.duration;
	GPtrArray *switches = sys->switches;
	*none = false;
	struct migration *m = g_new0(struct migration, 1);
	m->sim = sim;
	m->workloads = sys->workloads;
	m->switches = sys->switches;
	if (!config_fill(sc, &migration_params, &m->cfg, "migration", NULL,
			 error))
		goto fail;
	if (!*m->cfg.migrate) {
		*none = true;
		goto fail;
	}
	if (!parse_migrate(m, sys, error))
		goto fail;
	if (m->at >= duration) {
		mig_error(sc, "migrate", error,
			  "at %.6g s is not before the end of the run (%.6g s)",
			  sim_time_to_s(m->at), sim_time_to_s(duration));
		goto fail;
	}
	for (guint i = 0; i < switches->len; i++) {
		struct netswitch *sw = switches->pdata[i];
		if (switch_reaches(sw, (uint16_t)m->src->index) &&
		    switch_reaches(sw, (uint16_t)m->dst->index))
			m->sw = sw;
	}
	if (!m->sw) {
		mig_error(sc, "migrate", error,
			  "hosts %s and %s are not on one [switch]: the "
			  "peers must reach the spare after the move",
			  m->src->name, m->dst->name);
		goto fail;
	}
	if (m->dst->cfg.memory < m->src->cfg.memory) {
		mig_error(sc, "migrate", error,
			  "spare %s has less memory than %s (the model keeps "
			  "frame numbers across the move)", m->dst->name,
			  m->src->name);
		goto fail;
	}
	const char *const *wl = scenario_names(sc, "workload");
	for (unsigned i = 0; wl[i]; i++) {
		static const char *const keys[] = { "client", "server", "host",
						    NULL };
		for (const char *const *k = keys; *k; k++) {
			const char *val = scenario_get(sc, "workload", wl[i],
						       *k);
			if (val && !strcmp(val, m->dst->name)) {
				mig_error(sc, "migrate", error,
					  "spare %s is used by [workload %s] "
					  "(%s): a spare runs nothing until the "
					  "migration", m->dst->name, wl[i], *k);
				goto fail;
			}
		}
	}
	m->src_nic = m->src->nic;
	m->dst_nic = m->dst->nic;
	if (m->cfg.link == 1) {
		m->port = nic_port(m->src_nic, &m->port_end);
		g_assert(m->port);
	}
	m->comp = sim_component_add(sim, "migration");
	m->staged = g_hash_table_new(g_direct_hash, g_direct_equal);
	struct stats *st = sim->stats;
	m->c_total = stats_counter(st, "migration.total_ps");
	m->c_downtime = stats_counter(st, "migration.downtime_ps");
	m->c_blackout = stats_counter(st, "migration.stopped_to_resume_ps");
	m->c_quiesce = stats_counter(st, "migration.quiesce_ps");
	m->c_bytes = stats_counter(st, "migration.bytes");
	m->c_rounds = stats_counter(st, "migration.rounds");
	m->c_pages = stats_counter(st, "migration.pages_sent");
	m->c_resent = stats_counter(st, "migration.pages_resent");
	m->c_final = stats_counter(st, "migration.pages_while_stopped");
	m->c_remote = stats_counter(st, "migration.remote_faults");
	m->c_pushed = stats_counter(st, "migration.pages_pushed");
	m->c_state = stats_counter(st, "migration.nic_state_bytes");
	m->c_fallback = stats_counter(st, "migration.fell_back_to_stop_copy");
	sim_schedule(sim, m->at, &ev_mig_start, m->comp, m, 0);
	return m;
fail:
	migration_free(m);
	return NULL;
}

void migration_finish(struct migration *m)
{
	sim_time_t now = sim_now(m->sim);
	if (m->started && m->state != MIG_DONE)
		*m->c_total = now - m->t_start; /* so far */
	if (m->resumed && !m->served) {
		/* never served again before the end: down to the end */
		nic_on_serve(m->dst_nic, NULL, NULL);
		*m->c_downtime = now - m->t_freeze;
	} else if (m->frozen && !m->resumed) {
		*m->c_downtime = now - m->t_freeze;
		*m->c_blackout = now - m->t_freeze;
	}
	if (m->frozen)
		peers_close(m, false); /* to the end, when not served again */
}

void migration_free(struct migration *m)
{
	if (!m)
		return;
	if (m->batch)
		g_array_unref(m->batch);
	if (m->remote)
		g_array_unref(m->remote);
	if (m->carry)
		g_array_unref(m->carry);
	if (m->staged)
		g_hash_table_destroy(m->staged);
	g_free(m->peers);
	config_free(&migration_params, &m->cfg);
	g_free(m);
}

/* The end of the freeze-to-served-again window (the end of the run when
 * the host did not serve again). */
static sim_time_t window_end(const struct migration *m)
{
	return m->t_freeze + *m->c_downtime;
}

/* A peer's stall across the window's end: from its last completion
 * before the host served again (before the freeze, or inside the window:
 * ACKs of what landed before the freeze still come; the freeze itself if
 * it had none) to its first completion after; false when none came
 * before the end of the run (*stall is then up to the end). */
static bool peer_stall(const struct migration *m, const struct mig_peer *p,
		       sim_time_t *stall, sim_time_t *next)
{
	sim_time_t from = p->any_before ? p->last_before : m->t_freeze;
	const struct workload_result *r = &p->w->res;
	if (m->served && r->after_mark) {
		*next = r->after_mark;
		*stall = r->after_mark - from;
		return true;
	}
	*next = 0;
	*stall = sim_now(m->sim) - from;
	return false;
}

/* pre-copy's target: the downtime max_downtime allows */
static bool target_missed(const struct migration *m)
{
	return m->cfg.policy == MP_PRE_COPY && m->frozen &&
	       *m->c_downtime > m->cfg.max_downtime;
}

char *migration_warning(const struct migration *m)
{
	if (m->cfg.policy != MP_PRE_COPY || !m->frozen ||
	    m->state == MIG_QUIESCE || *m->c_quiesce <= m->cfg.max_downtime)
		return NULL;
	return g_strdup_printf(
		"migration %s -> %s (pre-copy): max_downtime = %.1f us is "
		"below this run's quiesce alone (%.1f us: the frozen NIC's DMA "
		"in flight and driver work end first), so no round can meet "
		"it; the downtime was %.1f us",
		m->src->name, m->dst->name,
		(double)m->cfg.max_downtime / 1e6,
		(double)*m->c_quiesce / 1e6, (double)*m->c_downtime / 1e6);
}

void migration_summary_text(const struct migration *m, FILE *out)
{
	fprintf(out, "\nmigration %s -> %s (%s, %s link) at %.6f s: %s\n",
		m->src->name, m->dst->name,
		migration_policy_names[m->cfg.policy], link_modes[m->cfg.link],
		sim_time_to_s(m->at), mig_state_names[m->state]);
	if (m->state == MIG_IDLE)
		return;
	if (m->state != MIG_DONE)
		fprintf(out, "  not finished at the end of the run: times are "
			     "up to the end\n");
	if (m->resumed && !m->served)
		fprintf(out, "  the host did not serve again before the end: "
			     "its downtime lasts to the end of the run\n");
	fprintf(out,
		"  total %.3f ms  downtime %.3f ms (stopped %.3f ms, quiesce "
		"%.3f ms)  %.1f MiB sent  %" G_GUINT64_FORMAT " rounds\n",
		(double)*m->c_total / 1e9, (double)*m->c_downtime / 1e9,
		(double)*m->c_blackout / 1e9, (double)*m->c_quiesce / 1e9,
		(double)*m->c_bytes / 1048576.0, *m->c_rounds);
	fprintf(out,
		"  pages: %" G_GUINT64_FORMAT " sent, %" G_GUINT64_FORMAT
		" resent, %" G_GUINT64_FORMAT " while stopped, %"
		G_GUINT64_FORMAT " pushed, %" G_GUINT64_FORMAT
		" remote faults; NIC state %" G_GUINT64_FORMAT " B\n",
		*m->c_pages, *m->c_resent, *m->c_final, *m->c_pushed,
		*m->c_remote, *m->c_state);
	if (*m->c_fallback)
		fprintf(out,
			"  fell back to stop-copy after %" G_GUINT64_FORMAT
			" round%s: the pages still dirty would have taken %.1f "
			"us to send (max_downtime %.1f us)\n",
			*m->c_rounds, *m->c_rounds == 1 ? "" : "s",
			(double)m->fallback_left / 1e6,
			(double)m->cfg.max_downtime / 1e6);
	if (target_missed(m))
		fprintf(out, "  downtime target missed (%.1f us > %.1f us)\n",
			(double)*m->c_downtime / 1e6,
			(double)m->cfg.max_downtime / 1e6);
	if (!m->frozen)
		return;
	fprintf(out, "  window: frozen at %.6f s, %s %.6f s (%.1f us)\n",
		sim_time_to_s(m->t_freeze),
		m->served ? "served again at" : "not served again by",
		sim_time_to_s(window_end(m)), (double)*m->c_downtime / 1e6);
	for (unsigned i = 0; i < m->npeers; i++) {
		const struct mig_peer *p = &m->peers[i];
		sim_time_t stall, next;
		bool came = peer_stall(m, p, &stall, &next);
		fprintf(out, "  %s (%s)%s%s: stalled %.3f ms", p->w->name,
			p->w->ops->type, p->host ? " from " : "",
			p->host ? p->host : "", (double)stall / 1e9);
		if (came)
			fprintf(out, " (last completion %s%.6f s, next %.6f s)",
				p->any_before ? "" : "none, freeze ",
				sim_time_to_s(p->any_before ? p->last_before
							    : m->t_freeze),
				sim_time_to_s(next));
		else
			fprintf(out, " (no completion after the window)");
		fprintf(out, ", %" G_GUINT64_FORMAT " completed in the window",
			p->done_served - p->done_freeze);
		if (p->host)
			fprintf(out, ", %s received %" G_GUINT64_FORMAT
				     " RNR NAKs in it",
				p->host, p->rnr_served - p->rnr_freeze);
		fputc('\n', out);
	}
}

void migration_summary_json(const struct migration *m, struct json_writer *w)
{
	json_obj_begin(w, "migration");
	json_str(w, "host", m->src->name);
	json_str(w, "spare", m->dst->name);
	json_str(w, "policy", migration_policy_names[m->cfg.policy]);
	json_str(w, "link", link_modes[m->cfg.link]);
	json_u64(w, "at_ps", m->at);
	json_str(w, "state", mig_state_names[m->state]);
	json_u64(w, "frozen_at_ps", m->t_freeze);
	json_u64(w, "total_ps", *m->c_total);
	json_u64(w, "downtime_ps", *m->c_downtime);
	json_bool(w, "served_again", m->served); /* false: not (yet) */
	json_u64(w, "stopped_to_resume_ps", *m->c_blackout);
	json_u64(w, "quiesce_ps", *m->c_quiesce);
	json_u64(w, "bytes", *m->c_bytes);
	json_u64(w, "rounds", *m->c_rounds);
	json_u64(w, "pages_sent", *m->c_pages);
	json_u64(w, "pages_resent", *m->c_resent);
	json_u64(w, "pages_while_stopped", *m->c_final);
	json_u64(w, "pages_pushed", *m->c_pushed);
	json_u64(w, "remote_faults", *m->c_remote);
	json_u64(w, "nic_state_bytes", *m->c_state);
	json_bool(w, "fell_back_to_stop_copy", *m->c_fallback != 0);
	if (*m->c_fallback)
		json_u64(w, "fallback_dirty_send_ps", m->fallback_left);
	else
		json_null(w, "fallback_dirty_send_ps");
	if (m->cfg.policy == MP_PRE_COPY) {
		json_u64(w, "downtime_target_ps", m->cfg.max_downtime);
		json_bool(w, "downtime_target_missed", target_missed(m));
	} else {
		json_null(w, "downtime_target_ps");
		json_null(w, "downtime_target_missed");
	}
	json_arr_begin(w, "peers");
	for (unsigned i = 0; m->frozen && i < m->npeers; i++) {
		const struct mig_peer *p = &m->peers[i];
		sim_time_t stall, next;
		bool came = peer_stall(m, p, &stall, &next);
		json_obj_begin(w, NULL);
		json_str(w, "workload", p->w->name);
		if (p->host)
			json_str(w, "host", p->host);
		else
			json_null(w, "host");
		json_u64(w, "stall_ps", stall);
		if (p->any_before)
			json_u64(w, "last_before_ps", p->last_before);
		else
			json_null(w, "last_before_ps");
		if (came)
			json_u64(w, "first_after_ps", next);
		else
			json_null(w, "first_after_ps");
		json_u64(w, "completed_in_window",
			 p->done_served - p->done_freeze);
		json_u64(w, "rnr_naks_received_in_window",
			 p->rnr_served - p->rnr_freeze);
		json_obj_end(w);
	}
	json_arr_end(w);
	json_obj_end(w);
}
