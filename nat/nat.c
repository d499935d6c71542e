#define _GNU_SOURCE
#include "nat.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#define BATCH_SIZE (2u << 20)

struct nat_ctx {
	struct mnl_socket *nl;
	uint32_t portid, seq;
	char *buf;
};

int nat_open(struct nat_ctx **out, struct nf_err *e)
{
	struct nat_ctx *c = nf_xcalloc(1, sizeof(*c));
	c->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!c->nl || mnl_socket_bind(c->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int err = errno;
		if (c->nl)
			mnl_socket_close(c->nl);
		free(c);
		return nf_errf(e, err, "nftables netlink: %s", strerror(err));
	}
	c->portid = mnl_socket_get_portid(c->nl);
	c->seq = (uint32_t)time(NULL);
	c->buf = nf_xmalloc(BATCH_SIZE);
	*out = c;
	return 0;
}

void nat_close(struct nat_ctx *c)
{
	if (!c)
		return;
	mnl_socket_close(c->nl);
	free(c->buf);
	free(c);
}

/* ------------------------------------------------------ batch plumbing */

struct batch {
	struct nat_ctx *c;
	struct mnl_nlmsg_batch *b;
	uint32_t first_seq;
	unsigned nmsgs;
	bool overflow;
};

static void batch_begin(struct batch *bt, struct nat_ctx *c)
{
	bt->c = c;
	bt->b = mnl_nlmsg_batch_start(c->buf, BATCH_SIZE);
	bt->nmsgs = 0;
	bt->overflow = false;
	nftnl_batch_begin(mnl_nlmsg_batch_current(bt->b), c->seq++);
	mnl_nlmsg_batch_next(bt->b);
	bt->first_seq = c->seq;
}

static struct nlmsghdr *batch_hdr(struct batch *bt)
{
	return mnl_nlmsg_batch_current(bt->b);
}

static void batch_next(struct batch *bt)
{
	bt->nmsgs++;
	if (!mnl_nlmsg_batch_next(bt->b))
		bt->overflow = true;
}

/* Sends the batch and collects one ack per message; the kernel applies all
 * or nothing. */
static int batch_send(struct batch *bt, struct nf_err *e, const char *what)
{
	struct nat_ctx *c = bt->c;
	char rbuf[MNL_SOCKET_BUFFER_SIZE];
	unsigned acks = 0;
	int err = 0;

	if (bt->overflow)
		return nf_errf(e, E2BIG, "%s: nftables batch too large", what);
	nftnl_batch_end(mnl_nlmsg_batch_current(bt->b), c->seq++);
	mnl_nlmsg_batch_next(bt->b);
	if (mnl_socket_sendto(c->nl, mnl_nlmsg_batch_head(bt->b),
			      mnl_nlmsg_batch_size(bt->b)) < 0)
		return nf_errf(e, errno, "%s: %s", what, strerror(errno));
	while (acks < bt->nmsgs) {
		ssize_t n = mnl_socket_recvfrom(c->nl, rbuf, sizeof(rbuf));
		if (n < 0)
			return nf_errf(e, errno, "%s: %s", what,
				       strerror(errno));
		for (struct nlmsghdr *h = (struct nlmsghdr *)rbuf;
		     mnl_nlmsg_ok(h, (int)n);
		     h = mnl_nlmsg_next(h, (int *)&n)) {
			if (h->nlmsg_type != NLMSG_ERROR)
				continue;
			struct nlmsgerr *me = mnl_nlmsg_get_payload(h);
			acks++;
			if (me->error && !err)
				err = -me->error;
			/* an error aborts the batch: no more acks follow */
			if (me->error)
				acks = bt->nmsgs;
		}
	}
	if (err)
		return nf_errf(e, err,
			       "%s: the kernel refused the nftables "
			       "batch: %s (nothing was changed)",
			       what, strerror(err));
	return 0;
}

/* Sends the batch and frees it, whatever the outcome. */
static int batch_commit(struct batch *bt, struct nf_err *e, const char *what)
{
	int rc = batch_send(bt, e, what);
	mnl_nlmsg_batch_stop(bt->b);
	return rc;
}

/* ------------------------------------------------------ rule building */

static void add(struct nftnl_rule *r, struct nftnl_expr *x)
{
	nftnl_rule_add_expr(r, x);
}

