#define _GNU_SOURCE
#include "network.h"

#include "../sriov/vfnl.h"
#include "lab.h"

#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

static void loaded(struct netxml *nx, bool autostart, void *ctx)
{
	struct registry *r = ctx;
	char u[37];
	nf_uuid_format(nx->def.uuid, u);
	for (size_t i = 0; i < r->n; i++) {
		const struct netdef *o = &r->nets[i]->def->def;
		if (!memcmp(o->uuid, nx->def.uuid, 16)) {
			nf_warn("skipping network '%s': its uuid %s is also "
				"network '%s'",
				nx->def.name, u, o->name);
			netxml_free(nx);
			return;
		}
	}
	registry_add(r, nx)->autostart = autostart;
}

struct network *registry_add(struct registry *r, struct netxml *def)
{
	struct network *n = nf_xcalloc(1, sizeof(*n));
	n->reg = r;
	n->def = def;
	n->dnsmasq_pidfd = -1;
	n->log_rfd = n->log_wfd = -1;
	NF_APPEND(r->nets, r->n, n);
	return n;
}

int registry_open(struct registry *r, const char *config_dir, struct nf_err *e)
{
	int rc = store_open(&r->config, config_dir, e);
	if (rc < 0)
		return rc;
	rc = store_load(&r->config, loaded, r);
	if (rc < 0)
		return nf_errf(e, -rc, "cannot read %s: %s", config_dir,
			       strerror(-rc));
	nf_info("loaded %zu network definition(s) from %s", r->n, config_dir);
	return 0;
}

static void network_free(struct network *n)
{
	netxml_free(n->def);
	netxml_free(n->live);
	free(n);
}

json_t *read_json(const char *path)
{
	char *buf = NULL;
	struct nf_err e;
	if (nf_read_file(path, 16 << 20, &buf, NULL, &e) < 0)
		return NULL;
	json_t *j = json_loads(buf, 0, NULL);
	free(buf);
	return j;
}

int write_json(const char *dir, const char *name, json_t *j, bool durable,
	       struct nf_err *e)
{
	char path[4096];
	int rc = nf_mkdir_p(dir, 0755, e);
	char *txt = json_dumps(j, JSON_INDENT(1) | JSON_SORT_KEYS);
	json_decref(j);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (rc == 0)
		rc = nf_write_file_atomic(path, txt, strlen(txt), 0644,
					  durable ? NF_DURABLE : NF_VOLATILE,
					  e);
	free(txt);
	return rc;
}

void registry_close(struct registry *r)
{
	for (size_t i = 0; i < r->n; i++)
		network_free(r->nets[i]);
	free(r->nets);
	store_close(&r->config);
	vfnl_close(r->vfnl);
}

const struct netxml *network_current(const struct network *n)
{
	return n->live ? n->live : n->def;
}

const char *network_name(const struct network *n)
{
	return network_current(n)->def.name;
}

struct network *registry_by_name(struct registry *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(network_current(r->nets[i])->def.name, name))
			return r->nets[i];
	return NULL;
}

struct network *registry_find(struct registry *r, const char *key)
{
	uint8_t u[16];
	struct network *n = registry_by_name(r, key);
	if (n)
		return n;
	if (nf_uuid_parse(key, u) < 0)
		return NULL;
	for (size_t i = 0; i < r->n; i++)
		if (!memcmp(network_current(r->nets[i])->def.uuid, u, 16))
			return r->nets[i];
	return NULL;
}

