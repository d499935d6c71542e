/* `netctl doctor`: what on this host breaks virtual networks, and how to
 * fix each. Reads only; changes nothing. */
#define _GNU_SOURCE
#include <stdio.h>
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
static bool listening(const char *proc, unsigned port)
{
	FILE *f = fopen(proc, "r");
	char line[512];
	bool found = false;
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		unsigned lport, st;
		char laddr[64];
		if (sscanf(line, " %*d: %63[0-9A-F]:%x %*s %x", laddr, &lport,
			   &st) == 3 &&
		    lport == port && (st == 0x0A || strstr(proc, "udp")) &&
		    !strcmp(laddr, "00000000"))
			found = true;
	}
	fclose(f);
	return found;
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
	bool dns = listening("/proc/net/udp", 53) ||
		   listening("/proc/net/tcp", 53);
	bool dhcp = listening("/proc/net/udp", 67);
	snprintf(detail, sizeof(detail), "%s%s%s",
		 dns ? "something listens on *:53" : "",
		 dns && dhcp ? " and " : "",
		 dhcp ? "something listens on *:67" : "");
	add(a, "ports-53-67", dns || dhcp ? "warning" : "ok",
	    dns || dhcp ? detail : "nothing holds DNS/DHCP on all addresses",
	    dns || dhcp ? "a server bound to every address takes DNS/DHCP "
			  "from guests: make it bind to specific "
			  "interfaces (dnsmasq: bind-interfaces, "
			  "systemd-resolved: DNSStubListener only on "
			  "127.0.0.53)"
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
