"""Report formats, exit codes and reply drafts."""
import email
import json
import os
from datetime import datetime, timezone
from email import policy

from conftest import FIXTURES, run_cli

from tdxbot.lint.engine import review_series
from tdxbot.mail.model import Address
from tdxbot.lint.findings import Finding
from tdxbot.output.drafts import draft_replies, message_bytes, write_drafts
from tdxbot.mail.assembly import assemble
from tdxbot.mail.sources import load_local

EXAMPLE = FIXTURES / "example-series.mbox"
SENDER = Address("Rita Reviewer", "rita@example.org")
WHEN = datetime(2026, 9, 15, 10, 0, tzinfo=timezone.utc)


def _example_review():
    return review_series(assemble(load_local(str(EXAMPLE)), None, "example"))


def test_json_schema_is_exact():
    res = run_cli("review", EXAMPLE, "--format", "json")
    obj = json.loads(res.stdout)
    assert set(obj) == {"tool", "version", "series", "findings"}
    assert obj["tool"] == "tdxbot" and isinstance(obj["version"], str)
    (series,) = obj["series"]
    assert {"subject", "version", "message_id", "patches"} <= set(series)
    assert series["message_id"] == "20260914-tdx-shutdown-v2-0-5a1c0ffee@example.com"
    for p in series["patches"]:
        assert set(p) == {"index", "total", "subject", "message_id"}
    assert obj["findings"]
    for f in obj["findings"]:
        assert {"rule", "severity", "patch_index", "message_id", "path", "line", "message"} <= set(f)
        assert f["severity"] in ("error", "warning", "info")
        if f["path"] is not None:
            assert isinstance(f["line"], int)


def test_exit_status_follows_severity(tmp_path):
    assert run_cli("review", EXAMPLE).returncode == 1
    # Nothing at warning or above once the firing rules are turned off.
    fired = {f["rule"] for f in json.loads(run_cli("review", EXAMPLE, "--format", "json").stdout)["findings"]}
    res = run_cli("review", EXAMPLE, "--ignore", ",".join(fired))
    assert res.returncode == 0, res.stdout


def test_text_report_grouped_and_uncoloured_when_piped():
    res = run_cli("review", EXAMPLE)
    out = res.stdout.decode()
    assert "\033[" not in out
    assert "[PATCH v2 2/4] x86/virt/tdx: Add a SEAMCALL wrapper for TDH.SYS.SHUTDOWN" in out
    assert "arch/x86/virt/vmx/tdx/tdx.c:1954: warning: [comment-list-spacing]" in out
    coloured = run_cli("review", EXAMPLE, "--color", "always").stdout.decode()
    assert "\033[" in coloured
    no_color = run_cli("review", EXAMPLE, "--color", "auto", env={"NO_COLOR": "1"}).stdout.decode()
    assert "\033[" not in no_color


def test_checkpatch_format_lines():
    out = run_cli("review", EXAMPLE, "--format", "checkpatch").stdout.decode().splitlines()
    assert "arch/x86/virt/vmx/tdx/tdx.c:1954: WARNING: [comment-list-spacing] " \
           "no empty ' *' line between the sentence and the list below it" in out


def test_rules_command_lists_every_rule():
    out = run_cli("rules").stdout.decode()
    assert "comment-list-spacing" in out
    doc = run_cli("rules", "--doc", "comment-list-spacing").stdout.decode()
    assert "Fires on" in doc


def test_drafts_never_overwrite(tmp_path):
    review = _example_review()
    drafts = draft_replies(review, SENDER, WHEN)
    first = write_drafts(drafts, str(tmp_path))
    before = {p: open(p, "rb").read() for p in first}
    second = write_drafts(drafts, str(tmp_path))
    assert set(first).isdisjoint(second)
    for p, data in before.items():
        assert open(p, "rb").read() == data
    assert len(os.listdir(tmp_path)) == 2 * len(drafts)


def test_series_level_findings_reply_to_the_cover_letter():
    review = _example_review()
    series = review.series
    review.findings.append(Finding(rule="comment-list-spacing", severity="warning",
                                   message="the series has no tests", patch_index=None,
                                   message_id=series.message_id))
    drafts = draft_replies(review, SENDER, WHEN)
    cover = [d for d in drafts if d.patch_index == 0]
    assert len(cover) == 1
    msg = cover[0].message
    assert msg["In-Reply-To"] == f"<{series.cover.message_id}>"
    assert "The series has no tests." in msg.get_content()


