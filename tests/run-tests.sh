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
	printf '%s\n' "$out" | grep -E '^not ok' | sed 's/^/    /'
	printf '%s\n' "$out" | grep -E '^# (conformance|figure)' | sed 's/^/    /'
}
# unit tests (and the netd the protocol test starts) from the sanitizer
# build when there is one: a use after free or undefined behaviour fails
SAN=${NF_SAN_BUILD:+$(cd "$NF_SAN_BUILD" && pwd)}
export NF_SAN_BUILD=$SAN
for t in "${SAN:-$NF_BUILD}"/tests/test_*; do
	[ -x "$t" ] && NF_BUILD=${SAN:-$NF_BUILD} \
		run "$(basename "$t")${SAN:+ (asan+ubsan)}" "$t"
done
for t in tests/integration/*.sh; do
	[ -x "$t" ] && run "$(basename "$t" .sh)" "$t"
done
echo "full log: $log"
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
