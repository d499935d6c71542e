#define _GNU_SOURCE
#include "virtio_pci.h"

#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <stddef.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* BAR0 layout */
#define R_COMMON    0x0000u
#define R_ISR	    0x0800u
#define R_DEVICE    0x1000u
#define R_NOTIFY    0x2000u
#define R_MSIX	    0x3000u
#define R_PBA	    0x3800u
#define BAR_SIZE    0x4000u
#define NOTIFY_MULT 4u
/* config space layout */
#define CAP_COMMON 0x40u
#define CAP_ISR	   0x50u
#define CAP_DEVICE 0x60u
#define CAP_NOTIFY 0x70u
#define CAP_PCICFG 0x84u
#define CAP_MSIX   0x98u

#define COMMON(f) offsetof(struct virtio_pci_common_cfg, f)

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}
static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}
static uint32_t get32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static void vendor_cap(uint8_t *cfg, unsigned at, unsigned next, unsigned len,
		       uint8_t type, uint32_t off, uint32_t size)
{
	cfg[at] = 0x09; /* vendor specific */
	cfg[at + 1] = (uint8_t)next;
	cfg[at + 2] = (uint8_t)len;
	cfg[at + 3] = type;
	cfg[at + 4] = 0; /* BAR0 */
	put32(cfg + at + 8, off);
	put32(cfg + at + 12, size);
}

/* ------------------------------------------------------- interrupts */

static bool vector_masked(struct vpci_dev *d, unsigned v)
{
	return d->msix_fmask || (d->msix[v].ctrl & 1);
}

static void fire_vector(struct vpci_dev *d, unsigned v)
{
	if (vector_masked(d, v)) {
		d->pending |= 1ull << v;
		return;
	}
	d->pending &= ~(1ull << v);
	vm_signal_msi(d->vm, d->msix[v].lo, d->msix[v].hi, d->msix[v].data);
}

static void intx(struct vpci_dev *d, uint8_t bits)
{
	d->isr |= bits;
	vm_irq_line(d->vm, 16 + d->pci.slot, true);
}

/* Binds each active queue's call eventfd to KVM (irqfd) when its vector
 * can take it, or to our relay otherwise. Under lock. */
static void rebind(struct vpci_dev *d)
{
	for (unsigned v = 0; v < d->nvec; v++)
		vm_set_msi_route(d->vm, d->gsi[v], d->msix_on, d->msix[v].lo,
				 d->msix[v].hi, d->msix[v].data);
	for (unsigned i = 0; i < d->nq; i++) {
		struct vpci_queue *q = &d->q[i];
		unsigned v = q->vector; /* guest-written: bounded here */
		int want = d->active && q->enabled && d->msix_on &&
					   v < d->nvec && !vector_masked(d, v)
				   ? (int)v
				   : -1;
		if (want == q->bound)
			continue;
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
		/* off the route it is on (which the guest may have changed
		 * since), then onto the one it wants */
		if (q->bound >= 0) {
			vm_irqfd(d->vm, q->callfd, d->gsi[q->bound], false);
			epoll_ctl(d->epfd, EPOLL_CTL_ADD, q->callfd, &ev);
			q->bound = -1;
		}
		if (want < 0)
			continue;
		epoll_ctl(d->epfd, EPOLL_CTL_DEL, q->callfd, NULL);
		if (vm_irqfd(d->vm, q->callfd, d->gsi[want], true) < 0)
			epoll_ctl(d->epfd, EPOLL_CTL_ADD, q->callfd, &ev);
		else
			q->bound = want;
	}
	/* vectors unmasked with something pending fire now */
	for (unsigned v = 0; v < d->nvec && d->msix_on; v++)
		if ((d->pending & (1ull << v)) && !vector_masked(d, v))
			fire_vector(d, v);
}

static void relay_queue(struct vpci_dev *d, unsigned i)
{
	struct vpci_queue *q = &d->q[i];
	if (!d->active || q->bound >= 0)
		return;
	if (d->msix_on) {
		if (q->vector < d->nvec)
			fire_vector(d, q->vector);
	} else {
		intx(d, 1);
	}
}

