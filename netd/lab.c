/* Labs: several networks and many guests, brought up and down as one.
 * netd creates the lab's networks (transient), then runs each guest as a
 * netvm process of its own session (lab-GUEST, console and log in the
 * lab's state dir), at most as many booting at once as there are CPUs,
 * and watches the networks' leases until every guest has its addresses.
 * Everything is written to STATE_DIR/labs/NAME/lab.json before it is
 * created; each netvm carries its status-file path (in that dir) on its
 * command line, so after a kill -9 of netd - or of `lab up` - `lab down`
 * still finds every process and network that belongs to the lab.
 * A guest's own start process (netd's child, before it becomes netvm)
 * makes what is per guest and costs time: its console and log files, its
 * console socket, its disk (a qcow2 overlay and qemu-storage-daemon, run
 * as the user who brought the lab up) and its cloud-init seed; netd's
 * loop only forks. */
#define _GNU_SOURCE
#include "lab.h"
#include "labplan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../vhost/qsd.h"
#include "loop.h"
#include "lifecycle.h"
#include "port.h"
#include "update.h"

enum { G_PENDING, G_BOOTING, G_UP, G_STOPPED, G_STOPPING };
static const char *const gstate_name[] = {"pending", "booting", "up", "stopped",
					  "stopping"};

struct grun {
	struct labrun *lab; /* NULL once it is only being stopped */
	struct registry *reg;
	char name[48], labname[33];
	int state;
	/* its netvm: the pid with the start time (and uid) name that process
	 * and no later one, whatever else runs with a look-alike command */
	pid_t pid;
	unsigned long long start;
	uid_t uid;
	int pidfd;
	uint64_t id; /* names its port requests in flight */
	int port_fd[LAB_MAX_IFS];
	char tap[LAB_MAX_IFS][16];
	unsigned ports_pending;
	uint64_t deadline; /* while stopping: SIGKILL, then give up */
	bool killed;
	uint64_t t_spawn, t_up;
	bool checked; /* its leases were looked at since it started */
	bool tried;   /* spawned (or tried to be) since the lab came up */
	char leased[LAB_MAX_IFS][INET6_ADDRSTRLEN];
};

struct labrun {
	struct registry *reg;
	struct lab *spec;
	char *xml, *dir, *file; /* the lab file as given, where it was */
	bool *made;		/* per network: created by the lab */
	struct grun **g;	/* per guest */
	/* the kernels, initrds and images the client opened (lab_files
	 * order) */
	char **files;
	int *fds;
	size_t nfiles;
	uid_t uid; /* who brought it up: its images are read as them */
	gid_t gid;
	struct later *down; /* lab down under way: its reply, once stopped */
	unsigned down_guests, down_nets;
	uint64_t t_start, t_nets, t_guests, t_up;
	uint64_t t_down, t_stopped; /* lab down: asked; the guests signalled */
	uint64_t lease_stamp;	    /* of the lease files when last read */
};

/* -------------------------------------------------------------- paths */

static void lab_dir(const struct registry *r, const char *name, char *out,
		    size_t n)
{
	snprintf(out, n, "%s/labs/%s", r->state_dir, name);
}

/* A guest's files in the lab's dir: GUEST.console and GUEST.log. */
static void guest_file(const struct labrun *L, const char *guest,
		       const char *ext, char *out, size_t n)
{
	char d[2048];
	lab_dir(L->reg, L->spec->name, d, sizeof(d));
	snprintf(out, n, "%s/%s.%s", d, guest, ext);
}

/* Whether file (in the lab's dir) is the overlay of a guest that keeps
 * it beyond lab down. */
static bool kept_file(const struct lab *l, const char *file)
{
	for (size_t i = 0; l && i < l->nguests; i++) {
		size_t n = strlen(l->guests[i].name);
		if (l->guests[i].keep && !strncmp(file, l->guests[i].name, n) &&
		    !strcmp(file + n, ".qcow2"))
			return true;
	}
	return false;
}

