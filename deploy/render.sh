#!/usr/bin/env bash
# Renders deploy/portforward-operator.yaml from the Helm chart with its default values (and the
# namespace, which plain `kubectl apply` users need). ChartIT fails when the file is stale. The CRDs
# stay in crds/, applied before this file (kubectl apply -f crds/ -f deploy/...).
set -euo pipefail
cd "$(dirname "$0")/.."
helm="$(bash test-cluster/build.sh)/helm"
"$helm" template portforward-operator helm/portforward-operator \
  --namespace portforward-system --kube-version 1.36.0 --set namespace.create=true \
  --set crds.enabled=false \
  > deploy/portforward-operator.yaml
