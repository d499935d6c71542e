/* Unit tests for SR-IOV discovery on a fake sysfs tree (this machine has
 * no SR-IOV hardware): a PF with two VFs - one on its host driver with a
 * netdev, one bound to vfio-pci - next to interfaces that are not PFs. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../sriov/sriov.h"

static char root[64];

static void mk(const char *rel)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/%s'", root, rel);
	assert_int_equal(system(cmd), 0);
}
static void put(const char *rel, const char *val)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(val, f);
	fclose(f);
}
static void ln(const char *target, const char *rel)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	assert_int_equal(symlink(target, p), 0);
}

#define DEV "sys/bus/pci/devices/"
static int setup(void **st)
{
	(void)st;
	snprintf(root, sizeof(root), "/tmp/nf-sriov-XXXXXX");
	assert_non_null(mkdtemp(root));
	mk(DEV "0000:03:00.0");
	put(DEV "0000:03:00.0/sriov_totalvfs", "8\n");
	put(DEV "0000:03:00.0/sriov_numvfs", "2\n");
	ln("../../../bus/pci/drivers/ixgbe", DEV "0000:03:00.0/driver");
	ln("../0000:03:10.2", DEV "0000:03:00.0/virtfn1");
	ln("../0000:03:10.0", DEV "0000:03:00.0/virtfn0");
	mk(DEV "0000:03:10.0/net/ens1f0v0");
	ln("../../../bus/pci/drivers/ixgbevf", DEV "0000:03:10.0/driver");
	ln("../../../kernel/iommu_groups/42", DEV "0000:03:10.0/iommu_group");
	mk(DEV "0000:03:10.2");
	ln("../../../bus/pci/drivers/vfio-pci", DEV "0000:03:10.2/driver");
	ln("../../../kernel/iommu_groups/43", DEV "0000:03:10.2/iommu_group");
	mk(DEV "0000:00:19.0"); /* a NIC without SR-IOV */
	mk("sys/class/net/lo");
	mk("sys/class/net/ens1f0");
	ln("../../../bus/pci/devices/0000:03:00.0",
	   "sys/class/net/ens1f0/device");
	mk("sys/class/net/eno1");
	ln("../../../bus/pci/devices/0000:00:19.0",
	   "sys/class/net/eno1/device");
	return 0;
}
static int teardown(void **st)
{
	(void)st;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd);
}

static void test_pf(void **st)
{
	(void)st;
	struct sriov_pf pf;
	struct nf_err e;
	assert_int_equal(sriov_pf_read(root, "ens1f0", &pf, &e), 0);
	assert_string_equal(pf.pci, "0000:03:00.0");
	assert_string_equal(pf.driver, "ixgbe");
	assert_int_equal(pf.totalvfs, 8);
	assert_int_equal(pf.numvfs, 2);
	assert_int_equal(pf.nvfs, 2);
	assert_int_equal(pf.vfs[0].index, 0);
	assert_string_equal(pf.vfs[0].pci, "0000:03:10.0");
	assert_string_equal(pf.vfs[0].netdev, "ens1f0v0");
	assert_string_equal(pf.vfs[0].driver, "ixgbevf");
	assert_int_equal(pf.vfs[0].iommu_group, 42);
	assert_int_equal(pf.vfs[1].index, 1);
	assert_string_equal(pf.vfs[1].pci, "0000:03:10.2");
	assert_string_equal(pf.vfs[1].netdev, "");
	assert_string_equal(pf.vfs[1].driver, "vfio-pci");
	assert_int_equal(pf.vfs[1].iommu_group, 43);
	sriov_pf_free(&pf);
}

static void test_errors(void **st)
{
	(void)st;
	struct sriov_pf pf;
	struct nf_err e;
	assert_int_equal(sriov_pf_read(root, "nope0", &pf, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "no network interface 'nope0'"));
	assert_int_equal(sriov_pf_read(root, "eno1", &pf, &e), -ENOTSUP);
	assert_non_null(strstr(e.msg, "not an SR-IOV physical function"));
	assert_int_equal(sriov_pf_read(root, "lo", &pf, &e), -ENOTSUP);
	assert_int_equal(sriov_pf_read(root, "../x", &pf, &e), -EINVAL);
}

static void test_list(void **st)
{
	(void)st;
	struct sriov_pf *pfs;
	size_t n;
	struct nf_err e;
	assert_int_equal(sriov_pf_list(root, &pfs, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_string_equal(pfs[0].name, "ens1f0");
	for (size_t i = 0; i < n; i++)
		sriov_pf_free(&pfs[i]);
	free(pfs);
	assert_int_equal(sriov_pf_list("/nonexistent-root", &pfs, &n, &e),
			 -ENOENT);
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(test_pf),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_list),
	};
	return cmocka_run_group_tests(t, setup, teardown);
}
