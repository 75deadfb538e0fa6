/*
 * sim/outfile.h - every file odpsim writes, written safely.
 *
 * An output is never written in place.  outfile_open() creates a
 * temporary file beside the target (".NAME.XXXXXX" in the target's
 * directory, so the final rename stays on one file system and is atomic);
 * everything is written there; outfile_commit() flushes, checks that
 * every write succeeded, closes and renames the temporary over the
 * target.  Until then the target is untouched, and outfile_abort()
 * removes the temporary.  A reader sees the old file or the whole new
 * one, never half of one, and a run that fails leaves nothing behind.
 *
 * The target must be a regular file or nothing.  A directory, a device
 * (/dev/full, /dev/null), a FIFO, a socket or a symbolic link is refused
 * at open, before anything runs, and checked again just before the
 * rename: a rename replaces the node itself, so a device node would
 * become a regular file and a link would be cut from what it points to.
 * An existing regular file must be writable by the user, as for a shell
 * redirection.
 *
 * Errors: the stream is a stdio stream over our own write function
 * (fopencookie), which keeps the first errno of any failed write, so a
 * full disk or a file-size limit is reported at commit as
 * "PATH: cannot write: No space left on device" (G_FILE_ERROR; the odpsim
 * command exits 1), never as a truncated file.  No fsync: what is
 * promised is that no half-written output appears, not that it survives
 * a power cut.
 *
 * Sets: a run's outputs (config.ini, summary.json, series.csv,
 * latency.csv, the trace, the timeline, pcaps, snapshots) are one
 * outfile_set, committed together at the end of the run: every file is
 * flushed and checked first, and only when all are good are they renamed,
 * so a failure in one leaves none.  A run cut short on purpose (an
 * interrupted run) keeps what it has written so far by finishing its
 * writers (trailers) and committing the set; discarding is aborting or
 * freeing it.  Directories the set created (--out DIR) are removed again
 * on abort when they are empty.
 *
 * Workload: a handful of files per run; writes go through stdio's buffer,
 * so the cookie's write function sees one call per 4 KiB, not per record.
 */
#ifndef SIM_OUTFILE_H
#define SIM_OUTFILE_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct outfile;
struct outfile_set;

/* Whether @path may be written: absent, or a writable regular file (a
 * G_FILE_ERROR naming it otherwise). */
bool outfile_check_target(const char *path, GError **error);

/* Create the temporary for @path (which must pass outfile_check_target). */
struct outfile *outfile_open(const char *path, GError **error);
/* The stream to write through; valid until commit or abort. */
FILE *outfile_stream(struct outfile *of);
/* The temporary's descriptor, for writers that need one (libelf, pwrite).
 * Do not mix with the stream; errors on it are the writer's to report
 * (outfile_fail). */
int outfile_fd(struct outfile *of);
const char *outfile_path(const struct outfile *of);
/* Bytes written through the stream so far. */
uint64_t outfile_bytes(const struct outfile *of);
/* Record a write error the writer met on the descriptor (@err an errno);
 * the first one is kept and reported at commit. */
void outfile_fail(struct outfile *of, int err);
/* Flush, check, close and rename over the target; frees @of.  On failure
 * the temporary is removed and the target left as it was. */
bool outfile_commit(struct outfile *of, GError **error);
/* Remove the temporary, leave the target as it was; frees @of.  NULL is
 * fine. */
void outfile_abort(struct outfile *of);

/* @len bytes of @data as the whole content of @path (through a temporary
 * and a rename). */
bool outfile_write_file(const char *path, const void *data, size_t len,
			GError **error);

/* ---- sets ---- */

struct outfile_set *outfile_set_new(void);
/* Open @path as a member of @set; the set owns it (never commit or abort
 * a member yourself).  Opening a path twice in one set is an error. */
struct outfile *outfile_set_open(struct outfile_set *set, const char *path,
				 GError **error);
/* Create @dir and its missing parents; on abort the ones created here are
 * removed again if empty. */
bool outfile_set_mkdir(struct outfile_set *set, const char *dir,
		       GError **error);
/* Abort one member (an output that will not be written after all). */
void outfile_set_drop(struct outfile_set *set, struct outfile *of);
/* Flush and check every member, then rename them all; on the first
 * failure nothing is renamed and every temporary is removed.  The set is
 * empty afterwards either way. */
bool outfile_set_commit(struct outfile_set *set, GError **error);
/* Remove every member's temporary and the directories the set created. */
void outfile_set_abort(struct outfile_set *set);
unsigned outfile_set_count(const struct outfile_set *set);
/* Aborts whatever is not committed.  NULL is fine. */
void outfile_set_free(struct outfile_set *set);

/* ---- stdout ---- */

/* Route stdout through the same error-keeping writer (once, at the start
 * of main), so that outfile_close_stdout() can say which error it was. */
void outfile_wrap_stdout(void);

/* Flush and close stdout, reporting a write error (a full device, a
 * closed pipe) as a G_FILE_ERROR: a summary that did not get out is an
 * I/O error like any other.  Call once, at the end. */
bool outfile_close_stdout(GError **error);

#endif
