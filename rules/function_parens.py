"""A function named in the changelog without "()".

What it flags: a subject or changelog line that names a function of the
patch's code (one it defines, declares or calls, in its added, removed or
context lines) without the parentheses: "Call tdx_sys_disable from the
reboot path". Only snake_case names count, so that English words that are
also functions ("free", "read") never fire. A name written as the first
half of a shorthand that ends in "()" ("tdx_pamt_get/put() helpers") has
its parentheses. One finding per line.

Why: both x86 trees ask for function names in the subject and changelog to
be written as function_name(), so that the reader can tell a function from
a variable, a struct or a concept at a glance (maintainer-tip.rst,
"Function references in changelogs"; maintainer-kvm-x86.rst, "Function
References"). Tip reviewers ask submitters for it (Dave on the TDX safe
halt patch); on KVM patches the maintainers add the parentheses when they
apply, so there it is an info finding, in the report but not in a draft.

Fires on "Call tdx_sys_disable from native_machine_shutdown." when the
diff adds a call to tdx_sys_disable().
Must not fire on "Call tdx_sys_disable() from native_machine_shutdown().",
nor on "the tdx_sysinfo structure" when tdx_sysinfo is a variable, nor on
the subject "x86/virt/tdx: Add tdx_pamt_get/put() helpers".
"""
from __future__ import annotations

from ..lint.kit import KVM_X86, SUBJECT, TIP, Case, ChangelogLine, Violation, declared_name, lazy_re, patch_tree

ID = "function-parens"
SEVERITY = "warning"
PATHS = None
TREES = {TIP: 'maintainer-tip.rst, "Function references in changelogs"',
         KVM_X86: 'maintainer-kvm-x86.rst, "Function References" (info: the maintainers add the () '
                  'when they apply)'}
TOPICS = ("()", "parens", "parentheses", "function name", "brackets")

_CALLED = lazy_re(r"\b([a-z_][a-z0-9_]*)\s*\(")
_KEYWORDS = frozenset("if for while switch return sizeof do typeof defined".split())
# A whole lower-case name with an underscore inside it: it starts where the
# name does and is taken whole, then checked (read once, not backtracked).
_NAME = lazy_re(r"(?<![\w.>/:-])(?=[a-z_][a-z0-9_]*?_[a-z0-9_])([a-z_][a-z0-9_]*+)(?![\w(\[-]|\.\w)")


# The rest of a shorthand that names several functions at once: "/put()",
# "/put/free()".
_SHORTHAND = lazy_re(r"(?:/[A-Za-z_][A-Za-z0-9_]{0,40}+){1,4}+\(\)")


class WithoutParens(Violation):
    message = "function named without (): {names}"
    comment = "Nit: please write function names with parentheses: {listed}."

    @property
    def names(self) -> str:
        return ", ".join(self.bare)

    @property
    def listed(self) -> str:
        return ", ".join(f"{n}()" for n in self.bare)


def check_patch(ctx):
    places = [(SUBJECT, ctx.patch.summary)]
    places += [(ChangelogLine(i), t) for i, t in ctx.patch.prose_lines]
    places = [(at, text) for at, text in places if "_" in text]
    if not any(_NAME.search(text) for _, text in places):
        return  # no snake_case word: no code to read
    functions = _functions(ctx)
    if not functions:
        return
    severity = "info" if patch_tree(ctx.patch) is KVM_X86 else None
    for at, text in places:
        if bare := _bare(text, functions):
            ctx.report(at, WithoutParens(bare=bare), severity=severity)


def _bare(text: str, functions: frozenset[str]) -> list[str]:
    """The functions text names without (), each once, in order."""
    return list(dict.fromkeys(m.group(1) for m in _NAME.finditer(text)
                              if m.group(1) in functions and not _SHORTHAND.match(text, m.end())))


def _functions(ctx) -> frozenset[str]:
    """Names the patch's C code uses as functions: called or declared in
    its C files, or called on the lines it removes (deleted files too)."""
    names = set()
    for file in ctx.files():
        for code in file.code:
            names.update(call.name for call in code.c.calls())
            names.update(declared_name(decl) or "" for decl in code.c.find("function_declarator"))
    for text in ctx.removed_lines():
        names.update(_CALLED.findall(text))
    return frozenset(n for n in names if "_" in n.strip("_") and not n.isupper()
                     and n not in _KEYWORDS and len(n) >= 4)


_CALL = "\ttdx_sys_disable();"

INVALID = [
    Case(changelog="Call tdx_sys_disable from native_machine_shutdown() before kexec.",
         code=_CALL, at=('changelog:1: Call tdx_sys_disable from',), why="called in the diff"),
    Case(changelog="Add tdx_sys_shutdown, a wrapper for TDH.SYS.SHUTDOWN.",
         code="int tdx_sys_shutdown(void)\n{\n\treturn 0;\n}", at=('changelog:1: Add tdx_sys_shutdown,',),
         why="defined in the diff"),
    Case(changelog="Nothing calls tdx_flush_all any more, so remove it.",
         removed_files=(("arch/x86/virt/vmx/tdx/tdx.c", "void tdx_flush_all(void)\n{\n\twbinvd();\n}"),),
         at=('changelog:1: Nothing calls tdx_flush_all',), why="removed by the diff"),
    Case(subject="x86/tdx: Support VM area addresses in tdx_enc_status_changed",
         code="static bool tdx_enc_status_changed(unsigned long vaddr, int numpages, bool enc)\n{\n}",
         at=('subject: tdx_enc_status_changed',), why="in the subject"),
    Case(changelog="Make tdx_sys_disable and tdx_sys_shutdown return the status.",
         code="int tdx_sys_disable(void);\nint tdx_sys_shutdown(void);", path="arch/x86/include/asm/tdx.h",
         at=('changelog:1: Make tdx_sys_disable',), why="two names on one line: one finding"),
    Case(subject="KVM: TDX: Use struct_size and simplify tdx_get_capabilities", path="arch/x86/kvm/vmx/tdx.c",
         code="static int tdx_get_capabilities(struct kvm_tdx_cmd *cmd)\n{\n\treturn 0;\n}",
         at=('subject: tdx_get_capabilities',),
         why="KVM: an info finding (the maintainers add the () when applying)"),
]

VALID = [
    Case(changelog="Call tdx_sys_disable() from native_machine_shutdown() before kexec.",
         code=_CALL, why="written with ()"),
    Case(changelog="Read the version from the tdx_sysinfo structure.",
         code="\tver = tdx_sysinfo.version.major;", why="a variable, not a function"),
    Case(changelog="Call it from the reboot path:\n\n\ttdx_sys_disable();\n\nso the module is off.",
         code=_CALL, why="indented code is not prose"),
    Case(changelog="The old tdx_sys_disable.c goes away.", code=_CALL,
         why="part of a path, not a function"),
    Case(changelog="Free the pages with free_page() when the TD is gone.", code="\tfree_page(page);",
         why="already with ()"),
    Case(subject="x86/virt/tdx: Add tdx_pamt_get/put() helpers",
         code="int tdx_pamt_get(struct page *page);\nvoid tdx_pamt_put(struct page *page);",
         path="arch/x86/include/asm/tdx.h", why="the get/put() shorthand carries its parentheses"),
]
