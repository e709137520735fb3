#!/usr/bin/env bash
# Runs the upstream Gateway API conformance suite (sigs.k8s.io/gateway-api/conformance v1.6.3,
# profiles GATEWAY-TCP and GATEWAY-UDP) against a real-node cluster on this machine: control plane
# and nodes from upstream parts (build.sh, runtime/build.sh), the suite's images built here and
# imported into every node (gateway-conformance/images.sh), the Gateway API CRDs, the chart
# (operator and agents, with the Gateway API controller on) and GatewayClass "portforward"
# (controllerName portforward.dev/gateway-controller). Skips the tests listed, with why, in
# gateway-conformance/skipped-tests. Writes the suite's ConformanceReport to
# docs/conformance/standard-<project version>-default-report.yaml and exits with the suite's exit
# code. Every build is cached by the hash of what pins it. Needs root. docs/conformance/README.md
# says what a run needs and costs. test-cluster/test.sh runs the same suite on the real-node
# cluster of its integration tests (GatewayConformanceSuiteIT).
#
#   test-cluster/gateway-conformance.sh [--check] [suite flags...]
#
# --check: checks the test bed without a Gateway controller: the chart's Gateway API controller
#   stays off, the runner marks the GatewayClass Accepted itself, the suite's timeouts are short,
#   and the report goes to
#   target/gateway-conformance/check-report.yaml. The suite then deploys its infrastructure (echo
#   backends, coredns) on the nodes and waits for its Gateways, which nothing programs.
# Suite flags (for example -run-test=UDPRoute, -debug) go to the suite as given; the tests of a
# -skip-tests=... are skipped besides those of skipped-tests.
# Environment:
#   GATEWAY_CONFORMANCE_FEATURES  -supported-features (default: the profiles' core features)
#   GATEWAY_CONFORMANCE_TIMEOUTS  -timeout-config-overrides, e.g. "GatewayMustHaveAddress:60"
#   GATEWAY_CONFORMANCE_REPORT    where the report goes
#   GATEWAY_CONFORMANCE_HELM_SET  more helm --set values for the chart, separated by spaces, after
#                                 gatewayApi.enabled=true (not set with --check)
#   GATEWAY_CONFORMANCE_NODES     how many nodes (2)
set -euo pipefail
started_ms=$(( $(date +%s%N) / 1000000 ))
cd "$(dirname "$0")/.."
check=false
if [ "${1:-}" = "--check" ]; then check=true; shift; fi
[ "$(id -u)" = 0 ] || { echo "gateway-conformance.sh: real nodes need root" >&2; exit 1; }

timed() { local label="$1" start=$SECONDS out; shift; out="$("$@")"; echo "gateway-conformance: $label ready in $((SECONDS - start))s" >&2; echo "$out"; }
bin="$(timed "control plane binaries" bash test-cluster/build.sh)"
runtime="$(timed "containerd and node images" bash test-cluster/runtime/build.sh)"
suite="$(timed "conformance suite" bash test-cluster/gateway-conformance/build.sh)"
images="$(timed "conformance images" bash test-cluster/gateway-conformance/images.sh)"
start=$SECONDS
mvn -B -q test-compile
cpfile=target/gateway-conformance.classpath
if [ ! -s "$cpfile" ] || [ pom.xml -nt "$cpfile" ]; then bash test-cluster/test-classpath.sh > "$cpfile"; fi
echo "gateway-conformance: test classes compiled in $((SECONDS - start))s" >&2

features="${GATEWAY_CONFORMANCE_FEATURES:-}"
stand_in=false
if $check; then
  stand_in=true
  report="${GATEWAY_CONFORMANCE_REPORT:-target/gateway-conformance/check-report.yaml}"
  # Long enough for the infrastructure pods to start on a loaded machine, short for the rest.
  timeouts="${GATEWAY_CONFORMANCE_TIMEOUTS:-NamespacesMustBeReady:150;GatewayMustHaveAddress:20;GatewayMustHaveCondition:20;TCPRouteMustHaveCondition:20;UDPRouteMustHaveCondition:20;RouteMustHaveParents:20;DefaultTestTimeout:20;MaxTimeToConsistency:10}"
  # The stand-in accepts the class: the operator's own Gateway API controller stays off.
  helm_set="${GATEWAY_CONFORMANCE_HELM_SET:-}"
else
  version="$(sed -n 's|^  <version>\(.*\)</version>|\1|p' pom.xml | head -1)"
  report="${GATEWAY_CONFORMANCE_REPORT:-docs/conformance/standard-$version-default-report.yaml}"
  timeouts="${GATEWAY_CONFORMANCE_TIMEOUTS:-}"
  helm_set="gatewayApi.enabled=true ${GATEWAY_CONFORMANCE_HELM_SET:-}"
fi
report="$(realpath -m "$report")"
mkdir -p "$(dirname "$report")"
exec java -Dtestbed.bin="$bin" -Dtestbed.runtime="$runtime" \
  -Dconformance.started="$started_ms" -Dconformance.suite="$suite" -Dconformance.images="$images" \
  -Dconformance.report="$report" -Dconformance.features="$features" -Dconformance.timeouts="$timeouts" \
  -Dconformance.nodes="${GATEWAY_CONFORMANCE_NODES:-2}" -Dconformance.helm-set="$helm_set" \
  -Dconformance.stand-in-gatewayclass="$stand_in" \
  -cp "$(cat "$cpfile")" dev.portforward.testbed.GatewayConformance "$@"
