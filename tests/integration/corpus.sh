#!/usr/bin/env bash
# Real-world network XMLs (tests/data/corpus: each names the public project
# and file it comes from) through libvirt and through netd in one run, each
# side in namespaces of its own: every file is defined, started, looked at
# and destroyed, with the host NICs and bridges it names made beside it.
# Both sides must agree on whether a file is defined and started and on
# what a started network is: the bridge (MTU, STP, forward delay, a MAC the
# file gives), its addresses, its routes and dnsmasq's configuration (with
# the hosts files' contents). Every difference must be in
# tests/data/corpus/expected-differences with its reason; an entry there
# that is no longer seen fails too.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
CORPUS=$(cd "$HERE/../data/corpus" && pwd)
. "$HERE/../common/libvirt.sh"

xp() { xmllint --xpath "$1" "$2" 2>/dev/null; }

# The NICs and bridges FILE names on this host: a bridge for forward
# mode='bridge' onto <bridge name>, a dummy NIC for each forward dev,
# interface and pf. nics up|down FILE [IP-PREFIX...]
nics() {
	local op=$1 f=$2 d
	shift 2
	local mode br
	mode=$(xp 'string(/network/forward/@mode)' "$f")
	br=$(xp 'string(/network/bridge/@name)' "$f")
	if [ "$mode" = bridge ] && [ -n "$br" ]; then
		if [ "$op" = up ]; then
			"$@" link add "$br" type bridge && "$@" link set "$br" up
		else
			"$@" link del "$br"
		fi
	fi
	for d in $(xp '/network/forward/@dev | /network/forward/interface/@dev |
		/network/forward/pf/@dev' "$f" | sed -E 's/ *dev="([^"]*)"/\1\n/g' | sort -u); do
		if [ "$op" = up ]; then
			"$@" link show "$d" >/dev/null 2>&1 ||
				{ "$@" link add "$d" type veth peer name "${d}p" && "$@" link set "$d" up; }
		else
			"$@" link del "$d" 2>/dev/null
		fi
	done
	return 0
}

# dnsmasq's configuration as comparable lines: comments dropped, the value
# of an option naming a file of the daemon's own replaced by PATH, and the
# hosts files it names inlined line by line.
dnsconf() {
	local conf=$1 line key val
	while IFS= read -r line; do
		case $line in '#'* | '') continue ;; esac
		key=${line%%=*} val=${line#*=}
		case $key in
		dhcp-hostsfile | addn-hosts | dhcp-optsfile)
			echo "dnsmasq $key=PATH"
			[ -f "$val" ] && sed -E 's/[[:space:]]+/ /g; s/ $//' "$val" |
				sed "s|^|dnsmasq $key: |" ;;
		pid-file | dhcp-leasefile | log-facility | dhcp-script | conf-file)
			echo "dnsmasq $key=PATH" ;;
		*) echo "dnsmasq $line" ;;
		esac
	done <"$conf"
}

# snapshot FILE BRIDGE DNSMASQ-CONF IP-PREFIX...: what a started network is
snapshot() {
	local f=$1 br=$2 conf=$3 mac
	shift 3
	if [ -n "$br" ] && "$@" link show "$br" >/dev/null 2>&1; then
		"$@" -d -j link show dev "$br" | jq -r '.[0] | "bridge mtu=\(.mtu) " +
			"stp=\(.linkinfo.info_data.stp_state) " +
			"forward_delay=\(.linkinfo.info_data.forward_delay)"'
		mac=$(xp 'string(/network/mac/@address)' "$f")
		[ -n "$mac" ] && "$@" -j link show dev "$br" | jq -r '.[0] | "mac \(.address)"'
		"$@" -j addr show dev "$br" | jq -r '.[0].addr_info[] |
			select(.scope != "link") | "addr \(.local)/\(.prefixlen)"'
		{ "$@" -j -4 route show dev "$br"; "$@" -j -6 route show dev "$br"; } |
			jq -r '.[] | select(.dst | startswith("fe80") | not) |
			"route \(.dst) via=\(.gateway // "-") metric=\(.metric // 0)"'
	fi
	if [ -f "$conf" ]; then dnsconf "$conf"; else echo "dnsmasq none"; fi
}

