"""The adversarial suite (issue 12): list mail written by an attacker, run
through `review`, `b4-check` and `watch` (over a real public-inbox, with a
real SMTP server on 127.0.0.1). Whatever the mail says, a reply carries
only the headers tdxbot means to write, goes only to the people of the
thread, gets no body line from the attacker, nothing crashes, and a good
series delivered after all of it is still answered exactly once.

The hostile mails are built in tests/hostile.py (adversarial()).
"""
from __future__ import annotations

import contextlib
import email
import io
import os
import subprocess
import sys
from email import policy
from pathlib import Path

import pytest
from hostile import ALLOWED, ANSWERED, AUTHOR, EVIL, MARKER, adversarial
from mails import patch_mail, plain_mail

SENDER = "TDX Bot <tdxbot@example.org>"
REPLY_HEADERS = frozenset({"from", "to", "cc", "subject", "date", "message-id", "in-reply-to", "references",
                           "x-mailer", "content-type", "content-transfer-encoding", "mime-version"})
WATCH_HEADERS = REPLY_HEADERS | {"x-tdxbot", "auto-submitted"}
CASES = adversarial()
# Mails that cannot be read as a patch at all: a clean error, no reply.
UNREADABLE = {"mime-2000-deep", "charset-utf-7"}

# public-inbox's own delivery code (what public-inbox-mda runs for each
# mail: the inbox's filter, its list headers, its v2 importer), for many
# mails in one process: -mda starts perl once per mail.
DELIVER_MANY = r"""
use strict;
use PublicInbox::Eml;
use PublicInbox::MDA;
use PublicInbox::Config;
use PublicInbox::InboxWritable;
my $cfg = PublicInbox::Config->new;
my $ibx = PublicInbox::InboxWritable->new($cfg->lookup($ENV{ORIGINAL_RECIPIENT}));
$ibx->{filter} = 'PublicInbox::Filter::Base' if ($ibx->{filter} // '') eq '';
my $filter = $ibx->filter;
my $im = $ibx->importer(0);
for my $path (@ARGV) {
	open(my $fh, '<', $path) or die "$path: $!";
	my $str = do { local $/; <$fh> };
	$str =~ s/\A[\r\n]*From [^\r\n]*\r?\n//s;
	my $mime = PublicInbox::Eml->new($str);
	my $ret = $filter->delivery($mime);
	if (ref($ret)) { $mime = $ret } else { print "rejected $path\n"; next }
	PublicInbox::MDA->set_list_headers($mime, $ibx);
	$im->add($mime) // print "not added $path\n";
}
$im->done;
"""


