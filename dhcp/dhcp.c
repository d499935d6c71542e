#define _GNU_SOURCE
#include "dhcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* The user dnsmasq drops to, and the group: the user's own (set in the
 * config, not left to dnsmasq's compiled-in default). */
static void dnsmasq_user(struct dhcp_files *f)
{
	struct passwd *pw = getpwnam("dnsmasq");
	if (!pw)
		pw = getpwnam("nobody");
	struct group *gr = pw ? getgrgid(pw->pw_gid) : NULL;
	snprintf(f->user, sizeof(f->user), "%s", pw ? pw->pw_name : "nobody");
	snprintf(f->group, sizeof(f->group), "%s",
		 gr ? gr->gr_name : "nogroup");
	f->uid = pw ? pw->pw_uid : 65534;
	f->gid = pw ? pw->pw_gid : 65534;
}

void dhcp_files_init(struct dhcp_files *f, const char *run_dir,
		     const char *state_dir, const char *hosts_dir,
		     const char *key)
{
	snprintf(f->conf, sizeof(f->conf), "%s/dnsmasq/%s.conf", run_dir, key);
	snprintf(f->hosts, sizeof(f->hosts), "%s/%s.hostsfile", hosts_dir, key);
	snprintf(f->addnhosts, sizeof(f->addnhosts), "%s/%s.addnhosts",
		 hosts_dir, key);
	snprintf(f->pid, sizeof(f->pid), "%s/dnsmasq/%s.pid", run_dir, key);
	snprintf(f->log, sizeof(f->log), "%s/dnsmasq/%s.log", run_dir, key);
	snprintf(f->leases, sizeof(f->leases), "%s/dnsmasq/%s.leases",
		 state_dir, key);
	dnsmasq_user(f);
}

int dhcp_user_reaches(const char *dir, char *why, size_t n)
{
	struct dhcp_files u;
	char real[4096];
	dnsmasq_user(&u);
	if (!realpath(dir, real)) {
		snprintf(why, n, "%s: %s", dir, strerror(errno));
		return -errno;
	}
	/* tried as that user, so ACLs and the like count as dnsmasq will
	 * meet them: the child exits with how many path bytes it could
	 * pass, 255 for all */
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(why, n, "fork: %s", strerror(errno));
		return -errno;
	}
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setgid(u.gid) < 0 ||
		    setuid(u.uid) < 0)
			_exit(254);
		if (access(real, X_OK) == 0)
			_exit(255);
		_exit(0);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 255)
		return 0;
	/* which directory stops it: the first whose mode bars others */
	char part[4096];
	struct stat sb;
	size_t len = strlen(real);
	for (size_t i = 1; i <= len; i++) {
		if (real[i] != '/' && real[i] != '\0')
			continue;
		memcpy(part, real, i);
		part[i] = '\0';
		if (stat(part, &sb) == 0 && !(sb.st_mode & S_IXOTH)) {
			snprintf(why, n, "%s (mode %04o, owner uid %u)", part,
				 (unsigned)(sb.st_mode & 07777),
				 (unsigned)sb.st_uid);
			return -EACCES;
		}
	}
	snprintf(why, n, "%s", real);
	return -EACCES;
}

static bool has_dhcp(const struct dhcp_spec *d)
{
	for (size_t i = 0; i < d->nips; i++)
		if (d->ips[i].dhcp && (d->ips[i].nranges || d->ips[i].nhosts))
			return true;
	return false;
}

void dhcp_log_asked(struct dhcp_log *l, const struct dhcp_spec *d)
{
	/* what this read brings decides: its lines set the problem anew */
	l->problem[0] = l->note[0] = '\0';
	l->reads_hosts = has_dhcp(d);
	l->reads_addn = d->dns;
	if (has_dhcp(d))
		l->hosts_asked++;
	if (d->dns) { /* with DNS off dnsmasq reads no addn-hosts */
		l->addn_asked++;
		/* expand-hosts (with a domain) adds NAME.DOMAIN for each
		 * unqualified NAME, and dnsmasq counts both */
		l->addn_names = 0;
		for (size_t i = 0; i < d->ndns_hosts; i++)
			for (size_t k = 0; k < d->dns_hosts[i].nnames; k++)
				l->addn_names +=
					d->domain && !strchr(d->dns_hosts[i]
								     .names[k],
							     '.')
						? 2
						: 1;
	}
}

