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

#define EXT(f)                                                              \
	((((f) & IB_OPF_RETH) ? WIRE_RETH : 0) +                            \
	 (((f) & IB_OPF_ATOMIC_ETH) ? WIRE_ATOMIC_ETH : 0) +                \
	 (((f) & IB_OPF_AETH) ? WIRE_AETH : 0) +                            \
	 (((f) & IB_OPF_ATOMIC_ACK_ETH) ? WIRE_ATOMIC_ACK_ETH : 0) +        \
	 (((f) & IB_OPF_IMM) ? WIRE_IMM : 0) +                              \
	 (((f) & IB_OPF_IETH) ? WIRE_IETH : 0))
#define OP(f) { (f), EXT(f) }

/* IBA Vol 1, 9.2.1 (Table 38) and 9.3: the headers of each RC opcode. */
const struct ib_opcode_info ib_opcode_info[256] = {
	[IB_WRITE_FIRST] = OP(IB_OPF_RETH),
	[IB_WRITE_ONLY] = OP(IB_OPF_RETH),
	[IB_WRITE_ONLY_IMM] = OP(IB_OPF_RETH | IB_OPF_IMM),
	[IB_READ_REQUEST] = OP(IB_OPF_RETH | IB_OPF_NO_PAYLOAD),
	[IB_ACK] = OP(IB_OPF_AETH | IB_OPF_NO_PAYLOAD),
	[IB_READ_RESP_FIRST] = OP(IB_OPF_AETH),
	[IB_READ_RESP_LAST] = OP(IB_OPF_AETH),
	[IB_READ_RESP_ONLY] = OP(IB_OPF_AETH),
	[IB_ATOMIC_ACK] = OP(IB_OPF_AETH | IB_OPF_ATOMIC_ACK_ETH |
			     IB_OPF_NO_PAYLOAD),
	[IB_SEND_LAST_IMM] = OP(IB_OPF_IMM),
	[IB_SEND_ONLY_IMM] = OP(IB_OPF_IMM),
	[IB_WRITE_LAST_IMM] = OP(IB_OPF_IMM),
	[IB_COMPARE_SWAP] = OP(IB_OPF_ATOMIC_ETH | IB_OPF_NO_PAYLOAD),
	[IB_FETCH_ADD] = OP(IB_OPF_ATOMIC_ETH | IB_OPF_NO_PAYLOAD),
	[IB_SEND_LAST_INV] = OP(IB_OPF_IETH),
	[IB_SEND_ONLY_INV] = OP(IB_OPF_IETH),
};

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
