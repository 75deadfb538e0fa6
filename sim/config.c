/*
 * sim/config.c - scenario files and parameter tables (see config.h).
 */
#include "sim/config.h"
#include "sim/json.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

G_DEFINE_QUARK(odpsim-config-error, config_error)

struct scenario {
	char *path;
	GKeyFile *kf;
	GHashTable *key_lines;   /* "group\x1fkey" -> line (1-based) */
	GHashTable *group_lines; /* group -> line; absent: made by --set */
	GPtrArray *groups;       /* groups in file order (then --set ones) */
	GHashTable *set_src;     /* "group\x1fkey" -> the --set argument */
	GHashTable *names;       /* type -> NULL-terminated char *[] */
	GHashTable *vals;        /* "group\x1fkey" -> value, comment stripped */
	GKeyFile *effective;
	GPtrArray *eff_groups;   /* effective groups in first-read order */
};

static char *group_of(const char *type, const char *name);

static char *lkey(const char *group, const char *key)
{
	return g_strdup_printf("%s\x1f%s", group, key);
}

static int key_line(const struct scenario *sc, const char *group,
		    const char *key)
{
	char *k = lkey(group, key);
	int line = GPOINTER_TO_INT(g_hash_table_lookup(sc->key_lines, k));
	g_free(k);
	return line;
}

static int group_line(const struct scenario *sc, const char *group)
{
	return GPOINTER_TO_INT(g_hash_table_lookup(sc->group_lines, group));
}

/* "FILE:LINE: " or "--set X=Y: " prefix of a message about a key. */
static char *where_key(const struct scenario *sc, const char *group,
		       const char *key)
{
	char *k = lkey(group, key);
	const char *set = g_hash_table_lookup(sc->set_src, k);
	g_free(k);
	if (set)
		return g_strdup(set);
	int line = key_line(sc, group, key);
	return g_strdup_printf("%s:%d", sc->path, line);
}

static char *where_group(const struct scenario *sc, const char *group)
{
	int line = group_line(sc, group);
	if (line)
		return g_strdup_printf("%s:%d", sc->path, line);
	/* made by --set: name the override that made it */
	GHashTableIter it;
	gpointer k, v;
	size_t glen = strlen(group);
	g_hash_table_iter_init(&it, sc->set_src);
	while (g_hash_table_iter_next(&it, &k, &v))
		if (!strncmp(k, group, glen) && ((char *)k)[glen] == '\x1f')
			return g_strdup_printf("%s (%s has no [%s])",
					       (char *)v, sc->path, group);
	return g_strdup_printf("%s", sc->path);
}

char *scenario_where(const struct scenario *sc, const char *type,
		     const char *name, const char *key)
{
	char *group = group_of(type, name);
	char *w = key && (key_line(sc, group, key) || g_key_file_has_key(
				  sc->kf, group, key, NULL)) ?
			  where_key(sc, group, key) :
			  where_group(sc, group);
	g_free(group);
	return w;
}

static bool valid_word(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
			return false;
	return true;
}

/* Split "type name" into its words; false if not of that form. */
static bool split_group(const char *group, char **type, char **name)
{
	const char *sp = strchr(group, ' ');
	if (!sp) {
		*type = g_strdup(group);
		*name = NULL;
		return valid_word(group);
	}
	*type = g_strndup(group, (gsize)(sp - group));
	*name = g_strdup(sp + 1);
	return valid_word(*type) && valid_word(*name);
}

static char *group_of(const char *type, const char *name)
{
	return name ? g_strdup_printf("%s %s", type, name) : g_strdup(type);
}

static struct scenario *scenario_alloc(const char *path)
{
	struct scenario *sc = g_new0(struct scenario, 1);
	sc->path = g_strdup(path);
	sc->kf = g_key_file_new();
	sc->key_lines = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					      NULL);
	sc->group_lines = g_hash_table_new_full(g_str_hash, g_str_equal,
						g_free, NULL);
	sc->groups = g_ptr_array_new_with_free_func(g_free);
	sc->set_src = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					    g_free);
	sc->names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					  (GDestroyNotify)g_strfreev);
	sc->vals = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					 g_free);
	sc->effective = g_key_file_new();
	sc->eff_groups = g_ptr_array_new_with_free_func(g_free);
	return sc;
}

