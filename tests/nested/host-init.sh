#!/bin/sh
# /init of the nested host (L1, Debian's kernel under QEMU): loads KVM,
# vhost-net, bridge and nftables modules, starts netd with
# examples/default.xml, and runs the scenarios the kernel command line
# names (nested.run=1,2,...; all by default) with netvm booting the stock
# Debian kernel as guests (L2). Prints "nested: ok N - ..." lines and
# "nested: figure ..." lines for the runner on the host, then powers off.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
for m in $(cat /lib/modules/order); do insmod "/lib/modules/$m.ko" 2>/dev/null; done
ip link set lo up
# the disk with the Debian image (scenario 9), when run.sh attached it
mkdir -p /images
[ -b /dev/vda ] && mount -t ext4 -o ro /dev/vda /images
N=0
say() { echo "nested: $*" >/dev/console; }
ok() { # ok DESC CMD...
	local d=$1; shift
	N=$((N + 1))
	if "$@" >/tmp/last 2>&1; then say "ok $N - $d"; else
		say "not ok $N - $d"; sed 's/^/nested: #   /' /tmp/last | tail -15 >/dev/console; fi
}
lacks() { # lacks CMD... PATTERN: CMD succeeds and shows no PATTERN (ERE)
	local pat out i=0 n=$#
	eval "pat=\${$n}"
	for a; do
		i=$((i + 1))
		[ $i = 1 ] && set --
		[ $i -lt $n ] && set -- "$@" "$a"
	done
	out=$("$@") || { echo "lacks: '$*' failed" >&2; return 1; }
	! printf '%s\n' "$out" | grep -E -- "$pat" >&2
}
# busybox has no pgrep/pkill: processes by command line, through ps (which
# must work: a check on a failing ps must not pass)
procs() { # procs PATTERN: pids of processes whose command line matches
	local out
	out=$(ps -o pid,args) || return 2
	printf '%s\n' "$out" | grep -E -- "$1" | grep -v 'grep -E' | awk '{print $1}'
}
no_proc() { local p; p=$(procs "$1") || return 1; [ -z "$p" ]; }
run=$(tr ' ' '\n' </proc/cmdline | sed -n 's/^nested\.run=//p')
want() { # S (stress) only when named
	[ "$1" != S ] && { [ -z "$run" ] || [ "$run" = all ]; } || echo ",$run," | grep -q ",$1,"
}
V=/nested
T=$(tr ' ' '\n' </proc/cmdline | sed -n 's/^nested\.timeout=//p')
T=${T:-240}
CONS=file:
VERBOSE=
if grep -q 'nested.verbose' /proc/cmdline; then
	Q='loglevel=7 earlyprintk=serial,ttyS0,115200'
	VERBOSE=1
else
	Q=quiet
fi
export NETD_SOCKET=/run/netd/netd.sock
ok "/dev/kvm and /dev/vhost-net exist in the nested host" test -c /dev/kvm -a -c /dev/vhost-net
$V/netd --config-dir /tmp/etc --run-dir /run/netd --state-dir /tmp/lib \
	--foreground 2>/tmp/netd.log &
for _ in $(seq 100); do [ -S $NETD_SOCKET ] && break; sleep 0.1; done
ok "netd starts examples/default.xml" sh -c "$V/netctl net-define $V/default.xml && $V/netctl net-start default"
ok "doctor knows this KVM boots stock kernels" \
	sh -c "$V/netctl doctor | grep -q 'AMD SVM (kvm_amd), boots stock kernels'"

