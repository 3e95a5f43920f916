#!/bin/bash
# Round 11 (issue 13): where Mesa 25.0's lavapipe spends the time of a prefill/vision kernel, next
# to Mesa 22.3's. From the repository root (build-rel, .deps/mesa25); needs perf and gdb.
#
# For each driver it runs one kernel of `tinyllava-bench kernels` (default: matvec mode 2 at the
# SigLIP MLP shape, 729 x 1152 x 4304), samples it with perf for 3 s, dumps every executable
# anonymous mapping that holds samples (the JIT-compiled shader and the functions it calls) with
# gdb, disassembles it, and sorts the samples by instruction class:
#   fp         vmulps / vaddps / vfmadd (the shader's fma(), which lavapipe emits as mul + add)
#   stack      loads and stores at %rsp / %rbp (spills, and on 25.0 the texel fetch's results)
#   lanes      vpextrd / vpinsrd / vinserti128 / vextracti128 (a gather done lane by lane)
#   f16        vcvtph2ps / vpmovdw (f16 weights to f32)
#   mem        other memory operands
#   call/ret, other
# Then, on 25.0 only (22.3's release build has no GALLIVM_DEBUG), the machine code of the
# whole kernel (GALLIVM_DEBUG=asm) and, per function, its calls and its mul / add / fma counts.
#
#   KERNEL="attn 729" bench/results/round11/profile.sh       # another kernel
set -u
out=${OUT:-bench/results/round11/profile}; mkdir -p "$out"
kernel=${KERNEL:-4304 matvec}
M25=$PWD/.deps/mesa25
b=build-rel/bench/tinyllava-bench

profile() { # tag env...
    local tag=$1; shift
    (env "$@" $b kernels --only "$kernel" -t f16 -r 300 --quick > "$out/$tag.bench.txt" 2>&1 &)
    sleep 4
    local pid; pid=$(pgrep -f "tinyllava-bench kernels" | head -1)
    perf record -q -F 2000 -p "$pid" -o "$out/$tag.perf.data" -- sleep 3 > /dev/null 2>&1
    kill -STOP "$pid"
    perf script -i "$out/$tag.perf.data" -F ip 2> /dev/null | sort | uniq -c > "$out/$tag.ips"
    /usr/bin/python3 - "$out" "$tag" "$pid" << 'PY'
import collections, re, subprocess, sys
out, tag, pid = sys.argv[1:4]
ips = {}
for line in open(f"{out}/{tag}.ips"):
    c, ip = line.split()
    ips[int(ip, 16)] = int(c)
total = sum(ips.values())
regions = []
for line in open(f"/proc/{pid}/maps"):
    f = line.split()
    lo, hi = (int(x, 16) for x in f[0].split("-"))
    if "x" in f[1] and len(f) < 6:  # executable, anonymous: JIT code
        n = sum(c for ip, c in ips.items() if lo <= ip < hi)
        if n:
            regions.append((n, lo, hi))
regions.sort(reverse=True)
cls = collections.Counter()
jit = 0
with open(f"{out}/{tag}.annotated.txt", "w") as ann:
    for i, (n, lo, hi) in enumerate(regions):
        jit += n
        dump = f"{out}/{tag}.r{i}.bin"
        subprocess.run(["gdb", "-p", pid, "-batch", "-ex", f"dump memory {dump} {lo:#x} {hi:#x}"], capture_output=True)
        asm = subprocess.run(["objdump", "-D", "-b", "binary", "-m", "i386:x86-64", "--no-show-raw-insn",
                              f"--adjust-vma={lo:#x}", dump], capture_output=True, text=True).stdout
        subprocess.run(["rm", "-f", dump])
        ann.write(f"==== region {i}: {hi - lo:#x} bytes, {n} samples ({100 * n / total:.1f}%)\n")
        for line in asm.splitlines():
            m = re.match(r"\s*([0-9a-f]+):\s+(\S+)\s*(.*)", line)
            if not m:
                continue
            a, op, args = int(m.group(1), 16), m.group(2), m.group(3)
            c = ips.get(a, 0)
            ann.write(f"{c:6d} {a - lo:6x}: {op} {args}\n")
            if op in ("vmulps", "vaddps") or op.startswith("vfmadd"):
                k = "fp"
            elif "%rsp" in args or "%rbp" in args:
                k = "stack"
            elif op.startswith(("vpextr", "vpinsr", "vinserti", "vextracti")):
                k = "lanes"
            elif op.startswith(("vcvtph", "vpmovdw")):
                k = "f16"
            elif op in ("call", "ret", "vzeroupper", "push", "pop"):
                k = "call/ret"
            elif "(%" in args:
                k = "mem"
            else:
                k = "other"
            cls[k] += c
print(f"{tag}: {total} samples, {100 * jit / total:.0f}% in JIT code ({len(regions)} regions)")
for k, v in cls.most_common():
    print(f"  {k:9s} {100 * v / max(jit, 1):5.1f}%")
PY
    kill -9 "$pid"
    rm -f "$out/$tag.perf.data" "$out/$tag.ips"
    gzip -f "$out/$tag.annotated.txt"
}

{
    echo "kernel: $kernel"
    profile m22
    profile m25 VK_ICD_FILENAMES="$M25/lvp_icd.json" LD_LIBRARY_PATH="$M25/lib" MESA_SHADER_CACHE_DIR="$out/m25cache"
} | tee "$out/classes.txt"

# Mesa 25.0: the whole kernel's machine code, and per function its calls and FP instructions
VK_ICD_FILENAMES="$M25/lvp_icd.json" LD_LIBRARY_PATH="$M25/lib" MESA_SHADER_CACHE_DISABLE=1 GALLIVM_DEBUG=asm \
    $b kernels --only "$kernel" -t f16 -r 1 --quick > "$out/m25.asm.txt" 2>&1
awk '/^[A-Za-z_].*:$/ { if (n > 200) printf "%-22s %6d instructions %4d calls %5d vmulps %5d vaddps %4d vfmadd\n", name, n, c, mu, ad, f;
                        name = $0; n = c = mu = ad = f = 0; next }
     { n++; if (/callq/) c++; if (/vmulps/) mu++; if (/vaddps/) ad++; if (/vfmadd/) f++ }' "$out/m25.asm.txt" |
    tee "$out/m25.functions.txt"
gzip -f "$out/m25.asm.txt"
rm -rf "$out/m25cache"
