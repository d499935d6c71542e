#define _GNU_SOURCE
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *path_of(const struct store *s, const char *sub, const char *name,
		     const char *suffix)
{
	char *p;
	if (asprintf(&p, "%s%s%s/%s%s", s->dir, sub ? "/" : "", sub ? sub : "",
		     name, suffix) < 0)
		abort();
	return p;
}

int store_open(struct store *s, const char *dir, struct nf_err *e)
{
	memset(s, 0, sizeof(*s));
	s->dir = nf_xstrdup(dir);
	char *as = path_of(s, NULL, "autostart", "");
	int r = nf_mkdir_p(as, 0755, e);
	free(as);
	return r;
}

void store_close(struct store *s)
{
	for (size_t i = 0; i < s->nforeign; i++)
		free(s->foreign[i]);
	free(s->foreign);
	free(s->dir);
	memset(s, 0, sizeof(*s));
}

bool store_autostart(struct store *s, const char *name)
{
	char *p = path_of(s, "autostart", name, ".xml");
	struct stat st;
	bool on = lstat(p, &st) == 0;
	free(p);
	return on;
}

/* What a lax define dropped from a definition is not in its file any
 * more: it is kept beside it, in .NAME.dropped ("LINE<TAB>WARNING" per
 * line), so net-info still tells it after a restart. */
static char *dropped_path(const struct store *s, const char *name)
{
	char *p;
	if (asprintf(&p, "%s/.%s.dropped", s->dir, name) < 0)
		abort();
	return p;
}

static void load_dropped(struct store *s, struct netxml *nx)
{
	char *p = dropped_path(s, nx->def.name), line[600];
	FILE *f = fopen(p, "re");
	while (f && fgets(line, sizeof(line), f)) {
		char *tab = strchr(line, '\t');
		line[strcspn(line, "\n")] = 0;
		if (tab)
			netxml_add_dropped(nx, atoi(line), tab + 1);
	}
	if (f)
		fclose(f);
	free(p);
}

static int save_dropped(struct store *s, const struct netxml *nx,
			struct nf_err *e)
{
	char *p = dropped_path(s, nx->def.name);
	struct nf_buf b = {0};
	for (size_t i = 0; i < nx->ndropped; i++) {
		char msg[sizeof(nx->dropped[i].msg)];
		snprintf(msg, sizeof(msg), "%s", nx->dropped[i].msg);
		for (char *c = msg; *c; c++)
			if (*c == '\n' || *c == '\t')
				*c = ' ';
		nf_buf_printf(&b, "%d\t%s\n", nx->dropped[i].line, msg);
	}
	int r = 0;
	if (b.len)
		r = nf_write_file_atomic(p, b.s, b.len, 0600, NF_DURABLE, e);
	else if (unlink(p) < 0 && errno != ENOENT)
		r = nf_errf(e, errno, "cannot remove %s: %s", p,
			    strerror(errno));
	nf_buf_free(&b);
	free(p);
	return r;
}

int store_load(struct store *s, store_load_cb cb, void *ctx)
{
	DIR *d = opendir(s->dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (de->d_name[0] == '.' || l < 5 ||
		    strcmp(de->d_name + l - 4, ".xml"))
			continue;
		char *path = path_of(s, NULL, de->d_name, ""), *buf = NULL;
		struct netxml *nx = NULL;
		struct nf_err e;
		size_t len;
		int r = nf_read_file(path, NETXML_MAX_SIZE, &buf, &len, &e);
		if (r == 0)
			/* netd wrote it: what it kept unserved stays so */
			r = netxml_parse_flags(buf, len, path, NETXML_LAX, &nx,
					       &e);
		if (r == 0 && (strlen(nx->def.name) != l - 4 ||
			       strncmp(nx->def.name, de->d_name, l - 4))) {
			r = nf_errf(&e, EINVAL,
				    "%s: holds network '%s'; the file name "
				    "must be the network name",
				    path, nx->def.name);
			netxml_free(nx);
		}
		if (r == 0 && !nx->def.has_uuid) {
			r = nf_errf(&e, EINVAL, "%s: has no <uuid>", path);
			netxml_free(nx);
		}
		if (r < 0) {
			nf_warn("skipping %s (left untouched): %s", de->d_name,
				e.msg);
			NF_APPEND(s->foreign, s->nforeign,
				  nf_xstrdup(de->d_name));
		} else {
			load_dropped(s, nx);
			cb(nx, store_autostart(s, nx->def.name), ctx);
			n++;
		}
		free(buf);
		free(path);
	}
	closedir(d);
	return n;
}

static int check_not_foreign(struct store *s, const char *name,
			     struct nf_err *e)
{
	for (size_t i = 0; i < s->nforeign; i++) {
		size_t l = strlen(s->foreign[i]);
		if (l - 4 == strlen(name) &&
		    !strncmp(s->foreign[i], name, l - 4))
			return nf_errf(e, EEXIST,
				       "%s/%s exists but is not a valid "
				       "definition netd loaded; move it away "
				       "before using the name '%s'",
				       s->dir, s->foreign[i], name);
	}
	return 0;
}

int store_save(struct store *s, struct netxml *nx, struct nf_err *e)
{
	int r = check_not_foreign(s, nx->def.name, e);
	if (r < 0)
		return r;
	size_t len;
	const char *xml = netxml_text(nx, &len);
	char *path = path_of(s, NULL, nx->def.name, ".xml");
	r = nf_write_file_atomic(path, xml, len, 0600, NF_DURABLE, e);
	free(path);
	return r < 0 ? r : save_dropped(s, nx, e);
}

int store_delete(struct store *s, const char *name, struct nf_err *e)
{
	int r = check_not_foreign(s, name, e);
	if (r < 0)
		return r;
	store_set_autostart(s, name, false, NULL);
	char *path = path_of(s, NULL, name, ".xml"),
	     *dropped = dropped_path(s, name);
	unlink(dropped);
	free(dropped);
	if (unlink(path) < 0 && errno != ENOENT)
		r = nf_errf(e, errno, "cannot remove %s: %s", path,
			    strerror(errno));
	else
		nf_fsync_dir(s->dir);
	free(path);
	return r;
}

int store_set_autostart(struct store *s, const char *name, bool on,
			struct nf_err *e)
{
	char *link = path_of(s, "autostart", name, ".xml");
	char *target = path_of(s, NULL, name, ".xml");
	int r = 0;

	if (on) {
		if (symlink(target, link) < 0 && errno != EEXIST)
			r = nf_errf(e, errno, "cannot create %s: %s", link,
				    strerror(errno));
	} else if (unlink(link) < 0 && errno != ENOENT) {
		r = nf_errf(e, errno, "cannot remove %s: %s", link,
			    strerror(errno));
	}
	if (r == 0) {
		char *as = path_of(s, NULL, "autostart", "");
		nf_fsync_dir(as);
		free(as);
	}
	free(link);
	free(target);
	return r;
}
