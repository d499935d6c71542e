/* Network XML: libvirt's network format (formatnetwork), parsed with libxml2,
 * validated against a schema table plus libvirt's semantic rules, normalised
 * as libvirt normalises, and formatted back.
 *
 * The document (libxml2 tree) is the source of truth for formatting and for
 * net-update; struct netdef is a typed, read-only view of it for the code
 * that acts on a network (bridge, nat, dhcp). Strings in the view point into
 * the document and live as long as it. */
#ifndef NETXML_H
#define NETXML_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include <libxml/tree.h>

#include "../lib/nf.h"
#include "../lib/nfaddr.h"

#define NETXML_MAX_SIZE	  (4u << 20) /* bytes of XML accepted */
#define NETXML_DNSMASQ_NS "http://libvirt.org/schemas/network/dnsmasq/1.0"
/* netd's own settings, in <metadata> where libvirt keeps other tools':
 * <netd:foreign-ports policy='guard|open|deny'/> */
#define NETXML_NETD_NS "https://netfabric.dev/xmlns/netd/1"
/* What happens to an interface that joins the network's bridge without
 * netd making it (libvirt's vnetN, a QEMU helper's TAP, a veth): */
enum netxml_foreign {
	NETXML_FOREIGN_GUARD, /* a port, guarded like netd's own (default) */
	NETXML_FOREIGN_OPEN,  /* a port, not guarded */
	NETXML_FOREIGN_DENY,  /* a port that forwards nothing */
};
const char *netxml_foreign_name(enum netxml_foreign f);

enum netxml_fwd {
	NETXML_FWD_NONE, /* isolated: no <forward> */
	NETXML_FWD_NAT,
	NETXML_FWD_ROUTE,
	NETXML_FWD_OPEN,
	NETXML_FWD_BRIDGE,
	NETXML_FWD_PRIVATE,
	NETXML_FWD_VEPA,
	NETXML_FWD_PASSTHROUGH,
	NETXML_FWD_HOSTDEV,
};
const char *netxml_fwd_name(enum netxml_fwd m);
/* True for the modes where netd creates and owns a bridge with addresses. */
bool netxml_fwd_has_bridge(enum netxml_fwd m);

#define NETXML_LEASE_NONE     (-1L) /* no <lease>: dnsmasq default */
#define NETXML_LEASE_INFINITE (0L)  /* expiry='0' */

struct netxml_range {
	struct nf_addr start, end;
	long lease;	 /* seconds, or NETXML_LEASE_* */
	char lease_unit; /* 's', 'm' or 'h' as written */
	int line;
};

struct netxml_host {
	const char *mac;  /* normalised lower case, or NULL */
	uint64_t mac_key; /* mac's 48 bits | 1 << 48, or 0: compared inline */
	const char *id;	  /* DHCPv6 DUID, or NULL */
	const char *name;
	struct nf_addr ip;
	long lease;
	char lease_unit;
	int line;
	xmlNodePtr node;
};

struct netxml_ip {
	struct nf_addr address;
	int prefix; /* from prefix= or netmask=, or the class default */
	bool local_ptr;
	const char *tftp_root;
	bool has_dhcp;
	struct netxml_range *ranges;
	size_t nranges;
	struct netxml_host *hosts;
	size_t nhosts;
	size_t nunserved; /* <host>s a lax parse kept but does not serve */
	const char *bootp_file, *bootp_server;
	xmlNodePtr node;
};

struct netxml_route {
	struct nf_addr address, gateway;
	int prefix;
	unsigned metric;
};

struct netxml_dns_host {
	struct nf_addr ip;
	const char **names;
	size_t nnames;
};

struct netxml_dns_srv {
	const char *service, *protocol, *domain, *target;
	int port, priority, weight; /* -1 when absent */
};

struct netxml_dns_txt {
	const char *name, *value;
};

struct netxml_dns_forwarder {
	const char *addr, *domain;
};

struct netxml_pci {
	char addr[16]; /* 0000:03:10.0 */
};

/* What a lax parse (libvirt's parser, not its schema) told instead of
 * refusing: a part libvirt ignores, dropped; or a part kept in the
 * definition that can never be served (unserved). */
struct netxml_warning {
	int line;
	bool unserved;
	char msg[512];
};

/* A <bandwidth> direction: kilobytes per second, burst in KiB; set when
 * the element is there. */
struct netxml_bw {
	bool set;
	uint64_t average, peak, burst, floor;
};

