#define _GNU_SOURCE
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../lib/cmds.h"
#include "loop.h"
#include "../lib/proto.h"

struct outmsg {
	struct outmsg *next;
	char *buf;
	size_t len, off;
	int fds[PROTO_MAX_FDS];
	size_t nfds;
};

/* What one uid holds: connections, unfinished input, fds in flight. */
struct acct {
	uid_t uid;
	unsigned conns;
	size_t inbuf, fds;
};

struct client {
	struct server *s;
	uint64_t id;
	int fd;
	struct proto_rx rx;
	uid_t uid;
	gid_t gid;
	pid_t pid;
	bool admin, events, paused, eof, closing;
	struct outmsg *head, **tail;
	size_t out_bytes;
	uint32_t mask;
	/* what rx held when last counted into the uid's account */
	size_t counted_len, counted_fds;
};

struct server {
	struct server_opts o;
	char *path;
	int lfd, spare;
	struct client **c;
	size_t n;
	struct acct *accts;
	size_t naccts;
	unsigned max_clients;
	uint64_t next_id, reap_timer, resume_timer;
	/* refusals are logged at most every 10 s, with a count */
	time_t last_note;
	unsigned notes_skipped;
};

static void note(struct server *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void note(struct server *s, const char *fmt, ...)
{
	time_t now = time(NULL);
	if (now - s->last_note < 10) {
		s->notes_skipped++;
		return;
	}
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (s->notes_skipped)
		nf_warn("%s (and %u more refusals in the last seconds)", msg,
			s->notes_skipped);
	else
		nf_warn("%s", msg);
	s->last_note = now;
	s->notes_skipped = 0;
}

static struct acct *acct_of(struct server *s, uid_t uid)
{
	for (size_t i = 0; i < s->naccts; i++)
		if (s->accts[i].uid == uid)
			return &s->accts[i];
	struct acct a = {.uid = uid};
	NF_APPEND(s->accts, s->naccts, a);
	return &s->accts[s->naccts - 1];
}

/* Brings the uid's account up to date with what c's receiver holds. */
static void recount(struct client *c)
{
	struct acct *a = acct_of(c->s, c->uid);
	a->inbuf = a->inbuf - c->counted_len + c->rx.len;
	a->fds = a->fds - c->counted_fds + c->rx.nfds;
	c->counted_len = c->rx.len;
	c->counted_fds = c->rx.nfds;
}

/* ---------------------------------------------------------- closing */

static void free_queue(struct client *c)
{
	while (c->head) {
		struct outmsg *m = c->head;
		c->head = m->next;
		for (size_t i = 0; i < m->nfds; i++)
			close(m->fds[i]);
		free(m->buf);
		free(m);
	}
	c->tail = &c->head;
	c->out_bytes = 0;
}

static void reap(void *ctx)
{
	struct server *s = ctx;
	s->reap_timer = 0;
	for (size_t i = 0; i < s->n;) {
		struct client *c = s->c[i];
		if (!c->closing) {
			i++;
			continue;
		}
		s->c[i] = s->c[--s->n];
		free(c);
	}
}

/* Closes c at once as far as the loop and the kernel are concerned; the
 * struct goes at the end of this loop round, so whoever is using it on
 * the stack (a handler emitting an event, say) stays safe. */
static void client_close(struct client *c)
{
	if (c->closing)
		return;
	c->closing = true;
	loop_unwatch(c->fd);
	close(c->fd);
	struct acct *a = acct_of(c->s, c->uid);
	a->inbuf -= c->counted_len;
	a->fds -= c->counted_fds;
	a->conns--;
	c->counted_len = c->counted_fds = 0;
	proto_rx_free(&c->rx); /* and the fds it held */
	free_queue(c);
	if (!c->s->reap_timer)
		c->s->reap_timer = loop_after(0, reap, c->s);
}

/* ---------------------------------------------------------- sending */

static void update_mask(struct client *c)
{
	if (c->closing)
		return;
	uint32_t m =
		(c->paused || c->eof ? 0 : EPOLLIN) | (c->head ? EPOLLOUT : 0);
	if (m != c->mask && loop_events(c->fd, m) == 0)
		c->mask = m;
}

/* Writes what the socket takes now; never waits. */
static void flush(struct client *c)
{
	while (c->head && !c->closing) {
		struct outmsg *m = c->head;
		struct iovec iov = {m->buf + m->off, m->len - m->off};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
		char cbuf[CMSG_SPACE(sizeof(int) * PROTO_MAX_FDS)];
		if (m->nfds) {
			memset(cbuf, 0, sizeof(cbuf));
			mh.msg_control = cbuf;
			mh.msg_controllen = CMSG_SPACE(sizeof(int) * m->nfds);
			struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int) * m->nfds);
			memcpy(CMSG_DATA(cm), m->fds, sizeof(int) * m->nfds);
		}
		ssize_t n = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0) {
			nf_debug("client uid %u pid %d: %s; closed",
				 (unsigned)c->uid, (int)c->pid,
				 strerror(errno));
			client_close(c);
			return;
		}
		for (size_t i = 0; i < m->nfds; i++)
			close(m->fds[i]); /* they went with the first byte */
		m->nfds = 0;
		m->off += (size_t)n;
		c->out_bytes -= (size_t)n;
		if (m->off < m->len)
			continue;
		c->head = m->next;
		if (!c->head)
			c->tail = &c->head;
		free(m->buf);
		free(m);
	}
	if (c->closing)
		return;
	if (c->paused && c->out_bytes < SRV_OUT_HIGH / 2)
		c->paused = false;
	if (c->eof && !c->head) {
		client_close(c);
		return;
	}
	update_mask(c);
}

