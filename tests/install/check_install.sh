#!/usr/bin/env bash
# Installs the build into a scratch prefix, builds examples/describe.c against it twice (CMake
# package, pkg-config) and runs both on a fixture. Usage: check_install.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
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
  [ -n "$out" ] || { echo "FAIL: $exe printed nothing"; exit 1; }
done
echo "install, find_package and pkg-config builds: ok"
echo "1 passed, 0 failed"
