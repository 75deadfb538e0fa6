/*
 * workloads/register.c - a registration benchmark (type = register): one
 * process registers the same buffer `count` times, each registration in a
 * protection domain of its own, `threads` at a time, then deregisters
 * them all, `threads` at a time.
 *
 * What it stands for: Mooncake's transfer engine registering a buffer on
 * every RNIC of a host (rdma_transport.cpp registerLocalMemoryInternal /
 * unregisterLocalMemoryInternal): sequentially one context after the
 * other (MC_ENABLE_PARALLEL_REG_MR=0), or one thread per context calling
 * ibv_reg_mr on its own PD for the same whole buffer (=1).  The
 * simulator has one NIC per host, so the `count` registrations go to one
 * device: what they share there (the PCIe link their UMRs' MTT reads
 * cross, the device's slow_path_mutex, the mkey cache) N devices would
 * not; their CPU work (pinning, the sg tables, DMA mapping) runs on
 * `threads` CPUs of the host at once, as on N devices.  Pinning pages a
 * previous registration pinned costs what pinning them the first time
 * does (gup takes another pin on each).
 *
 * Representation: an array of `count` slots (PD, MR, the summary's
 * record); the next slot starts when a thread finishes one; a barrier
 * between the registrations and the deregistrations, as Mooncake's
 * register_memory / unregister_memory calls.
 *
 * Figures: completed = registrations done, errors = failed ones, bytes =
 * bytes registered; counters wl.NAME.reg_wall_ps (first registration's
 * start to the last one's end), wl.NAME.dereg_wall_ps (the same for the
 * deregistrations), wl.NAME.cycle_ps (the first registration's start to
 * the last deregistration's end), wl.NAME.populate_ps; each MR is in the
 * summary's
 * registrations (side mr0, mr1, ...) with its registration and
 * deregistration times.
 */
#include <errno.h>
#include <string.h>

#include "nic/driver.h"
#include "vmm/vmm.h"
#include "workloads/workload.h"

struct register_cfg {
	char *host;
	uint64_t size;
	uint64_t count;
	uint64_t threads;
	char *policy;
	bool populate;
	bool dereg;
};

static const struct param register_tab[] = {
	{ "host", PT_STRING, NULL, offsetof(struct register_cfg, host),
	  "host that registers the buffer", "", NULL, 0, 0 },
	{ "size", PT_SIZE, "1GiB", offsetof(struct register_cfg, size),
	  "buffer size (each registration covers all of it)",
	  "Mooncake PR #855 registered 500 GB; validation cases use 1 GB "
	  "(ms per GB)", NULL, 4096, 1ULL << 46 },
	{ "count", PT_COUNT, "1", offsetof(struct register_cfg, count),
	  "registrations of the buffer, each in a PD of its own (Mooncake: "
	  "one per RNIC context)", "", NULL, 1, WORKLOAD_MAX_REGS },
	{ "threads", PT_COUNT, "1", offsetof(struct register_cfg, threads),
	  "registrations (and deregistrations) at once: 1 is Mooncake's "
	  "sequential mode, count its parallel one (one thread per "
	  "context); at most the host's cpus",
	  "Mooncake MC_ENABLE_PARALLEL_REG_MR", NULL, 1, WORKLOAD_MAX_REGS },
	{ "policy", PT_STRING, "", offsetof(struct register_cfg, policy),
	  "registration policy (empty: the run's)", "", NULL, 0, 0 },
	{ "populate", PT_BOOL, "true", offsetof(struct register_cfg, populate),
	  "write the buffer before registering it (MAP_POPULATE / memset; "
	  "charged before the first registration, reported apart)",
	  "Mooncake PR #855's \"pre-allocated memory (memory allocated and "
	  "initialized)\"", NULL, 0, 0 },
	{ "dereg", PT_BOOL, "true", offsetof(struct register_cfg, dereg),
	  "deregister every MR once all are registered", "Mooncake PR #855 "
	  "measures unregister_memory after register_memory", NULL, 0, 0 },
};
static PARAM_TABLE(register_params, "register",
		   "registers one buffer count times, threads at once, then "
		   "deregisters (Mooncake's per-NIC registration)",
		   register_tab);

static const char *const slot_names[WORKLOAD_MAX_REGS] = {
	"mr0",  "mr1",  "mr2",  "mr3",  "mr4",  "mr5",  "mr6",  "mr7",
	"mr8",  "mr9",  "mr10", "mr11", "mr12", "mr13", "mr14", "mr15",
	"mr16", "mr17", "mr18", "mr19", "mr20", "mr21", "mr22", "mr23",
	"mr24", "mr25", "mr26", "mr27", "mr28", "mr29", "mr30", "mr31",
};

