"""fixtures/history: real multi-version TDX series, re-created in our own
words, with the review remarks on each earlier version labelled against the
next version (fixtures/history/README.md). fixtures/history/build.py makes
the files from Debian's kernel source; these checks keep the committed mboxes
and labels consistent without rebuilding them."""
import json
import re

import pytest

from conftest import FIXTURES, run_cli

HISTORY = FIXTURES / "history"
SERIES = sorted(p for p in HISTORY.iterdir() if (p / "labels.json").is_file())
MBOXES = sorted(m for s in SERIES for m in s.glob("v*.mbox"))
STATUSES = {"addressed", "not addressed", "unclear"}
REMARK_KEYS = {"version", "reviewer", "message_id", "patch_index", "path", "line", "remark", "status",
               "author_agreed", "why", "source"}


def _messages(mbox: str) -> dict[str, str]:
    """{Message-ID: whole message text} of an mboxrd file."""
    out = {}
    for chunk in re.split(r"(?m)^From mboxrd@z .*\n", mbox)[1:]:
        m = re.search(r"(?mi)^Message-I[dD]: <([^>]+)>$", chunk)
        out[m.group(1)] = chunk
    return out


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_three_series_one_with_three_versions():
    versions = [len(json.loads((s / "labels.json").read_text())["versions"]) for s in SERIES]
    assert len(SERIES) >= 3 and min(versions) >= 2 and max(versions) >= 3


@pytest.mark.parametrize("series", SERIES, ids=lambda p: p.name)
def test_labels_point_into_the_mboxes(series):
    labels = json.loads((series / "labels.json").read_text())
    msgs = {v["version"]: _messages((series / v["mbox"]).read_text()) for v in labels["versions"]}
    last = max(msgs)
    assert labels["remarks"]
    for r in labels["remarks"]:
        assert REMARK_KEYS <= set(r), r
        assert r["status"] in STATUSES
        assert r["version"] < last, "remarks are labelled on earlier versions only"
        body = msgs[r["version"]][r["message_id"]]
        assert _flat(r["remark"]) in _flat(body)
        if r["line"] is not None:
            assert r["path"] and r["quoted"], r
    for t in labels["tags"]:
        assert t["tag"] in msgs[t["version"]][t["message_id"]].split("\n")


@pytest.mark.parametrize("mbox", MBOXES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_each_version_is_one_complete_series(mbox):
    assert mbox.stat().st_size < 200_000
    res = run_cli("review", mbox, "--format", "json")
    assert res.returncode in (0, 1), res.stderr.decode()
    out = json.loads(res.stdout)
    assert len(out["series"]) == 1
    series = out["series"][0]
    assert series["version"] == int(mbox.stem[1:]) and not series["missing"]
