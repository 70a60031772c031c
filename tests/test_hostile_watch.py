"""The responder against what a list admin's tools and a hostile list
member do to it (issue 22), over a real public-inbox v2 inbox
(public-inbox-init, -mda, -purge, -httpd on 127.0.0.1) and a real SMTP
server (aiosmtpd on 127.0.0.1):

- public-inbox-purge rewrites an epoch the watcher has read: it goes on
  where it stopped, answers the mail after the purge exactly once, answers
  nothing twice, withdraws a planned reply to the purged patch;
- another process holds the state database's lock: the daemon waits and
  goes on, --once gives up with one line;
- Precedence and X-Auto-Response-Suppress, as senders and as real lists
  write them;
- a Date far in the future cannot keep a reply from expiring;
- a FIFO, or a symlink, where the state or its lock should be;
- an opted-out person gets nothing, whatever header names them.

The reviews run one rule only (--select tdx-unbounded-retry): what is
tested here is the watcher, not the rules.
"""
from __future__ import annotations

import email
import os
import signal
import sqlite3
import subprocess
import sys
import time
from email import policy
from email.utils import formatdate
from pathlib import Path

import pytest
from mails import patch_mail
from test_adversarial import Recorder, deliver_all, smtp_config, smtp_server

SENDER = "TDX Bot <tdxbot@example.org>"
RULE = "tdx-unbounded-retry"
# A loop tdx-unbounded-retry flags: every patch below gets a reply.
LOOP = ("static int shut(void)\n{\n\tu64 ret;\n\n\tdo {\n\t\tret = seamcall(TDH_SYS_SHUTDOWN, &args);\n"
        "\t} while (ret == TDX_SYS_SHUTDOWN_BUSY);\n\treturn 0;\n}")


def patch(tag: str, *, date: str | None = None, author: str = "Alice Example <alice@example.org>",
          extra: str = "") -> bytes:
    return patch_mail(f"[PATCH] x86/virt/tdx: Patch {tag}", f"{tag}@example.org", code=LOOP, author=author,
                      date=date or formatdate(time.time() - 60), extra_headers=extra).encode()


@pytest.fixture
def box(tmp_path):
    from pi_server import Inbox, require_public_inbox

    require_public_inbox()
    inbox = Inbox(str(tmp_path / "pi"))
    inbox.init()
    return inbox


def env_for(home: Path) -> dict:
    env = dict(os.environ, HOME=str(home), XDG_CONFIG_HOME=str(home / "cfg"), XDG_CACHE_HOME=str(home / "cache"),
               GIT_CONFIG_NOSYSTEM="1")
    env.pop("TDXBOT_DEBUG", None)
    return env


def watch_cmd(home: Path, inbox: str, *extra) -> list[str]:
    return [sys.executable, "-m", "tdxbot", "watch", "--inbox", inbox, "--state", str(home / "state.sqlite3"),
            "--from", SENDER, "--settle", "0", "--select", RULE, *map(str, extra)]


def watch(box, home: Path, *extra, inbox: str | None = None, timeout: float = 300):
    return subprocess.run(watch_cmd(home, inbox or box.inbox_dir, "--once", *extra), capture_output=True,
                          env=env_for(home), timeout=timeout, cwd=home)


def drafts(maildir: Path) -> list[str]:
    """In-Reply-To of every draft (with repeats: a second draft would show)."""
    folder = maildir / "new"
    if not folder.is_dir():
        return []
    return sorted(str(email.message_from_bytes(f.read_bytes(), policy=policy.default)["In-Reply-To"]).strip("<>")
                  for f in folder.iterdir())


def ids(*tags: str) -> list[str]:
    return sorted(f"{t}@example.org" for t in tags)


def archived(box, msgid: str) -> bytes:
    """The mail as the archive holds it (what public-inbox-purge is given)."""
    gitdir = os.path.join(box.inbox_dir, "git", "0.git")
    shas = subprocess.run(["git", "-C", gitdir, "rev-list", "master"], capture_output=True, text=True,
                          check=True).stdout.split()
    for sha in shas:
        raw = subprocess.run(["git", "-C", gitdir, "show", f"{sha}:m"], capture_output=True).stdout
        if f"<{msgid}>".encode() in raw.split(b"\n\n", 1)[0]:
            return raw
    raise AssertionError(f"{msgid} is not in the archive")


def purge(box, msgid: str) -> None:
    raw = archived(box, msgid)
    head = _head(box)
    res = subprocess.run(["public-inbox-purge", box.inbox_dir], input=raw, env=box.env, capture_output=True)
    assert res.returncode == 0, res.stderr.decode()[-1000:]
    assert _head(box) != head


def _head(box) -> str:
    return subprocess.run(["git", "-C", os.path.join(box.inbox_dir, "git", "0.git"), "rev-parse", "master"],
                          capture_output=True, text=True, check=True).stdout.strip()


def one_line(res) -> str:
    err = res.stderr.decode()
    assert res.returncode == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err


# -- public-inbox-purge ---------------------------------------------------------------