void scenario_free(struct scenario *sc)
{
	if (!sc)
		return;
	g_free(sc->path);
	g_key_file_free(sc->kf);
	g_hash_table_destroy(sc->key_lines);
	g_hash_table_destroy(sc->group_lines);
	g_ptr_array_free(sc->groups, TRUE);
	g_hash_table_destroy(sc->set_src);
	g_hash_table_destroy(sc->names);
	g_hash_table_destroy(sc->vals);
	g_key_file_free(sc->effective);
	g_ptr_array_free(sc->eff_groups, TRUE);
	g_free(sc);
}

const char *scenario_path(const struct scenario *sc)
{
	return sc->path;
}

/* Index sections and keys by line, catching what GKeyFile would accept
 * silently (duplicates) or report without a line number. */
static bool scenario_index(struct scenario *sc, const char *data,
			   GError **error)
{
	char **lines = g_strsplit(data, "\n", -1);
	char *group = NULL;
	bool ok = true;
	for (int i = 0; lines[i] && ok; i++) {
		int ln = i + 1;
		char *l = g_strstrip(lines[i]);
		if (!*l || *l == '#' || *l == ';')
			continue;
		if (*l == '[') {
			char *end = strchr(l, ']');
			if (!end || end[1]) {
				g_set_error(error, CONFIG_ERROR, 0,
					    "%s:%d: malformed section header "
					    "'%s' (expected [TYPE] or "
					    "[TYPE NAME])", sc->path, ln, l);
				ok = false;
				break;
			}
			g_free(group);
			group = g_strndup(l + 1, (gsize)(end - l - 1));
			char *t, *n;
			bool good = split_group(group, &t, &n);
			g_free(t);
			g_free(n);
			if (!good) {
				g_set_error(error, CONFIG_ERROR, 0,
					    "%s:%d: section name '[%s]' must be "
					    "[TYPE] or [TYPE NAME], one space "
					    "between, letters, digits, '_' and "
					    "'-' only", sc->path, ln, group);
				ok = false;
				break;
			}
			int prev = group_line(sc, group);
			if (prev) {
				g_set_error(error, CONFIG_ERROR, 0,
					    "%s:%d: section [%s] appears twice "
					    "(first at line %d)", sc->path, ln,
					    group, prev);
				ok = false;
				break;
			}
			g_hash_table_insert(sc->group_lines, g_strdup(group),
					    GINT_TO_POINTER(ln));
			g_ptr_array_add(sc->groups, g_strdup(group));
			continue;
		}
		char *eq = strchr(l, '=');
		if (!eq) {
			g_set_error(error, CONFIG_ERROR, 0,
				    "%s:%d: '%s' is not 'key = value', a "
				    "[section] or a # comment", sc->path, ln, l);
			ok = false;
			break;
		}
		if (!group) {
			g_set_error(error, CONFIG_ERROR, 0,
				    "%s:%d: key outside any section (start the "
				    "file with a section such as [sim])",
				    sc->path, ln);
			ok = false;
			break;
		}
		char *key = g_strstrip(g_strndup(l, (gsize)(eq - l)));
		int prev = key_line(sc, group, key);
		if (prev) {
			g_set_error(error, CONFIG_ERROR, 0,
				    "%s:%d: [%s] key '%s' is set twice (first "
				    "at line %d)", sc->path, ln, group, key,
				    prev);
			ok = false;
		} else {
			g_hash_table_insert(sc->key_lines, lkey(group, key),
					    GINT_TO_POINTER(ln));
		}
		g_free(key);
	}
	g_free(group);
	g_strfreev(lines);
	return ok;
}

struct scenario *scenario_load_data(const char *data, const char *name,
				    GError **error)
{
	struct scenario *sc = scenario_alloc(name);
	GError *kerr = NULL;
	if (!scenario_index(sc, data, error))
		goto fail;
	if (!g_key_file_load_from_data(sc->kf, data, (gsize)-1,
				       G_KEY_FILE_NONE, &kerr)) {
		g_set_error(error, CONFIG_ERROR, 0, "%s: %s", name,
			    kerr->message);
		g_error_free(kerr);
		goto fail;
	}
	return sc;
fail:
	scenario_free(sc);
	return NULL;
}

/* Scenario files are a few KiB of text; anything this large is a mistake
 * (a log, an image) and is refused before it is read. */
#define SCENARIO_MAX_BYTES (16u << 20)

