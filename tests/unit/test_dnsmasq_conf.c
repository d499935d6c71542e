/* dnsmasq configuration conformance: for every networkxml2conftest case of
 * libvirt, our config has the same settings (order and file paths aside)
 * and our hostsfile the same entries. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../dhcp/dhcp.h"

static int passed, failed, tapn;

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
	char path[4096], why[512] = "";
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
		char *conf = dhcp_conf(&nx->def, &f);
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
			char *hosts = dhcp_hostsfile(&nx->def, NULL, 0);
			ok = same_sets(hosts, want, why, sizeof(why), false);
			free(hosts);
			free(want);
		}
	}
	printf("%sok %d - dnsmasq conf %s%s%s\n", ok ? "" : "not ", ++tapn,
	       name, ok ? "" : ": ", ok ? "" : why);
	ok ? passed++ : failed++;
	netxml_free(nx);
	free(src);
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
	struct netxml *nx = NULL;
	struct nf_err e;
	struct dhcp_files f;
	bool ok = netxml_parse(xml, strlen(xml), "t", &nx, &e) == 0;
	dhcp_files_init(&f, "/run/netd", "/var/lib/netd", "/run/netd/dnsmasq",
			"m");
	char *conf = ok ? dhcp_conf(&nx->def, &f) : NULL;
	ok = ok && dhcp_lease_max(&nx->def) == 12 &&
	     strstr(conf, "dhcp-lease-max=12\n");
	printf("%sok %d - dhcp-lease-max = 10 in range + 2 reserved outside\n",
	       ok ? "" : "not ", ++tapn);
	ok ? passed++ : failed++;
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
	struct netxml *nx = NULL;
	struct nf_err e;
	struct dhcp_files f;
	bool ok = netxml_parse(xml, strlen(xml), "t", &nx, &e) == 0;
	dhcp_files_init(&f, "/run/netd", "/var/lib/netd", "/run/netd/dnsmasq",
			"q");
	char *conf = ok ? dhcp_conf(&nx->def, &f) : NULL;
	ok = ok && strstr(conf, "txt-record=t,\"a, b #c \\\"d\\\"\"\n") &&
	     strstr(conf, "tftp-root=/srv/tftp root\n") &&
	     strstr(conf, "dhcp-boot=\"pxe,1.img\"\n");
	printf("%sok %d - values with ',', '#', quotes are quoted for "
	       "dnsmasq\n",
	       ok ? "" : "not ", ++tapn);
	if (!ok && conf)
		printf("%s", conf);
	ok ? passed++ : failed++;
	free(conf);
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
	printf("# dnsmasq conformance: %d of %d cases match libvirt\n", passed,
	       passed + failed);
	printf("1..%d\n", tapn);
	return failed != 0;
}
