"""Boot-only code or data used from code that runs after boot.

What it flags, in TDX C files, on lines the patch adds inside a function
that is not itself __init (nor __ref):
- a call to a function declared or defined __init in the same file;
- a write to a variable marked __ro_after_init;
- any use of a variable marked __initdata or __initconst.
The annotations are read from what the patch shows of the file (the hunks'
context, or the whole post-image under `tdxbot check`); a declaration out
of sight leaves the line alone.

Why: __init text and __initdata are freed once boot is done, and
__ro_after_init data is write-protected from then on. TDX now has paths
that run long after boot (runtime module update, kexec, TDH.SYS.DISABLE),
and the update series had to drop __init from get_tdx_sys_info_version()
and __ro_after_init from tdx_sysinfo for exactly this reason. A call into
freed text or a write to protected data is a crash, not a warning.

Fires on:
    static int __init get_tdx_sys_info_version(struct tdx_sys_info_version *v);
    int tdx_module_refresh(void)
    {
        return get_tdx_sys_info_version(&tdx_sysinfo.version);
    }
Must not fire on the same call from `static int __init init_tdx_module(void)`,
nor on reading a __ro_after_init variable after boot.
"""
from __future__ import annotations

import re

from ..lint.kit import TDX, Case, Violation, call_name, lazy_re

ID = "tdx-init-section"
SEVERITY = "error"
PATHS = TDX
TOPICS = ("__init", "boot", "__ro_after_init", "freed")

# A declaration line names its function within a few hundred characters of
# its start: the bounds keep a hostile line of '__init __init ...' linear.
_INIT_FUNC = lazy_re(r"^(?!\s*(?:\*|/\*|//))[^;{}()#=\n]{0,300}\b__init\b[^;{}()=\n]{0,300}?\b([A-Za-z_]\w*+)\s*+\(", re.M)
_BOOT_DATA = lazy_re(r"\b([A-Za-z_]\w*+)\s*+(?:\[[^\]\n]{0,200}+\]\s*+)*+(__ro_after_init|__initdata|__initconst)\b")
_DATA_MARKERS = ("__ro_after_init", "__initdata", "__initconst")
_BOOT_ONLY = frozenset({"__init", "__ref", "__meminit", "__init_or_module"})
_WRITES = ("assignment_expression", "update_expression")


class InitCalledAfterBoot(Violation):
    message = "{name}() is __init, but this function runs after boot too"
    comment = ("{name}() is __init, so its text is gone once boot is done; this caller is not "
               "__init. Please drop __init from {name}() if it is needed later.")


class ReadOnlyWritten(Violation):
    message = "{name} is __ro_after_init, but it is written here after boot"
    comment = ("{name} is __ro_after_init, so this write faults once boot is done. If it "
               "has to change later (module update, kexec), please drop the annotation.")


class FreedDataUsed(Violation):
    message = "{name} is {marker}, freed after boot, but used here"
    comment = "{name} is {marker} and is freed once boot is done; this function is not __init."


def check_file(file):
    funcs, data = _annotations(file)
    if not funcs and not data:
        return
    # A body can read freed data or write read-only data only by its name.
    freed = [n.encode() for n, marker in data.items() if marker in ("__initdata", "__initconst")]
    read_only = [n.encode() for n, marker in data.items() if marker == "__ro_after_init"]
    for code in file.code:
        for func in code.c.functions():
            body = func.child_by_field_name("body")
            if body is None or not code.c.touches_added(body) or code.c.annotations(func) & _BOOT_ONLY:
                continue
            seen: set[int] = set()  # one finding per line
            for node in _suspects(code.c, body, funcs, freed, read_only):
                line = code.c.line_no(node.start_point[0])
                if not code.c.is_added(line) or line in seen:
                    continue
                if (found := _boot_only_use(code.c, node, funcs, data)) is not None:
                    seen.add(line)
                    code.report(node, found)


def _annotations(file) -> tuple[set[str], dict[str, str]]:
    """(__init function names, {variable: its section marker}) in sight."""
    funcs: set[str] = set()
    data: dict[str, str] = {}
    for code in file.code:
        text = "\n".join(code.c.lines)
        if "__init" not in text and "__ro_after_init" not in text:
            continue
        funcs.update(_INIT_FUNC.findall(text))
        if any(marker in text for marker in _DATA_MARKERS):  # the pattern is slow on long texts
            for m in _BOOT_DATA.finditer(text):
                data.setdefault(m.group(1), m.group(2))
    return funcs, data


