/* netd: the netfabric daemon. Owns the host's virtual networks; serves
 * requests from netctl (and netvm) on a unix socket. Single-threaded: one
 * epoll loop, so every request sees and leaves a consistent state. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"
#include "lab.h"
#include "dispatch.h"
#include "foreign.h"
#include "lifecycle.h"
#include "network.h"
#include "port.h"
#include "../lib/proto.h"
#include "server.h"

struct netd {
	const char *config_dir, *run_dir, *state_dir, *socket_path;
	const char *dnsmasq_dir, *guest_user;
	gid_t admin_gid;
	bool have_admin_group;
	size_t client_queue;
	int sigfd;
	struct registry reg;
	struct server *srv;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: netd [options]\n"
		"  --config-dir DIR   network definitions (default /etc/netd)\n"
		"  --run-dir DIR      live state and socket (default "
		"/run/netd)\n"
		"  --state-dir DIR    leases and saved state (default "
		"/var/lib/netd)\n"
		"  --socket PATH      control socket (default "
		"RUN_DIR/netd.sock)\n"
		"  --netvm PATH       netvm for lab guests (default: beside "
		"netd)\n"
		"  --probe PATH       the probe guest kernel for labs\n"
		"  --guest-user USER  lab guests (netvm) run as this user, "
		"without\n"
		"                     privileges (default netfabric, else "
		"nobody)\n"
		"  --sysfs-root DIR   where sys/ is, for SR-IOV (default /; "
		"elsewhere a fake\n"
		"                     PF driver in DIR/vfnl keeps VF "
		"attributes)\n"
		"  --group NAME       group allowed to change networks "
		"(besides root)\n"
		"  --client-queue SIZE  unread replies and events a client "
		"may have before\n"
		"                     it is disconnected (default 4M)\n"
		"  --foreground       stay in the foreground, log to stderr\n"
		"  --syslog           log to syslog (default when not "
		"--foreground)\n"
		"  --log-level LEVEL  error, warning, info (default) or debug\n"
		"  --dnsmasq PATH     dnsmasq binary (default "
		"/usr/sbin/dnsmasq)\n"
		"  --dnsmasq-dir DIR  where dnsmasq's hostsfile and addn-hosts "
		"go; its user\n"
		"                     must reach it (default RUN_DIR/dnsmasq, "
		"else\n"
		"                     /run/netd-dnsmasq/TAG)\n"
		"  --strict           refuse network XML parts libvirt would "
		"ignore or keep\n"
		"                     unserved (as net-define --validate), "
		"instead of warning\n"
		"  --version\n");
}

static int handle(void *ctx, const char *cmd, json_t *args, struct request *q,
		  json_t **result, struct nf_err *e)
{
	struct netd *d = ctx;
	return dispatch(&d->reg, cmd, q, args, result, e);
}

static void emit_event(const char *event, const char *network, const char *port,
		       void *ctx)
{
	struct netd *d = ctx;
	if (d->srv)
		server_emit(d->srv, event, network, port);
}

static int lock_dir(const char *dir, const char *name, struct nf_err *e)
{
	char path[4096], pid[32];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd =
		open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY,
		     0644);
	if (fd < 0)
		return nf_errf(e, errno, "cannot open %s: %s", path,
			       strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		ssize_t n = read(fd, pid, sizeof(pid) - 1);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		close(fd);
		return nf_errf(e, EBUSY,
			       "another netd (pid %s) already uses %s; one "
			       "netd per set of directories",
			       *pid ? pid : "?", dir);
	}
	if (ftruncate(fd, 0) == 0) {
		int l = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
		if (write(fd, pid, (size_t)l) < 0)
			nf_debug("cannot write pid to %s", path);
	}
	return fd; /* kept open for the daemon's lifetime */
}

static void on_signal(void *ctx)
{
	struct netd *d = ctx;
	struct signalfd_siginfo si;
	while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			/* dnsmasq daemonises: as subreaper we inherit and
			 * reap it */
			while (waitpid(-1, NULL, WNOHANG) > 0)
				;
			continue;
		}
		if (si.ssi_signo != SIGHUP) {
			nf_info("signal %u: shutting down (networks keep "
				"running)",
				si.ssi_signo);
			loop_stop();
		}
	}
}

