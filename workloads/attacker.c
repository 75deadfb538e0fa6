/*
 * workloads/attacker.c - a client that misbehaves: the NIC as a security
 * boundary under attack (type = attacker).
 *
 * The attacker is a client of a service on the target host (`server`),
 * connected over RC as any client is (rdma_app: the service registered
 * `size` bytes for it and told it the address and rkey, as a service
 * does).  Beside it the target holds a victim: another client's buffer of
 * `victim_size` bytes in the service's address space and its shared PD
 * (ReDMArk's V9: "RDMA applications typically share a PD for all RDMA
 * resources"; V4: buffers allocated side by side, so the attacker knows
 * the victim's address and only its key is to be found), registered just
 * before the attacker's own MR.  `attack` says what the attacker tries;
 * each probe is one work request on one of `connections` connections:
 *
 *   guess          READs of the victim's buffer under guessed keys
 *                  (`keys`: sequential, leaked, random); once a key
 *                  works the attacker keeps reading with it
 *   stale_dereg    READs with the victim's key, which it was given; after
 *                  `revoke_after` successes the victim deregisters the MR
 *   stale_window   the same through a type 2 memory window the service
 *                  bound for it on its connection; the service then
 *                  invalidates the window (LOCAL_INV)
 *   out_of_bounds  WRITEs with its own key straddling its buffer's end
 *   other_pd       WRITEs with the key of a victim in another PD (another
 *                  process on the target), which leaked to it
 *   no_access      WRITEs and FETCH_AND_ADDs to a victim MR it may only
 *                  read (REMOTE_READ)
 *   rnr_flood      SENDs the service never posted a receive for: each
 *                  draws an RNR NAK; the attacker's QPs give up at the
 *                  first (rnr_retry 0), as a flood that wants errors does
 *   mr_churn       as a tenant on the target: register `size` bytes,
 *                  write msg_size bytes into each of their pages from
 *                  its client, deregister, again (the NIC's MTT and MPT
 *                  caches take every page and key; the writes take
 *                  little of the port)
 *
 * Keys (guess): the attacker knows its own key K = (index i, variant v)
 * and, with `keys = sequential`, tries K - 0x101 x m for m = 1, 2, ...
 * (the preceding registrations: mlx5 hands out the lowest free index and,
 * with [nic] key_variant = sequential, the next variant; ReDMArk measured
 * differences of 0x101 or 0x102 between consecutive mlx5 keys in over 60%
 * of registrations, Fig. 3); with `leaked` the victim's MR was
 * re-registered after its old key L leaked, and the attacker tries the
 * other variants of L's index in order (L + 1, L + 2, ...); with `random`
 * uniform 32-bit keys.  A refused probe is a remote access error: both
 * QPs go to the error state (IBA class C), and the attacker reconnects
 * after `reconnect_time` ("if the guess is incorrect, the attack framework
 * reconnects and retries", ReDMArk 5.3).
 *
 * Counted (wl.NAME.*): attempts (probes posted), successes (completed
 * without error: only what the key in use allows, which the oracle
 * checks byte by byte), refusals (the target said no: a NAK's error or an
 * exhausted RNR retry), reconnects, first_success_attempt (1-based, 0:
 * none) and first_success_ps.  The summary's completed / errors are
 * successes / refusals.
 *
 * Representation: an array of `connections` lanes, each one probe in
 * flight at most; wr_id = attempt << 16 | lane.
 */
#include <errno.h>
#include <stddef.h>

#include "nic/driver.h"
#include "sim/rng.h"
#include "sim/trace.h"
#include "vmm/vmm.h"
#include "workloads/rdma_app.h"

enum atk_kind {
	ATK_GUESS,
	ATK_STALE_DEREG,
	ATK_STALE_WINDOW,
	ATK_OUT_OF_BOUNDS,
	ATK_OTHER_PD,
	ATK_NO_ACCESS,
	ATK_RNR_FLOOD,
	ATK_MR_CHURN,
};
static const char *const atk_names[] = {
	"guess", "stale_dereg", "stale_window", "out_of_bounds", "other_pd",
	"no_access", "rnr_flood", "mr_churn", NULL,
};

