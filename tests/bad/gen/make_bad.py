#!/usr/bin/python3
"""Writes tests/bad/data/: corrupt safetensors files, broken checkpoint directories and
inconsistent configs, and tests/bad/cases.txt, one line per input:

    kind|path under tests/bad/data|expected status|substring the message must contain

kind: st (tlv__safetensors_open on a file), ckpt (tlv__checkpoint_open on a directory),
config (tlv__config_load on a directory), image (tlv__image_load_file), model (a checkpoint folder
through the model loader's first pass without a device, tlv__model_plan: names, shapes and dtypes
against config.json). Inputs the fuzzers in
tests/fuzz found (docs/TESTING.md) are cases here too. The messages are what a user should read: they name
the file and the field or tensor, expected vs found.

Run: /usr/bin/python3 tests/bad/gen/make_bad.py
"""
import copy, json, os, shutil, struct

HERE = os.path.dirname(os.path.abspath(__file__))
BAD = os.path.join(HERE, "..")
DATA = os.path.join(BAD, "data")
FORMATS = os.path.join(BAD, "..", "formats", "data")
cases = []


def case(kind, path, status, msg):
    assert "|" not in msg and "\n" not in msg
    cases.append(f"{kind}|{path}|{status}|{msg}")


def st_bytes(header=None, data=b"", raw_header=None, n_override=None):
    h = raw_header if raw_header is not None else json.dumps(header).encode()
    n = len(h) if n_override is None else n_override
    return struct.pack("<Q", n) + h + data


