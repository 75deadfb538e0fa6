/*
 * workloads/rdma_app.c - set-up shared by the RDMA application models.
 */
#include "workloads/rdma_app.h"

#include <errno.h>
#include <string.h>

#include "nic/driver.h"
#include "nic/host.h"
#include "sim/trace.h"
#include "vmm/vmm.h"

static const struct trace_kind tk_reg = { "mr_registered", TRACE_INSTANT,
					  NULL };

static bool side_create(struct rdma_side *s, struct workload *w,
			const struct workload_env *env, const char *key,
			const char *host, uint64_t len, GError **error)
{
	s->host = workload_host(w, env, key, host, error);
	if (!s->host)
		return false;
	char *asname = g_strdup_printf("wl.%s", w->name);
	s->as = vmm_as_find(s->host->vmm, asname);
	if (!s->as)
		s->as = vmm_as_new(s->host->vmm, asname);
	g_free(asname);
	s->len = (len + VMM_PAGE_SIZE - 1) & ~(VMM_PAGE_SIZE - 1);
	GError *e = NULL;
	s->buf = vmm_mmap_anywhere(s->as, s->len,
				   VMM_PROT_READ | VMM_PROT_WRITE, VMM_VMA_ANON,
				   &e);
	if (e) {
		char *where = scenario_where(env->sc, "workload", w->name,
					     NULL);
		g_set_error(error, CONFIG_ERROR, 0,
			    "%s: [workload %s]: buffer on host %s: %s", where,
			    w->name, host, e->message);
		g_free(where);
		g_error_free(e);
		return false;
	}
	return true;
}

/* A policy key of [workload NAME] (@value empty: *@out unchanged). */
static bool policy_key(const struct workload_env *env, struct workload *w,
		       const char *key, const char *value, int *out,
		       GError **error)
{
	if (!value || !*value)
		return true;
	int i = 0;
	while (reg_policy_names[i] && strcmp(reg_policy_names[i], value))
		i++;
	if (!reg_policy_names[i]) {
		char *where = scenario_where(env->sc, "workload", w->name, key);
		char *all = g_strjoinv(", ", (char **)reg_policy_names);
		g_set_error(error, CONFIG_ERROR, 0,
			    "%s: [workload %s] %s: '%s' is not one of %s",
			    where, w->name, key, value, all);
		g_free(all);
		g_free(where);
		return false;
	}
	*out = i;
	return true;
}

bool rdma_app_create(struct rdma_app *app, struct workload *w,
		     const struct workload_env *env,
		     const struct rdma_common *rc, uint64_t client_len,
		     uint64_t server_len, GError **error)
{
	app->w = w;
	app->rc = rc;
	app->policy = env->policy;
	if (!nic_path_mtu_valid(rc->mtu)) {
		/* the table checks the range; IBA MTUs are also powers of
		 * two, and nic_connect() would refuse the rest at run time */
		char *where = scenario_where(env->sc, "workload", w->name,
					     "mtu");
		g_set_error(error, CONFIG_ERROR, 0,
			    "%s: [workload %s] mtu: %" G_GUINT64_FORMAT " bytes "
			    "is not an IBA path MTU (256B, 512B, 1KiB, 2KiB or "
			    "4KiB)", where, w->name, rc->mtu);
		g_free(where);
		return false;
	}
	if (!policy_key(env, w, "policy", rc->policy, &app->policy, error))
		return false;
	app->server_policy = app->policy;
	if (!policy_key(env, w, "server_policy", rc->server_policy,
			&app->server_policy, error))
		return false;
	/* implicit ODP exists only on demand: under pin the server pins
	 * its region like any MR, which is the comparison users want */
	app->implicit = rc->implicit_odp &&
			reg_policy_get(app->server_policy)->on_demand;
	if (!side_create(&app->c, w, env, "client", rc->client, client_len,
			 error) ||
	    !side_create(&app->s, w, env, "server", rc->server, server_len,
			 error))
		return false;
	if (app->c.host == app->s.host) {
		char *where = scenario_where(env->sc, "workload", w->name,
					     "server");
		g_set_error(error, CONFIG_ERROR, 0,
			    "%s: [workload %s] server: client and server are "
			    "both host %s (loopback is not modelled)", where,
			    w->name, rc->server);
		g_free(where);
		return false;
	}
	/* the registrations the summary reports, "not started" until the
	 * workload starts */
	struct rdma_side *sides[2] = { &app->c, &app->s };
	struct workload_result *r = &w->res;
	g_assert(r->nregs + 2 <= WORKLOAD_MAX_REGS);
	for (int i = 0; i < 2; i++) {
		struct workload_reg *g = &r->regs[r->nregs++];
		bool implicit = sides[i] == &app->s && app->implicit;
		g->side = i ? "server" : "client";
		g->host = sides[i]->host->name;
		g->policy = reg_policy_names[implicit ? REG_ODP
					     : sides[i] == &app->s
						     ? app->server_policy
						     : app->policy];
		g->implicit = implicit;
		g->addr = implicit ? 0 : sides[i]->buf;
		g->length = implicit ? UINT64_MAX : sides[i]->len;
		g->state = WL_REG_NOT_STARTED;
		g->populate = rc->populate;
		sides[i]->reg = g;
		sides[i]->policy = implicit ? REG_ODP
				   : sides[i] == &app->s ? app->server_policy
							 : app->policy;
	}
	if (!app->c.host->nic || !app->s.host->nic ||
	    !nic_reaches(app->c.host->nic, (uint16_t)app->s.host->index)) {
		char *where = scenario_where(env->sc, "workload", w->name,
					     "server");
		g_set_error(error, CONFIG_ERROR, 0,
			    "%s: [workload %s] server: hosts %s and %s are "
			    "not connected (no [link] between them, nor a "
			    "[switch] both have a link to)", where, w->name,
			    rc->client, rc->server);
		g_free(where);
		return false;
	}
	return true;
}

