/* Network lifecycle: start, destroy, crash recovery, dnsmasq supervision.
 *
 * Every object is recorded in the run dir's status before it is created,
 * and marked as this netd's (bridge alias, nft table comment, dnsmasq
 * pidfile + config path), so a netd killed at any point can find what it
 * made, and nothing it did not make is ever removed. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "loop.h"
#include "dhcpspec.h"
#include "network.h"
#include "lifecycle.h"
#include "port.h"
#include "vfport.h"

/* ------------------------------------------------------------- naming */

static void bridge_owner(const struct registry *r, const struct netdef *d,
			 char *out, size_t n)
{
	char u[37];
	nf_uuid_format(d->uuid, u);
	snprintf(out, n, "%s %s", r->owner, u);
}

static void status_path(const struct registry *r, const struct netdef *d,
			const char *ext, char *out, size_t n)
{
	char key[80];
	network_key(d, key, sizeof(key));
	snprintf(out, n, "%s/networks/%s.%s", r->run_dir, key, ext);
}

/* ------------------------------------------------------- dnsmasq's dir */

#define DNSMASQ_FALLBACK "/run/netd-dnsmasq"

int registry_dnsmasq_dir(struct registry *r, const char *want, struct nf_err *e)
{
	char why[1024], own[4096], fb[4096];
	int rc;
	r->dnsmasq_dir_problem = (struct nf_err){0};
	if (want) { /* the operator's choice: it works or netd says why */
		if ((rc = nf_dir_trusted(want, "--dnsmasq-dir", e)) < 0)
			return rc;
		if (dhcp_user_reaches(want, why, sizeof(why)) < 0)
			return nf_errf(
				e, EACCES,
				"--dnsmasq-dir %s: dnsmasq's user cannot "
				"reach it (%s bars others); it reads "
				"its hostsfile there as that user",
				want, why);
		snprintf(r->dnsmasq_dir, sizeof(r->dnsmasq_dir), "%s", want);
		return 0;
	}
	snprintf(own, sizeof(own), "%s/dnsmasq", r->run_dir);
	if ((rc = nf_mkdir_p(own, 0755, e)) < 0)
		return rc;
	snprintf(r->dnsmasq_dir, sizeof(r->dnsmasq_dir), "%s", own);
	if (dhcp_user_reaches(own, why, sizeof(why)) == 0)
		return 0;
	/* the run dir is private (a 0700 temp dir, a home): dnsmasq's two
	 * files go where its user can read them, named by this netd's tag */
	snprintf(fb, sizeof(fb), DNSMASQ_FALLBACK "/%s",
		 strchr(r->owner, ':') ? strchr(r->owner, ':') + 1 : r->owner);
	char fwhy[1024] = "";
	struct nf_err fe;
	if (nf_dir_trusted(fb, "dnsmasq's directory", &fe) == 0 &&
	    dhcp_user_reaches(fb, fwhy, sizeof(fwhy)) == 0) {
		snprintf(r->dnsmasq_dir, sizeof(r->dnsmasq_dir), "%s", fb);
		nf_info("dnsmasq's user cannot reach %s (%s bars others): its "
			"hostsfile and addn-hosts go to %s",
			own, why, fb);
		return 0;
	}
	nf_errf(&r->dnsmasq_dir_problem, EACCES,
		"dnsmasq reads its hostsfile as its own user, who cannot "
		"reach %s (%s bars others), nor %s (%s); give netd "
		"--dnsmasq-dir a directory that user can reach, or let it "
		"pass %s (chmod o+x)",
		own, why, fb, fwhy[0] ? fwhy : fe.msg, why);
	nf_warn("%s", r->dnsmasq_dir_problem.msg);
	return 0;
}

/* An emptied fallback directory goes with the last network using it. */
static void drop_dnsmasq_dir(struct registry *r)
{
	if (!strncmp(r->dnsmasq_dir, DNSMASQ_FALLBACK "/",
		     strlen(DNSMASQ_FALLBACK) + 1) &&
	    rmdir(r->dnsmasq_dir) == 0)
		rmdir(DNSMASQ_FALLBACK);
}

/* ------------------------------------------------------------ status */

static int save_status(struct registry *r, struct network *n, const char *st,
		       struct nf_err *e)
{
	const struct netdef *d = &n->live->def;
	char path[1024], u[37];
	nf_uuid_format(d->uuid, u);
	json_t *j = json_pack(
		"{s:s, s:s, s:s, s:s?, s:s, s:b, s:i, s:I, s:b}", "name",
		d->name, "uuid", u, "state", st, "bridge", d->bridge, "table",
		n->table, "dnsmasq", n->has_dnsmasq, "dnsmasq_pid",
		(int)n->dnsmasq_pid, "dnsmasq_start",
		(json_int_t)n->dnsmasq_start, "transient", n->def == NULL);
	char dir[1024], key[80], name[96];
	network_key(d, key, sizeof(key));
	snprintf(dir, sizeof(dir), "%s/networks", r->run_dir);
	snprintf(name, sizeof(name), "%s.json", key);
	int rc = nf_json_write(dir, name, j, false, e);
	if (rc < 0)
		return rc;
	size_t len;
	const char *xml = netxml_text(n->live, &len);
	status_path(r, d, "xml", path, sizeof(path));
	return nf_write_file_atomic(path, xml, len, 0644, NF_VOLATILE, e);
}

