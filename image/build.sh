#!/usr/bin/env bash
# make image: the appliance disk image (image/README.md). Runs as root (debootstrap, chroot; no loop
# device or mount). Output in var/image/: pruem.img (raw GPT disk), manifest.json, slot/ (root image,
# kernel and initramfs of this version, for update bundles), keys/ (development update-signing key).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
source image/lib.sh
[[ $(id -u) -eq 0 ]] || { echo "make image must run as root (debootstrap, chroot, grub-install)" >&2; exit 1; }
t0=$(date +%s)

OUT=${IMAGE_OUT:-$REPO/var/image}
SUITE=bookworm                       # Debian 12
MIRROR=${IMAGE_MIRROR:-$(debian_mirror)}
SLOT_MB=${IMAGE_SLOT_MB:-1280}       # each of the two root slots (root image + verity hash tree)
BOOT_MB=128
DATA_MB=${IMAGE_DATA_MB:-512}
GATEWAY_UID=900
CMDLINE=${IMAGE_CMDLINE:-"quiet systemd.show_status=error slab_nomerge init_on_alloc=1 page_alloc.shuffle=1 randomize_kstack_offset=on vsyscall=none debugfs=off lockdown=integrity"}
# Only what the appliance needs. The kernel, systemd (+ networkd, journald), udev and dbus (networkctl);
# initramfs-tools + cryptsetup-bin (veritysetup in the initramfs and for updates); tokens; time; firewall.
PACKAGES=(linux-image-amd64 systemd systemd-sysv udev dbus kmod initramfs-tools cryptsetup-bin
  softhsm2 opensc pcscd libengine-pkcs11-openssl openssl ca-certificates chrony nftables util-linux e2fsprogs)
NODE=${IMAGE_NODE:-$(command -v node)}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}

[[ -f dist/appliance/cli/pruem.js ]] || { echo "dist/ missing: run make build first" >&2; exit 1; }
node_major=$("$NODE" -p 'process.versions.node.split(".")[0]')
[[ $node_major -ge 20 ]] || { echo "$NODE is Node $node_major; the gateway needs Node >= 20" >&2; exit 1; }

WORK=$OUT/work
ROOTFS=$WORK/rootfs
mkdir -p "$OUT/cache" "$WORK"
step() { echo "[image $(( $(date +%s) - t0 ))s] $*"; }

cleanup() {
  set +e
  for m in "$ROOTFS/proc" "$ROOTFS/sys" "$ROOTFS/dev/pts" "$ROOTFS/dev" ; do mountpoint -q "$m" && umount -l "$m"; done
}
trap cleanup EXIT

# 1. Base system from Debian packages, cached by suite + mirror + package list.
key=$(printf '%s\n' "$SUITE" "$MIRROR" "${PACKAGES[@]}" | sha256sum | cut -c1-16)
BASE=$OUT/cache/base-$key.tar
if [[ ! -f $BASE ]]; then
  step "debootstrap $SUITE from $MIRROR"
  rm -rf "$WORK/base"
  debootstrap --variant=minbase --include="$(IFS=,; echo "${PACKAGES[*]}")" "$SUITE" "$WORK/base" "$MIRROR" > "$WORK/debootstrap.log" 2>&1 \
    || { tail -20 "$WORK/debootstrap.log"; exit 1; }
  tar -C "$WORK/base" --numeric-owner -cf "$BASE.tmp" . && mv "$BASE.tmp" "$BASE"
  rm -rf "$WORK/base"
fi
step "root file system from $(basename "$BASE")"
rm -rf "$ROOTFS"; mkdir -p "$ROOTFS"
tar -C "$ROOTFS" --numeric-owner -xf "$BASE"

# 2. The appliance's files, user, Node runtime and gateway.
cp -a image/overlay/. "$ROOTFS/"
chown -R root:root "$ROOTFS/etc/systemd" "$ROOTFS/usr/lib/pruem" "$ROOTFS/usr/share/pruem" "$ROOTFS/etc/initramfs-tools"
in_root() { chroot "$ROOTFS" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }
in_root groupadd --system --gid $GATEWAY_UID pruem
in_root useradd --system --uid $GATEWAY_UID --gid pruem --home-dir /var/lib/pruem/gateway --no-create-home --shell /usr/sbin/nologin pruem
in_root usermod -p '!' root

