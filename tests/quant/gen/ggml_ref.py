#!/usr/bin/python3
"""An independent model of ggml's reference quantizers (ggml-quants.c quantize_row_q8_0_ref and
quantize_row_q4_0_ref) in numpy float32 arithmetic, used to derive the expected bytes that
tests/quant/test_quant.c pins. It shares no code with src/tensor/quant.c.

    q8_0: amax = max|x|; d = amax / 127; id = d ? 1/d : 0; q = roundf(x * id)   (halves away from 0)
    q4_0: max = the x of largest |x| (first on ties), with its sign; d = max / -8;
          id = d ? 1/d : 0; q = min(15, (int8_t)(x * id + 8.5f))           (trunc toward 0)
    the scale is stored as float16(d) (round to nearest even, numpy's conversion)

Where ggml's float -> int8 conversion is undefined (x * id not finite: 1/d overflowed), q = 0,
the value x86 builds produce; f16(d) is 0 in those blocks.

Run: /usr/bin/python3 tests/quant/gen/ggml_ref.py   (prints the C initialisers)
"""
import math
import numpy as np

f32 = np.float32


def f16_bits(v):
    return int(np.array([v], dtype=np.float32).astype(np.float16).view(np.uint16)[0])


def q8_0(x):
    x = [f32(v) for v in x]
    assert len(x) == 32
    amax = f32(0)
    for v in x:
        amax = max(amax, f32(abs(v)))
    d = f32(amax / f32(127))
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        idv = f32(f32(1) / d) if d != 0 else f32(0)
        out = [f16_bits(d) & 0xff, f16_bits(d) >> 8]
        for v in x:
            p = f32(v * idv)
            if not math.isfinite(p):
                q = 0
            else:
                a = math.floor(abs(float(p)) + 0.5)  # float64: exact for a float32 p
                q = int(math.copysign(a, float(p)))
            out.append(q & 0xff)
    return out


def q4_0(x):
    x = [f32(v) for v in x]
    assert len(x) == 32
    amax, mx = f32(0), f32(0)
    for v in x:
        if amax < abs(v):
            amax, mx = f32(abs(v)), v
    d = f32(mx / f32(-8))
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        idv = f32(f32(1) / d) if d != 0 else f32(0)
        qs = []
        for v in x:
            p = f32(v * idv)
            if not math.isfinite(p):
                qs.append(0)
                continue
            s = f32(p + f32(8.5))
            qs.append(min(15, int(math.trunc(float(s)))))
    h = f16_bits(d)
    return [h & 0xff, h >> 8] + [qs[j] | qs[j + 16] << 4 for j in range(16)]


def c_bytes(b):
    return "{" + ", ".join("0x%02x" % v for v in b) + "}"


def c_float(v):
    s = repr(f32(v))  # numpy: the shortest text that reads back as this float32
    s = s if any(c in s for c in ".en") else s + ".0"
    return ("-" if s.startswith("-") else "") + s.lstrip("-") + "f"


def c_floats(x):
    return "{" + ", ".join(c_float(v) for v in x) + "}"


def cases():
    z = [0.0] * 32
    c8, c4 = [], []
    # q8_0
    c8.append(("zeros", z))
    o = [0.1] * 32; o[5] = -5.0
    c8.append(("outlier", o))
    t = [0.0] * 32; t[0] = 127.0; t[1] = 2.5; t[2] = -2.5; t[3] = 0.5; t[4] = -0.5; t[5] = 1.5; t[6] = -126.5; t[7] = 0.49999997
    c8.append(("ties", t))
    n = [0.25] * 32; n[31] = -1.0; n[30] = 1.0
    c8.append(("negative_extreme", n))
    r = [(j - 16) / 16.0 for j in range(32)]          # amax 1.0: d = 1/127 is not an f16
    c8.append(("scale_rounds", r))
    r2 = [0.0] * 32; r2[9] = f32(127 * 0.00781249)   # d just below 2^-7: f16 rounds up across the exponent
    r2[10] = 0.5
    c8.append(("scale_carries", r2))
    s = [0.001 * ((j % 7) - 3) / 3 for j in range(32)]  # amax 0.001: d in f16's subnormal range
    c8.append(("subnormal_scale", s))
    tiny = [0.5e-36 * ((j % 5) - 2) for j in range(32)]  # amax 1e-36: d is an f32 subnormal, f16(d) = 0, 1/d finite
    c8.append(("tiny", tiny))
    sub = [1e-40 * ((j % 3) - 1) for j in range(32)]   # f32 subnormal inputs: 1/d overflows
    c8.append(("subnormal_inputs", sub))
    # q4_0
    c4.append(("zeros", z))
    o = [0.3] * 32; o[3] = 4.0; o[17] = -0.7
    c4.append(("outlier", o))
    ng = [0.0] * 32; ng[0] = -4.0; ng[20] = 4.0; ng[21] = 3.9; ng[22] = -3.9
    c4.append(("negative_max", ng))
    tie_a = [0.0] * 32; tie_a[2] = 3.0; tie_a[9] = -3.0; tie_a[4] = 1.0
    c4.append(("magnitude_tie_pos_first", tie_a))
    tie_b = [0.0] * 32; tie_b[2] = -3.0; tie_b[9] = 3.0; tie_b[4] = 1.0
    c4.append(("magnitude_tie_neg_first", tie_b))
    h = [0.0] * 32; h[0] = -8.0
    for j, v in zip(range(1, 12), [0.5, -0.5, 1.5, -1.5, 7.5, -7.5, 6.5, -6.5, 0.49999997, -0.49999997, 8.0]):
        h[j] = v
    c4.append(("ties", h))
    lay = [float(j - 8) for j in range(16)] + [float(7 - j) for j in range(16)]
    c4.append(("nibble_layout", lay))
    r = [0.3 * (j - 16) / 16 for j in range(32)]  # max -0.3: d = 0.0375 is not an f16
    c4.append(("scale_rounds", r))
    s = [1e-4 * ((j % 9) - 4) / 4 for j in range(32)]  # d in f16's subnormal range
    c4.append(("subnormal_scale", s))
    sub = [1e-40 * ((j % 3) - 1) for j in range(32)]
    c4.append(("subnormal_inputs", sub))
    return c8, c4


def main():
    c8, c4 = cases()
    for fmt, cs, fn in (("q8_0", c8, q8_0), ("q4_0", c4, q4_0)):
        print(f"/* {fmt} */")
        for name, x in cs:
            print(f'    {{"{name}", {c_floats(x)},\n     {c_bytes(fn(x))}}},')


if __name__ == "__main__":
    main()
