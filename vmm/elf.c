/*
 * vmm/elf.c - ELF process images (libelf).
 *
 * Representation: nothing persists but VMAs.  Each PT_LOAD program header
 * of the file becomes up to two VMAs: the file-backed part, rounded out to
 * pages, with the segment's permissions (an executable or read-only segment
 * is VMM_VMA_FILE, a writable one VMM_VMA_FILE_PRIV: page-cache hit on first
 * touch, anonymous after), and the zero-fill part beyond p_filesz ("bss",
 * VMM_VMA_ANON) from the first page boundary after the file bytes up to
 * p_vaddr + p_memsz.  Segments are loaded at their link addresses (an
 * ET_DYN image is placed at 0x555555554000 like a Linux PIE).
 *
 * Errors (missing, unreadable, truncated or non-ELF file, overlapping
 * segments, sizes or offsets that overflow, no segment with memory) are
 * GErrors whose message starts with the file name: a return of 0 always
 * sets one.  The file is untrusted input: every sum of two header fields
 * is checked without computing it (a - b, never a + b > c), since both
 * are 64-bit and a wrapped sum would pass any bound.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/vmm_int.h"


#define PIE_BASE 0x555555554000ULL

static unsigned prot_of(GElf_Word flags)
{
	return ((flags & PF_R) ? VMM_PROT_READ : 0) |
	       ((flags & PF_W) ? VMM_PROT_WRITE : 0) |
	       ((flags & PF_X) ? VMM_PROT_EXEC : 0);
}

static const char *seg_name(unsigned prot)
{
	if (prot & VMM_PROT_EXEC)
		return ".text";
	if (prot & VMM_PROT_WRITE)
		return ".data";
	return ".rodata";
}

unsigned vmm_load_elf(struct vmm_as *as, const char *path, GError **error)
{
	if (elf_version(EV_CURRENT) == EV_NONE) {
		g_set_error(error, VMM_ERROR, 0, "%s: libelf: %s", path,
			    elf_errmsg(-1));
		return 0;
	}
	/* O_NONBLOCK: a FIFO would block the open itself */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e),
			    "%s: cannot open ELF image: %s", path, strerror(e));
		return 0;
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int e = errno;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e),
			    "%s: cannot stat ELF image: %s", path, strerror(e));
		close(fd);
		return 0;
	}
	if (!S_ISREG(st.st_mode)) {
		g_set_error(error, VMM_ERROR, 0,
			    "%s: an ELF image must be a regular file (this is "
			    "%s)", path,
			    S_ISDIR(st.st_mode) ? "a directory" :
			    S_ISFIFO(st.st_mode) ? "a FIFO" :
			    S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)
				    ? "a device" : "not a regular file");
		close(fd);
		return 0;
	}
	unsigned made = 0;
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	GElf_Ehdr eh;
	size_t nph = 0;
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		g_set_error(error, VMM_ERROR, 0, "%s: not an ELF file", path);
		goto out;
	}
	if (!gelf_getehdr(elf, &eh) || elf_getphdrnum(elf, &nph) != 0) {
		g_set_error(error, VMM_ERROR, 0,
			    "%s: truncated or corrupt ELF header: %s", path,
			    elf_errmsg(-1));
		goto out;
	}
	/* libelf clamps the count to the headers that fit in the file: a
	 * truncated table must be judged by the count the header declares */
	if (eh.e_phnum != PN_XNUM && eh.e_phnum > nph)
		nph = eh.e_phnum;
	uint64_t fsize = (uint64_t)st.st_size;
	/* at most 2^32 headers of at most 2^16 bytes: no overflow */
	uint64_t phbytes = (uint64_t)nph * eh.e_phentsize;
	if (eh.e_phoff > fsize || phbytes > fsize - eh.e_phoff) {
		g_set_error(error, VMM_ERROR, 0,
			    "%s: truncated ELF file (%" G_GUINT64_FORMAT
			    " bytes of program headers at offset %"
			    G_GUINT64_FORMAT ", file is %" G_GUINT64_FORMAT
			    " bytes)",
			    path, (guint64)phbytes, (guint64)eh.e_phoff,
			    (guint64)fsize);
		goto out;
	}
	uint64_t bias = eh.e_type == ET_DYN ? PIE_BASE : 0;
	/* check every segment before mapping any */
	unsigned nload = 0;
	const uint64_t va_end = 1ULL << VMM_VA_BITS;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph)) {
			g_set_error(error, VMM_ERROR, 0,
				    "%s: bad program header %zu: %s", path, i,
				    elf_errmsg(-1));
			goto out;
		}
		if (ph.p_type != PT_LOAD)
			continue;
		if (ph.p_offset > fsize || ph.p_filesz > fsize - ph.p_offset) {
			g_set_error(error, VMM_ERROR, 0,
				    "%s: truncated ELF file (segment %zu has %"
				    G_GUINT64_FORMAT " bytes at offset %"
				    G_GUINT64_FORMAT ", file is %"
				    G_GUINT64_FORMAT " bytes)",
				    path, i, (guint64)ph.p_filesz,
				    (guint64)ph.p_offset, (guint64)fsize);
			goto out;
		}
		/* bias < va_end, so va_end - bias does not wrap */
		if (ph.p_filesz > ph.p_memsz ||
		    ph.p_vaddr > va_end - bias ||
		    ph.p_memsz > va_end - bias - ph.p_vaddr) {
			g_set_error(error, VMM_ERROR, 0,
				    "%s: segment %zu has impossible sizes or "
				    "addresses (vaddr %#" G_GINT64_MODIFIER
				    "x, %" G_GUINT64_FORMAT " bytes in the "
				    "file, %" G_GUINT64_FORMAT " in memory)",
				    path, i, (guint64)ph.p_vaddr,
				    (guint64)ph.p_filesz, (guint64)ph.p_memsz);
			goto out;
		}
		/* a segment of no memory maps nothing (as Linux's loader
		 * skips it) */
		if (ph.p_memsz)
			nload++;
	}
	if (!nload) {
		g_set_error(error, VMM_ERROR, 0,
			    "%s: no PT_LOAD segment with memory (p_memsz > 0)",
			    path);
		goto out;
	}
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		gelf_getphdr(elf, (int)i, &ph);
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		unsigned prot = prot_of(ph.p_flags);
		uint64_t va = ph.p_vaddr + bias;
		uint64_t s = va & ~(VMM_PAGE_SIZE - 1);
		uint64_t fend = (va + ph.p_filesz + VMM_PAGE_SIZE - 1) &
				~(VMM_PAGE_SIZE - 1);
		uint64_t mend = (va + ph.p_memsz + VMM_PAGE_SIZE - 1) &
				~(VMM_PAGE_SIZE - 1);
		if (ph.p_filesz == 0)
			fend = s;
		GError *e = NULL;
		if (fend > s) {
			enum vmm_vma_kind k = (prot & VMM_PROT_WRITE)
						      ? VMM_VMA_FILE_PRIV
						      : VMM_VMA_FILE;
			if (!vmm_mmap_named(as, s, fend - s, prot, k,
					    seg_name(prot), &e))
				goto map_fail;
			made++;
		}
		if (mend > fend) {
			if (!vmm_mmap_named(as, fend, mend - fend, prot,
					    VMM_VMA_ANON, ".bss", &e))
				goto map_fail;
			made++;
		}
		continue;
	map_fail:
		g_set_error(error, VMM_ERROR, 0, "%s: segment %zu: %s", path,
			    i, e->message);
		g_error_free(e);
		made = 0;
		goto out;
	}
out:
	if (elf)
		elf_end(elf);
	close(fd);
	return made;
}
