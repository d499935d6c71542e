#define _GNU_SOURCE
#include "virtio_net.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define F(x) (1ull << (x))

static struct vnet *net_of(struct vpci_dev *d)
{
	return d->opaque;
}

static unsigned ctrl_q(const struct vnet *n)
{
	return 2 * n->pairs;
}

static void dev_cfg(struct vpci_dev *d, uint64_t off, uint8_t *data,
		    unsigned len, bool write)
{
	struct vnet *n = net_of(d);
	struct virtio_net_config c = {0};
	if (write)
		return; /* MAC changes go through the control queue */
	memcpy(c.mac, n->mac, 6);
	c.status = VIRTIO_NET_S_LINK_UP;
	c.max_virtqueue_pairs = (uint16_t)n->pairs;
	memset(data, 0, len);
	if (off < sizeof(c))
		memcpy(data, (uint8_t *)&c + off,
		       len < sizeof(c) - off ? len : sizeof(c) - off);
}

/* What the guest can receive becomes what the TAP may hand us. */
static int set_offloads(struct vnet *n, uint64_t f)
{
	unsigned off = 0;
	if (f & F(VIRTIO_NET_F_GUEST_CSUM)) {
		off |= TUN_F_CSUM;
		if (f & F(VIRTIO_NET_F_GUEST_TSO4))
			off |= TUN_F_TSO4;
		if (f & F(VIRTIO_NET_F_GUEST_TSO6))
			off |= TUN_F_TSO6;
		if ((f & F(VIRTIO_NET_F_GUEST_ECN)) &&
		    (off & (TUN_F_TSO4 | TUN_F_TSO6)))
			off |= TUN_F_TSO_ECN;
	}
	for (unsigned i = 0; i < n->pairs; i++)
		if (ioctl(n->tapfd[i], TUNSETOFFLOAD, off) < 0) {
			nf_warn("%s: TUNSETOFFLOAD %#x: %s", n->name, off,
				strerror(errno));
			return -errno;
		}
	return 0;
}

static void stop_pair(struct vnet *n, unsigned p)
{
	if (!n->running[p])
		return;
	n->backend->stop(n, p);
	n->running[p] = false;
}

static int start_pair(struct vnet *n, unsigned p)
{
	struct nf_err e = {0};
	if (n->running[p])
		return 0;
	/* rings the driver did not enable stay off */
	if (!n->dev.q[2 * p].enabled || !n->dev.q[2 * p + 1].enabled)
		return 0;
	int r = n->backend->start(n, p, &e);
	if (r < 0) {
		nf_err_log("%s: queue pair %u: %s", n->name, p, e.msg);
		return r;
	}
	n->running[p] = true;
	return 0;
}

/* A multi-queue TAP steers flows to every attached queue: only the pairs
 * the driver uses stay attached. */
static void attach_queues(struct vnet *n)
{
	for (unsigned i = 1; i < n->pairs; i++) {
		struct ifreq ifr = {0};
		ifr.ifr_flags = i < n->active_pairs ? IFF_ATTACH_QUEUE
						    : IFF_DETACH_QUEUE;
		if (ioctl(n->tapfd[i], TUNSETQUEUE, &ifr) < 0 &&
		    errno != EINVAL)
			nf_debug("%s: TUNSETQUEUE %u: %s", n->name, i,
				 strerror(errno));
	}
}

static int set_pairs(struct vnet *n, unsigned want)
{
	if (want < 1 || want > n->pairs)
		return -EINVAL;
	n->active_pairs = want;
	attach_queues(n);
	for (unsigned p = 0; p < n->pairs; p++)
		if (p >= want)
			stop_pair(n, p);
		else if (start_pair(n, p) < 0)
			return -EIO;
	return 0;
}

static int activate(struct vpci_dev *d)
{
	struct vnet *n = net_of(d);
	if (set_offloads(n, d->acked) < 0)
		return -EIO;
	n->active_pairs = 1;
	attach_queues(n);
	int r = start_pair(n, 0);
	if (r == 0)
		nf_info("%s: driver ready: %s backend, %u of %u queue "
			"pair(s), features %#llx",
			n->name, vnet_backend_name(n), n->active_pairs,
			n->pairs, (unsigned long long)d->acked);
	return r;
}

static void reset(struct vpci_dev *d)
{
	struct vnet *n = net_of(d);
	for (unsigned p = 0; p < n->pairs; p++)
		stop_pair(n, p);
}

/* One control command; returns VIRTIO_NET_OK or VIRTIO_NET_ERR. */
static uint8_t ctrl_cmd(struct vnet *n, uint8_t cls, uint8_t cmd,
			const uint8_t *arg, uint64_t len)
{
	switch (cls) {
	case VIRTIO_NET_CTRL_MQ:
		if (cmd == VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET && len >= 2) {
			uint16_t want;
			memcpy(&want, arg, 2);
			return set_pairs(n, want) == 0 ? VIRTIO_NET_OK
						       : VIRTIO_NET_ERR;
		}
		return VIRTIO_NET_ERR;
	case VIRTIO_NET_CTRL_GUEST_OFFLOADS:
		if (cmd == VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET && len >= 8) {
			uint64_t f;
			memcpy(&f, arg, 8);
			if (f & ~n->dev.acked)
				return VIRTIO_NET_ERR;
			return set_offloads(n, f) == 0 ? VIRTIO_NET_OK
						       : VIRTIO_NET_ERR;
		}
		return VIRTIO_NET_ERR;
	case VIRTIO_NET_CTRL_RX:  /* the TAP hands us everything anyway */
	case VIRTIO_NET_CTRL_MAC: /* the bridge port's guard decides */
	case VIRTIO_NET_CTRL_VLAN: return VIRTIO_NET_OK;
	default: return VIRTIO_NET_ERR;
	}
}

