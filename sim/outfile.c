/*
 * sim/outfile.c - safe output files (see outfile.h).
 */
#define _GNU_SOURCE /* fopencookie */
#include "sim/outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct outfile {
	char *path; /* the target */
	char *tmp;  /* the temporary; NULL once renamed or removed */
	int fd;     /* -1 once closed */
	FILE *f;    /* cookie stream over fd; NULL once closed */
	int err;    /* first errno of a failed write; 0: none */
	uint64_t bytes;
};

struct outfile_set {
	GPtrArray *files; /* struct outfile * */
	GPtrArray *dirs;  /* char *, created by the set, innermost last */
};

/* What a non-regular node is, for the message; NULL for a regular file. */
static const char *node_kind(mode_t m)
{
	if (S_ISREG(m))
		return NULL;
	if (S_ISLNK(m))
		return "a symbolic link";
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISCHR(m))
		return "a character device";
	if (S_ISBLK(m))
		return "a block device";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISSOCK(m))
		return "a socket";
	return "not a regular file";
}

bool outfile_check_target(const char *path, GError **error)
{
	if (!path || !*path) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
			    "an output file name is empty");
		return false;
	}
	struct stat st;
	if (lstat(path, &st) != 0) {
		int e = errno;
		if (e == ENOENT)
			return true; /* the directory is checked by open */
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e),
			    "%s: cannot write: %s", path, g_strerror(e));
		return false;
	}
	const char *kind = node_kind(st.st_mode);
	if (kind) {
		g_set_error(error, G_FILE_ERROR,
			    S_ISDIR(st.st_mode) ? G_FILE_ERROR_ISDIR
						: G_FILE_ERROR_FAILED,
			    "%s: refusing to write output: it is %s (outputs "
			    "go to a regular file or a new name)", path, kind);
		return false;
	}
	if (access(path, W_OK) != 0) {
		int e = errno;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e),
			    "%s: cannot write: %s", path, g_strerror(e));
		return false;
	}
	return true;
}

static ssize_t cookie_write(void *c, const char *buf, size_t n)
{
	struct outfile *of = c;
	size_t done = 0;
	if (of->err) {
		errno = of->err;
		return -1;
	}
	while (done < n) {
		ssize_t w = write(of->fd, buf + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			of->err = w < 0 ? errno : EIO;
			errno = of->err;
			/* stdio treats a short count as an error too, and
			 * what did get out is counted */
			of->bytes += done;
			return done ? (ssize_t)done : -1;
		}
		done += (size_t)w;
	}
	of->bytes += n;
	return (ssize_t)n;
}

struct outfile *outfile_open(const char *path, GError **error)
{
	if (!outfile_check_target(path, error))
		return NULL;
	char *dir = g_path_get_dirname(path);
	char *base = g_path_get_basename(path);
	char *tmp = g_strdup_printf("%s/.%s.XXXXXX", dir, base);
	int fd = g_mkstemp_full(tmp, O_RDWR | O_CLOEXEC, 0666);
	if (fd < 0) {
		int e = errno;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e),
			    "%s: cannot create a file in %s: %s", path, dir,
			    g_strerror(e));
		g_free(tmp);
		g_free(dir);
		g_free(base);
		return NULL;
	}
	g_free(dir);
	g_free(base);
	struct outfile *of = g_new0(struct outfile, 1);
	of->path = g_strdup(path);
	of->tmp = tmp;
	of->fd = fd;
	cookie_io_functions_t io = { .write = cookie_write };
	of->f = fopencookie(of, "w", io);
	g_assert(of->f); /* fails only without memory */
	return of;
}

FILE *outfile_stream(struct outfile *of)
{
	g_assert(of->f);
	return of->f;
}

int outfile_fd(struct outfile *of)
{
	g_assert(of->fd >= 0);
	return of->fd;
}

const char *outfile_path(const struct outfile *of)
{
	return of->path;
}

uint64_t outfile_bytes(const struct outfile *of)
{
	return of->bytes;
}

void outfile_fail(struct outfile *of, int err)
{
	if (!of->err)
		of->err = err ? err : EIO;
}

/* Flush and close the stream and the descriptor, keeping the temporary;
 * false (with @error) when any write failed. */
static bool outfile_finish(struct outfile *of, GError **error)
{
	if (of->f) {
		if (fflush(of->f) != 0 && !of->err)
			of->err = errno ? errno : EIO;
		if (ferror(of->f) && !of->err)
			of->err = EIO;
		fclose(of->f); /* the cookie has no close: fd stays ours */
		of->f = NULL;
	}
	if (of->fd >= 0) {
		if (close(of->fd) != 0 && !of->err)
			of->err = errno;
		of->fd = -1;
	}
	if (of->err) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(of->err),
			    "%s: cannot write: %s", of->path,
			    g_strerror(of->err));
		return false;
	}
	return true;
}

static void outfile_destroy(struct outfile *of)
{
	if (of->f)
		fclose(of->f);
	if (of->fd >= 0)
		close(of->fd);
	if (of->tmp)
		unlink(of->tmp);
	g_free(of->tmp);
	g_free(of->path);
	g_free(of);
}

/* Rename a finished temporary over its target, checked once more. */
static bool outfile_rename(struct outfile *of, GError **error)
{
	g_assert(of->fd < 0 && of->tmp);
	if (!outfile_check_target(of->path, error))
		return false;
	if (rename(of->tmp, of->path) != 0) {
		int e = errno;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e),
			    "%s: cannot rename the finished output into "
			    "place: %s", of->path, g_strerror(e));
		return false;
	}
	g_free(of->tmp);
	of->tmp = NULL;
	return true;
}

