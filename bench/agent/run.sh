#!/usr/bin/env bash
# The node agent's data plane, measured in network namespaces (needs root): DNAT throughput vs
# the routed path (iperf3), new connections/s with 10,000 forwards vs 1, and the time to apply one
# change with 10,000 forwards vs 100. Prints ratios measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/../.."
for p in iperf3 nftables conntrack socat; do
  dpkg -s "$p" >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p" >/dev/null; }
done
mvn -B -q test-compile
classpath="$(bash test-cluster/test-classpath.sh)"
exec java -cp "$classpath" dev.portforward.bench.AgentBench