step "Node runtime $("$NODE" --version) from $NODE"
install -D -m 0755 "$(readlink -f "$NODE")" "$ROOTFS/usr/lib/pruem/node/bin/node"
node_libs=()
for lib in $(ldd "$NODE" | awk '/=> \//{print $3}'); do
  name=$(basename "$lib")
  if ! ls "$ROOTFS"/usr/lib/x86_64-linux-gnu/"$name" "$ROOTFS"/lib/x86_64-linux-gnu/"$name" >/dev/null 2>&1; then
    install -D -m 0644 "$(readlink -f "$lib")" "$ROOTFS/usr/lib/pruem/node/lib/$name"; node_libs+=("$name (copied)")
  else node_libs+=("$name (Debian)"); fi
done
[[ -d $ROOTFS/usr/lib/pruem/node/lib ]] && echo /usr/lib/pruem/node/lib > "$ROOTFS/etc/ld.so.conf.d/pruem-node.conf"

step "gateway: dist/ + production node_modules (npm prune --omit=dev in a staging copy)"
STAGE=$WORK/gateway
rm -rf "$STAGE"; mkdir -p "$STAGE"
cp -a dist bin package.json package-lock.json "$STAGE/"
cp -a "$(readlink -f node_modules)/." "$STAGE/node_modules/"
rm -rf "$STAGE/node_modules/.stamp" "$STAGE/node_modules/.cache"
( cd "$STAGE" && npm_config_update_notifier=false npm prune --omit=dev --offline --no-audit --no-fund >/dev/null 2>&1 )
# Build leftovers of the native addons, prebuilt binaries for other platforms, docs.
find "$STAGE/node_modules" -type d \( -name obj.target -o -name .deps -o -name deps -o -name src -o -name test -o -name docs \) -path '*/build/*' -prune -exec rm -rf {} + 2>/dev/null || true
find "$STAGE/node_modules" -mindepth 1 -type d -path '*/prebuilds/*' ! -path '*/prebuilds/*/*' ! -name 'linux-x64*' -prune -exec rm -rf {} + 2>/dev/null || true
rm -rf "$STAGE/node_modules/better-sqlite3/deps" "$STAGE/node_modules/better-sqlite3/src"
mkdir -p "$ROOTFS/usr/lib/pruem/gateway"
cp -a "$STAGE/." "$ROOTFS/usr/lib/pruem/gateway/"
chown -R root:root "$ROOTFS/usr/lib/pruem/gateway"
chmod -R go-w "$ROOTFS/usr/lib/pruem/gateway"
GATEWAY_VERSION=$(node -p 'require("./package.json").version')+$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- appliance console bin package.json package-lock.json image || echo .dirty)
VERSION=${IMAGE_VERSION:-$GATEWAY_VERSION}
echo "$VERSION" > "$ROOTFS/usr/share/pruem/version"

# Update-signing key: the image carries only the public half. A development key is made once;
# a release build passes the release key's public half in IMAGE_UPDATE_PUB.
mkdir -p "$OUT/keys"; chmod 0700 "$OUT/keys"
if [[ -z ${IMAGE_UPDATE_PUB:-} && ! -f $OUT/keys/update-signing.key ]]; then
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$OUT/keys/update-signing.key" 2>/dev/null
  openssl pkey -in "$OUT/keys/update-signing.key" -pubout -out "$OUT/keys/update-signing.pem"
fi
install -m 0644 "${IMAGE_UPDATE_PUB:-$OUT/keys/update-signing.pem}" "$ROOTFS/usr/share/pruem/update-signing.pem"

# 3. Services: the gateway and its helpers on; every login prompt off (the serial line is the
# gateway's technicians' console); no first-boot prompts; networkd for the network.
step "units, initramfs, clean-up"
in_root systemctl enable pruem-firstboot.service pruem-firewall.service pruem-gateway.service pruem-boot-ok.service \
  pruem-update.service systemd-networkd.service >/dev/null 2>&1
for a in usb-mount usb-unmount network-apply reboot; do in_root systemctl enable "pruem-request@$a.path" >/dev/null 2>&1; done
in_root systemctl mask serial-getty@ttyS0.service getty@tty1.service console-getty.service systemd-firstboot.service \
  ctrl-alt-del.target debug-shell.service >/dev/null 2>&1
