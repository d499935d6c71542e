/* Ports on hostdev and passthrough networks (vfport.c): SR-IOV VFs (or
 * netdevs) handed to one guest each, their state saved and restored; and
 * the sriov-* requests. */
#ifndef VFPORT_H
#define VFPORT_H

#include "network.h"

int vfport_preflight(struct registry *r, const struct netdef *d,
		     struct nf_err *e);
/* Picks a free device, records its state, configures and hands it over:
 * macvtap fds, or a VF bound to vfio-pci. p has its MAC, queues and
 * owner; kind/dev/lower/pci/tap are filled in. A PF driver takes its time
 * with a VF's MAC, so the end comes through done(ctx) - at once or from
 * a timer - with rc and the fds; a negative return is an error found
 * before anything changed (done is not called then). */
typedef void (*vfport_done_fn)(struct registry *r, struct port *p, int rc,
			       int *fds, unsigned nfds, struct nf_err *e,
			       void *ctx);
int vfport_create(struct registry *r, struct network *n, struct port *p,
		  json_t *args, vfport_done_fn done, void *ctx,
		  struct nf_err *e);
/* Restores what the port's record says was there. */
void vfport_release(struct registry *r, struct port *p);
/* After a restart: is the port's owner (and macvtap) still there? */
bool vfport_alive(struct registry *r, const struct port *p);
/* Restores every record no port holds (a crash, a reboot). */
void vfport_recover(struct registry *r);
/* sriov-list and sriov-set-numvfs */
int sriov_list(struct registry *r, struct request *q, json_t *args,
	       json_t **res, struct nf_err *e);
int sriov_numvfs(struct registry *r, struct request *q, json_t *args,
		 json_t **res, struct nf_err *e);

#endif
