"""A SEAMCALL status compared raw with a code that carries detail bits.

What it flags: `==`, `!=` or a `case` label comparing a SEAMCALL result
with a status the TDX module returns with operand or detail bits in 31:0
(TDX_OPERAND_BUSY, TDX_OPERAND_INVALID, TDX_EPT_WALK_FAILED,
TDX_EPT_ENTRY_STATE_INCORRECT, TDX_PREVIOUS_TLB_EPOCH_BUSY, ...) when the
result is not masked with TDX_SEAMCALL_STATUS_MASK/TDX_STATUS_MASK, passed
through TDX_STATUS(), or tested with an IS_TDX_*() / tdx_operand_busy()
helper. Codes the kernel compares raw on purpose (TDX_SUCCESS,
TDX_RND_NO_ENTROPY, TDX_INTERRUPTED_RESUMABLE, TDX_SYS_BUSY, ...) pass.

Why: the module builds these with the operand ID in the low half
(api_error_with_operand_id(TDX_OPERAND_BUSY, OPERAND_ID_SEPT)), so a raw
compare silently misses them. Dave: "Those fancy pants error codes are why
we need ... and can't just check the err directly."

Fix, where the code the patch shows already uses one: the IS_TDX_*()
helper for the code, else the status mask (`(err & TDX_SEAMCALL_STATUS_MASK)
== TDX_OPERAND_BUSY`). None for a switch, whose other cases may need the
full value.

Fires on:
    if (err == TDX_OPERAND_BUSY)
        return -EBUSY;
Must not fire on `(err & TDX_SEAMCALL_STATUS_MASK) == TDX_OPERAND_BUSY`, on
`err == (TDX_EPT_WALK_FAILED | TDX_OPERAND_ID_RCX)` (a deliberate full
compare) or on `switch (vp_enter_ret & TDX_SEAMCALL_STATUS_MASK)`.
"""
from __future__ import annotations

from ..lint.kit import DETAIL_STATUSES, TDX, Case, Violation, code_of, is_masked

ID = "tdx-status-unmasked"
SEVERITY = "error"
PATHS = TDX
FIXES = True
TOPICS = ("mask", "detail", "operand", "compare", "bits")


class RawCompare(Violation):
    message = "raw compare with {code}, which the TDX module returns with detail bits in 31:0"
    comment = ("{code} comes back with details (such as the operand ID) in bits 31:0, so this "
               "raw compare can miss it. Please mask with TDX_SEAMCALL_STATUS_MASK or use the "
               "IS_TDX_*() helper; if you mean the exact value, OR in the operand ID and say so.")


def check_file(file):
    for code in file.code:
        tdx = code.tdx
        for test in tdx.status_tests():
            if test.code in DETAIL_STATUSES and test.op in ("==", "!=") and not test.masked:
                code.report(test.node, RawCompare(code=test.code), fix=[_masked_test(code, test)])
        for switch in code.c.find("switch_statement"):
            if is_masked(code.c, switch.child_by_field_name("condition"), tdx.patch.maskers):
                continue
            for case in code.c.find("case_statement", within=switch):
                status = code_of(code.c, case.child_by_field_name("value"))
                if status in DETAIL_STATUSES:
                    code.report(case, RawCompare(code=status))


def _masked_test(code, test):
    """The compare rewritten with what the patch's code already uses."""
    helpers, mask = code.tdx.patch.masking_in_sight
    value = code.c.text(test.value).strip() if test.value is not None else None
    if value is None:
        return None
    if "IS_" + test.code in helpers:
        return code.edit(test.node, ("!" if test.op == "!=" else "") + f"IS_{test.code}({value})")
    if mask is not None:
        operand = value if test.value.type in ("identifier", "field_expression", "call_expression") \
            else f"({value})"
        return code.edit(test.node, f"({operand} & {mask}) {test.op} {test.code}")
    return None


