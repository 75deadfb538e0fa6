/*
 * tests/test_wire.c - links: goodput of a saturating sender against the
 * figure computed here from the header sizes, exact delivery time, full
 * duplex, loss statistics and determinism per seed, corruption, counters,
 * the parameter table; and a pcap of a short run over a link (every opcode,
 * both directions): global header and records parsed back in C and, when
 * tshark is installed, every record dissected as InfiniBand with the right
 * fields and no malformed packet or error.  The frame format itself is
 * tested in test_pcap.c.
 */
#include <check.h>
#include <glib.h>
#include <unistd.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nic/packet.h"
#include "nic/pcap.h"
#include "sim/outfile.h"
#include "tests/pkt_fixtures.h"
#include "nic/wire.h"
#include "sim/config.h"
#include "sim/sim.h"
#include "sim/stats.h"

static struct link_config link_defaults(void)
{
	struct link_config c;
	memset(&c, 0, sizeof(c));
	config_defaults(&link_params, &c);
	return c;
}

/* ---- a saturating sender and a counting receiver ---- */

struct rig {
	struct sim *sim;
	struct pkt_pool pool;
	struct link *link;
	uint16_t comp;
	uint64_t to_send, sent;
	uint8_t opcode;
	uint32_t payload;
	/* receiver */
	uint64_t got, got_bytes, got_corrupted;
	sim_time_t first_rx, last_rx;
	uint64_t got_from[2];
};

static void rig_rx(void *ctx, struct pkt *p)
{
	struct rig *r = ctx;
	if (r->got == 0)
		r->first_rx = sim_now(r->sim);
	r->last_rx = sim_now(r->sim);
	r->got++;
	r->got_from[p->src_host]++;
	if (p->corrupted)
		r->got_corrupted++;
	else
		r->got_bytes += p->payload_len;
	pkt_free(&r->pool, p);
}

static void rig_send(struct sim *sim, void *obj, uint64_t end);
SIM_EVKIND(ev_rig_send, "test.send", rig_send);

static void rig_send(struct sim *sim, void *obj, uint64_t end)
{
	struct rig *r = obj;
	if (r->sent == r->to_send)
		return;
	ck_assert_uint_le(link_free_at(r->link, (unsigned)end), sim_now(sim));
	struct pkt *p = pkt_alloc(&r->pool);
	p->opcode = r->opcode;
	p->payload_len = r->payload;
	p->psn = (uint32_t)r->sent & PSN_MASK;
	p->dqpn = 0x11;
	r->sent++;
	sim_time_t next = link_transmit(r->link, (unsigned)end, p);
	sim_schedule(sim, next, &ev_rig_send, r->comp, r, end);
}

static void rig_init(struct rig *r, uint64_t seed, const struct link_config *c,
		     uint8_t opcode, uint32_t payload, uint64_t n)
{
	memset(r, 0, sizeof(*r));
	r->sim = sim_new(seed);
	r->comp = sim_component_add(r->sim, "test");
	r->link = link_new(r->sim, "ab", c, &r->pool);
	link_attach(r->link, 0, 0, rig_rx, r);
	link_attach(r->link, 1, 1, rig_rx, r);
	r->opcode = opcode;
	r->payload = payload;
	r->to_send = n;
}

static void rig_done(struct rig *r)
{
	ck_assert_uint_eq(r->pool.in_use, 0);
	link_free(r->link);
	pkt_pool_destroy(&r->pool);
	sim_free(r->sim);
}

/* RDMA WRITE MIDDLE with 4 KiB: Ethernet 14 + IPv4 20 + UDP 8 + BTH 12 +
 * payload 4096 + ICRC 4 + FCS 4, plus preamble/SFD 8 and IFG 12. */
#define WM_OVERHEAD (14 + 20 + 8 + 12 + 4 + 4 + 8 + 12)

