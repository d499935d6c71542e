#define _GNU_SOURCE
#include "qsd.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define READY_MS 10000 /* the daemon has 10 s to greet */

struct job {
	char dir[PATH_MAX - 32], overlay[PATH_MAX];
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

static const char *tmp_dir(void)
{
	const char *t = getenv("TMPDIR");
	return t && *t ? t : "/tmp";
}

static void cleanup(const struct job *j)
{
	if (j->overlay_made)
		unlink(j->overlay);
	rmdir(j->dir);
}

int qsd_socket(const char *in, int *listener, int *conn, struct nf_err *e)
{
	char dir[PATH_MAX - 32];
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(dir, sizeof(dir), "%s/nbd.XXXXXX", in);
	if (!mkdtemp(dir))
		return nf_errf(e, errno, "a private dir in %s: %s", in,
			       strerror(errno));
	int n = snprintf(a.sun_path, sizeof(a.sun_path), "%s/s", dir), r = 0;
	*listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	*conn = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (n < 0 || (size_t)n >= sizeof(a.sun_path))
		r = nf_errf(e, ENAMETOOLONG, "%s: too long for a socket", dir);
	else if (*listener < 0 || *conn < 0 ||
		 bind(*listener, (struct sockaddr *)&a, sizeof(a)) < 0 ||
		 listen(*listener, 1) < 0 ||
		 connect(*conn, (struct sockaddr *)&a, sizeof(a)) < 0)
		r = nf_errf(e, errno, "a socket in %s: %s", dir,
			    strerror(errno));
	unlink(a.sun_path); /* connected: no one else ever can */
	rmdir(dir);
	if (r < 0) {
		if (*listener >= 0)
			close(*listener);
		if (*conn >= 0)
			close(*conn);
		*listener = *conn = -1;
	}
	return r;
}

void qsd_cmd(struct qsd_cmd *c, const char *file, enum qsd_format fmt,
	     bool readonly, const char *backing, enum qsd_format bfmt, int lfd)
{
	char q[PATH_MAX * 2 + 8];
	const char *ro = readonly ? ",read-only=on" : "";
	size_t a = 0, k = 0;
	memset(c, 0, sizeof(*c));
	c->argv[a++] = "qemu-storage-daemon";
	if (backing) {
		opt_path(q, sizeof(q), backing);
		snprintf(c->s[k], sizeof(c->s[k]),
			 "driver=file,node-name=base0,filename=%.*s,"
			 "read-only=on",
			 PATH_MAX, q);
		c->argv[a++] = "--blockdev", c->argv[a++] = c->s[k++];
		snprintf(c->s[k], sizeof(c->s[k]),
			 "driver=%s,node-name=base,file=base0,read-only=on",
			 bfmt == QSD_QCOW2 ? "qcow2" : "raw");
		c->argv[a++] = "--blockdev", c->argv[a++] = c->s[k++];
	}
	opt_path(q, sizeof(q), file);
	snprintf(c->s[k], sizeof(c->s[k]),
		 "driver=file,node-name=file0,filename=%.*s%s", PATH_MAX, q,
		 ro);
	c->argv[a++] = "--blockdev", c->argv[a++] = c->s[k++];
	snprintf(c->s[k], sizeof(c->s[k]),
		 "driver=%s,node-name=" QSD_EXPORT ",file=file0%s%s",
		 fmt == QSD_QCOW2 ? "qcow2" : "raw", ro,
		 backing ? ",backing=base" : "");
	c->argv[a++] = "--blockdev", c->argv[a++] = c->s[k++];
	snprintf(c->s[k], sizeof(c->s[k]), "addr.type=fd,addr.str=%d", lfd);
	c->argv[a++] = "--nbd-server", c->argv[a++] = c->s[k++];
	snprintf(c->s[k], sizeof(c->s[k]),
		 "type=nbd,id=export0,node-name=" QSD_EXPORT ",name=" QSD_EXPORT
		 ",writable=%s",
		 readonly ? "off" : "on");
	c->argv[a++] = "--export", c->argv[a++] = c->s[k++];
	c->argv[a] = NULL;
}

/* In a child about to exec argv: no signal blocked (netvm blocks those
 * it takes by signalfd, and a mask is inherited), no fd but 0-2 and
 * those below keep. */
static void exec_keep(char *const *argv, unsigned keep)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	close_range(keep, ~0u, 0);
	execvp(argv[0], argv);
	dprintf(2, "cannot run %s: %s", argv[0], strerror(errno));
}

