/* Unit tests for lab files: groups expand to names, MACs and IPs that
 * count up ({i} templates too), missing MACs are stable, links become a
 * two-guest network with .2/.3, pins become <host>s of the network that
 * hands them out, every problem is reported with its line. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../netd/labxml.h"

static const char *NET =
	"<network name='n'><forward mode='nat'/>"
	"<ip address='10.5.0.1' prefix='24'><dhcp>"
	"<range start='10.5.0.100' end='10.5.0.200'/></dhcp></ip></network>";

static struct lab *parse(const char *body, struct nf_buf *errs)
{
	char *xml;
	struct lab *l = NULL;
	assert_true(asprintf(&xml, "<lab name='t'>%s%s</lab>", NET, body) > 0);
	labxml_parse(xml, strlen(xml), "t.xml", "/tmp", &l, errs);
	free(xml);
	return l;
}

static void ip_is(const struct lab_if *x, const char *want)
{
	char s[64];
	nf_addr_format(&x->ip, s, sizeof(s));
	assert_string_equal(s, want);
}

static void test_groups(void **st)
{
	(void)st;
	struct nf_buf e = {0};
	struct lab *l =
		parse("<defaults memory='32M' cpus='2'/>"
		      "<guest name='web' count='3' memory='64M'>"
		      "<interface network='n' mac='52:54:00:05:00:fe' "
		      "ip='10.5.0.11'/>"
		      "</guest>"
		      "<guest name='db-{i}-x' count='2'><interface "
		      "network='n'/></guest>"
		      "<guest name='solo'><interface network='n'/></guest>",
		      &e);
	assert_non_null(l);
	assert_int_equal(l->nguests, 6);
	assert_string_equal(l->guests[0].name, "web1");
	assert_string_equal(l->guests[2].name, "web3");
	assert_string_equal(l->guests[2].ifs[0].mac, "52:54:00:05:01:00");
	ip_is(&l->guests[2].ifs[0], "10.5.0.13");
	assert_int_equal(l->guests[0].mem_mib, 64);
	assert_int_equal(l->guests[0].cpus, 2);
	assert_null(l->guests[0].kernel); /* the probe guest */
	assert_string_equal(l->guests[3].name, "db-1-x");
	assert_string_equal(l->guests[4].name, "db-2-x");
	assert_int_equal(l->guests[4].mem_mib, 32);
	assert_string_equal(l->guests[5].name, "solo");
	/* a MAC not given is derived from lab and guest: the same each time */
	struct lab *again = parse("<guest name='solo'><interface network='n'/>"
				  "</guest>",
				  &e);
	assert_string_equal(again->guests[0].ifs[0].mac,
			    l->guests[5].ifs[0].mac);
	assert_memory_equal(l->guests[5].ifs[0].mac, "52:54:00:", 9);
	/* pins are reservations of the network */
	char *x = netxml_format(l->nets[0].nx);
	assert_non_null(strstr(x, "<host mac='52:54:00:05:00:fe' name='web1' "
				  "ip='10.5.0.11'/>"));
	assert_non_null(strstr(x, "name='web3' ip='10.5.0.13'"));
	assert_null(strstr(l->nets[0].base, "<host"));
	assert_non_null(strstr(x, "stp='off'")); /* lab bridges: no STP */
	free(x);
	char **pins;
	size_t np = lab_pins(l, "n", &pins);
	assert_int_equal(np, 3);
	for (size_t i = 0; i < np; i++)
		free(pins[i]);
	free(pins);
	labxml_free(again);
	labxml_free(l);
}

/* image= on defaults or a guest, relative to the lab's dir; keep;
 * image-format; the images among the files the client opens; a changed
 * image makes another guest. */
