"""A leaf number, status value, operand ID or feature bit that differs from the TDX module ABI.

What it flags, for an added #define whose value the code spells out (a
number, or an expression of numbers, BIT()/GENMASK() and the file's own
defines):
- `#define TDH_*` / `TDG_*` whose leaf number (bits 15:0; version bits
  23:16 are not compared) is not the module's number for that leaf; the
  remark names the leaf that has the number, if one does;
- `#define TDX_*` for a module status whose value differs, saying which part
  differs: the class (bits 47:40), the details (39:32), the error and
  recoverability bits (63:60), or detail bits 31:0 a status never carries;
- `#define TDX_OPERAND_ID_*` and `TDX_FEATURES0_*` that differ from the
  module's operand ID or feature bit.
Names the data does not have are left alone: leaves and statuses newer than
the module source (TDH_SYS_DISABLE), the kernel's SW-defined codes
(TDX_SW_ERROR, TDX_SEAMCALL_*, class 0xFF is left to software), masks and
bit helpers (TDX_ERROR, TDX_NON_RECOVERABLE, TDX_SEAMCALL_STATUS_MASK).

Known differences, decided: newer kernels define TDX_NON_RECOVERABLE_TD as
0x4000000200000000 and TDX_NON_RECOVERABLE_TD_WRONG_APIC_MODE as
0x6000000700000000, without a bit the 1.5.01 module source sets (61 and 63);
those values follow the published ABI tables and are accepted, as is the
module's own value (the table is in facts/abi.py; the data test keeps it
in step with the kernel comparison).

Why: these numbers are copied by hand from the spec into the kernel, and a
wrong one is a silent bug: the SEAMCALL runs another leaf, or a compare
never matches. The kernel's headers are checked against the module data
(tests/test_tdx_module_facts.py); a patch can be checked the same way.

Fires on: `#define TDH_SYS_CONFIG 46` (the module's number is 45, and 46
is no leaf), `#define TDX_SYS_BUSY 0x8000020300000000ULL` (the details
differ: 0x03 is TDX_RND_NO_ENTROPY's).
Must not fire on `#define TDH_SYS_DISABLE 69` (newer than the data), nor on
`#define TDX_SW_ERROR (TDX_ERROR | GENMASK_ULL(47, 40))`.
"""
from __future__ import annotations

from ..lint.kit import TDX, Case, Violation, int_of_text, lazy_re, module_abi

ID = "tdx-abi-mismatch"
SEVERITY = "error"
PATHS = TDX
TOPICS = ("number", "value", "leaf", "spec", "abi", "define")

_NAME = lazy_re(r"^(?:TD[HG]_[A-Z0-9_]+|TDX_[A-Z0-9_]+)$")


class _Differs(Violation):
    @property
    def source(self) -> str:
        return module_abi().source


class LeafNumber(_Differs):
    message = "{spec} is leaf {want} in the TDX module ABI, not {got}{taken}"
    comment = ("The {source} source numbers {spec} {want}; {got} would issue {other}. Please "
               "take the number from the ABI spec.")

    @property
    def other(self) -> str:
        return self.taken_by or "a leaf the module does not have"

    @property
    def taken(self) -> str:
        return f" ({self.taken_by}'s number)" if self.taken_by else ""


class StatusValue(_Differs):
    message = "{name} is {want} in the TDX module ABI, not {got} ({what})"
    comment = ("The {source} source defines {name} as {want}; this value differs in {what}, so a "
               "compare with it never matches what the module returns. Please take the value "
               "from the ABI spec.")


class OperandId(_Differs):
    message = "{name} is operand ID {want:#x} in the TDX module ABI, not {got:#x}"
    comment = ("The {source} source gives this operand ID as {want:#x}. Please take it from the "
               "ABI spec.")


class FeatureBit(_Differs):
    message = "{name} is bit {want} of TDX_FEATURES0 in the TDX module ABI, not {got}"
    comment = ("The {source} source enumerates this feature in bit {want} of TDX_FEATURES0. "
               "Please take the bit from the ABI spec.")


def check_file(file):
    for code in file.code:
        defines = [(node, name, value) for node, name, value in code.c.define_nodes() if _NAME.match(name)]
        for node, name, text in defines:
            value = int_of_text(text, code.c)
            if value is None:
                continue
            problem = _problem(name, value)
            if problem is not None:
                code.report(node, problem)


