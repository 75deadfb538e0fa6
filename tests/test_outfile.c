/*
 * tests/test_outfile.c - safe output files (sim/outfile.c): what is
 * refused (devices, FIFOs, directories, symbolic links, sockets, files we
 * may not write), that the target is untouched until the commit and after
 * an abort, that a write error is kept and reported with its errno (a
 * file-size limit, a real error on a regular file), that a set commits
 * all or nothing and removes the directories it made, and that stdout's
 * errors are seen.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim/outfile.h"

static char *dir;

static void setup(void)
{
	dir = g_dir_make_tmp("odpsim-outfile-XXXXXX", NULL);
	ck_assert_ptr_nonnull(dir);
}

static void teardown(void)
{
	char *q = g_shell_quote(dir);
	char *cmd = g_strdup_printf("rm -rf %s", q);
	ck_assert_int_eq(system(cmd), 0);
	g_free(cmd);
	g_free(q);
	g_free(dir);
}

static char *in_dir(const char *name)
{
	return g_build_filename(dir, name, NULL);
}

static gint by_name(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in directory @d, sorted, space-separated. */
static char *listing(const char *d)
{
	GDir *gd = g_dir_open(d, 0, NULL);
	ck_assert_ptr_nonnull(gd);
	GPtrArray *v = g_ptr_array_new_with_free_func(g_free);
	const char *n;
	while ((n = g_dir_read_name(gd)))
		g_ptr_array_add(v, g_strdup(n));
	g_dir_close(gd);
	g_ptr_array_sort(v, by_name);
	g_ptr_array_add(v, NULL);
	char *s = g_strjoinv(" ", (char **)v->pdata);
	g_ptr_array_free(v, TRUE);
	return s;
}

static char *slurp(const char *path)
{
	char *s = NULL;
	ck_assert(g_file_get_contents(path, &s, NULL, NULL));
	return s;
}

/* Opening @path fails with a message naming it and containing @frag. */
static void refused(const char *path, const char *frag)
{
	GError *e = NULL;
	ck_assert_ptr_null(outfile_open(path, &e));
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(e->domain, G_FILE_ERROR);
	ck_assert_msg(strstr(e->message, path) && strstr(e->message, frag),
		      "'%s' lacks '%s' or the path", e->message, frag);
	ck_assert_ptr_null(strchr(e->message, '\n'));
	g_error_free(e);
}

START_TEST(commit_replaces_only_at_the_end)
{
	char *p = in_dir("out.txt");
	ck_assert(g_file_set_contents(p, "old\n", -1, NULL));
	GError *e = NULL;
	struct outfile *of = outfile_open(p, &e);
	ck_assert_msg(of, "%s", e ? e->message : "");
	fputs("new content\n", outfile_stream(of));
	fflush(outfile_stream(of));
	/* written, not yet committed: the target is the old file, the
	 * temporary sits beside it, hidden */
	char *s = slurp(p);
	ck_assert_str_eq(s, "old\n");
	g_free(s);
	char *l = listing(dir);
	ck_assert_msg(g_str_has_prefix(l, ".out.txt.") &&
			      g_str_has_suffix(l, " out.txt"),
		      "%s", l);
	g_free(l);
	ck_assert_uint_eq(outfile_bytes(of), 12);
	ck_assert_msg(outfile_commit(of, &e), "%s", e ? e->message : "");
	s = slurp(p);
	ck_assert_str_eq(s, "new content\n");
	g_free(s);
	l = listing(dir);
	ck_assert_str_eq(l, "out.txt");
	g_free(l);
	g_free(p);
}
END_TEST

START_TEST(abort_leaves_the_target)
{
	char *p = in_dir("keep.txt");
	ck_assert(g_file_set_contents(p, "old\n", -1, NULL));
	struct outfile *of = outfile_open(p, NULL);
	ck_assert_ptr_nonnull(of);
	fputs("half of it", outfile_stream(of));
	outfile_abort(of);
	char *s = slurp(p);
	ck_assert_str_eq(s, "old\n");
	g_free(s);
	char *l = listing(dir);
	ck_assert_str_eq(l, "keep.txt");
	g_free(l);
	outfile_abort(NULL);
	g_free(p);
}
END_TEST

