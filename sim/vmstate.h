/*
 * sim/vmstate.h - versioned, table-driven state descriptions (QEMU's
 * VMState, STYLE.md): the one description of a record that snapshots and
 * the migration stream share.
 *
 * Representation: a record type is a const struct vmstate_desc: a name, a
 * version and a table of fields {name, offset, size, type}.  Offsets are
 * into the live model struct (struct nic_mr, struct nic_qp) or, when a
 * record gathers state from more than one object (a VMA with its address
 * space, an MTT run), into a small record struct the owning module fills.
 * A field whose value is derived rather than stored (an ops-table pointer
 * saved as a policy index) has a getter instead of an offset.
 *
 * Encoding (the serialized state, e.g. an ELF note's descriptor): a
 * little-endian u32 version, then every field in table order: integers
 * little-endian in their size; VMS_STR a u32 byte count and the bytes (no
 * NUL); VMS_U64_ARRAY a u32 element count and the elements (u64 LE each).
 * No padding, no field names: the table is the schema, and
 * vmstate_schema() writes it out as text for self-describing files.
 *
 * Serializing walks the table; so do decoding (vmstate_format), comparison
 * (vmstate_diff names the first field that differs) and validation
 * (vmstate_check: the right version and exactly the right length).
 */
#ifndef SIM_VMSTATE_H
#define SIM_VMSTATE_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum vmstate_type {
	VMS_UINT,      /* unsigned integer of `size` bytes (1, 2, 4, 8) */
	VMS_BOOL,      /* bool, encoded as one byte */
	VMS_ENUM,      /* enum (int), encoded as u32; `names` prints it */
	VMS_STR,       /* char * (NULL encodes as "") */
	VMS_U64_ARRAY, /* uint64_t *, element count in the VMS_UINT field
			* at `count_off` (a size_t-free uint64_t) */
	VMS_GET,       /* derived u32/u64 of `size` bytes: get(obj) */
};

struct vmstate_field {
	const char *name;
	size_t offset;
	size_t size;                  /* encoded bytes of integer fields */
	enum vmstate_type type;
	const char *const *names;     /* VMS_ENUM/VMS_GET: value names, or NULL */
	unsigned nnames;
	size_t count_off;             /* VMS_U64_ARRAY */
	uint64_t (*get)(const void *obj); /* VMS_GET */
};

struct vmstate_desc {
	const char *name;   /* "MR", "QP" */
	uint32_t type;      /* the ELF note type that carries it */
	uint32_t version;
	const struct vmstate_field *fields;
	unsigned nfields;
};

#define VMSTATE_DESC(var, nm, ty, ver, arr) \
	const struct vmstate_desc var = { nm, ty, ver, arr, G_N_ELEMENTS(arr) }

#define VMS_FIELD(st, f, nm) \
	{ .name = (nm), .offset = offsetof(st, f), \
	  .size = sizeof(((st *)0)->f), .type = VMS_UINT }
#define VMS_FIELD_BOOL(st, f, nm) \
	{ .name = (nm), .offset = offsetof(st, f), .size = 1, .type = VMS_BOOL }
#define VMS_FIELD_ENUM(st, f, nm, tab, n) \
	{ .name = (nm), .offset = offsetof(st, f), .size = 4, \
	  .type = VMS_ENUM, .names = (tab), .nnames = (n) }
#define VMS_FIELD_STR(st, f, nm) \
	{ .name = (nm), .offset = offsetof(st, f), .size = 0, .type = VMS_STR }
#define VMS_FIELD_U64_ARRAY(st, f, cnt, nm) \
	{ .name = (nm), .offset = offsetof(st, f), .size = 8, \
	  .type = VMS_U64_ARRAY, .count_off = offsetof(st, cnt) }
#define VMS_FIELD_GET(nm, sz, fn, tab, n) \
	{ .name = (nm), .size = (sz), .type = VMS_GET, .get = (fn), \
	  .names = (tab), .nnames = (n) }

/* Append the serialized state of @obj to @out. */
void vmstate_save(const struct vmstate_desc *d, const void *obj,
		  GByteArray *out);
/* Is @buf a whole record of @d in this version?  The message (for a
 * GError naming the file) says what is wrong. */
bool vmstate_check(const struct vmstate_desc *d, const uint8_t *buf,
		   size_t len, GError **error);
/* Decode a checked record as "name=value name=value ..." (arrays as a
 * count and the first few entries). */
void vmstate_format(const struct vmstate_desc *d, const uint8_t *buf,
		    size_t len, GString *out);
/* The value of integer field @name of a checked record (0 if absent). */
uint64_t vmstate_get_u64(const struct vmstate_desc *d, const uint8_t *buf,
			 size_t len, const char *name);
/* A string field of a checked record, newly allocated ("" if absent). */
char *vmstate_get_str(const struct vmstate_desc *d, const uint8_t *buf,
		      size_t len, const char *name);
/* NULL when the two records are equal, else a newly allocated message
 * naming the first field that differs and both values. */
char *vmstate_diff(const struct vmstate_desc *d, const uint8_t *a,
		   size_t alen, const uint8_t *b, size_t blen);
/* One line per record type: "NAME TYPE VERSION field:kind ...". */
void vmstate_schema(const struct vmstate_desc *const *descs, GString *out);

#define VMSTATE_ERROR (vmstate_error_quark())
GQuark vmstate_error_quark(void);

#endif