/* Line and column (1-based) of byte @off of @data. */
static void text_pos(const char *data, size_t off, unsigned *line,
		     unsigned *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off; i++) {
		if (data[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

/* Read a scenario file: a regular file (a FIFO would block, a device
 * never end, a directory is no text) of at most SCENARIO_MAX_BYTES. */
static char *scenario_read(const char *path, size_t *len, GError **error)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		int e = errno;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e),
			    "%s: cannot read: %s", path, g_strerror(e));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > SCENARIO_MAX_BYTES) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
			    "%s: cannot read: %s", path,
			    S_ISDIR(st.st_mode) ? "it is a directory" :
			    S_ISFIFO(st.st_mode) ? "it is a FIFO, not a "
						   "scenario file" :
			    S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)
				    ? "it is a device, not a scenario file" :
			    !S_ISREG(st.st_mode) ? "not a regular file" :
						   "larger than 16 MiB: not a "
						   "scenario file");
		close(fd);
		return NULL;
	}
	GString *b = g_string_sized_new((gsize)st.st_size + 1);
	char chunk[65536];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			g_set_error(error, G_FILE_ERROR,
				    g_file_error_from_errno(e),
				    "%s: cannot read: %s", path, g_strerror(e));
			close(fd);
			g_string_free(b, TRUE);
			return NULL;
		}
		if (n == 0)
			break;
		g_string_append_len(b, chunk, n);
		if (b->len > SCENARIO_MAX_BYTES) {
			g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
				    "%s: cannot read: larger than 16 MiB: not "
				    "a scenario file", path);
			close(fd);
			g_string_free(b, TRUE);
			return NULL;
		}
	}
	close(fd);
	*len = b->len;
	return g_string_free(b, FALSE);
}

/* Text a scenario may hold: UTF-8 without NUL bytes (GKeyFile, like any
 * C string reader, would silently stop at the first NUL).  A UTF-8 byte
 * order mark, which some editors write, is skipped. */
static const char *scenario_text_check(const char *path, const char *data,
				       size_t len, GError **error)
{
	const char *bom = "\xef\xbb\xbf";
	size_t skip = len >= 3 && !memcmp(data, bom, 3) ? 3 : 0;
	const char *nul = memchr(data, '\0', len);
	const char *bad = NULL;
	unsigned line, col;
	if (nul) {
		text_pos(data, (size_t)(nul - data), &line, &col);
		g_set_error(error, CONFIG_ERROR, 0,
			    "%s:%u: a NUL byte at column %u: not a text file",
			    path, line, col);
		return NULL;
	}
	if (!g_utf8_validate(data + skip, (gssize)(len - skip), &bad)) {
		text_pos(data, (size_t)(bad - data), &line, &col);
		g_set_error(error, CONFIG_ERROR, 0,
			    "%s:%u: invalid UTF-8 at column %u: not a text "
			    "file (scenarios are UTF-8 text)", path, line, col);
		return NULL;
	}
	return data + skip;
}

struct scenario *scenario_load(const char *path, GError **error)
{
	size_t len = 0;
	char *data = scenario_read(path, &len, error);
	if (!data)
		return NULL;
	const char *text = scenario_text_check(path, data, len, error);
	struct scenario *sc = text ? scenario_load_data(text, path, error)
				   : NULL;
	g_free(data);
	return sc;
}

bool scenario_set(struct scenario *sc, const char *assignment,
		  const char *origin, GError **error)
{
	const char *eq = strchr(assignment, '=');
	if (!eq || eq == assignment) {
		g_set_error(error, CONFIG_ERROR, 0,
			    "--set %s: expected TYPE[.NAME].KEY=VALUE, e.g. "
			    "host.a.memory=8GiB", assignment);
		return false;
	}
	char *path = g_strndup(assignment, (gsize)(eq - assignment));
	char **parts = g_strsplit(path, ".", -1);
	unsigned n = g_strv_length(parts);
	bool ok = true;
	if (n < 2 || n > 3) {
		g_set_error(error, CONFIG_ERROR, 0,
			    "--set %s: expected TYPE.KEY or TYPE.NAME.KEY "
			    "before '=', e.g. host.a.memory=8GiB", assignment);
		ok = false;
		goto out;
	}
	for (unsigned i = 0; i < n; i++)
		if (!valid_word(parts[i])) {
			g_set_error(error, CONFIG_ERROR, 0,
				    "--set %s: '%s' is not a valid name",
				    assignment, parts[i]);
			ok = false;
			goto out;
		}
	char *group = group_of(parts[0], n == 3 ? parts[1] : NULL);
	const char *key = parts[n - 1];
	if (!g_key_file_has_group(sc->kf, group))
		g_ptr_array_add(sc->groups, g_strdup(group));
	g_key_file_set_string(sc->kf, group, key, eq + 1);
	g_hash_table_replace(sc->set_src, lkey(group, key),
			     origin ? g_strdup(origin) :
				      g_strdup_printf("--set %s", assignment));
	g_free(group);
out:
	g_strfreev(parts);
	g_free(path);
	return ok;
}

