#!/usr/bin/env bash
# Benchmark: boot to userspace of a stock Linux guest whose root is on
# virtio-blk (an ext4 qcow2 overlay served by qemu-storage-daemon), under
# real KVM in the nested test bed (tests/nested, scenario 8). Everything
# there runs under software emulation, so the figure is a ratio: the
# guest's uptime when the disk's /init starts over its uptime when the
# initramfs' /init started, in the same boot (the initramfs stage loads
# the disk's driver and mounts it).
BUILD=${NF_BUILD:-$(cd "$(dirname "$0")/../../build" && pwd)}
echo "== boot to userspace, root on virtio-blk (nested: KVM under TCG) =="
out=$("$(dirname "$0")/../nested/run.sh" "$BUILD" 8 2>&1)
figs=$(printf '%s\n' "$out" | grep '^# figure ' | sed 's/^# figure /  /')
if [ -n "$figs" ]; then
	printf '%s\n' "$figs"
else
	printf '%s\n' "$out" | grep -E '^(ok|not ok|# )' | head -5
	echo "  (no figure: the nested test bed did not run scenario 8)"
fi