static void meta(struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *x = nftnl_expr_alloc("meta");
	nftnl_expr_set_u32(x, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(x, NFTNL_EXPR_META_DREG, NFT_REG_1);
	add(r, x);
}

static void cmp(struct nftnl_rule *r, uint32_t op, const void *data,
		uint32_t len)
{
	struct nftnl_expr *x = nftnl_expr_alloc("cmp");
	nftnl_expr_set_u32(x, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(x, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(x, NFTNL_EXPR_CMP_DATA, data, len);
	add(r, x);
}

static void payload(struct nftnl_rule *r, uint32_t base, uint32_t off,
		    uint32_t len)
{
	struct nftnl_expr *x = nftnl_expr_alloc("payload");
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	add(r, x);
}

static void bitwise(struct nftnl_rule *r, const void *mask, uint32_t len)
{
	static const uint8_t zero[16];
	struct nftnl_expr *x = nftnl_expr_alloc("bitwise");
	nftnl_expr_set_u32(x, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(x, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(x, NFTNL_EXPR_BITWISE_LEN, len);
	nftnl_expr_set(x, NFTNL_EXPR_BITWISE_MASK, mask, len);
	nftnl_expr_set(x, NFTNL_EXPR_BITWISE_XOR, zero, len);
	add(r, x);
}

static void match_ifname(struct nftnl_rule *r, uint32_t key, const char *name)
{
	meta(r, key);
	cmp(r, NFT_CMP_EQ, name, (uint32_t)strlen(name) + 1);
}

static void match_nfproto(struct nftnl_rule *r, int family)
{
	uint8_t p = family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6;
	meta(r, NFT_META_NFPROTO);
	cmp(r, NFT_CMP_EQ, &p, 1);
}

static void match_l4proto(struct nftnl_rule *r, uint8_t proto)
{
	meta(r, NFT_META_L4PROTO);
	cmp(r, NFT_CMP_EQ, &proto, 1);
}

/* [saddr|daddr] [!=] net/prefix; the nfproto check must precede it. */
static void match_addr(struct nftnl_rule *r, bool src, const struct nf_addr *a,
		       int prefix, bool negate)
{
	bool v4 = a->family == AF_INET;
	uint32_t len = v4 ? 4 : 16;
	uint32_t off = v4 ? (src ? 12 : 16) : (src ? 8 : 24);
	struct nf_addr net = nf_addr_network(a, prefix), mask = {0};
	payload(r, NFT_PAYLOAD_NETWORK_HEADER, off, len);
	if (prefix < (int)len * 8) {
		for (int i = 0; i < prefix; i++)
			mask.b[i / 8] |= (uint8_t)(0x80 >> (i % 8));
		bitwise(r, mask.b, len);
	}
	cmp(r, negate ? NFT_CMP_NEQ : NFT_CMP_EQ, net.b, len);
}

static void match_dport(struct nftnl_rule *r, uint8_t proto, uint16_t port)
{
	uint16_t p = htons(port);
	match_l4proto(r, proto);
	payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
	cmp(r, NFT_CMP_EQ, &p, 2);
}

static void match_ct_established(struct nftnl_rule *r)
{
	uint32_t mask = NF_CT_STATE_BIT(IP_CT_ESTABLISHED) |
			NF_CT_STATE_BIT(IP_CT_RELATED),
		 zero = 0;
	struct nftnl_expr *x = nftnl_expr_alloc("ct");
	nftnl_expr_set_u32(x, NFTNL_EXPR_CT_KEY, NFT_CT_STATE);
	nftnl_expr_set_u32(x, NFTNL_EXPR_CT_DREG, NFT_REG_1);
	add(r, x);
	bitwise(r, &mask, 4);
	cmp(r, NFT_CMP_NEQ, &zero, 4);
}

static void counter(struct nftnl_rule *r)
{
	add(r, nftnl_expr_alloc("counter"));
}

static void verdict(struct nftnl_rule *r, int v)
{
	struct nftnl_expr *x = nftnl_expr_alloc("immediate");
	counter(r);
	nftnl_expr_set_u32(x, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(x, NFTNL_EXPR_IMM_VERDICT, (uint32_t)v);
	add(r, x);
}

static void reject(struct nftnl_rule *r)
{
	struct nftnl_expr *x = nftnl_expr_alloc("reject");
	counter(r);
	nftnl_expr_set_u32(x, NFTNL_EXPR_REJECT_TYPE, NFT_REJECT_ICMPX_UNREACH);
	nftnl_expr_set_u8(x, NFTNL_EXPR_REJECT_CODE,
			  NFT_REJECT_ICMPX_PORT_UNREACH);
	add(r, x);
}

static void load_imm(struct nftnl_rule *r, uint32_t reg, const void *d,
		     uint32_t len)
{
	struct nftnl_expr *x = nftnl_expr_alloc("immediate");
	nftnl_expr_set_u32(x, NFTNL_EXPR_IMM_DREG, reg);
	nftnl_expr_set(x, NFTNL_EXPR_IMM_DATA, d, len);
	add(r, x);
}

/* masquerade, or snat to an address range; with a port range if given */
static void nat_action(struct nftnl_rule *r, const struct nat_net *n,
		       int family, bool ports)
{
	uint16_t lo = htons((uint16_t)(n->port_start ? n->port_start : 1024)),
		 hi = htons((uint16_t)(n->port_end ? n->port_end : 65535));
	bool snat = n->snat_start.family == family && family == AF_INET;
	struct nftnl_expr *x;
	counter(r);
	if (ports) {
		load_imm(r, NFT_REG_3, &lo, 2);
		load_imm(r, NFT_REG_4, &hi, 2);
	}
	if (snat) {
		load_imm(r, NFT_REG_1, n->snat_start.b, 4);
		load_imm(r, NFT_REG_2, n->snat_end.b, 4);
		x = nftnl_expr_alloc("nat");
		nftnl_expr_set_u32(x, NFTNL_EXPR_NAT_TYPE, NFT_NAT_SNAT);
		nftnl_expr_set_u32(x, NFTNL_EXPR_NAT_FAMILY, NFPROTO_IPV4);
		nftnl_expr_set_u32(x, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
		nftnl_expr_set_u32(x, NFTNL_EXPR_NAT_REG_ADDR_MAX, NFT_REG_2);
		if (ports) {
			nftnl_expr_set_u32(x, NFTNL_EXPR_NAT_REG_PROTO_MIN,
					   NFT_REG_3);
			nftnl_expr_set_u32(x, NFTNL_EXPR_NAT_REG_PROTO_MAX,
					   NFT_REG_4);
		}
		nftnl_expr_set_u32(
			x, NFTNL_EXPR_NAT_FLAGS,
			NF_NAT_RANGE_MAP_IPS |
				(ports ? NF_NAT_RANGE_PROTO_SPECIFIED : 0));
	} else {
		x = nftnl_expr_alloc("masq");
		if (ports) {
			nftnl_expr_set_u32(x, NFTNL_EXPR_MASQ_REG_PROTO_MIN,
					   NFT_REG_3);
			nftnl_expr_set_u32(x, NFTNL_EXPR_MASQ_REG_PROTO_MAX,
					   NFT_REG_4);
			nftnl_expr_set_u32(x, NFTNL_EXPR_MASQ_FLAGS,
					   NF_NAT_RANGE_PROTO_SPECIFIED);
		}
	}
	add(r, x);
}

struct tbl {
	struct batch *bt;
	const char *table;
	uint32_t family;
};

static struct nftnl_rule *rule_new(struct tbl *t, const char *chain)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, t->family);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, t->table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	return r;
}

static void rule_put(struct tbl *t, struct nftnl_rule *r)
{
	struct batch *bt = t->bt;
	struct nlmsghdr *h = nftnl_rule_nlmsg_build_hdr(
		(char *)batch_hdr(bt), NFT_MSG_NEWRULE, (uint16_t)t->family,
		NLM_F_APPEND | NLM_F_CREATE | NLM_F_ACK, bt->c->seq++);
	nftnl_rule_nlmsg_build_payload(h, r);
	nftnl_rule_free(r);
	batch_next(bt);
}

/* A base chain when type is given, else a regular one; with msg
 * NFT_MSG_DELCHAIN it deletes. */
static void chain_msg(struct tbl *t, int msg, const char *name, uint32_t hook,
		      int prio, const char *type)
{
	struct batch *bt = t->bt;
	struct nftnl_chain *ch = nftnl_chain_alloc();
	nftnl_chain_set_u32(ch, NFTNL_CHAIN_FAMILY, t->family);
	nftnl_chain_set_str(ch, NFTNL_CHAIN_TABLE, t->table);
	nftnl_chain_set_str(ch, NFTNL_CHAIN_NAME, name);
	if (type) {
		nftnl_chain_set_u32(ch, NFTNL_CHAIN_HOOKNUM, hook);
		nftnl_chain_set_s32(ch, NFTNL_CHAIN_PRIO, prio);
		nftnl_chain_set_str(ch, NFTNL_CHAIN_TYPE, type);
		nftnl_chain_set_u32(ch, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	}
	struct nlmsghdr *h = nftnl_chain_nlmsg_build_hdr(
		(char *)batch_hdr(bt), (uint16_t)msg, (uint16_t)t->family,
		(msg == NFT_MSG_NEWCHAIN ? NLM_F_CREATE : 0) | NLM_F_ACK,
		bt->c->seq++);
	nftnl_chain_nlmsg_build_payload(h, ch);
	nftnl_chain_free(ch);
	batch_next(bt);
}

static void chain_put(struct tbl *t, const char *name, uint32_t hook, int prio,
		      const char *type)
{
	chain_msg(t, NFT_MSG_NEWCHAIN, name, hook, prio, type);
}

static void table_msg(struct batch *bt, int type, uint32_t family,
		      const char *table, const char *owner)
{
	struct nftnl_table *t = nftnl_table_alloc();
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, family);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, table);
	if (owner) {
		struct nftnl_udata_buf *u = nftnl_udata_buf_alloc(256);
		nftnl_udata_put_strz(u, NFTNL_UDATA_TABLE_COMMENT, owner);
		nftnl_table_set_data(t, NFTNL_TABLE_USERDATA,
				     nftnl_udata_buf_data(u),
				     nftnl_udata_buf_len(u));
		nftnl_udata_buf_free(u);
	}
	struct nlmsghdr *h = nftnl_table_nlmsg_build_hdr(
		(char *)batch_hdr(bt), (uint16_t)type, (uint16_t)family,
		(type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0) | NLM_F_ACK,
		bt->c->seq++);
	nftnl_table_nlmsg_build_payload(h, t);
	nftnl_table_free(t);
	batch_next(bt);
}

/* Forward filtering as libvirt does it for each mode (its
 * networkxml2firewalldata): guests on the bridge talk to each other;
 * nat: out from the subnet, back in for established flows; route: both
 * ways for the subnet; everything else in or out of the bridge rejected. */
static void forward_rules(struct tbl *t, const struct nat_net *n)
{
	struct nftnl_rule *r = rule_new(t, "forward");
	match_ifname(r, NFT_META_IIFNAME, n->bridge);
	match_ifname(r, NFT_META_OIFNAME, n->bridge);
	verdict(r, NF_ACCEPT);
	rule_put(t, r);
	for (size_t i = 0; i < n->nsubnets && n->mode != NAT_ISOLATED; i++) {
		const struct nat_subnet *s = &n->subnets[i];
		bool nat = n->mode == NAT_NAT && s->masquerade;
		r = rule_new(t, "forward");
		match_ifname(r, NFT_META_IIFNAME, n->bridge);
		if (n->uplink)
			match_ifname(r, NFT_META_OIFNAME, n->uplink);
		match_nfproto(r, s->net.family);
		match_addr(r, true, &s->net, s->prefix, false);
		verdict(r, NF_ACCEPT);
		rule_put(t, r);
		r = rule_new(t, "forward");
		if (n->uplink)
			match_ifname(r, NFT_META_IIFNAME, n->uplink);
		match_ifname(r, NFT_META_OIFNAME, n->bridge);
		match_nfproto(r, s->net.family);
		match_addr(r, false, &s->net, s->prefix, false);
		if (nat)
			match_ct_established(r);
		verdict(r, NF_ACCEPT);
		rule_put(t, r);
	}
	r = rule_new(t, "forward");
	match_ifname(r, NFT_META_IIFNAME, n->bridge);
	reject(r);
	rule_put(t, r);
	r = rule_new(t, "forward");
	match_ifname(r, NFT_META_OIFNAME, n->bridge);
	reject(r);
	rule_put(t, r);
}

static void nat_rules(struct tbl *t, const struct nat_net *n)
{
	static const char *specials[] = {"224.0.0.0", "255.255.255.255"};
	static const int special_len[] = {24, 32};
	for (size_t i = 0; i < n->nsubnets; i++) {
		const struct nat_subnet *s = &n->subnets[i];
		int fam = s->net.family;
		if (!s->masquerade)
			continue;
		/* multicast and broadcast leave unchanged */
		for (size_t k = 0; fam == AF_INET && k < 2; k++) {
			struct nf_addr sp;
			nf_addr_parse(specials[k], &sp);
			struct nftnl_rule *r = rule_new(t, "postrouting");
			if (n->uplink)
				match_ifname(r, NFT_META_OIFNAME, n->uplink);
			match_nfproto(r, fam);
			match_addr(r, true, &s->net, s->prefix, false);
			match_addr(r, false, &sp, special_len[k], false);
			verdict(r, NFT_RETURN);
			rule_put(t, r);
		}
		for (int k = 0; k < 3; k++) { /* tcp, udp: port range; rest */
			struct nftnl_rule *r = rule_new(t, "postrouting");
			if (n->uplink)
				match_ifname(r, NFT_META_OIFNAME, n->uplink);
			match_nfproto(r, fam);
			if (k < 2)
				match_l4proto(r, k == 0 ? IPPROTO_TCP
							: IPPROTO_UDP);
			match_addr(r, true, &s->net, s->prefix, false);
			match_addr(r, false, &s->net, s->prefix, true);
			nat_action(r, n, fam, k < 2);
			rule_put(t, r);
		}
	}
}

static void input_rules(struct tbl *t, const struct nat_net *n)
{
	struct {
		bool on;
		uint8_t proto;
		uint16_t port;
	} svc[] = {
		{n->dhcp, IPPROTO_UDP, 67}, {n->dhcp, IPPROTO_UDP, 547},
		{n->dns, IPPROTO_UDP, 53},  {n->dns, IPPROTO_TCP, 53},
		{n->tftp, IPPROTO_UDP, 69},
	};
	for (size_t i = 0; i < NF_ARRAY_SIZE(svc); i++) {
		if (!svc[i].on)
			continue;
		struct nftnl_rule *r = rule_new(t, "input");
		match_ifname(r, NFT_META_IIFNAME, n->bridge);
		match_dport(r, svc[i].proto, svc[i].port);
		verdict(r, NF_ACCEPT);
		rule_put(t, r);
	}
}

#define NF_BR_PRE_ROUTING                                                      \
	0 /* linux/netfilter_bridge.h clashes with net/if.h                    \
	   */
/* nft's datatype ids (for `nft list` to print keys); concatenations are
 * type << 6 | type */
#define NFT_TYPE_IPADDR	   7
#define NFT_TYPE_IP6ADDR   8
#define NFT_TYPE_ETHERADDR 9
#define NFT_TYPE_IFNAME	   41
#define NFT_BYTEORDER_HOST 1

/* Port guards: constant rules in one chain, per-port facts in sets keyed
 * by the TAP's name, so adding or removing a port is a few set elements
 * in one batch (constant cost, other ports untouched). */
enum guard_set {
	GS_GUARDED, /* ifname: ports under guard */
	GS_PINNED4, /* ifname: ports with a pinned IPv4 */
	GS_MACS,    /* ifname . ether_addr */
	GS_IP4S,    /* ifname . ipv4_addr */
	GS_IP6S,    /* ifname . ipv6_addr: link-local and pinned */
	GS_PENDING, /* ifname: ports whose guest MAC is not known yet */
	GS_OWNED,   /* ether_addr: the MACs guarded ports have */
	GS_RANGES4, /* ipv4_addr intervals: the network's DHCP ranges */
	GS_COUNT
};

static const struct {
	const char *name;
	uint32_t keylen, keytype;
} guard_sets[GS_COUNT] = {
	[GS_GUARDED] = {"guarded", 16, NFT_TYPE_IFNAME},
	[GS_PINNED4] = {"pinned4", 16, NFT_TYPE_IFNAME},
	[GS_MACS] = {"macs", 24, NFT_TYPE_IFNAME << 6 | NFT_TYPE_ETHERADDR},
	[GS_IP4S] = {"ip4s", 20, NFT_TYPE_IFNAME << 6 | NFT_TYPE_IPADDR},
	[GS_IP6S] = {"ip6s", 32, NFT_TYPE_IFNAME << 6 | NFT_TYPE_IP6ADDR},
	[GS_PENDING] = {"pending", 16, NFT_TYPE_IFNAME},
	[GS_OWNED] = {"owned", 6, NFT_TYPE_ETHERADDR},
	[GS_RANGES4] = {"ranges4", 4, NFT_TYPE_IPADDR},
};

/* sets keyed by a value alone, not by the input interface with it */
static bool value_keyed(enum guard_set k)
{
	return k == GS_OWNED || k == GS_RANGES4;
}

/* Guard set k of the bridge table, by name (elements are added to it). */
static struct nftnl_set *guard_set(const char *table, enum guard_set k)
{
	struct nftnl_set *s = nftnl_set_alloc();
	nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, guard_sets[k].name);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_BRIDGE);
	return s;
}

/* s's elements as one NEWSETELEM or DELSETELEM of the batch (s freed). */
static void elems_msg(struct batch *bt, int msg, struct nftnl_set *s)
{
	struct nlmsghdr *h = nftnl_nlmsg_build_hdr(
		(char *)batch_hdr(bt), (uint16_t)msg, NFPROTO_BRIDGE,
		(msg == NFT_MSG_NEWSETELEM ? NLM_F_CREATE : 0) | NLM_F_ACK,
		bt->c->seq++);
	nftnl_set_elems_nlmsg_build_payload(h, s);
	nftnl_set_free(s);
	batch_next(bt);
}

static void set_decl(struct batch *bt, const char *table, enum guard_set k)
{
	struct nftnl_set *s = guard_set(table, k);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, guard_sets[k].keylen);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, guard_sets[k].keytype);
	nftnl_set_set_u32(s, NFTNL_SET_ID, (uint32_t)k + 1);
	if (k == GS_RANGES4)
		nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_INTERVAL);
	struct nftnl_udata_buf *u = nftnl_udata_buf_alloc(64);
	nftnl_udata_put_u32(u, NFTNL_UDATA_SET_KEYBYTEORDER,
			    NFT_BYTEORDER_HOST);
	nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(u),
			   nftnl_udata_buf_len(u));
	nftnl_udata_buf_free(u);
	struct nlmsghdr *h = nftnl_nlmsg_build_hdr(
		(char *)batch_hdr(bt), NFT_MSG_NEWSET, NFPROTO_BRIDGE,
		NLM_F_CREATE | NLM_F_ACK, bt->c->seq++);
	nftnl_set_nlmsg_build_payload(h, s);
	nftnl_set_free(s);
	batch_next(bt);
}

