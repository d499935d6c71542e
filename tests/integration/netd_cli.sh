#!/usr/bin/env bash
# netd + netctl end to end: define, list, info, dumpxml, autostart, edit,
# undefine, errors, persistence across kill -9, the lock, authorisation.
. "$(dirname "$0")/lib.sh"

ok "netd starts in temp dirs" start_netd
ok "net-define examples/default.xml" $NETCTL net-define "$EXAMPLES/default.xml"
ok "definition file written" test -s "$T/etc/default.xml"
ok "not listed as active by default" \
	lacks $NETCTL net-list default
ok "net-list --all lists it inactive" \
	bash -c "$NETCTL net-list --all | grep -E '^ default +inactive +no +yes'"
ok "net-list --inactive --name" \
	bash -c "[ \"\$($NETCTL net-list --inactive --name)\" = default ]"
ok "net-info shows bridge and persistence" \
	bash -c "$NETCTL net-info default | grep -q 'Bridge: *nfbr0' &&
		 $NETCTL net-info default | grep -q 'Persistent: *yes'"
UUID=$($NETCTL net-uuid default)
ok "net-uuid prints a UUID" \
	bash -c "[[ '$UUID' =~ ^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$ ]]"
ok "net-name UUID gives the name" \
	bash -c "[ \"\$($NETCTL net-name $UUID)\" = default ]"
ok "net-info by UUID" bash -c "$NETCTL net-info $UUID | grep -q 'Name: *default'"
ok "--json on net-info" \
	bash -c "$NETCTL --json net-info default | grep -q '\"uuid\": \"$UUID\"'"
ok "--json on net-list" \
	bash -c "$NETCTL net-list --all --json | grep -q '\"name\": \"default\"'"
$NETCTL net-dumpxml default >"$T/dump1.xml"
ok "dumpxml has generated mac and the reservations" \
	bash -c "grep -q \"<mac address='52:54:00:\" '$T/dump1.xml' &&
		 [ \$(grep -c '<host mac=' '$T/dump1.xml') = 5 ]"
ok "dumpxml output redefines to the same definition" \
	bash -c "$NETCTL net-define '$T/dump1.xml' &&
		 $NETCTL net-dumpxml default | cmp - '$T/dump1.xml'"
ok "net-autostart" $NETCTL net-autostart default
ok "autostart link stored" test -L "$T/etc/autostart/default.xml"
ok "net-list --autostart" \
	bash -c "$NETCTL net-list --all --autostart --name | grep -qx default"

# errors: exit status and a message that says what, where and why
sed 's/192.168.122.11/10.1.1.11/' "$EXAMPLES/default.xml" >"$T/bad.xml"
BADLINE=$(grep -n "10.1.1.11" "$T/bad.xml" | cut -d: -f1)
fails "--validate: a host outside its subnet is refused with line and subnet" \
	"line $BADLINE: <host>.*10.1.1.11.*outside the subnet 192.168.122.0/24" \
	$NETCTL net-define --validate "$T/bad.xml"
ok "a refused define changes nothing" \
	bash -c "$NETCTL net-dumpxml default | cmp - '$T/dump1.xml'"
fails "unknown network" "no network named 'nope'" $NETCTL net-info nope
fails "missing file" "cannot open" $NETCTL net-define "$T/missing.xml"
fails "unknown command" "unknown command" $NETCTL net-frobnicate
# one convention for the three programs: 64 (EX_USAGE) for a usage error,
# 1 for a request that fails
status_is() { local want=$1; shift; "$@" >/dev/null 2>&1; [ $? = "$want" ]; }
ok "a usage error exits 64: netctl" status_is 64 $NETCTL net-frobnicate
ok "...netctl, a missing argument" status_is 64 $NETCTL net-info
ok "...netd" status_is 64 "$NETD" --no-such-option
ok "...netvm" status_is 64 "$NF_BUILD/netvm" run --mem lots
ok "...while a failing request exits 1" status_is 1 $NETCTL net-info nope
sed "s|<name>default</name>|<name>default</name><uuid>$(cat /proc/sys/kernel/random/uuid)</uuid>|" \
	"$EXAMPLES/default.xml" >"$T/other-uuid.xml"
