"""TDX_SEAMCALL_GP, _UD or _VMFAILINVALID used as a mask instead of compared with ==.

What it flags: a bitwise AND with TDX_SEAMCALL_GP, TDX_SEAMCALL_UD or
TDX_SEAMCALL_VMFAILINVALID, whether tested for non-zero or compared back
with the same constant.

Why: these are complete 64-bit values the kernel synthesises when a
SEAMCALL faults (TDX_SW_ERROR | the trap number), not masks. The masked
form also matches other values: #UD is vector 6 (110b), so
`(err & TDX_SEAMCALL_UD) == TDX_SEAMCALL_UD` is also true for vectors 7, 14
and 15 (Xiaoyao on the IS_TDX_SEAMCALL_UD() helper).

Fires on:
    return (err & TDX_SEAMCALL_UD) == TDX_SEAMCALL_UD;
Must not fire on `if (sret == TDX_SEAMCALL_UD) return -EACCES;` nor on
`#define TDX_SEAMCALL_UD (TDX_SW_ERROR | X86_TRAP_UD)`.
"""
from __future__ import annotations

from ..lint.kit import SW_FULL_CODES, TDX, Case, Violation, masked_with

ID = "tdx-sw-code-as-mask"
SEVERITY = "error"
PATHS = TDX
TOPICS = ("mask", "exact", "compare", "==")
_SW_CODES = sorted(SW_FULL_CODES)


class UsedAsMask(Violation):
    message = "{code} is a full 64-bit value, not a mask; compare with =="
    comment = ("{code} is an exact value the kernel synthesises, not a mask, so please compare "
               "with '=='. The masked test also matches other exception vectors.")


def check_file(file):
    for code in file.code:
        for node, op in code.c.binaries():
            if op == "&" and (sw_code := next((c for c in _SW_CODES if masked_with(code.c, node, c)), None)):
                code.report(node, UsedAsMask(code=sw_code))


INVALID = [
    Case(path="arch/x86/include/asm/shared/tdx_errno.h", code="""
        static inline bool IS_TDX_SEAMCALL_UD(u64 err)
        {
        	return (err & TDX_SEAMCALL_UD) == TDX_SEAMCALL_UD;
        }
        """, at=('3:10: (err & TDX_SEAMCALL_UD)',), why="the DPAMT v3 helper"),
    Case(code="\tif (ret & TDX_SEAMCALL_GP)", at=('1:5: TDX_SEAMCALL_GP',), why="tested as a truth value"),
    Case(code="\tif ((sret & TDX_SEAMCALL_VMFAILINVALID) == TDX_SEAMCALL_VMFAILINVALID)",
         at=('1:6: VMFAILINVALID) ==',), why="VMFAILINVALID is a value too"),
    Case(path="arch/x86/kvm/vmx/tdx.c", code="\tif (WARN_ON_ONCE(tdx->vp_enter_ret & TDX_SEAMCALL_GP))",
         at=('1:18: TDX_SEAMCALL_GP',), why="a struct field inside WARN_ON_ONCE()"),
]

VALID = [
    Case(code="""
        	if (sret == TDX_SEAMCALL_UD)
        		return -EACCES;
        """, why="exact compare"),
    Case(path="arch/x86/include/asm/tdx.h",
         code="#define TDX_SEAMCALL_UD\t\t\t(TDX_SW_ERROR | X86_TRAP_UD)", why="definition"),
    Case(code="\tif ((ret & TDX_SW_ERROR) == TDX_SW_ERROR)", why="the class test is a mask test"),
    Case(code="\tswitch (sret) {\n\tcase TDX_SEAMCALL_GP:\n\t\treturn -EOPNOTSUPP;\n\t}",
         why="case labels are exact compares"),
    Case(code="\t/* (err & TDX_SEAMCALL_UD) would also match other vectors. */",
         why="the masked form in a comment"),
]