int network_admit(struct registry *r, const struct request *q,
		  const struct netxml *nx, const struct network *self,
		  struct nf_err *e)
{
	const struct netdef *d = &nx->def;
	uint8_t u[16];
	char us[37];
	for (size_t i = 0; q && q->uid != 0 && i < d->ndnsmasq_options; i++) {
		const char *o = dhcp_option_privileged(d->dnsmasq_options[i]);
		if (o)
			return nf_errf(e, EPERM,
				       "network '%s': <dnsmasq:option "
				       "value='%s'>: '%s' makes dnsmasq run "
				       "programs, use the host's files, "
				       "sockets or firewall with root's "
				       "rights; only root may define it (uid "
				       "%u may not)",
				       d->name, d->dnsmasq_options[i], o,
				       (unsigned)q->uid);
	}
	/* names and UUIDs both find a network: neither may be the other's */
	for (size_t i = 0; i < r->n; i++) {
		const struct netdef *o = &network_current(r->nets[i])->def;
		if (r->nets[i] == self || !strcmp(o->name, d->name))
			continue;
		nf_uuid_format(o->uuid, us);
		if (nf_uuid_parse(d->name, u) == 0 && !memcmp(u, o->uuid, 16))
			return nf_errf(e, EEXIST,
				       "network name '%s' is the UUID of "
				       "network '%s'; a name that reads as "
				       "another network's UUID would make "
				       "both ambiguous",
				       d->name, o->name);
		if (d->has_uuid && nf_uuid_parse(o->name, u) == 0 &&
		    !memcmp(u, d->uuid, 16))
			return nf_errf(e, EEXIST,
				       "the uuid of network '%s' is the name "
				       "of network '%s'; pick another uuid",
				       d->name, o->name);
	}
	return 0;
}

void registry_remove(struct registry *r, struct network *n)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->nets[i] == n) {
			memmove(&r->nets[i], &r->nets[i + 1],
				(r->n - i - 1) * sizeof(*r->nets));
			r->n--;
			break;
		}
	network_free(n);
}

/* ---------------------------------------------------------- arguments */

static const char *arg_str(json_t *args, const char *key)
{
	return json_string_value(json_object_get(args, key));
}

static int need_str(json_t *args, const char *key, const char **out,
		    struct nf_err *e)
{
	*out = arg_str(args, key);
	if (!*out)
		return nf_errf(e, EINVAL, "missing string argument '%s'", key);
	return 0;
}

static int need_network(struct registry *r, json_t *args, struct network **out,
			struct nf_err *e)
{
	const char *key;
	int rc = need_str(args, "network", &key, e);
	if (rc < 0)
		return rc;
	*out = registry_find(r, key);
	if (!*out)
		return nf_errf(e, ENOENT,
			       "no network named '%s' (and no network with "
			       "that UUID); 'netctl net-list --all' lists "
			       "them",
			       key);
	return 0;
}

static json_t *network_json(const struct network *n)
{
	const struct netdef *d = &network_current(n)->def;
	char u[37];
	nf_uuid_format(d->uuid, u);
	json_t *j = json_pack("{s:s, s:s, s:b, s:b, s:b, s:s?, s:s}", "name",
			      d->name, "uuid", u, "active", n->live != NULL,
			      "persistent", n->def != NULL, "autostart",
			      n->autostart, "bridge", d->bridge, "forward",
			      netxml_fwd_name(d->mode));
	if (n->live && n->has_dnsmasq) {
		struct dhcp_files f;
		network_files(n->reg, n, &f);
		json_object_set_new(j, "dnsmasq_pid",
				    json_integer(n->dnsmasq_pid));
		json_object_set_new(j, "dnsmasq_hostsfile",
				    json_string(f.hosts));
		json_object_set_new(j, "dnsmasq_addnhosts",
				    json_string(f.addnhosts));
		/* what dnsmasq's own log says of the files netd wrote */
		const struct dhcp_log *l = &n->log;
		json_object_set_new(j, "reservations",
				    json_string(l->problem[0] ? "not loaded"
						: dhcp_log_settled(l)
							? "loaded"
							: "pending"));
		if (l->problem[0])
			json_object_set_new(j, "reservations_problem",
					    json_string(l->problem));
	}
	if (n->live && n->table[0])
		json_object_set_new(j, "nft_table", json_string(n->table));
	return j;
}

/* ----------------------------------------------------------- handlers */

struct bridge_ctx {
	struct registry *r;
	const struct network *self;
};

