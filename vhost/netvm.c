/* netvm: the in-tree KVM guest runner. Boots a bzImage or a PVH ELF kernel
 * and plugs it into netd's networks through virtio-net: each --net asks
 * netd for a port (TAP fds, pinned MAC/IP) or opens a TAP by name or fd. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../lib/cmds.h"
#include "../lib/proto.h"
#include "qsd.h"
#include "seccomp.h"
#include "virtio_blk.h"
#include "virtio_net.h"
#include "vm.h"

#define MAX_NETS  4
#define MAX_DISKS 4

struct disk_spec {
	const char *path;	      /* or */
	int fd;			      /* an inherited image fd */
	bool readonly, snapshot, nbd; /* nbd: fd is a socket to an NBD server */
	enum qsd_format format;
	char serial[VBLK_SERIAL_LEN + 1];
	struct vblk dev;
	bool created;
};

struct net_spec {
	const char *network, *tap; /* netd network, or TAP name */
	int fd;			   /* or an inherited TAP fd */
	int vhost_fd;		   /* and an inherited /dev/vhost-net fd */
	char mac[18], ip[64], ifname[16];
	unsigned queues;
	enum vnet_vhost vhost;
	int fds[VNET_MAX_PAIRS];
	struct vnet dev;
	bool created;
};

static const char *netd_socket; /* --socket; else NETD_SOCKET, else /run */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: netvm run --kernel PATH|fd:N [--initrd PATH|fd:N] "
		"[--cmdline STR]\n"
		"         [--mem SIZE] [--cpus N] [--name NAME] [--kvm-fd N]\n"
		"         [--console stdio|file:PATH|fd:N|none] "
		"[--console-max SIZE]\n"
		"         [--status PATH] [--seccomp on|off] [--socket PATH]\n"
		"         [--shutdown-timeout SECONDS] "
		"[--serial-socket PATH|fd:N]\n"
		"         [--log-level LEVEL] [--net SPEC ...] "
		"[--disk DISK ...]\n"
		"  SPEC: "
		"NETWORK[,mac=M][,ip=A][,queues=N][,vhost=on|off|auto]\n"
		"        (a port from netd at --socket, NETD_SOCKET or "
		"/run/netd/netd.sock)\n"
		"     or tap=IFNAME[,mac=M][,queues=N][,vhost=...]\n"
		"     or fd=N[,vhost-fd=M][,mac=M][,vhost=...] (an open TAP "
		"fd)\n"
		"  DISK: PATH|fd:N[,format=raw|qcow2|nbd][,readonly=on|off]"
		"[,snapshot=on|off][,serial=S]\n"
		"        (virtio-blk; qcow2 and snapshot through "
		"qemu-storage-daemon;\n"
		"        fd:N,format=nbd: a socket connected to an NBD "
		"server)\n"
		"  SIZE takes K, M or G (default 64M; console 4M)\n"
		"SIGTERM presses the guest's ACPI power button, then stops it "
		"after\n  --shutdown-timeout (default 30; 0: at once)\n"
		"exit status: 0 power-off, 1 error, 2 reset, 3 guest crash "
		"(triple fault), 4 stopped by SIGTERM/SIGINT, 64 usage\n");
}

static int parse_size(const char *s, size_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'G':
	case 'g':
		v <<= 30;
		end++;
		break;
	case 'M':
	case 'm':
		v <<= 20;
		end++;
		break;
	case 'K':
	case 'k':
		v <<= 10;
		end++;
		break;
	case '\0': break;
	default: return -EINVAL;
	}
	if (*end)
		return -EINVAL;
	*out = (size_t)v;
	return 0;
}

static int parse_uint(const char *s, unsigned max, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > max)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

