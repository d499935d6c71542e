/* Network XML: schema table, structural validation, normalisation, the typed
 * view with libvirt's semantic rules, and the formatter. See netxml.h. */
#define _GNU_SOURCE
#include "netxml.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xmlsave.h>

/* ---------------------------------------------------------------- schema */

enum vtype {
	V_STR,	    /* any text */
	V_LINE,	    /* text on one line: no control characters */
	V_NONEMPTY, /* a non-empty V_LINE */
	V_PATH,	    /* an absolute path, V_LINE */
	V_HOSTNAME, /* a host name for a DHCP reservation */
	V_LABEL,    /* one DNS label (an SRV service) */
	V_NETNAME,
	V_UUID,
	V_YESNO,
	V_ONOFF,
	V_ENUM, /* choices: "a|b|c" */
	V_UINT, /* min..max */
	V_MAC,
	V_IP,
	V_IPV4,
	V_DEV, /* a network device name */
	V_DNSNAME,
	V_DUID,
	V_HEX, /* 0x-prefixed or plain hex, min..max */
};

#define REQ 1u

struct aspec {
	const char *name;
	enum vtype type;
	const char *choices;
	unsigned long long min, max;
	unsigned flags;
};

struct espec;
struct cspec {
	const struct espec *e;
	unsigned min, max; /* max 0: unbounded */
};

struct espec {
	const char *name;
	const char *ns; /* NULL: no namespace */
	const struct aspec *attrs;
	const struct cspec *children;
	bool text; /* has text content of text_type */
	enum vtype text_type;
	bool any; /* free-form content (metadata) */
};

#define A(n, t)                                                                \
	{                                                                      \
		n, t, NULL, 0, 0, 0                                            \
	}
#define AR(n, t)                                                               \
	{                                                                      \
		n, t, NULL, 0, 0, REQ                                          \
	}
#define AE(n, c)                                                               \
	{                                                                      \
		n, V_ENUM, c, 0, 0, 0                                          \
	}
#define AER(n, c)                                                              \
	{                                                                      \
		n, V_ENUM, c, 0, 0, REQ                                        \
	}
#define AU(n, lo, hi)                                                          \
	{                                                                      \
		n, V_UINT, NULL, lo, hi, 0                                     \
	}
#define AUR(n, lo, hi)                                                         \
	{                                                                      \
		n, V_UINT, NULL, lo, hi, REQ                                   \
	}
#define AH(n, hi)                                                              \
	{                                                                      \
		n, V_HEX, NULL, 0, hi, 0                                       \
	}
#define AEND                                                                   \
	{                                                                      \
		NULL, 0, NULL, 0, 0, 0                                         \
	}
#define CEND                                                                   \
	{                                                                      \
		NULL, 0, 0                                                     \
	}
#define U32 4294967295ull
#define U64 18446744073709551615ull

static const struct aspec no_attrs[] = {AEND};
static const struct cspec no_children[] = {CEND};

#define TEXT_ELEM(var, nm, tt)                                                 \
	static const struct espec var = {nm,   NULL, no_attrs, no_children,    \
					 true, tt,   false}
#define LEAF(var, nm, at)                                                      \
	static const struct espec var = {nm,	NULL,  at,   no_children,      \
					 false, V_STR, false}
#define NODE(var, nm, at, ch)                                                  \
	static const struct espec var = {nm, NULL, at, ch, false, V_STR, false}

TEXT_ELEM(e_name, "name", V_NETNAME);
TEXT_ELEM(e_uuid, "uuid", V_UUID);
TEXT_ELEM(e_title, "title", V_LINE);
TEXT_ELEM(e_description, "description", V_STR);
static const struct espec e_metadata = {
	"metadata", NULL, no_attrs, no_children, false, V_STR, true};

static const struct aspec a_driver[] = {AE("name", "vfio|kvm|xen"),
					A("model", V_NONEMPTY), AEND};
LEAF(e_driver, "driver", a_driver);
static const struct aspec a_startend_ip[] = {AR("start", V_IPV4),
					     AR("end", V_IPV4), AEND};
LEAF(e_nat_address, "address", a_startend_ip);
static const struct aspec a_startend_port[] = {AUR("start", 1, 65535),
					       AUR("end", 1, 65535), AEND};
LEAF(e_nat_port, "port", a_startend_port);
static const struct aspec a_nat[] = {A("ipv6", V_YESNO), AEND};
static const struct cspec c_nat[] = {
	{&e_nat_address, 0, 1}, {&e_nat_port, 0, 1}, CEND};
NODE(e_nat, "nat", a_nat, c_nat);
static const struct aspec a_pf[] = {AR("dev", V_DEV), AEND};
LEAF(e_pf, "pf", a_pf);
static const struct aspec a_fwd_if[] = {AR("dev", V_DEV),
					AU("connections", 0, U32), AEND};
LEAF(e_fwd_if, "interface", a_fwd_if);
static const struct aspec a_pci[] = {
	AER("type", "pci"),	   AH("domain", 0xffff),
	AH("bus", 0xff),	   AH("slot", 0x1f),
	AH("function", 0x7),	   AE("multifunction", "on|off"),
	AU("connections", 0, U32), AEND};
LEAF(e_fwd_addr, "address", a_pci);
static const struct aspec a_forward[] = {
	A("dev", V_DEV),
	AE("mode", "nat|route|open|bridge|passthrough|private|vepa|hostdev"),
	A("managed", V_YESNO), AEND};
static const struct cspec c_forward[] = {{&e_driver, 0, 1},   {&e_nat, 0, 1},
					 {&e_pf, 0, 1},	      {&e_fwd_if, 0, 0},
					 {&e_fwd_addr, 0, 0}, CEND};
NODE(e_forward, "forward", a_forward, c_forward);

static const struct aspec a_bridge[] = {A("name", V_DEV),
					A("zone", V_NONEMPTY),
					A("stp", V_ONOFF),
					AU("delay", 0, U64),
					AE("macTableManager", "kernel|libvirt"),
					AEND};
LEAF(e_bridge, "bridge", a_bridge);
static const struct aspec a_mtu[] = {AUR("size", 68, 65535), AEND};
LEAF(e_mtu, "mtu", a_mtu);
static const struct aspec a_mac[] = {AR("address", V_MAC), AEND};
LEAF(e_mac, "mac", a_mac);
static const struct aspec a_domain[] = {AR("name", V_DNSNAME),
					A("localOnly", V_YESNO),
					A("register", V_YESNO), AEND};
LEAF(e_domain, "domain", a_domain);

static const struct aspec a_forwarder[] = {A("domain", V_DNSNAME),
					   A("addr", V_IP), AEND};
LEAF(e_forwarder, "forwarder", a_forwarder);
static const struct aspec a_txt[] = {AR("name", V_DNSNAME), AR("value", V_LINE),
				     AEND};
LEAF(e_txt, "txt", a_txt);
static const struct aspec a_srv[] = {
	AR("service", V_LABEL), AER("protocol", "tcp|udp"),
	A("domain", V_DNSNAME), A("target", V_DNSNAME),
	AU("port", 0, 65535),	AU("priority", 0, 65535),
	AU("weight", 0, 65535), AEND};
LEAF(e_srv, "srv", a_srv);
TEXT_ELEM(e_hostname, "hostname", V_DNSNAME);
static const struct aspec a_dns_host[] = {AR("ip", V_IP), AEND};
static const struct cspec c_dns_host[] = {{&e_hostname, 1, 0}, CEND};
NODE(e_dns_host, "host", a_dns_host, c_dns_host);
static const struct aspec a_dns[] = {A("enable", V_YESNO),
				     A("forwardPlainNames", V_YESNO), AEND};
static const struct cspec c_dns[] = {{&e_forwarder, 0, 0},
				     {&e_txt, 0, 0},
				     {&e_srv, 0, 0},
				     {&e_dns_host, 0, 0},
				     CEND};
NODE(e_dns, "dns", a_dns, c_dns);

static const struct aspec a_tag[] = {AUR("id", 0, 4095),
				     AE("nativeMode", "tagged|untagged"), AEND};
LEAF(e_tag, "tag", a_tag);
static const struct aspec a_vlan[] = {AE("trunk", "yes"), AEND};
static const struct cspec c_vlan[] = {{&e_tag, 1, 0}, CEND};
NODE(e_vlan, "vlan", a_vlan, c_vlan);

static const struct aspec a_bw_dir[] = {AU("average", 1, 18014398509481984ull),
					AU("peak", 1, 18014398509481984ull),
					AU("floor", 1, 18014398509481984ull),
					AU("burst", 1, U32), AEND};
LEAF(e_inbound, "inbound", a_bw_dir);
LEAF(e_outbound, "outbound", a_bw_dir);
static const struct aspec a_bandwidth[] = {AU("classID", 1, U32), AEND};
static const struct cspec c_bandwidth[] = {
	{&e_inbound, 0, 1}, {&e_outbound, 0, 1}, CEND};
NODE(e_bandwidth, "bandwidth", a_bandwidth, c_bandwidth);

static const struct aspec a_port[] = {A("isolated", V_YESNO), AEND};
LEAF(e_port, "port", a_port);

static const struct aspec a_tftp[] = {AR("root", V_PATH), AEND};
LEAF(e_tftp, "tftp", a_tftp);
static const struct aspec a_lease[] = {
	AUR("expiry", 0, U64), AE("unit", "seconds|minutes|hours"), AEND};
LEAF(e_lease, "lease", a_lease);
static const struct cspec c_leased[] = {{&e_lease, 0, 1}, CEND};
static const struct aspec a_range[] = {AR("start", V_IP), AR("end", V_IP),
				       AEND};
NODE(e_range, "range", a_range, c_leased);
static const struct aspec a_dhcp_host[] = {A("mac", V_MAC), A("id", V_DUID),
					   A("name", V_HOSTNAME),
					   AR("ip", V_IP), AEND};
NODE(e_dhcp_host, "host", a_dhcp_host, c_leased);
static const struct aspec a_bootp[] = {AR("file", V_NONEMPTY),
				       A("server", V_DNSNAME), AEND};
LEAF(e_bootp, "bootp", a_bootp);
static const struct cspec c_dhcp[] = {
	{&e_range, 0, 0}, {&e_dhcp_host, 0, 0}, {&e_bootp, 0, 1}, CEND};
NODE(e_dhcp, "dhcp", no_attrs, c_dhcp);
static const struct aspec a_ip[] = {
	AE("family", "ipv4|ipv6"), A("address", V_IP),	   A("netmask", V_IPV4),
	AU("prefix", 0, 128),	   A("localPtr", V_YESNO), AEND};
static const struct cspec c_ip[] = {{&e_tftp, 0, 1}, {&e_dhcp, 0, 1}, CEND};
NODE(e_ip, "ip", a_ip, c_ip);

static const struct aspec a_route[] = {AE("family", "ipv4|ipv6"),
				       AR("address", V_IP),
				       A("netmask", V_IPV4),
				       AU("prefix", 0, 128),
				       AR("gateway", V_IP),
				       AU("metric", 0, U32),
				       AEND};
LEAF(e_route, "route", a_route);

static const struct aspec a_vp_params[] = {AU("managerid", 0, 255),
					   AU("typeid", 0, 0xffffff),
					   AU("typeidversion", 0, 255),
					   A("instanceid", V_UUID),
					   A("profileid", V_NONEMPTY),
					   A("interfaceid", V_UUID),
					   AEND};
LEAF(e_vp_params, "parameters", a_vp_params);
static const struct aspec a_virtualport[] = {
	AE("type", "802.1Qbg|802.1Qbh|openvswitch|midonet"), AEND};
static const struct cspec c_virtualport[] = {{&e_vp_params, 0, 1}, CEND};
NODE(e_virtualport, "virtualport", a_virtualport, c_virtualport);

static const struct aspec a_portgroup[] = {
	AR("name", V_NONEMPTY), A("default", V_YESNO),
	A("trustGuestRxFilters", V_YESNO), AEND};
static const struct cspec c_portgroup[] = {
	{&e_vlan, 0, 1}, {&e_virtualport, 0, 1}, {&e_bandwidth, 0, 1}, CEND};
NODE(e_portgroup, "portgroup", a_portgroup, c_portgroup);

static const struct aspec a_option[] = {AR("value", V_NONEMPTY), AEND};
static const struct espec e_option = {
	"option", NETXML_DNSMASQ_NS, a_option, no_children, false, V_STR,
	false};
static const struct cspec c_options[] = {{&e_option, 0, 0}, CEND};
static const struct espec e_options = {
	"options", NETXML_DNSMASQ_NS, no_attrs, c_options, false, V_STR, false};

static const struct aspec a_network[] = {
	AU("connections", 0, U32), A("ipv6", V_YESNO),
	A("trustGuestRxFilters", V_YESNO), AEND};
/* Order here is the order libvirt formats in. */
static const struct cspec c_network[] = {
	{&e_name, 1, 1},	{&e_uuid, 0, 1},
	{&e_title, 0, 1},	{&e_description, 0, 1},
	{&e_metadata, 0, 1},	{&e_forward, 0, 1},
	{&e_bridge, 0, 1},	{&e_mtu, 0, 1},
	{&e_mac, 0, 1},		{&e_domain, 0, 1},
	{&e_dns, 0, 1},		{&e_vlan, 0, 1},
	{&e_bandwidth, 0, 1},	{&e_port, 0, 1},
	{&e_ip, 0, 0},		{&e_route, 0, 0},
	{&e_virtualport, 0, 1}, {&e_portgroup, 0, 0},
	{&e_options, 0, 1},	CEND};
NODE(e_network, "network", a_network, c_network);

/* --------------------------------------------------------------- helpers */

static const char *attr(xmlNodePtr n, const char *name)
{
	if (!n)
		return NULL;
	for (xmlAttrPtr a = n->properties; a; a = a->next)
		if (!a->ns && !strcmp((const char *)a->name, name))
			return a->children && a->children->content
				       ? (const char *)a->children->content
				       : "";
	return NULL;
}

static const char *text(xmlNodePtr n)
{
	for (xmlNodePtr c = n->children; c; c = c->next)
		if (c->type == XML_TEXT_NODE && c->content)
			return (const char *)c->content;
	return "";
}

static int line(xmlNodePtr n)
{
	return (int)xmlGetLineNo(n);
}

static bool is(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE &&
	       !strcmp((const char *)n->name, name);
}

static size_t child_count(xmlNodePtr n)
{
	size_t k = 0;
	for (xmlNodePtr c = n->children; c; c = c->next)
		k += c->type == XML_ELEMENT_NODE;
	return k;
}

static xmlNodePtr child(xmlNodePtr n, const char *name)
{
	for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next)
		if (is(c, name))
			return c;
	return NULL;
}

#define FOR_CHILD(c, parent, nm)                                               \
	for (xmlNodePtr c = (parent) ? (parent)->children : NULL; c;           \
	     c = c->next)                                                      \
		if (is(c, nm))

/* Error at a node: "what: line N: <elem attr='val'>: message". */
static int nerr(struct nf_err *e, const char *what, xmlNodePtr n,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int nerr(struct nf_err *e, const char *what, xmlNodePtr n,
		const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n)
		return nf_errf(e, EINVAL, "%s: line %d: <%s>: %s", what,
			       line(n), (const char *)n->name, msg);
	return nf_errf(e, EINVAL, "%s: %s", what, msg);
}

/* A lax parse in progress (NULL: strict): where validation puts what it
 * drops, and build_view what it keeps unserved. */
