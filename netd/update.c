/* net-update: libvirt's command, sections and flags, applied live without
 * restarting what does not need it. Hosts and DNS names: hostsfile /
 * addn-hosts rewritten and dnsmasq SIGHUPed (leases kept, no firewall
 * rebuild), pinned ports re-guarded in the same step. Ranges, TXT and SRV
 * records: dnsmasq restarted with its new config (leases kept). Forward
 * interfaces: the network's tables replaced in one batch. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "network.h"
#include "update.h"
#include "dhcpspec.h"
#include "foreign.h"
#include "lifecycle.h"
#include "port.h"

/* Ports a host entry touches: by its MAC, or pinned to its address. */
static bool touches(const struct port *p, const char *mac, const char *ip)
{
	struct nf_addr a;
	if (mac) {
		uint8_t m[6];
		char norm[18];
		if (nf_mac_parse(mac, m) == 0) {
			nf_mac_format(m, norm);
			if (!strcmp(norm, p->mac))
				return true;
		}
	}
	return ip && nf_addr_parse(ip, &a) == 0 && !nf_addr_cmp(&a, &p->ip);
}

static int apply_live(struct registry *r, struct network *n,
		      enum netxml_section sec, const char *xml,
		      struct nf_err *e)
{
	int rc = 0;
	switch (sec) {
	case NETXML_SEC_IP_DHCP_HOST: {
		/* the entry's MAC and IP (it parsed already; lenient as a
		 * delete may give only one of them) */
		xmlDocPtr d = NULL;
		struct nf_err ignore;
		netxml_parse_fragment(sec, xml, strlen(xml), false, &d,
				      &ignore);
		xmlNodePtr h = d ? xmlDocGetRootElement(d) : NULL;
		xmlChar *mac = h ? xmlGetProp(h, (const xmlChar *)"mac") : NULL,
			*ip = h ? xmlGetProp(h, (const xmlChar *)"ip") : NULL;
		for (size_t i = 0; i < r->nports && rc == 0; i++)
			if (!strcmp(r->ports[i]->network, network_name(n)) &&
			    touches(r->ports[i], (const char *)mac,
				    (const char *)ip))
				rc = port_repin(r, n, r->ports[i], e);
		xmlFree(mac);
		xmlFree(ip);
		xmlFreeDoc(d);
	}
		/* fall through */
	case NETXML_SEC_DNS_HOST:
		if (rc == 0)
			rc = network_reload_hosts(r, n, e);
		break;
	case NETXML_SEC_IP_DHCP_RANGE: /* the guard knows the ranges too */
		rc = network_restart_dnsmasq(r, n, e);
		if (rc == 0)
			rc = network_refirewall(r, n, e);
		break;
	case NETXML_SEC_DNS_TXT:
	case NETXML_SEC_DNS_SRV: rc = network_restart_dnsmasq(r, n, e); break;
	case NETXML_SEC_FORWARD_INTERFACE:
		rc = network_refirewall(r, n, e);
		break;
	case NETXML_SEC_PORTGROUP: break;
	}
	return rc < 0 ? rc : network_save_live(r, n, e);
}

/* After an in-place change of the running network's host c: ports it
 * touches re-guarded; the hostsfile's one line edited (written whole
 * when a port's pin changed with it, or the line is not found); the
 * running XML saved. */
static bool touches_host(const struct port *p, const struct netxml_host *h)
{
	return h && ((h->mac && !strcmp(h->mac, p->mac)) ||
		     !nf_addr_cmp(&h->ip, &p->ip));
}