static void drop_status(struct registry *r, const struct netdef *d)
{
	char path[1024];
	status_path(r, d, "json", path, sizeof(path));
	unlink(path);
	status_path(r, d, "xml", path, sizeof(path));
	unlink(path);
}

/* ----------------------------------------------------- dnsmasq watching */

static void dnsmasq_exited(void *ctx);
static int dnsmasq_launch(struct registry *r, struct network *n,
			  struct nf_err *e);

static void unwatch_log(struct network *n)
{
	if (n->lease_timer)
		loop_cancel(n->lease_timer);
	n->lease_timer = 0;
	if (n->log_rfd >= 0) {
		loop_unwatch(n->log_rfd);
		close(n->log_rfd);
		close(n->log_wfd);
	}
	n->log_rfd = n->log_wfd = -1;
}

static void unwatch_dnsmasq(struct network *n)
{
	loop_unwatch_pid(&n->dnsmasq_pidfd);
	if (n->restart_timer) {
		loop_cancel(n->restart_timer);
		n->restart_timer = 0;
	}
	unwatch_log(n);
}

/* Binds ports to the range leases dnsmasq logged as acked, once its lease
 * file shows them (it writes the file right after logging: looked at
 * again every 2 ms, for up to 40 ms). */
static void lease_sync(void *ctx)
{
	struct network *n = ctx;
	uint64_t now = nf_now_ns();
	n->lease_timer = 0;
	if (ports_sync_leases(n->reg, n, n->leases_seen_ns) &&
	    ++n->lease_tries < 20) {
		n->lease_timer = loop_after(2, lease_sync, n);
		return;
	}
	n->lease_tries = 0;
	n->leases_seen_ns = now;
}

/* an ACK logged since the last sync that could change a binding: what a
 * guest sends cannot make netd read the lease file for nothing */
static bool new_ack(struct network *n)
{
	for (size_t i = 0; i < n->log.nseen; i++) {
		const struct dhcp_seen *s = &n->log.seen[i];
		if (s->step == DHCP_ACK && s->when_ns > n->leases_seen_ns &&
		    ports_lease_news(n->reg, n, s->mac, s->ip))
			return true;
	}
	return false;
}

/* What dnsmasq's log says, as it comes: a reload whose files did not
 * load is an error (logged once, shown by net-info until one loads); an
 * ACK is a lease to bind. */
static void dnsmasq_log_ready(void *ctx)
{
	struct network *n = ctx;
	struct dhcp_log *l = &n->log;
	if (!n->live || dhcp_log_read(l, n->log_rfd, nf_now_ns()) <= 0)
		return;
	if (!n->lease_timer && new_ack(n))
		lease_sync(n);
	if (!dhcp_log_settled(l))
		return;
	if (l->problem[0] && !n->log_problem_told)
		nf_err_log(
			"network '%s': dnsmasq did not load the reservations "
			"netd wrote: %s",
			n->live->def.name, l->problem);
	else if (!l->problem[0] && n->log_problem_told)
		nf_info("network '%s': dnsmasq loaded its reservations again",
			n->live->def.name);
	n->log_problem_told = l->problem[0] != '\0';
}

static int watch_log(struct registry *r, struct network *n, bool fresh,
		     struct nf_err *e)
{
	struct dhcp_files f;
	network_files(r, n, &f);
	unwatch_log(n);
	dhcp_log_free(&n->log);
	dhcp_log_init(&n->log, &f);
	n->log_problem_told = false;
	int rc = dhcp_log_open(&f, fresh, &n->log_rfd, &n->log_wfd, e);
	if (rc == 0 && loop_watch(n->log_rfd, dnsmasq_log_ready, n) < 0) {
		unwatch_log(n);
		rc = nf_errf(e, EIO, "cannot watch %s", f.log);
	}
	return rc;
}

/* At start: dnsmasq reads its files once it runs; until its log says it
 * did (or why not), the network is not started. Bounded: 3 s. */