struct reg_slot {
	struct regbench *rb;
	struct nic_pd *pd;
	struct nic_mr *mr;
	struct workload_reg *reg;
};

struct regbench {
	struct workload *w;
	struct register_cfg *cfg;
	struct host *host;
	struct vmm_as *as;
	uint64_t buf, len;
	int policy;
	struct reg_slot slots[WORKLOAD_MAX_REGS];
	unsigned count, next, done;
	bool deregistering;
	sim_time_t t_reg, t_dereg;
	uint64_t *c_reg_wall, *c_dereg_wall, *c_populate, *c_cycle;
};

static void reg_next(struct regbench *rb);
static void dereg_next(struct regbench *rb);

/* The last deregistration ended. */
static void dereg_end(struct regbench *rb)
{
	sim_time_t now = sim_now(rb->w->sim);
	*rb->c_dereg_wall = now - rb->t_dereg;
	*rb->c_cycle = now - rb->t_reg;
}

static void dereg_done(void *ctx)
{
	struct reg_slot *s = ctx;
	struct regbench *rb = s->rb;
	s->reg->dereg_end = sim_now(rb->w->sim);
	s->mr = NULL;
	if (++rb->done == rb->count) {
		dereg_end(rb);
		return;
	}
	dereg_next(rb);
}

/* The next MR still registered goes (ibv_dereg_mr). */
static void dereg_next(struct regbench *rb)
{
	while (rb->next < rb->count) {
		struct reg_slot *s = &rb->slots[rb->next++];
		if (!s->mr) { /* its registration failed */
			if (++rb->done == rb->count)
				dereg_end(rb);
			continue;
		}
		s->reg->dereg = true;
		s->reg->dereg_start = sim_now(rb->w->sim);
		int rc = nic_dereg_mr(s->mr, dereg_done, s);
		g_assert(rc == 0); /* no window is bound to it */
		return;
	}
}

static void dereg_start(struct regbench *rb)
{
	rb->deregistering = true;
	rb->next = rb->done = 0;
	rb->t_dereg = sim_now(rb->w->sim);
	for (uint64_t i = 0; i < rb->cfg->threads && i < rb->count; i++)
		dereg_next(rb);
}

static void reg_done(void *ctx, struct nic_mr *mr, int status)
{
	struct reg_slot *s = ctx;
	struct regbench *rb = s->rb;
	struct workload *w = rb->w;
	sim_time_t now = sim_now(w->sim);
	s->mr = mr;
	s->reg->end = now;
	s->reg->status = status;
	s->reg->state = status ? WL_REG_FAILED : WL_REG_DONE;
	if (status) {
		s->reg->reason = g_strdup_printf(
			"%s (error %d)",
			status == -ENOMEM ? "out of memory" : "failed", status);
		w->res.errors++;
	} else {
		workload_result_complete(&w->res, now, rb->len);
	}
	if (++rb->done == rb->count) {
		*rb->c_reg_wall = now - rb->t_reg;
		w->res.last = now;
		if (rb->cfg->dereg)
			dereg_start(rb);
		return;
	}
	reg_next(rb);
}

/* The next registration starts (ibv_reg_mr of the whole buffer). */
static void reg_next(struct regbench *rb)
{
	if (rb->next >= rb->count)
		return;
	struct reg_slot *s = &rb->slots[rb->next++];
	s->reg->state = WL_REG_RUNNING;
	s->reg->start = sim_now(rb->w->sim);
	nic_reg_mr(s->pd, rb->as, rb->buf, rb->len,
		   NIC_ACCESS_LOCAL_WRITE | NIC_ACCESS_REMOTE_WRITE |
			   NIC_ACCESS_REMOTE_READ,
		   rb->policy, reg_done, s);
}

static void reg_start(struct regbench *rb)
{
	rb->t_reg = sim_now(rb->w->sim);
	rb->w->res.first = rb->t_reg;
	for (uint64_t i = 0; i < rb->cfg->threads && i < rb->count; i++)
		reg_next(rb);
}

static void populated(void *ctx, int status, uint64_t npages)
{
	(void)status;
	(void)npages;
	struct regbench *rb = ctx;
	sim_time_t now = sim_now(rb->w->sim);
	for (unsigned i = 0; i < rb->count; i++) {
		rb->slots[i].reg->populate_end = now;
		rb->slots[i].reg->populating = false;
	}
	*rb->c_populate = now - rb->slots[0].reg->populate_start;
	reg_start(rb);
}

