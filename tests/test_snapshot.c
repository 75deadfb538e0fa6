/*
 * tests/test_snapshot.c - snapshots as ELF core files and restore by
 * verified replay: the table-driven records round-trip; a snapshot file
 * passes a structural check with libelf (every note named ODPSIM, one
 * PT_LOAD per VMA note, note counts equal to the run's MRs and QPs) and
 * `readelf -a` / `eu-readelf -a` read it without a warning; taking a
 * snapshot does not change the run; snapshot -> restore gives the
 * uninterrupted run's fingerprint (pinned and ODP scenarios); a truncated
 * copy, a non-ELF file, a foreign ELF file, a wrong record version and a
 * tampered record are rejected with an error naming the file, and so are
 * segments that overlap, wrap, exceed the file or the host's memory.
 */
#define _GNU_SOURCE /* memmem */
#include <check.h>
#include <elf.h>
#include <fcntl.h>
#include <gelf.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <libelf.h>
#include <string.h>
#include <unistd.h>

#include "nic/host.h"
#include "nic/nic_int.h"
#include "sim/outfile.h"
#include "sim/snapfile.h"
#include "sim/system/system.h"
#include "sim/vmstate.h"
#include "vmm/snapshot.h"
#include "nic/snapshot.h"

static char *tmpdir;

static void setup(void)
{
	tmpdir = g_dir_make_tmp("odpsim-snap-XXXXXX", NULL);
	ck_assert(tmpdir);
}

static void teardown(void)
{
	GDir *d = g_dir_open(tmpdir, 0, NULL);
	const char *n;
	while (d && (n = g_dir_read_name(d))) {
		char *p = g_build_filename(tmpdir, n, NULL);
		g_unlink(p);
		g_free(p);
	}
	if (d)
		g_dir_close(d);
	g_rmdir(tmpdir);
	g_free(tmpdir);
}

struct result {
	uint64_t fingerprint, events;
	unsigned mrs, qps; /* of host b at the end */
};

/* Run @scenario for @dur; with @snap_at, snapshot every host to
 * tmpdir/snap.HOST (or the run restored from @restore). */
static struct result run(const char *scenario, const char *dur,
			 const char *snap_at, const char *restore)
{
	char *sets[] = { "sim.series_interval=50us", NULL };
	char *snap = g_build_filename(tmpdir, "snap", NULL);
	struct run_options opt = { .duration = dur, .sets = sets };
	if (snap_at) {
		opt.snapshot_at = snap_at;
		opt.snapshot_path = snap;
	}
	bool io;
	GError *e = NULL;
	struct system *sys = restore ? system_restore(restore, &opt, &io, &e)
				     : system_build(scenario, &opt, &io, &e);
	ck_assert_msg(sys, "%s", e ? e->message : "");
	ck_assert_msg(system_run(sys, &e), "%s", e ? e->message : "");
	struct result r = { system_sim(sys)->fingerprint,
			    system_sim(sys)->events, 0, 0 };
	struct host *b = system_host(sys, "b");
	if (b && b->nic) {
		r.mrs = b->nic->all_mrs->len;
		r.qps = b->nic->all_qps->len;
	}
	system_free(sys);
	g_free(snap);
	return r;
}

static char *snap_path(const char *host)
{
	char *n = g_strdup_printf("snap.%s", host);
	char *p = g_build_filename(tmpdir, n, NULL);
	g_free(n);
	return p;
}

/* ---- records ---- */

struct rec {
	uint32_t a;
	uint64_t b;
	bool c;
	int d;
	char *s;
	uint64_t n;
	uint64_t *v;
};
static const char *const d_names[] = { "ZERO", "ONE", "TWO" };
static const struct vmstate_field rec_fields[] = {
	VMS_FIELD(struct rec, a, "a"),
	VMS_FIELD(struct rec, b, "b"),
	VMS_FIELD_BOOL(struct rec, c, "c"),
	VMS_FIELD_ENUM(struct rec, d, "d", d_names, 3),
	VMS_FIELD_STR(struct rec, s, "s"),
	VMS_FIELD_U64_ARRAY(struct rec, v, n, "v"),
};
static VMSTATE_DESC(rec_desc, "REC", 99, 3, rec_fields);

