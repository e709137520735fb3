#!/usr/bin/env bash
# The tunnel role against OpenSSH's sshd (same client, same cipher), chisel, frp and rathole, in
# one run: throughput with 1 and 8 streams, new connections/s and added latency through -L and -R,
# memory per connected client. Installs the Debian packages and builds the peers at their exact
# versions when missing (cached under ~/.cache/portforward-operator/bench/); needs root for the
# backends' network namespace. Environment: ROUNDS (3), SECONDS_PER_RUN (3), CLIENTS (40),
# CIPHER (aes128-gcm@openssh.com), BENCH_PEERS (sshd,chisel,frp,rathole) and BENCH_ONLY (all of
# stream,streams,connect,latency,memory,L,R) to run a part.
set -euo pipefail
cd "$(dirname "$0")/../.."
for p in openssh-server openssh-client iperf3 sockperf nftables iproute2 conntrack; do
  dpkg -s "$p" >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p" >/dev/null; }
done
peers="$HOME/.cache/portforward-operator/bench"
# Go modules through the module proxy at exact versions: the proxy serves these versions but not
# the modules' version lists, which `go install pkg@version` asks for, so download and build.
build_go() { # module version binary-dir packages...
  local dir; dir="$(GOFLAGS= go mod download -json "$1@$2" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
  mkdir -p "$3" && (cd "$dir" && GOFLAGS= go build -trimpath -o "$3/" "${@:4}")
}
[ -x "$peers/chisel-v1.10.1/bin/chisel" ] || build_go github.com/jpillora/chisel v1.10.1 "$peers/chisel-v1.10.1/bin" .
[ -x "$peers/frp-v0.61.0/bin/frps" ] || build_go github.com/fatedier/frp v0.61.0 "$peers/frp-v0.61.0/bin" ./cmd/frps ./cmd/frpc
# rathole from crates.io; the bench leaves it out (and says so) when it does not build here. Not
# --locked: its lock file pins time 0.3.29, which current compilers reject (E0282 in
# format_description); cargo then takes the newest semver-compatible dependencies.
[ -x "$peers/rathole-0.5.0/bin/rathole" ] || cargo install rathole --version 0.5.0 \
  --root "$peers/rathole-0.5.0" || echo "rathole 0.5.0 did not build; left out" >&2
# The tunnel runs from the packaged jar; -DskipTests still compiles the bench.
mvn -B -q package -DskipTests
classpath="$(bash test-cluster/test-classpath.sh)"
exec java -Dbench.rounds="${ROUNDS:-3}" -Dbench.seconds="${SECONDS_PER_RUN:-3}" -Dbench.clients="${CLIENTS:-40}" \
  -Dbench.cipher="${CIPHER:-aes128-gcm@openssh.com}" -Dbench.peers="${BENCH_PEERS:-sshd,chisel,frp,rathole}" \
  -Dbench.only="${BENCH_ONLY:-stream,streams,connect,latency,memory,L,R}" -cp "$classpath" dev.portforward.bench.TunnelBench
