/* Labs: several networks and many guests, brought up and down as one.
 * netd creates the lab's networks (transient), then runs each guest as a
 * netvm process of its own session (lab-GUEST, console and log in the
 * lab's state dir), at most as many booting at once as there are CPUs,
 * and watches the networks' leases until every guest has its addresses.
 * Everything is written to STATE_DIR/labs/NAME/lab.json before it is
 * created; each netvm carries its status-file path (in that dir) on its
 * command line, so after a kill -9 of netd - or of `lab up` - `lab down`
 * still finds every process and network that belongs to the lab. */
#define _GNU_SOURCE
#include "lab.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"

enum { G_PENDING, G_BOOTING, G_UP, G_STOPPED };
static const char *const gstate_name[] = {"pending", "booting", "up",
					  "stopped"};

struct grun {
	struct labrun *lab;
	char name[48];
	int state;
	pid_t pid;
	int pidfd;
	uint64_t t_spawn, t_up;
	bool checked; /* its leases were looked at since it started */
	char leased[LAB_MAX_IFS][INET6_ADDRSTRLEN];
};

struct labrun {
	struct registry *reg;
	struct lab *spec;
	char *xml, *dir, *file; /* the lab file as given, where it was */
	bool *made;		/* per network: created by the lab */
	struct grun **g;	/* per guest */
	uint64_t t_start, t_nets, t_guests, t_up;
	uint64_t lease_stamp; /* of the lease files when last read */
};

/* -------------------------------------------------------------- paths */

static void lab_dir(const struct registry *r, const char *name, char *out,
		    size_t n)
{
	snprintf(out, n, "%s/labs/%s", r->state_dir, name);
}

/* The guest's status file: also the mark on its netvm's command line. */
static void guest_file(const struct labrun *L, const char *guest,
		       const char *ext, char *out, size_t n)
{
	char d[2048];
	lab_dir(L->reg, L->spec->name, d, sizeof(d));
	snprintf(out, n, "%s/%s.%s", d, guest, ext);
}

static const struct lab_guest *spec_of(const struct grun *g)
{
	return lab_guest_find(g->lab->spec, g->name);
}

/* ------------------------------------------------------------- record */

static int save(struct labrun *L, struct nf_err *e)
{
	char d[2048];
	lab_dir(L->reg, L->spec->name, d, sizeof(d));
	json_t *nets = json_array(), *gs = json_array();
	for (size_t i = 0; i < L->spec->nnets; i++)
		json_array_append_new(nets, json_pack("{s:s, s:b}", "name",
						      L->spec->nets[i].name,
						      "made", L->made[i]));
	for (size_t i = 0; i < L->spec->nguests; i++)
		json_array_append_new(
			gs, json_pack("{s:s, s:i, s:s}", "name", L->g[i]->name,
				      "pid", (int)L->g[i]->pid, "state",
				      gstate_name[L->g[i]->state]));
	json_t *j = json_pack("{s:s, s:s, s:s?, s:s?, s:o, s:o}", "name",
			      L->spec->name, "xml", L->xml, "dir", L->dir,
			      "file", L->file, "networks", nets, "guests", gs);
	return write_json(d, "lab.json", j, true, e);
}

static void save_log(struct labrun *L)
{
	struct nf_err e;
	if (save(L, &e) < 0)
		nf_err_log("lab '%s': %s", L->spec->name, e.msg);
}

/* ------------------------------------------------------- processes */

struct proc {
	pid_t pid;
	size_t guest; /* index into the guests asked about */
};

/* The netvm processes of guests gs, in one pass over /proc: each carries
 * its status file (LABDIR/GUEST.json) on its command line, so they are
 * found whether or not netd started them in this life. */
static size_t find_procs(const struct labrun *L, struct grun **gs, size_t n,
			 struct proc **out)
{
	char dir[2048], p[64], buf[8192];
	DIR *d = opendir("/proc");
	struct dirent *de;
	size_t np = 0, dl;
	*out = NULL;
	lab_dir(L->reg, L->spec->name, dir, sizeof(dir));
	dl = strlen(dir);
	while (d && (de = readdir(d))) {
		pid_t pid = (pid_t)atoi(de->d_name);
		if (pid <= 0)
			continue;
		snprintf(p, sizeof(p), "/proc/%d/cmdline", (int)pid);
		int fd = open(p, O_RDONLY | O_CLOEXEC);
		ssize_t l = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
		if (fd >= 0)
			close(fd);
		if (l <= 0)
			continue;
		buf[l] = 0;
		for (char *a = buf; a < buf + l; a += strlen(a) + 1) {
			size_t al = strlen(a);
			if (al <= dl + 6 || strncmp(a, dir, dl) ||
			    a[dl] != '/' || strcmp(a + al - 5, ".json"))
				continue;
			for (size_t i = 0; i < n; i++)
				if (strlen(gs[i]->name) == al - dl - 6 &&
				    !strncmp(a + dl + 1, gs[i]->name,
					     al - dl - 6)) {
					struct proc x = {pid, i};
					NF_APPEND(*out, np, x);
				}
			break;
		}
	}
	if (d)
		closedir(d);
	return np;
}