/* dir and what it holds, but for the overlays l's guests keep. */
static void rm_tree(const char *dir, const struct lab *l)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char p[4096];
	while (d && (de = readdir(d))) {
		if ((de->d_name[0] == '.' &&
		     (!de->d_name[1] || !strcmp(de->d_name, ".."))) ||
		    kept_file(l, de->d_name))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

/* Where a guest's netvm listens for console clients: in netd's run dir,
 * named by a hash of lab and guest (a socket path holds 107 bytes). */
static void serial_path(const struct registry *r, const char *lab,
			const char *guest, char *out, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
	for (const char *p = lab; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
	h = (h ^ '/') * 0x100000001b3ull;
	for (const char *p = guest; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
	snprintf(out, n, "%s/serial/%016llx", r->run_dir,
		 (unsigned long long)h);
}

static const struct lab_guest *spec_of(const struct grun *g)
{
	return lab_guest_find(g->lab->spec, g->name);
}

/* ------------------------------------------------------------- record */

static json_t *guest_json(const struct grun *g)
{
	return json_pack("{s:s, s:i, s:I, s:i, s:s}", "name", g->name, "pid",
			 (int)g->pid, "start", (json_int_t)g->start, "uid",
			 (int)g->uid, "state", gstate_name[g->state]);
}

/* One guest's record beside the lab's (GUEST.state): what a restarted
 * netd needs to tell whether it still runs. Written on each change of the
 * guest's, so a change costs the same however many guests the lab has;
 * atomically but not synced: it guards against netd being killed, which
 * the page cache survives, and a power cut ends the guests anyway. */
static void save_guest(const struct grun *g)
{
	char d[2048], name[96];
	struct nf_err e;
	if (!g->lab) /* it left its lab (stopping): nothing to record */
		return;
	lab_dir(g->reg, g->labname, d, sizeof(d));
	snprintf(name, sizeof(name), "%s.state", g->name);
	if (nf_json_record(d, name, guest_json(g), &e) < 0)
		nf_err_log("lab '%s': %s", g->labname, e.msg);
}

/* The lab's record (lab.json: its definition and networks; each guest's
 * is its own) and every guest's: durable when the lab is made, as its
 * definition must survive a power cut. */
static int save_how(struct labrun *L, bool durable, struct nf_err *e)
{
	char d[2048];
	lab_dir(L->reg, L->spec->name, d, sizeof(d));
	json_t *nets = json_array();
	for (size_t i = 0; i < L->spec->nnets; i++)
		json_array_append_new(nets, json_pack("{s:s, s:b}", "name",
						      L->spec->nets[i].name,
						      "made", L->made[i]));
	json_t *j = json_pack("{s:s, s:s, s:s?, s:s?, s:o}", "name",
			      L->spec->name, "xml", L->xml, "dir", L->dir,
			      "file", L->file, "networks", nets);
	int rc = nf_json_write(d, "lab.json", j, durable, e);
	for (size_t i = 0; rc == 0 && i < L->spec->nguests; i++)
		save_guest(L->g[i]);
	return rc;
}

static int save(struct labrun *L, struct nf_err *e)
{
	return save_how(L, true, e);
}

static void save_log(struct labrun *L)
{
	struct nf_err e;
	if (save_how(L, false, &e) < 0)
		nf_err_log("lab '%s': %s", L->spec->name, e.msg);
}

/* ------------------------------------------------------- processes */

static void kick(struct registry *r);
static void finish_down(struct labrun *L);

/* How long a guest has to power off once its ACPI power button is
 * pressed (netvm does that at SIGTERM, then stops it), and when netd
 * sends SIGKILL to a netvm that has not ended by then. */
#define GUEST_SHUTDOWN_S 30
#define GUEST_KILL_NS	 ((GUEST_SHUTDOWN_S + 5) * 1000000000ull)
#define STR_(x)		 #x
#define STR(x)		 STR_(x)

/* Guests being stopped that are no longer part of a running lab (a lab
 * going down, or reconciled away): SIGTERM sent (the power button),
 * SIGKILL 5 s after netvm's own deadline, given up on 1 s after that. Whatever
 * waits for a lab's guests to be gone (lab down's reply, a reconciled lab's new
 * guests) goes on when the last of them is. */
static struct grun **stopping;
static size_t nstopping;
static uint64_t stop_timer;

static bool alive(const struct grun *g)
{
	return g->pid > 0 &&
	       nf_proc_is(g->pid, g->uid, g->start, g->reg->netvm_path);
}

static void unwatch(struct grun *g)
{
	loop_unwatch_pid(&g->pidfd);
	for (size_t i = 0; i < LAB_MAX_IFS; i++) {
		if (g->port_fd[i] >= 0)
			close(g->port_fd[i]);
		g->port_fd[i] = -1;
	}
}

static bool lab_stopping(const char *lab)
{
	for (size_t i = 0; i < nstopping; i++)
		if (!strcmp(stopping[i]->labname, lab))
			return true;
	return false;
}

static void stopped(struct grun *g)
{
	struct registry *r = g->reg;
	char lab[sizeof(g->labname)];
	for (size_t i = 0; i < nstopping; i++)
		if (stopping[i] == g)
			stopping[i] = stopping[--nstopping];
	snprintf(lab, sizeof(lab), "%s", g->labname);
	unwatch(g);
	free(g);
	if (lab_stopping(lab))
		return;
	for (size_t k = 0; k < r->nlabs; k++)
		if (!strcmp(r->labs[k]->spec->name, lab)) {
			if (r->labs[k]->down)
				finish_down(r->labs[k]);
			else
				kick(r); /* its new guests may start now */
			return;
		}
}

static void stop_tick(void *ctx)
{
	struct registry *r = ctx;
	uint64_t now = nf_now_ns(), next = UINT64_MAX;
	stop_timer = 0;
	for (size_t i = 0; i < nstopping;) {
		struct grun *g = stopping[i];
		if (now >= g->deadline && (g->killed || !alive(g))) {
			if (alive(g))
				nf_warn("lab '%s': netvm %d of guest %s did "
					"not "
					"end after SIGKILL; no longer waited "
					"for",
					g->labname, (int)g->pid, g->name);
			stopped(g); /* may drop others: start over */
			i = 0;
			continue;
		}
		if (now >= g->deadline) {
			nf_warn("lab '%s': netvm %d of guest %s ignored "
				"SIGTERM for %d s; killed",
				g->labname, (int)g->pid, g->name,
				GUEST_SHUTDOWN_S + 5);
			kill(g->pid, SIGKILL);
			g->killed = true;
			g->deadline = now + 1000000000ull;
		}
		if (g->deadline < next)
			next = g->deadline;
		i++;
	}
	if (nstopping && next != UINT64_MAX)
		stop_timer = loop_after((unsigned)((next - now) / 1000000 + 1),
					stop_tick, r);
}

static void guest_exited(void *ctx)
{
	struct grun *g = ctx;
	int st = 0;
	/* its status, unless netd's SIGCHLD reaping took it first */
	bool known = waitpid(g->pid, &st, WNOHANG) == g->pid;
	if (g->state == G_STOPPING) {
		/* netvm's status: 0 the guest powered off (the power button
		 * heeded), 4 stopped by netvm when it was not */
		if (known && WIFEXITED(st) && WEXITSTATUS(st) == 0)
			nf_info("lab '%s': guest %s powered off", g->labname,
				g->name);
		else if (known)
			nf_info("lab '%s': guest %s stopped without powering "
				"off (netvm status %d)",
				g->labname, g->name,
				WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		stopped(g);
		return;
	}
	unwatch(g);
	nf_info("lab '%s': guest %s (netvm %d) ended", g->labname, g->name,
		(int)g->pid);
	g->state = G_STOPPED;
	g->pid = 0;
	save_guest(g);
}

static void watch(struct grun *g)
{
	g->pidfd = loop_watch_pid(g->pid, guest_exited, g);
}

/* Ends a guest's netvm without waiting: SIGTERM (netvm presses the
 * guest's ACPI power button, stops it if it has not powered off in
 * GUEST_SHUTDOWN_S, and its TAPs go), the rest is stop_tick's and
 * guest_exited's. The grun leaves its lab (its slot gets a fresh one, stopped).
 */
static void stop_guest(struct labrun *L, size_t k)
{
	struct grun *g = L->g[k], *fresh = nf_xcalloc(1, sizeof(*fresh));
	*fresh = (struct grun){
		.lab = L, .reg = L->reg, .pidfd = -1, .state = G_STOPPED};
	snprintf(fresh->name, sizeof(fresh->name), "%s", g->name);
	snprintf(fresh->labname, sizeof(fresh->labname), "%s", g->labname);
	for (size_t i = 0; i < LAB_MAX_IFS; i++)
		fresh->port_fd[i] = -1;
	L->g[k] = fresh;
	g->lab = NULL;
	if (!alive(g)) {
		unwatch(g);
		free(g);
		return;
	}
	kill(g->pid, SIGTERM);
	g->state = G_STOPPING;
	g->deadline = nf_now_ns() + GUEST_KILL_NS;
	if (g->pidfd < 0)
		watch(g);
	NF_APPEND(stopping, nstopping, g);
	if (stop_timer)
		loop_cancel(stop_timer);
	stop_timer = 0;
	stop_tick(L->reg);
}

/* The fd of a kernel or initrd the client passed for path. */
static int file_fd(const struct labrun *L, const char *path)
{
	for (size_t i = 0; i < L->nfiles; i++)
		if (!strcmp(L->files[i], path))
			return L->fds[i];
	return -1;
}

/* Everything the guest's netvm gets, as fds (it runs without rights of
 * its own: no /dev/kvm, no netd socket, no paths): the kernel (and
 * initrd), /dev/kvm, its console file, a TAP per interface (and
 * /dev/vhost-net when the host has it), the NBD socket of its disk. */
struct handout {
	int fd[8 + 2 * LAB_MAX_IFS];
	size_t n;
};

static int hand(struct handout *h, int fd)
{
	h->fd[h->n] = fd;
	return 3 + (int)h->n++; /* its number in the child */
}

/* The child side, first: a session of its own, and held until netd has
 * recorded it (no record, no exec). */
static void guest_child(int sync)
{
	char c;
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setsid();
	if (read(sync, &c, 1) != 1)
		_exit(126);
}

/* Drops what a process netd starts for a user may not keep: groups,
 * capabilities, the way back to them. */
static int become(uid_t uid, gid_t gid)
{
	if (uid != 0) {
		for (int cap = 0; cap <= 63; cap++)
			prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
		if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
		    setresuid(uid, uid, uid) < 0) {
			dprintf(2, "netd: cannot become uid %u: %s\n",
				(unsigned)uid, strerror(errno));
			return -1;
		}
	}
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	return 0;
}

/* Then, between fork and exec: fds to 3.., identity of the guest user,
 * no way back to any privilege. */
static void become_guest(const struct registry *r, struct handout *h, int logfd)
{
	int nul = open("/dev/null", O_RDONLY);
	dup2(nul, 0);
	dup2(logfd, 1);
	dup2(logfd, 2);
	if (nf_fds_to_3(h->fd, (unsigned)h->n) < 0)
		_exit(125);
	nf_fd_limit_restore();
	if (become(r->guest_uid, r->guest_gid) < 0)
		_exit(124);
}

/* Starts the guest's netvm once its ports are there. */
/* netvm's command line for a guest, and the fds it inherits (h). */
struct guest_cmd {
	const char *argv[48];
	char kern[16], ird[16], kvm[16], con[16], mem[16], cpus[16], vm[64];
	char disk[32];
	int con_slot;  /* the console file, which the child opens */
	int disk_slot; /* its fd, once the child has it: h.fd[disk_slot] */
	int life_slot; /* the storage supervisor's pipe, which it holds */
	char seed[40];
	int seed_slot;	 /* the cloud-init seed, once the child made it */
	char serial[24]; /* --serial-socket, bound by the child too */
	int serial_slot;
	char nets[LAB_MAX_IFS][200];
	int vh[LAB_MAX_IFS]; /* /dev/vhost-net, one per interface */
	struct handout h;
};

static void guest_cmd(struct registry *r, const struct grun *g,
		      const struct lab_guest *s, int kfd, int ifd, int kvm,
		      struct guest_cmd *c)
{
	size_t a = 0;
	const char **argv = c->argv;
	snprintf(c->kern, sizeof(c->kern), "fd:%d", hand(&c->h, kfd));
	if (ifd >= 0)
		snprintf(c->ird, sizeof(c->ird), "fd:%d", hand(&c->h, ifd));
	snprintf(c->kvm, sizeof(c->kvm), "%d", hand(&c->h, kvm));
	c->con_slot = (int)c->h.n; /* the child opens it */
	snprintf(c->con, sizeof(c->con), "fd:%d", hand(&c->h, -1));
	snprintf(c->mem, sizeof(c->mem), "%uM", s->mem_mib);
	snprintf(c->cpus, sizeof(c->cpus), "%u", s->cpus);
	snprintf(c->vm, sizeof(c->vm), "lab-%s", s->name);
	argv[a++] = r->netvm_path;
	argv[a++] = "run";
	argv[a++] = "--kernel", argv[a++] = c->kern;
	if (ifd >= 0)
		argv[a++] = "--initrd", argv[a++] = c->ird;
	/* the probe guest keeps answering once it has its addresses */
	argv[a++] = "--cmdline";
	argv[a++] =
		s->cmdline ? s->cmdline : (s->kernel ? "" : "serve=2000000000");
	argv[a++] = "--mem", argv[a++] = c->mem;
	argv[a++] = "--cpus", argv[a++] = c->cpus;
	argv[a++] = "--name", argv[a++] = c->vm;
	argv[a++] = "--kvm-fd", argv[a++] = c->kvm;
	argv[a++] = "--console", argv[a++] = c->con;
	argv[a++] = "--shutdown-timeout", argv[a++] = STR(GUEST_SHUTDOWN_S);
	c->serial_slot = (int)c->h.n; /* guest_serial */
	snprintf(c->serial, sizeof(c->serial), "fd:%d", hand(&c->h, -1));
	argv[a++] = "--serial-socket", argv[a++] = c->serial;
	if (s->image) { /* the child connects it (guest_disk) */
		c->disk_slot = (int)c->h.n;
		snprintf(c->disk, sizeof(c->disk), "fd:%d,format=nbd",
			 hand(&c->h, -1));
		c->life_slot = (int)c->h.n;
		hand(&c->h, -1);
		argv[a++] = "--disk", argv[a++] = c->disk;
	}
	if (s->ci_on) { /* made by the child too (guest_seed) */
		c->seed_slot = (int)c->h.n;
		snprintf(c->seed, sizeof(c->seed), "fd:%d,readonly=on",
			 hand(&c->h, -1));
		argv[a++] = "--disk", argv[a++] = c->seed;
	}
	for (size_t i = 0; i < s->nifs; i++) {
		int t = hand(&c->h, g->port_fd[i]);
		c->vh[i] = access("/dev/vhost-net", F_OK) == 0
				   ? open("/dev/vhost-net", O_RDWR | O_CLOEXEC)
				   : -1;
		if (c->vh[i] >= 0)
			snprintf(c->nets[i], sizeof(c->nets[i]),
				 "fd=%d,vhost-fd=%d,mac=%s", t,
				 hand(&c->h, c->vh[i]), s->ifs[i].mac);
		else
			snprintf(c->nets[i], sizeof(c->nets[i]), "fd=%d,mac=%s",
				 t, s->ifs[i].mac);
		argv[a++] = "--net", argv[a++] = c->nets[i];
	}
	argv[a] = NULL;
}

/* netvm pid runs g, still held at its sync pipe: recorded and watched
 * before it is let go, its ports given to it. */
static void guest_started(struct registry *r, struct grun *g, pid_t pid,
			  int sync)
{
	struct labrun *L = g->lab;
	const struct lab_guest *s = spec_of(g);
	struct nf_proc pr;
	g->pid = pid;
	g->uid = r->guest_uid;
	g->start = nf_proc_read(pid, &pr) == 0 ? pr.start : 0;
	g->t_spawn = nf_now_ns();
	g->checked = false;
	memset(g->leased, 0, sizeof(g->leased));
	watch(g);
	save_guest(g); /* recorded before it runs */
	if (write(sync, "", 1) != 1)
		nf_err_log("lab '%s': guest %s: cannot release netvm %d",
			   L->spec->name, g->name, (int)pid);
	for (size_t i = 0; i < s->nifs; i++)
		port_set_owner(r, g->tap[i], pid);
}

static enum qsd_format image_format(const struct lab_guest *s)
{
	return s->image_format == LAB_IMAGE_RAW	    ? QSD_RAW
	       : s->image_format == LAB_IMAGE_QCOW2 ? QSD_QCOW2
						    : QSD_DETECT;
}

/* The guest's overlay, open read-write: made anew unless the guest
 * keeps the one it has; the member's. -1 with why in e. */
static int open_overlay(const struct labrun *L, const struct lab_guest *s,
			int base, const char *ov, enum qsd_format *bf,
			struct nf_err *e)
{
	uint64_t size = 0;
	if (base < 0)
		return nf_errf(e, EBADF,
			       "image %s was not passed by the client",
			       s->image);
	if (qsd_image(base, bf, &size, e) < 0 || !size)
		return nf_errf(e, EINVAL, "image %s: %s", s->image,
			       e->msg[0] ? e->msg : "it is empty");
	if ((!s->keep || access(ov, F_OK) < 0) &&
	    qsd_overlay(ov, s->image, *bf, size, e) < 0)
		return -1;
	int fd = open(ov, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fchown(fd, L->uid, L->gid) < 0 || fchmod(fd, 0600) < 0) {
		nf_errf(e, errno, "%s: %s", ov, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* The guest's disk, in its child before it becomes the guest user (netd
 * goes on meanwhile): its overlay over the base made (or, kept, found
 * again) and given to the user who brought the lab up; then
 * qemu-storage-daemon started as that user on the overlay and the base,
 * both as fds it reopens through /proc with that user's rights and no
 * more, serving the disk over NBD on a socket whose other end netvm gets.
 * The daemon is netvm's child and ends with it. Problems go to the
 * guest's log. */
static int guest_disk(const struct labrun *L, const struct grun *g,
		      const struct lab_guest *s, int logfd, struct guest_cmd *c)
{
	char ov[2200];
	struct nf_err e = {0};
	int base = file_fd(L, s->image), lst = -1, conn = -1;
	enum qsd_format bf = image_format(s);
	guest_file(L, g->name, "qcow2", ov, sizeof(ov));
	int ofd = open_overlay(L, s, base, ov, &bf, &e);
	if (ofd >= 0 && qsd_socket(L->reg->run_dir, &lst, &conn, &e) < 0)
		close(ofd);
	if (conn < 0) {
		dprintf(logfd, "netd: guest %s's disk: %s\n", g->name, e.msg);
		return -1;
	}
	int life[2];
	if (pipe2(life, O_CLOEXEC) < 0) {
		dprintf(logfd, "netd: pipe: %s\n", strerror(errno));
		close(ofd);
		close(lst);
		close(conn);
		return -1;
	}
	pid_t q = fork();
	if (q == 0) { /* the supervisor, as the member: netvm, another
		       * user's, could not signal it (nor its daemon) */
		int keep[] = {life[0], logfd, lst, base, ofd},
		    nul = open("/dev/null", O_RDWR);
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(logfd, 2);
		if (nf_fds_to_3(keep, 5) < 0 || become(L->uid, L->gid) < 0)
			_exit(124);
		nf_fd_limit_restore();
		/* the daemon's 3: the listener, 4: the base, 5: the overlay */
		struct qsd_cmd cmd;
		int daemon_fds[] = {5, 6, 7};
		qsd_cmd(&cmd, "/proc/self/fd/5", QSD_QCOW2, false,
			"/proc/self/fd/4", bf, 3);
		qsd_supervise(cmd.argv, 3, 4, daemon_fds, 3, NULL, NULL);
	}
	close(life[0]);
	close(lst);
	close(ofd);
	if (q < 0) {
		dprintf(logfd, "netd: fork: %s\n", strerror(errno));
		close(life[1]);
		close(conn);
		return -1;
	}
	c->h.fd[c->life_slot] = life[1]; /* netvm holds it, unread */
	c->h.fd[c->disk_slot] = conn;
	return 0;
}

/* A seed file's text (ssh-keys=, user-data=) from the fd the client
 * passed: at most LAB_SEED_FILE_MAX bytes, no NUL. NULL with why. */
static char *seed_file(const struct labrun *L, const char *path, char *why,
		       size_t n)
{
	int fd = file_fd(L, path);
	struct stat st;
	if (fd < 0) {
		snprintf(why, n, "%s was not passed by the client", path);
		return NULL;
	}
	if (fstat(fd, &st) < 0 || st.st_size > (off_t)LAB_SEED_FILE_MAX) {
		snprintf(why, n, "%s: larger than %u KiB", path,
			 LAB_SEED_FILE_MAX >> 10);
		return NULL;
	}
	char *b = nf_xcalloc(1, (size_t)st.st_size + 1);
	ssize_t got = pread(fd, b, (size_t)st.st_size, 0);
	if (got < 0 || memchr(b, '\0', (size_t)got)) {
		snprintf(why, n, "%s: %s", path,
			 got < 0 ? strerror(errno) : "holds a NUL byte");
		free(b);
		return NULL;
	}
	return b;
}

/* The keys of guest s's ssh-keys file, into *keys; -1 with why. */
static int seed_keys(const struct labrun *L, const struct lab_guest *s,
		     char ***keys, size_t *n, char *why, size_t wn)
{
	char w[160];
	*keys = NULL;
	*n = 0;
	if (!s->ssh_keys)
		return 0;
	char *t = seed_file(L, s->ssh_keys, why, wn);
	int rc = t ? lab_ssh_keys_parse(t, keys, n, w, sizeof(w)) : -1;
	if (t && rc < 0)
		snprintf(why, wn, "%s: %s", s->ssh_keys, w);
	free(t);
	return rc < 0 ? -1 : 0;
}

static void exec_tool(void *arg)
{
	char *const *argv = arg;
	setenv("MTOOLS_SKIP_CHECK", "1", 1);
	execvp(argv[0], argv);
	dprintf(2, "cannot run %s: %s", argv[0], strerror(errno));
}

static int run_tool(char *const argv[], char *why, size_t n)
{
	char msg[512];
	struct nf_err e;
	int st = nf_run_child(exec_tool, (void *)argv, msg, sizeof(msg), &e);
	if (st == 0)
		return 0;
	msg[strcspn(msg, "\n")] = '\0';
	snprintf(why, n, "%s: %s", argv[0],
		 st < 0	  ? e.msg
		 : msg[0] ? msg
			  : "failed");
	return -1;
}

/* The guest's cloud-init NoCloud seed, in its child (netd goes on): a
 * small FAT image labelled CIDATA (mkfs.fat and mcopy) holding
 * meta-data, user-data and network-config, given to netvm read-only.
 * GUEST.seed in the lab's dir, made anew at each start. */
static int guest_seed(const struct labrun *L, const struct grun *g,
		      const struct lab_guest *s, int logfd, struct guest_cmd *c)
{
	char d[2048], img[2200], tmp[2200], why[4096] = "";
	char f_meta[2300], f_user[2300], f_net[2300];
	struct nf_buf meta = {0}, net = {0};
	struct nf_err e;
	char **keys;
	size_t nkeys;
	char *ud = NULL;
	int fd = -1;
	lab_dir(L->reg, L->spec->name, d, sizeof(d));
	snprintf(img, sizeof(img), "%s/%s.seed", d, g->name);
	snprintf(tmp, sizeof(tmp), "%s/%s.cidata", d, g->name);
	snprintf(f_meta, sizeof(f_meta), "%s/meta-data", tmp);
	snprintf(f_user, sizeof(f_user), "%s/user-data", tmp);
	snprintf(f_net, sizeof(f_net), "%s/network-config", tmp);
	if (seed_keys(L, s, &keys, &nkeys, why, sizeof(why)) < 0)
		goto out;
	if (s->user_data &&
	    !(ud = seed_file(L, s->user_data, why, sizeof(why))))
		goto out;
	lab_seed_meta(L->spec, s, keys, nkeys, &meta);
	lab_seed_network(s, &net);
	/* not empty (cloud-init warns of that): keys only, as meta-data has
	 * them */
	const char *user = ud ? ud : "#cloud-config\nssh_pwauth: false\n";
	rm_tree(tmp, NULL);
	unlink(img);
	char *mkfs[] = {"mkfs.fat", "-n", "CIDATA", "-C", img, "2048", NULL};
	char *mcopy[] = {"mcopy", "-i", img, f_meta, f_user, f_net, "::", NULL};
	if (mkdir(tmp, 0700) < 0)
		snprintf(why, sizeof(why), "%s: %s", tmp, strerror(errno));
	else if (nf_write_file_atomic(f_meta, meta.s, meta.len, 0600,
				      NF_VOLATILE, &e) < 0 ||
		 nf_write_file_atomic(f_user, user, strlen(user), 0600,
				      NF_VOLATILE, &e) < 0 ||
		 nf_write_file_atomic(f_net, net.s, net.len, 0600, NF_VOLATILE,
				      &e) < 0)
		snprintf(why, sizeof(why), "%s", e.msg);
	else if (run_tool(mkfs, why, sizeof(why)) == 0 &&
		 run_tool(mcopy, why, sizeof(why)) == 0 &&
		 (fd = open(img, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		snprintf(why, sizeof(why), "%s: %s", img, strerror(errno));
	rm_tree(tmp, NULL);
out:
	for (size_t i = 0; i < nkeys; i++)
		free(keys[i]);
	free(keys);
	free(ud);
	nf_buf_free(&meta);
	nf_buf_free(&net);
	if (fd < 0) {
		dprintf(logfd, "netd: guest %s's cloud-init seed: %s\n",
			g->name, why);
		return -1;
	}
	c->h.fd[c->seed_slot] = fd;
	return 0;
}

/* The socket on which the guest's netvm takes console clients (lab
 * console --attach, which netd connects by its path), bound and listening
 * in the child: run_dir/serial, root's alone. */
static int guest_serial(const struct labrun *L, const struct grun *g, int logfd,
			struct guest_cmd *c)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	char dir[2048];
	snprintf(dir, sizeof(dir), "%s/serial", L->reg->run_dir);
	serial_path(L->reg, L->spec->name, g->name, a.sun_path,
		    sizeof(a.sun_path));
	mkdir(dir, 0700);
	unlink(a.sun_path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || strlen(a.sun_path) + 1 >= sizeof(a.sun_path) ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(fd, 2) < 0) {
		dprintf(logfd, "netd: guest %s's console socket %s: %s\n",
			g->name, a.sun_path,
			strlen(a.sun_path) + 1 >= sizeof(a.sun_path)
				? "the run dir's path is too long for it"
				: strerror(errno));
		return -1;
	}
	c->h.fd[c->serial_slot] = fd;
	return 0;
}

/* Starts g's netvm as the guest user with its kernel, initrd, /dev/kvm,
 * console and ports as inherited fds (it opens nothing itself). */
static int exec_guest(struct registry *r, struct grun *g, struct nf_err *e)
{
	struct labrun *L = g->lab;
	const struct lab_guest *s = spec_of(g);
	char con[2200], log[2200];
	struct guest_cmd cmd = {.h.n = 0};
	int kfd = s->kernel ? file_fd(L, s->kernel) : r->probe_fd;
	int ifd = s->initrd ? file_fd(L, s->initrd) : -1;
	if (kfd < 0 || (s->initrd && ifd < 0))
		return nf_errf(e, EBADF,
			       "%s %s was not passed by the client (netctl "
			       "opens the files a lab names); run lab up again",
			       kfd < 0 ? "kernel" : "initrd",
			       kfd < 0 ? (s->kernel ? s->kernel : "(probe)")
				       : s->initrd);
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC), lfd = -1;
	int sync[2] = {-1, -1}, rc = 0;
	for (size_t i = 0; i < LAB_MAX_IFS; i++)
		cmd.vh[i] = -1;
	if (kvm < 0)
		rc = nf_errf(e, errno, "cannot open /dev/kvm: %s",
			     strerror(errno));
	else if (pipe2(sync, O_CLOEXEC) < 0)
		rc = nf_errf(e, errno, "pipe: %s", strerror(errno));
	pid_t pid = -1;
	if (rc == 0) {
		guest_cmd(r, g, s, kfd, ifd, kvm, &cmd);
		if ((pid = fork()) < 0)
			rc = nf_errf(e, errno, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		close(sync[1]);
		guest_child(sync[0]);
		/* its files are made here, not in netd: a new inode costs
		 * netd's loop nothing then, however slow the state dir */
		guest_file(L, g->name, "console", con, sizeof(con));
		guest_file(L, g->name, "log", log, sizeof(log));
		cmd.h.fd[cmd.con_slot] = open(con,
					      O_WRONLY | O_CREAT | O_TRUNC |
						      O_CLOEXEC | O_NOFOLLOW,
					      0640);
		lfd = open(log,
			   O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
				   O_NOFOLLOW,
			   0640);
		if (cmd.h.fd[cmd.con_slot] < 0 || lfd < 0) {
			dprintf(2,
				"netd: lab '%s': guest %s: cannot open %s: "
				"%s\n",
				L->spec->name, g->name, lfd < 0 ? log : con,
				strerror(errno));
			_exit(122);
		}
		if (guest_serial(L, g, lfd, &cmd) < 0 ||
		    (s->image && guest_disk(L, g, s, lfd, &cmd) < 0) ||
		    (s->ci_on && guest_seed(L, g, s, lfd, &cmd) < 0))
			_exit(123);
		become_guest(r, &cmd.h, lfd);
		execv(cmd.argv[0], (char *const *)cmd.argv);
		dprintf(2, "netd: cannot run %s: %s\n", cmd.argv[0],
			strerror(errno));
		_exit(127);
	}
	if (pid > 0)
		guest_started(r, g, pid, sync[1]);
	for (size_t i = 0; i < LAB_MAX_IFS; i++) {
		if (cmd.vh[i] >= 0)
			close(cmd.vh[i]);
		if (g->port_fd[i] >= 0)
			close(g->port_fd[i]); /* netvm holds them now */
		g->port_fd[i] = -1;
	}
	int mine[] = {kvm, sync[0], sync[1]};
	for (size_t i = 0; i < NF_ARRAY_SIZE(mine); i++)
		if (mine[i] >= 0)
			close(mine[i]);
	return rc;
}

static struct grun *grun_by_id(struct registry *r, uint64_t id)
{
	for (size_t i = 0; i < r->nlabs; i++)
		for (size_t k = 0; k < r->labs[i]->spec->nguests; k++)
			if (r->labs[i]->g[k]->id == id)
				return r->labs[i]->g[k];
	return NULL;
}

static void guest_failed(struct grun *g, const char *why)
{
	nf_err_log("lab '%s': guest %s: %s", g->labname, g->name, why);
	unwatch(g);
	g->state = G_STOPPED;
	g->ports_pending = 0;
	save_guest(g);
}

/* A port that was answered later (a VF's, once its PF driver took the
 * MAC): the guest starts when the last of its ports is there. */
static void port_later(struct later *l, json_t *msg, const int *fds,
		       size_t nfds)
{
	struct registry *r = l->server;
	struct grun *g = grun_by_id(r, l->client >> 3);
	unsigned i = (unsigned)(l->client & 7);
	struct nf_err e;
	if (!g || g->state != G_BOOTING || !g->ports_pending)
		return; /* gone meanwhile: the fds close with the reply */
	if (!json_is_true(json_object_get(msg, "ok")) || nfds != 1) {
		json_t *err = json_object_get(msg, "error");
		guest_failed(g,
			     json_string_value(json_object_get(err, "message"))
				     ?: "no port");
		return;
	}
	g->port_fd[i] = fcntl(fds[0], F_DUPFD_CLOEXEC, 3);
	snprintf(g->tap[i], sizeof(g->tap[i]), "%s",
		 json_string_value(
			 json_object_get(json_object_get(msg, "result"), "tap"))
			 ?: "");
	if (--g->ports_pending == 0 && exec_guest(r, g, &e) < 0)
		guest_failed(g, e.msg);
}

static struct later *defer_port(struct request *q)
{
	struct later *l = nf_xcalloc(1, sizeof(*l));
	l->send = port_later;
	l->server = q->server;
	l->client = q->client;
	l->id = json_null();
	return l;
}

/* A guest from pending to booting: its ports first (netd makes them, as
 * for any client, pinned to the guest's MACs and IPs), then its netvm. */
static int spawn(struct registry *r, struct grun *g, struct nf_err *e)
{
	static uint64_t next_id;
	const struct lab_guest *s = spec_of(g);
	char vm[64];
	snprintf(vm, sizeof(vm), "lab-%s", s->name);
	g->id = ++next_id;
	g->state = G_BOOTING;
	g->tried = true;
	g->pid = 0;
	g->ports_pending = 1; /* held until every port was asked for */
	save_guest(g);	      /* intent first */
	for (size_t i = 0; i < s->nifs && g->state == G_BOOTING; i++) {
		char ip[INET6_ADDRSTRLEN] = "";
		json_t *res = NULL;
		if (s->ifs[i].ip.family)
			nf_addr_format(&s->ifs[i].ip, ip, sizeof(ip));
		json_t *args =
			json_pack("{s:s, s:s, s:s, s:[s,s]}", "network",
				  s->ifs[i].network, "mac", s->ifs[i].mac,
				  "name", vm, "types", "tap", "macvtap");
		if (ip[0])
			json_object_set_new(args, "ip", json_string(ip));
		struct request q = {.uid = r->guest_uid,
				    .admin = true,
				    .defer = defer_port,
				    .server = r,
				    .client = g->id << 3 | i};
		g->ports_pending++;
		int rc = port_create(r, &q, args, &res, e);
		json_decref(args);
		if (rc == 0)
			snprintf(g->tap[i], sizeof(g->tap[i]), "%s",
				 json_string_value(json_object_get(res, "tap"))
					 ?: "");
		json_decref(res);
		if (rc == REQ_LATER)
			continue; /* port_later takes it from here */
		g->ports_pending--;
		if (rc == 0 && q.nout_fds != 1)
			rc = nf_errf(e, EPROTO, "port with %zu fds",
				     q.nout_fds);
		for (size_t k = rc == 0 ? 1 : 0; k < q.nout_fds; k++)
			close(q.out_fds[k]);
		if (rc < 0) {
			unwatch(g);
			g->state = G_STOPPED;
			return nf_err_prefix(e, "interface %zu (%s)", i + 1,
					     s->ifs[i].network);
		}
		g->port_fd[i] = q.out_fds[0];
	}
	if (g->state != G_BOOTING) /* a port answered later failed */
		return nf_errf(e, EIO, "a port could not be made");
	if (--g->ports_pending)
		return 0;
	int rc = exec_guest(r, g, e);
	if (rc < 0) {
		unwatch(g);
		g->state = G_STOPPED;
	}
	return rc;
}

/* ------------------------------------------------------------ leases */

struct lease_cache {
	char network[64];
	struct dhcp_lease *l;
	size_t n;
	bool no_dhcp;
};

static struct lease_cache *leases_of(struct registry *r, struct lease_cache **c,
				     size_t *n, const char *net)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*c)[i].network, net))
			return &(*c)[i];
	struct lease_cache x = {0};
	snprintf(x.network, sizeof(x.network), "%s", net);
	struct network *nw = registry_find(r, net);
	if (!nw || !nw->live || !nw->has_dnsmasq) {
		x.no_dhcp = true;
	} else {
		struct dhcp_files f;
		network_files(r, nw, &f);
		if (dhcp_leases(&f, &x.l, &x.n) < 0)
			x.n = 0, x.l = NULL;
	}
	NF_APPEND(*c, *n, x);
	return &(*c)[*n - 1];
}

/* Has every interface of the guest its address? */
static bool leased(struct registry *r, struct grun *g, struct lease_cache **c,
		   size_t *nc)
{
	const struct lab_guest *s = spec_of(g);
	bool all = true;
	for (size_t i = 0; i < s->nifs; i++) {
		const struct lab_if *x = &s->ifs[i];
		struct lease_cache *lc = leases_of(r, c, nc, x->network);
		char want[INET6_ADDRSTRLEN] = "";
		if (x->ip.family)
			nf_addr_format(&x->ip, want, sizeof(want));
		bool got = lc->no_dhcp;
		for (size_t k = 0; !got && k < lc->n; k++)
			if (!strcasecmp(lc->l[k].mac, x->mac) &&
			    (!want[0] || !strcmp(lc->l[k].ip, want))) {
				got = true;
				snprintf(g->leased[i], sizeof(g->leased[i]),
					 "%s", lc->l[k].ip);
			}
		all = all && got;
	}
	return all;
}

/* The lab's lease files as they are now (mtime and size): while they
 * stay the same no guest can have got an address, and nothing is read. */
static uint64_t lease_stamp(struct registry *r, const struct labrun *L)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < L->spec->nnets; i++) {
		struct network *n = registry_find(r, L->spec->nets[i].name);
		struct dhcp_files f;
		struct stat st;
		if (!n || !n->live || !n->has_dnsmasq)
			continue;
		network_files(r, n, &f);
		if (stat(f.leases, &st) < 0)
			continue;
		h = (h ^ ((uint64_t)st.st_mtim.tv_sec * 1000000000ull +
			  (uint64_t)st.st_mtim.tv_nsec)) *
		    1099511628211ull;
		h = (h ^ (uint64_t)st.st_size) * 1099511628211ull;
	}
	return h;
}

/* ---------------------------------------------------------------- tick */

static uint64_t tick_timer;

/* Guests booting at once: two per CPU (a booting guest mostly waits for
 * DHCP; the CPU work is netvm's start and netd's port). */
static unsigned bound(void)
{
	static unsigned b; /* sysconf reads sysfs: once is enough */
	if (!b) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		b = n < 1 ? 2 : 2 * (unsigned)n;
	}
	return b;
}

