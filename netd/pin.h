/* Pinning: which IP a new port gets. A MAC the network reserves (a
 * <host mac=... ip=...>) pins its reserved IP; otherwise an IP the client
 * asks for is pinned when it lies in one of the network's subnets, is not
 * the network's own address, nor reserved for another host, nor pinned to
 * another port of the network; a MAC another port of the network has is
 * refused. Pure: the definition and the other ports in, the decision out
 * (tests/unit/test_pin.c). */
#ifndef PIN_H
#define PIN_H

#include "network.h"

/* The definition's reservation for a MAC (or, with mac NULL, a name). */
const struct netxml_host *pin_reservation(const struct netdef *d,
					  const char *mac, const char *name);
/* The reservation that holds ip, if any. */
const struct netxml_host *pin_reserved_ip(const struct netdef *d,
					  const struct nf_addr *ip);
/* The port among ports on network that has mac, or is pinned to ip (a
 * port whose MAC is not known yet has none). */
struct port *pin_holder(struct port *const *ports, size_t n,
			const char *network, const char *mac,
			const struct nf_addr *ip);
/* Decides p's pin (p->mac set): sets p->ip, and p->pin_added when the pin
 * is a new reservation netd adds (not one the definition has); -errno
 * with the reason otherwise. want_ip: the client's --ip, or NULL. */
int pin_decide(const struct netdef *d, struct port *const *ports, size_t n,
	       struct port *p, const char *want_ip, struct nf_err *e);

#endif
