/*
 * sim/json.h - a small JSON writer (GString, every string escaped) and a
 * reader (recursive descent into a tree) for summaries, comparisons and
 * tests.  Numbers are read as doubles and, when integral and in range, as
 * exact uint64/int64 too.
 */
#ifndef SIM_JSON_H
#define SIM_JSON_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

struct json_writer {
	GString *s;
	unsigned depth;
	bool first[32];
	bool pretty;
};

void json_init(struct json_writer *w, bool pretty);
/* Returns the text; the writer is done. */
char *json_finish(struct json_writer *w);

/* @key is NULL inside arrays and at top level. */
void json_obj_begin(struct json_writer *w, const char *key);
void json_obj_end(struct json_writer *w);
void json_arr_begin(struct json_writer *w, const char *key);
void json_arr_end(struct json_writer *w);
void json_str(struct json_writer *w, const char *key, const char *v);
void json_u64(struct json_writer *w, const char *key, uint64_t v);
void json_i64(struct json_writer *w, const char *key, int64_t v);
void json_dbl(struct json_writer *w, const char *key, double v);
void json_bool(struct json_writer *w, const char *key, bool v);
void json_null(struct json_writer *w, const char *key);
/* Insert already-valid JSON text as a value. */
void json_raw(struct json_writer *w, const char *key, const char *text);
void json_escape(GString *s, const char *v);

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUM, JSON_STR, JSON_ARR, JSON_OBJ };

struct json_value {
	enum json_type type;
	bool b;
	double num;
	bool is_int;
	int64_t i;
	char *str;
	GPtrArray *items; /* ARR: values; OBJ: values, with keys in @keys */
	GPtrArray *keys;
};

struct json_value *json_parse(const char *text, GError **error);
void json_value_free(struct json_value *v);
/* Member of an object, or NULL. */
const struct json_value *json_get(const struct json_value *obj,
				  const char *key);
/* Follow a dotted path of object keys ("oracle.lost_writes"), a decimal
 * component indexing an array ("registrations.0.time_ps"). */
const struct json_value *json_path(const struct json_value *v,
				   const char *path);

#endif
