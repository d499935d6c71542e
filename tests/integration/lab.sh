#!/usr/bin/env bash
# Labs (issue 8): a lab file brings up networks and probe guests with
# pinned MACs/IPs as one; validation lists every problem and creates
# nothing; the 3-tier example comes up with every guest on its pinned
# address (dnsmasq's leases and the probes' consoles agree), reaches
# across networks as designed, reconciles, exports, draws, and goes away
# completely - also after netd or `lab up` were killed half-way.
. "$(dirname "$0")/lib.sh"
need_kvm
LABS=$T/lib/labs
ok "netd starts (lab guests as nobody)" start_netd --guest-user nobody
lab_procs() { pgrep -f -- "--name lab-" | wc -l; }
# a guest's netvm, as netd recorded it (lab status)
guest_pid() {
	$NETCTL --json lab status "$1" | tr -d ' \n' |
		grep -o "\"name\":\"$2\",\"vm\":\"lab-$2\",\"state\":\"[a-z]*\",\"pid\":[0-9]*" |
		grep -o '[0-9]*$'
}
nothing_left() { # no lab guest, network, bridge, dnsmasq or table remains
	[ "$(lab_procs)" = 0 ] &&
		lacks $NETCTL net-list --all lab &&
		lacks ip -n "$NETD_NS" -o link show type bridge . &&
		lacks bash -o pipefail -c "ip netns pids $NETD_NS | xargs -r ps -o comm= -p" dnsmasq &&
		lacks ip netns exec "$NETD_NS" nft list tables netd &&
		[ -z "$(ls "$LABS" 2>/dev/null)" ]
}

# --- validation: every problem at once, nothing created --------------------
cat >"$T/bad.xml" <<'X'
<lab name='bad'>
  <network name='n1'>
    <ip address='10.80.0.1' prefix='24'>
      <dhcp><range start='10.80.0.100' end='10.80.0.200'/></dhcp>
    </ip>
  </network>
  <network name='n2'>
    <ip address='10.81.0.1' prefix='24'/>
  </network>
  <guest name='a'><interface network='n1' mac='52:54:00:80:00:01' ip='10.80.0.11'/></guest>
  <guest name='a'><interface network='n1' mac='52:54:00:80:00:02' ip='10.80.0.12'/></guest>
  <guest name='b'><interface network='n1' mac='52:54:00:80:00:01' ip='10.80.0.11'/></guest>
  <guest name='c'><interface network='n1' ip='10.90.0.5'/></guest>
  <guest name='d'><interface network='nope'/></guest>
  <guest name='e'><interface network='n2' ip='10.81.0.5'/></guest>
  <guest name='f' count='0'><interface network='n1'/></guest>
  <link a='a' b='zz' subnet='10.82.0.0/29'/>
</lab>
X
$NETCTL lab up "$T/bad.xml" >"$T/bad.out" 2>&1
ok "a lab file with problems is refused" test $? = 1
ok "...every problem is listed, with its line" bash -c "
	grep -q 'bad.xml:11: guest .a. is already declared on line 10' $T/bad.out &&
	grep -q 'bad.xml:12: guest .b.: MAC 52:54:00:80:00:01 is also guest .a..s' $T/bad.out &&
	grep -q \"bad.xml:12: guest 'b': 10.80.0.11 on 'n1' is also guest 'a''s\" $T/bad.out &&
	grep -q 'bad.xml:13: guest .c.: 10.90.0.5 is outside every subnet of network .n1.' $T/bad.out &&
	grep -q \"bad.xml:14: guest 'd': network 'nope' is not a network of this lab\" $T/bad.out &&
	grep -q \"bad.xml:15: guest 'e': network 'n2' has no <dhcp>\" $T/bad.out &&
	grep -q \"bad.xml:16: count='0'\" $T/bad.out &&
	grep -q \"bad.xml:17: link end 'zz' is not a guest\" $T/bad.out &&
	grep -q '8 problems; nothing was created' $T/bad.out"
ok "...and nothing was created" nothing_left
sed "s/stp='on'/stp='off'/" "$EXAMPLES/default.xml" >"$T/default.xml"
$NETCTL net-define "$T/default.xml" >/dev/null && $NETCTL net-start default >/dev/null
sed -e "s/10.71.1/192.168.122/g" "$EXAMPLES/lab-3tier.xml" >"$T/clash.xml"
fails "a lab whose subnet overlaps a host network is refused" \
	"subnet 192.168.122.0/24 overlaps network 'default'" $NETCTL lab up "$T/clash.xml"
