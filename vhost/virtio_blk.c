#define _GNU_SOURCE
#include "virtio_blk.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define F(x)	  (1ull << (x))
#define SECTOR	  512u
#define HDR	  sizeof(struct virtio_blk_outhdr)
#define SEG	  sizeof(struct virtio_blk_discard_write_zeroes)
#define SEG_MAX	  (VIRTQ_MAX_SIZE - 2) /* data buffers beside header, status */
#define RANGE_MAX (1u << 22)	       /* sectors a discard may span: 2 GiB */
#define BATCH	  32

static struct vblk *blk_of(struct vpci_dev *d)
{
	return d->opaque;
}

static void dev_cfg(struct vpci_dev *d, uint64_t off, uint8_t *data,
		    unsigned len, bool write)
{
	struct vblk *b = blk_of(d);
	struct virtio_blk_config c = {0};
	if (write)
		return; /* writeback toggling (CONFIG_WCE) is not offered */
	c.capacity = b->size / SECTOR;
	c.seg_max = SEG_MAX;
	c.blk_size = SECTOR;
	c.num_queues = 1;
	c.max_discard_sectors = RANGE_MAX;
	c.max_discard_seg = 1;
	c.discard_sector_alignment = 1;
	c.max_write_zeroes_sectors = RANGE_MAX;
	c.max_write_zeroes_seg = 1;
	c.write_zeroes_may_unmap = 1;
	memset(data, 0, len);
	if (off < sizeof(c))
		memcpy(data, (uint8_t *)&c + off,
		       len < sizeof(c) - off ? len : sizeof(c) - off);
}

/* The part [skip, skip + len) of the buffers v[0..n) as iovecs in out;
 * how many. */
static unsigned slice(const struct iovec *v, unsigned n, uint64_t skip,
		      uint64_t len, struct iovec *out)
{
	unsigned k = 0;
	for (unsigned i = 0; i < n && len; i++) {
		uint64_t l = v[i].iov_len;
		if (skip >= l) {
			skip -= l;
			continue;
		}
		uint64_t take = l - skip < len ? l - skip : len;
		out[k++] = (struct iovec){(uint8_t *)v[i].iov_base + skip,
					  (size_t)take};
		len -= take;
		skip = 0;
	}
	return k;
}

/* Moves the whole of iov between the image at off and guest memory; 0 or
 * -errno (a short count past the image's end is EIO). */
