#version 450
// Pixel-space positions to clip space. Corners sit on whole pixels, so after the viewport
// transform and subpixel snapping every triangle edge lies exactly on a pixel boundary.
layout(location = 0) in vec2 pos;
layout(location = 1) in vec4 color;
layout(location = 0) flat out vec4 v_color;
layout(push_constant) uniform Push {
   vec2 inv_half_size;
} pc;

void main()
{
   gl_Position = vec4(pos * pc.inv_half_size - 1.0, 0.0, 1.0);
   v_color = color;
}
