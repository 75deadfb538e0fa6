/*
 * tests/fuzz/fuzz_snapshot.c - libFuzzer target: the snapshot reader
 * (sim/snapfile.c: an ELF core through libelf, every program header
 * checked against the file and one another, then every note checked
 * against its versioned state description, sim/vmstate.c), then the
 * checks `odpsim snapshot-info` and `run --restore` make of a file that
 * reads (sim/system/snapshot.c: VMA notes against their segments, the
 * segments of an address space, MTT runs against their MRs) and the
 * listing snapshot-info prints.  Beyond the error contract: a file that
 * reads has an odpsim note, and every PT_LOAD it kept is whole pages of
 * a range that does not wrap, with its pages inside it.
 * (The check against a host's memory needs the run rebuilt: it is
 * tests/test_snapshot.c's.)
 *
 * The seeds (tests/fuzz/corpus/snapshot; test_snapshot checks that they
 * read, so a record version bump means making them again):
 *   odpsim run workloads/write_bw.ini -q --duration 200us \
 *       --set workload.bw.msg_size=8KiB --set workload.bw.tx_depth=2 \
 *       --snapshot-at 100us --snapshot s.core
 * gives write_bw_client.core (s.core.a) and write_bw_server.core
 * (s.core.b); two_vmas.core is the server's with its VMA note and
 * segment copied to 64 KiB past the end of the first (as test_snapshot's
 * with_second_vma makes them).
 */
#include "tests/fuzz/fuzz_common.h"

#include "sim/snapfile.h"
#include "sim/system/system.h"

static void seg_contract(const struct snap_seg *s)
{
	if (!s->memsz || s->vaddr % SNAP_PAGE_SIZE ||
	    s->memsz % SNAP_PAGE_SIZE || s->vaddr + s->memsz < s->vaddr) {
		fprintf(stderr, "snapfile_read: a segment %#llx + %#llx "
				"bytes kept\n", (unsigned long long)s->vaddr,
			(unsigned long long)s->memsz);
		abort();
	}
	for (guint k = 0; k < s->pages->len; k++) {
		const struct snap_page *p =
			&g_array_index(s->pages, struct snap_page, k);
		if (p->index >= s->memsz / SNAP_PAGE_SIZE) {
			fprintf(stderr, "snapfile_read: page %llu past its "
					"segment\n",
				(unsigned long long)p->index);
			abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 20)
		return 0;
	static FILE *devnull;
	if (!devnull && !(devnull = fopen("/dev/null", "w")))
		abort();
	const char *path = fuzz_file(data, size);
	GError *e = NULL;
	struct snapfile *sf =
		snapfile_read(path, system_snapshot_descs(), &e);
	fuzz_contract(sf != NULL, e, "snapfile_read");
	g_clear_error(&e);
	if (!sf)
		return 0;
	if (!sf->notes->len) {
		fprintf(stderr, "snapfile_read: a snapshot without notes\n");
		abort();
	}
	for (guint i = 0; i < sf->segs->len; i++)
		seg_contract(sf->segs->pdata[i]);
	snapfile_free(sf);
	fuzz_contract(system_snapshot_info(path, devnull, &e), e,
		      "system_snapshot_info");
	g_clear_error(&e);
	return 0;
}
