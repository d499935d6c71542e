/* Ports on hostdev and passthrough networks: an SR-IOV VF (or, for
 * passthrough, any netdev) handed to one guest. The order is the one
 * libvirt, Incus and sriov-cni agree on: pick a free VF, record its
 * original state in the state dir before changing anything, set the VF's
 * VLAN, trust, MAC, spoof check, rate and link state through the PF, then
 * bind it to vfio-pci (hostdev) or put a passthrough macvtap on its netdev
 * (passthrough). A release - port-delete, the owner exiting, or netd
 * finding a record at start whose port is gone - undoes it from the record,
 * so what was there before comes back even after a kill -9. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <ifaddrs.h>
#include <libgen.h>
#include <errno.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../sriov/sriov.h"
#include "../sriov/vfnl.h"
#include "../tap/tap.h"
#include "loop.h"
#include "network.h"
#include "vfport.h"

/* One device a network may hand out. */
struct cand {
	char key[16];	 /* the record's name: PCI address, or netdev */
	char pci[16];	 /* "" for a plain netdev (passthrough only) */
	char netdev[16]; /* "" when no host driver made one */
	char pf[16];	 /* "" for a plain netdev */
	int vf;		 /* index on the PF; -1 for a plain netdev */
	int group;
	char driver[32];
};

static struct vfnl *vf_channel(struct registry *r, struct nf_err *e)
{
	char dir[4096];
	if (r->vfnl)
		return r->vfnl;
	snprintf(dir, sizeof(dir), "%s/vfnl", r->sysroot);
	return vfnl_open(&r->vfnl, r->sysroot[0] ? dir : NULL, e) < 0 ? NULL
								      : r->vfnl;
}

static void record_path(const struct registry *r, const char *key, char *out,
			size_t n)
{
	snprintf(out, n, "%s/vfs/%s.json", r->state_dir, key);
}

/* The alias that marks the macvtap netd put on a device. */
static void macvtap_alias(const struct registry *r, const char *key, char *out,
			  size_t n)
{
	snprintf(out, n, "%s vf %s", r->owner, key);
}

static json_t *load_record(const struct registry *r, const char *key)
{
	char p[4096];
	record_path(r, key, p, sizeof(p));
	return nf_json_read(p);
}

static int save_record(struct registry *r, const char *key, json_t *rec,
		       struct nf_err *e)
{
	char dir[4096], name[64];
	snprintf(dir, sizeof(dir), "%s/vfs", r->state_dir);
	snprintf(name, sizeof(name), "%s.json", key);
	return nf_json_write(dir, name, json_incref(rec), true, e);
}

static void cand_from_vf(struct cand *c, const struct sriov_pf *pf,
			 const struct sriov_vf *v)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->key, sizeof(c->key), "%s", v->pci);
	snprintf(c->pci, sizeof(c->pci), "%s", v->pci);
	snprintf(c->netdev, sizeof(c->netdev), "%s", v->netdev);
	snprintf(c->pf, sizeof(c->pf), "%s", pf->name);
	snprintf(c->driver, sizeof(c->driver), "%s", v->driver);
	c->vf = (int)v->index;
	c->group = v->iommu_group;
}

