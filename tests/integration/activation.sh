#!/usr/bin/env bash
# Network activation, end to end in namespaces this test creates: netd runs
# in a "host" namespace, guests are namespaces on its bridges running a real
# DHCP client, an "outside" namespace is the uplink. Checks DHCP pinning,
# DNS, NAT/route/isolated/open forwarding, destroy leaving nothing, crash
# recovery and run-time errors.
. "$(dirname "$0")/lib.sh"

ns_add h && ns_add o || { echo "not ok 1 - cannot create namespaces"; exit 1; }
uplink_add h o
# something netd must never touch
ns h ip link add foreignbr type bridge
ns h nft add table inet foreign

NETD_NS=${NS}h
ok "netd starts in the host namespace" start_netd

# --- 1. examples/default.xml: DHCP pinning, range, DNS -------------------
ok "define examples/default.xml" $NETCTL net-define "$EXAMPLES/default.xml"
ok "net-start default" $NETCTL net-start default
ok "bridge nfbr0 exists, up, with 192.168.122.1/24" \
	bash -c "ns() { ip netns exec ${NS}h \"\$@\"; }; ns ip -br addr show nfbr0 | grep -q '192.168.122.1/24' && ns ip link show nfbr0 | grep -q ',UP'"
MAC=$($NETCTL net-dumpxml default | sed -nE "s/.*<mac address='([^']+)'.*/\1/p" | head -1)
ok "bridge has the definition's MAC" \
	bash -c "ip -n ${NS}h link show nfbr0 | grep -q 'link/ether $MAC'"
ok "nft table inet netd-default installed" \
	bash -c "ip netns exec ${NS}h nft list table inet netd-default | grep -q masquerade"
ok "net-info shows active and the dnsmasq pid" \
	bash -c "$NETCTL net-info default | grep -q 'Active: *yes' && $NETCTL net-info default | grep -qE 'dnsmasq pid: *[0-9]+'"
DPID=$($NETCTL --json net-info default | sed -nE 's/.*"dnsmasq_pid": ([0-9]+).*/\1/p')
ok "dnsmasq runs unprivileged" \
	bash -c "[ \"\$(ps -o user= -p $DPID)\" != root ]"
ok "bridge sends complete checksums (tx offload off) for DHCP replies" \
	bash -c "ip netns exec ${NS}h ethtool -k nfbr0 | grep -q '^tx-checksumming: off'"
ok "dnsmasq listens only on the bridge" \
	bash -c "grep -q '^interface=nfbr0' $T/run/dnsmasq/default.conf && grep -q '^bind-dynamic' $T/run/dnsmasq/default.conf"
guest_add g1 52:54:00:00:00:12 h nfbr0
guest_add g2 52:54:00:aa:bb:cc h nfbr0
L1=$(dhcp g1); L2=$(dhcp g2)
ok "reserved MAC gets its pinned IP and hostname" \
	bash -c "[[ '$L1' == 'lease 192.168.122.12 hostname=vm2 domain=lab.test' ]]"
ok "another MAC gets an address from the range" \
	bash -c "[[ '$L2' =~ ^lease\ 192\.168\.122\.(1[0-9][0-9]|2[0-4][0-9]|25[0-4])\  ]]"
ok "a <dns><host> name resolves through dnsmasq" \
	bash -c "ip netns exec ${NS}g2 busybox nslookup -type=a gateway 192.168.122.1 | grep -q 'Address: 192.168.122.1\$'"
ok "a DHCP host name resolves in the domain" \
	bash -c "ip netns exec ${NS}g2 busybox nslookup -type=a vm2.lab.test 192.168.122.1 | grep -q 'Address: 192.168.122.12\$'"
ok "net-dhcp-leases lists both" \
	bash -c "$NETCTL net-dhcp-leases default | grep -q '52:54:00:00:00:12 .*192.168.122.12 .*vm2' && $NETCTL net-dhcp-leases default | grep -q '52:54:00:aa:bb:cc'"
ok "net-dhcp-leases --mac filters, --json is JSON" \
	bash -c "[ \$($NETCTL --json net-dhcp-leases default --mac 52:54:00:00:00:12 | grep -c '\"ip\"') = 1 ]"

# --- 2. forwarding per mode ----------------------------------------------
ok "nat: guest reaches outside (ICMP)" ns g1 busybox ping -c1 -W2 10.99.0.2
ok "nat: guest reaches outside (TCP)" \
	bash -c "ip netns exec ${NS}o busybox nc -l -p 7000 >/dev/null & sleep 0.2; echo hi | ip netns exec ${NS}g1 busybox nc -w 2 10.99.0.2 7000"
