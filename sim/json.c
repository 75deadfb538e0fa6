/*
 * sim/json.c - JSON writer and reader (see json.h).
 */
#include "sim/json.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void json_init(struct json_writer *w, bool pretty)
{
	memset(w, 0, sizeof(*w));
	w->s = g_string_new(NULL);
	w->pretty = pretty;
	w->first[0] = true;
}

char *json_finish(struct json_writer *w)
{
	g_assert(w->depth == 0);
	g_string_append_c(w->s, '\n');
	return g_string_free(w->s, FALSE);
}

void json_escape(GString *s, const char *v)
{
	g_string_append_c(s, '"');
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		switch (*p) {
		case '"': g_string_append(s, "\\\""); break;
		case '\\': g_string_append(s, "\\\\"); break;
		case '\n': g_string_append(s, "\\n"); break;
		case '\r': g_string_append(s, "\\r"); break;
		case '\t': g_string_append(s, "\\t"); break;
		default:
			if (*p < 0x20)
				g_string_append_printf(s, "\\u%04x", *p);
			else
				g_string_append_c(s, (char)*p);
		}
	}
	g_string_append_c(s, '"');
}

static void json_indent(struct json_writer *w)
{
	if (!w->pretty)
		return;
	g_string_append_c(w->s, '\n');
	for (unsigned i = 0; i < w->depth; i++)
		g_string_append(w->s, "  ");
}

static void json_key(struct json_writer *w, const char *key)
{
	if (!w->first[w->depth])
		g_string_append_c(w->s, ',');
	w->first[w->depth] = false;
	if (w->depth)
		json_indent(w);
	if (key) {
		json_escape(w->s, key);
		g_string_append(w->s, w->pretty ? ": " : ":");
	}
}

void json_obj_begin(struct json_writer *w, const char *key)
{
	json_key(w, key);
	g_string_append_c(w->s, '{');
	g_assert(w->depth + 1 < G_N_ELEMENTS(w->first));
	w->first[++w->depth] = true;
}

void json_obj_end(struct json_writer *w)
{
	bool empty = w->first[w->depth];
	w->depth--;
	if (!empty)
		json_indent(w);
	g_string_append_c(w->s, '}');
}

void json_arr_begin(struct json_writer *w, const char *key)
{
	json_key(w, key);
	g_string_append_c(w->s, '[');
	g_assert(w->depth + 1 < G_N_ELEMENTS(w->first));
	w->first[++w->depth] = true;
}

void json_arr_end(struct json_writer *w)
{
	bool empty = w->first[w->depth];
	w->depth--;
	if (!empty)
		json_indent(w);
	g_string_append_c(w->s, ']');
}

void json_str(struct json_writer *w, const char *key, const char *v)
{
	json_key(w, key);
	if (v)
		json_escape(w->s, v);
	else
		g_string_append(w->s, "null");
}

void json_u64(struct json_writer *w, const char *key, uint64_t v)
{
	json_key(w, key);
	g_string_append_printf(w->s, "%" G_GUINT64_FORMAT, v);
}

void json_i64(struct json_writer *w, const char *key, int64_t v)
{
	json_key(w, key);
	g_string_append_printf(w->s, "%" G_GINT64_FORMAT, v);
}

void json_dbl(struct json_writer *w, const char *key, double v)
{
	json_key(w, key);
	if (!isfinite(v)) {
		g_string_append(w->s, "null");
		return;
	}
	char buf[G_ASCII_DTOSTR_BUF_SIZE];
	g_ascii_formatd(buf, sizeof(buf), "%.6g", v);
	g_string_append(w->s, buf);
}

void json_bool(struct json_writer *w, const char *key, bool v)
{
	json_key(w, key);
	g_string_append(w->s, v ? "true" : "false");
}

void json_null(struct json_writer *w, const char *key)
{
	json_key(w, key);
	g_string_append(w->s, "null");
}

