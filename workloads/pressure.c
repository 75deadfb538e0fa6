/*
 * workloads/pressure.c - a process that allocates and touches memory at a
 * rate, driving the host's reclaimer.
 *
 * Model: one single-threaded process (an address space named after the
 * workload) maps `size` bytes of anonymous memory and touches one page
 * every `interval`: first every page in order (allocation), then pages
 * drawn uniformly (pattern = random) or in order again (sequential).  A
 * touch that translates is a hit (it costs the modelled page walk); one
 * that does not takes a fault and the process waits for it.  When `size`
 * is more than the host can hold, the reclaimer runs and re-touches become
 * major faults.  The first `pinned` bytes are pinned before the touches
 * start, as a pinned memory region would be.  With an ELF `image`, the
 * process is loaded from it first (its segments mapped at their link
 * addresses, vmm/elf.c) and starts up by touching every page of it in
 * address order, reading the read-only and executable segments and
 * writing the writable ones (what the loader and the program's
 * initialisation fault in: text and data from the page cache, bss
 * zero-filled), one page per interval; then it maps and touches its heap
 * as above.
 *
 * Figures: completed = pages touched, errors = failed touches (segv, oom),
 * bytes = 4 KiB per touch, latency = fault service time (faults only).
 */
#include <string.h>

#include "sim/rng.h"
#include "vmm/vmm.h"
#include "workloads/workload.h"

struct pressure_cfg {
	char *host;
	uint64_t size;
	sim_time_t interval;
	double write_fraction;
	int pattern;
	char *image;
	uint64_t pinned;
};

static const char *const patterns[] = { "random", "sequential", NULL };

static const struct param pressure_tab[] = {
	{ "host", PT_STRING, NULL, offsetof(struct pressure_cfg, host),
	  "host whose memory the process uses", "", NULL, 0, 0 },
	{ "size", PT_SIZE, "64MiB", offsetof(struct pressure_cfg, size),
	  "anonymous memory the process maps and touches",
	  "scenarios set it above the host's memory to force reclaim", NULL,
	  4096, 1ULL << 46 },
	{ "interval", PT_TIME, "1us", offsetof(struct pressure_cfg, interval),
	  "think time between two page touches",
	  "1 M pages/s, a memory-hungry process", NULL, 0, 1e15 },
	{ "write_fraction", PT_FLOAT, "1", offsetof(struct pressure_cfg,
						    write_fraction),
	  "share of touches that write (dirty pages cost a write-back)", "",
	  NULL, 0, 1 },
	{ "pattern", PT_ENUM, "random", offsetof(struct pressure_cfg, pattern),
	  "order of the touches after the first pass", "", patterns, 0, 0 },
	{ "pinned", PT_SIZE, "0B", offsetof(struct pressure_cfg, pinned),
	  "bytes at the start of the region pinned before the touches start "
	  "(as a pinned MR would be): reclaim and moves must skip them", "",
	  NULL, 0, 1ULL << 46 },
	{ "image", PT_STRING, "", offsetof(struct pressure_cfg, image),
	  "ELF file the process is loaded from: its segments are mapped and "
	  "touched page by page before the heap (empty: none)", "", NULL, 0,
	  0 },
};
static PARAM_TABLE(pressure_params, "pressure",
		   "a process that allocates and touches memory at a rate",
		   pressure_tab);

struct pressure {
	struct workload *w;
	struct pressure_cfg *cfg;
	struct vmm_as *as;
	uint64_t base, pages, next;
	bool first_pass_done;
	struct pressure_seg {
		uint64_t start, end;
		bool write;
	} *img;              /* the image's VMAs, touched first */
	unsigned nimg, img_i;
	uint64_t img_va;
	struct rng rng;
	sim_time_t t0;
};

static void touch_ev(struct sim *sim, void *obj, uint64_t arg);
SIM_EVKIND(ev_touch, "pressure_touch", touch_ev);

/* A page touched; true when it counts (inside the window). */
static bool touched(struct pressure *p)
{
	struct workload *w = p->w;
	return workload_result_complete(&w->res, sim_now(w->sim),
					VMM_PAGE_SIZE);
}

static void fault_done(void *ctx, int status, uint64_t pfn)
{
	(void)pfn;
	struct pressure *p = ctx;
	struct workload *w = p->w;
	if (vmm_fault_ok(status)) {
		if (touched(p))
			hist_add(w->res.lat, sim_now(w->sim) - p->t0);
	} else {
		w->res.errors++;
	}
	sim_schedule_in(w->sim, p->cfg->interval, &ev_touch, w->comp, p, 0);
}

