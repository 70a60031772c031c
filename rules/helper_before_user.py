"""A function or macro added in one patch and first used in a later one.

What it flags: a function (with its body) or a function-like macro that a
patch of the series adds, when no line of that patch uses it and a later
patch of the same series is the first to call it. The finding sits on
the definition and names the patch with the first user. A `static`
function that nothing in its own patch calls also makes a `W=1` build of
that commit warn (-Wunused-function), which is said too; a `static`
function that nothing in the whole series calls is flagged for that
alone. Prototypes, `static inline` stubs in headers and EXPORT_SYMBOL()
lines are not uses; a name the tree already had (in the context or the
removed lines of an earlier patch: a move, a rename) is not new.

Why: reviewers ask for a helper to come "with its first user": a patch
that adds dead code cannot be judged on its own (is the interface right?
is the error handling what the caller needs?), and every commit of the
series has to build cleanly for bisection, W=1 included. x86 maintainers
ask this on TDX series again and again ("this helper has no user until
patch 5; add it with its first user").

Fires on: patch 3 adding tdx_sys_disable() to tdx.c and patch 4 the
first call of it; patch 2 adding a `static` helper that no patch calls.
Must not fire on a helper used in the patch that adds it, on an exported
function whose users are outside the series (a KVM series comes later),
nor on a function a patch moves from one file to another.
"""
from __future__ import annotations

from ..lint.kit import CodeLine, Commit, PatchAt, SeriesCase, Violation
from ._series import definitions, names_seen, names_used

ID = "helper-before-user"
SEVERITY = "warning"
PATHS = None
TOPICS = ("first user", "user", "unused", "dead code", "squash", "fold", "add it with", "w=1")


class AddedBeforeUser(Violation):
    message = "{what} is added here but first used in patch {first}/{total}; add it with its first user"
    comment = ("{what} has no user in this patch; its first user comes in patch {first}/{total}. Please "
               "add it together with that user, so that each patch can be reviewed (and bisected) on "
               "its own.")

    @property
    def what(self) -> str:
        return f"{self.name}()" if self.kind == "function" else f"macro {self.name}()"


class AddedBeforeUserUnused(AddedBeforeUser):
    message = ("static {name}() is added here but first used in patch {first}/{total}; a W=1 build of this "
               "patch warns (-Wunused-function)")
    comment = ("static {name}() has no user until patch {first}/{total}, so a W=1 build of this commit "
               "warns that it is unused (-Wunused-function). Please add it with its first user.")


class NoUser(Violation):
    message = "static {name}() has no user in this series; a W=1 build warns (-Wunused-function)"
    comment = ("Nothing in this series calls static {name}(), so a W=1 build warns that it is unused "
               "(-Wunused-function). Please drop it, or add it with the patch that needs it.")


def check_series(ctx):
    patches = sorted(ctx.series.patches, key=lambda p: p.index)
    if len(patches) < 1:
        return
    used = [names_used(ctx, p) for p in patches]
    seen_before: set[str] = set()
    total = ctx.series.total
    for k, patch in enumerate(patches):
        here = names_seen(patch)
        defs = definitions(ctx, patch)
        bodies = {d.name for d in defs if not (d.header and d.inline)}
        for d in defs:
            if d.name in seen_before or d.name in here:
                continue  # the tree had it already: a move or a change, not a new helper
            if d.header and d.inline and d.name in bodies:
                continue  # the !CONFIG stub of a function defined in a C file
            first = next((p.index for p, names in zip(patches[k:], used[k:]) if d.name in names), None)
            place = PatchAt(patch.index, CodeLine(d.path, d.line, d.column))
            warns = d.static and not d.inline and not d.maybe_unused and not d.header
            if first is None:
                if warns:
                    ctx.report(place, NoUser(name=d.name))
                continue
            if first == patch.index:
                continue
            if warns:
                ctx.report(place, AddedBeforeUserUnused(name=d.name, kind=d.kind, first=first, total=total))
            else:
                ctx.report(place, AddedBeforeUser(name=d.name, kind=d.kind, first=first, total=total))
        seen_before |= here


_TDX_C = "arch/x86/virt/vmx/tdx/tdx.c"
_BASE = ((_TDX_C, """\
    #include <linux/kernel.h>

    static int tdx_module_status;

    int tdx_enable(void)
    {
    \treturn 0;
    }
    """), ("arch/x86/kernel/crash.c", """\
    #include <linux/kernel.h>

    void native_machine_crash_shutdown(void)
    {
    \tlocal_irq_disable();
    }
    """))
_WITH_WRAPPER = """\
    #include <linux/kernel.h>

    static int tdx_module_status;

    int tdx_enable(void)
    {
    \treturn 0;
    }

    void tdx_sys_disable(void)
    {
    \tstruct tdx_module_args args = {};

    \tseamcall(TDH_SYS_DISABLE, &args);
    }
    """
