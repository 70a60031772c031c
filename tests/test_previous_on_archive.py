"""The previous version of a series, found on a real public-inbox (with
its Xapian search) on 127.0.0.1 the way b4 finds it, and the follow-up
on its review in the report and in the responder's replies.

The archive holds the re-created TDX series of fixtures/history: kexec v2
and v3 (b4 send: change-id, "Link to v2:"), and the module update series
v8 and v9 (git send-email: neither, so the subject and sender are
searched), each with its review thread. A copy of kexec v3 without the
link leaves the change-id to find v2 by.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest

from conftest import run_cli

pytestmark = pytest.mark.slow

HISTORY = Path(__file__).resolve().parent.parent / "fixtures" / "history"
SENDER = "TDX Bot <tdxbot@example.org>"


def _mails(path: Path) -> list[bytes]:
    from tdxbot.mail.sources import split_mbox

    return split_mbox(path.read_bytes())


def _msgid(raw: bytes) -> str:
    return re.search(rb"(?mi)^Message-I[dD]:\s*<([^>]+)>", raw).group(1).decode()


def _cover(raws: list[bytes]) -> bytes:
    return next(r for r in raws if re.search(rb"(?m)^Subject: \[PATCH[^\]]* 0/\d+\]", r))


def _unlinked(raws: list[bytes]) -> list[bytes]:
    """A kexec v3 whose notes carry no link to v2 (the change-id stays),
    under Message-IDs of its own."""
    out = []
    for raw in raws:
        raw = re.sub(rb"(?m)^- Link to v2: .*\n", b"", raw)
        out.append(raw.replace(b"-v3-", b"-v3x-"))
    return out


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    from pi_server import Inbox, require_public_inbox

    require_public_inbox()
    inbox = Inbox(str(tmp_path_factory.mktemp("pi-history")), name="hist")
    inbox.init()
    threads = {
        "kexec-v2": _mails(HISTORY / "tdx-kexec" / "v2.mbox"),
        "kexec-v3": _mails(HISTORY / "tdx-kexec" / "v3.mbox"),
        "update-v8": _mails(HISTORY / "tdx-module-update" / "v8.mbox"),
        "update-v9": _mails(HISTORY / "tdx-module-update" / "v9.mbox"),
    }
    # Only the postings of the newest versions: their own review is not
    # what the follow-up is about.
    for key in ("kexec-v3", "update-v9"):
        threads[key] = [r for r in threads[key] if not re.search(rb"(?m)^Subject: Re:", r)]
    threads["kexec-v3x"] = _unlinked(threads["kexec-v3"])
    for raws in threads.values():
        for raw in raws:
            inbox.deliver(raw)
    inbox.start()
    yield inbox, threads
    inbox.stop()


def _review(inbox, msgid: str, *extra: str) -> tuple[dict, str]:
    res = run_cli("review", msgid, "--lore-url", inbox.url, "--format", "json", *extra, timeout=300)
    assert res.returncode in (0, 1), res.stderr.decode()[-2000:]
    return json.loads(res.stdout), res.stderr.decode()


def _labelled(series: str, version: int) -> list[dict]:
    labels = json.loads((HISTORY / series / "labels.json").read_text())
    return [r for r in labels["remarks"] if r["version"] == version]


def _agreement(follow_up: list[dict], labels: list[dict]) -> int:
    def flat(t):
        return " ".join(t.split()).lower()

    found = 0
    for label in labels:
        want = flat(label["remark"])[:40]
        if any(it["message_id"] == label["message_id"] and it["status"] == label["status"]
               and (flat(it["remark"]).startswith(want[:30]) or want in flat(it["remark"]))
               for it in follow_up):
            found += 1
    return found


def test_previous_found_through_the_link_in_the_notes(archive):
    """kexec v3's notes say "Link to v2: https://patch.msgid.link/<id>": the
    thread of that Message-ID is fetched from the archive."""
    inbox, threads = archive
    report, _ = _review(inbox, _msgid(_cover(threads["kexec-v3"])))
    items = report["follow_up"]
    assert items and {it["version"] for it in items} == {2}
    labels = _labelled("tdx-kexec", 2)
    assert _agreement(items, labels) >= len(labels) - 1
    # The Reviewed-by and Acked-by given on v2, and whether v3 carries them.
    assert any(t["tag"].lower().startswith(("reviewed-by", "acked-by")) for t in report["tags_given"])


def test_previous_found_by_change_id(archive):
    """No link in the notes: the search for the cover letter's change-id
    finds v2 (a prerequisite's change-id would match too; only postings
    that carry ours count)."""
    inbox, threads = archive
    report, _ = _review(inbox, _msgid(_cover(threads["kexec-v3x"])))
    items = report["follow_up"]
    assert items and {it["version"] for it in items} == {2}
    assert {it["message_id"] for it in items} <= {_msgid(r) for r in threads["kexec-v2"]}


def test_previous_found_by_subject_and_sender(archive):
    """git send-email postings: neither a link nor a change-id; the search
    for the cover letter's subject and sender finds v8."""
    inbox, threads = archive
    report, _ = _review(inbox, _msgid(_cover(threads["update-v9"])))
    items = report["follow_up"]
    assert items and {it["version"] for it in items} == {8}
    labels = _labelled("tdx-module-update", 8)
    assert _agreement(items, labels) >= len(labels) - 1


