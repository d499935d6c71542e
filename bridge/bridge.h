/* bridge: Linux bridges, their addresses and routes, over rtnetlink
 * (libnl-3). Every link created here carries an alias naming its owner, and
 * only links with that owner's alias are ever deleted. The kernel takes no
 * alias in the creating message, so links are also born in link group
 * BRIDGE_GROUP: one created but not yet named (a crash in between) is
 * still recognisably ours. */
#ifndef BRIDGE_H
#define BRIDGE_H

#include <stdbool.h>
#include <stdint.h>

#include "../lib/nf.h"
#include "../lib/nfaddr.h"

struct bridge_ctx;

#define BRIDGE_GROUP 0x4e46 /* "NF" */
/* The most ports a Linux bridge takes: BR_MAX_PORTS (1024) port numbers,
 * 0 not used; the next attach fails with EXFULL. */
#define BRIDGE_MAX_PORTS 1023

int bridge_open(struct bridge_ctx **out, struct nf_err *e);
void bridge_close(struct bridge_ctx *c);

struct bridge_spec {
	const char *name;
	const uint8_t *mac; /* NULL: kernel's choice */
	bool stp;
	unsigned long delay; /* seconds */
	unsigned mtu;	     /* 0: default */
	const char *owner;   /* stored as the link alias */
};

/* Creates the bridge (down), then names its owner. -EEXIST if a link of
 * that name exists. */
int bridge_create(struct bridge_ctx *c, const struct bridge_spec *s,
		  struct nf_err *e);
/* Deletes the link only if its alias is `owner` (or it has no alias and
 * is in BRIDGE_GROUP: created by us, not yet named); 0 if absent. */
int bridge_delete(struct bridge_ctx *c, const char *name, const char *owner,
		  struct nf_err *e);
/* Deletes links[i] of owners[i] (checked as bridge_delete checks) in one
 * kernel operation: moved into a link group of this call's, which one
 * RTM_DELLINK removes, so they share one unregister (whose cost is mostly
 * RCU grace periods: N links cost about what one does). Absent links are
 * skipped; one not ours is left, and the first such is said in e (-EPERM)
 * after the others went. */
int bridge_delete_many(struct bridge_ctx *c, const char *const *names,
		       const char *const *owners, size_t n, struct nf_err *e);
/* A macvtap in passthrough mode on lower (it takes over the device: the
 * lower link is set promiscuous, the macvtap inherits its MAC), marked
 * with owner like a bridge and brought up. Deleted by bridge_delete. */
int bridge_macvtap_create(struct bridge_ctx *c, const char *lower,
			  const char *name, const char *owner,
			  struct nf_err *e);
/* Sets a link's MAC (mac non-NULL), MTU (mtu non-zero) and state (up 1
 * up, 0 down, -1 left as it is). */
int bridge_link_set(struct bridge_ctx *c, const char *name, const uint8_t *mac,
		    unsigned mtu, int up, struct nf_err *e);
/* Copies the link's alias; -ENOENT if no such link, "" if none. */
int bridge_get_alias(struct bridge_ctx *c, const char *name, char *alias,
		     size_t n);
int bridge_set_up(struct bridge_ctx *c, const char *name, struct nf_err *e);
/* Brings the link up if it is down: 1 when it did, 0 when it was up. */
int bridge_ensure_up(struct bridge_ctx *c, const char *name, struct nf_err *e);
int bridge_addr_add(struct bridge_ctx *c, const char *name,
		    const struct nf_addr *a, int prefix, struct nf_err *e);
int bridge_route_add(struct bridge_ctx *c, const char *dev,
		     const struct nf_addr *dst, int prefix,
		     const struct nf_addr *gw, unsigned metric,
		     struct nf_err *e);
/* Finds a route in the main table, on another device than `dev`, that
 * overlaps net/prefix. Returns 1 and describes it in `what`, else 0. */
int bridge_route_conflict(struct bridge_ctx *c, const struct nf_addr *net,
			  int prefix, const char *dev, char *what, size_t n);
/* Calls cb for every link whose alias starts with prefix. */
int bridge_for_each_owned(struct bridge_ctx *c, const char *prefix,
			  void (*cb)(const char *name, const char *alias,
				     void *ctx),
			  void *ctx);
