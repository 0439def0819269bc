#version 450
// The colour of the bound descriptor set's uniform buffer.
layout(location = 0) out vec4 out_color;
layout(set = 0, binding = 0) uniform Quad {
   vec4 color;
   vec2 offset;
} quad;

void main()
{
   out_color = quad.color;
}
