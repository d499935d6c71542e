#define _GNU_SOURCE
#include "vfnl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct nlmsghdr *header(void *buf, size_t len, uint16_t type,
			       uint16_t flags, int ifindex, uint32_t seq)
{
	if (len < 512) /* the largest request is well under this */
		return NULL;
	memset(buf, 0, MNL_NLMSG_HDRLEN + sizeof(struct ifinfomsg));
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	return nlh;
}

/* One IFLA_VF_INFO with what s has. */
static void put_info(struct nlmsghdr *nlh, const struct vf_state *s)
{
	struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_VF_INFO);
	if (s->have & VF_MAC) {
		struct ifla_vf_mac m = {.vf = s->vf};
		memcpy(m.mac, s->mac, 6);
		mnl_attr_put(nlh, IFLA_VF_MAC, sizeof(m), &m);
	}
	if (s->have & VF_VLAN) {
		struct nlattr *vl = mnl_attr_nest_start(nlh, IFLA_VF_VLAN_LIST);
		struct ifla_vf_vlan_info v = {
			.vf = s->vf,
			.vlan = s->vlan,
			.qos = s->qos,
			.vlan_proto =
				htons(s->vlan_proto ? s->vlan_proto : 0x8100)};
		mnl_attr_put(nlh, IFLA_VF_VLAN_INFO, sizeof(v), &v);
		mnl_attr_nest_end(nlh, vl);
	}
	if (s->have & VF_SPOOFCHK) {
		struct ifla_vf_spoofchk c = {s->vf, s->spoofchk};
		mnl_attr_put(nlh, IFLA_VF_SPOOFCHK, sizeof(c), &c);
	}
	if (s->have & VF_TRUST) {
		struct ifla_vf_trust t = {s->vf, s->trust};
		mnl_attr_put(nlh, IFLA_VF_TRUST, sizeof(t), &t);
	}
	if (s->have & VF_LINK) {
		struct ifla_vf_link_state l = {s->vf, s->link_state};
		mnl_attr_put(nlh, IFLA_VF_LINK_STATE, sizeof(l), &l);
	}
	if (s->have & VF_RATE) {
		struct ifla_vf_rate r = {s->vf, s->min_rate, s->max_rate};
		mnl_attr_put(nlh, IFLA_VF_RATE, sizeof(r), &r);
	}
	mnl_attr_nest_end(nlh, info);
}

size_t vfnl_set_msg(void *buf, size_t len, int ifindex, uint32_t seq,
		    const struct vf_state *s)
{
	struct nlmsghdr *nlh =
		header(buf, len, RTM_SETLINK, NLM_F_ACK, ifindex, seq);
	if (!nlh)
		return 0;
	struct nlattr *list = mnl_attr_nest_start(nlh, IFLA_VFINFO_LIST);
	put_info(nlh, s);
	mnl_attr_nest_end(nlh, list);
	return nlh->nlmsg_len;
}

size_t vfnl_get_msg(void *buf, size_t len, int ifindex, uint32_t seq)
{
	struct nlmsghdr *nlh = header(buf, len, RTM_GETLINK, 0, ifindex, seq);
	if (!nlh)
		return 0;
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_VF);
	return nlh->nlmsg_len;
}

