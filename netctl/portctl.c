/* virsh's network port commands (net-port-create, -list, -dumpxml,
 * -delete) over netd's ports, in libvirt's network port XML. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../netd/portxml.h"
#include "netctl.h"

static json_t *net_info(const char *net)
{
	json_t *r;
	if (ctl_call(NF_CMD_NET_INFO, json_pack("{s:s}", "network", net), &r))
		return NULL;
	return r;
}

/* The first part of p netd cannot do as asked, or NULL: said rather
 * than dropped. */
static const char *unservable(const struct portxml *p)
{
	if (p->plug[0])
		return "<plug> is what the network fills in: a port to be "
		       "made names none";
	if ((p->has_in && p->in.floor[0]) || (p->has_out && p->out.floor[0]))
		return "<bandwidth> floor=: netd guarantees no share (average, "
		       "peak and burst it does)";
	if (p->ntags > 1 || p->trunk)
		return "<vlan trunk='yes'>: a netd port carries one VLAN tag";
	if (p->ntags && p->native[0][0])
		return "<tag nativeMode=...>: a netd port carries one VLAN "
		       "tag, tagged";
	if (p->trust_guest == 1)
		return "<rxfilters trustGuest='yes'>: netd guards a port's "
		       "MAC and IP (port-create --no-filter opens it)";
	if (p->vport_type[0])
		return "<virtualport>: netd's ports have no 802.1Qbg/Qbh or "
		       "Open vSwitch profile";
	return NULL;
}

static json_t *rate_json(const struct portxml_rate *r)
{
	return json_pack("{s:I, s:I, s:I}", "average",
			 (json_int_t)strtoull(r->average, NULL, 10), "peak",
			 (json_int_t)strtoull(r->peak, NULL, 10), "burst",
			 (json_int_t)strtoull(r->burst, NULL, 10));
}

int ctl_net_port_create(int argc, char **argv)
{
	(void)argc; /* --validate: netd refuses what it cannot do anyway */
	char *xml = ctl_read_input(argv[2]);
	struct portxml p;
	struct nf_err e;
	char u[37], ou[37], mac[18], tap[16];
	if (!xml)
		return 1;
	int rc = portxml_parse(xml, strlen(xml), true, &p, &e);
	free(xml);
	if (rc < 0) {
		fprintf(stderr, "netctl: %s: %s\n", argv[2], e.msg);
		return 1;
	}
	const char *why = unservable(&p);
	if (why) {
		fprintf(stderr, "netctl: %s: %s\n", argv[2], why);
		return 1;
	}
	json_t *info = net_info(argv[1]), *r;
	if (!info)
		return 1;
	const char *mode = ctl_jstr(info, "forward");
	bool vf = !strcmp(mode, "hostdev") || !strcmp(mode, "passthrough");
	nf_uuid_format(p.uuid, u);
	nf_uuid_format(p.owner_uuid, ou);
	nf_mac_format(p.mac, mac);
	/* as libvirt's, the port stays until net-port-delete: a TAP of that
	 * name for the VM's runner to open (QEMU: -netdev tap,ifname=...),
	 * or the VF it holds */
	nf_random_name("nfp", tap, sizeof(tap));
	json_t *args = json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:s?, s:b, s:b, s:s?}", "network",
		ctl_jstr(info, "name"), "uuid", u, "owner_uuid", ou, "mac", mac,
		"name", p.owner_name, "portgroup", p.group[0] ? p.group : NULL,
		"isolated", p.isolated == 1, "keep", vf, "persist",
		vf ? NULL : tap);
	if (p.ntags)
		json_object_set_new(args, "vlan", json_integer(p.tags[0]));
	if (p.has_in)
		json_object_set_new(args, "inbound", rate_json(&p.in));
	if (p.has_out)
		json_object_set_new(args, "outbound", rate_json(&p.out));
	json_decref(info);
	if (ctl_call(NF_CMD_PORT_CREATE, args, &r))
		return 1;
	if (!ctl_json_done(r)) {
		printf("Network port %s created from %s\n", ctl_jstr(r, "uuid"),
		       argv[2]);
		json_decref(r);
	}
	return 0;
}

