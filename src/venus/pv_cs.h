/* Venus command-stream reader and writer: bounds-checked primitives the generated decoders and
 * reply encoders are built from (wire format: docs/protocol/venus.md §3-§4). */
#ifndef PV_CS_H
#define PV_CS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <vulkan/vulkan.h>

struct pv_arena;

/* Translates a guest object id into the host handle it names. Returns false when the id is
 * unknown or names an object of another type. Provided by the renderer; the reader does not
 * know what an object is. */
struct pv_cs_handles {
   bool (*lookup)(void *data, uint64_t id, VkObjectType type, uint64_t *handle);
   void *data;
};

/* Reads 4-byte units from a guest buffer. The first failure is sticky: later reads return
 * zeroes and never move, so a decoder can run to its end and check `failed` once. */
struct pv_cs_reader {
   const uint8_t *begin;
   const uint8_t *cur;
   const uint8_t *end;
   struct pv_arena *arena;
   const struct pv_cs_handles *handles; /* NULL: handles decode to the raw id */
   bool failed;
   uint32_t depth;        /* pNext chains being decoded, nested (bounded: no stack blow-up) */
   uint32_t command_id;   /* command being decoded, for the error message */
   size_t command_offset; /* its offset from begin */
   char error[192];       /* "command N at offset M: " + a message of up to 127 bytes */
};

void pv_cs_reader_init(struct pv_cs_reader *r, const void *data, size_t size,
                       struct pv_arena *arena, const struct pv_cs_handles *handles);
/* Marks the reader failed with a message naming the current command and offset; keeps the
 * first message. Always returns false. */