static struct netxml *lax_nx;
static struct netdef *lax_def;

static void warn_to(struct netxml_warning **v, size_t *nv, int ln,
		    bool unserved, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static void warn_to(struct netxml_warning **v, size_t *nv, int ln,
		    bool unserved, const char *fmt, ...)
{
	struct netxml_warning w = {.line = ln, .unserved = unserved};
	va_list ap;
	int k = snprintf(w.msg, sizeof(w.msg), "line %d: ", ln);
	va_start(ap, fmt);
	vsnprintf(w.msg + k, sizeof(w.msg) - (size_t)k, fmt, ap);
	va_end(ap);
	NF_APPEND(*v, *nv, w);
}

const char *netxml_fwd_name(enum netxml_fwd m)
{
	static const char *names[] = {"none", "nat",	     "route",
				      "open", "bridge",	     "private",
				      "vepa", "passthrough", "hostdev"};
	return (unsigned)m < NF_ARRAY_SIZE(names) ? names[m] : "?";
}

bool netxml_fwd_has_bridge(enum netxml_fwd m)
{
	return m == NETXML_FWD_NONE || m == NETXML_FWD_NAT ||
	       m == NETXML_FWD_ROUTE || m == NETXML_FWD_OPEN;
}

static int netmask_prefix(const char *s)
{
	struct in_addr m;
	if (inet_pton(AF_INET, s, &m) != 1)
		return -1;
	uint32_t v = ntohl(m.s_addr);
	int p = 0;
	while (p < 32 && (v & (1u << (31 - p))))
		p++;
	if (p < 32 && (v << p) != 0)
		return -1; /* not contiguous */
	return p;
}

/* ------------------------------------------------- structural validation */

static bool valid_uuid(const char *s)
{
	uint8_t u[16];
	return nf_uuid_parse(s, u) == 0;
}

/* What the kernel takes as a link name, narrowed to what every consumer
 * of it reads literally: dnsmasq's interface= (',' '#' '"' split or end
 * it), nft strings and sysfs paths. */
static bool valid_dev(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 15 || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("_.+%-", *p))
			return false;
	return true;
}

static bool valid_dnsname(const char *s)
{
	if (!*s)
		return false;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
			return false;
	return true;
}

static bool one_line(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* A reservation's name goes into dnsmasq's hostsfile, whose fields are
 * told apart by their form: a name with ':' is read as a MAC or an id, a
 * dotted quad as the address, digits as the lease time, and "ignore" or
 * "infinite" as flags. So: labels of letters, digits, '-' and '_', the
 * first starting with a letter (libvirt's rule), and no keyword. */
static bool valid_hostname(const char *s)
{
	size_t n = strlen(s), label = 0;
	if (!n || n > 253 || !isalpha((unsigned char)s[0]) ||
	    !strcasecmp(s, "ignore") || !strcasecmp(s, "infinite"))
		return false;
	for (const char *p = s; *p; p++) {
		if (*p == '.') {
			if (!label || !p[1])
				return false;
			label = 0;
		} else if (isalnum((unsigned char)*p) || *p == '-' ||
			   *p == '_') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return true;
}

static bool valid_label(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > 63)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
			return false;
	return true;
}

static bool valid_duid(const char *s)
{
	/* hex octets, 1 or 2 digits each, separated by ':' */
	int digits = 0, octets = 0;
	for (const char *p = s;; p++) {
		if (isxdigit((unsigned char)*p)) {
			if (++digits > 2)
				return false;
		} else if (*p == ':' || *p == '\0') {
			if (!digits)
				return false;
			digits = 0;
			octets++;
			if (!*p)
				break;
		} else {
			return false;
		}
	}
	return octets >= 2 && octets <= 130;
}

static bool parse_ull(const char *s, int base, unsigned long long *v)
{
	char *end;
	if (!*s || *s == '-' || *s == '+' || isspace((unsigned char)*s))
		return false;
	errno = 0;
	*v = strtoull(s, &end, base);
	return !errno && !*end;
}

static bool in_choices(const char *v, const char *choices)
{
	size_t n = strlen(v);
	for (const char *p = choices; p;) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);
		if (len == n && !strncmp(p, v, n))
			return true;
		p = bar ? bar + 1 : NULL;
	}
	return false;
}