def one_pass(box, home: Path, caplog, start: str = "backlog", send=None, now: float | None = None,
             opt_out: frozenset[str] = frozenset()) -> str:
    """One pass of the watcher in this process (what `watch --once` does,
    without starting Python again): read, decide, then draft into
    home/drafts, or send with send. Returns what it logged."""
    import logging

    from tdxbot.lint.engine import Options
    from tdxbot.mail.model import Address
    from tdxbot.lint.areas import TDX_SCOPE
    from tdxbot.watch import responder
    from tdxbot.watch.delivery import deliver_maildir, deliver_smtp
    from tdxbot.watch.state import State

    caplog.clear()
    caplog.set_level(logging.INFO, logger="tdxbot")
    settings = responder.Settings(Address("Bot", "tdxbot@example.org"), TDX_SCOPE, 0, opt_out,
                                  Options(select=frozenset({RULE})))
    state = State(str(home / "state.sqlite3"))
    try:
        if not state.started():
            responder.begin(state, box.inbox_dir, responder.Start(backlog=start == "backlog"))
        responder.run_once(state, box.inbox_dir, settings,
                           (lambda: deliver_smtp(state, send, 100, now or time.time())) if send else
                           (lambda: deliver_maildir(state, str(home / "drafts"))))
    finally:
        state.close()
    return "\n".join(r.getMessage() for r in caplog.records)


def test_purge_of_read_mail_then_new_mail_is_answered_once(box, tmp_path, caplog):
    deliver_all(box, [patch("a"), patch("b"), patch("c")], tmp_path / "m")
    one_pass(box, tmp_path, caplog)
    assert drafts(tmp_path / "drafts") == ids("a", "b", "c")
    purge(box, "b@example.org")  # read and answered: its commit and every later one get new ids
    deliver_all(box, [patch("d"), patch("e")], tmp_path / "m")
    log = one_pass(box, tmp_path, caplog)
    rewritten = [ln for ln in log.splitlines() if "rewritten" in ln]
    assert len(rewritten) == 1 and "epoch 0" in rewritten[0] and "2 new commits" in rewritten[0], log
    assert drafts(tmp_path / "drafts") == ids("a", "b", "c", "d", "e")
    assert "kept the first one" not in log and "skipped" not in log, log
    # Every later pass goes on from the new history, quietly.
    deliver_all(box, [patch("f")], tmp_path / "m")
    log = one_pass(box, tmp_path, caplog)
    assert "rewritten" not in log, log
    assert drafts(tmp_path / "drafts") == ids("a", "b", "c", "d", "e", "f")


def test_purge_of_the_last_mail_read(box, tmp_path, caplog):
    """The mark's own message erased: the purge commit that replaced it
    names its blob, and reading goes on right after it."""
    deliver_all(box, [patch("a"), patch("b")], tmp_path / "m")
    one_pass(box, tmp_path, caplog)
    purge(box, "b@example.org")
    deliver_all(box, [patch("c")], tmp_path / "m")
    log = one_pass(box, tmp_path, caplog)
    assert "reading on after" in log and "1 new commit)" in log, log
    assert drafts(tmp_path / "drafts") == ids("a", "b", "c")


def test_purge_right_after_a_first_run_at_the_tip(box, tmp_path, caplog):
    """A state that started at the tip has read no message yet: the entry
    at its mark is enough to find the place again."""
    deliver_all(box, [patch("old-1"), patch("old-2")], tmp_path / "m")
    one_pass(box, tmp_path, caplog, start="tip")
    purge(box, "old-1@example.org")
    deliver_all(box, [patch("new-1")], tmp_path / "m")
    log = one_pass(box, tmp_path, caplog, start="tip")
    assert "reading on after" in log, log
    assert drafts(tmp_path / "drafts") == ids("new-1")


def test_purge_of_mail_not_read_yet(box, tmp_path, caplog):
    """Delivered and purged between two passes: never read, never answered;
    what came before and after it is."""
    deliver_all(box, [patch("a")], tmp_path / "m")
    one_pass(box, tmp_path, caplog)
    deliver_all(box, [patch("b"), patch("spam"), patch("c")], tmp_path / "m")
    purge(box, "spam@example.org")
    deliver_all(box, [patch("d")], tmp_path / "m")
    log = one_pass(box, tmp_path, caplog)
    assert "rewritten" not in log, log  # the purge rewrote only what came after the mark
    assert drafts(tmp_path / "drafts") == ids("a", "b", "c", "d")


def test_a_planned_reply_to_a_purged_patch_is_withdrawn(box, tmp_path, caplog):
    """A reply still waiting (its server was down) when its patch is purged
    (it held something that had to go) is never sent: it would quote what
    was erased. The stored copy of the patch is dropped."""
    from tdxbot.watch.delivery import SendFailed, Sent
    from tdxbot.watch.state import State

    deliver_all(box, [patch("leak"), patch("fine")], tmp_path / "m")
    sent = []

    def down(raw, sender, rcpts, before_data):
        raise SendFailed("cannot connect", certain=True, connection=True)

    def up(raw, sender, rcpts, before_data):
        before_data()
        sent.append(str(email.message_from_bytes(raw, policy=policy.default)["In-Reply-To"]))
        return Sent({})

    one_pass(box, tmp_path, caplog, send=down)
    purge(box, "leak@example.org")
    deliver_all(box, [patch("later")], tmp_path / "m")
    log = one_pass(box, tmp_path, caplog, send=up, now=time.time() + 86400)
    assert "withdrew the planned reply to <leak@example.org>" in log, log
    assert sorted(sent) == ["<fine@example.org>", "<later@example.org>"]
    state = State(str(tmp_path / "state.sqlite3"))
    assert dict(state.db.execute("SELECT patch_msgid, state FROM replies")) == {
        "leak@example.org": "withdrawn", "fine@example.org": "sent", "later@example.org": "sent"}
    assert state.message_time("leak@example.org") == (None, None, None)
    text = "\n".join(state.status_lines(time.time()))
    assert "1 withdrawn" in text and "purged from the archive" in text, text
    state.close()


