/*
 * tests/nic_harness.h - two hosts joined by a link, a connected RC QP pair
 * with a registered buffer on each side, driven through the verbs-like
 * API; shared by the NIC and ODP suites.
 */
#ifndef TESTS_NIC_HARNESS_H
#define TESTS_NIC_HARNESS_H

#include <check.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "nic/driver.h"
#include "nic/host.h"
#include "nic/nic.h"
#include "nic/packet.h"
#include "nic/pcie.h"
#include "sim/stats.h"
#include "sim/system/system.h"
#include "vmm/vmm.h"

static inline char *harness_write_tmp(const char *text)
{
	char *path = NULL;
	int fd = g_file_open_tmp("odpsim-test-XXXXXX.ini", &path, NULL);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert(g_file_set_contents(path, text, -1, NULL));
	return path;
}

/* A PCIe transaction on an idle link with the default [pcie] parameters
 * (@op 0: DMA read, 1: DMA write, 2: MMIO write): what the expectation of a
 * test adds for it. */
static inline sim_time_t harness_fresh_pcie(int op, uint64_t bytes)
{
	struct pcie_config pc;
	config_defaults(&pcie_params, &pc);
	struct sim *sim = sim_new(1);
	struct pcie *x = pcie_new(sim, "t", &pc);
	sim_time_t r = op == 0 ? pcie_dma_read(x, bytes) :
		       op == 1 ? pcie_dma_write(x, bytes) :
				 pcie_mmio_write(x, bytes);
	pcie_free(x);
	sim_free(sim);
	return r;
}

/* mlx5r_umr_update_mr_pas(): the UMRs that load @entries MTT entries
 * (8 B each, in 64 B blocks, at most MLX5_MAX_UMR_CHUNK = 1 MiB - 64 B
 * each), posted one after the other on an idle link, each @umr_time plus
 * the NIC's read of its table: the time they take. */
static inline sim_time_t harness_umr_chain(sim_time_t umr_time,
					   uint64_t entries)
{
	uint64_t bytes = (entries * 8 + 63) & ~63ULL;
	const uint64_t chunk = (1ULL << 20) - 64;
	sim_time_t t = 0;
	do {
		uint64_t n = bytes < chunk ? bytes : chunk;
		t += umr_time + (n ? harness_fresh_pcie(0, n) : 0);
		bytes -= n;
	} while (bytes);
	return t;
}

static inline struct system *harness_build(const char *text)
{
	char *path = harness_write_tmp(text);
	struct run_options opt = { 0 };
	bool io;
	GError *e = NULL;
	struct system *sys = system_build(path, &opt, &io, &e);
	ck_assert_msg(sys, "%s", e ? e->message : "");
	g_unlink(path);
	g_free(path);
	return sys;
}

struct harness_cq_ctx {
	GArray *wc, *time;
	struct sim *sim;
};

struct pair {
	struct system *sys;
	struct sim *sim;
	struct host *h[2];
	struct vmm_as *as[2];
	struct nic_pd *pd[2];
	struct nic_cq *cq[2];
	struct nic_qp *qp[2];
	struct nic_mr *mr[2];
	struct nic_mr_info mi[2];
	uint64_t buf[2];
	GArray *wc[2]; /* completions seen, in order */
	GArray *wc_time[2]; /* when each was polled */
	struct harness_cq_ctx cqc[2];
};

static inline void harness_reg_cb(void *ctx, struct nic_mr *mr, int status)
{
	ck_assert_int_eq(status, 0);
	*(struct nic_mr **)ctx = mr;
}

static inline void harness_cq_cb(void *ctx, struct nic_cq *cq)
{
	struct harness_cq_ctx *c = ctx;
	struct nic_wc wc[32];
	int n;
	while ((n = nic_poll_cq(cq, wc, 32)) > 0) {
		g_array_append_vals(c->wc, wc, (guint)n);
		sim_time_t now = sim_now(c->sim);
		for (int i = 0; i < n; i++)
			g_array_append_val(c->time, now);
	}
}

static const struct nic_qp_attr harness_attr = {
	.path_mtu = 4096, .timeout = 10, .retry_cnt = 7, .rnr_retry = 7,
	.min_rnr_timer = 1, .max_rd_atomic = 16,
};

/*
 * Hosts a and b (256 MiB each) and link ab, plus @extra scenario text;
 * buffers of @buflen registered under @policy[0] (a) and @policy[1] (b).
 */