enum atk_keys { ATK_KEYS_SEQUENTIAL, ATK_KEYS_LEAKED, ATK_KEYS_RANDOM };
static const char *const atk_key_names[] = { "sequential", "leaked",
					     "random", NULL };

struct atk_config {
	struct rdma_common rc;
	int attack;
	int keys;
	uint64_t attempts;
	sim_time_t interval;
	sim_time_t reconnect_time;
	uint64_t msg_size;
	uint64_t size;
	uint64_t victim_size;
	uint64_t revoke_after;
	uint64_t connections;
};

static const struct param atk_tab[] = {
	RDMA_COMMON_PARAMS(struct atk_config, "false",
			   "estimate: the service registers fresh buffers for "
			   "its clients, and mr_churn fresh regions"),
	{ "attack", PT_ENUM, "guess", offsetof(struct atk_config, attack),
	  "what the attacker tries (see workloads/attacker.c): guess, "
	  "stale_dereg, stale_window, out_of_bounds, other_pd, no_access, "
	  "rnr_flood, mr_churn", "", atk_names, 0, 0 },
	{ "keys", PT_ENUM, "sequential", offsetof(struct atk_config, keys),
	  "guess: own key - 0x101 x m (sequential), the other variants of a "
	  "leaked key's index (leaked), uniform 32-bit keys (random)",
	  "ReDMArk (USENIX Security 2021) 4.3", atk_key_names, 0, 0 },
	{ "attempts", PT_COUNT, "256", offsetof(struct atk_config, attempts),
	  "probes to post in all (mr_churn: register-touch-deregister "
	  "cycles)", "one per variant of an index", NULL, 1, 100000 },
	{ "interval", PT_TIME, "10us", offsetof(struct atk_config, interval),
	  "a connection's wait from one probe's completion to the next (after "
	  "a refusal: reconnect_time, if longer)", "estimate", NULL, 0,
	  1e15 },
	{ "reconnect_time", PT_TIME, "500us",
	  offsetof(struct atk_config, reconnect_time),
	  "a new connection after a refusal put the QPs in the error state "
	  "(rdma_cm address and route resolution, the CM exchange)",
	  "estimate", NULL, 0, 1e15 },
	{ "msg_size", PT_SIZE, "64B", offsetof(struct atk_config, msg_size),
	  "bytes per probe (atomics: 8; mr_churn: per page, at most 4KiB)",
	  "", NULL, 8, 1 << 30 },
	{ "size", PT_SIZE, "64KiB", offsetof(struct atk_config, size),
	  "the attacker's own buffer at the service (mr_churn: each "
	  "region it registers and touches)", "", NULL, 4096, 1ULL << 40 },
	{ "victim_size", PT_SIZE, "64KiB",
	  offsetof(struct atk_config, victim_size),
	  "the victim's buffer on the target", "", NULL, 4096, 1ULL << 40 },
	{ "revoke_after", PT_COUNT, "4",
	  offsetof(struct atk_config, revoke_after),
	  "stale_dereg, stale_window: legitimate successes before the "
	  "victim deregisters its MR or the service invalidates the window",
	  "", NULL, 1, 1e9 },
	{ "connections", PT_COUNT, "1",
	  offsetof(struct atk_config, connections),
	  "connections probing at once, one probe in flight on each", "",
	  NULL, 1, 1024 },
};
static const struct stat_doc atk_stats[] = {
	{ "wl.NAME.attempts", "probes", "probes posted (mr_churn: cycles)",
	  "" },
	{ "wl.NAME.successes", "probes",
	  "probes the target carried out (only what the key used allows)",
	  "" },
	{ "wl.NAME.refusals", "probes",
	  "probes the target refused (a NAK's error, an RNR retry "
	  "exhausted)", "" },
	{ "wl.NAME.reconnects", "connections",
	  "new connections after a refusal", "" },
	{ "wl.NAME.first_success_attempt", "probe",
	  "the attempt (1-based) of the first success, 0: none", "" },
	{ "wl.NAME.first_success_ps", "ps",
	  "when the first success completed, 0: none", "" },
};
static PARAM_TABLE_STATS(atk_table, "attacker",
			 "a misbehaving client: key guessing, stale keys, "
			 "bounds, PDs, rights, RNR floods, MR churn",
			 atk_tab, atk_stats);

static const struct trace_kind tk_probe = { "attack_probe", TRACE_INSTANT,
					    NULL };

