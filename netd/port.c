/* Ports: a guest's place on a network. A TAP made here, handed to the
 * caller as fds, carrying the guest's MAC and pinned IP; reserved in
 * dnsmasq and enforced by a per-port guard in the network's bridge table.
 * A non-persistent port dies with its last fd: the kernel deletes the TAP
 * and the RTM_DELLINK we watch releases everything it held. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tap/tap.h"
#include "loop.h"
#include "dhcpspec.h"
#include "network.h"
#include "pin.h"
#include "port.h"
#include "vfport.h"

/* -------------------------------------------------------------- helpers */

static void port_path(const struct registry *r, const struct port *p, char *out,
		      size_t n)
{
	char u[37];
	nf_uuid_format(p->uuid, u);
	snprintf(out, n, "%s/ports/%s.json", r->run_dir, u);
}

static void tap_alias(const struct registry *r, const struct port *p, char *out,
		      size_t n)
{
	char u[37];
	nf_uuid_format(p->uuid, u);
	snprintf(out, n, "%s port %s", r->owner, u);
}

/* whether the network's dnsmasq must ping first changed, maybe */
static void ping_check(struct registry *r, struct network *n)
{
	if (r->ping_check)
		r->ping_check(r, n);
}

json_t *port_json(const struct port *p)
{
	char u[37], ip[INET6_ADDRSTRLEN] = "";
	nf_uuid_format(p->uuid, u);
	if (p->ip.family)
		nf_addr_format(&p->ip, ip, sizeof(ip));
	json_t *j = json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:b, s:b, s:b, "
		"s:b, s:i, s:i}",
		"uuid", u, "network", p->network, "mac", p->mac, "ip", ip,
		"name", p->name, "tap", p->tap, "queues", (int)p->queues,
		"isolated", p->isolated, "filter", p->filter, "persist",
		p->persist, "pin_added", p->pin_added, "owner_pid",
		p->owner_pid, "owner_uid", p->owner_uid);
	json_object_set_new(j, "type", json_string(port_kind_name(p->kind)));
	if (p->owner_uuid[0])
		json_object_set_new(j, "owner_uuid",
				    json_string(p->owner_uuid));
	if (p->kind == PORT_FOREIGN || p->mac_source[0]) {
		json_object_set_new(j, "mac_source",
				    json_string(p->mac_source));
		json_object_set_new(j, "denied", json_boolean(p->denied));
	}
	if (p->dev[0]) {
		char vfio[32];
		json_object_set_new(j, "device", json_string(p->dev));
		json_object_set_new(j, "lower", json_string(p->lower));
		json_object_set_new(j, "pci", json_string(p->pci));
		json_object_set_new(j, "iommu_group",
				    json_integer(p->iommu_group));
		snprintf(vfio, sizeof(vfio), "/dev/vfio/%d", p->iommu_group);
		if (p->kind == PORT_HOSTDEV)
			json_object_set_new(j, "vfio", json_string(vfio));
	}
	return j;
}

static bool is_vf_kind(const struct port *p)
{
	return p->kind == PORT_MACVTAP || p->kind == PORT_HOSTDEV;
}

int port_save(struct registry *r, const struct port *p, struct nf_err *e)
{
	char dir[1024], u[37], name[64];
	snprintf(dir, sizeof(dir), "%s/ports", r->run_dir);
	nf_uuid_format(p->uuid, u);
	snprintf(name, sizeof(name), "%s.json", u);
	return nf_json_record(dir, name, port_json(p), e);
}

static struct network *live_network(struct registry *r, const char *name)
{
	struct network *n = registry_find(r, name);
	return n && n->live ? n : NULL;
}

size_t network_pins(const struct registry *r, const struct network *n,
		    struct dhcp_pin **out)
{
	size_t k = 0;
	*out = nf_xcalloc(r->nports + 1, sizeof(**out));
	for (size_t i = 0; i < r->nports; i++) {
		const struct port *p = r->ports[i];
		if (!p->pin_added || strcmp(p->network, network_name(n)))
			continue;
		(*out)[k++] = (struct dhcp_pin){p->mac, p->ip,
						p->name[0] ? p->name : NULL};
	}
	return k;
}

int network_reload_hosts(struct registry *r, struct network *n,
			 struct nf_err *e)
{
	struct dhcp_files f;
	struct dhcp_pin *pins;
	if (!n->has_dnsmasq)
		return 0;
	struct dhcp_spec spec;
	network_files(r, n, &f);
	size_t np = network_pins(r, n, &pins);
	dhcpspec_of(&n->live->def, &spec);
	spec.no_ping = n->no_ping;
	/* its log says whether this reload took (see dnsmasq_log_ready) */
	if (n->dnsmasq_pid > 0)
		dhcp_log_asked(&n->log, &spec);
	int rc = dhcp_reload_hosts(&spec, pins, np, &f, n->dnsmasq_pid, e);
	dhcpspec_free(&spec);
	free(pins);
	return rc;
}

struct port *port_find_pinned(struct registry *r, const char *network,
			      const char *mac, const struct nf_addr *ip)
{
	return pin_holder(r->ports, r->nports, network, mac, ip);
}

static struct port *find_port(struct registry *r, const char *key)
{
	uint8_t u[16];
	bool by_uuid = nf_uuid_parse(key, u) == 0;
	for (size_t i = 0; i < r->nports; i++) {
		struct port *p = r->ports[i];
		if ((by_uuid && !memcmp(p->uuid, u, 16)) ||
		    !strcmp(p->tap, key) ||
		    (p->name[0] && !strcmp(p->name, key)))
			return p;
	}
	return NULL;
}

