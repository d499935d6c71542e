#!/usr/bin/env bash
# netctl as virsh users type it: help for every command, "did you mean",
# named arguments, virsh's table, JSON that ends in a newline; bash
# completion driven as bash drives it (COMP_WORDS, COMP_CWORD); the man
# pages render without a groff warning and name every command and option.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
NETVM=$NF_BUILD/netvm

# out_is DESCRIPTION EXPECTED CMD...: CMD succeeds and prints EXPECTED
out_is() {
	local d=$1 want=$2 got rc
	shift 2
	got=$("$@" 2>&1); rc=$?
	if [ $rc = 0 ] && [ "$got" = "$want" ]; then
		ok "$d" true
	else
		printf '#   wanted: %s\n#   got (exit %s): %s\n' "$want" "$rc" "$got" | head -20
		ok "$d" false
	fi
}

ok "netd starts in temp dirs" start_netd
# defined out of order: net-list sorts by name
ok "define other, then default" bash -c "$NETCTL net-define $EXAMPLES/other.xml &&
	$NETCTL net-define --file $EXAMPLES/default.xml"

# ---- help
HELP=$($NETCTL help)
for g in Networks Ports Labs SR-IOV Host; do
	ok "help lists the group $g" grep -qx " $g" <<<"$HELP"
done
fits() { [ -n "$HELP" ] && [ -z "$(awk 'length > 79' <<<"$HELP")" ]; }
ok "help's list fits in 80 columns" fits
cmds=$(awk '/^    [a-z]/ && !/^    --/ { c = $1; if ($1 == "lab") c = $1 " " $2; print c }' <<<"$HELP")
ok "help lists 37 commands" [ "$(wc -l <<<"$cmds")" = 37 ]
bad=""
while read -r c; do
	# each command: help CMD and CMD --help agree, and every flag its help
	# names is one it takes (given with a value when it has one; the
	# --help after it stops the command before it runs)
	h=$($NETCTL help $c) && [ "$h" = "$($NETCTL $c --help)" ] || bad="$bad $c"
	while read -r f v; do
		[ -n "$f" ] || continue
		$NETCTL $c $f ${v:+x} --help 2>&1 | grep -q "^usage: netctl $c" || bad="$bad $c:$f"
	done < <(grep -oE '^  --[a-z-]+( [A-Z]+)?' <<<"$h")
done <<<"$cmds"
ok "every command has help, and takes each flag it names${bad:+ (not:$bad)}" [ -z "$bad" ]
out_is "netctl --version" "netctl 0.1.0" $NETCTL --version
out_is "netvm --version" "netvm 0.1.0" $NETVM --version

# ---- did you mean
fails "a mistyped command: the nearest" "did you mean 'net-start'" $NETCTL net-strat default
fails "a mistyped lab subcommand" "did you mean 'lab up'" $NETCTL lab upp x.xml
fails "a mistyped option: the nearest" "did you mean '--inactive'" \
	$NETCTL net-dumpxml default --inactiv
fails "...and the ones it takes" "usage: netctl net-dumpxml NETWORK \[--inactive\]" \
	$NETCTL net-dumpxml default --inactiv
fails "a mistyped network" "no network named 'defualt'; did you mean 'default'" $NETCTL net-info defualt
fails "...also for port-list" "did you mean 'other'" $NETCTL port-list othr
fails "a missing argument says which" "missing NETWORK" $NETCTL net-start
fails "one too many" "unexpected argument 'x'" $NETCTL net-start default x

# ---- named arguments, as virsh takes them
out_is "net-uuid --network NAME" "$($NETCTL net-uuid default)" $NETCTL net-uuid --network default
out_is "net-uuid --network=NAME" "$($NETCTL net-uuid default)" $NETCTL net-uuid --network=default
ok "net-dumpxml --inactive --network NAME" bash -c "$NETCTL net-dumpxml --inactive --network other | grep -q '<name>other</name>'"

# ---- virsh's table: sorted, a rule as wide as the cells, no trailing blanks
want=$(printf ' %-9s %-10s %-11s %s\n%s\n %-9s %-10s %-11s %s\n %-9s %-10s %-11s %s\n' \
	Name State Autostart Persistent "$(printf '%046d' 0 | tr 0 -)" \
	default inactive no yes other inactive no yes)
