"""Everything tdxbot asks of b4, in one place.

b4 has no stable library API: tdxbot uses b4 0.16's LoreMailbox to put a
thread's series together (cover letter, N/M numbering, versions, partial
re-rolls) and b4 prep's own view of a prep branch (cover letter and
patches). Other commits become mails without b4: one `git log` for the
whole range (gitsource.commit_mails), where b4 runs two git processes per
commit. Every b4 name tdxbot touches is listed in B4_INTERNALS, and a
test checks each against the installed b4, so an upgrade that changes one
fails in CI instead of in a user's review.

b4 is imported inside the functions: `tdxbot b4-check` starts once per patch
and a lone patch never needs b4.
"""
from __future__ import annotations

import io
import os
import re
import sys
from contextlib import redirect_stderr, redirect_stdout

from ..common import NamedTuple, UserError, lazy_re
from .parse import decode_header_value, forwarded_at, message_id
from .safe import printable
from .subjects import is_patch_subject, parse_subject

TYPE_CHECKING = False  # typing's constant, without importing typing
if TYPE_CHECKING:
    from email.message import Message

# (module, attribute path, what tdxbot needs of it). Parameters named after
# a colon must be accepted by that callable.
B4_INTERNALS = (
    ("b4", "setup_config", "reads b4's configuration once (attestation off)"),
    ("b4", "can_network", "set False: b4 must never fetch anything itself"),
    ("b4", "DIFF_RE", "tells whether a body holds a diff"),
    ("b4", "DIFFSTAT_RE", "finds the diffstat of a body"),
    ("b4", "LoreMailbox", "assembles a thread into series"),
    ("b4", "LoreMailbox.add_message", "adds one email.message.Message"),
    ("b4", "LoreMailbox.get_series:revision,codereview_trailers", "one revision's series"),
    ("b4", "LoreMessage.get_payload", "the whole body of a mail, to restore a trimmed one"),
    ("b4.ez", "is_prep_branch", "is this a `b4 prep` branch"),
    ("b4.ez", "get_prep_branch_as_patches:movefrom,addtracking,expandprereqs",
     "the prep branch as cover letter plus patches"),
    ("b4.ez", "get_series_start", "where a prep series starts, for the range to check instead"),
)
# Attributes of objects b4 builds at run time (checked on a real mailbox).
B4_RUNTIME_ATTRIBUTES = (
    ("LoreMailbox", ("series", "msgid_map")),
    ("LoreSeries", ("patches", "complete", "expected")),
    ("LoreMessage", ("msg", "body", "has_diff", "_git_patch_id")),
)

_configured = False


def setup() -> None:
    """Configure b4 for use as a library: quiet, offline, no attestation."""
    global _configured
    import argparse
    import logging

    import b4

    logging.getLogger("b4").setLevel(logging.CRITICAL)
    if not _configured:
        b4.setup_config(argparse.Namespace(config={"b4.attestation-policy": "off"}))
        _configured = True
    b4.can_network = False


def is_patch_message(msg: Message) -> bool:
    """A [PATCH ...] mail that is not a reply."""
    return is_patch_subject(decode_header_value(msg.get("Subject")), is_threaded(msg))


def is_threaded(msg: Message) -> bool:
    """Does the mail answer another (In-Reply-To or References)?"""
    return bool(msg.get("In-Reply-To") or msg.get("References"))


# -- mailboxes ------------------------------------------------------------------


def mailbox(messages: list[Message]):
    """A b4 LoreMailbox holding the messages, with patch ids worked out.
    b4's own chatter is swallowed; mails b4 rejects are left out."""
    import b4

    setup()
    box = b4.LoreMailbox()
    trimmed: set[int] = set()
    messages = _one_per_message_id(messages)
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        for msg in messages:
            subject = _mark_reply_for_b4(msg)  # first: a reply is not trimmed
            whole = _trim_for_b4(msg)
            try:
                box.add_message(msg)
            except Exception:  # noqa: BLE001 - b4 rejects odd mails; they are context at most
                continue
            finally:
                if whole is not None:
                    msg.set_payload(whole)
                    trimmed.add(id(msg))
                if subject is not None:
                    msg.replace_header("Subject", subject)
        for lmsg in box.msgid_map.values():
            if id(lmsg.msg) in trimmed:  # patch ids need the whole diff
                lmsg.body = b4.LoreMessage.get_payload(lmsg.msg)[0]
        _prime_patch_ids(box)
    return box