static void nat_of(const struct port *p, struct nat_port *np)
{
	memset(np, 0, sizeof(*np));
	np->tap = p->tap;
	nf_mac_parse(p->mac, np->mac);
	np->state = p->denied	 ? NAT_PORT_DENIED
		    : !p->mac[0] ? NAT_PORT_PENDING
				 : NAT_PORT_GUARDED;
	if (p->ip.family == AF_INET)
		np->ip4 = p->ip;
	else if (p->ip.family == AF_INET6)
		np->ip6 = p->ip;
	if (p->ip.family != AF_INET)
		np->lease4 = p->lease4;
}

int port_guard(struct registry *r, struct network *n, const struct port *p,
	       const struct port *old, struct nf_err *e)
{
	struct nat_port np, op;
	if (!p->filter || !n->table[0])
		return 0;
	nat_of(p, &np);
	if (old)
		nat_of(old, &op);
	int rc = nat_port_add(r->nat, n->table, old ? &op : NULL, &np, e);
	if (rc == -ENOENT && old) /* the old guard is gone (tables were
				     reinstalled): just add */
		rc = nat_port_add(r->nat, n->table, NULL, &np, e);
	return rc;
}

/* A VF or macvtap port has no TAP whose end says its owner is gone: the
 * owner process is watched instead (unless the port is kept). */
static void owner_exited(void *ctx)
{
	struct port *p = ctx;
	p->owner_timer = 0;
	nf_info("port %s: its owner (pid %d) exited", p->dev, p->owner_pid);
	port_release(p->reg, p, true);
}

static void watch_owner(struct registry *r, struct port *p)
{
	p->reg = r;
	p->owner_pidfd = -1;
	if (p->persist || p->owner_pid <= 0)
		return;
	p->owner_pidfd = loop_watch_pid(p->owner_pid, owner_exited, p);
	if (p->owner_pidfd < 0) /* gone already */
		p->owner_timer = loop_after(0, owner_exited, p);
}

static void unwatch_owner(struct port *p)
{
	loop_unwatch_pid(&p->owner_pidfd);
	if (p->owner_timer)
		loop_cancel(p->owner_timer);
	p->owner_timer = 0;
}

static int cmp_lease_mac(const void *a, const void *b)
{
	return strcasecmp(((const struct dhcp_lease *)a)->mac,
			  ((const struct dhcp_lease *)b)->mac);
}

static int cmp_lease_ip(const void *a, const void *b)
{
	return strcmp(((const struct dhcp_lease *)a)->ip,
		      ((const struct dhcp_lease *)b)->ip);
}

/* dnsmasq's IPv4 leases, as a copy sorted by MAC and one by address */
struct leases {
	struct dhcp_lease *by_mac, *by_ip;
	size_t n;
};

static void leases_read(struct registry *r, struct network *n, struct leases *L)
{
	struct dhcp_files f;
	struct dhcp_lease *l = NULL;
	size_t nl = 0, k = 0;
	network_files(r, n, &f);
	dhcp_leases(&f, &l, &nl);
	for (size_t i = 0; i < nl; i++) {
		struct nf_addr a;
		if (l[i].mac[0] && nf_addr_parse(l[i].ip, &a) == 0 &&
		    a.family == AF_INET)
			l[k++] = l[i];
	}
	L->n = k;
	L->by_mac = l;
	L->by_ip = nf_xcalloc(k + 1, sizeof(*L->by_ip));
	memcpy(L->by_ip, l, k * sizeof(*l));
	qsort(L->by_mac, k, sizeof(*l), cmp_lease_mac);
	qsort(L->by_ip, k, sizeof(*l), cmp_lease_ip);
}

static const struct dhcp_lease *lease_of_mac(const struct leases *L,
					     const char *mac)
{
	struct dhcp_lease key = {0};
	snprintf(key.mac, sizeof(key.mac), "%s", mac);
	return bsearch(&key, L->by_mac, L->n, sizeof(key), cmp_lease_mac);
}

static const struct dhcp_lease *lease_of_ip(const struct leases *L,
					    const char *ip)
{
	struct dhcp_lease key = {0};
	snprintf(key.ip, sizeof(key.ip), "%s", ip);
	return bsearch(&key, L->by_ip, L->n, sizeof(key), cmp_lease_ip);
}

/* Tells dnsmasq the ports' IPv4 leases on n are free: their pinned
 * addresses, and any their MACs hold (range addresses), so
 * net-dhcp-leases forgets them with the ports. The lease file is read
 * once for all of them. */
static void release_leases(struct registry *r, struct network *n,
			   struct port *const *ps, size_t np)
{
	const struct netdef *d = &n->live->def;
	struct leases L;
	struct nf_err e;
	leases_read(r, n, &L);
	for (size_t k = 0; k < np; k++) {
		const struct port *p = ps[k];
		const struct dhcp_lease *l = lease_of_mac(&L, p->mac);
		if (!l || strcmp(p->network, network_name(n)))
			continue;
		while (l > L.by_mac && !strcasecmp(l[-1].mac, p->mac))
			l--; /* a MAC may hold more than one */
		for (; l < L.by_mac + L.n && !strcasecmp(l->mac, p->mac); l++) {
			struct nf_addr ip;
			const struct netxml_ip *sub;
			if (nf_addr_parse(l->ip, &ip) < 0 ||
			    !(sub = netxml_ip_of(d, &ip)))
				continue; /* not one of the network's */
			if (dhcp_release_lease(d->bridge, &sub->address, &ip,
					       p->mac, &e) < 0)
				nf_warn("port %s: its lease of %s stays until "
					"it expires: %s",
					p->tap[0] ? p->tap : p->dev, l->ip,
					e.msg);
		}
	}
	free(L.by_mac);
	free(L.by_ip);
}