/* ---- edit distance for suggestions ---- */

static unsigned edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned *row = g_new(unsigned, lb + 1);
	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned diag = row[0];
		row[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned up = row[j];
			unsigned cost = a[i - 1] == b[j - 1] ? 0 : 1;
			unsigned v = diag + cost;
			if (row[j] + 1 < v)
				v = row[j] + 1;
			if (row[j - 1] + 1 < v)
				v = row[j - 1] + 1;
			row[j] = v;
			diag = up;
		}
	}
	unsigned d = row[lb];
	g_free(row);
	return d;
}

const char *config_nearest(const char *word, const char *const *cands)
{
	const char *best = NULL;
	unsigned bestd = UINT32_MAX;
	for (; *cands; cands++) {
		unsigned d = edit_distance(word, *cands);
		if (d < bestd) {
			bestd = d;
			best = *cands;
		}
	}
	size_t len = strlen(word);
	unsigned limit = len < 6 ? 2 : (unsigned)(len / 3);
	return bestd <= limit ? best : NULL;
}

static char *suggest(const char *word, const char *const *cands)
{
	const char *n = config_nearest(word, cands);
	return n ? g_strdup_printf(" (did you mean '%s'?)", n) : g_strdup("");
}

/* ---- schema validation ---- */

static const struct section_schema *
schema_find(const struct section_schema *schema, const char *type)
{
	for (; schema->type; schema++)
		if (!strcmp(schema->type, type))
			return schema;
	return NULL;
}

static const struct param *table_find(const struct param_table *t,
				      const char *key)
{
	for (unsigned i = 0; t && i < t->n; i++)
		if (!strcmp(t->params[i].name, key))
			return &t->params[i];
	return NULL;
}

static void add_names(GPtrArray *v, const struct param_table *t)
{
	for (unsigned i = 0; t && i < t->n; i++)
		g_ptr_array_add(v, (gpointer)t->params[i].name);
}

static const char *strip_comment(char *v)
{
	for (char *p = v; *p; p++)
		if ((*p == '#' || *p == ';') && (p == v || p[-1] == ' ' ||
						 p[-1] == '\t')) {
			*p = 0;
			break;
		}
	return g_strstrip(v);
}

const char *scenario_get(struct scenario *sc, const char *type,
			 const char *name, const char *key)
{
	char *group = group_of(type, name);
	/* most keys asked for are absent (defaults): ask cheaply first, as
	 * g_key_file_get_string builds and drops an error when absent */
	char *v = g_key_file_has_key(sc->kf, group, key, NULL)
			  ? g_key_file_get_string(sc->kf, group, key, NULL)
			  : NULL;
	if (!v) {
		g_free(group);
		return NULL;
	}
	strip_comment(v);
	/* the stripped copy lives as long as the scenario */
	char *k = lkey(group, key);
	g_free(group);
	g_hash_table_replace(sc->vals, k, v);
	return v;
}

static const struct param_table *
subtable_for(const struct section_schema *s, const char *subtype)
{
	for (const struct param_table *const *t = s->subtables; t && *t; t++)
		if (!strcmp((*t)->component, subtype))
			return *t;
	return NULL;
}

