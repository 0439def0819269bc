/* Guest shaders are checked before a host driver sees them. Drivers assume valid SPIR-V and
 * valid usage (Vulkan makes both the application's duty), and their compilers crash when
 * either is broken: fuzz_exec crashed lavapipe with one byte changed, once in an entry point
 * that named an id nothing defines, once in a storage buffer's binding that the pipeline
 * layout lacks. A guest must not be able to crash its host process that way, so:
 * - every module (vkCreateShaderModule, or chained to a pipeline's stage since
 *   VK_KHR_maintenance5) goes through the Khronos validator (SPIRV-Tools) first, with
 *   Vulkan 1.3's rules (the newest API the guest's protocol knows) and block layout left
 *   unchecked: the layouts the guest's extensions allow (scalar, relaxed, std430 uniforms)
 *   are the driver's to check against the enabled features, and a bad layout gives wrong
 *   results, not a crash;
 * - each stage of a pipeline may use only descriptors its layout has: the modules' SPIR-V
 *   and the pipeline layouts' bindings (from the set layouts', pv_render_descriptor.c) are
 *   kept with their objects for that.
 * A create that fails either returns VK_ERROR_UNKNOWN, logged with the reason; the context
 * goes on, as the guest only asked for a failing create. */
#include <pthread.h>
#include <spirv-tools/libspirv.h>

#include <stdlib.h>
#include <string.h>

#include "render/pv_render.h"
#include "render/pv_render_spirv.h"
#include "util/pv_log.h"

static void (*create_shader_module_next)(struct pv_venus_dispatch *d,
                                         struct pv_cmd_vkCreateShaderModule *args);
static void (*create_compute_pipelines_next)(struct pv_venus_dispatch *d,
                                             struct pv_cmd_vkCreateComputePipelines *args);
static void (*create_graphics_pipelines_next)(struct pv_venus_dispatch *d,
                                              struct pv_cmd_vkCreateGraphicsPipelines *args);
static void (*create_pipeline_layout_next)(struct pv_venus_dispatch *d,
                                           struct pv_cmd_vkCreatePipelineLayout *args);

static spv_context validator;
static spv_validator_options validator_options;
static pthread_once_t validator_once = PTHREAD_ONCE_INIT;

/* Both are only read once made, so every stream's thread may validate at once. */
static void validator_init(void)
{
   validator = spvContextCreate(SPV_ENV_VULKAN_1_3);
   validator_options = spvValidatorOptionsCreate();
   if (validator_options) {
      spvValidatorOptionsSetSkipBlockLayout(validator_options, true);
      spvValidatorOptionsSetAllowLocalSizeId(validator_options, true);
   }
}

bool pv_render_spirv_valid(const char *ctx_name, const uint32_t *code, size_t size)
{
   pthread_once(&validator_once, validator_init);
   if (!validator || !validator_options) {
      pv_error("%s: no SPIR-V validator (out of memory); shader refused", ctx_name);
      return false;
   }
   spv_const_binary_t binary = {code, size / 4};
   spv_diagnostic diagnostic = NULL;
   spv_result_t result = spvValidateWithOptions(validator, validator_options, &binary, &diagnostic);
   if (result != SPV_SUCCESS)
      pv_warn("%s: guest SPIR-V refused (%zu bytes): %s", ctx_name, size,
              diagnostic && diagnostic->error ? diagnostic->error : "invalid");
   spvDiagnosticDestroy(diagnostic);
   return result == SPV_SUCCESS;
}

static bool module_valid(struct pv_venus_dispatch *d, const VkShaderModuleCreateInfo *info)
{
   return !info || pv_render_spirv_valid(pv_render_ctx(d)->name, info->pCode, info->codeSize);
}

/* The stage uses only descriptors the layout has. Unknown module or layout (none given, as
 * pipeline libraries may): nothing to check against, the driver decides. */
static bool stage_fits_layout(struct pv_venus_dispatch *d,
                              const VkPipelineShaderStageCreateInfo *stage,
                              const VkShaderModuleCreateInfo *chained, VkPipelineLayout layout)
{
   struct pv_gpu_context *ctx = pv_render_ctx(d);
   struct pv_render_flat *module = NULL,
                         *bindings = pv_render_object_flat_copy(ctx, VK_OBJECT_TYPE_PIPELINE_LAYOUT,
                                                                (uint64_t)layout);
   const uint32_t *code = chained ? chained->pCode : NULL;
   size_t words = chained ? chained->codeSize / 4 : 0;
   if (!chained && stage->module &&
       (module = pv_render_object_flat_copy(ctx, VK_OBJECT_TYPE_SHADER_MODULE,
                                            (uint64_t)stage->module))) {
      code = (const uint32_t *)module->bytes;
      words = module->size / 4;
   }
   bool fits = true;
   uint64_t *used;
   size_t count;
   if (code && bindings) {
      if (!pv_spirv_used_descriptors(code, words, stage->pName, &used, &count)) {
         pv_warn("%s: pipeline refused: its module has no entry point '%s'", ctx->name,
                 stage->pName ? stage->pName : "(null)");
         fits = false;
      }
      for (size_t i = 0; fits && i < count; i++) {
         if (!pv_render_find_binding((const struct pv_render_binding *)bindings->bytes,
                                     bindings->size / sizeof(struct pv_render_binding),
                                     (uint32_t)(used[i] >> 32), (uint32_t)used[i])) {
            pv_warn("%s: pipeline refused: its shader uses set %u binding %u, which its "
                    "layout lacks",
                    ctx->name, (unsigned)(used[i] >> 32), (unsigned)used[i]);
            fits = false;
         }
      }
      free(used);
   }
   free(module);
   free(bindings);
   return fits;
}

