#!/usr/bin/env bash
# SR-IOV through netd (issue 7). No SR-IOV hardware, netdevsim or vfio on
# this machine, so netd runs against a fake sysfs tree (--sysfs-root) whose
# VF attributes are kept by the fake PF driver behind the rtnetlink seam
# (SYSROOT/vfnl/IFINDEX). The test plays the kernel where a driver would
# react (a VF's driver link moves to vfio-pci once netd probed it). Real
# kernel objects stand in where they can: veth links named like the VF
# netdevs carry the passthrough macvtaps, and a probe guest under netvm
# gets its lease through one from a dnsmasq on the far side.
. "$(dirname "$0")/lib.sh"
S=$T/sysfs
D=$S/sys/bus/pci/devices
DRV=$S/sys/bus/pci/drivers
G=$S/sys/kernel/iommu_groups
mkdir -p "$D/0000:03:00.0/net/ens1f0" "$D/0000:03:10.0/net/ens1f0v0" \
	"$D/0000:03:10.2" "$D/0000:03:10.4/net/ens1f0v2" "$D/0000:03:10.6" \
	"$D/0000:00:19.0" "$S/sys/class/net/ens1f0" "$S/sys/class/net/eno1" \
	"$DRV/ixgbe" "$DRV/ixgbevf" "$DRV/vfio-pci" "$DRV/e1000e" \
	"$G/42/devices" "$G/43/devices" "$G/44/devices" "$S/dev/vfio" "$S/vfnl"
echo 8 >"$D/0000:03:00.0/sriov_totalvfs"
echo 3 >"$D/0000:03:00.0/sriov_numvfs"
echo 50 >"$S/sys/class/net/ens1f0/ifindex"
ln -s ../../drivers/ixgbe "$D/0000:03:00.0/driver"
vf() { # vf N PCI DRIVER GROUP
	ln -s "../$2" "$D/0000:03:00.0/virtfn$1"
	ln -s ../0000:03:00.0 "$D/$2/physfn"
	ln -s "../../drivers/$3" "$D/$2/driver"
	ln -s "../../../../kernel/iommu_groups/$4" "$D/$2/iommu_group"
	ln -s "../../../../bus/pci/devices/$2" "$G/$4/devices/$2"
}
vf 0 0000:03:10.0 ixgbevf 42
vf 1 0000:03:10.2 vfio-pci 43
vf 2 0000:03:10.4 ixgbevf 44
# group 44 also holds a device the host uses: VF 2 cannot be assigned
ln -s ../../drivers/e1000e "$D/0000:03:10.6/driver"
ln -s ../../../../bus/pci/devices/0000:03:10.6 "$G/44/devices/0000:03:10.6"
: >"$S/dev/vfio/42"
ln -s ../../../bus/pci/devices/0000:03:00.0 "$S/sys/class/net/ens1f0/device"
ln -s ../../../bus/pci/devices/0000:00:19.0 "$S/sys/class/net/eno1/device"
# the fake PF driver's VF table: index mac vlan qos proto spoofchk trust
# link min max (the state before netd)
ORIG0="0 aa:bb:cc:00:00:10 0 0 8100 0 1 0 0 0"
cat >"$S/vfnl/50" <<V
$ORIG0
1 aa:bb:cc:00:00:12 0 0 8100 1 0 0 0 0
2 aa:bb:cc:00:00:14 7 0 8100 1 0 0 0 0
V

ok "netd starts with --sysfs-root" start_netd --sysfs-root "$S" --log-level debug
ok "sriov-list shows the PF with its VF counts" \
	bash -c "$NETCTL sriov-list | grep -q '^ens1f0  0000:03:00.0  driver ixgbe  VFs 3 of 8'"
ok "...each VF with PCI address, netdev, driver, IOMMU group and the PF driver's MAC/VLAN/spoofchk/trust/link" \
	bash -c "$NETCTL sriov-list ens1f0 > $T/l && grep -Eq '^ *0 +0000:03:10.0 +ens1f0v0 +ixgbevf +42 +aa:bb:cc:00:00:10 +- +no +yes +auto +-' $T/l && grep -Eq '^ *1 +0000:03:10.2 +- +vfio-pci +43 ' $T/l && grep -Eq '^ *2 .* 7 +yes +no ' $T/l"
ok "--json gives the same as data" \
	bash -c "$NETCTL --json sriov-list | grep -q '\"iommu_group\": 42'"
ok "interfaces that are not PFs are left out" \
	lacks $NETCTL sriov-list eno1
