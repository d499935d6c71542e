#!/usr/bin/env bash
# Ports and pinning: TAP handout, enforcement with real frames, live
# net-update, release when the fd closes; port commands and their errors.
. "$(dirname "$0")/lib.sh"
ns_add h && ns_add p || { echo "not ok 1 - namespaces"; exit 1; }
NETD_NS=${NS}h
ok "netd starts" start_netd
sed "s/stp='on'/stp='off'/" "$EXAMPLES/default.xml" >"$T/default.xml"
ok "default network started" \
	bash -c "$NETCTL net-define $T/default.xml && $NETCTL net-start default"
HOSTS=$(hostsfile default)
ok "the network's hostsfile is where dnsmasq's user can read it" \
	setpriv --reuid=dnsmasq --regid=nogroup --clear-groups test -r "$HOSTS"
# a peer on the bridge that sees what guests send
ip link add vpeer netns "${NS}h" type veth peer name eth0 netns "${NS}p"
ns h ip link set vpeer master nfbr0 up
ns p ip link set eth0 up

# the test plays the guest on the TAP fd (see tests/guestsim/test_ports.c)
out=$(ns h "$NF_BUILD/helpers/guest_ports" "$NETD_SOCKET" "${NS}p" eth0 2>&1)
rc=$?
while IFS= read -r line; do
	case $line in
	"ok "*) TAPN=$((TAPN + 1)); echo "ok $TAPN - ${line#ok * - }" ;;
	"not ok "*) TAPN=$((TAPN + 1)); TAPFAIL=$((TAPFAIL + 1))
		echo "not ok $TAPN - ${line#not ok * - }" ;;
	"#"*) echo "$line" ;;
	esac
done <<<"$out"
ok "the guest simulation finished cleanly" test "$rc" = 0

# ports from the command line (persistent: they outlive netctl)
ok "port-create --persist with a reserved MAC: its reserved IP, and its name" \
	bash -c "$NETCTL port-create default --mac 52:54:00:00:00:14 --persist nft4 >$T/p4 && grep -q 'IP: *192.168.122.14' $T/p4 && grep -q 'Name: *vm4' $T/p4"
ok "...kept by netd (not by netctl, which has exited)" \
	bash -c "$NETCTL port-info nft4 | grep -q 'Owner: *netd (kept until port-delete), made by uid 0'"
ok "the TAP exists on the bridge with the guest MAC's twin (fe:...)" \
	bash -c "ip -n ${NS}h link show nft4 | grep -q 'master nfbr0' && ip -n ${NS}h link show nft4 | grep -q 'link/ether fe:54:00:00:00:14'"
guarded() { # guarded TAP MAC [IP]: the port's elements are in the guard sets
	local sets
	sets=$(ip netns exec "${NS}h" nft list table bridge netd-default) || return 1
	grep -q "\"$1\" . $2" <<<"$sets" &&
	{ [ -z "${3:-}" ] || grep -q "\"$1\" . $3" <<<"$sets"; }
}
ok "its guard (MAC and IP in the guard sets) is installed" \
	guarded nft4 52:54:00:00:00:14 192.168.122.14
ok "port-create --ip pins an unreserved address live" \
	bash -c "$NETCTL port-create default --ip 192.168.122.60 --name web --persist nft5 >/dev/null && grep -q ',192.168.122.60,web' $HOSTS"
fails "an IP pinned to another port is refused, naming it" \
	"192.168.122.60 is already pinned to port nft5" \
	$NETCTL port-create default --ip 192.168.122.60 --persist nft6
fails "a MAC already in use is refused" "already in use on network 'default' by port nft4" \
	$NETCTL port-create default --mac 52:54:00:00:00:14 --persist nft6
fails "an IP outside the subnet is refused" "outside every subnet" \
	$NETCTL port-create default --ip 10.0.0.5 --persist nft6
fails "an IP reserved for another MAC is refused" "192.168.122.11 is reserved for 52:54:00:00:00:11" \
	$NETCTL port-create default --ip 192.168.122.11 --persist nft6
fails "--ip against the MAC's own reservation is refused" "reserved for 192.168.122.15" \
	$NETCTL port-create default --mac 52:54:00:00:00:15 --ip 192.168.122.77 --persist nft6
ok "...and none of those left a TAP" no_link ${NS}h nft6
ip -n "${NS}h" tuntap add dev theirs0 mode tap
fails "--persist on a TAP netd did not make is refused" \
	"interface theirs0 already exists; netd makes its own TAPs" \
	$NETCTL port-create default --persist theirs0
