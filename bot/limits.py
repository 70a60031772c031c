"""Bounds on the work one patch may ask for.

A patch is written by whoever sends it. A few kilobytes can nest a
thousand retry loops, put three thousand loops in a row or create twenty
thousand files, and an analysis that is fine on real patches can then take
minutes and gigabytes. Real TDX patches stay far below these bounds; a
patch past one is not reviewed, and the report says so ("too large to
review") instead of spending unbounded time or memory on it. The scan is
one pass over the added lines of each file.
"""
from __future__ import annotations

from .areas import C_SUFFIXES
from .lazyre import lazy_re
from .model import Finding, Patch

MAX_FILES = 2000  # files one patch touches
MAX_ADDED_LINES = 40_000  # lines one patch adds, all files together
MAX_LINE = 20_000  # characters in one added line of C
MAX_DEPTH = 96  # braces and parentheses open at once, in the added C lines
MAX_LOOPS = 1000  # for/while/do keywords in the added C lines
NOTE_ID = "too-large-to-review"

_LOOP = lazy_re(r"\b(?:for|while|do)\b")
_BRACKETS = lazy_re(r"[{}()]")


def too_large(patch: Patch) -> str | None:
    """Why a patch is past a bound, or None."""
    if len(patch.files) > MAX_FILES:
        return f"it touches {len(patch.files)} files (the limit is {MAX_FILES})"
    added = loops = 0
    for diff in patch.files:
        lines = [line.text for line in diff.added_lines()]
        added += len(lines)
        if added > MAX_ADDED_LINES:
            return f"it adds more than {MAX_ADDED_LINES} lines"
        if not diff.path.endswith(C_SUFFIXES) or not lines:
            continue
        longest = max(map(len, lines))
        if longest > MAX_LINE:
            return f"{diff.path} has an added line of {longest} characters (the limit is {MAX_LINE})"
        text = "\n".join(lines)
        if text.count("{") + text.count("(") > MAX_DEPTH and _deepest(text) > MAX_DEPTH:
            return f"{diff.path} nests braces and parentheses more than {MAX_DEPTH} deep"
        loops += len(_LOOP.findall(text))
        if loops > MAX_LOOPS:
            return f"it adds more than {MAX_LOOPS} loops"
    return None


def _deepest(text: str) -> int:
    """How many braces and parentheses are open at once, at most (a closer
    with nothing open is ignored, as a hunk may start inside a block)."""
    depth = deepest = 0
    for ch in _BRACKETS.findall(text):  # the brackets alone
        if ch in "{(":
            depth += 1
            if depth > deepest:
                deepest = depth
        elif depth:
            depth -= 1
    return deepest


def note(patch: Patch, why: str) -> Finding:
    """The one finding a patch past a bound gets, in place of the rules'."""
    return Finding(rule=NOTE_ID, severity="info", patch_index=patch.index, message_id=patch.message_id,
                   message=f"patch too large to review: {why}; no rule was run on it")
