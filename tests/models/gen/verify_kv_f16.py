#!/usr/bin/python3
# The f16 KV cache against the reference: reruns a case of tests/models with K and V rounded to
# f16 (round to nearest even) before attention, as the runtime stores them with --kv f16, and
# compares the last-prompt logits of three runs: reference f32 KV (expected.json), reference f16
# KV, and ours with --kv f16 (DUMP/last_logits.npy from `tinyllava run ... --kv f16 --dump DUMP`).
# docs/ARCHITECTURE.md "KV cache precision" quotes its output.
#   build/tools/tinyllava run -m tests/models/CASE/model --image tests/models/CASE/image.png \
#       -p "$(jq -r .prompt tests/models/CASE/case.json)" -n 16 --kv f16 --dump /tmp/d_CASE
#   /usr/bin/python3 tests/models/gen/verify_kv_f16.py CASE /tmp/d_CASE [CASE DUMP ...]
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import tlvref as R  # noqa: E402

ROOT = os.path.dirname(HERE)
attention_f32 = R.attention


def attention_f16_kv(q, k, v, nq, nkv, hd):
    return attention_f32(q, k.to(torch.float16).to(k.dtype), v.to(torch.float16).to(v.dtype), nq, nkv, hd)


def main(args):
    if len(args) < 2 or len(args) % 2:
        print("usage: verify_kv_f16.py CASE DUMP_DIR [CASE DUMP_DIR ...]", file=sys.stderr)
        return 2
    for name, dump in zip(args[0::2], args[1::2]):
        d = os.path.join(ROOT, name)
        case = json.load(open(os.path.join(d, "case.json")))
        exp = json.load(open(os.path.join(d, "expected.json")))
        vdir = os.path.join(d, case["vision_tower_dir"]) if "vision_tower_dir" in case else None
        m = R.load_model(os.path.join(d, case["model"]), vision_config_dir=vdir)
        pe = torch.tensor(exp["pixel_values"]).view(exp["pixel_values_shape"])
        ours = torch.from_numpy(np.load(os.path.join(dump, "last_logits.npy"))).double().flatten()
        ref32 = torch.tensor(exp["last_prompt_logits"]).double()
        R.attention = attention_f16_kv
        try:
            _, steps, gen = R.greedy(m, exp["input_ids"], pe, exp["max_new_tokens"], eos_id=exp["eos_token_id"])
        finally:
            R.attention = attention_f32
        ref16 = steps[0].double().flatten()
        print(json.dumps({
            "case": name,
            "ref_f16kv_vs_ref_f32kv": float((ref16 - ref32).abs().max()),
            "ours_f16kv_vs_ref_f16kv": float((ours - ref16).abs().max()),
            "ours_f16kv_vs_ref_f32kv": float((ours - ref32).abs().max()),
            "ref_f16kv_greedy_ids_same": gen == exp["generated_ids"],
        }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