START_TEST(records_round_trip)
{
	uint64_t v[3] = { 7, 8, 9 };
	struct rec r = { 0x12345678, 1ULL << 40, true, 2, "hello", 3, v };
	GByteArray *x = g_byte_array_new(), *y = g_byte_array_new();
	vmstate_save(&rec_desc, &r, x);
	ck_assert_uint_eq(x->len, 4 + 4 + 8 + 1 + 4 + 4 + 5 + 4 + 24);
	ck_assert(vmstate_check(&rec_desc, x->data, x->len, NULL));
	ck_assert_uint_eq(vmstate_get_u64(&rec_desc, x->data, x->len, "b"),
			  1ULL << 40);
	char *s = vmstate_get_str(&rec_desc, x->data, x->len, "s");
	ck_assert_str_eq(s, "hello");
	g_free(s);
	GString *f = g_string_new(NULL);
	vmstate_format(&rec_desc, x->data, x->len, f);
	ck_assert_msg(strstr(f->str, "d=TWO") && strstr(f->str, "v=[3]"),
		      "%s", f->str);
	g_string_free(f, TRUE);
	ck_assert_ptr_null(vmstate_diff(&rec_desc, x->data, x->len, x->data,
					x->len));
	r.d = 1;
	vmstate_save(&rec_desc, &r, y);
	char *d = vmstate_diff(&rec_desc, x->data, x->len, y->data, y->len);
	ck_assert_msg(d && strstr(d, "field d: TWO vs ONE"), "%s", d);
	g_free(d);
	/* wrong version, short record, trailing bytes */
	GError *e = NULL;
	x->data[0] = 4;
	ck_assert(!vmstate_check(&rec_desc, x->data, x->len, &e));
	ck_assert_msg(strstr(e->message, "version 4"), "%s", e->message);
	g_clear_error(&e);
	x->data[0] = 3;
	ck_assert(!vmstate_check(&rec_desc, x->data, x->len - 1, &e));
	ck_assert_msg(strstr(e->message, "'v'"), "%s", e->message);
	g_clear_error(&e);
	g_byte_array_append(x, (const guint8 *)"z", 1);
	ck_assert(!vmstate_check(&rec_desc, x->data, x->len, &e));
	g_clear_error(&e);
	g_byte_array_unref(x);
	g_byte_array_unref(y);
}
END_TEST

/* ---- the file ---- */

/* Walk the file with libelf alone; returns the notes by type. */
static void libelf_walk(const char *path, unsigned *nload, unsigned counts[8],
			uint64_t *load_pages)
{
	ck_assert(elf_version(EV_CURRENT) != EV_NONE);
	int fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	ck_assert(elf && elf_kind(elf) == ELF_K_ELF);
	GElf_Ehdr eh;
	ck_assert(gelf_getehdr(elf, &eh));
	ck_assert_int_eq(eh.e_type, ET_CORE);
	size_t nph;
	ck_assert_int_eq(elf_getphdrnum(elf, &nph), 0);
	*nload = 0;
	*load_pages = 0;
	unsigned nnote = 0;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		ck_assert(gelf_getphdr(elf, (int)i, &ph));
		if (ph.p_type == PT_LOAD) {
			(*nload)++;
			ck_assert_uint_le(ph.p_filesz, ph.p_memsz);
			ck_assert_uint_eq(ph.p_offset % 4096, 0);
			Elf_Data *d = elf_getdata_rawchunk(
				elf, (int64_t)ph.p_offset, ph.p_filesz,
				ELF_T_BYTE);
			ck_assert(ph.p_filesz == 0 || d);
			for (uint64_t k = 0; k < ph.p_filesz / 4096; k++)
				*load_pages += !memcmp(
					(char *)d->d_buf + k * 4096 + 8,
					SNAP_PAGE_MARK, 8);
			continue;
		}
		ck_assert_int_eq(ph.p_type, PT_NOTE);
		nnote++;
		Elf_Data *d = elf_getdata_rawchunk(elf, (int64_t)ph.p_offset,
						   ph.p_filesz, ELF_T_NHDR);
		ck_assert(d);
		size_t off = 0, next, no, doff;
		GElf_Nhdr nh;
		while ((next = gelf_getnote(d, off, &nh, &no, &doff)) > 0) {
			ck_assert_str_eq((char *)d->d_buf + no, "ODPSIM");
			ck_assert_uint_gt(nh.n_type, NT_ODPSIM_BASE);
			ck_assert_uint_le(nh.n_type, NT_ODPSIM_BASE + 6);
			counts[nh.n_type - NT_ODPSIM_BASE]++;
			off = next;
		}
		ck_assert_uint_eq(off, d->d_size);
	}
	ck_assert_uint_eq(nnote, 1);
	elf_end(elf);
	close(fd);
}

