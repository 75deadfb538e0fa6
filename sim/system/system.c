/*
 * sim/system/system.c - scenario schema, system construction, run loop and
 * summaries (see system.h).
 */
#include "sim/system/system.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "nic/host.h"
#include "sim/json.h"
#include "sim/outfile.h"
#include "sim/series.h"
#include "sim/stats.h"
#include "sim/timeline.h"
#include "sim/trace.h"
#include "sim/system/migrate.h"
#include "sim/system/snapshot.h"
#include "sim/system/system_int.h"
#include "sim/system/validate.h"
#include "sim/version.h"
#include "nic/driver.h"
#include "nic/mtt_cache.h"
#include "nic/oracle.h"
#include "nic/nic.h"
#include "nic/packet.h"
#include "nic/pcap.h"
#include "nic/iommu.h"
#include "nic/pcie.h"
#include "nic/switch.h"
#include "nic/wire.h"
#include "vmm/vmm.h"
#include "workloads/workload.h"


static const struct param sim_tab[] = {
	{ "seed", PT_COUNT, "1", offsetof(struct sim_params, seed),
	  "run seed; every component's RNG stream derives from it and its "
	  "name", "", NULL, 0, 0 },
	{ "duration", PT_TIME, "10ms", offsetof(struct sim_params, duration),
	  "simulated time to run", "", NULL, 1, 1e18 },
	{ "policy", PT_ENUM, "pin", offsetof(struct sim_params, policy),
	  "default registration policy of every MR", "today's practice",
	  reg_policy_names, 0, 0 },
	{ "series_interval", PT_TIME, "10us",
	  offsetof(struct sim_params, series_interval),
	  "sampling interval of series.csv",
	  "fine enough to see a 100us fault storm", NULL, 1, 1e18 },
	{ "warmup", PT_TIME, "0ns", offsetof(struct sim_params, warmup),
	  "measurement window of every workload starts here: bandwidth, "
	  "message rate and latency count only operations completing after "
	  "it (a workload's measure_from overrides it; 0: the whole run)",
	  "", NULL, 0, 0 },
	{ "description", PT_STRING, "", offsetof(struct sim_params, description),
	  "one line saying what the scenario shows", "", NULL, 0, 0 },
};
static PARAM_TABLE(sim_params_table, "sim", "run-wide settings", sim_tab);

static const struct param host_tab[] = {
	{ "memory", PT_SIZE, "16GiB", offsetof(struct host_config, memory),
	  "DRAM capacity of the host, up to 64 TiB (2^34 frames); frames are "
	  "created as they are first used, so DRAM configured but never "
	  "used costs no simulator memory",
	  "a small server; scenarios set it", NULL, 1 << 20, 1ULL << 46 },
	{ "cpu_freq", PT_FREQ, "2.5GHz", offsetof(struct host_config, cpu_hz),
	  "host CPU clock (driver and VMM service times are in its cycles)",
	  "a typical 2020s server core", NULL, 1e6, 1e11 },
	{ "cpus", PT_COUNT, "8", offsetof(struct host_config, cpus),
	  "host CPUs available to the driver and the VMM daemons", "", NULL, 1,
	  4096 },
};
static PARAM_TABLE(host_params_table, "host", "one simulated host",
		   host_tab);

const struct section_schema system_schema[] = {
	{ "sim", SEC_UNNAMED, NULL, &sim_params_table, NULL, NULL },
	{ "host", SEC_NAMED, NULL, &host_params_table, NULL, NULL },
	{ "workload", SEC_NAMED, NULL, &workload_common_params, "type", NULL },
	{ "vmm", SEC_EITHER, "host", &vmm_params, NULL, NULL },
	{ "nic", SEC_EITHER, "host", &nic_params, NULL, NULL },
	{ "pcie", SEC_EITHER, "host", &pcie_params, NULL, NULL },
	{ "iommu", SEC_EITHER, "host", &iommu_params, NULL, NULL },
	{ "driver", SEC_EITHER, "host", &driver_params, NULL, NULL },
	{ "link", SEC_NAMED, NULL, &link_params, NULL, NULL },
	{ "switch", SEC_NAMED, NULL, &switch_params, NULL, NULL },
	{ "migration", SEC_UNNAMED, NULL, &migration_params, NULL, NULL },
	/* a validation case's figures (sim/system/validate.c): read by
	 * `odpsim validate`, checked and ignored by a run */
	{ "validate", SEC_NAMED, NULL, &validate_params, NULL, NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL },
};



/* The workload subtables, filled from the registry at first use. */
static const struct param_table *const *workload_subtables(void)
{
	static const struct param_table *tabs[64];
	if (!tabs[0]) {
		unsigned n = 0;
		for (const struct workload_ops *const *o = workload_types; *o;
		     o++) {
			g_assert(n + 1 < G_N_ELEMENTS(tabs));
			tabs[n++] = (*o)->params;
		}
	}
	return tabs;
}

static const struct section_schema *schema(void)
{
	static struct section_schema s[G_N_ELEMENTS(system_schema)];
	if (!s[0].type) {
		memcpy(s, system_schema, sizeof(s));
		for (struct section_schema *x = s; x->type; x++)
			if (x->subtype_key)
				x->subtables = workload_subtables();
	}
	return s;
}

const char *system_violation(const struct system *sys)
{
	for (guint i = 0; i < sys->hosts->len; i++) {
		struct host *h = sys->hosts->pdata[i];
		const char *m = h->nic ? oracle_tripped(nic_oracle(h->nic)) :
					 NULL;
		if (m)
			return m;
	}
	return NULL;
}

struct sim *system_sim(struct system *sys)
{
	return sys->sim;
}

static bool set_strict(struct system *sys, bool strict)
{
	for (guint i = 0; i < sys->hosts->len; i++) {
		struct host *h = sys->hosts->pdata[i];
		if (h->nic)
			oracle_set_strict(nic_oracle(h->nic), strict);
	}
	return true;
}

const struct sim_params *system_params(const struct system *sys)
{
	return &sys->p;
}

static void host_free(struct host *h)
{
	driver_free(h->drv);
	nic_free(h->nic);
	vmm_free(h->vmm);
	g_free(h->name);
	g_free(h);
}