static void tick(void *ctx)
{
	struct registry *r = ctx;
	bool busy = false;
	tick_timer = 0;
	for (size_t i = 0; i < r->nlabs; i++) {
		struct labrun *L = r->labs[i];
		struct lease_cache *c = NULL;
		size_t nc = 0;
		unsigned booting = 0;
		uint64_t stamp = lease_stamp(r, L);
		bool fresh = stamp != L->lease_stamp;
		L->lease_stamp = stamp;
		for (size_t k = 0; k < L->spec->nguests; k++) {
			struct grun *g = L->g[k];
			bool look =
				g->state == G_BOOTING && (fresh || !g->checked);
			g->checked = g->checked || look;
			if (look && leased(r, g, &c, &nc)) {
				g->state = G_UP;
				g->t_up = nf_now_ns();
				save_guest(g);
			}
			booting += g->state == G_BOOTING;
		}
		/* new guests wait for the lab's stopping ones: their MACs,
		 * names and ports are free only then */
		bool hold = L->down || lab_stopping(L->spec->name);
		for (size_t k = 0;
		     !hold && k < L->spec->nguests && booting < bound(); k++) {
			struct grun *g = L->g[k];
			struct nf_err e;
			if (g->state != G_PENDING)
				continue;
			if (spawn(r, g, &e) < 0) {
				nf_err_log("lab '%s': guest %s: %s",
					   L->spec->name, g->name, e.msg);
				g->state = G_STOPPED;
				continue;
			}
			booting++;
		}
		if (!L->t_guests) {
			bool pend = false;
			for (size_t k = 0; k < L->spec->nguests; k++)
				pend = pend || L->g[k]->state == G_PENDING;
			if (!pend)
				L->t_guests = nf_now_ns();
		}
		bool all_up = true;
		for (size_t k = 0; k < L->spec->nguests; k++)
			all_up = all_up && L->g[k]->state == G_UP;
		if (all_up && !L->t_up) {
			L->t_up = nf_now_ns();
			nf_info("lab '%s': all %zu guests have their addresses "
				"(%.0f ms)",
				L->spec->name, L->spec->nguests,
				(double)(L->t_up - L->t_start) / 1e6);
		}
		busy = busy || booting;
		for (size_t k = 0; k < nc; k++)
			free(c[k].l);
		free(c);
	}
	if (busy)
		tick_timer = loop_after(50, tick, r);
}

