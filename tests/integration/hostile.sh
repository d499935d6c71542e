#!/usr/bin/env bash
# What local users and directory layouts do to netd, tried as they would:
# each attack runs as an unprivileged user (setpriv), and the test asserts
# both that it is refused or contained and that root is still answered at
# once (figures: the round trip's median and max under each attack).
. "$(dirname "$0")/lib.sh"
HOSTILE=$NF_BUILD/helpers/hostile

exec 3>&1 # figures go straight out, past ok's capture
NOBODY="setpriv --reuid=nobody --regid=nogroup --clear-groups"
# the admin group: an existing group (no change to the host's /etc)
ADMGRP=users
MEMBER="setpriv --reuid=nobody --regid=nogroup --groups=$(getent group $ADMGRP | cut -d: -f3)"
# the control socket is netd's public face, like /run/netd: a directory
# every user can reach; netd's own dirs stay in the plain 0700 temp dir
public_socket || { echo "not ok 1 - public dir"; exit 1; }
trap 'kill $(jobs -p) 2>/dev/null; cleanup' EXIT
start_netd --socket "$NETD_SOCKET" --group $ADMGRP --client-queue 64K || { echo "not ok 1 - netd starts"; exit 1; }

attackers=()
attack() { # attack NAME CMD...: runs CMD in the background as an attacker
	local name=$1; shift
	"$@" >"$T/$name.out" 2>&1 &
	attackers+=($!)
}
calm() { # ends every attacker
	[ ${#attackers[@]} -gt 0 ] && kill "${attackers[@]}" 2>/dev/null
	wait "${attackers[@]}" 2>/dev/null
	attackers=()
}
# root is answered: 20 round trips, each a fresh connection; the median
# must be under 100 ms and none may take a second
answered() { # answered LABEL
	local out med max
	out=$("$HOSTILE" ping "$NETD_SOCKET" 20 20) || { echo "$out"; return 1; }
	med=$(sed -E 's/.*median ([0-9.]+) ms.*/\1/' <<<"$out")
	max=$(sed -E 's/.*max ([0-9.]+) ms.*/\1/' <<<"$out")
	echo "# figure root round trip while $1: median $med ms, max $max ms" >&3
	awk -v m="$med" -v x="$max" 'BEGIN { exit !(m < 100 && x < 1000) }'
}
netd_rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$NETD_PID/status"; }
netd_fds() { ls "/proc/$NETD_PID/fd" | wc -l; }
netd_cpu_ticks() { awk '{print $14 + $15}' "/proc/$NETD_PID/stat"; }
waitfor() { # waitfor SECONDS CMD...: until CMD succeeds
	local n=$(($1 * 20)); shift
	for _ in $(seq "$n"); do "$@" && return 0; sleep 0.05; done
	return 1
}

# --- a client that sends and never reads -----------------------------------
attack flood $NOBODY "$HOSTILE" flood "$NETD_SOCKET" 200000
ok "flood: the attacker got thousands of requests in" \
	waitfor 20 grep -Eq "flood: [0-9]{4,} requests sent" "$T/flood.out"
ok "flood: root is answered at once" answered "a client floods requests and reads nothing"
rss=$(netd_rss_kib)
ok "flood: netd's memory stays bounded (RSS ${rss} KiB < 40 MiB)" test "$rss" -lt 40960
calm

# --- an event subscriber that never reads ----------------------------------
attack sub $NOBODY "$HOSTILE" subscribe "$NETD_SOCKET"
waitfor 5 grep -q subscribed "$T/sub.out"
ok "subscriber: events flow while it reads nothing" \
	"$HOSTILE" churn "$NETD_SOCKET" 3000 ev
ok "subscriber: netd dropped it once 64K were queued" \
	waitfor 5 grep -q "netd disconnected us" "$T/sub.out"
ok "subscriber: ...and logged why" grep -q "does not read its events" "$T/netd.log"
ok "subscriber: root is answered at once" answered "an event subscriber reads nothing"
calm

# --- many idle connections --------------------------------------------------
t0=$(netd_cpu_ticks)
attack idle $NOBODY "$HOSTILE" idle "$NETD_SOCKET" 1100
ok "idle: netd holds 64 connections of one uid and refuses the rest" \
	waitfor 20 grep -q "idle: 64 connections held, 1036 refused" "$T/idle.out"
ok "idle: root is answered at once" answered "one uid holds its 64 connections and asks for 1,036 more"
sleep 1
t1=$(netd_cpu_ticks)
ok "idle: netd does not spin (used $((t1 - t0)) ticks)" test $((t1 - t0)) -lt 300
calm

# --- unfinished 16 MiB frames -----------------------------------------------
attack big $NOBODY "$HOSTILE" bigframe "$NETD_SOCKET" 8 16777216
ok "bigframe: a read-only user's big frames are refused at once" \
	waitfor 20 grep -q "0 of 8 connections still open" "$T/big.out"
calm
attack bigm $MEMBER "$HOSTILE" bigframe "$NETD_SOCKET" 8 16777216
ok "bigframe: an admin member's connections past 64 MiB are refused" \
	waitfor 60 grep -Eq "bigframe: [0-9]{8,} bytes sent; [1-4] of 8" "$T/bigm.out"
rss=$(netd_rss_kib)
echo "# figure netd RSS with 8 unfinished 16 MiB frames of an admin member: $rss KiB"
ok "bigframe: an admin member's unfinished input is capped (RSS ${rss} KiB < 100 MiB)" test "$rss" -lt 102400
ok "bigframe: root is answered at once" answered "8 connections hold unfinished 16 MiB frames"
calm

# --- fds in flight ----------------------------------------------------------
fds0=$(netd_fds)
attack fds $NOBODY "$HOSTILE" fds "$NETD_SOCKET" 62
ok "fds: the attacker's connections are open" \
	waitfor 20 grep -q "fds: 62 connections" "$T/fds.out"
fds1=$(netd_fds)
ok "fds: a read-only user's fds are not kept (netd: $fds0 -> $fds1 fds)" test $((fds1 - fds0)) -lt 80
ok "fds: root is answered at once" answered "62 connections pass 16 fds each"
calm
attack fdsm $MEMBER "$HOSTILE" fds "$NETD_SOCKET" 62
ok "fds: an admin member's connections past 64 fds in flight are refused" \
	waitfor 20 grep -q "fds: 4 connections" "$T/fdsm.out"
fds1=$(netd_fds)
ok "fds: an admin member's fds in flight are capped (netd: $fds0 -> $fds1 fds)" test $((fds1 - fds0)) -lt 160
calm

# --- a reply to a client that cannot read -----------------------------------
echo "<network><name>uaf</name></network>" >"$PUB/uaf.xml"
ok "uaf: define while the event cannot be delivered" \
	bash -c "$MEMBER '$HOSTILE' uaf '$NETD_SOCKET' '$PUB/uaf.xml' | grep -q 'netd closed the connection'"
ok "uaf: netd is alive and the network defined" $NETCTL net-info uaf

# --- the fd table full (whoever filled it) ---------------------------------
stop_netd
start_netd --socket "$NETD_SOCKET" --group $ADMGRP
PID_MAIN=$NETD_PID
T_EMF=$T/emfile; mkdir -p "$T_EMF"
prlimit --nofile=48 ip netns exec "$NETD_NS" "$NETD" --foreground --config-dir "$T_EMF/etc" \
	--run-dir "$T_EMF/run" --state-dir "$T_EMF/lib" 2>"$T_EMF/netd.log" &
EMF_PID=$!
waitfor 5 test -S "$T_EMF/run/netd.sock"
t0=$(awk '{print $14 + $15}' "/proc/$EMF_PID/stat")
attack emf "$HOSTILE" idle "$T_EMF/run/netd.sock" 100
ok "emfile: root's own idle connections fill netd's 48 fds" \
	waitfor 20 grep -Eq "idle: [0-9]+ connections held, [1-9][0-9]* refused" "$T/emf.out"
sleep 1
t1=$(awk '{print $14 + $15}' "/proc/$EMF_PID/stat")
ok "emfile: netd sheds new connections without spinning (used $((t1 - t0)) ticks)" test $((t1 - t0)) -lt 50
ok "emfile: ...and says so" grep -q "the fd table is full" "$T_EMF/netd.log"
calm
ok "emfile: once connections close, netd serves again" \
	"$HOSTILE" ping "$T_EMF/run/netd.sock" 5 20
kill $EMF_PID; wait $EMF_PID 2>/dev/null

# --- credentials belong to the connection -----------------------------------
ok "handoff: a connection made by nobody, held by root, may only read" \
	bash -c "'$HOSTILE' handoff '$NETD_SOCKET' 65534 | grep -q 'handoff: permission-denied'"

# --- directories netd is given ----------------------------------------------
echo "root's own file" >"$T/victim"
cp "$T/victim" "$T/victim.orig"
UDIR=$PUB/userdir
install -d -o nobody -m 0755 "$UDIR"
$NOBODY mkdir "$UDIR/etc"
$NOBODY ln -s "$T/victim" "$UDIR/etc/.netd.lock"
netd_in() { # netd_in CONFIG RUN STATE: a netd that must refuse to start
	timeout 10 ip netns exec "$NETD_NS" "$NETD" --foreground --config-dir "$1" \
		--run-dir "$2" --state-dir "$3" --socket "$T/other.sock"
}
fails "dirs: a config dir made by another user is refused, naming it" \
	"--config-dir $UDIR/etc: $UDIR belongs to another user" \
	netd_in "$UDIR/etc" "$T/r2" "$T/s2"
ok "dirs: ...and the file its lock symlink points to is intact" cmp "$T/victim" "$T/victim.orig"
install -d -m 0777 "$PUB/open"
fails "dirs: a run dir others may write to is refused" \
	"--run-dir $PUB/open: $PUB/open is writable by other users" \
	netd_in "$T/c3" "$PUB/open" "$T/s3"
install -d -o nobody -m 0755 "$PUB/up"
fails "dirs: a state dir under another user's directory is refused" \
	"--state-dir $PUB/up/lib: $PUB/up belongs to another user" \
	netd_in "$T/c4" "$T/r4" "$PUB/up/lib"
mkdir -p "$T/c5"
ln -s "$T/victim" "$T/c5/.netd.lock"
fails "dirs: a symlink where the lock goes is not followed" \
	"cannot open $T/c5/.netd.lock: Too many levels of symbolic links" \
	netd_in "$T/c5" "$T/r5" "$T/s5"
ok "dirs: ...and its target is intact" cmp "$T/victim" "$T/victim.orig"

# --- strings that reach dnsmasq's files, as an admin member writes them ----
net() { # net NAME BODY: a network XML in the public dir, for the member
	echo "<network xmlns:dnsmasq='http://libvirt.org/schemas/network/dnsmasq/1.0'><name>$1</name>$2</network>" >"$PUB/$1.xml"
	echo "$PUB/$1.xml"
}
IP="<ip address='10.77.0.1' prefix='24'><dhcp><range start='10.77.0.100' end='10.77.0.200'/>"
inject() { # inject DESCRIPTION PATTERN NAME BODY
	local f
	f=$(net "$3" "$4")
	fails "injection: $1" "$2" $MEMBER "$NETCTL" net-define "$f"
	ok "...nothing of it was stored" test ! -e "$T/etc/$3.xml"
}
inject "a TXT value with a newline (dhcp-script=)" "line 1: <txt>: attribute value=.*one line" \
	i1 "<dns><txt name='t' value='x&#10;dhcp-script=/tmp/x'/></dns>"
inject "a host name with a newline (a second reservation)" "expected a host name" \
	i2 "$IP<host mac='52:54:00:77:00:02' name='vm&#10;52:54:00:77:00:09,10.77.0.9' ip='10.77.0.2'/></dhcp></ip>"
inject "a host name that sets dnsmasq's ignore flag" "name='vm2,ignore'" \
	i3 "$IP<host mac='52:54:00:77:00:02' name='vm2,ignore' ip='10.77.0.2'/></dhcp></ip>"
inject "an SRV target with a comma" "<srv>: attribute target=" \
	i4 "<dns><srv service='s' protocol='tcp' target='a,b'/></dns>"
inject "a TFTP root with a newline" "<tftp>: attribute root=" \
	i5 "<ip address='10.77.0.1' prefix='24'><tftp root='/srv&#10;enable-dbus'/></ip>"
inject "a BOOTP file with a newline" "<bootp>: attribute file=" \
	i6 "$IP<bootp file='a&#10;conf-file=/etc/shadow'/></dhcp></ip>"
inject "a bridge name with dnsmasq's separator" "<bridge>: attribute name=" \
	i7 "<bridge name='br,eth0'/>"
inject "a dnsmasq option that runs a script" "only root may define it" \
	i8 "<dnsmasq:options><dnsmasq:option value='dhcp-script=/tmp/x'/></dnsmasq:options>"
inject "a dnsmasq option with a second line" "<option>: attribute value=" \
	i9 "<dnsmasq:options><dnsmasq:option value='a&#10;dhcp-script=/x'/></dnsmasq:options>"
ok "root may give dnsmasq options with root's powers" \
	$NETCTL net-define "$(net r1 "<dnsmasq:options><dnsmasq:option value='dhcp-script=/bin/true'/></dnsmasq:options>")"
ok "...and an admin member may still use the harmless ones" \
	$MEMBER "$NETCTL" net-define "$(net m1 "<dnsmasq:options><dnsmasq:option value='cname=a.test,b.test'/></dnsmasq:options>")"
UUID=$($NETCTL --json net-info m1 | sed -nE 's/.*"uuid": "([^"]*)".*/\1/p')
fails "a network named like another network's UUID is refused" "is the UUID of network 'm1'" \
	$NETCTL net-define "$(net "$UUID" "")"
ok "...and the UUID still finds m1" bash -c "$NETCTL net-info $UUID | grep -q 'Name: *m1'"
printf '<network><name>nl</name><description>two&#13;\nlines\tand a tab</description></network>\n' >"$PUB/nl.xml"
$NETCTL net-define "$PUB/nl.xml" >/dev/null
$NETCTL net-dumpxml nl >"$T/nl.before"
stop_netd
start_netd --socket "$NETD_SOCKET" --group $ADMGRP --client-queue 64K
ok "a stored definition comes back exactly after a netd restart" \
	bash -c "$NETCTL net-dumpxml nl | cmp - $T/nl.before && grep -q '&#13;' $T/nl.before"

# --- lab names ---------------------------------------------------------------
echo "<lab name='..'><network name='labn'><ip address='10.78.0.1' prefix='24'/></network></lab>" >"$PUB/dots.xml"
ls -a "$T/lib" >"$T/lib.before"
fails "a lab named '..' is refused" "<lab> needs name=" $NETCTL lab up "$PUB/dots.xml"
fails "lab down .. finds no lab" "no lab '..'" $NETCTL lab down ..
ok "...and the state dir is as it was" bash -c "ls -a $T/lib | cmp - $T/lib.before"

# --- files a lab names are opened by the client, with its rights ----------
echo "root's secret" >"$T/secret"
chmod 0600 "$T/secret"
cat >"$PUB/peek.xml" <<X
<lab name='peek'>
  <network name='peeknet'><ip address='10.75.0.1' prefix='24'><dhcp><range start='10.75.0.100' end='10.75.0.200'/></dhcp></ip></network>
  <guest name='g' initrd='$T/secret'><interface network='peeknet'/></guest>
</lab>
X
fails "lab up with a root-only initrd, as an admin member: netctl cannot open it" \
	"$T/secret: Permission denied" $MEMBER "$NETCTL" lab up "$PUB/peek.xml"
ok "...and nothing was created" bash -c "lacks $NETCTL net-list --all peeknet && lacks $NETCTL lab list peek"
ok "a client naming a kernel without passing it: netd does not open it" \
	bash -c "$MEMBER '$HOSTILE' labnofd '$NETD_SOCKET' '$T/secret' | grep -q 'the client did not pass it'"
ok "...and nothing was created" lacks $NETCTL net-list --all nofdnet

# --- dnsmasq is known by more than its command line -------------------------
sed -e "s/stp='on'/stp='off'/" -e "s/nfbr0/nfhost0/" "$EXAMPLES/default.xml" >"$T/default.xml"
ok "default network started" bash -c "$NETCTL net-define $T/default.xml && $NETCTL net-start default"
# another user's process with the argument netd's dnsmasq has, named by a
# stale pidfile: netd must not adopt it, nor stop it
setpriv --reuid=12345 --regid=12345 --clear-groups \
	bash -c 'while :; do sleep 1; done' "--conf-file=$T/run/dnsmasq/ghost.conf" &
DECOY=$!
sleep 0.2
echo $DECOY >"$T/run/dnsmasq/ghost.pid"
stop_netd
ok "netd restarts with a stale pidfile naming another user's process" \
	start_netd --socket "$NETD_SOCKET" --group $ADMGRP --client-queue 64K
ok "...which it neither adopts nor stops" kill -0 $DECOY
kill $DECOY; wait $DECOY 2>/dev/null

# --- reservations dnsmasq cannot read are an error, not silence ------------
HOSTS=$(hostsfile default)
HDIR=$(dirname "$HOSTS")
ok "the reservations loaded (net-info)" bash -c "$NETCTL --json net-info default | grep -q '\"reservations\": \"loaded\"'"
chmod 0700 "$HDIR" # as if someone took dnsmasq's way to the files
$NETCTL net-update default add ip-dhcp-host "<host mac='52:54:00:00:00:77' ip='192.168.122.77'/>" --live >/dev/null
not_loaded() { $NETCTL --json net-info default | grep -q '"reservations": "not loaded"'; }
ok "...a reload dnsmasq cannot read shows in net-info" waitfor 5 not_loaded
ok "...with dnsmasq's reason" bash -c "$NETCTL --json net-info default | grep -q 'cannot read.*Permission denied'"
ok "...and in netd's log" grep -q "dnsmasq did not load the reservations netd wrote" "$T/netd.log"
chmod 0755 "$HDIR"
$NETCTL net-update default delete ip-dhcp-host "<host mac='52:54:00:00:00:77' ip='192.168.122.77'/>" --live >/dev/null
loaded() { $NETCTL --json net-info default | grep -q '"reservations": "loaded"'; }
ok "...and once it can, loaded again" waitfor 5 loaded
fails "a --dnsmasq-dir dnsmasq's user cannot reach is refused at start" \
	"--dnsmasq-dir $T/dd: dnsmasq's user cannot reach it \($T .*bars others\)" \
	timeout 10 "$NETD" --foreground --config-dir "$T/c7" --run-dir "$T/r7" \
	--state-dir "$T/s7" --socket "$T/o7.sock" --dnsmasq-dir "$T/dd"

# --- a private run dir, end to end ------------------------------------------
ok "netd's dirs are in a plain mktemp -d dir (mode $(stat -c %a "$T"))" test "$(stat -c %a "$T")" = 700
ns_add g1 && ip link add vg1 netns "$NETD_NS" type veth peer name eth0 netns "${NS}g1" &&
	ip -n "${NS}g1" link set eth0 address 52:54:00:00:00:13 &&
	ip -n "${NS}g1" link set eth0 up && ip -n "$NETD_NS" link set vg1 master nfhost0 up
ok "a guest with a reserved MAC gets its reserved address" \
	bash -c "ip netns exec ${NS}g1 busybox udhcpc -i eth0 -n -q -t 8 -T 1 -s $UDHCPC_SCRIPT 2>/dev/null | grep -q '^lease 192.168.122.13 hostname=vm3'"

# --- consoles are not for everyone ------------------------------------------
fails "lab-console: an unprivileged user may not read consoles" "needs root" \
	$NOBODY "$NETCTL" lab console somelab someguest

# --- the same attacks on the sanitizer build of netd ----------------------
# (make check builds one): a use after free, an overflow or undefined
# behaviour they cause fails here, whatever happened to survive above
if [ -x "${NF_SAN_BUILD:-}/netd" ]; then
	stop_netd
	NETD_PROD=$NETD NETD=$NF_SAN_BUILD/netd
	: >"$T/netd.log"
	ok "asan: netd built with ASan and UBSan starts" \
		start_netd --socket "$NETD_SOCKET" --group $ADMGRP --client-queue 64K
	attack sflood $NOBODY "$HOSTILE" flood "$NETD_SOCKET" 100000
	attack ssub $NOBODY "$HOSTILE" subscribe "$NETD_SOCKET"
	waitfor 5 grep -q subscribed "$T/ssub.out"
	ok "asan: events churn past a lagging subscriber" "$HOSTILE" churn "$NETD_SOCKET" 3000 ev
	attack sbig $MEMBER "$HOSTILE" bigframe "$NETD_SOCKET" 8 16777216
	attack sfds $MEMBER "$HOSTILE" fds "$NETD_SOCKET" 62
	waitfor 60 grep -q "bigframe:" "$T/sbig.out"
	waitfor 20 grep -q "fds:" "$T/sfds.out"
	ok "asan: a reply that cannot be delivered" \
		bash -c "$MEMBER '$HOSTILE' uaf '$NETD_SOCKET' '$PUB/uaf.xml' | grep -q 'netd closed the connection'"
	ok "asan: root is answered at once" answered "the sanitizer build is under the same attacks"
	calm
	stop_netd
	# shows the report's first frames when there is one
	san_clean() { ! grep -E -A25 'ERROR: (Address|Leak)Sanitizer|runtime error' "$T/netd.log"; }
	ok "asan: netd reported no memory error or undefined behaviour" san_clean
	NETD=$NETD_PROD
fi
finish
