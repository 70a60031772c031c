"""Fetch a thread from a public-inbox server (lore or any mirror).

The requests are the ones liblore makes: GET {base}/{msgid}/t.mbox.gz, and
on a 404 a HEAD of {origin}/{msgid}/, whose redirect names the inbox that
holds the message. The download is read here rather than through liblore
because liblore decompresses the whole body in one call; this reader caps
both the bytes on the wire and the decompressed mbox, so a hostile or
broken server (a gzip bomb, an endless body, a slow drip) ends in a
one-line error instead of exhausting memory or hanging.
"""
from __future__ import annotations

import re
import time

from .. import __version__
from ..common import UserError

MAX_DOWNLOAD = 64 << 20  # bytes on the wire
MAX_MBOX = 128 << 20  # decompressed thread
_CHUNK = 64 << 10


class _Bounded:
    """Streaming gunzip with a ceiling on the output."""

    def __init__(self, limit: int, what: str):
        import zlib

        self.decomp = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self.limit = limit
        self.what = what
        self.out: list[bytes] = []
        self.size = 0
        self.in_member = False

    def feed(self, data: bytes) -> None:
        import zlib

        while data:
            self.in_member = True
            try:
                piece = self.decomp.decompress(data, self.limit - self.size + 1)
            except zlib.error as exc:
                raise UserError(f"{self.what}: corrupt gzip data ({exc})") from None
            self.size += len(piece)
            if self.size > self.limit:
                raise UserError(f"{self.what}: thread larger than {self.limit >> 20} MiB "
                                "once decompressed; refusing it")
            self.out.append(piece)
            if self.decomp.eof:
                # A gzip file may hold several members; start on the next one.
                self.in_member = False
                data = self.decomp.unused_data
                self.decomp = zlib.decompressobj(16 + zlib.MAX_WBITS)
            else:
                data = self.decomp.unconsumed_tail

    def result(self) -> bytes:
        if self.in_member:
            raise UserError(f"{self.what}: corrupt gzip data (truncated)")
        return b"".join(self.out)


def _session():
    import requests

    s = requests.Session()
    s.headers["User-Agent"] = f"tdxbot/{__version__}"
    s.headers["Accept-Encoding"] = "identity"
    return s


def _get_body(session, url: str, timeout: float, deadline: float) -> tuple[int, bytes, str]:
    """(status, raw body, content-encoding) with the wire size capped and
    the whole transfer ended at deadline (time.monotonic()): each read
    takes what has arrived, and the socket never waits past the deadline."""
    import requests

    left = deadline - time.monotonic()
    if left <= 0:
        raise UserError(f"{_origin(url)}: timed out after {timeout:g}s")
    try:
        resp = session.get(url, stream=True, timeout=(min(left, 10.0), left), allow_redirects=True)
    except requests.exceptions.Timeout:
        raise UserError(f"{_origin(url)}: timed out after {timeout:g}s") from None
    except requests.exceptions.RequestException as exc:
        raise UserError(f"{_origin(url)}: server unreachable ({_reason(exc)})") from None
    with resp:
        if resp.status_code != 200:
            return resp.status_code, b"", ""
        chunks, size = [], 0
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise UserError(f"{_origin(url)}: timed out after {timeout:g}s (download too slow)")
                _socket_timeout(resp, left)
                data = resp.raw.read1(_CHUNK) if hasattr(resp.raw, "read1") else \
                    resp.raw.read(_CHUNK, decode_content=False)
                if not data:
                    break
                size += len(data)
                if size > MAX_DOWNLOAD:
                    raise UserError(f"{_origin(url)}: download larger than {MAX_DOWNLOAD >> 20} MiB; "
                                    "refusing it")
                chunks.append(data)
        except requests.exceptions.RequestException as exc:
            raise UserError(f"{_origin(url)}: download failed ({_reason(exc)})") from None
        except TimeoutError:
            raise UserError(f"{_origin(url)}: timed out after {timeout:g}s (download too slow)") from None
        except OSError as exc:
            raise UserError(f"{_origin(url)}: download failed ({_reason(exc)})") from None
        except Exception as exc:  # urllib3 raises its own types for a cut connection
            if type(exc).__module__.startswith("urllib3"):
                if "timed out" in str(exc).lower():
                    raise UserError(f"{_origin(url)}: timed out after {timeout:g}s (download too slow)") \
                        from None
                raise UserError(f"{_origin(url)}: download failed ({_reason(exc)})") from None
            raise
        return 200, b"".join(chunks), resp.headers.get("Content-Encoding", "").lower()


def _socket_timeout(resp, seconds: float) -> None:
    """Let the next read on the response's socket wait at most seconds."""
    sock = getattr(getattr(resp.raw, "connection", None), "sock", None) or \
        getattr(getattr(resp.raw, "_connection", None), "sock", None)
    if sock is not None:
        try:
            sock.settimeout(max(seconds, 0.01))
        except OSError:
            pass


def _origin(url: str) -> str:
    """scheme://host[:port] of a URL, never with a user or password."""
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


def _reason(exc: Exception) -> str:
    text = re.sub(r"//[^/@\s]*@", "//", str(exc))  # no user:password@ in a message
    for needle in ("Connection refused", "timed out", "Name or service not known",
                   "No route to host", "Temporary failure in name resolution",
                   "Connection reset", "Connection aborted", "IncompleteRead"):
        if needle in text:
            return needle.lower()
    return text.splitlines()[0][:120] if text else type(exc).__name__


def fetch_thread_mbox(base_url: str, msgid: str, timeout: float = 30.0) -> bytes:
    """The thread holding msgid, as mbox bytes."""
    import urllib.parse

    import requests

    base = base_url.rstrip("/")
    parts = urllib.parse.urlsplit(base)
    shown = _origin(base) + parts.path  # for messages: never the user or password
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UserError(f"not an http(s) URL: {shown!r}")
    quoted = urllib.parse.quote_plus(msgid)
    # --timeout is the budget of the whole fetch: every request and read.
    deadline = time.monotonic() + max(timeout, 0.1)
    with _session() as session:
        status, body, encoding = _get_body(session, f"{base}/{quoted}/t.mbox.gz", timeout, deadline)
        if status == 404:
            origin = _origin(base)
            server = f"{parts.scheme}://{parts.netloc}"  # what is requested keeps any credentials
            left = deadline - time.monotonic()
            if left <= 0:
                raise UserError(f"{origin}: timed out after {timeout:g}s")
            try:
                head = session.head(f"{server}/{quoted}/", allow_redirects=True,
                                    timeout=(min(left, 10.0), left))
            except requests.exceptions.Timeout:
                raise UserError(f"{origin}: timed out after {timeout:g}s") from None
            except requests.exceptions.RequestException as exc:
                raise UserError(f"{origin}: server unreachable ({_reason(exc)})") from None
            if head.status_code == 200:
                path = urllib.parse.urlsplit(head.url).path.rstrip("/")
                status, body, encoding = _get_body(session, f"{server}{path}/t.mbox.gz",
                                                   timeout, deadline)
        if status == 404:
            raise UserError(f"{msgid}: not found on {shown}")
        if status != 200:
            raise UserError(f"{shown}: server answered HTTP {status} for {msgid}")
    where = f"{shown} thread {msgid}"
    if encoding in ("gzip", "x-gzip"):
        layer = _Bounded(MAX_MBOX, where)
        layer.feed(body)
        body = layer.result()
    if not body.startswith(b"\x1f\x8b"):
        raise UserError(f"{where}: the server did not send a gzip mbox")
    mbox = _Bounded(MAX_MBOX, where)
    mbox.feed(body)
    return mbox.result()
