#define _GNU_SOURCE
#include "nbd.h"

#include <endian.h>
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#define MAGIC_INIT   0x4e42444d41474943ull /* "NBDMAGIC" */
#define MAGIC_OPT    0x49484156454f5054ull /* "IHAVEOPT" */
#define MAGIC_REP    0x0003e889045565a9ull
#define MAGIC_REQ    0x25609513u
#define MAGIC_SIMPLE 0x67446698u

#define FLAG_FIXED_NEWSTYLE 1u
#define FLAG_NO_ZEROES	    2u
#define OPT_GO		    7u
#define REP_ACK		    1u
#define REP_INFO	    3u
#define REP_ERR		    (1u << 31)
#define INFO_EXPORT	    0u
#define REPLY_MAX	    4096u /* what an option reply may carry */

#define IOV_CHUNK 1024 /* IOV_MAX */

/* All of iov[0..n) moved (a copy is stepped: the caller's stays). */
static int move_iov(int fd, bool out, const struct iovec *iov, unsigned n)
{
	struct iovec v[IOV_CHUNK];
	while (n) {
		unsigned k = n < IOV_CHUNK ? n : IOV_CHUNK, i = 0;
		memcpy(v, iov, k * sizeof(*v));
		iov += k;
		n -= k;
		while (i < k && !v[i].iov_len)
			i++;
		while (i < k) {
			ssize_t r = out ? writev(fd, v + i, (int)(k - i))
					: readv(fd, v + i, (int)(k - i));
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				return r < 0 ? -errno : -EPIPE;
			while (i < k && (size_t)r >= v[i].iov_len)
				r -= (ssize_t)v[i++].iov_len;
			while (i < k && !v[i].iov_len) /* nothing to move */
				i++;
			if (i < k) {
				v[i].iov_base = (uint8_t *)v[i].iov_base + r;
				v[i].iov_len -= (size_t)r;
			}
		}
	}
	return 0;
}

static int put(int fd, const void *p, size_t len)
{
	struct iovec v = {(void *)p, len};
	return move_iov(fd, true, &v, 1);
}

static int get(int fd, void *p, size_t len)
{
	struct iovec v = {p, len};
	return move_iov(fd, false, &v, 1);
}

static uint64_t be64_at(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return be64toh(v);
}

static uint32_t be32_at(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return be32toh(v);
}

static int lost(struct nf_err *e, const char *name, int r)
{
	return nf_errf(e, r == -EPIPE ? EIO : -r,
		       "NBD export '%s': the server %s", name,
		       r == -EPIPE ? "ended the connection (its log says why)"
				   : strerror(-r));
}

/* NBD_OPT_GO for name, then its replies up to the ACK. */
static int go(struct nbd *n, const char *name, struct nf_err *e)
{
	size_t nl = strlen(name);
	uint8_t h[16], rep[20], data[REPLY_MAX + 1];
	uint64_t m = htobe64(MAGIC_OPT);
	uint32_t opt = htobe32(OPT_GO), len = htobe32((uint32_t)(nl + 6)),
		 l32 = htobe32((uint32_t)nl);
	uint16_t ninfo = 0;
	memcpy(h, &m, 8);
	memcpy(h + 8, &opt, 4);
	memcpy(h + 12, &len, 4);
	struct iovec v[] = {
		{h, 16}, {&l32, 4}, {(void *)name, nl}, {&ninfo, 2}};
	int r = move_iov(n->fd, true, v, 4);
	if (r < 0)
		return lost(e, name, r);
	bool have_export = false;
	for (unsigned replies = 0; replies < 64; replies++) {
		if ((r = get(n->fd, rep, sizeof(rep))) < 0)
			return lost(e, name, r);
		uint32_t type = be32_at(rep + 12), rl = be32_at(rep + 16);
		if (be64_at(rep) != MAGIC_REP || be32_at(rep + 8) != OPT_GO ||
		    rl > REPLY_MAX)
			return nf_errf(e, EPROTO,
				       "NBD export '%s': a malformed reply",
				       name);
		if ((r = get(n->fd, data, rl)) < 0)
			return lost(e, name, r);
		data[rl] = '\0';
		if (type & REP_ERR)
			return nf_errf(e, ENOENT,
				       "NBD export '%s': refused (%u)%s%s",
				       name, type & ~REP_ERR, rl ? ": " : "",
				       (char *)data);
		if (type == REP_INFO && rl >= 12 &&
		    (data[0] << 8 | data[1]) == INFO_EXPORT) {
			n->size = be64_at(data + 2);
			n->flags = (uint16_t)(data[10] << 8 | data[11]);
			have_export = true;
		} else if (type == REP_ACK) {
			if (!have_export)
				return nf_errf(e, EPROTO,
					       "NBD export '%s': no size "
					       "before the ACK",
					       name);
			return 0;
		}
	}
	return nf_errf(e, EPROTO, "NBD export '%s': no end to its replies",
		       name);
}