/* The host's memory manager, its ELF image and its series. */
static bool build_vmm(struct system *sys, struct host *h, GError **error)
{
	struct vmm_config vc = { 0 };
	bool ok = config_fill(sys->sc, &vmm_params, &vc, "vmm", h->name, error);
	const char *key = NULL, *why = ok ? vmm_config_check(&vc, &key) : NULL;
	if (why) {
		const char *nm = scenario_get(sys->sc, "vmm", h->name, key)
					 ? h->name : NULL;
		char *where = scenario_where(sys->sc, "vmm", nm, key);
		g_set_error(error, CONFIG_ERROR, 0, "%s: [vmm%s%s] %s: %s", where,
			    nm ? " " : "", nm ? nm : "", key, why);
		g_free(where);
		ok = false;
	}
	if (ok) {
		h->vmm = vmm_new(sys->sim, h->name, h->cfg.memory, &vc);
		if (vc.image && *vc.image) {
			GError *e = NULL;
			struct vmm_as *as = vmm_as_new(h->vmm, "main");
			if (!vmm_load_elf(as, vc.image, &e)) {
				const char *nm = scenario_get(sys->sc, "vmm",
							      h->name, "image")
							 ? h->name : NULL;
				char *where = scenario_where(sys->sc, "vmm",
							     nm, "image");
				g_set_error(error, CONFIG_ERROR, 0,
					    "%s: [vmm%s%s] image: %s", where,
					    nm ? " " : "", nm ? nm : "",
					    e->message);
				g_free(where);
				g_error_free(e);
				ok = false;
			}
		}
	}
	config_free(&vmm_params, &vc);
	if (!ok)
		return false;
	static const struct {
		const char *key;
		enum series_mode mode;
	} ser[] = {
		{ "resident_pages", SERIES_LEVEL },
		{ "faults.minor", SERIES_DELTA },
		{ "faults.major", SERIES_DELTA },
		{ "reclaim.pages", SERIES_DELTA },
		{ "moves", SERIES_DELTA },
	};
	for (unsigned i = 0; i < G_N_ELEMENTS(ser); i++) {
		char *name = g_strdup_printf("%s.vmm.%s", h->name, ser[i].key);
		series_add(sys->series, name,
			   stats_counter(sys->sim->stats, "%s", name),
			   ser[i].mode);
		g_free(name);
	}
	return true;
}

/* [iommu] of host @host, checked across its keys (the message names the
 * key's file and line). */
static bool iommu_fill(struct scenario *sc, const char *host,
		       struct iommu_config *ic, GError **error)
{
	if (!config_fill(sc, &iommu_params, ic, "iommu", host, error))
		return false;
	const char *key = NULL, *why = iommu_config_check(ic, &key);
	if (!why)
		return true;
	const char *nm = scenario_get(sc, "iommu", host, key) ? host : NULL;
	char *where = scenario_where(sc, "iommu", nm, key);
	g_set_error(error, CONFIG_ERROR, 0, "%s: [iommu%s%s] %s: %s", where,
		    nm ? " " : "", nm ? nm : "", key, why);
	g_free(where);
	return false;
}

/* The host's HCA and its PCIe attachment. */
static bool build_nic(struct system *sys, struct host *h, GError **error)
{
	struct nic_config nc = { 0 };
	struct pcie_config pc = { 0 };
	if (!config_fill(sys->sc, &nic_params, &nc, "nic", h->name, error) ||
	    !config_fill(sys->sc, &pcie_params, &pc, "pcie", h->name, error))
		return false;
	GError *e = NULL;
	if (!pcie_config_validate(&pc, &e)) {
		char *where = scenario_where(sys->sc, "pcie", h->name, NULL);
		g_set_error(error, CONFIG_ERROR, 0, "%s: [pcie %s]: %s", where,
			    h->name, e->message);
		g_free(where);
		g_error_free(e);
		return false;
	}
	if (!mtt_cache_check_geometry((uint32_t)nc.mtt_cache_entries,
				      (uint32_t)nc.mtt_cache_ways,
				      "MTT cache", &e)) {
		/* the key is in [nic NAME] or in [nic] */
		const char *nm = scenario_get(sys->sc, "nic", h->name,
					      "mtt_cache_ways") ||
					 scenario_get(sys->sc, "nic", h->name,
						      "mtt_cache_entries")
					 ? h->name : NULL;
		char *where = scenario_where(sys->sc, "nic", nm,
					     "mtt_cache_ways");
		g_set_error(error, CONFIG_ERROR, 0,
			    "%s: [nic%s%s] mtt_cache_ways: %s", where,
			    nm ? " " : "", nm ? nm : "", e->message);
		g_free(where);
		g_error_free(e);
		return false;
	}
	if (nc.mtt_l1_entries &&
	    !mtt_cache_check_geometry((uint32_t)nc.mtt_l1_entries,
				      (uint32_t)nc.mtt_l1_ways,
				      "second MTT cache level", &e)) {
		const char *nm = scenario_get(sys->sc, "nic", h->name,
					      "mtt_l1_ways") ||
					 scenario_get(sys->sc, "nic", h->name,
						      "mtt_l1_entries")
					 ? h->name : NULL;
		char *where = scenario_where(sys->sc, "nic", nm, "mtt_l1_ways");
		g_set_error(error, CONFIG_ERROR, 0,
			    "%s: [nic%s%s] mtt_l1_ways: %s", where,
			    nm ? " " : "", nm ? nm : "", e->message);
		g_free(where);
		g_error_free(e);
		return false;
	}
	struct iommu_config ic = { 0 };
	if (!iommu_fill(sys->sc, h->name, &ic, error))
		return false;
	struct pcie *pcie = pcie_new(sys->sim, h->name, &pc);
	h->nic = nic_new(sys->sim, h, &nc, pcie, &sys->pool);
	/* off and passthrough: nothing on the DMA path (dma-direct) */
	if (ic.mode == IOMMU_TRANSLATE)
		nic_set_iommu(h->nic, iommu_new(sys->sim, h->name, &ic, pcie));
	struct driver_config dc = { 0 };
	if (!config_fill(sys->sc, &driver_params, &dc, "driver", h->name,
			 error))
		return false;
	h->drv = driver_new(sys->sim, h, &dc);
	static const char *const ser[] = { "tx_bytes", "rx_packets",
					   "mtt_cache.hits",
					   "mtt_cache.misses", "rnr_naks_sent",
					   "retransmitted_packets", "page_faults",
					   "page_invalidations", "qp_stalls" };
	for (unsigned i = 0; i < G_N_ELEMENTS(ser); i++) {
		char *name = g_strdup_printf("%s.nic.%s", h->name, ser[i]);
		series_add(sys->series, name,
			   stats_counter(sys->sim->stats, "%s", name),
			   SERIES_DELTA);
		g_free(name);
	}
	/* a level read from the cache itself at each sample (system_run) */
	uint64_t *occ = g_new0(uint64_t, 1);
	g_ptr_array_add(sys->mtt_occ, occ);
	char *name = g_strdup_printf("%s.nic.mtt_cache.occupancy", h->name);
	series_add(sys->series, name, occ, SERIES_LEVEL);
	g_free(name);
	return true;
}

