/* net-update (update.c): libvirt's live and persistent changes. */
#ifndef UPDATE_H
#define UPDATE_H

#include "network.h"

int net_update(struct registry *r, struct request *q, json_t *args,
	       json_t **res, struct nf_err *e);

/* net-desc, net-metadata: a network's title, description or one
 * <metadata> element, set or removed, live and/or in its definition. */
int net_metadata(struct registry *r, struct request *q, json_t *args,
		 json_t **res, struct nf_err *e);

#endif
