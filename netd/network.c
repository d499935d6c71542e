#define _GNU_SOURCE
#include "network.h"

#include "../sriov/vfnl.h"

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
	dhcp_log_free(&n->log);
	free(n);
}

void registry_close(struct registry *r)
{
	for (size_t i = 0; i < r->n; i++)
		network_free(r->nets[i]);
	free(r->nets);
	for (size_t i = 0; i < r->nports; i++) /* they live on: records */
		free(r->ports[i]);
	free(r->ports);
	store_close(&r->config);
	vfnl_close(r->vfnl);
}

static const char *const kind_names[] = {"tap", "macvtap", "hostdev",
					 "foreign"};

const char *port_kind_name(enum port_kind k)
{
	return kind_names[k];
}

enum port_kind port_kind_parse(const char *name)
{
	for (size_t i = 0; name && i < NF_ARRAY_SIZE(kind_names); i++)
		if (!strcmp(name, kind_names[i]))
			return (enum port_kind)i;
	return PORT_TAP;
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

static const struct bridge_rate *rate_of(const struct netxml_bw *b,
					 struct bridge_rate *r)
{
	*r = (struct bridge_rate){b->average, b->peak, b->burst};
	return b->set ? r : NULL;
}

int network_shape(struct registry *r, const char *dev,
		  const struct netxml_bw *in, const struct netxml_bw *out,
		  struct nf_err *e)
{
	struct bridge_rate ri, ro;
	return bridge_shape(r->br, dev, r->owner, rate_of(in, &ri),
			    rate_of(out, &ro), e);
}

int registry_unknown(struct registry *r, const char *key, struct nf_err *e)
{
	const char *best = NULL;
	unsigned bd = 3; /* two edits at most */
	for (size_t i = 0; i < r->n; i++) {
		const char *nm = network_current(r->nets[i])->def.name;
		unsigned d = nf_distance(key, nm);
		if (d < bd)
			bd = d, best = nm;
	}
	if (best)
		return nf_errf(e, ENOENT,
			       "no network named '%s'; did you mean '%s'?", key,
			       best);
	return nf_errf(e, ENOENT,
		       "no network named '%s' (and no network with that "
		       "UUID); 'netctl net-list --all' lists them",
		       key);
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

static void add_warning(const struct netxml_warning *w, void *ctx)
{
	json_array_append_new(ctx, json_string(w->msg));
}

json_t *network_warnings(const struct netxml *nx)
{
	json_t *a = json_array();
	netxml_each_warning(nx, add_warning, a);
	return a;
}

json_t *network_json(const struct network *n)
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
	/* what netd dropped from the definition or cannot serve */
	json_object_set_new(j, "warnings",
			    network_warnings(network_current(n)));
	return j;
}

static bool plain(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("_.-", *s)))
			return false;
	return true;
}

/* A file- and nft-safe key: the name when plain, else the uuid. */
void network_key(const struct netdef *d, char *out, size_t n)
{
	if (plain(d->name)) {
		snprintf(out, n, "%s", d->name);
	} else {
		char u[37];
		nf_uuid_format(d->uuid, u);
		snprintf(out, n, "%s", u);
	}
}

void network_files(const struct registry *r, const struct network *n,
		   struct dhcp_files *f)
{
	char key[80];
	network_key(&network_current(n)->def, key, sizeof(key));
	dhcp_files_init(f, r->run_dir, r->state_dir, r->dnsmasq_dir, key);
}

bool registry_bridge_taken(const char *name, void *ctx)
{
	struct bridge_name_ctx *b = ctx;
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
