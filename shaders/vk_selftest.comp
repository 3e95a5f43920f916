#version 450
// Device self-test (tests/vk, `tinyllava devices --check`): y[i] = x[i] * a + b + i * step.
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint STEP = 0;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
layout(push_constant) uniform P { uint n; float a; float b; } p;
void main()
{
    uint i = gl_GlobalInvocationID.x;
    if (i < p.n) y[i] = x[i] * p.a + p.b + float(i * STEP);
}
