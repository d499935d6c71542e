/* Unit tests for the network XML model: parse, reject, normalise, format,
 * defaults. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../netd/netxml.h"
#include "xmlcmp.h"

/* a and b are both in s, a first */
static void assert_before(const char *s, const char *a, const char *b)
{
	const char *pa = strstr(s, a), *pb = strstr(s, b);
	if (!pa || !pb)
		fail_msg("%s is missing from:\n%s", pa ? b : a, s);
	if (pa >= pb)
		fail_msg("%s comes after %s in:\n%s", a, b, s);
}

static struct netxml *ok_parse(const char *xml)
{
	struct netxml *nx = NULL;
	struct nf_err e = {0};
	int r = netxml_parse(xml, strlen(xml), "test", &nx, &e);
	if (r < 0)
		fail_msg("unexpected error: %s", e.msg);
	return nx;
}

/* Parses xml expecting failure; every fragment must be in the message. */
static void rejects(const char *xml, ...)
{
	struct netxml *nx = NULL;
	struct nf_err e = {0};
	va_list ap;
	int r = netxml_parse(xml, strlen(xml), "test", &nx, &e);
	if (r == 0) {
		netxml_free(nx);
		fail_msg("accepted: %s", xml);
	}
	va_start(ap, xml);
	for (const char *frag; (frag = va_arg(ap, const char *));)
		if (!strstr(e.msg, frag))
			fail_msg("message '%s' lacks '%s'", e.msg, frag);
	va_end(ap);
}

#define NET(body) "<network><name>t</name>" body "</network>"
#define IP24(body)                                                             \
	NET("<ip address='192.168.10.1' prefix='24'><dhcp>" body "</dhcp></"   \
	    "ip>")

/* A lax parse of xml: accepted; each of the warnings (in order) holds its
 * fragment; the strict parse refuses it. Returns the network. */
struct seen {
	const char *const *want;
	size_t n, i;
};

static void check_warning(const struct netxml_warning *w, void *ctx)
{
	struct seen *s = ctx;
	if (s->i >= s->n)
		fail_msg("unexpected warning: %s", w->msg);
	if (!strstr(w->msg, s->want[s->i]))
		fail_msg("warning %zu '%s' lacks '%s'", s->i, w->msg,
			 s->want[s->i]);
	s->i++;
}

static struct netxml *lax(const char *xml, const char *const *want, size_t n)
{
	struct netxml *nx = NULL;
	struct nf_err e = {0};
	if (netxml_parse_flags(xml, strlen(xml), "test", NETXML_LAX, &nx, &e) <
	    0)
		fail_msg("refused: %s", e.msg);
	struct seen s = {want, n, 0};
	netxml_each_warning(nx, check_warning, &s);
	if (s.i != n)
		fail_msg("%zu warnings, wanted %zu", s.i, n);
	struct netxml *strict = NULL;
	if (netxml_parse(xml, strlen(xml), "test", &strict, &e) == 0)
		fail_msg("the strict parse took: %s", xml);
	return nx;
}

/* What libvirt's parser takes and tools generate: dropped or kept
 * unserved, each with its warning; refused when strict. */
