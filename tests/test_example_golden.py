"""The bundled example series against its recorded report and draft bodies.

A rule change that alters them must update fixtures/example-series.expected.json
and fixtures/example-drafts/ on purpose: run the tests with
TDXBOT_UPDATE_GOLDEN=1 and review the diff before committing it.
"""
import json
import os
from datetime import datetime, timezone

from conftest import FIXTURES, run_cli

from tdxbot.lint.engine import review_series
from tdxbot.mail.model import Address
from tdxbot.output.drafts import draft_replies
from tdxbot.mail.assembly import assemble
from tdxbot.mail.sources import load_local

UPDATE = os.environ.get("TDXBOT_UPDATE_GOLDEN") == "1"


def test_example_report_matches_recorded():
    res = run_cli("review", FIXTURES / "example-series.mbox", "--format", "json")
    got = json.loads(res.stdout)
    got.pop("version")
    path = FIXTURES / "example-series.expected.json"
    if UPDATE:
        path.write_text(json.dumps(got, indent=2) + "\n")
    assert got == json.loads(path.read_text())


def test_example_draft_bodies_match_recorded():
    review = review_series(assemble(load_local(str(FIXTURES / "example-series.mbox")), None, "example"))
    drafts = draft_replies(review, Address("Rita Reviewer", "rita@example.org"),
                           datetime(2026, 9, 15, 10, 0, tzinfo=timezone.utc))
    folder = FIXTURES / "example-drafts"
    got = {d.filename.replace(".eml", ".txt"): d.message.get_content() for d in drafts}
    if UPDATE:
        folder.mkdir(exist_ok=True)
        for old in folder.iterdir():
            old.unlink()
        for name, body in got.items():
            (folder / name).write_text(body)
    want = {p.name: p.read_text() for p in folder.iterdir()}
    assert got == want