def test_text_report_shows_the_follow_up(archive):
    inbox, threads = archive
    res = run_cli("review", _msgid(_cover(threads["update-v9"])), "--lore-url", inbox.url, timeout=300)
    text = res.stdout.decode()
    assert "v8" in text and "addressed" in text


def test_first_version_and_previous_none_look_nowhere(archive):
    inbox, threads = archive
    report, _ = _review(inbox, _msgid(_cover(threads["kexec-v2"])))
    # kexec v1 is not on this archive, and v2 carries no link to it.
    assert not report.get("follow_up")
    report, _ = _review(inbox, _msgid(_cover(threads["kexec-v3"])), "--previous", "none")
    assert not report.get("follow_up")


def test_responder_reply_carries_the_follow_up(archive, tmp_path):
    """The watcher sees v9 arrive; the archive holds v8 with its review:
    the reply to the cover letter sums up the follow-up, open points first."""
    inbox, threads = archive
    maildir = tmp_path / "drafts"
    env = dict(os.environ, HOME=str(tmp_path), XDG_CACHE_HOME=str(tmp_path / "cache"),
               GIT_CONFIG_NOSYSTEM="1")
    cmd = [sys.executable, "-m", "tdxbot", "watch", "--inbox", inbox.url, "--state", str(tmp_path / "s.sqlite3"),
           "--from", SENDER, "--settle", "0", "--once", "--backlog", "--drafts", str(maildir)]
    res = subprocess.run(cmd, env=env, capture_output=True, timeout=600, cwd=tmp_path)
    assert res.returncode == 0, res.stderr.decode()[-2000:]
    replies = {}
    for path in maildir.rglob("*"):
        if path.is_file():
            msg = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
            replies[(msg.get("In-Reply-To") or "").strip("<> ")] = msg.get_content()
    # The points of kexec v2 that v3 left open (by the labels) come first
    # in the reply to v3's cover letter.
    still_open = sum(1 for r in _labelled("tdx-kexec", 2) if r["status"] != "addressed")
    kexec = replies.get(_msgid(_cover(threads["kexec-v3"])))
    assert kexec is not None, sorted(replies)
    assert f"Follow-up on the v2 review: {still_open} of" in kexec, kexec
    assert kexec.index("Not addressed:") < kexec.index("look addressed.")
    # Every point of v8 was handled; a Reviewed-by given on v8 is not carried.
    update = replies.get(_msgid(_cover(threads["update-v9"])))
    assert update is not None and "Follow-up on the v8 review: 0 of" in update, update
    assert "Tags given on v8 that this version does not carry" in update
