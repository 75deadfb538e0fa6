/*
 * tests/test_config.c - scenario files and parameter tables: every class of
 * error names the file, the line and the key (and the nearest valid key for
 * a typo); overrides; defaults; the effective configuration.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim/config.h"
#include "sim/system/system.h"

struct tcfg {
	uint64_t mtu, rate, delay, n;
	double theta;
	bool on;
	char *label;
	int mode;
};

static const char *const modes[] = { "report", "fatal", NULL };
static const struct param t_params[] = {
	{ "mtu", PT_SIZE, "4KiB", offsetof(struct tcfg, mtu), "path MTU",
	  "IBA", NULL, 256, 4096 },
	{ "rate", PT_RATE, "100Gbps", offsetof(struct tcfg, rate), "link rate",
	  "", NULL, 0, 0 },
	{ "delay", PT_TIME, NULL, offsetof(struct tcfg, delay), "propagation",
	  "", NULL, 0, 0 },
	{ "count", PT_COUNT, "3", offsetof(struct tcfg, n), "a count", "",
	  NULL, 0, 0 },
	{ "theta", PT_FLOAT, "0.99", offsetof(struct tcfg, theta), "zipf", "",
	  NULL, 0, 2 },
	{ "on", PT_BOOL, "false", offsetof(struct tcfg, on), "switch", "", NULL,
	  0, 0 },
	{ "label", PT_STRING, "x", offsetof(struct tcfg, label), "label", "",
	  NULL, 0, 0 },
	{ "fault_mode", PT_ENUM, "report", offsetof(struct tcfg, mode), "mode",
	  "", modes, 0, 0 },
};
static PARAM_TABLE(t_table, "link", "test link", t_params);
static const struct param n_params[] = {
	{ "ways", PT_COUNT, "8", 0, "ways", "", NULL, 1, 64 },
};
static PARAM_TABLE(n_table, "nic", "test nic", n_params);
static const struct param h_params[] = {
	{ "cpus", PT_COUNT, "1", 0, "cpus", "", NULL, 1, 64 },
};
static PARAM_TABLE(h_table, "host", "test host", h_params);

static const struct section_schema t_schema[] = {
	{ "host", SEC_NAMED, NULL, &h_table, NULL, NULL },
	{ "link", SEC_NAMED, NULL, &t_table, NULL, NULL },
	{ "nic", SEC_EITHER, "host", &n_table, NULL, NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL },
};

/* Load + validate + fill [link ab]; return the error message or NULL. */
static char *try(const char *text, const char *set)
{
	GError *e = NULL;
	struct scenario *sc = scenario_load_data(text, "t.ini", &e);
	struct tcfg c = { 0 };
	if (sc && set && !scenario_set(sc, set, NULL, &e))
		goto out;
	uint64_t ways;
	if (sc && scenario_validate(sc, t_schema, &e) &&
	    scenario_has(sc, "link", "ab") &&
	    config_fill(sc, &t_table, &c, "link", "ab", &e) &&
	    scenario_has(sc, "host", "a"))
		config_fill(sc, &n_table, &ways, "nic", "a", &e);
out:
	config_free(&t_table, &c);
	scenario_free(sc);
	if (!e)
		return NULL;
	char *m = g_strdup(e->message);
	g_error_free(e);
	return m;
}

static void expect(const char *text, const char *set, const char *const *frags)
{
	char *m = try(text, set);
	ck_assert_msg(m, "no error for:\n%s", text);
	for (; *frags; frags++)
		ck_assert_msg(strstr(m, *frags), "message '%s' lacks '%s'", m,
			      *frags);
	g_free(m);
}

#define EXPECT(text, set, ...) \
	expect(text, set, (const char *const[]){ __VA_ARGS__, NULL })

static const char good[] = "[host a]\ncpus = 2\n\n[link ab]\n"
			   "delay = 1us  # comment\nmtu = 1KiB\n";

