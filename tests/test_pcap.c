/*
 * tests/test_pcap.c - RoCEv2 frame synthesis: the ICRC against a packet
 * captured from real hardware, header fields and lengths of every opcode,
 * small SENDs under tshark, and I/O errors.  Pcaps of links are tested in
 * test_wire.c.
 */
#include <check.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nic/packet.h"
#include "nic/pcap.h"
#include "sim/outfile.h"
#include "tests/pkt_fixtures.h"

/* A RoCEv2 CNP captured from a ConnectX-4 Lx (published in scapy's RoCE
 * tests, test/contrib/roce.uts): Ethernet, IPv4 with TOS 0xc2 and TTL 64,
 * UDP, BTH opcode 0x81, 16 reserved bytes, ICRC 82 fd 00 2a. */
static const uint8_t cnp_frame[] = {
	0xe4, 0x1d, 0x2d, 0xab, 0x2b, 0xc2, 0x7c, 0xfe, 0x90, 0x64, 0x3b,
	0x32, 0x08, 0x00, 0x45, 0xc2, 0x00, 0x3c, 0x71, 0x8c, 0x40, 0x00,
	0x40, 0x11, 0x91, 0x61, 0x0a, 0x00, 0x11, 0x01, 0x0a, 0x00, 0x12,
	0x01, 0x00, 0x00, 0x12, 0xb7, 0x00, 0x28, 0x00, 0x00, 0x81, 0x00,
	0xff, 0xff, 0x40, 0x00, 0x01, 0x18, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x82, 0xfd, 0x00, 0x2a,
};

START_TEST(test_icrc_hardware_vector)
{
	const uint8_t *ip = cnp_frame + 14;
	uint32_t len = sizeof(cnp_frame) - 14 - 4;
	uint32_t icrc = pcap_rocev2_icrc(ip, len);
	const uint8_t *want = cnp_frame + sizeof(cnp_frame) - 4;
	for (int i = 0; i < 4; i++)
		ck_assert_uint_eq((icrc >> (8 * i)) & 0xff, want[i]);
	/* the masked (variant) fields do not change it; the PSN does */
	uint8_t copy[sizeof(cnp_frame)];
	memcpy(copy, cnp_frame, sizeof(copy));
	copy[14 + 1] = 0x00;  /* TOS */
	copy[14 + 8] = 0x01;  /* TTL */
	copy[14 + 26] = 0x12; /* UDP checksum */
	copy[14 + 32] = 0x80; /* BTH FECN */
	ck_assert_uint_eq(pcap_rocev2_icrc(copy + 14, len), icrc);
	copy[14 + 39] ^= 1;   /* PSN */
	ck_assert_uint_ne(pcap_rocev2_icrc(copy + 14, len), icrc);
}
END_TEST

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


/* Frame synthesis: lengths agree with pkt_frame_bytes() and the IPv4
 * header checksum verifies. */
START_TEST(test_frame_fields)
{
	uint8_t buf[8192];
	for (unsigned i = 0; i < G_N_ELEMENTS(all_opcodes); i++) {
		struct pkt p;
		memset(&p, 0, sizeof(p));
		fill_pkt(&p, all_opcodes[i], i);
		p.src_host = 3;
		p.dst_host = 4;
		uint32_t hdr;
		uint32_t len = pcap_build_frame(&p, buf, UINT32_MAX, &hdr);
		ck_assert_uint_eq(len, pkt_frame_bytes(&p) - 4);
		ck_assert_uint_eq(buf[5], 4);   /* dst MAC */
		ck_assert_uint_eq(buf[11], 3);  /* src MAC */
		ck_assert_uint_eq(buf[14 + 15], 4); /* src IP 10.0.0.4 */
		ck_assert_uint_eq(buf[14 + 19], 5); /* dst IP 10.0.0.5 */
		uint32_t s = 0;
		for (int k = 0; k < 20; k += 2)
			s += (uint32_t)(buf[14 + k] << 8 | buf[14 + k + 1]);
		while (s >> 16)
			s = (s & 0xffff) + (s >> 16);
		ck_assert_uint_eq(s, 0xffff);
		ck_assert_uint_eq(buf[14 + 20 + 2] << 8 | buf[14 + 20 + 3],
				  4791);
		ck_assert_uint_eq(buf[14 + 28], p.opcode);
	}
}
END_TEST

/*
 * SEND ONLY / SEND LAST with fewer than 16 payload bytes: Wireshark 4.0's
 * RPC-over-RDMA heuristic (rpcrdma_infiniband) reads a 16-byte RPC-over-
 * RDMA header without checking the length and reports the frame as
 * malformed.  A real HCA's capture of such a SEND shows the same.  Check
 * that the heuristic is the only complaint: with it disabled, tshark
 * flags nothing.
 */
START_TEST(test_pcap_tiny_sends)
{
	char *dir = g_dir_make_tmp("odpsim-pcap-XXXXXX", NULL);
	char *path = g_build_filename(dir, "tiny.pcap", NULL);
	GError *err = NULL;
	struct outfile *of = outfile_open(path, &err);
	ck_assert_ptr_nonnull(of);
	struct pcap_writer *w = pcap_open(outfile_stream(of), 65535);
	for (uint32_t len = 0; len < 16; len++) {
		struct pkt p;
		memset(&p, 0, sizeof(p));
		p.opcode = len % 2 ? IB_SEND_ONLY : IB_SEND_LAST;
		p.payload_len = len;
		p.pad = (uint8_t)((4u - (len & 3u)) & 3u);
		p.dqpn = 0x104;
		p.src_host = 0;
		p.dst_host = 1;
		pcap_write(w, len * SIM_US, &p);
	}
	/* an empty capture would satisfy tshark's filter below */
	ck_assert_uint_eq(pcap_records(w), 16);
	pcap_close(w);
	ck_assert(outfile_commit(of, &err));
	char *q = g_shell_quote(path);
	char *args = g_strdup_printf(
		"--disable-heuristic rpcrdma_infiniband -r %s -Y "
		"\"_ws.malformed || _ws.expert.severity >= error\"",
		q);
	char *bad = tshark(args);
	if (!bad) {
		printf("SKIP tshark check (tshark not on PATH)\n");
	} else {
		ck_assert_msg(bad[0] == '\0', "tshark flags packets:\n%s",
			      bad);
		g_free(bad);
	}
	g_free(args);
	g_free(q);
	unlink(path);
	rmdir(dir);
	g_free(path);
	g_free(dir);
}
END_TEST

static Suite *pcap_suite(void)
{
	Suite *s = suite_create("pcap");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_icrc_hardware_vector);
	tcase_add_test(tc, test_frame_fields);
	tcase_add_test(tc, test_pcap_tiny_sends);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(pcap_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
