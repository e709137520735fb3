#!/usr/bin/env bash
# Apply -> Accepted for N PortForwards (default 1000) on a real API server, against a no-op
# operator that only writes status, plus the operator's RSS at 0 and N. Prints ratios.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="$(bash test-cluster/build.sh)"
mvn -B -q package -DskipTests
classpath="$(bash test-cluster/test-classpath.sh)"
exec java -Dtestbed.bin="$bin" -cp "$classpath" dev.portforward.bench.OperatorBench "${1:-1000}"
