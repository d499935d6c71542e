/* dhcp: one dnsmasq per network, as libvirt runs it: a generated config
 * (libvirt's keys, checked against its networkxml2confdata), a hostsfile
 * for DHCP reservations and an addn-hosts file for <dns><host>; started,
 * adopted after a netd restart, reloaded by SIGHUP, stopped; and its lease
 * file read back. Takes the network model's typed view (netd/netxml.h). */
#ifndef DHCP_H
#define DHCP_H

#include <stdbool.h>
#include <sys/types.h>

#include "../lib/nf.h"
#include "../netd/netxml.h"

struct dhcp_files {
	char conf[512], hosts[512], addnhosts[512], pid[512], leases[512];
	const char *user; /* dnsmasq drops to this user */
};

/* Paths: config, hostsfile, addn-hosts and pidfile under run_dir/dnsmasq,
 * leases under state_dir/dnsmasq (kept across restarts). key is a file
 * name safe form of the network. */
void dhcp_files_init(struct dhcp_files *f, const char *run_dir,
		     const char *state_dir, const char *key);
/* Does the network need dnsmasq at all (DHCP or DNS)? */
bool dhcp_needed(const struct netdef *d);

/* A reservation made live for a port, beyond the definition's <host>s. */
struct dhcp_pin {
	const char *mac;
	struct nf_addr ip;
	const char *name; /* or NULL */
};

/* Generated texts; callers free. */
char *dhcp_conf(const struct netdef *d, const struct dhcp_files *f);
char *dhcp_hostsfile(const struct netdef *d, const struct dhcp_pin *pins,
		     size_t npins);
char *dhcp_addnhosts(const struct netdef *d);
/* Addresses dnsmasq may hand out: range sizes plus reservations outside
 * every range (libvirt counts only ranges). */
unsigned long dhcp_lease_max(const struct netdef *d);

/* Writes all three files atomically (dirs created). */
int dhcp_write(const struct netdef *d, const struct dhcp_pin *pins,
	       size_t npins, const struct dhcp_files *f, struct nf_err *e);
/* Rewrites hostsfile and addn-hosts only, and has dnsmasq re-read them
 * (SIGHUP: no restart, leases kept). pid 0: just write. */
int dhcp_reload_hosts(const struct netdef *d, const struct dhcp_pin *pins,
		      size_t npins, const struct dhcp_files *f, pid_t pid,
		      struct nf_err *e);
/* Tells dnsmasq the lease of ip/mac on iface is released (dnsmasq-utils'
 * dhcp_release), so the address is free at once. */
int dhcp_release_lease(const char *iface, const struct nf_addr *ip,
		       const char *mac);
/* Starts dnsmasq and waits until it has bound its sockets or failed; on
 * failure e carries dnsmasq's own message. */
int dhcp_start(const char *dnsmasq, const struct dhcp_files *f, pid_t *pid,
	       struct nf_err *e);
/* The pid in the pidfile if that process is a dnsmasq running our config,
 * else -ESRCH. */
pid_t dhcp_running(const struct dhcp_files *f);
/* Stops dnsmasq (TERM, then KILL after a second) and removes its run
 * files; the lease file stays unless drop_leases. */
void dhcp_stop(const struct dhcp_files *f, pid_t pid, bool drop_leases);

struct dhcp_lease {
	long long expiry; /* unix time, 0 = infinite */
	char mac[18];
	char ip[64];
	char hostname[256];
	char clientid[256];
};
/* Reads dnsmasq's lease file; a missing file is no leases. */
int dhcp_leases(const struct dhcp_files *f, struct dhcp_lease **out, size_t *n);

#endif
