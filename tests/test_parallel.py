"""A big mbox is reviewed with b4's series choice made in a forked child
while the parent parses and checks. Whatever the path, the review must be
the one the plain in-process path gives, and b4 must choose as it would on
the untouched mails."""
import json
import os
from pathlib import Path

import pytest
from conftest import FIXTURES, run_cli
from mails import mbox, patch_mail, plain_mail

from tdxbot.flow.pipeline import PARALLEL_MIN_MESSAGES, review_messages
from tdxbot.lint.engine import Options, review_series
from tdxbot.common.errors import UserError
from tdxbot.output.reports import to_json_obj
from tdxbot.mail.assembly import assemble
from tdxbot.mail.b4glue import plan_series
from tdxbot.mail.sources import parse_message, split_mbox

SEEDS = Path(__file__).resolve().parent.parent.parent / "shared" / "seeds"
LOOP = "while (tdh_sys_shutdown() == TDX_OPERAND_BUSY)\n\tcpu_relax();"


def _thread(version: int, n: int, stem: str, code: str = LOOP) -> list[str]:
    v = f" v{version}" if version > 1 else ""
    cover_id = f"{stem}-v{version}-0@example.org"
    mails = [plain_mail(f"[PATCH{v} 0/{n}] x86/virt/tdx: Shut the module down", cover_id,
                        "Cover letter.\n\n 1 file changed, 2 insertions(+)",
                        author="Alice Example <alice@example.org>")]
    for i in range(1, n + 1):
        mails.append(patch_mail(f"[PATCH{v} {i}/{n}] x86/virt/tdx: Part {i}",
                                f"{stem}-v{version}-{i}@example.org", in_reply_to=cover_id,
                                changelog=f"We add part {i}.", code=code))
    return mails


def _review_of_a_patch(msgid: str, quote: str) -> str:
    return plain_mail("Re: [PATCH 1/3] x86/virt/tdx: Part 1", f"r-{msgid}",
                      f"> +{quote}\n\nThis loop needs a bound.\n\nReviewed-by: Bob Reviewer <bob@example.org>",
                      in_reply_to=msgid)


def _reply_carrying_a_diff(parent: str) -> str:
    # A reply with an unquoted diff and a trailer after it: b4 must still
    # see that trailer, so such a mail is never cut short.
    path = "arch/x86/virt/vmx/tdx/tdx.c"
    body = "\n".join(["How about this instead?", "", f"diff --git a/{path} b/{path}",
                      f"--- a/{path}", f"+++ b/{path}", "@@ -10,2 +10,3 @@", " context one",
                      "+int y;", " context two", "", "With that:",
                      "Reviewed-by: Carol Reviewer <carol@example.org>"])
    return plain_mail("Re: [PATCH v2 2/3] x86/virt/tdx: Part 2", "fixup@example.org", body,
                      in_reply_to=parent, author="Carol Reviewer <carol@example.org>")


def _inputs() -> dict[str, bytes]:
    two_versions = _thread(1, 3, "t") + [_review_of_a_patch("t-v1-1@example.org", "while")] \
        + _thread(2, 3, "t") + [_reply_carrying_a_diff("t-v2-2@example.org")]
    newer_incomplete = _thread(1, 2, "u") + _thread(2, 3, "u")[:2]
    out = {
        "example": (FIXTURES / "example-series.mbox").read_bytes(),
        "two-versions": mbox(*two_versions),
        "newer-incomplete": mbox(*newer_incomplete),
        "no-patch-subjects": mbox(*[patch_mail(f"tdx fix {i}", f"n{i}@example.org", code=LOOP)
                                    for i in range(3)]),
    }
    if SEEDS.is_dir():
        out["seed-thread"] = (SEEDS / "tdh-sys-disable-v2-3-thread.mbox").read_bytes()
    return out


def _messages(data: bytes):
    return [parse_message(raw, "test") for raw in split_mbox(data)]


def _summary(review):
    return to_json_obj(review), len(review.series.remarks), review.series.missing


@pytest.mark.parametrize("name", sorted(_inputs()))
@pytest.mark.parametrize("version", [None, 1])
def test_child_and_in_process_give_one_review(name, version):
    data = _inputs()[name]
    try:
        # In process, as a small input is reviewed (the previous version the
        # thread holds is found there too).
        plain = _summary(review_messages(_messages(data), version, name, Options(), parallel_min=1 << 30))
    except UserError as exc:
        with pytest.raises(UserError) as forked:
            review_messages(_messages(data), version, name, Options(), parallel_min=1)
        assert str(forked.value) == str(exc)
        return
    forked = _summary(review_messages(_messages(data), version, name, Options(), parallel_min=1))
    assert forked == plain
    assert plain[0]["findings"], "the inputs are meant to draw findings"