/* Takes p out of the registry and undoes what it holds on its own: its
 * guard, its owner watch and VF, its shaping. Whether its TAP is netd's
 * to delete (given delete_tap) is the answer. */
static bool unhook(struct registry *r, struct port *p, bool delete_tap)
{
	struct network *n = live_network(r, p->network);
	struct nf_err e;
	if (n && p->filter && n->table[0]) {
		struct nat_port np;
		nat_of(p, &np);
		if (nat_port_remove(r->nat, n->table, &np, &e) < 0)
			nf_debug("%s", e.msg);
	}
	for (size_t i = 0; i < r->nports; i++)
		if (r->ports[i] == p)
			r->ports[i] = r->ports[--r->nports];
	if (is_vf_kind(p)) {
		unwatch_owner(p);
		vfport_release(r, p);
		return false; /* the macvtap went with the record */
	}
	if (p->kind == PORT_TAP && p->tap[0]) /* its IFB, if shaped */
		bridge_unshape(r->br, p->tap);
	return delete_tap && p->kind == PORT_TAP && p->tap[0]; /* a foreign
						port is not netd's to delete */
}

void ports_release(struct registry *r, struct port **ps, size_t np,
		   bool delete_taps)
{
	const char **taps = nf_xcalloc(np + 1, sizeof(*taps)),
		   **aliases = nf_xcalloc(np + 1, sizeof(*aliases));
	char(*alias)[128] = nf_xcalloc(np + 1, sizeof(*alias));
	size_t nt = 0;
	struct nf_err e;
	for (size_t i = 0; i < np; i++)
		if (unhook(r, ps[i], delete_taps)) {
			tap_alias(r, ps[i], alias[nt], sizeof(alias[nt]));
			aliases[nt] = alias[nt];
			taps[nt++] = ps[i]->tap;
		}
	/* each network once: its live reservations, its leases */
	for (size_t i = 0; i < np; i++) {
		struct network *n = live_network(r, ps[i]->network);
		bool first = true, pins = false, unguarded = false;
		for (size_t k = 0; k < np; k++) {
			if (strcmp(ps[k]->network, ps[i]->network))
				continue;
			first = first && k >= i;
			pins = pins || ps[k]->pin_added;
			unguarded = unguarded || !ps[k]->filter;
		}
		if (!n || !first)
			continue;
		if (pins && network_reload_hosts(r, n, &e) < 0)
			nf_err_log("%s", e.msg);
		if (n->has_dnsmasq)
			release_leases(r, n, ps, np);
		if (unguarded)
			ping_check(r, n);
	}
	/* the TAPs in one kernel batch */
	if (nt && bridge_delete_many(r->br, taps, aliases, nt, &e) < 0)
		nf_err_log("%s", e.msg);
	for (size_t i = 0; i < np; i++) {
		struct port *p = ps[i];
		char path[1024];
		port_path(r, p, path, sizeof(path));
		unlink(path);
		nf_info("port %s (%s on '%s') released",
			p->dev[0] ? p->dev : p->tap,
			p->mac[0] ? p->mac : "no MAC known", p->network);
		if (r->emit)
			r->emit("port-removed", p->network,
				p->dev[0] ? p->dev : p->tap, r->emit_ctx);
		free(p);
	}
	free(taps);
	free(aliases);
	free(alias);
}

void port_release(struct registry *r, struct port *p, bool delete_tap)
{
	ports_release(r, &p, 1, delete_tap);
}

/* ------------------------------------------------ range leases, no-ping */

/* p is n's, guarded, its MAC known and no IPv4 pinned: the lease file
 * can bind it */
static bool can_bind(const struct port *p, const struct network *n)
{
	return p->filter && p->mac[0] && p->ip.family != AF_INET &&
	       !strcmp(p->network, network_name(n));
}

/* n's port the lease file can bind with this MAC (any MAC: NULL) */
static struct port *bindable(struct registry *r, const struct network *n,
			     const char *mac)
{
	for (size_t i = 0; i < r->nports; i++)
		if (can_bind(r->ports[i], n) &&
		    (!mac || !strcasecmp(r->ports[i]->mac, mac)))
			return r->ports[i];
	return NULL;
}

bool ports_lease_news(struct registry *r, const struct network *n,
		      const char *mac, const char *ip)
{
	struct nf_addr a;
	struct port *p = bindable(r, n, mac);
	return p && nf_addr_parse(ip, &a) == 0 && a.family == AF_INET &&
	       nf_addr_cmp(&a, &p->lease4);
}

size_t ports_sync_leases(struct registry *r, struct network *n,
			 uint64_t since_ns)
{
	struct leases L;
	struct nf_err e;
	/* none the file can bind (pinned ports it cannot): nothing to read */
	if (!n->live || !n->has_dnsmasq || !bindable(r, n, NULL))
		return 0;
	leases_read(r, n, &L);
	for (size_t i = 0; i < r->nports; i++) {
		struct port *p = r->ports[i], old = *p;
		char cur[INET6_ADDRSTRLEN] = "";
		if (!can_bind(p, n))
			continue;
		if (p->lease4.family)
			nf_addr_format(&p->lease4, cur, sizeof(cur));
		const struct dhcp_lease *mine = lease_of_mac(&L, p->mac),
					*held = cur[0] ? lease_of_ip(&L, cur)
						       : NULL;
		if (mine)
			nf_addr_parse(mine->ip, &p->lease4);
		else if (held && strcasecmp(held->mac, p->mac))
			p->lease4 = (struct nf_addr){0}; /* leased to another
							    since: it moved */
		if (nf_addr_cmp(&p->lease4, &old.lease4) &&
		    port_guard(r, n, p, &old, &e) < 0)
			nf_err_log("%s", e.msg);
	}
	/* ACKs to ports' MACs logged since since_ns that the file does not
	 * show yet (others, a guest asking for made-up MACs, never wait) */
	size_t pending = 0;
	for (size_t i = 0; i < n->log.nseen; i++) {
		const struct dhcp_seen *s = &n->log.seen[i];
		const struct dhcp_lease *l = lease_of_mac(&L, s->mac);
		pending += s->step == DHCP_ACK && s->when_ns > since_ns &&
			   strchr(s->ip, '.') && (!l || strcmp(l->ip, s->ip)) &&
			   bindable(r, n, s->mac);
	}
	free(L.by_mac);
	free(L.by_ip);
	return pending;
}

