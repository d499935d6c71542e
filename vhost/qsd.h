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
#include <stdint.h>

#include "../lib/nf.h"

enum qsd_format { QSD_RAW, QSD_QCOW2, QSD_DETECT };

#define QSD_EXPORT "disk0" /* the NBD export's name */

/* The image at path served; *fd a connected NBD socket on which the
 * daemon has greeted (its greeting still unread, for vblk_create_nbd).
 * The supervisor lives until netvm exits. */
int qsd_open(const char *path, enum qsd_format format, bool readonly,
	     bool snapshot, int *fd, struct nf_err *e);

/* A listening unix socket that no one can connect to any more, and the
 * one connection made to it; both close-on-exec. dir: where the socket is
 * bound for that moment (a private dir made in it and removed). */
int qsd_socket(const char *dir, int *listener, int *conn, struct nf_err *e);

/* The format of the image open at fd (fmt QSD_DETECT: by its first
 * bytes, as QEMU would: qcow2's magic or raw) and its virtual size: a
 * raw image's length, a qcow2 header's size field. -errno with why. */
int qsd_image(int fd, enum qsd_format *fmt, uint64_t *size, struct nf_err *e);

/* A new qcow2 overlay at path over backing (its backing file as the
 * overlay records it; format bfmt). size 0: qemu-img opens backing for
 * its size; otherwise backing is not opened at all (-u), only named. */
int qsd_overlay(const char *path, const char *backing, enum qsd_format bfmt,
		uint64_t size, struct nf_err *e);

/* qemu-storage-daemon's command line serving `file` (a path, or
 * /proc/self/fd/N for an inherited fd) in format fmt as QSD_EXPORT on the
 * listening socket fd lfd. backing (NULL: whatever the image's header
 * names) is the qcow2 image's backing file, read-only, in format bfmt.
 * The strings are c's. */
/* The supervisor's part, in a process of its own (netvm's child, or one
 * netd starts for a lab guest as the user who brought the lab up): runs
 * the daemon (argv) with fds[0..n) as its 3.. (closed here), keeps the
 * start of what it prints, and if it ends first writes that as a line to
 * report; when life reads EOF (its writer, netvm, is gone, however it
 * ended) it stops the daemon. Then removes overlay and dir (either may
 * be NULL) and exits. */
_Noreturn void qsd_supervise(char *const argv[], int life, int report,
			     const int *fds, unsigned n, const char *dir,
			     const char *overlay);

struct qsd_cmd {
	char *argv[16];
	char s[6][PATH_MAX + 128];
};
void qsd_cmd(struct qsd_cmd *c, const char *file, enum qsd_format fmt,
	     bool readonly, const char *backing, enum qsd_format bfmt, int lfd);

#endif