static int parse_net(char *spec, struct net_spec *n, struct nf_err *e)
{
	memset(n, 0, sizeof(*n));
	n->fd = n->vhost_fd = -1;
	n->queues = 1;
	for (unsigned i = 0; i < VNET_MAX_PAIRS; i++)
		n->fds[i] = -1;
	char *save = NULL, *tok = strtok_r(spec, ",", &save);
	for (bool first = true; tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		char *v = eq ? eq + 1 : NULL;
		if (eq)
			*eq = 0;
		unsigned fd;
		if (first && !eq) {
			n->network = tok;
		} else if (!v) {
			return nf_errf(e, EINVAL,
				       "--net: '%s' is not key=value", tok);
		} else if (first && !strcmp(tok, "tap")) {
			n->tap = v;
		} else if (first && !strcmp(tok, "fd")) {
			if (parse_uint(v, 65535, &fd) < 0)
				return nf_errf(e, EINVAL,
					       "--net: fd=%s is not a file "
					       "descriptor number",
					       v);
			n->fd = (int)fd;
		} else if (!strcmp(tok, "vhost-fd")) {
			if (parse_uint(v, 65535, &fd) < 0)
				return nf_errf(
					e, EINVAL,
					"--net: vhost-fd=%s is not a file "
					"descriptor number",
					v);
			n->vhost_fd = (int)fd;
		} else if (!strcmp(tok, "mac")) {
			uint8_t m[6];
			if (nf_mac_parse(v, m) < 0 || (m[0] & 1))
				return nf_errf(e, EINVAL,
					       "--net: mac=%s is not a unicast "
					       "MAC address",
					       v);
			nf_mac_format(m, n->mac);
		} else if (!strcmp(tok, "ip")) {
			snprintf(n->ip, sizeof(n->ip), "%s", v);
		} else if (!strcmp(tok, "queues")) {
			if (parse_uint(v, VNET_MAX_PAIRS, &n->queues) < 0 ||
			    !n->queues)
				return nf_errf(e, EINVAL,
					       "--net: queues=%s: 1 to %d", v,
					       VNET_MAX_PAIRS);
		} else if (!strcmp(tok, "vhost")) {
			if (!strcmp(v, "on"))
				n->vhost = VNET_VHOST_ON;
			else if (!strcmp(v, "off"))
				n->vhost = VNET_VHOST_OFF;
			else if (!strcmp(v, "auto"))
				n->vhost = VNET_VHOST_AUTO;
			else
				return nf_errf(e, EINVAL,
					       "--net: vhost=%s: on, off or "
					       "auto",
					       v);
		} else {
			return nf_errf(e, EINVAL, "--net: unknown option '%s'",
				       tok);
		}
		first = false;
	}
	if (!n->network && !n->tap && n->fd < 0)
		return nf_errf(e, EINVAL,
			       "--net needs a NETWORK, tap=IFNAME or fd=N");
	if (n->fd >= 0 && n->queues != 1)
		return nf_errf(e, EINVAL, "--net fd=N has one queue");
	if (n->vhost_fd >= 0 && n->fd < 0)
		return nf_errf(e, EINVAL, "--net vhost-fd= goes with fd=");
	if (n->ip[0] && !n->network)
		return nf_errf(e, EINVAL,
			       "--net ip= needs a netd network (netd pins it)");
	return 0;
}

/* --disk PATH|fd:N[,format=raw|qcow2|nbd][,readonly=on|off]
 * [,snapshot=on|off][,serial=S] */
static int parse_disk(char *spec, struct disk_spec *d, struct nf_err *e)
{
	memset(d, 0, sizeof(*d));
	d->fd = -1;
	char *save = NULL, *tok = strtok_r(spec, ",", &save);
	unsigned fd;
	if (!tok || !*tok)
		return nf_errf(e, EINVAL, "--disk needs PATH or fd:N");
	if (!strncmp(tok, "fd:", 3)) {
		if (parse_uint(tok + 3, 65535, &fd) < 0)
			return nf_errf(e, EINVAL,
				       "--disk: %s is not fd:N (a file "
				       "descriptor number)",
				       tok);
		d->fd = (int)fd;
	} else {
		d->path = tok;
	}
	while ((tok = strtok_r(NULL, ",", &save))) {
		char *v = strchr(tok, '=');
		if (!v)
			return nf_errf(e, EINVAL,
				       "--disk: '%s' is not key=value", tok);
		*v++ = '\0';
		if (!strcmp(tok, "format")) {
			if (!strcmp(v, "qcow2"))
				d->format = QSD_QCOW2;
			else if (!strcmp(v, "nbd"))
				d->nbd = true;
			else if (strcmp(v, "raw"))
				return nf_errf(e, EINVAL,
					       "--disk: format=%s: raw, qcow2 "
					       "or nbd",
					       v);
		} else if (!strcmp(tok, "readonly") ||
			   !strcmp(tok, "snapshot")) {
			if (strcmp(v, "on") && strcmp(v, "off"))
				return nf_errf(e, EINVAL,
					       "--disk: %s=%s: on or off", tok,
					       v);
			*(!strcmp(tok, "readonly") ? &d->readonly
						   : &d->snapshot) =
				!strcmp(v, "on");
		} else if (!strcmp(tok, "serial")) {
			if (strlen(v) > VBLK_SERIAL_LEN)
				return nf_errf(e, EINVAL,
					       "--disk: serial=%s: at most %d "
					       "characters",
					       v, VBLK_SERIAL_LEN);
			for (const char *c = v; *c; c++)
				if (*c < 0x21 || *c > 0x7e)
					return nf_errf(
						e, EINVAL,
						"--disk: serial=%s: printable "
						"ASCII without spaces",
						v);
			snprintf(d->serial, sizeof(d->serial), "%s", v);
		} else {
			return nf_errf(e, EINVAL, "--disk: unknown option '%s'",
				       tok);
		}
	}
	if ((d->format == QSD_QCOW2 || d->snapshot) && !d->path)
		return nf_errf(e, EINVAL,
			       "--disk: format=qcow2 and snapshot=on take a "
			       "PATH (qemu-storage-daemon opens the image "
			       "and its backing files)");
	if (d->nbd && (d->path || d->snapshot))
		return nf_errf(e, EINVAL,
			       "--disk: format=nbd takes fd:N (a connected "
			       "socket to an NBD server) and no snapshot=on");
	return 0;
}