START_TEST(test_goodput)
{
	struct link_config c = link_defaults();
	ck_assert_uint_eq(c.rate_bps, 100000000000ULL);
	struct rig r;
	const uint64_t n = 20000;
	rig_init(&r, 1, &c, IB_WRITE_MIDDLE, 4096, n);
	sim_schedule(r.sim, 0, &ev_rig_send, r.comp, &r, 0);
	sim_run(r.sim);
	ck_assert_uint_eq(r.got, n);
	/* payload delivered over the time the sender was transmitting */
	double secs = sim_time_to_s(r.last_rx - link_delay(r.link));
	double goodput = (double)r.got_bytes * 8 / secs;
	double want = 4096.0 / (4096 + WM_OVERHEAD) * 100e9;
	ck_assert_msg(fabs(goodput / want - 1) < 1e-3,
		      "goodput %.6g b/s, expected %.6g", goodput, want);
	printf("wire goodput: %.4f Gb/s measured, %.4f Gb/s expected "
	       "(4096/%d x 100 Gb/s)\n",
	       goodput / 1e9, want / 1e9, 4096 + WM_OVERHEAD);
	/* counters */
	ck_assert_uint_eq(stats_get(r.sim->stats, "ab.wire.packets"), n);
	ck_assert_uint_eq(stats_get(r.sim->stats, "ab.wire.bytes"),
			  n * (4096 + WM_OVERHEAD));
	ck_assert_uint_eq(stats_get(r.sim->stats, "ab.wire.busy_ps"),
			  r.last_rx - link_delay(r.link));
	ck_assert_uint_eq(stats_get(r.sim->stats, "ab.wire.lost"), 0);
	rig_done(&r);
}
END_TEST

START_TEST(test_delivery_time_exact)
{
	struct link_config c = link_defaults();
	c.delay = 777 * SIM_NS + 3;
	struct rig r;
	rig_init(&r, 1, &c, IB_SEND_ONLY, 100, 1);
	const sim_time_t t0 = 1234567;
	sim_schedule(r.sim, t0, &ev_rig_send, r.comp, &r, 1);
	sim_run(r.sim);
	ck_assert_uint_eq(r.got, 1);
	/* 14 + 20 + 8 + 12 + 100 + 4 + 4 = 162 frame bytes, + 20 */
	sim_time_t ser = sim_xfer_ps(182, c.rate_bps);
	ck_assert_uint_eq(ser, 14560);
	ck_assert_uint_eq(r.first_rx, t0 + ser + c.delay);
	ck_assert_uint_eq(link_free_at(r.link, 1), t0 + ser);
	ck_assert_uint_eq(link_free_at(r.link, 0), 0);
	ck_assert_uint_eq(r.got_from[1], 1); /* src_host set from the end */
	rig_done(&r);
}
END_TEST

/* Both ends transmit at once at full rate: the directions are
 * independent. */
START_TEST(test_full_duplex)
{
	struct link_config c = link_defaults();
	struct rig r;
	rig_init(&r, 1, &c, IB_WRITE_MIDDLE, 4096, 2000);
	sim_schedule(r.sim, 0, &ev_rig_send, r.comp, &r, 0);
	sim_schedule(r.sim, 0, &ev_rig_send, r.comp, &r, 1);
	sim_run(r.sim);
	ck_assert_uint_eq(r.got, 2000);
	ck_assert_uint_eq(r.got_from[0], 1000);
	ck_assert_uint_eq(r.got_from[1], 1000);
	sim_time_t ser = sim_xfer_ps(4096 + WM_OVERHEAD, c.rate_bps);
	ck_assert_uint_eq(r.last_rx, 1000 * ser + c.delay);
	ck_assert_uint_eq(stats_get(r.sim->stats, "ab.wire.busy_ps"),
			  2000 * ser);
	rig_done(&r);
}
END_TEST

static uint64_t run_lossy(uint64_t seed, uint64_t n, double loss,
			  double corrupt, uint64_t *corrupted)
{
	struct link_config c = link_defaults();
	c.loss = loss;
	c.corrupt = corrupt;
	struct rig r;
	rig_init(&r, seed, &c, IB_ACK, 0, n);
	sim_schedule(r.sim, 0, &ev_rig_send, r.comp, &r, 0);
	sim_run(r.sim);
	uint64_t lost = stats_get(r.sim->stats, "ab.wire.lost");
	ck_assert_uint_eq(r.got + lost, n);
	ck_assert_uint_eq(r.got_corrupted,
			  stats_get(r.sim->stats, "ab.wire.corrupted"));
	if (corrupted)
		*corrupted = r.got_corrupted;
	rig_done(&r);
	return lost;
}