def test_a_foreign_history_answers_no_backlog(box, tmp_path, caplog):
    """The epoch replaced by an unrelated history (an admin re-created the
    inbox): nothing read before is in it, so nothing in it is taken for
    new mail; reading goes on from its tip."""
    import shutil

    from pi_server import Inbox

    deliver_all(box, [patch("a")], tmp_path / "m")
    one_pass(box, tmp_path, caplog)
    other = Inbox(str(tmp_path / "other"))
    other.init()
    deliver_all(other, [patch(f"other-{i}") for i in range(3)], tmp_path / "m2")
    epoch = Path(box.inbox_dir, "git", "0.git")
    shutil.rmtree(epoch)
    shutil.copytree(Path(other.inbox_dir, "git", "0.git"), epoch)
    log = one_pass(box, tmp_path, caplog)
    assert "no entry read before is" in log and "the 3 commits" in log, log
    assert drafts(tmp_path / "drafts") == ids("a")


def test_a_state_from_before_this_finds_its_place_too(box, tmp_path, caplog):
    """A state written before marks kept their depth and entry, and before
    read_blobs: on the first rewrite the stored messages' blob ids are
    worked out from their bytes, and the newest one found in the new
    history is where reading goes on."""
    deliver_all(box, [patch("a"), patch("b"), patch("c")], tmp_path / "m")
    one_pass(box, tmp_path, caplog)
    db = sqlite3.connect(tmp_path / "state.sqlite3")
    db.execute("UPDATE marks SET depth = NULL, entry = NULL")
    db.execute("DELETE FROM read_blobs")
    db.execute("DELETE FROM meta WHERE key = 'read-blobs'")
    db.commit()
    db.close()
    purge(box, "b@example.org")
    deliver_all(box, [patch("d")], tmp_path / "m")
    log = one_pass(box, tmp_path, caplog)
    assert "the last entry already read (1 new commit)" in log, log
    assert drafts(tmp_path / "drafts") == ids("a", "b", "c", "d")


def test_a_mail_titled_like_a_purge_is_not_one(box, tmp_path, caplog):
    """Every commit's subject is a mail's Subject. A list member who titles
    a mail "purged <blob>", naming a patch the watcher has read (its blob id
    is public: hash the archived mail), withdraws nothing, and after a real
    purge the watcher does not take the place of that mail for where it
    stopped reading (which would skip the mail before it)."""
    from tdxbot.watch.delivery import SendFailed
    from tdxbot.watch.state import State, git_blob_id

    deliver_all(box, [patch("a"), patch("victim")], tmp_path / "m")

    def down(raw, sender, rcpts, before_data):
        raise SendFailed("cannot connect", certain=True, connection=True)

    one_pass(box, tmp_path, caplog, send=down)
    blobs = " ".join(git_blob_id(archived(box, f"{t}@example.org")) for t in ("a", "victim"))
    fake = patch_mail(f"purged {blobs}", "fake@example.org", code=LOOP).encode()
    deliver_all(box, [patch("c"), fake, patch("d")], tmp_path / "m")
    purge(box, "a@example.org")
    log = one_pass(box, tmp_path, caplog, send=down)
    assert "3 new commits" in log, log  # c, the fake and d: the walk went past the fake
    state = State(str(tmp_path / "state.sqlite3"))
    replies = dict(state.db.execute("SELECT patch_msgid, state FROM replies"))
    state.close()
    assert replies == {"a@example.org": "withdrawn", "victim@example.org": "planned", "c@example.org": "planned",
                       "fake@example.org": "planned", "d@example.org": "planned"}, log


def test_a_purged_mail_sent_again_does_not_hide_the_mail_before_it(box, tmp_path, caplog):
    """Spam the watcher has read is purged, and its sender posts the very
    same bytes again after two good patches: the archive holds the same
    blob again, newer than the place where reading stopped. Those two
    patches are still answered."""
    from tdxbot.watch.state import git_blob_id

    deliver_all(box, [patch("a"), patch("spam")], tmp_path / "m")
    one_pass(box, tmp_path, caplog)
    spam = archived(box, "spam@example.org")
    purge(box, "spam@example.org")
    deliver_all(box, [patch("good-1"), patch("good-2"), spam], tmp_path / "m")
    assert git_blob_id(archived(box, "spam@example.org")) == git_blob_id(spam)  # the same entry again
    log = one_pass(box, tmp_path, caplog)
    assert "3 new commits" in log, log
    assert drafts(tmp_path / "drafts") == ids("a", "good-1", "good-2", "spam"), log


