"""Delivering the responder's planned replies: into a maildir, or over SMTP.

Over SMTP the one question that matters is whether a failure may have
delivered the mail. Until the server has answered DATA with 354 nothing
can have been delivered (a refused connection, a failed TLS handshake or
login, a 4xx or 5xx to MAIL or RCPT, a refused DATA); a 4xx or 5xx after
the data was sent is also a refusal. Those leave the reply planned with
the reason and a later retry time. A connection lost after the data went
out, before the server's answer, may have delivered it: that reply is
recorded as maybe sent and never sent again (a duplicate on a public list
is worse than a missing reply, and the log says which it was).
"""
from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable

from ..common import NamedTuple, UserError
from ..mail import UnsafeReply, decode_header_value, envelope, printable
from .state import State
from .triage import opted_out

log = logging.getLogger("tdxbot.watch")

MAX_ATTEMPTS = 8
DEFAULT_MAX_AGE = 7 * 86400


def backoff(attempts: int) -> float:
    """Seconds before the next try after attempts failures: 2 minutes,
    doubling, at most 6 hours."""
    return min(120.0 * 2 ** (attempts - 1), 6 * 3600.0)


# -- maildir ---------------------------------------------------------------------


def deliver_maildir(state: State, folder: str, opt_out: frozenset[str] = frozenset()) -> int:
    """Planned replies into a maildir: tmp/ then rename into new/, under a
    name fixed at planning time, so a repeat after a crash finds the file.
    A temporary file has this process's id and a random part in its name:
    another writer's file is never taken for a stale one of ours."""
    try:
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(folder, sub), exist_ok=True)
    except OSError as exc:
        raise UserError(f"{folder}: cannot create the maildir: {exc.strerror or exc}") from None
    done = 0
    for patch_msgid, name, raw in state.planned():
        who = _opted_out_rcpt(raw, opt_out)
        if who is not None and not _in_maildir(folder, name):
            state.set_reply_state(patch_msgid, "withdrawn", f"{who} opted out")
            log.info("not drafting the reply to <%s>: %s opted out", printable(patch_msgid), who)
            continue
        if not _in_maildir(folder, name):
            _remove_stale(folder, name)
            tmp = os.path.join(folder, "tmp", f"{name}.{os.getpid()}.{secrets.token_hex(4)}")
            try:
                with open(tmp, "wb") as fh:
                    fh.write(raw)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.rename(tmp, os.path.join(folder, "new", name))
            except OSError as exc:
                raise UserError(f"{folder}: cannot write a draft: {exc.strerror or exc}") from None
            log.info("drafted %s (reply to <%s>)", os.path.join(folder, "new", name), printable(patch_msgid))
        state.set_reply_state(patch_msgid, "drafted")
        done += 1
    return done


