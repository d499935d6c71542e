/* libFuzzer target for the virtio-pci transport: the input is a guest
 * driving a device's PCI config space and BAR0 (common config, ISR,
 * device config, notify, MSI-X table and PBA, the PCI-config access
 * window) in any order with any values, over guest RAM it also chooses.
 * KVM is replaced by a bookkeeping stub that aborts on what the kernel
 * would refuse or what would leak: a route or irqfd out of range, an
 * irqfd unbound that was not bound, one left bound after the device is
 * reset. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "../../vhost/virtio_pci.h"

#define MEM	   (64 * 1024)
#define BAR	   0x4000u
#define STATUS_OFF 20u /* common cfg: device_status */
#define MAX_BOUND  64

static int bound_fd[VM_MAX_GSI];

int vm_add_pci(struct vm *vm, struct vm_pci *d, struct nf_err *e)
{
	(void)e;
	d->slot = vm->npci + 1;
	d->bar = VM_PCI_MMIO;
	vm->pci[vm->npci++] = d;
	return 0;
}

unsigned vm_alloc_gsi(struct vm *vm)
{
	return vm->next_gsi < VM_MAX_GSI ? vm->next_gsi++ : 0;
}

int vm_set_msi_route(struct vm *vm, unsigned gsi, bool used, uint32_t lo,
		     uint32_t hi, uint32_t data)
{
	(void)vm, (void)used, (void)lo, (void)hi, (void)data;
	if (gsi >= VM_MAX_GSI)
		abort();
	return 0;
}

int vm_signal_msi(struct vm *vm, uint32_t lo, uint32_t hi, uint32_t data)
{
	(void)vm, (void)lo, (void)hi, (void)data;
	return 0;
}

int vm_irq_line(struct vm *vm, unsigned gsi, bool level)
{
	(void)vm, (void)level;
	if (gsi >= VM_MAX_GSI)
		abort();
	return 0;
}

int vm_irqfd(struct vm *vm, int fd, unsigned gsi, bool assign)
{
	(void)vm;
	if (gsi >= VM_MAX_GSI || fd < 0)
		abort();
	if (assign) {
		if (bound_fd[gsi] && bound_fd[gsi] != fd + 1)
			abort(); /* one route, one call eventfd */
		bound_fd[gsi] = fd + 1;
	} else {
		if (bound_fd[gsi] != fd + 1)
			abort(); /* unbinding what is not bound there */
		bound_fd[gsi] = 0;
	}
	return 0;
}

int vm_ioeventfd(struct vm *vm, int fd, uint64_t gpa, unsigned len, bool assign)
{
	(void)vm, (void)fd, (void)gpa, (void)len, (void)assign;
	return 0;
}

/* a device with a small config and a backend that does nothing */
static void dev_cfg(struct vpci_dev *d, uint64_t off, uint8_t *data,
		    unsigned len, bool write)
{
	(void)d;
	static uint8_t cfg[16];
	if (write || off >= sizeof(cfg)) {
		if (!write)
			memset(data, 0, len);
		return;
	}
	memcpy(data, cfg + off,
	       len < sizeof(cfg) - off ? len : sizeof(cfg) - off);
}
static int activate(struct vpci_dev *d)
{
	(void)d;
	return 0;
}
static void reset(struct vpci_dev *d)
{
	(void)d;
}
static void notify(struct vpci_dev *d, unsigned q)
{
	(void)d, (void)q;
}
static const struct vpci_ops ops = {dev_cfg, activate, reset, notify};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vm vm;
	static struct vpci_dev d;
	struct nf_err e;
	if (size < 64)
		return 0;
	memset(&vm, 0, sizeof(vm));
	memset(bound_fd, 0, sizeof(bound_fd));
	pthread_mutex_init(&vm.io_lock, NULL);
	pthread_mutex_init(&vm.route_lock, NULL);
	vm.next_gsi = 24;
	vm.mem_size = MEM;
	vm.mem = calloc(1, MEM);
	memcpy(vm.mem, data, size < MEM ? size : MEM);
	/* the first byte picks the queue count, as devices differ */
	unsigned nq = 1 + data[0] % VPCI_MAX_QUEUES;
	if (vpci_init(&d, &vm, "fuzz", 1, 0x020000, 0x1ffffffffull, nq, &ops,
		      NULL, &e) == 0) {
		/* 8 bytes an access: kind, size, offset (16 bits), value */
		for (size_t at = 1; at + 8 <= size; at += 8) {
			const uint8_t *op = data + at;
			unsigned len = 1u << (op[1] & 3), kind = op[0] & 3;
			uint16_t off;
			uint32_t v;
			uint8_t buf[8] = {0};
			memcpy(&off, op + 2, 2);
			memcpy(&v, op + 4, 4);
			memcpy(buf, &v, 4);
			if (len > 4)
				len = 4;
			if (kind == 0)
				(void)d.pci.cfg_read(&d.pci, (off % 256) & ~3u);
			else if (kind == 1)
				d.pci.cfg_write(&d.pci, off % 256, v, len);
			else
				d.pci.mmio(&d.pci, off % BAR, buf, len,
					   kind == 3);
		}
		/* the driver resets the device: nothing may stay bound */
		uint8_t zero[4] = {0};
		d.pci.mmio(&d.pci, STATUS_OFF, zero, 1, true);
		for (unsigned g = 0; g < VM_MAX_GSI; g++)
			if (bound_fd[g])
				abort();
	}
	vpci_fini(&d);
	free(vm.mem);
	return 0;
}