/* Queues msg (and dups of fds) for c. */
static void enqueue(struct client *c, json_t *msg, const int *fds, size_t nfds)
{
	size_t len;
	char *frame = proto_frame(msg, &len);
	if (!frame) {
		nf_err_log("a reply to uid %u could not be encoded; closed",
			   (unsigned)c->uid);
		client_close(c);
		return;
	}
	struct outmsg *m = nf_xcalloc(1, sizeof(*m));
	m->buf = frame;
	m->len = len;
	for (size_t i = 0; i < nfds && i < PROTO_MAX_FDS; i++) {
		int d = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
		if (d < 0) {
			nf_err_log("cannot pass an fd to uid %u: %s",
				   (unsigned)c->uid, strerror(errno));
			continue;
		}
		m->fds[m->nfds++] = d;
	}
	*c->tail = m;
	c->tail = &m->next;
	c->out_bytes += len;
	if (c->out_bytes > SRV_OUT_HIGH)
		c->paused = true; /* it reads its replies first */
}

static struct client *client_by_id(struct server *s, uint64_t id)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->c[i]->id == id && !s->c[i]->closing)
			return s->c[i];
	return NULL;
}

static void later_send(struct later *l, json_t *msg, const int *fds,
		       size_t nfds)
{
	struct client *c = client_by_id(l->server, l->client);
	if (!c)
		return; /* it went away meanwhile */
	enqueue(c, msg, fds, nfds);
	flush(c);
}

static struct later *defer(struct request *q)
{
	struct later *l = nf_xcalloc(1, sizeof(*l));
	l->send = later_send;
	l->server = q->server;
	l->client = q->client;
	l->id = json_incref(q->id);
	return l;
}

void server_emit(struct server *s, const char *event, const char *network,
		 const char *port)
{
	json_t *ev = json_pack("{s:s, s:s, s:I}", "event", event, "network",
			       network, "time", (json_int_t)time(NULL));
	if (port)
		json_object_set_new(ev, "port", json_string(port));
	for (size_t i = 0; i < s->n; i++) {
		struct client *c = s->c[i];
		if (!c->events || c->closing)
			continue;
		if (c->out_bytes > s->o.events_max) {
			nf_warn("event subscriber uid %u pid %d does not read "
				"its events (%zu bytes queued): disconnected",
				(unsigned)c->uid, (int)c->pid, c->out_bytes);
			client_close(c);
			continue;
		}
		enqueue(c, ev, NULL, 0);
		flush(c);
	}
	json_decref(ev);
}

/* ---------------------------------------------------------- requests */