START_TEST(test_loss_statistics)
{
	const uint64_t n = 1000000;
	const double p = 1e-3;
	uint64_t lost = run_lossy(42, n, p, 0, NULL);
	double mean = n * p, sd = sqrt(n * p * (1 - p));
	printf("wire loss: %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
	       " lost (expected %.0f +- %.1f)\n",
	       lost, n, mean, sd);
	ck_assert_msg(fabs((double)lost - mean) < 5 * sd,
		      "%" G_GUINT64_FORMAT " lost, expected %.0f +- 5 x %.1f",
		      lost, mean, sd);
}
END_TEST

START_TEST(test_loss_deterministic)
{
	const uint64_t n = 30000;
	uint64_t a = run_lossy(7, n, 1e-2, 0, NULL);
	uint64_t b = run_lossy(7, n, 1e-2, 0, NULL);
	uint64_t c = run_lossy(8, n, 1e-2, 0, NULL);
	ck_assert_uint_eq(a, b);
	ck_assert_uint_ne(a, c);
}
END_TEST

START_TEST(test_corruption)
{
	uint64_t corrupted;
	uint64_t lost = run_lossy(3, 10000, 0, 0.5, &corrupted);
	ck_assert_uint_eq(lost, 0);
	ck_assert_uint_gt(corrupted, 4700);
	ck_assert_uint_lt(corrupted, 5300);
}
END_TEST

START_TEST(test_config)
{
	const char *ini = "[link ab]\nends = a  b\nrate = 25Gbps\n"
			  "delay = 1us\nloss = 0.01\n";
	GError *err = NULL;
	struct scenario *sc = scenario_load_data(ini, "t.ini", &err);
	ck_assert_ptr_nonnull(sc);
	struct link_config c;
	memset(&c, 0, sizeof(c));
	config_defaults(&link_params, &c);
	ck_assert(config_fill(sc, &link_params, &c, "link", "ab", &err));
	ck_assert_uint_eq(c.rate_bps, 25000000000ULL);
	ck_assert_uint_eq(c.delay, SIM_US);
	ck_assert(c.loss == 0.01);
	ck_assert_uint_eq(c.pcap_snaplen, 65535); /* whole frames */
	char *a, *b;
	ck_assert(link_parse_ends(c.ends, &a, &b, &err));
	ck_assert_str_eq(a, "a");
	ck_assert_str_eq(b, "b");
	g_free(a);
	g_free(b);
	config_free(&link_params, &c);
	scenario_free(sc);
	ck_assert(!link_parse_ends("a", &a, &b, &err));
	g_clear_error(&err);
	ck_assert(!link_parse_ends("a b c", &a, &b, &err));
	g_clear_error(&err);
	ck_assert(!link_parse_ends("a a", &a, &b, &err));
	g_clear_error(&err);
	/* ends is required */
	sc = scenario_load_data("[link ab]\nrate = 10Gbps\n", "t.ini", &err);
	memset(&c, 0, sizeof(c));
	config_defaults(&link_params, &c);
	ck_assert(!config_fill(sc, &link_params, &c, "link", "ab", &err));
	ck_assert_ptr_nonnull(strstr(err->message, "ends"));
	g_clear_error(&err);
	config_free(&link_params, &c);
	scenario_free(sc);
	/* loss out of range */
	sc = scenario_load_data("[link ab]\nends = a b\nloss = 2\n", "t.ini",
				&err);
	memset(&c, 0, sizeof(c));
	config_defaults(&link_params, &c);
	ck_assert(!config_fill(sc, &link_params, &c, "link", "ab", &err));
	g_clear_error(&err);
	config_free(&link_params, &c);
	scenario_free(sc);
	for (unsigned i = 0; i < link_params.n; i++)
		ck_assert(link_params.params[i].source[0]);
}
END_TEST

/* ---- pcap ---- */

struct pcap_rec {
	uint32_t sec, nsec, caplen, len;
};

/* Parse @path back; returns the number of records, checks the global
 * header and every record's lengths. */