linux() { # linux NAME CMDLINE NETVM-ARGS...: boots the stock kernel as a guest
	local n=$1 c=$2; shift 2
	[ -n "$VERBOSE" ] && { : >"/tmp/$n.log"; tail -f "/tmp/$n.log" | sed "s/^/[$n] /" >/dev/console & }
	timeout -k 10 "$T" $V/netvm run --kernel $V/vmlinuz --initrd $V/guest.cpio.gz \
		--mem 256M --name "$n" --console "$CONS/tmp/$n.log" \
		--status "/tmp/$n.json" \
		--cmdline "console=ttyS0 $Q reboot=k panic=-1 $c" "$@" \
		2>"/tmp/$n.err"
	echo $? >"/tmp/$n.rc"
}
show() { # the guest's report lines, for the log (all of it if unfinished)
	sed -i 's/^\[ *[0-9.]*\] guest: /guest: /' "/tmp/$1.log"
	grep -h '^guest: ' "/tmp/$1.log" | sed "s/^/nested: [$1] /" >/dev/console
	grep -q '^guest: done' "/tmp/$1.log" ||
		tail -40 "/tmp/$1.log" | sed "s/^/nested: [$1 console] /" >/dev/console
	grep -h 'netvm' "/tmp/$1.err" | sed "s/^/nested: [$1] /" >/dev/console
}
has() { grep -q "^guest: $2" "/tmp/$1.log"; }
backend() { grep -q "\"backend\": \"$2\"" "/tmp/$1.json"; }
rc() { [ "$(cat /tmp/$1.rc)" = "$2" ]; }
works() { # works NAME BACKEND: pinned lease .11, gateway ping, that backend
	has "$1" "lease 192.168.122.11" && has "$1" "ping 192.168.122.1 ok" &&
		backend "$1" "$2"
}

if want 0; then
	timeout -k 10 120 $V/netvm run --kernel $V/probe.elf --mem 16M \
		--console file:/tmp/probe.log --status /tmp/probe.json \
		--net default,mac=52:54:00:00:00:15,vhost=on \
		--cmdline "ping=192.168.122.1" 2>/tmp/probe.err
	grep -h '^lease\|^ping' /tmp/probe.log | sed 's/^/nested: [probe] /' >/dev/console
	ok "probe guest on vhost-net (INTx relay): pinned lease .15" grep -qx 'lease 192.168.122.15' /tmp/probe.log
	ok "probe guest on vhost-net pings the gateway" grep -qx 'ping 192.168.122.1 ok 3/3' /tmp/probe.log
fi
if want 1; then
	t0=$(cut -d' ' -f1 /proc/uptime)
	linux g1 "" --net default,mac=52:54:00:00:00:11,vhost=on
	t1=$(cut -d' ' -f1 /proc/uptime)
	show g1
	say "figure stock Linux guest, boot to reboot: $(echo "$t0 $t1" | awk '{printf "%.1f", $2 - $1}') s"
	ok "1: the stock Debian kernel boots under netvm and udhcpc gets the pinned IP" has g1 "lease 192.168.122.11"
	ok "1: the guest pings the gateway" has g1 "ping 192.168.122.1 ok"
	ok "1: netvm reports the vhost-net backend" backend g1 vhost-net
	ok "1: userspace writes to ttyS0 (THR-empty interrupts) reach the console" has g1 "tty ok"
	ok "1: the guest's ACPI power-off ends netvm (status 0)" rc g1 0
fi
if want 2; then
	linux g2 "" --net default,mac=52:54:00:00:00:11,vhost=off
	show g2
	ok "2: vhost=off: lease and ping on the userspace backend" works g2 userspace
	linux g3 "" --net default,mac=52:54:00:00:00:11,vhost=auto
	show g3
	ok "2: vhost=auto picks vhost-net here" works g3 vhost-net
fi
if want 3; then
	linux a "nf.serve=900" --cpus 2 --net default,mac=52:54:00:00:00:12 &
	APID=$!
	for _ in $(seq 1200); do grep -q '^guest: serving' /tmp/a.log 2>/dev/null && break; sleep 0.1; done
	linux b "nf.peer=192.168.122.12" --cpus 2 --net default,mac=52:54:00:00:00:13
	kill -TERM $(procs "^ *[0-9]+ $V/netvm run .*--name a ") # the power button
	wait $APID
	show a; show b
	orderly() { has a "power button: shutting down" && rc a 0; }
	ok "3: SIGTERM presses guest a's ACPI power button: it shuts down in order (status 0)" orderly
	both_cpus() { has a "cpus 2" && has b "cpus 2"; }
	ok "3: --cpus 2 brings up both CPUs (guest /proc/cpuinfo)" both_cpus
	ok "3: two Linux guests ping each other" has b "ping 192.168.122.12 ok"
fi
if want 4; then
	linux mq "nf.flows=192.168.122.1" --cpus 2 --net default,mac=52:54:00:00:00:14,queues=2,vhost=on
	show mq
	ok "4: queues=2: the guest sees two queue pairs" has mq "mac 52:54:00:00:00:14 queues 2"
	ok "4: both queue pairs carry traffic (interrupts on input.0 and input.1)" sh -c "grep -Eq '^guest: irq input.0 [1-9]' /tmp/mq.log && grep -Eq '^guest: irq input.1 [1-9]' /tmp/mq.log"
