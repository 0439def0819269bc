#version 450
// Flat colour: no interpolation, so every driver writes the vertex colour's exact bytes.
layout(location = 0) flat in vec4 v_color;
layout(location = 0) out vec4 out_color;

void main()
{
   out_color = v_color;
}
