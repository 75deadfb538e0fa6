/*
 * workloads/rdma_app.h - what every RDMA application model shares: an
 * address space and buffers on each host, MR registration on both sides,
 * connected RC QP pairs (one by default; `qps` of the bandwidth tests sets
 * more, as perftest -q does), perftest-style figures.
 *
 * Representation: each side has one PD, one CQ shared by all its QPs (as
 * perftest's single send CQ), one MR over its buffer, and an array of
 * nqp QPs; QP i of the client is connected to QP i of the server.  The
 * QPs are created in index order on each side, client side first, so one
 * pair creates exactly what the single-QP model always did.
 */
#ifndef WORKLOADS_RDMA_APP_H
#define WORKLOADS_RDMA_APP_H

#include "nic/nic.h"
#include "workloads/workload.h"

/* QP and buffer keys every RDMA workload has. */
struct rdma_common {
	char *client, *server;
	uint64_t mtu;          /* path MTU in bytes */
	uint64_t timeout;      /* IBA 5-bit local ACK timeout code */
	uint64_t retry_cnt, rnr_retry, min_rnr_timer, max_rd_atomic;
	uint64_t iterations;   /* 0: until the run ends */
	char *policy;          /* "": the run's registration policy */
	char *server_policy;   /* "": policy */
	bool implicit_odp;     /* server registers its whole address space */
	bool populate;         /* buffers written before registration */
};

/* @pop: the populate default of the workload type, @pop_src its source */
#define RDMA_COMMON_PARAMS(type, pop, pop_src)                                \
	{ "client", PT_STRING, NULL, offsetof(type, rc.client),              \
	  "host that posts the work requests", "", NULL, 0, 0 },             \
	{ "server", PT_STRING, NULL, offsetof(type, rc.server),              \
	  "host that owns the remote buffer", "", NULL, 0, 0 },              \
	{ "mtu", PT_SIZE, "4KiB", offsetof(type, rc.mtu),                    \
	  "path MTU (256B..4KiB, a power of two)", "RoCE maximum",           \
	  NULL, 256, 4096 },                                                 \
	{ "timeout", PT_COUNT, "14", offsetof(type, rc.timeout),             \
	  "local ACK timeout code: 4.096us * 2^timeout (0: none)",          \
	  "perftest default", NULL, 0, 31 },                                 \
	{ "retry_cnt", PT_COUNT, "7", offsetof(type, rc.retry_cnt),          \
	  "transport retries before IBV_WC_RETRY_EXC_ERR", "perftest "       \
	  "default", NULL, 0, 7 },                                           \
	{ "rnr_retry", PT_COUNT, "7", offsetof(type, rc.rnr_retry),          \
	  "RNR retries before IBV_WC_RNR_RETRY_EXC_ERR (7: infinite)",      \
	  "perftest default", NULL, 0, 7 },                                  \
	{ "min_rnr_timer", PT_COUNT, "12", offsetof(type, rc.min_rnr_timer), \
	  "RNR NAK timer code the responder sends (IBA table: 12 = "         \
	  "0.64 ms, 1 = 0.01 ms)", "perftest default", NULL, 0, 31 },       \
	{ "max_rd_atomic", PT_COUNT, "16", offsetof(type, rc.max_rd_atomic), \
	  "RDMA READs outstanding per QP", "ConnectX limit", NULL, 1, 255 }, \
	{ "iterations", PT_COUNT, "0", offsetof(type, rc.iterations),        \
	  "operations to complete, then stop (0: run until the end)", "",    \
	  NULL, 0, 1e15 },                                                   \
	{ "policy", PT_STRING, "", offsetof(type, rc.policy),                \
	  "registration policy of this workload's MRs (empty: the run's, "   \
	  "--policy / [sim] policy)", "", NULL, 0, 0 },                      \
	{ "server_policy", PT_STRING, "", offsetof(type, rc.server_policy),  \
	  "registration policy of the server's MR alone (empty: policy), "   \
	  "e.g. a pinned client and an on-demand server", "", NULL, 0, 0 },  \
	{ "implicit_odp", PT_BOOL, "false", offsetof(type, rc.implicit_odp), \
	  "under an on-demand policy the server registers one implicit ODP " \
	  "MR over its whole address space (under pin: its region)", "",     \
	  NULL, 0, 0 },                                                      \
	{ "populate", PT_BOOL, pop, offsetof(type, rc.populate),             \
	  "both sides write their buffers before registering them "          \
	  "(MAP_POPULATE / memset: every page faulted in, charged before "   \
	  "the registration starts and reported apart from it); false: "     \
	  "fresh memory, whose first touch a pinning registration pays",     \
	  pop_src, NULL, 0, 0 }

struct rdma_side {
	struct rdma_app *app;
	int policy;         /* its registration policy */
	struct workload_reg *reg; /* its record in the workload's result */
	struct host *host;
	struct vmm_as *as;
	uint64_t buf;       /* virtual address */
	uint64_t len;
	struct nic_pd *pd;
	struct nic_mr *mr;
	struct nic_cq *cq;
	struct nic_qp *qp;   /* qps[0] */
	struct nic_qp **qps; /* app->nqp of them */
};

struct rdma_app {
	struct workload *w;
	struct rdma_side c, s; /* client, server */
	const struct rdma_common *rc;
	int policy;
	int server_policy; /* policy, unless server_policy says */
	unsigned nqp;   /* QP pairs (0 is taken as 1) */
	bool implicit;  /* the server's MR is implicit ODP */
	unsigned pending_regs;
	void (*ready)(struct rdma_app *app); /* both MRs registered, QPs up */
	const struct nic_qp_attr *attr; /* NULL: rdma_app_qp_attr() of rc */
	bool failed;
};

/* Resolve hosts, map buffers of @client_len / @server_len bytes. */
bool rdma_app_create(struct rdma_app *app, struct workload *w,
		     const struct workload_env *env,
		     const struct rdma_common *rc, uint64_t client_len,
		     uint64_t server_len, GError **error);
/* Register both MRs, create CQs and QPs, connect, then call ready().  A
 * side's PD is allocated here unless the workload set it before. */
void rdma_app_start(struct rdma_app *app, nic_cq_notify_fn client_cq,
		    nic_cq_notify_fn server_cq);
/* The QP attributes of @rc's keys. */
void rdma_app_qp_attr(const struct rdma_common *rc, struct nic_qp_attr *attr);
/* A new connection on the same PDs and CQs, as a client makes after its
 * QPs went to the error state: *@client and *@server, connected. */
void rdma_app_reconnect(struct rdma_app *app, struct nic_qp **client,
			struct nic_qp **server, const struct nic_qp_attr *attr);
/* Free what rdma_app_start() allocated (the QPs belong to their NIC). */
void rdma_app_destroy(struct rdma_app *app);
/* Record a completed operation of @bytes that took @lat. */
void rdma_app_done(struct rdma_app *app, uint64_t bytes, sim_time_t lat,
		   bool ok);

#endif
