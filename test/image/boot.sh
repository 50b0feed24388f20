#!/usr/bin/env bash
# make image-test: boots var/image/pruem.img under qemu through its own bootloader (BIOS GRUB on GPT;
# no -kernel/-initrd) and checks the appliance from outside (forwarded ports on 127.0.0.1) and from
# inside (the PRUEM-REPORT lines the appliance prints on its serial console at every boot):
#   1. a root image with one flipped byte does not boot (dm-verity);
#   2. the image boots, the gateway answers /api/health, root is read-only and verity-protected, the
#      gateway runs unprivileged, nftables drops the TESTA and officers' ports, systemd-analyze security;
#   3. a signed update bundle whose gateway fails to start is installed into slot b from an update
#      drive, its trial boot fails, and GRUB rolls back to slot a, which is healthy again;
#   4. a good signed bundle is installed into slot b, its trial boot is healthy and it is committed;
#      then, on that boot, a signed audit export through the console API to a USB drive attached to
#      the guest (mounted by the root helper on the daemon's request), read back here from the drive.
# The serial line ttyS0 is the daemon's technicians' console and also carries the kernel console and
# the PRUEM-REPORT lines (root writes them to /dev/console); qemu logs it to NAME.serial and offers it
# on the socket NAME.sock, through which the test types into the console.
# The image is never modified: every run boots a qcow2 overlay. One qemu at a time.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$PWD
source image/lib.sh
OUT=${IMAGE_OUT:-$REPO/var/image}
T=$OUT/test
DISK=$OUT/pruem.img
[[ -f $DISK && -f $OUT/slot/root.img ]] || { echo "no image: run make image" >&2; exit 1; }
rm -rf "$T"; mkdir -p "$T"
t0=$(date +%s)
QPID=
fails=0
ok() { echo "ok   - $*"; }
bad() { echo "FAIL - $*"; fails=$((fails + 1)); }
log() { echo "[image-test $(( $(date +%s) - t0 ))s] $*"; }
stop_qemu() { if [[ -n $QPID ]] && kill -0 "$QPID" 2>/dev/null; then kill "$QPID"; wait "$QPID" 2>/dev/null || true; fi; QPID=; }
trap stop_qemu EXIT
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

# KVM when it works (nested KVM on this build machine does not: the kernel hangs or qemu asserts),
# otherwise software emulation.
ACCEL=${IMAGE_TEST_ACCEL:-}
if [[ -z $ACCEL ]]; then
  ACCEL="tcg -cpu max"
  if [[ -w /dev/kvm ]]; then
    ( timeout 30 qemu-system-x86_64 -accel kvm -cpu host -m 256 -display none -no-reboot -monitor none \
      -kernel "$OUT/slot/vmlinuz" -append "console=ttyS0 panic=-1 root=/dev/null" -serial file:"$T/kvm-probe.log" \
      >/dev/null 2>&1 || true ) 2>/dev/null || true
    grep -q "Linux version" "$T/kvm-probe.log" 2>/dev/null && ACCEL="kvm -cpu host"
  fi
fi
log "accelerator: $ACCEL"

# qemu_start NAME OVERLAY [EXTRA_ARGS…]: serial console (ttyS0) logged to $T/NAME.serial, typed into through $T/NAME.sock.
qemu_start() {
  local name=$1 disk=$2; shift 2
  # shellcheck disable=SC2086
  qemu-system-x86_64 -accel $ACCEL -smp 2 -m 1536 -display none -monitor none \
    -drive file="$disk",if=virtio,format=qcow2 \
    -chardev socket,id=ttyS0,path="$T/$name.sock",server=on,wait=off,logfile="$T/$name.serial" -serial chardev:ttyS0 \
    "$@" > "$T/$name.qemu.log" 2>&1 &
  QPID=$!
}
# serial_type NAME TEXT: types TEXT (then Enter) on the guest's ttyS0.
serial_type() {
  node -e '
    const s = require("net").connect(process.argv[1], () => { s.write(process.argv[2] + "\r"); setTimeout(() => s.end(), 1500); });
    s.on("data", () => undefined); s.on("error", (e) => { console.error("serial socket: " + e.message); process.exit(1); });' "$T/$1.sock" "$2"
}
# setup_code NAME: the last set-up code the serial console showed.
setup_code() { grep -aoE 'Console set-up code \(first-run wizard\): [A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}' "$T/$1.serial" | tail -1 | awk '{print $NF}'; }
# wait_serial NAME REGEX SECONDS: 0 when the serial log matches.
wait_serial() {
  local name=$1 re=$2 end=$(( $(date +%s) + $3 ))
  while (( $(date +%s) < end )); do
    grep -aqE "$re" "$T/$name.serial" 2>/dev/null && return 0
    [[ -n $QPID ]] && ! kill -0 "$QPID" 2>/dev/null && { grep -aqE "$re" "$T/$name.serial" 2>/dev/null; return; }
    sleep 3
  done
  return 1
}
overlay() { qemu-img create -q -f qcow2 -b "$DISK" -F raw "$T/$1.qcow2"; }
root_a_offset() { sfdisk -J "$DISK" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).partitiontable.partitions[2].start*512))'; }

