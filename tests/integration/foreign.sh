#!/usr/bin/env bash
# Foreign ports (issue 17): an interface that joins a netd bridge without
# netd making it (a TAP as libvirt makes one, a runner's TAP opened by
# name, a veth) is a port of netd's: listed, guarded (its guest's MAC
# from libvirt's convention or learned by the bridge, its reservation
# pinned), released when it goes; the network's policy (guard, open,
# deny) in netd's XML namespace; re-adopted after a restart.
. "$(dirname "$0")/lib.sh"
ns_add h && ns_add p || { echo "not ok 1 - namespaces"; exit 1; }
NETD_NS=${NS}h
ok "netd starts" start_netd
guest_net_xml f nffor0 10.77.0 5 6 7 >"$T/f.xml"
ok "network f started" bash -c "$NETCTL net-define $T/f.xml && $NETCTL net-start f"
# a peer on the bridge (itself a foreign port, its MAC learned) that
# counts what guests send it
peer_add h nffor0 10.77.0 6
ns p nft add rule inet count in ether saddr 52:54:00:77:00:55 counter comment '"from-fake-mac"'
port_field() { # port_field IFNAME FIELD
	"$NETCTL" --json port-info "$1" | jq -r ".$2"
}
wait_for() { # wait_for CMD...: true within 5 s
	for _ in $(seq 100); do "$@" >/dev/null 2>&1 && return 0; sleep 0.05; done
	return 1
}
ok "a veth someone added to the bridge is a port: kind foreign, in port-list" \
	wait_for bash -c "$NETCTL port-list f | grep -E '^ *vpeer +foreign +f '"
ok "...its MAC learned from the first frame the bridge learned there (IPv6 DAD)" \
	wait_for bash -c "[ \"\$($NETCTL --json port-info vpeer | jq -r .mac_source)\" = learned ] && [ \"\$($NETCTL --json port-info vpeer | jq -r .mac)\" = 52:54:00:77:00:99 ]"

# --- libvirt's convention: a TAP whose MAC is the guest's with 0xfe first
ns h ip tuntap add vnet6 mode tap
ns h ip link set vnet6 address fe:54:00:77:00:06
ns h ip link set vnet6 master nffor0 up
ok "a TAP as libvirt makes it (fe:54:00:77:00:06) is adopted, guest MAC 52:54:00:77:00:06" \
	wait_for bash -c "[ \"\$($NETCTL --json port-info vnet6 | jq -r .mac)\" = 52:54:00:77:00:06 ]"
ok "...from libvirt's convention, pinned to its reservation, named after it" \
	bash -c "$NETCTL --json port-info vnet6 | jq -e '.mac_source == \"libvirt\" and .ip == \"10.77.0.6\" and .name == \"vm6\"' >/dev/null"
ok "...guarded: its MAC and pinned IP are in the guard sets" \
	bash -c "ns() { ip netns exec ${NS}h \"\$@\"; }; ns nft list table bridge netd-f | grep -q '\"vnet6\" . 52:54:00:77:00:06' && ns nft list table bridge netd-f | grep -q '\"vnet6\" . 10.77.0.6'"
# a guest on it: netvm opens the TAP by name, as QEMU's ifname= does
(ip netns exec "${NS}h" "$NETVM" run --kernel "$PROBE" --mem 16M --console "file:$T/g6" \
	--net tap=vnet6,mac=52:54:00:77:00:06 \
	--cmdline "count=2 ping=10.77.0.99 spoof=10.77.0.66 serve=30" 2>"$T/g6.log") &