static bool build_hosts(struct system *sys, GError **error)
{
	const char *const *names = scenario_names(sys->sc, "host");
	for (unsigned i = 0; names[i]; i++) {
		struct host *h = g_new0(struct host, 1);
		h->name = g_strdup(names[i]);
		h->index = i;
		g_ptr_array_add(sys->hosts, h);
		if (!config_fill(sys->sc, &host_params_table, &h->cfg, "host",
				 h->name, error))
			return false;
		if (!build_vmm(sys, h, error) || !build_nic(sys, h, error))
			return false;
	}
	return true;
}

/* A config struct big enough for @t (its largest field offset, plus a
 * field), zeroed. */
static void *table_buf(const struct param_table *t)
{
	size_t n = 0;
	for (unsigned i = 0; i < t->n; i++)
		n = MAX(n, t->params[i].off + sizeof(uint64_t));
	return g_malloc0(n);
}

/* Fill @t from [TYPE NAME] (or [TYPE]) and throw the values away: the
 * parse and range checks of config_fill. */
static bool check_table(struct scenario *sc, const struct param_table *t,
			const char *type, const char *name, GError **error)
{
	void *buf = table_buf(t);
	bool ok = config_fill(sc, t, buf, type, name, error);
	config_free(t, buf);
	g_free(buf);
	return ok;
}

bool system_check_scenario(const char *path, GError **error)
{
	struct scenario *sc = scenario_load(path, error);
	if (!sc)
		return false;
	bool ok = scenario_validate(sc, schema(), error);
	const char *const *hosts = ok ? scenario_names(sc, "host") : NULL;
	if (ok && !hosts[0]) {
		g_set_error(error, CONFIG_ERROR, 0,
			    "%s: no [host NAME] section: a scenario needs at "
			    "least one host", path);
		ok = false;
	}
	for (const struct section_schema *s = schema(); ok && s->type; s++) {
		if (s->naming == SEC_UNNAMED) {
			ok = check_table(sc, s->table, s->type, NULL, error);
			continue;
		}
		/* [nic] and the like apply to every host; named sections
		 * are filled by their own names */
		const char *const *names = s->owner ? hosts
					   : scenario_names(sc, s->type);
		for (unsigned i = 0; ok && names[i]; i++) {
			ok = check_table(sc, s->table, s->type, names[i],
					 error);
			const char *st = ok && s->subtype_key
						 ? scenario_get(sc, s->type,
								names[i],
								s->subtype_key)
						 : NULL;
			const struct workload_ops *ops =
				st ? workload_find(st) : NULL;
			if (ops)
				ok = check_table(sc, ops->params, s->type,
						 names[i], error);
		}
	}
	/* the cross-field checks system_build makes before any model */
	for (unsigned i = 0; ok && hosts[i]; i++) {
		struct vmm_config vc = { 0 };
		ok = config_fill(sc, &vmm_params, &vc, "vmm", hosts[i], error);
		const char *key = NULL;
		const char *why = ok ? vmm_config_check(&vc, &key) : NULL;
		if (why) {
			char *where = scenario_where(sc, "vmm", hosts[i], key);
			g_set_error(error, CONFIG_ERROR, 0, "%s: [vmm] %s: %s",
				    where, key, why);
			g_free(where);
			ok = false;
		}
		config_free(&vmm_params, &vc);
		struct iommu_config ic = { 0 };
		if (ok)
			ok = iommu_fill(sc, hosts[i], &ic, error);
		struct pcie_config pc = { 0 };
		GError *e = NULL;
		if (ok && config_fill(sc, &pcie_params, &pc, "pcie", hosts[i],
				      error) &&
		    !pcie_config_validate(&pc, &e)) {
			char *where = scenario_where(sc, "pcie", hosts[i],
						     NULL);
			g_set_error(error, CONFIG_ERROR, 0, "%s: [pcie %s]: %s",
				    where, hosts[i], e->message);
			g_free(where);
			g_error_free(e);
			ok = false;
		}
	}
	const char *const *links = ok ? scenario_names(sc, "link") : NULL;
	for (unsigned i = 0; ok && links[i]; i++) {
		struct link_config lc = { 0 };
		char *a = NULL, *b = NULL;
		GError *e = NULL;
		ok = config_fill(sc, &link_params, &lc, "link", links[i], error);
		if (ok && !link_parse_ends(lc.ends, &a, &b, &e)) {
			char *where = scenario_where(sc, "link", links[i],
						     "ends");
			g_set_error(error, CONFIG_ERROR, 0,
				    "%s: [link %s] ends: %s", where, links[i],
				    e->message);
			g_free(where);
			g_error_free(e);
			ok = false;
		}
		g_free(a);
		g_free(b);
		config_free(&link_params, &lc);
	}
	g_assert(ok || !error || *error); /* a failure says why */
	scenario_free(sc);
	return ok;
}

struct host *system_host(struct system *sys, const char *name)
{
	for (guint i = 0; i < sys->hosts->len; i++) {
		struct host *h = sys->hosts->pdata[i];
		if (!strcmp(h->name, name))
			return h;
	}
	return NULL;
}

static struct netswitch *switch_by_name(struct system *sys, const char *name)
{
	for (guint i = 0; i < sys->switches->len; i++) {
		struct netswitch *sw = sys->switches->pdata[i];
		if (!strcmp(switch_name(sw), name))
			return sw;
	}
	return NULL;
}

