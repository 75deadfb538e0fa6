/*
 * sim/snapfile.h - snapshot files: a host's state as an ELF64 core file
 * (libelf), written and validated without knowing any model.
 *
 * Representation in memory: a list of notes (type + serialized record, see
 * sim/vmstate.h) and a list of load segments, each a VMA's address range,
 * permissions and the pages that are resident in it with their content
 * version tags.
 *
 * On disk (ET_CORE, ELFCLASS64, little-endian, EM_X86_64, no sections):
 * the ELF header, the program headers, one PT_NOTE segment holding every
 * note (name "ODPSIM", type NT_ODPSIM_*, descriptor = the serialized
 * record), then one PT_LOAD per segment, page-aligned: p_vaddr = VMA start,
 * p_memsz = VMA size, p_filesz = up to the end of its last resident page
 * (0 when none is).  The simulator holds no page bytes: the block of a
 * resident page is SNAP_PAGE_SIZE bytes whose first 8 are the page's
 * content version (LE u64), the next 8 the marker "ODPSPAGE", the rest
 * zero; a page that is not resident is a hole (all zero, and sparse on
 * file systems that support it), so the file costs disk space only for
 * resident pages.  Segments are laid out in order; the file ends with the
 * last segment's data.
 *
 * Errors (missing, unreadable, not ELF, truncated, foreign, unknown note
 * or wrong record version) are GErrors whose one-line message starts with
 * the file name.
 */
#ifndef SIM_SNAPFILE_H
#define SIM_SNAPFILE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "sim/vmstate.h"

#define SNAP_NOTE_NAME "ODPSIM"
#define SNAP_PAGE_SIZE 4096u
#define SNAP_PAGE_MARK "ODPSPAGE"

/*
 * Note types (n_type of notes named "ODPSIM"): record number n is
 * NT_ODPSIM_BASE + n.  readelf names the types of core-file notes from the
 * Linux table whatever their owner (1 would show as NT_PRSTATUS, 6 as
 * NT_AUXV, and eu-readelf would try to decode them as such), so the
 * numbers sit in a range no core note uses ("OD" << 16): readelf shows
 * them as "Unknown note type" and prints their bytes.
 */
#define NT_ODPSIM_BASE 0x4f440000u
enum snap_note_type {
	NT_ODPSIM_MR = NT_ODPSIM_BASE + 1,  /* a memory region (nic/snapshot.c) */
	NT_ODPSIM_QP = NT_ODPSIM_BASE + 2,  /* a queue pair (nic/snapshot.c) */
	NT_ODPSIM_MTT = NT_ODPSIM_BASE + 3, /* a run of MTT entries of an MR */
	NT_ODPSIM_VMA = NT_ODPSIM_BASE + 4, /* a VMA; the i-th describes the
					     * i-th PT_LOAD */
	NT_ODPSIM_RUN = NT_ODPSIM_BASE + 5, /* the run: scenario, overrides,
					     * time, events, fingerprint */
	NT_ODPSIM_SCHEMA = NT_ODPSIM_BASE + 6, /* the tables as text */
};

struct snap_note {
	uint32_t type;
	GByteArray *desc;
};

struct snap_page {
	uint64_t index;   /* page number within the segment */
	uint64_t version; /* content version tag */
};

struct snap_seg {
	uint64_t vaddr, memsz;
	unsigned prot;  /* PF_R | PF_W | PF_X */
	GArray *pages;  /* struct snap_page, ascending index */
};

struct snapfile {
	GPtrArray *notes; /* struct snap_note * */
	GPtrArray *segs;  /* struct snap_seg * */
};

struct snapfile *snapfile_new(void);
void snapfile_free(struct snapfile *sf);
/* Append a note holding @d's serialization of @obj. */
void snapfile_add_record(struct snapfile *sf, const struct vmstate_desc *d,
			 const void *obj);
void snapfile_add_note(struct snapfile *sf, uint32_t type, const void *data,
		       size_t len);
struct snap_seg *snapfile_add_seg(struct snapfile *sf, uint64_t vaddr,
				  uint64_t memsz, unsigned prot);
void snap_seg_add_page(struct snap_seg *seg, uint64_t index,
		       uint64_t version);

/* Write @sf into @of (sim/outfile.h: a temporary beside the target that
 * its owner commits, or aborts when this fails). */
struct outfile;
bool snapfile_write(const struct snapfile *sf, struct outfile *of,
		    GError **error);
/*
 * Read and validate @path: an ELF64 core whose every note is named ODPSIM,
 * has a type with a description in @descs (NULL-terminated) and is a whole
 * record of that description's version; every segment lies inside the
 * file.  Page tags are read back from the PT_LOAD data.
 */
struct snapfile *snapfile_read(const char *path,
			       const struct vmstate_desc *const *descs,
			       GError **error);
/* The description of note type @type in @descs, or NULL. */
const struct vmstate_desc *snapfile_desc(
	const struct vmstate_desc *const *descs, uint32_t type);
unsigned snapfile_count(const struct snapfile *sf, uint32_t type);

#endif
