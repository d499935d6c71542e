/* portxml: libvirt's network port XML (virsh net-port-create and
 * net-port-dumpxml), parsed and formatted as libvirt does:
 *
 *   <networkport>
 *     <uuid>...</uuid>
 *     <owner><name>vm1</name><uuid>...</uuid></owner>   the guest
 *     <group>web</group>                               its portgroup
 *     <mac address='52:54:00:7b:35:93'/>
 *     <bandwidth classID='N'><inbound .../><outbound .../></bandwidth>
 *     <vlan trunk='yes'><tag id='2' nativeMode='tagged'/>...</vlan>
 *     <port isolated='yes'/>
 *     <rxfilters trustGuest='yes'/>
 *     <virtualport type='802.1Qbg'><parameters .../></virtualport>
 *     <plug type='network|bridge' bridge='virbr0' macTableManager='..'/>
 *     <plug type='direct' dev='ens3' mode='vepa'/>
 *     <plug type='hostdev-pci' managed='yes'><address .../></plug>
 *   </networkport>
 *
 * An element or attribute libvirt does not take is an error naming the
 * ones it takes. The model keeps every value as libvirt writes it. */
#ifndef PORTXML_H
#define PORTXML_H

#include <stdbool.h>
#include <stdint.h>

#include "../lib/nf.h"

#define PORTXML_MAX_TAGS 16

struct portxml_rate { /* a <bandwidth> direction; "" when not given */
	char average[24], peak[24], floor[24], burst[24];
};

struct portxml {
	bool has_uuid;
	uint8_t uuid[16];
	char owner_name[256]; /* "" when no <owner> */
	bool has_owner_uuid;
	uint8_t owner_uuid[16];
	char group[64];
	bool has_mac;
	uint8_t mac[6];
	bool has_bandwidth;
	char class_id[24];
	bool has_in, has_out;
	struct portxml_rate in, out;
	bool trunk;
	unsigned ntags;
	unsigned tags[PORTXML_MAX_TAGS];
	char native[PORTXML_MAX_TAGS][16]; /* a tag's nativeMode, or "" */
	int isolated;			   /* -1 not said, 0 no, 1 yes */
	int trust_guest;		   /* -1, 0, 1 */
	char vport_type[32];		   /* "" when no <virtualport> */
	char vport_params[6][64]; /* managerid typeid typeidversion instanceid
				     profileid interfaceid; "" when absent */
	char plug[16];		  /* network bridge direct hostdev-pci; "" */
	char plug_bridge[64], plug_mtm[16], plug_dev[64], plug_mode[16];
	int plug_managed; /* -1, 0, 1 */
	char pci_domain[8], pci_bus[8], pci_slot[8], pci_function[8];
};

/* Parses buf; e names the element, attribute and line of a problem.
 * libvirt's rules: a MAC is required, a UUID and an owner with a name
 * and UUID too (require_owner false: netd's own ports may lack one). */
int portxml_parse(const char *buf, size_t len, bool require_owner,
		  struct portxml *out, struct nf_err *e);
/* As libvirt formats it. Caller frees. */
char *portxml_format(const struct portxml *p);

#endif
