"""A cover letter (or patch notes) still holding the tool's placeholders.

What it flags: git format-patch's `*** SUBJECT HERE ***` and `*** BLURB
HERE ***`, and b4's `EDITME` lines ("EDITME: cover title for ...",
"EDITME: describe what is new in this series revision."), in the cover
letter (the message numbered 0/N) or in the notes of any patch (b4 puts a
single patch's cover text below its '---' line). One finding per message.

Why: a cover letter sent unedited tells the reviewers nothing about the
series (what it does, why, what changed since the last version), and
maintainers reply asking for a resend with a real cover letter before
they look at the patches. b4 itself refuses to send EDITME text unless
forced; git send-email does not check.

Fires on a series whose 0/3 message is titled `[PATCH 0/3] *** SUBJECT
HERE ***` with `*** BLURB HERE ***` as its body.
Must not fire on a cover letter that says what the series does, nor on a
changelog that mentions the word "placeholder".
"""
from __future__ import annotations

import re

from ..lint.kit import Case, Violation, lazy_re

ID = "cover-placeholder"
SEVERITY = "warning"
PATHS = None
TOPICS = ("cover letter", "cover", "blurb", "subject here", "editme", "placeholder")

_PLACEHOLDER = lazy_re(r"\*\*\* (?:SUBJECT|BLURB) HERE \*\*\*|^\s*(?:[-*]\s*)?EDITME\b", re.M)


class PlaceholderLeft(Violation):
    message = "the {what} still has the placeholder text {quoted}"
    comment = ("The {what} still has the placeholder text from the tools ({listed}). Please fill "
               "in what the series does and why, and resend.")

    @property
    def what(self) -> str:
        return "cover letter" if self.index == 0 else f"patch {self.index}/{self.total}"

    @property
    def quoted(self) -> str:
        return ", ".join(repr(f) for f in self.found)

    @property
    def listed(self) -> str:
        return ", ".join(self.found)


def check_series(ctx):
    series = ctx.series
    covers = ([series.cover] if series.cover is not None else [])
    for message in covers + [p for p in series.patches if p not in covers]:
        if found := _placeholders(message):
            ctx.report(None, PlaceholderLeft(index=message.index, total=message.total, found=found))


def _placeholders(message) -> list[str]:
    """The placeholders left in a message's text before its diff, each once."""
    text = _text_before_diff(message)
    if "HERE ***" not in text and "EDITME" not in text:
        return []  # the two words every placeholder has: a search in C before the pattern
    return list(dict.fromkeys(m.group(0).strip(" -*") for m in _PLACEHOLDER.finditer(text)))


def _text_before_diff(patch) -> str:
    return "\n".join([patch.title] + list(patch.body_lines[:patch.diff_body_start]))


INVALID = [
    Case(tag="PATCH 0/3", subject="*** SUBJECT HERE ***", changelog="*** BLURB HERE ***",
         at=('series:',), why="git format-patch's cover template, unedited"),
    Case(tag="PATCH v2 0/2", subject="EDITME: cover title for tdx-shutdown",
         changelog="Add a shutdown step.", at=('series:',), why="b4's cover title, unedited"),
    Case(notes="Changes in v2:\n- EDITME: describe what is new in this series revision.\n"
               "- EDITME: use bulletpoints and terse descriptions.",
         at=('series:',), why="b4's version notes below the '---', one finding for the message"),
]

VALID = [
    Case(tag="PATCH 0/3", subject="x86/virt/tdx: Shut the TDX module down before kexec",
         changelog="This series shuts the TDX module down before kexec, so that the next kernel\n"
                   "can bring it up from scratch.", why="a real cover letter"),
    Case(changelog="Replace the placeholder SUBJECT HERE comment in tdx.c with a real one.",
         why="words, not the template"),
    Case(notes="Changes in v2:\n- Describe what is new (was EDITME in v1).", why="EDITME mid-line"),
]