in_root systemctl disable nftables.service >/dev/null 2>&1 || true
in_root systemctl set-default multi-user.target >/dev/null 2>&1
echo pruem > "$ROOTFS/etc/hostname"
ln -sf /usr/share/zoneinfo/UTC "$ROOTFS/etc/localtime"
ln -sf /run/pruem/resolv.conf "$ROOTFS/etc/resolv.conf"
: > "$ROOTFS/etc/machine-id"; rm -f "$ROOTFS/var/lib/dbus/machine-id"
ln -sf /etc/machine-id "$ROOTFS/var/lib/dbus/machine-id"
printf '* hard core 0\n' > "$ROOTFS/etc/security/limits.d/90-pruem.conf" 2>/dev/null || true
printf 'umask 027\n' > "$ROOTFS/etc/profile.d/pruem-umask.sh"

# Kernel modules for hardware and protocols an appliance in a rack never has (sound, graphics, radio,
# cluster and network file systems…): less code that udev could load, a smaller image.
for kdir in "$ROOTFS"/usr/lib/modules/*/; do
  for d in sound drivers/gpu drivers/media drivers/net/wireless drivers/net/wwan drivers/net/can drivers/net/hamradio \
    drivers/net/ieee802154 drivers/infiniband drivers/staging drivers/bluetooth drivers/isdn drivers/iio drivers/nfc \
    drivers/input/touchscreen drivers/input/joystick drivers/input/tablet drivers/gnss drivers/fpga drivers/mtd \
    drivers/firewire drivers/thunderbolt drivers/pcmcia drivers/parport net/wireless net/mac80211 net/bluetooth net/nfc \
    net/ieee802154 net/can net/ax25 net/netrom net/rose net/appletalk net/dccp net/sctp net/rds net/tipc net/ceph \
    net/sunrpc net/9p fs/ocfs2 fs/gfs2 fs/nfs fs/nfsd fs/ceph fs/smb fs/afs fs/ubifs fs/coda fs/nilfs2 fs/jfs \
    fs/reiserfs fs/xfs fs/btrfs fs/orangefs fs/f2fs fs/9p fs/hfs fs/hfsplus fs/udf fs/jffs2 fs/cramfs fs/freevxfs; do
    rm -rf "$kdir/kernel/$d"
  done
  in_root depmod -a "$(basename "$kdir")"
done

# The factory firewall ruleset must load (nft -c checks it against this kernel's nftables).
in_root /usr/lib/pruem/node/bin/node /usr/lib/pruem/firewall.mjs /usr/share/pruem/factory > "$ROOTFS/tmp/factory.nft"
in_root nft -c -f /tmp/factory.nft
in_root nft -c -f /usr/lib/pruem/firewall-base.nft
in_root /usr/lib/pruem/node/bin/node --check /usr/lib/pruem/request.mjs
rm -f "$ROOTFS/tmp/factory.nft"

mount -t proc proc "$ROOTFS/proc"; mount -t sysfs sys "$ROOTFS/sys"; mount --bind /dev "$ROOTFS/dev"
in_root update-initramfs -u -k all > "$WORK/initramfs.log" 2>&1 || { cat "$WORK/initramfs.log"; exit 1; }
umount "$ROOTFS/dev" "$ROOTFS/sys" "$ROOTFS/proc"

# Nothing the appliance does not run: the package manager and its caches, docs (licences stay), logs.
in_root dpkg --purge apt libapt-pkg6.0 >/dev/null 2>&1 || in_root dpkg --purge apt >/dev/null
dpkg_list=$(in_root dpkg-query -W -f='${Package}=${Version}\n')
for bad in gcc cpp g++ cc clang make openssh-server dropbear apt; do
  if grep -q "^$bad=" <<<"$dpkg_list" || [[ -e $ROOTFS/usr/bin/$bad ]]; then echo "image contains $bad" >&2; exit 1; fi
done
rm -rf "$ROOTFS"/var/cache/* "$ROOTFS"/var/lib/apt "$ROOTFS"/var/log/* "$ROOTFS"/tmp/* "$ROOTFS"/var/tmp/* \
  "$ROOTFS"/usr/share/man "$ROOTFS"/usr/share/info "$ROOTFS"/usr/share/lintian "$ROOTFS"/etc/apt
find "$ROOTFS/usr/share/doc" -type f ! -name copyright -delete 2>/dev/null || true
find "$ROOTFS/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name 'locale.alias' -exec rm -rf {} + 2>/dev/null || true
mkdir -p "$ROOTFS/var/lib/pruem"
# Kernel and initramfs live on the boot partition (per slot); /boot is its mount point.
SLOT=$OUT/slot
rm -rf "$SLOT"; mkdir -p "$SLOT"
cp "$(ls "$ROOTFS"/boot/vmlinuz-* | sort -V | tail -1)" "$SLOT/vmlinuz"
cp "$(ls "$ROOTFS"/boot/initrd.img-* | sort -V | tail -1)" "$SLOT/initrd.img"
KERNEL=$(basename "$(ls "$ROOTFS"/boot/vmlinuz-* | sort -V | tail -1)" | sed 's/^vmlinuz-//')
rm -rf "$ROOTFS"/boot/* "$ROOTFS"/vmlinuz* "$ROOTFS"/initrd.img*

# Manifest (also inside the image): versions of everything that went in.
node_version=$("$NODE" --version)
{
  echo "{"
  echo "  \"version\": \"$VERSION\","
  echo "  \"debian\": { \"suite\": \"$SUITE\", \"release\": \"$(cat "$ROOTFS/etc/debian_version")\", \"mirror\": \"$MIRROR\" },"
  echo "  \"kernel\": \"$KERNEL\","
  echo "  \"node\": { \"version\": \"$node_version\", \"source\": \"$(readlink -f "$NODE")\", \"sha256\": \"$(sha256sum "$ROOTFS/usr/lib/pruem/node/bin/node" | cut -d' ' -f1)\", \"libraries\": [$(printf '"%s",' "${node_libs[@]}" | sed 's/,$//')] },"
  echo "  \"gateway\": { \"version\": \"$GATEWAY_VERSION\", \"commit\": \"$(git rev-parse HEAD)\", \"npmPackages\": $(cd "$STAGE" && npm ls --omit=dev --all --parseable 2>/dev/null | grep -c node_modules) },"
  echo "  \"packages\": [$(sed 's/.*/"&"/' <<<"$dpkg_list" | paste -sd, -)]"
  echo "}"
} > "$ROOTFS/usr/share/pruem/manifest.json"
node -e 'JSON.parse(require("fs").readFileSync(process.argv[1]))' "$ROOTFS/usr/share/pruem/manifest.json"