/* Every device the network names: its PF's VFs, or its list. */
static int pool(struct registry *r, const struct netdef *d, struct cand **out,
		size_t *n, struct nf_err *e)
{
	struct sriov_pf pf;
	const struct sriov_vf *v;
	struct cand c;
	int rc = 0;
	*out = NULL;
	*n = 0;
	if (d->fwd_pf) {
		if ((rc = sriov_pf_read(r->sysroot, d->fwd_pf, &pf, e)) < 0)
			return rc;
		if (!pf.nvfs)
			rc = nf_errf(e, ENODEV,
				     "SR-IOV is not enabled on %s (0 of %u "
				     "VFs); run netctl sriov-set-numvfs %s N",
				     d->fwd_pf, pf.totalvfs, d->fwd_pf);
		for (size_t i = 0; i < pf.nvfs; i++) {
			cand_from_vf(&c, &pf, &pf.vfs[i]);
			NF_APPEND(*out, *n, c);
		}
		sriov_pf_free(&pf);
		return rc;
	}
	for (size_t i = 0; i < d->nfwd_pcis && rc == 0; i++) {
		rc = sriov_vf_lookup(r->sysroot, d->fwd_pcis[i].addr, &pf, &v,
				     e);
		if (rc < 0)
			break;
		cand_from_vf(&c, &pf, v);
		NF_APPEND(*out, *n, c);
		sriov_pf_free(&pf);
	}
	for (size_t i = 0; i < d->nfwd_ifs && rc == 0; i++) {
		const char *dev = d->fwd_ifs[i];
		rc = sriov_vf_lookup(r->sysroot, dev, &pf, &v, e);
		if (rc == 0) {
			cand_from_vf(&c, &pf, v);
			sriov_pf_free(&pf);
		} else if ((rc == -ENOTSUP || rc == -ENODEV) &&
			   if_nametoindex(dev)) {
			/* not a VF: macvtap passthrough of the netdev */
			memset(&c, 0, sizeof(c));
			snprintf(c.key, sizeof(c.key), "%s", dev);
			snprintf(c.netdev, sizeof(c.netdev), "%s", dev);
			c.vf = c.group = -1;
			rc = 0;
		} else {
			break;
		}
		NF_APPEND(*out, *n, c);
	}
	if (rc < 0) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

/* The netdev's state as the kernel has it (VF netdevs included); a
 * netdev the kernel does not have reads as down. */
static bool netdev_state(const char *name, uint8_t mac[6], unsigned *mtu)
{
	bool up = false;
	memset(mac, 0, 6);
	*mtu = 0;
	if (name[0] && if_nametoindex(name))
		sriov_netdev_read("", name, mac, mtu, &up);
	return up;
}

/* Whether the host uses netdev beyond having it up (which libvirt and
 * oVirt's passthrough networks take over: its MAC and state are saved and
 * given back): an address on it, or a master (a bridge, a bond). what
 * says which. */
static bool host_uses(const char *netdev, char *what, size_t n)
{
	struct ifaddrs *all, *a;
	char path[512], master[256];
	snprintf(path, sizeof(path), "/sys/class/net/%s/master", netdev);
	ssize_t l = readlink(path, master, sizeof(master) - 1);
	if (l > 0) {
		master[l] = 0;
		snprintf(what, n, "it is a port of %s", basename(master));
		return true;
	}
	if (getifaddrs(&all) < 0)
		return false;
	bool used = false;
	for (a = all; a && !used; a = a->ifa_next) {
		if (!a->ifa_addr || strcmp(a->ifa_name, netdev))
			continue;
		int fam = a->ifa_addr->sa_family;
		const void *ad =
			fam == AF_INET
				? (const void *)&((struct sockaddr_in *)(void *)
							  a->ifa_addr)
					  ->sin_addr
				: (const void *)&(
					  (struct sockaddr_in6 *)(void *)
						  a->ifa_addr)
					  ->sin6_addr;
		if (fam != AF_INET &&
		    (fam != AF_INET6 || IN6_IS_ADDR_LINKLOCAL(ad)))
			continue; /* an up netdev has its link-local */
		char s[INET6_ADDRSTRLEN];
		inet_ntop(fam, ad, s, sizeof(s));
		snprintf(what, n, "it has the address %s", s);
		used = true;
	}
	freeifaddrs(all);
	return used;
}

static struct port *holder(struct registry *r, const char *key)
{
	for (size_t i = 0; i < r->nports; i++)
		if (!strcmp(r->ports[i]->dev, key))
			return r->ports[i];
	return NULL;
}

/* Whether c cannot be handed out now; why says why (code EADDRINUSE when
 * the host itself uses the device, EBUSY otherwise). */
static bool busy(struct registry *r, const struct cand *c, bool hostdev,
		 struct nf_err *why)
{
	uint8_t mac[6];
	unsigned mtu;
	char p[4096], use[128];
	struct nf_err e;
	struct port *h = holder(r, c->key);
	record_path(r, c->key, p, sizeof(p));
	struct sriov_vf v = {.iommu_group = c->group};
	snprintf(v.pci, sizeof(v.pci), "%s", c->pci);
	if (h)
		nf_errf(why, EBUSY, "%s is held by port %s", c->key,
			h->name[0] ? h->name : h->tap);
	else if (access(p, F_OK) == 0)
		nf_errf(why, EBUSY, "%s has an allocation record (%s)", c->key,
			p);
	else if (hostdev && !strcmp(c->driver, "vfio-pci"))
		nf_errf(why, EBUSY, "%s is bound to vfio-pci by someone else",
			c->key);
	else if (!hostdev && !c->netdev[0])
		nf_errf(why, EBUSY,
			"VF %s has no netdev (no host driver bound) for a "
			"passthrough macvtap",
			c->key);
	else if (!hostdev && !if_nametoindex(c->netdev))
		nf_errf(why, EBUSY,
			"%s: its netdev %s is not in this namespace", c->key,
			c->netdev);
	else if (hostdev ? netdev_state(c->netdev, mac, &mtu)
			 : host_uses(c->netdev, use, sizeof(use)))
		nf_errf(why, EADDRINUSE, "%s%s%s is in use by the host (%s)",
			c->key, strcmp(c->key, c->netdev) ? " netdev " : "",
			strcmp(c->key, c->netdev) ? c->netdev : "",
			hostdev ? "its netdev is up" : use);
	else if (hostdev && sriov_group_check(r->sysroot, &v, &e) < 0)
		*why = e;
	else
		return false;
	return true;
}

int vfport_preflight(struct registry *r, const struct netdef *d,
		     struct nf_err *e)
{
	bool hostdev = d->mode == NETXML_FWD_HOSTDEV;
	char p[4096];
	struct nf_err why;
	struct cand *c;
	size_t n, nfree = 0;
	if (!d->fwd_pf && !d->nfwd_pcis && !d->nfwd_ifs)
		return nf_errf(e, EINVAL,
			       "network '%s' (mode %s) names no devices: give "
			       "<pf dev=...> or a device list",
			       d->name, netxml_fwd_name(d->mode));
	snprintf(p, sizeof(p), "%s/sys/bus/pci/drivers/vfio-pci", r->sysroot);
	if (hostdev && access(p, F_OK) < 0)
		return nf_errf(e, ENODEV,
			       "network '%s': the vfio-pci driver is not "
			       "loaded (modprobe vfio-pci)",
			       d->name);
	int rc = pool(r, d, &c, &n, e);
	if (rc < 0)
		return nf_err_prefix(e, "network '%s'", d->name);
	struct nf_buf b = {0};
	for (size_t i = 0; i < n; i++) {
		bool explicit = !d->fwd_pf;
		if (!busy(r, &c[i], hostdev, &why)) {
			nfree++;
		} else if (explicit && why.code == EADDRINUSE) {
			rc = nf_errf(e, EBUSY, "network '%s': %s", d->name,
				     why.msg);
			break;
		} else {
			nf_buf_printf(&b, "%s%s", b.len ? "; " : "", why.msg);
		}
	}
	if (rc == 0 && !nfree)
		rc = nf_errf(e, EBUSY, "network '%s': no free device: %s",
			     d->name, b.s ? b.s : "the pool is empty");
	nf_buf_free(&b);
	free(c);
	return rc;
}

/* ------------------------------------------------------------ records */

static json_t *vf_json(const struct vf_state *s)
{
	char mac[18];
	nf_mac_format(s->mac, mac);
	return json_pack("{s:s, s:i, s:i, s:i, s:b, s:b, s:i, s:i, s:i}", "mac",
			 mac, "vlan", (int)s->vlan, "qos", (int)s->qos,
			 "vlan_proto", (int)s->vlan_proto, "spoofchk",
			 s->spoofchk, "trust", s->trust, "link_state",
			 (int)s->link_state, "min_rate", (int)s->min_rate,
			 "max_rate", (int)s->max_rate);
}

static void vf_from_json(json_t *j, struct vf_state *s)
{
	memset(s, 0, sizeof(*s));
	const char *mac = json_string_value(json_object_get(j, "mac"));
	if (mac)
		nf_mac_parse(mac, s->mac);
#define U(f) s->f = (unsigned)json_integer_value(json_object_get(j, #f))
	U(vlan);
	U(qos);
	U(link_state);
	U(min_rate);
	U(max_rate);
#undef U
	s->vlan_proto =
		(uint16_t)json_integer_value(json_object_get(j, "vlan_proto"));
	s->spoofchk = json_is_true(json_object_get(j, "spoofchk"));
	s->trust = json_is_true(json_object_get(j, "trust"));
}

static const char *rstr(json_t *rec, const char *k)
{
	const char *v = json_string_value(json_object_get(rec, k));
	return v ? v : "";
}

/* One VF attribute change through the PF. */
static int vf_set(struct registry *r, const char *pf, int vf, unsigned what,
		  const struct vf_state *from, struct nf_err *e)
{
	struct vfnl *c = vf_channel(r, e);
	int idx = sriov_ifindex(r->sysroot, pf);
	if (!c)
		return -EIO;
	if (idx < 0)
		return nf_errf(e, ENODEV, "PF %s is gone", pf);
	struct vf_state s = *from;
	s.vf = (unsigned)vf;
	s.have = what;
	return vfnl_set(c, idx, &s, e);
}

/* Puts back what the record says was there, step by step; each step is
 * tried even when one before it failed. Deletes the record. */
static void restore(struct registry *r, json_t *rec, const char *key)
{
	enum port_kind kind = port_kind_parse(rstr(rec, "kind"));
	const char *pci = rstr(rec, "pci"), *pf = rstr(rec, "pf"),
		   *netdev = rstr(rec, "netdev"), *driver = rstr(rec, "driver"),
		   *tap = rstr(rec, "macvtap");
	int vf = (int)json_integer_value(json_object_get(rec, "vf"));
	struct vf_state o;
	struct nf_err e;
	char alias[128], p[4096];
	uint8_t mac[6];
	vf_from_json(json_object_get(rec, "original"), &o);
	bool vf_port = pf[0] && json_object_get(rec, "original");
	if (tap[0]) {
		macvtap_alias(r, key, alias, sizeof(alias));
		if (bridge_delete(r->br, tap, alias, &e) < 0)
			nf_err_log("%s", e.msg);
	}
	if (kind == PORT_HOSTDEV && sriov_unbind_vfio(r->sysroot, pci, &e) < 0)
		nf_err_log("%s", e.msg);
	int idx = vf_port ? sriov_ifindex(r->sysroot, pf) : -1;
	struct vfnl *ch = vf_port ? vf_channel(r, &e) : NULL;
	o.vf = (unsigned)vf;
	if (vf_port && idx < 0)
		nf_err_log("restoring VF %d of %s: the PF is gone", vf, pf);
	else if (ch && vfnl_restore(ch, idx, &o, &e) < 0)
		nf_err_log("%s: %s", pf, e.msg);
	else if (vf_port && !ch)
		nf_err_log("%s", e.msg);
	if (kind == PORT_MACVTAP && netdev[0] && if_nametoindex(netdev)) {
		bool plain = !vf_port;
		if (plain)
			nf_mac_parse(rstr(rec, "netdev_mac"), mac);
		unsigned mtu = (unsigned)json_integer_value(
			json_object_get(rec, "mtu"));
		int up = json_is_true(json_object_get(rec, "up"));
		if (bridge_link_set(r->br, netdev, plain ? mac : NULL,
				    plain ? mtu : 0, up, &e) < 0)
			nf_err_log("%s", e.msg);
	}
	if (kind == PORT_HOSTDEV && driver[0] && strcmp(driver, "vfio-pci") &&
	    sriov_reprobe(r->sysroot, pci, netdev, &e) < 0)
		nf_err_log("%s", e.msg);
	record_path(r, key, p, sizeof(p));
	unlink(p);
	nf_info("%s: %s given back%s%s", key, port_kind_name(kind),
		vf_port ? ", VF state restored" : "",
		kind == PORT_HOSTDEV ? ", host driver reprobed" : "");
}

/* ------------------------------------------------------- assignment */

/* A VF port being made: the PF driver applies a MAC with a VF reset,
 * which takes it up to seconds; meanwhile netd serves everyone else and
 * reads the MAC back on a timer (the set repeated every fourth read). */
struct vfjob {
	struct registry *r;
	struct port *p;
	struct cand c;
	json_t *rec;
	struct vf_state want; /* VLAN, rate: what the port asked for */
	bool hostdev;
	unsigned mtu;
	unsigned tries;
	vfport_done_fn done;
	void *ctx;
};

static int vf_mac_shown(struct vfjob *j, bool *shown, struct nf_err *e)
{
	struct vf_state now;
	int idx = sriov_ifindex(j->r->sysroot, j->c.pf), rc;
	if (j->tries % 4 == 0 &&
	    (rc = vf_set(j->r, j->c.pf, j->c.vf, VF_MAC, &j->want, e)) < 0)
		return rc;
	if ((rc = vfnl_get_vf(vf_channel(j->r, e), idx, (unsigned)j->c.vf, &now,
			      e)) < 0)
		return rc;
	*shown = !memcmp(now.mac, j->want.mac, 6);
	return 0;
}

/* After the MAC: spoof check, rate, link; then the device to the guest
 * (vfio-pci, or a passthrough macvtap on its netdev). */
static int vf_finish(struct vfjob *j, int *fds, unsigned *nfds,
		     struct nf_err *e)
{
	struct registry *r = j->r;
	struct cand *c = &j->c;
	struct port *p = j->p;
	char alias[128];
	int rc = 0;
	if (c->vf >= 0 &&
	    ((rc = vf_set(r, c->pf, c->vf, VF_SPOOFCHK, &j->want, e)) < 0 ||
	     (j->want.max_rate &&
	      (rc = vf_set(r, c->pf, c->vf, VF_RATE, &j->want, e)) < 0) ||
	     (rc = vf_set(r, c->pf, c->vf, VF_LINK, &j->want, e)) < 0))
		return nf_err_prefix(e, "VF %d of %s", c->vf, c->pf);
	if (j->hostdev) {
		struct sriov_vf v = {.iommu_group = c->group};
		snprintf(v.pci, sizeof(v.pci), "%s", c->pci);
		rc = sriov_group_check(r->sysroot, &v, e);
		return rc < 0 ? rc : sriov_bind_vfio(r->sysroot, &v, e);
	}
	macvtap_alias(r, c->key, alias, sizeof(alias));
	if ((rc = bridge_link_set(r->br, c->netdev, NULL, 0, 1, e)) == 0 &&
	    (rc = bridge_macvtap_create(r->br, c->netdev, p->tap, alias, e)) ==
		    0 &&
	    (rc = tap_open_macvtap(p->tap, p->queues, r->run_dir, fds, e)) == 0)
		*nfds = p->queues;
	return rc;
}

/* Ends a job: the allocation recorded, or everything undone; the port's
 * owner told either way. */
static void vf_end(struct vfjob *j, int rc, struct nf_err *e)
{
	int fds[TAP_MAX_QUEUES];
	unsigned nfds = 0;
	if (rc == 0)
		rc = vf_finish(j, fds, &nfds, e);
	json_object_set_new(j->rec, "stage", json_string("assigned"));
	if (rc == 0 && (rc = save_record(j->r, j->c.key, j->rec, e)) < 0) {
		for (unsigned i = 0; i < nfds; i++)
			close(fds[i]);
		nfds = 0;
	}
	if (rc < 0)
		restore(j->r, j->rec, j->c.key);
	json_decref(j->rec);
	j->done(j->r, j->p, rc, fds, nfds, e, j->ctx);
	free(j);
}

static void vf_poll(void *ctx)
{
	struct vfjob *j = ctx;
	struct nf_err e = {0};
	bool shown = false;
	int rc = vf_mac_shown(j, &shown, &e);
	if (rc == 0 && !shown && ++j->tries < 12) {
		nf_debug("VF %d of %s: MAC not shown yet (try %u)", j->c.vf,
			 j->c.pf, j->tries);
		loop_after(20u << (j->tries < 5 ? j->tries - 1 : 4), vf_poll,
			   j);
		return;
	}
	if (rc == 0 && !shown)
		rc = nf_errf(&e, EIO,
			     "VF %d of %s does not take MAC %02x:..:%02x",
			     j->c.vf, j->c.pf, j->want.mac[0], j->want.mac[5]);
	vf_end(j,
	       rc < 0 ? nf_err_prefix(&e, "VF %d of %s", j->c.vf, j->c.pf) : 0,
	       &e);
}

/* The port's VLAN: its own (vlan/vlan_proto args), else its portgroup's
 * or the network's. */
static int port_vlan(const struct network *n, json_t *args, unsigned *tag,
		     uint16_t *proto, struct nf_err *e)
{
	const char *pg = json_string_value(json_object_get(args, "portgroup")),
		   *pr = json_string_value(json_object_get(args, "vlan_proto"));
	json_t *v = json_object_get(args, "vlan");
	int rc = netxml_vlan(n->live, pg, tag, e);
	if (rc < 0)
		return rc;
	if (v) {
		json_int_t t = json_integer_value(v);
		if (!json_is_integer(v) || t < 1 || t > 4094)
			return nf_errf(e, EINVAL, "vlan must be 1..4094");
		*tag = (unsigned)t;
	}
	*proto = 0x8100;
	if (pr && !strcasecmp(pr, "802.1ad"))
		*proto = 0x88a8;
	else if (pr && strcasecmp(pr, "802.1Q"))
		return nf_errf(e, EINVAL,
			       "vlan_proto '%s': give 802.1Q or 802.1ad", pr);
	return 0;
}

/* 1. a free device of the pool (*all: the pool, freed by the caller) */
static struct cand *pick(struct registry *r, const struct netdef *d,
			 struct cand **all, struct nf_err *e)
{
	bool hostdev = d->mode == NETXML_FWD_HOSTDEV;
	struct nf_err why;
	struct nf_buf b = {0};
	struct cand *c = NULL;
	size_t n;
	if (pool(r, d, all, &n, e) < 0) {
		nf_err_prefix(e, "network '%s'", d->name);
		return NULL;
	}
	for (size_t i = 0; i < n && !c; i++)
		if (!busy(r, &(*all)[i], hostdev, &why))
			c = &(*all)[i];
		else
			nf_buf_printf(&b, "%s%s", b.len ? "; " : "", why.msg);
	if (!c)
		nf_errf(e, EBUSY, "network '%s' has no free %s: %s", d->name,
			hostdev ? "VF" : "device",
			b.s ? b.s : "its pool is empty");
	nf_buf_free(&b);
	return c;
}

/* 2. the device's original state, as the record that is persisted
 * before anything changes; NULL when the VF cannot be read. */
static json_t *original(struct registry *r, const struct netdef *d,
			const struct port *p, const struct cand *c,
			struct nf_err *e)
{
	bool hostdev = d->mode == NETXML_FWD_HOSTDEV;
	uint8_t mac0[6];
	unsigned mtu0;
	bool up0 = netdev_state(c->netdev, mac0, &mtu0);
	char smac[18], u[37];
	nf_mac_format(mac0, smac);
	nf_uuid_format(p->uuid, u);
	json_t *rec = json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:s, s:i, s:b, s:s, "
		"s:s, s:i, s:s}",
		"kind", port_kind_name(hostdev ? PORT_HOSTDEV : PORT_MACVTAP),
		"network", d->name, "port", u, "pci", c->pci, "pf", c->pf,
		"netdev", c->netdev, "vf", c->vf, "iommu_group", c->group,
		"driver", c->driver, "mtu", (int)mtu0, "up", up0, "netdev_mac",
		smac, "name", p->name, "owner_pid", p->owner_pid, "stage",
		"saved");
	if (c->vf < 0)
		return rec;
	struct vf_state o;
	struct vfnl *ch = vf_channel(r, e);
	int idx = sriov_ifindex(r->sysroot, c->pf);
	if (!ch || idx < 0 ||
	    vfnl_get_vf(ch, idx, (unsigned)c->vf, &o, e) < 0) {
		if (idx < 0)
			nf_errf(e, ENODEV, "PF %s has no ifindex", c->pf);
		nf_err_prefix(e, "cannot read VF %d of %s", c->vf, c->pf);
		json_decref(rec);
		return NULL;
	}
	json_object_set_new(rec, "original", vf_json(&o));
	return rec;
}