/* [switch NAME] sections; a switch may not share a host's name. */
static bool build_switches(struct system *sys, GError **error)
{
	const char *const *names = scenario_names(sys->sc, "switch");
	for (unsigned i = 0; names[i]; i++) {
		if (system_host(sys, names[i])) {
			char *where = scenario_where(sys->sc, "switch",
						     names[i], NULL);
			g_set_error(error, CONFIG_ERROR, 0,
				    "%s: [switch %s]: a host has that name "
				    "too; links name their ends, so they "
				    "must differ", where, names[i]);
			g_free(where);
			return false;
		}
		struct switch_config c = { 0 };
		if (!config_fill(sys->sc, &switch_params, &c, "switch",
				 names[i], error))
			return false;
		g_ptr_array_add(sys->switches,
				switch_new(sys->sim, names[i], &c, &sys->pool));
		config_free(&switch_params, &c);
	}
	return true;
}

/* [link NAME]: a cable between the NICs of the two hosts of `ends`,
 * between a host's NIC and a switch port, or between two switches. */
static bool build_links(struct system *sys, GError **error)
{
	const char *const *names = scenario_names(sys->sc, "link");
	for (unsigned i = 0; names[i]; i++) {
		struct link_config lc = { 0 };
		bool ok = config_fill(sys->sc, &link_params, &lc, "link",
				      names[i], error);
		char *a = NULL, *b = NULL;
		struct host *ha = NULL, *hb = NULL;
		struct netswitch *sa = NULL, *sb = NULL;
		GError *e = NULL;
		if (ok && !link_parse_ends(lc.ends, &a, &b, &e)) {
			ok = false;
		} else if (ok) {
			ha = system_host(sys, a);
			hb = system_host(sys, b);
			sa = ha ? NULL : switch_by_name(sys, a);
			sb = hb ? NULL : switch_by_name(sys, b);
			if ((!ha && !sa) || (!hb && !sb))
				g_set_error(&e, CONFIG_ERROR, 0,
					    "no host or switch named '%s' (no "
					    "[host %s] or [switch %s] section)",
					    ha || sa ? b : a, ha || sa ? b : a,
					    ha || sa ? b : a);
			else if (sa && sa == sb)
				g_set_error(&e, CONFIG_ERROR, 0,
					    "a link joins a switch to itself");
			else if ((ha && nic_attached(ha->nic)) ||
				 (hb && nic_attached(hb->nic)))
				g_set_error(&e, CONFIG_ERROR, 0,
					    "host %s already has a link (one "
					    "port per NIC: join more than two "
					    "hosts with a [switch])",
					    ha && nic_attached(ha->nic) ? a : b);
			ok = !e;
		}
		if (e) {
			char *where = scenario_where(sys->sc, "link", names[i],
						     "ends");
			g_set_error(error, CONFIG_ERROR, 0, "%s: [link %s] ends: %s",
				    where, names[i], e->message);
			g_free(where);
			g_error_free(e);
		}
		if (ok) {
			struct link *l = link_new(sys->sim, names[i], &lc,
						  &sys->pool);
			g_ptr_array_add(sys->links, l);
			char *busy = g_strdup_printf("%s.wire.busy_ps",
						     names[i]);
			series_add(sys->series, busy,
				   stats_counter(sys->sim->stats, "%s", busy),
				   SERIES_DELTA);
			g_free(busy);
			if (ha)
				nic_attach(ha->nic, l, 0);
			else if (hb)
				switch_attach(sa, l, 0, (uint16_t)hb->index);
			else
				switch_attach_switch(sa, l, 0, sb);
			if (hb)
				nic_attach(hb->nic, l, 1);
			else if (ha)
				switch_attach(sb, l, 1, (uint16_t)ha->index);
			else
				switch_attach_switch(sb, l, 1, sa);
			uint32_t snap = (uint32_t)lc.pcap_snaplen;
			g_array_append_val(sys->pcap_snaplen, snap);
		}
		g_free(a);
		g_free(b);
		config_free(&link_params, &lc);
		if (!ok)
			return false;
	}
	/* the fabric is complete: shortest-path forwarding tables */
	switch_route_all((struct netswitch *const *)sys->switches->pdata,
			 sys->switches->len, (uint16_t)sys->hosts->len);
	return true;
}

static void workload_free(struct workload *w)
{
	if (w->ops && w->ops->destroy)
		w->ops->destroy(w);
	if (w->cfg) {
		config_free(w->ops->params, w->cfg);
		g_free(w->cfg);
	}
	config_free(&workload_common_params, &w->common);
	rate_peak_free(&w->res.peak);
	for (unsigned i = 0; i < w->res.nregs; i++)
		g_free(w->res.regs[i].reason);
	g_free(w->name);
	g_free(w);
}

/* The workload's measurement window: measure_from (or [sim] warmup) and
 * measure_until, the start before the end of the run, the end after the
 * start. */
static bool workload_window(struct system *sys, struct workload *w,
			    GError **error)
{
	bool own = scenario_get(sys->sc, "workload", w->name,
				"measure_from") != NULL;
	sim_time_t from = own ? w->common.measure_from : sys->p.warmup;
	sim_time_t until = w->common.measure_until;
	const char *type = "workload", *name = w->name, *key, *why;
	if (from >= sys->p.duration) {
		key = own ? "measure_from" : "warmup";
		if (!own) {
			type = "sim";
			name = NULL;
		}
		why = "the window starts at or after the end of the run";
	} else if (until && until <= from) {
		key = "measure_until";
		why = "the window ends before it starts";
	} else {
		w->res.from = from;
		w->res.until = until;
		return true;
	}
	char *where = scenario_where(sys->sc, type, name, key);
	char *a = units_format(from, UNIT_TIME);
	char *b = units_format(until ? until : sys->p.duration, UNIT_TIME);
	g_set_error(error, CONFIG_ERROR, 0,
		    "%s: [%s%s%s] %s: %s (workload %s would measure from %s "
		    "to %s)", where, type, name ? " " : "", name ? name : "",
		    key, why, w->name, a, b);
	g_free(a);
	g_free(b);
	g_free(where);
	return false;
}

