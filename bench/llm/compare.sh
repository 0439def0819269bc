#!/bin/sh
# llama.cpp's Vulkan backend natively and through PearVisor, interleaved run by run, in two
# parts: generation (a short prompt, then TOKENS tokens: the generated text must be the same on
# both paths) and prompt processing (a PROMPT_WORDS-token prompt, one token generated). Medians
# of llama.cpp's own tokens/s are reported per path.
#
# usage: bench/llm/compare.sh LLAMA_SIMPLE MODEL.gguf [RUNS [TOKENS [PROMPT_WORDS]]]
# Environment: PEARVISOR (default: pearvisor on PATH), PV_NATIVE_ICD (the host driver
# manifest, default lavapipe's), PV_VENUS_ICD (Mesa venus, default Debian's), OUT (a folder
# for the logs, default a new one under /tmp).
set -eu

if [ $# -lt 2 ]; then
   sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
   exit 2
fi
simple=$1 model=$2 runs=${3:-3} tokens=${4:-128} words=${5:-512}
pearvisor=${PEARVISOR:-pearvisor}
native_icd=${PV_NATIVE_ICD:-/usr/share/vulkan/icd.d/lvp_icd.json}
venus_icd=${PV_VENUS_ICD:-/usr/share/vulkan/icd.d/virtio_icd.json}
out=${OUT:-$(mktemp -d /tmp/pv-llm-XXXXXX)}
mkdir -p "$out"

# Two-letter words, one token each in make-llama-gguf.py's vocabulary: a prompt of n tokens.
prompt_of() {
   awk -v n="$1" 'BEGIN { a = "abcdefghijklmnopqrstuvwxyz"
      for (i = 0; i < n; i++) printf "%s%s ", substr(a, int(i / 26) % 26 + 1, 1), substr(a, i % 26 + 1, 1) }'
}
short_prompt=$(prompt_of 5)
long_prompt=$(prompt_of "$words")

# run NAME TOKENS PROMPT CMD...: the generated text to $out/NAME.txt, the log to $out/NAME.log.
run() {
   name=$1 n=$2 prompt=$3
   shift 3
   if ! "$@" "$simple" -m "$model" -n "$n" -ngl 99 "$prompt" >"$out/$name.txt" 2>"$out/$name.log"; then
      echo "$name failed; last lines of $out/$name.log:" >&2
      tail -20 "$out/$name.log" >&2
      exit 1
   fi
}
native() { env VK_DRIVER_FILES="$native_icd" VK_ICD_FILENAMES="$native_icd" "$@"; }
virtual() { "$pearvisor" run --icd "$native_icd" --venus-icd "$venus_icd" -- "$@"; }

# llama.cpp's tokens/s from its timing line: "prompt" or "eval".
rate() {
   awk -v which="$1" '($0 ~ which " time") && (which == "prompt eval" || $0 !~ /prompt/) {
         for (i = 1; i <= NF; i++) if ($i == "tokens" && $(i+1) == "per") r = $(i-1) }
      END { print r }' "$2"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# row LABEL WHICH GLOB: the median and every run's rate.
row() {
   all=$(for f in $out/$3; do rate "$2" "$f"; done)
   printf '%-34s %10s   (runs: %s)\n' "$1" "$(echo "$all" | median)" "$(echo "$all" | tr '\n' ' ')"
}

# The stock guest (Mesa venus 25.0) has no cooperative-matrix extension, so ggml's matrix-core
# kernels run only natively, and other kernels round differently: with them the two paths
# would not generate the same text. The compared runs use the kernels both paths have.
export GGML_VK_DISABLE_COOPMAT=1 GGML_VK_DISABLE_COOPMAT2=1

# A first native run of each part fills the driver's pipeline cache, so that no timed run
# pays for compilation.
echo "warm-up (pipeline cache) ..." >&2
run warmup-gen "$tokens" "$short_prompt" native
run warmup-prompt 1 "$long_prompt" native
i=1
while [ "$i" -le "$runs" ]; do
   echo "run $i of $runs: native, then PearVisor ..." >&2
   run "native-gen-$i" "$tokens" "$short_prompt" native
   run "pearvisor-gen-$i" "$tokens" "$short_prompt" virtual
   if ! cmp -s "$out/native-gen-$i.txt" "$out/pearvisor-gen-$i.txt"; then
      echo "FAIL: run $i generated different text:" >&2
      diff "$out/native-gen-$i.txt" "$out/pearvisor-gen-$i.txt" >&2 || true
      exit 1
   fi
   run "native-prompt-$i" 1 "$long_prompt" native
   run "pearvisor-prompt-$i" 1 "$long_prompt" virtual
   i=$((i + 1))
done

device=$(sed -n 's/^ggml_vulkan: 0 = \(.*\) | uma.*/\1/p' "$out/native-gen-1.log" | head -1)
printf 'device: %s\nmodel: %s; %s runs per path, interleaved\n' "$device" "$(basename "$model")" "$runs"
row "generation tok/s, native" eval 'native-gen-*.log'
row "generation tok/s, PearVisor" eval 'pearvisor-gen-*.log'
row "prompt ($words tokens) tok/s, native" "prompt eval" 'native-prompt-*.log'
row "prompt ($words tokens) tok/s, PearVisor" "prompt eval" 'pearvisor-prompt-*.log'
echo "same text ($tokens tokens generated) in every run: yes"
