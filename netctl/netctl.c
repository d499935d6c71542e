/* netctl: the command line for netd. Tables for people, --json for
 * scripts, a non-zero exit status on any error. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "args.h"
#include "netctl.h"

static const char *sock_path;
bool ctl_opt_json;

const char *ctl_socket_path(void)
{
	return sock_path;
}

int ctl_call(enum nf_cmd cmd, json_t *args, json_t **result)
{
	return ctl_call_fds(cmd, args, NULL, 0, result);
}

int ctl_call_fds(enum nf_cmd cmd, json_t *args, const int *fds, size_t nfds,
		 json_t **result)
{
	return ctl_call_io(cmd, args, fds, nfds, result, NULL, NULL);
}

int ctl_call_io(enum nf_cmd cmd, json_t *args, const int *fds, size_t nfds,
		json_t **result, int *rfds, size_t *nrfds)
{
	struct nf_err e = {0};
	json_t *reply = NULL;
	int s = proto_connect(sock_path, &e);
	if (s < 0) {
		fprintf(stderr, "netctl: %s\n", e.msg);
		json_decref(args);
		return 1;
	}
	int r = proto_call_fds(s, nf_cmd_name(cmd), args, fds, nfds, &reply,
			       rfds, nrfds, &e);
	json_decref(args);
	close(s);
	if (r < 0) {
		fprintf(stderr, "netctl: %s\n", e.msg);
		return 1;
	}
	if (!json_is_true(json_object_get(reply, "ok"))) {
		json_t *err = json_object_get(reply, "error"), *d;
		size_t i;
		fprintf(stderr, "netctl: error: %s\n",
			json_string_value(json_object_get(err, "message")));
		json_array_foreach (json_object_get(err, "details"), i, d)
			fprintf(stderr, "  %s\n", json_string_value(d));
		json_decref(reply);
		return 1;
	}
	*result = json_incref(json_object_get(reply, "result"));
	json_decref(reply);
	return 0;
}

int ctl_print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_ENCODE_ANY);
	puts(s);
	free(s);
	return 0;
}

const char *ctl_yesno(json_t *o, const char *k)
{
	return json_is_true(json_object_get(o, k)) ? "yes" : "no";
}

const char *ctl_jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

int ctl_die_usage(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "netctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	return EX_USAGE;
}

bool ctl_json_done(json_t *r)
{
	if (!ctl_opt_json)
		return false;
	ctl_print_json(r);
	json_decref(r);
	return true;
}

char *ctl_read_input(const char *path)
{
	struct nf_err e;
	char *buf = NULL;
	if (nf_read_path(path, 4u << 20, &buf, NULL, &e) < 0) {
		fprintf(stderr, "netctl: %s\n", e.msg);
		return NULL;
	}
	return buf;
}

static int define_xml(const char *xml, const char *source,
		      const char *expect_uuid, json_t **res)
{
	json_t *args = json_pack("{s:s, s:s, s:s?}", "xml", xml, "source",
				 source, "expect_uuid", expect_uuid);
	return ctl_call(NF_CMD_NET_DEFINE, args, res);
}

/* What netd dropped from a definition or cannot serve, on stderr (also
 * with --json, which carries them too). */
static void print_warnings(json_t *res, const char *where)
{
	json_t *w;
	size_t i;
	json_array_foreach (json_object_get(res, "warnings"), i, w)
		fprintf(stderr, "netctl: warning: %s: %s\n", where,
			json_string_value(w));
}

/* "CMD FILE": sends the file's XML; one line for people. */
static int xml_action(int argc, char **argv, enum nf_cmd cmd, const char *done)
{
	json_t *res;
	/* --validate: strict (refused, not warned of: what libvirt would
	 * drop or can never serve) */
	bool validate = argc > 2 && !strcmp(argv[2], "--validate");
	char *xml = ctl_read_input(argv[1]);
	if (!xml)
		return 1;
	int r = ctl_call(cmd,
			 json_pack("{s:s, s:s, s:b}", "xml", xml, "source",
				   argv[1], "validate", validate),
			 &res);
	free(xml);
	if (r)
		return r;
	if (ctl_opt_json)
		ctl_print_json(res);
	else
		printf("Network %s %s from %s\n", ctl_jstr(res, "name"), done,
		       argv[1]);
	print_warnings(res, argv[1]);
	json_decref(res);
	return 0;
}

static int c_define(int argc, char **argv)
{
	return xml_action(argc, argv, NF_CMD_NET_DEFINE, "defined");
}

static int simple(enum nf_cmd cmd, const char *net, json_t **res)
{
	return ctl_call(cmd, json_pack("{s:s}", "network", net), res);
}

/* "CMD NETWORK": one request, one line for people ("Network X done").
 * Every command's arguments are checked against its table entry before
 * it runs (args.c): argv holds its positionals in order, then its flags. */
static int net_action(int argc, char **argv, enum nf_cmd cmd, const char *done)
{
	json_t *r;
	(void)argc;
	if (simple(cmd, argv[1], &r))
		return 1;
	if (ctl_opt_json)
		ctl_print_json(r);
	else
		printf("Network %s %s\n", ctl_jstr(r, "name"), done);
	json_decref(r);
	return 0;
}

static int c_undefine(int argc, char **argv)
{
	return net_action(argc, argv, NF_CMD_NET_UNDEFINE,
			  "has been undefined");
}

void ctl_print_table(json_t *rows, const char **cols, const char **heads,
		     size_t ncols)
{
	size_t w[16] = {0}, i;
	json_t *row;
	for (size_t c = 0; c < ncols; c++)
		w[c] = strlen(heads[c]);
	json_array_foreach (rows, i, row)
		for (size_t c = 0; c < ncols; c++) {
			size_t l = strlen(ctl_jstr(row, cols[c]));
			if (l > w[c])
				w[c] = l;
		}
	/* as virsh prints tables: a space before each cell, two after all
	 * but the last (no trailing blanks), a rule as wide as the cells */
	size_t total = 0;
	for (size_t c = 0; c < ncols; c++) {
		printf(" %-*s", c + 1 < ncols ? (int)w[c] + 2 : 0, heads[c]);
		total += w[c] + 3;
	}
	printf("\n");
	for (size_t c = 0; c < total; c++)
		putchar('-');
	printf("\n");
	json_array_foreach (rows, i, row) {
		for (size_t c = 0; c < ncols; c++)
			printf(" %-*s", c + 1 < ncols ? (int)w[c] + 2 : 0,
			       ctl_jstr(row, cols[c]));
		printf("\n");
	}
	printf("\n");
}

static int by_name(const void *a, const void *b)
{
	return strcmp(ctl_jstr(*(json_t *const *)a, "name"),
		      ctl_jstr(*(json_t *const *)b, "name"));
}

/* a JSON array of objects, sorted by their "name" */
static void sort_by_name(json_t *arr)
{
	size_t n = json_array_size(arr);
	json_t **v = nf_xcalloc(n ? n : 1, sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(arr, i));
	qsort(v, n, sizeof(*v), by_name);
	json_array_clear(arr);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, v[i]);
	free(v);
}