G6=$!
wait_line() { # wait_line FILE REGEX (60 s)
	for _ in $(seq 600); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
	cat "$1"; return 1
}
ok "the guest on it gets its pinned IP from dnsmasq" wait_line "$T/g6" '^lease 10\.77\.0\.6$'
ok "...pings the peer from it" wait_line "$T/g6" '^ping 10\.77\.0\.99 ok 2/2$'
ok "...and sends it two echo requests from 10.77.0.66" wait_line "$T/g6" '^spoof 10\.77\.0\.66 sent 2 to 10\.77\.0\.99$'
pin_not_spoof() { sleep 0.5; [ "$(counted from-vm6)" -ge 2 ] && [ "$(counted from-spoof)" = 0 ]; }
ok "the peer counted the pinned ones and none of the spoofed" pin_not_spoof
owner_is_netvm() {
	local pid
	pid=$(port_field vnet6 owner_pid)
	[ "$(cat /proc/$pid/comm 2>/dev/null)" = netvm ] && tr '\0' ' ' </proc/$pid/cmdline | grep -q vnet6 ||
		{ echo "owner_pid $pid: $(tr '\0' ' ' </proc/$pid/cmdline 2>&1)"; return 1; }
}
ok "port-info names the process holding the TAP (netvm)" owner_is_netvm
kill $G6; wait $G6 2>/dev/null
ok "the lease is in net-dhcp-leases" bash -c "$NETCTL net-dhcp-leases f | grep -q '10.77.0.6'"
ns h ip link del vnet6
ok "deleting the interface releases the port" \
	wait_for lacks "$NETCTL" port-list f vnet6
ok "...and its lease" wait_for lacks "$NETCTL" net-dhcp-leases f '10.77.0.6'

# --- a veth guest whose MAC the bridge has to learn ---------------------
guest_add g5 52:54:00:77:00:05 h nffor0
ns g5 sysctl -qw net.ipv6.conf.all.disable_ipv6=1
ns g5 ip addr add 10.77.0.55/24 dev eth0
ok "before it is identified, a port passes nothing but DHCP and probes: a static guest cannot ping" \
	bash -c "! ip netns exec ${NS}g5 busybox ping -c 2 -W 1 10.77.0.99 >/dev/null"
ok "...port-list shows its MAC as not known yet" \
	bash -c "$NETCTL port-list f | grep -qE '^ *vg5[0-9]* +foreign .*\(learning\)'"
ns g5 ip addr flush dev eth0
g5_lease() { dhcp g5 | grep -q 'lease 10.77.0.5 hostname=vm5'; }
ok "its DHCP discover identifies it: the lease is its reservation" g5_lease
ok "...port-list shows the MAC the bridge learned, pinned" \
	bash -c "$NETCTL port-list f | grep -qE 'foreign +f +vm5 +52:54:00:77:00:05 +10.77.0.5'"
ok "now it pings the peer" ns g5 busybox ping -c 1 -W 2 10.77.0.99
ns g5 ip link set eth0 down
ns g5 ip link set eth0 address 52:54:00:77:00:55
ns g5 ip link set eth0 up
ns g5 ip addr add 10.77.0.5/24 dev eth0 2>/dev/null
ns g5 busybox ping -c 2 -W 1 10.77.0.99 >/dev/null
ok "the MAC is sticky: frames from another MAC on that port never reach the peer" \
	test "$(counted from-fake-mac)" = 0
G5IF=$(ns h ip -o link show master nffor0 | sed -nE 's/^[0-9]+: (vg5[0-9]*)@.*/\1/p')
ns h ip link set "$G5IF" nomaster
ok "an interface that leaves the bridge is released" wait_for lacks "$NETCTL" port-list f "$G5IF"

# --- a guest that claims a MAC another port holds -----------------------
guest_add g9 52:54:00:77:00:99 h nffor0
g9_refused() { sleep 1; ! dhcp g9 >/dev/null && $NETCTL port-list f | grep -E '^ *vg9[0-9]* +foreign .*\(learning\)'; }
ok "a port not identified yet whose frames carry a MAC another port has: dropped, no lease" g9_refused
ok "...and the bridge still has that MAC on the port that owns it (its table not poisoned)" \
	bash -c "bridge -n ${NS}h fdb show br nffor0 | grep -q '52:54:00:77:00:99 dev vpeer master nffor0'"
ns_del_guest() { ip netns del "${NS}$1"; }
ns_del_guest g9