nat_seen() { [ "$(seen from-uplink)" -ge 2 ] && [ "$(seen from-guest)" = 0 ]; }
ok "nat: outside sees the uplink address, not the guest's" nat_seen
ns o nft reset counters table inet seen >/dev/null

cat >"$T/route.xml" <<'X'
<network><name>routed</name><forward mode='route' dev='up0'/>
<bridge name='nfbr1' stp='off'/>
<ip address='192.168.130.1' prefix='24'><dhcp>
<range start='192.168.130.10' end='192.168.130.20'/></dhcp></ip>
<ip family='ipv6' address='fd00:130::1' prefix='64'/>
<route address='192.168.131.0' prefix='24' gateway='192.168.130.5' metric='7'/>
<route address='192.168.132.0' prefix='24' gateway='192.168.130.6'/>
</network>
X
ns o ip route add 192.168.130.0/24 via 10.99.0.1
ok "route: define + start" bash -c "$NETCTL net-define $T/route.xml && $NETCTL net-start routed"
guest_add g3 52:54:00:00:01:01 h nfbr1
L3=$(dhcp g3)
ok "route: guest leased" bash -c "[[ '$L3' =~ ^lease\ 192\.168\.130\. ]]"
ok "route: guest reaches outside" ns g3 busybox ping -c1 -W2 10.99.0.2
route_seen() { [ "$(seen from-guest)" -ge 1 ]; }
ok "route: outside sees the guest's own address" route_seen
v6_ok() {
	ip -n "${NS}h" addr show nfbr1 | grep -q 'inet6 fd00:130::1/64' &&
	[ "$(ns h cat /proc/sys/net/ipv6/conf/nfbr1/disable_ipv6)" = 0 ] &&
	[ "$(ns h cat /proc/sys/net/ipv6/conf/nfbr1/accept_ra)" = 0 ] &&
	[ "$(ns h cat /proc/sys/net/ipv6/conf/all/forwarding)" = 1 ] &&
	ns h nft list table inet netd-routed | grep -q 'ip6 saddr fd00:130::/64' &&
	grep -q '^dhcp-range=fd00:130::1,ra-only' "$T/run/dnsmasq/routed.conf"
}
ok "route: IPv6 address, sysctls as libvirt sets them, ip6 rules, RA" v6_ok
ok "route: the <route> is installed via the bridge" \
	bash -c "ip -n ${NS}h route show 192.168.131.0/24 | grep -q 'via 192.168.130.5 dev nfbr1 .*metric 7'"
ok "route: a <route> without metric gets libvirt's 1, not the kernel's 1024" \
	bash -c "ip -n ${NS}h route show 192.168.132.0/24 | grep -q 'via 192.168.130.6 dev nfbr1 .*metric 1\b'"
sed "s|gateway='192.168.130.6'|gateway='192.168.130.1'|; s|<name>routed|<name>selfgw|; s|nfbr1|nfbr8|" "$T/route.xml" >"$T/selfgw.xml"
fails "route: a gateway that is the network's own address is refused at define" \
	"gateway='192.168.130.1' is the network's own address" $NETCTL net-define "$T/selfgw.xml"
cat >"$T/noip.xml" <<'X'
<network><name>noip</name><bridge name='nfbr6' stp='off'/></network>
X
cat >"$T/noipdns.xml" <<'X'
<network><name>noipdns</name><bridge name='nfbr7' stp='off'/>
<dns><forwarder addr='10.99.0.2'/></dns></network>
X
ok "a network without <ip> starts" bash -c "$NETCTL net-create $T/noip.xml"
ok "...and runs no dnsmasq, as libvirt" bash -c "$NETCTL --json net-info noip | jq -e 'has(\"dnsmasq_pid\") | not' >/dev/null && [ ! -e $T/run/dnsmasq/noip.conf ]"
ok "...unless its <dns> asks for something" bash -c "$NETCTL net-create $T/noipdns.xml && $NETCTL --json net-info noipdns | jq -e '.dnsmasq_pid > 0' >/dev/null"
ok "...both destroyed" bash -c "$NETCTL net-destroy noip && $NETCTL net-destroy noipdns"
ok "route: no masquerade rules" \
	lacks ip netns exec ${NS}h nft list table inet netd-routed masquerade