static int c_list(int argc, char **argv)
{
	bool all = false, inactive = false, autostart = false,
	     no_autostart = false, persistent = false, transient = false,
	     names = false, uuids = false;
	json_t *res, *out, *n;
	size_t i;
	for (int k = 1; k < argc; k++) {
		const char *a = argv[k];
		if (!strcmp(a, "--all"))
			all = true;
		else if (!strcmp(a, "--inactive"))
			inactive = true;
		else if (!strcmp(a, "--autostart"))
			autostart = true;
		else if (!strcmp(a, "--no-autostart"))
			no_autostart = true;
		else if (!strcmp(a, "--persistent"))
			persistent = true;
		else if (!strcmp(a, "--transient"))
			transient = true;
		else if (!strcmp(a, "--name"))
			names = true;
		else if (!strcmp(a, "--uuid"))
			uuids = true;
		else if (!strcmp(a, "--table"))
			;
		else
			return ctl_die_usage("net-list: unknown option '%s'",
					     a);
	}
	if (ctl_call(NF_CMD_NET_LIST, NULL, &res))
		return 1;
	sort_by_name(res);
	out = json_array();
	json_array_foreach (res, i, n) {
		bool act = json_is_true(json_object_get(n, "active"));
		bool as = json_is_true(json_object_get(n, "autostart"));
		bool per = json_is_true(json_object_get(n, "persistent"));
		if (inactive && act)
			continue;
		if (!all && !inactive && !act)
			continue;
		if (autostart && !as)
			continue;
		if (no_autostart && as)
			continue;
		if (persistent && !per)
			continue;
		if (transient && per)
			continue;
		json_t *row = json_deep_copy(n);
		json_object_set_new(row, "state",
				    json_string(act ? "active" : "inactive"));
		json_object_set_new(row, "autostart_s",
				    json_string(as ? "yes" : "no"));
		json_object_set_new(row, "persistent_s",
				    json_string(per ? "yes" : "no"));
		json_array_append_new(out, row);
	}
	if (ctl_opt_json) {
		json_array_foreach (out, i, n) {
			json_object_del(n, "autostart_s");
			json_object_del(n, "persistent_s");
		}
		ctl_print_json(out);
	} else if (names || uuids) {
		json_array_foreach (out, i, n)
			printf("%s%s%s\n", uuids ? ctl_jstr(n, "uuid") : "",
			       names && uuids ? " " : "",
			       names ? ctl_jstr(n, "name") : "");
	} else {
		static const char *cols[] = {"name", "state", "autostart_s",
					     "persistent_s"};
		static const char *heads[] = {"Name", "State", "Autostart",
					      "Persistent"};
		ctl_print_table(out, cols, heads, 4);
	}
	json_decref(out);
	json_decref(res);
	return 0;
}

static int c_info(int argc, char **argv)
{
	json_t *r;
	(void)argc;
	if (simple(NF_CMD_NET_INFO, argv[1], &r))
		return 1;
	if (ctl_opt_json) {
		ctl_print_json(r);
	} else {
		printf("%-15s %s\n", "Name:", ctl_jstr(r, "name"));
		printf("%-15s %s\n", "UUID:", ctl_jstr(r, "uuid"));
		printf("%-15s %s\n", "Active:", ctl_yesno(r, "active"));
		printf("%-15s %s\n", "Persistent:", ctl_yesno(r, "persistent"));
		printf("%-15s %s\n", "Autostart:", ctl_yesno(r, "autostart"));
		printf("%-15s %s\n", "Forward:", ctl_jstr(r, "forward"));
		printf("%-15s %s\n", "Bridge:", ctl_jstr(r, "bridge"));
		if (json_object_get(r, "dnsmasq_pid"))
			printf("%-15s %lld\n", "dnsmasq pid:",
			       (long long)json_integer_value(
				       json_object_get(r, "dnsmasq_pid")));
		json_t *w;
		size_t i;
		json_array_foreach (json_object_get(r, "warnings"), i, w)
			printf("%-15s %s\n",
			       i ? "" : "Warnings:", json_string_value(w));
	}
	json_decref(r);
	return 0;
}

static int dumpxml(const char *net, bool inactive, char **xml)
{
	json_t *r;
	if (ctl_call(NF_CMD_NET_DUMPXML,
		     json_pack("{s:s, s:b}", "network", net, "inactive",
			       inactive),
		     &r))
		return 1;
	*xml = nf_xstrdup(ctl_jstr(r, "xml"));
	json_decref(r);
	return 0;
}

/* An XPath expression evaluated on a network's XML. */
struct xpath {
	xmlDocPtr doc;
	xmlXPathContextPtr ctx;
	xmlXPathObjectPtr obj; /* NULL: not an expression */
};

static void xpath_eval(struct xpath *x, const char *xml, const char *expr,
		       int flags)
{
	x->doc = xmlReadMemory(xml, (int)strlen(xml), "net.xml", NULL,
			       XML_PARSE_NONET | flags);
	x->ctx = x->doc ? xmlXPathNewContext(x->doc) : NULL;
	x->obj = x->ctx ? xmlXPathEvalExpression((const xmlChar *)expr, x->ctx)
			: NULL;
}

static void xpath_done(struct xpath *x)
{
	xmlXPathFreeObject(x->obj);
	xmlXPathFreeContext(x->ctx);
	xmlFreeDoc(x->doc);
}

/* The i-th node selected, or NULL. */
static xmlNodePtr xpath_node(const struct xpath *x, int i)
{
	xmlNodeSetPtr ns = x->obj && x->obj->type == XPATH_NODESET
				   ? x->obj->nodesetval
				   : NULL;
	return ns && i < ns->nodeNr ? ns->nodeTab[i] : NULL;
}

static char *node_xml(const struct xpath *x, xmlNodePtr n, int format)
{
	xmlBufferPtr b = xmlBufferCreate();
	xmlNodeDump(b, x->doc, n, 0, format);
	char *s = nf_xstrdup((const char *)xmlBufferContent(b));
	xmlBufferFree(b);
	return s;
}

/* What an XPath expression selects in xml, as virsh net-dumpxml --xpath
 * prints it: each node's XML (inside <nodes> with wrap) or the value of
 * a string, number or boolean. */
static int print_xpath(const char *xml, const char *expr, bool wrap)
{
	struct xpath x;
	xpath_eval(&x, xml, expr, 0);
	int rc = 0;
	if (!x.obj) {
		fprintf(stderr,
			"netctl: net-dumpxml: --xpath '%s' is not an "
			"XPath expression\n",
			expr);
		rc = 1;
	} else if (x.obj->type == XPATH_NODESET) {
		if (wrap)
			printf("<nodes>\n");
		xmlNodePtr n;
		for (int i = 0; (n = xpath_node(&x, i)); i++) {
			char *s = node_xml(&x, n, 0);
			printf("%s\n", s);
			free(s);
		}
		if (wrap)
			printf("</nodes>\n");
	} else {
		xmlChar *v = xmlXPathCastToString(x.obj);
		printf("%s\n", (const char *)v);
		xmlFree(v);
	}
	xpath_done(&x);
	return rc;
}

static int c_dumpxml(int argc, char **argv)
{
	bool inactive = false, wrap = false;
	const char *xpath = NULL;
	char *xml;
	for (int k = 2; k < argc; k++) {
		if (!strcmp(argv[k], "--inactive"))
			inactive = true;
		else if (!strcmp(argv[k], "--wrap"))
			wrap = true;
		else if (!strcmp(argv[k], "--xpath") && k + 1 < argc)
			xpath = argv[++k];
	}
	if (dumpxml(argv[1], inactive, &xml))
		return 1;
	int rc = 0;
	if (xpath)
		rc = print_xpath(xml, xpath, wrap);
	else
		fputs(xml, stdout);
	free(xml);
	return rc;
}

static int c_autostart(int argc, char **argv)
{
	bool disable = argc == 3 && !strcmp(argv[2], "--disable");
	json_t *r;
	if (ctl_call(NF_CMD_NET_AUTOSTART,
		     json_pack("{s:s, s:b}", "network", argv[1], "enable",
			       !disable),
		     &r))
		return 1;
	if (ctl_opt_json)
		ctl_print_json(r);
	else
		printf("Network %s %s\n", ctl_jstr(r, "name"),
		       disable ? "unmarked as autostarted"
			       : "marked as autostarted");
	json_decref(r);
	return 0;
}

static int lookup(char **argv, const char *field)
{
	json_t *r;
	if (simple(NF_CMD_NET_INFO, argv[1], &r))
		return 1;
	if (ctl_opt_json)
		ctl_print_json(json_object_get(r, field));
	else
		printf("%s\n", ctl_jstr(r, field));
	json_decref(r);
	return 0;
}

static int c_uuid(int argc, char **argv)
{
	(void)argc;
	return lookup(argv, "uuid");
}

static int c_name(int argc, char **argv)
{
	(void)argc;
	return lookup(argv, "name");
}

/* Runs $EDITOR (or $VISUAL, else vi) on path. */
static int run_editor(const char *path)
{
	const char *ed = getenv("VISUAL");
	if (!ed || !*ed)
		ed = getenv("EDITOR");
	if (!ed || !*ed)
		ed = "vi";
	char *cmd;
	if (asprintf(&cmd, "%s '%s'", ed, path) < 0)
		return -1;
	int st = system(cmd);
	free(cmd);
	return st == 0 ? 0 : -1;
}

