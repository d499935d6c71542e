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
# A network for guest tests, written to stdout: NAME on BRIDGE (NAT, STP
# off), PREFIX.1/24 (PREFIX like 10.77.0), a range .100-.200 and, for each
# N given, the reservation 52:54:00:XX:00:0N -> PREFIX.N named vmN (XX is
# PREFIX's second byte).
guest_net_xml() { # guest_net_xml NAME BRIDGE PREFIX N...
	local name=$1 br=$2 p=$3 n x
	shift 3
	x=$(cut -d. -f2 <<<"$p")
	echo "<network><name>$name</name><forward mode='nat'/>"
	echo "<bridge name='$br' stp='off'/>"
	echo "<ip address='$p.1' netmask='255.255.255.0'><dhcp>"
	echo "<range start='$p.100' end='$p.200'/>"
	for n; do
		printf "<host mac='52:54:00:%s:00:%02x' name='vm%s' ip='%s.%s'/>\n" "$x" "$n" "$n" "$p" "$n"
	done
	echo "</dhcp></ip></network>"
}
# A peer on BRIDGE (in namespace HOST, or the current one with "."): in
# namespace ${NS}p (made with ns_add), eth0 at PREFIX.99 with MAC 52:54:00:XX:00:99, counting
# the echo requests each guest PREFIX.N (N given) sends it ("from-vmN"),
# and all it gets from PREFIX.66 ("from-spoof"): what a guard must drop.
peer_add() { # peer_add HOST BRIDGE PREFIX N...
	local host=$1 br=$2 p=$3 n x rules="" in
	shift 3
	x=$(cut -d. -f2 <<<"$p")
	in=(ip netns exec "$NS$host")
	if [ "$host" = . ]; then
		in=()
		ip link add vpeer type veth peer name eth0 netns "${NS}p"
	else
		ip link add vpeer netns "$NS$host" type veth peer name eth0 netns "${NS}p"
	fi || return 1
	ns p ip link set eth0 address "52:54:00:$x:00:99" up &&
		ns p ip addr add "$p.99/24" dev eth0 || return 1
	for n; do
		rules+="ip saddr $p.$n icmp type echo-request counter comment \"from-vm$n\";"
	done
	ns p nft -f - <<NFT || return 1
table inet count {
	chain in {
		type filter hook prerouting priority -300;
		$rules
		ip saddr $p.66 counter comment "from-spoof"
	}
}
NFT
	"${in[@]}" ip link set vpeer master "$br" up
}
counted() { # counted NAME: packets the peer counted under that name
	ns p nft -j list chain inet count in |
		jq -r ".nftables[] | .rule? // empty | select(.comment == \"$1\") | .expr[] | .counter? // empty | .packets"
}