static void test_lax(void **st)
{
	(void)st;
	static const char *text[] = {"line 1: text '# from a template'"};
	struct netxml *nx = lax(NET("# from a template"), text, 1);
	char *out = netxml_format(nx);
	assert_null(strstr(out, "template"));
	free(out);
	netxml_free(nx);

	static const char *dns[] = {"a second <domain>", "a second <dns>"};
	nx = lax(NET("<domain name='a.test'/><domain name='b.test'/>"
		     "<dns><host ip='10.0.0.5'><hostname>x</hostname></host>"
		     "</dns><dns enable='no'/>"),
		 dns, 2);
	assert_string_equal(nx->def.domain, "a.test");
	assert_true(nx->def.dns_enable); /* the first <dns> */
	netxml_free(nx);

	static const char *lease[] = {"<leasetime> inside <dhcp>",
				      "network has no DHCP server"};
	nx = lax(IP24("<leasetime>3600</leasetime>"), lease, 2);
	assert_false(nx->def.ips[0].has_dhcp);
	out = netxml_format(nx);
	assert_null(strstr(out, "dhcp"));
	free(out);
	netxml_free(nx);

	static const char *fwd[] = {"<virtualport> inside <forward>",
				    "<portgroup> inside <forward>",
				    "<ip via=...>"};
	nx = lax(NET("<forward mode='nat'><virtualport type='openvswitch'/>"
		     "<portgroup name='v'/></forward>"
		     "<ip address='10.1.0.1' prefix='24' via='10.1.0.254'/>"),
		 fwd, 3);
	netxml_free(nx);

	static const char *outside[] = {
		"<host mac='52:54:00:00:00:09' ip='10.9.9.9'> is outside the "
		"subnet 192.168.10.0/24: kept"};
	nx = lax(IP24("<host mac='52:54:00:00:00:09' ip='10.9.9.9'/>"
		      "<host mac='52:54:00:00:00:08' ip='192.168.10.8'/>"),
		 outside, 1);
	assert_int_equal(nx->def.ips[0].nhosts, 1); /* not served */
	assert_true(nx->def.warnings[0].unserved);
	out = netxml_format(nx);
	assert_non_null(strstr(out, "10.9.9.9")); /* kept */
	free(out);
	netxml_free(nx);

	static const char *wild[] = {"*.apps</hostname>: dnsmasq never answers "
				     "a wildcard",
				     "address=/b/10.0.0.6"};
	nx = lax(NET("<dns><host ip='10.0.0.5'><hostname>*.apps</hostname>"
		     "</host><host ip='10.0.0.6'><hostname>*.b</hostname>"
		     "<hostname>b</hostname></host></dns>"),
		 wild, 2);
	assert_int_equal(nx->def.ndns_hosts, 1); /* b alone */
	netxml_free(nx);
}

static void test_default_view(void **st)
{
	(void)st;
	char *xml;
	struct nf_err e;
	assert_int_equal(
		nf_read_file("examples/default.xml", 1 << 20, &xml, NULL, &e),
		0);
	struct netxml *nx = ok_parse(xml);
	const struct netdef *d = &nx->def;
	assert_string_equal(d->name, "default");
	assert_int_equal(d->mode, NETXML_FWD_NAT);
	assert_string_equal(d->bridge, "nfbr0");
	assert_int_equal(d->nips, 1);
	assert_int_equal(d->ips[0].prefix, 24);
	assert_int_equal(d->ips[0].nranges, 1);
	assert_int_equal(d->ips[0].nhosts, 5);
	assert_string_equal(d->ips[0].hosts[0].mac, "52:54:00:00:00:11");
	assert_string_equal(d->ips[0].hosts[4].name, "vm5");
	assert_int_equal(d->ndns_hosts, 1);
	assert_string_equal(d->domain, "lab.test");
	netxml_free(nx);
	free(xml);
}

static void test_normalise(void **st)
{
	(void)st;
	struct netxml *nx = ok_parse(
		"<network ipv6='no'><name>n</name>"
		"<uuid>81FF0D90C91E674264DA4A736EDB9A9B</uuid>"
		"<bridge name='br9'/><forward dev='eth1'/>"
		"<mac address='52:54:00:AB:CD:EF'/>"
		"<ip address='10.1.0.1'><dhcp><host mac='0:16:3E:a:b:c' "
		"ip='10.1.0.5'/></dhcp></ip></network>");
	char *out = netxml_format(nx), why[256];
	const char *want =
		"<network><name>n</name>"
		"<uuid>81ff0d90-c91e-6742-64da-4a736edb9a9b</uuid>"
		"<forward dev='eth1' mode='nat'><interface dev='eth1'/>"
		"</forward><bridge name='br9' stp='on' delay='0'/>"
		"<mac address='52:54:00:ab:cd:ef'/>"
		"<ip address='10.1.0.1'><dhcp><host mac='00:16:3e:0a:0b:0c' "
		"ip='10.1.0.5'/></dhcp></ip></network>";
	if (!xmlcmp_strings(out, want, why, sizeof(why)))
		fail_msg("%s\n%s", why, out);
	assert_int_equal(nx->def.ips[0].prefix, 8); /* class A default */
	/* canonical order: <forward> printed before <bridge> */
	assert_before(out, "<forward", "<bridge");
	/* formatting is a fixed point */
	struct netxml *again = ok_parse(out);
	char *out2 = netxml_format(again);
	assert_string_equal(out, out2);
	free(out2);
	netxml_free(again);
	free(out);
	netxml_free(nx);
}

