#!/usr/bin/env bash
# Builds the nested test bed from Debian packages and our fresh binaries:
#   OUT/vmlinuz        Debian's cloud kernel (used for both levels)
#   OUT/host.cpio.gz   the nested host (L1): busybox, KVM/vhost/bridge/
#                      nftables modules, dnsmasq, netd, netctl, netvm, the
#                      probe guest, the guest kernel and guest initramfs,
#                      and tests/nested/host-init.sh as /init
#   OUT/guest.cpio.gz  the stock-Linux guest (L2): busybox, the virtio-net
#                      and virtio-blk modules, tests/nested/guest-init.sh as
#                      /init
#   OUT/rootfs.qcow2   the same tree as an ext4 root file system (mke2fs
#                      -d), marked /on-disk, as a qcow2 base image
# usage: build.sh BUILD_DIR   (downloads are cached in BUILD_DIR/nested)
set -euo pipefail
BUILD=$(cd "$1" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$BUILD/nested
mkdir -p "$OUT"
cd "$OUT"

# --- the kernel package (cached) -----------------------------------------
PKG=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
	sed -n 's/.*Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -1)
[ -n "$PKG" ] || { echo "build.sh: no linux-image-cloud-amd64 in apt" >&2; exit 1; }
if ! ls "$PKG"_*.deb >/dev/null 2>&1; then
	rm -f linux-image-*.deb
	apt-get download "$PKG" >/dev/null 2>&1 || { echo "build.sh: apt-get download $PKG failed" >&2; exit 1; }
fi
if [ ! -d "kroot-$PKG" ]; then
	rm -rf kroot-*
	dpkg-deb -x "$PKG"_*.deb "kroot-$PKG.tmp"
	mv "kroot-$PKG.tmp" "kroot-$PKG"
fi
KROOT=$OUT/kroot-$PKG
cp "$KROOT"/boot/vmlinuz-* "$OUT/vmlinuz"
MODDIR=$(echo "$KROOT"/lib/modules/*)

# --- modules: dependency order from each module's depends= ----------------
declare -A MODFILE
while IFS= read -r f; do
	n=$(basename "$f" .ko); MODFILE[${n//-/_}]=$f
done < <(find "$MODDIR" -name '*.ko')
declare -A SEEN
ORDER=()
resolve() { # depth-first: dependencies before the module
	local m=${1//-/_} d
	[ -n "${SEEN[$m]:-}" ] && return 0
	SEEN[$m]=1
	local f=${MODFILE[$m]:-}
	[ -n "$f" ] || return 0 # built in
	for d in $(tr '\0' '\n' <"$f" | sed -n 's/^depends=//p' | tr ',' ' '); do
		resolve "$d"
	done
	ORDER+=("$m")
}
modules() { # modules DESTDIR NAME...: copies them and their dependencies
	local dest=$1 m; shift
	SEEN=(); ORDER=()
	for m in "$@"; do resolve "$m"; done
	mkdir -p "$dest/lib/modules"
	: >"$dest/lib/modules/order"
	for m in "${ORDER[@]}"; do
		cp "${MODFILE[$m]}" "$dest/lib/modules/$m.ko"
		echo "$m" >>"$dest/lib/modules/order"
	done
}
copy_bin() { # copy_bin ROOT BINARY...: binaries and their shared libraries
	local root=$1 b l; shift
	for b in "$@"; do
		install -D -m 0755 "$b" "$root$b"
		for l in $(ldd "$b" 2>/dev/null | grep -o '/[^ ]*'); do
			[ -e "$root$l" ] || install -D -m 0755 "$l" "$root$l"
		done
	done
}
mkcpio() { # mkcpio DIR OUT
	(cd "$1" && find . | busybox cpio -o -H newc 2>/dev/null) | gzip -1 >"$2.tmp"
	mv "$2.tmp" "$2"
}
base_root() { # base_root DIR: busybox and the usual mount points
	rm -rf "$1"
	mkdir -p "$1"/{bin,sbin,dev,proc,sys,tmp,run,etc,root}
	cp /bin/busybox "$1/bin/busybox"
	ln -s busybox "$1/bin/sh"
}

# --- L2: the stock-Linux guest --------------------------------------------
G=$OUT/guest-root
base_root "$G"
modules "$G" virtio_net virtio_pci virtio_blk crc32c_generic button evdev
install -m 0755 "$SRC/tests/nested/guest-init.sh" "$G/init"
mkcpio "$G" "$OUT/guest.cpio.gz"
# ...and as a root file system on a disk
R=$OUT/rootfs-tree
rm -rf "$R" && cp -a "$G" "$R" && touch "$R/on-disk"
rm -f "$OUT/rootfs.raw" "$OUT/rootfs.qcow2"
mke2fs -q -F -t ext4 -L nfroot -d "$R" "$OUT/rootfs.raw" 64M
qemu-img convert -f raw -O qcow2 "$OUT/rootfs.raw" "$OUT/rootfs.qcow2"
rm -f "$OUT/rootfs.raw"

# --- L1: the nested host --------------------------------------------------
H=$OUT/host-root
base_root "$H"
modules "$H" kvm_amd vhost_net tun tap macvtap bridge veth nf_tables nft_ct \
	nft_masq nft_nat nft_chain_nat nft_reject_inet nft_reject_bridge \
	nft_meta_bridge nf_conntrack
copy_bin "$H" /usr/sbin/dnsmasq /usr/bin/dhcp_release \
	/usr/bin/qemu-storage-daemon /usr/bin/qemu-img
# iproute2's ip (busybox's makes no veth pairs), beside busybox's
install -D -m 0755 "$(readlink -f "$(command -v ip)")" "$H/nested/ip2"
copy_bin "$H" "$(readlink -f "$(command -v ip)")"
mkdir -p "$H/nested"
for b in netd netctl netvm; do install -m 0755 "$BUILD/$b" "$H/nested/$b"; done
copy_bin "$H" "$BUILD/netd" "$BUILD/netctl" "$BUILD/netvm"
cp "$BUILD/guest/probe.elf" "$OUT/vmlinuz" "$OUT/guest.cpio.gz" \
	"$OUT/rootfs.qcow2" "$H/nested/"
sed "s/stp='on'/stp='off'/" "$SRC/examples/default.xml" >"$H/nested/default.xml"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$H/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$H/etc/group"
install -m 0755 "$SRC/tests/nested/host-init.sh" "$H/init"
mkcpio "$H" "$OUT/host.cpio.gz"
echo "nested test bed: $(du -h "$OUT/host.cpio.gz" | cut -f1) host initramfs, $(du -h "$OUT/guest.cpio.gz" | cut -f1) guest initramfs, kernel $PKG"
