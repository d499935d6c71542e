/* nat: netd's nftables rules, through libnftnl + libmnl. Each network gets
 * its own `inet` table (forward filtering, NAT, accepts for DHCP/DNS/TFTP)
 * and a `bridge` table of the same name guarding its ports (constant
 * anti-spoofing rules over sets keyed by the port's TAP name), both
 * marked with an owner comment; every change is one atomic batch, so a
 * failure changes nothing. Never touches another tool's tables. */
#ifndef NAT_H
#define NAT_H

#include <stdbool.h>

#include "../lib/nf.h"
#include "../lib/nfaddr.h"

struct nat_ctx;

int nat_open(struct nat_ctx **out, struct nf_err *e);
void nat_close(struct nat_ctx *c);

enum nat_mode {
	NAT_ISOLATED, /* guests talk to each other and the host only */
	NAT_NAT,
	NAT_ROUTE,
	NAT_OPEN, /* no forwarding rules at all: only the port guards */
};

struct nat_subnet {
	struct nf_addr net;
	int prefix;
	bool masquerade; /* NAT applies (IPv4, or IPv6 with <nat ipv6>) */
};

/* An IPv4 range, host byte order, both ends in it. */
struct nat_range4 {
	uint32_t start, end;
};

struct nat_net {
	const char *table; /* "netd-NAME" */
	const char *owner; /* comment marking it as ours */
	const char *bridge;
	const char *uplink; /* <forward dev>, or NULL for any */
	enum nat_mode mode;
	const struct nat_subnet *subnets;
	size_t nsubnets;
	struct nf_addr snat_start, snat_end; /* family 0: masquerade */
	int port_start, port_end;	     /* 0: 1024-65535 */
	bool dhcp, dns, tftp;		     /* services to accept */
	/* the DHCP ranges: a guarded port may send from an address in them
	 * only when it leases it (nat_port.lease4) or is pinned to it */
	const struct nat_range4 *ranges4;
	size_t nranges4;
};

/* Installs (or atomically replaces) the network's tables. Replacing drops
 * port guards: add them again. */
int nat_apply(struct nat_ctx *c, const struct nat_net *n, struct nf_err *e);
/* Deletes the network's tables (inet and bridge) that exist and are ours. */
int nat_remove(struct nat_ctx *c, const char *table, const char *owner,
	       struct nf_err *e);
/* One port's guard: frames entering the bridge from `tap` must carry the
 * guest's MAC; ARP must claim it (and the pinned IPv4); IPv4 must come from
 * the pinned address (DHCP from 0.0.0.0 allowed); IPv6 only from the
 * link-local (EUI-64 of the MAC), :: or the pinned IPv6, no router
 * adverts, no neighbour adverts for others; no DHCP/DHCPv6 server
 * replies; other ethertypes dropped. ip4/ip6 family 0: not pinned.
 * An address of the network's DHCP ranges passes only from the port
 * pinned to it or leasing it (lease4), from no other. */
enum nat_port_state {
	NAT_PORT_GUARDED, /* the guest's MAC known: the rules above */
	/* its MAC not known yet: only what a booting guest sends from no
	 * address of its own passes (DHCP discover/request from 0.0.0.0,
	 * ARP probes from 0.0.0.0, IPv6 from :: for DAD and MLD), which is
	 * what lets the bridge learn the MAC */
	NAT_PORT_PENDING,
	NAT_PORT_DENIED, /* nothing passes */
};
struct nat_port {
	const char *tap;
	uint8_t mac[6];
	struct nf_addr ip4, ip6;
	struct nf_addr lease4; /* not pinned: the range address dnsmasq
				  leases it, which it may send from */
	enum nat_port_state state;
};
/* Adds one port's guard (swapping out `old` if given): one batch of set
 * elements; other ports untouched, cost independent of their number. */
int nat_port_add(struct nat_ctx *c, const char *table,
		 const struct nat_port *old, const struct nat_port *p,
		 struct nf_err *e);
/* Removes the guard p describes (exactly what was added). */
int nat_port_remove(struct nat_ctx *c, const char *table,
		    const struct nat_port *p, struct nf_err *e);

/* 1 if an inet table of that name with that owner exists. */
int nat_table_owned(struct nat_ctx *c, const char *table, const char *owner);
/* Calls cb for each inet table whose comment starts with owner_prefix. */
int nat_for_each_owned(struct nat_ctx *c, const char *owner_prefix,
		       void (*cb)(const char *table, const char *owner,
				  void *ctx),
		       void *ctx);

/* A base chain of any table (ours or not) on `hook` whose policy drops:
 * what doctor reports (e.g. Docker's FORWARD). Calls cb for each. */
int nat_for_each_drop_policy(struct nat_ctx *c, const char *hook,
			     void (*cb)(const char *family, const char *table,
					const char *chain, void *ctx),
			     void *ctx);

#endif
