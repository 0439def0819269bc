"""Emits the Venus decoders (guest -> host) and reply encoders (host -> guest) as C."""

import re

from model import UNIONS

# Command families, each with a codec file of its own: its commands' decoders, reply encoders
# and exec functions, and the struct codecs no other family reaches. A command belongs to the
# first family whose pattern its name matches.
FAMILIES = [
    ('transport', r'MESA$'),
    ('command_buffer', r'^vkCmd|CommandBuffer|CommandPool'),
    ('instance', r'Instance|PhysicalDevice|EnumerateDevice'),
    ('sync', r'Fence|Semaphore|Event'),
    ('pipeline', r'Pipeline|Shader|Descriptor|Sampler|RenderPass|Framebuffer|Render(ing)?Area'),
    ('memory', r'Memory|Buffer|Image|Quer'),
    ('device', r''),
]
# Where the struct codecs reached by several families go, once.
SHARED = 'shared'


def family_of(command_name):
    return next(f for f, pattern in FAMILIES if re.search(pattern, command_name))


class Writer:
    def __init__(self):
        self.lines = []
        self.depth = 0

    def __call__(self, line=''):
        self.lines.append(('   ' * self.depth + line) if line else '')

    def block(self, head):
        self(head + ' {')
        self.depth += 1

    def end(self, tail='}'):
        self.depth -= 1
        self(tail)

    def text(self):
        return '\n'.join(self.lines) + '\n'


class Function:
    """One generated C function: its signature (no storage class) and its body."""

    def __init__(self, signature):
        self.signature = signature
        self.name = re.match(r'.*?(\w+)\(', signature).group(1)
        self.body = Writer()
        self.body.depth = 1

    def calls(self, defined):
        """The generated functions this one calls: names of `defined` in its body."""
        return {n for n in CALL.findall(self.body.text()) if n in defined and n != self.name}

    def emit(self, w, storage='static '):
        w(storage + self.signature)
        w('{')
        w.lines.extend(self.body.lines)
        w('}')
        w()


# A call of a generated function, as the codec writes them.
CALL = re.compile(r'\b(pv_(?:decode|encode|exec|check)_\w+)\(')


