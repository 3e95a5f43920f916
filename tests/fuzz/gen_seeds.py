#!/usr/bin/python3
"""Writes the seed corpora tests/fuzz/<name>/ from tests/bad, tests/formats, tests/text,
tests/image and the end-to-end fixtures, cut down to a few KB each (the fuzzer mutates them;
it needs their structure, not their size).

Multi-file seeds use the "#tlv-fuzz <file name>" form that fuzz_common.h splits.

Run: /usr/bin/python3 tests/fuzz/gen_seeds.py
"""
import glob, gzip, json, os, shutil, struct

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.join(HERE, "..")
FIX = os.path.join(TESTS, "fixtures")
MAX_SEED = 16 * 1024


def read(p):
    with open(p, "rb") as f:
        return f.read()


def pack(files):
    """files: [(name, bytes)] -> one input in the #tlv-fuzz form."""
    out = b""
    for i, (name, data) in enumerate(files):
        out += (b"\n" if i else b"") + b"#tlv-fuzz " + name.encode() + b"\n" + data
    return out


class Corpus:
    def __init__(self, name):
        self.dir = os.path.join(HERE, name)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)

    def add(self, name, data):
        assert len(data) <= MAX_SEED, (name, len(data))
        with open(os.path.join(self.dir, name), "wb") as f:
            f.write(data)


def dir_files(d, names):
    return [(n, read(os.path.join(d, n))) for n in names if os.path.exists(os.path.join(d, n))]


# ---------------------------------------------------------------- safetensors
def st_file(header, data):
    h = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(h)) + h + data


