#include "labplan.h"

#include <stdlib.h>
#include <string.h>

/* The same network but for the guests' pins: same name, both the host's
 * or both the lab's with the same definition. */
static bool net_same(const struct lab_net *a, const struct lab_net *b)
{
	if (strcmp(a->name, b->name) || a->ref != b->ref)
		return false;
	return (!a->base && !b->base) ||
	       (a->base && b->base && !strcmp(a->base, b->base));
}

/* g's networks all carried over unchanged */
static bool nets_kept(const struct lab *new, const struct lab_guest *g,
		      const struct lab_plan *p)
{
	for (size_t f = 0; f < g->nifs; f++)
		for (size_t k = 0; k < new->nnets; k++)
			if (!strcmp(new->nets[k].name, g->ifs[f].network) &&
			    p->net_from[k] < 0)
				return false;
	return true;
}

void lab_plan_make(const struct lab *old, const struct lab *new,
		   const bool *old_running, struct lab_plan *p)
{
	memset(p, 0, sizeof(*p));
	p->net_from = nf_xcalloc(new->nnets + 1, sizeof(int));
	p->net_drop = nf_xcalloc(old->nnets + 1, sizeof(bool));
	p->guest_stop = nf_xcalloc(old->nguests + 1, sizeof(bool));
	p->guest_from = nf_xcalloc(new->nguests + 1, sizeof(int));
	for (size_t i = 0; i < new->nnets; i++) {
		p->net_from[i] = -1;
		for (size_t k = 0; k < old->nnets; k++)
			if (net_same(&new->nets[i], &old->nets[k]))
				p->net_from[i] = (int)k;
	}
	for (size_t k = 0; k < old->nnets; k++) {
		p->net_drop[k] = true;
		for (size_t i = 0; i < new->nnets; i++)
			if (p->net_from[i] == (int)k)
				p->net_drop[k] = false;
	}
	for (size_t i = 0; i < old->nguests; i++) {
		const struct lab_guest *og = &old->guests[i],
				       *ng = lab_guest_find(new, og->name);
		p->guest_stop[i] = !ng || !old_running[i] ||
				   !nets_kept(new, ng, p) ||
				   !lab_guest_same(ng, og);
		p->stopped += p->guest_stop[i];
	}
	for (size_t i = 0; i < new->nguests; i++) {
		p->guest_from[i] = -1;
		for (size_t k = 0; k < old->nguests; k++)
			if (!p->guest_stop[k] &&
			    !strcmp(old->guests[k].name, new->guests[i].name))
				p->guest_from[i] = (int)k;
		if (p->guest_from[i] >= 0)
			p->kept++;
		else
			p->added++;
	}
}

void lab_plan_free(struct lab_plan *p)
{
	free(p->net_from);
	free(p->net_drop);
	free(p->guest_stop);
	free(p->guest_from);
	memset(p, 0, sizeof(*p));
}