void json_raw(struct json_writer *w, const char *key, const char *text)
{
	json_key(w, key);
	g_string_append(w->s, text);
}

/* ---- reader ---- */

struct jparser {
	const char *p, *start;
	GError **error;
	bool failed;
};

static void jfail(struct jparser *j, const char *what)
{
	if (!j->failed)
		g_set_error(j->error, G_MARKUP_ERROR, G_MARKUP_ERROR_PARSE,
			    "JSON: %s at offset %ld", what,
			    (long)(j->p - j->start));
	j->failed = true;
}

static void jws(struct jparser *j)
{
	while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')
		j->p++;
}

static struct json_value *jvalue(struct jparser *j, unsigned depth);

static char *jstring(struct jparser *j)
{
	if (*j->p != '"') {
		jfail(j, "expected string");
		return NULL;
	}
	j->p++;
	GString *s = g_string_new(NULL);
	while (*j->p && *j->p != '"') {
		unsigned char c = (unsigned char)*j->p;
		if (c < 0x20) {
			jfail(j, "control character in string");
			break;
		}
		if (c != '\\') {
			g_string_append_c(s, (char)c);
			j->p++;
			continue;
		}
		j->p++;
		switch (*j->p) {
		case '"': g_string_append_c(s, '"'); break;
		case '\\': g_string_append_c(s, '\\'); break;
		case '/': g_string_append_c(s, '/'); break;
		case 'b': g_string_append_c(s, '\b'); break;
		case 'f': g_string_append_c(s, '\f'); break;
		case 'n': g_string_append_c(s, '\n'); break;
		case 'r': g_string_append_c(s, '\r'); break;
		case 't': g_string_append_c(s, '\t'); break;
		case 'u': {
			char hex[5] = { 0 };
			for (int i = 0; i < 4; i++) {
				if (!g_ascii_isxdigit(j->p[1 + i])) {
					jfail(j, "bad \\u escape");
					goto out;
				}
				hex[i] = j->p[1 + i];
			}
			g_string_append_unichar(s, (gunichar)strtoul(hex, NULL,
								     16));
			j->p += 4;
			break;
		}
		default:
			jfail(j, "bad escape");
			goto out;
		}
		j->p++;
	}
	if (*j->p != '"')
		jfail(j, "unterminated string");
	else
		j->p++;
out:
	if (j->failed) {
		g_string_free(s, TRUE);
		return NULL;
	}
	return g_string_free(s, FALSE);
}

static struct json_value *jnew(enum json_type t)
{
	struct json_value *v = g_new0(struct json_value, 1);
	v->type = t;
	if (t == JSON_ARR || t == JSON_OBJ)
		v->items = g_ptr_array_new_with_free_func(
			(GDestroyNotify)json_value_free);
	if (t == JSON_OBJ)
		v->keys = g_ptr_array_new_with_free_func(g_free);
	return v;
}