/* Loads the key for set k into registers from NFT_REG32_00: the input
 * interface, then (for pairs) the field at base/off. */
static void load_key(struct nftnl_rule *r, enum guard_set k, uint32_t base,
		     uint32_t off)
{
	struct nftnl_expr *x;
	if (!value_keyed(k)) {
		x = nftnl_expr_alloc("meta");
		nftnl_expr_set_u32(x, NFTNL_EXPR_META_KEY, NFT_META_IIFNAME);
		nftnl_expr_set_u32(x, NFTNL_EXPR_META_DREG, NFT_REG32_00);
		add(r, x);
	}
	if (k == GS_GUARDED || k == GS_PINNED4 || k == GS_PENDING)
		return;
	uint32_t len = k == GS_MACS || k == GS_OWNED	 ? 6
		       : k == GS_IP4S || k == GS_RANGES4 ? 4
							 : 16;
	x = nftnl_expr_alloc("payload");
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_DREG,
			   value_keyed(k) ? NFT_REG32_00 : NFT_REG32_04);
	add(r, x);
}

/* key [not] in set k */
static void in_set(struct nftnl_rule *r, enum guard_set k, uint32_t base,
		   uint32_t off, bool negate)
{
	load_key(r, k, base, off);
	struct nftnl_expr *x = nftnl_expr_alloc("lookup");
	nftnl_expr_set_u32(x, NFTNL_EXPR_LOOKUP_SREG, NFT_REG32_00);
	nftnl_expr_set_str(x, NFTNL_EXPR_LOOKUP_SET, guard_sets[k].name);
	nftnl_expr_set_u32(x, NFTNL_EXPR_LOOKUP_SET_ID, (uint32_t)k + 1);
	if (negate)
		nftnl_expr_set_u32(x, NFTNL_EXPR_LOOKUP_FLAGS,
				   NFT_LOOKUP_F_INV);
	add(r, x);
}

