/* netd-bridge-helper: QEMU's -netdev bridge helper, with netd behind it.
 * QEMU runs HELPER --use-vnet --fd=N --br=BRIDGE and waits for one TAP fd
 * on the unix socket N (SCM_RIGHTS, one byte of data), then for the
 * helper's exit status. This one asks netd (NETD_SOCKET, else
 * /run/netd/netd.sock) for a port on the network whose bridge is BRIDGE:
 * the TAP is netd's from the start, with everything a port has (its
 * guard, its reservation once the guest is known, its release when QEMU
 * closes it). QEMU does not tell a helper the guest's MAC, so the port
 * learns it: the first MAC the bridge learns there, pinned to its
 * reservation, as for a foreign port. No setuid: netd authorises the
 * request as any other (root, or netd --group). One queue: QEMU's bridge
 * backend takes one fd. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/cmds.h"
#include "../lib/proto.h"

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "netd-bridge-helper: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	return 1;
}

/* One request; the reply's result, or NULL after saying why. */
static json_t *call(const char *sock, enum nf_cmd cmd, json_t *args, int *fds,
		    size_t *nfds)
{
	struct nf_err e = {0};
	json_t *rep = NULL, *res = NULL;
	int s = proto_connect(sock, &e);
	if (s < 0 ||
	    proto_call(s, nf_cmd_name(cmd), args, &rep, fds, nfds, &e) < 0) {
		fail("%s", e.msg);
	} else if (!json_is_true(json_object_get(rep, "ok"))) {
		fail("netd refused: %s",
		     json_string_value(json_object_get(
			     json_object_get(rep, "error"), "message"))
			     ?: "?");
	} else {
		res = json_incref(json_object_get(rep, "result"));
	}
	json_decref(rep);
	if (s >= 0)
		close(s);
	return res;
}

static int send_fd(int sock, int fd)
{
	char data = 0, buf[CMSG_SPACE(sizeof(int))] = {0};
	struct iovec iov = {&data, 1};
	struct msghdr m = {.msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = buf,
			   .msg_controllen = sizeof(buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &m, 0) == 1 ? 0 : -1;
}

int main(int argc, char **argv)
{
	const char *br = NULL, *sock = getenv("NETD_SOCKET");
	int qfd = -1;
	for (int i = 1; i < argc; i++)
		if (!strncmp(argv[i], "--br=", 5))
			br = argv[i] + 5;
		else if (!strncmp(argv[i], "--fd=", 5))
			qfd = atoi(argv[i] + 5);
		else if (strcmp(argv[i],
				"--use-vnet")) /* netd's TAPs have it */
			return fail("unknown argument '%s' (QEMU passes "
				    "[--use-vnet] --br=BRIDGE --fd=N)",
				    argv[i]);
	if (!br || qfd < 0)
		return fail(
			"usage: netd-bridge-helper [--use-vnet] --br=BRIDGE "
			"--fd=N (QEMU runs it: -netdev bridge,br=BRIDGE,"
			"helper=PATH)");
	if (!sock || !*sock)
		sock = "/run/netd/netd.sock";
	json_t *nets = call(sock, NF_CMD_NET_LIST, NULL, NULL, NULL), *n;
	const char *net = NULL;
	size_t i;
	json_array_foreach (nets, i, n)
		if (json_is_true(json_object_get(n, "active")) &&
		    !strcmp(json_string_value(json_object_get(n, "bridge"))
				    ?: "",
			    br))
			net = json_string_value(json_object_get(n, "name"));
	if (!nets)
		return 1;
	if (!net)
		return fail(
			"no active netd network has the bridge '%s' (netctl "
			"net-list shows them)",
			br);
	int fds[16];
	size_t nfds = 16;
	json_t *port = call(sock, NF_CMD_PORT_CREATE,
			    json_pack("{s:s, s:b, s:i}", "network", net,
				      "learn_mac", 1, "queues", 1),
			    fds, &nfds);
	if (!port || nfds < 1)
		return port ? fail("netd sent no TAP fd") : 1;
	if (send_fd(qfd, fds[0]) < 0)
		return fail("cannot pass the TAP to QEMU on fd %d", qfd);
	json_decref(port);
	json_decref(nets);
	return 0;
}