# <bandwidth>: inbound (to guests) on the bridge's egress, outbound (from
# them) through an IFB; measured with real TCP between namespaces
cat >"$T/shaped.xml" <<'X'
<network><name>shaped</name><bridge name='nfbr19' stp='off'/>
<bandwidth><inbound average='1000'/><outbound average='500'/></bandwidth>
<ip address='10.66.0.1' prefix='24'/></network>
X
ok "shaped: define + start" bash -c "$NETCTL net-define $T/shaped.xml && $NETCTL net-start shaped"
IFB=$(ip -n ${NS}h -o link show type ifb | awk -F': ' '{print $2}')
ok "shaped: an HTB class of 1000 kB/s on the bridge, ingress redirected to $IFB" bash -c "
	tc -n ${NS}h class show dev nfbr19 | grep -q 'rate 8Mbit' &&
	tc -n ${NS}h filter show dev nfbr19 ingress | grep -q 'Egress Redirect to device $IFB' &&
	tc -n ${NS}h class show dev $IFB | grep -q 'rate 4Mbit'"
guest_add g9 52:54:00:00:09:09 h nfbr19
ns g9 ip addr add 10.66.0.9/24 dev eth0
secs() { # secs FROM TO KB: seconds to send KB kilobytes over TCP
	local from=$1 to=$2 ip=$3 kb=$4 t0 t1
	ns "$to" busybox nc -l -p 5009 >"$T/got" &
	local l=$!
	sleep 0.3
	t0=$(date +%s.%N)
	ns "$from" bash -c "dd if=/dev/zero bs=1000 count=$kb 2>/dev/null >/dev/tcp/$ip/5009"
	wait $l
	t1=$(date +%s.%N)
	[ "$(stat -c %s "$T/got")" = "$((kb * 1000))" ] || echo "short "
	echo "$t0 $t1" | awk '{printf "%.2f", $2 - $1}'
}
IN=$(secs h g9 10.66.0.9 4000)
OUT=$(secs g9 h 10.66.0.1 2000)
echo "# figure shaped network: 4000 kB to a guest at 1000 kB/s in $IN s, 2000 kB from it at 500 kB/s in $OUT s"
within() { awk -v t="$1" -v want="$2" 'BEGIN { exit !(t >= want * 0.9 && t <= want * 1.1) }'; }
ok "shaped: 4000 kB to the guest take 4 s (+-10%: $IN s)" within "$IN" 4
ok "shaped: 2000 kB from the guest take 4 s (+-10%: $OUT s)" within "$OUT" 4
ok "shaped: net-destroy removes the IFB device" bash -c "$NETCTL net-destroy shaped && no_link ${NS}h '$IFB'"
ok "shaped: started again" $NETCTL net-start shaped
stop_netd -KILL
ip -n ${NS}h link del nfbr19
ok "shaped: netd restarts after a kill -9 and its bridge going" start_netd
ok "...and removes the IFB of the bridge that went" no_link ${NS}h "$IFB"
ok "shaped: net-undefine" $NETCTL net-undefine shaped

cat >"$T/snat.xml" <<'X'
<network><name>snat</name><forward mode='nat' dev='up0'><nat>
<address start='10.99.0.1' end='10.99.0.1'/><port start='20000' end='20100'/>
</nat></forward><bridge name='nfbr4' stp='off'/>
<ip address='192.168.135.1' prefix='24'/></network>
X
snat_rules() {
	local t
	t=$(ns h nft list table inet netd-snat) &&
	grep -qE 'oifname "up0" meta l4proto tcp ip saddr 192.168.135.0/24 ip daddr != 192.168.135.0/24 counter .* snat ip to 10.99.0.1(/32)?:20000-20100' <<<"$t" &&
	grep -qE 'oifname "up0" ip saddr 192.168.135.0/24 ip daddr != 192.168.135.0/24 counter .* snat ip to 10.99.0.1(/32)?$' <<<"$t" &&
	grep -q 'iifname "nfbr4" oifname "up0" ip saddr 192.168.135.0/24' <<<"$t"
}
ok "nat address/port ranges: snat to them, only out of <forward dev>" \
	bash -c "$NETCTL net-define $T/snat.xml && $NETCTL net-start snat"
ok "...the rules say so" snat_rules
guest_add g5 52:54:00:00:03:01 h nfbr4
ns g5 ip addr add 192.168.135.9/24 dev eth0
ns g5 ip route add default via 192.168.135.1
ns o nft reset counters table inet seen >/dev/null
ok "...and traffic leaves with the given address" \
	bash -c "ip netns exec ${NS}g5 busybox ping -c1 -W2 10.99.0.2 && [ \$(ip netns exec ${NS}o nft list table inet seen | grep from-uplink | sed -E 's/.*packets ([0-9]+).*/\\1/') -ge 1 ]"
