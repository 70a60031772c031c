"""TDX status codes as data: which names are statuses, which carry detail
bits, which are complete values; a test of one code (masked or raw,
through which helper); the set of codes a condition is true for."""
from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from .csyntax import Region, call_args, call_name, unparen, unwrap
from ..common.lazyre import lazy_re

if TYPE_CHECKING:
    from .tdxsem import PatchFacts

# Statuses the TDX module returns with operand or detail bits in 31:0:
# compare them only after masking (Dave: "mask out the fancy pants bits").
DETAIL_STATUSES = frozenset({
    "TDX_OPERAND_BUSY", "TDX_OPERAND_INVALID", "TDX_EPT_WALK_FAILED",
    "TDX_EPT_ENTRY_STATE_INCORRECT", "TDX_PREVIOUS_TLB_EPOCH_BUSY", "TDX_HPA_RANGE_NOT_FREE",
    "TDX_PAGE_METADATA_INCORRECT", "TDX_KEY_STATE_INCORRECT", "TDX_METADATA_FIELD_NOT_READABLE",
    "TDX_UPDATE_COMPAT_SENSITIVE", "TDX_OPERAND_PAGE_METADATA_INCORRECT", "TDX_ERROR_SEPT_BUSY",
})
# Complete 64-bit values the kernel synthesises: compare with ==, never mask.
SW_FULL_CODES = frozenset({"TDX_SEAMCALL_GP", "TDX_SEAMCALL_UD", "TDX_SEAMCALL_VMFAILINVALID"})
BUSY_CODES = frozenset({"TDX_OPERAND_BUSY", "TDX_ERROR_SEPT_BUSY", "TDX_PREVIOUS_TLB_EPOCH_BUSY"})
MASKS = frozenset({"TDX_SEAMCALL_STATUS_MASK", "TDX_STATUS_MASK"})
# Calls that hand back only the status half of a raw status.
MASKING_CALLS = frozenset({"TDX_STATUS", "tdx_status", "TDCALL_RETURN_CODE", "upper_32_bits"})
# Helpers that test a status for one code, masked: name -> code.
_KNOWN_HELPERS = {"tdx_operand_busy": "TDX_OPERAND_BUSY"}
_IS_HELPER = lazy_re(r"^IS_(TDX_[A-Z0-9_]+)$")
_STATUS_CONST = lazy_re(r"^TDX_[A-Z0-9_]+$|^TDVMCALL_STATUS_[A-Z0-9_]+$|^TDCALL_[A-Z0-9_]+$")
_NOT_STATUS = lazy_re(r"^TDX_(?:SEAMCALL_STATUS_MASK|STATUS_MASK|OPERAND_ID_\w+|"
                      r"NON_RECOVERABLE|VERSION_SHIFT|\w*_SHIFT|\w*_MASK|FEATURES\w*|ATTR\w*|"
                      r"MD_\w+|PS_\w+|TD_\w+|PAGE_SIZE\w*|SEAMCALL_RETRIES|R\d+|RBX|RDX|RSI|RDI|"
                      r"HYPERCALL_STANDARD|CPUID_LEAF_ID|IDENT)$|^TDCALL_RETURN_CODE$")
_ERRNO_CONST = lazy_re(r"^E[A-Z0-9]+$")

_WIDE = lazy_re(r"\b(?:u64|uint64_t|__u64|unsigned long long)\b")


def is_status_name(name: str) -> bool:
    return bool(_STATUS_CONST.match(name)) and not _NOT_STATUS.match(name) \
        and name not in ("TDX_SW_ERROR", "TDX_ERROR")


def is_status_type(type_text: str | None) -> bool:
    return type_text is not None and bool(_WIDE.search(type_text)) and "*" not in type_text


class CodeSet(NamedTuple):
    """The statuses for which a test is true: `codes` when not negated, every
    status but `codes` when negated."""
    codes: frozenset
    negated: bool = False

    def invert(self) -> "CodeSet":
        return CodeSet(self.codes, not self.negated)

    def union(self, other: "CodeSet") -> "CodeSet":
        a, b = self, other
        if not a.negated and not b.negated:
            return CodeSet(a.codes | b.codes)
        if a.negated and b.negated:
            return CodeSet(a.codes & b.codes, True)
        pos, neg = (a, b) if not a.negated else (b, a)
        return CodeSet(neg.codes - pos.codes, True)

    def intersect(self, other: "CodeSet") -> "CodeSet":
        return self.invert().union(other.invert()).invert()

    def names(self) -> list[str]:
        if self.negated:
            kept = sorted(self.codes - {"TDX_SUCCESS", "0"})
            return ["any status but " + (" and ".join(kept) if kept else "success")]
        # Going round again on success is walking through work, not retrying.
        return sorted(self.codes - {"0", "TDX_SUCCESS"})


class StatusTest(NamedTuple):
    node: object  # the test expression
    value: object  # the expression that holds the status (None for a helper of unknown argument)
    code: str  # the code tested for
    masked: bool  # the status is masked (or classified by a helper) before the compare
    helper: str | None  # the helper doing the test, if any
    op: str  # "==", "!=", "case", "helper", "class"


