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
