#define _GNU_SOURCE
#include "vfnl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <string.h>

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

size_t vfnl_set_msg(void *buf, size_t len, int ifindex, uint32_t seq,
		    const struct vf_state *s)
{
	struct nlmsghdr *nlh =
		header(buf, len, RTM_SETLINK, NLM_F_ACK, ifindex, seq);
	if (!nlh)
		return 0;
	struct nlattr *list = mnl_attr_nest_start(nlh, IFLA_VFINFO_LIST);
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
static int parse_info(const struct nlattr *info, struct vf_state *s)
{
	const struct nlattr *a;
	memset(s, 0, sizeof(*s));
	mnl_attr_for_each_nested(a, info)
	{
		const void *p = mnl_attr_get_payload(a);
		uint16_t l = mnl_attr_get_payload_len(a);
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
	return (s->have & VF_MAC) ? 0 : -EBADMSG; /* the MAC names the VF */
}

int vfnl_parse(const void *msg, size_t len, struct vf_state *out, size_t max,
	       size_t *n)
{
	const struct nlmsghdr *nlh = msg;
	*n = 0;
	if (len < sizeof(*nlh) || !mnl_nlmsg_ok(nlh, (int)len) ||
	    nlh->nlmsg_type != RTM_NEWLINK ||
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
			    parse_info(info, &s) < 0)
				return -EBADMSG;
			if (*n < max)
				out[*n] = s;
			(*n)++;
		}
	}
	return 0;
}