ok "...and that TAP is left as it was (no bridge, no mark)" \
	bash -c "ip -n ${NS}h -d link show theirs0 >$T/theirs && ! grep -q master $T/theirs && ! grep -q 'alias' $T/theirs"
ip -n "${NS}h" link del theirs0
ok "--name matching a <host name> takes its MAC and IP" \
	bash -c "$NETCTL port-create default --name vm2 --persist nft10 > $T/p10 && grep -q 'MAC: *52:54:00:00:00:12' $T/p10 && grep -q 'IP: *192.168.122.12' $T/p10 && $NETCTL port-delete nft10 >/dev/null"
ok "--isolated sets the bridge port flag" \
	bash -c "$NETCTL port-create default --isolated --persist nft7 >/dev/null && ip -n ${NS}h -d link show nft7 | grep -q 'isolated on'"
ok "--no-filter installs no guard" \
	bash -c "$NETCTL port-create default --no-filter --persist nft8 >/dev/null && lacks ip netns exec ${NS}h nft list table bridge netd-default '\"nft8\"'"
ok "--queues 2 makes a multi-queue TAP" \
	bash -c "$NETCTL port-create default --queues 2 --persist nft9 | grep -q 'Queues: *2' && ip -n ${NS}h -d link show nft9 | grep -q multi_queue"
$NETCTL port-delete nft9 >/dev/null
ok "port-list shows them" \
	bash -c "[ \$($NETCTL port-list default | grep -c '^ nft') = 4 ]"
ok "port-info by VM name" bash -c "$NETCTL port-info web | grep -q 'TAP: *nft5'"
ok "netd restart keeps ports (re-adopted, guard present)" \
	bash -c "kill $NETD_PID"
{ wait $NETD_PID; } 2>/dev/null
NETD_PID=
ok "netd back" start_netd
still() { [ "$($NETCTL port-list default | grep -c '^ nft')" = 4 ] && guarded nft4 52:54:00:00:00:14 192.168.122.14; }
ok "...ports still listed and guarded" still
moved() {
	$NETCTL net-update default modify ip-dhcp-host "<host mac='52:54:00:00:00:14' name='vm4' ip='192.168.122.144'/>" --live --config >/dev/null &&
	guarded nft4 52:54:00:00:00:14 192.168.122.144 &&
	lacks ip netns exec "${NS}h" nft list table bridge netd-default '"nft4" . 192.168.122.14,'
}
ok "net-update modify moves a pinned port's guard in the same step" moved
ok "...the port reports its new IP" bash -c "$NETCTL port-info nft4 | grep -q 'IP: *192.168.122.144'"
ok "...and the persistent definition has it" \
	bash -c "grep -q \"ip='192.168.122.144'\" $T/etc/default.xml"
DPID=$($NETCTL --json net-info default | sed -nE 's/.*"dnsmasq_pid": ([0-9]+).*/\1/p')
ok "host updates do not restart dnsmasq" \
	bash -c "$NETCTL net-update default add ip-dhcp-host \"<host mac='52:54:00:00:00:99' ip='192.168.122.99'/>\" >/dev/null && [ \"\$($NETCTL --json net-info default | sed -nE 's/.*\"dnsmasq_pid\": ([0-9]+).*/\\1/p')\" = $DPID ] && grep -q '52:54:00:00:00:99' $HOSTS"
ok "an identical add succeeds with no change" \
	bash -c "$NETCTL net-update default add ip-dhcp-host \"<host mac='52:54:00:00:00:99' ip='192.168.122.99'/>\" | grep -q 'nothing changed'"
fails "a conflicting add is refused, naming the conflict" \
	"conflicts with the existing entry .*52:54:00:00:00:99" \
	$NETCTL net-update default add ip-dhcp-host "<host mac='52:54:00:00:00:99' ip='192.168.122.98'/>"
fails "a host outside the subnet is refused" "not inside any <ip> subnet" \
	$NETCTL net-update default add ip-dhcp-host "<host mac='52:54:00:00:00:98' ip='10.1.1.1'/>"
ok "dns-txt add restarts dnsmasq with the record" \
	bash -c "$NETCTL net-update default add dns-txt \"<txt name='hello' value='world'/>\" >/dev/null && grep -q '^txt-record=hello,world' $T/run/dnsmasq/default.conf"
ok "modify of an SRV record (libvirt refuses; we do it)" \
	bash -c "$NETCTL net-update default add dns-srv \"<srv service='ldap' protocol='tcp' target='a.lab.test' port='389'/>\" >/dev/null && $NETCTL net-update default modify dns-srv \"<srv service='ldap' protocol='tcp' target='b.lab.test' port='389'/>\" >/dev/null && grep -q '^srv-host=_ldap._tcp,b.lab.test,389' $T/run/dnsmasq/default.conf"
