/* Hostile clients of netd's control socket, for tests/integration/
 * hostile.sh: each mode does one thing a local user could do to stall,
 * starve, bloat or crash netd, then holds what it took (until killed),
 * printing one line that says how far it got. `ping` is the victim: root
 * asking netd something, timed.
 *
 *   hostile flood SOCK N          N requests, never reading a reply
 *   hostile idle SOCK N           N connections, doing nothing
 *   hostile bigframe SOCK N SIZE  N connections, each an unfinished frame
 *                                 announcing SIZE bytes
 *   hostile fds SOCK N            N connections, each 16 fds and half a
 *                                 frame
 *   hostile subscribe SOCK        subscribe to events, never read them
 *   hostile uaf SOCK XMLFILE      subscribe, shut down reading, define
 *   hostile handoff SOCK UID      connect as UID, hand the connection to
 *                                 this (root) process, ask for a change
 *   hostile churn SOCK N NAME     N define/undefine pairs of network NAME
 *                                 (events for subscribers), as root
 *   hostile labnofd SOCK FILE     lab up naming FILE as a guest's kernel
 *                                 without passing it: prints netd's error
 *   hostile ping SOCK N MS        N round trips MS apart: "median X max Y"
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../lib/proto.h"

static int conn(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s >= 0 && connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(s);
		return -1;
	}
	return s;
}

static void hold(void)
{
	fflush(stdout);
	for (;;)
		pause();
}

static size_t frame(char *buf, size_t cap, const char *json)
{
	size_t n = strlen(json);
	uint32_t be = htonl((uint32_t)n);
	if (n + 4 > cap)
		return 0;
	memcpy(buf, &be, 4);
	memcpy(buf + 4, json, n);
	return n + 4;
}

/* Did netd hang up on s (after what it sent)? Waits up to ms. */
static bool closed_by_peer(int s, int ms)
{
	char b[4096];
	struct pollfd p = {s, POLLIN, 0};
	while (poll(&p, 1, ms) > 0) {
		ssize_t n = recv(s, b, sizeof(b), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN))
			return true;
	}
	return false;
}

static int flood(const char *sock, long n)
{
	int s = conn(sock);
	if (s < 0)
		return 1;
	fcntl(s, F_SETFL, O_NONBLOCK);
	char f[128];
	size_t len = frame(f, sizeof(f), "{\"id\":1,\"cmd\":\"net-list\"}");
	long sent = 0;
	for (; sent < n; sent++) {
		struct pollfd p = {s, POLLOUT, 0};
		if (poll(&p, 1, 2000) <= 0 ||
		    send(s, f, len, MSG_NOSIGNAL) != (ssize_t)len)
			break;
	}
	printf("flood: %ld requests sent, none read\n", sent);
	hold();
	return 0;
}

static int idle(const char *sock, long n)
{
	long ok = 0, refused = 0;
	for (long i = 0; i < n; i++) {
		int s = conn(sock);
		if (s < 0)
			continue;
		/* netd answers a connection over its limits with one error
		 * message and closes it */
		if (closed_by_peer(s, 5)) {
			refused++;
			close(s);
			continue;
		}
		ok++;
	}
	printf("idle: %ld connections held, %ld refused by netd\n", ok,
	       refused);
	hold();
	return 0;
}

static int bigframe(const char *sock, long n, long size)
{
	static char junk[1 << 16];
	long held = 0;
	size_t bytes = 0;
	memset(junk, ' ', sizeof(junk));
	for (long i = 0; i < n; i++) {
		int s = conn(sock);
		if (s < 0)
			continue;
		uint32_t be = htonl((uint32_t)size);
		send(s, &be, 4, MSG_NOSIGNAL);
		fcntl(s, F_SETFL, O_NONBLOCK);
		for (long left = size - 1; left > 0;) {
			struct pollfd p = {s, POLLOUT, 0};
			if (poll(&p, 1, 500) <= 0)
				break;
			ssize_t k =
				send(s, junk,
				     left < (long)sizeof(junk) ? (size_t)left
							       : sizeof(junk),
				     MSG_NOSIGNAL);
			if (k <= 0)
				break;
			left -= k;
			bytes += (size_t)k;
		}
		held += !closed_by_peer(s, 20);
	}
	printf("bigframe: %zu bytes sent; %ld of %ld connections still "
	       "open\n",
	       bytes, held, n);
	hold();
	return 0;
}