def _suspects(c, body, funcs, freed, read_only) -> list:
    """The nodes of a body that may use boot-only text or data, in document
    order, calls first."""
    text = c.source[body.start_byte:body.end_byte]
    nodes = [call.node for call in c.calls(within=body) if call.name in funcs]
    if any(name in text for name in freed):
        nodes += c.find("identifier", within=body)
    if any(name in text for name in read_only):
        nodes += c.find(*_WRITES, within=body)
    nodes.sort(key=lambda n: n.start_byte)  # in document order, calls first
    return nodes


def _base_name(node) -> str | None:
    """The variable an lvalue is part of: tdx_sysinfo for tdx_sysinfo.version[2]."""
    while node is not None and node.type in ("field_expression", "subscript_expression",
                                             "parenthesized_expression"):
        node = node.child_by_field_name("argument") or (node.named_children[0]
                                                          if node.named_children else None)
    if node is not None and node.type == "identifier":
        return node.text.decode("utf-8", "replace")
    return None


def _written(node) -> str | None:
    target = node.child_by_field_name("left") if node.type == "assignment_expression" \
        else node.child_by_field_name("argument")
    return _base_name(target)


def _boot_only_use(c, node, funcs, data) -> Violation | None:
    """What is wrong when node uses boot-only text or data."""
    if node.type == "call_expression" and call_name(node) in funcs:
        return InitCalledAfterBoot(name=call_name(node))
    if node.type in _WRITES:
        name = _written(node)
        if name is not None and data.get(name) == "__ro_after_init":
            return ReadOnlyWritten(name=name)
    if node.type == "identifier":
        name = c.text(node)
        marker = data.get(name)
        if marker in ("__initdata", "__initconst"):
            return FreedDataUsed(name=name, marker=marker)
    return None


_VERSION_HELPER = """
static int __init get_tdx_sys_info_version(struct tdx_sys_info_version *v)
{
	return read_sys_metadata_field(MD_FIELD_ID_MAJOR_VERSION, &v->major_version);
}
"""

_STATE = """
static struct tdx_sys_info tdx_sysinfo __ro_after_init;
static bool tdx_module_initialized __ro_after_init;
"""

INVALID = [
    Case(before=_VERSION_HELPER, code="""

        int tdx_module_refresh_version(void)
        {
        	return get_tdx_sys_info_version(&tdx_sysinfo.version);
        }
        """, at=('7:9: get_tdx_sys_info_version(&tdx_sysinfo.version)',), why="calls __init after boot"),
    Case(before=_STATE, code="""

        void tdx_module_reset_state(void)
        {
        	tdx_module_initialized = false;
        	memset(&tdx_sysinfo, 0, sizeof(tdx_sysinfo));
        	tdx_sysinfo.version.minor_version++;
        }
        """, at=('5:2: tdx_module_initialized = false', '7:2: tdx_sysinfo.version.minor_version++'),
         why="writes __ro_after_init data"),
    Case(before="static u64 tdx_boot_features __initdata;", code="""

        bool tdx_feature_enabled(u64 mask)
        {
        	return tdx_boot_features & mask;
        }
        """, at=('4:9: return tdx_boot_features & mask',), why="__initdata read after boot"),
    Case(whole_file=True, before="int __init tdx_init_sysinfo(struct tdx_sys_info *info);\n" + "\n" * 40,
         code="""
        static int tdx_module_update_done(void)
        {
        	return tdx_init_sysinfo(&tdx_sysinfo);
        }
        """, at=('4:9: return tdx_init_sysinfo(&tdx_sysinfo)',), why="prototype far above, whole file"),
]

VALID = [
    Case(before=_VERSION_HELPER, code="""

        static int __init init_tdx_module(void)
        {
        	return get_tdx_sys_info_version(&tdx_sysinfo.version);
        }
        """, why="an __init caller"),
    Case(before=_STATE, code="""

        bool tdx_module_ready(void)
        {
        	return tdx_module_initialized && tdx_sysinfo.version.major_version;
        }
        """, why="reading __ro_after_init data is fine"),
    Case(before=_STATE, code="""

        static __init int tdx_module_setup(void)
        {
        	tdx_module_initialized = true;
        	return 0;
        }
        """, why="written during boot"),
    Case(before=_VERSION_HELPER, code="""

        static int __ref tdx_module_probe(void)
        {
        	return get_tdx_sys_info_version(&tdx_sysinfo.version);
        }
        """, why="__ref says the reference is intended"),
    Case(code="""
        int tdx_module_refresh_version(void)
        {
        	return get_tdx_sys_info_version(&tdx_sysinfo.version);
        }
        """, why="nothing in sight says the callee is __init"),
]