bool network_guards_all(const struct registry *r, const struct network *n)
{
	if (!n->live || n->live->def.foreign == NETXML_FOREIGN_OPEN)
		return false;
	for (size_t i = 0; i < r->nports; i++)
		if (!r->ports[i]->filter &&
		    !strcmp(r->ports[i]->network, network_name(n)))
			return false;
	return true;
}

void port_set_owner(struct registry *r, const char *tap, pid_t pid)
{
	struct nf_err e;
	for (size_t i = 0; i < r->nports; i++)
		if (tap[0] && !strcmp(r->ports[i]->tap, tap)) {
			r->ports[i]->owner_pid = (int)pid;
			if (port_save(r, r->ports[i], &e) < 0)
				nf_err_log("%s", e.msg);
		}
}

/* ------------------------------------------------------- pin decisions */

/* Works out p's pin from the request and the network's reservations, and
 * refuses conflicts, naming them. */
int port_repin(struct registry *r, struct network *n, struct port *p,
	       struct nf_err *e)
{
	const struct netxml_host *res =
		pin_reservation(&n->live->def, p->mac, NULL);
	struct port before = *p;
	struct nf_addr old = p->ip;
	bool old_added = p->pin_added;
	if (res) {
		p->ip = res->ip;
		p->pin_added = false;
	} else if (!p->pin_added) {
		memset(&p->ip, 0, sizeof(p->ip)); /* reservation gone */
	}
	if (!nf_addr_cmp(&old, &p->ip) && old_added == p->pin_added)
		return 0;
	int rc = port_guard(r, n, p, &before, e);
	if (rc < 0) {
		p->ip = old;
		p->pin_added = old_added;
		return rc;
	}
	port_save(r, p, e);
	return 0;
}

/* ------------------------------------------------------------ handlers */

/* A hostdev or passthrough port made (or not): recorded and answered. */
static void vf_port_done(struct registry *r, struct port *p, int rc, int *fds,
			 unsigned nfds, struct nf_err *e, void *ctx)
{
	struct later *l = ctx;
	json_t *res = NULL;
	if (rc == 0) {
		NF_APPEND(r->ports, r->nports, p);
		if ((rc = port_save(r, p, e)) < 0) {
			for (unsigned i = 0; i < nfds; i++)
				close(fds[i]);
			nfds = 0;
			port_release(r, p, true);
		}
	} else {
		free(p);
	}
	if (rc == 0) {
		watch_owner(r, p);
		nf_info("port %s (%s) created on '%s' (mac %s%s%s)",
			p->tap[0] ? p->tap : p->dev, port_kind_name(p->kind),
			p->network, p->mac, p->tap[0] ? " on " : "",
			p->tap[0] ? p->lower : "");
		res = port_json(p);
		if (r->emit)
			r->emit("port-added", p->network,
				p->tap[0] ? p->tap : p->dev, r->emit_ctx);
	}
	later_reply(l, rc, res, e, NULL, fds, rc == 0 ? nfds : 0);
}

/* The rest of port_create on a hostdev or passthrough network: answered
 * when the VF is ready (its PF driver may take seconds). */
static int vf_port_create(struct registry *r, struct request *q,
			  struct network *n, struct port *p, json_t *args,
			  struct nf_err *e)
{
	struct later *l = req_defer(q);
	if (!l) {
		free(p);
		return nf_errf(e, ENOTSUP,
			       "a hostdev or passthrough port is answered once "
			       "its VF is ready; this caller cannot wait");
	}
	int rc = vfport_create(r, n, p, args, vf_port_done, l, e);
	if (rc < 0) {
		later_drop(l);
		free(p);
		return rc;
	}
	return REQ_LATER;
}

/* The live network a port-create names, checked against what the client
 * takes and asks for. */