fi
if want 5; then
	# host -> guest over HTTP (busybox httpd/wget): 32 MiB through each
	# backend; the figure is the ratio (everything runs emulated)
	mkdir -p /tmp/www
	dd if=/dev/zero of=/tmp/www/blob bs=1M count=32 2>/dev/null
	httpd -p 192.168.122.1:8080 -h /tmp/www
	for b in on off; do
		linux bulk$b "nf.bulk=192.168.122.1:8080" --net default,mac=52:54:00:00:00:11,vhost=$b
		show bulk$b
		s=$(sed -nE 's/^guest: bulk 33554432 bytes in ([0-9.]+) s/\1/p' /tmp/bulk$b.log)
		eval "S_$b=$s"
		[ -n "$s" ] && say "figure bulk host->guest vhost=$b: $(echo "$s" | awk '{printf "%.1f", 32 / $1}') MB/s"
	done
	ok "5: 32 MiB host->guest arrived whole on both backends" sh -c "[ -n '$S_on' ] && [ -n '$S_off' ]"
	[ -n "$S_on" ] && [ -n "$S_off" ] && say "figure vhost-net/userspace throughput ratio: $(echo "$S_on $S_off" | awk '{printf "%.2f", $2 / $1}')"
fi
if want 6; then
	# a passthrough network: a macvtap on a veth whose far end serves DHCP
	$V/ip2 link add ptv type veth peer name ptp
	ip addr add 10.78.0.1/24 dev ptp
	ip link set ptp up
	dnsmasq --user=root --port=0 --interface=ptp --bind-interfaces \
		--dhcp-range=10.78.0.100,10.78.0.150 \
		--dhcp-host=52:54:00:00:00:51,10.78.0.51 --pid-file=/tmp/pt.pid \
		--dhcp-leasefile=/tmp/pt.leases --log-dhcp --log-facility=/tmp/pt.dns
	echo "<network><name>pt</name><forward mode='passthrough'><interface dev='ptv'/></forward></network>" >/tmp/pt.xml
	ok "6: a passthrough network on a veth starts" \
		sh -c "$V/netctl net-define /tmp/pt.xml && $V/netctl net-start pt"
	timeout -k 10 120 $V/netvm run --kernel $V/probe.elf --mem 16M \
		--console file:/tmp/pt.log --status /tmp/pt.json \
		--net pt,mac=52:54:00:00:00:51,vhost=on \
		--cmdline "ping=10.78.0.1" 2>/tmp/pt.err
	grep -h '^lease\|^ping' /tmp/pt.log | sed 's/^/nested: [pt] /' >/dev/console
	grep -q '^lease 10' /tmp/pt.log || cat /tmp/pt.dns /tmp/pt.err | sed 's/^/nested: [pt] /' >/dev/console
	ok "6: probe guest on the passthrough macvtap, vhost-net: its lease from the far side" \
		grep -qx 'lease 10.78.0.51' /tmp/pt.log
	ok "6: ...pings across it" grep -qx 'ping 10.78.0.1 ok 3/3' /tmp/pt.log
	ok "6: ...netvm ran vhost-net on the macvtap fd" grep -q '"backend": "vhost-net"' /tmp/pt.json
	ok "6: ...and the macvtap went with netvm" lacks ip -o link 'nfm.*@ptv'
fi
if want 7; then
	# a lab of two stock Linux guests (kernel= and initrd= in the file)
	cat >/tmp/lx.xml <<X
<lab name='lx'>
  <defaults kernel='$V/vmlinuz' initrd='$V/guest.cpio.gz' memory='256M'/>
  <network name='lxnet'>
    <ip address='10.74.0.1' prefix='24'>
      <dhcp><range start='10.74.0.100' end='10.74.0.199'/></dhcp>
    </ip>
  </network>
  <guest name='lx1' cmdline='console=ttyS0 $Q reboot=k panic=-1 nf.peer=10.74.0.12 nf.serve=40'>
    <interface network='lxnet' mac='52:54:00:74:00:11' ip='10.74.0.11'/>
  </guest>
  <guest name='lx2' cmdline='console=ttyS0 $Q reboot=k panic=-1 nf.peer=10.74.0.11 nf.serve=40'>
    <interface network='lxnet' mac='52:54:00:74:00:12' ip='10.74.0.12'/>
  </guest>
