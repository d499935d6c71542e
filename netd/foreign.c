/* Foreign ports. An interface that joins one of netd's bridges without
 * netd making it is adopted as a port: listed, in events, released
 * (guard, live reservation, lease) when it goes or leaves the bridge,
 * re-adopted after a restart. The network's policy (<netd:foreign-ports
 * policy='guard|open|deny'/> in its <metadata>) says whether it is
 * guarded like netd's own ports (the default), left open, or denied
 * everything.
 *
 * A guarded port needs its guest's MAC. libvirt names it: its TAP carries
 * the guest's MAC with the first byte set to 0xfe (0xfa when the guest's
 * is 0xfe). Otherwise it is the first source MAC the bridge learns on the
 * port, sticky from then on; until then the port passes only what a
 * booting guest sends before it has an address (DHCP from 0.0.0.0, ARP
 * probes, IPv6 from ::), which is what lets the bridge learn it. The MAC's
 * reservation gives the pinned IP, as for netd's own ports; a MAC another
 * port of the network has is refused and the port stays as it was. */
#define _GNU_SOURCE
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tap/tap.h"
#include "foreign.h"
#include "loop.h"
#include "pin.h"
#include "port.h"

/* The live network whose own bridge (not a host bridge it borrows) has
 * ifindex master. */
static struct network *bridge_network(struct registry *r, int master)
{
	char name[IF_NAMESIZE];
	if (master <= 0 || !if_indextoname((unsigned)master, name))
		return NULL;
	for (size_t i = 0; i < r->n; i++) {
		struct network *n = r->nets[i];
		const struct netdef *d = n->live ? &n->live->def : NULL;
		if (d && d->bridge && netxml_fwd_has_bridge(d->mode) &&
		    !strcmp(d->bridge, name))
			return n;
	}
	return NULL;
}

/* libvirt's TAP MAC to its guest's: the reservation that matches in the
 * other five bytes, else libvirt's and QEMU's prefix 52:54:00. */
static bool libvirt_guest(const struct netdef *d, const uint8_t tap[6],
			  uint8_t out[6])
{
	uint8_t m[6], twin[6];
	if (tap[0] != 0xfe && tap[0] != 0xfa)
		return false;
	for (size_t i = 0; i < d->nips; i++)
		for (size_t k = 0; k < d->ips[i].nhosts; k++) {
			const char *mac = d->ips[i].hosts[k].mac;
			if (!mac || nf_mac_parse(mac, m) < 0)
				continue;
			tap_host_mac(m, twin);
			if (!memcmp(twin, tap, 6)) {
				memcpy(out, m, 6);
				return true;
			}
		}
	if (tap[0] != 0xfe || tap[1] != 0x54 || tap[2] != 0x00)
		return false;
	memcpy(out, tap, 6);
	out[0] = 0x52;
	return true;
}

/* p's guest is mac (told by source): pinned to its reservation and
 * guarded as such, swapping out the guard p had if `installed`. Refused,
 * p unchanged, when another port of the network has that MAC. */
static int set_guest(struct registry *r, struct network *n, struct port *p,
		     const uint8_t mac[6], const char *source, bool installed,
		     struct nf_err *e)
{
	const struct netdef *d = &n->live->def;
	struct port t = *p;
	nf_mac_format(mac, t.mac);
	memset(&t.ip, 0, sizeof(t.ip));
	if (pin_decide(d, r->ports, r->nports, &t, NULL, e) < 0)
		return -e->code;
	const struct netxml_host *h = pin_reservation(d, t.mac, NULL);
	if (h && h->name)
		snprintf(t.name, sizeof(t.name), "%s", h->name);
	snprintf(t.mac_source, sizeof(t.mac_source), "%s", source);
	int rc = port_guard(r, n, &t, installed ? p : NULL, e);
	if (rc < 0)
		return rc;
	*p = t;
	if (port_mac_table(r, d, p, e) < 0) /* the guard stands regardless */
		nf_err_log("%s", e->msg);
	return 0;
}

static void adopt(struct registry *r, struct network *n, const char *ifname)
{
	uint64_t t0 = nf_now_ns();
	const struct netdef *d = &n->live->def;
	struct bridge_link bl;
	struct nf_err e = {0};
	uint8_t g[6];
	if (bridge_link_info(r->br, ifname, &bl) < 0 ||
	    !strncmp(bl.alias, r->owner, strlen(r->owner)))
		return; /* gone, or netd's own (a port being made) */
	struct port *p = nf_xcalloc(1, sizeof(*p));
	nf_uuid_generate(p->uuid);
	p->kind = PORT_FOREIGN;
	p->owner_pidfd = -1;
	p->reg = r;
	snprintf(p->tap, sizeof(p->tap), "%s", ifname);
	snprintf(p->network, sizeof(p->network), "%s", d->name);
	p->filter = d->foreign != NETXML_FOREIGN_OPEN;
	p->denied = d->foreign == NETXML_FOREIGN_DENY;
	NF_APPEND(r->ports, r->nports, p);
	int rc = -1;
	if (!p->denied && libvirt_guest(d, bl.mac, g))
		rc = set_guest(r, n, p, g, "libvirt", false, &e);
	if (rc < 0 && !p->denied && bridge_port_learned(r->br, ifname, g))
		rc = set_guest(r, n, p, g, "learned", false, &e);
	if (rc < 0 && e.msg[0])
		nf_warn("foreign port %s on '%s': %s; it passes only what "
			"identifies a booting guest until the bridge learns "
			"another MAC",
			ifname, d->name, e.msg);
	if (rc < 0 && port_guard(r, n, p, NULL, &e) < 0)
		nf_err_log("%s", e.msg);
	/* who holds a TAP is looked up when port-info asks: the scan reads
	 * every fd of every process, too slow for the event loop */
	double ms = (double)(nf_now_ns() - t0) / 1e6;
	if (port_save(r, p, &e) < 0)
		nf_err_log("%s", e.msg);
	nf_info("foreign port %s adopted on '%s' in %.2f ms: %s%s%s%s", ifname,
		d->name, ms, netxml_foreign_name(d->foreign),
		p->mac[0] ? ", guest " : ", guest MAC not known yet", p->mac,
		p->ip.family ? " (pinned)" : "");
	if (r->emit)
		r->emit("port-added", p->network, p->tap, r->emit_ctx);
}

