"""The follow-up on the previous version's review, on the labelled
multi-version TDX series of fixtures/history (see its README): the JSON
shape the issue asks for, the labels' statuses, tags, the author's
agreement, and what is not a remark."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import pytest

from conftest import run_cli

HISTORY = Path(__file__).resolve().parent.parent / "fixtures" / "history"
PAIRS = [("tdx-kexec", "v1.mbox", "v2.mbox"), ("tdx-kexec", "v2.mbox", "v3.mbox"),
         ("tdx-dpamt", "v2.mbox", "v3.mbox"), ("tdx-module-update", "v8.mbox", "v9.mbox")]
FIELDS = {"version": int, "reviewer": str, "message_id": str, "patch_index": (int, type(None)),
          "path": (str, type(None)), "line": (int, type(None)), "remark": str, "status": str, "why": str}


@lru_cache(maxsize=None)
def _report(series: str, old: str, new: str, fmt: str = "json"):
    res = run_cli("review", HISTORY / series / new, "--previous", HISTORY / series / old, "--format", fmt)
    assert res.returncode in (0, 1), res.stderr.decode()[-2000:]
    return json.loads(res.stdout) if fmt == "json" else res.stdout.decode()


def _labels(series: str) -> dict:
    return json.loads((HISTORY / series / "labels.json").read_text())


def _flat(text: str) -> str:
    return " ".join(text.split()).lower()


def _item_for(label: dict, items: list[dict]) -> dict | None:
    want = _flat(label["remark"])[:40]
    same = [it for it in items if it["message_id"] == label["message_id"]]
    return next((it for it in same if _flat(it["remark"]).startswith(want[:30])),
                next((it for it in same if want in _flat(it["remark"])), None))


def _version(mbox: str) -> int:
    return int(mbox[1:].split(".")[0])


@pytest.mark.parametrize("series,old,new", PAIRS)
def test_follow_up_items_have_the_issue_shape(series, old, new):
    items = _report(series, old, new)["follow_up"]
    assert items
    for it in items:
        for name, kind in FIELDS.items():
            assert isinstance(it[name], kind), (name, it)
        assert it["status"] in ("addressed", "not addressed", "unclear")
        assert it["version"] == _version(old)
        assert it["remark"].strip() and it["why"].strip()


@pytest.mark.parametrize("series,old,new", PAIRS)
def test_labelled_remarks_get_their_status(series, old, new):
    """Every labelled remark is found, and nearly all get the labelled
    status (bench/history_agreement.py prints the table)."""
    items = _report(series, old, new)["follow_up"]
    labels = [r for r in _labels(series)["remarks"] if r["version"] == _version(old)]
    found = [(label, _item_for(label, items)) for label in labels]
    assert all(item is not None for _, item in found), [lb["remark"][:60] for lb, it in found if it is None]
    wrong = [(lb["status"], it["status"], lb["remark"][:60]) for lb, it in found if it["status"] != lb["status"]]
    assert len(wrong) <= max(1, len(labels) // 10), wrong


@pytest.mark.parametrize("series,old,new", PAIRS)
def test_only_remarks_are_items(series, old, new):
    """Bare quotes, greetings, signatures and tags are no remarks: at most
    a couple of items match no label (real remarks the labels leave out)."""
    items = _report(series, old, new)["follow_up"]
    labels = [r for r in _labels(series)["remarks"] if r["version"] == _version(old)]
    matched = {id(_item_for(lb, items)) for lb in labels}
    extra = [it["remark"][:60] for it in items if id(it) not in matched]
    assert len(extra) <= 1, extra
    for it in items:
        low = it["remark"].lower()
        assert not low.startswith(("reviewed-by:", "acked-by:", "thanks,", "hi ")), it["remark"]


@pytest.mark.parametrize("series,old,new", PAIRS)
def test_tags_given_and_whether_carried(series, old, new):
    report = _report(series, old, new)
    labelled = [t for t in _labels(series)["tags"] if t["version"] == _version(old)]
    given = {(t["patch_index"], t["tag"]): t for t in report["tags_given"]}
    for tag in labelled:
        got = given.get((tag["patch_index"], tag["tag"]))
        assert got is not None, tag["tag"]
        assert got["carried"] == tag["carried_in_next"], (tag["tag"], tag["why"])


def test_author_agreed_but_nothing_changed():
    """DPAMT v2 2/4: the author answered "Will do." and v3 kept the lines."""
    items = _report("tdx-dpamt", "v2.mbox", "v3.mbox")["follow_up"]
    labels = [r for r in _labels("tdx-dpamt")["remarks"] if r["author_agreed"] and r["status"] == "not addressed"]
    assert labels
    for label in labels:
        item = _item_for(label, items)
        assert item["status"] == "not addressed" and item["author_agreed"]
        assert "agreed" in item["why"]


def test_text_report_and_cover_draft_show_open_points_first(tmp_path):
    text = _report("tdx-kexec", "v2.mbox", "v3.mbox", "text")
    assert "not addressed" in text
    res = run_cli("review", HISTORY / "tdx-kexec" / "v3.mbox", "--previous", HISTORY / "tdx-kexec" / "v2.mbox",
                  "--drafts", tmp_path / "drafts")
    assert res.returncode in (0, 1), res.stderr.decode()[-2000:]
    bodies = [p.read_text(errors="replace") for p in (tmp_path / "drafts").rglob("*") if p.is_file()]
    summary = [b for b in bodies if "Follow-up on the v2 review" in b]
    assert len(summary) == 1
    body = summary[0]
    assert body.index("Not addressed:") < body.index("look addressed.")