static bool build_workloads(struct system *sys, GError **error)
{
	const char *const *names = scenario_names(sys->sc, "workload");
	struct workload_env env = {
		.sim = sys->sim, .sc = sys->sc,
		.hosts = (struct host *const *)sys->hosts->pdata,
		.nhosts = sys->hosts->len, .policy = sys->p.policy,
	};
	for (unsigned i = 0; names[i]; i++) {
		struct workload *w = g_new0(struct workload, 1);
		w->name = g_strdup(names[i]);
		w->sim = sys->sim;
		g_ptr_array_add(sys->workloads, w);
		if (!config_fill(sys->sc, &workload_common_params, &w->common,
				 "workload", w->name, error))
			return false;
		if (!workload_window(sys, w, error))
			return false;
		w->ops = workload_find(w->common.type);
		g_assert(w->ops); /* scenario_validate checked the type */
		w->cfg = g_malloc0(w->ops->cfg_size);
		if (!config_fill(sys->sc, w->ops->params, w->cfg, "workload",
				 w->name, error))
			return false;
		char *cname = g_strdup_printf("wl.%s", w->name);
		w->comp = sim_component_add(sys->sim, cname);
		g_free(cname);
		if (!w->ops->create(w, &env, error))
			return false;
		/* its goodput: what completed, window or not (the plots'
		 * lanes) */
		char *sn = g_strdup_printf("wl.%s.completed_bytes", w->name);
		series_add(sys->series, sn, &w->res.bytes_done, SERIES_DELTA);
		g_free(sn);
		sn = g_strdup_printf("wl.%s.completed", w->name);
		series_add(sys->series, sn, &w->res.done, SERIES_DELTA);
		g_free(sn);
	}
	return true;
}

static bool build_migration(struct system *sys, const char *migration,
			    GError **error)
{
	bool none;
	sys->mig = migration_build(sys, &none, error);
	if (!sys->mig && none && migration) {
		g_set_error(error, CONFIG_ERROR, 0,
			    "--migration %s: %s names no migration (add "
			    "[migration] migrate = HOST -> SPARE at TIME)",
			    migration, scenario_path(sys->sc));
		return false;
	}
	return sys->mig || none;
}

/* The --trace-from/-to/-cap window, checked before anything is opened. */
struct trace_window {
	uint64_t from, to, cap;
};

static bool parse_trace_window(const struct run_options *opt,
			       struct trace_window *tw, GError **error)
{
	if (!opt->trace_path && !opt->timeline_path)
		return true;
	const struct {
		const char *opt, *val;
		enum unit_kind kind;
		uint64_t *out;
	} v[] = {
		{ "--trace-from", opt->trace_from, UNIT_TIME, &tw->from },
		{ "--trace-to", opt->trace_to, UNIT_TIME, &tw->to },
		{ "--trace-cap", opt->trace_cap, UNIT_SIZE, &tw->cap },
	};
	for (unsigned i = 0; i < G_N_ELEMENTS(v); i++) {
		GError *e = NULL;
		if (v[i].val && !units_parse(v[i].val, v[i].kind, v[i].out, &e)) {
			g_set_error(error, CONFIG_ERROR, 0,
				    "trace options: %s %s: %s", v[i].opt,
				    v[i].val, e->message);
			g_error_free(e);
			return false;
		}
	}
	if (opt->trace_to && tw->to <= tw->from) {
		g_set_error(error, CONFIG_ERROR, 0,
			    "trace options: --trace-to %s is not after "
			    "--trace-from %s", opt->trace_to,
			    opt->trace_from ? opt->trace_from : "0");
		return false;
	}
	if (opt->trace_cap && tw->cap == 0) {
		g_set_error(error, CONFIG_ERROR, 0,
			    "trace options: --trace-cap %s: a cap must be above "
			    "0 (leave it out for no cap)", opt->trace_cap);
		return false;
	}
	return true;
}

/* An output file of the run in sys->outputs: FILE, or DIR/FILE. */
static struct outfile *open_output(struct system *sys, const char *dir,
				   const char *file, GError **error)
{
	char *path = dir ? g_build_filename(dir, file, NULL) : g_strdup(file);
	struct outfile *of = outfile_set_open(sys->outputs, path, error);
	g_free(path);
	return of;
}

/* Every output file is created now, as a temporary beside its target
 * (sim/outfile.h), so that a path that cannot be written fails before the
 * run; system_finish_outputs() renames them into place at the end.  The
 * --out directory comes first: a trace may be written into it. */
static bool open_outputs(struct system *sys, const struct run_options *opt,
			 const struct trace_window *tw, bool *io_error,
			 GError **error)
{
	*io_error = true; /* every failure below is one */
	if (opt->out_dir) {
		sys->out_dir = g_strdup(opt->out_dir);
		struct outfile *cfg;
		if (!outfile_set_mkdir(sys->outputs, opt->out_dir, error) ||
		    !(cfg = open_output(sys, opt->out_dir, "config.ini",
					error)) ||
		    !(sys->series_out = open_output(sys, opt->out_dir,
						    "series.csv", error)) ||
		    !(sys->summary_out = open_output(sys, opt->out_dir,
						     "summary.json", error)) ||
		    !(sys->latency_out = open_output(sys, opt->out_dir,
						     "latency.csv", error)))
			return false;
		char *eff = scenario_effective(sys->sc);
		fputs(eff, outfile_stream(cfg));
		g_free(eff);
	}
	if (opt->trace_path || opt->timeline_path) {
		const char **hn = g_new(const char *, sys->hosts->len + 1);
		for (guint i = 0; i < sys->hosts->len; i++)
			hn[i] = ((struct host *)sys->hosts->pdata[i])->name;
		sys->sim->trace = trace_new(opt->trace_hosts, opt->trace_comps,
					    opt->trace_kinds, tw->from, tw->to,
					    tw->cap);
		trace_set_hosts(sys->sim->trace, hn, sys->hosts->len);
		struct outfile *csv = NULL, *tl = NULL;
		bool ok = (!opt->trace_path ||
			   (csv = open_output(sys, NULL, opt->trace_path,
					      error))) &&
			  (!opt->timeline_path ||
			   (tl = open_output(sys, NULL, opt->timeline_path,
					     error)));
		if (csv)
			trace_add_sink(sys->sim->trace, trace_csv_open(csv));
		if (tl)
			trace_add_sink(sys->sim->trace,
				       timeline_open(tl, hn, sys->hosts->len));
		g_free(hn);
		sys->timeline = tl != NULL;
		if (!ok)
			return false;
	}
	if (opt->pcap_dir) {
		if (!outfile_set_mkdir(sys->outputs, opt->pcap_dir, error))
			return false;
		for (guint i = 0; i < sys->links->len; i++) {
			struct link *l = sys->links->pdata[i];
			char *file = g_strdup_printf("%s.pcap", link_name(l));
			struct outfile *of = open_output(sys, opt->pcap_dir,
							 file, error);
			g_free(file);
			if (!of)
				return false;
			struct pcap_writer *pw = pcap_open(
				outfile_stream(of),
				g_array_index(sys->pcap_snaplen, uint32_t, i));
			g_ptr_array_add(sys->pcaps, pw);
			link_set_pcap(l, pw);
		}
	}
	if (!snapshot_open_outputs(sys, error))
		return false;
	*io_error = false;
	return true;
}