static void dispatch(struct client *c, json_t *req, int *fds, size_t nfds)
{
	struct server *s = c->s;
	json_t *id = json_object_get(req, "id"), *args, *result = NULL;
	const char *cmd = json_string_value(json_object_get(req, "cmd"));
	struct nf_err e = {0};
	struct request q = {.uid = c->uid,
			    .gid = c->gid,
			    .pid = c->pid,
			    .admin = c->admin,
			    .defer = defer,
			    .server = s,
			    .client = c->id,
			    .id = id};
	int rc;
	memcpy(q.in_fds, fds, nfds * sizeof(int));
	q.nin_fds = nfds;
	args = json_object_get(req, "args");
	if (!cmd) {
		rc = nf_errf(&e, EINVAL, "request without a \"cmd\" string");
	} else if (nf_cmd_find(cmd) == NF_CMD_EVENT_SUBSCRIBE) {
		c->events = true;
		result = json_object();
		rc = 0;
	} else if (args && !json_is_object(args)) {
		rc = nf_errf(&e, EINVAL, "\"args\" must be an object");
	} else {
		json_t *a = args ? json_incref(args) : json_object();
		uint64_t t0 = nf_now_ns();
		rc = s->o.handle(s->o.ctx, cmd, a, &q, &result, &e);
		json_decref(a);
		nf_debug("%s by uid %u: %s in %.3f ms", cmd, (unsigned)c->uid,
			 rc == REQ_LATER ? "answered later"
			 : rc < 0	 ? "failed"
					 : "ok",
			 (double)(nf_now_ns() - t0) / 1e6);
	}
	for (size_t i = 0; i < q.nin_fds; i++)
		if (q.in_fds[i] >= 0)
			close(q.in_fds[i]);
	if (rc != REQ_LATER && !c->closing) {
		json_t *rep = req_reply_msg(id, rc, rc < 0 ? NULL : result, &e,
					    rc < 0 ? result : NULL);
		enqueue(c, rep, rc < 0 ? NULL : q.out_fds,
			rc < 0 ? 0 : q.nout_fds);
		json_decref(rep);
	} else if (rc != REQ_LATER) {
		json_decref(result);
	}
	for (size_t i = 0; i < q.nout_fds; i++)
		close(q.out_fds[i]);
}

/* Answers every complete message buffered, while the client reads its
 * replies. */
static void serve_buffered(struct client *c)
{
	while (!c->paused && !c->closing) {
		json_t *req = NULL;
		struct nf_err e = {0};
		int fds[PROTO_MAX_FDS];
		size_t nfds = 0;
		int r = proto_rx_next(&c->rx, &req, fds, &nfds, &e);
		recount(c);
		if (r == 0)
			break;
		if (r < 0) {
			/* framing is lost: answer once, then hang up */
			for (size_t i = 0; i < nfds; i++)
				close(fds[i]);
			json_t *rep = req_reply_msg(NULL, r, NULL, &e, NULL);
			enqueue(c, rep, NULL, 0);
			json_decref(rep);
			c->eof = true;
			break;
		}
		dispatch(c, req, fds, nfds);
		json_decref(req);
		flush(c);
	}
}

static void refuse(struct client *c, const char *why)
{
	struct nf_err e;
	nf_errf(&e, EBUSY, "%s", why);
	json_t *rep = req_reply_msg(NULL, -EBUSY, NULL, &e, NULL);
	enqueue(c, rep, NULL, 0);
	json_decref(rep);
	note(c->s, "client uid %u pid %d: %s; disconnected", (unsigned)c->uid,
	     (int)c->pid, why);
	c->eof = true;
	flush(c);
	client_close(c); /* whatever did not fit is not waited for */
}

static void client_io(void *ctx, uint32_t events)
{
	struct client *c = ctx;
	if (events & EPOLLOUT)
		flush(c);
	/* a bounded amount per round: one busy client cannot hold the loop */
	for (int round = 0; round < 8 && !c->closing && !c->paused && !c->eof &&
			    (events & (EPOLLIN | EPOLLHUP | EPOLLERR));
	     round++) {
		int n = proto_rx_fill(&c->rx, c->fd);
		if (n == -EAGAIN)
			break;
		if (n <= 0) {
			c->eof = true; /* what is queued still goes out */
			break;
		}
		recount(c);
		struct acct *a = acct_of(c->s, c->uid);
		if (c->rx.extra) {
			refuse(c, "more than 16 fds in one message");
			return;
		}
		if (c->uid && a->inbuf > SRV_UID_INBUF_MAX) {
			refuse(c, "too much unfinished input from this uid");
			return;
		}
		if (c->uid && a->fds > SRV_UID_FDS_MAX) {
			refuse(c, "too many fds in flight from this uid");
			return;
		}
		serve_buffered(c);
	}
	if (c->closing)
		return;
	serve_buffered(c); /* after a pause ended */
	if (c->eof && !c->head)
		client_close(c);
	else
		update_mask(c);
}

/* ---------------------------------------------------------- accepting */

static bool in_group(const gid_t *g, size_t n, gid_t want)
{
	for (size_t i = 0; i < n; i++)
		if (g[i] == want)
			return true;
	return false;
}

/* Root, or the admin group as primary or supplementary group, as the
 * peer had them when it connected (not as a pid has them now). */
