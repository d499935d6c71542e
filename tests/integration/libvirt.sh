#!/usr/bin/env bash
# A VM libvirt runs, on a netd network (issue 17): Debian's libvirtd and
# QEMU (domain type='qemu', TCG) boot the stock Debian kernel with a
# busybox initramfs (the nested test bed's guest) on
# <interface type='bridge'><source bridge='...'/>, as virt-install
# --network bridge=... writes it. libvirt makes the TAP; netd adopts it as
# a foreign port, takes the guest's MAC from libvirt's convention, pins
# its reservation and guards it; virsh destroy releases it. Everything
# runs in a private network and mount namespace, libvirt's dirs on tmpfs
# (as make bench-peer does), so the host's libvirt and network stay
# untouched.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../common/libvirt.sh"
if [ "${1:-}" != --inside ]; then
	NF_BUILD=${NF_BUILD:-$(cd "$HERE/../../build" && pwd)}
	if ! libvirt_installed; then
		echo "not ok 1 - libvirt is installed (make deps installs libvirt-daemon and libvirt-clients)"
		echo "1..1"
		exit 1
	fi
	if ! out=$("$HERE/../nested/build.sh" "$NF_BUILD" 2>&1); then
		echo "not ok 1 - the stock kernel and guest initramfs (tests/nested/build.sh): $out"
		echo "1..1"
		exit 1
	fi
	NF_BUILD=$NF_BUILD exec unshare --net --mount --fork -- bash "$0" --inside
fi

. "$HERE/lib.sh"
K=$NF_BUILD/nested
# libvirt's QEMU runs as root here (its files are the test's, in $T), with
# no security driver and its console in a file (no virtlogd)
printf 'user = "root"\ngroup = "root"\nsecurity_driver = "none"\nstdio_handler = "file"\n' >"$T/qemu.conf"
ok "libvirtd starts in the test's namespaces" libvirt_start "$T" "$T/qemu.conf"
V=("${VIRSH[@]}")
# a domain left running (a test stopped half-way) outlives libvirtd: its
# QEMU goes first, then libvirtd, then what lib.sh cleans
libvirt_cleanup() {
	"${V[@]}" destroy lv1 >/dev/null 2>&1
	kill "$LIBVIRT_PID" 2>/dev/null
	wait "$LIBVIRT_PID" 2>/dev/null
	cleanup
}
trap libvirt_cleanup EXIT
# netd in the same network namespace (the bridge must be where libvirt is)
ip link set lo up
"$NETD" --foreground --config-dir "$T/etc" --run-dir "$T/run" --state-dir "$T/lib" \
	2>>"$T/netd.log" &
NETD_PID=$!
netd_up() { for _ in $(seq 100); do "$NETCTL" version >/dev/null 2>&1 && return 0; sleep 0.05; done; return 1; }
ok "netd starts beside it" netd_up
guest_net_xml lv nflv0 10.79.0 5 >"$T/lv.xml"
ok "network lv started" bash -c "$NETCTL net-define $T/lv.xml && $NETCTL net-start lv"
# a peer on the bridge that counts what the guest sends it
ns_add p
peer_add . nflv0 10.79.0 5

cat >"$T/dom.xml" <<EOF
<domain type='qemu'>
  <name>lv1</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$K/vmlinuz</kernel>
    <initrd>$K/guest.cpio.gz</initrd>
    <cmdline>console=ttyS0 quiet nf.peer=10.79.0.99 nf.spoof=10.79.0.66,10.79.0.99,52:54:00:79:00:99 nf.serve=20</cmdline>
  </os>
  <devices>
    <interface type='bridge'>
      <source bridge='nflv0'/>
      <mac address='52:54:00:79:00:05'/>
      <model type='virtio'/>
    </interface>
    <serial type='file'><source path='$T/console.log'/></serial>
  </devices>
</domain>
EOF
ok "virsh create: libvirt starts the domain on netd's bridge" "${V[@]}" create "$T/dom.xml"
VNET=$(ip -o link show master nflv0 | sed -nE 's/^[0-9]+: (vnet[0-9]+)[:@].*/\1/p' | head -1)
wait_for() { for _ in $(seq 100); do "$@" >/dev/null 2>&1 && return 0; sleep 0.05; done; "$@"; }
adopted() { "$NETCTL" --json port-info "$VNET" |
	jq -e '.type == "foreign" and .mac == "52:54:00:79:00:05" and .mac_source == "libvirt" and .ip == "10.79.0.5" and .name == "vm5"' >/dev/null; }
ok "libvirt's TAP ($VNET) is a foreign port: guest MAC from libvirt's convention, pinned, named" wait_for adopted
ok "...guarded: its MAC and pinned IP in the guard sets" \
	bash -c "nft list table bridge netd-lv | grep -q '\"$VNET\" . 52:54:00:79:00:05' && nft list table bridge netd-lv | grep -q '\"$VNET\" . 10.79.0.5'"
wait_line() { # wait_line REGEX (120 s: TCG)
	for _ in $(seq 1200); do grep -qE "$1" "$T/console.log" 2>/dev/null && return 0; sleep 0.1; done
	grep guest "$T/console.log"; return 1
}
ok "the stock kernel's udhcpc gets the pinned address from dnsmasq" wait_line 'guest: lease 10\.79\.0\.5\b'
ok "...pings the peer" wait_line 'guest: ping 10\.79\.0\.99 ok'
ok "...and sends it echo requests from 10.79.0.66" wait_line 'guest: spoof 10\.79\.0\.66 sent to 10\.79\.0\.99'
counts() { sleep 0.5; [ "$(counted from-vm5)" -ge 3 ] && [ "$(counted from-spoof)" = 0 ]; }
ok "the peer counted the guest's pings and none of the spoofed ones" counts
ok "net-dhcp-leases shows the lease" bash -c "$NETCTL net-dhcp-leases lv | grep -q '52:54:00:79:00:05.*10.79.0.5'"
ok "virsh destroy stops the domain" "${V[@]}" destroy lv1
gone() { lacks "$NETCTL" port-list lv "$VNET"; }
ok "...its port is released" wait_for gone
lease_gone() { lacks "$NETCTL" net-dhcp-leases lv 10.79.0.5; }
ok "...its lease too" wait_for lease_gone
ok "...and nothing of it is left on the bridge" \
	bash -c "lacks ip -o link show master nflv0 vnet && [ \"\$($NETCTL --json port-list lv | jq -r '[.[].tap] | join(\" \")')\" = vpeer ]"
finish
