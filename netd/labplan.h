/* What `lab up` on a running lab changes: which of the old lab's
 * networks and guests stay as they are, which go, which are new. Pure
 * model logic (two specs and which old guests still run); lab.c carries
 * the plan out. */
#ifndef LABPLAN_H
#define LABPLAN_H

#include <stdbool.h>

#include "labxml.h"

struct lab_plan {
	/* per new network: the old network of that name, unchanged but for
	 * its pins (which change live), or -1: new, or changed */
	int *net_from;
	/* per old network: not in the new lab unchanged (dropped) */
	bool *net_drop;
	/* per old guest: stops (gone, changed, on a changed network, or
	 * already stopped) */
	bool *guest_stop;
	/* per new guest: the old guest that keeps running as it, or -1 */
	int *guest_from;
	unsigned kept, added, stopped;
};

/* old_running[i]: old->guests[i] has not stopped. */
void lab_plan_make(const struct lab *old, const struct lab *new,
		   const bool *old_running, struct lab_plan *p);
void lab_plan_free(struct lab_plan *p);

#endif
