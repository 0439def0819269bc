#version 450
// Samples three Y'CbCr views at every luma texel centre and stores the converted colours:
// binding 0 RGB identity, 1 BT.709 narrow range, 2 the disjoint image (RGB identity).
layout(local_size_x = 8, local_size_y = 8) in;
layout(binding = 0) uniform sampler2D identity_tex;
layout(binding = 1) uniform sampler2D bt709_tex;
layout(binding = 2) uniform sampler2D disjoint_tex;
layout(std430, binding = 3) writeonly buffer Out {
   vec4 texels[];
} result;
layout(push_constant) uniform Push {
   uint side;
} pc;

void main()
{
   uvec2 p = gl_GlobalInvocationID.xy;
   vec2 uv = (vec2(p) + 0.5) / float(pc.side);
   uint i = p.y * pc.side + p.x, n = pc.side * pc.side;
   result.texels[i] = textureLod(identity_tex, uv, 0.0);
   result.texels[n + i] = textureLod(bt709_tex, uv, 0.0);
   result.texels[2 * n + i] = textureLod(disjoint_tex, uv, 0.0);
}
