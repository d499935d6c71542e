/* Unit tests for small module pieces: the TAP's MAC twin, address
 * arithmetic used for lease counting and subnet checks. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "../../lib/nfaddr.h"
#include "../../tap/tap.h"

static void test_tap_host_mac(void **st)
{
	(void)st;
	const uint8_t g1[6] = {0x52, 0x54, 0, 1, 2, 3},
		      g2[6] = {0xfe, 0x54, 0, 1, 2, 3};
	uint8_t h[6];
	tap_host_mac(g1, h);
	assert_int_equal(h[0], 0xfe);
	assert_memory_equal(h + 1, g1 + 1, 5);
	tap_host_mac(g2, h); /* never equal to the guest's own */
	assert_int_equal(h[0], 0xfa);
	assert_memory_equal(h + 1, g2 + 1, 5);
}

static void test_addr(void **st)
{
	(void)st;
	struct nf_addr a, b, n;
	char s[64];
	assert_int_equal(nf_addr_parse("192.168.122.2", &a), 0);
	assert_int_equal(nf_addr_parse("192.168.122.254", &b), 0);
	assert_int_equal(nf_addr_span(&a, &b), 253);
	assert_int_equal(nf_addr_span(&b, &a), 0);
	assert_int_equal(nf_addr_parse("2001:db8::1:10", &a), 0);
	assert_int_equal(nf_addr_parse("2001:db8::1:ff", &b), 0);
	assert_int_equal(nf_addr_span(&a, &b), 240);
	assert_int_equal(nf_addr_parse("2001:db8::1", &a), 0);
	assert_int_equal(nf_addr_parse("2001:db9::1", &b), 0);
	assert_int_equal(nf_addr_span(&a, &b), UINT32_MAX); /* saturates */
	assert_int_equal(nf_addr_parse("10.1.2.3", &a), 0);
	n = nf_addr_network(&a, 20);
	nf_addr_format(&n, s, sizeof(s));
	assert_string_equal(s, "10.1.0.0");
	nf_addr_subnet_str(&a, 23, s, sizeof(s));
	assert_string_equal(s, "10.1.2.0/23");
	assert_true(nf_addr_in_subnet(&a, &n, 20));
	assert_int_equal(nf_addr_parse("10.1.16.1", &b), 0);
	assert_false(nf_addr_in_subnet(&b, &n, 20));
	assert_false(nf_addr_host_bits_zero(&a, 24));
	assert_true(nf_addr_host_bits_zero(&n, 20));
	assert_int_equal(nf_addr_parse("300.1.1.1", &a), -22);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tap_host_mac),
		cmocka_unit_test(test_addr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
