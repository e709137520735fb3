#!/usr/bin/env bash
# The main job on this machine: builds the jar, starts a real Kubernetes control plane on
# loopback (built once by build.sh), installs the CRD, runs the operator against it, applies
# docs/examples/quickstart.yaml and prints the PortForward's status. Stays up until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$(bash test-cluster/build.sh)"
mvn -B -q package -DskipTests
classpath="$(bash test-cluster/test-classpath.sh)"
exec java -Dtestbed.bin="$bin" -cp "$classpath" dev.portforward.testbed.LocalRun
