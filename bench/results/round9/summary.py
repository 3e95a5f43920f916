#!/usr/bin/env python3
"""Round 9 summary: every variant's figures per pass (run.sh output), and the kernels runs
(kernels.sh output). Usage: summary.py MODEL_DIR [KERNELS_DIR]"""
import glob, os, re, sys

def rows(path):
    out = {}
    for line in open(path, errors="replace"):
        c = [x.strip() for x in line.split("|")]
        if len(c) > 5 and c[1] not in ("model", "") and not c[1].startswith("-" * 3):
            out[c[3]] = c[4]
        m = re.match(r"\| (read|matvec)[^|]*\|", line)
        if m and len(c) > 4:
            out[c[1]] = c[3] + " GB/CPU-s"
    return out

d = sys.argv[1]
print("| variant | pass | figures |")
print("|---|---|---|")
for f in sorted(glob.glob(os.path.join(d, "*_[0-9].txt")), key=lambda p: (p.rsplit("_", 1)[1], p)):
    name, p = os.path.basename(f)[:-4].rsplit("_", 1)
    r = rows(f)
    print("| %s | %s | %s |" % (name, p, "; ".join("%s %s" % kv for kv in r.items())))
if len(sys.argv) > 2:
    print()
    print("| variant | driver | pass | kernel | median ms |")
    print("|---|---|---|---|---:|")
    for f in sorted(glob.glob(os.path.join(sys.argv[2], "*_[0-9].txt"))):
        name, drv, p = os.path.basename(f)[:-4].rsplit("_", 2)
        for line in open(f, errors="replace"):
            c = [x.strip() for x in line.split("|")]
            if len(c) > 6 and c[1] == "-" and c[2] == "f16":
                print("| %s | %s | %s | %s | %s |" % (name, drv, p, c[3], c[5].split(" ")[0]))
