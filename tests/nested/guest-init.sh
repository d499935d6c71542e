#!/bin/sh
# /init of the stock-Linux guest (L2) netvm boots in the nested host. It
# loads Debian's virtio-net modules, gets its address with udhcpc, pings
# the gateway and what the kernel command line asks, reports on the serial
# console in "guest: ..." lines, and powers off (ACPI _S5; netvm ends with
# status 0), at the end or when the ACPI power button is pressed.
#   nf.peer=IP        ping another guest
#   nf.serve=SECONDS  stay up answering that long
#   nf.bulk=IP:PORT   fetch http://IP:PORT/blob, report bytes and seconds
#   nf.flows=IP       ping IP from every CPU (multiqueue traffic)
#   nf.spoof=FAKE,PEER,PEERMAC  ping PEER from FAKE, an address not ours
#                     (PEER's MAC given, so the echo requests go out): what
#                     a guard must drop
#   nf.shell=1        a shell on ttyS0 (what lab console --attach types into)
#   nf.root=DEV       root on a virtio-blk disk: mount DEV (ext4, this same
#                     tree) and run its /init; there, report the boot-*
#                     files earlier boots left and leave one (nf.name=NAME)
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
arg() { tr ' ' '\n' </proc/cmdline | sed -n "s/^nf\.$1=//p"; }
# through the kernel log: its console path polls the UART, so lines are
# out before the power-off whatever the tty's interrupts do
say() { echo "<3>guest: $*" >/dev/kmsg; }
root=$(arg root)
if [ -n "$root" ] && [ ! -e /on-disk ]; then
	# the initramfs: the disk's driver, then its root (the modules are on
	# the disk too, loaded there as usual)
	say "initramfs userspace at $(cut -d' ' -f1 /proc/uptime) s"
	for m in $(cat /lib/modules/order); do insmod "/lib/modules/$m.ko" 2>/dev/null; done
	for _ in $(seq 50); do [ -b "$root" ] && break; sleep 0.1; done
	mkdir -p /newroot
	if mount -t ext4 "$root" /newroot && [ -e /newroot/on-disk ]; then
		umount /proc /sys
		umount /dev 2>/dev/null
		exec switch_root /newroot /init
	fi
	say "root $root: cannot mount it"
	poweroff -f
fi
[ -e /on-disk ] || for m in $(cat /lib/modules/order); do insmod "/lib/modules/$m.ko"; done
if [ -e /on-disk ]; then
	say "root $(grep ' / ' /proc/mounts | cut -d' ' -f1,3) userspace at $(cut -d' ' -f1 /proc/uptime) s"
	for f in /root/boot-*; do [ -e "$f" ] && say "found ${f#/root/}"; done
	n=$(ls /root | grep -c '^boot-')
	echo "boot $((n + 1)) of $(arg name)" >"/root/boot-$(arg name)-$((n + 1))"
	sync
	say "wrote boot-$(arg name)-$((n + 1))"
fi
echo "guest: tty ok" >/dev/console # the interrupt-driven 8250 path
# the ACPI power button (netvm presses it on SIGTERM and lab down): an
# orderly power-off, what acpid or systemd-logind does in a full system
for e in /sys/class/input/event*; do
	[ "$(cat "$e/device/name" 2>/dev/null)" = "Power Button" ] || continue
	# a grandchild, so the "wait"s below never wait for it
	( (dd if="/dev/input/${e##*/}" of=/dev/null bs=24 count=1 2>/dev/null &&
		say "power button: shutting down" && sync && poweroff -f) &)
done
say "cpus $(grep -c ^processor /proc/cpuinfo)"
ip link set lo up
for _ in $(seq 50); do [ -e /sys/class/net/eth0 ] && break; sleep 0.1; done
ip link set eth0 up
say "mac $(cat /sys/class/net/eth0/address) queues $(ls -d /sys/class/net/eth0/queues/rx-* | wc -l)"
cat >/tmp/udhcpc.sh <<'SH'
#!/bin/sh
case "$1" in
bound|renew)
	ip addr add "$ip/${mask:-24}" dev "$interface"
	[ -n "$router" ] && ip route replace default via "${router%% *}"
	echo "$ip ${router%% *}" >/tmp/lease ;;
esac
SH
chmod +x /tmp/udhcpc.sh
if udhcpc -i eth0 -n -q -t 20 -T 1 -s /tmp/udhcpc.sh >/dev/null 2>&1; then
	read -r ip gw </tmp/lease
	say "lease $ip"
	ping -c 3 -W 3 "$gw" >/dev/null 2>&1 && say "ping $gw ok" || say "ping $gw fail"
	peer=$(arg peer)
	if [ -n "$peer" ]; then
		ok=0
		for _ in $(seq 30); do
			ping -c 1 -W 1 "$peer" >/dev/null 2>&1 && { ok=1; break; }
		done
		[ $ok = 1 ] && ping -c 3 -W 3 "$peer" >/dev/null 2>&1 &&
			say "ping $peer ok" || say "ping $peer fail"
	fi
	flows=$(arg flows)
	if [ -n "$flows" ]; then
		n=$(grep -c ^processor /proc/cpuinfo)
		for c in $(seq 0 $((n - 1))); do
			taskset -c "$c" ping -c 20 -i 0.2 -W 2 "$flows" >/dev/null 2>&1 &
		done
		wait
		for q in 0 1 2 3; do
			grep -q "virtio0-input.$q" /proc/interrupts || continue
			say "irq input.$q $(grep "virtio0-input.$q" /proc/interrupts | awk '{s=0; for (i=2; i<=NF; i++) if ($i ~ /^[0-9]+$/) s+=$i; print s}') output.$q $(grep "virtio0-output.$q" /proc/interrupts | awk '{s=0; for (i=2; i<=NF; i++) if ($i ~ /^[0-9]+$/) s+=$i; print s}')"
		done
	fi
	spoof=$(arg spoof)
	if [ -n "$spoof" ]; then
		fake=${spoof%%,*} rest=${spoof#*,}
		ip addr add "$fake/32" dev eth0
		ip neigh replace "${rest%%,*}" lladdr "${rest#*,}" dev eth0
		ping -c 2 -W 1 -I "$fake" "${rest%%,*}" >/dev/null 2>&1
		say "spoof $fake sent to ${rest%%,*}"
		ip addr del "$fake/32" dev eth0
	fi
	bulk=$(arg bulk)
	if [ -n "$bulk" ]; then
		t0=$(cut -d' ' -f1 /proc/uptime)
		n=$(wget -q -O - "http://$bulk/blob" | wc -c)
		t1=$(cut -d' ' -f1 /proc/uptime)
		say "bulk $n bytes in $(echo "$t0 $t1" | awk '{printf "%.2f", $2 - $1}') s"
	fi
	# a shell on the serial port: input through the UART's receive path
	[ -n "$(arg shell)" ] && setsid sh -c 'exec sh </dev/ttyS0 >/dev/ttyS0 2>&1' &
	serve=$(arg serve)
	[ -n "$serve" ] && { say "serving"; sleep "$serve"; }
else
	say "lease none"
fi
grep -E ' 4:|ttyS|virtio' /proc/interrupts | while read -r l; do say "irq $l"; done
say "done"
poweroff -f
