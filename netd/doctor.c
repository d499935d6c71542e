/* `netctl doctor`: what on this host breaks virtual networks, and how to
 * fix each. Reads only; changes nothing. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "network.h"
#include "doctor.h"

static void add(json_t *a, const char *check, const char *status,
		const char *detail, const char *fix)
{
	json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s}", "check",
					   check, "status", status, "detail",
					   detail, "fix", fix ? fix : ""));
}

struct drops {
	json_t *a;
	int n;
};

static void drop_chain(const char *fam, const char *table, const char *chain,
		       void *ctx)
{
	struct drops *d = ctx;
	char detail[512];
	d->n++;
	snprintf(detail, sizeof(detail),
		 "chain %s %s %s drops forwarded packets by policy%s", fam,
		 table, chain,
		 !strcmp(table, "filter") ? " (Docker sets this)" : "");
	add(d->a, "forward-policy", "warning", detail,
	    "guest traffic leaving the bridge is dropped there unless that "
	    "tool accepts it: e.g. `iptables -I DOCKER-USER -i nfbr0 -j "
	    "ACCEPT` and `-o nfbr0 -m conntrack --ctstate "
	    "RELATED,ESTABLISHED -j ACCEPT`, or set that chain's policy to "
	    "accept");
}

/* A UDP or TCP listener on port on 0.0.0.0 or an address of ours? */
/* The process holding the socket with this inode (a scan of /proc/PID/fd:
 * doctor is asked for, not on a hot path), or 0. */
static pid_t socket_owner(unsigned long inode)
{
	char want[64], p[300], l[64];
	snprintf(want, sizeof(want), "socket:[%lu]", inode);
	DIR *d = opendir("/proc"), *fdd;
	struct dirent *de, *fe;
	pid_t found = 0;
	while (d && !found && (de = readdir(d))) {
		pid_t pid = (pid_t)atoi(de->d_name);
		if (pid <= 0)
			continue;
		snprintf(p, sizeof(p), "/proc/%d/fd", (int)pid);
		if (!(fdd = opendir(p)))
			continue;
		while (!found && (fe = readdir(fdd))) {
			snprintf(p, sizeof(p), "/proc/%d/fd/%s", (int)pid,
				 fe->d_name);
			ssize_t n = readlink(p, l, sizeof(l) - 1);
			if (n > 0 && (l[n] = 0, !strcmp(l, want)))
				found = pid;
		}
		closedir(fdd);
	}
	if (d)
		closedir(d);
	return found;
}

static bool ours(const struct registry *r, pid_t pid)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->nets[i]->dnsmasq_pid == pid)
			return true;
	return false;
}

/* Who else listens on every address at port (TCP: listening; UDP: bound):
 * "dnsmasq (pid 123)", or "" when no one but netd's own dnsmasqs do
 * (those bind the wildcard address too, to their bridge only). */
static void listening(const struct registry *r, const char *proc, unsigned port,
		      char *who, size_t n)
{
	FILE *f = fopen(proc, "r");
	char line[512];
	who[0] = 0;
	while (f && !who[0] && fgets(line, sizeof(line), f)) {
		unsigned lport, st;
		unsigned long inode;
		char laddr[64];
		if (sscanf(line,
			   " %*d: %63[0-9A-F]:%x %*s %x %*s %*s %*s %*s %*s "
			   "%lu",
			   laddr, &lport, &st, &inode) != 4 ||
		    lport != port || (st != 0x0A && !strstr(proc, "udp")) ||
		    strcmp(laddr, "00000000"))
			continue;
		pid_t pid = socket_owner(inode);
		if (pid > 0 && ours(r, pid))
			continue;
		char comm[64] = "";
		snprintf(line, sizeof(line), "/proc/%d/comm", (int)pid);
		FILE *c = pid > 0 ? fopen(line, "r") : NULL;
		if (c && fgets(comm, sizeof(comm), c))
			comm[strcspn(comm, "\n")] = 0;
		if (c)
			fclose(c);
		if (pid > 0)
			snprintf(who, n, "%s (pid %d)", comm[0] ? comm : "?",
				 (int)pid);
		else
			snprintf(who, n, "a process netd cannot see");
	}
	if (f)
		fclose(f);
}

/* /dev/kvm and which KVM it is: what a guest kernel needs to boot. */
static void kvm_check(json_t *a)
{
	char detail[256];
	enum nf_kvm k =
		nf_kvm_kind(""); /* the host's, not a --sysfs-root tree */
	bool usable = access("/dev/kvm", R_OK | W_OK) == 0;
	if (!usable) {
		add(a, "kvm", "warning", "/dev/kvm is missing or not usable",
		    "load kvm_intel or kvm_amd, enable virtualisation in the "
		    "firmware, and add the user to group kvm");
		return;
	}
	if (k == NF_KVM_PVM) {
		snprintf(detail, sizeof(detail),
			 "/dev/kvm is %s: stock Linux kernels do not boot in "
			 "it (PVM-enabled kernels and netvm's probe guest do)",
			 nf_kvm_name(k));
		add(a, "kvm", "warning", detail,
		    "for stock kernels use a host with Intel VMX or AMD SVM, "
		    "or one that offers them nested");
		return;
	}
	snprintf(detail, sizeof(detail), "/dev/kvm is usable: %s%s",
		 nf_kvm_name(k),
		 k == NF_KVM_NONE ? "" : ", boots stock kernels");
	add(a, "kvm", "ok", detail, NULL);
}