INVALID = [
    Case(code="""
        	if (err == TDX_OPERAND_BUSY)
        		return -EBUSY;
        """, at=('1:5: err == TDX_OPERAND_BUSY',), why="the catalog's hit"),
    Case(path="arch/x86/kvm/vmx/tdx.c", code="""
        	switch (err) {
        	case TDX_SUCCESS:
        		return 0;
        	case TDX_EPT_WALK_FAILED:
        		return -ENOENT;
        	}
        """, at=('4:1: case TDX_EPT_WALK_FAILED:',), why="unmasked switch"),
    Case(code="\t} while (ret == TDX_SYS_BUSY || ret == TDX_OPERAND_BUSY);",
         at=('1:33: ret == TDX_OPERAND_BUSY',), why="raw BUSY in a loop condition"),
    Case(code="\tif (TDX_OPERAND_INVALID != tdh_mng_init(&kvm_tdx->td, __pa(td_params), &rcx))",
         at=('1:5: TDX_OPERAND_INVALID !=',), why="constant on the left"),
    Case(path="arch/x86/kvm/vmx/tdx.c", code="""
        	switch (tdx->vp_enter_ret) {
        	case TDX_SUCCESS:
        		return EXIT_FASTPATH_NONE;
        	case TDX_OPERAND_BUSY:
        		return EXIT_FASTPATH_REENTER_GUEST;
        	}
        """, at=('4:1: case TDX_OPERAND_BUSY:',), why="a switch on an unmasked status in a struct field"),
    Case(path="arch/x86/kvm/vmx/tdx.c",
         code="\tif (tdh_mem_track(&kvm_tdx->td) == TDX_PREVIOUS_TLB_EPOCH_BUSY)",
         at=('1:5: TDX_PREVIOUS_TLB_EPOCH_BUSY',), why="a call compared directly"),
    Case(code="""
        static bool tdx_key_busy(u64 err)
        {
        	return err == TDX_OPERAND_BUSY;
        }
        """, at=('3:9: return err == TDX_OPERAND_BUSY;',), why="a helper the patch adds compares raw"),
    Case(path="arch/x86/kvm/vmx/tdx.c", before="\tif (IS_TDX_OPERAND_BUSY(err))\n\t\treturn -EBUSY;",
         code="\tif (err == TDX_OPERAND_INVALID)", at=('3:5: err == TDX_OPERAND_INVALID',),
         why="the tree has the helper; the fix uses it",
         extra_files=(("arch/x86/include/asm/shared/tdx_errno.h",
                       "DEFINE_TDX_ERRNO_HELPER(TDX_OPERAND_INVALID);"),),
         fixed="\tif (IS_TDX_OPERAND_INVALID(err))"),
    Case(path="arch/x86/kvm/vmx/tdx.c", before="\tswitch (vp_enter_ret & TDX_SEAMCALL_STATUS_MASK) {\n\t}",
         code="\tif (tdx->vp_enter_ret != TDX_OPERAND_BUSY)", at=('3:5: != TDX_OPERAND_BUSY',),
         why="no helper in sight, but the mask is",
         fixed="\tif ((tdx->vp_enter_ret & TDX_SEAMCALL_STATUS_MASK) != TDX_OPERAND_BUSY)"),
]

VALID = [
    Case(code="\tif ((err & TDX_SEAMCALL_STATUS_MASK) == TDX_OPERAND_BUSY)", why="masked"),
    Case(path="arch/x86/kvm/vmx/tdx.c",
         code="\tif (err == (TDX_EPT_WALK_FAILED | TDX_OPERAND_ID_RCX))", why="deliberate full compare"),
    Case(path="arch/x86/kvm/vmx/tdx.c", code="""
        	switch (tdx->vp_enter_ret & TDX_SEAMCALL_STATUS_MASK) {
        	case TDX_OPERAND_BUSY:
        		return EXIT_REASON_TDCALL;
        	}
        """, why="masked switch"),
    Case(code="\t} while (ret == TDX_INTERRUPTED_RESUMABLE || ret == TDX_SYS_BUSY);",
         why="the seed: raw on purpose"),
    Case(code="\tif (TDX_STATUS(err) == TDX_OPERAND_INVALID)", why="TDX_STATUS()"),
    Case(code="\tif (err == TDX_RND_NO_ENTROPY)", why="compared raw in the tree"),
    Case(path="arch/x86/kvm/vmx/tdx.c", code="\tif (tdx_status(err) == TDX_OPERAND_BUSY)",
         why="a lower-case masking helper"),
    Case(before="""
        static u64 tdx_status_of(u64 err)
        {
        	return err & TDX_SEAMCALL_STATUS_MASK;
        }
        """, code="\tif (tdx_status_of(err) == TDX_OPERAND_INVALID)", why="a masking function the file defines"),
    Case(code="""
        	/* Don't write err == TDX_OPERAND_BUSY: the operand ID is in 31:0. */
        	if (IS_TDX_OPERAND_BUSY(err))
        		return -EBUSY;
        """, why="the raw compare is only in a comment"),
]
