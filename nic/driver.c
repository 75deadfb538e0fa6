/*
 * nic/driver.c - the driver: MR registration and deregistration through
 * the registration policies (see driver.h).
 *
 * pin: the classic path of ibv_reg_mr: get_user_pages (vmm_pin: fault in
 * and pin every page, pin_time per page in the VMM), then write one MTT
 * entry per page (reg_page_time per page).  Pinned frames cannot be moved
 * or reclaimed: the VMM counts the failures.
 */
#include "nic/driver.h"

#include <errno.h>

#include "nic/host.h"
#include "nic/nic_int.h"
#include "vmm/vmm.h"

const char *const reg_policy_names[] = { "pin", NULL };

struct reg_req {
	struct nic_mr *mr;
	nic_reg_done_fn done;
	void *ctx;
	sim_time_t start;
	int status;
};

static void reg_complete(struct sim *sim, void *obj, uint64_t arg)
{
	(void)arg;
	struct reg_req *r = obj;
	struct nic_mr *mr = r->mr;
	struct nic *nic = mr->nic;
	if (r->status == 0) {
		mr->reg_time = sim_now(sim) - r->start;
		hist_add(nic->h_reg_time, mr->reg_time);
		*nic->c_reg_pages += mr->npages;
		g_hash_table_insert(nic->mrs, GUINT_TO_POINTER(mr->lkey), mr);
		g_hash_table_insert(nic->mrs, GUINT_TO_POINTER(mr->rkey), mr);
		g_ptr_array_add(nic->all_mrs, mr);
		r->done(r->ctx, mr, 0);
	} else {
		g_free(mr->mtt);
		g_free(mr);
		r->done(r->ctx, NULL, r->status);
	}
	g_free(r);
}
SIM_EVKIND(ev_reg_complete, "driver.reg_complete", reg_complete);

static void pin_done(void *ctx, int status, uint64_t npages)
{
	struct reg_req *r = ctx;
	struct nic_mr *mr = r->mr;
	struct nic *nic = mr->nic;
	if (!vmm_fault_ok(status)) {
		r->status = status == VMM_FAULT_OOM ? -ENOMEM : -EFAULT;
		sim_schedule_in(nic->sim, 0, &ev_reg_complete, nic->comp, r, 0);
		return;
	}
	g_assert(npages == mr->npages);
	bool writable = mr->access & (NIC_ACCESS_LOCAL_WRITE |
				      NIC_ACCESS_REMOTE_WRITE);
	for (uint64_t i = 0; i < mr->npages; i++) {
		uint64_t pfn;
		bool ok = vmm_lookup(mr->as, (mr->first_page + i)
						     << NIC_PAGE_SHIFT,
				     writable, &pfn);
		g_assert(ok); /* pinned pages are present */
		mr->mtt[i] = MTT_ENTRY(pfn, MTT_VALID |
						    (writable ? MTT_WRITE : 0));
	}
	/* writing the MTT entries (and the MPT) */
	sim_schedule_in(nic->sim, mr->npages * nic->cfg.reg_page_time,
			&ev_reg_complete, nic->comp, r, 0);
}

static void pin_reg(struct nic_mr *mr)
{
	struct reg_req *r = mr->policy_priv;
	bool writable = mr->access & (NIC_ACCESS_LOCAL_WRITE |
				      NIC_ACCESS_REMOTE_WRITE);
	vmm_pin(mr->as, mr->first_page << NIC_PAGE_SHIFT,
		mr->npages << NIC_PAGE_SHIFT, writable, pin_done, r);
}

static void pin_dereg(struct nic_mr *mr)
{
	vmm_unpin(mr->as, mr->first_page << NIC_PAGE_SHIFT,
		  mr->npages << NIC_PAGE_SHIFT);
}

static const struct reg_policy_ops pin_ops = {
	.name = "pin", .reg = pin_reg, .dereg = pin_dereg,
};

static const struct reg_policy_ops *const policies[REG_NPOLICIES] = {
	[REG_PIN] = &pin_ops,
};

const struct reg_policy_ops *reg_policy_get(enum reg_policy_id id)
{
	g_assert(id < REG_NPOLICIES);
	return policies[id];
}

void nic_reg_mr(struct nic_pd *pd, struct vmm_as *as, uint64_t addr,
		uint64_t len, unsigned access, int policy,
		nic_reg_done_fn done, void *ctx)
{
	struct nic *nic = pd->nic;
	struct nic_mr *mr = g_new0(struct nic_mr, 1);
	mr->nic = nic;
	mr->pd = pd;
	mr->as = as;
	mr->addr = addr;
	mr->length = len;
	mr->access = access;
	mr->index = ++nic->next_mr_index;
	mr->lkey = nic->next_key++;
	mr->rkey = nic->next_key++;
	mr->first_page = addr >> NIC_PAGE_SHIFT;
	uint64_t last = (addr + (len ? len : 1) - 1) >> NIC_PAGE_SHIFT;
	mr->npages = last - mr->first_page + 1;
	mr->mtt = g_new0(uint64_t, mr->npages);
	mr->policy = reg_policy_get((enum reg_policy_id)policy);
	struct reg_req *r = g_new0(struct reg_req, 1);
	r->mr = mr;
	r->done = done;
	r->ctx = ctx;
	r->start = sim_now(nic->sim);
	mr->policy_priv = r;
	mr->policy->reg(mr);
}

void nic_dereg_mr(struct nic_mr *mr)
{
	struct nic *nic = mr->nic;
	mr->policy->dereg(mr);
	nic_mr_flush(mr, 0, mr->npages - 1);
	g_hash_table_remove(nic->mrs, GUINT_TO_POINTER(mr->lkey));
	g_hash_table_remove(nic->mrs, GUINT_TO_POINTER(mr->rkey));
	g_ptr_array_remove(nic->all_mrs, mr);
	g_free(mr->mtt);
	g_free(mr);
}
