"""The auto-responder against a real public-inbox inbox (public-inbox-init,
public-inbox-mda), a real SMTP server on 127.0.0.1 (aiosmtpd), and SIGKILL
at random moments of a backlog."""
import email
import os
import random
import signal
import subprocess
import sys
import time
from email import policy
from pathlib import Path

import pytest
from conftest import FIXTURES
from mails import patch_mail, plain_mail

from tdxbot.mail.sources import split_mbox

EXAMPLE = split_mbox((FIXTURES / "example-series.mbox").read_bytes())
EXAMPLE_IDS = [f"20260914-tdx-shutdown-v2-{i}-5a1c0ffee@example.com" for i in range(5)]
SENDER = "TDX Bot <tdxbot@example.org>"


def backlog() -> list[bytes]:
    """The example series, an out-of-scope series, an automated one, an
    opted-out author's, a v1/v2 thread and plain discussion."""
    mails = list(EXAMPLE)
    mails.append(patch_mail("[PATCH] mm: Add a thing", "mm-1@example.org", path="mm/page_alloc.c",
                            changelog="We add a thing to mm.").encode())
    mails.append(patch_mail("[PATCH] x86/virt/tdx: Generated fix", "auto-1@example.org",
                            code="\tif (ret & TDX_SW_ERROR)\n\t\treturn;",
                            extra_headers="Auto-Submitted: auto-generated").encode())
    mails.append(patch_mail("[PATCH] x86/virt/tdx: Quiet please", "optout-1@example.org",
                            author="Quiet Person <quiet@example.org>",
                            code="\tif (ret & TDX_SW_ERROR)\n\t\treturn;").encode())
    for version in (1, 2):
        tag = f" v{version}" if version > 1 else ""
        cover = f"vv-v{version}-0@example.org"
        notes = "\n\nChanges in v2:\n- Stop retrying on TDX_OPERAND_BUSY." if version == 2 else ""
        mails.append(plain_mail(f"[PATCH{tag} 0/2] x86/virt/tdx: Add the thing", cover, "Cover letter." + notes,
                                author="Alice Example <alice@example.org>",
                                in_reply_to="vv-v1-0@example.org" if version == 2 else None).encode())
        for i in (1, 2):
            code = "\tif (err == TDX_OPERAND_BUSY)\n\t\treturn -EBUSY;" if version == 1 else "\treturn 0;"
            mails.append(patch_mail(f"[PATCH{tag} {i}/2] x86/virt/tdx: Part {i}", f"vv-v{version}-{i}@example.org",
                                    in_reply_to=cover, code=code, changelog=f"Add part {i} of the thing.").encode())
    mails.append(plain_mail("Question about TDX_SYS_BUSY", "talk-0@example.org", "Is it documented?").encode())
    return mails


# Patches that deserve a reply: findings at warning or above, in scope, from
# people who did not opt out, not automated.
EXPECTED = {EXAMPLE_IDS[1], EXAMPLE_IDS[2], EXAMPLE_IDS[3], "vv-v1-1@example.org", "vv-v1-2@example.org"}


@pytest.fixture(scope="module")
def backlog_inbox(tmp_path_factory):
    from pi_server import Inbox, require_public_inbox

    require_public_inbox()
    box = Inbox(str(tmp_path_factory.mktemp("pi-backlog")))
    box.init()
    for raw in backlog():
        box.deliver(raw)
    return box


@pytest.fixture
def inbox(backlog_inbox, tmp_path):
    """The backlog in an inbox of this test's own (delivering it once per
    module and copying it is most of the watch tests' setup time saved)."""
    return backlog_inbox.copy(str(tmp_path / "pi"))


def watch(box, tmp_path, *extra, timeout=180, env=None):
    full_env = dict(os.environ, HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "cfg"),
                    XDG_CACHE_HOME=str(tmp_path / "cache"), GIT_CONFIG_NOSYSTEM="1")
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "tdxbot", "watch", "--inbox", box.inbox_dir,
                           "--state", str(tmp_path / "state.sqlite3"), "--from", SENDER,
                           "--opt-out", "quiet@example.org", "--settle", "0", "--backlog", *extra],
                          capture_output=True, env=full_env, timeout=timeout, cwd=tmp_path)


def drafts_in(folder: Path) -> dict[str, list[email.message.EmailMessage]]:
    out: dict[str, list] = {}
    for sub in ("new", "cur"):
        d = folder / sub
        if d.is_dir():
            for f in d.iterdir():
                msg = email.message_from_bytes(f.read_bytes(), policy=policy.default)
                out.setdefault(msg["In-Reply-To"].strip("<>"), []).append(msg)
    return out