/* The disk's image opened (as the user running netvm: never with rights
 * the caller lacks) or taken from the fd it inherited, and its device. */
static int setup_disk(struct vm *vm, struct disk_spec *d, unsigned idx,
		      struct nf_err *e)
{
	char dname[32];
	snprintf(dname, sizeof(dname), "disk%u", idx);
	int fd = d->fd, r;
	bool nbd = d->nbd;
	if (d->format == QSD_QCOW2 || d->snapshot) {
		/* QEMU's block layer reads the format; we read its export */
		if ((r = qsd_open(d->path, d->format, d->readonly, d->snapshot,
				  &fd, e)) < 0)
			return r;
		nbd = true;
	} else if (d->path) {
		fd = open(d->path,
			  (d->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
		if (fd < 0)
			return nf_errf(e, errno, "--disk %s: %s", d->path,
				       strerror(errno));
	} else if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		return nf_errf(e, errno, "--disk fd:%d: %s", fd,
			       strerror(errno));
	}
	d->fd = -1; /* the device owns it now, made or not */
	const char *serial = d->serial[0] ? d->serial : NULL;
	r = nbd ? vblk_create_nbd(&d->dev, vm, dname, fd, QSD_EXPORT,
				  d->readonly, serial, e)
		: vblk_create(&d->dev, vm, dname, fd, d->readonly, serial, e);
	d->created = true;
	if (r == 0)
		nf_info("%s: %s, %s, %llu MiB%s%s", dname,
			d->path ? d->path : "inherited fd",
			d->format == QSD_QCOW2 ? "qcow2"
			: d->nbd	       ? "NBD"
					       : "raw",
			(unsigned long long)(d->dev.size >> 20),
			d->readonly ? ", read-only" : "",
			d->snapshot ? ", snapshot (writes discarded)" : "");
	return r;
}

/* A port from netd: TAP fds, and the MAC/IP netd pinned. */
static int netd_port(struct net_spec *n, const char *name, struct nf_err *e)
{
	const char *path = netd_socket ? netd_socket : getenv("NETD_SOCKET");
	if (!path)
		path = "/run/netd/netd.sock";
	int s = proto_connect(path, e);
	if (s < 0)
		return nf_err_prefix(e, "network '%s'", n->network);
	/* signals wait on the signalfd: a netd that never answers must not
	 * hold netvm forever */
	struct timeval tv = {.tv_sec = 30};
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	/* no VFIO device assignment here: hostdev ports are refused */
	json_t *args =
		json_pack("{s:s, s:i, s:[s,s]}", "network", n->network,
			  "queues", (int)n->queues, "types", "tap", "macvtap");
	if (n->mac[0])
		json_object_set_new(args, "mac", json_string(n->mac));
	if (n->ip[0])
		json_object_set_new(args, "ip", json_string(n->ip));
	if (name)
		json_object_set_new(args, "name", json_string(name));
	json_t *rep = NULL;
	size_t nfds = VNET_MAX_PAIRS;
	int r = proto_call(s, nf_cmd_name(NF_CMD_PORT_CREATE), args, &rep,
			   n->fds, &nfds, e);
	json_decref(args);
	close(s);
	if (r < 0)
		return r;
	json_t *res = json_object_get(rep, "result");
	if (!json_is_true(json_object_get(rep, "ok"))) {
		json_t *err = json_object_get(rep, "error");
		const char *msg =
			json_string_value(json_object_get(err, "message"));
		r = nf_errf(e, EPERM, "network '%s': port refused: %s%s",
			    n->network, msg ? msg : "?",
			    msg && strstr(msg, "hands out hostdev ports")
				    ? "; netvm has no VFIO device assignment "
				      "yet: give the guest a passthrough "
				      "network (a macvtap on the VF) instead"
				    : "");
	} else if (nfds != n->queues) {
		r = nf_errf(e, EPROTO, "netd handed %zu fds for %u queues",
			    nfds, n->queues);
	} else {
		const char *mac =
			json_string_value(json_object_get(res, "mac"));
		const char *ip = json_string_value(json_object_get(res, "ip"));
		const char *tap =
			json_string_value(json_object_get(res, "tap"));
		snprintf(n->mac, sizeof(n->mac), "%s", mac ? mac : "");
		snprintf(n->ip, sizeof(n->ip), "%s", ip ? ip : "");
		snprintf(n->ifname, sizeof(n->ifname), "%s", tap ? tap : "");
	}
	json_decref(rep);
	return r;
}

/* An existing TAP by name: one fd per queue. */
static int open_tap(struct net_spec *n, struct nf_err *e)
{
	for (unsigned i = 0; i < n->queues; i++) {
		struct ifreq ifr = {0};
		int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
		if (fd < 0)
			return nf_errf(e, errno, "cannot open /dev/net/tun: %s",
				       strerror(errno));
		n->fds[i] = fd;
		snprintf(ifr.ifr_name, IFNAMSIZ, "%s", n->tap);
		ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR |
				(n->queues > 1 ? IFF_MULTI_QUEUE : 0);
		if (ioctl(fd, TUNSETIFF, &ifr) < 0)
			return nf_errf(e, errno, "TAP '%s': %s", n->tap,
				       strerror(errno));
	}
	snprintf(n->ifname, sizeof(n->ifname), "%s", n->tap);
	return 0;
}

static int setup_net(struct vm *vm, struct net_spec *n, unsigned idx,
		     const char *name, struct nf_err *e)
{
	int r;
	if (n->network) {
		r = netd_port(n, name, e);
	} else if (n->tap) {
		r = open_tap(n, e);
	} else {
		n->fds[0] = n->fd;
		snprintf(n->ifname, sizeof(n->ifname), "fd%d", n->fd);
		r = 0;
	}
	if (r < 0)
		return r;
	uint8_t mac[6];
	if (!n->mac[0] || nf_mac_parse(n->mac, mac) < 0) {
		mac[0] = 0x52, mac[1] = 0x54, mac[2] = 0x00;
		nf_random_bytes(mac + 3, 3);
		nf_mac_format(mac, n->mac);
	}
	char dname[32];
	snprintf(dname, sizeof(dname), "net%u", idx);
	r = vnet_create(&n->dev, vm, dname, mac, n->fds, n->queues, n->vhost,
			n->vhost_fd >= 0 ? &n->vhost_fd : NULL, e);
	for (unsigned i = 0; i < VNET_MAX_PAIRS; i++)
		n->fds[i] = -1; /* the device owns them now */
	n->created = true;
	if (r == 0)
		nf_info("%s: %s on %s (TAP %s), %u queue pair(s), %s backend",
			dname, n->mac, n->network ? n->network : "-", n->ifname,
			n->queues, vnet_backend_name(&n->dev));
	return r;
}

static const char *exit_name(enum vm_exit x)
{
	static const char *const names[] = {"running", "poweroff", "reset",
					    "crashed", "error",	   "stopped"};
	return names[x];
}

static void write_status(const char *path, const char *name, struct vm *vm,
			 struct net_spec *nets, unsigned nnets,
			 struct disk_spec *disks, unsigned ndisks)
{
	if (!path)
		return;
	json_t *a = json_array();
	for (unsigned i = 0; i < nnets; i++) {
		struct net_spec *n = &nets[i];
		json_array_append_new(
			a,
			json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:s?}",
				  "network", n->network ? n->network : "",
				  "tap", n->ifname, "mac", n->mac, "ip", n->ip,
				  "backend", vnet_backend_name(&n->dev),
				  "queues", (int)n->queues, "broken",
				  n->dev.dev.broken ? n->dev.dev.why : NULL));
	}
	json_t *da = json_array();
	for (unsigned i = 0; i < ndisks; i++) {
		const struct vblk *b = &disks[i].dev;
		json_array_append_new(
			da,
			json_pack("{s:s, s:I, s:b, s:s, s:I, s:I, s:s?}",
				  "path", disks[i].path ? disks[i].path : "",
				  "bytes", (json_int_t)b->size, "readonly",
				  b->readonly, "serial", b->serial, "requests",
				  (json_int_t)b->reqs, "refused",
				  (json_int_t)b->errors, "broken",
				  b->dev.broken ? b->dev.why : NULL));
	}
	json_t *j = json_pack("{s:s, s:i, s:s, s:i, s:I, s:o, s:o}", "name",
			      name ? name : "", "pid", (int)getpid(), "state",
			      exit_name(vm->exit), "cpus", (int)vm->ncpus,
			      "mem_mib", (json_int_t)(vm->mem_size >> 20),
			      "nets", a, "disks", da);
	char *txt = json_dumps(j, JSON_INDENT(1));
	struct nf_err e;
	if (nf_write_file_atomic(path, txt, strlen(txt), 0644, NF_VOLATILE,
				 &e) < 0)
		nf_warn("status file: %s", e.msg);
	free(txt);
	json_decref(j);
}

