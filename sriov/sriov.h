/* sriov: SR-IOV physical and virtual functions as sysfs shows them. Every
 * path is under a sysfs root (normally "/"; tests point it at a fake tree
 * with sys/class/net and sys/bus/pci/devices): PFs are net devices whose
 * PCI device has sriov_totalvfs; a PF's VFs are its virtfnN links, each
 * with a PCI address, maybe a netdev, a driver and an IOMMU group. The VF
 * attributes kept by the PF driver (MAC, VLAN, spoofchk, trust, link
 * state) come over rtnetlink, not from here. */
#ifndef SRIOV_H
#define SRIOV_H

#include <stddef.h>

#include "../lib/nf.h"

struct sriov_vf {
	unsigned index;	 /* N of virtfnN */
	char pci[16];	 /* 0000:03:10.0 */
	char netdev[16]; /* "" when no host driver made one */
	char driver[32]; /* "" when unbound; "vfio-pci" when assigned */
	int iommu_group; /* -1 when none */
};

struct sriov_pf {
	char name[16]; /* netdev */
	char pci[16];
	char driver[32];
	unsigned totalvfs, numvfs;
	struct sriov_vf *vfs; /* numvfs entries, by index */
	size_t nvfs;
};

/* Reads one PF; -ENOENT (no such netdev) or -ENOTSUP (no SR-IOV) say so
 * in e. */
int sriov_pf_read(const char *sysroot, const char *pf, struct sriov_pf *out,
		  struct nf_err *e);
/* Every SR-IOV PF under sysroot, sorted by name. */
int sriov_pf_list(const char *sysroot, struct sriov_pf **out, size_t *n,
		  struct nf_err *e);
void sriov_pf_free(struct sriov_pf *pf);

#endif
