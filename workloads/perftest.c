/*
 * workloads/perftest.c - perftest-shaped application models.
 *
 *   write_bw, read_bw, send_bw   a stream: tx_depth operations kept in
 *                                flight on each of `qps` RC QPs (perftest
 *                                -t and -q), each reposted as it completes
 *                                (ib_write_bw & co.)
 *   write_lat, send_lat          ping-pong: each side answers the other's
 *                                message; latency = round trip / 2, as
 *                                perftest reports it.  write_lat detects a
 *                                message by polling its last byte (here:
 *                                when the DMA write of it lands).
 *   read_lat                     one READ at a time; latency = its time
 *
 * Where messages go (the slot order).  Each side has one buffer and one MR
 * over it, `buffer` bytes (0: one slot per QP, as perftest), shared by the
 * QPs as perftest shares its single MR: QP i uses the i-th of `qps` equal
 * slices of it.  A slot is as large as the largest message (msg_size, or
 * the largest of msg_sizes), and a message starts at the same offset on
 * both sides:
 *   offsets = sequential  the n-th message of a QP at n x slot within its
 *                         slice, wrapping to the start when the next one
 *                         would not fit (so a buffer larger than the MTT
 *                         cache makes the NIC miss in a fixed order);
 *   offsets = stride:S    the same with a step of S bytes (any alignment);
 *   offsets = random      a slot drawn uniformly from the slice's whole
 *                         slots (offsets are multiples of the slot size),
 *                         from the workload's own stream "wl.NAME.offsets".
 * Message sizes are msg_size, or drawn per message from msg_sizes (a
 * weighted list, a uniform or a log-uniform range) with the stream
 * "wl.NAME.sizes"; both streams derive from (seed, name) only, so no other
 * component's draws move (sim/rng.h), and the defaults draw nothing: a
 * scenario without these keys runs exactly as before they existed.  The
 * latency tests use one slot at offset 0 of one QP.
 *
 * Hot path: a completion reposts on the QP it came from (its index is in
 * the wr_id: n x qps + i), reading its post time and size from that QP's
 * ring of tx_depth; nothing is allocated per message.
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "nic/host.h"
#include "sim/rng.h"
#include "sim/trace.h"
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
	/* bandwidth tests only (0 / NULL in the latency tests) */
	uint64_t qps;
	char *offsets;
	char *msg_sizes;
	uint64_t rx_depth; /* send_bw only */
};

enum pt_offsets { PT_OFF_SEQUENTIAL, PT_OFF_STRIDE, PT_OFF_RANDOM };
enum pt_sizes { PT_SIZES_FIXED, PT_SIZES_LIST, PT_SIZES_UNIFORM,
		PT_SIZES_LOG };

/* One QP of the stream: its count of messages and its rings. */
struct pt_qp {
	uint64_t posted;       /* messages posted on this QP */
	uint64_t slot;         /* sequential / stride position */
	sim_time_t *post_time; /* ring of tx_depth, by posted % tx_depth */
	uint32_t *size;        /* the same ring: each message's size */
};

struct pt_state {
	struct rdma_app app;
	struct pt_config *cfg;
	enum pt_kind kind;
	uint64_t buffer;
	unsigned nqp;
	struct pt_qp *q;
	uint32_t *qpn_sorted;  /* server QPNs, sorted, with ... */
	unsigned *qpn_index;   /* ... the QP index of each (send_bw) */
	uint64_t slot_size;    /* the largest message, at least 1 */
	enum pt_offsets offsets;
	uint64_t stride;
	struct rng off_rng;
	enum pt_sizes sizes;
	unsigned nsizes;       /* PT_SIZES_LIST */
	uint64_t *size_v;
	double *size_cum;      /* cumulative weights */
	uint64_t size_lo, size_hi; /* ranges */
	struct rng size_rng;
	uint64_t posted, done;
	sim_time_t iter_start; /* ping-pong */
	bool stopped;
	uint64_t span;         /* bytes in use: buffer, or half when trimmed */
	bool trimmed, resizing;
	bool trim_pending;     /* waiting for writes to the tail to finish */
	uint64_t trim_after;   /* ... the ones posted before this count */
};

