/* netvm's VMM core: a KVM VM with one vCPU, guest RAM, and the legacy
 * devices every guest expects (8250 serial on 0x3f8, i8042 status and
 * reset, an ACPI-style power-off port, PCI config mechanism #1 with a host
 * bridge). Guests boot from ELF kernels with a PVH entry note. */
#ifndef VM_H
#define VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../lib/nf.h"

enum vm_exit {
	VM_POWEROFF, /* the guest powered off */
	VM_RESET,    /* reboot request (i8042 or reset port) */
	VM_SHUTDOWN, /* triple fault */
	VM_ERROR,    /* KVM or device failure */
};

struct vm {
	int kvm, fd, vcpu;
	uint8_t *mem;
	size_t mem_size;
	struct kvm_run *run;
	FILE *console; /* serial output, or NULL */
	uint32_t pci_addr;
	uint8_t serial_lcr, serial_ier, serial_scr;
};

int vm_create(struct vm *vm, size_t mem_size, struct nf_err *e);
void vm_destroy(struct vm *vm);
/* Guest memory at [gpa, gpa+len) or NULL if any part lies outside RAM;
 * every access to guest-controlled addresses goes through this. */
void *vm_guest(struct vm *vm, uint64_t gpa, uint64_t len);
/* Loads an ELF kernel with a PVH note, writes hvm_start_info and the
 * command line, and points the vCPU at the entry (32-bit flat). */
int vm_load_pvh(struct vm *vm, const char *path, const char *cmdline,
		struct nf_err *e);
/* Runs the vCPU until the guest stops; says how it ended. */
enum vm_exit vm_run(struct vm *vm, struct nf_err *e);

#endif
