/* netctl lab: up (with progress and a final table), down, status, list,
 * console, graph (dot, mermaid, svg) and export (json, hosts, ansible).
 * netd does the work; this file asks and draws. Arguments come checked
 * against netctl's table (args.c). */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <termios.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../netd/labxml.h"
#include "netctl.h"

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static json_int_t jint(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

/* One row per guest interface: guest, network, MAC, IP, state. */
static void guest_table(json_t *lab)
{
	json_t *rows = json_array(), *g, *f;
	size_t i, k;
	json_array_foreach (json_object_get(lab, "guests"), i, g)
		json_array_foreach (json_object_get(g, "interfaces"), k, f) {
			const char *ip = *ctl_jstr(f, "leased")
						 ? ctl_jstr(f, "leased")
						 : ctl_jstr(f, "ip");
			json_array_append_new(
				rows,
				json_pack("{s:s, s:s, s:s, s:s, s:s}", "guest",
					  k ? "" : ctl_jstr(g, "name"),
					  "network", ctl_jstr(f, "network"),
					  "mac", ctl_jstr(f, "mac"), "ip",
					  *ip ? ip : "-", "state",
					  k ? "" : ctl_jstr(g, "state")));
		}
	static const char *cols[] = {"guest", "network", "mac", "ip", "state"};
	static const char *heads[] = {"Guest", "Network", "MAC", "IP", "State"};
	ctl_print_table(rows, cols, heads, 5);
	json_decref(rows);
}

/* The lab's status; summary: without its guests (counts, phases and
 * networks), what a wait asks for ten times a second. */
static json_t *lab_status_of(const char *name, bool summary)
{
	json_t *r;
	if (ctl_call(NF_CMD_LAB_STATUS,
		     json_pack("{s:s, s:b}", "name", name, "summary", summary),
		     &r))
		return NULL;
	return r;
}

static json_t *status_of(const char *name)
{
	return lab_status_of(name, false);
}

/* Why a guest is without its address, interface by interface, from what
 * netd saw of its DHCP exchange in dnsmasq's log. */
static void why_not_up(const char *lab, json_t *g)
{
	json_t *f;
	size_t k;
	const char *st = ctl_jstr(g, "state");
	if (!strcmp(st, "stopped") || !strcmp(st, "pending")) {
		fprintf(stderr, "  %s: %s%s\n", ctl_jstr(g, "name"),
			!strcmp(st, "pending") ? "not started yet"
					       : "its netvm is not running",
			!strcmp(st, "stopped") ? " (netd's log says why; its "
						 "own log is GUEST.log in the "
						 "lab's state dir)"
					       : "");
		return;
	}
	json_array_foreach (json_object_get(g, "interfaces"), k, f) {
		const char *d = ctl_jstr(f, "dhcp"), *want = ctl_jstr(f, "ip"),
			   *got = ctl_jstr(f, "dhcp_ip");
		char why[512];
		if (*ctl_jstr(f, "leased"))
			continue;
		if (!strcmp(d, "none"))
			snprintf(why, sizeof(why),
				 "no DHCP request seen from %s (is its DHCP "
				 "client running? netctl lab console %s %s)",
				 ctl_jstr(f, "mac"), lab, ctl_jstr(g, "name"));
		else if (!strcmp(d, "discover") || !strcmp(d, "request"))
			snprintf(why, sizeof(why),
				 "its DHCP %s was seen, but no reply",
				 !strcmp(d, "discover") ? "discover"
							: "request");
		else if (!strcmp(d, "no-address"))
			snprintf(why, sizeof(why),
				 "dnsmasq had no address for %s",
				 ctl_jstr(f, "mac"));
		else if (*want && *got && strcmp(want, got))
			snprintf(why, sizeof(why),
				 "dnsmasq replied with %s, not its pinned %s "
				 "(netctl net-info %s says whether the "
				 "reservations loaded)",
				 got, want, ctl_jstr(f, "network"));
		else if (!strcmp(d, "nak"))
			snprintf(why, sizeof(why), "dnsmasq refused it (NAK)");
		else
			snprintf(why, sizeof(why),
				 "offered %s; no lease followed yet",
				 *got ? got : "an address");
		fprintf(stderr, "  %s on %s: %s\n", ctl_jstr(g, "name"),
			ctl_jstr(f, "network"), why);
	}
}

/* Waits for every guest's addresses, a line per phase. */
static int wait_up(const char *name, double t0, double timeout)
{
	int printed = 0;
	json_int_t last_up = -1;
	double last_line = 0;
	for (;;) {
		json_t *s = lab_status_of(name, true);
		if (!s)
			return 1;
		json_int_t up = jint(s, "guests_up"),
			   failed = jint(s, "guests_failed"),
			   total = jint(s, "guests_total");
		double t = now_s() - t0;
		/* every guest up, or the rest ended without: no more to wait */
		bool done = up == total || (failed && up + failed == total);
		if (done || t > timeout) { /* the guests' part now */
			json_decref(s);
			if (!(s = status_of(name)))
				return 1;
			up = jint(s, "guests_up");
			total = jint(s, "guests_total");
		}
		if (printed < 1 && !ctl_opt_json) {
			json_t *n;
			size_t i;
			printf("[%6.2fs] networks: %zu ready (", t,
			       json_array_size(json_object_get(s, "networks")));
			json_array_foreach (json_object_get(s, "networks"), i,
					    n)
				printf("%s%s%s", i ? ", " : "",
				       ctl_jstr(n, "name"),
				       json_is_true(json_object_get(n, "ref"))
					       ? " [host's]"
					       : "");
			printf(")\n");
			printed = 1;
		}
		if (printed < 2 &&
		    json_real_value(json_object_get(s, "spawned_ms")) >= 0 &&
		    !ctl_opt_json) {
			printf("[%6.2fs] guests: all %lld started\n", t,
			       (long long)total);
			printed = 2;
		}
		if (!ctl_opt_json && up != last_up &&
		    (t - last_line > 0.5 || up == total)) {
			printf("[%6.2fs] addresses: %lld of %lld guests have "
			       "theirs\n",
			       t, (long long)up, (long long)total);
			last_up = up;
			last_line = t;
		}
		if (up == total) {
			if (ctl_opt_json)
				ctl_print_json(s);
			else
				guest_table(s);
			json_decref(s);
			return 0;
		}
		if (done || t > timeout) {
			fprintf(stderr,
				"netctl: lab '%s': %lld of %lld guests without "
				"their addresses after %.0f s%s:\n",
				name, (long long)(total - up), (long long)total,
				done ? t : timeout,
				done ? " (they ended)" : "");
			json_t *g;
			size_t i;
			json_array_foreach (json_object_get(s, "guests"), i, g)
				if (strcmp(ctl_jstr(g, "state"), "up"))
					why_not_up(name, g);
			if (!ctl_opt_json)
				guest_table(s);
			json_decref(s);
			return 1;
		}
		json_decref(s);
		usleep(100000);
	}
}

int ctl_lab_up(int argc, char **argv)
{
	const char *file = argv[2];
	double timeout = 300;
	bool wait = true;
	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
			timeout = atof(argv[++i]);
		else if (!strcmp(argv[i], "--no-wait"))
			wait = false;
	}
	char abs[PATH_MAX], dir[PATH_MAX];
	if (!realpath(file, abs)) {
		fprintf(stderr, "netctl: %s: %s\n", file, strerror(errno));
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s", abs);
	char *xml = ctl_read_input(abs);
	if (!xml)
		return 1;
	const char *d = dirname(dir);
	/* the kernels, initrds and images the lab names are opened here
	 * (read-only), with this user's rights, and handed to netd (which
	 * never opens a path a user named); a file with problems goes as it
	 * is, nothing opened, for netd to list them all */
	struct lab *spec = NULL;
	struct nf_buf perr = {0};
	const char **files = NULL;
	size_t nfiles = 0;
	int fds[PROTO_MAX_FDS];
	if (labxml_parse(xml, strlen(xml), abs, d, &spec, &perr) == 0)
		nfiles = lab_files(spec, &files);
	nf_buf_free(&perr);
	if (nfiles > PROTO_MAX_FDS) {
		fprintf(stderr,
			"netctl: %s names %zu kernels, initrds and images; a "
			"lab may "
			"use at most %d different files\n",
			abs, nfiles, PROTO_MAX_FDS);
		return 1;
	}
	json_t *fa = json_array();
	int rc = 0;
	for (size_t i = 0; i < nfiles && !rc; i++) {
		struct stat st;
		fds[i] = open(files[i], O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (fds[i] < 0 || fstat(fds[i], &st) < 0 ||
		    !S_ISREG(st.st_mode)) {
			fprintf(stderr, "netctl: %s: %s\n", files[i],
				fds[i] < 0 ? strerror(errno)
					   : "not a regular file");
			rc = 1;
		}
		json_array_append_new(fa, json_string(files[i]));
	}
	double t0 = now_s();
	json_t *r = NULL;
	if (!rc)
		rc = ctl_call_fds(NF_CMD_LAB_UP,
				  json_pack("{s:s, s:s, s:s, s:o}", "xml", xml,
					    "dir", d, "file", abs, "files", fa),
				  fds, nfiles, &r);
	else
		json_decref(fa);
	for (size_t i = 0; i < nfiles; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(files);
	labxml_free(spec);
	free(xml);
	if (rc)
		return 1;
	char name[64];
	snprintf(name, sizeof(name), "%s", ctl_jstr(r, "name"));
	if (!ctl_opt_json) {
		if (json_is_true(json_object_get(r, "reconciled")))
			printf("lab '%s' reconciled: %lld kept running, %lld "
			       "started, %lld stopped; networks +%lld -%lld\n",
			       name, (long long)jint(r, "kept"),
			       (long long)jint(r, "added"),
			       (long long)jint(r, "stopped"),
			       (long long)jint(r, "networks_added"),
			       (long long)jint(r, "networks_removed"));
		else
			printf("lab '%s': %lld networks, %lld guests\n", name,
			       (long long)jint(r, "networks"),
			       (long long)jint(r, "guests"));
	}
	json_decref(r);
	return wait ? wait_up(name, t0, timeout) : 0;
}

/* NAME, or a lab file whose <lab name=...> netd reads. */
static json_t *name_arg(const char *a)
{
	struct stat st;
	if (stat(a, &st) == 0 && S_ISREG(st.st_mode) && strchr(a, '.')) {
		char *xml = ctl_read_input(a);
		json_t *j = json_pack("{s:s}", "xml", xml ? xml : "");
		free(xml);
		return j;
	}
	return json_pack("{s:s}", "name", a);
}

int ctl_lab_down(int argc, char **argv)
{
	json_t *r;
	(void)argc;
	if (ctl_call(NF_CMD_LAB_DOWN, name_arg(argv[2]), &r))
		return 1;
	if (ctl_opt_json)
		ctl_print_json(r);
	else
		printf("lab '%s' is down: %lld guests stopped, %lld networks "
		       "removed\n",
		       ctl_jstr(r, "name"), (long long)jint(r, "guests"),
		       (long long)jint(r, "networks"));
	json_decref(r);
	return 0;
}

int ctl_lab_status(int argc, char **argv)
{
	json_t *r, *l;
	size_t i;
	if (ctl_call(NF_CMD_LAB_STATUS,
		     json_pack("{s:s?}", "name", argc == 3 ? argv[2] : NULL),
		     &r))
		return 1;
	if (ctl_json_done(r))
		return 0;
	json_t *all = json_is_array(r) ? json_incref(r) : json_pack("[O]", r);
	json_array_foreach (all, i, l) {
		printf("lab %s (%s): %lld of %lld guests up%s%s\n",
		       ctl_jstr(l, "name"), ctl_jstr(l, "phase"),
		       (long long)jint(l, "guests_up"),
		       (long long)jint(l, "guests_total"),
		       *ctl_jstr(l, "file") ? ", from " : "",
		       ctl_jstr(l, "file"));
		guest_table(l);
	}
	json_decref(all);
	json_decref(r);
	return 0;
}

int ctl_lab_list(int argc, char **argv)
{
	json_t *r, *l, *rows = json_array();
	size_t i;
	(void)argc;
	(void)argv;
	if (ctl_call(NF_CMD_LAB_STATUS, json_object(), &r))
		return 1;
	if (ctl_json_done(r))
		return 0;
	json_array_foreach (r, i, l) {
		char g[32], n[16];
		snprintf(g, sizeof(g), "%lld/%lld",
			 (long long)jint(l, "guests_up"),
			 (long long)jint(l, "guests_total"));
		snprintf(n, sizeof(n), "%zu",
			 json_array_size(json_object_get(l, "networks")));
		json_array_append_new(rows,
				      json_pack("{s:s, s:s, s:s, s:s, s:s}",
						"name", ctl_jstr(l, "name"),
						"phase", ctl_jstr(l, "phase"),
						"guests", g, "networks", n,
						"file", ctl_jstr(l, "file")));
	}
	static const char *cols[] = {"name", "phase", "guests", "networks",
				     "file"};
	static const char *heads[] = {"Name", "Phase", "Guests up", "Networks",
				      "File"};
	if (json_array_size(rows))
		ctl_print_table(rows, cols, heads, 5);
	else
		printf("no labs\n");
	json_decref(rows);
	json_decref(r);
	return 0;
}

static volatile sig_atomic_t stop;
static void on_int(int s)
{
	(void)s;
	stop = 1;
}

/* lab console --attach: the guest's serial port, read and written
 * through the connection netd hands over. On a terminal: raw mode, ^]
 * ends it. Otherwise stdin is typed in; after its end, output goes on
 * until the guest has been quiet for a second and a half. */
#define ESCAPE 0x1d /* ^] */
static int attach(const char *lab, const char *guest)
{
	json_t *r;
	int fd = -1;
	size_t nfd = 1;
	if (ctl_call_io(NF_CMD_LAB_CONSOLE,
			json_pack("{s:s, s:s, s:b}", "name", lab, "guest",
				  guest, "attach", 1),
			NULL, 0, &r, &fd, &nfd))
		return 1;
	json_decref(r);
	if (nfd != 1 || fd < 0) {
		fprintf(stderr, "netctl: netd sent no console connection\n");
		return 1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	bool tty = isatty(STDIN_FILENO);
	struct termios old, raw;
	if (tty && tcgetattr(STDIN_FILENO, &old) == 0) {
		raw = old;
		cfmakeraw(&raw);
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
		fprintf(stderr,
			"Connected to guest %s of lab '%s' (escape: ^])\r\n",
			guest, lab);
	}
	struct pollfd p[2] = {{STDIN_FILENO, POLLIN, 0}, {fd, POLLIN, 0}};
	char buf[4096];
	int rc = 0;
	while (!stop) {
		int n = poll(p, 2, p[0].fd < 0 ? 1500 : -1);
		if (n == 0)
			break; /* quiet since stdin ended */
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents) {
			ssize_t got = read(fd, buf, sizeof(buf));
			if (got <= 0) {
				if (tty)
					fprintf(stderr, "\r\n");
				fprintf(stderr,
					"netctl: the guest's console closed "
					"(it ended, or netd went away)\n");
				rc = got < 0;
				break;
			}
			fwrite(buf, 1, (size_t)got, stdout);
			fflush(stdout);
		}
		if (p[0].fd >= 0 && p[0].revents) {
			ssize_t got = read(STDIN_FILENO, buf, sizeof(buf));
			char *esc = got > 0 && tty
					    ? memchr(buf, ESCAPE, (size_t)got)
					    : NULL;
			if (esc)
				got = esc - buf;
			if (got > 0 && write(fd, buf, (size_t)got) < 0)
				break;
			if (esc)
				break;
			if (got <= 0)
				p[0].fd = -1; /* its end: output a while yet */
		}
	}
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSANOW, &old);
		fprintf(stderr, "\n");
	}
	close(fd);
	return rc;
}

int ctl_lab_console(int argc, char **argv)
{
	bool follow = false, log = false, att = false;
	for (int i = 4; i < argc; i++) {
		follow |=
			!strcmp(argv[i], "-f") || !strcmp(argv[i], "--follow");
		log |= !strcmp(argv[i], "--log");
		att |= !strcmp(argv[i], "--attach");
	}
	signal(SIGINT, on_int);
	if (att || (!log && !follow && isatty(STDIN_FILENO)))
		return attach(argv[2], argv[3]);
	json_int_t off = 0;
	while (!stop) {
		json_t *r;
		if (ctl_call(NF_CMD_LAB_CONSOLE,
			     json_pack("{s:s, s:s, s:I}", "name", argv[2],
				       "guest", argv[3], "offset", off),
			     &r))
			return 1;
		const char *d = ctl_jstr(r, "data");
		fwrite(d, 1, strlen(d), stdout);
		fflush(stdout);
		json_int_t next = jint(r, "next");
		bool ended = !strcmp(ctl_jstr(r, "state"), "stopped");
		json_decref(r);
		if (next == off && (!follow || ended))
			break;
		if (next == off)
			usleep(200000);
		off = next;
	}
	return 0;
}

/* ----------------------------------------------------------- graph */

static void graph_dot(json_t *l)
{
	json_t *n, *g, *f;
	size_t i, k;
	printf("graph \"%s\" {\n\tlayout=neato; overlap=false;\n",
	       ctl_jstr(l, "name"));
	json_array_foreach (json_object_get(l, "networks"), i, n)
		printf("\t\"net:%s\" [shape=ellipse, label=\"%s\\n%s\"];\n",
		       ctl_jstr(n, "name"), ctl_jstr(n, "name"),
		       json_string_value(
			       json_array_get(json_object_get(n, "subnets"), 0))
			       ?: "");
	json_array_foreach (json_object_get(l, "guests"), i, g) {
		printf("\t\"%s\" [shape=box];\n", ctl_jstr(g, "name"));
		json_array_foreach (json_object_get(g, "interfaces"), k, f)
			printf("\t\"%s\" -- \"net:%s\" [label=\"%s\"];\n",
			       ctl_jstr(g, "name"), ctl_jstr(f, "network"),
			       *ctl_jstr(f, "ip") ? ctl_jstr(f, "ip")
						  : ctl_jstr(f, "mac"));
	}
	printf("}\n");
}

/* mermaid ids: letters, digits, underscores */
static void mid(const char *prefix, const char *s, char *out, size_t n)
{
	size_t o = (size_t)snprintf(out, n, "%s", prefix);
	for (; *s && o + 1 < n; s++)
		out[o++] = (char)(isalnum((unsigned char)*s) ? *s : '_');
	out[o] = 0;
}

static void graph_mermaid(json_t *l)
{
	json_t *n, *g, *f;
	size_t i, k;
	char a[128], b[128];
	printf("graph LR\n");
	json_array_foreach (json_object_get(l, "networks"), i, n) {
		mid("net_", ctl_jstr(n, "name"), a, sizeof(a));
		printf("  %s((\"%s<br/>%s\"))\n", a, ctl_jstr(n, "name"),
		       json_string_value(
			       json_array_get(json_object_get(n, "subnets"), 0))
			       ?: "");
	}
	json_array_foreach (json_object_get(l, "guests"), i, g) {
		mid("g_", ctl_jstr(g, "name"), a, sizeof(a));
		printf("  %s[\"%s\"]\n", a, ctl_jstr(g, "name"));
		json_array_foreach (json_object_get(g, "interfaces"), k, f) {
			mid("net_", ctl_jstr(f, "network"), b, sizeof(b));
			printf("  %s ---|%s| %s\n", a,
			       *ctl_jstr(f, "ip") ? ctl_jstr(f, "ip")
						  : ctl_jstr(f, "mac"),
			       b);
		}
	}
}

/* A picture without Graphviz: networks in a row on top, guests in rows
 * below, a line per interface. */
static void graph_svg(json_t *l)
{
	json_t *nets = json_object_get(l, "networks"),
	       *gs = json_object_get(l, "guests"), *n, *g, *f;
	size_t nn = json_array_size(nets), ng = json_array_size(gs), i, k;
	size_t cols = ng < 8 ? (ng ? ng : 1) : 8;
	int w = (int)((cols > nn ? cols : nn) * 150 + 40),
	    h = (int)(200 + ((ng + cols - 1) / cols) * 70);
	printf("<svg xmlns='http://www.w3.org/2000/svg' width='%d' "
	       "height='%d' font-family='sans-serif' font-size='12'>\n",
	       w, h);
	printf("<title>lab %s</title>\n", ctl_jstr(l, "name"));
	/* lines first, boxes over them */
	json_array_foreach (gs, i, g) {
		int gx = (int)(i % cols) * 150 + 80,
		    gy = (int)(i / cols) * 70 + 170;
		json_array_foreach (json_object_get(g, "interfaces"), k, f) {
			size_t j;
			json_array_foreach (nets, j, n)
				if (!strcmp(ctl_jstr(n, "name"),
					    ctl_jstr(f, "network")))
					break;
			int nx = (int)j * ((w - 40) / (int)(nn ? nn : 1)) + 90;
			printf("<line x1='%d' y1='%d' x2='%d' y2='60' "
			       "stroke='#888'/>\n",
			       gx, gy, nx);
		}
	}
	json_array_foreach (nets, i, n) {
		int x = (int)i * ((w - 40) / (int)(nn ? nn : 1)) + 90;
		printf("<ellipse cx='%d' cy='50' rx='70' ry='28' "
		       "fill='#dfe9f7' "
		       "stroke='#36c'/>\n<text x='%d' y='47' "
		       "text-anchor='middle'>%s</text>\n<text x='%d' y='62' "
		       "text-anchor='middle' font-size='10'>%s</text>\n",
		       x, x, ctl_jstr(n, "name"), x,
		       json_string_value(
			       json_array_get(json_object_get(n, "subnets"), 0))
			       ?: "");
	}
	json_array_foreach (gs, i, g) {
		int x = (int)(i % cols) * 150 + 80,
		    y = (int)(i / cols) * 70 + 170;
		json_t *f0 =
			json_array_get(json_object_get(g, "interfaces"), 0);
		printf("<rect x='%d' y='%d' width='120' height='40' rx='4' "
		       "fill='%s' stroke='#333'/>\n<text x='%d' y='%d' "
		       "text-anchor='middle'>%s</text>\n<text x='%d' y='%d' "
		       "text-anchor='middle' font-size='10'>%s</text>\n",
		       x - 60, y - 20,
		       !strcmp(ctl_jstr(g, "state"), "up") ? "#e3f5e1"
							   : "#f5e1e1",
		       x, y - 3, ctl_jstr(g, "name"), x, y + 12,
		       f0 && *ctl_jstr(f0, "ip") ? ctl_jstr(f0, "ip") : "");
	}
	printf("</svg>\n");
}

static const char *format_arg(int argc, char **argv, const char *usage)
{
	if (argc == 5 && !strcmp(argv[3], "--format"))
		return argv[4];
	if (argc == 4 && !strncmp(argv[3], "--format=", 9))
		return argv[3] + 9;
	ctl_die_usage("%s", usage);
	return NULL;
}

int ctl_lab_graph(int argc, char **argv)
{
	const char *fmt = format_arg(argc, argv,
				     "usage: netctl lab graph NAME --format "
				     "dot|svg|mermaid");
	if (!fmt)
		return EX_USAGE;
	if (strcmp(fmt, "dot") && strcmp(fmt, "svg") && strcmp(fmt, "mermaid"))
		return ctl_die_usage(
			"lab graph: --format is dot, svg or mermaid");
	json_t *l = status_of(argv[2]);
	if (!l)
		return 1;
	if (!strcmp(fmt, "dot"))
		graph_dot(l);
	else if (!strcmp(fmt, "svg"))
		graph_svg(l);
	else
		graph_mermaid(l);
	json_decref(l);
	return 0;
}

/* ---------------------------------------------------------- export */

static const char *addr_of(json_t *f)
{
	return *ctl_jstr(f, "leased") ? ctl_jstr(f, "leased")
				      : ctl_jstr(f, "ip");
}

int ctl_lab_export(int argc, char **argv)
{
	const char *fmt = format_arg(argc, argv,
				     "usage: netctl lab export NAME --format "
				     "json|hosts|ansible");
	if (!fmt)
		return EX_USAGE;
	if (strcmp(fmt, "json") && strcmp(fmt, "hosts") &&
	    strcmp(fmt, "ansible"))
		return ctl_die_usage("lab export: --format is json, hosts or "
				     "ansible");
	json_t *l = status_of(argv[2]), *g, *f, *n;
	size_t i, k, j;
	if (!l)
		return 1;
	json_t *gs = json_object_get(l, "guests");
	if (!strcmp(fmt, "json")) {
		json_t *out = json_array();
		json_array_foreach (gs, i, g) {
			json_t *ifs = json_array();
			json_array_foreach (json_object_get(g, "interfaces"), k,
					    f)
				json_array_append_new(
					ifs,
					json_pack("{s:s, s:s, s:s}", "network",
						  ctl_jstr(f, "network"), "mac",
						  ctl_jstr(f, "mac"), "ip",
						  addr_of(f)));
			json_array_append_new(
				out, json_pack("{s:s, s:s, s:s, s:o}", "name",
					       ctl_jstr(g, "name"), "vm",
					       ctl_jstr(g, "vm"), "state",
					       ctl_jstr(g, "state"),
					       "interfaces", ifs));
		}
		ctl_print_json(out);
		json_decref(out);
	} else if (!strcmp(fmt, "hosts")) {
		printf("# lab %s\n", ctl_jstr(l, "name"));
		json_array_foreach (gs, i, g)
			json_array_foreach (json_object_get(g, "interfaces"), k,
					    f)
				if (*addr_of(f))
					printf("%-16s %s%s%s\n", addr_of(f),
					       ctl_jstr(g, "name"),
					       k ? "-" : "",
					       k ? ctl_jstr(f, "network") : "");
	} else { /* ansible INI: all, then a group per network */
		printf("# lab %s\n[all]\n", ctl_jstr(l, "name"));
		json_array_foreach (gs, i, g) {
			f = json_array_get(json_object_get(g, "interfaces"), 0);
			printf("%s ansible_host=%s\n", ctl_jstr(g, "name"),
			       f ? addr_of(f) : "");
		}
		json_array_foreach (json_object_get(l, "networks"), j, n) {
			char grp[128];
			snprintf(grp, sizeof(grp), "%s", ctl_jstr(n, "name"));
			for (char *c = grp; *c; c++)
				if (!isalnum((unsigned char)*c))
					*c = '_';
			printf("\n[%s]\n", grp);
			json_array_foreach (gs, i, g)
				json_array_foreach (
					json_object_get(g, "interfaces"), k, f)
					if (!strcmp(ctl_jstr(f, "network"),
						    ctl_jstr(n, "name")))
						printf("%s\n",
						       ctl_jstr(g, "name"));
		}
	}
	json_decref(l);
	return 0;
}
