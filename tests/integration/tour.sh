#!/usr/bin/env bash
# The README's tour, run exactly as printed: every ```sh block of its "A
# 5-minute tour" section, in order, in one shell, as a user pasting them
# would (from a tree whose build/ and examples/ are this build's). Every
# command must succeed, and the tour's own last block must leave nothing
# behind. Its names are the README's (namespace nftry, /tmp/nf): the test
# refuses to run over ones that exist, and removes them if the tour stops
# half-way.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "ok 1 - # SKIP the tour boots guests; /dev/kvm is not usable here"
	echo "1..1"; exit 0
fi

# the blocks, as README.md prints them
awk '/^## A 5-minute tour/ { on = 1; next }
     on && /^## / { exit }
     on && /^```sh$/ { code = 1; next }
     code && /^```$/ { code = 0; print ""; next }
     code { print }' "$ROOT/README.md" >"$T/tour.sh"
ok "the README's tour has its blocks (netd, networks, ports, guests, labs, clean-up)" \
	bash -c "grep -q 'ip netns add nftry' $T/tour.sh && grep -q 'port-create' $T/tour.sh && grep -q 'build/netvm run' $T/tour.sh && grep -q 'lab up' $T/tour.sh && grep -q 'ip netns del nftry' $T/tour.sh"

taken() { ip netns list | grep -qw nftry || [ -e /tmp/nf ]; }
if taken; then
	echo "not ok 2 - netns nftry or /tmp/nf exists already: the tour would use them"
	echo "1..2"; exit 1
fi
tour_cleanup() { # only what the tour made, if it stopped half-way
	ip netns pids nftry 2>/dev/null | xargs -r kill -9 2>/dev/null
	ip netns del nftry 2>/dev/null
	rm -rf /tmp/nf
}
trap 'tour_cleanup; cleanup' EXIT

mkdir -p "$T/tree"
ln -s "$NF_BUILD" "$T/tree/build"
ln -s "$ROOT/examples" "$T/tree/examples"
# pasted into one shell; each command must succeed (EDITOR: net-edit opens
# it; a user would save without changes)
run_tour() {
	(cd "$T/tree" && env -u NETD_SOCKET EDITOR=true \
		bash -e -o pipefail -x "$T/tour.sh") >"$T/tour.out" 2>&1
	local rc=$?
	[ $rc = 0 ] || { tail -25 "$T/tour.out"; echo "the tour stopped (status $rc)"; }
	return $rc
}
ok "every command of the tour succeeds, pasted in order" run_tour
ok "...net-list showed the defined network" grep -qE '^ *default +inactive' "$T/tour.out"
ok "...the port was pinned to vm3's IP, and moved with net-update" \
	bash -c "grep -q 'IP: *192.168.122.13\$' $T/tour.out && grep -q 'IP: *192.168.122.113' $T/tour.out"
ok "...the probe guest got its reserved lease and pinged the gateway" \
	bash -c "grep -qx 'lease 192.168.122.11' $T/tour.out && grep -qx 'ping 192.168.122.1 ok 3/3' $T/tour.out"
ok "...the lab came up with every address, and the reconcile started db3" \
	bash -c "grep -q 'addresses: 7 of 7 guests have theirs' $T/tour.out && grep -q '7 kept running, 1 started' $T/tour.out"
ok "...net-event, in the background, saw what followed (started, stopped)" \
	bash -c "grep -q 'for network other: Started' $T/tour.out && grep -q 'for network lab3-db: Stopped' $T/tour.out"
# netd ends a moment after its SIGTERM
for _ in $(seq 50); do pgrep -f '[n]etd --config-dir /tmp/nf' >/dev/null || break; sleep 0.1; done
ok "the tour's clean-up leaves no namespace, directory or process" \
	bash -c "lacks ip netns list '^nftry( |$)' && [ ! -e /tmp/nf ] && lacks ps -eo args '[n]etd --config-dir /tmp/nf'"
trap cleanup EXIT
finish
