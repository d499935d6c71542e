/* The requests netd serves, by command: the network commands themselves
 * (define, start, list, ...) and the table that sends every command to
 * its handler - the top of netd's modules, which nothing below calls. */
#define _GNU_SOURCE
#include "dispatch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/cmds.h"
#include "doctor.h"
#include "lab.h"
#include "lifecycle.h"
#include "port.h"
#include "update.h"
#include "vfport.h"

/* ---------------------------------------------------------- arguments */

static int need_str(json_t *args, const char *key, const char **out,
		    struct nf_err *e)
{
	*out = nf_json_str(args, key);
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
		return registry_unknown(r, key, e);
	return 0;
}

/* ----------------------------------------------------------- handlers */

/* The request's network XML: as libvirt's parser takes it, with
 * warnings, unless the client asked --validate or netd runs --strict. */
static int parse_xml(struct registry *r, json_t *args, const char *xml,
		     struct netxml **nx, struct nf_err *e)
{
	const char *src = nf_json_str(args, "source");
	bool strict =
		r->strict || json_is_true(json_object_get(args, "validate"));
	return netxml_parse_flags(xml, strlen(xml), src ? src : "network XML",
				  strict ? 0 : NETXML_LAX, nx, e);
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
	rc = parse_xml(r, args, xml, &nx, e);
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
	expect = nf_json_str(args, "expect_uuid"); /* net-edit: same network */
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
	struct bridge_name_ctx bc = {r, by_name};
	rc = netxml_fill_defaults(nx, registry_bridge_taken, &bc, e);
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
		r->emit("defined", d->name, NULL, r->emit_ctx);
	*res = network_json(by_name);
	/* the new definition's, even while the running one differs */
	json_object_set_new(*res, "warnings", network_warnings(nx));
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
			r->emit("undefined", name, NULL, r->emit_ctx);
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
	rc = parse_xml(r, args, xml, &nx, e);
	if (rc < 0)
		return rc;
	struct network *n;
	if ((rc = network_create(r, q, nx, &n, e)) < 0)
		return rc;
	*res = network_json(n);
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
	const char *mac = nf_json_str(args, "mac");
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

typedef int (*handler_fn)(struct registry *r, struct request *q, json_t *args,
			  json_t **result, struct nf_err *e);

/* Every command's handler, by the shared command table (lib/cmds.h);
 * event-subscribe is the server's own. */
static const handler_fn handlers[NF_CMD_COUNT] = {
	[NF_CMD_VERSION] = h_version,
	[NF_CMD_NET_DEFINE] = h_define,
	[NF_CMD_NET_UNDEFINE] = h_undefine,
	[NF_CMD_NET_CREATE] = h_create,
	[NF_CMD_NET_START] = h_start,
	[NF_CMD_NET_DESTROY] = h_destroy,
	[NF_CMD_NET_AUTOSTART] = h_autostart,
	[NF_CMD_NET_UPDATE] = net_update,
	[NF_CMD_NET_METADATA] = net_metadata,
	[NF_CMD_NET_LIST] = h_list,
	[NF_CMD_NET_INFO] = h_info,
	[NF_CMD_NET_DUMPXML] = h_dumpxml,
	[NF_CMD_NET_DHCP_LEASES] = h_leases,
	[NF_CMD_PORT_CREATE] = port_create,
	[NF_CMD_PORT_DELETE] = port_delete,
	[NF_CMD_PORT_LIST] = port_list,
	[NF_CMD_PORT_INFO] = port_info,
	[NF_CMD_LAB_UP] = lab_up,
	[NF_CMD_LAB_DOWN] = lab_down,
	[NF_CMD_LAB_STATUS] = lab_status,
	[NF_CMD_LAB_CONSOLE] = lab_console,
	[NF_CMD_SRIOV_LIST] = sriov_list,
	[NF_CMD_SRIOV_SET_NUMVFS] = sriov_numvfs,
	[NF_CMD_DOCTOR] = h_doctor,
};

int dispatch(struct registry *r, const char *cmd, struct request *q,
	     json_t *args, json_t **result, struct nf_err *e)
{
	int c = nf_cmd_find(cmd);
	if (c < 0 || !handlers[c])
		return nf_errf(e, ENOTSUP, "unknown command '%s'", cmd);
	if (nf_cmd_admin((enum nf_cmd)c) && !q->admin)
		return nf_errf(e, EPERM,
			       "'%s' needs root%s; uid %u may only read "
			       "(list, info, dumpxml, status)",
			       cmd,
			       r->admin_group ? " or the netd admin group" : "",
			       (unsigned)q->uid);
	return handlers[c](r, q, args, result, e);
}
