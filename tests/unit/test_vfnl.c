/* Unit tests for the VF rtnetlink seam: the RTM_SETLINK request carries
 * exactly the attributes asked for, with their values; RTM_GETLINK asks
 * for the VF list; a kernel-shaped RTM_NEWLINK reply (IFLA_VF_MAC, the
 * legacy IFLA_VF_VLAN and IFLA_VF_VLAN_LIST, TX_RATE, RATE, SPOOFCHK,
 * LINK_STATE, RSS_QUERY_EN, TRUST, for two VFs) parses back; truncated
 * attributes are refused. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../sriov/vfnl.h"

static uint8_t buf[4096];

/* The attributes inside IFLA_VFINFO_LIST/IFLA_VF_INFO of a request. */
static const struct nlattr *vf_info(const struct nlmsghdr *nlh)
{
	const struct nlattr *a, *i;
	mnl_attr_for_each(a, nlh, sizeof(struct ifinfomsg))
	{
		assert_int_equal(mnl_attr_get_type(a), IFLA_VFINFO_LIST);
		mnl_attr_for_each_nested(i, a)
		{
			assert_int_equal(mnl_attr_get_type(i), IFLA_VF_INFO);
			return i;
		}
	}
	fail_msg("no IFLA_VF_INFO");
	return NULL;
}

static void test_set_all(void **st)
{
	(void)st;
	struct vf_state s = {.vf = 3,
			     .have = VF_MAC | VF_VLAN | VF_SPOOFCHK | VF_TRUST |
				     VF_LINK | VF_RATE,
			     .mac = {0x52, 0x54, 0, 0, 0, 0x21},
			     .vlan = 42,
			     .qos = 1,
			     .vlan_proto = 0x88a8,
			     .spoofchk = true,
			     .trust = false,
			     .link_state = IFLA_VF_LINK_STATE_ENABLE,
			     .min_rate = 0,
			     .max_rate = 1000};
	size_t len = vfnl_set_msg(buf, sizeof(buf), 7, 99, &s);
	assert_true(len > 0);
	const struct nlmsghdr *nlh = (const void *)buf;
	assert_int_equal(nlh->nlmsg_len, len);
	assert_int_equal(nlh->nlmsg_type, RTM_SETLINK);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
	assert_int_equal(nlh->nlmsg_seq, 99);
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(ifi->ifi_index, 7);
	unsigned seen = 0;
	const struct nlattr *a, *v;
	mnl_attr_for_each_nested(a, vf_info(nlh))
	{
		const void *p = mnl_attr_get_payload(a);
		switch (mnl_attr_get_type(a)) {
		case IFLA_VF_MAC: {
			const struct ifla_vf_mac *m = p;
			assert_int_equal(m->vf, 3);
			assert_memory_equal(m->mac, s.mac, 6);
			seen |= VF_MAC;
			break;
		}
		case IFLA_VF_VLAN_LIST:
			mnl_attr_for_each_nested(v, a)
			{
				const struct ifla_vf_vlan_info *vi =
					mnl_attr_get_payload(v);
				assert_int_equal(mnl_attr_get_type(v),
						 IFLA_VF_VLAN_INFO);
				assert_int_equal(vi->vf, 3);
				assert_int_equal(vi->vlan, 42);
				assert_int_equal(vi->qos, 1);
				assert_int_equal(vi->vlan_proto, htons(0x88a8));
			}
			seen |= VF_VLAN;
			break;
		case IFLA_VF_SPOOFCHK:
			assert_int_equal(
				((const struct ifla_vf_spoofchk *)p)->setting,
				1);
			seen |= VF_SPOOFCHK;
			break;
		case IFLA_VF_TRUST:
			assert_int_equal(
				((const struct ifla_vf_trust *)p)->setting, 0);
			seen |= VF_TRUST;
			break;
		case IFLA_VF_LINK_STATE:
			assert_int_equal(((const struct ifla_vf_link_state *)p)
						 ->link_state,
					 IFLA_VF_LINK_STATE_ENABLE);
			seen |= VF_LINK;
			break;
		case IFLA_VF_RATE:
			assert_int_equal(
				((const struct ifla_vf_rate *)p)->max_tx_rate,
				1000);
			seen |= VF_RATE;
			break;
		default:
			fail_msg("unexpected attribute %u",
				 mnl_attr_get_type(a));
		}
	}
	assert_int_equal(seen, s.have);
}

