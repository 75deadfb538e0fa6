/*
 * sim/system/progress.c - the progress line and SIGINT/SIGTERM (see
 * progress.h).
 */
#include "sim/system/progress.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "sim/sim.h"

void progress_init(struct progress *p, bool on, bool tty)
{
	memset(p, 0, sizeof(*p));
	p->on = on;
	p->tty = tty;
	p->start = g_get_monotonic_time();
}

bool progress_due(const struct progress *p)
{
	if (!p->on)
		return false;
	gint64 now = g_get_monotonic_time();
	gint64 every = p->tty ? G_USEC_PER_SEC / 4 : G_USEC_PER_SEC;
	return now - p->start >= G_USEC_PER_SEC && now - p->last >= every;
}

void progress_show(struct progress *p, double f, const char *detail)
{
	if (!progress_due(p))
		return;
	gint64 now = g_get_monotonic_time();
	p->last = now;
	double el = (double)(now - p->start) / 1e6;
	f = f < 0 ? 0 : f > 1 ? 1 : f;
	char eta[32];
	if (f > 0) {
		double s = el * (1 - f) / f;
		if (s >= 3600)
			g_snprintf(eta, sizeof(eta), "%d:%02d:%02d",
				   (int)(s / 3600), (int)(s / 60) % 60,
				   (int)s % 60);
		else
			g_snprintf(eta, sizeof(eta), "%d:%02d", (int)(s / 60),
				   (int)s % 60);
	} else {
		g_strlcpy(eta, "?", sizeof(eta));
	}
	char line[160];
	g_snprintf(line, sizeof(line), "  %5.1f%%  ETA %s  %s", 100 * f, eta,
		   detail ? detail : "");
	if (p->tty) {
		fprintf(stderr, "\r%-79.79s", line);
		p->shown = true;
	} else {
		fprintf(stderr, "%s\n", line);
	}
	fflush(stderr);
}

void progress_clear(struct progress *p)
{
	if (p->shown) {
		fprintf(stderr, "\r%79s\r", "");
		fflush(stderr);
		p->shown = false;
	}
}

/* ---- signals: the only state outside struct sim, as the handler needs
 * it (one command per process) ---- */

static volatile sig_atomic_t caught;
static struct sim *volatile target;

static void on_signal(int sig)
{
	caught = sig;
	struct sim *s = target;
	if (s)
		s->interrupted = 1;
}

void progress_catch_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int progress_signal(void)
{
	return caught;
}

void progress_attach(struct sim *sim)
{
	target = sim;
	if (sim && caught)
		sim->interrupted = 1; /* caught before the run began */
}
