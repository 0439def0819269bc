"""The parts of the Khronos vk.xml that the Venus code generator needs, as plain objects."""

import re
import xml.etree.ElementTree as ET

# Scalar C types and their size on the Venus wire (docs/protocol/venus.md §3): everything is
# 4 or 8.
SCALAR_WIRE_SIZE = {
    'uint8_t': 4, 'uint16_t': 4, 'uint32_t': 4, 'int32_t': 4, 'float': 4, 'int': 4,
    'VkBool32': 4, 'VkSampleMask': 4, 'VkFlags': 4,
    'uint64_t': 8, 'int64_t': 8, 'VkDeviceSize': 8, 'VkDeviceAddress': 8, 'size_t': 8,
    'VkFlags64': 8,
}


class Member:
    """A struct member or a command parameter."""

    def __init__(self, elem):
        self.type = elem.find('type').text
        self.name = elem.find('name').text
        text = ''.join(elem.itertext())
        decl = text.split('<comment>')[0]
        comment = elem.find('comment')
        if comment is not None and comment.text:
            decl = decl.replace(comment.text, '')
        self.is_const = decl.strip().startswith('const')
        self.pointer_depth = decl.count('*')
        self.len = elem.get('altlen') or elem.get('len')
        self.optional = elem.get('optional', '')
        self.values = elem.get('values')
        self.noautovalidity = elem.get('noautovalidity') == 'true'
        enum = elem.find('enum')
        after_name = decl.split(self.name, 1)[1] if self.name in decl else ''
        self.fixed_dims = []
        if enum is not None:
            self.fixed_dims.append(enum.text)
        else:
            self.fixed_dims.extend(re.findall(r'\[(\d+)\]', after_name))
        if enum is not None and after_name.count('[') > 1:
            self.fixed_dims.append('?')  # multi-dimensional: not carried by Venus


class Struct:
    def __init__(self, elem):
        self.name = elem.get('name')
        self.is_union = elem.get('category') == 'union'
        self.returned_only = elem.get('returnedonly') == 'true'
        self.extends = [s for s in (elem.get('structextends') or '').split(',') if s]
        self.members = [Member(m) for m in elem.findall('member') if _for_vulkan(m)]
        stype = [m for m in self.members if m.name == 'sType']
        self.stype = stype[0].values if stype and stype[0].values else None
        self.has_pnext = any(m.name == 'pNext' for m in self.members)

    def member(self, name):
        for m in self.members:
            if m.name == name:
                return m
        return None


class Command:
    def __init__(self, elem):
        proto = elem.find('proto')
        self.name = proto.find('name').text
        self.return_type = proto.find('type').text
        self.params = [Member(p) for p in elem.findall('param') if _for_vulkan(p)]


def _for_vulkan(elem):
    api = elem.get('api')
    return api is None or 'vulkan' in api.split(',')


