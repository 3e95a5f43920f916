#!/bin/bash
# alternated rounds: dtype order rotated each round
cd "$(dirname "$0")/../../.."
orders=("f16,q8_0,q4_0" "q4_0,q8_0,f16" "q8_0,q4_0,f16" "f16,q4_0,q8_0")
for round in 0 1 2 3 4 5; do
  o=${orders[$((round % 4))]}
  build/bench/tinyllava-bench kernels --quick --only "matvec 896x4864,matvec 4864x896,matmul 64x896x4864,matvec 896x151936" -t $o -r 7 2>&1 | grep -E "^\| - .*(matvec|matmul)" | sed "s/^/r$round /"
done