static void exec_argv(void *arg)
{
	exec_keep(arg, 3);
}

#define QCOW2_MAGIC "QFI\xfb"

int qsd_image(int fd, enum qsd_format *fmt, uint64_t *size, struct nf_err *e)
{
	uint8_t h[32];
	struct stat st;
	if (fstat(fd, &st) < 0)
		return nf_errf(e, errno, "%s", strerror(errno));
	ssize_t n = pread(fd, h, sizeof(h), 0);
	bool qcow2 = n == (ssize_t)sizeof(h) && !memcmp(h, QCOW2_MAGIC, 4);
	if (*fmt == QSD_DETECT)
		*fmt = qcow2 ? QSD_QCOW2 : QSD_RAW;
	if (*fmt == QSD_RAW) {
		*size = (uint64_t)st.st_size;
		return 0;
	}
	if (!qcow2)
		return nf_errf(e, EINVAL, "not a qcow2 image (no QFI magic)");
	uint64_t be;
	memcpy(&be, h + 24, 8);
	*size = be64toh(be);
	return 0;
}

int qsd_overlay(const char *path, const char *backing, enum qsd_format bfmt,
		uint64_t size, struct nf_err *e)
{
	char sz[32], msg[1024];
	snprintf(sz, sizeof(sz), "%llu", (unsigned long long)size);
	char *img[] = {"qemu-img",
		       "create",
		       "-q",
		       "-f",
		       "qcow2",
		       "-b",
		       (char *)backing,
		       "-F",
		       bfmt == QSD_QCOW2 ? "qcow2" : "raw",
		       size ? "-u" : (char *)path,
		       size ? (char *)path : NULL,
		       size ? sz : NULL,
		       NULL};
	struct nf_err ignore;
	if (nf_run_child(exec_argv, img, msg, sizeof(msg), &ignore) == 0)
		return 0;
	msg[strcspn(msg, "\n")] = '\0';
	return nf_errf(e, EIO, "qemu-img create of its overlay: %s",
		       msg[0] ? msg : "failed");
}

void qsd_supervise(char *const argv[], int life, int report, const int *fds,
		   unsigned n, const char *dir, const char *overlay)
{
	int errp[2];
	char msg[1024] = "", junk[512];
	size_t have = 0;
	signal(SIGPIPE, SIG_IGN);
	if (pipe2(errp, O_CLOEXEC) < 0)
		_exit(1);
	pid_t d = fork();
	if (d == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM); /* it ends with us */
		int nul = open("/dev/null", O_RDWR);
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(errp[1], 2);
		if (nf_fds_to_3(fds, n) == 0)
			exec_keep(argv, 3 + n);
		_exit(127);
	}
	for (unsigned i = 0; i < n; i++)
		close(fds[i]);
	close(errp[1]);
	struct pollfd p[2] = {{life, POLLIN, 0}, {errp[0], POLLIN, 0}};
	while (d > 0) {
		/* once stderr closed it is ending: look soon */
		if (poll(p, 2, p[1].fd >= 0 ? 1000 : 20) < 0 && errno != EINTR)
			break;
		if (p[0].revents) /* netvm is gone */
			break;
		if (p[1].revents) {
			ssize_t got =
				have < sizeof(msg) - 1
					? read(errp[0], msg + have,
					       sizeof(msg) - 1 - have)
					: read(errp[0], junk, sizeof(junk));
			if (got <= 0)
				p[1].fd = -1; /* it closed stderr: ending */
			else if (have < sizeof(msg) - 1)
				have += (size_t)got;
		}
		if (waitpid(d, NULL, WNOHANG) == d) {
			msg[have] = '\0';
			msg[strcspn(msg, "\n")] = '\0';
			dprintf(report, "%s\n", msg[0] ? msg : "it ended");
			d = -1;
		}
	}
	if (d > 0) {
		kill(d, SIGTERM);
		waitpid(d, NULL, 0);
	}
	if (overlay)
		unlink(overlay);
	if (dir)
		rmdir(dir);
	_exit(0);
}

