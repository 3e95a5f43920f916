#!/usr/bin/env bash
# Unpacks a second Vulkan driver, Mesa 25 lavapipe from Debian's <codename>-backports, into
# .deps/mesa25/ beside the system driver (which is never touched), and writes
# .deps/mesa25/lvp_icd.json naming the unpacked library. Select it with
#   VK_ICD_FILENAMES=$PWD/.deps/mesa25/lvp_icd.json LD_LIBRARY_PATH=$PWD/.deps/mesa25/lib
# (or `tools/test.sh --driver mesa25`). The backports suite is taken from the machine's own
# configured Debian source (/etc/apt/sources.list*); the system's apt configuration is not changed:
# apt runs with a private sources list and private package lists under .deps/apt/.
# Does nothing when already unpacked. Exit 0 ok, 1 failure (missing suite, no network, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=$root/.deps/mesa25
fail() { echo "setup-mesa25: $*" >&2; echo "setup-mesa25: the second driver (Mesa 25 lavapipe) is NOT set up; the system driver is unaffected" >&2; exit 1; }

if [ -f "$out/lvp_icd.json" ] && [ -f "$out/lib/libvulkan_lvp.so" ]; then
  echo "setup-mesa25: already unpacked in $out"
  exit 0
fi
command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || fail "needs apt-get and dpkg-deb (Debian)"
. /etc/os-release 2>/dev/null || true
codename=${VERSION_CODENAME:-}
[ -n "$codename" ] || fail "cannot tell the Debian release (no VERSION_CODENAME in /etc/os-release)"

# The first configured source (deb822 .sources or one-line .list) that carries "$codename":
# its URI and keyring.
uri="" key=""
for f in /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  read -r uri key < <(awk -v cn="$codename" '
    function flush() { if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " cn " ") && u != "" && !done) { print u, (sk == "" ? "-" : sk); done = 1 } types = suites = u = sk = "" }
    /^[ \t]*$/ { flush(); next }
    /^[ \t]*#/ { next }
    /^Types:/ { sub(/^Types:[ \t]*/, ""); types = $0 }
    /^Suites:/ { sub(/^Suites:[ \t]*/, ""); suites = $0 }
    /^URIs:/ { u = $2 }
    /^Signed-By:/ { sk = $2 }
    END { flush() }' "$f") || true
  [ -n "$uri" ] && break
done
if [ -z "$uri" ]; then
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    line=$(grep -E "^[[:space:]]*deb[[:space:]].*[[:space:]]$codename[[:space:]]" "$f" | head -1) || true
    [ -n "$line" ] || continue
    key=$(sed -n 's/.*signed-by=\([^] ]*\).*/\1/p' <<<"$line")
    uri=$(sed -e 's/\[[^]]*\]//' <<<"$line" | awk '{print $2}')
    break
  done
fi
[ -n "$uri" ] || fail "no configured Debian source for '$codename' in /etc/apt/sources.list*"
[ -n "$key" ] && [ "$key" != "-" ] && [ -f "$key" ] || key=/usr/share/keyrings/debian-archive-keyring.gpg
[ -f "$key" ] || fail "no Debian archive keyring at $key"

apt_dir=$root/.deps/apt
rm -rf "$apt_dir"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/parts" "$apt_dir/cache/archives/partial" "$apt_dir/debs"
echo "deb [signed-by=$key] $uri $codename-backports main" > "$apt_dir/sources.list"
apt_opts=(-o Dir::Etc::SourceList="$apt_dir/sources.list" -o Dir::Etc::SourceParts="$apt_dir/parts"
  -o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache="$apt_dir/cache" -o Dir::Cache::pkgcache=""
  -o Dir::Cache::srcpkgcache="" -o APT::Sandbox::User="$(id -un)" -o Debug::NoLocking=1)
echo "setup-mesa25: fetching $codename-backports from $uri"
apt-get "${apt_opts[@]}" -qq update || fail "cannot read $codename-backports from $uri (no network, or no backports suite there)"
# mesa-vulkan-drivers and the newer libdrm it links against, all from backports
pkgs=(mesa-vulkan-drivers libdrm2 libdrm-amdgpu1)
(cd "$apt_dir/debs" && apt-get "${apt_opts[@]}" -qq download "${pkgs[@]/%//$codename-backports}") ||
  fail "apt-get download ${pkgs[*]} from $codename-backports failed"
rm -rf "$out.tmp"
mkdir -p "$out.tmp"
for d in "$apt_dir"/debs/*.deb; do dpkg-deb -x "$d" "$out.tmp/root"; done
lib=$(find "$out.tmp/root" -name libvulkan_lvp.so | head -1)
[ -n "$lib" ] || fail "no libvulkan_lvp.so in the downloaded mesa-vulkan-drivers"
ln -s "${lib#"$out.tmp/"}" "$out.tmp/libvulkan_lvp_path"
libdir_rel=$(dirname "${lib#"$out.tmp/"}")
ln -s "$libdir_rel" "$out.tmp/lib"
icd=$(find "$out.tmp/root" -name 'lvp_icd*.json' | head -1)
api=$(sed -n 's/.*"api_version"[^"]*"\([^"]*\)".*/\1/p' "$icd" 2>/dev/null | head -1)
rm -f "$out.tmp/libvulkan_lvp_path"
printf '{ "file_format_version": "1.0.0", "ICD": { "library_path": "%s", "api_version": "%s" } }\n' \
  "$out/lib/libvulkan_lvp.so" "${api:-1.3.0}" > "$out.tmp/lvp_icd.json"
missing=$(LD_LIBRARY_PATH="$out.tmp/lib" ldd "$out.tmp/lib/libvulkan_lvp.so" | grep 'not found' || true)
[ -z "$missing" ] || fail "libvulkan_lvp.so needs libraries this machine lacks: $missing"
rm -rf "$out"
mv "$out.tmp" "$out"
dpkg-deb -f "$apt_dir"/debs/mesa-vulkan-drivers_*.deb Version > "$out/VERSION"
echo "setup-mesa25: Mesa $(cat "$out/VERSION") lavapipe in $out (ICD $out/lvp_icd.json)"
