#!/usr/bin/env bash
# make bench-peer: the same network XMLs started and destroyed by libvirt
# (virsh + libvirtd, network driver) and by netd (netctl), in one run, each
# inside a private network and mount namespace with private directories, so
# neither touches the host. Prints medians and netd/libvirt ratios.
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
RUNS=${RUNS:-15}
. "$(dirname "$0")/../common/libvirt.sh"
if [ "${2:-}" != --inside ]; then
	if ! libvirt_installed; then
		echo "bench-peer: libvirt is not installed; skipped (apt-get install libvirt-daemon-system libvirt-clients)"
		exit 0
	fi
	exec unshare --net --mount --fork -- bash "$0" "$BUILD" --inside
fi

T=$(mktemp -d /tmp/nf-peer.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT
EX=$(cd "$(dirname "$0")/../../examples" && pwd)

# the two networks of issue 3: default.xml (5 reservations) and 1,000
cp "$EX/default.xml" "$T/five.xml"
{
	echo "<network><name>thousand</name><forward mode='nat'/>"
	echo "<bridge name='nfbr1' stp='on' delay='0'/>"
	echo "<ip address='10.21.0.1' prefix='16'><dhcp>"
	echo "<range start='10.21.200.1' end='10.21.250.254'/>"
	for i in $(seq 0 999); do
		printf "<host mac='52:54:00:00:%02x:%02x' name='vm%d' ip='10.21.%d.%d'/>\n" \
			$((i >> 8)) $((i & 255)) "$i" $((1 + i / 250)) $((1 + i % 250))
	done
	echo "</dhcp></ip></network>"
} >"$T/thousand.xml"

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]/1e6}'; }
# time_cycles CLI... : RUNS start/destroy cycles of "default" and "thousand"
time_cycles() {
	local tool=$1; shift
	local net t0
	for net in default thousand; do
		: >"$T/$tool-$net-start"; : >"$T/$tool-$net-destroy"
		for _ in $(seq "$RUNS"); do
			t0=$(now); "$@" net-start "$net" >/dev/null
			echo $(($(now) - t0)) >>"$T/$tool-$net-start"
			t0=$(now); "$@" net-destroy "$net" >/dev/null
			echo $(($(now) - t0)) >>"$T/$tool-$net-destroy"
		done
	done
}

# time_updates CLI... : on a started "thousand", RUNS net-update add and
# delete of one ip-dhcp-host and of one ip-dhcp-range (--live --config)
time_updates() {
	local tool=$1; shift
	local k t0 h rg
	"$@" net-start thousand >/dev/null
	for k in host-add host-delete range-add range-delete; do : >"$T/$tool-$k"; done
	for i in $(seq "$RUNS"); do
		h="<host mac='52:54:00:99:00:$(printf %02x "$i")' ip='10.21.199.$i'/>"
		rg="<range start='10.21.198.$((i * 10))' end='10.21.198.$((i * 10 + 5))'/>"
		for k in "host-add add ip-dhcp-host $h" "host-delete delete ip-dhcp-host $h" \
			"range-add add ip-dhcp-range $rg" "range-delete delete ip-dhcp-range $rg"; do
			read -r key cmd sec xml <<<"$k"
			t0=$(now); "$@" net-update thousand "$cmd" "$sec" "$xml" --live --config >/dev/null
			echo $(($(now) - t0)) >>"$T/$tool-$key"
		done
	done
	"$@" net-destroy thousand >/dev/null
}

libvirt_start "$T" || exit 1
V=("${VIRSH[@]}")
"${V[@]}" net-define "$T/five.xml" >/dev/null
"${V[@]}" net-define "$T/thousand.xml" >/dev/null
time_cycles libvirt "${V[@]}"
time_updates libvirt "${V[@]}"
kill "$LIBVIRT_PID"; wait "$LIBVIRT_PID" 2>/dev/null || true

export NETD_SOCKET=$T/run/netd.sock
"$BUILD/netd" --foreground --config-dir "$T/etc" --run-dir "$T/run" \
	--state-dir "$T/lib" 2>"$T/netd.log" &
for _ in $(seq 100); do "$BUILD/netctl" version >/dev/null 2>&1 && break; sleep 0.05; done
"$BUILD/netctl" net-define "$T/five.xml" >/dev/null
"$BUILD/netctl" net-define "$T/thousand.xml" >/dev/null
time_cycles netd "$BUILD/netctl"
time_updates netd "$BUILD/netctl"

echo "libvirt $(virsh --version) (libvirtd, iptables backend) vs netd, same XML, $RUNS runs, median ms"
printf '%-38s %10s %10s %8s\n' operation libvirt netd ratio
for net in default thousand; do
	for op in start destroy; do
		l=$(median <"$T/libvirt-$net-$op"); n=$(median <"$T/netd-$net-$op")
		printf '%-38s %10s %10s %7.1fx\n' \
			"net-$op $([ $net = default ] && echo '(5 reservations)' || echo '(1,000 reservations)')" \
			"$l" "$n" "$(awk -v a="$l" -v b="$n" 'BEGIN {print a / b}')"
	done
done
for k in host-add host-delete range-add range-delete; do
	l=$(median <"$T/libvirt-$k"); n=$(median <"$T/netd-$k")
	printf '%-38s %10s %10s %7.1fx\n' "net-update ${k#*-} ip-dhcp-${k%-*} (1,000)" \
		"$l" "$n" "$(awk -v a="$l" -v b="$n" 'BEGIN {print a / b}')"
done