static void match_ethertype(struct nftnl_rule *r, uint16_t type)
{
	uint16_t be = htons(type);
	payload(r, NFT_PAYLOAD_LL_HEADER, 12, 2);
	cmp(r, NFT_CMP_EQ, &be, 2);
}

static void sport(struct nftnl_rule *r, uint8_t proto, uint16_t port)
{
	uint16_t p = htons(port);
	match_l4proto(r, proto);
	payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2);
	cmp(r, NFT_CMP_EQ, &p, 2);
}

static void icmp6_type(struct nftnl_rule *r, uint8_t type)
{
	match_l4proto(r, IPPROTO_ICMPV6);
	payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1);
	cmp(r, NFT_CMP_EQ, &type, 1);
}

/* The guard chain: a frame from a guarded port must carry the guest's MAC;
 * ARP must claim it (and the pinned IPv4, or 0.0.0.0 for probes); IPv4
 * must come from the pinned address (DHCP from 0.0.0.0 allowed), and an
 * address inside the DHCP ranges only from the port leasing it; IPv6
 * from ::, the link-local or the pinned address, with no router adverts
 * and no neighbour adverts for others; no DHCP/DHCPv6 server replies; any
 * other ethertype is dropped. */
static void guard_rules(struct tbl *t)
{
	static const uint8_t any4[4], any6[16];
	const char *c = "guard";
	struct nftnl_rule *r;
#define RULE(...)                                                              \
	do {                                                                   \
		r = rule_new(t, c);                                            \
		__VA_ARGS__;                                                   \
		rule_put(t, r);                                                \
	} while (0)
	RULE(in_set(r, GS_GUARDED, 0, 0, true); verdict(r, NF_ACCEPT));
	/* a port whose guest is not known yet: what identifies it, never
	 * from a MAC another port has (the bridge would move it here) */
	RULE(in_set(r, GS_PENDING, 0, 0, false);
	     in_set(r, GS_OWNED, NFT_PAYLOAD_LL_HEADER, 6, false);
	     verdict(r, NF_DROP));
	RULE(in_set(r, GS_PENDING, 0, 0, false); match_ethertype(r, ETH_P_IP);
	     payload(r, NFT_PAYLOAD_NETWORK_HEADER, 12, 4);
	     cmp(r, NFT_CMP_EQ, any4, 4); sport(r, IPPROTO_UDP, 68);
	     match_dport(r, IPPROTO_UDP, 67); verdict(r, NF_ACCEPT));
	RULE(in_set(r, GS_PENDING, 0, 0, false); match_ethertype(r, ETH_P_ARP);
	     payload(r, NFT_PAYLOAD_NETWORK_HEADER, 14, 4);
	     cmp(r, NFT_CMP_EQ, any4, 4); verdict(r, NF_ACCEPT));
	RULE(in_set(r, GS_PENDING, 0, 0, false); match_ethertype(r, ETH_P_IPV6);
	     payload(r, NFT_PAYLOAD_NETWORK_HEADER, 8, 16);
	     cmp(r, NFT_CMP_EQ, any6, 16); verdict(r, NF_ACCEPT));
	RULE(in_set(r, GS_MACS, NFT_PAYLOAD_LL_HEADER, 6, true);
	     verdict(r, NF_DROP));
	RULE(match_ethertype(r, ETH_P_ARP);
	     in_set(r, GS_MACS, NFT_PAYLOAD_NETWORK_HEADER, 8, true);
	     verdict(r, NF_DROP));
	RULE(match_ethertype(r, ETH_P_ARP); in_set(r, GS_PINNED4, 0, 0, false);
	     payload(r, NFT_PAYLOAD_NETWORK_HEADER, 14, 4);
	     cmp(r, NFT_CMP_NEQ, any4, 4);
	     in_set(r, GS_IP4S, NFT_PAYLOAD_NETWORK_HEADER, 14, true);
	     verdict(r, NF_DROP));
	/* an address of the DHCP ranges only from the port holding its
	 * lease (or pinned to it): what lets dnsmasq offer addresses
	 * without pinging them first */
	RULE(match_ethertype(r, ETH_P_ARP);
	     in_set(r, GS_RANGES4, NFT_PAYLOAD_NETWORK_HEADER, 14, false);
	     in_set(r, GS_IP4S, NFT_PAYLOAD_NETWORK_HEADER, 14, true);
	     verdict(r, NF_DROP));
	RULE(match_ethertype(r, ETH_P_ARP); verdict(r, NF_ACCEPT));
	RULE(match_ethertype(r, ETH_P_IP); sport(r, IPPROTO_UDP, 67);
	     verdict(r, NF_DROP));
	RULE(match_ethertype(r, ETH_P_IP);
	     payload(r, NFT_PAYLOAD_NETWORK_HEADER, 12, 4);
	     cmp(r, NFT_CMP_EQ, any4, 4); match_dport(r, IPPROTO_UDP, 67);
	     verdict(r, NF_ACCEPT));
	RULE(match_ethertype(r, ETH_P_IP); in_set(r, GS_PINNED4, 0, 0, false);
	     in_set(r, GS_IP4S, NFT_PAYLOAD_NETWORK_HEADER, 12, true);
	     verdict(r, NF_DROP));
	RULE(match_ethertype(r, ETH_P_IP);
	     in_set(r, GS_RANGES4, NFT_PAYLOAD_NETWORK_HEADER, 12, false);
	     in_set(r, GS_IP4S, NFT_PAYLOAD_NETWORK_HEADER, 12, true);
	     verdict(r, NF_DROP));
	RULE(match_ethertype(r, ETH_P_IP); verdict(r, NF_ACCEPT));
	RULE(match_ethertype(r, ETH_P_IPV6); icmp6_type(r, 134);
	     verdict(r, NF_DROP));
	RULE(match_ethertype(r, ETH_P_IPV6); sport(r, IPPROTO_UDP, 547);
	     verdict(r, NF_DROP));
	RULE(match_ethertype(r, ETH_P_IPV6); icmp6_type(r, 136);
	     in_set(r, GS_IP6S, NFT_PAYLOAD_TRANSPORT_HEADER, 8, true);
	     verdict(r, NF_DROP));
	RULE(match_ethertype(r, ETH_P_IPV6);
	     payload(r, NFT_PAYLOAD_NETWORK_HEADER, 8, 16);
	     cmp(r, NFT_CMP_EQ, any6, 16); verdict(r, NF_ACCEPT));
	RULE(match_ethertype(r, ETH_P_IPV6);
	     in_set(r, GS_IP6S, NFT_PAYLOAD_NETWORK_HEADER, 8, true);
	     verdict(r, NF_DROP));
	RULE(match_ethertype(r, ETH_P_IPV6); verdict(r, NF_ACCEPT));
	RULE(verdict(r, NF_DROP));
#undef RULE
}

