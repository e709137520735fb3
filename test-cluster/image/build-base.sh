#!/usr/bin/env bash
# Builds the image's base from Debian packages: a JRE plus the nft and conntrack binaries the
# agent runs, no Recommends, no docs. Writes a docker-save tarball (Jib reads it as a tar://
# base) and prints its path. Needs root (mmdebstrap chroots into the new tree).
# Cached under ~/.cache/portforward-operator/image-base/<hash of this script>/: only the
# first run pays, and changing the package list (this file) builds a new base.
set -euo pipefail
suite=bookworm
mirror=http://deb.debian.org/debian
packages=openjdk-17-jre-headless,nftables,conntrack

key="$(sha256sum "$0" | cut -c1-16)"
dir="$HOME/.cache/portforward-operator/image-base/$key"
if [ -f "$dir/base.tar" ]; then echo "$dir/base.tar"; exit 0; fi
[ "$(id -u)" = 0 ] || { echo "build-base.sh: building the base needs root" >&2; exit 1; }
command -v mmdebstrap >/dev/null || { echo "build-base.sh: needs mmdebstrap (apt-get install mmdebstrap)" >&2; exit 1; }
arch="$(dpkg --print-architecture)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# dpkg never unpacks docs, man pages or translations (the JRE's postinst still links into man1,
# so that directory exists); the hooks add the user the image runs as by default (uid 1000) and
# drop apt's lists and caches.
mmdebstrap --variant=minbase --mode=root --include="$packages" \
  --aptopt='APT::Install-Recommends "false"' \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --setup-hook='mkdir -p "$1"/usr/share/man/man1' \
  --customize-hook='chroot "$1" useradd --uid 1000 --user-group --no-create-home --home-dir /deployments app' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/log/*' \
  "$suite" "$work/layer.tar" "$mirror" >&2

# docker-save layout: one uncompressed layer, a config whose diff_id is that layer's digest.
diff_id="sha256:$(sha256sum "$work/layer.tar" | cut -d' ' -f1)"
cat > "$work/config.json" <<JSON
{"architecture":"$arch","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","JAVA_HOME=/usr/lib/jvm/java-17-openjdk-$arch"]},"rootfs":{"type":"layers","diff_ids":["$diff_id"]}}
JSON
echo '[{"Config":"config.json","RepoTags":["portforward-operator-base:latest"],"Layers":["layer.tar"]}]' > "$work/manifest.json"
mkdir -p "$dir"
tar -C "$work" -cf "$dir/base.tar.tmp" manifest.json config.json layer.tar
mv "$dir/base.tar.tmp" "$dir/base.tar"
echo "$dir/base.tar"
