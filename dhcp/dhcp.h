/* dhcp: one dnsmasq per network, as libvirt runs it: a generated config
 * (libvirt's keys, checked against its networkxml2confdata), a hostsfile
 * for DHCP reservations and an addn-hosts file for <dns><host>; started,
 * adopted after a netd restart, reloaded by SIGHUP, stopped; and its lease
 * file read back. It knows dnsmasq, not netd's network model: a network
 * comes as a struct dhcp_spec, which netd fills from its definition. */
#ifndef DHCP_H
#define DHCP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../lib/nf.h"
#include "../lib/nfaddr.h"

/* What dnsmasq serves on one bridge. Strings are borrowed (they live as
 * long as the caller's definition); every one has been checked against
 * what dnsmasq's reader takes by the time it gets here. */
#define DHCP_LEASE_NONE	    (-1L) /* no lease time: dnsmasq's default */
#define DHCP_LEASE_INFINITE (0L)
struct dhcp_range {
	struct nf_addr start, end;
	long lease;	 /* seconds, or DHCP_LEASE_* */
	char lease_unit; /* 's', 'm' or 'h' as the user wrote it */
};
struct dhcp_host {
	const char *mac, *id, *name; /* each may be NULL */
	struct nf_addr ip;
	long lease;
	char lease_unit;
};
struct dhcp_subnet {
	struct nf_addr address; /* the bridge's own on it */
	int prefix;
	bool dhcp;	/* has DHCP (it serves if it has ranges or hosts) */
	bool local_ptr; /* answers its reverse zone itself */
	const char *tftp_root, *bootp_file, *bootp_server;
	struct dhcp_range *ranges;
	size_t nranges;
	struct dhcp_host *hosts;
	size_t nhosts;
};
struct dhcp_dns_host {
	struct nf_addr ip;
	const char *const *names;
	size_t nnames;
};
struct dhcp_srv {
	const char *service, *protocol, *domain, *target;
	int port, priority, weight; /* -1 when absent */
};
struct dhcp_txt {
	const char *name, *value;
};
struct dhcp_forwarder {
	const char *addr, *domain; /* addr NULL: resolve locally only */
};
struct dhcp_spec {
	const char *bridge;
	bool isolated;		     /* no route out: no gateway, no upstream */
	bool dns;		     /* serves DNS (port 53) */
	int dns_forward_plain_names; /* -1 unset, 0 no, 1 yes */
	const char *domain;
	bool domain_local_only;
	unsigned mtu; /* 0: none to announce */
	struct dhcp_forwarder *forwarders;
	size_t nforwarders;
	struct dhcp_txt *txts;
	size_t ntxts;
	struct dhcp_srv *srvs;
	size_t nsrvs;
	struct dhcp_dns_host *dns_hosts;
	size_t ndns_hosts;
	struct dhcp_subnet *ips;
	size_t nips;
	const char *const *options; /* raw dnsmasq options, one line each */
	size_t noptions;
	/* offer range addresses without pinging them first (no-ping): for a
	 * network whose every port may send from a range address only when
	 * it leases it, where nothing can hold one dnsmasq does not know */
	bool no_ping;
};

struct dhcp_files {
	char conf[512], hosts[512], addnhosts[512], pid[512], leases[512];
	char log[512];		  /* a FIFO netd reads dnsmasq's log from */
	char user[32], group[32]; /* dnsmasq drops to these */
	uid_t uid;
	gid_t gid;
};

/* Paths: config, pidfile and log FIFO under run_dir/dnsmasq, leases under
 * state_dir/dnsmasq (kept across restarts), hostsfile and addn-hosts in
 * hosts_dir: dnsmasq reads those two as its own user, at start and on
 * every SIGHUP, so that user must be able to reach them (see
 * dhcp_user_reaches). key is a file name safe form of the network. */
void dhcp_files_init(struct dhcp_files *f, const char *run_dir,
		     const char *state_dir, const char *hosts_dir,
		     const char *key);
/* Whether the user dnsmasq drops to can reach files in dir; if not, -EACCES
 * and why names the first directory on the way it cannot pass. */
int dhcp_user_reaches(const char *dir, char *why, size_t n);
/* Does the network need dnsmasq at all (DHCP or DNS)? */
bool dhcp_needed(const struct dhcp_spec *d);

/* A reservation made live for a port, beyond the definition's <host>s. */
struct dhcp_pin {
	const char *mac;
	struct nf_addr ip;
	const char *name; /* or NULL */
};

/* The dnsmasq option named in opt (a <dnsmasq:option value=...>) if it
 * runs programs, reads or writes the host's files, changes whom dnsmasq
 * runs as, where it listens, or the host's firewall - what only root may
 * ask for - else NULL. */
const char *dhcp_option_privileged(const char *opt);

/* Generated texts; callers free. */
char *dhcp_conf(const struct dhcp_spec *d, const struct dhcp_files *f);
char *dhcp_hostsfile(const struct dhcp_spec *d, const struct dhcp_pin *pins,
		     size_t npins);
char *dhcp_addnhosts(const struct dhcp_spec *d);
/* Addresses dnsmasq may hand out: range sizes plus reservations outside
 * every range (libvirt counts only ranges). */
unsigned long dhcp_lease_max(const struct dhcp_spec *d);

/* Writes all three files atomically (dirs created). */
int dhcp_write(const struct dhcp_spec *d, const struct dhcp_pin *pins,
	       size_t npins, const struct dhcp_files *f, struct nf_err *e);
/* Rewrites hostsfile and addn-hosts only, and has dnsmasq re-read them
 * (SIGHUP: no restart, leases kept). pid 0: just write. */