static void config_interrupt(struct vpci_dev *d)
{
	if (d->msix_on) {
		if (d->msix_config < d->nvec)
			fire_vector(d, d->msix_config);
	} else {
		intx(d, 2);
	}
}

static void *relay_thread(void *arg)
{
	struct vpci_dev *d = arg;
	struct epoll_event ev[16];
	for (;;) {
		int n = epoll_wait(d->epfd, ev, 16, -1);
		if (n < 0 && errno != EINTR)
			break;
		for (int k = 0; k < n; k++) {
			uint32_t id = ev[k].data.u32;
			uint64_t cnt;
			if (id == UINT32_MAX)
				return NULL;
			int fd = id == UINT32_MAX - 1 ? d->cfg_efd
						      : d->q[id].callfd;
			if (read(fd, &cnt, 8) != 8)
				continue;
			pthread_mutex_lock(&d->lock);
			if (id == UINT32_MAX - 1) {
				d->generation++;
				config_interrupt(d);
			} else if (id < d->nq) {
				relay_queue(d, id);
			}
			pthread_mutex_unlock(&d->lock);
		}
	}
	return NULL;
}

void vpci_interrupt(struct vpci_dev *d, unsigned q)
{
	uint64_t one = 1;
	if (q < d->nq && write(d->q[q].callfd, &one, 8) < 0)
		nf_debug("%s: call eventfd: %s", d->name, strerror(errno));
}

void vpci_complete(struct vpci_dev *d, unsigned q)
{
	virtq_publish(&d->q[q].vq);
	if (virtq_need_interrupt(&d->q[q].vq))
		vpci_interrupt(d, q);
}

void vpci_config_changed(struct vpci_dev *d)
{
	uint64_t one = 1;
	if (write(d->cfg_efd, &one, 8) < 0)
		nf_debug("%s: config eventfd: %s", d->name, strerror(errno));
}

void vpci_set_broken(struct vpci_dev *d, const char *why)
{
	int was = __atomic_exchange_n(&d->broken, 1, __ATOMIC_ACQ_REL);
	if (was)
		return;
	snprintf(d->why, sizeof(d->why), "%s", why);
	nf_warn("%s: the guest broke the device (%s); marked NEEDS_RESET, "
		"the guest must reset it",
		d->name, why);
	vpci_config_changed(d);
}

/* ------------------------------------------------------ device state */

static void set_ioeventfds(struct vpci_dev *d, bool on)
{
	for (unsigned i = 0; i < d->nq; i++) {
		struct vpci_queue *q = &d->q[i];
		if (on == q->ioeventfd || (on && (!q->enabled || q->sync)))
			continue;
		if (vm_ioeventfd(d->vm, q->kickfd,
				 d->pci.bar + R_NOTIFY + NOTIFY_MULT * i, 2,
				 on) == 0 ||
		    !on)
			q->ioeventfd = on;
	}
}

static void reset(struct vpci_dev *d)
{
	if (d->active)
		d->ops->reset(d);
	d->active = false;
	rebind(d); /* every call eventfd back to the relay */
	set_ioeventfds(d, false);
	for (unsigned i = 0; i < d->nq; i++) {
		struct vpci_queue *q = &d->q[i];
		uint64_t cnt;
		if (read(q->kickfd, &cnt, 8) < 0 && errno != EAGAIN)
			nf_debug("kick eventfd: %s", strerror(errno));
		q->enabled = false;
		q->vector = VIRTIO_MSI_NO_VECTOR;
		q->vq.num = VIRTQ_MAX_SIZE;
		q->vq.desc_gpa = q->vq.avail_gpa = q->vq.used_gpa = 0;
	}
	d->status = 0;
	d->acked = 0;
	d->isr = 0;
	d->msix_config = VIRTIO_MSI_NO_VECTOR;
	d->broken = 0;
	vm_irq_line(d->vm, 16 + d->pci.slot, false);
}

