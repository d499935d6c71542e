/* Unit tests for pinning (netd/pin.c): a reserved MAC pins its IP, an
 * asked-for IP is pinned only inside a subnet, not on the network's own
 * address, another host's reservation or another port's pin, and a MAC
 * another port has is refused. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../netd/pin.h"

static const char *NET =
	"<network><name>n</name><bridge name='nfbr9'/>"
	"<ip address='10.9.0.1' prefix='24'><dhcp>"
	"<range start='10.9.0.100' end='10.9.0.200'/>"
	"<host mac='52:54:00:00:00:aa' name='web' ip='10.9.0.10'/>"
	"<host name='db' ip='10.9.0.11'/>"
	"</dhcp></ip>"
	"<ip family='ipv6' address='fd00:9::1' prefix='64'/></network>";

struct world {
	struct netxml *nx;
	struct port other, elsewhere; /* pinned ports on n and on another net */
	struct port *ports[2];
};

static int setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	struct nf_err e = {0};
	assert_int_equal(netxml_parse(NET, strlen(NET), "n.xml", &w->nx, &e),
			 0);
	snprintf(w->other.network, sizeof(w->other.network), "n");
	snprintf(w->other.mac, sizeof(w->other.mac), "52:54:00:00:00:bb");
	snprintf(w->other.tap, sizeof(w->other.tap), "nfp1");
	nf_addr_parse("10.9.0.20", &w->other.ip);
	snprintf(w->elsewhere.network, sizeof(w->elsewhere.network), "m");
	snprintf(w->elsewhere.mac, sizeof(w->elsewhere.mac),
		 "52:54:00:00:00:cc");
	nf_addr_parse("10.9.0.30", &w->elsewhere.ip);
	w->ports[0] = &w->other;
	w->ports[1] = &w->elsewhere;
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	struct world *w = *state;
	netxml_free(w->nx);
	free(w);
	return 0;
}

/* decides for a port with mac asking for ip; the error when it fails */
static int decide(struct world *w, const char *mac, const char *ip,
		  struct port *p, struct nf_err *e)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->network, sizeof(p->network), "n");
	snprintf(p->mac, sizeof(p->mac), "%s", mac);
	return pin_decide(&w->nx->def, w->ports, 2, p, ip, e);
}

static void pinned_to(const struct port *p, const char *want, bool added)
{
	char s[64];
	nf_addr_format(&p->ip, s, sizeof(s));
	assert_string_equal(s, want);
	assert_int_equal(p->pin_added, added);
}

static void refused(struct world *w, const char *mac, const char *ip, int code,
		    const char *why)
{
	struct port p;
	struct nf_err e = {0};
	assert_int_equal(decide(w, mac, ip, &p, &e), -code);
	if (!strstr(e.msg, why))
		fail_msg("'%s' does not say '%s'", e.msg, why);
}

static void test_reserved_mac(void **state)
{
	struct world *w = *state;
	struct port p;
	struct nf_err e = {0};
	/* the reservation pins, asked or not; nothing new is added */
	assert_int_equal(decide(w, "52:54:00:00:00:aa", NULL, &p, &e), 0);
	pinned_to(&p, "10.9.0.10", false);
	assert_int_equal(decide(w, "52:54:00:00:00:aa", "10.9.0.10", &p, &e),
			 0);
	pinned_to(&p, "10.9.0.10", false);
	refused(w, "52:54:00:00:00:aa", "10.9.0.50", EEXIST,
		"is reserved for 10.9.0.10");
}

static void test_asked_ip(void **state)
{
	struct world *w = *state;
	struct port p;
	struct nf_err e = {0};
	assert_int_equal(decide(w, "52:54:00:00:00:01", "10.9.0.50", &p, &e),
			 0);
	pinned_to(&p, "10.9.0.50", true);
	/* IPv6 too, in the network's other subnet */
	assert_int_equal(decide(w, "52:54:00:00:00:01", "fd00:9::50", &p, &e),
			 0);
	pinned_to(&p, "fd00:9::50", true);
	/* another network's pin does not count here */
	assert_int_equal(decide(w, "52:54:00:00:00:01", "10.9.0.30", &p, &e),
			 0);
	pinned_to(&p, "10.9.0.30", true);
}

static void test_not_pinned(void **state)
{
	struct world *w = *state;
	struct port p;
	struct nf_err e = {0};
	assert_int_equal(decide(w, "52:54:00:00:00:01", NULL, &p, &e), 0);
	assert_int_equal(p.ip.family, 0); /* a MAC-only guard */
	assert_false(p.pin_added);
}

static void test_refusals(void **state)
{
	struct world *w = *state;
	refused(w, "52:54:00:00:00:01", "10.8.0.5", EINVAL,
		"outside every subnet of network 'n'");
	refused(w, "52:54:00:00:00:01", "10.9.0.1", EINVAL,
		"the network's own address");
	refused(w, "52:54:00:00:00:01", "10.9.0.11", EEXIST,
		"10.9.0.11 is reserved for db");
	refused(w, "52:54:00:00:00:01", "10.9.0.10", EEXIST,
		"10.9.0.10 is reserved for 52:54:00:00:00:aa");
	refused(w, "52:54:00:00:00:01", "10.9.0.20", EEXIST,
		"already pinned to port nfp1 (52:54:00:00:00:bb)");
	refused(w, "52:54:00:00:00:bb", NULL, EEXIST,
		"MAC 52:54:00:00:00:bb is already in use on network 'n' by "
		"port nfp1");
	refused(w, "52:54:00:00:00:01", "10.9.0.300", EINVAL,
		"'10.9.0.300' is not an IP address");
}

static void test_lookups(void **state)
{
	struct world *w = *state;
	const struct netdef *d = &w->nx->def;
	struct nf_addr a;
	const struct netxml_host *h = pin_reservation(d, NULL, "web");
	assert_non_null(h);
	assert_string_equal(h->mac, "52:54:00:00:00:aa");
	/* a name without a MAC names no guest */
	assert_null(pin_reservation(d, NULL, "db"));
	nf_addr_parse("10.9.0.11", &a);
	assert_string_equal(pin_reserved_ip(d, &a)->name, "db");
	assert_ptr_equal(
		pin_holder(w->ports, 2, "n", "52:54:00:00:00:bb", NULL),
		&w->other);
	assert_null(pin_holder(w->ports, 2, "n", "52:54:00:00:00:cc", NULL));
	nf_addr_parse("10.9.0.30", &a);
	assert_ptr_equal(pin_holder(w->ports, 2, "m", NULL, &a), &w->elsewhere);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reserved_mac, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_asked_ip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_pinned, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lookups, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
