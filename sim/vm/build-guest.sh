#!/usr/bin/env bash
# Builds what the real-kernel suite boots: Debian's own kernel (downloaded and unpacked, never
# installed), dm-clone built out of tree (Debian's kernel lacks it), and a small initramfs
# whose /init loads nvmet, nvme-tcp and device-mapper and then serves commands from the host
# over a virtio-serial port (guest-agent.sh). Everything is cached under $DNV_VM_WORK.
#
# Needs root (apt-get, device nodes in the cpio). Prints the paths it built on its last line:
#   kernel=<vmlinuz> initramfs=<initramfs.gz> kver=<abi>
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
work=${DNV_VM_WORK:-/var/tmp/dnv-kernel-vm}
log() { echo "[build-guest] $*" >&2; }
[ "$(id -u)" = 0 ] || { echo "build-guest.sh: run as root (apt-get, device nodes)" >&2; exit 1; }
mkdir -p "$work/debs" "$work/out"

tools="qemu-system-x86 busybox-static nvme-cli dmsetup cpio kmod gzip xz-utils gcc make"
if [ -z "${KVER:-}" ]; then
  apt-get update > "$work/apt.log" 2>&1 || { tail -5 "$work/apt.log" >&2; exit 1; }
  KVER=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/ { sub("linux-image-", "", $2); print $2; exit }')
fi
missing=""
for p in $tools "linux-headers-$KVER"; do dpkg -s "$p" > /dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  log "apt-get install$missing"
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing >> "$work/apt.log" 2>&1 ||
    { tail -20 "$work/apt.log" >&2; exit 1; }
fi

# The kernel package is unpacked into $work, never installed: nothing changes in /boot and no
# module is ever loaded into the host's kernel.
kroot=$work/kernel-$KVER
if [ ! -f "$kroot/boot/vmlinuz-$KVER" ]; then
  chmod 777 "$work/debs"
  ls "$work/debs"/linux-image-"$KVER"_*.deb > /dev/null 2>&1 ||
    (cd "$work/debs" && apt-get download "linux-image-$KVER" 2>&1 | grep -v 'unsandboxed' >&2 || true)
  rm -rf "$kroot.part" && mkdir -p "$kroot.part"
  dpkg-deb -x "$work/debs"/linux-image-"$KVER"_*.deb "$kroot.part"
  depmod -b "$kroot.part" "$KVER"
  mv "$kroot.part" "$kroot"
fi
kversion=$(dpkg-deb -f "$work/debs"/linux-image-"$KVER"_*.deb Version)
moddir=$kroot/lib/modules/$KVER

clone_ko=$work/dm-clone-$KVER/dm-clone.ko
if ! grep -q '^CONFIG_DM_CLONE=[ym]' "$kroot/boot/config-$KVER" && [ ! -f "$clone_ko" ]; then
  src=linux-source-$(echo "$KVER" | cut -d. -f1-2)
  ls "$work/debs/${src}_${kversion}_all.deb" > /dev/null 2>&1 ||
    (cd "$work/debs" && apt-get download "$src=$kversion" 2>&1 | grep -v 'unsandboxed' >&2 || true)
  b=$work/dm-clone-$KVER
  rm -rf "$b" && mkdir -p "$b/tree"
  # Only dm-clone's sources and the private device-mapper headers they include.
  dpkg-deb --fsys-tarfile "$work/debs/${src}_${kversion}_all.deb" | tar -xO "./usr/src/$src.tar.xz" |
    tar -xJ -C "$b/tree" --wildcards "$src/drivers/md/dm-clone-*" "$src/drivers/md/*.h"
  cp -r "$b/tree/$src/drivers/md/." "$b/"
  printf 'obj-m := dm-clone.o\ndm-clone-y := dm-clone-target.o dm-clone-metadata.o\n' > "$b/Makefile"
  log "building dm-clone.ko"
  make -C "/lib/modules/$KVER/build" M="$b" modules > "$b/build.log" 2>&1 || { tail -30 "$b/build.log" >&2; exit 1; }
  strip --strip-debug "$clone_ko"
fi

out=$work/out/$KVER
stamp=$(cat "$here/guest-agent.sh" "$0" | md5sum | cut -c1-12)
if [ ! -f "$out/initramfs-$stamp.gz" ]; then
  root=$work/rootfs
  rm -rf "$root" && mkdir -p "$root"/{bin,lib64,etc,proc,sys,dev,tmp,run,root} "$root/lib/modules/$KVER" "$out"
  ln -s bin "$root/sbin"; mkdir -p "$root/usr"; ln -s ../bin "$root/usr/bin"; ln -s ../bin "$root/usr/sbin"
  cp /bin/busybox "$root/bin/"
  for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$root/bin/$a"; done
  for bin in /usr/sbin/nvme /usr/sbin/dmsetup; do
    rm -f "$root/bin/$(basename "$bin")"; cp -L "$bin" "$root/bin/"
    ldd "$bin" | awk '/=> \// { print $3 } /^\t\/lib/ { print $1 }' | while read -r lib; do
      mkdir -p "$root$(dirname "$lib")"; [ -e "$root$lib" ] || cp -L "$lib" "$root$lib"
    done
  done
  echo "root:x:0:0:root:/root:/bin/sh" > "$root/etc/passwd"
  : > "$root/etc/modules"
  for m in configfs brd dm-mod dm-raid raid0 raid1 dm-thin-pool dm-mirror nvme-core nvme-fabrics nvme-tcp nvmet nvmet-tcp \
           crc32c_generic libcrc32c virtio_net virtio_pci virtio_console; do
    modprobe -d "$kroot" -S "$KVER" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
  done | awk '!seen[$0]++' | while read -r ko; do
    rel=${ko#"$moddir"/}
    mkdir -p "$root/lib/modules/$KVER/$(dirname "$rel")"; cp "$ko" "$root/lib/modules/$KVER/$rel"
    [ "$(basename "$rel" .ko)" = brd ] || echo "$rel" >> "$root/etc/modules"
  done
  if [ -f "$clone_ko" ]; then
    mkdir -p "$root/lib/modules/$KVER/extra" && cp "$clone_ko" "$root/lib/modules/$KVER/extra/"
    echo extra/dm-clone.ko >> "$root/etc/modules"
  fi
  cp "$moddir"/modules.builtin "$moddir"/modules.builtin.modinfo "$moddir"/modules.order "$root/lib/modules/$KVER/"
  depmod -b "$root" "$KVER"
  cp "$here/guest-agent.sh" "$root/init" && chmod 755 "$root/init"
  (cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --owner=0:0 --quiet | gzip -6) > "$out/initramfs-$stamp.gz.part"
  mv "$out/initramfs-$stamp.gz.part" "$out/initramfs-$stamp.gz"
  cp "$kroot/boot/vmlinuz-$KVER" "$out/vmlinuz"
fi
echo "kernel=$out/vmlinuz initramfs=$out/initramfs-$stamp.gz kver=$KVER"