_CALLER = """\
    #include <linux/kernel.h>

    void native_machine_crash_shutdown(void)
    {
    \tlocal_irq_disable();
    \ttdx_sys_disable();
    }
    """
_STATIC_HELPER = _WITH_WRAPPER.replace("void tdx_sys_disable", "static void tdx_sys_disable")
_ADD = Commit("x86/virt/tdx: Add SEAMCALL wrapper for TDH.SYS.DISABLE", ((_TDX_C, _WITH_WRAPPER),))
_USE = Commit("x86/tdx: Disable the TDX module during kexec and kdump", (("arch/x86/kernel/crash.c", _CALLER),))

INVALID = [
    SeriesCase(base=_BASE, commits=(_ADD, _USE),
               at=("[1] tdx.c:10:6: void tdx_sys_disable(void)",),
               why="the wrapper comes one patch before its caller"),
    SeriesCase(base=_BASE, commits=(Commit(_ADD.subject, ((_TDX_C, _STATIC_HELPER),)),
                                    Commit("x86/virt/tdx: Disable the module on shutdown", ((_TDX_C, _STATIC_HELPER.replace(
                                        "\treturn 0;\n    }\n\n    static", "\ttdx_sys_disable();\n    \treturn 0;\n    }\n\n    static")),))),
               at=("[1] tdx.c:10:13: static void tdx_sys_disable(void)",),
               why="a static helper unused in its own patch also breaks a W=1 build of that patch"),
    SeriesCase(base=_BASE, commits=(Commit("x86/virt/tdx: Add a helper to read the module version", ((_TDX_C, _WITH_WRAPPER.replace(
                   "void tdx_sys_disable(void)", "static void tdx_read_version(void)")),)),),
               at=("[1] tdx.c:10:13: static void tdx_read_version(void)",),
               why="a static function nothing in the series calls"),
    SeriesCase(base=_BASE, commits=(Commit("x86/virt/tdx: Add a macro to build a leaf", ((_TDX_C, _WITH_WRAPPER.replace(
                   "static int tdx_module_status;", "static int tdx_module_status;\n\n    #define TDX_LEAF(n, v)\t((n) | ((u64)(v) << 16))")),)),
                                    Commit("x86/virt/tdx: Use the leaf macro", ((_TDX_C, _WITH_WRAPPER.replace(
                   "static int tdx_module_status;", "static int tdx_module_status;\n\n    #define TDX_LEAF(n, v)\t((n) | ((u64)(v) << 16))").replace(
                   "seamcall(TDH_SYS_DISABLE, &args);", "seamcall(TDX_LEAF(TDH_SYS_DISABLE, 0), &args);")),)),
                                    _USE),
               at=("[1] tdx.c:5:9: #define TDX_LEAF(n, v)", "[1] tdx.c:12:6: void tdx_sys_disable(void)"),
               why="a macro and a function, each first used by a later patch"),
    SeriesCase(base=_BASE + (("arch/x86/include/asm/tdx.h", "#ifndef _ASM_X86_TDX_H\n#define _ASM_X86_TDX_H\n#endif\n"),),
               commits=(Commit(_ADD.subject, ((_TDX_C, _WITH_WRAPPER + "    EXPORT_SYMBOL_GPL(tdx_sys_disable);\n"),
                                              ("arch/x86/include/asm/tdx.h", "#ifndef _ASM_X86_TDX_H\n#define _ASM_X86_TDX_H\n"
                                               "void tdx_sys_disable(void);\n#endif\n"))), _USE),
               at=("[1] tdx.c:10:6: void tdx_sys_disable(void)",),
               why="its prototype and its EXPORT_SYMBOL_GPL() are no users"),
]

VALID = [
    SeriesCase(base=_BASE, commits=(Commit("x86/tdx: Disable the TDX module during kexec and kdump",
                                           ((_TDX_C, _WITH_WRAPPER), ("arch/x86/kernel/crash.c", _CALLER))),),
               why="the wrapper and its caller in one patch"),
    SeriesCase(base=_BASE, commits=(_ADD,), why="an exported-style wrapper whose users come in a later series"),
    SeriesCase(base=_BASE + (("arch/x86/virt/vmx/tdx/seamcall.c", _WITH_WRAPPER.replace(
                   "static int tdx_module_status;\n\n    int tdx_enable(void)\n    {\n    \treturn 0;\n    }\n\n", "")),),
               commits=(Commit("x86/virt/tdx: Move the SEAMCALL wrappers into tdx.c",
                               ((_TDX_C, _WITH_WRAPPER), ("arch/x86/virt/vmx/tdx/seamcall.c", None))), _USE),
               why="a function moved from another file: the tree had it already"),
    SeriesCase(base=_BASE, commits=(Commit(_ADD.subject, ((_TDX_C, _STATIC_HELPER.replace("static void", "static __maybe_unused void")),)),),
               why="__maybe_unused says the author knows; no later user to name either"),
]
