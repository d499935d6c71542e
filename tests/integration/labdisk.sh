#!/usr/bin/env bash
# Labs with images (issue 19): guests boot on a qcow2 overlay each of one
# shared base image. An unprivileged member of --group brings the lab up
# with a base only they may read; netd makes each overlay in the lab's
# state dir and runs qemu-storage-daemon as that member (never with
# root's rights on their file), the guests' netvm as --guest-user. The
# probe guests read the base's pattern and write their own sectors; the
# base never changes; lab down removes the overlays but the one a guest
# keeps, which the next lab up boots on again. Bad images are refused at
# lab up, naming the guest and the image, and nothing is created.
. "$(dirname "$0")/lib.sh"
need_kvm
ADMGRP=users
public_socket || { echo "not ok 1 - public dir"; exit 1; }
ok "netd starts (--group $ADMGRP, guests as daemon)" \
	start_netd --socket "$NETD_SOCKET" --group $ADMGRP --guest-user daemon
MEMBER="setpriv --reuid=nobody --regid=nogroup --groups=$(getent group $ADMGRP | cut -d: -f3)"
LABS=$T/lib/labs
IMGS=$PUB/img
install -d -o nobody -m 0700 "$IMGS"
# the probe's pattern in a raw base and a qcow2 one, only nobody's
pattern_image "$IMGS/base.img"
qemu-img convert -f raw -O qcow2 "$IMGS/base.img" "$IMGS/base.qcow2"
chown nobody "$IMGS"/base.*
chmod 0600 "$IMGS"/base.*
md5sum "$IMGS"/base.* >"$T/base.md5"
lab_xml() { # lab_xml EXTRA-GUESTS: the lab, in a file nobody reads
	cat <<X
<lab name='dl'>
  <defaults image='img/base.qcow2' cmdline='disk uart serve=2000000000'/>
  <network name='dl-n'>
    <ip address='10.83.0.1' prefix='24'>
      <dhcp><range start='10.83.0.100' end='10.83.0.200'/></dhcp>
    </ip>
  </network>
  <guest name='d' count='2'><interface network='dl-n' ip='10.83.0.11'/></guest>
  <guest name='k' keep='yes'><interface network='dl-n' ip='10.83.0.21'/></guest>
  $1
</lab>
X
}
# a cloud-init seed for guest ci: keys from the lab file (one with a
# comment YAML must quote) and from a file, user-data passed through
KEY1='ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq3nsDX4Nf1mFqU8y0hV6d3Q7mXh2yMm0cI8cN0e1Xx me@host'
KEY2='ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 "quoted" \ back: slash'
KEY3='ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTY= file@key'
printf '# keys\n\n%s\n' "$KEY3" >"$IMGS/keys.pub"
printf '#cloud-config\nruncmd:\n  - [touch, /run/from-user-data]\n' >"$IMGS/ud.yaml"
chown nobody "$IMGS/keys.pub" "$IMGS/ud.yaml"
CI_GUEST="<guest name='ci' ssh-keys='img/keys.pub' user-data='img/ud.yaml'><ssh-key>$KEY1</ssh-key><ssh-key>$(printf '%s' "$KEY2" | sed 's/&/\&amp;/g; s/"/\&quot;/g')</ssh-key><interface network='dl-n' ip='10.83.0.41'/></guest>"
lab_xml "<guest name='r' image='img/base.img' image-format='raw' cmdline='disk dseed=3 serve=2000000000'><interface network='dl-n' ip='10.83.0.31'/></guest>$CI_GUEST" >"$PUB/dl.xml"
chmod 0644 "$PUB/dl.xml"
up() { ip netns exec "$NETD_NS" $MEMBER "$NETCTL" lab up "$1" --timeout 120; }
ok "a member of --group brings up a lab of five guests on images only they may read" \
	up "$PUB/dl.xml"