@pytest.mark.slow
def test_purge_under_the_command_and_the_daemon(box, tmp_path):
    """The issue's case end to end: `watch --once` after a purge exits 0
    with one line about it, and a running daemon reads through a purge
    and answers the mail after it, once."""
    maildir = tmp_path / "drafts"
    deliver_all(box, [patch("a"), patch("b"), patch("c")], tmp_path / "m")
    assert watch(box, tmp_path, "--backlog", "--drafts", maildir).returncode == 0
    purge(box, "b@example.org")
    deliver_all(box, [patch("d")], tmp_path / "m")
    res = watch(box, tmp_path, "--drafts", maildir)
    log = res.stderr.decode()
    assert res.returncode == 0 and sum("rewritten" in ln for ln in log.splitlines()) == 1, log
    assert "Traceback" not in log and "internal error" not in log, log
    assert drafts(maildir) == ids("a", "b", "c", "d")
    daemon_log = tmp_path / "daemon.log"
    with open(daemon_log, "wb") as err:
        daemon = subprocess.Popen(watch_cmd(tmp_path, box.inbox_dir, "--interval", "1", "--drafts", maildir),
                                  env=env_for(tmp_path), stderr=err, stdout=subprocess.DEVNULL, cwd=tmp_path)
    try:
        for round_, tag in enumerate(("e", "f")):
            purge(box, "c@example.org" if round_ == 0 else "e@example.org")
            deliver_all(box, [patch(tag)], tmp_path / "m")
            deadline = time.monotonic() + 60
            while tag + "@example.org" not in drafts(maildir) and time.monotonic() < deadline:
                assert daemon.poll() is None, daemon_log.read_text()
                time.sleep(0.2)
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(60)
    text = daemon_log.read_text()
    assert daemon.returncode == 0 and "failed" not in text and "Traceback" not in text, text
    assert text.count("rewritten") == 2, text
    assert drafts(maildir) == ids("a", "b", "c", "d", "e", "f")


@pytest.mark.slow
def test_purge_upstream_of_a_mirrored_inbox(box, tmp_path):
    """A remote inbox: its mirror is fetched with the rewritten history
    (the old commits stay in the mirror); the watcher goes on as well."""
    maildir = tmp_path / "drafts"
    deliver_all(box, [patch("a"), patch("b")], tmp_path / "m")
    box.start()
    try:
        assert watch(box, tmp_path, "--backlog", "--drafts", maildir, inbox=box.url).returncode == 0
        purge(box, "a@example.org")
        deliver_all(box, [patch("c")], tmp_path / "m")
        res = watch(box, tmp_path, "--drafts", maildir, inbox=box.url)
        log = res.stderr.decode()
        assert res.returncode == 0 and sum("rewritten" in ln for ln in log.splitlines()) == 1, log
        assert drafts(maildir) == ids("a", "b", "c")
    finally:
        box.stop()


# -- another process holds the state database ----------------------------------------------


HOLD = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
db.execute("COMMIT")
"""


def _hold(path: Path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE)
    assert proc.stdout.readline() == b"locked\n"
    return proc


def _daemon_through_a_lock(box, tmp_path, caplog, hold: float, *extra):
    maildir = tmp_path / "drafts"
    deliver_all(box, [patch("before")], tmp_path / "m")
    one_pass(box, tmp_path, caplog)
    deliver_all(box, [patch("during")], tmp_path / "m")
    holder = _hold(tmp_path / "state.sqlite3", hold)
    log = tmp_path / "daemon.log"
    with open(log, "wb") as err:
        daemon = subprocess.Popen(watch_cmd(tmp_path, box.inbox_dir, "--interval", "1", "--drafts", maildir, *extra),
                                  env=env_for(tmp_path), stderr=err, stdout=subprocess.DEVNULL, cwd=tmp_path)
    try:
        holder.wait(hold + 60)
        assert daemon.poll() is None, log.read_text()  # still there, after the lock
        deadline = time.monotonic() + 60
        while drafts(maildir) != ids("before", "during") and time.monotonic() < deadline:
            assert daemon.poll() is None, log.read_text()
            time.sleep(0.1)
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(60)
    text = log.read_text()
    assert daemon.returncode == 0 and "Traceback" not in text, text
    assert drafts(maildir) == ids("before", "during"), text
    assert text.count("locked by another process") == 1 and text.count("free again") == 1, text


def test_daemon_waits_for_a_locked_state(box, tmp_path, caplog):
    """--lock-wait 0.3 and a lock held 2 s: the path SQLite's default wait
    takes, only shorter."""
    _daemon_through_a_lock(box, tmp_path, caplog, 2, "--lock-wait", "0.3")


@pytest.mark.slow
def test_daemon_outlives_a_lock_held_past_30_seconds(box, tmp_path, caplog):
    """The issue's case: the default 30 s wait, a lock held for 40 s."""
    _daemon_through_a_lock(box, tmp_path, caplog, 40)