def test_drafts_once_for_in_scope_series_only(inbox, tmp_path):
    maildir = tmp_path / "drafts"
    res = watch(inbox, tmp_path, "--once", "--drafts", maildir)
    log = res.stderr.decode()
    assert res.returncode == 0, log
    drafts = drafts_in(maildir)
    assert set(drafts) == EXPECTED, log
    assert all(len(v) == 1 for v in drafts.values())
    msg = drafts[EXAMPLE_IDS[2]][0]
    assert msg["Auto-Submitted"] == "auto-generated" and msg["X-Tdxbot"]
    assert msg["References"].split() == [f"<{EXAMPLE_IDS[0]}>", f"<{EXAMPLE_IDS[2]}>"]
    assert "out of scope" in log and "Auto-Submitted: auto-generated" in log and "opted out" in log
    assert "reviewed" in log and "drafted" in log
    # A second pass has nothing new to say.
    again = watch(inbox, tmp_path, "--once", "--drafts", maildir)
    assert again.returncode == 0
    assert {k: len(v) for k, v in drafts_in(maildir).items()} == {k: 1 for k in EXPECTED}


def test_a_moved_draft_is_not_written_again(inbox, tmp_path):
    maildir = tmp_path / "drafts"
    watch(inbox, tmp_path, "--once", "--drafts", maildir)
    for f in (maildir / "new").iterdir():  # the user's mail client read them
        f.rename(maildir / "cur" / (f.name + ":2,S"))
    (tmp_path / "state.sqlite3").unlink()  # even with the state gone, files are not doubled
    for extra in ("-wal", "-shm"):
        p = tmp_path / ("state.sqlite3" + extra)
        if p.exists():
            p.unlink()
    watch(inbox, tmp_path, "--once", "--drafts", maildir)
    assert {k: len(v) for k, v in drafts_in(maildir).items()} == {k: 1 for k in EXPECTED}