/* A file next to netd's own binary (the build tree), or at the installed
 * place relative to it. */
static void beside_me(const char *here, const char *installed, char *out,
		      size_t n)
{
	char exe[4096];
	ssize_t l = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[l > 0 ? l : 0] = 0;
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	if (nf_fmt(out, n, "%s/%s", exe, here) < 0 || access(out, F_OK) < 0)
		(void)nf_fmt(out, n, "%s/%s", exe, installed);
}

static int setup(struct netd *d, struct nf_err *e)
{
	const char *dirs[] = {d->config_dir, d->run_dir, d->state_dir};
	const char *opts[] = {"--config-dir", "--run-dir", "--state-dir"};
	char sockdir[4096];
	sigset_t mask;
	int r;

	for (size_t i = 0; i < NF_ARRAY_SIZE(dirs); i++) {
		if ((r = nf_dir_trusted(dirs[i], opts[i], e)) < 0)
			return r;
		if ((r = lock_dir(dirs[i], ".netd.lock", e)) < 0)
			return r;
	}
	/* whoever can write where the socket is could swap it for theirs */
	snprintf(sockdir, sizeof(sockdir), "%s", d->socket_path);
	char *slash = strrchr(sockdir, '/');
	if (slash)
		*slash = '\0';
	if ((r = nf_dir_trusted(slash ? (*sockdir ? sockdir : "/") : ".",
				"--socket", e)) < 0)
		return r;
	d->reg.run_dir = d->run_dir;
	d->reg.admin_group = d->have_admin_group;
	d->reg.state_dir = d->state_dir;
	nf_owner_tag(d->run_dir, d->reg.owner, sizeof(d->reg.owner));
	if ((r = registry_dnsmasq_dir(&d->reg, d->dnsmasq_dir, e)) < 0)
		return r;
	/* lab guests: an unprivileged user, and the probe kernel (netd's
	 * own file) open for them */
	const char *gu = d->guest_user		 ? d->guest_user
			 : getpwnam("netfabric") ? "netfabric"
						 : "nobody";
	struct passwd *pw = getpwnam(gu);
	if (!pw)
		return nf_errf(e, ENOENT, "--guest-user: there is no user '%s'",
			       gu);
	d->reg.guest_uid = pw->pw_uid;
	d->reg.guest_gid = pw->pw_gid;
	if (!pw->pw_uid)
		nf_warn("lab guests run as root (--guest-user %s)", gu);
	d->reg.probe_fd = open(d->reg.probe_path, O_RDONLY | O_CLOEXEC);
	d->reg.emit = emit_event;
	d->reg.emit_ctx = d;
	d->reg.ping_check = network_ping_check;
	if ((r = bridge_open(&d->reg.br, e)) < 0 ||
	    (r = nat_open(&d->reg.nat, e)) < 0)
		return r;
	/* dnsmasq's leases are released by a packet to the bridge's own
	 * address, which travels over lo: a namespace fresh from `ip netns
	 * add` has it down */
	if ((r = bridge_ensure_up(d->reg.br, "lo", e)) < 0)
		nf_warn("%s: leases of ports that go stay until they expire",
			e->msg);
	else if (r > 0)
		nf_info("brought lo up (a port's lease is released over it)");
	if ((r = registry_open(&d->reg, d->config_dir, e)) < 0)
		return r;
	nf_defer_replaced(true); /* loop_run lets them go after answering */
	if (loop_init() < 0)
		return nf_errf(e, errno, "epoll: %s", strerror(errno));
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	nf_fd_limit_raise(); /* many clients; children get the old limit */
	signal(SIGPIPE, SIG_IGN);
	d->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	loop_watch(d->sigfd, on_signal, d);
	if ((r = foreign_init(&d->reg, e)) < 0)
		return r;
	registry_recover(&d->reg);
	foreign_recover(&d->reg);
	/* guests kept their range leases while netd was away */
	ports_sync_all_leases(&d->reg);
	labs_recover(&d->reg);
	struct server_opts so = {.path = d->socket_path,
				 .have_admin_group = d->have_admin_group,
				 .admin_gid = d->admin_gid,
				 .events_max = d->client_queue,
				 .handle = handle,
				 .ctx = d};
	return server_open(&d->srv, &so, e);
}

