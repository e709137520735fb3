#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager, kubectl and etcd (pinned in go.mod/go.sum) and
# helm (pinned in helm/go.mod and helm/go.sum) from their Go modules, into a cache directory keyed
# by the hash of those files, and prints that directory. Only the first run for a given set of
# pins pays for the build.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
key="$(cat "$here/go.mod" "$here/go.sum" "$here/helm/go.mod" "$here/helm/go.sum" | sha256sum | cut -c1-16)"
cache="${PORTFORWARD_TESTBED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/portforward-operator/test-cluster}"
bin="$cache/$key/bin"
tools=(kube-apiserver kube-controller-manager kubectl etcd helm)

complete=true
for t in "${tools[@]}"; do [ -x "$bin/$t" ] || complete=false; done
if ! $complete; then
  mkdir -p "$bin.partial"
  cd "$here"
  echo "test-cluster: building ${tools[*]} into $bin (first run only, takes a while)" >&2
  start=$(date +%s)
  # -trimpath and no debug info keep the binaries small; CGO off gives static binaries.
  CGO_ENABLED=0 go build -mod=readonly -trimpath -ldflags='-s -w' -o "$bin.partial/" \
    k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kubectl
  CGO_ENABLED=0 go build -mod=readonly -trimpath -ldflags='-s -w' -o "$bin.partial/etcd" go.etcd.io/etcd/server/v3
  (cd helm && CGO_ENABLED=0 go build -mod=readonly -trimpath -ldflags='-s -w' -o "$bin.partial/helm" helm.sh/helm/v3/cmd/helm)
  rm -rf "$bin" && mv "$bin.partial" "$bin"
  echo "test-cluster: built in $(( $(date +%s) - start ))s" >&2
fi
echo "$bin"