static int cmp_range(const void *a, const void *b)
{
	const struct nat_range4 *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* The ranges as interval elements (start; end + 1 closing it), merged
 * where they overlap or touch: the kernel refuses overlapping ones. */
static void range_elems(struct batch *bt, const char *table,
			const struct nat_range4 *in, size_t n)
{
	if (!n)
		return;
	struct nat_range4 *v = nf_xcalloc(n, sizeof(*v));
	memcpy(v, in, n * sizeof(*v));
	qsort(v, n, sizeof(*v), cmp_range);
	size_t m = 0;
	for (size_t i = 1; i < n; i++)
		if (v[m].end == UINT32_MAX || v[i].start <= v[m].end + 1) {
			if (v[i].end > v[m].end)
				v[m].end = v[i].end;
		} else {
			v[++m] = v[i];
		}
	struct nftnl_set *s = guard_set(table, GS_RANGES4);
	for (size_t i = 0; i <= m; i++)
		for (int end = 0; end < 2; end++) {
			if (end && v[i].end == UINT32_MAX)
				break; /* open to the top */
			uint32_t key = htonl(end ? v[i].end + 1 : v[i].start);
			struct nftnl_set_elem *el = nftnl_set_elem_alloc();
			nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY, &key, 4);
			if (end)
				nftnl_set_elem_set_u32(
					el, NFTNL_SET_ELEM_FLAGS,
					NFT_SET_ELEM_INTERVAL_END);
			nftnl_set_elem_add(s, el);
		}
	elems_msg(bt, NFT_MSG_NEWSETELEM, s);
	free(v);
}