# --- events ---------------------------------------------------------------
"$NETCTL" net-event --event port --loop --timeout 5 >"$T/events" &
EV=$!
sleep 0.3
ns h ip tuntap add vnet7 mode tap
ns h ip link set vnet7 master nffor0 up
wait_for bash -c "$NETCTL port-list f | grep -q vnet7"
ns h ip link del vnet7
wait $EV
ok "net-event --event port shows the foreign port added and removed" \
	bash -c "grep -qx \"event 'port' for network f: Port-added vnet7\" $T/events && grep -qx \"event 'port' for network f: Port-removed vnet7\" $T/events"

# --- the policy, in netd's namespace -------------------------------------
NETDNS=https://netfabric.dev/xmlns/netd/1
ns h ip tuntap add vnet8 mode tap
ns h ip link set vnet8 address fe:54:00:77:00:07
ns h ip link set vnet8 master nffor0 up
wait_for bash -c "$NETCTL port-list f | grep -q vnet8"
ok "net-metadata sets policy='deny' live and in the definition" \
	$NETCTL net-metadata f $NETDNS --key netd --set "<foreign-ports policy='deny'/>" --live --config
ok "...the foreign ports are denied: in the guard set with no MAC, so nothing passes" \
	bash -c "$NETCTL --json port-info vnet8 | jq -e '.denied == true and .mac == \"\"' >/dev/null && ip netns exec ${NS}h nft list set bridge netd-f guarded | grep -q vnet8 && ! ip netns exec ${NS}h nft list set bridge netd-f macs | grep -q vnet8"
ok "...dumpxml carries the policy in netd's namespace" \
	bash -c "$NETCTL net-dumpxml f | grep -q \"<netd:foreign-ports xmlns:netd=\\\"$NETDNS\\\" policy=\\\"deny\\\"/>\""
ok "policy='open': foreign ports are listed but not guarded" \
	bash -c "$NETCTL net-metadata f $NETDNS --key netd --set \"<foreign-ports policy='open'/>\" --live >/dev/null && $NETCTL --json port-info vnet8 | jq -e '.filter == false' >/dev/null && ! ip netns exec ${NS}h nft list set bridge netd-f guarded | grep -q vnet8"
ok "back to guard" \
	bash -c "$NETCTL net-metadata f $NETDNS --key netd --set \"<foreign-ports policy='guard'/>\" --live --config >/dev/null && $NETCTL --json port-info vnet8 | jq -e '.filter and .mac == \"52:54:00:77:00:07\"' >/dev/null"
ok "...a net-update of another part keeps the policy (live and in the definition)" \
	bash -c "$NETCTL net-update f add ip-dhcp-host \"<host mac='52:54:00:77:00:08' ip='10.77.0.8'/>\" --live --config >/dev/null && $NETCTL net-dumpxml f | grep -q \"policy=\\\"guard\\\"\" && $NETCTL net-dumpxml --inactive f | grep -q \"policy=\\\"guard\\\"\""
sed "s|</network>|<metadata><netd:foreign-ports xmlns:netd='$NETDNS' policy='allow'/></metadata></network>|; s/<name>f</<name>g</" "$T/f.xml" >"$T/bad.xml"
fails "an unknown policy is refused at define, naming it" "policy='allow' is invalid; expected guard" \
	$NETCTL net-define "$T/bad.xml"

# --- macTableManager='libvirt': a foreign port's MAC is programmed too ---
sed "s/<name>f</<name>m</; s/nffor0/nfmac0/; s/10\.77\./10.76./g; s/<bridge name='nfmac0'/<bridge name='nfmac0' macTableManager='libvirt'/" "$T/f.xml" >"$T/m.xml"
ok "a network with macTableManager='libvirt'" bash -c "$NETCTL net-create $T/m.xml >/dev/null"
ns h ip tuntap add vnetm mode tap
ns h ip link set vnetm address fe:54:00:77:00:05
ns h ip link set vnetm master nfmac0 up
fdb_static() { bridge -n "${NS}h" fdb show dev vnetm | grep -q '52:54:00:77:00:05 master nfmac0 static' &&
	ip -n "${NS}h" -d link show vnetm | grep -q 'learning off'; }