bool outfile_commit(struct outfile *of, GError **error)
{
	bool ok = outfile_finish(of, error) && outfile_rename(of, error);
	outfile_destroy(of);
	return ok;
}

void outfile_abort(struct outfile *of)
{
	if (of)
		outfile_destroy(of);
}

bool outfile_write_file(const char *path, const void *data, size_t len,
			GError **error)
{
	struct outfile *of = outfile_open(path, error);
	if (!of)
		return false;
	if (len)
		fwrite(data, 1, len, of->f);
	return outfile_commit(of, error);
}

/* ---- sets ---- */

struct outfile_set *outfile_set_new(void)
{
	struct outfile_set *s = g_new0(struct outfile_set, 1);
	s->files = g_ptr_array_new();
	s->dirs = g_ptr_array_new_with_free_func(g_free);
	return s;
}

struct outfile *outfile_set_open(struct outfile_set *set, const char *path,
				 GError **error)
{
	for (guint i = 0; i < set->files->len; i++) {
		const struct outfile *o = set->files->pdata[i];
		if (!strcmp(o->path, path)) {
			g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_EXIST,
				    "%s: named as two outputs of one run",
				    path);
			return NULL;
		}
	}
	struct outfile *of = outfile_open(path, error);
	if (of)
		g_ptr_array_add(set->files, of);
	return of;
}

bool outfile_set_mkdir(struct outfile_set *set, const char *dir,
		       GError **error)
{
	/* the missing ancestors, outermost first */
	GPtrArray *missing = g_ptr_array_new_with_free_func(g_free);
	char *d = g_strdup(dir);
	while (!g_file_test(d, G_FILE_TEST_EXISTS)) {
		char *up = g_path_get_dirname(d);
		g_ptr_array_insert(missing, 0, d);
		if (!strcmp(up, d)) {
			g_free(up);
			d = NULL;
			break;
		}
		d = up;
	}
	g_free(d);
	bool ok = true;
	for (guint i = 0; i < missing->len && ok; i++) {
		const char *m = missing->pdata[i];
		if (g_mkdir(m, 0777) == 0) {
			g_ptr_array_add(set->dirs, g_strdup(m));
		} else if (errno != EEXIST) {
			int e = errno;
			g_set_error(error, G_FILE_ERROR,
				    g_file_error_from_errno(e),
				    "%s: cannot create output directory: %s",
				    dir, g_strerror(e));
			ok = false;
		}
	}
	g_ptr_array_free(missing, TRUE);
	if (ok && !g_file_test(dir, G_FILE_TEST_IS_DIR)) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOTDIR,
			    "%s: cannot create output directory: it exists "
			    "and is not a directory", dir);
		ok = false;
	}
	return ok;
}

void outfile_set_drop(struct outfile_set *set, struct outfile *of)
{
	bool found = g_ptr_array_remove(set->files, of);
	g_assert(found);
	outfile_destroy(of);
}

void outfile_set_abort(struct outfile_set *set)
{
	for (guint i = 0; i < set->files->len; i++)
		outfile_destroy(set->files->pdata[i]);
	g_ptr_array_set_size(set->files, 0);
	for (guint i = set->dirs->len; i-- > 0;)
		g_rmdir(set->dirs->pdata[i]); /* only when empty */
	g_ptr_array_set_size(set->dirs, 0);
}

bool outfile_set_commit(struct outfile_set *set, GError **error)
{
	bool ok = true;
	for (guint i = 0; i < set->files->len && ok; i++)
		ok = outfile_finish(set->files->pdata[i], error);
	for (guint i = 0; i < set->files->len && ok; i++)
		ok = outfile_rename(set->files->pdata[i], error);
	/* a rename that failed after others leaves those in place: each is
	 * whole, and the error says which one is missing */
	if (ok)
		g_ptr_array_set_size(set->dirs, 0); /* they hold the outputs */
	outfile_set_abort(set);
	return ok;
}

unsigned outfile_set_count(const struct outfile_set *set)
{
	return set->files->len;
}

void outfile_set_free(struct outfile_set *set)
{
	if (!set)
		return;
	outfile_set_abort(set);
	g_ptr_array_free(set->files, TRUE);
	g_ptr_array_free(set->dirs, TRUE);
	g_free(set);
}

/* ---- stdout ---- */

/* stdout through our write function too, so that its errno is kept: a
 * failed write deep in a long summary is otherwise only ferror()'s bit. */
static struct outfile stdout_of = { .fd = STDOUT_FILENO };

void outfile_wrap_stdout(void)
{
	cookie_io_functions_t io = { .write = cookie_write };
	fflush(stdout);
	FILE *f = fopencookie(&stdout_of, "w", io);
	g_assert(f);
	if (isatty(STDOUT_FILENO))
		setvbuf(f, NULL, _IOLBF, 0);
	stdout_of.f = f;
	stdout = f; /* glibc's stdout is a variable one may set */
}

bool outfile_close_stdout(GError **error)
{
	errno = 0;
	bool bad = fflush(stdout) != 0 || ferror(stdout);
	int e = stdout_of.f == stdout && stdout_of.err ? stdout_of.err : errno;
	if (fclose(stdout) != 0 && !bad) {
		bad = true;
		e = errno;
	}
	if (stdout_of.f && close(STDOUT_FILENO) != 0 && !bad) {
		bad = true; /* the cookie leaves the descriptor open */
		e = errno;
	}
	if (bad) {
		g_set_error(error, G_FILE_ERROR,
			    g_file_error_from_errno(e ? e : EIO),
			    "standard output: cannot write: %s",
			    g_strerror(e ? e : EIO));
		return false;
	}
	return true;
}
