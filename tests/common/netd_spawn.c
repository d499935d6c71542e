#define _GNU_SOURCE
#include "netd_spawn.h"

#include <sched.h>
#include <dirent.h>
#include <signal.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../lib/proto.h"

static char run_dir[300];

pid_t netd_spawn(const char *dir, char *sock, size_t socklen)
{
	return netd_spawn_run(dir, NULL, sock, socklen);
}

pid_t netd_spawn_run(const char *dir, const char *run, char *sock,
		     size_t socklen)
{
	char netd[512], c[300], r[300], s[300];
	const char *b = getenv("NF_BUILD");
	snprintf(netd, sizeof(netd), "%s/netd", b ? b : "build");
	snprintf(c, sizeof(c), "%s/etc", dir);
	if (run)
		snprintf(r, sizeof(r), "%s", run);
	else
		snprintf(r, sizeof(r), "%s/run", dir);
	snprintf(run_dir, sizeof(run_dir), "%s", r);
	snprintf(s, sizeof(s), "%s/lib", dir);
	snprintf(sock, socklen, "%s/netd.sock", r);
	pid_t pid = fork();
	if (pid == 0) {
		if (!getenv("NF_BENCH_STDERR") &&
		    !freopen("/dev/null", "w", stderr))
			_exit(126);
		/* a private network namespace: nothing netd makes can reach
		 * the host, and it all goes when netd does */
		if (unshare(CLONE_NEWNET) < 0)
			_exit(125);
		execl(netd, "netd", "--foreground", "--config-dir", c,
		      "--run-dir", r, "--state-dir", s, "--log-level",
		      getenv("NF_BENCH_STDERR") ? "debug" : "info",
		      (char *)NULL);
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

/* Stops netd and then everything else living in its private namespace
 * (networks outlive netd by design: their dnsmasq would linger). */
void netd_stop(pid_t pid)
{
	char path[64], ns[64] = "", other[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	ssize_t n = readlink(path, ns, sizeof(ns) - 1);
	ns[n > 0 ? n : 0] = '\0';
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	DIR *d = opendir("/proc");
	struct dirent *de;
	while (*ns && d && (de = readdir(d))) {
		int p = atoi(de->d_name);
		if (p <= 1)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/ns/net", p);
		n = readlink(path, other, sizeof(other) - 1);
		other[n > 0 ? n : 0] = '\0';
		if (n > 0 && !strcmp(other, ns))
			kill(p, SIGKILL);
	}
	if (d)
		closedir(d);
	/* dnsmasq's files of its networks, where its user could read them */
	char tag[32], fb[128], cmd[200];
	nf_owner_tag(run_dir, tag, sizeof(tag));
	snprintf(fb, sizeof(fb), "/run/netd-dnsmasq/%s", tag + 5);
	snprintf(cmd, sizeof(cmd),
		 "rm -rf '%s'; rmdir /run/netd-dnsmasq 2>/dev/null; true", fb);
	if (system(cmd) != 0)
		return;
}
