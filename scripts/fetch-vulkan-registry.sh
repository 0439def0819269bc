#!/usr/bin/env bash
# Puts the pinned Vulkan registry and headers (scripts/vulkan-registry.pin) into
# .deps/vulkan-headers-VERSION/ of the repository: downloads that one .deb, checks its SHA256
# and unpacks it with dpkg-deb, without installing it or touching apt's configuration.
# Layout: registry/vk.xml, the C headers in include/vulkan/ and include/vk_video/ (not the
# C++ ones), copyright.
# Idempotent: an existing directory is complete (it appears in one rename) and is kept.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
pin=$root/scripts/vulkan-registry.pin
value() { sed -n "s/^$1=//p" "$pin"; }
version=$(value version) file=$(value file) sha256=$(value sha256) sha1=$(value sha1)
dest=$root/.deps/vulkan-headers-$version

log() { echo "fetch-vulkan-registry: $*" >&2; }

[ -f "$dest/registry/vk.xml" ] && exit 0

# The mirror apt uses here, else deb.debian.org. A file leaves the mirrors' pool once no
# release names it any more; snapshot.debian.org keeps every file, by SHA1, for good.
mirror() {
   local uri=""
   uri=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
   [ -n "$uri" ] || uri=$(awk '$1=="deb" && $2 ~ /^https?:/ && $2 !~ /security/ {print $2; exit}' \
                          /etc/apt/sources.list 2>/dev/null || true)
   echo "${uri:-http://deb.debian.org/debian}"
}
urls=("$(mirror)/$file" "https://snapshot.debian.org/file/$sha1")

command -v curl >/dev/null || { log "needs curl (Debian: apt-get install curl)"; exit 1; }
command -v dpkg-deb >/dev/null || { log "needs dpkg-deb (Debian: dpkg)"; exit 1; }
mkdir -p "$root/.deps"
tmp=$(mktemp -d "$root/.deps/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

deb=$tmp/$(basename "$file")
got=0
for url in "${urls[@]}"; do
   log "downloading $url"
   if curl -fsSL --retry 2 --connect-timeout 20 -o "$deb" "$url"; then
      if echo "$sha256  $deb" | sha256sum -c --status; then
         got=1
         break
      fi
      log "$url: SHA256 is not the pinned $sha256; not used"
   fi
done
[ $got -eq 1 ] || { log "could not get libvulkan-dev $version from ${urls[*]}"; exit 1; }

dpkg-deb -x "$deb" "$tmp/pkg"
out=$tmp/vulkan-headers-$version
mkdir -p "$out/registry" "$out/include/vulkan" "$out/include/vk_video"
cp "$tmp/pkg/usr/share/vulkan/registry/vk.xml" "$out/registry/"
for dir in vulkan vk_video; do
   cp "$tmp/pkg/usr/include/$dir"/*.h "$out/include/$dir/"
done
cp "$tmp/pkg/usr/share/doc/libvulkan-dev/copyright" "$out/"
rm -rf "$dest"
mv "$out" "$dest"
log "libvulkan-dev $version unpacked into ${dest#"$root"/}"