bool scenario_validate(struct scenario *sc,
		       const struct section_schema *schema, GError **error)
{
	for (guint gi = 0; gi < sc->groups->len; gi++) {
		const char *group = sc->groups->pdata[gi];
		char *type, *name;
		split_group(group, &type, &name);
		char *where = where_group(sc, group);
		bool ok = false;
		const struct section_schema *s = schema_find(schema, type);
		if (!s) {
			GPtrArray *types = g_ptr_array_new();
			for (const struct section_schema *x = schema; x->type;
			     x++)
				g_ptr_array_add(types, (gpointer)x->type);
			g_ptr_array_add(types, NULL);
			char *sug = suggest(type, (const char *const *)
						       types->pdata);
			char *all = g_strjoinv(", ", (char **)types->pdata);
			g_set_error(error, CONFIG_ERROR, 0,
				    "%s: unknown section type [%s]%s; known: %s",
				    where, group, sug, all);
			g_free(all);
			g_free(sug);
			g_ptr_array_free(types, TRUE);
			goto next;
		}
		if (s->naming == SEC_UNNAMED && name) {
			g_set_error(error, CONFIG_ERROR, 0,
				    "%s: section [%s] takes no name: write [%s]",
				    where, group, type);
			goto next;
		}
		if (s->naming == SEC_NAMED && !name) {
			g_set_error(error, CONFIG_ERROR, 0,
				    "%s: section [%s] needs a name: [%s NAME]",
				    where, group, type);
			goto next;
		}
		if (name && s->owner) {
			char *og = group_of(s->owner, name);
			bool has = g_key_file_has_group(sc->kf, og) &&
				   group_line(sc, og);
			g_free(og);
			if (!has) {
				g_set_error(error, CONFIG_ERROR, 0,
					    "%s: [%s] names %s '%s', but there is "
					    "no section [%s %s]", where, group,
					    s->owner, name, s->owner, name);
				goto next;
			}
		}
		if (name && !s->owner && !group_line(sc, group)) {
			g_set_error(error, CONFIG_ERROR, 0,
				    "%s: only existing [%s NAME] sections can "
				    "be overridden", where, type);
			goto next;
		}
		const struct param_table *sub = NULL;
		if (s->subtype_key) {
			const char *st = scenario_get(sc, type, name,
						      s->subtype_key);
			if (!st) {
				g_set_error(error, CONFIG_ERROR, 0,
					    "%s: [%s]: missing required key "
					    "'%s'", where, group,
					    s->subtype_key);
				goto next;
			}
			sub = subtable_for(s, st);
			if (!sub) {
				GPtrArray *v = g_ptr_array_new();
				for (const struct param_table *const *t =
					     s->subtables;
				     *t; t++)
					g_ptr_array_add(v,
							(gpointer)(*t)->component);
				g_ptr_array_add(v, NULL);
				char *sug = suggest(st, (const char *const *)
								v->pdata);
				char *all = g_strjoinv(", ", (char **)v->pdata);
				char *kw = where_key(sc, group, s->subtype_key);
				g_set_error(error, CONFIG_ERROR, 0,
					    "%s: [%s] %s: unknown %s '%s'%s; "
					    "known: %s", kw, group,
					    s->subtype_key, type, st, sug, all);
				g_free(kw);
				g_free(all);
				g_free(sug);
				g_ptr_array_free(v, TRUE);
				goto next;
			}
		}
		gsize nkeys;
		char **keys = g_key_file_get_keys(sc->kf, group, &nkeys, NULL);
		for (gsize k = 0; keys && k < nkeys; k++) {
			if (table_find(s->table, keys[k]) ||
			    table_find(sub, keys[k]))
				continue;
			GPtrArray *v = g_ptr_array_new();
			add_names(v, s->table);
			add_names(v, sub);
			g_ptr_array_add(v, NULL);
			char *sug = suggest(keys[k],
					    (const char *const *)v->pdata);
			char *kw = where_key(sc, group, keys[k]);
			g_set_error(error, CONFIG_ERROR, 0,
				    "%s: [%s] unknown key '%s'%s", kw, group,
				    keys[k], sug);
			g_free(kw);
			g_free(sug);
			g_ptr_array_free(v, TRUE);
			g_strfreev(keys);
			goto next;
		}
		g_strfreev(keys);
		ok = true;
next:
		g_free(where);
		g_free(type);
		g_free(name);
		if (!ok)
			return false;
	}
	return true;
}

const char *const *scenario_names(struct scenario *sc, const char *type)
{
	char **v = g_hash_table_lookup(sc->names, type);
	if (v)
		return (const char *const *)v;
	GPtrArray *a = g_ptr_array_new();
	for (guint i = 0; i < sc->groups->len; i++) {
		char *t, *n;
		split_group(sc->groups->pdata[i], &t, &n);
		if (!strcmp(t, type) && n)
			g_ptr_array_add(a, n);
		else
			g_free(n);
		g_free(t);
	}
	g_ptr_array_add(a, NULL);
	v = (char **)g_ptr_array_free(a, FALSE);
	g_hash_table_insert(sc->names, g_strdup(type), v);
	return (const char *const *)v;
}

bool scenario_has(const struct scenario *sc, const char *type,
		  const char *name)
{
	char *g = group_of(type, name);
	bool has = g_key_file_has_group(sc->kf, g);
	g_free(g);
	return has;
}

