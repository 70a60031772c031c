"""A line one patch of the series adds and a later patch rewrites or removes.

What it flags: a line that patch N adds and patch M (later in the same
series) takes out again, rewritten or not replaced at all. The finding
sits on patch M's line that replaces it (or on patch M as a whole when
nothing replaces it) and names patch N. Only lines that say something
count: braces, bare returns, comment markers and short lines recur
everywhere. A line the tree already had (it shows as context in patch N
too) is left alone, and so is a line that patch M moves or re-indents
(removes and adds back in the same hunk: into a new branch, say).

Why: a series should read as the final design built up step by step, not
as the history of how the author got there. When patch 4 rewrites what
patch 2 just added, a reviewer reads the code twice and has to work out
which version to judge; "fold this into patch 2" is the standard answer.
A deliberate two-step (add the simple version, then the optimisation) is
possible, but then the changelog of patch M should say so.

Fires on: patch 1 adding `static __maybe_unused int seamldr_call(...)`
and patch 2 dropping the `__maybe_unused` again; patch 3 adding a
`return stop_machine(...)` that patch 5 rewrites.
Must not fire on a later patch that changes a line the series did not
add, on a brace or `return 0;` that both patches happen to have, on a
variable added to a declaration (`int ret, cpu;`), nor on lines a later
patch only shows as context.
"""
from __future__ import annotations

from ..lint.kit import CodeLine, Commit, PatchAt, SeriesCase, Violation
from ._series import substantial

ID = "series-churn"
SEVERITY = "warning"
PATHS = None
TOPICS = ("fold", "squash", "churn", "rewrites", "earlier patch", "previous patch", "merge into")


class Rewritten(Violation):
    message = "rewrites a line patch {first}/{total} added ({line!r}); fold this change into patch {first}"
    comment = ("This rewrites what patch {first}/{total} of this series just added. Please fold the "
               "change into patch {first}, so that the series adds the final code once.")


class Removed(Violation):
    message = "removes a line patch {first}/{total} added ({line!r}); fold this change into patch {first}"
    comment = ("This takes out again what patch {first}/{total} of this series added. Please fold the "
               "change into patch {first}, so that it never adds that line.")


def check_series(ctx):
    patches = sorted(ctx.series.patches, key=lambda p: p.index)
    total = ctx.series.total
    added_in: dict[tuple[str, str], int] = {}  # (path, line) -> the last patch that added it
    context: set[tuple[str, str]] = set()  # lines the tree had before the patch that added them
    for patch in patches:
        for diff in patch.files:
            if diff.is_binary:
                continue
            path = diff.path
            old = diff.old_path or path
            for hunk in diff.hunks:
                removed = [ln for ln in hunk.lines if ln.kind == "-"]
                if not removed:
                    continue
                readded = {ln.text.strip() for ln in hunk.lines if ln.kind == "+"}
                hits = []
                for k, ln in enumerate(hunk.lines):
                    if ln.kind != "-":
                        continue
                    key = (old, ln.text.rstrip())
                    first = added_in.get(key)
                    if first is None or first >= patch.index or key in context or ln.text.strip() in readded:
                        continue
                    hits.append((first, ln.text.strip(), k))
                if not hits:
                    continue
                first, text, at = hits[0]
                replacement = _replacement(hunk.lines, at)
                line = text if len(text) <= 60 else text[:57] + "..."
                if replacement is not None:
                    ctx.report(PatchAt(patch.index, CodeLine(path, replacement.new_no)),
                               Rewritten(first=first, total=total, line=line))
                else:
                    ctx.report(PatchAt(patch.index), Removed(first=first, total=total, line=line))
        for diff in patch.files:
            if diff.is_binary:
                continue
            for hunk in diff.hunks:
                for ln in hunk.lines:
                    text = ln.text.rstrip()
                    if ln.kind == " " and substantial(text):
                        key = (diff.path, text)
                        if key not in added_in:
                            context.add(key)
                    elif ln.kind == "+" and substantial(text):
                        key = (diff.path, text)
                        if key not in context:
                            added_in[key] = patch.index


def _replacement(lines, at: int):
    """The added line that takes the place of the removed line at index at:
    the first one after it before the next context line, else the last
    one right above it, else none."""
    for ln in lines[at + 1:]:
        if ln.kind == " ":
            break
        if ln.kind == "+":
            return ln
    for ln in reversed(lines[:at]):
        if ln.kind == " ":
            break
        if ln.kind == "+":
            return ln
    return None


_SEAMLDR = "arch/x86/virt/vmx/tdx/seamldr.c"
_BASE = ((_SEAMLDR, """\
    #include <linux/kernel.h>

    static DEFINE_RAW_SPINLOCK(seamldr_lock);
    """),)