#define PT_COMMON_KEYS                                                        \
	RDMA_COMMON_PARAMS(struct pt_config, "true",                          \
			   "perftest: host_memory_allocate_buffer() "           \
			   "(src/host_memory.c) memsets every buffer before "   \
			   "create_single_mr() registers it (since 2022; "      \
			   "inline in create_single_mr before)"),               \
	{ "msg_size", PT_SIZE, "64KiB", offsetof(struct pt_config, msg_size), \
	  "bytes per message", "perftest -s", NULL, 0, 1ULL << 31 },          \
	{ "tx_depth", PT_COUNT, "128", offsetof(struct pt_config, tx_depth),  \
	  "operations kept in flight per QP (latency tests: 1)",              \
	  "perftest default", NULL, 1, 4096 },                                \
	{ "buffer", PT_SIZE, "0B", offsetof(struct pt_config, buffer),        \
	  "span of the message slots on each side, all QPs together, one MR " \
	  "(0: one slot per QP, as perftest)", "perftest", NULL, 0,           \
	  1ULL << 46 },                                                       \
	{ "resize_period", PT_TIME, "0ns",                                    \
	  offsetof(struct pt_config, resize_period),                          \
	  "every period the server trims its MR to half the buffer, then "    \
	  "grows it back (same rkey); the client writes only below the "      \
	  "current end (0: never)", "", NULL, 0, 1e15 }

#define PT_LAT_PARAMS(name)                                                   \
	static const struct param name##_tab[] = { PT_COMMON_KEYS }

#define PT_BW_PARAMS(name, ...)                                               \
	static const struct param name##_tab[] = {                            \
		PT_COMMON_KEYS, __VA_ARGS__                                   \
		{ "qps", PT_COUNT, "1", offsetof(struct pt_config, qps),      \
		  "RC QP pairs, each with tx_depth in flight, sharing one "  \
		  "CQ and one MR per side; QP i uses the i-th of qps equal "  \
		  "slices of the buffer", "perftest -q (default 1)", NULL,    \
		  1, 1024 },                                                  \
		{ "offsets", PT_STRING, "sequential",                         \
		  offsetof(struct pt_config, offsets),                        \
		  "where a QP's messages go in its slice: sequential (slot "  \
		  "after slot), stride:SIZE (a step of SIZE), random (a "     \
		  "uniform whole slot, stream wl.NAME.offsets); a slot is "   \
		  "the largest message", "perftest writes one slot", NULL,    \
		  0, 0 },                                                     \
		{ "msg_sizes", PT_STRING, "",                                 \
		  offsetof(struct pt_config, msg_sizes),                      \
		  "message sizes drawn per message instead of msg_size "      \
		  "(stream wl.NAME.sizes): SIZE[:WEIGHT],... a weighted "     \
		  "list; LO..HI uniform; LO..HI log log-uniform (empty: "     \
		  "msg_size)", "", NULL, 0, 0 },                              \
	}

PT_BW_PARAMS(write_bw);
PT_BW_PARAMS(read_bw);
PT_BW_PARAMS(send_bw,
	     { "rx_depth", PT_COUNT, "512",
	       offsetof(struct pt_config, rx_depth),
	       "receives the server keeps posted per QP, each reposted as "
	       "it completes (0: none: every SEND meets an RNR NAK, and the "
	       "requester retries rnr_retry times, then completes in error, "
	       "IBV_WC_RNR_RETRY_EXC_ERR)",
	       "perftest DEF_RX_SEND (ib_send_bw --rx-depth)", NULL, 0,
	       4096 },);
PT_LAT_PARAMS(write_lat);
PT_LAT_PARAMS(read_lat);
PT_LAT_PARAMS(send_lat);
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

/* one record per message posted: QP, remote address, size */
static const struct trace_kind tk_post = { "wr_post", TRACE_INSTANT, NULL };

/* defined with the resize logic below (a tentative definition) */
static struct sim_evkind ev_pt_resize;
struct pt_state;
static void pt_maybe_trim(struct pt_state *st);

static bool pt_is_bw(enum pt_kind k)
{
	return k <= PT_SEND_BW;
}

/* The size of the next message. */
static uint64_t pt_next_size(struct pt_state *st)
{
	switch (st->sizes) {
	case PT_SIZES_FIXED:
		break;
	case PT_SIZES_LIST: {
		double u = rng_double(&st->size_rng) *
			   st->size_cum[st->nsizes - 1];
		unsigned i = 0;
		while (i + 1 < st->nsizes && u >= st->size_cum[i])
			i++;
		return st->size_v[i];
	}
	case PT_SIZES_UNIFORM:
		return st->size_lo +
		       rng_below(&st->size_rng, st->size_hi - st->size_lo + 1);
	case PT_SIZES_LOG: {
		double lo = log((double)st->size_lo),
		       hi = log((double)st->size_hi);
		uint64_t v = (uint64_t)llround(
			exp(lo + rng_double(&st->size_rng) * (hi - lo)));
		return CLAMP(v, st->size_lo, st->size_hi);
	}
	}
	return st->cfg->msg_size;
}