START_TEST(non_regular_targets_refused)
{
	refused("/dev/full", "it is a character device");
	refused("/dev/null", "it is a character device");
	refused(dir, "it is a directory");
	char *fifo = in_dir("fifo");
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	refused(fifo, "it is a FIFO");
	char *target = in_dir("target");
	ck_assert(g_file_set_contents(target, "t\n", -1, NULL));
	char *link = in_dir("link");
	ck_assert_int_eq(symlink(target, link), 0);
	refused(link, "it is a symbolic link");
	char *dangling = in_dir("dangling");
	ck_assert_int_eq(symlink("/nonexistent/x", dangling), 0);
	refused(dangling, "it is a symbolic link");
	char *sock = in_dir("sock");
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	g_strlcpy(a.sun_path, sock, sizeof(a.sun_path));
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	refused(sock, "it is a socket");
	close(fd);
	refused("/nonexistent-dir/x.pcap", "No such file or directory");
	GError *e = NULL;
	ck_assert(!outfile_check_target("", &e));
	ck_assert_ptr_nonnull(strstr(e->message, "empty"));
	g_clear_error(&e);
	/* nothing was replaced or created */
	char *s = slurp(target);
	ck_assert_str_eq(s, "t\n");
	g_free(s);
	char *l = listing(dir);
	ck_assert_str_eq(l, "dangling fifo link sock target");
	g_free(l);
	struct stat st;
	ck_assert_int_eq(lstat(link, &st), 0);
	ck_assert(S_ISLNK(st.st_mode));
	g_free(fifo);
	g_free(target);
	g_free(link);
	g_free(dangling);
	g_free(sock);
}
END_TEST

/* A node that appears between open and commit is not replaced either. */
START_TEST(target_checked_again_at_commit)
{
	char *p = in_dir("late");
	struct outfile *of = outfile_open(p, NULL);
	ck_assert_ptr_nonnull(of);
	fputs("x", outfile_stream(of));
	ck_assert_int_eq(symlink("/dev/null", p), 0);
	GError *e = NULL;
	ck_assert(!outfile_commit(of, &e));
	ck_assert_ptr_nonnull(strstr(e->message, "symbolic link"));
	g_clear_error(&e);
	char *l = listing(dir);
	ck_assert_str_eq(l, "late");
	g_free(l);
	g_free(p);
}
END_TEST

START_TEST(unwritable_file_refused)
{
	if (geteuid() == 0) {
		printf("SKIP unwritable-file check (root may write any file)\n");
		return;
	}
	char *p = in_dir("ro");
	ck_assert(g_file_set_contents(p, "ro\n", -1, NULL));
	ck_assert_int_eq(chmod(p, 0444), 0);
	refused(p, "Permission denied");
	ck_assert_int_eq(chmod(dir, 0555), 0);
	char *q = in_dir("new");
	refused(q, "Permission denied");
	ck_assert_int_eq(chmod(dir, 0755), 0);
	g_free(p);
	g_free(q);
}
END_TEST

/* A real write error on a regular file: the file-size limit (SIGXFSZ
 * ignored, so write() fails with EFBIG).  In a child, since the limit and
 * the signal disposition are the process's. */
START_TEST(write_error_is_kept_and_reported)
{
	char *p = in_dir("big");
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		signal(SIGXFSZ, SIG_IGN);
		struct rlimit rl = { 4096, 4096 };
		setrlimit(RLIMIT_FSIZE, &rl);
		struct outfile *of = outfile_open(p, NULL);
		if (!of)
			_exit(10);
		char buf[1000];
		memset(buf, 'x', sizeof(buf));
		for (int i = 0; i < 20; i++)
			fwrite(buf, 1, sizeof(buf), outfile_stream(of));
		GError *e = NULL;
		if (outfile_commit(of, &e))
			_exit(11);
		if (!strstr(e->message, p) ||
		    !strstr(e->message, g_strerror(EFBIG)))
			_exit(12);
		_exit(access(p, F_OK) == 0 ? 13 : 0);
	}
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	char *l = listing(dir);
	ck_assert_str_eq(l, ""); /* no temporary left either */
	g_free(l);
	g_free(p);
}
END_TEST

/* A writer using the descriptor reports its own errors through
 * outfile_fail, and the commit then fails. */
START_TEST(descriptor_writer_failure)
{
	char *p = in_dir("core");
	struct outfile *of = outfile_open(p, NULL);
	ck_assert_ptr_nonnull(of);
	ck_assert_int_eq(write(outfile_fd(of), "abc", 3), 3);
	outfile_fail(of, ENOSPC);
	outfile_fail(of, EIO); /* the first is kept */
	GError *e = NULL;
	ck_assert(!outfile_commit(of, &e));
	ck_assert_ptr_nonnull(strstr(e->message, g_strerror(ENOSPC)));
	g_clear_error(&e);
	ck_assert(!g_file_test(p, G_FILE_TEST_EXISTS));
	of = outfile_open(p, NULL);
	ck_assert_int_eq(write(outfile_fd(of), "abc", 3), 3);
	ck_assert(outfile_commit(of, NULL));
	char *s = slurp(p);
	ck_assert_str_eq(s, "abc");
	g_free(s);
	g_free(p);
}
END_TEST

START_TEST(write_file_whole)
{
	char *p = in_dir("w");
	GError *e = NULL;
	ck_assert(outfile_write_file(p, "hello", 5, &e));
	char *s = slurp(p);
	ck_assert_str_eq(s, "hello");
	g_free(s);
	ck_assert(outfile_write_file(p, "", 0, &e));
	s = slurp(p);
	ck_assert_str_eq(s, "");
	g_free(s);
	ck_assert(!outfile_write_file("/dev/full", "x", 1, &e));
	g_clear_error(&e);
	g_free(p);
}
END_TEST

