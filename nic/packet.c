/*
 * nic/packet.c - opcode properties, on-wire sizes, the packet pool.
 */
#include "nic/packet.h"

#include <glib.h>
#include <string.h>

static const char *const opcode_names[] = {
	[IB_SEND_FIRST] = "SEND_FIRST",
	[IB_SEND_MIDDLE] = "SEND_MIDDLE",
	[IB_SEND_LAST] = "SEND_LAST",
	[IB_SEND_LAST_IMM] = "SEND_LAST_IMM",
	[IB_SEND_ONLY] = "SEND_ONLY",
	[IB_SEND_ONLY_IMM] = "SEND_ONLY_IMM",
	[IB_WRITE_FIRST] = "RDMA_WRITE_FIRST",
	[IB_WRITE_MIDDLE] = "RDMA_WRITE_MIDDLE",
	[IB_WRITE_LAST] = "RDMA_WRITE_LAST",
	[IB_WRITE_LAST_IMM] = "RDMA_WRITE_LAST_IMM",
	[IB_WRITE_ONLY] = "RDMA_WRITE_ONLY",
	[IB_WRITE_ONLY_IMM] = "RDMA_WRITE_ONLY_IMM",
	[IB_READ_REQUEST] = "RDMA_READ_REQUEST",
	[IB_READ_RESP_FIRST] = "RDMA_READ_RESPONSE_FIRST",
	[IB_READ_RESP_MIDDLE] = "RDMA_READ_RESPONSE_MIDDLE",
	[IB_READ_RESP_LAST] = "RDMA_READ_RESPONSE_LAST",
	[IB_READ_RESP_ONLY] = "RDMA_READ_RESPONSE_ONLY",
	[IB_ACK] = "ACKNOWLEDGE",
	[IB_ATOMIC_ACK] = "ATOMIC_ACKNOWLEDGE",
	[IB_COMPARE_SWAP] = "COMPARE_SWAP",
	[IB_FETCH_ADD] = "FETCH_ADD",
	[IB_SEND_LAST_INV] = "SEND_LAST_WITH_INVALIDATE",
	[IB_SEND_ONLY_INV] = "SEND_ONLY_WITH_INVALIDATE",
};

const char *ib_opcode_name(unsigned op)
{
	return op < G_N_ELEMENTS(opcode_names) && opcode_names[op] ?
		       opcode_names[op] :
		       "UNKNOWN";
}

bool ib_opcode_has_reth(unsigned op)
{
	return op == IB_WRITE_FIRST || op == IB_WRITE_ONLY ||
	       op == IB_WRITE_ONLY_IMM || op == IB_READ_REQUEST;
}

bool ib_opcode_has_aeth(unsigned op)
{
	return op == IB_ACK || op == IB_READ_RESP_FIRST ||
	       op == IB_READ_RESP_LAST || op == IB_READ_RESP_ONLY ||
	       op == IB_ATOMIC_ACK;
}

bool ib_opcode_is_atomic(unsigned op)
{
	return op == IB_COMPARE_SWAP || op == IB_FETCH_ADD;
}

bool ib_opcode_has_atomic_eth(unsigned op)
{
	return ib_opcode_is_atomic(op);
}

bool ib_opcode_has_atomic_ack_eth(unsigned op)
{
	return op == IB_ATOMIC_ACK;
}

bool ib_opcode_has_ieth(unsigned op)
{
	return op == IB_SEND_LAST_INV || op == IB_SEND_ONLY_INV;
}

uint32_t ib_opcode_ext_bytes(unsigned op)
{
	return (ib_opcode_has_reth(op) ? WIRE_RETH : 0) +
	       (ib_opcode_has_atomic_eth(op) ? WIRE_ATOMIC_ETH : 0) +
	       (ib_opcode_has_aeth(op) ? WIRE_AETH : 0) +
	       (ib_opcode_has_atomic_ack_eth(op) ? WIRE_ATOMIC_ACK_ETH : 0) +
	       (ib_opcode_has_imm(op) ? WIRE_IMM : 0) +
	       (ib_opcode_has_ieth(op) ? WIRE_IETH : 0);
}

bool ib_opcode_has_imm(unsigned op)
{
	return op == IB_SEND_LAST_IMM || op == IB_SEND_ONLY_IMM ||
	       op == IB_WRITE_LAST_IMM || op == IB_WRITE_ONLY_IMM;
}

bool ib_opcode_has_payload(unsigned op)
{
	return op != IB_READ_REQUEST && op != IB_ACK &&
	       op != IB_ATOMIC_ACK && !ib_opcode_is_atomic(op);
}

uint32_t pkt_frame_bytes(const struct pkt *p)
{
	uint32_t b = WIRE_ETH + WIRE_IPV4 + WIRE_UDP + WIRE_BTH + WIRE_ICRC +
		     WIRE_FCS + ib_opcode_ext_bytes(p->opcode);
	/* payload padded to a multiple of 4 bytes (BTH PadCnt, IBA 9.2) */
	b += (p->payload_len + 3u) & ~3u;
	return b < WIRE_MIN_FRAME ? WIRE_MIN_FRAME : b;
}

uint32_t pkt_wire_bytes(const struct pkt *p)
{
	return pkt_frame_bytes(p) + WIRE_PREAMBLE_SFD + WIRE_IFG;
}

struct pkt *pkt_alloc(struct pkt_pool *pool)
{
	struct pkt *p = pool->free;
	if (p) {
		pool->free = p->next;
	} else {
		p = g_new(struct pkt, 1);
		pool->allocated++;
		if (!pool->all)
			pool->all = g_ptr_array_new_with_free_func(g_free);
		g_ptr_array_add(pool->all, p);
	}
	memset(p, 0, sizeof(*p));
	p->id = ++pool->next_id;
	pool->in_use++;
	return p;
}

void pkt_free(struct pkt_pool *pool, struct pkt *p)
{
	g_assert(pool->in_use > 0);
	pool->in_use--;
	p->next = pool->free;
	pool->free = p;
}

void pkt_pool_destroy(struct pkt_pool *pool)
{
	if (pool->all)
		g_ptr_array_free(pool->all, TRUE);
	pool->all = NULL;
	pool->free = NULL;
}
