/* What a SPIR-V entry point uses (pv_render_spirv.h). One pass gathers the descriptor
 * variables, the entry points and, per function, its calls and the variables it names; a walk
 * of the call graph from the entry point then unions them. */
#include "render/pv_render_spirv.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define OP_ENTRY_POINT            15
#define OP_FUNCTION               54
#define OP_FUNCTION_END           56
#define OP_FUNCTION_CALL          57
#define OP_DECORATE               71
#define DECORATION_BINDING        33
#define DECORATION_DESCRIPTOR_SET 34
#define HEADER_WORDS              5

struct descriptor {
   uint32_t id, set, binding;
   bool has_set, has_binding;
};

struct function {
   uint32_t id;
   size_t begin, end; /* word range of its body */
};

struct module {
   const uint32_t *code;
   size_t words;
   struct descriptor *descriptors;
   size_t descriptor_count;
   struct function *functions;
   size_t function_count;
};

/* The instruction at word i: its length (0 when malformed) and opcode. */
static uint32_t instruction(const struct module *m, size_t i, uint32_t *op)
{
   uint32_t count = m->code[i] >> 16;
   *op = m->code[i] & 0xffff;
   return count && count <= m->words - i ? count : 0;
}

/* Appends one element to *array (count elements, doubling capacity); NULL when out of
 * memory. */
static void *append(void **array, size_t *count, size_t *capacity, size_t size)
{
   if (*count == *capacity) {
      size_t grown = *capacity ? *capacity * 2 : 16;
      void *bigger = realloc(*array, grown * size);
      if (!bigger)
         return NULL;
      *array = bigger;
      *capacity = grown;
   }
   return (char *)*array + (*count)++ * size;
}

/* Decorations (one entry each, merged by merge_descriptors) and function bodies; false when
 * malformed or out of memory. */
static bool scan(struct module *m)
{
   size_t descriptor_capacity = 0, function_capacity = 0, open = SIZE_MAX;
   for (size_t i = HEADER_WORDS, n; i < m->words; i += n) {
      uint32_t op;
      if (!(n = instruction(m, i, &op)))
         return false;
      if (op == OP_DECORATE && n >= 4 &&
          (m->code[i + 2] == DECORATION_BINDING || m->code[i + 2] == DECORATION_DESCRIPTOR_SET)) {
         struct descriptor *d = append((void **)&m->descriptors, &m->descriptor_count,
                                       &descriptor_capacity, sizeof(*d));
         if (!d)
            return false;
         bool binding = m->code[i + 2] == DECORATION_BINDING;
         *d = (struct descriptor){.id = m->code[i + 1],
                                  .set = binding ? 0 : m->code[i + 3],
                                  .binding = binding ? m->code[i + 3] : 0,
                                  .has_set = !binding,
                                  .has_binding = binding};
      } else if (op == OP_FUNCTION && n >= 3) {
         struct function *f =
               append((void **)&m->functions, &m->function_count, &function_capacity, sizeof(*f));
         if (!f)
            return false;
         *f = (struct function){m->code[i + 2], i + n, m->words};
         open = m->function_count - 1;
      } else if (op == OP_FUNCTION_END && open != SIZE_MAX) {
         m->functions[open].end = i;
         open = SIZE_MAX;
      }
   }
   return true;
}

static int compare_function(const void *a, const void *b)
{
   uint32_t x = ((const struct function *)a)->id, y = ((const struct function *)b)->id;
   return (x > y) - (x < y);
}

/* Index of function id (functions sorted by id), function_count when there is none. */
static size_t function_index(const struct module *m, uint32_t id)
{
   struct function key = {.id = id};
   const struct function *f =
         bsearch(&key, m->functions, m->function_count, sizeof(key), compare_function);
   return f ? (size_t)(f - m->functions) : m->function_count;
}

static int compare_descriptor(const void *a, const void *b)
{
   uint32_t x = ((const struct descriptor *)a)->id, y = ((const struct descriptor *)b)->id;
   return (x > y) - (x < y);
}

/* One entry per variable, from its decorations sorted by id. */
static void merge_descriptors(struct module *m)
{
   size_t out = 0;
   for (size_t i = 0; i < m->descriptor_count; i++) {
      struct descriptor *d = &m->descriptors[i], *last = out ? &m->descriptors[out - 1] : NULL;
      if (last && last->id == d->id) {
         if (d->has_set)
            last->set = d->set, last->has_set = true;
         if (d->has_binding)
            last->binding = d->binding, last->has_binding = true;
      } else {
         m->descriptors[out++] = *d;
      }
   }
   m->descriptor_count = out;
}