def test_a_version_the_thread_lacks_is_one_error_either_way():
    data = _inputs()["two-versions"]
    with pytest.raises(UserError, match="no version 7 in this thread"):
        review_messages(_messages(data), 7, "t", Options(), parallel_min=1)


def test_b4_is_shown_the_whole_mail_again_afterwards():
    messages = _messages(_inputs()["two-versions"])
    before = [m.get_payload() for m in messages]
    plan = plan_series(messages, None, "t")
    assert [m.get_payload() for m in messages] == before
    assert plan.version == 2 and len(plan.patches) == 3


def test_cutting_bodies_short_does_not_change_b4s_choice():
    import b4

    from tdxbot.mail import b4glue

    for name, data in _inputs().items():
        if name == "no-patch-subjects":
            continue
        messages = _messages(data)
        ours = plan_series(messages, None, name)
        b4glue.setup()
        untouched = b4.LoreMailbox()
        for msg in _messages(data):
            untouched.add_message(msg)
        revisions = sorted(r for r, s in untouched.series.items() if any(s.patches))
        complete = [r for r in revisions if untouched.series[r].complete]
        chosen = complete[-1] if complete else revisions[-1]
        lseries = untouched.get_series(revision=chosen, codereview_trailers=False)
        assert ours.version == chosen, name
        want = [lm.msgid for lm in lseries.patches[1:] if lm is not None]
        assert [messages[i]["Message-ID"].strip("<>") for i in ours.patches] == want, name
        # What b4 keeps of each mail is what it keeps of the untouched one:
        # bodies (patch ids come from the whole diff), flags and trailers.
        mailbox = b4glue.mailbox(_messages(data))
        assert set(mailbox.msgid_map) == set(untouched.msgid_map), name
        for msgid, lmsg in mailbox.msgid_map.items():
            other = untouched.msgid_map[msgid]
            assert (lmsg.body, lmsg.has_diff, lmsg.has_diffstat, lmsg.reply, lmsg.revision) == \
                (other.body, other.has_diff, other.has_diffstat, other.reply, other.revision), msgid
            assert [t.as_string() for t in lmsg.trailers] == [t.as_string() for t in other.trailers]
            assert lmsg.git_patch_id == other.git_patch_id, msgid


def test_the_cli_forks_for_a_big_mbox_and_agrees(tmp_path):
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("one usable cpu: the CLI stays in one process")
    n = PARALLEL_MIN_MESSAGES  # with the cover letter, one more message than the threshold
    data = mbox(*_thread(1, n, "big"), *_thread(2, n, "big")[:n // 2])
    box = tmp_path / "big.mbox"
    box.write_bytes(data)
    res = run_cli("review", box, "--format", "json")
    assert res.returncode == 1, res.stderr
    plain = to_json_obj(review_series(assemble(_messages(data), None, str(box))))
    assert json.loads(res.stdout) == plain
    assert len(json.loads(res.stdout)["series"][0]["patches"]) == n


_IN_A_FRESH_INTERPRETER = """
import os, sys, json
from tdxbot.mail import b4glue, sources
from tdxbot.flow.pipeline import review_messages
from tdxbot.lint.engine import Options
from tdxbot.output.reports import to_json_obj
parent = os.getpid()
if sys.argv[2] == "child-dies":
    real_plan = b4glue.plan_series_and_previous
    def plan_or_die(*args):
        if os.getpid() != parent:
            os._exit(3)
        return real_plan(*args)
    b4glue.plan_series_and_previous = plan_or_die
review = review_messages(sources.load_local(sys.argv[1]), None, "box", Options(), parallel_min=1)
print(json.dumps({"b4_in_parent": "b4" in sys.modules, "review": to_json_obj(review)}))
"""


@pytest.mark.parametrize("case", ["normal", "child-dies"])
def test_b4_runs_in_the_child_and_a_dead_child_is_survived(tmp_path, case):
    import subprocess
    import sys

    if not hasattr(os, "fork") or len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs fork and two usable cpus")
    data = _inputs()["two-versions"]
    box = tmp_path / "thread.mbox"
    box.write_bytes(data)
    res = subprocess.run([sys.executable, "-c", _IN_A_FRESH_INTERPRETER, str(box), case],
                         capture_output=True, timeout=120)
    assert res.returncode == 0, res.stderr.decode()
    out = json.loads(res.stdout)
    # A dead child leaves the work to the parent, which then imports b4 itself.
    assert out["b4_in_parent"] is (case == "child-dies")
    assert out["review"] == to_json_obj(review_messages(_messages(data), None, "box", Options(),
                                                        parallel_min=1 << 30))
