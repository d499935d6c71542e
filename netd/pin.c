/* Which IP a new port is pinned to, from the network's reservations and
 * the pins other ports hold (see pin.h). */
#define _GNU_SOURCE
#include "pin.h"

#include <errno.h>
#include <string.h>

/* The definition's reservation for a MAC (or, with mac NULL, a name). */
const struct netxml_host *pin_reservation(const struct netdef *d,
					  const char *mac, const char *name)
{
	for (size_t i = 0; i < d->nips; i++)
		for (size_t h = 0; h < d->ips[i].nhosts; h++) {
			const struct netxml_host *x = &d->ips[i].hosts[h];
			if (mac && x->mac && !strcmp(x->mac, mac))
				return x;
			if (!mac && name && x->name && x->mac &&
			    !strcmp(x->name, name))
				return x;
		}
	return NULL;
}

const struct netxml_host *pin_reserved_ip(const struct netdef *d,
					  const struct nf_addr *ip)
{
	for (size_t i = 0; i < d->nips; i++)
		for (size_t h = 0; h < d->ips[i].nhosts; h++)
			if (!nf_addr_cmp(&d->ips[i].hosts[h].ip, ip))
				return &d->ips[i].hosts[h];
	return NULL;
}

struct port *pin_holder(struct port *const *ports, size_t n,
			const char *network, const char *mac,
			const struct nf_addr *ip)
{
	for (size_t i = 0; i < n; i++) {
		struct port *p = ports[i];
		if (strcmp(p->network, network))
			continue;
		if ((mac && *mac && !strcmp(p->mac, mac)) ||
		    (ip && ip->family && !nf_addr_cmp(&p->ip, ip)))
			return p;
	}
	return NULL;
}

int pin_decide(const struct netdef *d, struct port *const *ports, size_t n,
	       struct port *p, const char *want_ip, struct nf_err *e)
{
	const struct netxml_host *res = pin_reservation(d, p->mac, NULL);
	struct nf_addr ip = {0};
	char s[INET6_ADDRSTRLEN];
	struct port *o = pin_holder(ports, n, d->name, p->mac, NULL);

	if (o)
		return nf_errf(e, EEXIST,
			       "MAC %s is already in use on network '%s' by "
			       "port %s%s%s",
			       p->mac, d->name, o->tap,
			       o->name[0] ? " of " : "", o->name);
	if (want_ip && nf_addr_parse(want_ip, &ip) < 0)
		return nf_errf(e, EINVAL, "'%s' is not an IP address", want_ip);
	if (res) {
		nf_addr_format(&res->ip, s, sizeof(s));
		if (want_ip && nf_addr_cmp(&ip, &res->ip))
			return nf_errf(e, EEXIST,
				       "MAC %s is reserved for %s on network "
				       "'%s' (its <host> on line %d); drop "
				       "--ip or change the reservation",
				       p->mac, s, d->name, res->line);
		p->ip = res->ip;
		return 0;
	}
	if (!want_ip)
		return 0; /* not pinned: MAC-only guard */
	const struct netxml_ip *subnet = NULL;
	for (size_t i = 0; i < d->nips; i++)
		if (nf_addr_in_subnet(&ip, &d->ips[i].address,
				      d->ips[i].prefix))
			subnet = &d->ips[i];
	if (!subnet)
		return nf_errf(e, EINVAL,
			       "%s is outside every subnet of network '%s'",
			       want_ip, d->name);
	if (!nf_addr_cmp(&ip, &subnet->address))
		return nf_errf(e, EINVAL, "%s is the network's own address",
			       want_ip);
	const struct netxml_host *other = pin_reserved_ip(d, &ip);
	if (other)
		return nf_errf(e, EEXIST,
			       "%s is reserved for %s on network '%s'", want_ip,
			       other->mac    ? other->mac
			       : other->name ? other->name
					     : "another host",
			       d->name);
	o = pin_holder(ports, n, d->name, NULL, &ip);
	if (o)
		return nf_errf(e, EEXIST,
			       "%s is already pinned to port %s (%s) on "
			       "network '%s'",
			       want_ip, o->tap, o->mac, d->name);
	p->ip = ip;
	p->pin_added = true;
	return 0;
}
