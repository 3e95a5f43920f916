#!/bin/bash
# Round 9 (issue 13 item 3): the tuning choices on Mesa 25.0 beside 22.3, alternated.
# From the repository root, with a Release build in build-rel and Mesa 25 in .deps/mesa25
# (tools/setup-mesa25.sh). Each pass runs every variant once, in the same order; three passes.
# Output: /tmp/r9/<variant>_<pass>.txt (+ .json); summarise with bench/results/round9/summary.py.
set -u
out=${OUT:-/tmp/r9}; mkdir -p "$out"
M25=$PWD/.deps/mesa25
m25="VK_ICD_FILENAMES=$M25/lvp_icd.json LD_LIBRARY_PATH=$M25/lib MESA_SHADER_CACHE_DIR=$out/m25cache"
b=build-rel/bench/tinyllava-bench
text="-P qwen2-0.5b-siglip -t f16 -p 64 -n 32 -d 0 -r 3 --no-image --no-profile --no-probe"
img="-P qwen2-0.5b-siglip -t f16 -p 64 -n 0 -d 0 -r 2 --ttft 0 --no-profile --no-probe"
# name | driver (22/25) | env | args
variants=(
  "floor22|22||FLOOR"
  "floor25|25||FLOOR"
  "img22|22||$img"
  "img25|25||$img"
  "def22|22||$text"
  "def25|25||$text"
  "rows2_25|25|TLV_TUNE_MV_ROWS=2|$text"
  "rows8_25|25|TLV_TUNE_MV_ROWS=8|$text"
  "nm1_25|25|TLV_TUNE_MV_MAX_NM=1|$text"
  "mode0_25|25|TLV_TUNE_MV_MODE=0|$text"
  "wgs16_25|25|TLV_TUNE_MV_TARGET_WGS=16|$text"
  "wgs64_25|25|TLV_TUNE_MV_TARGET_WGS=64|$text"
  "many4x4_25|25|TLV_TUNE_MV_SHUFFLE_MANY_ROWS=4 TLV_TUNE_MV_SHUFFLE_MANY_NM=4|$text"
  "many8x2_25|25|TLV_TUNE_MV_SHUFFLE_MANY_ROWS=2 TLV_TUNE_MV_SHUFFLE_MANY_NM=8|$text"
  "attn22|22||-P qwen2-0.5b-siglip -t f16 -p 0 -n 16 -d 1024 -r 2 --no-image --no-profile --no-probe"
  "attn25|25||-P qwen2-0.5b-siglip -t f16 -p 0 -n 16 -d 1024 -r 2 --no-image --no-profile --no-probe"
  "attnc256_25|25|TLV_TUNE_ATTN_MIN_CHUNK=256|-P qwen2-0.5b-siglip -t f16 -p 0 -n 16 -d 1024 -r 2 --no-image --no-profile --no-probe"
)
for pass in ${PASSES:-1 2 3}; do
  for v in "${variants[@]}"; do
    IFS='|' read -r name drv envs args <<<"$v"
    e=""; [ "$drv" = 25 ] && e="$m25"
    { echo "# $name pass $pass $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
      if [ "$args" = FLOOR ]; then env $e $envs build-rel/bench/tlv-floor -r 9
      else env $e $envs $b $args --json "$out/${name}_$pass.json"; fi
    } > "$out/${name}_$pass.txt" 2>&1
  done
done
echo done > "$out/DONE"
