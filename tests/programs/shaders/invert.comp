#version 450
// Rewrites every texel of an R32_UINT storage image from its old value and its position, so a
// texel read or written at the wrong place shows.
layout(local_size_x = 16, local_size_y = 16) in;

layout(binding = 0, r32ui) uniform uimage2D img;

void main()
{
   ivec2 p = ivec2(gl_GlobalInvocationID.xy);
   uint v = imageLoad(img, p).x;
   imageStore(img, p, uvec4(~v ^ (uint(p.x) << 16 | uint(p.y))));
}
