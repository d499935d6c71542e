#define _GNU_SOURCE
#include "netd_spawn.h"

#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../netd/proto.h"

pid_t netd_spawn(const char *dir, char *sock, size_t socklen)
{
	char netd[512], c[300], r[300], s[300];
	const char *b = getenv("NF_BUILD");
	snprintf(netd, sizeof(netd), "%s/netd", b ? b : "build");
	snprintf(c, sizeof(c), "%s/etc", dir);
	snprintf(r, sizeof(r), "%s/run", dir);
	snprintf(s, sizeof(s), "%s/lib", dir);
	snprintf(sock, socklen, "%s/run/netd.sock", dir);
	pid_t pid = fork();
	if (pid == 0) {
		if (!freopen("/dev/null", "w", stderr))
			_exit(126);
		/* a private network namespace: nothing netd makes can reach
		 * the host, and it all goes when netd does */
		if (unshare(CLONE_NEWNET) < 0)
			_exit(125);
		execl(netd, "netd", "--foreground", "--config-dir", c,
		      "--run-dir", r, "--state-dir", s, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 250; i++) {
		struct nf_err e;
		int fd = proto_connect(sock, &e);
		if (fd >= 0) {
			close(fd);
			return pid;
		}
		usleep(20000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

void netd_stop(pid_t pid)
{
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}