static void test_images(void **st)
{
	(void)st;
	struct nf_buf e = {0};
	struct lab *l = parse(
		"<defaults image='base.qcow2'/>"
		"<guest name='a' count='2'><interface network='n'/></guest>"
		"<guest name='k' keep='yes' image='/srv/raw.img' "
		"image-format='raw'><interface network='n'/></guest>",
		&e);
	assert_null(e.s);
	assert_int_equal(l->nguests, 3);
	assert_string_equal(l->guests[0].image, "/tmp/base.qcow2");
	assert_int_equal(l->guests[0].image_format, LAB_IMAGE_DETECT);
	assert_false(l->guests[1].keep);
	assert_string_equal(l->guests[2].image, "/srv/raw.img");
	assert_int_equal(l->guests[2].image_format, LAB_IMAGE_RAW);
	assert_true(l->guests[2].keep);
	const char **files;
	size_t n = lab_files(l, &files);
	assert_int_equal(n, 2);
	assert_string_equal(files[0], "/tmp/base.qcow2");
	assert_string_equal(files[1], "/srv/raw.img");
	free(files);
	struct lab *m = parse("<guest name='a1' image='other.qcow2'>"
			      "<interface network='n'/></guest>",
			      &e);
	assert_false(lab_guest_same(&l->guests[0], &m->guests[0]));
	labxml_free(m);
	labxml_free(l);
	l = parse("<guest name='b' image='x' image-format='vmdk' keep='1'>"
		  "<interface network='n'/></guest>"
		  "<guest name='c' keep='yes'><interface network='n'/></guest>"
		  "<guest name='d' image='a&#10;b'><interface network='n'/>"
		  "</guest>",
		  &e);
	assert_non_null(e.s);
	assert_non_null(strstr(e.s, "image-format='vmdk': raw or qcow2"));
	assert_non_null(strstr(e.s, "keep='1': yes or no"));
	assert_non_null(strstr(e.s, "keep='yes' is for a guest with image="));
	assert_non_null(strstr(e.s, "a path of printable characters"));
	nf_buf_free(&e);
	labxml_free(l);
}

/* cloud-init: on from keys, files or cloud-init='yes', off for
 * cloud-init='no'; keys of <defaults> and the guest; the seed's YAML
 * quotes what it must; key lines checked. */
static void test_cloud_init(void **st)
{
	(void)st;
	struct nf_buf e = {0}, m = {0}, n = {0};
	struct lab *l = parse(
		"<defaults><ssh-key>ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA all"
		"</ssh-key></defaults>"
		"<guest name='a'><ssh-key> ssh-rsa AAAAB3NzaC1yc2EAAAA "
		"\"q\" \\ </ssh-key><interface network='n' "
		"mac='52:54:00:00:00:0a'/></guest>"
		"<guest name='b' cloud-init='no'><interface "
		"network='n'/></guest>"
		"<guest name='c' user-data='u.yaml' ssh-keys='/k.pub'>"
		"<interface network='n'/></guest>",
		&e);
	assert_null(e.s);
	struct lab *d = parse("<defaults ssh-keys='k.pub' user-data='u' "
			      "cloud-init='yes'/><guest name='x'>"
			      "<interface network='n'/></guest>",
			      &e);
	assert_null(e.s); /* <defaults> takes them too */
	assert_true(d->guests[0].ci_on);
	assert_string_equal(d->guests[0].ssh_keys, "/tmp/k.pub");
	assert_string_equal(d->guests[0].user_data, "/tmp/u");
	labxml_free(d);
	assert_null(e.s);
	assert_true(l->guests[0].ci_on);
	assert_int_equal(l->guests[0].nkeys, 2);
	assert_string_equal(l->guests[0].keys[1],
			    "ssh-rsa AAAAB3NzaC1yc2EAAAA \"q\" \\");
	assert_false(l->guests[1].ci_on);
	assert_true(l->guests[2].ci_on);
	assert_string_equal(l->guests[2].user_data, "/tmp/u.yaml");
	const char **files;
	assert_int_equal(lab_files(l, &files), 2);
	free(files);
	char *extra[] = {"ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNo x"};
	lab_seed_meta(l, &l->guests[0], extra, 1, &m);
	assert_string_equal(m.s,
			    "instance-id: \"netfabric-t-a\"\n"
			    "local-hostname: \"a\"\n"
			    "public-keys:\n"
			    "  - \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA all\"\n"
			    "  - \"ssh-rsa AAAAB3NzaC1yc2EAAAA \\\"q\\\" "
			    "\\\\\"\n"
			    "  - \"ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNo x\"\n");
	lab_seed_network(&l->guests[0], &n);
	assert_string_equal(n.s, "version: 2\nethernets:\n  nf0:\n    match:\n"
				 "      macaddress: \"52:54:00:00:00:0a\"\n"
				 "    dhcp4: true\n");
	nf_buf_free(&m);
	nf_buf_free(&n);
	labxml_free(l);
	char **keys = NULL, why[128];
	size_t nk = 0;
	assert_int_equal(
		lab_ssh_keys_parse("# c\n\nssh-ed25519 AAAAC3NzaC1lZDI1"
				   "\r\n",
				   &keys, &nk, why, sizeof(why)),
		0);
	assert_int_equal(nk, 1);
	assert_string_equal(keys[0], "ssh-ed25519 AAAAC3NzaC1lZDI1");
	assert_int_equal(
		lab_ssh_keys_parse("ssh-ed25519 AAAAC3NzaC1lZDI1\nno\n", &keys,
				   &nk, why, sizeof(why)),
		-EINVAL);
	assert_int_equal(nk, 1); /* nothing of a bad file is taken */
	assert_non_null(strstr(why, "line 2"));
	free(keys[0]);
	free(keys);
	assert_false(lab_ssh_key_ok("ssh-ed25519 AAAA\tB"));
	assert_false(lab_ssh_key_ok("ssh-ed25519"));
	assert_false(lab_ssh_key_ok("ssh ed25519 short"));
}

