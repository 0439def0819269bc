#!/bin/sh
# The GPU programs as guests of a ThreadSanitizer build of pearvisor (make test's TSan suite):
# each must match its native checksum, and no worker may print a ThreadSanitizer report.
# pv-test-sync drives two queues, each with its own ring and fence waiter, so the renderer's
# threads meet there; two guests also run at once against one server.
#
# usage: tests/sanitize/tsan_programs.sh TSAN_PEARVISOR HOST_ICD PROGRAM...
set -u
pearvisor=$1 icd=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
export TSAN_OPTIONS="suppressions=$here/tsan.supp ${TSAN_OPTIONS:-}"
log=$(mktemp /tmp/pv-tsan-XXXXXX)
failed=0
checksum() { sed -n 's/^CHECKSUM //p'; }
for program in "$@"; do
   name=$(basename "$program")
   native=$(VK_DRIVER_FILES=$icd timeout 120 "$program" 2>/dev/null | checksum)
   virtual=$(timeout 600 "$pearvisor" run --icd "$icd" -- "$program" 2>"$log" | checksum)
   reports=$(grep -c 'WARNING: ThreadSanitizer' "$log")
   if [ -n "$native" ] && [ "$native" = "$virtual" ] && [ "$reports" -eq 0 ]; then
      echo "$name: $virtual as native, no ThreadSanitizer report"
   else
      echo "FAIL $name: native '$native', under TSan '$virtual', $reports report(s)"
      grep -A30 'WARNING: ThreadSanitizer' "$log" | head -60
      failed=1
   fi
done
# Two guests of one server at once: the server's accept loop, two workers.
sync_program=
for program in "$@"; do
   case $program in *pv-test-sync) sync_program=$program ;; esac
done
if [ -n "$sync_program" ]; then
   "$pearvisor" run --icd "$icd" -- sh -c "'$sync_program' & '$sync_program'; wait" \
      >/dev/null 2>"$log"
   reports=$(grep -c 'WARNING: ThreadSanitizer' "$log")
   echo "two guests at once: $reports ThreadSanitizer report(s)"
   [ "$reports" -eq 0 ] || { grep -A30 'WARNING: ThreadSanitizer' "$log" | head -60; failed=1; }
fi
rm -f "$log"
[ "$failed" -eq 0 ] && echo PASS || echo FAIL
exit "$failed"
