"""A SEAMCALL/TDCALL leaf #define that does not spell the spec's name.

What it flags: an added `#define TDH_...` or `#define TDG_...` with a
number, in TDX code, when the changelog or an added comment names the
same leaf the way the spec does (TDH.SYS.DISABLE) and the define puts its
underscores elsewhere (TDH_SYSDISABLE). Only the underscores are compared,
so a different word (TDH_SYS_DISABLED) is not matched to the leaf. A define
whose leaf the patch never names in dotted form is left alone.

Why: the kernel names leaves after the TDX module spec, TDH.X.Y as
TDH_X_Y with a tdh_x_y() wrapper, so that a reader can search the spec
for the name in the code ("We kind of have a convention around the
seamcall wrappers matching the tdx docs name", Rick).

Fires on: `#define TDH_SYSDISABLE 69` in a patch whose changelog says
"TDH.SYS.DISABLE". Must not fire on `#define TDH_SYS_DISABLE 69`, nor on a
define whose dotted name the patch never mentions.
"""
from __future__ import annotations

from ..lazyre import lazy_re
from ..areas import TDX
from ..rulekit import Case, Hit, added_lines_in

ID = "tdx-leaf-name"
SEVERITY = "warning"
PATHS = TDX

_DOTTED = lazy_re(r"\b(TD[HG](?:\.[A-Z0-9]+)+)\b")
_LEAF_DEFINE = lazy_re(r"^\s*#\s*define\s+(TD[HG]_[A-Z0-9_]+)\s+\(?\s*(?:\d+|0x[0-9A-Fa-f]+)\b")
_COMMENT = lazy_re(r"^\s*(?:/\*|\*|//)")


def _squash(name: str) -> str:
    return name.replace(".", "").replace("_", "")


def check_patch(patch):
    texts = list(patch.changelog_lines)
    texts += [ln.text for _, ln in added_lines_in(patch, TDX) if _COMMENT.match(ln.text)]
    text = "\n".join(texts)
    if "TDH." not in text and "TDG." not in text:
        return
    spec = {}
    for dotted in _DOTTED.findall(text):
        spec.setdefault(_squash(dotted), dotted)
    if not spec:
        return
    for f, ln in added_lines_in(patch, TDX):
        m = _LEAF_DEFINE.match(ln.text)
        if not m:
            continue
        name = m.group(1)
        dotted = spec.get(_squash(name))
        if dotted is None or dotted.replace(".", "_") == name:
            continue
        want = dotted.replace(".", "_")
        yield Hit(f"{name} does not spell the spec's {dotted}; name it {want}",
                  path=f.path, line=ln.new_no,
                  comment=f"The spec calls this leaf {dotted}, so please name it {want} "
                          "(and the wrapper after it), as the other leaves are.")


_HOST_H = "arch/x86/virt/vmx/tdx/tdx.h"
_CONTEXT = "#define TDH_SYS_CONFIG\t\t\t45"

INVALID = [
    Case(path=_HOST_H, before=_CONTEXT, code="#define TDH_SYSDISABLE\t\t\t69",
         changelog="Add the TDH.SYS.DISABLE leaf so that kexec can shut the module down.",
         at=("TDH_SYSDISABLE",), why="underscore dropped"),
    Case(path=_HOST_H, before=_CONTEXT, code="""
        /* TDH.PHYMEM.PAMT.ADD: give the module a PAMT page. */
        #define TDH_PHYMEMPAMT_ADD\t\t58
        """, at=("TDH_PHYMEMPAMT_ADD",), why="the dotted name is in a comment"),
    Case(path="arch/x86/include/asm/shared/tdx.h", code="#define TDG_VM_RD_\t\t\t7",
         changelog="Use TDG.VM.RD to read the TD's attributes.", at=("TDG_VM_RD_",),
         why="a guest leaf with a stray underscore"),
]

VALID = [
    Case(path=_HOST_H, before=_CONTEXT, code="#define TDH_SYS_DISABLE\t\t\t69",
         changelog="Add the TDH.SYS.DISABLE leaf so that kexec can shut the module down.",
         why="spelled like the spec"),
    Case(path=_HOST_H, before=_CONTEXT, code="#define TDH_SYSDISABLE\t\t\t69",
         changelog="Add the leaf that disables the module.", why="no dotted name to compare with"),
    Case(path=_HOST_H, code="#define TDH_SYS_DISABLE_V1\t\t(TDH_SYS_DISABLE | (1ULL << TDX_VERSION_SHIFT))",
         changelog="Use version 1 of TDH.SYS.DISABLE.", why="not a plain leaf number"),
]