START_TEST(good_file)
{
	ck_assert_ptr_null(try(good, NULL));
	GError *e = NULL;
	struct scenario *sc = scenario_load_data(good, "t.ini", &e);
	ck_assert_ptr_nonnull(sc);
	ck_assert(scenario_validate(sc, t_schema, &e));
	struct tcfg c = { 0 };
	ck_assert(config_fill(sc, &t_table, &c, "link", "ab", &e));
	ck_assert_uint_eq(c.delay, 1000000);
	ck_assert_uint_eq(c.mtu, 1024);
	ck_assert_uint_eq(c.rate, 100000000000ULL);
	ck_assert_double_eq(c.theta, 0.99);
	ck_assert_str_eq(c.label, "x");
	/* a tab before '#' starts a comment too */
	struct scenario *tab = scenario_load_data(
		"[link ab]\ndelay = 1us\nmtu = 4KiB\t# note\n", "tab.ini", &e);
	ck_assert_ptr_nonnull(tab);
	ck_assert(scenario_validate(tab, t_schema, &e));
	struct tcfg tc = { 0 };
	ck_assert_msg(config_fill(tab, &t_table, &tc, "link", "ab", &e), "%s",
		      e ? e->message : "");
	ck_assert_uint_eq(tc.mtu, 4096);
	config_free(&t_table, &tc);
	scenario_free(tab);
	ck_assert_int_eq(c.mode, 0);
	char *eff = scenario_effective(sc);
	ck_assert(strstr(eff, "[link ab]"));
	ck_assert(strstr(eff, "delay = 1us  # t.ini:5"));
	ck_assert(strstr(eff, "rate = 100Gbps  # default"));
	ck_assert(strstr(eff, "mtu = 1KiB  # t.ini:6"));
	g_free(eff);
	config_free(&t_table, &c);
	ck_assert_str_eq(scenario_names(sc, "link")[0], "ab");
	ck_assert_ptr_null(scenario_names(sc, "link")[1]);
	scenario_free(sc);
}
END_TEST

START_TEST(typos_and_unknowns)
{
	EXPECT("[link ab]\ndelay = 1us\nmtuu = 1KiB\n", NULL, "t.ini:3",
	       "'mtuu'", "did you mean 'mtu'?");
	EXPECT("[lnk ab]\ndelay = 1us\n", NULL, "t.ini:1", "[lnk ab]",
	       "did you mean 'link'?");
	EXPECT("[link ab]\ndelay = 1us\nzzzzzzzzz = 3\n", NULL, "t.ini:3",
	       "unknown key 'zzzzzzzzz'");
	EXPECT("[link ab]\ndelay = 1us\nfault_mode = fatl\n", NULL, "t.ini:3",
	       "fault_mode", "did you mean 'fatal'?");
}
END_TEST

START_TEST(bad_values)
{
	EXPECT("[link ab]\ndelay = 1KiB\n", NULL, "t.ini:2", "delay",
	       "is a size");
	EXPECT("[link ab]\n\ndelay = 1us\nmtu = 4096\n", NULL, "t.ini:4",
	       "mtu", "no unit");
	EXPECT("[link ab]\ndelay = 1us\nmtu = 8KiB\n", NULL, "t.ini:3", "mtu",
	       "out of range");
	EXPECT("[link ab]\ndelay = 1us\non = maybe\n", NULL, "t.ini:3", "on",
	       "not a boolean");
	EXPECT("[link ab]\ndelay = 1us\ntheta = 3\n", NULL, "t.ini:3", "theta",
	       "out of range");
	EXPECT("[link ab]\ndelay = 1us\ncount = -1\n", NULL, "t.ini:3",
	       "count");
}
END_TEST