static struct network *port_network(struct registry *r, json_t *args,
				    struct nf_err *e)
{
	const char *net = nf_json_str(args, "network"),
		   *ip = nf_json_str(args, "ip");
	json_int_t queues = json_integer_value(json_object_get(args, "queues"));
	if (!net)
		return nf_errf(e, EINVAL, "missing string argument 'network'"),
		       NULL;
	struct network *n = live_network(r, net);
	if (!n)
		return nf_errf(e, registry_find(r, net) ? EINVAL : ENOENT,
			       "network '%s' is %s", net,
			       registry_find(r, net)
				       ? "not active (net-start it)"
				       : "not defined"),
		       NULL;
	const struct netdef *d = &n->live->def;
	bool vfnet = d->mode == NETXML_FWD_HOSTDEV ||
		     d->mode == NETXML_FWD_PASSTHROUGH;
	json_t *types = json_object_get(args, "types"), *t;
	const char *kind = port_kind_name(
		d->mode == NETXML_FWD_HOSTDEV	    ? PORT_HOSTDEV
		: d->mode == NETXML_FWD_PASSTHROUGH ? PORT_MACVTAP
						    : PORT_TAP);
	bool takes = !json_is_array(types);
	size_t ti;
	json_array_foreach (types, ti, t)
		takes = takes || !strcmp(json_string_value(t) ?: "", kind);
	int rc = 0;
	if (!takes)
		rc = nf_errf(e, ENOTSUP,
			     "network '%s' (mode %s) hands out %s ports, "
			     "which this client does not take",
			     net, netxml_fwd_name(d->mode), kind);
	else if (vfnet && ip)
		rc = nf_errf(e, EINVAL,
			     "network '%s' (mode %s) has no DHCP of netd's "
			     "to pin %s in; reserve it on the DHCP server of "
			     "that segment",
			     net, netxml_fwd_name(d->mode), ip);
	else if (vfnet && d->mode == NETXML_FWD_HOSTDEV && queues > 1)
		rc = nf_errf(e, EINVAL, "a hostdev port has no queues");
	else if (!vfnet && !netxml_fwd_has_bridge(d->mode) &&
		 d->mode != NETXML_FWD_BRIDGE)
		rc = nf_errf(e, ENOTSUP,
			     "network '%s' (mode %s) has no bridge for TAP "
			     "ports",
			     net, netxml_fwd_name(d->mode));
	else if (queues < 0 || queues > TAP_MAX_QUEUES)
		rc = nf_errf(e, EINVAL, "queues must be 1..%d", TAP_MAX_QUEUES);
	else if (!vfnet && json_is_true(json_object_get(args, "keep")) &&
		 !nf_json_str(args, "persist"))
		rc = nf_errf(e, EINVAL,
			     "--keep is for hostdev and passthrough ports; a "
			     "TAP port that outlives its fds needs --persist "
			     "IFNAME");
	return rc < 0 ? NULL : n;
}

int port_mac_table(struct registry *r, const struct netdef *d,
		   const struct port *p, struct nf_err *e)
{
	uint8_t m[6];
	if (!d->mac_table_manager || strcmp(d->mac_table_manager, "libvirt") ||
	    !netxml_fwd_has_bridge(d->mode) || nf_mac_parse(p->mac, m) < 0)
		return 0;
	return bridge_port_mac_table(r->br, p->tap, m, e);
}

/* A new port of d as the request asks (MAC, pinned IP, options), owned
 * by the caller; not yet made or recorded. */
static struct port *port_new(struct registry *r, struct request *q,
			     const struct netdef *d, json_t *args, bool vfnet,
			     struct nf_err *e)
{
	const char *mac = nf_json_str(args, "mac"),
		   *ip = nf_json_str(args, "ip"),
		   *name = nf_json_str(args, "name");
	json_int_t queues = json_integer_value(json_object_get(args, "queues"));
	uint8_t m[6];
	if (!mac && name) { /* a <host name=...> with a MAC names the guest */
		const struct netxml_host *h = pin_reservation(d, NULL, name);
		mac = h ? h->mac : NULL;
	}
	/* learn_mac: the runner cannot say (QEMU's bridge helper): the
	 * guest's MAC is the first the bridge learns, as for a foreign port */
	bool learn = json_is_true(json_object_get(args, "learn_mac"));
	if (learn && (mac || ip || vfnet))
		return nf_errf(e, EINVAL,
			       "learn_mac is for TAP ports whose guest the "
			       "runner cannot name (its reservation pins it "
			       "once learned); it takes no MAC or IP"),
		       NULL;
	if (mac && (nf_mac_parse(mac, m) < 0 || (m[0] & 1)))
		return nf_errf(e, EINVAL, "'%s' is not a unicast MAC address",
			       mac),
		       NULL;
	if (!mac) {
		m[0] = 0x52, m[1] = 0x54, m[2] = 0x00;
		nf_random_bytes(m + 3, 3);
	}
	/* a UUID the client chose (libvirt's net-port-create), and the
	 * guest's own */
	const char *uuid = nf_json_str(args, "uuid"),
		   *owner = nf_json_str(args, "owner_uuid");
	uint8_t u[16], ou[16];
	if ((uuid && nf_uuid_parse(uuid, u) < 0) ||
	    (owner && nf_uuid_parse(owner, ou) < 0))
		return nf_errf(e, EINVAL, "'%s' is not a UUID",
			       uuid && nf_uuid_parse(uuid, u) < 0 ? uuid
								  : owner),
		       NULL;
	for (size_t i = 0; uuid && i < r->nports; i++)
		if (!memcmp(r->ports[i]->uuid, u, 16))
			return nf_errf(e, EEXIST,
				       "a port with UUID %s exists (on network "
				       "'%s')",
				       uuid, r->ports[i]->network),
			       NULL;
	struct port *p = nf_xcalloc(1, sizeof(*p));
	if (uuid)
		memcpy(p->uuid, u, 16);
	else
		nf_uuid_generate(p->uuid);
	if (owner)
		nf_uuid_format(ou, p->owner_uuid);
	snprintf(p->network, sizeof(p->network), "%s", d->name);
	snprintf(p->name, sizeof(p->name), "%s", name ? name : "");
	if (!learn)
		nf_mac_format(m, p->mac);
	if (pin_decide(d, r->ports, r->nports, p, ip, e) < 0) {
		free(p);
		return NULL;
	}
	/* a MAC the network reserves under a name: the port is that guest */
	const struct netxml_host *h =
		name ? NULL : pin_reservation(d, p->mac, NULL);
	if (h && h->name)
		snprintf(p->name, sizeof(p->name), "%s", h->name);
	p->queues = queues ? (unsigned)queues : 1;
	p->filter = !json_is_false(json_object_get(args, "filter"));
	p->isolated = json_is_true(json_object_get(args, "isolated")) ||
		      d->port_isolated == 1;
	p->persist = nf_json_str(args, "persist") != NULL ||
		     (vfnet && json_is_true(json_object_get(args, "keep")));
	p->owner_uid = (int)q->uid;
	p->owner_pid = (int)q->pid;
	p->owner_pidfd = -1;
	return p;
}

