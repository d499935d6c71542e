#define _GNU_SOURCE
#include "request.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

json_t *req_reply_msg(json_t *id, int rc, json_t *result,
		      const struct nf_err *e, json_t *details)
{
	if (rc >= 0) {
		json_decref(details);
		return json_pack("{s:O?, s:b, s:o}", "id", id, "ok", 1,
				 "result", result ? result : json_null());
	}
	json_decref(result);
	int code = -rc;
	json_t *r = json_pack("{s:O?, s:b, s:{s:s, s:s}}", "id", id, "ok", 0,
			      "error", "code", nf_err_codename(code), "message",
			      e && e->msg[0] ? e->msg : strerror(code));
	/* a failing handler may give an array of lines (every problem of a
	 * lab file, say): they go along as the error's details */
	if (json_is_array(details))
		json_object_set(json_object_get(r, "error"), "details",
				details);
	json_decref(details);
	return r;
}

struct later *req_defer(struct request *q)
{
	return q->defer ? q->defer(q) : NULL;
}

void later_reply(struct later *l, int rc, json_t *result,
		 const struct nf_err *e, json_t *details, const int *fds,
		 size_t nfds)
{
	json_t *msg = req_reply_msg(l->id, rc, result, e, details);
	l->send(l, msg, fds, rc < 0 ? 0 : nfds);
	for (size_t i = 0; i < nfds; i++)
		close(fds[i]);
	json_decref(msg);
	json_decref(l->id);
	free(l);
}

void later_drop(struct later *l)
{
	json_decref(l->id);
	free(l);
}
