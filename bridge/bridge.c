#define _GNU_SOURCE
#include "bridge.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <netlink/route/act/mirred.h>
#include <netlink/route/class.h>
#include <netlink/route/classifier.h>
#include <netlink/route/cls/u32.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/htb.h>

struct bridge_ctx {
	struct nl_sock *sk;
};

/* libnl reports its own codes; the rest of the tree speaks errno. */
static int nle_errno(int nle)
{
	switch (-nle) {
	case NLE_EXIST: return EEXIST;
	case NLE_NODEV:
	case NLE_OBJ_NOTFOUND: return ENODEV;
	case NLE_PERM: return EPERM;
	case NLE_BUSY: return EBUSY;
	case NLE_NOMEM: return ENOMEM;
	case NLE_RANGE: return ERANGE;
	case NLE_NOADDR: return EADDRNOTAVAIL;
	case NLE_INVAL: return EINVAL;
	case NLE_OPNOTSUPP: return EOPNOTSUPP;
	default: return EIO;
	}
}

int bridge_open(struct bridge_ctx **out, struct nf_err *e)
{
	struct bridge_ctx *c = nf_xcalloc(1, sizeof(*c));
	int r;
	c->sk = nl_socket_alloc();
	if (!c->sk) {
		free(c);
		return nf_errf(e, ENOMEM, "cannot allocate a netlink socket");
	}
	r = nl_connect(c->sk, NETLINK_ROUTE);
	if (r < 0) {
		nl_socket_free(c->sk);
		free(c);
		return nf_errf(e, nle_errno(r), "rtnetlink: %s",
			       nl_geterror(r));
	}
	*out = c;
	return 0;
}

void bridge_close(struct bridge_ctx *c)
{
	if (!c)
		return;
	nl_socket_free(c->sk);
	free(c);
}

/* Sends m (consumed) and waits for the kernel's ack. */
static int request(struct bridge_ctx *c, struct nl_msg *m, struct nf_err *e,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int request(struct bridge_ctx *c, struct nl_msg *m, struct nf_err *e,
		   const char *fmt, ...)
{
	int r = nl_send_sync(c->sk, m);
	if (r < 0) {
		char what[256];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(what, sizeof(what), fmt, ap);
		va_end(ap);
		return nf_errf(e, nle_errno(r), "%s: %s", what, nl_geterror(r));
	}
	return 0;
}

static struct nl_msg *link_msg(int type, int flags, int ifindex)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex};
	struct nl_msg *m = nlmsg_alloc_simple(type, flags);
	if (!m || nlmsg_append(m, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0)
		abort();
	return m;
}

