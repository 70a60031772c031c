"""Where series come from: files, maildirs, stdin and lore (public-inbox).

This is the I/O edge: messages are read as bytes and parsed with the email
package (or, for a lone plain patch, the small reader in litemail).
Turning them into series is assembly.py's job.
"""
from __future__ import annotations

import os
import re
import sys

from ..common import UserError, lazy_re
from .litemail import parse_lite

TYPE_CHECKING = False  # typing's constant, without importing typing
if TYPE_CHECKING:
    from email.message import Message

DEFAULT_LORE_URL = "https://lore.kernel.org/all"
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
# A fetched thread holds at most this many mails. The longest threads on lore
# hold a few hundred; a download with more is an attack on the parser's time
# and memory (a small gzip can hold a million tiny mails).
MAX_THREAD_MESSAGES = 5000
# and at most this many header lines in all (50 a mail at that cap; a real
# mail has 20 to 60): the parser's cost is per header, and 5,000 mails of
# 3,000 headers each fit in 128 MiB.
MAX_THREAD_HEADER_LINES = 250_000
# Encoded words (=?utf-8?q?...?=) in the headers: at most this many in one
# mail, and in all. Decoding them costs time per word, and within one
# header it grows with the square of their number (email.header).
MAX_MAIL_ENCODED_WORDS = 2_000
MAX_THREAD_ENCODED_WORDS = 100_000

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
    splitter = MboxSplitter()
    splitter.feed(data)
    return splitter.close()


class MboxSplitter:
    """Split an mbox (mboxo or mboxrd) into raw messages as it arrives, in
    pieces of any size. With limit, refuse more than limit messages as soon
    as one more is seen; with max_bytes, a message longer than that as soon
    as it is.

    The first line decides: an mbox starts with a "From " separator;
    anything else is one message. A later separator counts only when a
    header line follows it. Each piece is searched once (no rescanning of
    what came before), so the work is linear in the bytes, however they
    are cut."""

    def __init__(self, limit: int | None = None, where: str = "mbox", max_bytes: int | None = None):
        self.limit = limit
        self.max_bytes = max_bytes
        self.where = where
        self.messages: list[bytes] = []
        self.buf = bytearray()
        self.begin = 0  # where the message being read starts in buf
        self.scan = 0  # where the search for the next separator goes on
        self.lines_end = -1  # the last newline in buf
        self.seen = 0  # buf up to here has been searched for newlines
        # A separator line whose next line, which decides, is not whole yet.
        self.pending: tuple[int, int] | None = None
        self.mbox: bool | None = None  # None until the first line is whole

    def feed(self, data: bytes) -> None:
        if not data:
            return
        self.buf += data
        if self.mbox is not False:
            last = self.buf.rfind(b"\n", self.seen)
            self.seen = len(self.buf)
            if last >= 0:
                self.lines_end = last
            self._split(final=False)
            self._drop_taken()
        if self.max_bytes is not None:
            # The message being read runs at least to the next possible
            # separator: the one pending, or the line not yet whole.
            if self.mbox:
                known = (self.pending[0] if self.pending else self.scan) - self.begin
            else:
                known = len(self.buf)
            if known > self.max_bytes:
                raise UserError(f"{self.where}: message larger than {self.max_bytes >> 20} MiB; "
                                "refusing it")

    def close(self) -> list[bytes]:
        """The messages; no more may be fed."""
        if self.mbox is not False:
            self._split(final=True)
        if self.mbox:
            self._emit(len(self.buf))
        else:
            self.messages.append(bytes(self.buf))  # not an mbox: one message, as it is
        self.buf = bytearray()
        return self.messages

    def _split(self, final: bool) -> None:
        buf = self.buf
        # The search ends at the last newline, where a line is known whole.
        end = len(buf) if final else self.lines_end
        if self.mbox is None:
            if end < 0:
                return  # the first line is not whole yet
            self.mbox = bool(_FROM_LINE.match(buf, 0, end))
            if not self.mbox:
                return
            self.scan = 1
        while True:
            if self.pending is None:
                m = _next_separator(buf, self.scan, end) if self.scan <= end else None
                if m is None:
                    # Go on from the line being written (whole lines have no separator).
                    self.scan = max(self.scan, end + 1)
                    return
                self.pending = m.start(), m.end()
            start, stop = self.pending
            if stop >= end and not final:
                return  # the line after it, which decides, has not come yet
            self.pending = None
            self.scan = stop + 1
            if _HEADER_LINE.match(buf, stop + 1):
                self._emit(start)

    def _emit(self, end: int) -> None:
        """Take the message buf[begin:end] (which starts with its separator line)."""
        with memoryview(self.buf) as view:
            chunk = bytes(view[self.begin:end])
        self.begin = end
        nl = chunk.find(b"\n")
        chunk = chunk[nl + 1:] if nl >= 0 else b""
        # mboxrd escaping: '>From ' -> 'From ', '>>From ' -> '>From '
        if b">From " in chunk:
            chunk = re.sub(rb"(?m)^>(>*From )", rb"\1", chunk)
        if chunk.strip():
            self.messages.append(chunk)
            if self.limit is not None and len(self.messages) > self.limit:
                raise UserError(f"{self.where}: more than {self.limit} messages in one thread; "
                                "refusing it")

    def _drop_taken(self) -> None:
        """Drop what has been taken once it is most of the buffer, so the
        buffer holds about one message, not the whole thread."""
        if self.begin > (1 << 20) and self.begin * 2 > len(self.buf):
            del self.buf[:self.begin]
            if self.pending is not None:
                self.pending = (self.pending[0] - self.begin, self.pending[1] - self.begin)
            self.scan -= self.begin
            self.lines_end -= self.begin
            self.seen -= self.begin
            self.begin = 0


