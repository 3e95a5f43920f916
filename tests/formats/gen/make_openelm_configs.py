#!/usr/bin/python3
"""Writes two TinyLLaVA-OpenELM-450M configs and their expected per-layer sizes, computed the way
apple/OpenELM's configuration_openelm.py (OpenELMConfig.__post_init__, make_divisible) and
modeling_openelm.py (OpenELMFeedForwardNetwork) do, with Python's round() and numpy.linspace:

  data/cfg_factory_openelm/       as TinyLLaVA serialises it: ffn_multipliers expanded to one per
                                  layer, num_query_heads / num_kv_heads lists written
  data/cfg_factory_openelm_pair/  the OpenELM_CONFIGS["OpenELM-450M"] form: [first, last] pairs

Run: /usr/bin/python3 tests/formats/gen/make_openelm_configs.py
"""
import json, os
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data")


def make_divisible(v, divisor=8, min_value=None):
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


# OpenELM_CONFIGS["OpenELM-450M"]
L, D, HD, G, DIV = 20, 1536, 64, 4, 256
qkv = [round(v, 2) for v in np.linspace(0.5, 1.0, num=L, dtype=float)]
ffn = [round(v, 2) for v in np.linspace(0.5, 4.0, num=L, dtype=float)]
qdims = [int(make_divisible(D * m, divisor=HD * G)) for m in qkv]
nq = [q // HD for q in qdims]
nkv = [q // G for q in nq]
inter = [int(make_divisible(m * D, divisor=DIV)) for m in ffn]

base = json.load(open(os.path.join(DATA, "cfg_factory_gemma", "config.json")))
for name, pair in (("cfg_factory_openelm", False), ("cfg_factory_openelm_pair", True)):
    c = dict(base)
    c["llm_model_name_or_path"] = c["tokenizer_name_or_path"] = "apple/OpenELM-450M-Instruct"
    c["pad_token"], c["pad_token_id"] = "<unk>", 0
    c["hidden_size"], c["vocab_size"] = 1536, 32000
    tc = {"_name_or_path": "apple/OpenELM-450M-Instruct", "architectures": ["OpenELMForCausalLM"],
          "model_type": "openelm", "model_dim": D, "num_transformer_layers": L, "head_dim": HD,
          "num_gqa_groups": G, "normalize_qk_projections": True, "share_input_output_layers": True,
          "qkv_multipliers": [0.5, 1.0], "rope_max_length": 4096, "max_context_length": 2048,
          "ffn_dim_divisor": DIV, "torch_dtype": "float16", "vocab_size": 32000}
    if pair:
        tc["ffn_multipliers"] = [0.5, 4.0]
        c["tokenizer_name_or_path"] = "TinyLlama/TinyLlama-1.1B-Chat-v1.0"
    else:
        tc["ffn_multipliers"] = ffn
        tc["num_query_heads"] = nq
        tc["num_kv_heads"] = nkv
    c["text_config"] = tc
    os.makedirs(os.path.join(DATA, name), exist_ok=True)
    json.dump(c, open(os.path.join(DATA, name, "config.json"), "w"), indent=2)
    exp = {"source": "make_openelm_configs.py (apple/OpenELM __post_init__ in Python)",
           "generation": "factory", "template": "llama",
           "llm": {"arch": "openelm", "hidden_size": D, "num_hidden_layers": L, "head_dim": HD,
                   "num_attention_heads": max(nq), "num_key_value_heads": max(nkv),
                   "intermediate_size": max(inter), "vocab_size": 32000, "tie_word_embeddings": True,
                   "hidden_act": "swish", "max_position_embeddings": 2048, "rope_theta": 10000.0,
                   "bos_token_id": 1, "eos_token_id": 2, "rms_norm_eps": 1e-6, "rotary_dim": HD,
                   "qkv_bias": False, "qk_norm": True,
                   "layer_num_query_heads": nq, "layer_num_kv_heads": nkv, "layer_intermediate": inter},
           "num_image_tokens": 728}
    json.dump(exp, open(os.path.join(DATA, name, "expected.json"), "w"), indent=1)
print(nq, nkv, inter)