def _problem(name: str, value: int) -> Violation | None:
    abi = module_abi()
    if name.startswith(("TDH_", "TDG_")):
        leaf = abi.leaf(name)
        number = value & 0xFFFF
        if leaf is None or leaf.number is None or number == leaf.number:
            return None
        other = abi.leaf_numbered(leaf.kind, number)
        return LeafNumber(spec=leaf.spec_name, want=leaf.number, got=number,
                          taken_by=other.spec_name if other is not None else None)
    if name.startswith("TDX_OPERAND_ID_"):
        want = abi.operand_id(name)
        return OperandId(name=name, want=want, got=value) if want is not None and want != value else None
    if name.startswith("TDX_FEATURES0_"):
        bit = abi.feature_bit(name)
        if bit is None or value == 1 << bit:
            return None
        return FeatureBit(name=name, want=bit, got=value.bit_length() - 1 if value and not value & (value - 1)
                          else f"{value:#x}")
    status = abi.status(name)
    if status is None or abi.accepts_value(status, value):
        return None
    return StatusValue(name=name, want=status.hex, got="0x%016X" % value, what=_what(status.value, value))


def _what(want: int, got: int) -> str:
    """Which parts of a status value differ."""
    parts = []
    if (want ^ got) >> 60:
        parts.append("the error and recoverability bits 63:60")
    if (want ^ got) >> 40 & 0xFF:
        parts.append("the class, bits 47:40")
    if (want ^ got) >> 32 & 0xFF:
        parts.append("the details, bits 39:32")
    if (want ^ got) >> 48 & 0xFFF:
        parts.append("the reserved bits 59:48")
    if got & 0xFFFFFFFF:
        parts.append("bits 31:0, which the module fills with operand details")
    found = module_abi().status_valued(got)
    if found is not None and found.value == got & 0xFFFFFFFF00000000 and got >> 32 != want >> 32:
        parts.append(f"that is {found.name}'s value")
    return "; ".join(parts) or "the value"


_HOST_H = "arch/x86/virt/vmx/tdx/tdx.h"
_ERRNO_H = "arch/x86/include/asm/shared/tdx_errno.h"

INVALID = [
    Case(path=_HOST_H, before="#define TDH_SYS_INIT\t\t\t33", code="#define TDH_SYS_CONFIG\t\t\t46",
         at=('2:1: #define TDH_SYS_CONFIG',), why="an off-by-one leaf number that names no leaf"),
    Case(path=_HOST_H, code="#define TDH_MEM_PAGE_AUG\t\t7",
         at=('1:1: #define TDH_MEM_PAGE_AUG',), why="the number of another leaf (TDH.MEM.RANGE.BLOCK)"),
    Case(path="arch/x86/include/asm/shared/tdx.h", code="#define TDG_VM_WR\t\t\t\t7",
         at=('1:1: #define TDG_VM_WR',), why="a guest leaf given TDG.VM.RD's number"),
    Case(path=_ERRNO_H, code="#define TDX_SYS_BUSY\t\t\t\t0x8000020300000000ULL",
         at=('1:1: #define TDX_SYS_BUSY',), why="the detail byte of another busy-class status"),
    Case(path=_ERRNO_H, code="#define TDX_OPERAND_INVALID\t\t\t0x8000010000000000ULL",
         at=('1:1: #define TDX_OPERAND_INVALID',), why="the non-recoverable bit dropped"),
    Case(path=_ERRNO_H, code="#define TDX_OPERAND_ID_SEPT\t\t0x91",
         at=('1:1: #define TDX_OPERAND_ID_SEPT',), why="a wrong operand ID"),
    Case(path="arch/x86/include/asm/tdx.h", code="#define TDX_FEATURES0_NO_RBP_MOD\tBIT_ULL(19)",
         at=('1:1: #define TDX_FEATURES0_NO_RBP_MOD',), why="a feature bit one off"),
]

VALID = [
    Case(path=_HOST_H, before="#define TDH_SYS_CONFIG\t\t\t45", code="#define TDH_SYS_DISABLE\t\t\t69",
         why="newer than the module data"),
    Case(path=_ERRNO_H, code="#define TDX_SYS_BUSY\t\t\t\t0x8000020200000000ULL", why="the seed's define"),
    Case(path="arch/x86/include/asm/tdx.h",
         code="""
         #define TDX_ERROR\t\t\t_BITULL(63)
         #define TDX_SW_ERROR\t\t\t(TDX_ERROR | GENMASK_ULL(47, 40))
         #define TDX_SEAMCALL_GP\t\t\t(TDX_SW_ERROR | X86_TRAP_GP)
         """, why="SW-defined codes and class bits: not module statuses"),
    Case(path="arch/x86/kvm/vmx/tdx_errno.h",
         code="#define TDX_NON_RECOVERABLE_TD\t\t\t0x4000000200000000ULL",
         why="the kernel's value for a known difference (see the docstring)"),
    Case(path=_HOST_H, code="#define TDH_VP_INIT\t\t\t(22 | (1ULL << 16))",
         why="leaf number with version bits: only bits 15:0 are the number"),
    Case(path=_ERRNO_H, code="#define TDX_SEAMCALL_STATUS_MASK\t\t0xFFFFFFFF00000000ULL", why="a mask"),
]