static void test_structure_errors(void **st)
{
	(void)st;
	rejects("<network><name>t</name>\n<frobnicate/></network>", "line 2",
		"<frobnicate>", "unknown element", "expected one of", NULL);
	rejects(NET("<bridge name='b' colour='red'/>"), "<bridge>",
		"unknown attribute 'colour'", "allowed: name", NULL);
	rejects(NET("<mac address='52:54:00:zz:00:01'/>"), "<mac>",
		"address='52:54:00:zz:00:01'", "MAC address", NULL);
	rejects(NET("<ip address='300.1.1.1'/>"), "address='300.1.1.1'",
		"IPv4 or IPv6", NULL);
	rejects(NET("<ip address='10.0.0.1' prefix='33'/>"), "prefix='33'",
		"too long", NULL);
	rejects(NET("<ip address='10.0.0.1' prefix='129'/>"), "prefix='129'",
		"0 to 128", NULL);
	rejects(NET("<ip address='10.0.0.1' netmask='255.0.255.0'/>"),
		"not a contiguous netmask", NULL);
	rejects(NET("<ip address='10.0.0.1' netmask='255.0.0.0' "
		    "prefix='8'/>"),
		"not both", NULL);
	rejects(NET("<bridge name='abcdefghijklmnop'/>"),
		"name='abcdefghijklmnop'", "1 to 15 bytes", NULL);
	rejects(NET("<mtu/>"), "missing required attribute 'size'", NULL);
	rejects("<network><uuid>81ff0d90-c91e-6742-64da-4a736edb9a9b</uuid>"
		"</network>",
		"missing required element <name>", NULL);
	rejects(NET("<name>again</name>"), "only once", NULL);
	rejects("<net><name>t</name></net>", "root element is <net>",
		"expected <network>", NULL);
	rejects("<network><name>t</name>", "line 1", NULL); /* not closed */
	rejects(NET("<forward mode='tunnel'/>"), "mode='tunnel'",
		"one of: nat|route", NULL);
	rejects("<network><name>a/b</name></network>", "'a/b' is invalid",
		NULL);
	rejects(NET("<bridge>text</bridge>"), "unexpected text", NULL);
}

