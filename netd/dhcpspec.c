#define _GNU_SOURCE
#include "dhcpspec.h"

#include <stdlib.h>
#include <string.h>

static void subnet_of(const struct netxml_ip *ip, struct dhcp_subnet *s)
{
	*s = (struct dhcp_subnet){.address = ip->address,
				  .prefix = ip->prefix,
				  .dhcp = ip->has_dhcp,
				  .local_ptr = ip->local_ptr,
				  .tftp_root = ip->tftp_root,
				  .bootp_file = ip->bootp_file,
				  .bootp_server = ip->bootp_server,
				  .nranges = ip->nranges,
				  .nhosts = ip->nhosts};
	s->ranges = nf_xcalloc(ip->nranges + 1, sizeof(*s->ranges));
	for (size_t k = 0; k < ip->nranges; k++)
		s->ranges[k] = (struct dhcp_range){
			ip->ranges[k].start, ip->ranges[k].end,
			ip->ranges[k].lease, ip->ranges[k].lease_unit};
	s->hosts = nf_xcalloc(ip->nhosts + 1, sizeof(*s->hosts));
	for (size_t h = 0; h < ip->nhosts; h++)
		s->hosts[h] = dhcpspec_host(&ip->hosts[h]);
}

struct dhcp_host dhcpspec_host(const struct netxml_host *x)
{
	return (struct dhcp_host){x->mac, x->id,    x->name,
				  x->ip,  x->lease, x->lease_unit};
}

void dhcpspec_of(const struct netdef *d, struct dhcp_spec *s)
{
	*s = (struct dhcp_spec){.bridge = d->bridge,
				.isolated = d->mode == NETXML_FWD_NONE,
				.dns = d->dns_enable,
				.dns_forward_plain_names =
					d->dns_forward_plain_names,
				.domain = d->domain,
				.domain_local_only = d->domain_local_only,
				.mtu = d->mtu,
				.nforwarders = d->nforwarders,
				.ntxts = d->ntxts,
				.nsrvs = d->nsrvs,
				.ndns_hosts = d->ndns_hosts,
				.nips = d->nips,
				.options = d->dnsmasq_options,
				.noptions = d->ndnsmasq_options};
	s->forwarders = nf_xcalloc(d->nforwarders + 1, sizeof(*s->forwarders));
	for (size_t i = 0; i < d->nforwarders; i++)
		s->forwarders[i] = (struct dhcp_forwarder){
			d->forwarders[i].addr, d->forwarders[i].domain};
	s->txts = nf_xcalloc(d->ntxts + 1, sizeof(*s->txts));
	for (size_t i = 0; i < d->ntxts; i++)
		s->txts[i] =
			(struct dhcp_txt){d->txts[i].name, d->txts[i].value};
	s->srvs = nf_xcalloc(d->nsrvs + 1, sizeof(*s->srvs));
	for (size_t i = 0; i < d->nsrvs; i++) {
		const struct netxml_dns_srv *v = &d->srvs[i];
		s->srvs[i] = (struct dhcp_srv){
			v->service, v->protocol, v->domain, v->target,
			v->port,    v->priority, v->weight};
	}
	s->dns_hosts = nf_xcalloc(d->ndns_hosts + 1, sizeof(*s->dns_hosts));
	for (size_t i = 0; i < d->ndns_hosts; i++)
		s->dns_hosts[i] = (struct dhcp_dns_host){
			d->dns_hosts[i].ip, d->dns_hosts[i].names,
			d->dns_hosts[i].nnames};
	s->ips = nf_xcalloc(d->nips + 1, sizeof(*s->ips));
	for (size_t i = 0; i < d->nips; i++)
		subnet_of(&d->ips[i], &s->ips[i]);
}

void dhcpspec_free(struct dhcp_spec *s)
{
	for (size_t i = 0; i < s->nips; i++) {
		free(s->ips[i].ranges);
		free(s->ips[i].hosts);
	}
	free(s->ips);
	free(s->forwarders);
	free(s->txts);
	free(s->srvs);
	free(s->dns_hosts);
	memset(s, 0, sizeof(*s));
}