struct system *system_build(const char *path,
			    const struct run_options *opt, bool *io_error,
			    GError **error)
{
	*io_error = false;
	struct scenario *sc =
		opt->scenario_text
			? scenario_load_data(opt->scenario_text, path,
					     error)
			: scenario_load(path, error);
	if (!sc) {
		*io_error = error && *error &&
			    (*error)->domain == G_FILE_ERROR;
		return NULL;
	}
	for (char **s = opt->sets; s && *s; s++)
		if (!scenario_set(sc, *s, NULL, error))
			goto fail_sc;
	if (opt->policy) {
		char *a = g_strdup_printf("sim.policy=%s", opt->policy);
		char *o = g_strdup_printf("--policy %s", opt->policy);
		bool ok = scenario_set(sc, a, o, error);
		g_free(o);
		g_free(a);
		if (!ok)
			goto fail_sc;
	}
	if (opt->have_seed) {
		char *a = g_strdup_printf("sim.seed=%" G_GUINT64_FORMAT,
					  opt->seed);
		scenario_set(sc, a, "--seed", NULL);
		g_free(a);
	}
	if (opt->migration) {
		char *a = g_strdup_printf("migration.policy=%s", opt->migration);
		char *o = g_strdup_printf("--migration %s", opt->migration);
		bool ok = scenario_set(sc, a, o, error);
		g_free(o);
		g_free(a);
		if (!ok)
			goto fail_sc;
	}
	if (opt->pcap_snaplen) {
		/* every link's pcap_snaplen, as if set for each */
		const char *const *links = scenario_names(sc, "link");
		for (unsigned i = 0; links[i]; i++) {
			char *a = g_strdup_printf("link.%s.pcap_snaplen=%s",
						  links[i], opt->pcap_snaplen);
			char *o = g_strdup_printf("--pcap-snaplen %s",
						  opt->pcap_snaplen);
			bool ok = scenario_set(sc, a, o, error);
			g_free(o);
			g_free(a);
			if (!ok)
				goto fail_sc;
		}
	}
	if (opt->duration) {
		char *a = g_strdup_printf("sim.duration=%s", opt->duration);
		char *o = g_strdup_printf("--duration %s", opt->duration);
		bool ok = scenario_set(sc, a, o, error);
		g_free(o);
		g_free(a);
		if (!ok)
			goto fail_sc;
	}
	if (!scenario_validate(sc, schema(), error))
		goto fail_sc;

	struct system *sys = g_new0(struct system, 1);
	struct trace_window tw = { 0, 0, 0 };
	sys->sc = sc;
	sys->outputs = outfile_set_new();
	sys->pcap_snaplen = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	sys->hosts = g_ptr_array_new_with_free_func((GDestroyNotify)host_free);
	sys->workloads =
		g_ptr_array_new_with_free_func((GDestroyNotify)workload_free);
	sys->links = g_ptr_array_new_with_free_func((GDestroyNotify)link_free);
	sys->switches =
		g_ptr_array_new_with_free_func((GDestroyNotify)switch_free);
	sys->pcaps = g_ptr_array_new();
	sys->series = series_new();
	sys->mtt_occ = g_ptr_array_new_with_free_func(g_free);
	if (!config_fill(sc, &sim_params_table, &sys->p, "sim", NULL, error))
		goto fail;
	if (!scenario_names(sc, "host")[0]) {
		/* an empty file, or one that forgot its hosts, would run
		 * nothing and report success */
		g_set_error(error, CONFIG_ERROR, 0,
			    "%s: no [host NAME] section: a scenario needs at "
			    "least one host%s", scenario_path(sc),
			    scenario_names(sc, "workload")[0] ||
				    scenario_names(sc, "link")[0]
				    ? " (its links and workloads name hosts)"
				    : " (is the file empty?)");
		goto fail;
	}
	sys->policy_name = reg_policy_names[sys->p.policy];
	sys->sim = sim_new(sys->p.seed);
	sys->oracle_lost = stats_counter(sys->sim->stats, "oracle.lost_writes");
	sys->oracle_stale = stats_counter(sys->sim->stats, "oracle.stale_reads");
	progress_init(&sys->prog, opt->progress, opt->progress_tty);
	sys->progress_cell = opt->progress_cell;
	sys->oracle_final = stats_counter(sys->sim->stats,
					  "oracle.final_mismatches");
	if (!build_hosts(sys, error) ||
	    !build_switches(sys, error) ||
	    !build_links(sys, error) ||
	    !set_strict(sys, opt->strict) ||
	    !build_workloads(sys, error) ||
	    !build_migration(sys, opt->migration, error) ||
	    !parse_trace_window(opt, &tw, error) ||
	    !snapshot_setup(sys, path, opt, io_error, error))
		goto fail;

	if (!open_outputs(sys, opt, &tw, io_error, error))
		goto fail;
	return sys;
fail:
	system_free(sys);
	return NULL;
fail_sc:
	scenario_free(sc);
	return NULL;
}

