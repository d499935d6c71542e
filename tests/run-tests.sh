#!/usr/bin/env bash
# Runs every test (unit programs, then integration scripts), each printing
# TAP lines; prints the failures and one closing line "N passed, N failed".
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/.."
export NF_BUILD=$(cd "$BUILD" && pwd)
export NF_CONFORMANCE_DIR=${NF_CONFORMANCE_DIR:-$(cd .. && pwd)/shared/conformance/libvirt}
export CMOCKA_MESSAGE_OUTPUT=TAP
passed=0; failed=0; skipped=0
log=$(mktemp)
run() {
	local name=$1; shift
	local out rc
	out=$("$@" 2>&1); rc=$?
	printf '%s\n' "$out" >>"$log"
	local p f s
	p=$(printf '%s\n' "$out" | grep -cE '^ok [0-9]+' || true)
	s=$(printf '%s\n' "$out" | grep -cE '^ok [0-9]+.*# (SKIP|skip)' || true)
	f=$(printf '%s\n' "$out" | grep -cE '^not ok [0-9]+' || true)
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1   # died without saying which case
		printf 'not ok - %s exited with status %d\n' "$name" "$rc" >>"$log"
		printf '%s\n' "$out" | tail -20 | sed 's/^/    /'
	fi
	passed=$((passed + p - s)); failed=$((failed + f)); skipped=$((skipped + s))
	printf '%-40s %3d passed, %d failed%s\n' "$name" $((p - s)) "$f" \
		"$([ "$s" -gt 0 ] && echo ", $s skipped")"
	# a failure and the diagnostics ('#   ...') its test printed under it
	printf '%s\n' "$out" | awk '/^not ok/ { d = 1; print "    " $0; next }
		d && /^#   / { print "    " $0; next } { d = 0 }'
	printf '%s\n' "$out" | grep -E '^# (conformance|figure)' | sed 's/^/    /'
}
# unit tests (and the netd the protocol test starts) from the sanitizer
# build when there is one: a use after free or undefined behaviour fails
SAN=${NF_SAN_BUILD:+$(cd "$NF_SAN_BUILD" && pwd)}
export NF_SAN_BUILD=$SAN
# A test that is not run must not pass unseen: every tests/unit/test_X.c
# has its program, and every script in tests/integration is a listed
# test (and executable) or a listed helper.
INTEGRATION="activation cli corpus disk foreign fuzz hostile lab labdisk layout leases libvirt nested netd_cli netvm ports qemu sriov tour"
HELPERS="lib netns"
missing() {
	printf 'not ok - %s\n' "$1" >>"$log"
	printf '%-40s   0 passed, 1 failed\n    not ok - %s\n' "$2" "$1"
	failed=$((failed + 1))
}
for src in tests/unit/test_*.c; do
	name=$(basename "$src" .c) t=${SAN:-$NF_BUILD}/tests/$(basename "$src" .c)
	if [ -x "$t" ]; then
		NF_BUILD=${SAN:-$NF_BUILD} run "$name${SAN:+ (asan+ubsan)}" "$t"
	else
		missing "$src has no test program $t (is it in the Makefile's UNIT_NAMES?)" "$name"
	fi
done
for f in tests/integration/*.sh; do
	name=$(basename "$f" .sh)
	case " $INTEGRATION $HELPERS " in
	*" $name "*) ;;
	*) missing "$f is neither a test run-tests.sh lists nor a helper" "$name" ;;
	esac
done
for name in $INTEGRATION; do
	t=tests/integration/$name.sh
	if [ -x "$t" ]; then
		run "$name" "$t"
	else
		missing "$t is missing or not executable" "$name"
	fi
done
echo "full log: $log"
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
