#version 450
// The texel under the pixel (NEAREST), masked per draw by a push-constant tint of 0s and 1s.
layout(location = 0) in vec2 v_uv;
layout(location = 0) out vec4 out_color;
layout(binding = 1) uniform sampler2D tex;
layout(push_constant) uniform Push {
   vec4 tint;
} pc;

void main()
{
   out_color = texture(tex, v_uv) * pc.tint;
}
