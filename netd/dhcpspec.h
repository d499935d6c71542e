/* What dnsmasq serves for a network, from its definition: the one place
 * the network model meets dhcp/'s own spec. */
#ifndef DHCPSPEC_H
#define DHCPSPEC_H

#include "../dhcp/dhcp.h"
#include "netxml.h"

/* Fills s from d; its strings are d's (valid while d is). */
void dhcpspec_of(const struct netdef *d, struct dhcp_spec *s);
void dhcpspec_free(struct dhcp_spec *s);
/* One reservation, as dhcp_spec holds it (x's strings). */
struct dhcp_host dhcpspec_host(const struct netxml_host *x);

#endif
