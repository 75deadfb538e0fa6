/*
 * sim/vmstate.c - table-driven serialization (see vmstate.h for the
 * representation and the encoding).  Every operation is one walk of the
 * field table; decoding goes through vms_next(), which bounds-checks each
 * field against the record's length.
 */
#include "sim/vmstate.h"

#include <string.h>

G_DEFINE_QUARK(odpsim-vmstate-error-quark, vmstate_error)

static void put_le(GByteArray *out, uint64_t v, size_t size)
{
	uint8_t b[8];
	for (size_t i = 0; i < size; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	g_byte_array_append(out, b, (guint)size);
}

static uint64_t get_le(const uint8_t *b, size_t size)
{
	uint64_t v = 0;
	for (size_t i = 0; i < size; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

static uint64_t load_uint(const void *p, size_t size)
{
	switch (size) {
	case 1: return *(const uint8_t *)p;
	case 2: return *(const uint16_t *)p;
	case 4: return *(const uint32_t *)p;
	case 8: return *(const uint64_t *)p;
	}
	g_assert_not_reached();
}

void vmstate_save(const struct vmstate_desc *d, const void *obj,
		  GByteArray *out)
{
	const char *base = obj;
	put_le(out, d->version, 4);
	for (unsigned i = 0; i < d->nfields; i++) {
		const struct vmstate_field *f = &d->fields[i];
		const void *p = base + f->offset;
		switch (f->type) {
		case VMS_UINT:
			put_le(out, load_uint(p, f->size), f->size);
			break;
		case VMS_BOOL:
			put_le(out, *(const bool *)p ? 1 : 0, 1);
			break;
		case VMS_ENUM:
			put_le(out, (uint32_t)*(const int *)p, 4);
			break;
		case VMS_STR: {
			const char *s = *(char *const *)p;
			size_t n = s ? strlen(s) : 0;
			put_le(out, n, 4);
			if (n)
				g_byte_array_append(out, (const guint8 *)s,
						    (guint)n);
			break;
		}
		case VMS_U64_ARRAY: {
			const uint64_t *v = *(uint64_t *const *)p;
			uint64_t n = *(const uint64_t *)(base + f->count_off);
			g_assert(n <= UINT32_MAX);
			put_le(out, n, 4);
			for (uint64_t k = 0; k < n; k++)
				put_le(out, v[k], 8);
			break;
		}
		case VMS_GET:
			put_le(out, f->get(obj), f->size);
			break;
		}
	}
}

/* One decoded field: where its bytes are, and its value if an integer. */
struct vms_item {
	const uint8_t *p; /* encoded bytes after any count */
	size_t len;       /* of those bytes */
	uint64_t v;       /* integers: the value; strings, arrays: count */
};

static size_t enc_size(const struct vmstate_field *f)
{
	return f->type == VMS_BOOL ? 1 : f->type == VMS_ENUM ? 4 : f->size;
}

/* Decode field @f at *@off; false when the record ends too early. */
static bool vms_next(const struct vmstate_field *f, const uint8_t *buf,
		     size_t len, size_t *off, struct vms_item *it)
{
	size_t o = *off;
	if (f->type == VMS_STR || f->type == VMS_U64_ARRAY) {
		if (len - o < 4)
			return false;
		uint64_t n = get_le(buf + o, 4);
		size_t bytes = f->type == VMS_STR ? n : n * 8;
		o += 4;
		if (len - o < bytes)
			return false;
		it->p = buf + o;
		it->len = bytes;
		it->v = n;
		*off = o + bytes;
		return true;
	}
	size_t n = enc_size(f);
	if (len - o < n)
		return false;
	it->p = buf + o;
	it->len = n;
	it->v = get_le(buf + o, n);
	*off = o + n;
	return true;
}

bool vmstate_check(const struct vmstate_desc *d, const uint8_t *buf,
		   size_t len, GError **error)
{
	if (len < 4) {
		g_set_error(error, VMSTATE_ERROR, 0,
			    "%s record of %zu bytes has no version", d->name,
			    len);
		return false;
	}
	uint32_t ver = (uint32_t)get_le(buf, 4);
	if (ver != d->version) {
		g_set_error(error, VMSTATE_ERROR, 0,
			    "%s record has version %u, this odpsim reads "
			    "version %u",
			    d->name, ver, d->version);
		return false;
	}
	size_t off = 4;
	for (unsigned i = 0; i < d->nfields; i++) {
		struct vms_item it;
		if (!vms_next(&d->fields[i], buf, len, &off, &it)) {
			g_set_error(error, VMSTATE_ERROR, 0,
				    "%s record ends inside field '%s' (%zu "
				    "bytes)",
				    d->name, d->fields[i].name, len);
			return false;
		}
	}
	if (off != len) {
		g_set_error(error, VMSTATE_ERROR, 0,
			    "%s record has %zu bytes after its last field",
			    d->name, len - off);
		return false;
	}
	return true;
}

static void format_item(const struct vmstate_field *f,
			const struct vms_item *it, GString *out)
{
	switch (f->type) {
	case VMS_STR:
		g_string_append_c(out, '"');
		g_string_append_len(out, (const char *)it->p,
				    (gssize)MIN(it->len, 64));
		if (it->len > 64)
			g_string_append(out, "...");
		g_string_append_c(out, '"');
		return;
	case VMS_U64_ARRAY:
		g_string_append_printf(out, "[%" G_GUINT64_FORMAT "]", it->v);
		for (uint64_t k = 0; k < it->v && k < 4; k++)
			g_string_append_printf(out, "%s%#" G_GINT64_MODIFIER "x",
					       k ? "," : "{",
					       get_le(it->p + 8 * k, 8));
		if (it->v)
			g_string_append(out, it->v > 4 ? ",...}" : "}");
		return;
	default:
		if (f->names && it->v < f->nnames && f->names[it->v])
			g_string_append(out, f->names[it->v]);
		else if (f->size >= 4 && it->v > 0xffff)
			g_string_append_printf(out, "%#" G_GINT64_MODIFIER "x",
					       it->v);
		else
			g_string_append_printf(out, "%" G_GUINT64_FORMAT,
					       it->v);
	}
}

void vmstate_format(const struct vmstate_desc *d, const uint8_t *buf,
		    size_t len, GString *out)
{
	size_t off = 4;
	for (unsigned i = 0; i < d->nfields; i++) {
		struct vms_item it;
		if (!vms_next(&d->fields[i], buf, len, &off, &it))
			return;
		g_string_append_printf(out, "%s%s=", i ? " " : "",
				       d->fields[i].name);
		format_item(&d->fields[i], &it, out);
	}
}

static bool find_field(const struct vmstate_desc *d, const uint8_t *buf,
		       size_t len, const char *name, struct vms_item *it)
{
	size_t off = 4;
	for (unsigned i = 0; i < d->nfields; i++) {
		if (!vms_next(&d->fields[i], buf, len, &off, it))
			return false;
		if (!strcmp(d->fields[i].name, name))
			return true;
	}
	return false;
}

uint64_t vmstate_get_u64(const struct vmstate_desc *d, const uint8_t *buf,
			 size_t len, const char *name)
{
	struct vms_item it;
	return find_field(d, buf, len, name, &it) ? it.v : 0;
}

char *vmstate_get_str(const struct vmstate_desc *d, const uint8_t *buf,
		      size_t len, const char *name)
{
	struct vms_item it;
	if (!find_field(d, buf, len, name, &it))
		return g_strdup("");
	return g_strndup((const char *)it.p, it.len);
}

char *vmstate_diff(const struct vmstate_desc *d, const uint8_t *a,
		   size_t alen, const uint8_t *b, size_t blen)
{
	if (alen == blen && !memcmp(a, b, alen))
		return NULL;
	size_t oa = 4, ob = 4;
	for (unsigned i = 0; i < d->nfields; i++) {
		const struct vmstate_field *f = &d->fields[i];
		struct vms_item x, y;
		bool okx = vms_next(f, a, alen, &oa, &x);
		bool oky = vms_next(f, b, blen, &ob, &y);
		if (!okx || !oky)
			return g_strdup_printf("%s: field %s: record is "
					       "truncated", d->name, f->name);
		if (x.len == y.len && x.v == y.v && !memcmp(x.p, y.p, x.len))
			continue;
		GString *s = g_string_new(NULL);
		g_string_append_printf(s, "%s field %s: ", d->name, f->name);
		format_item(f, &x, s);
		g_string_append(s, " vs ");
		format_item(f, &y, s);
		return g_string_free(s, FALSE);
	}
	return g_strdup_printf("%s: records differ in version or length",
			       d->name);
}

void vmstate_schema(const struct vmstate_desc *const *descs, GString *out)
{
	static const char *const kind[] = {
		[VMS_UINT] = "u", [VMS_BOOL] = "bool", [VMS_ENUM] = "enum32",
		[VMS_STR] = "str", [VMS_U64_ARRAY] = "u64[]", [VMS_GET] = "u",
	};
	for (; *descs; descs++) {
		const struct vmstate_desc *d = *descs;
		g_string_append_printf(out, "%s type=%u version=%u", d->name,
				       d->type, d->version);
		for (unsigned i = 0; i < d->nfields; i++) {
			const struct vmstate_field *f = &d->fields[i];
			g_string_append_printf(out, " %s:%s", f->name,
					       kind[f->type]);
			if (f->type == VMS_UINT || f->type == VMS_GET)
				g_string_append_printf(out, "%zu",
						       f->size * 8);
		}
		g_string_append_c(out, '\n');
	}
}