</lab>
X
	t0=$(cut -d' ' -f1 /proc/uptime)
	ok "7: lab up of two stock Linux guests: both get their pinned addresses" \
		$V/netctl lab up /tmp/lx.xml --timeout "$T"
	t1=$(cut -d' ' -f1 /proc/uptime)
	say "figure lab of 2 Linux guests up (both leased): $(echo "$t0 $t1" | awk '{printf "%.1f", $2 - $1}') s"
	L=/tmp/lib/labs/lx
	for _ in $(seq 600); do grep -q 'guest: ping 10.74.0.1[12] ' $L/lx1.console $L/lx2.console 2>/dev/null &&
		[ "$(grep -l 'guest: ping 10.74.0.1[12] ' $L/lx1.console $L/lx2.console | wc -l)" = 2 ] && break; sleep 0.2; done
	sed -i 's/^\[ *[0-9.]*\] guest: /guest: /' $L/lx1.console $L/lx2.console
	grep -h '^guest: \(lease\|ping\)' $L/lx1.console $L/lx2.console | sed 's/^/nested: [lab] /' >/dev/console
	grep -q '^guest: lease 10.74.0.12' $L/lx2.console || for g in lx1 lx2; do
		tail -5 $L/$g.log; tail -15 $L/$g.console; done | sed 's/^/nested: [lab debug] /' >/dev/console
	ok "7: ...their consoles (in the lab's state dir) show the leases" \
		sh -c "grep -q '^guest: lease 10.74.0.11' $L/lx1.console && grep -q '^guest: lease 10.74.0.12' $L/lx2.console"
	ok "7: ...and the two Linux guests reach each other" \
		sh -c "grep -q '^guest: ping 10.74.0.12 ok' $L/lx1.console && grep -q '^guest: ping 10.74.0.11 ok' $L/lx2.console"
	t0=$(date +%s)
	lx_gone() { $V/netctl lab down lx && no_proc 'name lab-lx' && lacks $V/netctl net-list --all lxnet; }
	ok "7: lab down leaves no guest and no network" lx_gone
	down_s=$(($(date +%s) - t0))
	# netvm stops a guest that ignores its power button only after 30 s
	acpi_off() { [ "$down_s" -lt 25 ] && lacks cat /tmp/netd.log "lab 'lx': guest .* stopped without powering off"; }
	ok "7: lab down powered both guests off through ACPI (the power button, not a stop)" acpi_off
fi
if want 8; then
	# root file systems on virtio-blk (issue 19): a lab of two guests on
	# qcow2 overlays of one ext4 base (the guest's busybox tree), kept
	# (keep='yes') across lab down and up: a reboot of each
	md5sum $V/rootfs.qcow2 >/tmp/rootfs.md5
	dk() { # dk NAME IP: a guest with root on its disk
		echo "<guest name='$1' keep='yes' cmdline='console=ttyS0 $Q reboot=k panic=-1 nf.root=/dev/vda nf.name=$1 nf.shell=1 nf.serve=600'><interface network='dknet' ip='$2'/></guest>"
	}
	cat >/tmp/dk.xml <<X
<lab name='dk'>
  <defaults kernel='$V/vmlinuz' initrd='$V/guest.cpio.gz' memory='256M' image='$V/rootfs.qcow2'/>
  <network name='dknet'>
    <ip address='10.75.0.1' prefix='24'>
      <dhcp><range start='10.75.0.100' end='10.75.0.199'/></dhcp>
    </ip>
  </network>
  $(dk dk1 10.75.0.11)
  $(dk dk2 10.75.0.12)