/* Marks the descriptors named by function f and everything it calls. A worklist, not
 * recursion: a hostile module may chain a million calls. */
static void walk(const struct module *m, size_t f, bool *visited, size_t *stack, bool *used)
{
   size_t depth = 0;
   if (f < m->function_count && !visited[f]) {
      visited[f] = true;
      stack[depth++] = f;
   }
   while (depth) {
      const struct function *fn = &m->functions[stack[--depth]];
      for (size_t i = fn->begin, n; i < fn->end; i += n) {
         uint32_t op;
         if (!(n = instruction(m, i, &op)))
            break;
         size_t callee = op == OP_FUNCTION_CALL && n >= 4 ? function_index(m, m->code[i + 3])
                                                          : m->function_count;
         if (callee < m->function_count && !visited[callee]) {
            visited[callee] = true;
            stack[depth++] = callee;
         }
         for (uint32_t w = 1; w < n; w++) {
            struct descriptor key = {.id = m->code[i + w]};
            /* bsearch must not see NULL, which a module without descriptors has. */
            const struct descriptor *d = m->descriptor_count
                                               ? bsearch(&key, m->descriptors, m->descriptor_count,
                                                         sizeof(key), compare_descriptor)
                                               : NULL;
            if (d)
               used[d - m->descriptors] = true;
         }
      }
   }
}

/* The entry point's name is a literal string from word 3: true when it is `entry`. Its
 * interface ids follow; *interface is set to where. */
static bool entry_named(const struct module *m, size_t i, uint32_t n, const char *entry,
                        size_t *interface)
{
   const char *name = (const char *)&m->code[i + 3];
   size_t max = (n - 3) * 4, len = strnlen(name, max);
   if (len == max)
      return false;
   *interface = i + 3 + len / 4 + 1;
   return strcmp(name, entry) == 0;
}

static bool in_interface(const struct module *m, size_t from, size_t to, uint32_t id)
{
   for (size_t i = from; i < to; i++) {
      if (m->code[i] == id)
         return true;
   }
   return false;
}

/* Marks, in used, what the entry points named entry use; false when there is none. */
static bool mark_entry_points(const struct module *m, const char *entry, bool *visited,
                              size_t *stack, bool *used, bool *in_any)
{
   bool listed = m->code[1] >= 0x10400; /* SPIR-V 1.4: every global used is in the interface */
   bool found = false;
   for (size_t i = HEADER_WORDS, n; i < m->words; i += n) {
      uint32_t op;
      size_t interface;
      if (!(n = instruction(m, i, &op)))
         return false;
      if (op != OP_ENTRY_POINT || n < 4 || !entry_named(m, i, n, entry, &interface))
         continue;
      found = true;
      walk(m, function_index(m, m->code[i + 2]), visited, stack, used);
      for (size_t d = 0; d < m->descriptor_count; d++)
         in_any[d] |= !listed || in_interface(m, interface, i + n, m->descriptors[d].id);
   }
   return found;
}

bool pv_spirv_used_descriptors(const uint32_t *code, size_t words, const char *entry,
                               uint64_t **keys, size_t *count)
{
   *keys = NULL;
   *count = 0;
   if (words < HEADER_WORDS || !entry)
      return false;
   struct module m = {code, words};
   bool ok = scan(&m);
   if (m.descriptor_count)
      qsort(m.descriptors, m.descriptor_count, sizeof(*m.descriptors), compare_descriptor);
   merge_descriptors(&m);
   if (m.function_count)
      qsort(m.functions, m.function_count, sizeof(*m.functions), compare_function);
   bool *visited = calloc(m.function_count + 1, sizeof(bool));
   size_t *stack = calloc(m.function_count + 1, sizeof(size_t));
   bool *used = calloc(m.descriptor_count + 1, sizeof(bool));
   bool *listed = calloc(m.descriptor_count + 1, sizeof(bool));
   ok = ok && visited && stack && used && listed &&
        mark_entry_points(&m, entry, visited, stack, used, listed);
   if (ok && m.descriptor_count && !(*keys = malloc(m.descriptor_count * sizeof(**keys))))
      ok = false;
   for (size_t d = 0; ok && d < m.descriptor_count; d++) {
      const struct descriptor *desc = &m.descriptors[d];
      if (used[d] && listed[d] && desc->has_set && desc->has_binding)
         (*keys)[(*count)++] = pv_spirv_descriptor_key(desc->set, desc->binding);
   }
   if (!ok) {
      free(*keys);
      *keys = NULL;
      *count = 0;
   }
   free(visited);
   free(stack);
   free(used);
   free(listed);
   free(m.descriptors);
   free(m.functions);
   return ok;
}
