#!/usr/bin/env bash
# netvm end to end on this machine's /dev/kvm: the probe guest boots through
# its PVH entry, drives netvm's virtio-net (userspace backend here), gets
# its pinned IP from netd's dnsmasq, pings and is pinged, reaches an
# "outside" namespace through NAT, survives its own malformed rings; netvm
# releases its ports when it ends. Everything runs in namespaces made here.
. "$(dirname "$0")/lib.sh"
need_kvm

# --- booting, without a network -------------------------------------------
ok "the probe guest boots and powers off (exit 0)" \
	bash -c "'$NETVM' run --kernel '$PROBE' --cmdline 'hello netvm' >'$T/console'"
ok "its serial console says it came up" grep -qx 'probe: up' "$T/console"
ok "it got the command line through hvm_start_info" \
	grep -qx 'probe: cmdline hello netvm' "$T/console"
ok "it found the PCI host bridge by config mechanism #1" \
	grep -qx 'pci 00:00.0 8086:29c0' "$T/console"
ok "--console file:PATH" \
	bash -c "'$NETVM' run --kernel '$PROBE' --console file:$T/c2 >'$T/stdout' && grep -qx 'probe: done' $T/c2 && [ ! -s $T/stdout ]"
ok "--cpus 4 starts (the APs wait for a SIPI the probe never sends)" \
	bash -c "'$NETVM' run --kernel '$PROBE' --cpus 4 --cmdline nonet >'$T/cpus'"
ok "...and the MP table lists 4 CPUs and the I/O APIC (probe checks the sums)" \
	grep -qx 'mp cpus 4 ioapic 4' "$T/cpus"
# SIGTERM presses the ACPI power button (PM1 status, the SCI); the guest
# that heeds it powers off (status 0), one that does not is stopped after
# --shutdown-timeout (status 4), and another SIGTERM stops it at once
term_after() { # term_after TIMEOUT CMDLINE [SECOND]: "rc ms" of netvm after SIGTERM
	"$NETVM" run --kernel "$PROBE" --cmdline "nonet $2 serve=60" \
		--shutdown-timeout "$1" --console "file:$T/term" 2>"$T/term.err" &
	local pid=$! t0 rc
	for _ in $(seq 200); do grep -q '^probe: serving' "$T/term" 2>/dev/null && break; sleep 0.05; done
	t0=$(date +%s%N)
	kill -TERM $pid
	if [ -n "${3:-}" ]; then # again, once netvm has pressed the button
		for _ in $(seq 100); do grep -q 'power button' "$T/term.err" && break; sleep 0.02; done
		kill -TERM $pid
	fi
	wait $pid
	rc=$?
	echo "$rc $((($(date +%s%N) - t0) / 1000000))"
}
heeds() {
	local r
	r=$(term_after 30 "") && set -- $r && [ "$1" = 0 ] && [ "$2" -lt 5000 ] &&
		grep -qx 'probe: power button: powering off' "$T/term" &&
		grep -q 'pressing the guest.s ACPI power button' "$T/term.err" || { echo "$r"; cat "$T/term.err"; false; }
}
ok "SIGTERM presses the ACPI power button: the guest powers off, netvm exits 0" heeds
deaf_stopped() {
	local r
	r=$(term_after 1 deaf) && set -- $r && [ "$1" = 4 ] && [ "$2" -ge 1000 ] && [ "$2" -lt 5000 ] &&
		grep -q 'did not power off within 1000 ms' "$T/term.err" || { echo "$r"; cat "$T/term.err"; false; }
}
ok "...a guest that ignores it is stopped after --shutdown-timeout 1 (status 4, not sooner)" deaf_stopped
second_term() {
	local r
	r=$(term_after 30 deaf again) && set -- $r && [ "$1" = 4 ] && [ "$2" -lt 5000 ] || { echo "$r"; false; }
}
ok "...and a second SIGTERM stops it at once" second_term
at_once() {
	local r
	r=$(term_after 0 "") && set -- $r && [ "$1" = 4 ] && ! grep -q 'power button' "$T/term" || { echo "$r"; false; }
}
ok "--shutdown-timeout 0: SIGTERM stops the guest at once, no button pressed" at_once
reset_rc() { "$NETVM" run --kernel "$PROBE" --cmdline reset --console none; [ $? = 2 ]; }
ok "a keyboard-controller reset ends netvm with status 2" reset_rc
# A guest that loads an empty IDT and traps: VMX/SVM report a triple fault
# (status 3); this machine's PVM-backed KVM fails to emulate the delivery
# (status 1). Either way netvm ends at once and says what KVM reported.
crash() {
	timeout 20 "$NETVM" run --kernel "$PROBE" --cmdline triplefault \
		--console none 2>"$T/crash"
	local rc=$?
	cat "$T/crash"
	{ [ $rc = 3 ] && grep -q 'triple fault' "$T/crash"; } ||
		{ [ $rc = 1 ] && grep -q 'KVM internal error' "$T/crash"; }
}
ok "a crashing guest ends netvm with KVM's reason (3 on triple fault)" crash
# a bzImage (the fuzz seed's: its first 4 bytes are the harness's): netvm
# names the KVM at once, and on PVM says a stock kernel does not boot
tail -c +5 "$(dirname "$0")/../fuzz/boot-seed-bzimage.bin" | head -c 12288 >"$T/bz"
bz_first_words() {
	timeout 20 "$NETVM" run --kernel "$T/bz" --console none 2>"$T/bz.err" &
	local pid=$! pat
	if [ -d /sys/module/kvm_pvm ]; then pat='a stock Linux kernel does not boot in it'
	else pat='on (Intel VMX|AMD SVM)'; fi
	for _ in $(seq 20); do grep -Eq "$pat" "$T/bz.err" && break; sleep 0.1; done
	grep -Eq "$pat" "$T/bz.err"; local rc=$?
	kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
	cat "$T/bz.err"; return $rc
}
ok "netvm names the KVM in its first line, and on PVM says at once that a bzImage will not boot" bz_first_words
fails "a missing kernel is refused" "cannot open $T/nope" \
	"$NETVM" run --kernel "$T/nope"
