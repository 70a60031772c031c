"""Hostile list mail that must not misdirect or stall the review (issue 22).

Human replies are never reviewed as patches, whatever their language: a
reply quoting the patch Outlook-style under "-----Original Message-----"
carries the whole diff unquoted; titled "R: [PATCH] ..." or "Antw: ..." it
used to be taken for a new posting, so the reviewer got a review and the
real patch none. A rule that runs away costs a note, never a stall, and a
subject of thousands of brackets is read once. The tests run the real
`tdxbot review` (b4 puts the threads together) and the real `tdxbot watch`
against a real public-inbox inbox."""
import json
import time

import pytest
from conftest import run_cli
from mails import mbox, patch_mail

from tdxbot.lint import limits
from tdxbot.mail import parse_subject

BAD_CODE = "\tif (ret & TDX_SEAMCALL_UD)\n\t\treturn;"
PATCH_ID = "real-patch@example.org"


def _reply(subject: str, msgid: str, separator: str = "-----Original Message-----",
           in_reply_to: str | None = PATCH_ID) -> str:
    """A reply that quotes the patch whole and unquoted below a separator,
    as Outlook does; threaded under the patch unless in_reply_to is None."""
    quoted = patch_mail("[PATCH] x86/virt/tdx: Check the status word", "x", code=BAD_CODE)
    body = quoted.split("\n\n", 1)[1]
    head = ["From: Rob Replier <rob@example.org>", "To: linux-kernel@vger.kernel.org",
            "Date: Tue, 15 Sep 2026 10:00:00 +0200", f"Subject: {subject}", f"Message-ID: <{msgid}>"]
    if in_reply_to:
        head += [f"In-Reply-To: <{in_reply_to}>", f"References: <{in_reply_to}>"]
    return "\n".join(head) + "\n\nLooks fine to me.\n\n" + separator + \
        "\nFrom: Alice Example\nSent: Monday\nSubject: [PATCH] x86/virt/tdx: Check the status word\n\n" + body


PREFIXES = ["R:", "Antw:", "Automatic reply:", "RE[2]:", "AW: Re:", "SV:", "回复:", "Re^3:", "RIF:", "Odp:"]


@pytest.mark.parametrize("prefix", PREFIXES)
def test_reply_prefixes_are_read_in_every_language(prefix):
    assert parse_subject(f"{prefix} [PATCH] x86/virt/tdx: Foo").is_reply
    assert not parse_subject("[PATCH] x86/virt/tdx: Foo").is_reply
    assert not parse_subject("x86/virt/tdx: Report: foo").is_reply
    # Unknown words before the brackets make a reply only in a threaded mail.
    assert parse_subject("Xyzzy: [PATCH] Foo", threaded=True).is_reply
    assert not parse_subject("Xyzzy: [PATCH] Foo").is_reply


def test_a_thread_of_outlook_replies_reviews_only_the_patch(tmp_path):
    patch = patch_mail("[PATCH] x86/virt/tdx: Check the status word", PATCH_ID, code=BAD_CODE)
    replies = [_reply(f"{p} [PATCH] x86/virt/tdx: Check the status word", f"r{i}@example.org")
               for i, p in enumerate(PREFIXES)]
    # A forward with the subject left as it was, and other separators.
    replies.append(_reply("[PATCH] x86/virt/tdx: Check the status word", "fwd@example.org",
                          separator="---------- Forwarded message ---------"))
    replies.append(_reply("Re: [PATCH] x86/virt/tdx: Check the status word", "apple@example.org",
                          separator="Begin forwarded message:"))
    replies.append(_reply("RE: [PATCH] x86/virt/tdx: Check the status word", "owa@example.org",
                          separator="_" * 32))
    box = tmp_path / "thread.mbox"
    box.write_bytes(mbox(patch, *replies))
    res = run_cli("review", str(box), "--format", "json", "--drafts", str(tmp_path / "d"),
                  "--from", "Rev Iewer <rev@example.org>", cwd=tmp_path)
    assert res.returncode in (0, 1), res.stderr
    report = json.loads(res.stdout)
    assert [[p["message_id"] for p in s["patches"]] for s in report["series"]] == [[PATCH_ID]]
    assert {f["message_id"] for f in report["findings"]} == {PATCH_ID}
    drafts = list((tmp_path / "d").iterdir())
    assert drafts and all(f"In-Reply-To: <{PATCH_ID}>" in d.read_text() for d in drafts)
    assert not any("rob@example.org" in d.read_text() for d in drafts)