static unsigned pcap_parse(const char *path, uint32_t snaplen,
			   const uint32_t *want_len)
{
	gchar *data;
	gsize size;
	ck_assert(g_file_get_contents(path, &data, &size, NULL));
	ck_assert_uint_ge(size, 24);
	uint32_t magic, snap, link;
	uint16_t major, minor;
	memcpy(&magic, data, 4);
	memcpy(&major, data + 4, 2);
	memcpy(&minor, data + 6, 2);
	memcpy(&snap, data + 16, 4);
	memcpy(&link, data + 20, 4);
	ck_assert_uint_eq(magic, 0xa1b23c4du);
	ck_assert_uint_eq(major, 2);
	ck_assert_uint_eq(minor, 4);
	ck_assert_uint_eq(snap, snaplen ? snaplen : PCAP_HEADERS_SNAPLEN);
	ck_assert_uint_eq(link, 1);
	gsize off = 24;
	unsigned n = 0;
	uint64_t last_ns = 0;
	while (off < size) {
		struct pcap_rec r;
		ck_assert_uint_le(off + 16, size);
		memcpy(&r, data + off, 16);
		off += 16;
		ck_assert_uint_lt(r.nsec, 1000000000u);
		uint64_t ns = (uint64_t)r.sec * 1000000000u + r.nsec;
		ck_assert_uint_ge(ns, last_ns);
		last_ns = ns;
		ck_assert_uint_le(r.caplen, r.len);
		ck_assert_uint_le(r.caplen, snap);
		if (snaplen) /* a snap length keeps exactly that much */
			ck_assert_uint_eq(r.caplen, MIN(snaplen, r.len));
		if (want_len)
			ck_assert_uint_eq(r.len, want_len[n]);
		ck_assert_uint_le(off + r.caplen, size);
		off += r.caplen;
		n++;
	}
	g_free(data);
	return n;
}

/* Run tshark; returns its stdout (NULL when not installed). */
static char *tshark(const char *args)
{
	char *exe = g_find_program_in_path("tshark");
	if (!exe)
		return NULL;
	char *cmd = g_strdup_printf("%s %s", exe, args);
	char *out = NULL, *err = NULL;
	gint status = 0;
	GError *e = NULL;
	gboolean ok = g_spawn_command_line_sync(cmd, &out, &err, &status, &e);
	ck_assert_msg(ok, "%s: %s", cmd, e ? e->message : "?");
	ck_assert_msg(g_spawn_check_wait_status(status, NULL), "%s failed: %s",
		      cmd, err);
	g_free(err);
	g_free(cmd);
	g_free(exe);
	return out;
}

/* A short run over a link with a pcap: every opcode in both directions,
 * one packet every microsecond. */
struct pcap_run {
	struct rig r;
	uint32_t *lens;
};

static void pcap_run_send(struct sim *sim, void *obj, uint64_t k);
SIM_EVKIND(ev_pcap_send, "test.pcap_send", pcap_run_send);

static void pcap_run_send(struct sim *sim, void *obj, uint64_t k)
{
	(void)sim;
	struct pcap_run *pr = obj;
	struct pkt *p = pkt_alloc(&pr->r.pool);
	fill_pkt(p, all_opcodes[k / 2], (unsigned)(k / 2));
	pr->lens[k] = pkt_frame_bytes(p) - WIRE_FCS;
	link_transmit(pr->r.link, (unsigned)(k % 2), p);
}

static void write_pcap(const char *path, uint32_t snaplen, uint32_t *lens)
{
	struct link_config c = link_defaults();
	struct pcap_run pr = { .lens = lens };
	const unsigned n = 2 * G_N_ELEMENTS(all_opcodes);
	rig_init(&pr.r, 1, &c, 0, 0, 0);
	GError *err = NULL;
	struct outfile *of = outfile_open(path, &err);
	ck_assert_msg(of != NULL, "%s", err ? err->message : "");
	struct pcap_writer *w = pcap_open(outfile_stream(of), snaplen);
	link_set_pcap(pr.r.link, w);
	for (unsigned k = 0; k < n; k++)
		sim_schedule(pr.r.sim, (k / 2 + 1) * SIM_US, &ev_pcap_send,
			     pr.r.comp, &pr, k);
	sim_run(pr.r.sim);
	ck_assert_uint_eq(pr.r.got, n);
	ck_assert_uint_eq(pcap_records(w), n);
	pcap_close(w);
	ck_assert_msg(outfile_commit(of, &err), "%s", err ? err->message : "");
	rig_done(&pr.r);
}