struct netdef {
	const char *name;
	uint8_t uuid[16];
	bool has_uuid;
	const char *title;
	enum netxml_fwd mode;
	const char *fwd_dev;
	const char **fwd_ifs;
	size_t nfwd_ifs;
	const char *fwd_pf;
	struct netxml_pci *fwd_pcis; /* <forward><address type='pci'> */
	size_t nfwd_pcis;
	bool nat_ipv6;
	struct nf_addr nat_start, nat_end; /* family 0 when absent */
	int nat_port_start, nat_port_end;  /* 0 when absent */
	const char *bridge;
	bool stp;
	unsigned long delay;
	const char *zone;
	const char *mac_table_manager;
	bool has_mac;
	uint8_t mac[6];
	unsigned mtu; /* 0 when absent */
	const char *domain;
	bool domain_local_only, domain_register;
	bool dns_enable;	     /* default yes */
	int dns_forward_plain_names; /* -1 absent, 0 no, 1 yes */
	struct netxml_dns_forwarder *forwarders;
	size_t nforwarders;
	struct netxml_dns_txt *txts;
	size_t ntxts;
	struct netxml_dns_srv *srvs;
	size_t nsrvs;
	struct netxml_dns_host *dns_hosts;
	size_t ndns_hosts;
	struct netxml_ip *ips;
	size_t nips;
	/* the network's <bandwidth>: inbound is what goes to its guests
	 * (the bridge's egress), outbound what comes from them */
	struct netxml_bw bw_in, bw_out;
	struct netxml_warning *warnings; /* unserved parts (a lax parse) */
	size_t nwarnings;
	struct netxml_route *routes;
	size_t nroutes;
	bool ipv6;	   /* <network ipv6='yes'> */
	int port_isolated; /* -1 absent, 0 no, 1 yes */
	enum netxml_foreign foreign;
	const char **dnsmasq_options;
	size_t ndnsmasq_options;
};

/* A parsed, validated network: the normalised document and its view. */
struct netxml_text;
struct netxml {
	xmlDocPtr doc;
	struct netdef def;
	struct netxml_text *text; /* netxml_text's, or NULL */
	bool lax; /* parsed as libvirt's parser does: warnings, not errors */
	struct netxml_warning *dropped; /* what the lax parse dropped */
	size_t ndropped;
};

/* Parses and validates buf (len bytes). `what` names the input in messages
 * (a file name or "request"). On failure e says element, attribute, value,
 * line, and what was expected; *out is untouched. */
int netxml_parse(const char *buf, size_t len, const char *what,
		 struct netxml **out, struct nf_err *e);
/* NETXML_LAX: take every file libvirt's parser takes: what libvirt
 * ignores (an element or attribute it does not know, stray text, a
 * second <dns> or <domain>) is dropped, and what can never be served (a
 * DHCP host outside its subnet, a DNS name dnsmasq never answers) is
 * kept but not served, each with a warning (nx->dropped, and the view's
 * def.warnings). Without it, as netxml_parse: each is an error. */
#define NETXML_LAX 1u
int netxml_parse_flags(const char *buf, size_t len, const char *what,
		       unsigned flags, struct netxml **out, struct nf_err *e);
/* Records a part a lax parse dropped (the store keeps them beside the
 * definition, which no longer holds the part). */
void netxml_add_dropped(struct netxml *nx, int line, const char *msg);
/* to's dropped parts become a copy of from's (a running copy of a
 * definition tells what the definition dropped). */
void netxml_copy_dropped(struct netxml *to, const struct netxml *from);
/* Calls fn for every warning of nx: what was dropped, then what is not
 * served. */
void netxml_each_warning(const struct netxml *nx,
			 void (*fn)(const struct netxml_warning *w, void *ctx),
			 void *ctx);
void netxml_free(struct netxml *nx);

/* Formats the (normalised) document as libvirt does. Caller frees. */
char *netxml_format(const struct netxml *nx);
/* The same text, kept with nx (len bytes, terminated) and edited with it
 * by netxml_update_here: writing a network out again after an update
 * costs a copy, not a format of every element. Valid until nx changes. */
const char *netxml_text(struct netxml *nx, size_t *len);

/* Rebuilds the view after the document was changed (net-update, defaults);
 * re-runs every check. On failure the view is left as it was. */
int netxml_refresh(struct netxml *nx, struct nf_err *e);

/* Define-time defaults, as libvirt's network driver applies them: a uuid,
 * a 52:54:00 bridge MAC and a free bridge name for the modes that own a
 * bridge. bridge_in_use(name, ctx) says whether a name is taken. */
int netxml_fill_defaults(struct netxml *nx,
			 bool (*bridge_in_use)(const char *name, void *ctx),
			 void *ctx, struct nf_err *e);

/* Sets (or replaces) the <uuid>. */
int netxml_set_uuid(struct netxml *nx, const uint8_t uuid[16],
		    struct nf_err *e);