static int c_edit(int argc, char **argv)
{
	char tmpl[] = "/tmp/netctl-edit-XXXXXX.xml", *orig, *edited = NULL;
	json_t *info, *res;
	int fd, rc = 1;
	(void)argc;
	if (simple(NF_CMD_NET_INFO, argv[1], &info))
		return 1;
	if (dumpxml(argv[1], true, &orig)) {
		json_decref(info);
		return 1;
	}
	fd = mkstemps(tmpl, 4);
	if (fd < 0 || write(fd, orig, strlen(orig)) < 0) {
		perror("netctl: temporary file");
		goto out;
	}
	close(fd);
	for (;;) {
		if (run_editor(tmpl) < 0) {
			fprintf(stderr, "netctl: the editor failed; the "
					"definition is unchanged\n");
			goto out;
		}
		free(edited);
		if (!(edited = ctl_read_input(tmpl)))
			goto out;
		if (!strcmp(edited, orig)) {
			printf("Network %s XML configuration not changed.\n",
			       ctl_jstr(info, "name"));
			rc = 0;
			goto out;
		}
		if (define_xml(edited, tmpl, ctl_jstr(info, "uuid"), &res) ==
		    0) {
			printf("Network %s XML configuration edited.\n",
			       ctl_jstr(res, "name"));
			print_warnings(res, ctl_jstr(res, "name"));
			json_decref(res);
			rc = 0;
			goto out;
		}
		/* keep the old definition; offer another go when a person
		 * is at the terminal */
		if (!isatty(0))
			goto out;
		fprintf(stderr, "Failed. Try again? [y,n]: ");
		char ans[16];
		if (!fgets(ans, sizeof(ans), stdin) || ans[0] != 'y')
			goto out;
	}
out:
	unlink(tmpl);
	free(orig);
	free(edited);
	json_decref(info);
	return rc;
}

static int c_version(int argc, char **argv)
{
	json_t *r;
	(void)argc;
	(void)argv;
	if (!ctl_opt_json)
		printf("netctl %s\n", NF_VERSION);
	if (ctl_call(NF_CMD_VERSION, NULL, &r))
		return 1;
	if (ctl_opt_json) {
		json_t *v = json_pack("{s:s, s:s}", "netctl", NF_VERSION,
				      "netd", ctl_jstr(r, "version"));
		ctl_print_json(v);
		json_decref(v);
	} else
		printf("netd %s\n", ctl_jstr(r, "version"));
	json_decref(r);
	return 0;
}

/* the XML net-desc and net-metadata read: the running network's with
 * --live (or when active, without --config), else the definition */
static int meta_xml(const char *net, bool live, bool config, char **xml)
{
	json_t *info;
	if (simple(NF_CMD_NET_INFO, net, &info))
		return 1;
	bool active = json_is_true(json_object_get(info, "active"));
	json_decref(info);
	return dumpxml(net, config || (!live && !active), xml);
}

/* what an XPath expression selects, as text (a node's XML with node) */
static char *xpath_text(const char *xml, const char *expr, bool node)
{
	struct xpath x;
	/* without the document's indentation: a node is printed afresh */
	xpath_eval(&x, xml, expr, XML_PARSE_NOBLANKS);
	xmlNodePtr n = xpath_node(&x, 0);
	char *out = NULL;
	if (n && node) {
		out = node_xml(&x, n, 1);
	} else if (n) {
		xmlChar *t = xmlNodeGetContent(n);
		out = nf_xstrdup((const char *)t);
		xmlFree(t);
	}
	xpath_done(&x);
	return out;
}

/* sets (text) or removes (NULL) a title, description or metadata */
static int set_meta(const char *net, const char *kind, const char *text,
		    const char *uri, const char *key, bool live, bool config)
{
	json_t *r;
	if (ctl_call(NF_CMD_NET_METADATA,
		     json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:b, s:b}",
			       "network", net, "kind", kind, "text", text,
			       "uri", uri, "key", key, "live", live, "config",
			       config),
		     &r))
		return 1;
	if (!ctl_json_done(r))
		json_decref(r);
	return 0;
}

/* Edits text in $EDITOR; the result, or NULL when unchanged or failed. */
static char *edit_text(const char *text)
{
	char tmpl[] = "/tmp/netctl-edit-XXXXXX.txt";
	int fd = mkstemps(tmpl, 4);
	char *out = NULL;
	if (fd < 0 || write(fd, text, strlen(text)) < 0) {
		perror("netctl: temporary file");
	} else {
		close(fd), fd = -1;
		if (run_editor(tmpl) == 0)
			out = ctl_read_input(tmpl);
	}
	if (fd >= 0)
		close(fd);
	unlink(tmpl);
	if (out && !strcmp(out, text)) {
		free(out);
		out = NULL;
	}
	return out;
}

struct meta_opts {
	bool live, config, title, edit, remove;
	const char *new_text, *key, *set;
};

static void meta_flags(int argc, char **argv, int from, struct meta_opts *o)
{
	for (int k = from; k < argc; k++) {
		const char *a = argv[k];
		bool more = k + 1 < argc;
		if (!strcmp(a, "--live"))
			o->live = true;
		else if (!strcmp(a, "--config"))
			o->config = true;
		else if (!strcmp(a, "--title"))
			o->title = true;
		else if (!strcmp(a, "--edit"))
			o->edit = true;
		else if (!strcmp(a, "--remove"))
			o->remove = true;
		else if (!strcmp(a, "--new-desc") && more)
			o->new_text = argv[++k];
		else if (!strcmp(a, "--key") && more)
			o->key = argv[++k];
		else if (!strcmp(a, "--set") && more)
			o->set = argv[++k];
	}
}

/* net-desc NETWORK [--title] [--new-desc TEXT] [--edit] [--live]
 * [--config] [--current]: as virsh's */
static int c_desc(int argc, char **argv)
{
	struct meta_opts o = {0};
	char *xml, *cur;
	meta_flags(argc, argv, 2, &o);
	const char *kind = o.title ? "title" : "description";
	if (o.new_text || o.edit) {
		char *edited = NULL;
		if (o.edit) {
			if (meta_xml(argv[1], o.live, o.config, &xml))
				return 1;
			cur = xpath_text(xml,
					 o.title ? "/network/title"
						 : "/network/description",
					 false);
			edited = edit_text(cur ? cur : "");
			free(cur);
			free(xml);
			if (!edited) {
				printf("Network %s not changed\n", kind);
				return 0;
			}
			/* a title is one line: the editor's newline goes */
			edited[strcspn(edited, o.title ? "\n" : "")] = 0;
		}
		const char *text = edited ? edited : o.new_text;
		int rc = set_meta(argv[1], kind, *text ? text : NULL, NULL,
				  NULL, o.live, o.config);
		free(edited);
		if (!rc && !ctl_opt_json)
			printf("Network %s updated successfully\n", kind);
		return rc;
	}
	if (meta_xml(argv[1], o.live, o.config, &xml))
		return 1;
	cur = xpath_text(xml,
			 o.title ? "/network/title" : "/network/description",
			 false);
	free(xml);
	if (cur)
		printf("%s\n", cur);
	else
		printf("No %s for network: %s\n", kind, argv[1]);
	free(cur);
	return 0;
}

/* net-metadata NETWORK URI [--key KEY] [--set XML] [--remove] [--edit]
 * [--live] [--config] [--current]: as virsh's */
static int c_metadata(int argc, char **argv)
{
	struct meta_opts o = {0};
	char *xml, *cur, expr[1024];
	meta_flags(argc, argv, 3, &o);
	const char *uri = argv[2];
	if (strchr(uri, '\'') || strlen(uri) > 900)
		return ctl_die_usage("net-metadata: the URI may not hold a "
				     "quote");
	snprintf(expr, sizeof(expr),
		 "/network/metadata/*[namespace-uri()='%s']", uri);
	if ((o.set || o.edit) && !o.key)
		return ctl_die_usage("net-metadata: --set and --edit need "
				     "--key PREFIX");
	if (o.remove || o.set || o.edit) {
		char *edited = NULL;
		if (o.edit) {
			if (meta_xml(argv[1], o.live, o.config, &xml))
				return 1;
			cur = xpath_text(xml, expr, true);
			free(xml);
			edited = edit_text(cur ? cur : "");
			free(cur);
			if (!edited) {
				printf("Metadata not changed\n");
				return 0;
			}
		}
		int rc = set_meta(argv[1], "metadata",
				  o.remove ? NULL
				  : edited ? edited
					   : o.set,
				  uri, o.key, o.live, o.config);
		free(edited);
		if (!rc && !ctl_opt_json)
			printf(o.remove ? "Metadata removed\n"
					: "Metadata modified\n");
		return rc;
	}
	if (meta_xml(argv[1], o.live, o.config, &xml))
		return 1;
	cur = xpath_text(xml, expr, true);
	free(xml);
	if (!cur) {
		fprintf(stderr,
			"netctl: error: network %s has no metadata in "
			"namespace %s\n",
			argv[1], uri);
		return 1;
	}
	printf("%s\n", cur);
	free(cur);
	return 0;
}

