/* net-update (update.c): libvirt's live and persistent changes. */
#ifndef UPDATE_H
#define UPDATE_H

#include "network.h"

int net_update(struct registry *r, struct request *q, json_t *args,
	       json_t **res, struct nf_err *e);

#endif
