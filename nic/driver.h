/*
 * nic/driver.h - the kernel driver between the HCA and the VMM, and the
 * registration policies it implements.
 *
 * A registration policy is a const ops table (STYLE.md: policies plug in
 * through ops tables, never through the data path): how an MR's pages get
 * into the MTT at registration, and what happens when the VMM wants to
 * move or reclaim them.  This file is the one place in nic/ that calls
 * into vmm/.
 */
#ifndef NIC_DRIVER_H
#define NIC_DRIVER_H

#include "nic/nic.h"

enum reg_policy_id {
	REG_PIN, /* pin every page, fill the MTT; the VMM cannot move them */
	REG_NPOLICIES
};
extern const char *const reg_policy_names[]; /* NULL-terminated */

struct reg_policy_ops {
	const char *name;
	/* Fill mr->mtt for a new MR; call nic_reg_finish() when done. */
	void (*reg)(struct nic_mr *mr);
	void (*dereg)(struct nic_mr *mr);
};

const struct reg_policy_ops *reg_policy_get(enum reg_policy_id id);

#endif
