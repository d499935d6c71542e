/* netvm's VMM core: a KVM VM with N vCPUs (CPUID from KVM with the
 * hypervisor bit; ACPI and MP tables so Linux brings them all up), guest
 * RAM below the 32-bit PCI hole, in-kernel irqchip and PIT, and the legacy
 * devices every guest expects: 8250 serial on 0x3f8 (with its interrupt),
 * CMOS/RTC, i8042 controller and reset, ACPI PM1 power-off, PCI config
 * mechanism #1 with a host bridge. PCI devices plug in through struct
 * vm_pci. Guests boot from Linux bzImages (boot protocol) or ELF kernels
 * with a PVH entry note. */
#ifndef VM_H
#define VM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../lib/nf.h"
#include "console.h"

#define VM_MAX_CPUS 16
#define VM_MAX_PCI  8
#define VM_MAX_PIO  16
#define VM_PCI_MMIO 0xe0000000u /* BARs are placed from here */
#define VM_MAX_GSI  256
#define VM_PM_BASE  0x600 /* ACPI PM1a event (4 bytes), control (2): SLP_EN */
/* A 32-bit write of N pauses the vCPU for N microseconds (at most 10 ms):
 * how a guest that takes no interrupts (the probe; some KVMs, such as
 * this project's PVM-backed one, cannot deliver them to it) idles. */
#define VM_IDLE_PORT 0x610

enum vm_exit {
	VM_RUNNING,
	VM_POWEROFF, /* the guest powered off */
	VM_RESET,    /* reboot request (i8042 or reset port) */
	VM_SHUTDOWN, /* triple fault */
	VM_ERROR,    /* KVM or device failure */
	VM_STOPPED,  /* vm_stop from the host (SIGTERM) */
};

/* A PCI function at 00:slot.0 with one 32-bit memory BAR (BAR0). */
struct vm_pci {
	unsigned slot;
	void *opaque;
	uint32_t bar, bar_size; /* bar: where the guest put BAR0 */
	/* config space dword at reg (4-byte aligned) */
	uint32_t (*cfg_read)(struct vm_pci *d, unsigned reg);
	/* a write of size bytes at reg (any alignment within a dword) */
	void (*cfg_write)(struct vm_pci *d, unsigned reg, uint32_t v,
			  unsigned size);
	/* an access inside BAR0 */
	void (*mmio)(struct vm_pci *d, uint64_t off, uint8_t *data,
		     unsigned len, bool write);
};

struct vm;

/* One port access (an IN or OUT; a rep string instruction is several):
 * the handler reads or fills data, and may end the guest or rest the
 * vCPU after the access. */
struct vm_io {
	unsigned off;  /* from the device's base port */
	unsigned size; /* 1, 2 or 4 bytes */
	uint8_t *data;
	bool out;
	enum vm_exit stop; /* set to end the guest (VM_POWEROFF, VM_RESET) */
	uint32_t idle_us;  /* set to rest the vCPU that long (at most 10 ms) */
};

/* A device on ports [base, base+len): accesses that fall wholly inside
 * go to io(vm, dev, ...), under io_lock. */
struct vm_pio {
	const char *name;
	uint16_t base, len;
	void (*io)(struct vm *vm, void *dev, struct vm_io *io);
	void *dev;
};

struct vm_cpu {
	struct vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
};

struct vm {
	int kvm, fd;
	enum nf_kvm
		kind; /* which KVM /dev/kvm is (PVM boots no stock kernel) */
	uint8_t *mem;
	size_t mem_size;
	unsigned ncpus;
	struct vm_cpu cpu[VM_MAX_CPUS];
	struct console *console;       /* serial output, or NULL */
	pthread_mutex_t io_lock;       /* legacy devices, PCI config */
	pthread_mutex_t route_lock;    /* GSI routes; taken inside io_lock */
	struct vm_pio pio[VM_MAX_PIO]; /* the port I/O devices */
	unsigned npio;
	void *legacy;	   /* their state (devices.c) */
	uint32_t pci_addr; /* the host bridge's CONFIG_ADDRESS */
	struct vm_pci *pci[VM_MAX_PCI];
	unsigned npci;
	/* GSI routes: 0..23 the irqchip pins, then MSI routes */
	struct {
		bool used;
		uint32_t addr_lo, addr_hi, data;
	} msi[VM_MAX_GSI];
	unsigned next_gsi;
	/* how the guest ended; written once, then exit_fd is signalled */
	enum vm_exit exit;
	char exit_msg[256];
	int exit_fd;
	uint64_t started_ns, first_exit_ns;
};