ok "...a foreign port's guest MAC is a static entry of the bridge, learning off" wait_for fdb_static
ns h ip link del vnetm
ok "...destroyed" $NETCTL net-destroy m

# --- restart ----------------------------------------------------------------
stop_netd -KILL
ns h ip tuntap add vnet9 mode tap
ns h ip link set vnet9 master nffor0 up
# a guest that spoke while netd was down: the bridge learned its MAC then
guest_add g3 52:54:00:77:00:33 h nffor0
learned_before() { bridge -n "${NS}h" fdb show br nffor0 | grep -q '52:54:00:77:00:33 dev vg3'; }
ok "...a guest added while netd is down speaks (its MAC in the bridge's table)" wait_for learned_before
ok "netd restarts" start_netd
ok "...its foreign ports are re-adopted (vnet8 as it was, pinned)" \
	bash -c "$NETCTL --json port-info vnet8 | jq -e '.type == \"foreign\" and .ip == \"10.77.0.7\"' >/dev/null"
ok "...and one added while it was down is adopted" \
	bash -c "$NETCTL --json port-info vnet9 | jq -e '.type == \"foreign\"' >/dev/null"
G3IF=$(ns h ip -o link show master nffor0 | sed -nE 's/^[0-9]+: (vg3[0-9]*)@.*/\1/p')
ok "...that guest's port takes the MAC the bridge learned before netd saw it" \
	bash -c "$NETCTL --json port-info '$G3IF' | jq -e '.mac == \"52:54:00:77:00:33\" and .mac_source == \"learned\"' >/dev/null"
ok "...guarded again" bash -c "ip netns exec ${NS}h nft list set bridge netd-f guarded | grep -q vnet9 && ip netns exec ${NS}h nft list set bridge netd-f guarded | grep -q vnet8"
ns h ip link del vnet8
ns h ip link del vnet9
ns h ip link del "$G3IF"

# --- how long a foreign TAP is unguarded: 50 times ------------------------
# nft's own monitor stamps each guard element as the kernel commits it
( ns h stdbuf -oL nft monitor new elements | while IFS= read -r l; do
	echo "$EPOCHREALTIME $l"; done >"$T/mon" ) 2>/dev/null &
disown
sleep 0.5
: >"$T/starts"
for i in $(seq 50); do
	ns h ip tuntap add "vt$i" mode tap
	echo "$i $EPOCHREALTIME" >>"$T/starts"
	ns h ip link set "vt$i" master nffor0 up
	for _ in $(seq 200); do grep -q "\"vt$i\"" "$T/mon" && break; sleep 0.005; done
	ns h ip link del "vt$i"
done
while read -r i t0; do
	t1=$(grep -m1 "pending { \"vt$i\" }" "$T/mon" | cut -d' ' -f1)
	[ -n "$t1" ] && awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f\n", (b - a) * 1000}'
done <"$T/starts" | sort -n >"$T/times"
ok "each of 50 foreign TAPs got its guard" test "$(wc -l <"$T/times")" = 50
awk '{a[NR]=$1} END {printf "# figure foreign TAP attached (ip link set master) -> its guard committed (nft monitor): median %.2f ms, max %.2f ms over %d\n", a[int((NR+1)/2)], a[NR], NR}' "$T/times"
grep -oE "adopted on 'f' in [0-9.]+ ms" "$T/netd.log" | awk '{print $5}' | sort -n |
	awk '{a[NR]=$1} END {printf "# figure ...of which inside netd (link event -> guard committed): median %.2f ms, max %.2f ms over %d\n", a[int((NR+1)/2)], a[NR], NR}'
ok "no foreign port is left behind" wait_for bash -c "[ \"\$($NETCTL --json port-list f | jq '[.[] | select(.tap != \"vpeer\")] | length')\" = 0 ]"
finish