fails "a NIC without SR-IOV is named as such" "'eno1' is not an SR-IOV physical function" \
	$NETCTL sriov-list eno1
fails "an unknown interface is refused" "no network interface 'nope0'" \
	$NETCTL sriov-list nope0

# --- net-start checks -------------------------------------------------------
net() { # net NAME FORWARD-BODY [MODE] [EXTRA]
	cat >"$T/$1.xml" <<X
<network><name>$1</name><forward mode='${3:-hostdev}' ${3:+}$([ "${3:-hostdev}" = hostdev ] && echo "managed='yes'")>$2</forward>$4</network>
X
	$NETCTL net-define "$T/$1.xml" >/dev/null
}
net nopf "<pf dev='nope0'/>"
fails "net-start: a missing PF is named" "no network interface 'nope0'" $NETCTL net-start nopf
net nosriov "<pf dev='eno1'/>"
fails "net-start: a PF without SR-IOV is named" "'eno1' is not an SR-IOV physical function" \
	$NETCTL net-start nosriov
net badvf "<address type='pci' domain='0' bus='3' slot='0x11' function='0'/>"
fails "net-start: a listed VF that does not exist is named" "no PCI device 0000:03:11.0" \
	$NETCTL net-start badvf
ok "nothing of those networks is active" lacks $NETCTL net-list 'nopf|nosriov|badvf'

# --- hostdev: assignment ------------------------------------------------------
net hd "<pf dev='ens1f0'/><driver name='vfio'/>" hostdev "<vlan><tag id='42'/></vlan>"
ok "a hostdev network on the PF starts" $NETCTL net-start hd
ok "port-create hands out VF 0 (VF 1 is vfio-pci's already, VF 2's group is shared)" \
	bash -c "$NETCTL port-create hd --mac 52:54:00:00:00:21 --name vm1 --keep >$T/p1 && grep -q 'Device: *0000:03:10.0 netdev ens1f0v0' $T/p1 && grep -q 'VFIO: */dev/vfio/42' $T/p1 && grep -q 'Type: *hostdev' $T/p1"
REC=$T/lib/vfs/0000:03:10.0.json
ok "the original VF state was recorded in the state dir" \
	bash -c "grep -q '\"mac\": \"aa:bb:cc:00:00:10\"' $REC && grep -q '\"driver\": \"ixgbevf\"' $REC && grep -q '\"stage\": \"assigned\"' $REC && grep -q '\"netdev\": \"ens1f0v0\"' $REC"
ok "the PF driver has the guest's MAC, VLAN 42, spoofchk on, trust off, link auto on VF 0" \
	grep -qx '0 52:54:00:00:00:21 42 0 8100 1 0 0 0 0' "$S/vfnl/50"
ok "...and nothing changed on the other VFs" \
	bash -c "grep -qx '1 aa:bb:cc:00:00:12 0 0 8100 1 0 0 0 0' $S/vfnl/50 && grep -qx '2 aa:bb:cc:00:00:14 7 0 8100 1 0 0 0 0' $S/vfnl/50"
ok "sysfs: unbound from ixgbevf, driver_override vfio-pci, drivers_probe" \
	bash -c "[ \"\$(cat $DRV/ixgbevf/unbind)\" = 0000:03:10.0 ] && [ \"\$(cat $D/0000:03:10.0/driver_override)\" = vfio-pci ] && [ \"\$(cat $S/sys/bus/pci/drivers_probe)\" = 0000:03:10.0 ]"
last_writes() { # last_writes EXPECTED...: netd's last sysfs writes, in order
	local want
	want=$(printf 'sysfs: %s\n' "$@")
	[ "$(grep -o 'sysfs: .*' "$T/netd.log" | tail -n $#)" = "$want" ]
}
ok "...written in that order" last_writes \
	"sys/bus/pci/devices/0000:03:10.0/driver/unbind <- 0000:03:10.0" \
	"sys/bus/pci/devices/0000:03:10.0/driver_override <- vfio-pci" \
	"sys/bus/pci/drivers_probe <- 0000:03:10.0"
# the kernel would now show the VF bound to vfio-pci
ln -sfn ../../drivers/vfio-pci "$D/0000:03:10.0/driver"
ok "sriov-list names the port that holds VF 0 and its new state" \
	bash -c "$NETCTL sriov-list ens1f0 | grep -Eq '^ *0 +0000:03:10.0 .*vfio-pci +42 +52:54:00:00:00:21 +42 +yes +no +auto +vm1'"
