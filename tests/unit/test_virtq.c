/* Unit tests for the device side of the split virtqueue: well-formed
 * chains (direct, indirect, mixed directions), EVENT_IDX and flag-based
 * interrupt suppression, and every rule a hostile driver can break - each
 * must mark the queue broken with a reason, never touch memory outside
 * the guest buffer (run under ASan in `make fuzz`'s sibling). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../vhost/virtq.h"

#define MEM  (64 * 1024)
#define NUM  8
#define DESC 0x1000
#define AVL  0x2000
#define USED 0x3000

static uint8_t *mem;

static struct vring_desc *desc(unsigned i)
{
	return (struct vring_desc *)(mem + DESC) + i;
}
static struct vring_avail *avail(void)
{
	return (struct vring_avail *)(mem + AVL);
}
static struct vring_used *used(void)
{
	return (struct vring_used *)(mem + USED);
}

static void setup(struct virtq *q, bool event_idx)
{
	memset(mem, 0, MEM);
	memset(q, 0, sizeof(*q));
	q->num = NUM;
	q->desc_gpa = DESC;
	q->avail_gpa = AVL;
	q->used_gpa = USED;
	q->mem = mem;
	q->mem_size = MEM;
	q->event_idx = event_idx;
	q->indirect = true;
	assert_int_equal(virtq_start(q), 0);
}

static void offer(uint16_t head)
{
	avail()->ring[avail()->idx % NUM] = head;
	avail()->idx++;
}

static struct virtq_chain c;

static void test_chain(void **st)
{
	(void)st;
	struct virtq q;
	setup(&q, false);
	*desc(0) = (struct vring_desc){0x8000, 12, VRING_DESC_F_NEXT, 3};
	*desc(3) = (struct vring_desc){0x9000, 100, VRING_DESC_F_WRITE, 0};
	memcpy(mem + 0x8000, "hello world!", 12);
	assert_int_equal(virtq_pop(&q, &c), 0); /* nothing offered */
	offer(0);
	assert_int_equal(virtq_pop(&q, &c), 1);
	assert_int_equal(c.head, 0);
	assert_int_equal(c.nout, 1);
	assert_int_equal(c.nin, 1);
	assert_int_equal(c.out_len, 12);
	assert_int_equal(c.in_len, 100);
	char buf[16] = {0};
	assert_int_equal(virtq_copy_out(&c, 6, buf, sizeof(buf)), 6);
	assert_string_equal(buf, "world!");
	assert_int_equal(virtq_copy_in(&c, 98, "xyz", 3), 2); /* capped */
	assert_memory_equal(mem + 0x9000 + 98, "xy", 2);
	virtq_push(&q, c.head, 42);
	assert_int_equal(used()->idx, 0); /* not visible before publish */
	virtq_publish(&q);
	assert_int_equal(used()->idx, 1);
	assert_int_equal(used()->ring[0].id, 0);
	assert_int_equal(used()->ring[0].len, 42);
	assert_true(virtq_need_interrupt(&q));
	avail()->flags = VRING_AVAIL_F_NO_INTERRUPT;
	virtq_push(&q, 0, 0);
	virtq_publish(&q);
	assert_false(virtq_need_interrupt(&q));
}

static void test_indirect(void **st)
{
	(void)st;
	struct virtq q;
	setup(&q, false);
	struct vring_desc *t = (struct vring_desc *)(mem + 0x5000);
	t[0] = (struct vring_desc){0x8000, 10, VRING_DESC_F_NEXT, 1};
	t[1] = (struct vring_desc){0x8100, 20, VRING_DESC_F_NEXT, 2};
	t[2] = (struct vring_desc){0x8200, 30, VRING_DESC_F_WRITE, 0};
	*desc(5) = (struct vring_desc){0x5000, 48, VRING_DESC_F_INDIRECT, 0};
	offer(5);
	assert_int_equal(virtq_pop(&q, &c), 1);
	assert_int_equal(c.head, 5);
	assert_int_equal(c.nout, 2);
	assert_int_equal(c.nin, 1);
	assert_int_equal(c.out_len, 30);
	assert_false(q.broken);
}

static void test_event_idx(void **st)
{
	(void)st;
	struct virtq q;
	setup(&q, true);
	*desc(0) = (struct vring_desc){0x8000, 64, VRING_DESC_F_WRITE, 0};
	uint16_t *used_event = &avail()->ring[NUM];
	*used_event = 1; /* interrupt once the used index passes 1 */
	offer(0), offer(0);
	assert_int_equal(virtq_pop(&q, &c), 1);
	virtq_push(&q, c.head, 1);
	virtq_publish(&q);
	assert_false(virtq_need_interrupt(&q));
	assert_int_equal(virtq_pop(&q, &c), 1);
	virtq_push(&q, c.head, 1);
	virtq_publish(&q);
	assert_true(virtq_need_interrupt(&q));
	/* avail_event tells the driver where to kick */
	assert_false(virtq_enable_kicks(&q));
	uint16_t ev;
	memcpy(&ev, mem + USED + 4 + 8 * NUM, 2);
	assert_int_equal(ev, 2);
	offer(0);
	assert_true(virtq_enable_kicks(&q)); /* raced: more is there */
}

