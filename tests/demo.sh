#!/usr/bin/env bash
# `make run`: the demo. netd runs in a network namespace of its own with its
# directories in a temp dir (nothing on the host is touched), defines and
# starts examples/default.xml, and a guest - a KVM guest that netvm boots
# (the probe guest) or, where /dev/kvm is not usable, a namespace running
# udhcpc - gets its pinned IP from dnsmasq.
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
EX=$(cd "$(dirname "$0")/../examples" && pwd)
T=$(mktemp -d /tmp/netfabric-demo.XXXXXX)
H=nfdemo$$h G=nfdemo$$g
export NETD_SOCKET=$T/run/netd.sock
cleanup() {
	[ -n "${PID:-}" ] && kill $PID 2>/dev/null
	for n in $H $G; do
		ip netns pids $n 2>/dev/null | xargs -r kill 2>/dev/null || true
		ip netns del $n 2>/dev/null || true
	done
	# dnsmasq's files, where its user could read them (a private temp dir
	# is out of its reach): netd says where in its log
	sed -nE 's|.*addn-hosts go to (/run/netd-dnsmasq/[0-9a-f]+).*|\1|p' \
		"$T/netd.log" 2>/dev/null | xargs -r rm -rf
	rmdir /run/netd-dnsmasq 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
ip netns add $H
ip -n $H link set lo up
ip netns exec $H "$BUILD/netd" --foreground --config-dir "$T/etc" \
	--run-dir "$T/run" --state-dir "$T/lib" 2>"$T/netd.log" &
PID=$!
for _ in $(seq 100); do "$BUILD/netctl" version >/dev/null 2>&1 && break; sleep 0.05; done
echo "netd running (pid $PID) in namespace $H, directories under $T"
say "$BUILD/netctl" net-define "$EX/default.xml"
say "$BUILD/netctl" net-start default
say "$BUILD/netctl" net-list
say "$BUILD/netctl" net-info default
echo
if [ -w /dev/kvm ]; then
	echo "netvm boots the probe guest with MAC 52:54:00:00:00:11 (reserved for vm1) on 'default':"
	say ip netns exec $H "$BUILD/netvm" run --kernel "$BUILD/guest/probe.elf" \
		--mem 16M --name vm1 --console "file:$T/console" \
		--net default,mac=52:54:00:00:00:11 \
		--cmdline "ping=192.168.122.1 serve=4" &
	VM=$!
	for _ in $(seq 200); do grep -q '^probe: serving' "$T/console" 2>/dev/null && break; sleep 0.05; done
	sed 's/^/guest console: /' "$T/console"
	say "$BUILD/netctl" port-list default
	say "$BUILD/netctl" net-dhcp-leases default
	wait $VM
	echo "netvm ended (status $?); its port is released."
else
echo "A guest with MAC 52:54:00:00:00:11 (reserved for vm1) joins nfbr0 and asks for an address:"
ip netns add $G
ip link add vdemo netns $H type veth peer name eth0 netns $G
ip -n $G link set eth0 address 52:54:00:00:00:11
ip -n $G link set eth0 up
ip -n $H link set vdemo master nfbr0 up
cat >"$T/dhcp.sh" <<'SH'
#!/bin/sh
[ "$1" = bound ] && ip addr add "$ip/${mask:-24}" dev "$interface" &&
	echo "guest: got $ip, hostname $hostname, domain $domain, router $router"
SH
chmod +x "$T/dhcp.sh"
ip netns exec $G busybox udhcpc -i eth0 -n -q -t 10 -T 1 -s "$T/dhcp.sh" 2>/dev/null
say "$BUILD/netctl" net-dhcp-leases default
fi
say "$BUILD/netctl" net-destroy default
echo
echo "Demo done: namespaces, bridge, firewall table and dnsmasq are gone."