out_is "net-list --all --table: virsh's layout, sorted by name" "$want" $NETCTL net-list --all --table

# ---- completion, as bash calls it
ok "bash-completion is there" test -r /usr/share/bash-completion/bash_completion
ok "net-start other" ip netns exec "$NETD_NS" $NETCTL net-start other
ok "a kept port to complete" $NETCTL port-create other --name vm1 --persist nftest0
for c in "net-list --all" "net-info default" "port-list" "doctor" "net-dhcp-leases other" "version" "net-port-list other" "lab list"; do
	ok "--json $c ends in a newline" bash -c "$NETCTL --json $c >$T/j; [ \"\$(tail -c1 $T/j | od -An -c | tr -d ' ')\" = '\\n' ] && jq -e . $T/j >/dev/null"
done
mkdir "$T/cwd"
complete_line() { # complete_line WORDS...: COMPREPLY for the last word
	( cd "$T/cwd" && PATH=$NF_BUILD:$PATH bash -c '
		. /usr/share/bash-completion/bash_completion
		. "$0"
		COMP_WORDS=("$@"); [ "${!#}" = _ ] && COMP_WORDS[$# - 1]=""
		COMP_CWORD=$(($# - 1))
		COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}
		f=$(complete -p "$1" | sed -E "s/.*-F ([^ ]+).*/\1/")
		"$f" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
		printf "%s\n" "${COMPREPLY[@]}" | sort' \
		"$ROOT/contrib/netctl.bash-completion" "$@" )
}
touch "$T/cwd/lab1.xml" "$T/cwd/labnot.txt"
cat >"$T/cmpl.xml" <<'EOF2'
<lab name='cmpl'>
  <network name='cmplnet'>
    <bridge name='nfbrc1'/>
    <ip address='10.77.0.1' netmask='255.255.255.0'/>
  </network>
</lab>
EOF2
ok "a lab (no guests) for its name to complete" $NETCTL lab up "$T/cmpl.xml" --timeout 20
while IFS='|' read -r words want; do
	# shellcheck disable=SC2086 # '_' stands for the empty word
	got=$(complete_line $words | tr '\n' ' ' | sed 's/ $//')
	if [ "$got" = "$want" ]; then ok "complete '$words' -> $want" true
	else echo "#   got: $got"; ok "complete '$words' -> $want" false; fi
done <<EOF2
netctl net-st|net-start
netctl --j|--json
netctl net-start _|cmplnet default other
netctl net-start d|default
netctl --socket $T/none.sock net-start _|
netctl net-start --|--help --network
netctl net-dhcp-leases other --m|--mac
netctl port-create other --vlan-proto _|802.1Q 802.1ad
netctl port-create d|default
netctl port-create other --no|--no-filter
netctl port-info _|$($NETCTL --json port-list | jq -r '.[0] | .name, .tap, .uuid' | sort | tr '\n' ' ' | sed 's/ $//')
netctl port-delete vm|vm1
netctl lab _|console down export graph list status up
netctl lab graph x --format _|dot mermaid svg
netctl lab status _|cmpl
netctl lab down c|cmpl
netctl lab console cmpl --f|--follow
netctl lab up lab|lab1.xml
netctl net-update other _|add add-first add-last delete modify
netctl net-update other add ip-|ip-dhcp-host ip-dhcp-range
netctl net-define l|lab1.xml
netctl net-update other add ip-dhcp-host l|lab1.xml
netvm _|--help --version run
netvm run --se|--seccomp
netvm run --seccomp _|off on
netvm run --net _|cmplnet default other
EOF2
ok "port-delete vm1" $NETCTL port-delete vm1
ok "lab down cmpl" $NETCTL lab down cmpl

# ---- virsh's network ports, in libvirt's network port XML
CONF=${NF_CONFORMANCE_DIR:-$ROOT/../shared/conformance/libvirt}/virnetworkportxml2xmldata
PU=5d744f21-ba4a-4d6e-bdb2-30a35ff3207d
out_is "net-port-create from libvirt's plug-none.xml" "Network port $PU created from $CONF/plug-none.xml" \
	$NETCTL net-port-create other "$CONF/plug-none.xml"
TAPP=$($NETCTL --json port-info $PU | jq -r .tap)
ok "...a TAP on other's bridge, kept ($TAPP)" bash -c "ip -n $NETD_NS -o link show dev '$TAPP' | grep -q 'master nfbr9'"
ok "...named after its owner" bash -c "$NETCTL port-info $PU | grep -q 'Name: *memtest'"
ok "net-port-list --uuid" bash -c "[ \"\$($NETCTL net-port-list other --uuid)\" = $PU ]"
out_is "net-port-list: virsh's table" "$(printf ' UUID\n%s\n %s\n' "$(printf '%039d' 0 | tr 0 -)" $PU)" \
	$NETCTL net-port-list other
out_is "net-port-dumpxml: libvirt's XML, with the plug the network filled in" \
	"$(sed "s|</networkport>|  <plug type='network' bridge='nfbr9'/>\n</networkport>|" "$CONF/plug-none.xml")" \
	$NETCTL net-port-dumpxml other $PU
fails "...the same UUID twice" "a port with UUID $PU exists" $NETCTL net-port-create other "$CONF/plug-none.xml"
fails "a port that names its plug is refused" "<plug> is what the network fills in" \
	$NETCTL net-port-create other "$CONF/plug-bridge.xml"
grep -v '<plug' "$CONF/plug-bridge.xml" >"$T/bw.xml"
fails "...one with <bandwidth>: said, not dropped" "<bandwidth>: netd does not shape" \
	$NETCTL net-port-create other "$T/bw.xml"
sed 's|<mac |<macc |' "$CONF/plug-none.xml" >"$T/badport.xml"
fails "...an element libvirt does not take, with the ones it takes" "line 7: <macc>: not in <networkport> .it takes uuid, owner" \
	$NETCTL net-port-create other "$T/badport.xml"
fails "net-port-delete on another network" "is on network other, not default" $NETCTL net-port-delete default $PU
out_is "net-port-delete" "Network port $PU deleted" $NETCTL net-port-delete other $PU
ok "...its TAP is gone" no_link "$NETD_NS" "$TAPP"

# ---- virsh's net-dumpxml --xpath, net-event filters, net-desc, net-metadata
out_is "net-dumpxml --xpath: the nodes" "$(printf '<name>other</name>\n<bridge name="nfbr9" stp="off" delay="0"/>')" \
	$NETCTL net-dumpxml other --xpath '/network/name|/network/bridge'
out_is "...a value" "other" $NETCTL net-dumpxml other --xpath 'string(/network/name)'
out_is "...--wrap" "$(printf '<nodes>\n<name>other</name>\n</nodes>')" \
	$NETCTL net-dumpxml other --xpath /network/name --wrap
fails "...a bad expression is named" "not an XPath expression" $NETCTL net-dumpxml other --xpath '/network/['
out_is "net-event --list" "lifecycle" $NETCTL net-event --list
fails "net-event --event of a kind netd has not" "unknown event 'reboot'" $NETCTL net-event --event reboot
$NETCTL net-event --network other --timestamp --loop --timeout 10 >"$T/ev" 2>&1 &
EV=$!
sleep 0.5
ok "events of other and of another network" bash -c "$NETCTL net-destroy other && ip netns exec $NETD_NS $NETCTL net-start other &&
	$NETCTL net-undefine default && $NETCTL net-define $EXAMPLES/default.xml"
sleep 0.5; kill $EV 2>/dev/null; wait $EV 2>/dev/null
ok "net-event --network: only that network's, --timestamp: when" \
	bash -c "grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}\.[0-9]{3}[-+][0-9]{4}: event .lifecycle. for network other: Stopped' $T/ev &&
		grep -q 'for network other: Started' $T/ev && ! grep -q default $T/ev"
ok "net-desc --new-desc sets the description (live: other runs)" $NETCTL net-desc other --new-desc "web tier & more"
out_is "...net-desc shows it" "web tier & more" $NETCTL net-desc other
ok "...in the running network's XML, escaped" bash -c "$NETCTL net-dumpxml other | grep -q '<description>web tier &amp; more</description>'"
ok "...not in the definition (no --config)" lacks $NETCTL net-dumpxml --inactive other description
ok "net-desc --title --config" $NETCTL net-desc other --title --config --new-desc "Other"
out_is "...net-desc --title --config shows it" "Other" $NETCTL net-desc other --title --config
ok "...after <name> and <uuid>, as libvirt writes it" bash -c "$NETCTL net-dumpxml --inactive other | sed -n 3,4p | grep -q '<title>Other</title>'"
fails "a title of two lines is refused" "one line" $NETCTL net-desc other --title --new-desc "$(printf 'a\nb')"
out_is "net-desc of a network without one" "No description for network: default" $NETCTL net-desc default
URI=http://example.org/netfabric-test/1
ok "net-metadata --set (live and config)" $NETCTL net-metadata other $URI --key ex --set "<app id='7'><tier>web</tier></app>" --live --config
out_is "...net-metadata shows the element in its namespace" \
	"<ex:app xmlns:ex=\"$URI\" id=\"7\">
  <ex:tier>web</ex:tier>
</ex:app>" $NETCTL net-metadata other $URI
stop_netd
ok "netd restarts" start_netd
ok "...kept in the definition across a netd restart" bash -c "$NETCTL net-metadata --config other $URI | grep -q 'id=\"7\"'"
ok "...and in the running network's, which netd re-adopted" bash -c "$NETCTL net-metadata --live other $URI | grep -q 'id=\"7\"'"
fails "...an element with a DOCTYPE (entities: a file of root's)" "not a document with a DOCTYPE" \
	$NETCTL net-metadata other $URI --key ex --set '<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/shadow">]><a>&x;</a>'
fails "...--set without --key" "need --key" $NETCTL net-metadata other $URI --set "<a/>"
fails "...a key that is no XML prefix" "not an XML prefix" $NETCTL net-metadata other $URI --key '1x' --set "<a/>"
ok "net-metadata --remove" $NETCTL net-metadata other $URI --remove --live --config
fails "...gone" "no metadata in namespace" $NETCTL net-metadata other $URI
ok "...and the empty <metadata> with it" lacks $NETCTL net-dumpxml other '<metadata'
ok "net-define --validate takes a valid file" $NETCTL net-define --validate "$EXAMPLES/default.xml"

# ---- man pages
for page in "$ROOT"/doc/*.[18]; do
	ok "$(basename "$page") renders without a groff warning" \
		bash -c "out=\$(groff -ww -z -man '$page' 2>&1) && [ -z \"\$out\" ] &&
			out=\$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l '$page' 2>&1 >/dev/null) && [ -z \"\$out\" ]"
done
PAGE=$(MANWIDTH=200 man -l "$ROOT/doc/netctl.1" 2>/dev/null)
ok "netctl(1): no option run into its value ([--macMAC])" lacks echo "$PAGE" '\[--[a-z-]+[A-Z]'
missing=""
while read -r c; do grep -qE "^ {7}$c( |$)" <<<"$PAGE" || missing="$missing $c"; done <<<"$cmds"
ok "netctl(1) has every command${missing:+ (not:$missing)}" [ -z "$missing" ]
for s in "EXIT STATUS" FILES ENVIRONMENT EXAMPLES "SEE ALSO"; do
	ok "netctl(1) has $s" grep -qx "$s" <<<"$PAGE"
done
opts_in() { # opts_in PAGE HELP-CMD...: every --option the help names is in the page
	local page=$1 m=""; shift
	local text; text=$(MANWIDTH=200 man -l "$page" 2>/dev/null)
	for o in $("$@" 2>&1 | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
		grep -qF -- "$o" <<<"$text" || m="$m $o"
	done
	[ -z "$m" ] || echo "#   not in $(basename "$page"):$m"
	[ -z "$m" ]
}
ok "netvm(1) has every option netvm --help names" opts_in "$ROOT/doc/netvm.1" $NETVM --help
ok "netd(8) has every option netd --help names" opts_in "$ROOT/doc/netd.8" $NETD --help
all_flags() { # every flag of every command, as netctl help shows them
	while read -r c; do $NETCTL help $c || return 1; done <<<"$cmds" |
		grep -oE -- '--[a-z][a-z-]+' | sort -u
}
ok "netctl(1) has every flag of every command" opts_in "$ROOT/doc/netctl.1" all_flags
finish