static void test_link(void **st)
{
	(void)st;
	struct nf_buf e = {0};
	struct lab *l = parse("<guest name='a'><interface network='n'/></guest>"
			      "<guest name='b'><interface network='n'/></guest>"
			      "<link a='a' b='b' subnet='10.6.0.8/29'/>",
			      &e);
	assert_non_null(l);
	assert_int_equal(l->nnets, 2);
	assert_string_equal(l->nets[1].name, "t-a-b");
	assert_int_equal(l->nets[1].nx->def.mode, NETXML_FWD_NONE);
	ip_is(&l->guests[0].ifs[1], "10.6.0.10");
	ip_is(&l->guests[1].ifs[1], "10.6.0.11");
	char s[64];
	nf_addr_format(&l->nets[1].nx->def.ips[0].address, s, sizeof(s));
	assert_string_equal(s, "10.6.0.9");
	labxml_free(l);
}

static void test_errors(void **st)
{
	(void)st;
	struct nf_buf e = {0};
	struct lab *l = parse(
		"<guest name='a'><interface network='n' ip='10.5.0.1'/></guest>"
		"<guest name='b' memory='lots'><interface network='x'/></guest>"
		"<guest name='c' count='2'><interface network='n' "
		"mac='52:54:00:ff:ff:ff'/></guest>"
		"<guest name='d'><interface network='n' "
		"ip='10.5.0.300'/></guest>"
		"<link a='a' b='b' subnet='10.7.0.0/30'/><bogus/>"
		"<network name='m'><ip address='10.5.0.129' prefix='25'/>"
		"</network>",
		&e);
	assert_non_null(l); /* what parsed, for the host checks */
	labxml_free(l);
	const char *want[] = {
		"10.5.0.1 is the host's address on 'n'",
		"memory='lots' is not a size",
		"network 'x' is not a network of this lab",
		"mac='52:54:00:ff:ff:ff' + 1 runs out of addresses",
		"ip='10.5.0.300' is not an IP address",
		"subnet='10.7.0.0/30': give an IPv4 network, /16 to /29",
		"<bogus> is not part of a lab",
		"network 'm' overlaps the subnet of network 'n'",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!strstr(e.s, want[i]))
			fail_msg("missing '%s' in:\n%s", want[i], e.s);
	assert_non_null(strstr(e.s, "t.xml:1: "));
	nf_buf_free(&e);
	char name[64];
	assert_int_equal(
		labxml_name("<lab name='x1'><junk", 20, name, sizeof(name)),
		-EINVAL); /* not well-formed */
	assert_int_equal(
		labxml_name("<lab name='x1'/>", 16, name, sizeof(name)), 0);
	assert_string_equal(name, "x1");
}

