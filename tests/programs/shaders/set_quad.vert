#version 450
// Corners in clip space moved by the offset of the bound descriptor set's uniform buffer.
layout(location = 0) in vec2 pos;
layout(set = 0, binding = 0) uniform Quad {
   vec4 color;
   vec2 offset;
} quad;

void main()
{
   gl_Position = vec4(pos + quad.offset, 0.0, 1.0);
}
