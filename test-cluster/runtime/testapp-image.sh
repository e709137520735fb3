#!/usr/bin/env bash
# Builds the test image, portforward.dev/test/testapp:1, from Debian packages the way
# ../image/build-base.sh builds the project's base (mmdebstrap, no Recommends, no docs):
# nginx-light, socat, curl, openssh-server, vsftpd, iproute2 and procps, so one image plays HTTP,
# TCP/UDP, SSH and FTP peers. Its default command serves HTTP on port $HTTP_PORT (80 unless set)
# with nginx in the foreground, answering every request with one line that names the pod and the
# connection, so a test sees which backend answered and which client address it saw:
#   testapp hostname=<pod name> server=<address>:<port> client=<address>:<port>
# The other servers start as a test's command, for example (no ssh host keys are shipped; the /run
# directories exist in the image, but `ctr run` mounts an empty tmpfs over /run, the kubelet not):
#   sh -c 'mkdir -p /run/sshd && ssh-keygen -A && exec /usr/sbin/sshd -D -e -p 2222'
#   sh -c 'mkdir -p /run/vsftpd/empty && exec vsftpd -olisten=YES -olisten_ipv6=NO -olisten_port=2121'
#   socat TCP-LISTEN:9000,fork,reuseaddr SYSTEM:hostname
# Writes an OCI image tarball that `ctr images import` reads, with its name beside it in
# testapp.tar.name, and prints its path. Needs root (mmdebstrap chroots into the new tree).
# Cached under ~/.cache/portforward-operator/runtime/testapp/<hash of this script and oci.sh>/.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../image/oci.sh"
name=portforward.dev/test/testapp:1
suite=bookworm
mirror=http://deb.debian.org/debian
packages=nginx-light,socat,curl,openssh-server,vsftpd,iproute2,procps

key="$(cat "$0" "$here/../image/oci.sh" | sha256sum | cut -c1-16)"
dir="${PORTFORWARD_RUNTIME_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/portforward-operator/runtime}/testapp/$key"
if [ -f "$dir/testapp.tar" ]; then echo "$dir/testapp.tar"; exit 0; fi
[ "$(id -u)" = 0 ] || { echo "testapp-image.sh: building the test image needs root" >&2; exit 1; }
command -v mmdebstrap >/dev/null || { echo "testapp-image.sh: needs mmdebstrap (apt-get install mmdebstrap)" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# nginx logs to the container's stdout and stderr (what `kubectl logs` shows) and keeps its
# temporary files under /tmp, so any user can run it.
cat > "$work/nginx.conf" <<'NGINX'
daemon off;
worker_processes 1;
pid /tmp/nginx.pid;
error_log stderr;
events { worker_connections 1024; }
http {
  access_log /dev/stdout;
  client_body_temp_path /tmp/nginx-body;
  proxy_temp_path /tmp/nginx-proxy;
  fastcgi_temp_path /tmp/nginx-fastcgi;
  uwsgi_temp_path /tmp/nginx-uwsgi;
  scgi_temp_path /tmp/nginx-scgi;
  server {
    listen HTTP_PORT;
    default_type text/plain;
    location / {
      return 200 "testapp hostname=$hostname server=$server_addr:$server_port client=$remote_addr:$remote_port\n";
    }
  }
}
NGINX
cat > "$work/testapp-http" <<'SH'
#!/bin/sh
# Serves the testapp's HTTP answer on $HTTP_PORT (default 80) with nginx in the foreground.
set -e
sed "s/HTTP_PORT/${HTTP_PORT:-80}/" /etc/nginx/testapp.conf > /tmp/nginx.conf
exec nginx -e stderr -c /tmp/nginx.conf
SH
# The merged-usr hook lays out /usr as Debian 12 expects, so that apt does not install usrmerge,
# and with it all of perl, for init-system-helpers. Debian's default site, its ssh host keys
# (every container would share them: a test that runs sshd makes its own with ssh-keygen -A) and
# apt's lists and caches are left out; the directories sshd and vsftpd expect in /run (made at
# boot on a Debian host) are made here.
mmdebstrap --variant=minbase --mode=root --include="$packages" \
  --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
  --aptopt='APT::Install-Recommends "false"' \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --customize-hook="cp '$work/nginx.conf' \"\$1\"/etc/nginx/testapp.conf" \
  --customize-hook="install -m 0755 '$work/testapp-http' \"\$1\"/usr/local/bin/testapp-http" \
  --customize-hook='rm -f "$1"/etc/nginx/sites-enabled/default "$1"/etc/ssh/ssh_host_*' \
  --customize-hook='mkdir -p "$1"/run/sshd "$1"/run/vsftpd/empty' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/log/apt "$1"/var/log/*.log' \
  "$suite" "$work/layer.tar" "$mirror" >&2

diff_id="$(oci_layer "$work/layer.tar")"
jq -nc --arg arch "$(dpkg --print-architecture)" --arg d "$diff_id" \
  '{architecture: $arch, os: "linux",
    config: {Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
             Cmd: ["/usr/local/bin/testapp-http"], ExposedPorts: {"80/tcp": {}}},
    rootfs: {type: "layers", diff_ids: [$d]}}' > "$work/config.json"
mkdir -p "$dir"
oci_archive "$dir/testapp.tar.tmp" "$name" "$work/config.json" "$work/layer.tar.gz"
echo "$name" > "$dir/testapp.tar.name"
mv "$dir/testapp.tar.tmp" "$dir/testapp.tar"
echo "$dir/testapp.tar"
