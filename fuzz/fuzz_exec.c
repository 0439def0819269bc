/* libFuzzer harness: the input is one Venus context stream, executed by the real renderer on
 * lavapipe in a fresh context (the resources a recorded guest names attached), which is then
 * destroyed. Seeds are recorded guests' commands (fuzz/corpus/exec/, fuzz/make_corpus.py), so
 * mutations reach the handlers behind a created instance and device. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_gpu.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
   (void)argc, (void)argv;
   pv_fuzz_gpu();
   return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
   struct pv_gpu_context *ctx = pv_fuzz_context_begin();
   pv_gpu_context_submit(ctx, data, size);
   pv_fuzz_context_end(ctx);
   return 0;
}