START_TEST(file_structure)
{
	struct result r = run("workloads/odp_write_bw.ini", "2ms", "1ms",
			      NULL);
	char *p = snap_path("b");
	unsigned nload, c[8] = { 0 };
	uint64_t pages;
	libelf_walk(p, &nload, c, &pages);
	ck_assert_uint_eq(c[NT_ODPSIM_RUN - NT_ODPSIM_BASE], 1);
	ck_assert_uint_eq(c[NT_ODPSIM_SCHEMA - NT_ODPSIM_BASE], 1);
	ck_assert_uint_eq(c[NT_ODPSIM_MR - NT_ODPSIM_BASE], r.mrs);
	ck_assert_uint_eq(c[NT_ODPSIM_QP - NT_ODPSIM_BASE], r.qps);
	ck_assert_uint_gt(r.mrs, 0);
	ck_assert_uint_eq(c[NT_ODPSIM_VMA - NT_ODPSIM_BASE], nload);
	ck_assert_uint_gt(c[NT_ODPSIM_MTT - NT_ODPSIM_BASE], 0);
	/* the reader agrees: each VMA's resident pages are its segment's
	 * page blocks, and all of them together are what libelf counted */
	GError *e = NULL;
	struct snapfile *sf = snapfile_read(p, system_snapshot_descs(), &e);
	ck_assert_msg(sf, "%s", e ? e->message : "");
	ck_assert_uint_eq(sf->segs->len, nload);
	unsigned vma = 0;
	uint64_t resident = 0;
	for (guint i = 0; i < sf->notes->len; i++) {
		const struct snap_note *n = sf->notes->pdata[i];
		if (n->type != NT_ODPSIM_VMA)
			continue;
		const struct snap_seg *sg = sf->segs->pdata[vma++];
		uint64_t rp = vmstate_get_u64(&vmm_vma_vmstate, n->desc->data,
					      n->desc->len, "resident_pages");
		ck_assert_uint_eq(rp, sg->pages->len);
		ck_assert_uint_eq(vmstate_get_u64(&vmm_vma_vmstate,
						  n->desc->data, n->desc->len,
						  "start"), sg->vaddr);
		resident += rp;
	}
	ck_assert_uint_eq(resident, pages);
	snapfile_free(sf);
	FILE *out = fopen("/dev/null", "w");
	ck_assert_msg(system_snapshot_info(p, out, &e), "%s",
		      e ? e->message : "");
	fclose(out);
	ck_assert_uint_gt(pages, 0);
	g_free(p);
}
END_TEST

static bool run_tool(const char *tool, const char *path, char **why)
{
	char *exe = g_find_program_in_path(tool);
	if (!exe) {
		fprintf(stderr, "SKIP: %s not on PATH: not checked\n", tool);
		return true;
	}
	char *argv[] = { exe, "-a", (char *)path, NULL };
	char *out = NULL, *err = NULL;
	int status = 0;
	GError *e = NULL;
	bool ok = g_spawn_sync(NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
			       &out, &err, &status, &e);
	if (ok)
		ok = g_spawn_check_wait_status(status, NULL);
	char *both = g_strconcat(out ? out : "", err ? err : "", NULL);
	if (ok && (strstr(both, "Warning") || strstr(both, "warning") ||
		   strstr(both, "Error") || strstr(both, "error")))
		ok = false;
	if (!ok)
		*why = g_strdup_printf("%s -a %s: %s", tool, path,
				       e ? e->message : err);
	g_clear_error(&e);
	g_free(both);
	g_free(out);
	g_free(err);
	g_free(exe);
	return ok;
}

