/* libvirt conformance: parses and formats every case of libvirt's own
 * network test data (../shared/conformance/libvirt, or $NF_CONFORMANCE_DIR)
 * and prints a TAP line per case and the count. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../netd/netxml.h"
#include "../../netd/portxml.h"
#include "xmlcmp.h"

static int passed, failed, tapn;

static int in_place; /* results beside the cases: updates made in place */
static void result(bool ok, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void result(bool ok, const char *fmt, ...)
{
	va_list ap;
	printf("%sok %d - ", ok ? "" : "not ", ++tapn);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (ok)
		passed++;
	else
		failed++;
}

static char *slurp(const char *path)
{
	char *s;
	struct nf_err e;
	if (nf_read_file(path, 1 << 22, &s, NULL, &e) < 0)
		return NULL;
	return s;
}

static void xml2xml(const char *dir, const char *expect, const char *name)
{
	char in[4096], out[4096], why[sizeof(((struct nf_err *)0)->msg) + 64];
	struct netxml *nx = NULL;
	struct nf_err e = {0};
	snprintf(in, sizeof(in), "%s/networkxml2xmlin/%s.xml", dir, name);
	snprintf(out, sizeof(out), "%s/networkxml2xmlout/%s.xml", dir, name);
	char *src = slurp(in);
	if (!src) {
		result(false, "xml2xml %s: cannot read %s", name, in);
		return;
	}
	int r = netxml_parse(src, strlen(src), name, &nx, &e);
	if (!strcmp(expect, "parse-error")) {
		result(r < 0, "xml2xml %s rejected: %s", name,
		       r < 0 ? e.msg : "ACCEPTED");
	} else if (r < 0) {
		result(false, "xml2xml %s: %s", name, e.msg);
	} else {
		char *mine = netxml_format(nx), *want = slurp(out);
		bool ok = want && xmlcmp_strings(mine, want, why, sizeof(why));
		/* the output must parse again to the same thing */
		struct netxml *again = NULL;
		if (ok && netxml_parse(mine, strlen(mine), "reformat", &again,
				       &e) < 0) {
			ok = false;
			snprintf(why, sizeof(why), "re-parse: %s", e.msg);
		}
		if (ok) {
			char *twice = netxml_format(again);
			if (strcmp(twice, mine)) {
				ok = false;
				snprintf(why, sizeof(why), "not idempotent");
			}
			free(twice);
		}
		netxml_free(again);
		result(ok, "xml2xml %s%s%s", name, ok ? "" : ": ",
		       ok ? "" : why);
		if (!ok && getenv("VERBOSE"))
			printf("%s", mine);
		free(mine);
		free(want);
		netxml_free(nx);
	}
	free(src);
}

/* One net-update case: apply UPDATE to NET; an ok case must give OUT, a
 * fail case must be refused and change nothing. One deliberate difference:
 * adding an entry identical to an existing one succeeds without a change
 * (libvirt refuses it); the network comes out the same either way. */
static void update_case(const char *dir, const char *expect, int sec,
			const char *command, const char *pidx, const char *name,
			const char *upd, const char *net, const char *out)
{
	char path[4096], why[512] = "";
	struct nf_err e = {0};
	struct netxml *nx = NULL;
	snprintf(path, sizeof(path), "%s/networkxml2xmlin/%s.xml", dir, net);
	char *src = slurp(path);
	snprintf(path, sizeof(path), "%s/networkxml2xmlupdatein/%s.xml", dir,
		 upd);
	char *frag = slurp(path);
	if (!src || !frag || netxml_parse(src, strlen(src), net, &nx, &e) < 0) {
		result(false, "update %s: cannot load the case", name);
		goto done;
	}
	char cmdname[32];
	size_t i;
	for (i = 0; command[i] && i < sizeof(cmdname) - 1; i++)
		cmdname[i] =
			command[i] == '_' ? '-' : (char)tolower(command[i]);
	cmdname[i] = '\0';
	char *before = netxml_format(nx);
	struct netxml *nu = NULL;
	int r = netxml_update(nx, sec, netxml_update_cmd_from_name(cmdname),
			      strcmp(pidx, "-") ? atoi(pidx) : -1, frag, &nu,
			      &e);
	char *after = netxml_format(nu ? nu : nx);
	netxml_free(nu);
	/* the same update in place, where it can be made so, comes to the
	 * same network and the same text */
	struct netxml *in = netxml_dup(nx);
	struct netxml_change *c = NULL;
	int rh = netxml_update_here(
		in, sec, netxml_update_cmd_from_name(cmdname),
		strcmp(pidx, "-") ? atoi(pidx) : -1, frag, &c);
	netxml_change_keep(c);
	if (rh != -EAGAIN) {
		size_t len;
		in_place++;
		char *here = netxml_format(in);
		result(rh == r && !strcmp(here, after) &&
			       !strcmp(netxml_text(in, &len), after),
		       "update %s (%s) in place: %d as %d the whole way", name,
		       cmdname, rh, r);
		free(here);
	}
	netxml_free(in);
	if (!strcmp(expect, "ok")) {
		snprintf(path, sizeof(path),
			 "%s/networkxml2xmlupdateout/%s.xml", dir, out);
		char *want = slurp(path);
		bool ok = r == 0 && want &&
			  xmlcmp_strings(after, want, why, sizeof(why));
		result(ok, "update %s (%s)%s%s", name, cmdname, ok ? "" : ": ",
		       ok      ? ""
		       : r < 0 ? e.msg
			       : why);
		if (!ok && getenv("VERBOSE"))
			printf("%s", after);
		free(want);
	} else {
		bool unchanged = !strcmp(before, after);
		result((r < 0 || r == 1) && unchanged, "update %s (%s) %s: %s",
		       name, cmdname,
		       r == 1 ? "is a no-op (identical entry)" : "refused",
		       r < 0	? e.msg
		       : r == 1 ? "network unchanged"
				: "APPLIED");
	}
	free(before);
	free(after);
done:
	netxml_free(nx);
	free(src);
	free(frag);
}

/* The update input must parse in its section (a delete may give only part
 * of an entry), then the case runs. Rows expected to fail may fail at
 * parse or at apply. */
static void update_input(const char *dir, const char *expect,
			 const char *section, const char *command,
			 const char *name, const char *file)
{
	char path[4096], sec[64];
	size_t i;
	for (i = 0; section[i] && i < sizeof(sec) - 1; i++)
		sec[i] = section[i] == '_' ? '-' : (char)tolower(section[i]);
	sec[i] = '\0';
	int s = netxml_section_from_name(sec);
	if (s < 0) {
		result(false, "update %s: unknown section %s", name, sec);
		return;
	}
	if (strcmp(expect, "ok"))
		return;
	snprintf(path, sizeof(path), "%s/networkxml2xmlupdatein/%s.xml", dir,
		 file);
	char *src = slurp(path);
	xmlDocPtr doc = NULL;
	struct nf_err e = {0};
	int r = src ? netxml_parse_fragment(s, src, strlen(src),
					    strcmp(command, "DELETE") != 0,
					    &doc, &e)
		    : -1;
	result(r == 0, "update input %s (%s %s) parses%s%s", file, sec, command,
	       r ? ": " : "", r ? e.msg : "");
	xmlFreeDoc(doc);
	free(src);
}

static void update_row(const char *dir, const char *expect, const char *section,
		       const char *command, const char *pidx, const char *name,
		       const char *upd, const char *net, const char *out)
{
	char sec[64];
	size_t i;
	for (i = 0; section[i] && i < sizeof(sec) - 1; i++)
		sec[i] = section[i] == '_' ? '-' : (char)tolower(section[i]);
	sec[i] = '\0';
	update_input(dir, expect, section, command, name, upd);
	int s = netxml_section_from_name(sec);
	if (s >= 0)
		update_case(dir, expect, s, command, pidx, name, upd, net, out);
}

static void parse_dir(const char *dir, const char *sub)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	DIR *d = opendir(path);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;
	while (d && (de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (l > 4 && !strcmp(de->d_name + l - 4, ".xml"))
			NF_APPEND(names, n, nf_xstrdup(de->d_name));
	}
	if (d)
		closedir(d);
	for (size_t i = 0; i < n; i++) {
		struct netxml *nx = NULL;
		struct nf_err e = {0};
		snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, names[i]);
		char *src = slurp(path);
		int r = src ? netxml_parse(src, strlen(src), names[i], &nx, &e)
			    : -1;
		result(r == 0, "%s %s parses%s%s", sub, names[i], r ? ": " : "",
		       r ? e.msg : "");
		netxml_free(nx);
		free(src);
		free(names[i]);
	}
	free(names);
}

