/* The network registry: every network netd knows, persistent or transient,
 * with its definition(s) and state; and the net-* requests on it. */
#ifndef NETWORK_H
#define NETWORK_H

#include <jansson.h>
#include <stdbool.h>

#include <sys/types.h>

#include "../bridge/bridge.h"
#include "../dhcp/dhcp.h"
#include "../nat/nat.h"
#include "netxml.h"
#include "request.h"
#include "store.h"

struct registry;
struct vfnl;
struct labrun;

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
};

struct port {
	uint8_t uuid[16];
	char network[256]; /* the network's name */
	char mac[18];	   /* the guest's, lower case */
	struct nf_addr ip; /* pinned address; family 0 when none */
	bool pin_added;	   /* a live reservation netd added (no <host>) */
	char name[64];	   /* the VM's name, may be "" */
	char tap[16];
	unsigned queues;
	bool isolated, filter, persist;
	int owner_pid, owner_uid;
	/* hostdev and passthrough networks */
	char kind[12];	/* "tap", "macvtap" (passthrough) or "hostdev" */
	char dev[16];	/* the device held: VF PCI address or netdev */
	char lower[16]; /* the netdev under the macvtap, or the VF's */
	char pci[16];	/* the VF's PCI address, "" for a plain netdev */
	int iommu_group;
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
	char dnsmasq_dir[4096], dnsmasq_dir_problem[1024];
	const char *sysroot; /* "" for /, or a fake tree's root (tests) */
	char owner[32];	     /* "netd:xxxxxxxx": marks what this netd made */
	struct bridge_ctx *br;
	struct nat_ctx *nat;
	struct vfnl *vfnl;    /* to PF drivers; opened on first use */
	struct labrun **labs; /* lab.c */
	size_t nlabs;
	const char *netvm_path, *probe_path, *socket_path;
	int probe_fd;	 /* the probe guest kernel, opened at start */
	uid_t guest_uid; /* lab guests (netvm) run as this user */
	gid_t guest_gid;
	void (*emit)(const char *event, const char *network, void *ctx);
	void *emit_ctx;
};

/* A small JSON file of netd's state (a record, a status), or NULL. */
json_t *read_json(const char *path);
/* Writes j (taken: freed) as dir/name atomically, making dir first;
 * durable: fsynced (records that must survive a crash of the machine). */
int write_json(const char *dir, const char *name, json_t *j, bool durable,
	       struct nf_err *e);

/* Chooses where dnsmasq's hostsfile and addn-hosts go: want (an
 * operator's --dnsmasq-dir, which must work), else RUN_DIR/dnsmasq when
 * dnsmasq's user can reach it, else a directory of this netd's under
 * /run/netd-dnsmasq; with none reachable, net-start will say why. */
int registry_dnsmasq_dir(struct registry *r, const char *want,
			 struct nf_err *e);
/* Loads definitions; r's environment fields must be set. */
int registry_open(struct registry *r, const char *config_dir, struct nf_err *e);
void registry_close(struct registry *r);
/* After a restart: re-adopts what still runs from the run dir's status,
 * removes what netd made that no longer belongs, then autostarts. */
void registry_recover(struct registry *r);

/* Finds by name or (no network having that name) by UUID string. */
struct network *registry_find(struct registry *r, const char *name_or_uuid);
struct network *registry_by_name(struct registry *r, const char *name);
/* The definition that describes the network now (live if active). */
const struct netxml *network_current(const struct network *n);
const char *network_name(const struct network *n);

/* Lifecycle (lifecycle.c). start/destroy emit "started"/"stopped". */
int network_start(struct registry *r, struct network *n, struct nf_err *e);
int network_destroy(struct registry *r, struct network *n, struct nf_err *e);
void network_files(const struct registry *r, const struct network *n,
		   struct dhcp_files *f);
/* Adds a network entry holding def (may be NULL for a transient one). */
struct network *registry_add(struct registry *r, struct netxml *def);
/* net-create: starts a transient network from nx (taken over, freed on
 * failure) for the caller q; *out (may be NULL) is its entry. */
int network_create(struct registry *r, const struct request *q,
		   struct netxml *nx, struct network **out, struct nf_err *e);
/* What a caller may define, beyond what the XML model checks: dnsmasq
 * options with root's powers only for root (q NULL: netd's own), and no
 * name that is another network's UUID (or the other way round). self: the
 * network being redefined, if any. */
int network_admit(struct registry *r, const struct request *q,
		  const struct netxml *nx, const struct network *self,
		  struct nf_err *e);