static int await_loaded(struct registry *r, struct network *n, struct nf_err *e)
{
	struct dhcp_log *l = &n->log;
	uint64_t until = nf_now_ns() + 3000000000ull;
	while (!dhcp_log_settled(l)) {
		uint64_t now = nf_now_ns();
		if (now >= until)
			break;
		struct pollfd p = {n->log_rfd, POLLIN, 0};
		if (poll(&p, 1, (int)((until - now) / 1000000) + 1) < 0 &&
		    errno != EINTR)
			break;
		dhcp_log_read(l, n->log_rfd, nf_now_ns());
	}
	if (dhcp_log_settled(l) && !l->problem[0])
		return 0;
	struct dhcp_files f;
	network_files(r, n, &f);
	return nf_errf(e, EACCES,
		       "dnsmasq did not load the reservations netd wrote (%s); "
		       "it reads %s and %s as user %s, which must be able to "
		       "reach them: give netd --dnsmasq-dir a directory that "
		       "user can reach",
		       l->problem[0] ? l->problem
				     : "its log did not say it read them "
				       "within 3 s",
		       f.hosts, f.addnhosts, f.user);
}

/* The callbacks get the network itself: teardown cancels its watch and
 * timer before a network can be freed. */
static void watch_dnsmasq(struct network *n)
{
	n->dnsmasq_pidfd = loop_watch_pid(n->dnsmasq_pid, dnsmasq_exited, n);
	if (n->dnsmasq_pidfd < 0)
		nf_warn("cannot watch dnsmasq pid %d: %s", (int)n->dnsmasq_pid,
			strerror(-n->dnsmasq_pidfd));
}

/* The wait before restart attempt n (0-based): at once (100 ms) the first
 * time, then 1 s doubling up to 32 s. */
static unsigned restart_delay(unsigned n)
{
	return n ? 500u << (n < 6 ? n : 6) : 100;
}

static void dnsmasq_restart(void *ctx)
{
	struct network *n = ctx;
	struct nf_err e = {0};
	n->restart_timer = 0;
	if (!n->live)
		return;
	if (dnsmasq_launch(n->reg, n, &e) < 0) {
		unsigned delay = restart_delay(n->restarts++);
		nf_err_log("network '%s': %s; trying again in %u ms",
			   n->live->def.name, e.msg, delay);
		n->restart_timer = loop_after(delay, dnsmasq_restart, n);
		return;
	}
	nf_info("network '%s': dnsmasq restarted (pid %d)", n->live->def.name,
		(int)n->dnsmasq_pid);
	save_status(n->reg, n, "active", &e);
}

static void dnsmasq_exited(void *ctx)
{
	struct network *n = ctx;
	if (!n->live)
		return;
	pid_t old = n->dnsmasq_pid;
	unwatch_dnsmasq(n);
	n->dnsmasq_pid = 0;
	/* stable for a minute: start the backoff afresh */
	if (nf_now_ns() - n->dnsmasq_since > 60ull * 1000000000)
		n->restarts = 0;
	unsigned delay = restart_delay(n->restarts++);
	nf_warn("network '%s': dnsmasq (pid %d) exited unexpectedly; "
		"restarting in %u ms",
		n->live->def.name, (int)old, delay);
	n->restart_timer = loop_after(delay, dnsmasq_restart, n);
}

static int dnsmasq_launch(struct registry *r, struct network *n,
			  struct nf_err *e)
{
	struct dhcp_files f;
	network_files(r, n, &f);
	if (r->dnsmasq_dir_problem.code) {
		if (e)
			*e = r->dnsmasq_dir_problem;
		return -r->dnsmasq_dir_problem.code;
	}
	struct dhcp_pin *pins;
	struct dhcp_spec spec;
	size_t npins = network_pins(r, n, &pins);
	dhcpspec_of(&n->live->def, &spec);
	spec.no_ping = n->no_ping = network_guards_all(r, n);
	int rc = dhcp_write(&spec, pins, npins, &f, e);
	free(pins);
	if (rc == 0)
		rc = watch_log(r, n, true, e);
	if (rc == 0) {
		dhcp_log_asked(&n->log, &spec);
		rc = dhcp_start(r->dnsmasq, &f, &n->dnsmasq_pid,
				&n->dnsmasq_start, e);
	}
	dhcpspec_free(&spec);
	if (rc == 0 && (rc = await_loaded(r, n, e)) < 0) {
		dhcp_stop(&f, n->dnsmasq_pid, false);
		n->dnsmasq_pid = 0;
	}
	if (rc < 0) {
		unwatch_log(n);
		return rc;
	}
	n->dnsmasq_since = nf_now_ns();
	watch_dnsmasq(n);
	return 0;
}

/* ----------------------------------------------------- firewall + bridge */

