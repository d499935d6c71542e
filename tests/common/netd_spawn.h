/* Starts a netd of this build in temp dirs under `dir`, in a network
 * namespace of its own, for tests and benchmarks. The binary is
 * $NF_BUILD/netd (default build/netd). */
#ifndef NETD_SPAWN_H
#define NETD_SPAWN_H
#include <sys/types.h>

/* Forks netd, waits until its socket answers. Returns the pid or -1.
 * sock receives the socket path. */
pid_t netd_spawn(const char *dir, char *sock, size_t socklen);
/* The same with the run dir at run (e.g. on tmpfs, as /run is), not
 * under dir. */
pid_t netd_spawn_run(const char *dir, const char *run, char *sock,
		     size_t socklen);
void netd_stop(pid_t pid);
#endif
