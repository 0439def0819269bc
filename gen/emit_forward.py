"""Emits the host Vulkan entry-point table and the default forwarding handlers: decoded
arguments (host handles already translated) go straight to the host driver; created
objects are bound to the guest's ids, destroyed ones unbound."""

# Objects allocated from a pool: their create-info names the pool, and they die with it.
POOL_OF = {
    'vkAllocateCommandBuffers': 'pAllocateInfo->commandPool',
    'vkAllocateDescriptorSets': 'pAllocateInfo->descriptorPool',
}


class Forward:
    def __init__(self, model, codec):
        self.m = model
        self.reg = model.reg
        self.codec = codec

    def kind(self, cmd):
        """'create', 'destroy', 'free', 'reset' or 'call'."""
        last = cmd.items[-1] if cmd.items else None
        if last is not None and last.m.pointer_depth and not last.m.is_const and \
                last.kind in ('pointer', 'array') and last.elem == 'handle' and \
                (cmd.name.startswith('vkCreate') or cmd.name.startswith('vkAllocate')):
            return 'create'
        if (cmd.name.startswith('vkDestroy') or cmd.name == 'vkFreeMemory') and \
                len(cmd.items) >= 2 and cmd.items[1].kind == 'handle':
            return 'destroy'
        if cmd.name in ('vkFreeCommandBuffers', 'vkFreeDescriptorSets'):
            return 'free'
        # The renderer's object table decides what a pool's reset frees.
        if cmd.name.startswith('vkReset') and cmd.name.endswith('Pool') and \
                len(cmd.items) >= 2 and cmd.items[1].kind == 'handle':
            return 'reset'
        return 'call'

    def call_args(self, cmd, host_out=None):
        out = []
        for it in cmd.items:
            if it.kind == 'allocator':
                out.append('NULL')
            elif host_out and it is cmd.items[-1]:
                out.append(host_out)
            else:
                out.append('args->%s' % it.name)
        return ', '.join(out)

    def handle_u64(self, expr):
        return '(uint64_t)(uintptr_t)(%s)' % expr

    def emit_table(self, w):
        w('struct pv_vk_table {')
        w.depth += 1
        for name in self.table_names():
            w('PFN_%s %s;' % (name, name))
        w.end('};')
        w()

    def table_names(self):
        names = ['vkCreateInstance', 'vkEnumerateInstanceVersion',
                 'vkEnumerateInstanceExtensionProperties', 'vkGetDeviceProcAddr',
                 'vkDeviceWaitIdle', 'vkQueueWaitIdle', 'vkGetDeviceQueue',
                 'vkGetMemoryHostPointerPropertiesEXT']
        for cmd in self.forwarded():
            if cmd.name not in names:
                names.append(cmd.name)
        for handle in sorted(self.reg.handles):
            d = self.destroy_command(handle)
            if d and d not in names:
                names.append(d)
        return names

    def emit_loader(self, w):
        w('void pv_vk_table_load(struct pv_vk_table *t, PFN_vkGetInstanceProcAddr gipa, '
          'VkInstance instance)')
        w('{')
        w.depth += 1
        w('PFN_vkVoidFunction f;')
        for name in self.table_names():
            # The first name the loader answers is kept: an old loader answers any name it
            # does not know with a trampoline to the device's entry of that very name, which
            # a driver gives only for extensions the guest enabled. The guest enabled those
            # of its protocol, so their names go first.
            names = self.m.host_names(name)
            w('f = gipa(instance, "%s");' % names[0])
            for a in names[1:]:
                w('if (!f)')
                w('   f = gipa(instance, "%s");' % a)
            w('t->%s = (PFN_%s)f;' % (name, name))
        w.end()
        w()

    def destroy_command(self, handle):
        """The vkDestroy*/vkFree* taking (parent, handle, allocator), if there is one."""
        if not self.m.type_allowed(handle):
            return None
        base = handle[2:]
        for name in ('vkDestroy' + base, 'vkFree' + base.replace('Device', '', 1)):
            cmd = self.reg.commands.get(name)
            if cmd and len(cmd.params) == 3 and cmd.params[1].type == handle and \
                    cmd.params[2].type == 'VkAllocationCallbacks':
                return name
        return None

    def emit_destroy_object(self, w):
        w('bool pv_vk_destroy_object(const struct pv_vk_table *vk, VkObjectType type, '
          'uint64_t handle, uint64_t parent)')
        w('{')
        w.depth += 1
        w('switch ((int)type) {')
        for handle in sorted(self.reg.handles):
            name = self.destroy_command(handle)
            if not name or handle in ('VkInstance', 'VkDevice'):
                continue
            parent = self.reg.commands[name].params[0].type
            w('case %s:' % self.reg.handles[handle])
            w('   if (!vk->%s)' % name)
            w('      return false;')
            w('   vk->%s((%s)(uintptr_t)parent, (%s)(uintptr_t)handle, NULL);' % (
                name, parent, handle))
            w('   return true;')
        w('default:')
        w('   return false;')
        w('}')
        w.end()
        w()

    def forwarded(self):
        """The commands a host driver has, in id order."""
        return [cmd for _, cmd in sorted(self.m.commands.items())
                if not self.m.is_transport(cmd.name)]

    def emit_handlers(self, w):
        for cmd in self.forwarded():
            kind = self.kind(cmd)
            w('static void pv_forward_%s(struct pv_venus_dispatch *d, struct pv_cmd_%s *args)'
              % (cmd.name, cmd.name))
            w('{')
            w.depth += 1
            w('const struct pv_vk_table *vk = pv_render_vk(d);')
            w('if (!vk || !vk->%s) {' % cmd.name)
            w('   pv_cs_fail(d->reader, "%s: %%s", vk ? "the host driver lacks it" : '
              '"before vkCreateInstance");' % cmd.name)
            w('   return;')
            w('}')
            ret = 'args->ret = ' if cmd.return_type != 'void' else ''
            first = cmd.items[0]
            parent = self.codec.rt(first.type) if first.kind == 'handle' else None
            parent_expr = self.handle_u64('args->%s' % first.name) if parent else '0'
            if kind == 'create':
                self.emit_create(w, cmd, ret, parent_expr)
            elif kind == 'destroy':
                w('%svk->%s(%s);' % (ret, cmd.name, self.call_args(cmd)))
                w('pv_render_unbind(d, args->%s_id);' % cmd.items[1].name)
            elif kind == 'free':
                arr = cmd.items[3]
                w('%svk->%s(%s);' % (ret, cmd.name, self.call_args(cmd)))
                w('for (uint32_t i = 0; args->%s_ids && i < args->%s; i++)' % (
                    arr.name, cmd.items[2].name))
                w('   pv_render_unbind(d, args->%s_ids[i]);' % arr.name)
            elif kind == 'reset':
                w('%svk->%s(%s);' % (ret, cmd.name, self.call_args(cmd)))
                w('pv_render_reset(d, args->%s_id);' % cmd.items[1].name)
            else:
                w('%svk->%s(%s);' % (ret, cmd.name, self.call_args(cmd)))
            w.end()
            w()
        w('void pv_render_forward_init(struct pv_venus_handlers *h)')
        w('{')
        w.depth += 1
        for cmd in self.forwarded():
            w('h->%s = pv_forward_%s;' % (cmd.name, cmd.name))
        w.end()
        w()

    def emit_create(self, w, cmd, ret, parent_expr):
        """The guest's ids are reserved before the host call, so that a clashing id fails
        the stream without a host object nobody would destroy. At the objects limit a
        create with a result answers VK_ERROR_OUT_OF_HOST_MEMORY."""
        ret_ptr = '&args->ret' if ret else 'NULL'
        out = cmd.items[-1]
        handle = self.codec.rt(out.type)
        objtype = self.reg.handles[handle]
        pool = POOL_OF.get(cmd.name)
        pool_expr = self.handle_u64('args->%s' % pool) if pool else '0'
        w('if (!args->%s) {' % out.name)
        w('   pv_cs_fail(d->reader, "%s: no id for the new object");' % cmd.name)
        w('   return;')
        w('}')
        if out.kind == 'pointer':
            w('const uint64_t id = %s;' % self.handle_u64('*args->%s' % out.name))
            w('if (!pv_render_reserve(d, &id, 1, %s))' % ret_ptr)
            w('   return;')
            w('%s host = VK_NULL_HANDLE;' % out.type)
            w('%svk->%s(%s);' % (ret, cmd.name, self.call_args(cmd, '&host')))
            w('pv_render_commit(d, %s, id, %s, %s, %s);' % (
                objtype, self.handle_u64('host'), parent_expr, pool_expr))
            return
        count = out.count.replace('{p}', 'args->')
        w('const uint64_t n = (uint64_t)(%s);' % count)
        w('%s *host = pv_cs_alloc_array(d->reader, n, sizeof(*host));' % out.type)
        w('uint64_t *ids = pv_cs_alloc_array(d->reader, n, sizeof(*ids));')
        w('if (!host || !ids)')
        w('   return;')
        w('for (uint64_t i = 0; i < n; i++)')
        w('   ids[i] = %s;' % self.handle_u64('args->%s[i]' % out.name))
        w('if (!pv_render_reserve(d, ids, n, %s))' % ret_ptr)
        w('   return;')
        w('%svk->%s(%s);' % (ret, cmd.name, self.call_args(cmd, 'host')))
        w('for (uint64_t i = 0; i < n; i++)')
        w('   pv_render_commit(d, %s, ids[i], %s, %s, %s);' % (
            objtype, self.handle_u64('host[i]'), parent_expr, pool_expr))
