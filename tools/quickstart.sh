#!/usr/bin/env bash
# Quick start: install dependencies, build, and answer a question about the bundled example image
# with the default model (downloaded on first use). Without a network, runs the bundled tiny test
# model instead (random weights: the answer is gibberish, but every stage runs on your GPU).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup-deps.sh
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DTLV_BUILD_TESTS=OFF > /dev/null
cmake --build build-release -j"$(nproc 2>/dev/null || echo 2)" > /dev/null
question="What is in the picture?"
set +e
./build-release/tools/tinyllava run -m Zhang199/TinyLLaVA-Qwen2-0.5B-SigLIP --image examples/house.png -p "$question"
rc=$?
set -e
if [ $rc -eq 5 ]; then
  echo
  echo "quickstart: no network, so no model download. Running the bundled tiny test model instead:"
  echo "quickstart: RANDOM WEIGHTS (tests/fixtures/qwen2_siglip_square): the answer is gibberish."
  ./build-release/tools/tinyllava run -m tests/fixtures/qwen2_siglip_square/model --image examples/house.png -p "$question" -n 24
  exit $?
fi
exit $rc
