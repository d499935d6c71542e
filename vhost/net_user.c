/* The userspace virtio-net backend: one thread per queue pair moving
 * frames between the TAP queue and the guest's rings. TX goes straight
 * from guest memory to the TAP (writev of the chain); RX reads a frame
 * into a bounce buffer and spreads it over one chain, or several with
 * MRG_RXBUF, all published together. */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <linux/virtio_net.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "virtio_net.h"

#define HDR	sizeof(struct virtio_net_hdr_mrg_rxbuf)
#define PKT_MAX (HDR + 65536 + 64)
#define BATCH	64

struct vnet_user {
	struct vnet *n;
	unsigned pair;
	pthread_t thread;
	int epfd, stopfd, tapfd;
	bool tap_gone; /* deleted under us: no longer polled */
	struct vpci_dev *d;
	unsigned rxi, txi;
	bool tap_on; /* the TAP is polled (RX buffers available) */
	size_t plen; /* a frame waiting for RX buffers */
	uint8_t pkt[PKT_MAX];
	struct virtq_chain chain;
};

enum { EV_STOP, EV_TAP, EV_RXKICK, EV_TXKICK };

static void drain(int fd)
{
	uint64_t v;
	if (read(fd, &v, 8) < 0 && errno != EAGAIN)
		nf_debug("eventfd: %s", strerror(errno));
}

static bool check(struct vnet_user *u, struct virtq *q, int r)
{
	if (r < 0)
		vpci_set_broken(u->d, q->why);
	return r == 1;
}

static void tx(struct vnet_user *u)
{
	struct virtq *q = &u->d->q[u->txi].vq;
	unsigned done = 0;
	do {
		virtq_disable_kicks(q);
		while (check(u, q, virtq_pop(q, &u->chain))) {
			struct virtq_chain *c = &u->chain;
			/* a frame is the header plus at least an Ethernet
			 * header; anything else is dropped */
			if (c->out_len >= HDR + 14 && c->out_len <= PKT_MAX &&
			    writev(u->tapfd, c->iov, (int)c->nout) < 0 &&
			    errno != EAGAIN)
				nf_debug("%s: TAP write: %s", u->n->name,
					 strerror(errno));
			virtq_push(q, c->head, 0);
			if (++done % BATCH == 0)
				vpci_complete(u->d, u->txi);
		}
		virtq_publish(q);
	} while (!q->broken && virtq_enable_kicks(q));
	vpci_complete(u->d, u->txi);
}

static void poll_tap(struct vnet_user *u, bool on)
{
	if (u->tap_on == on || u->tap_gone)
		return;
	struct epoll_event ev = {.events = on ? EPOLLIN : 0,
				 .data.u32 = EV_TAP};
	epoll_ctl(u->epfd, EPOLL_CTL_MOD, u->tapfd, &ev);
	u->tap_on = on;
}

/* Puts the pending frame into guest buffers; false if there were not
 * enough (the frame stays pending). */
static bool deliver(struct vnet_user *u)
{
	struct virtq *q = &u->d->q[u->rxi].vq;
	bool mrg = u->d->acked & (1ull << VIRTIO_NET_F_MRG_RXBUF);
	uint64_t off = 0;
	uint16_t nbufs = 0;
	struct iovec hdr[HDR]; /* where the first buffer's header went */
	unsigned nhdr = 0;
	while (off < u->plen) {
		int r = virtq_pop(q, &u->chain);
		if (r <= 0) {
			check(u, q, r);
			virtq_unpop(q, nbufs);
			q->used_idx -= nbufs;
			return false;
		}
		struct virtq_chain *c = &u->chain;
		uint64_t n = virtq_copy_in(c, 0, u->pkt + off, u->plen - off);
		if (!nbufs && (n < HDR || (!mrg && n < u->plen))) {
			/* no room for the header, or a frame too big for
			 * the one buffer we may use: drop it */
			virtq_push(q, c->head, 0);
			u->plen = 0;
			return true;
		}
		if (!nbufs)
			for (unsigned i = 0; nhdr < HDR && i < c->nin; i++)
				hdr[nhdr++] = c->iov[c->nout + i];
		virtq_push(q, c->head, (uint32_t)n);
		off += n;
		nbufs++;
	}
	if (nbufs > 1) { /* num_buffers sits at offset 10 of the header */
		struct virtq_chain *c = &u->chain;
		c->nout = 0;
		c->nin = nhdr;
		memcpy(c->iov, hdr, nhdr * sizeof(hdr[0]));
		virtq_copy_in(
			c,
			offsetof(struct virtio_net_hdr_mrg_rxbuf, num_buffers),
			&nbufs, 2);
	}
	u->plen = 0;
	return true;
}

