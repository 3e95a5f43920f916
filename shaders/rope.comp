#version 450
// Rotate-half ("neox") RoPE in place on the first rot dims of each head of each row (MODELS.md 4):
//   x'[j]       = x[j] cos - x[j + rot/2] sin
//   x'[j+rot/2] = x[j + rot/2] cos + x[j] sin,   j < rot/2; dims >= rot untouched.
// cos/sin come from a table computed on the host exactly as HF does (f32 inv_freq, f32 angle,
// cos/sin of that f32 angle): table[pos * rot + 2 j] = cos, [.. + 1] = sin. A table, not
// shader sin/cos: Vulkan allows 2^-11 absolute error in sin/cos and none at all outside
// [-pi, pi], and positions reach thousands of radians.
// Grid: y = row (gl_WorkGroupID.y + z * y_count), x over (head, j).
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) buffer XBuf { float x[]; };
layout(std430, binding = 1) readonly buffer TBuf { vec2 tab[]; };
layout(std430, binding = 2) readonly buffer PosBuf { int pos_buf[]; };

layout(push_constant) uniform Push {
    uint off, rs, hs;
    uint n_rows, n_heads;
    uint half_rot;   // rot / 2
    uint use_pos;    // 1: position of row i = pos_buf[pos_off + i]; 0: pos0 + i
    uint pos_off;
    uint pos0;
    uint table_rows; // positions in the table; larger ones are clamped (host checks pos0 + n_rows)
    uint y_count;
} p;

void main()
{
    const uint row = gl_WorkGroupID.z * p.y_count + gl_WorkGroupID.y;
    const uint t = gl_GlobalInvocationID.x;
    if (row >= p.n_rows || t >= p.n_heads * p.half_rot)
        return;
    const uint j = t % p.half_rot;
    const uint hh = t / p.half_rot;
    int pos = p.use_pos != 0u ? pos_buf[p.pos_off + row] : int(p.pos0 + row);
    pos = clamp(pos, 0, int(p.table_rows) - 1);
    const vec2 cs = tab[uint(pos) * p.half_rot + j];
    const uint b = p.off + row * p.rs + hh * p.hs + j;
    const float x1 = x[b];
    const float x2 = x[b + p.half_rot];
    x[b] = x1 * cs.x - x2 * cs.y;
    x[b + p.half_rot] = x2 * cs.x + x1 * cs.y;
}
