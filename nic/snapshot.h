/*
 * nic/snapshot.h - the HCA's state records for snapshots and the migration
 * stream (sim/vmstate.h): memory regions, queue pairs and the valid runs
 * of each MR's MTT, in creation order.
 */
#ifndef NIC_SNAPSHOT_H
#define NIC_SNAPSHOT_H

#include <glib.h>
#include <stdbool.h>

#include "sim/snapfile.h"
#include "sim/vmstate.h"

struct nic;

extern const struct vmstate_desc nic_mr_vmstate;  /* NT_ODPSIM_MR */
extern const struct vmstate_desc nic_qp_vmstate;  /* NT_ODPSIM_QP */
extern const struct vmstate_desc nic_mtt_vmstate; /* NT_ODPSIM_MTT */

/* Append one note per MR, per QP and per MTT run.  Reads only: no event is
 * scheduled and no cache or counter changes. */
void nic_snapshot(const struct nic *nic, struct snapfile *sf);
/* A read file's NIC records agree with one another: one MR record per
 * lkey, every MTT run names an MR and lies within its MTT entries.  The
 * one-line message names @path and the note. */
bool nic_snapshot_check(const struct snapfile *sf, const char *path,
			GError **error);

#endif