START_TEST(readelf_reads_it)
{
	run("workloads/odp_write_bw.ini", "2ms", "1ms", NULL);
	for (const char *h = "a"; h; h = *h == 'a' ? "b" : NULL) {
		char *p = snap_path(h), *why = NULL;
		ck_assert_msg(run_tool("readelf", p, &why), "%s", why);
		ck_assert_msg(run_tool("eu-readelf", p, &why), "%s", why);
		g_free(p);
	}
}
END_TEST

/* ---- the run ---- */

START_TEST(snapshot_does_not_change_the_run)
{
	struct result a = run("workloads/write_bw.ini", "1ms", NULL, NULL);
	/* off the 50us sampling grid on purpose */
	char *p = snap_path("b");
	unlink(p);
	struct result b = run("workloads/write_bw.ini", "1ms", "512345ns",
			      NULL);
	/* the snapshot was taken: this is not two plain runs */
	ck_assert(g_file_test(p, G_FILE_TEST_EXISTS));
	g_free(p);
	ck_assert_uint_eq(a.fingerprint, b.fingerprint);
	ck_assert_uint_eq(a.events, b.events);
}
END_TEST

static void restore_case(const char *scenario, const char *dur,
			 const char *at)
{
	struct result a = run(scenario, dur, NULL, NULL);
	struct result b = run(scenario, dur, at, NULL);
	ck_assert_uint_eq(a.fingerprint, b.fingerprint);
	for (const char *h = "a"; h; h = *h == 'a' ? "b" : NULL) {
		char *p = snap_path(h);
		struct result c = run(NULL, NULL, NULL, p);
		ck_assert_msg(a.fingerprint == c.fingerprint,
			      "%s from %s: %016" G_GINT64_MODIFIER "x vs %016"
			      G_GINT64_MODIFIER "x", scenario, p,
			      a.fingerprint, c.fingerprint);
		ck_assert_uint_eq(a.events, c.events);
		g_free(p);
	}
}

START_TEST(restore_pinned)
{
	restore_case("workloads/write_bw.ini", "1ms", "500us");
}
END_TEST

START_TEST(restore_odp)
{
	restore_case("workloads/odp_write_bw.ini", "2ms", "1ms");
}
END_TEST

/* ---- bad files ---- */

static void expect_rejected(const char *path, const char *what)
{
	GError *e = NULL;
	bool io;
	struct run_options opt = { 0 };
	FILE *out = fopen("/dev/null", "w");
	ck_assert(!system_snapshot_info(path, out, &e));
	fclose(out);
	ck_assert_msg(g_str_has_prefix(e->message, path) &&
			      strstr(e->message, what) &&
			      !strchr(e->message, '\n'),
		      "%s", e->message);
	g_clear_error(&e);
	ck_assert(!system_restore(path, &opt, &io, &e));
	ck_assert_msg(g_str_has_prefix(e->message, path), "%s", e->message);
	g_clear_error(&e);
}

START_TEST(bad_files_rejected)
{
	run("workloads/write_bw.ini", "1ms", "500us", NULL);
	char *p = snap_path("b"), *data;
	gsize len;
	ck_assert(g_file_get_contents(p, &data, &len, NULL));
	char *t = g_build_filename(tmpdir, "cut", NULL);
	size_t cuts[] = { 3, 40, 100, 300, len / 2, len - 1 };
	for (unsigned i = 0; i < G_N_ELEMENTS(cuts); i++) {
		ck_assert(g_file_set_contents(t, data, (gssize)cuts[i], NULL));
		expect_rejected(t, cuts[i] < 4 ? "not an ELF" : "truncated");
	}
	ck_assert(g_file_set_contents(t, "[sim]\nduration = 1ms\n", -1,
				      NULL));
	expect_rejected(t, "not an ELF file");
	/* a foreign ELF file: the test binary itself is no core */
	expect_rejected("/proc/self/exe", "not an odpsim snapshot");
	/* a foreign core: an ODPSIM note renamed */
	char *x = g_memdup2(data, len);
	char *nm = memmem(x, len, "ODPSIM", 6);
	memcpy(nm, "CORE\0\0", 6);
	ck_assert(g_file_set_contents(t, x, (gssize)len, NULL));
	expect_rejected(t, "foreign");
	/* ... whose owner holds a newline and bytes that are not text: the
	 * message quotes them escaped, on one line (found by
	 * tests/fuzz/fuzz_snapshot.c) */
	memcpy(nm, "OD\n\xff\0\0", 6);
	ck_assert(g_file_set_contents(t, x, (gssize)len, NULL));
	expect_rejected(t, "owned by 'OD\\n\\377'");
	g_free(x);
	g_free(data);
	g_free(t);
	g_free(p);
}
END_TEST