bool dhcp_needed(const struct dhcp_spec *d)
{
	if (has_dhcp(d))
		return true;
	if (!d->dns)
		return false;
	/* a network without an address: libvirt runs no dnsmasq; netd runs
	 * one only when <dns> asks for something to answer */
	return d->nips || d->ndns_hosts || d->ntxts || d->nsrvs ||
	       d->nforwarders;
}

/* ",2h": in the unit the XML used, as dnsmasq takes it */
static void lease_suffix(struct nf_buf *b, long secs, char unit)
{
	long div = unit == 'h' ? 3600 : unit == 'm' ? 60 : 1;
	if (secs == DHCP_LEASE_NONE)
		return;
	if (secs == DHCP_LEASE_INFINITE)
		nf_buf_printf(b, ",infinite");
	else
		nf_buf_printf(b, ",%ld%c", secs / div, div == 1 ? 's' : unit);
}

unsigned long dhcp_lease_max(const struct dhcp_spec *d)
{
	unsigned long n = 0;
	for (size_t i = 0; i < d->nips; i++) {
		const struct dhcp_subnet *ip = &d->ips[i];
		for (size_t k = 0; k < ip->nranges; k++)
			n += nf_addr_span(&ip->ranges[k].start,
					  &ip->ranges[k].end);
		for (size_t h = 0; h < ip->nhosts; h++) {
			bool inside = false;
			for (size_t k = 0; k < ip->nranges; k++)
				inside = inside ||
					 (nf_addr_cmp(&ip->hosts[h].ip,
						      &ip->ranges[k].start) >=
						  0 &&
					  nf_addr_cmp(&ip->hosts[h].ip,
						      &ip->ranges[k].end) <= 0);
			n += !inside;
		}
	}
	return n;
}

/* A value as dnsmasq's config reader gives it back: plain when it has
 * nothing that reader treats specially, else in quotes, where ',' does
 * not split, '#' does not start a comment, spaces stay as they are and
 * only \" and \\ need escaping. Control characters never get here (the
 * network model refuses them). */
static void conf_value(struct nf_buf *b, const char *v)
{
	size_t n = strlen(v);
	bool plain = n && v[0] != ' ' && v[n - 1] != ' ' && !strstr(v, "  ") &&
		     !strpbrk(v, ",\"\\#\t");
	if (plain)
		nf_buf_add(b, v, n);
	else
		nf_buf_add_quoted(b, v);
}

static const char *const privileged[] = {
	/* run programs */
	"dhcp-script", "dhcp-luascript", "dhcp-scriptuser", "script-arp",
	"script-on-renewal", "conf-script",
	/* read or write files of the host, as root */
	"conf-file", "conf-dir", "addn-hosts", "hostsdir", "dhcp-hostsfile",
	"dhcp-hostsdir", "dhcp-optsfile", "dhcp-optsdir", "resolv-file",
	"servers-file", "read-ethers", "dhcp-leasefile", "pid-file",
	"log-facility", "dumpfile", "dumpmask", "dnssec-timestamp",
	/* who dnsmasq is and how netd supervises it */
	"user", "group", "keep-in-foreground", "no-daemon", "test",
	/* where it listens and serves */
	"interface", "except-interface", "listen-address", "bind-interfaces",
	"bind-dynamic", "no-dhcp-interface", "no-dhcpv4-interface",
	"no-dhcpv6-interface", "bridge-interface", "auth-server",
	"local-service", "shared-network", "dhcp-alternate-port",
	/* the host's firewall and buses */
	"ipset", "nftset", "connmark-allowlist", "connmark-allowlist-enable",
	"enable-dbus", "enable-ubus"};

