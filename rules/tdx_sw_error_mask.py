"""`x & TDX_SW_ERROR` used as a truth value.

What it flags: a bitwise AND with TDX_SW_ERROR whose result is tested for
non-zero (an if/while condition, `!`, `&&`, `||`, `?:`, `!= 0`, `== 0`, a
bool) instead of being compared with TDX_SW_ERROR.

Why: TDX_SW_ERROR is TDX_ERROR | GENMASK_ULL(47, 40), a multi-bit mask
(0x8000FF0000000000). Bit 63 is part of it, so `ret & TDX_SW_ERROR` is true
for every TDX error, not just the kernel's own #GP/#UD/VMFAILINVALID codes.
The only class test is `(ret & TDX_SW_ERROR) == TDX_SW_ERROR`.

Fix: the class test, `(x & TDX_SW_ERROR) == TDX_SW_ERROR` (or `!=` where
the code tested for zero), with the code's own expression for x.

Fires on:
    if (ret & TDX_SW_ERROR)
        return -ENODEV;
Must not fire on `if ((ret & TDX_SW_ERROR) == TDX_SW_ERROR)`, on
`if (ret && (ret & TDX_SW_ERROR) != TDX_SW_ERROR)`, nor on `if (ret & TDX_ERROR)`
(a single bit is a fine truth value).
"""
from __future__ import annotations

from ..lint.kit import TDX, Case, Violation, masked_with

ID = "tdx-sw-error-mask"
SEVERITY = "error"
PATHS = TDX
FIXES = True
TOPICS = ("sw_error", "mask", "class", "truth")


class TruthTest(Violation):
    message = "`& TDX_SW_ERROR` tested as a truth value matches every TDX error"
    comment = ("TDX_SW_ERROR is a multi-bit mask that includes bit 63, so this is true for any "
               "TDX error. Please test '({value} & TDX_SW_ERROR) == TDX_SW_ERROR' (or "
               "IS_TDX_SW_ERROR() where the tree has it).")


def check_file(file):
    for code in file.code:
        for node, op in code.c.binaries():
            if op == "&" and masked_with(code.c, node, "TDX_SW_ERROR") and code.c.truth_context(node):
                value = _masked_value(code, node)
                code.report(node, TruthTest(value=value), fix=[_class_test(code, node, value)])


def _masked_value(code, node) -> str:
    """The text of what `x & TDX_SW_ERROR` masks: x."""
    left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
    return code.c.text(right if code.c.is_constant(left, "TDX_SW_ERROR") else left).strip()


def _class_test(code, node, value: str):
    """The edit that turns the truth test into the class test: `x & SW`
    becomes `(x & SW) == SW`; `(x & SW) != 0` and `!!(x & SW)` become it
    whole; `(x & SW) == 0` and `!(x & SW)` become `(x & SW) != SW`."""
    test = f"({value} & TDX_SW_ERROR) {{}} TDX_SW_ERROR"
    outer = node
    while outer.parent is not None and outer.parent.type == "parenthesized_expression":
        outer = outer.parent
    parent = outer.parent
    if parent is not None and parent.type == "binary_expression" and code.c.op(parent) in ("==", "!="):
        return code.edit(parent, test.format("!=" if code.c.op(parent) == "==" else "=="))
    if parent is not None and parent.type == "unary_expression" and code.c.op(parent) == "!":
        grand = parent.parent
        if grand is not None and grand.type == "unary_expression" and code.c.op(grand) == "!":
            return code.edit(grand, test.format("=="))
        return code.edit(parent, test.format("!="))
    # Inside parentheses that only group it, the parentheses go too.
    if outer is not node and parent is not None and parent.type in ("binary_expression",
                                                                     "conditional_expression"):
        return code.edit(outer, test.format("=="))
    return code.edit(node, test.format("=="))


INVALID = [
    Case(code="""
        	if (ret & TDX_SW_ERROR)
        		return -ENODEV;
        """, at=('1:5: if (ret & TDX_SW_ERROR)',), why="the plain mistake", fixed="""
        	if ((ret & TDX_SW_ERROR) == TDX_SW_ERROR)
        		return -ENODEV;
        """),
    Case(code="\treturn !!(err & TDX_SW_ERROR);", at=('1:11: !!(err & TDX_SW_ERROR)',), why="!! is a truth test",
         fixed="\treturn (err & TDX_SW_ERROR) == TDX_SW_ERROR;"),
    Case(path="arch/x86/kvm/vmx/tdx.c",
         code="\tif (unlikely(vp_enter_ret) && (vp_enter_ret & TDX_SW_ERROR) != 0)",
         at=('1:32: != 0',), why="compared with zero",
         fixed="\tif (unlikely(vp_enter_ret) && (vp_enter_ret & TDX_SW_ERROR) == TDX_SW_ERROR)"),
    Case(code="\tWARN_ON_ONCE(!kvm_rebooting && (exit & TDX_SW_ERROR));",
         at=('1:33: (exit & TDX_SW_ERROR)',), why="operand of &&",
         fixed="\tWARN_ON_ONCE(!kvm_rebooting && (exit & TDX_SW_ERROR) == TDX_SW_ERROR);"),
    Case(path="arch/x86/kvm/vmx/tdx.c", code="\tif (unlikely(tdx->vp_enter_ret & TDX_SW_ERROR))",
         at=('1:14: tdx->vp_enter_ret & TDX_SW_ERROR',), why="wrapped in unlikely(), a struct field",
         fixed="\tif (unlikely((tdx->vp_enter_ret & TDX_SW_ERROR) == TDX_SW_ERROR))"),
    Case(path="arch/x86/kvm/vmx/tdx.c", code="\tif (KVM_BUG_ON(err & TDX_SW_ERROR, kvm))",
         at=('1:16: KVM_BUG_ON(err & TDX_SW_ERROR',), why="the argument of KVM_BUG_ON()",
         fixed="\tif (KVM_BUG_ON((err & TDX_SW_ERROR) == TDX_SW_ERROR, kvm))"),
    Case(code="""
        static bool tdx_sw_failure(u64 err)
        {
        	return err & TDX_SW_ERROR;
        }
        """, at=('3:9: return err & TDX_SW_ERROR;',), why="returned from a bool function", fixed="""
        static bool tdx_sw_failure(u64 err)
        {
        	return (err & TDX_SW_ERROR) == TDX_SW_ERROR;
        }
        """),
    Case(code="""
        	bool failed;

        	failed = sret & TDX_SW_ERROR;
        """, at=('3:10: failed = sret & TDX_SW_ERROR;',), why="assigned to a bool", fixed="""
        	bool failed;

        	failed = (sret & TDX_SW_ERROR) == TDX_SW_ERROR;
        """),
    Case(code="""
        	if (ret &
        	    TDX_SW_ERROR)
        		return -EIO;
        """, at=('1:5: if (ret &',), why="split over two lines", fixed="""
        	if ((ret & TDX_SW_ERROR) == TDX_SW_ERROR)
        		return -EIO;
        """),
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
    Case(code="""
        	/* Testing (ret & TDX_SW_ERROR) alone would match every error. */
        	pr_debug("ret & TDX_SW_ERROR is not a class test\\n");
        """, why="the same text in a comment and a string"),
    Case(code="\tu64 class = ret & TDX_SW_ERROR;", why="kept as a value, not tested"),
    Case(path="arch/x86/kvm/vmx/tdx.c",
         code="\tif (unlikely((tdx->vp_enter_ret & TDX_SW_ERROR) == TDX_SW_ERROR))",
         why="KVM's own class test"),
]
