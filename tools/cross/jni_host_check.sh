#!/usr/bin/env bash
# The JNI bridge end to end on this machine: builds libtinyllava_jni.so for the host (the same
# examples/android/jni/CMakeLists.txt the Android app uses), compiles the Java API
# (examples/android/app/src/main/java/org/tinyllava) with examples/android/test/JniSmoke.java,
# and runs it on the reference case tests/fixtures/qwen2_siglip_square (its answer holds CJK,
# Hebrew and Cyrillic pieces) on any Vulkan device (lavapipe will do). Also type-checks the
# sample app's MainActivity against examples/android/test/stubs (no android.jar here).
#   [TLV_JNI_SANITIZE=1] tools/cross/jni_host_check.sh [BUILD_DIR]
# needs: a JDK (javac, java), /usr/bin/python3, a Vulkan driver (lavapipe will do).
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${1:-build-jni-host}
# TLV_JNI_SANITIZE=1: library and bridge under AddressSanitizer + UBSan, preloaded into the JVM
# (leak checking off: the JVM's own allocations are not ours).
san=() preload=""
if [ "${TLV_JNI_SANITIZE:-0}" = 1 ]; then
  f="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
  san=(-DCMAKE_BUILD_TYPE=Debug "-DCMAKE_C_FLAGS=$f" "-DCMAKE_SHARED_LINKER_FLAGS=$f" "-DCMAKE_EXE_LINKER_FLAGS=$f")
  preload="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)"
  export ASAN_OPTIONS=detect_leaks=0:handle_segv=0:allow_user_segv_handler=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi
cmake -S examples/android/jni -B "$B" -DTLV_WERROR=ON -DTLV_BUILD_TOOLS=ON "${san[@]}" >/dev/null
cmake --build "$B" -j"$(nproc)" --target tinyllava_jni tinyllava-cli >/dev/null
J=$B/java
rm -rf "$J"
mkdir -p "$J"
javac -Xlint:all -Werror -d "$J" examples/android/app/src/main/java/org/tinyllava/*.java examples/android/test/JniSmoke.java
# The sample app's Activity, type-checked against stand-ins for the SDK classes it uses.
mkdir -p "$J-app"
# shellcheck disable=SC2046 # the stub paths have no spaces
javac -Xlint:all -Werror -d "$J-app" $(find examples/android/test/stubs -name '*.java') \
  examples/android/app/src/main/java/org/tinyllava/*.java examples/android/app/src/main/java/org/tinyllava/sample/*.java
echo "javac: the Java API, JniSmoke and the sample app's MainActivity compile (-Xlint:all -Werror)"

F=tests/fixtures/qwen2_siglip_square
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
/usr/bin/python3 - "$F/expected.json" "$T" <<'PY'
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
open(sys.argv[2] + "/prompt.txt", "w", encoding="utf-8").write(d["user_prompt"])
open(sys.argv[2] + "/expected.txt", "w", encoding="utf-8").write(d["generated_text"])
PY
# Outside the BMP (emoji: 4 UTF-8 bytes, a surrogate pair in Java), accents, CJK.
text='héllo wörld 😀 世界'
printf '%s' "$text" >"$T/tok.txt"
ids=$("$B/tinyllava/tools/tinyllava" tokenize -m "$F/model" "$text" | awk '{print $1}' | paste -sd, -)
long=$(for _ in $(seq 40); do printf '%s\n' "$text"; done)$'\n'
long_ids=$("$B/tinyllava/tools/tinyllava" tokenize -m "$F/model" "$long" | awk '{print $1}' | paste -sd, -)
LD_PRELOAD="$preload" java -Xcheck:jni -Djava.library.path="$B" -cp "$J" JniSmoke "$F/model" "$F/image.png" "$T/prompt.txt" \
  "$T/expected.txt" "$T/tok.txt" "$ids" "$long_ids"