/* The control queue, on the vCPU thread that kicked it. */
static void notify(struct vpci_dev *d, unsigned qi)
{
	struct vnet *n = net_of(d);
	struct virtq *q = &d->q[qi].vq;
	static __thread struct virtq_chain c;
	uint8_t buf[256];
	int r;
	if (qi != ctrl_q(n))
		return;
	while ((r = virtq_pop(q, &c)) == 1) {
		uint64_t len = virtq_copy_out(&c, 0, buf, sizeof(buf));
		uint8_t ack = VIRTIO_NET_ERR;
		if (len >= 2 && c.in_len >= 1)
			ack = ctrl_cmd(n, buf[0], buf[1], buf + 2, len - 2);
		virtq_copy_in(&c, c.in_len ? c.in_len - 1 : 0, &ack, 1);
		virtq_push(q, c.head, 1);
	}
	if (r < 0)
		vpci_set_broken(d, q->why);
	vpci_complete(d, qi);
}

static const struct vpci_ops ops = {dev_cfg, activate, reset, notify};

const char *vnet_backend_name(const struct vnet *n)
{
	return n->backend->name;
}

int vnet_create(struct vnet *n, struct vm *vm, const char *name,
		const uint8_t mac[6], const int *tapfds, unsigned pairs,
		enum vnet_vhost vhost, const int *vhostfds, struct nf_err *e)
{
	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%s", name);
	memcpy(n->mac, mac, 6);
	for (unsigned i = 0; i < VNET_MAX_PAIRS; i++)
		n->tapfd[i] = n->vhostfd[i] = -1;
	if (pairs < 1 || pairs > VNET_MAX_PAIRS)
		return nf_errf(e, EINVAL, "%s: queues must be 1 to %d", name,
			       VNET_MAX_PAIRS);
	n->pairs = pairs;
	for (unsigned i = 0; i < pairs; i++) {
		n->tapfd[i] = tapfds[i];
		int fl = fcntl(tapfds[i], F_GETFL);
		if (fl < 0 || fcntl(tapfds[i], F_SETFL, fl | O_NONBLOCK) < 0)
			return nf_errf(e, errno, "%s: TAP fd %d: %s", name,
				       tapfds[i], strerror(errno));
		int hdr = sizeof(struct virtio_net_hdr_mrg_rxbuf);
		if (ioctl(tapfds[i], TUNSETVNETHDRSZ, &hdr) < 0)
			return nf_errf(e, errno,
				       "%s: fd %d is not a TAP with a virtio "
				       "header (TUNSETVNETHDRSZ: %s)",
				       name, tapfds[i], strerror(errno));
	}
	n->backend = &vnet_user_backend;
	if (vhost == VNET_VHOST_OFF && vhostfds)
		for (unsigned i = 0; i < pairs; i++)
			close(vhostfds[i]);
	if (vhost != VNET_VHOST_OFF) {
		struct nf_err ve = {0};
		if (vnet_vhost_open(n, vhostfds, &ve) == 0) {
			n->backend = &vnet_vhost_backend;
		} else if (vhost == VNET_VHOST_ON) {
			return nf_errf(e, ve.code, "%s: vhost=on: %s", name,
				       ve.msg);
		} else {
			nf_info("%s: vhost-net unavailable (%s); using the "
				"userspace backend",
				name, ve.msg);
		}
	}
	uint64_t f = F(VIRTIO_F_VERSION_1) | F(VIRTIO_RING_F_EVENT_IDX) |
		     F(VIRTIO_RING_F_INDIRECT_DESC) | F(VIRTIO_NET_F_MAC) |
		     F(VIRTIO_NET_F_STATUS) | F(VIRTIO_NET_F_MRG_RXBUF) |
		     F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_GUEST_CSUM) |
		     F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_HOST_TSO6) |
		     F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO6) |
		     F(VIRTIO_NET_F_HOST_ECN) | F(VIRTIO_NET_F_GUEST_ECN) |
		     F(VIRTIO_NET_F_CTRL_VQ) |
		     F(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS);
	if (pairs > 1)
		f |= F(VIRTIO_NET_F_MQ);
	int r = vpci_init(&n->dev, vm, n->name, VIRTIO_ID_NET, 0x020000, f,
			  2 * pairs + 1, &ops, n, e);
	n->dev.q[ctrl_q(n)].sync = true;
	return r;
}

void vnet_destroy(struct vnet *n)
{
	vpci_fini(&n->dev);
	for (unsigned i = 0; i < VNET_MAX_PAIRS; i++) {
		if (n->tapfd[i] >= 0)
			close(n->tapfd[i]);
		if (n->vhostfd[i] >= 0)
			close(n->vhostfd[i]);
		n->tapfd[i] = n->vhostfd[i] = -1;
	}
}
