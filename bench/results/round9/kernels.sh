#!/bin/bash
# Round 9 (issue 13): the prefill / vision kernels (matvec mode 2 at M = 64 and 729, and the
# attention at 729 tokens; the tiled matmul, 7-20x slower than mode 2 on lavapipe, left out) under each mode-2 shape (TLV_TUNE_MV_MANY_ROWS / _NM are
# the shape in effect: the switches apply after the row's shuffle shape is chosen), on Mesa 22.3 and 25.0,
# alternated; three passes. From the repository root (build-rel, .deps/mesa25).
set -u
out=${OUT:-/tmp/r9k}; mkdir -p "$out"
M25=$PWD/.deps/mesa25
b=build-rel/bench/tinyllava-bench
args=(kernels --only "64x896x4864,4304 matvec,attn 729" -t f16 -r 5 --quick)
variants=(
  "def|"
  "noshuf8x4|TLV_TUNE_MV_X_SHUFFLE=0 TLV_TUNE_MV_MANY_ROWS=8 TLV_TUNE_MV_MANY_NM=4"
  "r8nm4|TLV_TUNE_MV_MANY_ROWS=8 TLV_TUNE_MV_MANY_NM=4"
  "r4nm4|TLV_TUNE_MV_MANY_ROWS=4 TLV_TUNE_MV_MANY_NM=4"
  "r2nm8|TLV_TUNE_MV_MANY_ROWS=2 TLV_TUNE_MV_MANY_NM=8"
  "r4nm6|TLV_TUNE_MV_MANY_ROWS=4 TLV_TUNE_MV_MANY_NM=6"
)
for pass in ${PASSES:-1 2 3}; do
  for v in "${variants[@]}"; do
    IFS='|' read -r name envs <<<"$v"
    for drv in 22 25; do
      e=""; [ $drv = 25 ] && e="VK_ICD_FILENAMES=$M25/lvp_icd.json LD_LIBRARY_PATH=$M25/lib MESA_SHADER_CACHE_DIR=$out/m25cache"
      env $e $envs $b "${args[@]}" > "$out/${name}_${drv}_$pass.txt" 2>&1
    done
  done
done
echo done > "$out/DONE"