def deliver_all(box, raws: list[bytes], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for raw in raws:
        path = folder / f"{len(list(folder.iterdir())):05d}.eml"
        path.write_bytes(raw)
        paths.append(str(path))
    res = subprocess.run(["perl", "-e", DELIVER_MANY, *paths], env=dict(box.env, ORIGINAL_RECIPIENT=box.address),
                         capture_output=True)
    assert res.returncode == 0 and not res.stdout, (res.stdout, res.stderr[-2000:])


def assert_safe_reply(raw: bytes, watch: bool, rcpt_tos=None) -> email.message.EmailMessage:
    """The reply has only tdxbot's headers, once each; plain recipients, all
    from the thread; the SMTP envelope (if given) is exactly To and Cc;
    no body line an attacker wrote."""
    raw = raw.replace(b"\r\n", b"\n")
    head, sep, body = raw.partition(b"\n\n")
    assert sep and b"\r" not in head and b"\0" not in head
    names = [line.split(":", 1)[0].lower() for line in head.decode("ascii").split("\n") if line[:1] not in " \t"]
    allowed = WATCH_HEADERS if watch else REPLY_HEADERS
    assert len(names) == len(set(names)) and set(names) <= allowed, names
    assert {"from", "subject", "date", "message-id", "x-mailer"} <= set(names), names
    if watch:
        assert {"x-tdxbot", "auto-submitted", "in-reply-to", "references"} <= set(names), names
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert not msg.defects and not any(msg[h].defects for h in msg.keys()), msg.defects
    rcpts = {a.addr_spec.lower() for h in ("To", "Cc") if msg[h] for a in msg[h].addresses}
    assert rcpts and rcpts <= ALLOWED, rcpts
    assert not any(EVIL in r for r in rcpts)
    if rcpt_tos is not None:
        assert {r.lower() for r in rcpt_tos} == rcpts
    for name in ("In-Reply-To", "References"):
        if msg[name]:
            text = str(msg[name])
            assert "=?" not in text and text.isascii() and text.isprintable(), text
    for line in body.decode("utf-8", "replace").split("\n"):
        assert not line.startswith((MARKER, "Bcc:", "Cc:", "To:", "Subject:")), line
    return msg


def _main(argv: list[str], stdin: bytes = b"") -> tuple[int, str, str]:
    """tdxbot in this process (the same main the command runs)."""
    from tdxbot.cli import main

    out, err = io.StringIO(), io.StringIO()
    fake_stdin = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
    old_stdin = sys.stdin
    sys.stdin = fake_stdin
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    finally:
        sys.stdin = old_stdin
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("name", sorted(CASES))
def test_review_and_b4_check(name, tmp_path, monkeypatch):
    monkeypatch.delenv("TDXBOT_DEBUG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    src = tmp_path / "in.eml"
    src.write_bytes(CASES[name])
    code, out, err = _main(["review", str(src), "--drafts", str(tmp_path / "d"), "--from", SENDER,
                            "--color", "never"])
    assert "internal error" not in err and "Traceback" not in err, err
    assert "\x1b" not in out and "\x07" not in out, "escape sequences reach the terminal"
    drafts = sorted((tmp_path / "d").glob("*.eml")) if (tmp_path / "d").is_dir() else []
    if name in UNREADABLE:
        assert code == 2 and len(err.strip().splitlines()) == 1 and not drafts, err
    else:
        assert code == 1, err
        assert len(drafts) == 1, err
        msg = assert_safe_reply(drafts[0].read_bytes(), watch=False)
        if name == "from-encoded-addr-spec":  # no usable author address: the list and Cc only
            assert msg["To"] is None
        else:
            to = [a.addr_spec for a in msg["To"].addresses]
            if name == "reply-to-5000":  # Reply-To wins over From; at most 100 recipients in all
                assert to == [f"person{i}@example.org" for i in range(100)] and msg["Cc"] is None
            else:
                author = {"own-address-as-substring": "mytdxbot@example.org",
                          "noreply-in-name": "noreplyson@example.org"}.get(name, AUTHOR)
                assert to == [author]
            if name == "cc-5000":
                assert len(msg["Cc"].addresses) == 99
    code, out, err = _main(["b4-check"], stdin=CASES[name])
    assert code in (0, 2) and "internal error" not in err and "Traceback" not in err, err
    assert "\x1b" not in out, out
    if code == 0 and name not in UNREADABLE:
        assert "TDX_SW_ERROR" in out or "tdx-" in out, out


def test_answered_kinds_are_answered_to_the_author(tmp_path):
    """Auto-Submitted: no (comment), an address that merely contains the
    bot's, a display name that merely contains 'noreply': all people."""
    from tdxbot.mail.model import Address
    from tdxbot.watch.triage import automated

    bot = Address("TDX Bot", "tdxbot@example.org")
    for name in ANSWERED:
        assert automated(CASES[name], bot) is None, name
    own = CASES["own-address-as-substring"].replace(b"mytdxbot@example.org", b"TDXbot@Example.org")
    assert automated(own, bot) == "one of our own mails"
    bounce = CASES["noreply-in-name"].replace(b"noreplyson@example.org", b"no-reply@example.org")
    assert automated(bounce, bot) == "a bounce or notification"
    assert automated(CASES["noreply-in-name"].replace(b"Auto-Submitted", b"X"), bot) is None
    auto = CASES["auto-submitted-no-comment"].replace(b"no (a person wrote this)", b"auto-replied (vacation)")
    assert automated(auto, bot) == "Auto-Submitted: auto-replied"


# -- the responder over a real public-inbox and a real SMTP server -----------------


class Recorder:
    """An aiosmtpd handler that keeps every envelope it accepts."""

    def __init__(self):
        self.received: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@contextlib.contextmanager
def smtp_server(handler):
    from aiosmtpd.controller import Controller
    from pi_server import free_port

    port = free_port()
    ctl = Controller(handler, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        yield port
    finally:
        ctl.stop()


def good_series(tag: str, date: str) -> list[bytes]:
    cover = f"good-{tag}-0@example.org"
    mails = [plain_mail(f"[PATCH 0/2] x86/virt/tdx: Good series {tag}", cover, "A good series.",
                        author="Alice Example <alice@example.org>").replace(
        "Date: Tue, 15 Sep 2026 10:00:00 +0200", f"Date: {date}").encode()]
    for i in (1, 2):
        mails.append(patch_mail(f"[PATCH {i}/2] x86/virt/tdx: Good part {i}", f"good-{tag}-{i}@example.org",
                                in_reply_to=cover, date=date, code="\tif (ret & TDX_SW_ERROR)\n\t\treturn;",
                                changelog=f"Part {i} of a good series.").encode())
    return mails


def run_watch(box, home: Path, *extra, timeout=300):
    env = dict(os.environ, HOME=str(home), XDG_CONFIG_HOME=str(home / "cfg"), GIT_CONFIG_NOSYSTEM="1")
    env.pop("TDXBOT_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "tdxbot", "watch", "--inbox", box.inbox_dir, "--state",
                           str(home / "state.sqlite3"), "--from", SENDER, "--settle", "0", "--once", *extra],
                          capture_output=True, env=env, timeout=timeout, cwd=home)


def smtp_config(home: Path, port: int, extra: str = "") -> None:
    cfg = home / "cfg" / "git"
    cfg.mkdir(parents=True, exist_ok=True)
    (cfg / "config").write_text(f"[sendemail]\n\tsmtpServer = 127.0.0.1\n\tsmtpServerPort = {port}\n{extra}")


@pytest.fixture(scope="module")
def hostile_inbox(tmp_path_factory):
    """Every hostile mail, then a good series, in one real inbox."""
    from email.utils import formatdate

    from pi_server import Inbox, require_public_inbox

    require_public_inbox()
    root = tmp_path_factory.mktemp("adv-pi")
    box = Inbox(str(root / "pi"))
    box.init()
    deliver_all(box, [CASES[name] for name in sorted(CASES)], root / "mails")
    deliver_all(box, good_series("after", formatdate()), root / "mails")
    return box


def _good_ids(tag: str) -> set[str]:
    return {f"good-{tag}-1@example.org", f"good-{tag}-2@example.org"}


def test_watch_sends_only_what_it_means_to(hostile_inbox, tmp_path):
    recorder = Recorder()
    with smtp_server(recorder) as port:
        smtp_config(tmp_path, port)
        res = run_watch(hostile_inbox, tmp_path, "--send", "--backlog", "--max-per-hour", "1000")
        log = res.stderr.decode("utf-8", "replace")
        assert res.returncode == 0, log[-3000:]
        assert "Traceback" not in log and "internal error" not in log
        assert "\x1b" not in log, "escape sequences reach the log"
        replied: dict[str, int] = {}
        for mail_from, rcpts, content in recorder.received:
            assert mail_from == "tdxbot@example.org"
            msg = assert_safe_reply(content, watch=True, rcpt_tos=rcpts)
            parent = str(msg["In-Reply-To"]).strip("<>")
            replied[parent] = replied.get(parent, 0) + 1
        assert all(n == 1 for n in replied.values()), replied
        assert _good_ids("after") <= set(replied), (sorted(replied), log[-3000:])
        for name in ANSWERED:
            assert f"adv-{name}@example.org" in replied, (name, log[-3000:])
        # The threads with unusable ids are skipped with the reason in the log.
        assert "unusable Message-ID" in log and "unusable id" in log
        assert not any("=?" in k or not k.isascii() for k in replied)
        sent = len(recorder.received)
        again = run_watch(hostile_inbox, tmp_path, "--send", "--max-per-hour", "1000")
        assert again.returncode == 0, again.stderr.decode()[-2000:]
        assert len(recorder.received) == sent, "nothing is sent twice"
    status = subprocess.run([sys.executable, "-m", "tdxbot", "watch", "--status", "--state",
                             str(tmp_path / "state.sqlite3")], capture_output=True, timeout=60)
    text = status.stdout.decode()
    assert status.returncode == 0 and f"{sent} sent" in text and "skipped" in text, text
    assert "\x1b" not in text


def test_watch_drafts_only_what_it_means_to(hostile_inbox, tmp_path):
    maildir = tmp_path / "drafts"
    res = run_watch(hostile_inbox, tmp_path, "--drafts", str(maildir), "--backlog")
    log = res.stderr.decode("utf-8", "replace")
    assert res.returncode == 0 and "Traceback" not in log, log[-3000:]
    parents = []
    for f in (maildir / "new").iterdir():
        msg = assert_safe_reply(f.read_bytes(), watch=True)
        parents.append(str(msg["In-Reply-To"]).strip("<>"))
    assert len(parents) == len(set(parents))
    assert _good_ids("after") <= set(parents)


def test_poison_mail_never_blocks_later_series(tmp_path):
    """Mail that once made every later run fail: each pass records it as
    skipped and moves on; a good series after it is answered, once."""
    from email.utils import formatdate

    from pi_server import Inbox, require_public_inbox

    require_public_inbox()
    box = Inbox(str(tmp_path / "pi"))
    box.init()
    poison = ["version-5000-digits", "counter-5000-digits", "counter-10-million", "mime-2000-deep",
              "from-double-encoded-name", "msgid-encoded-crlf", "charset-utf-7", "subject-line-separator"]
    deliver_all(box, [CASES[p] for p in poison], tmp_path / "mails")
    maildir = tmp_path / "drafts"
    first = run_watch(box, tmp_path, "--drafts", str(maildir), "--backlog")
    assert first.returncode == 0, first.stderr.decode()[-3000:]
    deliver_all(box, good_series("late", formatdate()), tmp_path / "mails")
    second = run_watch(box, tmp_path, "--drafts", str(maildir))
    log = second.stderr.decode()
    assert second.returncode == 0, log[-3000:]
    parents = [str(email.message_from_bytes(f.read_bytes(), policy=policy.default)["In-Reply-To"]).strip("<>")
               for f in (maildir / "new").iterdir()]
    assert _good_ids("late") <= set(parents) and len(parents) == len(set(parents)), (parents, log)
    assert "read 3 new messages" in log  # the poison was not read again


def test_stray_reply_with_a_patch_message_id(tmp_path, capsys):
    """A reply sent with the Message-ID of a patch does not push the patch
    out; both are named."""
    from tdxbot.flow.pipeline import review_messages
    from tdxbot.lint.engine import Options
    from tdxbot.mail.sources import load_local
    from mails import mbox

    stray = plain_mail("Re: [PATCH] x86/virt/tdx: Real patch", "dup@example.org", "Me too.",
                       author="Mallory <mallory@example.org>")
    real = patch_mail("[PATCH] x86/virt/tdx: Real patch", "dup@example.org",
                      code="\tif (ret & TDX_SW_ERROR)\n\t\treturn;")
    other = plain_mail("Re: [PATCH] x86/virt/tdx: Real patch", "other@example.org", "Noise.",
                       in_reply_to="dup@example.org")
    path = tmp_path / "t.mbox"
    path.write_bytes(mbox(stray, real, other))
    review = review_messages(load_local(str(path)), None, str(path), Options())
    assert [p.title for p in review.series.patches] == ["x86/virt/tdx: Real patch"]
    assert review.series.patches[0].files
    err = capsys.readouterr().err
    assert "two messages have Message-ID <dup@example.org>" in err and "it has the diff" in err


def test_watch_keeps_the_patch_of_a_duplicate_message_id(tmp_path):
    from tdxbot.watch.state import State

    state = State(str(tmp_path / "s.sqlite3"))
    stray = plain_mail("Re: x", "dup@example.org", "Me too.").encode()
    real = patch_mail("[PATCH] x86/virt/tdx: Real", "dup@example.org").encode()
    assert state.ingest(0, "a" * 40, ("dup@example.org", "dup@example.org", stray, False)) is None
    assert "diff" in state.ingest(0, "b" * 40, ("dup@example.org", "dup@example.org", real, True))
    assert state.thread_messages("dup@example.org") == [real]
    assert "first" in state.ingest(0, "c" * 40, ("dup@example.org", "dup@example.org", stray, False))
    assert state.thread_messages("dup@example.org") == [real]
    state.close()


def test_ok_under_every_line_does_not_hide_findings(tmp_path):
    from tdxbot.lint.engine import Options
    from tdxbot.flow.pipeline import review_messages
    from tdxbot.mail.sources import load_local
    from mails import mbox

    patch = patch_mail("[PATCH] x86/virt/tdx: Check", "okp@example.org",
                       code="\tif (ret & TDX_SW_ERROR)\n\t\treturn;")
    body = patch.split("\n\n", 1)[1]
    acks = "\n".join(f"> {line}\nok\n" for line in body.split("\n"))
    reply = plain_mail("Re: [PATCH] x86/virt/tdx: Check", "okr@example.org", "On Monday Alice wrote:\n" + acks,
                       in_reply_to="okp@example.org")
    path = tmp_path / "t.mbox"
    path.write_bytes(mbox(patch, reply))
    review = review_messages(load_local(str(path)), None, str(path), Options())
    found = [f for f in review.findings if f.severity != "info"]
    assert found and not any(f.already_raised for f in found)
    # A real point under the line still counts as raised.
    point = acks.replace("ok\n", "This test misses the detail bits of the status.\n")
    path.write_bytes(mbox(patch, reply.replace(acks, point)))
    review = review_messages(load_local(str(path)), None, str(path), Options())
    assert any(f.already_raised for f in review.findings)


def test_format_patch_file_with_from_lines_in_the_changelog(tmp_path):
    """git format-patch does not escape 'From ' in a changelog; the file is
    still one patch, and the line stays in its changelog."""
    from tdxbot.mail.sources import load_local

    from tdxbot.mail.parse import patch_from_message

    text = ("From 1234567890abcdef1234567890abcdef12345678 Mon Sep 17 00:00:00 2001\n"
            "From: Alice Example <alice@example.org>\nDate: Mon, 14 Sep 2026 09:00:00 +0200\n"
            "Subject: [PATCH] x86/virt/tdx: Quote the spec\n\n"
            "From the TDX module spec, section 4:\n"
            "From Mon Sep 14 09:00:00 2026 the module refuses the call.\n"
            "From abc Mon Sep 14 09:00:00 2026\n\nSigned-off-by: Alice Example <alice@example.org>\n---\n"
            "diff --git a/arch/x86/virt/vmx/tdx/tdx.c b/arch/x86/virt/vmx/tdx/tdx.c\n"
            "--- a/arch/x86/virt/vmx/tdx/tdx.c\n+++ b/arch/x86/virt/vmx/tdx/tdx.c\n"
            "@@ -1,0 +1,1 @@\n+int x;\n-- \n2.53.0\n")
    path = tmp_path / "0001-quote.patch"
    path.write_text(text)
    (msg,) = load_local(str(path))
    patch = patch_from_message(msg)
    assert "From abc Mon Sep 14 09:00:00 2026" in patch.changelog_lines
    assert patch.files[0].path == "arch/x86/virt/vmx/tdx/tdx.c"


def test_patch_in_an_attachment_and_quoted_file_names(tmp_path):
    from tdxbot.mail.parse import patch_from_message
    from tdxbot.mail.sources import parse_message

    diff = ('diff --git "a/arch/x86/virt/vmx/tdx/t\\tx.c" "b/arch/x86/virt/vmx/tdx/t\\tx.c"\n'
            '--- "a/arch/x86/virt/vmx/tdx/t\\tx.c"\n+++ "b/arch/x86/virt/vmx/tdx/t\\tx.c"\n'
            "@@ -1,0 +1,2 @@\n+\tif (ret & TDX_SW_ERROR)\n+\t\treturn;\n")
    raw = ("From: Alice <alice@example.org>\nSubject: [PATCH] x86/virt/tdx: Attached\n"
           "Message-ID: <att@example.org>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=XX\n\n"
           "--XX\nContent-Type: text/plain\n\nThe fix is attached.\n\nSigned-off-by: Alice <alice@example.org>\n"
           "--XX\nContent-Type: text/x-patch; name=fix.patch\nContent-Disposition: attachment; filename=fix.patch\n\n"
           + diff + "--XX--\n").encode()
    patch = patch_from_message(parse_message(raw, "t"))
    assert [f.path for f in patch.files] == ["arch/x86/virt/vmx/tdx/t\tx.c"]
    assert patch.files[0].added_lines()[0].text == "\tif (ret & TDX_SW_ERROR)"
    assert "The fix is attached." in patch.changelog_lines


def test_addresses_are_split_before_decoding():
    from tdxbot.mail.model import parse_addresses

    got = parse_addresses((f"=?utf-8?q?Evil_<victim@{EVIL}>,?= <eve@example.org>",
                           "=?utf-8?q?=C3=89ve?= <eve2@example.org>, \"Doe, J.\" <j@example.org>",
                           f"=?utf-8?q?victim@{EVIL}?=", "caf\u00e9@example.org", "<ok@example.org>"))
    assert [a.email for a in got] == ["eve@example.org", "eve2@example.org", "j@example.org", "ok@example.org"]
    assert got[0].name == f"Evil <victim@{EVIL}>," and got[1].name == "\u00c9ve" and got[2].name == "Doe, J."


def test_review_says_when_a_draft_cannot_be_threaded(tmp_path):
    """A patch whose Message-ID may not go into a reply header still gets
    its draft, unthreaded, and the user is told why."""
    from conftest import run_cli
    from hostile import adversarial

    raw = adversarial()["msgid-encoded-crlf"]
    path = tmp_path / "p.eml"
    path.write_bytes(raw)
    res = run_cli("review", path, "--drafts", tmp_path / "d", "--from", "R <r@example.org>")
    assert res.returncode in (0, 1), res.stderr
    assert b"is not threaded: the patch has no Message-ID a reply header may carry" in res.stderr
    (draft,) = list((tmp_path / "d").iterdir())
    assert b"In-Reply-To" not in draft.read_bytes().split(b"\n\n", 1)[0]