$NETCTL net-destroy snat >/dev/null

cat >"$T/isolated.xml" <<'X'
<network><name>iso</name><bridge name='nfbr2' stp='off'/>
<ip address='192.168.140.1' prefix='24'><dhcp>
<range start='192.168.140.10' end='192.168.140.20'/></dhcp></ip></network>
X
ok "isolated: define + start" bash -c "$NETCTL net-define $T/isolated.xml && $NETCTL net-start iso"
guest_add g4 52:54:00:00:02:01 h nfbr2
L4=$(dhcp g4)
ok "isolated: guest leased" bash -c "[[ '$L4' =~ ^lease\ 192\.168\.140\. ]]"
ok "isolated: guest reaches the host's bridge address" ns g4 busybox ping -c1 -W2 192.168.140.1
ns g4 ip route replace default via 192.168.140.1
ok "isolated: nothing is forwarded out" bash -c "! ip netns exec ${NS}g4 busybox ping -c1 -W1 10.99.0.2"
ok "isolated: not to another network either" bash -c "! ip netns exec ${NS}g4 busybox ping -c1 -W1 192.168.122.12"

cat >"$T/open.xml" <<'X'
<network><name>opennet</name><forward mode='open'/><bridge name='nfbr3' stp='off'/>
<ip address='192.168.150.1' prefix='24'/></network>
X
ok "open: define + start" bash -c "$NETCTL net-define $T/open.xml && $NETCTL net-start opennet"
ok "open: installs no firewall table" \
	lacks ip netns exec ${NS}h nft list tables 'inet netd-opennet'

cat >"$T/hostbr.xml" <<'X'
<network><name>hostbr</name><forward mode='bridge'/><bridge name='foreignbr'/></network>
X
ok "bridge mode: starts on an existing host bridge" \
	bash -c "$NETCTL net-define $T/hostbr.xml && $NETCTL net-start hostbr"
ok "bridge mode: destroy leaves the host bridge alone" \
	bash -c "$NETCTL net-destroy hostbr && ip -n ${NS}h link show foreignbr >/dev/null"

# --- 3. destroy leaves nothing -------------------------------------------
ok "destroy routed, iso, opennet" \
	bash -c "$NETCTL net-destroy routed && $NETCTL net-destroy iso && $NETCTL net-destroy opennet"
ok "their bridges are gone" \
	bash -c "no_link ${NS}h nfbr1 && no_link ${NS}h nfbr2 && no_link ${NS}h nfbr3"
ok "their tables are gone" \
	lacks ip netns exec ${NS}h nft list tables 'netd-(routed|iso|opennet)'
ok "their files are gone" \
	bash -c "[ ! -e $T/run/networks/routed.json ] && [ ! -e $T/run/dnsmasq/iso.conf ]"

# --- 4. crash recovery ---------------------------------------------------
DPID=$($NETCTL --json net-info default | sed -nE 's/.*"dnsmasq_pid": ([0-9]+).*/\1/p')
ok "kill -9 netd" stop_netd -KILL
ok "the network keeps running without netd" \
	bash -c "ip -n ${NS}h link show nfbr0 >/dev/null && kill -0 $DPID"
ok "netd restarts" start_netd
ok "network still active, same dnsmasq adopted" \
	bash -c "$NETCTL net-info default | grep -q 'Active: *yes' && $NETCTL net-info default | grep -qE 'dnsmasq pid: *$DPID\$'"
ok "rules present exactly once" \
	bash -c "[ \$(ip netns exec ${NS}h nft list tables | grep -c 'inet netd-default') = 1 ] && [ \$(ip netns exec ${NS}h nft list tables | grep -c 'bridge netd-default') = 1 ] && [ \$(ip netns exec ${NS}h nft list table inet netd-default | grep -c masquerade) = 3 ]"
same_lease() { [[ "$(dhcp g1)" == 'lease 192.168.122.12 '* ]]; }
ok "lease kept: renewal gives the same address" same_lease
ok "leases survive in net-dhcp-leases" \
	bash -c "$NETCTL net-dhcp-leases default | grep -q 52:54:00:aa:bb:cc"