static void test_semantic_errors(void **st)
{
	(void)st;
	rejects(IP24("<range start='192.168.11.2' end='192.168.11.9'/>"),
		"range 192.168.11.2-192.168.11.9",
		"outside the subnet "
		"192.168.10.0/24",
		NULL);
	rejects(IP24("<range start='192.168.10.9' end='192.168.10.2'/>"),
		"after its end", NULL);
	rejects(IP24("<host mac='52:54:00:00:00:01' ip='192.168.10.5'/>\n"
		     "<host mac='52:54:00:00:00:01' ip='192.168.10.6'/>"),
		"line 2", "mac='52:54:00:00:00:01' already", NULL);
	rejects(IP24("<host mac='52:54:00:00:00:01' ip='192.168.10.5'/>"
		     "<host mac='52:54:00:00:00:02' ip='192.168.10.5'/>"),
		"ip='192.168.10.5' is already reserved", NULL);
	rejects(IP24("<host mac='52:54:00:00:00:01' name='a' "
		     "ip='192.168.10.5'/><host mac='52:54:00:00:00:02' "
		     "name='a' ip='192.168.10.6'/>"),
		"name='a' already", NULL);
	/* what libvirt accepts and then silently never serves */
	rejects(IP24("<host mac='52:54:00:00:00:01' ip='10.9.9.9'/>"),
		"ip='10.9.9.9' is outside the subnet 192.168.10.0/24",
		"dnsmasq would never hand it out", "Use an address inside",
		NULL);
	rejects(IP24("<host ip='192.168.10.5'/>"), "needs mac=", NULL);
	rejects(NET("<forward mode='open' dev='eth0'/>"), "mode='open'",
		"remove dev='eth0'", NULL);
	rejects(NET("<forward mode='hostdev'>"
		    "<address type='pci' bus='1' slot='0' function='1'/>"
		    "<address type='pci' bus='0x01' slot='0' function='1'/>"
		    "</forward>"),
		"listed twice", NULL);
	rejects(NET("<forward mode='passthrough'><interface dev='e1'/>"
		    "<interface dev='e1'/></forward>"),
		"dev='e1' is listed twice", NULL);
	rejects(NET("<forward mode='route'><nat/></forward>"),
		"<nat> is only valid with mode='nat'", NULL);
	rejects(NET("<dns enable='no'><txt name='a' value='b'/></dns>"),
		"DNS is disabled", NULL);
	rejects(NET("<ip family='ipv6' address='10.0.0.1'/>"),
		"not an ipv6 address", NULL);
	rejects(NET("<mac address='01:00:5e:00:00:01'/>"), "multicast", NULL);
	rejects(NET("<forward mode='private' dev='e1'/><bridge name='b'/>"),
		"<bridge> is not used with mode='private'", NULL);
	rejects(NET("<ip address='10.0.0.1' prefix='24'><dhcp/></ip>"
		    "<ip address='10.0.1.1' prefix='24'><dhcp/></ip>"),
		"only one IPv4 subnet", NULL);
	rejects(NET("<portgroup name='a'/><portgroup name='a'/>"),
		"portgroup name='a' is already used", NULL);
	rejects(NET("<route address='10.1.0.5' prefix='24' "
		    "gateway='10.0.0.2'/>"),
		"host bits set", NULL);
	rejects(NET("<ip family='ipv6' address='fd00::1' prefix='64'><dhcp>"
		    "<host mac='52:54:00:00:00:01' ip='fd00::5'/></dhcp></ip>"),
		"cannot identify an IPv6 host", NULL);
	rejects(NET("<title>two\nlines</title>"), "one line", NULL);
}

static void test_hostile_input(void **st)
{
	(void)st;
	rejects("<?xml version='1.0'?>\n<!DOCTYPE network [\n"
		"<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;&a;'>\n"
		"]><network><name>&b;</name></network>",
		"DOCTYPE", NULL);
	rejects("<!DOCTYPE network SYSTEM 'file:///etc/passwd'>"
		"<network><name>t</name></network>",
		"DOCTYPE", NULL);
	rejects("<network><name>t\xff\xfe</name></network>", "UTF-8", NULL);
	rejects("<network><name>t\xc0\xaf</name></network>", "UTF-8", NULL);
	/* over the size bound */
	size_t n = NETXML_MAX_SIZE + 64;
	char *big = malloc(n + 1);
	memset(big, ' ', n);
	memcpy(big, "<network><name>t</name>", 23);
	memcpy(big + n - 10, "</network>", 10);
	big[n] = '\0';
	struct netxml *nx = NULL;
	struct nf_err e;
	assert_int_equal(netxml_parse(big, n, "big", &nx, &e), -EFBIG);
	assert_non_null(strstr(e.msg, "at most"));
	free(big);
	/* a name element full of markup-looking escapes stays text */
	nx = ok_parse(NET("<description>&lt;b&gt; &amp; 'q'</description>"));
	char *out = netxml_format(nx);
	assert_non_null(strstr(out, "&lt;b&gt; &amp; 'q'"));
	free(out);
	netxml_free(nx);
}