static void test_set_only_asked(void **st)
{
	(void)st;
	struct vf_state s = {.vf = 0, .have = VF_SPOOFCHK, .spoofchk = false};
	vfnl_set_msg(buf, sizeof(buf), 2, 1, &s);
	unsigned n = 0;
	const struct nlattr *a;
	mnl_attr_for_each_nested(a, vf_info((const void *)buf))
	{
		assert_int_equal(mnl_attr_get_type(a), IFLA_VF_SPOOFCHK);
		n++;
	}
	assert_int_equal(n, 1);
	assert_int_equal(vfnl_set_msg(buf, 100, 2, 1, &s), 0); /* too small */
}

static void test_get(void **st)
{
	(void)st;
	size_t len = vfnl_get_msg(buf, sizeof(buf), 5, 8);
	const struct nlmsghdr *nlh = (const void *)buf;
	assert_int_equal(nlh->nlmsg_len, len);
	assert_int_equal(nlh->nlmsg_type, RTM_GETLINK);
	const struct nlattr *a;
	bool mask = false;
	mnl_attr_for_each(a, nlh, sizeof(struct ifinfomsg))
	{
		if (mnl_attr_get_type(a) == IFLA_EXT_MASK)
			mask = mnl_attr_get_u32(a) == RTEXT_FILTER_VF;
	}
	assert_true(mask);
}

/* What the kernel's rtnl_fill_vfinfo puts out for one VF. */
static void kernel_vf(struct nlmsghdr *nlh, unsigned vf, uint8_t last,
		      unsigned vlan, uint16_t proto, unsigned spoof,
		      unsigned trust)
{
	struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_VF_INFO);
	struct ifla_vf_mac m = {.vf = vf, .mac = {0x52, 0x54, 0, 0, 0, last}};
	struct ifla_vf_vlan vl = {vf, vlan, 0};
	struct ifla_vf_tx_rate tx = {vf, 0};
	struct ifla_vf_rate r = {vf, 0, 0};
	struct ifla_vf_spoofchk sc = {vf, spoof};
	struct ifla_vf_link_state ls = {vf, IFLA_VF_LINK_STATE_AUTO};
	struct ifla_vf_rss_query_en rq = {vf, 0};
	struct ifla_vf_trust t = {vf, trust};
	struct ifla_vf_vlan_info vi = {vf, vlan, 0, htons(proto)};
	mnl_attr_put(nlh, IFLA_VF_MAC, sizeof(m), &m);
	mnl_attr_put(nlh, IFLA_VF_VLAN, sizeof(vl), &vl);
	struct nlattr *list = mnl_attr_nest_start(nlh, IFLA_VF_VLAN_LIST);
	mnl_attr_put(nlh, IFLA_VF_VLAN_INFO, sizeof(vi), &vi);
	mnl_attr_nest_end(nlh, list);
	mnl_attr_put(nlh, IFLA_VF_TX_RATE, sizeof(tx), &tx);
	mnl_attr_put(nlh, IFLA_VF_RATE, sizeof(r), &r);
	mnl_attr_put(nlh, IFLA_VF_SPOOFCHK, sizeof(sc), &sc);
	mnl_attr_put(nlh, IFLA_VF_LINK_STATE, sizeof(ls), &ls);
	mnl_attr_put(nlh, IFLA_VF_RSS_QUERY_EN, sizeof(rq), &rq);
	mnl_attr_put(nlh, IFLA_VF_TRUST, sizeof(t), &t);
	mnl_attr_nest_end(nlh, info);
}

static size_t kernel_reply(void)
{
	memset(buf, 0, sizeof(buf));
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_index = 7;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "ens1f0");
	mnl_attr_put_u32(nlh, IFLA_NUM_VF, 2);
	struct nlattr *list = mnl_attr_nest_start(nlh, IFLA_VFINFO_LIST);
	kernel_vf(nlh, 0, 0x30, 0, 0x8100, 1, 0);
	kernel_vf(nlh, 1, 0x31, 100, 0x88a8, 0, 1);
	mnl_attr_nest_end(nlh, list);
	return nlh->nlmsg_len;
}

