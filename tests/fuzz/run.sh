#!/usr/bin/env bash
# Runs every fuzz target for SECONDS, each from a corpus of its seeds in
# the build dir (libFuzzer: `make fuzz`); with SECONDS 0 replays each
# corpus once through the target built without libFuzzer in REPLAY_BUILD
# (the sanitizer build of make check: tests/fuzz/replay.c). Prints TAP
# lines, and for a failure the end of its log.
set -u
BUILD=${1:-build}
SECONDS_EACH=${2:-60}
REPLAY_BUILD=${3:-$BUILD/san}
HERE=$(cd "$(dirname "$0")" && pwd)
CONF=${NF_CONFORMANCE_DIR:-$HERE/../../../shared/conformance/libvirt}
n=0 bad=0
one() { # one NAME EXTRA-FLAGS... : corpus in $BUILD/fuzz/NAME-corpus
	local name=$1; shift
	local corpus=$BUILD/fuzz/$name-corpus log=$BUILD/fuzz/$name.log
	n=$((n + 1))
	if [ "$SECONDS_EACH" = 0 ]; then
		"$REPLAY_BUILD/fuzz/replay_$name" "$@" "$corpus" >"$log" 2>&1
	else
		"$BUILD/fuzz/fuzz_$name" -max_total_time="$SECONDS_EACH" \
			-timeout=10 -rss_limit_mb=2048 "$@" "$corpus" >"$log" 2>&1
	fi
	if [ $? = 0 ]; then
		echo "ok $n - fuzz_$name: $(grep -Eo 'Done [0-9]+ runs|replayed [0-9]+ inputs' "$log" | tail -1) ($(ls "$corpus" | wc -l) in its corpus)"
	else
		bad=$((bad + 1))
		echo "not ok $n - fuzz_$name found a crash or leak, or did not run (log: $log)"
		{ grep -E 'ERROR|SUMMARY|runtime error' "$log" | head -5
		  tail -8 "$log"; } | sed 's/^/#   /'
	fi
}
seed() { # seed NAME FILES...: into the corpus (kept between runs)
	local name=$1; shift
	mkdir -p "$BUILD/fuzz/$name-corpus"
	cp "$@" "$BUILD/fuzz/$name-corpus/" 2>/dev/null || true
}
seed netxml "$HERE"/../../examples/*.xml "$CONF"/networkxml2xmlin/*.xml \
	"$CONF"/networkxml2confdata/*.xml
seed virtq "$HERE"/virtq-seed*.bin
seed vpci "$HERE"/vpci-seed*.bin
seed boot "$HERE"/boot-seed*.bin
seed vblk "$HERE"/vblk-seed*.bin
seed nbd "$HERE"/nbd-seed*.bin
one netxml -max_len=65536 -dict="$HERE/netxml.dict"
one virtq -max_len=20000
one vpci -max_len=4096
one boot -max_len=262144
one vblk -max_len=20000
one nbd -max_len=20000
echo "1..$n"
[ $bad = 0 ]