/* One IFLA_VF_INFO; sizes are checked before any struct is read. */
static int parse_info(const struct nlattr *info, struct vf_state *s,
		      bool need_mac)
{
	const struct nlattr *a;
	memset(s, 0, sizeof(*s));
	mnl_attr_for_each_nested(a, info)
	{
		const void *p = mnl_attr_get_payload(a);
		uint16_t l = mnl_attr_get_payload_len(a);
		/* every VF struct starts with the VF number (the VLAN list
		 * is a nest and carries it inside) */
		if (l >= sizeof(uint32_t) &&
		    mnl_attr_get_type(a) != IFLA_VF_VLAN_LIST)
			memcpy(&s->vf, p, sizeof(uint32_t));
		switch (mnl_attr_get_type(a)) {
		case IFLA_VF_MAC:
			if (l < sizeof(struct ifla_vf_mac))
				return -EBADMSG;
			s->vf = ((const struct ifla_vf_mac *)p)->vf;
			memcpy(s->mac, ((const struct ifla_vf_mac *)p)->mac, 6);
			s->have |= VF_MAC;
			break;
		case IFLA_VF_VLAN:
			if (l < sizeof(struct ifla_vf_vlan))
				return -EBADMSG;
			s->vlan = ((const struct ifla_vf_vlan *)p)->vlan;
			s->qos = ((const struct ifla_vf_vlan *)p)->qos;
			if (!(s->have & VF_VLAN))
				s->vlan_proto = 0x8100;
			s->have |= VF_VLAN;
			break;
		case IFLA_VF_VLAN_LIST: {
			const struct nlattr *v;
			mnl_attr_for_each_nested(v, a)
			{
				if (mnl_attr_get_type(v) != IFLA_VF_VLAN_INFO ||
				    mnl_attr_get_payload_len(v) <
					    sizeof(struct ifla_vf_vlan_info))
					return -EBADMSG;
				const struct ifla_vf_vlan_info *vi =
					mnl_attr_get_payload(v);
				s->vf = vi->vf;
				s->vlan = vi->vlan;
				s->qos = vi->qos;
				s->vlan_proto = ntohs(vi->vlan_proto);
				s->have |= VF_VLAN;
				break;
			}
			break;
		}
		case IFLA_VF_SPOOFCHK:
			if (l < sizeof(struct ifla_vf_spoofchk))
				return -EBADMSG;
			s->spoofchk =
				((const struct ifla_vf_spoofchk *)p)->setting;
			s->have |= VF_SPOOFCHK;
			break;
		case IFLA_VF_TRUST:
			if (l < sizeof(struct ifla_vf_trust))
				return -EBADMSG;
			s->trust = ((const struct ifla_vf_trust *)p)->setting;
			s->have |= VF_TRUST;
			break;
		case IFLA_VF_LINK_STATE:
			if (l < sizeof(struct ifla_vf_link_state))
				return -EBADMSG;
			s->link_state = ((const struct ifla_vf_link_state *)p)
						->link_state;
			s->have |= VF_LINK;
			break;
		case IFLA_VF_RATE:
			if (l < sizeof(struct ifla_vf_rate))
				return -EBADMSG;
			s->min_rate =
				((const struct ifla_vf_rate *)p)->min_tx_rate;
			s->max_rate =
				((const struct ifla_vf_rate *)p)->max_tx_rate;
			s->have |= VF_RATE;
			break;
		}
	}
	/* a reply names every VF by its MAC */
	return (s->have & VF_MAC) || !need_mac ? 0 : -EBADMSG;
}

/* The VFs of an RTM_NEWLINK reply (or, for the fake driver, of an
 * RTM_SETLINK request, which need not carry a MAC). */
static int parse_msg(const void *msg, size_t len, uint16_t type,
		     struct vf_state *out, size_t max, size_t *n)
{
	const struct nlmsghdr *nlh = msg;
	*n = 0;
	if (len < sizeof(*nlh) || !mnl_nlmsg_ok(nlh, (int)len) ||
	    nlh->nlmsg_type != type ||
	    nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(struct ifinfomsg))
		return -EBADMSG;
	const struct nlattr *a;
	mnl_attr_for_each(a, nlh, sizeof(struct ifinfomsg))
	{
		if (mnl_attr_get_type(a) != IFLA_VFINFO_LIST)
			continue;
		const struct nlattr *info;
		mnl_attr_for_each_nested(info, a)
		{
			struct vf_state s;
			if (mnl_attr_get_type(info) != IFLA_VF_INFO ||
			    parse_info(info, &s, type == RTM_NEWLINK) < 0)
				return -EBADMSG;
			if (*n < max)
				out[*n] = s;
			(*n)++;
		}
	}
	return 0;
}

int vfnl_parse(const void *msg, size_t len, struct vf_state *out, size_t max,
	       size_t *n)
{
	return parse_msg(msg, len, RTM_NEWLINK, out, max, n);
}

/* ------------------------------------------------------------ transport */

#define VFNL_BUF 65536 /* a PF with 128 VFs answers in well under this */

struct vfnl {
	struct mnl_socket *nl; /* the kernel; NULL for the fake driver */
	char *fake_dir;
	uint32_t seq;
	uint8_t req[1024], rep[VFNL_BUF];
	size_t replen;
};

