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
pattern_image "$IMG"
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
LOOP=$(losetup -f --show "$T/loop.img")
ok "a loop device over a copy of the image" test -b "$LOOP"
ok "a block device (the loop device): the pattern read, the write lands in its file" \
	bash -c "timeout 60 '$NETVM' run --kernel '$PROBE' --disk '$LOOP' --cmdline 'disk nonet' --console file:$T/c4 && grep -q 'read 16 sectors: the test.s pattern ok' $T/c4 && grep -q 'write 8 sectors ok' $T/c4 && sync && losetup -d $LOOP && cmp -s -n 8192 '$IMG' '$T/loop.img' && cmp -s -i 8192:8192 -n 4096 '$IMG' '$T/loop.img'"
[ -b "$LOOP" ] && losetup -d "$LOOP" 2>/dev/null

# qcow2 through QEMU's block layer (qemu-storage-daemon, its NBD export
# on a socket only netvm holds): two guests on overlays of one base write different
# sectors, each overlay keeps its guest's, the base never changes; the
# daemon and its files go when netvm does, even after a kill -9
export TMPDIR=$T/tmp # where netvm makes its private dirs
mkdir -p "$TMPDIR"
qemu-img convert -f raw -O qcow2 "$T/ro.img" "$T/base.qcow2"
md5sum "$T/base.qcow2" >"$T/base.md5"
for g in 1 2; do qemu-img create -q -f qcow2 -b "$T/base.qcow2" -F qcow2 "$T/ov$g.qcow2"; done
ok "a guest on a qcow2 overlay: the base's pattern read, its own writes done" \
	bash -c "timeout 60 '$NETVM' run --kernel '$PROBE' --disk '$T/ov1.qcow2,format=qcow2' --cmdline 'disk nonet dseed=13' --console file:$T/q1 && [ \$(grep -c ' ok\$' $T/q1) = 5 ]"
ok "another guest on a second overlay of the same base writes other bytes" \
	bash -c "timeout 60 '$NETVM' run --kernel '$PROBE' --disk '$T/ov2.qcow2,format=qcow2' --cmdline 'disk nonet dseed=17' --console file:$T/q2 && [ \$(grep -c ' ok\$' $T/q2) = 5 ]"
overlays_hold() { # each overlay has its guest's sectors, the base neither
	qemu-img convert -O raw "$T/ov1.qcow2" "$T/ov1.raw" &&
		qemu-img convert -O raw "$T/ov2.qcow2" "$T/ov2.raw" &&
		python3 - "$T" <<'PY'
import sys
t = sys.argv[1]
for n, seed in (1, 13), (2, 17):
    b = open(f"{t}/ov{n}.raw", "rb").read()
    assert all(b[k * 512 + i] == (7 * k + i) & 0xff for k in range(16) for i in range(512)), n
    assert all(b[k * 512 + i] == (seed * k + i) & 0xff for k in range(16, 24) for i in range(512)), n
    assert b[32 * 512:48 * 512] == bytes(16 * 512), n
PY
}
ok "...each overlay holds its own guest's writes, zeroes and discards" overlays_hold
ok "...and the shared base is byte for byte as it was" md5sum -c --quiet "$T/base.md5"
gone_qsd() { # pgrep ran and found none (status 1; 2 and up: it failed)
	pgrep -f "qemu-storage-daemon.*$T" >/dev/null
	[ $? = 1 ]
}
no_qsd() { # no daemon left, nothing left in netvm's private dirs
	local left
	for _ in $(seq 50); do
		left=$(ls -A "$TMPDIR") && [ -z "$left" ] && gone_qsd && return 0
		sleep 0.1
	done
	ls -la "$TMPDIR"; pgrep -af qemu-storage-daemon; return 1
}
ok "...no qemu-storage-daemon and no file of netvm's is left" no_qsd
killed() {
	"$NETVM" run --kernel "$PROBE" --disk "$T/ov1.qcow2,format=qcow2" --cmdline "disk nonet serve=60" \
		--console "file:$T/q3" 2>/dev/null &
	local pid=$!
	for _ in $(seq 200); do grep -q '^probe: serving' "$T/q3" 2>/dev/null && break; sleep 0.05; done
	pgrep -f "qemu-storage-daemon.*ov1.qcow2" >/dev/null || { echo "no daemon while it ran"; return 1; }
	kill -KILL $pid
	wait $pid 2>/dev/null
	no_qsd
}
ok "netvm killed -9: its supervisor still stops the daemon and removes its files" killed
cp "$T/ro.img" "$T/snap.img"
ok "snapshot=on on a raw image: the guest's writes succeed" \
	bash -c "timeout 60 '$NETVM' run --kernel '$PROBE' --disk '$T/snap.img,snapshot=on' --cmdline 'disk nonet' --console file:$T/q4 && grep -q 'write 8 sectors ok' $T/q4"