/* --client-queue SIZE: bytes, K or M */
static int parse_queue(const char *arg, size_t *out)
{
	char *end;
	unsigned long long v = strtoull(arg, &end, 10);
	unsigned sh = *end == 'K' || *end == 'k'   ? 10
		      : *end == 'M' || *end == 'm' ? 20
						   : 0;
	if (end == arg || end[sh ? 1 : 0] || v < 1 || v > (1ull << (40 - sh)))
		return -1;
	*out = (size_t)(v << sh);
	return 0;
}

/* One option into d; 0, or the exit status after saying what is wrong. */
static int parse_opt(struct netd *d, int c, const char *arg, bool *foreground,
		     bool *use_syslog, int *level)
{
	struct group *g;
	switch (c) {
	case 'c': d->config_dir = arg; return 0;
	case 'r': d->run_dir = arg; return 0;
	case 's': d->state_dir = arg; return 0;
	case 'S': d->socket_path = arg; return 0;
	case 'Y': d->reg.sysroot = arg; return 0;
	case 'N': d->reg.netvm_path = arg; return 0;
	case 'P': d->reg.probe_path = arg; return 0;
	case 'U': d->guest_user = arg; return 0;
	case 'D': d->reg.dnsmasq = arg; return 0;
	case 'H': d->dnsmasq_dir = arg; return 0;
	case 'f': *foreground = true; return 0;
	case 'l': *use_syslog = true; return 0;
	case 'T': d->reg.strict = true; return 0;
	case 'g':
		if (!(g = getgrnam(arg))) {
			fprintf(stderr, "netd: no group '%s'\n", arg);
			return EX_USAGE;
		}
		d->admin_gid = g->gr_gid;
		d->have_admin_group = true;
		return 0;
	case 'Q':
		if (parse_queue(arg, &d->client_queue) == 0)
			return 0;
		fprintf(stderr,
			"netd: --client-queue takes a size like 4M or 64K\n");
		return EX_USAGE;
	case 'L':
		if ((*level = nf_log_parse_level(arg)) >= 0)
			return 0;
		fprintf(stderr, "netd: --log-level takes error, warning, info "
				"or debug\n");
		return EX_USAGE;
	default: usage(stderr); return EX_USAGE;
	}
}

