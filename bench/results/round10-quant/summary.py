#!/usr/bin/env python3
"""Round 10 summary: tok/s per dtype and pass, each quantized figure as a ratio of the f16 figure
of the same run (same bench process, same minute). Usage: summary.py DIR (run.sh's output)."""
import glob, json, os, statistics, sys

d = sys.argv[1] if len(sys.argv) > 1 else "/tmp/r10"
rows = {}
for f in sorted(glob.glob(os.path.join(d, "speed_*.json"))):
    run = os.path.basename(f)[6:-5]
    recs = json.load(open(f))
    recs = recs.get("results", recs) if isinstance(recs, dict) else recs
    for r in recs:
        if r.get("kind") not in (None, "model") and r.get("model") == "-":
            continue
        if r.get("test") not in ("pp64", "tg32@d0"):
            continue
        rows.setdefault(run, {})[(r["dtype"], r["test"])] = r
print("| run | test | f16 tok/s | q8_0 tok/s (x f16) | q4_0 tok/s (x f16) | GB/s f16 / q8_0 / q4_0 |")
print("|---|---|---:|---:|---:|---|")
ratios = {}
for run, m in rows.items():
    for test in ("pp64", "tg32@d0"):
        f = m.get(("f16", test))
        if not f:
            continue
        cells = []
        for dt in ("q8_0", "q4_0"):
            q = m.get((dt, test))
            if q:
                x = q["value"] / f["value"]
                ratios.setdefault((run.startswith("kv"), test, dt), []).append(x)
                cells.append("%.2f (%.2fx)" % (q["value"], x))
            else:
                cells.append("-")
        gbs = " / ".join("%.1f" % m[(dt, test)].get("gbs", 0) if (dt, test) in m else "-" for dt in ("f16", "q8_0", "q4_0"))
        print("| %s | %s | %.2f | %s | %s | %s |" % (run, test, f["value"], cells[0], cells[1], gbs))
print()
for (kv, test, dt), xs in sorted(ratios.items()):
    print("%s %s %s: median %.2fx of f16 over %d runs (%s)" % ("kv f16" if kv else "kv f32", test, dt,
          statistics.median(xs), len(xs), ", ".join("%.2f" % x for x in xs)))
