#define _GNU_SOURCE
#include "virtq.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int broken(struct virtq *q, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int broken(struct virtq *q, const char *fmt, ...)
{
	va_list ap;
	if (!q->broken) {
		va_start(ap, fmt);
		vsnprintf(q->why, sizeof(q->why), fmt, ap);
		va_end(ap);
	}
	q->broken = true;
	return -1;
}

static void *gpa(struct virtq *q, uint64_t addr, uint64_t len)
{
	if (addr > q->mem_size || len > q->mem_size - addr)
		return NULL;
	return q->mem + addr;
}

int virtq_start(struct virtq *q)
{
	uint64_t n = q->num;
	q->broken = false;
	q->why[0] = 0;
	q->last_avail = q->used_idx = q->signalled = 0;
	if (!n || n > VIRTQ_MAX_SIZE || (n & (n - 1)))
		return broken(q, "queue size %u is not a power of 2 up to %u",
			      q->num, VIRTQ_MAX_SIZE);
	if ((q->desc_gpa & 15) || (q->avail_gpa & 1) || (q->used_gpa & 3))
		return broken(q, "misaligned ring addresses");
	/* with EVENT_IDX each ring ends in one more u16 event field */
	q->desc = gpa(q, q->desc_gpa, 16 * n);
	q->avail = gpa(q, q->avail_gpa, 6 + 2 * n);
	q->used = gpa(q, q->used_gpa, 6 + 8 * n);
	if (q->event_idx && !(gpa(q, q->avail_gpa, 6 + 2 * n + 2) &&
			      gpa(q, q->used_gpa, 6 + 8 * n + 2)))
		q->desc = NULL;
	if (!q->desc || !q->avail || !q->used)
		return broken(q,
			      "ring outside guest RAM (desc %#llx avail "
			      "%#llx used %#llx)",
			      (unsigned long long)q->desc_gpa,
			      (unsigned long long)q->avail_gpa,
			      (unsigned long long)q->used_gpa);
	return 0;
}

static uint16_t load16(volatile uint16_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/* Adds one buffer of a descriptor (already copied to d) to the chain. */
static int add_buf(struct virtq *q, struct virtq_chain *c,
		   const struct vring_desc *d)
{
	bool write = d->flags & VRING_DESC_F_WRITE;
	if (c->nout + c->nin >= VIRTQ_MAX_SIZE || c->nout + c->nin >= q->num)
		return broken(q, "descriptor chain longer than the queue");
	if (!write && c->nin)
		return broken(q, "readable descriptor after a writable one");
	void *p = gpa(q, d->addr, d->len);
	if (!p)
		return broken(q, "descriptor %#llx+%u outside guest RAM",
			      (unsigned long long)d->addr, d->len);
	c->iov[c->nout + c->nin] = (struct iovec){p, d->len};
	if (write)
		c->nin++, c->in_len += d->len;
	else
		c->nout++, c->out_len += d->len;
	return 0;
}

static int walk_indirect(struct virtq *q, struct virtq_chain *c,
			 const struct vring_desc *d)
{
	if (!q->indirect)
		return broken(q, "indirect descriptor not negotiated");
	if (d->flags & VRING_DESC_F_NEXT)
		return broken(q, "indirect descriptor with NEXT set");
	if (!d->len || d->len % 16)
		return broken(q, "indirect table length %u", d->len);
	uint32_t n = d->len / 16;
	volatile struct vring_desc *t = gpa(q, d->addr, d->len);
	if (!t)
		return broken(q, "indirect table outside guest RAM");
	if (n > q->num)
		return broken(q, "indirect table longer than the queue");
	for (uint32_t i = 0, seen = 0;; seen++) {
		struct vring_desc x = {t[i].addr, t[i].len, t[i].flags,
				       t[i].next};
		if (seen >= n)
			return broken(q, "indirect chain loops");
		if (x.flags & VRING_DESC_F_INDIRECT)
			return broken(q, "nested indirect descriptor");
		if (add_buf(q, c, &x) < 0)
			return -1;
		if (!(x.flags & VRING_DESC_F_NEXT))
			return 0;
		if (x.next >= n)
			return broken(q, "indirect next %u out of %u", x.next,
				      n);
		i = x.next;
	}
}

int virtq_pop(struct virtq *q, struct virtq_chain *c)
{
	if (q->broken)
		return -1;
	uint16_t avail_idx = load16(&q->avail->idx);
	if (avail_idx == q->last_avail)
		return 0;
	if ((uint16_t)(avail_idx - q->last_avail) > q->num)
		return broken(q, "avail index jumped from %u to %u",
			      q->last_avail, avail_idx);
	uint16_t head = q->avail->ring[q->last_avail % q->num];
	if (head >= q->num)
		return broken(q, "head %u out of %u", head, q->num);
	c->head = head;
	c->nout = c->nin = 0;
	c->out_len = c->in_len = 0;
	for (uint16_t i = head, seen = 0;; seen++) {
		volatile struct vring_desc *v = &q->desc[i];
		struct vring_desc d = {v->addr, v->len, v->flags, v->next};
		if (seen >= q->num)
			return broken(q, "descriptor chain loops");
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (c->nout + c->nin)
				return broken(q, "indirect descriptor inside "
						 "a chain");
			if (walk_indirect(q, c, &d) < 0)
				return -1;
			break;
		}
		if (add_buf(q, c, &d) < 0)
			return -1;
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		if (d.next >= q->num)
			return broken(q, "next %u out of %u", d.next, q->num);
		i = d.next;
	}
	q->last_avail++;
	return 1;
}

