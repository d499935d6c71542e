#define _GNU_SOURCE
#include "sriov.h"

#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The last path element a symlink points to ("" if it is not a link, or
 * the name does not fit OUT). */
static void link_base(const char *path, char *out, size_t n)
{
	char t[4096];
	ssize_t l = readlink(path, t, sizeof(t) - 1);
	out[0] = 0;
	if (l <= 0)
		return;
	t[l] = 0;
	(void)nf_fmt(out, n, "%s", basename(t));
}

/* link_base of DIR/LEAF */
static void link_base_in(const char *dir, const char *leaf, char *out, size_t n)
{
	char p[4096];
	out[0] = 0;
	if (nf_fmt(p, sizeof(p), "%s/%s", dir, leaf) == 0)
		link_base(p, out, n);
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
	DIR *d = nf_fmt(p, sizeof(p), "%s/net", dir) ? NULL : opendir(p);
	struct dirent *de;
	out[0] = 0;
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.') {
			(void)nf_fmt(out, n, "%s", de->d_name);
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
	if (nf_fmt(dev, sizeof(dev), "%s/sys/class/net/%s", sysroot, pf) < 0)
		return nf_errf(e, ENAMETOOLONG, "sysfs root '%s' is too long",
			       sysroot);
	if (access(dev, F_OK) < 0)
		return nf_errf(e, ENOENT, "no network interface '%s'", pf);
	if (nf_fmt(dev, sizeof(dev), "%s/sys/class/net/%s/device", sysroot,
		   pf) < 0)
		return nf_errf(e, ENAMETOOLONG, "sysfs root '%s' is too long",
			       sysroot);
	link_base(dev, out->pci, sizeof(out->pci));
	if (!out->pci[0] ||
	    nf_fmt(p, sizeof(p), "%s/sriov_totalvfs", dev) < 0 ||
	    read_uint(p, &out->totalvfs) < 0)
		return nf_errf(e, ENOTSUP,
			       "'%s' is not an SR-IOV physical function (no "
			       "sriov_totalvfs on its PCI device)",
			       pf);
	if (nf_fmt(p, sizeof(p), "%s/sriov_numvfs", dev) < 0 ||
	    read_uint(p, &out->numvfs) < 0)
		out->numvfs = 0;
	link_base_in(dev, "driver", out->driver, sizeof(out->driver));
	DIR *d = opendir(dev);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		unsigned idx;
		char tail;
		if (sscanf(de->d_name, "virtfn%u%c", &idx, &tail) != 1)
			continue;
		struct sriov_vf vf = {.index = idx, .iommu_group = -1};
		char vdir[4096];
		if (nf_fmt(vdir, sizeof(vdir), "%s/%s", dev, de->d_name) < 0)
			continue;
		link_base(vdir, vf.pci, sizeof(vf.pci));
		first_netdev(vdir, vf.netdev, sizeof(vf.netdev));
		link_base_in(vdir, "driver", vf.driver, sizeof(vf.driver));
		link_base_in(vdir, "iommu_group", g, sizeof(g));
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

/* ------------------------------------------------------------ changes */

int sriov_sysfs_write(const char *sysroot, const char *rel, const char *val,
		      struct nf_err *e)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/%s", sysroot, rel);
	int fd = open(
		p, O_WRONLY | O_TRUNC | O_CLOEXEC | (sysroot[0] ? O_CREAT : 0),
		0644);
	ssize_t w = fd < 0 ? -1 : write(fd, val, strlen(val));
	int err = errno;
	if (fd >= 0)
		close(fd);
	if (w != (ssize_t)strlen(val))
		return nf_errf(e, err ? err : EIO,
			       "cannot write '%s' to %s: %s", val, p,
			       strerror(err ? err : EIO));
	nf_debug("sysfs: %s <- %s", rel, val);
	return 0;
}

int sriov_ifindex(const char *sysroot, const char *netdev)
{
	char p[4096];
	unsigned v;
	snprintf(p, sizeof(p), "%s/sys/class/net/%s/ifindex", sysroot, netdev);
	return read_uint(p, &v) < 0 ? -ENODEV : (int)v;
}