static inline void pair_setup2(struct pair *p, const char *extra,
			       const struct nic_qp_attr *attr, uint64_t buflen,
			       const int policy[2])
{
	char *text = g_strdup_printf(
		"[sim]\nduration = 10s\n[host a]\nmemory = 256MiB\n"
		"[host b]\nmemory = 256MiB\n[link ab]\nends = a b\n%s\n",
		extra ? extra : "");
	memset(p, 0, sizeof(*p));
	p->sys = harness_build(text);
	g_free(text);
	p->sim = system_sim(p->sys);
	const char *names[2] = { "a", "b" };
	for (int i = 0; i < 2; i++) {
		p->h[i] = system_host(p->sys, names[i]);
		p->as[i] = vmm_as_new(p->h[i]->vmm, "test");
		p->buf[i] = vmm_mmap_anywhere(p->as[i], buflen,
					      VMM_PROT_READ | VMM_PROT_WRITE,
					      VMM_VMA_ANON, NULL);
		p->pd[i] = nic_alloc_pd(p->h[i]->nic);
		p->wc[i] = g_array_new(FALSE, FALSE, sizeof(struct nic_wc));
		p->wc_time[i] = g_array_new(FALSE, FALSE, sizeof(sim_time_t));
		struct harness_cq_ctx *c = &p->cqc[i];
		c->wc = p->wc[i];
		c->time = p->wc_time[i];
		c->sim = p->sim;
		p->cq[i] = nic_create_cq(p->h[i]->nic, 1 << 16, harness_cq_cb,
					 c);
		p->qp[i] = nic_create_qp(p->pd[i], p->cq[i], p->cq[i], 4096,
					 4096);
		nic_reg_mr(p->pd[i], p->as[i], p->buf[i], buflen,
			   NIC_ACCESS_LOCAL_WRITE | NIC_ACCESS_REMOTE_WRITE |
				   NIC_ACCESS_REMOTE_READ,
			   policy ? policy[i] : REG_PIN, harness_reg_cb,
			   &p->mr[i]);
	}
	sim_run_until(p->sim, sim_now(p->sim) + 200 * SIM_MS);
	for (int i = 0; i < 2; i++) {
		ck_assert_ptr_nonnull(p->mr[i]);
		nic_mr_info(p->mr[i], &p->mi[i]);
	}
	GError *e = NULL;
	ck_assert(nic_connect(p->qp[0], p->qp[1], attr ? attr : &harness_attr,
			      &e));
}

/* Faults and moves without jitter or huge pages, RNR waits of exactly the
 * IBA table value: exact timings. */
#define ODP_SCENARIO \
	"[vmm]\nfault_jitter = 0\nhuge_pages = false\n[nic]\nrnr_timer = iba\n"

/*
 * a (pinned) and b (suspend policy) with 64 KiB buffers; b's VMM copies
 * at 100 Mb/s, so a moved page stays suspended for 328 us, time to act
 * while it is.  @extra: more scenario text.
 */
static inline void suspend_pair_setup(struct pair *p, const char *extra)
{
	static const int pol[2] = { REG_PIN, REG_SUSPEND };
	char *text = g_strdup_printf(
		ODP_SCENARIO "[vmm b]\ncopy_bandwidth = 100Mbps\n%s",
		extra ? extra : "");
	pair_setup2(p, text, NULL, 64 << 10, pol);
	g_free(text);
}

/* Start moving page @page of b's buffer (suspended until the copy ends);
 * returns the frame it leaves. */
static inline uint64_t suspend_pair_move(struct pair *p, unsigned page,
					 vmm_move_done_fn done, void *ctx)
{
	uint64_t pfn;
	ck_assert(vmm_page_frame(p->as[1], p->buf[1] + (uint64_t)page * 4096,
				 &pfn));
	ck_assert(vmm_move_frame(p->h[1]->vmm, pfn, -1,
				 VMM_REASON_MOVE_COMPACTION, done, ctx));
	return pfn;
}

static inline void pair_setup(struct pair *p, const char *extra,
			      const struct nic_qp_attr *attr, uint64_t buflen)
{
	pair_setup2(p, extra, attr, buflen, NULL);
}

static inline void pair_free(struct pair *p)
{
	for (int i = 0; i < 2; i++) {
		g_array_free(p->wc[i], TRUE);
		g_array_free(p->wc_time[i], TRUE);
	}
	system_free(p->sys);
}

static inline uint64_t counter(struct pair *p, const char *name)
{
	return stats_get(p->sim->stats, name);
}

static inline struct nic_send_wr wr_of(struct pair *p, int from, uint64_t id,
				       enum nic_wr_opcode op, uint64_t off,
				       uint32_t len)
{
	struct nic_send_wr wr = {
		.wr_id = id, .opcode = op,
		.sge = { p->buf[from] + off, len, p->mi[from].lkey },
		.signaled = true, .imm = (uint32_t)id,
		.remote_addr = p->buf[1 - from] + off,
		.rkey = p->mi[1 - from].rkey,
	};
	return wr;
}

/* Bytes a packet of @opcode with @payload occupies on the link. */
static inline uint32_t wire_bytes_of(uint8_t opcode, uint32_t payload)
{
	struct pkt p = { .opcode = opcode, .payload_len = payload };
	return pkt_wire_bytes(&p);
}

#endif
