/*
 * workloads/dma_io.c - a kernel block driver's per-I/O DMA mapping
 * (type = dma_io): `threads` CPUs each keep `iodepth` I/Os of `io_size`
 * in flight to `devices` devices behind the host's IOMMU; each I/O maps
 * its buffer before submission (dma_map_page: an IOVA and a PTE) and
 * unmaps it at completion (dma_unmap_page: strict, an invalidation the
 * CPU waits for; lazy, a flush-queue entry).  What it stands for: fio
 * 4 KiB random reads on NVMe SSDs, where nvme_map_data()/nvme_unmap_data()
 * map and unmap each request's data (NVIDIA/NV-Kernels#184: 8 SSDs on two
 * Grace sockets, 4 behind each socket's root port, passthrough 16.5 M
 * IOPS, lazy 16.4 M, strict 2.8 M).
 *
 * The devices are servers of their own (device_iops each, in submission
 * order); the DMA they do is not put on the NIC's PCIe link (the SSDs
 * have links of their own), so the IOMMU's part here is what the CPU
 * pays to map and unmap and the invalidation queue they share.  With
 * [iommu] mode = off or passthrough there is no IOMMU: map and unmap
 * cost what dma-direct does, nothing here.
 *
 * Representation: per CPU the completed I/Os waiting for it (it takes
 * them one at a time: completion, unmap, the next submission); per
 * device a busy-until time; events per I/O for its completion, its
 * unmap and the CPU's next step.  Figures: completed = I/Os done,
 * bytes = their bytes; counter wl.NAME.unmap_wait_ps (CPU time unmaps
 * waited for invalidations).
 */
#include <string.h>

#include "nic/iommu.h"
#include "nic/nic.h"
#include "workloads/workload.h"

struct dma_io_cfg {
	char *host;
	uint64_t devices, device_iops, threads, iodepth, io_size;
	sim_time_t cpu_time;
};

static const struct param dma_io_tab[] = {
	{ "host", PT_STRING, NULL, offsetof(struct dma_io_cfg, host),
	  "host whose IOMMU the devices sit behind", "", NULL, 0, 0 },
	{ "devices", PT_COUNT, "4", offsetof(struct dma_io_cfg, devices),
	  "devices the I/Os go to, round robin",
	  "NVIDIA/NV-Kernels#184: 4 NVMe SSDs per Grace socket, all behind "
	  "the same root port (8 on 2 sockets)", NULL, 1, 4096 },
	{ "device_iops", PT_COUNT, "2000000",
	  offsetof(struct dma_io_cfg, device_iops),
	  "I/Os per second one device completes (its service time is the "
	  "inverse)",
	  "NV-Kernels#184: 4 KiB random read per disk 1.7-2 M IOPS (\"the "
	  "spec says 1.7, but we are able to hit 2M\")", NULL, 1, 1e12 },
	{ "threads", PT_COUNT, "32", offsetof(struct dma_io_cfg, threads),
	  "CPUs submitting and completing I/Os (at most the host's cpus)",
	  "estimate: a fio run saturating 4 SSDs uses tens of jobs", NULL,
	  1, 4096 },
	{ "iodepth", PT_COUNT, "32", offsetof(struct dma_io_cfg, iodepth),
	  "I/Os each CPU keeps in flight", "estimate (fio iodepth)", NULL, 1,
	  1 << 20 },
	{ "io_size", PT_SIZE, "4KiB", offsetof(struct dma_io_cfg, io_size),
	  "bytes per I/O (one IOMMU page per 4 KiB mapped)",
	  "NV-Kernels#184: 4 KiB random reads", NULL, 512, 1 << 30 },
	{ "cpu_time", PT_TIME, "2us", offsetof(struct dma_io_cfg, cpu_time),
	  "CPU per I/O besides the DMA API (block layer, driver submission "
	  "and completion)",
	  "estimate: 32 CPUs at 2 us each sustain 16 M IOPS, so the devices "
	  "are the limit without an IOMMU, as in NV-Kernels#184", NULL, 0,
	  1e12 },
};
static PARAM_TABLE(dma_io_params, "dma_io",
		   "per-I/O DMA map and unmap on devices behind the IOMMU "
		   "(a block driver's; NV-Kernels#184)", dma_io_tab);

struct dma_io_cpu {
	uint64_t pending; /* completed I/Os waiting for the CPU */
	bool busy;
};

struct dma_io {
	struct workload *w;
	struct dma_io_cfg *cfg;
	struct iommu *io;
	struct dma_io_cpu *cpus;
	sim_time_t *dev_free;
	sim_time_t service;
	uint64_t next_dev, next_iova;
	uint64_t *c_wait;
};

static void io_done(struct sim *sim, void *obj, uint64_t arg);
SIM_EVKIND(ev_io_done, "dma_io.complete", io_done);
static void io_unmap(struct sim *sim, void *obj, uint64_t arg);
SIM_EVKIND(ev_io_unmap, "dma_io.unmap", io_unmap);
static void cpu_next(struct sim *sim, void *obj, uint64_t arg);
SIM_EVKIND(ev_cpu_next, "dma_io.cpu_next", cpu_next);

/* CPU @cpu submits an I/O at @t: the map, the submission half of the
 * CPU time; the device serves it in order.  Returns when the CPU is
 * done with it. */