int nbd_open(struct nbd *n, int fd, const char *name, struct nf_err *e)
{
	uint8_t hello[18];
	memset(n, 0, sizeof(*n));
	n->fd = fd;
	int r = get(fd, hello, sizeof(hello));
	if (r < 0)
		return lost(e, name, r);
	uint16_t hf = (uint16_t)(hello[16] << 8 | hello[17]);
	if (be64_at(hello) != MAGIC_INIT || be64_at(hello + 8) != MAGIC_OPT ||
	    !(hf & FLAG_FIXED_NEWSTYLE))
		return nf_errf(e, EPROTO,
			       "NBD export '%s': not a newstyle NBD server",
			       name);
	uint32_t cf = htobe32(FLAG_FIXED_NEWSTYLE | (hf & FLAG_NO_ZEROES));
	if ((r = put(fd, &cf, 4)) < 0)
		return lost(e, name, r);
	return go(n, name, e);
}

/* A request's 28 bytes. */
static void header(uint8_t req[28], enum nbd_cmd cmd, uint16_t flags,
		   uint64_t cookie, uint64_t off, uint32_t len)
{
	uint32_t m = htobe32(MAGIC_REQ), l = htobe32(len);
	uint16_t f = htobe16(flags), t = htobe16((uint16_t)cmd);
	uint64_t c = htobe64(cookie), o = htobe64(off);
	memcpy(req, &m, 4);
	memcpy(req + 4, &f, 2);
	memcpy(req + 6, &t, 2);
	memcpy(req + 8, &c, 8);
	memcpy(req + 16, &o, 8);
	memcpy(req + 24, &l, 4);
}

int nbd_io(struct nbd *n, enum nbd_cmd cmd, uint16_t flags, uint64_t off,
	   uint32_t len, const struct iovec *iov, unsigned niov)
{
	uint8_t req[28], rep[16];
	if (n->broken)
		return -EIO;
	header(req, cmd, flags, ++n->cookie, off, len);
	int r = put(n->fd, req, sizeof(req));
	if (r == 0 && cmd == NBD_WRITE)
		r = move_iov(n->fd, true, iov, niov);
	if (r == 0)
		r = get(n->fd, rep, sizeof(rep));
	if (r == 0 &&
	    (be32_at(rep) != MAGIC_SIMPLE || be64_at(rep + 8) != n->cookie))
		r = -EPROTO;
	if (r < 0) { /* out of step with the stream from here on */
		n->broken = true;
		return -EIO;
	}
	if (be32_at(rep + 4)) /* the server's errno; no data follows */
		return -(int)(be32_at(rep + 4) & 0xffff ?: EIO);
	if (cmd == NBD_READ && move_iov(n->fd, false, iov, niov) < 0) {
		n->broken = true;
		return -EIO;
	}
	return 0;
}

void nbd_close(struct nbd *n)
{
	if (n->fd < 0)
		return;
	if (!n->broken) { /* NBD_CMD_DISC: a clean end (no reply) */
		uint8_t req[28];
		header(req, NBD_DISC, 0, ++n->cookie, 0, 0);
		(void)!write(n->fd, req, sizeof(req));
	}
	close(n->fd);
	n->fd = -1;
}