int bridge_create(struct bridge_ctx *c, const struct bridge_spec *s,
		  struct nf_err *e)
{
	struct nl_msg *m = link_msg(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
	struct nlattr *li, *data;

	NLA_PUT_STRING(m, IFLA_IFNAME, s->name);
	if (s->mac)
		NLA_PUT(m, IFLA_ADDRESS, 6, s->mac);
	if (s->mtu)
		NLA_PUT_U32(m, IFLA_MTU, s->mtu);
	NLA_PUT_U32(m, IFLA_GROUP, BRIDGE_GROUP);
	li = nla_nest_start(m, IFLA_LINKINFO);
	NLA_PUT_STRING(m, IFLA_INFO_KIND, "bridge");
	data = nla_nest_start(m, IFLA_INFO_DATA);
	/* the kernel checks the delay only while STP runs: set it first */
	NLA_PUT_U32(m, IFLA_BR_FORWARD_DELAY, (uint32_t)(s->delay * 100));
	NLA_PUT_U32(m, IFLA_BR_STP_STATE, s->stp);
	nla_nest_end(m, data);
	nla_nest_end(m, li);
	int r = request(c, m, e, "cannot create bridge %s", s->name);
	if (r < 0 || !s->owner)
		return r;
	m = link_msg(RTM_NEWLINK, 0, (int)if_nametoindex(s->name));
	NLA_PUT_STRING(m, IFLA_IFALIAS, s->owner);
	return request(c, m, e, "cannot name the owner of bridge %s", s->name);
nla_put_failure:
	nlmsg_free(m);
	return nf_errf(e, EMSGSIZE, "netlink message too large");
}

static struct nl_msg *link_up_msg(int ifindex);

int bridge_macvtap_create(struct bridge_ctx *c, const char *lower,
			  const char *name, const char *owner, struct nf_err *e)
{
	int li_idx = (int)if_nametoindex(lower);
	if (!li_idx)
		return nf_errf(e, ENODEV, "no link %s for a macvtap", lower);
	struct nl_msg *m = link_msg(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
	struct nlattr *li, *data;
	NLA_PUT_STRING(m, IFLA_IFNAME, name);
	NLA_PUT_U32(m, IFLA_LINK, (uint32_t)li_idx);
	NLA_PUT_U32(m, IFLA_GROUP, BRIDGE_GROUP);
	li = nla_nest_start(m, IFLA_LINKINFO);
	NLA_PUT_STRING(m, IFLA_INFO_KIND, "macvtap");
	data = nla_nest_start(m, IFLA_INFO_DATA);
	NLA_PUT_U32(m, IFLA_MACVLAN_MODE, MACVLAN_MODE_PASSTHRU);
	nla_nest_end(m, data);
	nla_nest_end(m, li);
	int r = request(c, m, e, "cannot create macvtap %s on %s", name, lower);
	if (r < 0)
		return r;
	int idx = (int)if_nametoindex(name);
	m = link_msg(RTM_NEWLINK, 0, idx);
	NLA_PUT_STRING(m, IFLA_IFALIAS, owner);
	if ((r = request(c, m, e, "cannot name the owner of %s", name)) < 0)
		return r;
	return request(c, link_up_msg(idx), e, "cannot bring %s up", name);
nla_put_failure:
	nlmsg_free(m);
	return nf_errf(e, EMSGSIZE, "netlink message too large");
}

int bridge_link_set(struct bridge_ctx *c, const char *name, const uint8_t *mac,
		    unsigned mtu, int up, struct nf_err *e)
{
	int idx = (int)if_nametoindex(name);
	if (!idx)
		return nf_errf(e, ENODEV, "no link %s", name);
	struct nl_msg *m =
		up >= 0 ? link_up_msg(idx) : link_msg(RTM_NEWLINK, 0, idx);
	if (up == 0)
		((struct ifinfomsg *)nlmsg_data(nlmsg_hdr(m)))->ifi_flags = 0;
	if (mac)
		NLA_PUT(m, IFLA_ADDRESS, 6, mac);
	if (mtu)
		NLA_PUT_U32(m, IFLA_MTU, mtu);
	return request(c, m, e, "cannot set the MAC/MTU of %s", name);
nla_put_failure:
	nlmsg_free(m);
	return nf_errf(e, EMSGSIZE, "netlink message too large");
}

static int link_info(struct bridge_ctx *c, const char *name, char *alias,
		     size_t n, uint32_t *group, int *ifindex)
{
	struct rtnl_link *l = NULL;
	int r = rtnl_link_get_kernel(c->sk, 0, name, &l);
	if (r < 0)
		return -ENOENT;
	const char *a = rtnl_link_get_ifalias(l);
	snprintf(alias, n, "%s", a ? a : "");
	if (group)
		*group = rtnl_link_get_group(l);
	if (ifindex)
		*ifindex = rtnl_link_get_ifindex(l);
	rtnl_link_put(l);
	return 0;
}

int bridge_get_alias(struct bridge_ctx *c, const char *name, char *alias,
		     size_t n)
{
	return link_info(c, name, alias, n, NULL, NULL);
}

/* Whether name is a link owner may delete: 1 (its ifindex in *idx), 0
 * when there is no such link, -EPERM (said in e) when it is not ours. */
static int deletable(struct bridge_ctx *c, const char *name, const char *owner,
		     int *idx, struct nf_err *e)
{
	char alias[256];
	uint32_t group = 0;
	if (link_info(c, name, alias, sizeof(alias), &group, idx) < 0)
		return 0;
	if (strcmp(alias, owner) && !(!alias[0] && group == BRIDGE_GROUP))
		return nf_errf(e, EPERM,
			       "link %s is not netd's (alias '%s'); left alone",
			       name, alias);
	return 1;
}

int bridge_delete(struct bridge_ctx *c, const char *name, const char *owner,
		  struct nf_err *e)
{
	int idx, r = deletable(c, name, owner, &idx, e);
	if (r <= 0)
		return r;
	struct nl_msg *m = link_msg(RTM_DELLINK, 0, idx);
	return request(c, m, e, "cannot delete link %s", name);
}

/* One RTM_NEWLINK or RTM_DELLINK naming a link group: a link moved into
 * it (idx) or all its links deleted (idx 0). */
static int group_msg(struct bridge_ctx *c, int idx, uint32_t group,
		     struct nf_err *e)
{
	struct nl_msg *m = link_msg(idx ? RTM_NEWLINK : RTM_DELLINK, 0, idx);
	NLA_PUT_U32(m, IFLA_GROUP, group);
	return request(c, m, e, "cannot %s link group %u",
		       idx ? "move a link into" : "delete", group);
nla_put_failure:
	nlmsg_free(m);
	return nf_errf(e, EMSGSIZE, "netlink message too large");
}

int bridge_delete_many(struct bridge_ctx *c, const char *const *names,
		       const char *const *owners, size_t n, struct nf_err *e)
{
	int *idx = nf_xcalloc(n + 1, sizeof(*idx)), r = 0;
	size_t k = 0;
	/* a group no link of anyone's is in: this call's own */
	uint16_t rnd;
	nf_random_bytes((uint8_t *)&rnd, sizeof(rnd));
	uint32_t group = 0x4e470000u | rnd;
	for (size_t i = 0; i < n; i++) {
		struct nf_err pe;
		int d = deletable(c, names[i], owners[i], &idx[k], &pe);
		if (d < 0 && !r)
			r = nf_errf(e, -d, "%s", pe.msg);
		if (d > 0 && group_msg(c, idx[k], group, &pe) == 0)
			k++;
	}
	/* one unregister for all (its RCU waits shared); should the kernel
	 * refuse the group, each link on its own */
	struct nf_err ge;
	if (k && group_msg(c, 0, group, &ge) < 0)
		for (size_t i = 0; i < k; i++) {
			struct nl_msg *m = link_msg(RTM_DELLINK, 0, idx[i]);
			int d = request(c, m, &ge, "cannot delete link %d",
					idx[i]);
			if (d < 0 && d != -ENODEV && !r)
				r = nf_errf(e, -d, "%s", ge.msg);
		}
	free(idx);
	return r;
}

/* RTM_NEWLINK for an existing link that also brings it up. */
static struct nl_msg *link_up_msg(int ifindex)
{
	struct nl_msg *m = nlmsg_alloc_simple(RTM_NEWLINK, 0);
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC,
				.ifi_index = ifindex,
				.ifi_flags = IFF_UP,
				.ifi_change = IFF_UP};
	if (!m || nlmsg_append(m, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0)
		abort();
	return m;
}

int bridge_set_up(struct bridge_ctx *c, const char *name, struct nf_err *e)
{
	int idx = (int)if_nametoindex(name);
	if (!idx)
		return nf_errf(e, ENODEV, "no link %s", name);
	return request(c, link_up_msg(idx), e, "cannot bring %s up", name);
}

int bridge_ensure_up(struct bridge_ctx *c, const char *name, struct nf_err *e)
{
	struct rtnl_link *l = NULL;
	if (rtnl_link_get_kernel(c->sk, 0, name, &l) < 0)
		return nf_errf(e, ENODEV, "no link %s", name);
	bool up = rtnl_link_get_flags(l) & IFF_UP;
	rtnl_link_put(l);
	if (up)
		return 0;
	int rc = bridge_set_up(c, name, e);
	return rc < 0 ? rc : 1;
}

int bridge_addr_add(struct bridge_ctx *c, const char *name,
		    const struct nf_addr *a, int prefix, struct nf_err *e)
{
	int idx = (int)if_nametoindex(name);
	char s[INET6_ADDRSTRLEN];
	if (!idx)
		return nf_errf(e, ENODEV, "no link %s", name);
	struct ifaddrmsg ifa = {.ifa_family = (uint8_t)a->family,
				.ifa_prefixlen = (uint8_t)prefix,
				.ifa_scope = RT_SCOPE_UNIVERSE,
				.ifa_index = (uint32_t)idx};
	struct nl_msg *m =
		nlmsg_alloc_simple(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
	nlmsg_append(m, &ifa, sizeof(ifa), NLMSG_ALIGNTO);
	NLA_PUT(m, IFA_LOCAL, (int)nf_addr_len(a), a->b);
	NLA_PUT(m, IFA_ADDRESS, (int)nf_addr_len(a), a->b);
	if (a->family == AF_INET && prefix < 31) {
		struct nf_addr bc = nf_addr_network(a, prefix);
		uint32_t host = prefix ? 0xffffffffu >> prefix : 0xffffffffu;
		bc.v4.s_addr |= htonl(host);
		NLA_PUT(m, IFA_BROADCAST, 4, bc.b);
	}
	if (a->family == AF_INET6) /* usable at once, no DAD wait */
		NLA_PUT_U32(m, IFA_FLAGS, IFA_F_NODAD);
	nf_addr_format(a, s, sizeof(s));
	return request(c, m, e, "cannot add address %s/%d to %s", s, prefix,
		       name);
nla_put_failure:
	nlmsg_free(m);
	return nf_errf(e, EMSGSIZE, "netlink message too large");
}

int bridge_route_add(struct bridge_ctx *c, const char *dev,
		     const struct nf_addr *dst, int prefix,
		     const struct nf_addr *gw, unsigned metric,
		     struct nf_err *e)
{
	int idx = (int)if_nametoindex(dev);
	char s[INET6_ADDRSTRLEN], g[INET6_ADDRSTRLEN];
	if (!idx)
		return nf_errf(e, ENODEV, "no link %s", dev);
	struct rtmsg rt = {.rtm_family = (uint8_t)dst->family,
			   .rtm_dst_len = (uint8_t)prefix,
			   .rtm_table = RT_TABLE_MAIN,
			   .rtm_protocol = RTPROT_STATIC,
			   .rtm_scope = RT_SCOPE_UNIVERSE,
			   .rtm_type = RTN_UNICAST};
	struct nl_msg *m =
		nlmsg_alloc_simple(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
	nlmsg_append(m, &rt, sizeof(rt), NLMSG_ALIGNTO);
	NLA_PUT(m, RTA_DST, (int)nf_addr_len(dst), dst->b);
	NLA_PUT(m, RTA_GATEWAY, (int)nf_addr_len(gw), gw->b);
	NLA_PUT_U32(m, RTA_OIF, (uint32_t)idx);
	if (metric)
		NLA_PUT_U32(m, RTA_PRIORITY, metric);
	nf_addr_format(dst, s, sizeof(s));
	nf_addr_format(gw, g, sizeof(g));
	return request(c, m, e, "cannot add route %s/%d via %s dev %s", s,
		       prefix, g, dev);
nla_put_failure:
	nlmsg_free(m);
	return nf_errf(e, EMSGSIZE, "netlink message too large");
}

int bridge_route_conflict(struct bridge_ctx *c, const struct nf_addr *net,
			  int prefix, const char *dev, char *what, size_t n)
{
	struct nl_cache *cache;
	int found = 0, ours = (int)if_nametoindex(dev);
	if (rtnl_route_alloc_cache(c->sk, net->family, 0, &cache) < 0)
		return 0;
	for (struct nl_object *o = nl_cache_get_first(cache); o && !found;
	     o = nl_cache_get_next(o)) {
		struct rtnl_route *r = (struct rtnl_route *)o;
		struct nl_addr *d = rtnl_route_get_dst(r);
		if (rtnl_route_get_table(r) != RT_TABLE_MAIN ||
		    rtnl_route_get_type(r) != RTN_UNICAST || !d)
			continue;
		int plen = (int)nl_addr_get_prefixlen(d);
		if (plen == 0)
			continue; /* the default route overlaps everything */
		struct rtnl_nexthop *nh = rtnl_route_nexthop_n(r, 0);
		int oif = nh ? rtnl_route_nh_get_ifindex(nh) : 0;
		if (oif == ours && ours)
			continue;
		struct nf_addr ra = {.family = net->family};
		memcpy(ra.b, nl_addr_get_binary_addr(d), nf_addr_len(&ra));
		int p = plen < prefix ? plen : prefix;
		if (!nf_addr_in_subnet(&ra, net, p))
			continue;
		char ifn[IF_NAMESIZE] = "?", sub[64];
		if (oif)
			if_indextoname((unsigned)oif, ifn);
		nf_addr_subnet_str(&ra, plen, sub, sizeof(sub));
		snprintf(what, n, "route %s dev %s", sub, ifn);
		found = 1;
	}
	nl_cache_free(cache);
	return found;
}

int bridge_for_each_owned(struct bridge_ctx *c, const char *prefix,
			  void (*cb)(const char *name, const char *alias,
				     void *ctx),
			  void *ctx)
{
	struct nl_cache *cache;
	int r = rtnl_link_alloc_cache(c->sk, AF_UNSPEC, &cache);
	if (r < 0)
		return -nle_errno(r);
	for (struct nl_object *o = nl_cache_get_first(cache); o;
	     o = nl_cache_get_next(o)) {
		struct rtnl_link *l = (struct rtnl_link *)o;
		const char *a = rtnl_link_get_ifalias(l);
		if (a && !strncmp(a, prefix, strlen(prefix)))
			cb(rtnl_link_get_name(l), a, ctx);
	}
	nl_cache_free(cache);
	return 0;
}

int bridge_port_count(const char *bridge)
{
	char path[128];
	int n = 0;
	snprintf(path, sizeof(path), "/sys/class/net/%s/brif", bridge);
	DIR *d = opendir(path);
	for (struct dirent *de; d && (de = readdir(d));)
		n += de->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

int bridge_attach(struct bridge_ctx *c, const char *ifname, const char *bridge,
		  const char *alias, const uint8_t *mac, struct nf_err *e)
{
	int idx = (int)if_nametoindex(ifname), br = (int)if_nametoindex(bridge);
	if (!idx || !br)
		return nf_errf(e, ENODEV, "no link %s", idx ? bridge : ifname);
	struct nl_msg *m = link_up_msg(idx);
	if (mac) /* set before it goes up and joins (do_setlink's order) */
		NLA_PUT(m, IFLA_ADDRESS, 6, mac);
	NLA_PUT_U32(m, IFLA_MASTER, (uint32_t)br);
	if (alias)
		NLA_PUT_STRING(m, IFLA_IFALIAS, alias);
	int rc = request(c, m, e, "cannot attach %s to %s", ifname, bridge);
	if (rc < 0 && bridge_port_count(bridge) >= BRIDGE_MAX_PORTS)
		rc = nf_errf(
			e, EXFULL,
			"cannot attach %s to %s: the bridge holds %d ports, "
			"the most a Linux bridge takes (the kernel's "
			"BR_MAX_PORTS)",
			ifname, bridge, BRIDGE_MAX_PORTS);
	return rc;
nla_put_failure:
	nlmsg_free(m);
	return nf_errf(e, EMSGSIZE, "netlink message too large");
}

struct brport_flag {
	int type; /* IFLA_BRPORT_... */
	uint8_t val;
};

/* Sets bridge port flags of ifname (one RTM_SETLINK, AF_BRIDGE). */
static int brport_set(struct bridge_ctx *c, const char *ifname,
		      const struct brport_flag *f, size_t n, const char *what,
		      struct nf_err *e)
{
	int idx = (int)if_nametoindex(ifname);
	if (!idx)
		return nf_errf(e, ENODEV, "no link %s", ifname);
	struct nl_msg *m = nlmsg_alloc_simple(RTM_SETLINK, 0);
	struct ifinfomsg ifi = {.ifi_family = AF_BRIDGE, .ifi_index = idx};
	nlmsg_append(m, &ifi, sizeof(ifi), NLMSG_ALIGNTO);
	struct nlattr *pi = nla_nest_start(m, IFLA_PROTINFO | NLA_F_NESTED);
	for (size_t i = 0; i < n; i++)
		NLA_PUT_U8(m, f[i].type, f[i].val);
	nla_nest_end(m, pi);
	return request(c, m, e, "cannot set %s %s", ifname, what);
nla_put_failure:
	nlmsg_free(m);
	return nf_errf(e, EMSGSIZE, "netlink message too large");
}

int bridge_port_isolated(struct bridge_ctx *c, const char *ifname, bool on,
			 struct nf_err *e)
{
	struct brport_flag f[] = {{IFLA_BRPORT_ISOLATED, on}};
	return brport_set(c, ifname, f, 1, "isolated", e);
}

int bridge_port_mac_table(struct bridge_ctx *c, const char *ifname,
			  const uint8_t mac[6], struct nf_err *e)
{
	/* the port neither learns nor gets frames for unknown MACs */
	static const struct brport_flag f[] = {{IFLA_BRPORT_LEARNING, 0},
					       {IFLA_BRPORT_UNICAST_FLOOD, 0}};
	int rc = brport_set(c, ifname, f, 2, "to learn and flood nothing", e);
	if (rc < 0)
		return rc;
	int idx = (int)if_nametoindex(ifname);
	/* and the guest's MAC is in the bridge's table, static (it never
	 * ages out: the port learns nothing) */
	struct nl_msg *m =
		nlmsg_alloc_simple(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE);
	struct ndmsg nd = {.ndm_family = AF_BRIDGE,
			   .ndm_ifindex = idx,
			   .ndm_state = NUD_NOARP,
			   .ndm_flags = NTF_MASTER};
	nlmsg_append(m, &nd, sizeof(nd), NLMSG_ALIGNTO);
	NLA_PUT(m, NDA_LLADDR, 6, mac);
	return request(c, m, e, "cannot add %s's MAC to the bridge's table",
		       ifname);
nla_put_failure:
	nlmsg_free(m);
	return nf_errf(e, EMSGSIZE, "netlink message too large");
}

int bridge_monitor_open(struct nf_err *e)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
			NETLINK_ROUTE);
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK,
				 .nl_groups = RTMGRP_LINK | RTMGRP_NEIGH};
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;
		if (fd >= 0)
			close(fd);
		return nf_errf(e, err, "link monitor: %s", strerror(err));
	}
	/* many ports may come or go at once; past rmem_max as root */
	int big = 4 << 20;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	return fd;
}

static void link_event(struct nlmsghdr *h, const struct bridge_events *ev,
		       void *ctx)
{
	struct ifinfomsg *ifi = NLMSG_DATA(h);
	const char *name = NULL;
	int master = 0, len = (int)IFLA_PAYLOAD(h);
	if (ifi->ifi_family == AF_BRIDGE)
		return; /* the bridge's own view of a port */
	for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len);
	     a = RTA_NEXT(a, len))
		if (a->rta_type == IFLA_IFNAME)
			name = (const char *)RTA_DATA(a);
		else if (a->rta_type == IFLA_MASTER &&
			 RTA_PAYLOAD(a) >= sizeof(uint32_t))
			master = (int)*(uint32_t *)RTA_DATA(a);
	if (!name)
		return;
	if (h->nlmsg_type == RTM_DELLINK && ev->gone)
		ev->gone(name, ctx);
	else if (h->nlmsg_type == RTM_NEWLINK && ev->link)
		ev->link(name, ifi->ifi_index, master, ctx);
}