const char *dhcp_option_privileged(const char *opt)
{
	static char name[64];
	while (*opt == ' ' || *opt == '-')
		opt++;
	size_t n = strcspn(opt, "= ");
	if (n >= sizeof(name))
		return NULL;
	memcpy(name, opt, n);
	name[n] = '\0';
	for (size_t i = 0; i < NF_ARRAY_SIZE(privileged); i++)
		if (!strcasecmp(name, privileged[i]))
			return privileged[i];
	return NULL;
}

/* local=/<reverse zone>/ for a subnet: whole octets (v4) or nibbles (v6) */
static void reverse_zone(struct nf_buf *b, const struct dhcp_subnet *ip)
{
	const uint8_t *p = ip->address.b;
	nf_buf_printf(b, "local=/");
	if (ip->address.family == AF_INET) {
		for (int i = ip->prefix / 8 - 1; i >= 0; i--)
			nf_buf_printf(b, "%u.", p[i]);
		nf_buf_printf(b, "in-addr.arpa/\n");
	} else {
		for (int i = ip->prefix / 4 - 1; i >= 0; i--)
			nf_buf_printf(b, "%x.",
				      i % 2 ? p[i / 2] & 0xf : p[i / 2] >> 4);
		nf_buf_printf(b, "ip6.arpa/\n");
	}
}

static void tftp_root(struct nf_buf *b, const char *dir)
{
	nf_buf_printf(b, "enable-tftp\ntftp-root=");
	conf_value(b, dir);
	nf_buf_printf(b, "\n");
}

/* DNS: the domain, upstream servers, reverse zones. */
static void conf_dns(struct nf_buf *b, const struct dhcp_spec *d)
{
	bool no_resolv = false;
	if (!d->dns)
		nf_buf_printf(b, "port=0\n");
	if (d->domain) {
		if (d->domain_local_only)
			nf_buf_printf(b, "local=/%s/\n", d->domain);
		nf_buf_printf(b, "domain=%s\nexpand-hosts\n", d->domain);
	}
	if (d->dns_forward_plain_names == 0)
		nf_buf_printf(b, "domain-needed\nlocal=//\n");
	for (size_t i = 0; i < d->nforwarders; i++) {
		const struct dhcp_forwarder *fw = &d->forwarders[i];
		nf_buf_printf(b, "server=");
		if (fw->domain)
			nf_buf_printf(b, "/%s/", fw->domain);
		nf_buf_printf(b, "%s\n", fw->addr ? fw->addr : "#");
		no_resolv = no_resolv || (fw->addr && !fw->domain);
	}
	if (no_resolv)
		nf_buf_printf(b, "no-resolv\n");
	for (size_t i = 0; i < d->nips; i++)
		if (d->ips[i].local_ptr)
			reverse_zone(b, &d->ips[i]);
}

/* DNS records: TXT and SRV. */
static void conf_records(struct nf_buf *b, const struct dhcp_spec *d)
{
	for (size_t i = 0; i < d->ntxts; i++) {
		nf_buf_printf(b, "txt-record=%s,", d->txts[i].name);
		conf_value(b, d->txts[i].value);
		nf_buf_printf(b, "\n");
	}
	for (size_t i = 0; i < d->nsrvs; i++) {
		const struct dhcp_srv *v = &d->srvs[i];
		nf_buf_printf(b, "srv-host=_%s._%s", v->service, v->protocol);
		if (v->domain)
			nf_buf_printf(b, ".%s", v->domain);
		if (v->target)
			nf_buf_printf(b, ",%s", v->target);
		if (v->port >= 0 || v->priority >= 0 || v->weight >= 0)
			nf_buf_printf(b, ",%d", v->port >= 0 ? v->port : 1);
		if (v->priority >= 0 || v->weight >= 0)
			nf_buf_printf(b, ",%d",
				      v->priority >= 0 ? v->priority : 0);
		if (v->weight >= 0)
			nf_buf_printf(b, ",%d", v->weight);
		nf_buf_printf(b, "\n");
	}
}