echo "not an elf" >"$T/junk"
fails "a file that is no kernel is refused" "neither a bzImage nor an ELF" \
	"$NETVM" run --kernel "$T/junk"
fails "an ELF without a PVH note is refused" "no bzImage nor an ELF kernel with a PVH entry note|PVH entry note" \
	"$NETVM" run --kernel "$NF_BUILD/netctl"
fails "too little memory is refused" "2 MiB to 3 GiB" \
	"$NETVM" run --kernel "$PROBE" --mem 1M
fails "a bad size is refused" "is not a size" "$NETVM" run --kernel "$PROBE" --mem lots
fails "a bad --net option is refused" "unknown option 'colour'" \
	"$NETVM" run --kernel "$PROBE" --net default,colour=blue
fails "a bad vhost= is refused" "on, off or auto" \
	"$NETVM" run --kernel "$PROBE" --net default,vhost=maybe
fails "--net without netd says where it looked" "$T/none.sock" \
	env NETD_SOCKET=$T/none.sock "$NETVM" run --kernel "$PROBE" --net default
fails "--socket names netd's socket (before NETD_SOCKET)" "at $T/other.sock: " \
	env NETD_SOCKET=$T/none.sock "$NETVM" run --kernel "$PROBE" --socket "$T/other.sock" --net default

# --- on netd's networks ---------------------------------------------------
ns_add h && ns_add o || { echo "not ok - namespaces"; exit 1; }
NETD_NS=${NS}h
uplink_add h o
ip -n "$NETD_NS" link set lo down # as `ip netns add` leaves it (README tour)
ok "netd starts" start_netd
ok "...and brings lo up in its namespace (a port's lease is released over it)" \
	bash -c "ip -n $NETD_NS -o link show lo | grep -q '<LOOPBACK,UP'"
sed "s/stp='on'/stp='off'/" "$EXAMPLES/default.xml" >"$T/default.xml"
ok "examples/default.xml started" \
	bash -c "$NETCTL net-define $T/default.xml && $NETCTL net-start default"

vm() { # vm NAME ARGS...: a probe guest in the host namespace, console in $T/NAME
	local n=$1; shift
	exec ip netns exec "${NS}h" "$NETVM" run --kernel "$PROBE" --mem 16M \
		--name "$n" --console "file:$T/$n" --status "$T/$n.json" "$@" \
		2>"$T/$n.log"
}
vm_fg() { (vm "$@"); local rc=$?; cat "$T/$1.log" >&2; return $rc; }
vm_bg() { (vm "$@") & eval "PID_$1=\$!"; }
wait_line() { # wait_line NAME REGEX: the guest's console shows it (60 s)
	for _ in $(seq 600); do
		grep -qE "$2" "$T/$1" 2>/dev/null && return 0
		sleep 0.1
	done
	cat "$T/$1" "$T/$1.log"; return 1
}

vm_bg a --net default,mac=52:54:00:00:00:12 --cmdline "serve=90"
ok "guest a (reserved MAC ...:12) gets its pinned IP from dnsmasq" \
	wait_line a '^lease 192\.168\.122\.12$'