/* A learned entry: not the port's own address (permanent), not a static
 * one netd programmed, unicast. */
static void neigh_event(struct nlmsghdr *h, const struct bridge_events *ev,
			void *ctx)
{
	struct ndmsg *nd = NLMSG_DATA(h);
	int len = (int)RTM_PAYLOAD(h);
	if (nd->ndm_family != AF_BRIDGE || !ev->learned ||
	    (nd->ndm_state & (NUD_PERMANENT | NUD_NOARP)))
		return;
	for (struct rtattr *a = RTM_RTA(nd); RTA_OK(a, len);
	     a = RTA_NEXT(a, len)) {
		const uint8_t *m = RTA_DATA(a);
		if (a->rta_type == NDA_LLADDR && RTA_PAYLOAD(a) == 6 &&
		    !(m[0] & 1))
			ev->learned(nd->ndm_ifindex, m, ctx);
	}
}

void bridge_monitor_read(int fd, const struct bridge_events *ev, void *ctx)
{
	char buf[65536];
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == ENOBUFS) {
			if (ev->overrun)
				ev->overrun(ctx);
			continue;
		}
		if (n <= 0)
			return;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf;
		     NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == RTM_DELLINK ||
			    h->nlmsg_type == RTM_NEWLINK)
				link_event(h, ev, ctx);
			else if (h->nlmsg_type == RTM_NEWNEIGH)
				neigh_event(h, ev, ctx);
		}
	}
}

