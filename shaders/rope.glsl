// rope.glsl: rotate-half ("neox") RoPE (MODELS.md 4), for every kernel that rotates (rope.comp,
// kv_write.comp, qkv_rope_write.comp). On the first rot dims of a head, pairs (j, j + rot/2):
//   x'[j]       = x[j] cos - x[j + rot/2] sin
//   x'[j+rot/2] = x[j + rot/2] cos + x[j] sin,   j < rot/2; dims >= rot untouched.
// cos/sin come from a table computed on the host exactly as HF does (f32 inv_freq, f32 angle,
// cos/sin of that f32 angle): rope_tab[pos * rot/2 + j] = (cos, sin). A table, not shader
// sin/cos: Vulkan allows 2^-11 absolute error in sin/cos and none at all outside [-pi, pi], and
// positions reach thousands of radians.
//
// The including shader defines ROPE_TABLE_BINDING (the table's binding) first, and ROPE_SRC(i)
// (its read of source element i) where it wants rope_value().
#ifndef TLV_ROPE_GLSL
#define TLV_ROPE_GLSL

layout(std430, binding = ROPE_TABLE_BINDING) readonly buffer RopeTable { vec2 rope_tab[]; };

// (cos, sin) of pair j at position pos, of a table of table_rows positions. A position outside
// the table is clamped into it, so no position can read past the table: the ops check positions
// they compute (pos0 + row) on the host, but not those a position buffer holds on the device.
vec2 rope_cs(int pos, uint j, uint half_rot, uint table_rows)
{
    pos = clamp(pos, 0, int(table_rows) - 1);
    return rope_tab[uint(pos) * half_rot + j];
}

// The pair (x[j], x[j + rot/2]) rotated by cs.
vec2 rope_rotate(float x1, float x2, vec2 cs)
{
    return vec2(x1 * cs.x - x2 * cs.y, x2 * cs.x + x1 * cs.y);
}

#ifdef ROPE_SRC
// Dim d of a head whose first element is source element sb, rotated for position pos where it
// must (d < 2 * half_rot): what the KV writes store.
float rope_value(uint sb, uint d, uint pos, uint half_rot, uint table_rows)
{
    if (d < 2u * half_rot) {
        const uint j = d < half_rot ? d : d - half_rot;
        const vec2 r = rope_rotate(ROPE_SRC(sb + j), ROPE_SRC(sb + j + half_rot), rope_cs(int(pos), j, half_rot, table_rows));
        return d < half_rot ? r.x : r.y;
    }
    return ROPE_SRC(sb + d);
}
#endif

#endif
