#!/usr/bin/env bash
# Installs the build into a scratch prefix, builds examples/describe.c against it twice (CMake
# package, pkg-config) and runs both on a fixture; then builds the tinyllava command from
# tools/cli against the installed library alone and runs the CLI test drivers given (tests/cli)
# on that binary. Usage: check_install.sh BUILD_DIR SOURCE_DIR [CLI_TEST_DRIVER...]
set -euo pipefail
build=$1
src=$2
shift 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
cmake --install "$build" --prefix "$tmp/prefix" > "$tmp/install.log"
# 1: find_package(tinyllava)
cmake -S "$src/examples" -B "$tmp/ex" -DCMAKE_PREFIX_PATH="$tmp/prefix" > "$tmp/cfg.log"
cmake --build "$tmp/ex" > "$tmp/build.log"
# 2: pkg-config
libdir=$(ls -d "$tmp/prefix"/lib*/pkgconfig | head -1)
PKG_CONFIG_PATH="$libdir" cc "$src/examples/describe.c" $(PKG_CONFIG_PATH="$libdir" pkg-config --cflags --libs --static tinyllava) \
  -Wl,-rpath,"$(dirname "$libdir")" -o "$tmp/describe_pc"
case_dir="$src/tests/fixtures/phi2_siglip_square"
for exe in "$tmp/ex/describe" "$tmp/describe_pc"; do
  out=$("$exe" "$case_dir/model" "$case_dir/image.png" "What is this?")
  if [ -n "$out" ]; then passed=$((passed + 1)); else echo "FAIL: $exe printed nothing"; failed=$((failed + 1)); fi
done
echo "install, find_package and pkg-config builds: $passed ran"
# 3: the command on the installed library (static or shared, as built), then its tests
cmake -S "$src/tools/cli" -B "$tmp/cli" -DCMAKE_PREFIX_PATH="$tmp/prefix" -DCMAKE_BUILD_RPATH="$(dirname "$libdir")" > "$tmp/cli_cfg.log"
cmake --build "$tmp/cli" > "$tmp/cli_build.log" || { cat "$tmp/cli_build.log"; exit 1; }
cli="$tmp/cli/tinyllava"
"$cli" --version > /dev/null
for driver in "$@"; do
  rc=0
  "$driver" "$cli" > "$tmp/driver.log" 2>&1 || rc=$?
  if [ "$rc" = 0 ]; then
    passed=$((passed + 1))
    echo "$(basename "$driver") on the installed command: ok"
  elif [ "$rc" = 77 ]; then
    echo "$(basename "$driver") on the installed command: skipped ($(grep -m1 skipped "$tmp/driver.log" || true))"
  else
    failed=$((failed + 1))
    echo "FAIL: $(basename "$driver") on the installed command (exit $rc):"
    tail -40 "$tmp/driver.log"
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
