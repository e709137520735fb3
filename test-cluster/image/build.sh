#!/usr/bin/env bash
# Builds the application image the way users do (Quarkus' Jib extension), on the Debian base
# from build-base.sh, without a daemon or a registry, and writes it as an OCI image tarball,
# target/image/portforward-operator.tar, whose path it prints. Needs root (build-base.sh) and jq.
# Quarkus builds into target/image/app, so target/quarkus-app (which other tests run) is untouched.
set -euo pipefail
cd "$(dirname "$0")/../.."
base="$(bash test-cluster/image/build-base.sh)"
out="$PWD/target/image"
rm -rf "$out/docker" "$out/oci" "$out/portforward-operator.tar"
mkdir -p "$out/docker" "$out/oci/blobs/sha256"

# Without a registry, Quarkus' only target is `docker load`, which docker.sh turns into a file.
export IMAGE_TAR="$out/docker.tar"
mvn -B -q package -Dmaven.test.skip=true \
  -Dquarkus.package.output-directory=image/app \
  -Dquarkus.container-image.build=true \
  -Dquarkus.container-image.image=portforward-operator:ci \
  -Dquarkus.jib.base-jvm-image="tar://$base" \
  -Dquarkus.jib.docker-executable-name="$PWD/test-cluster/image/docker.sh" >&2

# docker-archive -> OCI layout: the same config and gzipped layers, as content-addressed blobs.
tar -C "$out/docker" -xf "$IMAGE_TAR"
blob() {  # blob FILE MEDIA_TYPE: moves FILE into the blobs and prints its descriptor
  local digest size
  digest="$(sha256sum "$1" | cut -d' ' -f1)"
  size="$(stat -c %s "$1")"
  mv "$1" "$out/oci/blobs/sha256/$digest"
  jq -nc --arg m "$2" --arg d "sha256:$digest" --argjson s "$size" '{mediaType: $m, digest: $d, size: $s}'
}
config="$(blob "$out/docker/$(jq -r '.[0].Config' "$out/docker/manifest.json")" application/vnd.oci.image.config.v1+json)"
layers="$(for l in $(jq -r '.[0].Layers[]' "$out/docker/manifest.json"); do
  blob "$out/docker/$l" application/vnd.oci.image.layer.v1.tar+gzip; done | jq -sc .)"
jq -nc --argjson c "$config" --argjson l "$layers" \
  '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: $c, layers: $l}' \
  > "$out/manifest.json"
manifest="$(blob "$out/manifest.json" application/vnd.oci.image.manifest.v1+json)"
jq -nc --argjson m "$manifest" \
  '{schemaVersion: 2, manifests: [$m + {annotations: {"org.opencontainers.image.ref.name": "ci"}}]}' \
  > "$out/oci/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' > "$out/oci/oci-layout"
tar -C "$out/oci" -cf "$out/portforward-operator.tar" oci-layout index.json blobs
rm -rf "$out/docker" "$out/oci" "$out/docker.tar"
echo "$out/portforward-operator.tar"
