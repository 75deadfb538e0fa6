/*
 * sim/snapfile.c - snapshot files as ELF64 core files (see snapfile.h for
 * the layout).  libelf writes the ELF header and program headers (with
 * ELF_F_LAYOUT: we place everything); note and page data go in with
 * pwrite after it, at the offsets the program headers name.  Reading maps
 * the file (ELF_C_READ_MMAP) and fetches every note segment and PT_LOAD
 * with elf_getdata_rawchunk, after checking that each lies in the file.
 */
#include "sim/snapfile.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <libelf.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim/outfile.h"

#define SNAP_ERROR (snap_error_quark())
static G_DEFINE_QUARK(odpsim-snapshot-error-quark, snap_error)

#define ALIGN_UP(x, a) (((x) + (a) - 1) / (a) * (a))

static void note_free(struct snap_note *n)
{
	g_byte_array_unref(n->desc);
	g_free(n);
}

static void seg_free(struct snap_seg *s)
{
	g_array_unref(s->pages);
	g_free(s);
}

struct snapfile *snapfile_new(void)
{
	struct snapfile *sf = g_new0(struct snapfile, 1);
	sf->notes = g_ptr_array_new_with_free_func((GDestroyNotify)note_free);
	sf->segs = g_ptr_array_new_with_free_func((GDestroyNotify)seg_free);
	return sf;
}

void snapfile_free(struct snapfile *sf)
{
	if (!sf)
		return;
	g_ptr_array_free(sf->notes, TRUE);
	g_ptr_array_free(sf->segs, TRUE);
	g_free(sf);
}

void snapfile_add_note(struct snapfile *sf, uint32_t type, const void *data,
		       size_t len)
{
	struct snap_note *n = g_new0(struct snap_note, 1);
	n->type = type;
	n->desc = g_byte_array_sized_new((guint)len);
	g_byte_array_append(n->desc, data, (guint)len);
	g_ptr_array_add(sf->notes, n);
}

void snapfile_add_record(struct snapfile *sf, const struct vmstate_desc *d,
			 const void *obj)
{
	struct snap_note *n = g_new0(struct snap_note, 1);
	n->type = d->type;
	n->desc = g_byte_array_new();
	vmstate_save(d, obj, n->desc);
	g_ptr_array_add(sf->notes, n);
}

struct snap_seg *snapfile_add_seg(struct snapfile *sf, uint64_t vaddr,
				  uint64_t memsz, unsigned prot)
{
	struct snap_seg *s = g_new0(struct snap_seg, 1);
	s->vaddr = vaddr;
	s->memsz = memsz;
	s->prot = prot;
	s->pages = g_array_new(FALSE, FALSE, sizeof(struct snap_page));
	g_ptr_array_add(sf->segs, s);
	return s;
}

void snap_seg_add_page(struct snap_seg *seg, uint64_t index,
		       uint64_t version)
{
	struct snap_page p = { index, version };
	g_assert(!seg->pages->len ||
		 g_array_index(seg->pages, struct snap_page,
			       seg->pages->len - 1).index < index);
	g_array_append_val(seg->pages, p);
}

const struct vmstate_desc *snapfile_desc(
	const struct vmstate_desc *const *descs, uint32_t type)
{
	for (; *descs; descs++)
		if ((*descs)->type == type)
			return *descs;
	return NULL;
}

unsigned snapfile_count(const struct snapfile *sf, uint32_t type)
{
	unsigned n = 0;
	for (guint i = 0; i < sf->notes->len; i++)
		n += ((struct snap_note *)sf->notes->pdata[i])->type == type;
	return n;
}

static uint64_t seg_filesz(const struct snap_seg *s)
{
	if (!s->pages->len)
		return 0;
	const struct snap_page *last = &g_array_index(
		s->pages, struct snap_page, s->pages->len - 1);
	return (last->index + 1) * SNAP_PAGE_SIZE;
}

static const size_t name_len = sizeof(SNAP_NOTE_NAME); /* with NUL */

static GByteArray *notes_image(const struct snapfile *sf)
{
	GByteArray *b = g_byte_array_new();
	static const uint8_t zero[4];
	for (guint i = 0; i < sf->notes->len; i++) {
		const struct snap_note *n = sf->notes->pdata[i];
		Elf64_Nhdr h = { .n_namesz = (Elf64_Word)name_len,
				 .n_descsz = n->desc->len,
				 .n_type = n->type };
		g_byte_array_append(b, (const guint8 *)&h, sizeof(h));
		g_byte_array_append(b, (const guint8 *)SNAP_NOTE_NAME,
				    (guint)name_len);
		g_byte_array_append(b, zero, (guint)(ALIGN_UP(name_len, 4) -
						     name_len));
		g_byte_array_append(b, n->desc->data, n->desc->len);
		g_byte_array_append(b, zero, (guint)(ALIGN_UP(n->desc->len, 4) -
						     n->desc->len));
	}
	return b;
}

