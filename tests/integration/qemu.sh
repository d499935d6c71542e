#!/usr/bin/env bash
# VMs QEMU runs, on netd networks (issue 17): through netd-bridge-helper
# (-netdev bridge,helper=...) and through netctl port-create --exec
# (-netdev tap,fds=...). The guest is the probe guest under QEMU's TCG
# on QEMU's own virtio-net-pci, so the same guest runs on netvm and on
# QEMU: a differential check of netvm's virtio-pci. Each time: the lease
# is the pin, frames from a foreign source IP never reach a peer on the
# bridge, the port is in port-list while the VM runs and gone after.
. "$(dirname "$0")/lib.sh"
ns_add h && ns_add p || { echo "not ok 1 - namespaces"; exit 1; }
NETD_NS=${NS}h
HELPER=$NF_BUILD/netd-bridge-helper
# the socket where an unprivileged QEMU can reach it; members of the
# admin group may make ports (an existing group: the host's /etc stays)
ADMGRP=users
public_socket || { echo "not ok 1 - public dir"; exit 1; }
ok "netd starts (--group $ADMGRP)" start_netd --socket "$NETD_SOCKET" --group $ADMGRP
guest_net_xml q nfq0 10.78.0 5 6 7 >"$T/q.xml"
ok "network q started" bash -c "$NETCTL net-define $T/q.xml && $NETCTL net-start q"
# a peer on the bridge that counts what each guest sends it
peer_add h nfq0 10.78.0 5 6
UNPRIV="setpriv --reuid=nobody --regid=nogroup --groups=$(getent group $ADMGRP | cut -d: -f3)"
QEMU="qemu-system-x86_64 -accel tcg -M pc -m 64 -kernel $PROBE -nographic -no-reboot"
wait_line() { # wait_line FILE REGEX (120 s: TCG)
	for _ in $(seq 1200); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
	cat "$1"; return 1
}

# --- QEMU's bridge helper, run unprivileged ---------------------------
ip netns exec "$NETD_NS" $UNPRIV env NETD_SOCKET="$NETD_SOCKET" $QEMU \
	-append "count=2 ping=10.78.0.99 spoof=10.78.0.66 serve=60" \
	-netdev bridge,id=n0,br=nfq0,helper="$HELPER" \
	-device virtio-net-pci,netdev=n0,mac=52:54:00:78:00:05 >"$T/vm5" 2>&1 &
VM5=$!
ok "helper: the probe guest drives QEMU's virtio-net-pci (transitional, modern caps in BAR4)" \
	wait_line "$T/vm5" '^probe: virtio-net 52:54:00:78:00:05$'
ok "helper: QEMU run by an unprivileged member of --group gets its TAP; the guest gets its pin" \
	wait_line "$T/vm5" '^lease 10\.78\.0\.5$'
ok "...pings the peer and sends it two echo requests from 10.78.0.66" \
	wait_line "$T/vm5" '^spoof 10\.78\.0\.66 sent 2 to 10\.78\.0\.99$'
vm5_counts() { sleep 0.5; [ "$(counted from-vm5)" -ge 2 ] && [ "$(counted from-spoof)" = 0 ]; }
ok "...the peer counted its pinned pings and none of the spoofed" vm5_counts
TAP5=$("$NETCTL" --json port-list q | jq -r '.[] | select(.mac == "52:54:00:78:00:05") | .tap')
ok "...its port (a netd TAP, the MAC learned, pinned) is in port-list, owned by the QEMU user" \
	bash -c "$NETCTL --json port-info '$TAP5' | jq -e '.type == \"tap\" and .mac_source == \"learned\" and .ip == \"10.78.0.5\" and .owner_uid == $(id -u nobody)' >/dev/null"
kill $VM5; wait $VM5 2>/dev/null
wait_gone() { for _ in $(seq 100); do lacks "$@" >/dev/null 2>&1 && return 0; sleep 0.05; done; lacks "$@"; }
ok "...QEMU gone: the port is released" wait_gone "$NETCTL" port-list q "52:54:00:78:00:05"
ok "...its lease too" wait_gone "$NETCTL" net-dhcp-leases q "10.78.0.5"
ok "...and its TAP" bash -c "[ -n '$TAP5' ] && no_link ${NS}h '$TAP5'"
fails "helper: a user outside --group is refused, and QEMU says why" "netd-bridge-helper: netd refused" \
	ip netns exec "$NETD_NS" setpriv --reuid=nobody --regid=nogroup --clear-groups \
	env NETD_SOCKET="$NETD_SOCKET" $QEMU -netdev bridge,id=n0,br=nfq0,helper="$HELPER" \
	-device virtio-net-pci,netdev=n0
fails "helper: a bridge no netd network has is refused, naming it" "no active netd network has the bridge 'virbr9'" \
	ip netns exec "$NETD_NS" env NETD_SOCKET="$NETD_SOCKET" $QEMU \
	-netdev bridge,id=n0,br=virbr9,helper="$HELPER" -device virtio-net-pci,netdev=n0

# --- netctl port-create --exec: QEMU's -netdev tap,fds= ---------------
ip netns exec "$NETD_NS" $UNPRIV env NETD_SOCKET="$NETD_SOCKET" \
	"$NETCTL" port-create q --mac 52:54:00:78:00:06 --queues 2 --exec -- sh -c \
	'echo "env fds=$NETD_PORT_FDS mac=$NETD_PORT_MAC ip=$NETD_PORT_IP tap=$NETD_PORT_TAP"
	exec '"$QEMU"' -append "count=2 ping=10.78.0.99 spoof=10.78.0.66 serve=60" \
	-netdev tap,id=n0,fds=3:4 -device virtio-net-pci,netdev=n0,mq=on,vectors=6,mac=$NETD_PORT_MAC' \
	>"$T/vm6" 2>&1 &
VM6=$!
ok "--exec: CMD gets the port's two queue fds at 3 and 4 and its facts in the environment" \
	wait_line "$T/vm6" '^env fds=3:4 mac=52:54:00:78:00:06 ip=10.78.0.6 tap=nfp'
ok "...QEMU (tap,fds=3:4, multiqueue) boots the guest, which gets its pin" \
	wait_line "$T/vm6" '^lease 10\.78\.0\.6$'
ok "...and sends the spoofed pings" wait_line "$T/vm6" '^spoof 10\.78\.0\.66 sent 2 to 10\.78\.0\.99$'
vm6_counts() { sleep 0.5; [ "$(counted from-vm6)" -ge 2 ] && [ "$(counted from-spoof)" = 0 ]; }
ok "...the peer counted its pings and, again, none of the spoofed" vm6_counts
ok "...its port is in port-list while CMD runs" \
	bash -c "$NETCTL port-list q | grep -qE 'tap +q +vm6 +52:54:00:78:00:06 +10.78.0.6'"
kill -TERM $VM6
ok "...SIGTERM to netctl reaches QEMU: both end" bash -c "for _ in \$(seq 100); do kill -0 $VM6 2>/dev/null || exit 0; sleep 0.1; done; exit 1"
wait $VM6 2>/dev/null
ok "...the port went with CMD" wait_gone "$NETCTL" port-list q "52:54:00:78:00:06"
ok "--exec returns CMD's exit status" bash -c "$NETCTL port-create q --exec -- sh -c 'exit 7'; [ \$? = 7 ]"
fails "--exec with --persist is refused" "outlive netctl" $NETCTL port-create q --persist x0 --exec -- true
ok "nothing but the peer is left on the network" \
	bash -c "[ \"\$($NETCTL --json port-list q | jq -r '[.[].tap] | join(\" \")')\" = vpeer ]"
finish