enum lane_state { LANE_IDLE, LANE_BUSY, LANE_CONNECTING, LANE_DONE };

struct atk_lane {
	enum lane_state state;
	struct nic_qp *cq, *sq; /* the client's and the service's QP */
	sim_time_t posted_at;
	uint32_t key;           /* the probe's key ... */
	uint64_t addr;          /* ... and remote address */
	struct nic_mr *churn;   /* mr_churn: the region registered now */
	uint64_t churn_buf;     /* ... its buffer on the target */
	uint64_t churn_next;    /* ... the next page to write */
	unsigned churn_out;     /* ... writes in flight */
	bool churn_failed;      /* ... one of the cycle's writes failed */
};

struct atk_state {
	struct rdma_app app;
	struct atk_config *cfg;
	struct workload *w;
	struct rng rng;
	struct atk_lane *lanes;
	unsigned nlanes;
	struct nic_qp_attr attr;
	/* the victim */
	struct vmm_as *vas;
	struct nic_pd *vpd;
	uint64_t vbuf;
	struct nic_mr *vmr;
	uint32_t vkey;       /* what the attacker was given or guesses at */
	uint32_t leaked;     /* keys = leaked: the victim's old key */
	bool rereg;          /* ... the re-registration is under way */
	struct workload_reg *vreg;
	struct nic_mw *mw;
	bool window_bound, revoked;
	/* guessing */
	uint32_t own_key;
	uint64_t guess_n;    /* candidates tried */
	bool found;
	uint32_t found_key;
	uint64_t posted;     /* attempts posted */
	uint64_t *c_attempts, *c_successes, *c_refusals, *c_reconnects;
	uint64_t *c_first_attempt, *c_first_ps;
};

static sim_time_t now_of(const struct atk_state *st)
{
	return sim_now(st->w->sim);
}

/* The key of the next guess. */
static uint32_t guess_key(struct atk_state *st)
{
	if (st->found)
		return st->found_key;
	uint64_t m = ++st->guess_n;
	switch (st->cfg->keys) {
	case ATK_KEYS_SEQUENTIAL:
		return st->own_key - (uint32_t)(m * 0x101);
	case ATK_KEYS_LEAKED:
		/* the other variants of the leaked key's index, in order:
		 * after the 255th every variant was tried; the index's
		 * variant 0 is skipped if the walk meets it */
		return (st->leaked & ~0xffu) |
		       ((st->leaked + (uint32_t)((m - 1) % 255) + 1) & 0xff);
	default:
		return (uint32_t)rng_below(&st->rng, 1ULL << 32);
	}
}

static void lane_post(struct atk_state *st, unsigned l);
static void churn_begin(struct atk_state *st, unsigned l);

static void ev_lane_probe_fn(struct sim *sim, void *obj, uint64_t arg)
{
	(void)sim;
	struct atk_state *st = obj;
	if (st->cfg->attack == ATK_MR_CHURN)
		churn_begin(st, (unsigned)arg);
	else
		lane_post(st, (unsigned)arg);
}
SIM_EVKIND(ev_lane_probe, "wl.attacker.probe", ev_lane_probe_fn);

/* A new connection for lane @l (the old QPs are in the error state). */
static void ev_lane_connect_fn(struct sim *sim, void *obj, uint64_t arg)
{
	(void)sim;
	struct atk_state *st = obj;
	struct atk_lane *ln = &st->lanes[arg];
	rdma_app_reconnect(&st->app, &ln->cq, &ln->sq, &st->attr);
	(*st->c_reconnects)++;
	ln->state = LANE_IDLE;
	/* the next probe `interval` after the refused one, or now */
	const struct atk_config *cfg = st->cfg;
	if (cfg->interval > cfg->reconnect_time)
		sim_schedule_in(sim, cfg->interval - cfg->reconnect_time,
				&ev_lane_probe, st->w->comp, st, arg);
	else
		ev_lane_probe_fn(sim, obj, arg);
}
SIM_EVKIND(ev_lane_connect, "wl.attacker.connect", ev_lane_connect_fn);

static bool more(const struct atk_state *st)
{
	return st->posted < st->cfg->attempts;
}

