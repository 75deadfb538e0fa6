/*
 * sim/system/validate.h - `odpsim validate`: what the simulator says for
 * every published figure it claims to follow.
 *
 * A case is data: a scenario file (workloads/validation/NAME.ini) with one
 * or more [validate FIGURE] sections, each naming the quantity, the
 * published value or range with its source, the tolerance, and what of
 * the run's summary to read (README.md: Validation).  A file is run once
 * under its own policy, and once more under each baseline_policy one of
 * its figures names (simulated = read - the same read of the baseline);
 * every run is the one `odpsim run FILE` does (sim/system/runpool.c), so a
 * case can be inspected with the ordinary tools.  Adding a figure is
 * adding a section or a file: no code.
 *
 * Representation: the figures of all files in one array, in file order
 * (files sorted by name), each holding its parsed published bounds and
 * read; the runs' summaries are parsed once and dropped once read.
 */
#ifndef SIM_SYSTEM_VALIDATE_H
#define SIM_SYSTEM_VALIDATE_H

#include <glib.h>
#include <stdbool.h>

#include "sim/config.h"

/* The keys of a [validate NAME] section (`odpsim params validate`). */
extern const struct param_table validate_params;

struct validate_options {
	char **paths;   /* case files or directories of *.ini; NULL:
			 * workloads/validation, here or installed */
	bool fast;      /* only the figures marked fast */
	unsigned jobs;  /* runs at once, >= 1 */
};

/* One figure: published, simulated, verdict. */
struct validate_row {
	char *file;       /* the case file, as given */
	char *name;       /* [validate NAME] */
	char *quantity;
	char *published;  /* as written: "1.5ms", "1.75ms..2.85ms", "512" */
	char *source;
	char *unit;       /* display unit: ms, us... for times; a label */
	double lo, hi;    /* published bounds in display units (lo == hi: a
			   * value) */
	double tolerance; /* a value passes within it (relative) */
	bool range;
	double simulated; /* display units */
	double ratio;     /* simulated / published (a range: / the
			   * geometric mean of its bounds); NAN: none */
	bool pass;
};

struct validate_result {
	struct validate_row *rows;
	unsigned n, failed;
	unsigned files, runs;
};

/* Load every case (errors name the file, line and key: configuration
 * errors, nothing run; *io_error for an unreadable path), run them, read
 * every figure.  A run that fails is an error too (the figure cannot be
 * read). */
struct validate_result *validate_run(const struct validate_options *o,
				     bool *io_error, GError **error);
void validate_result_free(struct validate_result *r);

/* The table `odpsim validate` prints (markdown: README's validation
 * table is this output), and its --json form. */
void validate_print_text(const struct validate_result *r, FILE *out);
char *validate_json(const struct validate_result *r);

/* `odpsim validate ...` (argv[0] is "validate"); returns the exit status:
 * 0 every figure passes, 1 I/O error, 2 configuration error, 5 a figure
 * failed. */
int validate_command(int argc, char **argv);

#endif
