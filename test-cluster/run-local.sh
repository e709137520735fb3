#!/usr/bin/env bash
# The main job on this machine: a real cluster from upstream parts (control plane, kubelet,
# containerd, kube-proxy; built once by build.sh and runtime/build.sh, cached), one node in its own
# network namespace (--two-nodes: two), the chart installed with helm, a demo backend and the
# quickstart PortForward. Prints a curl line that goes through the forward, and the kubeconfig.
# Stays up until Ctrl-C, then removes everything it started. Needs root.
set -euo pipefail
started_ms=$(( $(date +%s%N) / 1000000 ))
nodes=1
case "${1:-}" in
  "") ;;
  --two-nodes) nodes=2 ;;
  *) echo "usage: $0 [--two-nodes]" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."
bin="$(bash test-cluster/build.sh)"
runtime="$(bash test-cluster/runtime/build.sh)"
mvn -B -q test-compile
# The dependency classpath changes only with pom.xml: computed once.
cpfile=target/run-local.classpath
if [ ! -s "$cpfile" ] || [ pom.xml -nt "$cpfile" ]; then bash test-cluster/test-classpath.sh > "$cpfile"; fi
classpath="$(cat "$cpfile")"
exec java -Dtestbed.bin="$bin" -Dtestbed.runtime="$runtime" -Dlocal.started="$started_ms" -cp "$classpath" \
  dev.portforward.testbed.LocalRun --nodes "$nodes"
