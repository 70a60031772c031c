"""A function declared under #ifdef CONFIG_INTEL_TDX_HOST/GUEST has no #else stub.

What it flags: a function prototype added to a TDX header inside an
`#ifdef CONFIG_INTEL_TDX_HOST` (or CONFIG_INTEL_TDX_GUEST) block whose
`#else` branch provides `static inline` stubs for its neighbours, when no
stub of the new function is there or added by the patch, and the patch
calls the function from code that is built without that option (anything
outside the TDX-only directories). It only judges blocks whose `#else`
branch it can see whole (in the hunks or in the post-image file).
Functions called only from TDX-only code need no stub, and the tree has
many of those (tdx_get_ve_info(), the tdh_*() wrappers).

Why: callers outside TDX-only code (reboot, kexec, MCE paths) build with
the option off; a missing stub is a build break for those configurations,
found only by the 0-day robot.

Fires on a new `int tdx_sys_shutdown(void);` above
    #else
    static inline void tdx_init(void) { }
    #endif	/* CONFIG_INTEL_TDX_HOST */
Must not fire when the patch also adds
`static inline int tdx_sys_shutdown(void) { return -ENODEV; }`, nor on a
new tdh_*() prototype.
"""
from __future__ import annotations

import re

from ..lint.kit import TDX, TDX_HEADERS, Case, Violation, lazy_re, path_matches

ID = "tdx-stub-missing"
SEVERITY = "warning"
PATHS = TDX_HEADERS
TOPICS = ("stub", "#else", "link", "config")

_IF = lazy_re(r"^\s*#\s*if")
_ELSE = lazy_re(r"^\s*#\s*else\b")
_ELIF = lazy_re(r"^\s*#\s*elif\b")
_ENDIF = lazy_re(r"^\s*#\s*endif\b")
_CONFIG = lazy_re(r"CONFIG_INTEL_TDX_(HOST|GUEST)")
_C_SOURCES = ("*.c",)  # the callers: C files (headers only declare)


class NoStub(Violation):
    message = "{name}() has no stub in the !{config} branch"
    comment = ("The other functions in this block have a static inline stub in the #else branch; "
               "{name}() needs one too, or code built without {config} will not link.")


def check_file(file):
    callers = _outside_callers(file)
    if not callers:
        return
    lines = _known_lines(file)
    added_text = "\n".join(ln.text for d in file.patch.files for ln in d.added_lines())
    for code in file.code:
        for decl, name in _prototypes(code.c):
            line = code.c.first_added(decl)
            if line is None or name not in callers:
                continue
            # (A stub's name follows its 'static inline' within its declaration:
            # bounded, so a header of many 'static inline's is read once.)
            stub = re.compile(rf"static\s++(?:__always_)?inline\b[^;{{\n]{{0,300}}?\b{re.escape(name)}\s*+\(|"
                              rf"#\s*define\s+{re.escape(name)}\b")
            if stub.search(added_text):
                continue
            config = _stubs_but_not(lines, line, stub)
            if config is not None:
                code.report(decl, NoStub(name=name, config=config))


def _outside_callers(file) -> set[str]:
    """Functions the patch calls, on added lines, from code that is built
    without the TDX options."""
    names = set()
    for other in file.others(_C_SOURCES):
        if path_matches(other.path, TDX):
            continue
        for code in other.code:
            for call, name in code.c.calls():
                if code.c.is_added(code.c.line_no(call.start_point[0])):
                    names.add(name)
    return names


def _known_lines(file) -> dict[int, str]:
    lines = {}
    for code in file.code:
        for no, text in zip(code.c.numbers, code.c.lines):
            lines[no] = text
    return lines


def _stubs_but_not(lines: dict[int, str], line: int, stub) -> str | None:
    """The option (CONFIG_INTEL_TDX_...) of the #if block around line when
    its #else branch, seen whole, has static inline stubs but none that
    stub matches; None otherwise."""
    found = _else_branch(lines, line)
    if found is None:
        return None
    branch, endif = found
    config = _CONFIG.search(endif) or _CONFIG.search(branch) or \
        _CONFIG.search(_opener(lines, line) or "")
    if config is None or not re.search(r"static\s+(?:__always_)?inline\b", branch):
        return None
    if stub.search(branch):
        return None
    return config.group(0)