static void check_pcap(uint32_t snaplen)
{
	char *dir = g_dir_make_tmp("odpsim-pcap-XXXXXX", NULL);
	char *path = g_build_filename(dir, "ab.pcap", NULL);
	uint32_t lens[2 * G_N_ELEMENTS(all_opcodes)];
	write_pcap(path, snaplen, lens);
	ck_assert_uint_eq(pcap_parse(path, snaplen, lens), G_N_ELEMENTS(lens));

	char *q = g_shell_quote(path);
	char *args = g_strdup_printf(
		"-r %s -Y \"_ws.malformed || _ws.expert.severity >= error\"", q);
	char *bad = tshark(args);
	g_free(args);
	if (!bad) {
		printf("SKIP tshark check (tshark not on PATH)\n");
	} else {
		ck_assert_msg(bad[0] == '\0', "tshark flags packets:\n%s", bad);
		g_free(bad);
		/* every record dissects as InfiniBand with our fields */
		args = g_strdup_printf(
			"-r %s -T fields -E separator=, -E occurrence=f "
			"-e infiniband.bth.opcode "
			"-e infiniband.bth.psn -e infiniband.bth.destqp "
			"-e infiniband.bth.padcnt -e infiniband.reth.dmalen "
			"-e infiniband.aeth.msn -e infiniband.invariant.crc "
			"-e infiniband.atomiceth.swapdt "
			"-e infiniband.atomiceth.cmpdt "
			"-e infiniband.atomicacketh.origremdt -e infiniband.ieth",
			q);
		char *out = tshark(args);
		g_free(args);
		gchar **lines = g_strsplit(out, "\n", -1);
		unsigned k = 0;
		for (unsigned i = 0; i < G_N_ELEMENTS(all_opcodes); i++) {
			for (unsigned end = 0; end < 2; end++, k++) {
				struct pkt p;
				memset(&p, 0, sizeof(p));
				fill_pkt(&p, all_opcodes[i], i);
				ck_assert_ptr_nonnull(lines[k]);
				gchar **f = g_strsplit(lines[k], ",", -1);
				ck_assert_uint_ge(g_strv_length(f), 11);
				ck_assert_msg(strtoul(f[0], NULL, 0) == p.opcode,
					      "record %u: opcode %s, want %u", k,
					      f[0], p.opcode);
				ck_assert_uint_eq(strtoul(f[1], NULL, 0), p.psn);
				ck_assert_uint_eq(strtoul(f[2], NULL, 0),
						  p.dqpn);
				ck_assert_uint_eq(strtoul(f[3], NULL, 0), p.pad);
				if (ib_opcode_has_reth(p.opcode))
					ck_assert_uint_eq(
						strtoul(f[4], NULL, 0), 8192);
				if (ib_opcode_has_aeth(p.opcode))
					ck_assert_uint_eq(
						strtoul(f[5], NULL, 0), p.msn);
				/* AtomicETH, AtomicAckETH and IETH (IBA 9.3.4,
				 * 9.3.6, 9.3.9) decode to what was sent */
				if (ib_opcode_has_atomic_eth(p.opcode)) {
					ck_assert_uint_eq(g_ascii_strtoull(
								  f[7], NULL, 0),
							  p.swap_add);
					ck_assert_uint_eq(g_ascii_strtoull(
								  f[8], NULL, 0),
							  p.compare);
				}
				if (ib_opcode_has_atomic_ack_eth(p.opcode))
					ck_assert_uint_eq(
						g_ascii_strtoull(f[9], NULL, 0),
						p.atomic_orig);
				if (ib_opcode_has_ieth(p.opcode))
					ck_assert_uint_eq( /* hex, no 0x */
						strtoul(f[10], NULL, 16),
						p.inv_rkey);
				/* ICRC captured: whole frame, or no payload */
				if (snaplen == 65535 || !p.payload_len)
					ck_assert(f[6][0] != '\0');
				g_strfreev(f);
			}
		}
		g_strfreev(lines);
		g_free(out);
	}
	g_free(q);
	unlink(path);
	rmdir(dir);
	g_free(path);
	g_free(dir);
}

START_TEST(test_pcap_headers_only)
{
	check_pcap(0);
}
END_TEST

START_TEST(test_pcap_full_frames)
{
	check_pcap(65535);
}
END_TEST


static Suite *wire_suite(void)
{
	Suite *s = suite_create("wire");
	TCase *tc = tcase_create("link");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_goodput);
	tcase_add_test(tc, test_delivery_time_exact);
	tcase_add_test(tc, test_full_duplex);
	tcase_add_test(tc, test_loss_statistics);
	tcase_add_test(tc, test_loss_deterministic);
	tcase_add_test(tc, test_corruption);
	tcase_add_test(tc, test_config);
	suite_add_tcase(s, tc);
	tc = tcase_create("pcap");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_pcap_headers_only);
	tcase_add_test(tc, test_pcap_full_frames);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(wire_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
