#!/usr/bin/python3
"""Copies what tests/template needs from the fixtures' reference outputs (expected.json is
~1.5 MB each; this keeps a few kB): the rendered prompt, its input_ids, template name, stop
string, EOS id, and the user turns from case.json.

Run: /usr/bin/python3 tests/template/gen/extract_fixture_prompts.py [fixtures dir]
"""
import json, os, sys

fx = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/fixtures"
out = {}
for case in sorted(os.listdir(fx)):
    e = os.path.join(fx, case, "expected.json")
    if not os.path.exists(e):
        continue
    exp = json.load(open(e))
    cj = json.load(open(os.path.join(fx, case, "case.json")))
    turns = cj.get("turns") or [{"user": cj["prompt"]}]
    out[case] = {k: exp[k] for k in ("conv_mode", "prompt", "stop_str", "eos_token_id", "image_token_index",
                                      "input_ids", "user_prompt")}
    out[case]["turns"] = turns
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "..", "data", "fixture_prompts.json"), "w") as f:
    json.dump(out, f, indent=1, ensure_ascii=False)
