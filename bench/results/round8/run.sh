#!/bin/bash
# alternated: base(8e0b00a) on 22.3, new on 22.3, new on Mesa 25; three times, from the repository root (build-rel: this build, Release)
: "${BASE:?build folder of 8e0b00a}" "${MESA25:?unpacked Mesa 25 (.deps/mesa25)}"; mkdir -p /tmp/bench
args="-P qwen2-0.5b-siglip -t f16 -p 64 -n 32 -d 0 -r 3 --no-image --no-profile --no-probe"
m25="VK_ICD_FILENAMES="$MESA25"/lvp_icd.json LD_LIBRARY_PATH="$MESA25"/usr/lib/x86_64-linux-gnu MESA_SHADER_CACHE_DIR=/tmp/bench/m25cache"
for i in 1 2 3; do
  "$BASE"/bench/tinyllava-bench $args --json /tmp/bench/base_$i.json > /tmp/bench/base_$i.txt 2>&1
  build-rel/bench/tinyllava-bench $args --json /tmp/bench/new22_$i.json > /tmp/bench/new22_$i.txt 2>&1
  env $m25 build-rel/bench/tinyllava-bench $args --json /tmp/bench/new25_$i.json > /tmp/bench/new25_$i.txt 2>&1
done
echo done
