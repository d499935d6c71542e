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
#   OUT/images.raw     an ext4 disk for the nested host holding
#                      debian.qcow2: a Debian 12 root file system (systemd,
#                      cloud-init, openssh-server; mmdebstrap, cached by its
#                      recipe) and id.pub, the key the host logs in with
#                      (NESTED_DEBIAN=0 leaves it out)
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
modules "$G" virtio_net virtio_pci virtio_blk crc32c_generic button evdev \
	vfat nls_cp437 nls_ascii nls_iso8859_1 nls_utf8
install -m 0755 "$SRC/tests/nested/guest-init.sh" "$G/init"
mkcpio "$G" "$OUT/guest.cpio.gz"
# ...and as a root file system on a disk
R=$OUT/rootfs-tree
rm -rf "$R" && cp -a "$G" "$R" && touch "$R/on-disk"
rm -f "$OUT/rootfs.raw" "$OUT/rootfs.qcow2"
mke2fs -q -F -t ext4 -L nfroot -d "$R" "$OUT/rootfs.raw" 64M
qemu-img convert -f raw -O qcow2 "$OUT/rootfs.raw" "$OUT/rootfs.qcow2"
rm -f "$OUT/rootfs.raw"

# --- a Debian image with cloud-init, for a lab (cached by its recipe) -----
# what README.md says to build for examples/lab-debian.xml: the image
# boots with its own kernel and initrd (initramfs-tools) from /boot
DEB_PKGS=linux-image-cloud-amd64,initramfs-tools,systemd-sysv,udev,dbus,openssh-server,cloud-init,sudo,iproute2,ifupdown,isc-dhcp-client,netbase
# cloud-init: the seed netd makes (NoCloud) only, and the image's host
# keys kept (making new ones costs minutes under emulation)
DEB_CFG='datasource_list: [ NoCloud, None ]\nssh_deletekeys: false\nssh_genkeytypes: []\n'
DEB_ID=$(printf '%s %s' "$DEB_PKGS" "$DEB_CFG" | md5sum | cut -c1-12)
if [ "${NESTED_DEBIAN:-1}" != 0 ] && command -v mmdebstrap >/dev/null; then
	if [ ! -s "debian-$DEB_ID.qcow2" ]; then
		rm -rf debian-* deb-root
		mmdebstrap --quiet --variant=minbase --mode=root --format=directory \
			--include="$DEB_PKGS" \
			--customize-hook="printf '$DEB_CFG' >\"\$1/etc/cloud/cloud.cfg.d/90-netfabric.cfg\"" \
			bookworm deb-root >/dev/null 2>&1 ||
			{ echo "build.sh: mmdebstrap of the Debian image failed" >&2; exit 1; }
		cp deb-root/boot/vmlinuz-* "debian-$DEB_ID.vmlinuz"
		cp deb-root/boot/initrd.img-* "debian-$DEB_ID.initrd"
		mke2fs -q -F -t ext4 -L debroot -d deb-root debian.raw 2G
		rm -rf deb-root
		qemu-img convert -f raw -O qcow2 debian.raw "debian-$DEB_ID.qcow2.tmp"
		rm -f debian.raw
		mv "debian-$DEB_ID.qcow2.tmp" "debian-$DEB_ID.qcow2"
	fi
	[ -s id ] || ssh-keygen -q -t ed25519 -N '' -C nested-host -f id
	rm -rf images-tree images.raw
	mkdir images-tree
	ln "debian-$DEB_ID.qcow2" images-tree/debian.qcow2
	ln "debian-$DEB_ID.vmlinuz" images-tree/vmlinuz
	ln "debian-$DEB_ID.initrd" images-tree/initrd.img
	cp id id.pub images-tree/
	mke2fs -q -F -t ext4 -d images-tree images.raw \
		$(( $(du -cm images-tree/* | tail -1 | cut -f1) + 64 ))M
	rm -rf images-tree
fi

# --- L1: the nested host --------------------------------------------------
H=$OUT/host-root
base_root "$H"
modules "$H" kvm_amd vhost_net tun tap macvtap bridge veth virtio_pci virtio_blk nf_tables nft_ct \
	nft_masq nft_nat nft_chain_nat nft_reject_inet nft_reject_bridge \
	nft_meta_bridge nf_conntrack
copy_bin "$H" /usr/sbin/dnsmasq /usr/bin/dhcp_release \
	/usr/bin/qemu-storage-daemon /usr/bin/qemu-img /usr/sbin/mkfs.fat /usr/bin/mcopy
command -v ssh >/dev/null && copy_bin "$H" "$(command -v ssh)"
# mcopy converts FAT names through iconv: glibc's code page 850 module
GC=/usr/lib/x86_64-linux-gnu/gconv
mkdir -p "$H$GC" && cp -a "$GC"/gconv-modules* "$GC/IBM850.so" "$H$GC/"
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
echo "nested test bed: $(du -h "$OUT/host.cpio.gz" | cut -f1) host initramfs, $(du -h "$OUT/guest.cpio.gz" | cut -f1) guest initramfs, kernel $PKG$([ -e "$OUT/images.raw" ] && echo ", Debian image $(du -h "$OUT/images.raw" | cut -f1)")"