static void nat_spec(const struct registry *r, const struct network *n,
		     struct nat_net *nn, struct nat_subnet *subs, size_t max)
{
	const struct netdef *d = &n->live->def;
	memset(nn, 0, sizeof(*nn));
	nn->table = n->table;
	nn->owner = r->owner;
	nn->bridge = d->bridge;
	nn->uplink = d->fwd_dev;
	nn->mode = d->mode == NETXML_FWD_NAT	 ? NAT_NAT
		   : d->mode == NETXML_FWD_ROUTE ? NAT_ROUTE
		   : d->mode == NETXML_FWD_OPEN	 ? NAT_OPEN
						 : NAT_ISOLATED;
	nn->subnets = subs;
	for (size_t i = 0; i < d->nips && nn->nsubnets < max; i++) {
		const struct netxml_ip *ip = &d->ips[i];
		subs[nn->nsubnets++] = (struct nat_subnet){
			.net = ip->address,
			.prefix = ip->prefix,
			.masquerade =
				ip->address.family == AF_INET || d->nat_ipv6,
		};
		nn->dhcp = nn->dhcp || ip->has_dhcp;
		nn->tftp = nn->tftp || ip->tftp_root;
	}
	nn->dns = d->dns_enable;
	nn->snat_start = d->nat_start;
	nn->snat_end = d->nat_end;
	nn->port_start = d->nat_port_start;
	nn->port_end = d->nat_port_end;
}

static uint32_t host4(const struct nf_addr *a)
{
	return ntohl(a->v4.s_addr);
}

static int apply_firewall(struct registry *r, struct network *n,
			  struct nf_err *e)
{
	const struct netdef *d = &n->live->def;
	struct nat_net nn;
	struct nat_subnet subs[64];
	size_t k = 0;
	for (size_t i = 0; i < d->nips; i++)
		k += d->ips[i].nranges;
	struct nat_range4 *rg = nf_xcalloc(k + 1, sizeof(*rg));
	nat_spec(r, n, &nn, subs, NF_ARRAY_SIZE(subs));
	for (size_t i = 0; i < d->nips; i++)
		for (size_t j = 0; j < d->ips[i].nranges; j++) {
			const struct netxml_range *x = &d->ips[i].ranges[j];
			if (x->start.family == AF_INET)
				rg[nn.nranges4++] = (struct nat_range4){
					host4(&x->start), host4(&x->end)};
		}
	nn.ranges4 = rg;
	int rc = nat_apply(r->nat, &nn, e);
	free(rg);
	return rc;
}

static bool has_family(const struct netdef *d, int family)
{
	for (size_t i = 0; i < d->nips; i++)
		if (d->ips[i].address.family == family)
			return true;
	return false;
}

/* libvirt's network <bandwidth>: inbound (to the guests) shapes the
 * bridge's egress, outbound (from them) its ingress, through an IFB. */
static int shape(struct registry *r, const struct netdef *d, struct nf_err *e)
{
	int rc = network_shape(r, d->bridge, &d->bw_in, &d->bw_out, e);
	return rc < 0 ? nf_err_prefix(e, "network '%s': <bandwidth>", d->name)
		      : 0;
}

static int setup_bridge(struct registry *r, struct network *n, struct nf_err *e)
{
	const struct netdef *d = &n->live->def;
	char owner[96], key[300];
	int rc;
	bridge_owner(r, d, owner, sizeof(owner));
	struct bridge_spec s = {.name = d->bridge,
				.mac = d->has_mac ? d->mac : NULL,
				.stp = d->stp,
				.delay = d->delay,
				.mtu = d->mtu,
				.owner = owner};
	if ((rc = bridge_create(r->br, &s, e)) < 0)
		return rc;
	snprintf(key, sizeof(key), "net/ipv6/conf/%s/disable_ipv6", d->bridge);
	bool v6 = has_family(d, AF_INET6);
	bridge_sysctl(key, v6 ? "0" : "1", NULL);
	if (v6) { /* as libvirt: the host does not autoconfigure here */
		snprintf(key, sizeof(key), "net/ipv6/conf/%s/accept_ra",
			 d->bridge);
		bridge_sysctl(key, "0", NULL);
		snprintf(key, sizeof(key), "net/ipv6/conf/%s/autoconf",
			 d->bridge);
		bridge_sysctl(key, "0", NULL);
	}
	for (size_t i = 0; i < d->nips; i++)
		if ((rc = bridge_addr_add(r->br, d->bridge, &d->ips[i].address,
					  d->ips[i].prefix, e)) < 0)
			return rc;
	struct nf_err w;
	if (bridge_tx_csum_off(d->bridge, &w) < 0)
		nf_warn("%s", w.msg);
	if ((rc = bridge_set_up(r->br, d->bridge, e)) < 0)
		return rc;
	for (size_t i = 0; i < d->nroutes; i++)
		if ((rc = bridge_route_add(
			     r->br, d->bridge, &d->routes[i].address,
			     d->routes[i].prefix, &d->routes[i].gateway,
			     d->routes[i].metric, e)) < 0)
			return rc;
	if ((rc = shape(r, d, e)) < 0)
		return rc;
	if (d->mode == NETXML_FWD_NAT || d->mode == NETXML_FWD_ROUTE) {
		if (has_family(d, AF_INET) &&
		    (rc = bridge_sysctl("net/ipv4/ip_forward", "1", e)) < 0)
			return rc;
		if (v6 && (rc = bridge_sysctl("net/ipv6/conf/all/forwarding",
					      "1", e)) < 0)
			return rc;
	}
	return 0;
}