int bridge_for_each_port(struct bridge_ctx *c, const char *bridge,
			 void (*cb)(const char *ifname, void *ctx), void *ctx)
{
	struct nl_cache *cache;
	int br = (int)if_nametoindex(bridge);
	if (!br)
		return -ENODEV;
	if (rtnl_link_alloc_cache(c->sk, AF_UNSPEC, &cache) < 0)
		return -EIO;
	for (struct nl_object *o = nl_cache_get_first(cache); o;
	     o = nl_cache_get_next(o)) {
		struct rtnl_link *l = (struct rtnl_link *)o;
		if (rtnl_link_get_master(l) == br && rtnl_link_get_name(l))
			cb(rtnl_link_get_name(l), ctx);
	}
	nl_cache_free(cache);
	return 0;
}

/* The bridge's learned entries on one port, from a dump of its FDB
 * (RTM_GETNEIGH, AF_BRIDGE) read with the monitor's parser. */
struct learned_ctx {
	int ifindex, found;
	uint8_t *mac;
};

static void learned_one(int ifindex, const uint8_t mac[6], void *ctx)
{
	struct learned_ctx *l = ctx;
	if (ifindex == l->ifindex && !l->found) {
		memcpy(l->mac, mac, 6);
		l->found = 1;
	}
}