def _remove_stale(folder: str, name: str) -> None:
    """Remove what a killed run of ours left in tmp/ for this name: files
    whose process is gone."""
    for stale in os.listdir(os.path.join(folder, "tmp")):
        if not stale.startswith(name + "."):
            continue
        pid = stale[len(name) + 1:].split(".", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            try:
                os.unlink(os.path.join(folder, "tmp", stale))
            except FileNotFoundError:
                pass


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # this run has no temporary file open yet
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _in_maildir(folder: str, name: str) -> bool:
    if os.path.exists(os.path.join(folder, "new", name)):
        return True
    cur = os.path.join(folder, "cur")
    return any(f == name or f.startswith(name + ":") for f in os.listdir(cur))


# -- SMTP ------------------------------------------------------------------------


class SendFailed(Exception):
    """A delivery that did not certainly succeed.
    certain: nothing was delivered (retry later); else maybe delivered.
    connection: the server or the session failed, not this one mail (the
    other replies wait for the next pass)."""

    def __init__(self, reason: str, certain: bool, connection: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.certain = certain
        self.connection = connection


class Sent(NamedTuple):
    refused: dict  # recipients the server refused, when it took others


Sender = Callable[[bytes, str, list, Callable[[], None]], Sent]


def deliver_smtp(state: State, send: Sender, per_hour: int, now: float,
                 max_age: float = DEFAULT_MAX_AGE, opt_out: frozenset[str] = frozenset()) -> int:
    """Send the planned replies whose time has come, at most per_hour in
    any hour, none to a mail older than max_age seconds. Every outcome is
    recorded with its reason; the pass goes on after a failure of one mail
    and stops at a failure of the server (the rest wait for the next)."""
    sent = 0
    for patch_msgid, name, raw in state.planned(now):
        if state.sent_since(now - 3600) >= per_hour:
            log.info("rate limit of %d per hour reached; %s waits", per_hour, name)
            break
        who = printable(patch_msgid)
        age = _age(state, patch_msgid, now)
        if age is not None and age > max_age:
            reason = f"the patch is {age / 86400:.1f} days old, over the {max_age / 86400:g}-day limit"
            state.set_reply_state(patch_msgid, "expired", reason)
            log.info("not sending the reply to <%s>: %s", who, reason)
            continue
        try:
            sender, rcpts = envelope(raw)
        except UnsafeReply as exc:
            state.set_reply_state(patch_msgid, "failed", str(exc))
            log.warning("not sending the reply to <%s>: %s", who, exc)
            continue
        out = _opted_out_rcpt(raw, opt_out)
        if out is not None:
            state.set_reply_state(patch_msgid, "withdrawn", f"{out} opted out")
            log.info("not sending the reply to <%s>: %s opted out", who, out)
            continue
        try:
            result = send(raw, sender, rcpts, lambda: state.set_reply_state(patch_msgid, "sending"))
        except SendFailed as exc:
            if exc.certain:
                now_state = state.retry_later(patch_msgid, exc.reason, now, backoff, MAX_ATTEMPTS)
                log.warning("reply to <%s> not sent: %s (%s)", who, exc.reason,
                            "giving up" if now_state == "failed" else "will retry")
            else:
                state.set_reply_state(patch_msgid, "maybe-sent", exc.reason)
                log.warning("reply to <%s> maybe sent: %s; it will not be sent again", who, exc.reason)
            if exc.connection:
                break
            continue
        note = ""
        if result.refused:
            note = "refused for " + ", ".join(sorted(result.refused))
        state.set_reply_state(patch_msgid, "sent", note or None)
        log.info("sent reply to <%s>%s", who, f" ({note})" if note else "")
        sent += 1
    return sent


def _age(state: State, patch_msgid: str, now: float) -> float | None:
    """Seconds since the patch reached the archive: the commit time
    public-inbox gave it (its Date when the archive time is unknown), but
    never less than the time since this state first stored it. public-inbox
    takes the commit time from the top Received header, or from Date when
    there is none, so a sender can set it far in the future; the time we
    first read the mail is ours. None when nothing is known."""
    archived, seen, raw = state.message_time(patch_msgid)
    if archived is None and raw:
        from email.utils import parsedate_to_datetime

        head = raw.split(b"\n\n", 1)[0].decode("ascii", "replace")
        for line in head.splitlines():
            if line.lower().startswith("date:"):
                try:
                    archived = parsedate_to_datetime(decode_header_value(line[5:])).timestamp()
                except (TypeError, ValueError, IndexError, OverflowError):
                    pass
                break
    known = [t for t in (archived, seen) if t is not None]
    return now - min(known) if known else None


def _opted_out_rcpt(raw: bytes, opt_out: frozenset[str]) -> str | None:
    """The first recipient of a stored reply who is on the opt-out list now
    (the reply may have been planned before they opted out), or None."""
    if not opt_out:
        return None
    try:
        _, rcpts = envelope(raw)
    except UnsafeReply:
        return None  # refused where it is sent
    return next((r for r in rcpts if opted_out(r, opt_out)), None)


def smtp_sender(config, timeout: float = 60.0) -> Sender:
    """Send with git's sendemail.* settings (server, port, encryption, user);
    the password comes from TDXBOT_SMTP_PASSWORD or `git credential fill`."""
    server = config.get("sendemail.smtpserver")
    if not server:
        raise UserError("--send needs git config sendemail.smtpServer")
    if server.startswith("/"):
        raise UserError("sendemail.smtpServer is a local sendmail program; tdxbot sends over SMTP only")
    encryption = (config.get("sendemail.smtpencryption") or "").lower()
    if encryption not in ("", "none", "ssl", "tls"):
        raise UserError(f"sendemail.smtpEncryption: {encryption!r} is not ssl or tls")
    port_text = config.get("sendemail.smtpserverport")
    try:
        port = int(port_text) if port_text else (465 if encryption == "ssl" else 587 if encryption == "tls" else 25)
    except ValueError:
        raise UserError(f"sendemail.smtpServerPort: {port_text!r} is not a port number") from None
    if not 0 < port < 65536:
        raise UserError(f"sendemail.smtpServerPort: {port} is not a port number")
    user = config.get("sendemail.smtpuser")
    password = os.environ.get("TDXBOT_SMTP_PASSWORD")
    if user and password is None:
        password = _git_credential(server, port, user)

    def send(raw: bytes, sender: str, rcpts: list, before_data: Callable[[], None]) -> Sent:
        return _transaction(server, port, encryption, user, password, timeout, raw, sender, rcpts,
                            before_data)

    return send


def _transaction(server, port, encryption, user, password, timeout, raw, sender, rcpts, before_data) -> Sent:
    """One SMTP transaction, step by step, so that each failure is known
    to have happened before or after the data was handed over."""
    import re
    import smtplib

    where = f"SMTP {server}:{port}"
    try:
        smtp = (smtplib.SMTP_SSL if encryption == "ssl" else smtplib.SMTP)(server, port, timeout=timeout)
    except (OSError, smtplib.SMTPException) as exc:
        raise SendFailed(f"{where}: cannot connect ({_short(exc)})", certain=True, connection=True) from None
    try:
        try:
            smtp.ehlo_or_helo_if_needed()
            if encryption == "tls":
                smtp.starttls()
                smtp.ehlo()
            if user:
                smtp.login(user, password or "")
        except (OSError, smtplib.SMTPException) as exc:
            raise SendFailed(f"{where}: session failed ({_short(exc)})", certain=True, connection=True) from None
        try:
            code, text = smtp.mail(sender)
            if code != 250:
                raise SendFailed(f"{where}: sender refused: {code} {_text(text)}", certain=True)
            refused = {}
            for rcpt in rcpts:
                code, text = smtp.rcpt(rcpt)
                if code not in (250, 251):
                    refused[rcpt] = f"{code} {_text(text)}"
            if len(refused) == len(rcpts):
                raise SendFailed(f"{where}: every recipient refused ({'; '.join(refused.values())})",
                                 certain=True)
            before_data()
            code, text = smtp.docmd("DATA")
            if code != 354:
                raise SendFailed(f"{where}: DATA refused: {code} {_text(text)}", certain=True)
        except SendFailed:
            _reset(smtp)
            raise
        except (OSError, smtplib.SMTPException) as exc:
            raise SendFailed(f"{where}: connection failed before the data ({_short(exc)})", certain=True,
                             connection=True) from None
        # From here the server may have the mail.
        data = re.sub(rb"(?m)^\.", b"..", raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
        if not data.endswith(b"\r\n"):
            data += b"\r\n"
        try:
            smtp.send(data + b".\r\n")
            code, text = smtp.getreply()
        except (OSError, smtplib.SMTPException) as exc:
            raise SendFailed(f"{where}: connection lost after the data was sent ({_short(exc)})",
                             certain=False, connection=True) from None
        if code != 250:
            raise SendFailed(f"{where}: message refused: {code} {_text(text)}", certain=True)
        return Sent(refused)
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


def _reset(smtp) -> None:
    import smtplib

    try:
        smtp.rset()
    except (OSError, smtplib.SMTPException):
        pass


def _text(value) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return printable(" ".join(text.split()))[:200]


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return printable(text)[:200]


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
