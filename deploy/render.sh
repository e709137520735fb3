#!/usr/bin/env bash
# Renders deploy/portforward-operator.yaml from the Helm chart with its default values (and the
# namespace, which plain `kubectl apply` users need), without Helm's hooks; the uninstall hook
# goes to deploy/uninstall.yaml, applied by hand before deleting the rest (README, Install).
# ChartIT fails when either file is stale. The CRDs stay in crds/, applied before this file.
set -euo pipefail
cd "$(dirname "$0")/.."
helm="$(bash test-cluster/build.sh)/helm"
args=(portforward-operator helm/portforward-operator
  --namespace portforward-system --kube-version 1.36.0 --set namespace.create=true --set crds.enabled=false)
"$helm" template "${args[@]}" --no-hooks > deploy/portforward-operator.yaml
"$helm" template "${args[@]}" --show-only templates/uninstall.yaml > deploy/uninstall.yaml