static bool pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
	const char *p = buf;
	while (len) {
		ssize_t w = pwrite(fd, p, len, off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		len -= (size_t)w;
		off += w;
	}
	return true;
}

static unsigned pf_flags(unsigned prot)
{
	return prot; /* PF_X = 1, PF_W = 2, PF_R = 4: the caller passes PF_* */
}

bool snapfile_write(const struct snapfile *sf, struct outfile *of,
		    GError **error)
{
	const char *path = outfile_path(of);
	if (elf_version(EV_CURRENT) == EV_NONE) {
		g_set_error(error, SNAP_ERROR, 0, "%s: libelf: %s", path,
			    elf_errmsg(-1));
		return false;
	}
	bool ok = false;
	Elf *e = NULL;
	GByteArray *notes = notes_image(sf);
	int fd = outfile_fd(of);
	size_t nph = 1 + sf->segs->len;
	uint64_t off = sizeof(Elf64_Ehdr) + nph * sizeof(Elf64_Phdr);
	uint64_t note_off = ALIGN_UP(off, 8);
	off = note_off + notes->len;

	e = elf_begin(fd, ELF_C_WRITE, NULL);
	GElf_Ehdr eh;
	if (!e || !gelf_newehdr(e, ELFCLASS64) || !gelf_getehdr(e, &eh))
		goto elf_fail;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_OSABI] = ELFOSABI_NONE;
	eh.e_type = ET_CORE;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_phoff = sizeof(Elf64_Ehdr);
	eh.e_shoff = 0;
	eh.e_ehsize = sizeof(Elf64_Ehdr);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_shentsize = sizeof(Elf64_Shdr);
	if (!gelf_update_ehdr(e, &eh) || !gelf_newphdr(e, nph))
		goto elf_fail;
	elf_flagelf(e, ELF_C_SET, ELF_F_LAYOUT);
	GElf_Phdr ph = { .p_type = PT_NOTE, .p_offset = note_off,
			 .p_filesz = notes->len, .p_align = 4 };
	if (!gelf_update_phdr(e, 0, &ph))
		goto elf_fail;
	GArray *seg_off = g_array_new(FALSE, FALSE, sizeof(uint64_t));
	for (guint i = 0; i < sf->segs->len; i++) {
		const struct snap_seg *s = sf->segs->pdata[i];
		off = ALIGN_UP(off, SNAP_PAGE_SIZE);
		g_array_append_val(seg_off, off);
		GElf_Phdr lp = { .p_type = PT_LOAD, .p_flags = pf_flags(s->prot),
				 .p_offset = off, .p_vaddr = s->vaddr,
				 .p_paddr = 0, .p_filesz = seg_filesz(s),
				 .p_memsz = s->memsz, .p_align = SNAP_PAGE_SIZE };
		off += lp.p_filesz;
		if (!gelf_update_phdr(e, (int)i + 1, &lp)) {
			g_array_unref(seg_off);
			goto elf_fail;
		}
	}
	if (elf_update(e, ELF_C_WRITE) < 0) {
		g_array_unref(seg_off);
		goto elf_fail;
	}
	elf_end(e);
	e = NULL;
	bool w = pwrite_all(fd, notes->data, notes->len, (off_t)note_off);
	for (guint i = 0; w && i < sf->segs->len; i++) {
		const struct snap_seg *s = sf->segs->pdata[i];
		uint64_t base = g_array_index(seg_off, uint64_t, i);
		for (guint k = 0; w && k < s->pages->len; k++) {
			const struct snap_page *p =
				&g_array_index(s->pages, struct snap_page, k);
			uint8_t blk[16];
			for (unsigned j = 0; j < 8; j++)
				blk[j] = (uint8_t)(p->version >> (8 * j));
			memcpy(blk + 8, SNAP_PAGE_MARK, 8);
			w = pwrite_all(fd, blk, sizeof(blk),
				       (off_t)(base + p->index * SNAP_PAGE_SIZE));
		}
	}
	g_array_unref(seg_off);
	if (!w || ftruncate(fd, (off_t)off) != 0)
		goto io_fail;
	ok = true;
	goto out;