static void test_unpop(void **st)
{
	(void)st;
	struct virtq q;
	setup(&q, false);
	*desc(1) = (struct vring_desc){0x8000, 64, VRING_DESC_F_WRITE, 0};
	offer(1);
	assert_int_equal(virtq_pop(&q, &c), 1);
	virtq_unpop(&q, 1);
	assert_int_equal(virtq_pop(&q, &c), 1);
	assert_int_equal(virtq_pop(&q, &c), 0);
}

/* Each hostile ring must break the queue with a reason. */
static void hostile(void (*make)(void), const char *why)
{
	struct virtq q;
	setup(&q, false);
	make();
	assert_int_equal(virtq_pop(&q, &c), -1);
	assert_true(q.broken);
	assert_non_null(strstr(q.why, why));
	assert_int_equal(virtq_pop(&q, &c), -1); /* and stays broken */
	virtq_push(&q, 0, 1);
	virtq_publish(&q);
	assert_int_equal(used()->idx, 0); /* a broken queue writes nothing */
}

static void outside_ram(void)
{
	*desc(0) = (struct vring_desc){MEM - 10, 64, 0, 0};
	offer(0);
}
static void huge_addr(void)
{
	*desc(0) = (struct vring_desc){~0ull - 4, 64, 0, 0};
	offer(0);
}
static void loop(void)
{
	*desc(0) = (struct vring_desc){0x8000, 64, VRING_DESC_F_NEXT, 1};
	*desc(1) = (struct vring_desc){0x8000, 64, VRING_DESC_F_NEXT, 0};
	offer(0);
}
static void next_oob(void)
{
	*desc(0) = (struct vring_desc){0x8000, 64, VRING_DESC_F_NEXT, 200};
	offer(0);
}
static void head_oob(void)
{
	offer(NUM);
}
static void idx_jump(void)
{
	avail()->idx = NUM + 1;
}
static void write_then_read(void)
{
	*desc(0) = (struct vring_desc){
		0x8000, 64, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1};
	*desc(1) = (struct vring_desc){0x8000, 64, 0, 0};
	offer(0);
}
static void nested_indirect(void)
{
	struct vring_desc *t = (struct vring_desc *)(mem + 0x5000);
	t[0] = (struct vring_desc){0x5000, 16, VRING_DESC_F_INDIRECT, 0};
	*desc(0) = (struct vring_desc){0x5000, 16, VRING_DESC_F_INDIRECT, 0};
	offer(0);
}
static void indirect_loop(void)
{
	struct vring_desc *t = (struct vring_desc *)(mem + 0x5000);
	t[0] = (struct vring_desc){0x8000, 8, VRING_DESC_F_NEXT, 1};
	t[1] = (struct vring_desc){0x8000, 8, VRING_DESC_F_NEXT, 0};
	*desc(0) = (struct vring_desc){0x5000, 32, VRING_DESC_F_INDIRECT, 0};
	offer(0);
}
static void indirect_bad_len(void)
{
	*desc(0) = (struct vring_desc){0x5000, 17, VRING_DESC_F_INDIRECT, 0};
	offer(0);
}
static void indirect_outside(void)
{
	*desc(0) = (struct vring_desc){MEM - 16, 32, VRING_DESC_F_INDIRECT, 0};
	offer(0);
}
static void too_long(void)
{
	/* a chain through every descriptor and then some: capped */
	for (unsigned i = 0; i < NUM; i++)
		*desc(i) = (struct vring_desc){0x8000, 1, VRING_DESC_F_NEXT,
					       (uint16_t)((i + 1) % NUM)};
	offer(0);
}

static void test_hostile(void **st)
{
	(void)st;
	hostile(outside_ram, "outside guest RAM");
	hostile(huge_addr, "outside guest RAM");
	hostile(loop, "loops");
	hostile(next_oob, "next 200 out of 8");
	hostile(head_oob, "head 8 out of 8");
	hostile(idx_jump, "avail index jumped");
	hostile(write_then_read, "readable descriptor after a writable");
	hostile(nested_indirect, "nested indirect");
	hostile(indirect_loop, "indirect chain loops");
	hostile(indirect_bad_len, "indirect table length 17");
	hostile(indirect_outside, "indirect table outside guest RAM");
	hostile(too_long, "");
}

static void test_bad_rings(void **st)
{
	(void)st;
	struct virtq q = {.num = 6, .mem = mem, .mem_size = MEM};
	assert_int_equal(virtq_start(&q), -1); /* not a power of 2 */
	q = (struct virtq){
		.num = 8, .desc_gpa = MEM - 64, .mem = mem, .mem_size = MEM};
	assert_int_equal(virtq_start(&q), -1);
	assert_non_null(strstr(q.why, "outside guest RAM"));
	q = (struct virtq){
		.num = 8, .desc_gpa = 8, .mem = mem, .mem_size = MEM};
	assert_int_equal(virtq_start(&q), -1);
	assert_non_null(strstr(q.why, "misaligned"));
	q = (struct virtq){.num = 8,
			   .desc_gpa = DESC,
			   .avail_gpa = AVL,
			   .used_gpa = MEM - 68,
			   .mem = mem,
			   .mem_size = MEM,
			   .event_idx = true};
	assert_int_equal(virtq_start(&q), -1); /* no room for avail_event */
}

int main(void)
{
	mem = malloc(MEM);
	const struct CMUnitTest t[] = {
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_indirect),
		cmocka_unit_test(test_event_idx),
		cmocka_unit_test(test_unpop),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_bad_rings),
	};
	int r = cmocka_run_group_tests(t, NULL, NULL);
	free(mem);
	return r;
}