/* The command line into d: -1 to go on, or the status to exit with. */
static int parse_args(int argc, char **argv, struct netd *d, bool *foreground,
		      bool *use_syslog, int *level)
{
	static const struct option opts[] = {
		{"config-dir", required_argument, NULL, 'c'},
		{"run-dir", required_argument, NULL, 'r'},
		{"state-dir", required_argument, NULL, 's'},
		{"socket", required_argument, NULL, 'S'},
		{"group", required_argument, NULL, 'g'},
		{"client-queue", required_argument, NULL, 'Q'},
		{"foreground", no_argument, NULL, 'f'},
		{"syslog", no_argument, NULL, 'l'},
		{"log-level", required_argument, NULL, 'L'},
		{"dnsmasq", required_argument, NULL, 'D'},
		{"dnsmasq-dir", required_argument, NULL, 'H'},
		{"sysfs-root", required_argument, NULL, 'Y'},
		{"netvm", required_argument, NULL, 'N'},
		{"probe", required_argument, NULL, 'P'},
		{"guest-user", required_argument, NULL, 'U'},
		{"strict", no_argument, NULL, 'T'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{0}};
	int c, rc;
	while ((c = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
		if (c == 'V') {
			printf("netd %s\n", NF_VERSION);
			return 0;
		}
		if (c == 'h') {
			usage(stdout);
			return 0;
		}
		if ((rc = parse_opt(d, c, optarg, foreground, use_syslog,
				    level)))
			return rc;
	}
	if (optind < argc) {
		fprintf(stderr, "netd: unexpected argument '%s'\n",
			argv[optind]);
		usage(stderr);
		return EX_USAGE;
	}
	return -1;
}

/* The paths netd derives: its socket (in the run dir unless given; lab
 * guests get it absolute), netvm and the probe guest beside netd's own
 * binary unless given. */
/* p against the directory netd started in (a daemon works from /). */
static const char *absolute(const char *p, char *buf, size_t n)
{
	char cwd[2048];
	if (!p || p[0] == '/' || !getcwd(cwd, sizeof(cwd)) ||
	    nf_fmt(buf, n, "%s/%s", cwd, p) < 0)
		return p;
	return buf;
}

/* The paths netd derives: its directories and socket absolute (lab
 * guests get the socket; a daemon works from /), the socket in the run
 * dir unless given, netvm and the probe guest beside netd's own binary
 * unless given. */
static void derive_paths(struct netd *d)
{
	static char sock[4096], cfg[4096], run[4096], state[4096], dq[4096],
		netvm[4096], probe[4096];
	d->config_dir = absolute(d->config_dir, cfg, sizeof(cfg));
	d->run_dir = absolute(d->run_dir, run, sizeof(run));
	d->state_dir = absolute(d->state_dir, state, sizeof(state));
	d->dnsmasq_dir = absolute(d->dnsmasq_dir, dq, sizeof(dq));
	if (!d->socket_path) {
		snprintf(sock, sizeof(sock), "%s/netd.sock", d->run_dir);
		d->socket_path = sock;
	} else {
		d->socket_path = absolute(d->socket_path, sock, sizeof(sock));
	}
	d->reg.socket_path = d->socket_path;
	beside_me("netvm", "../bin/netvm", netvm, sizeof(netvm));
	beside_me("guest/probe.elf", "../lib/netfabric/probe.elf", probe,
		  sizeof(probe));
	if (!d->reg.netvm_path)
		d->reg.netvm_path = netvm;
	if (!d->reg.probe_path)
		d->reg.probe_path = probe;
}

/* Without --foreground netd detaches, and the command returns once the
 * daemon serves its socket (0) or with the reason it could not start (1):
 * a script may use netd at once. The daemon works from /, its output to
 * /dev/null (its log goes to syslog). */
static int detach(int *ready)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		char msg[1100];
		size_t len = 0;
		close(p[1]);
		for (ssize_t n;
		     len < sizeof(msg) - 1 &&
		     (n = read(p[0], msg + len, sizeof(msg) - 1 - len)) > 0;)
			len += (size_t)n;
		msg[len] = 0;
		if (!strcmp(msg, "ok"))
			_exit(0);
		fprintf(stderr, "netd: %s\n",
			len ? msg : "the daemon ended before it was ready");
		_exit(1);
	}
	close(p[0]);
	setsid();
	if (chdir("/") < 0)
		nf_debug("chdir /: %s", strerror(errno));
	int null = open("/dev/null", O_RDWR);
	dup2(null, 0);
	dup2(null, 1);
	dup2(null, 2);
	if (null > 2)
		close(null);
	*ready = p[1];
	return 0;
}

int main(int argc, char **argv)
{
	struct netd d = {.config_dir = "/etc/netd",
			 .run_dir = "/run/netd",
			 .state_dir = "/var/lib/netd",
			 .reg.dnsmasq = "/usr/sbin/dnsmasq",
			 .reg.sysroot = ""};
	bool foreground = false, use_syslog = false;
	int level = NF_LOG_INFO;
	struct nf_err e = {0};
	int rc = parse_args(argc, argv, &d, &foreground, &use_syslog, &level);
	if (rc >= 0)
		return rc;
	derive_paths(&d);
	nf_log_init("netd", use_syslog || !foreground,
		    (enum nf_log_level)level);
	int ready = -1;
	if (!foreground && (rc = detach(&ready)) < 0) {
		fprintf(stderr, "netd: cannot detach: %s\n", strerror(-rc));
		return 1;
	}
	if (setup(&d, &e) < 0) {
		nf_err_log("%s", e.msg);
		if (ready >= 0 && write(ready, e.msg, strlen(e.msg)) < 0)
			nf_debug("cannot tell the caller: %s", strerror(errno));
		return 1;
	}
	nf_info("netd %s ready on %s", NF_VERSION, d.socket_path);
	if (ready >= 0) {
		if (write(ready, "ok", 2) != 2)
			nf_debug("cannot tell the caller: %s", strerror(errno));
		close(ready);
	}
	loop_run();
	server_close(d.srv);
	d.srv = NULL;
	labs_close(&d.reg);
	registry_close(&d.reg);
	bridge_close(d.reg.br);
	nat_close(d.reg.nat);
	return 0;
}
