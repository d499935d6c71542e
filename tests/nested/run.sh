#!/usr/bin/env bash
# The nested test bed: builds it (tests/nested/build.sh), boots Debian's
# kernel under QEMU in software emulation as the nested host, which runs
# netd and netvm with stock-Linux guests on real KVM and vhost-net
# (tests/nested/host-init.sh), and turns its serial log into TAP lines.
# Skips (one TAP line) when QEMU or the kernel package is not available.
# usage: run.sh BUILD_DIR [SCENARIOS]   (SCENARIOS: all, or 0,1,2,...; S is
# a stress run of NESTED_REPEAT guests one after another, only when named)
BUILD=$(cd "${1:-build}" && pwd)
RUN=${2:-all}
HERE=$(cd "$(dirname "$0")" && pwd)
skip() { echo "ok 1 - # SKIP $*"; echo "1..1"; exit 0; }
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed"
out=$("$HERE/build.sh" "$BUILD" 2>&1) || skip "cannot build the nested test bed: $out"
echo "# $out"
LOG=$BUILD/nested/serial.log
STALL=${NESTED_STALL:-400} # seconds without a test line from the nested host: it hangs
# Boots the nested host; ends it when it prints nothing for STALL seconds
# (software-emulated KVM under TCG has hung now and then, the whole L1
# frozen with both vCPUs busy). Returns QEMU's status, 124 on a stall.
TCG=${NESTED_TCG:-tcg}
# One vCPU for the nested host. With two, under multi-threaded TCG, it
# froze now and then as VMs came and went: one vCPU trapping for good at
# an int3 in KVM's interrupt delivery (__apic_accept_irq, reached from the
# PIT worker), a site the kernel was patching (text_poke_bp: int3, then
# IPIs to sync every CPU) as KVM's static keys flipped with the VMs; RCU
# stalled behind it and so did everything else. A single vCPU has no
# other CPU to race the patching with; guests still get --cpus 2 (their
# vCPU threads share it), and the run takes as long.
SMP=${NESTED_SMP:-1}
MPORT=$((20000 + $$ % 20000)) # QEMU's monitor, on loopback, for a stall
# What the nested host was doing when it stalled: each vCPU's registers
# (in $LOG.monitor), and on the console the kernel's backtraces of its
# CPUs and its blocked tasks (sysrq 9 raises the console log level, then
# l and w), before QEMU is killed.
diagnose() {
	exec 9<>/dev/tcp/127.0.0.1/$MPORT || return 0
	{ echo "info registers -a"; sleep 1; echo "sendkey alt-sysrq-9"; sleep 2
	  echo "sendkey alt-sysrq-l"; sleep 10; echo "sendkey alt-sysrq-w"; sleep 10
	  echo "info registers -a"; sleep 1; } >&9
	timeout 2 cat <&9 >"$LOG.monitor"
	exec 9>&-
}
boot() {
	timeout 1500 qemu-system-x86_64 -accel "$TCG" -cpu max -smp "$SMP" -m 2048 \
		-kernel "$BUILD/nested/vmlinuz" -initrd "$BUILD/nested/host.cpio.gz" \
		-append "console=ttyS0 quiet sysrq_always_enabled nested.run=$RUN nested.repeat=${NESTED_REPEAT:-20}" \
		-nographic -no-reboot -nic none $IMAGES \
		-monitor tcp:127.0.0.1:$MPORT,server=on,wait=off </dev/null >"$LOG" 2>&1 &
	local q=$! seen=-1 quiet=0
	while kill -0 $q 2>/dev/null; do
		sleep 5
		local now
		# progress is the test's own lines: a frozen host still prints
		# its kernel's lockup warnings
		now=$(grep -c 'nested: ' "$LOG" 2>/dev/null)
		if [ "$now" = "$seen" ]; then quiet=$((quiet + 5)); else quiet=0; seen=$now; fi
		if [ $quiet -ge $STALL ]; then
			diagnose
			pkill -KILL -P $q 2>/dev/null; kill -KILL $q 2>/dev/null
			wait $q 2>/dev/null
			return 124
		fi
	done
	wait $q 2>/dev/null
}
# the Debian image for scenario 9, on a disk of the nested host's
IMAGES=
[ -e "$BUILD/nested/images.raw" ] &&
	IMAGES="-drive file=$BUILD/nested/images.raw,format=raw,if=virtio,readonly=on"
start=$(date +%s)
boot
rc=$?
if [ $rc = 124 ]; then
	# one more run from scratch; a second stall fails below
	echo "# the nested host stalled (nothing for ${STALL} s after: $(tr -d '\r' <"$LOG" | grep 'nested: ' | tail -1)); running it once more"
	cp "$LOG" "$LOG.stalled"
	boot
	rc=$?
fi
echo "# nested host ran $(( $(date +%s) - start )) s (QEMU status $rc), log in $LOG"
tr -d '\r' <"$LOG" | sed -n 's/^.*nested: //p' | while IFS= read -r l; do
	case $l in
	"ok "* | "not ok "* | "1.."*) echo "$l" ;;
	*) echo "# $l" ;;
	esac
done
grep -q 'nested: 1\.\.' <(tr -d '\r' <"$LOG") || { echo "not ok 1 - the nested host did not finish (see $LOG)"; echo "1..1"; exit 1; }
! tr -d '\r' <"$LOG" | grep -q 'nested: not ok'