# side NAME DEFINE START DESTROY UNDEFINE BRIDGE-OF CONF-OF OUT IP-PREFIX...:
# every corpus file through one side; OUT/ID holds what it made of ID
side() {
	local define=$1 start=$2 destroy=$3 undefine=$4 bridge_of=$5 conf_of=$6 out=$7
	shift 7
	local f id name br
	mkdir -p "$out"
	for f in "$CORPUS"/*.xml; do
		id=$(basename "$f" .xml)
		name=$(xp 'string(/network/name)' "$f")
		nics up "$f" "$@"
		{
			if $define "$f" >"$out/$id.define" 2>&1; then
				echo "define ok"
				if $start "$name" >"$out/$id.start" 2>&1; then
					echo "start ok"
					br=$($bridge_of "$name")
					[ -n "$(xp 'string(/network/bridge/@name)' "$f")" ] || br_auto=$br
					snapshot "$f" "$br" "$($conf_of "$name")" "$@" |
						sed "${br_auto:+s/\\b$br_auto\\b/BRIDGE/g}"
					br_auto=
					$destroy "$name" >/dev/null 2>&1
				else
					echo "start failed"
				fi
				$undefine "$name" >/dev/null 2>&1
			else
				echo "define refused"
			fi
		} >"$out/$id"
		nics down "$f" "$@"
	done
}

if [ "${1:-}" = --libvirt-side ]; then
	libvirt_start "$2" || exit 1
	lv_define() { "${VIRSH[@]}" net-define "$1"; }
	lv_start() { "${VIRSH[@]}" net-start "$1"; }
	lv_destroy() { "${VIRSH[@]}" net-destroy "$1"; }
	lv_undefine() { "${VIRSH[@]}" net-undefine "$1"; }
	lv_bridge() { "${VIRSH[@]}" net-info "$1" | awk '$1 == "Bridge:" {print $2}'; }
	lv_conf() { echo "/var/lib/libvirt/dnsmasq/$1.conf"; }
	side lv_define lv_start lv_destroy lv_undefine lv_bridge lv_conf "$2/libvirt" ip
	kill "$LIBVIRT_PID"
	wait "$LIBVIRT_PID" 2>/dev/null
	exit 0
fi

. "$HERE/lib.sh"
if ! libvirt_installed; then
	ok "libvirt is installed (make deps installs libvirt-daemon and libvirt-clients)" false
	finish
	exit
fi
unshare --net --mount --fork bash "$0" --libvirt-side "$T" >"$T/libvirt-side.log" 2>&1
ok "libvirt ran the corpus in private namespaces" test -d "$T/libvirt"
[ -d "$T/libvirt" ] || { cat "$T/libvirt-side.log" "$T/libvirtd.log" 2>/dev/null |
	tail -20 | sed 's/^/#   /'; finish; exit; }

ok "netd starts" start_netd
nd_define() { "$NETCTL" net-define "$1"; }
nd_start() { "$NETCTL" net-start "$1"; }
nd_destroy() { "$NETCTL" net-destroy "$1"; }
nd_undefine() { "$NETCTL" net-undefine "$1"; }
nd_bridge() { "$NETCTL" --json net-info "$1" | jq -r '.bridge // empty'; }
nd_conf() { echo "$T/run/dnsmasq/$1.conf"; }
side nd_define nd_start nd_destroy nd_undefine nd_bridge nd_conf "$T/netd" ip -n "$NETD_NS"

# expected-differences: "GLOB -- REASON" lines; GLOB is matched against
# records "ID: libvirt only: LINE" and "ID: netd only: LINE"
EXPECTED=$CORPUS/expected-differences
mapfile -t globs < <(sed -E '/^(#|$)/d; s/ -- .*//' "$EXPECTED")
declare -A used
ok "every expected difference has a reason" \
	bash -c "! grep -vE '^(#|$)' '$EXPECTED' | grep -v ' -- ..*'"
n=0 lv_def=0 lv_start=0 nd_def=0 nd_start=0 same=0 same_off=0 explained=0 core=0
# where dnsmasq keeps its files and which user it runs as: in every
# config netd writes (expected-differences says why)
HOUSEKEEPING=': netd only: dnsmasq (user|group|dhcp-leasefile|log-facility)='

for f in "$CORPUS"/*.xml; do
	id=$(basename "$f" .xml)
	n=$((n + 1))
	grep -qx 'define ok' "$T/libvirt/$id" && lv_def=$((lv_def + 1))
	grep -qx 'start ok' "$T/libvirt/$id" && lv_start=$((lv_start + 1))
	grep -qx 'define ok' "$T/netd/$id" && nd_def=$((nd_def + 1))
	grep -qx 'start ok' "$T/netd/$id" && nd_start=$((nd_start + 1))
	diff <(sort "$T/libvirt/$id") <(sort "$T/netd/$id") |
		sed -nE "s/^< (.*)/$id: libvirt only: \1/p; s/^> (.*)/$id: netd only: \1/p" \
			>"$T/$id.diff"
	: >"$T/$id.unexpected"
	while IFS= read -r rec; do
		hit=
		for g in "${globs[@]}"; do
			# shellcheck disable=SC2053 # the entry is a glob
			if [[ $rec == $g ]]; then hit=1; used[$g]=1; fi
		done
		[ -n "$hit" ] || echo "$rec" >>"$T/$id.unexpected"
	done <"$T/$id.diff"
	if [ ! -s "$T/$id.diff" ] && grep -qx 'start ok' "$T/netd/$id"; then
		same=$((same + 1))
	elif [ ! -s "$T/$id.diff" ]; then
		same_off=$((same_off + 1))
	elif [ ! -s "$T/$id.unexpected" ]; then
		explained=$((explained + 1))
		grep -qx 'start ok' "$T/netd/$id" &&
			! grep -qvE "$HOUSEKEEPING" "$T/$id.diff" && core=$((core + 1))
	fi
	TAPN=$((TAPN + 1))
	if [ -s "$T/$id.unexpected" ]; then
		echo "not ok $TAPN - $id: netd and libvirt differ beyond expected-differences"
		sed 's/^/#   /' "$T/$id.unexpected" | head -20
		for s in libvirt netd; do
			[ -s "$T/$s/$id.define" ] && sed "s/^/#   $s define: /" "$T/$s/$id.define" | head -3
			[ -s "$T/$s/$id.start" ] && sed "s/^/#   $s start: /" "$T/$s/$id.start" | head -3
		done
		TAPFAIL=$((TAPFAIL + 1))
	else
		echo "ok $TAPN - $id: netd and libvirt agree ($(wc -l <"$T/$id.diff") expected differences)"
	fi
done
stale=()
for g in "${globs[@]}"; do [ -n "${used[$g]:-}" ] || stale+=("$g"); done
ok "every expected difference is still seen (stale: ${stale[*]:-none})" test ${#stale[@]} -eq 0
echo "# figure corpus of $n files: libvirt defines $lv_def, starts $lv_start;" \
	"netd defines $nd_def, starts $nd_start; started and identical $same" \
	"($((same + core)) apart from dnsmasq's file locations and user)," \
	"refused or not started by both $same_off, differing only as expected $explained"
finish