static void start_ev(struct sim *sim, void *obj, uint64_t arg)
{
	(void)arg;
	struct regbench *rb = obj;
	for (unsigned i = 0; i < rb->count; i++)
		rb->slots[i].reg->fp = vmm_fp_range_get(
			vmm_fp_watch(rb->as, rb->buf, rb->len));
	if (rb->cfg->populate) {
		for (unsigned i = 0; i < rb->count; i++) {
			rb->slots[i].reg->populate_start = sim_now(sim);
			rb->slots[i].reg->populating = true;
		}
		vmm_populate(rb->as, rb->buf, rb->len, true, populated, rb);
	} else {
		reg_start(rb);
	}
}
SIM_EVKIND(ev_start, "register_start", start_ev);

static bool register_create(struct workload *w,
			    const struct workload_env *env, GError **error)
{
	struct register_cfg *cfg = w->cfg;
	struct host *h = workload_host(w, env, "host", cfg->host, error);
	if (!h)
		return false;
	if (!h->nic) {
		char *where = scenario_where(env->sc, "workload", w->name,
					     "host");
		g_set_error(error, CONFIG_ERROR, 0,
			    "%s: [workload %s] host: host %s has no NIC", where,
			    w->name, cfg->host);
		g_free(where);
		return false;
	}
	if (cfg->threads > h->cfg.cpus) {
		char *where = scenario_where(env->sc, "workload", w->name,
					     "threads");
		g_set_error(error, CONFIG_ERROR, 0,
			    "%s: [workload %s] threads: %" G_GUINT64_FORMAT
			    " threads on host %s with %" G_GUINT64_FORMAT
			    " cpus (each registration thread has a CPU of its "
			    "own)", where, w->name, cfg->threads, cfg->host,
			    h->cfg.cpus);
		g_free(where);
		return false;
	}
	int policy = env->policy;
	if (cfg->policy && *cfg->policy) {
		int i = 0;
		while (reg_policy_names[i] && strcmp(reg_policy_names[i],
						     cfg->policy))
			i++;
		if (!reg_policy_names[i]) {
			char *where = scenario_where(env->sc, "workload",
						     w->name, "policy");
			char *all = g_strjoinv(", ", (char **)reg_policy_names);
			g_set_error(error, CONFIG_ERROR, 0,
				    "%s: [workload %s] policy: '%s' is not one "
				    "of %s", where, w->name, cfg->policy, all);
			g_free(all);
			g_free(where);
			return false;
		}
		policy = i;
	}
	struct regbench *rb = g_new0(struct regbench, 1);
	w->priv = rb;
	rb->w = w;
	rb->cfg = cfg;
	rb->host = h;
	rb->policy = policy;
	rb->count = (unsigned)cfg->count;
	char *asname = g_strdup_printf("wl.%s", w->name);
	rb->as = vmm_as_new(h->vmm, asname);
	g_free(asname);
	rb->len = (cfg->size + VMM_PAGE_SIZE - 1) & ~(VMM_PAGE_SIZE - 1);
	rb->buf = vmm_mmap_anywhere(rb->as, rb->len,
				    VMM_PROT_READ | VMM_PROT_WRITE,
				    VMM_VMA_ANON, error);
	if (!rb->buf)
		return false;
	for (unsigned i = 0; i < rb->count; i++) {
		struct workload_reg *g = &w->res.regs[w->res.nregs++];
		g->side = slot_names[i];
		g->host = h->name;
		g->policy = reg_policy_names[policy];
		g->addr = rb->buf;
		g->length = rb->len;
		g->state = WL_REG_NOT_STARTED;
		g->populate = cfg->populate;
		rb->slots[i].rb = rb;
		rb->slots[i].reg = g;
	}
	struct stats *st = env->sim->stats;
	rb->c_reg_wall = stats_counter(st, "wl.%s.reg_wall_ps", w->name);
	rb->c_dereg_wall = stats_counter(st, "wl.%s.dereg_wall_ps", w->name);
	rb->c_populate = stats_counter(st, "wl.%s.populate_ps", w->name);
	rb->c_cycle = stats_counter(st, "wl.%s.cycle_ps", w->name);
	return true;
}

static void register_start(struct workload *w)
{
	struct regbench *rb = w->priv;
	for (unsigned i = 0; i < rb->count; i++)
		rb->slots[i].pd = nic_alloc_pd(rb->host->nic);
	sim_schedule(w->sim, w->common.start, &ev_start, w->comp, rb, 0);
}

static void register_destroy(struct workload *w)
{
	g_free(w->priv);
	w->priv = NULL;
}

const struct workload_ops register_ops = {
	.type = "register",
	.summary = "registers one buffer count times, threads at once, then "
		   "deregisters",
	.params = &register_params,
	.cfg_size = sizeof(struct register_cfg),
	.create = register_create,
	.start = register_start,
	.finish = NULL,
	.destroy = register_destroy,
};
