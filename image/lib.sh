# Shared by build.sh, bundle.sh and the boot test. Sourced, not run.

# The Debian mirror this machine is configured with (deb822 sources first, then sources.list).
debian_mirror() {
  local u
  u=$(awk '/^URIs:/{uri=$2} /^Suites:/{ if ($0 ~ /(^|[ ])bookworm([ ]|$)/ && uri) { print uri; exit } }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [[ -n "$u" ]] || u=$(awk '$1=="deb" && $0 ~ / bookworm / {for (i=2;i<=NF;i++) if ($i ~ /^https?:/) {print $i; exit}}' /etc/apt/sources.list 2>/dev/null || true)
  [[ -n "$u" ]] || { echo "no bookworm mirror in /etc/apt/sources.list*" >&2; return 1; }
  echo "$u"
}

# make_root_image ROOTFS_DIR OUT_IMG: ext4 (no journal: it is never written) + dm-verity hash tree
# appended at the end of the data. Prints "ROOTHASH HASHOFFSET". Reproducible inputs: fixed UUID, hash seed,
# salt and time stamps (SOURCE_DATE_EPOCH).
make_root_image() {
  local dir=$1 img=$2 used size uuid salt out
  used=$(du -sb --apparent-size "$dir" | cut -f1)
  # 20 % + 64 MiB for ext4 metadata, rounded to 4 MiB.
  size=$(( ( (used * 12 / 10 + 64 * 1024 * 1024) / 4194304 + 1) * 4194304 ))
  uuid=${IMAGE_ROOT_UUID:-5d2b7c1e-0f3a-4c8e-9b7d-3e1f2a4b6c8d}
  salt=$(printf '%s' "pruem-root-$uuid" | sha256sum | cut -d' ' -f1)
  rm -f "$img"
  E2FSPROGS_FAKE_TIME=${SOURCE_DATE_EPOCH:-0} mkfs.ext4 -q -F -d "$dir" -L pruem-root -U "$uuid" -O ^has_journal -m 0 -b 4096 \
    -E "hash_seed=$uuid,lazy_itable_init=0,lazy_journal_init=0" -T default "$img" "$((size / 1024))k" >&2
  out=$(veritysetup format --hash-offset="$size" --data-blocks="$((size / 4096))" --salt="$salt" \
        --uuid="$uuid" "$img" "$img")
  echo "$(awk '/^Root hash:/{print $3}' <<<"$out") $size"
}

# make_bundle ROOT_IMG ROOTHASH HASHOFFSET VMLINUZ INITRD VERSION SIGNING_KEY OUTDIR
make_bundle() {
  local img=$1 hash=$2 off=$3 kern=$4 initrd=$5 version=$6 key=$7 out=$8
  rm -rf "$out"; mkdir -p "$out"
  cp --sparse=always "$img" "$out/root.img"
  cp "$kern" "$out/vmlinuz"; cp "$initrd" "$out/initrd.img"
  cat > "$out/manifest.json" <<JSON
{
  "format": "pruem-update-1",
  "version": "$version",
  "created": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "roothash": "$hash",
  "hashOffset": $off,
  "rootImageBytes": $(stat -c %s "$out/root.img"),
  "files": {
    "vmlinuz": "$(sha256sum "$out/vmlinuz" | cut -d' ' -f1)",
    "initrd.img": "$(sha256sum "$out/initrd.img" | cut -d' ' -f1)"
  }
}
JSON
  openssl dgst -sha256 -sign "$key" -out "$out/manifest.json.sig" "$out/manifest.json"
}

# The update drive the appliance looks for at boot: ext4 labelled PRUEM-UPDATE holding a bundle.
make_update_drive() {
  local bundle=$1 img=$2 used
  used=$(du -sb --apparent-size "$bundle" | cut -f1)
  rm -f "$img"
  mkfs.ext4 -q -F -d "$bundle" -L PRUEM-UPDATE -m 0 "$img" "$(( (used * 11 / 10 + 32 * 1024 * 1024) / 1024 ))k" >&2
}
