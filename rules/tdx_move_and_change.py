"""A patch that moves TDX code and adds new definitions at the same time.

What it flags: a patch that renames a TDX file, or moves at least four
lines of code from one file to another (removed there, added here word for
word), and in the same patch defines something new: a #define, a function
or a DEFINE_*() helper whose name it does not remove anywhere. Include
guards of a new header do not count. Reported once, on the first new
definition.

Why: a pure move is easy to check ("same lines, other place") and a change
is easy to review on its own; mixed, the reviewer has to diff the move by
hand to find the change. x86 maintainers ask for this split every time
("Refactor first. Add new features second."; "please split the move from
the new helpers"), as in the tdx_errno.h move to asm/shared.

Fires on: a patch that removes the TDX_* status defines from
arch/x86/kvm/vmx/tdx_errno.h, adds them to asm/shared/tdx_errno.h, and
also adds `static inline bool tdx_operand_busy(u64 err)` there.
Must not fire on the pure move, nor on new helpers in a patch that moves
nothing.
"""
from __future__ import annotations

from collections import Counter

from ..lazyre import lazy_re
from ..areas import C_SUFFIXES, TDX, path_matches
from ..rulekit import Case, Hit, added_lines_in

ID = "tdx-move-and-change"
SEVERITY = "warning"
PATHS = TDX
MIN_MOVED_LINES = 4

_DEFINE = lazy_re(r"^\s*#\s*define\s+([A-Za-z_]\w*)(.*)$")
_FUNCTION = lazy_re(r"^(?:static\s+|extern\s+)?(?:(?:inline|__always_inline|noinstr|__init|const)\s+)*"
                    r"(?:struct\s+|enum\s+|unsigned\s+)?[A-Za-z_]\w*[\s*]+([A-Za-z_]\w*)\s*\([^;]*$")
# What a DEFINE_*() line makes is named after its argument, not the argument.
_HELPER_MACRO = lazy_re(r"^(DEFINE_[A-Z0-9_]+\(\s*[A-Za-z_]\w*\s*\))")
_GUARD = lazy_re(r"^\s*#\s*ifndef\s+([A-Za-z_]\w*)\s*$")
_KEYWORDS = frozenset({"if", "for", "while", "switch", "return", "sizeof", "do"})


def _defined_name(text: str) -> str | None:
    for pattern in (_DEFINE, _HELPER_MACRO, _FUNCTION):
        m = pattern.match(text)
        if m and m.group(1) not in _KEYWORDS:
            return m.group(1)
    return None


def _substantive(text: str) -> bool:
    s = text.strip()
    return len(s) >= 8 and not s.startswith(("/*", "*", "//"))


def check_patch(patch):
    removed: dict[str, set[str]] = {}  # stripped text -> files it left
    removed_names: set[str] = set()
    for f in patch.files:
        for hunk in f.hunks:
            for ln in hunk.lines:
                if ln.kind == "-":
                    removed.setdefault(ln.text.strip(), set()).add(f.old_path or f.path)
                    name = _defined_name(ln.text)
                    if name:
                        removed_names.add(name)
    renamed = [f for f in patch.files if f.old_path and f.old_path != f.path
               and not f.is_new and not f.is_deleted and path_matches(f.old_path, TDX)]
    moved = Counter(f.path for f, ln in added_lines_in(patch, None)
                    if _substantive(ln.text)
                    and removed.get(ln.text.strip(), set()) - {f.old_path or f.path, f.path})
    if not renamed and sum(moved.values()) < MIN_MOVED_LINES:
        return
    if renamed:
        what = f"renames {renamed[0].old_path} to {renamed[0].path}"
    else:
        target = max(moved, key=moved.get)
        what = f"moves {sum(moved.values())} lines into {target}"
    new = []
    for f in patch.files:
        if not path_matches(f.path, TDX) or not f.path.endswith(C_SUFFIXES):
            continue
        guards = set()
        for ln in f.added_lines():
            m = _GUARD.match(ln.text)
            if m:
                guards.add(m.group(1))
                continue
            name = _defined_name(ln.text)
            if name is None or name in removed_names or ln.text.strip() in removed or name in guards:
                continue
            new.append((f.path, ln.new_no, name))
    if not new:
        return
    names = ", ".join(dict.fromkeys(n for _, _, n in new[:4])) + (", ..." if len(new) > 4 else "")
    path, line, _ = new[0]
    yield Hit(f"this patch {what} and also adds {names}; split the move from the change",
              path=path, line=line,
              comment=f"This patch {what} and adds new things in the same go ({names}). "
                      "Please split it: first the pure move, which is easy to check, then the "
                      "additions on top.")


_MOVED = """
#define TDX_OPERAND_BUSY		0x8000020000000000ULL
#define TDX_PREVIOUS_TLB_EPOCH_BUSY	0x8000020100000000ULL
#define TDX_SYS_BUSY			0x8000020200000000ULL
#define TDX_RND_NO_ENTROPY		0x8000020300000000ULL
#define TDX_FLUSHVP_NOT_DONE		0x8000082400000000ULL
"""

_HELPER = """
static inline bool tdx_operand_busy(u64 err)
{
	return (err & TDX_SEAMCALL_STATUS_MASK) == TDX_OPERAND_BUSY;
}
"""

INVALID = [
    Case(path="arch/x86/include/asm/shared/tdx_errno.h", code=_MOVED + _HELPER,
         removed_files=(("arch/x86/kvm/vmx/tdx_errno.h", _MOVED),),
         at=("static inline bool tdx_operand_busy(u64 err)",), why="move plus a new helper"),
    Case(path="arch/x86/include/asm/shared/tdx_errno.h", renamed_from="arch/x86/kvm/vmx/tdx_errno.h",
         before="#define TDX_OPERAND_BUSY\t\t0x8000020000000000ULL",
         code="#define TDX_SYS_SHUTDOWN_BUSY\t\t0x8000020400000000ULL",
         at=("TDX_SYS_SHUTDOWN_BUSY",), why="a rename that also adds a code"),
    Case(path="arch/x86/include/asm/shared/tdx_errno.h",
         code=_MOVED + "\nDEFINE_TDX_ERRNO_HELPER(TDX_OPERAND_BUSY);\n",
         removed_files=(("arch/x86/kvm/vmx/tdx_errno.h", _MOVED),),
         at=("DEFINE_TDX_ERRNO_HELPER(TDX_OPERAND_BUSY)",), why="move plus generated helpers"),
]

VALID = [
    Case(path="arch/x86/include/asm/shared/tdx_errno.h",
         code="#ifndef _ASM_X86_SHARED_TDX_ERRNO_H\n#define _ASM_X86_SHARED_TDX_ERRNO_H\n" + _MOVED
              + "\n#endif\n",
         removed_files=(("arch/x86/kvm/vmx/tdx_errno.h", _MOVED),), why="a pure move into a new header"),
    Case(path="arch/x86/include/asm/shared/tdx_errno.h", code=_HELPER, why="a new helper, nothing moved"),
    Case(path="arch/x86/include/asm/shared/tdx_errno.h", renamed_from="arch/x86/kvm/vmx/tdx_errno.h",
         before=_MOVED,
         code="#ifndef _ASM_X86_SHARED_TDX_ERRNO_H\n#define _ASM_X86_SHARED_TDX_ERRNO_H",
         why="a rename that only changes the include guard"),
    Case(path="arch/x86/virt/vmx/tdx/tdx.c", code=_HELPER + _MOVED,
         removed_files=(("arch/x86/virt/vmx/tdx/tdx.c", _MOVED),),
         why="lines moved within one file: reordering, not a move between files"),
]
