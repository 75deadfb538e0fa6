/*
 * workloads/kv.c - a key-value client: fixed-size RDMA READs (gets) or
 * WRITEs (puts) of random keys over a large remote region, `depth`
 * operations in flight on one RC QP.  Key popularity is uniform or
 * Zipf(theta), drawn with the method of Gray et al. (SIGMOD'94, "Quickly
 * generating billion-record synthetic databases"), as YCSB does; with
 * `scramble` the rank is hashed so popular keys spread over the region
 * instead of crowding its first pages (YCSB's scrambled Zipfian).
 */
#include <math.h>
#include <stddef.h>

#include "sim/rng.h"
#include "vmm/vmm.h"
#include "workloads/rdma_app.h"

static const char *const kv_ops[] = { "read", "write", NULL };
static const char *const kv_dists[] = { "uniform", "zipf", NULL };

struct kv_config {
	struct rdma_common rc;
	int op;
	uint64_t value_size;
	uint64_t region;
	int dist;
	double theta;
	uint64_t depth;
	bool scramble;
};

static const struct param kv_tab[] = {
	RDMA_COMMON_PARAMS(struct kv_config, "false",
			   "estimate: the model has no load phase; a store "
			   "registers its region as it sets up, before values "
			   "are written into it"),
	{ "op", PT_ENUM, "read", offsetof(struct kv_config, op),
	  "read: RDMA READ gets; write: RDMA WRITE puts", "", kv_ops, 0, 0 },
	{ "value_size", PT_SIZE, "64B", offsetof(struct kv_config, value_size),
	  "bytes per key; key k is at k x value_size in the region (aligned "
	  "to the value), the n-th operation uses local slot n mod depth",
	  "small values of KV stores (FaRM, HERD)", NULL, 1, 1 << 30 },
	{ "region", PT_SIZE, "1GiB", offsetof(struct kv_config, region),
	  "size of the remote region holding the values", "", NULL, 4096,
	  1ULL << 46 },
	{ "distribution", PT_ENUM, "zipf", offsetof(struct kv_config, dist),
	  "key popularity", "YCSB", kv_dists, 0, 0 },
	{ "theta", PT_FLOAT, "0.99", offsetof(struct kv_config, theta),
	  "Zipf skew (0 < theta < 1)", "YCSB default", NULL, 0.01, 0.999 },
	{ "depth", PT_COUNT, "16", offsetof(struct kv_config, depth),
	  "operations in flight", "", NULL, 1, 4096 },
	{ "scramble", PT_BOOL, "true", offsetof(struct kv_config, scramble),
	  "hash ranks so popular keys spread over the region", "YCSB", NULL,
	  0, 0 },
};
static PARAM_TABLE(kv_table, "kv", "random gets/puts over a remote region",
		   kv_tab);

struct kv_state {
	struct rdma_app app;
	struct kv_config *cfg;
	struct rng rng;
	uint64_t nkeys;
	double zetan, alpha, eta, half_pow_theta;
	uint64_t posted;
	sim_time_t *post_time;
	bool stopped;
};

/* sum_{i=1..n} i^-theta: exact up to 1e6 terms, then Euler-Maclaurin */
static double zeta(uint64_t n, double theta)
{
	uint64_t m = n < 1000000 ? n : 1000000;
	double s = 0;
	for (uint64_t i = 1; i <= m; i++)
		s += pow((double)i, -theta);
	if (n > m) {
		double a = (double)m, b = (double)n;
		s += (pow(b, 1 - theta) - pow(a, 1 - theta)) / (1 - theta) +
		     (pow(b, -theta) - pow(a, -theta)) / 2;
	}
	return s;
}

static uint64_t kv_key(struct kv_state *st)
{
	uint64_t n = st->nkeys;
	if (st->cfg->dist == 0)
		return rng_below(&st->rng, n);
	double u = rng_double(&st->rng);
	double uz = u * st->zetan;
	uint64_t rank;
	if (uz < 1.0)
		rank = 0;
	else if (uz < 1.0 + st->half_pow_theta)
		rank = 1;
	else
		rank = (uint64_t)((double)n *
				  pow(st->eta * u - st->eta + 1.0, st->alpha));
	if (rank >= n)
		rank = n - 1;
	if (st->cfg->scramble) {
		/* FNV-1a of the rank */
		uint64_t h = 0xcbf29ce484222325ULL;
		for (int i = 0; i < 8; i++) {
			h ^= (rank >> (8 * i)) & 0xff;
			h *= 0x100000001b3ULL;
		}
		rank = h % n;
	}
	return rank;
}