def test_once_gives_up_on_a_locked_state_in_one_line(box, tmp_path, caplog):
    deliver_all(box, [patch("a")], tmp_path / "m")
    one_pass(box, tmp_path, caplog, start="tip")
    deliver_all(box, [patch("b")], tmp_path / "m")
    holder = _hold(tmp_path / "state.sqlite3", 20)
    try:
        started = time.monotonic()
        res = watch(box, tmp_path, "--drafts", tmp_path / "drafts", "--lock-wait", "0.5")
        assert time.monotonic() - started < 15
        err = one_line(res)
        assert "locked by another process" in err and "run again later" in err, err
    finally:
        holder.kill()
        holder.wait()
    one_pass(box, tmp_path, caplog, start="tip")  # nothing was lost
    assert drafts(tmp_path / "drafts") == ids("b")


# -- who asks not to be answered ----------------------------------------------------


VGER = ("Precedence: bulk\nX-Mailing-List: linux-coco@lists.linux.dev\nList-Id: <linux-coco.lists.linux.dev>\n"
        "List-Subscribe: <mailto:linux-coco+subscribe@lists.linux.dev>\n"
        "List-Unsubscribe: <mailto:linux-coco+unsubscribe@lists.linux.dev>")
MAILMAN = ("Precedence: list\nList-Id: TDX <tdx.lists.example.org>\nList-Post: <mailto:tdx@lists.example.org>\n"
           "X-Mailman-Version: 2.1.39")
EXCHANGE = "X-Auto-Response-Suppress: DR, RN, NRN, OOF, AutoReply"


def test_precedence_and_auto_response_suppress(box, tmp_path):
    """A sender's own Precedence junk/bulk/list and X-Auto-Response-Suppress:
    All get no reply; the Precedence a list writes on every post (vger and
    lists.linux.dev: bulk; Mailman: list) and the suppress values Exchange
    stamps on people's mail do not stop one."""
    cases = {
        "junk": "Precedence: junk",
        "bulk-direct": "Precedence: bulk",
        "list-direct": "Precedence: LIST (from a script)",
        "junk-via-list": "Precedence: junk\n" + VGER.split("\n", 1)[1],
        "suppress-all": "X-Auto-Response-Suppress: All",
        "suppress-all-lower": "X-Auto-Response-Suppress: oof, all",
        "via-vger": VGER,
        "via-mailman": MAILMAN,
        "exchange": EXCHANGE,
        "exchange-via-vger": EXCHANGE + "\n" + VGER,
        "plain": "",
    }
    deliver_all(box, [patch(tag, extra=extra) for tag, extra in cases.items()], tmp_path / "m")
    res = watch(box, tmp_path, "--backlog", "--drafts", tmp_path / "d")
    log = res.stderr.decode()
    assert res.returncode == 0, log
    assert drafts(tmp_path / "d") == ids("via-vger", "via-mailman", "exchange", "exchange-via-vger", "plain"), log
    for tag, why in (("junk", "Precedence: junk"), ("bulk-direct", "Precedence: bulk (and the mail did not"),
                     ("list-direct", "Precedence: list"), ("junk-via-list", "Precedence: junk"),
                     ("suppress-all", "X-Auto-Response-Suppress: All"),
                     ("suppress-all-lower", "X-Auto-Response-Suppress: All")):
        assert f"skipped {tag}@example.org#v1: {why}" in log, (tag, log)


def test_a_hijacked_series_is_still_answered(box, tmp_path, caplog):
    """Anyone can post a "[PATCH 2/2]" into someone else's series. Its
    Precedence: junk (or its opted-out sender) silences the reply to that
    mail, not the replies to the author's patches."""
    from mails import plain_mail

    def series(tag):
        cover = f"{tag}-0@example.org"
        out = [plain_mail(f"[PATCH 0/2] x86/virt/tdx: Series {tag}", cover, "Cover.",
                          author="Alice Example <alice@example.org>").encode()]
        for i in (1, 2):
            out.append(patch_mail(f"[PATCH {i}/2] x86/virt/tdx: Part {i}", f"{tag}-{i}@example.org", code=LOOP,
                                  in_reply_to=cover).encode())
        return out

    def fake(tag, author, extra=""):
        return patch_mail("[PATCH 2/2] x86/virt/tdx: Part 2", f"fake-{tag}@example.org", code=LOOP, author=author,
                          in_reply_to=f"{tag}-0@example.org", extra_headers=extra).encode()

    junk, out = series("junk"), series("out")
    deliver_all(box, junk[:2] + [fake("junk", "Eve <eve@evil.example>", "Precedence: junk")] + junk[2:]
                + out[:2] + [fake("out", "Victim <victim+x@example.org>")] + out[2:], tmp_path / "m")
    log = one_pass(box, tmp_path, caplog, opt_out=frozenset({"victim@example.org"}))
    answered = drafts(tmp_path / "drafts")
    assert "junk-1@example.org" in answered and "out-1@example.org" in answered, log
    assert not any(a.startswith("fake-") for a in answered), log
    assert "none to <fake-junk@example.org> (Precedence: junk)" in log, log
    assert "none to <fake-out@example.org> (victim+x@example.org opted out)" in log, log