/* 3. the VF's attributes through the PF (or a plain netdev's MAC); the
 * job ends through j->done, now or later. */
static void vf_begin(struct vfjob *j, const struct netdef *d)
{
	struct registry *r = j->r;
	const struct cand *c = &j->c;
	struct nf_err e = {0};
	int rc;
	if (c->vf < 0) {
		rc = bridge_link_set(r->br, c->netdev, j->want.mac, d->mtu, -1,
				     &e);
		vf_end(j, rc, &e);
	} else if ((rc = vf_set(r, c->pf, c->vf, VF_VLAN, &j->want, &e)) < 0 ||
		   (rc = vf_set(r, c->pf, c->vf, VF_TRUST, &j->want, &e)) < 0) {
		vf_end(j, nf_err_prefix(&e, "VF %d of %s", c->vf, c->pf), &e);
	} else {
		vf_poll(j);
	}
}

int vfport_create(struct registry *r, struct network *n, struct port *p,
		  json_t *args, vfport_done_fn done, void *ctx,
		  struct nf_err *e)
{
	const struct netdef *d = &n->live->def;
	bool hostdev = d->mode == NETXML_FWD_HOSTDEV;
	struct cand *all = NULL, *c;
	unsigned vlan = 0, rate = 0;
	uint16_t proto;
	int rc = 0;
	json_t *rt = json_object_get(args, "rate"), *rec = NULL;
	if (rt && (!json_is_integer(rt) || json_integer_value(rt) < 0))
		return nf_errf(e, EINVAL, "rate is a number of Mbit/s");
	rate = (unsigned)json_integer_value(rt);
	if ((rc = port_vlan(n, args, &vlan, &proto, e)) < 0)
		return rc;
	if (!(c = pick(r, d, &all, e)))
		rc = -e->code;
	else if (c->vf < 0 && (vlan || rate))
		rc = nf_errf(e, ENOTSUP,
			     "%s is not an SR-IOV VF: it cannot carry a VLAN "
			     "tag or rate limit for the guest",
			     c->netdev);
	else if (!(rec = original(r, d, p, c, e)))
		rc = -e->code;
	if (rc < 0)
		goto out;
	if (!hostdev) {
		nf_random_name("nfm", p->tap, sizeof(p->tap));
		json_object_set_new(rec, "macvtap", json_string(p->tap));
	}
	snprintf(p->dev, sizeof(p->dev), "%s", c->key);
	p->kind = hostdev ? PORT_HOSTDEV : PORT_MACVTAP;
	snprintf(p->lower, sizeof(p->lower), "%s", c->netdev);
	snprintf(p->pci, sizeof(p->pci), "%s", c->pci);
	p->iommu_group = c->group;
	if ((rc = save_record(r, c->key, rec, e)) < 0) {
		json_decref(rec);
		goto out;
	}
	struct vfjob *j = nf_xcalloc(1, sizeof(*j));
	*j = (struct vfjob){.r = r,
			    .p = p,
			    .c = *c,
			    .rec = rec,
			    .hostdev = hostdev,
			    .done = done,
			    .ctx = ctx,
			    .want = {.vlan = vlan,
				     .vlan_proto = proto,
				     .trust = false,
				     .spoofchk = true,
				     .max_rate = rate,
				     .link_state = IFLA_VF_LINK_STATE_AUTO}};
	nf_mac_parse(p->mac, j->want.mac);
	vf_begin(j, d);
out:
	free(all);
	return rc;
}