# IMAGE_TEST_ONLY=export runs only step 5 (while working on it); the whole test is the default.
if [[ ${IMAGE_TEST_ONLY:-} != export ]]; then
# ---------------------------------------------------------------------------------------------
log "1. one flipped byte in root slot a (the ext4 superblock, read at mount) must stop the boot"
overlay corrupt
off=$(( $(root_a_offset) + 1024 + 0x78 ))
orig=$(od -An -tu1 -j "$off" -N1 "$DISK" | tr -d ' ')
qemu-io -f qcow2 -c "write -P $(( orig ^ 0xff )) $off 1" "$T/corrupt.qcow2" >/dev/null
qemu_start corrupt "$T/corrupt.qcow2" -no-reboot -nic none
if wait_serial corrupt 'Rebooting automatically due to panic|Kernel panic|systemd\[1\]|Reached target' 600; then :; fi
sleep 2; stop_qemu
if grep -aqE 'verity.*corrupt|dm-verity refused|can.t read superblock|Rebooting automatically' "$T/corrupt.serial" \
   && ! grep -aq 'systemd\[1\]' "$T/corrupt.serial"; then
  ok "corrupted root image refused: $(grep -aoE 'device-mapper: verity[^\r]*corrupted' "$T/corrupt.serial" | head -1)"
else bad "corrupted root image was not refused (see $T/corrupt.serial)"; fi

# ---------------------------------------------------------------------------------------------
log "2. boot, health, sandbox, firewall; 3. failing update and rollback"
# make_test_bundle VERSION good|broken: this build's root file system (broken: with a gateway that
# cannot start), signed with the (development) update key the image trusts, on an update drive.
make_test_bundle() {
  local version=$1 kind=$2 dir=$T/$2-rootfs hash off
  rm -rf "$dir"; cp -al "$OUT/work/rootfs" "$dir"
  rm -f "$dir/usr/share/pruem/version"; echo "$version" > "$dir/usr/share/pruem/version"
  if [[ $kind == broken ]]; then
    rm -f "$dir/usr/lib/pruem/gateway/bin/pruem.js"
    printf '#!/usr/bin/env node\nconsole.error("pruem: this build is broken on purpose (image test)");\nprocess.exit(1);\n' > "$dir/usr/lib/pruem/gateway/bin/pruem.js"
  fi
  read -r hash off < <(make_root_image "$dir" "$T/$kind-root.img" 2>/dev/null)
  rm -rf "$dir"
  make_bundle "$T/$kind-root.img" "$hash" "$off" "$OUT/slot/vmlinuz" "$OUT/slot/initrd.img" "$version" \
    "$OUT/keys/update-signing.key" "$T/bundle"
  rm -f "$T/$kind-root.img"
  make_update_drive "$T/bundle" "$T/update-drive.img" 2>/dev/null
  log "update bundle $version (root hash ${hash:0:16}…) on an update drive"
}
BAD_VERSION="$(cat "$OUT/work/rootfs/usr/share/pruem/version")-broken"
make_test_bundle "$BAD_VERSION" broken

overlay main
API=$(free_port); SMTP=$(free_port); OFFICERS=$(free_port)
qemu_start main "$T/main.qcow2" \
  -drive file="$T/update-drive.img",if=virtio,format=raw,readonly=on \
  -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$API-:8080,hostfwd=tcp:127.0.0.1:$SMTP-:2525,hostfwd=tcp:127.0.0.1:$OFFICERS-:8090" \
  -device virtio-net-pci,netdev=n0
S=$T/main.serial
if wait_serial main 'PRUEM-REPORT boot slot=a trial=no gateway=' 1200; then
  line=$(grep -a 'PRUEM-REPORT boot slot=a' "$S" | head -1)
  log "first boot: ${line#PRUEM-REPORT }"
  [[ $line == *gateway=healthy* ]] && ok "first boot healthy (boot to healthy: uptime $(sed 's/.*uptime=\([0-9.]*\).*/\1/' <<<"$line") s)" || bad "first boot: $line"
