/*
 * workloads/perftest.c - perftest-shaped application models.
 *
 *   write_bw, read_bw, send_bw   a stream: tx_depth operations of msg_size
 *                                kept in flight on one RC QP, each reposted
 *                                as it completes (ib_write_bw & co.)
 *   write_lat, send_lat          ping-pong: each side answers the other's
 *                                message; latency = round trip / 2, as
 *                                perftest reports it.  write_lat detects a
 *                                message by polling its last byte (here:
 *                                when the DMA write of it lands).
 *   read_lat                     one READ at a time; latency = its time
 *
 * Messages go to successive msg_size slots of a `buffer`-byte region on
 * each side (perftest uses one slot: buffer = msg_size), so a buffer larger
 * than the MTT cache makes the NIC miss.
 */
#include <stddef.h>

#include "nic/host.h"
#include "vmm/vmm.h"
#include "workloads/rdma_app.h"

enum pt_kind { PT_WRITE_BW, PT_READ_BW, PT_SEND_BW, PT_WRITE_LAT,
	       PT_READ_LAT, PT_SEND_LAT };

struct pt_config {
	struct rdma_common rc;
	uint64_t msg_size;
	uint64_t tx_depth;
	uint64_t buffer;
	sim_time_t resize_period;
};

struct pt_state {
	struct rdma_app app;
	struct pt_config *cfg;
	enum pt_kind kind;
	uint64_t buffer;
	uint64_t posted, done, slot;
	sim_time_t *post_time; /* per outstanding WR: ring of tx_depth */
	sim_time_t win_start;
	uint64_t win_bytes, win_n;
	sim_time_t iter_start; /* ping-pong */
	bool stopped;
	uint64_t span;         /* slots in use: buffer, or half when trimmed */
	bool trimmed, resizing;
	bool trim_pending;     /* waiting for writes to the tail to finish */
	uint64_t trim_after;   /* ... the ones posted before this count */
};

#define PT_PARAMS(name)                                                        \
	static const struct param name##_tab[] = {                            \
		RDMA_COMMON_PARAMS(struct pt_config),                         \
		{ "msg_size", PT_SIZE, "64KiB",                               \
		  offsetof(struct pt_config, msg_size), "bytes per message",  \
		  "perftest -s", NULL, 0, 1ULL << 31 },                       \
		{ "tx_depth", PT_COUNT, "128",                                \
		  offsetof(struct pt_config, tx_depth),                       \
		  "operations kept in flight (latency tests: 1)",            \
		  "perftest default", NULL, 1, 4096 },                        \
		{ "buffer", PT_SIZE, "0B", offsetof(struct pt_config, buffer), \
		  "span of the message slots on each side (0: one slot, as "  \
		  "perftest)", "perftest", NULL, 0, 1ULL << 46 },             \
		{ "resize_period", PT_TIME, "0ns",                            \
		  offsetof(struct pt_config, resize_period),                  \
		  "every period the server trims its MR to half the buffer, " \
		  "then grows it back (same rkey); the client writes only "   \
		  "below the current end (0: never)", "", NULL, 0, 1e15 },    \
	}

PT_PARAMS(write_bw);
PT_PARAMS(read_bw);
PT_PARAMS(send_bw);
PT_PARAMS(write_lat);
PT_PARAMS(read_lat);
PT_PARAMS(send_lat);
static PARAM_TABLE(write_bw_table, "write_bw", "RDMA WRITE bandwidth stream",
		   write_bw_tab);
static PARAM_TABLE(read_bw_table, "read_bw", "RDMA READ bandwidth stream",
		   read_bw_tab);
static PARAM_TABLE(send_bw_table, "send_bw", "SEND bandwidth stream",
		   send_bw_tab);
static PARAM_TABLE(write_lat_table, "write_lat", "RDMA WRITE ping-pong",
		   write_lat_tab);
static PARAM_TABLE(read_lat_table, "read_lat", "RDMA READ latency",
		   read_lat_tab);
static PARAM_TABLE(send_lat_table, "send_lat", "SEND ping-pong",
		   send_lat_tab);

/* defined with the resize logic below (a tentative definition) */
static struct sim_evkind ev_pt_resize;
struct pt_state;
static void pt_maybe_trim(struct pt_state *st);