/* The offset in the buffer of the next message of QP @qi (of @size bytes):
 * the slot order of the header comment. */
static uint64_t pt_next_offset(struct pt_state *st, struct pt_qp *q,
			       unsigned qi, uint64_t size)
{
	uint64_t span = st->span ? st->span : st->buffer;
	uint64_t len = span / st->nqp, base = len * qi;
	uint64_t off;
	if (st->offsets == PT_OFF_RANDOM) {
		uint64_t n = MAX(len / st->slot_size, 1);
		off = rng_below(&st->off_rng, n) * st->slot_size;
	} else {
		uint64_t step = st->offsets == PT_OFF_STRIDE ? st->stride
							     : st->slot_size;
		off = (q->slot * step) % len;
	}
	if (off + size > len)
		off = 0;
	q->slot++;
	return base + off;
}

static void pt_post(struct pt_state *st, unsigned qi, struct rdma_side *from,
		    struct rdma_side *to, enum nic_wr_opcode op)
{
	struct pt_qp *q = &st->q[qi];
	uint64_t size = pt_next_size(st);
	uint64_t off = pt_next_offset(st, q, qi, size);
	struct nic_send_wr wr = {
		.wr_id = q->posted * st->nqp + qi,
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
	struct nic_qp *qp = from->qps[qi];
	int rc = nic_post_send(qp, &wr);
	g_assert(rc == 0); /* depth never exceeds the SQ size */
	struct workload *w = st->app.w;
	/* the remote address is in the peer's address space */
	sim_trace_as(w->sim, w->comp, &tk_post, vmm_as_name(to->as),
		     nic_qp_num(qp), TRACE_NONE, wr.remote_addr, TRACE_NONE,
		     size, from->host->name);
	unsigned r = (unsigned)(q->posted % st->cfg->tx_depth);
	q->post_time[r] = sim_now(w->sim);
	q->size[r] = (uint32_t)size;
	workload_result_post(&w->res, q->post_time[r], size);
	q->posted++;
	st->posted++;
}

static bool pt_more(const struct pt_state *st)
{
	uint64_t it = st->cfg->rc.iterations;
	return !st->stopped && (!it || st->posted < it);
}

static void pt_post_recv(struct rdma_side *s, unsigned qi, uint64_t size,
			 uint64_t id)
{
	struct nic_mr_info mi;
	nic_mr_info(s->mr, &mi);
	struct nic_recv_wr r = { id, { s->buf, (uint32_t)size, mi.lkey } };
	g_assert(nic_post_recv(s->qps[qi], &r) == 0);
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
					pt_post_recv(&st->app.c, 0,
						     st->cfg->msg_size, 0);
					st->iter_start = now;
					pt_post(st, 0, &st->app.c, &st->app.s,
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
			unsigned qi = (unsigned)(wc[i].wr_id % st->nqp);
			unsigned r = (unsigned)(wc[i].wr_id / st->nqp %
						st->cfg->tx_depth);
			struct pt_qp *q = &st->q[qi];
			sim_time_t lat = now - q->post_time[r];
			uint64_t size = q->size[r];
			rdma_app_done(&st->app, size, lat, true);
			st->done++;
			if (st->trim_pending)
				pt_maybe_trim(st);
			if (pt_more(st))
				pt_post(st, qi, &st->app.c, &st->app.s,
					pt_op(st->kind));
		}
	}
}