static void test_parse(void **st)
{
	(void)st;
	size_t len = kernel_reply(), n;
	struct vf_state v[4];
	assert_int_equal(vfnl_parse(buf, len, v, 4, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].vf, 0);
	assert_int_equal(v[0].mac[5], 0x30);
	assert_int_equal(v[0].vlan, 0);
	assert_true(v[0].spoofchk);
	assert_false(v[0].trust);
	assert_int_equal(v[0].link_state, IFLA_VF_LINK_STATE_AUTO);
	assert_int_equal(v[1].vf, 1);
	assert_int_equal(v[1].mac[5], 0x31);
	assert_int_equal(v[1].vlan, 100);
	assert_int_equal(v[1].vlan_proto, 0x88a8);
	assert_false(v[1].spoofchk);
	assert_true(v[1].trust);
	assert_int_equal(v[1].have & (VF_MAC | VF_VLAN | VF_SPOOFCHK |
				      VF_TRUST | VF_LINK | VF_RATE),
			 VF_MAC | VF_VLAN | VF_SPOOFCHK | VF_TRUST | VF_LINK |
				 VF_RATE);
	assert_int_equal(vfnl_parse(buf, len, v, 1, &n), 0); /* capped */
	assert_int_equal(n, 2);
}

static void test_parse_bad(void **st)
{
	(void)st;
	size_t len = kernel_reply(), n;
	struct vf_state v[4];
	assert_int_equal(vfnl_parse(buf, 10, v, 4, &n), -EBADMSG);
	((struct nlmsghdr *)buf)->nlmsg_type = RTM_DELLINK;
	assert_int_equal(vfnl_parse(buf, len, v, 4, &n), -EBADMSG);
	/* an IFLA_VF_MAC shorter than its struct */
	memset(buf, 0, sizeof(buf));
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
	struct nlattr *list = mnl_attr_nest_start(nlh, IFLA_VFINFO_LIST);
	struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_VF_INFO);
	mnl_attr_put_u32(nlh, IFLA_VF_MAC, 3);
	mnl_attr_nest_end(nlh, info);
	mnl_attr_nest_end(nlh, list);
	assert_int_equal(vfnl_parse(buf, nlh->nlmsg_len, v, 4, &n), -EBADMSG);
}

/* The fake PF driver behind the same channel: a GET answers with the
 * table, a SET with only a VLAN (the VF number then travels inside the
 * VLAN list) changes that VF's VLAN and nothing else. */