/* One subnet's DHCP: its ranges (or a static range for reservations
 * only), boot options. Whether it had a range. */
static bool conf_subnet(struct nf_buf *b, const struct dhcp_subnet *ip)
{
	char s[INET6_ADDRSTRLEN], t[INET6_ADDRSTRLEN];
	bool v4 = ip->address.family == AF_INET;
	for (size_t k = 0; k < ip->nranges; k++) {
		nf_addr_format(&ip->ranges[k].start, s, sizeof(s));
		nf_addr_format(&ip->ranges[k].end, t, sizeof(t));
		nf_buf_printf(b, "dhcp-range=%s,%s,", s, t);
		if (v4) {
			struct in_addr m = {htonl(
				ip->prefix ? 0xffffffffu << (32 - ip->prefix)
					   : 0)};
			nf_buf_printf(b, "%s", inet_ntoa(m));
		} else {
			nf_buf_printf(b, "%d", ip->prefix);
		}
		lease_suffix(b, ip->ranges[k].lease, ip->ranges[k].lease_unit);
		nf_buf_printf(b, "\n");
	}
	if (!ip->nranges) { /* reservations only */
		nf_addr_format(&ip->address, s, sizeof(s));
		nf_buf_printf(b, "dhcp-range=%s,static", s);
		if (!v4)
			nf_buf_printf(b, ",%d", ip->prefix);
		nf_buf_printf(b, "\n");
	}
	if (v4)
		nf_buf_printf(b, "dhcp-no-override\ndhcp-authoritative\n");
	if (ip->tftp_root)
		tftp_root(b, ip->tftp_root);
	if (ip->bootp_file) {
		nf_buf_printf(b, "dhcp-boot=");
		conf_value(b, ip->bootp_file);
		if (ip->bootp_server)
			nf_buf_printf(b, ",,%s", ip->bootp_server);
		nf_buf_printf(b, "\n");
	}
	return ip->nranges > 0;
}

static bool serves_dhcp(const struct dhcp_subnet *ip)
{
	return ip->dhcp && (ip->nranges || ip->nhosts);
}

/* DHCP over every subnet, router advertisements, the hosts files. */
static void conf_dhcp(struct nf_buf *b, const struct dhcp_spec *d,
		      const struct dhcp_files *f)
{
	char s[INET6_ADDRSTRLEN];
	bool any_range = false, v6_dhcp = false;
	for (size_t i = 0; i < d->nips; i++)
		if (serves_dhcp(&d->ips[i])) {
			v6_dhcp =
				v6_dhcp || d->ips[i].address.family != AF_INET;
			any_range = conf_subnet(b, &d->ips[i]) || any_range;
		}
	for (size_t i = 0; i < d->nips; i++) /* TFTP without DHCP */
		if (d->ips[i].tftp_root && !serves_dhcp(&d->ips[i]))
			tftp_root(b, d->ips[i].tftp_root);
	if (any_range)
		nf_buf_printf(b, "dhcp-lease-max=%lu\n", dhcp_lease_max(d));
	if (any_range && d->no_ping)
		nf_buf_printf(b, "no-ping\n");
	if (has_dhcp(d))
		nf_buf_printf(b, "dhcp-hostsfile=%s\n", f->hosts);
	if (d->dns)
		nf_buf_printf(b, "addn-hosts=%s\n", f->addnhosts);
	if (d->mtu && has_dhcp(d))
		nf_buf_printf(b, "dhcp-option=option:mtu,%u\n", d->mtu);
	for (size_t i = 0; i < d->nips && !v6_dhcp; i++)
		if (d->ips[i].address.family == AF_INET6) {
			nf_addr_format(&d->ips[i].address, s, sizeof(s));
			nf_buf_printf(b, "dhcp-range=%s,ra-only\n", s);
		}
	if (v6_dhcp)
		nf_buf_printf(b, "enable-ra\n");
}