ok "...and go with netvm: the image is unchanged" cmp "$T/ro.img" "$T/snap.img"
ok "...its overlay too" no_qsd
ok "a read-only qcow2: the write is refused and the overlay stays as it was" \
	bash -c "md5sum '$T/ov2.qcow2' >'$T/ov2.md5' && timeout 60 '$NETVM' run --kernel '$PROBE' --disk '$T/ov2.qcow2,format=qcow2,readonly=on' --cmdline 'disk nonet' --console file:$T/q5 && grep -q 'write to a read-only disk refused' $T/q5 && md5sum -c --quiet '$T/ov2.md5'"
head -c 65536 /dev/urandom >"$T/junk.qcow2"
fails "a file that is not qcow2, as format=qcow2: the daemon's own words" "qemu-storage-daemon: .*qcow2" \
	"$NETVM" run --kernel "$PROBE" --disk "$T/junk.qcow2,format=qcow2" --cmdline nonet
ok "...and nothing is left of it" no_qsd
fails "format=qcow2 takes a path, not an fd" "take a PATH" \
	bash -c "exec 7<'$T/ov1.qcow2'; '$NETVM' run --kernel '$PROBE' --disk fd:7,format=qcow2 --cmdline nonet"
unset TMPDIR

# what --disk refuses, and says why
fails "an image open read-only needs readonly=on" "open read-only; give readonly=on" \
	bash -c "exec 7<'$T/ro.img'; '$NETVM' run --kernel '$PROBE' --disk fd:7 --cmdline nonet"
fails "an unknown format" "format=vmdk: raw, qcow2 or nbd" \
	"$NETVM" run --kernel "$PROBE" --disk "$IMG,format=vmdk" --cmdline nonet
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
# and with no rights of root's at all, a user's own qcow2 overlay over
# their base (QEMU's block layer as that user; NBD needs no FUSE mount)
install -d -m 0755 "$PUBD" && install -d -o nobody "$PUBD/tmp" "$PUBD/u"
install -o nobody -m 0600 "$T/base.qcow2" "$PUBD/u/base.qcow2"
setpriv --reuid=nobody --regid=nogroup --clear-groups qemu-img create -q -f qcow2 -F qcow2 -b "$PUBD/u/base.qcow2" "$PUBD/u/user.qcow2"
ok "a user's netvm boots on a qcow2 overlay of their own, the base unchanged" \
	bash -c "exec 8<>/dev/kvm; TMPDIR='$PUBD/tmp' setpriv --reuid=nobody --regid=nogroup --clear-groups timeout 60 '$NETVM' run --kernel '$PROBE' --kvm-fd 8 --disk '$PUBD/u/user.qcow2,format=qcow2' --cmdline 'disk nonet dseed=5' --console file:$PUBD/u/c1 && grep -q 'write 8 sectors ok' $PUBD/u/c1 && cmp '$T/base.qcow2' '$PUBD/u/base.qcow2' && { qemu-img compare -q '$PUBD/u/user.qcow2' '$T/base.qcow2'; [ \$? = 1 ]; }"
rm -rf "$PUBD"

LIAR=$(cd "$(dirname "$0")/../common" && pwd)/nbd_liar.py
# an NBD server that lies (one netvm need not trust: a lab's daemon runs
# as the user who brought the lab up): replies for another request, an
# error, the connection cut mid-read. The guest's requests fail, netvm
# stays up and the guest runs to its end.
for how in cookie error cut; do
	ok "a lying NBD server ($how): the guest gets an error, netvm lives" \
		bash -c "python3 '$LIAR' $how timeout 60 '$NETVM' run --kernel '$PROBE' --disk fd:{fd},format=nbd --cmdline 'disk nonet' --console file:$T/liar-$how && grep -q 'FAILED' $T/liar-$how"
done
finish
