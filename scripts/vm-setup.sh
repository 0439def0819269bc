#!/usr/bin/env bash
# Prepares what tests/vm/run_vm.py needs to boot a real Linux VM whose guest runs the stock Mesa
# venus driver over virtio-gpu:
#   CACHE/chroot/   a Debian 13 (trixie) root with QEMU 10, Xvfb and the stock virglrenderer 1.1
#                   (Debian 12's QEMU is built against virglrenderer 0.10 and refuses venus=on)
#   CACHE/kernel/   the trixie guest kernel (vmlinuz) and the virtio-gpu modules, decompressed,
#                   with load-order listing them in dependency order
#   CACHE/stamp     written last; its content names this layout, so a changed recipe rebuilds
# Idempotent: a complete cache with the current stamp is reused and nothing is downloaded.
set -euo pipefail

# Bump when anything below changes what ends up in the cache.
recipe_version=1
suite=trixie
chroot_packages=(qemu-system-x86 qemu-system-modules-opengl qemu-system-gui xvfb xauth
                 mesa-vulkan-drivers libvulkan1 busybox-static kmod xz-utils virgl-server)
# xauth: xvfb-run needs it and xvfb only Recommends it (mmdebstrap installs no Recommends).
# virgl-server: ships /usr/libexec/virgl_render_server, which libvirglrenderer1 1.1 spawns for
# venus but does not depend on; without it QEMU says "virgl could not be initialized: -1".
host_packages=(mmdebstrap debian-archive-keyring util-linux python3)
guest_module=virtio_gpu

usage() {
   cat <<EOF
usage: scripts/vm-setup.sh [--cache DIR] [--mirror URL] [--force]

Builds (or reuses) the cache that tests/vm/run_vm.py boots VMs from: a Debian 13 chroot with
QEMU + virglrenderer, and the Debian 13 guest kernel with its virtio-gpu modules.

  --cache DIR   cache location (default \${PV_VM_CACHE:-/var/cache/pearvisor-vm})
  --mirror URL  Debian mirror (default \$PV_VM_MIRROR, else the one apt uses here)
  --force       rebuild even if the cache is complete
  -h, --help    this text

Needs root (chroot, mount namespaces); re-runs itself with sudo when not root.
About 1.2 GB of disk and 1-2 minutes the first time; instant afterwards.
EOF
}

log() { echo "vm-setup: $*" >&2; }
die() { echo "vm-setup: error: $*" >&2; exit 1; }

# Seconds since the script started, for the progress lines.
started=$(date +%s)
elapsed() { echo "$(($(date +%s) - started))s"; }

parse_args() {
   cache=${PV_VM_CACHE:-/var/cache/pearvisor-vm}
   mirror=${PV_VM_MIRROR:-}
   force=0
   while [ $# -gt 0 ]; do
      case $1 in
         --cache) [ $# -ge 2 ] || die "--cache needs a directory"; cache=$2; shift 2 ;;
         --mirror) [ $# -ge 2 ] || die "--mirror needs a URL"; mirror=$2; shift 2 ;;
         --force) force=1; shift ;;
         -h|--help) usage; exit 0 ;;
         *) usage >&2; die "unknown argument: $1" ;;
      esac
   done
}

ensure_root() {
   [ "$(id -u)" -eq 0 ] && return
   command -v sudo >/dev/null || die "needs root (chroot, mount namespaces) and sudo is missing"
   log "not root: re-running under sudo"
   exec sudo PV_VM_CACHE="$cache" PV_VM_MIRROR="$mirror" "$0" "$@"
}

# The stamp's content: everything that, if changed, must rebuild the cache.
expected_stamp() {
   echo "pearvisor-vm recipe=$recipe_version suite=$suite module=$guest_module packages=${chroot_packages[*]}"
}

cache_complete() {
   [ -f "$cache/stamp" ] && [ "$(cat "$cache/stamp")" = "$(expected_stamp)" ] &&
      [ -x "$cache/chroot/usr/bin/qemu-system-x86_64" ] && [ -f "$cache/kernel/vmlinuz" ] &&
      [ -f "$cache/kernel/load-order" ]
}

