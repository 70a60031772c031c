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

Fires on:
    if (err == TDX_OPERAND_BUSY)
        return -EBUSY;
Must not fire on `(err & TDX_SEAMCALL_STATUS_MASK) == TDX_OPERAND_BUSY`, on
`err == (TDX_EPT_WALK_FAILED | TDX_OPERAND_ID_RCX)` (a deliberate full
compare) or on `switch (vp_enter_ret & TDX_SEAMCALL_STATUS_MASK)`.
"""
from __future__ import annotations

from ..csyntax import iter_nodes
from ..areas import TDX
from ..rulekit import Case, Hit
from ..tdxsem import DETAIL_STATUSES, MASK_TOKENS

ID = "tdx-status-unmasked"
SEVERITY = "error"
PATHS = TDX


def _masked(region, node) -> bool:
    """The value is masked, shifted or classified before the compare."""
    if MASK_TOKENS.search(region.text(node)):
        return True
    while node.type == "parenthesized_expression" and node.named_children:
        node = node.named_children[0]
    if node.type == "binary_expression":
        op = node.child_by_field_name("operator")
        return op is not None and region.text(op) in ("&", ">>")
    return False


def _hit(code: str, line: int) -> Hit:
    return Hit(
        f"raw compare with {code}, which the TDX module returns with detail bits in 31:0",
        line=line,
        comment=f"{code} comes back with details (such as the operand ID) in bits 31:0, so "
                "this raw compare can miss it. Please mask with TDX_SEAMCALL_STATUS_MASK or "
                "use the IS_TDX_*() helper; if you mean the exact value, OR in the operand ID "
                "and say so.")


def check_file(source, patch):
    for region in source.regions:
        for node in region.find("binary_expression"):
            op = node.child_by_field_name("operator")
            if op is None or region.text(op) not in ("==", "!="):
                continue
            left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
            if left is None or right is None:
                continue
            for const, other in ((right, left), (left, right)):
                code = region.text(const).strip()
                if code in DETAIL_STATUSES and not _masked(region, other):
                    line = region.line_no(node.start_point[0])
                    if region.is_added(line):
                        yield _hit(code, line)
                    break
        for switch in region.find("switch_statement"):
            cond = switch.child_by_field_name("condition")
            if cond is None or _masked(region, cond):
                continue
            for case in iter_nodes(switch, {"case_statement"}):
                value = case.child_by_field_name("value")
                code = region.text(value).strip() if value is not None else ""
                line = region.line_no(case.start_point[0])
                if code in DETAIL_STATUSES and region.is_added(line):
                    yield _hit(code, line)


INVALID = [
    Case(code="""
        	if (err == TDX_OPERAND_BUSY)
        		return -EBUSY;
        """, at=("err == TDX_OPERAND_BUSY",), why="the catalog's hit"),
    Case(path="arch/x86/kvm/vmx/tdx.c", code="""
        	switch (err) {
        	case TDX_SUCCESS:
        		return 0;
        	case TDX_EPT_WALK_FAILED:
        		return -ENOENT;
        	}
        """, at=("case TDX_EPT_WALK_FAILED:",), why="unmasked switch"),
    Case(code="\t} while (ret == TDX_SYS_BUSY || ret == TDX_OPERAND_BUSY);",
         at=("ret == TDX_OPERAND_BUSY",), why="raw BUSY in a loop condition"),
    Case(code="\tif (TDX_OPERAND_INVALID != tdh_mng_init(&kvm_tdx->td, __pa(td_params), &rcx))",
         at=("TDX_OPERAND_INVALID !=",), why="constant on the left"),
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
]