sed -i "s|mac='52:54:00:71:01:11'|mac='52:54:00:71:00:01'|" "$T/clash.xml"
fails "...a problem of the file and collisions with the host, listed together" \
	"MAC 52:54:00:71:00:01 is also guest 'router''s" bash -c "$NETCTL lab up $T/clash.xml 2>&1 | grep -q 'overlaps network' && $NETCTL lab up $T/clash.xml"
no_lab() { [ "$(lab_procs)" = 0 ] && lacks $NETCTL net-list --all lab3 && [ -z "$(ls "$LABS" 2>/dev/null)" ]; }
ok "...and nothing of it was created" no_lab
$NETCTL net-destroy default >/dev/null

# --- the 3-tier example ----------------------------------------------------
ok "lab up examples/lab-3tier.xml: every guest has its address" \
	bash -c "$NETCTL lab up $EXAMPLES/lab-3tier.xml >$T/up.out"
ok "...progress lines per phase, then the table" bash -c "
	grep -q 'networks: 3 ready (lab3-front, lab3-app, lab3-db)' $T/up.out &&
	grep -q 'guests: all 7 started' $T/up.out &&
	grep -q 'addresses: 7 of 7 guests have theirs' $T/up.out &&
	grep -Eq '^ router +lab3-front +52:54:00:71:00:01 +10.71.1.2 +up' $T/up.out &&
	grep -Eq '^ db2 +lab3-db +52:54:00:71:03:12 +10.71.3.12 +up' $T/up.out"
leases_agree() { # dnsmasq's lease and the probe's console, per guest
	local g net mac ip
	while read -r g net mac ip; do
		$NETCTL net-dhcp-leases "$net" | grep -q "$mac.*$ip" || { echo "no lease $g $ip"; return 1; }
		grep -qx "lease $ip" "$LABS/3tier/$g.console" || { echo "console $g"; return 1; }
	done <<L
router lab3-front 52:54:00:71:00:01 10.71.1.2
router lab3-app 52:54:00:71:00:02 10.71.2.2
router lab3-db 52:54:00:71:00:03 10.71.3.2
web1 lab3-front 52:54:00:71:01:11 10.71.1.11
web2 lab3-front 52:54:00:71:01:12 10.71.1.12
app1 lab3-app 52:54:00:71:02:11 10.71.2.11
app2 lab3-app 52:54:00:71:02:12 10.71.2.12
db1 lab3-db 52:54:00:71:03:11 10.71.3.11
db2 lab3-db 52:54:00:71:03:12 10.71.3.12
L
}
ok "dnsmasq's leases and the guests' consoles agree on all 9 pinned addresses" leases_agree
ok "the pins are <host> reservations of the lab's networks" \
	bash -c "$NETCTL net-dumpxml lab3-db | grep -q \"<host mac='52:54:00:71:03:11' name='db1' ip='10.71.3.11'/>\""
ok "lab list" bash -c "$NETCTL lab list | grep -Eq '^ 3tier +up +7/7 +3 '"
named() { [ "$(pgrep -fc -- '--name lab-')" = 7 ] && $NETCTL port-list | grep -q lab-web1; }
ok "guests run as netvm processes named lab-GUEST" named
unprivileged() { # the guest user, no capabilities, no new privileges, seccomp
	local p st
	p=$(guest_pid 3tier web1) && [ -n "$p" ] || return 1
	st=/proc/$p/status
	grep -q "^Uid:[[:space:]]*65534" "$st" && grep -q '^CapEff:[[:space:]]*0000000000000000' "$st" &&
		grep -q '^CapBnd:[[:space:]]*0000000000000000' "$st" &&
		grep -q '^NoNewPrivs:[[:space:]]*1' "$st" && grep -q '^Seccomp:[[:space:]]*2' "$st"
}
ok "...as nobody, without capabilities, no_new_privs, under seccomp" unprivileged
ok "lab console shows a guest's serial output" \
	bash -c "$NETCTL lab console 3tier db1 | grep -qx 'lease 10.71.3.11'"
ok "the host reaches a guest on each network" \
	bash -c "for a in 10.71.1.11 10.71.2.12 10.71.3.11; do ip netns exec $NETD_NS busybox ping -c1 -W2 \$a >/dev/null || exit 1; done"