static bool bridge_in_use(const char *name, void *ctx)
{
	struct bridge_ctx *b = ctx;
	for (size_t i = 0; i < b->r->n; i++) {
		const struct network *n = b->r->nets[i];
		if (n == b->self)
			continue;
		for (int k = 0; k < 2; k++) {
			const struct netxml *x = k ? n->live : n->def;
			if (x && x->def.bridge && !strcmp(x->def.bridge, name))
				return true;
		}
	}
	return if_nametoindex(name) != 0;
}

static int h_define(struct registry *r, struct request *q, json_t *args,
		    json_t **res, struct nf_err *e)
{
	const char *xml, *expect;
	struct netxml *nx;
	struct network *by_name, *by_uuid = NULL;
	char u[37];
	int rc = need_str(args, "xml", &xml, e);
	if (rc < 0)
		return rc;
	rc = netxml_parse(xml, strlen(xml),
			  arg_str(args, "source") ? arg_str(args, "source")
						  : "network XML",
			  &nx, e);
	if (rc < 0)
		return rc;
	struct netdef *d = &nx->def;
	by_name = registry_by_name(r, d->name);
	if (d->has_uuid) {
		nf_uuid_format(d->uuid, u);
		by_uuid = registry_find(r, u);
	}
	if (by_name && d->has_uuid &&
	    memcmp(network_current(by_name)->def.uuid, d->uuid, 16)) {
		nf_uuid_format(network_current(by_name)->def.uuid, u);
		rc = nf_errf(e, EEXIST,
			     "network '%s' already exists with uuid %s; "
			     "drop <uuid> to redefine it, or pick another "
			     "name",
			     d->name, u);
		goto fail;
	}
	if (by_uuid && by_uuid != by_name) {
		rc = nf_errf(e, EEXIST,
			     "uuid %s already belongs to network '%s'; "
			     "a network cannot be renamed by defining it",
			     u, network_name(by_uuid));
		goto fail;
	}
	expect = arg_str(args, "expect_uuid"); /* net-edit: same network */
	if (expect && !by_name) {
		rc = nf_errf(e, EINVAL,
			     "the edited definition names '%s', which is not "
			     "the network being edited; renaming is not "
			     "supported",
			     d->name);
		goto fail;
	}
	if (by_name && !d->has_uuid) { /* redefining by name keeps the uuid */
		rc = netxml_set_uuid(nx, network_current(by_name)->def.uuid, e);
		if (rc < 0)
			goto fail;
	}
	struct bridge_ctx bc = {r, by_name};
	rc = netxml_fill_defaults(nx, bridge_in_use, &bc, e);
	if (rc == 0)
		rc = network_admit(r, q, nx, by_name, e);
	if (rc < 0)
		goto fail;
	if (d->bridge && netxml_fwd_has_bridge(d->mode)) {
		for (size_t i = 0; i < r->n; i++) {
			const struct network *o = r->nets[i];
			const char *ob = network_current(o)->def.bridge;
			if (o != by_name && ob && !strcmp(ob, d->bridge)) {
				rc = nf_errf(e, EEXIST,
					     "bridge '%s' is already used by "
					     "network '%s'; choose another "
					     "<bridge name=...> or leave it "
					     "out to get a free one",
					     d->bridge, network_name(o));
				goto fail;
			}
		}
	}
	rc = store_save(&r->config, nx, e);
	if (rc < 0)
		goto fail;
	if (by_name) {
		netxml_free(by_name->def);
		by_name->def = nx;
	} else {
		by_name = registry_add(r, nx);
	}
	nf_info("network '%s' defined", d->name);
	if (r->emit)
		r->emit("defined", d->name, r->emit_ctx);
	*res = network_json(by_name);
	return 0;
fail:
	netxml_free(nx);
	return rc;
}