static bool pt_is_bw(enum pt_kind k)
{
	return k <= PT_SEND_BW;
}

static void pt_post(struct pt_state *st, struct rdma_side *from,
		    struct rdma_side *to, enum nic_wr_opcode op)
{
	uint64_t size = st->cfg->msg_size;
	uint64_t span = st->span ? st->span : st->buffer;
	uint64_t off = (st->slot * size) % span;
	if (off + size > span)
		off = 0;
	st->slot++;
	struct nic_send_wr wr = {
		.wr_id = st->posted,
		.opcode = op,
		.sge = { from->buf + off, (uint32_t)size, 0 },
		.signaled = true,
		.remote_addr = to->buf + off,
	};
	struct nic_mr_info fi, ti;
	nic_mr_info(from->mr, &fi);
	nic_mr_info(to->mr, &ti);
	wr.sge.lkey = fi.lkey;
	wr.rkey = ti.rkey;
	int rc = nic_post_send(from->qp, &wr);
	g_assert(rc == 0); /* depth never exceeds the SQ size */
	st->post_time[st->posted % st->cfg->tx_depth] = sim_now(st->app.w->sim);
	st->posted++;
}

static bool pt_more(const struct pt_state *st)
{
	uint64_t it = st->cfg->rc.iterations;
	return !st->stopped && (!it || st->posted < it);
}

static void pt_post_recv(struct rdma_side *s, uint64_t size, uint64_t id)
{
	struct nic_mr_info mi;
	nic_mr_info(s->mr, &mi);
	struct nic_recv_wr r = { id, { s->buf, (uint32_t)size, mi.lkey } };
	g_assert(nic_post_recv(s->qp, &r) == 0);
}

static enum nic_wr_opcode pt_op(enum pt_kind k)
{
	switch (k) {
	case PT_WRITE_BW:
	case PT_WRITE_LAT: return NIC_WR_RDMA_WRITE;
	case PT_READ_BW:
	case PT_READ_LAT: return NIC_WR_RDMA_READ;
	default: return NIC_WR_SEND;
	}
}

static void pt_peak(struct pt_state *st, sim_time_t now)
{
	st->win_bytes += st->cfg->msg_size;
	if (++st->win_n < st->cfg->tx_depth || now <= st->win_start)
		return;
	double gbps = (double)st->win_bytes * 8 /
		      sim_time_to_s(now - st->win_start) / 1e9;
	struct workload_result *r = &st->app.w->res;
	if (gbps > r->bw_peak_gbps)
		r->bw_peak_gbps = gbps;
	st->win_start = now;
	st->win_bytes = st->win_n = 0;
}

static void pt_client_cq(void *ctx, struct nic_cq *cq)
{
	struct pt_state *st = (struct pt_state *)ctx;
	struct workload *w = st->app.w;
	sim_time_t now = sim_now(w->sim);
	struct nic_wc wc[64];
	int n;
	while ((n = nic_poll_cq(cq, wc, 64)) > 0) {
		for (int i = 0; i < n; i++) {
			bool ok = wc[i].status == NIC_WC_SUCCESS;
			if (wc[i].opcode == NIC_WC_RECV ||
			    wc[i].opcode == NIC_WC_RECV_RDMA_WITH_IMM) {
				/* send_lat: the server's answer */
				rdma_app_done(&st->app, st->cfg->msg_size,
					      (now - st->iter_start) / 2, ok);
				st->done++;
				if (ok && pt_more(st)) {
					pt_post_recv(&st->app.c,
						     st->cfg->msg_size, 0);
					st->iter_start = now;
					pt_post(st, &st->app.c, &st->app.s,
						NIC_WR_SEND);
				}
				continue;
			}
			if (!ok) {
				rdma_app_done(&st->app, 0, 0, false);
				st->stopped = true;
				continue;
			}
			if (st->kind == PT_SEND_LAT || st->kind == PT_WRITE_LAT)
				continue; /* our own send completing */
			sim_time_t lat = now - st->post_time[wc[i].wr_id %
							     st->cfg->tx_depth];
			rdma_app_done(&st->app, st->cfg->msg_size, lat, true);
			st->done++;
			if (pt_is_bw(st->kind))
				pt_peak(st, now);
			if (st->trim_pending)
				pt_maybe_trim(st);
			if (pt_more(st))
				pt_post(st, &st->app.c, &st->app.s,
					pt_op(st->kind));
		}
	}
}

