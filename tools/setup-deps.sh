#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages that building and testing tinyllava-vk need.
# Safe to run repeatedly; does nothing when everything is already there.
# --fuzz: also the libFuzzer runtime for -DTLV_FUZZ=ON (only recommended by clang, so absent
# from a --no-install-recommends install): libclang-rt-<clang major>-dev.
set -euo pipefail
pkgs=(
  build-essential cmake pkg-config clang
  libvulkan-dev libvulkan-volk-dev glslc glslang-tools spirv-tools
  mesa-vulkan-drivers vulkan-validationlayers vulkan-tools
  libstb-dev libcjson-dev libpcre2-dev libutf8proc-dev libcurl4-openssl-dev
  python3
)
if [ "${1:-}" = "--fuzz" ]; then
  major=$(clang --version 2>/dev/null | sed -n 's/.*clang version \([0-9]*\).*/\1/p' | head -n1)
  pkgs+=("libclang-rt-${major:-14}-dev")
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# glslc is not packaged on every release; glslang-tools is the fallback.
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  avail=()
  for p in "${missing[@]}"; do
    if apt-cache show "$p" >/dev/null 2>&1; then avail+=("$p"); else echo "setup-deps: package $p not available, skipping" >&2; fi
  done
  [ ${#avail[@]} -gt 0 ] && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${avail[@]}"
fi
echo "setup-deps: ok"