</lab>
X
	L=/tmp/lib/labs/dk
	wrote() { # wrote N: both guests have left boot file N
		for _ in $(seq 600); do grep -q "guest: wrote boot-dk1-$1" $L/dk1.console 2>/dev/null &&
			grep -q "guest: wrote boot-dk2-$1" $L/dk2.console 2>/dev/null && return 0; sleep 0.2; done
		tail -20 $L/dk1.console $L/dk1.log $L/dk2.console; return 1
	}
	ok "8: lab up: two guests with root on ext4 on virtio-blk, each on a qcow2 overlay of one base" \
		$V/netctl lab up /tmp/dk.xml --timeout "$T"
	ok "8: ...each mounted /dev/vda as / and left its file" wrote 1
	sed -i 's/^\[ *[0-9.]*\] guest: /guest: /' $L/dk1.console $L/dk2.console
	grep -h '^guest: \(root\|initramfs\|found\|wrote\|lease\)' $L/dk1.console | sed 's/^/nested: [dk1] /' >/dev/console
	a=$(sed -n 's/^guest: initramfs userspace at \([0-9.]*\) s/\1/p' $L/dk1.console)
	b=$(sed -n 's/^guest: root \/dev\/vda ext4 userspace at \([0-9.]*\) s/\1/p' $L/dk1.console)
	[ -n "$a" ] && [ -n "$b" ] && say "figure boot to userspace, root on virtio-blk (qcow2 overlay) / initramfs, same boot: $b s / $a s = $(echo "$a $b" | awk '{printf "%.2f", $2 / $1}')"
	ok "8: ...their root is /dev/vda, ext4" sh -c "grep -q '^guest: root /dev/vda ext4' $L/dk1.console && grep -q '^guest: root /dev/vda ext4' $L/dk2.console"
	typed() { # a command typed into the guest's shell on ttyS0 (8250 RX interrupts)
		local out
		out=$(printf 'echo hello-$((6 * 7))\n' | $V/netctl lab console dk dk1 --attach) || return 1
		printf '%s\n' "$out" | tr -d '\r' | grep -qx 'hello-42' || { printf '%s\n' "$out" | tail -5; return 1; }
	}
	ok "8: lab console --attach: a command typed in runs in the Linux guest's serial shell" typed
	t0=$(date +%s)
	ok "8: lab down: the overlays stay (keep='yes'), nothing else of the lab" sh -c "
		$V/netctl lab down dk && [ -s $L/dk1.qcow2 ] && [ -s $L/dk2.qcow2 ] && [ \"\$(ls $L)\" = \"\$(printf 'dk1.qcow2\\ndk2.qcow2')\" ]"
	down_s=$(($(date +%s) - t0))
	dk_off() { [ "$down_s" -lt 25 ] && lacks cat /tmp/netd.log "lab 'dk': guest .* stopped without powering off"; }
	ok "8: ...both guests powered off through ACPI, their file systems synced" dk_off
	ok "8: lab up again: the same overlays boot" $V/netctl lab up /tmp/dk.xml --timeout "$T"
	ok "8: ...each guest left its second file" wrote 2
	sed -i 's/^\[ *[0-9.]*\] guest: /guest: /' $L/dk1.console $L/dk2.console
	own() { # each finds its own first file and not the other's
		grep -q '^guest: found boot-dk1-1' $L/dk1.console && grep -q '^guest: found boot-dk2-1' $L/dk2.console &&
			lacks cat $L/dk1.console 'found boot-dk2' && lacks cat $L/dk2.console 'found boot-dk1'
	}
	ok "8: ...after the reboot each finds its own file, not the other guest's" own
	ok "8: lab down; the shared base is byte for byte as it was" sh -c "$V/netctl lab down dk && md5sum -c /tmp/rootfs.md5"
	rm -rf $L
fi
if want 9; then
	# a real Debian system (systemd, cloud-init, openssh-server; built by
	# tests/nested/build.sh with mmdebstrap as README.md says) in a lab,
	# booting with its own kernel and initrd: its NoCloud seed gives it
	# its hostname, the key and its network; the host logs in
	if [ ! -s /images/debian.qcow2 ]; then
		N=$((N + 1)); say "ok $N - # SKIP 9: no Debian image (build.sh had no mmdebstrap, or NESTED_DEBIAN=0)"
	else
		cp /images/id /tmp/id && chmod 0600 /tmp/id
		cat >/tmp/deb.xml <<X
<lab name='deb'>
  <defaults kernel='/images/vmlinuz' initrd='/images/initrd.img' memory='512M'
            image='/images/debian.qcow2' ssh-keys='/images/id.pub'/>
  <network name='debnet'>
    <ip address='10.76.0.1' prefix='24'>
      <dhcp><range start='10.76.0.100' end='10.76.0.199'/></dhcp>
    </ip>
  </network>
  <guest name='web1' cmdline='root=/dev/vda rw console=ttyS0 $Q'>
    <interface network='debnet' ip='10.76.0.11'/>
  </guest>
</lab>
X
		t0=$(cut -d' ' -f1 /proc/uptime)
		# a line now and then: the runner counts a silent host as hung
		( while sleep 60; do
			say "[deb] still booting ($(cut -d' ' -f1 /proc/uptime) s up): $($V/netctl lab status deb 2>&1 | grep web1 | tr -s ' ')"
			tail -3 /tmp/lib/labs/deb/web1.console /tmp/lib/labs/deb/web1.log 2>&1 | sed 's/^/nested: [deb] /' >/dev/console
		done ) &
		TICK=$!
		ok "9: lab up: a Debian guest (systemd, cloud-init) boots on an overlay of the image and gets its pinned IP" \
			$V/netctl lab up /tmp/deb.xml --timeout 1200
		t1=$(cut -d' ' -f1 /proc/uptime)
		say "figure Debian guest with cloud-init, lab up to its lease: $(echo "$t0 $t1" | awk '{printf "%.0f", $2 - $1}') s"
		SSH="ssh -i /tmp/id -o LogLevel=ERROR -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o ConnectTimeout=20 debian@10.76.0.11"
		login() { # sshd and the key cloud-init installed: wait for both
			for _ in $(seq 30); do out=$($SSH hostname 2>/tmp/ssh.err) && break; sleep 10; done; cat /tmp/ssh.err
			echo "$out"; [ "$out" = web1 ]
		}
		ok "9: ...the host logs in over SSH with the lab file's key; the hostname is the guest's name" login
		# cloud-init's config stage restarts sshd (ssh_pwauth): what follows
		# waits for its end (boot-finished), retrying a refused connection
		for _ in $(seq 60); do $SSH test -e /var/lib/cloud/instance/boot-finished 2>/dev/null && break; sleep 5; done
		kill $TICK
		ok "9: ...cloud-init took its seed (NoCloud, instance-id netfabric-deb-web1)" \
			sh -c "$SSH cat /var/lib/cloud/data/instance-id | grep -qx netfabric-deb-web1"
		ok "9: ...and its network-config: eth by MAC, the pinned address" \
			sh -c "$SSH ip -o -4 addr show | grep -q 'inet 10.76.0.11/'"
		grep -h 'netfabric\|cloud-init\|Reached target\|Failed' /tmp/lib/labs/deb/web1.console | tail -8 | sed 's/^/nested: [deb] /' >/dev/console
		$SSH sudo cloud-init schema --system 2>&1 | tail -4 | sed 's/^/nested: [deb schema] /' >/dev/console
		t0=$(date +%s)
		ok "9: lab down" $V/netctl lab down deb
		down_s=$(($(date +%s) - t0))
		deb_off() { [ "$down_s" -lt 30 ] && lacks cat /tmp/netd.log "lab 'deb': guest .* stopped without powering off"; }
		ok "9: ...systemd shut the guest down in order at its power button" deb_off
	fi
fi
if want S; then
	# stress (run.sh BUILD S; NESTED_REPEAT=N): VMs made and destroyed one
	# after another, the probe guest and a stock Linux guest in turn
	R=$(tr ' ' '\n' </proc/cmdline | sed -n 's/^nested\.repeat=//p')
	R=${R:-20}
	good=0
	for i in $(seq "$R"); do
		if [ $((i % 2)) = 1 ]; then
			timeout -k 10 60 $V/netvm run --kernel $V/probe.elf --mem 16M \
				--console file:/tmp/s.log --net default,mac=52:54:00:00:00:16 \
				--cmdline "ping=192.168.122.1" 2>/tmp/s.err
			grep -qx 'ping 192.168.122.1 ok 3/3' /tmp/s.log && good=$((good + 1))
		else
			linux s "" --net default,mac=52:54:00:00:00:17
			show s
			has s "ping 192.168.122.1 ok" && good=$((good + 1))
		fi
		say "[stress] $i of $R: $good good ($(cut -d' ' -f1 /proc/uptime) s up)"
	done
	ok "S: $R guests one after another all reach the gateway" [ "$good" = "$R" ]
fi
say "1..$N"
sed 's/^/nested: [netd] /' /tmp/netd.log | tail -5 >/dev/console
poweroff -f
