#!/usr/bin/env bash
# Builds what a test-bed node runs below its kubelet and prints the directory that holds it:
#   bin/containerd, bin/ctr, bin/containerd-shim-runc-v2   containerd (pinned in go.mod/go.sum)
#   images/pause.tar     the sandbox image (pause-image.sh), an OCI tarball for `ctr images import`
#   images/testapp.tar   the test image (testapp-image.sh): nginx, socat, curl, sshd, vsftpd, ...
#   runtime.properties   image names and tarball paths (relative to the directory), for example
#                        pause.image=portforward.dev/test/pause:1 and pause.tar=images/pause.tar
# runc and the CNI plugins come from Debian (runc, containernetworking-plugins: /usr/sbin/runc,
# /usr/lib/cni). Each part is cached under ~/.cache/portforward-operator/runtime/ by the hash of
# what pins it (containerd: go.mod and go.sum; an image: its build script and inputs), so only the
# first run for a given set of pins pays. The printed directory links to those parts. Needs root
# (the test image is built with mmdebstrap), jq and Go.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${PORTFORWARD_RUNTIME_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/portforward-operator/runtime}"
export PORTFORWARD_RUNTIME_CACHE="$cache"
# One build at a time: test runs that start together wait for the first instead of racing it.
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9

key="$(cat "$here/go.mod" "$here/go.sum" | sha256sum | cut -c1-16)"
bin="$cache/containerd/$key/bin"
tools=(containerd ctr containerd-shim-runc-v2)
complete=true
for t in "${tools[@]}"; do [ -x "$bin/$t" ] || complete=false; done
if ! $complete; then
  rm -rf "$bin.partial" && mkdir -p "$bin.partial"
  echo "runtime: building ${tools[*]} into $bin (first run only, takes a while)" >&2
  start=$(date +%s)
  version="$(cd "$here" && go list -m -f '{{.Version}}' github.com/containerd/containerd/v2)"
  pkg=github.com/containerd/containerd/v2
  # CGO off gives static binaries; the tags drop the snapshotters that need C libraries, as
  # containerd's own static release does.
  (cd "$here" && CGO_ENABLED=0 go build -mod=readonly -trimpath -tags no_btrfs,no_devmapper,no_zfs \
    -ldflags="-s -w -X $pkg/version.Version=$version -X $pkg/version.Package=$pkg" -o "$bin.partial/" \
    "$pkg/cmd/containerd" "$pkg/cmd/ctr" "$pkg/cmd/containerd-shim-runc-v2")
  rm -rf "$bin" && mv "$bin.partial" "$bin"
  echo "runtime: containerd built in $(( $(date +%s) - start ))s" >&2
fi

pause="$(bash "$here/pause-image.sh")"
testapp="$(bash "$here/testapp-image.sh")"

layout="$cache/layout/$(printf '%s\n' "$bin" "$pause" "$testapp" | sha256sum | cut -c1-16)"
if [ ! -f "$layout/runtime.properties" ]; then
  rm -rf "$layout.partial" && mkdir -p "$layout.partial/images"
  ln -s "$bin" "$layout.partial/bin"
  ln -s "$pause" "$layout.partial/images/pause.tar"
  ln -s "$testapp" "$layout.partial/images/testapp.tar"
  cat > "$layout.partial/runtime.properties" <<PROPERTIES
pause.image=$(cat "$pause.name")
pause.tar=images/pause.tar
testapp.image=$(cat "$testapp.name")
testapp.tar=images/testapp.tar
PROPERTIES
  rm -rf "$layout" && mv "$layout.partial" "$layout"
fi
echo "$layout"