static void rx(struct vnet_user *u)
{
	struct virtq *q = &u->d->q[u->rxi].vq;
	unsigned done = 0;
	for (;;) {
		if (!u->plen) {
			ssize_t r = read(u->tapfd, u->pkt, PKT_MAX);
			if (r <= 0) {
				/* EBADFD: the TAP was deleted under us (its
				 * network went): nothing more will come, and
				 * polling it would only report the error */
				bool gone = r < 0 && errno != EAGAIN &&
					    errno != EINTR;
				if (gone) { /* epoll reports an error even
					       when asked for nothing */
					nf_info("%s: its TAP is gone (%s); the "
						"link stays down",
						u->n->name, strerror(errno));
					epoll_ctl(u->epfd, EPOLL_CTL_DEL,
						  u->tapfd, NULL);
					u->tap_gone = true;
					break;
				}
				poll_tap(u, true);
				break;
			}
			u->plen = (size_t)r;
			/* the header's num_buffers is ours to fill */
			struct virtio_net_hdr_mrg_rxbuf *h = (void *)u->pkt;
			h->num_buffers = 1;
		}
		if (!deliver(u)) {
			if (q->broken)
				break;
			/* out of buffers: wait for the driver's kick */
			if (virtq_enable_kicks(q))
				continue;
			poll_tap(u, false);
			break;
		}
		if (++done % BATCH == 0)
			vpci_complete(u->d, u->rxi);
	}
	vpci_complete(u->d, u->rxi);
}

static void *thread(void *arg)
{
	struct vnet_user *u = arg;
	struct epoll_event ev[4];
	for (;;) {
		int n = epoll_wait(u->epfd, ev, 4, -1);
		if (n < 0 && errno != EINTR)
			break;
		for (int k = 0; k < n; k++) {
			switch (ev[k].data.u32) {
			case EV_STOP: return NULL;
			case EV_TXKICK:
				drain(u->d->q[u->txi].kickfd);
				tx(u);
				break;
			case EV_RXKICK:
				drain(u->d->q[u->rxi].kickfd);
				rx(u);
				break;
			case EV_TAP:
				if (ev[k].events & (EPOLLERR | EPOLLHUP))
					u->plen = 0; /* read, to learn why */
				rx(u);
				break;
			}
		}
		if (u->d->q[u->rxi].vq.broken || u->d->q[u->txi].vq.broken) {
			poll_tap(u, false);
		}
	}
	return NULL;
}

static int start(struct vnet *n, unsigned pair, struct nf_err *e)
{
	struct vnet_user *u = n->user[pair];
	if (!u) {
		u = calloc(1, sizeof(*u));
		if (!u)
			return nf_errf(e, ENOMEM, "out of memory");
		n->user[pair] = u;
	}
	u->n = n;
	u->d = &n->dev;
	u->pair = pair;
	u->rxi = 2 * pair;
	u->txi = 2 * pair + 1;
	u->tapfd = n->tapfd[pair];
	u->plen = 0;
	u->tap_on = true;
	u->epfd = epoll_create1(EPOLL_CLOEXEC);
	u->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (u->epfd < 0 || u->stopfd < 0)
		return nf_errf(e, errno, "epoll/eventfd: %s", strerror(errno));
	struct {
		int fd;
		uint32_t id;
	} w[] = {{u->stopfd, EV_STOP},
		 {u->tapfd, EV_TAP},
		 {u->d->q[u->rxi].kickfd, EV_RXKICK},
		 {u->d->q[u->txi].kickfd, EV_TXKICK}};
	for (size_t i = 0; i < NF_ARRAY_SIZE(w); i++) {
		struct epoll_event ev = {.events = EPOLLIN,
					 .data.u32 = w[i].id};
		if (epoll_ctl(u->epfd, EPOLL_CTL_ADD, w[i].fd, &ev) < 0)
			return nf_errf(e, errno, "epoll_ctl: %s",
				       strerror(errno));
	}
	int r = pthread_create(&u->thread, NULL, thread, u);
	if (r)
		return nf_errf(e, r, "cannot start the queue thread: %s",
			       strerror(r));
	/* kicks that came before the thread existed */
	uint64_t one = 1;
	if (write(u->d->q[u->txi].kickfd, &one, 8) < 0 ||
	    write(u->d->q[u->rxi].kickfd, &one, 8) < 0)
		nf_debug("kick: %s", strerror(errno));
	return 0;
}

static void stop(struct vnet *n, unsigned pair)
{
	struct vnet_user *u = n->user[pair];
	uint64_t one = 1;
	if (!u)
		return;
	if (write(u->stopfd, &one, 8) < 0)
		nf_debug("stop: %s", strerror(errno));
	pthread_join(u->thread, NULL);
	close(u->epfd);
	close(u->stopfd);
	free(u);
	n->user[pair] = NULL;
}

const struct vnet_backend vnet_user_backend = {"userspace", start, stop};
