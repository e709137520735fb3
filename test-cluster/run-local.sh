#!/usr/bin/env bash
# The main job on this machine: builds the jar, starts a real Kubernetes control plane on
# loopback (built once by build.sh), installs the CRD, runs the operator against it, applies
# docs/examples/quickstart.yaml and prints the PortForward's status. Stays up until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$(bash test-cluster/build.sh)"
mvn -B -q package -DskipTests
classpath="target/test-classes:target/classes:$(mvn -B -q -Dstyle.color=never dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=/dev/stdout)"
exec java -Dtestbed.bin="$bin" -cp "$classpath" dev.portforward.testbed.LocalRun
