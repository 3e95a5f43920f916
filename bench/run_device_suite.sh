#!/bin/sh
# run_device_suite.sh: on a machine with a GPU, build the project, run the whole ctest suite on
# that GPU and the bench, and write everything under one output folder. Made to fit about 10
# minutes on a large GPU (NVIDIA H100): Release build, ctest -j8, bench kernels + the
# qwen2-0.5b-siglip and phi2-siglip-3.1b presets in f16. Every step has its own time limit, so a
# slow step leaves the later ones their time and what finished is kept.
#
# usage: bench/run_device_suite.sh [OUT_DIR]      (default: $OUT)
#
# environment:
#   TLV_DEVICE   which Vulkan device (index or name substring); default: "nvidia" when nvidia-smi
#                exists, else the library's choice (discrete > integrated > virtual > CPU). The
#                tests pick device 0 without it, which may be llvmpipe, so set it.
#   BUILD        build folder (default: build-device in the source tree); an existing one is reused
#   CMAKE_ARGS   extra configure arguments (e.g. -DTLV_DEPS_FROM_SOURCE=ON -DFETCHCONTENT_SOURCE_DIR_...)
#   JOBS         build jobs (16); CTEST_JOBS (8); CTEST_LIMIT seconds for the whole ctest run (240)
#   SKIP_TESTS=1 skip ctest;  BENCH_REPS  -r of the bench (5)
#
# Output: machine.txt, configure.log, build.log, ctest.log (+ the failed tests' output),
# kernels.json/.txt, floor.txt (bench/floor), qwen2-0.5b.json/.txt, phi2-3.1b.json/.txt,
# qwen2-0.5b-quant and phi2-3.1b-quant (.json/.txt: f16, q8_0, q4_0 in one run), compare.md + compare.svg
# (the runs side by side with bench/results/lavapipe-*.json), summary.txt.
set -u
OUT_DIR=${1:-${OUT:-}}
if [ -z "$OUT_DIR" ]; then
  echo "usage: $0 OUT_DIR (or set OUT)" >&2
  exit 2
fi
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$SRC/build-device}
JOBS=${JOBS:-16}
CTEST_JOBS=${CTEST_JOBS:-8}
CTEST_LIMIT=${CTEST_LIMIT:-240}
REPS=${BENCH_REPS:-5}
mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)
SUMMARY="$OUT_DIR/summary.txt"
: > "$SUMMARY"
note() { echo "$*" | tee -a "$SUMMARY"; }
t0=$(date +%s)
since() { echo $(( $(date +%s) - t0 ))s; }

if [ -z "${TLV_DEVICE:-}" ] && command -v nvidia-smi > /dev/null 2>&1; then
  TLV_DEVICE=nvidia
fi
[ -n "${TLV_DEVICE:-}" ] && export TLV_DEVICE
# a pipeline cache of our own: the first bench run is cold, later ones warm
export TLV_CACHE_DIR="$BUILD/pipeline-cache"

{
  date -u; uname -a
  command -v nvidia-smi > /dev/null 2>&1 && nvidia-smi
  command -v vulkaninfo > /dev/null 2>&1 && vulkaninfo --summary 2>/dev/null
  nproc; free -g 2>/dev/null
  echo "TLV_DEVICE=${TLV_DEVICE:-}"
  (cd "$SRC" && git rev-parse --short HEAD 2>/dev/null && git status --short 2>/dev/null | head -20)
} > "$OUT_DIR/machine.txt" 2>&1

# ---------------------------------------------------------------- build
# shellcheck disable=SC2086
if ! cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DTLV_WERROR=OFF ${CMAKE_ARGS:-} \
    > "$OUT_DIR/configure.log" 2>&1; then
  note "configure FAILED ($(since)); see configure.log"
  tail -30 "$OUT_DIR/configure.log"
  exit 1
fi
if ! cmake --build "$BUILD" -j"$JOBS" > "$OUT_DIR/build.log" 2>&1; then
  note "build FAILED ($(since)); see build.log"
  grep -E "error|Error" "$OUT_DIR/build.log" | head -30
  exit 1
fi
note "build ok ($(since))"
BENCH="$BUILD/bench/tinyllava-bench"

# ---------------------------------------------------------------- tests on the GPU
if [ "${SKIP_TESTS:-0}" != 1 ]; then
  timeout -k 10 "$CTEST_LIMIT" ctest --test-dir "$BUILD" -j"$CTEST_JOBS" --timeout 180 --output-on-failure \
    > "$OUT_DIR/ctest.log" 2>&1
  rc=$?
  note "ctest rc $rc ($(since)): $(grep -E 'tests passed|tests failed' "$OUT_DIR/ctest.log" | tail -1)"
  grep -E '^\s+[0-9]+ - ' "$OUT_DIR/ctest.log" | head -40 | tee -a "$SUMMARY"
  [ $rc -eq 124 ] && note "ctest hit its limit of ${CTEST_LIMIT}s"
fi

# ---------------------------------------------------------------- bench
run_bench() { # name limit args...
  name=$1; limit=$2; shift 2
  timeout -k 10 "$limit" "$BENCH" "$@" --json "$OUT_DIR/$name.json" > "$OUT_DIR/$name.txt" 2>&1
  rc=$?
  note "bench $name rc $rc ($(since))"
  grep -E '^\| (-|[a-z0-9])' "$OUT_DIR/$name.txt" | grep -v '^| model' | tee -a "$SUMMARY" > /dev/null
}
run_bench kernels 90 kernels -r "$REPS" -t f16,bf16,q8_0,q4_0
# the cost of one fetch outside the runtime (texel / storage / buffer_reference): seconds
timeout -k 5 60 "$BUILD/bench/tlv-floor" -D "${TLV_DEVICE:-0}" > "$OUT_DIR/floor.txt" 2>&1
note "tlv-floor rc $? ($(since))"
grep '^| [a-z]' "$OUT_DIR/floor.txt" | tee -a "$SUMMARY" > /dev/null
run_bench qwen2-0.5b 150 -P qwen2-0.5b-siglip -t f16 -r "$REPS"
run_bench phi2-3.1b 180 -P phi2-siglip-3.1b -t f16 -r "$REPS" -p 64,512 -d 0,1024
# quantized weights (issue 12; target on a GPU: decode at q4_0 >= 2.5x f16), f16 in the same run
# for the ratio, and the KV cache in f16
run_bench qwen2-0.5b-quant 120 -P qwen2-0.5b-siglip -t f16,q8_0,q4_0 -r "$REPS" -p 64,512 -n 128 -d 0 --no-image
run_bench phi2-3.1b-quant 150 -P phi2-siglip-3.1b -t f16,q8_0,q4_0 --kv f16 -r "$REPS" -p 512 -n 128 -d 0 --no-image

set --
for f in "$SRC"/bench/results/lavapipe-*.json "$OUT_DIR"/kernels.json "$OUT_DIR"/qwen2-0.5b.json "$OUT_DIR"/phi2-3.1b.json \
         "$OUT_DIR"/qwen2-0.5b-quant.json "$OUT_DIR"/phi2-3.1b-quant.json; do
  [ -s "$f" ] && set -- "$@" "$f"
done
[ $# -gt 0 ] && "$BENCH" --compare "$@" --svg "$OUT_DIR/compare.svg" > "$OUT_DIR/compare.md" 2>&1
note "done ($(since))"
cat "$SUMMARY"