_B4_REPLY = lazy_re(r"^(Re|Aw|Fwd):", re.I)  # what b4 itself takes for a reply


# Characters of a subject b4 is given: b4's subject parser grows with the
# cube of a subject's length (800 characters took it seconds), and the
# [PATCH vN M/N] and the title's start are all it needs.
MAX_B4_SUBJECT = 300


def _mark_reply_for_b4(msg: Message) -> str | None:
    """Give b4 a subject it reads as we do: "Re: " before a reply it would
    take for a patch (one whose prefix b4 does not know, "R:", "Antw:",
    "RE[2]:", or one whose only diff is the patch it forwards or answers
    below an "Original Message" line), and at most MAX_B4_SUBJECT
    characters. The subject as sent is returned, to be put back (None when
    nothing was changed)."""
    sent = msg.get("Subject")
    if sent is None:
        return None
    subject = decode_header_value(sent)
    reply = not _B4_REPLY.match(subject.lstrip()) and (
        parse_subject(subject, is_threaded(msg)).is_reply or _forwards_a_diff(msg))
    if not reply and len(str(sent)) <= MAX_B4_SUBJECT:
        return None
    shown = " ".join(subject.split())[:MAX_B4_SUBJECT]
    msg.replace_header("Subject", "Re: " + shown if reply else shown)
    return str(sent)


def _forwards_a_diff(msg: Message) -> bool:
    """Is the mail's only diff below a forwarded or answered message?"""
    if msg.is_multipart():
        return False
    payload = msg.get_payload()
    if not isinstance(payload, str) or "diff --git" not in payload:
        return False
    return forwarded_at(payload.split("\n")) is not None


def _one_per_message_id(messages: list[Message]) -> list[Message]:
    """b4 keeps the first of two mails with one Message-ID. A stray reply
    sent with a patch's Message-ID must not push the patch out: the one
    with a diff wins (else the first), and both are named on stderr."""
    chosen: dict[str, int] = {}
    out: list[Message | None] = []
    for msg in messages:
        mid = message_id(msg)
        if mid is None or mid not in chosen:
            if mid is not None:
                chosen[mid] = len(out)
            out.append(msg)
            continue
        kept = out[chosen[mid]]
        if _has_diff(msg) and not _has_diff(kept):
            out[chosen[mid]], kept, msg = msg, msg, kept
        print(f"tdxbot: warning: two messages have Message-ID <{printable(mid)}>: kept "
              f"{printable(decode_header_value(kept.get('Subject')))[:80]!r}"
              f"{' (it has the diff)' if _has_diff(kept) and not _has_diff(msg) else ''}, left out "
              f"{printable(decode_header_value(msg.get('Subject')))[:80]!r}", file=sys.stderr)
    return [m for m in out if m is not None]


def _has_diff(msg: Message) -> bool:
    import b4

    for part in msg.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload()
        if isinstance(payload, str) and b4.DIFF_RE.search(payload):
            return True
    return False


_ASCII_SUPERSETS = lazy_re(r"^(?:utf-8|us-ascii|ascii|iso-8859-\d+|windows-125\d)$", re.I)