void vfport_release(struct registry *r, struct port *p)
{
	json_t *rec = p->dev[0] ? load_record(r, p->dev) : NULL;
	char u[37];
	nf_uuid_format(p->uuid, u);
	if (rec && !strcmp(rstr(rec, "port"), u))
		restore(r, rec, p->dev);
	json_decref(rec);
}

bool vfport_alive(struct registry *r, const struct port *p)
{
	char alias[256], want[128];
	if (!p->persist && (p->owner_pid <= 0 ||
			    (kill(p->owner_pid, 0) < 0 && errno == ESRCH)))
		return false;
	if (p->kind != PORT_MACVTAP)
		return true;
	macvtap_alias(r, p->dev, want, sizeof(want));
	return bridge_get_alias(r->br, p->tap, alias, sizeof(alias)) == 0 &&
	       !strcmp(alias, want);
}

static void recover_record(const char *key, const char *path, void *ctx)
{
	struct registry *r = ctx;
	json_t *rec;
	if (holder(r, key) || !(rec = nf_json_read(path)))
		return;
	nf_warn("%s was left assigned (port %s, stage %s); restoring it", key,
		rstr(rec, "port"), rstr(rec, "stage"));
	restore(r, rec, key);
	json_decref(rec);
}

void vfport_recover(struct registry *r)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/vfs", r->state_dir);
	nf_dir_each(dir, ".json", NULL, recover_record, r);
}

