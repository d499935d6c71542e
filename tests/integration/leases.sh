#!/usr/bin/env bash
# Range leases (issue 18): a guarded port sends from an address of the
# DHCP ranges only when its MAC leases it (from dnsmasq's lease file), so
# no host on the bridge can hold a range address dnsmasq does not know,
# and dnsmasq offers them without its ping check (no-ping), which made
# guests starting together wait seconds each. A port with its filter
# off, or foreign ports left open, bring the ping check back.
. "$(dirname "$0")/lib.sh"
ns_add h || { echo "not ok 1 - namespaces"; exit 1; }
NETD_NS=${NS}h
ok "netd starts" start_netd
# one address in the range: a second guest can only get the first's
cat >"$T/l.xml" <<'X'
<network><name>l</name><forward mode='nat'/><bridge name='nfl0' stp='off'/>
  <ip address='10.78.0.1' prefix='24'>
    <dhcp><range start='10.78.0.100' end='10.78.0.100'/></dhcp>
  </ip>
</network>
X
ok "network l started" bash -c "$NETCTL net-define $T/l.xml && $NETCTL net-start l"
CONF=$T/run/dnsmasq/l.conf
ok "every port guarded: dnsmasq offers range addresses without pinging them" \
	grep -qx no-ping "$CONF"
guest_add a 52:54:00:78:00:0a h nfl0 && guest_add b 52:54:00:78:00:0b h nfl0
VA=va$$ VB=vb$$
ip4s() { ip netns exec "${NS}h" nft list set bridge netd-l ip4s; }
bound() { # bound TAP: the guard lets TAP send from 10.78.0.100
	local s
	s=$(ip4s) && grep -q "\"$1\" . 10.78.0.100" <<<"$s"
}
leases() { dhcp "$1" | grep -q '^lease 10.78.0.100 '; } # leases GUEST
not_heard() { # not_heard GUEST: it has 10.78.0.100 and the gateway hears nothing from it
	local a
	a=$(ns "$1" ip -4 -o addr show dev eth0) && grep -q ' 10.78.0.100/' <<<"$a" ||
		{ echo "guest $1 lacks 10.78.0.100: $a"; return 1; }
	! ns "$1" busybox ping -c2 -W1 10.78.0.1
}
ok "guest a leases the range's one address" leases a
ok "...and pings the gateway from it at once" ns a busybox ping -c1 -W2 10.78.0.1
ok "...its guard binds its port to the lease" bound "$VA"

# b, with no lease: an address outside the range passes, the range's not
ns b ip addr add 10.78.0.50/24 dev eth0
ok "guest b, static outside the range, is heard" \
	ns b busybox ping -c1 -W2 -I 10.78.0.50 10.78.0.1
ns b ip addr flush dev eth0
ns b ip addr add 10.78.0.100/24 dev eth0
ok "...static on the address a leases, it is not (ARP and IP dropped)" \
	not_heard b
ns b ip addr flush dev eth0

# a's lease ends (released on the server side, as an expiry would end
# it) while a keeps its port and its address; b leases it: the binding
# moves with dnsmasq's lease
ns h dhcp_release nfl0 10.78.0.100 52:54:00:78:00:0a
ok "guest b gets the address a released" leases b
ok "...the guard moved it to b's port" bound "$VB"
ok "...a's port lost it" lacks ip netns exec "${NS}h" nft list set bridge netd-l ip4s "\"$VA\" . 10.78.0.100"
ok "...b pings the gateway from it" ns b busybox ping -c1 -W2 10.78.0.1
ok "...and a, still configured with it, is not heard" not_heard a

restarted() { stop_netd && start_netd && bound "$VB" &&
	ns b busybox ping -c1 -W2 10.78.0.1; }
ok "after a netd restart the binding is read back from the lease file" restarted

# what brings the ping check back
ok "a port with its filter off brings dnsmasq's ping check back" \
	bash -c "$NETCTL port-create l --no-filter --persist nflnf >/dev/null && ! grep -qx no-ping $CONF && grep -q 'dhcp-range' $CONF"
ok "...deleting it takes it away again" \
	bash -c "$NETCTL port-delete nflnf >/dev/null && grep -qx no-ping $CONF"
ok "foreign ports left open bring it back too" \
	bash -c "$NETCTL net-metadata l https://netfabric.dev/xmlns/netd/1 --key netd --set \"<foreign-ports policy='open'/>\" --live >/dev/null && ! grep -qx no-ping $CONF"
ns a ip addr flush dev eth0
ns a ip addr add 10.78.0.100/24 dev eth0
ok "...and a, now unguarded, is heard from the range address b leases" \
	ns a busybox ping -c1 -W2 10.78.0.1
# a reservation added and deleted by net-update is changed in place
# (issue 18): the running dnsmasq re-reads its hostsfile and serves it
# at once, and the definition and the running XML netd writes are what
# net-dumpxml says (the text is edited, not formatted anew)
guest_add c 52:54:00:78:00:0c h nfl0
dnsmasq_pid() { $NETCTL --json net-info l | sed -nE 's/.*"dnsmasq_pid": ([0-9]+).*/\1/p'; }
DP=$(dnsmasq_pid)
files_agree() { # the files on disk are net-dumpxml's, byte for byte
	$NETCTL net-dumpxml l --inactive >"$T/inactive.xml" &&
		$NETCTL net-dumpxml l >"$T/live.xml" &&
		cmp "$T/inactive.xml" "$T/etc/l.xml" &&
		cmp "$T/live.xml" "$T/run/networks/l.xml"
}
add_c() {
	$NETCTL net-update l add ip-dhcp-host "<host mac='52:54:00:78:00:0c' name='vmc' ip='10.78.0.60'/>" --live --config >/dev/null &&
		dhcp c | grep -q '^lease 10.78.0.60 hostname=vmc'
}
ok "net-update add: guest c leases its new reservation from the running dnsmasq" add_c
same_dnsmasq() { [ -n "$DP" ] && [ "$(dnsmasq_pid)" = "$DP" ]; }
ok "...dnsmasq was not restarted for it" same_dnsmasq
ok "...the definition and running XML on disk are net-dumpxml's" files_agree
ok "...and its hostsfile has the line" grep -qx '52:54:00:78:00:0c,10.78.0.60,vmc' "$(hostsfile l)"
ok "net-update add-first and modify: the files still agree" \
	bash -c "$NETCTL net-update l add-first ip-dhcp-host \"<host mac='52:54:00:78:00:0d' ip='10.78.0.61'/>\" --live --config >/dev/null &&
		$NETCTL net-update l modify ip-dhcp-host \"<host mac='52:54:00:78:00:0d' ip='10.78.0.62'/>\" --live --config >/dev/null"
ok "...(byte for byte)" files_agree
ok "net-update delete: the line leaves the hostsfile" \
	bash -c "$NETCTL net-update l delete ip-dhcp-host \"<host mac='52:54:00:78:00:0c'/>\" --live --config >/dev/null &&
		! grep -q 52:54:00:78:00:0c $(hostsfile l) && grep -qx '52:54:00:78:00:0d,10.78.0.62' $(hostsfile l)"
ok "...the files agree" files_agree
ns h dhcp_release nfl0 10.78.0.60 52:54:00:78:00:0c
no_lease_c() { ! dhcp c >/dev/null; }
ok "...and guest c, its reservation gone and the range taken, gets no address" no_lease_c
ok "net-destroy l" $NETCTL net-destroy l
finish