static int c_start(int argc, char **argv)
{
	return net_action(argc, argv, NF_CMD_NET_START, "started");
}

static int c_destroy(int argc, char **argv)
{
	return net_action(argc, argv, NF_CMD_NET_DESTROY, "destroyed");
}

static int c_create(int argc, char **argv)
{
	return xml_action(argc, argv, NF_CMD_NET_CREATE, "created");
}

static int c_leases(int argc, char **argv)
{
	const char *net = argv[1], *mac = argc == 4 ? argv[3] : NULL;
	json_t *r, *l;
	size_t i;
	if (ctl_call(NF_CMD_NET_DHCP_LEASES,
		     json_pack("{s:s, s:s?}", "network", net, "mac", mac), &r))
		return 1;
	if (ctl_json_done(r))
		return 0;
	json_t *rows = json_array();
	json_array_foreach (r, i, l) {
		char when[64] = "never";
		time_t t = (time_t)json_integer_value(
			json_object_get(l, "expiry"));
		if (t)
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S",
				 localtime(&t));
		json_t *row = json_pack(
			"{s:s, s:s, s:s, s:s, s:s, s:s}", "expiry", when, "mac",
			ctl_jstr(l, "mac"), "type", ctl_jstr(l, "type"), "ip",
			ctl_jstr(l, "ip"), "hostname",
			*ctl_jstr(l, "hostname") ? ctl_jstr(l, "hostname")
						 : "-",
			"clientid",
			*ctl_jstr(l, "clientid") ? ctl_jstr(l, "clientid")
						 : "-");
		json_array_append_new(rows, row);
	}
	static const char *cols[] = {"expiry", "mac",	   "type",
				     "ip",     "hostname", "clientid"};
	static const char *heads[] = {"Expiry Time", "MAC address",
				      "Protocol",    "IP address",
				      "Hostname",    "Client ID or DUID"};
	ctl_print_table(rows, cols, heads, 6);
	json_decref(rows);
	json_decref(r);
	return 0;
}

/* "2026-12-01 13:45:01.123+0000: ", as virsh net-event --timestamp */
static void print_stamp(void)
{
	struct timespec ts;
	struct tm tm;
	char buf[64], zone[8];
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
	strftime(zone, sizeof(zone), "%z", &tm);
	printf("%s.%03ld%s: ", buf, ts.tv_nsec / 1000000, zone);
}

/* Prints lifecycle events as they happen: one, or all with --loop;
 * of one network with --network. */
static int c_event(int argc, char **argv)
{
	bool loop = false, stamp = false;
	int timeout = -1;
	const char *net = NULL, *kind = "lifecycle"; /* NULL: all */
	char *only = NULL; /* the network's name, when --network */
	struct nf_err e = {0};
	json_t *rep = NULL;
	for (int k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "--loop"))
			loop = true;
		else if (!strcmp(argv[k], "--timestamp"))
			stamp = true;
		else if (!strcmp(argv[k], "--all"))
			kind = NULL;
		else if (!strcmp(argv[k], "--list")) {
			printf("lifecycle\nport\n");
			return 0;
		} else if (!strcmp(argv[k], "--timeout") && k + 1 < argc)
			timeout = atoi(argv[++k]);
		else if (!strcmp(argv[k], "--network") && k + 1 < argc)
			net = argv[++k];
		else if (!strcmp(argv[k], "--event") && k + 1 < argc) {
			kind = argv[++k];
			if (strcmp(kind, "lifecycle") && strcmp(kind, "port"))
				return ctl_die_usage(
					"net-event: unknown event '%s' "
					"(--list lists them: lifecycle, port)",
					kind);
		}
	}
	if (net) { /* a name or UUID: events carry the name */
		json_t *info;
		if (simple(NF_CMD_NET_INFO, net, &info))
			return 1;
		only = nf_xstrdup(ctl_jstr(info, "name"));
		json_decref(info);
	}
	int s = proto_connect(sock_path, &e);
	if (s < 0 || proto_call(s, nf_cmd_name(NF_CMD_EVENT_SUBSCRIBE), NULL,
				&rep, NULL, NULL, &e) < 0) {
		fprintf(stderr, "netctl: %s\n", e.msg);
		return 1;
	}
	json_decref(rep);
	struct proto_rx rx = {0};
	uint64_t deadline =
		timeout >= 0 ? nf_now_ns() + (uint64_t)timeout * 1000000000ull
			     : 0;
	int count = 0, rc = 0;
	for (;;) {
		json_t *ev = NULL;
		int r = proto_rx_next(&rx, &ev, NULL, NULL, &e);
		/* port events carry the port; lifecycle ones do not */
		const char *port = r == 1 ? ctl_jstr(ev, "port") : "";
		if (r == 1 &&
		    ((only && strcmp(ctl_jstr(ev, "network"), only)) ||
		     (kind && !strcmp(kind, "port") != !!*port))) {
			json_decref(ev);
			continue;
		}
		if (r == 1) {
			if (stamp && !ctl_opt_json)
				print_stamp();
			if (ctl_opt_json) {
				char *t = json_dumps(ev, JSON_COMPACT);
				puts(t);
				free(t);
			} else {
				const char *what = ctl_jstr(ev, "event");
				printf("event '%s' for network %s: %c%s%s%s\n",
				       *port ? "port" : "lifecycle",
				       ctl_jstr(ev, "network"),
				       toupper(what[0]), what + 1,
				       *port ? " " : "", port);
			}
			fflush(stdout);
			json_decref(ev);
			count++;
			if (!loop)
				break;
			continue;
		}
		if (r < 0) {
			rc = 1;
			break;
		}
		if (deadline) {
			uint64_t now = nf_now_ns();
			if (now >= deadline)
				break;
			struct pollfd pf = {s, POLLIN, 0};
			if (poll(&pf, 1,
				 (int)((deadline - now) / 1000000 + 1)) == 0)
				break;
		}
		r = proto_rx_fill(&rx, s);
		if (r <= 0) {
			fprintf(stderr, "netctl: netd closed the connection\n");
			rc = 1;
			break;
		}
	}
	proto_rx_free(&rx);
	close(s);
	free(only);
	if (!ctl_opt_json)
		printf("events received: %d\n", count);
	return rc;
}

static int c_doctor(int argc, char **argv)
{
	json_t *r, *c;
	size_t i;
	int worst = 0;
	(void)argc;
	(void)argv;
	if (ctl_call(NF_CMD_DOCTOR, NULL, &r))
		return 1;
	json_array_foreach (r, i, c) {
		const char *st = ctl_jstr(c, "status");
		if (!strcmp(st, "error"))
			worst = 2;
		else if (!strcmp(st, "warning") && worst < 1)
			worst = 1;
		if (ctl_opt_json)
			continue;
		printf("[%-7s] %-15s %s\n", st, ctl_jstr(c, "check"),
		       ctl_jstr(c, "detail"));
		if (*ctl_jstr(c, "fix"))
			printf("          %-15s fix: %s\n", "",
			       ctl_jstr(c, "fix"));
	}
	if (ctl_opt_json)
		ctl_print_json(r);
	json_decref(r);
	return worst == 2 ? 1 : 0;
}

