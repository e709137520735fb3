#!/usr/bin/env bash
# Runs every test: unit tests, then integration tests against a real API server (built once by
# build.sh, cached) and, as root, real nftables in network namespaces and a real container runtime
# (runtime/build.sh, cached). Installs the Debian packages the tests drive when they are missing
# and this user may install them.
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(nftables conntrack iproute2 socat mmdebstrap jq curl miniupnpd-nftables vsftpd python3-socks openssh-client lua5.1 openssl runc containernetworking-plugins)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
bin="$(bash test-cluster/build.sh)"
# The runtime's test image is built with mmdebstrap, which needs root; so do the tests that use it.
runtime=
conformance=false
if [ "$(id -u)" = 0 ]; then
  runtime="$(bash test-cluster/runtime/build.sh)"
  # The Gateway API conformance suite (GatewayConformanceSuiteIT, on the real nodes) and its images
  # build in the background, niced, while Maven compiles and runs the unit tests; the IT runs the
  # same scripts, which wait for this build and then answer from their caches.
  if [[ " $* " != *" -Dtestbed.conformance=false "* ]]; then
    conformance=true
    mkdir -p target
    nice -n 19 bash -c 'bash test-cluster/gateway-conformance/build.sh && bash test-cluster/gateway-conformance/images.sh' \
      > target/gateway-conformance-build.log 2>&1 &
  fi
fi
exec mvn -B verify -Dtestbed.bin="$bin" -Dtestbed.runtime="$runtime" -Dtestbed.conformance="$conformance" "$@"