/* One direction of a port's rate from the request ({"average": kB/s,
 * "peak", "burst"}), when it gives one. */
static void bw_arg(json_t *args, const char *key, struct netxml_bw *b)
{
	json_t *o = json_object_get(args, key);
	if (!json_is_object(o) ||
	    !json_integer_value(json_object_get(o, "average")))
		return;
	*b = (struct netxml_bw){.set = true,
				.average = (uint64_t)json_integer_value(
					json_object_get(o, "average")),
				.peak = (uint64_t)json_integer_value(
					json_object_get(o, "peak")),
				.burst = (uint64_t)json_integer_value(
					json_object_get(o, "burst"))};
}

/* A TAP port's shaping, as libvirt's <bandwidth> on an interface: inbound
 * (to the guest) on the TAP's egress, outbound (from it) on its ingress
 * through an IFB. From the request (inbound/outbound, or --rate MBITS
 * both ways), else the portgroup's (named, or the default one). */
static int tap_shape(struct registry *r, struct network *n,
		     const struct port *p, json_t *args, struct nf_err *e)
{
	struct netxml_bw in, out;
	if (netxml_port_bw(n->live, nf_json_str(args, "portgroup"), &in, &out,
			   e) < 0)
		return -EINVAL;
	json_int_t mbit = json_integer_value(json_object_get(args, "rate"));
	if (mbit > 0)
		in = out = (struct netxml_bw){.set = true,
					      .average = (uint64_t)mbit * 125};
	bw_arg(args, "inbound", &in);
	bw_arg(args, "outbound", &out);
	if (in.floor || out.floor)
		nf_warn("port %s: <bandwidth floor=...> (a guaranteed share) "
			"is "
			"not one netd gives; the port is shaped to its average",
			p->tap);
	return network_shape(r, p->tap, &in, &out, e);
}

/* A bridge of netd's holds only ports netd knows (its own and foreign
 * ones): refused before a TAP is made when the bridge is full. */
static int bridge_room(struct registry *r, const struct netdef *d,
		       struct nf_err *e)
{
	size_t k = 0;
	for (size_t i = 0; i < r->nports; i++)
		k += r->ports[i]->tap[0] &&
		     !strcmp(r->ports[i]->network, d->name);
	if (!netxml_fwd_has_bridge(d->mode) || k < BRIDGE_MAX_PORTS)
		return 0;
	return nf_errf(e, EXFULL,
		       "network '%s' has %zu ports on its bridge %s, the most "
		       "a Linux bridge takes (the kernel's BR_MAX_PORTS); put "
		       "further guests on another network",
		       d->name, k, d->bridge);
}

/* Makes p's TAP (named persist, or a fresh random name: never one that
 * was just freed), attaches and guards it; the fds go back with the
 * reply unless it persists. Frees p on failure. */
static int tap_port_create(struct registry *r, struct request *q,
			   struct network *n, struct port *p, json_t *args,
			   const char *persist, struct nf_err *e)
{
	const struct netdef *d = &n->live->def;
	int fds[TAP_MAX_QUEUES], rc;
	char want[16], alias[128];
	uint8_t m[6];
	if ((rc = bridge_room(r, d, e)) < 0) {
		free(p);
		return rc;
	}
	p->kind = PORT_TAP;
	if (persist)
		snprintf(want, sizeof(want), "%s", persist);
	else
		nf_random_name("nfp", want, sizeof(want));
	if (nf_mac_parse(p->mac, m) < 0) { /* to be learned: any for the TAP */
		m[0] = 0x52, m[1] = 0x54, m[2] = 0x00;
		nf_random_bytes(m + 3, 3);
	}
	/* its MAC is set in the request that attaches it */
	struct tap_spec ts = {want, p->queues, p->persist, NULL, d->mtu, true};
	uint8_t host_mac[6];
	tap_host_mac(m, host_mac);
	/* recorded before the TAP exists: a crash here is recoverable */
	snprintf(p->tap, sizeof(p->tap), "%s", want);
	uint64_t t0 = nf_now_ns(), t1, t2;
	if ((rc = port_save(r, p, e)) < 0 ||
	    (rc = tap_create(&ts, fds, p->tap, e)) < 0) {
		char path[1024];
		port_path(r, p, path, sizeof(path));
		unlink(path);
		free(p);
		return rc;
	}
	NF_APPEND(r->ports, r->nports, p);
	tap_alias(r, p, alias, sizeof(alias));
	const char *br = d->bridge    ? d->bridge
			 : d->fwd_ifs ? d->fwd_ifs[0]
				      : NULL;
	t1 = nf_now_ns();
	if ((rc = bridge_attach(r->br, p->tap, br, alias, host_mac, e)) < 0 ||
	    (p->isolated &&
	     (rc = bridge_port_isolated(r->br, p->tap, true, e)) < 0) ||
	    (rc = port_mac_table(r, d, p, e)) < 0 ||
	    (rc = tap_shape(r, n, p, args, e)) < 0 ||
	    ((t2 = nf_now_ns()) && (rc = port_guard(r, n, p, NULL, e)) < 0) ||
	    (p->pin_added && (rc = network_reload_hosts(r, n, e)) < 0) ||
	    /* recorded already, unless the kernel named it otherwise */
	    (strcmp(p->tap, want) && (rc = port_save(r, p, e)) < 0)) {
		for (unsigned i = 0; i < p->queues; i++)
			close(fds[i]);
		port_release(r, p, true);
		return rc;
	}
	/* the caller's fds are the TAP's life; ours go after the reply */
	for (unsigned i = 0; i < p->queues; i++)
		if (p->persist)
			close(fds[i]);
		else
			q->out_fds[q->nout_fds++] = fds[i];
	nf_debug("port %s: state+TAP %.2f, bridge attach %.2f, guard+rest "
		 "%.2f ms",
		 p->tap, (double)(t1 - t0) / 1e6, (double)(t2 - t1) / 1e6,
		 (double)(nf_now_ns() - t2) / 1e6);
	return 0;
}