/* libvirt's network port XML: each file parses and formats to itself */
static void port_dir(const char *dir)
{
	char path[4096];
	struct dirent **names;
	snprintf(path, sizeof(path), "%s/virnetworkportxml2xmldata", dir);
	int n = scandir(path, &names, NULL, alphasort);
	if (n < 0) {
		result(false, "port xml: cannot read %s", path);
		return;
	}
	for (int i = 0; i < n; i++) {
		const char *nm = names[i]->d_name;
		size_t l = strlen(nm);
		char file[8192];
		if (l > 4 && !strcmp(nm + l - 4, ".xml")) {
			snprintf(file, sizeof(file), "%s/%s", path, nm);
			char *src = slurp(file), *mine = NULL;
			struct portxml p;
			struct nf_err e = {0};
			if (src &&
			    portxml_parse(src, strlen(src), true, &p, &e) == 0)
				mine = portxml_format(&p);
			bool ok = mine && !strcmp(mine, src);
			result(ok, "port xml %s%s%s", nm,
			       mine || !src ? "" : ": ",
			       mine || !src ? "" : e.msg);
			if (!ok && mine && getenv("VERBOSE"))
				printf("# got:\n%s", mine);
			free(mine);
			free(src);
		}
		free(names[i]);
	}
	free(names);
}