/* ------------------------------------------------------------ sriov-* */

static const char *link_name(unsigned s)
{
	return s == IFLA_VF_LINK_STATE_AUTO	? "auto"
	       : s == IFLA_VF_LINK_STATE_ENABLE ? "enable"
						: "disable";
}

int sriov_list(struct registry *r, struct request *q, json_t *args,
	       json_t **res, struct nf_err *e)
{
	(void)q;
	const char *want = json_string_value(json_object_get(args, "pf"));
	struct sriov_pf *pfs = NULL, one;
	size_t n = 0;
	int rc = want ? sriov_pf_read(r->sysroot, want, &one, e)
		      : sriov_pf_list(r->sysroot, &pfs, &n, e);
	if (rc < 0)
		return rc;
	if (want) {
		pfs = nf_xmalloc(sizeof(*pfs));
		pfs[0] = one;
		n = 1;
	}
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		static struct vf_state st[256];
		size_t nst = 0;
		struct nf_err w;
		struct vfnl *ch = pfs[i].nvfs ? vf_channel(r, &w) : NULL;
		int idx = sriov_ifindex(r->sysroot, pfs[i].name);
		if (ch && (idx < 0 || vfnl_get(ch, idx, st, NF_ARRAY_SIZE(st),
					       &nst, &w) < 0)) {
			nf_debug("%s: no VF attributes: %s", pfs[i].name,
				 idx < 0 ? "no ifindex" : w.msg);
			nst = 0;
		}
		json_t *vfs = json_array();
		for (size_t k = 0; k < pfs[i].nvfs; k++) {
			const struct sriov_vf *v = &pfs[i].vfs[k];
			struct port *h = holder(r, v->pci);
			json_t *j = json_pack("{s:i, s:s, s:s, s:s, s:i}",
					      "index", (int)v->index, "pci",
					      v->pci, "netdev", v->netdev,
					      "driver", v->driver,
					      "iommu_group", v->iommu_group);
			for (size_t s = 0; s < nst && s < NF_ARRAY_SIZE(st);
			     s++) {
				if (st[s].vf != v->index)
					continue;
				json_object_update_new(j, vf_json(&st[s]));
				json_object_set_new(j, "link",
						    json_string(link_name(
							    st[s].link_state)));
			}
			if (h) {
				char u[37];
				nf_uuid_format(h->uuid, u);
				json_object_set_new(j, "port", json_string(u));
				json_object_set_new(j, "port_name",
						    json_string(h->name));
			}
			json_array_append_new(vfs, j);
		}
		json_array_append_new(
			a, json_pack("{s:s, s:s, s:s, s:i, s:i, s:o}", "pf",
				     pfs[i].name, "pci", pfs[i].pci, "driver",
				     pfs[i].driver, "totalvfs",
				     (int)pfs[i].totalvfs, "numvfs",
				     (int)pfs[i].numvfs, "vfs", vfs));
		sriov_pf_free(&pfs[i]);
	}
	free(pfs);
	*res = a;
	return 0;
}

