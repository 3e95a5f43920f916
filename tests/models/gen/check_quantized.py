#!/usr/bin/python3
"""Checks a folder `tinyllava quantize` wrote against the PyTorch reference's recipe and quantizers
(tlvref.quantize_model's rule, tlvref.quant_dequant: ggml's reference quantizers in float32):

    check_quantized.py SRC_DIR DST_DIR FORMAT [--write-digest FILE]

Every tensor of SRC is in DST; the LLM's 2-D weights whose rows are multiples of 32 are stored
quantized (the embedding and the output head q8_0, the rest FORMAT), as U8 [rows, row bytes] with
tlv.format / tlv.shape in __metadata__, and dequantize bit for bit to quant_dequant of the source;
every other tensor (vision tower, connector, norms, biases) is byte-identical to the source; the
non-weight files are copied. Exit 0 when all holds, 1 otherwise, 77 (skipped) without numpy/torch.
With --write-digest, and only when all holds, FILE gets DST's digest (quantized_digest.py: sha256
of every tensor's stored bytes, dtype, shape, and the metadata), which the ctest quantize_file_*
compares where PyTorch is absent; the committed ones are tests/models/<case>/quantized_<format>.digest.
"""
import filecmp, glob, json, os, struct, sys

try:
    import numpy as np
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import tlvref
    import torch
except ImportError as e:  # no PyTorch here: the C tests still run
    print("skipped:", e)
    sys.exit(77)


def load(path):
    """{name: (entry, bytes)}, metadata of one file or a sharded folder."""
    out, meta = {}, {}
    files = sorted(glob.glob(os.path.join(path, "*.safetensors")))
    for fn in files:
        with open(fn, "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            h = json.loads(f.read(n))
            data = f.read()
        meta.update(h.pop("__metadata__", {}))
        for k, e in h.items():
            b, en = e["data_offsets"]
            out[k] = (e, data[b:en])
    return out, meta


def to_f32(e, raw):
    if e["dtype"] == "F32":
        a = np.frombuffer(raw, dtype="<f4")
    elif e["dtype"] == "F16":
        a = np.frombuffer(raw, dtype="<f2").astype(np.float32)
    else:
        a = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
    return a.reshape(e["shape"])


def dequant(raw, fmt, shape):
    bb = 34 if fmt == "q8_0" else 18
    b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, bb)
    d = b[:, :2].copy().view("<f2").astype(np.float32)
    if fmt == "q8_0":
        q = b[:, 2:].copy().view(np.int8).astype(np.float32)
    else:
        q = np.concatenate([(b[:, 2:] & 15).astype(np.float32) - 8, (b[:, 2:] >> 4).astype(np.float32) - 8], 1)
    return (q * d).astype(np.float32).reshape(shape)


def main():
    if len(sys.argv) not in (4, 6) or (len(sys.argv) == 6 and sys.argv[4] != "--write-digest"):
        print(__doc__)
        sys.exit(2)
    src, dst, fmt = sys.argv[1], sys.argv[2], sys.argv[3]
    S, _ = load(src)
    D, meta = load(dst)
    bad = []
    if meta.get("tlv.quant.version") != "1":
        bad.append("tlv.quant.version is %r" % meta.get("tlv.quant.version"))
    n_q = 0
    for name, (e, raw) in sorted(S.items()):
        if name not in D:
            bad.append(name + ": missing")
            continue
        de, draw = D[name]
        llm = not any(s in name for s in ("vision_tower", "connector", "mm_projector"))
        emb = any(name.endswith(s) for s in ("embed_tokens.weight", "lm_head.weight", "token_embeddings.weight"))
        want = None
        if llm and len(e["shape"]) == 2 and e["shape"][1] % 32 == 0:
            want = "q8_0" if fmt == "q8_0" or emb else "q4_0"
        got = meta.get("tlv.format." + name)
        if got != want:
            bad.append("%s: format %r, the recipe says %r" % (name, got, want))
            continue
        if want is None:
            if (de["dtype"], de["shape"]) != (e["dtype"], e["shape"]) or draw != raw:
                bad.append(name + ": not copied as stored")
            continue
        n_q += 1
        rows, cols = e["shape"]
        if de["dtype"] != "U8" or de["shape"] != [rows, cols // 32 * (34 if want == "q8_0" else 18)]:
            bad.append("%s: stored as %s %s" % (name, de["dtype"], de["shape"]))
            continue
        if json.loads(meta.get("tlv.shape." + name, "null")) != [rows, cols]:
            bad.append(name + ": tlv.shape " + str(meta.get("tlv.shape." + name)))
        ref = tlvref.quant_dequant(torch.from_numpy(to_f32(e, raw).copy()), want).numpy()
        ours = dequant(draw, want, (rows, cols))
        if not np.array_equal(ours, ref):
            bad.append("%s: dequantized values differ from quant_dequant (max %g)" % (name, np.abs(ours - ref).max()))
    extra = sorted(set(D) - set(S))
    if extra:
        bad.append("tensors not in the source: " + ", ".join(extra[:3]))
    for fn in sorted(os.listdir(src)):
        p = os.path.join(src, fn)
        if fn.endswith(".safetensors") or fn.endswith(".index.json") or fn.startswith(".") or not os.path.isfile(p):
            continue
        if not os.path.isfile(os.path.join(dst, fn)) or not filecmp.cmp(p, os.path.join(dst, fn), shallow=False):
            bad.append(fn + ": not copied")
    for b in bad:
        print("FAIL", b)
    print("%s --weights %s: %d tensors, %d quantized, %d problems" % (dst, fmt, len(S), n_q, len(bad)))
    if bad or n_q == 0:
        sys.exit(1)
    if len(sys.argv) == 6:
        import quantized_digest
        quantized_digest.write(dst, sys.argv[5])
    sys.exit(0)


if __name__ == "__main__":
    main()
