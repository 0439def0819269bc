#!/usr/bin/env bash
# Builds PearVisor twice (plain, then ASan/UBSan), runs every test in both, runs the GPU
# programs against a ThreadSanitizer build of the server, boots a real VM
# on our virglrenderer-compatible library (make test-vm), runs each libFuzzer harness briefly
# under ASan/UBSan (when clang is installed), checks the formatting, and ends with one line
# "N passed, N failed" over all of it.
set -uo pipefail
plain=${1:-build} sanitize=${2:-build-sanitize}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
passed=0 failed=0

count() { # count <meson build dir>: adds that dir's test results to the totals
   local log=$1/meson-logs/testlog.json
   [ -f "$log" ] || { failed=$((failed + 1)); return; }
   local p f
   p=$(grep -c '"result": "OK"' "$log")
   f=$(grep -vc '"result": "OK"' "$log")
   passed=$((passed + p)) failed=$((failed + f))
}

run_suite() { # run_suite <dir> <meson test args> <setup args...>
   local dir=$1 test_args=$2; shift 2
   [ -f "$dir/build.ninja" ] || meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || {
      cat "$dir.setup.log"; failed=$((failed + 1)); return; }
   if ! ninja -C "$dir"; then failed=$((failed + 1)); return; fi
   rm -f "$dir/meson-logs/testlog.json"
   # shellcheck disable=SC2086 # test_args is a list of words
   meson test -C "$dir" --print-errorlogs --num-processes 2 --timeout-multiplier 3 $test_args
   count "$dir"
}

echo "== plain build"
run_suite "$plain" ""
echo "== ASan/UBSan build"
# The stress test (minutes of GPU programs in a loop) runs once, against the plain build.
ASAN_OPTIONS=detect_leaks=1 run_suite "$sanitize" "--no-suite stress" \
   -Db_sanitize=address,undefined -Db_lundef=false
echo "== ThreadSanitizer: the GPU programs as guests of a TSan server"
tsan=build-tsan
if { [ -f "$tsan/build.ninja" ] ||
     meson setup "$tsan" -Db_sanitize=thread -Db_lundef=false >"$tsan.setup.log" 2>&1; } &&
   ninja -C "$tsan" pearvisor &&
   TSAN_OPTIONS="suppressions=$root/tests/sanitize/tsan.supp" tests/programs_as_guests.sh \
      "$tsan/pearvisor" /usr/share/vulkan/icd.d/lvp_icd.json 'WARNING: ThreadSanitizer' \
      "$plain"/tests/programs/pv-test-{sync,compute,queries,events,render,descriptors,clocks}; then
   passed=$((passed + 1))
else
   failed=$((failed + 1))
fi
echo "== real VM: QEMU's virtio-gpu venus on our libvirglrenderer.so.1"
if scripts/vm-setup.sh && tests/vm/run_vm.py --renderer-lib "$plain/src/virgl" \
      --guest-layer "$plain/guest" \
      "$plain"/tests/programs/pv-test-{compute,transfer,clear,graphics,sync,clocks}; then
   passed=$((passed + 1))
else
   failed=$((failed + 1))
fi
echo "== fuzz smoke: each libFuzzer harness 40 s under ASan/UBSan (scripts/fuzz.sh)"
if ! command -v clang >/dev/null; then
   echo "no clang: skipped (scripts/install-deps.sh installs it)"
elif scripts/fuzz.sh 40; then
   passed=$((passed + 1))
else
   echo "fuzz smoke: a finding is in fuzz/regressions/ (docs/fuzzing.md)"
   failed=$((failed + 1))
fi
echo "== clang-format"
if clang-format --dry-run -Werror $(git ls-files '*.c' '*.h'); then
   passed=$((passed + 1))
else
   failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
