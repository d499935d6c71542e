# Shared helpers for integration tests: TAP output, a netd in temp dirs.
# Sourced by tests/integration/*.sh. NF_BUILD points at the build dir.
NF_BUILD=${NF_BUILD:-$(cd "$(dirname "$0")/../../build" && pwd)}
NETD=$NF_BUILD/netd
NETCTL=$NF_BUILD/netctl
NETVM=$NF_BUILD/netvm
PROBE=$NF_BUILD/guest/probe.elf
EXAMPLES=$(cd "$(dirname "$0")/../../examples" && pwd)
TAPN=0
TAPFAIL=0
T=$(mktemp -d /tmp/nf-test.XXXXXX)
# netd's run dir: in $T, or on tmpfs as /run is where the caller sets
# NF_RUN_ON_TMPFS (a benchmark: the file costs users have)
RUN=$T/run
[ -n "${NF_RUN_ON_TMPFS:-}" ] && RUN=$(mktemp -d /dev/shm/nf-run.XXXXXX)
export NETD_SOCKET=$RUN/netd.sock

need_kvm() { # a test that boots guests ends here, skipped, without KVM
	if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
		echo "ok 1 - # SKIP /dev/kvm is not usable on this machine"
		echo "1..1"
		exit 0
	fi
}
# pattern_image FILE: 1 MiB, sector k of the first 16 holding byte
# (7k + i) & 255 (what the probe guest's disk mode reads), the rest 0xaa
pattern_image() {
	python3 - "$1" <<'PY'
import sys
b = bytearray(b'\xaa' * (1 << 20))
for k in range(16):
    for i in range(512):
        b[k * 512 + i] = (7 * k + i) & 0xff
open(sys.argv[1], 'wb').write(b)
PY
}
ok() { # ok DESCRIPTION CMD... : passes when CMD succeeds
	local desc=$1; shift
	TAPN=$((TAPN + 1))
	if "$@" >"$T/last.out" 2>&1; then
		echo "ok $TAPN - $desc"
	else
		echo "not ok $TAPN - $desc"
		sed 's/^/#   /' "$T/last.out" | head -20
		TAPFAIL=$((TAPFAIL + 1))
	fi
}
# lacks CMD... PATTERN: CMD succeeds and no line of its output matches the
# extended regex PATTERN: an absence check that a failing CMD cannot pass
# (as "! CMD | grep -q PATTERN" does).
lacks() {
	local pat=${!#} out
	set -- "${@:1:$#-1}"
	out=$("$@") || { echo "lacks: '$*' failed (status $?)" >&2; return 1; }
	if grep -E -- "$pat" <<<"$out" >&2; then
		echo "lacks: '$*' shows /$pat/ (above)" >&2
		return 1
	fi
}
# no_link NS DEV: namespace NS can be listed and has no link DEV
no_link() { lacks ip -n "$1" -o link show "^[0-9]+: $2[:@]"; }
export -f lacks no_link
fails() { # fails DESCRIPTION PATTERN CMD... : CMD fails and says PATTERN
	local desc=$1 pat=$2; shift 2
	TAPN=$((TAPN + 1))
	if "$@" >"$T/last.out" 2>&1; then
		echo "not ok $TAPN - $desc (succeeded)"
		TAPFAIL=$((TAPFAIL + 1))
	elif ! grep -qE -- "$pat" "$T/last.out"; then
		echo "not ok $TAPN - $desc (message lacks /$pat/)"
		sed 's/^/#   /' "$T/last.out" | head -5
		TAPFAIL=$((TAPFAIL + 1))
	else
		echo "ok $TAPN - $desc"
	fi
}
# netd always runs inside a namespace of the test's (NETD_NS, made here
# unless the test chose one), so nothing it creates reaches the host.
. "$(dirname "${BASH_SOURCE[0]}")/netns.sh"
start_netd() {
	if [ -z "${NETD_NS:-}" ]; then
		ns_add d || return 1
		NETD_NS=${NS}d
	fi
	ip netns exec "$NETD_NS" "$NETD" --foreground --config-dir "$T/etc" \
		--run-dir "$RUN" --state-dir "$T/lib" "$@" 2>>"$T/netd.log" &
	NETD_PID=$!
	for _ in $(seq 100); do
		[ -S "$NETD_SOCKET" ] && "$NETCTL" version >/dev/null 2>&1 && return 0
		kill -0 $NETD_PID 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}
stop_netd() {
	[ -n "${NETD_PID:-}" ] || return 0
	{ kill "${1:--TERM}" $NETD_PID; wait $NETD_PID; } 2>/dev/null
	NETD_PID=
}
# The control socket where every user can reach it (as in /run/netd), for
# tests of what unprivileged users may do; netd's own dirs stay in $T.
public_socket() {
	PUB=/tmp/nf-pub.$$.$RANDOM
	install -d -m 0755 "$PUB" || return 1
	export NETD_SOCKET=$PUB/netd.sock
}
hostsfile() { # hostsfile NET: where netd keeps the network's dnsmasq hostsfile
	"$NETCTL" --json net-info "$1" | sed -nE 's/.*"dnsmasq_hostsfile": "([^"]*)".*/\1/p'
}
# netd's networks outlive netd by design; a test leaves none behind: what is
# still active goes through netd before it stops, and what a netd that died
# could not clean - dnsmasq's files in its /run/netd-dnsmasq dir (a private
# run dir's), named in its log - goes with the namespaces.
teardown_networks() {
	[ -n "${NETD_PID:-}" ] && kill -0 "$NETD_PID" 2>/dev/null || return 0
	local n
	for n in $("$NETCTL" --json net-list --all 2>/dev/null |
		sed -nE 's/.*"name": "([^"]*)".*/\1/p'); do
		"$NETCTL" net-destroy "$n" >/dev/null 2>&1
	done
}
drop_dnsmasq_dirs() {
	cat "$T"/netd.log "$T"/*/netd.log 2>/dev/null |
		sed -nE 's|.*addn-hosts go to (/run/netd-dnsmasq/[0-9a-f]+).*|\1|p' |
		sort -u | xargs -r rm -rf
	rmdir /run/netd-dnsmasq 2>/dev/null
	return 0
}
cleanup() {
	teardown_networks
	stop_netd
	ns_cleanup
	drop_dnsmasq_dirs
	rm -rf "$T" "$RUN" "${PUB:-}"
}
finish() {
	cleanup
	echo "1..$TAPN"
	[ $TAPFAIL -eq 0 ]
}
trap cleanup EXIT