ok "without MSI-X the device signalled INTx: ISR bit 0, cleared by reading" \
	wait_line a '^probe: isr 1$'
ok "the host side (bridge address) pings guest a" \
	ns h busybox ping -c 2 -W 2 192.168.122.12
ok "guest a's TAP is a netd port named after the VM, guarded" \
	bash -c "$NETCTL port-info a | grep -q 'MAC: *52:54:00:00:00:12' && $NETCTL port-info a | grep -q 'Filter: *yes'"
ok "its status file names the userspace backend and the port" \
	bash -c "grep -q '\"backend\": \"userspace\"' $T/a.json && grep -q '\"ip\": \"192.168.122.12\"' $T/a.json"

vm_bg c --net default,mac=52:54:00:00:00:14 --cmdline "serve=90"
ok "guest c (MAC reserved for .14) gets .14" wait_line c '^lease 192\.168\.122\.14$'
vm_fg b --net default,mac=52:54:00:00:00:13 \
	--cmdline "ping=192.168.122.1,192.168.122.12,192.168.122.14,10.99.0.2"
ok "guest b ran and powered off (exit 0)" test $? = 0
ok "guest b got .13" grep -qx 'lease 192.168.122.13' "$T/b"
ok "guest b pings the gateway" grep -qx 'ping 192.168.122.1 ok 3/3' "$T/b"
ok "guest b pings guest a (two guests on one network)" \
	grep -qx 'ping 192.168.122.12 ok 3/3' "$T/b"
ok "guest b pings guest c" grep -qx 'ping 192.168.122.14 ok 3/3' "$T/b"
ok "guest b reaches the outside namespace through NAT" \
	grep -qx 'ping 10.99.0.2 ok 3/3' "$T/b"
nat_seen() { [ "$(seen from-uplink)" -ge 3 ] && [ "$(seen from-guest)" = 0 ]; }
ok "...and the outside saw the uplink address, never the guest's" nat_seen
leases() { $NETCTL net-dhcp-leases default >"$T/leases" &&
	grep -q '52:54:00:00:00:12.*192.168.122.12' "$T/leases" &&
	grep -q '52:54:00:00:00:14.*192.168.122.14' "$T/leases"; }
ok "net-dhcp-leases shows guests a and c with their pinned IPs" leases
ok "guest b's port went with netvm" \
	lacks $NETCTL port-list default '52:54:00:00:00:13'
ok "...and its lease with it (net-dhcp-leases)" \
	lacks $NETCTL net-dhcp-leases default '52:54:00:00:00:13'

# a TAP deleted under a running netvm (its port deleted, its network
# destroyed, a lab going down): netvm goes on, link down, and does not
# spin on the dead TAP's EPOLLERR
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
tap_gone() {
	local c0 c1 c2
	c0=$(ticks "$PID_c") && sleep 1 && c1=$(ticks "$PID_c") &&
		$NETCTL port-delete c >/dev/null && sleep 1 &&
		c2=$(ticks "$PID_c") && kill -0 "$PID_c" &&
		grep -q 'its TAP is gone' "$T/c.log" &&
		[ $((c2 - c1)) -le $((c1 - c0 + 10)) ] ||
		{ echo "# CPU ticks: $c0 $c1 $c2"; return 1; }
}
ok "port-delete under a running netvm: it logs the TAP gone and uses no more CPU than before" tap_gone
stop_vm() { kill -TERM "$1"; wait "$1"; [ $? = 0 ]; }
ok "SIGTERM ends netvm cleanly: the guest powers off through ACPI (status 0)" stop_vm "$PID_a"
ok "...its port is released" \
	lacks $NETCTL port-list default '52:54:00:00:00:12'
ok "...its lease too" lacks $NETCTL net-dhcp-leases default '52:54:00:00:00:12'
ok "...and the status file says it powered off" grep -q '"state": "poweroff"' "$T/a.json"
stop_vm "$PID_c"

vm_fg d --net default,ip=192.168.122.60 --cmdline "ping=192.168.122.1 count=1"
ok "ip= pins an unreserved address: the guest gets it" \
	bash -c "grep -qx 'lease 192.168.122.60' $T/d && grep -qx 'ping 192.168.122.1 ok 1/1' $T/d"
vm_fg e --net default --cmdline "count=1 ping=192.168.122.1"
ok "a guest without a reservation gets an address from the range" \
	bash -c "grep -qE '^lease 192\.168\.122\.(1[0-9][0-9]|2[0-4][0-9]|25[0-4])$' $T/e && grep -qx 'ping 192.168.122.1 ok 1/1' $T/e"