def test_a_squatted_next_version_is_still_answered(box, tmp_path, caplog):
    """Eve answers Alice's v1 with a "[PATCH v2 0/1]" cover and a patch of
    her own outside the scope, before Alice posts her real v2 (no cover,
    in reply to v1). b4 puts Alice's v2 under Eve's cover, so the series
    key (cover and version) was already decided: Alice's v2 was never
    answered. A patch that joins a decided series gets it decided again,
    and nothing is answered twice. (redteam/w01_v2_cover_squat.py)"""
    from mails import plain_mail

    now = time.time()
    alice = "Alice Example <alice@example.org>"
    v1 = patch_mail("[PATCH] x86/virt/tdx: Shut down the module", "a-v1@example.org", code=LOOP,
                    author=alice, date=formatdate(now - 600)).encode()
    deliver_all(box, [v1], tmp_path / "m")
    one_pass(box, tmp_path, caplog)
    assert drafts(tmp_path / "drafts") == ids("a-v1")
    cover = plain_mail("[PATCH v2 0/1] x86/virt/tdx: Shut down the module", "e-v2-0@example.org", "Here is v2.",
                       in_reply_to="a-v1@example.org", author="Eve <eve@evil.example>").encode()
    eves = patch_mail("[PATCH v2 1/1] Documentation: fix a typo", "e-v2-1@example.org", code="fixed",
                      path="Documentation/a.txt", in_reply_to="e-v2-0@example.org",
                      author="Eve <eve@evil.example>", date=formatdate(now - 500)).encode()
    deliver_all(box, [cover, eves], tmp_path / "m")
    one_pass(box, tmp_path, caplog)
    v2 = patch_mail("[PATCH v2] x86/virt/tdx: Shut down the module", "a-v2@example.org", code=LOOP,
                    author=alice, in_reply_to="a-v1@example.org", date=formatdate(now - 60),
                    changelog="Shut it down.\n\nChanges in v2:\n- reworded").encode()
    deliver_all(box, [v2], tmp_path / "m")
    log = one_pass(box, tmp_path, caplog)
    answered = drafts(tmp_path / "drafts")
    assert "a-v2@example.org" in answered and len(answered) == len(set(answered)), log
    assert "e-v2-1@example.org" not in answered, log  # Eve's own patch is outside the scope
    log = one_pass(box, tmp_path, caplog)  # and once only
    assert drafts(tmp_path / "drafts") == answered, log


# -- the age of a mail ---------------------------------------------------------------------


def test_a_date_in_the_future_still_expires(box, tmp_path):
    """public-inbox takes a commit's time from Received, else from Date:
    a mail with neither Received nor an honest Date is archived in 2099.
    Its reply still expires --max-age after the watcher first read it."""
    import logging

    import git

    from tdxbot.lint.engine import Options
    from tdxbot.mail.model import Address
    from tdxbot.lint.areas import TDX_SCOPE
    from tdxbot.watch import responder
    from tdxbot.watch.delivery import Sent, deliver_smtp
    from tdxbot.watch.state import State

    logging.getLogger("tdxbot").setLevel(logging.CRITICAL)
    deliver_all(box, [patch("future", date="Thu, 01 Jan 2099 00:00:00 +0000"), patch("now")], tmp_path / "m")
    epoch = git.Repo(os.path.join(box.inbox_dir, "git", "0.git"))
    assert max(c.committed_date for c in epoch.iter_commits("master")) > time.time() + 50 * 365 * 86400
    state = State(str(tmp_path / "s.sqlite3"))
    settings = responder.Settings(Address("Bot", "bot@example.org"), TDX_SCOPE, 0, frozenset(),
                                  Options(select=frozenset({RULE})))
    responder.begin(state, box.inbox_dir, responder.Start(backlog=True))
    responder.ingest(state, box.inbox_dir)
    responder.decide(state, settings, time.time())
    assert len(state.planned()) == 2
    sent = []

    def send(raw, sender, rcpts, before_data):
        sent.append(email.message_from_bytes(raw, policy=policy.default)["In-Reply-To"])
        return Sent({})

    # Eight days on, past the default seven: neither reply goes out.
    assert deliver_smtp(state, send, 100, time.time() + 8 * 86400) == 0 and not sent
    states = dict(state.db.execute("SELECT patch_msgid, state FROM replies"))
    assert states == {"future@example.org": "expired", "now@example.org": "expired"}, states
    state.close()


# -- the state's files --------------------------------------------------------------------


def test_a_fifo_as_the_state_is_refused(box, tmp_path):
    fifo = tmp_path / "state.sqlite3"
    os.mkfifo(fifo)
    res = subprocess.run([sys.executable, "-m", "tdxbot", "watch", "--status", "--state", str(fifo)],
                         capture_output=True, timeout=30)
    assert "FIFO" in one_line(res) and "not a regular file" in res.stderr.decode()
    res = watch(box, tmp_path, "--drafts", tmp_path / "d", timeout=30)
    assert "FIFO" in one_line(res)
    fifo.unlink()
    assert watch(box, tmp_path, "--drafts", tmp_path / "d").returncode == 0
    wal = tmp_path / "state.sqlite3-wal"
    if wal.exists():
        wal.unlink()
    os.mkfifo(wal)
    res = subprocess.run([sys.executable, "-m", "tdxbot", "watch", "--status", "--state",
                          str(tmp_path / "state.sqlite3")], capture_output=True, timeout=30)
    assert "-wal: not a regular file (a FIFO)" in one_line(res)
    (tmp_path / "dir.sqlite3").mkdir()
    res = subprocess.run([sys.executable, "-m", "tdxbot", "watch", "--status", "--state",
                          str(tmp_path / "dir.sqlite3")], capture_output=True, timeout=30)
    assert "a directory" in one_line(res)