int ctl_net_port_list(int argc, char **argv)
{
	json_t *info = net_info(argv[1]), *r, *port;
	bool uuids = argc > 2 && !strcmp(argv[2], "--uuid");
	size_t i;
	if (!info)
		return 1;
	int rc = ctl_call(NF_CMD_PORT_LIST,
			  json_pack("{s:s}", "network", ctl_jstr(info, "name")),
			  &r);
	json_decref(info);
	if (rc)
		return 1;
	if (ctl_json_done(r))
		return 0;
	if (uuids) {
		json_array_foreach (r, i, port)
			printf("%s\n", ctl_jstr(port, "uuid"));
	} else {
		static const char *cols[] = {"uuid"}, *heads[] = {"UUID"};
		ctl_print_table(r, cols, heads, 1);
	}
	json_decref(r);
	return 0;
}

/* netd's port p on the network info, as libvirt's port XML */
static int port_to_xml(json_t *port, json_t *info, struct portxml *p,
		       struct nf_err *e)
{
	const char *mode = ctl_jstr(info, "forward");
	memset(p, 0, sizeof(*p));
	p->isolated = json_is_true(json_object_get(port, "isolated")) ? 1 : -1;
	p->trust_guest = p->plug_managed = -1;
	p->has_uuid = nf_uuid_parse(ctl_jstr(port, "uuid"), p->uuid) == 0;
	p->has_mac = nf_mac_parse(ctl_jstr(port, "mac"), p->mac) == 0;
	snprintf(p->owner_name, sizeof(p->owner_name), "%s",
		 ctl_jstr(port, "name"));
	p->has_owner_uuid =
		nf_uuid_parse(ctl_jstr(port, "owner_uuid"), p->owner_uuid) == 0;
	if (!p->has_uuid || !p->has_mac)
		return nf_errf(e, EINVAL,
			       "netd's port record has no UUID or MAC");
	if (!strcmp(mode, "hostdev")) {
		unsigned dom, bus, slot, fn;
		if (sscanf(ctl_jstr(port, "pci"), "%x:%x:%x.%x", &dom, &bus,
			   &slot, &fn) != 4)
			return nf_errf(e, EINVAL,
				       "the port holds no PCI device");
		snprintf(p->plug, sizeof(p->plug), "hostdev-pci");
		p->plug_managed = 1;
		snprintf(p->pci_domain, sizeof(p->pci_domain), "0x%04x", dom);
		snprintf(p->pci_bus, sizeof(p->pci_bus), "0x%02x", bus);
		snprintf(p->pci_slot, sizeof(p->pci_slot), "0x%02x", slot);
		snprintf(p->pci_function, sizeof(p->pci_function), "0x%x", fn);
	} else if (!strcmp(mode, "passthrough")) {
		snprintf(p->plug, sizeof(p->plug), "direct");
		snprintf(p->plug_dev, sizeof(p->plug_dev), "%s",
			 ctl_jstr(port, "lower"));
		snprintf(p->plug_mode, sizeof(p->plug_mode), "passthrough");
	} else {
		/* libvirt: 'bridge' for a host bridge, else 'network' */
		snprintf(p->plug, sizeof(p->plug), "%s",
			 !strcmp(mode, "bridge") ? "bridge" : "network");
		snprintf(p->plug_bridge, sizeof(p->plug_bridge), "%s",
			 ctl_jstr(info, "bridge"));
	}
	return 0;
}