def shrink_st(path, keep):
    """A fixture's header with its first `keep` tensors, shapes cut to 1..2 elements per dim
    (names, dtypes and ranks kept) and data to match: a valid file of a few KB."""
    raw = read(path)
    (n,) = struct.unpack("<Q", raw[:8])
    hdr = json.loads(raw[8:8 + n])
    size = {"F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "U8": 1, "BOOL": 1, "F64": 8, "I8": 1, "I16": 2}
    out, off = {}, 0
    if "__metadata__" in hdr:
        out["__metadata__"] = hdr.pop("__metadata__")
    for name in sorted(hdr)[:keep]:
        t = hdr[name]
        shape = [min(d, 2) for d in t["shape"]]
        nb = size.get(t["dtype"], 1)
        for d in shape:
            nb *= d
        out[name] = {"dtype": t["dtype"], "shape": shape, "data_offsets": [off, off + nb]}
        off += nb
    return st_file(out, bytes(range(256)) * (off // 256) + bytes(off % 256))


def gen_safetensors():
    c = Corpus("safetensors")
    for p in sorted(glob.glob(os.path.join(TESTS, "bad/data/st/*.safetensors"))):
        c.add("bad_" + os.path.basename(p), read(p))
    c.add("st_single.safetensors", read(os.path.join(TESTS, "formats/data/st_single/model.safetensors")))
    c.add("fx_llama.safetensors", shrink_st(os.path.join(FIX, "llama_clip_pad/model/model.safetensors"), 40))
    c.add("fx_phi2.safetensors", shrink_st(os.path.join(FIX, "phi2_siglip_square/model/model.safetensors"), 40))
    sh = os.path.join(TESTS, "formats/data/st_sharded")
    c.add("ckpt_sharded", pack(dir_files(sh, ["model.safetensors.index.json", "model-00001-of-00002.safetensors",
                                              "model-00002-of-00002.safetensors"])))
    for d in sorted(glob.glob(os.path.join(TESTS, "bad/data/ckpt/*"))):
        files = dir_files(d, ["model.safetensors.index.json", "s1.safetensors", "s2.safetensors"])
        if files:
            c.add("ckpt_bad_" + os.path.basename(d), pack(files))


# ---------------------------------------------------------------- config
def gen_config():
    c = Corpus("config")
    names = ["config.json", "preprocessor_config.json", "generation_config.json"]
    dirs = sorted(glob.glob(os.path.join(TESTS, "formats/data/cfg_*")) + glob.glob(os.path.join(TESTS, "formats/data/fx_*")))
    for d in dirs:
        c.add(os.path.basename(d), pack(dir_files(d, names)))
    for d in sorted(glob.glob(os.path.join(FIX, "*/model"))):
        c.add("fixture_" + os.path.basename(os.path.dirname(d)), pack(dir_files(d, names)))
    for d in sorted(glob.glob(os.path.join(TESTS, "bad/data/config/*"))):
        files = dir_files(d, names)
        if files:
            c.add("bad_" + os.path.basename(d), pack(files))


# ---------------------------------------------------------------- tokenizer
def small_bpe(vocab, merges, n_keep):
    """The first n_keep ids of a byte-level BPE vocabulary and the merges that stay inside it."""
    inv = sorted(vocab.items(), key=lambda kv: kv[1])[:n_keep]
    keep = dict(inv)
    ms = [m for m in merges if len(m.split(" ")) == 2 and all(p in keep for p in m.split(" ")) and m.replace(" ", "") in keep]
    return keep, ms


def pb_fields(b):
    """Top-level protobuf fields: [(field, wire, raw bytes of the whole field)]."""
    out, i = [], 0
    while i < len(b):
        start, k, shift = i, 0, 0
        while True:
            x = b[i]; i += 1; k |= (x & 0x7F) << shift; shift += 7
            if x < 0x80:
                break
        field, wire = k >> 3, k & 7
        if wire == 0:
            while b[i] & 0x80:
                i += 1
            i += 1
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        elif wire == 2:
            n, shift = 0, 0
            while True:
                x = b[i]; i += 1; n |= (x & 0x7F) << shift; shift += 7
                if x < 0x80:
                    break
            i += n
        else:
            raise ValueError(wire)
        out.append((field, wire, b[start:i]))
    return out


def small_spm(model, n_keep):
    """tokenizer.model with its first n_keep pieces (<unk>, <s>, </s>, the 256 byte pieces and a
    few merges) and its trainer and normalizer specs; the self-test data is dropped."""
    out, n = b"", 0
    for field, wire, raw in pb_fields(model):
        if field == 1:
            if n < n_keep:
                out += raw
            n += 1
        elif field != 4:
            out += raw
    return out


def gen_tokenizer():
    c = Corpus("tokenizer")
    text = lambda s: ("text", s.encode())
    td = os.path.join(TESTS, "text/data")
    gv = json.loads(gzip.open(os.path.join(td, "gpt2/vocab.json.gz")).read())
    gm = gzip.open(os.path.join(td, "gpt2/merges.txt.gz")).read().decode().split("\n")
    head, merges = gm[0], gm[1:]
    v, m = small_bpe(gv, merges, 420)
    vocab_b = json.dumps(v, ensure_ascii=False).encode()
    merges_b = ("\n".join([head] + m) + "\n").encode()
    c.add("gpt2_files", pack([("vocab.json", vocab_b), ("merges.txt", merges_b), text("Hello there, the  world!\n")]))
    cfgs = ["tokenizer_config.json", "special_tokens_map.json", "added_tokens.json"]
    for fam in ["phi2", "phi2_strip", "qwen2"]:
        extra = dir_files(os.path.join(td, fam), cfgs)
        # keep the added tokens' ids near the small vocabulary so they are not all out of range
        c.add(fam + "_files", pack(extra + [("vocab.json", vocab_b), ("merges.txt", merges_b),
                                            text("<|endoftext|>Hi   there\t\t<|im_start|>x")]))
    bl = {"version": "1.0", "added_tokens": [{"id": 420, "content": "<|endoftext|>", "special": True, "lstrip": False,
                                              "rstrip": False, "normalized": False, "single_word": False}],
          "normalizer": None, "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True},
          "decoder": {"type": "ByteLevel"},
          "model": {"type": "BPE", "vocab": v, "merges": m, "unk_token": None, "byte_fallback": False}}
    c.add("bytelevel_json", pack([("tokenizer.json", json.dumps(bl, ensure_ascii=False).encode()),
                                  text("the cat<|endoftext|> sat")]))
    lj = json.loads(gzip.open(os.path.join(td, "llama_json/tokenizer.json.gz")).read())
    lv = {k: i for k, i in lj["model"]["vocab"].items() if i < 420}
    lm = [x for x in lj["model"]["merges"] if all(p in lv for p in x.split(" ")) and x.replace(" ", "") in lv]
    lj["model"]["vocab"], lj["model"]["merges"] = lv, lm
    lj["added_tokens"] = [a for a in lj["added_tokens"] if a["id"] < 420]
    llama_cfg = dir_files(os.path.join(td, "llama"), cfgs)
    c.add("spm_json", pack(llama_cfg + [("tokenizer.json", json.dumps(lj, ensure_ascii=False).encode()),
                                        text("Hello  <s> world \xe9\xe8 \U0001F600")]))
    spm = small_spm(gzip.open(os.path.join(td, "llama2/tokenizer.model.gz")).read(), 420)
    c.add("spm_model", pack(llama_cfg + [("tokenizer.model", spm), text(" Hello\n\nworld </s>")]))
    c.add("spm_model_nonlegacy", pack([("tokenizer_config.json", b'{"legacy": false, "add_bos_token": true}'),
                                       ("tokenizer.model", spm), text("<s> a")]))
    # broken forms, as in tests/text/test_tokenizer_bad.c
    c.add("bad_merge_unknown", pack([("vocab.json", b'{"a":0,"b":1}'), ("merges.txt", b"#version: 0.2\na c\n")]))
    c.add("bad_vocab_not_object", pack([("vocab.json", b'[1,2]'), ("merges.txt", b"")]))
    c.add("bad_added", pack([("vocab.json", b'{"a":0,"b":1,"ab":2}'), ("merges.txt", b"a b\n"),
                             ("added_tokens.json", b'{"<x>": 7, "<y>": -1}')]))
    c.add("bad_spm_cut", pack([("tokenizer.model", spm[:len(spm) // 3])]))


# ---------------------------------------------------------------- template
def gen_template():
    c = Corpus("template")

    def conv(tok, tpl, images, *strings):
        return bytes([tok, tpl, images & 0xFF, images >> 8]) + b"\0".join(s.encode() for s in strings)

    prompts = json.load(open(os.path.join(TESTS, "template/data/fixture_prompts.json")))
    for i, (name, p) in enumerate(sorted(prompts.items())):
        c.add("fixture_" + name, conv(i % 3, i % 8, 1, "Write a caption for this photo.") if i % 2 else
              conv(i % 3, i, 0, p["prompt"]))
    c.add("multiturn", conv(0, 5, 0b0101, "<image>\nWhat is this?", "A cat.", "  And there? ", "Another <image> cat.", "ok"))
    c.add("llama_v1", conv(1, 6, 0b10, "hi", "hello </s>", "<image><image> two", ""))
    c.add("qwen_instruct", conv(2, 4, 0b11, "\u3000 spaces \u2028", "<|im_end|>", "\xff bad"))
    c.add("empty_turns", conv(0, 7, 0, "", "", ""))
    # findings (docs/TESTING.md), kept as seeds; each has its test beside the parser's
    c.add("found_nested_placeholder", conv(2, 2, 0, "USER: <image<image>>\nWhat is it?", "<im<image>age>", "x"))


# ---------------------------------------------------------------- image
def gen_image():
    c = Corpus("image")
    for p in sorted(glob.glob(os.path.join(TESTS, "image/data/in/*"))):
        if os.path.getsize(p) <= 8 * 1024:
            c.add(os.path.basename(p), read(p))
    c.add("empty.png", b"")
    c.add("fixture_llama.jpg", read(os.path.join(FIX, "llama_clip_pad/image.jpg")))
    png = read(os.path.join(TESTS, "image/data/in/rgb_31x17.png"))
    c.add("truncated.png", png[:len(png) // 2])
    # findings (docs/TESTING.md), kept as seeds; each is a case in tests/bad
    for p in sorted(glob.glob(os.path.join(TESTS, "bad/data/image/*"))):
        c.add("found_" + os.path.basename(p), read(p))


if __name__ == "__main__":
    gen_safetensors()
    gen_config()
    gen_tokenizer()
    gen_template()
    gen_image()
