#!/usr/bin/env python3
"""The digest of a folder `tinyllava quantize` wrote, for checking it where PyTorch is absent
(python3's standard library only: json, hashlib):

    quantized_digest.py write DST_DIR DIGEST_FILE    (check_quantized.py --write-digest calls it)
    quantized_digest.py check SRC_DIR DST_DIR DIGEST_FILE

The digest (tests/models/<case>/quantized_<format>.digest, committed) has one line per
`__metadata__` entry of DST's model.safetensors ("meta KEY VALUE") and one per tensor
("tensor NAME DTYPE [SHAPE] SHA256-OF-ITS-STORED-BYTES"), sorted. It is written only after
check_quantized.py's full check (recipe, U8 layout, every quantized tensor dequantizing bit for bit to
the PyTorch reference's ggml quantizers) passed on the same bytes, so a file with the same digest
passes that check too.

`check` compares DST with the digest line by line, naming every line that differs, and compares
every non-weight file of SRC (config, tokenizer, preprocessor) with its copy in DST byte for byte.
It then flips one byte at the start, middle and end of the tensor data and at the middle of every
quantized tensor, in memory, and requires each to change the digest (a check that cannot fail is no
check). Exit 0 when all holds, 1 otherwise.
"""
import filecmp, hashlib, json, os, struct, sys

WEIGHTS = "model.safetensors"


def parse(blob, where):
    """(header without __metadata__, metadata, data section) of one safetensors file's bytes."""
    if len(blob) < 8:
        raise ValueError("%s: %d bytes, shorter than the 8-byte header length" % (where, len(blob)))
    n = struct.unpack("<Q", blob[:8])[0]
    if 8 + n > len(blob):
        raise ValueError("%s: header of %d bytes past the end of the file (%d bytes)" % (where, n, len(blob)))
    h = json.loads(blob[8:8 + n].decode("utf-8"))
    meta = h.pop("__metadata__", {}) or {}
    data = memoryview(blob)[8 + n:]
    for k, e in h.items():
        b, en = e["data_offsets"]
        if not 0 <= b <= en <= len(data):
            raise ValueError("%s: tensor %r: data_offsets [%d, %d) outside the data (%d bytes)" % (where, k, b, en, len(data)))
    return h, meta, data


def digest_lines(blob, where):
    h, meta, data = parse(blob, where)
    lines = ["meta %s %s" % (k, meta[k]) for k in sorted(meta)]
    for k in sorted(h):
        e = h[k]
        b, en = e["data_offsets"]
        lines.append("tensor %s %s [%s] %s" % (k, e["dtype"], ",".join(str(d) for d in e["shape"]),
                                              hashlib.sha256(data[b:en]).hexdigest()))
    return lines


def read_digest(path):
    with open(path, encoding="utf-8") as f:
        return [l.rstrip("\n") for l in f if l.strip() and not l.startswith("#")]


def write(dst, path):
    with open(os.path.join(dst, WEIGHTS), "rb") as f:
        lines = digest_lines(f.read(), os.path.join(dst, WEIGHTS))
    with open(path, "w", encoding="utf-8") as f:
        f.write("# the model.safetensors `tinyllava quantize` writes: tests/models/gen/quantized_digest.py\n")
        f.write("# written by check_quantized.py --write-digest after its full PyTorch check passed\n")
        f.write("".join(l + "\n" for l in lines))
    print("%s: %d lines" % (path, len(lines)))


def compare(got, want):
    """The differences, as lines naming what differs."""
    key = lambda l: " ".join(l.split(" ")[:2])  # "meta KEY" / "tensor NAME"
    g, w = {key(l): l for l in got}, {key(l): l for l in want}
    out = []
    for k in sorted(set(g) | set(w)):
        if k not in g:
            out.append("missing: " + w[k])
        elif k not in w:
            out.append("not in the digest: " + g[k])
        elif g[k] != w[k]:
            out.append("differs: " + g[k] + "\n      digest has: " + w[k])
    return out


def check(src, dst, path):
    bad = []
    want = read_digest(path)
    fn = os.path.join(dst, WEIGHTS)
    with open(fn, "rb") as f:
        blob = f.read()
    got = digest_lines(blob, fn)
    bad += compare(got, want)
    for name in sorted(os.listdir(src)):
        p = os.path.join(src, name)
        if name.endswith(".safetensors") or name.endswith(".index.json") or name.startswith(".") or not os.path.isfile(p):
            continue
        if not os.path.isfile(os.path.join(dst, name)) or not filecmp.cmp(p, os.path.join(dst, name), shallow=False):
            bad.append(name + ": not copied")
    # the digest must see one flipped byte anywhere in the tensor data
    h, meta, data = parse(blob, fn)
    base = 8 + struct.unpack("<Q", blob[:8])[0]
    spots = [0, len(data) // 2, len(data) - 1]
    spots += [(h[k]["data_offsets"][0] + h[k]["data_offsets"][1]) // 2 for k in sorted(h) if "tlv.format." + k in meta]
    n_quant = len(spots) - 3
    for off in spots:
        m = bytearray(blob)
        m[base + off] ^= 0x01
        if not compare(digest_lines(bytes(m), fn), got):
            bad.append("a flipped byte at data offset %d leaves the digest unchanged" % off)
    for b in bad:
        print("FAIL", b)
    print("%s against %s: %d lines, %d quantized tensors, %d byte flips detected, %d problems" %
          (dst, path, len(want), n_quant, len(spots), len(bad)))
    if bad:
        print("(if tinyllava quantize changed on purpose: rerun check_quantized.py --write-digest with PyTorch; "
              "docs/FIXTURES.md)")
    return 1 if bad or n_quant == 0 else 0


def main():
    try:
        return run()
    except (OSError, ValueError, KeyError, TypeError) as e:
        print("FAIL", e)
        return 1


def run():
    if len(sys.argv) == 4 and sys.argv[1] == "write":
        write(sys.argv[2], sys.argv[3])
        return 0
    if len(sys.argv) == 5 and sys.argv[1] == "check":
        return check(sys.argv[2], sys.argv[3], sys.argv[4])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
