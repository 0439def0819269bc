/* SPIR-V from the guest is validated before a host driver sees it. Drivers assume valid
 * SPIR-V (Vulkan makes it the application's duty) and their compilers crash on malformed
 * modules: fuzz_exec found lavapipe reading out of bounds on a shader module with one byte
 * changed (an entry point naming an id nothing defines). A guest must not be able to crash its
 * host process that way, so a module the Khronos validator (SPIRV-Tools) refuses fails its
 * create with VK_ERROR_UNKNOWN, logged with the validator's reason; the context goes on, as
 * the guest only asked for a failing create. SPIR-V reaches the driver in shader modules and,
 * since VK_KHR_maintenance5, chained to a pipeline's stages: both are checked.
 *
 * The rules are Vulkan 1.3's (the newest API the guest's protocol knows) with block layout
 * left unchecked: layouts the extensions the guest may enable allow (scalar, relaxed,
 * std430-in-uniform) are what the driver checks against the enabled features, and a layout
 * violation gives wrong results, not a crash. */
#include <pthread.h>
#include <spirv-tools/libspirv.h>

#include "render/pv_render.h"
#include "util/pv_log.h"

static void (*create_shader_module_next)(struct pv_venus_dispatch *d,
                                         struct pv_cmd_vkCreateShaderModule *args);
static void (*create_compute_pipelines_next)(struct pv_venus_dispatch *d,
                                             struct pv_cmd_vkCreateComputePipelines *args);
static void (*create_graphics_pipelines_next)(struct pv_venus_dispatch *d,
                                              struct pv_cmd_vkCreateGraphicsPipelines *args);

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

/* The SPIR-V chained to a pipeline stage (in place of a module), if any, is valid. */
static bool stage_valid(struct pv_venus_dispatch *d, const VkPipelineShaderStageCreateInfo *stage)
{
   for (const VkBaseInStructure *s = stage->pNext; s; s = s->pNext) {
      if (s->sType == VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO &&
          !module_valid(d, (const VkShaderModuleCreateInfo *)s))
         return false;
   }
   return true;
}

static void create_shader_module(struct pv_venus_dispatch *d,
                                 struct pv_cmd_vkCreateShaderModule *args)
{
   if (!module_valid(d, args->pCreateInfo)) {
      args->ret = VK_ERROR_UNKNOWN;
      return;
   }
   create_shader_module_next(d, args);
}

static void create_compute_pipelines(struct pv_venus_dispatch *d,
                                     struct pv_cmd_vkCreateComputePipelines *args)
{
   for (uint32_t i = 0; args->pCreateInfos && i < args->createInfoCount; i++) {
      if (!stage_valid(d, &args->pCreateInfos[i].stage)) {
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
         if (!stage_valid(d, &info->pStages[j])) {
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
}