static bool in_use(const char *name, void *ctx)
{
	const char **used = ctx;
	for (; *used; used++)
		if (!strcmp(*used, name))
			return true;
	return false;
}

static void test_defaults(void **st)
{
	(void)st;
	const char *used[] = {"nfbr0", "nfbr1", NULL};
	struct nf_err e;
	struct netxml *nx = ok_parse(NET(
		"<forward mode='nat'/><ip address='10.5.0.1' prefix='24'/>"
		"<route address='10.6.0.0' prefix='16' gateway='10.5.0.9'/>"));
	assert_false(nx->def.has_uuid);
	assert_int_equal(netxml_fill_defaults(nx, in_use, used, &e), 0);
	assert_true(nx->def.has_uuid);
	assert_string_equal(nx->def.bridge, "nfbr2");
	assert_true(nx->def.has_mac);
	assert_int_equal(nx->def.mac[0], 0x52);
	assert_int_equal(nx->def.mac[1], 0x54);
	assert_int_equal(nx->def.mac[2], 0x00);
	char *out = netxml_format(nx);
	/* filled elements land in libvirt's order */
	assert_before(out, "<uuid>", "<forward");
	assert_before(out, "<bridge", "<mac");
	assert_before(out, "<mac", "<ip");
	free(out);
	netxml_free(nx);
	/* modes without a bridge of ours get neither bridge nor mac */
	nx = ok_parse(NET("<forward mode='bridge'><interface dev='eth0'/>"
			  "</forward>"));
	assert_int_equal(netxml_fill_defaults(nx, in_use, used, &e), 0);
	assert_null(nx->def.bridge);
	assert_false(nx->def.has_mac);
	netxml_free(nx);
}

static void test_dnsmasq_options_and_metadata(void **st)
{
	(void)st;
	struct netxml *nx = ok_parse(
		"<network xmlns:dnsmasq='" NETXML_DNSMASQ_NS "'><name>t</name>"
		"<metadata><a:x xmlns:a='urn:a'>v</a:x></metadata>"
		"<dnsmasq:options><dnsmasq:option value='foo=bar'/>"
		"</dnsmasq:options></network>");
	assert_int_equal(nx->def.ndnsmasq_options, 1);
	assert_string_equal(nx->def.dnsmasq_options[0], "foo=bar");
	char *out = netxml_format(nx);
	assert_non_null(strstr(out, "xmlns:dnsmasq="));
	assert_non_null(strstr(out, "<a:x xmlns:a=\"urn:a\">v</a:x>"));
	free(out);
	netxml_free(nx);
	rejects("<network><name>t</name><metadata><x/></metadata></network>",
		"namespace", NULL);
	rejects("<network xmlns:o='urn:other'><name>t</name><o:options/>"
		"</network>",
		"namespace 'urn:other' is not allowed", NULL);
}

/* Every field that reaches dnsmasq's config or hostsfile, a file path or
 * a link name is checked at parse time: what would end its line, split
 * its fields or make it another dnsmasq keyword is refused, naming the
 * element, attribute and line. */
