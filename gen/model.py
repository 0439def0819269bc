"""Which commands, structs and extensions PearVisor's Venus decoder carries, and how each
struct member or command parameter travels on the wire."""

import re

# Extensions the protocol knows and the decoder could carry but PearVisor does not offer: the
# guest could only use them to share memory or sync objects as fds with other processes, which
# needs host support we do not have (no dma-buf export on our hosts; NVIDIA's opaque fds are
# not mappable, and lavapipe's start with a 4 KiB header).
_FDS = 'would hand the guest fds we cannot back (docs/protocol/venus.md §10)'
DENIED_EXTENSIONS = {
    'VK_KHR_external_memory_fd': _FDS, 'VK_EXT_external_memory_dma_buf': _FDS,
    'VK_KHR_external_semaphore_fd': _FDS, 'VK_KHR_external_fence_fd': _FDS,
    'VK_EXT_image_drm_format_modifier': 'only meaningful with dma-buf, which we do not offer',
}

# The protocol's own extensions: the transport itself, with nothing to offer an application.
PROTOCOL_EXTENSIONS = {'VK_EXT_command_serialization', 'VK_MESA_venus_protocol'}

# Commands the stock guest never sends (docs/protocol/venus.md §12): decoding them would only add
# attack surface, so they stay "not supported" and are fatal if they arrive.
NEVER_SENT = {
    'vkGetDeviceQueue', 'vkQueueWaitIdle', 'vkDeviceWaitIdle', 'vkMapMemory', 'vkUnmapMemory',
    'vkFlushMappedMemoryRanges', 'vkInvalidateMappedMemoryRanges', 'vkGetInstanceProcAddr',
    'vkGetDeviceProcAddr', 'vkEnumerateInstanceLayerProperties',
    'vkEnumerateDeviceLayerProperties', 'vkGetMemoryFdKHR', 'vkGetMemoryFdPropertiesKHR',
    'vkUpdateDescriptorSetWithTemplate', 'vkCmdPushDescriptorSetWithTemplateKHR',
    'vkCreateDescriptorUpdateTemplate', 'vkDestroyDescriptorUpdateTemplate',
}

NEVER_SENT_REASON = 'never sent by the guest'
MESA_ONLY_REASON = 'sync-file and resource paths are not reachable over vtest'

# Unions the protocol carries, with their tag -> member (docs/protocol/venus.md §4).
UNIONS = {'VkClearColorValue', 'VkClearValue'}


class Unsupported(Exception):
    pass


class Item:
    """How one struct member or command parameter is carried.

    kind: stype | pnext | scalar | handle | struct | union | fixed | string | strings |
          blob | array | pointer | allocator
    elem: for fixed/array/pointer: scalar | handle | struct | char | u8
    wire: u32 | u64 | f32 (scalars)
    count: C expression (with {p} for the owner prefix) for arrays and fixed arrays
    output: carried as an output (partial on the way in, full in the reply)
    """

    def __init__(self, member, kind, elem=None, wire=None, count=None, output=False):
        self.m = member
        self.name = member.name
        self.type = member.type
        self.kind = kind
        self.elem = elem
        self.wire = wire
        self.count = count
        self.output = output


