"""A patch that moves TDX code and adds new definitions at the same time.

What it flags: a patch that renames a TDX file, or moves at least four
lines of code from one file to another (removed there, added here word for
word or as a definition of the same name; comments with words count, but
two of the lines must be code), and in the same patch
- defines something new: a #define, a function or a DEFINE_*() helper
  whose name it does not remove anywhere (for a renamed file, whose name
  the file did not have before: codes folded in from other files make the
  rename less than a pure one), or
- changes a definition it moves (the same name removed from one file and
  added to another with other text; realigned whitespace does not count).
Include guards of a new header do not count. Reported once, on the first
new definition in the file the code moves to (else the first new one, else
the first changed one).

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

from ..lint.kit import C_SUFFIXES, TDX, Case, CodeLine, Violation, lazy_re, path_matches

ID = "tdx-move-and-change"
SEVERITY = "warning"
PATHS = TDX
MIN_MOVED_LINES = 4
MIN_MOVED_CODE = 2

_DEFINE = lazy_re(r"^\s*#\s*define\s+([A-Za-z_]\w*)(.*)$")
_FUNCTION = lazy_re(r"^(?:static\s+|extern\s+)?(?:(?:inline|__always_inline|noinstr|__init|const)\s+)*"
                    r"(?:struct\s+|enum\s+|unsigned\s+)?[A-Za-z_]\w*[\s*]+([A-Za-z_]\w*)\s*\([^;]*$")
# What a DEFINE_*() line makes is named after its argument, not the argument.
_HELPER_MACRO = lazy_re(r"^(DEFINE_[A-Z0-9_]+\(\s*[A-Za-z_]\w*\s*\))")
_GUARD = lazy_re(r"^\s*#\s*ifndef\s+([A-Za-z_]\w*)\s*$")
_KEYWORDS = frozenset({"if", "for", "while", "switch", "return", "sizeof", "do"})
_WORDS = lazy_re(r"[A-Za-z]{2,}")
TOPICS = ("split", "move", "moves", "moving", "pure", "separate patch", "own patch", "refactor",
          "mixed", "rename")


class _Mixed(Violation):
    """A move (a rename, or lines moved between files) with other changes."""

    @property
    def what(self) -> str:
        if self.renamed_from is not None:
            return f"renames {self.renamed_from} to {self.target}"
        return f"moves {self.lines} lines into {self.target}"


class MovedAndAdded(_Mixed):
    message = "this patch {what} and also adds {names}; split the move from the change"
    comment = ("This patch {what} and adds new things in the same go ({names}). Please split it: "
               "first the pure move, which is easy to check, then the additions on top.")


class MovedAndChanged(_Mixed):
    message = "this patch {what} and changes {names} on the way; make the move a pure one"
    comment = ("This patch {what}, and {names} changed on the way. Please move the code unchanged "
               "in one patch and change it in the next, so that each is easy to check.")


def check_patch(ctx):
    patch = ctx.patch
    removed, removed_defs = _removed(patch)
    renamed = [f for f in patch.files if f.old_path and f.old_path != f.path
               and not f.is_new and not f.is_deleted and path_matches(f.old_path, TDX)]
    if not removed and not renamed:
        return  # nothing left a file: nothing can have moved
    moved, moved_code = _moved_lines(ctx, removed, removed_defs)
    # A moved comment alone (beside a call that changed) is not a moved body of code.
    if not renamed and (sum(moved.values()) < MIN_MOVED_LINES or moved_code < MIN_MOVED_CODE):
        return
    renamed_from = renamed[0].old_path if renamed else None
    target = renamed[0].path if renamed else max(moved, key=moved.get)
    lines = sum(moved.values())
    new, changed = _definitions(patch, removed_defs, {f.path for f in renamed})
    if new:
        # Where the moved code lands is where the reviewer looks first.
        path, line, _ = next((d for d in new if d[0] == target), new[0])
        ctx.report(CodeLine(path, line), MovedAndAdded(renamed_from=renamed_from, target=target,
                                                       lines=lines, names=_names(new)))
    elif changed:
        path, line, _ = changed[0]
        ctx.report(CodeLine(path, line), MovedAndChanged(renamed_from=renamed_from, target=target,
                                                         lines=lines, names=_names(changed)))


def _moved_lines(ctx, removed, removed_defs) -> tuple[Counter, int]:
    """(path -> lines moved into it from other files, how many of them are code)."""
    moved: Counter[str] = Counter()
    moved_code = 0
    for f, ln in ctx.added_lines(None):
        if _substantive(ln.text) and _came_from_elsewhere(f, ln.text, removed, removed_defs):
            moved[f.path] += 1
            moved_code += not ln.text.strip().startswith(("/*", "*", "//"))
    return moved, moved_code


def _defined_name(text: str) -> str | None:
    for pattern in (_DEFINE, _HELPER_MACRO, _FUNCTION):
        m = pattern.match(text)
        if m and m.group(1) not in _KEYWORDS:
            return m.group(1)
    return None


def _substantive(text: str) -> bool:
    """A line whose move means something: code, or a comment with words
    (not '/*', ' */' or a one-word label)."""
    s = text.strip()
    if len(s) < 8:
        return False
    if s.startswith(("/*", "*", "//")):
        return len(_WORDS.findall(s)) >= 3
    return True


def _norm(text: str) -> str:
    return " ".join(text.split())


def _removed(patch):
    """(stripped text -> files it left, file -> defined name -> text)."""
    lines: dict[str, set[str]] = {}
    defs: dict[str, dict[str, str]] = {}
    for f in patch.files:
        source = f.old_path or f.path
        for hunk in f.hunks:
            for ln in hunk.lines:
                if ln.kind == "-":
                    lines.setdefault(ln.text.strip(), set()).add(source)
                    name = _defined_name(ln.text)
                    if name:
                        defs.setdefault(source, {})[name] = _norm(ln.text)
    return lines, defs


def _came_from_elsewhere(f, text, removed, removed_defs) -> bool:
    """The line left another file in this patch: word for word, or as a
    definition of the same name (a move with edits)."""
    here = {f.old_path or f.path, f.path}
    if removed.get(text.strip(), set()) - here:
        return True
    if not removed_defs.keys() - here:
        return False  # no definition left another file
    name = _defined_name(text)
    return name is not None and any(name in defs for src, defs in removed_defs.items() if src not in here)


def _definitions(patch, removed_defs, renamed_paths):
    """(new, changed): definitions the patch adds that are new where they
    land, and moved ones whose text changed on the way, as (path, line,
    name). A renamed file's definitions that came from other files are new
    to it: the rename is no longer a pure one."""
    new, changed = [], []
    for f in patch.files:
        if not path_matches(f.path, TDX) or not f.path.endswith(C_SUFFIXES):
            continue
        own = f.old_path or f.path
        guards = set()
        for ln in f.added_lines():
            m = _GUARD.match(ln.text)
            if m:
                guards.add(m.group(1))
                continue
            name = _defined_name(ln.text)
            if name is None or name in guards or name in removed_defs.get(own, {}):
                continue
            sources = [src for src, defs in removed_defs.items() if name in defs and src != own]
            if not sources or f.path in renamed_paths:
                new.append((f.path, ln.new_no, name))
            if sources and removed_defs[sources[0]][name] != _norm(ln.text):
                changed.append((f.path, ln.new_no, name))
    return new, changed


def _names(found) -> str:
    return ", ".join(dict.fromkeys(n for _, _, n in found[:4])) + (", ..." if len(found) > 4 else "")


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

_SW_CODES = """
#define TDX_ERROR\t\t\t_BITUL(63)
#define TDX_NON_RECOVERABLE\t\t_BITUL(62)
#define TDX_SW_ERROR\t\t\t(TDX_ERROR | GENMASK_ULL(47, 40))
#define TDX_SEAMCALL_VMFAILINVALID\t(TDX_SW_ERROR | _UL(0xFFFF0000))
"""

_FLUSH_COMMENT = """\t/*
\t * Write back private cachelines now: the new kernel must not find
\t * dirty lines of TDX memory, and doing it here, where no more TDX
\t * work can happen on this CPU, keeps the expensive WBINVD out of the
\t * racy part of kexec.
\t */
"""

_FEATURES = """#define TDX_FEATURES0_TD_PRESERVING\tBIT_ULL(1)
#define TDX_FEATURES0_NO_RBP_MOD\tBIT_ULL(18)
#define TDX_FEATURES0_DYNAMIC_PAMT\tBIT_ULL(36)
"""

INVALID = [
    Case(path="arch/x86/include/asm/shared/tdx_errno.h", code=_MOVED + _HELPER,
         removed_files=(("arch/x86/kvm/vmx/tdx_errno.h", _MOVED),),
         at=('7:0: static inline bool tdx_operand_busy(u64 err)',), why="move plus a new helper"),
    Case(path="arch/x86/include/asm/shared/tdx_errno.h", renamed_from="arch/x86/kvm/vmx/tdx_errno.h",
         before="#define TDX_OPERAND_BUSY\t\t0x8000020000000000ULL",
         code="#define TDX_SYS_SHUTDOWN_BUSY\t\t0x8000020400000000ULL",
         at=('2:0: TDX_SYS_SHUTDOWN_BUSY',), why="a rename that also adds a code"),
    Case(path="arch/x86/include/asm/shared/tdx_errno.h",
         code=_MOVED + "\nDEFINE_TDX_ERRNO_HELPER(TDX_OPERAND_BUSY);\n",
         removed_files=(("arch/x86/kvm/vmx/tdx_errno.h", _MOVED),),
         at=('7:0: DEFINE_TDX_ERRNO_HELPER(TDX_OPERAND_BUSY)',), why="move plus generated helpers"),
    Case(path="arch/x86/include/asm/shared/tdx_errno.h", renamed_from="arch/x86/kvm/vmx/tdx_errno.h",
         before="#define TDX_OPERAND_BUSY\t\t0x8000020000000000ULL",
         code="#define TDX_SUCCESS\t\t\t0ULL\n#define TDX_RND_NO_ENTROPY\t\t0x8000020300000000ULL",
         removed_files=(("arch/x86/include/asm/tdx.h",
                         "#define TDX_SUCCESS\t\t0ULL\n#define TDX_RND_NO_ENTROPY\t0x8000020300000000ULL"),),
         at=('2:0: #define TDX_SUCCESS',), why="a rename below 100% that folds in another file's codes"),
    Case(path="arch/x86/include/asm/shared/tdx_errno.h",
         code=_SW_CODES.replace("_BITUL(", "_BITULL(").replace("_UL(", "_ULL("),
         removed_files=(("arch/x86/include/asm/tdx.h", _SW_CODES),),
         at=('1:0: #define TDX_ERROR\t\t\t_BITULL(63)',), why="a move between files with edits"),
    Case(path="arch/x86/include/asm/tdx.h",
         code="/* Bit definitions of TDX_FEATURES0 metadata field */\n" + _FEATURES
              + "#define TDX_FEATURES0_UPDATE_COMPAT\tBIT_ULL(47)",
         removed_files=(("arch/x86/virt/vmx/tdx/tdx.h",
                         "/* Bit definitions of TDX_FEATURES0 metadata field */\n" + _FEATURES),),
         at=('5:0: TDX_FEATURES0_UPDATE_COMPAT',), why="three defines and their comment moved, one added"),
]

VALID = [
    Case(path="arch/x86/include/asm/shared/tdx_errno.h", code=_SW_CODES.replace("\t\t\t", "\t"),
         removed_files=(("arch/x86/include/asm/tdx.h", _SW_CODES),),
         why="a move that only realigns the values"),
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
    Case(path="arch/x86/virt/vmx/tdx/tdx.c", code=_FLUSH_COMMENT + "\ttdx_cpu_flush_cache();\n" + _HELPER,
         removed_files=(("arch/x86/kvm/vmx/tdx.c", _FLUSH_COMMENT + "\ttdx_cpu_flush_cache_for_kexec();"),),
         why="only a comment moved, beside a call that changed"),
]