static void activate(struct vpci_dev *d)
{
	for (unsigned i = 0; i < d->nq; i++) {
		struct virtq *vq = &d->q[i].vq;
		vq->mem = d->vm->mem;
		vq->mem_size = d->vm->mem_size;
		vq->event_idx = d->acked & (1ull << VIRTIO_RING_F_EVENT_IDX);
		vq->indirect = d->acked & (1ull << VIRTIO_RING_F_INDIRECT_DESC);
		if (d->q[i].enabled && virtq_start(vq) < 0) {
			vpci_set_broken(d, vq->why);
			return;
		}
	}
	set_ioeventfds(d, true);
	d->active = true;
	if (d->ops->activate(d) < 0) {
		d->active = false;
		vpci_set_broken(d, "the backend could not start");
		return;
	}
	rebind(d);
}

static void set_status(struct vpci_dev *d, uint8_t v)
{
	if (v == 0) {
		reset(d);
		return;
	}
	if ((v & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    !(d->status & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    ((d->acked & ~d->features) ||
	     !(d->acked & (1ull << VIRTIO_F_VERSION_1))))
		v &= (uint8_t)~VIRTIO_CONFIG_S_FEATURES_OK; /* refused */
	bool go = (v & VIRTIO_CONFIG_S_DRIVER_OK) &&
		  !(d->status & VIRTIO_CONFIG_S_DRIVER_OK) &&
		  (v & VIRTIO_CONFIG_S_FEATURES_OK);
	d->status = v;
	if (go)
		activate(d);
}

/* common config: reads and writes of 1, 2 or 4 bytes at off */
static void common(struct vpci_dev *d, unsigned off, uint8_t *data,
		   unsigned len, bool write)
{
	struct vpci_queue *q = d->qsel < d->nq ? &d->q[d->qsel] : NULL;
	uint32_t v = 0;
	if (write) {
		memcpy(&v, data, len < 4 ? len : 4);
		switch (off) {
		case COMMON(device_feature_select): d->dfsel = v; break;
		case COMMON(guest_feature_select): d->gfsel = v; break;
		case COMMON(guest_feature):
			if (d->gfsel < 2 &&
			    !(d->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
				unsigned sh = 32 * d->gfsel;
				d->acked = (d->acked & ~(0xffffffffull << sh)) |
					   (uint64_t)v << sh;
			}
			break;
		case COMMON(msix_config):
			d->msix_config = v < d->nvec ? (uint16_t)v
						     : VIRTIO_MSI_NO_VECTOR;
			break;
		case COMMON(device_status): set_status(d, (uint8_t)v); break;
		case COMMON(queue_select): d->qsel = (uint16_t)v; break;
		case COMMON(queue_size):
			if (q && !q->enabled && v && v <= VIRTQ_MAX_SIZE &&
			    !(v & (v - 1)))
				q->vq.num = (uint16_t)v;
			break;
		case COMMON(queue_msix_vector):
			if (q) {
				q->vector = v < d->nvec ? (uint16_t)v
							: VIRTIO_MSI_NO_VECTOR;
				rebind(d);
			}
			break;
		case COMMON(queue_enable):
			if (q && v == 1 && !d->active)
				q->enabled = true;
			break;
		case COMMON(queue_desc_lo):
		case COMMON(queue_desc_hi):
		case COMMON(queue_avail_lo):
		case COMMON(queue_avail_hi):
		case COMMON(queue_used_lo):
		case COMMON(queue_used_hi):
			if (q && !q->enabled) {
				uint64_t *a = off < COMMON(queue_avail_lo)
						      ? &q->vq.desc_gpa
					      : off < COMMON(queue_used_lo)
						      ? &q->vq.avail_gpa
						      : &q->vq.used_gpa;
				unsigned sh = (off & 4) ? 32 : 0;
				*a = (*a & ~(0xffffffffull << sh)) |
				     (uint64_t)v << sh;
			}
			break;
		}
		return;
	}
	switch (off) {
	case COMMON(device_feature_select): v = d->dfsel; break;
	case COMMON(device_feature):
		v = d->dfsel < 2 ? (uint32_t)(d->features >> (32 * d->dfsel))
				 : 0;
		break;
	case COMMON(guest_feature_select): v = d->gfsel; break;
	case COMMON(guest_feature):
		v = d->gfsel < 2 ? (uint32_t)(d->acked >> (32 * d->gfsel)) : 0;
		break;
	case COMMON(msix_config): v = d->msix_config; break;
	case COMMON(num_queues): v = d->nq; break;
	case COMMON(device_status):
		v = d->status | (d->broken ? VIRTIO_CONFIG_S_NEEDS_RESET : 0);
		break;
	case COMMON(config_generation): v = d->generation; break;
	case COMMON(queue_select): v = d->qsel; break;
	case COMMON(queue_size): v = q ? q->vq.num : 0; break;
	case COMMON(queue_msix_vector):
		v = q ? q->vector : VIRTIO_MSI_NO_VECTOR;
		break;
	case COMMON(queue_enable): v = q ? q->enabled : 0; break;
	case COMMON(queue_notify_off): v = q ? d->qsel : 0; break;
	case COMMON(queue_desc_lo): v = q ? (uint32_t)q->vq.desc_gpa : 0; break;
	case COMMON(queue_desc_hi):
		v = q ? (uint32_t)(q->vq.desc_gpa >> 32) : 0;
		break;
	case COMMON(queue_avail_lo):
		v = q ? (uint32_t)q->vq.avail_gpa : 0;
		break;
	case COMMON(queue_avail_hi):
		v = q ? (uint32_t)(q->vq.avail_gpa >> 32) : 0;
		break;
	case COMMON(queue_used_lo): v = q ? (uint32_t)q->vq.used_gpa : 0; break;
	case COMMON(queue_used_hi):
		v = q ? (uint32_t)(q->vq.used_gpa >> 32) : 0;
		break;
	}
	memcpy(data, &v, len < 4 ? len : 4);
}

static void msix_table(struct vpci_dev *d, unsigned off, uint8_t *data,
		       unsigned len, bool write)
{
	unsigned v = off / 16, w = (off % 16) / 4;
	if (v >= d->nvec || len != 4) {
		if (!write)
			memset(data, 0, len);
		return;
	}
	uint32_t *f[4] = {&d->msix[v].lo, &d->msix[v].hi, &d->msix[v].data,
			  &d->msix[v].ctrl};
	if (!write) {
		memcpy(data, f[w], 4);
		return;
	}
	memcpy(f[w], data, 4);
	if (w == 3)
		*f[3] &= 1;
	rebind(d);
}

static void bar_access(struct vpci_dev *d, uint64_t off, uint8_t *data,
		       unsigned len, bool wr)
{
	if (len > 8)
		len = 8;
	if (off < R_COMMON + sizeof(struct virtio_pci_common_cfg)) {
		common(d, (unsigned)off, data, len, wr);
	} else if (off == R_ISR) {
		if (!wr) {
			memset(data, 0, len);
			data[0] = d->isr;
			d->isr = 0; /* reading acknowledges */
			vm_irq_line(d->vm, 16 + d->pci.slot, false);
		}
	} else if (off >= R_DEVICE && off < R_NOTIFY) {
		d->ops->cfg(d, off - R_DEVICE, data, len, wr);
	} else if (off >= R_NOTIFY && off < R_NOTIFY + NOTIFY_MULT * d->nq) {
		/* a kick that did not go through the ioeventfd */
		unsigned i = (unsigned)(off - R_NOTIFY) / NOTIFY_MULT;
		uint64_t one = 1;
		if (wr && d->q[i].sync) {
			if (d->active && d->q[i].enabled && d->ops->notify)
				d->ops->notify(d, i);
		} else if (wr && write(d->q[i].kickfd, &one, 8) < 0)
			nf_debug("kick eventfd: %s", strerror(errno));
		if (!wr)
			memset(data, 0, len);
	} else if (off >= R_MSIX && off < R_MSIX + 16 * d->nvec) {
		msix_table(d, (unsigned)(off - R_MSIX), data, len, wr);
	} else if (off >= R_PBA && off < R_PBA + 8) {
		if (!wr) {
			uint64_t p = d->pending >> (8 * (off - R_PBA));
			memcpy(data, &p, len);
		}
	} else if (!wr) {
		memset(data, 0, len);
	}
}

static void mmio(struct vm_pci *p, uint64_t off, uint8_t *data, unsigned len,
		 bool write)
{
	struct vpci_dev *d = p->opaque;
	pthread_mutex_lock(&d->lock);
	bar_access(d, off, data, len, write);
	pthread_mutex_unlock(&d->lock);
}

/* --------------------------------------------------------- config space */

/* The VIRTIO_PCI_CAP_PCI_CFG window: BAR0 offset and length the driver
 * set, if they name a valid access. */
static bool pcicfg_window(const struct vpci_dev *d, uint32_t *off,
			  uint32_t *len)
{
	*off = get32(d->cfg + CAP_PCICFG + 8);
	*len = get32(d->cfg + CAP_PCICFG + 12);
	return d->cfg[CAP_PCICFG + 4] == 0 &&
	       (*len == 1 || *len == 2 || *len == 4) && *off < BAR_SIZE;
}

static uint32_t cfg_read(struct vm_pci *p, unsigned reg)
{
	struct vpci_dev *d = p->opaque;
	pthread_mutex_lock(&d->lock);
	uint32_t v = get32(d->cfg + reg);
	uint32_t off, len;
	if (reg == CAP_PCICFG + 16) { /* pci_cfg_data: a window into BAR0 */
		v = 0;
		if (pcicfg_window(d, &off, &len))
			bar_access(d, off, (uint8_t *)&v, len, false);
	}
	pthread_mutex_unlock(&d->lock);
	return v;
}

static void cfg_write(struct vm_pci *p, unsigned reg, uint32_t v, unsigned size)
{
	struct vpci_dev *d = p->opaque;
	pthread_mutex_lock(&d->lock);
	if (reg == 0x04 || reg == 0x3c) { /* command; interrupt line */
		memcpy(d->cfg + reg, &v, size < 2 ? size : 2);
	} else if (reg == CAP_PCICFG + 4 && size == 1) {
		d->cfg[reg] = (uint8_t)v;
	} else if (reg == CAP_PCICFG + 8 || reg == CAP_PCICFG + 12) {
		memcpy(d->cfg + reg, &v, size);
	} else if (reg == CAP_PCICFG + 16) {
		uint32_t off, len;
		if (pcicfg_window(d, &off, &len))
			bar_access(d, off, (uint8_t *)&v, len, true);
	} else if (reg == CAP_MSIX + 2 || (reg == CAP_MSIX && size == 4)) {
		uint16_t ctl = (uint16_t)(reg == CAP_MSIX ? v >> 16 : v);
		d->msix_on = ctl & 0x8000;
		d->msix_fmask = ctl & 0x4000;
		put16(d->cfg + CAP_MSIX + 2,
		      (uint16_t)((d->nvec - 1) | (ctl & 0xc000)));
		rebind(d);
	}
	pthread_mutex_unlock(&d->lock);
}

int vpci_init(struct vpci_dev *d, struct vm *vm, const char *name,
	      uint16_t device_id, uint32_t class, uint64_t features,
	      unsigned nq, const struct vpci_ops *ops, void *opaque,
	      struct nf_err *e)
{
	memset(d, 0, sizeof(*d));
	d->vm = vm;
	d->name = name;
	d->ops = ops;
	d->opaque = opaque;
	d->features = features;
	d->nq = nq;
	d->nvec = nq + 1;
	d->epfd = d->cfg_efd = d->stop_efd = -1;
	for (unsigned i = 0; i < VPCI_MAX_QUEUES; i++) {
		d->q[i].kickfd = d->q[i].callfd = -1;
		d->q[i].bound = -1;
	}
	pthread_mutex_init(&d->lock, NULL);
	if (nq > VPCI_MAX_QUEUES)
		return nf_errf(e, EINVAL, "%s: too many queues", name);
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	d->cfg_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	d->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	for (unsigned i = 0; i < nq; i++) {
		d->q[i].kickfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		d->q[i].callfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (d->q[i].kickfd < 0 || d->q[i].callfd < 0)
			return nf_errf(e, errno, "eventfd: %s",
				       strerror(errno));
	}
	if (d->epfd < 0 || d->cfg_efd < 0 || d->stop_efd < 0)
		return nf_errf(e, errno, "epoll/eventfd: %s", strerror(errno));
	for (unsigned v = 0; v < d->nvec; v++) {
		d->gsi[v] = vm_alloc_gsi(vm);
		d->msix[v].ctrl = 1; /* masked at reset */
		if (!d->gsi[v])
			return nf_errf(e, ENOSPC, "out of interrupt routes");
	}
	/* config space */
	uint8_t *c = d->cfg;
	put16(c, 0x1af4);
	put16(c + 2, (uint16_t)(0x1040 + device_id));
	put16(c + 6, 0x0010); /* status: capability list */
	put32(c + 8, class << 8 | 1);
	put16(c + 0x2c, 0x1af4);
	put16(c + 0x2e, 0x1100);
	c[0x34] = CAP_COMMON;
	vendor_cap(c, CAP_COMMON, CAP_ISR, 16, VIRTIO_PCI_CAP_COMMON_CFG,
		   R_COMMON, sizeof(struct virtio_pci_common_cfg));
	vendor_cap(c, CAP_ISR, CAP_DEVICE, 16, VIRTIO_PCI_CAP_ISR_CFG, R_ISR,
		   1);
	vendor_cap(c, CAP_DEVICE, CAP_NOTIFY, 16, VIRTIO_PCI_CAP_DEVICE_CFG,
		   R_DEVICE, 0x100);
	vendor_cap(c, CAP_NOTIFY, CAP_PCICFG, 20, VIRTIO_PCI_CAP_NOTIFY_CFG,
		   R_NOTIFY, NOTIFY_MULT * nq);
	put32(c + CAP_NOTIFY + 16, NOTIFY_MULT);
	vendor_cap(c, CAP_PCICFG, CAP_MSIX, 20, VIRTIO_PCI_CAP_PCI_CFG, 0, 0);
	c[CAP_MSIX] = 0x11;
	c[CAP_MSIX + 1] = 0;
	put16(c + CAP_MSIX + 2, (uint16_t)(d->nvec - 1));
	put32(c + CAP_MSIX + 4, R_MSIX);
	put32(c + CAP_MSIX + 8, R_PBA);
	d->pci.opaque = d;
	d->pci.bar_size = BAR_SIZE;
	d->pci.cfg_read = cfg_read;
	d->pci.cfg_write = cfg_write;
	d->pci.mmio = mmio;
	int r = vm_add_pci(vm, &d->pci, e);
	if (r < 0)
		return r;
	c[0x3c] = (uint8_t)(16 + d->pci.slot);
	c[0x3d] = 1; /* INTA# */
	reset(d);
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = UINT32_MAX};
	epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->stop_efd, &ev);
	/* every call eventfd starts with the relay (no irqfd yet) */
	for (unsigned i = 0; i < nq; i++) {
		ev.data.u32 = i;
		epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->q[i].callfd, &ev);
	}
	ev.data.u32 = UINT32_MAX - 1;
	epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->cfg_efd, &ev);
	r = pthread_create(&d->relay, NULL, relay_thread, d);
	if (r)
		return nf_errf(e, r, "relay thread: %s", strerror(r));
	return 0;
}

void vpci_fini(struct vpci_dev *d)
{
	uint64_t one = 1;
	if (d->relay) {
		if (write(d->stop_efd, &one, 8) < 0)
			nf_debug("stop eventfd: %s", strerror(errno));
		pthread_join(d->relay, NULL);
		d->relay = 0;
	}
	pthread_mutex_lock(&d->lock);
	if (d->active)
		d->ops->reset(d);
	d->active = false;
	pthread_mutex_unlock(&d->lock);
	for (unsigned i = 0; i < VPCI_MAX_QUEUES; i++) {
		if (d->q[i].kickfd >= 0)
			close(d->q[i].kickfd);
		if (d->q[i].callfd >= 0)
			close(d->q[i].callfd);
	}
	if (d->epfd >= 0)
		close(d->epfd);
	if (d->cfg_efd >= 0)
		close(d->cfg_efd);
	if (d->stop_efd >= 0)
		close(d->stop_efd);
}
