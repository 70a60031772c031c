"""The responder as a list admin runs it (issue 12): one watcher per state,
where a first run starts, the age limit of --send, SMTP failures of every
kind (real aiosmtpd server on 127.0.0.1), the state file going bad, and
`watch --status`."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from email.utils import formatdate
from pathlib import Path

import pytest
from mails import patch_mail
from test_adversarial import Recorder, assert_safe_reply, deliver_all, run_watch, smtp_config, smtp_server

BAD = "\tif (ret & TDX_SW_ERROR)\n\t\treturn;"


def tdx_patch(tag: str, when: float | None = None) -> bytes:
    return patch_mail(f"[PATCH] x86/virt/tdx: Patch {tag}", f"{tag}@example.org", code=BAD,
                      date=formatdate(when if when is not None else time.time() - 60)).encode()


@pytest.fixture
def box(tmp_path):
    from pi_server import Inbox, require_public_inbox

    require_public_inbox()
    inbox = Inbox(str(tmp_path / "pi"))
    inbox.init()
    return inbox


def parents(maildir: Path) -> list[str]:
    import email
    from email import policy

    folder = maildir / "new"
    return sorted(str(email.message_from_bytes(f.read_bytes(), policy=policy.default)["In-Reply-To"]).strip("<>")
                  for f in folder.iterdir()) if folder.is_dir() else []


def status(tmp_path: Path) -> str:
    res = subprocess.run([sys.executable, "-m", "tdxbot", "watch", "--status", "--state",
                          str(tmp_path / "state.sqlite3")], capture_output=True, timeout=60)
    assert res.returncode == 0, res.stderr.decode()
    return res.stdout.decode()


# -- where reading starts ------------------------------------------------------------


def test_first_run_starts_at_the_tip(box, tmp_path):
    deliver_all(box, [tdx_patch("old-1"), tdx_patch("old-2")], tmp_path / "m")
    maildir = tmp_path / "drafts"
    res = run_watch(box, tmp_path, "--drafts", str(maildir))
    assert res.returncode == 0 and "starting at the tip" in res.stderr.decode(), res.stderr.decode()
    assert parents(maildir) == []
    deliver_all(box, [tdx_patch("new-1")], tmp_path / "m")
    res = run_watch(box, tmp_path, "--drafts", str(maildir), "--backlog")
    assert res.returncode == 0 and "apply to a first run" in res.stderr.decode()
    assert parents(maildir) == ["new-1@example.org"]


def test_since_reads_from_a_date(box, tmp_path):
    now = time.time()
    deliver_all(box, [tdx_patch("month-ago", now - 30 * 86400), tdx_patch("day-ago", now - 86400)], tmp_path / "m")
    since = time.strftime("%Y-%m-%d", time.gmtime(now - 3 * 86400))
    maildir = tmp_path / "drafts"
    res = run_watch(box, tmp_path, "--drafts", str(maildir), "--since", since)
    assert res.returncode == 0, res.stderr.decode()
    assert parents(maildir) == ["day-ago@example.org"]
    (tmp_path / "x").mkdir()
    bad = run_watch(box, tmp_path / "x", "--drafts", str(maildir), "--since", "last tuesday")
    assert bad.returncode == 2 and b"--since" in bad.stderr and len(bad.stderr.splitlines()) == 1


def test_send_never_answers_old_mail(box, tmp_path):
    now = time.time()
    deliver_all(box, [tdx_patch("stale", now - 10 * 86400), tdx_patch("fresh", now - 3600)], tmp_path / "m")
    recorder = Recorder()
    with smtp_server(recorder) as port:
        smtp_config(tmp_path, port)
        res = run_watch(box, tmp_path, "--send", "--backlog")
        assert res.returncode == 0, res.stderr.decode()
        got = [assert_safe_reply(c, True, r)["In-Reply-To"] for _, r, c in recorder.received]
        assert got == ["<fresh@example.org>"]
        assert "10.0 days old" in res.stderr.decode()
    text = status(tmp_path)
    assert "1 sent" in text and "1 expired" in text and "<stale@example.org>" in text, text


# -- one watcher per state ------------------------------------------------------------


def test_a_second_watcher_is_turned_away(box, tmp_path):
    deliver_all(box, [tdx_patch("lock-1")], tmp_path / "m")
    env = dict(os.environ, HOME=str(tmp_path), GIT_CONFIG_NOSYSTEM="1")
    first = subprocess.Popen([sys.executable, "-m", "tdxbot", "watch", "--inbox", box.inbox_dir, "--state",
                              str(tmp_path / "state.sqlite3"), "--from", "Bot <bot@example.org>", "--settle", "0",
                              "--interval", "30", "--backlog", "--drafts", str(tmp_path / "d")],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not parents(tmp_path / "d") and time.monotonic() < deadline:
            time.sleep(0.1)
        second = run_watch(box, tmp_path, "--drafts", str(tmp_path / "d2"))
        err = second.stderr.decode()
        assert second.returncode == 2 and len(err.strip().splitlines()) == 1, err
        assert f"pid {first.pid}" in err and "one watcher per state file" in err
        assert status(tmp_path)  # --status reads while the watcher runs
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(30)
    assert first.returncode == 0


def test_two_watchers_writing_one_maildir(box, tmp_path):
    """Two states (say, two admins) drafting into one maildir: neither
    stops, and each reply is there once (same name from both)."""
    deliver_all(box, [tdx_patch(f"md-{i}") for i in range(6)], tmp_path / "m")
    maildir = tmp_path / "drafts"
    env = dict(os.environ, HOME=str(tmp_path), GIT_CONFIG_NOSYSTEM="1")
    procs = [subprocess.Popen([sys.executable, "-m", "tdxbot", "watch", "--inbox", box.inbox_dir, "--state",
                               str(tmp_path / f"s{i}.sqlite3"), "--from", "Bot <bot@example.org>", "--settle", "0",
                               "--once", "--backlog", "--drafts", str(maildir)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for i in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()[-2000:]
    assert parents(maildir) == sorted(f"md-{i}@example.org" for i in range(6))
    assert not list((maildir / "tmp").iterdir())


@pytest.mark.slow
def test_concurrent_watchers_never_send_twice(box, tmp_path):
    """Overlapping cron runs with --send, 20 times: every reply once."""
    recorder = Recorder()
    with smtp_server(recorder) as port:
        smtp_config(tmp_path, port)
        expected = []
        for trial in range(20):
            deliver_all(box, [tdx_patch(f"cc-{trial}-a"), tdx_patch(f"cc-{trial}-b")], tmp_path / "m")
            expected += [f"<cc-{trial}-a@example.org>", f"<cc-{trial}-b@example.org>"]
            env = dict(os.environ, HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "cfg"), GIT_CONFIG_NOSYSTEM="1")
            cmd = [sys.executable, "-m", "tdxbot", "watch", "--inbox", box.inbox_dir, "--state",
                   str(tmp_path / "state.sqlite3"), "--from", "Bot <bot@example.org>", "--settle", "0", "--once",
                   "--send", "--max-per-hour", "1000"] + (["--backlog"] if trial == 0 else [])
            procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                     for _ in range(2)]
            codes = []
            for p in procs:
                _, err = p.communicate(timeout=120)
                codes.append(p.returncode)
                assert p.returncode in (0, 2), err.decode()[-2000:]
                if p.returncode == 2:
                    assert b"one watcher per state file" in err
            if 2 in codes:  # the one turned away: the next run picks up anything left
                subprocess.run(cmd, env=env, capture_output=True, timeout=120)
            got = sorted(str(assert_safe_reply(c, True, r)["In-Reply-To"]) for _, r, c in recorder.received)
            assert got == sorted(expected), (trial, got)


# -- SMTP, fault by fault ----------------------------------------------------------------


class Faults:
    """aiosmtpd handler that fails transactions as scripted: each MAIL
    takes the next action of the script (then 'ok' for ever)."""

    def __init__(self, script):
        self.script = list(script)
        self.action = "ok"
        self.accepted: list[bytes] = []  # answered 250
        self.dropped_after_data: list[bytes] = []  # received, connection cut before the answer

    async def handle_MAIL(self, server, session, envelope, address, options):
        self.action = self.script.pop(0) if self.script else "ok"
        if self.action == "451-mail":
            return "451 4.3.0 try again later"
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, options):
        if self.action == "550-rcpt":
            return "550 5.1.1 no such user"
        if self.action == "drop-before-data":
            server.transport.close()
            return "250 OK"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.action == "554-data":
            return "554 5.7.1 message refused"
        if self.action == "452-data":
            return "452 4.3.1 out of storage"
        if self.action == "drop-after-data":
            self.dropped_after_data.append(envelope.content)
            server.transport.close()
            return "250 OK"
        self.accepted.append(envelope.content)
        return "250 OK"


def _plan_three(box, tmp_path):
    """A state with three replies planned, from a real inbox."""
    import logging

    from tdxbot.watch import responder
    from tdxbot.lint.engine import Options
    from tdxbot.mail.model import Address
    from tdxbot.lint.areas import TDX_SCOPE
    from tdxbot.watch.state import State

    logging.getLogger("tdxbot").setLevel(logging.CRITICAL)
    deliver_all(box, [tdx_patch(f"f-{i}") for i in range(3)], tmp_path / "m")
    state = State(str(tmp_path / "state.sqlite3"))
    settings = responder.Settings(Address("Bot", "bot@example.org"), TDX_SCOPE, 0, frozenset(), Options())
    responder.begin(state, box.inbox_dir, responder.Start(backlog=True))
    responder.ingest(state, box.inbox_dir)
    responder.decide(state, settings, time.time())
    assert len(state.planned()) == 3
    return state


def _states(state) -> dict[str, str]:
    return dict(state.db.execute("SELECT patch_msgid, state FROM replies"))


def test_smtp_faults_never_lose_or_double_a_reply(box, tmp_path):
    from pi_server import free_port

    from tdxbot.flow.config import Settings
    from tdxbot.watch.delivery import deliver_smtp, smtp_sender

    state = _plan_three(box, tmp_path)
    port = free_port()
    config = Settings({"sendemail.smtpserver": ["127.0.0.1"], "sendemail.smtpserverport": [str(port)]})
    send = smtp_sender(config, timeout=10)
    now = time.time()
    # 1: nothing listens: certainly not sent, the pass stops, retried later.
    assert deliver_smtp(state, send, 100, now) == 0
    assert set(_states(state).values()) == {"planned"}
    row = state.db.execute("SELECT attempts, reason FROM replies WHERE attempts > 0").fetchall()
    assert len(row) == 1 and "cannot connect" in row[0][1]
    faults = Faults(["451-mail", "554-data", "drop-after-data", "550-rcpt", "drop-before-data", "452-data"])
    from aiosmtpd.controller import Controller

    ctl = Controller(faults, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        day = 86400
        deliver_smtp(state, send, 100, now + day)  # 451 at MAIL, 554 after the data, drop after the data
        states = _states(state)
        assert sorted(states.values()) == ["maybe-sent", "planned", "planned"], states
        maybe = [k for k, v in states.items() if v == "maybe-sent"]
        assert len(faults.dropped_after_data) == 1 and not faults.accepted
        deliver_smtp(state, send, 100, now + 2 * day)  # 550 for the only recipient... then a drop before DATA
        assert sorted(_states(state).values()) == ["maybe-sent", "planned", "planned"]
        deliver_smtp(state, send, 100, now + 3 * day)  # 452 after the data, then fine
        deliver_smtp(state, send, 100, now + 4 * day)
        states = _states(state)
        assert sorted(states.values()) == ["maybe-sent", "sent", "sent"], states
        assert _states(state)[maybe[0]] == "maybe-sent"
        # Every reply reached the server exactly once, counting the maybe-sent one.
        delivered = [assert_safe_reply(c, True)["In-Reply-To"] for c in faults.accepted + faults.dropped_after_data]
        assert sorted(delivered) == sorted(f"<{k}>" for k in states)
        for _ in range(3):
            deliver_smtp(state, send, 100, now + 10 * day)
        assert len(faults.accepted) == 2, "nothing is sent again"
        reasons = dict(state.db.execute("SELECT patch_msgid, reason FROM replies"))
        assert "after the data" in reasons[maybe[0]]
    finally:
        ctl.stop()
        state.close()


def test_tls_and_login_failures_are_retried(box, tmp_path, monkeypatch):
    from tdxbot.flow.config import Settings
    from tdxbot.watch.delivery import deliver_smtp, smtp_sender

    state = _plan_three(box, tmp_path)
    recorder = Recorder()
    with smtp_server(recorder) as port:
        now = time.time()
        for extra, words in ((("sendemail.smtpencryption", "tls"),), "STARTTLS"), \
                            ((("sendemail.smtpuser", "bot"),), "AUTH"):
            values = {"sendemail.smtpserver": ["127.0.0.1"], "sendemail.smtpserverport": [str(port)]}
            values.update({k: [v] for k, v in extra})
            monkeypatch.setenv("TDXBOT_SMTP_PASSWORD", "secret-word")
            deliver_smtp(state, smtp_sender(Settings(values), timeout=10), 100, now)
            reasons = [r for (r,) in state.db.execute("SELECT reason FROM replies WHERE reason IS NOT NULL")]
            assert any(words in r for r in reasons), reasons
            assert not any("secret-word" in r for r in reasons)
            now += 86400
        assert not recorder.received and set(_states(state).values()) == {"planned"}
        plain = Settings({"sendemail.smtpserver": ["127.0.0.1"], "sendemail.smtpserverport": [str(port)]})
        deliver_smtp(state, smtp_sender(plain, timeout=10), 100, now + 86400)
        assert len(recorder.received) == 3 and set(_states(state).values()) == {"sent"}
    state.close()


def test_watch_keeps_going_when_the_server_is_down(box, tmp_path):
    from pi_server import free_port

    deliver_all(box, [tdx_patch("down-1")], tmp_path / "m")
    smtp_config(tmp_path, free_port())
    res = run_watch(box, tmp_path, "--send", "--backlog")
    log = res.stderr.decode()
    assert res.returncode == 0 and "will retry" in log and "Traceback" not in log, log
    text = status(tmp_path)
    assert "1 planned" in text and "cannot connect" in text and "next try" in text, text


# -- operator errors ---------------------------------------------------------------------


def test_state_file_problems_are_one_line(box, tmp_path):
    bad = tmp_path / "state.sqlite3"
    bad.write_bytes(b"this is not a database" * 100)
    res = run_watch(box, tmp_path, "--drafts", str(tmp_path / "d"))
    err = res.stderr.decode()
    assert res.returncode == 2 and len(err.strip().splitlines()) == 1 and "not a usable tdxbot state" in err, err
    bad.unlink()
    assert run_watch(box, tmp_path, "--drafts", str(tmp_path / "d")).returncode == 0
    if os.geteuid() != 0:  # root writes through a read-only mode
        bad.chmod(0o444)
        res = run_watch(box, tmp_path, "--drafts", str(tmp_path / "d"))
        assert res.returncode == 2 and b"read-only" in res.stderr, res.stderr
    smtp_config(tmp_path, 0)
    (tmp_path / "cfg" / "git" / "config").write_text("[sendemail]\n\tsmtpServer = 127.0.0.1\n"
                                                     "\tsmtpServerPort = smtp\n")
    res = run_watch(box, tmp_path, "--send")
    assert res.returncode == 2 and res.stderr.decode().strip() == \
        "tdxbot: sendemail.smtpServerPort: 'smtp' is not a port number", res.stderr


def test_status_without_a_state(tmp_path):
    res = subprocess.run([sys.executable, "-m", "tdxbot", "watch", "--status", "--state",
                          str(tmp_path / "none.sqlite3")], capture_output=True, timeout=60)
    assert res.returncode == 2 and b"no state file yet" in res.stderr


def test_odd_archive_entries_are_skipped_and_recorded(box, tmp_path, monkeypatch):
    """An 'm' that is a submodule link, or a blob past the size limit, is
    recorded as skipped; reading goes on past it."""
    import git

    from tdxbot.watch import inbox, responder
    from tdxbot.watch.state import State

    deliver_all(box, [tdx_patch("before")], tmp_path / "m")
    epoch = git.Repo(os.path.join(box.inbox_dir, "git", "0.git"))
    head = epoch.git.rev_parse("HEAD")
    tree = subprocess.run(["git", "-C", epoch.git_dir, "mktree"], input=f"160000 commit {head}\tm\n".encode(),
                          capture_output=True, check=True).stdout.decode().strip()
    who = {"GIT_AUTHOR_NAME": "x", "GIT_AUTHOR_EMAIL": "x@x", "GIT_COMMITTER_NAME": "x", "GIT_COMMITTER_EMAIL": "x@x"}
    commit = epoch.git.commit_tree(tree, "-p", head, "-m", "odd", env=who)
    epoch.git.update_ref("refs/heads/master", commit)
    big = patch_mail("[PATCH] x86/virt/tdx: Big", "big@example.org", changelog="Long. " * 2000).encode()
    deliver_all(box, [big, tdx_patch("after")], tmp_path / "m")
    monkeypatch.setattr(inbox, "MAX_BLOB", 4000)
    state = State(str(tmp_path / "s.sqlite3"))
    responder.begin(state, box.inbox_dir, responder.Start(backlog=True))
    responder.ingest(state, box.inbox_dir)
    reasons = [r for (r,) in state.db.execute("SELECT reason FROM skipped")]
    stored = {m for (m,) in state.db.execute("SELECT msgid FROM messages")}
    assert any("not a blob" in r for r in reasons), reasons
    assert any("over the" in r for r in reasons), reasons
    assert state.marks()[0] == epoch.git.rev_parse("HEAD")
    assert stored == {"before@example.org", "after@example.org"}
    state.close()


def test_sqlite_errors_read_as_what_they_mean(tmp_path):
    """The tests run as root, which writes through a read-only file mode;
    SQLite's query_only gives the same error a read-only file does."""
    import sqlite3

    from tdxbot.watch.state import State, state_error

    state = State(str(tmp_path / "s.sqlite3"))
    state.db.execute("PRAGMA query_only = 1")
    with pytest.raises(sqlite3.Error) as exc:
        state.set_meta("x", "y")
    assert state_error("s.sqlite3", exc.value) == "s.sqlite3: the state file is read-only"
    state.close()