static void pt_server_cq(void *ctx, struct nic_cq *cq)
{
	struct pt_state *st = (struct pt_state *)ctx;
	struct nic_wc wc[64];
	int n;
	while ((n = nic_poll_cq(cq, wc, 64)) > 0)
		for (int i = 0; i < n; i++) {
			if (wc[i].status != NIC_WC_SUCCESS)
				continue;
			if (wc[i].opcode != NIC_WC_RECV)
				continue;
			pt_post_recv(&st->app.s, st->cfg->msg_size, 0);
			if (st->kind == PT_SEND_LAT)
				/* answer the ping */
				pt_post(st, &st->app.s, &st->app.c,
					NIC_WR_SEND);
		}
}

/* write_lat: the last byte of a message landed in a watched buffer */
static void pt_landed(void *ctx, struct nic_mr *mr, uint64_t end)
{
	struct pt_state *st = ctx;
	uint64_t size = st->cfg->msg_size;
	if (mr == st->app.s.mr) {
		if (end == st->app.s.buf + size)
			pt_post(st, &st->app.s, &st->app.c, NIC_WR_RDMA_WRITE);
		return;
	}
	if (end != st->app.c.buf + size)
		return;
	sim_time_t now = sim_now(st->app.w->sim);
	rdma_app_done(&st->app, size, (now - st->iter_start) / 2, true);
	st->done++;
	if (pt_more(st)) {
		st->iter_start = now;
		pt_post(st, &st->app.c, &st->app.s, NIC_WR_RDMA_WRITE);
	}
}

static void pt_ready(struct rdma_app *app)
{
	struct pt_state *st = (struct pt_state *)app;
	struct workload *w = app->w;
	if (app->failed)
		return;
	sim_time_t now = sim_now(w->sim);
	w->res.first = w->res.last = st->win_start = st->iter_start = now;
	st->slot = 0;
	st->span = st->buffer;
	if (st->cfg->resize_period && pt_is_bw(st->kind))
		sim_schedule_in(w->sim, st->cfg->resize_period, &ev_pt_resize,
				w->comp, st, 0);
	switch (st->kind) {
	case PT_SEND_BW:
		for (uint64_t i = 0; i < 4096 && i < 2 * st->cfg->tx_depth; i++)
			pt_post_recv(&app->s, st->cfg->msg_size, i);
		/* fall through */
	case PT_WRITE_BW:
	case PT_READ_BW:
		for (uint64_t i = 0; i < st->cfg->tx_depth && pt_more(st); i++)
			pt_post(st, &app->c, &app->s, pt_op(st->kind));
		break;
	case PT_WRITE_LAT:
		st->buffer = st->cfg->msg_size; /* one slot each way */
		nic_mr_watch(app->s.mr, pt_landed, st);
		nic_mr_watch(app->c.mr, pt_landed, st);
		pt_post(st, &app->c, &app->s, NIC_WR_RDMA_WRITE);
		break;
	case PT_SEND_LAT:
		st->buffer = st->cfg->msg_size;
		pt_post_recv(&app->s, st->cfg->msg_size, 0);
		pt_post_recv(&app->c, st->cfg->msg_size, 0);
		pt_post(st, &app->c, &app->s, NIC_WR_SEND);
		break;
	case PT_READ_LAT:
		pt_post(st, &app->c, &app->s, NIC_WR_RDMA_READ);
		break;
	}
}

/* ---- resize_period: trim to half, grow back, keeping the rkey ---- */

static void pt_resize_ev(struct sim *sim, void *obj, uint64_t arg);
SIM_EVKIND(ev_pt_resize, "wl.perftest.resize", pt_resize_ev);

