"""A loose mbox of many threads: every series in it is reviewed and
reported, each thread on its own; versions are chosen per thread; the
two-core path (threads shared with a forked child) gives the report the
one-core path gives."""
import json
import os
import shutil

import pytest
from conftest import run_cli
from mails import mbox, patch_mail, plain_mail

from tdxbot.flow import forked, pipeline, threads
from tdxbot.mail.assembly import plan_threads, split_threads
from tdxbot.lint.engine import Options, active_rules
from tdxbot.common.errors import UserError
from tdxbot.output.reports import render
from tdxbot.mail.sources import parse_message, split_mbox

LOOP = "while (tdh_sys_shutdown() == TDX_OPERAND_BUSY)\n\tcpu_relax();"


def _series(version: int, n: int, stem: str, title: str, parent: str | None = None) -> list[str]:
    v = f" v{version}" if version > 1 else ""
    cover_id = f"{stem}-v{version}-0@example.org"
    notes = "\n\nChanges in v2:\n- split the loop out" if version > 1 else ""
    out = [plain_mail(f"[PATCH{v} 0/{n}] {title}", cover_id, "The cover letter." + notes,
                      in_reply_to=parent, author="Alice Example <alice@example.org>")]
    for i in range(1, n + 1):
        out.append(patch_mail(f"[PATCH{v} {i}/{n}] x86/virt/tdx: {stem} part {i}",
                              f"{stem}-v{version}-{i}@example.org", in_reply_to=cover_id,
                              changelog=f"Add part {i} of the {stem} work.", code=LOOP))
    return out


def _lone(msgid: str, title: str, version: int = 1) -> str:
    v = f" v{version}" if version > 1 else ""
    changelog = f"Bound the loop in {msgid.split('@')[0]}." + (
        "\n\nv2: reworded the changelog." if version > 1 else "")
    return patch_mail(f"[PATCH{v}] {title}", msgid, changelog=changelog, code=LOOP,
                      author="Dan Dev <dan@example.org>")


def _reply(msgid: str, parent: str, references: str) -> str:
    mail = plain_mail("Re: [PATCH 1/2] x86/virt/tdx: cover part 1", msgid,
                      "> +while (tdh_sys_shutdown() == TDX_OPERAND_BUSY)\n\nThis needs a bound.",
                      in_reply_to=parent)
    return mail.replace(f"References: <{parent}>", f"References: {references}")


def _mix() -> bytes:
    """Lone patches, a threaded series with a cover and replies (one whose
    parent is not in the mbox), two versions of one series each in its own
    thread, and an unthreaded re-send of a lone patch."""
    cover = _series(1, 2, "cover", "x86/virt/tdx: A series with replies")
    mails = [
        _lone("lone-a@example.org", "x86/virt/tdx: Bound the first loop"),
        *cover,
        _reply("reply-1@example.org", "cover-v1-1@example.org", "<cover-v1-0@example.org> <cover-v1-1@example.org>"),
        # Its parent never reached this mbox; its References still name the cover.
        _reply("reply-2@example.org", "missing@example.org", "<cover-v1-0@example.org> <missing@example.org>"),
        *_series(1, 3, "ver", "x86/virt/tdx: Two versions"),
        _lone("resend-v1@example.org", "x86/virt/tdx: Bound the re-sent loop"),
        _lone("lone-b@example.org", "x86/tdx: Bound the guest loop"),
        *_series(2, 3, "ver", "x86/virt/tdx: Two versions"),
        _lone("resend-v2@example.org", "x86/virt/tdx: Bound the re-sent loop", version=2),
    ]
    return mbox(*mails)


def _expected_series():
    """(subject, version, number of patches, Message-ID), in the order of
    the postings reviewed."""
    return [
        ("x86/virt/tdx: Bound the first loop", 1, 1, "lone-a@example.org"),
        ("x86/virt/tdx: A series with replies", 1, 2, "cover-v1-0@example.org"),
        ("x86/tdx: Bound the guest loop", 1, 1, "lone-b@example.org"),
        ("x86/virt/tdx: Two versions", 2, 3, "ver-v2-0@example.org"),
        ("x86/virt/tdx: Bound the re-sent loop", 2, 1, "resend-v2@example.org"),
    ]


def _heads(data: bytes):
    return [parse_message(raw, "t", lite=True) for raw in split_mbox(data)]


def _summary(report: dict):
    return [(s["subject"], s["version"], len(s["patches"]), s["message_id"]) for s in report["series"]]


