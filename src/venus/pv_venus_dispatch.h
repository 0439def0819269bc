/* Decoding a Venus command stream one command at a time and handing each to its handler. */
#ifndef PV_VENUS_DISPATCH_H
#define PV_VENUS_DISPATCH_H

#include "venus/pv_venus_protocol.h"

/* Bit 0 of a command's flags: the guest waits for a reply in its reply stream. */
#define PV_VENUS_GENERATE_REPLY           0x1u
#define VK_COMMAND_GENERATE_REPLY_BIT_EXT PV_VENUS_GENERATE_REPLY

/* One stream being executed: the context stream, a ring, or a nested command stream. The
 * owner embeds it and finds itself again with container_of in handlers and callbacks. */
struct pv_venus_dispatch {
   struct pv_cs_reader *reader;
   const struct pv_venus_handlers *handlers;
   uint32_t command_id;    /* the command being executed */
   uint32_t command_flags; /* its flags */
   /* Points w at the free part of the current reply stream; false (and the reader failed)
    * when there is none. */
   bool (*reply_begin)(struct pv_venus_dispatch *d, struct pv_cs_writer *w);
   /* Commits what was written (fails the reader when the reply did not fit). */
   void (*reply_end)(struct pv_venus_dispatch *d, const struct pv_cs_writer *w);
};

static inline bool pv_venus_reply_begin(struct pv_venus_dispatch *d, struct pv_cs_writer *w)
{
   return d->reply_begin(d, w);
}

static inline void pv_venus_reply_end(struct pv_venus_dispatch *d, const struct pv_cs_writer *w)
{
   d->reply_end(d, w);
}

/* Decodes and executes the next command of d->reader. False when the stream failed (the
 * reader's error says why: unknown command, bad bytes, or a handler's refusal). */
bool pv_venus_dispatch_command(struct pv_venus_dispatch *d);

/* Name of a command id for messages ("unknown" for ids outside the table). */
const char *pv_venus_command_name(uint32_t command_id);

#endif
