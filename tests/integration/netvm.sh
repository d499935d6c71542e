#!/usr/bin/env bash
# netvm, first stage: boots the probe guest through its PVH entry on this
# machine's /dev/kvm; its serial console and exit status tell what ran.
. "$(dirname "$0")/lib.sh"
NETVM=$NF_BUILD/netvm
PROBE=$NF_BUILD/guest/probe.elf
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "ok 1 - # SKIP /dev/kvm is not usable on this machine"
	echo "1..1"; exit 0
fi
ok "the probe guest boots and powers off (exit 0)" \
	bash -c "'$NETVM' run --kernel '$PROBE' --cmdline 'hello netvm' >'$T/console'"
ok "its serial console says it came up" grep -qx 'probe: up' "$T/console"
ok "it got the command line through hvm_start_info" \
	grep -qx 'probe: cmdline hello netvm' "$T/console"
ok "it found the PCI host bridge by config mechanism #1" \
	grep -qx 'pci 00:00.0 8086:29c0' "$T/console"
ok "--console file:PATH" \
	bash -c "'$NETVM' run --kernel '$PROBE' --console file:$T/c2 >'$T/stdout' && grep -qx 'probe: done' $T/c2 && [ ! -s $T/stdout ]"
reset_rc() { "$NETVM" run --kernel "$PROBE" --cmdline reset --console none; [ $? = 2 ]; }
ok "a keyboard-controller reset ends netvm with status 2" reset_rc
# A guest that loads an empty IDT and traps: VMX/SVM report a triple fault
# (status 3); this machine's PVM-backed KVM fails to emulate the delivery
# (status 1). Either way netvm ends at once and says what KVM reported.
crash() {
	timeout 20 "$NETVM" run --kernel "$PROBE" --cmdline triplefault \
		--console none 2>"$T/crash"
	local rc=$?
	cat "$T/crash"
	{ [ $rc = 3 ] && grep -q 'triple fault' "$T/crash"; } ||
		{ [ $rc = 1 ] && grep -q 'KVM internal error' "$T/crash"; }
}
ok "a crashing guest ends netvm with KVM's reason (3 on triple fault)" crash
fails "a missing kernel is refused" "cannot open $T/nope" \
	"$NETVM" run --kernel "$T/nope"
echo "not an elf" >"$T/junk"
fails "a non-ELF kernel is refused" "is not an ELF file" "$NETVM" run --kernel "$T/junk"
fails "an ELF without a PVH note is refused" "no PVH entry note" \
	"$NETVM" run --kernel "$NF_BUILD/netctl"
fails "too little memory is refused" "2 MiB to 3 GiB" \
	"$NETVM" run --kernel "$PROBE" --mem 1M
fails "a bad size is refused" "is not a size" "$NETVM" run --kernel "$PROBE" --mem lots
finish