static bool gone(pid_t pid)
{
	int st;
	if (waitpid(pid, &st, WNOHANG) == pid)
		return true; /* ours, reaped */
	if (kill(pid, 0) < 0 && errno == ESRCH)
		return true;
	/* a zombie some other parent has not reaped yet is gone too */
	char p[64], s[256];
	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(p, "r");
	bool z = f && fgets(s, sizeof(s), f) && strstr(s, ") Z ");
	if (f)
		fclose(f);
	return z;
}

static void unwatch(struct grun *g)
{
	if (g->pidfd >= 0) {
		loop_unwatch(g->pidfd);
		close(g->pidfd);
		g->pidfd = -1;
	}
}

/* Ends the guests' netvm processes: SIGTERM to all (netvm powers the
 * guest off and gives back its ports), SIGKILL after 5 s. */
static void stop_guests(struct labrun *L, struct grun **gs, size_t n)
{
	struct proc *ps;
	size_t np = find_procs(L, gs, n, &ps);
	pid_t *pids = nf_xcalloc(np + 1, sizeof(*pids));
	for (size_t i = 0; i < np; i++)
		kill(pids[i] = ps[i].pid, SIGTERM);
	free(ps);
	for (size_t i = 0; i < n; i++) {
		unwatch(gs[i]);
		gs[i]->state = G_STOPPED;
		gs[i]->pid = 0;
	}
	uint64_t t0 = nf_now_ns();
	for (size_t i = 0; i < np;) {
		if (gone(pids[i])) {
			pids[i] = pids[--np];
			continue;
		}
		if (nf_now_ns() - t0 > 5000000000ull) {
			nf_warn("lab '%s': netvm %d ignored SIGTERM; killed",
				L->spec->name, (int)pids[i]);
			kill(pids[i], SIGKILL);
			t0 = nf_now_ns() - 4000000000ull; /* 1 s more */
		}
		usleep(5000);
		i = 0;
	}
	free(pids);
}

static void guest_exited(void *ctx)
{
	struct grun *g = ctx;
	int st;
	unwatch(g);
	waitpid(g->pid, &st, WNOHANG);
	nf_info("lab '%s': guest %s (netvm %d) ended", g->lab->spec->name,
		g->name, (int)g->pid);
	g->state = G_STOPPED;
	g->pid = 0;
	save_log(g->lab);
}

static void watch(struct grun *g)
{
	g->pidfd = (int)syscall(SYS_pidfd_open, g->pid, 0);
	if (g->pidfd >= 0)
		loop_watch(g->pidfd, guest_exited, g);
}