START_TEST(structure)
{
	EXPECT("[link ab]\nmtu = 1KiB\n", NULL, "t.ini:1", "[link ab]",
	       "missing required key 'delay'");
	EXPECT("[link ab]\ndelay = 1us\ndelay = 2us\n", NULL, "t.ini:3",
	       "'delay' is set twice", "line 2");
	EXPECT("[link ab]\ndelay = 1us\n[link ab]\n", NULL, "t.ini:3",
	       "appears twice");
	EXPECT("[link ab]\ndelay 1us\n", NULL, "t.ini:2",
	       "not 'key = value'");
	EXPECT("mtu = 1KiB\n[link ab]\n", NULL, "t.ini:1", "outside any section");
	EXPECT("[link]\ndelay = 1us\n", NULL, "t.ini:1", "needs a name");
	EXPECT("[link a b]\n", NULL, "t.ini:1", "[TYPE NAME]");
	EXPECT("[link ab\n", NULL, "t.ini:1", "malformed section");
	EXPECT("[nic z]\nways = 2\n", NULL, "t.ini:1", "no section [host z]");
}
END_TEST

START_TEST(overrides)
{
	ck_assert_ptr_null(try(good, "link.ab.mtu=2KiB"));
	ck_assert_ptr_null(try(good, "nic.a.ways=4"));
	ck_assert_ptr_null(try(good, "nic.ways=4"));
	EXPECT(good, "link.ab.mtu=2Kb", "--set link.ab.mtu=2Kb", "[link ab] mtu: ", "unknown unit 'Kb'");
	EXPECT(good, "link.ab.mtuu=2KiB", "--set link.ab.mtuu=2KiB",
	       "did you mean 'mtu'?");
	EXPECT(good, "link.zz.mtu=2KiB", "--set link.zz.mtu=2KiB", "[link zz]");
	EXPECT(good, "nic.a.ways=0", "--set nic.a.ways=0", "out of range");
	EXPECT(good, "mtu2KiB", "--set mtu2KiB", "TYPE[.NAME].KEY=VALUE");
	EXPECT(good, "a.b.c.d=1", "--set a.b.c.d=1", "TYPE.NAME.KEY");
	/* the override wins over the file */
	GError *e = NULL;
	struct scenario *sc = scenario_load_data(good, "t.ini", &e);
	ck_assert(scenario_set(sc, "link.ab.mtu=2KiB", NULL, &e));
	ck_assert(scenario_validate(sc, t_schema, &e));
	struct tcfg c = { 0 };
	ck_assert(config_fill(sc, &t_table, &c, "link", "ab", &e));
	ck_assert_uint_eq(c.mtu, 2048);
	char *eff = scenario_effective(sc);
	ck_assert(strstr(eff, "mtu = 2KiB  # --set link.ab.mtu=2KiB"));
	g_free(eff);
	config_free(&t_table, &c);
	scenario_free(sc);
}
END_TEST

START_TEST(system_tables_are_valid)
{
	/* every default of every shipped table parses (config_defaults
	 * aborts on a bad default) and its range holds the default */
	for (const struct section_schema *s = system_schema; s->type; s++) {
		char buf[4096] = { 0 };
		for (unsigned i = 0; i < s->table->n; i++)
			ck_assert_uint_lt(s->table->params[i].off + 8,
					  sizeof(buf));
		config_defaults(s->table, buf);
		config_free(s->table, buf);
	}
	char *p = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&p, &n);
	GError *e = NULL;
	ck_assert(system_print_params(NULL, false, f, &e));
	ck_assert(!system_print_params("nope", false, f, &e));
	ck_assert(strstr(e->message, "no component 'nope'"));
	g_error_free(e);
	fclose(f);
	ck_assert(strstr(p, "[sim]"));
	ck_assert(strstr(p, "duration"));
	free(p);
}
END_TEST

/* scenario_load() on files that are not scenario text (issue 17, rows 6
 * and 10): a NUL byte (GKeyFile stopped there and ignored the rest), bytes
 * that are not UTF-8, a FIFO (blocked forever), a directory, a device;
 * a UTF-8 byte order mark is skipped. */
