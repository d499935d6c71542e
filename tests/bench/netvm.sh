#!/usr/bin/env bash
# Benchmark: netvm with the probe guest on netd's default network, netd in
# a namespace of its own. Figures: netvm start to the guest's first
# instruction (first KVM exit), a whole boot without network (baseline),
# boot to DHCP lease, netvm's memory beyond guest RAM (RSS minus the guest
# RAM mapping's resident pages; Firecracker promises <= 5 MiB), and 20
# guests started together until all have leases. The probe guest runs
# emulated on this machine's PVM-backed KVM (~1-2 us per instruction).
. "$(dirname "$0")/../integration/lib.sh"
if [ ! -w /dev/kvm ]; then echo "netvm bench: /dev/kvm unusable, skipped"; exit 0; fi
ns_add h || exit 1
NETD_NS=${NS}h
start_netd || { echo "netd did not start"; exit 1; }
sed "s/stp='on'/stp='off'/" "$EXAMPLES/default.xml" >"$T/default.xml"
$NETCTL net-define "$T/default.xml" >/dev/null && $NETCTL net-start default >/dev/null || exit 1
now() { date +%s%N; }
ms() { echo "scale=2; ($2 - $1) / 1000000" | bc; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
N=9
for i in $(seq $N); do
	t0=$(now); "$NETVM" --help >/dev/null; t1=$(now); ms $t0 $t1 >>"$T/exec"
	t0=$(now)
	"$NETVM" run --kernel "$PROBE" --cmdline nonet --console none \
		--log-level debug 2>"$T/dbg"
	t1=$(now); ms $t0 $t1 >>"$T/boot"
	sed -nE 's/.*first guest exit ([0-9.]+) ms.*/\1/p' "$T/dbg" >>"$T/first"
	t0=$(now)
	ns h "$NETVM" run --kernel "$PROBE" --mem 16M --console "file:$T/c" \
		--net default,mac=52:54:00:00:00:11 2>/dev/null
	t1=$(now)
	grep -q '^lease 192.168.122.11$' "$T/c" || { echo "no lease"; cat "$T/c"; exit 1; }
	ms $t0 $t1 >>"$T/lease"
done
# memory: a serving guest after its lease, stopped by SIGTERM; netvm logs
# its RSS and the guest RAM pages resident (mincore) at that moment
ip netns exec "${NS}h" "$NETVM" run --kernel "$PROBE" --mem 64M --console "file:$T/m" \
	--net default,mac=52:54:00:00:00:12 --cmdline serve=30 \
	--log-level debug 2>"$T/mem" &
MPID=$!
for _ in $(seq 300); do grep -q '^probe: serving' "$T/m" 2>/dev/null && break; sleep 0.05; done
kill $MPID; wait $MPID 2>/dev/null
memline=$(sed -nE 's/.*memory: (.*)/\1/p' "$T/mem")
over=$(sed -nE 's/.*beyond guest RAM ([0-9-]+) KiB.*/\1/p' "$T/mem")
# 20 together: pinned with ip= (netd adds the reservations), then with
# addresses from the range (no ping check: the guards bind range
# addresses to their leases), as a ratio to the pinned run
together() { # together TAG NETOPTS-FN: prints "ms leased"
	local t0 t1 i PIDS=()
	t0=$(now)
	for i in $(seq 20); do
		ns h "$NETVM" run --kernel "$PROBE" --mem 16M --console "file:$T/$1$i" \
			--net "default,$($2 $i)" 2>/dev/null &
		PIDS+=($!)
	done
	all() { for i in $(seq 20); do grep -q '^lease ' "$T/$1$i" 2>/dev/null || return 1; done; }
	while ! all "$1"; do
		[ $(( ($(now) - t0) / 1000000000 )) -gt 120 ] && break
		sleep 0.02
	done
	t1=$(now)
	wait "${PIDS[@]}"
	echo "$(ms $t0 $t1) $(grep -l '^lease 192\.168\.122\.' "$T/$1"* | wc -l)"
}
pinned() { echo "mac=52:54:00:00:01:$(printf %02x $1),ip=192.168.122.$((20 + $1))"; }
ranged() { echo "mac=52:54:00:00:02:$(printf %02x $1)"; }
read -r tp lp < <(together gp pinned)
read -r tr lr < <(together gr ranged)

b=$(median <"$T/exec")
printf 'netvm with the probe guest (%d runs each, median)\n\n' $N
printf '%-44s %10s %8s\n' "measure" "ms" "ratio"
printf '%-44s %10s %8s\n' "netvm --help (process start, baseline)" "$b" "1.0"
for f in first:"netvm start to first guest exit" boot:"boot, probe, power off (no network)" \
	lease:"boot to DHCP lease, power off"; do
	v=$(median <"$T/${f%%:*}")
	printf '%-44s %10s %8.1f\n' "${f#*:}" "$v" "$(echo "$v / $b" | bc -l)"
done
printf '%-44s %10s %8s\n' "20 guests together, pinned (ip=), all leased" "$tp" "($lp/20)"
printf '%-44s %10s %8s  range / pinned %.2f (goal <= 1.5)\n' "20 guests together, from the range" "$tr" "($lr/20)" "$(echo "$tr / $tp" | bc -l)"
printf '\nmemory of a serving guest (--mem 64M): %s\n' "$memline"
printf 'netvm beyond guest RAM: %.2f MiB (Firecracker promises <= 5 MiB)\n' \
	"$(echo "${over:-0} / 1024" | bc -l)"
