/* The guest's serial console as netvm writes it out: to a terminal or a
 * pipe as it comes, or to a file that a chatty (or hostile) guest cannot
 * grow without bound: past its cap, the oldest half goes and the file
 * holds the newest output. An attached client (netvm's serial socket)
 * gets the output too, as far as it keeps up: what it cannot take at
 * once is dropped for it, never waited for. */
#ifndef CONSOLE_H
#define CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../lib/nf.h"

#define CONSOLE_CAP_DEFAULT (4u << 20)

struct console {
	int fd;	     /* -1: output dropped */
	bool capped; /* a regular file, kept under cap */
	bool own;    /* netvm opened it (and closes it) */
	size_t cap;
	off_t size;
	char buf[4096];
	size_t n;
	int peer; /* an attached client (non-blocking socket), or -1 */
	char pbuf[4096];
	size_t pn;
};

/* spec: stdio, none, file:PATH or fd:N (an inherited fd, netd's way for
 * lab guests). cap: the most a file holds (at least 8 KiB). */
int console_open(struct console *c, const char *spec, size_t cap,
		 struct nf_err *e);
void console_put(struct console *c, uint8_t ch);
void console_flush(struct console *c);
/* What the client has not been sent yet, sent (or dropped). */
void console_flush_peer(struct console *c);
void console_close(struct console *c);

#endif