char *dhcp_conf(const struct dhcp_spec *d, const struct dhcp_files *f)
{
	struct nf_buf b = {0};
	nf_buf_printf(&b, "## generated by netd: changes are overwritten; "
			  "edit the network with netctl\n");
	nf_buf_printf(&b, "strict-order\n");
	conf_dns(&b, d);
	nf_buf_printf(&b, "except-interface=lo\nbind-dynamic\ninterface=%s\n",
		      d->bridge);
	if (d->isolated)
		/* isolated: no default route for guests, no upstream DNS */
		nf_buf_printf(&b, "dhcp-option=3\nno-resolv\nra-param=*,0,0\n");
	conf_records(&b, d);
	conf_dhcp(&b, d, f);
	for (size_t i = 0; i < d->noptions; i++)
		nf_buf_printf(&b, "%s\n", d->options[i]);
	/* netd's own: where dnsmasq keeps its pid and leases, whom it runs
	 * as */
	nf_buf_printf(&b,
		      "pid-file=%s\ndhcp-leasefile=%s\nuser=%s\ngroup=%s\n"
		      "log-facility=%s\n",
		      f->pid, f->leases, f->user, f->group, f->log);
	return nf_buf_steal(&b);
}

/* A reservation's hostsfile line, for a subnet of IPv4 (v4) or IPv6. */
static void host_line(struct nf_buf *b, const struct dhcp_host *x, bool v4)
{
	char s[INET6_ADDRSTRLEN];
	nf_addr_format(&x->ip, s, sizeof(s));
	if (v4) { /* [mac,]ip[,name] */
		if (x->mac)
			nf_buf_printf(b, "%s,", x->mac);
		nf_buf_printf(b, "%s", s);
		if (x->name)
			nf_buf_printf(b, ",%s", x->name);
	} else { /* [id:duid,][name,][ip6] */
		if (x->id)
			nf_buf_printf(b, "id:%s,", x->id);
		if (x->name)
			nf_buf_printf(b, "%s,", x->name);
		nf_buf_printf(b, "[%s]", s);
	}
	lease_suffix(b, x->lease, x->lease_unit);
	nf_buf_add(b, "\n", 1);
}

char *dhcp_hostsfile(const struct dhcp_spec *d, const struct dhcp_pin *pins,
		     size_t npins)
{
	struct nf_buf b = {0};
	char s[INET6_ADDRSTRLEN];
	nf_buf_add(&b, "", 0);
	for (size_t i = 0; i < npins; i++) {
		nf_addr_format(&pins[i].ip, s, sizeof(s));
		nf_buf_printf(&b, "%s,%s%s%s\n", pins[i].mac, s,
			      pins[i].name ? "," : "",
			      pins[i].name ? pins[i].name : "");
	}
	for (size_t i = 0; i < d->nips; i++) {
		const struct dhcp_subnet *ip = &d->ips[i];
		bool v4 = ip->address.family == AF_INET;
		for (size_t h = 0; h < ip->nhosts; h++)
			host_line(&b, &ip->hosts[h], v4);
	}
	return nf_buf_steal(&b);
}

char *dhcp_addnhosts(const struct dhcp_spec *d)
{
	struct nf_buf b = {0};
	char s[INET6_ADDRSTRLEN];
	nf_buf_add(&b, "", 0);
	for (size_t i = 0; i < d->ndns_hosts; i++) {
		nf_addr_format(&d->dns_hosts[i].ip, s, sizeof(s));
		nf_buf_printf(&b, "%s", s);
		for (size_t k = 0; k < d->dns_hosts[i].nnames; k++)
			nf_buf_printf(&b, "\t%s", d->dns_hosts[i].names[k]);
		nf_buf_printf(&b, "\n");
	}
	return nf_buf_steal(&b);
}