/* Networks whose definitions keep parts nothing serves (a lax define:
 * a DHCP host outside its subnet, a wildcard DNS name). */
static void unserved_check(struct registry *r, json_t *a)
{
	char detail[512];
	size_t k = 0, bad = 0;
	for (size_t i = 0; i < r->n; i++) {
		const struct netdef *d = &network_current(r->nets[i])->def;
		size_t m = 0;
		for (size_t w = 0; w < d->nwarnings; w++)
			m += d->warnings[w].unserved;
		if (!m)
			continue;
		bad++;
		k += (size_t)snprintf(
			detail + k, k < sizeof(detail) ? sizeof(detail) - k : 0,
			"%s%s (%zu)", k ? ", " : "", d->name, m);
	}
	if (bad)
		add(a, "reservations", "warning", detail,
		    "these networks keep reservations or names that are "
		    "never served; 'netctl net-info NETWORK' lists each, with "
		    "its line and the fix");
	else
		add(a, "reservations", "ok",
		    "every network's reservations and names can be served",
		    NULL);
}

json_t *doctor_run(struct registry *r)
{
	json_t *a = json_array();
	char v[64], detail[512];

	if (access(r->dnsmasq, X_OK) == 0) {
		snprintf(detail, sizeof(detail), "%s", r->dnsmasq);
		add(a, "dnsmasq", "ok", detail, NULL);
	} else {
		snprintf(detail, sizeof(detail), "%s is missing", r->dnsmasq);
		add(a, "dnsmasq", "error", detail,
		    "install it: apt-get install dnsmasq-base (or start netd "
		    "with --dnsmasq PATH)");
	}
	if (bridge_sysctl_read("net/ipv4/ip_forward", v, sizeof(v)) == 0)
		add(a, "ip-forward", !strcmp(v, "1") ? "ok" : "warning",
		    !strcmp(v, "1") ? "IPv4 forwarding is on"
				    : "IPv4 forwarding is off",
		    !strcmp(v, "1") ? NULL
				    : "netd turns it on when a nat or route "
				      "network starts; a host firewall or "
				      "sysctl.conf that resets it breaks them");
	struct stat st;
	if (stat("/sys/module/br_netfilter", &st) == 0) {
		bridge_sysctl_read("net/bridge/bridge-nf-call-iptables", v,
				   sizeof(v));
		add(a, "br-netfilter", !strcmp(v, "1") ? "warning" : "ok",
		    !strcmp(v, "1") ? "br_netfilter is loaded and bridged "
				      "frames go through iptables"
				    : "br_netfilter is loaded, bridge-nf-call-"
				      "iptables is off",
		    !strcmp(v, "1") ? "guest-to-guest traffic meets the host's "
				      "iptables rules: sysctl "
				      "net.bridge.bridge-nf-call-iptables=0, "
				      "or unload br_netfilter"
				    : NULL);
	} else {
		add(a, "br-netfilter", "ok", "br_netfilter is not loaded",
		    NULL);
	}
	unserved_check(r, a);
	struct drops d = {a, 0};
	nat_for_each_drop_policy(r->nat, "forward", drop_chain, &d);
	if (!d.n)
		add(a, "forward-policy", "ok",
		    "no nftables/iptables-nft chain drops forwarded packets "
		    "by policy",
		    NULL);
	bool firewalld = access("/run/firewalld/firewalld.pid", F_OK) == 0 ||
			 access("/var/run/firewalld/firewalld.pid", F_OK) == 0;
	add(a, "firewalld", firewalld ? "warning" : "ok",
	    firewalld ? "firewalld is running" : "firewalld is not running",
	    firewalld ? "put netd's bridges in a zone that allows DHCP and "
			"DNS: firewall-cmd --zone=trusted "
			"--add-interface=nfbr0 --permanent"
		      : NULL);
	char dns[96], dns_tcp[96], dhcp[96];
	listening(r, "/proc/net/udp", 53, dns, sizeof(dns));
	listening(r, "/proc/net/tcp", 53, dns_tcp, sizeof(dns_tcp));
	listening(r, "/proc/net/udp", 67, dhcp, sizeof(dhcp));
	const char *d53 = dns[0] ? dns : dns_tcp;
	snprintf(detail, sizeof(detail), "%s%s%s%s%s", d53[0] ? d53 : "",
		 d53[0] ? " listens on *:53" : "",
		 d53[0] && dhcp[0] ? "; " : "", dhcp,
		 dhcp[0] ? " listens on *:67" : "");
	bool taken = d53[0] || dhcp[0];
	add(a, "ports-53-67", taken ? "warning" : "ok",
	    taken ? detail
		  : "nothing but netd's own dnsmasqs holds DNS/DHCP on all "
		    "addresses",
	    taken ? "a server bound to every address takes DNS/DHCP from "
		    "guests: make it bind to specific interfaces (dnsmasq: "
		    "bind-interfaces, systemd-resolved: DNSStubListener only "
		    "on 127.0.0.53)"
		  : NULL);
	kvm_check(a);
	bool vhost = access("/dev/vhost-net", F_OK) == 0;
	add(a, "vhost-net", vhost ? "ok" : "warning",
	    vhost ? "/dev/vhost-net is present"
		  : "/dev/vhost-net is missing: guests use the slower "
		    "userspace virtio-net backend",
	    vhost ? NULL : "modprobe vhost_net");
	return a;
}