void system_free(struct system *sys)
{
	if (!sys)
		return;
	if (sys->sim && sys->sim->trace) {
		trace_close(sys->sim->trace, sys->sim);
		trace_free(sys->sim->trace);
		sys->sim->trace = NULL;
	}
	g_ptr_array_free(sys->workloads, TRUE);
	for (guint i = 0; i < sys->pcaps->len; i++)
		pcap_close(sys->pcaps->pdata[i]);
	g_ptr_array_free(sys->pcaps, TRUE);
	g_array_free(sys->pcap_snaplen, TRUE);
	/* outputs not committed by system_finish_outputs() are removed */
	outfile_set_free(sys->outputs);
	g_ptr_array_free(sys->links, TRUE);
	g_ptr_array_free(sys->switches, TRUE);
	g_ptr_array_free(sys->hosts, TRUE);
	pkt_pool_destroy(&sys->pool);
	series_free(sys->series);
	g_ptr_array_free(sys->mtt_occ, TRUE);
	config_free(&sim_params_table, &sys->p);
	sim_free(sys->sim);
	scenario_free(sys->sc);
	g_free(sys->out_dir);
	snapshot_state_free(sys->snap);
	migration_free(sys->mig);
	g_free(sys);
}

static void progress_tick(struct sim *sim, void *ctx)
{
	struct system *sys = ctx;
	if (sys->progress_cell) /* compare's parent reads it */
		sys->progress_cell[0] = sim->now;
	if (!progress_due(&sys->prog))
		return;
	double wall = (double)(g_get_monotonic_time() - sys->wall_start) / 1e6;
	double simt = sim_time_to_s(sim->now);
	char detail[96];
	g_snprintf(detail, sizeof(detail),
		   "t=%.6f s  %.2f M events/s  sim/wall %.3g", simt,
		   (double)sim->events / wall / 1e6, simt / wall);
	progress_show(&sys->prog, (double)sim->now / (double)sys->p.duration,
		      detail);
}

int system_interrupted(const struct system *sys)
{
	return sys->interrupted;
}

/* DIR/latency.csv: every workload's latency histogram, one row per
 * non-empty bucket (bounds clamped to the observed min and max), for the
 * latency CDF of tools/plot_run.py. */
static void write_latency_csv(struct system *sys, FILE *f)
{
	fputs("# odpsim latency schema 1\nworkload,low_ps,high_ps,count\n", f);
	for (guint i = 0; i < sys->workloads->len; i++) {
		struct workload *w = sys->workloads->pdata[i];
		const struct hist *h = w->res.lat;
		if (!h || !h->count)
			continue;
		for (unsigned b = 0; b < HIST_NBUCKETS; b++) {
			if (!h->buckets[b])
				continue;
			uint64_t lo = MAX(hist_bucket_low(b), h->min);
			uint64_t hi = MIN(hist_bucket_high(b), h->max);
			fprintf(f, "%s,%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT
				   ",%" G_GUINT64_FORMAT "\n",
				w->name, lo, hi, h->buckets[b]);
		}
	}
}

bool system_finish_outputs(struct system *sys, GError **error)
{
	struct sim *sim = sys->sim;
	if (sim->trace) {
		trace_close(sim->trace, sim);
		trace_free(sim->trace);
		sim->trace = NULL;
		sys->timeline = false;
	}
	series_close(sys->series);
	for (guint i = 0; i < sys->pcaps->len; i++) {
		link_set_pcap(sys->links->pdata[i], NULL);
		pcap_close(sys->pcaps->pdata[i]);
	}
	g_ptr_array_set_size(sys->pcaps, 0);
	if (sys->summary_out) {
		char *json = system_summary_json(sys, true);
		fputs(json, outfile_stream(sys->summary_out));
		g_free(json);
		write_latency_csv(sys, outfile_stream(sys->latency_out));
		sys->summary_out = sys->latency_out = sys->series_out = NULL;
	}
	return outfile_set_commit(sys->outputs, error);
}

/* Sampled series as timeline counters: levels as they are at the sample,
 * increases as rates over the interval they happened in, from its start
 * (bytes in Gb/s, a link's busy time as a fraction, the rest per second). */
static void series_to_timeline(void *ctx, const char *name,
			       enum series_mode mode, uint64_t value,
			       sim_time_t dt)
{
	struct sim *sim = ctx;
	if (mode == SERIES_LEVEL || dt == 0) {
		trace_counter(sim, sim->now, name, "value", (double)value);
		return;
	}
	sim_time_t from = sim->now - dt;
	double per_s = (double)value / sim_time_to_s(dt);
	if (g_str_has_suffix(name, "busy_ps"))
		/* a link's two directions together: 0..2 */
		trace_counter(sim, from, name, "busy_fraction",
			      (double)value / (double)dt);
	else if (g_str_has_suffix(name, "bytes"))
		trace_counter(sim, from, name, "Gbps", per_s * 8 / 1e9);
	else
		trace_counter(sim, from, name, "per_s", per_s);
}

bool system_run(struct system *sys, GError **error)
{
	struct sim *sim = sys->sim;
	bool series_on = sys->out_dir != NULL || sys->timeline;
	if (sys->timeline)
		series_set_observer(sys->series, series_to_timeline, sim);
	if (sys->series_out)
		series_open(sys->series, outfile_stream(sys->series_out));
	for (guint i = 0; i < sys->workloads->len; i++) {
		struct workload *w = sys->workloads->pdata[i];
		w->ops->start(w);
	}
	sys->wall_start = g_get_monotonic_time();
	if (sys->prog.on || sys->progress_cell) {
		sim->tick = progress_tick;
		sim->tick_ctx = sys;
	}
	if (sys->progress_cell)
		sys->progress_cell[1] = sys->p.duration;
	/* SIGINT, SIGTERM: the loop stops before the next event */
	progress_attach(sim);
	/* sampling runs between slices of the event loop, not as events */
	sim_time_t step = series_on ? sys->p.series_interval : sys->p.duration;
	for (sim_time_t t = 0; t < sys->p.duration;) {
		t = t + step < sys->p.duration ? t + step : sys->p.duration;
		if (!snapshot_run_until(sys, t, error))
			return false;
		if (system_violation(sys))
			break; /* --strict: the first violation ends the run */
		if (sim->interrupted) {
			/* a signal: the time reached is the end (series.csv
			 * ends with the last whole interval) */
			sys->interrupted = progress_signal();
			break;
		}
		if (series_on) {
			for (guint i = 0; i < sys->hosts->len; i++) {
				struct host *h = sys->hosts->pdata[i];
				uint64_t *occ = sys->mtt_occ->pdata[i];
				*occ = nic_mtt_cache_occupancy(h->nic);
			}
			series_sample(sys->series, t);
		}
	}
	sys->wall_s = (double)(g_get_monotonic_time() - sys->wall_start) / 1e6;
	if (!snapshot_finish(sys, error))
		return false;
	if (sys->mig)
		migration_finish(sys->mig);
	/* DMA still in flight lands; every written page is checked */
	for (guint i = 0; i < sys->hosts->len && !system_violation(sys); i++) {
		struct host *h = sys->hosts->pdata[i];
		if (h->nic)
			oracle_finish(nic_oracle(h->nic));
	}
	progress_attach(NULL);
	progress_clear(&sys->prog);
	for (guint i = 0; i < sys->workloads->len; i++) {
		struct workload *w = sys->workloads->pdata[i];
		/* a stall still going at the end counts too */
		workload_result_gap(&w->res, sim->now);
		if (w->ops->finish)
			w->ops->finish(w);
	}
	return system_finish_outputs(sys, error);
}