int dhcp_reload_hosts(const struct dhcp_spec *d, const struct dhcp_pin *pins,
		      size_t npins, const struct dhcp_files *f, pid_t pid,
		      struct nf_err *e);
/* One reservation changed: its line (gone's) leaves the hostsfile and
 * put's joins it (either may be NULL), the file edited as it is rather
 * than written from the whole network, and dnsmasq re-reads it (SIGHUP;
 * pid 0: just write). The file holds one line per reservation, in no
 * order dnsmasq minds. The read is recorded in l as the last one asked
 * (dhcp_log_asked) was. -ENOENT, nothing written, when gone's line is not
 * there or l knows no read with a hostsfile yet: write it whole
 * (dhcp_reload_hosts). */
struct dhcp_log;
int dhcp_hosts_change(const struct dhcp_files *f, bool v4,
		      const struct dhcp_host *gone, const struct dhcp_host *put,
		      pid_t pid, struct dhcp_log *l, struct nf_err *e);
/* Tells dnsmasq the lease of ip/mac on iface is released, so the address
 * is free at once: the DHCPRELEASE dnsmasq-utils' dhcp_release sends,
 * sent from here (no process per lease); server is iface's address in
 * ip's subnet, the lease's server identifier. */
int dhcp_release_lease(const char *iface, const struct nf_addr *server,
		       const struct nf_addr *ip, const char *mac,
		       struct nf_err *e);
/* Starts dnsmasq and waits until it has bound its sockets or failed; on
 * failure e carries dnsmasq's own message. *start: the process's start
 * time, which with its pid names it (nf_proc). */
int dhcp_start(const char *dnsmasq, const struct dhcp_files *f, pid_t *pid,
	       unsigned long long *start, struct nf_err *e);
/* The pid in the pidfile if that process is the dnsmasq netd started for
 * f: the binary given, running as root or f's user, with our config, and
 * (start not 0) started when recorded; else -ESRCH. */
pid_t dhcp_running(const struct dhcp_files *f, const char *dnsmasq,
		   unsigned long long start);
/* Stops dnsmasq (TERM, then KILL after a second) and removes its run
 * files (the log FIFO too); the lease file stays unless drop_leases. */
void dhcp_stop(const struct dhcp_files *f, pid_t pid, bool drop_leases);

struct dhcp_lease {
	long long expiry; /* unix time, 0 = infinite */
	char mac[18];
	char ip[46]; /* INET6_ADDRSTRLEN */
	char hostname[256];
	char clientid[256];
};
/* Whether the config dnsmasq runs with offers without pinging (a running
 * dnsmasq adopted after a restart of netd's). */
bool dhcp_conf_no_ping(const struct dhcp_files *f);
/* Reads dnsmasq's lease file; a missing file is no leases. */
int dhcp_leases(const struct dhcp_files *f, struct dhcp_lease **out, size_t *n);

/* dnsmasq's log, read by netd from the FIFO named in f->log: what tells
 * whether dnsmasq really loaded the reservations netd wrote (it says
 * "read FILE" for a hostsfile, "read FILE - N names" for addn-hosts, or
 * why not), and what each guest's DHCP exchange has come to. */
enum dhcp_step {
	DHCP_NONE,
	DHCP_DISCOVER, /* the client asked */
	DHCP_OFFER,
	DHCP_REQUEST,
	DHCP_ACK,
	DHCP_NAK,
	DHCP_NOADDR, /* asked, and dnsmasq had no address for it */
};
struct dhcp_seen {
	char mac[18];
	char ip[64]; /* offered, requested or acked */
	enum dhcp_step step;
	uint64_t when_ns;
};
struct dhcp_log {
	char hosts[512], addnhosts[512];
	char buf[2048];
	size_t len;
	bool skip; /* the rest of an over-long line */
	/* reads asked for (start, SIGHUP) and reads dnsmasq reported done */
	unsigned hosts_asked, hosts_done, addn_asked, addn_done;
	unsigned addn_names;	      /* names the addn-hosts file holds */
	bool reads_hosts, reads_addn; /* what the last read asked took in */
	char problem[1024]; /* why the reservations are not loaded, or "" */
	char note[256];	    /* an error dnsmasq gave before "read FILE" */
	struct dhcp_seen *seen;
	size_t nseen;
};
void dhcp_log_init(struct dhcp_log *l, const struct dhcp_files *f);
void dhcp_log_free(struct dhcp_log *l);
/* Makes the FIFO afresh (before dnsmasq starts) or, adopting a running
 * dnsmasq, opens the one it writes to. Two fds: *rfd to read, *wfd held
 * open so the reader never sees an end of file. */
int dhcp_log_open(const struct dhcp_files *f, bool fresh, int *rfd, int *wfd,
		  struct nf_err *e);
/* Records that dnsmasq was told to (re)read its files for d. */
void dhcp_log_asked(struct dhcp_log *l, const struct dhcp_spec *d);
/* Takes one log line (without the newline). */
void dhcp_log_line(struct dhcp_log *l, const char *line, uint64_t now_ns);
/* Reads what the FIFO holds and takes its lines; returns how many. */
int dhcp_log_read(struct dhcp_log *l, int fd, uint64_t now_ns);
/* Every read asked for has been reported (with l->problem "" if all
 * went well). */
bool dhcp_log_settled(const struct dhcp_log *l);
const struct dhcp_seen *dhcp_log_seen(const struct dhcp_log *l,
				      const char *mac);
const char *dhcp_step_name(enum dhcp_step s);

#endif
