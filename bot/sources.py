"""Where series come from: files, maildirs, stdin and lore (public-inbox).

This is the I/O edge. Messages are read as bytes and parsed with the email
package; a thread of several messages is assembled into a series with b4's
own series logic (LoreMailbox), not a re-implementation.
"""
from __future__ import annotations

import os
import re
import sys
import urllib.parse
from typing import TYPE_CHECKING, NamedTuple

from .errors import UserError
from .lazyre import lazy_re
from .mailparse import parse_subject, patch_from_message
from .model import Patch, Reply, Series

if TYPE_CHECKING:
    from email.message import Message

DEFAULT_LORE_URL = "https://lore.kernel.org/all"
MAX_MESSAGE_BYTES = 64 * 1024 * 1024

_MSGID = lazy_re(r"^<?([^\s<>@/\\\"';`$|&()]+@[^\s<>@/\\\"';`$|&()]+)>?$")
_FROM_LINE = lazy_re(rb"^From \S+.*$", re.M)


def is_remote_source(arg: str) -> bool:
    """A Message-ID or URL rather than a path. An existing path always wins."""
    if arg == "-" or os.path.exists(arg):
        return False
    return arg.startswith(("http://", "https://")) or ("@" in arg and "/" not in arg)


def parse_msgid_arg(arg: str) -> tuple[str, str | None]:
    """Return (msgid, base URL or None) for a Message-ID or a lore URL.
    A malformed Message-ID is rejected here, before any request is made."""
    if arg.startswith(("http://", "https://")):
        parsed = urllib.parse.urlsplit(arg)
        parts = [urllib.parse.unquote(p) for p in parsed.path.split("/") if p]
        for i, part in enumerate(parts):
            if "@" in part:
                msgid = part
                base = f"{parsed.scheme}://{parsed.netloc}" + "".join("/" + p for p in parts[:i])
                if not _MSGID.match(msgid):
                    raise UserError(f"malformed Message-ID in URL: {msgid!r}")
                return msgid.strip("<>"), base
        raise UserError(f"no Message-ID in URL: {arg}")
    if arg.startswith("id:"):
        arg = arg[3:]
    m = _MSGID.match(arg.strip())
    if not m:
        raise UserError(f"malformed Message-ID: {arg!r}")
    return m.group(1), None


def split_mbox(data: bytes) -> list[bytes]:
    """Split an mbox (mboxo or mboxrd) into raw messages."""
    starts = [m.start() for m in _FROM_LINE.finditer(data)
              if m.start() == 0 or data[m.start() - 1:m.start()] == b"\n"]
    if not starts or starts[0] != 0:
        return [data]
    out = []
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(data)
        chunk = data[start:end]
        nl = chunk.find(b"\n")
        chunk = chunk[nl + 1:] if nl >= 0 else b""
        # mboxrd escaping: '>From ' -> 'From ', '>>From ' -> '>From '
        chunk = re.sub(rb"(?m)^>(>*From )", rb"\1", chunk)
        if chunk.strip():
            out.append(chunk)
    return out


def parse_message(raw: bytes, where: str, lite: bool = False) -> Message:
    """Parse one mail. lite: try the small reader first (one plain part),
    which spares the email package's import for a lone patch."""
    if len(raw) > MAX_MESSAGE_BYTES:
        raise UserError(f"{where}: message larger than {MAX_MESSAGE_BYTES >> 20} MiB")
    msg = None
    if lite:
        from .litemail import parse_lite

        msg = parse_lite(raw)
    if msg is None:
        from email.parser import BytesParser

        msg = BytesParser().parsebytes(raw)  # compat32: headers stay as sent
    if not any(msg.get(h) for h in ("From", "Subject", "Message-ID", "Date")):
        raise UserError(f"{where}: not a mail message (no From, Subject or Message-ID header)")
    return msg