static int h_undefine(struct registry *r, struct request *q, json_t *args,
		      json_t **res, struct nf_err *e)
{
	(void)q;
	struct network *n;
	int rc = need_network(r, args, &n, e);
	if (rc < 0)
		return rc;
	if (!n->def)
		return nf_errf(e, EINVAL,
			       "network '%s' is transient: it has no "
			       "definition to remove (destroy it instead)",
			       network_name(n));
	char *name = nf_xstrdup(network_name(n));
	rc = store_delete(&r->config, name, e);
	if (rc == 0) {
		nf_info("network '%s' undefined", name);
		if (r->emit)
			r->emit("undefined", name, r->emit_ctx);
		if (n->live) {
			netxml_free(n->def); /* stays running, transient */
			n->def = NULL;
			n->autostart = false;
		} else {
			registry_remove(r, n);
		}
		*res = json_pack("{s:s}", "name", name);
	}
	free(name);
	return rc;
}

static int h_list(struct registry *r, struct request *q, json_t *args,
		  json_t **res, struct nf_err *e)
{
	(void)q;
	(void)args;
	(void)e;
	json_t *a = json_array();
	for (size_t i = 0; i < r->n; i++)
		json_array_append_new(a, network_json(r->nets[i]));
	*res = a;
	return 0;
}

static int h_info(struct registry *r, struct request *q, json_t *args,
		  json_t **res, struct nf_err *e)
{
	(void)q;
	struct network *n;
	int rc = need_network(r, args, &n, e);
	if (rc == 0)
		*res = network_json(n);
	return rc;
}

static int h_dumpxml(struct registry *r, struct request *q, json_t *args,
		     json_t **res, struct nf_err *e)
{
	(void)q;
	struct network *n;
	int rc = need_network(r, args, &n, e);
	if (rc < 0)
		return rc;
	const struct netxml *x = network_current(n);
	if (json_is_true(json_object_get(args, "inactive")) && n->def)
		x = n->def;
	char *s = netxml_format(x);
	*res = json_pack("{s:s}", "xml", s);
	free(s);
	return 0;
}

static int h_autostart(struct registry *r, struct request *q, json_t *args,
		       json_t **res, struct nf_err *e)
{
	(void)q;
	struct network *n;
	int rc = need_network(r, args, &n, e);
	if (rc < 0)
		return rc;
	bool on = !json_is_false(json_object_get(args, "enable"));
	if (!n->def)
		return nf_errf(e, EINVAL,
			       "network '%s' is transient; only defined "
			       "networks can autostart",
			       network_name(n));
	rc = store_set_autostart(&r->config, network_name(n), on, e);
	if (rc == 0) {
		n->autostart = on;
		*res = network_json(n);
	}
	return rc;
}

static int h_version(struct registry *r, struct request *q, json_t *args,
		     json_t **res, struct nf_err *e)
{
	(void)q;
	(void)r;
	(void)args;
	(void)e;
	*res = json_pack("{s:s}", "version", NF_VERSION);
	return 0;
}

static int h_start(struct registry *r, struct request *q, json_t *args,
		   json_t **res, struct nf_err *e)
{
	(void)q;
	struct network *n;
	int rc = need_network(r, args, &n, e);
	if (rc == 0)
		rc = network_start(r, n, e);
	if (rc == 0)
		*res = network_json(n);
	return rc;
}

static int h_destroy(struct registry *r, struct request *q, json_t *args,
		     json_t **res, struct nf_err *e)
{
	(void)q;
	struct network *n;
	int rc = need_network(r, args, &n, e);
	if (rc < 0)
		return rc;
	char *name = nf_xstrdup(network_name(n));
	rc = network_destroy(r, n, e);
	if (rc == 0)
		*res = json_pack("{s:s}", "name", name);
	free(name);
	return rc;
}

/* net-create: a transient network, started at once, gone when destroyed */
static int h_create(struct registry *r, struct request *q, json_t *args,
		    json_t **res, struct nf_err *e)
{
	const char *xml;
	struct netxml *nx;
	int rc = need_str(args, "xml", &xml, e);
	if (rc < 0)
		return rc;
	rc = netxml_parse(xml, strlen(xml),
			  arg_str(args, "source") ? arg_str(args, "source")
						  : "network XML",
			  &nx, e);
	if (rc < 0)
		return rc;
	struct network *n;
	if ((rc = network_create(r, q, nx, &n, e)) < 0)
		return rc;
	*res = network_json(n);
	return 0;
}

