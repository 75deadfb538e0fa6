/*
 * nic/packet.h - RoCEv2 packets as the simulated wire carries them.
 *
 * Representation: one struct per packet with the decoded header fields of
 * the IBA Base Transport Header (BTH) and the extended headers an RC
 * connection uses (RETH, AETH, ImmDt, AtomicETH, AtomicAckETH, IETH), plus
 * simulation metadata that never
 * goes on the wire.  Payload bytes are not carried: a payload is a length
 * and a data version (what the correctness oracle checks).  Packets come
 * from a per-system pool (pkt_pool) and are recycled, never malloc'ed per
 * packet.  pkt_wire_bytes() is the one place that knows the on-wire size.
 *
 * References: IBA Vol 1 rel 1.4, 9.2 (BTH), 9.3 (RETH 9.3.3, AtomicETH
 * 9.3.4, AETH 9.3.5, AtomicAckETH 9.3.6, ImmDt 9.3.8, IETH 9.3.9), 9.2.1
 * opcodes; RoCEv2 = IBA Annex A17 (UDP port 4791).
 */
#ifndef NIC_PACKET_H
#define NIC_PACKET_H

#include <stdbool.h>
#include <stdint.h>

/* RC opcodes, IBA Vol 1 Table 38 (transport RC = 0x00 in the top bits). */
enum ib_opcode {
	IB_SEND_FIRST = 0x00,
	IB_SEND_MIDDLE = 0x01,
	IB_SEND_LAST = 0x02,
	IB_SEND_LAST_IMM = 0x03,
	IB_SEND_ONLY = 0x04,
	IB_SEND_ONLY_IMM = 0x05,
	IB_WRITE_FIRST = 0x06,
	IB_WRITE_MIDDLE = 0x07,
	IB_WRITE_LAST = 0x08,
	IB_WRITE_LAST_IMM = 0x09,
	IB_WRITE_ONLY = 0x0a,
	IB_WRITE_ONLY_IMM = 0x0b,
	IB_READ_REQUEST = 0x0c,
	IB_READ_RESP_FIRST = 0x0d,
	IB_READ_RESP_MIDDLE = 0x0e,
	IB_READ_RESP_LAST = 0x0f,
	IB_READ_RESP_ONLY = 0x10,
	IB_ACK = 0x11,
	IB_ATOMIC_ACK = 0x12,       /* AETH + AtomicAckETH */
	IB_COMPARE_SWAP = 0x13,     /* AtomicETH */
	IB_FETCH_ADD = 0x14,        /* AtomicETH */
	IB_SEND_LAST_INV = 0x16,    /* IETH */
	IB_SEND_ONLY_INV = 0x17,    /* IETH */
};

const char *ib_opcode_name(unsigned op);

/*
 * What each opcode carries, one entry per byte value (nic/packet.c): the
 * per-packet questions below are one load, not a chain of compares.
 * Values that are no RC opcode carry nothing and have a payload.
 */
enum {
	IB_OPF_RETH = 1 << 0,           /* WRITE FIRST/ONLY, READ REQ */
	IB_OPF_AETH = 1 << 1,           /* ACK, READ RESP FIRST/LAST/ONLY */
	IB_OPF_IMM = 1 << 2,            /* *_IMM */
	IB_OPF_ATOMIC_ETH = 1 << 3,     /* CMP_SWAP, FETCH_ADD */
	IB_OPF_ATOMIC_ACK_ETH = 1 << 4, /* ATOMIC_ACK */
	IB_OPF_IETH = 1 << 5,           /* SEND *_INV */
	IB_OPF_NO_PAYLOAD = 1 << 6,     /* READ REQ, ACK, atomics */
};
struct ib_opcode_info {
	uint8_t flags;
	uint8_t ext_bytes; /* bytes of its extended headers (RETH ... IETH) */
};
extern const struct ib_opcode_info ib_opcode_info[256];

static inline unsigned ib_opcode_flags(unsigned op)
{
	return op < 256 ? ib_opcode_info[op].flags : 0;
}
static inline bool ib_opcode_has_reth(unsigned op)
{
	return ib_opcode_flags(op) & IB_OPF_RETH;
}
static inline bool ib_opcode_has_aeth(unsigned op)
{
	return ib_opcode_flags(op) & IB_OPF_AETH;
}
static inline bool ib_opcode_has_imm(unsigned op)
{
	return ib_opcode_flags(op) & IB_OPF_IMM;
}
static inline bool ib_opcode_has_atomic_eth(unsigned op)
{
	return ib_opcode_flags(op) & IB_OPF_ATOMIC_ETH;
}
static inline bool ib_opcode_has_atomic_ack_eth(unsigned op)
{
	return ib_opcode_flags(op) & IB_OPF_ATOMIC_ACK_ETH;
}
static inline bool ib_opcode_has_ieth(unsigned op)
{
	return ib_opcode_flags(op) & IB_OPF_IETH;
}
static inline bool ib_opcode_is_atomic(unsigned op)
{
	return ib_opcode_has_atomic_eth(op);
}
static inline bool ib_opcode_has_payload(unsigned op)
{
	return !(ib_opcode_flags(op) & IB_OPF_NO_PAYLOAD);
}
/* Bytes of the extended headers @op carries (RETH ... IETH). */
static inline uint32_t ib_opcode_ext_bytes(unsigned op)
{
	return op < 256 ? ib_opcode_info[op].ext_bytes : 0;
}