static int spawn(struct registry *r, struct grun *g, struct nf_err *e)
{
	struct labrun *L = g->lab;
	const struct lab_guest *s = spec_of(g);
	char con[2200], st[2100], log[2100], mem[16], cpus[16], vm[64];
	char nets[LAB_MAX_IFS][160];
	const char *argv[40];
	size_t a = 0;
	guest_file(L, g->name, "console", con + 5, sizeof(con) - 5);
	memcpy(con, "file:", 5);
	guest_file(L, g->name, "json", st, sizeof(st));
	guest_file(L, g->name, "log", log, sizeof(log));
	snprintf(mem, sizeof(mem), "%uM", s->mem_mib);
	snprintf(cpus, sizeof(cpus), "%u", s->cpus);
	snprintf(vm, sizeof(vm), "lab-%s", s->name);
	argv[a++] = r->netvm_path;
	argv[a++] = "run";
	argv[a++] = "--kernel";
	argv[a++] = s->kernel ? s->kernel : r->probe_path;
	if (s->initrd)
		argv[a++] = "--initrd", argv[a++] = s->initrd;
	/* the probe guest keeps answering once it has its addresses */
	argv[a++] = "--cmdline";
	argv[a++] =
		s->cmdline ? s->cmdline : (s->kernel ? "" : "serve=2000000000");
	argv[a++] = "--mem", argv[a++] = mem;
	argv[a++] = "--cpus", argv[a++] = cpus;
	argv[a++] = "--name", argv[a++] = vm;
	argv[a++] = "--console", argv[a++] = con;
	argv[a++] = "--status", argv[a++] = st;
	for (size_t i = 0; i < s->nifs; i++) {
		char ip[INET6_ADDRSTRLEN] = "";
		if (s->ifs[i].ip.family)
			nf_addr_format(&s->ifs[i].ip, ip, sizeof(ip));
		snprintf(nets[i], sizeof(nets[i]), "%s,mac=%s%s%s",
			 s->ifs[i].network, s->ifs[i].mac, ip[0] ? ",ip=" : "",
			 ip);
		argv[a++] = "--net", argv[a++] = nets[i];
	}
	argv[a] = NULL;
	g->state = G_BOOTING;
	g->pid = 0;
	save_log(L); /* intent first */
	pid_t pid = fork();
	if (pid < 0)
		return nf_errf(e, errno, "fork: %s", strerror(errno));
	if (pid == 0) {
		sigset_t all;
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		setsid();
		int fd = open(log,
			      O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
				      O_NOFOLLOW,
			      0644);
		int nul = open("/dev/null", O_RDONLY);
		if (nul >= 0)
			dup2(nul, 0);
		if (fd >= 0)
			dup2(fd, 1), dup2(fd, 2);
		/* nothing of netd's goes along: sockets, locks, pidfds */
		close_range(3, ~0u, 0);
		nf_fd_limit_restore();
		setenv("NETD_SOCKET", r->socket_path, 1);
		execv(argv[0], (char *const *)argv);
		dprintf(2, "netd: cannot run %s: %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	g->pid = pid;
	g->t_spawn = nf_now_ns();
	g->checked = false;
	memset(g->leased, 0, sizeof(g->leased));
	watch(g);
	save_log(L);
	return 0;
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
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 2 : 2 * (unsigned)n;
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
				save_log(L);
			}
			booting += g->state == G_BOOTING;
		}
		for (size_t k = 0; k < L->spec->nguests && booting < bound();
		     k++) {
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
	g->pidfd = -1;
	snprintf(g->name, sizeof(g->name), "%s", name);
	return g;
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
		unwatch(L->g[i]);
		free(L->g[i]);
	}
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

static void rm_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char p[4096];
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' &&
		    (!de->d_name[1] || !strcmp(de->d_name, "..")))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
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
static void host_checks(struct registry *r, const struct lab *l,
			const struct labrun *self, json_t *errs)
{
	char sub[64], what[256], ip[INET6_ADDRSTRLEN];
	for (size_t i = 0; i < l->nnets; i++) {
		const struct lab_net *ln = &l->nets[i];
		struct network *n = registry_find(r, ln->name);
		struct labrun *mk = maker(r, ln->name);
		if (ln->ref) {
			if (!n)
				ERR("line %d: no network '%s' on this host "
				    "(net-define it, or declare it inline)",
				    ln->line, ln->name);
			else if (!n->live)
				ERR("line %d: network '%s' is not active "
				    "(net-start it)",
				    ln->line, ln->name);
			continue;
		}
		if (n && mk != self) {
			ERR("line %d: network '%s' already exists on this "
			    "host%s%s%s",
			    ln->line, ln->name, mk ? " (lab '" : "",
			    mk ? mk->spec->name : "", mk ? "')" : "");
			continue;
		}
		if (n) /* the lab's own, reconciled */
			continue;
		const struct netdef *d = &ln->nx->def;
		for (size_t k = 0; k < r->n; k++) {
			const struct netdef *o =
				&network_current(r->nets[k])->def;
			if (maker(r, o->name) == self && self)
				continue;
			for (size_t a = 0; a < d->nips; a++)
				for (size_t b = 0; b < o->nips; b++)
					if (netxml_ips_overlap(&d->ips[a],
							       &o->ips[b])) {
						nf_addr_subnet_str(
							&d->ips[a].address,
							d->ips[a].prefix, sub,
							sizeof(sub));
						ERR("line %d: network '%s': "
						    "subnet %s overlaps "
						    "network '%s'",
						    ln->line, ln->name, sub,
						    o->name);
					}
			if (d->bridge && o->bridge &&
			    !strcmp(d->bridge, o->bridge))
				ERR("line %d: network '%s': bridge '%s' is "
				    "network '%s''s",
				    ln->line, ln->name, d->bridge, o->name);
		}
		for (size_t a = 0; a < d->nips; a++)
			if (bridge_route_conflict(r->br, &d->ips[a].address,
						  d->ips[a].prefix,
						  d->bridge ? d->bridge : "",
						  what, sizeof(what))) {
				nf_addr_subnet_str(&d->ips[a].address,
						   d->ips[a].prefix, sub,
						   sizeof(sub));
				ERR("line %d: network '%s': subnet %s "
				    "collides with the host's %s",
				    ln->line, ln->name, sub, what);
			}
	}
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
			const struct lab_if *x = &g->ifs[f];
			const struct lab_net *ln = lab_net_find(l, x->network);
			struct network *n = registry_find(r, x->network);
			if (!ln || !ln->ref || !n || !n->live)
				continue;
			/* a network the host has: its subnets and pins */
			const struct netdef *d = &n->live->def;
			char vm[64];
			snprintf(vm, sizeof(vm), "lab-%s", g->name);
			struct port *p =
				port_find_pinned(r, d->name, x->mac,
						 x->ip.family ? &x->ip : NULL);
			if (p && strcmp(p->name, vm))
				ERR("line %d: guest '%s': MAC %s or its IP is "
				    "already pinned on '%s' by port %s",
				    x->line, g->name, x->mac, d->name,
				    p->name[0] ? p->name : p->tap);
			if (!x->ip.family)
				continue;
			nf_addr_format(&x->ip, ip, sizeof(ip));
			const struct netxml_ip *sn = netxml_ip_of(d, &x->ip);
			if (!sn) {
				ERR("line %d: guest '%s': %s is outside every "
				    "subnet of network '%s'",
				    x->line, g->name, ip, d->name);
				continue;
			}
			if (!sn->has_dhcp)
				ERR("line %d: guest '%s': network '%s' hands "
				    "out no addresses on the subnet of %s",
				    x->line, g->name, d->name, ip);
			for (size_t h = 0; h < sn->nhosts; h++) {
				const struct netxml_host *hh = &sn->hosts[h];
				if (!nf_addr_cmp(&hh->ip, &x->ip) &&
				    (!hh->mac || strcasecmp(hh->mac, x->mac)))
					ERR("line %d: guest '%s': %s is "
					    "reserved "
					    "on '%s' for %s",
					    x->line, g->name, ip, d->name,
					    hh->mac ? hh->mac : hh->name);
			}
		}
	}
}

