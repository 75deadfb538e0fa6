/*
 * workloads/workload.c - the workload registry and shared helpers.
 */
#include "workloads/workload.h"

#include <stddef.h>
#include <string.h>

static const struct param workload_common_tab[] = {
	{ "type", PT_STRING, NULL, offsetof(struct workload_common, type),
	  "workload type (see odpsim params workloads)", "", NULL, 0, 0 },
	{ "start", PT_TIME, "0ns", offsetof(struct workload_common, start),
	  "simulated time at which the workload starts", "", NULL, 0, 0 },
	{ "measure_from", PT_TIME, "0ns",
	  offsetof(struct workload_common, measure_from),
	  "bandwidth, message rate and latency count only operations that "
	  "complete after this time (left out: [sim] warmup)", "", NULL, 0,
	  0 },
	{ "measure_until", PT_TIME, "0ns",
	  offsetof(struct workload_common, measure_until),
	  "... and up to this time (0: to the end of the run)", "", NULL, 0,
	  0 },
};
PARAM_TABLE(workload_common_params, "workload",
	    "keys of every [workload NAME] section", workload_common_tab);

const char *const workload_reg_state_names[] = {
	[WL_REG_NOT_STARTED] = "not started",
	[WL_REG_RUNNING] = "unfinished",
	[WL_REG_DONE] = "done",
	[WL_REG_FAILED] = "failed",
	[WL_REG_NSTATES] = NULL,
};

const struct workload_ops *workload_find(const char *type)
{
	for (const struct workload_ops *const *o = workload_types; *o; o++)
		if (!strcmp((*o)->type, type))
			return *o;
	return NULL;
}

struct host *workload_host(struct workload *w, const struct workload_env *env,
			   const char *key, const char *name, GError **error)
{
	for (unsigned i = 0; i < env->nhosts; i++)
		if (!strcmp(env->hosts[i]->name, name))
			return env->hosts[i];
	char *where = scenario_where(env->sc, "workload", w->name, key);
	g_set_error(error, CONFIG_ERROR, 0,
		    "%s: [workload %s] %s: no host named '%s' (no [host %s] "
		    "section)", where, w->name, key, name, name);
	g_free(where);
	return NULL;
}