static enum unit_kind param_unit(enum param_type t)
{
	switch (t) {
	case PT_TIME: return UNIT_TIME;
	case PT_SIZE: return UNIT_SIZE;
	case PT_RATE: return UNIT_RATE;
	case PT_FREQ: return UNIT_FREQ;
	default: return UNIT_COUNT;
	}
}

static bool param_is_u64(enum param_type t)
{
	return t <= PT_COUNT;
}

static char *choices_list(const char *const *c)
{
	return g_strjoinv(", ", (char **)c);
}

/* Parse @val into @cfg; the message in @error carries no location. */
static bool param_parse(const struct param *p, const char *val, void *cfg,
			GError **error)
{
	void *field = (char *)cfg + p->off;
	double num = 0;
	switch (p->type) {
	case PT_TIME:
	case PT_SIZE:
	case PT_RATE:
	case PT_FREQ:
	case PT_COUNT: {
		uint64_t v;
		if (!units_parse(val, param_unit(p->type), &v, error))
			return false;
		*(uint64_t *)field = v;
		num = (double)v;
		break;
	}
	case PT_FLOAT:
		if (!units_parse_double(val, (double *)field, error))
			return false;
		num = *(double *)field;
		break;
	case PT_BOOL: {
		static const char *const yes[] = { "true", "yes", "on", "1" };
		static const char *const no[] = { "false", "no", "off", "0" };
		for (unsigned i = 0; i < 4; i++) {
			if (!g_ascii_strcasecmp(val, yes[i])) {
				*(bool *)field = true;
				return true;
			}
			if (!g_ascii_strcasecmp(val, no[i])) {
				*(bool *)field = false;
				return true;
			}
		}
		g_set_error(error, CONFIG_ERROR, 0,
			    "'%s' is not a boolean (true/false, yes/no, on/off)",
			    val);
		return false;
	}
	case PT_STRING:
		g_free(*(char **)field);
		*(char **)field = g_strdup(val);
		return true;
	case PT_ENUM:
		for (int i = 0; p->choices[i]; i++)
			if (!strcmp(p->choices[i], val)) {
				*(int *)field = i;
				return true;
			}
		{
			char *sug = suggest(val, p->choices);
			char *all = choices_list(p->choices);
			g_set_error(error, CONFIG_ERROR, 0,
				    "'%s' is not one of %s%s", val, all, sug);
			g_free(all);
			g_free(sug);
		}
		return false;
	}
	if (p->min != 0 || p->max != 0) {
		if (num < p->min || num > p->max) {
			char *lo, *hi;
			if (param_is_u64(p->type)) {
				lo = units_format((uint64_t)p->min,
						  param_unit(p->type));
				hi = units_format((uint64_t)p->max,
						  param_unit(p->type));
			} else {
				lo = g_strdup_printf("%g", p->min);
				hi = g_strdup_printf("%g", p->max);
			}
			g_set_error(error, CONFIG_ERROR, 0,
				    "%s is out of range (%s to %s)", val, lo,
				    hi);
			g_free(lo);
			g_free(hi);
			return false;
		}
	}
	return true;
}

char *config_value_string(const struct param *p, const void *cfg)
{
	const void *field = (const char *)cfg + p->off;
	switch (p->type) {
	case PT_TIME:
	case PT_SIZE:
	case PT_RATE:
	case PT_FREQ:
	case PT_COUNT:
		return units_format(*(const uint64_t *)field,
				    param_unit(p->type));
	case PT_FLOAT:
		return g_strdup_printf("%g", *(const double *)field);
	case PT_BOOL:
		return g_strdup(*(const bool *)field ? "true" : "false");
	case PT_STRING:
		return g_strdup(*(char *const *)field ?
					*(char *const *)field : "");
	case PT_ENUM:
		return g_strdup(p->choices[*(const int *)field]);
	}
	g_assert_not_reached();
}

void config_defaults(const struct param_table *table, void *cfg)
{
	for (unsigned i = 0; i < table->n; i++) {
		const struct param *p = &table->params[i];
		if (!p->def)
			continue;
		GError *err = NULL;
		/* a bad default is a bug in the table, not a user error */
		if (!param_parse(p, p->def, cfg, &err))
			g_error("default of %s.%s: %s", table->component,
				p->name, err->message);
	}
}