/* What netvm itself costs: resident memory beyond guest RAM's pages. */
static void log_memory(struct vm *vm)
{
	char line[128];
	long rss = -1;
	FILE *f = fopen("/proc/self/status", "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			rss = atol(line + 6);
	if (f)
		fclose(f);
	size_t guest = vm_guest_resident_kib(vm);
	nf_debug("memory: RSS %ld KiB, guest RAM resident %zu KiB, netvm "
		 "beyond guest RAM %ld KiB",
		 rss, guest, rss - (long)guest);
}

/* --serial-socket: a unix socket on which one client at a time attaches
 * to the guest's serial port, reading what the guest prints and typing
 * into its UART (vm_serial_input). PATH is made here (0600, removed at
 * the end); fd:N is a listening socket inherited (netd's, for a lab
 * guest). A second client while one is attached is told so and closed. */
struct serial_sock {
	int listen, peer;
	char path[108];
};

static int serial_open(struct serial_sock *ss, const char *spec,
		       struct nf_err *e)
{
	ss->listen = ss->peer = -1;
	ss->path[0] = '\0';
	if (!spec)
		return 0;
	if (!strncmp(spec, "fd:", 3)) {
		unsigned fd;
		int type = 0, acc = 0;
		socklen_t l = sizeof(type);
		if (parse_uint(spec + 3, 65535, &fd) < 0 ||
		    getsockopt((int)fd, SOL_SOCKET, SO_TYPE, &type, &l) < 0 ||
		    getsockopt((int)fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &l) <
			    0 ||
		    type != SOCK_STREAM || !acc)
			return nf_errf(e, EINVAL,
				       "--serial-socket %s: not a listening "
				       "stream socket",
				       spec);
		ss->listen = (int)fd;
		fcntl(ss->listen, F_SETFD, FD_CLOEXEC);
		return 0;
	}
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (strlen(spec) >= sizeof(a.sun_path))
		return nf_errf(e, ENAMETOOLONG,
			       "--serial-socket %s: longer than a socket path "
			       "may be (%zu)",
			       spec, sizeof(a.sun_path) - 1);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", spec);
	ss->listen = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	mode_t old = umask(0177);
	int r = ss->listen < 0
			? -1
			: bind(ss->listen, (struct sockaddr *)&a, sizeof(a));
	umask(old);
	if (r < 0 || listen(ss->listen, 2) < 0)
		return nf_errf(e, errno, "--serial-socket %s: %s", spec,
			       strerror(errno));
	snprintf(ss->path, sizeof(ss->path), "%s", spec);
	return 0;
}

static void serial_close(struct serial_sock *ss)
{
	if (ss->peer >= 0)
		close(ss->peer);
	if (ss->listen >= 0)
		close(ss->listen);
	if (ss->path[0])
		unlink(ss->path);
	ss->listen = ss->peer = -1;
}

/* The attached client, now fd (or -1: gone), as the console sees it. */
static void serial_peer(struct vm *vm, struct serial_sock *ss, int fd)
{
	pthread_mutex_lock(&vm->io_lock);
	if (vm->console) {
		console_flush_peer(vm->console);
		vm->console->peer = fd;
	}
	pthread_mutex_unlock(&vm->io_lock);
	if (ss->peer >= 0)
		close(ss->peer);
	ss->peer = fd;
}

/* What the listener or the client has for us. */
static void serial_event(struct vm *vm, struct serial_sock *ss,
			 const struct pollfd *l, const struct pollfd *c)
{
	if (l->revents & POLLIN) {
		int fd = accept4(ss->listen, NULL, NULL,
				 SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd >= 0 && ss->peer >= 0) {
			static const char busy[] =
				"netvm: the serial console is in use\r\n";
			(void)!write(fd, busy, sizeof(busy) - 1);
			close(fd);
		} else if (fd >= 0) {
			serial_peer(vm, ss, fd);
		}
	}
	if (ss->peer >= 0 && c->fd == ss->peer && c->revents) {
		uint8_t buf[64];
		size_t room = vm_serial_room(vm);
		ssize_t n = room ? read(ss->peer, buf,
					room < sizeof(buf) ? room : sizeof(buf))
				 : 1;
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			serial_peer(vm, ss, -1); /* it left */
		else if (n > 0 && room)
			vm_serial_input(vm, buf, (size_t)n);
	}
	pthread_mutex_lock(&vm->io_lock); /* a prompt has no newline */
	if (vm->console)
		console_flush_peer(vm->console);
	pthread_mutex_unlock(&vm->io_lock);
}

/* Waits for the guest to end or a signal; returns how it ended. The
 * first SIGTERM presses the ACPI power button and gives the guest
 * shutdown_ms to power off; past that, or at SIGINT, SIGHUP or another
 * SIGTERM, the guest is stopped where it is. */
static enum vm_exit wait_guest(struct vm *vm, int sfd, unsigned shutdown_ms,
			       struct serial_sock *ss)
{
	struct pollfd p[4] = {{vm->exit_fd, POLLIN, 0},
			      {sfd, POLLIN, 0},
			      {ss->listen, POLLIN, 0},
			      {-1, POLLIN, 0}};
	uint64_t deadline = 0;
	for (;;) {
		int wait = -1;
		/* the client: its input while the UART has room, its output
		 * flushed every 20 ms */
		bool room = ss->peer >= 0 && vm_serial_room(vm);
		p[3].fd = ss->peer;
		p[3].events = room ? POLLIN : 0;
		if (ss->peer >= 0)
			wait = 20;
		if (deadline) {
			uint64_t now = nf_now_ns();
			if (now >= deadline) {
				nf_info("the guest did not power off within "
					"%u ms: stopping it",
					shutdown_ms);
				return VM_STOPPED;
			}
			int left = (int)((deadline - now) / 1000000) + 1;
			wait = wait < 0 || left < wait ? left : wait;
		}
		if (poll(p, 4, wait) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			return vm->exit;
		if (ss->listen >= 0)
			serial_event(vm, ss, &p[2], &p[3]);
		struct signalfd_siginfo si;
		if (!p[1].revents || read(sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo == SIGTERM && !deadline && shutdown_ms) {
			nf_info("SIGTERM: pressing the guest's ACPI power "
				"button; stopping it in %u ms unless it powers "
				"off",
				shutdown_ms);
			vm_power_button(vm);
			deadline =
				nf_now_ns() + (uint64_t)shutdown_ms * 1000000;
			continue;
		}
		nf_info("signal %u: stopping the guest", si.ssi_signo);
		return VM_STOPPED;
	}
	return VM_ERROR;
}

/* What the command line asks for. */
struct netvm_opts {
	const char *kernel, *initrd, *cmdline, *console, *name, *status;
	const char *serial; /* --serial-socket */
	size_t mem, console_max;
	unsigned cpus, nnets, ndisks, shutdown_ms;
	int kvm, level;
	bool seccomp;
	struct net_spec nets[MAX_NETS];
	struct disk_spec disks[MAX_DISKS];
};

static int opt_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int opt_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("netvm: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return -1;
}

/* One option; -1 after saying what is wrong with it. */
static int parse_opt(struct netvm_opts *o, int c, char *arg)
{
	struct nf_err e = {0};
	unsigned fd;
	switch (c) {
	case 'k': o->kernel = arg; return 0;
	case 'i': o->initrd = arg; return 0;
	case 'c': o->cmdline = arg; return 0;
	case 'C': o->console = arg; return 0;
	case 'U': o->serial = arg; return 0;
	case 'n': o->name = arg; return 0;
	case 's': o->status = arg; return 0;
	case 'l':
		o->level = nf_log_parse_level(arg);
		return o->level < 0 ? opt_fail("unknown log level '%s'", arg)
				    : 0;
	case 'm':
		return parse_size(arg, &o->mem) < 0
			       ? opt_fail("--mem '%s' is not a size like 64M",
					  arg)
			       : 0;
	case 'p':
		return parse_uint(arg, VM_MAX_CPUS, &o->cpus) < 0 || !o->cpus
			       ? opt_fail("--cpus takes 1 to %d", VM_MAX_CPUS)
			       : 0;
	case 'N':
		if (o->nnets == MAX_NETS)
			return opt_fail("at most %d --net", MAX_NETS);
		if (parse_net(arg, &o->nets[o->nnets++], &e) < 0)
			return opt_fail("%s", e.msg);
		return 0;
	case 'D':
		if (o->ndisks == MAX_DISKS)
			return opt_fail("at most %d --disk", MAX_DISKS);
		if (parse_disk(arg, &o->disks[o->ndisks++], &e) < 0)
			return opt_fail("%s", e.msg);
		return 0;
	case 'K':
		if (parse_uint(arg, 65535, &fd) < 0)
			return opt_fail("--kvm-fd takes an fd");
		o->kvm = (int)fd;
		return 0;
	case 'X':
		return parse_size(arg, &o->console_max) < 0
			       ? opt_fail("--console-max '%s' is not a size "
					  "like 4M",
					  arg)
			       : 0;
	case 'S': netd_socket = arg; return 0;
	case 'T':
		if (parse_uint(arg, 3600, &fd) < 0)
			return opt_fail("--shutdown-timeout takes 0 to 3600 "
					"seconds");
		o->shutdown_ms = fd * 1000;
		return 0;
	case 'Z':
		if (strcmp(arg, "on") && strcmp(arg, "off"))
			return opt_fail("--seccomp takes on or off");
		o->seccomp = !strcmp(arg, "on");
		return 0;
	default: usage(stderr); return -1;
	}
}

/* "netvm run OPTIONS": 0 to run, 1 to exit 0 (help), -1 to exit 1. */
static int parse_args(int argc, char **argv, struct netvm_opts *o)
{
	static const struct option opts[] = {
		{"kernel", required_argument, NULL, 'k'},
		{"initrd", required_argument, NULL, 'i'},
		{"cmdline", required_argument, NULL, 'c'},
		{"mem", required_argument, NULL, 'm'},
		{"cpus", required_argument, NULL, 'p'},
		{"name", required_argument, NULL, 'n'},
		{"console", required_argument, NULL, 'C'},
		{"status", required_argument, NULL, 's'},
		{"net", required_argument, NULL, 'N'},
		{"disk", required_argument, NULL, 'D'},
		{"log-level", required_argument, NULL, 'l'},
		{"kvm-fd", required_argument, NULL, 'K'},
		{"console-max", required_argument, NULL, 'X'},
		{"seccomp", required_argument, NULL, 'Z'},
		{"socket", required_argument, NULL, 'S'},
		{"shutdown-timeout", required_argument, NULL, 'T'},
		{"serial-socket", required_argument, NULL, 'U'},
		{"help", no_argument, NULL, 'h'},
		{0}};
	int c;
	if (argc == 2 && !strcmp(argv[1], "--version")) {
		printf("netvm %s\n", NF_VERSION);
		return 1;
	}
	if (argc < 2 || strcmp(argv[1], "run")) {
		bool help = argc > 1 && !strcmp(argv[1], "--help");
		usage(help ? stdout : stderr);
		return help ? 1 : -1;
	}
	optind = 2;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 1;
		}
		if (parse_opt(o, c, optarg) < 0)
			return -1;
	}
	if (!o->kernel || optind != argc) {
		if (optind != argc)
			opt_fail("unexpected argument '%s'", argv[optind]);
		else
			opt_fail("--kernel is required");
		usage(stderr);
		return -1;
	}
	return 0;
}

/* Signals arrive on the returned signalfd; every thread inherits the
 * mask (SIGPIPE stays blocked: a closed console or socket is an error). */
static int block_signals(void)
{
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	sigdelset(&sigs, SIGPIPE);
	return signalfd(-1, &sigs, SFD_CLOEXEC);
}

/* Creates the VM with its nets, loads the kernel, confines netvm and runs
 * the guest to its end; how it ended, or VM_ERROR with *rc < 0. */
static enum vm_exit run(struct netvm_opts *o, struct vm *vm,
			struct console *cons, struct serial_sock *ss, int sfd,
			int *rc, struct nf_err *e)
{
	uint64_t t0 = nf_now_ns();
	*rc = vm_create(vm, o->mem, o->cpus, o->kvm, e);
	if (*rc == 0) /* the first word, before anything can take long */
		nf_info("%s%s%s, %zu MiB, %u vCPU(s), on %s",
			o->name ? o->name : "", o->name ? ": " : "", o->kernel,
			o->mem >> 20, o->cpus, nf_kvm_name(vm->kind));
	for (unsigned i = 0; *rc == 0 && i < o->nnets; i++)
		*rc = setup_net(vm, &o->nets[i], i, o->name, e);
	for (unsigned i = 0; *rc == 0 && i < o->ndisks; i++)
		*rc = setup_disk(vm, &o->disks[i], i, e);
	if (*rc == 0)
		*rc = vm_load_kernel(vm, o->kernel, o->initrd, o->cmdline, e);
	vm->console = cons;
	/* from here on the guest runs: nothing more to open or create (the
	 * time zone, which glibc loads on the first RTC read, is loaded now) */
	tzset();
	if (*rc == 0 && o->seccomp)
		*rc = netvm_seccomp(o->status || ss->path[0] ||
					    o->level >= NF_LOG_DEBUG,
				    e);
	if (*rc == 0)
		*rc = vm_start(vm, e);
	if (*rc < 0)
		return VM_ERROR;
	write_status(o->status, o->name, vm, o->nets, o->nnets, o->disks,
		     o->ndisks);
	nf_debug("started in %.1f ms", (double)(nf_now_ns() - t0) / 1e6);
	wait_guest(vm, sfd, o->shutdown_ms, ss);
	if (o->level >= NF_LOG_DEBUG) /* mincore over all guest RAM */
		log_memory(vm);
	vm_stop(vm);
	if (vm->first_exit_ns)
		nf_debug("first guest exit %.2f ms after netvm started",
			 (double)(vm->first_exit_ns - t0) / 1e6);
	for (unsigned i = 0; i < o->nnets; i++)
		if (o->nets[i].created && o->nets[i].dev.dev.broken)
			nf_warn("net%u was broken by the guest: %s", i,
				o->nets[i].dev.dev.why);
	for (unsigned i = 0; i < o->ndisks; i++)
		if (o->disks[i].created && o->disks[i].dev.dev.broken)
			nf_warn("disk%u was broken by the guest: %s", i,
				o->disks[i].dev.dev.why);
	write_status(o->status, o->name, vm, o->nets, o->nnets, o->disks,
		     o->ndisks);
	return vm->exit;
}

static void close_nets(struct net_spec *nets, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (nets[i].created)
			vnet_destroy(&nets[i].dev);
		for (unsigned q = 0; q < VNET_MAX_PAIRS; q++)
			if (nets[i].fds[q] >= 0)
				close(nets[i].fds[q]);
	}
}