static void lane_post(struct atk_state *st, unsigned l)
{
	struct atk_lane *ln = &st->lanes[l];
	const struct atk_config *cfg = st->cfg;
	struct rdma_app *app = &st->app;
	if (!more(st)) {
		ln->state = LANE_DONE;
		return;
	}
	struct nic_mr_info ci;
	nic_mr_info(app->c.mr, &ci);
	uint32_t len = (uint32_t)cfg->msg_size;
	struct nic_send_wr wr = {
		.wr_id = st->posted << 16 | l,
		.opcode = NIC_WR_RDMA_READ,
		.sge = { app->c.buf, len, ci.lkey },
		.signaled = true,
		.remote_addr = st->vbuf,
		.rkey = st->vkey,
	};
	switch (cfg->attack) {
	case ATK_GUESS:
		wr.rkey = guess_key(st);
		break;
	case ATK_STALE_DEREG:
	case ATK_STALE_WINDOW:
		break;
	case ATK_OUT_OF_BOUNDS:
		/* its own key, the probe's second half past its buffer */
		wr.opcode = NIC_WR_RDMA_WRITE;
		wr.rkey = st->own_key;
		wr.remote_addr = app->s.buf + app->s.len - len / 2;
		break;
	case ATK_OTHER_PD:
		wr.opcode = NIC_WR_RDMA_WRITE;
		break;
	case ATK_NO_ACCESS:
		if (st->posted & 1) {
			wr.opcode = NIC_WR_ATOMIC_FETCH_AND_ADD;
			wr.sge.length = 8;
			wr.compare_add = 1;
		} else {
			wr.opcode = NIC_WR_RDMA_WRITE;
		}
		break;
	case ATK_RNR_FLOOD:
		wr.opcode = NIC_WR_SEND;
		wr.rkey = 0;
		wr.remote_addr = 0;
		break;
	default:
		g_assert_not_reached();
	}
	ln->key = wr.rkey;
	ln->addr = wr.remote_addr;
	ln->posted_at = now_of(st);
	ln->state = LANE_BUSY;
	st->posted++;
	(*st->c_attempts)++;
	int rc = nic_post_send(ln->cq, &wr);
	g_assert(rc == 0); /* one WR in flight on a fresh or idle QP */
	workload_result_post(&st->w->res, ln->posted_at, wr.sge.length);
}

/* A probe of lane @l completed with @status. */
static void probe_done(struct atk_state *st, unsigned l, uint64_t attempt,
		       enum nic_wc_status status)
{
	struct atk_lane *ln = &st->lanes[l];
	struct workload *w = st->w;
	const struct atk_config *cfg = st->cfg;
	bool ok = status == NIC_WC_SUCCESS;
	sim_time_t now = now_of(st);
	ln->state = LANE_IDLE;
	char what[64];
	g_snprintf(what, sizeof(what), "rkey 0x%08x %s", ln->key,
		   nic_wc_status_names[status]);
	sim_trace(w->sim, w->comp, &tk_probe, nic_qp_num(ln->cq), TRACE_NONE,
		  ln->addr, TRACE_NONE, cfg->msg_size, what);
	rdma_app_done(&st->app, cfg->msg_size, now - ln->posted_at, ok);
	if (ok) {
		(*st->c_successes)++;
		if (!*st->c_first_attempt) {
			*st->c_first_attempt = attempt + 1;
			*st->c_first_ps = now;
		}
		if (cfg->attack == ATK_GUESS && !st->found) {
			st->found = true;
			st->found_key = ln->key;
		}
		bool revoke = (cfg->attack == ATK_STALE_DEREG ||
			       cfg->attack == ATK_STALE_WINDOW) &&
			      !st->revoked &&
			      *st->c_successes >= cfg->revoke_after;
		if (revoke && cfg->attack == ATK_STALE_DEREG) {
			/* the victim deregisters: its key names nothing
			 * from this call on */
			st->revoked = true;
			int r = nic_dereg_mr(st->vmr, NULL, NULL);
			g_assert(r == 0);
			st->vmr = NULL;
		} else if (revoke) {
			st->revoked = true;
			struct nic_send_wr inv = {
				.wr_id = UINT64_MAX,
				.opcode = NIC_WR_LOCAL_INV,
				.signaled = true,
				.invalidate_rkey = st->vkey,
			};
			/* refused only if the window's QP is in the error
			 * state: then nothing can use the window again */
			(void)nic_post_send(st->app.s.qps[0], &inv);
		}
		sim_schedule_in(w->sim, cfg->interval, &ev_lane_probe, w->comp,
				st, l);
		return;
	}
	if (status != NIC_WC_WR_FLUSH_ERR && status != NIC_WC_RETRY_EXC_ERR)
		(*st->c_refusals)++;
	/* the QPs are in the error state: a new connection, if there is
	 * anything left to try */
	if (!more(st)) {
		ln->state = LANE_DONE;
		return;
	}
	ln->state = LANE_CONNECTING;
	sim_schedule_in(w->sim, cfg->reconnect_time, &ev_lane_connect, w->comp,
			st, l);
}