static int full_io(struct vblk *b, bool write, struct iovec *iov, unsigned n,
		   uint64_t off)
{
	if (b->remote) {
		uint64_t len = 0;
		for (unsigned i = 0; i < n; i++)
			len += iov[i].iov_len;
		return len > UINT32_MAX
			       ? -EINVAL
			       : nbd_io(&b->nbd, write ? NBD_WRITE : NBD_READ,
					0, off, (uint32_t)len, iov, n);
	}
	while (n) {
		ssize_t r = write ? pwritev(b->fd, iov, (int)n, (off_t)off)
				  : preadv(b->fd, iov, (int)n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		off += (uint64_t)r;
		while (n && (size_t)r >= iov->iov_len) {
			r -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n) {
			iov->iov_base = (uint8_t *)iov->iov_base + r;
			iov->iov_len -= (size_t)r;
		}
	}
	return 0;
}

/* What the guest wrote made stable: 0 or -errno. */
static int sync_disk(struct vblk *b)
{
	if (!b->remote)
		return fdatasync(b->fd) < 0 ? -errno : 0;
	return b->nbd.flags & NBD_TF_FLUSH
		       ? nbd_io(&b->nbd, NBD_FLUSH, 0, 0, 0, NULL, 0)
		       : 0;
}

/* Whether sectors [sector, sector + count) lie inside the disk (count
 * not zero), without overflow. */
static bool inside(const struct vblk *b, uint64_t sector, uint64_t count)
{
	uint64_t total = b->size / SECTOR;
	return count && sector < total && count <= total - sector;
}

static uint8_t zeroes_by_writing(struct vblk *b, uint64_t off, uint64_t len)
{
	static const uint8_t zero[65536];
	while (len) {
		size_t n = len < sizeof(zero) ? (size_t)len : sizeof(zero);
		struct iovec v = {(void *)zero, n};
		if (full_io(b, true, &v, 1, off) < 0)
			return VIRTIO_BLK_S_IOERR;
		off += n;
		len -= n;
	}
	return VIRTIO_BLK_S_OK;
}

/* DISCARD (offered only when the server trims) or WRITE_ZEROES on an
 * NBD export: len is at most RANGE_MAX sectors, well inside 32 bits. */
static uint8_t remote_range(struct vblk *b, uint32_t type, bool unmap,
			    uint64_t off, uint64_t len)
{
	if (type == VIRTIO_BLK_T_WRITE_ZEROES &&
	    !(b->nbd.flags & NBD_TF_WRITE_ZEROES))
		return zeroes_by_writing(b, off, len);
	enum nbd_cmd c =
		type == VIRTIO_BLK_T_DISCARD ? NBD_TRIM : NBD_WRITE_ZEROES;
	uint16_t f = c == NBD_WRITE_ZEROES && !unmap ? NBD_CMD_FLAG_NO_HOLE : 0;
	return nbd_io(&b->nbd, c, f, off, (uint32_t)len, NULL, 0) == 0
		       ? VIRTIO_BLK_S_OK
		       : VIRTIO_BLK_S_IOERR;
}

/* DISCARD or WRITE_ZEROES: one segment after the header. */
static uint8_t ranges(struct vblk *b, uint32_t type,
		      const struct virtq_chain *c)
{
	struct virtio_blk_discard_write_zeroes s;
	if (c->out_len != HDR + SEG || virtq_copy_out(c, HDR, &s, SEG) != SEG)
		return VIRTIO_BLK_S_IOERR; /* one segment is what we offer */
	uint32_t unmap = VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
	if (s.flags & ~(type == VIRTIO_BLK_T_WRITE_ZEROES ? unmap : 0u))
		return VIRTIO_BLK_S_UNSUPP;
	if (b->readonly || s.num_sectors > RANGE_MAX ||
	    !inside(b, s.sector, s.num_sectors))
		return VIRTIO_BLK_S_IOERR;
	uint64_t off = s.sector * SECTOR,
		 len = (uint64_t)s.num_sectors * SECTOR;
	if (b->remote)
		return remote_range(b, type, s.flags & unmap, off, len);
	if (type == VIRTIO_BLK_T_DISCARD) /* reads after it may give zeroes */
		return fallocate(b->fd,
				 FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				 (off_t)off, (off_t)len) == 0
			       ? VIRTIO_BLK_S_OK
			       : VIRTIO_BLK_S_IOERR;
	int mode =
		FALLOC_FL_KEEP_SIZE |
		(s.flags & unmap ? FALLOC_FL_PUNCH_HOLE : FALLOC_FL_ZERO_RANGE);
	if (fallocate(b->fd, mode, (off_t)off, (off_t)len) == 0)
		return VIRTIO_BLK_S_OK;
	return errno == EOPNOTSUPP ? zeroes_by_writing(b, off, len)
				   : VIRTIO_BLK_S_IOERR;
}

static uint8_t serve(struct vblk *b, const struct virtio_blk_outhdr *h,
		     const struct virtq_chain *c)
{
	static __thread struct iovec io[VIRTQ_MAX_SIZE];
	bool flush = b->dev.acked & F(VIRTIO_BLK_F_FLUSH);
	uint64_t len;
	unsigned n;
	switch (h->type) {
	case VIRTIO_BLK_T_IN:
		len = c->in_len - 1; /* the last byte is the status */
		if (len % SECTOR || !inside(b, h->sector, len / SECTOR))
			return VIRTIO_BLK_S_IOERR;
		n = slice(c->iov + c->nout, c->nin, 0, len, io);
		return full_io(b, false, io, n, h->sector * SECTOR) == 0
			       ? VIRTIO_BLK_S_OK
			       : VIRTIO_BLK_S_IOERR;
	case VIRTIO_BLK_T_OUT:
		len = c->out_len - HDR;
		if (b->readonly || len % SECTOR ||
		    !inside(b, h->sector, len / SECTOR))
			return VIRTIO_BLK_S_IOERR;
		n = slice(c->iov, c->nout, HDR, len, io);
		if (full_io(b, true, io, n, h->sector * SECTOR) < 0)
			return VIRTIO_BLK_S_IOERR;
		/* without FLUSH the guest counts on writes being stable */
		return !flush && sync_disk(b) < 0 ? VIRTIO_BLK_S_IOERR
						  : VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_FLUSH:
		return b->readonly || sync_disk(b) == 0 ? VIRTIO_BLK_S_OK
							: VIRTIO_BLK_S_IOERR;
	case VIRTIO_BLK_T_GET_ID:
		len = c->in_len - 1;
		virtq_copy_in(c, 0, b->serial,
			      len < VBLK_SERIAL_LEN ? len : VBLK_SERIAL_LEN);
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES: return ranges(b, h->type, c);
	default: return VIRTIO_BLK_S_UNSUPP;
	}
}

uint32_t vblk_request(struct vblk *b, const struct virtq_chain *c)
{
	struct virtio_blk_outhdr h;
	if (!c->in_len)
		return 0; /* nowhere to say anything: left as it came */
	uint8_t st = VIRTIO_BLK_S_IOERR;
	/* the header is read once, into host memory, before anything */
	if (c->out_len >= HDR && virtq_copy_out(c, 0, &h, HDR) == HDR)
		st = serve(b, &h, c);
	b->reqs++;
	b->errors += st != VIRTIO_BLK_S_OK;
	virtq_copy_in(c, c->in_len - 1, &st, 1);
	return c->in_len > UINT32_MAX ? UINT32_MAX : (uint32_t)c->in_len;
}

static void requests(struct vblk *b)
{
	struct virtq *q = &b->dev.q[0].vq;
	unsigned done = 0;
	int r;
	do {
		virtq_disable_kicks(q);
		while ((r = virtq_pop(q, &b->chain)) == 1) {
			virtq_push(q, b->chain.head,
				   vblk_request(b, &b->chain));
			if (++done % BATCH == 0) {
				virtq_publish(q);
				vpci_complete(&b->dev, 0);
			}
		}
		if (r < 0)
			vpci_set_broken(&b->dev, q->why);
		virtq_publish(q);
	} while (!q->broken && virtq_enable_kicks(q));
	vpci_complete(&b->dev, 0);
}

enum { EV_STOP, EV_KICK };

static void *thread(void *arg)
{
	struct vblk *b = arg;
	struct epoll_event ev[2];
	for (;;) {
		int n = epoll_wait(b->epfd, ev, 2, -1);
		if (n < 0 && errno != EINTR)
			break;
		for (int k = 0; k < n; k++) {
			uint64_t v;
			if (ev[k].data.u32 == EV_STOP)
				return NULL;
			if (read(b->dev.q[0].kickfd, &v, 8) < 0 &&
			    errno != EAGAIN)
				nf_debug("%s: kick: %s", b->name,
					 strerror(errno));
			if (!b->dev.q[0].vq.broken)
				requests(b);
		}
	}
	return NULL;
}

static void stop(struct vblk *b)
{
	uint64_t one = 1;
	if (!b->running)
		return;
	if (write(b->stopfd, &one, 8) < 0)
		nf_debug("%s: stop: %s", b->name, strerror(errno));
	pthread_join(b->thread, NULL);
	close(b->epfd);
	close(b->stopfd);
	b->running = false;
}

static int activate(struct vpci_dev *d)
{
	struct vblk *b = blk_of(d);
	if (!d->q[0].enabled)
		return 0; /* no queue, no requests */
	b->epfd = epoll_create1(EPOLL_CLOEXEC);
	b->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct epoll_event s = {.events = EPOLLIN, .data.u32 = EV_STOP},
			   k = {.events = EPOLLIN, .data.u32 = EV_KICK};
	if (b->epfd < 0 || b->stopfd < 0 ||
	    epoll_ctl(b->epfd, EPOLL_CTL_ADD, b->stopfd, &s) < 0 ||
	    epoll_ctl(b->epfd, EPOLL_CTL_ADD, d->q[0].kickfd, &k) < 0 ||
	    pthread_create(&b->thread, NULL, thread, b) != 0) {
		nf_err_log("%s: cannot start its request thread: %s", b->name,
			   strerror(errno));
		if (b->epfd >= 0)
			close(b->epfd);
		if (b->stopfd >= 0)
			close(b->stopfd);
		return -EIO;
	}
	b->running = true;
	uint64_t one = 1; /* kicks that came before the thread */
	if (write(d->q[0].kickfd, &one, 8) < 0)
		nf_debug("%s: kick: %s", b->name, strerror(errno));
	nf_info("%s: driver ready: %llu sectors%s, features %#llx", b->name,
		(unsigned long long)(b->size / SECTOR),
		b->readonly ? ", read-only" : "", (unsigned long long)d->acked);
	return 0;
}

static void reset(struct vpci_dev *d)
{
	stop(blk_of(d));
}

static const struct vpci_ops ops = {dev_cfg, activate, reset, NULL};

/* The device for an image of b->size bytes, once its backend is there. */
static int init(struct vblk *b, struct vm *vm, bool discard, struct nf_err *e)
{
	b->size -= b->size % SECTOR;
	if (!b->size)
		return nf_errf(e, EINVAL,
			       "%s: the image is smaller than a "
			       "512-byte sector",
			       b->name);
	uint64_t f = F(VIRTIO_F_VERSION_1) | F(VIRTIO_RING_F_EVENT_IDX) |
		     F(VIRTIO_RING_F_INDIRECT_DESC) | F(VIRTIO_BLK_F_SEG_MAX) |
		     F(VIRTIO_BLK_F_BLK_SIZE) | F(VIRTIO_BLK_F_FLUSH);
	if (b->readonly)
		f |= F(VIRTIO_BLK_F_RO);
	else
		f |= (discard ? F(VIRTIO_BLK_F_DISCARD) : 0) |
		     F(VIRTIO_BLK_F_WRITE_ZEROES);
	return vpci_init(&b->dev, vm, b->name, VIRTIO_ID_BLOCK, 0x018000, f, 1,
			 &ops, b, e);
}

static void names(struct vblk *b, int fd, const char *name, bool readonly,
		  const char *serial)
{
	memset(b, 0, sizeof(*b));
	b->fd = fd;
	b->nbd.fd = -1;
	b->epfd = b->stopfd = -1;
	b->readonly = readonly;
	snprintf(b->name, sizeof(b->name), "%s", name);
	snprintf(b->serial, sizeof(b->serial), "%s", serial ? serial : name);
}

int vblk_create(struct vblk *b, struct vm *vm, const char *name, int fd,
		bool readonly, const char *serial, struct nf_err *e)
{
	struct stat st;
	names(b, fd, name, readonly, serial);
	if (fstat(fd, &st) < 0)
		return nf_errf(e, errno, "%s: fd %d: %s", name, fd,
			       strerror(errno));
	if (S_ISBLK(st.st_mode)) {
		b->block_dev = true;
		if (ioctl(fd, BLKGETSIZE64, &b->size) < 0)
			return nf_errf(e, errno, "%s: BLKGETSIZE64: %s", name,
				       strerror(errno));
	} else if (S_ISREG(st.st_mode)) {
		b->size = (uint64_t)st.st_size;
	} else {
		return nf_errf(e, EINVAL,
			       "%s: not a file or block device (a raw image "
			       "is one of those)",
			       name);
	}
	if (!readonly) { /* an image opened read-only cannot take writes */
		int fl = fcntl(fd, F_GETFL);
		if (fl < 0 || (fl & O_ACCMODE) == O_RDONLY)
			return nf_errf(e, EBADF,
				       "%s: the image is open read-only; give "
				       "readonly=on",
				       name);
	}
	return init(b, vm, true, e);
}

int vblk_create_nbd(struct vblk *b, struct vm *vm, const char *name, int fd,
		    const char *export, bool readonly, const char *serial,
		    struct nf_err *e)
{
	names(b, -1, name, readonly, serial);
	b->remote = true;
	int r = nbd_open(&b->nbd, fd, export, e);
	if (r < 0)
		return nf_err_prefix(e, "%s", name);
	b->size = b->nbd.size;
	if (!readonly && b->nbd.flags & NBD_TF_READ_ONLY)
		return nf_errf(e, EROFS,
			       "%s: the NBD export is read-only; give "
			       "readonly=on",
			       name);
	return init(b, vm, b->nbd.flags & NBD_TF_TRIM, e);
}

void vblk_destroy(struct vblk *b)
{
	vpci_fini(&b->dev); /* resets: the thread is stopped */
	stop(b);
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
	nbd_close(&b->nbd);
}