fails "with every VF taken, port-create says why for each" \
	"no free VF: 0000:03:10.0 is held by port vm1; 0000:03:10.2 is bound to vfio-pci by someone else; IOMMU group 44 of VF 0000:03:10.4 also holds 0000:03:10.6, bound to e1000e" \
	$NETCTL port-create hd --keep
fails "sriov-set-numvfs is refused while a VF is assigned" "assigned to port vm1" \
	$NETCTL sriov-set-numvfs ens1f0 4
fails "netvm refuses a hostdev port, saying why" "no VFIO device assignment" \
	"$NF_BUILD/netvm" run --kernel "$NF_BUILD/guest/probe.elf" --net hd

# --- hostdev: release ---------------------------------------------------------
ok "port-delete releases the VF" $NETCTL port-delete vm1
ok "...unbound from vfio-pci, driver_override cleared, host driver reprobed" \
	bash -c "[ \"\$(cat $DRV/vfio-pci/unbind)\" = 0000:03:10.0 ] && [ \"\$(cat $D/0000:03:10.0/driver_override)\" = '' ] && [ \"\$(cat $S/sys/bus/pci/drivers_probe)\" = 0000:03:10.0 ]"
ok "...the VF's MAC, VLAN, spoofchk, trust and link are as before" \
	grep -qx "$ORIG0" "$S/vfnl/50"
ok "...in the order unbind, clear override, (VF attributes), probe" last_writes \
	"sys/bus/pci/devices/0000:03:10.0/driver/unbind <- 0000:03:10.0" \
	"sys/bus/pci/devices/0000:03:10.0/driver_override <- " \
	"sys/bus/pci/drivers_probe <- 0000:03:10.0"
ok "...and the VF attributes went back one at a time: VLAN, spoofchk, MAC, trust, rate, link (the PF driver's trace)" \
	bash -c "[ \"\$(tail -6 $S/vfnl/50.trace | tr '\n' ' ')\" = '0 vlan 0 spoofchk 0 mac 0 trust 0 rate 0 link ' ]"
ok "...and the record is gone" test ! -e "$REC"
ln -sfn ../../drivers/ixgbevf "$D/0000:03:10.0/driver"

# --- kill -9, then a netd that finds the record -----------------------------
echo 4 >"$S/vfnl/50.lag" # the PF driver shows a new MAC on the 4th read
$NETCTL port-create hd --mac 52:54:00:00:00:22 --name vm2 --vlan 100 --vlan-proto 802.1ad --keep >"$T/slow.out" 2>&1 &
SLOW=$!
sleep 0.03
# while the VF waits for its MAC (140 ms of read-backs), netd answers
t0=$(date +%s%N)
ok "...netd answers others while a VF port waits for its PF driver" \
	bash -c "$NETCTL version && kill -0 $SLOW"
t1=$(date +%s%N)
echo "# figure root round trip while a VF port waits for a slow PF driver: $(( (t1 - t0) / 1000000 )) ms"
ok "...(within 100 ms)" test $(( (t1 - t0) / 1000000 )) -lt 100
wait $SLOW
ok "a VF assigned again (VLAN from the port, 802.1ad; a slow PF driver)" \
	bash -c "grep -q 'Device: *0000:03:10.0' $T/slow.out && grep -qx '0 52:54:00:00:00:22 100 0 88a8 1 0 0 0 0' $S/vfnl/50"
ok "...netd read the MAC back until the driver showed it" \
	bash -c "grep -q 'VF 0 of ens1f0: MAC not shown yet (try 3)' $T/netd.log && ! grep -q 'try 4' $T/netd.log"
rm "$S/vfnl/50.lag"
ln -sfn ../../drivers/vfio-pci "$D/0000:03:10.0/driver"
stop_netd -KILL
ok "after kill -9 the VF stays assigned (nothing runs to undo it)" test -e "$REC"
ok "a restarted netd" start_netd --sysfs-root "$S" --log-level debug
ok "...re-adopts the kept port" \
	bash -c "$NETCTL port-list | grep -q vm2 && test -e $REC"
stop_netd -KILL
rm -rf "$T/run/ports" # as after a reboot: the run dir is gone, the record is not
: >"$DRV/vfio-pci/unbind"
ok "a netd that finds a record no port holds" start_netd --sysfs-root "$S" --log-level debug
ok "...restores the VF" \
	bash -c "! test -e $REC && grep -qx '$ORIG0' $S/vfnl/50 && [ \"\$(cat $DRV/vfio-pci/unbind)\" = 0000:03:10.0 ]"