/* kvm: an open /dev/kvm (taken over), or -1 to open it. */
int vm_create(struct vm *vm, size_t mem_size, unsigned ncpus, int kvm,
	      struct nf_err *e);
void vm_destroy(struct vm *vm);
/* Guest memory at [gpa, gpa+len) or NULL if any part lies outside RAM;
 * every access to guest-controlled addresses goes through this. */
void *vm_guest(struct vm *vm, uint64_t gpa, uint64_t len);
/* Loads a kernel: a bzImage (with optional initrd) or a PVH ELF; sets up
 * the boot CPU, the memory map and the MP table. kernel and initrd are
 * paths or fd:N (an inherited fd, read from its start). */
int vm_load_kernel(struct vm *vm, const char *kernel, const char *initrd,
		   const char *cmdline, struct nf_err *e);
/* The same from images in memory (every byte untrusted; fuzzed). */
int vm_boot_image(struct vm *vm, const char *name, const char *img, size_t len,
		  const char *initrd, size_t initrd_len,
		  const char *initrd_name, const char *cmdline,
		  struct nf_err *e);
/* Registers a port I/O device (before vm_start); refuses overlaps. */
int vm_add_pio(struct vm *vm, const struct vm_pio *d, struct nf_err *e);
/* The legacy devices (devices.c): serial, i8042, CMOS, ACPI PM1, the idle
 * port. vm_create adds them, and the PCI host bridge. */
int vm_add_legacy(struct vm *vm, struct nf_err *e);
/* Presses the ACPI power button: PM1 PWRBTN_STS, and the SCI while the
 * guest has the event enabled and not yet acknowledged. An ACPI guest
 * shuts down in order and powers off; one without ACPI sees nothing. */
void vm_power_button(struct vm *vm);
/* Input for the guest's serial port (its RBR): as much of data[0..n) as
 * the UART's FIFO takes (the rest is for later: vm_serial_room says when),
 * with the received-data interrupt where the guest enabled it. */
size_t vm_serial_input(struct vm *vm, const uint8_t *data, size_t n);
size_t vm_serial_room(struct vm *vm);
/* Plugs a PCI device in (before vm_start); assigns its BAR. */
int vm_add_pci(struct vm *vm, struct vm_pci *d, struct nf_err *e);

/* Starts the vCPU threads. When the guest ends (or fails), vm->exit is set
 * and vm->exit_fd becomes readable. vm_stop ends and joins them. */
int vm_start(struct vm *vm, struct nf_err *e);
void vm_stop(struct vm *vm);

/* Guest RAM pages resident in host memory, in KiB (mincore). */
size_t vm_guest_resident_kib(struct vm *vm);

/* Interrupts. */
int vm_irq_line(struct vm *vm, unsigned gsi, bool level);
unsigned vm_alloc_gsi(struct vm *vm); /* an MSI route slot, 0 if none */
int vm_set_msi_route(struct vm *vm, unsigned gsi, bool used, uint32_t lo,
		     uint32_t hi, uint32_t data);
int vm_signal_msi(struct vm *vm, uint32_t lo, uint32_t hi, uint32_t data);
int vm_irqfd(struct vm *vm, int fd, unsigned gsi, bool assign);
/* A write of len bytes at gpa signals fd instead of exiting. */
int vm_ioeventfd(struct vm *vm, int fd, uint64_t gpa, unsigned len,
		 bool assign);

#endif
