#!/usr/bin/env bash
# Builds the libFuzzer targets (docs/TESTING.md) with clang and runs each for a while,
# one after another; stops at the first crash, leak, timeout or out-of-memory and leaves the
# input in <build>/fuzz-artifacts/<target>/.
#
# Usage: tools/fuzz.sh [seconds per target, default 300] [target ...]   (targets: safetensors
#        config tokenizer template image; default all)
# Environment: TLV_FUZZ_BUILD (build folder, default build-fuzz), TLV_FUZZ_JOBS (parallel fuzzing
#        processes per target, default 1), TLV_FUZZ_ARGS (more libFuzzer flags).
# New inputs the fuzzer finds go to <build>/fuzz-corpus/<target>/ and are reused by the next
# run; tests/fuzz/<target>/ (the seeds in the repository) is only read.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-300}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(safetensors config tokenizer template image)
build=${TLV_FUZZ_BUILD:-build-fuzz}
jobs=${TLV_FUZZ_JOBS:-1}

bash tools/setup-deps.sh --fuzz
CC=clang CXX=clang++ cmake -S . -B "$build" -DTLV_FUZZ=ON -DTLV_WERROR=ON -DTLV_BUILD_TESTS=OFF -DTLV_BUILD_TOOLS=OFF
cmake --build "$build" -j"$(nproc 2>/dev/null || echo 2)" --target fuzz

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
for t in "${targets[@]}"; do
  exe="$build/tests/fuzz/fuzz_$t"
  [ -x "$exe" ] || { echo "fuzz.sh: no target '$t' ($exe)" >&2; exit 2; }
  corpus="$build/fuzz-corpus/$t"
  artifacts="$build/fuzz-artifacts/$t"
  mkdir -p "$corpus" "$artifacts"
  echo "== fuzz_$t for ${secs} s"
  # -rss_limit_mb: a forged size must not make us allocate gigabytes; -timeout: no input may
  # take more than 10 s (a hang); -max_len: the largest seed is 16 KB.
  par=()
  # -jobs runs workers in the background with their output in fuzz-<n>.log files: only when asked
  [ "$jobs" -gt 1 ] && par=(-jobs="$jobs" -workers="$jobs")
  # shellcheck disable=SC2086
  "$exe" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -max_len=65536 -print_final_stats=1 \
    "${par[@]}" -artifact_prefix="$artifacts/" ${TLV_FUZZ_ARGS:-} "$corpus" "tests/fuzz/$t"
done
echo "fuzz.sh: no crash in ${targets[*]} (${secs} s each)"