static sim_time_t io_submit(struct dma_io *d, uint64_t cpu, sim_time_t t)
{
	uint64_t pages = (d->cfg->io_size + 4095) / 4096;
	if (d->io)
		t += iommu_map(d->io, 1, pages);
	t += d->cfg->cpu_time / 2;
	uint64_t dev = d->next_dev++ % d->cfg->devices;
	sim_time_t s = d->dev_free[dev] > t ? d->dev_free[dev] : t;
	d->dev_free[dev] = s + d->service;
	sim_schedule(d->w->sim, d->dev_free[dev], &ev_io_done, d->w->comp, d,
		     cpu);
	return t;
}

/* The CPU takes its next completed I/O, if any: the completion half of
 * the CPU time, then the unmap (at its time, so the invalidation queue
 * sees the CPUs in time order). */
static void cpu_run(struct dma_io *d, uint64_t cpu)
{
	struct dma_io_cpu *c = &d->cpus[cpu];
	if (!c->pending) {
		c->busy = false;
		return;
	}
	c->busy = true;
	c->pending--;
	sim_schedule_in(d->w->sim, d->cfg->cpu_time / 2, &ev_io_unmap,
			d->w->comp, d, cpu);
}

static void io_done(struct sim *sim, void *obj, uint64_t cpu)
{
	(void)sim;
	struct dma_io *d = obj;
	d->cpus[cpu].pending++;
	if (!d->cpus[cpu].busy)
		cpu_run(d, cpu);
}

/* dma_unmap_page (strict: the CPU waits for the invalidation), the I/O
 * counted, the next one submitted. */
static void io_unmap(struct sim *sim, void *obj, uint64_t cpu)
{
	struct dma_io *d = obj;
	sim_time_t t = sim_now(sim);
	if (d->io) {
		/* a fresh IOVA per I/O (the rcache hands them out in turn) */
		uint64_t iova = (d->next_iova++ & 0xffffff) << 12;
		sim_time_t back = iommu_unmap(d->io, t, 0x3fffff, iova,
					      d->cfg->io_size, 0, 1);
		*d->c_wait += back - t;
		t = back;
	}
	struct workload_result *r = &d->w->res;
	workload_result_gap(r, t);
	workload_result_complete(r, t, d->cfg->io_size);
	t = io_submit(d, cpu, t);
	sim_schedule(sim, t, &ev_cpu_next, d->w->comp, d, cpu);
}

static void cpu_next(struct sim *sim, void *obj, uint64_t cpu)
{
	(void)sim;
	cpu_run(obj, cpu);
}

static bool dma_io_create(struct workload *w, const struct workload_env *env,
			  GError **error)
{
	struct dma_io_cfg *cfg = w->cfg;
	struct host *h = workload_host(w, env, "host", cfg->host, error);
	if (!h)
		return false;
	if (cfg->threads > h->cfg.cpus) {
		char *where = scenario_where(env->sc, "workload", w->name,
					     "threads");
		g_set_error(error, CONFIG_ERROR, 0,
			    "%s: [workload %s] threads: %" G_GUINT64_FORMAT
			    " threads on host %s with %" G_GUINT64_FORMAT
			    " cpus", where, w->name, cfg->threads, cfg->host,
			    h->cfg.cpus);
		g_free(where);
		return false;
	}
	struct dma_io *d = g_new0(struct dma_io, 1);
	w->priv = d;
	d->w = w;
	d->cfg = cfg;
	d->io = h->nic ? nic_iommu(h->nic) : NULL;
	d->cpus = g_new0(struct dma_io_cpu, cfg->threads);
	d->dev_free = g_new0(sim_time_t, cfg->devices);
	d->service = SIM_S / cfg->device_iops;
	d->c_wait = stats_counter(env->sim->stats, "wl.%s.unmap_wait_ps",
				  w->name);
	w->res.msg_size = cfg->io_size;
	return true;
}

static void start_ev(struct sim *sim, void *obj, uint64_t arg)
{
	(void)arg;
	struct dma_io *d = obj;
	d->w->res.first = sim_now(sim);
	for (uint64_t c = 0; c < d->cfg->threads; c++) {
		sim_time_t t = sim_now(sim);
		for (uint64_t k = 0; k < d->cfg->iodepth; k++)
			t = io_submit(d, c, t);
		d->cpus[c].busy = true;
		sim_schedule(sim, t, &ev_cpu_next, d->w->comp, d, c);
	}
}
SIM_EVKIND(ev_start, "dma_io.start", start_ev);

static void dma_io_start(struct workload *w)
{
	sim_schedule(w->sim, w->common.start, &ev_start, w->comp, w->priv, 0);
}

static void dma_io_destroy(struct workload *w)
{
	struct dma_io *d = w->priv;
	if (d) {
		g_free(d->cpus);
		g_free(d->dev_free);
		g_free(d);
	}
	w->priv = NULL;
}

const struct workload_ops dma_io_ops = {
	.type = "dma_io",
	.summary = "per-I/O DMA map and unmap on devices behind the IOMMU",
	.params = &dma_io_params,
	.cfg_size = sizeof(struct dma_io_cfg),
	.create = dma_io_create,
	.start = dma_io_start,
	.finish = NULL,
	.destroy = dma_io_destroy,
};