/* Checks one value; on failure writes what was expected into exp. */
static bool check_value(enum vtype t, const char *v, const struct aspec *as,
			char *exp, size_t n)
{
	unsigned long long u;
	uint8_t mac[6];
	struct nf_addr a;

	switch (t) {
	case V_STR: return true;
	case V_LINE:
		snprintf(exp, n,
			 "text on one line, without control characters");
		return one_line(v);
	case V_NONEMPTY:
		snprintf(exp, n,
			 "a non-empty value on one line, without control "
			 "characters");
		return *v != '\0' && one_line(v);
	case V_PATH:
		snprintf(exp, n,
			 "an absolute path, without control characters");
		return v[0] == '/' && one_line(v);
	case V_HOSTNAME:
		snprintf(exp, n,
			 "a host name: letters, digits, '-' and '_' in labels "
			 "separated by '.', starting with a letter, and not "
			 "'ignore' or 'infinite' (dnsmasq's keywords)");
		return valid_hostname(v);
	case V_LABEL:
		snprintf(exp, n,
			 "a name of 1 to 63 letters, digits, '-' or '_'");
		return valid_label(v);
	case V_NETNAME:
		snprintf(exp, n,
			 "a name of 1 to 200 bytes without '/', control "
			 "characters or a leading '.'");
		if (!*v || strlen(v) > 200 || strchr(v, '/') || v[0] == '.')
			return false;
		for (const char *p = v; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				return false;
		return true;
	case V_UUID:
		snprintf(exp, n,
			 "a UUID like 81ff0d90-c91e-6742-64da-4a736edb9a9b");
		return valid_uuid(v);
	case V_YESNO:
		snprintf(exp, n, "'yes' or 'no'");
		return !strcmp(v, "yes") || !strcmp(v, "no");
	case V_ONOFF:
		snprintf(exp, n, "'on' or 'off'");
		return !strcmp(v, "on") || !strcmp(v, "off");
	case V_ENUM:
		snprintf(exp, n, "one of: %s", as->choices);
		return in_choices(v, as->choices);
	case V_UINT:
		snprintf(exp, n, "an integer from %llu to %llu", as->min,
			 as->max);
		return parse_ull(v, 10, &u) && u >= as->min && u <= as->max;
	case V_HEX:
		snprintf(exp, n, "a hex number from 0x0 to %#llx", as->max);
		if (!strncmp(v, "0x", 2) || !strncmp(v, "0X", 2))
			v += 2;
		return parse_ull(v, 16, &u) && u <= as->max;
	case V_MAC:
		snprintf(exp, n, "a MAC address like 52:54:00:12:34:56");
		return nf_mac_parse(v, mac) == 0;
	case V_IP:
		snprintf(exp, n, "an IPv4 or IPv6 address");
		return nf_addr_parse(v, &a) == 0;
	case V_IPV4:
		snprintf(exp, n, "an IPv4 address");
		return nf_addr_parse(v, &a) == 0 && a.family == AF_INET;
	case V_DEV:
		snprintf(exp, n,
			 "a device name of 1 to 15 bytes of letters, digits, "
			 "'_', '.', '+', '-' (and '%%' in a template)");
		return valid_dev(v);
	case V_DNSNAME:
		snprintf(exp, n, "a DNS name (letters, digits, '.', '-', '_')");
		return valid_dnsname(v);
	case V_DUID:
		snprintf(exp, n,
			 "a DHCP unique identifier: hex octets separated by "
			 "':'");
		return valid_duid(v);
	}
	return false;
}

/* A value as a message shows it: control characters as \n, \t or \xNN,
 * so a refused newline reads as one and cannot start a line of its own. */
static const char *visible(const char *v, char *out, size_t n)
{
	size_t o = 0;
	for (; *v && o + 5 < n; v++) {
		unsigned char c = (unsigned char)*v;
		if (c == '\n')
			o += (size_t)snprintf(out + o, n - o, "\\n");
		else if (c == '\t')
			o += (size_t)snprintf(out + o, n - o, "\\t");
		else if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(out + o, n - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
	return out;
}

static void trim_text_node(xmlNodePtr n)
{
	xmlChar *c = xmlNodeGetContent(n);
	const char *s = (const char *)c, *e;
	if (!c)
		return;
	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	char *t = strndup(s, (size_t)(e - s));
	xmlChar *enc = xmlEncodeSpecialChars(n->doc, (const xmlChar *)t);
	xmlNodeSetContent(n, enc);
	xmlFree(enc);
	free(t);
	xmlFree(c);
}

static void drop_node(xmlNodePtr c)
{
	xmlUnlinkNode(c);
	xmlFreeNode(c);
}

static void expected_children(const struct espec *s, char *out, size_t n)
{
	size_t len = 0;
	out[0] = '\0';
	for (const struct cspec *c = s->children; c->e; c++) {
		int w = snprintf(out + len, n - len, "%s<%s%s>",
				 len ? ", " : "", c->e->ns ? "dnsmasq:" : "",
				 c->e->name);
		if (w < 0 || (size_t)w >= n - len)
			break;
		len += (size_t)w;
	}
	if (!len)
		snprintf(out, n, "no child elements");
}

/* lenient: required attributes may be missing (net-update delete matches
 * entries by whatever they give); values are still checked. */
static int validate_elem(xmlNodePtr n, const struct espec *s, const char *what,
			 bool lenient, struct nf_err *e);

static int validate_attrs(xmlNodePtr n, const struct espec *s, const char *what,
			  bool lenient, struct nf_err *e)
{
	char exp[256];

	for (xmlAttrPtr a = n->properties, next; a; a = next) {
		const struct aspec *as = NULL;
		next = a->next;
		if (a->ns && !lax_nx)
			return nerr(e, what, n,
				    "attribute '%s:%s' is not allowed here",
				    (const char *)a->ns->prefix,
				    (const char *)a->name);
		for (const struct aspec *p = s->attrs; p->name && !a->ns; p++)
			if (!strcmp(p->name, (const char *)a->name))
				as = p;
		if (!as) {
			size_t len = 0;
			exp[0] = '\0';
			for (const struct aspec *p = s->attrs; p->name; p++)
				len += (size_t)snprintf(
					exp + len,
					len < sizeof(exp) ? sizeof(exp) - len
							  : 0,
					"%s%s", len ? ", " : "", p->name);
			if (!lax_nx)
				return nerr(e, what, n,
					    "unknown attribute '%s'; allowed: "
					    "%s",
					    (const char *)a->name,
					    *exp ? exp : "none");
			warn_to(&lax_nx->dropped, &lax_nx->ndropped, line(n),
				false,
				"<%s %s=...>: not an attribute libvirt reads "
				"there; ignored, as libvirt does (<%s> takes: "
				"%s)",
				(const char *)n->name, (const char *)a->name,
				(const char *)n->name, *exp ? exp : "none");
			xmlRemoveProp(a);
			continue;
		}
		/* One text node per value, so the view can point at it. */
		if (!a->children || a->children->next ||
		    a->children->type != XML_TEXT_NODE) {
			xmlChar *v =
				xmlNodeListGetString(n->doc, a->children, 1);
			xmlSetProp(n, a->name, v ? v : (const xmlChar *)"");
			xmlFree(v);
		}
		const char *v = attr(n, as->name);
		char shown[256];
		if (!check_value(as->type, v, as, exp, sizeof(exp)))
			return nerr(e, what, n,
				    "attribute %s='%s' is invalid; expected %s",
				    as->name, visible(v, shown, sizeof(shown)),
				    exp);
		if (as->type == V_IP || as->type == V_IPV4) {
			/* libvirt prints addresses canonically */
			struct nf_addr ad;
			char canon[INET6_ADDRSTRLEN];
			nf_addr_parse(v, &ad);
			nf_addr_format(&ad, canon, sizeof(canon));
			if (strcmp(canon, v))
				xmlSetProp(n, a->name, (const xmlChar *)canon);
		}
	}
	for (const struct aspec *p = s->attrs; p->name && !lenient; p++)
		if ((p->flags & REQ) && !attr(n, p->name))
			return nerr(e, what, n,
				    "missing required attribute '%s'", p->name);
	return 0;
}

static int validate_children(xmlNodePtr n, const struct espec *s,
			     const char *what, bool lenient, struct nf_err *e)
{
	size_t nspecs = 0;
	while (s->children[nspecs].e)
		nspecs++;
	unsigned counts[32] = {0};
	char exp[512];

	for (xmlNodePtr c = n->children, next; c; c = next) {
		next = c->next;
		switch (c->type) {
		case XML_COMMENT_NODE:
		case XML_PI_NODE: continue;
		case XML_TEXT_NODE:
		case XML_CDATA_SECTION_NODE: {
			const char *t = (const char *)c->content;
			while (t && isspace((unsigned char)*t))
				t++;
			if (t && *t && !s->text && !lax_nx)
				return nerr(e, what, n,
					    "unexpected text '%.40s' inside "
					    "the element",
					    t);
			if (t && *t && !s->text) {
				char shown[48];
				/* the line the text starts on (libxml gives
				 * the one it ends on) */
				int ln = line(c);
				for (const char *p = t; *p; p++)
					ln -= *p == '\n';
				snprintf(shown, sizeof(shown), "%.40s", t);
				shown[strcspn(shown, "\n")] = 0;
				warn_to(&lax_nx->dropped, &lax_nx->ndropped, ln,
					false,
					"text '%s' inside <%s>: ignored, as "
					"libvirt does (a template's comment? "
					"use <!-- -->)",
					shown, (const char *)n->name);
				drop_node(c);
			}
			continue;
		}
		case XML_ELEMENT_NODE: break;
		default:
			return nerr(e, what, n,
				    "entity references and other special "
				    "nodes are not accepted");
		}
		if (s->text)
			return nerr(e, what, n,
				    "unexpected child element <%s>; this "
				    "element holds only text",
				    (const char *)c->name);
		size_t i;
		for (i = 0; i < nspecs; i++) {
			const struct espec *cs = s->children[i].e;
			const char *href =
				c->ns ? (const char *)c->ns->href : NULL;
			if (strcmp(cs->name, (const char *)c->name))
				continue;
			if ((cs->ns == NULL) != (href == NULL) ||
			    (cs->ns && strcmp(cs->ns, href)))
				continue;
			break;
		}
		if (i == nspecs && lax_nx) {
			expected_children(s, exp, sizeof(exp));
			warn_to(&lax_nx->dropped, &lax_nx->ndropped, line(c),
				false,
				"<%s> inside <%s>: not an element libvirt "
				"reads "
				"there; ignored with what it holds, as libvirt "
				"does (<%s> takes: %s)",
				(const char *)c->name, (const char *)n->name,
				(const char *)n->name, exp);
			drop_node(c);
			continue;
		}
		if (i == nspecs) {
			expected_children(s, exp, sizeof(exp));
			if (c->ns)
				return nerr(e, what, c,
					    "element in namespace '%s' is not "
					    "allowed inside <%s>",
					    (const char *)c->ns->href,
					    (const char *)n->name);
			return nerr(e, what, c,
				    "unknown element inside <%s>; expected "
				    "one of: %s",
				    (const char *)n->name, exp);
		}
		counts[i]++;
		if (s->children[i].max == 1 && counts[i] > 1 && lax_nx) {
			warn_to(&lax_nx->dropped, &lax_nx->ndropped, line(c),
				false,
				"a second <%s> inside <%s>: ignored, as "
				"libvirt "
				"does (it reads the first); merge them into "
				"one",
				(const char *)c->name, (const char *)n->name);
			drop_node(c);
			counts[i]--;
			continue;
		}
		if (s->children[i].max && counts[i] > s->children[i].max)
			return nerr(e, what, c,
				    "element may appear only %s inside <%s>",
				    s->children[i].max == 1 ? "once"
							    : "a few times",
				    (const char *)n->name);
		if (lax_nx && is(c, "lease") && !attr(c, "expiry")) {
			/* libvirt's parser takes it and sets no lease time
			 * (its schema, and so --validate, refuses it) */
			warn_to(&lax_nx->dropped, &lax_nx->ndropped, line(c),
				false,
				"<lease> without expiry='N': ignored, as "
				"libvirt does, so dnsmasq's default lease "
				"time (1 hour) applies; write <lease "
				"expiry='N' unit='minutes'/>");
			drop_node(c);
			counts[i]--;
			continue;
		}
		bool had = xmlFirstElementChild(c) != NULL;
		int r = validate_elem(c, s->children[i].e, what, lenient, e);
		if (r < 0)
			return r;
		if (lax_nx && had && !xmlFirstElementChild(c) &&
		    is(c, "dhcp")) {
			warn_to(&lax_nx->dropped, &lax_nx->ndropped, line(c),
				false,
				"<dhcp> holds nothing libvirt reads once that "
				"is ignored: libvirt drops it, and so the "
				"network has no DHCP server; give it <range> "
				"or <host> (a lease time is <range><lease "
				"expiry='N'/></range>)");
			drop_node(c);
		}
	}
	for (size_t i = 0; i < nspecs && !lenient; i++)
		if (counts[i] < s->children[i].min)
			return nerr(e, what, n, "missing required element <%s>",
				    s->children[i].e->name);
	return 0;
}

const char *netxml_foreign_name(enum netxml_foreign f)
{
	static const char *names[] = {"guard", "open", "deny"};
	return (unsigned)f < NF_ARRAY_SIZE(names) ? names[f] : "?";
}

/* The policy a name says, or -1. */
static int foreign_parse(const char *s)
{
	for (int f = NETXML_FOREIGN_GUARD; s && f <= NETXML_FOREIGN_DENY; f++)
		if (!strcmp(s, netxml_foreign_name((enum netxml_foreign)f)))
			return f;
	return -1;
}

static bool is_netd_meta(xmlNodePtr c)
{
	return c->type == XML_ELEMENT_NODE && c->ns && c->ns->href &&
	       !strcmp((const char *)c->ns->href, NETXML_NETD_NS);
}

/* netd's element in <metadata>: a wrong one is refused, lax or not (it
 * is a security setting: a typo must not quietly mean something else). */
static int validate_netd_meta(xmlNodePtr c, const char *what, struct nf_err *e)
{
	if (!is_netd_meta(c))
		return 0;
	const char *pol = attr(c, "policy");
	if (strcmp((const char *)c->name, "foreign-ports"))
		return nerr(e, what, c,
			    "netd's namespace (%s) has one element, "
			    "<foreign-ports policy='guard|open|deny'/>",
			    NETXML_NETD_NS);
	if (xmlFirstElementChild(c) || !pol || c->properties->next)
		return nerr(e, what, c,
			    "<foreign-ports> takes one attribute, policy, and "
			    "no content");
	if (foreign_parse(pol) >= 0)
		return 0;
	return nerr(e, what, c,
		    "policy='%.40s' is invalid; expected guard (foreign "
		    "ports are guarded, the default), open (not guarded) or "
		    "deny (they forward nothing)",
		    pol);
}

static int validate_elem(xmlNodePtr n, const struct espec *s, const char *what,
			 bool lenient, struct nf_err *e)
{
	char exp[256];
	int r;

	if (s->any) {
		/* Application metadata: each child in its own namespace;
		 * netd's own is checked as netd reads it. */
		for (xmlNodePtr c = n->children; c; c = c->next)
			if (c->type == XML_ELEMENT_NODE && !c->ns)
				return nerr(e, what, c,
					    "metadata elements need their own "
					    "XML namespace");
			else if (c->type == XML_ELEMENT_NODE &&
				 (r = validate_netd_meta(c, what, e)) < 0)
				return r;
		return n->properties
			       ? nerr(e, what, n, "attributes are not allowed")
			       : 0;
	}
	r = validate_attrs(n, s, what, lenient, e);
	if (r < 0)
		return r;
	r = validate_children(n, s, what, lenient, e);
	if (r < 0)
		return r;
	if (s->text) {
		if (s->text_type != V_STR)
			trim_text_node(n);
		const char *t = text(n);
		char shown[256];
		/* a wildcard host name (*.apps): libvirt takes it, the view
		 * keeps it unserved; nothing in it can reach a file */
		bool wildcard =
			lax_nx && s == &e_hostname && !strncmp(t, "*.", 2) &&
			check_value(V_DNSNAME, t + 2, NULL, exp, sizeof(exp));
		if (!wildcard &&
		    !check_value(s->text_type, t, NULL, exp, sizeof(exp)))
			return nerr(e, what, n, "'%s' is invalid; expected %s",
				    visible(t, shown, sizeof(shown)), exp);
	}
	return 0;
}

/* ------------------------------------------------------- normalisation */

static void canon_mac_attr(xmlNodePtr n, const char *name)
{
	uint8_t mac[6];
	char s[18];
	const char *v = attr(n, name);
	if (!v || nf_mac_parse(v, mac) < 0)
		return;
	nf_mac_format(mac, s);
	xmlSetProp(n, (const xmlChar *)name, (const xmlChar *)s);
}

/* Edits the validated tree the way libvirt's parse+format round trip does. */
static int normalise(xmlNodePtr root, const char *what, struct nf_err *e)
{
	xmlNodePtr fwd = child(root, "forward"), uuid = child(root, "uuid");
	const char *mode;

	if (uuid) {
		uint8_t u[16];
		char s[37];
		nf_uuid_parse(text(uuid), u);
		nf_uuid_format(u, s);
		xmlNodeSetContent(uuid, (const xmlChar *)s);
	}
	if (attr(root, "ipv6") && !strcmp(attr(root, "ipv6"), "no"))
		xmlUnsetProp(root, (const xmlChar *)"ipv6");
	canon_mac_attr(child(root, "mac"), "address");
	FOR_CHILD (ip, root, "ip") {
		FOR_CHILD (dhcp, ip, "dhcp") {
			FOR_CHILD (h, dhcp, "host")
				canon_mac_attr(h, "mac");
		}
	}
	if (fwd) {
		if (!attr(fwd, "mode"))
			xmlSetProp(fwd, (const xmlChar *)"mode",
				   (const xmlChar *)"nat");
		mode = attr(fwd, "mode");
		const char *dev = attr(fwd, "dev");
		xmlNodePtr first_if = child(fwd, "interface");
		if (dev && first_if && strcmp(dev, attr(first_if, "dev")))
			return nerr(e, what, fwd,
				    "dev='%s' must match the first <interface "
				    "dev='%s'/> (line %d)",
				    dev, attr(first_if, "dev"), line(first_if));
		if (dev && !first_if && strcmp(mode, "hostdev")) {
			xmlNodePtr i =
				xmlNewNode(NULL, (const xmlChar *)"interface");
			xmlSetProp(i, (const xmlChar *)"dev",
				   (const xmlChar *)dev);
			xmlAddChild(fwd, i);
		}
		if (!dev && first_if)
			xmlSetProp(fwd, (const xmlChar *)"dev",
				   (const xmlChar *)attr(first_if, "dev"));
	} else {
		mode = "none";
	}
	xmlNodePtr br = child(root, "bridge");
	if (br && (!strcmp(mode, "none") || !strcmp(mode, "nat") ||
		   !strcmp(mode, "route") || !strcmp(mode, "open"))) {
		if (!attr(br, "stp"))
			xmlSetProp(br, (const xmlChar *)"stp",
				   (const xmlChar *)"on");
		if (!attr(br, "delay"))
			xmlSetProp(br, (const xmlChar *)"delay",
				   (const xmlChar *)"0");
	}
	return 0;
}

/* ------------------------------------------------- typed view + semantics */

static void netdef_clear(struct netdef *d)
{
	free(d->fwd_ifs);
	free(d->fwd_pcis);
	for (size_t i = 0; i < d->nips; i++) {
		free(d->ips[i].ranges);
		free(d->ips[i].hosts);
	}
	free(d->ips);
	free(d->warnings);
	free(d->routes);
	free(d->forwarders);
	free(d->txts);
	free(d->srvs);
	for (size_t i = 0; i < d->ndns_hosts; i++)
		free(d->dns_hosts[i].names);
	free(d->dns_hosts);
	free(d->dnsmasq_options);
	memset(d, 0, sizeof(*d));
}

static bool yes(xmlNodePtr n, const char *name)
{
	const char *v = n ? attr(n, name) : NULL;
	return v && !strcmp(v, "yes");
}

static int tristate(xmlNodePtr n, const char *name)
{
	const char *v = n ? attr(n, name) : NULL;
	return !v ? -1 : !strcmp(v, "yes");
}

static unsigned long long uattr(xmlNodePtr n, const char *name,
				unsigned long long dflt)
{
	const char *v = attr(n, name);
	return v ? strtoull(v, NULL, 10) : dflt;
}

static char lease_unit(xmlNodePtr owner)
{
	const char *u = attr(child(owner, "lease"), "unit");
	return !u ? 'm' : u[0];
}

static long lease_secs(xmlNodePtr owner)
{
	xmlNodePtr l = child(owner, "lease");
	if (!l)
		return NETXML_LEASE_NONE;
	unsigned long long x = uattr(l, "expiry", 0);
	const char *unit = attr(l, "unit");
	unsigned long long mul = !unit || !strcmp(unit, "minutes") ? 60
				 : !strcmp(unit, "hours")	   ? 3600
								   : 1;
	if (x == 0)
		return NETXML_LEASE_INFINITE;
	if (x > (unsigned long long)LONG_MAX / mul)
		return LONG_MAX;
	return (long)(x * mul);
}

static int parse_fwd_mode(const char *m)
{
	for (int i = NETXML_FWD_NAT; i <= NETXML_FWD_HOSTDEV; i++)
		if (!strcmp(m, netxml_fwd_name(i)))
			return i;
	return -1;
}

/* Address + prefix of an <ip> or <route>; checks family, netmask, prefix. */
static int addr_prefix(xmlNodePtr n, const char *addrname, const char *what,
		       struct nf_addr *a, int *prefix, struct nf_err *e)
{
	const char *fam = attr(n, "family"), *nm = attr(n, "netmask"),
		   *pf = attr(n, "prefix"), *av = attr(n, addrname);
	if (!av)
		return nerr(e, what, n, "missing required attribute '%s'",
			    addrname);
	nf_addr_parse(av, a);
	if (fam && strcmp(fam, a->family == AF_INET ? "ipv4" : "ipv6"))
		return nerr(e, what, n,
			    "%s='%s' is not an %s address as family='%s' says",
			    addrname, av, fam, fam);
	if (nm && pf)
		return nerr(e, what, n,
			    "give either netmask='%s' or prefix='%s', not "
			    "both",
			    nm, pf);
	if (nm) {
		if (a->family != AF_INET)
			return nerr(e, what, n,
				    "netmask is for IPv4 only; use prefix "
				    "for %s",
				    av);
		*prefix = netmask_prefix(nm);
		if (*prefix < 0)
			return nerr(e, what, n,
				    "netmask='%s' is not a contiguous netmask",
				    nm);
	} else if (pf) {
		*prefix = atoi(pf);
		int max = a->family == AF_INET ? 32 : 128;
		if (*prefix > max)
			return nerr(e, what, n,
				    "prefix='%s' is too long for %s (at most "
				    "%d)",
				    pf, av, max);
	} else if (a->family == AF_INET) {
		uint8_t first = ((uint8_t *)&a->v4)[0];
		*prefix = first < 128	? 8
			  : first < 192 ? 16
			  : first < 224 ? 24
					: -1;
		if (*prefix < 0)
			return nerr(e, what, n,
				    "%s='%s' is a class D/E address; give a "
				    "netmask or prefix",
				    addrname, av);
	} else {
		*prefix = 64;
	}
	return 0;
}

/* <forward><interface dev=.../>: each device once */
static int fwd_interfaces(xmlNodePtr f, struct netdef *d, const char *what,
			  struct nf_err *e)
{
	FOR_CHILD (i, f, "interface") {
		for (size_t k = 0; k < d->nfwd_ifs; k++)
			if (!strcmp(d->fwd_ifs[k], attr(i, "dev")))
				return nerr(e, what, i,
					    "forward interface dev='%s' is "
					    "listed twice",
					    attr(i, "dev"));
		NF_APPEND(d->fwd_ifs, d->nfwd_ifs, attr(i, "dev"));
	}
	return 0;
}

/* An <address type='pci'>'s domain, bus, slot and function (hex). */
static void pci_attrs(xmlNodePtr a, unsigned long long v[4])
{
	static const char *k[] = {"domain", "bus", "slot", "function"};
	for (int j = 0; j < 4; j++) {
		const char *va = attr(a, k[j]);
		v[j] = va ? strtoull(va, NULL, 16) : 0;
	}
}

/* <forward><address type='pci' .../>: each function once; how many. */
static int fwd_addresses(xmlNodePtr f, struct netdef *d, const char *what,
			 size_t *n, struct nf_err *e)
{
	*n = 0;
	FOR_CHILD (a, f, "address") {
		struct netxml_pci pa = {0};
		unsigned long long v[4], w[4];
		(*n)++;
		pci_attrs(a, v);
		snprintf(pa.addr, sizeof(pa.addr), "%04llx:%02llx:%02llx.%llx",
			 v[0] & 0xffff, v[1] & 0xff, v[2] & 0x1f, v[3] & 7);
		NF_APPEND(d->fwd_pcis, d->nfwd_pcis, pa);
		FOR_CHILD (b, f, "address") {
			if (b == a)
				break;
			pci_attrs(b, w);
			if (!memcmp(v, w, sizeof(v)))
				return nerr(e, what, a,
					    "PCI address "
					    "%04llx:%02llx:%02llx.%llx is "
					    "listed twice (also line %d)",
					    v[0], v[1], v[2], v[3], line(b));
		}
	}
	return 0;
}

/* <nat>: mode='nat' only; address and port ranges in order. */
static int fwd_nat(xmlNodePtr nat, struct netdef *d, const char *what,
		   struct nf_err *e)
{
	if (d->mode != NETXML_FWD_NAT)
		return nerr(e, what, nat,
			    "<nat> is only valid with mode='nat', "
			    "not mode='%s'",
			    netxml_fwd_name(d->mode));
	xmlNodePtr a = child(nat, "address"), p = child(nat, "port");
	d->nat_ipv6 = yes(nat, "ipv6");
	if (a) {
		nf_addr_parse(attr(a, "start"), &d->nat_start);
		nf_addr_parse(attr(a, "end"), &d->nat_end);
		if (nf_addr_cmp(&d->nat_start, &d->nat_end) > 0)
			return nerr(e, what, a, "start='%s' is after end='%s'",
				    attr(a, "start"), attr(a, "end"));
	}
	if (p) {
		d->nat_port_start = (int)uattr(p, "start", 0);
		d->nat_port_end = (int)uattr(p, "end", 0);
		if (d->nat_port_start > d->nat_port_end)
			return nerr(e, what, p, "start='%d' is after end='%d'",
				    d->nat_port_start, d->nat_port_end);
	}
	return 0;
}

/* What each mode forwards to: devices by name, PCI addresses or a PF. */
static int fwd_targets(xmlNodePtr f, const struct netdef *d, size_t naddrs,
		       xmlNodePtr pf, const char *what, struct nf_err *e)
{
	const char *m = netxml_fwd_name(d->mode);
	if (attr(f, "managed") && d->mode != NETXML_FWD_HOSTDEV)
		return nerr(e, what, f,
			    "managed= is only valid with mode='hostdev'");
	if (child(f, "driver") && d->mode != NETXML_FWD_HOSTDEV)
		return nerr(e, what, child(f, "driver"),
			    "<driver> is only valid with mode='hostdev'");
	switch (d->mode) {
	case NETXML_FWD_OPEN:
		if (d->fwd_dev || d->nfwd_ifs)
			return nerr(e, what, f,
				    "mode='open' forwards to no particular "
				    "device; remove dev='%s' and any "
				    "<interface>",
				    d->fwd_dev ? d->fwd_dev : d->fwd_ifs[0]);
		/* fall through */
	case NETXML_FWD_NAT:
	case NETXML_FWD_ROUTE:
		if (naddrs || pf)
			return nerr(e, what, f,
				    "mode='%s' takes dev= or <interface>, "
				    "not <address> or <pf>",
				    m);
		break;
	case NETXML_FWD_HOSTDEV:
		if (d->nfwd_ifs)
			return nerr(e, what, f,
				    "mode='hostdev' takes <pf> or <address "
				    "type='pci'>, not <interface>");
		break;
	case NETXML_FWD_PASSTHROUGH: /* VF netdevs, or VFs by PCI address */
		break;
	default: /* bridge, private, vepa: netdevs */
		if (naddrs)
			return nerr(e, what, f,
				    "mode='%s' takes <interface> or <pf>, not "
				    "<address>",
				    m);
		break;
	}
	if (pf && (d->nfwd_ifs || naddrs))
		return nerr(e, what, pf,
			    "give either <pf> or a list of devices, not "
			    "both");
	return 0;
}

static int view_forward(xmlNodePtr root, struct netdef *d, const char *what,
			struct nf_err *e)
{
	xmlNodePtr f = child(root, "forward"), nat, pf;
	size_t naddrs;
	int rc;
	d->mode = NETXML_FWD_NONE;
	if (!f)
		return 0;
	d->mode = (enum netxml_fwd)parse_fwd_mode(attr(f, "mode"));
	d->fwd_dev = attr(f, "dev");
	if ((rc = fwd_interfaces(f, d, what, e)) < 0 ||
	    (rc = fwd_addresses(f, d, what, &naddrs, e)) < 0)
		return rc;
	pf = child(f, "pf");
	d->fwd_pf = pf ? attr(pf, "dev") : NULL;
	nat = child(f, "nat");
	if (nat && (rc = fwd_nat(nat, d, what, e)) < 0)
		return rc;
	return fwd_targets(f, d, naddrs, pf, what, e);
}

static int view_bridge(xmlNodePtr root, struct netdef *d, const char *what,
		       struct nf_err *e)
{
	xmlNodePtr b = child(root, "bridge"), mac = child(root, "mac"),
		   mtu = child(root, "mtu");
	const char *m = netxml_fwd_name(d->mode);

	if (b) {
		d->bridge = attr(b, "name");
		d->stp = !attr(b, "stp") || !strcmp(attr(b, "stp"), "on");
		d->delay = (unsigned long)uattr(b, "delay", 0);
		d->zone = attr(b, "zone");
		d->mac_table_manager = attr(b, "macTableManager");
	}
	if (b && !netxml_fwd_has_bridge(d->mode)) {
		if (d->mode != NETXML_FWD_BRIDGE)
			return nerr(e, what, b,
				    "a <bridge> is not used with mode='%s'", m);
		if (d->zone || attr(b, "stp") || attr(b, "delay"))
			return nerr(e, what, b,
				    "zone, stp and delay are not valid with "
				    "mode='bridge': the bridge is not managed "
				    "here");
	}
	if (d->mode == NETXML_FWD_BRIDGE) {
		if (d->bridge && (d->nfwd_ifs || d->fwd_pf))
			return nerr(e, what, b,
				    "mode='bridge' takes a bridge name or a "
				    "forward device, not both");
	}
	if (mac) {
		nf_mac_parse(attr(mac, "address"), d->mac);
		d->has_mac = true;
		if (d->mac[0] & 1)
			return nerr(e, what, mac,
				    "address='%s' is a multicast MAC; a bridge "
				    "needs a unicast one",
				    attr(mac, "address"));
	}
	d->mtu = mtu ? (unsigned)uattr(mtu, "size", 0) : 0;
	return 0;
}

static int view_dns(xmlNodePtr root, struct netdef *d, const char *what,
		    struct nf_err *e)
{
	xmlNodePtr dns = child(root, "dns"), dom = child(root, "domain");

	if (dom) {
		d->domain = attr(dom, "name");
		d->domain_local_only = yes(dom, "localOnly");
		d->domain_register = yes(dom, "register");
	}
	d->dns_enable = true;
	d->dns_forward_plain_names = -1;
	if (!dns)
		return 0;
	d->dns_enable = !attr(dns, "enable") || yes(dns, "enable");
	d->dns_forward_plain_names = tristate(dns, "forwardPlainNames");
	if (!d->dns_enable) {
		for (xmlNodePtr c = dns->children; c; c = c->next)
			if (c->type == XML_ELEMENT_NODE)
				return nerr(e, what, c,
					    "DNS is disabled (enable='no' on "
					    "line %d), so DNS records and "
					    "forwarders cannot be given",
					    line(dns));
		if (attr(dns, "forwardPlainNames"))
			return nerr(e, what, dns,
				    "forwardPlainNames needs enable='yes'");
	}
	FOR_CHILD (f, dns, "forwarder") {
		struct netxml_dns_forwarder fw = {attr(f, "addr"),
						  attr(f, "domain")};
		if (!fw.addr && !fw.domain)
			return nerr(e, what, f, "needs addr= or domain=");
		NF_APPEND(d->forwarders, d->nforwarders, fw);
	}
	FOR_CHILD (t, dns, "txt") {
		struct netxml_dns_txt x = {attr(t, "name"), attr(t, "value")};
		for (size_t i = 0; i < d->ntxts; i++)
			if (!strcmp(d->txts[i].name, x.name))
				return nerr(e, what, t,
					    "TXT record name='%s' is given "
					    "twice",
					    x.name);
		NF_APPEND(d->txts, d->ntxts, x);
	}
	FOR_CHILD (s, dns, "srv") {
		struct netxml_dns_srv x = {
			attr(s, "service"),
			attr(s, "protocol"),
			attr(s, "domain"),
			attr(s, "target"),
			attr(s, "port") ? (int)uattr(s, "port", 0) : -1,
			attr(s, "priority") ? (int)uattr(s, "priority", 0) : -1,
			attr(s, "weight") ? (int)uattr(s, "weight", 0) : -1,
		};
		if (strlen(x.service) > 15)
			return nerr(e, what, s,
				    "service='%s' is longer than 15 bytes",
				    x.service);
		for (const char *p = x.service; *p; p++)
			if (!isalnum((unsigned char)*p) && !strchr("-_", *p))
				return nerr(e, what, s,
					    "service='%s' may hold only "
					    "letters, digits, '-' and '_'",
					    x.service);
		NF_APPEND(d->srvs, d->nsrvs, x);
	}
	FOR_CHILD (h, dns, "host") {
		struct netxml_dns_host x = {0};
		nf_addr_parse(attr(h, "ip"), &x.ip);
		FOR_CHILD (hn, h, "hostname") {
			const char *nm = text(hn);
			if (strncmp(nm, "*.", 2)) {
				NF_APPEND(x.names, x.nnames, nm);
				continue;
			}
			/* only a lax parse lets a wildcard through */
			warn_to(&d->warnings, &d->nwarnings, line(hn), true,
				"<hostname>%s</hostname>: dnsmasq never "
				"answers a wildcard from its hosts file: kept, "
				"as libvirt keeps it, but not served; as root, "
				"<dnsmasq:option value='address=/%s/%s'/> does "
				"answer it",
				nm, nm + 2, attr(h, "ip"));
		}
		if (x.nnames)
			NF_APPEND(d->dns_hosts, d->ndns_hosts, x);
	}
	return 0;
}

/* Duplicate MAC, DUID, IP or name among one subnet's reservations: sort
 * by each key and compare neighbours (n log n: networks have thousands). */
enum host_key { HK_MAC, HK_ID, HK_IP, HK_NAME };

static int host_key_cmp(enum host_key k, const struct netxml_host *a,
			const struct netxml_host *b)
{
	switch (k) {
	case HK_MAC: return strcmp(a->mac, b->mac);
	case HK_ID: return strcasecmp(a->id, b->id);
	case HK_IP: return nf_addr_cmp(&a->ip, &b->ip);
	default: return strcmp(a->name, b->name);
	}
}

static const char *host_key_str(enum host_key k, const struct netxml_host *h)
{
	return k == HK_MAC ? h->mac : k == HK_ID ? h->id : h->name;
}

static int host_sort_cmp(const void *x, const void *y, void *key)
{
	const struct netxml_host *a = *(const struct netxml_host *const *)x,
				 *b = *(const struct netxml_host *const *)y;
	int c = host_key_cmp(*(enum host_key *)key, a, b);
	return c ? c : a->line - b->line;
}

static int check_unique_hosts(const struct netxml_ip *ip, const char *what,
			      struct nf_err *e)
{
	static const char *fmt[] = {
		"mac='%s' already has a host entry on line %d",
		"id='%s' already has a host entry on line %d",
		"ip='%s' is already reserved on line %d",
		"name='%s' already has a host entry on line %d"};
	const struct netxml_host **v = nf_xcalloc(ip->nhosts + 1, sizeof(*v));
	int r = 0;
	for (enum host_key k = HK_MAC; k <= HK_NAME && !r; k++) {
		size_t n = 0;
		for (size_t i = 0; i < ip->nhosts; i++)
			if (k == HK_IP || host_key_str(k, &ip->hosts[i]))
				v[n++] = &ip->hosts[i];
		qsort_r(v, n, sizeof(*v), host_sort_cmp, &k);
		for (size_t i = 1; i < n && !r; i++) {
			if (host_key_cmp(k, v[i - 1], v[i]))
				continue;
			char val[256], msg[512];
			if (k == HK_IP)
				nf_addr_format(&v[i]->ip, val, sizeof(val));
			else
				snprintf(val, sizeof(val), "%s",
					 host_key_str(k, v[i]));
			snprintf(msg, sizeof(msg), fmt[k], val, v[i - 1]->line);
			r = nf_errf(e, EINVAL, "%s: line %d: <host>: %s", what,
				    v[i]->line, msg);
		}
	}
	free(v);
	return r;
}

static uint64_t mac_key(const char *mac)
{
	uint8_t m[6];
	uint64_t k = 1ull << 48;
	if (!mac || nf_mac_parse(mac, m) < 0)
		return 0;
	for (int i = 0; i < 6; i++)
		k |= (uint64_t)m[i] << (8 * i);
	return k;
}

/* The view of one <host> of ip's <dhcp>, checked: 0 and *out when it is
 * served, 1 when a lax parse keeps it unserved (outside the subnet), or
 * an error. */
static int view_host(const struct netxml_ip *ip, xmlNodePtr h, const char *what,
		     struct netxml_host *out, struct nf_err *e)
{
	char sub[80], ipstr[INET6_ADDRSTRLEN];
	bool v4 = ip->address.family == AF_INET;
	struct netxml_host x = {.mac = attr(h, "mac"),
				.id = attr(h, "id"),
				.name = attr(h, "name"),
				.lease = lease_secs(h),
				.lease_unit = lease_unit(h),
				.line = line(h),
				.node = h};
	x.mac_key = mac_key(x.mac);
	nf_addr_parse(attr(h, "ip"), &x.ip);
	if (v4 && x.id)
		return nerr(e, what, h,
			    "id= (a DHCPv6 DUID) is for IPv6 hosts; "
			    "use mac= for IPv4");
	if (!v4 && x.mac)
		return nerr(e, what, h,
			    "mac='%s' cannot identify an IPv6 host; "
			    "use id= (DUID) or name=",
			    x.mac);
	if (x.mac && x.id)
		return nerr(e, what, h, "give mac= or id=, not both");
	if (!x.mac && !x.id && !x.name)
		return nerr(e, what, h,
			    "a host needs mac=%s or name= to be "
			    "matched",
			    v4 ? "" : " (id=)");
	bool outside = x.ip.family != ip->address.family ||
		       !nf_addr_in_subnet(&x.ip, &ip->address, ip->prefix);
	if (outside) { /* the words for the warning or the error */
		nf_addr_subnet_str(&ip->address, ip->prefix, sub, sizeof(sub));
		nf_addr_format(&ip->address, ipstr, sizeof(ipstr));
	}
	if (outside && lax_def) { /* kept, as libvirt keeps it */
		warn_to(&lax_def->warnings, &lax_def->nwarnings, line(h), true,
			"<host %s='%s' ip='%s'> is outside the subnet "
			"%s: "
			"kept, as libvirt keeps it, but dnsmasq never "
			"hands it out and netd pins nothing for it; "
			"use "
			"an address inside %s, or add an <ip> for its "
			"subnet",
			x.mac  ? "mac"
			: x.id ? "id"
			       : "name",
			x.mac  ? x.mac
			: x.id ? x.id
			       : x.name,
			attr(h, "ip"), sub, sub);
		return 1;
	}
	if (outside)
		return nerr(e, what, h,
			    "host %s ip='%s' is outside the subnet %s "
			    "of <ip address='%s'> (line %d); dnsmasq "
			    "would never hand it out. Use an address "
			    "inside %s, or add an <ip> element for "
			    "the subnet of %s",
			    x.mac  ? x.mac
			    : x.id ? x.id
				   : x.name,
			    attr(h, "ip"), sub, ipstr, line(ip->node), sub,
			    attr(h, "ip"));
	if (!nf_addr_cmp(&x.ip, &ip->address))
		return nerr(e, what, h,
			    "host ip='%s' is the network's own "
			    "address",
			    attr(h, "ip"));
	*out = x;
	return 0;
}

static int view_dhcp(struct netxml_ip *ip, xmlNodePtr dhcp, const char *what,
		     struct nf_err *e)
{
	char sub[80], ipstr[INET6_ADDRSTRLEN];
	bool v4 = ip->address.family == AF_INET;

	ip->has_dhcp = true;
	nf_addr_subnet_str(&ip->address, ip->prefix, sub, sizeof(sub));
	nf_addr_format(&ip->address, ipstr, sizeof(ipstr));
	FOR_CHILD (r, dhcp, "range") {
		struct netxml_range x = {.lease = lease_secs(r),
					 .lease_unit = lease_unit(r),
					 .line = line(r)};
		nf_addr_parse(attr(r, "start"), &x.start);
		nf_addr_parse(attr(r, "end"), &x.end);
		if (x.start.family != ip->address.family ||
		    x.end.family != ip->address.family)
			return nerr(e, what, r,
				    "range %s-%s is not of the family of "
				    "<ip address='%s'>",
				    attr(r, "start"), attr(r, "end"), ipstr);
		if (!nf_addr_in_subnet(&x.start, &ip->address, ip->prefix) ||
		    !nf_addr_in_subnet(&x.end, &ip->address, ip->prefix))
			return nerr(e, what, r,
				    "range %s-%s is outside the subnet %s",
				    attr(r, "start"), attr(r, "end"), sub);
		if (nf_addr_cmp(&x.start, &x.end) > 0)
			return nerr(e, what, r,
				    "range start %s is after its end %s",
				    attr(r, "start"), attr(r, "end"));
		NF_APPEND(ip->ranges, ip->nranges, x);
	}
	FOR_CHILD (h, dhcp, "host") {
		struct netxml_host x;
		int r = view_host(ip, h, what, &x, e);
		if (r < 0)
			return r;
		if (r > 0)
			ip->nunserved++;
		else
			NF_APPEND(ip->hosts, ip->nhosts, x);
	}
	int r = check_unique_hosts(ip, what, e);
	if (r < 0)
		return r;
	xmlNodePtr bootp = child(dhcp, "bootp");
	if (bootp) {
		if (!v4)
			return nerr(e, what, bootp, "BOOTP is IPv4 only");
		ip->bootp_file = attr(bootp, "file");
		ip->bootp_server = attr(bootp, "server");
	}
	return 0;
}

static int view_ips(xmlNodePtr root, struct netdef *d, const char *what,
		    struct nf_err *e)
{
	int dhcp4 = 0, dhcp6 = 0;

	FOR_CHILD (n, root, "ip") {
		struct netxml_ip ip = {.node = n};
		int r = addr_prefix(n, "address", what, &ip.address, &ip.prefix,
				    e);
		NF_APPEND(d->ips, d->nips, ip);
		if (r < 0)
			return r;
		struct netxml_ip *p = &d->ips[d->nips - 1];
		p->local_ptr = yes(n, "localPtr");
		xmlNodePtr tftp = child(n, "tftp"), dhcp = child(n, "dhcp");
		if (tftp) {
			if (p->address.family != AF_INET)
				return nerr(e, what, tftp, "TFTP is IPv4 only");
			p->tftp_root = attr(tftp, "root");
		}
		if (dhcp) {
			int *cnt =
				p->address.family == AF_INET ? &dhcp4 : &dhcp6;
			if (++*cnt > 1)
				return nerr(e, what, dhcp,
					    "DHCP can serve only one %s subnet "
					    "per network; move this <dhcp> or "
					    "define another network",
					    p->address.family == AF_INET
						    ? "IPv4"
						    : "IPv6");
			r = view_dhcp(p, dhcp, what, e);
			if (r < 0)
				return r;
		}
	}
	FOR_CHILD (n, root, "route") {
		struct netxml_route rt = {0};
		int r = addr_prefix(n, "address", what, &rt.address, &rt.prefix,
				    e);
		if (r < 0)
			return r;
		nf_addr_parse(attr(n, "gateway"), &rt.gateway);
		if (rt.gateway.family != rt.address.family)
			return nerr(e, what, n,
				    "gateway='%s' is not of the family of "
				    "address='%s'",
				    attr(n, "gateway"), attr(n, "address"));
		if (!nf_addr_host_bits_zero(&rt.address, rt.prefix))
			return nerr(e, what, n,
				    "address='%s' has host bits set for "
				    "prefix %d; give the network address",
				    attr(n, "address"), rt.prefix);
		/* no metric: libvirt's 1, not the kernel's 1024 */
		rt.metric = (unsigned)uattr(n, "metric", 1);
		for (size_t i = 0; i < d->nips; i++)
			if (!nf_addr_cmp(&rt.gateway, &d->ips[i].address))
				return nerr(
					e, what, n,
					"gateway='%s' is the network's own "
					"address (line %d): the kernel takes "
					"no such route (libvirt starts the "
					"network without it); name a router "
					"on the subnet",
					attr(n, "gateway"),
					line(d->ips[i].node));
		NF_APPEND(d->routes, d->nroutes, rt);
	}
	return 0;
}

/* Where <vlan> and <virtualport> may sit: the network, then each
 * portgroup; NULL after the last. */
static xmlNodePtr next_scope(xmlNodePtr root, xmlNodePtr scope)
{
	xmlNodePtr next = scope == root ? root->children : scope->next;
	while (next && !is(next, "portgroup"))
		next = next->next;
	return next;
}

static int view_misc(xmlNodePtr root, struct netdef *d, const char *what,
		     struct nf_err *e)
{
	xmlNodePtr title = child(root, "title"), md = child(root, "metadata");
	int ndefault = 0;

	for (xmlNodePtr c = md ? md->children : NULL; c; c = c->next)
		if (is_netd_meta(c)) /* validated: a policy it knows */
			d->foreign = (enum netxml_foreign)foreign_parse(
				attr(c, "policy"));

	if (title) {
		d->title = text(title);
		if (strchr(d->title, '\n'))
			return nerr(e, what, title,
				    "a title is one line; use <description> "
				    "for more");
	}
	d->ipv6 = yes(root, "ipv6");
	xmlNodePtr bw = child(root, "bandwidth");
	struct {
		const char *name;
		struct netxml_bw *to;
	} dirs[] = {{"inbound", &d->bw_in}, {"outbound", &d->bw_out}};
	for (size_t i = 0; bw && i < 2; i++) {
		xmlNodePtr x = child(bw, dirs[i].name);
		if (!x)
			continue;
		*dirs[i].to =
			(struct netxml_bw){.set = true,
					   .average = uattr(x, "average", 0),
					   .peak = uattr(x, "peak", 0),
					   .burst = uattr(x, "burst", 0),
					   .floor = uattr(x, "floor", 0)};
		if (!dirs[i].to->average)
			return nerr(
				e, what, x,
				"a network's <%s> needs average= (kilobytes "
				"per second)",
				dirs[i].name);
	}
	d->port_isolated = tristate(child(root, "port"), "isolated");
	FOR_CHILD (pg, root, "portgroup") {
		if (yes(pg, "default") && ++ndefault > 1)
			return nerr(e, what, pg,
				    "only one portgroup can be default='yes'");
		FOR_CHILD (o, root, "portgroup") {
			if (o == pg)
				break;
			if (!strcmp(attr(o, "name"), attr(pg, "name")))
				return nerr(e, what, pg,
					    "portgroup name='%s' is already "
					    "used on line %d",
					    attr(pg, "name"), line(o));
		}
	}
	/* vlan and virtualport checks apply wherever they appear */
	for (xmlNodePtr scope = root; scope;) {
		xmlNodePtr vlan = child(scope, "vlan"),
			   vp = child(scope, "virtualport");
		if (vlan) {
			size_t ntags = 0;
			bool native = false;
			FOR_CHILD (t, vlan, "tag") {
				ntags++;
				native = native || attr(t, "nativeMode");
			}
			if (native && ntags < 2 && !attr(vlan, "trunk"))
				return nerr(e, what, vlan,
					    "nativeMode needs trunk='yes'");
		}
		if (vp) {
			const char *t = attr(vp, "type");
			xmlNodePtr p = child(vp, "parameters");
			static const struct {
				const char *type, *allowed;
			} rules[] = {
				{"802.1Qbg",
				 "managerid typeid typeidversion instanceid"},
				{"802.1Qbh", "profileid"},
				{"openvswitch", "profileid interfaceid"},
				{"midonet", "interfaceid"},
			};
			for (size_t i = 0; t && p && i < NF_ARRAY_SIZE(rules);
			     i++) {
				if (strcmp(t, rules[i].type))
					continue;
				for (xmlAttrPtr a = p->properties; a;
				     a = a->next)
					if (!strstr(rules[i].allowed,
						    (const char *)a->name))
						return nerr(
							e, what, p,
							"%s is not a parameter "
							"of virtualport "
							"type='%s'",
							(const char *)a->name,
							t);
			}
			if (t && !strcmp(t, "midonet") &&
			    (!p || !attr(p, "interfaceid")))
				return nerr(e, what, vp,
					    "type='midonet' needs <parameters "
					    "interfaceid=...>");
		}
		scope = next_scope(root, scope);
	}
	xmlNodePtr opts = NULL;
	for (xmlNodePtr c = root->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && c->ns &&
		    !strcmp((const char *)c->name, "options"))
			opts = c;
	for (xmlNodePtr o = opts ? opts->children : NULL; o; o = o->next)
		if (o->type == XML_ELEMENT_NODE)
			NF_APPEND(d->dnsmasq_options, d->ndnsmasq_options,
				  attr(o, "value"));
	return 0;
}

/* What netd keeps but does not do, each with a warning: a firewalld zone,
 * a <virtualport> (Open vSwitch, 802.1Qbg/Qbh, MidoNet) and a <vlan>
 * outside hostdev networks (netd tags VFs only). The network or each
 * portgroup may carry them. */
static void view_unserved(xmlNodePtr root, struct netdef *d)
{
	xmlNodePtr b = child(root, "bridge");
	if (b && attr(b, "zone"))
		warn_to(&d->warnings, &d->nwarnings, line(b), true,
			"<bridge zone='%s'>: a firewalld zone; netd does not "
			"use firewalld (its own nftables rules let DHCP and "
			"DNS in), so the zone is kept but not applied "
			"(libvirt refuses to start such a network while "
			"firewalld is not running)",
			attr(b, "zone"));
	for (xmlNodePtr scope = root; scope;) {
		xmlNodePtr vp = child(scope, "virtualport"),
			   vlan = child(scope, "vlan");
		if (vp)
			warn_to(&d->warnings, &d->nwarnings, line(vp), true,
				"<virtualport type='%s'>: netd drives no "
				"virtual switch profile: kept, not applied; "
				"ports join the bridge as Linux bridge ports, "
				"which an Open vSwitch bridge refuses",
				attr(vp, "type") ? attr(vp, "type") : "");
		if (vlan && d->mode != NETXML_FWD_HOSTDEV)
			warn_to(&d->warnings, &d->nwarnings, line(vlan), true,
				"<vlan>: netd tags traffic only for SR-IOV "
				"VFs (mode='hostdev'): kept, not applied on "
				"this mode='%s' network",
				netxml_fwd_name(d->mode));
		scope = next_scope(root, scope);
	}
}

static int build_view(xmlDocPtr doc, struct netdef *d, const char *what,
		      struct nf_err *e)
{
	xmlNodePtr root = xmlDocGetRootElement(doc), uuid;
	int r;

	memset(d, 0, sizeof(*d));
	d->name = text(child(root, "name"));
	uuid = child(root, "uuid");
	if (uuid) {
		nf_uuid_parse(text(uuid), d->uuid);
		d->has_uuid = true;
	}
	if ((r = view_forward(root, d, what, e)) < 0 ||
	    (r = view_bridge(root, d, what, e)) < 0 ||
	    (r = view_dns(root, d, what, e)) < 0 ||
	    (r = view_ips(root, d, what, e)) < 0 ||
	    (r = view_misc(root, d, what, e)) < 0) {
		netdef_clear(d);
		return r;
	}
	view_unserved(root, d);
	return 0;
}

/* ------------------------------------------------------------- parsing */

/* Returns the 1-based line of the first invalid UTF-8 sequence, or 0. */
static int bad_utf8_line(const unsigned char *s, size_t n)
{
	int ln = 1;
	for (size_t i = 0; i < n;) {
		unsigned c = s[i];
		size_t len;
		unsigned min;
		if (c == '\n')
			ln++;
		if (c < 0x80) {
			if (c == 0)
				return ln;
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0)
			len = 2, min = 0x80;
		else if ((c & 0xf0) == 0xe0)
			len = 3, min = 0x800;
		else if ((c & 0xf8) == 0xf0)
			len = 4, min = 0x10000;
		else
			return ln;
		if (i + len > n)
			return ln;
		unsigned cp = c & (0xff >> (len + 1));
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return ln;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return ln;
		i += len;
	}
	return 0;
}

static void quiet_xml_errors(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

/* Reads untrusted XML into a tree: size bound, UTF-8, no DTD/entities.
 * The root must be <root_name>. */
static int read_xml(const char *buf, size_t len, const char *what,
		    const char *root_name, xmlDocPtr *out, struct nf_err *e)
{
	xmlParserCtxtPtr ctxt;
	xmlDocPtr doc;
	xmlNodePtr root;
	int r, bad;

	if (len > NETXML_MAX_SIZE)
		return nf_errf(e, EFBIG,
			       "%s: the XML is %zu bytes; at most %u are "
			       "accepted",
			       what, len, NETXML_MAX_SIZE);
	if ((bad = bad_utf8_line((const unsigned char *)buf, len)))
		return nf_errf(e, EINVAL,
			       "%s: line %d: the input is not valid UTF-8 "
			       "(or holds a NUL byte)",
			       what, bad);
	if (memmem(buf, len, "<!DOCTYPE", 9) || memmem(buf, len, "<!ENTITY", 8))
		return nf_errf(e, EINVAL,
			       "%s: DOCTYPE and ENTITY declarations are not "
			       "accepted in network XML",
			       what);
	xmlSetGenericErrorFunc(NULL, quiet_xml_errors);
	ctxt = xmlNewParserCtxt();
	if (!ctxt)
		return nf_errf(e, ENOMEM, "%s: out of memory", what);
	doc = xmlCtxtReadMemory(ctxt, buf, (int)len, what, "UTF-8",
				XML_PARSE_NONET | XML_PARSE_NOWARNING |
					XML_PARSE_NOERROR | XML_PARSE_NOCDATA);
	if (!doc) {
		const xmlError *x = xmlCtxtGetLastError(ctxt);
		char msg[512] = "not well-formed XML";
		if (x && x->message) {
			snprintf(msg, sizeof(msg), "%s", x->message);
			msg[strcspn(msg, "\n")] = '\0';
		}
		r = nf_errf(e, EINVAL, "%s: line %d: %s", what, x ? x->line : 0,
			    msg);
		xmlFreeParserCtxt(ctxt);
		return r;
	}
	xmlFreeParserCtxt(ctxt);
	root = xmlDocGetRootElement(doc);
	if (!root || strcmp((const char *)root->name, root_name) || root->ns) {
		r = nf_errf(e, EINVAL,
			    "%s: the root element is <%s>; expected "
			    "<%s>",
			    what, root ? (const char *)root->name : "none",
			    root_name);
		xmlFreeDoc(doc);
		return r;
	}
	for (xmlNodePtr c = doc->children; c; c = c->next)
		if (c->type == XML_DTD_NODE || c->type == XML_ENTITY_DECL) {
			xmlFreeDoc(doc);
			return nf_errf(e, EINVAL, "%s: DTDs are not accepted",
				       what);
		}
	*out = doc;
	return 0;
}

/* Validates, normalises and builds the view of nx's document, lax or not
 * as nx says. */
static void text_drop(struct netxml *nx);

static int load(struct netxml *nx, const char *what, struct nf_err *e)
{
	xmlNodePtr root = xmlDocGetRootElement(nx->doc);
	struct netdef d;
	text_drop(nx); /* the document may change: its text is formatted anew */
	lax_nx = nx->lax ? nx : NULL;
	lax_def = nx->lax ? &d : NULL;
	int r = validate_elem(root, &e_network, what, false, e);
	if (r == 0)
		r = normalise(root, what, e);
	if (r == 0)
		r = build_view(nx->doc, &d, what, e);
	lax_nx = NULL;
	lax_def = NULL;
	if (r < 0)
		return r;
	netdef_clear(&nx->def);
	nx->def = d;
	return 0;
}

int netxml_parse_flags(const char *buf, size_t len, const char *what,
		       unsigned flags, struct netxml **out, struct nf_err *e)
{
	xmlDocPtr doc;
	int r = read_xml(buf, len, what, "network", &doc, e);
	if (r < 0)
		return r;
	struct netxml *nx = nf_xcalloc(1, sizeof(*nx));
	nx->doc = doc;
	nx->lax = flags & NETXML_LAX;
	if ((r = load(nx, what, e)) < 0) {
		netxml_free(nx);
		return r;
	}
	*out = nx;
	return 0;
}

int netxml_parse(const char *buf, size_t len, const char *what,
		 struct netxml **out, struct nf_err *e)
{
	return netxml_parse_flags(buf, len, what, 0, out, e);
}

void netxml_each_warning(const struct netxml *nx,
			 void (*fn)(const struct netxml_warning *w, void *ctx),
			 void *ctx)
{
	for (size_t i = 0; i < nx->ndropped; i++)
		fn(&nx->dropped[i], ctx);
	for (size_t i = 0; i < nx->def.nwarnings; i++)
		fn(&nx->def.warnings[i], ctx);
}

static const struct {
	const char *name;
	const struct espec *spec;
} sections[] = {
	[NETXML_SEC_IP_DHCP_HOST] = {"ip-dhcp-host", &e_dhcp_host},
	[NETXML_SEC_IP_DHCP_RANGE] = {"ip-dhcp-range", &e_range},
	[NETXML_SEC_DNS_HOST] = {"dns-host", &e_dns_host},
	[NETXML_SEC_DNS_TXT] = {"dns-txt", &e_txt},
	[NETXML_SEC_DNS_SRV] = {"dns-srv", &e_srv},
	[NETXML_SEC_PORTGROUP] = {"portgroup", &e_portgroup},
	[NETXML_SEC_FORWARD_INTERFACE] = {"forward-interface", &e_fwd_if},
};

int netxml_section_from_name(const char *name)
{
	for (size_t i = 0; i < NF_ARRAY_SIZE(sections); i++)
		if (!strcmp(sections[i].name, name))
			return (int)i;
	return -EINVAL;
}

const char *netxml_section_name(enum netxml_section sec)
{
	return sections[sec].name;
}

int netxml_parse_fragment(enum netxml_section sec, const char *buf, size_t len,
			  bool complete, xmlDocPtr *out, struct nf_err *e)
{
	const struct espec *s = sections[sec].spec;
	char what[64];
	xmlDocPtr doc;
	snprintf(what, sizeof(what), "%s XML", sections[sec].name);
	int r = read_xml(buf, len, what, s->name, &doc, e);
	if (r < 0)
		return r;
	r = validate_elem(xmlDocGetRootElement(doc), s, what, !complete, e);
	if (r < 0) {
		xmlFreeDoc(doc);
		return r;
	}
	canon_mac_attr(xmlDocGetRootElement(doc), "mac");
	*out = doc;
	return 0;
}

void netxml_free(struct netxml *nx)
{
	if (!nx)
		return;
	free(nx->dropped);
	netdef_clear(&nx->def);
	text_drop(nx);
	xmlFreeDoc(nx->doc);
	free(nx);
}

int netxml_refresh(struct netxml *nx, struct nf_err *e)
{
	return load(nx, "network", e);
}

void netxml_add_dropped(struct netxml *nx, int line, const char *msg)
{
	struct netxml_warning w = {.line = line};
	snprintf(w.msg, sizeof(w.msg), "%s", msg);
	NF_APPEND(nx->dropped, nx->ndropped, w);
}

void netxml_copy_dropped(struct netxml *to, const struct netxml *from)
{
	to->lax = from->lax;
	free(to->dropped);
	to->dropped = NULL;
	to->ndropped = 0;
	if (!from->ndropped)
		return;
	to->dropped = nf_xcalloc(from->ndropped, sizeof(*to->dropped));
	memcpy(to->dropped, from->dropped,
	       from->ndropped * sizeof(*to->dropped));
	to->ndropped = from->ndropped;
}

struct netxml *netxml_dup(const struct netxml *nx)
{
	struct netxml *c = nf_xcalloc(1, sizeof(*c));
	struct nf_err e;
	c->doc = xmlCopyDoc(nx->doc, 1);
	netxml_copy_dropped(c, nx);
	if (!c->doc || load(c, "network", &e) < 0)
		abort(); /* a copy of a valid document is valid */
	return c;
}

/* Inserts a new element before the first sibling that comes later in
 * libvirt's order, so the document stays in canonical order. */
static xmlNodePtr insert_ordered(xmlNodePtr root, const char *name)
{
	xmlNodePtr n = xmlNewNode(NULL, (const xmlChar *)name);
	size_t want = 0;
	for (size_t i = 0; c_network[i].e; i++)
		if (!strcmp(c_network[i].e->name, name))
			want = i;
	for (xmlNodePtr c = root->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		for (size_t i = want + 1; c_network[i].e; i++)
			if (!strcmp(c_network[i].e->name,
				    (const char *)c->name))
				return xmlAddPrevSibling(c, n);
	}
	return xmlAddChild(root, n);
}

int netxml_set_uuid(struct netxml *nx, const uint8_t uuid[16], struct nf_err *e)
{
	xmlNodePtr root = xmlDocGetRootElement(nx->doc);
	xmlNodePtr n = child(root, "uuid");
	char s[37];
	nf_uuid_format(uuid, s);
	xmlNodeSetContent(n ? n : insert_ordered(root, "uuid"),
			  (const xmlChar *)s);
	return netxml_refresh(nx, e);
}

int netxml_fill_defaults(struct netxml *nx,
			 bool (*bridge_in_use)(const char *name, void *ctx),
			 void *ctx, struct nf_err *e)
{
	xmlNodePtr root = xmlDocGetRootElement(nx->doc);
	struct netdef *d = &nx->def;

	if (!d->has_uuid) {
		uint8_t u[16];
		char s[37];
		nf_uuid_generate(u);
		nf_uuid_format(u, s);
		xmlNodeSetContent(insert_ordered(root, "uuid"),
				  (const xmlChar *)s);
	}
	if (netxml_fwd_has_bridge(d->mode)) {
		xmlNodePtr br = child(root, "bridge");
		if (!br)
			br = insert_ordered(root, "bridge");
		if (!attr(br, "name")) {
			char name[16];
			for (unsigned i = 0;; i++) {
				if (i > 4096)
					return nf_errf(e, ENOSPC,
						       "no free bridge name "
						       "nfbr0..nfbr4096");
				snprintf(name, sizeof(name), "nfbr%u", i);
				if (!bridge_in_use(name, ctx))
					break;
			}
			xmlSetProp(br, (const xmlChar *)"name",
				   (const xmlChar *)name);
		}
		if (!d->has_mac) {
			uint8_t m[6] = {0x52, 0x54, 0x00};
			char s[18];
			nf_random_bytes(m + 3, 3);
			nf_mac_format(m, s);
			xmlSetProp(insert_ordered(root, "mac"),
				   (const xmlChar *)"address",
				   (const xmlChar *)s);
		}
	}
	return netxml_refresh(nx, e);
}

/* ---------------------------------------------------------- formatting */

/* Escapes for XML; in attributes also the white space a parser would
 * normalise to spaces, and \r everywhere (a parser folds CRLF to LF), so
 * what is stored reads back exactly. */
static void esc(struct nf_buf *b, const char *s, bool in_attr)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': nf_buf_add(b, "&amp;", 5); continue;
		case '<': nf_buf_add(b, "&lt;", 4); continue;
		case '>': nf_buf_add(b, "&gt;", 4); continue;
		case '\r': nf_buf_add(b, "&#13;", 5); continue;
		}
		if (in_attr) {
			switch (*s) {
			case '\'': nf_buf_add(b, "&apos;", 6); continue;
			case '"': nf_buf_add(b, "&quot;", 6); continue;
			case '\n': nf_buf_add(b, "&#10;", 5); continue;
			case '\t': nf_buf_add(b, "&#9;", 4); continue;
			}
		}
		nf_buf_add(b, s, 1);
	}
}

/* The formatted document kept with it (netxml_text): where each
 * element's text starts and ends, so that an in-place update edits the
 * text instead of formatting the whole network again. An element's
 * _private holds its span's index + 1; a span whose node is NULL is one
 * whose element was removed. */
struct span {
	xmlNodePtr node;
	size_t start, end;
};
struct netxml_text {
	struct nf_buf b;
	struct span *spans;
	size_t nspans, ndead;
};

static void format_elem(struct nf_buf *b, xmlNodePtr n, const struct espec *s,
			int depth, struct netxml_text *t);

static void format_body(struct nf_buf *b, xmlNodePtr n, const struct espec *s,
			int depth, struct netxml_text *t)
{
	bool any_child = false;
	const char *prefix = s->ns ? "dnsmasq:" : "";

	nf_buf_printf(b, "%*s<%s%s", depth * 2, "", prefix, s->name);
	if (s == &e_network && child(n, "options") && child(n, "options")->ns)
		nf_buf_printf(b, " xmlns:dnsmasq='%s'", NETXML_DNSMASQ_NS);
	for (const struct aspec *a = s->attrs; a->name; a++) {
		const char *v = attr(n, a->name);
		if (!v)
			continue;
		nf_buf_printf(b, " %s='", a->name);
		esc(b, v, true);
		nf_buf_add(b, "'", 1);
	}
	if (s->text) {
		nf_buf_add(b, ">", 1);
		esc(b, text(n), false);
		nf_buf_printf(b, "</%s>\n", s->name);
		return;
	}
	if (s->any) {
		xmlBufferPtr xb = xmlBufferCreate();
		nf_buf_add(b, ">\n", 2);
		for (xmlNodePtr c = n->children; c; c = c->next) {
			if (c->type != XML_ELEMENT_NODE)
				continue;
			xmlBufferEmpty(xb);
			xmlNodeDump(xb, n->doc, c, depth + 1, 1);
			nf_buf_printf(b, "%*s%s\n", (depth + 1) * 2, "",
				      (const char *)xmlBufferContent(xb));
		}
		xmlBufferFree(xb);
		nf_buf_printf(b, "%*s</%s>\n", depth * 2, "", s->name);
		return;
	}
	for (const struct cspec *cs = s->children; cs->e; cs++) {
		for (xmlNodePtr c = n->children; c; c = c->next) {
			if (c->type != XML_ELEMENT_NODE ||
			    strcmp((const char *)c->name, cs->e->name) ||
			    (cs->e->ns == NULL) != (c->ns == NULL))
				continue;
			if (!any_child)
				nf_buf_add(b, ">\n", 2);
			any_child = true;
			format_elem(b, c, cs->e, depth + 1, t);
		}
	}
	if (any_child)
		nf_buf_printf(b, "%*s</%s%s>\n", depth * 2, "", prefix,
			      s->name);
	else
		nf_buf_add(b, "/>\n", 3);
}

/* Formats n (of schema s) at depth; with t, records the spans of n and
 * of every element in it. */
static void format_elem(struct nf_buf *b, xmlNodePtr n, const struct espec *s,
			int depth, struct netxml_text *t)
{
	size_t at = b->len;
	format_body(b, n, s, depth, t);
	if (!t)
		return;
	NF_APPEND(t->spans, t->nspans, ((struct span){n, at, b->len}));
	n->_private = (void *)(uintptr_t)t->nspans;
}

char *netxml_format(const struct netxml *nx)
{
	struct nf_buf b = {0};
	format_elem(&b, xmlDocGetRootElement(nx->doc), &e_network, 0, NULL);
	return nf_buf_steal(&b);
}

static void text_drop(struct netxml *nx)
{
	if (!nx->text)
		return;
	nf_buf_free(&nx->text->b);
	free(nx->text->spans);
	free(nx->text);
	nx->text = NULL;
}

const char *netxml_text(struct netxml *nx, size_t *len)
{
	if (!nx->text) {
		nx->text = nf_xcalloc(1, sizeof(*nx->text));
		format_elem(&nx->text->b, xmlDocGetRootElement(nx->doc),
			    &e_network, 0, nx->text);
		nf_buf_add(&nx->text->b, "", 0); /* terminated, even empty */
	}
	*len = nx->text->b.len;
	return nx->text->b.s;
}

static struct span *span_of(struct netxml_text *t, xmlNodePtr n)
{
	uintptr_t i = (uintptr_t)n->_private;
	return i && i <= t->nspans && t->spans[i - 1].node == n
		       ? &t->spans[i - 1]
		       : NULL;
}

/* Replaces the text in [start, end) by ins (the text of element n at
 * depth, formatted here; n NULL: nothing), moving every span after it and
 * growing or shrinking those around it. */
static void text_splice(struct netxml_text *t, size_t start, size_t end,
			xmlNodePtr n, const struct espec *s, int depth)
{
	struct netxml_text ins = {0};
	if (n)
		format_elem(&ins.b, n, s, depth, &ins);
	ptrdiff_t delta = (ptrdiff_t)ins.b.len - (ptrdiff_t)(end - start);
	for (size_t i = 0; i < t->nspans; i++) {
		struct span *sp = &t->spans[i];
		if (!sp->node)
			continue;
		if (end > start && sp->start >= start && sp->end <= end) {
			sp->node = NULL; /* the text that goes */
			t->ndead++;
		} else if (sp->start >= end) {
			sp->start = (size_t)((ptrdiff_t)sp->start + delta);
			sp->end = (size_t)((ptrdiff_t)sp->end + delta);
		} else if (sp->end > start) { /* around it */
			sp->end = (size_t)((ptrdiff_t)sp->end + delta);
		}
	}
	size_t tail = t->b.len - end, len = t->b.len + (size_t)delta;
	if (len + 1 > t->b.cap) {
		t->b.cap = (len + 1) * 2;
		t->b.s = nf_xrealloc(t->b.s, t->b.cap);
	}
	memmove(t->b.s + start + ins.b.len, t->b.s + end, tail + 1);
	if (ins.b.len) /* nothing to put in: a delete */
		memcpy(t->b.s + start, ins.b.s, ins.b.len);
	t->b.len = len;
	for (size_t i = 0; i < ins.nspans; i++) {
		struct span sp = ins.spans[i];
		sp.start += start;
		sp.end += start;
		NF_APPEND(t->spans, t->nspans, sp);
		sp.node->_private = (void *)(uintptr_t)t->nspans;
	}
	nf_buf_free(&ins.b);
	free(ins.spans);
	if (t->ndead > 64 && t->ndead > t->nspans / 2) { /* compact */
		size_t k = 0;
		for (size_t i = 0; i < t->nspans; i++)
			if (t->spans[i].node) {
				t->spans[k++] = t->spans[i];
				t->spans[k - 1].node->_private =
					(void *)(uintptr_t)k;
			}
		t->nspans = k;
		t->ndead = 0;
	}
}

/* ------------------------------------------------------------ net-update */

int netxml_update_cmd_from_name(const char *name)
{
	if (!strcmp(name, "add-first"))
		return NETXML_ADD_FIRST;
	if (!strcmp(name, "add") || !strcmp(name, "add-last"))
		return NETXML_ADD_LAST;
	if (!strcmp(name, "delete"))
		return NETXML_DELETE;
	if (!strcmp(name, "modify"))
		return NETXML_MODIFY;
	return -EINVAL;
}

static bool same_attr(xmlNodePtr a, xmlNodePtr b, const char *name)
{
	const char *x = attr(a, name), *y = attr(b, name);
	return x && y && !strcmp(x, y);
}

static bool same_addr_attr(xmlNodePtr a, xmlNodePtr b, const char *name)
{
	struct nf_addr x, y;
	return !nf_addr_parse(attr(a, name), &x) &&
	       !nf_addr_parse(attr(b, name), &y) && !nf_addr_cmp(&x, &y);
}

/* Every attribute the entry gives equals the candidate's. */
static bool attrs_match(xmlNodePtr cand, xmlNodePtr entry)
{
	for (xmlAttrPtr a = entry->properties; a; a = a->next) {
		const char *n = (const char *)a->name;
		if (!attr(cand, n) || strcmp(attr(cand, n), attr(entry, n)))
			return false;
	}
	return true;
}

/* Same element, same attributes, same children (text included). */
static bool identical(xmlNodePtr a, xmlNodePtr b)
{
	xmlBufferPtr x = xmlBufferCreate(), y = xmlBufferCreate();
	xmlNodeDump(x, a->doc, a, 0, 0);
	xmlNodeDump(y, b->doc, b, 0, 0);
	bool same = !strcmp((const char *)xmlBufferContent(x),
			    (const char *)xmlBufferContent(y));
	xmlBufferFree(x);
	xmlBufferFree(y);
	return same;
}

static xmlNodePtr ensure_child(xmlNodePtr parent, const char *name, bool first)
{
	xmlNodePtr c = child(parent, name);
	if (c)
		return c;
	c = xmlNewNode(NULL, (const xmlChar *)name);
	if (first && parent->children)
		return xmlAddPrevSibling(parent->children, c);
	return xmlAddChild(parent, c);
}

/* The <ip> for a DHCP entry: the parent_index-th <ip> if its subnet holds
 * the entry, else the first one whose subnet does. */
static xmlNodePtr dhcp_parent(xmlNodePtr root, int idx, const char *addr,
			      const char *what, struct nf_err *e)
{
	struct nf_addr a;
	xmlNodePtr first = NULL, indexed = NULL;
	int i = 0;
	bool have = addr && nf_addr_parse(addr, &a) == 0;
	FOR_CHILD (ip, root, "ip") {
		struct nf_addr net;
		int prefix;
		struct nf_err ignore;
		if (i++ == idx)
			indexed = ip;
		if (addr_prefix(ip, "address", what, &net, &prefix, &ignore) <
		    0)
			continue;
		bool holds = have ? nf_addr_in_subnet(&a, &net, prefix)
				  : net.family == AF_INET;
		if (holds && !first)
			first = ip;
		if (holds && indexed == ip)
			return ip;
	}
	if (!first)
		nf_errf(e, EINVAL,
			"%s: %s is not inside any <ip> subnet of the network",
			what, addr ? addr : "the entry");
	return first;
}

/* Where entries of a section live, creating the container for adds. */
static xmlNodePtr container(xmlNodePtr root, enum netxml_section sec,
			    xmlNodePtr entry, int idx, bool create,
			    const char *what, struct nf_err *e)
{
	xmlNodePtr p;
	switch (sec) {
	case NETXML_SEC_IP_DHCP_HOST:
	case NETXML_SEC_IP_DHCP_RANGE:
		p = dhcp_parent(root, idx,
				attr(entry, sec == NETXML_SEC_IP_DHCP_HOST
						    ? "ip"
						    : "start"),
				what, e);
		if (!p)
			return NULL;
		return create ? ensure_child(p, "dhcp", false)
			      : child(p, "dhcp");
	case NETXML_SEC_DNS_HOST:
	case NETXML_SEC_DNS_TXT:
	case NETXML_SEC_DNS_SRV:
		p = child(root, "dns");
		return p || !create ? p : insert_ordered(root, "dns");
	case NETXML_SEC_FORWARD_INTERFACE:
		p = child(root, "forward");
		if (!p)
			nf_errf(e, EINVAL,
				"%s: the network has no <forward> element",
				what);
		return p;
	case NETXML_SEC_PORTGROUP: return root;
	}
	return NULL;
}

/* Does existing entry c match the given entry, for delete (by whatever
 * it gives) or modify (by the section's key)? */
static bool matches(enum netxml_section sec, xmlNodePtr c, xmlNodePtr entry,
		    bool by_key)
{
	switch (sec) {
	case NETXML_SEC_IP_DHCP_HOST:
		if (by_key)
			return same_attr(c, entry, "mac") ||
			       same_attr(c, entry, "id") ||
			       (!attr(entry, "mac") && !attr(entry, "id") &&
				same_attr(c, entry, "name"));
		return same_attr(c, entry, "mac") ||
		       same_attr(c, entry, "id") ||
		       same_addr_attr(c, entry, "ip") ||
		       (!attr(entry, "mac") && !attr(entry, "id") &&
			!attr(entry, "ip") && same_attr(c, entry, "name"));
	case NETXML_SEC_IP_DHCP_RANGE:
		return same_addr_attr(c, entry, "start") &&
		       same_addr_attr(c, entry, "end");
	case NETXML_SEC_DNS_HOST:
		if (attr(entry, "ip"))
			return same_addr_attr(c, entry, "ip");
		FOR_CHILD (h, entry, "hostname") {
			FOR_CHILD (k, c, "hostname") {
				if (!strcmp(text(h), text(k)))
					return true;
			}
		}
		return false;
	case NETXML_SEC_DNS_TXT:
	case NETXML_SEC_PORTGROUP: return same_attr(c, entry, "name");
	case NETXML_SEC_DNS_SRV:
		if (by_key)
			return same_attr(c, entry, "service") &&
			       same_attr(c, entry, "protocol") &&
			       (attr(entry, "domain")
					? same_attr(c, entry, "domain")
					: !attr(c, "domain"));
		return attrs_match(c, entry);
	case NETXML_SEC_FORWARD_INTERFACE: return same_attr(c, entry, "dev");
	}
	return false;
}

/* An add that collides with an existing entry: the same key, or for DHCP
 * hosts the same MAC, IP or name. */
static bool conflicts(enum netxml_section sec, xmlNodePtr c, xmlNodePtr entry)
{
	if (sec == NETXML_SEC_IP_DHCP_HOST)
		return matches(sec, c, entry, false) ||
		       same_attr(c, entry, "name");
	if (sec == NETXML_SEC_IP_DHCP_RANGE)
		return same_addr_attr(c, entry, "start") ||
		       same_addr_attr(c, entry, "end");
	if (sec == NETXML_SEC_DNS_SRV)
		return matches(sec, c, entry, true);
	return matches(sec, c, entry, false);
}

static int check_complete(enum netxml_section sec, xmlNodePtr entry,
			  const char *what, struct nf_err *e)
{
	switch (sec) {
	case NETXML_SEC_IP_DHCP_HOST:
		if (!attr(entry, "ip") ||
		    (!attr(entry, "mac") && !attr(entry, "id") &&
		     !attr(entry, "name")))
			return nf_errf(e, EINVAL,
				       "%s: a host needs ip= and one of mac=, "
				       "id= or name=",
				       what);
		return 0;
	case NETXML_SEC_DNS_HOST:
		if (!attr(entry, "ip") || !child(entry, "hostname"))
			return nf_errf(e, EINVAL,
				       "%s: a DNS host needs ip= and at least "
				       "one <hostname>",
				       what);
		return 0;
	default: return 0;
	}
}

/* After <interface> changes: dev= names the first one, or goes. */
static void sync_forward_dev(xmlNodePtr fwd)
{
	xmlNodePtr first = child(fwd, "interface");
	if (first)
		xmlSetProp(fwd, (const xmlChar *)"dev",
			   (const xmlChar *)attr(first, "dev"));
	else
		xmlUnsetProp(fwd, (const xmlChar *)"dev");
}

/* The entry in box an update acts on: the one it deletes or modifies, or
 * for an add the one it conflicts with; *n how many there are. */
static xmlNodePtr update_target(enum netxml_section sec,
				enum netxml_update_cmd cmd, xmlNodePtr box,
				xmlNodePtr entry, int *n)
{
	xmlNodePtr found = NULL;
	*n = 0;
	for (xmlNodePtr c = box->children; c; c = c->next) {
		if (!is(c, (const char *)entry->name))
			continue;
		bool m = cmd == NETXML_DELETE	? matches(sec, c, entry, false)
			 : cmd == NETXML_MODIFY ? matches(sec, c, entry, true)
						: conflicts(sec, c, entry);
		if (m && !found)
			found = c;
		*n += m;
	}
	return found;
}

/* Adds entry to box (first or last of its kind); 1 when it is there
 * exactly already, -EEXIST when an entry conflicts. */
static int update_add(xmlDocPtr work, xmlNodePtr root, xmlNodePtr box,
		      enum netxml_section sec, enum netxml_update_cmd cmd,
		      xmlNodePtr entry, xmlNodePtr found, const char *what,
		      struct nf_err *e)
{
	if (found && identical(found, entry))
		return 1; /* nothing to do */
	if (found) {
		xmlBufferPtr b = xmlBufferCreate();
		xmlNodeDump(b, work, found, 0, 0);
		int r = nf_errf(e, EEXIST,
				"%s: conflicts with the existing entry %s "
				"(line %d); delete or modify that one",
				what, (const char *)xmlBufferContent(b),
				line(found));
		xmlBufferFree(b);
		return r;
	}
	xmlNodePtr copy = xmlDocCopyNode(entry, work, 1), first = NULL;
	for (xmlNodePtr c = box->children; c && !first; c = c->next)
		if (is(c, (const char *)entry->name))
			first = c;
	if (cmd == NETXML_ADD_FIRST && first)
		xmlAddPrevSibling(first, copy);
	else if (sec == NETXML_SEC_PORTGROUP)
		xmlAddChild(root, copy);
	else
		xmlAddChild(box, copy);
	return 0;
}

/* Deletes found, or replaces it by entry; 1 when it is entry already. */
static int update_change(xmlDocPtr work, enum netxml_update_cmd cmd,
			 xmlNodePtr entry, xmlNodePtr found, int nfound,
			 const char *what, struct nf_err *e)
{
	if (!found)
		return nf_errf(e, ENOENT,
			       "%s: no matching entry in the network", what);
	if (nfound > 1)
		return nf_errf(e, EINVAL,
			       "%s: %d entries match; give more attributes "
			       "to say which",
			       what, nfound);
	if (cmd == NETXML_MODIFY && identical(found, entry))
		return 1;
	if (cmd == NETXML_MODIFY)
		xmlReplaceNode(found, xmlDocCopyNode(entry, work, 1));
	else
		xmlUnlinkNode(found);
	xmlFreeNode(found);
	return 0;
}

/* Applies the update to work; 1 when it changes nothing. */
static int update_apply(xmlDocPtr work, enum netxml_section sec,
			enum netxml_update_cmd cmd, int parent_index,
			xmlNodePtr entry, const char *what, struct nf_err *e)
{
	xmlNodePtr root = xmlDocGetRootElement(work), found;
	bool add = cmd == NETXML_ADD_FIRST || cmd == NETXML_ADD_LAST;
	int nfound, r;
	if (cmd != NETXML_DELETE &&
	    (r = check_complete(sec, entry, what, e)) < 0)
		return r;
	xmlNodePtr box =
		container(root, sec, entry, parent_index, add, what, e);
	if (!box)
		return add ? -e->code
			   : nf_errf(e, ENOENT,
				     "%s: no matching entry in the network",
				     what);
	found = update_target(sec, cmd, box, entry, &nfound);
	r = add ? update_add(work, root, box, sec, cmd, entry, found, what, e)
		: update_change(work, cmd, entry, found, nfound, what, e);
	if (r != 0)
		return r;
	if (sec == NETXML_SEC_FORWARD_INTERFACE)
		sync_forward_dev(box);
	/* drop an emptied <dhcp> or <dns> as libvirt does */
	if (cmd == NETXML_DELETE && box != root && !child_count(box) &&
	    (is(box, "dhcp") || (is(box, "dns") && !box->properties))) {
		xmlUnlinkNode(box);
		xmlFreeNode(box);
	}
	return 0;
}

/* An edited copy of from's document (work, taken) as a network: every
 * check runs again (lax as from was; its warnings go along); *out on
 * success. */
static int edited(xmlDocPtr work, const struct netxml *from, const char *what,
		  struct netxml **out, struct nf_err *e)
{
	struct netxml *res = nf_xcalloc(1, sizeof(*res));
	res->doc = work;
	netxml_copy_dropped(res, from);
	if (netxml_refresh(res, e) < 0) {
		free(res->dropped);
		free(res);
		xmlFreeDoc(work);
		return nf_err_prefix(e, "%s would make the network invalid",
				     what);
	}
	*out = res;
	return 0;
}

int netxml_update(const struct netxml *nx, enum netxml_section sec,
		  enum netxml_update_cmd cmd, int parent_index, const char *xml,
		  struct netxml **out, struct nf_err *e)
{
	char what[64];
	xmlDocPtr frag = NULL, work = xmlCopyDoc(nx->doc, 1);
	int r = netxml_parse_fragment(sec, xml, strlen(xml),
				      cmd != NETXML_DELETE, &frag, e);
	snprintf(what, sizeof(what), "%s %s", netxml_section_name(sec),
		 cmd == NETXML_DELETE	? "delete"
		 : cmd == NETXML_MODIFY ? "modify"
					: "add");
	if (r == 0)
		r = update_apply(work, sec, cmd, parent_index,
				 xmlDocGetRootElement(frag), what, e);
	if (r == 0)
		r = edited(work, nx, what, out, e);
	else
		xmlFreeDoc(work);
	xmlFreeDoc(frag);
	return r;
}

/* ------------------------------------------------ net-update in place */

/* A DHCP host entry as matching sees it (from the fragment). */
struct host_entry {
	const char *id, *name;
	uint64_t mac_key;
	struct nf_addr ip;
	bool has_ip;
};

static bool same_str(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

/* matches() and conflicts() for DHCP hosts, on the view: what the entry
 * gives against a served host. */
static bool host_hits(enum netxml_update_cmd cmd, const struct netxml_host *h,
		      const struct host_entry *x)
{
	bool keyed = (x->mac_key && h->mac_key == x->mac_key) ||
		     same_str(h->id, x->id);
	switch (cmd) {
	case NETXML_DELETE:
		return keyed || (x->has_ip && !nf_addr_cmp(&h->ip, &x->ip)) ||
		       (!x->mac_key && !x->id && !x->has_ip &&
			same_str(h->name, x->name));
	case NETXML_MODIFY:
		return keyed ||
		       (!x->mac_key && !x->id && same_str(h->name, x->name));
	default: /* an add conflicts on any of them */
		return keyed || (x->has_ip && !nf_addr_cmp(&h->ip, &x->ip)) ||
		       same_str(h->name, x->name);
	}
}

/* Whether h would make check_unique_hosts refuse ip's hosts (all but
 * skip, which h replaces). */
static bool host_dup(const struct netxml_ip *ip, const struct netxml_host *h,
		     size_t skip)
{
	for (size_t i = 0; i < ip->nhosts; i++) {
		const struct netxml_host *o = &ip->hosts[i];
		if (i != skip &&
		    ((h->mac_key && o->mac_key == h->mac_key) ||
		     !nf_addr_cmp(&o->ip, &h->ip) ||
		     same_str(o->name, h->name) ||
		     (o->id && h->id && !strcasecmp(o->id, h->id))))
			return true;
	}
	return false;
}

static int node_depth(xmlNodePtr n)
{
	int d = 0;
	for (xmlNodePtr p = n->parent; p && p->type == XML_ELEMENT_NODE;
	     p = p->parent)
		d++;
	return d;
}

/* The element before or after n among its siblings named as n is, or
 * NULL. */
static xmlNodePtr same_sibling(xmlNodePtr n, bool after)
{
	for (xmlNodePtr c = after ? n->next : n->prev; c;
	     c = after ? c->next : c->prev)
		if (is(c, (const char *)n->name))
			return c;
	return NULL;
}

/* Keeps nx's text in step after host element n was put in: its text
 * goes where a neighbouring host's text says; without one the text is
 * dropped, to be formatted anew. */
static void text_put(struct netxml *nx, xmlNodePtr n)
{
	struct netxml_text *t = nx->text;
	if (!t)
		return;
	xmlNodePtr prev = same_sibling(n, false), next = same_sibling(n, true);
	const struct span *ps = prev ? span_of(t, prev) : NULL,
			  *ns = next ? span_of(t, next) : NULL;
	if (!ps && !ns) {
		text_drop(nx);
		return;
	}
	size_t at = ps ? ps->end : ns->start;
	text_splice(t, at, at, n, &e_dhcp_host, node_depth(n));
}

struct netxml_change {
	struct netxml_host gone, put;
	bool has_gone, has_put;
	int family;
	xmlNodePtr added, removed; /* in the document, taken out of it */
	xmlNodePtr parent, prev;   /* where removed was */
};

int netxml_update_here(struct netxml *nx, enum netxml_section sec,
		       enum netxml_update_cmd cmd, int parent_index,
		       const char *xml, struct netxml_change **out)
{
	xmlDocPtr frag = NULL;
	struct nf_err ignore;
	bool add = cmd == NETXML_ADD_FIRST || cmd == NETXML_ADD_LAST;
	int r = -EAGAIN;
	*out = NULL;
	if (sec != NETXML_SEC_IP_DHCP_HOST ||
	    netxml_parse_fragment(sec, xml, strlen(xml), cmd != NETXML_DELETE,
				  &frag, &ignore) < 0)
		goto out;
	xmlNodePtr entry = xmlDocGetRootElement(frag),
		   root = xmlDocGetRootElement(nx->doc);
	if ((cmd != NETXML_DELETE &&
	     check_complete(sec, entry, "", &ignore) < 0))
		goto out;
	xmlNodePtr box =
		container(root, sec, entry, parent_index, false, "", &ignore);
	struct netxml_ip *ip = NULL;
	for (size_t i = 0; box && i < nx->def.nips; i++)
		if (nx->def.ips[i].node == box->parent)
			ip = &nx->def.ips[i];
	if (!ip || ip->nunserved) /* a kept host the view does not hold */
		goto out;
	struct host_entry x = {.mac_key = mac_key(attr(entry, "mac")),
			       .id = attr(entry, "id"),
			       .name = attr(entry, "name")};
	x.has_ip = nf_addr_parse(attr(entry, "ip"), &x.ip) == 0;
	size_t nfound = 0, at = 0;
	for (size_t i = 0; i < ip->nhosts; i++)
		if (host_hits(cmd, &ip->hosts[i], &x) && !nfound++)
			at = i;
	xmlNodePtr found = nfound ? ip->hosts[at].node : NULL;
	if (found && cmd != NETXML_DELETE && identical(found, entry)) {
		r = add || nfound == 1 ? 1 : -EAGAIN; /* there already */
		goto out;
	}
	/* what would refuse goes the whole way, which says why */
	if ((add && found) || (!add && nfound != 1) ||
	    (cmd == NETXML_DELETE && !same_sibling(found, false) &&
	     !same_sibling(found, true) && child_count(box) == 1))
		goto out;
	struct netxml_change *c = nf_xcalloc(1, sizeof(*c));
	struct netxml_host h;
	c->family = ip->address.family;
	if (cmd != NETXML_DELETE) {
		c->added = xmlDocCopyNode(entry, nx->doc, 1);
		if (view_host(ip, c->added, "", &h, &ignore) != 0 ||
		    host_dup(ip, &h, found ? at : SIZE_MAX)) {
			xmlFreeNode(c->added);
			free(c);
			goto out;
		}
	}
	struct span gone = {0};
	const struct span *gs =
		found && nx->text ? span_of(nx->text, found) : NULL;
	if (gs)
		gone = *gs;
	else if (found)
		text_drop(nx);
	if (found) {
		c->gone = ip->hosts[at];
		c->has_gone = true;
		c->removed = found;
		c->parent = found->parent;
		c->prev = found->prev;
	}
	if (cmd == NETXML_MODIFY) {
		xmlReplaceNode(found, c->added);
		ip->hosts[at] = h;
	} else if (cmd == NETXML_DELETE) {
		xmlUnlinkNode(found);
		memmove(&ip->hosts[at], &ip->hosts[at + 1],
			(ip->nhosts - at - 1) * sizeof(*ip->hosts));
		ip->nhosts--;
	} else {
		xmlNodePtr first = NULL;
		for (xmlNodePtr k = box->children; k && !first; k = k->next)
			if (is(k, "host"))
				first = k;
		if (cmd == NETXML_ADD_FIRST && first)
			xmlAddPrevSibling(first, c->added);
		else
			xmlAddChild(box, c->added);
		NF_APPEND(ip->hosts, ip->nhosts, h);
		if (cmd == NETXML_ADD_FIRST) {
			memmove(&ip->hosts[1], &ip->hosts[0],
				(ip->nhosts - 1) * sizeof(*ip->hosts));
			ip->hosts[0] = h;
		}
	}
	if (c->added) {
		c->put = h;
		c->has_put = true;
	}
	if (found && nx->text)
		text_splice(nx->text, gone.start, gone.end, c->added,
			    &e_dhcp_host, c->added ? node_depth(c->added) : 0);
	else if (c->added)
		text_put(nx, c->added);
	*out = c;
	r = 0;
out:
	xmlFreeDoc(frag);
	return r;
}

const struct netxml_host *netxml_change_gone(const struct netxml_change *c)
{
	return c->has_gone ? &c->gone : NULL;
}

const struct netxml_host *netxml_change_put(const struct netxml_change *c)
{
	return c->has_put ? &c->put : NULL;
}

int netxml_change_family(const struct netxml_change *c)
{
	return c->family;
}

void netxml_change_keep(struct netxml_change *c)
{
	if (!c)
		return;
	xmlFreeNode(c->removed);
	free(c);
}

void netxml_change_revert(struct netxml *nx, struct netxml_change *c)
{
	struct nf_err ignore;
	if (!c)
		return;
	if (c->added && c->removed)
		xmlReplaceNode(c->added, c->removed);
	else if (c->added)
		xmlUnlinkNode(c->added);
	else if (c->prev)
		xmlAddNextSibling(c->prev, c->removed);
	else if (c->parent->children)
		xmlAddPrevSibling(c->parent->children, c->removed);
	else
		xmlAddChild(c->parent, c->removed);
	xmlFreeNode(c->added);
	free(c);
	if (load(nx, "network", &ignore) < 0)
		abort(); /* the document as it was, which was valid */
}

/* Puts node in root after the last of the elements libvirt writes before
 * it (names: those, in order), else first. */
static void insert_after(xmlNodePtr root, xmlNodePtr node,
			 const char *const *names, size_t n)
{
	for (size_t i = n; i-- > 0;) {
		xmlNodePtr a = child(root, names[i]);
		if (a) {
			xmlAddNextSibling(a, node);
			return;
		}
	}
	if (root->children)
		xmlAddPrevSibling(root->children, node);
	else
		xmlAddChild(root, node);
}

static void set_text(xmlNodePtr root, const char *name, const char *text)
{
	static const char *const before[] = {"name", "uuid", "title"};
	xmlNodePtr old = child(root, name);
	if (old) {
		xmlUnlinkNode(old);
		xmlFreeNode(old);
	}
	if (!text)
		return;
	xmlNodePtr n = xmlNewDocNode(root->doc, NULL, BAD_CAST name, NULL);
	xmlAddChild(n, xmlNewDocText(root->doc, BAD_CAST text));
	insert_after(root, n, before, !strcmp(name, "title") ? 2 : 3);
}

/* the element xml holds, in namespace uri (prefix key), for root's doc */
static int meta_element(xmlNodePtr root, const char *xml, const char *uri,
			const char *key, xmlNodePtr *out, struct nf_err *e)
{
	/* entities are never expanded, and a DOCTYPE (where they would be
	 * declared: a file of root's named there) is refused */
	xmlDocPtr frag = xmlReadMemory(xml, (int)strlen(xml), "metadata", NULL,
				       XML_PARSE_NONET | XML_PARSE_NOERROR |
					       XML_PARSE_NOWARNING);
	xmlNodePtr top = frag ? xmlDocGetRootElement(frag) : NULL;
	if (top && frag->intSubset) {
		xmlFreeDoc(frag);
		return nf_errf(e, EINVAL,
			       "net-metadata: --set takes an element, not a "
			       "document with a DOCTYPE");
	}
	if (!top) {
		xmlFreeDoc(frag);
		return nf_errf(e, EINVAL,
			       "net-metadata: --set takes one XML element "
			       "(is '%.40s' XML?)",
			       xml);
	}
	xmlNodePtr n = xmlDocCopyNode(top, root->doc, 1);
	xmlFreeDoc(frag);
	xmlNsPtr ns = xmlNewNs(n, BAD_CAST uri, BAD_CAST key);
	/* the element and what inside it has no namespace of its own */
	for (xmlNodePtr c = n; c;) {
		if (c->type == XML_ELEMENT_NODE && !c->ns)
			xmlSetNs(c, ns);
		if (c->children && c->type == XML_ELEMENT_NODE)
			c = c->children;
		else {
			while (c != n && !c->next)
				c = c->parent;
			c = c == n ? NULL : c->next;
		}
	}
	xmlSetNs(n, ns);
	*out = n;
	return 0;
}

static int set_metadata(xmlNodePtr root, const char *xml, const char *uri,
			const char *key, struct nf_err *e)
{
	static const char *const before[] = {"name", "uuid", "title",
					     "description"};
	xmlNodePtr md = child(root, "metadata"), n = NULL;
	if (!uri || !*uri)
		return nf_errf(e, EINVAL, "net-metadata needs a namespace URI");
	if (xml) {
		if (!key || !*key || !isalpha((unsigned char)key[0]) ||
		    key[strspn(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNO"
				    "PQRSTUVWXYZ0123456789_-.")])
			return nf_errf(
				e, EINVAL,
				"net-metadata: --key '%s' is not an XML "
				"prefix (a letter, then letters, digits, "
				"'_', '-', '.')",
				key ? key : "");
		if (meta_element(root, xml, uri, key, &n, e) < 0)
			return -1;
	}
	if (!md && n) {
		md = xmlNewDocNode(root->doc, NULL, BAD_CAST "metadata", NULL);
		insert_after(root, md, before, 4);
	}
	for (xmlNodePtr c = md ? md->children : NULL, next; c; c = next) {
		next = c->next;
		if (c->type == XML_ELEMENT_NODE && c->ns &&
		    !strcmp((const char *)c->ns->href, uri)) {
			xmlUnlinkNode(c);
			xmlFreeNode(c);
		}
	}
	if (n)
		xmlAddChild(md, n);
	else if (md && !xmlFirstElementChild(md)) {
		xmlUnlinkNode(md);
		xmlFreeNode(md);
	}
	return 0;
}

int netxml_set_meta(const struct netxml *nx, enum netxml_meta what,
		    const char *text, const char *uri, const char *key,
		    struct netxml **out, struct nf_err *e)
{
	xmlDocPtr work = xmlCopyDoc(nx->doc, 1);
	xmlNodePtr root = xmlDocGetRootElement(work);
	int r = 0;
	if (what == NETXML_METADATA)
		r = set_metadata(root, text, uri, key, e);
	else
		set_text(root, what == NETXML_TITLE ? "title" : "description",
			 text);
	if (r < 0) {
		xmlFreeDoc(work);
		return r;
	}
	return edited(work, nx,
		      what == NETXML_TITLE	   ? "the title"
		      : what == NETXML_DESCRIPTION ? "the description"
						   : "the metadata",
		      out, e);
}

/* The portgroup a port takes: the one named, else the default one (NULL
 * when there is none); an error for a name the network lacks. */
static int portgroup_of(const struct netxml *nx, const char *portgroup,
			xmlNodePtr *out, struct nf_err *e)
{
	xmlNodePtr root = xmlDocGetRootElement(nx->doc);
	*out = NULL;
	FOR_CHILD (pg, root, "portgroup")
		if (portgroup ? !strcmp(attr(pg, "name"), portgroup)
			      : yes(pg, "default"))
			*out = pg;
	if (portgroup && !*out)
		return nf_errf(e, EINVAL, "network '%s' has no portgroup '%s'",
			       nx->def.name, portgroup);
	return 0;
}

int netxml_port_bw(const struct netxml *nx, const char *portgroup,
		   struct netxml_bw *in, struct netxml_bw *out,
		   struct nf_err *e)
{
	xmlNodePtr pg;
	memset(in, 0, sizeof(*in));
	memset(out, 0, sizeof(*out));
	if (portgroup_of(nx, portgroup, &pg, e) < 0)
		return -EINVAL;
	xmlNodePtr bw = pg ? child(pg, "bandwidth") : NULL;
	struct netxml_bw *to[] = {in, out};
	static const char *dir[] = {"inbound", "outbound"};
	for (int i = 0; bw && i < 2; i++) {
		xmlNodePtr x = child(bw, dir[i]);
		if (x && uattr(x, "average", 0))
			*to[i] = (struct netxml_bw){
				.set = true,
				.average = uattr(x, "average", 0),
				.peak = uattr(x, "peak", 0),
				.burst = uattr(x, "burst", 0),
				.floor = uattr(x, "floor", 0)};
	}
	return 0;
}

int netxml_vlan(const struct netxml *nx, const char *portgroup, unsigned *tag,
		struct nf_err *e)
{
	xmlNodePtr root = xmlDocGetRootElement(nx->doc), scope;
	*tag = 0;
	if (portgroup_of(nx, portgroup, &scope, e) < 0)
		return -EINVAL;
	xmlNodePtr vlan = scope ? child(scope, "vlan") : NULL;
	if (!vlan)
		vlan = child(root, "vlan");
	if (!vlan)
		return 0;
	size_t n = 0;
	FOR_CHILD (t, vlan, "tag") {
		*tag = (unsigned)uattr(t, "id", 0);
		n++;
	}
	if (n > 1 || attr(vlan, "trunk"))
		return nf_errf(e, ENOTSUP,
			       "network '%s': a VLAN trunk (line %d) cannot "
			       "be carried by one SR-IOV VF; give one <tag>",
			       nx->def.name, line(vlan));
	return 0;
}

const struct netxml_ip *netxml_ip_of(const struct netdef *d,
				     const struct nf_addr *ip)
{
	for (size_t i = 0; i < d->nips; i++)
		if (nf_addr_in_subnet(ip, &d->ips[i].address, d->ips[i].prefix))
			return &d->ips[i];
	return NULL;
}

bool netxml_ips_overlap(const struct netxml_ip *a, const struct netxml_ip *b)
{
	int p = a->prefix < b->prefix ? a->prefix : b->prefix;
	return a->address.family == b->address.family &&
	       nf_addr_in_subnet(&a->address, &b->address, p);
}
