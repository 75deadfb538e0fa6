/*
 * tests/pkt_fixtures.h - packets for the pcap tests (test_pcap.c,
 * test_wire.c): every opcode, fields filled as the NIC would, with odd
 * payload sizes and a PSN that wraps.
 */
#ifndef TESTS_PKT_FIXTURES_H
#define TESTS_PKT_FIXTURES_H

#include "nic/packet.h"

static const uint8_t all_opcodes[] = {
	IB_SEND_FIRST,	     IB_SEND_MIDDLE,	  IB_SEND_LAST,
	IB_SEND_LAST_IMM,    IB_SEND_ONLY,	  IB_SEND_ONLY_IMM,
	IB_WRITE_FIRST,	     IB_WRITE_MIDDLE,	  IB_WRITE_LAST,
	IB_WRITE_LAST_IMM,   IB_WRITE_ONLY,	  IB_WRITE_ONLY_IMM,
	IB_READ_REQUEST,     IB_READ_RESP_FIRST,  IB_READ_RESP_MIDDLE,
	IB_READ_RESP_LAST,   IB_READ_RESP_ONLY,	  IB_ACK,
	IB_ATOMIC_ACK,	     IB_COMPARE_SWAP,	  IB_FETCH_ADD,
	IB_SEND_LAST_INV,    IB_SEND_ONLY_INV,
};

/* One packet of every opcode, fields filled as the NIC would. */
static inline void fill_pkt(struct pkt *p, uint8_t op, unsigned i)
{
	p->opcode = op;
	p->solicited = (i % 3) == 0;
	p->ackreq = (i % 2) == 0;
	p->dqpn = 0x000100 + i;
	p->sqpn = 0x000200 + i;
	p->psn = (0xfffff0 + i) & PSN_MASK; /* wraps */
	p->va = 0x00007f0012345000ULL + 4096u * i;
	p->rkey = 0xabcd0000u + i;
	p->dma_len = 8192;
	p->syndrome = i % 2 ? AETH_SYNDROME(AETH_ACK, 31) :
			      AETH_SYNDROME(AETH_NAK, NAK_PSN_SEQ_ERROR);
	p->msn = 77 + i;
	p->imm = 0xdeadbeef;
	p->inv_rkey = 0x00123407u + i;
	p->swap_add = 0x1111222233334444ULL + i;
	p->compare = 0x5555666677778888ULL + i;
	p->atomic_orig = 0x99990000aaaa0000ULL + i;
	p->data_version = 0x0102030405060708ULL + i;
	/* odd sizes exercise the pad count; SENDs carry at least 16 bytes
	 * (see test_pcap_tiny_sends) */
	if (ib_opcode_has_payload(op))
		p->payload_len = op == IB_SEND_ONLY || op == IB_SEND_ONLY_INV
					 ? 17 :
				 (op % 2) ? 1024 : 257 + i;
	p->pad = (uint8_t)((4u - (p->payload_len & 3u)) & 3u);
}

#endif