static void touch_ev(struct sim *sim, void *obj, uint64_t arg)
{
	(void)arg;
	struct pressure *p = obj;
	struct workload *w = p->w;
	uint64_t idx, va;
	bool write;
	if (p->img_i < p->nimg) {
		/* start-up: the next page of the image */
		va = p->img_va;
		write = p->img[p->img_i].write;
		p->img_va += VMM_PAGE_SIZE;
		if (p->img_va >= p->img[p->img_i].end &&
		    ++p->img_i < p->nimg)
			p->img_va = p->img[p->img_i].start;
		goto touch;
	}
	if (!p->first_pass_done || p->cfg->pattern == 1) {
		idx = p->next++;
		if (p->next == p->pages) {
			p->next = 0;
			p->first_pass_done = true;
		}
	} else {
		idx = rng_below(&p->rng, p->pages);
	}
	va = p->base + (idx << VMM_PAGE_SHIFT);
	write = rng_double(&p->rng) < p->cfg->write_fraction;
touch:;
	uint64_t pfn;
	if (vmm_lookup(p->as, va, write, &pfn)) {
		touched(p);
		sim_schedule_in(sim,
				p->cfg->interval + vmm_walk_cost(p->as, va),
				&ev_touch, w->comp, p, 0);
		return;
	}
	p->t0 = sim_now(sim);
	vmm_fault_in(p->as, va, write, fault_done, p);
}

static bool pressure_create(struct workload *w,
			    const struct workload_env *env, GError **error)
{
	struct pressure_cfg *cfg = w->cfg;
	struct host *h = workload_host(w, env, "host", cfg->host, error);
	if (!h)
		return false;
	g_assert(h->vmm);
	struct pressure *p = g_new0(struct pressure, 1);
	w->priv = p;
	p->w = w;
	p->cfg = cfg;
	p->as = vmm_as_new(h->vmm, w->name);
	if (cfg->image && *cfg->image) {
		GError *e = NULL;
		p->nimg = vmm_load_elf(p->as, cfg->image, &e);
		p->img = g_new0(struct pressure_seg, MAX(p->nimg, 1));
		for (unsigned i = 0; i < p->nimg; i++) {
			struct vmm_vma_info vi;
			g_assert(vmm_vma_get(p->as, i, &vi));
			p->img[i] = (struct pressure_seg){
				vi.start, vi.end, (vi.prot & VMM_PROT_WRITE) != 0
			};
		}
		p->img_va = p->nimg ? p->img[0].start : 0;
		if (!p->nimg) {
			char *where = scenario_where(env->sc, "workload",
						     w->name, "image");
			g_set_error(error, CONFIG_ERROR, 0,
				    "%s: [workload %s] image: %s", where,
				    w->name, e->message);
			g_free(where);
			g_error_free(e);
			return false;
		}
	}
	p->pages = cfg->size >> VMM_PAGE_SHIFT;
	p->base = vmm_mmap_anywhere(p->as, cfg->size,
				    VMM_PROT_READ | VMM_PROT_WRITE,
				    VMM_VMA_ANON, error);
	if (!p->base)
		return false;
	char *rn = g_strdup_printf("wl.%s", w->name);
	rng_init(&p->rng, env->sim->seed, rn);
	g_free(rn);
	w->res.lat = stats_hist(env->sim->stats, "wl.%s.fault_latency_ps",
				w->name);
	return true;
}

static void pinned_done(void *ctx, int status, uint64_t npages)
{
	(void)npages;
	struct pressure *p = ctx;
	if (!vmm_fault_ok(status))
		p->w->res.errors++;
	touch_ev(p->w->sim, p, 0);
}

static void start_ev(struct sim *sim, void *obj, uint64_t arg)
{
	(void)sim;
	(void)arg;
	struct pressure *p = obj;
	uint64_t len = MIN(p->cfg->pinned, p->cfg->size);
	if (len)
		vmm_pin(p->as, p->base, len, true, pinned_done, p);
	else
		touch_ev(p->w->sim, p, 0);
}
SIM_EVKIND(ev_start, "pressure_start", start_ev);

static void pressure_start(struct workload *w)
{
	struct pressure *p = w->priv;
	w->res.first = w->common.start;
	sim_schedule(w->sim, w->common.start, &ev_start, w->comp, p, 0);
}

static void pressure_destroy(struct workload *w)
{
	struct pressure *p = w->priv;
	if (p)
		g_free(p->img);
	g_free(w->priv);
	w->priv = NULL;
}

const struct workload_ops pressure_ops = {
	.type = "pressure",
	.summary = "a process that allocates and touches memory at a rate",
	.params = &pressure_params,
	.cfg_size = sizeof(struct pressure_cfg),
	.create = pressure_create,
	.start = pressure_start,
	.finish = NULL,
	.destroy = pressure_destroy,
};