/* Refuses what would break the host or another network, before anything
 * is created. */
static int preflight(struct registry *r, const struct netdef *d,
		     struct nf_err *e)
{
	char alias[256], what[256], sub[64];
	if (d->mode == NETXML_FWD_BRIDGE) {
		const char *br = d->bridge     ? d->bridge
				 : d->nfwd_ifs ? d->fwd_ifs[0]
					       : NULL;
		if (!br || !if_nametoindex(br))
			return nf_errf(e, ENODEV,
				       "network '%s' uses the host bridge "
				       "'%s', which does not exist; create it "
				       "first (netd does not manage it)",
				       d->name, br ? br : "(none given)");
		return 0;
	}
	if (d->mode == NETXML_FWD_HOSTDEV || d->mode == NETXML_FWD_PASSTHROUGH)
		return vfport_preflight(r, d, e);
	if (!netxml_fwd_has_bridge(d->mode))
		return nf_errf(e, ENOTSUP,
			       "network '%s': forward mode '%s' is not "
			       "supported by this netd yet",
			       d->name, netxml_fwd_name(d->mode));
	if (!d->bridge)
		return nf_errf(e, EINVAL, "network '%s' has no bridge name",
			       d->name);
	if (bridge_get_alias(r->br, d->bridge, alias, sizeof(alias)) == 0) {
		char owner[96];
		bridge_owner(r, d, owner, sizeof(owner));
		if (strcmp(alias, owner))
			return nf_errf(e, EEXIST,
				       "network '%s': a link named '%s' "
				       "already exists and is not netd's; "
				       "choose another <bridge name=...>",
				       d->name, d->bridge);
	}
	for (size_t i = 0; i < d->nips; i++) {
		const struct netxml_ip *ip = &d->ips[i];
		if (bridge_route_conflict(r->br, &ip->address, ip->prefix,
					  d->bridge, what, sizeof(what))) {
			nf_addr_subnet_str(&ip->address, ip->prefix, sub,
					   sizeof(sub));
			return nf_errf(e, EADDRINUSE,
				       "network '%s': subnet %s collides with "
				       "the host's %s; choose another subnet",
				       d->name, sub, what);
		}
	}
	if (d->fwd_dev && !if_nametoindex(d->fwd_dev))
		nf_warn("network '%s': forward device '%s' does not exist "
			"(yet); traffic leaves only once it does",
			d->name, d->fwd_dev);
	return 0;
}

/* Undoes whatever of the network exists: dnsmasq, table, bridge, status. */
static void teardown(struct registry *r, struct network *n)
{
	const struct netdef *d = &n->live->def;
	struct dhcp_files f;
	struct nf_err e;
	char owner[96];
	ports_release_network(r, d->name);
	unwatch_dnsmasq(n);
	if (n->has_dnsmasq) {
		network_files(r, n, &f);
		pid_t pid = n->dnsmasq_pid > 0 ? n->dnsmasq_pid
					       : dhcp_running(&f, r->dnsmasq,
							      n->dnsmasq_start);
		dhcp_stop(&f, pid, n->def == NULL);
		drop_dnsmasq_dir(r);
	}
	if (n->table[0] && nat_remove(r->nat, n->table, r->owner, &e) < 0)
		nf_err_log("%s", e.msg);
	if (netxml_fwd_has_bridge(d->mode) && d->bridge) {
		bridge_unshape(r->br, d->bridge);
		bridge_owner(r, d, owner, sizeof(owner));
		if (bridge_delete(r->br, d->bridge, owner, &e) < 0)
			nf_err_log("%s", e.msg);
	}
	drop_status(r, d);
	n->table[0] = '\0';
	n->has_dnsmasq = false;
	n->dnsmasq_pid = 0;
	n->restarts = 0;
}

