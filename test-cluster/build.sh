#!/usr/bin/env bash
# Builds the Kubernetes control plane (kube-apiserver, kube-controller-manager, kube-scheduler,
# kubectl), the node components (kubelet, kube-proxy) and etcd, all pinned in go.mod/go.sum, and
# helm (pinned in helm/go.mod and helm/go.sum) from their Go modules, into a cache directory keyed
# by the hash of those files, and prints that directory. Only the first run for a given set of
# pins pays for the build; a tool missing from a cached directory is built alone.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
key="$(cat "$here/go.mod" "$here/go.sum" "$here/helm/go.mod" "$here/helm/go.sum" | sha256sum | cut -c1-16)"
cache="${PORTFORWARD_TESTBED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/portforward-operator/test-cluster}"
bin="$cache/$key/bin"
kube_tools=(kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy)

# One build at a time per set of pins: a second caller waits, then finds the tools built.
mkdir -p "$cache"
exec 9>"$cache/$key.lock"
flock 9

missing=()
for t in "${kube_tools[@]}" etcd helm; do [ -x "$bin/$t" ] || missing+=("$t"); done
if [ "${#missing[@]}" -gt 0 ]; then
  mkdir -p "$bin.partial"
  cd "$here"
  echo "test-cluster: building ${missing[*]} into $bin (first run only, takes a while)" >&2
  start=$(date +%s)
  # The binaries report the module's version (not v0.0.0-master): kubelets and the API server
  # compare versions. -trimpath and no debug info keep them small; CGO off makes them static.
  version="$(go list -m -f '{{.Version}}' k8s.io/kubernetes)"
  ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$version"
  packages=()
  for t in "${missing[@]}"; do
    case "$t" in kube-*|kubectl|kubelet) packages+=("k8s.io/kubernetes/cmd/$t") ;; esac
  done
  if [ "${#packages[@]}" -gt 0 ]; then
    CGO_ENABLED=0 go build -mod=readonly -trimpath -ldflags="$ldflags" -o "$bin.partial/" "${packages[@]}"
  fi
  if [[ " ${missing[*]} " == *" etcd "* ]]; then
    CGO_ENABLED=0 go build -mod=readonly -trimpath -ldflags='-s -w' -o "$bin.partial/etcd" go.etcd.io/etcd/server/v3
  fi
  if [[ " ${missing[*]} " == *" helm "* ]]; then
    (cd helm && CGO_ENABLED=0 go build -mod=readonly -trimpath -ldflags='-s -w' -o "$bin.partial/helm" helm.sh/helm/v3/cmd/helm)
  fi
  mkdir -p "$bin"
  for t in "${missing[@]}"; do mv "$bin.partial/$t" "$bin/$t"; done
  rm -rf "$bin.partial"
  echo "test-cluster: built in $(( $(date +%s) - start ))s" >&2
fi
echo "$bin"
