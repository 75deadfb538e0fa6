/*
 * tools/bench_hold.c - the classic hold model on the event queue.
 *
 * PENDING events are queued; each fired event schedules one more at
 * now + Exp(mean 1000 ns), the draw included in the measured time
 * (tools/hold_model.h).
 * Prints: hold pending=P events=E seconds=S events_per_sec=R
 */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>

#include "tools/hold_model.h"

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: bench_hold PENDING EVENTS\n");
		return 2;
	}
	char *end;
	uint64_t pending = g_ascii_strtoull(argv[1], &end, 10);
	uint64_t events = g_ascii_strtoull(argv[2], &end, 10);
	if (!pending || !events) {
		fprintf(stderr, "bench_hold: PENDING and EVENTS must be > 0\n");
		return 2;
	}
	double s;
	uint64_t fired = hold_run(pending, events, &s);
	printf("hold pending=%" G_GUINT64_FORMAT " events=%" G_GUINT64_FORMAT
	       " seconds=%.3f events_per_sec=%.0f\n",
	       pending, fired, s, (double)fired / s);
	return 0;
}