/* Until the daemon greets on conn (0) or the supervisor reports that it
 * ended (-1, why in msg). */
static int greeted(int conn, int rep, char *msg, size_t n)
{
	struct pollfd p[2] = {{conn, POLLIN, 0}, {rep, POLLIN, 0}};
	char c;
	int r;
	do
		r = poll(p, 2, READY_MS);
	while (r < 0 && errno == EINTR);
	if (r > 0 && !(p[1].revents & POLLIN) &&
	    recv(conn, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 1)
		return 0; /* its greeting, left for the handshake */
	if (r > 0)	  /* it ended: the supervisor says why once it sees */
		poll(&p[1], 1, 2000);
	ssize_t got = r > 0 ? read(rep, msg, n - 1) : -1;
	msg[got > 0 ? got : 0] = '\0';
	msg[strcspn(msg, "\n")] = '\0';
	if (!msg[0])
		snprintf(msg, n, "%s",
			 r == 0 ? "it did not answer in 10 s" : "it ended");
	return -1;
}

int qsd_open(const char *path, enum qsd_format format, bool readonly,
	     bool snapshot, int *fd, struct nf_err *e)
{
	struct job j = {0};
	char abs[PATH_MAX], msg[1024];
	if (!realpath(path, abs))
		return nf_errf(e, errno, "--disk %s: %s", path,
			       strerror(errno));
	snprintf(j.dir, sizeof(j.dir), "%s/netvm-disk.XXXXXX", tmp_dir());
	if (!mkdtemp(j.dir))
		return nf_errf(e, errno, "--disk %s: a private dir in %s: %s",
			       path, tmp_dir(), strerror(errno));
	snprintf(j.overlay, sizeof(j.overlay), "%s/overlay.qcow2", j.dir);
	const char *served = abs;
	enum qsd_format fmt = format;
	if (snapshot) { /* the guest writes into a throw-away overlay */
		if (qsd_overlay(j.overlay, abs, format, 0, e) < 0) {
			cleanup(&j);
			return nf_err_prefix(e, "--disk %s,snapshot=on", path);
		}
		j.overlay_made = true;
		served = j.overlay;
		fmt = QSD_QCOW2;
	}
	struct qsd_cmd cmd;
	qsd_cmd(&cmd, served, fmt, readonly, NULL, QSD_RAW, 3);
	int life[2] = {-1, -1}, rep[2] = {-1, -1}, lst, conn;
	if (qsd_socket(tmp_dir(), &lst, &conn, e) < 0) {
		cleanup(&j);
		return nf_err_prefix(e, "--disk %s", path);
	}
	if (pipe2(life, O_CLOEXEC) < 0 || pipe2(rep, O_CLOEXEC) < 0) {
		int r = nf_errf(e, errno, "pipe: %s", strerror(errno));
		close(lst);
		close(conn);
		cleanup(&j);
		return r;
	}
	pid_t s = fork();
	if (s == 0) { /* nothing of netvm's but these three (its end of
		       * life above all) */
		int nul = open("/dev/null", O_RDWR),
		    keep[] = {life[0], rep[1], lst}, daemon_fd = 5;
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
		if (nf_fds_to_3(keep, 3) < 0)
			_exit(1);
		qsd_supervise(cmd.argv, 3, 4, &daemon_fd, 1, j.dir,
			      j.overlay_made ? j.overlay : NULL);
	}
	close(life[0]);
	close(rep[1]);
	close(lst);
	if (s < 0) {
		close(life[1]);
		close(rep[0]);
		close(conn);
		cleanup(&j);
		return nf_errf(e, errno, "fork: %s", strerror(errno));
	}
	int ok = greeted(conn, rep[0], msg, sizeof(msg));
	close(rep[0]);
	if (ok < 0) {
		static const char me[] = "qemu-storage-daemon: ";
		const char *why = msg;
		if (!strncmp(why, me, sizeof(me) - 1)) /* it names itself */
			why += sizeof(me) - 1;
		close(conn);
		close(life[1]); /* the supervisor cleans up and ends */
		waitpid(s, NULL, 0);
		return nf_errf(e, EIO, "--disk %s: qemu-storage-daemon: %s",
			       path, why);
	}
	*fd = conn;
	/* life[1] stays open, unused, until netvm ends */
	return 0;
}
