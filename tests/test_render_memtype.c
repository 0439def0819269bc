/* Unit tests of the memory types the guest is shown and those its resources may use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "render/pv_render_memtype.h"

#define DL VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT
#define HV VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT
#define HC VK_MEMORY_PROPERTY_HOST_COHERENT_BIT
#define CA VK_MEMORY_PROPERTY_HOST_CACHED_BIT

static VkPhysicalDeviceMemoryProperties props_of(const VkMemoryPropertyFlags *flags,
                                                 const uint32_t *heaps, uint32_t count)
{
   VkPhysicalDeviceMemoryProperties props = {.memoryTypeCount = count, .memoryHeapCount = 3};
   for (uint32_t i = 0; i < count; i++)
      props.memoryTypes[i] = (VkMemoryType){flags[i], heaps[i]};
   return props;
}

/* NVIDIA's list: its device-local host-visible type 4 takes no memfd import. */
static VkPhysicalDeviceMemoryProperties nvidia(void)
{
   static const VkMemoryPropertyFlags flags[] = {0, DL, HV | HC, HV | HC | CA, DL | HV | HC};
   static const uint32_t heaps[] = {1, 0, 1, 1, 2};
   return props_of(flags, heaps, 5);
}

static void test_unimportable_type_becomes_device_memory(void **state)
{
   VkPhysicalDeviceMemoryProperties host = nvidia(), guest;
   uint32_t backed = pv_render_memtype_filter(&host, 0x0d /* types 0, 2, 3 */, &guest);
   /* Type 0 is importable but not host-visible: nothing of ours is mapped there. */
   assert_int_equal(backed, 0x0c);
   assert_int_equal(guest.memoryTypeCount, 5);
   assert_int_equal(guest.memoryTypes[4].propertyFlags, DL);
   assert_int_equal(guest.memoryTypes[4].heapIndex, 2);
   for (uint32_t i = 0; i < 4; i++)
      assert_int_equal(guest.memoryTypes[i].propertyFlags, host.memoryTypes[i].propertyFlags);
   assert_int_equal(guest.memoryHeapCount, host.memoryHeapCount);
   assert_int_equal(pv_render_memtype_unbacked(&guest, backed), 0);
   assert_true(pv_render_memtype_order_valid(&host));
   assert_true(pv_render_memtype_order_valid(&guest));
}

static void test_lavapipe_unchanged(void **state)
{
   static const VkMemoryPropertyFlags flags[] = {DL | HV | HC | CA};
   static const uint32_t heaps[] = {0};
   VkPhysicalDeviceMemoryProperties host = props_of(flags, heaps, 1), guest;
   assert_int_equal(pv_render_memtype_filter(&host, 0x1, &guest), 0x1);
   assert_memory_equal(&guest, &host, sizeof(host));
   assert_int_equal(pv_render_memtype_unbacked(&guest, 0x1), 0);
}

/* Hiding every coherent type would break the spec's promise of one: the list stays the
 * host's, and the types the guest cannot map are reported. */
static void test_nothing_importable_keeps_host_list(void **state)
{
   VkPhysicalDeviceMemoryProperties host = nvidia(), guest;
   assert_int_equal(pv_render_memtype_filter(&host, 0, &guest), 0);
   assert_memory_equal(&guest, &host, sizeof(host));
   assert_int_equal(pv_render_memtype_unbacked(&guest, 0), 0x1c);
}

/* A non-coherent host-visible type may be lost while a coherent one stays. */
static void test_only_coherent_importable(void **state)
{
   static const VkMemoryPropertyFlags flags[] = {DL, HV | HC, HV | CA};
   static const uint32_t heaps[] = {0, 1, 1};
   VkPhysicalDeviceMemoryProperties host = props_of(flags, heaps, 3), guest;
   assert_int_equal(pv_render_memtype_filter(&host, 0x2, &guest), 0x2);
   assert_int_equal(guest.memoryTypes[1].propertyFlags, HV | HC);
   assert_int_equal(guest.memoryTypes[2].propertyFlags, 0);
   assert_int_equal(pv_render_memtype_unbacked(&guest, 0x2), 0);
}

/* Where a type loses its host flags after a type that keeps more, the order breaks; the
 * check says so (the caller warns). */
static void test_order_check(void **state)
{
   static const VkMemoryPropertyFlags flags[] = {DL | HV | HC, DL | HV | HC | CA};
   static const uint32_t heaps[] = {0, 0};
   VkPhysicalDeviceMemoryProperties host = props_of(flags, heaps, 2), guest;
   assert_true(pv_render_memtype_order_valid(&host));
   assert_int_equal(pv_render_memtype_filter(&host, 0x1, &guest), 0x1);
   assert_int_equal(guest.memoryTypes[1].propertyFlags, DL);
   assert_false(pv_render_memtype_order_valid(&guest));

   static const VkMemoryPropertyFlags equal[] = {DL, DL, HV | HC};
   static const uint32_t equal_heaps[] = {0, 1, 1};
   VkPhysicalDeviceMemoryProperties same = props_of(equal, equal_heaps, 3);
   assert_true(pv_render_memtype_order_valid(&same));
}

static void test_resource_bits(void **state)
{
   bool conflict = false;
   /* Created for the import: every type stays. */
   assert_int_equal(pv_render_memtype_resource_bits(0x1e, 0x0c, true, &conflict), 0x1e);
   /* Not created for it: the imported types go. */
   assert_int_equal(pv_render_memtype_resource_bits(0x1e, 0x0c, false, &conflict), 0x12);
   assert_false(conflict);
   /* No imported type among its bits: nothing to do. */
   assert_int_equal(pv_render_memtype_resource_bits(0x12, 0x0c, false, &conflict), 0x12);
   assert_false(conflict);
   /* Only imported types (lavapipe's one type): kept, and the conflict reported. */
   assert_int_equal(pv_render_memtype_resource_bits(0x1, 0x1, false, &conflict), 0x1);
   assert_true(conflict);
}

int main(void)
{
   const struct CMUnitTest tests[] = {
         cmocka_unit_test(test_unimportable_type_becomes_device_memory),
         cmocka_unit_test(test_lavapipe_unchanged),
         cmocka_unit_test(test_nothing_importable_keeps_host_list),
         cmocka_unit_test(test_only_coherent_importable),
         cmocka_unit_test(test_order_check),
         cmocka_unit_test(test_resource_bits),
   };
   return cmocka_run_group_tests(tests, NULL, NULL);
}
