/* kfloor: the kernel's floor for netd's port work, measured with bare
 * system calls in a private network namespace. */
#ifndef KFLOOR_H
#define KFLOOR_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KFLOOR_GROUP 4242

/* n TAPs made and attached to a bridge one by one (IPv6 off on each, or
 * left on): create[i] each; then each deleted by closing its fd: del[i];
 * then n persistent TAPs in one link group deleted by one RTM_DELLINK:
 * *batch. 0, or -1 when the kernel refused something. */
int kfloor_ports(size_t n, bool ipv6_off, uint64_t *create, uint64_t *del,
		 uint64_t *batch);
#endif