static int pt_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* The index of the server QP numbered @qpn (send_bw with several QPs). */
static unsigned pt_server_qp(const struct pt_state *st, uint32_t qpn)
{
	if (st->nqp == 1)
		return 0;
	const uint32_t *p = bsearch(&qpn, st->qpn_sorted, st->nqp,
				    sizeof(uint32_t), pt_cmp_u32);
	g_assert(p);
	return st->qpn_index[p - st->qpn_sorted];
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
			pt_post_recv(&st->app.s, pt_server_qp(st, wc[i].qpn),
				     st->slot_size, 0);
			if (st->kind == PT_SEND_LAT)
				/* answer the ping */
				pt_post(st, 0, &st->app.s, &st->app.c,
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
			pt_post(st, 0, &st->app.s, &st->app.c,
				NIC_WR_RDMA_WRITE);
		return;
	}
	if (end != st->app.c.buf + size)
		return;
	sim_time_t now = sim_now(st->app.w->sim);
	rdma_app_done(&st->app, size, (now - st->iter_start) / 2, true);
	st->done++;
	if (pt_more(st)) {
		st->iter_start = now;
		pt_post(st, 0, &st->app.c, &st->app.s, NIC_WR_RDMA_WRITE);
	}
}

/* send_bw with several QPs: which server QP a receive completion is on. */
static void pt_index_server_qps(struct pt_state *st)
{
	if (st->nqp == 1)
		return;
	struct pt_qpn {
		uint32_t qpn; /* first: sorted by it */
		unsigned idx;
	} *v = g_new(struct pt_qpn, st->nqp);
	for (unsigned i = 0; i < st->nqp; i++) {
		v[i].qpn = nic_qp_num(st->app.s.qps[i]);
		v[i].idx = i;
	}
	qsort(v, st->nqp, sizeof(*v), pt_cmp_u32);
	st->qpn_sorted = g_new(uint32_t, st->nqp);
	st->qpn_index = g_new(unsigned, st->nqp);
	for (unsigned i = 0; i < st->nqp; i++) {
		st->qpn_sorted[i] = v[i].qpn;
		st->qpn_index[i] = v[i].idx;
	}
	g_free(v);
}

