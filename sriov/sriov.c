#define _GNU_SOURCE
#include "sriov.h"

#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The last path element a symlink points to ("" if it is not a link). */
static void link_base(const char *path, char *out, size_t n)
{
	char t[4096];
	ssize_t l = readlink(path, t, sizeof(t) - 1);
	out[0] = 0;
	if (l <= 0)
		return;
	t[l] = 0;
	snprintf(out, n, "%s", basename(t));
}

static int read_uint(const char *path, unsigned *v)
{
	FILE *f = fopen(path, "r");
	int ok = f && fscanf(f, "%u", v) == 1;
	if (f)
		fclose(f);
	return ok ? 0 : -1;
}

/* The single entry of DIR/net, the VF's netdev name. */
static void first_netdev(const char *dir, char *out, size_t n)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/net", dir);
	DIR *d = opendir(p);
	struct dirent *de;
	out[0] = 0;
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.') {
			snprintf(out, n, "%s", de->d_name);
			break;
		}
	if (d)
		closedir(d);
}

static int cmp_vf(const void *a, const void *b)
{
	const struct sriov_vf *x = a, *y = b;
	return (x->index > y->index) - (x->index < y->index);
}

int sriov_pf_read(const char *sysroot, const char *pf, struct sriov_pf *out,
		  struct nf_err *e)
{
	char dev[4096], p[4096], g[64];
	memset(out, 0, sizeof(*out));
	if (!pf[0] || strchr(pf, '/') || strlen(pf) >= sizeof(out->name))
		return nf_errf(e, EINVAL, "'%s' is not an interface name", pf);
	snprintf(out->name, sizeof(out->name), "%s", pf);
	snprintf(dev, sizeof(dev), "%s/sys/class/net/%s", sysroot, pf);
	if (access(dev, F_OK) < 0)
		return nf_errf(e, ENOENT, "no network interface '%s'", pf);
	snprintf(dev, sizeof(dev), "%s/sys/class/net/%s/device", sysroot, pf);
	link_base(dev, out->pci, sizeof(out->pci));
	snprintf(p, sizeof(p), "%s/sriov_totalvfs", dev);
	if (!out->pci[0] || read_uint(p, &out->totalvfs) < 0)
		return nf_errf(e, ENOTSUP,
			       "'%s' is not an SR-IOV physical function (no "
			       "sriov_totalvfs on its PCI device)",
			       pf);
	snprintf(p, sizeof(p), "%s/sriov_numvfs", dev);
	if (read_uint(p, &out->numvfs) < 0)
		out->numvfs = 0;
	snprintf(p, sizeof(p), "%s/driver", dev);
	link_base(p, out->driver, sizeof(out->driver));
	DIR *d = opendir(dev);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		unsigned idx;
		char tail;
		if (sscanf(de->d_name, "virtfn%u%c", &idx, &tail) != 1)
			continue;
		struct sriov_vf vf = {.index = idx, .iommu_group = -1};
		char vdir[4096];
		snprintf(vdir, sizeof(vdir), "%s/%s", dev, de->d_name);
		link_base(vdir, vf.pci, sizeof(vf.pci));
		first_netdev(vdir, vf.netdev, sizeof(vf.netdev));
		snprintf(p, sizeof(p), "%s/driver", vdir);
		link_base(p, vf.driver, sizeof(vf.driver));
		snprintf(p, sizeof(p), "%s/iommu_group", vdir);
		link_base(p, g, sizeof(g));
		if (g[0])
			vf.iommu_group = atoi(g);
		NF_APPEND(out->vfs, out->nvfs, vf);
	}
	if (d)
		closedir(d);
	if (out->nvfs)
		qsort(out->vfs, out->nvfs, sizeof(*out->vfs), cmp_vf);
	return 0;
}

void sriov_pf_free(struct sriov_pf *pf)
{
	free(pf->vfs);
	pf->vfs = NULL;
	pf->nvfs = 0;
}

static int cmp_pf(const void *a, const void *b)
{
	return strcmp(((const struct sriov_pf *)a)->name,
		      ((const struct sriov_pf *)b)->name);
}

int sriov_pf_list(const char *sysroot, struct sriov_pf **out, size_t *n,
		  struct nf_err *e)
{
	char p[4096];
	*out = NULL;
	*n = 0;
	snprintf(p, sizeof(p), "%s/sys/class/net", sysroot);
	DIR *d = opendir(p);
	if (!d)
		return nf_errf(e, errno, "cannot read %s: %s", p,
			       strerror(errno));
	struct dirent *de;
	while ((de = readdir(d))) {
		struct sriov_pf pf;
		if (de->d_name[0] == '.' ||
		    sriov_pf_read(sysroot, de->d_name, &pf, NULL) < 0)
			continue;
		NF_APPEND(*out, *n, pf);
	}
	closedir(d);
	if (*n)
		qsort(*out, *n, sizeof(**out), cmp_pf);
	return 0;
}