kill -9 "$DPID"
restarted() {
	for _ in $(seq 60); do
		p=$($NETCTL --json net-info default | sed -nE 's/.*"dnsmasq_pid": ([0-9]+).*/\1/p')
		[ -n "$p" ] && [ "$p" != 0 ] && [ "$p" != "$DPID" ] && kill -0 "$p" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
ok "kill -9 dnsmasq: netd restarts it" restarted
ok "...and logs why" grep -q "dnsmasq (pid $DPID) exited unexpectedly" "$T/netd.log"
ok "DHCP works after the restart" same_lease

$NETCTL net-autostart routed --disable >/dev/null 2>&1
ok "start routed again (not autostart)" $NETCTL net-start routed
ok "kill -9 netd again" stop_netd -KILL
ip -n "${NS}h" link del nfbr1
ok "netd restarts after its bridge vanished" start_netd
ok "a network whose bridge vanished is marked inactive" \
	bash -c "$NETCTL net-info routed | grep -q 'Active: *no'"
ok "...its table and dnsmasq are removed" \
	bash -c "lacks ip netns exec ${NS}h nft list tables netd-routed && [ ! -e $T/run/dnsmasq/routed.pid ]"
$NETCTL net-autostart default >/dev/null
stop_netd -KILL
ok "kill -9 netd, remove default's bridge" ip -n "${NS}h" link del nfbr0
ok "autostart brings a vanished network back" \
	start_netd
back() { $NETCTL net-info default | grep -q 'Active: *yes' && ip -n "${NS}h" link show nfbr0 >/dev/null; }
ok "...and the network is active with its bridge" back
ok "foreign bridge and table never touched" \
	bash -c "ip -n ${NS}h link show foreignbr >/dev/null && ip netns exec ${NS}h nft list tables | grep -q 'inet foreign'"

# a network whose status vanished while it ran: its dnsmasq is stale even
# though an active network's pidfile name ("default.pid") ends in its own
cat >"$T/fault.xml" <<'X'
<network><name>fault</name><bridge name='nfbr9' stp='off'/>
<ip address='192.168.190.1' prefix='24'><dhcp>
<range start='192.168.190.10' end='192.168.190.20'/></dhcp></ip></network>
X
ok "start network 'fault'" bash -c "$NETCTL net-define $T/fault.xml && $NETCTL net-start fault"
FPID=$($NETCTL --json net-info fault | sed -nE 's/.*"dnsmasq_pid": ([0-9]+).*/\1/p')
stop_netd -KILL
rm -f "$T/run/networks/fault.json" "$T/run/networks/fault.xml"
ok "netd restarts" start_netd
running() { ps -o stat= -p "$1" 2>/dev/null | grep -qv Z; } # not a zombie
fault_gone() {
	for _ in $(seq 50); do
		running "$FPID" || break
		sleep 0.05
	done
	! running "$FPID" &&
	no_link "${NS}h" nfbr9 &&
	$NETCTL net-info default | grep -q 'Active: *yes'
}
ok "its stale dnsmasq, bridge and table are removed; default keeps running" fault_gone
$NETCTL net-undefine fault >/dev/null

# --- 5. bad input at run time --------------------------------------------
cat >"$T/collide.xml" <<'X'
<network><name>collide</name><bridge name='nfbr5' stp='off'/>
<ip address='10.99.0.50' prefix='24'/></network>
X
$NETCTL net-define "$T/collide.xml" >/dev/null
fails "subnet colliding with a host route is refused" \
	"collides with the host's route 10.99.0.0/24 dev up0" $NETCTL net-start collide
ok "...and nothing is left" \
	bash -c "no_link ${NS}h nfbr5 && [ ! -e $T/run/networks/collide.json ]"
ns h ip link add nfbr6 type veth peer name nfbr6p
cat >"$T/taken.xml" <<'X'
<network><name>taken</name><bridge name='nfbr6' stp='off'/>
<ip address='192.168.160.1' prefix='24'/></network>
X
$NETCTL net-define "$T/taken.xml" >/dev/null
fails "a bridge name held by someone else is refused" \
	"'nfbr6' already exists and is not netd's" $NETCTL net-start taken
ok "...and that link is left alone" ip -n "${NS}h" link show nfbr6
ns h ip link del nfbr6
# --- net-create, events, doctor ------------------------------------------
$NETCTL net-event --loop --timeout 4 >"$T/events" 2>&1 &
EVPID=$!
sleep 0.3
cat >"$T/trans.xml" <<'X'
<network><name>trans</name><bridge name='nfbr8' stp='off'/>
<ip address='192.168.180.1' prefix='24'/></network>
X
ok "net-create starts a transient network" $NETCTL net-create "$T/trans.xml"
ok "it is active and not persistent" \
	bash -c "$NETCTL net-list --transient --name | grep -qx trans && [ ! -e $T/etc/trans.xml ]"
ok "destroying it removes it entirely" \
	bash -c "$NETCTL net-destroy trans && ! $NETCTL net-info trans 2>/dev/null"
$NETCTL net-undefine collide >/dev/null
wait $EVPID
ok "net-event saw started, stopped and undefined" \
	bash -c "grep -q 'network trans: Started' $T/events && grep -q 'network trans: Stopped' $T/events && grep -q 'network collide: Undefined' $T/events"
ok "doctor runs" bash -c "$NETCTL doctor >$T/doctor && grep -q dnsmasq $T/doctor"
ok "...and does not count netd's own dnsmasq (on *:67, bound to its bridge)" \
	bash -c "pgrep -f 'dnsmasq.*${T##*/}' >/dev/null && grep -q \"nothing but netd's own dnsmasqs\" $T/doctor"
# another DHCP server on every address, beside netd's (perl is in every
# Debian; SO_REUSEPORT as dnsmasq sets it, or the port is taken)
ip netns exec "${NS}h" perl -MIO::Socket::INET -e 'my $s = IO::Socket::INET->new(LocalAddr => "0.0.0.0",
	LocalPort => 67, Proto => "udp", ReusePort => 1) or die "bind: $!\n"; sleep 30' 2>"$T/other.err" &