void rdma_app_qp_attr(const struct rdma_common *rc, struct nic_qp_attr *attr)
{
	*attr = (struct nic_qp_attr){
		.path_mtu = (uint32_t)rc->mtu,
		.timeout = (uint8_t)rc->timeout,
		.retry_cnt = (uint8_t)rc->retry_cnt,
		.rnr_retry = (uint8_t)rc->rnr_retry,
		.min_rnr_timer = (uint8_t)rc->min_rnr_timer,
		.max_rd_atomic = (uint8_t)rc->max_rd_atomic,
	};
}

static void connect_pair(struct nic_qp *c, struct nic_qp *s,
			 const struct nic_qp_attr *attr)
{
	GError *e = NULL;
	bool ok = nic_connect(c, s, attr, &e);
	/* the parameter tables and rdma_app_create() checked every
	 * attribute: a refusal here is a bug */
	g_assert_no_error(e);
	g_assert(ok);
}

void rdma_app_reconnect(struct rdma_app *app, struct nic_qp **client,
			struct nic_qp **server, const struct nic_qp_attr *attr)
{
	/* one operation in flight, as a client that reconnects keeps */
	*client = nic_create_qp(app->c.pd, app->c.cq, app->c.cq, 16, 16);
	*server = nic_create_qp(app->s.pd, app->s.cq, app->s.cq, 16, 16);
	connect_pair(*client, *server, attr);
}

static void side_finish(struct rdma_app *app)
{
	if (--app->pending_regs || app->failed)
		return;
	struct nic_qp_attr attr;
	rdma_app_qp_attr(app->rc, &attr);
	for (unsigned i = 0; i < app->nqp; i++)
		connect_pair(app->c.qps[i], app->s.qps[i],
			     app->attr ? app->attr : &attr);
	app->ready(app);
}

/* Why a registration of @s failed with @status, with the memory figures
 * that explain it (a one-line message for the summary and stderr). */
static char *reg_failure(const struct rdma_side *s, int status)
{
	const struct workload_reg *g = s->reg;
	uint64_t pages = (g->length + VMM_PAGE_SIZE - 1) / VMM_PAGE_SIZE;
	uint64_t free = vmm_free_frames(s->host->vmm);
	uint64_t resv = vmm_reserved_frames(s->host->vmm);
	if (status == -ENOMEM && !strcmp(g->policy, "suspend"))
		return g_strdup_printf(
			"over-commit: %" G_GUINT64_FORMAT " pages cannot be "
			"committed with %" G_GUINT64_FORMAT " frames free, %"
			G_GUINT64_FORMAT " of them reserved (vmm.commit_failed)",
			pages, free, resv);
	if (status == -ENOMEM)
		return g_strdup_printf(
			"out of memory pinning %" G_GUINT64_FORMAT " pages (%"
			G_GUINT64_FORMAT " frames free; vmm.oom)", pages, free);
	if (status == -EFAULT)
		return g_strdup("a page could not be faulted in (EFAULT)");
	return g_strdup_printf("error %d", status);
}

/* The registration of @s ended now with @status. */
static void reg_record(struct rdma_side *s, int status)
{
	struct workload_reg *g = s->reg;
	g->end = sim_now(s->app->w->sim);
	g->status = status;
	g->state = status ? WL_REG_FAILED : WL_REG_DONE;
	if (status)
		g->reason = reg_failure(s, status);
}

static void prefetched(void *ctx, struct nic_mr *mr, int status,
		       uint64_t pages)
{
	(void)mr;
	(void)pages;
	struct rdma_app *app = ctx;
	reg_record(&app->s, status);
	if (status) {
		app->failed = true;
		app->w->res.errors++;
	}
	side_finish(app);
}