def test_an_unthreaded_outlook_forward_is_no_patch(tmp_path):
    box = tmp_path / "fwd.eml"
    box.write_text(_reply("R: [PATCH] x86/virt/tdx: Check the status word", "lone@example.org",
                          in_reply_to=None))
    res = run_cli("review", str(box), "--format", "json", cwd=tmp_path)
    assert res.returncode == 2 and "no patch" in res.stderr.decode(), res.stderr


def test_the_responder_answers_the_patch_not_the_replies(tmp_path):
    from pi_server import Inbox, require_public_inbox
    from test_watch import drafts_in, watch

    require_public_inbox()
    inbox = Inbox(str(tmp_path / "pi"))
    inbox.init()
    inbox.deliver(patch_mail("[PATCH] x86/virt/tdx: Check the status word", PATCH_ID,
                             code=BAD_CODE).encode())
    for i, prefix in enumerate(PREFIXES[:4]):
        inbox.deliver(_reply(f"{prefix} [PATCH] x86/virt/tdx: Check the status word",
                             f"r{i}@example.org").encode())
    maildir = tmp_path / "drafts"
    res = watch(inbox, tmp_path, "--once", "--drafts", maildir)
    assert res.returncode == 0, res.stderr.decode()
    drafts = drafts_in(maildir)
    assert set(drafts) == {PATCH_ID} and len(drafts[PATCH_ID]) == 1, res.stderr.decode()


def test_a_rule_that_runs_away_leaves_a_note(monkeypatch):
    """A check that would take minutes is stopped at the budget; the other
    rules still report, and the review says what was left out."""
    from tdxbot.lint import Options, all_rules, review_series
    from tdxbot.lint.cases import Case, case_patch
    from tdxbot.mail import Series

    rule = next(r for r in all_rules() if r.id == "tdx-sw-code-as-mask")
    stalled = []

    def forever(file):
        stalled.append(True)
        while True:  # a pattern that backtracks for minutes, as far as the engine can tell
            pass

    monkeypatch.setattr(limits, "RULE_SECONDS", 0.3)
    monkeypatch.setattr(rule.module, "check_file", forever)
    from tdxbot.lint import engine

    engine._patch_plan.cache_clear()
    try:
        patch = case_patch(Case(code="\tif (ret & TDX_SEAMCALL_UD)\n\t\treturn;\n\tif (ret & TDX_SW_ERROR)\n\t\treturn;"))
        series = Series(title=patch.title, version=1, total=1, cover=None, patches=(patch,))
        started = time.monotonic()
        review = review_series(series, Options(select=frozenset({"tdx-sw-code-as-mask", "tdx-sw-error-mask"})))
        took = time.monotonic() - started
    finally:
        engine._patch_plan.cache_clear()
    assert stalled and took < 3, took
    rules = [f.rule for f in review.findings]
    assert "out-of-time" in rules and "tdx-sw-error-mask" in rules, rules
    note = next(f for f in review.findings if f.rule == "out-of-time")
    assert "tdx-sw-code-as-mask ran out of time" in note.message and note.severity == "info"


def test_a_series_has_one_budget_for_all_its_patches(monkeypatch):
    """A posted series of N slow patches, each under the patch budget, held
    the responder N times that budget. Past SERIES_SECONDS the patches not
    yet read get one note each and the series rules do not run, so the
    responder skips the series with the reason."""
    from tdxbot.lint import Options, engine, review_series
    from tdxbot.lint.cases import Case, case_patch
    from tdxbot.mail import Series

    plan = engine._patch_plan(Options())

    def slow(_ctx):
        while True:
            pass

    monkeypatch.setattr(limits, "RULE_SECONDS", 0.2)
    monkeypatch.setattr(limits, "PATCH_SECONDS", 0.5)
    monkeypatch.setattr(limits, "SERIES_SECONDS", 1.2)
    monkeypatch.setattr(engine, "_patch_plan", lambda options: tuple((r, slow, p, k, t) for r, _, p, k, t in plan))
    patches = tuple(case_patch(Case(code="\tif (ret & TDX_SW_ERROR)\n\t\treturn;"))._replace(index=i, total=8)
                    for i in range(1, 9))
    series = Series(title="x86/virt/tdx: Slow", version=1, total=8, cover=None, patches=patches)
    started = time.monotonic()
    review = review_series(series, Options())
    took = time.monotonic() - started
    assert took < 3, took  # eight patches at 0.5 s each would be 4 s, and more with the series rules
    late = [f for f in review.findings if f.rule == "out-of-time" and "the review of this series" in f.message]
    assert late and all(f.patch_index is not None for f in late), [f.message for f in review.findings]
    assert len({f.patch_index for f in late}) == len(late)  # one note per patch
    series_rules = [f for f in review.findings if f.rule == "out-of-time" and f.patch_index is None]
    assert series_rules, [f.message for f in review.findings]