static void kick(struct registry *r)
{
	if (!tick_timer)
		tick_timer = loop_after(0, tick, r);
}

/* -------------------------------------------------------------- helpers */

static struct labrun *find_lab(struct registry *r, const char *name)
{
	for (size_t i = 0; i < r->nlabs; i++)
		if (!strcmp(r->labs[i]->spec->name, name))
			return r->labs[i];
	return NULL;
}

static struct grun *new_grun(struct labrun *L, const char *name)
{
	struct grun *g = nf_xcalloc(1, sizeof(*g));
	g->lab = L;
	g->reg = L->reg;
	g->pidfd = -1;
	for (size_t i = 0; i < LAB_MAX_IFS; i++)
		g->port_fd[i] = -1;
	snprintf(g->name, sizeof(g->name), "%s", name);
	snprintf(g->labname, sizeof(g->labname), "%s", L->spec->name);
	return g;
}

static void drop_files(struct labrun *L)
{
	for (size_t i = 0; i < L->nfiles; i++) {
		close(L->fds[i]);
		free(L->files[i]);
	}
	free(L->files);
	free(L->fds);
	L->files = NULL;
	L->fds = NULL;
	L->nfiles = 0;
}

static struct labrun *new_lab(struct registry *r, struct lab *spec,
			      const char *xml, const char *dir,
			      const char *file)
{
	struct labrun *L = nf_xcalloc(1, sizeof(*L));
	L->reg = r;
	L->spec = spec;
	L->xml = nf_xstrdup(xml);
	L->dir = dir ? nf_xstrdup(dir) : NULL;
	L->file = file ? nf_xstrdup(file) : NULL;
	L->made = nf_xcalloc(spec->nnets + 1, sizeof(*L->made));
	L->g = nf_xcalloc(spec->nguests + 1, sizeof(*L->g));
	L->t_start = nf_now_ns();
	return L;
}

