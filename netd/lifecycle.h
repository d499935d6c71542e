/* Network lifecycle (lifecycle.c): start, destroy, create, crash
 * recovery, dnsmasq supervision and the live changes net-update makes. */
#ifndef LIFECYCLE_H
#define LIFECYCLE_H

#include "network.h"

/* Chooses where dnsmasq's hostsfile and addn-hosts go: want (an
 * operator's --dnsmasq-dir, which must work), else RUN_DIR/dnsmasq when
 * dnsmasq's user can reach it, else a directory of this netd's under
 * /run/netd-dnsmasq; with none reachable, net-start will say why. */
int registry_dnsmasq_dir(struct registry *r, const char *want,
			 struct nf_err *e);
/* After a restart: re-adopts what still runs from the run dir's status,
 * removes what netd made that no longer belongs, then autostarts. */
void registry_recover(struct registry *r);
/* start/destroy emit "started"/"stopped". */
int network_start(struct registry *r, struct network *n, struct nf_err *e);
int network_destroy(struct registry *r, struct network *n, struct nf_err *e);
/* net-create: starts a transient network from nx (taken over, freed on
 * failure) for the caller q; *out (may be NULL) is its entry. */
int network_create(struct registry *r, const struct request *q,
		   struct netxml *nx, struct network **out, struct nf_err *e);
/* Live changes to a running network: restart its dnsmasq with a
 * regenerated config; re-install its tables (and port guards); record
 * its live definition. */
/* Restarts n's dnsmasq when whether it pings before offering must change
 * (network_guards_all); the registry's ping_check. */
void network_ping_check(struct registry *r, struct network *n);
int network_restart_dnsmasq(struct registry *r, struct network *n,
			    struct nf_err *e);
int network_refirewall(struct registry *r, struct network *n, struct nf_err *e);
int network_save_live(struct registry *r, struct network *n, struct nf_err *e);

#endif
