#!/usr/bin/env bash
# Benchmark: what stp='on' costs a new guest. A port joins a netd bridge
# and the guest behind it pings a peer on the same bridge every 20 ms:
# the time from the attach to the first reply, on a bridge with STP on
# (libvirt's default, examples/default.xml before issue 18; the kernel
# raises the forward delay to its 2 s minimum while STP runs, and a new
# port listens, then learns, before it forwards) and on one with STP off
# (the baseline, in the same run). Foreign ports are left open on both so
# that only the bridge decides.
. "$(dirname "$0")/../integration/lib.sh"
ns_add h && ns_add p && ns_add g || exit 1
NETD_NS=${NS}h
start_netd || { echo "netd did not start"; exit 1; }
now() { date +%s%N; }
net_xml() { # net_xml NAME BRIDGE STP PREFIX
	cat <<X
<network><name>$1</name><bridge name='$2' stp='$3' delay='0'/>
  <metadata><netd:foreign-ports xmlns:netd='https://netfabric.dev/xmlns/netd/1' policy='open'/></metadata>
  <ip address='$4.1' prefix='24'/>
</network>
X
}
replies() { # replies NS ADDRESS: pings every 20 ms (10 s at most) until one is answered
	for _ in $(seq 500); do
		ns "$1" busybox ping -c1 -W1 "$2" >/dev/null 2>&1 && return 0
		sleep 0.02
	done
	return 1
}
first_reply() { # first_reply STP PREFIX: ms from attach to first reply
	local br=nfstp$1 t0 t1
	ip link add "vp$1" netns "${NS}h" type veth peer name "e$1" netns "${NS}p" &&
		ip link add "vg$1" netns "${NS}h" type veth peer name "e$1" netns "${NS}g" || return 1
	ip -n "${NS}p" addr add "$2.2/24" dev "e$1" && ip -n "${NS}p" link set "e$1" up
	ip -n "${NS}g" addr add "$2.3/24" dev "e$1" && ip -n "${NS}g" link set "e$1" up
	ip -n "${NS}h" link set "vp$1" master "$br" up
	# the peer's own port forwards first (its wait is not measured)
	replies h "$2.2"
	t0=$(now)
	ip -n "${NS}h" link set "vg$1" master "$br" up
	replies g "$2.2"
	t1=$(now)
	echo $(((t1 - t0) / 1000000))
}
net_of() { [ "$1" = on ] && echo 10.81.0 || echo 10.82.0; }
for stp in on off; do
	net_xml "stp$stp" "nfstp$stp" "$stp" "$(net_of $stp)" >"$T/$stp.xml"
	$NETCTL net-create "$T/$stp.xml" >/dev/null || exit 1
	v=$(first_reply $stp "$(net_of $stp)") || exit 1
	eval "MS_$stp=$v"
done
echo "a new port: from its attach to the first frame forwarded both ways (a ping every 20 ms)"
printf '%-44s %10s %8s\n' "bridge" "ms" "ratio"
printf '%-44s %10s %8s\n' "stp='off' (baseline)" "$MS_off" "1.0"
printf '%-44s %10s %8.0f\n' "stp='on' delay='0' (the kernel's 2 s, twice)" "$MS_on" \
	"$(echo "$MS_on / ($MS_off + 1)" | bc -l)"
finish >/dev/null
