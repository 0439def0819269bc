/* The fast-wait layer's maps: instances and devices by loader key, under one mutex. */
#include "pv_layer.h"

#include <pthread.h>
#include <stdlib.h>

/*
 * Applications call from several threads, so every lookup takes the mutex. The maps are arrays
 * searched linearly: an application has one or two instances and devices, and an uncontended
 * lock plus a scan of two entries (~30 ns) is nothing next to the wait it comes before.
 */
struct pv_layer_map {
   void **entries; /* struct pv_layer_instance * or struct pv_layer_device *; key first */
   size_t count, capacity;
};

static pthread_mutex_t map_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct pv_layer_map instances, devices;

/* Both entry types start with their key. */
static void *entry_key(void *entry)
{
   return *(void **)entry;
}

static size_t find(const struct pv_layer_map *map, const void *key)
{
   size_t i = 0;
   while (i < map->count && entry_key(map->entries[i]) != key)
      i++;
   return i;
}

/* Returns the entry entry replaced (to be freed by the caller) in *old; false when full and
 * out of memory. Called with the mutex held. */
static bool add(struct pv_layer_map *map, void *entry, void **old)
{
   size_t i = find(map, entry_key(entry));
   *old = NULL;
   if (i < map->count) {
      *old = map->entries[i];
      map->entries[i] = entry;
      return true;
   }
   if (map->count == map->capacity) {
      size_t capacity = map->capacity ? 2 * map->capacity : 4;
      void **entries = realloc(map->entries, capacity * sizeof(*entries));
      if (!entries)
         return false;
      map->entries = entries;
      map->capacity = capacity;
   }
   map->entries[map->count++] = entry;
   return true;
}

static void *lookup(struct pv_layer_map *map, const void *handle, bool take)
{
   if (!handle)
      return NULL;
   void *key = pv_layer_key(handle);
   pthread_mutex_lock(&map_mutex);
   size_t i = find(map, key);
   void *entry = i < map->count ? map->entries[i] : NULL;
   if (entry && take) {
      map->entries[i] = map->entries[--map->count];
      if (map->count == 0) {
         free(map->entries);
         *map = (struct pv_layer_map){0};
      }
   }
   pthread_mutex_unlock(&map_mutex);
   return entry;
}

bool pv_layer_map_add_instance(struct pv_layer_instance *inst)
{
   void *old;
   pthread_mutex_lock(&map_mutex);
   bool ok = add(&instances, inst, &old);
   pthread_mutex_unlock(&map_mutex);
   free(old);
   return ok;
}

bool pv_layer_map_add_device(struct pv_layer_device *dev)
{
   void *old;
   pthread_mutex_lock(&map_mutex);
   bool ok = add(&devices, dev, &old);
   pthread_mutex_unlock(&map_mutex);
   /* Its device is gone (the key was reused): only the memory is left to free. */
   if (old) {
      struct pv_layer_device *stale = old;
      stale->next.destroy_fence = NULL;
      pv_layer_device_free(stale);
   }
   return ok;
}

struct pv_layer_instance *pv_layer_map_instance(const void *handle)
{
   return lookup(&instances, handle, false);
}

struct pv_layer_device *pv_layer_map_device(const void *handle)
{
   return lookup(&devices, handle, false);
}

struct pv_layer_instance *pv_layer_map_take_instance(const void *handle)
{
   return lookup(&instances, handle, true);
}

struct pv_layer_device *pv_layer_map_take_device(const void *handle)
{
   return lookup(&devices, handle, true);
}

struct pv_layer_queue *pv_layer_map_queue(struct pv_layer_device *dev, VkQueue queue)
{
   pthread_mutex_lock(&map_mutex);
   struct pv_layer_queue *q = dev->queues;
   while (q && q->queue != queue)
      q = q->next;
   if (!q) {
      q = calloc(1, sizeof(*q));
      if (q) {
         q->queue = queue;
         q->next = dev->queues;
         dev->queues = q;
      } else {
         dev->queue_missing = true;
      }
   }
   pthread_mutex_unlock(&map_mutex);
   return q;
}

struct pv_layer_queue *pv_layer_map_queues(struct pv_layer_device *dev, bool *complete)
{
   /* The mutex orders this read after the node's initialization in pv_layer_map_queue. */
   pthread_mutex_lock(&map_mutex);
   struct pv_layer_queue *head = dev->queues;
   *complete = !dev->queue_missing;
   pthread_mutex_unlock(&map_mutex);
   return head;
}

void pv_layer_device_free(struct pv_layer_device *dev)
{
   if (!dev)
      return;
   for (struct pv_layer_queue *q = dev->queues, *next; q; q = next) {
      next = q->next;
      if (q->fence && dev->next.destroy_fence)
         dev->next.destroy_fence(dev->device, q->fence, NULL);
      free(q);
   }
   free(dev);
}