int network_create(struct registry *r, const struct request *q,
		   struct netxml *nx, struct network **out, struct nf_err *e)
{
	char u[37];
	int rc;
	struct network *o = registry_by_name(r, nx->def.name);
	if (!o && nx->def.has_uuid) {
		nf_uuid_format(nx->def.uuid, u);
		o = registry_find(r, u);
	}
	if (o) {
		netxml_free(nx);
		return nf_errf(e, EEXIST,
			       "network '%s' already exists; net-start it, or "
			       "give the new one another name and uuid",
			       network_name(o));
	}
	struct bridge_ctx bc = {r, NULL};
	if ((rc = netxml_fill_defaults(nx, bridge_in_use, &bc, e)) < 0 ||
	    (rc = network_admit(r, q, nx, NULL, e)) < 0) {
		netxml_free(nx);
		return rc;
	}
	/* started from a scratch entry that holds the definition only until
	 * it runs */
	struct network *n = registry_add(r, nx);
	rc = network_start(r, n, e);
	netxml_free(n->def);
	n->def = NULL;
	if (rc < 0) {
		registry_remove(r, n);
		return rc;
	}
	if (out)
		*out = n;
	return 0;
}

static int h_leases(struct registry *r, struct request *q, json_t *args,
		    json_t **res, struct nf_err *e)
{
	(void)q;
	struct network *n;
	struct dhcp_files f;
	struct dhcp_lease *l;
	size_t nl;
	int rc = need_network(r, args, &n, e);
	if (rc < 0)
		return rc;
	if (!n->live)
		return nf_errf(e, EINVAL, "network '%s' is not active",
			       network_name(n));
	const char *mac = arg_str(args, "mac");
	network_files(r, n, &f);
	if ((rc = dhcp_leases(&f, &l, &nl)) < 0)
		return nf_errf(e, -rc, "cannot read %s: %s", f.leases,
			       strerror(-rc));
	json_t *a = json_array();
	for (size_t i = 0; i < nl; i++) {
		if (mac && strcasecmp(mac, l[i].mac))
			continue;
		json_array_append_new(
			a, json_pack("{s:I, s:s, s:s, s:s, s:s, s:s}", "expiry",
				     (json_int_t)l[i].expiry, "mac", l[i].mac,
				     "ip", l[i].ip, "hostname", l[i].hostname,
				     "clientid", l[i].clientid, "type",
				     strchr(l[i].ip, ':') ? "ipv6" : "ipv4"));
	}
	free(l);
	*res = a;
	return 0;
}

static int h_doctor(struct registry *r, struct request *q, json_t *args,
		    json_t **res, struct nf_err *e)
{
	(void)q;
	(void)args;
	(void)e;
	*res = doctor_run(r);
	return 0;
}

static const struct handler handlers[] = {
	{"sriov-list", sriov_list, false},
	{"sriov-set-numvfs", sriov_numvfs, true},
	{"lab-up", lab_up, true},
	{"lab-down", lab_down, true},
	{"lab-status", lab_status, false},
	{"lab-console", lab_console, true},
	{"net-update", net_update, true},
	{"port-create", port_create, true},
	{"port-delete", port_delete, true},
	{"port-list", port_list, false},
	{"port-info", port_info, false},
	{"net-start", h_start, true},
	{"net-destroy", h_destroy, true},
	{"net-create", h_create, true},
	{"net-dhcp-leases", h_leases, false},
	{"doctor", h_doctor, false},
	{"version", h_version, false},
	{"net-define", h_define, true},
	{"net-undefine", h_undefine, true},
	{"net-list", h_list, false},
	{"net-info", h_info, false},
	{"net-dumpxml", h_dumpxml, false},
	{"net-autostart", h_autostart, true},
};

const struct handler *network_handler(const char *cmd)
{
	for (size_t i = 0; i < NF_ARRAY_SIZE(handlers); i++)
		if (!strcmp(handlers[i].cmd, cmd))
			return &handlers[i];
	return NULL;
}
