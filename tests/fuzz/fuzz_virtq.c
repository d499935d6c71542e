/* libFuzzer target for the device side of the virtqueue: the input is the
 * guest - queue size, ring addresses, feature bits and the bytes of guest
 * RAM (rings, descriptors, indirect tables). The device pops, copies in and
 * out, pushes and asks about interrupts and kicks the way netvm's backends
 * do. Guest RAM is an exact-size heap block, so ASan reports any access
 * outside it; a loop that does not end is a hang libFuzzer reports. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "../../vhost/virtq.h"

#define MEM (16 * 1024)

static struct virtq_chain c;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 16)
		return 0;
	uint8_t *mem = malloc(MEM);
	memset(mem, 0, MEM);
	memcpy(mem, data + 16, size - 16 < MEM ? size - 16 : MEM);
	struct virtq q = {0};
	uint16_t v[8];
	memcpy(v, data, 16);
	q.num = v[0] & 0x7ff;
	q.desc_gpa = v[1] % (MEM + 64);
	q.avail_gpa = v[2] % (MEM + 64);
	q.used_gpa = v[3] % (MEM + 64);
	q.event_idx = v[4] & 1;
	q.indirect = v[4] & 2;
	q.mem = mem;
	q.mem_size = MEM;
	if (virtq_start(&q) == 0) {
		uint8_t buf[256];
		for (int round = 0; round < 64; round++) {
			int r = virtq_pop(&q, &c);
			if (r < 0)
				break;
			if (r == 0) {
				if (!virtq_enable_kicks(&q))
					break;
				continue;
			}
			virtq_copy_out(&c, v[5] % 64, buf, sizeof(buf));
			uint64_t n =
				virtq_copy_in(&c, v[6] % 64, buf, sizeof(buf));
			if (round & 1)
				virtq_unpop(&q, 1);
			else
				virtq_push(&q, c.head, (uint32_t)n);
			virtq_publish(&q);
			virtq_need_interrupt(&q);
			virtq_disable_kicks(&q);
		}
	}
	free(mem);
	return 0;
}
