# Network-namespace helpers for integration tests: every namespace is
# created by the test, prefixed with a per-run tag, and removed on exit.
# Sourced after lib.sh.
NS=nft$$
NSLIST=()
ns_add() { # ns_add NAME: creates ${NS}NAME with lo up
	ip netns add "$NS$1" && NSLIST+=("$NS$1") &&
		ip -n "$NS$1" link set lo up
}
ns() { local n=$1; shift; ip netns exec "$NS$n" "$@"; }
ns_cleanup() {
	local n
	for n in "${NSLIST[@]}"; do
		# processes left in the namespace (dnsmasq, listeners) go too
		ip netns pids "$n" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$n" 2>/dev/null
	done
	NSLIST=()
}
# A "guest": namespace NAME with eth0 (MAC) plugged by veth into BRIDGE of
# namespace HOST.
guest_add() { # guest_add NAME MAC HOST BRIDGE
	ns_add "$1" || return 1
	ip link add "v$1$$" netns "$NS$3" type veth peer name eth0 netns "$NS$1" &&
		ip -n "$NS$1" link set eth0 address "$2" &&
		ip -n "$NS$1" link set eth0 up &&
		ip -n "$NS$3" link set "v$1$$" master "$4" up
}
UDHCPC_SCRIPT=$T/udhcpc.sh
[ -d "$T" ] || return 0
cat >"$UDHCPC_SCRIPT" <<'SH'
#!/bin/sh
case "$1" in
bound|renew)
	ip addr flush dev "$interface"
	ip addr add "$ip/${mask:-24}" dev "$interface"
	[ -n "$router" ] && ip route replace default via "${router%% *}"
	echo "lease $ip hostname=$hostname domain=$domain" ;;
esac
SH
chmod +x "$UDHCPC_SCRIPT"
dhcp() { # dhcp GUEST: runs a DHCP exchange, prints "lease IP hostname=..."
	ns "$1" busybox udhcpc -i eth0 -n -q -t 8 -T 1 -s "$UDHCPC_SCRIPT" 2>/dev/null |
		grep '^lease'
}
live_dnsmasq() { # pids of running (not zombie) dnsmasq processes
	ps -C dnsmasq -o pid=,stat= 2>/dev/null | awk '$2 !~ /Z/ {print $1}'
}
