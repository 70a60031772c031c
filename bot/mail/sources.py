"""Where series come from: files, maildirs, stdin and lore (public-inbox).

This is the I/O edge: messages are read as bytes and parsed with the email
package (or, for a lone plain patch, the small reader in litemail).
Turning them into series is assembly.py's job.
"""
from __future__ import annotations

import os
import re
import sys
from typing import TYPE_CHECKING

from ..common import UserError, lazy_re
from .litemail import parse_lite
from .lore import fetch_thread_mbox

if TYPE_CHECKING:
    from email.message import Message

DEFAULT_LORE_URL = "https://lore.kernel.org/all"
MAX_MESSAGE_BYTES = 64 * 1024 * 1024

_MSGID = lazy_re(r"^<?([^\s<>@/\\\"';`$|&()]+@[^\s<>@/\\\"';`$|&()]+)>?$")
# An mbox separator: "From SENDER DATE", the date in asctime's shape. A line
# of a changelog that merely starts with "From " is none (format-patch does
# not escape those), and a later separator must be followed by a header.
_FROM_LINE = lazy_re(rb"^From \S+ +(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),? +(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug"
                     rb"|Sep|Oct|Nov|Dec) +\d{1,2} +\d{1,2}:\d\d(?::\d\d)?\b.*$", re.M)
_HEADER_LINE = lazy_re(rb"(?<![!-9;-~])[!-9;-~]++:")  # used with match(data, pos)
# A patch mail has a few MIME parts; thousands of nested ones are an attack
# on the parser (its recursion), not a patch.
MAX_MULTIPARTS = 32
_MULTIPART = lazy_re(rb"(?im)^content-type:[ \t]*(?:\r?\n[ \t]+)?multipart/")


def is_remote_source(arg: str) -> bool:
    """A Message-ID or URL rather than a path. An existing path always wins."""
    if arg == "-" or os.path.exists(arg):
        return False
    return arg.startswith(("http://", "https://")) or ("@" in arg and "/" not in arg)


def parse_msgid_arg(arg: str) -> tuple[str, str | None]:
    """Return (msgid, base URL or None) for a Message-ID or a lore URL.
    A malformed Message-ID is rejected here, before any request is made."""
    if arg.startswith(("http://", "https://")):
        import urllib.parse

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
              if m.start() == 0 or (data[m.start() - 1:m.start()] == b"\n"
                                    and _HEADER_LINE.match(data, m.end() + 1))]
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
    if len(_MULTIPART.findall(raw)) > MAX_MULTIPARTS:
        raise UserError(f"{where}: more than {MAX_MULTIPARTS} nested MIME multiparts; not a patch mail")
    msg = None
    if lite:
        msg = parse_lite(raw)
    if msg is None:
        from email.parser import BytesParser

        try:
            msg = BytesParser().parsebytes(raw)  # compat32: headers stay as sent
        except RecursionError:
            raise UserError(f"{where}: MIME parts nest too deeply to parse") from None
        _text_headers(msg)
    if not any(msg.get(h) for h in ("From", "Subject", "Message-ID", "Date")):
        raise UserError(f"{where}: not a mail message (no From, Subject or Message-ID header)")
    return msg


def _text_headers(msg) -> None:
    """Raw 8-bit header bytes (a UTF-8 subject sent unencoded, as some
    mailers do) come out of the compat32 parser as Header objects, which
    b4 cannot read; store them as the UTF-8 text they are."""
    items = list(msg.raw_items())
    if all(value.isascii() for _, value in items):
        return
    for name in {name for name, _ in items}:
        del msg[name]
    for name, value in items:
        if not value.isascii():
            value = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        msg.set_raw(name, value)


def _read_bytes(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except IsADirectoryError:
        raise UserError(f"{path}: is a directory but not a maildir") from None
    except OSError as exc:
        raise UserError(f"{path}: {exc.strerror or exc}") from None


PATCH_FILE_SUFFIXES = (".patch", ".eml")


def load_local(source: str, alone: bool = True) -> list[Message]:
    """Messages from a path ('-' for stdin): mbox, single message, maildir,
    or a folder of .patch/.eml files (git format-patch output) taken in
    name order, which puts 0000-cover-letter first.
    alone: False when the messages join others from more inputs."""
    where, raws = load_raw(source)
    # b4's series logic wants email.message objects; a lone patch does not.
    lite = alone and len(raws) == 1
    return [parse_message(raw, where, lite=lite) for raw in raws]


def load_raw(source: str) -> tuple[str, list[bytes]]:
    """(where, the raw mails) of a path ('-' for stdin), as load_local
    reads it, not yet parsed."""
    if source == "-":
        data = sys.stdin.buffer.read()
        where = "<stdin>"
        raws = split_mbox(data) if data.strip() else []
    elif os.path.isdir(source):
        where = source
        raws = [_read_bytes(path) for path in _folder_files(source)]
        raws = [raw for data in raws for raw in (split_mbox(data) if data.strip() else [])]
    else:
        where = source
        if not os.path.exists(source):
            raise UserError(f"{source}: no such file")
        data = _read_bytes(source)
        raws = split_mbox(data) if data.strip() else []
    if not raws:
        raise UserError(f"{where}: empty input, no mail found")
    return where, raws


def _folder_files(folder: str) -> list[str]:
    """The mail files of a maildir (cur/ and new/) or of a folder of patch
    files; a folder that is neither is the user's error."""
    if all(os.path.isdir(os.path.join(folder, d)) for d in ("cur", "new")):
        return [os.path.join(folder, sub, name) for sub in ("cur", "new")
                for name in sorted(os.listdir(os.path.join(folder, sub)))
                if os.path.isfile(os.path.join(folder, sub, name))]
    try:
        names = sorted(os.listdir(folder))
    except OSError as exc:
        raise UserError(f"{folder}: {exc.strerror or exc}") from None
    found = [os.path.join(folder, n) for n in names
             if n.lower().endswith(PATCH_FILE_SUFFIXES) and os.path.isfile(os.path.join(folder, n))]
    if not found:
        raise UserError(f"{folder}: is a directory but not a maildir (no cur/ and new/) and "
                        "holds no .patch or .eml files")
    return found


def fetch_thread(msgid: str, lore_url: str, timeout: float = 30.0) -> list[Message]:
    """Fetch the whole thread of msgid from a public-inbox server."""
    data = fetch_thread_mbox(lore_url, msgid, timeout)
    raws = split_mbox(data) if data.strip() else []
    if not raws:
        raise UserError(f"{msgid}: the server returned an empty thread")
    return [parse_message(raw, f"{lore_url} thread {msgid}") for raw in raws]
