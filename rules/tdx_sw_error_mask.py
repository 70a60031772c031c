"""`x & TDX_SW_ERROR` used as a truth value.

What it flags: a bitwise AND with TDX_SW_ERROR whose result is tested for
non-zero (an if/while condition, `!`, `&&`, `||`, `?:`, `!= 0`, `== 0`, a
bool) instead of being compared with TDX_SW_ERROR.

Why: TDX_SW_ERROR is TDX_ERROR | GENMASK_ULL(47, 40), a multi-bit mask
(0x8000FF0000000000). Bit 63 is part of it, so `ret & TDX_SW_ERROR` is true
for every TDX error, not just the kernel's own #GP/#UD/VMFAILINVALID codes.
The only class test is `(ret & TDX_SW_ERROR) == TDX_SW_ERROR`.

Fires on:
    if (ret & TDX_SW_ERROR)
        return -ENODEV;
Must not fire on `if ((ret & TDX_SW_ERROR) == TDX_SW_ERROR)`, on
`if (ret && (ret & TDX_SW_ERROR) != TDX_SW_ERROR)`, nor on `if (ret & TDX_ERROR)`
(a single bit is a fine truth value).
"""
from __future__ import annotations

from ..areas import TDX
from ..rulekit import Case, Hit

ID = "tdx-sw-error-mask"
SEVERITY = "error"
PATHS = TDX

_TRUTH_PARENTS = {"if_statement", "while_statement", "do_statement", "for_statement",
                  "conditional_expression"}


def _operator(region, node) -> str:
    op = node.child_by_field_name("operator")
    return region.text(op) if op is not None else ""


def masks_with(region, node, constant: str) -> bool:
    if node.type != "binary_expression" or _operator(region, node) != "&":
        return False
    return any(region.text(side).strip() == constant
               for side in (node.child_by_field_name("left"), node.child_by_field_name("right"))
               if side is not None)


def used_as_truth(region, node) -> bool:
    child, parent = node, node.parent
    while parent is not None and parent.type == "parenthesized_expression":
        child, parent = parent, parent.parent
    if parent is None:
        return False
    if parent.type in _TRUTH_PARENTS:
        return parent.child_by_field_name("condition") == child
    if parent.type == "unary_expression" and _operator(region, parent) == "!":
        return True
    if parent.type == "binary_expression":
        op = _operator(region, parent)
        if op in ("&&", "||"):
            return True
        if op in ("==", "!="):
            other = parent.child_by_field_name("right")
            if other == child:
                other = parent.child_by_field_name("left")
            return other is not None and region.text(other).strip() in ("0", "0ULL", "0UL")
    if parent.type == "cast_expression" and "bool" in region.text(parent.child_by_field_name("type") or parent):
        return True
    return False


def check_file(source, patch):
    for region in source.regions:
        for node in region.find("binary_expression"):
            if not masks_with(region, node, "TDX_SW_ERROR") or not used_as_truth(region, node):
                continue
            line = region.line_no(node.start_point[0])
            if region.is_added(line):
                yield Hit(
                    "`& TDX_SW_ERROR` tested as a truth value matches every TDX error",
                    line=line,
                    comment="TDX_SW_ERROR is a multi-bit mask that includes bit 63, so this is "
                            "true for any TDX error. Please test "
                            "'(ret & TDX_SW_ERROR) == TDX_SW_ERROR' (or IS_TDX_SW_ERROR() where "
                            "the tree has it).")


INVALID = [
    Case(code="""
        	if (ret & TDX_SW_ERROR)
        		return -ENODEV;
        """, at=("if (ret & TDX_SW_ERROR)",), why="the plain mistake"),
    Case(code="\treturn !!(err & TDX_SW_ERROR);", at=("!!(err & TDX_SW_ERROR)",), why="!! is a truth test"),
    Case(path="arch/x86/kvm/vmx/tdx.c",
         code="\tif (unlikely(vp_enter_ret) && (vp_enter_ret & TDX_SW_ERROR) != 0)",
         at=("!= 0",), why="compared with zero"),
    Case(code="\tWARN_ON_ONCE(!kvm_rebooting && (exit & TDX_SW_ERROR));",
         at=("(exit & TDX_SW_ERROR)",), why="operand of &&"),
]

VALID = [
    Case(code="\tif ((ret & TDX_SW_ERROR) == TDX_SW_ERROR)", why="the correct idiom"),
    Case(code="""
        	if (ret && (ret & TDX_SW_ERROR) != TDX_SW_ERROR)
        		pr_err("TDH.SYS.DISABLE failed: 0x%016llx\\n", ret);
        """, why="the seed's test"),
    Case(code="\tif (ret & TDX_ERROR)", why="single bit"),
    Case(code="#define TDX_SEAMCALL_GP\t\t\t(TDX_SW_ERROR | X86_TRAP_GP)",
         path="arch/x86/include/asm/tdx.h", why="building a code, not testing one"),
    Case(code="\tif (IS_TDX_SW_ERROR(ret))", why="helper"),
]