class Codec:
    def __init__(self, model):
        self.m = model
        self.reg = model.reg
        self._loop = 0
        self.functions = {}  # name -> Function, in the order they were defined

    def define(self, signature):
        """Starts a function; returns the writer of its body."""
        f = Function(signature)
        self.functions[f.name] = f
        return f.body

    def live_functions(self, roots):
        """The functions reachable from roots through calls, in definition order: nothing
        else is emitted, so the compiler's unused-function warning proves the graph right."""
        live, todo = set(), list(roots)
        while todo:
            name = todo.pop()
            if name not in live:
                live.add(name)
                todo.extend(self.functions[name].calls(self.functions))
        return [f for n, f in self.functions.items() if n in live]

    # --- helpers ------------------------------------------------------------------------
    def rt(self, name):
        return self.reg.resolve_type(name)

    def objtype(self, handle_type):
        return self.reg.handles[self.rt(handle_type)]

    def var(self):
        self._loop += 1
        return 'i%d' % self._loop

    def stype_enum(self, struct_name):
        return self.m.struct(struct_name).stype

    # --- scalar / element reads ---------------------------------------------------------
    def read_scalar(self, w, it, target, check=True):
        """Reads a scalar into target; an input enum or bitmask (check) must also hold a
        value vk.xml defines for its type, as the spec's implicit valid usage says: drivers
        index tables by these, so a guest's made-up value is refused here instead."""
        t = it.type
        if it.wire == 'f32':
            w('%s = pv_cs_read_f32(r);' % target)
            return
        fn = 'pv_cs_read_u64' if it.wire == 'u64' else 'pv_cs_read_u32'
        w('%s = (%s)%s(r);' % (target, t, fn))
        checker = self.value_checker(it) if check and not it.m.noautovalidity else None
        if checker:
            # optional="true" lets a member be 0 even where 0 is no value of its type (a
            # *FlagBits member naming none).
            optional = it.m.optional.split(',')[0] == 'true'
            if optional:
                w('if (%s)' % target)
            w('%s%s(r, %s, "%s");' % ('   ' if optional else '', checker, target, it.name))

    def value_checker(self, it):
        """The name of the function checking it's value, defined on first use; None for a
        type without defined values (plain numbers, bitmasks whose bits vk.xml leaves out)."""
        t = self.rt(it.type)
        bits = self.reg.bitmask_flagbits.get(t)
        if t not in self.reg.enum_values and bits not in self.reg.flag_bits:
            return None
        name = 'pv_check_%s' % t
        if name in self.functions:
            return name
        if bits:
            mask = self.reg.flag_bits[bits]
            w = self.define('void %s(struct pv_cs_reader *r, uint64_t v, const char *what)' %
                            name)
            w('const uint64_t unknown = v & ~UINT64_C(%#x);' % mask)
            w('if (unknown)')
            w('   pv_cs_fail(r, "%%s: bits 0x%%llx are not %s bits", what, '
              '(unsigned long long)unknown);' % t)
            return name
        w = self.define('void %s(struct pv_cs_reader *r, int32_t v, const char *what)' % name)
        conditions = self.value_ranges(self.reg.enum_values[t])
        for i, condition in enumerate(conditions):
            last = i == len(conditions) - 1
            w('%s%s%s' % ('    ' if i else 'if (', condition, ')' if last else ' ||'))
        w('   return;')
        w('pv_cs_fail(r, "%%s: %%d is not a %s value", what, (int)v);' % t)
        return name

    @staticmethod
    def value_ranges(values):
        """C conditions on v covering the sorted values, one per run of consecutive ones."""
        ordered, runs = sorted(values), []
        for v in ordered:
            if runs and v == runs[-1][1] + 1:
                runs[-1][1] = v
            else:
                runs.append([v, v])
        return ['v == %d' % lo if lo == hi else '(v >= %d && v <= %d)' % (lo, hi)
                for lo, hi in runs]

    @staticmethod
    def null_allowed(it):
        """Whether vk.xml lets this handle be VK_NULL_HANDLE: optional="a,b" says it for a
        single handle (a) or for an array's elements (b); noautovalidity leaves it to rules
        the registry cannot express, so 0 passes there too. A handle that must be valid and
        arrives as 0 fails the stream instead of reaching the loader or the driver."""
        parts = it.m.optional.split(',')
        if it.kind in ('array', 'fixed', 'pointer'):
            return it.m.noautovalidity or (len(parts) > 1 and parts[1] == 'true')
        return it.m.noautovalidity or parts[0] == 'true'

    @staticmethod
    def array_size(it, count):
        """Reads an array's size. An array vk.xml does not mark optional must be there
        whenever its count is non-zero (noautovalidity again leaves it to other rules)."""
        if it.m.noautovalidity or it.m.optional.split(',')[0] == 'true':
            return 'pv_cs_read_array_size(r, (uint64_t)(%s))' % count
        return 'pv_cs_read_required_array_size(r, (uint64_t)(%s), "%s")' % (count, it.name)

    def translate(self, it, id_expr):
        """The expression translating an id already read into it's host handle."""
        if self.null_allowed(it):
            return 'pv_cs_translate(r, %s, %s)' % (id_expr, self.objtype(it.type))
        return 'pv_cs_translate_required(r, %s, %s, "%s")' % (id_expr, self.objtype(it.type),
                                                              it.name)

    def read_element(self, w, it, target, partial, translate=True, ids=None):
        """One array element (or pointee) of it's element kind into target (an lvalue)."""
        elem = it.elem if it.kind in ('array', 'fixed', 'pointer') else it.kind
        if elem == 'scalar':
            if not partial:
                self.read_scalar(w, it, target)
        elif elem == 'handle':
            if partial or not translate:
                w('%s = (%s)(uintptr_t)pv_cs_read_u64(r);' % (target, it.type))
            elif ids:
                w('%s = pv_cs_read_u64(r);' % ids)
                w('%s = (%s)(uintptr_t)%s;' % (target, it.type, self.translate(it, ids)))
            elif self.null_allowed(it):
                w('%s = (%s)(uintptr_t)pv_cs_read_handle(r, %s);' % (
                    target, it.type, self.objtype(it.type)))
            else:
                w('%s = (%s)(uintptr_t)%s;' % (target, it.type,
                                               self.translate(it, 'pv_cs_read_u64(r)')))
        elif elem in ('struct', 'union'):
            w('pv_decode_%s%s(r, &%s);' % (self.rt(it.type), '_partial' if partial else '',
                                          target))
        else:
            raise AssertionError(elem)

    # --- decoding one item ---------------------------------------------------------------
    def decode_item(self, w, it, prefix, partial, top=False, count_members=()):
        """Decodes struct member / command parameter `it` into prefix+name."""
        lv = prefix + it.name
        k = it.kind
        if k == 'allocator':
            w('if (pv_cs_read_u64(r) != 0)')
            w('   pv_cs_fail(r, "%s: allocation callbacks cannot cross the wire");' % it.name)
            return
        if k in ('scalar',):
            if partial and it.name not in count_members:
                w('/* %s: output */' % it.name)
                return
            self.read_scalar(w, it, lv, check=not partial)
            return
        if k == 'handle':
            if top:
                w('%s_id = pv_cs_read_u64(r);' % lv)
                w('%s = (%s)(uintptr_t)%s;' % (lv, it.type, self.translate(it, lv + '_id')))
            else:
                self.read_element(w, it, lv, partial)
            return
        if k in ('struct', 'union'):
            self.read_element(w, it, lv, partial)
            return
        if k == 'fixed':
            if it.elem == 'char':
                if partial:
                    w('/* %s: output */' % it.name)
                else:
                    w('pv_cs_read_char_array(r, %s, %s);' % (lv, it.count))
                return
            if it.elem == 'u8' or (it.elem == 'scalar' and partial):
                if partial:
                    w('/* %s: output */' % it.name)
                    return
            w('pv_cs_read_fixed_array_size(r, %s);' % it.count)
            if it.elem == 'u8':
                w('pv_cs_read_bytes(r, %s, %s);' % (lv, it.count))
                return
            i = self.var()
            w('for (uint32_t %s = 0; %s < %s && !r->failed; %s++) {' % (i, i, it.count, i))
            w.depth += 1
            self.read_element(w, it, '%s[%s]' % (lv, i), partial)
            w.end()
            return
        if k == 'string':
            if partial:
                raise AssertionError('output string')
            w('%s = pv_cs_read_string(r);' % lv)
            return
        count = it.count.replace('{p}', prefix) if it.count else None
        if k == 'strings':
            w('{')
            w.depth += 1
            w('uint64_t n = %s;' % self.array_size(it, count))
            w('const char **a = pv_cs_alloc_array(r, n, sizeof(*a));')
            w('for (uint64_t i = 0; a && i < n && !r->failed; i++)')
            w('   a[i] = pv_cs_read_string(r);')
            w('%s = a;' % lv)
            w.end()
            return
        if k == 'blob':
            w('{')
            w.depth += 1
            w('uint64_t n = %s;' % self.array_size(it, count))
            w('uint8_t *a = pv_cs_alloc_array(r, n, 1);')
            if not (partial or it.output):
                w('if (a)')
                w('   pv_cs_read_bytes(r, a, n);')
            w('%s = a;' % lv)
            w.end()
            return
        out = partial or it.output
        if k == 'array':
            w('{')
            w.depth += 1
            w('uint64_t n = %s;' % self.array_size(it, count))
            ctype = 'uint8_t' if it.elem == 'u8' else it.type
            w('%s *a = pv_cs_alloc_array(r, n, sizeof(*a));' % ctype)
            ids = None
            if top and it.elem == 'handle' and not out:
                w('uint64_t *ids = pv_cs_alloc_array(r, n, sizeof(*ids));')
                w('%s_ids = ids;' % lv)
                ids = 'ids[i]'
            if it.elem == 'u8':
                if not out:
                    w('if (a)')
                    w('   pv_cs_read_bytes(r, a, n);')
            elif not (out and it.elem == 'scalar'):
                w('for (uint64_t i = 0; a && i < n && !r->failed; i++) {')
                w.depth += 1
                self.read_element(w, it, 'a[i]', out and it.elem != 'handle',
                                  translate=not out, ids=ids)
                w.end()
            w('%s = a;' % lv)
            w.end()
            return
        if k == 'pointer':
            # vk.xml's optional="a,b": a is about the pointer itself. Outputs count too:
            # a NULL where the host driver writes would crash it.
            required = top and it.m.optional.split(',')[0] != 'true' and \
                not it.m.noautovalidity
            w('if (pv_cs_read_pointer(r)) {')
            w.depth += 1
            w('%s *a = pv_cs_alloc_array(r, 1, sizeof(*a));' % it.type)
            w('if (a) {')
            w.depth += 1
            if out and it.elem == 'scalar':
                if top and it.name in count_members:
                    self.read_scalar(w, it, '*a', check=False)
            else:
                self.read_element(w, it, '*a', out and it.elem != 'handle', translate=not out)
            w.end()
            w('%s = a;' % lv)
            if required:
                w.depth -= 1
                w('} else {')
                w('   pv_cs_fail(r, "%s must not be NULL");' % it.name)
                w('}')
            else:
                w.end()
            return
        raise AssertionError(k)

    def count_members(self, items):
        """Names that give the length of an array among items (inputs even in outputs)."""
        names = set()
        for it in items:
            if it.kind in ('array', 'blob', 'strings') and it.m.len:
                first = it.m.len.split(',')[0]
                names.add(first)
        return names

    # --- struct decoders -------------------------------------------------------------------
    def struct_decoders(self, name, partial):
        s = self.m.struct(name)
        sfx = '_partial' if partial else ''
        if name in UNIONS:
            return
        items = self.m.items(name)
        counts = self.count_members(items)
        w = self.define('void pv_decode_%s_self%s(struct pv_cs_reader *r, %s *v)' % (
            name, sfx, name))
        body = [it for it in items if it.kind not in ('stype', 'pnext')]
        if not body:
            w('(void)r;')
            w('(void)v;')
        for it in body:
            self.decode_item(w, it, 'v->', partial, count_members=counts)
        w = self.define('void pv_decode_%s%s(struct pv_cs_reader *r, %s *v)' % (name, sfx, name))
        if s.stype:
            w('pv_cs_read_stype(r, %s);' % s.stype)
            w('v->sType = %s;' % s.stype)
        if s.has_pnext:
            w('v->pNext = pv_decode_%s_pnext%s(r);' % (name, sfx))
        w('pv_decode_%s_self%s(r, v);' % (name, sfx))

    def pnext_decoder(self, name, partial):
        sfx = '_partial' if partial else ''
        exts = self.m.extenders(name)
        w = self.define('void *pv_decode_%s_pnext%s(struct pv_cs_reader *r)' % (name, sfx))
        w('if (!pv_cs_read_pointer(r) || !pv_cs_enter(r))')
        w('   return NULL;')
        w('void *result = NULL;')
        w('const VkStructureType stype = (VkStructureType)pv_cs_read_u32(r);')
        w('switch ((int)stype) {')
        for e in exts:
            w('case %s: {' % e.stype)
            w.depth += 1
            w('%s *v = pv_cs_alloc_array(r, 1, sizeof(*v));' % e.name)
            w('if (v) {')
            w('   v->sType = stype;')
            w('   v->pNext = pv_decode_%s_pnext%s(r);' % (name, sfx))
            w('   pv_decode_%s_self%s(r, v);' % (e.name, sfx))
            w('}')
            w('result = v;')
            w('break;')
            w.end()
        w('default:')
        w('   pv_cs_fail(r, "sType %%d cannot extend %s", (int)stype);' % name)
        w('   break;')
        w('}')
        w('pv_cs_leave(r);')
        w('return result;')

    # --- encoders ---------------------------------------------------------------------
    def write_element(self, w, it, expr):
        elem = it.elem if it.kind in ('array', 'fixed', 'pointer') else it.kind
        if elem == 'scalar':
            if it.wire == 'f32':
                w('pv_cs_write_f32(w, %s);' % expr)
            elif it.wire == 'u64':
                w('pv_cs_write_u64(w, (uint64_t)%s);' % expr)
            else:
                w('pv_cs_write_u32(w, (uint32_t)%s);' % expr)
        elif elem == 'handle':
            w('pv_cs_write_u64(w, (uint64_t)(uintptr_t)%s);' % expr)
        elif elem == 'struct':
            w('pv_encode_%s(w, &%s);' % (self.rt(it.type), expr))
        else:
            raise AssertionError(elem)

    def encode_item(self, w, it, prefix):
        v = prefix + it.name
        k = it.kind
        if k in ('scalar', 'handle', 'struct'):
            self.write_element(w, it, v)
        elif k == 'fixed':
            w('pv_cs_write_u64(w, %s);' % it.count)
            if it.elem in ('char', 'u8'):
                w('pv_cs_write_bytes(w, %s, %s);' % (v, it.count))
            else:
                i = self.var()
                w('for (uint32_t %s = 0; %s < %s; %s++)' % (i, i, it.count, i))
                w.depth += 1
                self.write_element(w, it, '%s[%s]' % (v, i))
                w.depth -= 1
        elif k == 'string':
            w('pv_cs_write_string(w, %s);' % v)
        elif k in ('array', 'blob', 'strings'):
            count = it.count.replace('{p}', prefix)
            w('if (%s) {' % v)
            w.depth += 1
            w('const uint64_t n = (uint64_t)(%s);' % count)
            w('pv_cs_write_u64(w, n);')
            if k == 'blob' or it.elem == 'u8':
                w('pv_cs_write_bytes(w, %s, n);' % v)
            elif k == 'strings':
                w('for (uint64_t i = 0; i < n; i++)')
                w('   pv_cs_write_string(w, %s[i]);' % v)
            else:
                w('for (uint64_t i = 0; i < n; i++) {')
                w.depth += 1
                self.write_element(w, it, '%s[i]' % v)
                w.end()
            w.depth -= 1
            w('} else {')
            w('   pv_cs_write_u64(w, 0);')
            w('}')
        elif k == 'pointer':
            w('pv_cs_write_u64(w, %s ? 1 : 0);' % v)
            w('if (%s) {' % v)
            w.depth += 1
            self.write_element(w, it, '(*%s)' % v)
            w.end()
        elif k == 'allocator':
            w('pv_cs_write_u64(w, 0);')
        else:
            raise AssertionError(k)

    def struct_encoders(self, name):
        s = self.m.struct(name)
        items = self.m.items(name)
        w = self.define('void pv_encode_%s_self(struct pv_cs_writer *w, const %s *v)' % (
            name, name))
        body = [it for it in items if it.kind not in ('stype', 'pnext')]
        if not body:
            w('(void)w;')
            w('(void)v;')
        for it in body:
            self.encode_item(w, it, 'v->')
        w = self.define('void pv_encode_%s(struct pv_cs_writer *w, const %s *v)' % (name, name))
        if s.stype:
            w('pv_cs_write_u32(w, (uint32_t)%s);' % s.stype)
        if s.has_pnext:
            w('pv_encode_%s_pnext(w, v->pNext);' % name)
        w('pv_encode_%s_self(w, v);' % name)

    def pnext_encoder(self, name):
        exts = self.m.extenders(name)
        w = self.define('void pv_encode_%s_pnext(struct pv_cs_writer *w, const void *p)' % name)
        w('for (const VkBaseInStructure *s = p; s; s = s->pNext) {')
        w.depth += 1
        w('switch ((int)s->sType) {')
        for e in exts:
            w('case %s:' % e.stype)
            w('   pv_cs_write_u64(w, 1);')
            w('   pv_cs_write_u32(w, (uint32_t)s->sType);')
            w('   pv_encode_%s_pnext(w, s->pNext);' % name)
            w('   pv_encode_%s_self(w, (const %s *)s);' % (e.name, e.name))
            w('   return;')
        w('default:')
        w('   break; /* not carried: the guest never asked for it */')
        w('}')
        w.end()
        w('pv_cs_write_u64(w, 0);')

    def union_decoders(self):
        """The two unions Venus carries: a u32 tag, then the chosen member."""
        if 'VkClearColorValue' in self.m.input_structs:
            w = self.define('void pv_decode_VkClearColorValue(struct pv_cs_reader *r, '
                            'VkClearColorValue *v)')
            w('/* float32, int32 and uint32 views are all 4 raw words */')
            w('const uint32_t tag = pv_cs_read_u32(r);')
            w('if (tag > 2) {')
            w('   pv_cs_fail(r, "VkClearColorValue tag %u", tag);')
            w('   return;')
            w('}')
            w('pv_cs_read_fixed_array_size(r, 4);')
            w('for (uint32_t i = 0; i < 4; i++)')
            w('   v->uint32[i] = pv_cs_read_u32(r);')
        if 'VkClearValue' in self.m.input_structs:
            w = self.define('void pv_decode_VkClearValue(struct pv_cs_reader *r, VkClearValue *v)')
            w('const uint32_t tag = pv_cs_read_u32(r);')
            w('if (tag == 0)')
            w('   pv_decode_VkClearColorValue(r, &v->color);')
            w('else if (tag == 1)')
            w('   pv_decode_VkClearDepthStencilValue(r, &v->depthStencil);')
            w('else')
            w('   pv_cs_fail(r, "VkClearValue tag %u", tag);')

    # --- whole struct section ------------------------------------------------------------
    def struct_codecs(self):
        """Decoders of every struct a command can take, decoders and encoders of every one
        it can return, whether or not a command reaches each function."""
        reg = self.reg
        inputs = sorted(self.m.input_structs)
        outputs = sorted(self.m.output_structs)
        self.union_decoders()
        for n in inputs:
            self.struct_decoders(n, False)
        for n in inputs:
            if reg.structs[n].has_pnext:
                self.pnext_decoder(n, False)
        for n in outputs:
            self.struct_decoders(n, True)
            self.struct_encoders(n)
        for n in outputs:
            if reg.structs[n].has_pnext:
                self.pnext_decoder(n, True)
                self.pnext_encoder(n)

    # --- commands ----------------------------------------------------------------------
    def arg_decl(self, it):
        m = it.m
        if it.kind == 'allocator':
            return ['const VkAllocationCallbacks *%s;' % m.name]
        if it.kind == 'fixed':
            return ['%s %s[%s];' % (m.type, m.name, it.count)]
        if it.kind == 'strings':
            return ['const char *const *%s;' % m.name]
        if m.pointer_depth:
            base = 'void' if it.kind == 'blob' else m.type
            const = 'const ' if m.is_const else ''
            decls = ['%s%s *%s;' % (const, base, m.name)]
            if it.kind == 'array' and it.elem == 'handle' and not it.output:
                decls.append('const uint64_t *%s_ids; /* guest ids of %s */' % (m.name, m.name))
            return decls
        decls = ['%s %s;' % (m.type, m.name)]
        if it.kind == 'handle':
            decls.append('uint64_t %s_id; /* guest id of %s */' % (m.name, m.name))
        return decls

    def emit_command_structs(self, w):
        for cid, cmd in sorted(self.m.commands.items()):
            w('struct pv_cmd_%s {' % cmd.name)
            w.depth += 1
            for it in cmd.items:
                for d in self.arg_decl(it):
                    w(d)
            if cmd.return_type != 'void':
                w('%s ret;' % cmd.return_type)
            w.end('};')
            w()

    def command_codecs(self):
        for cid, cmd in sorted(self.m.commands.items()):
            counts = set()
            for it in cmd.items:
                if it.m.len:
                    counts.add(it.m.len.split(',')[0])
            w = self.define('void pv_decode_cmd_%s(struct pv_cs_reader *r, '
                            'struct pv_cmd_%s *args)' % (cmd.name, cmd.name))
            for it in cmd.items:
                self.decode_item(w, it, 'args->', False, top=True, count_members=counts)
            w = self.define('void pv_encode_reply_%s(struct pv_cs_writer *w, '
                            'const struct pv_cmd_%s *args)' % (cmd.name, cmd.name))
            w('pv_cs_write_u32(w, %d);' % cid)
            if cmd.return_type != 'void':
                size = 8 if self.reg.wire_kind(cmd.return_type) == 'u64' else 4
                w('pv_cs_write_u%d(w, (uint%d_t)args->ret);' % (size * 8, size * 8))
            outs = [it for it in cmd.items if it.m.pointer_depth and not it.m.is_const]
            if not outs and cmd.return_type == 'void':
                w('(void)args;')
            for it in outs:
                if it.kind == 'pointer' and it.elem == 'struct':
                    w('pv_cs_write_u64(w, args->%s ? 1 : 0);' % it.name)
                    w('if (args->%s)' % it.name)
                    w('   pv_encode_%s(w, args->%s);' % (self.rt(it.type), it.name))
                else:
                    self.encode_item(w, it, 'args->')

    def exec_functions(self):
        """One function per command of the exec table: decode, handle, reply."""
        for cid, cmd in sorted(self.m.commands.items()):
            w = self.define('void pv_exec_%s(struct pv_venus_dispatch *d)' % cmd.name)
            w('struct pv_cmd_%s args;' % cmd.name)
            w('memset(&args, 0, sizeof(args));')
            w('pv_decode_cmd_%s(d->reader, &args);' % cmd.name)
            w('if (d->reader->failed)')
            w('   return;')
            w('if (d->handlers->%s)' % cmd.name)
            w('   d->handlers->%s(d, &args);' % cmd.name)
            w('if (!d->reader->failed && (d->command_flags & VK_COMMAND_GENERATE_REPLY_BIT_EXT)) {')
            w.depth += 1
            w('struct pv_cs_writer w;')
            w('if (pv_venus_reply_begin(d, &w)) {')
            w('   pv_encode_reply_%s(&w, &args);' % cmd.name)
            w('   pv_venus_reply_end(d, &w);')
            w('}')
            w.end()

    def exec_names(self):
        """The commands the exec table dispatches."""
        return [cmd.name for cmd in self.m.commands.values()]

    def split(self):
        """family (or SHARED) -> the functions its file defines, in definition order: what
        the exec functions of a family's commands reach goes to that family's file, unless
        another family reaches it too. Nothing unreached is emitted, so the compiler's
        unused-function warning proves the call graph right."""
        roots = {}
        for name in self.exec_names():
            roots.setdefault(family_of(name), []).append('pv_exec_%s' % name)
        owners = {}  # function name -> families reaching it
        for family, names in roots.items():
            for f in self.live_functions(names):
                owners.setdefault(f.name, set()).add(family)
        files = {family: [] for family, _ in FAMILIES}
        files[SHARED] = []
        for name, f in self.functions.items():
            if name in owners:
                only = owners[name].pop() if len(owners[name]) == 1 else SHARED
                files[only].append(f)
        return files

    @staticmethod
    def is_exported(f, family):
        """Shared codecs and exec functions (the table's entries) are seen by other files."""
        return family == SHARED or f.name.startswith('pv_exec_')

    def emit_declarations(self, w, files):
        """The private header's part: every function another codec file calls."""
        for family, functions in files.items():
            for f in functions:
                if self.is_exported(f, family):
                    w('%s;' % f.signature)

    def emit_file(self, w, family, functions):
        """Declares a file's own static functions (they call each other in any order), then
        defines all its functions."""
        for f in functions:
            if not self.is_exported(f, family):
                w('static %s;' % f.signature)
        w()
        for f in functions:
            f.emit(w, '' if self.is_exported(f, family) else 'static ')
