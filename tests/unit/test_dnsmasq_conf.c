/* dnsmasq configuration conformance: for every networkxml2conftest case of
 * libvirt, our config has the same settings (order and file paths aside)
 * and our hostsfile the same entries. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../netd/dhcpspec.h"

static int passed, failed, tapn, cases, cases_ok;

static char *slurp(const char *path)
{
	char *s;
	struct nf_err e;
	return nf_read_file(path, 1 << 20, &s, NULL, &e) < 0 ? NULL : s;
}

/* Lines that matter: no comments, no blank lines; path values masked. */
static char **settings(const char *text, size_t *n)
{
	static const char *path_keys[] = {
		"dhcp-hostsfile=", "addn-hosts=", "pid-file=",
		"dhcp-leasefile=", "user=",	  "group=",
		"log-facility="};
	char **v = NULL, *dup = nf_xstrdup(text), *save = NULL;
	*n = 0;
	for (char *l = strtok_r(dup, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		if (l[0] == '#' || !l[0])
			continue;
		char *item = nf_xstrdup(l);
		for (size_t k = 0; k < NF_ARRAY_SIZE(path_keys); k++)
			if (!strncmp(l, path_keys[k], strlen(path_keys[k])))
				item[strlen(path_keys[k])] = '\0';
		NF_APPEND(v, *n, item);
	}
	free(dup);
	return v;
}

static bool contains(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

static bool same_sets(const char *mine, const char *want, char *why, size_t wn,
		      bool ours_may_add)
{
	size_t a, b;
	char **x = settings(mine, &a), **y = settings(want, &b);
	bool ok = true;
	for (size_t i = 0; i < b && ok; i++)
		if (!contains(x, a, y[i])) {
			snprintf(why, wn, "missing '%s'", y[i]);
			ok = false;
		}
	for (size_t i = 0; i < a && ok; i++) {
		bool ours = !strcmp(x[i], "pid-file=") ||
			    !strcmp(x[i], "dhcp-leasefile=") ||
			    !strcmp(x[i], "user=") || !strcmp(x[i], "group=") ||
			    !strcmp(x[i], "log-facility=");
		if (!contains(y, b, x[i]) && !(ours_may_add && ours)) {
			snprintf(why, wn, "extra '%s'", x[i]);
			ok = false;
		}
	}
	for (size_t i = 0; i < a; i++)
		free(x[i]);
	for (size_t i = 0; i < b; i++)
		free(y[i]);
	free(x);
	free(y);
	return ok;
}

static void one(const char *dir, const char *name)
{
	char path[4096], why[sizeof(((struct nf_err *)0)->msg)] = "";
	struct netxml *nx = NULL;
	struct nf_err e = {0};
	struct dhcp_files f;
	dhcp_files_init(&f, "/run/netd", "/var/lib/netd", "/run/netd/dnsmasq",
			name);
	snprintf(path, sizeof(path), "%s/networkxml2confdata/%s.xml", dir,
		 name);
	char *src = slurp(path);
	bool ok = src && netxml_parse(src, strlen(src), name, &nx, &e) == 0;
	if (!ok)
		snprintf(why, sizeof(why), "%s", e.msg);
	if (ok) {
		struct dhcp_spec sp;
		dhcpspec_of(&nx->def, &sp);
		char *conf = dhcp_conf(&sp, &f);
		dhcpspec_free(&sp);
		snprintf(path, sizeof(path), "%s/networkxml2confdata/%s.conf",
			 dir, name);
		char *want = slurp(path);
		ok = want && same_sets(conf, want, why, sizeof(why), true);
		if (!ok && getenv("VERBOSE"))
			printf("%s", conf);
		free(conf);
		free(want);
	}
	if (ok) {
		snprintf(path, sizeof(path),
			 "%s/networkxml2confdata/%s.hostsfile", dir, name);
		char *want = slurp(path);
		if (want) {
			struct dhcp_spec sp;
			dhcpspec_of(&nx->def, &sp);
			char *hosts = dhcp_hostsfile(&sp, NULL, 0);
			dhcpspec_free(&sp);
			ok = same_sets(hosts, want, why, sizeof(why), false);
			free(hosts);
			free(want);
		}
	}
	printf("%sok %d - dnsmasq conf %s%s%s\n", ok ? "" : "not ", ++tapn,
	       name, ok ? "" : ": ", ok ? "" : why);
	ok ? passed++ : failed++;
	cases++;
	cases_ok += ok;
	netxml_free(nx);
	free(src);
}

/* dnsmasq's config for a network given as XML (the network out too, for
 * the caller to free); NULL if the XML does not parse. */
static char *conf_of(const char *xml, const char *key, struct netxml **nx)
{
	struct nf_err e;
	struct dhcp_files f;
	*nx = NULL;
	if (netxml_parse(xml, strlen(xml), "t", nx, &e) < 0)
		return NULL;
	dhcp_files_init(&f, "/run/netd", "/var/lib/netd", "/run/netd/dnsmasq",
			key);
	struct dhcp_spec sp;
	dhcpspec_of(&(*nx)->def, &sp);
	char *conf = dhcp_conf(&sp, &f);
	dhcpspec_free(&sp);
	return conf;
}

static void check(bool ok, const char *what)
{
	printf("%sok %d - %s\n", ok ? "" : "not ", ++tapn, what);
	ok ? passed++ : failed++;
}

/* Our one departure from libvirt: reservations outside every range count
 * towards dhcp-lease-max, or dnsmasq could refuse a pinned guest. */
static void lease_max_counts_reservations(void)
{
	const char *xml = "<network><name>m</name><bridge name='b'/>"
			  "<ip address='10.0.0.1' prefix='24'><dhcp>"
			  "<range start='10.0.0.100' end='10.0.0.109'/>"
			  "<host mac='52:54:00:00:00:01' ip='10.0.0.5'/>"
			  "<host mac='52:54:00:00:00:02' ip='10.0.0.6'/>"
			  "<host mac='52:54:00:00:00:03' ip='10.0.0.105'/>"
			  "</dhcp></ip></network>";
	struct netxml *nx;
	char *conf = conf_of(xml, "m", &nx);
	struct dhcp_spec sp;
	dhcpspec_of(&nx->def, &sp);
	unsigned long max = dhcp_lease_max(&sp);
	dhcpspec_free(&sp);
	check(conf && max == 12 && strstr(conf, "dhcp-lease-max=12\n"),
	      "dhcp-lease-max = 10 in range + 2 reserved outside");
	free(conf);
	netxml_free(nx);
}

/* Values dnsmasq's reader would split or cut are written in quotes. */
static void values_quoted(void)
{
	const char *xml = "<network><name>q</name><bridge name='b'/>"
			  "<dns><txt name='t' value='a, b #c \"d\"'/></dns>"
			  "<ip address='10.0.0.1' prefix='24'>"
			  "<tftp root='/srv/tftp root'/><dhcp>"
			  "<range start='10.0.0.100' end='10.0.0.109'/>"
			  "<bootp file='pxe,1.img'/></dhcp></ip></network>";
	struct netxml *nx;
	char *conf = conf_of(xml, "q", &nx);
	bool ok = conf &&
		  strstr(conf, "txt-record=t,\"a, b #c \\\"d\\\"\"\n") &&
		  strstr(conf, "tftp-root=/srv/tftp root\n") &&
		  strstr(conf, "dhcp-boot=\"pxe,1.img\"\n");
	check(ok, "values with ',', '#', quotes are quoted for dnsmasq");
	if (!ok && conf)
		printf("%s", conf);
	free(conf);
	netxml_free(nx);
}

/* What dnsmasq's log says, read as netd reads it (lines as dnsmasq 2.90
 * writes them to its log FIFO). */
static void log_lines(void)
{
	const char *xml = "<network><name>l</name><bridge name='b'/>"
			  "<dns><host ip='10.0.0.2'><hostname>a</hostname>"
			  "<hostname>b</hostname></host></dns>"
			  "<ip address='10.0.0.1' prefix='24'><dhcp>"
			  "<range start='10.0.0.100' end='10.0.0.109'/>"
			  "</dhcp></ip></network>";
	struct netxml *nx;
	struct nf_err e;
	struct dhcp_files f;
	struct dhcp_log l;
	netxml_parse(xml, strlen(xml), "t", &nx, &e);
	dhcp_files_init(&f, "/run/x", "/var/x", "/run/h", "l");
	dhcp_log_init(&l, &f);
	struct dhcp_spec sp;
	dhcpspec_of(&nx->def, &sp);
	dhcp_log_asked(&l, &sp);
	check(!dhcp_log_settled(&l), "log: a start waits for both files");
	dhcp_log_line(
		&l, "Dec  1 10:31:04 dnsmasq-dhcp[1]: read /run/h/l.hostsfile",
		1);
	dhcp_log_line(
		&l,
		"Dec  1 10:31:04 dnsmasq[1]: read /run/h/l.addnhosts - 2 names",
		1);
	check(dhcp_log_settled(&l) && !l.problem[0],
	      "log: 'read FILE' and 'read FILE - 2 names': loaded");
	dhcp_log_asked(&l, &sp);
	dhcp_log_line(&l,
		      "Dec  1 10:31:05 dnsmasq[1]: cannot read "
		      "/run/h/l.hostsfile: Permission denied",
		      2);
	dhcp_log_line(
		&l,
		"Dec  1 10:31:05 dnsmasq[1]: read /run/h/l.addnhosts - 2 names",
		2);
	check(dhcp_log_settled(&l) && strstr(l.problem, "Permission denied"),
	      "log: a hostsfile it cannot read is a problem, with the reason");
	dhcp_log_asked(&l, &sp);
	dhcp_log_line(&l,
		      "Dec  1 10:31:06 dnsmasq[1]: bad hex constant at line 6 "
		      "of /run/h/l.hostsfile",
		      3);
	dhcp_log_line(
		&l, "Dec  1 10:31:06 dnsmasq-dhcp[1]: read /run/h/l.hostsfile",
		3);
	dhcp_log_line(
		&l,
		"Dec  1 10:31:06 dnsmasq[1]: read /run/h/l.addnhosts - 2 names",
		3);
	check(strstr(l.problem, "bad hex constant at line 6"),
	      "log: a bad line before 'read FILE' is that read's problem");
	dhcp_log_asked(&l, &sp);
	dhcp_log_line(&l, "x dnsmasq[1]: read /run/h/l.addnhosts - 1 names", 4);
	dhcp_log_line(&l, "x dnsmasq-dhcp[1]: read /run/h/l.hostsfile", 4);
	check(strstr(l.problem, "read 1 of the 2 DNS names"),
	      "log: fewer addn-hosts names than written is a problem (a good "
	      "hostsfile read after it does not hide it)");
	dhcp_log_line(&l, "x dnsmasq[1]: read /etc/hosts - 3 names", 5);
	dhcp_log_line(&l, "x dnsmasq-dhcp[1]: read /run/h/l.hostsfile.old", 5);
	check(l.hosts_done == 4, "log: other files are not ours");
	dhcp_log_line(
		&l, "x dnsmasq-dhcp[1]: DHCPDISCOVER(b) 52:54:00:00:00:01", 6);
	const struct dhcp_seen *s = dhcp_log_seen(&l, "52:54:00:00:00:01");
	check(s && s->step == DHCP_DISCOVER, "log: a DHCPDISCOVER is seen");
	dhcp_log_line(
		&l,
		"x dnsmasq-dhcp[1]: DHCPOFFER(b) 10.0.0.105 52:54:00:00:00:01",
		7);
	dhcp_log_line(&l,
		      "x dnsmasq-dhcp[1]: DHCPACK(b) 10.0.0.105 "
		      "52:54:00:00:00:01 vm1",
		      8);
	s = dhcp_log_seen(&l, "52:54:00:00:00:01");
	check(s && s->step == DHCP_ACK && !strcmp(s->ip, "10.0.0.105"),
	      "log: its DHCPACK, with the address");
	dhcp_log_line(&l,
		      "x dnsmasq-dhcp[1]: DHCPDISCOVER(b) 52:54:00:00:00:02 no "
		      "address available",
		      9);
	s = dhcp_log_seen(&l, "52:54:00:00:00:02");
	check(s && s->step == DHCP_NOADDR, "log: 'no address available'");
	dhcp_log_free(&l);
	dhcpspec_free(&sp);
	netxml_free(nx);
	check(dhcp_option_privileged("dhcp-script=/x") &&
		      dhcp_option_privileged(" --conf-file=/etc/shadow") &&
		      dhcp_option_privileged("USER=root") &&
		      dhcp_option_privileged("interface=eth0") &&
		      !dhcp_option_privileged("cname=a,b") &&
		      !dhcp_option_privileged("dhcp-option=42,10.0.0.1") &&
		      !dhcp_option_privileged("foo=bar"),
	      "options with root's powers are told from harmless ones");
}

/* A reservation's line edited in the hostsfile as it is: what goes is the
 * whole line (not one ending the same), what comes is appended, an
 * unknown line writes nothing; and the result is what writing the whole
 * file from the network gives, as a set of lines. */
static int line_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *sorted_lines(const char *text)
{
	char *dup = nf_xstrdup(text), *save = NULL, **v = NULL;
	size_t n = 0;
	for (char *l = strtok_r(dup, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save))
		NF_APPEND(v, n, l);
	qsort(v, n, sizeof(*v), line_cmp);
	struct nf_buf b = {0};
	nf_buf_add(&b, "", 0);
	for (size_t i = 0; i < n; i++)
		nf_buf_printf(&b, "%s\n", v[i]);
	free(v);
	free(dup);
	return nf_buf_steal(&b);
}

static void hosts_edited(void)
{
	char dir[] = "/tmp/nf-hosts-XXXXXX";
	const char *xml = "<network><name>h</name><bridge name='b'/>"
			  "<ip address='10.0.0.1' prefix='24'><dhcp>"
			  "<host mac='52:54:00:00:00:01' ip='10.0.0.11'/>"
			  "<host mac='52:54:00:00:00:02' ip='10.0.0.12'/>"
			  "<host mac='52:54:00:00:00:03' name='c' "
			  "ip='10.0.0.13'/>"
			  "</dhcp></ip></network>";
	struct netxml *nx;
	struct nf_err e;
	struct dhcp_files f;
	struct dhcp_log l;
	struct dhcp_spec sp;
	if (!mkdtemp(dir) || netxml_parse(xml, strlen(xml), "t", &nx, &e) < 0) {
		check(false, "hostsfile edit: set up");
		rmdir(dir); /* made, or never was */
		return;
	}
	dhcp_files_init(&f, dir, dir, dir, "h");
	dhcp_log_init(&l, &f);
	dhcpspec_of(&nx->def, &sp);
	dhcp_write(&sp, NULL, 0, &f, &e);
	/* a line ending as the one to go does, before it: only the whole
	 * line goes */
	char *w = slurp(f.hosts);
	struct nf_buf crafted = {0};
	nf_buf_printf(&crafted, "0,52:54:00:00:00:02,10.0.0.12\n%s",
		      w ? w : "");
	nf_write_file_atomic(f.hosts, crafted.s, crafted.len, 0644, NF_VOLATILE,
			     &e);
	nf_buf_free(&crafted);
	free(w);
	struct dhcp_host gone = {.mac = "52:54:00:00:00:02",
				 .lease = DHCP_LEASE_NONE},
			 put = {.mac = "52:54:00:00:00:04",
				.name = "d",
				.lease = 300,
				.lease_unit = 'm'},
			 nothere = {.mac = "52:54:00:00:00:09",
				    .lease = DHCP_LEASE_NONE};
	nf_addr_parse("10.0.0.12", &gone.ip);
	nf_addr_parse("10.0.0.14", &put.ip);
	nf_addr_parse("10.0.0.19", &nothere.ip);
	int r = dhcp_hosts_change(&f, true, &gone, &put, 0, &l, &e);
	char *got = slurp(f.hosts), *sg = got ? sorted_lines(got) : NULL;
	check(r == 0 && sg &&
		      !strcmp(sg, "0,52:54:00:00:00:02,10.0.0.12\n"
				  "52:54:00:00:00:01,10.0.0.11\n"
				  "52:54:00:00:00:03,10.0.0.13,c\n"
				  "52:54:00:00:00:04,10.0.0.14,d,5m\n"),
	      "hostsfile edit: one line out, one in, the others as they were");
	r = dhcp_hosts_change(&f, true, &nothere, &put, 0, &l, &e);
	char *again = slurp(f.hosts);
	check(r == -ENOENT && again && got && !strcmp(again, got),
	      "hostsfile edit: a line that is not there: -ENOENT, the file "
	      "unchanged");
	r = dhcp_hosts_change(&f, true, &put, NULL, 12345, &l, &e);
	check(r == -ENOENT,
	      "hostsfile edit: with dnsmasq running but no read asked yet, "
	      "refused (the read could not be told apart)");
	free(got);
	free(sg);
	free(again);
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		check(false, "hostsfile edit: clean up");
	dhcp_log_free(&l);
	dhcpspec_free(&sp);
	netxml_free(nx);
}

int main(void)
{
	const char *dir = getenv("NF_CONFORMANCE_DIR");
	char path[4096], line[512];
	if (!dir)
		dir = "../shared/conformance/libvirt";
	snprintf(path, sizeof(path), "%s/INDEX.md", dir);
	FILE *f = fopen(path, "r");
	if (!f) {
		printf("not ok 1 - no conformance data at %s\n1..1\n", dir);
		return 1;
	}
	bool in = false;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "## ", 3))
			in = strstr(line, "networkxml2conftest") != NULL;
		else if (in && line[0] && line[0] != '\n' &&
			 strncmp(line, "Note", 4)) {
			line[strcspn(line, "\n")] = '\0';
			one(dir, line);
		}
	}
	fclose(f);
	lease_max_counts_reservations();
	values_quoted();
	log_lines();
	hosts_edited();
	/* libvirt's networkxml2conftest has 27 cases: fewer means the index
	 * moved, not that all is well */
	check(cases == 27, "all 27 of libvirt's dnsmasq cases were run");
	printf("# dnsmasq conformance: %d of %d cases match libvirt\n",
	       cases_ok, cases);
	printf("1..%d\n", tapn);
	return failed != 0;
}
