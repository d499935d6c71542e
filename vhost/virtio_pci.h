/* virtio_pci: the virtio 1.x modern PCI transport for one device: config
 * space with the vendor capabilities (common, notify, ISR, device, PCI
 * config access) and MSI-X, BAR0 with those regions, the table and the
 * PBA. Each queue has a kick eventfd (a KVM ioeventfd on its notify
 * address) and a call eventfd (a KVM irqfd on its MSI-X vector's route
 * while that vector is unmasked; otherwise relayed here as a masked MSI-X
 * pending bit or INTx). Backends - a userspace thread or vhost-net - only
 * ever see those two eventfds and the rings. */
#ifndef VIRTIO_PCI_H
#define VIRTIO_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "virtq.h"
#include "vm.h"

#define VPCI_MAX_QUEUES	 33 /* 16 queue pairs and a control queue */
#define VPCI_MAX_VECTORS 34

struct vpci_dev;

struct vpci_ops {
	/* device-specific config (BAR0 region 4) */
	void (*cfg)(struct vpci_dev *d, uint64_t off, uint8_t *data,
		    unsigned len, bool write);
	/* DRIVER_OK: start the backend; < 0 marks the device broken */
	int (*activate)(struct vpci_dev *d);
	/* reset by the driver (or at exit): stop the backend, joined */
	void (*reset)(struct vpci_dev *d);
	/* a kick of a queue marked sync, on the vCPU thread, under lock */
	void (*notify)(struct vpci_dev *d, unsigned q);
};

struct vpci_queue {
	struct virtq vq;
	bool enabled;
	uint16_t vector;
	int kickfd, callfd;
	int bound; /* the vector whose route holds callfd (irqfd), or -1 */
	bool ioeventfd;
	bool sync; /* kicks exit to ops->notify (control queues) */
};

struct vpci_dev {
	struct vm_pci pci;
	struct vm *vm;
	const struct vpci_ops *ops;
	void *opaque;
	const char *name;
	uint64_t features, acked;
	unsigned nq, nvec;
	struct vpci_queue q[VPCI_MAX_QUEUES];
	/* everything below is under lock */
	pthread_mutex_t lock;
	uint8_t cfg[256];
	uint32_t dfsel, gfsel;
	uint8_t status, isr, generation;
	uint16_t qsel, msix_config;
	struct {
		uint32_t lo, hi, data, ctrl;
	} msix[VPCI_MAX_VECTORS];
	unsigned gsi[VPCI_MAX_VECTORS];
	uint64_t pending; /* MSI-X PBA */
	bool msix_on, msix_fmask, active, intx;
	int broken; /* set by backends (atomic): NEEDS_RESET */
	char why[128];
	/* the relay thread: unbound call eventfds, config interrupts */
	int epfd, cfg_efd, stop_efd;
	pthread_t relay;
};

/* device_id: the virtio device type (1 = net); class: PCI class code. */
int vpci_init(struct vpci_dev *d, struct vm *vm, const char *name,
	      uint16_t device_id, uint32_t class, uint64_t features,
	      unsigned nq, const struct vpci_ops *ops, void *opaque,
	      struct nf_err *e);
void vpci_fini(struct vpci_dev *d);
/* Backend side, from any thread, lock-free: the used ring of queue q
 * moved (the guest may want an interrupt). */
void vpci_interrupt(struct vpci_dev *d, unsigned q);
/* Backend side, after pushing chains on queue q: publishes them and
 * interrupts the guest if it asked to be. */
void vpci_complete(struct vpci_dev *d, unsigned q);
/* Backend side: the guest broke the device's rules; it is marked
 * NEEDS_RESET and the driver told through a config interrupt. */
void vpci_set_broken(struct vpci_dev *d, const char *why);
/* Device config changed (config interrupt). */
void vpci_config_changed(struct vpci_dev *d);

#endif
