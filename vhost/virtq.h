/* virtq: the device side of a virtio 1.x split virtqueue, written for a
 * hostile driver. Every ring index, descriptor address, length and chain is
 * checked against guest RAM and the queue size; each descriptor is read
 * once into host memory before use; a chain is capped at the queue size
 * (indirect tables included). A queue that breaks a rule is marked broken
 * with the reason and never touched again until the driver resets it. */
#ifndef VIRTQ_H
#define VIRTQ_H

#include <stdbool.h>
#include <linux/virtio_ring.h>
#include <stdint.h>
#include <sys/uio.h>

#define VIRTQ_MAX_SIZE 1024 /* largest queue_size netvm offers */

struct virtq {
	/* written by the driver through the transport */
	uint16_t num;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	/* guest RAM the queue may reference */
	uint8_t *mem;
	uint64_t mem_size;
	bool event_idx, indirect;
	/* device state */
	volatile struct vring_desc *desc;
	volatile struct vring_avail *avail;
	volatile struct vring_used *used;
	uint16_t last_avail, used_idx, signalled;
	bool broken;
	char why[96];
};

/* One chain popped from the avail ring: the device-readable buffers come
 * first (out), then the device-writable ones (in). */
struct virtq_chain {
	uint16_t head;
	unsigned nout, nin;
	uint64_t out_len, in_len;
	struct iovec iov[VIRTQ_MAX_SIZE];
};

/* Checks the rings lie in guest RAM, aligned, and binds them. 0, or -1
 * with the queue marked broken. */
int virtq_start(struct virtq *q);
/* 1 with a chain, 0 when the ring is empty, -1 when the queue is (now)
 * broken. */
int virtq_pop(struct virtq *q, struct virtq_chain *c);
/* Returns the chain's head with len bytes written into its in-buffers.
 * The driver sees pushed chains at the next virtq_publish (so a packet
 * spread over several chains appears at once). */
void virtq_push(struct virtq *q, uint16_t head, uint32_t len);
void virtq_publish(struct virtq *q);
/* Puts the last n popped (not pushed) chains back. */
void virtq_unpop(struct virtq *q, unsigned n);
/* After pushes: does the driver want an interrupt (EVENT_IDX or the
 * NO_INTERRUPT flag)? */
bool virtq_need_interrupt(struct virtq *q);
/* Asks the driver to kick on new buffers; true if buffers arrived
 * meanwhile (the caller keeps going instead of sleeping). */
bool virtq_enable_kicks(struct virtq *q);
void virtq_disable_kicks(struct virtq *q);
/* Copies len bytes from the chain's out-buffers, skipping skip bytes;
 * returns how many were copied. */
uint64_t virtq_copy_out(const struct virtq_chain *c, uint64_t skip, void *dst,
			uint64_t len);
/* Copies into the chain's in-buffers from offset skip; returns bytes. */
uint64_t virtq_copy_in(const struct virtq_chain *c, uint64_t skip,
		       const void *src, uint64_t len);

#endif
