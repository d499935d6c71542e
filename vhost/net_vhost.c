/* The vhost-net virtio-net backend: the kernel moves frames between the
 * TAP and the guest's rings. One /dev/vhost-net per queue pair, owned by
 * netvm; guest RAM is one memory region; kicks arrive on the queue's
 * ioeventfd and interrupts leave through its irqfd, so no frame and no
 * notification passes through netvm. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/vhost.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "virtio_net.h"

#define F(x) (1ull << (x))
/* what netvm hands over to vhost when the guest acknowledged it */
#define VHOST_PASS                                                             \
	(F(VIRTIO_F_VERSION_1) | F(VIRTIO_RING_F_EVENT_IDX) |                  \
	 F(VIRTIO_RING_F_INDIRECT_DESC) | F(VIRTIO_NET_F_MRG_RXBUF))

/* On failure nothing stays open, so a fallback holds no vhost device. */
int vnet_vhost_open(struct vnet *n, const int *fds, struct nf_err *e)
{
	int r = 0;
	for (unsigned p = 0; fds && p < n->pairs; p++)
		n->vhostfd[p] = fds[p]; /* ours now, closed on failure too */
	for (unsigned p = 0; p < n->pairs && r == 0; p++) {
		uint64_t f = 0;
		int fd = fds ? fds[p]
			     : open("/dev/vhost-net", O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			r = nf_errf(e, errno, "cannot open /dev/vhost-net: %s",
				    strerror(errno));
			break;
		}
		n->vhostfd[p] = fd;
		if (ioctl(fd, VHOST_SET_OWNER) < 0 ||
		    ioctl(fd, VHOST_GET_FEATURES, &f) < 0)
			r = nf_errf(e, errno, "vhost-net: %s", strerror(errno));
		else if ((f & VHOST_PASS) != VHOST_PASS)
			r = nf_errf(e, ENOTSUP,
				    "vhost-net offers features %#llx, without "
				    "all of %#llx",
				    (unsigned long long)f,
				    (unsigned long long)VHOST_PASS);
	}
	for (unsigned p = 0; r < 0 && p < n->pairs; p++) {
		if (n->vhostfd[p] >= 0)
			close(n->vhostfd[p]);
		n->vhostfd[p] = -1;
	}
	return r;
}

static int vring(int fd, unsigned idx, struct virtq *q, int kick, int call,
		 struct nf_err *e)
{
	struct vhost_vring_state num = {idx, q->num},
				 base = {idx, q->last_avail};
	struct vhost_vring_addr a = {.index = idx,
				     .desc_user_addr = (uintptr_t)q->desc,
				     .avail_user_addr = (uintptr_t)q->avail,
				     .used_user_addr = (uintptr_t)q->used};
	struct vhost_vring_file k = {idx, kick}, c = {idx, call};
	if (ioctl(fd, VHOST_SET_VRING_NUM, &num) < 0 ||
	    ioctl(fd, VHOST_SET_VRING_BASE, &base) < 0 ||
	    ioctl(fd, VHOST_SET_VRING_ADDR, &a) < 0 ||
	    ioctl(fd, VHOST_SET_VRING_KICK, &k) < 0 ||
	    ioctl(fd, VHOST_SET_VRING_CALL, &c) < 0)
		return nf_errf(e, errno, "vhost-net ring %u: %s", idx,
			       strerror(errno));
	return 0;
}

static int start(struct vnet *n, unsigned pair, struct nf_err *e)
{
	int fd = n->vhostfd[pair];
	struct vpci_dev *d = &n->dev;
	uint64_t f = d->acked & VHOST_PASS;
	struct {
		struct vhost_memory h;
		struct vhost_memory_region r[1];
	} mem = {{.nregions = 1},
		 {{.guest_phys_addr = 0,
		   .memory_size = d->vm->mem_size,
		   .userspace_addr = (uintptr_t)d->vm->mem}}};
	if (ioctl(fd, VHOST_SET_FEATURES, &f) < 0 ||
	    ioctl(fd, VHOST_SET_MEM_TABLE, &mem) < 0)
		return nf_errf(e, errno, "vhost-net setup: %s",
			       strerror(errno));
	for (unsigned i = 0; i < 2; i++) {
		struct vpci_queue *q = &d->q[2 * pair + i];
		int r = vring(fd, i, &q->vq, q->kickfd, q->callfd, e);
		if (r < 0)
			return r;
		struct vhost_vring_file b = {i, n->tapfd[pair]};
		if (ioctl(fd, VHOST_NET_SET_BACKEND, &b) < 0)
			return nf_errf(e, errno, "VHOST_NET_SET_BACKEND: %s",
				       strerror(errno));
	}
	return 0;
}

static void stop(struct vnet *n, unsigned pair)
{
	int fd = n->vhostfd[pair];
	for (unsigned i = 0; i < 2; i++) {
		struct vhost_vring_file b = {i, -1};
		struct vhost_vring_state s = {i, 0};
		struct virtq *q = &n->dev.q[2 * pair + i].vq;
		ioctl(fd, VHOST_NET_SET_BACKEND, &b);
		/* where vhost got to, so a restart (MQ change) goes on */
		if (ioctl(fd, VHOST_GET_VRING_BASE, &s) == 0)
			q->last_avail = (uint16_t)s.num;
	}
}

const struct vnet_backend vnet_vhost_backend = {"vhost-net", start, stop};
