#!/usr/bin/env bash
# The relay's idle RSS, time to ready and memory per idle connection (footprint.sh); then the
# relay role against HAProxy (no splice), socat and nginx stream on loopback, in one run: TCP
# throughput, added latency, new connections/s, UDP datagrams/s at <= 1% loss and 9,500 idle
# connections. Installs the peers when missing; prints tables with ratios vs the goals.
set -euo pipefail
cd "$(dirname "$0")/../.."
for p in iperf3 sockperf socat haproxy nginx libnginx-mod-stream; do
  dpkg -s "$p" >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p" >/dev/null; }
done
# Idle connections take two sockets each in a proxy and in the bench (client + backend): as many
# open files as allowed.
ulimit -n "$(ulimit -Hn)"
# The relay runs from the packaged jar; -DskipTests still compiles the bench.
mvn -B -q package -DskipTests
classpath="$(bash test-cluster/test-classpath.sh)"
# Memory and start first, on fresh relays (bench/relay/footprint.sh alone measures only these).
java -cp "$classpath" dev.portforward.bench.RelayFootprint
exec java -cp "$classpath" dev.portforward.bench.RelayBench
