#!/bin/bash
# Round 11: Mesa 25's row with attention blocks of 4 keys; Mesa 22.3 and 25.0 alternated, two passes;
# text (pp64, tg32) and image (encode, pp64+img, with the per-op profile); then --compare + chart.
set -u
out=${OUT:-bench/results/round11/model}; mkdir -p "$out"
M25=$PWD/.deps/mesa25
m25="VK_ICD_FILENAMES=$M25/lvp_icd.json LD_LIBRARY_PATH=$M25/lib MESA_SHADER_CACHE_DIR=$out/m25cache"
b=build-rel/bench/tinyllava-bench
text="-P qwen2-0.5b-siglip -t f16 -p 64 -n 32 -d 0 -r 3 --no-image --no-profile --no-probe"
img="-P qwen2-0.5b-siglip -t f16 -p 64 -n 0 -d 0 -r 2 --ttft 0 --no-probe"
for pass in 1 2; do
  for drv in 22 25; do
    e=""; [ $drv = 25 ] && e="$m25"
    env $e $b $text --json "$out/text${drv}_$pass.json" > "$out/text${drv}_$pass.txt" 2>&1
    env $e $b $img --json "$out/img${drv}_$pass.json" > "$out/img${drv}_$pass.txt" 2>&1
  done
done
$b --compare "$out/text22_1.json" "$out/text25_1.json" "$out/img22_1.json" "$out/img25_1.json" --svg "$out/lavapipe-22-vs-25.svg" > "$out/compare-22-vs-25.md" 2>&1
rm -rf "$out/m25cache"
echo done > "$out/DONE"