def write(rel, b):
    p = os.path.join(DATA, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(b)


def t(dtype, shape, b, e):
    return {"dtype": dtype, "shape": shape, "data_offsets": [b, e]}


def st(name, status, msg, **kw):
    write(f"st/{name}.safetensors", st_bytes(**kw) if kw else b"")
    case("st", f"st/{name}.safetensors", status, msg)


def quantized():
    """Damaged quantized checkpoints (docs/FORMATS.md "Quantized checkpoints"): a Q8_0/Q4_0 tensor
    is U8 [rows, cols / 32 * block bytes] described by tlv.* keys in __metadata__."""
    V = {"tlv.quant.version": "1"}

    def q(name, status, msg, tensors, meta):
        header, data = {"__metadata__": meta}, b""
        for tn, (dtype, shape) in tensors.items():
            n = {"U8": 1, "F16": 2, "F32": 4}[dtype]
            for d in shape:
                n *= d
            header[tn] = t(dtype, shape, len(data), len(data) + n)
            data += bytes(n)
        st(name, status, msg, header=header, data=data)

    def fs(fmt, shape, n="w"):
        return {f"tlv.format.{n}": fmt, f"tlv.shape.{n}": shape}

    q("q_wrong_bytes", "FORMAT",
      "q_wrong_bytes.safetensors: tensor 'w': wrong byte count: U8 rows of 35 bytes are not whole q8_0 blocks of 34 bytes",
      {"w": ("U8", [2, 35])}, {**V, **fs("q8_0", "[2, 32]")})
    q("q_block_count", "FORMAT",
      "tensor 'w': block count: U8 rows hold 2 q4_0 blocks, shape [2, 96] needs 3 (54 bytes a row)",
      {"w": ("U8", [2, 36])}, {**V, **fs("q4_0", "[2, 96]")})
    q("q_unknown_format", "UNSUPPORTED",
      "tensor 'w': unknown quantized format 'q5_k' in __metadata__ (expected q8_0 or q4_0)",
      {"w": ("U8", [1, 34])}, {**V, **fs("q5_k", "[1, 32]")})
    q("q_rows_mismatch", "FORMAT", "tensor 'w': q8_0 shape [2, 32] but U8 [3, 34] stores 3 rows",
      {"w": ("U8", [3, 34])}, {**V, **fs("q8_0", "[2, 32]")})
    q("q_cols_not_blocks", "FORMAT", "tensor 'w': q4_0 shape [2, 40]: 40 columns are not whole blocks of 32",
      {"w": ("U8", [2, 18])}, {**V, **fs("q4_0", "[2, 40]")})
    q("q_not_u8", "FORMAT",
      "tensor 'w': marked q4_0 in __metadata__ but stored as F16 [2, 32], expected U8 [rows, row_bytes]",
      {"w": ("F16", [2, 32])}, {**V, **fs("q4_0", "[2, 32]")})
    q("q_3d_storage", "FORMAT", "tensor 'w': marked q8_0 in __metadata__ but stored as U8 [1, 1, 34]",
      {"w": ("U8", [1, 1, 34])}, {**V, **fs("q8_0", "[1, 32]")})
    q("q_u8_no_format", "FORMAT", "tensor 'm': stored as U8 but __metadata__ has no 'tlv.format.m'",
      {"w": ("U8", [1, 18]), "m": ("U8", [1, 34])}, {**V, **fs("q4_0", "[1, 32]")})
    q("q_missing_tensor", "FORMAT", "__metadata__ 'tlv.format.ghost' names tensor 'ghost', which is not in this file",
      {"w": ("F32", [2])}, {**V, **fs("q8_0", "[1, 32]", "ghost")})
    q("q_no_version", "FORMAT", "q_no_version.safetensors: __metadata__ has 'tlv.format.w' but no 'tlv.quant.version'",
      {"w": ("U8", [1, 34])}, fs("q8_0", "[1, 32]"))
    q("q_version_2", "UNSUPPORTED", "tlv.quant.version '2' is not supported (this build reads '1')",
      {"w": ("U8", [1, 34])}, {"tlv.quant.version": "2", **fs("q8_0", "[1, 32]")})
    q("q_shape_missing", "FORMAT", "tensor 'w': q8_0 without its logical shape ('tlv.shape.w' missing from __metadata__)",
      {"w": ("U8", [1, 34])}, {**V, "tlv.format.w": "q8_0"})
    q("q_shape_fraction", "FORMAT",
      "tensor 'w': tlv.shape.w is '[1, 32.5]', expected \"[rows, cols]\" with two positive integers",
      {"w": ("U8", [1, 34])}, {**V, **fs("q8_0", "[1, 32.5]")})
    q("q_shape_three_dims", "FORMAT", "tensor 'w': tlv.shape.w is '[1, 1, 32]', expected",
      {"w": ("U8", [1, 34])}, {**V, **fs("q8_0", "[1, 1, 32]")})
    q("q_shape_orphan", "FORMAT", "__metadata__ has 'tlv.shape.x' but no 'tlv.format.x'",
      {"w": ("U8", [1, 34]), "x": ("F32", [2])}, {**V, **fs("q8_0", "[1, 32]"), "tlv.shape.x": "[1, 2]"})
    # sharded: each shard describes its own tensors; s1 names one that lives in s2
    s1 = st_bytes({"__metadata__": {**V, **fs("q8_0", "[1, 32]", "b")}, "a": t("F32", [1], 0, 4)}, bytes(4))
    s2 = st_bytes({"b": t("U8", [1, 34], 0, 34)}, bytes(34))
    write("ckpt/q_other_shard/s1.safetensors", s1)
    write("ckpt/q_other_shard/s2.safetensors", s2)
    write("ckpt/q_other_shard/model.safetensors.index.json",
          json.dumps({"metadata": {}, "weight_map": {"a": "s1.safetensors", "b": "s2.safetensors"}}).encode())
    case("ckpt", "ckpt/q_other_shard", "FORMAT",
         "q_other_shard/s1.safetensors: __metadata__ 'tlv.format.b' names tensor 'b', which is not in this file")


def quantized_models():
    """Quantized checkpoint folders whose files are sound but disagree with config.json (issue 12):
    a whole tiny TinyLLaVA (Factory, qwen2 + SigLIP, the shapes of tests/models/q_qwen2_siglip with
    1 LLM layer and 8 vocabulary rows), data all zeros (the first pass reads no weights), the LLM's
    linear weights stored q4_0 and the embedding q8_0 as `tinyllava quantize` writes them."""
    src = os.path.join(BAD, "..", "models", "q_qwen2_siglip", "model", "config.json")
    with open(src) as f:
        base = json.load(f)
    base["text_config"]["num_hidden_layers"] = 1
    H, F, V, VH, VF = 64, 192, 8, 32, 64
    P = "language_model.model."
    VP = "vision_tower._vision_tower.vision_model."
    tensors = [(VP + "embeddings.patch_embedding.weight", "F16", [VH, 3, 8, 8]),
               (VP + "embeddings.patch_embedding.bias", "F16", [VH]),
               (VP + "embeddings.position_embedding.weight", "F16", [16, VH])]
    L = VP + "encoder.layers.0."
    for n in ("layer_norm1", "layer_norm2"):
        tensors += [(L + n + ".weight", "F16", [VH]), (L + n + ".bias", "F16", [VH])]
    for n in ("q_proj", "k_proj", "v_proj", "out_proj"):
        tensors += [(L + "self_attn." + n + ".weight", "F16", [VH, VH]), (L + "self_attn." + n + ".bias", "F16", [VH])]
    tensors += [(L + "mlp.fc1.weight", "F16", [VF, VH]), (L + "mlp.fc1.bias", "F16", [VF]),
                (L + "mlp.fc2.weight", "F16", [VH, VF]), (L + "mlp.fc2.bias", "F16", [VH]),
                ("connector._connector.0.weight", "F16", [H, VH]), ("connector._connector.0.bias", "F16", [H]),
                ("connector._connector.2.weight", "F16", [H, H]), ("connector._connector.2.bias", "F16", [H]),
                (P + "embed_tokens.weight", "q8_0", [V, H]), (P + "norm.weight", "F16", [H])]
    L = P + "layers.0."
    tensors += [(L + "input_layernorm.weight", "F16", [H]), (L + "post_attention_layernorm.weight", "F16", [H])]
    for n, o in (("q_proj", 64), ("k_proj", 32), ("v_proj", 32)):
        tensors += [(L + "self_attn." + n + ".weight", "q4_0", [o, H]), (L + "self_attn." + n + ".bias", "F16", [o])]
    tensors += [(L + "self_attn.o_proj.weight", "q4_0", [H, H]), (L + "mlp.gate_proj.weight", "q4_0", [F, H]),
                (L + "mlp.up_proj.weight", "q4_0", [F, H]), (L + "mlp.down_proj.weight", "q4_0", [H, F])]

    def folder(name, status, msg, edit_config, listed=True):
        cfg = copy.deepcopy(base)
        edit_config(cfg)
        meta, header, data = {"format": "pt", "tlv.quant.version": "1"}, {}, b""
        for tn, dt, shape in tensors:
            if dt in ("q8_0", "q4_0"):
                meta["tlv.format." + tn] = dt
                meta["tlv.shape." + tn] = json.dumps(shape)
                stored = [shape[0], shape[1] // 32 * (34 if dt == "q8_0" else 18)]
                dt = "U8"
            else:
                stored = shape
            n = {"U8": 1, "F16": 2}[dt]
            for d in stored:
                n *= d
            header[tn] = t(dt, stored, len(data), len(data) + n)
            data += bytes(n)
        header["__metadata__"] = meta
        if name == "q_sound":
            write(f"model/{name}/model.safetensors", st_bytes(header, data))
        else:  # the same weights file: a relative link to the control's (as tests/models links tokenizers)
            os.makedirs(os.path.join(DATA, "model", name), exist_ok=True)
            os.symlink("../q_sound/model.safetensors", os.path.join(DATA, "model", name, "model.safetensors"))
        write(f"model/{name}/config.json", json.dumps(cfg, indent=1).encode())
        if listed:
            case("model", f"model/{name}", status, msg)

    def ffn(c):
        c["text_config"]["intermediate_size"] = 160

    def hidden(c):
        c["text_config"]["hidden_size"] = 96
        c["hidden_size"] = 96

    # the same folder with its own config: plans cleanly (test_bad.c checks it, so the errors below
    # are about the config and nothing else)
    folder("q_sound", "", "", lambda c: None, listed=False)
    folder("q_ffn_vs_config", "SHAPE", "model.safetensors: tensor 'language_model.model.layers.0.mlp.down_proj.weight': "
           "__metadata__ gives q4_0 [64, 192], the config implies [64, 160]", ffn)
    folder("q_hidden_vs_config", "SHAPE", "tensor 'connector._connector.0.weight': expected shape [96, 32], found [64, 32]",
           hidden)



def main():
    shutil.rmtree(DATA, ignore_errors=True)
    os.makedirs(DATA)

    # ---- safetensors files
    write("st/short.safetensors", b"\x05\x00\x00")
    case("st", "st/short.safetensors", "FORMAT", "short.safetensors: 3 bytes, shorter than the 8-byte header length")
    write("st/empty.safetensors", b"")
    case("st", "st/empty.safetensors", "FORMAT", "empty.safetensors: 0 bytes, shorter than the 8-byte header length")
    st("header_past_eof", "FORMAT", "header_past_eof.safetensors: header length 1000 past end of file (30 bytes)",
       raw_header=b'{"a":1}' + b" " * 15, n_override=1000)
    st("huge_header", "FORMAT", "header length 1099511627776 exceeds the limit of 100000000 bytes",
       header={}, n_override=1 << 40)
    st("not_json", "FORMAT", "not_json.safetensors: header is not valid JSON", raw_header=b'{"a": {"dtype": "F32",')
    st("not_object", "FORMAT", "header does not start with a JSON object", raw_header=b"[1, 2, 3]")
    st("trailing", "FORMAT", "header is not a single JSON object", raw_header=b'{} {"b": 1}')
    st("overlap", "FORMAT", "tensor 'b': data_offsets [4,12) overlap tensor 'a' [0,8)",
       header={"a": t("F32", [2], 0, 8), "b": t("F32", [2], 4, 12)}, data=bytes(12))
    st("past_end", "FORMAT", "past_end.safetensors: tensor 'x.weight': data_offsets [0,16) past end of data (8 bytes)",
       header={"x.weight": t("F32", [4], 0, 16)}, data=bytes(8))
    st("length_mismatch", "FORMAT", "tensor 'w': data_offsets [0,8) hold 8 bytes, expected 6 (F16 [3])",
       header={"w": t("F16", [3], 0, 8)}, data=bytes(8))
    st("begin_after_end", "FORMAT", "tensor 'w': data_offsets [8,4) begin after end",
       header={"w": t("F32", [1], 8, 4)}, data=bytes(8))
    st("unknown_dtype", "UNSUPPORTED", "tensor 'q': unknown dtype 'Q4_0'",
       header={"q": t("Q4_0", [32], 0, 18)}, data=bytes(18))
    st("missing_dtype", "FORMAT", "tensor 'w': missing or non-string dtype",
       header={"w": {"shape": [1], "data_offsets": [0, 4]}}, data=bytes(4))
    st("negative_dim", "FORMAT", "tensor 'w': shape[1] is not a non-negative integer",
       header={"w": t("F32", [1, -1], 0, 0)})
    st("fractional_dim", "FORMAT", "tensor 'w': shape[0] is not a non-negative integer",
       header={"w": t("F32", [2.5], 0, 10)}, data=bytes(10))
    st("offset_2p60", "FORMAT", "tensor 'w': data_offsets must be two non-negative integers",
       raw_header=b'{"w": {"dtype": "U8", "shape": [1], "data_offsets": [1152921504606846976, 1152921504606846977]}}')
    st("three_offsets", "FORMAT", "tensor 'w': data_offsets must be two non-negative integers",
       header={"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4, 8]}}, data=bytes(8))
    st("count_overflow", "FORMAT", "tensor 'w': element count overflows 64 bits",
       header={"w": t("F32", [1 << 40, 1 << 40], 0, 0)})
    st("bytes_overflow", "FORMAT", "tensor 'w': byte size overflows 64 bits",
       header={"w": t("F64", [1 << 31, 1 << 31], 0, 0)})
    st("nine_dims", "UNSUPPORTED", "tensor 'w': 9 dimensions, at most 8 supported",
       header={"w": t("F32", [1] * 9, 0, 4)}, data=bytes(4))
    st("metadata_number", "FORMAT", "__metadata__ value 'step' is not a string",
       header={"__metadata__": {"format": "pt", "step": 5}})
    st("entry_number", "FORMAT", "tensor 'w': entry is not a JSON object", header={"w": 5})
    st("duplicate_name", "FORMAT", "tensor 'a' appears twice",
       raw_header=b'{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, '
                  b'"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}', data=bytes(8))
    case("st", "st/does_not_exist.safetensors", "NOT_FOUND", "does_not_exist.safetensors: cannot open")

    # ---- checkpoint directories
    good1 = st_bytes({"a": t("F32", [1], 0, 4)}, bytes(4))
    good2 = st_bytes({"b": t("F32", [1], 0, 4)}, bytes(4))
    write("ckpt/empty/README", b"no checkpoint here\n")
    case("ckpt", "ckpt/empty", "NOT_FOUND", "no model.safetensors or model.safetensors.index.json")

    def index(d, wm, raw=None):
        write(f"ckpt/{d}/model.safetensors.index.json",
              raw if raw is not None else json.dumps({"metadata": {}, "weight_map": wm}).encode())

    write("ckpt/missing_shard/s1.safetensors", good1)
    index("missing_shard", {"a": "s1.safetensors", "b": "s2.safetensors"})
    case("ckpt", "ckpt/missing_shard", "NOT_FOUND", "model.safetensors.index.json names a missing shard")
    index("escape", {"a": "../st/overlap.safetensors"})
    case("ckpt", "ckpt/escape", "FORMAT", "weight_map['a'] is not a file name in the same directory")
    index("index_not_json", None, raw=b'{"weight_map": {')
    case("ckpt", "ckpt/index_not_json", "FORMAT", "model.safetensors.index.json: not a valid JSON object")
    index("no_weight_map", None, raw=b'{"metadata": {}}')
    case("ckpt", "ckpt/no_weight_map", "FORMAT", "missing \"weight_map\" object")
    write("ckpt/wrong_shard/s1.safetensors", good1)
    write("ckpt/wrong_shard/s2.safetensors", good2)
    index("wrong_shard", {"a": "s2.safetensors", "b": "s2.safetensors", "c": "s1.safetensors"})
    case("ckpt", "ckpt/wrong_shard", "FORMAT", "tensor 'a' is mapped to s2.safetensors but found in another shard")
    write("ckpt/not_in_shard/s1.safetensors", good1)
    index("not_in_shard", {"a": "s1.safetensors", "z": "s1.safetensors"})
    case("ckpt", "ckpt/not_in_shard", "FORMAT", "tensor 'z' is mapped to s1.safetensors but not found there")
    write("ckpt/dup_across/s1.safetensors", good1)
    write("ckpt/dup_across/s2.safetensors", good1)
    index("dup_across", {"a": "s1.safetensors", "x": "s2.safetensors"})
    case("ckpt", "ckpt/dup_across", "FORMAT", "tensor 'a' appears twice (in")
    write("ckpt/bad_shard/s1.safetensors", st_bytes({"a": t("F32", [4], 0, 16)}, bytes(4)))
    index("bad_shard", {"a": "s1.safetensors"})
    case("ckpt", "ckpt/bad_shard", "FORMAT", "bad_shard/s1.safetensors: tensor 'a': data_offsets [0,16) past end of data (4 bytes)")

    # ---- configs
    base = json.load(open(os.path.join(FORMATS, "fx_phi2_siglip_square", "config.json")))
    legacy = json.load(open(os.path.join(FORMATS, "cfg_legacy_phi", "config.json")))
    openelm = json.load(open(os.path.join(FORMATS, "cfg_factory_openelm", "config.json")))

    def cfg(name, status, msg, edit=None, src=base, raw=None, pre=None):
        d = os.path.join(DATA, "config", name)
        os.makedirs(d, exist_ok=True)
        if raw is not None:
            open(os.path.join(d, "config.json"), "wb").write(raw)
        else:
            c = copy.deepcopy(src)
            edit(c)
            json.dump(c, open(os.path.join(d, "config.json"), "w"), indent=2)
        if pre is not None:
            json.dump(pre, open(os.path.join(d, "preprocessor_config.json"), "w"), indent=2)
        case("config", f"config/{name}", status, msg)

    def tc(**kw):
        return lambda c: c["text_config"].update(kw)

    def vc(**kw):
        return lambda c: c["vision_config"].update(kw)

    def top(**kw):
        return lambda c: c.update(kw)

    cfg("unknown_model_type", "UNSUPPORTED", "config.json: model_type: unknown model_type 'mistral_vlm'",
        top(model_type="mistral_vlm"))
    cfg("model_type_number", "FORMAT", "config.json: model_type: expected a string, found 7", top(model_type=7))
    cfg("unknown_llm", "UNSUPPORTED", "text_config.model_type: unknown LLM model_type 'mistral'", tc(model_type="mistral"))
    cfg("hidden_not_divisible", "FORMAT", "text_config.hidden_size 30 is not divisible by num_attention_heads 4",
        lambda c: (c["text_config"].update(hidden_size=30, num_attention_heads=4, num_key_value_heads=4),
                   c.update(hidden_size=30)))
    cfg("kv_not_divisor", "FORMAT", "num_attention_heads 2 is not a multiple of num_key_value_heads 4",
        tc(num_key_value_heads=4))
    cfg("heads_as_string", "FORMAT", "text_config.num_attention_heads: expected a 32-bit integer, found \"2\"",
        tc(num_attention_heads="2"))
    cfg("eps_as_string", "FORMAT", "text_config.layer_norm_eps: expected a number, found \"1e-5\"",
        tc(layer_norm_eps="1e-5"))
    cfg("feature_layer_range", "FORMAT",
        "vision_feature_layer: -30 out of range for a 3-layer vision tower (expected -4..3)", top(vision_feature_layer=-30))
    cfg("connector_qformer", "UNSUPPORTED", "connector_type: unsupported connector 'qformer'", top(connector_type="qformer"))
    cfg("no_connector", "FORMAT", "connector_type: missing", lambda c: c.pop("connector_type"))
    cfg("aspect_anyres", "UNSUPPORTED", "image_aspect_ratio: unsupported 'anyres'", top(image_aspect_ratio="anyres"))
    cfg("strategy_unknown", "UNSUPPORTED", "vision_feature_select_strategy: unsupported 'cls'",
        top(vision_feature_select_strategy="cls"))
    cfg("rope_scaling", "UNSUPPORTED", "text_config.rope_scaling: expected null, found {\"type\":\"linear\",\"factor\":2}",
        tc(rope_scaling={"type": "linear", "factor": 2}))
    cfg("act_unknown", "UNSUPPORTED", "text_config.hidden_act: unsupported activation 'relu2'", tc(hidden_act="relu2"))
    cfg("vision_act_unknown", "UNSUPPORTED", "vision_config.hidden_act: unsupported activation 'gelu_10'",
        vc(hidden_act="gelu_10"))
    cfg("rotary_odd", "UNSUPPORTED", "text_config: rotary dims 5 (head_dim 16 x 0.35) must be even", tc(partial_rotary_factor=0.35))
    cfg("hidden_mismatch", "FORMAT", "config.json: hidden_size: 64 disagrees with text_config hidden size 32", top(hidden_size=64))
    cfg("vision_hidden_mismatch", "FORMAT", "vision_hidden_size: 1152 disagrees with vision_config.hidden_size 48",
        top(vision_hidden_size=1152))
    cfg("vision_kind_mismatch", "FORMAT",
        "vision_config.model_type 'clip_vision_model' disagrees with vision tower name 'google/siglip-so400m-patch14-384'",
        vc(model_type="clip_vision_model"))
    cfg("vision_unknown", "UNSUPPORTED", "vision_config.model_type: unknown vision tower 'dinov2'",
        lambda c: (c["vision_config"].update(model_type="dinov2"), c.update(vision_model_name_or_path="facebook/dinov2")))
    cfg("vision_not_object", "FORMAT", "vision_config: expected a JSON object", top(vision_config=[1, 2]))
    cfg("image_below_patch", "FORMAT", "vision_config.image_size 10 is smaller than patch_size 12", vc(image_size=10))
    cfg("vision_heads", "FORMAT", "vision_config.hidden_size 48 is not divisible by num_attention_heads 5",
        vc(num_attention_heads=5))
    cfg("image_huge", "UNSUPPORTED", "vision_config.image_size: 3000000, at most 8192 supported", vc(image_size=3000000))
    cfg("vocab_huge", "UNSUPPORTED", "text_config: LLM sizes above 16777216 are not supported", tc(vocab_size=2000000000))
    cfg("too_many_layers", "UNSUPPORTED", "text_config.num_hidden_layers: 300 layers, at most 256 supported",
        tc(num_hidden_layers=300))
    cfg("no_text_config", "FORMAT", "text_config: missing (TinyLLaVA would fetch it from the hub as 'microsoft/phi-2'",
        lambda c: c.pop("text_config"))
    cfg("eos_list_bad", "FORMAT", "text_config.eos_token_id: expected a token id or a list of them, found [\"x\"]",
        tc(eos_token_id=["x"]))
    cfg("invalid_json", "FORMAT", "invalid_json/config.json:3:", raw=b'{\n  "model_type": "tinyllava",\n  oops\n}\n')
    cfg("array", "FORMAT", "config.json: not a JSON object", raw=b"[]")
    cfg("empty_file", "FORMAT", "config.json:1:1: invalid JSON", raw=b"")
    write("config/missing/README", b"no config.json here\n")
    case("config", "config/missing", "NOT_FOUND", "config.json: cannot open")
    cfg("legacy_no_tower", "FORMAT", "config.json: mm_vision_tower: missing",
        lambda c: c.pop("mm_vision_tower"), src=legacy)
    cfg("legacy_start_end", "UNSUPPORTED", "mm_use_im_start_end: true is not supported",
        top(mm_use_im_start_end=True), src=legacy)
    cfg("legacy_linear", "UNSUPPORTED", "mm_projector_type: unsupported connector 'linear'",
        lambda c: c.pop("mm_projector_type"), src=legacy)
    cfg("legacy_tower_unknown", "UNSUPPORTED", "mm_vision_tower: 'openai/vit-huge' names neither a SigLIP nor a CLIP tower",
        top(mm_vision_tower="openai/vit-huge"), src=legacy)
    cfg("legacy_mm_hidden", "UNSUPPORTED", "mm_hidden_size: 1024, but 'bczhou/TinyLLaVA-3.1B-SigLIP' is assumed",
        top(mm_hidden_size=1024), src=legacy)
    cfg("legacy_unknown", "UNSUPPORTED", "unknown TinyLLaVABench model_type 'tiny_llava_mixtral'",
        top(model_type="tiny_llava_mixtral"), src=legacy)
    cfg("legacy_select_layer", "FORMAT", "mm_vision_select_layer: 40 out of range for a 27-layer vision tower (expected -28..27)",
        top(mm_vision_select_layer=40), src=legacy)
    cfg("openelm_heads", "FORMAT", "text_config.num_query_heads/num_kv_heads[0]: expected 12/3 from qkv_multipliers, found 16/4",
        lambda c: (c["text_config"]["num_query_heads"].__setitem__(0, 16),
                   c["text_config"]["num_kv_heads"].__setitem__(0, 4)), src=openelm)
    cfg("openelm_ffn_list", "FORMAT", "text_config.ffn_multipliers: expected a number in (0, 64] or [first, last] or one value per layer",
        tc(ffn_multipliers=[1.0, 2.0, 3.0]), src=openelm)
    cfg("openelm_qkv_huge", "FORMAT", "text_config.qkv_multipliers: expected a number in (0, 64] or [first, last], found [0.5,1e+300]",
        tc(qkv_multipliers=[0.5, 1e300]), src=openelm)
    cfg("openelm_layernorm", "UNSUPPORTED", "normalization_layer_name: expected rms_norm, found 'layer_norm'",
        tc(normalization_layer_name="layer_norm"), src=openelm)
    cfg("hf_llava_act", "UNSUPPORTED", "projector_hidden_act: unsupported 'relu' (expected gelu)",
        top(projector_hidden_act="relu"), src=json.load(open(os.path.join(FORMATS, "cfg_hf_llava", "config.json"))))
    pre = json.load(open(os.path.join(FORMATS, "fx_phi2_siglip_square", "preprocessor_config.json")))
    p2 = copy.deepcopy(pre); p2["size"] = {"height": 80, "width": 80}
    cfg("pre_size", "FORMAT", "preprocessor_config.json: the processed image is 80x80, expected vision image_size 84x84",
        top(), pre=p2)
    p3 = copy.deepcopy(pre); p3["image_mean"] = [0.5, 0.5]
    cfg("pre_mean", "FORMAT", "preprocessor_config.json: image_mean: expected 3 numbers, found [0.5,0.5]", top(), pre=p3)
    p4 = copy.deepcopy(pre); p4["image_std"] = [0.5, 0.0, 0.5]
    cfg("pre_std_zero", "FORMAT", "image_std[1]: expected > 0, found 0", top(), pre=p4)
    p5 = copy.deepcopy(pre); p5["size"] = "big"
    cfg("pre_size_type", "FORMAT", "size: expected {height, width} or {shortest_edge}, found \"big\"", top(), pre=p5)

    # ---- images (found by tests/fuzz/fuzz_image)
    # A DHT segment before the frame header whose code counts add up to more than 256: stb_image
    # 2.27 writes past its 257-entry size table while stbi_info reads the header, before the
    # decoder's own check of the tables ran.
    counts = bytes([1, 1, 1, 26, 21, 17, 17, 24, 33, 24, 26, 29, 29, 31, 31, 31])  # 342 codes
    dht = b"\x00" + counts + bytes(342)
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, 8, 8, 1) + b"\x01\x11\x00"
    write("image/dht_before_sof.jpg", b"\xff\xd8\xff\xc4" + struct.pack(">H", 2 + len(dht)) + dht + sof + b"\xff\xd9")
    case("image", "image/dht_before_sof.jpg", "FORMAT", "dht_before_sof.jpg: corrupt JPEG image: a Huffman table defines more than 256 codes")
    # The same table cut short: stb_image reads the missing counts as 0 and still gets 400.
    write("image/dht_cut.jpg", b"\xff\xd8\xff\xc4\x01\x00\x00\xc8\xc8")
    case("image", "image/dht_cut.jpg", "FORMAT", "dht_cut.jpg: corrupt JPEG image: a Huffman table defines more than 256 codes")
    # A baseline scan with no DHT segment at all: stb_image 2.27 decodes with its uninitialised
    # tables and indexes far outside them (libjpeg-turbo would use the standard tables).
    dqt = b"\xff\xdb" + struct.pack(">H", 67) + b"\x00" + bytes([1] * 64)
    sos = b"\xff\xda" + struct.pack(">HB", 8, 1) + b"\x01\x00" + b"\x00\x3f\x00"
    write("image/scan_no_dht.jpg", b"\xff\xd8" + dqt + sof + sos + b"\x12\x34\x56\x78" + b"\xff\xd9")
    case("image", "image/scan_no_dht.jpg", "UNSUPPORTED",
         "scan_no_dht.jpg: JPEG image: a scan uses a Huffman table that no DHT segment defines")
    # Progressive: the DC scan's table is defined, the AC scan's (table 3) is not (what the fuzzer
    # found; it crashed only when the heap held old data, so the decoder now also zeroes it).
    sof2 = b"\xff\xc2" + sof[2:]
    dht_dc = b"\xff\xc4" + struct.pack(">H", 2 + 17 + 1) + b"\x00" + bytes([1] + [0] * 15) + b"\x00"
    dc_scan = b"\xff\xda" + struct.pack(">HB", 8, 1) + b"\x01\x00" + b"\x00\x00\x00" + b"\x00"
    ac_scan = b"\xff\xda" + struct.pack(">HB", 8, 1) + b"\x01\x03" + b"\x01\x3f\x00" + b"\x5a\xa5"
    write("image/prog_ac_no_dht.jpg", b"\xff\xd8" + dqt + sof2 + dht_dc + dc_scan + ac_scan + b"\xff\xd9")
    case("image", "image/prog_ac_no_dht.jpg", "UNSUPPORTED",
         "prog_ac_no_dht.jpg: JPEG image: a scan uses a Huffman table that no DHT segment defines")
    # Fill bytes before SOI: stb_image reads it as a JPEG, so the checks above must too.
    write("image/fill_before_soi.jpg", b"\xff\xff\xff\xd8\xff\xc4" + struct.pack(">H", 2 + len(dht)) + dht + sof + b"\xff\xd9")
    case("image", "image/fill_before_soi.jpg", "FORMAT", "fill_before_soi.jpg: corrupt JPEG image: a Huffman table defines more than 256 codes")
    # A PNG whose IDAT chunk declares 1 GB in a 60-byte file: stb_image 2.27 allocated for it.
    import zlib
    def chunk(t, d, n=None):
        return struct.pack(">I", len(d) if n is None else n) + t + d + struct.pack(">I", zlib.crc32(t + d))
    ihdr = chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0))
    write("image/idat_huge.png", b"\x89PNG\r\n\x1a\n" + ihdr + chunk(b"IDAT", b"\x78\x9c", n=(1 << 30) - 1))
    case("image", "image/idat_huge.png", "FORMAT", "idat_huge.png: corrupt or truncated PNG image: an IDAT chunk declares 1073741823 bytes")

    quantized()
    quantized_models()

    with open(os.path.join(BAD, "cases.txt"), "w") as f:
        f.write("# kind|path under tests/bad/data|status|message substring  (written by gen/make_bad.py)\n")
        f.write("\n".join(cases) + "\n")
    print(len(cases), "cases")


if __name__ == "__main__":
    main()