class Model:
    def __init__(self, reg, command_ids, venus_extensions, protocol_version):
        """protocol_version: the vk.xml version the guest's protocol was generated from."""
        self.reg = reg
        self.command_ids = command_ids          # id -> [names]
        self.venus_extensions = venus_extensions  # name -> (number, spec version)
        if reg.api_version() < protocol_version:
            raise SystemExit('pv_gen: vk.xml %d.%d.%d is older than the guest protocol\'s '
                             '%d.%d.%d; it cannot describe what the guest sends' % (
                                 reg.api_version() + protocol_version))
        # A newer registry's later core versions are no part of the guest's protocol: their
        # structs and commands reach us only through the extensions they were promoted from.
        self.core_features = {n for n, v in reg.core_version.items()
                              if v <= protocol_version[:2]}
        self.command_id_of = {}                 # resolved command name -> id
        for cid, names in command_ids.items():
            for n in names:
                self.command_id_of[reg.resolve_command(n)] = cid
        self.extension_status = {}              # protocol extension -> why not carried, or None
        candidates = {}
        for name, (number, spec) in venus_extensions.items():
            self.extension_status[name] = self._not_candidate(name)
            if self.extension_status[name] is None:
                candidates[name] = (number, spec)
        # Whether one extension can be carried may depend on another (a command of one takes
        # a struct of the other), so drop what cannot be carried until the rest can.
        while True:
            self._build(candidates)
            dropped = self._uncarried()
            if not dropped:
                break
            for name, why in dropped.items():
                del candidates[name]
                self.extension_status[name] = why

    def _build(self, mask):
        self.mask_extensions = dict(mask)       # name -> (number, spec version): the capset
        self.unsupported = {}                   # struct name -> reason
        self._items = {}
        self.allowed_types, self.allowed_commands = self._allowed()
        self.commands = {}                      # id -> Command (supported)
        self.command_status = {}                # id -> (name, reason or None)
        for cid, names in sorted(self.command_ids.items()):
            self._add_command(cid, names)
        self.input_structs, self.output_structs = self._reachable()

    # --- extensions and gating --------------------------------------------------------
    def _not_candidate(self, name):
        if name in PROTOCOL_EXTENSIONS:
            return 'the Venus transport itself, nothing for applications'
        if name in DENIED_EXTENSIONS:
            return DENIED_EXTENSIONS[name]
        if name not in self.reg.extensions:
            return 'not in vk.xml %d.%d.%d' % self.reg.api_version()
        if not self.reg.extensions[name][3]:
            return 'not a Vulkan extension in vk.xml'
        return None

    def _uncarried(self):
        """Extensions of the mask the decoder cannot carry whole -> why: a command the guest
        would send, or a struct it could chain where we decode, that is not generated."""
        dropped = {}
        reachable = self.input_structs | self.output_structs
        for name in sorted(self.mask_extensions):
            _, types, cmds, _ = self.reg.extensions[name]
            for c in sorted(cmds):
                cid = self.command_id_of.get(self.reg.resolve_command(c))
                why = self.command_status[cid][1] if cid is not None else None
                if why and why not in (NEVER_SENT_REASON, MESA_ONLY_REASON):
                    dropped.setdefault(name, 'command %s: %s' % (c, why))
            for t in sorted(types):
                s = self.reg.structs.get(self.reg.resolve_type(t))
                if not s or not s.stype or \
                        not any(self.reg.resolve_type(e) in reachable for e in s.extends):
                    continue
                try:
                    self.items(s.name)
                except Unsupported as e:
                    dropped.setdefault(name, 'struct %s' % e)
        return dropped

    def _allowed(self):
        """Types and commands a correct guest can send: those of the protocol's core versions,
        of the extensions in our mask, and of the transport (never offered, always spoken)."""
        types, commands = set(), set()
        for name in self.core_features:
            types |= self.reg.core[name][0]
            commands |= self.reg.core[name][1]
        for name in sorted(PROTOCOL_EXTENSIONS & set(self.reg.extensions)) + \
                sorted(self.mask_extensions):
            types |= self.reg.extensions[name][1]
            commands |= self.reg.extensions[name][2]
        return types, commands

    def type_allowed(self, name):
        return name in self.allowed_types or \
            any(a in self.allowed_types for a in self.reg.type_aliases_of(name))

    def command_allowed(self, name):
        return name in self.allowed_commands or \
            any(a in self.allowed_commands for a in self.reg.command_aliases_of(name))

    def is_transport(self, command_name):
        """A command of the Venus transport itself: the renderer handles it, no host driver
        has it."""
        return self.reg.command_origin.get(command_name) in PROTOCOL_EXTENSIONS

    def host_names(self, name):
        """The names to load a host entry point by, best first: the host instance is of a core
        version the protocol knows, so a newer core name is the last resort, after the names
        of the extensions the guest can have enabled."""
        def rank(n):
            if n in self.allowed_commands:
                origin = self.reg.command_origin.get(n)
                return 0 if origin in self.core_features else 1
            return 2 if self.reg.command_origin.get(n) in self.reg.extensions else 3
        return sorted([name] + self.reg.command_aliases_of(name), key=rank)

    def extenders(self, struct_name):
        """Structs a guest may chain into struct_name's pNext, in registry order."""
        out = []
        for s in self.reg.structs.values():
            if struct_name in s.extends and s.stype and self.type_allowed(s.name):
                try:
                    self.items(s.name)
                except Unsupported:
                    continue
                out.append(s)
        return out

    # --- commands ---------------------------------------------------------------------
    def _add_command(self, cid, names):
        primary = None
        for n in names:
            r = self.reg.resolve_command(n)
            if r in self.reg.commands:
                primary = r
                break
        if primary is None:
            self.command_status[cid] = (names[0], 'not in this vk.xml' if not names[0].endswith(
                'MESA') else MESA_ONLY_REASON)
            return
        if primary in NEVER_SENT or any(n in NEVER_SENT for n in names):
            self.command_status[cid] = (names[0], NEVER_SENT_REASON)
            return
        if not self.command_allowed(primary):
            self.command_status[cid] = (names[0], 'extension not offered')
            return
        cmd = self.reg.commands[primary]
        try:
            cmd.items = self.param_items(cmd)
        except Unsupported as e:
            self.command_status[cid] = (names[0], 'not decodable: %s' % e)
            return
        cmd.id = cid
        self.commands[cid] = cmd
        self.command_status[cid] = (names[0], None)

    def param_items(self, cmd):
        items = []
        names = {p.name: p for p in cmd.params}
        for p in cmd.params:
            items.append(self._classify(p, names, 'args->', top=True))
        return items

    # --- structs ----------------------------------------------------------------------
    def items(self, struct_name):
        if struct_name in self._items:
            if isinstance(self._items[struct_name], Unsupported):
                raise self._items[struct_name]
            return self._items[struct_name]
        s = self.reg.structs[struct_name]
        self._items[struct_name] = Unsupported('%s (recursive)' % struct_name)
        try:
            if s.is_union and struct_name not in UNIONS:
                raise Unsupported('union %s' % struct_name)
            names = {m.name: m for m in s.members}
            result = [] if s.is_union else \
                [self._classify(m, names, 'v->', top=False) for m in s.members]
        except Unsupported as e:
            self._items[struct_name] = Unsupported('%s: %s' % (struct_name, e))
            self.unsupported[struct_name] = str(e)
            raise self._items[struct_name]
        self._items[struct_name] = result
        return result

    def _len_expr(self, length, names, prefix):
        """C expression for a vk.xml len/altlen, reading members through prefix."""
        if length.startswith('latexmath'):
            raise Unsupported('latexmath length without altlen')
        m = re.fullmatch(r'(\w+)->(\w+)', length)
        if m:
            if m.group(1) not in names:
                raise Unsupported('length %s' % length)
            return '(%s%s ? %s%s->%s : 0)' % (prefix, m.group(1), prefix, m.group(1), m.group(2))
        if length in names:
            ref = names[length]
            if ref.pointer_depth:
                return '(%s%s ? *%s%s : 0)' % (prefix, length, prefix, length)
            return '%s%s' % (prefix, length)

        def repl(tok):
            word = tok.group(0)
            if word in names:
                return prefix + word
            if word in self.reg.constants or word.isdigit():
                return word
            raise Unsupported('length %s' % length)
        return re.sub(r'[A-Za-z_]\w*|\d+', repl, length)

    def _fixed_len(self, dims):
        if len(dims) != 1 or dims[0] == '?':
            raise Unsupported('multi-dimensional array')
        return dims[0]

    def _classify(self, m, names, prefix, top):
        reg = self.reg
        t = reg.resolve_type(m.type)
        kind = reg.wire_kind(t)
        if m.name == 'sType' and m.values:
            return Item(m, 'stype')
        if m.name == 'pNext':
            return Item(m, 'pnext')
        if t == 'VkAllocationCallbacks':
            return Item(m, 'allocator')
        if kind is None:
            raise Unsupported('type %s of %s' % (m.type, m.name))
        if kind in ('struct', 'union'):
            self.items(t)  # raises when the struct cannot be carried
            if not self.type_allowed(t):
                raise Unsupported('struct %s is from an extension not offered' % t)
        elem = {'u32': 'scalar', 'u64': 'scalar', 'f32': 'scalar', 'handle': 'handle',
                'struct': 'struct', 'union': 'union', 'char': 'char', 'void': 'void'}[kind]
        if t == 'uint8_t':
            elem_fixed = 'u8'
        else:
            elem_fixed = elem
        wire = kind if kind in ('u32', 'u64', 'f32') else None

        if m.fixed_dims:
            if m.pointer_depth:
                raise Unsupported('array of pointers %s' % m.name)
            count = self._fixed_len(m.fixed_dims)
            return Item(m, 'fixed', elem=elem_fixed, wire=wire, count=count,
                        output=top and not m.is_const)
        if m.pointer_depth == 0:
            if kind == 'void' or kind == 'char':
                raise Unsupported('plain %s' % t)
            return Item(m, elem if elem in ('struct', 'union', 'handle') else 'scalar', wire=wire)
        output = not m.is_const
        if m.pointer_depth == 2:
            if t == 'char' and m.len and m.len.endswith('null-terminated'):
                count = self._len_expr(m.len.split(',')[0], names, prefix)
                return Item(m, 'strings', count=count)
            raise Unsupported('double pointer %s' % m.name)
        if t == 'char':
            if m.len == 'null-terminated' or (m.len or '').endswith('null-terminated'):
                return Item(m, 'string')
            raise Unsupported('char pointer %s' % m.name)
        if kind == 'void':
            if not m.len:
                raise Unsupported('untyped pointer %s' % m.name)
            return Item(m, 'blob', count=self._len_expr(m.len.split(',')[0], names, prefix),
                        output=output)
        if m.len:
            first = m.len.split(',')[0]
            if first == 'null-terminated':
                raise Unsupported('null-terminated %s' % m.name)
            return Item(m, 'array', elem=elem_fixed if elem_fixed == 'u8' else elem, wire=wire,
                        count=self._len_expr(first, names, prefix), output=output)
        return Item(m, 'pointer', elem=elem, wire=wire, output=output)

    # --- reachability -----------------------------------------------------------------
    def _reachable(self):
        inputs, outputs = set(), set()

        def visit(struct_name, out):
            target = outputs if out else inputs
            if struct_name in target:
                return
            target.add(struct_name)
            if struct_name in UNIONS:
                for sub in ('VkClearColorValue', 'VkClearDepthStencilValue'):
                    if struct_name == 'VkClearValue':
                        visit(sub, out)
                return
            s = self.reg.structs[struct_name]
            if s.has_pnext:
                for ext in self.extenders(struct_name):
                    visit(ext.name, out)
            for it in self.items(struct_name):
                if it.elem in ('struct', 'union') or it.kind in ('struct', 'union'):
                    visit(self.reg.resolve_type(it.type), out or it.output)

        for cmd in self.commands.values():
            for it in cmd.items:
                if it.elem in ('struct', 'union') or it.kind in ('struct', 'union'):
                    visit(self.reg.resolve_type(it.type), it.output)
        return inputs, outputs

    def struct(self, name):
        return self.reg.structs[name]


def read_command_ids(path):
    ids = {}
    with open(path) as f:
        for line in f:
            if line.startswith('#') or not line.strip():
                continue
            cid, name = line.rstrip('\n').split('\t')[:2]
            ids.setdefault(int(cid), []).append(name)
    return ids


def read_extensions(path):
    exts = {}
    with open(path) as f:
        for line in f:
            if line.startswith('#') or not line.strip():
                continue
            number, name, spec = line.rstrip('\n').split('\t')[:3]
            exts[name] = (int(number), int(spec))
    return exts