def _read_bytes(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except IsADirectoryError:
        raise UserError(f"{path}: is a directory but not a maildir") from None
    except OSError as exc:
        raise UserError(f"{path}: {exc.strerror or exc}") from None


def load_local(source: str, alone: bool = True) -> list[Message]:
    """Messages from a path ('-' for stdin): mbox, single message or maildir.
    alone: False when the messages join others from more inputs."""
    if source == "-":
        data = sys.stdin.buffer.read()
        where = "<stdin>"
        raws = split_mbox(data) if data.strip() else []
    elif os.path.isdir(source):
        where = source
        if not all(os.path.isdir(os.path.join(source, d)) for d in ("cur", "new")):
            raise UserError(f"{source}: is a directory but not a maildir (no cur/ and new/)")
        raws = []
        for sub in ("cur", "new"):
            folder = os.path.join(source, sub)
            for name in sorted(os.listdir(folder)):
                path = os.path.join(folder, name)
                if os.path.isfile(path):
                    raws.append(_read_bytes(path))
    else:
        where = source
        if not os.path.exists(source):
            raise UserError(f"{source}: no such file")
        data = _read_bytes(source)
        raws = split_mbox(data) if data.strip() else []
    if not raws:
        raise UserError(f"{where}: empty input, no mail found")
    # b4's series logic wants email.message objects; a lone patch does not.
    lite = alone and len(raws) == 1
    return [parse_message(raw, where, lite=lite) for raw in raws]


def fetch_thread(msgid: str, lore_url: str, timeout: float = 30.0) -> list[Message]:
    """Fetch the whole thread of msgid from a public-inbox server."""
    from .lore import fetch_thread_mbox

    data = fetch_thread_mbox(lore_url, msgid, timeout)
    raws = split_mbox(data) if data.strip() else []
    if not raws:
        raise UserError(f"{msgid}: the server returned an empty thread")
    return [parse_message(raw, f"{lore_url} thread {msgid}") for raw in raws]


def _setup_b4() -> None:
    import argparse
    import logging

    import b4

    logging.getLogger("b4").setLevel(logging.CRITICAL)
    if not getattr(_setup_b4, "done", False):
        b4.setup_config(argparse.Namespace(config={"b4.attestation-policy": "off"}))
        _setup_b4.done = True
    b4.can_network = False


def _is_patch_message(msg: Message) -> bool:
    from .mailparse import decode_header_value

    title, tags, _v, _i, _t, is_reply = parse_subject(decode_header_value(msg.get("Subject")))
    return not is_reply and any(t.upper() == "PATCH" for t in tags)


class SeriesPlan(NamedTuple):
    """Which messages make up the series, as b4 decided, by their position in
    the message list. Plain data, so it can cross a process boundary."""
    version: int
    expected: int
    cover: int | None
    patches: tuple[int, ...]


def assemble(messages: list[Message], version: int | None = None, where: str = "input") -> Series:
    """Turn the messages of a thread (or a loose mbox) into one Series."""
    plan = plan_series(messages, version, where) if needs_b4(messages) else None
    return build_series(messages, version, where, plan)


def needs_b4(messages: list[Message]) -> bool:
    return len(messages) > 1 and any(_is_patch_message(m) for m in messages)


def parse_all(messages: list[Message], where: str) -> list[Patch | None]:
    """Every message as a Patch, None where it cannot be read (build_series
    parses that one again when it needs it, for its error message)."""
    out: list[Patch | None] = []
    for i, msg in enumerate(messages):
        try:
            out.append(patch_from_message(msg, f"{where} message {i + 1}"))
        except UserError:
            out.append(None)
    return out


def build_series(messages: list[Message], version: int | None, where: str,
                 plan: SeriesPlan | None, parsed: list[Patch | None] | None = None) -> Series:
    """The Series that plan describes; without a plan, every message with a
    diff is a patch. parsed: the messages already parsed by parse_all."""
    def patch_at(pos: int, label: str) -> Patch:
        if parsed is not None and parsed[pos] is not None:
            return parsed[pos]
        return patch_from_message(messages[pos], label)

    if len(messages) == 1:
        patch = patch_at(0, where)
        if not patch.files:
            raise UserError(f"{where}: no patch found in the message")
        missing = tuple(i for i in range(1, patch.total + 1) if i != patch.index)
        return Series(title=patch.title, version=patch.version, total=patch.total, cover=None,
                      patches=(patch,), missing=missing)
    if plan is not None:
        return _series_from_plan(messages, plan, where, patch_at)
    if version is not None:
        raise UserError(f"{where}: no version {version} of a series found")
    # No [PATCH] subjects b4 recognises: every message with a diff is a patch.
    patches = []
    replies = []
    for i in range(len(messages)):
        p = patch_at(i, f"{where} message {i + 1}")
        if is_standalone_patch(p):
            patches.append(p)
        else:
            replies.append(_reply(p))
    if not patches:
        raise UserError(f"{where}: no patch found in {len(messages)} messages")
    total = len(patches)
    patches = [_renumber(p, i + 1, total) for i, p in enumerate(patches)]
    return Series(title=patches[0].title, version=patches[0].version, total=total, cover=None,
                  patches=tuple(patches), replies=tuple(replies))


def is_standalone_patch(p: Patch) -> bool:
    """A message with a diff that is not a reply: a patch in its own right."""
    return bool(p.files) and not p.subject.lower().startswith("re:")


def _renumber(p: Patch, index: int, total: int) -> Patch:
    return p._replace(index=index, total=total)


def _reply(p: Patch) -> Reply:
    return Reply(p.message_id, p.in_reply_to, p.author, p.body_lines)


def _prime_patch_ids(mailbox) -> None:
    """b4 runs 'git patch-id --stable' once per patch to carry trailers
    between revisions. Compute the same ids with one git process for the
    whole thread and hand them to b4; on any failure b4 does it itself."""
    import subprocess

    pending = [m for m in mailbox.msgid_map.values()
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
        if len(parts) == 2:
            index = int(parts[1], 16)
            if index < len(pending):
                pending[index]._git_patch_id = parts[0]


def plan_series(messages: list[Message], version: int | None, where: str) -> SeriesPlan | None:
    """Let b4's LoreMailbox pick the series: the version asked for, else the
    newest complete one, else the newest. None when b4 finds no series."""
    import io
    from contextlib import redirect_stderr, redirect_stdout

    sink = io.StringIO()
    with redirect_stdout(sink), redirect_stderr(sink):
        mailbox = b4_mailbox(messages)
        revisions = sorted(r for r, s in mailbox.series.items() if any(s.patches))
        if not revisions:
            return None
        if version is not None:
            if version not in revisions:
                have = ", ".join(f"v{r}" for r in revisions)
                raise UserError(f"{where}: no version {version} in this thread (it has {have})")
            chosen = version
        else:
            complete = [r for r in revisions if mailbox.series[r].complete]
            chosen = complete[-1] if complete else revisions[-1]
        lseries = mailbox.get_series(revision=chosen, codereview_trailers=False)
    if lseries is None:
        return None
    position = {id(msg): i for i, msg in enumerate(messages)}
    slots = [position.get(id(lmsg.msg)) if lmsg is not None else None for lmsg in lseries.patches]
    return SeriesPlan(version=chosen, expected=max(lseries.expected or 1, 1), cover=slots[0],
                      patches=tuple(p for p in slots[1:] if p is not None))


def b4_mailbox(messages: list[Message]):
    """A b4 LoreMailbox holding the messages, with patch ids worked out."""
    import b4

    _setup_b4()
    mailbox = b4.LoreMailbox()
    trimmed: set[int] = set()
    for msg in messages:
        whole = _trim_for_b4(msg)
        try:
            mailbox.add_message(msg)
        except Exception:  # noqa: BLE001 - b4 rejects odd mails; they are context at most
            continue
        finally:
            if whole is not None:
                msg.set_payload(whole)
                trimmed.add(id(msg))
    for lmsg in mailbox.msgid_map.values():
        if id(lmsg.msg) in trimmed:  # patch ids need the whole diff
            lmsg.body = b4.LoreMessage.get_payload(lmsg.msg)[0]
    _prime_patch_ids(mailbox)
    return mailbox


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
    if not subject.startswith("[") or not _is_patch_message(msg):
        return None
    payload = msg.get_payload()
    if not isinstance(payload, str) or not b4.DIFF_RE.search(payload):
        return None
    diffstat = b4.DIFFSTAT_RE.search(payload)
    stand_in = (payload[diffstat.start():payload.find("\n", diffstat.end()) + 1 or len(payload)]
                if diffstat else "")
    msg.set_payload(stand_in.rstrip("\n") + "\ndiff --git a/stand-in b/stand-in\n")
    return payload


def _series_from_plan(messages: list[Message], plan: SeriesPlan, where: str, patch_at) -> Series:
    def label(pos: int) -> str:
        from .mailparse import decode_header_value

        return f"{where}: {decode_header_value(messages[pos].get('Subject'))}"

    cover = patch_at(plan.cover, label(plan.cover)) if plan.cover is not None else None
    patches = [patch_at(pos, label(pos)) for pos in plan.patches]
    present = {p.index for p in patches}
    missing = tuple(i for i in range(1, plan.expected + 1) if i not in present)
    if not patches:
        raise UserError(f"{where}: the thread has a cover letter but no patches")
    for p in patches:
        if not p.files:
            raise UserError(f"{where}: no diff found in '{p.subject}'")
    used = set(plan.patches) | ({plan.cover} if plan.cover is not None else set())
    replies = []
    for pos in range(len(messages)):
        if pos in used:
            continue
        try:
            replies.append(_reply(patch_at(pos, where)))
        except UserError:
            continue
    title = cover.title if cover is not None else patches[0].title
    return Series(title=title, version=plan.version, total=plan.expected, cover=cover,
                  patches=tuple(patches), missing=missing, replies=tuple(replies))


def plan_series_in_child(messages: list[Message], version: int | None, where: str):
    """Start plan_series in a forked child and return a function that waits
    for its SeriesPlan. b4's parse of every mail is the costliest step of a
    big review; meanwhile the caller can parse and check the patches. Where
    fork is missing, or the child dies, the plan is made in this process."""
    import json

    if not hasattr(os, "fork"):
        return lambda: plan_series(messages, version, where)
    read_end, write_end = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: one JSON line, then out without running exit handlers
        status = 0
        try:
            os.close(read_end)
            try:
                plan = plan_series(messages, version, where)
                reply = {"plan": list(plan) if plan is not None else None}
            except UserError as exc:
                reply = {"error": str(exc)}
            with os.fdopen(write_end, "w", encoding="utf-8") as out:
                json.dump(reply, out)
        except BaseException:  # noqa: BLE001 - the parent notices the silence and falls back
            status = 1
        finally:
            os._exit(status)
    os.close(write_end)

    def wait() -> SeriesPlan | None:
        with os.fdopen(read_end, "r", encoding="utf-8") as pipe:
            text = pipe.read()
        os.waitpid(pid, 0)
        try:
            reply = json.loads(text)
        except ValueError:
            return plan_series(messages, version, where)
        if "error" in reply:
            raise UserError(reply["error"])
        plan = reply.get("plan")
        if plan is None:
            return None
        version_, expected, cover, patches = plan
        return SeriesPlan(version_, expected, cover, tuple(patches))
    return wait