static void test_injection_refused(void **st)
{
	(void)st;
	rejects(NET("<dns><txt name='t' value='x&#10;dhcp-script=/tmp/s'/>"
		    "</dns>"),
		"line 1: <txt>", "value=", "one line", NULL);
	rejects(NET("<dns><srv service='s' protocol='tcp' "
		    "target='a,b'/></dns>"),
		"<srv>", "target=", NULL);
	rejects(NET("<dns><srv service='s,x' protocol='tcp'/></dns>"), "<srv>",
		"service=", NULL);
	rejects(NET("<dns><host ip='10.0.0.1'><hostname>a&#10;b"
		    "</hostname></host></dns>"),
		"<hostname>", NULL);
	rejects(IP24("<host mac='52:54:00:00:00:02' name='vm2,ignore' "
		     "ip='192.168.10.2'/>"),
		"<host>", "name='vm2,ignore'", "host name", NULL);
	rejects(IP24("<host mac='52:54:00:00:00:02' name='ignore' "
		     "ip='192.168.10.2'/>"),
		"name='ignore'", "keywords", NULL);
	rejects(IP24("<host mac='52:54:00:00:00:02' name='vm&#10;52:54:00:"
		     "00:00:09,192.168.10.9' ip='192.168.10.2'/>"),
		"<host>", "name=", NULL);
	rejects(IP24("<host mac='52:54:00:00:00:02' name='3600' "
		     "ip='192.168.10.2'/>"),
		"name='3600'", NULL);
	rejects(NET("<ip address='192.168.10.1' prefix='24'>"
		    "<tftp root='tftp'/></ip>"),
		"<tftp>", "absolute path", NULL);
	rejects(NET("<ip address='192.168.10.1' prefix='24'>"
		    "<tftp root='/srv&#10;enable-dbus'/></ip>"),
		"<tftp>", NULL);
	rejects(IP24("<range start='192.168.10.2' end='192.168.10.9'/>"
		     "<bootp file='a&#10;conf-file=/etc/x'/>"),
		"<bootp>", "file=", NULL);
	rejects(NET("<bridge name='br,eth0'/>"), "<bridge>", "name=", NULL);
	rejects(NET("<title>a&#10;b</title>"), "<title>", NULL);
	rejects("<network xmlns:dnsmasq='" NETXML_DNSMASQ_NS "'><name>t"
		"</name><dnsmasq:options><dnsmasq:option value='a&#10;"
		"dhcp-script=/x'/></dnsmasq:options></network>",
		"<option>", "value=", NULL);
}

/* What is stored comes back exactly, white space and all. */
static void test_exact_round_trip(void **st)
{
	(void)st;
	const char *xml =
		NET("<description>two&#13;\nlines\tand a tab</description>"
		    "<dns><txt name='t' value='a, b #c \"d\"'/></dns>");
	struct netxml *a = ok_parse(xml);
	char *one = netxml_format(a);
	struct netxml *b = ok_parse(one);
	char *two = netxml_format(b);
	assert_string_equal(one, two);
	assert_non_null(strstr(one, "two&#13;\nlines\tand a tab"));
	assert_string_equal(b->def.txts[0].value, "a, b #c \"d\"");
	free(one);
	free(two);
	netxml_free(a);
	netxml_free(b);
}

static void test_leases(void **st)
{
	(void)st;
	struct netxml *nx = ok_parse(
		IP24("<range start='192.168.10.2' end='192.168.10.9'>"
		     "<lease expiry='2' unit='hours'/></range>"
		     "<host mac='52:54:00:00:00:01' ip='192.168.10.20'>"
		     "<lease expiry='0'/></host>"
		     "<host name='n' ip='192.168.10.21'><lease "
		     "expiry='5'/></host>"));
	assert_int_equal(nx->def.ips[0].ranges[0].lease, 7200);
	assert_int_equal(nx->def.ips[0].hosts[0].lease, NETXML_LEASE_INFINITE);
	assert_int_equal(nx->def.ips[0].hosts[1].lease, 300);
	netxml_free(nx);
}

/* One step of the differential test: the update in place on a (falling
 * back to netxml_update as net-update does) and always by netxml_update
 * on b; both must give the same result, the same document and the same
 * view, and a's kept text must be its document formatted. */
static int in_place, text_kept; /* steps done in place; text followed */