static int live_here(struct registry *r, struct network *n,
		     const struct netxml_change *c, struct nf_err *e)
{
	const struct netxml_host *gone = netxml_change_gone(c),
				 *put = netxml_change_put(c);
	bool whole = false;
	int rc = 0;
	for (size_t i = 0; i < r->nports && rc == 0; i++) {
		struct port *p = r->ports[i];
		if (!strcmp(p->network, network_name(n)) &&
		    (touches_host(p, gone) || touches_host(p, put))) {
			whole = true; /* its pin line may come or go */
			rc = port_repin(r, n, p, e);
		}
	}
	if (rc == 0 && n->has_dnsmasq && !whole) {
		struct dhcp_files f;
		struct dhcp_host g = gone ? dhcpspec_host(gone)
					  : (struct dhcp_host){0},
				 h = put ? dhcpspec_host(put)
					 : (struct dhcp_host){0};
		network_files(r, n, &f);
		rc = dhcp_hosts_change(&f, netxml_change_family(c) == AF_INET,
				       gone ? &g : NULL, put ? &h : NULL,
				       n->dnsmasq_pid, &n->log, e);
		whole = rc == -ENOENT;
	}
	if (whole)
		rc = network_reload_hosts(r, n, e);
	return rc < 0 ? rc : network_save_live(r, n, e);
}

/* The update made in place on the running network and the definition,
 * where netxml_update_here can (see there): -EAGAIN, nothing changed,
 * where it cannot. */
static int update_here(struct registry *r, struct network *n, int sec, int cmd,
		       int parent, const char *xml, bool live, bool config,
		       struct nf_err *e)
{
	struct netxml_change *cl = NULL, *cc = NULL;
	int rl = 1, rd = 1, rc;
	if (live &&
	    (rl = netxml_update_here(n->live, sec, cmd, parent, xml, &cl)) < 0)
		return rl;
	if (config &&
	    (rd = netxml_update_here(n->def, sec, cmd, parent, xml, &cc)) < 0) {
		netxml_change_revert(n->live, cl);
		return rd;
	}
	if (cc && (rc = store_save(&r->config, n->def, e)) < 0) {
		netxml_change_revert(n->def, cc);
		netxml_change_revert(n->live, cl);
		return rc == -EAGAIN ? -EIO : rc; /* not "try the other way" */
	}
	netxml_change_keep(cc);
	if (cl && (rc = live_here(r, n, cl, e)) < 0) {
		/* put the old one back in force */
		struct nf_err ignore;
		netxml_change_revert(n->live, cl);
		apply_live(r, n, sec, xml, &ignore);
		return rc;
	}
	netxml_change_keep(cl);
	return rl == 0 || rd == 0 ? 0 : 1;
}

/* What --live, --config and neither (--current: the running network if
 * active, else the definition) mean for n; an error when n lacks one. */
static int targets(const struct network *n, const char *net, bool *live,
		   bool *config, struct nf_err *e)
{
	if (!*live && !*config) { /* --current */
		*live = n->live != NULL;
		*config = !*live;
	}
	if (*live && !n->live)
		return nf_errf(e, EINVAL,
			       "network '%s' is not active: --live has "
			       "nothing to change (use --config)",
			       net);
	if (*config && !n->def)
		return nf_errf(e, EINVAL,
			       "network '%s' is transient: it has no "
			       "definition for --config",
			       net);
	return 0;
}

