/* Bump allocator for decoded commands: one arena per stream, reset after each command. */
#include "util/pv_arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct pv_arena_chunk {
   struct pv_arena_chunk *next;
   size_t size; /* usable bytes after the header */
   size_t used;
   _Alignas(16) unsigned char data[];
};

/* Most commands decode into a few hundred bytes; 64 KiB chunks keep the common case to one. */
#define PV_ARENA_CHUNK_SIZE (64u << 10)

void pv_arena_init(struct pv_arena *arena, size_t limit)
{
   arena->head = NULL;
   arena->spare = NULL;
   arena->used_total = 0;
   arena->limit = limit;
}

static void free_chunks(struct pv_arena_chunk *chunk)
{
   while (chunk) {
      struct pv_arena_chunk *next = chunk->next;
      free(chunk);
      chunk = next;
   }
}

void pv_arena_finish(struct pv_arena *arena)
{
   free_chunks(arena->head);
   free_chunks(arena->spare);
   arena->head = arena->spare = NULL;
}

static struct pv_arena_chunk *new_chunk(struct pv_arena *arena, size_t need)
{
   /* Reuse a spare chunk when it is big enough; oversized requests get their own. */
   if (arena->spare && arena->spare->size >= need) {
      struct pv_arena_chunk *chunk = arena->spare;
      arena->spare = chunk->next;
      chunk->used = 0;
      return chunk;
   }
   size_t size = need > PV_ARENA_CHUNK_SIZE ? need : PV_ARENA_CHUNK_SIZE;
   if (size > SIZE_MAX - sizeof(struct pv_arena_chunk))
      return NULL; /* only reachable with a limit near SIZE_MAX */
   struct pv_arena_chunk *chunk = malloc(sizeof(*chunk) + size);
   if (!chunk)
      return NULL;
   chunk->size = size;
   chunk->used = 0;
   return chunk;
}

void *pv_arena_alloc(struct pv_arena *arena, size_t size)
{
   size_t rounded = (size + 7) & ~(size_t)7;
   /* used_total never exceeds limit, so the subtraction cannot wrap. */
   if (rounded < size || rounded > arena->limit - arena->used_total)
      return NULL;
   struct pv_arena_chunk *chunk = arena->head;
   if (!chunk || chunk->size - chunk->used < rounded) {
      chunk = new_chunk(arena, rounded);
      if (!chunk)
         return NULL;
      chunk->next = arena->head;
      arena->head = chunk;
   }
   void *p = chunk->data + chunk->used;
   chunk->used += rounded;
   arena->used_total += rounded;
   memset(p, 0, size);
   return p;
}

void pv_arena_reset(struct pv_arena *arena)
{
   /* Keep standard-size chunks for the next command; give oversized ones back. */
   while (arena->head) {
      struct pv_arena_chunk *chunk = arena->head;
      arena->head = chunk->next;
      if (chunk->size > PV_ARENA_CHUNK_SIZE) {
         free(chunk);
         continue;
      }
      chunk->next = arena->spare;
      arena->spare = chunk;
   }
   arena->used_total = 0;
}
