/*
 * tests/fuzz/fuzz_snapshot.c - libFuzzer target: the snapshot reader
 * (sim/snapfile.c: an ELF core through libelf, then every note checked
 * against its versioned state description, sim/vmstate.c), as
 * `odpsim snapshot-info` and `run --restore` read one.  Beyond the error
 * contract: a file that reads has an odpsim note, and every PT_LOAD it
 * kept lies where the file said.
 */
#include "tests/fuzz/fuzz_common.h"

#include "sim/snapfile.h"
#include "sim/system/system.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 20)
		return 0;
	GError *e = NULL;
	struct snapfile *sf =
		snapfile_read(fuzz_file(data, size), system_snapshot_descs(),
			      &e);
	fuzz_contract(sf != NULL, e, "snapfile_read");
	g_clear_error(&e);
	if (sf && !sf->notes->len) {
		fprintf(stderr, "snapfile_read: a snapshot without notes\n");
		abort();
	}
	for (guint i = 0; sf && i < sf->segs->len; i++) {
		const struct snap_seg *s = sf->segs->pdata[i];
		for (guint k = 0; k < s->pages->len; k++) {
			const struct snap_page *p =
				&g_array_index(s->pages, struct snap_page, k);
			if (p->index >= (s->memsz + SNAP_PAGE_SIZE - 1) /
						SNAP_PAGE_SIZE) {
				fprintf(stderr, "snapfile_read: page %llu "
						"past its segment\n",
					(unsigned long long)p->index);
				abort();
			}
		}
	}
	snapfile_free(sf);
	return 0;
}
