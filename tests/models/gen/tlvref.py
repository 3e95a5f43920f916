# Plain-PyTorch reference implementation of the TinyLLaVA family, written from
# /work/shared/design/MODELS.md (sections 2-4 and 6). No transformers: every layer is spelled out here.
#
# Run with Debian's /usr/bin/python3 (python3-torch 1.13, python3-numpy, python3-pil,
# python3-sentencepiece, python3-regex).
#
# Contents:
#   safetensors read/write (json + numpy), checkpoint loaders for the three layouts
#   (Factory "tinyllava", legacy TinyLLaVABench "tiny_llava_*", native HF "llava"),
#   image preprocessing (Pillow), SigLIP / CLIP towers, mlp2x_gelu connector,
#   LLMs phi, llama, qwen2, gemma, stablelm (legacy StableLM-epoch), openelm,
#   greedy decoding and the expected.json record, slow-tokenizer equivalents
#   (GPT-2 byte-level BPE with added tokens, Llama SentencePiece legacy / non-legacy).

import hashlib
import json
import math
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)

IMAGE_TOKEN_INDEX = -200
SYSTEM = ("A chat between a curious user and an artificial intelligence assistant. "
          "The assistant gives helpful, detailed, and polite answers to the user's questions.")

# --------------------------------------------------------------------------------------------
# safetensors

_ST_DT = {"F16": np.float16, "F32": np.float32, "BF16": None, "I64": np.int64}