static void port_table(struct batch *bt, const struct nat_net *n)
{
	struct tbl t = {bt, n->table, NFPROTO_BRIDGE};
	for (int k = 0; k < GS_COUNT; k++)
		set_decl(bt, n->table, (enum guard_set)k);
	range_elems(bt, n->table, n->ranges4, n->nranges4);
	chain_put(&t, "guard", NF_BR_PRE_ROUTING, -200, "filter");
	guard_rules(&t);
}

int nat_apply(struct nat_ctx *c, const struct nat_net *n, struct nf_err *e)
{
	struct batch bt;
	struct tbl t = {&bt, n->table, NFPROTO_INET};
	batch_begin(&bt, c);
	/* add+delete+add: replaces old tables in the same transaction */
	for (int k = 0; k < 2; k++) {
		uint32_t fam = k ? NFPROTO_BRIDGE : NFPROTO_INET;
		if (fam == NFPROTO_INET && n->mode == NAT_OPEN)
			continue;
		table_msg(&bt, NFT_MSG_NEWTABLE, fam, n->table, n->owner);
		table_msg(&bt, NFT_MSG_DELTABLE, fam, n->table, NULL);
		table_msg(&bt, NFT_MSG_NEWTABLE, fam, n->table, n->owner);
	}
	port_table(&bt, n);
	if (n->mode != NAT_OPEN) {
		chain_put(&t, "input", NF_INET_LOCAL_IN, 0, "filter");
		chain_put(&t, "forward", NF_INET_FORWARD, 0, "filter");
		input_rules(&t, n);
		forward_rules(&t, n);
	}
	if (n->mode == NAT_NAT) {
		chain_put(&t, "postrouting", NF_INET_POST_ROUTING, 100, "nat");
		nat_rules(&t, n);
	}
	return batch_commit(&bt, e, n->table);
}