static char *load_file(const char *path, const void *data, gssize len)
{
	if (data)
		ck_assert(g_file_set_contents(path, data, len, NULL));
	GError *e = NULL;
	struct scenario *sc = scenario_load(path, &e);
	if (sc) {
		scenario_free(sc);
		return NULL;
	}
	ck_assert_ptr_nonnull(e);
	ck_assert_ptr_null(strchr(e->message, '\n'));
	char *m = g_strdup(e->message);
	g_error_free(e);
	return m;
}

START_TEST(file_is_text)
{
	char *dir = g_dir_make_tmp("odpsim-config-XXXXXX", NULL);
	char *p = g_build_filename(dir, "s.ini", NULL);
	static const char nul[] = "[host a]\ncpus = 2\n[host b]\0cpus = 9x\n";
	char *m = load_file(p, nul, sizeof(nul) - 1);
	ck_assert_msg(m && strstr(m, "s.ini:3: a NUL byte at column 9"), "%s",
		      m ? m : "(loaded)");
	g_free(m);
	static const char latin1[] = "[host a]\n# caf\xe9\ncpus = 2\n";
	m = load_file(p, latin1, -1);
	ck_assert_msg(m && strstr(m, "s.ini:2: invalid UTF-8 at column 6"),
		      "%s", m ? m : "(loaded)");
	g_free(m);
	static const char utf16[] = "\xff\xfe[\0h\0";
	m = load_file(p, utf16, sizeof(utf16) - 1);
	ck_assert_msg(m && strstr(m, "s.ini:1:"), "%s", m ? m : "(loaded)");
	g_free(m);
	ck_assert_ptr_null(load_file(p, "\xef\xbb\xbf[host a]\ncpus = 2\n", -1));
	char *fifo = g_build_filename(dir, "fifo.ini", NULL);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	m = load_file(fifo, NULL, 0);
	ck_assert_msg(m && strstr(m, "fifo.ini: cannot read: it is a FIFO"),
		      "%s", m ? m : "(loaded)");
	g_free(m);
	m = load_file(dir, NULL, 0);
	ck_assert_msg(m && strstr(m, "cannot read: it is a directory"), "%s",
		      m ? m : "(loaded)");
	g_free(m);
	m = load_file("/dev/zero", NULL, 0);
	ck_assert_msg(m && strstr(m, "/dev/zero: cannot read: it is a device"),
		      "%s", m ? m : "(loaded)");
	g_free(m);
	/* a file far larger than any scenario is not read whole */
	char *big = g_build_filename(dir, "big.ini", NULL);
	FILE *f = fopen(big, "w");
	ck_assert_int_eq(ftruncate(fileno(f), 64 << 20), 0);
	fclose(f);
	m = load_file(big, NULL, 0);
	ck_assert_msg(m && strstr(m, "larger than 16 MiB"), "%s",
		      m ? m : "(loaded)");
	g_free(m);
	unlink(big);
	unlink(fifo);
	unlink(p);
	rmdir(dir);
	g_free(big);
	g_free(fifo);
	g_free(p);
	g_free(dir);
}
END_TEST

START_TEST(nearest)
{
	static const char *const c[] = { "mtu", "rate", "delay", "rnr_retry",
					 NULL };
	ck_assert_str_eq(config_nearest("mtuu", c), "mtu");
	ck_assert_str_eq(config_nearest("rnr_rety", c), "rnr_retry");
	ck_assert_ptr_null(config_nearest("bandwidth", c));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("scenario");
	tcase_add_test(tc, good_file);
	tcase_add_test(tc, typos_and_unknowns);
	tcase_add_test(tc, bad_values);
	tcase_add_test(tc, structure);
	tcase_add_test(tc, overrides);
	tcase_add_test(tc, system_tables_are_valid);
	tcase_add_test(tc, nearest);
	tcase_add_test(tc, file_is_text);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
