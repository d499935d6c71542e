/* The network registry: every network netd knows, persistent or transient,
 * with its definition(s) and state, its ports, and netd's environment -
 * the data every part of netd works on, and the lookups on it. The parts
 * that act on it sit above it, each with its own header: vfport, port,
 * lifecycle, update, lab, doctor, and dispatch on top. */
#ifndef NETWORK_H
#define NETWORK_H

#include <jansson.h>
#include <stdbool.h>

#include <sys/types.h>

#include "../bridge/bridge.h"
#include "../dhcp/dhcp.h"
#include "../lib/nfjson.h"
#include "../nat/nat.h"
#include "netxml.h"
#include "request.h"
#include "store.h"

struct registry;
struct vfnl;
struct labrun;

/* What a port hands the guest: a TAP on the bridge, a passthrough macvtap
 * on a device of the pool, or a VF for vfio (hostdev). */
/* PORT_FOREIGN: an interface on a netd bridge that netd did not make */
enum port_kind { PORT_TAP, PORT_MACVTAP, PORT_HOSTDEV, PORT_FOREIGN };
/* "tap", "macvtap", "hostdev", "foreign": the names records and replies
 * use */
const char *port_kind_name(enum port_kind k);
/* The kind a record names; a missing or unknown name is a TAP. */
enum port_kind port_kind_parse(const char *name);

struct network {
	struct registry *reg; /* the registry it belongs to */
	struct netxml *def;   /* persistent definition; NULL when transient */
	struct netxml *live;  /* running definition; NULL when inactive */
	bool autostart;
	/* while active */
	char table[128]; /* our nft table, "" when none */
	bool has_dnsmasq;
	pid_t dnsmasq_pid; /* 0 while (re)starting */
	unsigned long long
		dnsmasq_start; /* its start time: pid + this name it */
	int dnsmasq_pidfd;
	/* dnsmasq's log (a FIFO): whether it loaded the reservations, and
	 * each guest's DHCP exchange */
	int log_rfd, log_wfd;
	struct dhcp_log log;
	bool log_problem_told;
	unsigned restarts;	/* consecutive, for the backoff */
	uint64_t restart_timer; /* pending restart, 0 if none */
	uint64_t dnsmasq_since; /* when it last started */
	/* dnsmasq offers range addresses without pinging them: every port
	 * is guarded, and sends from a range address only when it leases it
	 * (see ports_sync_leases) */
	bool no_ping;
	uint64_t lease_timer;	 /* a lease sync waiting for dnsmasq's file */
	unsigned lease_tries;	 /* of the current sync */
	uint64_t leases_seen_ns; /* ACKs logged up to here are bound */
};

struct port {
	uint8_t uuid[16];
	char network[256];     /* the network's name */
	char mac[18];	       /* the guest's, lower case */
	struct nf_addr ip;     /* pinned address; family 0 when none */
	struct nf_addr lease4; /* not pinned: the range address its MAC leases
				  (from dnsmasq's lease file), which its guard
				  lets it send from */
	bool pin_added;	       /* a live reservation netd added (no <host>) */
	char name[64];	       /* the VM's name, may be "" */
	char owner_uuid[37];   /* the VM's UUID (libvirt's <owner>), or "" */
	char tap[16];
	unsigned queues;
	bool isolated, filter, persist;
	int owner_pid, owner_uid;
	/* hostdev and passthrough networks */
	enum port_kind kind;
	char dev[16];	/* the device held: VF PCI address or netdev */
	char lower[16]; /* the netdev under the macvtap, or the VF's */
	char pci[16];	/* the VF's PCI address, "" for a plain netdev */
	int iommu_group;
	/* foreign ports: how the guest's MAC was known ("libvirt": from the
	 * TAP's, "learned": the bridge learned it; "" while not known), and
	 * whether the network's policy denies the port */
	char mac_source[8];
	bool denied;
	int owner_pidfd;      /* watches a non-persistent owner; -1 */
	uint64_t owner_timer; /* releases a port whose owner was gone */
	struct registry *reg;
};