def _else_branch(lines: dict[int, str], start: int) -> tuple[str, str] | None:
    """From a line inside an #if block, the text of its #else branch (seen
    whole, with no gap) and the block's #endif line; None when unknown."""
    depth, no, branch, endif = 0, start + 1, None, None
    while no in lines:
        text = lines[no]
        if _IF.match(text):
            depth += 1
        elif _ENDIF.match(text):
            if depth == 0:
                endif = text
                break
            depth -= 1
        elif _ELIF.match(text) and depth == 0:
            return None
        elif _ELSE.match(text) and depth == 0:
            if branch is not None:
                return None
            branch = [text]
            no += 1
            continue
        if branch is not None:
            branch.append(text)
        no += 1
    if branch is None or endif is None:
        return None
    return "\n".join(branch), endif


def _opener(lines: dict[int, str], start: int) -> str | None:
    depth, no = 0, start - 1
    while no in lines:
        text = lines[no]
        if _ENDIF.match(text):
            depth += 1
        elif _IF.match(text):
            if depth == 0:
                return text
            depth -= 1
        no -= 1
    return None


def _prototypes(c):
    for decl in c.find("declaration"):
        if any(c.text(s) in ("static", "inline", "extern") for s in decl.children
               if s.type in ("storage_class_specifier", "type_qualifier")):
            continue
        for d in decl.children_by_field_name("declarator"):
            while d is not None and d.type == "pointer_declarator":
                d = d.child_by_field_name("declarator")
            if d is not None and d.type == "function_declarator":
                name = d.child_by_field_name("declarator")
                if name is not None and name.type == "identifier":
                    yield decl, c.text(name)


_CALLER = (("arch/x86/kernel/reboot.c", "\ttdx_sys_shutdown();\n\ttdx_module_name();\n\ttdx_guest_quiesce();"),)

_ELSE_BLOCK = """
#else
static inline void tdx_init(void) { }
static inline u32 tdx_get_nr_guest_keyids(void) { return 0; }
#endif	/* CONFIG_INTEL_TDX_HOST */
"""

INVALID = [
    Case(path="arch/x86/include/asm/tdx.h", before="""
        #ifdef CONFIG_INTEL_TDX_HOST
        void tdx_init(void);
        u32 tdx_get_nr_guest_keyids(void);
        """, code="int tdx_sys_shutdown(void);", after=_ELSE_BLOCK, extra_files=_CALLER,
         at=('4:1: int tdx_sys_shutdown(void);',), why="no stub, called from reboot code"),
    Case(path="arch/x86/include/asm/tdx.h", before="u32 tdx_get_nr_guest_keyids(void);",
         code="const char *tdx_module_name(void);", after=_ELSE_BLOCK, extra_files=_CALLER,
         at=('2:1: tdx_module_name',), why="pointer return, block opener not in view"),
    Case(path="arch/x86/include/asm/tdx.h", before="#ifdef CONFIG_INTEL_TDX_GUEST",
         code="void tdx_guest_quiesce(void);", after="""
        #else
        static inline void tdx_early_init(void) { };
        #endif
        """, extra_files=_CALLER, at=('2:1: tdx_guest_quiesce',), why="guest block, opener names the option"),
]

VALID = [
    Case(path="arch/x86/include/asm/tdx.h", before="u32 tdx_get_nr_guest_keyids(void);",
         code="int tdx_sys_shutdown(void);",
         extra_files=(("arch/x86/include/asm/tdx.h",
                       "static inline int tdx_sys_shutdown(void) { return -ENODEV; }"),) + _CALLER,
         after=_ELSE_BLOCK, why="the stub comes in the same patch"),
    Case(path="arch/x86/include/asm/tdx.h", before="u32 tdx_get_nr_guest_keyids(void);",
         code="int tdx_sys_shutdown(void);", after=_ELSE_BLOCK,
         extra_files=(("arch/x86/virt/vmx/tdx/tdx.c", "\ttdx_sys_shutdown();"),),
         why="called only from TDX-only code (v6.12's tdx_get_ve_info() pattern)"),
    Case(path="arch/x86/include/asm/tdx.h", before="#ifdef CONFIG_INTEL_TDX_HOST",
         code="void tdx_sys_disable(void);", after="""
        u64 tdh_vp_enter(struct tdx_vp *vp, struct tdx_module_args *args);
        u64 tdh_mng_addcx(struct tdx_td *td, struct page *tdcs_page);
        """, why="the #else branch is not in view: no guessing"),
    Case(path="arch/x86/include/asm/tdx.h", before="#ifdef CONFIG_INTEL_TDX_HOST",
         code="void tdx_sys_disable(void);", after="""
        #else
        static inline void tdx_sys_disable(void) { }
        #endif
        """, extra_files=(("arch/x86/kernel/crash.c", "\ttdx_sys_disable();"),), why="stub already there"),
]