/* ------------------------------------------------------------ monitor */

static void on_gone(const char *ifname, void *ctx)
{
	port_gone(ctx, ifname);
}

static void on_link(const char *ifname, int ifindex, int master, void *ctx)
{
	struct registry *r = ctx;
	struct port *p = port_find_link(r, ifname);
	(void)ifindex;
	if (p && p->kind != PORT_FOREIGN)
		return; /* netd's own: where netd put it */
	struct network *n = bridge_network(r, master);
	if (p && (!n || strcmp(p->network, network_name(n)))) {
		nf_info("foreign port %s left the bridge of '%s'", ifname,
			p->network);
		port_release(r, p, false);
		p = NULL;
	}
	if (!p && n)
		adopt(r, n, ifname);
}

static void on_learned(int ifindex, const uint8_t mac[6], void *ctx)
{
	struct registry *r = ctx;
	struct nf_err e = {0};
	for (size_t i = 0; i < r->nports; i++) {
		struct port *p = r->ports[i];
		struct network *n;
		if ((p->kind != PORT_FOREIGN && p->kind != PORT_TAP) ||
		    p->mac[0] || p->denied ||
		    (int)if_nametoindex(p->tap) != ifindex ||
		    !(n = registry_find(r, p->network)) || !n->live)
			continue;
		if (set_guest(r, n, p, mac, "learned", true, &e) < 0) {
			char m[18];
			nf_mac_format(mac, m);
			nf_warn("port %s: the bridge learned %s on "
				"it, which stays refused: %s",
				p->tap, m, e.msg);
			return;
		}
		port_save(r, p, &e);
		ports_sync_leases(r, n, UINT64_MAX); /* a lease it has */
		nf_info("port %s on '%s': guest %s (learned)%s", p->tap,
			p->network, p->mac, p->ip.family ? ", pinned" : "");
		return;
	}
}

/* Events were lost: ports whose interface went are released, interfaces
 * on netd's bridges that no port holds are adopted. */
static void on_overrun(void *ctx)
{
	struct registry *r = ctx;
	nf_warn("the kernel dropped link events (too many at once): netd "
		"looks at its ports and bridges again");
	for (size_t i = 0; i < r->nports;) {
		struct port *p = r->ports[i];
		if (p->tap[0] && !if_nametoindex(p->tap) &&
		    (p->kind == PORT_TAP || p->kind == PORT_FOREIGN))
			port_gone(r, p->tap);
		else
			i++;
	}
	foreign_recover(r);
}

static void monitor_ready(void *ctx)
{
	static const struct bridge_events ev = {on_gone, on_link, on_learned,
						on_overrun};
	struct registry *r = ctx;
	bridge_monitor_read(r->link_monitor, &ev, r);
}

int foreign_init(struct registry *r, struct nf_err *e)
{
	r->link_monitor = bridge_monitor_open(e);
	if (r->link_monitor < 0)
		return r->link_monitor;
	return loop_watch(r->link_monitor, monitor_ready, r);
}

/* ----------------------------------------------------- restart, policy */

struct scan {
	struct registry *r;
	struct network *n;
};

static void scan_port(const char *ifname, void *ctx)
{
	struct scan *s = ctx;
	if (!port_find_link(s->r, ifname))
		adopt(s->r, s->n, ifname);
}

static void adopt_all(struct registry *r, struct network *n)
{
	struct scan s = {r, n};
	const struct netdef *d = &n->live->def;
	if (d->bridge && netxml_fwd_has_bridge(d->mode))
		bridge_for_each_port(r->br, d->bridge, scan_port, &s);
}

void foreign_recover(struct registry *r)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->nets[i]->live)
			adopt_all(r, r->nets[i]);
}

void foreign_repolicy(struct registry *r, struct network *n)
{
	for (size_t i = 0; i < r->nports;)
		if (r->ports[i]->kind == PORT_FOREIGN &&
		    !strcmp(r->ports[i]->network, network_name(n)))
			port_release(r, r->ports[i], false);
		else
			i++;
	adopt_all(r, n);
	ports_sync_leases(r, n, UINT64_MAX);
	if (r->ping_check)
		r->ping_check(r, n);
}
