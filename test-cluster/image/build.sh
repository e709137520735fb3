#!/usr/bin/env bash
# Builds the application image the way users do (Quarkus' Jib extension), on the Debian base
# from build-base.sh, without a daemon or a registry, and writes it as an OCI image tarball,
# target/image/portforward-operator.tar, whose path it prints. Needs root (build-base.sh) and jq.
# Quarkus builds into target/image/app, so target/quarkus-app (which other tests run) is untouched.
set -euo pipefail
cd "$(dirname "$0")/../.."
source test-cluster/image/oci.sh
base="$(bash test-cluster/image/build-base.sh)"
out="$PWD/target/image"
rm -rf "$out/docker" "$out/portforward-operator.tar"
mkdir -p "$out/docker"

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
mapfile -t layers < <(jq -r '.[0].Layers[]' "$out/docker/manifest.json")
oci_archive "$out/portforward-operator.tar" ci "$out/docker/$(jq -r '.[0].Config' "$out/docker/manifest.json")" \
  "${layers[@]/#/$out/docker/}"
rm -rf "$out/docker" "$out/docker.tar"
echo "$out/portforward-operator.tar"
