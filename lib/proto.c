#define _GNU_SOURCE
#include "proto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int send_all(int sock, const char *p, size_t len, const int *fds,
		    size_t nfds)
{
	while (len > 0) {
		struct iovec iov = {(void *)p, len};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
		char cbuf[CMSG_SPACE(sizeof(int) * PROTO_MAX_FDS)];
		if (nfds > PROTO_MAX_FDS)
			return -E2BIG;
		if (nfds) {
			memset(cbuf, 0, sizeof(cbuf));
			mh.msg_control = cbuf;
			mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
			struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
			memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
		}
		ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			/* a non-blocking socket whose peer is slow: wait for
			 * room (poll: any fd number) */
			struct pollfd pf = {sock, POLLOUT, 0};
			if (poll(&pf, 1, -1) < 0 && errno != EINTR)
				return -errno;
			continue;
		}
		if (n < 0)
			return -errno;
		nfds = 0; /* fds go with the first byte only */
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

char *proto_frame(json_t *msg, size_t *lenp)
{
	char *body = json_dumps(msg, JSON_COMPACT);
	if (!body)
		return NULL;
	size_t len = strlen(body);
	if (len > PROTO_MAX_MSG) {
		free(body);
		return NULL;
	}
	char *frame = nf_xmalloc(len + 4);
	uint32_t be = htonl((uint32_t)len);
	memcpy(frame, &be, 4);
	memcpy(frame + 4, body, len);
	free(body);
	*lenp = len + 4;
	return frame;
}

int proto_send(int sock, json_t *msg, const int *fds, size_t nfds,
	       struct nf_err *e)
{
	size_t len;
	char *frame = proto_frame(msg, &len);
	if (!frame)
		return nf_errf(e, EMSGSIZE,
			       "cannot encode message (or it is over %u bytes)",
			       PROTO_MAX_MSG);
	int r = send_all(sock, frame, len, fds, nfds);
	free(frame);
	if (r < 0)
		return nf_errf(e, -r, "cannot send to netd: %s", strerror(-r));
	return 0;
}

static size_t rx_max(const struct proto_rx *rx)
{
	return rx->max ? rx->max : PROTO_MAX_MSG;
}

int proto_rx_fill(struct proto_rx *rx, int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int) * PROTO_MAX_FDS)];
	/* room for what the frame under way still needs, never more than the
	 * largest frame taken (and a little to read the next header) */
	size_t want = 65536;
	if (rx->len >= 4) {
		uint32_t be;
		memcpy(&be, rx->buf, 4);
		size_t need = 4 + (size_t)ntohl(be);
		if (need <= 4 + rx_max(rx) && need > rx->len + want)
			want = need - rx->len;
	}
	if (rx->cap - rx->len < want) {
		rx->cap = rx->len + want;
		rx->buf = nf_xrealloc(rx->buf, rx->cap);
	}
	struct iovec iov = {rx->buf + rx->len, rx->cap - rx->len};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf)};
	ssize_t n;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c;
	     c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int *in = (int *)CMSG_DATA(c);
		for (size_t i = 0; i < k; i++) {
			if (!rx->no_fds && rx->nfds < PROTO_MAX_FDS) {
				rx->fds[rx->nfds++] = in[i];
				continue;
			}
			close(in[i]);
			rx->extra += !rx->no_fds;
		}
	}
	rx->len += (size_t)n;
	return (int)n;
}

int proto_rx_next(struct proto_rx *rx, json_t **msg, int *fds, size_t *nfds,
		  struct nf_err *e)
{
	uint32_t be, len;
	json_error_t je;

	if (rx->len < 4)
		return 0;
	memcpy(&be, rx->buf, 4);
	len = ntohl(be);
	if (len > rx_max(rx))
		return nf_errf(e, EMSGSIZE,
			       "message of %u bytes exceeds the limit of %zu%s",
			       len, rx_max(rx),
			       rx_max(rx) < PROTO_MAX_MSG
				       ? " for a connection that may only read"
				       : "");
	if (rx->len < 4 + (size_t)len)
		return 0;
	*msg = json_loadb(rx->buf + 4, len, JSON_REJECT_DUPLICATES, &je);
	memmove(rx->buf, rx->buf + 4 + len, rx->len - 4 - len);
	rx->len -= 4 + len;
	if (rx->cap > (1u << 20) && rx->len < 65536) {
		/* a big message is done: give its memory back */
		rx->cap = rx->len + 65536;
		rx->buf = nf_xrealloc(rx->buf, rx->cap);
	}
	if (fds && nfds) {
		memcpy(fds, rx->fds, rx->nfds * sizeof(int));
		*nfds = rx->nfds;
	} else {
		for (size_t i = 0; i < rx->nfds; i++)
			close(rx->fds[i]);
	}
	rx->nfds = 0;
	if (!*msg)
		return nf_errf(e, EBADMSG, "malformed JSON: %s (column %d)",
			       je.text, je.column);
	if (!json_is_object(*msg)) {
		json_decref(*msg);
		return nf_errf(e, EBADMSG, "a message must be a JSON object");
	}
	return 1;
}

void proto_rx_free(struct proto_rx *rx)
{
	for (size_t i = 0; i < rx->nfds; i++)
		close(rx->fds[i]);
	free(rx->buf);
	memset(rx, 0, sizeof(*rx));
}

int proto_connect(const char *path, struct nf_err *e)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int s;
	if (strlen(path) >= sizeof(sa.sun_path))
		return nf_errf(e, ENAMETOOLONG, "socket path too long: %s",
			       path);
	strcpy(sa.sun_path, path);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return nf_errf(e, errno, "socket: %s", strerror(errno));
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;
		close(s);
		return nf_errf(e, err,
			       "cannot connect to netd at %s: %s (is netd "
			       "running? --socket or NETD_SOCKET selects "
			       "another)",
			       path, strerror(err));
	}
	return s;
}

int proto_call(int sock, const char *cmd, json_t *args, json_t **reply,
	       int *fds, size_t *nfds, struct nf_err *e)
{
	return proto_call_fds(sock, cmd, args, NULL, 0, reply, fds, nfds, e);
}

int proto_call_fds(int sock, const char *cmd, json_t *args, const int *send,
		   size_t nsend, json_t **reply, int *fds, size_t *nfds,
		   struct nf_err *e)
{
	static json_int_t next_id = 1;
	json_int_t id = next_id++;
	json_t *req = json_pack("{s:I, s:s, s:o}", "id", id, "cmd", cmd, "args",
				args ? json_incref(args) : json_object());
	struct proto_rx rx = {0};
	int r;

	r = proto_send(sock, req, send, nsend, e);
	json_decref(req);
	if (r < 0)
		return r;
	for (;;) {
		r = proto_rx_next(&rx, reply, fds, nfds, e);
		if (r < 0)
			break;
		if (r == 1) {
			json_t *rid = json_object_get(*reply, "id");
			if (json_integer_value(rid) == id) {
				r = 0;
				break;
			}
			json_decref(*reply); /* an event; not ours */
			continue;
		}
		r = proto_rx_fill(&rx, sock);
		if (r == 0) {
			r = nf_errf(e, ECONNRESET,
				    "netd closed the connection");
			break;
		}
		if (r < 0) {
			r = nf_errf(e, -r, "cannot read from netd: %s",
				    strerror(-r));
			break;
		}
	}
	proto_rx_free(&rx);
	return r;
}
