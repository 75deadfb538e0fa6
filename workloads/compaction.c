/*
 * workloads/compaction.c - a daemon that moves pages at a rate over a range
 * of physical memory (or the whole host).
 *
 * Model: every 1/rate seconds one move is started: mode = compact runs one
 * step of the VMM's compaction scanners over the range; mode = numa moves
 * the next resident page of the range (a cursor) to the other NUMA node
 * (needs [vmm] numa_nodes >= 2); mode = huge is a khugepaged: it collapses
 * the next collapsible 2 MiB region of the host's processes, or compacts
 * to make a free 2 MiB block.  Moves go through the notifier like any
 * page move, so pinned pages fail (vmm.move_failed_pinned) and
 * subscribers are invalidated or suspended.
 *
 * With `process` set, the daemon instead walks that address space's
 * resident pages in address order, one move per period (migrating one
 * process's memory, e.g. the RDMA buffer of a workload: "wl.NAME").
 *
 * Figures: completed = moves completed (a huge collapse counts once),
 * errors = moves that failed after
 * starting or could not start on a candidate page.
 */
#include "vmm/vmm.h"
#include "workloads/workload.h"

struct compaction_cfg {
	char *host;
	uint64_t rate;
	int mode;
	uint64_t range_start, range_size;
	char *process;
};

static const char *const modes[] = { "compact", "numa", "huge", NULL };

static const struct param compaction_tab[] = {
	{ "host", PT_STRING, NULL, offsetof(struct compaction_cfg, host),
	  "host whose frames are moved", "", NULL, 0, 0 },
	{ "rate", PT_COUNT, "10000", offsetof(struct compaction_cfg, rate),
	  "pages per second the daemon tries to move",
	  "kcompactd-like background rate", NULL, 1, 1e9 },
	{ "mode", PT_ENUM, "compact", offsetof(struct compaction_cfg, mode),
	  "compact (scanners from both ends), numa (to the other node) or "
	  "huge (khugepaged: collapse 2 MiB regions, compacting to make "
	  "room; one region per step)", "", modes, 0, 0 },
	{ "range_start", PT_SIZE, "0B",
	  offsetof(struct compaction_cfg, range_start),
	  "physical address where the range starts", "", NULL, 0, 0 },
	{ "range_size", PT_SIZE, "0B",
	  offsetof(struct compaction_cfg, range_size),
	  "bytes of physical memory covered; 0: the whole host", "", NULL, 0,
	  0 },
	{ "process", PT_STRING, "", offsetof(struct compaction_cfg, process),
	  "move this address space's resident pages, in address order: "
	  "main (the host image), wl.NAME (an RDMA workload's buffers) or "
	  "NAME (a pressure workload); empty: physical frames as mode says",
	  "", NULL, 0, 0 },
};
static PARAM_TABLE(compaction_params, "compaction",
		   "a daemon that moves pages at a rate", compaction_tab);

struct compaction {
	struct workload *w;
	struct compaction_cfg *cfg;
	struct vmm *vmm;
	uint64_t lo, hi, cursor;
	sim_time_t period;
	uint64_t va;           /* process mode: next address to look at */
	unsigned vma;
};

static void moved(void *ctx, bool ok, uint64_t pfn);

/* process mode: the next resident page after c->va, moved; false when the
 * process has no resident page (or does not exist yet) */
static bool move_process_page(struct compaction *c)
{
	struct vmm_as *as = vmm_as_find(c->vmm, c->cfg->process);
	if (!as)
		return false;
	unsigned n = vmm_vma_count(as);
	for (unsigned scanned = 0; n && scanned < 4096; scanned++) {
		struct vmm_vma_info v;
		if (c->vma >= n || !vmm_vma_get(as, c->vma, &v)) {
			c->vma = 0;
			c->va = 0;
			continue;
		}
		if (c->va < v.start)
			c->va = v.start;
		if (c->va >= v.end) {
			c->vma = (c->vma + 1) % n;
			c->va = 0;
			continue;
		}
		uint64_t pfn, va = c->va;
		c->va += VMM_PAGE_SIZE;
		if (!vmm_page_frame(as, va, &pfn))
			continue;
		if (!vmm_move_frame(c->vmm, pfn, -1, VMM_REASON_MOVE_COMPACTION,
				    moved, c) &&
		    vmm_frame_pins(c->vmm, pfn))
			c->w->res.errors++;
		return true;
	}
	return false;
}

static void step_ev(struct sim *sim, void *obj, uint64_t arg);
SIM_EVKIND(ev_step, "compaction_step", step_ev);

static void moved(void *ctx, bool ok, uint64_t pfn)
{
	(void)pfn;
	struct compaction *c = ctx;
	if (ok) {
		workload_result_complete(&c->w->res, sim_now(c->w->sim),
					 VMM_PAGE_SIZE);
	} else {
		c->w->res.errors++;
	}
}