static void atk_client_cq(void *ctx, struct nic_cq *cq)
{
	struct atk_state *st = ctx;
	struct nic_wc wc[32];
	int n;
	while ((n = nic_poll_cq(cq, wc, 32)) > 0)
		for (int i = 0; i < n; i++) {
			unsigned l = (unsigned)(wc[i].wr_id & 0xffff);
			g_assert(l < st->nlanes);
			probe_done(st, l, wc[i].wr_id >> 16, wc[i].status);
		}
}

/* ---- mr_churn: register, touch every page, deregister ---- */

#define CHURN_WINDOW 16 /* writes in flight (a reconnected QP's depth) */

static void churn_post(struct atk_state *st, unsigned l)
{
	struct atk_lane *ln = &st->lanes[l];
	struct nic_mr_info ci, ri;
	nic_mr_info(st->app.c.mr, &ci);
	nic_mr_info(ln->churn, &ri);
	uint64_t pages = st->cfg->size / VMM_PAGE_SIZE;
	while (ln->churn_next < pages && ln->churn_out < CHURN_WINDOW) {
		struct nic_send_wr wr = {
			.wr_id = ln->churn_next << 16 | l,
			.opcode = NIC_WR_RDMA_WRITE,
			.sge = { st->app.c.buf, (uint32_t)st->cfg->msg_size,
				 ci.lkey },
			.signaled = true,
			.remote_addr = ln->churn_buf +
				       ln->churn_next * VMM_PAGE_SIZE,
			.rkey = ri.rkey,
		};
		int r = nic_post_send(ln->cq, &wr);
		g_assert(r == 0);
		ln->churn_next++;
		ln->churn_out++;
	}
}

/* A write of lane @l's cycle completed: more, or the cycle's end (the
 * region deregistered, the next cycle after `interval`). */
static void churn_written(struct atk_state *st, unsigned l,
			  enum nic_wc_status status)
{
	struct atk_lane *ln = &st->lanes[l];
	struct workload *w = st->w;
	g_assert(ln->churn_out > 0);
	ln->churn_out--;
	if (status != NIC_WC_SUCCESS)
		ln->churn_failed = true;
	if (!ln->churn_failed && ln->churn_next < st->cfg->size / VMM_PAGE_SIZE) {
		churn_post(st, l);
		return;
	}
	if (ln->churn_out)
		return; /* the rest of the window (flushed after an error) */
	bool ok = !ln->churn_failed;
	rdma_app_done(&st->app, ok ? ln->churn_next * st->cfg->msg_size : 0,
		      now_of(st) - ln->posted_at, ok);
	if (ok) {
		(*st->c_successes)++;
		if (!*st->c_first_attempt) {
			*st->c_first_attempt = st->posted;
			*st->c_first_ps = now_of(st);
		}
	} else {
		(*st->c_refusals)++;
	}
	int r = nic_dereg_mr(ln->churn, NULL, NULL);
	g_assert(r == 0);
	ln->churn = NULL;
	ln->state = LANE_IDLE;
	if (!ok) {
		ln->state = LANE_CONNECTING;
		sim_schedule_in(w->sim, st->cfg->reconnect_time,
				&ev_lane_connect, w->comp, st, l);
		return;
	}
	sim_schedule_in(w->sim, st->cfg->interval, &ev_lane_probe, w->comp, st,
			l);
}

