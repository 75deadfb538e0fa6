/*
 * sim/system/runpool.c - runs in forked children (see runpool.h).
 */
#include "sim/system/runpool.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim/system/progress.h"
#include "sim/system/system.h"

enum { EXIT_OK = 0, EXIT_IO = 1, EXIT_CONFIG = 2 };

/* The most of a child's stderr kept (its last bytes). */
#define RUNPOOL_ERR_KEEP 8192

struct runpool_child {
	pid_t pid;
	int fd;       /* read end of the summary pipe, -1 once at EOF */
	int efd;      /* read end of the stderr pipe, or -1 */
	unsigned idx;
	gint64 started;
	GString *buf;
	GString *err;
};

static bool runpool_write_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		s += w;
		n -= (size_t)w;
	}
	return true;
}

/* The parent's loop state, which a child inherits and frees. */
struct runpool_loop {
	struct runpool_child *run;
	struct pollfd *pfd;
	unsigned *who;
	unsigned nrun;
};

/* The child: build, run, send the summary, exit.  Never returns. */
static void G_GNUC_NORETURN runpool_child_main(const struct runpool_spec *sp,
					       const struct runpool_job *job,
					       struct runpool_loop *loop,
					       int fd)
{
	/* what the parent's loop holds is no part of this run: freed, so
	 * that a leak checker following the fork finds nothing lost (the
	 * pointers may live only in registers the child does not keep) */
	for (unsigned i = 0; i < loop->nrun; i++) {
		g_string_free(loop->run[i].buf, TRUE);
		g_string_free(loop->run[i].err, TRUE);
		if (loop->run[i].fd >= 0)
			close(loop->run[i].fd);
		if (loop->run[i].efd >= 0)
			close(loop->run[i].efd);
	}
	g_free(loop->run);
	g_free(loop->pfd);
	g_free(loop->who);
	const char *pre = sp->prefix ? sp->prefix : "run";
	/* test hook: this job's run crashes */
	if (job->label && !g_strcmp0(g_getenv("ODPSIM_RUNPOOL_TEST_CRASH"),
				     job->label))
		abort();
	GError *e = NULL;
	bool io_error;
	struct system *sys = system_build(job->scenario, &job->opt, &io_error,
					  &e);
	int rc = EXIT_OK;
	if (!sys) {
		fprintf(stderr, "odpsim: %s: %s: %s\n", pre, job->label,
			e->message);
		rc = io_error ? EXIT_IO : EXIT_CONFIG;
	} else if (!system_run(sys, &e)) {
		fprintf(stderr, "odpsim: %s: %s: %s\n", pre, job->label,
			e->message);
		rc = EXIT_IO;
	} else {
		char *j = system_summary_json(sys, false);
		rc = runpool_write_all(fd, j, strlen(j)) ? EXIT_OK : EXIT_IO;
		g_free(j);
	}
	/* free what the child made, so that a leak checker following the
	 * fork (valgrind does) finds nothing lost (issue 17, row 12) */
	system_free(sys);
	g_clear_error(&e);
	fflush(NULL);
	_exit(rc);
}

static bool runpool_spawn(const struct runpool_spec *sp, unsigned idx,
			  struct runpool_loop *loop, GError **error)
{
	struct runpool_child *c = &loop->run[loop->nrun];
	struct runpool_job job = { 0 };
	sp->job(sp->ctx, idx, &job);
	int p[2], q[2] = { -1, -1 };
	if (pipe(p) != 0 || (sp->capture_stderr && pipe(q) != 0)) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "pipe: %s", strerror(errno));
		return false;
	}
	fflush(NULL); /* nothing buffered is written twice */
	pid_t pid = fork();
	if (pid < 0) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		if (q[0] >= 0) {
			close(q[0]);
			close(q[1]);
		}
		return false;
	}
	if (pid == 0) {
		/* stdout is the parent's (a table, a JSON array): anything a
		 * model prints goes to stderr instead */
		if (q[1] >= 0) {
			dup2(q[1], STDERR_FILENO);
			close(q[0]);
			close(q[1]);
		}
		dup2(STDERR_FILENO, STDOUT_FILENO);
		close(p[0]);
		runpool_child_main(sp, &job, loop, p[1]);
	}
	close(p[1]);
	if (q[1] >= 0)
		close(q[1]);
	c->pid = pid;
	c->fd = p[0];
	c->efd = q[0];
	c->idx = idx;
	c->started = g_get_monotonic_time();
	c->buf = g_string_new(NULL);
	c->err = g_string_new(NULL);
	return true;
}

/* The last non-empty line of @s, or NULL. */
static char *runpool_last_line(const GString *s)
{
	char **lines = g_strsplit(s->str, "\n", -1);
	char *last = NULL;
	for (char **l = lines; *l; l++)
		if (*g_strstrip(*l)) {
			g_free(last);
			last = g_strdup(*l);
		}
	g_strfreev(lines);
	return last;
}

/* Why a finished child gave no summary, or NULL when it did. */
static char *runpool_failure(int status, const struct runpool_child *c)
{
	char *why = NULL;
	if (WIFSIGNALED(status))
		why = g_strdup_printf("killed by signal %d (%s)",
				      WTERMSIG(status),
				      strsignal(WTERMSIG(status)));
	else if (!WIFEXITED(status))
		why = g_strdup_printf("ended with wait status %d", status);
	else if (WEXITSTATUS(status) != 0)
		why = g_strdup_printf("exited with status %d",
				      WEXITSTATUS(status));
	else if (!c->buf->len)
		why = g_strdup("printed no summary");
	if (!why)
		return NULL;
	char *line = runpool_last_line(c->err);
	if (line) {
		char *w = g_strdup_printf("%s: %s", why, line);
		g_free(why);
		g_free(line);
		why = w;
	}
	return why;
}

