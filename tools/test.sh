#!/usr/bin/env bash
# The README's test command: install dependencies, build warning-free, run the whole suite with
# the Vulkan validation layer on. Usage: tools/test.sh [build-dir] [extra cmake args...]
# TLV_CTEST_EXCLUDE (a regex) leaves matching tests out (CI's sanitizer pass skips the variant
# registrations that rerun the same host code with other shaders).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup-deps.sh
dir=${1:-build}
shift || true
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B "$dir" -DTLV_WERROR=ON "$@"
cmake --build "$dir" -j"$jobs"
if [ -n "${TLV_CTEST_EXCLUDE:-}" ]; then
  ctest --test-dir "$dir" --output-on-failure -j"$jobs" -E "$TLV_CTEST_EXCLUDE"
else
  ctest --test-dir "$dir" --output-on-failure -j"$jobs"
fi