ok "port-delete removes TAP, guard and live pin" \
	bash -c "$NETCTL port-delete web >/dev/null && no_link ${NS}h nft5 && lacks ip netns exec ${NS}h nft list table bridge netd-default '\"nft5\"' && [ -r $HOSTS ] && ! grep -q 192.168.122.60 $HOSTS"
# several ports in one port-delete: checked first, then their TAPs go
# in one kernel batch (a link group)
for k in 1 2 3; do $NETCTL port-create default --persist nftb$k >/dev/null; done
fails "port-delete of several, one unknown: refused naming it" "no port 'nosuch'" \
	$NETCTL port-delete nftb1 nosuch nftb2
ok "...and all three ports and TAPs are still there" bash -c \
	"for k in 1 2 3; do ip -n ${NS}h link show nftb\$k >/dev/null && $NETCTL port-info nftb\$k >/dev/null || exit 1; done"
no_ipv6() { # the TAP is up and carries no host address: IPv6 off on it
	local v a
	v=$(ip netns exec "${NS}h" cat /proc/sys/net/ipv6/conf/nftb1/disable_ipv6) &&
		a=$(ip -n "${NS}h" -6 addr show dev nftb1) && [ "$v" = 1 ] && [ -z "$a" ] &&
		ip -n "${NS}h" link show nftb1 | grep -q 'master nfbr0'
}
ok "a port's TAP has IPv6 off (no link-local: the host sends nothing into the guest of its own)" no_ipv6
ok "port-delete of three in one request deletes them all" bash -c \
	"$NETCTL port-delete nftb1 nftb2 nftb3 >$T/pd && [ \$(grep -c 'deleted' $T/pd) = 3 ] && no_link ${NS}h nftb1 && no_link ${NS}h nftb2 && no_link ${NS}h nftb3 && lacks $NETCTL port-list default nftb"
$NETCTL port-create default --persist nftb4 >/dev/null
fails "port-delete naming one port twice is refused" "given twice" \
	$NETCTL port-delete nftb4 nftb4
$NETCTL port-delete nftb4 >/dev/null
# <bridge macTableManager='libvirt'>: guest ports learn nothing and get no
# frame for a MAC they do not have; on the default network (the kernel's
# table) the same frame is flooded to every port
cat >"$T/mtm.xml" <<'X'
<network><name>mtm</name><bridge name='nfbr5' stp='off' macTableManager='libvirt'/>
<ip address='10.55.0.1' prefix='24'/></network>
X
ok "a macTableManager='libvirt' network starts" bash -c "$NETCTL net-define $T/mtm.xml && $NETCTL net-start mtm"
ip link add vpeer5 netns "${NS}h" type veth peer name eth5 netns "${NS}p"
ns h ip link set vpeer5 master nfbr5 up
ns p ip link set eth5 up
ns p ip addr add 10.55.0.2/24 dev eth5
# outside the DHCP range: a range address without a lease is not heard
ns p ip addr add 192.168.122.50/24 dev eth0 2>/dev/null
SINKS=""
sink() { # sink NAME NETWORK MAC: a guest port counting what it receives
	ns h "$NF_BUILD/helpers/tapsink" "$NETD_SOCKET" "$2" "$3" 8000 >"$T/sink-$1" 2>&1 &
	SINKS="$SINKS $!"
}
sink a mtm 52:54:00:55:00:0a
sink b mtm 52:54:00:55:00:0b
sink c default 52:54:00:66:00:0c
for _ in $(seq 100); do
	[ "$(cat "$T"/sink-a "$T"/sink-b "$T"/sink-c 2>/dev/null | grep -c '^ready')" = 3 ] && break
	sleep 0.05
done
TAPA=$(sed -n 's/^ready //p' "$T/sink-a") TAPB=$(sed -n 's/^ready //p' "$T/sink-b")
ok "...its ports neither learn nor flood" bash -c "[ -n '$TAPA' ] &&
	ip -n ${NS}h -d link show dev $TAPA | grep -q 'learning off' &&
	ip -n ${NS}h -d link show dev $TAPA | grep -q 'flood off'"
ok "...each guest's MAC is a static entry of the bridge's table" \
	bash -c "bridge -n ${NS}h fdb show dev $TAPB | grep -q '52:54:00:55:00:0b master nfbr5 static'"
