/* A decode-only Venus dispatch for tests and fuzzing; replies land in a caller's buffer. */
#include "venus_test_util.h"

#include <stddef.h>

static struct pv_venus_test *test_of(struct pv_venus_dispatch *d)
{
   return (struct pv_venus_test *)((char *)d - offsetof(struct pv_venus_test, dispatch));
}

static bool reply_begin(struct pv_venus_dispatch *d, struct pv_cs_writer *w)
{
   struct pv_venus_test *t = test_of(d);
   pv_cs_writer_init(w, t->reply, t->reply_capacity);
   return true;
}

/* Same contract as the renderer's reply streams: a reply that does not fit fails the stream. */
static void reply_end(struct pv_venus_dispatch *d, const struct pv_cs_writer *w)
{
   struct pv_venus_test *t = test_of(d);
   if (w->overflow) {
      pv_cs_fail(d->reader, "reply larger than the %zu-byte reply buffer", t->reply_capacity);
      return;
   }
   t->reply_size = pv_cs_writer_size(w);
}

void pv_venus_test_init(struct pv_venus_test *t, const struct pv_venus_handlers *handlers,
                        void *reply, size_t reply_capacity, size_t arena_limit)
{
   pv_arena_init(&t->arena, arena_limit);
   t->reader = (struct pv_cs_reader){.arena = &t->arena}; /* empty until a stream begins */
   t->dispatch = (struct pv_venus_dispatch){
         .reader = &t->reader,
         .handlers = handlers,
         .reply_begin = reply_begin,
         .reply_end = reply_end,
   };
   t->reply = reply;
   t->reply_capacity = reply_capacity;
   t->reply_size = 0;
}

void pv_venus_test_finish(struct pv_venus_test *t)
{
   pv_arena_finish(&t->arena);
}

void pv_venus_test_begin(struct pv_venus_test *t, const void *data, size_t size,
                         const struct pv_cs_handles *handles)
{
   pv_cs_reader_init(&t->reader, data, size, &t->arena, handles);
   t->reply_size = 0;
}
