/* dnsmasq's log, as netd reads it: dnsmasq writes to a FIFO netd made
 * (log-facility=PATH), one line per message, "Mmm dd hh:mm:ss
 * dnsmasq[-dhcp][PID]: message". From those lines: did the reservations
 * netd wrote load, and where is each guest's DHCP exchange. */
#define _GNU_SOURCE
#include "dhcp.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEEN_MAX 4096 /* guests remembered per network */

void dhcp_log_init(struct dhcp_log *l, const struct dhcp_files *f)
{
	memset(l, 0, sizeof(*l));
	snprintf(l->hosts, sizeof(l->hosts), "%s", f->hosts);
	snprintf(l->addnhosts, sizeof(l->addnhosts), "%s", f->addnhosts);
}

void dhcp_log_free(struct dhcp_log *l)
{
	free(l->seen);
	l->seen = NULL;
	l->nseen = 0;
}

int dhcp_log_open(const struct dhcp_files *f, bool fresh, int *rfd, int *wfd,
		  struct nf_err *e)
{
	struct stat st;
	if (fresh) {
		unlink(f->log);
		if (mkfifo(f->log, 0600) < 0)
			return nf_errf(e, errno, "cannot make %s: %s", f->log,
				       strerror(errno));
	} else if (lstat(f->log, &st) < 0 || !S_ISFIFO(st.st_mode)) {
		return nf_errf(e, ENOENT, "%s is gone (or not a FIFO)", f->log);
	}
	/* the reader first (a writer's open would wait for one), then our own
	 * writer, so that reading never meets an end of file */
	*rfd = open(f->log, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
	*wfd = *rfd < 0 ? -1
			: open(f->log,
			       O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
	if (*rfd < 0 || *wfd < 0) {
		int err = errno;
		if (*rfd >= 0)
			close(*rfd);
		*rfd = *wfd = -1;
		return nf_errf(e, err, "cannot open %s: %s", f->log,
			       strerror(err));
	}
	/* room for a burst (a hundred guests asking at once) while netd is
	 * busy: dnsmasq writes its log synchronously */
	fcntl(*rfd, F_SETPIPE_SZ, 1 << 20);
	return 0;
}

bool dhcp_log_settled(const struct dhcp_log *l)
{
	return l->hosts_done >= l->hosts_asked && l->addn_done >= l->addn_asked;
}

const char *dhcp_step_name(enum dhcp_step s)
{
	static const char *const n[] = {"none",	     "discover", "offer",
					"request",   "ack",	 "nak",
					"no-address"};
	return (unsigned)s < NF_ARRAY_SIZE(n) ? n[s] : "?";
}

const struct dhcp_seen *dhcp_log_seen(const struct dhcp_log *l, const char *mac)
{
	for (size_t i = 0; i < l->nseen; i++)
		if (!strcasecmp(l->seen[i].mac, mac))
			return &l->seen[i];
	return NULL;
}

/* "FILE" or "FILE: why" or "FILE - N names" after a prefix: whether the
 * path that follows is exactly ours. */
static const char *after_path(const char *s, const char *path)
{
	size_t n = strlen(path);
	if (strncmp(s, path, n) || (s[n] && s[n] != ':' && s[n] != ' '))
		return NULL;
	return s + n;
}

static void reservations(struct dhcp_log *l, const char *m)
{
	const char *rest;
	if (!strncmp(m, "read ", 5) && (rest = after_path(m + 5, l->hosts))) {
		l->hosts_done++;
		if (l->note[0])
			snprintf(l->problem, sizeof(l->problem), "%s", l->note);
		l->note[0] = '\0';
	} else if (!strncmp(m, "cannot read ", 12) &&
		   after_path(m + 12, l->hosts)) {
		l->hosts_done++;
		snprintf(l->problem, sizeof(l->problem), "dnsmasq: %s", m);
	} else if (!strncmp(m, "read ", 5) &&
		   (rest = after_path(m + 5, l->addnhosts))) {
		/* "read FILE - N names" (2.90; "addresses" before) */
		unsigned got = 0;
		l->addn_done++;
		if (sscanf(rest, " - %u", &got) == 1 && got != l->addn_names)
			snprintf(l->problem, sizeof(l->problem),
				 "dnsmasq read %u of the %u DNS names in %s",
				 got, l->addn_names, l->addnhosts);
	} else if (!strncmp(m, "failed to load names from ", 26) &&
		   after_path(m + 26, l->addnhosts)) {
		l->addn_done++;
		snprintf(l->problem, sizeof(l->problem), "dnsmasq: %s", m);
	} else if (strstr(m, l->hosts) && strstr(m, " at line ")) {
		/* "bad ... at line N of FILE": then comes "read FILE" */
		snprintf(l->note, sizeof(l->note), "dnsmasq: %s", m);
	}
}

static struct dhcp_seen *seen_slot(struct dhcp_log *l, const char *mac)
{
	for (size_t i = 0; i < l->nseen; i++)
		if (!strcasecmp(l->seen[i].mac, mac))
			return &l->seen[i];
	if (l->nseen == SEEN_MAX) { /* the oldest goes */
		size_t o = 0;
		for (size_t i = 1; i < l->nseen; i++)
			if (l->seen[i].when_ns < l->seen[o].when_ns)
				o = i;
		memset(&l->seen[o], 0, sizeof(l->seen[o]));
		return &l->seen[o];
	}
	if (!l->nseen)
		l->seen = nf_xcalloc(SEEN_MAX, sizeof(*l->seen));
	return &l->seen[l->nseen++];
}

/* "DHCPACK(nfbr0) 192.168.122.11 52:54:00:00:00:11 vm1" and kin. */
static void exchange(struct dhcp_log *l, const char *m, uint64_t now)
{
	static const struct {
		const char *tag;
		enum dhcp_step step;
	} steps[] = {{"DHCPDISCOVER(", DHCP_DISCOVER},
		     {"DHCPOFFER(", DHCP_OFFER},
		     {"DHCPREQUEST(", DHCP_REQUEST},
		     {"DHCPACK(", DHCP_ACK},
		     {"DHCPNAK(", DHCP_NAK}};
	enum dhcp_step step = DHCP_NONE;
	for (size_t i = 0; i < NF_ARRAY_SIZE(steps); i++)
		if (!strncmp(m, steps[i].tag, strlen(steps[i].tag)))
			step = steps[i].step;
	const char *p = step ? strstr(m, ") ") : NULL;
	if (!p)
		return;
	char a[64] = "", b[64] = "";
	uint8_t mac[6];
	if (sscanf(p + 2, "%63s %63s", a, b) < 1)
		return;
	const char *ip = nf_mac_parse(a, mac) == 0 ? "" : a;
	if (*ip && nf_mac_parse(b, mac) < 0)
		return;
	if (step == DHCP_DISCOVER && strstr(m, "no address available"))
		step = DHCP_NOADDR;
	char ms[18];
	nf_mac_format(mac, ms);
	struct dhcp_seen *s = seen_slot(l, ms);
	snprintf(s->mac, sizeof(s->mac), "%s", ms);
	if (*ip)
		snprintf(s->ip, sizeof(s->ip), "%s", ip);
	s->step = step;
	s->when_ns = now;
}

void dhcp_log_line(struct dhcp_log *l, const char *line, uint64_t now_ns)
{
	const char *m = strstr(line, "]: ");
	if (!m)
		return;
	m += 3;
	nf_debug("dnsmasq: %s", m);
	if (!strncmp(m, "DHCP", 4))
		exchange(l, m, now_ns);
	else
		reservations(l, m);
}

int dhcp_log_read(struct dhcp_log *l, int fd, uint64_t now_ns)
{
	int lines = 0;
	for (;;) {
		ssize_t n =
			read(fd, l->buf + l->len, sizeof(l->buf) - 1 - l->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return lines;
		l->len += (size_t)n;
		l->buf[l->len] = '\0';
		char *s = l->buf, *nl;
		while ((nl = strchr(s, '\n'))) {
			*nl = '\0';
			if (!l->skip) {
				dhcp_log_line(l, s, now_ns);
				lines++;
			}
			l->skip = false;
			s = nl + 1;
		}
		l->len -= (size_t)(s - l->buf);
		memmove(l->buf, s, l->len);
		if (l->len == sizeof(l->buf) - 1) { /* a line too long */
			l->skip = true;
			l->len = 0;
		}
	}
}