elf_fail:
	outfile_fail(of, EIO);
	g_set_error(error, SNAP_ERROR, 0, "%s: cannot write ELF core: %s",
		    path, elf_errmsg(-1));
	goto out;
io_fail:
	{
		int err = errno;
		outfile_fail(of, err);
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(err),
			    "%s: cannot write snapshot: %s", path,
			    strerror(err));
	}
out:
	if (e)
		elf_end(e);
	g_byte_array_unref(notes);
	return ok;
}

/* The notes of one PT_NOTE segment. */
static bool read_notes(struct snapfile *sf, Elf *elf, const GElf_Phdr *ph,
		       const char *path,
		       const struct vmstate_desc *const *descs,
		       GError **error)
{
	Elf_Data *d = elf_getdata_rawchunk(elf, (int64_t)ph->p_offset,
					   ph->p_filesz, ELF_T_NHDR);
	if (!d) {
		g_set_error(error, SNAP_ERROR, 0,
			    "%s: cannot read the note segment: %s", path,
			    elf_errmsg(-1));
		return false;
	}
	size_t off = 0, next;
	GElf_Nhdr nh;
	size_t name_off, desc_off;
	unsigned idx = 0;
	while (off < d->d_size &&
	       (next = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
		const char *name = (const char *)d->d_buf + name_off;
		if (nh.n_namesz != name_len ||
		    memcmp(name, SNAP_NOTE_NAME, name_len) != 0) {
			/* the owner is the file's bytes: escaped, so the
			 * message is one line of text (tests/fuzz) */
			char *raw = g_strndup(name, MIN(nh.n_namesz, 32u));
			char *owner = g_strescape(raw, NULL);
			g_set_error(error, SNAP_ERROR, 0,
				    "%s: note %u is owned by '%s', not "
				    "ODPSIM: a foreign ELF core, not an odpsim "
				    "snapshot",
				    path, idx, owner);
			g_free(owner);
			g_free(raw);
			return false;
		}
		const struct vmstate_desc *vd = snapfile_desc(descs, nh.n_type);
		const uint8_t *desc = (const uint8_t *)d->d_buf + desc_off;
		GError *e = NULL;
		if (!vd) {
			g_set_error(error, SNAP_ERROR, 0,
				    "%s: note %u has unknown type %u", path,
				    idx, nh.n_type);
			return false;
		}
		if (!vmstate_check(vd, desc, nh.n_descsz, &e)) {
			g_set_error(error, SNAP_ERROR, 0, "%s: note %u: %s",
				    path, idx, e->message);
			g_error_free(e);
			return false;
		}
		snapfile_add_note(sf, nh.n_type, desc, nh.n_descsz);
		off = next;
		idx++;
	}
	if (off < d->d_size) {
		g_set_error(error, SNAP_ERROR, 0,
			    "%s: note %u is corrupt (at byte %zu of the note "
			    "segment)", path, idx, off);
		return false;
	}
	return true;
}

/* The resident pages of one PT_LOAD. */
static bool read_seg(struct snapfile *sf, Elf *elf, const GElf_Phdr *ph,
		     size_t i, const char *path, GError **error)
{
	unsigned prot = ph->p_flags & (PF_R | PF_W | PF_X);
	struct snap_seg *s = snapfile_add_seg(sf, ph->p_vaddr, ph->p_memsz,
					      prot);
	if (!ph->p_filesz)
		return true;
	Elf_Data *d = elf_getdata_rawchunk(elf, (int64_t)ph->p_offset,
					   ph->p_filesz, ELF_T_BYTE);
	if (!d) {
		g_set_error(error, SNAP_ERROR, 0,
			    "%s: cannot read segment %zu: %s", path, i,
			    elf_errmsg(-1));
		return false;
	}
	static const uint8_t zero[16];
	for (uint64_t k = 0; k < ph->p_filesz / SNAP_PAGE_SIZE; k++) {
		const uint8_t *b = (const uint8_t *)d->d_buf +
				   k * SNAP_PAGE_SIZE;
		if (!memcmp(b + 8, SNAP_PAGE_MARK, 8)) {
			uint64_t v = 0;
			for (unsigned j = 0; j < 8; j++)
				v |= (uint64_t)b[j] << (8 * j);
			snap_seg_add_page(s, k, v);
		} else if (memcmp(b, zero, sizeof(zero)) != 0) {
			g_set_error(error, SNAP_ERROR, 0,
				    "%s: segment %zu: page %" G_GUINT64_FORMAT
				    " is neither a page block nor a hole",
				    path, i, k);
			return false;
		}
	}
	return true;
}

/* A PT_LOAD is a VMA: whole pages of an address range that does not
 * wrap, its page blocks page-aligned in the file. */
static bool check_load(const GElf_Phdr *ph, size_t i, const char *path,
		       GError **error)
{
	const char *why = NULL;
	if (!ph->p_memsz)
		why = "is empty";
	else if (ph->p_vaddr % SNAP_PAGE_SIZE || ph->p_memsz % SNAP_PAGE_SIZE)
		why = "is not whole pages";
	else if (ph->p_vaddr + ph->p_memsz < ph->p_vaddr)
		why = "wraps past the end of the address space";
	else if (ph->p_filesz % SNAP_PAGE_SIZE || ph->p_filesz > ph->p_memsz)
		why = "has a file size that is not whole pages of it";
	else if (ph->p_filesz && ph->p_offset % SNAP_PAGE_SIZE)
		why = "has its page blocks at an offset that is not "
		      "page-aligned";
	if (!why)
		return true;
	g_set_error(error, SNAP_ERROR, 0,
		    "%s: segment %zu (%#" G_GINT64_MODIFIER "x, %#"
		    G_GINT64_MODIFIER "x bytes at file offset %#"
		    G_GINT64_MODIFIER "x) %s", path, i, (guint64)ph->p_vaddr,
		    (guint64)ph->p_memsz, (guint64)ph->p_offset, why);
	return false;
}

struct file_range {
	uint64_t off, end;
	size_t ph; /* program header index, SIZE_MAX: the headers */
};

static gint range_cmp(gconstpointer a, gconstpointer b)
{
	const struct file_range *x = a, *y = b;
	return x->off < y->off ? -1 : x->off > y->off;
}

/* No two segments' bytes (nor a segment and the headers) share the
 * file: a writer lays them out one after the other. */
static bool check_layout(GArray *phs, uint64_t headers_end, const char *path,
			 GError **error)
{
	GArray *r = g_array_new(FALSE, FALSE, sizeof(struct file_range));
	struct file_range h = { 0, headers_end, SIZE_MAX };
	g_array_append_val(r, h);
	for (guint i = 0; i < phs->len; i++) {
		const GElf_Phdr *ph = &g_array_index(phs, GElf_Phdr, i);
		if ((ph->p_type != PT_LOAD && ph->p_type != PT_NOTE) ||
		    !ph->p_filesz)
			continue;
		struct file_range x = { ph->p_offset,
					ph->p_offset + ph->p_filesz, i };
		g_array_append_val(r, x);
	}
	g_array_sort(r, range_cmp);
	bool ok = true;
	for (guint i = 1; ok && i < r->len; i++) {
		const struct file_range *x =
			&g_array_index(r, struct file_range, i - 1);
		const struct file_range *y =
			&g_array_index(r, struct file_range, i);
		if (y->off >= x->end)
			continue;
		ok = false;
		if (x->ph == SIZE_MAX)
			g_set_error(error, SNAP_ERROR, 0,
				    "%s: the bytes of program header %zu (at "
				    "file offset %#" G_GINT64_MODIFIER "x) "
				    "overlap the ELF headers", path, y->ph,
				    (guint64)y->off);
		else
			g_set_error(error, SNAP_ERROR, 0,
				    "%s: the bytes of program headers %zu and "
				    "%zu overlap in the file (at offset %#"
				    G_GINT64_MODIFIER "x)", path,
				    MIN(x->ph, y->ph), MAX(x->ph, y->ph),
				    (guint64)y->off);
	}
	g_array_unref(r);
	return ok;
}

struct snapfile *snapfile_read(const char *path,
			       const struct vmstate_desc *const *descs,
			       GError **error)
{
	if (elf_version(EV_CURRENT) == EV_NONE) {
		g_set_error(error, SNAP_ERROR, 0, "%s: libelf: %s", path,
			    elf_errmsg(-1));
		return NULL;
	}
	/* O_NONBLOCK: a FIFO would block the open itself */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		int err = errno;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(err),
			    "%s: cannot open snapshot: %s", path,
			    strerror(err));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
			    "%s: cannot open snapshot: %s", path,
			    S_ISDIR(st.st_mode) ? "it is a directory"
						: "not a regular file");
		close(fd);
		return NULL;
	}
	struct snapfile *sf = snapfile_new();
	bool ok = false;
	uint64_t size = (uint64_t)st.st_size;
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	GElf_Ehdr eh;
	size_t nph = 0;
	unsigned nnote = 0;
	GArray *phs = NULL;
	char magic[SELFMAG];
	bool is_elf = pread(fd, magic, SELFMAG, 0) == SELFMAG &&
		      !memcmp(magic, ELFMAG, SELFMAG);
	if (!is_elf) {
		g_set_error(error, SNAP_ERROR, 0,
			    "%s: not an ELF file (not an odpsim snapshot)",
			    path);
		goto out;
	}
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh) || elf_getphdrnum(elf, &nph) != 0) {
		int en = elf_errno();
		g_set_error(error, SNAP_ERROR, 0,
			    "%s: truncated or corrupt ELF header (%s)", path,
			    en ? elf_errmsg(en) : "file too short");
		goto out;
	}
	if (gelf_getclass(elf) != ELFCLASS64 || eh.e_type != ET_CORE ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB) {
		g_set_error(error, SNAP_ERROR, 0,
			    "%s: an ELF file, but not an odpsim snapshot (not "
			    "a little-endian ELF64 core file)", path);
		goto out;
	}
	if (eh.e_phnum != PN_XNUM && eh.e_phnum > nph)
		nph = eh.e_phnum; /* libelf may not see all of a cut table */
	/* at most 2^32 headers of at most 2^16 bytes: no overflow; the sum
	 * with e_phoff could wrap, so it is never formed */
	uint64_t phbytes = (uint64_t)nph * eh.e_phentsize;
	if (eh.e_phoff > size || phbytes > size - eh.e_phoff) {
		g_set_error(error, SNAP_ERROR, 0,
			    "%s: truncated snapshot (%" G_GUINT64_FORMAT
			    " bytes of program headers at offset %"
			    G_GUINT64_FORMAT ", file is %" G_GUINT64_FORMAT
			    " bytes)", path, (guint64)phbytes,
			    (guint64)eh.e_phoff, (guint64)size);
		goto out;
	}
	/* Every header first: a file whose segments lie outside it, overlap
	 * its headers or one another, or whose PT_LOADs are not whole pages of
	 * an address range that does not wrap is refused before any of it is
	 * read (tests/test_snapshot.c, segments_checked). */
	phs = g_array_sized_new(FALSE, FALSE, sizeof(GElf_Phdr), (guint)nph);
	for (size_t i = 0, nload = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph)) {
			g_set_error(error, SNAP_ERROR, 0,
				    "%s: bad program header %zu: %s", path, i,
				    elf_errmsg(-1));
			goto out;
		}
		if (ph.p_offset > size || ph.p_filesz > size - ph.p_offset) {
			g_set_error(error, SNAP_ERROR, 0,
				    "%s: truncated snapshot (program header %zu: %"
				    G_GUINT64_FORMAT " bytes at offset %"
				    G_GUINT64_FORMAT ", file is %"
				    G_GUINT64_FORMAT " bytes)",
				    path, i, (guint64)ph.p_filesz,
				    (guint64)ph.p_offset, (guint64)size);
			goto out;
		}
		if (ph.p_type == PT_LOAD &&
		    !check_load(&ph, nload++, path, error))
			goto out;
		g_array_append_val(phs, ph);
	}
	if (!check_layout(phs, MAX(eh.e_phoff + phbytes, sizeof(Elf64_Ehdr)),
			  path, error))
		goto out;
	for (size_t i = 0; i < nph; i++) {
		const GElf_Phdr *ph = &g_array_index(phs, GElf_Phdr, i);
		if (ph->p_type == PT_NOTE) {
			nnote++;
			if (!read_notes(sf, elf, ph, path, descs, error))
				goto out;
		} else if (ph->p_type == PT_LOAD) {
			if (!read_seg(sf, elf, ph, sf->segs->len, path, error))
				goto out;
		}
	}
	if (!nnote || !sf->notes->len) {
		g_set_error(error, SNAP_ERROR, 0,
			    "%s: an ELF core without odpsim notes (not an "
			    "odpsim snapshot)", path);
		goto out;
	}
	ok = true;
out:
	if (phs)
		g_array_unref(phs);
	if (elf)
		elf_end(elf);
	close(fd);
	if (!ok) {
		snapfile_free(sf);
		return NULL;
	}
	return sf;
}