console_has() { grep -q "$2" "$LABS/dl/$1.console"; }
guests_read() {
	local g
	for g in d1 d2 k r ci; do
		console_has $g "disk read 16 sectors: the test's pattern ok" &&
			console_has $g "disk write 8 sectors ok" &&
			console_has $g "disk flush ok" || { echo "$g:"; cat "$LABS/dl/$g.console"; return 1; }
	done
}
ok "...every guest read the base's pattern through its overlay, wrote and flushed" guests_read
overlays() {
	local g
	for g in d1 d2 k r ci; do
		[ "$(stat -c %U:%a "$LABS/dl/$g.qcow2")" = nobody:600 ] || { stat "$LABS/dl/$g.qcow2"; return 1; }
	done
	qemu-img info -U --output=json "$LABS/dl/d1.qcow2" | grep -q "\"backing-filename\": \"$IMGS/base.qcow2\"" &&
		qemu-img info -U --output=json "$LABS/dl/r.qcow2" | grep -q "\"backing-filename-format\": \"raw\""
}
ok "...each has its own overlay in the lab's dir, the member's, over the base it named" overlays
daemons() { # one qemu-storage-daemon per guest, as the member, never root
	local users
	users=$(pgrep -f "qemu-storage-daemon.*/proc/self/fd" | xargs -r ps -o user= -p | sort | uniq -c | tr -s ' ')
	[ "$users" = " 5 nobody" ] || { echo "daemons: $users"; return 1; }
	ps -o user= -p "$(pgrep -f -- "--name lab-d1")" | grep -qx daemon
}
ok "...a storage daemon per guest runs as the member; netvm as the guest user" daemons
ok "...the bases are byte for byte as they were" md5sum -c --quiet "$T/base.md5"
seed_holds() { # the seed's label and its three files, read host-side
	local seed=$LABS/dl/ci.seed mac
	mac=$($NETCTL --json lab status dl | python3 -c "import json, sys; print([i['mac'] for g in json.load(sys.stdin)['guests'] if g['name'] == 'ci' for i in g['interfaces']][0])") || return 1
	mlabel -i "$seed" -s :: | grep -q 'CIDATA' || { mlabel -i "$seed" -s ::; return 1; }
	mtype -i "$seed" ::user-data | cmp - "$IMGS/ud.yaml" || return 1
	MTOOLS_SKIP_CHECK=1 mtype -i "$seed" ::meta-data >"$T/meta" && mtype -i "$seed" ::network-config >"$T/netcfg" &&
		KEY1=$KEY1 KEY2=$KEY2 KEY3=$KEY3 MAC=$mac python3 - "$T/meta" "$T/netcfg" <<'PY'
import os, sys, yaml
m = yaml.safe_load(open(sys.argv[1]))
assert m['instance-id'] == 'netfabric-dl-ci' and m['local-hostname'] == 'ci', m
assert m['public-keys'] == [os.environ['KEY1'], os.environ['KEY2'], os.environ['KEY3']], m
n = yaml.safe_load(open(sys.argv[2]))
assert n == {'version': 2, 'ethernets': {'nf0': {'match': {'macaddress': os.environ['MAC']}, 'dhcp4': True}}}, n
PY
}
ok "guest ci's cloud-init seed: label CIDATA, its keys (YAML-quoted), its MAC, the user-data as given" seed_holds
ok "...netvm has it as a second, read-only disk; the first is still its overlay" \
	bash -c "grep -q 'disk1: inherited fd, raw, 2 MiB, read-only' $LABS/dl/ci.log && grep -q 'disk read 16 sectors: the test.s pattern ok' $LABS/dl/ci.console"
# what a guest wrote is in its overlay: sectors 16-23 its pattern
wrote() { # wrote GUEST SEED
	qemu-img convert -U -f qcow2 -O raw "$LABS/dl/$1.qcow2" "$T/$1.raw" &&
		python3 - "$T/$1.raw" "$2" <<'PY'
import sys
b = open(sys.argv[1], 'rb').read()
seed = int(sys.argv[2])
assert all(b[k * 512 + i] == (7 * k + i) & 0xff for k in range(16) for i in range(512)), "base part"
assert all(b[k * 512 + i] == (seed * k + i) & 0xff for k in range(16, 24) for i in range(512)), "written part"
PY
}
ok "...the guests' writes are in their overlays (d1 and r, each its own seed)" \
	bash -c "$(declare -f wrote); LABS=$LABS T=$T; wrote d1 13 && wrote r 3"

# the console, read-write: a line typed in reaches the guest's UART (the
# probe says it back), and the log keeps it
typed() {
	local out
	out=$(printf 'hello from the host\n' | ip netns exec "$NETD_NS" $MEMBER "$NETCTL" lab console dl d1 --attach) || return 1
	printf '%s\n' "$out" | grep -q '^uart: hello from the host' || { printf '%s\n' "$out" | tail -5; return 1; }
	grep -q '^uart: hello from the host' "$LABS/dl/d1.console"
}
ok "lab console --attach: what a member types reaches the guest's serial port, the guest's answer comes back" typed
busy() { # while one client is attached, a second is turned away
	( sleep 3 | ip netns exec "$NETD_NS" "$NETCTL" lab console dl d1 --attach >/dev/null ) &
	local first=$!
	sleep 1
	local out
	out=$(printf 'x\n' | ip netns exec "$NETD_NS" "$NETCTL" lab console dl d1 --attach 2>&1)
	wait $first
	printf '%s\n' "$out" | grep -q 'the serial console is in use'
}
ok "...one client at a time: a second is told the console is in use" busy
on_a_terminal() { # on a pty: attached without --attach, raw, ^] leaves
	ip netns exec "$NETD_NS" python3 - "$NETCTL" <<'PY'
import os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "lab", "console", "dl", "d1"])
def until(want, secs=10):
    out, t = b"", time.time()
    while want not in out and time.time() - t < secs:
        if select.select([fd], [], [], 0.5)[0]:
            out += os.read(fd, 4096)
    assert want in out, out
