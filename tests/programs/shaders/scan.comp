#version 450
// Inclusive prefix sum of one block of 1024 uints per workgroup (256 threads x 4), in place,
// starting at data[base]; the block's total goes to data[sums_base + block]. uint addition
// wraps, exactly as the host's does.
layout(local_size_x = 256) in;

layout(std430, binding = 0) buffer Data { uint data[]; };
layout(push_constant) uniform Push {
   uint base;
   uint sums_base;
} pc;

shared uint partial[256];

void main()
{
   uint t = gl_LocalInvocationID.x;
   uint first = pc.base + gl_WorkGroupID.x * 1024u + t * 4u;
   uint v0 = data[first];
   uint v1 = v0 + data[first + 1u];
   uint v2 = v1 + data[first + 2u];
   uint v3 = v2 + data[first + 3u];
   partial[t] = v3;
   barrier();
   // Hillis-Steele over the 256 thread totals: 8 steps, each reading before anyone writes.
   for (uint offset = 1u; offset < 256u; offset <<= 1u) {
      uint add = t >= offset ? partial[t - offset] : 0u;
      barrier();
      partial[t] += add;
      barrier();
   }
   uint before = t > 0u ? partial[t - 1u] : 0u;
   data[first] = before + v0;
   data[first + 1u] = before + v1;
   data[first + 2u] = before + v2;
   data[first + 3u] = before + v3;
   if (t == 255u)
      data[pc.sums_base + gl_WorkGroupID.x] = partial[255];
}
