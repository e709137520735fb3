#!/usr/bin/env bash
# Builds the application image the way users do (Quarkus' Jib extension), on the Debian base
# from build-base.sh, without a daemon or a registry: the image is written as a docker-archive
# tarball, target/image/portforward-operator.tar, whose path is printed. Needs root (build-base.sh)
# and a packaged jar's sources; the build goes to target/image/app, so target/quarkus-app is untouched.
set -euo pipefail
cd "$(dirname "$0")/../.."
base="$(bash test-cluster/image/build-base.sh)"
out="$PWD/target/image"
mkdir -p "$out"
export IMAGE_TAR="$out/portforward-operator.tar"
rm -f "$IMAGE_TAR"
mvn -B -q package -Dmaven.test.skip=true \
  -Dquarkus.package.output-directory=image/app \
  -Dquarkus.container-image.build=true \
  -Dquarkus.container-image.image=portforward-operator:ci \
  -Dquarkus.jib.base-jvm-image="tar://$base" \
  -Dquarkus.jib.docker-executable-name="$PWD/test-cluster/image/docker.sh" >&2
test -s "$IMAGE_TAR"
echo "$IMAGE_TAR"