int vfnl_open(struct vfnl **out, const char *fake_dir, struct nf_err *e)
{
	struct vfnl *c = nf_xcalloc(1, sizeof(*c));
	c->seq = (uint32_t)time(NULL);
	if (fake_dir) {
		c->fake_dir = nf_xstrdup(fake_dir);
	} else if (!(c->nl = mnl_socket_open(NETLINK_ROUTE)) ||
		   mnl_socket_bind(c->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int err = errno;
		vfnl_close(c);
		return nf_errf(e, err, "rtnetlink socket: %s", strerror(err));
	}
	*out = c;
	return 0;
}

void vfnl_close(struct vfnl *c)
{
	if (!c)
		return;
	if (c->nl)
		mnl_socket_close(c->nl);
	free(c->fake_dir);
	free(c);
}

/* The fake PF driver keeps each PF's VFs in fake_dir/IFINDEX, one line
 * per VF: "index mac vlan qos proto spoofchk trust link min max". */
static void fake_path(const struct vfnl *c, int ifindex, char *p, size_t n)
{
	snprintf(p, n, "%s/%d", c->fake_dir, ifindex);
}

static size_t fake_load(const struct vfnl *c, int ifindex, struct vf_state *v,
			size_t max)
{
	char p[4096], mac[32];
	size_t n = 0;
	fake_path(c, ifindex, p, sizeof(p));
	FILE *f = fopen(p, "r");
	struct vf_state s = {.have = VF_MAC | VF_VLAN | VF_SPOOFCHK | VF_TRUST |
				     VF_LINK | VF_RATE};
	unsigned sp, tr, proto;
	while (f && n < max &&
	       fscanf(f, "%u %31s %u %u %x %u %u %u %u %u", &s.vf, mac, &s.vlan,
		      &s.qos, &proto, &sp, &tr, &s.link_state, &s.min_rate,
		      &s.max_rate) == 10) {
		s.vlan_proto = (uint16_t)proto;
		s.spoofchk = sp, s.trust = tr;
		if (nf_mac_parse(mac, s.mac) == 0)
			v[n++] = s;
	}
	if (f)
		fclose(f);
	return n;
}

static int fake_store(const struct vfnl *c, int ifindex,
		      const struct vf_state *v, size_t n, struct nf_err *e)
{
	char p[4096], mac[18];
	struct nf_buf b = {0};
	for (size_t i = 0; i < n; i++) {
		nf_mac_format(v[i].mac, mac);
		nf_buf_printf(&b, "%u %s %u %u %04x %u %u %u %u %u\n", v[i].vf,
			      mac, v[i].vlan, v[i].qos, v[i].vlan_proto,
			      v[i].spoofchk, v[i].trust, v[i].link_state,
			      v[i].min_rate, v[i].max_rate);
	}
	fake_path(c, ifindex, p, sizeof(p));
	int rc = nf_write_file_atomic(p, b.s ? b.s : "", b.len, 0644,
				      NF_VOLATILE, e);
	nf_buf_free(&b);
	return rc;
}

/* Drivers apply a VF MAC asynchronously (the VF resets). The fake does so
 * when fake_dir/IFINDEX.lag holds N: a new MAC shows only on the Nth read
 * after it was set, kept meanwhile in IFINDEX.pending ("vf mac reads"). */
static bool fake_lag(const struct vfnl *c, int ifindex, struct vf_state *v,
		     size_t n, const struct vf_state *set)
{
	char p[4096], q[4096], mac[32];
	unsigned lag = 0, vf, left;
	snprintf(p, sizeof(p), "%s/%d.lag", c->fake_dir, ifindex);
	snprintf(q, sizeof(q), "%s/%d.pending", c->fake_dir, ifindex);
	FILE *f = fopen(p, "r");
	if (f && fscanf(f, "%u", &lag) != 1)
		lag = 0;
	if (f)
		fclose(f);
	if (set) { /* a MAC set: hold it back */
		if (!lag || !(f = fopen(q, "w")))
			return false;
		nf_mac_format(set->mac, mac);
		fprintf(f, "%u %s %u\n", set->vf, mac, lag);
		fclose(f);
		return true;
	}
	f = fopen(q, "r"); /* a read: the held MAC comes closer */
	int got = f ? fscanf(f, "%u %31s %u", &vf, mac, &left) : 0;
	if (f)
		fclose(f);
	if (got != 3)
		return false;
	if (--left == 0) {
		for (size_t i = 0; i < n; i++)
			if (v[i].vf == vf)
				nf_mac_parse(mac, v[i].mac);
		unlink(q);
		return true; /* the table changed */
	}
	if ((f = fopen(q, "w"))) {
		fprintf(f, "%u %s %u\n", vf, mac, left);
		fclose(f);
	}
	return false;
}

/* What a SET changes, by name: "mac vlan ..." in VF_* order. */
static void have_names(unsigned have, char *out, size_t n)
{
	static const char *const names[] = {"mac",   "vlan", "spoofchk",
					    "trust", "link", "rate"};
	size_t l = 0;
	out[0] = 0;
	for (size_t i = 0; i < NF_ARRAY_SIZE(names); i++)
		if (have & (1u << i))
			l += (size_t)snprintf(out + l, l < n ? n - l : 0,
					      "%s%s", l ? " " : "", names[i]);
}

/* A driver that refuses some changes: fake_dir/IFINDEX.refuse names them
 * ("mac", "trust", ...; one per line). Every SET the fake takes is
 * appended to fake_dir/IFINDEX.trace as "VF WHAT". */
static int fake_refuses(const struct vfnl *c, int ifindex,
			const struct vf_state *w, struct nf_err *e)
{
	char p[4096], what[64], line[32];
	have_names(w->have, what, sizeof(what));
	snprintf(p, sizeof(p), "%s/%d.refuse", c->fake_dir, ifindex);
	FILE *f = fopen(p, "r");
	int rc = 0;
	while (f && rc == 0 && fscanf(f, "%31s", line) == 1)
		if (!strcmp(line, what))
			rc = nf_errf(e, EPERM, "fake PF driver refuses %s",
				     what);
	if (f)
		fclose(f);
	snprintf(p, sizeof(p), "%s/%d.trace", c->fake_dir, ifindex);
	if (rc == 0 && (f = fopen(p, "a"))) {
		fprintf(f, "%u %s\n", w->vf, what);
		fclose(f);
	}
	return rc;
}

/* Answers a request as a PF driver would: RTM_GETLINK with the VF list,
 * RTM_SETLINK by applying its IFLA_VF_INFO. */
static int fake_xfer(struct vfnl *c, size_t len, struct nf_err *e)
{
	const struct nlmsghdr *req = (const void *)c->req;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(req);
	struct vf_state vfs[256], want[1];
	size_t n = fake_load(c, ifi->ifi_index, vfs, NF_ARRAY_SIZE(vfs)), nw;
	if (!n)
		return nf_errf(e, ENODEV,
			       "fake PF driver: no VFs for ifindex %d in %s",
			       ifi->ifi_index, c->fake_dir);
	if (req->nlmsg_type == RTM_SETLINK) {
		if (parse_msg(req, len, RTM_SETLINK, want, 1, &nw) < 0 ||
		    nw != 1)
			return nf_errf(e, EINVAL,
				       "fake PF driver: bad request");
		struct vf_state *v = NULL;
		for (size_t i = 0; i < n; i++)
			if (vfs[i].vf == want[0].vf)
				v = &vfs[i];
		if (!v)
			return nf_errf(e, EINVAL, "fake PF driver: no VF %u",
				       want[0].vf);
		const struct vf_state *w = &want[0];
		int rc = fake_refuses(c, ifi->ifi_index, w, e);
		if (rc < 0)
			return rc;
		if ((w->have & VF_MAC) &&
		    !fake_lag(c, ifi->ifi_index, vfs, n, w))
			memcpy(v->mac, w->mac, 6);
		if (w->have & VF_VLAN)
			v->vlan = w->vlan, v->qos = w->qos,
			v->vlan_proto = w->vlan_proto;
		if (w->have & VF_SPOOFCHK)
			v->spoofchk = w->spoofchk;
		if (w->have & VF_TRUST)
			v->trust = w->trust;
		if (w->have & VF_LINK)
			v->link_state = w->link_state;
		if (w->have & VF_RATE)
			v->min_rate = w->min_rate, v->max_rate = w->max_rate;
		c->replen = 0;
		return fake_store(c, ifi->ifi_index, vfs, n, e);
	}
	if (fake_lag(c, ifi->ifi_index, vfs, n, NULL) &&
	    fake_store(c, ifi->ifi_index, vfs, n, e) < 0)
		return -EIO;
	struct nlmsghdr *nlh = header(c->rep, sizeof(c->rep), RTM_NEWLINK, 0,
				      ifi->ifi_index, req->nlmsg_seq);
	struct nlattr *list = mnl_attr_nest_start(nlh, IFLA_VFINFO_LIST);
	for (size_t i = 0; i < n; i++)
		put_info(nlh, &vfs[i]);
	mnl_attr_nest_end(nlh, list);
	c->replen = nlh->nlmsg_len;
	return 0;
}

static int kernel_cb(const struct nlmsghdr *nlh, void *data)
{
	struct vfnl *c = data;
	if (nlh->nlmsg_type == RTM_NEWLINK &&
	    nlh->nlmsg_len <= sizeof(c->rep)) {
		memmove(c->rep, nlh, nlh->nlmsg_len);
		c->replen = nlh->nlmsg_len;
	}
	return MNL_CB_OK;
}

/* Sends the request in c->req; a reply (if any) lands in c->rep. */
static int xfer(struct vfnl *c, size_t len, const char *what, struct nf_err *e)
{
	c->replen = 0;
	if (c->fake_dir)
		return fake_xfer(c, len, e);
	uint32_t seq = ((struct nlmsghdr *)c->req)->nlmsg_seq,
		 port = mnl_socket_get_portid(c->nl);
	if (mnl_socket_sendto(c->nl, c->req, len) < 0)
		return nf_errf(e, errno, "%s: %s", what, strerror(errno));
	for (;;) {
		static uint8_t buf[VFNL_BUF];
		ssize_t r = mnl_socket_recvfrom(c->nl, buf, sizeof(buf));
		if (r < 0)
			return nf_errf(e, errno, "%s: %s", what,
				       strerror(errno));
		int cb = mnl_cb_run(buf, (size_t)r, seq, port, kernel_cb, c);
		if (cb < 0)
			return nf_errf(e, errno, "%s: %s", what,
				       strerror(errno));
		if (cb == MNL_CB_STOP || c->replen)
			return 0;
	}
}

int vfnl_get(struct vfnl *c, int ifindex, struct vf_state *out, size_t max,
	     size_t *n, struct nf_err *e)
{
	size_t len = vfnl_get_msg(c->req, sizeof(c->req), ifindex, ++c->seq);
	int rc = xfer(c, len, "reading VFs", e);
	if (rc < 0)
		return rc;
	if (!c->replen ||
	    parse_msg(c->rep, c->replen, RTM_NEWLINK, out, max, n) < 0)
		return nf_errf(e, EBADMSG,
			       "the PF (ifindex %d) answered without a "
			       "readable VF list",
			       ifindex);
	return 0;
}

int vfnl_get_vf(struct vfnl *c, int ifindex, unsigned vf, struct vf_state *out,
		struct nf_err *e)
{
	static struct vf_state all[256];
	size_t n;
	int rc = vfnl_get(c, ifindex, all, NF_ARRAY_SIZE(all), &n, e);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n && i < NF_ARRAY_SIZE(all); i++)
		if (all[i].vf == vf) {
			*out = all[i];
			return 0;
		}
	return nf_errf(e, ENOENT, "the PF (ifindex %d) does not list VF %u",
		       ifindex, vf);
}

