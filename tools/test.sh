#!/usr/bin/env bash
# The README's test command: install dependencies, build warning-free, run the whole suite with
# the Vulkan validation layer on. Usage: tools/test.sh [build-dir] [extra cmake args...]
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup-deps.sh
dir=${1:-build}
shift || true
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B "$dir" -DTLV_WERROR=ON "$@"
cmake --build "$dir" -j"$jobs"
ctest --test-dir "$dir" --output-on-failure -j"$jobs"