else bad "first boot never reported (see $S)"; fi
wait_serial main 'PRUEM-REPORT end' 300 || true
first_report=$(awk '/PRUEM-REPORT boot slot=a/{f=1} f && /PRUEM-REPORT/{print} /PRUEM-REPORT end/{if(f) exit}' "$S" \
  | tr -d '\r' | sed 's/\x1b\[[0-9;]*[A-Za-z]//g; s/.*PRUEM-REPORT /PRUEM-REPORT /')
rep() { grep -a "^PRUEM-REPORT $1 " <<<"$first_report" | head -1 | sed "s/^PRUEM-REPORT $1 //"; }
[[ $(rep root_mount) == "/dev/mapper/vroot ro,"* ]] && ok "root is /dev/mapper/vroot mounted read-only ($(rep root_mount))" || bad "root mount: $(rep root_mount)"
[[ $(rep verity) == *"status: verified"* ]] && ok "root is a dm-verity device: $(rep verity)" || bad "verity: $(rep verity)"
[[ $(rep root_write_test) == refused ]] && ok "writing to / is refused" || bad "root write test: $(rep root_write_test)"
g=$(rep gateway)
[[ $g == *"user=pruem"* && $g == *"uid=900,900"* && $g == *"caps=0000000000000000"* && $g == *"nonewprivs=1"* && $g == *"seccomp=2"* ]] \
  && ok "gateway unprivileged: $g" || bad "gateway: $g"
[[ $(rep request_paths) == "usb-mount=active usb-unmount=active network-apply=active reboot=active" ]] \
  && ok "the root helper's request paths are watched: $(rep request_paths)" || bad "request paths: $(rep request_paths)"
[[ $(rep nft_input_policy) == "policy drop" ]] && ok "nftables input policy drop; rules: $(rep nft_input)" || bad "nft: $(rep nft_input_policy)"
[[ $(rep packages) == *"compilers=0 sshd=0"* ]] && ok "no compilers, no SSH server ($(rep packages))" || bad "packages: $(rep packages)"
[[ $(rep passwords) == "0 usable, 0 empty" ]] && ok "no account has a password" || bad "passwords: $(rep passwords)"
# The daemon's serial console owns ttyS0 (factory configuration): its banner and the wizard's set-up
# code appeared there, and it answers what is typed (a login prompt for an empty line).
if grep -aq 'serial console (pruem ' "$S"; then
  ok "the serial console runs on ttyS0: $(grep -aoE 'Prüm gateway [A-Z]{2} — serial console \(pruem [^)]*\)' "$S" | head -1)"
  [[ -n $(setup_code main) ]] && ok "it shows the first-run wizard's set-up code" || bad "no set-up code on the serial console"
  prompts=$(grep -ao 'login: ' "$S" | wc -l)
  serial_type main '' || true
  answered=no
  for _ in $(seq 1 40); do (( $(grep -ao 'login: ' "$S" | wc -l) > prompts )) && { answered=yes; break; }; sleep 3; done
  [[ $answered == yes ]] && ok "the serial console answers on ttyS0 (a new login prompt after Enter)" || bad "the serial console did not answer on ttyS0"
else bad "no serial console banner on ttyS0 (see $S)"; fi
echo "--- systemd-analyze security pruem-gateway.service (inside the image, first boot) ---"
grep -a '^PRUEM-REPORT security | ' <<<"$first_report" | sed 's/^PRUEM-REPORT security | //'
echo "---"
exposure=$(grep -aoE 'Overall exposure level for pruem-gateway.service: [0-9.]+ [A-Z]+' <<<"$first_report" || true)
[[ $exposure =~ ([0-9.]+)\ (OK|SAFE)$ ]] && ok "$exposure" || bad "systemd-analyze security: ${exposure:-missing}"

if wait_serial main 'PRUEM-REPORT update installed version' 900; then
  ok "update bundle verified and installed: $(grep -a 'PRUEM-REPORT update installed' "$S" | head -1 | tr -d '\r' | sed 's/PRUEM-REPORT update //')"