int sriov_netdev_read(const char *sysroot, const char *name, uint8_t mac[6],
		      unsigned *mtu, bool *up)
{
	char p[4096], a[64] = "";
	unsigned flags = 0;
	snprintf(p, sizeof(p), "%s/sys/class/net/%s/address", sysroot, name);
	FILE *f = fopen(p, "r");
	if (!f)
		return -ENODEV;
	int ok = fscanf(f, "%63s", a) == 1;
	fclose(f);
	if (!ok || nf_mac_parse(a, mac) < 0)
		return -EINVAL;
	snprintf(p, sizeof(p), "%s/sys/class/net/%s/mtu", sysroot, name);
	if (read_uint(p, mtu) < 0)
		*mtu = 0;
	snprintf(p, sizeof(p), "%s/sys/class/net/%s/flags", sysroot, name);
	f = fopen(p, "r");
	if (f && fscanf(f, "%x", &flags) != 1)
		flags = 0;
	if (f)
		fclose(f);
	*up = flags & 1; /* IFF_UP */
	return 0;
}

int sriov_vf_lookup(const char *sysroot, const char *key, struct sriov_pf *pf,
		    const struct sriov_vf **vf, struct nf_err *e)
{
	char p[4096], pci[64], pfpci[64], pfdev[16];
	*vf = NULL;
	memset(pf, 0, sizeof(*pf));
	if (strchr(key, '/') || !key[0])
		return nf_errf(e, EINVAL, "'%s' is not a device name", key);
	if (strchr(key, ':')) { /* a PCI address */
		snprintf(pci, sizeof(pci), "%s", key);
	} else {
		snprintf(p, sizeof(p), "%s/sys/class/net/%s", sysroot, key);
		if (access(p, F_OK) < 0)
			return nf_errf(e, ENODEV, "no network interface '%s'",
				       key);
		snprintf(p, sizeof(p), "%s/sys/class/net/%s/device", sysroot,
			 key);
		link_base(p, pci, sizeof(pci));
	}
	snprintf(p, sizeof(p), "%s/sys/bus/pci/devices/%s", sysroot, pci);
	if (!pci[0] || access(p, F_OK) < 0)
		return nf_errf(e, ENODEV, "no PCI device %s",
			       pci[0] ? pci : key);
	snprintf(p, sizeof(p), "%s/sys/bus/pci/devices/%s/physfn", sysroot,
		 pci);
	link_base(p, pfpci, sizeof(pfpci));
	if (!pfpci[0])
		return nf_errf(e, ENOTSUP,
			       "%s is not an SR-IOV virtual function (no "
			       "physfn)",
			       key);
	snprintf(p, sizeof(p), "%s/sys/bus/pci/devices/%s", sysroot, pfpci);
	first_netdev(p, pfdev, sizeof(pfdev));
	if (!pfdev[0])
		return nf_errf(e, ENODEV,
			       "the PF %s of %s has no network interface (is "
			       "its driver loaded?)",
			       pfpci, key);
	int rc = sriov_pf_read(sysroot, pfdev, pf, e);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < pf->nvfs; i++)
		if (!strcmp(pf->vfs[i].pci, pci))
			*vf = &pf->vfs[i];
	if (!*vf) {
		sriov_pf_free(pf);
		return nf_errf(e, ENOENT, "%s is not among the VFs of %s", key,
			       pfdev);
	}
	return 0;
}

int sriov_group_check(const char *sysroot, const struct sriov_vf *vf,
		      struct nf_err *e)
{
	char p[4096], drv[64];
	if (vf->iommu_group < 0)
		return nf_errf(e, ENODEV,
			       "VF %s has no IOMMU group (is the IOMMU on? "
			       "intel_iommu=on / amd_iommu=on)",
			       vf->pci);
	snprintf(p, sizeof(p), "%s/sys/kernel/iommu_groups/%d/devices", sysroot,
		 vf->iommu_group);
	DIR *d = opendir(p);
	struct dirent *de;
	int rc = 0;
	while (d && rc == 0 && (de = readdir(d))) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, vf->pci))
			continue;
		snprintf(p, sizeof(p), "%s/sys/bus/pci/devices/%s/driver",
			 sysroot, de->d_name);
		link_base(p, drv, sizeof(drv));
		if (drv[0] && strcmp(drv, "vfio-pci") &&
		    strcmp(drv, "pcieport"))
			rc = nf_errf(e, EBUSY,
				     "IOMMU group %d of VF %s also holds %s, "
				     "bound to %s; the whole group must be "
				     "free to assign it",
				     vf->iommu_group, vf->pci, de->d_name, drv);
	}
	if (d)
		closedir(d);
	return rc;
}

