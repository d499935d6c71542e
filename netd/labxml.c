#define _GNU_SOURCE
#include "labxml.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

/* ------------------------------------------------------------ helpers */

static const char *attr(xmlNodePtr n, const char *name)
{
	xmlAttrPtr a = n ? xmlHasProp(n, (const xmlChar *)name) : NULL;
	return a && a->children ? (const char *)a->children->content
				: (a ? "" : NULL);
}

static bool is(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE &&
	       !strcmp((const char *)n->name, name);
}

#define FOR_ELEM(c, parent)                                                    \
	for (xmlNodePtr c = (parent)->children; c; c = c->next)                \
		if (c->type == XML_ELEMENT_NODE)

struct ctx {
	const char *what, *dir;
	struct nf_buf *errs;
	unsigned nerrs;
	/* networks whose own errors are told: no follow-on errors for them */
	const char **failed;
	size_t nfailed;
};

static void bad(struct ctx *c, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void bad(struct ctx *c, int line, const char *fmt, ...)
{
	va_list ap;
	nf_buf_printf(c->errs, "%s:%d: ", c->what, line);
	va_start(ap, fmt);
	nf_buf_vprintf(c->errs, fmt, ap);
	va_end(ap);
	nf_buf_printf(c->errs, "\n");
	c->nerrs++;
}

/* e has only the attributes in allowed (NULL-terminated); each other one
 * is an error that lists them. */
static void only_attrs(struct ctx *c, xmlNodePtr e, const char *const *allowed)
{
	for (xmlAttrPtr a = e->properties; a; a = a->next) {
		const char *name = (const char *)a->name;
		bool ok = false;
		for (size_t i = 0; allowed[i] && !ok; i++)
			ok = !strcmp(name, allowed[i]);
		if (ok)
			continue;
		struct nf_buf list = {0};
		for (size_t i = 0; allowed[i]; i++)
			nf_buf_printf(&list, "%s%s=", i ? ", " : "",
				      allowed[i]);
		bad(c, (int)xmlGetLineNo(e),
		    "<%s> has no attribute %s= (it takes %s)",
		    (const char *)e->name, name, list.s ? list.s : "none");
		nf_buf_free(&list);
	}
}

static bool failed_net(const struct ctx *c, const char *name)
{
	for (size_t i = 0; i < c->nfailed; i++)
		if (!strcmp(c->failed[i], name))
			return true;
	return false;
}

/* Names become file names (STATE_DIR/labs/NAME) and links: letters,
 * digits, '-', '_', '.', starting with a letter or digit, so that '.' and
 * '..' and hidden files are never among them. */
static bool good_name(const char *s, size_t max)
{
	if (!s || !*s || strlen(s) > max || !isalnum((unsigned char)*s))
		return false;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || strchr("-_.", *s)))
			return false;
	return true;
}

/* "16M", "1G", "512" (MiB); 0 when bad. */
static unsigned parse_mib(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (end == s)
		return 0;
	if (*end == 'G' || *end == 'g')
		v *= 1024, end++;
	else if (*end == 'M' || *end == 'm')
		end++;
	return *end || v > 65536 ? 0 : (unsigned)v;
}

/* An image path as a qcow2 overlay records it (its backing file name):
 * printable, within what the format holds. */
#define LAB_IMAGE_PATH_MAX 1023
static bool good_path(const char *p)
{
	size_t n = strlen(p);
	if (!n || n > LAB_IMAGE_PATH_MAX)
		return false;
	for (const unsigned char *u = (const unsigned char *)p; *u; u++)
		if (*u < 0x20 || *u == 0x7f)
			return false;
	return true;
}

static enum lab_image_format image_format(struct ctx *c, int line,
					  const char *f)
{
	if (!f)
		return LAB_IMAGE_DETECT;
	if (!strcmp(f, "raw"))
		return LAB_IMAGE_RAW;
	if (!strcmp(f, "qcow2"))
		return LAB_IMAGE_QCOW2;
	bad(c, line, "image-format='%s': raw or qcow2", f);
	return LAB_IMAGE_DETECT;
}

static char *path_in(const char *dir, const char *p)
{
	char *out;
	if (!p)
		return NULL;
	if (p[0] == '/' || !dir)
		return nf_xstrdup(p);
	if (asprintf(&out, "%s/%s", dir, p) < 0)
		abort();
	return out;
}

/* base + i in the last three bytes (a MAC) or the whole address (IPv4)
 * or the last 32 bits (IPv6); false when it overflows. */
static bool mac_plus(const char *base, unsigned i, char out[18])
{
	uint8_t m[6];
	if (nf_mac_parse(base, m) < 0)
		return false;
	uint32_t low = (uint32_t)m[3] << 16 | m[4] << 8 | m[5];
	if (low + i > 0xffffff)
		return false;
	low += i;
	m[3] = (uint8_t)(low >> 16), m[4] = (uint8_t)(low >> 8),
	m[5] = (uint8_t)low;
	nf_mac_format(m, out);
	return true;
}