else bad "update not installed: $(grep -a 'PRUEM-REPORT update' "$S" | tr -d '\r' | tail -2)"; fi
if wait_serial main 'PRUEM-REPORT boot slot=b trial=yes' 1200; then
  line=$(grep -a 'PRUEM-REPORT boot slot=b' "$S" | head -1 | tr -d '\r')
  [[ $line == *gateway=failing* || $line == *gateway=unhealthy* ]] && ok "trial boot of slot b: ${line#PRUEM-REPORT }" || bad "slot b: $line"
else bad "no trial boot of slot b"; fi
if wait_serial main 'PRUEM-REPORT rollback: running slot=a' 1500; then
  line=$(grep -a 'PRUEM-REPORT boot slot=a' "$S" | tail -1 | tr -d '\r')
  [[ $line == *gateway=healthy*rolled_back=1* ]] && ok "rolled back to slot a, healthy again: ${line#PRUEM-REPORT }" || bad "after rollback: $line"
  wait_serial main 'already attempted, ignored' 300 && ok "the failed bundle is not installed again" || bad "the failed bundle was not recognised as attempted"
else bad "no rollback to slot a"; fi
wait_serial main 'PRUEM-REPORT end' 120 || true

# From outside, after the rollback: the management API answers through the forwarded port; the TESTA
# SMTP port (no relay configured) and the officers' port (no national network) listen inside but
# nftables drops them: the forwarded connection stays silent (a closed port would be reset at once).
body=$(curl -sk -m 60 "https://127.0.0.1:$API/api/health" || true)
[[ -n $body ]] && ok "GET /api/health through 127.0.0.1:$API answers: ${body:0:160}" || bad "/api/health did not answer on 127.0.0.1:$API"
listening=$(grep -a '^PRUEM-REPORT listening' "$S" | tail -1 | tr -d '\r')
for p in "2525:$SMTP" "8090:$OFFICERS"; do
  guest=${p%%:*}; host=${p##*:}
  res=$(timeout 15 node -e '
    const s = require("net").connect(+process.argv[1], "127.0.0.1"); let got = "";
    s.on("data", (d) => { got += d; }); s.on("error", (e) => { console.log("error " + e.code); process.exit(0); });
    s.on("close", () => { console.log(got ? "answered " + JSON.stringify(got.slice(0, 40)) : "closed"); process.exit(0); });
    setTimeout(() => { console.log(got ? "answered " + JSON.stringify(got.slice(0, 40)) : "silent"); process.exit(0); }, 10000);' "$host")
  listens=no; [[ $listening == *" $guest "* || $listening == *" $guest" ]] && listens=yes
  if [[ $guest == 2525 && $listens == no && $res == silent ]]; then
    # The TESTA side opens only once the box is provisioned (the daemon's provisioning gate); the firewall drops it anyway.
    ok "port $guest (TESTA SMTP) does not listen on the unprovisioned box ($listening) and is dropped by nftables from outside (silent for 10 s)"
  elif [[ $listens == yes && $res == silent ]]; then
    ok "port $guest listens in the guest ($listening) and is dropped by nftables from outside (silent for 10 s)"
  else bad "port $guest: guest ${listening:-?}, from outside: $res"; fi
done
stop_qemu
echo "--- serial console, boots and updates ---"
grep -a 'PRUEM-REPORT \(boot\|update\|rollback\)' "$S" | tr -d '\r' | sed 's/^/  /'

# ---------------------------------------------------------------------------------------------
log "4. a good update on the same disk: installed into slot b, trial boot healthy, committed"
GOOD_VERSION="$(cat "$OUT/work/rootfs/usr/share/pruem/version")-next"
make_test_bundle "$GOOD_VERSION" good
qemu_start next "$T/main.qcow2" -drive file="$T/update-drive.img",if=virtio,format=raw,readonly=on -nic user
S=$T/next.serial
if wait_serial next 'PRUEM-REPORT update committed slot=b' 1800; then
  ok "good update committed: $(grep -a 'PRUEM-REPORT boot slot=b' "$S" | tail -1 | tr -d '\r' | sed 's/PRUEM-REPORT //')"
  # The report after the commit names the version now running (earlier reports of this run name slot a's).
  if wait_serial next "PRUEM-REPORT version $(sed 's/[.+]/\\&/g' <<<"$GOOD_VERSION")" 300; then ok "slot b runs $GOOD_VERSION"
  else bad "slot b does not report $GOOD_VERSION: $(grep -a 'PRUEM-REPORT version' "$S" | tr -d '\r' | tail -1)"; fi
else bad "good update not committed: $(grep -a 'PRUEM-REPORT \(update\|boot\)' "$S" | tr -d '\r' | tail -3)"; fi
stop_qemu
grep -a 'PRUEM-REPORT \(boot\|update\|rollback\)' "$S" | tr -d '\r' | sed 's/^/  /'

fi # steps 1-4

# ---------------------------------------------------------------------------------------------
log "5. a signed audit export through the console API to a USB drive (the root helper mounts it)"
# The audit signer needs keys and a certificate: this boot's data partition is the factory one after
# `pruem provision --development` (SoftHSM2 token, DEVELOPMENT certificates), made here with this
# build's gateway and the image's factory files, owned by the gateway's uid.
D5=$T/provisioned
rm -rf "$D5"; mkdir -p "$D5/gateway/tokens" "$D5/network"; chmod 0755 "$D5" "$D5/network"
cp image/overlay/usr/share/pruem/factory/{config.json,firewall.json} "$D5/gateway/"
sed "s|/var/lib/pruem/gateway/tokens|$D5/gateway/tokens|" image/overlay/usr/share/pruem/factory/softhsm2.conf > "$D5/gateway/softhsm2.conf"
if node bin/pruem.js provision --development --config "$D5/gateway/config.json" > "$T/provision.log" 2>&1; then
  cp image/overlay/usr/share/pruem/factory/softhsm2.conf "$D5/gateway/softhsm2.conf"
  chown -R 900:900 "$D5/gateway"; chmod -R go-rwx "$D5/gateway"
  rm -f "$T/data5.img"
  mkfs.ext4 -q -F -d "$D5" -L pruem-data -m 1 "$T/data5.img" 128M >/dev/null
  overlay export
  data_off=$(sfdisk -J "$DISK" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).partitiontable.partitions[4].start*512))')
  qemu-io -f qcow2 -c "write -s $T/data5.img $data_off $(stat -c %s "$T/data5.img")" "$T/export.qcow2" >/dev/null
  # An empty ext4 drive on the guest's USB bus (xHCI, usb-storage): the export's target.
  STICK=$T/usb-stick.img
  rm -f "$STICK"; truncate -s 64M "$STICK" && mkfs.ext4 -q -F -L PRUEM-AUDIT "$STICK"
  API=$(free_port)
  qemu_start export "$T/export.qcow2" \
    -device qemu-xhci,id=xhci -drive if=none,id=stick,file="$STICK",format=raw -device usb-storage,bus=xhci.0,drive=stick \
    -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$API-:8080" -device virtio-net-pci,netdev=n0
  S=$T/export.serial
  if wait_serial export 'PRUEM-REPORT boot slot=a trial=no gateway=healthy' 1200 && [[ -n $(setup_code export) ]]; then
    code=$(setup_code export)
    if exported=$(timeout 1200 node --no-warnings test/image/export.mjs "https://127.0.0.1:$API" "$code" 2>&1); then
      ok "audit export through the console API: $(node -e 'const r=JSON.parse(process.argv[1].trim().split("\n").pop()); console.log(`drive ${r.drive.id} (${r.drive.label}), ${r.export.result.entries} entries, ${r.export.result.path}, verified on the drive: ${r.export.verification.ok}`)' "$exported")"
    else bad "audit export through the console API failed: ${exported:0:800}"; fi
  else bad "the provisioned box did not come up healthy with a set-up code: $(grep -a 'PRUEM-REPORT boot' "$S" | tr -d '\r' | tail -1)"; fi
  stop_qemu
  if [[ ${exported:-} == *'"ok":true'* ]]; then
    # Read back here from the drive, without the appliance: the bundle is in pruem-export/ (an ext4
    # drive's root is root's: the helper made that folder for the daemon) and verifies offline.
    folder=$(debugfs -R 'ls /pruem-export' "$STICK" 2>/dev/null | grep -oE 'pruem-audit-[0-9A-Za-z-]+' | head -1)
    rm -rf "$T/readback"; mkdir -p "$T/readback"
    debugfs -R "rdump /pruem-export/$folder $T/readback" "$STICK" >/dev/null 2>&1 || true
    if [[ -n $folder ]] && out=$(node dist/appliance/audit/verify-audit.mjs "$T/readback/$folder" 2>&1); then
      ok "the drive holds $folder, read back here and verified offline: $(grep -m1 -iE 'valid|entries' <<<"$out")"
    else bad "the export on the drive did not verify here (${folder:-no folder}): ${out:-}"; fi
  fi
else bad "pruem provision --development for the export boot failed: $(tail -3 "$T/provision.log")"; fi
log "done: $fails failure(s)"
(( fails == 0 ))
