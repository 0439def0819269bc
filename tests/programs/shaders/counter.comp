#version 450
// One step of the semaphore chain: step number count records which queue ran it. Steps that ran
// out of order, or at the same time, would lose or repeat a count.
layout(local_size_x = 1) in;

layout(std430, binding = 0) buffer Log {
   uint count;
   uint queue_of_step[];
};
layout(push_constant) uniform Push {
   uint queue; // which of the program's queues this command buffer is for
   uint capacity;
} pc;

void main()
{
   uint c = count;
   if (c < pc.capacity)
      queue_of_step[c] = pc.queue;
   count = c + 1u;
}