void virtq_push(struct virtq *q, uint16_t head, uint32_t len)
{
	if (q->broken)
		return;
	volatile struct vring_used_elem *u =
		&q->used->ring[q->used_idx % q->num];
	u->id = head;
	u->len = len;
	q->used_idx++;
}

void virtq_publish(struct virtq *q)
{
	if (!q->broken)
		__atomic_store_n(&q->used->idx, q->used_idx, __ATOMIC_RELEASE);
}

void virtq_unpop(struct virtq *q, unsigned n)
{
	q->last_avail -= (uint16_t)n;
}

bool virtq_need_interrupt(struct virtq *q)
{
	if (q->broken)
		return false;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	uint16_t old = q->signalled, now = q->used_idx;
	q->signalled = now;
	if (q->event_idx) {
		uint16_t ev = q->avail->ring[q->num]; /* used_event */
		return (uint16_t)(now - ev - 1) < (uint16_t)(now - old);
	}
	return !(q->avail->flags & VRING_AVAIL_F_NO_INTERRUPT) && now != old;
}

bool virtq_enable_kicks(struct virtq *q)
{
	if (q->broken)
		return false;
	if (q->event_idx)
		/* avail_event: the u16 after the used ring */
		__atomic_store_n(
			(volatile uint16_t *)((volatile uint8_t *)q->used + 4 +
					      8 * q->num),
			q->last_avail, __ATOMIC_RELAXED);
	else
		q->used->flags = 0;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return load16(&q->avail->idx) != q->last_avail;
}

void virtq_disable_kicks(struct virtq *q)
{
	if (!q->broken && !q->event_idx)
		q->used->flags = VRING_USED_F_NO_NOTIFY;
}

static uint64_t copy_iov(const struct iovec *iov, unsigned n, uint64_t skip,
			 uint8_t *buf, uint64_t len, bool to_iov)
{
	uint64_t done = 0;
	for (unsigned i = 0; i < n && done < len; i++) {
		uint64_t l = iov[i].iov_len;
		if (skip >= l) {
			skip -= l;
			continue;
		}
		uint64_t k = l - skip < len - done ? l - skip : len - done;
		uint8_t *g = (uint8_t *)iov[i].iov_base + skip;
		if (to_iov)
			memcpy(g, buf + done, k);
		else
			memcpy(buf + done, g, k);
		done += k;
		skip = 0;
	}
	return done;
}

uint64_t virtq_copy_out(const struct virtq_chain *c, uint64_t skip, void *dst,
			uint64_t len)
{
	return copy_iov(c->iov, c->nout, skip, dst, len, false);
}

uint64_t virtq_copy_in(const struct virtq_chain *c, uint64_t skip,
		       const void *src, uint64_t len)
{
	return copy_iov(c->iov + c->nout, c->nin, skip, (uint8_t *)src, len,
			true);
}
