"""What the rules found: findings, and a series with its findings (a
Review); and the Options a review runs with."""
from __future__ import annotations


from ..common import NamedTuple

SEVERITIES = ("error", "warning", "info")
SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2}


class Finding(NamedTuple):
    rule: str
    severity: str
    message: str
    patch_index: int | None  # None for series-level findings
    message_id: str | None
    path: str | None = None
    line: int | None = None
    changelog_line: int | None = None  # index into Patch.changelog_lines
    on_subject: bool = False
    source_text: str | None = None  # the offending line, for reports
    comment: str | None = None  # reviewer prose for reply drafts
    already_raised: bool = False  # a human reviewer already made this point
    fix: tuple = ()  # edits that fix the finding, when the fix is certain
    column: int | None = None  # 1-based column of a code finding (0: the line as a whole)
    violation: str | None = None  # the name of the rule's Violation subclass

    @property
    def rank(self) -> int:
        return SEVERITY_RANK[self.severity]


class Review:
    """A series and what the rules found in it (the one mutable record)."""

    def __init__(self, series: Series, findings: list[Finding] | None = None,
                 notes: list[str] | None = None, follow_up=None):
        self.series = series
        self.findings = list(findings or [])
        self.notes = list(notes or [])
        # The follow-up on the previous version's review (lint.followup's
        # FollowUpReport); None when no previous version was compared.
        self.follow_up = follow_up


class Options(NamedTuple):
    """Which rules run, and at what severity (from the command line and git
    config). Kept here, not in the engine, so that reading options does
    not load the rules: `b4-check` builds them before it knows whether the
    patch is in its scope at all."""
    ignore: frozenset[str] = frozenset()
    select: frozenset[str] | None = None  # run only these rule ids
    severity: tuple[tuple[str, str], ...] = ()  # (rule id, severity) overrides