int sriov_numvfs(struct registry *r, struct request *q, json_t *args,
		 json_t **res, struct nf_err *e)
{
	(void)q;
	const char *pfname = json_string_value(json_object_get(args, "pf"));
	json_t *jn = json_object_get(args, "numvfs");
	struct sriov_pf pf;
	if (!pfname || !json_is_integer(jn) || json_integer_value(jn) < 0)
		return nf_errf(e, EINVAL, "give a PF and a VF count (>= 0)");
	int rc = sriov_pf_read(r->sysroot, pfname, &pf, e);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < pf.nvfs && rc == 0; i++) {
		struct port *h = holder(r, pf.vfs[i].pci);
		if (h)
			rc = nf_errf(e, EBUSY,
				     "VF %u (%s) of %s is assigned to port "
				     "%s; delete its ports first",
				     pf.vfs[i].index, pf.vfs[i].pci, pfname,
				     h->name[0] ? h->name : h->dev);
	}
	if (rc == 0)
		rc = sriov_set_numvfs(r->sysroot, &pf,
				      (unsigned)json_integer_value(jn), e);
	if (rc == 0) {
		*res = json_pack("{s:s, s:i, s:i}", "pf", pfname, "from",
				 (int)pf.numvfs, "numvfs",
				 (int)json_integer_value(jn));
		nf_info("%s: %u -> %d VFs", pfname, pf.numvfs,
			(int)json_integer_value(jn));
	}
	sriov_pf_free(&pf);
	return rc;
}