int bridge_port_learned(struct bridge_ctx *c, const char *ifname,
			uint8_t mac[6])
{
	(void)c;
	struct learned_ctx l = {(int)if_nametoindex(ifname), 0, mac};
	const struct bridge_events ev = {.learned = learned_one};
	struct {
		struct nlmsghdr h;
		struct ndmsg nd;
	} req = {{NLMSG_LENGTH(sizeof(struct ndmsg)), RTM_GETNEIGH,
		  NLM_F_REQUEST | NLM_F_DUMP, 1, 0},
		 {.ndm_family = AF_BRIDGE, .ndm_ifindex = l.ifindex}};
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE),
	    one = 1;
	/* strict checking: the kernel dumps only this port's entries, not
	 * every bridge's (learned_one still checks) */
	if (fd >= 0)
		setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one,
			   sizeof(one));
	if (!l.ifindex || fd < 0 || send(fd, &req, req.h.nlmsg_len, 0) < 0) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	char buf[65536];
	for (bool done = false; !done;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			break;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf;
		     NLMSG_OK(h, n); h = NLMSG_NEXT(h, n))
			if (h->nlmsg_type == NLMSG_DONE ||
			    h->nlmsg_type == NLMSG_ERROR)
				done = true;
			else if (h->nlmsg_type == RTM_NEWNEIGH)
				neigh_event(h, &ev, &l);
	}
	close(fd);
	return l.found;
}