class Helper(NamedTuple):
    """A function that tests a status for one code: IS_TDX_*(), KVM's
    tdx_operand_busy(), or one the patch defines."""
    code: str
    masked: bool


def single_code_tests(region: Region, expr, facts: "PatchFacts") -> list[StatusTest]:
    """The status tests in expr: compares with a status code (masked or
    raw), helper calls, and class tests ((x & TDX_SW_ERROR) == TDX_SW_ERROR)."""
    out = []
    stack = [expr]
    while stack:
        node = stack.pop()
        if node is None:
            continue
        test = status_test(region, node, facts)
        if test is not None:
            out.append(test)
            continue
        stack.extend(reversed(node.named_children))
    return out


def status_test(region: Region, node, facts: "PatchFacts") -> StatusTest | None:
    """node as a test of one status code, or None."""
    if node.type == "binary_expression" and region.op(node) in ("==", "!="):
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        for const, value in ((right, left), (left, right)):
            code = code_of(region, const)
            if code is not None:
                inner = unparen(value)
                if code in ("TDX_SW_ERROR", "TDX_ERROR") and not masked_with(region, inner, code):
                    continue
                masked = is_masked(region, inner, facts.maskers) or with_operand(region, const)
                op = "class" if code in ("TDX_SW_ERROR", "TDX_ERROR") else region.op(node)
                return StatusTest(node, _status_operand(region, inner), code, masked, None, op)
        return None
    if node.type == "call_expression":
        name = call_name(node)
        helper = helper_for(name, facts.helpers)
        if helper is not None:
            args = call_args(node)
            return StatusTest(node, args[0] if args else None, helper.code, helper.masked, name,
                              "helper")
    return None


def helper_for(name: str, helpers: dict[str, Helper]) -> Helper | None:
    if name in helpers:
        return helpers[name]
    if name in _KNOWN_HELPERS:
        return Helper(_KNOWN_HELPERS[name], True)
    m = _IS_HELPER.match(name)
    if m:
        code = m.group(1)
        return Helper(code, code not in SW_FULL_CODES)
    return None


def code_of(region: Region, node) -> str | None:
    """The status code a constant names: TDX_* (TDX_SUCCESS included), a
    TDVMCALL/TDCALL status, TDX_SW_ERROR/TDX_ERROR as classes, -EXXX, or 0."""
    node = unparen(node)
    if node is None:
        return None
    if node.type == "identifier":
        name = region.text(node)
        if is_status_name(name) or name in ("TDX_SW_ERROR", "TDX_ERROR"):
            return name
        return None
    if node.type == "unary_expression" and region.op(node) == "-":
        arg = unparen(node.child_by_field_name("argument"))
        if arg is not None and arg.type == "identifier" and _ERRNO_CONST.match(region.text(arg)):
            return "-" + region.text(arg)
    if node.type == "number_literal" and region.int_value(node, {}) == 0:
        return "TDX_SUCCESS"
    if with_operand(region, node):
        return code_of(region, node.child_by_field_name("left")) or \
            code_of(region, node.child_by_field_name("right"))
    return None


def with_operand(region: Region, node) -> bool:
    """node is a status with its operand ID ORed in (TDX_OPERAND_BUSY |
    TDX_OPERAND_ID_SEPT): a deliberate compare of the whole value."""
    node = unparen(node)
    return node is not None and node.type == "binary_expression" and region.op(node) == "|" and any(
        (side := unparen(node.child_by_field_name(f))) is not None and side.type == "identifier"
        and region.text(side).startswith("TDX_OPERAND_ID_") for f in ("left", "right"))


def masked_with(region: Region, node, constant: str) -> bool:
    """node is `x & constant` (either order)."""
    node = unparen(node)
    return node is not None and node.type == "binary_expression" and region.op(node) == "&" and any(
        region.is_constant(side, constant)
        for side in (node.child_by_field_name("left"), node.child_by_field_name("right")))


def is_masked(region: Region, node, maskers=MASKING_CALLS) -> bool:
    """The value is masked, shifted or classified before a compare."""
    node = unwrap(node)
    if node is None:
        return False
    if node.type == "binary_expression":
        return region.op(node) in ("&", ">>")
    if node.type == "call_expression":
        return call_name(node) in maskers
    return False


def _status_operand(region: Region, node):
    """The status inside a masked value: err in (err & MASK) or TDX_STATUS(err)."""
    node = unwrap(node)
    if node is not None and node.type == "binary_expression" and region.op(node) in ("&", ">>"):
        for side in (node.child_by_field_name("left"), node.child_by_field_name("right")):
            inner = unwrap(side)
            if inner is not None and not (inner.type == "identifier" and region.text(inner) in MASKS) \
                    and inner.type != "number_literal":
                return inner
    if node is not None and node.type == "call_expression" and call_name(node) in MASKING_CALLS:
        args = call_args(node)
        return args[0] if args else node
    return node