fails "same name, other uuid" "already exists with uuid $UUID" \
	$NETCTL net-define "$T/other-uuid.xml"
sed -e "s|<name>default</name>|<name>copy</name><uuid>$UUID</uuid>|" \
	"$EXAMPLES/default.xml" >"$T/same-uuid.xml"
fails "same uuid, other name" "already belongs to network 'default'" \
	$NETCTL net-define "$T/same-uuid.xml"
sed -e "s|<name>default</name>|<name>second</name>|" \
	"$EXAMPLES/default.xml" >"$T/same-bridge.xml"
fails "bridge name taken by another network" \
	"bridge 'nfbr0' is already used by network 'default'" \
	$NETCTL net-define "$T/same-bridge.xml"
sed -e "s|<name>default</name>|<name>second</name>|" \
    -e "s|<bridge name='nfbr0' stp='off' delay='0'/>||" \
	"$EXAMPLES/default.xml" >"$T/no-bridge.xml"
ok "a free bridge name is filled in" \
	bash -c "$NETCTL net-define '$T/no-bridge.xml' &&
		 $NETCTL net-info second | grep -q 'Bridge: *nfbr1'"

# net-edit: the editor's change is validated, an invalid edit keeps the old
cat >"$T/ed-ok.sh" <<'ED'
#!/bin/sh
sed -i 's/vm5/vm-five/' "$1"
ED
cat >"$T/ed-bad.sh" <<'ED'
#!/bin/sh
sed -i 's/192.168.122.15/192.168.122.315/' "$1"
ED
chmod +x "$T/ed-ok.sh" "$T/ed-bad.sh"
ok "net-edit applies a valid change" \
	bash -c "EDITOR='$T/ed-ok.sh' $NETCTL net-edit default </dev/null &&
		 $NETCTL net-dumpxml default | grep -q \"name='vm-five'\""
$NETCTL net-dumpxml default >"$T/before-edit.xml"
fails "net-edit refuses what libvirt refuses too" "ip='192.168.122.315' is invalid" \
	env EDITOR="$T/ed-bad.sh" $NETCTL net-edit default
ok "...and keeps the old definition" \
	bash -c "$NETCTL net-dumpxml default | cmp - '$T/before-edit.xml'"

