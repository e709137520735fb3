#!/usr/bin/env bash
# Builds the sandbox ("pause") image, portforward.dev/test/pause:1: one layer holding the static
# pause program (pause/), run as 65535 like Kubernetes' own. Writes it as an OCI image tarball
# that `ctr images import` reads, with its name beside it in pause.tar.name, and prints its path.
# Cached under ~/.cache/portforward-operator/runtime/pause/<hash of this script and its inputs>/.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../image/oci.sh"
name=portforward.dev/test/pause:1

key="$(cat "$0" "$here/../image/oci.sh" "$here/go.mod" "$here/go.sum" "$here"/pause/*.go | sha256sum | cut -c1-16)"
dir="${PORTFORWARD_RUNTIME_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/portforward-operator/runtime}/pause/$key"
if [ -f "$dir/pause.tar" ]; then echo "$dir/pause.tar"; exit 0; fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir "$work/root"
(cd "$here" && CGO_ENABLED=0 go build -mod=readonly -trimpath -ldflags='-s -w' -o "$work/root/pause" ./pause)
# Fixed owner and time: the same program gives the same layer digest.
tar -C "$work/root" --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$work/layer.tar" pause
diff_id="$(oci_layer "$work/layer.tar")"
jq -nc --arg arch "$(go env GOARCH)" --arg d "$diff_id" \
  '{architecture: $arch, os: "linux", config: {Entrypoint: ["/pause"], User: "65535:65535"},
    rootfs: {type: "layers", diff_ids: [$d]}}' > "$work/config.json"
mkdir -p "$dir"
oci_archive "$dir/pause.tar.tmp" "$name" "$work/config.json" "$work/layer.tar.gz"
echo "$name" > "$dir/pause.tar.name"
mv "$dir/pause.tar.tmp" "$dir/pause.tar"
echo "$dir/pause.tar"
