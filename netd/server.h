/* The control socket: connections, their credentials (taken at connect,
 * SO_PEERCRED and SO_PEERGROUPS), framing, and the limits that keep one
 * client from stalling, starving or bloating netd.
 *
 * netd never blocks on a client: every reply and event goes into the
 * client's own outbound queue, written as the socket takes it. A client
 * whose queue is over SRV_OUT_HIGH is not read from (it gets its replies
 * first); an event subscriber whose queue passes SRV_EVENTS_MAX is
 * disconnected and logged. Connections are limited in number (total and
 * per uid), in the bytes of an unfinished message (small for read-only
 * clients) and in the fds a message brings; when the fd table is full the
 * listener sheds the newest connection instead of spinning. */
#ifndef SERVER_H
#define SERVER_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "../lib/nf.h"
#include "request.h"

#define SRV_OUT_HIGH	  (1u << 20)  /* stop reading a client past this */
#define SRV_EVENTS_MAX	  (4u << 20)  /* a lagging subscriber is dropped */
#define SRV_RO_MAX_MSG	  (64u << 10) /* a read-only client's requests */
#define SRV_UID_INBUF_MAX (64u << 20) /* unfinished input of one uid */
#define SRV_UID_FDS_MAX	  64	      /* fds of one uid held in flight */
#define SRV_PER_UID	  64	      /* connections of one non-root uid */
#define SRV_MAX_CLIENTS	  1024	      /* connections of non-root uids */

struct server;

/* Handles one request: 0 and *result, or a negative errno with e set
 * (and in *result an array of detail lines, if any), or REQ_LATER. */
typedef int (*server_handler)(void *ctx, const char *cmd, json_t *args,
			      struct request *q, json_t **result,
			      struct nf_err *e);

struct server_opts {
	const char *path;
	bool have_admin_group;
	gid_t admin_gid;
	size_t events_max; /* 0: SRV_EVENTS_MAX */
	server_handler handle;
	void *ctx;
};

int server_open(struct server **out, const struct server_opts *o,
		struct nf_err *e);
void server_close(struct server *s);
/* Lifecycle events to every subscribed client, as messages without an
 * id: {"event": "started", "network": "default", "time": ...}. */
/* An event to every subscriber: lifecycle (port NULL) or a port's */
void server_emit(struct server *s, const char *event, const char *network,
		 const char *port);

#endif
