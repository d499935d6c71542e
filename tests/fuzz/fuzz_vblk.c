/* libFuzzer target for virtio-blk's request handling: the input is the
 * guest - queue size, ring addresses, feature bits, the disk read-only or
 * not, and the bytes of guest RAM (rings, descriptors, request headers,
 * discard segments, data). Each chain the virtqueue pops is served by
 * vblk_request against a 64 KiB image in a memfd, as netvm's request
 * thread serves it. Guest RAM is an exact-size heap block and the image
 * a file of exact size, so ASan reports any access outside RAM and a
 * check after each run reports any image write outside the disk (the
 * file grew). The transport is not under test here: its few calls are
 * stubs. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "../../vhost/virtio_blk.h"

#define MEM  (16 * 1024)
#define DISK (64 * 1024)

int vpci_init(struct vpci_dev *d, struct vm *vm, const char *name,
	      uint16_t device_id, uint32_t class, uint64_t features,
	      unsigned nq, const struct vpci_ops *ops, void *opaque,
	      struct nf_err *e)
{
	(void)d, (void)vm, (void)name, (void)device_id, (void)class;
	(void)features, (void)nq, (void)ops, (void)opaque, (void)e;
	return -1;
}
void vpci_fini(struct vpci_dev *d)
{
	(void)d;
}
void vpci_complete(struct vpci_dev *d, unsigned q)
{
	(void)d, (void)q;
}
void vpci_set_broken(struct vpci_dev *d, const char *why)
{
	(void)d, (void)why;
}

static struct vblk b;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 16)
		return 0;
	static int fd = -1;
	if (fd < 0)
		fd = memfd_create("fuzz-vblk", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, 0) < 0 || ftruncate(fd, DISK) < 0)
		abort();
	uint8_t *mem = calloc(1, MEM);
	memcpy(mem, data + 16, size - 16 < MEM ? size - 16 : MEM);
	uint16_t v[8];
	memcpy(v, data, 16);
	struct virtq *q = &b.dev.q[0].vq;
	memset(q, 0, sizeof(*q));
	q->num = v[0] & 0x7ff;
	q->desc_gpa = v[1] % (MEM + 64);
	q->avail_gpa = v[2] % (MEM + 64);
	q->used_gpa = v[3] % (MEM + 64);
	q->event_idx = v[4] & 1;
	q->indirect = v[4] & 2;
	q->mem = mem;
	q->mem_size = MEM;
	b.fd = fd;
	b.size = DISK;
	b.readonly = v[4] & 4;
	b.dev.acked = v[4] & 8 ? 1ull << 9 : 0; /* FLUSH */
	memcpy(b.serial, "fuzz", 5);
	if (virtq_start(q) == 0)
		for (int round = 0; round < 64; round++) {
			int r = virtq_pop(q, &b.chain);
			if (r <= 0)
				break;
			virtq_push(q, b.chain.head, vblk_request(&b, &b.chain));
			virtq_publish(q);
		}
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_size != DISK)
		abort(); /* written past the disk's end */
	free(mem);
	return 0;
}