static void test_fake_driver(void **st)
{
	(void)st;
	char dir[] = "/tmp/vfnl-test.XXXXXX", path[64], line[128];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/7", dir);
	FILE *f = fopen(path, "w");
	fputs("0 aa:bb:cc:00:00:01 0 0 8100 1 0 0 0 0\n"
	      "1 aa:bb:cc:00:00:02 5 2 8100 0 1 2 10 100\n",
	      f);
	fclose(f);
	struct vfnl *c;
	struct nf_err e;
	assert_int_equal(vfnl_open(&c, dir, &e), 0);
	struct vf_state v[4], one;
	size_t n;
	assert_int_equal(vfnl_get(c, 7, v, 4, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_int_equal(v[1].vf, 1);
	assert_int_equal(v[1].vlan, 5);
	assert_int_equal(v[1].qos, 2);
	assert_true(v[1].trust);
	assert_false(v[1].spoofchk);
	assert_int_equal(v[1].link_state, 2);
	assert_int_equal(v[1].max_rate, 100);
	struct vf_state s = {
		.vf = 1, .have = VF_VLAN, .vlan = 42, .vlan_proto = 0x88a8};
	assert_int_equal(vfnl_set(c, 7, &s, &e), 0);
	assert_int_equal(vfnl_get_vf(c, 7, 1, &one, &e), 0);
	assert_int_equal(one.vlan, 42);
	assert_int_equal(one.qos, 0);
	assert_int_equal(one.vlan_proto, 0x88a8);
	assert_int_equal(one.mac[5], 2);
	assert_true(one.trust);
	assert_int_equal(vfnl_get_vf(c, 7, 0, &one, &e), 0);
	assert_int_equal(one.vlan, 0); /* VF 0 untouched */
	assert_int_equal(vfnl_get_vf(c, 7, 9, &one, &e), -ENOENT);
	assert_int_equal(vfnl_get(c, 8, v, 4, &n, &e), -ENODEV);
	f = fopen(path, "r");
	assert_non_null(fgets(line, sizeof(line), f));
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line,
			    "1 aa:bb:cc:00:00:02 42 0 88a8 0 1 2 10 100\n");
	fclose(f);
	vfnl_close(c);
	unlink(path);
	rmdir(dir);
}

/* A VF's state goes back one attribute at a time, in the order netd(8)
 * gives (link state last), and a driver refusing one step does not keep
 * the others from being put back. */
static void test_restore(void **st)
{
	(void)st;
	char dir[] = "/tmp/vfnl-test.XXXXXX", path[64], trace[96];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/7", dir);
	FILE *f = fopen(path, "w");
	fputs("0 52:54:00:00:00:99 42 0 8100 1 0 1 0 0\n", f);
	fclose(f);
	struct vfnl *c;
	struct nf_err e;
	assert_int_equal(vfnl_open(&c, dir, &e), 0);
	struct vf_state orig = {.vf = 0,
				.mac = {0xaa, 0xbb, 0xcc, 0, 0, 1},
				.vlan = 5,
				.vlan_proto = 0x8100,
				.spoofchk = false,
				.trust = true,
				.link_state = 2,
				.max_rate = 100},
			now;
	assert_int_equal(vfnl_restore(c, 7, &orig, &e), 0);
	assert_int_equal(vfnl_get_vf(c, 7, 0, &now, &e), 0);
	assert_memory_equal(now.mac, orig.mac, 6);
	assert_int_equal(now.vlan, 5);
	assert_false(now.spoofchk);
	assert_true(now.trust);
	assert_int_equal(now.link_state, 2);
	assert_int_equal(now.max_rate, 100);
	snprintf(trace, sizeof(trace), "%s.trace", path);
	char *log = NULL;
	assert_int_equal(nf_read_path(trace, 4096, &log, NULL, &e), 0);
	assert_string_equal(log, "0 vlan\n0 spoofchk\n0 mac\n0 trust\n"
				 "0 rate\n0 link\n");
	free(log);
	unlink(trace);
	/* the driver refuses the MAC: the rest still goes back, and the
	 * error names the step */
	char refuse[96];
	snprintf(refuse, sizeof(refuse), "%s.refuse", path);
	f = fopen(refuse, "w");
	fputs("mac\n", f);
	fclose(f);
	orig.vlan = 9;
	orig.link_state = 1;
	orig.mac[5] = 2;
	assert_int_equal(vfnl_restore(c, 7, &orig, &e), -EPERM);
	assert_non_null(strstr(e.msg, "its MAC: fake PF driver refuses mac"));
	assert_int_equal(vfnl_get_vf(c, 7, 0, &now, &e), 0);
	assert_int_equal(now.vlan, 9);
	assert_int_equal(now.link_state, 1);
	assert_int_equal(now.mac[5], 1); /* refused: as it was */
	assert_int_equal(nf_read_path(trace, 4096, &log, NULL, &e), 0);
	assert_string_equal(log, "0 vlan\n0 spoofchk\n0 trust\n0 rate\n"
				 "0 link\n");
	free(log);
	vfnl_close(c);
	unlink(refuse);
	unlink(trace);
	unlink(path);
	assert_int_equal(rmdir(dir), 0);
}

/* The kernel channel, in a network namespace of its own (root only):
 * the kernel answers RTM_GETLINK for lo with no VF list, and refuses a
 * VF change on a device without SR-IOV with the driver's error. */
static void test_kernel_channel(void **st)
{
	(void)st;
	if (unshare(CLONE_NEWNET) < 0)
		skip();
	struct vfnl *c;
	struct nf_err e;
	struct vf_state v[2];
	size_t n = 99;
	assert_int_equal(vfnl_open(&c, NULL, &e), 0);
	assert_int_equal(vfnl_get(c, 1, v, 2, &n, &e), 0);
	assert_int_equal(n, 0);
	struct vf_state s = {.vf = 0, .have = VF_MAC, .mac = {0x52, 0x54}};
	int rc = vfnl_set(c, 1, &s, &e);
	assert_true(rc == -EOPNOTSUPP || rc == -EINVAL);
	assert_int_equal(vfnl_get(c, 999, v, 2, &n, &e), -ENODEV);
	vfnl_close(c);
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(test_set_all),
		cmocka_unit_test(test_set_only_asked),
		cmocka_unit_test(test_get),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_fake_driver),
		cmocka_unit_test(test_restore),
		cmocka_unit_test(test_kernel_channel),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
