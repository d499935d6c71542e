/* Ports (port.c): a guest's TAP (or VF) on a network, pinned and guarded. */
#ifndef PORT_H
#define PORT_H

#include "network.h"

/* After a netd restart: the recorded ports kept or released. */
void ports_recover(struct registry *r);
/* The port on interface ifname (a TAP's or a foreign port's), if any. */
struct port *port_find_link(struct registry *r, const char *ifname);
/* ifname was deleted: its port, if it had one, is released. */
void port_gone(struct registry *r, const char *ifname);
/* A port's record, state file, guard (swapping out `old`, what was
 * installed, if given) and release (its guard, live reservation, lease,
 * state; its TAP too with delete_tap, never a foreign interface). */
json_t *port_json(const struct port *p);
int port_save(struct registry *r, const struct port *p, struct nf_err *e);
int port_guard(struct registry *r, struct network *n, const struct port *p,
	       const struct port *old, struct nf_err *e);
void port_release(struct registry *r, struct port *p, bool delete_tap);
/* port_release of several at once: each network's reservations and
 * leases handled once, the TAPs deleted in one kernel batch (one
 * unregister for all: ~25 ms here, where one each costs that apiece). */
void ports_release(struct registry *r, struct port **ps, size_t n,
		   bool delete_taps);
/* ports_release of the ports whose TAPs these are (others skipped). */
void ports_release_taps(struct registry *r, const char *const *taps, size_t n);
/* <bridge macTableManager='libvirt'> on a bridge of netd's own: the
 * port's MAC (once known) is programmed, not learned, and unknown ones
 * are not flooded to it. */
int port_mac_table(struct registry *r, const struct netdef *d,
		   const struct port *p, struct nf_err *e);
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
/* Binds each unpinned guarded port of n to the range address its MAC
 * leases in dnsmasq's lease file (the file, written by dnsmasq, is the
 * authority; its log only says when to look), and unbinds one whose
 * address is now another MAC's. Returns how many ACKs logged after
 * since_ns the file does not show yet (look again shortly). */
size_t ports_sync_leases(struct registry *r, struct network *n,
			 uint64_t since_ns);
/* Whether an ACK of ip to mac could change a binding (mac is an unpinned
 * guarded port's, bound to another address or none): a renewal of the
 * same lease, or an ACK for a MAC no port has, reads no file. */
bool ports_lease_news(struct registry *r, const struct network *n,
		      const char *mac, const char *ip);
/* Whether every port of n is guarded, now and as foreign ports come
 * (policy guard or deny, no port with its filter off): then no host on
 * the bridge can hold a range address dnsmasq does not lease, and
 * dnsmasq need not ping one before offering it. */
/* ports_sync_leases and network_ping_check of every live network (after
 * a restart, once the ports are re-adopted and foreign ones found) */
void ports_sync_all_leases(struct registry *r);
bool network_guards_all(const struct registry *r, const struct network *n);
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
/* The process holding the TAP's fds (netd made the port for it). */
void port_set_owner(struct registry *r, const char *tap, pid_t pid);

#endif
