/* A decode-only Venus dispatch for tests and fuzzing; replies land in a caller's buffer. */
#ifndef PV_VENUS_TEST_UTIL_H
#define PV_VENUS_TEST_UTIL_H

#include "util/pv_arena.h"
#include "venus/pv_venus_dispatch.h"

struct pv_venus_test {
   struct pv_venus_dispatch dispatch;
   struct pv_cs_reader reader;
   struct pv_arena arena;
   uint8_t *reply;
   size_t reply_capacity;
   size_t reply_size; /* bytes of the last reply written; 0 when none was */
};

/* handlers: a NULL slot only decodes its command. arena_limit: the most bytes one command may
 * decode into. Each reply overwrites the previous one at the start of `reply`. */
void pv_venus_test_init(struct pv_venus_test *t, const struct pv_venus_handlers *handlers,
                        void *reply, size_t reply_capacity, size_t arena_limit);
void pv_venus_test_finish(struct pv_venus_test *t);

/* Starts reading a new stream. handles: NULL leaves guest ids untranslated. */
void pv_venus_test_begin(struct pv_venus_test *t, const void *data, size_t size,
                         const struct pv_cs_handles *handles);

#endif