static void pt_ready(struct rdma_app *app)
{
	struct pt_state *st = (struct pt_state *)app;
	struct workload *w = app->w;
	if (app->failed)
		return;
	sim_time_t now = sim_now(w->sim);
	w->res.first = w->res.last = st->iter_start = now;
	for (unsigned i = 0; i < st->nqp; i++)
		st->q[i].slot = 0;
	st->span = st->buffer;
	if (st->cfg->resize_period && pt_is_bw(st->kind))
		sim_schedule_in(w->sim, st->cfg->resize_period, &ev_pt_resize,
				w->comp, st, 0);
	switch (st->kind) {
	case PT_SEND_BW:
		pt_index_server_qps(st);
		for (unsigned q = 0; q < st->nqp; q++)
			for (uint64_t i = 0; i < st->cfg->rx_depth; i++)
				pt_post_recv(&app->s, q, st->slot_size, i);
		/* fall through */
	case PT_WRITE_BW:
	case PT_READ_BW:
		for (unsigned q = 0; q < st->nqp; q++)
			for (uint64_t i = 0;
			     i < st->cfg->tx_depth && pt_more(st); i++)
				pt_post(st, q, &app->c, &app->s,
					pt_op(st->kind));
		break;
	case PT_WRITE_LAT:
		st->buffer = st->cfg->msg_size; /* one slot each way */
		nic_mr_watch(app->s.mr, pt_landed, st);
		nic_mr_watch(app->c.mr, pt_landed, st);
		pt_post(st, 0, &app->c, &app->s, NIC_WR_RDMA_WRITE);
		break;
	case PT_SEND_LAT:
		st->buffer = st->cfg->msg_size;
		pt_post_recv(&app->s, 0, st->cfg->msg_size, 0);
		pt_post_recv(&app->c, 0, st->cfg->msg_size, 0);
		pt_post(st, 0, &app->c, &app->s, NIC_WR_SEND);
		break;
	case PT_READ_LAT:
		pt_post(st, 0, &app->c, &app->s, NIC_WR_RDMA_READ);
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

/* A configuration error at key @key of the workload. */
static bool G_GNUC_PRINTF(5, 6)
pt_key_error(const struct workload_env *env, struct workload *w,
	     const char *key, GError **error, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	char *where = scenario_where(env->sc, "workload", w->name, key);
	g_set_error(error, CONFIG_ERROR, 0, "%s: [workload %s] %s: %s", where,
		    w->name, key, msg);
	g_free(where);
	g_free(msg);
	return false;
}

static bool pt_parse_size(const char *text, uint64_t *v, GError **error)
{
	char *t = g_strstrip(g_strdup(text));
	bool ok = units_parse(t, UNIT_SIZE, v, error);
	if (ok && *v > (1ULL << 31)) {
		g_set_error(error, CONFIG_ERROR, 0,
			    "%s is above the largest message (2GiB)", t);
		ok = false;
	}
	g_free(t);
	return ok;
}

/* msg_sizes as a range: "LO..HI", "LO..HI uniform" or "LO..HI log". */
static bool pt_parse_range(struct pt_state *st, const char *text,
			   const char *dots, GError **error)
{
	char *lo_s = g_strndup(text, (gsize)(dots - text));
	/* "HI" or "HI MODE": the words after the dots */
	char **hi = g_strsplit_set(dots + 2, " \t", -1);
	GPtrArray *words = g_ptr_array_new();
	for (char **x = hi; *x; x++)
		if (**x)
			g_ptr_array_add(words, *x);
	const char *mode = words->len == 2 ? words->pdata[1] : NULL;
	bool ok = words->len == 1 || words->len == 2;
	if (!ok)
		g_set_error(error, CONFIG_ERROR, 0,
			    "'%s': expected LO..HI [uniform|log]", text);
	ok = ok && pt_parse_size(lo_s, &st->size_lo, error) &&
	     pt_parse_size(words->pdata[0], &st->size_hi, error);
	if (ok && st->size_lo > st->size_hi) {
		g_set_error(error, CONFIG_ERROR, 0, "'%s': LO is above HI",
			    text);
		ok = false;
	}
	st->sizes = PT_SIZES_UNIFORM;
	if (ok && mode && !strcmp(mode, "log")) {
		st->sizes = PT_SIZES_LOG;
	} else if (ok && mode && strcmp(mode, "uniform")) {
		g_set_error(error, CONFIG_ERROR, 0,
			    "'%s': '%s' is not a distribution (uniform or "
			    "log)", text, mode);
		ok = false;
	}
	if (ok && st->sizes == PT_SIZES_LOG && st->size_lo == 0) {
		g_set_error(error, CONFIG_ERROR, 0,
			    "'%s': a log-uniform range starts above 0B", text);
		ok = false;
	}
	st->slot_size = st->size_hi;
	g_free(lo_s);
	g_ptr_array_free(words, TRUE);
	g_strfreev(hi);
	return ok;
}

/* msg_sizes: a range, or "SIZE[:WEIGHT],..." (weight 1 when left out);
 * fills the size distribution and the slot size. */
static bool pt_parse_sizes(struct pt_state *st, const char *text,
			   GError **error)
{
	const char *dots = strstr(text, "..");
	if (dots)
		return pt_parse_range(st, text, dots, error);
	char **items = g_strsplit(text, ",", -1);
	st->sizes = PT_SIZES_LIST;
	st->nsizes = g_strv_length(items);
	st->size_v = g_new0(uint64_t, st->nsizes);
	st->size_cum = g_new0(double, st->nsizes);
	double total = 0;
	bool ok = true;
	for (unsigned i = 0; ok && i < st->nsizes; i++) {
		char *colon = strchr(items[i], ':');
		double wt = 1;
		if (colon) {
			*colon = 0;
			char *ws = g_strstrip(colon + 1);
			ok = units_parse_double(ws, &wt, error);
			if (ok && !(wt >= 0 && isfinite(wt))) {
				g_set_error(error, CONFIG_ERROR, 0,
					    "weight '%s' is not a number >= 0",
					    ws);
				ok = false;
			}
		}
		ok = ok && pt_parse_size(items[i], &st->size_v[i], error);
		total += wt;
		st->size_cum[i] = total;
		st->slot_size = MAX(st->slot_size, st->size_v[i]);
	}
	if (ok && !(total > 0)) {
		g_set_error(error, CONFIG_ERROR, 0,
			    "'%s': the weights add up to 0", text);
		ok = false;
	}
	g_strfreev(items);
	return ok;
}

static bool pt_parse_offsets(struct pt_state *st, const char *text,
			     GError **error)
{
	static const char *const names[] = { "sequential", "random",
					     "stride:SIZE", NULL };
	if (!strcmp(text, "sequential")) {
		st->offsets = PT_OFF_SEQUENTIAL;
		return true;
	}
	if (!strcmp(text, "random")) {
		st->offsets = PT_OFF_RANDOM;
		return true;
	}
	if (g_str_has_prefix(text, "stride:")) {
		st->offsets = PT_OFF_STRIDE;
		GError *e = NULL;
		if (!units_parse(text + 7, UNIT_SIZE, &st->stride, &e) ||
		    st->stride == 0) {
			g_set_error(error, CONFIG_ERROR, 0,
				    "'%s': the stride is a size above 0B%s%s",
				    text, e ? ": " : "", e ? e->message : "");
			g_clear_error(&e);
			return false;
		}
		return true;
	}
	const char *near = config_nearest(text, names);
	g_set_error(error, CONFIG_ERROR, 0,
		    "'%s' is not sequential, random or stride:SIZE%s%s%s", text,
		    near ? " (did you mean '" : "", near ? near : "",
		    near ? "'?)" : "");
	return false;
}

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
	st->nqp = cfg->qps ? (unsigned)cfg->qps : 1;
	st->slot_size = cfg->msg_size;
	GError *e = NULL;
	if (cfg->msg_sizes && *cfg->msg_sizes) {
		if (scenario_get(env->sc, "workload", w->name, "msg_size"))
			return pt_key_error(env, w, "msg_sizes", error,
					    "msg_size is given too: give one "
					    "of the two");
		if (!pt_parse_sizes(st, cfg->msg_sizes, &e)) {
			pt_key_error(env, w, "msg_sizes", error, "%s",
				     e->message);
			g_error_free(e);
			return false;
		}
		char *name = g_strdup_printf("wl.%s.sizes", w->name);
		rng_init(&st->size_rng, w->sim->seed, name);
		g_free(name);
	}
	if (cfg->offsets && !pt_parse_offsets(st, cfg->offsets, &e)) {
		pt_key_error(env, w, "offsets", error, "%s", e->message);
		g_error_free(e);
		return false;
	}
	if (st->offsets == PT_OFF_RANDOM) {
		char *name = g_strdup_printf("wl.%s.offsets", w->name);
		rng_init(&st->off_rng, w->sim->seed, name);
		g_free(name);
	}
	uint64_t need = st->nqp * st->slot_size;
	st->buffer = cfg->buffer ? cfg->buffer : need;
	if (st->buffer < need) {
		if (st->nqp == 1 && st->sizes == PT_SIZES_FIXED)
			return pt_key_error(env, w, "buffer", error,
					    "smaller than msg_size");
		return pt_key_error(env, w, "buffer", error,
				    "smaller than qps x the largest message "
				    "(%" G_GUINT64_FORMAT " B)", need);
	}
	if (cfg->resize_period && st->nqp > 1 && st->buffer / 2 < need)
		return pt_key_error(env, w, "resize_period", error,
				    "half the buffer (the trimmed MR) is "
				    "smaller than qps x the largest message");
	if (cfg->resize_period && cfg->rc.implicit_odp)
		return pt_key_error(env, w, "resize_period", error,
				    "an implicit ODP MR (implicit_odp = true) "
				    "covers the whole address space and cannot "
				    "be resized");
	if (!st->buffer) /* zero-byte messages still need a page */
		st->buffer = 1;
	if (!st->slot_size) /* ... and a slot to be at */
		st->slot_size = 1;
	st->q = g_new0(struct pt_qp, st->nqp);
	for (unsigned i = 0; i < st->nqp; i++) {
		st->q[i].post_time = g_new0(sim_time_t, cfg->tx_depth);
		st->q[i].size = g_new0(uint32_t, cfg->tx_depth);
	}
	st->app.nqp = st->nqp;
	st->app.ready = pt_ready;
	w->res.lat = stats_hist(w->sim->stats, "wl.%s.lat_ps", w->name);
	/* a stream's posts and completions make its peak; a ping-pong's
	 * latency is half a round trip, and it has no peak */
	w->res.track_peak = pt_is_bw(kind);
	w->res.msg_size = st->sizes == PT_SIZES_FIXED ? cfg->msg_size : 0;
	w->res.latency_test = !pt_is_bw(kind);
	w->res.verb = pt_op(kind) == NIC_WR_RDMA_WRITE ? "RDMA_Write" :
		      pt_op(kind) == NIC_WR_RDMA_READ ? "RDMA_Read" : "Send";
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
	for (unsigned i = 0; st->q && i < st->nqp; i++) {
		g_free(st->q[i].post_time);
		g_free(st->q[i].size);
	}
	g_free(st->q);
	g_free(st->qpn_sorted);
	g_free(st->qpn_index);
	g_free(st->size_v);
	g_free(st->size_cum);
	rdma_app_destroy(&st->app);
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
