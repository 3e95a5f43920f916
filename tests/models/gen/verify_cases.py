#!/usr/bin/python3
# Re-check the committed cases under tests/models/ from the files alone: load each checkpoint
# directory as a runtime would (config.json, safetensors header/shards, vision_tower/ for the legacy
# layout), re-tokenise the prompt, re-preprocess the image, rerun the model, compare with expected.json;
# for the quantization cases also teacher_forced.json / teacher_forced_logprobs.f32.
#   /usr/bin/python3 tests/models/gen/verify_cases.py
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import tlvref as R  # noqa: E402

ROOT = os.path.dirname(HERE)


def tokenizer_for(mdir, case):
    if os.path.exists(os.path.join(mdir, "tokenizer.model")):
        tc = json.load(open(os.path.join(mdir, "tokenizer_config.json")))
        added = {}
        p = os.path.join(mdir, "added_tokens.json")
        if os.path.exists(p):
            added = json.load(open(p))
        tok = R.LlamaSP(os.path.join(mdir, "tokenizer.model"), legacy=tc.get("legacy", True), added=added)
        return tok, (lambda s: tok.encode(s, add_bos=True)), 1
    p = os.path.join(mdir, "added_tokens.json")
    added = json.load(open(p)) if os.path.exists(p) else {}
    tok = R.GPT2BPE(os.path.join(mdir, "vocab.json"), os.path.join(mdir, "merges.txt"), added)
    return tok, tok.encode, None


def main():
    ok = True
    for name in sorted(os.listdir(ROOT)):
        d = os.path.join(ROOT, name)
        if not os.path.isfile(os.path.join(d, "case.json")):
            continue
        case = json.load(open(os.path.join(d, "case.json")))
        exp = json.load(open(os.path.join(d, "expected.json")))
        mdir = os.path.join(d, case["model"])
        vdir = os.path.join(d, case["vision_tower_dir"]) if "vision_tower_dir" in case else None
        m = R.load_model(mdir, vision_config_dir=vdir)
        r = {"case": name, "layout": m["layout"], "arch": m["arch"], "weights": m["dtypes"]}
        tok, enc, bos = tokenizer_for(mdir, case)
        if m["layout"] == "hf_llava":
            ids = enc(exp["prompt"])
        else:
            ids = R.tokenizer_image_token(exp["prompt"], enc, bos)
        r["input_ids_match"] = ids == exp["input_ids"]
        r["tokenizer_len_match"] = len(tok) == exp["tokenizer_len"]
        img_path = os.path.join(d, case["image"])
        r["image_sha256_match"] = R.sha256_file(img_path) == case["image_file"]["sha256"]
        img = R.load_rgb(img_path)
        r["image_rgb_sha256_match"] = R.rgb_sha256(img) == exp["image_rgb_sha256"]
        px = R.preprocess(img, m["preproc"], m["aspect"])
        pe = torch.tensor(exp["pixel_values"]).view(exp["pixel_values_shape"])
        r["pixel_values_maxdiff"] = float((px - pe).abs().max())
        feats, steps, gen = R.greedy(m, exp["input_ids"], pe, exp["max_new_tokens"], eos_id=exp["eos_token_id"])
        fe = torch.tensor(exp["image_features"]).view(exp["image_features_shape"])[0]
        r["image_features_maxdiff"] = float((feats - fe).abs().max())
        r["last_prompt_logits_maxdiff"] = float((steps[0] - torch.tensor(exp["last_prompt_logits"])).abs().max())
        r["generated_ids_match"] = gen == exp["generated_ids"]
        r["sequence_length_match"] = len(exp["input_ids"]) - 1 + feats.shape[0] == exp["sequence_length"]
        good = (r["input_ids_match"] and r["tokenizer_len_match"] and r["image_sha256_match"]
                and r["image_rgb_sha256_match"] and r["pixel_values_maxdiff"] < 1e-5
                and r["image_features_maxdiff"] < 1e-5 and r["last_prompt_logits_maxdiff"] < 1e-4
                and r["generated_ids_match"] and r["sequence_length_match"])
        tfp = os.path.join(d, "teacher_forced.json")
        if os.path.exists(tfp):  # quantization cases: the teacher-forced log-probabilities
            tf = json.load(open(tfp))
            n, V = tf["shape"]
            lp = torch.from_numpy(np.fromfile(os.path.join(d, tf["logprobs_file"]), dtype="<f4").reshape(n, V).copy())
            logits, n_seq = R.teacher_forced_logits(m, exp["input_ids"], pe, tf["ids"])
            lp2 = torch.log_softmax(logits.double(), dim=-1)
            r["teacher_forced_logprobs_maxdiff"] = float((lp2 - lp.double()).abs().max())
            r["teacher_forced_logsumexp_maxdiff"] = float((torch.logsumexp(logits.double(), -1)
                                                           - torch.tensor(tf["logsumexp"], dtype=torch.float64)).abs().max())
            tf_ok = (n == len(tf["ids"]) == len(tf["top1_ids"]) and n_seq == tf["first_position"]
                     and [int(x) for x in logits.argmax(-1)] == tf["top1_ids"]
                     and tok.encode(tf["text"])[:n] == tf["ids"]
                     and r["teacher_forced_logprobs_maxdiff"] < 1e-4 and r["teacher_forced_logsumexp_maxdiff"] < 1e-4)
            r["teacher_forced_ok"] = tf_ok
            good = good and tf_ok
        r["ok"] = good
        ok = ok and good
        print(json.dumps(r))
    print("ALL OK" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