static void print_port(json_t *p)
{
	printf("%-10s %s\n", "UUID:", ctl_jstr(p, "uuid"));
	printf("%-10s %s\n", "Network:", ctl_jstr(p, "network"));
	printf("%-10s %s\n", "Name:", ctl_jstr(p, "name"));
	printf("%-10s %s\n", "MAC:", ctl_jstr(p, "mac"));
	printf("%-10s %s\n",
	       "IP:", *ctl_jstr(p, "ip") ? ctl_jstr(p, "ip") : "-");
	if (*ctl_jstr(p, "leased")) /* a range lease its guard follows */
		printf("%-10s %s\n", "Leased:", ctl_jstr(p, "leased"));
	printf("%-10s %s\n", "Type:", ctl_jstr(p, "type"));
	if (!strcmp(ctl_jstr(p, "type"), "foreign"))
		printf("%-10s %s\n", "MAC from:",
		       json_is_true(json_object_get(p, "denied"))
			       ? "- (the network denies foreign ports)"
		       : !strcmp(ctl_jstr(p, "mac_source"), "libvirt")
			       ? "its TAP's MAC (libvirt's convention)"
		       : !strcmp(ctl_jstr(p, "mac_source"), "learned")
			       ? "the bridge (the first MAC it learned there)"
			       : "- (not known yet: only DHCP and probes "
				 "pass)");
	if (*ctl_jstr(p, "device")) {
		printf("%-10s %s%s%s\n", "Device:", ctl_jstr(p, "device"),
		       *ctl_jstr(p, "lower") ? " netdev " : "",
		       ctl_jstr(p, "lower"));
		if (*ctl_jstr(p, "pci"))
			printf("%-10s %s (IOMMU group %lld)\n",
			       "PCI:", ctl_jstr(p, "pci"),
			       (long long)json_integer_value(
				       json_object_get(p, "iommu_group")));
		if (*ctl_jstr(p, "vfio"))
			printf("%-10s %s\n", "VFIO:", ctl_jstr(p, "vfio"));
	}
	printf("%-10s %s\n",
	       !strcmp(ctl_jstr(p, "type"), "macvtap")	 ? "macvtap:"
	       : !strcmp(ctl_jstr(p, "type"), "foreign") ? "Interface:"
							 : "TAP:",
	       *ctl_jstr(p, "tap") ? ctl_jstr(p, "tap") : "-");
	printf("%-10s %lld\n", "Queues:",
	       (long long)json_integer_value(json_object_get(p, "queues")));
	printf("%-10s %s\n", "Filter:", ctl_yesno(p, "filter"));
	printf("%-10s %s\n", "Isolated:", ctl_yesno(p, "isolated"));
	printf("%-10s %s\n", "Persist:", ctl_yesno(p, "persist"));
	long long uid = json_integer_value(json_object_get(p, "owner_uid")),
		  pid = json_integer_value(json_object_get(p, "owner_pid"));
	/* a kept port outlives whoever made it: netd holds it */
	if (json_is_true(json_object_get(p, "persist")))
		printf("%-10s netd (kept until port-delete), made by uid "
		       "%lld\n",
		       "Owner:", uid);
	else
		printf("%-10s pid %lld (uid %lld), which holds its fds\n",
		       "Owner:", pid, uid);
}

static int c_port_create(int argc, char **argv)
{
	const char *net = NULL, *mac = NULL, *ip = NULL, *name = NULL,
		   *persist = NULL, *pg = NULL, *proto = NULL;
	int queues = 1, vlan = -1, rate = -1;
	bool isolated = false, filter = true, keep = false;
	char **cmd = NULL; /* --exec */
	json_t *r;
	for (int k = 1; k < argc; k++) {
		const char *a = argv[k];
		bool more = k + 1 < argc;
		if (!strcmp(a, "--mac") && more)
			mac = argv[++k];
		else if (!strcmp(a, "--ip") && more)
			ip = argv[++k];
		else if (!strcmp(a, "--name") && more)
			name = argv[++k];
		else if (!strcmp(a, "--queues") && more)
			queues = atoi(argv[++k]);
		else if (!strcmp(a, "--persist") && more)
			persist = argv[++k];
		else if (!strcmp(a, "--portgroup") && more)
			pg = argv[++k];
		else if (!strcmp(a, "--vlan") && more)
			vlan = atoi(argv[++k]);
		else if (!strcmp(a, "--vlan-proto") && more)
			proto = argv[++k];
		else if (!strcmp(a, "--rate") && more)
			rate = atoi(argv[++k]);
		else if (!strcmp(a, "--keep"))
			keep = true;
		else if (!strcmp(a, "--isolated"))
			isolated = true;
		else if (!strcmp(a, "--no-filter"))
			filter = false;
		else if (!strcmp(a, "--exec") && more) {
			cmd = argv + k + 1;
			break;
		} else if (!net && a[0] != '-')
			net = a;
		else
			return ctl_die_usage(
				"usage: netctl port-create NETWORK "
				"[--mac M] [--ip A] [--name VM] "
				"[--queues N] [--isolated] "
				"[--persist IFNAME] [--no-filter] "
				"[--portgroup PG] [--vlan ID] "
				"[--vlan-proto 802.1Q|802.1ad] "
				"[--rate MBITS] [--keep]");
	}
	if (!net)
		return ctl_die_usage("port-create needs a NETWORK");
	if (cmd && (persist || keep))
		return ctl_die_usage("--exec hands the port's fds to CMD; "
				     "--persist and --keep are for ports that "
				     "outlive netctl");
	if (!persist && !keep && !cmd)
		fprintf(stderr,
			"netctl: note: a port lives as long as its TAP fd; "
			"netctl exits now, so this one goes at once. Use "
			"--persist IFNAME for runners that open a TAP by name, "
			"--keep for a VF or passthrough device, or netvm.\n");
	json_t *args = json_pack(
		"{s:s, s:s?, s:s?, s:s?, s:s?, s:i, s:b, s:b, s:s?, s:s?, s:b}",
		"network", net, "mac", mac, "ip", ip, "name", name, "persist",
		persist, "queues", queues, "isolated", isolated, "filter",
		filter, "portgroup", pg, "vlan_proto", proto, "keep", keep);
	if (vlan >= 0)
		json_object_set_new(args, "vlan", json_integer(vlan));
	if (rate >= 0)
		json_object_set_new(args, "rate", json_integer(rate));
	if (cmd) {
		int fds[16];
		size_t nfds = 16;
		if (ctl_call_io(NF_CMD_PORT_CREATE, args, NULL, 0, &r, fds,
				&nfds))
			return 1;
		return ctl_port_exec(r, fds, nfds, cmd);
	}
	if (ctl_call(NF_CMD_PORT_CREATE, args, &r))
		return 1;
	if (ctl_opt_json)
		ctl_print_json(r);
	else
		print_port(r);
	json_decref(r);
	return 0;
}

static int c_sriov_numvfs(int argc, char **argv)
{
	json_t *r;
	char *end;
	long n = strtol(argv[2], &end, 10);
	(void)argc;
	if (*end || n < 0 || n > 4096)
		return ctl_die_usage("usage: netctl sriov-set-numvfs PF N");
	if (ctl_call(NF_CMD_SRIOV_SET_NUMVFS,
		     json_pack("{s:s, s:i}", "pf", argv[1], "numvfs", (int)n),
		     &r))
		return 1;
	if (ctl_opt_json)
		ctl_print_json(r);
	else
		printf("%s: %lld VFs (was %lld)\n", ctl_jstr(r, "pf"),
		       (long long)json_integer_value(
			       json_object_get(r, "numvfs")),
		       (long long)json_integer_value(
			       json_object_get(r, "from")));
	json_decref(r);
	return 0;
}