int network_start(struct registry *r, struct network *n, struct nf_err *e)
{
	if (n->live)
		return nf_errf(e, EBUSY, "network '%s' is already active",
			       network_name(n));
	const struct netdef *d = &n->def->def;
	uint64_t t0 = nf_now_ns();
	int rc = preflight(r, d, e);
	if (rc < 0)
		return rc;
	n->live = netxml_dup(n->def);
	d = &n->live->def;
	bool own = netxml_fwd_has_bridge(d->mode);
	if (own) { /* open has no forwarding rules, but its ports a guard */
		char key[80];
		network_key(d, key, sizeof(key));
		snprintf(n->table, sizeof(n->table), "netd-%s", key);
	}
	struct dhcp_spec spec;
	dhcpspec_of(d, &spec);
	n->has_dnsmasq = own && dhcp_needed(&spec);
	dhcpspec_free(&spec);
	/* record intent first: a crash from here on is recoverable */
	char dir[1024];
	snprintf(dir, sizeof(dir), "%s/networks", r->run_dir);
	if ((rc = nf_mkdir_p(dir, 0755, e)) < 0 ||
	    (rc = save_status(r, n, "starting", e)) < 0)
		goto fail;
	uint64_t t1 = nf_now_ns();
	if (own && (rc = setup_bridge(r, n, e)) < 0)
		goto fail;
	uint64_t t2 = nf_now_ns();
	if (n->table[0] && (rc = apply_firewall(r, n, e)) < 0)
		goto fail;
	uint64_t t3 = nf_now_ns();
	if (n->has_dnsmasq && (rc = dnsmasq_launch(r, n, e)) < 0)
		goto fail;
	uint64_t t4 = nf_now_ns();
	if ((rc = save_status(r, n, "active", e)) < 0)
		goto fail;
	nf_info("network '%s' started in %.1f ms", d->name,
		(double)(nf_now_ns() - t0) / 1e6);
	nf_debug("network '%s': checks+status %.1f, bridge %.1f, firewall "
		 "%.1f, dnsmasq %.1f ms",
		 d->name, (double)(t1 - t0) / 1e6, (double)(t2 - t1) / 1e6,
		 (double)(t3 - t2) / 1e6, (double)(t4 - t3) / 1e6);
	if (r->emit)
		r->emit("started", d->name, NULL, r->emit_ctx);
	return 0;
fail:
	nf_err_prefix(e,
		      "cannot start network '%s' (nothing was left "
		      "behind)",
		      d->name);
	teardown(r, n);
	netxml_free(n->live);
	n->live = NULL;
	return rc;
}

int network_destroy(struct registry *r, struct network *n, struct nf_err *e)
{
	if (!n->live)
		return nf_errf(e, EINVAL, "network '%s' is not active",
			       network_name(n));
	char *name = nf_xstrdup(n->live->def.name);
	teardown(r, n);
	netxml_free(n->live);
	n->live = NULL;
	nf_info("network '%s' destroyed", name);
	if (r->emit)
		r->emit("stopped", name, NULL, r->emit_ctx);
	if (!n->def)
		registry_remove(r, n); /* transient: gone */
	free(name);
	return 0;
}

/* -------------------------------------------------------------- recovery */

static struct network *adopt_entry(struct registry *r, const char *xmlpath,
				   json_t *st)
{
	const char *name = nf_json_str(st, "name");
	struct network *n = name ? registry_find(r, name) : NULL;
	char *buf = NULL;
	struct netxml *live = NULL;
	struct nf_err e;
	size_t len;
	if (nf_read_file(xmlpath, NETXML_MAX_SIZE, &buf, &len, &e) < 0 ||
	    netxml_parse_flags(buf, len, xmlpath, NETXML_LAX, &live, &e) < 0) {
		nf_err_log("cannot read live state: %s", e.msg);
		free(buf);
		return NULL;
	}
	free(buf);
	if (!n) /* transient, or undefined while running */
		n = registry_add(r, NULL);
	else if (n->def) /* what its definition dropped, told again */
		netxml_copy_dropped(live, n->def);
	n->live = live;
	return n;
}