static int dirs_for(const struct dhcp_files *f, struct nf_err *e)
{
	char dir[512];
	snprintf(dir, sizeof(dir), "%s", f->conf);
	*strrchr(dir, '/') = '\0';
	int r = nf_mkdir_p(dir, 0755, e);
	if (r < 0)
		return r;
	snprintf(dir, sizeof(dir), "%s", f->hosts);
	*strrchr(dir, '/') = '\0';
	if ((r = nf_mkdir_p(dir, 0755, e)) < 0)
		return r;
	snprintf(dir, sizeof(dir), "%s", f->leases);
	*strrchr(dir, '/') = '\0';
	return nf_mkdir_p(dir, 0755, e);
}

static int put(const char *path, char *text, struct nf_err *e)
{
	/* 0644: dnsmasq re-reads the hosts files after dropping root */
	int r = nf_write_file_atomic(path, text, strlen(text), 0644,
				     NF_VOLATILE, e);
	free(text);
	return r;
}

static int write_hosts(const struct dhcp_spec *d, const struct dhcp_pin *pins,
		       size_t npins, const struct dhcp_files *f,
		       struct nf_err *e)
{
	int r = put(f->hosts, dhcp_hostsfile(d, pins, npins), e);
	return r < 0 ? r : put(f->addnhosts, dhcp_addnhosts(d), e);
}

int dhcp_reload_hosts(const struct dhcp_spec *d, const struct dhcp_pin *pins,
		      size_t npins, const struct dhcp_files *f, pid_t pid,
		      struct nf_err *e)
{
	int r = write_hosts(d, pins, npins, f, e);
	if (r == 0 && pid > 0 && kill(pid, SIGHUP) < 0)
		r = nf_errf(e, errno, "cannot signal dnsmasq %d: %s", (int)pid,
			    strerror(errno));
	return r;
}

int dhcp_hosts_change(const struct dhcp_files *f, bool v4,
		      const struct dhcp_host *gone, const struct dhcp_host *put,
		      pid_t pid, struct dhcp_log *l, struct nf_err *e)
{
	struct nf_buf line = {0}, out = {0};
	char *text = NULL;
	size_t len = 0, at = 0, cut = 0;
	if (pid > 0 && !l->reads_hosts)
		return -ENOENT; /* the read it asks for could not be told */
	int r = nf_read_file(f->hosts, SIZE_MAX, &text, &len, e);
	if (r < 0)
		return r;
	if (gone) { /* its line, whole: at the start or after a newline */
		host_line(&line, gone, v4);
		const char *p = text;
		while ((p = memmem(p, len - (size_t)(p - text), line.s,
				   line.len)) &&
		       p != text && p[-1] != '\n')
			p++;
		if (!p) {
			r = -ENOENT;
			goto out;
		}
		at = (size_t)(p - text);
		cut = line.len;
	}
	nf_buf_add(&out, text, at);
	nf_buf_add(&out, text + at + cut, len - at - cut);
	if (put)
		host_line(&out, put, v4);
	r = nf_write_file_atomic(f->hosts, out.s, out.len, 0644, NF_VOLATILE,
				 e);
	if (r == 0 && pid > 0) { /* the same read as the last one asked */
		l->problem[0] = l->note[0] = '\0';
		l->hosts_asked++;
		l->addn_asked += l->reads_addn;
	}
	if (r == 0 && pid > 0 && kill(pid, SIGHUP) < 0)
		r = nf_errf(e, errno, "cannot signal dnsmasq %d: %s", (int)pid,
			    strerror(errno));
out:
	free(text);
	nf_buf_free(&line);
	nf_buf_free(&out);
	return r;
}

int dhcp_write(const struct dhcp_spec *d, const struct dhcp_pin *pins,
	       size_t npins, const struct dhcp_files *f, struct nf_err *e)
{
	int r = dirs_for(f, e);
	if (r == 0)
		r = write_hosts(d, pins, npins, f, e);
	return r < 0 ? r : put(f->conf, dhcp_conf(d, f), e);
}