static void churn_cq(void *ctx, struct nic_cq *cq)
{
	struct atk_state *st = ctx;
	struct nic_wc wc[32];
	int n;
	while ((n = nic_poll_cq(cq, wc, 32)) > 0)
		for (int i = 0; i < n; i++)
			churn_written(st, (unsigned)(wc[i].wr_id & 0xffff),
				      wc[i].status);
}

struct churn_ctx {
	struct atk_state *st;
	unsigned lane;
};

static void churn_registered(void *ctx, struct nic_mr *mr, int status)
{
	struct churn_ctx *cc = ctx;
	struct atk_state *st = cc->st;
	unsigned l = cc->lane;
	g_free(cc);
	struct atk_lane *ln = &st->lanes[l];
	if (status) {
		/* out of memory: counted as an error, no more cycles here */
		st->w->res.errors++;
		ln->state = LANE_DONE;
		return;
	}
	ln->churn = mr;
	ln->churn_next = ln->churn_out = 0;
	ln->churn_failed = false;
	ln->posted_at = now_of(st);
	churn_post(st, l);
}

/* A cycle: register the lane's region on the target, write msg_size
 * bytes into each of its pages from the client (every page's
 * translation goes through the NIC's MTT cache), deregister it. */
static void churn_begin(struct atk_state *st, unsigned l)
{
	struct atk_lane *ln = &st->lanes[l];
	if (!more(st)) {
		ln->state = LANE_DONE;
		return;
	}
	st->posted++;
	(*st->c_attempts)++;
	ln->state = LANE_BUSY;
	struct churn_ctx *cc = g_new(struct churn_ctx, 1);
	cc->st = st;
	cc->lane = l;
	nic_reg_mr(st->app.s.pd, st->app.s.as, ln->churn_buf, st->cfg->size,
		   NIC_ACCESS_LOCAL_WRITE | NIC_ACCESS_REMOTE_WRITE,
		   st->app.policy, churn_registered, cc);
}

/* ---- the service side: window binds and invalidations ---- */

static void start_lanes(struct atk_state *st)
{
	st->w->res.first = st->w->res.last = now_of(st);
	for (unsigned l = 0; l < st->nlanes; l++) {
		if (st->cfg->attack == ATK_MR_CHURN)
			churn_begin(st, l);
		else
			lane_post(st, l);
	}
}

static void atk_server_cq(void *ctx, struct nic_cq *cq)
{
	struct atk_state *st = ctx;
	struct nic_wc wc[32];
	int n;
	while ((n = nic_poll_cq(cq, wc, 32)) > 0)
		for (int i = 0; i < n; i++) {
			if (wc[i].opcode == NIC_WC_BIND_MW) {
				g_assert(wc[i].status == NIC_WC_SUCCESS);
				st->window_bound = true;
				start_lanes(st);
			}
			/* a LOCAL_INV's completion: the window's DMA has
			 * landed (counted by the NIC, mw_invalidations) */
		}
}

static void atk_ready(struct rdma_app *app)
{
	struct atk_state *st = (struct atk_state *)app;
	if (app->failed)
		return;
	for (unsigned l = 0; l < st->nlanes; l++) {
		st->lanes[l].cq = app->c.qps[l];
		st->lanes[l].sq = app->s.qps[l];
	}
	struct nic_mr_info si;
	nic_mr_info(app->s.mr, &si);
	st->own_key = si.rkey;
	if (st->cfg->attack == ATK_STALE_WINDOW) {
		/* the service binds a type 2 window over the victim's buffer
		 * on the attacker's first connection and hands out its key */
		st->mw = nic_alloc_mw(app->s.pd, NIC_MW_TYPE_2);
		st->vkey = nic_inc_rkey(nic_mw_rkey(st->mw));
		struct nic_send_wr b = {
			.wr_id = UINT64_MAX - 1,
			.opcode = NIC_WR_BIND_MW,
			.signaled = true,
			.bind = { .mw = st->mw, .rkey = st->vkey, .mr = st->vmr,
				  .addr = st->vbuf,
				  .length = st->cfg->victim_size,
				  .access = NIC_ACCESS_REMOTE_READ },
		};
		int r = nic_post_send(app->s.qps[0], &b);
		g_assert(r == 0);
		return;
	}
	start_lanes(st);
}

/* ---- the victim ---- */

static void victim_registered(void *ctx, struct nic_mr *mr, int status);

