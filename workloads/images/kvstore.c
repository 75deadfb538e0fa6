/*
 * workloads/images/kvstore.c - the process image of workloads/elf_image.ini,
 * built by `make` into build/images/kvstore: a tiny static program without
 * libc (so its segments are the same under gcc and clang, and on every
 * system): text r-x, an initialised index of 64 KiB (.data) and a
 * zero-filled value store of 4 MiB (.bss), at the link addresses of a
 * static x86-64 executable (0x400000 on).  It is loaded, never run: the
 * simulator maps its segments (vmm/elf.c) and the scenario's process
 * touches them.
 */
volatile unsigned long kv_index[8192] = { 1 };
volatile unsigned char kv_values[4 << 20];

void _start(void)
{
	for (;;)
		kv_values[kv_index[0] % sizeof(kv_values)]++;
}