/* net-update sections (libvirt's names) and their XML fragments. */
enum netxml_section {
	NETXML_SEC_IP_DHCP_HOST,
	NETXML_SEC_IP_DHCP_RANGE,
	NETXML_SEC_DNS_HOST,
	NETXML_SEC_DNS_TXT,
	NETXML_SEC_DNS_SRV,
	NETXML_SEC_PORTGROUP,
	NETXML_SEC_FORWARD_INTERFACE,
};
int netxml_section_from_name(const char *name); /* or -EINVAL */
const char *netxml_section_name(enum netxml_section sec);
/* Parses one section element. complete=false (deleting) lets required
 * attributes be missing, since an entry may be matched by a part of it;
 * every value given is still checked. */
int netxml_parse_fragment(enum netxml_section sec, const char *buf, size_t len,
			  bool complete, xmlDocPtr *out, struct nf_err *e);

enum netxml_update_cmd {
	NETXML_ADD_FIRST,
	NETXML_ADD_LAST,
	NETXML_DELETE,
	NETXML_MODIFY,
};
int netxml_update_cmd_from_name(const char *name); /* "add" = add-last */
/* libvirt's net-update on nx: the section's entry given as XML is added,
 * deleted (matched by what it gives) or modified (matched by its key).
 * parent_index picks the <ip> for DHCP sections (-1: the one whose subnet
 * holds the entry). The result is validated whole and returned in *out (a
 * new network; nx is never changed). Returns 0 with *out set, 1 when the
 * entry was already there exactly (an identical add: *out NULL), or a
 * negative errno. */
int netxml_update(const struct netxml *nx, enum netxml_section sec,
		  enum netxml_update_cmd cmd, int parent_index, const char *xml,
		  struct netxml **out, struct nf_err *e);

/* The same update made on nx itself, for what can be changed in place
 * (a DHCP host, added, deleted or modified, where no <dhcp> comes or goes
 * and the view holds every host of its subnet): the document, the view
 * and the kept text are edited, not made anew, so an update costs what
 * it changes, not what the network holds. Returns 0 with *c (keep or
 * revert it), 1 when the entry is there exactly already, or -EAGAIN with
 * nx untouched for everything else, errors included: netxml_update then
 * does it, or says why not. */
struct netxml_change;
int netxml_update_here(struct netxml *nx, enum netxml_section sec,
		       enum netxml_update_cmd cmd, int parent_index,
		       const char *xml, struct netxml_change **c);
/* The host the change took out and the one it put in (each NULL when
 * none; valid until the change is kept or reverted), and their <ip>'s
 * address family. */
const struct netxml_host *netxml_change_gone(const struct netxml_change *c);
const struct netxml_host *netxml_change_put(const struct netxml_change *c);
int netxml_change_family(const struct netxml_change *c);
void netxml_change_keep(struct netxml_change *c);
/* nx as it was before c (its view rebuilt, its text formatted anew). */
void netxml_change_revert(struct netxml *nx, struct netxml_change *c);

/* The VLAN a port gets: the portgroup's <vlan> (portgroup NULL: the
 * default portgroup's), else the network's. *tag 0 when none; -EINVAL
 * with e for an unknown portgroup; -ENOTSUP for a trunk (several tags),
 * which a single port cannot carry. */
/* net-desc and net-metadata: a copy of nx with its <title> or
 * <description> set to text (NULL removes it), or with the <metadata>
 * child in namespace uri replaced by xml (one element, put in that
 * namespace with prefix key; NULL removes it). Every check runs again on
 * the copy; nx is left as it is. */
enum netxml_meta { NETXML_TITLE, NETXML_DESCRIPTION, NETXML_METADATA };
int netxml_set_meta(const struct netxml *nx, enum netxml_meta what,
		    const char *text, const char *uri, const char *key,
		    struct netxml **out, struct nf_err *e);

/* The <bandwidth> of the portgroup a port takes (named, else the
 * default one): each direction unset when not given. */
int netxml_port_bw(const struct netxml *nx, const char *portgroup,
		   struct netxml_bw *in, struct netxml_bw *out,
		   struct nf_err *e);
int netxml_vlan(const struct netxml *nx, const char *portgroup, unsigned *tag,
		struct nf_err *e);

/* The <ip> whose subnet holds ip (the first), or NULL. */
const struct netxml_ip *netxml_ip_of(const struct netdef *d,
				     const struct nf_addr *ip);
/* Whether two <ip>s' subnets overlap (one holds the other's network). */
bool netxml_ips_overlap(const struct netxml_ip *a, const struct netxml_ip *b);

/* Deep copy (used to keep a live and an inactive definition apart). */
struct netxml *netxml_dup(const struct netxml *nx);

#endif