/* A pipeline stage is valid SPIR-V (when chained) and fits the pipeline's layout. */
static bool stage_valid(struct pv_venus_dispatch *d, const VkPipelineShaderStageCreateInfo *stage,
                        VkPipelineLayout layout)
{
   const VkShaderModuleCreateInfo *chained = NULL;
   for (const VkBaseInStructure *s = stage->pNext; s; s = s->pNext) {
      if (s->sType == VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO)
         chained = (const VkShaderModuleCreateInfo *)s;
   }
   return (!chained || module_valid(d, chained)) && stage_fits_layout(d, stage, chained, layout);
}

static void create_shader_module(struct pv_venus_dispatch *d,
                                 struct pv_cmd_vkCreateShaderModule *args)
{
   const VkShaderModuleCreateInfo *info = args->pCreateInfo;
   if (!module_valid(d, info)) {
      args->ret = VK_ERROR_UNKNOWN;
      return;
   }
   uint64_t id = args->pShaderModule ? (uint64_t)(uintptr_t)*args->pShaderModule : 0;
   create_shader_module_next(d, args);
   /* Kept for the pipelines that will use it (the guest may destroy it after them). */
   if (args->ret == VK_SUCCESS && info &&
       !pv_render_object_set_flat(pv_render_ctx(d), id, VK_OBJECT_TYPE_SHADER_MODULE, info->pCode,
                                  info->codeSize))
      pv_cs_fail(d->reader, "vkCreateShaderModule: out of memory");
}

static void create_pipeline_layout(struct pv_venus_dispatch *d,
                                   struct pv_cmd_vkCreatePipelineLayout *args)
{
   uint64_t id = args->pPipelineLayout ? (uint64_t)(uintptr_t)*args->pPipelineLayout : 0;
   create_pipeline_layout_next(d, args);
   const VkPipelineLayoutCreateInfo *info = args->pCreateInfo;
   if (args->ret != VK_SUCCESS || !info)
      return;
   /* Copied now: the guest may destroy the set layouts before creating pipelines. Each set's
    * bindings in set order, so the whole stays sorted by set, then binding. */
   struct pv_gpu_context *ctx = pv_render_ctx(d);
   struct pv_render_binding *all = NULL;
   size_t count = 0;
   bool ok = true;
   for (uint32_t set = 0; ok && info->pSetLayouts && set < info->setLayoutCount; set++) {
      struct pv_render_flat *layout = pv_render_object_flat_copy(
            ctx, VK_OBJECT_TYPE_DESCRIPTOR_SET_LAYOUT, (uint64_t)info->pSetLayouts[set]);
      size_t n = layout ? layout->size / sizeof(*all) : 0;
      struct pv_render_binding *grown = n ? realloc(all, (count + n) * sizeof(*all)) : all;
      ok = !n || grown;
      if (ok && n) {
         memcpy(grown + count, layout->bytes, n * sizeof(*all));
         for (size_t i = 0; i < n; i++)
            grown[count + i].set = set;
         all = grown;
         count += n;
      }
      free(layout);
   }
   if (!ok || !pv_render_object_set_flat(ctx, id, VK_OBJECT_TYPE_PIPELINE_LAYOUT, all,
                                         count * sizeof(*all)))
      pv_cs_fail(d->reader, "vkCreatePipelineLayout: out of memory");
   free(all);
}

static void create_compute_pipelines(struct pv_venus_dispatch *d,
                                     struct pv_cmd_vkCreateComputePipelines *args)
{
   for (uint32_t i = 0; args->pCreateInfos && i < args->createInfoCount; i++) {
      const VkComputePipelineCreateInfo *info = &args->pCreateInfos[i];
      if (!stage_valid(d, &info->stage, info->layout)) {
         args->ret = VK_ERROR_UNKNOWN;
         return;
      }
   }
   create_compute_pipelines_next(d, args);
}

static void create_graphics_pipelines(struct pv_venus_dispatch *d,
                                      struct pv_cmd_vkCreateGraphicsPipelines *args)
{
   for (uint32_t i = 0; args->pCreateInfos && i < args->createInfoCount; i++) {
      const VkGraphicsPipelineCreateInfo *info = &args->pCreateInfos[i];
      for (uint32_t j = 0; info->pStages && j < info->stageCount; j++) {
         if (!stage_valid(d, &info->pStages[j], info->layout)) {
            args->ret = VK_ERROR_UNKNOWN;
            return;
         }
      }
   }
   create_graphics_pipelines_next(d, args);
}

void pv_render_shader_init_dispatch(struct pv_venus_handlers *h)
{
   create_shader_module_next = h->vkCreateShaderModule;
   h->vkCreateShaderModule = create_shader_module;
   create_compute_pipelines_next = h->vkCreateComputePipelines;
   h->vkCreateComputePipelines = create_compute_pipelines;
   create_graphics_pipelines_next = h->vkCreateGraphicsPipelines;
   h->vkCreateGraphicsPipelines = create_graphics_pipelines;
   create_pipeline_layout_next = h->vkCreatePipelineLayout;
   h->vkCreatePipelineLayout = create_pipeline_layout;
}
