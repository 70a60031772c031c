"""A plain EXPORT_SYMBOL(_GPL) in TDX host code.

What it flags: EXPORT_SYMBOL() or EXPORT_SYMBOL_GPL() added to
arch/x86/virt/vmx/tdx/*.c. It is a warning when the file (as far as the
patch shows it: the hunks' context, the same patch, or the whole post-image
when known) already uses EXPORT_SYMBOL_FOR_KVM() or
EXPORT_SYMBOL_FOR_MODULES(); otherwise an info note, since older trees have
only the plain exports.

Why: TDX host wrappers are meant for KVM (and the tdx-host driver) only.
The tree restricts them with EXPORT_SYMBOL_FOR_KVM()/FOR_MODULES(), and a
reviewer will ask who the consumer is ("excuse the export", Rick).

Fix, when the file restricts its exports one way only: the same macro
(and module list) for this export.

Fires on:
    EXPORT_SYMBOL_GPL(tdx_sys_shutdown);
next to EXPORT_SYMBOL_FOR_KVM(tdh_phymem_page_wbinvd_hkid);
Must not fire on EXPORT_SYMBOL_FOR_KVM(tdx_sys_shutdown); nor on exports
outside the TDX host code.
"""
from __future__ import annotations

from ..lint.kit import TDX_HOST_C, Case, Violation, call_args

ID = "tdx-export"
SEVERITY = "warning"
PATHS = TDX_HOST_C
FIXES = True
TOPICS = ("export", "module", "kvm")

_PLAIN = ("EXPORT_SYMBOL", "EXPORT_SYMBOL_GPL")
_RESTRICTED = ("EXPORT_SYMBOL_FOR_KVM", "EXPORT_SYMBOL_FOR_MODULES")


class UnlikeTheFile(Violation):
    message = "{export}({symbol}) where the file uses EXPORT_SYMBOL_FOR_KVM()"
    comment = ("Who needs {symbol}? The rest of this file restricts its exports with "
               "EXPORT_SYMBOL_FOR_KVM() (or EXPORT_SYMBOL_FOR_MODULES()); please do the "
               "same and name the user in the changelog.")


class ToEveryModule(Violation):
    message = "{export}({symbol}) exports TDX host code to every module"
    comment = "Who needs {symbol}? If the base tree has EXPORT_SYMBOL_FOR_KVM(), please use it."


def check_file(file):
    exports = []
    restricted = set()  # how the file restricts its exports: ("EXPORT_...", extra arguments)
    for code in file.code:
        for call, name in code.c.calls():
            if name in _RESTRICTED:
                restricted.add((name, tuple(code.c.text(a) for a in call_args(call)[1:])))
            elif name in _PLAIN:
                exports.append((code, call, name))
    for code, call, name in exports:
        symbol = ", ".join(code.c.text(a) for a in call_args(call)) or "this"
        if restricted:
            code.report(call, UnlikeTheFile(export=name, symbol=symbol),
                        fix=[_as_the_file_does(code, call, symbol, restricted)])
        else:
            code.report(call, ToEveryModule(export=name, symbol=symbol), severity="info")


def _as_the_file_does(code, call, symbol: str, restricted: set):
    """The export written the one way the file restricts its others (only
    when there is exactly one: a guess between two would not be certain)."""
    if len(restricted) != 1 or not symbol.isidentifier():
        return None
    macro, extra = next(iter(restricted))
    return code.edit(call, f"{macro}({', '.join((symbol,) + extra)})")


_CONTEXT = """
	return seamcall(TDH_PHYMEM_PAGE_WBINVD, &args);
}
EXPORT_SYMBOL_FOR_KVM(tdh_phymem_page_wbinvd_hkid);
"""

INVALID = [
    Case(before=_CONTEXT, code="""

        u64 tdh_sys_shutdown(void)
        {
        	struct tdx_module_args args = {};

        	return seamcall(TDH_SYS_SHUTDOWN, &args);
        }
        EXPORT_SYMBOL_GPL(tdh_sys_shutdown);
        """, at=('10:1: EXPORT_SYMBOL_GPL(tdh_sys_shutdown)',), why="plain export next to FOR_KVM", fixed="""

        u64 tdh_sys_shutdown(void)
        {
        	struct tdx_module_args args = {};

        	return seamcall(TDH_SYS_SHUTDOWN, &args);
        }
        EXPORT_SYMBOL_FOR_KVM(tdh_sys_shutdown);
        """),
    Case(before=_CONTEXT, code="EXPORT_SYMBOL(tdx_get_sysinfo);",
         at=('4:1: EXPORT_SYMBOL(tdx_get_sysinfo)',), why="non-GPL export",
         fixed="EXPORT_SYMBOL_FOR_KVM(tdx_get_sysinfo);"),
    Case(code="""
        EXPORT_SYMBOL_FOR_MODULES(tdx_module_update, "tdx-host");
        EXPORT_SYMBOL_GPL(tdx_module_version);
        """, at=('2:1: EXPORT_SYMBOL_GPL(tdx_module_version)',), why="the same patch uses FOR_MODULES",
         fixed="""
        EXPORT_SYMBOL_FOR_MODULES(tdx_module_update, "tdx-host");
        EXPORT_SYMBOL_FOR_MODULES(tdx_module_version, "tdx-host");
        """),
    Case(code="EXPORT_SYMBOL_GPL(tdh_sys_shutdown);", at=('1:1: EXPORT_SYMBOL_GPL(tdh_sys_shutdown)',),
         why="no restricted export in sight (an older tree): a note, with no fix"),
]

VALID = [
    Case(before=_CONTEXT, code="EXPORT_SYMBOL_FOR_KVM(tdh_sys_shutdown);", why="restricted"),
    Case(path="arch/x86/kernel/reboot.c", code="EXPORT_SYMBOL_GPL(native_machine_shutdown);",
         why="not TDX host code"),
    Case(path="arch/x86/virt/vmx/tdx/tdx.h", code="EXPORT_SYMBOL_GPL(tdx_thing);",
         why="headers are out of scope"),
]
