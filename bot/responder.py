"""The mailing-list auto-responder: follow an archive, review each new TDX
series once, draft (or send) the replies.

One pass: read new messages into the state database; for each thread that
changed or still waits, assemble its series with b4; decide each series
once it is complete or has settled (review, or skip with a reason); plan
its replies; deliver what is planned. Every decision is logged.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from typing import Callable, NamedTuple

from . import __version__
from .errors import UserError
from .model import Address
from .state import State

log = logging.getLogger("tdxbot.watch")
AUTOMATED_FROM = re.compile(r"mailer-daemon|postmaster|noreply|no-reply", re.I)
OWN_HEADER = "X-Tdxbot"


class Settings(NamedTuple):
    sender: Address
    scope: tuple[str, ...]
    settle: float  # seconds a partial series waits
    opt_out: frozenset[str]
    options: object  # engine.Options


def _headers(raw: bytes) -> dict[str, str]:
    """The few headers routing needs, from the header block alone."""
    from .mailparse import decode_header_value

    head = raw.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    out: dict[str, str] = {}
    last = None
    for line in head.replace("\r\n", "\n").split("\n"):
        if line[:1] in (" ", "\t") and last:
            out[last] += " " + line.strip()
            continue
        name, sep, value = line.partition(":")
        if sep and name and " " not in name:
            last = name.lower()
            out.setdefault(last, value.strip())
    return {k: decode_header_value(v) for k, v in out.items()}


def _ids(value: str) -> list[str]:
    return re.findall(r"<([^<>\s]+)>", value or "")


def route(raw: bytes) -> tuple[str, str, bool] | None:
    """(msgid, thread root, is a patch) for a message; None to ignore it."""
    from .mailparse import parse_subject

    h = _headers(raw)
    ids = _ids(h.get("message-id", ""))
    if not ids:
        return None
    msgid = ids[0]
    refs = _ids(h.get("references", ""))
    parent = _ids(h.get("in-reply-to", ""))
    root = refs[0] if refs else parent[0] if parent else msgid
    _, tags, _, _, _, is_reply = parse_subject(h.get("subject", ""))
    is_patch = not is_reply and any(t.upper() == "PATCH" for t in tags)
    return msgid, root, is_patch


def automated(raw: bytes, sender: Address) -> str | None:
    """Why a mail must get no reply from a bot, or None."""
    h = _headers(raw)
    auto = h.get("auto-submitted", "no").strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    if OWN_HEADER.lower() in h:
        return "one of our own mails"
    from_ = h.get("from", "")
    if sender.email and sender.email.lower() in from_.lower():
        return "one of our own mails"
    if AUTOMATED_FROM.search(from_) or "multipart/report" in h.get("content-type", "").lower():
        return "a bounce or notification"
    if h.get("precedence", "").lower() in ("bulk", "junk", "list") and "[patch" not in h.get("subject", "").lower():
        return f"Precedence: {h.get('precedence')}"
    return None


def ingest(state: State, inbox: str, progress: bool = False) -> int:
    from .inbox import new_messages

    count = 0
    stream = new_messages(inbox, state.marks())
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(desc="reading archive", unit=" msg", leave=False)
    for item in stream:
        routed = route(item.raw) if item.raw else None
        message = (routed[0], routed[1], item.raw, routed[2]) if routed else None
        state.ingest(item.epoch, item.commit, message)
        if item.raw:
            count += 1
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    return count


def _thread_plans(raws: list[bytes]):
    """The thread's parsed messages, and b4's plan of each revision in it
    with whether b4 finds that revision complete."""
    from .b4glue import plan_revisions
    from .sources import parse_message

    messages = []
    for raw in raws:
        try:
            messages.append(parse_message(raw, "archive"))
        except UserError:
            continue
    return messages, plan_revisions(messages)


def _series_key(root: str, messages, plan) -> str:
    """The cover letter's Message-ID (else the first patch's) and the version."""
    from .mailparse import message_id

    first = plan.cover if plan.cover is not None else (plan.patches[0] if plan.patches else None)
    anchor = (message_id(messages[first]) if first is not None else None) or root
    return f"{anchor}#v{plan.version}"


def _reply_name(patch_msgid: str) -> str:
    return "tdxbot-" + hashlib.sha1(patch_msgid.encode("utf-8", "replace")).hexdigest()[:20]


def decide_thread(state: State, root: str, first_seen: float, settings: Settings, now: float) -> bool:
    """Decide every series of one thread that is ready; True if the thread
    still waits for something."""
    from .engine import review_series
    from .replies import draft_replies, message_bytes
    from .areas import path_matches
    from .assembly import build_series

    raws = state.thread_messages(root)
    if not raws:
        return False
    messages, plans = _thread_plans(raws)
    waiting = False
    for plan, complete in plans:
        key = _series_key(root, messages, plan)
        if state.series_status(key) is not None:
            continue
        if not complete and now - first_seen < settings.settle:
            waiting = True
            continue
        try:
            series = build_series(messages, plan.version, root, plan)
        except UserError as exc:
            state.decide(key, root, "skipped", f"unusable: {exc}")
            log.info("skipped %s: unusable (%s)", key, exc)
            continue
        why = None
        for patch, raw in _patch_raws(series, raws):
            why = automated(raw, settings.sender) or why
            if patch.author.email.lower() in settings.opt_out:
                why = f"{patch.author.email} opted out"
        if why:
            state.decide(key, root, "skipped", why)
            log.info("skipped %s: %s", key, why)
            continue
        if not any(path_matches(f.path, settings.scope) for p in series.patches for f in p.files):
            state.decide(key, root, "skipped", "out of scope")
            log.info("skipped %s: out of scope (%s)", key, series.title)
            continue
        review = review_series(series, settings.options)
        done = state.replied_patches()
        planned = []
        extra = ((OWN_HEADER, __version__), ("Auto-Submitted", "auto-generated"))
        for draft in draft_replies(review, settings.sender, _date(now), extra_headers=extra):
            if not draft.in_reply_to or draft.in_reply_to in done:
                continue
            name = _reply_name(draft.in_reply_to)
            msg = draft.message
            del msg["Message-ID"]
            msg["Message-ID"] = f"<{name}@{settings.sender.email.split('@')[-1] or 'tdxbot.invalid'}>"
            planned.append((draft.in_reply_to, name, message_bytes(msg)))
        kept = sum(1 for f in review.findings if not f.already_raised and f.severity != "info")
        state.decide(key, root, "reviewed", f"{len(review.findings)} findings", planned)
        log.info("reviewed %s: %s, %d findings (%d for the replies), %d replies planned",
                 key, series.title, len(review.findings), kept, len(planned))
    return waiting


def _date(now: float):
    from datetime import datetime, timezone

    return datetime.fromtimestamp(now, timezone.utc)


def _patch_raws(series, raws: list[bytes]):
    by_id = {}
    for raw in raws:
        routed = route(raw)
        if routed:
            by_id[routed[0]] = raw
    for patch in series.patches:
        if patch.message_id in by_id:
            yield patch, by_id[patch.message_id]


def decide(state: State, settings: Settings, now: float) -> None:
    for root, first_seen in state.open_threads():
        if not decide_thread(state, root, first_seen, settings, now):
            state.close_thread(root)


# -- delivery -----------------------------------------------------------------


def deliver_maildir(state: State, folder: str) -> int:
    """Planned replies into a maildir: tmp/ then rename into new/, under a
    name fixed at planning time, so a repeat after a crash finds the file."""
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(folder, sub), exist_ok=True)
    done = 0
    for patch_msgid, name, raw in state.planned():
        if not _in_maildir(folder, name):
            for stale in os.listdir(os.path.join(folder, "tmp")):
                if stale.startswith(name + "."):  # left by a run that was killed mid-write
                    os.unlink(os.path.join(folder, "tmp", stale))
            tmp = os.path.join(folder, "tmp", f"{name}.{os.getpid()}")
            with open(tmp, "wb") as fh:
                fh.write(raw)
                fh.flush()
                os.fsync(fh.fileno())
            os.rename(tmp, os.path.join(folder, "new", name))
            log.info("drafted %s (reply to <%s>)", os.path.join(folder, "new", name), patch_msgid)
        state.set_reply_state(patch_msgid, "drafted")
        done += 1
    return done


def _in_maildir(folder: str, name: str) -> bool:
    if os.path.exists(os.path.join(folder, "new", name)):
        return True
    cur = os.path.join(folder, "cur")
    return any(f == name or f.startswith(name + ":") for f in os.listdir(cur))


def deliver_smtp(state: State, send: Callable[[bytes], None], per_hour: int, now: float) -> int:
    """Send planned replies, at most per_hour in any hour. A reply is marked
    'sending' before the SMTP transaction: after a crash in between it is
    not sent again (a lost reply beats a duplicate on a public list)."""
    sent = 0
    for patch_msgid, name, raw in state.planned():
        if state.sent_since(now - 3600) >= per_hour:
            log.info("rate limit of %d per hour reached; %s waits", per_hour, name)
            break
        state.set_reply_state(patch_msgid, "sending")
        send(raw)
        state.set_reply_state(patch_msgid, "sent")
        log.info("sent reply to <%s>", patch_msgid)
        sent += 1
    return sent


def smtp_sender(config) -> Callable[[bytes], None]:
    """Send with git's sendemail.* settings (server, port, encryption, user);
    the password comes from TDXBOT_SMTP_PASSWORD or `git credential fill`."""
    import smtplib
    from email.parser import BytesParser
    from email.utils import getaddresses

    server = config.get("sendemail.smtpserver")
    if not server:
        raise UserError("--send needs git config sendemail.smtpServer")
    if server.startswith("/"):
        raise UserError("sendemail.smtpServer is a local sendmail program; tdxbot sends over SMTP only")
    encryption = (config.get("sendemail.smtpencryption") or "").lower()
    port = int(config.get("sendemail.smtpserverport") or (465 if encryption == "ssl" else
                                                          587 if encryption == "tls" else 25))
    user = config.get("sendemail.smtpuser")
    password = os.environ.get("TDXBOT_SMTP_PASSWORD")
    if user and password is None:
        password = _git_credential(server, port, user)

    def send(raw: bytes) -> None:
        msg = BytesParser().parsebytes(raw)
        rcpts = [a for _, a in getaddresses(msg.get_all("To", []) + msg.get_all("Cc", [])) if a]
        sender = getaddresses([msg.get("From", "")])[0][1]
        try:
            cls = smtplib.SMTP_SSL if encryption == "ssl" else smtplib.SMTP
            with cls(server, port, timeout=60) as smtp:
                if encryption == "tls":
                    smtp.starttls()
                if user:
                    smtp.login(user, password or "")
                # smtplib fixes line ends of str messages only; SMTP wants CRLF.
                smtp.sendmail(sender, rcpts, raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
        except (OSError, smtplib.SMTPException) as exc:
            raise UserError(f"SMTP {server}:{port}: {exc}") from None

    return send


def _git_credential(server: str, port: int, user: str) -> str | None:
    import subprocess

    query = f"protocol=smtp\nhost={server}:{port}\nusername={user}\n\n"
    try:
        out = subprocess.run(["git", "credential", "fill"], input=query.encode(), capture_output=True,
                             timeout=30, env=dict(os.environ, GIT_TERMINAL_PROMPT="0")).stdout.decode()
    except (OSError, subprocess.SubprocessError):
        return None
    for line in out.splitlines():
        if line.startswith("password="):
            return line.split("=", 1)[1]
    return None


def run_once(state: State, inbox: str, settings: Settings, deliver: Callable[[], int],
             progress: bool = False) -> None:
    n = ingest(state, inbox, progress)
    if n:
        log.info("read %d new messages", n)
    decide(state, settings, time.time())
    deliver()


def follow(state: State, inbox_arg: str, settings: Settings, deliver: Callable[[], int],
           once: bool, interval: float) -> None:
    """Process the archive, then poll it every interval seconds until SIGTERM
    (or once). A URL is mirrored into the cache before each pass."""
    import signal
    import sys

    from .inbox import epochs, mirror

    remote = inbox_arg.startswith(("http://", "https://"))
    if not remote:
        epochs(inbox_arg)  # fail early on a folder that is no inbox
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    progress = sys.stderr.isatty()
    cache = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
                         "tdxbot", "mirrors")
    while True:
        inbox = mirror(inbox_arg, cache) if remote else inbox_arg
        run_once(state, inbox, settings, deliver, progress)
        if once or stop:
            break
        deadline = time.monotonic() + interval
        while time.monotonic() < deadline and not stop:
            time.sleep(min(0.2, interval))
        if stop:
            break
