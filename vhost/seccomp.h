/* netvm's seccomp allowlist (see seccomp.c). */
#ifndef SECCOMP_H
#define SECCOMP_H

#include <stdbool.h>

#include "../lib/nf.h"

/* Installs the filter on every thread (and no_new_privs); files_too lets
 * it still write a --status file and read /proc for debug output. */
int netvm_seccomp(bool files_too, struct nf_err *e);

#endif
