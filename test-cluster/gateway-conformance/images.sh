#!/usr/bin/env bash
# Builds the images the Gateway API conformance suite deploys, under the names its manifests use
# (base/manifests.yaml and tests/*.yaml of sigs.k8s.io/gateway-api/conformance, pinned in go.mod
# here), as OCI tarballs that `ctr images import` reads, and prints the path of a list of them:
# one "<image name> <tarball>" line each.
#   registry.k8s.io/gateway-api/echo-basic:v1.5.1        echo-basic of the conformance module v1.5.1
#   registry.k8s.io/gateway-api/echo-basic:v1.6.0-dev.2  echo-basic of the conformance module this
#   registry.k8s.io/gateway-api/echo-basic:v1.6.0-dev.3  suite is (v1.6.3): the proxy serves no
#                                                         dev tags, and v1.6.3 is their successor
#   registry.k8s.io/coredns/coredns:v1.12.2              CoreDNS v1.12.2 (coredns/), the plugins
#                                                         its Corefile names
# echo-basic is built as upstream's docker/Dockerfile.echo-basic does (its own .go.mod and .go.sum,
# CGO off, -trimpath, -ldflags "-buildid= -s -w") and, like upstream's images, runs as 65532
# (distroless "nonroot"); containerd 2 opens ports below 1024 to unprivileged users in pods, so
# CoreDNS binds 53 as that user too. Fails, naming them, if the suite's manifests name an image this
# script does not build. Each image is cached under
# ~/.cache/portforward-operator/conformance-images/<image>/<hash of what pins it>/.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../image/oci.sh"
cache="${PORTFORWARD_CONFORMANCE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/portforward-operator/conformance-images}"
mkdir -p "$cache"
# One build at a time: runs that start together wait for the first instead of racing it.
exec 9>"$cache/.lock"
flock 9

echo_basic=registry.k8s.io/gateway-api/echo-basic
coredns=registry.k8s.io/coredns/coredns
echo_basic_old=v1.5.1
suite_dir="$(cd "$here" && go list -m -f '{{.Dir}}' sigs.k8s.io/gateway-api/conformance)"
suite_version="$(cd "$here" && go list -m -f '{{.Version}}' sigs.k8s.io/gateway-api/conformance)"

# The images the suite's manifests name, and the check that this script builds each of them.
named="$(grep -rhoE 'image: *[^ ]+' "$suite_dir/base" "$suite_dir/tests" | sed 's/image: *//' | sort -u)"
built="$(printf '%s\n' "$echo_basic:$echo_basic_old" "$echo_basic:v1.6.0-dev.2" "$echo_basic:v1.6.0-dev.3" \
  "$coredns:v1.12.2" | sort -u)"
unbuilt="$(comm -23 <(echo "$named") <(echo "$built"))"
if [ -n "$unbuilt" ]; then
  echo "gateway-conformance/images.sh: the suite $suite_version names images this script does not build:" >&2
  echo "$unbuilt" >&2
  exit 1
fi

# static_image OUT_DIR BINARY NAME... : one layer holding BINARY at /<its name>, /tmp and a
# passwd/group naming 65532 (as distroless's nonroot image does), run as 65532; one tarball per
# NAME in OUT_DIR (<n>.tar for the n-th name).
static_image() {
  local out="$1" binary="$2" work entry diff_id i=0
  shift 2
  work="$(mktemp -d)"
  entry="$(basename "$binary")"
  mkdir -p "$work/root/etc" "$work/root/tmp"
  chmod 1777 "$work/root/tmp"
  cp "$binary" "$work/root/$entry"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' \
    > "$work/root/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' > "$work/root/etc/group"
  # Fixed owner and time: the same binary gives the same layer digest.
  tar -C "$work/root" --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$work/layer.tar" "$entry" etc tmp
  diff_id="$(oci_layer "$work/layer.tar")"
  jq -nc --arg arch "$(go env GOARCH)" --arg d "$diff_id" --arg e "/$entry" \
    '{architecture: $arch, os: "linux",
      config: {Entrypoint: [$e], User: "65532:65532", WorkingDir: "/"},
      rootfs: {type: "layers", diff_ids: [$d]}}' > "$work/config.json"
  for name in "$@"; do
    i=$((i + 1))
    cp "$work/config.json" "$work/config-$i.json"
    cp "$work/layer.tar.gz" "$work/layer-$i.tar.gz"
    oci_archive "$out/$i.tar" "$name" "$work/config-$i.json" "$work/layer-$i.tar.gz"
  done
  rm -rf "$work"
}