/* Removes a network from the registry and frees it. */
void registry_remove(struct registry *r, struct network *n);
/* Live changes to a running network (lifecycle.c): restart its dnsmasq
 * with a regenerated config; re-install its tables (and port guards);
 * record its live definition. */
int network_restart_dnsmasq(struct registry *r, struct network *n,
			    struct nf_err *e);
int network_refirewall(struct registry *r, struct network *n, struct nf_err *e);
int network_save_live(struct registry *r, struct network *n, struct nf_err *e);
/* net-update (update.c) */
int net_update(struct registry *r, struct request *q, json_t *args,
	       json_t **res, struct nf_err *e);

/* Ports (port.c). */
int ports_init(struct registry *r, struct nf_err *e); /* link monitor */
void ports_recover(struct registry *r);
/* Live reservations of the network's pinned ports that its definition
 * does not hold; *out is malloc'd (free it). Returns the count. */
size_t network_pins(const struct registry *r, const struct network *n,
		    struct dhcp_pin **out);
/* Rewrites the network's hostsfile and has dnsmasq re-read it. */
int network_reload_hosts(struct registry *r, struct network *n,
			 struct nf_err *e);
/* Re-installs every guard of the network's ports (after its tables were
 * replaced) and releases all its ports (when it stops). */
void ports_reguard(struct registry *r, struct network *n);
void ports_release_network(struct registry *r, const char *network);
/* The port guarding the network's MAC or IP, if any. */
struct port *port_find_pinned(struct registry *r, const char *network,
			      const char *mac, const struct nf_addr *ip);
/* Requests (port-create records the caller as the port's owner and
 * hands the TAP's fds back in q->out_fds). */
int port_create(struct registry *r, struct request *q, json_t *args,
		json_t **res, struct nf_err *e);
int port_delete(struct registry *r, struct request *q, json_t *args,
		json_t **res, struct nf_err *e);
int port_list(struct registry *r, struct request *q, json_t *args, json_t **res,
	      struct nf_err *e);
int port_info(struct registry *r, struct request *q, json_t *args, json_t **res,
	      struct nf_err *e);
/* Re-derives a port's pin after the network's reservations changed, and
 * swaps its guard in the same step. */
int port_repin(struct registry *r, struct network *n, struct port *p,
	       struct nf_err *e);

/* Undoes a port and frees it. */
void port_release(struct registry *r, struct port *p);
/* The process holding the TAP's fds (netd made the port for it). */
void port_set_owner(struct registry *r, const char *tap, pid_t pid);

/* Ports on hostdev/passthrough networks (vfport.c). */
int vfport_preflight(struct registry *r, const struct netdef *d,
		     struct nf_err *e);
/* Picks a free device, records its state, configures and hands it over:
 * macvtap fds, or a VF bound to vfio-pci. p has its MAC, queues and
 * owner; kind/dev/lower/pci/tap are filled in. A PF driver takes its time
 * with a VF's MAC, so the end comes through done(ctx) - at once or from
 * a timer - with rc and the fds; a negative return is an error found
 * before anything changed (done is not called then). */
typedef void (*vfport_done_fn)(struct registry *r, struct port *p, int rc,
			       int *fds, unsigned nfds, struct nf_err *e,
			       void *ctx);
int vfport_create(struct registry *r, struct network *n, struct port *p,
		  json_t *args, vfport_done_fn done, void *ctx,
		  struct nf_err *e);
/* Restores what the port's record says was there. */
void vfport_release(struct registry *r, struct port *p);
/* Releases the port when its (non-persistent) owner exits. */
void vfport_watch_owner(struct registry *r, struct port *p);
/* After a restart: is the port's owner (and macvtap) still there? */
bool vfport_alive(struct registry *r, const struct port *p);
/* Restores every record no port holds (a crash, a reboot). */
void vfport_recover(struct registry *r);
/* sriov-list and sriov-set-numvfs */
int sriov_list(struct registry *r, struct request *q, json_t *args,
	       json_t **res, struct nf_err *e);
int sriov_numvfs(struct registry *r, struct request *q, json_t *args,
		 json_t **res, struct nf_err *e);

/* Host checks for `netctl doctor` (doctor.c): an array of
 * {check, status: ok|warning|error, detail, fix}. */
json_t *doctor_run(struct registry *r);

/* Request handlers: args in, result out, or an error with its message. */
typedef int (*handler_fn)(struct registry *r, struct request *q, json_t *args,
			  json_t **result, struct nf_err *e);
struct handler {
	const char *cmd;
	handler_fn fn;
	bool admin; /* needs root or the admin group */
};
const struct handler *network_handler(const char *cmd);

#endif
