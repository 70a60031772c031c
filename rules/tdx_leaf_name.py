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

from ..lint.kit import TDX, Case, Violation, int_literal, lazy_re

ID = "tdx-leaf-name"
SEVERITY = "warning"
PATHS = TDX
TOPICS = ("name", "spec", "leaf", "spell")

_DOTTED = lazy_re(r"\b(TD[HG](?:\.[A-Z0-9]+)+)\b")
_LEAF = lazy_re(r"^TD[HG]_[A-Z0-9_]+$")


class NotTheSpecName(Violation):
    message = "{name} does not spell the spec's {dotted}; name it {want}"
    comment = ("The spec calls this leaf {dotted}, so please name it {want} (and the wrapper "
               "after it), as the other leaves are.")


def check_patch(ctx):
    files = ctx.files(TDX)
    # The leaves the patch defines come first: most patches define none.
    leaves = [(code, node, name) for file in files for code in file.code
              for node, name, value in code.c.define_nodes()
              if _LEAF.match(name) and int_literal(value.strip("() ")) is not None]
    if not leaves:
        return
    spec = _spec_names(ctx, files)
    for code, node, name in leaves if spec else ():
        dotted = spec.get(_squash(name))
        want = dotted.replace(".", "_") if dotted else name
        if want != name:
            code.report(node, NotTheSpecName(name=name, dotted=dotted, want=want))


def _squash(name: str) -> str:
    return name.replace(".", "").replace("_", "")


def _spec_names(ctx, files) -> dict[str, str]:
    """The spec's names, as the changelog and the comments the patch adds
    write them, by their letters alone."""
    texts = list(ctx.patch.changelog_lines)
    texts += [c.prose() for f in files for code in f.code for c in code.c.comments()
              if ("TDH." in c.raw or "TDG." in c.raw) and code.c.touches_added(c.node)]
    spec = {}
    for dotted in _DOTTED.findall("\n".join(texts)):
        spec.setdefault(_squash(dotted), dotted)
    return spec


_HOST_H = "arch/x86/virt/vmx/tdx/tdx.h"
_CONTEXT = "#define TDH_SYS_CONFIG\t\t\t45"

INVALID = [
    Case(path=_HOST_H, before=_CONTEXT, code="#define TDH_SYSDISABLE\t\t\t69",
         changelog="Add the TDH.SYS.DISABLE leaf so that kexec can shut the module down.",
         at=('2:1: TDH_SYSDISABLE',), why="underscore dropped"),
    Case(path=_HOST_H, before=_CONTEXT, code="""
        /* TDH.PHYMEM.PAMT.ADD: give the module a PAMT page. */
        #define TDH_PHYMEMPAMT_ADD\t\t58
        """, at=('3:1: TDH_PHYMEMPAMT_ADD',), why="the dotted name is in a comment"),
    Case(path="arch/x86/include/asm/shared/tdx.h", code="#define TDG_VM_RD_\t\t\t7",
         changelog="Use TDG.VM.RD to read the TD's attributes.", at=('1:1: TDG_VM_RD_',),
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
