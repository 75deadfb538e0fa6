/*
 * nic/oracle.h - the correctness oracle (ARCHITECTURE.md): did any NIC
 * DMA touch a frame that no longer belonged to the page it meant?  And
 * did any DMA reach bytes the key it was issued under does not open?
 *
 * The oracle is an instrument of the simulator, not part of the modelled
 * NIC: it reads the VMM's ground truth about frames (owner, content
 * version) that no real NIC could see.  The NIC itself still only knows
 * its MTT.
 */
#ifndef NIC_ORACLE_H
#define NIC_ORACLE_H

#include <stdbool.h>
#include <stdint.h>

#include "sim/sim.h"

struct nic;
struct nic_mr;
struct oracle;

struct oracle *oracle_new(struct nic *nic);
void oracle_free(struct oracle *o);
/* A DMA the NIC issued through @mr's translation under memory key @key
 * for an access needing @access (NIC_ACCESS_*; 0 for a local read): a
 * write lands at @at (its content is @version), a read takes the frames'
 * content at @at.  The key must open [va, va+len) of @mr's address space
 * with @access in the oracle's own record of what keys open (below), or
 * it is a protection violation (oracle.protection_violations). */
void oracle_dma(struct oracle *o, bool write, struct nic_mr *mr, uint64_t va,
		uint32_t len, uint64_t version, sim_time_t at, uint32_t qpn,
		uint32_t psn, uint32_t key, unsigned access);
/* What the verbs granted, as the application sees it, kept apart from
 * the NIC's own checks: key @key opens [lo, hi) of @as with @access
 * (a registration, a resize, a window's bind), or nothing any more. */
struct vmm_as;
void oracle_grant(struct oracle *o, uint32_t key, struct vmm_as *as,
		  uint64_t lo, uint64_t hi, unsigned access);
void oracle_revoke(struct oracle *o, uint32_t key);
/* The content of the 8-byte words atomics touch (vmm_word_get/set): the
 * oracle is nic/'s one door to memory content, besides the driver.  An
 * atomic reads @va, then writes what its opcode makes of it: returns the
 * original value. */
uint64_t oracle_atomic(struct oracle *o, struct vmm_as *as, uint64_t va,
		       bool cmp_swap, uint64_t compare, uint64_t swap_add);
void oracle_word_store(struct oracle *o, struct vmm_as *as, uint64_t va,
		       uint64_t v);
/* End of run: settle what is in flight, then check that every page
 * written holds the version of the last write that landed on it. */
void oracle_finish(struct oracle *o);
/* The NIC whose DMA the oracle now watches (live migration). */
void oracle_set_nic(struct oracle *o, struct nic *nic);
/* --strict: the first violation stops the run (oracle_tripped). */
void oracle_set_strict(struct oracle *o, bool strict);
const char *oracle_tripped(const struct oracle *o);

#endif