# frames from the peer to an unknown MAC, and to guest b
ns p ip neigh replace 10.55.0.77 lladdr 52:54:00:55:00:77 dev eth5 nud permanent
ns p ip neigh replace 10.55.0.11 lladdr 52:54:00:55:00:0b dev eth5 nud permanent
ns p ip neigh replace 192.168.122.77 lladdr 52:54:00:66:00:77 dev eth0 nud permanent
ns p busybox ping -c3 -i 0.2 -W 1 10.55.0.77 >/dev/null 2>&1
ns p busybox ping -c3 -i 0.2 -W 1 10.55.0.11 >/dev/null 2>&1
ns p busybox ping -c3 -i 0.2 -W 1 192.168.122.77 >/dev/null 2>&1
wait $SINKS
ok "...a guest gets its own frames" grep -qx '52:54:00:55:00:0b 3' "$T/sink-b"
ok "...no guest gets a frame for a MAC it does not have" \
	bash -c "grep -q '^ready' $T/sink-a && ! grep -q '52:54:00:55:00:77' $T/sink-a $T/sink-b && ! grep -q '52:54:00:55:00:0b' $T/sink-a"
ok "...while the kernel's table floods it (default network)" grep -qx '52:54:00:66:00:77 3' "$T/sink-c"
ok "net-destroy mtm" $NETCTL net-destroy mtm
# a TAP port's rate: --rate each way (its egress, and its ingress through
# an IFB), or its portgroup's <bandwidth>; the IFB goes with the port
ok "port-create --rate 8 shapes the TAP each way" bash -c "$NETCTL port-create default --persist nfrate0 --rate 8 >/dev/null 2>&1 &&
	tc -n ${NS}h class show dev nfrate0 | grep -q 'rate 8Mbit' &&
	tc -n ${NS}h filter show dev nfrate0 ingress | grep -q 'Egress Redirect to device nfq'"
RIFB=$(tc -n ${NS}h filter show dev nfrate0 ingress | sed -n 's/.*Redirect to device \([^)]*\)).*/\1/p')
ok "...its IFB $RIFB is shaped to 8 Mbit/s too" bash -c "tc -n ${NS}h class show dev '$RIFB' | grep -q 'rate 8Mbit'"
ok "...and goes with the port" bash -c "$NETCTL port-delete nfrate0 >/dev/null && no_link ${NS}h '$RIFB' && no_link ${NS}h nfrate0"
cat >"$T/pgbw.xml" <<'X'
<network><name>pgbw</name><bridge name='nfbr11' stp='off'/>
<portgroup name='slow' default='yes'><bandwidth><inbound average='250'/></bandwidth></portgroup>
<ip address='10.56.0.1' prefix='24'/></network>
X
ok "a port takes its default portgroup's <bandwidth>" bash -c "$NETCTL net-create $T/pgbw.xml >/dev/null &&
	$NETCTL port-create pgbw --persist nfrate1 >/dev/null 2>&1 && tc -n ${NS}h class show dev nfrate1 | grep -q 'rate 2Mbit' &&
	lacks tc -n ${NS}h filter show dev nfrate1 ingress mirred"
ok "...net-destroy pgbw" bash -c "$NETCTL net-destroy pgbw >/dev/null && no_link ${NS}h nfrate1"

# a Linux bridge takes 1023 ports: filled with veths (their other ends in
# a namespace of their own, which takes them all when it goes), the
# network refuses the next port with that reason
cat >"$T/full.xml" <<'X'
<network><name>full</name><bridge name='nfbr12' stp='off'/></network>
X
ns_add lim
ok "a network whose bridge holds 1023 ports (foreign veths, adopted)" bash -c "$NETCTL net-create $T/full.xml >/dev/null &&
	for i in \$(seq 1023); do echo \"link add e\$i type veth peer name nfl\$i netns ${NS}h\"; done | ip -n ${NS}lim -batch - &&
	for i in \$(seq 1023); do echo \"link set nfl\$i master nfbr12 up\"; done | ip -n ${NS}h -batch - &&
	for _ in \$(seq 200); do [ \$($NETCTL --json port-list full | jq length) = 1023 ] && exit 0; sleep 0.05; done; exit 1"
fails "...port-create says it is full, and why" "network 'full' has 1023 ports on its bridge nfbr12, the most a Linux bridge takes" \
	$NETCTL port-create full --persist nfover0
ok "...and made no TAP" no_link ${NS}h nfover0
ip netns del "${NS}lim"
ok "...its veths gone (their namespace deleted), every port is released" \
	bash -c "for _ in \$(seq 600); do [ \$($NETCTL --json port-list full | jq length) = 0 ] && exit 0; sleep 0.1; done; exit 1"
ok "...net-destroy full" $NETCTL net-destroy full
ok "net-destroy releases every port" \
	bash -c "$NETCTL net-destroy default >/dev/null && lacks $NETCTL port-list 'nft[0-9]' && no_link ${NS}h nft4"
finish