static void pt_resized(void *ctx, struct nic_mr *mr, int status)
{
	(void)mr;
	struct pt_state *st = ctx;
	struct workload *w = st->app.w;
	st->resizing = false;
	if (status) {
		w->res.errors++; /* the policy could not commit/pin the growth */
		return;
	}
	if (!st->trimmed)
		st->span = st->buffer; /* grown: the client may use it all */
	(*stats_counter(w->sim->stats, "wl.%s.resizes", w->name))++;
}

static void pt_maybe_trim(struct pt_state *st)
{
	if (!st->trim_pending || st->done < st->trim_after)
		return;
	st->trim_pending = false;
	nic_mr_resize(st->app.s.mr, st->buffer / 2, pt_resized, st);
}

static void pt_resize_ev(struct sim *sim, void *obj, uint64_t arg)
{
	(void)arg;
	struct pt_state *st = obj;
	if (!st->app.s.mr || st->app.failed)
		return;
	if (!st->resizing) {
		st->resizing = true;
		st->trimmed = !st->trimmed;
		if (st->trimmed) {
			/* the client stops using the tail, and the server
			 * trims once the writes already posted are done (as
			 * an application would agree before a trim) */
			st->span = st->buffer / 2;
			st->trim_pending = true;
			st->trim_after = st->posted;
			pt_maybe_trim(st);
		} else {
			nic_mr_resize(st->app.s.mr, st->buffer, pt_resized, st);
		}
	}
	sim_schedule_in(sim, st->cfg->resize_period, &ev_pt_resize,
			st->app.w->comp, st, 0);
}

static void pt_begin(struct sim *sim, void *obj, uint64_t arg)
{
	(void)sim;
	(void)arg;
	struct pt_state *st = obj;
	rdma_app_start(&st->app, pt_client_cq, pt_server_cq);
}
SIM_EVKIND(ev_pt_begin, "wl.perftest.begin", pt_begin);

static bool pt_create(struct workload *w, const struct workload_env *env,
		      enum pt_kind kind, GError **error)
{
	struct pt_config *cfg = w->cfg;
	struct pt_state *st = g_new0(struct pt_state, 1);
	w->priv = st;
	st->cfg = cfg;
	st->kind = kind;
	if (!pt_is_bw(kind))
		cfg->tx_depth = 1;
	st->buffer = cfg->buffer ? cfg->buffer : cfg->msg_size;
	if (st->buffer < cfg->msg_size) {
		char *where = scenario_where(env->sc, "workload", w->name,
					     "buffer");
		g_set_error(error, CONFIG_ERROR, 0,
			    "%s: [workload %s] buffer: smaller than msg_size",
			    where, w->name);
		g_free(where);
		return false;
	}
	if (!st->buffer) /* zero-byte messages still need a page */
		st->buffer = 1;
	st->post_time = g_new0(sim_time_t, cfg->tx_depth);
	st->app.ready = pt_ready;
	w->res.lat = stats_hist(w->sim->stats, "wl.%s.lat_ps", w->name);
	return rdma_app_create(&st->app, w, env, &cfg->rc, st->buffer,
			       st->buffer, error);
}

static void pt_start(struct workload *w)
{
	sim_schedule(w->sim, w->common.start, &ev_pt_begin, w->comp, w->priv,
		     0);
}

static void pt_destroy(struct workload *w)
{
	struct pt_state *st = w->priv;
	if (!st)
		return;
	g_free(st->post_time);
	g_free(st);
}

#define PT_TYPE(nm, kind)                                                     \
	static bool nm##_create(struct workload *w,                          \
				const struct workload_env *env, GError **e)  \
	{                                                                     \
		return pt_create(w, env, kind, e);                            \
	}                                                                     \
	const struct workload_ops nm##_ops = {                                \
		.type = #nm, .summary = "perftest " #nm,                      \
		.params = &nm##_table, .cfg_size = sizeof(struct pt_config),  \
		.create = nm##_create, .start = pt_start,                     \
		.destroy = pt_destroy,                                        \
	}

PT_TYPE(write_bw, PT_WRITE_BW);
PT_TYPE(read_bw, PT_READ_BW);
PT_TYPE(send_bw, PT_SEND_BW);
PT_TYPE(write_lat, PT_WRITE_LAT);
PT_TYPE(read_lat, PT_READ_LAT);
PT_TYPE(send_lat, PT_SEND_LAT);
