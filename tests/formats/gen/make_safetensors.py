#!/usr/bin/python3
"""Writes the small safetensors checkpoints tests/formats uses, and summaries of the fixture
checkpoints, with nothing but the format description (struct + json + numpy).

  data/st_single/model.safetensors         F32, F16, BF16, I64, U8, a scalar, an empty tensor
  data/st_sharded/model.safetensors.index.json + model-0000{1,2}-of-00002.safetensors
  data/st_expected.json                    per tensor: dtype, shape, file, and its values as
                                           float64 (what a correct reader decodes)
  data/fixture_st.json                     per fixture: every tensor's dtype, shape, data_offsets
                                           and the float64 sum of its values (numpy)

Run: /usr/bin/python3 tests/formats/gen/make_safetensors.py [fixtures dir]
"""
import json, os, struct, sys
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data")


def bf16_bytes(a):
    # round-to-nearest-even from float32, as torch does
    u = np.asarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    return r.tobytes(), (r.astype(np.uint32) << 16).view(np.float32).astype(np.float64)


def encode(dtype, values):
    v = np.asarray(values, dtype=np.float64)
    if dtype == "F32":
        a = v.astype(np.float32); return a.tobytes(), a.astype(np.float64)
    if dtype == "F16":
        a = v.astype(np.float16); return a.tobytes(), a.astype(np.float64)
    if dtype == "BF16":
        return bf16_bytes(v.astype(np.float32))
    if dtype == "I64":
        a = v.astype(np.int64); return a.tobytes(), a.astype(np.float64)
    if dtype == "U8":
        a = v.astype(np.uint8); return a.tobytes(), a.astype(np.float64)
    raise ValueError(dtype)


def write(path, tensors, metadata=None, align=8):
    """tensors: list of (name, dtype, shape, values). Header padded with spaces to `align`."""
    header, blobs, off, expect = {}, [], 0, {}
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, values in tensors:
        raw, decoded = encode(dtype, values)
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
        expect[name] = {"dtype": dtype, "shape": list(shape), "file": os.path.basename(path),
                        "values": [float(x) for x in decoded.ravel()]}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((-(8 + len(h))) % align)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
    return expect


def vals(n, scale, seed):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(n) * scale).tolist()


def main():
    fixtures = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/fixtures"
    exp = {}
    d = os.path.join(DATA, "st_single"); os.makedirs(d, exist_ok=True)
    exp["st_single"] = write(os.path.join(d, "model.safetensors"), [
        ("b.f32", "F32", [2, 3], vals(6, 1.0, 1)),
        ("a.f16", "F16", [3, 2, 2], vals(12, 3.0, 2)),
        ("c.bf16", "BF16", [5], [1.0, -2.5, 3.14159, 1e-3, 65504.0]),
        ("d.i64", "I64", [2], [7, -9]),
        ("e.u8", "U8", [1, 3], [0, 128, 255]),
        ("f.scalar", "F32", [], [42.5]),
        ("g.empty", "F16", [0, 4], []),
    ], metadata={"format": "pt", "note": "tinyllava-vk test"}, align=1)
    d = os.path.join(DATA, "st_sharded"); os.makedirs(d, exist_ok=True)
    s1 = write(os.path.join(d, "model-00001-of-00002.safetensors"), [
        ("language_model.model.embed_tokens.weight", "F16", [4, 3], vals(12, 1.0, 3)),
        ("language_model.lm_head.weight", "F16", [4, 3], vals(12, 1.0, 4)),
    ], metadata={"format": "pt"})
    s2 = write(os.path.join(d, "model-00002-of-00002.safetensors"), [
        ("connector._connector.0.weight", "BF16", [3, 2], vals(6, 1.0, 5)),
        ("connector._connector.0.bias", "F32", [3], vals(3, 1.0, 6)),
    ])
    wm = {k: v["file"] for k, v in list(s1.items()) + list(s2.items())}
    with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": 0}, "weight_map": wm}, f, indent=2)
    exp["st_sharded"] = {**s1, **s2}
    with open(os.path.join(DATA, "st_expected.json"), "w") as f:
        json.dump(exp, f, indent=1)

    summ = {}
    for case in sorted(os.listdir(fixtures)):
        p = os.path.join(fixtures, case, "model", "model.safetensors")
        if not os.path.exists(p):
            continue
        with open(p, "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            hdr = json.loads(f.read(n))
            data = f.read()
        out = {}
        for name, e in hdr.items():
            if name == "__metadata__":
                continue
            b, en = e["data_offsets"]
            dt = {"F16": np.float16, "F32": np.float32}[e["dtype"]]
            a = np.frombuffer(data[b:en], dtype=dt).astype(np.float64)
            out[name] = {"dtype": e["dtype"], "shape": e["shape"], "data_offsets": [b, en],
                         "sum": float(a.sum()), "abs_sum": float(np.abs(a).sum())}
        summ[case] = out
    with open(os.path.join(DATA, "fixture_st.json"), "w") as f:
        f.write("{\n" + ",\n".join(
            json.dumps(case) + ": {\n" + ",\n".join(
                " " + json.dumps(k) + ": " + json.dumps(v[k], sort_keys=True) for k in sorted(v)) + "}"
            for case, v in sorted(summ.items())) + "}\n")


if __name__ == "__main__":
    main()
