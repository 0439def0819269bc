/* Open-addressing hash map from u64 keys (guest object ids) to pointers. */
#ifndef PV_HASH_H
#define PV_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Key 0 is reserved (no guest object has id 0). Not thread-safe: callers lock. */
struct pv_hash {
   struct pv_hash_slot *slots;
   size_t capacity; /* power of two */
   size_t count;
   size_t tombstones;
};

void pv_hash_init(struct pv_hash *map);
void pv_hash_finish(struct pv_hash *map);
/* false when the key is 0 or already present, the value is NULL (the map marks removed
 * entries with NULL), or memory runs out. */
bool pv_hash_insert(struct pv_hash *map, uint64_t key, void *value);
void *pv_hash_lookup(const struct pv_hash *map, uint64_t key);
/* Returns the removed value, NULL if absent. */
void *pv_hash_remove(struct pv_hash *map, uint64_t key);
/* Visits every entry; the callback must not modify the map. */
void pv_hash_foreach(const struct pv_hash *map, void (*fn)(uint64_t key, void *value, void *data),
                     void *data);
size_t pv_hash_count(const struct pv_hash *map);

#endif