static void kv_post(struct kv_state *st)
{
	struct rdma_app *app = &st->app;
	uint64_t key = kv_key(st);
	uint64_t slot = st->posted % st->cfg->depth;
	struct nic_mr_info ci, si;
	nic_mr_info(app->c.mr, &ci);
	nic_mr_info(app->s.mr, &si);
	struct nic_send_wr wr = {
		.wr_id = st->posted,
		.opcode = st->cfg->op ? NIC_WR_RDMA_WRITE : NIC_WR_RDMA_READ,
		.sge = { app->c.buf + slot * st->cfg->value_size,
			 (uint32_t)st->cfg->value_size, ci.lkey },
		.signaled = true,
		.remote_addr = app->s.buf + key * st->cfg->value_size,
		.rkey = si.rkey,
	};
	g_assert(nic_post_send(app->c.qp, &wr) == 0);
	st->post_time[slot] = sim_now(app->w->sim);
	st->posted++;
	workload_result_post(&app->w->res, st->post_time[slot],
			     st->cfg->value_size);
}

static bool kv_more(const struct kv_state *st)
{
	uint64_t it = st->cfg->rc.iterations;
	return !st->stopped && (!it || st->posted < it);
}

static void kv_cq(void *ctx, struct nic_cq *cq)
{
	struct kv_state *st = ctx;
	sim_time_t now = sim_now(st->app.w->sim);
	struct nic_wc wc[64];
	int n;
	while ((n = nic_poll_cq(cq, wc, 64)) > 0)
		for (int i = 0; i < n; i++) {
			bool ok = wc[i].status == NIC_WC_SUCCESS;
			sim_time_t lat = now - st->post_time[wc[i].wr_id %
							     st->cfg->depth];
			rdma_app_done(&st->app, st->cfg->value_size, lat, ok);
			if (!ok)
				st->stopped = true;
			else if (kv_more(st))
				kv_post(st);
		}
}

static void kv_server_cq(void *ctx, struct nic_cq *cq)
{
	(void)ctx;
	struct nic_wc wc[16];
	while (nic_poll_cq(cq, wc, 16) > 0)
		;
}

static void kv_ready(struct rdma_app *app)
{
	struct kv_state *st = (struct kv_state *)app;
	if (app->failed)
		return;
	app->w->res.first = app->w->res.last = sim_now(app->w->sim);
	for (uint64_t i = 0; i < st->cfg->depth && kv_more(st); i++)
		kv_post(st);
}

static void kv_begin(struct sim *sim, void *obj, uint64_t arg)
{
	(void)sim;
	(void)arg;
	struct kv_state *st = obj;
	rdma_app_start(&st->app, kv_cq, kv_server_cq);
}
SIM_EVKIND(ev_kv_begin, "wl.kv.begin", kv_begin);

static bool kv_create(struct workload *w, const struct workload_env *env,
		      GError **error)
{
	struct kv_config *cfg = w->cfg;
	struct kv_state *st = g_new0(struct kv_state, 1);
	w->priv = st;
	st->cfg = cfg;
	st->nkeys = cfg->region / cfg->value_size;
	if (!st->nkeys) {
		char *where = scenario_where(env->sc, "workload", w->name,
					     "value_size");
		g_set_error(error, CONFIG_ERROR, 0,
			    "%s: [workload %s] value_size: larger than region",
			    where, w->name);
		g_free(where);
		return false;
	}
	char *name = g_strdup_printf("wl.%s.keys", w->name);
	rng_init(&st->rng, w->sim->seed, name);
	g_free(name);
	if (cfg->dist == 1) {
		double th = cfg->theta;
		st->zetan = zeta(st->nkeys, th);
		double zeta2 = 1.0 + pow(2.0, -th);
		st->alpha = 1.0 / (1.0 - th);
		st->eta = (1.0 - pow(2.0 / (double)st->nkeys, 1.0 - th)) /
			  (1.0 - zeta2 / st->zetan);
		st->half_pow_theta = pow(0.5, th);
	}
	st->post_time = g_new0(sim_time_t, cfg->depth);
	st->app.ready = kv_ready;
	w->res.lat = stats_hist(w->sim->stats, "wl.%s.lat_ps", w->name);
	w->res.track_peak = true;
	w->res.msg_size = cfg->value_size;
	w->res.verb = cfg->op == 0 ? "RDMA_Read" : "RDMA_Write";
	return rdma_app_create(&st->app, w, env, &cfg->rc,
			       cfg->depth * cfg->value_size,
			       st->nkeys * cfg->value_size, error);
}

static void kv_start(struct workload *w)
{
	sim_schedule(w->sim, w->common.start, &ev_kv_begin, w->comp, w->priv,
		     0);
}

static void kv_destroy(struct workload *w)
{
	struct kv_state *st = w->priv;
	if (!st)
		return;
	rdma_app_destroy(&st->app);
	g_free(st->post_time);
	g_free(st);
}

const struct workload_ops kv_ops_table = {
	.type = "kv", .summary = "key-value gets/puts",
	.params = &kv_table, .cfg_size = sizeof(struct kv_config),
	.create = kv_create, .start = kv_start, .destroy = kv_destroy,
};
