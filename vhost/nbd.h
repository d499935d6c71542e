/* nbd: the client side of the NBD protocol (fixed newstyle, simple
 * replies), over a connected stream socket: how netvm reads a disk that
 * qemu-storage-daemon serves (qcow2 overlays, snapshots) without FUSE or
 * any path of its own. One request at a time; every reply is checked
 * (magic, cookie, the length asked for) before its data lands, as the
 * server may be run by another user than netvm's. */
#ifndef NBD_H
#define NBD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "../lib/nf.h"

enum nbd_cmd {
	NBD_READ = 0,
	NBD_WRITE = 1,
	NBD_DISC = 2,
	NBD_FLUSH = 3,
	NBD_TRIM = 4,
	NBD_WRITE_ZEROES = 6,
};

#define NBD_CMD_FLAG_NO_HOLE (1u << 1)

/* transmission flags the server gave */
#define NBD_TF_READ_ONLY    (1u << 1)
#define NBD_TF_FLUSH	    (1u << 2)
#define NBD_TF_TRIM	    (1u << 5)
#define NBD_TF_WRITE_ZEROES (1u << 6)

struct nbd {
	int fd;
	uint64_t size;	/* bytes */
	uint16_t flags; /* NBD_TF_* */
	uint64_t cookie;
	bool broken; /* the stream is out of step: every request fails */
};

/* The handshake on fd (taken: closed by nbd_close) for export `name`;
 * the export's size and flags once it is done. A refusal or a server
 * that ends the connection is an error naming what it said. */
int nbd_open(struct nbd *n, int fd, const char *name, struct nf_err *e);
/* A request and its reply: iov carries the data of a READ (filled) or a
 * WRITE (sent); len is the request's length (the iov's sum for READ and
 * WRITE). 0, or -errno (the server's error, or EIO for a broken
 * stream). */
int nbd_io(struct nbd *n, enum nbd_cmd cmd, uint16_t flags, uint64_t off,
	   uint32_t len, const struct iovec *iov, unsigned niov);
void nbd_close(struct nbd *n);

#endif