/* Read what is there on @fd into @s; false at end of file. */
static bool runpool_drain(int fd, GString *s, gsize keep)
{
	char chunk[65536];
	ssize_t n = read(fd, chunk, sizeof(chunk));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	g_string_append_len(s, chunk, n);
	if (keep && s->len > keep)
		g_string_erase(s, 0, (gssize)(s->len - keep));
	return true;
}

static void runpool_finish(const struct runpool_spec *sp,
			   struct runpool_child *c)
{
	int status = 0;
	while (waitpid(c->pid, &status, 0) < 0)
		g_assert(errno == EINTR);
	struct runpool_result r = {
		.status = WIFSIGNALED(status) ? 128 + WTERMSIG(status)
			  : WIFEXITED(status) ? WEXITSTATUS(status)
					      : -1,
		.wall_s = (double)(g_get_monotonic_time() - c->started) / 1e6,
	};
	char *why = runpool_failure(status, c);
	if (!why) {
		g_strchomp(c->buf->str);
		r.summary = c->buf->str;
	}
	r.failure = why;
	sp->done(sp->ctx, c->idx, &r);
	g_free(why);
	g_string_free(c->buf, TRUE);
	g_string_free(c->err, TRUE);
}

bool runpool_run(const struct runpool_spec *sp, GError **error)
{
	unsigned jobs = MIN(MAX(sp->jobs, 1u), MAX(sp->n, 1u));
	struct runpool_child *run = g_new0(struct runpool_child, jobs);
	struct pollfd *pfd = g_new0(struct pollfd, 2 * jobs);
	unsigned *who = g_new0(unsigned, 2 * jobs);
	struct runpool_loop loop = { run, pfd, who, 0 };
	unsigned next = 0, nrun = 0;
	bool spawn_ok = true, stopped = false;
	gint64 last_tick = 0;
	while ((spawn_ok && !stopped && next < sp->n) || nrun) {
		int sig = sp->stop_on_signal ? progress_signal() : 0;
		if (sig && !stopped) {
			/* a terminal's ^C reached them too, a kill of this
			 * process alone did not: each stops once either way */
			for (unsigned i = 0; i < nrun; i++)
				kill(run[i].pid, sig);
			stopped = true;
		}
		while (spawn_ok && !stopped && next < sp->n && nrun < jobs) {
			loop.nrun = nrun; /* the new child goes at run[nrun] */
			if (runpool_spawn(sp, next, &loop, error)) {
				nrun++;
				next++;
			} else {
				spawn_ok = false; /* collect the running ones */
			}
		}
		if (!nrun)
			break;
		nfds_t nfd = 0;
		for (unsigned i = 0; i < nrun; i++) {
			if (run[i].fd >= 0) {
				pfd[nfd] = (struct pollfd){ run[i].fd, POLLIN,
							    0 };
				who[nfd++] = i;
			}
			if (run[i].efd >= 0) {
				pfd[nfd] = (struct pollfd){ run[i].efd, POLLIN,
							    0 };
				who[nfd++] = i;
			}
		}
		int pr = poll(pfd, nfd, sp->tick ? 250 : -1);
		if (pr < 0) {
			g_assert(errno == EINTR);
			continue;
		}
		if (sp->tick) {
			gint64 now = g_get_monotonic_time();
			if (now - last_tick >= G_USEC_PER_SEC / 4) {
				last_tick = now;
				sp->tick(sp->ctx);
			}
		}
		for (nfds_t k = 0; k < nfd; k++) {
			if (!pfd[k].revents)
				continue;
			struct runpool_child *c = &run[who[k]];
			if (pfd[k].fd == c->fd && !runpool_drain(c->fd, c->buf,
								 0)) {
				close(c->fd);
				c->fd = -1;
			} else if (pfd[k].fd == c->efd &&
				   !runpool_drain(c->efd, c->err,
						  RUNPOOL_ERR_KEEP)) {
				close(c->efd);
				c->efd = -1;
			}
		}
		/* a child whose pipes are both at end of file is done */
		for (unsigned i = nrun; i-- > 0;) {
			if (run[i].fd >= 0 || run[i].efd >= 0)
				continue;
			struct runpool_child c = run[i];
			run[i] = run[--nrun];
			runpool_finish(sp, &c);
			if (sp->tick)
				sp->tick(sp->ctx);
		}
	}
	for (; stopped && next < sp->n; next++) {
		struct runpool_result r = { .failure = RUNPOOL_NOT_RUN,
					    .status = -1 };
		sp->done(sp->ctx, next, &r);
	}
	g_free(run);
	g_free(pfd);
	g_free(who);
	return spawn_ok;
}

char **runpool_split_jobs(int argc, char **argv)
{
	GPtrArray *v = g_ptr_array_new();
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--"))
			for (; i < argc; i++)
				g_ptr_array_add(v, g_strdup(argv[i]));
		else if (!strncmp(a, "-j", 2) && g_ascii_isdigit(a[2])) {
			g_ptr_array_add(v, g_strdup("-j"));
			g_ptr_array_add(v, g_strdup(a + 2));
		} else {
			g_ptr_array_add(v, g_strdup(a));
		}
	}
	g_ptr_array_add(v, NULL);
	return (char **)g_ptr_array_free(v, FALSE);
}
