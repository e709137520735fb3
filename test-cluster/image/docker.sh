#!/bin/sh
# Stands in for the docker CLI so that Quarkus' Jib build writes an image tarball without a
# daemon (quarkus.jib.docker-executable-name): `docker load` saves the image to $IMAGE_TAR.
case "$1" in
  info) echo "{\"OSType\":\"linux\",\"Architecture\":\"$(uname -m)\"}" ;;
  load) cat > "$IMAGE_TAR" && echo "Loaded image to $IMAGE_TAR" ;;
  *) echo "test-cluster/image/docker.sh: unsupported: docker $*" >&2; exit 1 ;;
esac