static struct json_value *jvalue(struct jparser *j, unsigned depth)
{
	jws(j);
	if (depth > 64) {
		jfail(j, "nesting too deep");
		return NULL;
	}
	if (*j->p == '{' || *j->p == '[') {
		bool obj = *j->p == '{';
		char close = obj ? '}' : ']';
		struct json_value *v = jnew(obj ? JSON_OBJ : JSON_ARR);
		j->p++;
		jws(j);
		if (*j->p == close) {
			j->p++;
			return v;
		}
		for (;;) {
			jws(j);
			if (obj) {
				char *k = jstring(j);
				if (!k)
					break;
				g_ptr_array_add(v->keys, k);
				jws(j);
				if (*j->p != ':') {
					jfail(j, "expected ':'");
					break;
				}
				j->p++;
			}
			struct json_value *item = jvalue(j, depth + 1);
			if (!item)
				break;
			g_ptr_array_add(v->items, item);
			jws(j);
			if (*j->p == ',') {
				j->p++;
				continue;
			}
			if (*j->p == close) {
				j->p++;
				return v;
			}
			jfail(j, obj ? "expected ',' or '}'" :
				       "expected ',' or ']'");
			break;
		}
		json_value_free(v);
		return NULL;
	}
	if (*j->p == '"') {
		char *s = jstring(j);
		if (!s)
			return NULL;
		struct json_value *v = jnew(JSON_STR);
		v->str = s;
		return v;
	}
	if (!strncmp(j->p, "true", 4) || !strncmp(j->p, "false", 5)) {
		struct json_value *v = jnew(JSON_BOOL);
		v->b = *j->p == 't';
		j->p += v->b ? 4 : 5;
		return v;
	}
	if (!strncmp(j->p, "null", 4)) {
		j->p += 4;
		return jnew(JSON_NULL);
	}
	if (*j->p == '-' || g_ascii_isdigit(*j->p)) {
		const char *s = j->p;
		if (*j->p == '-')
			j->p++;
		while (g_ascii_isdigit(*j->p))
			j->p++;
		bool integral = true;
		if (*j->p == '.') {
			integral = false;
			j->p++;
			while (g_ascii_isdigit(*j->p))
				j->p++;
		}
		if (*j->p == 'e' || *j->p == 'E') {
			integral = false;
			j->p++;
			if (*j->p == '+' || *j->p == '-')
				j->p++;
			while (g_ascii_isdigit(*j->p))
				j->p++;
		}
		char *txt = g_strndup(s, (gsize)(j->p - s));
		struct json_value *v = jnew(JSON_NUM);
		v->num = g_ascii_strtod(txt, NULL);
		if (integral) {
			errno = 0;
			if (*txt == '-') {
				v->i = g_ascii_strtoll(txt, NULL, 10);
				v->is_int = errno == 0;
			} else {
				uint64_t u = g_ascii_strtoull(txt, NULL, 10);
				v->is_int = errno == 0;
				v->i = (int64_t)u; /* read back as uint64 */
			}
		}
		g_free(txt);
		return v;
	}
	jfail(j, "unexpected character");
	return NULL;
}

struct json_value *json_parse(const char *text, GError **error)
{
	struct jparser j = { .p = text, .start = text, .error = error };
	struct json_value *v = jvalue(&j, 0);
	if (v) {
		jws(&j);
		if (*j.p) {
			jfail(&j, "trailing characters");
			json_value_free(v);
			v = NULL;
		}
	}
	return v;
}

void json_value_free(struct json_value *v)
{
	if (!v)
		return;
	g_free(v->str);
	if (v->items)
		g_ptr_array_free(v->items, TRUE);
	if (v->keys)
		g_ptr_array_free(v->keys, TRUE);
	g_free(v);
}

const struct json_value *json_get(const struct json_value *obj,
				  const char *key)
{
	if (!obj || obj->type != JSON_OBJ)
		return NULL;
	for (guint i = 0; i < obj->keys->len; i++)
		if (!strcmp(obj->keys->pdata[i], key))
			return obj->items->pdata[i];
	return NULL;
}

/* An array's element by its decimal index, or NULL. */
static const struct json_value *json_index(const struct json_value *arr,
					   const char *key)
{
	if (!arr || arr->type != JSON_ARR || !*key)
		return NULL;
	guint64 i = 0;
	for (const char *c = key; *c; c++) {
		if (!g_ascii_isdigit(*c) || i > G_MAXUINT32)
			return NULL;
		i = i * 10 + (guint64)(*c - '0');
	}
	return i < arr->items->len ? arr->items->pdata[i] : NULL;
}

const struct json_value *json_path(const struct json_value *v,
				   const char *path)
{
	char **parts = g_strsplit(path, ".", -1);
	for (char **p = parts; *p && v; p++)
		v = v->type == JSON_ARR ? json_index(v, *p) : json_get(v, *p);
	g_strfreev(parts);
	return v;
}
