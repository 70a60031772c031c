"""The changelog's last sentence has no full stop (a nit, info).

What it flags: a changelog whose closing paragraph is prose (not a list,
not a quoted log or code block, not a URL) of four words or more and ends
without its full stop, as "... switch KVM over to the shared definitions"
or a credit line "Thanks to Marek for the report". One finding, on the
last line.

It is an info finding: in the report, never in a reply draft. A reviewer
may mention it as a nit, and maintainers add the full stop when they apply
the patch; it is a matter of punctuation, not of voice or mood (the
passive and the imperative are changelog-passive's and
changelog-imperative's business).

Why: a changelog is prose, and one that stops mid-air reads as cut off.
Kai, on a KVM TDX patch: "Nit: missing period at the end of the
sentence."

Fires on a changelog ending "Delete the copies in KVM and switch KVM over
to the shared definitions".
Must not fire on the same sentence with its full stop, on a changelog that
ends in a list or a quoted log, nor on one ending in a Link: URL.
"""
from __future__ import annotations

from ..lint.kit import GENERIC, KVM_X86, TIP, Case, ChangelogLine, Violation, lazy_re

ID = "changelog-final-period"
SEVERITY = "info"
PATHS = None
TREES = {TIP: "no document: reviewers raise it as a nit, maintainers fix it when applying",
         KVM_X86: "no document: reviewers raise it as a nit, maintainers fix it when applying",
         GENERIC: "no document: reviewers raise it as a nit, maintainers fix it when applying"}
TOPICS = ("period", "full stop", "punctuation")

_ENDS_SENTENCE = lazy_re(r"[.!?:;)\"'`]$")
_LIST_ITEM = lazy_re(r"^\s*(?:[-*]|\d+[.)])\s")


class NoFinalPeriod(Violation):
    message = "the changelog's last sentence has no full stop"
    comment = "Nit: the last sentence is missing its full stop."


def check_patch(ctx):
    if (index := _unended_last_line(ctx.patch)) is not None:
        ctx.report(ChangelogLine(index), NoFinalPeriod())


def _unended_last_line(patch) -> int | None:
    """The index of the changelog's last line when it ends a prose
    sentence of four words or more without its full stop."""
    para = _closing_paragraph(patch)
    if para and not _LIST_ITEM.match(para[0][1]):
        index, text = para[-1]
        words = " ".join(t for _, t in para).split()
        if len(words) >= 4 and not _ENDS_SENTENCE.search(text.rstrip()) and "://" not in text:
            return index
    return None


def _closing_paragraph(patch) -> list[tuple[int, str]]:
    """The prose paragraph that ends the changelog (nothing but trailers
    after it), or [] when a quoted log or code block ends it."""
    trailer_lines = {t.line for t in patch.trailers}
    body = [(i, t) for i, t in enumerate(patch.changelog_lines) if i not in trailer_lines]
    while body and not body[-1][1].strip():
        body.pop()
    prose = dict(patch.prose_lines)
    para = []
    for index, text in reversed(body):
        if not text.strip():
            break
        if index not in prose or text.lstrip().startswith("["):
            return []
        para.append((index, text))
    return para[::-1]


INVALID = [
    Case(changelog="Print the status of the failing SEAMCALL so there is a breadcrumb",
         at=('changelog:1: Print the status',), why="last sentence without its full stop"),
    Case(changelog="Delete the TDX_TD_ATTR_* copies in KVM's tdx_arch.h and switch KVM over\n"
                   "to the shared definitions", at=('changelog:2: to the shared definitions',),
         why="the last line of a two-line sentence"),
    Case(changelog="Print the status when TDH.SYS.DISABLE fails.\n\nThanks to Marek for the report",
         at=('changelog:3: Thanks to Marek',), why="a credit line without its full stop: still only a nit"),
]

VALID = [
    Case(changelog="Print the status of the failing SEAMCALL so there is a breadcrumb.",
         why="ends with its full stop"),
    Case(changelog="Print the status:\n\n  - once per boot\n  - with the leaf name", why="list ends the changelog"),
    Case(changelog="Print the status. The log then reads:\n\n    tdx: TDH.SYS.DISABLE failed: 0x8000020200000000",
         why="a quoted log ends the changelog"),
    Case(changelog="Print the status.\n\nSee https://lore.kernel.org/all/20260301.bob@example.com", why="a URL"),
]