static void free_lab(struct labrun *L)
{
	for (size_t i = 0; i < L->spec->nguests; i++) {
		if (!L->g[i])
			continue;
		unwatch(L->g[i]);
		free(L->g[i]);
	}
	drop_files(L);
	labxml_free(L->spec);
	free(L->g);
	free(L->made);
	free(L->xml);
	free(L->dir);
	free(L->file);
	free(L);
}

static void remove_lab(struct registry *r, struct labrun *L)
{
	for (size_t i = 0; i < r->nlabs; i++)
		if (r->labs[i] == L)
			r->labs[i] = r->labs[--r->nlabs];
	free_lab(L);
}

/* The lab that made network `name`, if any. */
static struct labrun *maker(struct registry *r, const char *name)
{
	for (size_t i = 0; i < r->nlabs; i++)
		for (size_t k = 0; k < r->labs[i]->spec->nnets; k++)
			if (r->labs[i]->made[k] &&
			    !strcmp(r->labs[i]->spec->nets[k].name, name))
				return r->labs[i];
	return NULL;
}

/* -------------------------------------------------- checks on the host */

#define ERR(...) (json_array_append_new(errs, json_sprintf(__VA_ARGS__)))

/* What the host has that the lab would collide with; `self` is the lab
 * being reconciled (its own networks and guests do not count). */
/* A network the lab makes against the host's networks (subnets, bridge
 * names) and routes. */
static void net_collisions(struct registry *r, const struct lab_net *ln,
			   const struct labrun *self, json_t *errs)
{
	char sub[64], what[256];
	const struct netdef *d = &ln->nx->def;
	for (size_t k = 0; k < r->n; k++) {
		const struct netdef *o = &network_current(r->nets[k])->def;
		if (maker(r, o->name) == self && self)
			continue;
		for (size_t a = 0; a < d->nips; a++)
			for (size_t b = 0; b < o->nips; b++) {
				if (!netxml_ips_overlap(&d->ips[a], &o->ips[b]))
					continue;
				nf_addr_subnet_str(&d->ips[a].address,
						   d->ips[a].prefix, sub,
						   sizeof(sub));
				ERR("line %d: network '%s': subnet %s "
				    "overlaps network '%s'",
				    ln->line, ln->name, sub, o->name);
			}
		if (d->bridge && o->bridge && !strcmp(d->bridge, o->bridge))
			ERR("line %d: network '%s': bridge '%s' is network "
			    "'%s''s",
			    ln->line, ln->name, d->bridge, o->name);
	}
	for (size_t a = 0; a < d->nips; a++) {
		if (!bridge_route_conflict(
			    r->br, &d->ips[a].address, d->ips[a].prefix,
			    d->bridge ? d->bridge : "", what, sizeof(what)))
			continue;
		nf_addr_subnet_str(&d->ips[a].address, d->ips[a].prefix, sub,
				   sizeof(sub));
		ERR("line %d: network '%s': subnet %s collides with the "
		    "host's %s",
		    ln->line, ln->name, sub, what);
	}
}

/* The lab's networks: a host network it names exists and runs; one it
 * makes is not the host's already (unless this lab made it) and collides
 * with nothing. */
static void net_checks(struct registry *r, const struct lab *l,
		       const struct labrun *self, json_t *errs)
{
	for (size_t i = 0; i < l->nnets; i++) {
		const struct lab_net *ln = &l->nets[i];
		struct network *n = registry_find(r, ln->name);
		struct labrun *mk = maker(r, ln->name);
		if (ln->ref && !n)
			ERR("line %d: no network '%s' on this host "
			    "(net-define it, or declare it inline)",
			    ln->line, ln->name);
		else if (ln->ref && !n->live)
			ERR("line %d: network '%s' is not active (net-start "
			    "it)",
			    ln->line, ln->name);
		else if (!ln->ref && n && mk != self)
			ERR("line %d: network '%s' already exists on this "
			    "host%s%s%s",
			    ln->line, ln->name, mk ? " (lab '" : "",
			    mk ? mk->spec->name : "", mk ? "')" : "");
		else if (!ln->ref && !n) /* (n: the lab's own, reconciled) */
			net_collisions(r, ln, self, errs);
	}
}

/* A guest's interface on a network the host has: its MAC and IP against
 * the network's subnets, reservations and pinned ports. */