int bridge_link_info(struct bridge_ctx *c, const char *name,
		     struct bridge_link *out)
{
	struct rtnl_link *l;
	memset(out, 0, sizeof(*out));
	if (rtnl_link_get_kernel(c->sk, 0, name, &l) < 0)
		return -ENOENT;
	struct nl_addr *a = rtnl_link_get_addr(l);
	if (a && nl_addr_get_len(a) == 6)
		memcpy(out->mac, nl_addr_get_binary_addr(a), 6);
	const char *k = rtnl_link_get_type(l), *al = rtnl_link_get_ifalias(l);
	snprintf(out->kind, sizeof(out->kind), "%s", k ? k : "");
	snprintf(out->alias, sizeof(out->alias), "%s", al ? al : "");
	out->master = rtnl_link_get_master(l);
	rtnl_link_put(l);
	return 0;
}

int bridge_tx_csum_off(const char *name, struct nf_err *e)
{
	struct ethtool_value ev = {.cmd = ETHTOOL_STXCSUM, .data = 0};
	struct ifreq ifr = {0};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = 0;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_data = (void *)&ev;
	if (fd < 0 || ioctl(fd, SIOCETHTOOL, &ifr) < 0)
		r = nf_errf(e, errno,
			    "cannot turn off tx checksumming on %s: %s", name,
			    strerror(errno));
	if (fd >= 0)
		close(fd);
	return r;
}

