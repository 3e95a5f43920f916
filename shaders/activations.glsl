// activations.glsl: the activations, one definition for every kernel that applies one (the
// matrix kernels' epilogue and gated x read, the elementwise op). Codes: the values of tlv_act
// (src/ops/ops.h): 0 none, 1 gelu erf, 2 gelu tanh (gelu_new), 3 quick_gelu, 4 silu.
// Formulas as MODELS.md (references in tests/ops_*); each is written so that its tails neither
// cancel nor overflow.
#ifndef TLV_ACTIVATIONS_GLSL
#define TLV_ACTIVATIONS_GLSL

// erfc with fractional error < 1.2e-7 everywhere (Numerical Recipes' erfcc, a Chebyshev fit); GLSL
// has no erf. GELU's negative side is 0.5 x erfc(|x|/sqrt 2), where 1 + erf(x) would cancel.
float erfc_f32(float x)
{
    float z = abs(x);
    float t = 1.0 / (1.0 + 0.5 * z);
    float r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
              + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
              + t * (-0.82215223 + t * 0.17087277)))))))));
    return x >= 0.0 ? r : 2.0 - r;
}

// x * sigmoid(a) as x / (1 + e^-a): for a -> -inf, e^-a = inf gives -0, never inf/inf.
float x_sigmoid(float x, float a)
{
    return x / (1.0 + exp(-a));
}

float act_apply(uint act, float x)
{
    // 0.5 x (1 + erf(x / sqrt 2)) = 0.5 x erfc(-x / sqrt 2)
    if (act == 1u) return 0.5 * x * erfc_f32(-0.70710678118654752 * x);
    // 0.5 x (1 + tanh(u)) = x sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3)
    if (act == 2u) return x_sigmoid(x, 1.5957691216057308 * (x + 0.044715 * x * x * x));
    if (act == 3u) return x_sigmoid(x, 1.702 * x);
    if (act == 4u) return x_sigmoid(x, x);
    return x;
}

#endif
