#!/usr/bin/env bash
# Hollow nodes (the real agent with nft replaced by a recorder, many in one JVM) against the real
# API server and the real operator: time until N PortForwards are programmed on every node they
# select, API requests/s, watches per agent, operator RSS, agent heap, programming latency under
# churn, and one agent's heap with 10x the pods; then, on the same footing, real agents and real
# kube-proxies (nftables mode), each programming real nftables in a network namespace of its own,
# under the same churn (kube-proxy is the peer). CASES ("100x1000,1000x1000,100x10000": nodes x
# forwards; set but empty: only the pods case), REAL_NFT ("10x1000": nodes x forwards, as many
# Services for kube-proxy; set but empty: not run), CHURN_RATE (2 changes/s, a rate this machine
# holds, so that the latency is not an overloaded API server's backlog), CHURN_SECONDS (30) and
# PODS (1000) change a run. Runs as root (network namespaces).
set -euo pipefail
cd "$(dirname "$0")/../.."
# The agents and kube-proxy run nft (the agents conntrack too); the bench reads kube-proxy's metrics with curl.
for p in nftables conntrack curl; do
  dpkg -s "$p" >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p" >/dev/null; }
done
bin="$(bash test-cluster/build.sh)"
mvn -B -q package -DskipTests
classpath="$(bash test-cluster/test-classpath.sh)"
exec java -Xmx12g -Xss512k -XX:+UseParallelGC -Dtestbed.bin="$bin" \
  -Dbench.cases="${CASES-100x1000,1000x1000,100x10000}" -Dbench.churn.rate="${CHURN_RATE:-2}" \
  -Dbench.churn.seconds="${CHURN_SECONDS:-30}" -Dbench.pods="${PODS:-1000}" \
  -Dbench.real-nft="${REAL_NFT-10x1000}" \
  -cp "$classpath" dev.portforward.bench.ScaleBench