ln -sfn ../../drivers/ixgbevf "$D/0000:03:10.0/driver"
ok "it logged what it restored" grep -q "0000:03:10.0 was left assigned" "$T/netd.log"

# --- hostdev by PCI address list ---
net hda "<address type='pci' domain='0' bus='3' slot='0x10' function='0'/><address type='pci' domain='0' bus='3' slot='0x10' function='2'/>"
ok "a hostdev network listing VFs by PCI address starts" $NETCTL net-start hda
ok "...hands out the listed VF that is free" \
	bash -c "$NETCTL --json port-create hda --keep --name vm3 | grep -q '\"pci\": \"0000:03:10.0\"'"
ok "...and net-destroy gives it back" \
	bash -c "$NETCTL net-destroy hda >/dev/null && ! test -e $REC && grep -qx '$ORIG0' $S/vfnl/50"

# --- sriov-set-numvfs ---------------------------------------------------------
ok "net-destroy hd" $NETCTL net-destroy hd
ok "sriov-set-numvfs 4" $NETCTL sriov-set-numvfs ens1f0 4
ok "...wrote 0 first, then 4 (the kernel refuses other changes)" last_writes \
	"sys/bus/pci/devices/0000:03:00.0/sriov_numvfs <- 0" \
	"sys/bus/pci/devices/0000:03:00.0/sriov_numvfs <- 4"
fails "more than sriov_totalvfs is refused" "at most 8 VFs" $NETCTL sriov-set-numvfs ens1f0 9

# --- passthrough: macvtap on VF netdevs (veths stand in) --------------------
ns_add o || exit 1
# VF 2's netdev, and a plain netdev, both wired to the outside namespace
ip link add ens1f0v2 netns "$NETD_NS" type veth peer name eth0 netns "${NS}o"
ip link add pt1 netns "$NETD_NS" type veth peer name eth1 netns "${NS}o"
ns o ip addr add 10.77.0.1/24 dev eth0
ns o ip link set eth0 up
ns o ip link set eth1 up
ns o dnsmasq --keep-in-foreground --user=root --port=0 --interface=eth0 \
	--bind-interfaces --dhcp-range=10.77.0.100,10.77.0.150 \
	--dhcp-host=52:54:00:00:00:31,10.77.0.31 --pid-file="$T/o.pid" \
	--dhcp-leasefile="$T/o.leases" 2>"$T/o.log" &
PT1_MAC=$(ip netns exec "$NETD_NS" cat /sys/class/net/pt1/address)
ORIG2="2 aa:bb:cc:00:00:14 7 0 8100 1 0 0 0 0"
net pt "<pf dev='ens1f0'/>" passthrough
ok "a passthrough network on the PF starts" $NETCTL net-start pt
net ptif "<interface dev='pt1'/>" passthrough
ok "a passthrough network on a plain netdev starts" $NETCTL net-start ptif
fails "port-create --ip is refused: netd runs no DHCP there" "no DHCP of netd's" \
	$NETCTL port-create pt --ip 10.77.0.9
ok "port-create on the plain netdev: a passthrough macvtap on it" \
	bash -c "$NETCTL port-create ptif --mac 52:54:00:00:00:41 --name pv --keep >$T/pv && grep -q 'Type: *macvtap' $T/pv && grep -q 'Device: *pt1 netdev pt1' $T/pv"
MVT=$(awk '/^macvtap:/ {print $2}' "$T/pv")
ok "...the macvtap exists in passthru mode on pt1, and pt1 carries the guest's MAC" \
	bash -c "ip -n $NETD_NS -d link show $MVT | grep -q 'macvtap mode passthru' && ip -n $NETD_NS link show $MVT | grep -q '@pt1' && ip -n $NETD_NS link show pt1 | grep -q 'link/ether 52:54:00:00:00:41'"
ok "port-delete: the macvtap is gone, pt1 has its MAC back and is down again" \
	bash -c "$NETCTL port-delete pv >/dev/null && no_link $NETD_NS $MVT && ip -n $NETD_NS link show pt1 | grep -q 'link/ether $PT1_MAC' && ip -n $NETD_NS link show pt1 | grep -q 'state DOWN'"

# a NIC the host has up is taken, as libvirt and oVirt take it, and
# given back up; one with an address, or enslaved, is the host's
ip -n "$NETD_NS" link set pt1 up
ok "a passthrough port on a netdev the host has up" \
	bash -c "$NETCTL port-create ptif --mac 52:54:00:00:00:43 --keep >$T/pvup && ip -n $NETD_NS link show pt1 | grep -q 52:54:00:00:00:43"
