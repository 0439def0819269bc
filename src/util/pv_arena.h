/* Bump allocator for decoded commands: one arena per stream, reset after each command. */
#ifndef PV_ARENA_H
#define PV_ARENA_H

#include <stdbool.h>
#include <stddef.h>

/* Memory comes in chunks that are kept across resets, so a stream that decoded one command
 * of a given shape decodes the next one without touching malloc. */
struct pv_arena {
   struct pv_arena_chunk *head;  /* chunk being filled */
   struct pv_arena_chunk *spare; /* chunks freed by reset, reused first */
   size_t used_total;            /* bytes handed out since the last reset */
   size_t limit;                 /* most bytes handed out between resets */
};

/* limit: the most bytes one command may allocate (guards against lying guest counts). */
void pv_arena_init(struct pv_arena *arena, size_t limit);
void pv_arena_finish(struct pv_arena *arena);
/* Zero-filled, 8-byte aligned; NULL when the limit is hit or memory runs out. */
void *pv_arena_alloc(struct pv_arena *arena, size_t size);
void pv_arena_reset(struct pv_arena *arena);

#endif