static void victim_record(struct atk_state *st, int status)
{
	struct workload_reg *g = st->vreg;
	g->end = now_of(st);
	g->status = status;
	g->state = status ? WL_REG_FAILED : WL_REG_DONE;
	if (status)
		g->reason = g_strdup_printf("error %d (%s)", status,
					    status == -ENOMEM ?
						    "out of memory" :
						    "could not fault pages");
}

static unsigned victim_access(const struct atk_state *st)
{
	switch (st->cfg->attack) {
	case ATK_NO_ACCESS:
		return NIC_ACCESS_LOCAL_WRITE | NIC_ACCESS_REMOTE_READ;
	case ATK_STALE_WINDOW:
		return NIC_ACCESS_LOCAL_WRITE | NIC_ACCESS_MW_BIND;
	default:
		return NIC_ACCESS_LOCAL_WRITE | NIC_ACCESS_REMOTE_WRITE |
		       NIC_ACCESS_REMOTE_READ | NIC_ACCESS_REMOTE_ATOMIC;
	}
}

static void victim_register(struct atk_state *st)
{
	st->vreg->state = WL_REG_RUNNING;
	st->vreg->start = now_of(st);
	nic_reg_mr(st->vpd, st->vas, st->vbuf, st->cfg->victim_size,
		   victim_access(st), st->app.policy, victim_registered, st);
}

static void victim_dereg_done(void *ctx)
{
	struct atk_state *st = ctx;
	victim_register(st); /* the same index, the next variant */
}

static void victim_registered(void *ctx, struct nic_mr *mr, int status)
{
	struct atk_state *st = ctx;
	victim_record(st, status);
	if (status) {
		st->app.failed = true;
		st->w->res.errors++;
		return;
	}
	st->vmr = mr;
	struct nic_mr_info vi;
	nic_mr_info(mr, &vi);
	if (st->cfg->attack == ATK_GUESS && st->cfg->keys == ATK_KEYS_LEAKED &&
	    !st->rereg) {
		/* the key leaks, the victim re-registers its buffer */
		st->leaked = vi.rkey;
		st->rereg = true;
		int r = nic_dereg_mr(mr, victim_dereg_done, st);
		g_assert(r == 0);
		st->vmr = NULL;
		return;
	}
	if (st->cfg->attack != ATK_STALE_WINDOW)
		st->vkey = vi.rkey; /* leaked, or given (stale_dereg) */
	rdma_app_start(&st->app, st->cfg->attack == ATK_MR_CHURN ?
					 churn_cq : atk_client_cq,
		       atk_server_cq);
}

static void atk_begin(struct sim *sim, void *obj, uint64_t arg)
{
	(void)sim;
	(void)arg;
	struct atk_state *st = obj;
	struct rdma_side *s = &st->app.s;
	/* the service's PD, shared by its clients and their buffers */
	s->pd = nic_alloc_pd(s->host->nic);
	st->vpd = st->cfg->attack == ATK_OTHER_PD ? nic_alloc_pd(s->host->nic)
						  : s->pd;
	if (st->cfg->attack == ATK_MR_CHURN) {
		rdma_app_start(&st->app, churn_cq, atk_server_cq);
		return;
	}
	victim_register(st);
}
SIM_EVKIND(ev_atk_begin, "wl.attacker.begin", atk_begin);