bool pv_cs_fail(struct pv_cs_reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static inline size_t pv_cs_offset(const struct pv_cs_reader *r)
{
   return (size_t)(r->cur - r->begin);
}

static inline bool pv_cs_at_end(const struct pv_cs_reader *r)
{
   return r->failed || r->cur >= r->end;
}

/* Consumes n bytes plus padding to 4 and returns where they start, or NULL (reader failed). */
static inline const void *pv_cs_take(struct pv_cs_reader *r, size_t n)
{
   size_t padded = (n + 3) & ~(size_t)3;
   if (r->failed || padded < n || padded > (size_t)(r->end - r->cur)) {
      if (!r->failed)
         pv_cs_fail(r, "truncated: need %zu bytes, %zu left", n, (size_t)(r->end - r->cur));
      return NULL;
   }
   const void *p = r->cur;
   r->cur += padded;
   return p;
}

static inline uint32_t pv_cs_read_u32(struct pv_cs_reader *r)
{
   uint32_t v = 0;
   const void *p = pv_cs_take(r, 4);
   if (p)
      memcpy(&v, p, 4);
   return v;
}

/* 64-bit values are only 4-byte aligned on the wire. */
static inline uint64_t pv_cs_read_u64(struct pv_cs_reader *r)
{
   uint64_t v = 0;
   const void *p = pv_cs_take(r, 8);
   if (p)
      memcpy(&v, p, 8);
   return v;
}

static inline float pv_cs_read_f32(struct pv_cs_reader *r)
{
   uint32_t bits = pv_cs_read_u32(r);
   float f;
   memcpy(&f, &bits, 4);
   return f;
}

/* Copies n bytes into dst and skips the padding. */
void pv_cs_read_bytes(struct pv_cs_reader *r, void *dst, size_t n);

/* Zero-filled memory from the reader's arena for count elements of size bytes; NULL for
 * count 0. Fails the reader when the product overflows or exceeds 1 GiB, exceeds
 * max(64 MiB, 64 x the bytes left in the stream), or the arena limit is hit. */
void *pv_cs_alloc_array(struct pv_cs_reader *r, uint64_t count, size_t size);

/* An array count that must equal `expected` when non-zero (docs/protocol/venus.md §4). Returns
 * the count (0 = NULL pointer). */
uint64_t pv_cs_read_array_size(struct pv_cs_reader *r, uint64_t expected);
/* The same for an array the API requires: 0 (NULL) fails when expected is not 0. */
uint64_t pv_cs_read_required_array_size(struct pv_cs_reader *r, uint64_t expected,
                                        const char *what);
/* A fixed-size array's count: must equal `declared` exactly. */
void pv_cs_read_fixed_array_size(struct pv_cs_reader *r, uint64_t declared);
/* A pointer to one thing: the marker must be 0 or 1. */
bool pv_cs_read_pointer(struct pv_cs_reader *r);
/* A pointer the API requires: the marker must be 1. */
void pv_cs_read_required_pointer(struct pv_cs_reader *r);

/* A NUL-terminated string (u64 length including the NUL); NULL for length 0. The returned
 * string is in the arena and always terminated; a length whose last byte is not NUL fails. */
const char *pv_cs_read_string(struct pv_cs_reader *r);
/* A fixed char array (declared size bytes). dst always ends up NUL-terminated. */
void pv_cs_read_char_array(struct pv_cs_reader *r, char *dst, size_t declared);

/* A handle: a guest id translated through r->handles. 0 decodes to VK_NULL_HANDLE. */
uint64_t pv_cs_read_handle(struct pv_cs_reader *r, VkObjectType type);

/* Translates an id already read (kept by the caller, e.g. to unbind it later); same rules
 * as pv_cs_read_handle. */
static inline uint64_t pv_cs_translate(struct pv_cs_reader *r, uint64_t id, VkObjectType type)
{
   uint64_t handle = 0;
   if (id == 0 || r->failed || !r->handles)
      return r->failed ? 0 : id;
   if (!r->handles->lookup(r->handles->data, id, type, &handle)) {
      pv_cs_fail(r, "unknown or mistyped object id %llu (VkObjectType %d)", (unsigned long long)id,
                 (int)type);
      return 0;
   }
   return handle;
}

/* pv_cs_translate for a handle vk.xml requires: id 0 fails the stream, naming what. */
static inline uint64_t pv_cs_translate_required(struct pv_cs_reader *r, uint64_t id,
                                                VkObjectType type, const char *what)
{
   if (id == 0 && !r->failed) {
      pv_cs_fail(r, "%s is VK_NULL_HANDLE where a valid handle is required", what);
      return 0;
   }
   return pv_cs_translate(r, id, type);
}

/* Longest pNext chain accepted: the longest real one, vkGetPhysicalDeviceFeatures2's with a
 * struct per offered extension, is about a hundred. Each link is a stack frame. */
#define PV_CS_MAX_CHAIN_DEPTH 512

/* Entering one more link of a pNext chain; false (and failed) past the limit. */
static inline bool pv_cs_enter(struct pv_cs_reader *r)
{
   if (r->depth >= PV_CS_MAX_CHAIN_DEPTH)
      return pv_cs_fail(r, "pNext chain longer than %d structs", PV_CS_MAX_CHAIN_DEPTH);
   r->depth++;
   return true;
}

static inline void pv_cs_leave(struct pv_cs_reader *r)
{
   r->depth--;
}

/* Reads an sType and fails unless it equals `expected`. */
void pv_cs_read_stype(struct pv_cs_reader *r, VkStructureType expected);

/* Writes 4-byte units into a reply buffer. Overflow is sticky and writes nothing more. */
struct pv_cs_writer {
   uint8_t *begin;
   uint8_t *cur;
   uint8_t *end;
   bool overflow;
};

void pv_cs_writer_init(struct pv_cs_writer *w, void *data, size_t size);

static inline size_t pv_cs_writer_size(const struct pv_cs_writer *w)
{
   return (size_t)(w->cur - w->begin);
}

/* Reserves n bytes plus padding (padding zeroed); NULL on overflow. */
static inline void *pv_cs_reserve(struct pv_cs_writer *w, size_t n)
{
   size_t padded = (n + 3) & ~(size_t)3;
   if (w->overflow || padded < n || padded > (size_t)(w->end - w->cur)) {
      w->overflow = true;
      return NULL;
   }
   uint8_t *p = w->cur;
   if (padded != n)
      memset(p + n, 0, padded - n);
   w->cur += padded;
   return p;
}

static inline void pv_cs_write_u32(struct pv_cs_writer *w, uint32_t v)
{
   void *p = pv_cs_reserve(w, 4);
   if (p)
      memcpy(p, &v, 4);
}

static inline void pv_cs_write_u64(struct pv_cs_writer *w, uint64_t v)
{
   void *p = pv_cs_reserve(w, 8);
   if (p)
      memcpy(p, &v, 8);
}

static inline void pv_cs_write_f32(struct pv_cs_writer *w, float f)
{
   uint32_t bits;
   memcpy(&bits, &f, 4);
   pv_cs_write_u32(w, bits);
}

void pv_cs_write_bytes(struct pv_cs_writer *w, const void *src, size_t n);
/* u64 length including the NUL, the bytes, padding; NULL writes length 0. */
void pv_cs_write_string(struct pv_cs_writer *w, const char *s);

#endif
