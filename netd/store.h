/* Definition store: one XML file per persistent network in the config dir,
 * written atomically; autostart marks as symlinks in config/autostart/
 * (libvirt's layout). Files that do not parse, or whose <name> does not
 * match the file name, are reported and left alone: never deleted, never
 * overwritten. */
#ifndef STORE_H
#define STORE_H

#include <stdbool.h>

#include "netxml.h"

struct store {
	char *dir;
	char **foreign; /* file names skipped at load: never written */
	size_t nforeign;
};

int store_open(struct store *s, const char *dir, struct nf_err *e);
void store_close(struct store *s);

/* Calls cb for every valid definition; cb takes ownership of nx. */
typedef void (*store_load_cb)(struct netxml *nx, bool autostart, void *ctx);
int store_load(struct store *s, store_load_cb cb, void *ctx);

/* Writes nx's text (netxml_text: formatted once, kept with nx). */
int store_save(struct store *s, struct netxml *nx, struct nf_err *e);
int store_delete(struct store *s, const char *name, struct nf_err *e);
int store_set_autostart(struct store *s, const char *name, bool on,
			struct nf_err *e);
bool store_autostart(struct store *s, const char *name);

#endif