def test_a_planted_lock_symlink_is_not_followed(box, tmp_path):
    victim = tmp_path / "precious.txt"
    victim.write_text("do not touch\n")
    lock = tmp_path / "state.sqlite3.lock"
    lock.symlink_to(victim)
    res = watch(box, tmp_path, "--drafts", tmp_path / "d")
    assert "symbolic link" in one_line(res)
    assert victim.read_text() == "do not touch\n" and lock.is_symlink()
    lock.unlink()
    lock.symlink_to(tmp_path / "absent")  # dangling: O_CREAT would make the target
    assert "symbolic link" in one_line(watch(box, tmp_path, "--drafts", tmp_path / "d"))
    assert not (tmp_path / "absent").exists()
    lock.unlink()
    os.link(victim, lock)  # a hard link: the pid would overwrite the victim
    assert "hard links" in one_line(watch(box, tmp_path, "--drafts", tmp_path / "d"))
    assert victim.read_text() == "do not touch\n"
    lock.unlink()
    os.mkfifo(lock)
    res = watch(box, tmp_path, "--drafts", tmp_path / "d", timeout=30)
    assert "FIFO" in one_line(res)
    lock.unlink()
    assert watch(box, tmp_path, "--drafts", tmp_path / "d").returncode == 0
    assert lock.is_file() and not lock.is_symlink()


# -- opt-out -------------------------------------------------------------------------------------


def _recipients(raw: bytes) -> set[str]:
    msg = email.message_from_bytes(raw, policy=policy.default)
    return {a.addr_spec.lower() for h in ("To", "Cc") if msg[h] for a in msg[h].addresses}


def test_opted_out_people_get_nothing(box, tmp_path):
    """victim@example.org and v.ictim@gmail.com opted out. Whatever header
    names them, in whatever case, with whatever +tag, they are not To and
    not Cc; a series they wrote gets no reply at all. The others on the
    thread still get theirs."""
    alice = "Alice Example <alice@example.org>"
    cases = {
        "from-tagged": ("Victim <victim+tdx@example.org>", ""),
        "from-upper": ("Victim <VICTIM@EXAMPLE.ORG>", ""),
        "from-gmail-dots": ("Victim <V.I.C.T.I.M+x@googlemail.com>", ""),
        "reply-to": (alice, "Reply-To: Victim <victim@example.org>"),
        "reply-to-tagged": (alice, "Reply-To: victim+lists@Example.Org"),
        "cc": (alice, "Cc: Bob <bob@example.org>, Victim <Victim@example.ORG>"),
        "cc-tagged": (alice, "Cc: victim+a+b@example.org, carol@example.org"),
        "cc-gmail": (alice, "Cc: vic.tim@gmail.com"),
        "cc-encoded-name": (alice, "Cc: =?utf-8?q?V=C3=AFctim?= <victim+x@example.org>"),
        "to": (alice, "To: Victim <victim@example.org>"),
        "cc-group": (alice, "Cc: friends: victim@example.org, dave@example.org;"),
        "cc-route": (alice, "Cc: <@relay.example:victim@example.org>"),
        "cc-percent": (alice, "Cc: victim%example.org@relay.example"),
    }
    deliver_all(box, [patch(tag, author=author, extra=extra) for tag, (author, extra) in cases.items()],
                tmp_path / "m")
    recorder = Recorder()
    with smtp_server(recorder) as port:
        smtp_config(tmp_path, port)
        res = watch(box, tmp_path, "--send", "--backlog", "--opt-out", "victim@example.org",
                    "--opt-out", "Victim <victim@gmail.com>")
        log = res.stderr.decode()
        assert res.returncode == 0, log
    answered = {}
    for _, rcpt_tos, content in recorder.received:
        parent = str(email.message_from_bytes(content, policy=policy.default)["In-Reply-To"]).strip("<>")
        rcpts = _recipients(content)
        assert {r.lower() for r in rcpt_tos} == rcpts
        answered[parent.split("@")[0]] = rcpts
    assert sorted(answered) == sorted(t for t in cases if not t.startswith("from-")), (answered, log)
    for tag, rcpts in answered.items():
        assert not any("victim" in r or "vic.tim" in r for r in rcpts), (tag, rcpts)
        assert "alice@example.org" in rcpts, (tag, rcpts)
    assert "bob@example.org" in answered["cc"] and "carol@example.org" in answered["cc-tagged"]
    for tag in ("from-tagged", "from-upper", "from-gmail-dots"):
        assert f"skipped {tag}@example.org#v1:" in log and "opted out" in log, log


