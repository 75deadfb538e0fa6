/*
 * tests/fuzz/fuzz_scenario.c - libFuzzer target: scenario files, read
 * from a file as `odpsim run` reads them (sim/config.c: the text checks,
 * the INI index, GKeyFile), validated against the whole schema and every
 * parameter table filled and range-checked, with the cross-field checks
 * system_build makes before building a model (system_check_scenario).
 * It stops there: building hosts' memory is what makes a run slow, and
 * the loader and validator are what an untrusted file reaches first.
 */
#include "tests/fuzz/fuzz_common.h"

#include "sim/system/system.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 64 * 1024)
		return 0;
	GError *e = NULL;
	bool ok = system_check_scenario(fuzz_file(data, size), &e);
	fuzz_contract(ok, e, "system_check_scenario");
	g_clear_error(&e);
	return 0;
}
