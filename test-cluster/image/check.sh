#!/usr/bin/env bash
# Unpacks an OCI image tarball (as written by build.sh) into a root filesystem and starts each role
# through the image's own entrypoint, user and working directory, as a container runtime would:
#   relay --config      answers /q/health/ready with 200, as uid 1000, with the JVM options relay
#                       pods get (JDK_JAVA_OPTIONS): the image's JVM must accept every one
#   agent --cleanup     exits 0 in a fresh network namespace, as root, and removes the agent's table
#   operator            starts and fails only on the unreachable API server (no missing class or binary)
# Needs root (unshare, ip netns), jq and curl. Usage: check.sh IMAGE_TAR
set -euo pipefail
image="$(realpath "$1")"
work="$(mktemp -d)"
relay_pid=
cleanup() {
  if [ -n "$relay_pid" ]; then pkill -KILL -P "$relay_pid" 2>/dev/null || true; wait "$relay_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "check.sh: FAIL: $*" >&2; exit 1; }

# An OCI layout: index -> manifest -> config and layers, applied in order (Jib's layers are plain
# additions, no whiteouts).
mkdir "$work/image" "$work/root"
tar -C "$work/image" -xf "$image"
blob() { echo "$work/image/blobs/${1/://}"; }
manifest="$(blob "$(jq -r '.manifests[0].digest' "$work/image/index.json")")"
config="$(blob "$(jq -r '.config.digest' "$manifest")")"
for layer in $(jq -r '.layers[].digest' "$manifest"); do
  tar -C "$work/root" --warning=no-unknown-keyword -xzf "$(blob "$layer")"
done
mapfile -t entrypoint < <(jq -r '(.config.Entrypoint // []) + (.config.Cmd // []) | .[]' "$config")
mapfile -t env < <(jq -r '.config.Env // [] | .[]' "$config")
# The HTTP port moves off 8080, which something on this machine may hold.
env+=(QUARKUS_HTTP_PORT=19480)
workdir="$(jq -r '.config.WorkingDir // "/"' "$config")"
user="$(jq -r '.config.User // "0"' "$config")"
[ "$user" = 1000 ] || fail "image user is '$user', expected 1000"
echo "image: entrypoint ${entrypoint[*]}, user $user, workdir $workdir" >&2

# run UID [NETNS] -- ROLE_ARGS...: the entrypoint in its own mount and PID namespace (and the
# named network namespace, if given). exec, so that a background run's pid is unshare's.
run() {
  local uid="$1" netns=(); shift
  if [ "$1" != -- ]; then netns=(ip netns exec "$1"); shift; fi
  shift
  exec "${netns[@]}" unshare --mount --pid --fork --mount-proc \
    --root="$work/root" --wd="$workdir" --setuid="$uid" --setgid="$uid" \
    env -i "${env[@]}" "${entrypoint[@]}" "$@"
}

# relay: a TCP forward on loopback; the health port must answer ready.
cat > "$work/root/tmp/relay.yaml" <<YAML
forwards:
  - name: check
    listen: {address: 127.0.0.1, port: 19481}
    target: {host: 127.0.0.1, port: 19482}
YAML
chmod 644 "$work/root/tmp/relay.yaml"
# The relay's JVM options as the chart's default passes them (deploy/ is rendered from it).
relay_options="$(grep -A1 'name: PORTFORWARD_RELAY_JVM_OPTIONS' "$(dirname "$0")/../../deploy/portforward-operator.yaml" \
  | sed -n 's/^ *value: "\(.*\)"$/\1/p')"
[ -n "$relay_options" ] || fail "no PORTFORWARD_RELAY_JVM_OPTIONS in deploy/portforward-operator.yaml"
env+=("JDK_JAVA_OPTIONS=$relay_options")
run 1000 -- relay --config /tmp/relay.yaml > "$work/relay.log" 2>&1 &
unset 'env[${#env[@]}-1]'
relay_pid=$!
ready=
for _ in $(seq 1 120); do
  if [ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:19480/q/health/ready)" = 200 ]; then ready=1; break; fi
  kill -0 "$relay_pid" 2>/dev/null || break
  sleep 0.5
done
[ -n "$ready" ] || { cat "$work/relay.log" >&2; fail "relay: /q/health/ready did not answer 200"; }
pkill -TERM -P "$relay_pid"; wait "$relay_pid" || true; relay_pid=
grep -qF "Picked up JDK_JAVA_OPTIONS: $relay_options" "$work/relay.log" \
  || { cat "$work/relay.log" >&2; fail "relay: the JVM did not take JDK_JAVA_OPTIONS"; }
echo "relay: /q/health/ready 200 with JVM options $relay_options, stopped" >&2

# agent and operator: a fresh network namespace, with nothing but loopback.
ns="pf-image-check-$$"
ip netns add "$ns"
trap 'ip netns delete "$ns"; cleanup' EXIT
ip -n "$ns" link set lo up

# agent --cleanup: as root (the DaemonSet's user), it must remove the agent's table.
ip netns exec "$ns" nft add table inet portforward
(run 0 "$ns" -- agent --cleanup) > "$work/agent.log" 2>&1 \
  || { cat "$work/agent.log" >&2; fail "agent --cleanup did not exit 0"; }
if ip netns exec "$ns" nft list table inet portforward >/dev/null 2>&1; then
  cat "$work/agent.log" >&2; fail "agent --cleanup left table inet portforward"
fi
echo "agent --cleanup: exit 0, table removed" >&2

# operator: no API server can be reached; it must get as far as trying. (timeout runs programs,
# not functions, hence bash -c.)
status=0
(timeout 120 bash -c "$(declare -f run); $(declare -p work env entrypoint workdir); run 1000 $ns -- operator") \
  > "$work/operator.log" 2>&1 || status=$?
if grep -Eq 'ClassNotFoundException|NoClassDefFoundError|UnsatisfiedLinkError|No such file|not found' "$work/operator.log" \
  || [ "$status" = 0 ] || [ "$status" = 124 ] \
  || ! grep -q "cannot look up the API server's addresses" "$work/operator.log"; then
  cat "$work/operator.log" >&2
  fail "operator: expected a Kubernetes connection error, exit status $status"
fi
echo "operator: exit $status, $(grep -m1 -o "cannot look up the API server's addresses.*" "$work/operator.log" | cut -c1-160)" >&2
echo "check.sh: image starts every role" >&2
