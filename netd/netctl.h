/* What netctl's command files share (netctl.c, labctl.c). */
#ifndef NETCTL_H
#define NETCTL_H

#include <jansson.h>
#include <stdbool.h>

#include "proto.h"

extern bool opt_json; /* --json: print results as JSON */

/* One request to netd; 0 with *result set, or 1 after printing why. */
int call(const char *cmd, json_t *args, json_t **result);
/* The same, passing fds along (files the user opened for netd). */
int call_fds(const char *cmd, json_t *args, const int *fds, size_t nfds,
	     json_t **result);
int print_json(json_t *j);
const char *jstr(json_t *o, const char *k); /* "" when absent */
const char *yesno(json_t *o, const char *k);
int die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *read_input(const char *path); /* a whole file; NULL after saying why */
/* rows: objects; cols: their keys; heads: column titles. */
void print_table(json_t *rows, const char **cols, const char **heads,
		 size_t ncols);

int c_lab(int argc, char **argv); /* labctl.c */

#endif