/* Write @sf (freed) as tmpdir/@name; its path. */
static char *write_as(struct snapfile *sf, const char *name)
{
	GError *e = NULL;
	char *t = g_build_filename(tmpdir, name, NULL);
	struct outfile *of = outfile_open(t, &e);
	ck_assert_msg(of && snapfile_write(sf, of, &e) &&
			      outfile_commit(of, &e),
		      "%s", e ? e->message : "");
	snapfile_free(sf);
	return t;
}

/* Rewrite snapshot @p with @fn applied to the first note of @type. */
static char *tamper(const char *p, uint32_t type,
		    void (*fn)(struct snap_note *))
{
	GError *e = NULL;
	struct snapfile *sf = snapfile_read(p, system_snapshot_descs(), &e);
	ck_assert_msg(sf, "%s", e ? e->message : "");
	bool done = false;
	for (guint i = 0; i < sf->notes->len && !done; i++) {
		struct snap_note *n = sf->notes->pdata[i];
		if (n->type == type) {
			fn(n);
			done = true;
		}
	}
	ck_assert(done);
	return write_as(sf, "tampered");
}

static void bump_version(struct snap_note *n)
{
	n->desc->data[0] = 2;
}

static void flip_rkey(struct snap_note *n)
{
	n->desc->data[4 + 4] ^= 1; /* rkey follows version and lkey */
}

START_TEST(wrong_version_and_tampered_state)
{
	run("workloads/write_bw.ini", "1ms", "500us", NULL);
	char *p = snap_path("b");
	char *t = tamper(p, NT_ODPSIM_QP, bump_version);
	expect_rejected(t, "QP record has version 2");
	g_free(t);
	t = tamper(p, NT_ODPSIM_MR, flip_rkey);
	GError *e = NULL;
	bool io;
	struct run_options opt = { 0 };
	struct system *sys = system_restore(t, &opt, &io, &e);
	ck_assert_msg(sys, "%s", e ? e->message : "");
	ck_assert(!system_run(sys, &e));
	ck_assert_msg(g_str_has_prefix(e->message, t) &&
			      strstr(e->message, "diverged") &&
			      strstr(e->message, "MR field rkey"),
		      "%s", e->message);
	g_clear_error(&e);
	system_free(sys);
	g_free(t);
	g_free(p);
}
END_TEST

/* ---- segments ---- */

/* Copy snapshot @p to tmpdir/edited with @fn applied to its bytes. */
static char *edit_bytes(const char *p, void (*fn)(uint8_t *, gsize))
{
	char *data;
	gsize len;
	ck_assert(g_file_get_contents(p, &data, &len, NULL));
	fn((uint8_t *)data, len);
	char *t = g_build_filename(tmpdir, "edited", NULL);
	ck_assert(g_file_set_contents(t, data, (gssize)len, NULL));
	g_free(data);
	return t;
}

static Elf64_Phdr *phdr(uint8_t *b, unsigned i)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)b;
	return (Elf64_Phdr *)(b + eh->e_phoff) + i;
}

/* write_bw's host b: program header 0 the notes, 1 its one VMA (64 KiB
 * at 0x40000000, 16 resident pages). */
static void load_wraps(uint8_t *b, gsize n)
{
	(void)n;
	phdr(b, 1)->p_vaddr = 0xfffffffffffff000ULL;
}

static void load_over_headers(uint8_t *b, gsize n)
{
	(void)n;
	phdr(b, 1)->p_offset = 0;
}