static void if_checks(struct registry *r, const struct lab_guest *g,
		      const struct lab_if *x, const struct netdef *d,
		      json_t *errs)
{
	char ip[INET6_ADDRSTRLEN], vm[64];
	snprintf(vm, sizeof(vm), "lab-%s", g->name);
	struct port *p = port_find_pinned(r, d->name, x->mac,
					  x->ip.family ? &x->ip : NULL);
	if (p && strcmp(p->name, vm))
		ERR("line %d: guest '%s': MAC %s or its IP is already pinned "
		    "on '%s' by port %s",
		    x->line, g->name, x->mac, d->name,
		    p->name[0] ? p->name : p->tap);
	if (!x->ip.family)
		return;
	nf_addr_format(&x->ip, ip, sizeof(ip));
	const struct netxml_ip *sn = netxml_ip_of(d, &x->ip);
	if (!sn) {
		ERR("line %d: guest '%s': %s is outside every subnet of "
		    "network '%s'",
		    x->line, g->name, ip, d->name);
		return;
	}
	if (!sn->has_dhcp)
		ERR("line %d: guest '%s': network '%s' hands out no addresses "
		    "on the subnet of %s",
		    x->line, g->name, d->name, ip);
	for (size_t h = 0; h < sn->nhosts; h++) {
		const struct netxml_host *hh = &sn->hosts[h];
		if (!nf_addr_cmp(&hh->ip, &x->ip) &&
		    (!hh->mac || strcasecmp(hh->mac, x->mac)))
			ERR("line %d: guest '%s': %s is reserved on '%s' for "
			    "%s",
			    x->line, g->name, ip, d->name,
			    hh->mac ? hh->mac : hh->name);
	}
}

static void host_checks(struct registry *r, const struct lab *l,
			const struct labrun *self, json_t *errs)
{
	net_checks(r, l, self, errs);
	for (size_t i = 0; i < l->nguests; i++) {
		const struct lab_guest *g = &l->guests[i];
		for (size_t k = 0; k < r->nlabs; k++)
			if (r->labs[k] != self &&
			    lab_guest_find(r->labs[k]->spec, g->name))
				ERR("line %d: guest '%s' (lab-%s) already "
				    "runs in lab '%s'",
				    g->line, g->name, g->name,
				    r->labs[k]->spec->name);
		for (size_t f = 0; f < g->nifs; f++) {
			const struct lab_net *ln =
				lab_net_find(l, g->ifs[f].network);
			struct network *n = registry_find(r, g->ifs[f].network);
			if (ln && ln->ref && n && n->live)
				if_checks(r, g, &g->ifs[f], &n->live->def,
					  errs);
		}
	}
}

/* ------------------------------------------------------------ networks */

static int make_network(struct registry *r, const struct request *q,
			struct labrun *L, size_t i, struct nf_err *e)
{
	L->made[i] = true; /* intent, recorded before it exists */
	int rc = save(L, e);
	if (rc < 0)
		return rc;
	rc = network_create(r, q, netxml_dup(L->spec->nets[i].nx), NULL, e);
	if (rc < 0) {
		L->made[i] = false;
		save_log(L);
		return nf_err_prefix(e, "lab '%s'", L->spec->name);
	}
	return 0;
}

static void drop_network(struct registry *r, struct labrun *L, size_t i)
{
	struct network *n = registry_find(r, L->spec->nets[i].name);
	struct nf_err e;
	if (L->made[i] && n && n->live && network_destroy(r, n, &e) < 0)
		nf_err_log("lab '%s': %s", L->spec->name, e.msg);
	L->made[i] = false;
}

/* Everything of the lab goes: guests (stopped without waiting here),
 * then - once they are gone - the networks it made, its dir, and the
 * reply owed. */
static void teardown(struct registry *r, struct labrun *L)
{
	/* the guests' ports first, their TAPs in one kernel batch: each
	 * netvm ending with its TAPs' last fds would cost an unregister
	 * apiece (~25 ms here, one after another) */
	const char **taps =
		nf_xcalloc(L->spec->nguests * LAB_MAX_IFS + 1, sizeof(*taps));
	size_t nt = 0;
	for (size_t k = 0; k < L->spec->nguests; k++)
		for (size_t i = 0; L->g[k]->pid && i < LAB_MAX_IFS; i++)
			if (L->g[k]->tap[i][0])
				taps[nt++] = L->g[k]->tap[i];
	L->t_down = nf_now_ns();
	ports_release_taps(r, taps, nt);
	free(taps);
	for (size_t k = 0; k < L->spec->nguests; k++)
		if (L->g[k]->pid)
			stop_guest(L, k);
	L->t_stopped = nf_now_ns();
	if (!lab_stopping(L->spec->name))
		finish_down(L);
	else
		nf_info("lab '%s': waiting for its guests to stop",
			L->spec->name);
}

static void finish_down(struct labrun *L)
{
	struct registry *r = L->reg;
	char d[2048];
	uint64_t t_gone = nf_now_ns();
	for (size_t i = 0; i < L->spec->nnets; i++)
		drop_network(r, L, i);
	lab_dir(r, L->spec->name, d, sizeof(d));
	rm_tree(d, L->spec);
	for (size_t i = 0; i < L->spec->nguests; i++) {
		serial_path(r, L->spec->name, L->spec->guests[i].name, d,
			    sizeof(d));
		unlink(d);
	}
	/* netd's own part: ports and signals, then networks and files; the
	 * wait between is the guests' */
	if (L->t_down)
		nf_info("lab '%s' is down in %.0f ms: ports released and "
			"guests "
			"signalled %.1f ms, guests gone %.0f ms later, "
			"networks and files %.1f ms",
			L->spec->name, (double)(nf_now_ns() - L->t_down) / 1e6,
			(double)(L->t_stopped - L->t_down) / 1e6,
			(double)(t_gone - L->t_stopped) / 1e6,
			(double)(nf_now_ns() - t_gone) / 1e6);
	else
		nf_info("lab '%s' is down", L->spec->name);
	if (L->down) {
		json_t *res = json_pack(
			"{s:s, s:i, s:i}", "name", L->spec->name, "guests",
			(int)L->down_guests, "networks", (int)L->down_nets);
		later_reply(L->down, 0, res, NULL, NULL, NULL, 0);
		L->down = NULL;
	}
	remove_lab(r, L);
}

/* ------------------------------------------------------------ handlers */

static bool has_str(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

/* The fds of the kernels, initrds and images the lab names, as the
 * client passed them (args "files": their paths, in the order of the
 * fds): netd never opens a path a user named. Each must be a regular file
 * open for reading; an image must be one its guests can boot from.
 * Problems go to errs. */
static void take_files(struct labrun *L, struct request *q, json_t *args,
		       json_t *errs)
{
	const char **want;
	size_t n = lab_files(L->spec, &want);
	json_t *given = json_object_get(args, "files");
	L->uid = q->uid;
	L->gid = q->gid;
	for (size_t i = 0; i < n; i++) {
		size_t j, k = SIZE_MAX;
		json_t *v;
		json_array_foreach (given, j, v)
			if (json_is_string(v) &&
			    !strcmp(json_string_value(v), want[i]))
				k = j;
		int fd = k < q->nin_fds ? q->in_fds[k] : -1;
		struct stat st;
		int fl = fd >= 0 ? fcntl(fd, F_GETFL) : -1;
		const char *why =
			fd < 0 ? "the client did not pass it (netctl opens the "
				 "files a lab names, with its user's rights)"
			: fl < 0 || (fl & O_PATH) ||
					(fl & O_ACCMODE) == O_WRONLY
				? "its fd is not open for reading"
			: fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)
				? "it is not a regular file"
				: NULL;
		if (why) {
			json_array_append_new(
				errs, json_sprintf("%s: %s", want[i], why));
			continue;
		}
		NF_APPEND(L->files, L->nfiles, nf_xstrdup(want[i]));
		L->fds = nf_xrealloc(L->fds, L->nfiles * sizeof(*L->fds));
		L->fds[L->nfiles - 1] = fd;
		q->in_fds[k] = -1; /* kept */
	}
	free(want);
	/* an image the guests can boot from: its format as they say, a size;
	 * seed files cloud-init can take */
	for (size_t i = 0; i < L->spec->nguests; i++) {
		const struct lab_guest *s = &L->spec->guests[i];
		char why[4096] = "", **keys;
		size_t nkeys;
		char *ud = s->user_data ? seed_file(L, s->user_data, why,
						    sizeof(why))
					: NULL;
		if (s->user_data && !ud)
			ERR("guest %s: %s", s->name, why);
		free(ud);
		if (seed_keys(L, s, &keys, &nkeys, why, sizeof(why)) < 0)
			ERR("guest %s: %s", s->name, why);
		for (size_t k = 0; k < nkeys; k++)
			free(keys[k]);
		free(keys);
		enum qsd_format f = image_format(s);
		uint64_t size = 0;
		struct nf_err e = {0};
		int fd = s->image ? file_fd(L, s->image) : -1;
		if (fd < 0 || (qsd_image(fd, &f, &size, &e) == 0 && size))
			continue;
		ERR("guest %s: image %s: %s", s->name, s->image,
		    e.msg[0] ? e.msg : "it is empty");
	}
}

/* A kept network's reservations follow the guests: net-update deletes
 * the old lab's pins that the new one lacks, and adds the new ones. */
static int repin(struct registry *r, const char *net, const struct lab *old,
		 const struct lab *new, struct nf_err *e)
{
	char **a, **b;
	size_t na = lab_pins(old, net, &a), nb = lab_pins(new, net, &b);
	int rc = 0;
	for (int pass = 0; pass < 2 && rc == 0; pass++)
		for (size_t i = 0; i < (pass ? nb : na) && rc == 0; i++) {
			const char *h = pass ? b[i] : a[i];
			if (has_str(pass ? a : b, pass ? na : nb, h))
				continue;
			json_t *args = json_pack(
				"{s:s, s:s, s:s, s:s, s:b}", "network", net,
				"command", pass ? "add-last" : "delete",
				"section", "ip-dhcp-host", "xml", h, "live", 1);
			json_t *res = NULL;
			rc = net_update(r, NULL, args, &res, e);
			json_decref(args);
			json_decref(res);
		}
	for (size_t i = 0; i < na; i++)
		free(a[i]);
	for (size_t i = 0; i < nb; i++)
		free(b[i]);
	free(a);
	free(b);
	return rc < 0 ? nf_err_prefix(e, "network '%s'", net) : 0;
}

