/* Labs inside netd (lab.c): lab up/down/status/console requests, and the
 * re-adoption of running labs when netd starts. */
#ifndef LAB_H
#define LAB_H

#include "labxml.h"
#include "network.h"

int lab_up(struct registry *r, struct request *q, json_t *args, json_t **res,
	   struct nf_err *e);
int lab_down(struct registry *r, struct request *q, json_t *args, json_t **res,
	     struct nf_err *e);
int lab_status(struct registry *r, struct request *q, json_t *args,
	       json_t **res, struct nf_err *e);
int lab_console(struct registry *r, struct request *q, json_t *args,
		json_t **res, struct nf_err *e);
/* At start, after the networks and ports: every lab recorded in the state
 * dir, with the guests whose netvm still runs. */
void labs_recover(struct registry *r);
void labs_close(struct registry *r);

#endif
