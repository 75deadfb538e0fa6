/*
 * sim/system/progress.h - what a long command shows while it runs and how
 * it stops when asked: the progress line on stderr, and SIGINT/SIGTERM.
 *
 * The progress line: a fraction done, an ETA from the wall time so far
 * (elapsed x (1 - f) / f), and a detail, at most four times a second and
 * only once the command has run a second.  On a terminal it is one line
 * rewritten in place ("\r") and erased at the end; when forced on
 * something else (--progress into a log) each update is a line of its
 * own, once a second.
 *
 * Interruption: progress_catch_signals() installs a handler for SIGINT
 * and SIGTERM that only records the signal and raises the interrupt flag
 * of the run attached with progress_attach() (struct sim's interrupted,
 * which the event loop reads before every event), so a run stops at the
 * next event, then finishes its outputs and prints its summary marked
 * interrupted; the command exits 128 + the signal (130 for SIGINT, 143
 * for SIGTERM).  Nothing else happens in the handler (it is
 * async-signal-safe); a second signal changes nothing.
 */
#ifndef SIM_SYSTEM_PROGRESS_H
#define SIM_SYSTEM_PROGRESS_H

#include <glib.h>
#include <stdbool.h>

struct sim;

struct progress {
	bool on;
	bool tty;       /* rewrite one line in place */
	gint64 start;   /* monotonic us */
	gint64 last;    /* last update */
	bool shown;     /* a line is on the terminal */
};

/* @on: show anything at all; @tty: stderr is a terminal. */
void progress_init(struct progress *p, bool on, bool tty);
/* Fraction @f in [0, 1] done; @detail follows the percentage and ETA. */
void progress_show(struct progress *p, double f, const char *detail);
/* Rate-limited: is an update due now? (so callers format only then) */
bool progress_due(const struct progress *p);
/* Erase the line (a terminal) before anything else is printed. */
void progress_clear(struct progress *p);

/* SIGINT and SIGTERM record the signal and interrupt the attached run. */
void progress_catch_signals(void);
/* The signal caught so far (0: none). */
int progress_signal(void);
/* The run a signal stops (NULL: none). */
void progress_attach(struct sim *sim);

#endif
