/* virtio_net: a virtio-net device on virtio-pci backed by a TAP (one fd
 * per queue pair, IFF_VNET_HDR with the 12-byte virtio 1 header). Offers
 * MAC, STATUS, MRG_RXBUF, CSUM/GUEST_CSUM, HOST/GUEST_TSO4/6, EVENT_IDX,
 * INDIRECT_DESC, VERSION_1, CTRL_VQ and MQ; sets the TAP's offloads from
 * what the guest acknowledged. The data path is vhost-net (in the kernel)
 * or a userspace thread per queue pair. */
#ifndef VIRTIO_NET_H
#define VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio_pci.h"

#define VNET_MAX_PAIRS 16

enum vnet_vhost { VNET_VHOST_AUTO, VNET_VHOST_ON, VNET_VHOST_OFF };

struct vnet_user; /* userspace backend state of one pair */
struct vnet;

/* A data path for the queue pairs: vhost-net in the kernel (net_vhost.c)
 * or a userspace thread per pair (net_user.c). */
struct vnet_backend {
	const char *name;
	int (*start)(struct vnet *n, unsigned pair, struct nf_err *e);
	void (*stop)(struct vnet *n, unsigned pair);
};
extern const struct vnet_backend vnet_vhost_backend, vnet_user_backend;

struct vnet {
	struct vpci_dev dev;
	char name[32];
	uint8_t mac[6];
	unsigned pairs;	       /* TAP queues = queue pairs offered */
	unsigned active_pairs; /* as the driver set (MQ) */
	int tapfd[VNET_MAX_PAIRS];
	const struct vnet_backend *backend; /* the one in use */
	int vhostfd[VNET_MAX_PAIRS];
	struct vnet_user *user[VNET_MAX_PAIRS];
	bool running[VNET_MAX_PAIRS];
};

/* Takes ownership of the TAP fds (and of vhostfds: open /dev/vhost-net
 * fds, one per pair, for a netvm that may not open it itself; NULL: it
 * opens them). vhost: on (fail if vhost-net cannot be used), off, or auto
 * (vhost-net when it works, otherwise the userspace backend, said in one
 * log line). */
int vnet_create(struct vnet *n, struct vm *vm, const char *name,
		const uint8_t mac[6], const int *tapfds, unsigned pairs,
		enum vnet_vhost vhost, const int *vhostfds, struct nf_err *e);
void vnet_destroy(struct vnet *n);
const char *vnet_backend_name(const struct vnet *n);

/* Opens /dev/vhost-net for every pair (or takes fds, NULL: opens) and
 * checks its features: whether vnet_vhost_backend can serve n. */
int vnet_vhost_open(struct vnet *n, const int *fds, struct nf_err *e);

#endif