E_IP=$(sed -n 's/^lease //p' "$T/e")
ok "...and that range lease is released with its port" \
	bash -c "[ -n '$E_IP' ] && lacks $NETCTL net-dhcp-leases default ' $E_IP '"
vm_fg f --net default,mac=52:54:00:00:00:15,queues=2 --cmdline "count=1 ping=192.168.122.1"
ok "queues=2: a multi-queue port; the guest on pair 0 gets .15" \
	bash -c "grep -qx 'lease 192.168.122.15' $T/f && grep -q '\"queues\": 2' $T/f.json"
fails "an unknown network is refused before boot" \
	"port refused: network 'nope' is not defined" vm_fg g --net nope
fails "a MAC reserved for another port is refused" "already in use|reserved" \
	bash -c "ns() { ip netns exec ${NS}h \"\$@\"; }; $NETCTL port-create default --mac 52:54:00:00:00:11 --persist held >/dev/null && ns $NETVM run --kernel $PROBE --net default,mac=52:54:00:00:00:11"
$NETCTL port-delete held >/dev/null 2>&1
fails "vhost=on fails clearly where vhost-net cannot be used" \
	"vhost=on: cannot open /dev/vhost-net" \
	bash -c "[ ! -e /dev/vhost-net ] && ns() { ip netns exec ${NS}h \"\$@\"; }; ns $NETVM run --kernel $PROBE --net default,vhost=on"

ok "tap=IFNAME: a persistent netd port opened by name" \
	bash -c "$NETCTL port-create default --mac 52:54:00:00:00:11 --persist nfttap >/dev/null"
vm_fg t --net tap=nfttap,mac=52:54:00:00:00:11 --cmdline "count=1 ping=192.168.122.1"
ok "...the guest on it gets .11 and pings the gateway" \
	bash -c "grep -qx 'lease 192.168.122.11' $T/t && grep -qx 'ping 192.168.122.1 ok 1/1' $T/t"
$NETCTL port-delete nfttap >/dev/null

# --- a guest that breaks the rules ----------------------------------------
vm_fg x --net default,mac=52:54:00:00:00:11 --cmdline "hostile count=1 ping=192.168.122.1"
ok "hostile guest: netvm keeps running and the guest powers off (exit 0)" test $? = 0
for what in "descriptor outside RAM" "looping chain" "avail index jump"; do
	ok "hostile guest: $what -> device needs reset" \
		grep -qx "hostile: $what: device needs reset" "$T/x"
done
ok "hostile guest: moving a running queue's MSI-X vector (0, 1, none) is taken" \
	grep -qx "hostile: msi-x vector moved: device works" "$T/x"
ok "netvm logged each broken device with the reason" \
	bash -c "[ \$(grep -c 'the guest broke the device' $T/x.log) = 3 ] && grep -q 'outside guest RAM' $T/x.log && grep -q 'chain loops' $T/x.log && grep -q 'avail index jumped' $T/x.log"
ok "after resetting the device the guest gets its lease and pings" \
	bash -c "grep -qx 'lease 192.168.122.11' $T/x && grep -qx 'ping 192.168.122.1 ok 1/1' $T/x"
ok "no port is left behind" \
	lacks $NETCTL port-list default '52:54:00'
# --serial-socket PATH: a client types into the guest's UART (the probe,
# polling LSR and RBR, says each line back); the socket is the user's
# alone and goes with netvm
serial_rw() {
	timeout 30 "$NETVM" run --kernel "$PROBE" --cmdline "nonet serve=6 uart" \
		--console "file:$T/u.con" --serial-socket "$T/u.sock" 2>"$T/u.err" &
	local vm=$!
	for _ in $(seq 100); do [ -S "$T/u.sock" ] && break; sleep 0.05; done
	[ "$(stat -c %a "$T/u.sock")" = 600 ] || { stat "$T/u.sock"; return 1; }
	python3 - "$T/u.sock" <<'PY' || return 1
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(5)
s.sendall(b"typed in\r")
out, t = b"", time.time()
while b"uart: typed in" not in out and time.time() - t < 5:
    out += s.recv(4096)
assert b"uart: typed in" in out, out
PY
	wait $vm && [ ! -e "$T/u.sock" ] && grep -qx 'uart: typed in' "$T/u.con"
}
ok "--serial-socket: a client types into the guest's serial port and reads its answer; the socket goes with netvm" serial_rw
fails "--serial-socket fd:N must be a listening socket" "not a listening stream socket" \
	"$NETVM" run --kernel "$PROBE" --cmdline nonet --serial-socket fd:0
finish