static bool ip_plus(struct nf_addr *a, unsigned i)
{
	uint8_t *b = a->b + (a->family == AF_INET ? 0 : 12);
	uint32_t v = (uint32_t)b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3];
	if (v + i < v)
		return false;
	v += i;
	b[0] = (uint8_t)(v >> 24), b[1] = (uint8_t)(v >> 16),
	b[2] = (uint8_t)(v >> 8), b[3] = (uint8_t)v;
	return true;
}

/* A MAC that stays the same across runs: 52:54:00 and a hash. */
static void mac_auto(const char *lab, const char *guest, size_t idx,
		     char out[18])
{
	uint32_t h = 2166136261u;
	for (const char *s = lab; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	h = (h ^ '/') * 16777619u;
	for (const char *s = guest; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	h = (h ^ (uint8_t)idx) * 16777619u;
	uint8_t m[6] = {
		0x52,	   0x54, 0x00, (uint8_t)(h >> 16), (uint8_t)(h >> 8),
		(uint8_t)h};
	nf_mac_format(m, out);
}

/* The guest name for member i (1-based) of a group of count. */
/* Member i of a group: NAME1..NAMEN when count= is given (even count='1',
 * so a group that shrinks to one keeps its first member), {i} replaced
 * when the name holds it, the name itself for a guest without count=. */
static void member_name(const char *tmpl, unsigned i, bool counted, char *out,
			size_t n)
{
	const char *at = strstr(tmpl, "{i}");
	if (at)
		snprintf(out, n, "%.*s%u%s", (int)(at - tmpl), tmpl, i, at + 3);
	else if (counted)
		snprintf(out, n, "%s%u", tmpl, i);
	else
		snprintf(out, n, "%s", tmpl);
}

/* ----------------------------------------------------------- elements */

struct defaults {
	const char *kernel, *initrd, *cmdline, *image, *image_format;
	const char *cloud_init, *ssh_keys, *user_data;
	char **keys;
	size_t nkeys;
	unsigned mem_mib, cpus;
};

static void add_net(struct lab *l, const char *name, struct netxml *nx,
		    bool ref, int line)
{
	struct lab_net n = {.nx = nx, .ref = ref, .line = line};
	snprintf(n.name, sizeof(n.name), "%s", name);
	NF_APPEND(l->nets, l->nnets, n);
}

static void parse_network(struct ctx *c, struct lab *l, xmlNodePtr e)
{
	static const char *const attrs[] = {"name", "ref", NULL};
	const char *name = attr(e, "name"), *ref = attr(e, "ref");
	int ln = (int)xmlGetLineNo(e);
	only_attrs(c, e, attrs);
	if (ref) {
		if (name || e->children)
			bad(c, ln,
			    "<network ref='%s'> names a network the "
			    "host has; it takes no name= or content",
			    ref);
		else if (!good_name(ref, 63))
			bad(c, ln, "ref='%s' is not a network name", ref);
		else
			add_net(l, ref, NULL, true, ln);
		return;
	}
	if (!good_name(name, 63)) {
		bad(c, ln,
		    "<network> needs name= (letters, digits, '-', '_', "
		    "'.') or ref=");
		return;
	}
	/* the lab's network element is a libvirt <network> whose name is an
	 * attribute: rebuild that document and let netxml judge it */
	struct nf_buf b = {0};
	xmlBufferPtr xb = xmlBufferCreate();
	nf_buf_printf(&b, "<network><name>%s</name>", name);
	/* a lab's bridges run without STP unless they ask for it: with
	 * STP each new guest port waits twice the forward delay (4 s at
	 * the kernel's minimum) before it passes a frame */
	bool bridge = false;
	for (xmlNodePtr k = e->children; k; k = k->next)
		if (is(k, "bridge")) {
			bridge = true;
			if (!attr(k, "stp"))
				xmlSetProp(k, (const xmlChar *)"stp",
					   (const xmlChar *)"off");
		}
	if (!bridge)
		nf_buf_printf(&b, "<bridge stp='off'/>");
	for (xmlNodePtr k = e->children; k; k = k->next) {
		if (is(k, "name")) {
			bad(c, (int)xmlGetLineNo(k),
			    "network '%s': give its name as name= only", name);
			goto out;
		}
		xmlBufferEmpty(xb);
		xmlNodeDump(xb, e->doc, k, 0, 0);
		nf_buf_add(&b, (const char *)xmlBufferContent(xb),
			   (size_t)xmlBufferLength(xb));
	}
	nf_buf_printf(&b, "</network>");
	struct netxml *nx;
	struct nf_err ne;
	char what[128];
	snprintf(what, sizeof(what), "network '%s'", name);
	if (netxml_parse(b.s, b.len, what, &nx, &ne) < 0) {
		bad(c, ln, "%s", ne.msg);
		NF_APPEND(c->failed, c->nfailed, name);
	} else {
		add_net(l, name, nx, false, ln);
	}
out:
	xmlBufferFree(xb);
	nf_buf_free(&b);
}

/* A guest's <interface>, before its group is expanded. */
struct if_tmpl {
	const char *net, *mac;
	struct nf_addr ip;
	int line;
};

bool lab_ssh_key_ok(const char *line)
{
	size_t n = strlen(line), t = strcspn(line, " ");
	if (!n || n > 8192 || !t || line[t] != ' ')
		return false;
	for (size_t i = 0; i < n; i++)
		if (line[i] < 0x20 || line[i] > 0x7e)
			return false;
	for (size_t i = 0; i < t; i++) /* ssh-ed25519, sk-...@openssh.com */
		if (!isalnum((unsigned char)line[i]) && !strchr("-@.", line[i]))
			return false;
	const char *b = line + t + 1;
	size_t bl = strcspn(b, " ");
	if (bl < 16)
		return false;
	for (size_t i = 0; i < bl; i++)
		if (!isalnum((unsigned char)b[i]) && !strchr("+/=", b[i]))
			return false;
	return true;
}

int lab_ssh_keys_parse(const char *text, char ***keys, size_t *n, char *why,
		       size_t whylen)
{
	char **got = NULL;
	size_t ng = 0, line = 0;
	for (const char *p = text; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char *k = nf_xcalloc(1, len + 1);
		memcpy(k, p, len);
		line++;
		k[strcspn(k, "\r")] = '\0';
		char *t = k + strspn(k, " \t");
		if (*t && *t != '#' && !lab_ssh_key_ok(t)) {
			snprintf(why, whylen,
				 "line %zu is not an SSH public key (TYPE "
				 "BASE64 "
				 "[COMMENT], printable)",
				 line);
			free(k);
			for (size_t i = 0; i < ng; i++)
				free(got[i]);
			free(got);
			return -EINVAL;
		}
		if (*t && *t != '#')
			NF_APPEND(got, ng, nf_xstrdup(t));
		free(k);
		p = nl ? nl + 1 : NULL;
	}
	for (size_t i = 0; i < ng; i++)
		NF_APPEND(*keys, *n, got[i]);
	free(got);
	return 0;
}

/* The <ssh-key> children of e, appended to *keys. */
static void parse_keys(struct ctx *c, xmlNodePtr e, char ***keys, size_t *n)
{
	FOR_ELEM(x, e)
	{
		if (!is(x, "ssh-key"))
			continue;
		xmlChar *v = xmlNodeGetContent(x);
		char *k = nf_xstrdup(v ? (const char *)v : "");
		xmlFree(v);
		char *t = k + strspn(k, " \t\n");
		size_t l = strlen(t);
		while (l && strchr(" \t\n", t[l - 1]))
			t[--l] = '\0';
		if (lab_ssh_key_ok(t))
			NF_APPEND(*keys, *n, nf_xstrdup(t));
		else
			bad(c, (int)xmlGetLineNo(x),
			    "<ssh-key> is not an SSH public key (TYPE BASE64 "
			    "[COMMENT] on one line, printable)");
		free(k);
	}
}

static void free_keys(char **keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
}

/* The <interface> elements of <guest> e; how many. */
static size_t parse_ifs(struct ctx *c, xmlNodePtr e, const char *name,
			struct if_tmpl *ifs)
{
	size_t n = 0;
	FOR_ELEM(x, e)
	{
		int xl = (int)xmlGetLineNo(x);
		if (is(x, "ssh-key"))
			continue; /* parse_keys */
		if (!is(x, "interface")) {
			bad(c, xl,
			    "<guest> holds <interface> and <ssh-key> elements, "
			    "not <%s>",
			    (const char *)x->name);
			continue;
		}
		if (n == LAB_MAX_IFS) {
			bad(c, xl, "guest '%s': at most %d interfaces", name,
			    LAB_MAX_IFS);
			break;
		}
		static const char *const attrs[] = {"network", "mac", "ip",
						    NULL};
		const char *mac = attr(x, "mac"), *ipa = attr(x, "ip");
		uint8_t m[6];
		only_attrs(c, x, attrs);
		ifs[n] = (struct if_tmpl){attr(x, "network"), mac, {0}, xl};
		if (!ifs[n].net)
			bad(c, xl, "<interface> needs network=");
		if (mac && (nf_mac_parse(mac, m) < 0 || (m[0] & 1)))
			bad(c, xl, "mac='%s' is not a unicast MAC", mac);
		if (ipa && nf_addr_parse(ipa, &ifs[n].ip) < 0)
			bad(c, xl, "ip='%s' is not an IP address", ipa);
		n++;
	}
	return n;
}

/* Member i of a group: its interfaces count up from the template's MAC
 * and IP (i - 1 on), or get a MAC derived from lab and guest name. */
static void member_ifs(struct ctx *c, const struct lab *l, struct lab_guest *m,
		       unsigned i, const struct if_tmpl *ifs, size_t nifs)
{
	for (size_t f = 0; f < nifs; f++) {
		struct lab_if *o = &m->ifs[m->nifs++];
		snprintf(o->network, sizeof(o->network), "%s",
			 ifs[f].net ? ifs[f].net : "");
		o->line = ifs[f].line;
		o->ip = ifs[f].ip;
		if (!ifs[f].mac)
			mac_auto(l->name, m->name, f, o->mac);
		else if (!mac_plus(ifs[f].mac, i - 1, o->mac))
			bad(c, o->line, "mac='%s' + %u runs out of addresses",
			    ifs[f].mac, i - 1);
		if (o->ip.family && !ip_plus(&o->ip, i - 1))
			bad(c, o->line, "ip + %u runs out of addresses", i - 1);
	}
}

/* <guest>'s own attributes over the defaults: count, memory, cpus;
 * false when the guest cannot be expanded at all. */
static bool guest_attrs(struct ctx *c, xmlNodePtr e, const struct defaults *d,
			struct lab_guest *g, unsigned *count)
{
	static const char *const attrs[] = {
		"name",		"count",  "memory",	"cpus",
		"kernel",	"initrd", "cmdline",	"image",
		"image-format", "keep",	  "cloud-init", "ssh-keys",
		"user-data",	NULL};
	int ln = (int)xmlGetLineNo(e);
	const char *name = attr(e, "name"), *cnt = attr(e, "count"),
		   *mem = attr(e, "memory"), *cpus = attr(e, "cpus");
	char *end;
	only_attrs(c, e, attrs);
	*count = 1;
	*g = (struct lab_guest){
		.mem_mib = d->mem_mib, .cpus = d->cpus, .line = ln};
	if (!name || !*name) {
		bad(c, ln, "<guest> needs name=");
		return false;
	}
	if (cnt) {
		unsigned long v = strtoul(cnt, &end, 10);
		if (*end || v < 1 || v > LAB_MAX_GUESTS) {
			bad(c, ln, "count='%s': give 1..%d", cnt,
			    LAB_MAX_GUESTS);
			return false;
		}
		*count = (unsigned)v;
	}
	if (mem && !(g->mem_mib = parse_mib(mem)))
		bad(c, ln, "memory='%s' is not a size (16M, 1G)", mem);
	const char *keep = attr(e, "keep");
	if (keep && strcmp(keep, "yes") && strcmp(keep, "no"))
		bad(c, ln, "keep='%s': yes or no", keep);
	g->keep = keep && !strcmp(keep, "yes");
	if (cpus) {
		unsigned long v = strtoul(cpus, &end, 10);
		if (*end || v < 1 || v > 64)
			bad(c, ln, "cpus='%s': give 1..64", cpus);
		g->cpus = (unsigned)v;
	}
	return true;
}

/* <guest name= [count=]>: count members named from name ({i} or a
 * number appended), each with the group's kernel, memory and interfaces. */
static void parse_guests(struct ctx *c, struct lab *l, xmlNodePtr e,
			 const struct defaults *d)
{
	const char *name = attr(e, "name");
	struct lab_guest g;
	unsigned count;
	if (!guest_attrs(c, e, d, &g, &count))
		return;
	const char *k = attr(e, "kernel") ? attr(e, "kernel") : d->kernel,
		   *ird = attr(e, "initrd") ? attr(e, "initrd") : d->initrd,
		   *cmd = attr(e, "cmdline") ? attr(e, "cmdline") : d->cmdline,
		   *img = attr(e, "image") ? attr(e, "image") : d->image,
		   *fmt = attr(e, "image-format") ? attr(e, "image-format")
						  : d->image_format;
	enum lab_image_format f = image_format(c, g.line, fmt);
	if (img && !good_path(img))
		bad(c, g.line,
		    "image='%s': a path of printable characters, at most "
		    "%d",
		    img, LAB_IMAGE_PATH_MAX);
	if (g.keep && !img)
		bad(c, g.line, "keep='yes' is for a guest with image=");
	const char *ci = attr(e, "cloud-init") ? attr(e, "cloud-init")
					       : d->cloud_init,
		   *sk = attr(e, "ssh-keys") ? attr(e, "ssh-keys")
					     : d->ssh_keys,
		   *ud = attr(e, "user-data") ? attr(e, "user-data")
					      : d->user_data;
	char **keys = NULL;
	size_t nkeys = 0;
	for (size_t i = 0; i < d->nkeys; i++)
		NF_APPEND(keys, nkeys, nf_xstrdup(d->keys[i]));
	parse_keys(c, e, &keys, &nkeys);
	if (ci && strcmp(ci, "yes") && strcmp(ci, "no"))
		bad(c, g.line, "cloud-init='%s': yes or no", ci);
	bool ci_on = ci ? !strcmp(ci, "yes") : sk || ud || nkeys;
	if (ci && !strcmp(ci, "no") &&
	    (attr(e, "ssh-keys") || attr(e, "user-data")))
		bad(c, g.line, "cloud-init='no' with ssh-keys= or user-data=");
	const char *files[] = {sk, ud};
	for (size_t i = 0; i < 2; i++)
		if (files[i] && !good_path(files[i]))
			bad(c, g.line,
			    "'%s': a path of printable characters, at most %d",
			    files[i], LAB_IMAGE_PATH_MAX);
	/* opened by the client, with its user's rights (lab_files) */
	char *kp = path_in(c->dir, k), *ip = path_in(c->dir, ird),
	     *mp = path_in(c->dir, img), *skp = path_in(c->dir, sk),
	     *udp = path_in(c->dir, ud);
	struct if_tmpl ifs[LAB_MAX_IFS];
	size_t nifs = parse_ifs(c, e, name, ifs);
	for (unsigned i = 1; i <= count; i++) {
		struct lab_guest m = g;
		member_name(name, i, attr(e, "count") != NULL, m.name,
			    sizeof(m.name));
		if (!good_name(m.name, 40)) {
			bad(c, g.line,
			    "guest name '%s' is not a name (letters, "
			    "digits, '-', '_', '.'; at most 40)",
			    m.name);
			break;
		}
		m.kernel = kp ? nf_xstrdup(kp) : NULL;
		m.initrd = ip ? nf_xstrdup(ip) : NULL;
		m.cmdline = cmd ? nf_xstrdup(cmd) : NULL;
		m.image = mp ? nf_xstrdup(mp) : NULL;
		m.image_format = f;
		m.ci_on = ci_on;
		m.ssh_keys = ci_on && skp ? nf_xstrdup(skp) : NULL;
		m.user_data = ci_on && udp ? nf_xstrdup(udp) : NULL;
		m.keys = NULL;
		m.nkeys = 0;
		for (size_t k2 = 0; ci_on && k2 < nkeys; k2++)
			NF_APPEND(m.keys, m.nkeys, nf_xstrdup(keys[k2]));
		member_ifs(c, l, &m, i, ifs, nifs);
		NF_APPEND(l->guests, l->nguests, m);
		if (l->nguests > LAB_MAX_GUESTS) {
			bad(c, g.line, "a lab holds at most %d guests",
			    LAB_MAX_GUESTS);
			break;
		}
	}
	free(kp);
	free(ip);
	free(mp);
	free(skp);
	free(udp);
	free_keys(keys, nkeys);
}

/* <link a= b= subnet=a.b.c.d/P [name=]>: a two-guest isolated network;
 * the host takes .1, a .2, b .3, DHCP offers the rest. */
static void parse_link(struct ctx *c, struct lab *l, xmlNodePtr e)
{
	int ln = (int)xmlGetLineNo(e);
	static const char *const attrs[] = {"a", "b", "subnet", "name", NULL};
	const char *a = attr(e, "a"), *b = attr(e, "b"),
		   *sub = attr(e, "subnet"), *nm = attr(e, "name");
	only_attrs(c, e, attrs);
	char name[64], net[64], addr[INET_ADDRSTRLEN], lo[INET_ADDRSTRLEN],
		hi[INET_ADDRSTRLEN];
	struct nf_addr base;
	int prefix = -1;
	if (!a || !b || !sub) {
		bad(c, ln, "<link> needs a=, b= and subnet=");
		return;
	}
	snprintf(net, sizeof(net), "%s", sub);
	char *slash = strchr(net, '/');
	if (slash) {
		*slash = 0;
		prefix = atoi(slash + 1);
	}
	if (nf_addr_parse(net, &base) < 0 || base.family != AF_INET ||
	    prefix < 16 || prefix > 29 ||
	    !nf_addr_host_bits_zero(&base, prefix)) {
		bad(c, ln, "subnet='%s': give an IPv4 network, /16 to /29",
		    sub);
		return;
	}
	snprintf(name, sizeof(name), "%s-%s-%s", l->name, a, b);
	if (nm)
		snprintf(name, sizeof(name), "%s", nm);
	if (!good_name(name, 63)) {
		bad(c, ln, "link network name '%s' is not a name", name);
		return;
	}
	struct nf_addr host = base, first = base, last = base;
	ip_plus(&host, 1);
	ip_plus(&first, 4);
	ip_plus(&last, (1u << (32 - prefix)) - 2);
	nf_addr_format(&host, addr, sizeof(addr));
	nf_addr_format(&first, lo, sizeof(lo));
	nf_addr_format(&last, hi, sizeof(hi));
	char *xml;
	if (asprintf(&xml,
		     "<network><name>%s</name><bridge stp='off'/>"
		     "<ip address='%s' prefix='%d'>"
		     "<dhcp><range start='%s' end='%s'/></dhcp></ip>"
		     "</network>",
		     name, addr, prefix, lo, hi) < 0)
		abort();
	struct netxml *nx;
	struct nf_err ne;
	if (netxml_parse(xml, strlen(xml), "link", &nx, &ne) < 0)
		bad(c, ln, "%s", ne.msg);
	else
		add_net(l, name, nx, false, ln);
	free(xml);
	/* each end gets an interface on it, once the guests are known */
	const char *ends[2] = {a, b};
	for (int k = 0; k < 2; k++) {
		struct lab_guest *g = NULL;
		for (size_t i = 0; i < l->nguests; i++)
			if (!strcmp(l->guests[i].name, ends[k]))
				g = &l->guests[i];
		if (!g) {
			bad(c, ln, "link end '%s' is not a guest of this lab",
			    ends[k]);
			continue;
		}
		if (g->nifs == LAB_MAX_IFS) {
			bad(c, ln, "guest '%s': at most %d interfaces", g->name,
			    LAB_MAX_IFS);
			continue;
		}
		struct lab_if *o = &g->ifs[g->nifs];
		snprintf(o->network, sizeof(o->network), "%s", name);
		mac_auto(l->name, g->name, g->nifs, o->mac);
		o->ip = base;
		ip_plus(&o->ip, 2 + (unsigned)k);
		o->line = ln;
		g->nifs++;
	}
}

/* --------------------------------------------------------- validation */

static void check(struct ctx *c, struct lab *l)
{
	for (size_t i = 0; i < l->nnets; i++)
		for (size_t k = 0; k < i; k++) {
			const struct lab_net *a = &l->nets[i], *b = &l->nets[k];
			if (!strcmp(a->name, b->name))
				bad(c, a->line,
				    "network '%s' is already declared on line "
				    "%d",
				    a->name, b->line);
			for (size_t x = 0;
			     a->nx && b->nx && x < a->nx->def.nips; x++)
				for (size_t y = 0; y < b->nx->def.nips; y++)
					if (netxml_ips_overlap(
						    &a->nx->def.ips[x],
						    &b->nx->def.ips[y]))
						bad(c, a->line,
						    "network '%s' overlaps the "
						    "subnet of network '%s' "
						    "(line %d)",
						    a->name, b->name, b->line);
		}
	for (size_t i = 0; i < l->nguests; i++) {
		struct lab_guest *g = &l->guests[i];
		for (size_t k = 0; k < i; k++)
			if (!strcmp(g->name, l->guests[k].name)) {
				bad(c, g->line,
				    "guest '%s' is already declared on line %d",
				    g->name, l->guests[k].line);
				break;
			}
		if (!g->nifs)
			bad(c, g->line, "guest '%s' has no interface", g->name);
		for (size_t f = 0; f < g->nifs; f++) {
			struct lab_if *x = &g->ifs[f];
			char s[INET6_ADDRSTRLEN];
			const struct lab_net *n = lab_net_find(l, x->network);
			if (!x->network[0])
				continue;
			if (!n && failed_net(c, x->network))
				continue; /* its own errors are told */
			if (!n) {
				bad(c, x->line,
				    "guest '%s': network '%s' is not a network "
				    "of this lab (declare it, or <network "
				    "ref='%s'/>)",
				    g->name, x->network, x->network);
				continue;
			}
			/* MACs: unique in the lab; IPs: per network */
			for (size_t j = 0; j <= i; j++)
				for (size_t h = 0;
				     h < (j == i ? f : l->guests[j].nifs);
				     h++) {
					const struct lab_if *y =
						&l->guests[j].ifs[h];
					if (!strcmp(x->mac, y->mac))
						bad(c, x->line,
						    "guest '%s': MAC %s is "
						    "also guest '%s''s",
						    g->name, x->mac,
						    l->guests[j].name);
					if (x->ip.family &&
					    !strcmp(x->network, y->network) &&
					    !nf_addr_cmp(&x->ip, &y->ip)) {
						nf_addr_format(&x->ip, s,
							       sizeof(s));
						bad(c, x->line,
						    "guest '%s': %s on '%s' is "
						    "also guest '%s''s",
						    g->name, s, x->network,
						    l->guests[j].name);
					}
				}
			if (!x->ip.family || !n->nx)
				continue; /* ref networks: checked on the host
					   */
			nf_addr_format(&x->ip, s, sizeof(s));
			const struct netxml_ip *sn =
				netxml_ip_of(&n->nx->def, &x->ip);
			if (!sn)
				bad(c, x->line,
				    "guest '%s': %s is outside every subnet of "
				    "network '%s'",
				    g->name, s, x->network);
			else if (!nf_addr_cmp(&sn->address, &x->ip))
				bad(c, x->line,
				    "guest '%s': %s is the host's address on "
				    "'%s'",
				    g->name, s, x->network);
			else if (!sn->has_dhcp)
				bad(c, x->line,
				    "guest '%s': network '%s' has no <dhcp> on "
				    "the subnet of %s, so nothing hands it out",
				    g->name, x->network, s);
		}
	}
}

/* Each guest's pinned address becomes a <host> of the lab network that
 * hands it out, so dnsmasq knows every reservation from its start (no
 * reload per guest) and the network's XML shows them. */
static void pin_hosts(struct ctx *c, struct lab *l)
{
	for (size_t i = 0; i < l->nnets; i++) {
		struct netxml *nx = l->nets[i].nx;
		bool changed = false;
		if (!nx)
			continue;
		l->nets[i].base = netxml_format(nx);
		for (size_t g = 0; g < l->nguests; g++) {
			const struct lab_guest *gu = &l->guests[g];
			for (size_t f = 0; f < gu->nifs; f++) {
				const struct lab_if *x = &gu->ifs[f];
				const struct netxml_ip *sn;
				char ip[INET6_ADDRSTRLEN];
				if (strcmp(x->network, l->nets[i].name) ||
				    !x->ip.family ||
				    !(sn = netxml_ip_of(&nx->def, &x->ip)))
					continue;
				xmlNodePtr dhcp = NULL;
				for (xmlNodePtr k = sn->node->children; k;
				     k = k->next)
					if (is(k, "dhcp"))
						dhcp = k;
				if (!dhcp)
					continue;
				nf_addr_format(&x->ip, ip, sizeof(ip));
				xmlNodePtr h = xmlNewChild(
					dhcp, NULL, (const xmlChar *)"host",
					NULL);
				xmlNewProp(h, (const xmlChar *)"mac",
					   (const xmlChar *)x->mac);
				xmlNewProp(h, (const xmlChar *)"name",
					   (const xmlChar *)gu->name);
				xmlNewProp(h, (const xmlChar *)"ip",
					   (const xmlChar *)ip);
				changed = true;
			}
		}
		struct nf_err e;
		if (changed && netxml_refresh(nx, &e) < 0)
			bad(c, l->nets[i].line, "%s", e.msg);
	}
}

/* ---------------------------------------------------------------- API */

int labxml_parse(const char *buf, size_t len, const char *what, const char *dir,
		 struct lab **out, struct nf_buf *errs)
{
	struct ctx c = {.what = what, .dir = dir, .errs = errs};
	*out = NULL;
	xmlDocPtr doc = xmlReadMemory(buf, (int)len, what, NULL,
				      XML_PARSE_NONET | XML_PARSE_NOERROR |
					      XML_PARSE_NOWARNING);
	if (!doc) {
		const xmlError *x = xmlGetLastError();
		char msg[256];
		snprintf(msg, sizeof(msg), "%s",
			 x && x->message ? x->message : "?");
		msg[strcspn(msg, "\n")] = 0; /* libxml ends it with one */
		bad(&c, x ? x->line : 0, "not well-formed XML: %s", msg);
		return -EINVAL; /* *out NULL: nothing to check further */
	}
	xmlNodePtr root = xmlDocGetRootElement(doc);
	struct lab *l = nf_xcalloc(1, sizeof(*l));
	struct defaults d = {.mem_mib = 16, .cpus = 1};
	if (!root || !is(root, "lab")) {
		bad(&c, root ? (int)xmlGetLineNo(root) : 1,
		    "the root element must be <lab>");
		goto done;
	}
	static const char *const lab_attrs[] = {"name", NULL};
	static const char *const def_attrs[] = {
		"memory", "cpus",	  "kernel",	"initrd",   "cmdline",
		"image",  "image-format", "cloud-init", "ssh-keys", "user-data",
		NULL};
	static const char *const no_attrs[] = {NULL};
	only_attrs(&c, root, lab_attrs);
	const char *name = attr(root, "name");
	if (!good_name(name, 32))
		bad(&c, (int)xmlGetLineNo(root),
		    "<lab> needs name= (letters, digits, '-', '_', '.', "
		    "starting with a letter or digit; at most 32)");
	else
		snprintf(l->name, sizeof(l->name), "%s", name);
	FOR_ELEM(e, root)
	{
		if (is(e, "description"))
			only_attrs(&c, e, no_attrs);
		if (!is(e, "defaults"))
			continue;
		only_attrs(&c, e, def_attrs);
		const char *m = attr(e, "memory"), *cp = attr(e, "cpus");
		if (m && !(d.mem_mib = parse_mib(m)))
			bad(&c, (int)xmlGetLineNo(e),
			    "memory='%s' is not a size", m);
		if (cp && (atoi(cp) < 1 || atoi(cp) > 64))
			bad(&c, (int)xmlGetLineNo(e), "cpus='%s': give 1..64",
			    cp);
		else if (cp)
			d.cpus = (unsigned)atoi(cp);
		d.kernel = attr(e, "kernel");
		d.initrd = attr(e, "initrd");
		d.cmdline = attr(e, "cmdline");
		d.image = attr(e, "image");
		d.image_format = attr(e, "image-format");
		d.cloud_init = attr(e, "cloud-init");
		d.ssh_keys = attr(e, "ssh-keys");
		d.user_data = attr(e, "user-data");
		FOR_ELEM(x, e)
		if (!is(x, "ssh-key"))
			bad(&c, (int)xmlGetLineNo(x),
			    "<defaults> holds <ssh-key> elements, not <%s>",
			    (const char *)x->name);
		parse_keys(&c, e, &d.keys, &d.nkeys);
	}
	FOR_ELEM(e, root)
	{
		if (is(e, "network"))
			parse_network(&c, l, e);
		else if (is(e, "guest"))
			parse_guests(&c, l, e, &d);
		else if (!is(e, "defaults") && !is(e, "link") &&
			 !is(e, "description"))
			bad(&c, (int)xmlGetLineNo(e),
			    "<%s> is not part of a lab (defaults, network, "
			    "guest, link)",
			    (const char *)e->name);
	}
	FOR_ELEM(e, root)
	if (is(e, "link"))
		parse_link(&c, l, e);
	check(&c, l);
	if (!c.nerrs)
		pin_hosts(&c, l);
done:
	free_keys(d.keys, d.nkeys);
	free(c.failed);
	*out = l;
	xmlFreeDoc(doc);
	return c.nerrs ? -EINVAL : 0;
}

void labxml_free(struct lab *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->nnets; i++) {
		netxml_free(l->nets[i].nx);
		free(l->nets[i].base);
	}
	for (size_t i = 0; i < l->nguests; i++) {
		free(l->guests[i].kernel);
		free(l->guests[i].initrd);
		free(l->guests[i].cmdline);
		free(l->guests[i].image);
		free(l->guests[i].ssh_keys);
		free(l->guests[i].user_data);
		free_keys(l->guests[i].keys, l->guests[i].nkeys);
	}
	free(l->nets);
	free(l->guests);
	free(l);
}

size_t lab_files(const struct lab *l, const char ***out)
{
	size_t n = 0;
	*out = NULL;
	for (size_t i = 0; i < l->nguests; i++) {
		const struct lab_guest *g = &l->guests[i];
		const char *f[5] = {g->kernel, g->initrd, g->image, g->ssh_keys,
				    g->user_data};
		for (int k = 0; k < 5; k++) {
			bool have = !f[k];
			for (size_t j = 0; j < n && !have; j++)
				have = !strcmp((*out)[j], f[k]);
			if (!have)
				NF_APPEND(*out, n, f[k]);
		}
	}
	return n;
}

const struct lab_net *lab_net_find(const struct lab *l, const char *name)
{
	for (size_t i = 0; i < l->nnets; i++)
		if (!strcmp(l->nets[i].name, name))
			return &l->nets[i];
	return NULL;
}

const struct lab_guest *lab_guest_find(const struct lab *l, const char *name)
{
	for (size_t i = 0; i < l->nguests; i++)
		if (!strcmp(l->guests[i].name, name))
			return &l->guests[i];
	return NULL;
}

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

bool lab_guest_same(const struct lab_guest *a, const struct lab_guest *b)
{
	if (!same_str(a->kernel, b->kernel) ||
	    !same_str(a->initrd, b->initrd) ||
	    !same_str(a->cmdline, b->cmdline) ||
	    !same_str(a->image, b->image) ||
	    a->image_format != b->image_format || a->ci_on != b->ci_on ||
	    !same_str(a->ssh_keys, b->ssh_keys) ||
	    !same_str(a->user_data, b->user_data) || a->nkeys != b->nkeys ||
	    a->mem_mib != b->mem_mib || a->cpus != b->cpus ||
	    a->nifs != b->nifs)
		return false;
	for (size_t i = 0; i < a->nkeys; i++)
		if (strcmp(a->keys[i], b->keys[i]))
			return false;
	for (size_t i = 0; i < a->nifs; i++)
		if (strcmp(a->ifs[i].network, b->ifs[i].network) ||
		    strcmp(a->ifs[i].mac, b->ifs[i].mac) ||
		    nf_addr_cmp(&a->ifs[i].ip, &b->ifs[i].ip))
			return false;
	return true;
}

int labxml_name(const char *buf, size_t len, char *out, size_t n)
{
	xmlDocPtr doc = xmlReadMemory(buf, (int)len, "lab", NULL,
				      XML_PARSE_NONET | XML_PARSE_NOERROR |
					      XML_PARSE_NOWARNING);
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
	const char *name = root && is(root, "lab") ? attr(root, "name") : NULL;
	int rc = good_name(name, 32) ? 0 : -EINVAL;
	if (rc == 0)
		snprintf(out, n, "%s", name);
	xmlFreeDoc(doc);
	return rc;
}

size_t lab_pins(const struct lab *l, const char *net, char ***out)
{
	size_t n = 0;
	*out = NULL;
	for (size_t g = 0; g < l->nguests; g++)
		for (size_t f = 0; f < l->guests[g].nifs; f++) {
			const struct lab_if *x = &l->guests[g].ifs[f];
			char ip[INET6_ADDRSTRLEN], *h;
			if (strcmp(x->network, net) || !x->ip.family)
				continue;
			nf_addr_format(&x->ip, ip, sizeof(ip));
			if (asprintf(&h, "<host mac='%s' name='%s' ip='%s'/>",
				     x->mac, l->guests[g].name, ip) < 0)
				abort();
			NF_APPEND(*out, n, h);
		}
	return n;
}

void lab_seed_meta(const struct lab *l, const struct lab_guest *g,
		   char *const *extra, size_t nextra, struct nf_buf *out)
{
	char id[128];
	snprintf(id, sizeof(id), "netfabric-%s-%s", l->name, g->name);
	nf_buf_printf(out, "instance-id: ");
	nf_buf_add_quoted(out, id);
	nf_buf_printf(out, "\nlocal-hostname: ");
	nf_buf_add_quoted(out, g->name);
	nf_buf_printf(out, "\n");
	if (g->nkeys + nextra)
		nf_buf_printf(out, "public-keys:\n");
	for (size_t i = 0; i < g->nkeys + nextra; i++) {
		nf_buf_printf(out, "  - ");
		nf_buf_add_quoted(out, i < g->nkeys ? g->keys[i]
						    : extra[i - g->nkeys]);
		nf_buf_printf(out, "\n");
	}
}

void lab_seed_network(const struct lab_guest *g, struct nf_buf *out)
{
	nf_buf_printf(out, "version: 2\nethernets:\n");
	for (size_t i = 0; i < g->nifs; i++) {
		nf_buf_printf(out,
			      "  nf%zu:\n    match:\n      macaddress: ", i);
		nf_buf_add_quoted(out, g->ifs[i].mac);
		nf_buf_printf(out, "\n    dhcp4: true\n");
	}
}
