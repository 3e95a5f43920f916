#!/usr/bin/env bash
# The README's test command: install dependencies, build warning-free, run the whole suite with
# the Vulkan validation layer on. Usage:
#   tools/test.sh [--driver system|mesa25] [--subgroup 4|8|16] [--tests REGEX] [build-dir] [extra cmake args...]
# With no options: the system's Vulkan driver, whatever it picks, the whole suite.
# --driver mesa25: Mesa 25 lavapipe unpacked by tools/setup-mesa25.sh (run first; CI does).
# --subgroup N: lavapipe's subgroup size, through LP_NATIVE_VECTOR_WIDTH (4: 128, 8: 256, 16: 512).
# --tests REGEX: only the tests matching REGEX (ctest -R).
# TLV_DRIVER and TLV_SUBGROUP are the same as --driver / --subgroup.
# TLV_CTEST_EXCLUDE (a regex) leaves matching tests out (CI's sanitizer pass skips the variant
# registrations that rerun the same host code with other shaders).
set -euo pipefail
cd "$(dirname "$0")/.."
driver=${TLV_DRIVER:-} subgroup=${TLV_SUBGROUP:-} tests=""
while [ $# -gt 0 ]; do
  case "$1" in
    --driver) driver=${2:?--driver needs system or mesa25}; shift 2 ;;
    --subgroup) subgroup=${2:?--subgroup needs 4, 8 or 16}; shift 2 ;;
    --tests) tests=${2:?--tests needs a regex}; shift 2 ;;
    *) break ;;
  esac
done
bash tools/setup-deps.sh
dir=${1:-build}
shift || true
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B "$dir" -DTLV_WERROR=ON "$@"
cmake --build "$dir" -j"$jobs"

label="system driver"
case "${driver:-system}" in
  system) ;;
  mesa25)
    icd=$PWD/.deps/mesa25/lvp_icd.json
    [ -f "$icd" ] || { echo "test.sh: no Mesa 25 driver in .deps/mesa25: run tools/setup-mesa25.sh first" >&2; exit 1; }
    export VK_ICD_FILENAMES=$icd
    export LD_LIBRARY_PATH=$PWD/.deps/mesa25/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    label="Mesa 25 lavapipe (.deps/mesa25)" ;;
  *) echo "test.sh: unknown driver '$driver' (system, mesa25)" >&2; exit 2 ;;
esac
if [ -n "$subgroup" ]; then
  case "$subgroup" in
    4) export LP_NATIVE_VECTOR_WIDTH=128 ;;
    8) export LP_NATIVE_VECTOR_WIDTH=256 ;;
    16) export LP_NATIVE_VECTOR_WIDTH=512 ;;
    *) echo "test.sh: unknown subgroup size '$subgroup' (4, 8, 16)" >&2; exit 2 ;;
  esac
  label="$label, subgroup $subgroup"
fi
if [ -n "$subgroup" ] || [ "${driver:-system}" = mesa25 ]; then
  # Mesa 25 lavapipe's on-disk shader cache does not key its entries on LP_NATIVE_VECTOR_WIDTH:
  # code compiled at one width is reused at another (wrong sums, NaNs, crashes). A cache of
  # its own per driver and width (docs/DEVICES.md).
  export MESA_SHADER_CACHE_DIR=$PWD/$dir/mesa-shader-cache/${driver:-system}-sg${subgroup:-default}
fi
if [ -n "$driver$subgroup" ]; then
  # the device the tests will get, so that a log shows which driver and subgroup size ran
  banner=$("$dir/tools/tinyllava" devices 2>&1 | sed -n 2p | sed 's/^ *//') || true
  echo "== test.sh: $label: ${banner:-no Vulkan device}"
  if [ "${driver:-system}" = mesa25 ] && ! grep -q "Mesa 25" <<<"$banner"; then
    echo "test.sh: FAILED: asked for Mesa 25 but the device is: $banner" >&2; exit 1
  fi
  if [ -n "$subgroup" ] && ! grep -q "subgroup $subgroup " <<<"$banner"; then
    echo "test.sh: FAILED: asked for subgroup $subgroup but the device is: $banner" >&2; exit 1
  fi
fi
args=(--test-dir "$dir" --output-on-failure -j"$jobs")
[ -n "$tests" ] && args+=(-R "$tests")
[ -n "${TLV_CTEST_EXCLUDE:-}" ] && args+=(-E "$TLV_CTEST_EXCLUDE")
rc=0
ctest "${args[@]}" || rc=$?
if [ -n "$driver$subgroup" ]; then
  if [ $rc -eq 0 ]; then echo "== test.sh: passed on $label"; else echo "== test.sh: FAILED on $label" >&2; fi
fi
exit $rc