def test_draft_headers_and_wrapping():
    review = _example_review()
    (draft,) = [d for d in draft_replies(review, SENDER, WHEN) if d.patch_index == 2]
    raw = message_bytes(draft.message)
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert msg["Subject"] == "Re: [PATCH v2 2/4] x86/virt/tdx: Add a SEAMCALL wrapper for TDH.SYS.SHUTDOWN"
    assert msg["To"] == "Nadia Okafor <nadia.okafor@example.com>"
    cc = msg["Cc"]
    for addr in ("x86@kernel.org", "linux-kernel@vger.kernel.org", "linux-coco@lists.linux.dev",
                 "dave.hansen@linux.intel.com"):
        assert addr in cc
    assert "nadia.okafor@example.com" not in cc and "rita@example.org" not in cc
    assert msg["References"].split() == ["<20260914-tdx-shutdown-v2-0-5a1c0ffee@example.com>",
                                         "<20260914-tdx-shutdown-v2-2-5a1c0ffee@example.com>"]
    assert msg["Message-ID"].endswith("@example.org>")
    body = msg.get_content()
    assert body.startswith("On Mon, 14 Sep 2026 09:00:02 +0200, Nadia Okafor <nadia.okafor@example.com> wrote:")
    for ln in body.splitlines()[1:]:
        if not ln.startswith(">"):
            assert len(ln) <= 72, ln


def test_reply_to_header_wins_over_author():
    from mails import patch_mail
    mail = patch_mail("[PATCH] x86/virt/tdx: R", "r@example.org", code="/*\n * Lead.\n *  - item\n */",
                      extra_headers="Reply-To: Team List <team@example.org>")
    import tempfile
    with tempfile.NamedTemporaryFile("w", suffix=".eml", delete=False) as fh:
        fh.write(mail)
    review = review_series(assemble(load_local(fh.name), None, "r"))
    os.unlink(fh.name)
    (draft,) = draft_replies(review, SENDER, WHEN)
    assert draft.message["To"] == "Team List <team@example.org>"
    assert "alice@example.org" not in draft.message["To"]


def test_a_series_level_finding_goes_to_the_cover_letter(tmp_path):
    from mails import mbox, patch_mail, plain_mail

    from tdxbot.output.reports import b4_review_records

    cover_id = "notes-v2-0@example.org"
    mails = [plain_mail("[PATCH v2 0/2] x86/virt/tdx: Shut the module down", cover_id,
                        "Shut the TDX module down before kexec.", author="Alice Example <alice@example.org>")]
    for i in (1, 2):
        mails.append(patch_mail(f"[PATCH v2 {i}/2] x86/virt/tdx: Part {i}", f"notes-v2-{i}@example.org",
                                in_reply_to=cover_id, changelog=f"Add part {i} of the shutdown."))
    box = tmp_path / "v2.mbox"
    box.write_bytes(mbox(*mails))
    review = review_series(assemble(load_local(str(box)), None, "v2"))
    whole = [f for f in review.findings if f.patch_index is None]
    assert [f.rule for f in whole] == ["version-notes-missing"]
    (record,) = b4_review_records(review, series_level=True)
    assert record["status"] == "warn" and record["details"].startswith("[series]")
    assert "version-notes-missing" in record["details"]
    drafts = draft_replies(review, SENDER, WHEN)
    to_cover = [d for d in drafts if d.in_reply_to == cover_id]
    assert len(to_cover) == 1
    body = to_cover[0].message.get_content()
    assert "Changes in v2" in body and "[version-notes-missing]" in body
    assert to_cover[0].message["In-Reply-To"] == f"<{cover_id}>"


def test_a_remark_below_a_long_comment_quotes_the_comment_whole(tmp_path):
    """Issue 24: a remark on a loop under a long comment used to quote its
    last few lines only, so the draft seemed to ask for a comment that was
    there. The quote now reaches back to the comment's '/*'."""
    from mails import patch_mail
    code = "\n".join([
        "static void f(void)",
        "{",
        "\tu64 ret;",
        "",
        "\t/*",
        "\t * Keep calling TDH.SYS.SHUTDOWN while the module says it is",
        "\t * busy. The module is busy now and then, and it is not known",
        "\t * for how long, nor what else might be running at the time;",
        "\t * this was seen in testing on a large machine, and calling it",
        "\t * again made it go through.",
        "\t */",
        "\tdo {",
        "\t\tret = seamcall(TDH_SYS_SHUTDOWN, &args);",
        "\t} while (ret == TDX_SYS_BUSY);",
        "}",
    ])
    mail = tmp_path / "p.eml"
    mail.write_text(patch_mail("[PATCH] x86/virt/tdx: Shut down", "s@example.org", code=code))
    review = review_series(assemble(load_local(str(mail)), None, "s"))
    assert "tdx-unbounded-retry" in {f.rule for f in review.findings}
    (draft,) = draft_replies(review, SENDER, WHEN)
    body = draft.message.get_content()
    quoted = [ln for ln in body.splitlines() if ln.startswith(">")]
    assert "> +\t/*" in quoted and "> +\t * Keep calling TDH.SYS.SHUTDOWN while the module says it is" in quoted
    assert "> +\t} while (ret == TDX_SYS_BUSY);" in quoted
    assert "and the comment at the loop does not say why it ends" in " ".join(body.split())
