#!/usr/bin/env bash
# Installs what PearVisor needs on Debian 12 (bookworm): build tools, the Vulkan loader,
# lavapipe and the Mesa venus guest driver from bookworm-backports (Mesa 25.x); then puts the
# pinned Vulkan registry and headers the decoder is generated from into .deps/
# (scripts/fetch-vulkan-registry.sh; Debian 12's own are older than the guest's protocol).
# Idempotent: does nothing when everything is already present.
set -euo pipefail

packages=(meson ninja-build pkg-config gcc python3 libvulkan-dev vulkan-tools glslc
          libcmocka-dev clang clang-format gnuplot-nox virgl-server vulkan-validationlayers piglit curl
          spirv-tools)
backports_packages=(mesa-vulkan-drivers)

missing=()
for p in "${packages[@]}"; do
   dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
venus_icd=/usr/share/vulkan/icd.d/virtio_icd.json
mesa_ok=0
if [ -f "$venus_icd" ] && dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | grep -q '^25\.'; then
   mesa_ok=1
fi
if [ ${#missing[@]} -eq 0 ] && [ $mesa_ok -eq 1 ]; then
   exec "$(dirname "$0")/fetch-vulkan-registry.sh"
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo

if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
   echo "install-deps: adding bookworm-backports to apt's sources (for Mesa 25 venus)" >&2
   uri=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
   uri=${uri:-http://deb.debian.org/debian}
   printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      "$uri" | $sudo tee /etc/apt/sources.list.d/bookworm-backports.sources >/dev/null
fi
echo "install-deps: installing ${missing[*]} ${backports_packages[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
[ ${#missing[@]} -eq 0 ] || $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
$sudo apt-get install -y -qq --no-install-recommends -t bookworm-backports "${backports_packages[@]}" >/dev/null
"$(dirname "$0")/fetch-vulkan-registry.sh"
