/* Foreign ports (foreign.c): every interface that becomes a port of a
 * bridge netd made, without netd making it (libvirt's vnetN, a QEMU
 * helper's TAP, a veth), is a port of kind "foreign" on that network. */
#ifndef FOREIGN_H
#define FOREIGN_H

#include "network.h"

/* The link monitor: ports' interfaces going, interfaces joining and
 * leaving netd's bridges, MACs the bridges learn. */
int foreign_init(struct registry *r, struct nf_err *e);
/* After a restart: adopts the ports of every live network's bridge that
 * no record holds. */
void foreign_recover(struct registry *r);
/* The network's policy changed (net-metadata --live): its foreign ports
 * are adopted again under the new one. */
void foreign_repolicy(struct registry *r, struct network *n);

#endif