until(b"escape: ^]")
os.write(fd, b"on a terminal\r")
until(b"uart: on a terminal")
os.write(fd, b"\x1d")
t = time.time()
while time.time() - t < 5:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        assert os.waitstatus_to_exitcode(status) == 0, status
        sys.exit(0)
    time.sleep(0.1)
sys.exit("^] did not end it")
PY
}
ok "...on a terminal it attaches by itself, raw; ^] leaves" on_a_terminal
NOBODY="setpriv --reuid=nobody --regid=nogroup --clear-groups"
fails "...and someone outside --group may not attach" "needs root or the netd admin group" \
	bash -c "printf 'x\n' | ip netns exec '$NETD_NS' $NOBODY '$NETCTL' lab console dl d1 --attach"

# a guest killed: its daemon goes with its netvm
kill -KILL "$(pgrep -f -- "--name lab-d2")"
one_less() { for _ in $(seq 50); do [ "$(pgrep -fc "qemu-storage-daemon.*/proc/self/fd")" = 4 ] && return 0; sleep 0.1; done; return 1; }
ok "a guest's netvm killed -9: its storage daemon ends with it" one_less

# reconcile: r and ci leave the lab (their overlays go), the others keep running
PID_K=$(pgrep -f -- "--name lab-k")
lab_xml "" >"$PUB/dl.xml"
ok "lab up without guest r: reconciled" up "$PUB/dl.xml"
none() { # none PATTERN: pgrep ran and found nothing (1; 2 and up: it failed)
	pgrep -f -- "$1" >/dev/null
	[ $? = 1 ]
}
r_gone() { for _ in $(seq 100); do [ ! -e "$LABS/dl/r.qcow2" ] && [ ! -e "$LABS/dl/ci.qcow2" ] && none "--name lab-r" && return 0; sleep 0.1; done; return 1; }
ok "...r's and ci's overlays are gone with them" r_gone
ok "...and their console sockets: one left for each of the three guests" \
	bash -c "[ \"\$(ls $RUN/serial | wc -l)\" = 3 ]"
k_kept() { [ "$(pgrep -f -- '--name lab-k')" = "$PID_K" ] && [ -e "$LABS/dl/k.qcow2" ]; }
ok "...k kept running on its overlay" k_kept

# lab down: overlays go but k's, which the next lab up boots on again
ok "lab down" ip netns exec "$NETD_NS" $MEMBER "$NETCTL" lab down dl
left() {
	[ "$(ls "$LABS/dl")" = k.qcow2 ] || { ls -la "$LABS/dl"; return 1; }
	[ -z "$(ls "$RUN/serial")" ] || { ls -la "$RUN/serial"; return 1; }
	none "qemu-storage-daemon.*/proc/self/fd"
}
ok "...only the overlay k keeps is left, and no storage daemon" left
# a mark in k's overlay: there after the next lab up if that overlay is used
qemu-io -f qcow2 -c "write -q -P 0x5a 512k 4k" "$LABS/dl/k.qcow2" >/dev/null
ok "lab up again" up "$PUB/dl.xml"
ok "...k booted on its kept overlay (the mark made between is there)" \
	bash -c "grep -q 'disk read 16 sectors: the test.s pattern ok' $LABS/dl/k.console && qemu-io -U -r -f qcow2 -c 'read -q -P 0x5a 512k 4k' $LABS/dl/k.qcow2"
ok "lab down" ip netns exec "$NETD_NS" $MEMBER "$NETCTL" lab down dl
rm -f "$LABS/dl/k.qcow2" && rmdir "$LABS/dl"

# a guest that cannot boot (its kernel is no kernel): lab up says so as
# soon as it has ended, not after its timeout
head -c 4096 /dev/urandom >"$IMGS/junk.krn" && chown nobody "$IMGS/junk.krn"
cat >"$PUB/fail.xml" <<X
<lab name='fl'>
  <network name='fl-n'><ip address='10.85.0.1' prefix='24'><dhcp><range start='10.85.0.100' end='10.85.0.200'/></dhcp></ip></network>
  <guest name='ok1'><interface network='fl-n'/></guest>
  <guest name='bad' kernel='img/junk.krn'><interface network='fl-n'/></guest>
