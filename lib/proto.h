/* Control protocol: JSON messages over a unix stream socket, each framed by
 * a 4-byte big-endian length; file descriptors ride along with SCM_RIGHTS.
 * Request:  {"id": N, "cmd": "net-define", "args": {...}}
 * Reply:    {"id": N, "ok": true, "result": ...}
 *        or {"id": N, "ok": false, "error": {"code": "...", "message": "..."}}
 */
#ifndef PROTO_H
#define PROTO_H

#include <jansson.h>
#include <stddef.h>

#include "nf.h"

#define PROTO_MAX_MSG (16u << 20)
#define PROTO_MAX_FDS 16

/* Blocking send of one message with optional fds (a client's: it waits
 * for room as long as the peer takes; a server never calls it). */
int proto_send(int sock, json_t *msg, const int *fds, size_t nfds,
	       struct nf_err *e);
/* One message as it goes on the wire (length prefix and JSON); NULL if
 * it cannot be encoded or is over PROTO_MAX_MSG. Caller frees. */
char *proto_frame(json_t *msg, size_t *len);

/* Incremental receiver for one connection (blocking or not). */
struct proto_rx {
	char *buf;
	size_t len, cap;
	int fds[PROTO_MAX_FDS];
	size_t nfds;
	size_t max;   /* the largest message taken; 0: PROTO_MAX_MSG */
	bool no_fds;  /* fds that arrive are closed at once */
	size_t extra; /* fds closed because a message had too many */
};
/* Reads what is available into rx. Returns bytes read, 0 on EOF,
 * -EAGAIN when nothing is ready, or another negative errno. */
int proto_rx_fill(struct proto_rx *rx, int sock);
/* Takes one complete message if buffered: 1 and *msg set, 0 if incomplete,
 * negative on a malformed or oversized frame (oversized as soon as its
 * length is known). fds received so far are
 * moved to the caller (fds/nfds), who owns them. */
int proto_rx_next(struct proto_rx *rx, json_t **msg, int *fds, size_t *nfds,
		  struct nf_err *e);
void proto_rx_free(struct proto_rx *rx);

/* Client helper: connect, send one request, wait for its reply. */
int proto_connect(const char *path, struct nf_err *e);
int proto_call(int sock, const char *cmd, json_t *args, json_t **reply,
	       int *fds, size_t *nfds, struct nf_err *e);
/* The same, passing send[0..nsend-1] along with the request. */
int proto_call_fds(int sock, const char *cmd, json_t *args, const int *send,
		   size_t nsend, json_t **reply, int *fds, size_t *nfds,
		   struct nf_err *e);

#endif
