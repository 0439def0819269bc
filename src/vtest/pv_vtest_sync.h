/* vtest sync objects of one connection: 64-bit counters, their waiters and the fences that
 * set them (docs/protocol/vtest.md §5). */
#ifndef PV_VTEST_SYNC_H
#define PV_VTEST_SYNC_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <pearvisor/pv_gpu.h>

struct pv_vtest_slot;
struct pv_vtest_sync_waiter;

/* A table of small records named by ids 1..capacity: id n lives in slots[n - 1]. Free slots
 * are chained from free_id (0 = none), so ids are reused and lookups cost one index. */
struct pv_vtest_slots {
   struct pv_vtest_slot *slots;
   uint32_t capacity;
   uint32_t free_id;
   uint64_t live; /* slots taken */
};

struct pv_vtest_syncs {
   /* Values are written by the connection's thread and by the renderer's fence threads. */
   pthread_mutex_t lock;
   struct pv_vtest_slots syncs;  /* the guest's sync objects */
   struct pv_vtest_slots fences; /* fence ids handed to the renderer: which sync they set */
   struct pv_vtest_sync_waiter *waiters;
   uint64_t waiter_count;
   uint64_t max_syncs, max_waits; /* the connection's limits (syncs, waits) */
};

/* limits: the connection's, defaults resolved (pv_limits_resolve). */
void pv_vtest_syncs_init(struct pv_vtest_syncs *syncs, const struct pv_gpu_limits *limits);
/* Call after the renderer can no longer retire fences (the context is destroyed). */
void pv_vtest_syncs_finish(struct pv_vtest_syncs *syncs);

/* Hangs up on every pending wait: the guest's poll ends in an error (the worker is stopping). */
void pv_vtest_syncs_fail_waiters(struct pv_vtest_syncs *syncs);

/* *id is non-zero on success; false at the syncs limit (*at_limit then true) or out of
 * memory. */
bool pv_vtest_sync_create(struct pv_vtest_syncs *syncs, uint64_t value, uint32_t *id,
                          bool *at_limit);
/* false for an unknown id (on all four). */
bool pv_vtest_sync_unref(struct pv_vtest_syncs *syncs, uint32_t id);
bool pv_vtest_sync_read(struct pv_vtest_syncs *syncs, uint32_t id, uint64_t *value);
/* Stored as given: a smaller value is Mesa's reset. Wakes waiters it satisfies. */
bool pv_vtest_sync_write(struct pv_vtest_syncs *syncs, uint32_t id, uint64_t value);

/* Returns the read end of a pipe that becomes readable (POLLIN) once every sync in triples
 * {id, value lo, value hi} (or any one, with any) has reached its value; -1 on failure. A
 * wait still pending after timeout_ms (> INT32_MAX: never) never fires; one that can no longer
 * fire early (pv_vtest_syncs_fail_waiters, teardown) hangs up (POLLHUP alone), and so does
 * one past the waits limit at once (*at_limit then true): the guest's wait fails, the
 * connection goes on. The caller closes the fd after passing it on. */
int pv_vtest_sync_wait(struct pv_vtest_syncs *syncs, bool any, uint32_t timeout_ms,
                       const uint32_t *triples, uint32_t count, bool *at_limit);

/* Remembers "set sync_id to value" under a new fence id for the renderer; false for an
 * unknown sync. */
bool pv_vtest_sync_fence_add(struct pv_vtest_syncs *syncs, uint32_t sync_id, uint64_t value,
                             uint64_t *fence_id);
/* Forgets a fence the renderer refused. */
void pv_vtest_sync_fence_cancel(struct pv_vtest_syncs *syncs, uint64_t fence_id);
/* pv_gpu_fence_retired_fn; data is the struct pv_vtest_syncs. Applies the fence's write. */
void pv_vtest_sync_fence_retired(void *data, uint32_t ring_idx, uint64_t fence_id);

#endif
