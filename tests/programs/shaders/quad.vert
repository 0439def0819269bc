#version 450
// Corners in clip space with a flat colour; each instance moves one cell (a quarter of clip
// space) to the right, so instanceCount and firstInstance show in the image.
layout(location = 0) in vec2 pos;
layout(location = 1) in vec4 color;
layout(location = 0) flat out vec4 v_color;

void main()
{
   gl_Position = vec4(pos.x + 0.25 * float(gl_InstanceIndex), pos.y, 0.0, 1.0);
   v_color = color;
}