# --- reconcile: add probes that test reachability, drop db2 -------------
sed -e "s|<guest name='db' count='2'>|<guest name='db{i}' count='1'>|" \
	-e "s|</lab>|<guest name='check' cmdline='ping=10.71.2.11,10.71.3.11,10.71.1.12 count=1 serve=600'><interface network='lab3-front' mac='52:54:00:71:01:99' ip='10.71.1.99'/></guest>\n<guest name='dbcheck' cmdline='ping=10.71.3.2,10.71.1.11 count=1 serve=600'><interface network='lab3-db' mac='52:54:00:71:03:99' ip='10.71.3.99'/></guest>\n</lab>|" \
	"$EXAMPLES/lab-3tier.xml" >"$T/3tier-b.xml"
PID_WEB1=$(guest_pid 3tier web1)
ok "lab up on a running lab reconciles: 6 kept, 2 started, 1 stopped" \
	bash -c "$NETCTL lab up $T/3tier-b.xml >$T/re.out && grep -q '6 kept running, 2 started, 1 stopped' $T/re.out"
ok "...the kept guests were not restarted" test "$(guest_pid 3tier web1)" = "$PID_WEB1"
db2_gone() { ! pgrep -f -- "--name lab-db2 " && lacks $NETCTL net-dumpxml lab3-db "52:54:00:71:03:12|name='db2'"; }
ok "...db2 is gone, its lease reservation too" db2_gone
wait_console() { for _ in $(seq 200); do grep -q "$2" "$LABS/3tier/$1.console" 2>/dev/null && return 0; sleep 0.1; done; cat "$LABS/3tier/$1.console"; return 1; }
ok "as designed: front reaches app through the host (NAT and routed networks)" \
	wait_console check '^ping 10.71.2.11 ok 1/1'
ok "...and a neighbour on its own network" wait_console check '^ping 10.71.1.12 ok 1/1'
ok "...but not the isolated database network" wait_console check '^ping 10.71.3.11 fail 0/1'
ok "the database network reaches the router's leg on it" wait_console dbcheck '^ping 10.71.3.2 ok 1/1'
ok "...and nothing beyond it" wait_console dbcheck '^ping 10.71.1.11 fail 0/1'

# --- export and graph ------------------------------------------------------
ok "export --format hosts" bash -c "$NETCTL lab export 3tier --format hosts | grep -Eq '^10.71.2.11 +app1$'"
ok "export --format ansible: all hosts, a group per network" \
	bash -c "$NETCTL lab export 3tier --format ansible >$T/inv && grep -q '^web1 ansible_host=10.71.1.11$' $T/inv && grep -A3 '^\[lab3_db\]' $T/inv | grep -q '^db1$'"
ok "export --format json" \
	bash -c "$NETCTL lab export 3tier --format json | grep -q '\"vm\": \"lab-router\"'"
ok "graph --format dot" \
	bash -c "$NETCTL lab graph 3tier --format dot | grep -q '\"router\" -- \"net:lab3-db\" \\[label=\"10.71.3.2\"\\]'"
ok "graph --format mermaid" \
	bash -c "$NETCTL lab graph 3tier --format mermaid | grep -q 'g_app1 ---|10.71.2.11| net_lab3_app'"
ok "graph --format svg is well-formed SVG naming every guest" \
	bash -c "$NETCTL lab graph 3tier --format svg >$T/g.svg && xmllint --noout $T/g.svg && grep -c '<rect' $T/g.svg | grep -qx 8"
ok "lab status --json" bash -c "$NETCTL --json lab status 3tier | grep -q '\"guests_up\": 8'"

# --- down ----------------------------------------------------------------------
# a process of another user that looks like a guest (its command line
# carries what a guest's does) is not the lab's, and lab down leaves it be
setpriv --reuid=12345 --regid=12345 --clear-groups bash -c \
	"exec -a 'netvm run --status $LABS/3tier/web1.json --name lab-web1' sleep 300" &
DECOY=$!
# one guest has ended before: lab down counts the guests it stops
kill -KILL "$(guest_pid 3tier web2)"
gone_web2() { for _ in $(seq 50); do $NETCTL lab status 3tier | grep -q '^ *web2 .* stopped' && return 0; sleep 0.1; done; $NETCTL lab status 3tier; return 1; }
ok "a guest killed from outside shows as stopped" gone_web2
t0=$(date +%s%N)
ok "lab down (by its file) removes everything, counting only the guests it stopped" \
	bash -c "$NETCTL lab down $T/3tier-b.xml >$T/down && grep -q 'guests stopped' $T/down && grep -q ': 7 guests stopped' $T/down && $NETCTL lab list | grep -q 'no labs'"
