/* vfnl: the one seam through which netd speaks to a PF driver about its
 * VFs - rtnetlink messages only, built and parsed here, sent elsewhere.
 * RTM_SETLINK on the PF with IFLA_VFINFO_LIST/IFLA_VF_INFO carries a VF's
 * MAC, VLAN (with protocol, IFLA_VF_VLAN_LIST), spoof check, trust, link
 * state and rate; RTM_NEWLINK replies (with RTEXT_FILTER_VF) carry them
 * back. Tests check the bytes without hardware. */
#ifndef VFNL_H
#define VFNL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/nf.h"

enum {
	VF_MAC = 1 << 0,
	VF_VLAN = 1 << 1,
	VF_SPOOFCHK = 1 << 2,
	VF_TRUST = 1 << 3,
	VF_LINK = 1 << 4,
	VF_RATE = 1 << 5,
};

struct vf_state {
	unsigned vf;
	unsigned have; /* VF_* present (parse) or to set (build) */
	uint8_t mac[6];
	unsigned vlan, qos;
	uint16_t vlan_proto; /* host order: 0x8100 or 0x88a8 */
	bool spoofchk, trust;
	unsigned link_state; /* IFLA_VF_LINK_STATE_AUTO/ENABLE/DISABLE */
	unsigned min_rate, max_rate; /* Mbit/s */
};

/* Builds the RTM_SETLINK request for PF ifindex into buf; returns its
 * length, or 0 if buf is too small. */
size_t vfnl_set_msg(void *buf, size_t len, int ifindex, uint32_t seq,
		    const struct vf_state *s);
/* Builds the RTM_GETLINK request that asks for the VF list. */
size_t vfnl_get_msg(void *buf, size_t len, int ifindex, uint32_t seq);
/* Reads the VFs from an RTM_NEWLINK message: up to max into out; *n is how
 * many were found. 0, or -EBADMSG for a malformed message. */
int vfnl_parse(const void *msg, size_t len, struct vf_state *out, size_t max,
	       size_t *n);

/* The channel: rtnetlink to the kernel, or (fake_dir given; tests, and
 * machines without SR-IOV hardware) a fake PF driver that keeps each PF's
 * VFs in fake_dir/IFINDEX ("index mac vlan qos proto spoofchk trust link
 * min max" per line) and answers the same messages. With N in
 * fake_dir/IFINDEX.lag it shows a new VF MAC only on the Nth read after
 * the change, as drivers that reset the VF do. It refuses (EPERM) the
 * changes fake_dir/IFINDEX.refuse names ("mac", "trust", ...) and appends
 * each change it makes to fake_dir/IFINDEX.trace ("VF WHAT"). */
struct vfnl;
int vfnl_open(struct vfnl **out, const char *fake_dir, struct nf_err *e);
void vfnl_close(struct vfnl *c);
/* Every VF of the PF; up to max into out, *n how many it has. */
int vfnl_get(struct vfnl *c, int ifindex, struct vf_state *out, size_t max,
	     size_t *n, struct nf_err *e);
/* One VF; -ENOENT if the PF does not list it. */
int vfnl_get_vf(struct vfnl *c, int ifindex, unsigned vf, struct vf_state *out,
		struct nf_err *e);
/* Sets what s->have names on VF s->vf. */
int vfnl_set(struct vfnl *c, int ifindex, const struct vf_state *s,
	     struct nf_err *e);
/* Puts VF orig->vf back as orig was, one attribute at a time in a fixed
 * order (VLAN, spoof check, MAC, trust, rate, link state), each tried
 * even when one before it failed; the first error, with every failure
 * named in e. */
int vfnl_restore(struct vfnl *c, int ifindex, const struct vf_state *orig,
		 struct nf_err *e);

#endif
