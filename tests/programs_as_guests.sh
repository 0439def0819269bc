#!/bin/sh
# The GPU programs as guests of one pearvisor build: each must match its native checksum, and
# the server's log must hold no line matching BAD_LOG (an extended regular expression). make
# test runs it on a ThreadSanitizer build (BAD_LOG: its reports); on the GPU machine it checks
# the worker sandbox against the NVIDIA driver (BAD_LOG: sandbox violations and crashes).
# pv-test-sync drives two queues, each with its own ring and fence waiter, so the renderer's
# threads meet there; two guests also run at once against one server.
#
# usage: tests/programs_as_guests.sh PEARVISOR HOST_ICD BAD_LOG PROGRAM...
# VENUS_ICD (optional): the guest driver manifest, passed to `pearvisor run --venus-icd`.
set -u
pearvisor=$1 icd=$2 bad=$3
shift 3
log=$(mktemp /tmp/pv-guests-XXXXXX)
failed=0
checksum() { sed -n 's/^CHECKSUM //p'; }
run() { timeout 600 "$pearvisor" run --icd "$icd" ${VENUS_ICD:+--venus-icd "$VENUS_ICD"} -- "$@"; }
bad_lines() { grep -Ec "$bad" "$log"; }
for program in "$@"; do
   name=$(basename "$program")
   native=$(VK_DRIVER_FILES=$icd timeout 120 "$program" 2>/dev/null | checksum)
   virtual=$(run "$program" 2>"$log" | checksum)
   reports=$(bad_lines)
   if [ -n "$native" ] && [ "$native" = "$virtual" ] && [ "$reports" -eq 0 ]; then
      echo "$name: $virtual as native, no report"
   else
      echo "FAIL $name: native '$native', through pearvisor '$virtual', $reports report(s)"
      grep -EA30 "$bad" "$log" | head -60
      failed=1
   fi
done
# Two guests of one server at once: the server's accept loop, two workers.
sync_program=
for program in "$@"; do
   case $program in *pv-test-sync) sync_program=$program ;; esac
done
if [ -n "$sync_program" ]; then
   run sh -c "'$sync_program' & '$sync_program'; wait" >/dev/null 2>"$log"
   reports=$(bad_lines)
   echo "two guests at once: $reports report(s)"
   [ "$reports" -eq 0 ] || { grep -EA30 "$bad" "$log" | head -60; failed=1; }
fi
rm -f "$log"
[ "$failed" -eq 0 ] && echo PASS || echo FAIL
exit "$failed"
