#!/usr/bin/env bash
# Builds the libFuzzer harnesses with clang and ASan/UBSan, seeds them, runs each $1 s (default 60).
set -uo pipefail
seconds=${1:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=build-fuzz

if ! command -v clang >/dev/null; then
   echo "fuzz.sh: needs clang with libFuzzer (apt-get install -y clang)" >&2
   exit 1
fi
# fuzzer-no-link gives the libraries (decoders, reader) the coverage libFuzzer steers by; the
# harnesses themselves link with -fsanitize=fuzzer (fuzz/meson.build).
if [ ! -d "$build" ]; then
   CC=clang meson setup "$build" -Db_sanitize=address,undefined -Db_lundef=false \
      -Dc_args=-fsanitize=fuzzer-no-link || exit 1
fi
ninja -C "$build" fuzz/fuzz_cs fuzz/fuzz_venus || exit 1

# One seed per recorded command (tests/data/venus/README.md), named by content to drop repeats.
mkdir -p "$build/corpus/cs" "$build/corpus/venus" "$build/crashes"
python3 -c '
import hashlib, pathlib, sys
for tsv in map(pathlib.Path, sys.argv[2:]):
    data = tsv.with_suffix(".bin").read_bytes()
    for row in (line.split("\t") for line in tsv.read_text().splitlines()[1:]):
        record = data[int(row[4]):int(row[4]) + int(row[5])]
        (pathlib.Path(sys.argv[1]) / hashlib.sha1(record).hexdigest()).write_bytes(record)
' "$build/corpus/venus" tests/data/venus/*.tsv || exit 1

# UBSan only reports and goes on by default; a report must count as a crash.
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
status=0
for harness in venus cs; do
   echo "== fuzz_$harness: $seconds s"
   "$build/fuzz/fuzz_$harness" -max_total_time="$seconds" -print_final_stats=1 \
      -artifact_prefix="$build/crashes/$harness-" "$build/corpus/$harness" || status=1
done
exit $status