/* How many ports the bridge has (its brif entries in sysfs). */
int bridge_port_count(const char *bridge);
/* Attaches a link to a bridge, sets its alias (owner mark) and, unless
 * NULL, its MAC, and brings it up, in one request; a full bridge
 * (BRIDGE_MAX_PORTS) is said so. */
int bridge_attach(struct bridge_ctx *c, const char *ifname, const char *bridge,
		  const char *alias, const uint8_t *mac, struct nf_err *e);
/* Bridge port flag "isolated": isolated ports only talk to non-isolated
 * ones (the uplink, the host), never to each other. */
int bridge_port_isolated(struct bridge_ctx *c, const char *ifname, bool on,
			 struct nf_err *e);
/* libvirt's macTableManager='libvirt' for one port: learning and unicast
 * flooding off, the guest's MAC a static entry of the bridge's table
 * (without vlan_filtering, which libvirt asks for and this needs not). */
int bridge_port_mac_table(struct bridge_ctx *c, const char *ifname,
			  const uint8_t mac[6], struct nf_err *e);
/* libvirt's <bandwidth> on a link: rates in kilobytes (1000 bytes) per
 * second, burst in KiB; 0 when not given. */
struct bridge_rate {
	uint64_t average, peak, burst;
};
/* Shapes dev as libvirt's <bandwidth> does (either rate may be NULL):
 * what leaves dev (its egress) to out_of, with HTB, one class for all;
 * what arrives on it (its ingress) to into, redirected (u32 match all,
 * mirred) to an IFB device named from dev and marked "OWNER ifb DEV",
 * shaped on its egress: this kernel has no police action, and this needs
 * none. */
int bridge_shape(struct bridge_ctx *c, const char *dev, const char *owner,
		 const struct bridge_rate *out_of,
		 const struct bridge_rate *into, struct nf_err *e);
/* Removes dev's shaping both ways, and its IFB device if it has one. */
void bridge_unshape(struct bridge_ctx *c, const char *dev);
/* The link an IFB device of netd's shapes, from its alias; NULL when the
 * alias is no IFB's. */
const char *bridge_ifb_of(const char *alias);
/* Link monitor: a netlink socket in RTNLGRP_LINK and RTNLGRP_NEIGH; read
 * it when it is readable. Each callback may be NULL. */
struct bridge_events {
	/* a link was deleted */
	void (*gone)(const char *ifname, void *ctx);
	/* a link changed: master is its bridge's ifindex, 0 when none */
	void (*link)(const char *ifname, int ifindex, int master, void *ctx);
	/* a bridge learned a unicast source MAC on port ifindex */
	void (*learned)(int ifindex, const uint8_t mac[6], void *ctx);
	/* the kernel dropped events (the socket's buffer overflowed, as a
	 * thousand links coming or going at once can): look again */
	void (*overrun)(void *ctx);
};
int bridge_monitor_open(struct nf_err *e);
void bridge_monitor_read(int fd, const struct bridge_events *ev, void *ctx);
/* Calls cb for every link the bridge holds as a port. */
int bridge_for_each_port(struct bridge_ctx *c, const char *bridge,
			 void (*cb)(const char *ifname, void *ctx), void *ctx);
/* A unicast MAC the bridge learned on port ifname (not the port's own):
 * 1 with mac set, 0 when it learned none. */
int bridge_port_learned(struct bridge_ctx *c, const char *ifname,
			uint8_t mac[6]);
/* What a link is: its own MAC, kind ("tun", "veth", "" for a plain
 * device), the ifindex of its bridge (0: none) and its alias. */
struct bridge_link {
	uint8_t mac[6];
	char kind[16];
	int master;
	char alias[256];
};
/* -ENOENT when there is no such link. */
int bridge_link_info(struct bridge_ctx *c, const char *name,
		     struct bridge_link *out);

/* Turns off TX checksum offload so packets the host sends on the bridge
 * (DHCP replies) carry complete checksums, for guests that check them. */
int bridge_tx_csum_off(const char *name, struct nf_err *e);
/* Writes a sysctl under /proc/sys, e.g. "net/ipv4/ip_forward". */
int bridge_sysctl(const char *key, const char *val, struct nf_err *e);
int bridge_sysctl_read(const char *key, char *val, size_t n);

#endif
