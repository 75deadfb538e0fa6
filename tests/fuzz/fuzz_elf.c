/*
 * tests/fuzz/fuzz_elf.c - libFuzzer target: ELF process images
 * (vmm/elf.c, libelf underneath) loaded into a fresh address space of a
 * small host (made afresh for each input).  Beyond the error contract: a load that fails maps
 * nothing it reports, and one that succeeds made as many VMAs as it says.
 */
#include "tests/fuzz/fuzz_common.h"

#include "sim/config.h"
#include "sim/sim.h"
#include "vmm/vmm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 20)
		return 0;
	/* a fresh host per input: an address space's id lives as long as
	 * its VMM, so one VMM would collect them all */
	struct vmm_config vc = { 0 };
	config_defaults(&vmm_params, &vc);
	struct sim *sim = sim_new(1);
	struct vmm *vmm = vmm_new(sim, "f", 4ULL << 20, &vc);
	config_free(&vmm_params, &vc);
	struct vmm_as *as = vmm_as_new(vmm, "img");
	GError *e = NULL;
	unsigned n = vmm_load_elf(as, fuzz_file(data, size), &e);
	fuzz_contract(n > 0, e, "vmm_load_elf");
	if (n && vmm_vma_count(as) != n) {
		fprintf(stderr, "vmm_load_elf: %u VMAs reported, %u made\n", n,
			vmm_vma_count(as));
		abort();
	}
	g_clear_error(&e);
	vmm_free(vmm);
	sim_free(sim);
	return 0;
}