static void recover_one(struct registry *r, const char *jsonpath)
{
	char xmlpath[1024];
	struct nf_err e;
	json_t *st = nf_json_read(jsonpath);
	if (!st) {
		nf_err_log("unreadable status %s; ignored", jsonpath);
		return;
	}
	snprintf(xmlpath, sizeof(xmlpath), "%.*s.xml",
		 (int)(strlen(jsonpath) - 5), jsonpath);
	struct network *n = adopt_entry(r, xmlpath, st);
	if (!n) {
		json_decref(st);
		return;
	}
	const struct netdef *d = &n->live->def;
	snprintf(n->table, sizeof(n->table), "%s",
		 nf_json_str(st, "table") ?: "");
	n->has_dnsmasq = json_is_true(json_object_get(st, "dnsmasq"));
	n->dnsmasq_start = (unsigned long long)json_integer_value(
		json_object_get(st, "dnsmasq_start"));
	bool was_active = !strcmp(nf_json_str(st, "state") ?: "", "active");
	json_decref(st);
	char alias[256], owner[96];
	bridge_owner(r, d, owner, sizeof(owner));
	bool own = netxml_fwd_has_bridge(d->mode);
	bool bridge_ok = !own || (bridge_get_alias(r->br, d->bridge, alias,
						   sizeof(alias)) == 0 &&
				  !strcmp(alias, owner));
	if (!was_active || !bridge_ok) {
		nf_warn("network '%s': %s; cleaning up and marking it "
			"inactive",
			d->name,
			!was_active ? "netd stopped while it was starting"
				    : "its bridge is gone");
		teardown(r, n);
		netxml_free(n->live);
		n->live = NULL;
		if (!n->def)
			registry_remove(r, n);
		return;
	}
	if (n->table[0] && !nat_table_owned(r->nat, n->table, r->owner)) {
		nf_warn("network '%s': firewall table missing; reinstalling",
			d->name);
		if (apply_firewall(r, n, &e) < 0)
			nf_err_log("%s", e.msg);
	}
	if (n->has_dnsmasq) {
		struct dhcp_files f;
		network_files(r, n, &f);
		pid_t pid = dhcp_running(&f, r->dnsmasq, n->dnsmasq_start);
		/* its log FIFO is how netd hears it; without one, it starts
		 * afresh (leases stay) */
		if (pid > 0 && watch_log(r, n, false, &e) < 0) {
			nf_warn("network '%s': %s; restarting dnsmasq", d->name,
				e.msg);
			dhcp_stop(&f, pid, false);
			pid = -ESRCH;
		}
		if (pid > 0) {
			n->dnsmasq_pid = pid;
			n->dnsmasq_since = nf_now_ns();
			n->no_ping = dhcp_conf_no_ping(&f);
			watch_dnsmasq(n);
			nf_info("network '%s': adopted dnsmasq pid %d", d->name,
				(int)pid);
		} else if (dnsmasq_launch(r, n, &e) < 0) {
			nf_err_log("network '%s': %s", d->name, e.msg);
			n->restart_timer = loop_after(1000, dnsmasq_restart, n);
		} else {
			nf_info("network '%s': dnsmasq was gone; restarted "
				"(pid %d)",
				d->name, (int)n->dnsmasq_pid);
		}
	}
	save_status(r, n, "active", &e);
	nf_info("network '%s' re-adopted", d->name);
}

static bool owned_by_active(struct registry *r, const char *what, bool is_table)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct network *n = r->nets[i];
		if (!n->live)
			continue;
		if (is_table && !strcmp(n->table, what))
			return true;
		if (!is_table && n->live->def.bridge &&
		    !strcmp(n->live->def.bridge, what))
			return true;
	}
	return false;
}

/* Stale links found at start, deleted together once all are known. */
struct stale {
	struct registry *r;
	char (*name)[IF_NAMESIZE];
	char (*alias)[256];
	size_t n;
};

static void sweep_bridge(const char *name, const char *alias, void *ctx)
{
	struct stale *st = ctx;
	struct registry *r = st->r;
	/* an IFB of netd's goes with the link it shapes */
	const char *ifb_of = bridge_ifb_of(alias);
	if (ifb_of && if_nametoindex(ifb_of))
		return;
	if (ifb_of) {
		nf_warn("removing stale IFB %s (its %s is gone)", name, ifb_of);
	} else {
		if (owned_by_active(r, name, false))
			return;
		for (size_t i = 0; i < r->nports; i++)
			if (!strcmp(r->ports[i]->tap, name))
				return; /* a live port's TAP */
		nf_warn("removing stale link %s (made by this netd)", name);
	}
	st->name = nf_xrealloc(st->name, (st->n + 1) * sizeof(*st->name));
	st->alias = nf_xrealloc(st->alias, (st->n + 1) * sizeof(*st->alias));
	snprintf(st->name[st->n], sizeof(st->name[0]), "%s", name);
	snprintf(st->alias[st->n++], sizeof(st->alias[0]), "%s", alias);
}

/* the stale links in one kernel batch */
static void sweep_links(struct registry *r, const char *prefix)
{
	struct stale st = {.r = r};
	struct nf_err e;
	bridge_for_each_owned(r->br, prefix, sweep_bridge, &st);
	const char **names = nf_xcalloc(st.n + 1, sizeof(*names)),
		   **aliases = nf_xcalloc(st.n + 1, sizeof(*aliases));
	for (size_t i = 0; i < st.n; i++)
		names[i] = st.name[i], aliases[i] = st.alias[i];
	if (st.n && bridge_delete_many(r->br, names, aliases, st.n, &e) < 0)
		nf_err_log("%s", e.msg);
	free(names);
	free(aliases);
	free(st.name);
	free(st.alias);
}

static void sweep_table(const char *table, const char *owner, void *ctx)
{
	struct registry *r = ctx;
	struct nf_err e;
	if (strcmp(owner, r->owner) || owned_by_active(r, table, true))
		return;
	nf_warn("removing stale nft table inet %s (made by this netd)", table);
	if (nat_remove(r->nat, table, r->owner, &e) < 0)
		nf_err_log("%s", e.msg);
}

