#version 450
// y = a * x + y over count floats. A grid-stride loop, because count can exceed what one
// dispatch covers (the group count limit per dimension may be as low as 65535).
layout(local_size_x = 256) in;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) buffer Y { float y[]; };
layout(push_constant) uniform Push {
   float a;
   uint count;
} pc;

void main()
{
   uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
   for (uint i = gl_GlobalInvocationID.x; i < pc.count; i += stride)
      y[i] = pc.a * x[i] + y[i];
}
