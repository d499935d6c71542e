#!/usr/bin/env bash
# netvm's virtio-blk on this machine's /dev/kvm (issue 19): the probe
# guest reads the pattern this test wrote into a raw image, writes and
# flushes, discards and zeroes, reads the serial; the host then finds
# those bytes in the file. Hostile requests (past the end, across it, an
# overflowing sector, no data, part of a sector, an unknown type, a read
# into its own header, a chain with nowhere for a status) are each
# refused with the status the spec gives, and netvm serves a read after
# them. A read-only disk refuses the write and the image stays as it was;
# a block device serves like a file; bad --disk options say what is wrong.
. "$(dirname "$0")/lib.sh"
need_kvm
IMG=$T/disk.img
# 1 MiB: sector k of the first 16 holds byte (7k + i) & 255, the rest 0xaa
python3 - "$IMG" <<'PY'
import sys
b = bytearray(b'\xaa' * (1 << 20))
for k in range(16):
    for i in range(512):
        b[k * 512 + i] = (7 * k + i) & 0xff
open(sys.argv[1], 'wb').write(b)
PY
# every "disk WHAT ok|FAILED" line of the probe becomes a result here
probe_lines() {
	while IFS= read -r line; do
		case $line in
		"disk "*" ok") TAPN=$((TAPN + 1)); echo "ok $TAPN - guest: ${line#disk }" ;;
		"disk "*" FAILED") TAPN=$((TAPN + 1)); TAPFAIL=$((TAPFAIL + 1))
			echo "not ok $TAPN - guest: ${line#disk }" ;;
		esac
	done <"$1"
}
ok "the probe drives a raw image through virtio-blk, hostile requests too (netvm exits 0)" \
	timeout 60 "$NETVM" run --kernel "$PROBE" --disk "$IMG,serial=NF-DISK-0001" \
	--cmdline "disk hostile nonet" --status "$T/st.json" --console "file:$T/c1"
probe_lines "$T/c1"
ok "...all 14 of its checks reported" bash -c "[ \$(grep -c '^disk .* ok$' $T/c1) = 14 ]"
ok "...and read the serial given" grep -qx 'disk id NF-DISK-0001' "$T/c1"
host_sees() { # the file holds what the guest wrote, zeroed and left
	python3 - "$IMG" <<'PY'
import sys
b = open(sys.argv[1], 'rb').read()
assert len(b) == 1 << 20, "size changed"
assert all(b[k * 512 + i] == (7 * k + i) & 0xff for k in range(16) for i in range(512)), "pattern"
assert all(b[k * 512 + i] == (13 * k + i) & 0xff for k in range(16, 24) for i in range(512)), "written"
assert b[24 * 512:32 * 512] == b'\xaa' * 4096, "between"
assert b[32 * 512:48 * 512] == bytes(16 * 512), "discarded and zeroed"
assert b[48 * 512:] == b'\xaa' * ((1 << 20) - 48 * 512), "the rest"
PY
}
ok "the host finds the written sectors, the discarded and zeroed ones, and the rest untouched" host_sees
ok "--status counts the requests and the ones refused" \
	python3 -c "import json; d = json.load(open('$T/st.json'))['disks'][0]; assert d['bytes'] == 1 << 20 and d['serial'] == 'NF-DISK-0001' and d['refused'] == 6 and d['requests'] == 14 and d.get('broken') is None, d"

cp "$IMG" "$T/ro.img"
ok "a read-only disk: the guest sees RO and its write is refused" \
	bash -c "timeout 60 '$NETVM' run --kernel '$PROBE' --disk '$T/ro.img,readonly=on' --cmdline 'disk nonet' --console file:$T/c2 && grep -qx 'probe: virtio-blk 2048 sectors, read-only' $T/c2"
probe_lines "$T/c2"
ok "...and the image is byte for byte as it was" cmp "$IMG" "$T/ro.img"
ok "...even when netvm is given the image as an fd it may only read" \
	bash -c "exec 7<'$T/ro.img'; timeout 60 '$NETVM' run --kernel '$PROBE' --disk fd:7,readonly=on --cmdline 'disk nonet' --console file:$T/c3 && grep -q 'write to a read-only disk refused (IOERR) ok' $T/c3 && cmp '$IMG' '$T/ro.img'"

# a block device serves as a file does (a loop device over a copy)
cp "$T/ro.img" "$T/loop.img" # with sectors 16-23 back to 0xaa:
python3 -c "f = open('$T/loop.img', 'r+b'); f.seek(8192); f.write(b'\xaa' * 4096)"
! cmp -s -i 8192:8192 -n 4096 "$IMG" "$T/loop.img" || echo "# loop.img was not reset"
LOOP=$(losetup -f --show "$T/loop.img" 2>/dev/null)
if [ -n "$LOOP" ]; then
	ok "a block device (a loop device): the pattern read, the write lands in its file" \
		bash -c "timeout 60 '$NETVM' run --kernel '$PROBE' --disk '$LOOP' --cmdline 'disk nonet' --console file:$T/c4 && grep -q 'read 16 sectors: the test.s pattern ok' $T/c4 && grep -q 'write 8 sectors ok' $T/c4 && sync && losetup -d $LOOP && cmp -s -n 8192 '$IMG' '$T/loop.img' && cmp -s -i 8192:8192 -n 4096 '$IMG' '$T/loop.img'"
	losetup -d "$LOOP" 2>/dev/null
else
	ok "a block device: # SKIP no loop device here" true
fi

# what --disk refuses, and says why
fails "an image open read-only needs readonly=on" "open read-only; give readonly=on" \
	bash -c "exec 7<'$T/ro.img'; '$NETVM' run --kernel '$PROBE' --disk fd:7 --cmdline nonet"
fails "format=qcow2 is refused for now, naming the way" "qemu-storage-daemon" \
	"$NETVM" run --kernel "$PROBE" --disk "$IMG,format=qcow2" --cmdline nonet
fails "an unknown option is named" "unknown option 'cache'" \
	"$NETVM" run --kernel "$PROBE" --disk "$IMG,cache=none" --cmdline nonet
fails "a serial past 20 characters" "at most 20" \
	"$NETVM" run --kernel "$PROBE" --disk "$IMG,serial=012345678901234567890" --cmdline nonet
fails "a missing image names its path" "$T/none.img: No such file" \
	"$NETVM" run --kernel "$PROBE" --disk "$T/none.img" --cmdline nonet
head -c 100 /dev/zero >"$T/tiny.img"
fails "an image smaller than a sector" "smaller than a 512-byte sector" \
	"$NETVM" run --kernel "$PROBE" --disk "$T/tiny.img" --cmdline nonet
# netvm opens a path with its caller's rights only: in a dir every user
# can reach, an image only root may read (KVM handed over as an fd)
PUBD=/tmp/nf-disk.$$.$RANDOM
install -d -m 0755 "$PUBD" && install -m 0600 "$IMG" "$PUBD/rootonly.img"
fails "a user's netvm cannot open an image only root may read" "rootonly.img: Permission denied" \
	bash -c "exec 8<>/dev/kvm; setpriv --reuid=nobody --regid=nogroup --clear-groups '$NETVM' run --kernel '$PROBE' --kvm-fd 8 --disk '$PUBD/rootonly.img' --cmdline nonet"
rm -rf "$PUBD"
finish
