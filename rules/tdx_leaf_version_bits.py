"""A SEAMCALL leaf version written as raw bits instead of by name.

What it flags: an added line in TDX code that ORs a version into a leaf
number by hand: `TDH_VP_INIT | (1ULL << 16)`, `| BIT_ULL(16)`,
`| 0x10000`, or `seamcall(22 | (1ULL << 16), &args)`.

Why: bits 23:16 of a SEAMCALL leaf select the leaf's version. The kernel
names that position (TDX_VERSION_SHIFT, or SEAMCALL_LEAF_VER() in newer
trees) so that `TDH_VP_INIT | (1ULL << TDX_VERSION_SHIFT)` says what it
does; a bare 16 reads like a magic number, and a reviewer has to look up
the leaf layout to check it.

Fires on: `seamcall(TDH_VP_INIT | (1ULL << 16), &args)`.
Must not fire on `seamcall(TDH_VP_INIT | (1ULL << TDX_VERSION_SHIFT), &args)`,
nor on `1ULL << 16` that has nothing to do with a leaf.
"""
from __future__ import annotations

from ..lazyre import lazy_re
from ..areas import TDX
from ..rulekit import Case, Hit, added_lines_in

ID = "tdx-leaf-version-bits"
SEVERITY = "warning"
PATHS = TDX

_LEAF_OR = lazy_re(r"(?:\bTD[HG]_[A-Z0-9_]+|\bseamcall\w*\(\s*\d+)\s*\|\s*\(?\s*"
                   r"(?:\d+U?L{0,2}\s*<<\s*16\b|BIT(?:_ULL)?\(\s*16\s*\)|0x[0-9A-Fa-f]{1,2}0000U?L{0,2}\b)")


def check_patch(patch):
    for f, ln in added_lines_in(patch, TDX):
        if _LEAF_OR.search(ln.text):
            yield Hit("leaf version set with a bare bit 16; use TDX_VERSION_SHIFT",
                      path=f.path, line=ln.new_no,
                      comment="Bits 23:16 of the leaf are its version; please write this "
                              "with TDX_VERSION_SHIFT (or SEAMCALL_LEAF_VER() where the "
                              "tree has it) rather than a bare 16.")


INVALID = [
    Case(code="\treturn seamcall(TDH_VP_INIT | (1ULL << 16), &args);",
         at=("TDH_VP_INIT | (1ULL << 16)",), why="shift by a bare 16"),
    Case(path="arch/x86/virt/vmx/tdx/tdx.h", code="#define TDH_SYS_DISABLE_V1\t(TDH_SYS_DISABLE | BIT_ULL(16))",
         at=("BIT_ULL(16)",), why="BIT_ULL(16) in a versioned leaf define"),
    Case(code="\tret = seamcall_ret(22 | 0x10000, &args);", at=("22 | 0x10000",),
         why="a raw leaf number and raw version"),
]

VALID = [
    Case(code="\treturn seamcall(TDH_VP_INIT | (1ULL << TDX_VERSION_SHIFT), &args);", why="named shift"),
    Case(code="\tpamt_size = 1ULL << 16;", why="not a leaf"),
    Case(code="\targs.r8 |= BIT(16);", why="a flag in an argument register, not the leaf"),
]
