#version 450
// Second pass of the prefix sum: block b + 1 (block 0 has nothing before it) adds the scanned
// total of the blocks before it, data[sums_base + b].
layout(local_size_x = 256) in;

layout(std430, binding = 0) buffer Data { uint data[]; };
layout(push_constant) uniform Push {
   uint base;
   uint sums_base;
} pc;

void main()
{
   uint block = gl_WorkGroupID.x + 1u;
   uint add = data[pc.sums_base + block - 1u];
   uint first = pc.base + block * 1024u + gl_LocalInvocationID.x * 4u;
   for (uint k = 0u; k < 4u; k++)
      data[first + k] += add;
}