int port_create(struct registry *r, struct request *q, json_t *args,
		json_t **res, struct nf_err *e)
{
	struct network *n = port_network(r, args, e);
	if (!n)
		return -e->code;
	const struct netdef *d = &n->live->def;
	bool vfnet = d->mode == NETXML_FWD_HOSTDEV ||
		     d->mode == NETXML_FWD_PASSTHROUGH;
	struct port *p = port_new(r, q, d, args, vfnet, e);
	if (!p)
		return -e->code;
	if (vfnet)
		return vf_port_create(r, q, n, p, args, e);
	int rc = tap_port_create(r, q, n, p, args, nf_json_str(args, "persist"),
				 e);
	if (rc < 0)
		return rc;
	if (!p->filter)
		ping_check(r, n);
	nf_info("port %s created on '%s' (mac %s%s%s)", p->tap, p->network,
		p->mac[0] ? p->mac : "to be learned",
		p->ip.family ? ", pinned" : "", p->filter ? ", guarded" : "");
	if (r->emit)
		r->emit("port-added", p->network, p->tap, r->emit_ctx);
	*res = port_json(p);
	return 0;
}

/* port-delete: {"port": KEY}, or {"ports": [KEY, ...]} released in one
 * batch (all or none: an unknown one refuses the request) */
int port_delete(struct registry *r, struct request *q, json_t *args,
		json_t **res, struct nf_err *e)
{
	(void)q;
	json_t *keys = json_object_get(args, "ports"), *k;
	const char *one = nf_json_str(args, "port");
	size_t n = keys ? json_array_size(keys) : 1, i;
	if (keys ? !json_is_array(keys) || !n : !one)
		return nf_errf(e, EINVAL,
			       "port-delete takes a port, or a list of them");
	struct port **ps = nf_xcalloc(n, sizeof(*ps));
	for (i = 0; i < n; i++) {
		const char *key =
			keys ? json_string_value(json_array_get(keys, i)) : one;
		ps[i] = key ? find_port(r, key) : NULL;
		for (size_t j = 0; ps[i] && j < i; j++)
			if (ps[j] == ps[i])
				ps[i] = NULL, key = NULL;
		if (!ps[i]) {
			free(ps);
			return key ? nf_errf(e, ENOENT,
					     "no port '%s' (by uuid, TAP or "
					     "name)",
					     key)
				   : nf_errf(e, EINVAL,
					     "ports[%zu] is not a port name or "
					     "is given twice",
					     i);
		}
	}
	if (keys) {
		*res = json_pack("{s:[]}", "ports");
		json_array_foreach (keys, i, k)
			json_array_append_new(json_object_get(*res, "ports"),
					      port_json(ps[i]));
	} else {
		*res = port_json(ps[0]);
	}
	ports_release(r, ps, n, true);
	free(ps);
	return 0;
}

int port_list(struct registry *r, struct request *q, json_t *args, json_t **res,
	      struct nf_err *e)
{
	(void)q;
	const char *net = nf_json_str(args, "network");
	if (net && !registry_find(r, net))
		return registry_unknown(r, net, e);
	json_t *a = json_array();
	for (size_t i = 0; i < r->nports; i++)
		if (!net || !strcmp(r->ports[i]->network,
				    network_name(registry_find(r, net))))
			json_array_append_new(a, port_json(r->ports[i]));
	*res = a;
	return 0;
}

int port_info(struct registry *r, struct request *q, json_t *args, json_t **res,
	      struct nf_err *e)
{
	(void)q;
	const char *key = nf_json_str(args, "port");
	struct port *p = key ? find_port(r, key) : NULL;
	if (!p)
		return nf_errf(e, ENOENT, "no port '%s' (by uuid, TAP or name)",
			       key ? key : "");
	if (p->kind == PORT_FOREIGN) /* who holds it now (it may change) */
		p->owner_pid = tap_owner("", p->tap);
	*res = port_json(p);
	if (p->lease4.family) { /* the range address its guard lets it use */
		char a[INET6_ADDRSTRLEN];
		nf_addr_format(&p->lease4, a, sizeof(a));
		json_object_set_new(*res, "leased", json_string(a));
	}
	return 0;
}

/* ------------------------------------------------ life: monitor, recovery */

void port_gone(struct registry *r, const char *ifname)
{
	struct port *p = port_find_link(r, ifname);
	if (!p)
		return;
	nf_info("port %s: its %s is gone%s", ifname,
		p->kind == PORT_FOREIGN ? "interface" : "TAP",
		p->kind == PORT_FOREIGN ? "" : " (owner exited)");
	port_release(r, p, false);
}

struct port *port_find_link(struct registry *r, const char *ifname)
{
	for (size_t i = 0; i < r->nports; i++)
		if (r->ports[i]->tap[0] && !strcmp(r->ports[i]->tap, ifname))
			return r->ports[i];
	return NULL;
}