/* The lab's new spec on a running lab: what is new starts, what was
 * dropped stops, what is the same keeps running. */
static int reconcile(struct registry *r, struct request *q, struct labrun *L,
		     struct lab *spec, json_t *args, json_t **res,
		     struct nf_err *e)
{
	struct labrun *N =
		new_lab(r, spec, nf_json_str(args, "xml"),
			nf_json_str(args, "dir"), nf_json_str(args, "file"));
	json_t *errs = json_array();
	take_files(N, q, args, errs);
	if (json_array_size(errs)) {
		*res = errs;
		free_lab(N); /* and spec */
		return nf_errf(e, EBADF,
			       "kernels, initrds or images missing or "
			       "unusable; the lab "
			       "was left as it was");
	}
	json_decref(errs);
	unsigned nets_new = 0, nets_gone = 0;
	struct lab_plan plan;
	bool *running = nf_xcalloc(L->spec->nguests + 1, sizeof(bool));
	for (size_t i = 0; i < L->spec->nguests; i++)
		running[i] = L->g[i]->state != G_STOPPED;
	lab_plan_make(L->spec, spec, running, &plan);
	free(running);
	for (size_t i = 0; i < spec->nnets; i++)
		N->made[i] = plan.net_from[i] >= 0 && L->made[plan.net_from[i]];
	/* without waiting: the new guests start once these are gone (tick),
	 * which frees their MACs and names */
	for (size_t i = 0; i < L->spec->nguests; i++)
		if (plan.guest_stop[i])
			stop_guest(L, i);
	/* what is left of a guest the lab no longer has: its console socket
	 * and its overlay, unless it keeps that */
	for (size_t i = 0; i < L->spec->nguests; i++) {
		const struct lab_guest *og = &L->spec->guests[i];
		char p[2200];
		if (lab_guest_find(spec, og->name))
			continue;
		serial_path(r, L->spec->name, og->name, p, sizeof(p));
		unlink(p);
		if (!og->image || og->keep)
			continue;
		guest_file(L, og->name, "qcow2", p, sizeof(p));
		unlink(p);
	}
	for (size_t k = 0; k < L->spec->nnets; k++)
		if (plan.net_drop[k] && L->made[k]) {
			drop_network(r, L, k);
			nets_gone++;
		}
	/* the new lab takes the old one's place; the guests kept move over */
	for (size_t i = 0; i < r->nlabs; i++)
		if (r->labs[i] == L)
			r->labs[i] = N;
	for (size_t i = 0; i < spec->nguests; i++) {
		int k = plan.guest_from[i];
		if (k < 0) {
			N->g[i] = new_grun(N, spec->guests[i].name);
			continue;
		}
		N->g[i] = L->g[k];
		N->g[i]->lab = N;
		L->g[k] = new_grun(L, N->g[i]->name);
	}
	int rc = 0;
	for (size_t i = 0; i < spec->nnets && rc == 0; i++)
		if (N->made[i])
			rc = repin(r, spec->nets[i].name, L->spec, spec, e);
	free_lab(L);
	for (size_t i = 0; i < spec->nnets && rc == 0; i++)
		if (!spec->nets[i].ref && !N->made[i]) {
			rc = make_network(r, q, N, i, e);
			nets_new += rc == 0;
		}
	save_log(N);
	unsigned kept = plan.kept, added = plan.added, removed = plan.stopped;
	lab_plan_free(&plan);
	if (rc < 0)
		return rc;
	N->t_nets = nf_now_ns();
	kick(r);
	*res = json_pack("{s:s, s:b, s:i, s:i, s:i, s:i, s:i}", "name",
			 spec->name, "reconciled", 1, "kept", (int)kept,
			 "added", (int)added, "stopped", (int)removed,
			 "networks_added", (int)nets_new, "networks_removed",
			 (int)nets_gone);
	nf_info("lab '%s' reconciled: %u kept, %u started, %u stopped",
		spec->name, kept, added, removed);
	return 0;
}

int lab_up(struct registry *r, struct request *q, json_t *args, json_t **res,
	   struct nf_err *e)
{
	const char *xml = nf_json_str(args, "xml"),
		   *dir = nf_json_str(args, "dir"),
		   *file = nf_json_str(args, "file");
	struct nf_buf b = {0};
	struct lab *spec;
	if (!xml)
		return nf_errf(e, EINVAL, "missing string argument 'xml'");
	json_t *errs = json_array();
	/* the file's own problems and its collisions with the host, all */
	bool bad_file = labxml_parse(xml, strlen(xml), file ? file : "lab", dir,
				     &spec, &b) < 0;
	for (char *s = b.s, *nl; s && *s; s = nl ? nl + 1 : NULL) {
		nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);
		if (n) /* one problem a line */
			json_array_append_new(errs, json_stringn(s, n));
	}
	nf_buf_free(&b);
	if (spec)
		host_checks(r, spec, find_lab(r, spec->name), errs);
	if (json_array_size(errs)) {
		size_t n = json_array_size(errs);
		*res = errs;
		labxml_free(spec);
		return nf_errf(e, bad_file ? EINVAL : EEXIST,
			       "%s: %zu problem%s; nothing was created",
			       file ? file : "lab", n, n > 1 ? "s" : "");
	}
	json_decref(errs);
	if (!spec->nguests && !spec->nnets) {
		labxml_free(spec);
		return nf_errf(e, EINVAL, "the lab has no networks or guests");
	}
	struct labrun *old = find_lab(r, spec->name);
	if (old && old->down) {
		labxml_free(spec);
		return nf_errf(e, EBUSY,
			       "lab '%s' is going down; bring it up again once "
			       "it is gone",
			       old->spec->name);
	}
	if (old)
		return reconcile(r, q, old, spec, args, res, e);
	struct labrun *L = new_lab(r, spec, xml, dir, file);
	errs = json_array();
	take_files(L, q, args, errs);
	if (json_array_size(errs)) {
		*res = errs;
		free_lab(L);
		return nf_errf(e, EBADF,
			       "%s: kernels, initrds or images missing or "
			       "unusable; "
			       "nothing was created",
			       file ? file : "lab");
	}
	json_decref(errs);
	for (size_t i = 0; i < spec->nguests; i++)
		L->g[i] = new_grun(L, spec->guests[i].name);
	NF_APPEND(r->labs, r->nlabs, L);
	int rc = save(L, e);
	for (size_t i = 0; rc == 0 && i < spec->nnets; i++)
		if (!spec->nets[i].ref)
			rc = make_network(r, q, L, i, e);
	if (rc < 0) {
		teardown(r, L);
		return nf_err_prefix(e, "lab up failed, and what it had made "
					"is gone again");
	}
	L->t_nets = nf_now_ns();
	nf_info("lab '%s': %zu networks in %.1f ms; starting %zu guests",
		spec->name, spec->nnets, (double)(L->t_nets - L->t_start) / 1e6,
		spec->nguests);
	kick(r);
	*res = json_pack("{s:s, s:b, s:i, s:i}", "name", spec->name,
			 "reconciled", 0, "networks", (int)spec->nnets,
			 "guests", (int)spec->nguests);
	return 0;
}

static struct labrun *need_lab(struct registry *r, json_t *args,
			       struct nf_err *e)
{
	const char *name = nf_json_str(args, "name"),
		   *xml = nf_json_str(args, "xml");
	char buf[64];
	if (!name && xml) {
		if (labxml_name(xml, strlen(xml), buf, sizeof(buf)) < 0) {
			nf_errf(e, EINVAL,
				"the file names no lab (<lab "
				"name=...>)");
			return NULL;
		}
		name = buf;
	}
	struct labrun *L = name ? find_lab(r, name) : NULL;
	if (!L)
		nf_errf(e, ENOENT, "no lab '%s' (lab list shows them)",
			name ? name : "");
	return L;
}

int lab_down(struct registry *r, struct request *q, json_t *args, json_t **res,
	     struct nf_err *e)
{
	struct labrun *L = need_lab(r, args, e);
	if (!L)
		return -ENOENT;
	if (L->down)
		return nf_errf(e, EBUSY, "lab '%s' is already going down",
			       L->spec->name);
	unsigned ng = 0, nn = 0;
	for (size_t i = 0; i < L->spec->nguests; i++)
		ng += alive(L->g[i]); /* what runs, not what was meant to */
	for (size_t i = 0; i < L->spec->nnets; i++)
		nn += L->made[i];
	L->down_guests = ng;
	L->down_nets = nn;
	char name[64];
	snprintf(name, sizeof(name), "%s", L->spec->name);
	/* the reply waits for the guests; netd serves everyone meanwhile */
	L->down = req_defer(q);
	bool later = L->down != NULL;
	teardown(r, L); /* may be done (and L gone) at once */
	if (later)
		return REQ_LATER;
	*res = json_pack("{s:s, s:i, s:i}", "name", name, "guests", (int)ng,
			 "networks", (int)nn);
	return 0;
}

static double ms(uint64_t from, uint64_t to)
{
	return from && to ? (double)(to - from) / 1e6 : -1;
}

/* The lab's status; with guests, each guest's too (summary: counts,
 * phases and networks only). */