/* ------------------------------------------------------------ networks */

static int make_network(struct registry *r, struct labrun *L, size_t i,
			struct nf_err *e)
{
	L->made[i] = true; /* intent, recorded before it exists */
	int rc = save(L, e);
	if (rc < 0)
		return rc;
	rc = network_create(r, netxml_dup(L->spec->nets[i].nx), NULL, e);
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

/* Everything of the lab goes: guests, the networks it made, its dir. */
static void teardown(struct registry *r, struct labrun *L)
{
	char d[2048];
	stop_guests(L, L->g, L->spec->nguests);
	for (size_t i = 0; i < L->spec->nnets; i++)
		drop_network(r, L, i);
	lab_dir(r, L->spec->name, d, sizeof(d));
	rm_tree(d);
	nf_info("lab '%s' is down", L->spec->name);
	remove_lab(r, L);
}

/* ------------------------------------------------------------ handlers */

static const char *arg_str(json_t *a, const char *k)
{
	return json_string_value(json_object_get(a, k));
}

static bool has_str(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
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
static int reconcile(struct registry *r, struct labrun *L, struct lab *spec,
		     json_t *args, json_t **res, struct nf_err *e)
{
	struct labrun *N = new_lab(r, spec, arg_str(args, "xml"),
				   arg_str(args, "dir"), arg_str(args, "file"));
	unsigned kept = 0, added = 0, removed = 0, nets_new = 0, nets_gone = 0;
	struct grun **stop = nf_xcalloc(L->spec->nguests + 1, sizeof(*stop));
	size_t nstop = 0;
	/* networks whose definition changed count as dropped and new */
	bool *same_net = nf_xcalloc(spec->nnets + 1, sizeof(bool));
	for (size_t i = 0; i < spec->nnets; i++)
		for (size_t k = 0; k < L->spec->nnets; k++) {
			const struct lab_net *a = &spec->nets[i],
					     *b = &L->spec->nets[k];
			if (strcmp(a->name, b->name) || a->ref != b->ref)
				continue;
			/* the pins are not the network: they change live */
			same_net[i] = (!a->base && !b->base) ||
				      (a->base && b->base &&
				       !strcmp(a->base, b->base));
			N->made[i] = same_net[i] && L->made[k];
		}
	for (size_t i = 0; i < L->spec->nguests; i++) {
		struct grun *g = L->g[i];
		const struct lab_guest *ng = lab_guest_find(spec, g->name);
		bool nets_same = true;
		for (size_t f = 0; ng && f < ng->nifs; f++)
			for (size_t k = 0; k < spec->nnets; k++)
				if (!strcmp(spec->nets[k].name,
					    ng->ifs[f].network))
					nets_same = nets_same && same_net[k];
		if (ng && nets_same && lab_guest_same(ng, spec_of(g)) &&
		    g->state != G_STOPPED) {
			continue; /* moved below */
		}
		stop[nstop++] = g;
	}
	stop_guests(L, stop, nstop);
	removed = (unsigned)nstop;
	for (size_t k = 0; k < L->spec->nnets; k++) {
		bool keep = false;
		for (size_t i = 0; i < spec->nnets; i++)
			keep = keep ||
			       (same_net[i] && !strcmp(spec->nets[i].name,
						       L->spec->nets[k].name));
		if (!keep && L->made[k]) {
			drop_network(r, L, k);
			nets_gone++;
		}
	}
	/* the new lab takes the old one's place */
	for (size_t i = 0; i < r->nlabs; i++)
		if (r->labs[i] == L)
			r->labs[i] = N;
	for (size_t i = 0; i < spec->nguests; i++) {
		struct grun *old = NULL;
		for (size_t k = 0; k < L->spec->nguests; k++) {
			bool stopped = false;
			for (size_t s = 0; s < nstop; s++)
				stopped = stopped || stop[s] == L->g[k];
			if (!stopped &&
			    !strcmp(L->g[k]->name, spec->guests[i].name))
				old = L->g[k];
		}
		if (old) {
			for (size_t k = 0; k < L->spec->nguests; k++)
				if (L->g[k] == old)
					L->g[k] = new_grun(L, old->name);
			old->lab = N;
			N->g[i] = old;
			kept++;
		} else {
			N->g[i] = new_grun(N, spec->guests[i].name);
			added++;
		}
	}
	int rc = 0;
	for (size_t i = 0; i < spec->nnets && rc == 0; i++)
		if (N->made[i])
			rc = repin(r, spec->nets[i].name, L->spec, spec, e);
	free_lab(L);
	free(stop);
	for (size_t i = 0; i < spec->nnets && rc == 0; i++)
		if (!spec->nets[i].ref && !N->made[i]) {
			rc = make_network(r, N, i, e);
			nets_new += rc == 0;
		}
	free(same_net);
	save_log(N);
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
	(void)q;
	const char *xml = arg_str(args, "xml"), *dir = arg_str(args, "dir"),
		   *file = arg_str(args, "file");
	struct nf_buf b = {0};
	struct lab *spec;
	if (!xml)
		return nf_errf(e, EINVAL, "missing string argument 'xml'");
	json_t *errs = json_array();
	/* the file's own problems and its collisions with the host, all */
	bool bad_file = labxml_parse(xml, strlen(xml), file ? file : "lab", dir,
				     &spec, &b) < 0;
	for (char *s = b.s, *nl; s && *s; s = nl + 1) {
		nl = strchr(s, '\n');
		json_array_append_new(errs, json_stringn(s, (size_t)(nl - s)));
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
	if (old)
		return reconcile(r, old, spec, args, res, e);
	struct labrun *L = new_lab(r, spec, xml, dir, file);
	for (size_t i = 0; i < spec->nguests; i++)
		L->g[i] = new_grun(L, spec->guests[i].name);
	NF_APPEND(r->labs, r->nlabs, L);
	int rc = save(L, e);
	for (size_t i = 0; rc == 0 && i < spec->nnets; i++)
		if (!spec->nets[i].ref)
			rc = make_network(r, L, i, e);
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
	const char *name = arg_str(args, "name"), *xml = arg_str(args, "xml");
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
	(void)q;
	struct labrun *L = need_lab(r, args, e);
	if (!L)
		return -ENOENT;
	unsigned ng = 0, nn = 0;
	for (size_t i = 0; i < L->spec->nguests; i++)
		ng += L->g[i]->state != G_STOPPED;
	for (size_t i = 0; i < L->spec->nnets; i++)
		nn += L->made[i];
	*res = json_pack("{s:s, s:i, s:i}", "name", L->spec->name, "guests",
			 (int)ng, "networks", (int)nn);
	teardown(r, L);
	return 0;
}

static double ms(uint64_t from, uint64_t to)
{
	return from && to ? (double)(to - from) / 1e6 : -1;
}

static json_t *lab_json(struct registry *r, const struct labrun *L)
{
	json_t *nets = json_array(), *gs = json_array();
	unsigned up = 0;
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
	for (size_t i = 0; i < L->spec->nguests; i++) {
		const struct grun *g = L->g[i];
		const struct lab_guest *s = spec_of(g);
		json_t *ifs = json_array();
		up += g->state == G_UP;
		for (size_t k = 0; k < s->nifs; k++) {
			char ip[INET6_ADDRSTRLEN] = "";
			if (s->ifs[k].ip.family)
				nf_addr_format(&s->ifs[k].ip, ip, sizeof(ip));
			json_array_append_new(
				ifs, json_pack("{s:s, s:s, s:s, s:s}",
					       "network", s->ifs[k].network,
					       "mac", s->ifs[k].mac, "ip", ip,
					       "leased", g->leased[k]));
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
	return json_pack(
		"{s:s, s:s?, s:s, s:i, s:i, s:f, s:f, s:f, s:o, "
		"s:o}",
		"name", L->spec->name, "file", L->file, "phase", phase,
		"guests_up", (int)up, "guests_total", (int)L->spec->nguests,
		"networks_ms", ms(L->t_start, L->t_nets), "spawned_ms",
		ms(L->t_start, L->t_guests), "up_ms", ms(L->t_start, L->t_up),
		"networks", nets, "guests", gs);
}

int lab_status(struct registry *r, struct request *q, json_t *args,
	       json_t **res, struct nf_err *e)
{
	(void)q;
	if (arg_str(args, "name")) {
		struct labrun *L = need_lab(r, args, e);
		if (!L)
			return -ENOENT;
		*res = lab_json(r, L);
		return 0;
	}
	json_t *a = json_array();
	for (size_t i = 0; i < r->nlabs; i++)
		json_array_append_new(a, lab_json(r, r->labs[i]));
	*res = a;
	return 0;
}

int lab_console(struct registry *r, struct request *q, json_t *args,
		json_t **res, struct nf_err *e)
{
	(void)q;
	struct labrun *L = need_lab(r, args, e);
	const char *guest = arg_str(args, "guest");
	char p[2200];
	if (!L)
		return -ENOENT;
	if (!guest || !lab_guest_find(L->spec, guest))
		return nf_errf(e, ENOENT, "lab '%s' has no guest '%s'",
			       L->spec->name, guest ? guest : "");
	json_int_t off = json_integer_value(json_object_get(args, "offset"));
	guest_file(L, guest, "console", p, sizeof(p));
	int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	char buf[65536];
	ssize_t n = 0;
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
	*res = json_pack("{s:s%, s:I, s:s}", "data", buf, (size_t)n, "next",
			 (json_int_t)(off + n), "state",
			 gstate_name[L->g[lab_guest_find(L->spec, guest) -
					  L->spec->guests]
					     ->state]);
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
	json_t *j = read_json(path), *x;
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
	unsigned alive = 0;
	struct proc *ps;
	for (size_t k = 0; k < spec->nguests; k++) {
		L->g[k] = new_grun(L, spec->guests[k].name);
		L->g[k]->state = G_STOPPED;
	}
	size_t np = find_procs(L, L->g, spec->nguests, &ps);
	for (size_t i = 0; i < np; i++) {
		struct grun *g = L->g[ps[i].guest];
		if (g->pid)
			continue; /* one netvm per guest is watched */
		g->pid = ps[i].pid;
		g->state = G_BOOTING; /* until the leases say */
		watch(g);
		alive++;
	}
	free(ps);
	NF_APPEND(r->labs, r->nlabs, L);
	json_decref(j);
	nf_info("lab '%s' re-adopted: %u of %zu guests running", spec->name,
		alive, spec->nguests);
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