OTHER=$!
sleep 0.3
ok "...but names another DHCP server on every address (*:67)" \
	bash -c "$NETCTL doctor | grep -q 'perl (pid $OTHER) listens on \*:67'"
kill $OTHER
if [ -d /sys/module/kvm_pvm ]; then # this machine: PVM-backed /dev/kvm
	ok "doctor says the PVM-backed /dev/kvm boots no stock kernel" \
		grep -q 'PVM (kvm_pvm): stock Linux kernels do not boot' "$T/doctor"
else
	ok "doctor names the KVM and says it boots stock kernels" \
		grep -Eq '(VMX|SVM) \(kvm_(intel|amd)\), boots stock kernels' "$T/doctor"
fi
ns h nft add table ip filter
ns h nft add chain ip filter FORWARD '{ type filter hook forward priority 0; policy drop; }'
ok "doctor names another tool's FORWARD drop policy and the fix" \
	bash -c "$NETCTL doctor | grep -A1 'ip filter FORWARD drops' | grep -q 'fix:'"
ns h nft delete table ip filter

# --- teardown: destroy everything, nothing of netd's remains -------------
for n in $($NETCTL net-list --name); do $NETCTL net-destroy "$n" >/dev/null; done
ok "all destroyed: no netd bridge, table, dnsmasq or status left" \
	bash -c "lacks ip -n ${NS}h -br link '^nfbr' && lacks ip netns exec ${NS}h nft list tables netd- && lacks ls $T/run/networks . && lacks ls $T/run/dnsmasq ."
ours_running() {
	local p
	for p in $(live_dnsmasq); do
		tr '\0' ' ' </proc/$p/cmdline 2>/dev/null | grep -q "conf-file=$T/run" && return 0
	done
	return 1
}
no_ours_running() { ! ours_running; }
ok "no dnsmasq of ours still running" no_ours_running
# a dnsmasq that cannot bind (with nothing else of ours running)
# a foreign DNS server holding port 53 on all addresses (a system dnsmasq
# in its default wildcard mode: the classic conflict)
ns h /usr/sbin/dnsmasq --keep-in-foreground --conf-file=/dev/null \
	--no-resolv --pid-file= >/dev/null 2>&1 &
NCPID=$!
sleep 0.3
cat >"$T/nobind.xml" <<'X'
<network><name>nobind</name><bridge name='nfbr7' stp='off'/>
<ip address='192.168.170.1' prefix='24'><dhcp>
<range start='192.168.170.10' end='192.168.170.20'/></dhcp></ip></network>
X
$NETCTL net-define "$T/nobind.xml" >/dev/null
fails "dnsmasq that cannot bind: its message, clearly" \
	"dnsmasq failed to start: .*Address already in use" \
	$NETCTL net-start nobind
kill $NCPID 2>/dev/null
ok "...and nothing is left half-made" \
	bash -c "no_link ${NS}h nfbr7 && lacks ip netns exec ${NS}h nft list tables netd-nobind && [ ! -e $T/run/networks/nobind.json ]"

finish