static void step_ev(struct sim *sim, void *obj, uint64_t arg)
{
	(void)arg;
	struct compaction *c = obj;
	if (c->cfg->process && *c->cfg->process) {
		move_process_page(c);
	} else if (c->cfg->mode == 0) {
		vmm_compact_step(c->vmm, c->lo, c->hi, moved, c);
	} else if (c->cfg->mode == 2) {
		vmm_khugepaged_step(c->vmm, moved, c);
	} else {
		unsigned nodes = (unsigned)vmm_config(c->vmm)->numa_nodes;
		for (unsigned tries = 0; tries < 4096; tries++) {
			uint64_t p = c->cursor++;
			if (c->cursor >= c->hi)
				c->cursor = c->lo;
			uint32_t as;
			uint64_t vpn;
			if (!vmm_frame_owner(c->vmm, p, &as, &vpn))
				continue;
			int to = nodes > 1 ? (int)((vmm_frame_node(c->vmm, p) +
						    1) % nodes)
					   : -1;
			if (!vmm_move_frame(c->vmm, p, to,
					    VMM_REASON_MOVE_NUMA, moved, c) &&
			    vmm_frame_pins(c->vmm, p))
				c->w->res.errors++;
			break;
		}
	}
	sim_schedule_in(sim, c->period, &ev_step, c->w->comp, c, 0);
}

/* Does [workload NAME] use host @host (as host, client or server)? */
static bool workload_on(const struct workload_env *env, const char *name,
			const char *host)
{
	static const char *const keys[] = { "host", "client", "server" };
	if (!scenario_has(env->sc, "workload", name))
		return false;
	for (unsigned i = 0; i < G_N_ELEMENTS(keys); i++) {
		const char *v = scenario_get(env->sc, "workload", name, keys[i]);
		if (v && strcmp(v, host) == 0)
			return true;
	}
	return false;
}

/* `process` must name an address space that will exist on this host: a
 * typo would otherwise move nothing, silently.  The names: "main" (the
 * host's ELF image, system.c), "wl.NAME" (an RDMA workload's buffers,
 * rdma_app.c) and "NAME" (a pressure workload, pressure.c). */
static bool process_ok(const struct workload_env *env, struct workload *w,
		       const struct compaction_cfg *cfg, GError **error)
{
	const char *p = cfg->process, *h = cfg->host;
	const char *img = scenario_get(env->sc, "host", h, "image");
	const char *type = scenario_get(env->sc, "workload", p, "type");
	if ((strcmp(p, "main") == 0 && img && *img) ||
	    (g_str_has_prefix(p, "wl.") && workload_on(env, p + 3, h)) ||
	    (type && strcmp(type, "pressure") == 0 && workload_on(env, p, h)))
		return true;
	char *where = scenario_where(env->sc, "workload", w->name, "process");
	g_set_error(error, CONFIG_ERROR, 0,
		    "%s: [workload %s] process: '%s' is no address space on "
		    "host %s (main with an image, wl.NAME for an RDMA "
		    "workload, NAME for a pressure workload)",
		    where, w->name, p, h);
	g_free(where);
	return false;
}

static bool compaction_create(struct workload *w,
			      const struct workload_env *env, GError **error)
{
	struct compaction_cfg *cfg = w->cfg;
	struct host *h = workload_host(w, env, "host", cfg->host, error);
	if (!h)
		return false;
	g_assert(h->vmm);
	struct compaction *c = g_new0(struct compaction, 1);
	w->priv = c;
	c->w = w;
	c->cfg = cfg;
	c->vmm = h->vmm;
	uint64_t n = vmm_total_frames(h->vmm);
	c->lo = cfg->range_start >> VMM_PAGE_SHIFT;
	c->hi = cfg->range_size ? c->lo + (cfg->range_size >> VMM_PAGE_SHIFT)
				: n;
	if (c->lo >= n || c->hi > n || c->hi <= c->lo) {
		char *where = scenario_where(env->sc, "workload", w->name,
					     "range_start");
		g_set_error(error, CONFIG_ERROR, 0,
			    "%s: [workload %s] range_start/range_size: the "
			    "range is outside the %" G_GUINT64_FORMAT
			    " bytes of host %s",
			    where, w->name, n << VMM_PAGE_SHIFT, cfg->host);
		g_free(where);
		return false;
	}
	if (cfg->process && *cfg->process && !process_ok(env, w, cfg, error))
		return false;
	c->cursor = c->lo;
	c->period = SIM_S / cfg->rate;
	if (!c->period)
		c->period = 1;
	return true;
}

static void compaction_start(struct workload *w)
{
	struct compaction *c = w->priv;
	w->res.first = w->common.start;
	sim_schedule(w->sim, w->common.start, &ev_step, w->comp, c, 0);
}

static void compaction_destroy(struct workload *w)
{
	g_free(w->priv);
	w->priv = NULL;
}

const struct workload_ops compaction_ops = {
	.type = "compaction",
	.summary = "a daemon that moves pages at a rate",
	.params = &compaction_params,
	.cfg_size = sizeof(struct compaction_cfg),
	.create = compaction_create,
	.start = compaction_start,
	.finish = NULL,
	.destroy = compaction_destroy,
};
