#!/usr/bin/env bash
# Benchmark: lab up of 10, 50 and 100 probe guests on one network, each
# pinned (MAC and IP), netd in a namespace of its own. Figures per size:
# wall time from `lab up` to every guest leased; the host side of it as
# CPU time (netd and dnsmasq, from /proc: independent of how busy the
# machine is) and as netd's wall time in the networks and the guests'
# port-create requests (its debug log); the guests' own part (netvm start
# to lease, median and worst); memory per guest (netd's RSS growth, a
# netvm's RSS). Growth from 10 to 100 compares time per guest. Probe
# guests run emulated on this machine's PVM-backed KVM and share its CPUs
# with netd, so wall times grow with the number already running. netd's
# run dir is on tmpfs, as /run is; its state dir on this machine's disk.
NF_RUN_ON_TMPFS=1
. "$(dirname "$0")/../integration/lib.sh"
if [ ! -w /dev/kvm ]; then echo "lab bench: /dev/kvm unusable, skipped"; exit 0; fi
start_netd --log-level debug || { echo "netd did not start"; exit 1; }
rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
cpu_ms() { # CPU time of the processes named $1 in netd's namespace, ms
	# (schedstat: nanoseconds, where stat's ticks are 10 ms)
	for p in $(ip netns pids "$NETD_NS"); do
		[ "$(cat /proc/$p/comm 2>/dev/null)" = "$1" ] && awk '{print $1}' /proc/$p/schedstat
	done | awk '{s += $1} END {printf "%.0f", s / 1e6}'
}
lab_file() { # lab_file N
	cat <<X
<lab name='b$1'>
  <network name='bench'>
    <forward mode='nat'/>
    <ip address='10.60.0.1' prefix='16'>
      <dhcp><range start='10.60.200.1' end='10.60.200.250'/></dhcp>
    </ip>
  </network>
  <guest name='g' count='$1'>
    <interface network='bench' mac='52:54:00:60:00:01' ip='10.60.1.1'/>
  </guest>
</lab>
X
}
echo "lab up: N probe guests on one network, each pinned; $(nproc) CPUs (at most $((2 * $(nproc))) booting at once)"
printf '%5s %9s %8s %9s %9s %10s %9s %9s %10s %9s\n' N "up ms" "ms/guest" "netd CPU" "dnsm CPU" "netd wall" "boot med" "boot max" "netd KiB/g" "netvm KiB"
for n in 10 50 100; do
	lab_file $n >"$T/b$n.xml"
	r0=$(rss "$NETD_PID")
	c0=$(cpu_ms netd) d0=$(cpu_ms dnsmasq)
	: >"$T/netd.log"
	$NETCTL lab up "$T/b$n.xml" --timeout 600 >"$T/up$n" || { echo "lab up $n failed"; tail "$T/up$n"; exit 1; }
	$NETCTL --json lab status "b$n" >"$T/s$n.json"
	r1=$(rss "$NETD_PID")
	c1=$(cpu_ms netd) d1=$(cpu_ms dnsmasq)
	up=$(sed -nE 's/.*"up_ms": ([0-9.]+).*/\1/p' "$T/s$n.json")
	nets=$(sed -nE 's/.*"networks_ms": ([0-9.]+).*/\1/p' "$T/s$n.json")
	ports=$(sed -nE 's/.*port-create by uid [0-9]+: ok in ([0-9.]+) ms.*/\1/p' "$T/netd.log" | awk '{s+=$1} END {printf "%.1f", s}')
	boots=$(sed -nE 's/.*"boot_ms": ([0-9.]+).*/\1/p' "$T/s$n.json" | sort -n)
	med=$(echo "$boots" | awk '{a[NR]=$1} END {printf "%.0f", a[int((NR+1)/2)]}')
	max=$(echo "$boots" | tail -1 | awk '{printf "%.0f", $1}')
	vmrss=$(ps -o rss= -C netvm | awk '{s+=$1; k++} END {printf "%.0f", s / k}')
	printf '%5d %9.0f %8.1f %9d %9d %10.1f %9s %9s %10.1f %9s\n' $n "$up" \
		"$(echo "$up / $n" | bc -l)" $((c1 - c0)) $((d1 - d0 > 0 ? d1 - d0 : d1)) \
		"$(echo "$nets + $ports" | bc -l)" "$med" "$max" \
		"$(echo "($r1 - $r0) / $n" | bc -l)" "$vmrss"
	eval "UP$n=$up CPU$n=$((c1 - c0 > 0 ? c1 - c0 : 1))"
	t0=$(date +%s%N)
	$NETCTL lab down "b$n" >/dev/null
	eval "DOWN$n=$((($(date +%s%N) - t0) / 1000000))"
	eval "DOWNLOG$n=\"$(sed -nE "s/.*lab 'b$n' is down in (.*)/\1/p" "$T/netd.log")\""
done
echo "lab down (every guest stopped, its ports and network gone), wall ms: 10: $DOWN10, 50: $DOWN50, 100: $DOWN100"
for n in 10 50 100; do eval "echo \"  netd at $n: \$DOWNLOG$n\""; done
echo "growth, per guest at 100 / at 10 (1.00 is linear): wall $(echo "($UP100 / 100) / ($UP10 / 10)" | bc -l | awk '{printf "%.2f", $1}'), netd CPU $(echo "($CPU100 / 100) / ($CPU10 / 10)" | bc -l | awk '{printf "%.2f", $1}')"
finish >/dev/null