/* the port (by UUID, TAP or name) when it is one of the network's */
static int network_port(const char *net, const char *key, json_t **info,
			json_t **port)
{
	if (!(*info = net_info(net)))
		return 1;
	if (ctl_call(NF_CMD_PORT_INFO, json_pack("{s:s}", "port", key), port)) {
		json_decref(*info);
		return 1;
	}
	if (strcmp(ctl_jstr(*port, "network"), ctl_jstr(*info, "name"))) {
		fprintf(stderr,
			"netctl: error: port %s is on network %s, not "
			"%s\n",
			key, ctl_jstr(*port, "network"),
			ctl_jstr(*info, "name"));
		json_decref(*info);
		json_decref(*port);
		return 1;
	}
	return 0;
}

int ctl_net_port_dumpxml(int argc, char **argv)
{
	json_t *info, *port;
	struct portxml p;
	struct nf_err e;
	(void)argc;
	if (network_port(argv[1], argv[2], &info, &port))
		return 1;
	int rc = port_to_xml(port, info, &p, &e);
	json_decref(info);
	json_decref(port);
	if (rc < 0) {
		fprintf(stderr, "netctl: error: %s\n", e.msg);
		return 1;
	}
	char *xml = portxml_format(&p);
	fputs(xml, stdout);
	free(xml);
	return 0;
}

int ctl_net_port_delete(int argc, char **argv)
{
	json_t *info, *port, *r;
	(void)argc;
	if (network_port(argv[1], argv[2], &info, &port))
		return 1;
	json_t *args = json_pack("{s:s}", "port", ctl_jstr(port, "uuid"));
	json_decref(info);
	json_decref(port);
	if (ctl_call(NF_CMD_PORT_DELETE, args, &r))
		return 1;
	if (!ctl_json_done(r)) {
		printf("Network port %s deleted\n", argv[2]);
		json_decref(r);
	}
	return 0;
}

/* ------------------------------------------------- port-create --exec */

static volatile pid_t exec_child;

static void pass_signal(int sig)
{
	if (exec_child > 0)
		kill(exec_child, sig);
}

/* The child's fds: the port's at 3, 4, ... (moved above them first, so
 * none is overwritten before it is copied), nothing else of ours. */
static void place_fds(const int *fds, size_t nfds)
{
	int hi[16];
	for (size_t i = 0; i < nfds; i++)
		hi[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3 + (int)nfds);
	for (size_t i = 0; i < nfds; i++)
		if (hi[i] < 0 || dup2(hi[i], 3 + (int)i) < 0)
			_exit(127);
}

int ctl_port_exec(json_t *port, int *fds, size_t nfds, char **argv)
{
	char list[64] = "";
	size_t len = 0;
	for (size_t i = 0; i < nfds && i < 16; i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%zu",
					i ? ":" : "", 3 + i);
	setenv("NETD_PORT_FDS", list, 1);
	setenv("NETD_PORT_MAC", ctl_jstr(port, "mac"), 1);
	setenv("NETD_PORT_IP", ctl_jstr(port, "ip"), 1);
	setenv("NETD_PORT_TAP", ctl_jstr(port, "tap"), 1);
	char *uuid = nf_xstrdup(ctl_jstr(port, "uuid"));
	json_decref(port);
	struct sigaction sa = {.sa_handler = pass_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	pid_t pid = fork();
	if (pid == 0) {
		place_fds(fds, nfds);
		execvp(argv[0], argv);
		fprintf(stderr, "netctl: cannot run %s: %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	for (size_t i = 0; i < nfds; i++)
		close(fds[i]);
	if (pid < 0) {
		fprintf(stderr, "netctl: fork: %s\n", strerror(errno));
		free(uuid);
		return 1;
	}
	exec_child = pid;
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	exec_child = 0;
	/* the port is CMD's: gone with it, even if CMD passed its fds on */
	json_t *r = NULL;
	struct nf_err e = {0};
	int s = proto_connect(ctl_socket_path(), &e);
	if (s >= 0) {
		proto_call(s, nf_cmd_name(NF_CMD_PORT_DELETE),
			   json_pack("{s:s}", "port", uuid), &r, NULL, NULL,
			   &e);
		json_decref(r);
		close(s);
	}
	free(uuid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
