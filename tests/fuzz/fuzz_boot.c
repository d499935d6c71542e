/* libFuzzer target for netvm's kernel loader: the input is a kernel image
 * (a bzImage's setup header and payload, or an ELF with program headers
 * and a PVH note) and an initrd, every byte untrusted. Guest RAM is an
 * exact-size heap block, so ASan sees any write outside it. The boot CPU
 * is left alone (no KVM: its ioctls fail, after all parsing is done). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "../../vhost/vm.h"

#define MEM (8u << 20)

void *vm_guest(struct vm *vm, uint64_t gpa, uint64_t len)
{
	if (gpa > vm->mem_size || len > vm->mem_size - gpa)
		return NULL;
	return vm->mem + gpa;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vm vm;
	struct nf_err e;
	if (size < 5)
		return 0;
	/* the first 4 bytes: how much of the rest is the kernel */
	uint32_t klen;
	memcpy(&klen, data, 4);
	data += 4, size -= 4;
	klen = size ? klen % (uint32_t)(size + 1) : 0;
	memset(&vm, 0, sizeof(vm));
	vm.mem_size = MEM;
	vm.mem = calloc(1, MEM);
	vm.ncpus = 1 + data[0] % 4;
	for (unsigned i = 0; i < VM_MAX_CPUS; i++)
		vm.cpu[i].fd = -1;
	vm_boot_image(&vm, "fuzz", (const char *)data, klen,
		      size - klen ? (const char *)data + klen : NULL,
		      size - klen, "initrd", "console=ttyS0", &e);
	free(vm.mem);
	return 0;
}