static void load_over_notes(uint8_t *b, gsize n)
{
	(void)n;
	phdr(b, 0)->p_filesz = phdr(b, 1)->p_offset + 1 - phdr(b, 0)->p_offset;
}

static void load_past_file(uint8_t *b, gsize n)
{
	phdr(b, 1)->p_filesz = n;
}

static void load_not_pages(uint8_t *b, gsize n)
{
	(void)n;
	phdr(b, 1)->p_memsz = 0x10800;
}

static void load_empty(uint8_t *b, gsize n)
{
	(void)n;
	phdr(b, 1)->p_memsz = 0;
	phdr(b, 1)->p_filesz = 0;
}

/* Replace the first @old (LE u64) in a note's bytes by @new. */
static void patch_u64(struct snap_note *n, uint64_t old, uint64_t new)
{
	uint8_t *at = memmem(n->desc->data, n->desc->len, &old, 8);
	ck_assert(at);
	memcpy(at, &new, 8);
}

static struct snapfile *read_ok(const char *p)
{
	GError *e = NULL;
	struct snapfile *sf = snapfile_read(p, system_snapshot_descs(), &e);
	ck_assert_msg(sf, "%s", e ? e->message : "");
	return sf;
}

static struct snap_note *first_note(struct snapfile *sf, uint32_t type)
{
	for (guint i = 0; i < sf->notes->len; i++)
		if (((struct snap_note *)sf->notes->pdata[i])->type == type)
			return sf->notes->pdata[i];
	ck_abort_msg("no note of type %#x", type);
	return NULL;
}

/* A second copy of the VMA note and its segment, at @va. */
static char *with_second_vma(const char *p, uint64_t va)
{
	struct snapfile *sf = read_ok(p);
	struct snap_note *v = first_note(sf, NT_ODPSIM_VMA);
	struct snap_seg *s0 = sf->segs->pdata[0];
	snapfile_add_note(sf, NT_ODPSIM_VMA, v->desc->data, v->desc->len);
	struct snap_note *v2 = sf->notes->pdata[sf->notes->len - 1];
	patch_u64(v2, s0->vaddr + s0->memsz, va + s0->memsz); /* end */
	patch_u64(v2, s0->vaddr, va);                         /* start */
	struct snap_seg *s1 = snapfile_add_seg(sf, va, s0->memsz, s0->prot);
	for (guint k = 0; k < s0->pages->len; k++) {
		const struct snap_page *pg =
			&g_array_index(s0->pages, struct snap_page, k);
		snap_seg_add_page(s1, pg->index, pg->version);
	}
	return write_as(sf, "edited");
}

/* Segments that overlap (in the file or in an address space), wrap,
 * exceed the file or the host's memory, or disagree with their VMA
 * notes are refused with one line naming the file, before any replay
 * (a crafted file must never crash the reader or cost a run). */