def test_opting_out_after_a_reply_was_planned(box, tmp_path):
    """A reply planned (the server was down) before its recipient opted out
    is not sent to them: it is withdrawn."""
    from pi_server import free_port

    deliver_all(box, [patch("cc", extra="Cc: victim@example.org")], tmp_path / "m")
    smtp_config(tmp_path, free_port())
    assert watch(box, tmp_path, "--send", "--backlog").returncode == 0
    db = sqlite3.connect(tmp_path / "state.sqlite3")
    db.execute("UPDATE replies SET next_try = 0")
    db.commit()
    db.close()
    recorder = Recorder()
    with smtp_server(recorder) as port:
        smtp_config(tmp_path, port)
        res = watch(box, tmp_path, "--send", "--opt-out", "victim+later@example.org")
        assert res.returncode == 0 and "victim@example.org opted out" in res.stderr.decode(), res.stderr.decode()
    assert recorder.received == []


def test_opt_out_must_be_an_address(box, tmp_path):
    res = watch(box, tmp_path, "--drafts", tmp_path / "d", "--opt-out", "nobody")
    assert "is not a mail address" in one_line(res)


# -- triage, piece by piece -------------------------------------------------------------------


@pytest.mark.parametrize("headers, why", [
    ("Precedence: junk", "Precedence: junk"),
    ("Precedence: auto_reply", "Precedence: auto_reply"),
    ("Precedence: bulk", "Precedence: bulk"),
    ("Precedence: (a comment) Bulk", "Precedence: bulk"),
    ("Precedence: list", "Precedence: list"),
    ("Precedence: bulk\nList-Id: <tdx.lists.example.org>", "Precedence: bulk"),  # public-inbox adds List-Id
    ("Precedence: bulk\nList-Unsubscribe: <mailto:x@example.org>", None),
    ("Precedence: list\nX-BeenThere: tdx@lists.example.org", None),
    ("Precedence: junk\nList-Post: <mailto:tdx@lists.example.org>", "Precedence: junk"),
    ("Precedence: first-class", None),
    ("X-Auto-Response-Suppress: All", "X-Auto-Response-Suppress: All"),
    ("X-Auto-Response-Suppress: DR, OOF;ALL", "X-Auto-Response-Suppress: All"),
    ("X-Auto-Response-Suppress: DR, RN, NRN, OOF, AutoReply", None),
    ("X-Auto-Response-Suppress: OOF", None),
    ("X-Auto-Response-Suppress: None", None),
])
def test_automated_reads_precedence_and_suppress(headers, why):
    from tdxbot.mail.model import Address
    from tdxbot.watch.triage import automated

    raw = patch("t", extra=headers)
    got = automated(raw, Address("Bot", "bot@example.org"))
    assert (got is None) if why is None else (got is not None and got.startswith(why)), got


@pytest.mark.parametrize("addr, key", [
    ("victim@example.org", "victim@example.org"),
    ("Victim+TDX@Example.ORG", "victim@example.org"),
    ("victim+a+b@example.org.", "victim@example.org"),
    ("v.i.c.t.i.m@gmail.com", "victim@gmail.com"),
    ("victim+x@googlemail.com", "victim@gmail.com"),
    ("v.ictim@example.org", "v.ictim@example.org"),  # dots count outside Gmail
])
def test_address_key(addr, key):
    from tdxbot.watch.triage import address_key

    assert address_key(addr) == key


# -- a mirror that trickles ---------------------------------------------------------------


def test_a_mirror_that_trickles_refs_forever_ends_at_the_deadline(tmp_path, monkeypatch):
    """A server that answers git's ref request and then sends a valid ref
    line a few bytes at a time stays above git's low-speed limit forever;
    each clone or fetch of an epoch has one deadline, and its git
    processes go with it."""
    import socket
    import threading

    from tdxbot.common import UserError
    from tdxbot.watch import inbox as inbox_mod

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    stop = []

    def pkt(t: bytes) -> bytes:
        return b"%04x" % (len(t) + 4) + t

    def handle(conn):
        try:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-git-upload-pack-advertisement\r\n\r\n")
            data, i = pkt(b"# service=git-upload-pack\n") + b"0000", 0
            while not stop:
                while len(data) < 4:
                    i += 1
                    data += pkt(b"%040x refs/heads/b%d" % (i, i) + (b"\0multi_ack\n" if i == 1 else b"\n"))
                conn.sendall(data[:4])
                data = data[4:]
                time.sleep(0.05)
        except OSError:
            pass
        finally:
            conn.close()

    def serve():
        while not stop:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    monkeypatch.setattr(inbox_mod, "MIRROR_SECONDS", 2.0)
    started = time.monotonic()
    try:
        with pytest.raises(UserError, match=r"cannot mirror the inbox \(timed out after 2s\)"):
            inbox_mod.mirror(f"http://127.0.0.1:{srv.getsockname()[1]}/lkml", str(tmp_path / "cache"))
    finally:
        stop.append(True)
        srv.close()
    assert time.monotonic() - started < 15
    assert not list((tmp_path / "cache").glob("*/git/0.git")), "a cut clone is no mirror"
