/*
 * nic/pcap.c - pcap writer and RoCEv2 frame synthesis (see pcap.h for the
 * format and where each field comes from).
 */
#include "nic/pcap.h"

#include <stdio.h>
#include <string.h>

#include "nic/packet.h"

struct pcap_writer {
	FILE *f;          /* an outfile's stream: errors kept by it */
	uint32_t snaplen; /* 0: headers only */
	uint8_t *buf;
	uint32_t cap;
	uint64_t records;
};

/* ---- CRC-32 (IEEE 802.3, reflected 0xedb88320), as the ICRC uses ---- */

static uint32_t crc_table[256];

static void pcap_crc_init(void)
{
	if (crc_table[1])
		return;
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
		crc_table[i] = c;
	}
}

/* Running CRC register (no pre/post inversion here). */
static uint32_t pcap_crc_update(uint32_t crc, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		crc = crc_table[(crc ^ p[i]) & 0xffu] ^ (crc >> 8);
	return crc;
}

uint32_t pcap_rocev2_icrc(const uint8_t *ip, uint32_t len)
{
	enum { IPH = WIRE_IPV4, UDPH = WIRE_UDP, BTHH = WIRE_BTH };
	g_assert(len >= IPH + UDPH + BTHH);
	pcap_crc_init();
	static const uint8_t lrh[8] = { 0xff, 0xff, 0xff, 0xff,
					0xff, 0xff, 0xff, 0xff };
	uint8_t h[IPH + UDPH + BTHH];
	memcpy(h, ip, sizeof(h));
	h[1] = 0xff;               /* IPv4 TOS (DSCP, ECN) */
	h[8] = 0xff;               /* TTL */
	h[10] = h[11] = 0xff;      /* header checksum */
	h[IPH + 6] = h[IPH + 7] = 0xff; /* UDP checksum */
	h[IPH + UDPH + 4] = 0xff;  /* BTH reserved byte (FECN/BECN, resv6) */
	uint32_t crc = pcap_crc_update(0xffffffffu, lrh, sizeof(lrh));
	crc = pcap_crc_update(crc, h, sizeof(h));
	crc = pcap_crc_update(crc, ip + sizeof(h), len - sizeof(h));
	return ~crc;
}

/* ---- frame synthesis ---- */

static inline uint8_t *put8(uint8_t *b, uint8_t v)
{
	*b = v;
	return b + 1;
}

static inline uint8_t *put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
	return b + 2;
}

static inline uint8_t *put24(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 16);
	b[1] = (uint8_t)(v >> 8);
	b[2] = (uint8_t)v;
	return b + 3;
}

static inline uint8_t *put32(uint8_t *b, uint32_t v)
{
	b = put16(b, (uint16_t)(v >> 16));
	return put16(b, (uint16_t)v);
}

static inline uint8_t *put64(uint8_t *b, uint64_t v)
{
	b = put32(b, (uint32_t)(v >> 32));
	return put32(b, (uint32_t)v);
}

static uint8_t *put_mac(uint8_t *b, uint16_t host)
{
	static const uint8_t oui[4] = { 0x02, 0x00, 0x00, 0x00 };
	memcpy(b, oui, 4);
	return put16(b + 4, host);
}

static uint16_t ipv4_checksum(const uint8_t *h)
{
	uint32_t s = 0;
	for (int i = 0; i < WIRE_IPV4; i += 2)
		s += (uint32_t)(h[i] << 8 | h[i + 1]);
	while (s >> 16)
		s = (s & 0xffffu) + (s >> 16);
	return (uint16_t)~s;
}

