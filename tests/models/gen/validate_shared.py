#!/usr/bin/python3
# Validate the plain-PyTorch reference (tlvref.py) against the shared fixtures, which were produced by
# TinyLLaVA_Factory + transformers 4.40.1.  Usage:
#   /usr/bin/python3 tests/models/gen/validate_shared.py [/work/shared/fixtures] [--json out.json]
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tlvref as R  # noqa: E402


def check_case(d):
    case = json.load(open(os.path.join(d, "case.json")))
    exp = json.load(open(os.path.join(d, "expected.json")))
    mdir = os.path.join(d, case["model"])
    m = R.load_model(mdir)
    res = {"case": case["name"], "arch": m["arch"], "layout": m["layout"]}

    # pixels from the image file, and the expected ones
    img = R.load_rgb(os.path.join(d, case["image"]))
    px_mine = R.preprocess(img, m["preproc"], m["aspect"])
    px_exp = torch.tensor(exp["pixel_values"], dtype=torch.float32).view(exp["pixel_values_shape"])
    res["pixel_values_maxdiff"] = float((px_mine - px_exp).abs().max())
    res["image_rgb_sha256_match"] = R.rgb_sha256(img) == exp["image_rgb_sha256"]

    # tokens
    if m["arch"] == "phi":
        added = json.load(open(os.path.join(mdir, "added_tokens.json")))
        tok = R.GPT2BPE(os.path.join(mdir, "vocab.json"), os.path.join(mdir, "merges.txt"), added)
        ids = R.tokenizer_image_token(exp["prompt"], tok.encode, None)
    elif m["arch"] == "llama":
        tok = R.LlamaSP(os.path.join(mdir, "tokenizer.model"), legacy=False)
        ids = R.tokenizer_image_token(exp["prompt"], tok.encode, 1)
    else:
        tok, ids = None, None
    if ids is not None:
        res["input_ids_match"] = ids == exp["input_ids"]
        res["tokenizer_len_match"] = len(tok) == exp["tokenizer_len"]
        res["prompt_match"] = R.factory_prompt(exp["user_prompt"]) == exp["prompt"] or case["name"].endswith("multiturn")
    else:
        res["input_ids_match"] = "not checked (no Qwen2 tokenizer in the reference)"

    # model from the expected ids and pixels
    feats, steps, gen = R.greedy(m, exp["input_ids"], px_exp, exp["max_new_tokens"])
    fe = torch.tensor(exp["image_features"]).view(exp["image_features_shape"])[0]
    res["image_features_maxdiff"] = float((feats - fe).abs().max())
    le = torch.tensor(exp["last_prompt_logits"])
    res["last_prompt_logits_maxdiff"] = float((steps[0] - le).abs().max())
    top5 = max(abs(float(steps[i][t]) - v) for i, s in enumerate(exp["steps"])
               for t, v in zip(s["top5_ids"], s["top5_logits"]) if i < len(steps))
    res["steps_top5_logits_maxdiff"] = top5
    res["generated_ids_match"] = gen == exp["generated_ids"]
    res["sequence_length_match"] = len(exp["input_ids"]) - 1 + feats.shape[0] == exp["sequence_length"]

    # the same from the image file (our own preprocessing)
    feats2, steps2, gen2 = R.greedy(m, exp["input_ids"], px_mine, exp["max_new_tokens"])
    res["from_image_file_generated_ids_match"] = gen2 == exp["generated_ids"]
    res["from_image_file_logits_maxdiff"] = float((steps2[0] - le).abs().max())
    return res


def main():
    root = "/work/shared/fixtures"
    out = None
    args = sys.argv[1:]
    if "--json" in args:
        i = args.index("--json")
        out = args[i + 1]
        del args[i:i + 2]
    if args:
        root = args[0]
    results = []
    ok = True
    for name in sorted(os.listdir(root)):
        d = os.path.join(root, name)
        if not os.path.isfile(os.path.join(d, "case.json")):
            continue
        r = check_case(d)
        results.append(r)
        print(json.dumps(r, indent=1))
        good = (r["image_features_maxdiff"] < 1e-4 and r["last_prompt_logits_maxdiff"] < 1e-3
                and r["generated_ids_match"] and r["pixel_values_maxdiff"] < 1e-5
                and r["input_ids_match"] is not False)
        ok = ok and good
    if out:
        json.dump({"versions": R.versions(), "results": results}, open(out, "w"), indent=1)
    print("ALL OK" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
