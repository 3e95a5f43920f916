#!/usr/bin/env bash
# CI: the library, the CLI, the bench and the JNI bridge cross-compiled for 64-bit ARM Linux
# (aarch64) with Debian's cross gcc, checked with `file`, then run under qemu-user where it can:
#
#   A. system dependencies (Debian multiarch :arm64 packages, libcurl included), -Werror, through
#      examples/android/jni/CMakeLists.txt (library + libtinyllava_jni.so + CLI + bench + the
#      CPU-only tests); under qemu: `tinyllava --version`, `tinyllava devices` (no Vulkan driver:
#      a clean error, exit code 3) and the CPU-only test folders (char is unsigned on aarch64).
#   B. the Android configuration on aarch64 Linux: dependencies built from source
#      (cmake/deps/FromSource.cmake, fed Debian's upstream tarballs and headers instead of git),
#      TLV_WITH_CURL=OFF; the result must need nothing but libc and libm.
#
# Installs what is missing (apt-get; idempotent: a second run installs nothing). Usage:
#   tools/cross/ci_aarch64.sh [BUILD_PREFIX]          (default build-aarch64: -a and -b folders)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
prefix=${1:-build-aarch64}
start=$(date +%s)
say() { echo "== aarch64 ($(( $(date +%s) - start )) s): $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi

# ------------------------------------------------------------------ what is needed
triplet=aarch64-linux-gnu
pkgs=()
command -v $triplet-gcc >/dev/null || pkgs+=("gcc-$triplet")
command -v $triplet-g++ >/dev/null || pkgs+=("g++-$triplet")
for p in libcjson-dev libpcre2-dev libutf8proc-dev libcurl4-openssl-dev; do
  dpkg-query -W -f='${Status}' "$p:arm64" 2>/dev/null | grep -q "ok installed" || pkgs+=("$p:arm64")
done
command -v qemu-aarch64-static >/dev/null || command -v qemu-aarch64 >/dev/null || pkgs+=(qemu-user-static)
jni_h=$(ls /usr/lib/jvm/*/include/linux/jni_md.h 2>/dev/null | head -1 || true)
[ -n "$jni_h" ] || pkgs+=(openjdk-17-jdk-headless)
if [ ${#pkgs[@]} -gt 0 ]; then
  say "installing ${pkgs[*]}"
  dpkg --print-foreign-architectures | grep -qx arm64 || $SUDO dpkg --add-architecture arm64
  $SUDO apt-get update -q >/dev/null
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${pkgs[@]}" >/dev/null
  jni_h=$(ls /usr/lib/jvm/*/include/linux/jni_md.h | head -1)
fi
jni_inc=$(dirname "$(dirname "$jni_h")")
qemu=$(command -v qemu-aarch64-static || command -v qemu-aarch64 || true)
toolchain=$root/cmake/toolchains/aarch64-linux-gnu.cmake

is_arm64() { # every file given is an aarch64 ELF (an archive: every member)
  for f in "$@"; do
    case $f in
    *.a)
      machines=$($triplet-readelf -h "$f" | sed -n 's/^ *Machine: *//p' | sort | uniq -c | sed 's/^ *//')
      [ "$(echo "$machines" | wc -l)" = 1 ] && echo "$machines" | grep -q "AArch64$" ||
        fail "$f: members not all AArch64: $machines"
      echo "   $(basename "$f"): $(file -b "$f"), objects: $machines";;
    *)
      file -b "$f" | grep -q "ELF 64-bit LSB.*ARM aarch64" || fail "$f is not an aarch64 ELF: $(file -b "$f")"
      echo "   $(basename "$f"): $(file -b "$f" | cut -d, -f1-2)";;
    esac
  done
}
exports_only_jni_onload() {
  local syms
  syms=$($triplet-nm -D --defined-only "$1" | awk '{print $3}' | sort | tr '\n' ' ')
  [ "$syms" = "JNI_OnLoad " ] || fail "$1 exports more than JNI_OnLoad: $syms"
  echo "   $(basename "$1") exports: $syms"
}

# ------------------------------------------------------------------ A. system dependencies
A=$prefix-a
say "A: configure $A (multiarch :arm64 dependencies)"
mkdir -p "$A"
cmake -S examples/android/jni -B "$A" -DCMAKE_TOOLCHAIN_FILE="$toolchain" -DTLV_WERROR=ON \
  -DTLV_BUILD_TOOLS=ON -DTLV_BUILD_TESTS=ON -DTLV_TEST_DIRS="core;formats;image;text;template" \
  -DTLV_JNI_INCLUDE_DIR="$jni_inc" >"$A/ci-configure.log" 2>&1 || { cat "$A/ci-configure.log"; fail "configure A"; }
say "A: build"
cmake --build "$A" -j"$(nproc)" >"$A/ci-build.log" 2>&1 || { tail -40 "$A/ci-build.log"; fail "build A"; }
is_arm64 "$A/tinyllava/libtinyllava.a" "$A/libtinyllava_jni.so" "$A/tinyllava/tools/tinyllava" \
  "$A/tinyllava/bench/tinyllava-bench"
# The x86 SHA-NI path of src/hub/sha256.c is compiled on x86-64 only.
if $triplet-nm "$A/tinyllava/libtinyllava.a" 2>/dev/null | grep -q shani; then fail "x86 SHA-NI code in the aarch64 library"; fi
echo "   no x86-only code (sha256: portable path only)"
exports_only_jni_onload "$A/libtinyllava_jni.so"