/* ------------------------------------------------------ port guards */

/* Adds (msg NEWSETELEM) or deletes (DELSETELEM) the port's elements in one
 * set: key = ifname padded to 16 bytes, then the value padded to 4. */
static void port_elems(struct batch *bt, int msg, const char *table,
		       enum guard_set k, const char *tap,
		       const void *const *vals, const size_t *lens, size_t n)
{
	struct nftnl_set *s = guard_set(table, k);
	for (size_t i = 0; i < (n ? n : 1); i++) {
		uint8_t key[32] = {0};
		if (value_keyed(k)) /* the value alone */
			memcpy(key, vals[i], lens[i]);
		else
			snprintf((char *)key, 16, "%s", tap);
		if (n && !value_keyed(k))
			memcpy(key + 16, vals[i], lens[i]);
		struct nftnl_set_elem *el = nftnl_set_elem_alloc();
		nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY, key,
				   guard_sets[k].keylen);
		nftnl_set_elem_add(s, el);
	}
	elems_msg(bt, msg, s);
}

static void port_msgs(struct batch *bt, int msg, const char *table,
		      const struct nat_port *p)
{
	uint8_t ll[16] = {0xfe, 0x80};
	ll[8] = p->mac[0] ^ 0x02; /* EUI-64 link-local of the MAC */
	ll[9] = p->mac[1];
	ll[10] = p->mac[2];
	ll[11] = 0xff;
	ll[12] = 0xfe;
	ll[13] = p->mac[3];
	ll[14] = p->mac[4];
	ll[15] = p->mac[5];
	bool pin4 = p->ip4.family == AF_INET, pin6 = p->ip6.family == AF_INET6;
	const void *mac[] = {p->mac}, *v4[] = {p->ip4.b},
		   *v6[] = {ll, p->ip6.b};
	const size_t l6[] = {6}, l4[] = {4}, l16[] = {16, 16};
	port_elems(bt, msg, table, GS_GUARDED, p->tap, NULL, NULL, 0);
	if (p->state == NAT_PORT_PENDING)
		port_elems(bt, msg, table, GS_PENDING, p->tap, NULL, NULL, 0);
	if (p->state != NAT_PORT_GUARDED)
		return; /* no MAC, no address passes */
	port_elems(bt, msg, table, GS_MACS, p->tap, mac, l6, 1);
	port_elems(bt, msg, table, GS_OWNED, p->tap, mac, l6, 1);
	if (pin4) {
		port_elems(bt, msg, table, GS_PINNED4, p->tap, NULL, NULL, 0);
		port_elems(bt, msg, table, GS_IP4S, p->tap, v4, l4, 1);
	} else if (p->lease4.family == AF_INET) {
		const void *lv[] = {p->lease4.b};
		port_elems(bt, msg, table, GS_IP4S, p->tap, lv, l4, 1);
	}
	port_elems(bt, msg, table, GS_IP6S, p->tap, v6, l16, pin6 ? 2 : 1);
}

int nat_port_add(struct nat_ctx *c, const char *table,
		 const struct nat_port *old, const struct nat_port *p,
		 struct nf_err *e)
{
	struct batch bt;
	batch_begin(&bt, c);
	if (old)
		port_msgs(&bt, NFT_MSG_DELSETELEM, table, old);
	port_msgs(&bt, NFT_MSG_NEWSETELEM, table, p);
	return batch_commit(&bt, e, p->tap);
}

int nat_port_remove(struct nat_ctx *c, const char *table,
		    const struct nat_port *p, struct nf_err *e)
{
	struct batch bt;
	batch_begin(&bt, c);
	port_msgs(&bt, NFT_MSG_DELSETELEM, table, p);
	return batch_commit(&bt, e, p->tap);
}

/* ------------------------------------------------------ reading tables */

struct table_info {
	char name[256], comment[NFTNL_UDATA_COMMENT_MAXLEN + 1];
};

static int comment_cb(const struct nftnl_udata *a, void *data)
{
	struct table_info *ti = data;
	if (nftnl_udata_type(a) == NFTNL_UDATA_TABLE_COMMENT) {
		size_t l = nftnl_udata_len(a);
		if (l > NFTNL_UDATA_COMMENT_MAXLEN)
			l = NFTNL_UDATA_COMMENT_MAXLEN;
		memcpy(ti->comment, nftnl_udata_get(a), l);
		ti->comment[l] = '\0';
	}
	return 0;
}

struct dump {
	struct table_info *tables;
	size_t n;
};