int bridge_sysctl(const char *key, const char *val, struct nf_err *e)
{
	char path[512];
	snprintf(path, sizeof(path), "/proc/sys/%s", key);
	int fd = open(path, O_WRONLY | O_CLOEXEC), r = 0;
	if (fd < 0 || write(fd, val, strlen(val)) < 0)
		r = nf_errf(e, errno, "cannot set %s to %s: %s", path, val,
			    strerror(errno));
	if (fd >= 0)
		close(fd);
	return r;
}

int bridge_sysctl_read(const char *key, char *val, size_t n)
{
	char path[512];
	snprintf(path, sizeof(path), "/proc/sys/%s", key);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t k = read(fd, val, n - 1);
	close(fd);
	if (k < 0)
		return -errno;
	val[k] = '\0';
	val[strcspn(val, "\n")] = '\0';
	return 0;
}

/* ------------------------------------------------------------ shaping */

#define QOS_ROOT  TC_H_MAKE(1 << 16, 0) /* 1: */
#define QOS_CLASS TC_H_MAKE(1 << 16, 1) /* 1:1 */

static int tc_err(int r, struct nf_err *e, const char *what, const char *dev)
{
	return r < 0 ? nf_errf(e, nle_errno(r), "%s on %s: %s", what, dev,
			       nl_geterror(r))
		     : 0;
}

/* dev's egress shaped to r */
static int shape_egress(struct bridge_ctx *c, const char *dev,
			const struct bridge_rate *r, struct nf_err *e)
{
	int idx = (int)if_nametoindex(dev), rc;
	if (!idx)
		return nf_errf(e, ENODEV, "no link %s", dev);
	/* bytes per second; the ceiling is peak, else the average */
	uint64_t rate = r->average * 1000,
		 ceil = (r->peak > r->average ? r->peak : r->average) * 1000;
	if (!rate || rate > UINT32_MAX || ceil > UINT32_MAX)
		return nf_errf(e, ERANGE,
			       "%s: a rate of %llu kB/s is not one HTB takes "
			       "(1 to 4294967)",
			       dev, (unsigned long long)r->average);
	struct rtnl_qdisc *q = rtnl_qdisc_alloc();
	rtnl_tc_set_ifindex(TC_CAST(q), idx);
	rtnl_tc_set_parent(TC_CAST(q), TC_H_ROOT);
	rtnl_tc_set_handle(TC_CAST(q), QOS_ROOT);
	rc = rtnl_tc_set_kind(TC_CAST(q), "htb");
	if (rc == 0)
		rc = rtnl_htb_set_defcls(q, 1);
	if (rc == 0)
		rc = rtnl_qdisc_add(c->sk, q, NLM_F_CREATE | NLM_F_REPLACE);
	rtnl_qdisc_put(q);
	if ((rc = tc_err(rc, e, "cannot add an HTB qdisc", dev)) < 0)
		return rc;
	struct rtnl_class *k = rtnl_class_alloc();
	rtnl_tc_set_ifindex(TC_CAST(k), idx);
	rtnl_tc_set_parent(TC_CAST(k), QOS_ROOT);
	rtnl_tc_set_handle(TC_CAST(k), QOS_CLASS);
	rc = rtnl_tc_set_kind(TC_CAST(k), "htb");
	if (rc == 0)
		rc = rtnl_htb_set_rate(k, (uint32_t)rate);
	if (rc == 0)
		rc = rtnl_htb_set_ceil(k, (uint32_t)ceil);
	/* burst: as given (KiB), else what HTB needs at this rate */
	uint32_t burst =
		r->burst ? (uint32_t)(r->burst * 1024)
			 : (uint32_t)(rate / 100 > 16384 ? rate / 100 : 16384);
	if (rc == 0)
		rc = rtnl_htb_set_rbuffer(k, burst);
	if (rc == 0)
		rc = rtnl_htb_set_cbuffer(k, burst);
	if (rc == 0)
		rc = rtnl_class_add(c->sk, k, NLM_F_CREATE | NLM_F_REPLACE);
	rtnl_class_put(k);
	return tc_err(rc, e, "cannot add an HTB class", dev);
}

/* the IFB device for dev's ingress: named from dev, so that it is found
 * again without state */
static void ifb_name(const char *dev, char *out, size_t n)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (const char *p = dev; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	snprintf(out, n, "nfq%06x", h & 0xffffff);
}

#define IFB_MARK " ifb "

const char *bridge_ifb_of(const char *alias)
{
	const char *k = strstr(alias, IFB_MARK);
	return k ? k + strlen(IFB_MARK) : NULL;
}

