/* The network registry: every network netd knows, persistent or transient,
 * with its definition(s) and state; and the net-* requests on it. */
#ifndef NETWORK_H
#define NETWORK_H

#include <jansson.h>
#include <stdbool.h>

#include "netxml.h"
#include "store.h"

struct network {
	struct netxml *def;  /* persistent definition; NULL when transient */
	struct netxml *live; /* running definition; NULL when inactive */
	bool autostart;
};

struct registry {
	struct network **nets;
	size_t n;
	struct store config;
};

int registry_open(struct registry *r, const char *config_dir, struct nf_err *e);
void registry_close(struct registry *r);

/* Finds by name or by UUID string. */
struct network *registry_find(struct registry *r, const char *name_or_uuid);
/* The definition that describes the network now (live if active). */
const struct netxml *network_current(const struct network *n);
const char *network_name(const struct network *n);

/* Request handlers: args in, result out, or an error with its message. */
typedef int (*handler_fn)(struct registry *r, json_t *args, json_t **result,
			  struct nf_err *e);
struct handler {
	const char *cmd;
	handler_fn fn;
	bool writes; /* needs root or the admin group */
};
const struct handler *network_handler(const char *cmd);

#endif