def _trim_for_b4(msg: Message) -> str | None:
    """Give b4 a stand-in body for a plain patch mail and return the whole
    payload, to be put back once b4 has read the mail.

    b4 reads every line of every body looking for trailers, which is most of
    its cost on a big mbox. For a mail that is not a reply and has a diff it
    throws those trailers away; all it keeps from the body is whether it has
    a diff and a diffstat. The stand-in is one line for each, found with
    b4's own patterns on the whole body. Replies, multipart, encoded and
    non-ASCII-based bodies are left whole."""
    import b4

    encoding = str(msg.get("Content-Transfer-Encoding") or "7bit").strip().lower()
    if msg.is_multipart() or encoding not in ("7bit", "8bit"):
        return None
    if not _ASCII_SUPERSETS.match(msg.get_content_charset() or "utf-8"):
        return None
    subject = " ".join(str(msg.get("Subject") or "").split())
    if not subject.startswith("[") or not is_patch_message(msg):
        return None
    payload = msg.get_payload()
    if not isinstance(payload, str) or not b4.DIFF_RE.search(payload):
        return None
    diffstat = b4.DIFFSTAT_RE.search(payload)
    stand_in = (payload[diffstat.start():payload.find("\n", diffstat.end()) + 1 or len(payload)]
                if diffstat else "")
    msg.set_payload(stand_in.rstrip("\n") + "\ndiff --git a/stand-in b/stand-in\n")
    return payload


