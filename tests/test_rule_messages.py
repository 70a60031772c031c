"""What each rule says, recorded so a wording change shows up in review.

tests/snapshots/<rule-id>.txt holds, for every INVALID case of the rule,
the report lines it gives and the comment its reply draft makes (as ruff
keeps a snapshot per rule). docs/rules.md is the rules' documentation as
`tdxbot rules --markdown` renders it. After changing a rule's wording or
docstring, rewrite both and read the diff before committing:

    TDXBOT_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_rule_messages.py
"""
import os
from datetime import datetime, timezone

import pytest
from conftest import ROOT

from tdxbot.lint.engine import Options, all_rules, review_series
from tdxbot.mail.model import Address, Series
from tdxbot.lint.findings import Review
from tdxbot.output.drafts import draft_replies
from tdxbot.output.reports import render_text
from tdxbot.lint.cases import SeriesCase, case_patch, series_case_series
from tdxbot.output.rulesdoc import REGENERATE, REPO_DOC, render_markdown

UPDATE = os.environ.get("TDXBOT_UPDATE_SNAPSHOTS") == "1"
SNAPSHOTS = ROOT / "tests" / "snapshots"
HOW = "TDXBOT_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_rule_messages.py"
RULES = all_rules()
SENDER = Address("Rita Reviewer", "rita@example.org")
WHEN = datetime(2026, 9, 15, 10, 0, tzinfo=timezone.utc)


def _review(rule, case) -> Review:
    if isinstance(case, SeriesCase):
        series = series_case_series(case)
    else:
        patch = case_patch(case)
        series = Series(title=patch.title, version=patch.version, total=patch.total, cover=None,
                        patches=(patch,))
    review = review_series(series, Options(select=frozenset({rule.id})))
    review.follow_up = None  # what the rule says, not the follow-up on the case's previous version
    return review


def _report_lines(review: Review) -> list[str]:
    """The text report's finding lines (and the offending line under each),
    without the series header, patch title and totals around them."""
    return [ln for ln in render_text(review).splitlines() if ln.startswith("  ") and "note:" not in ln]


def _comment_lines(review: Review) -> list[str]:
    """What the reply drafts say in their own words: the body without the
    attribution, the quoted patch and the signature."""
    out = []
    for draft in draft_replies(review, SENDER, WHEN):
        body = draft.message.get_content().split("\n-- \n", 1)[0].splitlines()
        if body and body[0].endswith(" wrote:"):
            body = body[1:]  # the attribution (there is none when nothing is quoted)
        for line in body:
            if line.startswith(">") or (not line.strip() and (not out or not out[-1].strip())):
                continue  # the quoted patch, and the gaps it leaves
            out.append(line)
    while out and not out[0].strip():
        out.pop(0)
    while out and not out[-1].strip():
        out.pop()
    return out


def snapshot(rule) -> str:
    out = [f"# {rule.id}: what each INVALID case reports and what its reply draft says.",
           f"# Rewrite after a wording change: {HOW}"]
    for i, case in enumerate(rule.module.INVALID):
        review = _review(rule, case)
        mine = Review(series=review.series, findings=[f for f in review.findings if f.rule == rule.id])
        out += ["", f"## case {i}: {case.why or '(no description)'}", "report:"]
        out += _report_lines(mine) or ["  (no finding)"]
        comments = _comment_lines(mine)
        if not comments and all(f.severity == "info" for f in mine.findings):
            comments = ["(info findings are not put into reply drafts)"]
        out += ["reply:"] + ["  " + ln if ln else "" for ln in comments]
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_rule_messages_match_snapshot(rule):
    path = SNAPSHOTS / f"{rule.id}.txt"
    got = snapshot(rule)
    if UPDATE:
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(got)
    assert path.exists(), f"no snapshot for {rule.id}: run {HOW}"
    assert got == path.read_text(), f"{rule.id}'s messages changed: run {HOW} and review the diff"


def test_no_snapshot_of_a_rule_that_is_gone():
    ids = {r.id for r in RULES}
    stale = sorted(p.name for p in SNAPSHOTS.glob("*.txt") if p.stem not in ids)
    if UPDATE:
        for name in stale:
            (SNAPSHOTS / name).unlink()
        stale = []
    assert not stale, f"snapshots of unknown rules: {stale}; run {HOW}"


def test_rules_document_is_up_to_date():
    path = ROOT / REPO_DOC
    got = render_markdown(RULES)
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(got)
    assert path.exists() and path.read_text() == got, \
        f"{REPO_DOC} is out of date: run '{REGENERATE}' (or {HOW})"


def test_every_rule_has_a_section_the_help_links_can_point_at():
    text = (ROOT / REPO_DOC).read_text()
    for rule in RULES:
        assert f"\n## {rule.id}\n" in text, rule.id
