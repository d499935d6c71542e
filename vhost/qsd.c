#define _GNU_SOURCE
#include "qsd.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define READY_TRIES 1000 /* 10 ms apart: the export has 10 s to appear */

struct job {
	char dir[PATH_MAX - 32], export[PATH_MAX], overlay[PATH_MAX];
	bool overlay_made;
};

/* A path in QEMU's option syntax: a comma is doubled. */
static void opt_path(char *out, size_t n, const char *path)
{
	size_t k = 0;
	for (const char *p = path; *p && k + 2 < n; p++) {
		if (*p == ',')
			out[k++] = ',';
		out[k++] = *p;
	}
	out[k] = '\0';
}

static void cleanup(const struct job *j)
{
	unlink(j->export);
	if (j->overlay_made)
		unlink(j->overlay);
	rmdir(j->dir);
}

/* In a child about to exec argv: no signal blocked (netvm blocks those
 * it takes by signalfd, and a mask is inherited), no fd but 0-2. */
static void exec_argv(void *arg)
{
	char *const *argv = arg;
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	close_range(3, ~0u, 0);
	execvp(argv[0], argv);
	dprintf(2, "cannot run %s: %s", argv[0], strerror(errno));
}

/* The supervisor (a process of its own, fds 3: netvm's life, 4: the
 * report): starts the daemon, reports "Y" once the export is mounted or
 * "N" and why not, then waits for netvm to end (or the daemon to die),
 * stops the daemon and removes what was made. */
static void supervise(const struct job *j, char *const argv[])
{
	int errp[2];
	char msg[1024] = "";
	if (pipe2(errp, O_CLOEXEC) < 0)
		_exit(1);
	pid_t d = fork();
	if (d == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM); /* it ends with us */
		int nul = open("/dev/null", O_RDWR);
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(errp[1], 2);
		exec_argv((void *)argv);
		_exit(127);
	}
	close(errp[1]);
	fcntl(errp[0], F_SETFL, O_NONBLOCK);
	struct stat dir, ex;
	bool ready = false;
	stat(j->dir, &dir);
	for (int i = 0; d > 0 && i < READY_TRIES && !ready; i++) {
		/* mounted: the export file is on the FUSE file system */
		if (stat(j->export, &ex) == 0 && ex.st_dev != dir.st_dev)
			ready = true;
		else if (waitpid(d, NULL, WNOHANG) == d)
			d = -1;
		else
			usleep(10000);
	}
	ssize_t n = read(errp[0], msg, sizeof(msg) - 1);
	msg[n > 0 ? n : 0] = '\0';
	msg[strcspn(msg, "\n")] = '\0';
	if (ready) {
		if (write(4, "Y", 1) < 0)
			ready = false;
	} else {
		dprintf(4, "N%s", msg[0] ? msg : "no export appeared in 10 s");
	}
	close(4);
	/* until netvm is gone (its end of the pipe closes), or the daemon */
	struct pollfd p = {3, POLLIN, 0};
	while (ready && d > 0 && waitpid(d, NULL, WNOHANG) == 0)
		if (poll(&p, 1, 1000) > 0)
			break;
	if (d > 0) {
		kill(d, SIGTERM);
		waitpid(d, NULL, 0);
	}
	cleanup(j);
	_exit(0);
}