static int c_sriov_list(int argc, char **argv)
{
	json_t *r, *pf, *vf;
	size_t i, k;
	if (ctl_call(NF_CMD_SRIOV_LIST,
		     json_pack("{s:s?}", "pf", argc == 2 ? argv[1] : NULL), &r))
		return 1;
	if (ctl_json_done(r))
		return 0;
	if (!json_array_size(r))
		printf("no SR-IOV physical functions\n");
	json_array_foreach (r, i, pf) {
		printf("%s  %s  driver %s  VFs %lld of %lld\n",
		       ctl_jstr(pf, "pf"), ctl_jstr(pf, "pci"),
		       *ctl_jstr(pf, "driver") ? ctl_jstr(pf, "driver") : "-",
		       (long long)json_integer_value(
			       json_object_get(pf, "numvfs")),
		       (long long)json_integer_value(
			       json_object_get(pf, "totalvfs")));
		json_t *rows = json_array();
		json_array_foreach (json_object_get(pf, "vfs"), k, vf) {
			json_int_t g = json_integer_value(
				json_object_get(vf, "iommu_group"));
			char idx[24], grp[24], vlan[24] = "-";
			json_int_t vl =
				json_integer_value(json_object_get(vf, "vlan"));
			if (vl)
				snprintf(vlan, sizeof(vlan), "%lld%s",
					 (long long)vl,
					 json_integer_value(json_object_get(
						 vf, "vlan_proto")) == 0x88a8
						 ? " (802.1ad)"
						 : "");
			snprintf(idx, sizeof(idx), "%lld",
				 (long long)json_integer_value(
					 json_object_get(vf, "index")));
			snprintf(grp, sizeof(grp), "%lld", (long long)g);
			json_array_append_new(
				rows, json_pack("{s:s, s:s, s:s, s:s, s:s}",
						"vf", idx, "pci",
						ctl_jstr(vf, "pci"), "netdev",
						*ctl_jstr(vf, "netdev")
							? ctl_jstr(vf, "netdev")
							: "-",
						"driver",
						*ctl_jstr(vf, "driver")
							? ctl_jstr(vf, "driver")
							: "-",
						"group", g < 0 ? "-" : grp));
			json_t *row =
				json_array_get(rows, json_array_size(rows) - 1);
			bool has = json_object_get(vf, "mac") != NULL;
			json_object_update(
				row,
				json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}",
					  "mac",
					  has ? ctl_jstr(vf, "mac") : "-",
					  "vlan", vlan, "spoofchk",
					  has ? ctl_yesno(vf, "spoofchk") : "-",
					  "trust",
					  has ? ctl_yesno(vf, "trust") : "-",
					  "link",
					  has ? ctl_jstr(vf, "link") : "-",
					  "port",
					  *ctl_jstr(vf, "port_name")
						  ? ctl_jstr(vf, "port_name")
					  : *ctl_jstr(vf, "port")
						  ? ctl_jstr(vf, "port")
						  : "-"));
		}
		static const char *cols[] = {
			"vf",	"pci",	    "netdev", "driver", "group", "mac",
			"vlan", "spoofchk", "trust",  "link",	"port"};
		static const char *heads[] = {"VF",	"PCI",	       "Netdev",
					      "Driver", "IOMMU group", "MAC",
					      "VLAN",	"Spoofchk",    "Trust",
					      "Link",	"Port"};
		ctl_print_table(rows, cols, heads, NF_ARRAY_SIZE(cols));
		json_decref(rows);
	}
	json_decref(r);
	return 0;
}

static int c_port_list(int argc, char **argv)
{
	json_t *r, *p, *rows;
	size_t i;
	if (ctl_call(NF_CMD_PORT_LIST,
		     json_pack("{s:s?}", "network", argc == 2 ? argv[1] : NULL),
		     &r))
		return 1;
	if (ctl_json_done(r))
		return 0;
	rows = json_array();
	json_array_foreach (r, i, p) {
		json_t *row = json_deep_copy(p);
		if (!*ctl_jstr(p, "ip"))
			json_object_set_new(row, "ip", json_string("-"));
		if (!*ctl_jstr(p, "mac")) /* a foreign port's, not known yet */
			json_object_set_new(
				row, "mac",
				json_string(json_is_true(json_object_get(
						    p, "denied"))
						    ? "(denied)"
						    : "(learning)"));
		json_array_append_new(rows, row);
	}
	static const char *cols[] = {"tap", "type", "network", "name",
				     "mac", "ip",   "uuid"};
	static const char *heads[] = {"TAP", "Type", "Network", "Name",
				      "MAC", "IP",   "UUID"};
	ctl_print_table(rows, cols, heads, 7);
	json_decref(rows);
	json_decref(r);
	return 0;
}

static int port_simple(int argc, char **argv, enum nf_cmd cmd, bool info)
{
	json_t *r;
	(void)argc;
	if (ctl_call(cmd, json_pack("{s:s}", "port", argv[1]), &r))
		return 1;
	if (ctl_opt_json)
		ctl_print_json(r);
	else if (info)
		print_port(r);
	else
		printf("Port %s deleted\n", ctl_jstr(r, "tap"));
	json_decref(r);
	return 0;
}

static int c_port_info(int argc, char **argv)
{
	return port_simple(argc, argv, NF_CMD_PORT_INFO, true);
}

/* port-delete PORT...: several in one request, so their TAPs go in one
 * kernel batch */
static int c_port_delete(int argc, char **argv)
{
	json_t *r, *ports = json_array();
	for (int k = 1; k < argc && argv[k][0] != '-'; k++)
		json_array_append_new(ports, json_string(argv[k]));
	if (json_array_size(ports) == 1) {
		json_decref(ports);
		return port_simple(argc, argv, NF_CMD_PORT_DELETE, false);
	}
	if (ctl_call(NF_CMD_PORT_DELETE, json_pack("{s:o}", "ports", ports),
		     &r))
		return 1;
	if (ctl_opt_json)
		ctl_print_json(r);
	else {
		json_t *p;
		size_t i;
		json_array_foreach (json_object_get(r, "ports"), i, p)
			printf("Port %s deleted\n", ctl_jstr(p, "tap"));
	}
	json_decref(r);
	return 0;
}

/* net-update NETWORK COMMAND SECTION XML|FILE [--live] [--config]
 * [--current] [--parent-index N] */
static int c_update(int argc, char **argv)
{
	const char *pos[4] = {0};
	int npos = 0, parent = -1;
	bool live = false, config = false;
	json_t *r;
	for (int k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "--live"))
			live = true;
		else if (!strcmp(argv[k], "--config"))
			config = true;
		else if (!strcmp(argv[k], "--current"))
			;
		else if (!strcmp(argv[k], "--parent-index") && k + 1 < argc)
			parent = atoi(argv[++k]);
		else if (npos < 4 && (argv[k][0] != '-' || npos == 3))
			pos[npos++] = argv[k];
		else
			npos = 5;
	}
	if (npos != 4)
		return ctl_die_usage(
			"usage: netctl net-update NETWORK "
			"add|add-first|add-last|delete|modify SECTION XML|FILE "
			"[--live] [--config] [--current] [--parent-index N]");
	/* like virsh: XML text, or a file holding it */
	char *xml = pos[3][strspn(pos[3], " \t\n")] == '<'
			    ? nf_xstrdup(pos[3])
			    : ctl_read_input(pos[3]);
	if (!xml)
		return 1;
	int rc = ctl_call(NF_CMD_NET_UPDATE,
			  json_pack("{s:s, s:s, s:s, s:s, s:i, s:b, s:b}",
				    "network", pos[0], "command", pos[1],
				    "section", pos[2], "xml", xml,
				    "parent_index", parent, "live", live,
				    "config", config),
			  &r);
	free(xml);
	if (rc)
		return rc;
	if (ctl_opt_json)
		ctl_print_json(r);
	else if (!json_is_true(json_object_get(r, "changed")))
		printf("Network %s: already so, nothing changed\n",
		       ctl_jstr(r, "network"));
	else
		printf("Updated network %s %s\n", ctl_jstr(r, "network"),
		       json_is_true(json_object_get(r, "live")) &&
				       json_is_true(
					       json_object_get(r, "config"))
			       ? "live state and persistent config"
		       : json_is_true(json_object_get(r, "live"))
			       ? "live state"
			       : "persistent config");
	json_decref(r);
	return 0;
}

#define NET(h)                                                                 \
	{                                                                      \
		"NETWORK", NULL, CTL_NETWORK, NULL, false, h                   \
	}
#define NET_ARG NET("the network: its name or UUID")
#define PORT_ARG                                                               \
	{                                                                      \
		"PORT", NULL, CTL_PORT, NULL, false,                           \
			"the port: its UUID, TAP or name"                      \
	}
#define LAB_ARG                                                                \
	{                                                                      \
		"NAME", NULL, CTL_LAB, NULL, false, "the lab's name"           \
	}

static int c_help(int argc, char **argv);
static int c_complete(int argc, char **argv);