# echo_basic_image MODULE_DIR VERSION NAME...: echo-basic from the conformance module in MODULE_DIR
# (at VERSION), cached by this script, oci.sh and VERSION; prints its directory.
echo_basic_image() {
  local src="$1" version="$2" key dir work
  shift 2
  key="$(cat "$0" "$here/../image/oci.sh" <(echo "$version" "$@") | sha256sum | cut -c1-16)"
  dir="$cache/echo-basic-$version/$key"
  if [ ! -f "$dir/done" ]; then
    echo "gateway-conformance: building echo-basic $version (first run only)" >&2
    local start=$SECONDS
    work="$(mktemp -d)"
    cp -r "$src/echo-basic" "$work/src"
    chmod -R u+w "$work/src"
    mv "$work/src/.go.mod" "$work/src/go.mod"
    mv "$work/src/.go.sum" "$work/src/go.sum"
    (cd "$work/src" && CGO_ENABLED=0 go build -mod=readonly -trimpath -ldflags="-buildid= -s -w" \
      -o "$work/echo-basic" .)
    rm -rf "$dir" && mkdir -p "$dir"
    static_image "$dir" "$work/echo-basic" "$@"
    rm -rf "$work"
    touch "$dir/done"
    echo "gateway-conformance: echo-basic $version built in $((SECONDS - start))s" >&2
  fi
  echo "$dir"
}

list="$(mktemp)"
trap 'rm -f "$list"' EXIT

old_src="$(cd "$cache" && GO111MODULE=on go mod download -json "sigs.k8s.io/gateway-api/conformance@$echo_basic_old" | jq -r .Dir)"
dir="$(echo_basic_image "$old_src" "$echo_basic_old" "$echo_basic:$echo_basic_old")"
echo "$echo_basic:$echo_basic_old $dir/1.tar" >> "$list"
dir="$(echo_basic_image "$suite_dir" "$suite_version" "$echo_basic:v1.6.0-dev.2" "$echo_basic:v1.6.0-dev.3")"
echo "$echo_basic:v1.6.0-dev.2 $dir/1.tar" >> "$list"
echo "$echo_basic:v1.6.0-dev.3 $dir/2.tar" >> "$list"

key="$(cat "$0" "$here/../image/oci.sh" "$here/coredns/go.mod" "$here/coredns/go.sum" "$here/coredns/main.go" \
  | sha256sum | cut -c1-16)"
dir="$cache/coredns/$key"
if [ ! -f "$dir/done" ]; then
  echo "gateway-conformance: building coredns (first run only)" >&2
  start=$SECONDS
  work="$(mktemp -d)"
  (cd "$here/coredns" && CGO_ENABLED=0 go build -mod=readonly -trimpath -ldflags="-s -w" -o "$work/coredns" .)
  rm -rf "$dir" && mkdir -p "$dir"
  static_image "$dir" "$work/coredns" "$coredns:v1.12.2"
  rm -rf "$work"
  touch "$dir/done"
  echo "gateway-conformance: coredns built in $((SECONDS - start))s" >&2
fi
echo "$coredns:v1.12.2 $dir/1.tar" >> "$list"

out="$cache/lists/$(sha256sum "$list" | cut -c1-16).list"
mkdir -p "$cache/lists"
cp "$list" "$out"
echo "$out"