/* dev's ingress shaped to r, through its IFB device */
static int shape_ingress(struct bridge_ctx *c, const char *dev,
			 const char *owner, const struct bridge_rate *r,
			 struct nf_err *e)
{
	char ifb[16], alias[256];
	ifb_name(dev, ifb, sizeof(ifb));
	snprintf(alias, sizeof(alias), "%s" IFB_MARK "%s", owner, dev);
	int idx = (int)if_nametoindex(dev), rc;
	if (!idx)
		return nf_errf(e, ENODEV, "no link %s", dev);
	struct rtnl_link *l = rtnl_link_alloc();
	rtnl_link_set_name(l, ifb);
	rtnl_link_set_ifalias(l, alias);
	rc = rtnl_link_set_type(l, "ifb");
	if (rc == 0)
		rc = rtnl_link_add(c->sk, l, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_link_put(l);
	if (rc < 0 && rc != -NLE_EXIST)
		return tc_err(rc, e, "cannot make the IFB device", ifb);
	int fb = (int)if_nametoindex(ifb);
	if (!fb || (rc = bridge_set_up(c, ifb, e)) < 0 ||
	    (rc = shape_egress(c, ifb, r, e)) < 0)
		return fb ? rc : nf_errf(e, ENODEV, "no link %s", ifb);
	struct rtnl_qdisc *q = rtnl_qdisc_alloc();
	rtnl_tc_set_ifindex(TC_CAST(q), idx);
	rtnl_tc_set_parent(TC_CAST(q), TC_H_INGRESS);
	rtnl_tc_set_handle(TC_CAST(q), TC_H_MAKE(TC_H_INGRESS, 0));
	rc = rtnl_tc_set_kind(TC_CAST(q), "ingress");
	if (rc == 0)
		rc = rtnl_qdisc_add(c->sk, q, NLM_F_CREATE | NLM_F_REPLACE);
	rtnl_qdisc_put(q);
	if ((rc = tc_err(rc, e, "cannot add an ingress qdisc", dev)) < 0)
		return rc;
	/* everything that arrives, to the IFB device */
	struct rtnl_cls *f = rtnl_cls_alloc();
	struct rtnl_act *a = rtnl_act_alloc();
	rtnl_tc_set_ifindex(TC_CAST(f), idx);
	rtnl_tc_set_parent(TC_CAST(f), TC_H_MAKE(TC_H_INGRESS, 0));
	rtnl_cls_set_protocol(f, ETH_P_ALL);
	rtnl_cls_set_prio(f, 1);
	rc = rtnl_tc_set_kind(TC_CAST(f), "u32");
	if (rc == 0)
		rc = rtnl_u32_add_key_uint32(f, 0, 0, 0, 0);
	if (rc == 0) /* a match acts (without it u32 only follows links) */
		rc = rtnl_u32_set_cls_terminal(f);
	if (rc == 0)
		rc = rtnl_tc_set_kind(TC_CAST(a), "mirred");
	if (rc == 0) {
		rtnl_mirred_set_action(a, TCA_EGRESS_REDIR);
		rtnl_mirred_set_policy(a, TC_ACT_STOLEN);
		rtnl_mirred_set_ifindex(a, (uint32_t)fb);
		rc = rtnl_u32_add_action(f, a);
	}
	if (rc == 0)
		rc = rtnl_cls_add(c->sk, f, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_act_put(a);
	rtnl_cls_put(f);
	return tc_err(rc, e, "cannot redirect to the IFB device", dev);
}

int bridge_shape(struct bridge_ctx *c, const char *dev, const char *owner,
		 const struct bridge_rate *out_of,
		 const struct bridge_rate *into, struct nf_err *e)
{
	int rc = out_of ? shape_egress(c, dev, out_of, e) : 0;
	return rc == 0 && into ? shape_ingress(c, dev, owner, into, e) : rc;
}

void bridge_unshape(struct bridge_ctx *c, const char *dev)
{
	char ifb[16];
	ifb_name(dev, ifb, sizeof(ifb));
	int idx = (int)if_nametoindex(dev);
	if (idx) {
		struct rtnl_qdisc *q = rtnl_qdisc_alloc();
		rtnl_tc_set_ifindex(TC_CAST(q), idx);
		rtnl_tc_set_parent(TC_CAST(q), TC_H_ROOT);
		rtnl_qdisc_delete(c->sk, q);
		rtnl_tc_set_parent(TC_CAST(q), TC_H_INGRESS);
		rtnl_qdisc_delete(c->sk, q);
		rtnl_qdisc_put(q);
	}
	int fb = (int)if_nametoindex(ifb);
	if (fb) {
		struct rtnl_link *l = rtnl_link_alloc();
		rtnl_link_set_ifindex(l, fb);
		rtnl_link_delete(c->sk, l);
		rtnl_link_put(l);
	}
}
