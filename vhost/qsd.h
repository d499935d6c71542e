/* qsd: an image QEMU's block layer serves, for virtio_blk to read and
 * write as a raw file: qemu-storage-daemon opens it (qcow2 with its
 * backing chain, or raw) and exports it through FUSE on a file in a
 * private directory, which netvm opens. With snapshot, the daemon serves
 * a temporary qcow2 overlay over the image instead (made by qemu-img),
 * so the image itself never changes and the guest's writes go when
 * netvm does.
 *
 * netvm supervises the daemon from a process of its own, forked before
 * netvm confines itself: it starts the daemon, says when the export is
 * there (or what the daemon printed when it is not), and when netvm ends
 * - however it ends: it holds the other end of a pipe - stops the daemon
 * and removes the overlay, the export file and the directory. */
#ifndef QSD_H
#define QSD_H

#include <stdbool.h>

#include "../lib/nf.h"

enum qsd_format { QSD_RAW, QSD_QCOW2 };

/* The image at path served; *fd the export, opened read-write or, with
 * readonly, read-only. The supervisor lives until netvm exits. */
int qsd_open(const char *path, enum qsd_format format, bool readonly,
	     bool snapshot, int *fd, struct nf_err *e);

#endif
