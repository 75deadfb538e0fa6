/*
 * sim/series.c - sampled time series (see series.h).
 */
#include "sim/series.h"

#include <string.h>

struct series_col {
	char *name;
	const uint64_t *value;
	enum series_mode mode;
	uint64_t prev;
};

struct series {
	GArray *cols;
	FILE *f; /* an outfile's stream (sim/outfile.h), NULL: no file */
	sim_time_t prev_t;
	series_observer_fn observer;
	void *observer_ctx;
};

struct series *series_new(void)
{
	struct series *s = g_new0(struct series, 1);
	s->cols = g_array_new(FALSE, TRUE, sizeof(struct series_col));
	return s;
}

void series_free(struct series *s)
{
	if (!s)
		return;
	for (guint i = 0; i < s->cols->len; i++)
		g_free(g_array_index(s->cols, struct series_col, i).name);
	g_array_free(s->cols, TRUE);
	g_free(s);
}

void series_add(struct series *s, const char *name, const uint64_t *value,
		enum series_mode mode)
{
	struct series_col c = { g_strdup(name), value, mode, *value };
	g_array_append_val(s->cols, c);
}

unsigned series_count(const struct series *s)
{
	return s->cols->len;
}

void series_open(struct series *s, FILE *f)
{
	s->f = f;
	/* the mode of every column, so readers need not guess */
	fputs("# odpsim series schema 1; modes: time", s->f);
	for (guint i = 0; i < s->cols->len; i++)
		fprintf(s->f, ",%s",
			g_array_index(s->cols, struct series_col, i).mode ==
					SERIES_LEVEL ?
				"level" :
				"delta");
	fputs("\ntime_ps", s->f);
	for (guint i = 0; i < s->cols->len; i++) {
		struct series_col *c =
			&g_array_index(s->cols, struct series_col, i);
		fprintf(s->f, ",%s", c->name);
		c->prev = *c->value;
	}
	fputc('\n', s->f);
}

void series_set_observer(struct series *s, series_observer_fn fn, void *ctx)
{
	s->observer = fn;
	s->observer_ctx = ctx;
}

void series_sample(struct series *s, sim_time_t t)
{
	if ((!s->f && !s->observer) || t == s->prev_t)
		return;
	if (s->f)
		fprintf(s->f, "%" G_GUINT64_FORMAT, t);
	for (guint i = 0; i < s->cols->len; i++) {
		struct series_col *c =
			&g_array_index(s->cols, struct series_col, i);
		uint64_t v = *c->value;
		uint64_t x = c->mode == SERIES_DELTA ? v - c->prev : v;
		if (s->f)
			fprintf(s->f, ",%" G_GUINT64_FORMAT, x);
		if (s->observer)
			s->observer(s->observer_ctx, c->name, c->mode, x,
				    t - s->prev_t);
		c->prev = v;
	}
	if (s->f)
		fputc('\n', s->f);
	s->prev_t = t;
}

void series_close(struct series *s)
{
	s->f = NULL;
}