void config_free(const struct param_table *table, void *cfg)
{
	for (unsigned i = 0; i < table->n; i++)
		if (table->params[i].type == PT_STRING) {
			char **f = (char **)((char *)cfg +
					     table->params[i].off);
			g_free(*f);
			*f = NULL;
		}
}

static void effective_record(struct scenario *sc, const char *group,
			     const struct param *p, const void *cfg,
			     const char *origin)
{
	if (!g_key_file_has_group(sc->effective, group))
		g_ptr_array_add(sc->eff_groups, g_strdup(group));
	char *v = config_value_string(p, cfg);
	g_key_file_set_string(sc->effective, group, p->name, v);
	char *c = g_strdup_printf(" %s", origin);
	g_key_file_set_comment(sc->effective, group, p->name, c, NULL);
	g_free(c);
	g_free(v);
}

bool config_fill(struct scenario *sc, const struct param_table *table,
		 void *cfg, const char *type, const char *name,
		 GError **error)
{
	char *groups[2] = { g_strdup(type), name ? group_of(type, name) : NULL };
	char *own = groups[1] ? groups[1] : groups[0];
	bool ok = true;
	for (unsigned i = 0; i < table->n && ok; i++) {
		const struct param *p = &table->params[i];
		const char *val = NULL, *vgroup = NULL;
		for (int g = 0; g < 2; g++) {
			if (!groups[g])
				continue;
			char *t, *n;
			split_group(groups[g], &t, &n);
			const char *v = scenario_get(sc, t, n, p->name);
			g_free(t);
			g_free(n);
			if (v) {
				val = v;
				vgroup = groups[g];
			}
		}
		if (!val && !p->def) {
			char *w = where_group(sc, own);
			g_set_error(error, CONFIG_ERROR, 0,
				    "%s: [%s]: missing required key '%s' (%s)",
				    w, own, p->name, p->meaning);
			g_free(w);
			ok = false;
			break;
		}
		GError *perr = NULL;
		if (!param_parse(p, val ? val : p->def, cfg, &perr)) {
			g_assert(val); /* defaults are checked by tests */
			char *w = where_key(sc, vgroup, p->name);
			g_set_error(error, CONFIG_ERROR, 0, "%s: [%s] %s: %s", w,
				    vgroup, p->name, perr->message);
			g_free(w);
			g_error_free(perr);
			ok = false;
			break;
		}
		char *origin;
		if (!val)
			origin = p->source && *p->source ?
					 g_strdup_printf("default (%s)",
							 p->source) :
					 g_strdup("default");
		else
			origin = where_key(sc, vgroup, p->name);
		effective_record(sc, own, p, cfg, origin);
		g_free(origin);
	}
	g_free(groups[0]);
	g_free(groups[1]);
	return ok;
}

static int config_cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char *scenario_effective(const struct scenario *sc)
{
	GString *s = g_string_new(NULL);
	g_string_append_printf(s, "# effective configuration of %s: every "
				  "value read, with where it came from\n",
			       sc->path);
	for (guint i = 0; i < sc->eff_groups->len; i++) {
		const char *g = sc->eff_groups->pdata[i];
		g_string_append_printf(s, "\n[%s]\n", g);
		gsize n;
		char **keys = g_key_file_get_keys(sc->effective, g, &n, NULL);
		for (gsize k = 0; k < n; k++) {
			char *v = g_key_file_get_string(sc->effective, g,
							keys[k], NULL);
			char *c = g_key_file_get_comment(sc->effective, g,
							 keys[k], NULL);
			g_strstrip(c);
			g_string_append_printf(s, "%s = %s  # %s\n", keys[k], v,
					       c);
			g_free(v);
			g_free(c);
		}
		g_strfreev(keys);
	}
	return g_string_free(s, FALSE);
}

char *scenario_effective_values(const struct scenario *sc)
{
	GString *s = g_string_new(NULL);
	GPtrArray *groups = g_ptr_array_new();
	for (guint i = 0; i < sc->eff_groups->len; i++)
		g_ptr_array_add(groups, sc->eff_groups->pdata[i]);
	g_ptr_array_sort(groups, (GCompareFunc)config_cmp_strp);
	for (guint i = 0; i < groups->len; i++) {
		const char *g = groups->pdata[i];
		g_string_append_printf(s, "[%s]\n", g);
		gsize n;
		char **keys = g_key_file_get_keys(sc->effective, g, &n, NULL);
		qsort(keys, n, sizeof(char *), config_cmp_strp);
		for (gsize k = 0; k < n; k++) {
			char *v = g_key_file_get_string(sc->effective, g,
							keys[k], NULL);
			g_string_append_printf(s, "%s = %s\n", keys[k], v);
			g_free(v);
		}
		g_strfreev(keys);
	}
	g_ptr_array_free(groups, TRUE);
	return g_string_free(s, FALSE);
}

