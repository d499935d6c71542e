/* qsd: an image QEMU's block layer serves, for virtio_blk to read and
 * write over NBD: qemu-storage-daemon opens it (qcow2 with its backing
 * chain, or raw) and serves it as an NBD export on a unix socket nobody
 * else can reach (bound in a private directory, connected, unlinked; the
 * daemon only accepts on the listening fd it inherits). With snapshot,
 * the daemon serves a temporary qcow2 overlay over the image instead
 * (made by qemu-img), so the image itself never changes and the guest's
 * writes go when netvm does.
 *
 * netvm supervises the daemon from a process of its own, forked before
 * netvm confines itself: it starts the daemon, reports what the daemon
 * printed if it ends before netvm, and when netvm ends - however it ends:
 * it holds the other end of a pipe - stops the daemon and removes the
 * overlay and the directory. netd uses the socket and the command line
 * for lab guests, whose daemon it runs as the user who brought the lab up
 * (qsd_socket, qsd_cmd). */
#ifndef QSD_H
#define QSD_H

#include <limits.h>
#include <stdbool.h>

#include "../lib/nf.h"

enum qsd_format { QSD_RAW, QSD_QCOW2 };

#define QSD_EXPORT "disk0" /* the NBD export's name */

/* The image at path served; *fd a connected NBD socket on which the
 * daemon has greeted (its greeting still unread, for vblk_create_nbd).
 * The supervisor lives until netvm exits. */
int qsd_open(const char *path, enum qsd_format format, bool readonly,
	     bool snapshot, int *fd, struct nf_err *e);

/* A listening unix socket that no one can connect to any more, and the
 * one connection made to it; both close-on-exec. */
int qsd_socket(int *listener, int *conn, struct nf_err *e);

/* qemu-storage-daemon's command line serving `file` (a path, or
 * /proc/self/fd/N for an inherited fd) in format fmt as QSD_EXPORT on the
 * listening socket fd lfd. backing (NULL: whatever the image's header
 * names) is the qcow2 image's backing file, read-only, in format bfmt.
 * The strings are c's. */
struct qsd_cmd {
	char *argv[16];
	char s[6][PATH_MAX + 128];
};
void qsd_cmd(struct qsd_cmd *c, const char *file, enum qsd_format fmt,
	     bool readonly, const char *backing, enum qsd_format bfmt, int lfd);

#endif