if [ -n "$qemu" ]; then
  say "A: under $(basename "$qemu")"
  run() { "$qemu" -L /usr/$triplet "$@"; }
  v=$(run "$A/tinyllava/tools/tinyllava" --version) || fail "tinyllava --version"
  echo "   tinyllava --version: $(echo "$v" | tail -1)"
  set +e
  msg=$(run "$A/tinyllava/tools/tinyllava" devices 2>&1)
  rc=$?
  set -e
  [ $rc -eq 3 ] || fail "tinyllava devices: exit code $rc (expected 3, no Vulkan driver): $msg"
  echo "$msg" | grep -q "no Vulkan driver" || fail "tinyllava devices: unexpected message: $msg"
  echo "   tinyllava devices: exit code 3, \"$msg\""
  ctest --test-dir "$A" -j"$(nproc)" -LE bench --output-on-failure >"$A/ci-ctest.log" 2>&1 ||
    { cat "$A/ci-ctest.log"; fail "tests under qemu"; }
  echo "   $(grep "tests passed" "$A/ci-ctest.log") (CPU-only folders, under qemu)"
else
  say "A: qemu-aarch64 not available: nothing run"
fi

# ------------------------------------------------------------------ B. the Android configuration
# Upstream sources of the versions cmake/deps/FromSource.cmake names, from Debian's source
# archive (a private apt state under the build folder: the system's apt configuration is not
# touched); volk, Vulkan-Headers and stb_image are arch-independent files already in /usr.
B=$prefix-b
src=$B-src
if ! ls "$src"/cJSON-*/cJSON.c "$src"/pcre2-*/CMakeLists.txt "$src"/utf8proc-*/utf8proc.c >/dev/null 2>&1; then
  say "B: fetching the sources of cjson, pcre2, utf8proc (apt-get source)"
  rm -rf "$src"
  mkdir -p "$src/lists/partial" "$src/cache/archives/partial"
  cat >"$src/sources.list" <<'LIST'
deb-src http://deb.debian.org/debian bookworm main
deb-src http://deb.debian.org/debian bookworm-updates main
deb-src http://deb.debian.org/debian-security bookworm-security main
LIST
  apt_opts=(-o Dir::Etc::SourceList="$root/$src/sources.list" -o Dir::Etc::SourceParts=/nonexistent
            -o Dir::State::Lists="$root/$src/lists" -o Dir::Cache="$root/$src/cache" -o APT::Sandbox::User=root)
  apt-get "${apt_opts[@]}" update -q >"$src/apt.log" 2>&1 || { cat "$src/apt.log"; fail "apt-get update (deb-src)"; }
  # only the upstream tarballs are needed: a Debian patch missing from a mirror is no failure
  (cd "$src" && apt-get "${apt_opts[@]}" source --download-only cjson pcre2 utf8proc >>apt.log 2>&1) || true
  for t in "$src"/cjson_*.orig.tar.* "$src"/pcre2_*.orig.tar.* "$src"/utf8proc_*.orig.tar.*; do
    [ -f "$t" ] || { cat "$src/apt.log"; fail "no upstream tarball $t"; }
    tar -C "$src" -xf "$t"
  done
fi
cjson=$(ls -d "$root/$src"/cJSON-* | head -1)
pcre2=$(ls -d "$root/$src"/pcre2-* | head -1)
utf8proc=$(ls -d "$root/$src"/utf8proc-* | head -1)
say "B: configure $B (from source: $(basename "$cjson") $(basename "$pcre2") $(basename "$utf8proc"); TLV_WITH_CURL=OFF)"
mkdir -p "$B"
cmake -S examples/android/jni -B "$B" -DCMAKE_TOOLCHAIN_FILE="$toolchain" -DTLV_WERROR=ON \
  -DTLV_BUILD_TOOLS=ON -DTLV_DEPS_FROM_SOURCE=ON -DTLV_WITH_CURL=OFF -DTLV_JNI_INCLUDE_DIR="$jni_inc" \
  -DFETCHCONTENT_FULLY_DISCONNECTED=ON \
  -DFETCHCONTENT_SOURCE_DIR_CJSON="$cjson" -DFETCHCONTENT_SOURCE_DIR_PCRE2="$pcre2" \
  -DFETCHCONTENT_SOURCE_DIR_UTF8PROC="$utf8proc" -DFETCHCONTENT_SOURCE_DIR_VOLK=/usr/include \
  -DFETCHCONTENT_SOURCE_DIR_VULKAN_HEADERS=/usr -DFETCHCONTENT_SOURCE_DIR_STB=/usr/include/stb \
  >"$B/ci-configure.log" 2>&1 || { cat "$B/ci-configure.log"; fail "configure B"; }
say "B: build"
cmake --build "$B" -j"$(nproc)" --target tinyllava_jni tinyllava-cli >"$B/ci-build.log" 2>&1 ||
  { tail -40 "$B/ci-build.log"; fail "build B"; }
is_arm64 "$B/libtinyllava_jni.so" "$B/tinyllava/tools/tinyllava"
exports_only_jni_onload "$B/libtinyllava_jni.so"
for f in "$B/libtinyllava_jni.so" "$B/tinyllava/tools/tinyllava"; do
  needed=$($triplet-readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort | tr '\n' ' ')
  for n in $needed; do
    case $n in libc.so.6 | libm.so.6 | ld-linux-aarch64.so.1) ;; *) fail "$f needs $n (from source: only libc, libm)";; esac
  done
  echo "   $(basename "$f") needs: $needed"
done
if [ -n "$qemu" ]; then
  v=$("$qemu" -L /usr/$triplet "$B/tinyllava/tools/tinyllava" --version | tail -1) || fail "B: tinyllava --version"
  echo "   tinyllava --version (B, under qemu): $v"
fi
say "done: aarch64 library, CLI, bench and JNI bridge built and checked"