_CALL = """\
    #include <linux/kernel.h>

    static DEFINE_RAW_SPINLOCK(seamldr_lock);

    static __maybe_unused int seamldr_call(u64 fn, struct tdx_module_args *args)
    {
    \tguard(raw_spinlock)(&seamldr_lock);
    \treturn seamcall_prerr(fn, args);
    }
    """
_USED = _CALL.replace("static __maybe_unused int", "static int") + """
    int seamldr_get_info(struct seamldr_info *info)
    {
    \tstruct tdx_module_args args = { .rcx = slow_virt_to_phys(info) };

    \treturn seamldr_call(P_SEAMLDR_INFO, &args);
    }
    """
_ADD = Commit("x86/virt/seamldr: Introduce a wrapper for P-SEAMLDR SEAMCALLs", ((_SEAMLDR, _CALL),))
_USE = Commit("x86/virt/seamldr: Add a helper to retrieve P-SEAMLDR information", ((_SEAMLDR, _USED),))

INVALID = [
    SeriesCase(base=_BASE, commits=(_ADD, _USE),
               at=("[2] seamldr.c:5:0: static int seamldr_call",),
               why="the annotation patch 1 adds is taken off again by patch 2"),
    SeriesCase(base=_BASE, commits=(_ADD, Commit("x86/virt/seamldr: Drop the lock", ((_SEAMLDR, _CALL.replace(
                   "    \tguard(raw_spinlock)(&seamldr_lock);\n", "")),))),
               at=("[2] patch: guard(raw_spinlock)",),
               why="a line of patch 1 removed, nothing in its place"),
    SeriesCase(base=_BASE, commits=(_ADD, Commit("x86/virt/tdx: Unrelated", (("arch/x86/virt/vmx/tdx/tdx.h", "#define X 1\n"),)),
                                    Commit("x86/virt/seamldr: Use the plain SEAMCALL", ((_SEAMLDR, _CALL.replace(
                                        "seamcall_prerr(fn, args)", "seamcall(fn, args)")),))),
               at=("[3] seamldr.c:8:0: return seamcall(fn, args);",),
               why="two patches apart"),
]

VALID = [
    SeriesCase(base=((_SEAMLDR, _CALL),), commits=(Commit(_USE.subject, ((_SEAMLDR, _USED),)),),
               why="the line was in the tree before the series"),
    SeriesCase(base=_BASE, commits=(_ADD, Commit("x86/virt/seamldr: Add the info helper", ((_SEAMLDR, _CALL + """
    int seamldr_get_info(struct seamldr_info *info)
    {
    \tstruct tdx_module_args args = { .rcx = slow_virt_to_phys(info) };

    \treturn seamldr_call(P_SEAMLDR_INFO, &args);
    }
    """),))),
               why="a later patch that only adds below lines of an earlier one (they are context)"),
    SeriesCase(base=((_SEAMLDR, _BASE[0][1] + "\nint a(void)\n{\n\treturn 0;\n}\n"),),
               commits=(Commit("x86/virt/seamldr: Add b()", ((_SEAMLDR, _BASE[0][1] + "\nint a(void)\n{\n\treturn 0;\n}\n\nint b(void)\n{\n\treturn 0;\n}\n"),)),
                        Commit("x86/virt/seamldr: Make a() fail", ((_SEAMLDR, _BASE[0][1] + "\nint a(void)\n{\n\treturn -EIO;\n}\n\nint b(void)\n{\n\treturn 0;\n}\n"),))),
               why="'return 0;' is in both patches, but it is no line worth following"),
    SeriesCase(base=_BASE, commits=(
        Commit("x86/virt/seamldr: Add seamldr_count()", ((_SEAMLDR, _BASE[0][1] + "\nint seamldr_count(void)\n{\n\tint ret, cpu;\n\n\treturn seamldr_walk(&ret, &cpu);\n}\n"),)),
        Commit("x86/virt/seamldr: Count per package", ((_SEAMLDR, _BASE[0][1] + "\nint seamldr_count(void)\n{\n\tint ret, cpu, pkg;\n\n\treturn seamldr_walk(&ret, &cpu);\n}\n"),))),
               why="a later patch adds a variable to a declaration an earlier one added"),
    SeriesCase(base=_BASE, commits=(_ADD, Commit("x86/virt/seamldr: Lock only when asked", ((_SEAMLDR, _CALL.replace(
                   "    \tguard(raw_spinlock)(&seamldr_lock);\n",
                   "    \tif (fn != P_SEAMLDR_INFO)\n    \t\tguard(raw_spinlock)(&seamldr_lock);\n")),))),
               why="a later patch puts a line an earlier one added under a condition (re-indented, not rewritten)"),
]
