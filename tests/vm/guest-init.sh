#!/bin/busybox sh
# /init of the PearVisor test VM (built into the initramfs by scripts/vm-initramfs.py).
# Loads the virtio-gpu modules, then runs each line of /pv/run.list and reports on the serial
# console. Every line it prints that matters starts with "PV-VM:" so the host can find them
# among kernel messages; run_vm.py parses:
#   PV-VM: INIT <uptime_ms>                     /init started (guest kernel boot time)
#   PV-VM: GPU <uptime_ms> <render node>|none   modules loaded, render node seen (or not)
#   PV-VM: KMSG <line>                          the kernel's virtio-gpu/drm lines
#   PV-VM: BEGIN <name> <uptime_ms>
#   PV-VM: OUT <name> | <line>                  the program's stdout and stderr, line by line
#   PV-VM: END <name> rc=<exit status> ms=<wall time in the guest>
#   PV-VM: DONE <uptime_ms>
# then powers the VM off. run.list lines: NAME<TAB>TIMEOUT_S<TAB>COMMAND (split on spaces).
/bin/busybox mkdir -p /proc /sys /dev /tmp /bin
/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp

say() { echo "PV-VM: $*"; }

# Milliseconds since the guest kernel started (/proc/uptime has two decimals; busybox date
# has no %N).
uptime_ms() {
   read -r up _ </proc/uptime
   echo $((${up%.*} * 1000 + 1${up#*.} * 10 - 1000))
}

load_modules() {
   while read -r m; do
      insmod "/pv/modules/$m.ko" || say "MODULE-FAIL $m"
   done </pv/modules/load-order
}

# The render node appears once virtio-gpu has probed the device; give it a few seconds.
wait_render_node() {
   i=0
   while [ ! -e /dev/dri/renderD128 ] && [ $i -lt 100 ]; do
      sleep 0.1
      i=$((i + 1))
   done
   [ -e /dev/dri/renderD128 ] && echo /dev/dri/renderD128 || echo none
}

run_one() { # run_one NAME TIMEOUT_S COMMAND...
   name=$1 tmo=$2
   shift 2
   t0=$(uptime_ms)
   say "BEGIN $name $t0"
   timeout -s KILL "$tmo" "$@" >"/tmp/$name.out" 2>&1
   rc=$?
   t1=$(uptime_ms)
   sed "s/^/PV-VM: OUT $name | /" "/tmp/$name.out"
   say "END $name rc=$rc ms=$((t1 - t0))"
}

say "INIT $(uptime_ms)"
load_modules
node=$(wait_render_node)
say "GPU $(uptime_ms) $node"
dmesg | grep -iE 'virtio[-_]gpu|\[drm\]' | sed 's/^/PV-VM: KMSG /'

export HOME=/tmp XDG_RUNTIME_DIR=/tmp/xdg VK_DRIVER_FILES=/pv/virtio_icd.json
mkdir -m 700 "$XDG_RUNTIME_DIR"
# Extra environment from run_vm.py --guest-env, in the per-run archive.
if [ -f /pv/env ]; then
   # shellcheck disable=SC1091
   . /pv/env
fi
tab=$(printf '\t')
while IFS=$tab read -r name tmo cmd; do
   [ -n "$name" ] || continue
   # shellcheck disable=SC2086  # the command is split on spaces on purpose
   run_one "$name" "$tmo" $cmd
done </pv/run.list
say "DONE $(uptime_ms)"
poweroff -f
