/* Submit tracing for `pearvisor bench --explain`: where the time of each queue submission
 * goes on the host side, in CLOCK_MONOTONIC nanoseconds shared with the guest's clock. */
#ifndef PV_RENDER_TRACE_H
#define PV_RENDER_TRACE_H

#include <stdint.h>

#include <vulkan/vulkan.h>

struct pv_gpu_context;
struct pv_render_queue;

struct pv_render_trace_times {
   uint64_t pickup_ns;    /* the ring thread saw the submission in the ring */
   uint64_t decoded_ns;   /* the submit command was decoded, about to go to the host */
   uint64_t submitted_ns; /* the host vkQueueSubmit returned */
};

/* On when PV_TRACE_DIR names a directory; each context then writes
 * PV_TRACE_DIR/trace-<pid>-<n>.tsv when it is released. */
void pv_render_trace_init(struct pv_gpu_context *ctx);
void pv_render_trace_finish(struct pv_gpu_context *ctx);
/* Records one submission; called right after the host submit. When the submission has a
 * fence, a tracer thread polls it to time the GPU's completion (adding a submission of our
 * own would itself cost hundreds of microseconds on NVIDIA and distort what is measured). */
void pv_render_trace_submit(struct pv_gpu_context *ctx, struct pv_render_queue *queue,
                            VkFence fence, const struct pv_render_trace_times *times);
/* Before device and its fences are destroyed: the tracer lets go of them. vkDestroyFence
 * does the same for its fence through the handler pv_render_trace_init_dispatch installs
 * (when PV_TRACE_DIR is set, after the forwarders). */
void pv_render_trace_forget_device(struct pv_gpu_context *ctx, VkDevice device);
struct pv_venus_handlers;
void pv_render_trace_init_dispatch(struct pv_venus_handlers *h);

#endif