START_TEST(set_commits_all_or_nothing)
{
	char *out = in_dir("a/b/out");
	struct outfile_set *set = outfile_set_new();
	GError *e = NULL;
	ck_assert_msg(outfile_set_mkdir(set, out, &e), "%s",
		      e ? e->message : "");
	char *f1 = g_build_filename(out, "one", NULL);
	char *f2 = g_build_filename(out, "two", NULL);
	struct outfile *o1 = outfile_set_open(set, f1, &e);
	struct outfile *o2 = outfile_set_open(set, f2, &e);
	ck_assert(o1 && o2);
	ck_assert_ptr_null(outfile_set_open(set, f1, &e));
	ck_assert_ptr_nonnull(strstr(e->message, "two outputs"));
	g_clear_error(&e);
	ck_assert_uint_eq(outfile_set_count(set), 2);
	fputs("1", outfile_stream(o1));
	fputs("2", outfile_stream(o2));
	outfile_fail(o2, ENOSPC);
	ck_assert(!outfile_set_commit(set, &e));
	ck_assert_ptr_nonnull(strstr(e->message, f2));
	g_clear_error(&e);
	/* neither file, and the directories made for them are gone */
	char *l = listing(dir);
	ck_assert_str_eq(l, "");
	g_free(l);

	ck_assert(outfile_set_mkdir(set, out, NULL));
	o1 = outfile_set_open(set, f1, NULL);
	o2 = outfile_set_open(set, f2, NULL);
	fputs("1", outfile_stream(o1));
	fputs("2", outfile_stream(o2));
	struct outfile *o3 = outfile_set_open(set, f1, NULL);
	ck_assert_ptr_null(o3);
	char *f3 = g_build_filename(out, "three", NULL);
	o3 = outfile_set_open(set, f3, NULL);
	outfile_set_drop(set, o3);
	ck_assert_msg(outfile_set_commit(set, &e), "%s", e ? e->message : "");
	ck_assert_uint_eq(outfile_set_count(set), 0);
	l = listing(out);
	ck_assert_str_eq(l, "one two");
	g_free(l);
	outfile_set_free(set); /* the committed directory stays */
	ck_assert(g_file_test(out, G_FILE_TEST_IS_DIR));

	/* a set freed unfinished leaves nothing, and keeps what existed */
	set = outfile_set_new();
	ck_assert(outfile_set_mkdir(set, out, NULL));
	o1 = outfile_set_open(set, f1, NULL);
	fputs("new", outfile_stream(o1));
	outfile_set_free(set);
	char *s = slurp(f1);
	ck_assert_str_eq(s, "1");
	g_free(s);
	l = listing(out);
	ck_assert_str_eq(l, "one two");
	g_free(l);
	outfile_set_free(NULL);

	/* a directory path that is a file */
	set = outfile_set_new();
	ck_assert(!outfile_set_mkdir(set, f1, &e));
	ck_assert_ptr_nonnull(strstr(e->message, "not a directory"));
	g_clear_error(&e);
	outfile_set_free(set);
	g_free(f1);
	g_free(f2);
	g_free(f3);
	g_free(out);
}
END_TEST

/* stdout on /dev/full: the flush fails and says so (in a child: stdout
 * is closed by the call). */
START_TEST(stdout_errors_seen)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = open("/dev/full", O_WRONLY);
		if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0)
			_exit(10);
		printf("a summary\n");
		GError *e = NULL;
		if (outfile_close_stdout(&e))
			_exit(11);
		_exit(strstr(e->message, g_strerror(ENOSPC)) &&
			      strstr(e->message, "standard output") ? 0 : 12);
	}
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	pid = fork();
	if (pid == 0) {
		char *p = in_dir("stdout");
		int fd = open(p, O_WRONLY | O_CREAT, 0644);
		dup2(fd, STDOUT_FILENO);
		printf("fine\n");
		_exit(outfile_close_stdout(NULL) ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
}
END_TEST

static Suite *outfile_suite(void)
{
	Suite *s = suite_create("outfile");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, commit_replaces_only_at_the_end);
	tcase_add_test(tc, abort_leaves_the_target);
	tcase_add_test(tc, non_regular_targets_refused);
	tcase_add_test(tc, target_checked_again_at_commit);
	tcase_add_test(tc, unwritable_file_refused);
	tcase_add_test(tc, write_error_is_kept_and_reported);
	tcase_add_test(tc, descriptor_writer_failure);
	tcase_add_test(tc, write_file_whole);
	tcase_add_test(tc, set_commits_all_or_nothing);
	tcase_add_test(tc, stdout_errors_seen);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(outfile_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