def _prime_patch_ids(box) -> None:
    """b4 runs 'git patch-id --stable' once per patch to carry trailers
    between revisions. Compute the same ids with one git process for the
    whole thread and hand them to b4; on any failure b4 does it itself."""
    import subprocess

    pending = [m for m in box.msgid_map.values()
               if m.has_diff and getattr(m, "_git_patch_id", "") is None]
    if len(pending) < 2:
        return
    stream = "".join(f"From {i:040x} Mon Sep 17 00:00:00 2001\n{m.body}" for i, m in enumerate(pending))
    try:
        proc = subprocess.run(["git", "patch-id", "--stable"], input=stream.encode("utf-8", "replace"),
                              capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return
    if proc.returncode:
        return
    for line in proc.stdout.decode("ascii", "replace").splitlines():
        parts = line.split()
        if len(parts) == 2 and re.fullmatch(r"[0-9a-f]{1,40}", parts[1]):
            index = int(parts[1], 16)
            if index < len(pending):
                pending[index]._git_patch_id = parts[0]


def revisions(box) -> list[int]:
    """The revisions of a mailbox that hold at least one patch, oldest first."""
    return sorted(r for r, s in box.series.items() if any(s.patches))


# -- series plans -----------------------------------------------------------------


class SeriesPlan(NamedTuple):
    """Which messages make up the series, as b4 decided, by their position in
    the message list. Plain data, so it can cross a process boundary."""
    version: int
    expected: int
    cover: int | None
    patches: tuple[int, ...]


def plan_series(messages: list[Message], version: int | None, where: str) -> SeriesPlan | None:
    """Let b4 pick the series: the version asked for, else the newest
    complete one, else the newest. None when b4 finds no series."""
    return plan_series_and_previous(messages, version, where, previous=False)[0]


def plan_series_and_previous(messages: list[Message], version: int | None, where: str,
                             previous: bool = True) -> tuple[SeriesPlan | None, SeriesPlan | None]:
    """plan_series, and (with previous) the plan of the newest version below
    the chosen one that the thread holds, from one b4 mailbox."""
    box = mailbox(messages)
    found = revisions(box)
    if not found:
        return None, None
    if version is not None:
        if version not in found:
            have = ", ".join(f"v{r}" for r in found)
            raise UserError(f"{where}: no version {version} in this thread (it has {have})")
        chosen = version
    else:
        complete = [r for r in found if box.series[r].complete]
        chosen = complete[-1] if complete else found[-1]
    plan = plan_revision(box, messages, chosen)
    lower = [r for r in found if r < chosen]
    earlier = plan_revision(box, messages, lower[-1]) if previous and lower and plan is not None else None
    return plan, earlier


def plan_revision(box, messages: list[Message], revision: int) -> SeriesPlan | None:
    """The plan of one revision of a mailbox built from messages."""
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        try:
            lseries = box.get_series(revision=revision, codereview_trailers=False)
        except Exception:  # noqa: BLE001 - b4 0.16 trips over some partial re-rolls (IndexError)
            lseries = None  # b4 cannot put this revision together: no plan for it
    if lseries is None:
        return None
    position = {id(msg): i for i, msg in enumerate(messages)}
    slots = [position.get(id(lmsg.msg)) if lmsg is not None else None for lmsg in lseries.patches]
    return SeriesPlan(version=revision, expected=max(lseries.expected or 1, 1), cover=slots[0],
                      patches=tuple(p for p in slots[1:] if p is not None))


def plan_revisions(messages: list[Message]) -> list[tuple[SeriesPlan, bool]]:
    """Every revision of a thread that holds a patch, oldest first, each
    with whether b4 finds it complete."""
    box = mailbox(messages)
    out = []
    for revision in revisions(box):
        plan = plan_revision(box, messages, revision)
        if plan is not None:
            out.append((plan, bool(box.series[revision].complete)))
    return out


def plan_series_in_child(messages: list[Message], version: int | None, where: str):
    """Start plan_series_and_previous in a forked child and return a
    function that waits for its two SeriesPlans (the series, and the
    version before it in the thread). b4's parse of every mail is the
    costliest step of a big review; meanwhile the caller can parse and
    check the patches. Where fork is missing, or the child dies, the plans
    are made in this process."""
    import json

    if not hasattr(os, "fork"):
        return lambda: plan_series_and_previous(messages, version, where)
    read_end, write_end = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: one JSON line, then out without running exit handlers
        status = 0
        try:
            os.close(read_end)
            try:
                plan, earlier = plan_series_and_previous(messages, version, where)
                reply = {"plan": list(plan) if plan is not None else None,
                         "previous": list(earlier) if earlier is not None else None}
            except UserError as exc:
                reply = {"error": str(exc)}
            with os.fdopen(write_end, "w", encoding="utf-8") as out:
                json.dump(reply, out)
        except BaseException:  # noqa: BLE001 - the parent notices the silence and falls back
            status = 1
        finally:
            os._exit(status)
    os.close(write_end)

    def wait() -> tuple[SeriesPlan | None, SeriesPlan | None]:
        with os.fdopen(read_end, "r", encoding="utf-8") as pipe:
            text = pipe.read()
        os.waitpid(pid, 0)
        try:
            reply = json.loads(text)
        except ValueError:
            return plan_series_and_previous(messages, version, where)
        if "error" in reply:
            raise UserError(reply["error"])
        return _plan_of(reply.get("plan")), _plan_of(reply.get("previous"))
    return wait


def _plan_of(fields) -> SeriesPlan | None:
    if fields is None:
        return None
    version_, expected, cover, patches = fields
    return SeriesPlan(version_, expected, cover, tuple(patches))


# -- git ---------------------------------------------------------------------------


def prep_branch_patches():
    """The current `b4 prep` branch as (commit, mail bytes) pairs, cover
    letter first; None when this is no prep branch."""
    import b4.ez

    setup()
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        try:
            if not b4.ez.is_prep_branch():
                return None
            _tos, _ccs, _tag, patches = b4.ez.get_prep_branch_as_patches(
                movefrom=False, addtracking=False, expandprereqs=False)
        except SystemExit:
            return None
        except UnicodeDecodeError:
            try:
                start = b4.ez.get_series_start() or "BASE"
            except Exception:  # noqa: BLE001 - only for the hint
                start = "BASE"
            raise UserError("b4 cannot turn this prep branch into mails: a commit changes text that "
                            "is not UTF-8; check its commits as a range instead: tdxbot check "
                            f"{printable(start)[:40]}..HEAD") from None
        except RuntimeError as exc:
            raise UserError(f"b4 could not turn the prep branch into patches: {exc}") from None
    return [(commit, msg.as_bytes()) for commit, msg in patches]