/* A BOOTP/DHCP message as dnsmasq reads one (RFC 2131). */
struct dhcp_msg {
	uint8_t op, htype, hlen, hops;
	uint32_t xid;
	uint16_t secs, flags;
	struct in_addr ciaddr, yiaddr, siaddr, giaddr;
	uint8_t chaddr[16], sname[64], file[128];
	uint32_t cookie;
	uint8_t options[308];
};

/* What dnsmasq's dhcp_release tool does, without running it (a fork and
 * exec per lease): a DHCPRELEASE for ip and mac sent to the server's own
 * address through a socket bound to iface, so that dnsmasq takes it as
 * coming from that interface. */
int dhcp_release_lease(const char *iface, const struct nf_addr *server_ip,
		       const struct nf_addr *ip, const char *mac,
		       struct nf_err *e)
{
	struct dhcp_msg m = {.op = 1,
			     .htype = 1,
			     .hlen = 6,
			     .ciaddr = ip->v4,
			     .cookie = htonl(0x63825363)};
	struct in_addr server = server_ip->v4;
	char s[INET6_ADDRSTRLEN];
	int r = 0;
	nf_addr_format(ip, s, sizeof(s));
	if (ip->family != AF_INET || server_ip->family != AF_INET ||
	    nf_mac_parse(mac, m.chaddr) < 0)
		return nf_errf(e, EINVAL, "no IPv4 lease %s of %s to release",
			       s, mac);
	uint8_t *o = m.options;
	*o++ = 53, *o++ = 1, *o++ = 7; /* message type: DHCPRELEASE */
	*o++ = 54, *o++ = 4;	       /* server identifier */
	memcpy(o, &server, 4);
	o += 4;
	*o = 255;
	struct sockaddr_in to = {.sin_family = AF_INET,
				 .sin_port = htons(67),
				 .sin_addr = server};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
	if (fd < 0)
		return nf_errf(e, errno, "socket: %s", strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, iface,
		       (socklen_t)strlen(iface)) < 0 ||
	    sendto(fd, &m, sizeof(m), 0, (struct sockaddr *)&to, sizeof(to)) <
		    0)
		r = nf_errf(e, errno, "DHCPRELEASE of %s %s on %s: %s", s, mac,
			    iface, strerror(errno));
	close(fd);
	return r;
}

static pid_t read_pid(const char *path)
{
	char *s = NULL;
	struct nf_err e;
	if (nf_read_file(path, 64, &s, NULL, &e) < 0)
		return -ESRCH;
	long p = strtol(s, NULL, 10);
	free(s);
	return p > 1 ? (pid_t)p : -ESRCH;
}

pid_t dhcp_running(const struct dhcp_files *f, const char *dnsmasq,
		   unsigned long long start)
{
	pid_t pid = read_pid(f->pid);
	char path[64], *cmd = NULL, want[600];
	size_t len;
	struct nf_err e;
	if (pid < 0)
		return pid;
	/* the pidfile is dnsmasq's user's to write: it names a process only
	 * if that process is ours in every way we can see */
	if (!nf_proc_is(pid, f->uid, start, dnsmasq) &&
	    !nf_proc_is(pid, 0, start, dnsmasq))
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	if (nf_read_file(path, 1 << 16, &cmd, &len, &e) < 0)
		return -ESRCH;
	/* cmdline is NUL-separated: look for our exact argument */
	snprintf(want, sizeof(want), "--conf-file=%s", f->conf);
	bool ours = false;
	for (size_t i = 0; i < len; i += strlen(cmd + i) + 1)
		ours = ours || !strcmp(cmd + i, want);
	free(cmd);
	return ours ? pid : -ESRCH;
}

struct start_args {
	const char *dnsmasq, *conf_arg;
};

static void exec_dnsmasq(void *arg)
{
	const struct start_args *a = arg;
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	setsid();
	execl(a->dnsmasq, "dnsmasq", a->conf_arg, (char *)NULL);
	fprintf(stderr, "cannot run %s: %s\n", a->dnsmasq, strerror(errno));
}

