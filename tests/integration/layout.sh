#!/usr/bin/env bash
# The source layout keeps its promises (README "Layout"): host modules and
# lib/ include nothing of the daemon's, netd's parts call one way, and the
# twins that were merged stay merged. Needs no root.
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/../.."

# no_match PATTERN FILES...: grep ran (status 1: nothing found) and found
# nothing; status 2 (a missing file) fails too
no_match() {
	local pat=$1 rc
	shift
	grep -En -- "$pat" "$@"
	rc=$?
	[ $rc = 1 ] || { [ $rc = 0 ] && echo "(the lines above)"; return 1; }
}

ok "bridge, nat, tap, dhcp, sriov, vhost and lib include nothing from netd/" \
	no_match '#include "\.\./netd/' bridge/*.[ch] nat/*.[ch] tap/*.[ch] \
	dhcp/*.[ch] sriov/*.[ch] vhost/*.[ch] lib/*.[ch]
ok "lib/ includes no other folder's headers" \
	no_match '#include "\.\./' lib/*.[ch]
ok "netctl/ includes the model and lib, not the daemon" \
	no_match '#include "\.\./netd/(network|lifecycle|port|vfport|update|lab|dispatch|server|request|loop)\.h"' \
	netctl/*.[ch]

# netd's own includes as "includer included" pairs of module names (the
# file name without .c/.h); tsort fails on a loop
pairs() {
	local f m h
	for f in netd/*.[ch]; do
		m=$(basename "${f%.*}")
		sed -n 's/^#include "\([a-z_]*\)\.h"$/\1/p' "$f" | while read -r h; do
			[ "$h" = "$m" ] || echo "$h $m"
		done
	done
}
ok "netd's includes have no cycle" bash -c "$(declare -f pairs); pairs | tsort >/dev/null"
# the layers: a part includes only those below it
RANK="netxml:0 labxml:0 labplan:0 store:0 dhcpspec:1 request:0 loop:0 network:2 pin:3
vfport:3 port:4 foreign:5 lifecycle:5 update:6 lab:7 doctor:3 dispatch:8 server:1
netd:9"
rank() { tr ' ' '\n' <<<"$RANK" | sed -n "s/^$1://p"; }
upward() {
	local bad=0 f m h
	for f in netd/*.[ch]; do
		m=$(basename "${f%.*}")
		for h in $(sed -n 's/^#include "\([a-z_]*\)\.h"$/\1/p' "$f"); do
			[ "$h" = "$m" ] && continue
			if [ -z "$(rank "$m")" ] || [ -z "$(rank "$h")" ]; then
				echo "$f: $m or $h has no layer in layout.sh"; bad=1
			elif [ "$(rank "$h")" -ge "$(rank "$m")" ] && [ "$(rank "$m")" != 0 ]; then
				echo "$f includes $h.h, which is not below it"; bad=1
			fi
		done
	done
	return $bad
}
ok "netd's parts include only the layers below: registry <- vfport <- port <- lifecycle <- update <- lab <- dispatch <- netd" upward

# the twins the re-layout merged
ok "one pidfd watch (loop_watch_pid): pidfd_open only in netd/loop.c" \
	no_match 'pidfd_open' netd/lifecycle.c netd/lab.c netd/port.c netd/vfport.c netd/network.c
ok "one JSON reader and writer (lib/nfjson.c): no read_json, write_json or arg_str" \
	no_match '\b(read_json|write_json|arg_str)\(' netd/*.c netctl/*.c
ok "one random interface name (nf_random_name)" \
	no_match '%08x' netd/*.c
ok "command names come from lib/cmds.h: no request name spelled in netctl, netvm or dispatch" \
	no_match 'call(_fds)?\("|proto_call(_fds)?\([^,]*, "' netctl/*.c vhost/*.c netd/dispatch.c
ok "netctl's shared helpers carry its prefix" \
	no_match '^(int|const char \*|char \*|void) (call|call_fds|jstr|yesno|print_json|print_table|read_input|die_usage)\(' netctl/*.c

# the build's own promises
ok "make CFLAGS=-O0 still has the flags the build needs" \
	bash -c "make -s -n CFLAGS=-O0 BUILD=$T/b $T/b/obj/lib/nf.o | grep -q -- '-std=gnu11 .*-DNF_VERSION=.*-MMD.*-O0'"
ok "make compdb writes one entry per C file" \
	bash -c "make -s compdb COMPDB=$T/cc.json >/dev/null && [ \"\$(jq length $T/cc.json)\" = \"\$(ls lib/*.c netd/*.c netctl/*.c vhost/*.c dhcp/*.c bridge/*.c nat/*.c tap/*.c sriov/*.c tests/unit/*.c tests/bench/*.c tests/common/*.c tests/hostile/*.c tests/guestsim/*.c | wc -l)\" ] && jq -e 'all(.[]; .command | test(\"-std=gnu11\"))' $T/cc.json >/dev/null"
echo "1..$TAPN"
[ "$TAPFAIL" = 0 ]