static int table_cb(const struct nlmsghdr *h, void *data)
{
	struct dump *d = data;
	struct nftnl_table *t = nftnl_table_alloc();
	struct table_info ti = {0};
	if (nftnl_table_nlmsg_parse(h, t) == 0) {
		snprintf(ti.name, sizeof(ti.name), "%s",
			 nftnl_table_get_str(t, NFTNL_TABLE_NAME));
		uint32_t len = 0;
		const void *ud =
			nftnl_table_get_data(t, NFTNL_TABLE_USERDATA, &len);
		if (ud)
			nftnl_udata_parse(ud, len, comment_cb, &ti);
		NF_APPEND(d->tables, d->n, ti);
	}
	nftnl_table_free(t);
	return MNL_CB_OK;
}

static int dump_request(struct nat_ctx *c, struct nlmsghdr *h, mnl_cb_t cb,
			void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	uint32_t seq = h->nlmsg_seq;
	if (mnl_socket_sendto(c->nl, h, h->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(c->nl, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		int r = mnl_cb_run(buf, (size_t)n, seq, c->portid, cb, data);
		if (r < 0)
			return errno == ENOENT ? 0 : -errno;
		if (r == MNL_CB_STOP)
			return 0;
	}
}

static int list_tables(struct nat_ctx *c, uint32_t family, struct dump *d)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *h = nftnl_table_nlmsg_build_hdr(
		buf, NFT_MSG_GETTABLE, (uint16_t)family, NLM_F_DUMP, c->seq++);
	return dump_request(c, h, table_cb, d);
}

int nat_for_each_owned(struct nat_ctx *c, const char *prefix,
		       void (*cb)(const char *table, const char *owner,
				  void *ctx),
		       void *ctx)
{
	struct dump d = {0};
	int r = list_tables(c, NFPROTO_INET, &d);
	if (r == 0)
		r = list_tables(c, NFPROTO_BRIDGE, &d);
	for (size_t i = 0; r == 0 && i < d.n; i++)
		if (i && !strcmp(d.tables[i].name, d.tables[i - 1].name))
			continue; /* same name in both families: once */
		else if (!strncmp(d.tables[i].comment, prefix, strlen(prefix)))
			cb(d.tables[i].name, d.tables[i].comment, ctx);
	free(d.tables);
	return r;
}

static int owned_in(struct nat_ctx *c, uint32_t family, const char *table,
		    const char *owner)
{
	struct dump d = {0};
	int found = 0;
	if (list_tables(c, family, &d) == 0)
		for (size_t i = 0; i < d.n; i++)
			if (!strcmp(d.tables[i].name, table) &&
			    !strcmp(d.tables[i].comment, owner))
				found = 1;
	free(d.tables);
	return found;
}

int nat_table_owned(struct nat_ctx *c, const char *table, const char *owner)
{
	return owned_in(c, NFPROTO_BRIDGE, table, owner);
}

int nat_remove(struct nat_ctx *c, const char *table, const char *owner,
	       struct nf_err *e)
{
	struct batch bt;
	bool any = false;
	batch_begin(&bt, c);
	for (int k = 0; k < 2; k++) {
		uint32_t fam = k ? NFPROTO_BRIDGE : NFPROTO_INET;
		if (owned_in(c, fam, table, owner)) {
			table_msg(&bt, NFT_MSG_DELTABLE, fam, table, NULL);
			any = true;
		}
	}
	if (any)
		return batch_commit(&bt, e, table);
	mnl_nlmsg_batch_stop(bt.b);
	return 0;
}

/* ------------------------------------------------------- doctor support */

struct chain_dump {
	const char *hook;
	void (*cb)(const char *, const char *, const char *, void *);
	void *ctx;
};

static const char *family_name(uint32_t f)
{
	switch (f) {
	case NFPROTO_IPV4: return "ip";
	case NFPROTO_IPV6: return "ip6";
	case NFPROTO_INET: return "inet";
	case NFPROTO_BRIDGE: return "bridge";
	case NFPROTO_ARP: return "arp";
	case NFPROTO_NETDEV: return "netdev";
	default: return "?";
	}
}

static int chain_cb(const struct nlmsghdr *h, void *data)
{
	struct chain_dump *d = data;
	struct nftnl_chain *ch = nftnl_chain_alloc();
	if (nftnl_chain_nlmsg_parse(h, ch) == 0 &&
	    nftnl_chain_is_set(ch, NFTNL_CHAIN_HOOKNUM) &&
	    nftnl_chain_is_set(ch, NFTNL_CHAIN_POLICY) &&
	    nftnl_chain_get_u32(ch, NFTNL_CHAIN_POLICY) == NF_DROP) {
		uint32_t hook = nftnl_chain_get_u32(ch, NFTNL_CHAIN_HOOKNUM);
		static const char *hooks[] = {"prerouting", "input", "forward",
					      "output", "postrouting"};
		if (hook < 5 && !strcmp(hooks[hook], d->hook))
			d->cb(family_name(nftnl_chain_get_u32(
				      ch, NFTNL_CHAIN_FAMILY)),
			      nftnl_chain_get_str(ch, NFTNL_CHAIN_TABLE),
			      nftnl_chain_get_str(ch, NFTNL_CHAIN_NAME),
			      d->ctx);
	}
	nftnl_chain_free(ch);
	return MNL_CB_OK;
}

int nat_for_each_drop_policy(struct nat_ctx *c, const char *hook,
			     void (*cb)(const char *family, const char *table,
					const char *chain, void *ctx),
			     void *ctx)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct chain_dump d = {hook, cb, ctx};
	struct nlmsghdr *h = nftnl_chain_nlmsg_build_hdr(
		buf, NFT_MSG_GETCHAIN, NFPROTO_UNSPEC, NLM_F_DUMP, c->seq++);
	return dump_request(c, h, chain_cb, &d);
}