def _next_separator(buf: bytearray, pos: int, end: int):
    """The first separator line starting in buf[pos:end] (pos > 0), found
    with find rather than a regex search: each byte is looked at once."""
    while True:
        i = buf.find(b"\nFrom ", pos - 1, end)
        if i < 0:
            return None
        m = _FROM_LINE.match(buf, i + 1, end)
        if m:
            return m
        pos = i + 2


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
    """Fetch the whole thread of msgid from a public-inbox server: split
    into mails as it is decompressed, and refused once it holds more than
    MAX_THREAD_MESSAGES."""
    # Imported here: the b4 check command reads stdin and never fetches.
    from .lore import shown_url, stream_thread_mbox

    where = f"{shown_url(lore_url)} thread {msgid}"
    splitter = MboxSplitter(MAX_THREAD_MESSAGES, where, MAX_MESSAGE_BYTES)
    stream_thread_mbox(lore_url, msgid, splitter.feed, timeout)
    raws = splitter.close()
    if not any(raw.strip() for raw in raws):
        raise UserError(f"{msgid}: the server returned an empty thread")
    _check_headers(raws, where)
    messages = []
    for i, raw in enumerate(raws):
        raws[i] = b""  # the raw mail goes as its parsed form comes
        messages.append(parse_message(raw, where))
    return messages


def search_archive(query: str, lore_url: str, timeout: float = 30.0) -> list[Message]:
    """The messages a search of a public-inbox archive finds (none when it
    finds nothing), split and checked as a fetched thread is."""
    from .lore import shown_url, stream_search_mbox  # see fetch_thread

    where = f"{shown_url(lore_url)} search"
    splitter = MboxSplitter(MAX_THREAD_MESSAGES, where, MAX_MESSAGE_BYTES)
    if not stream_search_mbox(lore_url, query, splitter.feed, timeout):
        return []
    raws = [raw for raw in splitter.close() if raw.strip()]
    _check_headers(raws, where)
    return [parse_message(raw, where) for raw in raws]


def _check_headers(raws: list[bytes], where: str) -> None:
    """Refuse a thread whose headers would cost the parser too much."""
    lines = words = 0
    for raw in raws:
        head = _header_block(raw)
        lines += head.count(b"\n") + 1
        found = head.count(b"=?")
        if found > MAX_MAIL_ENCODED_WORDS:
            raise UserError(f"{where}: a mail with more than {MAX_MAIL_ENCODED_WORDS:,} encoded words "
                            "in its headers; refusing it")
        words += found
    if lines > MAX_THREAD_HEADER_LINES:
        raise UserError(f"{where}: more than {MAX_THREAD_HEADER_LINES:,} header lines in one thread; "
                        "refusing it")
    if words > MAX_THREAD_ENCODED_WORDS:
        raise UserError(f"{where}: more than {MAX_THREAD_ENCODED_WORDS:,} encoded words in the headers "
                        "of one thread; refusing it")


def _header_block(raw: bytes) -> bytes:
    """The mail above its first blank line (all of it when there is none)."""
    end = raw.find(b"\n\n")
    crlf = raw.find(b"\r\n\r\n")
    if crlf >= 0 and (end < 0 or crlf < end):
        end = crlf
    return raw[:end] if end >= 0 else raw