static bool atk_create(struct workload *w, const struct workload_env *env,
		       GError **error)
{
	struct atk_config *cfg = w->cfg;
	struct atk_state *st = g_new0(struct atk_state, 1);
	w->priv = st;
	st->cfg = cfg;
	st->w = w;
	char *name = g_strdup_printf("wl.%s.keys", w->name);
	rng_init(&st->rng, w->sim->seed, name);
	g_free(name);
	bool churn = cfg->attack == ATK_MR_CHURN;
	const char *bad = NULL, *key = "msg_size";
	if (churn && cfg->msg_size > VMM_PAGE_SIZE)
		bad = "larger than a page (mr_churn writes it into each page)";
	else if (churn && cfg->size % VMM_PAGE_SIZE) {
		bad = "not a multiple of 4KiB (mr_churn touches whole pages)";
		key = "size";
	} else if (cfg->msg_size > cfg->size)
		bad = "larger than size (the attacker's buffer)";
	if (cfg->rc.iterations) {
		bad = "not an attacker's key (attempts bounds its probes)";
		key = "iterations";
	}
	if (bad) {
		char *where = scenario_where(env->sc, "workload", w->name,
					     key);
		g_set_error(error, CONFIG_ERROR, 0, "%s: [workload %s] %s: %s",
			    where, w->name, key, bad);
		g_free(where);
		return false;
	}
	st->nlanes = (unsigned)cfg->connections;
	st->lanes = g_new0(struct atk_lane, st->nlanes);
	st->app.nqp = st->nlanes;
	st->app.ready = atk_ready;
	rdma_app_qp_attr(&cfg->rc, &st->attr);
	if (cfg->attack == ATK_RNR_FLOOD)
		st->attr.rnr_retry = 0; /* each SEND fails at its RNR NAK */
	st->app.attr = &st->attr;
	uint64_t client_len = cfg->msg_size;
	if (!rdma_app_create(&st->app, w, env, &cfg->rc, client_len,
			     cfg->size, error))
		return false;
	struct rdma_side *s = &st->app.s;
	GError *e = NULL;
	if (churn) {
		for (unsigned l = 0; l < st->nlanes && !e; l++)
			st->lanes[l].churn_buf = vmm_mmap_anywhere(
				s->as, cfg->size, VMM_PROT_READ | VMM_PROT_WRITE,
				VMM_VMA_ANON, &e);
	} else {
		if (cfg->attack == ATK_OTHER_PD) {
			/* another process on the target */
			char *vn = g_strdup_printf("wl.%s.victim", w->name);
			st->vas = vmm_as_new(s->host->vmm, vn);
			g_free(vn);
		} else {
			st->vas = s->as;
		}
		st->vbuf = vmm_mmap_anywhere(st->vas, cfg->victim_size,
					     VMM_PROT_READ | VMM_PROT_WRITE,
					     VMM_VMA_ANON, &e);
		struct workload_reg *g = &w->res.regs[w->res.nregs++];
		g->side = "victim";
		g->host = s->host->name;
		g->policy = reg_policy_names[st->app.policy];
		g->addr = st->vbuf;
		g->length = cfg->victim_size;
		g->state = WL_REG_NOT_STARTED;
		st->vreg = g;
	}
	if (e) {
		char *where = scenario_where(env->sc, "workload", w->name,
					     churn ? "size" : "victim_size");
		g_set_error(error, CONFIG_ERROR, 0,
			    "%s: [workload %s]: buffer on host %s: %s", where,
			    w->name, s->host->name, e->message);
		g_free(where);
		g_error_free(e);
		return false;
	}
	if (st->vreg)
		st->vreg->fp = vmm_fp_range_get(
			vmm_fp_watch(st->vas, st->vbuf, cfg->victim_size));
	struct stats *stt = w->sim->stats;
	st->c_attempts = stats_counter(stt, "wl.%s.attempts", w->name);
	st->c_successes = stats_counter(stt, "wl.%s.successes", w->name);
	st->c_refusals = stats_counter(stt, "wl.%s.refusals", w->name);
	st->c_reconnects = stats_counter(stt, "wl.%s.reconnects", w->name);
	st->c_first_attempt =
		stats_counter(stt, "wl.%s.first_success_attempt", w->name);
	st->c_first_ps = stats_counter(stt, "wl.%s.first_success_ps", w->name);
	w->res.lat = stats_hist(stt, "wl.%s.lat_ps", w->name);
	w->res.msg_size = churn ? 0 : cfg->msg_size;
	w->res.refusals_expected = true;
	return true;
}

static void atk_start(struct workload *w)
{
	sim_schedule(w->sim, w->common.start, &ev_atk_begin, w->comp, w->priv,
		     0);
}

static void atk_destroy(struct workload *w)
{
	struct atk_state *st = w->priv;
	if (!st)
		return;
	rdma_app_destroy(&st->app);
	g_free(st->lanes);
	g_free(st);
}

const struct workload_ops attacker_ops = {
	.type = "attacker",
	.summary = "a misbehaving client: guesses keys, replays stale ones, "
		   "floods RNR NAKs, churns MRs",
	.params = &atk_table, .cfg_size = sizeof(struct atk_config),
	.create = atk_create, .start = atk_start, .destroy = atk_destroy,
};
