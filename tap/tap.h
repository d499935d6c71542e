/* tap: TAP devices for guest ports: IFF_TAP|IFF_NO_PI|IFF_VNET_HDR (and
 * IFF_MULTI_QUEUE for several queues), the virtio-net header size set, MAC
 * and MTU. A non-persistent TAP lives as long as an fd to it. */
#ifndef TAP_H
#define TAP_H

#include <stdbool.h>
#include <stdint.h>

#include "../lib/nf.h"

#define TAP_MAX_QUEUES	 16
#define TAP_VNET_HDR_LEN 12 /* struct virtio_net_hdr_mrg_rxbuf (virtio 1) */

struct tap_spec {
	const char *name; /* may contain %d; kernel picks the number */
	unsigned queues;  /* 1..TAP_MAX_QUEUES */
	bool persist;	  /* survives its fds (for ifname= users) */
	const uint8_t *mac;
	unsigned mtu; /* 0: leave */
	/* a bridge port: no host addresses of its own (IPv6 off on it, set
	 * before it is up), so the host sends no DAD, MLD or router
	 * solicitations into the guest and the kernel's per-interface IPv6
	 * routes do not grow with the number of ports */
	bool bridge_port;
};

/* Creates the TAP; fds[0..queues-1] receive one fd per queue, name the
 * kernel's name. */
int tap_create(const struct tap_spec *s, int *fds, char name[16],
	       struct nf_err *e);
/* Makes a persistent TAP non-persistent (so it goes with its last fd)
 * or deletes it when nobody holds it. */
int tap_unpersist(const char *name, struct nf_err *e);
/* Opens a macvtap's character device once per queue (the kernel's
 * /dev/tapN is named by ifindex, which namespaces reuse, so a private
 * node is made in tmpdir and removed again); vnet header size set. */
int tap_open_macvtap(const char *name, unsigned queues, const char *tmpdir,
		     int *fds, struct nf_err *e);
/* The guest MAC's TAP-side twin: first byte 0xFE (0xFA if already 0xFE),
 * so the bridge never takes the TAP's address as its own. */
void tap_host_mac(const uint8_t guest[6], uint8_t out[6]);
/* A process holding a TAP's fd (from /proc under procroot, "" for /):
 * its pid, or 0 when none is found. Costs a readlink per fd of every
 * process: call it off the hot path. */
int tap_owner(const char *procroot, const char *name);

#endif