int qsd_open(const char *path, enum qsd_format format, bool readonly,
	     bool snapshot, int *fd, struct nf_err *e)
{
	struct job j = {0};
	char abs[PATH_MAX], file[PATH_MAX * 2 + 64], fmt[128],
		exp[PATH_MAX * 2 + 96], msg[1024];
	const char *tmp = getenv("TMPDIR");
	if (!realpath(path, abs))
		return nf_errf(e, errno, "--disk %s: %s", path,
			       strerror(errno));
	snprintf(j.dir, sizeof(j.dir), "%s/netvm-disk.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(j.dir))
		return nf_errf(e, errno, "--disk %s: a private dir in %s: %s",
			       path, tmp && *tmp ? tmp : "/tmp",
			       strerror(errno));
	snprintf(j.export, sizeof(j.export), "%s/export", j.dir);
	snprintf(j.overlay, sizeof(j.overlay), "%s/overlay.qcow2", j.dir);
	int x = open(j.export, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	if (x < 0) {
		int r = nf_errf(e, errno, "--disk %s: %s: %s", path, j.export,
				strerror(errno));
		cleanup(&j);
		return r;
	}
	close(x);
	const char *served = abs,
		   *driver = format == QSD_QCOW2 ? "qcow2" : "raw";
	if (snapshot) { /* the guest writes into a throw-away overlay */
		char *img[] = {"qemu-img",     "create",  "-q", "-f",
			       "qcow2",	       "-b",	  abs,	"-F",
			       (char *)driver, j.overlay, NULL};
		struct nf_err ignore;
		int st =
			nf_run_child(exec_argv, img, msg, sizeof(msg), &ignore);
		if (st != 0) {
			msg[strcspn(msg, "\n")] = '\0';
			cleanup(&j);
			return nf_errf(e, EIO,
				       "--disk %s,snapshot=on: qemu-img create "
				       "of its overlay: %s",
				       path, msg[0] ? msg : "failed");
		}
		j.overlay_made = true;
		served = j.overlay;
		driver = "qcow2";
	}
	char q[PATH_MAX * 2];
	opt_path(q, sizeof(q), served);
	snprintf(file, sizeof(file),
		 "driver=file,node-name=file0,filename=%s%s", q,
		 readonly ? ",read-only=on" : "");
	snprintf(fmt, sizeof(fmt), "driver=%s,node-name=disk0,file=file0%s",
		 driver, readonly ? ",read-only=on" : "");
	opt_path(q, sizeof(q), j.export);
	snprintf(exp, sizeof(exp),
		 "type=fuse,id=export0,node-name=disk0,mountpoint=%s,"
		 "writable=%s",
		 q, readonly ? "off" : "on");
	char *argv[] = {"qemu-storage-daemon",
			"--blockdev",
			file,
			"--blockdev",
			fmt,
			"--export",
			exp,
			NULL};
	int life[2], rep[2];
	if (pipe2(life, O_CLOEXEC) < 0 || pipe2(rep, O_CLOEXEC) < 0) {
		cleanup(&j);
		return nf_errf(e, errno, "pipe: %s", strerror(errno));
	}
	pid_t s = fork();
	if (s == 0) { /* fds 3 and 4 as supervise wants them, nothing else
		       * of netvm's (its end of life above all) */
		int l = fcntl(life[0], F_DUPFD, 10),
		    r = fcntl(rep[1], F_DUPFD, 10),
		    nul = open("/dev/null", O_RDWR);
		dup2(l, 3);
		dup2(r, 4);
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
		close_range(5, ~0u, 0);
		supervise(&j, argv);
	}
	close(life[0]);
	close(rep[1]);
	if (s < 0) {
		close(life[1]);
		close(rep[0]);
		cleanup(&j);
		return nf_errf(e, errno, "fork: %s", strerror(errno));
	}
	ssize_t n = read(rep[0], msg, sizeof(msg) - 1);
	close(rep[0]);
	msg[n > 0 ? n : 0] = '\0';
	if (n < 1 || msg[0] != 'Y') {
		static const char me[] = "qemu-storage-daemon: ";
		const char *why = n > 1 ? msg + 1 : "did not start";
		if (!strncmp(why, me, sizeof(me) - 1)) /* it names itself */
			why += sizeof(me) - 1;
		close(life[1]); /* the supervisor cleans up and ends */
		waitpid(s, NULL, 0);
		return nf_errf(e, EIO, "--disk %s: qemu-storage-daemon: %s",
			       path, why);
	}
	*fd = open(j.export, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (*fd < 0) {
		int r = nf_errf(e, errno, "--disk %s: its export: %s", path,
				strerror(errno));
		close(life[1]);
		waitpid(s, NULL, 0);
		return r;
	}
	/* life[1] stays open, unused, until netvm ends */
	return 0;
}
