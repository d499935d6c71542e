#!/usr/bin/env bash
# SR-IOV discovery through netd (issue 7, first stage): netd reads a fake
# sysfs tree given by --sysfs-root (no SR-IOV hardware here) and
# `netctl sriov-list` shows the PF, its VFs, their drivers and groups.
. "$(dirname "$0")/lib.sh"
S=$T/sysfs
D=$S/sys/bus/pci/devices
mkdir -p "$D/0000:03:00.0" "$D/0000:03:10.0/net/ens1f0v0" "$D/0000:03:10.2" \
	"$D/0000:00:19.0" "$S/sys/class/net/ens1f0" "$S/sys/class/net/eno1"
echo 8 >"$D/0000:03:00.0/sriov_totalvfs"
echo 2 >"$D/0000:03:00.0/sriov_numvfs"
ln -s ../../../bus/pci/drivers/ixgbe "$D/0000:03:00.0/driver"
ln -s ../0000:03:10.0 "$D/0000:03:00.0/virtfn0"
ln -s ../0000:03:10.2 "$D/0000:03:00.0/virtfn1"
ln -s ../../../bus/pci/drivers/ixgbevf "$D/0000:03:10.0/driver"
ln -s ../../../kernel/iommu_groups/42 "$D/0000:03:10.0/iommu_group"
ln -s ../../../bus/pci/drivers/vfio-pci "$D/0000:03:10.2/driver"
ln -s ../../../bus/pci/devices/0000:03:00.0 "$S/sys/class/net/ens1f0/device"
ln -s ../../../bus/pci/devices/0000:00:19.0 "$S/sys/class/net/eno1/device"

ok "netd starts with --sysfs-root" start_netd --sysfs-root "$S"
ok "sriov-list shows the PF with its VF counts" \
	bash -c "$NETCTL sriov-list | grep -q '^ens1f0  0000:03:00.0  driver ixgbe  VFs 2 of 8'"
ok "...each VF with PCI address, netdev, driver and IOMMU group" \
	bash -c "$NETCTL sriov-list ens1f0 > $T/l && grep -Eq '^ *0 +0000:03:10.0 +ens1f0v0 +ixgbevf +42' $T/l && grep -Eq '^ *1 +0000:03:10.2 +- +vfio-pci +-' $T/l"
ok "--json gives the same as data" \
	bash -c "$NETCTL --json sriov-list | grep -q '\"iommu_group\": 42'"
ok "interfaces that are not PFs are left out" \
	bash -c "! $NETCTL sriov-list | grep -q eno1"
fails "a NIC without SR-IOV is named as such" "'eno1' is not an SR-IOV physical function" \
	$NETCTL sriov-list eno1
fails "an unknown interface is refused" "no network interface 'nope0'" \
	$NETCTL sriov-list nope0
finish