static void reg_cb(void *ctx, struct nic_mr *mr, int status)
{
	struct rdma_side *side = ctx;
	struct rdma_app *app = side->app;
	struct workload *w = app->w;
	side->mr = mr;
	if (!status && app->implicit && side == &app->s &&
	    app->server_policy == REG_ODP_PREFETCH) {
		/* an implicit MR is registered as odp; prefetching means the
		 * application advising its buffer (ibv_advise_mr) */
		nic_advise_mr(mr, NIC_ADVISE_PREFETCH_WRITE, app->s.buf,
			      app->s.len, prefetched, app);
		return;
	}
	reg_record(side, status);
	if (status) {
		app->failed = true;
		w->res.errors++;
	} else {
		struct nic_mr_info info;
		nic_mr_info(mr, &info);
		sim_trace_as(w->sim, w->comp, &tk_reg, vmm_as_name(side->as),
			     TRACE_NONE, TRACE_NONE, info.addr, TRACE_NONE,
			     info.length, side->host->name);
	}
	side_finish(app);
}

/* ibv_reg_mr of @s's buffer (or, implicit, its whole address space). */
static void side_register(struct rdma_side *s)
{
	struct rdma_app *app = s->app;
	unsigned acc = NIC_ACCESS_LOCAL_WRITE | NIC_ACCESS_REMOTE_WRITE |
		       NIC_ACCESS_REMOTE_READ;
	s->reg->state = WL_REG_RUNNING;
	s->reg->start = sim_now(app->w->sim);
	if (s == &app->s && app->implicit)
		/* ibv_reg_mr(pd, NULL, SIZE_MAX, ON_DEMAND | ...) */
		nic_reg_mr(s->pd, s->as, 0, UINT64_MAX,
			   acc | NIC_ACCESS_ON_DEMAND, REG_ODP, reg_cb, s);
	else
		nic_reg_mr(s->pd, s->as, s->buf, s->len, acc, s->policy,
			   reg_cb, s);
}

/* The buffer is written: register it.  A page that could not be faulted
 * in (out of memory) is left to the registration, which meets it again
 * (pin) or not (on demand). */
static void side_populated(void *ctx, int status, uint64_t npages)
{
	(void)status;
	(void)npages;
	struct rdma_side *s = ctx;
	s->reg->populate_end = sim_now(s->app->w->sim);
	s->reg->populating = false;
	side_register(s);
}

void rdma_app_start(struct rdma_app *app, nic_cq_notify_fn client_cq,
		    nic_cq_notify_fn server_cq)
{
	struct rdma_side *sides[2] = { &app->c, &app->s };
	nic_cq_notify_fn fns[2] = { client_cq, server_cq };
	app->pending_regs = 2;
	if (!app->nqp)
		app->nqp = 1;
	for (int i = 0; i < 2; i++) {
		struct rdma_side *s = sides[i];
		struct nic *nic = s->host->nic;
		if (!s->pd) /* or the one the workload chose */
			s->pd = nic_alloc_pd(nic);
		s->cq = nic_create_cq(nic, 1 << 16, fns[i], app);
		s->qps = g_new0(struct nic_qp *, app->nqp);
		for (unsigned q = 0; q < app->nqp; q++)
			s->qps[q] = nic_create_qp(s->pd, s->cq, s->cq, 4096,
						  4096);
		s->qp = s->qps[0];
		s->app = app; /* the registration's context: nothing to free
			       * if the run ends before it completes */
		s->reg->fp = s == &app->s && app->implicit
				     ? vmm_as_footprint(s->as)
				     : vmm_fp_range_get(vmm_fp_watch(
					       s->as, s->buf, s->len));
		if (s->reg->populate) {
			/* the application writes its buffer first (perftest
			 * memsets it), then registers it */
			s->reg->populate_start = sim_now(app->w->sim);
			s->reg->populating = true;
			vmm_populate(s->as, s->buf, s->len, true,
				     side_populated, s);
		} else {
			side_register(s);
		}
	}
}

void rdma_app_destroy(struct rdma_app *app)
{
	g_free(app->c.qps);
	g_free(app->s.qps);
	app->c.qps = app->s.qps = NULL;
}

void rdma_app_done(struct rdma_app *app, uint64_t bytes, sim_time_t lat,
		   bool ok)
{
	struct workload_result *r = &app->w->res;
	if (!ok) {
		r->errors++;
		return;
	}
	sim_time_t now = sim_now(app->w->sim);
	workload_result_gap(r, now);
	if (!workload_result_complete(r, now, bytes))
		return;
	if (r->lat)
		hist_add(r->lat, lat);
	/* the peak's operations: posted (at now - lat, a stream's latency)
	 * and completed inside the window; workload_result_post() told
	 * their posts */
	if (r->track_peak && now - lat >= r->from)
		rate_peak_done(&r->peak, now, bytes);
}