static const struct ctl_cmd cmds[] = {
	{"net-list",
	 c_list,
	 "Networks",
	 "list networks (active ones unless --all or --inactive)",
	 {{"--all", NULL, 0, NULL, false, "active and inactive networks"},
	  {"--inactive", NULL, 0, NULL, false, "inactive networks only"},
	  {"--autostart", NULL, 0, NULL, false, "those started with netd"},
	  {"--no-autostart", NULL, 0, NULL, false,
	   "those not started with netd"},
	  {"--persistent", NULL, 0, NULL, false, "defined ones only"},
	  {"--transient", NULL, 0, NULL, false, "created ones only"},
	  {"--name", NULL, 0, NULL, false, "print the names only"},
	  {"--uuid", NULL, 0, NULL, false, "print the UUIDs only"},
	  {"--table", NULL, 0, NULL, false, "the table (the default)"}}},
	{"net-info", c_info, "Networks", "show a network's state", {NET_ARG}},
	{"net-define",
	 c_define,
	 "Networks",
	 "define a persistent network from libvirt network XML",
	 {{"FILE", NULL, CTL_FILE, "xml", false, "the network XML"},
	  {"--validate", NULL, 0, NULL, false,
	   "refuse what libvirt's parser would ignore or never serve, "
	   "instead of warning"}}},
	{"net-create",
	 c_create,
	 "Networks",
	 "create and start a transient network",
	 {{"FILE", NULL, CTL_FILE, "xml", false, "the network XML"},
	  {"--validate", NULL, 0, NULL, false,
	   "refuse what libvirt's parser would ignore or never serve, "
	   "instead of warning"}}},
	{"net-start",
	 c_start,
	 "Networks",
	 "start a defined network: bridge, firewall, DHCP/DNS",
	 {NET_ARG}},
	{"net-destroy",
	 c_destroy,
	 "Networks",
	 "stop a network and remove all it made",
	 {NET_ARG}},
	{"net-undefine",
	 c_undefine,
	 "Networks",
	 "remove a network's persistent definition",
	 {NET_ARG}},
	{"net-autostart",
	 c_autostart,
	 "Networks",
	 "start the network when netd starts",
	 {NET_ARG,
	  {"--disable", NULL, 0, NULL, false, "do not start it with netd"}}},
	{"net-dumpxml",
	 c_dumpxml,
	 "Networks",
	 "print a network's XML",
	 {NET_ARG,
	  {"--inactive", NULL, 0, NULL, false,
	   "the definition netd will start next, not the running one"},
	  {"--xpath", "EXPR", 0, NULL, false,
	   "print only what this XPath expression selects"},
	  {"--wrap", NULL, 0, NULL, false,
	   "with --xpath: the nodes inside one <nodes> element"}}},
	{"net-edit",
	 c_edit,
	 "Networks",
	 "edit a definition in $EDITOR (checked before saved)",
	 {NET_ARG}},
	{"net-update",
	 c_update,
	 "Networks",
	 "change a part of a network, live or in its definition",
	 {NET_ARG,
	  {"COMMAND", NULL, CTL_WORDS, "add add-first add-last delete modify",
	   false, "what to do"},
	  {"SECTION", NULL, CTL_WORDS,
	   "ip-dhcp-host ip-dhcp-range dns-host dns-txt dns-srv portgroup "
	   "forward-interface",
	   false, "which part of the network"},
	  {"XML", NULL, CTL_FILE, "xml", false,
	   "the element: XML text, or a file holding it"},
	  {"--live", NULL, 0, NULL, false, "change the running network"},
	  {"--config", NULL, 0, NULL, false, "change the definition"},
	  {"--current", NULL, 0, NULL, false,
	   "the running network if active, else the definition (default)"},
	  {"--parent-index", "N", 0, NULL, false,
	   "which <ip> of the network (ip-dhcp-host, ip-dhcp-range)"}}},
	{"net-desc",
	 c_desc,
	 "Networks",
	 "show or set a network's description or title",
	 {NET_ARG,
	  {"--title", NULL, 0, NULL, false, "the title, not the description"},
	  {"--new-desc", "TEXT", 0, NULL, false, "set it (\"\" removes it)"},
	  {"--edit", NULL, 0, NULL, false, "edit it in $EDITOR"},
	  {"--live", NULL, 0, NULL, false, "the running network"},
	  {"--config", NULL, 0, NULL, false, "the definition"},
	  {"--current", NULL, 0, NULL, false,
	   "the running network if active, else the definition (default)"}}},
	{"net-metadata",
	 c_metadata,
	 "Networks",
	 "show or set an application's <metadata> element",
	 {NET_ARG,
	  {"URI", NULL, CTL_TEXT, NULL, false, "the element's namespace"},
	  {"--key", "PREFIX", 0, NULL, false,
	   "the namespace prefix to write it with"},
	  {"--set", "XML", 0, NULL, false, "set it to this element"},
	  {"--remove", NULL, 0, NULL, false, "remove it"},
	  {"--edit", NULL, 0, NULL, false, "edit it in $EDITOR"},
	  {"--live", NULL, 0, NULL, false, "the running network"},
	  {"--config", NULL, 0, NULL, false, "the definition"},
	  {"--current", NULL, 0, NULL, false,
	   "the running network if active, else the definition (default)"}}},
	{"net-uuid", c_uuid, "Networks", "print a network's UUID", {NET_ARG}},
	{"net-name",
	 c_name,
	 "Networks",
	 "print a network's name",
	 {{"UUID", NULL, CTL_TEXT, NULL, false, "the network's UUID"}}},
	{"net-dhcp-leases",
	 c_leases,
	 "Networks",
	 "DHCP leases dnsmasq has handed out",
	 {NET_ARG, {"--mac", "MAC", 0, NULL, false, "only this MAC's leases"}}},
	{"net-event",
	 c_event,
	 "Networks",
	 "print networks' events as they happen (lifecycle, port)",
	 {{"--network", "NETWORK", CTL_NETWORK, NULL, false,
	   "only this network's events"},
	  {"--event", "EVENT", CTL_WORDS, "lifecycle port", false,
	   "this kind of event: lifecycle (the default) or port (ports "
	   "added and removed, foreign ones included)"},
	  {"--all", NULL, 0, NULL, false, "every kind of event"},
	  {"--loop", NULL, 0, NULL, false, "go on after the first event"},
	  {"--timeout", "SECONDS", 0, NULL, false, "stop after this long"},
	  {"--timestamp", NULL, 0, NULL, false, "print when each event came"},
	  {"--list", NULL, 0, NULL, false, "list the kinds of event"}}},
	{"port-create",
	 c_port_create,
	 "Ports",
	 "a guest port: TAP, VF or macvtap, its MAC and IP pinned",
	 {NET("the port's network: its name or UUID"),
	  {"--mac", "MAC", 0, NULL, false,
	   "the guest's MAC (default: its reservation's, else a random one)"},
	  {"--ip", "ADDR", 0, NULL, false,
	   "the guest's IPv4 address, reserved while the port lives"},
	  {"--name", "VM", 0, NULL, false, "the guest's name"},
	  {"--queues", "N", 0, NULL, false, "TAP queues (multiqueue)"},
	  {"--isolated", NULL, 0, NULL, false,
	   "no traffic with other isolated ports"},
	  {"--persist", "IFNAME", 0, NULL, false,
	   "a named TAP that outlives netctl, for runners that open it by "
	   "name"},
	  {"--no-filter", NULL, 0, NULL, false,
	   "no MAC/IP guard (the guest may send as any address)"},
	  {"--portgroup", "PG", 0, NULL, false,
	   "take VLAN and bandwidth from this portgroup"},
	  {"--vlan", "ID", 0, NULL, false, "the port's VLAN tag"},
	  {"--vlan-proto", "PROTO", CTL_WORDS, "802.1Q 802.1ad", false,
	   "the VLAN's protocol"},
	  {"--rate", "MBITS", 0, NULL, false,
	   "a rate limit: each way for a TAP, what it sends for a VF"},
	  {"--keep", NULL, 0, NULL, false,
	   "keep the port until port-delete (VFs, passthrough)"},
	  {"--exec", NULL, CTL_COMMAND, NULL, false,
	   "-- CMD ARGS...: run CMD with the port's fds at 3, 4, ... "
	   "(NETD_PORT_FDS, NETD_PORT_MAC, NETD_PORT_IP, NETD_PORT_TAP in "
	   "its environment); the port lives as long as CMD, whose exit "
	   "status netctl returns"}}},
	{"port-list",
	 c_port_list,
	 "Ports",
	 "list ports",
	 {{"NETWORK", NULL, CTL_NETWORK, NULL, true,
	   "only this network's ports"}}},
	{"port-info", c_port_info, "Ports", "show a port", {PORT_ARG}},
	{"port-delete",
	 c_port_delete,
	 "Ports",
	 "remove ports (any number at once) and what they held",
	 {{"PORT...", NULL, CTL_PORT, NULL, false,
	   "the ports, each by UUID, TAP or name (several go in one kernel "
	   "batch)"}}},
	{"net-port-create",
	 ctl_net_port_create,
	 "Ports",
	 "a port from libvirt's port XML, kept until deleted",
	 {NET("the port's network: its name or UUID"),
	  {"FILE", NULL, CTL_FILE, "xml", false,
	   "the <networkport> XML (uuid, owner, mac; group, vlan, port)"},
	  {"--validate", NULL, 0, NULL, false,
	   "refuse what netd cannot do (it always does)"}}},
	{"net-port-list",
	 ctl_net_port_list,
	 "Ports",
	 "the UUIDs of a network's ports",
	 {NET_ARG,
	  {"--uuid", NULL, 0, NULL, false, "the UUIDs alone, no table"},
	  {"--table", NULL, 0, NULL, false, "the table (the default)"}}},
	{"net-port-dumpxml",
	 ctl_net_port_dumpxml,
	 "Ports",
	 "a port in libvirt's network port XML",
	 {NET_ARG, PORT_ARG}},
	{"net-port-delete",
	 ctl_net_port_delete,
	 "Ports",
	 "remove a network's port",
	 {NET_ARG, PORT_ARG}},
	{"lab up",
	 ctl_lab_up,
	 "Labs",
	 "start a lab (or bring a running one to its file)",
	 {{"FILE", NULL, CTL_FILE, "xml", false, "the lab file"},
	  {"--timeout", "SECONDS", 0, NULL, false,
	   "how long to wait for every guest's address (default 300)"},
	  {"--no-wait", NULL, 0, NULL, false, "return once it is started"}}},
	{"lab down",
	 ctl_lab_down,
	 "Labs",
	 "stop a lab's guests, remove its networks",
	 {{"NAME", NULL, CTL_LAB, NULL, false, "the lab's name or its file"}}},
	{"lab status",
	 ctl_lab_status,
	 "Labs",
	 "a lab's guests and addresses",
	 {{"NAME", NULL, CTL_LAB, NULL, true, "the lab (default: all)"}}},
	{"lab list", ctl_lab_list, "Labs", "the labs netd runs", {{NULL}}},
	{"lab console",
	 ctl_lab_console,
	 "Labs",
	 "a guest's serial console (read-write on a terminal)",
	 {LAB_ARG,
	  {"GUEST", NULL, CTL_TEXT, NULL, false, "the guest's name"},
	  {"--follow", NULL, 0, NULL, false, "go on printing as it comes"},
	  {"-f", NULL, 0, NULL, false, "the same as --follow"},
	  {"--attach", NULL, 0, NULL, false,
	   "attach read-write even when stdin is no terminal"},
	  {"--log", NULL, 0, NULL, false,
	   "print what it printed, even on a terminal"}}},
	{"lab graph",
	 ctl_lab_graph,
	 "Labs",
	 "draw a lab",
	 {LAB_ARG,
	  {"--format", "F", CTL_WORDS, "dot svg mermaid", false,
	   "dot, svg or mermaid (required)"}}},
	{"lab export",
	 ctl_lab_export,
	 "Labs",
	 "a lab's guests for other tools",
	 {LAB_ARG,
	  {"--format", "F", CTL_WORDS, "json hosts ansible", false,
	   "json, hosts or ansible (required)"}}},
	{"sriov-list",
	 c_sriov_list,
	 "SR-IOV",
	 "SR-IOV physical functions and their VFs",
	 {{"PF", NULL, CTL_PF, NULL, true, "only this physical function"}}},
	{"sriov-set-numvfs",
	 c_sriov_numvfs,
	 "SR-IOV",
	 "enable N VFs on a PF (0: none; not while in use)",
	 {{"PF", NULL, CTL_PF, NULL, false, "the physical function"},
	  {"N", NULL, CTL_TEXT, NULL, false, "how many VFs"}}},
	{"doctor",
	 c_doctor,
	 "Host",
	 "check the host for what breaks virtual networks",
	 {{NULL}}},
	{"version",
	 c_version,
	 "Host",
	 "print netctl's and netd's versions",
	 {{NULL}}},
	{"help",
	 c_help,
	 "Host",
	 "this list, or one command's arguments",
	 {{"COMMAND", NULL, CTL_WORDS, NULL, true, "the command"}}},
};