/* netvm's exit status for how the guest ended (netvm(1)). */
static int exit_status(enum vm_exit how, const char *msg)
{
	switch (how) {
	case VM_POWEROFF: return 0;
	case VM_RESET: return 2;
	case VM_SHUTDOWN: fprintf(stderr, "netvm: %s\n", msg); return 3;
	case VM_STOPPED: return 4;
	default: fprintf(stderr, "netvm: %s\n", msg); return 1;
	}
}

int main(int argc, char **argv)
{
	static struct netvm_opts o = {.cmdline = "",
				      .console = "stdio",
				      .mem = 64u << 20,
				      .console_max = CONSOLE_CAP_DEFAULT,
				      .cpus = 1,
				      .shutdown_ms = 30000,
				      .kvm = -1,
				      .level = NF_LOG_INFO,
				      .seccomp = true};
	static struct vm vm;
	static struct console cons;
	struct nf_err e = {0};
	int rc = parse_args(argc, argv, &o);
	if (rc)
		return rc > 0 ? 0 : EX_USAGE;
	nf_log_init("netvm", false, o.level);
	if (console_open(&cons, o.console, o.console_max, &e) < 0) {
		fprintf(stderr, "netvm: %s\n", e.msg);
		return 1;
	}
	static struct serial_sock ss;
	if (serial_open(&ss, o.serial, &e) < 0) {
		fprintf(stderr, "netvm: %s\n", e.msg);
		return 1;
	}
	int sfd = block_signals();
	enum vm_exit how = run(&o, &vm, &cons, &ss, sfd, &rc, &e);
	serial_close(&ss);
	if (rc < 0)
		fprintf(stderr, "netvm: %s\n", e.msg);
	close_nets(o.nets, o.nnets);
	for (unsigned i = 0; i < o.ndisks; i++) {
		if (o.disks[i].created)
			vblk_destroy(&o.disks[i].dev);
		else if (o.disks[i].fd >= 0)
			close(o.disks[i].fd);
	}
	vm_destroy(&vm);
	console_close(&cons);
	return rc < 0 ? 1 : exit_status(how, vm.exit_msg);
}