static void sweep_one_dnsmasq(const char *key, const char *path, void *ctx)
{
	struct registry *r = ctx;
	struct dhcp_files f;
	(void)path;
	dhcp_files_init(&f, r->run_dir, r->state_dir, r->dnsmasq_dir, key);
	for (size_t i = 0; i < r->n; i++) {
		struct dhcp_files a;
		if (!r->nets[i]->live || !r->nets[i]->has_dnsmasq)
			continue;
		network_files(r, r->nets[i], &a);
		if (!strcmp(a.pid, f.pid)) /* the same file, exactly */
			return;
	}
	pid_t pid = dhcp_running(&f, r->dnsmasq, 0);
	nf_warn("removing stale dnsmasq for '%s'%s", key,
		pid > 0 ? " (still running: stopped)" : "");
	dhcp_stop(&f, pid, false);
}

static void sweep_dnsmasq(struct registry *r)
{
	char dir[1024];
	snprintf(dir, sizeof(dir), "%s/dnsmasq", r->run_dir);
	nf_dir_each(dir, ".pid", NULL, sweep_one_dnsmasq, r);
}

static void collect(const char *name, const char *path, void *ctx)
{
	struct nf_buf *b = ctx;
	(void)name;
	nf_buf_add(b, path, strlen(path) + 1);
}

void registry_recover(struct registry *r)
{
	char dir[1024];
	struct nf_buf paths = {0};
	snprintf(dir, sizeof(dir), "%s/networks", r->run_dir);
	/* collected first: recovery adds and removes status files */
	nf_dir_each(dir, ".json", NULL, collect, &paths);
	for (size_t o = 0; o < paths.len; o += strlen(paths.s + o) + 1)
		recover_one(r, paths.s + o);
	nf_buf_free(&paths);
	ports_recover(r);
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "%s ", r->owner);
	sweep_links(r, prefix);
	nat_for_each_owned(r->nat, r->owner, sweep_table, r);
	sweep_dnsmasq(r);
	for (size_t i = 0; i < r->n; i++) {
		struct network *n = r->nets[i];
		struct nf_err e = {0};
		if (n->autostart && !n->live && n->def &&
		    network_start(r, n, &e) < 0)
			nf_err_log("autostart: %s", e.msg);
	}
}

int network_restart_dnsmasq(struct registry *r, struct network *n,
			    struct nf_err *e)
{
	if (!n->has_dnsmasq)
		return 0;
	struct dhcp_files f;
	network_files(r, n, &f);
	unwatch_dnsmasq(n);
	/* waits for the exit (sockets closed); the lease file stays */
	dhcp_stop(&f, n->dnsmasq_pid, false);
	n->dnsmasq_pid = 0;
	int rc = dnsmasq_launch(r, n, e);
	if (rc == 0)
		rc = save_status(r, n, "active", e);
	return rc;
}

void network_ping_check(struct registry *r, struct network *n)
{
	struct nf_err e;
	if (!n->live || !n->has_dnsmasq ||
	    n->no_ping == network_guards_all(r, n))
		return;
	nf_info("network '%s': %s", network_name(n),
		n->no_ping ? "a port sends unguarded: dnsmasq pings range "
			     "addresses before offering them again"
			   : "every port is guarded again: dnsmasq offers "
			     "range addresses without pinging them");
	if (network_restart_dnsmasq(r, n, &e) < 0)
		nf_err_log("%s", e.msg);
}

int network_refirewall(struct registry *r, struct network *n, struct nf_err *e)
{
	if (!n->table[0])
		return 0;
	int rc = apply_firewall(r, n, e);
	if (rc == 0)
		ports_reguard(r, n);
	return rc;
}

int network_save_live(struct registry *r, struct network *n, struct nf_err *e)
{
	return save_status(r, n, "active", e);
}

int network_create(struct registry *r, const struct request *q,
		   struct netxml *nx, struct network **out, struct nf_err *e)
{
	char u[37];
	int rc;
	struct network *o = registry_by_name(r, nx->def.name);
	if (!o && nx->def.has_uuid) {
		nf_uuid_format(nx->def.uuid, u);
		o = registry_find(r, u);
	}
	if (o) {
		netxml_free(nx);
		return nf_errf(e, EEXIST,
			       "network '%s' already exists; net-start it, or "
			       "give the new one another name and uuid",
			       network_name(o));
	}
	struct bridge_name_ctx bc = {r, NULL};
	if ((rc = netxml_fill_defaults(nx, registry_bridge_taken, &bc, e)) <
		    0 ||
	    (rc = network_admit(r, q, nx, NULL, e)) < 0) {
		netxml_free(nx);
		return rc;
	}
	/* started from a scratch entry that holds the definition only until
	 * it runs */
	struct network *n = registry_add(r, nx);
	rc = network_start(r, n, e);
	netxml_free(n->def);
	n->def = NULL;
	if (rc < 0) {
		registry_remove(r, n);
		return rc;
	}
	if (out)
		*out = n;
	return 0;
}
