#!/bin/bash
# Round 10 (issue 12): f16, q8_0 and q4_0 weights in one bench run, three passes with the dtype
# order rotated (ratios within one run); then peak device memory with a 2048-token KV cache
# reserved (--ctx 2048, nothing run). From the repository root with a Release build in build-rel.
set -u
out=${OUT:-/tmp/r10}; mkdir -p "$out"
b=build-rel/bench/tinyllava-bench
common="-P qwen2-0.5b-siglip -p 64 -n 32 -d 0 -r 3 --no-image --no-profile --no-probe"
orders=(f16,q8_0,q4_0 q8_0,q4_0,f16 q4_0,f16,q8_0)
for i in 0 1 2; do
  $b $common -t ${orders[$i]} --json "$out/speed_$i.json" > "$out/speed_$i.txt" 2>&1
done
# the same with the KV cache in f16 (one pass)
$b $common -t f16,q8_0,q4_0 --kv f16 --json "$out/speed_kvf16.json" > "$out/speed_kvf16.txt" 2>&1
# memory: weights + a 2048-position KV cache, before (f16 weights, f32 KV) and after
mem="-p 0 -n 0 -d 0 -r 0 --no-image --no-profile --no-probe --ctx 2048"
for p in qwen2-0.5b-siglip phi2-siglip-3.1b; do
  $b -P $p -t f16 --kv f32 $mem > "$out/mem_${p}_f16_kvf32.txt" 2>&1
  $b -P $p -t q4_0 --kv f16 $mem > "$out/mem_${p}_q4_0_kvf16.txt" 2>&1
  $b -P $p -t q4_0 --kv f16 --vision-weights q8_0 $mem > "$out/mem_${p}_q4_0_vq8_kvf16.txt" 2>&1
done
echo done > "$out/DONE"