/* Where a scenario named without a path is looked for: $ODPSIM_SCENARIOS
 * (directories separated by ':'), the installed scenarios beside the
 * binary (BINDIR/../share/odpsim/workloads, so any PREFIX works and
 * DESTDIR staging too), then a source tree's workloads/ above the binary
 * (build/odpsim, build/san/odpsim). */
GPtrArray *system_scenario_dirs(void)
{
	GPtrArray *v = g_ptr_array_new_with_free_func(g_free);
	const char *env = g_getenv("ODPSIM_SCENARIOS");
	if (env && *env) {
		char **d = g_strsplit(env, ":", -1);
		for (char **p = d; *p; p++)
			if (**p)
				g_ptr_array_add(v, g_strdup(*p));
		g_strfreev(d);
	}
	char *exe = g_file_read_link("/proc/self/exe", NULL);
	if (exe) {
		char *bin = g_path_get_dirname(exe);
		g_ptr_array_add(v, g_build_filename(bin, "..", "share", "odpsim",
						    "workloads", NULL));
		g_ptr_array_add(v, g_build_filename(bin, "..", "workloads",
						    NULL));
		g_ptr_array_add(v, g_build_filename(bin, "..", "..",
						    "workloads", NULL));
		g_free(bin);
		g_free(exe);
	}
	return v;
}

char *system_find_scenario(const char *name, GError **error)
{
	if (g_file_test(name, G_FILE_TEST_EXISTS) ||
	    g_file_test(name, G_FILE_TEST_IS_SYMLINK) || strchr(name, '/'))
		return g_strdup(name); /* a path: loading says what is wrong */
	GPtrArray *dirs = system_scenario_dirs();
	char *ini = g_str_has_suffix(name, ".ini") ? g_strdup(name)
						    : g_strdup_printf("%s.ini",
								      name);
	for (guint i = 0; i < dirs->len; i++) {
		char *p = g_build_filename(dirs->pdata[i], ini, NULL);
		if (g_file_test(p, G_FILE_TEST_IS_REGULAR)) {
			char *c = g_canonicalize_filename(p, NULL);
			g_free(p);
			g_free(ini);
			g_ptr_array_free(dirs, TRUE);
			return c;
		}
		g_free(p);
	}
	g_ptr_array_add(dirs, NULL);
	for (guint i = 0; dirs->pdata[i]; i++) {
		char *c = g_canonicalize_filename(dirs->pdata[i], NULL);
		g_free(dirs->pdata[i]);
		dirs->pdata[i] = c;
	}
	char *all = g_strjoinv(", ", (char **)dirs->pdata);
	g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
		    "%s: cannot read: %s (nor is there a scenario %s in %s)",
		    name, g_strerror(ENOENT), ini,
		    *all ? all : "no scenario directory");
	g_free(all);
	g_free(ini);
	g_ptr_array_free(dirs, TRUE);
	return NULL;
}

const char *const *system_policy_names(void)
{
	return reg_policy_names;
}

bool system_print_params(const char *component, bool json, FILE *out,
			 GError **error)
{
	bool found = false;
	struct json_writer w;
	if (json) {
		json_init(&w, true);
		json_arr_begin(&w, NULL);
	}
	for (const struct section_schema *s = schema(); s->type; s++) {
		if (!component || !strcmp(component, s->type)) {
			if (json) {
				json_obj_begin(&w, NULL);
				json_str(&w, "section", s->type);
				json_null(&w, "when");
				config_json_table(s->table, &w);
				json_obj_end(&w);
			} else {
				config_print_table(s->table, out);
				fputc('\n', out);
			}
			found = true;
		}
		for (const struct param_table *const *t = s->subtables;
		     t && *t; t++)
			if (!component || !strcmp(component, (*t)->component) ||
			    !strcmp(component, "workloads")) {
				if (json) {
					char *when = g_strdup_printf(
						"%s = %s", s->subtype_key,
						(*t)->component);
					json_obj_begin(&w, NULL);
					json_str(&w, "section", s->type);
					json_str(&w, "when", when);
					config_json_table(*t, &w);
					json_obj_end(&w);
					g_free(when);
				} else {
					fprintf(out, "(in [%s NAME] with %s = %s)\n",
						s->type, s->subtype_key,
						(*t)->component);
					config_print_table(*t, out);
					fputc('\n', out);
				}
				found = true;
			}
	}
	if (json) {
		json_arr_end(&w);
		char *text = json_finish(&w);
		if (found)
			fputs(text, out);
		g_free(text);
	}
	if (!found) {
		GPtrArray *v = g_ptr_array_new();
		for (const struct section_schema *s = schema(); s->type; s++) {
			g_ptr_array_add(v, (gpointer)s->type);
			for (const struct param_table *const *t = s->subtables;
			     t && *t; t++)
				g_ptr_array_add(v, (gpointer)(*t)->component);
		}
		g_ptr_array_add(v, NULL);
		char *all = g_strjoinv(", ", (char **)v->pdata);
		const char *near = config_nearest(component,
						  (const char *const *)v->pdata);
		g_set_error(error, CONFIG_ERROR, 0,
			    "no component '%s'%s%s%s; known: %s", component,
			    near ? " (did you mean '" : "", near ? near : "",
			    near ? "'?)" : "", all);
		g_free(all);
		g_ptr_array_free(v, TRUE);
	}
	return found;
}