def test_the_rules_together_have_one_budget_per_patch(monkeypatch):
    """A patch slow for every rule alike (39,000 one-line hunks, each a
    region to parse) once cost each rule its whole budget in turn: twenty
    rules, twenty budgets, 200 s. The rules together stop at PATCH_SECONDS;
    the ones not run are out of time too."""
    from tdxbot.lint import Options, engine
    from tdxbot.lint.cases import Case, case_patch

    plan = engine._patch_plan(Options())

    def slow(_ctx):
        while True:
            pass

    monkeypatch.setattr(limits, "RULE_SECONDS", 0.4)
    monkeypatch.setattr(limits, "PATCH_SECONDS", 1.0)
    monkeypatch.setattr(engine, "_patch_plan", lambda options: tuple((r, slow, p, k, t) for r, _, p, k, t in plan))
    patch = case_patch(Case(code="\tif (ret & TDX_SW_ERROR)\n\t\treturn;"))
    started = time.monotonic()
    findings = engine.check_patch(patch, Options())
    took = time.monotonic() - started
    out = [f for f in findings if f.rule == "out-of-time"]
    assert len(out) >= 10 and took < 3, (len(out), took)


def test_a_backtracking_pattern_is_stopped_by_the_budget(monkeypatch):
    """The budget also stops a regular expression inside the re module."""
    import re

    monkeypatch.setattr(limits, "RULE_SECONDS", 0.3)
    started = time.monotonic()
    with pytest.raises(limits.OutOfTime):
        with limits.time_budget(limits.RULE_SECONDS):
            re.match(r"(a+)+$", "a" * 40 + "!")
    assert time.monotonic() - started < 3


def test_the_responder_skips_a_series_whose_review_ran_out_of_time(tmp_path, caplog, monkeypatch):
    """One mail that stalls a rule costs its own series a reply (skipped,
    with the reason), never the next series nor a restart loop."""
    from test_hostile_watch import LOOP, box as _box, drafts, one_pass  # noqa: F401
    from pi_server import Inbox, require_public_inbox

    from tdxbot.lint import all_rules, engine

    require_public_inbox()
    inbox = Inbox(str(tmp_path / "pi"))
    inbox.init()
    rule = next(r for r in all_rules() if r.id == "tdx-unbounded-retry")
    real = rule.module.check_file

    def stalls_on_poison(file):
        if any("poison" in line.text for line in file.diff.added_lines()):
            while True:
                pass
        real(file)

    monkeypatch.setattr(limits, "RULE_SECONDS", 0.5)
    monkeypatch.setattr(rule.module, "check_file", stalls_on_poison)
    engine._patch_plan.cache_clear()
    try:
        inbox.deliver(patch_mail("[PATCH] x86/virt/tdx: Poison", "poison@example.org",
                                 code=LOOP + "\n/* poison */").encode())
        inbox.deliver(patch_mail("[PATCH] x86/virt/tdx: Fine", "fine@example.org", code=LOOP).encode())
        started = time.monotonic()
        log = one_pass(inbox, tmp_path, caplog)
        again = one_pass(inbox, tmp_path, caplog)  # the next pass does not stall on it again
    finally:
        engine._patch_plan.cache_clear()
    assert time.monotonic() - started < 30
    assert drafts(tmp_path / "drafts") == ["fine@example.org"], log
    assert "review ran out of time" in log and "tdx-unbounded-retry ran out of time" in log, log
    assert "Poison" not in again or "ran out of time" not in again