def test_threads_by_references_in_reply_to_and_shared_references():
    heads = _heads(_mix())
    ids = [h.get("Message-ID").strip("<>") for h in heads]
    threads = [[ids[p] for p in t] for t in split_threads(heads)]
    assert ["cover-v1-0@example.org", "cover-v1-1@example.org", "cover-v1-2@example.org",
            "reply-1@example.org", "reply-2@example.org"] in threads
    assert ["lone-a@example.org"] in threads and ["lone-b@example.org"] in threads
    assert len(threads) == 7  # the cover thread, two series threads, four lone patches


def test_resends_and_versions_collapse_to_the_newest():
    heads = _heads(_mix())
    plans, notes = plan_threads(heads, None)
    assert notes == []
    firsts = [heads[p.positions[0]].get("Message-ID").strip("<>") for p in plans]
    assert firsts == [s[3] for s in _expected_series()]
    resend = plans[4]
    assert resend.notes and "v1 (<resend-v1@example.org>, the same author)" in resend.notes[0]


def test_every_series_of_the_mix_is_reviewed_and_reported(tmp_path):
    box = tmp_path / "mix.mbox"
    box.write_bytes(_mix())
    res = run_cli("review", box, "--format", "json")
    assert res.returncode == 1, res.stderr
    report = json.loads(res.stdout)
    assert _summary(report) == _expected_series()
    # Every series drew its findings, on its own patches.
    ids = {p["message_id"] for s in report["series"] for p in s["patches"]}
    found = {f["message_id"] for f in report["findings"]}
    assert found <= ids | {None} and len(found & ids) >= 5
    # Each finding names its series, and the patch it names is in that one.
    for f in report["findings"]:
        series = report["series"][f["series_index"]]
        if f["message_id"] is not None:
            assert f["message_id"] in {p["message_id"] for p in series["patches"]}
    assert len({f["series_index"] for f in report["findings"]}) >= 5
    # A lone patch is no re-roll of another: no bogus version, no notes rule.
    lone = [f for f in report["findings"] if f["message_id"] == "lone-b@example.org"]
    assert "version-notes-missing" not in {f["rule"] for f in lone}
    text = run_cli("review", box).stdout.decode()
    for subject, version, n, _ in _expected_series():
        assert f"Series: {subject} (v{version}, {n} of {n} patches" in text
    assert "other postings of this series in the input, not reviewed: v1" in text


def test_drafts_cover_every_series(tmp_path):
    box = tmp_path / "mix.mbox"
    box.write_bytes(_mix())
    res = run_cli("review", box, "--drafts", tmp_path / "d", "--from", "R <r@example.org>")
    assert res.returncode == 1, res.stderr
    replied_to = set()
    for name in os.listdir(tmp_path / "d"):
        head = (tmp_path / "d" / name).read_text().split("\n\n", 1)[0]
        replied_to |= {ln.split("<", 1)[1].rstrip(">") for ln in head.splitlines() if ln.startswith("In-Reply-To:")}
    for _, _, _, first in _expected_series():
        if first.startswith(("lone", "resend")):
            assert first in replied_to
    assert {"cover-v1-1@example.org", "ver-v2-1@example.org"} <= replied_to


def test_four_unrelated_patch_files_are_four_series(tmp_path):
    paths = []
    for i, title in enumerate(["x86/virt/tdx: Bound loop one", "x86/tdx: Bound loop two",
                               "KVM: TDX: Bound loop three", "x86/virt/tdx: Bound loop four"], 1):
        path = tmp_path / f"{i}.eml"
        path.write_text(_lone(f"file-{i}@example.org", title))
        paths.append(path)
    report = json.loads(run_cli("review", *paths, "--format", "json").stdout)
    assert [(s["version"], len(s["patches"]), s["message_id"]) for s in report["series"]] == \
        [(1, 1, f"file-{i}@example.org") for i in range(1, 5)]
    assert "version-notes-missing" not in {f["rule"] for f in report["findings"]}


def test_a_series_sent_without_threading_is_put_back_together(tmp_path):
    mails = [patch_mail(f"[PATCH {i}/3] x86/virt/tdx: Loose part {i}", f"loose-{i}@example.org", code=LOOP)
             for i in range(1, 4)]
    box = tmp_path / "loose.mbox"
    box.write_bytes(mbox(_lone("other@example.org", "x86/tdx: Something else"), *mails))
    report = json.loads(run_cli("review", box, "--format", "json").stdout)
    assert [(len(s["patches"]), s["missing"]) for s in report["series"]] == [(1, []), (3, [])]