install_host_deps() {
   local missing=() p
   for p in "${host_packages[@]}"; do
      dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
   done
   [ ${#missing[@]} -eq 0 ] && return
   log "installing host packages: ${missing[*]}"
   export DEBIAN_FRONTEND=noninteractive
   apt-get update -qq
   apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The mirror apt already uses here (it is known to be reachable), else deb.debian.org.
default_mirror() {
   local uri=""
   uri=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
   [ -n "$uri" ] || uri=$(awk '$1=="deb" && $2 ~ /^https?:/ && $2 !~ /security/ {print $2; exit}' \
                          /etc/apt/sources.list 2>/dev/null || true)
   echo "${uri:-http://deb.debian.org/debian}"
}

# Runs inside the new chroot (as an mmdebstrap customize hook, while apt's lists are still
# there): downloads the trixie kernel package without installing it (no initramfs-tools, no
# bootloader hooks), unpacks it, and keeps only vmlinuz and the modules virtio_gpu needs,
# decompressed because busybox insmod cannot read .ko.xz. Leaves them in /var/cache/pv-kernel/out.
write_kernel_hook() {
   cat >"$1" <<'HOOK'
#!/bin/sh
set -eu
root=$1
module=$2
chroot "$root" /bin/sh -eu -s "$module" <<'INNER'
module=$1
work=/var/cache/pv-kernel
rm -rf "$work" && mkdir -p "$work/out/modules" && cd "$work"
pkg=$(apt-cache depends linux-image-amd64 | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ {print $2; exit}')
[ -n "$pkg" ] || { echo "no kernel package behind linux-image-amd64" >&2; exit 1; }
apt-get download -q -o APT::Sandbox::User=root "$pkg" >/dev/null
dpkg-deb -x ./"$pkg"_*.deb pkg
# The package ships /usr/lib/modules (trixie) or /lib/modules (older); depmod -b wants lib/.
[ -e pkg/lib ] || ln -s usr/lib pkg/lib
kver=$(ls pkg/lib/modules)
depmod -b pkg "$kver"
modprobe -d pkg -S "$kver" --show-depends "$module" >deps
awk '$1 == "insmod" {print $2}' deps >paths
[ -s paths ] || { echo "modprobe found no modules for $module:" >&2; cat deps >&2; exit 1; }
while read -r path; do
   name=$(basename "$path"); name=${name%.xz}; name=${name%.zst}; name=${name%.ko}
   case $path in
      *.xz) xz -dc "$path" ;;
      *.zst) echo "zstd modules are not handled: $path" >&2; exit 1 ;;
      *) cat "$path" ;;
   esac >"out/modules/$name.ko"
   echo "$name" >>out/load-order
done <paths
cp pkg/boot/vmlinuz-"$kver" out/vmlinuz
echo "$pkg $kver" >out/version
rm -rf pkg ./*.deb deps paths
INNER
HOOK
   chmod +x "$1"
}

# Records what the chroot ended up with (the versions tests report), and checks the pieces
# QEMU's venus path needs are really there, so a broken cache fails here and not at boot.
check_chroot() {
   local root=$1 f
   for f in usr/bin/qemu-system-x86_64 usr/libexec/virgl_render_server usr/bin/xvfb-run \
            usr/bin/xauth usr/bin/busybox; do
      [ -e "$root/$f" ] || die "chroot lacks /$f"
   done
   ls "$root"/usr/lib/x86_64-linux-gnu/qemu/hw-display-virtio-gpu-gl.so >/dev/null 2>&1 ||
      die "chroot lacks QEMU's virtio-gpu-gl module (qemu-system-modules-opengl)"
   ls "$root"/usr/lib/x86_64-linux-gnu/libvirglrenderer.so.1 >/dev/null 2>&1 ||
      die "chroot lacks libvirglrenderer.so.1"
   # shellcheck disable=SC2016  # ${...} is dpkg-query's format, not the shell's
   chroot "$root" dpkg-query -W -f='${Package} ${Version}\n' \
      qemu-system-x86 libvirglrenderer1 virgl-server mesa-vulkan-drivers busybox-static
}

build_cache() {
   local hook
   log "building the cache in $cache (suite $suite, mirror $mirror)"
   rm -f "$cache/stamp"
   rm -rf "$cache/chroot.new" "$cache/kernel.new"
   mkdir -p "$cache"
   tmp=$(mktemp -d)  # global: the EXIT trap still needs it after this function returns
   trap 'rm -rf "$tmp"' EXIT
   hook=$tmp/fetch-kernel
   write_kernel_hook "$hook"
   log "[$(elapsed)] mmdebstrap: ${chroot_packages[*]} + kernel"
   mmdebstrap --quiet --variant=apt --include="$(IFS=,; echo "${chroot_packages[*]}")" \
      --customize-hook="$hook \"\$1\" $guest_module" \
      "$suite" "$cache/chroot.new" "$mirror" >"$tmp/mmdebstrap.log" 2>&1 || {
      tail -n 40 "$tmp/mmdebstrap.log" >&2
      die "mmdebstrap failed (full log above, last 40 lines)"
   }
   log "[$(elapsed)] chroot ready; kernel: $(cat "$cache/chroot.new/var/cache/pv-kernel/out/version")"
   mv "$cache/chroot.new/var/cache/pv-kernel/out" "$cache/kernel.new"
   rm -rf "$cache/chroot.new/var/cache/pv-kernel"
   # Mount points run_vm.py binds the per-run files, the kernel and a renderer library onto.
   mkdir -p "$cache/chroot.new/mnt/pv-run" "$cache/chroot.new/mnt/pv-kernel" \
            "$cache/chroot.new/mnt/pv-renderer"
   check_chroot "$cache/chroot.new" >"$cache/kernel.new/chroot-versions"
   rm -rf "$cache/chroot" "$cache/kernel"
   mv "$cache/chroot.new" "$cache/chroot"
   mv "$cache/kernel.new" "$cache/kernel"
   expected_stamp >"$cache/stamp"
}

report() {
   log "[$(elapsed)] cache ready: $cache ($(du -sh "$cache" 2>/dev/null | cut -f1))"
   log "guest kernel: $(cat "$cache/kernel/version"); modules: $(tr '\n' ' ' <"$cache/kernel/load-order")"
   sed 's/^/vm-setup: chroot has /' "$cache/kernel/chroot-versions" >&2
}

main() {
   parse_args "$@"
   ensure_root "$@"
   if [ $force -eq 0 ] && cache_complete; then
      log "cache up to date: $cache"
      report
      return
   fi
   log "[$(elapsed)] checking host packages"
   install_host_deps
   [ -n "$mirror" ] || mirror=$(default_mirror)
   build_cache
   report
}

main "$@"