void ports_reguard(struct registry *r, struct network *n)
{
	struct nf_err e;
	for (size_t i = 0; i < r->nports; i++)
		if (!strcmp(r->ports[i]->network, network_name(n)) &&
		    port_guard(r, n, r->ports[i], NULL, &e) < 0)
			nf_err_log("%s", e.msg);
}

void ports_release_taps(struct registry *r, const char *const *taps, size_t n)
{
	struct port **ps = nf_xcalloc(n + 1, sizeof(*ps));
	size_t k = 0;
	for (size_t i = 0; i < r->nports; i++)
		for (size_t j = 0; j < n; j++)
			if (r->ports[i]->tap[0] &&
			    !strcmp(r->ports[i]->tap, taps[j])) {
				ps[k++] = r->ports[i];
				break;
			}
	ports_release(r, ps, k, true);
	free(ps);
}

void ports_release_network(struct registry *r, const char *network)
{
	struct port **ps = nf_xcalloc(r->nports + 1, sizeof(*ps));
	size_t k = 0;
	for (size_t i = 0; i < r->nports; i++)
		if (!strcmp(r->ports[i]->network, network))
			ps[k++] = r->ports[i];
	ports_release(r, ps, k, true);
	free(ps);
}

static struct port *port_from_json(json_t *j)
{
	struct port *p = nf_xcalloc(1, sizeof(*p));
	const char *u = json_string_value(json_object_get(j, "uuid"));
	if (!u || nf_uuid_parse(u, p->uuid) < 0) {
		free(p);
		return NULL;
	}
#define S(f)                                                                   \
	snprintf(p->f, sizeof(p->f), "%s",                                     \
		 json_string_value(json_object_get(j, #f)) ?: "")
	S(network);
	S(mac);
	S(name);
	S(owner_uuid);
	S(tap);
	S(lower);
	S(pci);
#undef S
	p->kind =
		port_kind_parse(json_string_value(json_object_get(j, "type")));
	snprintf(p->dev, sizeof(p->dev), "%s",
		 json_string_value(json_object_get(j, "device")) ?: "");
	p->owner_pidfd = -1;
	p->iommu_group =
		(int)json_integer_value(json_object_get(j, "iommu_group"));
	nf_addr_parse(json_string_value(json_object_get(j, "ip")), &p->ip);
	p->queues = (unsigned)json_integer_value(json_object_get(j, "queues"));
	p->isolated = json_is_true(json_object_get(j, "isolated"));
	p->filter = json_is_true(json_object_get(j, "filter"));
	p->persist = json_is_true(json_object_get(j, "persist"));
	p->denied = json_is_true(json_object_get(j, "denied"));
	snprintf(p->mac_source, sizeof(p->mac_source), "%s",
		 json_string_value(json_object_get(j, "mac_source")) ?: "");
	p->pin_added = json_is_true(json_object_get(j, "pin_added"));
	p->owner_pid = (int)json_integer_value(json_object_get(j, "owner_pid"));
	p->owner_uid = (int)json_integer_value(json_object_get(j, "owner_uid"));
	return p;
}

/* One recorded port after a restart: kept if its TAP (or owner and
 * macvtap) and network are still there, released otherwise. */
static void recover_port(const char *name, const char *path, void *ctx)
{
	struct registry *r = ctx;
	struct nf_err e;
	char alias[256], want[128];
	json_t *j = nf_json_read(path);
	struct port *p = j ? port_from_json(j) : NULL;
	(void)name;
	json_decref(j);
	if (!p)
		return;
	NF_APPEND(r->ports, r->nports, p);
	struct network *n = live_network(r, p->network);
	if (is_vf_kind(p)) {
		if (!n || !vfport_alive(r, p)) {
			port_release(r, p, true);
			return;
		}
		watch_owner(r, p);
		nf_info("port %s (%s) on '%s' re-adopted", p->dev,
			port_kind_name(p->kind), p->network);
		return;
	}
	if (p->kind == PORT_FOREIGN) { /* still on the network's bridge? */
		const struct netdef *d = n ? &n->live->def : NULL;
		struct bridge_link bl;
		if (!d || !d->bridge ||
		    bridge_link_info(r->br, p->tap, &bl) < 0 ||
		    bl.master != (int)if_nametoindex(d->bridge)) {
			port_release(r, p, false);
			return;
		}
		if (port_guard(r, n, p, NULL, &e) < 0)
			nf_err_log("%s", e.msg);
		nf_info("foreign port %s on '%s' re-adopted", p->tap,
			p->network);
		return;
	}
	tap_alias(r, p, want, sizeof(want));
	bool tap_ok =
		bridge_get_alias(r->br, p->tap, alias, sizeof(alias)) == 0 &&
		!strcmp(alias, want);
	if (!n || !tap_ok) {
		port_release(r, p, tap_ok);
		return;
	}
	if (port_guard(r, n, p, NULL, &e) < 0)
		nf_err_log("%s", e.msg);
	nf_info("port %s on '%s' re-adopted", p->tap, p->network);
}

/* After a netd restart: every recorded port, then the VF records no port
 * holds any more. */
void ports_recover(struct registry *r)
{
	char dir[1024];
	snprintf(dir, sizeof(dir), "%s/ports", r->run_dir);
	nf_dir_each(dir, ".json", NULL, recover_port, r);
	vfport_recover(r);
	for (size_t i = 0; i < r->n; i++) /* their live reservations */
		if (r->nets[i]->live && r->nets[i]->has_dnsmasq) {
			struct nf_err e;
			network_reload_hosts(r, r->nets[i], &e);
		}
}

void ports_sync_all_leases(struct registry *r)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->nets[i]->live && r->nets[i]->has_dnsmasq) {
			ports_sync_leases(r, r->nets[i], UINT64_MAX);
			ping_check(r, r->nets[i]);
		}
}