static unsigned lines(const char *s)
{
	unsigned n = 0;
	for (; s && *s; s++)
		n += *s == '\n';
	return n;
}

/* A misspelled attribute is an error naming the ones the element takes;
 * a network that fails says so once (its guests add nothing); broken XML
 * is one problem; count= names NAME1..NAMEN even for one. */
static void test_strict(void **st)
{
	(void)st;
	struct nf_buf e = {0};
	struct lab *l = parse("<guest name='a' memroy='32M'><interface "
			      "network='n' ipp='10.5.0.5'/></guest>"
			      "<defaults cpu='2'/>",
			      &e);
	labxml_free(l);
	const char *want[] = {
		"<guest> has no attribute memroy= (it takes name=, count=, "
		"memory=, cpus=, kernel=, initrd=, cmdline=, image=, "
		"image-format=, keep=, cloud-init=, ssh-keys=, user-data=)",
		"<interface> has no attribute ipp= (it takes network=, mac=, "
		"ip=)",
		"<defaults> has no attribute cpu=",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!strstr(e.s ? e.s : "", want[i]))
			fail_msg("missing '%s' in:\n%s", want[i], e.s);
	assert_int_equal(lines(e.s), 3);
	nf_buf_free(&e);
	memset(&e, 0, sizeof(e));
	l = parse("<network name='bad'><forward mode='natt'/></network>"
		  "<guest name='g' count='2'><interface network='bad'/></guest>"
		  "<guest name='h'><interface network='bad'/></guest>",
		  &e);
	labxml_free(l);
	if (lines(e.s) != 1 || !strstr(e.s, "natt"))
		fail_msg("want the one error of network 'bad', got:\n%s", e.s);
	nf_buf_free(&e);
	memset(&e, 0, sizeof(e));
	l = NULL;
	assert_int_equal(labxml_parse("<lab name='x'><guest", 20, "t.xml",
				      "/tmp", &l, &e),
			 -EINVAL);
	assert_null(l);
	if (lines(e.s) != 1 || !strstr(e.s, "not well-formed XML: "))
		fail_msg("want one line for broken XML, got:\n%s", e.s);
	nf_buf_free(&e);
	memset(&e, 0, sizeof(e));
	l = parse("<guest name='db' count='1'><interface network='n'/></guest>",
		  &e);
	assert_null(e.s);
	assert_int_equal(l->nguests, 1);
	assert_string_equal(l->guests[0].name, "db1");
	labxml_free(l);
}

/* Every lab file shipped in examples/ passes the strict checks (the
 * tests run from the source tree's top). */
static void test_examples(void **st)
{
	(void)st;
	static const char *files[] = {
		"examples/lab-3tier.xml", "examples/lab-flat50.xml",
		"examples/lab-nat.xml", "examples/lab-debian.xml"};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *buf = NULL;
		size_t len;
		struct nf_err err;
		struct nf_buf e = {0};
		struct lab *l = NULL;
		if (nf_read_path(files[i], 1 << 20, &buf, &len, &err) < 0)
			fail_msg("%s", err.msg);
		if (labxml_parse(buf, len, files[i], "examples", &l, &e) < 0)
			fail_msg("%s:\n%s", files[i], e.s);
		assert_true(l->nguests > 0);
		labxml_free(l);
		free(buf);
	}
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(test_groups),
		cmocka_unit_test(test_images),
		cmocka_unit_test(test_cloud_init),
		cmocka_unit_test(test_link),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_strict),
		cmocka_unit_test(test_examples),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