class Registry:
    """vk.xml, plus supplements in its syntax (protocol/venus-mesa.xml) that add types,
    commands and extensions it lacks; a supplement's extension replaces vk.xml's placeholder
    of the same number."""

    def __init__(self, path, supplements=()):
        self.handles = {}        # name -> VK_OBJECT_TYPE_* enumerant
        self.dispatchable = set()
        self.enums = set()       # enum type names (4 bytes on the wire)
        self.bitmask_bits = {}   # bitmask type name -> 'VkFlags' | 'VkFlags64'
        self.bitmask_flagbits = {}  # bitmask type name -> its *FlagBits enum, if it has one
        # Values the registry defines, core and extensions, for the decoder's checks: enum
        # type -> set of values, *FlagBits -> mask of its bits.
        self.enum_values = {}
        self.flag_bits = {}
        self._wide_flag_bits = set()  # 64-bit *FlagBits, whose values no enum can hold
        self.structs = {}
        self.type_alias = {}
        self.constants = {}
        self.commands = {}
        self.command_alias = {}
        self.header_version = None
        self.extensions = {}     # name -> (number, set of types, set of commands, supported)
        self.core = {}           # feature name -> (set of types, set of commands)
        self.core_version = {}   # feature name -> (major, minor)
        self.extension_type = {}  # name -> 'instance' | 'device'
        self.type_origin = {}    # type name -> feature or extension that introduced it
        self.command_origin = {}
        # What the supplements define, which no Vulkan header declares: the generated
        # protocol header defines these types and structure-type values itself.
        self.supplement_types = []    # in definition order
        self.supplement_stypes = {}   # VK_STRUCTURE_TYPE_* name -> value

        self._load(ET.parse(path).getroot(), None)
        for s in supplements:
            self._load(ET.parse(s).getroot(), s)
        self._type_aliases = self._aliases(self.type_alias)
        self._command_aliases = self._aliases(self.command_alias)

    def _load(self, root, supplement):
        for t in root.find('types'):
            if t.tag != 'type' or not _for_vulkan(t):
                continue
            cat = t.get('category')
            name = t.get('name') or (t.find('name').text if t.find('name') is not None else None)
            if supplement:
                self.supplement_types.append(name)
            if t.get('alias'):
                self.type_alias[name] = t.get('alias')
                continue
            if cat == 'handle':
                self.handles[name] = t.get('objtypeenum')
                if t.find('type').text == 'VK_DEFINE_HANDLE':
                    self.dispatchable.add(name)
            elif cat == 'enum':
                self.enums.add(name)
            elif cat == 'bitmask':
                self.bitmask_bits[name] = t.find('type').text
                bits = t.get('requires') or t.get('bitvalues')
                if bits:
                    self.bitmask_flagbits[name] = bits
            elif cat in ('struct', 'union'):
                self.structs[name] = Struct(t)
            elif cat == 'define' and t.find('name') is not None and \
                    t.find('name').text == 'VK_HEADER_VERSION':
                self.header_version = int(''.join(t.itertext()).split()[-1])

        for enums in root.findall('enums'):
            if enums.get('name') == 'API Constants':
                for e in enums.findall('enum'):
                    if e.get('value'):
                        self.constants[e.get('name')] = e.get('value')
            elif enums.get('type') in ('enum', 'bitmask'):
                if enums.get('type') == 'bitmask':
                    self.flag_bits.setdefault(enums.get('name'), 0)
                    if enums.get('bitwidth') == '64':
                        self._wide_flag_bits.add(enums.get('name'))
                for e in enums.findall('enum'):
                    self._add_enum_value(enums.get('name'), e, None)

        for c in root.find('commands'):
            if not _for_vulkan(c):
                continue
            if c.get('alias'):
                self.command_alias[c.get('name')] = c.get('alias')
            else:
                cmd = Command(c)
                self.commands[cmd.name] = cmd

        for f in root.findall('feature'):
            if 'vulkan' not in f.get('api', 'vulkan').split(','):
                continue
            types, cmds = self._requires(f)
            self._add_required_values(f, None)
            self.core[f.get('name')] = (types, cmds)
            self.core_version[f.get('name')] = tuple(int(x) for x in f.get('number').split('.'))
            for t in types:
                self.type_origin.setdefault(t, f.get('name'))
            for c in cmds:
                self.command_origin.setdefault(c, f.get('name'))
        for x in root.find('extensions'):
            number = int(x.get('number'))
            for placeholder in [n for n, e in self.extensions.items() if e[0] == number]:
                del self.extensions[placeholder]
            supported = x.get('supported', '').split(',')
            types, cmds = self._requires(x)
            self.extensions[x.get('name')] = (number, types, cmds, 'vulkan' in supported)
            self.extension_type[x.get('name')] = x.get('type')
            if 'vulkan' in supported:
                self._add_required_values(x, number)
                for t in types:
                    self.type_origin.setdefault(t, x.get('name'))
                for c in cmds:
                    self.command_origin.setdefault(c, x.get('name'))
            if supplement:
                for e in x.findall('require/enum[@extends="VkStructureType"]'):
                    self.supplement_stypes[e.get('name')] = \
                        1000000000 + (number - 1) * 1000 + int(e.get('offset'))

    def _add_required_values(self, elem, number):
        """The enum values a feature or an extension (number) adds to existing types."""
        for req in elem.findall('require'):
            if _for_vulkan(req):
                for e in req.findall('enum[@extends]'):
                    self._add_enum_value(e.get('extends'), e, number)

    def _add_enum_value(self, type_name, e, number):
        if not _for_vulkan(e) or e.get('alias'):
            return
        if e.get('bitpos') is not None:
            value = 1 << int(e.get('bitpos'))
        elif e.get('offset') is not None:
            value = 1000000000 + (int(e.get('extnumber') or number) - 1) * 1000 + \
                int(e.get('offset'))
            value = -value if e.get('dir') == '-' else value
        elif e.get('value') is not None:
            value = int(e.get('value'), 0)
        else:
            return
        if type_name in self.flag_bits:
            self.flag_bits[type_name] |= value
            if type_name in self._wide_flag_bits:
                return
            # A member typed *FlagBits holds one of them; as an enum, the top bit is negative.
            value = value - (1 << 32) if value >= 1 << 31 else value
        self.enum_values.setdefault(type_name, set()).add(value)

    @staticmethod
    def _requires(elem):
        types, cmds = set(), set()
        for req in elem.findall('require'):
            if not _for_vulkan(req):
                continue
            for t in req.findall('type'):
                types.add(t.get('name'))
            for c in req.findall('command'):
                cmds.add(c.get('name'))
        return types, cmds

    def resolve_type(self, name):
        while name in self.type_alias:
            name = self.type_alias[name]
        return name

    def type_aliases_of(self, name):
        """The other names of a type: those that resolve to it."""
        return self._type_aliases.get(name, [])

    def command_aliases_of(self, name):
        return self._command_aliases.get(name, [])

    @staticmethod
    def _aliases(alias):
        names = {}
        for a in alias:
            r = a
            while r in alias:
                r = alias[r]
            names.setdefault(r, []).append(a)
        return names

    def resolve_command(self, name):
        while name in self.command_alias:
            name = self.command_alias[name]
        return name

    def api_version(self):
        """The registry's own version, e.g. (1, 4, 309)."""
        major, minor = max(self.core_version.values())
        return major, minor, self.header_version

    def wire_kind(self, type_name):
        """'u32', 'u64', 'f32', 'handle', 'struct', 'union', 'void' or None (not carried)."""
        t = self.resolve_type(type_name)
        if t == 'float':
            return 'f32'
        if t in SCALAR_WIRE_SIZE:
            return 'u64' if SCALAR_WIRE_SIZE[t] == 8 else 'u32'
        if t in self.enums:
            return 'u32'
        if t in self.bitmask_bits:
            return 'u64' if self.bitmask_bits[t] == 'VkFlags64' else 'u32'
        if t in self.handles:
            return 'handle'
        if t in self.structs:
            return 'union' if self.structs[t].is_union else 'struct'
        if t == 'void':
            return 'void'
        if t == 'char':
            return 'char'
        return None