def test_a_stalling_patch_costs_only_its_own_reply(tmp_path, caplog, monkeypatch):
    """Anyone can answer a cover letter with a "[PATCH 2/2]" of their own,
    and b4 may take it into the series (redteam/w02_timeout_hijack.py). A
    rule running out of time on one patch once cost the whole series its
    replies; now only that patch's."""
    from test_hostile_watch import LOOP, drafts, one_pass
    from mails import plain_mail
    from pi_server import Inbox, require_public_inbox

    from tdxbot.lint import all_rules, engine

    require_public_inbox()
    inbox = Inbox(str(tmp_path / "pi"))
    inbox.init()
    rule = next(r for r in all_rules() if r.id == "tdx-unbounded-retry")
    real = rule.module.check_file

    def stalls_on_poison(file):
        if any("poison" in line.text for line in file.diff.added_lines()):
            while True:
                pass
        real(file)

    monkeypatch.setattr(limits, "RULE_SECONDS", 0.5)
    monkeypatch.setattr(rule.module, "check_file", stalls_on_poison)
    engine._patch_plan.cache_clear()
    alice = "Alice Example <alice@example.org>"
    mails = [plain_mail("[PATCH 0/2] x86/virt/tdx: Shut down", "h-0@example.org", "Two.", author=alice),
             patch_mail("[PATCH 1/2] x86/virt/tdx: Part 1", "h-1@example.org", code=LOOP, in_reply_to="h-0@example.org"),
             patch_mail("[PATCH 2/2] x86/virt/tdx: Part 2", "h-2@example.org", code=LOOP + "\n/* poison */",
                        in_reply_to="h-0@example.org")]
    try:
        for m in mails:
            inbox.deliver(m.encode())
        log = one_pass(inbox, tmp_path, caplog)
    finally:
        engine._patch_plan.cache_clear()
    assert drafts(tmp_path / "drafts") == ["h-1@example.org"], log
    assert "reviewed h-0@example.org#v1" in log and "tdx-unbounded-retry ran out of time" not in log.split(
        "reviewed h-0@example.org#v1")[0], log


def test_a_subject_of_many_brackets_is_read_once(tmp_path):
    """b4's subject parser grows with the cube of a subject's length; b4 is
    given the first few hundred characters, and ours reads brackets by
    position."""
    first = patch_mail("[" * 3000 + "PATCH 1/2] x86/virt/tdx: One", "s1@example.org", code=BAD_CODE)
    second = patch_mail("[PATCH 2/2] x86/virt/tdx: Two" + " []" * 20000, "s2@example.org", code=BAD_CODE,
                        in_reply_to="s1@example.org")
    box = tmp_path / "brackets.mbox"
    box.write_bytes(mbox(first, second))
    started = time.monotonic()
    res = run_cli("review", str(box), "--format", "json", cwd=tmp_path)
    assert time.monotonic() - started < 10, res.stderr
    assert res.returncode in (0, 1), res.stderr


# -- no line of a reply reads as a trailer the sender chose ----------------------------

FORGED = "Reviewed-by: Ingo Molnar <mingo@kernel.org>"


def _trailers_in_drafts(tmp_path, raw: str) -> list:
    import b4

    src = tmp_path / "p.eml"
    src.write_text(raw)
    drafts = tmp_path / "drafts"
    res = run_cli("review", src, "--drafts", drafts, "--from", "Bot <bot@example.org>")
    assert "internal error" not in res.stderr.decode(), res.stderr.decode()
    files = sorted(drafts.glob("*.eml"))
    assert files, res.stdout.decode()
    found = []
    for f in files:
        body = f.read_text().split("\n\n", 1)[1]
        found += [(t.name, t.value) for t in b4.LoreMessage.find_trailers(body, followup=True)[0]]
    return found


def test_a_format_string_continued_over_lines_adds_no_line_to_the_reply(tmp_path):
    """A C string continued with backslash-newline carries a newline into
    changelog-log-mismatch's comment; it is shown, not kept."""
    code = ('static void f(u64 ret)\n{\n\tpr_err("TDX module failed at stage one: %d \\\n'
            + FORGED + ' and more text\\n", ret);\n}')
    changelog = ("Log it.\n\nThe log shows:\n\n  virt/tdx: TDX module returned at stage one: 5 "
                 + FORGED + " and more text")
    raw = patch_mail("[PATCH] x86/virt/tdx: Log the stage", "cont@example.org", code=code, changelog=changelog)
    assert _trailers_in_drafts(tmp_path, raw) == []
    body = next((tmp_path / "drafts").glob("*.eml")).read_text()
    assert "[changelog-log-mismatch]" in body and "\\x0aReviewed-by" in body


