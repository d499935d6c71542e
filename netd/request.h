/* One request as its handler sees it: who asked (credentials taken when
 * the client connected), the fds that came with it, the fds that go back
 * with the reply, and a way to answer later. A handler that must wait
 * (guests to stop, a PF driver to apply a MAC) calls req_defer, returns
 * REQ_LATER and answers through later_reply when it is done; netd keeps
 * serving everyone else meanwhile. */
#ifndef REQUEST_H
#define REQUEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../lib/nf.h"
#include "../lib/proto.h"

#define REQ_LATER 1 /* a handler's return: the reply comes later */

struct later;

struct request {
	uid_t uid;
	gid_t gid;
	pid_t pid;  /* at connect time; may have exited since */
	bool admin; /* root or the admin group */
	/* fds that came with the request; a handler that keeps one sets
	 * its slot to -1, the rest are closed after it returns */
	int in_fds[PROTO_MAX_FDS];
	size_t nin_fds;
	/* fds that go with the reply (closed here once sent) */
	int out_fds[PROTO_MAX_FDS];
	size_t nout_fds;
	/* set by the server: makes the pending reply (NULL if the server
	 * cannot defer: then the handler must answer now) */
	struct later *(*defer)(struct request *q);
	void *server;
	uint64_t client;
	json_t *id;
};

/* A reply owed; made by req_defer, ended by later_reply exactly once. */
struct later {
	void (*send)(struct later *l, json_t *reply, const int *fds,
		     size_t nfds);
	void *server;
	uint64_t client; /* the connection it goes to, if still there */
	json_t *id;
};

/* Defers q's reply (the handler then returns REQ_LATER); NULL if the
 * caller cannot wait. */
struct later *req_defer(struct request *q);
/* Sends the reply owed: result (taken) when rc >= 0, else the error in e
 * with details (taken, may be NULL); fds go along and are closed here.
 * Frees l. */
void later_reply(struct later *l, int rc, json_t *result,
		 const struct nf_err *e, json_t *details, const int *fds,
		 size_t nfds);
/* Drops a pending reply unsent (the handler answered at once after all). */
void later_drop(struct later *l);
/* The reply message for a request id: {"id", "ok", "result"|"error"}. */
json_t *req_reply_msg(json_t *id, int rc, json_t *result,
		      const struct nf_err *e, json_t *details);

#endif