int dhcp_start(const char *dnsmasq, const struct dhcp_files *f, pid_t *pidp,
	       unsigned long long *start, struct nf_err *e)
{
	char conf_arg[600], msg[1024] = "";
	snprintf(conf_arg, sizeof(conf_arg), "--conf-file=%s", f->conf);
	unlink(f->pid);
	/* dnsmasq forks into the background once it has bound its sockets;
	 * its first process exits non-zero with a message if it cannot. */
	struct start_args a = {dnsmasq, conf_arg};
	int status = nf_run_child(exec_dnsmasq, &a, msg, sizeof(msg), e);
	if (status < 0)
		return -e->code;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char *m = msg + strspn(msg, " \n");
		m[strcspn(m, "\n")] = '\0';
		return nf_errf(e, EIO, "dnsmasq failed to start: %s",
			       *m ? m : "no message");
	}
	for (int i = 0; i < 1000; i++) { /* the daemon writes its pidfile */
		pid_t d = dhcp_running(f, dnsmasq, 0);
		struct nf_proc proc;
		if (d > 0 && nf_proc_read(d, &proc) == 0) {
			*pidp = d;
			*start = proc.start;
			return 0;
		}
		usleep(1000);
	}
	return nf_errf(e, EIO, "dnsmasq started but wrote no pidfile %s",
		       f->pid);
}

void dhcp_stop(const struct dhcp_files *f, pid_t pid, bool drop_leases)
{
	if (pid > 0) {
		int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
		kill(pid, SIGTERM);
		struct pollfd pf = {pfd, POLLIN, 0};
		if (pfd >= 0 && poll(&pf, 1, 1000) == 0)
			kill(pid, SIGKILL);
		if (pfd >= 0)
			close(pfd);
	}
	unlink(f->conf);
	unlink(f->hosts);
	unlink(f->addnhosts);
	unlink(f->pid);
	unlink(f->log);
	if (drop_leases)
		unlink(f->leases);
}

bool dhcp_conf_no_ping(const struct dhcp_files *f)
{
	FILE *fp = fopen(f->conf, "re");
	char line[256];
	bool yes = false;
	while (fp && !yes && fgets(line, sizeof(line), fp))
		yes = !strcmp(line, "no-ping\n");
	if (fp)
		fclose(fp);
	return yes;
}

int dhcp_leases(const struct dhcp_files *f, struct dhcp_lease **out, size_t *n)
{
	int fd = open(f->leases, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	FILE *fp = fd < 0 ? NULL : fdopen(fd, "r");
	char line[1024];
	*out = NULL;
	*n = 0;
	if (!fp) {
		int err = errno;
		if (fd >= 0)
			close(fd);
		return err == ENOENT ? 0 : -err;
	}
	while (fgets(line, sizeof(line), fp)) {
		struct dhcp_lease l = {0};
		char exp[32], mac[64], ip[64], host[256], cid[256];
		/* "expiry mac ip hostname clientid"; IPv6 lines carry an
		 * IAID in the mac column, and a "duid" line precedes them */
		if (sscanf(line, "%31s %63s %63s %255s %255s", exp, mac, ip,
			   host, cid) != 5 ||
		    !strcmp(exp, "duid"))
			continue;
		l.expiry = strtoll(exp, NULL, 10);
		/* not a MAC (an IAID) or longer than one: no MAC */
		if (!strchr(mac, ':') ||
		    nf_fmt(l.mac, sizeof(l.mac), "%s", mac) < 0)
			l.mac[0] = 0;
		if (nf_fmt(l.ip, sizeof(l.ip), "%s", ip) < 0)
			continue; /* not an address */
		snprintf(l.hostname, sizeof(l.hostname), "%s",
			 strcmp(host, "*") ? host : "");
		snprintf(l.clientid, sizeof(l.clientid), "%s",
			 strcmp(cid, "*") ? cid : "");
		NF_APPEND(*out, *n, l);
	}
	fclose(fp);
	return 0;
}