def test_new_mail_is_picked_up_while_running_and_new_epochs_followed(inbox, tmp_path):
    maildir = tmp_path / "drafts"
    env = dict(os.environ, HOME=str(tmp_path), GIT_CONFIG_NOSYSTEM="1")
    proc = subprocess.Popen([sys.executable, "-m", "tdxbot", "watch", "--inbox", inbox.inbox_dir, "--state",
                             str(tmp_path / "state.sqlite3"), "--from", SENDER, "--settle", "0",
                             "--opt-out", "quiet@example.org", "--interval", "1", "--drafts", str(maildir),
                             "--backlog"],
                            env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(drafts_in(maildir)) < len(EXPECTED):
            time.sleep(0.2)
        assert len(drafts_in(maildir)) == len(EXPECTED)
        # Make public-inbox start epoch 1: it rotates when the newest epoch's
        # packs pass about 2.5 GB; a sparse pack file stands for that size.
        pack_dir = Path(inbox.inbox_dir) / "git" / "0.git" / "objects" / "pack"
        pack_dir.mkdir(parents=True, exist_ok=True)
        with open(pack_dir / "pack-0000000000000000000000000000000000000000.pack", "wb") as fh:
            fh.truncate(3 << 30)
        t0 = time.monotonic()
        inbox.deliver(patch_mail("[PATCH] x86/virt/tdx: Late arrival", "late-1@example.org",
                                 code="\tif (ret & TDX_SW_ERROR)\n\t\treturn;").encode())
        assert (Path(inbox.inbox_dir) / "git" / "1.git").is_dir(), "public-inbox started a new epoch"
        while time.monotonic() < t0 + 30 and "late-1@example.org" not in drafts_in(maildir):
            time.sleep(0.1)
        assert "late-1@example.org" in drafts_in(maildir)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert proc.returncode == 0, proc.stderr.read().decode()[-2000:]


def test_send_over_smtp_with_rate_limit(inbox, tmp_path):
    from aiosmtpd.controller import Controller
    from pi_server import free_port

    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
            return "250 OK"

    port = free_port()
    ctl = Controller(Handler(), hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        cfg = tmp_path / "cfg" / "git"
        cfg.mkdir(parents=True)
        (cfg / "config").write_text(f"[sendemail]\n\tsmtpServer = 127.0.0.1\n\tsmtpServerPort = {port}\n")
        res = watch(inbox, tmp_path, "--once", "--send", "--max-per-hour", "3", "--max-age", "36500")
        assert res.returncode == 0, res.stderr.decode()
        assert len(received) == 3, "the hourly limit holds"
        assert "rate limit" in res.stderr.decode()
        res = watch(inbox, tmp_path, "--once", "--send", "--max-per-hour", "3", "--max-age", "36500")
        assert len(received) == 3, "still within the same hour"
        res = watch(inbox, tmp_path, "--once", "--send", "--max-per-hour", "100", "--max-age", "36500")
        assert res.returncode == 0
        assert len(received) == len(EXPECTED)
        replied = set()
        for mail_from, rcpts, content in received:
            msg = email.message_from_bytes(content, policy=policy.default)
            assert mail_from == "tdxbot@example.org"
            assert msg["Auto-Submitted"] == "auto-generated" and msg["X-Tdxbot"]
            assert msg["Subject"].startswith("Re: [PATCH")
            parent = msg["In-Reply-To"].strip("<>")
            assert msg["References"].split()[-1] == f"<{parent}>"
            assert any(r in ("nadia.okafor@example.com", "alice@example.org") for r in rcpts)
            replied.add(parent)
        assert replied == EXPECTED
        watch(inbox, tmp_path, "--once", "--send", "--max-per-hour", "100", "--max-age", "36500")
        assert len(received) == len(EXPECTED), "never twice"
    finally:
        ctl.stop()


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_nothing_and_doubles_nothing(inbox, tmp_path):
    """Cycles of: from an empty state, run, SIGKILL at a random moment, run
    again... until a run completes; then exactly one draft per patch that
    deserves one, none for the others. At least 20 kills in all."""
    env = dict(os.environ, HOME=str(tmp_path), GIT_CONFIG_NOSYSTEM="1")
    rng = random.Random(20261126)

    def command(cycle):
        return [sys.executable, "-m", "tdxbot", "watch", "--inbox", inbox.inbox_dir, "--state",
                str(tmp_path / f"state-{cycle}.sqlite3"), "--from", SENDER, "--opt-out", "quiet@example.org",
                "--settle", "0", "--once", "--backlog", "--drafts", str(tmp_path / f"drafts-{cycle}")]

    t0 = time.monotonic()
    subprocess.run(command("timing"), env=env, cwd=tmp_path, capture_output=True)
    full = time.monotonic() - t0  # a whole pass from an empty state
    kills, cycle = 0, 0
    while kills < 20 and cycle < 12:
        cycle += 1
        for attempt in range(30):
            proc = subprocess.Popen(command(cycle), env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            try:
                proc.wait(rng.uniform(0.05, full))
                break  # finished before the kill
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                kills += 1
        final = subprocess.run(command(cycle), env=env, cwd=tmp_path, capture_output=True)
        assert final.returncode == 0, final.stderr.decode()
        drafts = drafts_in(tmp_path / f"drafts-{cycle}")
        assert set(drafts) == EXPECTED, (cycle, sorted(drafts))
        assert all(len(v) == 1 for v in drafts.values()), (cycle, {k: len(v) for k, v in drafts.items()})
    assert kills >= 20, f"{kills} kills in {cycle} cycles; a pass takes {full:.2f} s"


def test_watch_errors(tmp_path):
    from conftest import run_cli

    res = run_cli("watch", "--inbox", tmp_path, "--once", "--drafts", tmp_path / "d", "--from", SENDER)
    assert res.returncode == 2 and b"not a public-inbox v2 inbox" in res.stderr
    res = run_cli("watch", "--inbox", tmp_path, "--once", "--from", SENDER)
    assert res.returncode == 2 and b"--drafts" in res.stderr


def test_remote_inbox_is_mirrored_over_http(lore, tmp_path):
    """--inbox URL: the epochs are cloned from public-inbox-httpd and followed."""
    maildir = tmp_path / "drafts"
    env = dict(os.environ, HOME=str(tmp_path), XDG_CACHE_HOME=str(tmp_path / "cache"),
               GIT_CONFIG_NOSYSTEM="1")
    cmd = [sys.executable, "-m", "tdxbot", "watch", "--inbox", lore.url, "--state", str(tmp_path / "s.sqlite3"),
           "--from", SENDER, "--settle", "0", "--once", "--backlog", "--drafts", str(maildir)]
    res = subprocess.run(cmd, env=env, capture_output=True, timeout=300, cwd=tmp_path)
    assert res.returncode == 0, res.stderr.decode()[-2000:]
    drafts = drafts_in(maildir)
    assert set(drafts) == {EXAMPLE_IDS[1], EXAMPLE_IDS[2], EXAMPLE_IDS[3], "vv-v1-1@example.org",
                           "vv-v1-2@example.org"}
    assert list((tmp_path / "cache" / "tdxbot" / "mirrors").glob("*/git/0.git"))
    # The point the human reviewer made on patch 2 is left out of our reply.
    body = drafts[EXAMPLE_IDS[2]][0].get_content()
    assert "Retry on the two transient errors.\n\nNit" not in body
    again = subprocess.run(cmd, env=env, capture_output=True, timeout=300, cwd=tmp_path)
    assert again.returncode == 0 and {k: len(v) for k, v in drafts_in(maildir).items()} == \
        {k: 1 for k in drafts}
    bad = subprocess.run(cmd[:5] + ["http://127.0.0.1:9/nothing"] + cmd[6:], env=env, capture_output=True,
                         timeout=120, cwd=tmp_path)
    assert bad.returncode == 2 and b"cannot mirror" in bad.stderr