ok "...port-delete gives it back with its MAC, up" \
	bash -c "$NETCTL port-delete \$(awk '/^UUID:/ {print \$2}' $T/pvup) >/dev/null && ip -n $NETD_NS link show pt1 | grep -q 'link/ether $PT1_MAC' && ip -n $NETD_NS link show pt1 | grep -q 'state UP'"
ip -n "$NETD_NS" addr add 10.78.0.1/24 dev pt1
net ptup "<interface dev='pt1'/>" passthrough
fails "net-start refuses a listed netdev with an address" \
	"pt1 is in use by the host \(it has the address 10.78.0.1\)" $NETCTL net-start ptup
ip -n "$NETD_NS" addr flush dev pt1
ip -n "$NETD_NS" link add nfhostbr type bridge
ip -n "$NETD_NS" link set pt1 master nfhostbr
fails "...or one enslaved to a bridge of the host's" \
	"pt1 is in use by the host \(it is a port of nfhostbr\)" $NETCTL net-start ptup
ip -n "$NETD_NS" link del nfhostbr
ip -n "$NETD_NS" link set pt1 down
ok "net-destroy gives back what its ports held" \
	bash -c "$NETCTL port-create ptif --mac 52:54:00:00:00:42 --keep >/dev/null && ip -n $NETD_NS link show pt1 | grep -q 52:54:00:00:00:42 && $NETCTL net-destroy ptif >/dev/null && ip -n $NETD_NS link show pt1 | grep -q 'link/ether $PT1_MAC' && lacks ls $T/lib/vfs pt1"

if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	vm() { # vm NAME ARGS: a probe guest under netvm in netd's namespace
		local n=$1; shift
		exec ip netns exec "$NETD_NS" "$NF_BUILD/netvm" run \
			--kernel "$NF_BUILD/guest/probe.elf" --mem 16M --name "$n" \
			--console "file:$T/$n" --status "$T/$n.json" "$@" 2>"$T/$n.log"
	}
	wait_line() { # wait_line NAME REGEX (60 s)
		for _ in $(seq 600); do
			grep -qE "$2" "$T/$1" 2>/dev/null && return 0
			sleep 0.1
		done
		cat "$T/$1" "$T/$1.log"; return 1
	}
	(vm g1 --net pt,mac=52:54:00:00:00:31 --cmdline "ping=10.77.0.1 serve=60") &
	G1=$!
	ok "a probe guest on the passthrough network gets its lease through the macvtap on VF 2's netdev" \
		wait_line g1 '^lease 10\.77\.0\.31$'
	ok "...and pings the DHCP server on the far side" wait_line g1 '^ping 10\.77\.0\.1 ok'
	ok "...its VF carries the guest's MAC with spoofchk on, trust off" \
		grep -qx '2 52:54:00:00:00:31 0 0 8100 1 0 0 0 0' "$S/vfnl/50"
	ok "...netvm's status names the macvtap" \
		bash -c "grep -q '\"ifname\": \"nfm' $T/g1.json || grep -q nfm $T/g1.json"
	ok "sriov-list shows the guest holding VF 2" \
		bash -c "$NETCTL sriov-list ens1f0 | grep -Eq '^ *2 +0000:03:10.4 +ens1f0v2 .* g1 *\$'"
	MVT=$(ip -n "$NETD_NS" -o link show | grep -o 'nfm[0-9a-f]*@ens1f0v2' | cut -d@ -f1)
	stop_netd -KILL
	kill $G1; wait $G1 2>/dev/null
	ok "after kill -9 of netd and the guest's end, a restarted netd" \
		start_netd --sysfs-root "$S" --log-level debug
	ok "...releases the port whose owner is gone: VF 2 restored, macvtap deleted" \
		bash -c "grep -qx '$ORIG2' $S/vfnl/50 && no_link $NETD_NS $MVT && lacks $NETCTL port-list g1"
	(vm g2 --net pt,mac=52:54:00:00:00:32) &
	G2=$!
	ok "a guest that ends by itself gives its port back" \
		bash -c "wait_pid() { while kill -0 $G2 2>/dev/null; do sleep 0.1; done; }; wait_pid; for _ in \$(seq 50); do grep -qx '$ORIG2' $S/vfnl/50 && exit 0; sleep 0.1; done; exit 1"
	ok "...it had a lease from the outside dnsmasq" grep -qE '^lease 10\.77\.0\.1[0-4][0-9]$' "$T/g2"
else
	echo "ok $((TAPN += 1)) - # SKIP /dev/kvm is not usable: no guest on the passthrough network"
fi
finish
