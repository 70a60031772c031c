"""A SEAMCALL leaf version written as raw bits instead of by name.

What it flags: an added line in TDX code that ORs a version into a leaf
number by hand: `TDH_VP_INIT | (1ULL << 16)`, `| BIT_ULL(16)`,
`| 0x10000`, or `seamcall(22 | (1ULL << 16), &args)`.

Why: bits 23:16 of a SEAMCALL leaf select the leaf's version. The kernel
names that position (TDX_VERSION_SHIFT, or SEAMCALL_LEAF_VER() in newer
trees) so that `TDH_VP_INIT | (1ULL << TDX_VERSION_SHIFT)` says what it
does; a bare 16 reads like a magic number, and a reviewer has to look up
the leaf layout to check it.

Fix: `(1ULL << TDX_VERSION_SHIFT)` (the version number in place of 1),
unless the tree in sight writes SEAMCALL_LEAF_VER(), where the right
spelling would be a guess.

Fires on: `seamcall(TDH_VP_INIT | (1ULL << 16), &args)`.
Must not fire on `seamcall(TDH_VP_INIT | (1ULL << TDX_VERSION_SHIFT), &args)`,
nor on `1ULL << 16` that has nothing to do with a leaf.
"""
from __future__ import annotations

from ..lint.kit import TDX, Case, Violation, call_name, lazy_re, parse_expression, unwrap

ID = "tdx-leaf-version-bits"
SEVERITY = "warning"
PATHS = TDX
FIXES = True
TOPICS = ("version", "shift", "bit 16", "TDX_VERSION_SHIFT")

_LEAF = lazy_re(r"^TD[HG]_[A-Z0-9_]+$")
_NAMED = lazy_re(r"\b(?:TDX_VERSION_SHIFT|SEAMCALL_LEAF_VER|SEAMCALL_VER)\b")
_LEAF_CALLS = lazy_re(r"^(?:__)?seamcall\w*$|^sc_retry\w*$|^__tdcall\w*$")
_PREFIX = len("long __v = ")  # what parse_expression() puts before a #define's value


class BareVersionBits(Violation):
    message = "leaf version set with a bare bit 16; use TDX_VERSION_SHIFT"
    comment = ("Bits 23:16 of the leaf are its version; please write this with TDX_VERSION_SHIFT "
               "(or SEAMCALL_LEAF_VER() where the tree has it) rather than a bare 16.")


def check_file(file):
    # The fix names TDX_VERSION_SHIFT; a tree that writes SEAMCALL_LEAF_VER()
    # gets no fix, as the right spelling is then a guess.
    newer = None  # read only when there is something to fix
    for code in file.code:
        found = _in_expressions(code) + _in_defines(code)
        if found and newer is None:
            newer = any("SEAMCALL_LEAF_VER" in "\n".join(c.c.lines) for c in file.code)
        for node, edit in found:
            code.report(node, BareVersionBits(), fix=[] if newer else [edit])


def _in_expressions(code) -> list:
    """(node, fix) for each `leaf | version` with bare bits in the code."""
    found = []
    for node, op in code.c.binaries():
        version = _bare_version(code.c, node) if op in ("|", "+") else None
        if version is not None:
            found.append((node, code.edit(version, _named(code.c.int_value(version, {})))))
    return found


def _in_defines(code) -> list:
    """(define, fix) for each `leaf | version` with bare bits in a #define's
    value (which tree-sitter does not parse)."""
    found = []
    for define, _name, value in code.c.define_nodes():
        if "|" not in value and "+" not in value:
            continue  # no `leaf | version` in it: not worth a parse
        parsed = parse_expression(value)
        for node in parsed[0].find("binary_expression") if parsed else ():
            version = _bare_version(parsed[0], node)
            if version is not None:
                raw = code.c.text(define.child_by_field_name("value"))
                at = version.start_byte - _PREFIX + len(raw) - len(raw.lstrip())
                found.append((define, code.edit(define.child_by_field_name("value"),
                                                _named(parsed[0].int_value(version, {})), at,
                                                at + version.end_byte - version.start_byte)))
    return found


def _is_leaf(c, node) -> bool:
    """A leaf: a TDH_*/TDG_* name, or a number given to a SEAMCALL as its leaf."""
    node = unwrap(node)
    if node is None:
        return False
    if node.type == "identifier":
        return bool(_LEAF.match(c.text(node)))
    if node.type == "number_literal":
        parent = node.parent
        while parent is not None and parent.type in ("binary_expression", "parenthesized_expression"):
            parent = parent.parent
        call = parent.parent if parent is not None and parent.type == "argument_list" else None
        return call is not None and bool(_LEAF_CALLS.match(call_name(call)))
    return False


def _bare_version(c, node):
    """The version operand of `leaf | version` when its bits are written as
    a number (else None)."""
    if node.type != "binary_expression" or c.op(node) not in ("|", "+"):
        return None
    left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
    for leaf, version in ((left, right), (right, left)):
        value = c.int_value(version, {})
        if _is_leaf(c, leaf) and value and value & 0xFF0000 == value \
                and not _NAMED.search(c.text(version)):
            return version
    return None


def _named(value: int) -> str:
    return f"({value >> 16}ULL << TDX_VERSION_SHIFT)"


INVALID = [
    Case(code="\treturn seamcall(TDH_VP_INIT | (1ULL << 16), &args);",
         at=('1:17: TDH_VP_INIT | (1ULL << 16)',), why="shift by a bare 16",
         fixed="\treturn seamcall(TDH_VP_INIT | (1ULL << TDX_VERSION_SHIFT), &args);"),
    Case(path="arch/x86/virt/vmx/tdx/tdx.h", code="#define TDH_SYS_DISABLE_V1\t(TDH_SYS_DISABLE | BIT_ULL(16))",
         at=('1:1: BIT_ULL(16)',), why="BIT_ULL(16) in a versioned leaf define",
         fixed="#define TDH_SYS_DISABLE_V1\t(TDH_SYS_DISABLE | (1ULL << TDX_VERSION_SHIFT))"),
    Case(code="\tret = seamcall_ret(22 | 0x10000, &args);", at=('1:20: 22 | 0x10000',),
         why="a raw leaf number and raw version",
         fixed="\tret = seamcall_ret(22 | (1ULL << TDX_VERSION_SHIFT), &args);"),
]

VALID = [
    Case(code="\treturn seamcall(TDH_VP_INIT | (1ULL << TDX_VERSION_SHIFT), &args);", why="named shift"),
    Case(code="\tpamt_size = 1ULL << 16;", why="not a leaf"),
    Case(code="\targs.r8 |= BIT(16);", why="a flag in an argument register, not the leaf"),
]
