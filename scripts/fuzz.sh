#!/usr/bin/env bash
# Builds the libFuzzer harnesses with clang and ASan/UBSan, seeds them and runs each for $1 s
# (default 60); $2.. picks harnesses (default all: cs venus exec ring vtest). Findings go to
# fuzz/regressions/<harness>/, which `make test` replays (docs/fuzzing.md). Exit 1 on a finding.
set -uo pipefail
seconds=${1:-60}
shift || true
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=(cs venus exec ring vtest)
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${FUZZ_BUILD:-build-fuzz}

if ! command -v clang >/dev/null; then
   echo "fuzz.sh: needs clang with libFuzzer (scripts/install-deps.sh installs it)" >&2
   exit 1
fi
# fuzzer-no-link gives the libraries (decoders, renderer, vtest) the coverage libFuzzer steers
# by; the harnesses themselves link with -fsanitize=fuzzer (fuzz/meson.build).
if [ ! -f "$build/build.ninja" ]; then
   CC=clang meson setup "$build" -Db_sanitize=address,undefined -Db_lundef=false \
      -Dc_args=-fsanitize=fuzzer-no-link >"$build.setup.log" 2>&1 || {
      cat "$build.setup.log"; exit 1; }
fi
ninja -C "$build" "${harnesses[@]/#/fuzz/fuzz_}" || exit 1

# Working corpora in the build folder, so that what a run finds does not land in git: the
# committed seeds (fuzz/corpus/), and for the decoders one seed per recorded command
# (tests/data/venus/README.md), named by content to drop repeats.
for h in "${harnesses[@]}"; do
   mkdir -p "$build/corpus/$h" "fuzz/regressions/$h"
   [ -d "fuzz/corpus/$h" ] && cp -n fuzz/corpus/"$h"/* "$build/corpus/$h/"
done
if [[ " ${harnesses[*]} " == *" venus "* ]]; then
   python3 -c '
import hashlib, pathlib, sys
for tsv in map(pathlib.Path, sys.argv[2:]):
    data = tsv.with_suffix(".bin").read_bytes()
    for row in (line.split("\t") for line in tsv.read_text().splitlines()[1:]):
        record = data[int(row[4]):int(row[4]) + int(row[5])]
        (pathlib.Path(sys.argv[1]) / hashlib.sha1(record).hexdigest()).write_bytes(record)
' "$build/corpus/venus" tests/data/venus/*.tsv || exit 1
fi

# UBSan only reports and goes on by default; a report must count as a crash. The host driver
# keeps caches for the process's life, which LeakSanitizer would report after every run of
# the renderer harnesses. -timeout: an input blocking the renderer for long is a finding too.
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
status=0
for h in "${harnesses[@]}"; do
   leaks=1
   case $h in exec | ring | vtest) leaks=0 ;; esac
   echo "== fuzz_$h: $seconds s"
   ASAN_OPTIONS=detect_leaks=$leaks "$build/fuzz/fuzz_$h" -max_total_time="$seconds" \
      -timeout=30 -rss_limit_mb=4096 -print_final_stats=1 \
      -artifact_prefix="fuzz/regressions/$h/" "$build/corpus/$h" || status=1
done
exit $status
