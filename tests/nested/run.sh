#!/usr/bin/env bash
# The nested test bed: builds it (tests/nested/build.sh), boots Debian's
# kernel under QEMU in software emulation as the nested host, which runs
# netd and netvm with stock-Linux guests on real KVM and vhost-net
# (tests/nested/host-init.sh), and turns its serial log into TAP lines.
# Skips (one TAP line) when QEMU or the kernel package is not available.
# usage: run.sh BUILD_DIR [SCENARIOS]   (SCENARIOS: all, or 0,1,2,...)
BUILD=$(cd "${1:-build}" && pwd)
RUN=${2:-all}
HERE=$(cd "$(dirname "$0")" && pwd)
skip() { echo "ok 1 - # SKIP $*"; echo "1..1"; exit 0; }
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed"
out=$("$HERE/build.sh" "$BUILD" 2>&1) || skip "cannot build the nested test bed: $out"
echo "# $out"
LOG=$BUILD/nested/serial.log
start=$(date +%s)
timeout 1500 qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 2048 \
	-kernel "$BUILD/nested/vmlinuz" -initrd "$BUILD/nested/host.cpio.gz" \
	-append "console=ttyS0 quiet nested.run=$RUN" -nographic -no-reboot \
	-nic none </dev/null >"$LOG" 2>&1
rc=$?
echo "# nested host ran $(( $(date +%s) - start )) s (QEMU status $rc), log in $LOG"
tr -d '\r' <"$LOG" | sed -n 's/^.*nested: //p' | while IFS= read -r l; do
	case $l in
	"ok "* | "not ok "* | "1.."*) echo "$l" ;;
	*) echo "# $l" ;;
	esac
done
grep -q 'nested: 1\.\.' <(tr -d '\r' <"$LOG") || { echo "not ok 1 - the nested host did not finish (see $LOG)"; echo "1..1"; exit 1; }
! tr -d '\r' <"$LOG" | grep -q 'nested: not ok'