static const char *param_type_name(const struct param *p)
{
	switch (p->type) {
	case PT_TIME: return "time";
	case PT_SIZE: return "size";
	case PT_RATE: return "rate";
	case PT_FREQ: return "freq";
	case PT_COUNT: return "count";
	case PT_FLOAT: return "real";
	case PT_BOOL: return "bool";
	case PT_STRING: return "string";
	case PT_ENUM: return "choice";
	}
	return "?";
}

void config_json_table(const struct param_table *table, struct json_writer *w)
{
	json_str(w, "component", table->component);
	json_str(w, "summary", table->summary);
	json_arr_begin(w, "params");
	for (unsigned i = 0; i < table->n; i++) {
		const struct param *p = &table->params[i];
		json_obj_begin(w, NULL);
		json_str(w, "name", p->name);
		json_str(w, "type", param_type_name(p));
		if (p->def)
			json_str(w, "default", p->def);
		else
			json_null(w, "default"); /* required */
		json_bool(w, "required", p->def == NULL);
		if (param_is_u64(p->type) && p->type != PT_COUNT)
			json_str(w, "unit", units_kind_name(param_unit(p->type)));
		else
			json_null(w, "unit");
		json_str(w, "meaning", p->meaning);
		json_str(w, "source", p->source ? p->source : "");
		if (p->type == PT_ENUM) {
			json_arr_begin(w, "choices");
			for (const char *const *c = p->choices; *c; c++)
				json_str(w, NULL, *c);
			json_arr_end(w);
		}
		if (p->min != 0 || p->max != 0) {
			json_dbl(w, "min", p->min);
			json_dbl(w, "max", p->max);
		} else {
			json_null(w, "min");
			json_null(w, "max");
		}
		json_obj_end(w);
	}
	json_arr_end(w);
	json_arr_begin(w, "statistics");
	for (unsigned i = 0; i < table->nstats; i++) {
		const struct stat_doc *d = &table->stats[i];
		json_obj_begin(w, NULL);
		json_str(w, "name", d->name);
		json_str(w, "unit", d->unit);
		json_str(w, "meaning", d->meaning);
		json_str(w, "mirrors", d->mirrors ? d->mirrors : "");
		json_obj_end(w);
	}
	json_arr_end(w);
}

void config_print_table(const struct param_table *table, FILE *out)
{
	fprintf(out, "[%s] %s\n", table->component, table->summary);
	for (unsigned i = 0; i < table->n; i++) {
		const struct param *p = &table->params[i];
		char *def = p->def ? g_strdup(p->def) : g_strdup("(required)");
		fprintf(out, "  %-22s %-7s %-14s %s\n", p->name,
			param_type_name(p), def, p->meaning);
		if (p->type == PT_ENUM) {
			char *all = choices_list(p->choices);
			fprintf(out, "  %-22s %-7s %-14s one of: %s\n", "", "", "",
				all);
			g_free(all);
		}
		if (p->min != 0 || p->max != 0) {
			char *lo, *hi;
			if (param_is_u64(p->type)) {
				lo = units_format((uint64_t)p->min,
						  param_unit(p->type));
				hi = units_format((uint64_t)p->max,
						  param_unit(p->type));
			} else {
				lo = g_strdup_printf("%g", p->min);
				hi = g_strdup_printf("%g", p->max);
			}
			fprintf(out, "  %-22s %-7s %-14s range: %s to %s\n", "",
				"", "", lo, hi);
			g_free(lo);
			g_free(hi);
		}
		if (p->source && *p->source)
			fprintf(out, "  %-22s %-7s %-14s source: %s\n", "", "",
				"", p->source);
		g_free(def);
	}
	if (table->nstats)
		fprintf(out, "  statistics (HOST.NAME in the summary):\n");
	for (unsigned i = 0; i < table->nstats; i++) {
		const struct stat_doc *d = &table->stats[i];
		fprintf(out, "  %-38s %-10s %s\n", d->name, d->unit,
			d->meaning);
		if (d->mirrors && *d->mirrors)
			fprintf(out, "  %-38s %-10s mirrors: %s\n", "", "",
				d->mirrors);
	}
}
