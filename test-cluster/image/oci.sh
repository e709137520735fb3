# Writes OCI image tarballs without a daemon or a registry; sourced by the image builds
# (image/build.sh, runtime/*-image.sh). Needs jq, sha256sum and gzip.

# oci_layer LAYER_TAR: compresses LAYER_TAR into LAYER_TAR.gz (no name or time in the gzip header,
# so equal trees give equal digests) and prints its diff_id, the digest of the uncompressed tar
# that the image config lists under rootfs.diff_ids.
oci_layer() {
  echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"
  gzip -n -f "$1"
}

# oci_archive OUT_TAR NAME CONFIG LAYER_GZ...: writes OUT_TAR, an OCI image layout tarball holding
# one image made of the config file CONFIG and the gzipped layers LAYER_GZ (in order; the files are
# moved into the layout's content-addressed blobs). NAME is a tag only ("ci": the importer adds the
# repository) or a full reference (portforward.dev/test/pause:1: `ctr images import` takes it as is).
oci_archive() {
  local out="$1" name="$2" config="$3" dir config_desc layers manifest_desc annotations
  shift 3
  dir="$(mktemp -d)"
  mkdir -p "$dir/blobs/sha256"
  config_desc="$(_oci_blob "$dir" "$config" application/vnd.oci.image.config.v1+json)"
  layers="$(for l in "$@"; do _oci_blob "$dir" "$l" application/vnd.oci.image.layer.v1.tar+gzip; done | jq -sc .)"
  jq -nc --argjson c "$config_desc" --argjson l "$layers" \
    '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: $c, layers: $l}' \
    > "$dir/manifest.json"
  manifest_desc="$(_oci_blob "$dir" "$dir/manifest.json" application/vnd.oci.image.manifest.v1+json)"
  case "$name" in
    */*) annotations="$(jq -nc --arg n "$name" '{"io.containerd.image.name": $n, "org.opencontainers.image.ref.name": ($n | split(":") | last)}')" ;;
    *) annotations="$(jq -nc --arg n "$name" '{"org.opencontainers.image.ref.name": $n}')" ;;
  esac
  jq -nc --argjson m "$manifest_desc" --argjson a "$annotations" \
    '{schemaVersion: 2, manifests: [$m + {annotations: $a}]}' > "$dir/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' > "$dir/oci-layout"
  tar -C "$dir" -cf "$out" oci-layout index.json blobs
  rm -rf "$dir"
}

# _oci_blob DIR FILE MEDIA_TYPE: moves FILE into DIR's blobs and prints its descriptor.
_oci_blob() {
  local digest size
  digest="$(sha256sum "$2" | cut -d' ' -f1)"
  size="$(stat -c %s "$2")"
  mv "$2" "$1/blobs/sha256/$digest"
  jq -nc --arg m "$3" --arg d "sha256:$digest" --argjson s "$size" '{mediaType: $m, digest: $d, size: $s}'
}