static int fds(const char *sock, long n)
{
	int nul[PROTO_MAX_FDS];
	for (int i = 0; i < PROTO_MAX_FDS; i++)
		nul[i] = open("/dev/null", O_RDONLY);
	long held = 0;
	for (long i = 0; i < n; i++) {
		int s = conn(sock);
		if (s < 0)
			continue;
		char half[2] = {0, 0}; /* half a frame header */
		struct iovec iov = {half, 2};
		char cbuf[CMSG_SPACE(sizeof(nul))];
		struct msghdr mh = {.msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = cbuf,
				    .msg_controllen = sizeof(cbuf)};
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(nul));
		memcpy(CMSG_DATA(c), nul, sizeof(nul));
		if (sendmsg(s, &mh, MSG_NOSIGNAL) == 2)
			held += !closed_by_peer(s, 5);
	}
	printf("fds: %ld connections with %d fds each still open\n", held,
	       PROTO_MAX_FDS);
	hold();
	return 0;
}

static int request(int s, const char *json)
{
	char f[70000];
	size_t len = frame(f, sizeof(f), json);
	return len && send(s, f, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

static int subscribe(const char *sock)
{
	int s = conn(sock);
	if (s < 0 || request(s, "{\"id\":1,\"cmd\":\"event-subscribe\"}") < 0)
		return 1;
	printf("subscribe: subscribed, reading nothing\n");
	/* hold until netd drops us, and say so */
	char b;
	struct pollfd p = {s, POLLRDHUP, 0};
	while (poll(&p, 1, -1) < 0 && errno == EINTR)
		;
	(void)b;
	printf("subscribe: netd disconnected us\n");
	fflush(stdout);
	hold();
	return 0;
}

static int uaf(const char *sock, const char *xmlfile)
{
	char xml[8192], req[16384];
	FILE *f = fopen(xmlfile, "r");
	size_t n = f ? fread(xml, 1, sizeof(xml) - 1, f) : 0;
	if (f)
		fclose(f);
	xml[n] = 0;
	json_t *j = json_pack("{s:i, s:s, s:{s:s}}", "id", 2, "cmd",
			      "net-define", "args", "xml", xml);
	char *body = json_dumps(j, JSON_COMPACT);
	snprintf(req, sizeof(req), "%s", body);
	free(body);
	json_decref(j);
	int s = conn(sock);
	if (s < 0 || request(s, "{\"id\":1,\"cmd\":\"event-subscribe\"}") < 0)
		return 1;
	usleep(100000);
	shutdown(s, SHUT_RD);
	if (request(s, req) < 0)
		return 1;
	bool gone = closed_by_peer(s, 2000);
	printf("uaf: defined while unable to read its event; netd %s\n",
	       gone ? "closed the connection" : "kept it");
	return 0;
}

static int handoff(const char *sock, unsigned uid)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return 1;
	pid_t pid = fork();
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setgid(uid) < 0 ||
		    setuid(uid) < 0)
			_exit(2);
		int s = conn(sock);
		if (s < 0)
			_exit(3);
		struct nf_err e;
		_exit(proto_send(sv[1], json_pack("{}"), &s, 1, &e) < 0 ? 4
									: 0);
	}
	int st;
	waitpid(pid, &st, 0);
	struct proto_rx rx = {0};
	json_t *m = NULL, *rep = NULL;
	int fd[PROTO_MAX_FDS];
	size_t nfd = 0;
	struct nf_err e;
	while (proto_rx_next(&rx, &m, fd, &nfd, &e) == 0)
		if (proto_rx_fill(&rx, sv[0]) <= 0)
			return 1;
	json_decref(m);
	proto_rx_free(&rx);
	if (nfd != 1)
		return 1;
	/* root holds a connection that a uid made: whose rights are these? */
	if (proto_call(fd[0], "net-autostart",
		       json_pack("{s:s, s:b}", "network", "none", "enable", 1),
		       &rep, NULL, NULL, &e) < 0)
		return 1;
	json_t *err = json_object_get(rep, "error");
	printf("handoff: %s\n",
	       json_string_value(json_object_get(err, "code")) ?: "accepted");
	json_decref(rep);
	return 0;
}