uint32_t pcap_build_frame(const struct pkt *p, uint8_t *buf, uint32_t upto,
			  uint32_t *hdr_len)
{
	/* pkt_frame_bytes() counts payload_len whatever the opcode */
	g_assert(p->payload_len == 0 || ib_opcode_has_payload(p->opcode));
	uint32_t payload = p->payload_len;
	uint32_t pad = (4u - (payload & 3u)) & 3u;
	uint32_t ext = ib_opcode_ext_bytes(p->opcode);
	uint32_t ip_len = WIRE_IPV4 + WIRE_UDP + WIRE_BTH + ext + payload +
			  pad + WIRE_ICRC;
	uint32_t frame = WIRE_ETH + ip_len;
	uint32_t min = WIRE_MIN_FRAME - WIRE_FCS;
	uint32_t total = frame < min ? min : frame;
	g_assert(total == pkt_frame_bytes(p) - WIRE_FCS);

	uint8_t *b = buf;
	/* Ethernet II */
	b = put_mac(b, p->dst_host);
	b = put_mac(b, p->src_host);
	b = put16(b, 0x0800);
	/* IPv4 (RFC 791) */
	uint8_t *ip = b;
	b = put8(b, 0x45);
	b = put8(b, 0);                  /* DSCP 0, ECN 0 */
	b = put16(b, (uint16_t)ip_len);
	b = put16(b, 0);                 /* identification */
	b = put16(b, 0x4000);            /* DF */
	b = put8(b, 64);                 /* TTL */
	b = put8(b, 17);                 /* UDP */
	b = put16(b, 0);                 /* checksum, below */
	b = put32(b, 0x0a000000u + p->src_host + 1u);
	b = put32(b, 0x0a000000u + p->dst_host + 1u);
	put16(ip + 10, ipv4_checksum(ip));
	/* UDP (RFC 768), checksum 0 as RoCEv2 allows (Annex A17.3.2) */
	b = put16(b, (uint16_t)(0xc000u | (p->sqpn & 0x3fffu)));
	b = put16(b, ROCEV2_UDP_PORT);
	b = put16(b, (uint16_t)(ip_len - WIRE_IPV4));
	b = put16(b, 0);
	/* BTH (IBA 9.2) */
	b = put8(b, p->opcode);
	b = put8(b, (uint8_t)((p->solicited ? 0x80 : 0) | (pad << 4)));
	b = put16(b, p->pkey ? p->pkey : 0xffff);
	b = put8(b, 0);                  /* FECN/BECN, reserved */
	b = put24(b, p->dqpn & 0xffffffu);
	b = put8(b, p->ackreq ? 0x80 : 0);
	b = put24(b, p->psn & PSN_MASK);
	/* extended headers in IBA order (9.3): RETH, AtomicETH, AETH,
	 * AtomicAckETH, ImmDt, IETH */
	if (ib_opcode_has_reth(p->opcode)) {
		b = put64(b, p->va);
		b = put32(b, p->rkey);
		b = put32(b, p->dma_len);
	}
	if (ib_opcode_has_atomic_eth(p->opcode)) {
		/* 9.3.4: virtual address, R_Key, swap (or add) data,
		 * compare data */
		b = put64(b, p->va);
		b = put32(b, p->rkey);
		b = put64(b, p->swap_add);
		b = put64(b, p->compare);
	}
	if (ib_opcode_has_aeth(p->opcode)) {
		b = put8(b, p->syndrome);
		b = put24(b, p->msn & 0xffffffu);
	}
	if (ib_opcode_has_atomic_ack_eth(p->opcode))
		b = put64(b, p->atomic_orig); /* 9.3.6: original data */
	if (ib_opcode_has_imm(p->opcode))
		b = put32(b, p->imm);
	if (ib_opcode_has_ieth(p->opcode))
		b = put32(b, p->inv_rkey); /* 9.3.9 */
	uint32_t hdr = (uint32_t)(b - buf);
	if (hdr_len)
		*hdr_len = hdr;

	uint32_t icrc_at = hdr + payload + pad;
	bool whole = upto >= icrc_at + WIRE_ICRC;
	uint32_t fill = whole ? payload + pad :
		       upto > hdr ? MIN(upto - hdr, payload + pad) : 0;
	uint8_t pat[8];
	put64(pat, p->data_version);
	for (uint32_t i = 0; i < fill; i++)
		b[i] = i < payload ? pat[i & 7] : 0;
	b += fill;
	if (whole) {
		uint32_t icrc = pcap_rocev2_icrc(ip, (uint32_t)(b - ip));
		for (int i = 0; i < 4; i++)
			*b++ = (uint8_t)(icrc >> (8 * i));
		if (upto >= total)
			memset(b, 0, total - frame); /* Ethernet padding */
	}
	return total;
}

/* ---- the file ---- */

static void pcap_put(struct pcap_writer *w, const void *data, size_t n)
{
	fwrite(data, 1, n, w->f);
}

struct pcap_writer *pcap_open(FILE *f, uint32_t snaplen)
{
	struct pcap_writer *w = g_new0(struct pcap_writer, 1);
	w->f = f;
	w->snaplen = snaplen;
	/* global header: magic, version 2.4, thiszone, sigfigs, snaplen,
	 * network (pcap-savefile(5)) */
	uint32_t magic = PCAP_MAGIC_NS;
	uint16_t ver[2] = { 2, 4 };
	int32_t zone = 0;
	uint32_t sigfigs = 0;
	uint32_t snap = snaplen ? snaplen : PCAP_HEADERS_SNAPLEN;
	uint32_t link = PCAP_LINKTYPE_ETHERNET;
	pcap_put(w, &magic, 4);
	pcap_put(w, ver, 4);
	pcap_put(w, &zone, 4);
	pcap_put(w, &sigfigs, 4);
	pcap_put(w, &snap, 4);
	pcap_put(w, &link, 4);
	return w;
}

void pcap_write(struct pcap_writer *w, sim_time_t t, const struct pkt *p)
{
	uint32_t need = pkt_frame_bytes(p);
	if (need > w->cap) {
		w->buf = g_realloc(w->buf, need);
		w->cap = need;
	}
	/* headers only: build no payload, and no ICRC unless it ends a
	 * payload-less packet */
	uint32_t upto = w->snaplen ? w->snaplen :
			p->payload_len ? 0 : UINT32_MAX;
	uint32_t hdr;
	uint32_t len = pcap_build_frame(p, w->buf, upto, &hdr);
	uint32_t caplen = w->snaplen ? MIN(w->snaplen, len) :
			  p->payload_len ? hdr : len;
	uint64_t ns = t / SIM_NS;
	uint32_t rec[4] = { (uint32_t)(ns / 1000000000u),
			    (uint32_t)(ns % 1000000000u), caplen, len };
	pcap_put(w, rec, sizeof(rec));
	pcap_put(w, w->buf, caplen);
	w->records++;
}

uint64_t pcap_records(const struct pcap_writer *w)
{
	return w->records;
}

void pcap_close(struct pcap_writer *w)
{
	if (!w)
		return;
	g_free(w->buf);
	g_free(w);
}
