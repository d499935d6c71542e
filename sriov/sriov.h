/* sriov: SR-IOV physical and virtual functions as sysfs shows them. Every
 * path is under a sysfs root (normally "/"; tests point it at a fake tree
 * with sys/class/net and sys/bus/pci/devices): PFs are net devices whose
 * PCI device has sriov_totalvfs; a PF's VFs are its virtfnN links, each
 * with a PCI address, maybe a netdev, a driver and an IOMMU group. The VF
 * attributes kept by the PF driver (MAC, VLAN, spoofchk, trust, link
 * state) come over rtnetlink, not from here. */
#ifndef SRIOV_H
#define SRIOV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* A VF by PCI address (0000:03:10.0) or netdev name: its PF is read into
 * pf (free it) and *vf points into it. -ENODEV (no such device), -ENOTSUP
 * (not a VF: no physfn) and the rest say why in e. */
int sriov_vf_lookup(const char *sysroot, const char *key, struct sriov_pf *pf,
		    const struct sriov_vf **vf, struct nf_err *e);
/* A netdev as sysfs shows it: MAC, MTU and IFF_UP. -ENODEV if absent. */
int sriov_netdev_read(const char *sysroot, const char *name, uint8_t mac[6],
		      unsigned *mtu, bool *up);
/* ifindex of a netdev (sys/class/net/NAME/ifindex), or -ENODEV. */
int sriov_ifindex(const char *sysroot, const char *netdev);

/* Every change netd makes under sysfs goes through here: writes val to
 * sysroot/rel and logs "sysfs: REL <- VAL" at debug level. Under a fake
 * root (sysroot not "") missing files are created. */
int sriov_sysfs_write(const char *sysroot, const char *rel, const char *val,
		      struct nf_err *e);
/* The VF's IOMMU group may be handed to a guest only whole: every other
 * device in it unbound, or bound to vfio-pci (or a PCIe port driver). */
int sriov_group_check(const char *sysroot, const struct sriov_vf *vf,
		      struct nf_err *e);
/* Hands the VF to vfio-pci: unbind from its driver, driver_override =
 * vfio-pci, drivers_probe; then waits for /dev/vfio/GROUP. */
int sriov_bind_vfio(const char *sysroot, const struct sriov_vf *vf,
		    struct nf_err *e);
/* Takes it back from vfio-pci: unbind (if bound there), clear
 * driver_override. */
int sriov_unbind_vfio(const char *sysroot, const char *pci, struct nf_err *e);
/* drivers_probe for the VF and (netdev given) a wait of up to 5 s for the
 * host driver's netdev. */
int sriov_reprobe(const char *sysroot, const char *pci, const char *netdev,
		  struct nf_err *e);
/* Writes sriov_numvfs (0 first when changing between non-zero counts). */
int sriov_set_numvfs(const char *sysroot, const struct sriov_pf *pf, unsigned n,
		     struct nf_err *e);

#endif
