/* Requests, by command name: the one entry netd's server calls. */
#ifndef DISPATCH_H
#define DISPATCH_H

#include "network.h"

/* cmd with args for the caller q: 0 and *result, a negative errno with e
 * (and maybe detail lines in *result), or REQ_LATER. */
int dispatch(struct registry *r, const char *cmd, struct request *q,
	     json_t *args, json_t **result, struct nf_err *e);

#endif