struct registry {
	struct network **nets;
	size_t n;
	struct port **ports;
	size_t nports;
	int link_monitor; /* RTM_DELLINK watch for ports */
	struct store config;
	/* environment, set up by netd before registry_open */
	const char *run_dir, *state_dir, *dnsmasq;
	/* where dnsmasq's hostsfile and addn-hosts go: a directory its user
	 * can reach; or, when there is none, why (net-start says it) */
	char dnsmasq_dir[4096];
	struct nf_err dnsmasq_dir_problem; /* code 0: none */
	const char *sysroot; /* "" for /, or a fake tree's root (tests) */
	char owner[32];	     /* "netd:xxxxxxxx": marks what this netd made */
	bool admin_group;    /* netd --group was given */
	bool strict; /* netd --strict: refuse what libvirt's parser would
			ignore or keep unserved, as --validate does */
	struct bridge_ctx *br;
	struct nat_ctx *nat;
	struct vfnl *vfnl;    /* to PF drivers; opened on first use */
	struct labrun **labs; /* lab.c */
	size_t nlabs;
	const char *netvm_path, *probe_path, *socket_path;
	int probe_fd;	 /* the probe guest kernel, opened at start */
	uid_t guest_uid; /* lab guests (netvm) run as this user */
	gid_t guest_gid;
	/* lifecycle events (port NULL) and port events ("port-added",
	 * "port-removed" with the port's interface) */
	void (*emit)(const char *event, const char *network, const char *port,
		     void *ctx);
	void *emit_ctx;
	/* whether n's dnsmasq must now ping before offering, or no longer
	 * (a port without a guard came or went): network_ping_check, from
	 * the layer that runs dnsmasq */
	void (*ping_check)(struct registry *r, struct network *n);
};

/* Loads definitions; r's environment fields must be set. */
int registry_open(struct registry *r, const char *config_dir, struct nf_err *e);
void registry_close(struct registry *r);
/* Adds a network entry holding def (may be NULL for a transient one). */
struct network *registry_add(struct registry *r, struct netxml *def);
/* Removes a network from the registry and frees it. */
void registry_remove(struct registry *r, struct network *n);
/* Finds by name or (no network having that name) by UUID string. */
struct network *registry_find(struct registry *r, const char *name_or_uuid);
struct network *registry_by_name(struct registry *r, const char *name);
/* The warnings of a definition (dropped or unserved parts), as strings. */
json_t *network_warnings(const struct netxml *nx);
/* libvirt's <bandwidth> on dev (a network's bridge, a port's TAP):
 * inbound, what goes to the guests, on its egress; outbound, what comes
 * from them, on its ingress. Unset directions are left alone. */
int network_shape(struct registry *r, const char *dev,
		  const struct netxml_bw *in, const struct netxml_bw *out,
		  struct nf_err *e);
/* The error for a key no network has: names the nearest, if one is. */
int registry_unknown(struct registry *r, const char *key, struct nf_err *e);
/* netxml_fill_defaults' test for a bridge name: another network (not
 * ctx's self) has it, or a link of that name exists. */
struct bridge_name_ctx {
	struct registry *r;
	const struct network *self;
};
bool registry_bridge_taken(const char *name, void *ctx);
/* What a caller may define, beyond what the XML model checks: dnsmasq
 * options with root's powers only for root (q NULL: netd's own), and no
 * name that is another network's UUID (or the other way round). self: the
 * network being redefined, if any. */
int network_admit(struct registry *r, const struct request *q,
		  const struct netxml *nx, const struct network *self,
		  struct nf_err *e);

/* The definition that describes the network now (live if active). */
const struct netxml *network_current(const struct network *n);
const char *network_name(const struct network *n);
/* A file- and nft-safe key: the name when plain, else the uuid. */
void network_key(const struct netdef *d, char *out, size_t n);
/* Where its dnsmasq's files are. */
void network_files(const struct registry *r, const struct network *n,
		   struct dhcp_files *f);
/* As net-list and net-info show it. */
json_t *network_json(const struct network *n);

#endif
