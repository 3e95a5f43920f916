#!/usr/bin/python3
"""RoPE cos/sin exactly as Hugging Face computes them (transformers 4.37-4.40, Phi/Llama/Qwen2/
Gemma/StableLM rotary embeddings), for tests/ops_attention/test_attention.c.

    inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    freqs    = torch.outer(positions.float(), inv_freq)      # f32
    cos, sin = freqs.cos(), freqs.sin()                      # f32

Output data/rope_hf.txt: per case a line "case ROT THETA NPOS", a line of positions, then NPOS
lines of ROT/2 cos bit patterns and NPOS lines of ROT/2 sin bit patterns (hex uint32 of the f32).
Run: /usr/bin/python3 gen/gen_rope_hf.py > data/rope_hf.txt
"""
import struct
import torch

CASES = [(32, 10000.0), (16, 10000.0), (6, 10000.0), (64, 1000000.0), (256, 10000.0), (80, 10000.0)]
POSITIONS = [0, 1, 2, 3, 7, 100, 1000, 2047, 2999, 3000, 4095, 8191, 32767]


def bits(x):
    return "%08x" % struct.unpack("<I", struct.pack("<f", float(x)))[0]


for rot, base in CASES:
    inv_freq = 1.0 / (base ** (torch.arange(0, rot, 2, dtype=torch.int64).float() / rot))
    t = torch.tensor(POSITIONS, dtype=torch.int64).float()
    freqs = torch.outer(t, inv_freq)
    cos, sin = freqs.cos(), freqs.sin()
    assert cos.dtype == torch.float32
    print("case %d %.1f %d" % (rot, base, len(POSITIONS)))
    print(" ".join(str(p) for p in POSITIONS))
    for m in (cos, sin):
        for row in m.tolist():
            print(" ".join(bits(v) for v in row))