static bool peer_admin(struct server *s, int fd, const struct ucred *cr)
{
	if (cr->uid == 0)
		return true;
	if (!s->o.have_admin_group)
		return false;
	if (cr->gid == s->o.admin_gid)
		return true;
	gid_t small[64], *g = small;
	socklen_t l = sizeof(small);
	int r = getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &l);
	if (r < 0 && errno == ERANGE) {
		g = nf_xmalloc(l);
		r = getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &l);
	}
	bool ok = r == 0 && in_group(g, l / sizeof(gid_t), s->o.admin_gid);
	if (g != small)
		free(g);
	return ok;
}

static void resume_listen(void *ctx)
{
	struct server *s = ctx;
	s->resume_timer = 0;
	loop_events(s->lfd, EPOLLIN);
}

/* The fd table is full: take the newest connection off the queue with
 * the spare fd and close it, so accept does not fail over and over; if
 * even that fails, stop listening for 100 ms. */
static void shed(struct server *s)
{
	if (s->spare >= 0) {
		close(s->spare);
		int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			close(fd);
		s->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	note(s, "the fd table is full (%s): a new connection was closed",
	     strerror(EMFILE));
	if (s->spare < 0 && !s->resume_timer) {
		loop_events(s->lfd, 0);
		s->resume_timer = loop_after(100, resume_listen, s);
	}
}

static void add_client(struct server *s, int fd)
{
	struct ucred cr;
	socklen_t l = sizeof(cr);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l) < 0) {
		close(fd);
		return;
	}
	struct client *c = nf_xcalloc(1, sizeof(*c));
	c->s = s;
	c->id = ++s->next_id;
	c->fd = fd;
	c->uid = cr.uid;
	c->gid = cr.gid;
	c->pid = cr.pid;
	c->admin = peer_admin(s, fd, &cr);
	c->tail = &c->head;
	c->mask = EPOLLIN;
	if (!c->admin) { /* it may only read: small requests, no fds */
		c->rx.max = SRV_RO_MAX_MSG;
		c->rx.no_fds = true;
	}
	NF_APPEND(s->c, s->n, c);
	struct acct *a = acct_of(s, c->uid);
	a->conns++;
	if (loop_watch_io(fd, EPOLLIN, client_io, c) < 0) {
		client_close(c);
		return;
	}
	if (!c->uid)
		return;
	unsigned others = 0;
	for (size_t i = 0; i < s->naccts; i++)
		others += s->accts[i].uid ? s->accts[i].conns : 0;
	if (a->conns > SRV_PER_UID)
		refuse(c, "too many connections from this uid");
	else if (others > s->max_clients)
		refuse(c, "too many connections");
}

static void accept_clients(void *ctx)
{
	struct server *s = ctx;
	for (int i = 0; i < 64; i++) {
		int fd = accept4(s->lfd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			add_client(s, fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EMFILE || errno == ENFILE)
			shed(s);
		return;
	}
}

int server_open(struct server **out, const struct server_opts *o,
		struct nf_err *e)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(o->path) >= sizeof(sa.sun_path))
		return nf_errf(e, ENAMETOOLONG, "socket path too long: %s",
			       o->path);
	strcpy(sa.sun_path, o->path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return nf_errf(e, errno, "socket: %s", strerror(errno));
	unlink(o->path); /* we hold the lock: any socket file here is stale */
	/* every local user may connect (and read); the mode is set before
	 * the path exists, so no one ever sees it otherwise */
	mode_t old = umask(0111);
	int b = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (b < 0 || listen(fd, 256) < 0) {
		int err = errno;
		close(fd);
		return nf_errf(e, err, "cannot listen on %s: %s", o->path,
			       strerror(err));
	}
	struct server *s = nf_xcalloc(1, sizeof(*s));
	s->o = *o;
	if (!s->o.events_max)
		s->o.events_max = SRV_EVENTS_MAX;
	s->path = nf_xstrdup(o->path);
	s->lfd = fd;
	s->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
	struct rlimit rl;
	s->max_clients = SRV_MAX_CLIENTS;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur / 2 < s->max_clients)
		s->max_clients = (unsigned)(rl.rlim_cur / 2);
	if (loop_watch(fd, accept_clients, s) < 0) {
		server_close(s);
		return nf_errf(e, EIO, "cannot watch the control socket");
	}
	*out = s;
	return 0;
}

void server_close(struct server *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		client_close(s->c[i]);
	reap(s);
	if (s->reap_timer)
		loop_cancel(s->reap_timer);
	if (s->resume_timer)
		loop_cancel(s->resume_timer);
	loop_unwatch(s->lfd);
	close(s->lfd);
	if (s->spare >= 0)
		close(s->spare);
	unlink(s->path);
	free(s->path);
	free(s->c);
	free(s->accts);
	free(s);
}