DOWN_MS=$((($(date +%s%N) - t0) / 1000000))
# netvm gives a guest 30 s to heed its power button before it stops it:
# a lab down this quick, with no guest stopped, is 7 guests powering off
acpi_down() {
	[ "$DOWN_MS" -lt 10000 ] && lacks cat "$T/netd.log" "lab '3tier': guest .* stopped without powering off" ||
		{ echo "lab down took $DOWN_MS ms"; grep "lab '3tier': guest" "$T/netd.log"; false; }
}
ok "...each of the 7 powered off through its ACPI power button (none stopped)" acpi_down
ok "...but not another user's process that looks like a guest" kill -0 $DECOY
kill $DECOY; wait $DECOY 2>/dev/null
ok "...no guest, network, bridge, dnsmasq, table or record is left" nothing_left

# --- crashes half-way ------------------------------------------------------
$NETCTL lab up "$EXAMPLES/lab-3tier.xml" --no-wait >/dev/null
sleep 0.3
stop_netd -KILL
ok "netd killed -9 while the lab came up; a new netd" start_netd
ok "...re-adopts the lab" bash -c "$NETCTL lab list | grep -q 3tier"
ok "...and lab down leaves nothing behind" \
	bash -c "$NETCTL lab down 3tier >/dev/null"
ok "...nothing at all" nothing_left
$NETCTL lab up "$EXAMPLES/lab-nat.xml" >/dev/null &
UP=$!
sleep 0.2
kill -9 $UP
wait $UP 2>/dev/null
ok "lab up killed -9 half-way, then lab down by name" \
	bash -c "$NETCTL lab down natlab >/dev/null"
ok "...leaves nothing behind" nothing_left

# --- links, and a lab whose file is gone ------------------------------------
cp "$EXAMPLES/lab-nat.xml" "$T/nat.xml"
ok "a lab with a point-to-point link" \
	bash -c "$NETCTL lab up $T/nat.xml >$T/nat.out && grep -Eq '^ +natlab-mgmt-gw +52:54:00:[0-9a-f:]+ +10.73.10.2' $T/nat.out"
ok "...the link is an isolated two-guest network with the host at .1" \
	bash -c "$NETCTL net-info natlab-mgmt-gw | grep -q 'Forward: *none' && ip -n $NETD_NS -4 addr | grep -q 10.73.10.1/29"
rm "$T/nat.xml"
ok "lab down works when the file is gone" bash -c "$NETCTL lab down natlab >/dev/null"
ok "...nothing left" nothing_left
fails "lab down of an unknown lab says so" "no lab 'nope'" $NETCTL lab down nope

# --- a guest without its address: lab up says why, per guest ---------------
cat >"$T/why.xml" <<'X'
<lab name='why'>
  <network name='whynet'>
    <ip address='10.79.0.1' prefix='24'>
      <dhcp><range start='10.79.0.100' end='10.79.0.200'/></dhcp>
    </ip>
  </network>
  <guest name='talks'><interface network='whynet' mac='52:54:00:79:00:11' ip='10.79.0.11'/></guest>
  <guest name='mute' cmdline='mute serve=60'><interface network='whynet' mac='52:54:00:79:00:12' ip='10.79.0.12'/></guest>
  <guest name='gone' cmdline='nonet'><interface network='whynet' mac='52:54:00:79:00:13' ip='10.79.0.13'/></guest>
</lab>
X
$NETCTL lab up "$T/why.xml" --timeout 4 >"$T/why.out" 2>&1
ok "lab up gives up after its timeout (exit 1)" test $? = 1
ok "...saying 2 of 3 guests lack their addresses" grep -q "lab 'why': 2 of 3 guests without their addresses after 4 s" "$T/why.out"
ok "...for one whose DHCP client never ran: no request seen" \
	grep -q "mute on whynet: no DHCP request seen from 52:54:00:79:00:12" "$T/why.out"
ok "...for one that ended: its netvm is not running" grep -q "gone: its netvm is not running" "$T/why.out"
ok "...and not for the one that has its address" bash -c "! grep -q 'talks' <(grep '^  ' $T/why.out)"
ok "lab down why" bash -c "$NETCTL lab down why >/dev/null"
ok "...nothing left" nothing_left
finish
