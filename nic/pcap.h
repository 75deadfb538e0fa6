/*
 * nic/pcap.h - pcap files of the simulated wire, as RoCEv2 over Ethernet.
 *
 * Representation: a pcap file (nanosecond-timestamp variant, magic
 * 0xa1b23c4d, version 2.4, linktype 1 = Ethernet) written through stdio;
 * one record per transmitted packet, stamped with its transmit start time.
 * A struct pkt is decoded fields only, so each record is synthesized:
 *   Ethernet  dst/src 02:00:00:00:HH:LL from the host index, type 0x0800
 *   IPv4      10.0.0.0 + host index + 1, DSCP/ECN 0, ID 0, DF, TTL 64,
 *             protocol 17, real header checksum
 *   UDP       src port 0xc000 | (sender QPN & 0x3fff), dst 4791, checksum 0
 *   BTH       opcode, SE, M = 0, pad count (from payload_len, as
 *             pkt_frame_bytes() counts it), TVer 0, P_Key (0xffff when the
 *             packet's is 0), dest QP, AckReq, PSN
 *   RETH / AtomicETH / AETH / AtomicAckETH / ImmDt / IETH as the opcode
 *             requires (IBA Vol 1, 9.3), which Wireshark decodes
 *   payload   the packet's 64-bit data version, big-endian, repeated
 *             (pad bytes zero), so a dissector shows which version moved
 *   ICRC      the real RoCEv2 invariant CRC (IBA Annex A17.3.3): CRC-32
 *             over 8 bytes of 1s (the masked LRH), the IPv4 header with
 *             TOS, TTL and checksum set to 1s, the UDP header with its
 *             checksum set to 1s, the BTH with its reserved byte 4 set to
 *             1s, the rest of the headers and the padded payload; sent
 *             least significant byte first (as Linux rxe_icrc.c does).
 *             Checked against a packet captured from a ConnectX-4 Lx.
 * No FCS is written (as a NIC capture shows frames); frames shorter than
 * 60 bytes are padded.  Records are cut at the snap length; the ICRC is
 * computed only when it falls inside the captured bytes.
 *
 * Wireshark 4.0 dissects every opcode of packet.h as RoCEv2 (UDP 4791).
 * Two things it shows that are not errors in the file: a record cut before
 * the end of its payload gets the Info text "Invalid Packet Length from
 * LRH! [Malformed Packet]" (a column string the InfiniBand dissector sets
 * whenever the payload is not all captured; no malformed field or expert
 * item), and a SEND ONLY/LAST with under 16 payload bytes trips the
 * RPC-over-RDMA heuristic (rpcrdma_infiniband), which reads 16 bytes
 * without a length check.
 *
 * Workload assumed: optional, for debugging and for showing runs in
 * Wireshark; a writer buffers one frame and allocates only when a larger
 * frame than any before is written.  It writes to a stream it does not
 * own (an outfile's, sim/outfile.h), which keeps I/O errors and reports
 * them when its owner commits it.
 */
#ifndef NIC_PCAP_H
#define NIC_PCAP_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sim/time.h"

struct pkt;
struct pcap_writer;

#define PCAP_MAGIC_NS 0xa1b23c4du
#define PCAP_LINKTYPE_ETHERNET 1u
/* Written in the file header when records are cut at the payload. */
#define PCAP_HEADERS_SNAPLEN 128u

/*
 * A capture written to @f, starting with the file header.  @snaplen:
 * bytes kept of each frame; 0 keeps every header through the last
 * extended header (RETH/AETH/ImmDt) and no payload byte (the ICRC too
 * when the packet has no payload).
 */
struct pcap_writer *pcap_open(FILE *f, uint32_t snaplen);
/* Append a record for @p at time @t (picoseconds; written in ns). */
void pcap_write(struct pcap_writer *w, sim_time_t t, const struct pkt *p);
/* Stop writing and free @w (the stream stays its owner's).  NULL is fine. */
void pcap_close(struct pcap_writer *w);
uint64_t pcap_records(const struct pcap_writer *w);

/*
 * Build the Ethernet frame of @p (without FCS) into @buf, which must hold
 * pkt_frame_bytes(p) bytes; fills bytes [0, @upto) only (payload and ICRC
 * beyond are skipped; pass UINT32_MAX for the whole frame).  Returns the
 * frame length, pkt_frame_bytes(p) - 4.  *@hdr_len (if non-NULL) gets the
 * length of the headers before the payload.
 */
uint32_t pcap_build_frame(const struct pkt *p, uint8_t *buf, uint32_t upto,
			  uint32_t *hdr_len);
/* RoCEv2 ICRC of the IPv4 packet at @ip, @len bytes from the IPv4 header
 * to the end of the padded payload (ICRC excluded).  The 4 ICRC bytes on
 * the wire are this value least significant byte first. */
uint32_t pcap_rocev2_icrc(const uint8_t *ip, uint32_t len);

#endif
