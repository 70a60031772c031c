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

from contextlib import contextmanager
from itertools import accumulate

from .areas import C_SUFFIXES
from ..common import lazy_re
from .findings import Finding
from ..mail import Patch

MAX_FILES = 2000  # files one patch touches
MAX_ADDED_LINES = 40_000  # lines one patch adds, all files together
MAX_LINE = 20_000  # characters in one added line of C
MAX_DEPTH = 96  # braces and parentheses open at once, in the added C lines
MAX_LOOPS = 1000  # for/while/do keywords in the added C lines
# Characters in one line of the commit message or of the notes below it. A
# changelog line is prose, a log line or a URL; no real one comes near this,
# and the prose rules' patterns are then bounded too.
MAX_PROSE_LINE = 4000
NOTE_ID = "too-large-to-review"
# Seconds one rule may spend on one patch (or on a series). Every analysis
# is meant to be linear; this is the guard for the one that is not, so that
# a hostile mail costs a note, never a stall of the responder.
RULE_SECONDS = 10.0
# Seconds all the rules together may spend on one patch. A patch that is
# linear but slow to read as a whole (tens of thousands of one-line hunks,
# each its own region to parse) ran every rule into RULE_SECONDS in turn,
# each starting the reading over: twenty rules, twenty budgets. Once this
# is spent, the rules not yet run are out of time too.
PATCH_SECONDS = 30.0
# Seconds the rules may spend on a whole series. A thread of N slow patches,
# each under PATCH_SECONDS, held the responder N times as long; past this,
# each patch not yet read gets one out-of-time note, the series rules do not
# run, and the responder skips the series with the reason.
SERIES_SECONDS = 120.0
OUT_OF_TIME_ID = "out-of-time"
# A file of a checked commit that git takes for binary (a NUL byte in it).
BINARY_NOT_READ = "binary-not-read"
# The notes that say the rules did not read (all of) a patch.
NOT_READ = frozenset({NOTE_ID, OUT_OF_TIME_ID, BINARY_NOT_READ})

_LOOP = lazy_re(r"\b(?:for|while|do)\b")


def too_large(patch: Patch) -> str | None:
    """Why a patch is past a bound, or None."""
    if len(patch.files) > MAX_FILES:
        return f"it touches {len(patch.files)} files (the limit is {MAX_FILES})"
    prose = patch.body_lines[:patch.diff_body_start]
    if prose and (longest := max(map(len, prose))) > MAX_PROSE_LINE:
        return (f"a line of its commit message or notes has {longest} characters "
                f"(the limit is {MAX_PROSE_LINE})")
    added = loops = at_most = 0
    uncounted: list[str] = []
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
        if _too_deep(text):
            return f"{diff.path} nests braces and parentheses more than {MAX_DEPTH} deep"
        # Loop keywords are counted exactly only once a cheap count (which
        # also finds "format", "dom", ...) could pass the bound.
        upper = text.count("for") + text.count("while") + text.count("do")
        if upper:
            uncounted.append(text)
            at_most += upper
        if at_most > MAX_LOOPS:
            loops += sum(len(_LOOP.findall(t)) for t in uncounted)
            uncounted, at_most = [], loops
            if loops > MAX_LOOPS:
                return f"it adds more than {MAX_LOOPS} loops"
    return None


# Each bracket as a step of +1 or -1 (as a signed byte); every other byte
# is dropped (UTF-8 never uses these four bytes inside a longer character).
_STEPS = bytes.maketrans(b"{(})", b"\x01\x01\xff\xff")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"{}()")


def _too_deep(text: str) -> bool:
    """Are more than MAX_DEPTH braces and parentheses open at once (a
    closer with nothing open is ignored, as a hunk may start inside a
    block)?"""
    steps = text.encode("utf-8", "surrogatepass").translate(_STEPS, _NOT_BRACKETS)
    if len(steps) <= MAX_DEPTH:
        return False
    # The spread of the running sum bounds the depth from above and is
    # worked out in C; real code stays far below the bound, so the exact
    # count in Python is only for text that comes near it.
    sums = list(accumulate(memoryview(steps).cast("b")))
    if max(sums) - min(0, min(sums)) <= MAX_DEPTH:
        return False
    depth = 0
    for step in steps:
        if step == 1:
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif depth:
            depth -= 1
    return False


class OutOfTime(Exception):
    """A rule ran past its time budget."""


@contextmanager
def time_budget(seconds: float | None):
    """Raise OutOfTime in the code running inside once `seconds` have
    passed. The alarm is SIGALRM, so a long regular expression is stopped
    too (the re module looks at signals as it matches); it works in the
    main thread of a process only, and elsewhere nothing is timed."""
    import signal
    import threading

    if not seconds or threading.current_thread() is not threading.main_thread() \
            or not hasattr(signal, "setitimer"):
        yield
        return

    def fire(_signum, _frame):
        raise OutOfTime()

    earlier = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, earlier)


def out_of_time(patch: Patch | None, rule_id: str, seconds: float | None = None,
                what: str | None = None) -> Finding:
    """The finding that stands in for what a rule would have said, had it
    not run out of time on a patch (or on the series, patch None)."""
    where = "this patch" if patch is not None else "this series"
    who = what or rule_id
    return Finding(rule=OUT_OF_TIME_ID, severity="info",
                   patch_index=patch.index if patch is not None else None,
                   message_id=patch.message_id if patch is not None else None,
                   message=f"{who} ran out of time ({RULE_SECONDS if seconds is None else seconds:g} s) "
                           f"on {where}; what it would have said is left out")


def note(patch: Patch, why: str) -> Finding:
    """The one finding a patch past a bound gets, in place of the rules'."""
    return Finding(rule=NOTE_ID, severity="info", patch_index=patch.index, message_id=patch.message_id,
                   message=f"patch too large to review: {why}; no rule was run on it")
