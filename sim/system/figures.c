/*
 * sim/system/figures.c - figures read from a summary by name suffix (see
 * figures.h).
 */
#include "sim/system/figures.h"

#include <glib.h>
#include <string.h>

double figures_time_unit(const char *name)
{
	static const struct {
		const char *suffix;
		double s;
	} u[] = { { "_ps", 1e-12 }, { "_ns", 1e-9 }, { "_us", 1e-6 },
		  { "_ms", 1e-3 }, { "_s", 1 } };
	for (unsigned i = 0; i < G_N_ELEMENTS(u); i++)
		if (g_str_has_suffix(name, u[i].suffix))
			return u[i].s;
	return 0;
}

bool figures_name_matches(const char *name, const char *suffix,
			  bool time_unit)
{
	size_t n = strlen(name), m = strlen(suffix);
	if (time_unit) {
		const char *us = strrchr(name, '_');
		if (!us || figures_time_unit(us) == 0 ||
		    strlen(us) > 3 || us == name)
			return false;
		n = (size_t)(us - name);
	}
	if (n < m || strncmp(name + n - m, suffix, m))
		return false;
	return n == m || name[n - m - 1] == '.';
}

double figures_num(const struct json_value *v)
{
	if (!v || v->type != JSON_NUM)
		return 0;
	return v->is_int ? (double)(uint64_t)v->i : v->num;
}

bool figures_counter_sum(const struct json_value *run, const char *suffix,
			 uint64_t *sum)
{
	const struct json_value *c = json_get(run, "counters");
	bool any = false;
	*sum = 0;
	for (guint i = 0; c && c->type == JSON_OBJ && i < c->keys->len; i++) {
		const struct json_value *v = c->items->pdata[i];
		if (v->type != JSON_NUM ||
		    !figures_name_matches(c->keys->pdata[i], suffix, false))
			continue;
		*sum += v->is_int ? (uint64_t)v->i : (uint64_t)v->num;
		any = true;
	}
	return any;
}

bool figures_hist_fold(const struct json_value *run, const char *suffix,
		       enum figures_hist_fold fold, double *secs)
{
	const struct json_value *h = json_get(run, "histograms");
	bool any = false;
	*secs = 0;
	for (guint i = 0; h && h->type == JSON_OBJ && i < h->keys->len; i++) {
		const char *name = h->keys->pdata[i];
		const struct json_value *v = h->items->pdata[i];
		if (v->type != JSON_OBJ ||
		    !figures_name_matches(name, suffix, true))
			continue;
		/* an empty histogram has no max (null): the largest of
		 * none is absent, a total over none is 0 */
		if (fold == FIGURES_HIST_MAX &&
		    figures_num(json_get(v, "count")) == 0)
			continue;
		double unit = figures_time_unit(name);
		double x = fold == FIGURES_HIST_MAX
				   ? figures_num(json_get(v, "max")) * unit
				   : figures_num(json_get(v, "count")) *
					     figures_num(json_get(v, "mean")) *
					     unit;
		if (fold == FIGURES_HIST_MAX)
			*secs = any && *secs > x ? *secs : x;
		else
			*secs += x;
		any = true;
	}
	return any;
}