/* AETH syndrome, IBA 9.7.5.2.8 / Table 44: top 3 bits select the kind. */
enum aeth_kind {
	AETH_ACK = 0,      /* 000: ACK, low 5 bits: credit count */
	AETH_RNR_NAK = 1,  /* 001: RNR NAK, low 5 bits: the RNR timer code */
	AETH_NAK = 3,      /* 011: NAK, low 5 bits: the NAK code below */
};
enum aeth_nak_code {
	NAK_PSN_SEQ_ERROR = 0,
	NAK_INVALID_REQUEST = 1,
	NAK_REMOTE_ACCESS_ERROR = 2,
	NAK_REMOTE_OP_ERROR = 3,
	NAK_INVALID_RD_REQUEST = 4,
};
#define AETH_SYNDROME(kind, low) ((uint8_t)(((kind) << 5) | ((low) & 0x1f)))
#define AETH_KIND(syn) ((unsigned)(syn) >> 5)
#define AETH_LOW(syn) ((unsigned)(syn) & 0x1f)

#define PSN_MASK 0xffffffu
/* Serial-number arithmetic on 24-bit PSNs (IBA 9.7.1). */
static inline int32_t psn_diff(uint32_t a, uint32_t b)
{
	return ((int32_t)((a - b) << 8)) >> 8;
}

/* On-wire header sizes in bytes. */
enum {
	WIRE_PREAMBLE_SFD = 8,  /* IEEE 802.3 */
	WIRE_IFG = 12,          /* minimum inter-frame gap, 802.3 */
	WIRE_ETH = 14,          /* dst, src, ethertype (no VLAN tag) */
	WIRE_FCS = 4,
	WIRE_IPV4 = 20,
	WIRE_UDP = 8,
	WIRE_BTH = 12,
	WIRE_RETH = 16,
	WIRE_AETH = 4,
	WIRE_IMM = 4,
	WIRE_ATOMIC_ETH = 28,   /* VA 8, R_Key 4, Swap/Add 8, Compare 8 */
	WIRE_ATOMIC_ACK_ETH = 8, /* original remote data */
	WIRE_IETH = 4,          /* the R_Key to invalidate */
	WIRE_ICRC = 4,
	WIRE_MIN_FRAME = 64,    /* Ethernet minimum frame (dst..FCS) */
	ROCEV2_UDP_PORT = 4791, /* IANA */
};

struct pkt {
	/* BTH */
	uint8_t opcode;
	bool solicited, ackreq;
	uint8_t pad;        /* pad count: payload rounded to 4 bytes */
	uint16_t pkey;
	uint32_t dqpn;      /* 24 bits */
	uint32_t psn;       /* 24 bits */
	/* RETH */
	uint64_t va;
	uint32_t rkey;
	uint32_t dma_len;
	/* AETH */
	uint8_t syndrome;
	uint32_t msn;       /* 24 bits */
	/* ImmDt; IETH: the R_Key to invalidate */
	uint32_t imm;
	uint32_t inv_rkey;
	/* AtomicETH (va, rkey above) and AtomicAckETH */
	uint64_t swap_add, compare;
	uint64_t atomic_orig;
	uint32_t payload_len;
	/* --- simulation metadata, not on the wire --- */
	uint16_t src_host, dst_host; /* host indices (MAC/IP are derived) */
	uint32_t sqpn;               /* sender's QP, for traces and pcap */
	uint64_t data_version;       /* content tag of the payload (oracle) */
	uint64_t id;                 /* unique per transmission, for traces */
	bool corrupted;              /* ICRC/FCS would fail: dropped at rx */
	struct pkt *next;            /* pool and queue link */
};

/* Bytes of the Ethernet frame from destination MAC to FCS, inclusive. */
static inline uint32_t pkt_frame_bytes(const struct pkt *p)
{
	uint32_t b = WIRE_ETH + WIRE_IPV4 + WIRE_UDP + WIRE_BTH + WIRE_ICRC +
		     WIRE_FCS + ib_opcode_ext_bytes(p->opcode);
	/* payload padded to a multiple of 4 bytes (BTH PadCnt, IBA 9.2) */
	b += (p->payload_len + 3u) & ~3u;
	return b < WIRE_MIN_FRAME ? WIRE_MIN_FRAME : b;
}

/* Bytes the frame occupies on the link: frame + preamble/SFD + IFG. */
static inline uint32_t pkt_wire_bytes(const struct pkt *p)
{
	return pkt_frame_bytes(p) + WIRE_PREAMBLE_SFD + WIRE_IFG;
}

/* Owns every packet it ever allocated: packets still on the wire when a
 * run ends are referenced only by events that will not fire. */
struct pkt_pool {
	struct pkt *free;
	void *all; /* GPtrArray of every packet */
	uint64_t allocated, in_use, next_id;
};

struct pkt *pkt_alloc(struct pkt_pool *pool);
void pkt_free(struct pkt_pool *pool, struct pkt *p);
void pkt_pool_destroy(struct pkt_pool *pool);

#endif