def test_a_fix_preview_shows_no_context_line_that_reads_as_a_trailer(tmp_path):
    code = "\t/*\n\t * Retry a few times.\n" + FORGED + " # tdx?\n\t *  - TDX_SYS_BUSY is transient.\n\t */\n\tret = 0;"
    raw = patch_mail("[PATCH] x86/virt/tdx: Add a comment", "prev@example.org", code=code,
                     changelog="Add a comment to the retry path.")
    assert _trailers_in_drafts(tmp_path, raw) == []


@pytest.mark.parametrize("name", ["Reviewed-by", "Fixes", "Link"])
def test_wrapping_never_starts_a_line_with_a_trailer(name):
    """Where a comment wraps is the sender's choice (the text it quotes is
    theirs): at no padding does a line start with their trailer."""
    import b4

    from tdxbot.output.drafts import wrap

    trailer = f"{name}: Ingo Molnar <mingo@kernel.org>" if name == "Reviewed-by" else f"{name}: https://x.example/1"
    for pad in range(0, 80):
        text = f'This output does not match what the patch prints ("TDX {"x" * pad} {trailer} more"). Please.'
        lines = wrap(text)
        assert b4.LoreMessage.find_trailers("\n".join(lines) + "\n", followup=True)[0] == [], (pad, lines)


def test_a_second_patch_of_the_same_number_gets_no_review_of_the_other(tmp_path):
    """Eve answers Alice's cover letter with her own "[PATCH 1/1]". Both
    are patch 1 of the series; the reply to Eve once carried the review of
    Alice's code, because drafts grouped findings by number."""
    import email
    from email import policy

    from mails import plain_mail

    loop = ("static int shut(void)\n{\n\tu64 ret;\n\n\tdo {\n\t\tret = seamcall(TDH_SYS_SHUTDOWN, &args);\n"
            "\t} while (ret == TDX_SYS_SHUTDOWN_BUSY);\n\treturn 0;\n}")
    alice = "Alice Example <alice@example.org>"
    doc = ("diff --git a/Documentation/a.txt b/Documentation/a.txt\nindex 1111111..2222222 100644\n"
           "--- a/Documentation/a.txt\n+++ b/Documentation/a.txt\n@@ -1,2 +1,3 @@\n a\n+fixed\n b")
    box = tmp_path / "thread.mbox"
    box.write_bytes(mbox(
        plain_mail("[PATCH 0/1] x86/virt/tdx: Shut down", "d-0@example.org", "One.", author=alice),
        patch_mail("[PATCH 1/1] Documentation: fix a typo", "d-eve@example.org", diff=doc,
                   author="Eve <eve@evil.example>", in_reply_to="d-0@example.org"),
        patch_mail("[PATCH 1/1] x86/virt/tdx: Shut down", "d-1@example.org", code=loop, author=alice,
                   in_reply_to="d-0@example.org")))
    drafts = tmp_path / "drafts"
    res = run_cli("review", box, "--drafts", drafts, "--from", "Bot <bot@example.org>")
    assert "internal error" not in res.stderr.decode(), res.stderr.decode()
    replies = {}
    for f in drafts.glob("*.eml"):
        msg = email.message_from_bytes(f.read_bytes(), policy=policy.default)
        replies[str(msg["In-Reply-To"]).strip("<>")] = msg.get_content()
    assert "[tdx-unbounded-retry]" in replies.get("d-1@example.org", ""), replies
    assert "tdx-unbounded-retry" not in replies.get("d-eve@example.org", ""), replies


def test_tabs_inside_a_format_string_are_read_one_way(monkeypatch):
    """A raw tab in a format string was a word of its own between lazy
    white-space runs: 24 of them against a changelog line of tabs took
    changelog-log-mismatch past its budget on a 1 KB mail."""
    from tdxbot.lint import Options, engine
    from tdxbot.lint.cases import Case, case_patch

    monkeypatch.setattr(limits, "RULE_SECONDS", 3.0)
    fmt = "TDX module stage " + "\t " * 24 + "failed %d\\n"
    patch = case_patch(Case(code=f'\tpr_err("{fmt}", ret);',
                            changelog="The log shows:\n\n  virt/tdx: TDX module stage" + "\t" * 72 + "gone 5"))
    started = time.monotonic()
    findings = engine.check_patch(patch, Options(select=frozenset({"changelog-log-mismatch"})))
    assert time.monotonic() - started < 2
    assert not [f for f in findings if f.rule == "out-of-time"], findings