static const struct ctl_arg globals[] = {
	{"--socket", "PATH", CTL_FILE, NULL, false, "netd's socket"},
	{"--json", NULL, 0, NULL, false, "results as JSON"},
	{"--version", NULL, 0, NULL, false, "netctl's version"},
	{"--help", NULL, 0, NULL, false, "this list"},
};

static const struct ctl_table table = {cmds, NF_ARRAY_SIZE(cmds), globals,
				       NF_ARRAY_SIZE(globals)};

static int c_help(int argc, char **argv)
{
	return ctl_help(&table, argc, argv);
}

/* names netd knows, for completion */
static void list_names(enum ctl_kind kind, const char *prefix)
{
	static const enum nf_cmd req[] = {[CTL_NETWORK] = NF_CMD_NET_LIST,
					  [CTL_PORT] = NF_CMD_PORT_LIST,
					  [CTL_LAB] = NF_CMD_LAB_STATUS,
					  [CTL_PF] = NF_CMD_SRIOV_LIST};
	static const char *const keys[][3] = {
		[CTL_NETWORK] = {"name"},
		[CTL_PORT] = {"name", "tap", "uuid"},
		[CTL_LAB] = {"name"},
		[CTL_PF] = {"pf"}};
	json_t *r, *o;
	size_t i;
	if (kind >= NF_ARRAY_SIZE(keys) || !keys[kind][0] ||
	    ctl_call(req[kind], kind == CTL_LAB ? json_object() : NULL, &r))
		return;
	json_array_foreach (r, i, o)
		for (int k = 0; k < 3 && keys[kind][k]; k++) {
			const char *v = ctl_jstr(o, keys[kind][k]);
			if (*v && !strncmp(v, prefix, strlen(prefix)))
				printf("%s\n", v);
		}
	json_decref(r);
}

/* netctl complete -- WORDS: what the shell may offer for the last word */
static int c_complete(int argc, char **argv)
{
	int k = 1;
	if (k < argc && !strcmp(argv[k], "--"))
		k++;
	for (int i = k + 1; i < argc; i++) /* the line's own --socket */
		if (!strcmp(argv[i - 1], "--socket") && i + 1 < argc)
			sock_path = argv[i];
	if (k < argc)
		ctl_complete(&table, argc - k, argv + k, list_names);
	return 0;
}
int main(int argc, char **argv)
{
	char **rest = calloc((size_t)argc + 1, sizeof(char *));
	int n = 0;
	sock_path = getenv("NETD_SOCKET");
	if (!sock_path || !*sock_path)
		sock_path = "/run/netd/netd.sock";
	/* options before the command are netctl's own */
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--json")) {
			ctl_opt_json = true;
		} else if (!strcmp(argv[i], "--socket")) {
			if (++i == argc)
				return ctl_die_usage("--socket needs a path");
			sock_path = argv[i];
		} else if (!strncmp(argv[i], "--socket=", 9)) {
			sock_path = argv[i] + 9;
		} else if (!strcmp(argv[i], "--help") ||
			   !strcmp(argv[i], "-h")) {
			return c_help(0, NULL);
		} else if (!strcmp(argv[i], "--version") ||
			   !strcmp(argv[i], "-V")) {
			printf("netctl %s\n", NF_VERSION);
			return 0;
		} else {
			return ctl_die_usage("unknown option '%s' before the "
					     "command; 'netctl help' lists "
					     "them",
					     argv[i]);
		}
	}
	/* --json after the command too, as before */
	for (; i < argc; i++)
		if (!strcmp(argv[i], "--json"))
			ctl_opt_json = true;
		else
			rest[n++] = argv[i];
	if (n == 0) {
		c_help(0, NULL);
		return EX_USAGE;
	}
	if (!strcmp(rest[0], "complete"))
		return c_complete(n, rest);
	if (!strcmp(rest[0], "help") && (n == 1 || rest[1][0] != '-'))
		return c_help(n, rest); /* help lab up: any words */
	int words, outc, r;
	const struct ctl_cmd *c = ctl_find(&table, n, rest, &words);
	if (!c) {
		r = ctl_unknown(&table, n, rest);
	} else {
		char **out = calloc(2 * (size_t)n + 1, sizeof(char *));
		r = ctl_args_check(c, n, rest, words, out, &outc);
		if (r == 1)
			r = 0; /* it printed its help */
		else if (r == 0)
			r = c->fn(outc, out);
		free(out);
	}
	free(rest);
	return r;
}