static json_t *lab_json(struct registry *r, const struct labrun *L, bool guests)
{
	json_t *nets = json_array(), *gs = json_array();
	unsigned up = 0, failed = 0;
	for (size_t i = 0; i < L->spec->nnets; i++) {
		const struct lab_net *ln = &L->spec->nets[i];
		struct network *n = registry_find(r, ln->name);
		const struct netdef *d = n ? &network_current(n)->def : NULL;
		json_t *subs = json_array();
		char s[64];
		for (size_t k = 0; d && k < d->nips; k++) {
			nf_addr_subnet_str(&d->ips[k].address, d->ips[k].prefix,
					   s, sizeof(s));
			json_array_append_new(subs, json_string(s));
		}
		json_array_append_new(
			nets,
			json_pack("{s:s, s:b, s:b, s:b, s:s, s:s, s:o}", "name",
				  ln->name, "ref", ln->ref, "made", L->made[i],
				  "active", n && n->live, "mode",
				  d ? netxml_fwd_name(d->mode) : "", "bridge",
				  d && d->bridge ? d->bridge : "", "subnets",
				  subs));
	}
	for (size_t i = 0; !guests && i < L->spec->nguests; i++) {
		up += L->g[i]->state == G_UP;
		/* started (or tried) and ended: lab up waits no more for it */
		failed += L->g[i]->state == G_STOPPED && L->g[i]->tried;
	}
	for (size_t i = 0; guests && i < L->spec->nguests; i++) {
		const struct grun *g = L->g[i];
		const struct lab_guest *s = spec_of(g);
		json_t *ifs = json_array();
		up += g->state == G_UP;
		failed += g->state == G_STOPPED && g->tried;
		for (size_t k = 0; k < s->nifs; k++) {
			char ip[INET6_ADDRSTRLEN] = "";
			if (s->ifs[k].ip.family)
				nf_addr_format(&s->ifs[k].ip, ip, sizeof(ip));
			json_t *f = json_pack("{s:s, s:s, s:s, s:s}", "network",
					      s->ifs[k].network, "mac",
					      s->ifs[k].mac, "ip", ip, "leased",
					      g->leased[k]);
			/* how far its DHCP got, as dnsmasq's log tells it */
			struct network *n = registry_find(r, s->ifs[k].network);
			const struct dhcp_seen *sn =
				n && n->live && n->has_dnsmasq
					? dhcp_log_seen(&n->log, s->ifs[k].mac)
					: NULL;
			json_object_set_new(
				f, "dhcp",
				json_string(dhcp_step_name(sn ? sn->step
							      : DHCP_NONE)));
			if (sn && sn->ip[0])
				json_object_set_new(f, "dhcp_ip",
						    json_string(sn->ip));
			json_array_append_new(ifs, f);
		}
		json_array_append_new(
			gs,
			json_pack("{s:s, s:s, s:s, s:i, s:s, s:i, s:i, "
				  "s:f, s:o}",
				  "name", g->name, "vm", "", "state",
				  gstate_name[g->state], "pid", (int)g->pid,
				  "kernel", s->kernel ? s->kernel : "probe",
				  "memory_mib", (int)s->mem_mib, "cpus",
				  (int)s->cpus, "boot_ms",
				  ms(g->t_spawn, g->t_up), "interfaces", ifs));
		char vm[64];
		snprintf(vm, sizeof(vm), "lab-%s", g->name);
		json_object_set_new(json_array_get(gs, i), "vm",
				    json_string(vm));
	}
	const char *phase = L->t_up			     ? "up"
			    : up || L->t_nets || L->t_guests ? "starting"
							     : "recovered";
	return json_pack("{s:s, s:s?, s:s, s:i, s:i, s:i, s:f, s:f, s:f, s:o, "
			 "s:o}",
			 "name", L->spec->name, "file", L->file, "phase", phase,
			 "guests_up", (int)up, "guests_failed", (int)failed,
			 "guests_total", (int)L->spec->nguests, "networks_ms",
			 ms(L->t_start, L->t_nets), "spawned_ms",
			 ms(L->t_start, L->t_guests), "up_ms",
			 ms(L->t_start, L->t_up), "networks", nets, "guests",
			 gs);
}

int lab_status(struct registry *r, struct request *q, json_t *args,
	       json_t **res, struct nf_err *e)
{
	(void)q;
	if (nf_json_str(args, "name")) {
		struct labrun *L = need_lab(r, args, e);
		if (!L)
			return -ENOENT;
		*res = lab_json(
			r, L, !json_is_true(json_object_get(args, "summary")));
		return 0;
	}
	json_t *a = json_array();
	for (size_t i = 0; i < r->nlabs; i++)
		json_array_append_new(a, lab_json(r, r->labs[i], true));
	*res = a;
	return 0;
}

/* lab console --attach: a connection to the guest's console socket,
 * handed to the client (never waited for: a netvm that does not accept
 * leaves the connect unfinished, and that is an error). */
static int attach(struct registry *r, struct request *q, struct labrun *L,
		  const char *guest, json_t **res, struct nf_err *e)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	const struct grun *g =
		L->g[lab_guest_find(L->spec, guest) - L->spec->guests];
	if (!alive(g))
		return nf_errf(
			e, ESRCH,
			"guest %s of lab '%s' is not running (lab status "
			"says why; its log is %s.log)",
			guest, L->spec->name, guest);
	serial_path(r, L->spec->name, guest, a.sun_path, sizeof(a.sun_path));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int err = errno;
		if (fd >= 0)
			close(fd);
		return nf_errf(
			e, err, "guest %s's console: %s", guest,
			err == EAGAIN ? "its netvm takes no client now"
			: err == ENOENT
				? "no console socket (a guest started by "
				  "an older netd)"
				: strerror(err));
	}
	q->out_fds[q->nout_fds++] = fd;
	*res = json_pack("{s:s, s:s}", "lab", L->spec->name, "guest", guest);
	return 0;
}

int lab_console(struct registry *r, struct request *q, json_t *args,
		json_t **res, struct nf_err *e)
{
	struct labrun *L = need_lab(r, args, e);
	const char *guest = nf_json_str(args, "guest");
	char p[2200];
	if (!L)
		return -ENOENT;
	if (!guest || !lab_guest_find(L->spec, guest))
		return nf_errf(e, ENOENT, "lab '%s' has no guest '%s'",
			       L->spec->name, guest ? guest : "");
	if (json_is_true(json_object_get(args, "attach")))
		return attach(r, q, L, guest, res, e);
	json_int_t off = json_integer_value(json_object_get(args, "offset"));
	guest_file(L, guest, "console", p, sizeof(p));
	int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	char buf[65536];
	ssize_t n = 0;
	struct stat st;
	bool cut = false;
	/* netvm keeps the console under its cap by dropping the oldest
	 * half: a reader past the end starts again from what is there */
	if (fd >= 0 && fstat(fd, &st) == 0 && off > st.st_size) {
		off = 0;
		cut = true;
	}
	if (fd >= 0) {
		n = pread(fd, buf, sizeof(buf), (off_t)off);
		close(fd);
	}
	if (n < 0)
		n = 0;
	for (ssize_t i = 0; i < n; i++) /* the serial line, as text */
		if ((buf[i] < 0x20 && buf[i] != '\n' && buf[i] != '\t') ||
		    (unsigned char)buf[i] >= 0x7f)
			buf[i] = '?';
	*res = json_pack("{s:s%, s:I, s:s, s:b}", "data", buf, (size_t)n,
			 "next", (json_int_t)(off + n), "state",
			 gstate_name[L->g[lab_guest_find(L->spec, guest) -
					  L->spec->guests]
					     ->state],
			 "truncated", cut);
	return 0;
}

/* ------------------------------------------------------------- recovery */

/* One lab's record at start: the lab as it was, with the guests whose
 * netvm still runs. A lab whose file no longer checks out (a kernel
 * gone, say) is adopted as far as it parses, so that lab down works. */
static void recover_lab(const char *name, const char *path, void *ctx)
{
	struct registry *r = ctx;
	struct nf_buf errs = {0};
	struct lab *spec = NULL;
	json_t *j = nf_json_read(path), *x;
	const char *xml = json_string_value(json_object_get(j, "xml"));
	size_t i;
	(void)name;
	if (xml && labxml_parse(xml, strlen(xml), path,
				json_string_value(json_object_get(j, "dir")),
				&spec, &errs) < 0)
		nf_warn("lab record %s: %s", path, errs.s ? errs.s : "?");
	nf_buf_free(&errs);
	if (!spec || !spec->name[0]) {
		nf_err_log("lab record %s is unreadable; left alone", path);
		labxml_free(spec);
		json_decref(j);
		return;
	}
	struct labrun *L = new_lab(
		r, spec, xml, json_string_value(json_object_get(j, "dir")),
		json_string_value(json_object_get(j, "file")));
	L->t_start = 0;
	json_array_foreach (json_object_get(j, "networks"), i, x)
		for (size_t k = 0; k < spec->nnets; k++)
			if (!strcmp(spec->nets[k].name,
				    json_string_value(
					    json_object_get(x, "name"))
					    ?: ""))
				L->made[k] = json_is_true(
					json_object_get(x, "made"));
	unsigned running = 0;
	for (size_t k = 0; k < spec->nguests; k++) {
		L->g[k] = new_grun(L, spec->guests[k].name);
		L->g[k]->state = G_STOPPED;
	}
	/* a guest runs still if the process recorded for it does: same pid,
	 * start time, uid and netvm - a command line proves nothing. Its own
	 * record (GUEST.state); lab.json's list where an older netd kept
	 * them there */
	json_t *gs = json_object_get(j, "guests");
	for (size_t k = 0; k < spec->nguests; k++) {
		struct grun *g = L->g[k];
		char gp[4096];
		guest_file(L, g->name, "state", gp, sizeof(gp));
		json_t *own = nf_json_read(gp), *rec = own;
		for (i = 0; !rec && i < json_array_size(gs); i++)
			if (!strcmp(json_string_value(json_object_get(
					    json_array_get(gs, i), "name"))
					    ?: "",
				    g->name))
				rec = json_array_get(gs, i);
		if (rec) {
			g->pid = (pid_t)json_integer_value(
				json_object_get(rec, "pid"));
			g->start = (unsigned long long)json_integer_value(
				json_object_get(rec, "start"));
			g->uid = (uid_t)json_integer_value(
				json_object_get(rec, "uid"));
		}
		json_decref(own);
		if (!rec || !g->start || !alive(g)) {
			g->pid = 0;
			continue;
		}
		g->state = G_BOOTING; /* until the leases say */
		watch(g);
		running++;
	}
	NF_APPEND(r->labs, r->nlabs, L);
	json_decref(j);
	nf_info("lab '%s' re-adopted: %u of %zu guests running", spec->name,
		running, spec->nguests);
}

void labs_recover(struct registry *r)
{
	char dir[2048];
	snprintf(dir, sizeof(dir), "%s/labs", r->state_dir);
	nf_dir_each(dir, "", "lab.json", recover_lab, r);
	kick(r);
}

void labs_close(struct registry *r)
{
	if (tick_timer)
		loop_cancel(tick_timer);
	tick_timer = 0;
	for (size_t i = 0; i < r->nlabs; i++)
		free_lab(r->labs[i]);
	free(r->labs);
	r->labs = NULL;
	r->nlabs = 0;
}
