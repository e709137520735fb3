#!/usr/bin/env bash
# Prints the classpath of the compiled main and test classes with every dependency, for running
# the test-scope programs (local run, benchmarks) without Maven in the way.
set -euo pipefail
cd "$(dirname "$0")/.."
deps="$(mvn -B -q -Dstyle.color=never dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=/dev/stdout)"
# Maven may still colour its output; strip the escape codes.
echo "target/test-classes:target/classes:$(sed 's/\x1b\[[0-9;]*m//g' <<< "$deps")"
