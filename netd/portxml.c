/* libvirt's network port XML: parse and format (portxml.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "portxml.h"

static const char *const vport_keys[6] = {"managerid",	   "typeid",
					  "typeidversion", "instanceid",
					  "profileid",	   "interfaceid"};

static bool is(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE &&
	       !strcmp((const char *)n->name, name);
}

/* an attribute's value ("" when absent, into buf) */
static const char *attr(xmlNodePtr n, const char *name, char *buf, size_t len)
{
	xmlChar *v = xmlGetProp(n, BAD_CAST name);
	snprintf(buf, len, "%s", v ? (const char *)v : "");
	xmlFree(v);
	return buf;
}

static int perr(struct nf_err *e, xmlNodePtr n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int perr(struct nf_err *e, xmlNodePtr n, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return nf_errf(e, EINVAL, "line %ld: <%s>: %s", xmlGetLineNo(n),
		       (const char *)n->name, msg);
}

/* n has only the attributes allowed ("a b c") */
static int only_attrs(xmlNodePtr n, const char *allowed, struct nf_err *e)
{
	for (xmlAttrPtr a = n->properties; a; a = a->next) {
		const char *nm = (const char *)a->name, *p = allowed;
		size_t l = strlen(nm);
		bool ok = false;
		while (*p && !ok) {
			size_t w = strcspn(p, " ");
			ok = w == l && !strncmp(p, nm, l);
			p += w + (p[w] == ' ');
		}
		if (!ok)
			return perr(e, n, "no attribute %s= (it takes: %s)", nm,
				    *allowed ? allowed : "none");
	}
	return 0;
}

static int yesno(xmlNodePtr n, const char *name, int *out, struct nf_err *e)
{
	char v[16];
	attr(n, name, v, sizeof(v));
	if (!*v)
		return 0;
	if (strcmp(v, "yes") && strcmp(v, "no"))
		return perr(e, n, "%s='%s': yes or no", name, v);
	*out = !strcmp(v, "yes");
	return 0;
}

/* a number attribute, written back as libvirt does ("%llu") */
static int number(xmlNodePtr n, const char *name, char *out, size_t len,
		  struct nf_err *e)
{
	char v[64], *end;
	attr(n, name, v, sizeof(v));
	out[0] = 0;
	if (!*v)
		return 0;
	errno = 0;
	unsigned long long x = strtoull(v, &end, 10);
	if (*end || errno || v[0] == '-')
		return perr(e, n, "%s='%s' is not a number", name, v);
	snprintf(out, len, "%llu", x);
	return 0;
}

static int text_of(xmlNodePtr n, char *out, size_t len, struct nf_err *e)
{
	xmlChar *t = xmlNodeGetContent(n);
	size_t l = t ? strlen((const char *)t) : 0;
	if (l >= len) {
		xmlFree(t);
		return perr(e, n, "longer than %zu characters", len - 1);
	}
	snprintf(out, len, "%s", t ? (const char *)t : "");
	xmlFree(t);
	return 0;
}

static int uuid_of(xmlNodePtr n, uint8_t u[16], struct nf_err *e)
{
	char t[64];
	if (text_of(n, t, sizeof(t), e) < 0)
		return -1;
	if (nf_uuid_parse(t, u) < 0)
		return perr(e, n, "'%s' is not a UUID", t);
	return 0;
}

static int p_owner(xmlNodePtr n, struct portxml *p, struct nf_err *e)
{
	for (xmlNodePtr c = n->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (is(c, "name")) {
			if (text_of(c, p->owner_name, sizeof(p->owner_name),
				    e) < 0)
				return -1;
		} else if (is(c, "uuid")) {
			if (uuid_of(c, p->owner_uuid, e) < 0)
				return -1;
			p->has_owner_uuid = true;
		} else {
			return perr(e, c,
				    "not in <owner> (it takes name, uuid)");
		}
	}
	if (!p->owner_name[0])
		return perr(e, n, "needs a <name>");
	return 0;
}

static int p_rate(xmlNodePtr n, struct portxml_rate *r, struct nf_err *e)
{
	if (only_attrs(n, "average peak floor burst", e) < 0 ||
	    number(n, "average", r->average, sizeof(r->average), e) < 0 ||
	    number(n, "peak", r->peak, sizeof(r->peak), e) < 0 ||
	    number(n, "floor", r->floor, sizeof(r->floor), e) < 0 ||
	    number(n, "burst", r->burst, sizeof(r->burst), e) < 0)
		return -1;
	return 0;
}

static int p_bandwidth(xmlNodePtr n, struct portxml *p, struct nf_err *e)
{
	if (only_attrs(n, "classID", e) < 0 ||
	    number(n, "classID", p->class_id, sizeof(p->class_id), e) < 0)
		return -1;
	p->has_bandwidth = true;
	for (xmlNodePtr c = n->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		bool in = is(c, "inbound");
		if (!in && !is(c, "outbound"))
			return perr(e, c,
				    "not in <bandwidth> (it takes inbound, "
				    "outbound)");
		if (p_rate(c, in ? &p->in : &p->out, e) < 0)
			return -1;
		*(in ? &p->has_in : &p->has_out) = true;
	}
	return 0;
}

static int p_vlan(xmlNodePtr n, struct portxml *p, struct nf_err *e)
{
	int trunk = -1;
	char v[32];
	if (only_attrs(n, "trunk", e) < 0 || yesno(n, "trunk", &trunk, e) < 0)
		return -1;
	for (xmlNodePtr c = n->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (!is(c, "tag"))
			return perr(e, c, "not in <vlan> (it takes tag)");
		if (only_attrs(c, "id nativeMode", e) < 0)
			return -1;
		char *end;
		unsigned long id =
			strtoul(attr(c, "id", v, sizeof(v)), &end, 10);
		if (!v[0] || *end || id > 4095)
			return perr(e, c, "id='%s': a VLAN tag is 0 to 4095",
				    v);
		if (p->ntags == PORTXML_MAX_TAGS)
			return perr(e, c, "more than %d tags",
				    PORTXML_MAX_TAGS);
		attr(c, "nativeMode", p->native[p->ntags],
		     sizeof(p->native[0]));
		const char *nm = p->native[p->ntags];
		if (*nm && strcmp(nm, "tagged") && strcmp(nm, "untagged"))
			return perr(e, c, "nativeMode='%s': tagged or untagged",
				    nm);
		p->tags[p->ntags++] = (unsigned)id;
	}
	if (!p->ntags)
		return perr(e, n, "needs a <tag>");
	if (trunk == 0 && p->ntags > 1)
		return perr(e, n, "trunk='no' with more than one tag");
	p->trunk = trunk == 1 || p->ntags > 1;
	return 0;
}

static int p_virtualport(xmlNodePtr n, struct portxml *p, struct nf_err *e)
{
	if (only_attrs(n, "type", e) < 0)
		return -1;
	attr(n, "type", p->vport_type, sizeof(p->vport_type));
	if (strcmp(p->vport_type, "802.1Qbg") &&
	    strcmp(p->vport_type, "802.1Qbh") &&
	    strcmp(p->vport_type, "openvswitch") &&
	    strcmp(p->vport_type, "midonet"))
		return perr(e, n,
			    "type='%s': 802.1Qbg, 802.1Qbh, openvswitch or "
			    "midonet",
			    p->vport_type);
	for (xmlNodePtr c = n->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (!is(c, "parameters"))
			return perr(e, c,
				    "not in <virtualport> (it takes "
				    "parameters)");
		if (only_attrs(c,
			       "managerid typeid typeidversion instanceid "
			       "profileid interfaceid",
			       e) < 0)
			return -1;
		for (int i = 0; i < 6; i++)
			attr(c, vport_keys[i], p->vport_params[i],
			     sizeof(p->vport_params[i]));
	}
	return 0;
}

/* a PCI address part, as libvirt writes it (fmt) */
static int pci_part(xmlNodePtr n, const char *name, unsigned max,
		    const char *fmt, char *out, size_t len, struct nf_err *e)
{
	char v[32], *end;
	attr(n, name, v, sizeof(v));
	unsigned long x = strtoul(v, &end, 0);
	if (!v[0] || *end || x > max)
		return perr(e, n,
			    "%s='%s' is not a PCI address part (0 to %#x)",
			    name, v, max);
	snprintf(out, len, fmt, (unsigned)x);
	return 0;
}

static int p_plug(xmlNodePtr n, struct portxml *p, struct nf_err *e)
{
	attr(n, "type", p->plug, sizeof(p->plug));
	bool br = !strcmp(p->plug, "network") || !strcmp(p->plug, "bridge");
	if (br) {
		if (only_attrs(n, "type bridge macTableManager", e) < 0)
			return -1;
		attr(n, "bridge", p->plug_bridge, sizeof(p->plug_bridge));
		attr(n, "macTableManager", p->plug_mtm, sizeof(p->plug_mtm));
		if (!p->plug_bridge[0])
			return perr(e, n, "needs bridge=");
		if (*p->plug_mtm && strcmp(p->plug_mtm, "kernel") &&
		    strcmp(p->plug_mtm, "libvirt"))
			return perr(e, n,
				    "macTableManager='%s': kernel or libvirt",
				    p->plug_mtm);
	} else if (!strcmp(p->plug, "direct")) {
		if (only_attrs(n, "type dev mode", e) < 0)
			return -1;
		attr(n, "dev", p->plug_dev, sizeof(p->plug_dev));
		attr(n, "mode", p->plug_mode, sizeof(p->plug_mode));
		if (!p->plug_dev[0])
			return perr(e, n, "needs dev=");
	} else if (!strcmp(p->plug, "hostdev-pci")) {
		if (only_attrs(n, "type managed", e) < 0 ||
		    yesno(n, "managed", &p->plug_managed, e) < 0)
			return -1;
		xmlNodePtr a = NULL;
		for (xmlNodePtr c = n->children; c; c = c->next)
			if (c->type == XML_ELEMENT_NODE) {
				if (!is(c, "address") || a)
					return perr(e, c,
						    "not in <plug> (it takes "
						    "one address)");
				a = c;
			}
		if (!a)
			return perr(e, n, "needs an <address>");
		if (only_attrs(a, "domain bus slot function type", e) < 0 ||
		    pci_part(a, "domain", 0xffff, "0x%04x", p->pci_domain,
			     sizeof(p->pci_domain), e) < 0 ||
		    pci_part(a, "bus", 0xff, "0x%02x", p->pci_bus,
			     sizeof(p->pci_bus), e) < 0 ||
		    pci_part(a, "slot", 0x1f, "0x%02x", p->pci_slot,
			     sizeof(p->pci_slot), e) < 0 ||
		    pci_part(a, "function", 7, "0x%x", p->pci_function,
			     sizeof(p->pci_function), e) < 0)
			return -1;
	} else {
		return perr(e, n,
			    "type='%s': network, bridge, direct or "
			    "hostdev-pci",
			    p->plug);
	}
	return 0;
}

static int p_child(xmlNodePtr c, struct portxml *p, struct nf_err *e)
{
	char v[32];
	if (is(c, "uuid")) {
		p->has_uuid = true;
		return uuid_of(c, p->uuid, e);
	}
	if (is(c, "owner"))
		return p_owner(c, p, e);
	if (is(c, "group"))
		return text_of(c, p->group, sizeof(p->group), e);
	if (is(c, "mac")) {
		if (only_attrs(c, "address", e) < 0)
			return -1;
		if (nf_mac_parse(attr(c, "address", v, sizeof(v)), p->mac) < 0)
			return perr(e, c, "address='%s' is not a MAC", v);
		p->has_mac = true;
		return 0;
	}
	if (is(c, "bandwidth"))
		return p_bandwidth(c, p, e);
	if (is(c, "vlan"))
		return p_vlan(c, p, e);
	if (is(c, "port"))
		return only_attrs(c, "isolated", e) < 0
			       ? -1
			       : yesno(c, "isolated", &p->isolated, e);
	if (is(c, "rxfilters"))
		return only_attrs(c, "trustGuest", e) < 0
			       ? -1
			       : yesno(c, "trustGuest", &p->trust_guest, e);
	if (is(c, "virtualport"))
		return p_virtualport(c, p, e);
	if (is(c, "plug"))
		return p_plug(c, p, e);
	return perr(e, c,
		    "not in <networkport> (it takes uuid, owner, group, mac, "
		    "bandwidth, vlan, port, rxfilters, virtualport, plug)");
}

int portxml_parse(const char *buf, size_t len, bool require_owner,
		  struct portxml *out, struct nf_err *e)
{
	struct portxml p = {
		.isolated = -1, .trust_guest = -1, .plug_managed = -1};
	xmlDocPtr doc = xmlReadMemory(buf, (int)len, "port.xml", NULL,
				      XML_PARSE_NONET | XML_PARSE_NOERROR |
					      XML_PARSE_NOWARNING);
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
	int rc = 0;
	if (!root) {
		const xmlError *x = xmlGetLastError();
		rc = nf_errf(e, EINVAL, "not XML: line %d: %s", x ? x->line : 0,
			     x && x->message ? x->message : "unreadable\n");
		e->msg[strcspn(e->msg, "\n")] = 0;
	} else if (!is(root, "networkport")) {
		rc = perr(e, root, "a network port is <networkport>");
	} else {
		for (xmlNodePtr c = root->children; c && rc == 0; c = c->next)
			if (c->type == XML_ELEMENT_NODE)
				rc = p_child(c, &p, e);
		if (rc == 0 && !p.has_mac)
			rc = perr(e, root, "needs a <mac address=...>");
		else if (rc == 0 && require_owner &&
			 (!p.has_uuid || !p.owner_name[0] || !p.has_owner_uuid))
			rc = perr(e, root,
				  "needs a <uuid> and an <owner> with a <name> "
				  "and a <uuid>");
	}
	xmlFreeDoc(doc);
	if (rc == 0)
		*out = p;
	return rc;
}

/* text for an attribute in '' or element content, escaped */
static void esc(struct nf_buf *b, const char *s)
{
	for (; *s; s++)
		switch (*s) {
		case '<': nf_buf_add(b, "&lt;", 4); break;
		case '>': nf_buf_add(b, "&gt;", 4); break;
		case '&': nf_buf_add(b, "&amp;", 5); break;
		case '\'': nf_buf_add(b, "&apos;", 6); break;
		case '"': nf_buf_add(b, "&quot;", 6); break;
		default: nf_buf_add(b, s, 1);
		}
}

/* " name='value'" when value is not "" */
static void at(struct nf_buf *b, const char *name, const char *value)
{
	if (!*value)
		return;
	nf_buf_printf(b, " %s='", name);
	esc(b, value);
	nf_buf_add(b, "'", 1);
}

static void f_rate(struct nf_buf *b, const char *dir,
		   const struct portxml_rate *r)
{
	nf_buf_printf(b, "    <%s", dir);
	at(b, "average", r->average);
	at(b, "peak", r->peak);
	at(b, "floor", r->floor);
	at(b, "burst", r->burst);
	nf_buf_printf(b, "/>\n");
}

static void f_plug(struct nf_buf *b, const struct portxml *p)
{
	nf_buf_printf(b, "  <plug type='%s'", p->plug);
	if (!strcmp(p->plug, "hostdev-pci")) {
		if (p->plug_managed >= 0)
			at(b, "managed", p->plug_managed ? "yes" : "no");
		nf_buf_printf(b,
			      ">\n    <address domain='%s' bus='%s' slot='%s' "
			      "function='%s'/>\n  </plug>\n",
			      p->pci_domain, p->pci_bus, p->pci_slot,
			      p->pci_function);
		return;
	}
	at(b, "bridge", p->plug_bridge);
	at(b, "macTableManager", p->plug_mtm);
	at(b, "dev", p->plug_dev);
	at(b, "mode", p->plug_mode);
	nf_buf_printf(b, "/>\n");
}

char *portxml_format(const struct portxml *p)
{
	struct nf_buf b = {0};
	char u[37], mac[18];
	nf_buf_printf(&b, "<networkport>\n");
	if (p->has_uuid) {
		nf_uuid_format(p->uuid, u);
		nf_buf_printf(&b, "  <uuid>%s</uuid>\n", u);
	}
	if (p->owner_name[0]) {
		nf_buf_printf(&b, "  <owner>\n    <name>");
		esc(&b, p->owner_name);
		nf_buf_printf(&b, "</name>\n");
		if (p->has_owner_uuid) {
			nf_uuid_format(p->owner_uuid, u);
			nf_buf_printf(&b, "    <uuid>%s</uuid>\n", u);
		}
		nf_buf_printf(&b, "  </owner>\n");
	}
	if (p->group[0]) {
		nf_buf_printf(&b, "  <group>");
		esc(&b, p->group);
		nf_buf_printf(&b, "</group>\n");
	}
	nf_mac_format(p->mac, mac);
	nf_buf_printf(&b, "  <mac address='%s'/>\n", mac);
	if (p->has_bandwidth) {
		nf_buf_printf(&b, "  <bandwidth");
		at(&b, "classID", p->class_id);
		nf_buf_printf(&b, ">\n");
		if (p->has_in)
			f_rate(&b, "inbound", &p->in);
		if (p->has_out)
			f_rate(&b, "outbound", &p->out);
		nf_buf_printf(&b, "  </bandwidth>\n");
	}
	if (p->ntags) {
		nf_buf_printf(&b, "  <vlan%s>\n",
			      p->trunk ? " trunk='yes'" : "");
		for (unsigned i = 0; i < p->ntags; i++) {
			nf_buf_printf(&b, "    <tag id='%u'", p->tags[i]);
			at(&b, "nativeMode", p->native[i]);
			nf_buf_printf(&b, "/>\n");
		}
		nf_buf_printf(&b, "  </vlan>\n");
	}
	if (p->isolated >= 0)
		nf_buf_printf(&b, "  <port isolated='%s'/>\n",
			      p->isolated ? "yes" : "no");
	if (p->trust_guest >= 0)
		nf_buf_printf(&b, "  <rxfilters trustGuest='%s'/>\n",
			      p->trust_guest ? "yes" : "no");
	if (p->vport_type[0]) {
		nf_buf_printf(&b, "  <virtualport type='%s'>\n    <parameters",
			      p->vport_type);
		for (int i = 0; i < 6; i++)
			at(&b, vport_keys[i], p->vport_params[i]);
		nf_buf_printf(&b, "/>\n  </virtualport>\n");
	}
	if (p->plug[0])
		f_plug(&b, p);
	nf_buf_printf(&b, "</networkport>\n");
	return nf_buf_steal(&b);
}
