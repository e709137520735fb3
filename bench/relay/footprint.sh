#!/usr/bin/env bash
# The relay's memory and start only (RelayFootprint): time to ready, idle RSS, and RSS per idle
# connection at 1,000 and 9,500, medians of fresh relays started with the JVM options relay pods
# get. Other load on the machine hardly moves these, unlike the CPU figures of run.sh. Every
# argument is one more set of JVM options to compare, e.g. "" (the JVM's defaults) or
# "-XX:+UseSerialGC -Xmx64m"; NAME=VALUE words in it are environment variables. RUNS=N sets the
# number of fresh relays per set (default 3).
set -euo pipefail
cd "$(dirname "$0")/../.."
# Each idle connection takes two sockets in the relay and two here (client + backend).
ulimit -n "$(ulimit -Hn)"
mvn -B -q package -DskipTests
classpath="$(bash test-cluster/test-classpath.sh)"
exec java -Druns="${RUNS:-3}" -cp "$classpath" dev.portforward.bench.RelayFootprint "$@"