def st_read(path):
    """Return {name: float32 torch tensor} and {name: dtype string}."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n
        data = f.read()
    out, dtypes = {}, {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        raw = data[a:b]
        if v["dtype"] == "BF16":
            u = np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16
            arr = u.view(np.float32)
        else:
            arr = np.frombuffer(raw, dtype=_ST_DT[v["dtype"]])
        t = torch.from_numpy(arr.astype(np.float32).reshape(v["shape"]).copy())
        out[k] = t
        dtypes[k] = v["dtype"]
    return out, dtypes


def st_write(path, tensors, dtype):
    """tensors: {name: tensor}; dtype 'F16', 'BF16' or 'F32'. Names sorted, offsets contiguous, header
    padded with spaces to a multiple of 8 (as the safetensors library writes)."""
    npdt = {"F16": np.float16, "F32": np.float32, "BF16": np.float32}[dtype]
    header, blobs, off = {}, [], 0
    for k in sorted(tensors):
        arr = tensors[k].detach().cpu().numpy().astype(npdt)
        if dtype == "BF16":  # round to nearest even on the upper 16 bits (torch's float -> bfloat16)
            u = np.ascontiguousarray(arr).view(np.uint32).astype(np.uint64)
            u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
            b = u.astype(np.uint16).tobytes()
        else:
            b = arr.tobytes()
        header[k] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    hdr = {"__metadata__": {"format": "pt"}}
    hdr.update(header)
    hj = json.dumps(hdr, separators=(",", ":")).encode()
    hj += b" " * ((8 - len(hj) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for b in blobs:
            f.write(b)


def load_checkpoint_tensors(model_dir):
    """Single file or sharded (model.safetensors.index.json)."""
    idx = os.path.join(model_dir, "model.safetensors.index.json")
    if os.path.exists(idx):
        wm = json.load(open(idx))["weight_map"]
        out, dts = {}, {}
        for shard in sorted(set(wm.values())):
            t, d = st_read(os.path.join(model_dir, shard))
            for k in t:
                assert wm[k] == shard, (k, shard)
            out.update(t)
            dts.update(d)
        assert set(out) == set(wm), "index and shards disagree"
        return out, dts
    return st_read(os.path.join(model_dir, "model.safetensors"))


# --------------------------------------------------------------------------------------------
# config defaults (transformers 4.40.1 config classes, only the fields we read)

TEXT_DEFAULTS = {
    "phi": dict(vocab_size=51200, hidden_size=2048, intermediate_size=8192, num_hidden_layers=24,
                num_attention_heads=32, num_key_value_heads=None, hidden_act="gelu_new",
                max_position_embeddings=2048, layer_norm_eps=1e-5, tie_word_embeddings=False,
                rope_theta=10000.0, partial_rotary_factor=0.5, qk_layernorm=False,
                bos_token_id=1, eos_token_id=2),
    "llama": dict(vocab_size=32000, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
                  num_attention_heads=32, num_key_value_heads=None, hidden_act="silu",
                  max_position_embeddings=2048, rms_norm_eps=1e-6, tie_word_embeddings=False,
                  rope_theta=10000.0, attention_bias=False, bos_token_id=1, eos_token_id=2),
    "qwen2": dict(vocab_size=151936, hidden_size=4096, intermediate_size=22016, num_hidden_layers=32,
                  num_attention_heads=32, num_key_value_heads=32, hidden_act="silu",
                  max_position_embeddings=32768, rms_norm_eps=1e-6, tie_word_embeddings=False,
                  rope_theta=10000.0),
    "gemma": dict(vocab_size=256000, hidden_size=3072, intermediate_size=24576, num_hidden_layers=28,
                  num_attention_heads=16, num_key_value_heads=16, head_dim=256, hidden_act="gelu_pytorch_tanh",
                  hidden_activation=None, max_position_embeddings=8192, rms_norm_eps=1e-6,
                  tie_word_embeddings=True, rope_theta=10000.0, bos_token_id=2, eos_token_id=1, pad_token_id=0),
}
VISION_DEFAULTS = {
    "siglip_vision_model": dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                                num_attention_heads=12, num_channels=3, image_size=224, patch_size=16,
                                hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-6),
    "clip_vision_model": dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                              num_attention_heads=12, num_channels=3, image_size=224, patch_size=32,
                              hidden_act="quick_gelu", layer_norm_eps=1e-5),
}


def with_defaults(cfg, table):
    d = dict(table.get(cfg.get("model_type"), {}))
    d.update(cfg)
    return d


# --------------------------------------------------------------------------------------------
# activations

def gelu_tanh(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def gelu_erf(x):
    return F.gelu(x)


def quick_gelu(x):
    return x * torch.sigmoid(1.702 * x)


def silu(x):
    return F.silu(x)


ACT = {"gelu_new": gelu_tanh, "gelu_pytorch_tanh": gelu_tanh, "gelu": gelu_erf, "quick_gelu": quick_gelu,
       "silu": silu, "swish": silu}


def lin(x, W, b=None):
    y = x @ W.t()
    if b is not None:
        y = y + b
    return y


# --------------------------------------------------------------------------------------------
# image preprocessing (transformers 4.40 SiglipImageProcessor / CLIPImageProcessor + TinyLLaVA expand2square)

def load_rgb(path):
    from PIL import Image
    im = Image.open(path)
    im.load()
    return im.convert("RGB")


def expand2square(img, bg):
    from PIL import Image
    w, h = img.size
    if w == h:
        return img
    side = max(w, h)
    res = Image.new(img.mode, (side, side), bg)
    res.paste(img, ((side - w) // 2, (side - h) // 2))
    return res


def preprocess(img, pp, aspect):
    """pp: preprocessor_config dict. Returns float32 tensor [1,3,S,S]."""
    from PIL import Image
    mean = pp["image_mean"]
    std = pp["image_std"]
    if aspect == "pad":
        img = expand2square(img, tuple(int(m * 255) for m in mean))
    size = pp["size"]
    if "shortest_edge" in size:
        s = size["shortest_edge"]
        w, h = img.size
        short, long = (w, h) if w <= h else (h, w)
        ns, nl = s, int(s * long / short)
        nw, nh = (ns, nl) if w <= h else (nl, ns)
        img = img.resize((nw, nh), resample=pp.get("resample", 3), reducing_gap=None)
        if pp.get("do_center_crop", False):
            ch, cw = pp["crop_size"]["height"], pp["crop_size"]["width"]
            top = (nh - ch) // 2
            left = (nw - cw) // 2
            img = img.crop((left, top, left + cw, top + ch))
    else:
        img = img.resize((size["width"], size["height"]), resample=pp.get("resample", 3), reducing_gap=None)
    arr = np.asarray(img)  # H W 3 uint8
    x = (arr * pp.get("rescale_factor", 1 / 255)).astype(np.float32)
    m = np.array(mean, dtype=np.float32)
    s_ = np.array(std, dtype=np.float32)
    x = (x - m) / s_
    return torch.from_numpy(x.transpose(2, 0, 1).copy())[None]


# --------------------------------------------------------------------------------------------
# vision towers.  W: {name: tensor} relative to the tower root ("vision_model.*")

def _vit_attention(h, W, p, nh, eps_scale_first):
    T, D = h.shape
    hd = D // nh
    q = lin(h, W[p + "q_proj.weight"], W[p + "q_proj.bias"])
    k = lin(h, W[p + "k_proj.weight"], W[p + "k_proj.bias"])
    v = lin(h, W[p + "v_proj.weight"], W[p + "v_proj.bias"])
    scale = hd ** -0.5
    q = q.view(T, nh, hd).transpose(0, 1)
    k = k.view(T, nh, hd).transpose(0, 1)
    v = v.view(T, nh, hd).transpose(0, 1)
    if eps_scale_first:  # CLIP scales q before the product
        s = (q * scale) @ k.transpose(1, 2)
    else:  # SigLIP scales the product
        s = (q @ k.transpose(1, 2)) * scale
    a = torch.softmax(s.float(), dim=-1).to(q.dtype)
    o = (a @ v).transpose(0, 1).reshape(T, D)
    return lin(o, W[p + "out_proj.weight"], W[p + "out_proj.bias"])


def vision_forward(vc, W, pixel, n_layers_run=None):
    """Returns the list hidden_states = [embeddings(after pre_layrnorm for CLIP), after layer 0, ...].
    vc: vision config with defaults filled ('model_type' siglip_vision_model / clip_vision_model)."""
    is_clip = vc["model_type"] == "clip_vision_model"
    D = vc["hidden_size"]
    P = vc["patch_size"]
    nh = vc["num_attention_heads"]
    eps = vc["layer_norm_eps"]
    act = ACT[vc["hidden_act"]]
    pre = "vision_model."
    x = pixel.to(W[pre + "embeddings.patch_embedding.weight"].dtype)
    pb = W.get(pre + "embeddings.patch_embedding.bias")
    pe = F.conv2d(x, W[pre + "embeddings.patch_embedding.weight"], pb, stride=P)  # 1 D g g
    pe = pe.flatten(2).transpose(1, 2)[0]  # g*g, D (row-major)
    if is_clip:
        cls = W[pre + "embeddings.class_embedding"].view(1, D)
        pe = torch.cat([cls, pe], dim=0)
    pos = W[pre + "embeddings.position_embedding.weight"]
    assert pos.shape[0] == pe.shape[0], ("position table", pos.shape, pe.shape)
    h = pe + pos
    if is_clip:
        h = F.layer_norm(h, (D,), W[pre + "pre_layrnorm.weight"], W[pre + "pre_layrnorm.bias"], eps)
    hs = [h]
    L = vc["num_hidden_layers"] if n_layers_run is None else n_layers_run
    for i in range(L):
        p = pre + "encoder.layers.%d." % i
        r = h
        t = F.layer_norm(h, (D,), W[p + "layer_norm1.weight"], W[p + "layer_norm1.bias"], eps)
        h = r + _vit_attention(t, W, p + "self_attn.", nh, is_clip)
        r = h
        t = F.layer_norm(h, (D,), W[p + "layer_norm2.weight"], W[p + "layer_norm2.bias"], eps)
        t = lin(act(lin(t, W[p + "mlp.fc1.weight"], W[p + "mlp.fc1.bias"])), W[p + "mlp.fc2.weight"], W[p + "mlp.fc2.bias"])
        h = r + t
        hs.append(h)
    return hs


def connector_forward(W, feats):
    """mlp2x_gelu: Linear, GELU(erf), Linear.  W keys '0.weight', '0.bias', '2.weight', '2.bias'."""
    return lin(gelu_erf(lin(feats, W["0.weight"], W["0.bias"])), W["2.weight"], W["2.bias"])


# --------------------------------------------------------------------------------------------
# LLMs.  W: {name: tensor} with the HF names of the *ForCausalLM module ("model.*", "lm_head.*",
# or "transformer.*" for OpenELM).

def rope_cos_sin(T, dim, theta):
    inv = 1.0 / (theta ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    pos = torch.arange(T, dtype=torch.float32)
    fr = torch.outer(pos, inv)
    emb = torch.cat([fr, fr], dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


def apply_rope(x, cos, sin, rot):
    """x: [heads, T, hd]; rotate the first `rot` dims (rotate-half within them)."""
    if rot == 0:
        return x
    xr, xp = x[..., :rot], x[..., rot:]
    xr = xr * cos.to(x.dtype) + rotate_half(xr) * sin.to(x.dtype)
    return torch.cat([xr, xp], dim=-1)


def attention(q, k, v, nq, nkv, hd):
    """q [nq, T, hd], k,v [nkv, T, hd] (rope already applied).
    Causal, scale 1/sqrt(hd), fp32 softmax. Returns [T, nq*hd]."""
    T = q.shape[1]
    rep = nq // nkv
    k = k.repeat_interleave(rep, dim=0)
    v = v.repeat_interleave(rep, dim=0)
    s = (q.float() @ k.float().transpose(1, 2)) / math.sqrt(hd)
    mask = torch.full((T, T), float("-inf")).triu(1)
    s = s + mask
    a = torch.softmax(s, dim=-1).to(v.dtype)
    o = a @ v  # nq T hd
    return o.transpose(0, 1).reshape(T, nq * hd)


def rmsnorm(x, w, eps, gemma=False):
    xf = x.float()
    y = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)
    if gemma:
        return (y * (1.0 + w.float())).to(x.dtype)
    return w * y.to(x.dtype)


def heads(x, n, hd):
    T = x.shape[0]
    return x.view(T, n, hd).transpose(0, 1)


def llm_embed(arch, W, ids):
    key = "transformer.token_embeddings.weight" if arch == "openelm" else "model.embed_tokens.weight"
    return W[key][torch.tensor(ids, dtype=torch.long)]


def llm_forward(arch, c, W, x):
    """x: [T, H] input embeddings (spliced). Returns logits [T, V] (float32)."""
    T, H = x.shape
    if arch == "phi":
        nh = c["num_attention_heads"]
        nkv = c.get("num_key_value_heads") or nh
        hd = H // nh
        rot = int(c["partial_rotary_factor"] * hd)
        cos, sin = rope_cos_sin(T, rot, c["rope_theta"])
        eps = c["layer_norm_eps"]
        act = ACT[c["hidden_act"]]
        for i in range(c["num_hidden_layers"]):
            p = "model.layers.%d." % i
            h = F.layer_norm(x, (H,), W[p + "input_layernorm.weight"], W[p + "input_layernorm.bias"], eps)
            q = heads(lin(h, W[p + "self_attn.q_proj.weight"], W[p + "self_attn.q_proj.bias"]), nh, hd)
            k = heads(lin(h, W[p + "self_attn.k_proj.weight"], W[p + "self_attn.k_proj.bias"]), nkv, hd)
            v = heads(lin(h, W[p + "self_attn.v_proj.weight"], W[p + "self_attn.v_proj.bias"]), nkv, hd)
            q, k = apply_rope(q, cos, sin, rot), apply_rope(k, cos, sin, rot)
            a = lin(attention(q, k, v, nh, nkv, hd), W[p + "self_attn.dense.weight"], W[p + "self_attn.dense.bias"])
            m = lin(act(lin(h, W[p + "mlp.fc1.weight"], W[p + "mlp.fc1.bias"])), W[p + "mlp.fc2.weight"], W[p + "mlp.fc2.bias"])
            x = x + a + m
        x = F.layer_norm(x, (H,), W["model.final_layernorm.weight"], W["model.final_layernorm.bias"], eps)
        return lin(x, W["lm_head.weight"], W.get("lm_head.bias")).float()

    if arch == "stablelm":  # legacy StableLM-epoch (TinyLLaVA-2.0B)
        nh = c["num_attention_heads"]
        nkv = c.get("num_key_value_heads") or nh
        hd = H // nh
        rot = int(hd * c["rope_pct"])
        cos, sin = rope_cos_sin(T, rot, c["rope_theta"])
        eps = c["norm_eps"]
        act = ACT[c["hidden_act"]]
        qb = c.get("use_qkv_bias", False)
        for i in range(c["num_hidden_layers"]):
            p = "model.layers.%d." % i
            h = F.layer_norm(x, (H,), W[p + "input_layernorm.weight"], W[p + "input_layernorm.bias"], eps)
            q = heads(lin(h, W[p + "self_attn.q_proj.weight"], W[p + "self_attn.q_proj.bias"] if qb else None), nh, hd)
            k = heads(lin(h, W[p + "self_attn.k_proj.weight"], W[p + "self_attn.k_proj.bias"] if qb else None), nkv, hd)
            v = heads(lin(h, W[p + "self_attn.v_proj.weight"], W[p + "self_attn.v_proj.bias"] if qb else None), nkv, hd)
            q, k = apply_rope(q, cos, sin, rot), apply_rope(k, cos, sin, rot)
            x = x + lin(attention(q, k, v, nh, nkv, hd), W[p + "self_attn.o_proj.weight"])
            h = F.layer_norm(x, (H,), W[p + "post_attention_layernorm.weight"], W[p + "post_attention_layernorm.bias"], eps)
            x = x + lin(act(lin(h, W[p + "mlp.gate_proj.weight"])) * lin(h, W[p + "mlp.up_proj.weight"]), W[p + "mlp.down_proj.weight"])
        x = F.layer_norm(x, (H,), W["model.norm.weight"], W["model.norm.bias"], eps)
        return lin(x, W["lm_head.weight"]).float()

    if arch in ("llama", "qwen2", "gemma"):
        gemma = arch == "gemma"
        nh = c["num_attention_heads"]
        nkv = c.get("num_key_value_heads") or nh
        hd = c["head_dim"] if gemma else H // nh
        cos, sin = rope_cos_sin(T, hd, c["rope_theta"])
        eps = c["rms_norm_eps"]
        if gemma:
            act = ACT[c.get("hidden_activation") or "gelu_pytorch_tanh"]
            x = x * torch.tensor(H ** 0.5, dtype=x.dtype)
        else:
            act = ACT[c["hidden_act"]]
        bias = arch == "qwen2" or c.get("attention_bias", False)
        for i in range(c["num_hidden_layers"]):
            p = "model.layers.%d." % i
            h = rmsnorm(x, W[p + "input_layernorm.weight"], eps, gemma)
            q = heads(lin(h, W[p + "self_attn.q_proj.weight"], W.get(p + "self_attn.q_proj.bias") if bias else None), nh, hd)
            k = heads(lin(h, W[p + "self_attn.k_proj.weight"], W.get(p + "self_attn.k_proj.bias") if bias else None), nkv, hd)
            v = heads(lin(h, W[p + "self_attn.v_proj.weight"], W.get(p + "self_attn.v_proj.bias") if bias else None), nkv, hd)
            q, k = apply_rope(q, cos, sin, hd), apply_rope(k, cos, sin, hd)
            x = x + lin(attention(q, k, v, nh, nkv, hd), W[p + "self_attn.o_proj.weight"])
            h = rmsnorm(x, W[p + "post_attention_layernorm.weight"], eps, gemma)
            x = x + lin(act(lin(h, W[p + "mlp.gate_proj.weight"])) * lin(h, W[p + "mlp.up_proj.weight"]), W[p + "mlp.down_proj.weight"])
        x = rmsnorm(x, W["model.norm.weight"], eps, gemma)
        head = W.get("lm_head.weight")
        if head is None or c.get("tie_word_embeddings", False):
            head = W["model.embed_tokens.weight"]
        return lin(x, head).float()

    if arch == "openelm":
        hd = c["head_dim"]
        eps = 1e-6
        act = ACT[c["activation_fn_name"]]
        cos, sin = rope_cos_sin(T, hd, c["rope_freq_constant"])
        for i in range(c["num_transformer_layers"]):
            p = "transformer.layers.%d." % i
            nq, nkv = c["num_query_heads"][i], c["num_kv_heads"][i]
            h = rmsnorm(x, W[p + "attn_norm.weight"], eps)
            qkv = lin(h, W[p + "attn.qkv_proj.weight"]).view(T, nq + 2 * nkv, hd).transpose(0, 1)
            q, k, v = qkv[:nq], qkv[nq:nq + nkv], qkv[nq + nkv:]
            if c.get("normalize_qk_projections", False):
                q = rmsnorm(q, W[p + "attn.q_norm.weight"], eps)
                k = rmsnorm(k, W[p + "attn.k_norm.weight"], eps)
            q, k = apply_rope(q.float(), cos, sin, hd).to(q.dtype), apply_rope(k.float(), cos, sin, hd).to(k.dtype)
            x = x + lin(attention(q, k, v, nq, nkv, hd), W[p + "attn.out_proj.weight"])
            h = rmsnorm(x, W[p + "ffn_norm.weight"], eps)
            y = lin(h, W[p + "ffn.proj_1.weight"])
            y1, y2 = y.chunk(2, dim=-1)
            x = x + lin(act(y1) * y2, W[p + "ffn.proj_2.weight"])
        x = rmsnorm(x, W["transformer.norm.weight"], eps)
        head = W["transformer.token_embeddings.weight"] if c.get("share_input_output_layers", False) else W["lm_head.weight"]
        return lin(x, head).float()

    raise ValueError("unknown arch " + arch)


# --------------------------------------------------------------------------------------------
# checkpoint directory -> runnable model description

def _make_divisible(v, divisor, min_value=None):
    if min_value is None:
        min_value = divisor
    nv = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if nv < 0.9 * v:
        nv += divisor
    return nv


def openelm_layer_dims(c):
    """num_query_heads, num_kv_heads, ffn intermediate dims per layer (OpenELMConfig.__post_init__)."""
    L = c["num_transformer_layers"]
    hm = c.get("num_gqa_groups") or 2
    qm = c["qkv_multipliers"]
    if isinstance(qm, (int, float)):
        qd = [int(_make_divisible(c["model_dim"] * qm, c["head_dim"] * hm))] * L
    else:
        ms = [round(v, 2) for v in np.linspace(qm[0], qm[1], num=L, dtype=float)]
        qd = [int(_make_divisible(c["model_dim"] * m, c["head_dim"] * hm)) for m in ms]
    nq = [d // c["head_dim"] for d in qd]
    nkv = [q // c["num_gqa_groups"] for q in nq]
    fm = c["ffn_multipliers"]
    if isinstance(fm, (int, float)):
        fms = [fm] * L
    elif len(fm) == 2:
        fms = [round(v, 2) for v in np.linspace(fm[0], fm[1], num=L, dtype=float)]
    else:
        fms = list(fm)
    ffn = [int(_make_divisible(m * c["model_dim"], c["ffn_dim_divisor"])) for m in fms]
    return nq, nkv, ffn


def arch_of(model_type):
    return {"phi": "phi", "llama": "llama", "qwen2": "qwen2", "gemma": "gemma", "openelm": "openelm",
            "stablelm_epoch": "stablelm", "stablelm": "stablelm"}[model_type]


def load_model(model_dir, vision_config_dir=None):
    """Read a checkpoint directory (any of the three layouts) into a dict:
    layout, arch, text (config with defaults), vision (config), select ('factory_patch' | 'legacy_all' |
    'hf_default'), feature_layer, aspect, preproc, W_llm, W_vis, W_conn, dtypes."""
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    T, dts = load_checkpoint_tensors(model_dir)
    m = {"config": cfg, "dtypes": sorted(set(dts.values()))}
    W_llm, W_vis, W_conn = {}, {}, {}
    mt = cfg["model_type"]
    if mt == "tinyllava":  # Factory
        m["layout"] = "factory"
        for k, v in T.items():
            if k.startswith("language_model."):
                W_llm[k[len("language_model."):]] = v
            elif k.startswith("vision_tower._vision_tower."):
                W_vis[k[len("vision_tower._vision_tower."):]] = v
            elif k.startswith("connector._connector."):
                W_conn[k[len("connector._connector."):]] = v
            else:
                raise ValueError("unexpected tensor " + k)
        tc = cfg["text_config"]
        m["text"] = with_defaults(tc, TEXT_DEFAULTS)
        m["vision"] = with_defaults(cfg["vision_config"], VISION_DEFAULTS)
        m["select"] = cfg.get("vision_feature_select_strategy", "patch")
        m["feature_layer"] = cfg.get("vision_feature_layer", -2)
        m["aspect"] = cfg.get("image_aspect_ratio", "square")
        m["image_token_index"] = IMAGE_TOKEN_INDEX
    elif mt.startswith("tiny_llava_"):  # legacy TinyLLaVABench
        m["layout"] = "legacy"
        for k, v in T.items():
            if k.startswith("model.vision_tower.vision_tower."):
                W_vis[k[len("model.vision_tower.vision_tower."):]] = v
            elif k.startswith("model.mm_projector."):
                W_conn[k[len("model.mm_projector."):]] = v
            else:
                W_llm[k] = v
        tc = dict(cfg)
        tc["model_type"] = {"tiny_llava_phi": "phi", "tiny_llava_stablelm": "stablelm_epoch"}[mt]
        m["text"] = with_defaults(tc, TEXT_DEFAULTS)
        # published legacy configs have no vision_config (the tower's config is in the repository named
        # by mm_vision_tower); the tiny cases carry it inline
        vc = cfg.get("vision_config")
        if vc is None:
            vc = json.load(open(os.path.join(vision_config_dir, "config.json")))
        m["vision"] = with_defaults(vc, VISION_DEFAULTS)
        m["select"] = "legacy_all"
        m["feature_layer"] = cfg.get("mm_vision_select_layer", -2)
        m["aspect"] = cfg.get("image_aspect_ratio", "pad")
        m["image_token_index"] = IMAGE_TOKEN_INDEX
    elif mt == "llava":  # native HF LLaVA
        m["layout"] = "hf_llava"
        for k, v in T.items():
            if k.startswith("language_model."):
                W_llm[k[len("language_model."):]] = v
            elif k.startswith("vision_tower."):
                W_vis[k[len("vision_tower."):]] = v
            elif k.startswith("multi_modal_projector.linear_1."):
                W_conn["0." + k.split(".")[-1]] = v
            elif k.startswith("multi_modal_projector.linear_2."):
                W_conn["2." + k.split(".")[-1]] = v
            else:
                raise ValueError("unexpected tensor " + k)
        m["text"] = with_defaults(cfg["text_config"], TEXT_DEFAULTS)
        m["vision"] = with_defaults(cfg["vision_config"], VISION_DEFAULTS)
        m["select"] = cfg.get("vision_feature_select_strategy", "default")
        m["feature_layer"] = cfg.get("vision_feature_layer", -2)
        m["aspect"] = "none"
        m["image_token_index"] = cfg["image_token_index"]
    else:
        raise ValueError("unknown model_type " + mt)
    m["arch"] = arch_of(m["text"]["model_type"])
    if m["arch"] == "openelm":
        nq, nkv, ffn = openelm_layer_dims(m["text"])
        m["text"]["num_query_heads"], m["text"]["num_kv_heads"], m["text"]["ffn_dims"] = nq, nkv, ffn
    pp = os.path.join(model_dir, "preprocessor_config.json")
    if not os.path.exists(pp) and vision_config_dir:
        pp = os.path.join(vision_config_dir, "preprocessor_config.json")
    m["preproc"] = json.load(open(pp))
    m["W_llm"], m["W_vis"], m["W_conn"] = W_llm, W_vis, W_conn
    return m


def cast_model(m, dtype):
    """Copy of m with every weight in `dtype` (for the bfloat16 robustness check)."""
    m2 = dict(m)
    for key in ("W_llm", "W_vis", "W_conn"):
        m2[key] = {k: v.to(dtype) for k, v in m[key].items()}
    return m2


def image_features(m, pixel):
    vc = m["vision"]
    W = m["W_vis"]
    dt = m["W_conn"]["0.weight"].dtype
    if m["select"] == "legacy_all":
        # the legacy SigLIP module deleted its last encoder layer: run all stored layers, take
        # hidden_states[-1] of the shortened tower (= [-2] of the full one), keep every patch
        stored = len({k.split(".")[3] for k in W if k.startswith("vision_model.encoder.layers.")})
        assert stored == vc["num_hidden_layers"] - 1, (stored, vc["num_hidden_layers"])
        hs = vision_forward(vc, W, pixel.to(dt), n_layers_run=stored)
        f = hs[-1]
    else:
        hs = vision_forward(vc, W, pixel.to(dt))
        f = hs[m["feature_layer"]]
        if m["select"] in ("patch", "default"):
            f = f[1:]
        elif m["select"] not in ("cls_patch", "full"):
            raise ValueError(m["select"])
    return connector_forward(m["W_conn"], f)


def splice(m, ids, feats):
    parts = []
    cur = []
    itok = m["image_token_index"]
    n_img = 0
    for t in ids:
        if t == itok:
            if cur:
                parts.append(llm_embed(m["arch"], m["W_llm"], cur))
                cur = []
            parts.append(feats)
            n_img += 1
        else:
            cur.append(t)
    if cur:
        parts.append(llm_embed(m["arch"], m["W_llm"], cur))
    assert n_img == 1
    return torch.cat(parts, dim=0)


def greedy(m, ids, pixel, n_new, eos_id=None):
    """Full-recompute greedy decoding (no KV cache). Returns feats, list of logits per step, ids."""
    with torch.no_grad():
        feats = image_features(m, pixel)
        x = splice(m, ids, feats.to(m["W_llm"][next(iter(m["W_llm"]))].dtype))
        steps, gen = [], []
        for i in range(n_new):
            logits = llm_forward(m["arch"], m["text"], m["W_llm"], x)[-1]
            tok = int(torch.argmax(logits))
            steps.append(logits)
            gen.append(tok)
            if eos_id is not None and tok == eos_id:
                break
            x = torch.cat([x, llm_embed(m["arch"], m["W_llm"], [tok])], dim=0)
    return feats, steps, gen


def teacher_forced_logits(m, ids, pixel, tf):
    """Logits [len(tf), V] (float32): row i after the spliced prompt and tf[0..i-1] (one causal
    forward over the whole sequence), and the spliced prompt length."""
    with torch.no_grad():
        feats = image_features(m, pixel)
        x = splice(m, ids, feats.to(m["W_llm"][next(iter(m["W_llm"]))].dtype))
        n = x.shape[0]
        x = torch.cat([x, llm_embed(m["arch"], m["W_llm"], tf[:-1])], dim=0)
        logits = llm_forward(m["arch"], m["text"], m["W_llm"], x)
    return logits[n - 1:].float(), n


# ggml's reference quantizers (ggml-quants.c quantize_row_q8_0_ref / quantize_row_q4_0_ref), in
# float32 as there; returns the dequantized weights. Blocks of 32 along the last dimension.
def _fp16(x):
    return x.astype(np.float16).astype(np.float32)


def quant_dequant(w, fmt):
    a = w.detach().float().numpy().astype(np.float32)
    assert a.shape[-1] % 32 == 0, a.shape
    b = a.reshape(-1, 32)
    if fmt == "q8_0":
        amax = np.abs(b).max(axis=1)
        d = (amax / np.float32(127)).astype(np.float32)
        idv = np.where(d != 0, np.float32(1) / np.where(d != 0, d, 1), 0).astype(np.float32)
        v = (b * idv[:, None]).astype(np.float32)
        q = np.sign(v) * np.floor(np.abs(v) + np.float32(0.5))  # roundf: half away from zero
        out = q.astype(np.float32) * _fp16(d)[:, None]
    elif fmt == "q4_0":
        i = np.abs(b).argmax(axis=1)  # the first element of largest magnitude, with its sign
        mx = b[np.arange(b.shape[0]), i]
        d = (mx / np.float32(-8)).astype(np.float32)
        idv = np.where(d != 0, np.float32(1) / np.where(d != 0, d, 1), 0).astype(np.float32)
        v = (b * idv[:, None] + np.float32(8.5)).astype(np.float32)
        q = np.minimum(np.trunc(v), 15)  # (int8_t) truncates; v >= 0.5 here
        out = (q - 8).astype(np.float32) * _fp16(d)[:, None]
    else:
        raise ValueError(fmt)
    return torch.from_numpy(out.reshape(a.shape).astype(np.float32))


def quantize_model(m, recipe):
    """issue 12's recipes on the LLM: 'q8_0' every 2-D LLM weight q8_0; 'q4_0' the linear weights
    q4_0 and the token embedding / output head q8_0. A row length that is not a multiple of 32 keeps
    its weights (not the case in the quantization cases). Norms, biases, vision and connector as stored."""
    m2 = dict(m)
    W = {}
    for k, v in m["W_llm"].items():
        if v.dim() != 2 or v.shape[-1] % 32:
            W[k] = v
            continue
        emb = k in ("model.embed_tokens.weight", "lm_head.weight", "transformer.token_embeddings.weight")
        W[k] = quant_dequant(v, "q8_0" if recipe == "q8_0" or emb else "q4_0").to(v.dtype)
    m2["W_llm"] = W
    return m2


def step_record(i, logits):
    top = torch.topk(logits, 5)
    ids = [int(t) for t in top.indices]
    vals = [float(v) for v in top.values]
    return {"step": i, "token_id": ids[0], "top5_ids": ids, "top5_logits": [f7(v) for v in vals],
            "margin_top1_top2": f7(vals[0] - vals[1]), "logits_std": f7(float(logits.std()))}


def f7(x):
    return float("%.7g" % x)


def f6(x):
    return float("%.6g" % x)


# --------------------------------------------------------------------------------------------
# tokenizers (slow-tokenizer semantics)

def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\xa1"), ord("\xac") + 1)) + list(range(ord("\xae"), ord("\xff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


class GPT2BPE:
    """GPT-2 / CodeGen slow tokenizer: added tokens split first (longest match at the earliest
    position), then the GPT-2 regex, byte-level mapping and BPE."""
    PAT = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""

    def __init__(self, vocab_path, merges_path, added=None, special=("<|endoftext|>",)):
        import regex
        self.re = regex.compile(self.PAT)
        self.enc = json.load(open(vocab_path, encoding="utf-8"))
        lines = open(merges_path, encoding="utf-8").read().split("\n")
        lines = [l for l in lines[1:] if l.strip()]
        self.ranks = {tuple(l.split()): i for i, l in enumerate(lines)}
        self.added = dict(added or {})
        for s in special:
            if s not in self.added:
                self.added[s] = self.enc[s]
        self.special = set(special)
        self.b2u = bytes_to_unicode()
        self.u2b = {v: k for k, v in self.b2u.items()}
        self.dec = {v: k for k, v in self.enc.items()}
        for k, v in self.added.items():
            self.dec[v] = k
        self.cache = {}

    def __len__(self):
        return len(set(self.enc.values()) | set(self.added.values()))

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = list(token)
        while len(word) > 1:
            pairs = [(self.ranks.get((word[i], word[i + 1]), 1e18), i) for i in range(len(word) - 1)]
            r, _ = min(pairs)
            if r == 1e18:
                break
            a, b = [(word[i], word[i + 1]) for (rr, i) in pairs if rr == r][0]
            nw, i = [], 0
            while i < len(word):
                if i < len(word) - 1 and word[i] == a and word[i + 1] == b:
                    nw.append(a + b)
                    i += 2
                else:
                    nw.append(word[i])
                    i += 1
            word = nw
        self.cache[token] = word
        return word

    def split_added(self, text):
        keys = sorted(self.added, key=len, reverse=True)
        out, buf, i = [], "", 0
        while i < len(text):
            hit = None
            for k in keys:
                if text.startswith(k, i):
                    hit = k
                    break
            if hit:
                if buf:
                    out.append((False, buf))
                    buf = ""
                out.append((True, hit))
                i += len(hit)
            else:
                buf += text[i]
                i += 1
        if buf:
            out.append((False, buf))
        return out

    def encode(self, text):
        ids = []
        for is_added, seg in self.split_added(text):
            if is_added:
                ids.append(self.added[seg])
                continue
            for tok in self.re.findall(seg):
                u = "".join(self.b2u[b] for b in tok.encode("utf-8"))
                ids.extend(self.enc[p] for p in self.bpe(u))
        return ids

    def token_str(self, i):
        return self.dec.get(i)

    def decode(self, ids, skip_special=True, cleanup=True):
        subs, cur = [], []
        for i in ids:
            s = self.dec.get(i)
            if s is None:
                continue
            if s in self.special:
                if skip_special:
                    continue
            if s in self.added and s not in self.special:
                if cur:
                    subs.append(self._bytes(cur))
                    cur = []
                subs.append(s)
            else:
                cur.append(s)
        if cur:
            subs.append(self._bytes(cur))
        text = " ".join(subs)
        if cleanup:
            for a, b in ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                         (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")):
                text = text.replace(a, b)
        return text

    def _bytes(self, toks):
        return bytearray(self.u2b[c] for c in "".join(toks)).decode("utf-8", errors="replace")


class LlamaSP:
    """Slow LlamaTokenizer. legacy=False (Factory llama/gemma/openelm fixtures): every chunk gets one
    leading '▁' and no SentencePiece dummy prefix; legacy=True (llava-hf): SentencePiece with its
    dummy prefix on every text segment between added tokens."""

    def __init__(self, model_path, legacy=False, added=None):
        import sentencepiece as spm
        self.sp = spm.SentencePieceProcessor(model_file=model_path)
        self.legacy = legacy
        self.added = dict(added or {})  # content -> id, e.g. {'<image>': 32000, '<pad>': 32001}
        self.inv_added = {v: k for k, v in self.added.items()}
        u = self.sp.encode("<unk>", out_type=str)
        self.unk_len = len(u)

    def __len__(self):
        return self.sp.get_piece_size() + len(self.added)

    def _pieces_nonlegacy(self, text):
        text = "\u2581" + text.replace("\u2581", " ")
        pieces = self.sp.encode("<unk>" + text, out_type=str)
        head = "".join(pieces[:self.unk_len])
        assert head.replace("\u2581", "") == "<unk>", pieces[:5]
        return pieces[self.unk_len:]

    def encode(self, text, add_bos=True):
        ids = [1] if add_bos else []
        segs, buf, i = [], "", 0
        keys = sorted(self.added, key=len, reverse=True)
        while i < len(text):
            hit = next((k for k in keys if text.startswith(k, i)), None)
            if hit:
                if buf:
                    segs.append((False, buf))
                    buf = ""
                segs.append((True, hit))
                i += len(hit)
            else:
                buf += text[i]
                i += 1
        if buf:
            segs.append((False, buf))
        for j, (is_added, seg) in enumerate(segs):
            if is_added:
                ids.append(self.added[seg])
            elif self.legacy:
                ids.extend(self.sp.encode(seg))
            else:
                assert len(segs) == 1, "non-legacy path only used without added tokens here"
                ids.extend(self.sp.piece_to_id(p) for p in self._pieces_nonlegacy(seg))
        return ids

    def token_str(self, i):
        if i in self.inv_added:
            return self.inv_added[i]
        if 0 <= i < self.sp.get_piece_size():
            return self.sp.id_to_piece(i)
        return None

    def decode(self, ids, skip_special=True):
        keep = [i for i in ids if i < self.sp.get_piece_size() and not (skip_special and i in (0, 1, 2))
                and i not in self.inv_added]
        return self.sp.decode(keep)


def tokenizer_image_token(prompt, enc_fn, bos_id):
    """Factory/legacy tokenizer_image_token: tokenise the chunks around <image> separately."""
    chunks = [enc_fn(c) for c in prompt.split("<image>")]
    ids, offset = [], 0
    if chunks and chunks[0] and bos_id is not None and chunks[0][0] == bos_id:
        offset = 1
        ids.append(chunks[0][0])
    sep = [IMAGE_TOKEN_INDEX] * (offset + 1)
    seq = []
    for i, c in enumerate(chunks):
        seq.append(c)
        if i != len(chunks) - 1:
            seq.append(sep)
    for x in seq:
        ids.extend(x[offset:])
    return ids


def factory_prompt(question):
    return SYSTEM + " USER: <image>\n" + question + " ASSISTANT:"


# --------------------------------------------------------------------------------------------
# misc

def sha256_file(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def rgb_sha256(img):
    return hashlib.sha256(np.asarray(img.convert("RGB"), dtype=np.uint8).tobytes()).hexdigest()


def versions():
    import platform
    import PIL
    import sentencepiece
    return {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
            "pillow": PIL.__version__, "sentencepiece": sentencepiece.__version__}
