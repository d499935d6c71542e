#!/usr/bin/env bash
# `make run`: the demo. Starts netd in a temporary directory (nothing on the
# host is touched), defines examples/default.xml and shows it.
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
EX=$(cd "$(dirname "$0")/../examples" && pwd)
T=$(mktemp -d /tmp/netfabric-demo.XXXXXX)
export NETD_SOCKET=$T/run/netd.sock
cleanup() { [ -n "${PID:-}" ] && kill $PID 2>/dev/null; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
"$BUILD/netd" --foreground --config-dir "$T/etc" --run-dir "$T/run" \
	--state-dir "$T/lib" 2>"$T/netd.log" &
PID=$!
for _ in $(seq 100); do [ -S "$NETD_SOCKET" ] && break; sleep 0.05; done
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
echo "netd running (pid $PID) with its directories under $T"
say "$BUILD/netctl" net-define "$EX/default.xml"
say "$BUILD/netctl" net-autostart default
say "$BUILD/netctl" net-list --all
say "$BUILD/netctl" net-info default
say "$BUILD/netctl" net-dumpxml default
echo
echo "The definition is stored at $T/etc/default.xml; the demo removes it on exit."