int net_update(struct registry *r, struct request *q, json_t *args,
	       json_t **res, struct nf_err *e)
{
	(void)q;
	const char *net = json_string_value(json_object_get(args, "network")),
		   *cmd = json_string_value(json_object_get(args, "command")),
		   *sname = json_string_value(json_object_get(args, "section")),
		   *xml = json_string_value(json_object_get(args, "xml"));
	json_t *pi = json_object_get(args, "parent_index");
	int parent = pi ? (int)json_integer_value(pi) : -1;
	bool live = json_is_true(json_object_get(args, "live")),
	     config = json_is_true(json_object_get(args, "config"));
	struct netxml *nl = NULL, *nc = NULL;
	int rc, changed = 0;

	if (!net || !cmd || !sname || !xml)
		return nf_errf(e, EINVAL,
			       "net-update needs network, command, section and "
			       "xml");
	struct network *n = registry_find(r, net);
	if (!n)
		return registry_unknown(r, net, e);
	int sec = netxml_section_from_name(sname);
	if (sec < 0)
		return nf_errf(e, EINVAL,
			       "unknown section '%s'; sections: ip-dhcp-host, "
			       "ip-dhcp-range, dns-host, dns-txt, dns-srv, "
			       "portgroup, forward-interface",
			       sname);
	int c = netxml_update_cmd_from_name(cmd);
	if (c < 0)
		return nf_errf(e, EINVAL,
			       "unknown command '%s'; commands: add, "
			       "add-first, add-last, delete, modify",
			       cmd);
	if (targets(n, net, &live, &config, e) < 0)
		return -EINVAL;
	rc = update_here(r, n, sec, c, parent, xml, live, config, e);
	if (rc >= 0) {
		changed = rc == 0;
		goto done;
	}
	if (rc != -EAGAIN)
		return rc;
	/* both results first: if either refuses, nothing changes */
	if (live) {
		rc = netxml_update(n->live, sec, c, parent, xml, &nl, e);
		if (rc < 0)
			goto fail;
		changed |= rc == 0;
	}
	if (config) {
		rc = netxml_update(n->def, sec, c, parent, xml, &nc, e);
		if (rc < 0)
			goto fail;
		changed |= rc == 0;
	}
	if (nc) {
		if ((rc = store_save(&r->config, nc, e)) < 0)
			goto fail;
		netxml_free(n->def);
		n->def = nc;
		nc = NULL;
	}
	if (nl) {
		struct netxml *old = n->live;
		n->live = nl;
		nl = NULL;
		rc = apply_live(r, n, sec, xml, e);
		if (rc < 0) {
			/* put the old one back in force */
			struct netxml *bad = n->live;
			struct nf_err ignore;
			n->live = old;
			apply_live(r, n, sec, xml, &ignore);
			netxml_free(bad);
			goto fail;
		}
		netxml_free(old);
	}
done:
	nf_info("network '%s': net-update %s %s%s%s", net, cmd, sname,
		live ? " --live" : "", config ? " --config" : "");
	*res = json_pack("{s:s, s:b, s:b, s:b}", "network", net, "changed",
			 changed, "live", live, "config", config);
	return 0;
fail:
	netxml_free(nl);
	netxml_free(nc);
	return rc;
}

int net_metadata(struct registry *r, struct request *q, json_t *args,
		 json_t **res, struct nf_err *e)
{
	(void)q;
	static const char *const kinds[] = {[NETXML_TITLE] = "title",
					    [NETXML_DESCRIPTION] =
						    "description",
					    [NETXML_METADATA] = "metadata"};
	const char *net = nf_json_str(args, "network"),
		   *kind = nf_json_str(args, "kind"),
		   *text = nf_json_str(args, "text"), /* absent: remove */
			   *uri = nf_json_str(args, "uri"),
		   *key = nf_json_str(args, "key");
	bool live = json_is_true(json_object_get(args, "live")),
	     config = json_is_true(json_object_get(args, "config"));
	int what = -1;
	for (int i = 0; kind && i < (int)NF_ARRAY_SIZE(kinds); i++)
		if (!strcmp(kind, kinds[i]))
			what = i;
	if (!net || what < 0)
		return nf_errf(e, EINVAL,
			       "net-metadata needs a network and a kind "
			       "(title, description or metadata)");
	struct network *n = registry_find(r, net);
	if (!n)
		return registry_unknown(r, net, e);
	if (targets(n, net, &live, &config, e) < 0)
		return -EINVAL;
	struct netxml *nl = NULL, *nc = NULL;
	/* both first: if either refuses, nothing changes */
	if ((live &&
	     netxml_set_meta(n->live, what, text, uri, key, &nl, e) < 0) ||
	    (config &&
	     netxml_set_meta(n->def, what, text, uri, key, &nc, e) < 0) ||
	    (nc && store_save(&r->config, nc, e) < 0)) {
		netxml_free(nl);
		netxml_free(nc);
		return -EINVAL;
	}
	if (nc) {
		netxml_free(n->def);
		n->def = nc;
	}
	if (nl) {
		enum netxml_foreign before = n->live->def.foreign;
		netxml_free(n->live);
		n->live = nl;
		if (network_save_live(r, n, e) < 0)
			return -EIO;
		if (n->live->def.foreign != before)
			foreign_repolicy(r, n);
	}
	nf_info("network '%s': %s %s%s%s", net, kind, text ? "set" : "removed",
		live ? " --live" : "", config ? " --config" : "");
	*res = json_pack("{s:s, s:b, s:b}", "network", net, "live", live,
			 "config", config);
	return 0;
}