static void both_ways(struct netxml **a, struct netxml **b, int sec, int cmd,
		      const char *frag, bool revert)
{
	struct nf_err e = {0};
	struct netxml *nb = NULL, *na = NULL;
	struct netxml_change *c = NULL;
	size_t len;
	char *before = netxml_format(*a);
	int rb = netxml_update(*b, sec, cmd, -1, frag, &nb, &e);
	int ra = netxml_update_here(*a, sec, cmd, -1, frag, &c);
	if (ra == 0) {
		in_place++;
		text_kept += (*a)->text != NULL;
	}
	if (ra == -EAGAIN) {
		char *now = netxml_format(*a);
		assert_string_equal(now, before); /* untouched */
		free(now);
		ra = netxml_update(*a, sec, cmd, -1, frag, &na, &e);
	}
	if ((ra < 0) != (rb < 0) || (ra >= 0 && ra != rb))
		fail_msg("%s: in place %d, whole %d", frag, ra, rb);
	if (ra == 0 && c && revert) {
		netxml_change_revert(*a, c);
		char *now = netxml_format(*a);
		assert_string_equal(now, before);
		assert_string_equal(netxml_text(*a, &len), before);
		free(now);
		netxml_free(nb);
		free(before);
		return;
	}
	netxml_change_keep(c);
	if (na) {
		netxml_free(*a);
		*a = na;
	}
	if (nb) {
		netxml_free(*b);
		*b = nb;
	}
	char *fa = netxml_format(*a), *fb = netxml_format(*b);
	assert_string_equal(fa, fb);
	const char *t = netxml_text(*a, &len);
	assert_string_equal(t, fa);
	assert_int_equal(len, strlen(fa));
	assert_int_equal((*a)->def.nips, (*b)->def.nips);
	for (size_t i = 0; i < (*a)->def.nips; i++) {
		const struct netxml_ip *x = &(*a)->def.ips[i],
				       *y = &(*b)->def.ips[i];
		assert_int_equal(x->nhosts, y->nhosts);
		for (size_t h = 0; h < x->nhosts; h++) {
			assert_true(
				!nf_addr_cmp(&x->hosts[h].ip, &y->hosts[h].ip));
			assert_int_equal(x->hosts[h].mac_key,
					 y->hosts[h].mac_key);
			assert_int_equal(x->hosts[h].line, y->hosts[h].line);
			assert_ptr_equal(x->hosts[h].node->parent->parent,
					 x->node);
		}
	}
	free(fa);
	free(fb);
	free(before);
}

/* net-update in place against the whole way, on random steps: adds first
 * and last, deletes by MAC, address or name, modifies, conflicts, the
 * last host of a <dhcp> going (its <dhcp> with it) and coming back, an
 * IPv6 subnet beside, a revert now and then. */
