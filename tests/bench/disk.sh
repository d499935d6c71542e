#!/usr/bin/env bash
# Benchmark: netvm's virtio-blk on a raw image (a file on this machine's
# disk, in its page cache), driven by the probe guest: sequential reads
# and writes in 4 KiB and 64 KiB requests, each figure the run's wall time
# less a baseline run of the same guest and disk doing only its checks
# (boot, device set-up, a few requests), in the same invocation; and
# netvm's memory beyond guest RAM with a disk attached beside the same
# guest without one; the same figures for a qcow2 overlay served by
# qemu-storage-daemon, as a ratio to the raw file.
. "$(dirname "$0")/../integration/lib.sh"
need_kvm
IMG=$T/bench.img
# 64 MiB written out (not sparse), with the pattern the probe's own
# checks read in its first 16 sectors
python3 - "$IMG" <<'PY'
import sys
b = bytearray(64 << 20)
for k in range(16):
    for i in range(512):
        b[k * 512 + i] = (7 * k + i) & 0xff
open(sys.argv[1], 'wb').write(b)
PY
now() { date +%s%N; }
DISK=$IMG
run() { # run CMDLINE: wall ms of a probe run on the disk ($DISK)
	local t0 t1
	t0=$(now)
	"$NETVM" run --kernel "$PROBE" --disk "$DISK" --cmdline "disk nonet $1" \
		--console "file:$T/c" 2>/dev/null || { echo "netvm failed: $1" >&2; exit 1; }
	t1=$(now)
	grep -q 'ok$' "$T/c" && ! grep -q FAILED "$T/c" || { echo "probe: $1" >&2; cat "$T/c" >&2; exit 1; }
	echo $(((t1 - t0) / 1000000))
}
median3() { # of three runs' ms; a failed run ends the benchmark
	for v in "$@"; do [ -n "$v" ] || exit 1; done
	printf '%s\n' "$@" | sort -n | sed -n 2p
}
# the same 64 MiB as a qcow2 overlay over a qcow2 base, served by
# qemu-storage-daemon (its NBD export, over a socket only netvm holds)
qemu-img convert -f raw -O qcow2 "$IMG" "$T/base.qcow2"
qemu-img create -q -f qcow2 -b "$T/base.qcow2" -F qcow2 "$T/ov.qcow2"
table() { # table DISK LABEL: the four figures; MB/s in RATE_<spec>
	DISK=$1
	local base t d spec kib mib rw rate
	base=$(median3 "$(run "")" "$(run "")" "$(run "")") && [ -n "$base" ] || exit 1
	echo "$2; baseline run $base ms"
	printf '%-28s %8s %8s %10s %8s\n' "requests" "MiB" "ms" "MB/s" "IOPS"
	for spec in 64,64,r 4,16,r 64,64,w 4,16,w; do
		IFS=, read -r kib mib rw <<<"$spec"
		t=$(median3 "$(run "dbench=$spec")" "$(run "dbench=$spec")" "$(run "dbench=$spec")") &&
			[ -n "$t" ] || exit 1
		d=$((t - base > 0 ? t - base : 1))
		rate=$(echo "$mib * 1048.576 / $d" | bc -l)
		printf '%-28s %8d %8d %10.0f %8.0f\n' "$([ "$rw" = r ] && echo read || echo write) ${kib} KiB" \
			"$mib" "$d" "$rate" "$(echo "$mib * 1024 / $kib * 1000 / $d" | bc -l)"
		eval "RATE_$3_${spec//,/_}=$rate"
	done
}
table "$IMG" "virtio-blk, raw image (64 MiB file), probe guest, sequential" raw
echo
table "$T/ov.qcow2,format=qcow2" "the same as a qcow2 overlay through qemu-storage-daemon (NBD)" qcow
printf '\n%-28s %10s\n' "qcow2 overlay / raw" "ratio"
for spec in 64,64,r 4,16,r 64,64,w 4,16,w; do
	IFS=, read -r kib mib rw <<<"$spec"
	k=${spec//,/_}
	eval "q=\$RATE_qcow_$k r=\$RATE_raw_$k"
	printf '%-28s %10.2f\n' "$([ "$rw" = r ] && echo read || echo write) ${kib} KiB" "$(echo "$q / $r" | bc -l)"
done
mem() { # mem DISKOPT...: netvm's KiB beyond guest RAM, a guest that stays
	"$NETVM" run --kernel "$PROBE" --mem 64M --console "file:$T/m" "$@" \
		--cmdline "disk nonet serve=30" --log-level debug 2>"$T/mem" &
	local pid=$!
	for _ in $(seq 300); do grep -q '^probe: serving' "$T/m" 2>/dev/null && break; sleep 0.05; done
	kill $pid
	wait $pid 2>/dev/null
	sed -nE 's/.*beyond guest RAM ([0-9-]+) KiB.*/\1/p' "$T/mem"
}
with=$(mem --disk "$IMG")
without=$(mem)
[ -n "$with" ] && [ -n "$without" ] || { echo "no memory figure" >&2; exit 1; }
printf 'netvm beyond guest RAM (--mem 64M): %.2f MiB with a disk, %.2f MiB without (Firecracker promises <= 5 MiB)\n' \
	"$(echo "$with / 1024" | bc -l)" "$(echo "$without / 1024" | bc -l)"
finish >/dev/null