/* Waits up to ms for sysroot/rel to exist. */
static bool wait_for(const char *sysroot, const char *rel, int ms)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/%s", sysroot, rel);
	for (int t = 0; access(p, F_OK) < 0; t += 10) {
		if (t >= ms)
			return false;
		usleep(10000);
	}
	return true;
}

int sriov_bind_vfio(const char *sysroot, const struct sriov_vf *vf,
		    struct nf_err *e)
{
	char rel[256], drv[64];
	int rc;
	snprintf(rel, sizeof(rel), "%s/sys/bus/pci/devices/%s/driver", sysroot,
		 vf->pci);
	link_base(rel, drv, sizeof(drv));
	if (drv[0] && strcmp(drv, "vfio-pci")) {
		snprintf(rel, sizeof(rel),
			 "sys/bus/pci/devices/%s/driver/unbind", vf->pci);
		if ((rc = sriov_sysfs_write(sysroot, rel, vf->pci, e)) < 0)
			return rc;
	}
	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/driver_override",
		 vf->pci);
	if ((rc = sriov_sysfs_write(sysroot, rel, "vfio-pci", e)) < 0 ||
	    (rc = sriov_sysfs_write(sysroot, "sys/bus/pci/drivers_probe",
				    vf->pci, e)) < 0)
		return rc;
	snprintf(rel, sizeof(rel), "dev/vfio/%d", vf->iommu_group);
	if (!wait_for(sysroot, rel, 2000))
		return nf_errf(e, ENODEV,
			       "VF %s: /%s did not appear after binding it to "
			       "vfio-pci (is the vfio-pci module loaded?)",
			       vf->pci, rel);
	return 0;
}

int sriov_unbind_vfio(const char *sysroot, const char *pci, struct nf_err *e)
{
	char rel[256], drv[64];
	int rc;
	snprintf(rel, sizeof(rel), "%s/sys/bus/pci/devices/%s/driver", sysroot,
		 pci);
	link_base(rel, drv, sizeof(drv));
	if (!strcmp(drv, "vfio-pci")) {
		snprintf(rel, sizeof(rel),
			 "sys/bus/pci/devices/%s/driver/unbind", pci);
		if ((rc = sriov_sysfs_write(sysroot, rel, pci, e)) < 0)
			return rc;
	}
	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/driver_override",
		 pci);
	return sriov_sysfs_write(sysroot, rel, "\n", e);
}

int sriov_reprobe(const char *sysroot, const char *pci, const char *netdev,
		  struct nf_err *e)
{
	char rel[256];
	int rc =
		sriov_sysfs_write(sysroot, "sys/bus/pci/drivers_probe", pci, e);
	if (rc < 0 || !netdev || !netdev[0])
		return rc;
	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/net", pci);
	if (!wait_for(sysroot, rel, 5000))
		return nf_errf(e, ETIMEDOUT,
			       "VF %s: its host driver made no network "
			       "interface within 5 s (was %s)",
			       pci, netdev);
	return 0;
}

int sriov_set_numvfs(const char *sysroot, const struct sriov_pf *pf, unsigned n,
		     struct nf_err *e)
{
	char rel[256], v[16];
	int rc;
	if (n > pf->totalvfs)
		return nf_errf(e, EINVAL, "%s supports at most %u VFs, not %u",
			       pf->name, pf->totalvfs, n);
	if (n == pf->numvfs)
		return 0;
	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/sriov_numvfs",
		 pf->pci);
	/* the kernel refuses a change between two non-zero counts */
	if (pf->numvfs && n &&
	    (rc = sriov_sysfs_write(sysroot, rel, "0", e)) < 0)
		return rc;
	snprintf(v, sizeof(v), "%u", n);
	return sriov_sysfs_write(sysroot, rel, v, e);
}
