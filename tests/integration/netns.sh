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
# An uplink: HOST's up0 10.99.0.1 <-> OUTSIDE's eth0 10.99.0.2; the
# outside counts who reaches it (seen from-uplink|from-guest).
uplink_add() { # uplink_add HOST OUTSIDE (both made with ns_add)
	ip link add up0 netns "$NS$1" type veth peer name eth0 netns "$NS$2" &&
		ip -n "$NS$1" addr add 10.99.0.1/24 dev up0 &&
		ip -n "$NS$1" link set up0 up &&
		ip -n "$NS$2" addr add 10.99.0.2/24 dev eth0 &&
		ip -n "$NS$2" link set eth0 up || return 1
	UPLINK_OUTSIDE=$2
	ip netns exec "$NS$2" nft -f - <<'NFT'
table inet seen {
	chain input {
		type filter hook input priority 0;
		ip saddr 10.99.0.1 counter comment "from-uplink"
		ip saddr 192.168.0.0/16 counter comment "from-guest"
	}
}
NFT
}
seen() { # seen from-uplink|from-guest : packets the outside counted
	ip netns exec "$NS$UPLINK_OUTSIDE" nft list table inet seen |
		grep "comment \"$1\"" | sed -E 's/.*packets ([0-9]+).*/\1/'
}
