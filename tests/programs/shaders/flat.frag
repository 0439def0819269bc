#version 450
// The vertex colour, not interpolated: 0s and 1s reach the target exactly.
layout(location = 0) flat in vec4 v_color;
layout(location = 0) out vec4 out_color;

void main()
{
   out_color = v_color;
}
