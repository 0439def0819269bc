#version 450
// Pixel-space corners with a depth, projected by a uniform buffer.
layout(location = 0) in vec3 pos;
layout(location = 1) in vec2 uv;
layout(location = 0) out vec2 v_uv;
layout(binding = 0) uniform View {
   vec2 scale; // 2 / target size
} view;

void main()
{
   gl_Position = vec4(pos.xy * view.scale - 1.0, pos.z, 1.0);
   v_uv = uv;
}
