#!/usr/bin/env bash
# Builds the upstream Gateway API conformance suite (sigs.k8s.io/gateway-api/conformance, pinned in
# go.mod and go.sum here) as a test binary, static and stripped, and prints its path. Cached under
# ~/.cache/portforward-operator/gateway-conformance/<hash of go.mod, go.sum and the test file>/, so
# only the first run for a given set of pins pays for the build.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
key="$(cat "$0" "$here/go.mod" "$here/go.sum" "$here/conformance_test.go" | sha256sum | cut -c1-16)"
cache="${PORTFORWARD_CONFORMANCE_SUITE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/portforward-operator/gateway-conformance}"
out="$cache/$key/gateway-conformance.test"
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ ! -x "$out" ]; then
  echo "gateway-conformance: building the suite into $out (first run only, takes a while)" >&2
  start=$SECONDS
  mkdir -p "$cache/$key"
  (cd "$here" && CGO_ENABLED=0 go test -c -mod=readonly -trimpath -ldflags='-s -w' -o "$out.partial" .)
  mv "$out.partial" "$out"
  echo "gateway-conformance: suite built in $((SECONDS - start))s" >&2
fi
echo "$out"
