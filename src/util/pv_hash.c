/* Open-addressing hash map from u64 keys (guest object ids) to pointers. */
#include "util/pv_hash.h"

#include <stdlib.h>

struct pv_hash_slot {
   uint64_t key; /* 0: empty */
   void *value;  /* NULL with key != 0: tombstone */
};

/* splitmix64's finalizer: guest ids are small consecutive integers, this spreads them. */
static uint64_t mix(uint64_t x)
{
   x ^= x >> 30;
   x *= 0xbf58476d1ce4e5b9ull;
   x ^= x >> 27;
   x *= 0x94d049bb133111ebull;
   return x ^ (x >> 31);
}

void pv_hash_init(struct pv_hash *map)
{
   map->slots = NULL;
   map->capacity = map->count = map->tombstones = 0;
}

void pv_hash_finish(struct pv_hash *map)
{
   free(map->slots);
   pv_hash_init(map);
}

static struct pv_hash_slot *find(const struct pv_hash *map, uint64_t key)
{
   if (!map->capacity)
      return NULL;
   size_t mask = map->capacity - 1;
   for (size_t i = mix(key) & mask;; i = (i + 1) & mask) {
      struct pv_hash_slot *slot = &map->slots[i];
      if (slot->key == key && slot->value)
         return slot;
      if (slot->key == 0)
         return NULL;
   }
}

/* Rebuilds the table without tombstones. Only live entries decide the new size (at most half
 * full afterwards), so a map whose objects come and go is rebuilt in place instead of doubling
 * on every wave of tombstones. */
static bool rehash(struct pv_hash *map)
{
   size_t capacity = map->capacity ? map->capacity : 64;
   while ((map->count + 1) * 2 > capacity)
      capacity *= 2;
   struct pv_hash_slot *slots = calloc(capacity, sizeof(*slots));
   if (!slots)
      return false;
   for (size_t i = 0; i < map->capacity; i++) {
      struct pv_hash_slot *old = &map->slots[i];
      if (!old->key || !old->value)
         continue;
      size_t j = mix(old->key) & (capacity - 1);
      while (slots[j].key)
         j = (j + 1) & (capacity - 1);
      slots[j] = *old;
   }
   free(map->slots);
   map->slots = slots;
   map->capacity = capacity;
   map->tombstones = 0;
   return true;
}

bool pv_hash_insert(struct pv_hash *map, uint64_t key, void *value)
{
   if (key == 0 || !value || find(map, key))
      return false;
   /* Keep the table under 70% full, tombstones included, so probes stay short. */
   if ((map->count + map->tombstones + 1) * 10 > map->capacity * 7 && !rehash(map))
      return false;
   size_t mask = map->capacity - 1;
   size_t i = mix(key) & mask;
   while (map->slots[i].key && map->slots[i].value)
      i = (i + 1) & mask;
   if (map->slots[i].key)
      map->tombstones--;
   map->slots[i].key = key;
   map->slots[i].value = value;
   map->count++;
   return true;
}

void *pv_hash_lookup(const struct pv_hash *map, uint64_t key)
{
   struct pv_hash_slot *slot = key ? find(map, key) : NULL;
   return slot ? slot->value : NULL;
}

void *pv_hash_remove(struct pv_hash *map, uint64_t key)
{
   struct pv_hash_slot *slot = key ? find(map, key) : NULL;
   if (!slot)
      return NULL;
   void *value = slot->value;
   slot->value = NULL; /* tombstone: probes continue past it */
   map->count--;
   map->tombstones++;
   return value;
}

void pv_hash_foreach(const struct pv_hash *map, void (*fn)(uint64_t key, void *value, void *data),
                     void *data)
{
   for (size_t i = 0; i < map->capacity; i++) {
      if (map->slots[i].key && map->slots[i].value)
         fn(map->slots[i].key, map->slots[i].value, data);
   }
}

size_t pv_hash_count(const struct pv_hash *map)
{
   return map->count;
}
