/* Unit tests for lab reconciliation (netd/labplan.c): on `lab up` of a
 * running lab, a guest keeps running only when it, its networks and its
 * state are unchanged; a network whose definition changed (its pins
 * aside) is dropped and made again, with its guests; the host's networks
 * stay. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../netd/labplan.h"

static const char *NET_A =
	"<network name='pa'><forward mode='nat'/>"
	"<ip address='10.6.1.1' prefix='24'><dhcp>"
	"<range start='10.6.1.100' end='10.6.1.200'/></dhcp></ip></network>";
static const char *NET_B =
	"<network name='pb'><ip address='10.6.2.1' prefix='24'><dhcp>"
	"<range start='10.6.2.100' end='10.6.2.200'/></dhcp></ip></network>";
static const char *NET_B2 = /* pb with another range */
	"<network name='pb'><ip address='10.6.2.1' prefix='24'><dhcp>"
	"<range start='10.6.2.50' end='10.6.2.200'/></dhcp></ip></network>";

static struct lab *lab(const char *nets, const char *guests)
{
	char *xml;
	struct lab *l = NULL;
	struct nf_buf errs = {0};
	assert_true(asprintf(&xml, "<lab name='p'>%s%s</lab>", nets, guests) >
		    0);
	if (labxml_parse(xml, strlen(xml), "p.xml", "/tmp", &l, &errs) < 0)
		fail_msg("lab does not parse: %s", errs.s);
	free(xml);
	nf_buf_free(&errs);
	return l;
}

static int net_index(const struct lab *l, const char *name)
{
	for (size_t i = 0; i < l->nnets; i++)
		if (!strcmp(l->nets[i].name, name))
			return (int)i;
	fail_msg("no network %s", name);
	return -1;
}

static int guest_index(const struct lab *l, const char *name)
{
	for (size_t i = 0; i < l->nguests; i++)
		if (!strcmp(l->guests[i].name, name))
			return (int)i;
	fail_msg("no guest %s", name);
	return -1;
}

#define G(name, net, ip)                                                       \
	"<guest name='" name "'><interface network='" net "' ip='" ip          \
	"'/></guest>"

static void test_unchanged_lab_keeps_all(void **st)
{
	(void)st;
	char nets[1024];
	snprintf(nets, sizeof(nets), "%s%s", NET_A, NET_B);
	const char *guests =
		G("a", "pa", "10.6.1.11") G("b", "pb", "10.6.2.11");
	struct lab *old = lab(nets, guests), *new = lab(nets, guests);
	bool running[] = {true, true};
	struct lab_plan p;
	lab_plan_make(old, new, running, &p);
	assert_int_equal(p.kept, 2);
	assert_int_equal(p.added, 0);
	assert_int_equal(p.stopped, 0);
	for (size_t i = 0; i < new->nnets; i++)
		assert_int_equal(p.net_from[i], (int)i);
	for (size_t i = 0; i < old->nnets; i++)
		assert_false(p.net_drop[i]);
	lab_plan_free(&p);
	labxml_free(old);
	labxml_free(new);
}

static void test_changes(void **st)
{
	(void)st;
	char old_nets[1024], new_nets[1024];
	snprintf(old_nets, sizeof(old_nets), "%s%s", NET_A, NET_B);
	snprintf(new_nets, sizeof(new_nets), "%s%s", NET_A, NET_B2);
	struct lab *old = lab(old_nets, G("keep", "pa", "10.6.1.11") /* kept */
			      G("moved", "pb", "10.6.2.11")    /* net changed */
			      G("dead", "pa", "10.6.1.12")     /* had stopped */
			      G("gone", "pa", "10.6.1.13")     /* dropped */
			      G("bigger", "pa", "10.6.1.14")), /* memory */
		*new = lab(new_nets,
			   G("keep", "pa", "10.6.1.11") G(
				   "moved", "pb", "10.6.2.11") G("dead", "pa",
								 "10.6.1.12")
				   G("fresh", "pa",
				     "10.6.1.15") "<guest name='bigger' "
						  "memory='64M'>"
						  "<interface network='pa' "
						  "ip='10.6.1.14'/></guest>");
	bool running[] = {true, true, false, true, true};
	struct lab_plan p;
	lab_plan_make(old, new, running, &p);
	/* pa is the same network (the new guest only adds a pin to it); pb's
	 * definition changed: dropped, and made again */
	assert_int_equal(p.net_from[net_index(new, "pa")],
			 net_index(old, "pa"));
	assert_int_equal(p.net_from[net_index(new, "pb")], -1);
	assert_false(p.net_drop[net_index(old, "pa")]);
	assert_true(p.net_drop[net_index(old, "pb")]);
	assert_false(p.guest_stop[guest_index(old, "keep")]);
	assert_true(p.guest_stop[guest_index(old, "moved")]);
	assert_true(p.guest_stop[guest_index(old, "dead")]);
	assert_true(p.guest_stop[guest_index(old, "gone")]);
	assert_true(p.guest_stop[guest_index(old, "bigger")]);
	assert_int_equal(p.guest_from[guest_index(new, "keep")],
			 guest_index(old, "keep"));
	assert_int_equal(p.guest_from[guest_index(new, "moved")], -1);
	assert_int_equal(p.guest_from[guest_index(new, "dead")], -1);
	assert_int_equal(p.guest_from[guest_index(new, "fresh")], -1);
	assert_int_equal(p.guest_from[guest_index(new, "bigger")], -1);
	assert_int_equal(p.kept, 1);
	assert_int_equal(p.added, 4);
	assert_int_equal(p.stopped, 4);
	lab_plan_free(&p);
	labxml_free(old);
	labxml_free(new);
}

/* A network the host has (ref=) is never the lab's to drop; one that
 * becomes the lab's own, or the other way round, is not the same. */
static void test_host_networks(void **st)
{
	(void)st;
	struct lab *old = lab("<network ref='default'/>", ""),
		   *new = lab("<network ref='default'/>", ""),
		   *own = lab("<network name='default'><ip address='10.6.3.1' "
			      "prefix='24'/></network>",
			      "");
	struct lab_plan p;
	lab_plan_make(old, new, NULL, &p);
	assert_int_equal(p.net_from[0], 0);
	assert_false(p.net_drop[0]);
	lab_plan_free(&p);
	lab_plan_make(old, own, NULL, &p);
	assert_int_equal(p.net_from[0], -1);
	assert_true(p.net_drop[0]);
	lab_plan_free(&p);
	labxml_free(old);
	labxml_free(new);
	labxml_free(own);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unchanged_lab_keeps_all),
		cmocka_unit_test(test_changes),
		cmocka_unit_test(test_host_networks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