# 4. Root image with its verity hash tree.
step "root image (ext4 + dm-verity)"
read -r ROOTHASH HASHOFFSET < <(make_root_image "$ROOTFS" "$SLOT/root.img")
ROOT_BYTES=$(stat -c %s "$SLOT/root.img")
(( ROOT_BYTES <= SLOT_MB * 1024 * 1024 )) || { echo "root image $ROOT_BYTES B does not fit a ${SLOT_MB} MiB slot" >&2; exit 1; }
printf 'set roothash=%s\nset hashoffset=%s\nset version=%s\n' "$ROOTHASH" "$HASHOFFSET" "$VERSION" > "$SLOT/slot.cfg"

# 5. Boot partition (GRUB configuration, environment block, slot a) and data partition.
step "boot and data partitions, GPT disk, GRUB"
BOOTFS=$WORK/bootfs
rm -rf "$BOOTFS"; mkdir -p "$BOOTFS/grub" "$BOOTFS/slot-a" "$BOOTFS/slot-b"
sed "s|@CMDLINE@|$CMDLINE|" image/grub/grub.cfg > "$BOOTFS/grub/grub.cfg"
grub-editenv "$BOOTFS/grub/grubenv" create
grub-editenv "$BOOTFS/grub/grubenv" set slot=a
cp "$SLOT/vmlinuz" "$SLOT/initrd.img" "$SLOT/slot.cfg" "$BOOTFS/slot-a/"
mkdir -p "$BOOTFS/grub/i386-pc"
cp /usr/lib/grub/i386-pc/*.mod /usr/lib/grub/i386-pc/*.lst "$BOOTFS/grub/i386-pc/"
rm -f "$WORK/boot.img" "$WORK/data.img"
mkfs.ext4 -q -F -d "$BOOTFS" -L pruem-boot -m 0 "$WORK/boot.img" ${BOOT_MB}M
mkdir -p "$WORK/datafs"
mkfs.ext4 -q -F -d "$WORK/datafs" -L pruem-data -m 1 "$WORK/data.img" ${DATA_MB}M

DISK=$OUT/pruem.img
rm -f "$DISK"
total_mb=$(( 1 + 1 + BOOT_MB + 2 * SLOT_MB + DATA_MB + 1 ))
truncate -s ${total_mb}M "$DISK"
sfdisk -q "$DISK" <<EOF
label: gpt
first-lba: 2048
start=2048, size=2048, type=21686148-6449-6E6F-744E-656564454649, name="bios"
size=${BOOT_MB}MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="pruem-boot"
size=${SLOT_MB}MiB, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name="pruem-root-a"
size=${SLOT_MB}MiB, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name="pruem-root-b"
size=${DATA_MB}MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="pruem-data"
EOF
part_start() { sfdisk -J "$DISK" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).partitiontable.partitions[+process.argv[1]-1].start))' "$1"; }
dd if="$WORK/boot.img" of="$DISK" bs=512 seek="$(part_start 2)" conv=notrunc,sparse status=none
dd if="$SLOT/root.img" of="$DISK" bs=512 seek="$(part_start 3)" conv=notrunc,sparse status=none
dd if="$WORK/data.img" of="$DISK" bs=512 seek="$(part_start 5)" conv=notrunc,sparse status=none

# GRUB for BIOS on GPT, done by hand so no loop device or mount is needed (what grub-install +
# grub-bios-setup do): core.img (biosdisk, part_gpt, ext2 built in; modules read from the boot
# partition) into the BIOS boot partition, boot.img's code into the protective MBR, and the two
# sector pointers patched: boot.img -> first sector of core.img, diskboot's block list -> the rest.
grub-mkimage -O i386-pc -d /usr/lib/grub/i386-pc -o "$WORK/core.img" -p '(hd0,gpt2)/grub' biosdisk part_gpt ext2
core_start=$(part_start 1)
(( $(stat -c %s "$WORK/core.img") <= 2048 * 512 )) || { echo "core.img larger than the BIOS boot partition" >&2; exit 1; }
dd if=/usr/lib/grub/i386-pc/boot.img of="$DISK" bs=440 count=1 conv=notrunc status=none
dd if="$WORK/core.img" of="$DISK" bs=512 seek="$core_start" conv=notrunc status=none
node -e '
const fs = require("fs"); const [disk, core] = [process.argv[1], BigInt(process.argv[2])];
const fd = fs.openSync(disk, "r+"); const b = Buffer.alloc(8);
b.writeBigUInt64LE(core); fs.writeSync(fd, b, 0, 8, 0x5c);                    // GRUB_BOOT_MACHINE_KERNEL_SECTOR
fs.writeSync(fd, Buffer.from([0x90, 0x90]), 0, 2, 0x66);                       // hard disk: no boot drive check
b.writeBigUInt64LE(core + 1n); fs.writeSync(fd, b, 0, 8, Number(core) * 512 + 0x1f4); // diskboot block list start
fs.closeSync(fd);' "$DISK" "$core_start"

# 6. Build manifest next to the image.
secs=$(( $(date +%s) - t0 ))
sed "s|^{|{\n  \"image\": { \"file\": \"pruem.img\", \"bytes\": $(stat -c %s "$DISK"), \"allocatedBytes\": $(( $(stat -c %b "$DISK") * 512 )), \"rootImageBytes\": $ROOT_BYTES, \"roothash\": \"$ROOTHASH\", \"hashOffset\": $HASHOFFSET, \"slotMiB\": $SLOT_MB, \"buildSeconds\": $secs },|" \
  "$ROOTFS/usr/share/pruem/manifest.json" > "$OUT/manifest.json"
step "done: $DISK ($(du -h --apparent-size "$DISK" | cut -f1) disk, $(du -h "$DISK" | cut -f1) allocated; root image $((ROOT_BYTES / 1048576)) MiB), version $VERSION, root hash $ROOTHASH, ${secs}s"