int vfnl_set(struct vfnl *c, int ifindex, const struct vf_state *s,
	     struct nf_err *e)
{
	size_t len = vfnl_set_msg(c->req, sizeof(c->req), ifindex, ++c->seq, s);
	return xfer(c, len, "setting VF attributes", e);
}

/* VLAN, spoof check, MAC, trust, rate, link state (netd(8)): the link
 * last, so the VF comes back up only once it has its own VLAN and MAC
 * again. */
static const struct {
	unsigned what;
	const char *name;
} restore_order[] = {{VF_VLAN, "VLAN"}, {VF_SPOOFCHK, "spoof check"},
		     {VF_MAC, "MAC"},	{VF_TRUST, "trust"},
		     {VF_RATE, "rate"}, {VF_LINK, "link state"}};

int vfnl_restore(struct vfnl *c, int ifindex, const struct vf_state *orig,
		 struct nf_err *e)
{
	struct nf_buf why = {0};
	int first = 0;
	for (size_t i = 0; i < NF_ARRAY_SIZE(restore_order); i++) {
		struct vf_state s = *orig;
		struct nf_err se = {0};
		s.have = restore_order[i].what;
		nf_debug("VF %u of ifindex %d: restoring its %s", orig->vf,
			 ifindex, restore_order[i].name);
		if (vfnl_set(c, ifindex, &s, &se) == 0)
			continue;
		first = first ? first : -se.code;
		nf_buf_printf(&why, "%sits %s: %s", why.len ? "; " : "",
			      restore_order[i].name, se.msg);
	}
	if (first)
		nf_errf(e, -first, "restoring VF %u: %s", orig->vf, why.s);
	nf_buf_free(&why);
	return first;
}