START_TEST(segments_checked)
{
	run("workloads/write_bw.ini", "1ms", "500us", NULL);
	char *p = snap_path("b");
	static const struct {
		void (*fn)(uint8_t *, gsize);
		const char *what;
	} bytes[] = {
		{ load_wraps, "wraps past the end of the address space" },
		{ load_over_headers, "overlap the ELF headers" },
		{ load_over_notes, "program headers 0 and 1 overlap in the file" },
		{ load_past_file, "truncated snapshot (program header 1" },
		{ load_not_pages, "is not whole pages" },
		{ load_empty, "is empty" },
	};
	for (unsigned i = 0; i < G_N_ELEMENTS(bytes); i++) {
		char *t = edit_bytes(p, bytes[i].fn);
		expect_rejected(t, bytes[i].what);
		g_free(t);
	}
	/* a second VMA over the first, in the same address space */
	char *t = with_second_vma(p, 0x40008000);
	expect_rejected(t, "segments 0 and 1 overlap in address space 1");
	g_free(t);
	/* beside it: the file is good (the replay then diverges) */
	t = with_second_vma(p, 0x40010000);
	FILE *out = fopen("/dev/null", "w");
	GError *e = NULL;
	ck_assert_msg(system_snapshot_info(t, out, &e), "%s",
		      e ? e->message : "");
	fclose(out);
	g_free(t);
	/* past the 48-bit user address space */
	t = with_second_vma(p, 1ULL << 48);
	expect_rejected(t, "ends past the 48-bit address space");
	g_free(t);
	/* a segment that is not its VMA note's */
	struct snapfile *sf = read_ok(p);
	((struct snap_seg *)sf->segs->pdata[0])->memsz += 4096;
	t = write_as(sf, "edited");
	expect_rejected(t, "but its segment 0 is 0x40000000, 0x11000 bytes");
	g_free(t);
	/* an MTT run past its MR's entries */
	sf = read_ok(p);
	struct snap_note *m = first_note(sf, NT_ODPSIM_MTT);
	m->desc->data[4 + 4] = 1; /* page, after version and lkey */
	t = write_as(sf, "edited");
	expect_rejected(t, "an MTT run of 16 entries from entry 1 of lkey");
	g_free(t);
	g_free(p);

	/* more resident pages than the host has memory: host b with 1 MiB
	 * (256 frames), its VMA grown to 257 resident pages */
	char *sets[] = { "host.b.memory=1MiB", NULL };
	char *snap = g_build_filename(tmpdir, "small", NULL);
	struct run_options opt = { .duration = "1ms", .sets = sets,
				   .snapshot_at = "500us",
				   .snapshot_path = snap,
				   .snapshot_host = "b" };
	bool io;
	struct system *sys = system_build("workloads/write_bw.ini", &opt, &io,
					  &e);
	ck_assert_msg(sys && system_run(sys, &e), "%s", e ? e->message : "");
	system_free(sys);
	sf = read_ok(snap);
	struct snap_seg *s0 = sf->segs->pdata[0];
	struct snap_note *v = first_note(sf, NT_ODPSIM_VMA);
	patch_u64(v, s0->vaddr + s0->memsz, s0->vaddr + 257 * 4096);
	patch_u64(v, s0->pages->len, 257);
	s0->memsz = 257 * 4096;
	for (uint64_t k = s0->pages->len; k < 257; k++)
		snap_seg_add_page(s0, k, 1);
	t = write_as(sf, "edited");
	struct run_options ro = { 0 };
	ck_assert(!system_restore(t, &ro, &io, &e));
	ck_assert_msg(g_str_has_prefix(e->message, t) && !io &&
			      strstr(e->message, "257 resident pages in the "
						 "segments, more than host b's "
						 "memory holds (256 pages"),
		      "%s", e->message);
	g_clear_error(&e);
	g_free(t);
	g_free(snap);
}
END_TEST

/* The fuzzing seeds (tests/fuzz/corpus/snapshot) are snapshots this
 * odpsim reads: a record version bump that leaves them stale would have
 * the fuzzer start from files refused at their first note. */
START_TEST(fuzz_seeds_read)
{
	const char *dir = "tests/fuzz/corpus/snapshot";
	GDir *d = g_dir_open(dir, 0, NULL);
	ck_assert(d);
	unsigned n = 0;
	for (const char *f; (f = g_dir_read_name(d)); n++) {
		char *p = g_build_filename(dir, f, NULL);
		FILE *out = fopen("/dev/null", "w");
		GError *e = NULL;
		ck_assert_msg(system_snapshot_info(p, out, &e), "%s (remake "
			      "it: see tests/fuzz/fuzz_snapshot.c)", e ? e->message : "");
		fclose(out);
		g_free(p);
	}
	g_dir_close(d);
	ck_assert_uint_ge(n, 3);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("snapshot");
	TCase *tc = tcase_create("snapshot");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, records_round_trip);
	tcase_add_test(tc, file_structure);
	tcase_add_test(tc, readelf_reads_it);
	tcase_add_test(tc, snapshot_does_not_change_the_run);
	tcase_add_test(tc, restore_pinned);
	tcase_add_test(tc, restore_odp);
	tcase_add_test(tc, bad_files_rejected);
	tcase_add_test(tc, wrong_version_and_tampered_state);
	tcase_add_test(tc, segments_checked);
	tcase_add_test(tc, fuzz_seeds_read);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
