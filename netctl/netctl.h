/* What netctl's command files share (netctl.c, labctl.c). */
#ifndef NETCTL_H
#define NETCTL_H

#include <jansson.h>
#include <stdbool.h>

#include "../lib/cmds.h"
#include "../lib/proto.h"

extern bool ctl_opt_json; /* --json: print results as JSON */

/* netd's socket (--socket, NETD_SOCKET or the default) */
const char *ctl_socket_path(void);
/* One request to netd; 0 with *result set, or 1 after printing why. */
int ctl_call(enum nf_cmd cmd, json_t *args, json_t **result);
/* The same, passing fds along (files the user opened for netd). */
int ctl_call_fds(enum nf_cmd cmd, json_t *args, const int *fds, size_t nfds,
		 json_t **result);
/* The same, also taking the fds the reply brings (rfds holds *nrfds;
 * *nrfds becomes how many came). */
int ctl_call_io(enum nf_cmd cmd, json_t *args, const int *fds, size_t nfds,
		json_t **result, int *rfds, size_t *nrfds);
/* port-create --exec: runs argv with the port's fds at 3, 4, ... and its
 * facts in the environment, waits for it, deletes the port (if it is
 * still there) and returns its exit status (128 + signal if killed). */
int ctl_port_exec(json_t *port, int *fds, size_t nfds, char **argv);
int ctl_print_json(json_t *j);
/* With --json: prints r, frees it and says so (the command is done). */
bool ctl_json_done(json_t *r);
const char *ctl_jstr(json_t *o, const char *k); /* "" when absent */
const char *ctl_yesno(json_t *o, const char *k);
int ctl_die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *
ctl_read_input(const char *path); /* a whole file; NULL after saying why */
/* rows: objects; cols: their keys; heads: column titles. */
void ctl_print_table(json_t *rows, const char **cols, const char **heads,
		     size_t ncols);

/* labctl.c: netctl lab SUBCOMMAND (argv[1] is the subcommand) */
int ctl_lab_up(int argc, char **argv);
int ctl_lab_down(int argc, char **argv);
int ctl_lab_status(int argc, char **argv);
int ctl_lab_list(int argc, char **argv);
int ctl_lab_console(int argc, char **argv);
int ctl_lab_graph(int argc, char **argv);
int ctl_lab_export(int argc, char **argv);
/* portctl.c: virsh's net-port-* in libvirt's network port XML */
int ctl_net_port_create(int argc, char **argv);
int ctl_net_port_list(int argc, char **argv);
int ctl_net_port_dumpxml(int argc, char **argv);
int ctl_net_port_delete(int argc, char **argv);

#endif