static int churn(const char *sock, long n, const char *name)
{
	struct nf_err e;
	char xml[512];
	snprintf(xml, sizeof(xml), "<network><name>%s</name></network>", name);
	int s = proto_connect(sock, &e);
	if (s < 0)
		return 1;
	for (long i = 0; i < n; i++) {
		json_t *rep = NULL;
		if (proto_call(s, "net-define", json_pack("{s:s}", "xml", xml),
			       &rep, NULL, NULL, &e) < 0 ||
		    !json_is_true(json_object_get(rep, "ok")))
			return 1;
		json_decref(rep);
		if (proto_call(s, "net-undefine",
			       json_pack("{s:s}", "network", name), &rep, NULL,
			       NULL, &e) < 0 ||
		    !json_is_true(json_object_get(rep, "ok")))
			return 1;
		json_decref(rep);
	}
	printf("churn: %ld networks defined and undefined\n", n);
	return 0;
}

/* What a client that is not netctl might send: a lab naming a kernel,
 * and only the path - hoping netd opens it. */
static int labnofd(const char *sock, const char *file)
{
	struct nf_err e;
	char xml[1024];
	snprintf(xml, sizeof(xml),
		 "<lab name='nofd'><network name='nofdnet'><ip "
		 "address='10.76.0.1' "
		 "prefix='24'><dhcp><range start='10.76.0.100' "
		 "end='10.76.0.200'/></dhcp></ip></network><guest name='g' "
		 "kernel='%s'><interface network='nofdnet'/></guest></lab>",
		 file);
	int s = proto_connect(sock, &e);
	json_t *rep = NULL;
	if (s < 0 || proto_call(s, "lab-up",
				json_pack("{s:s, s:s, s:[s]}", "xml", xml,
					  "dir", "/", "files", file),
				&rep, NULL, NULL, &e) < 0)
		return 1;
	json_t *err = json_object_get(rep, "error"), *d;
	size_t i;
	printf("labnofd: %s\n",
	       json_string_value(json_object_get(err, "message"))
		       ?: "accepted");
	json_array_foreach (json_object_get(err, "details"), i, d)
		printf("labnofd: %s\n", json_string_value(d));
	json_decref(rep);
	return 0;
}

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int ping(const char *sock, long n, long gap)
{
	double *t = calloc((size_t)n, sizeof(*t));
	long ok = 0;
	for (long i = 0; i < n; i++) {
		struct nf_err e;
		json_t *rep = NULL;
		double t0 = now_ms();
		int s = proto_connect(sock, &e);
		/* a stalled netd must not stall the test: 5 s, then count it
		 * as unanswered */
		struct timeval tv = {.tv_sec = 5};
		if (s >= 0) {
			setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		}
		if (s >= 0 &&
		    proto_call(s, "version", NULL, &rep, NULL, NULL, &e) == 0 &&
		    json_is_true(json_object_get(rep, "ok")))
			t[ok++] = now_ms() - t0;
		json_decref(rep);
		if (s >= 0)
			close(s);
		usleep((useconds_t)gap * 1000);
	}
	qsort(t, (size_t)ok, sizeof(*t), cmp);
	printf("ping: %ld of %ld answered, median %.2f ms, max %.2f ms\n", ok,
	       n, ok ? t[ok / 2] : -1, ok ? t[ok - 1] : -1);
	free(t);
	return ok == n ? 0 : 1;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3) {
		fprintf(stderr, "usage: hostile MODE SOCK [ARGS]\n");
		return 2;
	}
	const char *m = argv[1], *sock = argv[2];
	long a = argc > 3 ? atol(argv[3]) : 0, b = argc > 4 ? atol(argv[4]) : 0;
	if (!strcmp(m, "flood"))
		return flood(sock, a);
	if (!strcmp(m, "idle"))
		return idle(sock, a);
	if (!strcmp(m, "bigframe"))
		return bigframe(sock, a, b);
	if (!strcmp(m, "fds"))
		return fds(sock, a);
	if (!strcmp(m, "subscribe"))
		return subscribe(sock);
	if (!strcmp(m, "uaf") && argc > 3)
		return uaf(sock, argv[3]);
	if (!strcmp(m, "handoff"))
		return handoff(sock, (unsigned)a);
	if (!strcmp(m, "labnofd") && argc > 3)
		return labnofd(sock, argv[3]);
	if (!strcmp(m, "churn") && argc > 4)
		return churn(sock, a, argv[4]);
	if (!strcmp(m, "ping"))
		return ping(sock, a, b);
	fprintf(stderr, "hostile: unknown mode %s\n", m);
	return 2;
}