static void test_update_in_place(void **st)
{
	(void)st;
	const char *xml = NET(
		"<domain name='example'/><dns><host ip='192.168.10.5'>"
		"<hostname>d</hostname></host></dns>"
		"<ip address='192.168.10.1' prefix='24'><dhcp>"
		"<range start='192.168.10.100' end='192.168.10.200'/>"
		"<host mac='52:54:00:00:00:01' name='h1' ip='192.168.10.11'/>"
		"<host mac='52:54:00:00:00:02' ip='192.168.10.12'>"
		"<lease expiry='5'/></host>"
		"</dhcp></ip>"
		"<ip family='ipv6' address='fd00::1' prefix='64'><dhcp>"
		"<host id='0:1:0:1:aa' name='s6' ip='fd00::11'/>"
		"</dhcp></ip>");
	struct netxml *a = ok_parse(xml), *b = ok_parse(xml);
	size_t len;
	netxml_text(a, &len); /* kept from the start; dropped and made anew
			       * where an update cannot follow */
	unsigned seed = 18;
	for (int step = 0; step < 600; step++) {
		char frag[256];
		int k = (int)(rand_r(&seed) % 24) + 1,
		    what = (int)(rand_r(&seed) % 8), cmd, sec = 0;
		bool v6 = rand_r(&seed) % 6 == 0;
		switch (what) {
		case 0:
		case 1:
		case 2:
			cmd = what == 0 ? NETXML_ADD_FIRST : NETXML_ADD_LAST;
			if (v6)
				snprintf(frag, sizeof(frag),
					 "<host id='0:1:0:1:%02x' "
					 "ip='fd00::%x'/>",
					 k, 0x20 + k);
			else
				snprintf(frag, sizeof(frag),
					 "<host mac='52:54:00:00:01:%02X' "
					 "name='g%d' ip='192.168.10.%d'/>",
					 k, k, 20 + k);
			break;
		case 3:
			cmd = NETXML_DELETE;
			snprintf(frag, sizeof(frag),
				 "<host mac='52:54:00:00:01:%02x'/>", k);
			break;
		case 4:
			cmd = NETXML_DELETE;
			snprintf(frag, sizeof(frag),
				 v6 ? "<host ip='fd00::%x'/>"
				    : "<host ip='192.168.10.%d'/>",
				 v6 ? 0x20 + k : 20 + k);
			break;
		case 5:
			cmd = NETXML_DELETE;
			snprintf(frag, sizeof(frag), "<host name='g%d'/>", k);
			break;
		case 6:
			cmd = NETXML_MODIFY;
			snprintf(frag, sizeof(frag),
				 "<host mac='52:54:00:00:01:%02x' name='g%d' "
				 "ip='192.168.10.%d'/>",
				 k, k, 60 + (int)(rand_r(&seed) % 30));
			break;
		default: /* a clash: an address or name another has */
			cmd = NETXML_ADD_LAST;
			snprintf(frag, sizeof(frag),
				 "<host mac='52:54:00:00:02:%02x' name='%s' "
				 "ip='192.168.10.%d'/>",
				 k, k % 2 ? "h1" : "fresh", k % 2 ? 90 : 11);
			break;
		}
		both_ways(&a, &b, sec, cmd, frag, rand_r(&seed) % 10 == 0);
	}
	/* the path under test was taken, and mostly kept its text */
	if (in_place < 150 || text_kept < in_place * 9 / 10)
		fail_msg("%d steps in place, %d of them with the text kept",
			 in_place, text_kept);
	/* every host of the IPv4 <dhcp> and its range go: the <dhcp> goes
	 * (the whole way), then comes back */
	for (int pass = 0; pass < 2; pass++)
		for (int k = 0; k <= 24; k++) {
			char frag[128];
			snprintf(frag, sizeof(frag),
				 k ? "<host mac='52:54:00:00:01:%02x'/>"
				   : "<host ip='192.168.10.1%d'/>",
				 k ? k : pass + 1);
			both_ways(&a, &b, 0, NETXML_DELETE, frag, false);
		}
	both_ways(&a, &b, NETXML_SEC_IP_DHCP_RANGE, NETXML_DELETE,
		  "<range start='192.168.10.100' end='192.168.10.200'/>",
		  false);
	assert_null(strstr(netxml_text(a, &len), "192.168.10.100"));
	both_ways(&a, &b, 0, NETXML_ADD_LAST,
		  "<host mac='52:54:00:00:03:01' ip='192.168.10.31'/>", false);
	both_ways(&a, &b, 0, NETXML_ADD_FIRST,
		  "<host mac='52:54:00:00:03:02' ip='192.168.10.32'/>", false);
	assert_non_null(strstr(netxml_text(a, &len), "52:54:00:00:03:02"));
	netxml_free(a);
	netxml_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_view),
		cmocka_unit_test(test_lax),
		cmocka_unit_test(test_normalise),
		cmocka_unit_test(test_structure_errors),
		cmocka_unit_test(test_semantic_errors),
		cmocka_unit_test(test_hostile_input),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_dnsmasq_options_and_metadata),
		cmocka_unit_test(test_leases),
		cmocka_unit_test(test_injection_refused),
		cmocka_unit_test(test_exact_round_trip),
		cmocka_unit_test(test_update_in_place),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
