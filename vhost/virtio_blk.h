/* virtio_blk: a virtio-blk device on virtio-pci backed by a raw image (a
 * file or a block device, given as an open fd): one request queue served
 * by a thread of its own, reads and writes going straight between the
 * image and guest memory (preadv/pwritev of the chain's buffers), or
 * through an NBD server (qemu-storage-daemon's, for qcow2). Offers
 * VERSION_1, EVENT_IDX, INDIRECT_DESC, SEG_MAX, BLK_SIZE, FLUSH (an
 * fdatasync), DISCARD (a hole punched), WRITE_ZEROES (a range zeroed),
 * GET_ID (the serial) and RO for a read-only disk.
 *
 * Every request is checked before it touches the image, the way a
 * hostile driver would be met: the header read once into host memory, the
 * status byte where the spec puts it (the last device-writable byte),
 * sector and length inside the disk without overflow, lengths in whole
 * sectors and not zero, discard/write-zeroes segments within the limits
 * offered. A request that fails any of them gets IOERR (UNSUPP for a type
 * not offered); a chain too short to carry a status is returned untouched.
 * Nothing a guest writes can make netvm read or write outside the image's
 * [0, size) or outside guest RAM (the chain's buffers, checked by virtq). */
#ifndef VIRTIO_BLK_H
#define VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "nbd.h"
#include "virtio_pci.h"

#define VBLK_SERIAL_LEN 20 /* VIRTIO_BLK_ID_BYTES */

struct vblk {
	struct vpci_dev dev;
	char name[32];
	char serial[VBLK_SERIAL_LEN + 1];
	int fd;	     /* the image; -1 when remote */
	bool remote; /* served by an NBD server instead */
	struct nbd nbd;
	uint64_t size; /* bytes, a whole number of sectors */
	bool readonly, block_dev;
	/* the request thread */
	pthread_t thread;
	int epfd, stopfd;
	bool running;
	struct virtq_chain chain;
	uint64_t reqs, errors; /* requests served, of them refused */
};

/* Takes ownership of fd (an image opened by the caller: netvm itself or
 * whoever passed it); readonly: writes, discards and write-zeroes fail
 * and the guest is told (RO). serial may be NULL (then the device name).
 * The image's size is its length (a file) or the device's (BLKGETSIZE64);
 * a tail short of a whole sector is not offered. */
int vblk_create(struct vblk *b, struct vm *vm, const char *name, int fd,
		bool readonly, const char *serial, struct nf_err *e);
/* The same for an NBD export: fd a connected socket (taken), export the
 * export's name; its size is the server's, and it is offered DISCARD
 * only when the server trims. */
int vblk_create_nbd(struct vblk *b, struct vm *vm, const char *name, int fd,
		    const char *export, bool readonly, const char *serial,
		    struct nf_err *e);
void vblk_destroy(struct vblk *b);

/* One popped chain served (what the request thread does for each): the
 * request checked and carried out, its status written; returns the bytes
 * written into the chain's device-writable buffers, for virtq_push. For
 * the fuzz target as for the thread. */
uint32_t vblk_request(struct vblk *b, const struct virtq_chain *c);

#endif
