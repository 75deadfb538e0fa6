/*
 * tests/fuzz/fuzz_common.h - what the libFuzzer targets share: the input
 * as a file (the loaders under test take paths, and a file is what a user
 * gives them) and the contract every loader must keep.
 *
 * The input goes into one memfd per process, rewritten for each input,
 * and is opened through /proc/self/fd/N: a regular file as far as the
 * loaders can tell, with no disk traffic.
 *
 * The contract, checked after every call: a failure carries a GError
 * with a non-empty, one-line message; a success carries none.  Leaks are
 * LeakSanitizer's to find (libFuzzer runs it after each input).
 */
#ifndef TESTS_FUZZ_COMMON_H
#define TESTS_FUZZ_COMMON_H

#define _GNU_SOURCE
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The path of a file holding exactly @data (valid until the next call). */
static inline const char *fuzz_file(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	if (fd < 0) {
		fd = memfd_create("odpsim-fuzz", 0);
		if (fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) != 0 ||
	    (size && pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();
	return path;
}

/* Abort (a finding) unless @ok and @e agree and a message says why. */
static inline void fuzz_contract(bool ok, GError *e, const char *what)
{
	if (ok && e) {
		fprintf(stderr, "%s: success with an error set: %s\n", what,
			e->message);
		abort();
	}
	if (!ok && (!e || !e->message || !*e->message)) {
		fprintf(stderr, "%s: failure without a message\n", what);
		abort();
	}
	if (!ok && strchr(e->message, '\n')) {
		fprintf(stderr, "%s: a message of more than one line: %s\n",
			what, e->message);
		abort();
	}
}

#endif