int main(int argc, char **argv)
{
	const char *dir = getenv("NF_CONFORMANCE_DIR");
	char path[4096], line[1024];
	if (!dir)
		dir = argc > 1 ? argv[1] : "../shared/conformance/libvirt";
	snprintf(path, sizeof(path), "%s/INDEX.md", dir);
	FILE *f = fopen(path, "r");
	if (!f) {
		printf("not ok 1 - conformance data not found at %s\n", dir);
		printf("1..1\n");
		return 1;
	}
	bool in_xml2xml = false, in_update = false;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "## ", 3)) {
			in_xml2xml = strstr(line, "networkxml2xmltest") != NULL;
			in_update = strstr(line, "updatetest") != NULL;
		}
		char expect[32], flags[128], name[256];
		char sec[64], cmd[64], pidx[16], upd[256], net[256], out[256];
		if (in_update &&
		    sscanf(line, "%31s %63s %63s %15s %255s %255s %255s %255s",
			   expect, sec, cmd, pidx, name, upd, net, out) == 8 &&
		    (!strcmp(expect, "ok") || !strcmp(expect, "fail")))
			update_row(dir, expect, sec, cmd, pidx, name, upd, net,
				   out);
		if (in_xml2xml &&
		    sscanf(line, "%31s %127s %255s", expect, flags, name) ==
			    3 &&
		    (!strcmp(expect, "ok") || !strcmp(expect, "parse-error")))
			xml2xml(dir, expect, name);
	}
	fclose(f);
	parse_dir(dir, "networkxml2confdata");
	parse_dir(dir, "networkxml2firewalldata");
	port_dir(dir);
	/* libvirt's data holds 153 network cases and 9 port cases: fewer
	 * means the index moved or a directory went missing, and the cases
	 * that did not run passed */
	int ran = passed + failed - in_place;
	printf("# conformance: %d of %d cases pass\n", passed - in_place, ran);
	result(ran == 162, "all 162 of libvirt's cases were run (%d ran)", ran);
	/* its host updates also ran in place (add, existing add, modify,
	 * deletes) */
	result(in_place >= 5, "%d of the update cases also ran in place",
	       in_place);
	printf("1..%d\n", tapn);
	return failed ? 1 : 0;
}