</lab>
X
chmod 0644 "$PUB/fail.xml"
fast_fail() {
	local t0=$SECONDS out
	out=$(ip netns exec "$NETD_NS" $MEMBER "$NETCTL" lab up "$PUB/fail.xml" --timeout 100 2>&1) && return 1
	printf '%s\n' "$out" | grep -q "1 of 2 guests without their addresses after .* (they ended)" &&
		printf '%s\n' "$out" | grep -q "bad: its netvm is not running" &&
		[ $((SECONDS - t0)) -lt 30 ] || { printf '%s\n' "$out"; return 1; }
}
ok "lab up ends as soon as a guest that cannot boot has ended, naming it" fast_fail
ip netns exec "$NETD_NS" "$NETCTL" lab down fl >/dev/null

# --- bad images: refused at lab up, nothing created -------------------------
: >"$IMGS/empty.img"
chown nobody "$IMGS/empty.img"
install -m 0600 "$IMGS/base.img" "$T/root-only.img"
install -d -m 0755 "$PUB/ro" && install -m 0600 "$IMGS/base.img" "$PUB/ro/root.img"
bad_lab() { # bad_lab GUEST-ATTRS
	cat >"$PUB/bad.xml" <<X
<lab name='bd'>
  <network name='bd-n'><ip address='10.84.0.1' prefix='24'><dhcp><range start='10.84.0.100' end='10.84.0.200'/></dhcp></ip></network>
  <guest name='g' $1><interface network='bd-n'/></guest>
</lab>
X
	chmod 0644 "$PUB/bad.xml"
}
nothing() { lacks ip netns exec "$NETD_NS" $MEMBER "$NETCTL" net-list --all bd-n && [ ! -e "$LABS/bd" ]; }
bad_lab "image='img/empty.img'"
fails "an empty image is refused, naming guest and image" "guest g: image $IMGS/empty.img: it is empty" \
	up "$PUB/bad.xml"
ok "...and nothing was created" nothing
bad_lab "image='img/base.img' image-format='qcow2'"
fails "a raw image said to be qcow2" "guest g: image $IMGS/base.img: not a qcow2 image" up "$PUB/bad.xml"
ok "...and nothing was created" nothing
bad_lab "image='ro/root.img'"
fails "an image the member may not read: netctl cannot open it" "ro/root.img: Permission denied" up "$PUB/bad.xml"
ok "...and nothing was created" nothing
bad_lab "image='img/base.img' image-format='vmdk' keep='maybe'"
fails "image-format and keep are checked" "image-format='vmdk': raw or qcow2" up "$PUB/bad.xml"
fails "...both reported" "keep='maybe': yes or no" up "$PUB/bad.xml"
printf '%s\nnot a key\n' "$KEY1" >"$IMGS/bad.pub"
printf '#cloud-config\n\0\n' >"$IMGS/nul.yaml"
chown nobody "$IMGS/bad.pub" "$IMGS/nul.yaml"
bad_lab "ssh-keys='img/bad.pub'"
fails "an ssh-keys file with a line that is not a key, named" "guest g: $IMGS/bad.pub: line 2 is not an SSH public key" up "$PUB/bad.xml"
bad_lab "user-data='img/nul.yaml'"
fails "user-data with a NUL byte" "guest g: $IMGS/nul.yaml: holds a NUL byte" up "$PUB/bad.xml"
ok "...and nothing was created" nothing
cat >"$PUB/bad.xml" <<X
<lab name='bd'>
  <network name='bd-n'><ip address='10.84.0.1' prefix='24'><dhcp><range start='10.84.0.100' end='10.84.0.200'/></dhcp></ip></network>
  <guest name='g' cloud-init='maybe'><ssh-key>ssh-ed25519 AAAA</ssh-key><interface network='bd-n'/></guest>
</lab>
X
fails "<ssh-key> that is not a key, and cloud-init= checked" "bad.xml:3: <ssh-key> is not an SSH public key" up "$PUB/bad.xml"
fails "...both" "cloud-init='maybe': yes or no" up "$PUB/bad.xml"
bad_lab "keep='yes'"
fails "keep='yes' without an image" "keep='yes' is for a guest with image=" up "$PUB/bad.xml"
bad_lab "image='img/bad&#x9;name'"
fails "an image path with a control character" "a path of printable characters" up "$PUB/bad.xml"
ok "...and nothing was created" nothing
finish