# a corrupt file in the config dir is reported, skipped, never touched
printf '<network><name>junk' >"$T/etc/junk.xml"
cp "$T/etc/junk.xml" "$T/junk.orig"
ok "kill -9 netd" stop_netd -KILL
ok "netd restarts after kill -9 (lock released by the kernel)" start_netd
ok "definitions survive, autostart flag too" \
	bash -c "$NETCTL net-list --all --autostart --name | grep -qx default &&
		 $NETCTL net-dumpxml default | grep -q vm-five &&
		 [ \"\$($NETCTL net-uuid default)\" = $UUID ]"
ok "corrupt file reported in the log" grep -q "skipping junk.xml" "$T/netd.log"
ok "corrupt file untouched" cmp "$T/etc/junk.xml" "$T/junk.orig"
sed -e "s|<name>default</name>|<name>junk</name>|" \
    -e "s|nfbr0|nfbr7|" "$EXAMPLES/default.xml" >"$T/junk-net.xml"
fails "defining over a foreign file is refused" "move it away" \
	$NETCTL net-define "$T/junk-net.xml"
ok "foreign file still untouched" cmp "$T/etc/junk.xml" "$T/junk.orig"

fails "a second netd on the same dirs is refused" "another netd" \
	$NETD --foreground --config-dir "$T/etc" --run-dir "$T/run" \
	--state-dir "$T/lib" --socket "$T/run/other.sock"

# authorisation: others may read, not change
if id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null; then
	stop_netd
	public_socket
	ok "netd with its socket where users reach it" start_netd --socket "$NETD_SOCKET"
	AS_NOBODY="setpriv --reuid=nobody --regid=nogroup --clear-groups"
	ok "an unprivileged user may list" \
		$AS_NOBODY env NETD_SOCKET=$NETD_SOCKET $NETCTL net-list --all
	ok "an unprivileged user may dumpxml" \
		$AS_NOBODY env NETD_SOCKET=$NETD_SOCKET $NETCTL net-dumpxml default
	fails "an unprivileged user may not undefine" \
		"needs root.*may only read" \
		$AS_NOBODY env NETD_SOCKET=$NETD_SOCKET $NETCTL net-undefine default
	ok "...and the network is still there" $NETCTL net-info default
	stop_netd
	ok "netd with --group nogroup" start_netd --group nogroup --socket "$NETD_SOCKET"
	ok "a member of the admin group may change things" \
		$AS_NOBODY env NETD_SOCKET=$NETD_SOCKET $NETCTL net-autostart default --disable
fi

# the systemd unit as make install writes it: hardened, and rated so
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ok "make install into a staging dir" \
	make -s -C "$ROOT" install DESTDIR="$T/inst" PREFIX=/usr BUILD="$NF_BUILD"
ok "...with the examples the man pages name" \
	bash -c "for f in $ROOT/examples/*.xml; do cmp -s \$f $T/inst/usr/share/doc/netfabric/examples/\${f##*/} || exit 1; done"
UNIT=$T/inst/usr/lib/systemd/system/netd.service
ok "...the unit names the installed netd" grep -qx 'ExecStart=/usr/sbin/netd --foreground' "$UNIT"
rate=$(systemd-analyze security --offline=yes "$UNIT" 2>/dev/null | sed -nE 's/.*exposure level for netd.service: ([0-9.]+).*/\1/p')
echo "# figure systemd-analyze security of netd.service: $rate (lower is safer; 9.6 unhardened)"
ok "...systemd-analyze security rates it 4.0 or better (it says $rate)" \
	systemd-analyze security --offline=yes --threshold=40 "$UNIT"

ok "make uninstall removes every file install put there" \
	bash -c "make -s -C $ROOT uninstall DESTDIR=$T/inst PREFIX=/usr BUILD=$NF_BUILD && [ -z \"\$(find $T/inst ! -type d)\" ]"
ok "net-undefine" $NETCTL net-undefine second
ok "file and autostart link removed" \
	bash -c "[ ! -e '$T/etc/second.xml' ] && [ ! -e '$T/etc/autostart/second.xml' ]"
fails "undefine twice" "no network named 'second'" $NETCTL net-undefine second
ok "SIGTERM stops netd cleanly and removes the socket" \
	bash -c "kill -TERM $NETD_PID; wait_for() { for i in \$(seq 50); do [ ! -S '$NETD_SOCKET' ] && return 0; sleep 0.05; done; return 1; }; wait_for"
NETD_PID=
# without --foreground: netd detaches and the command returns once the
# daemon serves (a script may use it at once), or says why it cannot
ok "netd (detaching) returns once its socket serves" \
	bash -c "ip netns exec $NETD_NS $NETD --config-dir $T/etc --run-dir $T/run --state-dir $T/lib --socket $NETD_SOCKET && $NETCTL version"
DPID=$(ip netns pids "$NETD_NS" | xargs -r ps -o pid=,comm= -p | awk '$2 == "netd" {print $1}')
fails "a second netd on the same dirs says why and exits 1" \
	"another netd .* already uses $T/etc" \
	ip netns exec "$NETD_NS" "$NETD" --config-dir "$T/etc" --run-dir "$T/run" --state-dir "$T/lib" --socket "$NETD_SOCKET"
ok "the daemon stops on SIGTERM" \
	bash -c "[ -n '$DPID' ] && kill -TERM $DPID && for i in \$(seq 50); do [ ! -S '$NETD_SOCKET' ] && exit 0; sleep 0.05; done; exit 1"
finish
