# A private libvirtd for tests and benchmarks that compare netd with
# libvirt: sourced by a script already inside its own network and mount
# namespaces (unshare --net --mount --fork), so nothing libvirt creates
# (bridges, iptables rules, dnsmasq, its files) reaches the host.
#
# libvirt_installed: libvirtd and virsh are there
# libvirt_start DIR [QEMU_CONF]: tmpfs over libvirt's dirs (QEMU_CONF, if
#   given, as its qemu.conf), libvirtd started (its log in
#   DIR/libvirtd.log); LIBVIRT_PID and VIRSH (an array) are set
libvirt_installed() { command -v virsh >/dev/null && [ -x /usr/sbin/libvirtd ]; }

libvirt_start() {
	local dir=$1 d
	mount --make-rprivate / || return 1
	for d in /run/libvirt /var/lib/libvirt /etc/libvirt /var/cache/libvirt \
		/var/log/libvirt; do
		mkdir -p "$d" && mount -t tmpfs tmpfs "$d" || return 1
	done
	[ -z "${2:-}" ] || cp "$2" /etc/libvirt/qemu.conf || return 1
	# The QEMU driver resolves its user (libvirt-qemu) at start and
	# libvirtd stops when it cannot; that user comes with Debian's
	# libvirt-daemon-system, whose install would also start a libvirtd on
	# the host. The user is made here, in this mount namespace only.
	if ! getent passwd libvirt-qemu >/dev/null; then
		cp /etc/passwd "$dir/passwd" && cp /etc/group "$dir/group" &&
			echo "libvirt-qemu:x:64055:64055::/var/lib/libvirt:/usr/sbin/nologin" >>"$dir/passwd" &&
			echo "libvirt-qemu:x:64055:" >>"$dir/group" || return 1
		getent group kvm >/dev/null || echo "kvm:x:64056:" >>"$dir/group"
		mount --bind "$dir/passwd" /etc/passwd &&
			mount --bind "$dir/group" /etc/group || return 1
	fi
	ip link set lo up
	/usr/sbin/libvirtd --pid-file /run/libvirt/test.pid 2>"$dir/libvirtd.log" &
	LIBVIRT_PID=$!
	VIRSH=(virsh -q -c qemu:///system)
	for _ in $(seq 100); do
		[ -S /run/libvirt/libvirt-sock ] && "${VIRSH[@]}" version >/dev/null 2>&1 &&
			return 0
		kill -0 "$LIBVIRT_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "libvirtd did not start; its log:" >&2
	tail -5 "$dir/libvirtd.log" >&2
	return 1
}