def test_a_version_is_chosen_per_thread(tmp_path):
    box = tmp_path / "mix.mbox"
    box.write_bytes(_mix())
    res = run_cli("review", box, "--format", "json", "--version", "2")
    assert res.returncode == 1, res.stderr
    report = json.loads(res.stdout)
    assert [(s["message_id"], s["version"]) for s in report["series"]] == \
        [("ver-v2-0@example.org", 2), ("resend-v2@example.org", 2)]
    err = res.stderr.decode()
    assert "no version 2; left out" in err and "'[PATCH] x86/tdx: Bound the guest loop'" in err
    assert "Traceback" not in err
    # v1 of the re-sent patch is found in its own thread.
    report = json.loads(run_cli("review", box, "--format", "json", "--version", "1").stdout)
    assert ("resend-v1@example.org", 1) in [(s["message_id"], s["version"]) for s in report["series"]]
    res = run_cli("review", box, "--format", "json", "--version", "7")
    assert res.returncode == 2 and "no thread has a version 7" in res.stderr.decode()


def _reports(box, monkeypatch, cpus: int) -> dict[str, str]:
    monkeypatch.setattr(pipeline, "usable_cpus", lambda: cpus)
    out = {}
    for fmt in ("json", "text", "checkpatch"):
        reviews = pipeline.review_local([str(box)], None, Options())
        out[fmt] = render(reviews, fmt, False, active_rules(Options()))
    return out


def _big_mix() -> bytes:
    """The mix plus enough lone patches to pass the two-core threshold."""
    extra = [_lone(f"many-{i}@example.org", f"x86/virt/tdx: Bound loop number {i}")
             for i in range(pipeline.PARALLEL_MIN_MESSAGES)]
    return _mix() + mbox(*extra)


def test_two_cores_and_one_give_the_same_report(tmp_path, monkeypatch):
    box = tmp_path / "big.mbox"
    box.write_bytes(_big_mix())
    forks = []
    real = forked.work_shared

    def spy(jobs, work, fork=True):
        forks.append(fork)
        return real(jobs, work, fork)

    monkeypatch.setattr(threads, "work_shared", spy)  # where review_threads looks it up
    two = _reports(box, monkeypatch, 2)
    assert forks and all(forks), forks  # the child had threads to review
    forks.clear()
    one = _reports(box, monkeypatch, 1)
    assert forks and not any(forks), forks
    assert two == one
    assert len(json.loads(two["json"])["series"]) == 5 + pipeline.PARALLEL_MIN_MESSAGES


@pytest.mark.skipif(not shutil.which("taskset") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs taskset and two usable cpus")
def test_the_cli_on_one_core_and_two_agrees(tmp_path):
    box = tmp_path / "big.mbox"
    box.write_bytes(_big_mix())
    two = run_cli("review", box, "--format", "json")
    import subprocess
    import sys

    one = subprocess.run(["taskset", "-c", "0", sys.executable, "-m", "tdxbot", "review", str(box),
                          "--format", "json"], capture_output=True, timeout=120)
    assert two.returncode == one.returncode == 1, (two.stderr, one.stderr)
    assert two.stdout == one.stdout
    assert _summary(json.loads(two.stdout))[:5] == _expected_series()


def test_a_dying_child_leaves_its_jobs_to_the_parent():
    parent = os.getpid()

    def work(n):
        if os.getpid() != parent:
            os._exit(3)
        return n * n

    assert forked.work_shared(list(range(100)), work) == [n * n for n in range(100)]


def test_both_processes_take_jobs_and_results_keep_their_order():
    import time

    def work(n):
        time.sleep(0.001)  # long enough for the child to get going
        return n, os.getpid()

    results = forked.work_shared(list(range(400)), work)
    assert [n for n, _ in results] == list(range(400))
    assert len({pid for _, pid in results}) == 2  # the child did some of them


def test_a_broken_thread_is_a_note_and_the_others_are_reviewed(tmp_path):
    broken = patch_mail("[PATCH] x86/virt/tdx: Broken", "broken@example.org",
                        diff="diff --git a/x.c b/x.c\n--- a/x.c\n+++ b/x.c\n@@ -1,5 +1,9 @@\n+a")
    box = tmp_path / "b.mbox"
    box.write_bytes(mbox(_lone("good@example.org", "x86/virt/tdx: Good"), broken))
    res = run_cli("review", box, "--format", "json")
    assert res.returncode == 1, res.stderr
    assert _summary(json.loads(res.stdout)) == [("x86/virt/tdx: Good", 1, 1, "good@example.org")]
    assert "thread <broken@example.org>" in res.stderr.decode() and "left out" in res.stderr.decode()


def test_only_broken_threads_is_an_error(tmp_path):
    box = tmp_path / "b.mbox"
    box.write_bytes(mbox(plain_mail("Hello", "a@example.org", "No patch here."),
                         plain_mail("Hello again", "b@example.org", "Nor here.")))
    with pytest.raises(UserError, match="no patch found"):
        pipeline.review_local([str(box)], None, Options())
