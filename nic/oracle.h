/*
 * nic/oracle.h - the correctness oracle (ARCHITECTURE.md): did any NIC
 * DMA touch a frame that no longer belonged to the page it meant?
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
/* A DMA the NIC issued through @mr's translation: a write lands at @at
 * (its content is @version), a read takes the frames' content at @at. */
void oracle_dma(struct oracle *o, bool write, struct nic_mr *mr, uint64_t va,
		uint32_t len, uint64_t version, sim_time_t at, uint32_t qpn,
		uint32_t psn);
/* End of run: settle what is in flight, then check that every page
 * written holds the version of the last write that landed on it. */
void oracle_finish(struct oracle *o);
/* The NIC whose DMA the oracle now watches (live migration). */
void oracle_set_nic(struct oracle *o, struct nic *nic);
/* --strict: the first violation stops the run (oracle_tripped). */
void oracle_set_strict(struct oracle *o, bool strict);
const char *oracle_tripped(const struct oracle *o);

#endif
